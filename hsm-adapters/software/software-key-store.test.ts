import { createDecipheriv, createPrivateKey, createPublicKey, randomBytes, verify } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CaError } from '../../src/domain/ca-error.ts';
import {
  KEY_ALGORITHMS,
  KEY_ALGORITHM_INFO,
  SIGNING_ALGORITHMS,
  SIGNING_ALGORITHM_INFO,
  type KeyAlgorithm,
} from '../../src/domain/key-algorithm.ts';
import type { Clock } from '../../src/ports/clock.ts';
import type { SoftwareKeyRecord, SoftwareKeyRepository } from '../../src/ports/repositories.ts';
import { loadKek, type Kek } from './kek.ts';
import { SoftwareKeyStore } from './software-key-store.ts';
import { expectCaErrorCode } from '../../test/support/ca-error.ts';

/** The SoftwareKeyRepository port over a Map, with copies in and out so tests can tamper safely. */
class MemoryKeys implements SoftwareKeyRepository {
  readonly rows = new Map<string, SoftwareKeyRecord>();
  private copy(r: SoftwareKeyRecord): SoftwareKeyRecord {
    return { ...r, spki: Buffer.from(r.spki), wrappedKey: Buffer.from(r.wrappedKey), createdAt: new Date(r.createdAt) };
  }
  async insert(record: SoftwareKeyRecord): Promise<void> {
    if (this.rows.has(record.id)) throw new Error(`duplicate key ${record.id}`);
    this.rows.set(record.id, this.copy(record));
  }
  async get(id: string): Promise<SoftwareKeyRecord | undefined> {
    const r = this.rows.get(id);
    return r && this.copy(r);
  }
  async remove(id: string): Promise<void> {
    this.rows.delete(id);
  }
}

const clock: Clock = { now: () => new Date('2030-01-02T03:04:05Z') };
const URI_RE = /^software:([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

let dir: string;
let kek: Kek;
let otherKek: Kek;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'privateca-kek-test-'));
  kek = await loadKek({ env: randomBytes(32).toString('base64'), file: path.join(dir, 'unused') });
  otherKek = await loadKek({ env: randomBytes(32).toString('base64'), file: path.join(dir, 'unused') });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const idOf = (keyUri: string) => URI_RE.exec(keyUri)![1]!;


/** Reads one DER TLV header at `at`: its tag, where its content starts and its length. */
function tlvAt(buf: Uint8Array, at: number): { tag: number; start: number; length: number } {
  const tag = buf[at]!;
  let len = buf[at + 1]!;
  let start = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[at + 2 + i]!;
    start += n;
  }
  return { tag, start, length: len };
}

/** A DER ECDSA-Sig-Value: SEQUENCE { INTEGER r, INTEGER s } and nothing else. */
function expectDerEcdsaSignature(sig: Uint8Array): void {
  const seq = tlvAt(sig, 0);
  expect(seq.tag).toBe(0x30);
  expect(seq.start + seq.length).toBe(sig.length);
  const r = tlvAt(sig, seq.start);
  expect(r.tag).toBe(0x02);
  const s = tlvAt(sig, r.start + r.length);
  expect(s.tag).toBe(0x02);
  expect(s.start + s.length).toBe(sig.length);
}

describe('SoftwareKeyStore', () => {
  describe.each(KEY_ALGORITHMS)('%s', (algorithm: KeyAlgorithm) => {
    const info = KEY_ALGORITHM_INFO[algorithm];
    const signingAlgorithms = SIGNING_ALGORITHMS.filter((s) => SIGNING_ALGORITHM_INFO[s].family === info.family);

    it('ok/creates a key whose signatures verify against its publicKeySpki, for every signing algorithm of its family', async () => {
      const keys = new MemoryKeys();
      const store = new SoftwareKeyStore({ kek, keys, clock });
      const { keyUri } = await store.createKey({ algorithm, label: 'test' });
      expect(keyUri).toMatch(URI_RE);

      const row = keys.rows.get(idOf(keyUri))!;
      expect(row).toBeDefined();
      expect(row.algorithm).toBe(algorithm);
      expect(row.kekId).toBe(kek.id);
      expect(row.createdAt.toISOString()).toBe('2030-01-02T03:04:05.000Z');

      const signer = await store.getSigner(keyUri);
      expect(signer.keyUri).toBe(keyUri);
      expect(signer.keyAlgorithm).toBe(algorithm);
      expect(Buffer.from(signer.publicKeySpki).equals(row.spki)).toBe(true);

      const publicKey = createPublicKey({ key: Buffer.from(signer.publicKeySpki), format: 'der', type: 'spki' });
      if (info.family === 'EC') {
        expect(publicKey.asymmetricKeyType).toBe('ec');
        expect(publicKey.asymmetricKeyDetails?.namedCurve).toBe(info.curve);
      } else {
        expect(publicKey.asymmetricKeyType).toBe('rsa');
        expect(publicKey.asymmetricKeyDetails?.modulusLength).toBe(info.modulusLength);
        expect(publicKey.asymmetricKeyDetails?.publicExponent).toBe(0x10001n);
      }

      const data = randomBytes(333);
      for (const sa of signingAlgorithms) {
        const hash = SIGNING_ALGORITHM_INFO[sa].nodeHash;
        const sig = await signer.sign(sa, data);
        if (info.family === 'EC') expectDerEcdsaSignature(sig);
        else expect(sig.length).toBe(info.modulusLength! / 8);
        expect(verify(hash, data, { key: publicKey, dsaEncoding: 'der' }, sig), `${sa} verifies`).toBe(true);
        // A signature over other data, or made with another hash, does not verify.
        expect(verify(hash, Buffer.concat([data, Buffer.from([0])]), { key: publicKey, dsaEncoding: 'der' }, sig)).toBe(false);
        expect(signer.signSync).toBeTypeOf('function');
        const sync = signer.signSync!(sa, data);
        expect(verify(hash, data, { key: publicKey, dsaEncoding: 'der' }, sync), `${sa} (sync) verifies`).toBe(true);
      }
    });
  });

  it('ok/the wrapped key is AES-256-GCM (nonce || ciphertext || tag) of the PKCS#8 key, with the key id as AAD', async () => {
    const keys = new MemoryKeys();
    const store = new SoftwareKeyStore({ kek, keys, clock });
    const { keyUri } = await store.createKey({ algorithm: 'EC_prime256v1', label: 'x' });
    const id = idOf(keyUri);
    const row = keys.rows.get(id)!;
    const w = row.wrappedKey;
    const d = createDecipheriv('aes-256-gcm', kek.key, w.subarray(0, 12));
    d.setAAD(Buffer.from(id));
    d.setAuthTag(w.subarray(w.length - 16));
    const pkcs8 = Buffer.concat([d.update(w.subarray(12, w.length - 16)), d.final()]);
    const priv = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' });
    expect(createPublicKey(priv).export({ format: 'der', type: 'spki' }).equals(row.spki)).toBe(true);
    // The clear key is nowhere in the stored record.
    expect(w.includes(pkcs8)).toBe(false);
    const scalar = Buffer.from(priv.export({ format: 'jwk' }).d!, 'base64url');
    expect(w.includes(scalar)).toBe(false);
    expect(row.spki.includes(scalar)).toBe(false);
  });

  it('ok/two keys of the same algorithm are different keys with different nonces', async () => {
    const keys = new MemoryKeys();
    const store = new SoftwareKeyStore({ kek, keys, clock });
    const a = await store.createKey({ algorithm: 'EC_prime256v1', label: 'a' });
    const b = await store.createKey({ algorithm: 'EC_prime256v1', label: 'b' });
    expect(a.keyUri).not.toBe(b.keyUri);
    const ra = keys.rows.get(idOf(a.keyUri))!;
    const rb = keys.rows.get(idOf(b.keyUri))!;
    expect(ra.spki.equals(rb.spki)).toBe(false);
    expect(ra.wrappedKey.subarray(0, 12).equals(rb.wrappedKey.subarray(0, 12))).toBe(false);
  });

  it('ok/a second store instance with the same KEK loads a key the first created', async () => {
    const keys = new MemoryKeys();
    const { keyUri } = await new SoftwareKeyStore({ kek, keys, clock }).createKey({ algorithm: 'EC_secp384r1', label: 'x' });
    const signer = await new SoftwareKeyStore({ kek, keys, clock }).getSigner(keyUri);
    const data = Buffer.from('hello');
    const sig = await signer.sign('SHA384WITHECDSA', data);
    const pub = createPublicKey({ key: Buffer.from(signer.publicKeySpki), format: 'der', type: 'spki' });
    expect(verify('sha384', data, { key: pub, dsaEncoding: 'der' }, sig)).toBe(true);
  });

  it('fail/a store with another KEK refuses the key: key_store_unavailable', async () => {
    const keys = new MemoryKeys();
    const { keyUri } = await new SoftwareKeyStore({ kek, keys, clock }).createKey({ algorithm: 'EC_prime256v1', label: 'x' });
    const err = await expectCaErrorCode(new SoftwareKeyStore({ kek: otherKek, keys, clock }).getSigner(keyUri), 'key_store_unavailable');
    expect(err.kind).toBe('unavailable');
    // Never the key material in the error.
    expect(err.message).not.toContain(kek.key.toString('base64'));
    expect(err.message).not.toContain(otherKek.key.toString('base64'));
  });

  it('fail/another KEK that claims the same KEK id still does not decrypt: key_store_unavailable', async () => {
    const keys = new MemoryKeys();
    const { keyUri } = await new SoftwareKeyStore({ kek, keys, clock }).createKey({ algorithm: 'EC_prime256v1', label: 'x' });
    const impostor: Kek = { key: otherKek.key, id: kek.id };
    await expectCaErrorCode(new SoftwareKeyStore({ kek: impostor, keys, clock }).getSigner(keyUri), 'key_store_unavailable');
  });

  it.each([
    ['the nonce', (w: Buffer) => 0],
    ['the ciphertext', (w: Buffer) => 12 + 5],
    ['the tag', (w: Buffer) => w.length - 1],
  ])('fail/a wrapped key with a byte flipped in %s does not load', async (_what, where) => {
    const keys = new MemoryKeys();
    const { keyUri } = await new SoftwareKeyStore({ kek, keys, clock }).createKey({ algorithm: 'EC_prime256v1', label: 'x' });
    const row = keys.rows.get(idOf(keyUri))!;
    row.wrappedKey[where(row.wrappedKey)]! ^= 0x01;
    await expectCaErrorCode(new SoftwareKeyStore({ kek, keys, clock }).getSigner(keyUri), 'key_store_unavailable');
  });

  it('fail/a truncated wrapped key does not load', async () => {
    const keys = new MemoryKeys();
    const { keyUri } = await new SoftwareKeyStore({ kek, keys, clock }).createKey({ algorithm: 'RSA_2048', label: 'x' });
    const row = keys.rows.get(idOf(keyUri))!;
    row.wrappedKey = row.wrappedKey.subarray(0, row.wrappedKey.length - 17);
    await expect(new SoftwareKeyStore({ kek, keys, clock }).getSigner(keyUri)).rejects.toThrow();
  });

  it('fail/a wrapped key moved to another id does not decrypt (the id is authenticated)', async () => {
    const keys = new MemoryKeys();
    const store = new SoftwareKeyStore({ kek, keys, clock });
    const a = await store.createKey({ algorithm: 'EC_prime256v1', label: 'a' });
    const b = await store.createKey({ algorithm: 'EC_prime256v1', label: 'b' });
    const ra = keys.rows.get(idOf(a.keyUri))!;
    const rb = keys.rows.get(idOf(b.keyUri))!;
    // b's row now carries a's wrapped key and public key: same KEK, different id.
    rb.wrappedKey = Buffer.from(ra.wrappedKey);
    rb.spki = Buffer.from(ra.spki);
    await expectCaErrorCode(new SoftwareKeyStore({ kek, keys, clock }).getSigner(b.keyUri), 'key_store_unavailable');
    // a itself still loads.
    await expect(new SoftwareKeyStore({ kek, keys, clock }).getSigner(a.keyUri)).resolves.toBeDefined();
  });

  it('fail/a wrapped key whose stored public key was swapped is refused', async () => {
    const keys = new MemoryKeys();
    const store = new SoftwareKeyStore({ kek, keys, clock });
    const a = await store.createKey({ algorithm: 'EC_prime256v1', label: 'a' });
    const b = await store.createKey({ algorithm: 'EC_prime256v1', label: 'b' });
    keys.rows.get(idOf(a.keyUri))!.spki = Buffer.from(keys.rows.get(idOf(b.keyUri))!.spki);
    await expectCaErrorCode(new SoftwareKeyStore({ kek, keys, clock }).getSigner(a.keyUri), 'key_store_unavailable');
  });

  it('fail/an unknown key is key_not_found; a URI that is not software:<uuid> is invalid_key_uri', async () => {
    const store = new SoftwareKeyStore({ kek, keys: new MemoryKeys(), clock });
    await expectCaErrorCode(store.getSigner('software:00000000-0000-4000-8000-000000000000'), 'key_not_found');
    await expectCaErrorCode(store.getSigner('software:nope'), 'invalid_key_uri');
    await expectCaErrorCode(store.getSigner('pkcs11:token=x;object=y'), 'invalid_key_uri');
  });

  it('ok/a signature over pieces (a CRL in chunks) is the signature over their concatenation', async () => {
    const store = new SoftwareKeyStore({ kek, keys: new MemoryKeys(), clock });
    for (const algorithm of ['EC_prime256v1', 'RSA_2048'] as const) {
      const signer = await store.getSigner((await store.createKey({ algorithm, label: 'pieces' })).keyUri);
      const pieces = [randomBytes(10), randomBytes(70_000), new Uint8Array(0), randomBytes(3)];
      const alg = KEY_ALGORITHM_INFO[algorithm].defaultSigning;
      const sig = await signer.sign(alg, pieces);
      const pub = createPublicKey({ key: Buffer.from(signer.publicKeySpki), format: 'der', type: 'spki' });
      expect(verify(SIGNING_ALGORITHM_INFO[alg].nodeHash, Buffer.concat(pieces), { key: pub, dsaEncoding: 'der' }, sig)).toBe(true);
      // The same pieces read as they go (how the updater feeds a large CRL back from the database).
      const streamed = await signer.sign(alg, { [Symbol.asyncIterator]: async function* () { yield* pieces; } });
      expect(verify(SIGNING_ALGORITHM_INFO[alg].nodeHash, Buffer.concat(pieces), { key: pub, dsaEncoding: 'der' }, streamed)).toBe(true);
      expect(verify(SIGNING_ALGORITHM_INFO[alg].nodeHash, Buffer.concat(pieces.slice(1)), { key: pub, dsaEncoding: 'der' }, streamed)).toBe(false);
    }
  });

  it('ok/deleteKey removes the key for good', async () => {
    const keys = new MemoryKeys();
    const store = new SoftwareKeyStore({ kek, keys, clock });
    const { keyUri } = await store.createKey({ algorithm: 'EC_prime256v1', label: 'x' });
    await store.getSigner(keyUri);
    await store.deleteKey(keyUri);
    expect(keys.rows.size).toBe(0);
    await expectCaErrorCode(store.getSigner(keyUri), 'key_not_found');
  });
});

describe('loadKek', () => {
  it('ok/PRIVATECA_KEK of 32 bytes in base64 is used as is, without touching the file', async () => {
    const raw = randomBytes(32);
    const file = path.join(dir, 'env-case', 'kek');
    const k = await loadKek({ env: raw.toString('base64'), file });
    expect(k.key.equals(raw)).toBe(true);
    expect(k.id).toMatch(/^[0-9a-f]{16}$/);
    expect(k.id).not.toContain(raw.toString('hex').slice(0, 16));
    expect((await loadKek({ env: raw.toString('base64'), file })).id).toBe(k.id);
    await expect(stat(file)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it.each([
    ['too short', 'short'],
    ['16 bytes', randomBytes(16).toString('base64')],
    ['31 bytes', randomBytes(31).toString('base64')],
    ['33 bytes', randomBytes(33).toString('base64')],
    ['hex instead of base64', randomBytes(32).toString('hex')],
    ['not base64', '!'.repeat(44)],
  ])('fail/PRIVATECA_KEK %s is refused, naming the variable', async (_what, value) => {
    await expect(loadKek({ env: value, file: path.join(dir, 'never') })).rejects.toThrow(/PRIVATECA_KEK/);
  });

  it('ok/a missing KEK file is created with mode 0600 (and its directory), and read back the same', async () => {
    const file = path.join(dir, 'new', 'sub', 'kek');
    const a = await loadKek({ file });
    const st = await stat(file);
    expect(st.mode & 0o777).toBe(0o600);
    expect(a.key.length).toBe(32);
    expect(Buffer.from((await readFile(file, 'utf8')).trim(), 'base64').equals(a.key)).toBe(true);
    const b = await loadKek({ file });
    expect(b.key.equals(a.key)).toBe(true);
    expect(b.id).toBe(a.id);
    // Creating another gives another key.
    const c = await loadKek({ file: path.join(dir, 'new', 'other-kek') });
    expect(c.key.equals(a.key)).toBe(false);
    expect(c.id).not.toBe(a.id);
  });

  it('ok/a KEK file written by an operator (mode 0600) is read', async () => {
    const raw = randomBytes(32);
    const file = path.join(dir, 'operator-kek');
    await writeFile(file, raw.toString('base64') + '\n', { mode: 0o600 });
    expect((await loadKek({ file })).key.equals(raw)).toBe(true);
  });

  it.each([0o644, 0o640, 0o604])('fail/a KEK file with mode %o is refused', async (mode) => {
    const file = path.join(dir, `open-kek-${mode.toString(8)}`);
    await writeFile(file, randomBytes(32).toString('base64') + '\n', { mode: 0o600 });
    await chmod(file, mode);
    await expect(loadKek({ file })).rejects.toThrow(/readable by others|mode/);
  });

  it('fail/a KEK file that does not hold 32 bytes of base64 is refused', async () => {
    const file = path.join(dir, 'bad-kek');
    await writeFile(file, randomBytes(16).toString('base64') + '\n', { mode: 0o600 });
    await expect(loadKek({ file })).rejects.toThrow(/32 bytes/);
  });
});
