import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePkcs11Uri } from '../../hsm-adapters/pkcs11/pkcs11-uri.ts';
import { OpensslPki } from '../pki/openssl.ts';
import { createSoftHsm, type SoftHsm } from '../support/softhsm.ts';
import { startService, type TestService } from '../support/service.ts';

/*
 * The audit key on a PKCS#11 token (PRIVATECA_AUDIT_KEY_STORE=pkcs11, SoftHSM2): made there on first
 * start, never extractable, only its URI and public key in the database; the checkpoints it signs
 * verify, with openssl over the text docs/audit.md defines, and so do reports.
 */
describe('the audit key on a PKCS#11 token (SoftHSM2)', () => {
  let hsm: SoftHsm;
  let svc: TestService;
  const pki = new OpensslPki();

  beforeAll(async () => {
    hsm = await createSoftHsm('audit-token');
    svc = await startService('pg', { ...hsm.env, PRIVATECA_PKCS11_SIGN: 'sync', PRIVATECA_AUDIT_KEY_STORE: 'pkcs11' });
  }, 60_000);
  afterAll(async () => {
    await svc?.close();
    await hsm?.cleanup();
  });

  it('ok/the key is on the token, never extractable; the database holds its URI and public key only', async () => {
    const { rows } = await svc.db.query<{ key_uri: string }>('SELECT key_uri FROM audit_keys');
    expect(rows).toHaveLength(1);
    const ref = parsePkcs11Uri(rows[0]!.key_uri);
    expect(ref.token).toBe('audit-token');
    const listing = hsm.tool(['--login', '--pin', hsm.pin, '--list-objects', '--type', 'privkey', '--id', ref.id!.toString('hex')]);
    expect(listing).toContain('privateca-audit');
    expect(listing).toMatch(/Access:\s+sensitive, always sensitive, never extractable, local/);
    const { rows: soft } = await svc.db.query<{ n: string }>('SELECT count(*)::text AS n FROM software_keys');
    expect(soft[0]!.n).toBe('0');
  });

  it('ok/a checkpoint signed on the token verifies with openssl over the documented text, and the chain verifies', async () => {
    const ca = await svc.api('POST', '/v1/cas', { type: 'ROOT', subject: { commonName: 'Audit HSM Root' }, keyAlgorithm: 'EC_prime256v1' });
    expect(ca.status, ca.text).toBe(201);
    const r = await svc.api('POST', `/v1/cas/${ca.body.id}/certificates`, { csr: pki.csr({ subject: '/CN=a.hsm.internal' }).csr, validity: { days: 1 } });
    expect(r.status, r.text).toBe(201);
    const { checkpoint } = await svc.node.sealer.sealNow();
    expect(checkpoint?.size).toBeGreaterThanOrEqual(3);
    const c = (await svc.api('GET', '/v1/audit/checkpoints/latest')).body;
    expect(c.size).toBe(checkpoint!.size);
    const pub = pki.file('audit-hsm.pub', (await svc.api('GET', '/v1/audit/public-key')).text);
    const text = pki.file('checkpoint.txt', `privateca audit checkpoint v1\nsize ${c.size}\nhash ${c.hash}\ntime ${c.time}\n`);
    const sig = pki.file('checkpoint.sig');
    writeFileSync(sig, Buffer.from(c.signature, 'base64'));
    expect(pki.ok(['dgst', '-sha256', '-verify', pub, '-signature', sig, text]).trim()).toBe('Verified OK');
    expect((await svc.api('GET', '/v1/audit/verify')).body).toMatchObject({ ok: true, events: c.size, checkpoint: { size: c.size, keyId: c.keyId } });
  });
});
