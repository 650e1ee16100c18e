import { createCipheriv, createDecipheriv, createSign, createPrivateKey, createPublicKey, generateKeyPair, randomBytes, randomUUID, sign, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { CaError } from '../../src/domain/ca-error.ts';
import { KEY_ALGORITHM_INFO, SIGNING_ALGORITHM_INFO, type KeyAlgorithm, type SigningAlgorithm } from '../../src/domain/key-algorithm.ts';
import type { DeletableKeyStore, KeyStatus, SignInput, Signer } from '../../src/ports/key-store.ts';
import type { SoftwareKeyRepository } from '../../src/ports/repositories.ts';
import type { Clock } from '../../src/ports/clock.ts';
import type { Kek } from './kek.ts';
import { SignerCache } from '../signer-cache.ts';
import { piecesOf } from '../sign-input.ts';

const generate = promisify(generateKeyPair);
const SCHEME = 'software:';

/*
 * Private keys as PKCS#8 DER sealed with AES-256-GCM under the KEK. The key id is the additional
 * authenticated data, so a wrapped key copied to another row does not decrypt.
 */
function wrap(kek: Kek, id: string, pkcs8: Buffer): Buffer {
  const nonce = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', kek.key, nonce);
  c.setAAD(Buffer.from(id));
  const body = Buffer.concat([c.update(pkcs8), c.final()]);
  return Buffer.concat([nonce, body, c.getAuthTag()]);
}

function unwrap(kek: Kek, id: string, sealed: Buffer): Buffer {
  const d = createDecipheriv('aes-256-gcm', kek.key, sealed.subarray(0, 12));
  d.setAAD(Buffer.from(id));
  d.setAuthTag(sealed.subarray(sealed.length - 16));
  return Buffer.concat([d.update(sealed.subarray(12, sealed.length - 16)), d.final()]);
}

class SoftwareSigner implements Signer {
  constructor(
    readonly keyUri: string,
    readonly keyAlgorithm: KeyAlgorithm,
    readonly publicKeySpki: Uint8Array,
    private readonly key: KeyObject,
  ) {}

  signSync(algorithm: SigningAlgorithm, data: Uint8Array): Uint8Array {
    return sign(SIGNING_ALGORITHM_INFO[algorithm].nodeHash, data, { key: this.key, dsaEncoding: 'der' });
  }

  async sign(algorithm: SigningAlgorithm, data: SignInput): Promise<Uint8Array> {
    if (data instanceof Uint8Array) return this.signSync(algorithm, data);
    const s = createSign(SIGNING_ALGORITHM_INFO[algorithm].nodeHash);
    for await (const p of piecesOf(data)) s.update(p);
    return s.sign({ key: this.key, dsaEncoding: 'der' });
  }
}

/** Keys generated in this process and kept encrypted in the database under a KEK from outside it. */
export class SoftwareKeyStore implements DeletableKeyStore {
  readonly type = 'software';
  private readonly signers = new SignerCache<Signer>();

  constructor(private readonly options: { kek: Kek; keys: SoftwareKeyRepository; clock: Clock }) {}

  async createKey({ algorithm }: { algorithm: KeyAlgorithm; label: string }): Promise<{ keyUri: string }> {
    const info = KEY_ALGORITHM_INFO[algorithm];
    const { privateKey, publicKey } =
      info.family === 'EC'
        ? await generate('ec', { namedCurve: info.curve! })
        : await generate('rsa', { modulusLength: info.modulusLength!, publicExponent: 0x10001 });
    const id = randomUUID();
    const pkcs8 = privateKey.export({ format: 'der', type: 'pkcs8' });
    await this.options.keys.insert({
      id,
      algorithm,
      spki: publicKey.export({ format: 'der', type: 'spki' }),
      wrappedKey: wrap(this.options.kek, id, pkcs8),
      kekId: this.options.kek.id,
      createdAt: this.options.clock.now(),
    });
    pkcs8.fill(0);
    return { keyUri: SCHEME + id };
  }

  getSigner(keyUri: string): Promise<Signer> {
    return this.signers.get(keyUri, (uri) => this.load(uri));
  }

  private async load(keyUri: string): Promise<Signer> {
    const id = parseUri(keyUri);
    const rec = await this.options.keys.get(id);
    if (!rec) throw new CaError('unavailable', 'key_not_found', `software key ${keyUri} does not exist`);
    if (rec.kekId !== this.options.kek.id) {
      throw new CaError('unavailable', 'key_store_unavailable', `software key ${keyUri} was sealed under another key-encryption key (${rec.kekId})`);
    }
    let pkcs8: Buffer;
    try {
      pkcs8 = unwrap(this.options.kek, id, rec.wrappedKey);
    } catch (e) {
      throw new CaError('unavailable', 'key_store_unavailable', `software key ${keyUri} does not decrypt under the key-encryption key`, { cause: e });
    }
    const key = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' });
    pkcs8.fill(0);
    const spki = createPublicKey(key).export({ format: 'der', type: 'spki' });
    if (!spki.equals(rec.spki)) throw new CaError('unavailable', 'key_store_unavailable', `software key ${keyUri} does not match its public key`);
    return new SoftwareSigner(keyUri, rec.algorithm as KeyAlgorithm, new Uint8Array(spki), key);
  }

  /** The KEK was read when the store was made; the sealed keys are in the database, which readyz checks itself. */
  async ready(): Promise<KeyStatus> {
    return { state: 'AVAILABLE' };
  }

  async keyStatus(keyUri: string): Promise<KeyStatus> {
    try {
      await this.getSigner(keyUri);
      return { state: 'AVAILABLE' };
    } catch (e) {
      return { state: 'UNAVAILABLE', reason: e instanceof CaError ? e.detail : 'the key could not be loaded' };
    }
  }

  async deleteKey(keyUri: string): Promise<void> {
    this.signers.delete(keyUri);
    await this.options.keys.remove(parseUri(keyUri));
  }

  async close(): Promise<void> {
    this.signers.clear();
  }
}

function parseUri(keyUri: string): string {
  const id = keyUri.startsWith(SCHEME) ? keyUri.slice(SCHEME.length) : '';
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(id)) {
    throw new CaError('invalid_request', 'invalid_key_uri', `"${keyUri}" is not a software key URI (software:<uuid>)`);
  }
  return id;
}
