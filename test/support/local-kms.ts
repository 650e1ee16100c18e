import {
  constants,
  createECDH,
  createHash,
  createHmac,
  generateKeyPairSync,
  privateEncrypt,
  randomBytes,
  randomUUID,
  sign,
  timingSafeEqual,
  type KeyObject,
} from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/*
 * A stand-in for AWS KMS that the real @aws-sdk/client-kms can talk to: the JSON 1.1 protocol
 * (POST /, X-Amz-Target: TrentService.<Operation>), errors as {"__type", "message"}, and SigV4
 * verified in full against one known access key. It implements the operations a key store needs,
 * with the rules of real KMS that matter to one: key states, key usages, the signing algorithms each
 * key spec allows, and DIGEST messages whose length must match the algorithm's hash.
 */

export const LOCAL_KMS_ACCOUNT = '111122223333';
export const LOCAL_KMS_CREDENTIALS = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };

export type KeyState = 'Enabled' | 'Disabled' | 'PendingDeletion';

export interface LocalKmsKey {
  keyId: string;
  arn: string;
  keySpec: string;
  keyUsage: 'SIGN_VERIFY' | 'ENCRYPT_DECRYPT';
  state: KeyState;
  description: string;
  tags: { TagKey: string; TagValue: string }[];
  createdAt: Date;
  deletionDate?: Date;
  /** Absent for SYMMETRIC_DEFAULT keys, which this stand-in never uses for anything. */
  privateKey?: KeyObject;
  publicKey?: KeyObject;
}

export interface LocalKms {
  endpoint: string;
  region: string;
  /** What the AWS SDK's standard chain reads to reach this endpoint with the known credentials. */
  env: { AWS_REGION: string; AWS_ENDPOINT_URL_KMS: string; AWS_ACCESS_KEY_ID: string; AWS_SECRET_ACCESS_KEY: string };
  /** Keys by key id; tests may change a key's state directly. */
  keys: Map<string, LocalKmsKey>;
  /** Alias name (alias/...) → key id. */
  aliases: Map<string, string>;
  /** Every request that passed authentication, in order. */
  calls: { op: string; body: any }[];
  /** Makes a key outside any client, as an operator would, and names it by `alias`; returns the alias. */
  createKeyWithAlias(keySpec: string, alias: string, keyUsage?: 'SIGN_VERIFY' | 'ENCRYPT_DECRYPT'): Promise<string>;
  close(): Promise<void>;
}

class KmsError extends Error {
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

const HASH_BYTES = { sha256: 32, sha384: 48, sha512: 64 } as const;
type Hash = keyof typeof HASH_BYTES;

/** Signing algorithms by key spec, as KMS allows them (RSASSA-PSS is left out: nothing here uses it). */
const SPECS: Record<string, { kind: 'ec' | 'rsa'; curve?: string; bits?: number; signing: string[] }> = {
  ECC_NIST_P256: { kind: 'ec', curve: 'prime256v1', signing: ['ECDSA_SHA_256'] },
  ECC_NIST_P384: { kind: 'ec', curve: 'secp384r1', signing: ['ECDSA_SHA_384'] },
  ECC_NIST_P521: { kind: 'ec', curve: 'secp521r1', signing: ['ECDSA_SHA_512'] },
  ECC_SECG_P256K1: { kind: 'ec', curve: 'secp256k1', signing: ['ECDSA_SHA_256'] },
  RSA_2048: { kind: 'rsa', bits: 2048, signing: ['RSASSA_PKCS1_V1_5_SHA_256', 'RSASSA_PKCS1_V1_5_SHA_384', 'RSASSA_PKCS1_V1_5_SHA_512'] },
  RSA_3072: { kind: 'rsa', bits: 3072, signing: ['RSASSA_PKCS1_V1_5_SHA_256', 'RSASSA_PKCS1_V1_5_SHA_384', 'RSASSA_PKCS1_V1_5_SHA_512'] },
  RSA_4096: { kind: 'rsa', bits: 4096, signing: ['RSASSA_PKCS1_V1_5_SHA_256', 'RSASSA_PKCS1_V1_5_SHA_384', 'RSASSA_PKCS1_V1_5_SHA_512'] },
};

const ALGORITHM_HASH: Record<string, Hash> = {
  ECDSA_SHA_256: 'sha256',
  ECDSA_SHA_384: 'sha384',
  ECDSA_SHA_512: 'sha512',
  RSASSA_PKCS1_V1_5_SHA_256: 'sha256',
  RSASSA_PKCS1_V1_5_SHA_384: 'sha384',
  RSASSA_PKCS1_V1_5_SHA_512: 'sha512',
};

/** The DER DigestInfo prefix that PKCS#1 v1.5 puts before the digest (RFC 8017 §9.2, note 1). */
const DIGEST_INFO_PREFIX: Record<Hash, Buffer> = {
  sha256: Buffer.from('3031300d060960864801650304020105000420', 'hex'),
  sha384: Buffer.from('3041300d060960864801650304020205000430', 'hex'),
  sha512: Buffer.from('3051300d060960864801650304020305000440', 'hex'),
};

/** Curve orders, for ECDSA over a digest, which node:crypto cannot do (sign(null, ...) hashes again). */
const CURVE_ORDER: Record<string, bigint> = {
  prime256v1: 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n,
  secp256k1: 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n,
  secp384r1: 0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n,
  secp521r1:
    0x1fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409n,
};

const toBig = (b: Uint8Array) => (b.length ? BigInt('0x' + Buffer.from(b).toString('hex')) : 0n);
const toBytes = (n: bigint, len: number) => Buffer.from(n.toString(16).padStart(len * 2, '0'), 'hex');
const mod = (a: bigint, n: bigint) => ((a % n) + n) % n;
function modInverse(a: bigint, n: bigint): bigint {
  let [r0, r1, t0, t1] = [mod(a, n), n, 1n, 0n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [t0, t1] = [t1, t0 - q * t1];
  }
  return mod(t0, n);
}

function derLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes = Buffer.from(n.toString(16).padStart(n > 0xff ? 4 : 2, '0'), 'hex');
  return Buffer.concat([Buffer.from([0x80 | bytes.length]), bytes]);
}

function derInteger(n: bigint): Buffer {
  let hex = n.toString(16);
  if (hex.length % 2) hex = '0' + hex;
  let b = Buffer.from(hex, 'hex');
  if (b[0]! & 0x80) b = Buffer.concat([Buffer.from([0]), b]);
  return Buffer.concat([Buffer.from([0x02]), derLength(b.length), b]);
}

/** ECDSA (FIPS 186-4 §6.4) over a given digest, with k·G computed by node:crypto's ECDH. */
function ecdsaSignDigest(privateKey: KeyObject, curve: string, digest: Buffer): Buffer {
  const n = CURVE_ORDER[curve]!;
  const nBits = n.toString(2).length;
  const nBytes = Math.ceil(nBits / 8);
  const d = toBig(Buffer.from(privateKey.export({ format: 'jwk' }).d!, 'base64url'));
  let e = toBig(digest);
  if (digest.length * 8 > nBits) e >>= BigInt(digest.length * 8 - nBits);
  const ecdh = createECDH(curve);
  for (;;) {
    const k = mod(toBig(randomBytes(nBytes + 8)), n - 1n) + 1n;
    ecdh.setPrivateKey(toBytes(k, nBytes));
    const point = ecdh.getPublicKey(null, 'uncompressed');
    const r = mod(toBig(point.subarray(1, 1 + (point.length - 1) / 2)), n);
    if (r === 0n) continue;
    const s = mod(modInverse(k, n) * (e + r * d), n);
    if (s === 0n) continue;
    const body = Buffer.concat([derInteger(r), derInteger(s)]);
    return Buffer.concat([Buffer.from([0x30]), derLength(body.length), body]);
  }
}

function signMessage(key: LocalKmsKey, algorithm: string, message: Buffer, messageType: string): Buffer {
  const hash = ALGORITHM_HASH[algorithm]!;
  const digest = messageType === 'DIGEST' ? message : createHash(hash).update(message).digest();
  if (digest.length !== HASH_BYTES[hash]) {
    throw new KmsError('ValidationException', `Digest is invalid length for algorithm ${algorithm}.`);
  }
  const spec = SPECS[key.keySpec]!;
  if (spec.kind === 'ec') return ecdsaSignDigest(key.privateKey!, spec.curve!, digest);
  return privateEncrypt({ key: key.privateKey!, padding: constants.RSA_PKCS1_PADDING }, Buffer.concat([DIGEST_INFO_PREFIX[hash], digest]));
}

const sha256hex = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();

/** Checks AWS Signature Version 4 the way AWS does, for one known access key, region and service. */
function checkSigV4(req: IncomingMessage, body: Buffer, region: string): void {
  const auth = req.headers.authorization;
  if (!auth) throw new KmsError('UnrecognizedClientException', 'Missing Authentication Token');
  const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/.exec(auth);
  if (!m) throw new KmsError('IncompleteSignatureException', 'Authorization header is not a well-formed AWS4-HMAC-SHA256 signature.');
  const [, accessKeyId, date, scopeRegion, service, signedHeaders, signature] = m as unknown as string[];
  if (accessKeyId !== LOCAL_KMS_CREDENTIALS.accessKeyId) throw new KmsError('UnrecognizedClientException', 'The security token included in the request is invalid.');
  if (scopeRegion !== region) throw new KmsError('InvalidSignatureException', `Credential should be scoped to a valid region, not '${scopeRegion}'.`);
  if (service !== 'kms') throw new KmsError('InvalidSignatureException', `Credential should be scoped to correct service: 'kms'.`);
  const amzDate = String(req.headers['x-amz-date'] ?? '');
  const when = /^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/.exec(amzDate);
  if (!when || !amzDate.startsWith(date!)) throw new KmsError('IncompleteSignatureException', 'X-Amz-Date is missing or does not match the credential scope.');
  const at = Date.UTC(+when[1]!, +when[2]! - 1, +when[3]!, +when[4]!, +when[5]!, +when[6]!);
  if (Math.abs(Date.now() - at) > 15 * 60_000) throw new KmsError('InvalidSignatureException', 'Signature expired.');
  const names = signedHeaders!.split(';');
  if (!names.includes('host') || !names.includes('x-amz-date')) {
    throw new KmsError('InvalidSignatureException', 'Host and X-Amz-Date must be signed.');
  }
  const url = new URL(req.url ?? '/', 'http://x');
  const query = [...url.searchParams]
    .map(([k, v]) => [encodeURIComponent(k), encodeURIComponent(v)])
    .sort(([a], [b]) => (a! < b! ? -1 : a! > b! ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const headerLines = names.map((h) => {
    const v = req.headers[h];
    return `${h}:${(Array.isArray(v) ? v.join(',') : (v ?? '')).trim().replace(/\s+/g, ' ')}\n`;
  });
  const payloadHash = String(req.headers['x-amz-content-sha256'] ?? sha256hex(body));
  const canonical = [req.method, url.pathname, query, headerLines.join(''), signedHeaders, payloadHash].join('\n');
  const scope = `${date}/${scopeRegion}/${service}/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256hex(canonical)].join('\n');
  let k = hmac('AWS4' + LOCAL_KMS_CREDENTIALS.secretAccessKey, date!);
  for (const part of [scopeRegion!, service!, 'aws4_request']) k = hmac(k, part);
  const expected = hmac(k, toSign);
  if (!timingSafeEqual(expected, Buffer.from(signature!, 'hex'))) {
    throw new KmsError('InvalidSignatureException', 'The request signature we calculated does not match the signature you provided.');
  }
}

/** Starts a local KMS on 127.0.0.1 at a free port. */
export async function startLocalKms(options: { region?: string } = {}): Promise<LocalKms> {
  const region = options.region ?? 'us-east-1';
  const keys = new Map<string, LocalKmsKey>();
  const aliases = new Map<string, string>();
  const calls: { op: string; body: any }[] = [];
  const arnPrefix = `arn:aws:kms:${region}:${LOCAL_KMS_ACCOUNT}:`;
  const epoch = (d: Date) => d.getTime() / 1000;

  /** Any of the four ways KMS lets a caller name a key; aliases only where `aliasesToo`. */
  function find(keyId: unknown, aliasesToo = true): LocalKmsKey {
    if (typeof keyId !== 'string' || keyId === '') throw new KmsError('ValidationException', 'KeyId is required.');
    let id = keyId.startsWith(arnPrefix + 'key/') ? keyId.slice(arnPrefix.length + 4) : keyId;
    if (aliasesToo) {
      const alias = id.startsWith(arnPrefix + 'alias/') ? id.slice(arnPrefix.length) : id;
      if (alias.startsWith('alias/')) id = aliases.get(alias) ?? '';
    }
    const key = keys.get(id);
    if (!key) throw new KmsError('NotFoundException', `Key '${keyId}' does not exist`);
    return key;
  }

  function usable(key: LocalKmsKey): LocalKmsKey {
    if (key.state === 'Disabled') throw new KmsError('DisabledException', `${key.arn} is disabled.`);
    if (key.state === 'PendingDeletion') throw new KmsError('KMSInvalidStateException', `${key.arn} is pending deletion.`);
    return key;
  }

  function metadata(key: LocalKmsKey) {
    const spec = SPECS[key.keySpec];
    return {
      AWSAccountId: LOCAL_KMS_ACCOUNT,
      KeyId: key.keyId,
      Arn: key.arn,
      CreationDate: epoch(key.createdAt),
      Enabled: key.state === 'Enabled',
      Description: key.description,
      KeyUsage: key.keyUsage,
      KeyState: key.state,
      ...(key.deletionDate ? { DeletionDate: epoch(key.deletionDate) } : {}),
      Origin: 'AWS_KMS',
      KeyManager: 'CUSTOMER',
      CustomerMasterKeySpec: key.keySpec,
      KeySpec: key.keySpec,
      ...(key.keyUsage === 'SIGN_VERIFY' ? { SigningAlgorithms: spec!.signing } : {}),
      ...(key.keyUsage === 'ENCRYPT_DECRYPT' ? { EncryptionAlgorithms: spec ? ['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256'] : ['SYMMETRIC_DEFAULT'] } : {}),
      MultiRegion: false,
    };
  }

  const operations: Record<string, (b: any) => unknown> = {
    CreateKey(b) {
      const keyUsage = b.KeyUsage ?? 'ENCRYPT_DECRYPT';
      const keySpec = b.KeySpec ?? b.CustomerMasterKeySpec ?? 'SYMMETRIC_DEFAULT';
      const spec = SPECS[keySpec];
      const fits =
        (keyUsage === 'SIGN_VERIFY' && spec) ||
        (keyUsage === 'ENCRYPT_DECRYPT' && (keySpec === 'SYMMETRIC_DEFAULT' || spec?.kind === 'rsa'));
      if (!fits) throw new KmsError('ValidationException', `KeyUsage ${keyUsage} is not compatible with KeySpec ${keySpec}.`);
      const pair = !spec
        ? undefined
        : spec.kind === 'ec'
          ? generateKeyPairSync('ec', { namedCurve: spec.curve! })
          : generateKeyPairSync('rsa', { modulusLength: spec.bits!, publicExponent: 0x10001 });
      const keyId = randomUUID();
      const key: LocalKmsKey = {
        keyId,
        arn: `${arnPrefix}key/${keyId}`,
        keySpec,
        keyUsage,
        state: 'Enabled',
        description: b.Description ?? '',
        tags: b.Tags ?? [],
        createdAt: new Date(),
        privateKey: pair?.privateKey,
        publicKey: pair?.publicKey,
      };
      keys.set(keyId, key);
      return { KeyMetadata: metadata(key) };
    },
    CreateAlias(b) {
      const name = String(b.AliasName ?? '');
      if (!/^alias\/[a-zA-Z0-9/_-]+$/.test(name) || name.startsWith('alias/aws/')) throw new KmsError('ValidationException', `Alias name ${name} is not valid.`);
      if (aliases.has(name)) throw new KmsError('AlreadyExistsException', `An alias with the name ${arnPrefix}${name} already exists`);
      aliases.set(name, find(b.TargetKeyId, false).keyId);
      return {};
    },
    UpdateAlias(b) {
      if (!aliases.has(b.AliasName)) throw new KmsError('NotFoundException', `Alias ${arnPrefix}${b.AliasName} is not found.`);
      aliases.set(b.AliasName, find(b.TargetKeyId, false).keyId);
      return {};
    },
    DescribeKey(b) {
      return { KeyMetadata: metadata(find(b.KeyId)) };
    },
    GetPublicKey(b) {
      const key = usable(find(b.KeyId));
      if (!key.publicKey) throw new KmsError('UnsupportedOperationException', `${key.arn} key usage is ENCRYPT_DECRYPT which is not valid for GetPublicKey.`);
      const m = metadata(key);
      return {
        KeyId: key.arn,
        PublicKey: key.publicKey.export({ format: 'der', type: 'spki' }).toString('base64'),
        CustomerMasterKeySpec: key.keySpec,
        KeySpec: key.keySpec,
        KeyUsage: key.keyUsage,
        ...('SigningAlgorithms' in m ? { SigningAlgorithms: m.SigningAlgorithms } : { EncryptionAlgorithms: m.EncryptionAlgorithms }),
      };
    },
    Sign(b) {
      const key = usable(find(b.KeyId));
      if (key.keyUsage !== 'SIGN_VERIFY') throw new KmsError('InvalidKeyUsageException', `${key.arn} key usage is ${key.keyUsage} which is not valid for Sign.`);
      const algorithm = b.SigningAlgorithm;
      if (!SPECS[key.keySpec]!.signing.includes(algorithm)) {
        throw new KmsError('InvalidKeyUsageException', `Algorithm ${algorithm} is incompatible with key spec ${key.keySpec}.`);
      }
      const messageType = b.MessageType ?? 'RAW';
      if (messageType !== 'RAW' && messageType !== 'DIGEST') throw new KmsError('ValidationException', `MessageType ${messageType} is not valid.`);
      const message = Buffer.from(String(b.Message ?? ''), 'base64');
      if (message.length === 0 || message.length > 4096) throw new KmsError('ValidationException', 'Message must be 1 to 4096 bytes long.');
      return {
        KeyId: key.arn,
        Signature: signMessage(key, algorithm, message, messageType).toString('base64'),
        SigningAlgorithm: algorithm,
      };
    },
    ScheduleKeyDeletion(b) {
      const key = find(b.KeyId, false);
      const days = b.PendingWindowInDays ?? 30;
      if (!Number.isInteger(days) || days < 7 || days > 30) throw new KmsError('ValidationException', 'PendingWindowInDays must be between 7 and 30.');
      if (key.state === 'PendingDeletion') throw new KmsError('KMSInvalidStateException', `${key.arn} is pending deletion.`);
      key.state = 'PendingDeletion';
      key.deletionDate = new Date(Date.now() + days * 86_400_000);
      return { KeyId: key.arn, DeletionDate: epoch(key.deletionDate), KeyState: key.state, PendingWindowInDays: days };
    },
    DisableKey(b) {
      const key = find(b.KeyId, false);
      if (key.state === 'PendingDeletion') throw new KmsError('KMSInvalidStateException', `${key.arn} is pending deletion.`);
      key.state = 'Disabled';
      return {};
    },
    EnableKey(b) {
      const key = find(b.KeyId, false);
      if (key.state === 'PendingDeletion') throw new KmsError('KMSInvalidStateException', `${key.arn} is pending deletion.`);
      key.state = 'Enabled';
      return {};
    },
    ListResourceTags(b) {
      return { Tags: find(b.KeyId, false).tags, Truncated: false };
    },
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks);
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': randomUUID() });
      res.end(JSON.stringify(body));
    };
    try {
      checkSigV4(req, raw, region);
      const target = String(req.headers['x-amz-target'] ?? '');
      const op = target.startsWith('TrentService.') ? target.slice('TrentService.'.length) : '';
      if (req.method !== 'POST' || !String(req.headers['content-type']).startsWith('application/x-amz-json-1.1')) {
        throw new KmsError('UnknownOperationException', 'Expected POST with application/x-amz-json-1.1.');
      }
      let body: any;
      try {
        body = JSON.parse(raw.toString('utf8') || '{}');
      } catch {
        throw new KmsError('SerializationException', 'The request body is not JSON.');
      }
      const fn = Object.hasOwn(operations, op) ? operations[op] : undefined;
      if (!fn) throw new KmsError('UnknownOperationException', `Unknown operation ${target}.`);
      calls.push({ op, body });
      reply(200, fn(body));
    } catch (e) {
      if (!(e instanceof KmsError)) {
        reply(500, { __type: 'KMSInternalException', message: String(e) });
        return;
      }
      reply(400, { __type: e.type, message: e.message });
    }
  }

  const server = createServer((req, res) => void handle(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    region,
    env: {
      AWS_REGION: region,
      AWS_ENDPOINT_URL_KMS: endpoint,
      AWS_ACCESS_KEY_ID: LOCAL_KMS_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_KMS_CREDENTIALS.secretAccessKey,
    },
    keys,
    aliases,
    calls,
    async createKeyWithAlias(keySpec, alias, keyUsage = 'SIGN_VERIFY') {
      const { KeyMetadata } = operations.CreateKey!({ KeySpec: keySpec, KeyUsage: keyUsage, Description: alias }) as { KeyMetadata: { KeyId: string } };
      operations.CreateAlias!({ AliasName: alias, TargetKeyId: KeyMetadata.KeyId });
      return alias;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // The SDK keeps connections alive; without this, close waits for them to time out.
        server.closeAllConnections();
      }),
  };
}
