import { createPublicKey, randomBytes, verify } from 'node:crypto';
import { copyFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import pkcs11js from 'pkcs11js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CaError } from '../../src/domain/ca-error.ts';
import { KEY_ALGORITHMS, KEY_ALGORITHM_INFO, SIGNING_ALGORITHMS, SIGNING_ALGORITHM_INFO, type KeyAlgorithm } from '../../src/domain/key-algorithm.ts';
import { createSoftHsm, type SoftHsm } from '../../test/support/softhsm.ts';
import { OpensslPki } from '../../test/pki/openssl.ts';
import { Pkcs11KeyStore, type Pkcs11KeyStoreOptions } from './pkcs11-key-store.ts';
import { formatPkcs11Uri, parsePkcs11Uri } from './pkcs11-uri.ts';
import { expectCaErrorCode } from '../../test/support/ca-error.ts';

let hsm: SoftHsm;
let store: Pkcs11KeyStore;
const extra: Pkcs11KeyStore[] = [];

function options(over: Partial<Pkcs11KeyStoreOptions> = {}): Pkcs11KeyStoreOptions {
  return {
    modulePath: hsm.module,
    tokenLabel: hsm.label,
    readPin: async () => hsm.pin,
    retryIntervalMs: 50,
    ...over,
  };
}
function newStore(over: Partial<Pkcs11KeyStoreOptions> = {}): Pkcs11KeyStore {
  const s = new Pkcs11KeyStore(options(over));
  extra.push(s);
  return s;
}


const verifies = (spki: Uint8Array, alg: (typeof SIGNING_ALGORITHMS)[number], data: Buffer, sig: Uint8Array) =>
  verify(SIGNING_ALGORITHM_INFO[alg].nodeHash, data, { key: createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' }), dsaEncoding: 'der' }, sig);

beforeAll(async () => {
  hsm = await createSoftHsm('p11-adapter');
  store = new Pkcs11KeyStore(options());
});
afterAll(async () => {
  for (const s of extra) await s.close();
  await store?.close();
  await hsm?.cleanup();
});

describe('PKCS#11 URIs (RFC 7512)', () => {
  it('ok/ a generated key URI round-trips with its binary id and label', () => {
    const id = Buffer.from([0, 1, 0xfe, 0x25]);
    const uri = formatPkcs11Uri({ token: 'my token;x', id, object: 'privateca-abc' });
    expect(uri).toBe('pkcs11:token=my%20token%3bx;id=%00%01%fe%25;object=privateca-abc;type=private');
    const ref = parsePkcs11Uri(uri);
    expect(ref.id!.equals(id)).toBe(true);
    expect(ref.token).toBe('my token;x');
    expect(ref.object).toBe('privateca-abc');
  });
  it.each([
    ['pkcs11:id=%01?pin-value=1234', 'PINs are not accepted'],
    ['pkcs11:token=a', 'names no key'],
    ['pkcs11:id=%01;type=public', 'type must be private'],
    ['pkcs11:id=%zz', 'malformed'],
    ['pkcs11:id=%01;color=red', 'unknown attribute color'],
    ['software:1234', 'does not start with'],
  ])('fail/ %s is refused as invalid_key_uri', (uri, why) => {
    let err: unknown;
    try {
      parsePkcs11Uri(uri);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CaError);
    expect((err as CaError).code).toBe('invalid_key_uri');
    expect((err as CaError).detail).toContain(why);
  });
});

describe('keys on the token', () => {
  const created = new Map<KeyAlgorithm, string>();

  it.each(KEY_ALGORITHMS)('ok/ %s: generated on the token, signs with every matching algorithm, verifies with node:crypto', async (algorithm) => {
    const { keyUri } = await store.createKey({ algorithm, label: `privateca-test-${algorithm}` });
    created.set(algorithm, keyUri);
    expect(keyUri).toMatch(/^pkcs11:token=p11-adapter;id=(%[0-9a-f]{2}){16};object=privateca-test-.*;type=private$/);
    const signer = await store.getSigner(keyUri);
    expect(signer.keyAlgorithm).toBe(algorithm);
    const data = randomBytes(777);
    for (const alg of SIGNING_ALGORITHMS.filter((a) => SIGNING_ALGORITHM_INFO[a].family === KEY_ALGORITHM_INFO[algorithm].family)) {
      const sig = await signer.sign(alg, data);
      expect(verifies(signer.publicKeySpki, alg, data, sig), `${algorithm} ${alg}`).toBe(true);
      expect(verifies(signer.publicKeySpki, alg, Buffer.concat([data, Buffer.from([1])]), sig)).toBe(false);
    }
  }, 120_000);

  it('ok/ pkcs11-tool shows every generated private key as sensitive and never extractable, and reading its value fails', () => {
    const listing = hsm.tool(['--login', '--pin', hsm.pin, '--list-objects', '--type', 'privkey']);
    const blocks = listing.split(/(?=Private Key Object)/).filter((b) => b.includes('privateca-test-'));
    expect(blocks).toHaveLength(KEY_ALGORITHMS.length);
    for (const b of blocks) {
      expect(b).toMatch(/Access:\s+.*sensitive.*never extractable/);
      expect(b).toMatch(/Usage:\s+sign/);
    }
    // pkcs11-tool cannot read private keys at all, so ask the token directly for the secret parts.
    const p = new pkcs11js.PKCS11();
    p.load(hsm.module);
    try {
      p.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
    } catch (e) {
      expect((e as Error).message).toContain('CKR_CRYPTOKI_ALREADY_INITIALIZED');
    }
    const slot = p.C_GetSlotList(true).find((sl) => p.C_GetTokenInfo(sl).label.trim() === hsm.label)!;
    const session = p.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
    try {
      try {
        p.C_Login(session, pkcs11js.CKU_USER, hsm.pin);
      } catch (e) {
        expect((e as Error).message).toContain('CKR_USER_ALREADY_LOGGED_IN');
      }
      for (const [algorithm, uri] of created) {
        p.C_FindObjectsInit(session, [{ type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY }, { type: pkcs11js.CKA_ID, value: parsePkcs11Uri(uri).id! }]);
        const [key] = p.C_FindObjects(session, 2);
        p.C_FindObjectsFinal(session);
        const secret = KEY_ALGORITHM_INFO[algorithm].family === 'EC' ? pkcs11js.CKA_VALUE : pkcs11js.CKA_PRIVATE_EXPONENT;
        expect(() => p.C_GetAttributeValue(session, key!, [{ type: secret }]), algorithm).toThrow(/CKR_ATTRIBUTE_SENSITIVE/);
        expect(() => p.C_SetAttributeValue(session, key!, [{ type: pkcs11js.CKA_EXTRACTABLE, value: true }]), algorithm).toThrow(/CKR_/);
      }
    } finally {
      p.C_CloseSession(session);
    }
  });

  it('ok/ a large message (a big CRL), whole or in pieces, is signed in parts and verifies', async () => {
    for (const algorithm of ['EC_prime256v1', 'RSA_2048'] as const) {
      const signer = await store.getSigner(created.get(algorithm)!);
      const data = randomBytes(3 * 1024 * 1024 + 17);
      const alg = KEY_ALGORITHM_INFO[algorithm].defaultSigning;
      expect(verifies(signer.publicKeySpki, alg, data, await signer.sign(alg, data))).toBe(true);
      const pieces = [data.subarray(0, 5), data.subarray(5, 2_500_000), data.subarray(2_500_000)];
      expect(verifies(signer.publicKeySpki, alg, data, await signer.sign(alg, pieces))).toBe(true);
      // Read as they go, as the updater feeds a large CRL back from the database.
      const streamed = await signer.sign(alg, { [Symbol.asyncIterator]: async function* () { yield* pieces; } });
      expect(verifies(signer.publicKeySpki, alg, data, streamed)).toBe(true);
      expect(verifies(signer.publicKeySpki, alg, data.subarray(5), streamed)).toBe(false);
    }
  });

  it('fail/ input that fails while it is read gives its own error, and the session signs again afterwards', async () => {
    for (const algorithm of ['EC_prime256v1', 'RSA_2048'] as const) {
      const signer = await store.getSigner(created.get(algorithm)!);
      const alg = KEY_ALGORITHM_INFO[algorithm].defaultSigning;
      const broken = new Error('piece 2 could not be read');
      const failing = { [Symbol.asyncIterator]: async function* () { yield randomBytes(2_000_000); throw broken; } };
      await expect(signer.sign(alg, failing)).rejects.toBe(broken);
      // Every pooled session is still usable: none was left in the middle of a signature.
      const data = randomBytes(1000);
      const sigs = await Promise.all(Array.from({ length: 16 }, () => signer.sign(alg, [data.subarray(0, 10), data.subarray(10)])));
      for (const sig of sigs) expect(verifies(signer.publicKeySpki, alg, data, sig)).toBe(true);
    }
  });

  it('ok/ an operator key named by URI is used; a key that can be exported is refused', async () => {
    hsm.tool(['--login', '--pin', hsm.pin, '--keypairgen', '--key-type', 'EC:secp384r1', '--id', 'a1b2', '--label', 'operator-key', '--usage-sign', '--sensitive']);
    const signer = await store.getSigner('pkcs11:object=operator-key;type=private');
    expect(signer.keyAlgorithm).toBe('EC_secp384r1');
    const data = Buffer.from('tbs');
    expect(verifies(signer.publicKeySpki, 'SHA384WITHECDSA', data, await signer.sign('SHA384WITHECDSA', data))).toBe(true);
    // The same key by id, with the token named.
    expect((await store.getSigner(`pkcs11:token=${hsm.label};id=%a1%b2`)).publicKeySpki).toEqual(signer.publicKeySpki);

    hsm.tool(['--login', '--pin', hsm.pin, '--keypairgen', '--key-type', 'EC:prime256v1', '--id', 'c3', '--label', 'leaky', '--usage-sign', '--extractable']);
    const e = await expectCaErrorCode(store.getSigner('pkcs11:object=leaky'));
    expect(e.code).toBe('key_extractable');
  });

  it('fail/ unknown key, another token, ambiguous label', async () => {
    expect((await expectCaErrorCode(store.getSigner('pkcs11:object=nope'))).code).toBe('key_not_found');
    expect((await expectCaErrorCode(store.getSigner('pkcs11:token=other;object=operator-key'))).code).toBe('invalid_key_uri');
    expect((await store.keyStatus('pkcs11:object=nope')).state).toBe('UNAVAILABLE');
    expect((await store.keyStatus('pkcs11:object=operator-key')).state).toBe('AVAILABLE');
  });

  it.each([false, true])('ok/ 64 concurrent signatures over 4 pooled sessions all succeed (syncSign %s)', async (syncSign) => {
    const pooled = newStore({ maxSessions: 4, syncSign });
    const signer = await pooled.getSigner(created.get('EC_prime256v1')!);
    const data = Array.from({ length: 64 }, (_, i) => Buffer.from(`certificate ${i}`));
    const sigs = await Promise.all(data.map((d) => signer.sign('SHA256WITHECDSA', d)));
    sigs.forEach((sig, i) => expect(verifies(signer.publicKeySpki, 'SHA256WITHECDSA', data[i]!, sig)).toBe(true));
  });

  it('ok/ an EC signature from the token verifies with openssl dgst', async () => {
    const pki = new OpensslPki();
    try {
      const signer = await store.getSigner(created.get('EC_secp521r1')!);
      const data = randomBytes(1000);
      const sig = await signer.sign('SHA512WITHECDSA', data);
      const pub = createPublicKey({ key: Buffer.from(signer.publicKeySpki), format: 'der', type: 'spki' }).export({ format: 'pem', type: 'spki' }) as string;
      await writeFile(path.join(pki.dir, 'pub.pem'), pub);
      await writeFile(path.join(pki.dir, 'data'), data);
      await writeFile(path.join(pki.dir, 'sig'), sig);
      expect(pki.ok(['dgst', '-sha512', '-verify', 'pub.pem', '-signature', 'sig', 'data'])).toContain('Verified OK');
      await writeFile(path.join(pki.dir, 'data'), Buffer.concat([data, Buffer.from('x')]));
      expect(pki.run(['dgst', '-sha512', '-verify', 'pub.pem', '-signature', 'sig', 'data']).out).toContain('Verification failure');
    } finally {
      await rm(pki.dir, { recursive: true, force: true });
    }
  });

  it('ok/ deleteKey destroys a generated key pair, never an operator key', async () => {
    const { keyUri } = await store.createKey({ algorithm: 'EC_prime256v1', label: 'privateca-doomed' });
    await store.getSigner(keyUri);
    await store.deleteKey(keyUri);
    expect((await expectCaErrorCode(store.getSigner(keyUri))).code).toBe('key_not_found');
    expect(hsm.tool(['--login', '--pin', hsm.pin, '--list-objects'])).not.toContain('privateca-doomed');
    await store.deleteKey('pkcs11:object=operator-key');
    expect((await store.keyStatus('pkcs11:object=operator-key')).state).toBe('AVAILABLE');
  });
});

describe('outages and recovery without a restart', () => {
  it('fail/ a wrong PIN is reported, not retried until it changes, and the right one recovers', async () => {
    let pin = '000000';
    let reads = 0;
    // A module instance of its own: a PKCS#11 login is per application, and other stores here are logged in.
    const own = path.join(hsm.dir, 'libsofthsm2-pin.so');
    await copyFile(hsm.module, own);
    const s = newStore({
      modulePath: own,
      readPin: async () => {
        reads++;
        return pin;
      },
    });
    const keyUri = 'pkcs11:object=operator-key';
    const e = await expectCaErrorCode(s.getSigner(keyUri));
    expect(e.kind).toBe('unavailable');
    expect(e.code).toBe('key_store_unavailable');
    expect(e.detail).toContain('rejected the configured PIN');
    expect(e.detail).not.toContain('000000');
    await new Promise((r) => setTimeout(r, 60));
    const status = await s.keyStatus(keyUri);
    expect(status).toEqual({ state: 'UNAVAILABLE', reason: expect.stringContaining('not tried again until it changes') });
    expect(reads).toBe(2);
    pin = hsm.pin;
    await new Promise((r) => setTimeout(r, 60));
    expect(await s.keyStatus(keyUri)).toEqual({ state: 'AVAILABLE' });
    expect((await s.getSigner(keyUri)).keyAlgorithm).toBe('EC_secp384r1');
  });

  it('fail/ a PIN file that cannot be read is reported with the reason, and recovers when it appears', async () => {
    const pinFile = path.join(hsm.dir, 'pin-later');
    const { readFile } = await import('node:fs/promises');
    const s = newStore({ readPin: async () => (await readFile(pinFile, 'utf8')).trim() });
    const e = await expectCaErrorCode(s.getSigner('pkcs11:object=operator-key'));
    expect(e.detail).toContain('cannot be read (ENOENT)');
    await writeFile(pinFile, hsm.pin);
    await new Promise((r) => setTimeout(r, 60));
    expect(await s.keyStatus('pkcs11:object=operator-key')).toEqual({ state: 'AVAILABLE' });
  });

  it('fail/ a missing module gives key_store_unavailable; the module appearing is picked up', async () => {
    const later = path.join(hsm.dir, 'libsofthsm2-later.so');
    const s = newStore({ modulePath: later });
    const e = await expectCaErrorCode(s.getSigner('pkcs11:object=operator-key'));
    expect(e.code).toBe('key_store_unavailable');
    expect(e.detail).toContain(`PKCS#11 module ${later} cannot be loaded`);
    expect((await s.keyStatus('pkcs11:object=operator-key')).reason).toContain('cannot be loaded');
    await copyFile(hsm.module, later);
    try {
      await new Promise((r) => setTimeout(r, 60));
      expect(await s.keyStatus('pkcs11:object=operator-key')).toEqual({ state: 'AVAILABLE' });
    } finally {
      await s.close();
      await rm(later);
    }
  });

  it('fail/ the token going away fails signatures with the reason; its return is picked up', async () => {
    const s = newStore();
    const signer = await s.getSigner('pkcs11:object=operator-key');
    await signer.sign('SHA384WITHECDSA', Buffer.from('before'));
    const bringBack = await hsm.removeToken();
    let restored = false;
    try {
      const e = await expectCaErrorCode(signer.sign('SHA384WITHECDSA', Buffer.from('while away')));
      expect(e.kind).toBe('unavailable');
      expect(e.code).toBe('key_store_unavailable');
      expect(e.detail).toMatch(/p11-adapter/);
      const status = await s.keyStatus('pkcs11:object=operator-key');
      expect(status.state).toBe('UNAVAILABLE');
      expect(status.reason).toMatch(/token "p11-adapter"/);
      await bringBack();
      restored = true;
      await new Promise((r) => setTimeout(r, 60));
      const data = Buffer.from('after');
      expect(verifies(signer.publicKeySpki, 'SHA384WITHECDSA', data, await signer.sign('SHA384WITHECDSA', data))).toBe(true);
      expect(await s.keyStatus('pkcs11:object=operator-key')).toEqual({ state: 'AVAILABLE' });
    } finally {
      if (!restored) await bringBack();
    }
  });
});
