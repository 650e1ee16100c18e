import { createPublicKey, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Handle, Template } from 'pkcs11js';
import { CaError, invalid } from '../../src/domain/ca-error.ts';
import { KEY_ALGORITHM_INFO, SIGNING_ALGORITHM_INFO, type KeyAlgorithm, type SigningAlgorithm } from '../../src/domain/key-algorithm.ts';
import type { DeletableKeyStore, KeyStatus, SignInput, Signer } from '../../src/ports/key-store.ts';
import { ecdsaRawToDer } from '../../src/x509/ecdsa-signature.ts';
import { formatPkcs11Uri, parsePkcs11Uri, type Pkcs11KeyRef } from './pkcs11-uri.ts';
import { pkcs11Code, TokenConnection, type Live, type TokenOptions } from './token-connection.ts';
import { digestOf, piecesOf } from '../sign-input.ts';
import { SignerCache } from '../signer-cache.ts';

/** DER OIDs of the named curves, as CKA_EC_PARAMS holds them. */
const CURVES: Record<string, { hex: string; algorithm: KeyAlgorithm; jwk: string; size: number }> = {
  'P-256': { hex: '06082a8648ce3d030107', algorithm: 'EC_prime256v1', jwk: 'P-256', size: 32 },
  'P-384': { hex: '06052b81040022', algorithm: 'EC_secp384r1', jwk: 'P-384', size: 48 },
  'P-521': { hex: '06052b81040023', algorithm: 'EC_secp521r1', jwk: 'P-521', size: 66 },
};
const RSA_SIGN_MECHANISM: Record<string, 'CKM_SHA256_RSA_PKCS' | 'CKM_SHA384_RSA_PKCS' | 'CKM_SHA512_RSA_PKCS'> = {
  'SHA-256': 'CKM_SHA256_RSA_PKCS',
  'SHA-384': 'CKM_SHA384_RSA_PKCS',
  'SHA-512': 'CKM_SHA512_RSA_PKCS',
};
/** Labels of the keys this service generates; only those are destroyed when their CA is purged. */
const OWN_LABEL = 'privateca-';
/** Data beyond this is fed to the token in parts (CRLs of a million entries are 40 MB). */
const PART = 1 << 20;

export interface Pkcs11KeyStoreOptions extends TokenOptions {
  /**
   * Sign on the event loop instead of libuv's thread pool. Cheaper in CPU for modules that sign in
   * process (SoftHSM2: ~80 µs a signature, where the thread hand-off costs more than that); a
   * network HSM must stay asynchronous, or each signature would block the event loop for a round trip.
   */
  syncSign?: boolean;
}

/** The PIN from the environment, or read from its file at every login (one trailing newline dropped). */
export function pinReader(source: { pin?: string; pinFile?: string }): () => Promise<string> {
  const { pin, pinFile } = source;
  if (pin !== undefined) return async () => pin;
  return async () => (await readFile(pinFile!, 'utf8')).replace(/\r?\n$/, '');
}

/** A key on a PKCS#11 token: private, sensitive, never extractable; only signatures come out. */
class Pkcs11Signer implements Signer {
  constructor(
    private readonly store: Pkcs11KeyStore,
    readonly keyUri: string,
    readonly keyAlgorithm: KeyAlgorithm,
    readonly publicKeySpki: Uint8Array,
    /** The parsed URI, so that signing does not parse it again. */
    readonly ref: Pkcs11KeyRef,
  ) {}

  sign(algorithm: SigningAlgorithm, data: SignInput): Promise<Uint8Array> {
    return this.store.sign(this, algorithm, data);
  }
}

/**
 * CA keys on a PKCS#11 token (an HSM; SoftHSM2 in tests). Keys are named by RFC 7512 URIs. ECDSA
 * signs a digest computed here with CKM_ECDSA, which every token supports (SoftHSM2 has no
 * CKM_ECDSA_SHA256); RSA uses CKM_SHA*_RSA_PKCS, the token hashing.
 */
export class Pkcs11KeyStore implements DeletableKeyStore {
  readonly type = 'pkcs11';
  private readonly token: TokenConnection;
  private readonly signers = new SignerCache<Pkcs11Signer>();

  constructor(private readonly options: Pkcs11KeyStoreOptions) {
    this.token = new TokenConnection(options);
  }

  async createKey({ algorithm, label }: { algorithm: KeyAlgorithm; label: string }): Promise<{ keyUri: string }> {
    const info = KEY_ALGORITHM_INFO[algorithm];
    const id = randomBytes(16);
    const objectLabel = label.startsWith(OWN_LABEL) ? label : OWN_LABEL + label;
    await this.token.withSession(`generating a ${algorithm} key`, async ({ p, lib }, session) => {
      const common: Template = [
        { type: lib.CKA_TOKEN, value: true },
        { type: lib.CKA_ID, value: id },
        { type: lib.CKA_LABEL, value: objectLabel },
      ];
      const publicTemplate: Template = [...common, { type: lib.CKA_PRIVATE, value: false }, { type: lib.CKA_VERIFY, value: true }];
      const privateTemplate: Template = [
        ...common,
        { type: lib.CKA_PRIVATE, value: true },
        { type: lib.CKA_SENSITIVE, value: true },
        { type: lib.CKA_EXTRACTABLE, value: false },
        { type: lib.CKA_SIGN, value: true },
        { type: lib.CKA_DECRYPT, value: false },
        { type: lib.CKA_UNWRAP, value: false },
        { type: lib.CKA_DERIVE, value: false },
      ];
      if (info.family === 'EC') {
        publicTemplate.push({ type: lib.CKA_EC_PARAMS, value: Buffer.from(CURVES[info.namedCurve!]!.hex, 'hex') });
        await p.C_GenerateKeyPairAsync(session, { mechanism: lib.CKM_EC_KEY_PAIR_GEN }, publicTemplate, privateTemplate);
      } else {
        publicTemplate.push({ type: lib.CKA_MODULUS_BITS, value: info.modulusLength! }, { type: lib.CKA_PUBLIC_EXPONENT, value: Buffer.from([1, 0, 1]) });
        await p.C_GenerateKeyPairAsync(session, { mechanism: lib.CKM_RSA_PKCS_KEY_PAIR_GEN }, publicTemplate, privateTemplate);
      }
    }).catch((e: unknown) => {
      throw e instanceof CaError ? e : new CaError('unavailable', 'key_store_unavailable', `generating a ${algorithm} key on ${this.token.tokenDescription} failed (${errorName(e)})`, { cause: e });
    });
    const ref: Pkcs11KeyRef = { id, object: objectLabel };
    if (this.options.tokenLabel !== undefined) ref.token = this.options.tokenLabel;
    else ref.serial = this.options.tokenSerial;
    return { keyUri: formatPkcs11Uri(ref) };
  }

  getSigner(keyUri: string): Promise<Signer> {
    return this.signers.get(keyUri, (uri) => this.load(uri));
  }

  private async load(keyUri: string): Promise<Pkcs11Signer> {
    const ref = this.checkRef(keyUri);
    return this.token.withSession(`loading key ${keyUri}`, (live, session) => {
      const { p, lib } = live;
      const key = this.findKey(live, session, keyUri, ref);
      const [sign, sensitive, extractable, keyType] = p.C_GetAttributeValue(session, key, [
        { type: lib.CKA_SIGN },
        { type: lib.CKA_SENSITIVE },
        { type: lib.CKA_EXTRACTABLE },
        { type: lib.CKA_KEY_TYPE },
      ]).map((a) => a.value as Buffer);
      if (!sign![0]) throw invalid('key_usage_invalid', `key ${keyUri} is not allowed to sign (CKA_SIGN is false)`);
      // The CA key must never be able to leave the token.
      if (!sensitive![0] || extractable![0]) throw invalid('key_extractable', `key ${keyUri} can be exported from the token (it must be sensitive and not extractable)`);
      const type = Number(keyType!.readBigUInt64LE(0));
      const { algorithm, spki } = this.publicKeyOf(live, session, keyUri, key, type);
      return new Pkcs11Signer(this, keyUri, algorithm, spki, ref);
    });
  }

  /** The URI's token, if it names one, must be the token this service is configured for. */
  private checkRef(keyUri: string): Pkcs11KeyRef {
    const ref = parsePkcs11Uri(keyUri);
    const { tokenLabel, tokenSerial } = this.options;
    if ((ref.token !== undefined && tokenLabel !== undefined && ref.token !== tokenLabel) || (ref.serial !== undefined && tokenSerial !== undefined && ref.serial !== tokenSerial)) {
      throw invalid('invalid_key_uri', `key URI ${keyUri} names another token than this service's ${this.token.tokenDescription}`);
    }
    return ref;
  }

  private findKey(live: Live, session: Handle, keyUri: string, ref: Pkcs11KeyRef): Handle {
    const cached = live.handles.get(keyUri);
    if (cached) return cached;
    const found = this.find(live, session, live.lib.CKO_PRIVATE_KEY, ref);
    if (found.length === 0) throw new CaError('unavailable', 'key_not_found', `no private key matches ${keyUri} on ${this.token.tokenDescription}`);
    if (found.length > 1) throw invalid('invalid_key_uri', `${found.length} private keys match ${keyUri}; name one by id`);
    live.handles.set(keyUri, found[0]!);
    return found[0]!;
  }

  private find(live: Live, session: Handle, cls: number, ref: Pkcs11KeyRef): Handle[] {
    const { p, lib } = live;
    const template: Template = [{ type: lib.CKA_CLASS, value: cls }];
    if (ref.id) template.push({ type: lib.CKA_ID, value: ref.id });
    if (ref.object !== undefined) template.push({ type: lib.CKA_LABEL, value: ref.object });
    p.C_FindObjectsInit(session, template);
    try {
      return p.C_FindObjects(session, 4);
    } finally {
      p.C_FindObjectsFinal(session);
    }
  }

  /** SubjectPublicKeyInfo from the token's public key object (EC) or the private key's own modulus (RSA). */
  private publicKeyOf(live: Live, session: Handle, keyUri: string, key: Handle, keyType: number): { algorithm: KeyAlgorithm; spki: Uint8Array } {
    const { p, lib } = live;
    const spki = (jwk: Record<string, string>) => new Uint8Array(createPublicKey({ key: jwk, format: 'jwk' }).export({ format: 'der', type: 'spki' }));
    const b64u = (b: Buffer) => b.toString('base64url');
    if (keyType === lib.CKK_RSA) {
      const [n, e] = p.C_GetAttributeValue(session, key, [{ type: lib.CKA_MODULUS }, { type: lib.CKA_PUBLIC_EXPONENT }]).map((a) => a.value as Buffer);
      const bits = n!.length * 8;
      const algorithm = (['RSA_2048', 'RSA_3072', 'RSA_4096'] as const).find((a) => KEY_ALGORITHM_INFO[a].modulusLength === bits);
      if (!algorithm) throw invalid('key_algorithm_unsupported', `key ${keyUri} is RSA-${bits}; CA keys are RSA 2048, 3072 or 4096`);
      return { algorithm, spki: spki({ kty: 'RSA', n: b64u(n!), e: b64u(e!) }) };
    }
    if (keyType !== lib.CKK_EC) throw invalid('key_algorithm_unsupported', `key ${keyUri} is neither EC nor RSA`);
    const [params] = p.C_GetAttributeValue(session, key, [{ type: lib.CKA_EC_PARAMS }]).map((a) => a.value as Buffer);
    const curve = Object.values(CURVES).find((c) => c.hex === params!.toString('hex'));
    if (!curve) throw invalid('key_algorithm_unsupported', `key ${keyUri} is on a curve other than P-256, P-384 and P-521`);
    const [id] = p.C_GetAttributeValue(session, key, [{ type: lib.CKA_ID }]).map((a) => a.value as Buffer);
    const publics = this.find(live, session, lib.CKO_PUBLIC_KEY, { id: id! });
    if (publics.length !== 1) throw invalid('public_key_not_found', `key ${keyUri} has ${publics.length ? 'several public key objects' : 'no public key object'} with its CKA_ID`);
    let point = p.C_GetAttributeValue(session, publics[0]!, [{ type: lib.CKA_EC_POINT }])[0]!.value as Buffer;
    // CKA_EC_POINT is a DER OCTET STRING; a few tokens give the bare point.
    if (point.length !== 1 + 2 * curve.size) point = point.subarray(point.length - (1 + 2 * curve.size));
    if (point[0] !== 4) throw invalid('key_algorithm_unsupported', `key ${keyUri} has a compressed or malformed public point`);
    return {
      algorithm: curve.algorithm,
      spki: spki({ kty: 'EC', crv: curve.jwk, x: b64u(point.subarray(1, 1 + curve.size)), y: b64u(point.subarray(1 + curve.size)) }),
    };
  }

  /**
   * Signs on a pooled session; the key handle is found again after the token comes back. ECDSA:
   * one digest made here, before a session is taken. RSA: the token hashes; input in pieces goes
   * through C_SignUpdate in parts of at most PART bytes, read as the token takes them.
   */
  async sign(signer: Pkcs11Signer, algorithm: SigningAlgorithm, data: SignInput): Promise<Uint8Array> {
    const info = SIGNING_ALGORITHM_INFO[algorithm];
    const { ref } = signer;
    const ec = info.family === 'EC';
    const size = ec ? 2 * CURVES[KEY_ALGORITHM_INFO[signer.keyAlgorithm].namedCurve!]!.size : KEY_ALGORITHM_INFO[signer.keyAlgorithm].modulusLength! / 8;
    const input = ec ? await digestOf(info.nodeHash, data) : data;
    // The input's own failure (a CRL piece that could not be read) is passed on as it is.
    let inputError: unknown;
    return this.token
      .withSession(`signing with ${signer.keyUri}`, async (live, session) => {
        const { p, lib } = live;
        const key = this.findKey(live, session, signer.keyUri, ref);
        p.C_SignInit(session, { mechanism: ec ? lib.CKM_ECDSA : lib[RSA_SIGN_MECHANISM[info.hash]!] }, key);
        let sig: Buffer;
        if (input instanceof Uint8Array) {
          const one = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
          sig = this.options.syncSign ? p.C_Sign(session, one, Buffer.alloc(size)) : await p.C_SignAsync(session, one, Buffer.alloc(size));
        } else {
          try {
            for await (const piece of piecesOf(input)) {
              for (const part of splitInto(Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength), PART)) p.C_SignUpdate(session, part);
            }
          } catch (e) {
            if (pkcs11Code(e)) throw e;
            inputError = e;
            // The input failed, not the token: end the operation, or the session's next C_SignInit is refused.
            try {
              p.C_SignFinal(session, Buffer.alloc(size));
            } catch {
              // the operation is over either way
            }
            throw e;
          }
          sig = await p.C_SignFinalAsync(session, Buffer.alloc(size));
        }
        return ec ? ecdsaRawToDer(sig) : new Uint8Array(sig);
      })
      .catch((e: unknown) => {
        throw e instanceof CaError || e === inputError ? e : new CaError('unavailable', 'key_store_unavailable', `signing with ${signer.keyUri} failed (${errorName(e)})`, { cause: e });
      });
  }

  /**
   * The token's information, read on a logged-in session: the token is present and its PIN works.
   * An open session alone says nothing: it outlives a token that went away (SoftHSM2 answers
   * searches on it with nothing rather than an error).
   */
  async ready(): Promise<KeyStatus> {
    try {
      await this.token.withSession('checking the token', (live) => live.p.C_GetTokenInfo(live.slot));
      return { state: 'AVAILABLE' };
    } catch (e) {
      return { state: 'UNAVAILABLE', reason: e instanceof CaError ? e.detail : `${this.token.tokenDescription} cannot be used (${errorName(e)})` };
    }
  }

  async keyStatus(keyUri: string): Promise<KeyStatus> {
    try {
      const ref = this.checkRef(keyUri);
      await this.token.withSession(`finding ${keyUri}`, (live, session) => this.findKey(live, session, keyUri, ref));
      return { state: 'AVAILABLE' };
    } catch (e) {
      return { state: 'UNAVAILABLE', reason: e instanceof CaError ? e.detail : `${this.token.tokenDescription} cannot be used (${errorName(e)})` };
    }
  }

  /** Destroys the key pair, but only one this service generated: keys named by an operator stay. */
  async deleteKey(keyUri: string): Promise<void> {
    const ref = this.checkRef(keyUri);
    this.signers.delete(keyUri);
    if (!ref.object?.startsWith(OWN_LABEL) || !ref.id) return;
    await this.token.withSession(`deleting ${keyUri}`, (live, session) => {
      const { p, lib } = live;
      for (const cls of [lib.CKO_PRIVATE_KEY, lib.CKO_PUBLIC_KEY]) {
        for (const h of this.find(live, session, cls, ref)) p.C_DestroyObject(session, h);
      }
      live.handles.delete(keyUri);
    });
  }

  async close(): Promise<void> {
    this.signers.clear();
    await this.token.close();
  }
}

function splitInto(b: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < b.length; at += size) out.push(b.subarray(at, at + size));
  return out.length ? out : [b];
}

const errorName = (e: unknown): string => pkcs11Code(e) ?? (e instanceof Error ? e.name : 'unknown error');
