import { writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePkcs11Uri } from '../../hsm-adapters/pkcs11/pkcs11-uri.ts';
import { OpensslPki } from '../pki/openssl.ts';
import { createSoftHsm, type SoftHsm } from '../support/softhsm.ts';
import { startService, type TestService } from '../support/service.ts';

/** The service with its CA keys on a SoftHSM2 token: concurrency, outages and recovery over HTTP. */
describe('CA keys on a PKCS#11 token (SoftHSM2)', () => {
  let hsm: SoftHsm;
  let svc: TestService;
  let caId: string;
  let rootFile: string;
  const pki = new OpensslPki();

  beforeAll(async () => {
    hsm = await createSoftHsm('service-token');
    svc = await startService('pg', { ...hsm.env, PRIVATECA_PKCS11_SESSIONS: '4', PRIVATECA_PKCS11_SIGN: 'sync' });
    const ca = await svc.api('POST', '/v1/cas', {
      type: 'ROOT',
      subject: { commonName: 'HSM Root' },
      keyAlgorithm: 'EC_prime256v1',
      keyStore: { type: 'pkcs11' },
    });
    expect(ca.status, ca.text).toBe(201);
    caId = ca.body.id;
    rootFile = pki.file('hsm-root.pem', (await svc.api('GET', `/v1/cas/${caId}/certificate`)).body.certificate);
  }, 60_000);
  afterAll(async () => {
    await svc?.close();
    await hsm?.cleanup();
  });

  const csr = pki.csr({ subject: '/CN=svc.hsm.internal', san: 'DNS:svc.hsm.internal' }).csr;
  const issue = () => svc.api('POST', `/v1/cas/${caId}/certificates`, { csr, validity: { days: 1 } });

  it('ok/ the CA key is on the token, private, sensitive and never extractable; its URI is stored, no key material', async () => {
    const { rows } = await svc.db.query<{ key_uri: string }>('SELECT key_uri FROM cas WHERE id = $1', [caId]);
    const ref = parsePkcs11Uri(rows[0]!.key_uri);
    expect(ref.token).toBe('service-token');
    const listing = hsm.tool(['--login', '--pin', hsm.pin, '--list-objects', '--type', 'privkey', '--id', ref.id!.toString('hex')]);
    expect(listing).toContain(`privateca-${caId}`);
    expect(listing).toMatch(/Access:\s+sensitive, always sensitive, never extractable, local/);
    // The only software key is the audit key (PRIVATECA_AUDIT_KEY_STORE is software by default).
    const { rows: keys } = await svc.db.query<{ n: string }>("SELECT count(*)::text AS n FROM software_keys WHERE 'software:' || id NOT IN (SELECT key_uri FROM audit_keys)");
    expect(keys[0]!.n).toBe('0');
  });

  it('ok/ 64 concurrent issuances over 4 sessions all succeed and verify', async () => {
    const results = await Promise.all(Array.from({ length: 64 }, () => issue()));
    for (const r of results) expect(r.status, r.text).toBe(201);
    expect(new Set(results.map((r) => r.body.serial)).size).toBe(64);
    for (const r of results.slice(0, 8)) expect(pki.verify({ rootFile, leafPem: r.body.certificate }).out).toMatch(/: OK\s*$/);
  });

  it('fail/ token gone → 503 key_store_unavailable and the CA says why; token back → issuing again without a restart', async () => {
    const bringBack = await hsm.removeToken();
    let back = false;
    try {
      const r = await issue();
      expect(r.status).toBe(503);
      expect(r.headers.get('content-type')).toContain('application/problem+json');
      expect(r.body.code).toBe('key_store_unavailable');
      expect(r.body.detail).toContain('token "service-token"');
      const ca = await svc.api('GET', `/v1/cas/${caId}`);
      expect(ca.status).toBe(200);
      expect(ca.body.keyStore.status).toBe('UNAVAILABLE');
      expect(ca.body.keyStore.reason).toContain('token "service-token"');
      await bringBack();
      back = true;
      let again = await issue();
      for (let i = 0; i < 50 && again.status === 503; i++) {
        await new Promise((res) => setTimeout(res, 100));
        again = await issue();
      }
      expect(again.status, again.text).toBe(201);
      expect(pki.verify({ rootFile, leafPem: again.body.certificate }).out).toMatch(/: OK\s*$/);
      expect((await svc.api('GET', `/v1/cas/${caId}`)).body.keyStore).toEqual({ type: 'pkcs11', status: 'AVAILABLE' });
    } finally {
      if (!back) await bringBack();
    }
  }, 30_000);

  it('fail/ a wrong PIN in the PIN file → 503 with the reason (no PIN in it); the corrected file recovers without a restart', async () => {
    // A second service on the same token, own PIN file, own module copy so that the first one's login does not count.
    const { copyFile } = await import('node:fs/promises');
    const module = `${hsm.dir}/libsofthsm2-second.so`;
    await copyFile(hsm.module, module);
    const pinFile = `${hsm.dir}/second-pin`;
    await writeFile(pinFile, '999999\n');
    const other = await startService('pg', { ...hsm.env, PRIVATECA_PKCS11_MODULE: module, PRIVATECA_PKCS11_PIN_FILE: pinFile });
    try {
      const create = () => other.api('POST', '/v1/cas', { type: 'ROOT', subject: { commonName: 'PIN Root' }, keyAlgorithm: 'EC_prime256v1', keyStore: { type: 'pkcs11' } });
      const refused = await create();
      expect(refused.status).toBe(503);
      expect(refused.body.code).toBe('key_store_unavailable');
      expect(refused.body.detail).toContain('rejected the configured PIN');
      expect(refused.text).not.toContain('999999');
      expect((await other.api('GET', '/v1/cas')).body.items).toHaveLength(0);
      await writeFile(pinFile, `${hsm.pin}\n`);
      let ok = await create();
      for (let i = 0; i < 40 && ok.status === 503; i++) {
        await new Promise((res) => setTimeout(res, 100));
        ok = await create();
      }
      expect(ok.status, ok.text).toBe(201);
    } finally {
      await other.close();
    }
  }, 30_000);
});
