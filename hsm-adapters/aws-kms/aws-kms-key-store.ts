import type { KeySpec, KMSClient, SigningAlgorithmSpec } from '@aws-sdk/client-kms';
import { CaError } from '../../src/domain/ca-error.ts';
import {
  KEY_ALGORITHM_INFO,
  SIGNING_ALGORITHM_INFO,
  checkSigningAlgorithm,
  type KeyAlgorithm,
  type SigningAlgorithm,
} from '../../src/domain/key-algorithm.ts';
import type { DeletableKeyStore, KeyStatus, SignInput, Signer } from '../../src/ports/key-store.ts';
import { digestOf } from '../sign-input.ts';
import { SignerCache } from '../signer-cache.ts';

type Sdk = typeof import('@aws-sdk/client-kms');

const SCHEME = 'awskms:';
/** The tag on keys this store creates; deleteKey destroys no key without it. */
const TAG = 'privateca';
/** The statuses cache's entry for ready(): no key URI has this form. */
const READY = ' ready';
const KEY_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/;
const KEY_NAME = /^(arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(key\/[A-Za-z0-9-]+|alias\/[A-Za-z0-9/_-]+)|alias\/[A-Za-z0-9/_-]+|[A-Za-z0-9-]{32,36})$/;

const KEY_SPECS: Record<KeyAlgorithm, KeySpec> = {
  EC_prime256v1: 'ECC_NIST_P256',
  EC_secp384r1: 'ECC_NIST_P384',
  EC_secp521r1: 'ECC_NIST_P521',
  RSA_2048: 'RSA_2048',
  RSA_3072: 'RSA_3072',
  RSA_4096: 'RSA_4096',
};

/*
 * KMS allows each EC key one ECDSA algorithm only: the one whose hash matches the curve (P-256 with
 * SHA-256...). ECDSA signs the digest as an integer of at most the curve order's bit length, so a
 * digest of another hash is cut (longer) or zero-padded on the left (shorter) to the length KMS wants,
 * and the signature is then the standard one for that other hash (FIPS 186-4 §6.4).
 */
const EC_SIGNING: Partial<Record<KeyAlgorithm, { kms: SigningAlgorithmSpec; digestBytes: number }>> = {
  EC_prime256v1: { kms: 'ECDSA_SHA_256', digestBytes: 32 },
  EC_secp384r1: { kms: 'ECDSA_SHA_384', digestBytes: 48 },
  EC_secp521r1: { kms: 'ECDSA_SHA_512', digestBytes: 64 },
};

const RSA_SIGNING: Partial<Record<SigningAlgorithm, SigningAlgorithmSpec>> = {
  SHA256WITHRSA: 'RSASSA_PKCS1_V1_5_SHA_256',
  SHA384WITHRSA: 'RSASSA_PKCS1_V1_5_SHA_384',
  SHA512WITHRSA: 'RSASSA_PKCS1_V1_5_SHA_512',
};

/** Short, secret-free reasons for the errors KMS and the SDK raise. */
const REASONS: Record<string, string> = {
  NotFoundException: 'key does not exist',
  DisabledException: 'key is disabled',
  KMSInvalidStateException: 'key is not in a state that allows this (pending deletion?)',
  KeyUnavailableException: 'key is unavailable (its custom key store is disconnected?)',
  CredentialsProviderError: 'no AWS credentials found',
  UnrecognizedClientException: 'KMS does not recognise the AWS credentials',
  InvalidClientTokenId: 'KMS does not recognise the AWS credentials',
  ExpiredTokenException: 'the AWS credentials have expired',
  InvalidSignatureException: 'KMS refused the request signature (wrong secret key, region or clock?)',
  IncompleteSignatureException: 'KMS refused the request signature',
  MissingAuthenticationTokenException: 'the request carried no AWS credentials',
  AccessDeniedException: 'access denied (check the key policy and IAM permissions)',
  ThrottlingException: 'KMS is throttling requests',
  KMSInternalException: 'KMS had an internal error',
  DependencyTimeoutException: 'KMS timed out',
  TimeoutError: 'the KMS endpoint did not answer in time',
};
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/** A CaError for a failed step ("signing with KMS key arn:...") whose detail never echoes the SDK's message. */
function failure(step: string, e: unknown): CaError {
  if (e instanceof CaError) return e;
  const { name, code } = (e ?? {}) as { name?: string; code?: string };
  if (name === 'NotFoundException') return new CaError('unavailable', 'key_not_found', `${step}: ${REASONS[name]}`, { cause: e });
  if (name === 'InvalidKeyUsageException' || name === 'UnsupportedOperationException') {
    return new CaError('invalid_request', 'key_usage_invalid', `${step}: the key cannot sign (wrong key usage or key spec)`, { cause: e });
  }
  // The SDK renames some socket errors TimeoutError: their code says more.
  const reason =
    code && NETWORK_CODES.has(code)
      ? `the KMS endpoint is unreachable (${code})`
      : name && Object.hasOwn(REASONS, name)
        ? REASONS[name]
        : `the KMS request failed (${name ?? 'unknown error'})`;
  return new CaError('unavailable', 'key_store_unavailable', `${step}: ${reason}`, { cause: e });
}

class AwsKmsSigner implements Signer {
  constructor(
    readonly keyUri: string,
    readonly keyAlgorithm: KeyAlgorithm,
    readonly publicKeySpki: Uint8Array,
    /** The key ARN, resolved once: an alias can be retargeted, this CA's key cannot. */
    readonly keyArn: string,
    private readonly signDigest: (signer: AwsKmsSigner, algorithm: SigningAlgorithmSpec, digest: Buffer) => Promise<Uint8Array>,
  ) {}

  async sign(algorithm: SigningAlgorithm, data: SignInput): Promise<Uint8Array> {
    checkSigningAlgorithm(this.keyAlgorithm, algorithm);
    const digest = await digestOf(SIGNING_ALGORITHM_INFO[algorithm].nodeHash, data);
    const ec = EC_SIGNING[this.keyAlgorithm];
    if (!ec) return this.signDigest(this, RSA_SIGNING[algorithm]!, digest);
    const fitted = digest.length >= ec.digestBytes ? digest.subarray(0, ec.digestBytes) : Buffer.concat([Buffer.alloc(ec.digestBytes - digest.length), digest]);
    return this.signDigest(this, ec.kms, fitted);
  }
}

/**
 * Keys in AWS KMS, which never leave it: every signature is a KMS Sign call on a digest computed
 * here. Region, endpoint and credentials come from the standard AWS chain unless a client is given.
 * Key URIs are `awskms:<key ARN>` for keys this store creates, and `awskms:<key id | key ARN |
 * alias/name | alias ARN>` for existing keys, which are resolved to their key ARN once.
 */
export class AwsKmsKeyStore implements DeletableKeyStore {
  readonly type = 'aws-kms';
  private readonly signers = new SignerCache<AwsKmsSigner>();
  private readonly statuses = new Map<string, { until: number; status: Promise<KeyStatus> }>();
  private readonly statusCacheMs: number;
  private connection?: Promise<{ sdk: Sdk; client: KMSClient }>;
  private ownClient?: KMSClient;

  constructor(
    private readonly options: {
      client?: KMSClient;
      /** For the client this store makes when none is given; otherwise from the AWS chain. */
      region?: string;
      endpoint?: string;
      /** How long a keyStatus answer is reused, so that listing CAs does not call KMS for each. */
      statusCacheMs?: number;
    } = {},
  ) {
    this.statusCacheMs = options.statusCacheMs ?? 5_000;
  }

  /** Loads the SDK on first use, so that services without KMS keys never pay for it. */
  private connect(): Promise<{ sdk: Sdk; client: KMSClient }> {
    this.connection ??= import('@aws-sdk/client-kms').then((sdk) => {
      let client = this.options.client;
      if (!client) {
        const { region, endpoint } = this.options;
        // Without timeouts, a KMS that stops answering would hang issuance instead of failing it.
        client = this.ownClient = new sdk.KMSClient({
          ...(region ? { region } : {}),
          ...(endpoint ? { endpoint } : {}),
          requestHandler: { connectionTimeout: 5_000, requestTimeout: 15_000 },
        });
      }
      return { sdk, client };
    });
    return this.connection;
  }

  async createKey({ algorithm, label }: { algorithm: KeyAlgorithm; label: string }): Promise<{ keyUri: string }> {
    const { sdk, client } = await this.connect();
    try {
      const out = await client.send(
        new sdk.CreateKeyCommand({
          KeyUsage: 'SIGN_VERIFY',
          KeySpec: KEY_SPECS[algorithm],
          Description: label,
          Tags: [{ TagKey: TAG, TagValue: label }],
        }),
      );
      const arn = out.KeyMetadata?.Arn;
      if (!arn) throw new CaError('unavailable', 'key_store_unavailable', 'creating a KMS key: KMS returned no key ARN');
      return { keyUri: SCHEME + arn };
    } catch (e) {
      throw failure(`creating a ${KEY_SPECS[algorithm]} KMS key`, e);
    }
  }

  getSigner(keyUri: string): Promise<Signer> {
    return this.signer(keyUri);
  }

  private signer(keyUri: string): Promise<AwsKmsSigner> {
    return this.signers.get(keyUri, (uri) => this.load(uri));
  }

  private async load(keyUri: string): Promise<AwsKmsSigner> {
    const keyId = parseUri(keyUri);
    const step = `loading KMS key ${keyId}`;
    const { sdk, client } = await this.connect();
    let out;
    try {
      out = await client.send(new sdk.GetPublicKeyCommand({ KeyId: keyId }));
    } catch (e) {
      throw failure(step, e);
    }
    if (out.KeyUsage !== 'SIGN_VERIFY') {
      throw new CaError('invalid_request', 'key_usage_invalid', `${step}: key usage is ${out.KeyUsage}, not SIGN_VERIFY`);
    }
    const spec = out.KeySpec ?? out.CustomerMasterKeySpec;
    const algorithm = (Object.keys(KEY_SPECS) as KeyAlgorithm[]).find((a) => KEY_SPECS[a] === spec);
    if (!algorithm) throw new CaError('invalid_request', 'key_algorithm_unsupported', `${step}: key spec ${spec} is not supported`);
    if (!out.KeyId || !out.PublicKey) throw new CaError('unavailable', 'key_store_unavailable', `${step}: KMS returned no key ARN or public key`);
    return new AwsKmsSigner(keyUri, algorithm, out.PublicKey, out.KeyId, (signer, alg, digest) => this.signDigest(signer, alg, digest));
  }

  private async signDigest(signer: AwsKmsSigner, algorithm: SigningAlgorithmSpec, digest: Buffer): Promise<Uint8Array> {
    const step = `signing with KMS key ${signer.keyArn}`;
    try {
      const { sdk, client } = await this.connect();
      const out = await client.send(
        new sdk.SignCommand({ KeyId: signer.keyArn, Message: digest, MessageType: 'DIGEST', SigningAlgorithm: algorithm }),
      );
      const sig = out.Signature;
      if (!sig || !looksRight(signer.keyAlgorithm, sig)) throw new CaError('unavailable', 'key_store_unavailable', `${step}: KMS returned a malformed signature`);
      this.remember(signer.keyUri, { state: 'AVAILABLE' });
      return sig;
    } catch (e) {
      const err = failure(step, e);
      if (err.kind === 'unavailable') this.remember(signer.keyUri, { state: 'UNAVAILABLE', reason: err.detail });
      throw err;
    }
  }

  async keyStatus(keyUri: string): Promise<KeyStatus> {
    const cached = this.statuses.get(keyUri);
    if (cached && cached.until > Date.now()) return cached.status;
    const status = this.fetchStatus(keyUri);
    this.statuses.set(keyUri, { until: Date.now() + this.statusCacheMs, status });
    return status;
  }

  /** KMS answers (ListKeys, one key), reused like keyStatus so that health checks do not call KMS each time. */
  async ready(): Promise<KeyStatus> {
    const cached = this.statuses.get(READY);
    if (cached && cached.until > Date.now()) return cached.status;
    const status = (async (): Promise<KeyStatus> => {
      try {
        const { sdk, client } = await this.connect();
        await client.send(new sdk.ListKeysCommand({ Limit: 1 }));
        return { state: 'AVAILABLE' };
      } catch (e) {
        return { state: 'UNAVAILABLE', reason: failure('reaching KMS', e).detail };
      }
    })();
    this.statuses.set(READY, { until: Date.now() + this.statusCacheMs, status });
    return status;
  }

  private remember(keyUri: string, status: KeyStatus): void {
    this.statuses.set(keyUri, { until: Date.now() + this.statusCacheMs, status: Promise.resolve(status) });
  }

  private async fetchStatus(keyUri: string): Promise<KeyStatus> {
    try {
      const signer = await this.signer(keyUri);
      const step = `checking KMS key ${signer.keyArn}`;
      const { sdk, client } = await this.connect();
      let state: string | undefined;
      try {
        state = (await client.send(new sdk.DescribeKeyCommand({ KeyId: signer.keyArn }))).KeyMetadata?.KeyState;
      } catch (e) {
        throw failure(step, e);
      }
      if (state === 'Enabled') return { state: 'AVAILABLE' };
      const why = state === 'Disabled' ? 'disabled' : state === 'PendingDeletion' ? 'pending deletion' : `in state ${state}`;
      return { state: 'UNAVAILABLE', reason: `${step}: key is ${why}` };
    } catch (e) {
      return { state: 'UNAVAILABLE', reason: e instanceof CaError ? e.detail : 'the KMS key could not be checked' };
    }
  }

  async deleteKey(keyUri: string): Promise<void> {
    const keyId = parseUri(keyUri);
    // Aliases and bare key ids name keys the user brought; only key ARNs can be ours.
    if (!KEY_ARN.test(keyId)) return;
    this.signers.delete(keyUri);
    this.statuses.delete(keyUri);
    const { sdk, client } = await this.connect();
    try {
      // A user may also name an existing key by its ARN: only our tag tells that this store made it.
      const { Tags } = await client.send(new sdk.ListResourceTagsCommand({ KeyId: keyId }));
      if (!Tags?.some((t) => t.TagKey === TAG)) return;
      await client.send(new sdk.ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: 7 }));
    } catch (e) {
      if ((e as { name?: string })?.name === 'NotFoundException') return;
      throw failure(`scheduling the deletion of KMS key ${keyId}`, e);
    }
  }

  async close(): Promise<void> {
    this.signers.clear();
    this.statuses.clear();
    await this.connection?.catch(() => undefined);
    this.ownClient?.destroy();
  }
}

function parseUri(keyUri: string): string {
  const id = keyUri.startsWith(SCHEME) ? keyUri.slice(SCHEME.length) : '';
  if (!KEY_NAME.test(id)) {
    throw new CaError(
      'invalid_request',
      'invalid_key_uri',
      `"${keyUri}" is not an AWS KMS key URI (awskms:<key id | key ARN | alias/name | alias ARN>)`,
    );
  }
  return id;
}

/** A DER SEQUENCE that fills the signature for EC keys, the modulus length for RSA keys. */
function looksRight(algorithm: KeyAlgorithm, sig: Uint8Array): boolean {
  const info = KEY_ALGORITHM_INFO[algorithm];
  if (info.family === 'RSA') return sig.length === info.modulusLength! / 8;
  if (sig[0] !== 0x30 || sig.length < 8) return false;
  const len = sig[1]! < 0x80 ? sig[1]! : sig[1] === 0x81 ? sig[2]! : -1;
  return len + (sig[1]! < 0x80 ? 2 : 3) === sig.length;
}
