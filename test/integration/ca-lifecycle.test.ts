import { createPrivateKey, randomBytes, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpensslPki } from '../pki/openssl.ts';
import { DRIVERS, startService, type TestService } from '../support/service.ts';

/*
 * The CA lifecycle of docs/api.md: list and describe, PATCH (status, tags, CRL settings), DELETE and
 * restore, pagination of both lists, idempotent issuance, renewal of a subordinate's certificate,
 * and the audit trail each step leaves.
 */

const DAY = 86_400_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const RFC3339_UTC = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

const pki = new OpensslPki();
let csrA: string;
let csrB: string;
let outsideRoot: ReturnType<OpensslPki['root']>;
beforeAll(() => {
  csrA = pki.csr({ subject: '/CN=a.acme.internal', san: 'DNS:a.acme.internal' }).csr;
  csrB = pki.csr({ subject: '/CN=b.acme.internal', san: 'DNS:b.acme.internal' }).csr;
  outsideRoot = pki.root({ subject: '/O=Outside/CN=Outside Root for Lifecycle', days: 60 });
});

/** The CRL distribution point URIs of a certificate, as `openssl x509 -text` shows them. */
function crlDistributionPoints(pem: string): string[] {
  const text = pki.text(pem);
  const at = text.indexOf('X509v3 CRL Distribution Points:');
  if (at < 0) return [];
  const block = text.slice(at).split('\n').slice(1);
  const uris: string[] = [];
  for (const line of block) {
    if (line.trim() === '' || /^\s+Full Name:/.test(line)) continue;
    const m = /^\s+URI:(\S+)\s*$/.exec(line);
    if (!m) break;
    uris.push(m[1]!);
  }
  return uris;
}

const stripPem = (pem: string) => pem.replace(/\s+/g, '');

/**
 * Signs a CA certificate for `csrPem` with the (P-256) outside root that expires `seconds` from now,
 * which `openssl x509 -req -days` cannot make: to see a CA become EXPIRED while the test runs.
 */
async function signExpiringSoon(csrPem: string, seconds: number): Promise<{ pem: string; notAfter: Date }> {
  const crypto = webcrypto as unknown as Crypto;
  const req = new x509.Pkcs10CertificateRequest(csrPem);
  const rootCert = new x509.X509Certificate(outsideRoot.cert);
  const pkcs8 = createPrivateKey(pki.read(outsideRoot.key)).export({ format: 'der', type: 'pkcs8' });
  const signingKey = await crypto.subtle.importKey('pkcs8', pkcs8, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
  const notAfter = new Date(Math.ceil(Date.now() / 1000) * 1000 + seconds * 1000);
  const cert = await x509.X509CertificateGenerator.create(
    {
      serialNumber: '01' + randomBytes(15).toString('hex'),
      subject: req.subjectName,
      issuer: rootCert.subjectName,
      notBefore: new Date(Date.now() - 60_000),
      notAfter,
      publicKey: req.publicKey,
      signingKey,
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' } as EcdsaParams,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
        await x509.SubjectKeyIdentifierExtension.create(req.publicKey, false, crypto),
        await x509.AuthorityKeyIdentifierExtension.create(rootCert.publicKey, false, crypto),
      ],
    },
    crypto,
  );
  return { pem: cert.toString('pem'), notAfter };
}

describe.each(DRIVERS)('CA lifecycle (%s)', (driver) => {
  let svc: TestService;

  const expectProblem = (res: { status: number; headers: Headers; body: any }, status: number, code?: string) => {
    expect(res.status, JSON.stringify(res.body)).toBe(status);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ status, type: expect.any(String), title: expect.any(String), detail: expect.any(String) });
    if (code) expect(res.body.code).toBe(code);
    else expect(res.body.code).toMatch(/^[a-z][a-z0-9_]*$/);
  };

  const createRoot = async (extra: Record<string, unknown> = {}, commonName = 'Lifecycle Root'): Promise<any> => {
    const res = await svc.api('POST', '/v1/cas', { type: 'ROOT', subject: { commonName }, keyAlgorithm: 'EC_prime256v1', ...extra });
    expect(res.status, res.text).toBe(201);
    return res.body;
  };

  const createPending = async (): Promise<any> => {
    const res = await svc.api('POST', '/v1/cas', { type: 'SUBORDINATE', subject: { commonName: 'Pending Sub', organization: 'Acme' }, keyAlgorithm: 'EC_prime256v1' });
    expect(res.status, res.text).toBe(201);
    expect(res.body.status).toBe('PENDING_CERTIFICATE');
    return res.body;
  };

  const issue = (caId: string, body: Record<string, unknown> = {}) =>
    svc.api('POST', `/v1/cas/${caId}/certificates`, { csr: csrA, validity: { days: 5 }, ...body });

  const auditActions = async (caId: string): Promise<string[]> => {
    const r = await svc.db.query<{ action: string }>("SELECT action FROM audit_events WHERE resource = 'ca/' || $1 ORDER BY id", [caId]);
    return r.rows.map((x) => x.action);
  };

  const countCertificates = async (caId: string): Promise<number> => {
    const r = await svc.db.query<{ n: string }>('SELECT count(*)::text AS n FROM certificates WHERE ca_id = $1', [caId]);
    return Number(r.rows[0]!.n);
  };

  /** Follows nextCursor from the first page to the end; returns the pages. */
  const pages = async (path: string, limit: number): Promise<any[][]> => {
    const out: any[][] = [];
    let cursor: string | null = null;
    for (let i = 0; i < 200; i++) {
      const sep = path.includes('?') ? '&' : '?';
      const res = await svc.api('GET', `${path}${sep}limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      expect(res.status, res.text).toBe(200);
      expect(Object.keys(res.body).sort()).toEqual(['items', 'nextCursor']);
      expect(res.body.items.length).toBeLessThanOrEqual(limit);
      out.push(res.body.items);
      cursor = res.body.nextCursor;
      if (cursor === null) return out;
      expect(typeof cursor).toBe('string');
    }
    throw new Error('pagination did not end');
  };

  beforeAll(async () => {
    svc = await startService(driver);
  });
  afterAll(() => svc?.close());

  /** A subordinate CA whose certificate expires a few seconds into the run; the last test sees it EXPIRED. */
  let expiring: { id: string; notAfter: Date };

  it('ok/a subordinate whose certificate expires in seconds imports ACTIVE; validity past its notAfter → 400 validity_exceeds_ca', async () => {
    const created = await svc.api('POST', '/v1/cas', { type: 'SUBORDINATE', subject: { commonName: 'Short-lived Issuing CA' }, keyAlgorithm: 'EC_prime256v1' });
    expect(created.status, created.text).toBe(201);
    const csr = (await svc.api('GET', `/v1/cas/${created.body.id}/csr`)).body.csr as string;
    const signed = await signExpiringSoon(csr, 3);
    const imported = await svc.api('POST', `/v1/cas/${created.body.id}/certificate`, { certificate: signed.pem, chain: outsideRoot.cert });
    expect(imported.status, imported.text).toBe(200);
    expect(imported.body.status).toBe('ACTIVE');
    expect(new Date(imported.body.notAfter).getTime()).toBe(signed.notAfter.getTime());
    expiring = { id: created.body.id, notAfter: signed.notAfter };

    expectProblem(await issue(expiring.id, { validity: { days: 1 } }), 400, 'validity_exceeds_ca');
    const within = await issue(expiring.id, { validity: { notAfter: signed.notAfter.toISOString() } });
    expect(within.status, within.text).toBe(201);
    expect(new Date(within.body.notAfter).getTime()).toBe(signed.notAfter.getTime());
  });

  it('ok/a created CA is described by GET /v1/cas/{id} and listed by GET /v1/cas', async () => {
    const created = await createRoot(
      {
        subject: { commonName: 'Described Root', organization: 'Acme', country: 'US' },
        revocation: { crl: { enabled: true, baseUrl: 'http://crl.acme.internal', validityHours: 12 } },
        tags: { team: 'pki', env: 'test' },
      },
    );
    expect(created).toMatchObject({
      type: 'ROOT',
      status: 'ACTIVE',
      subject: { commonName: 'Described Root', organization: 'Acme', country: 'US' },
      keyAlgorithm: 'EC_prime256v1',
      signingAlgorithm: 'SHA256WITHECDSA',
      keyStore: { type: 'software' },
      revocation: { crl: { enabled: true, baseUrl: 'http://crl.acme.internal', validityHours: 12 } },
      tags: { team: 'pki', env: 'test' },
    });
    expect(created.id).toMatch(UUID);
    expect(created.serial).toMatch(/^([0-9a-f]{2})+$/);
    for (const k of ['notBefore', 'notAfter', 'createdAt', 'updatedAt']) expect(created[k], k).toMatch(RFC3339_UTC);
    expect(created.restorableUntil).toBeUndefined();

    const got = await svc.api('GET', `/v1/cas/${created.id}`);
    expect(got.status).toBe(200);
    expect(got.body).toEqual(created);

    const listed = await svc.api('GET', '/v1/cas');
    expect(listed.status).toBe(200);
    expect(listed.body.nextCursor).toBeNull();
    expect(listed.body.items.filter((c: any) => c.id === created.id)).toEqual([created]);

    const pending = await createPending();
    expect(pending.serial).toBeUndefined();
    expect(pending.notAfter).toBeUndefined();
    expect((await svc.api('GET', `/v1/cas/${pending.id}`)).body).toEqual(pending);

    expectProblem(await svc.api('GET', '/v1/cas/00000000-0000-4000-8000-000000000000'), 404, 'ca_not_found');
    // UUIDs compare case-insensitively (RFC 4122 3): the upper-case id names the same CA.
    expect((await svc.api('GET', `/v1/cas/${created.id.toUpperCase()}`)).body).toEqual(created);
    expectProblem(await svc.api('GET', '/v1/cas/not-a-uuid'), 400, 'invalid_id');
  });

  it('ok/PATCH status ACTIVE → DISABLED stops issuance (409 ca_not_active), DISABLED → ACTIVE resumes it', async () => {
    const ca = await createRoot();
    expect((await issue(ca.id)).status).toBe(201);

    const disabled = await svc.api('PATCH', `/v1/cas/${ca.id}`, { status: 'DISABLED' });
    expect(disabled.status, disabled.text).toBe(200);
    expect(disabled.body.status).toBe('DISABLED');
    expect(new Date(disabled.body.updatedAt).getTime()).toBeGreaterThanOrEqual(new Date(ca.updatedAt).getTime());
    expect((await svc.api('GET', `/v1/cas/${ca.id}`)).body.status).toBe('DISABLED');
    const before = await countCertificates(ca.id);
    expectProblem(await issue(ca.id), 409, 'ca_not_active');
    expectProblem(await issue(ca.id, { idempotencyToken: 'while-disabled' }), 409, 'ca_not_active');
    expect(await countCertificates(ca.id)).toBe(before);

    const active = await svc.api('PATCH', `/v1/cas/${ca.id}`, { status: 'ACTIVE' });
    expect(active.status, active.text).toBe(200);
    expect(active.body.status).toBe('ACTIVE');
    expect((await issue(ca.id)).status).toBe(201);
    expect(await countCertificates(ca.id)).toBe(before + 1);
  });

  it('fail/PATCH status of a PENDING_CERTIFICATE CA → 409 invalid_state; bad PATCH bodies → 400; nothing changes', async () => {
    const pending = await createPending();
    for (const status of ['ACTIVE', 'DISABLED']) {
      expectProblem(await svc.api('PATCH', `/v1/cas/${pending.id}`, { status }), 409, 'invalid_state');
    }
    expectProblem(await issue(pending.id), 409, 'ca_not_active');

    const ca = await createRoot({ tags: { keep: 'me' } });
    for (const body of [{ status: 'DELETED' }, { status: 'PENDING_CERTIFICATE' }, { status: 'active' }, { colour: 'blue' }, { tags: { k: 1 } }]) {
      expectProblem(await svc.api('PATCH', `/v1/cas/${ca.id}`, body), 400);
    }
    expectProblem(await svc.api('PATCH', '/v1/cas/00000000-0000-4000-8000-000000000000', { status: 'DISABLED' }), 404, 'ca_not_found');
    expect((await svc.api('GET', `/v1/cas/${pending.id}`)).body).toEqual(pending);
    expect((await svc.api('GET', `/v1/cas/${ca.id}`)).body).toEqual(ca);
    expect(await auditActions(pending.id)).toEqual(['privateca:CreateCertificateAuthority']);
    expect(await auditActions(ca.id)).toEqual(['privateca:CreateCertificateAuthority']);
  });

  it('ok/PATCH tags replaces them (also on a pending CA) and leaves the status alone', async () => {
    const ca = await createRoot({ tags: { team: 'pki' } });
    const patched = await svc.api('PATCH', `/v1/cas/${ca.id}`, { tags: { team: 'platform', costCenter: '42' } });
    expect(patched.status, patched.text).toBe(200);
    expect(patched.body.tags).toEqual({ team: 'platform', costCenter: '42' });
    expect(patched.body.status).toBe('ACTIVE');
    expect((await svc.api('GET', `/v1/cas/${ca.id}`)).body.tags).toEqual({ team: 'platform', costCenter: '42' });

    const pending = await createPending();
    const p = await svc.api('PATCH', `/v1/cas/${pending.id}`, { tags: { stage: 'waiting' } });
    expect(p.status, p.text).toBe(200);
    expect(p.body).toMatchObject({ status: 'PENDING_CERTIFICATE', tags: { stage: 'waiting' } });
  });

  it('ok/PATCH revocation.crl baseUrl: new certificates (leaf and CA) carry the new CRL DP URL, checked with openssl', async () => {
    const ca = await createRoot({ revocation: { crl: { enabled: true, baseUrl: 'http://crl-a.acme.internal' } } });
    const rootPem = (await svc.api('GET', `/v1/cas/${ca.id}/certificate`)).body.certificate as string;
    const rootFile = pki.file(`lifecycle-root-${ca.id}.pem`, rootPem);

    const first = await issue(ca.id);
    expect(first.status, first.text).toBe(201);
    expect(crlDistributionPoints(first.body.certificate)).toEqual([`http://crl-a.acme.internal/crl/${ca.id}.crl`]);

    const patched = await svc.api('PATCH', `/v1/cas/${ca.id}`, { revocation: { crl: { baseUrl: 'http://crl-b.acme.internal' } } });
    expect(patched.status, patched.text).toBe(200);
    expect(patched.body.revocation.crl).toMatchObject({ enabled: true, baseUrl: 'http://crl-b.acme.internal' });
    expect((await svc.api('GET', `/v1/cas/${ca.id}`)).body.revocation).toEqual(patched.body.revocation);

    const leaf = await issue(ca.id);
    expect(leaf.status, leaf.text).toBe(201);
    expect(crlDistributionPoints(leaf.body.certificate)).toEqual([`http://crl-b.acme.internal/crl/${ca.id}.crl`]);
    const sub = await issue(ca.id, { csr: csrB, template: 'SubordinateCACertificate_PathLen0/V1' });
    expect(sub.status, sub.text).toBe(201);
    expect(crlDistributionPoints(sub.body.certificate)).toEqual([`http://crl-b.acme.internal/crl/${ca.id}.crl`]);
    const v = pki.verify({ rootFile, chainPem: leaf.body.chain, leafPem: leaf.body.certificate });
    expect(v.out).toMatch(/: OK\s*$/);

    // What was issued before keeps its URL.
    const old = await svc.api('GET', `/v1/cas/${ca.id}/certificates/${first.body.serial}`);
    expect(crlDistributionPoints(old.body.certificate)).toEqual([`http://crl-a.acme.internal/crl/${ca.id}.crl`]);

    // With CRLs turned off there is no CRL to point to.
    const off = await svc.api('PATCH', `/v1/cas/${ca.id}`, { revocation: { crl: { enabled: false } } });
    expect(off.status, off.text).toBe(200);
    expect(off.body.revocation.crl.enabled).toBe(false);
    const none = await issue(ca.id);
    expect(crlDistributionPoints(none.body.certificate)).toEqual([]);
  });

  it('ok/a CA with CRLs enabled but no baseUrl names the service\'s public URL in its certificates, with a warning while that is a loopback address', async () => {
    const created = await svc.api('POST', '/v1/cas', { type: 'ROOT', subject: { commonName: 'No Base URL' }, keyAlgorithm: 'EC_prime256v1', revocation: { crl: { enabled: true } } });
    expect(created.status, created.text).toBe(201);
    expect(created.body.warnings).toEqual([expect.stringContaining(svc.url)]);
    const leaf = await issue(created.body.id);
    expect(leaf.status, leaf.text).toBe(201);
    expect(crlDistributionPoints(leaf.body.certificate)).toEqual([`${svc.url}/crl/${created.body.id}.crl`]);
    // Only the answers to a change carry warnings.
    expect((await svc.api('GET', `/v1/cas/${created.body.id}`)).body.warnings).toBeUndefined();
    const patched = await svc.api('PATCH', `/v1/cas/${created.body.id}`, { revocation: { crl: { baseUrl: 'http://crl.acme.internal' } } });
    expect(patched.body.warnings).toBeUndefined();
  });

  it('ok/DELETE (default 30 days): DELETED, listed, issues nothing, PATCH 409; restore → ACTIVE and issuing again', async () => {
    const ca = await createRoot();
    const t0 = Date.now();
    const del = await svc.api('DELETE', `/v1/cas/${ca.id}`);
    const t1 = Date.now();
    expect(del.status, del.text).toBe(200);
    expect(del.body).toMatchObject({ id: ca.id, status: 'DELETED' });
    expect(del.body.restorableUntil).toMatch(RFC3339_UTC);
    const until = new Date(del.body.restorableUntil).getTime();
    expect(until).toBeGreaterThanOrEqual(t0 + 30 * DAY - 1000);
    expect(until).toBeLessThanOrEqual(t1 + 30 * DAY + 1000);

    expect((await svc.api('GET', `/v1/cas/${ca.id}`)).body).toMatchObject({ status: 'DELETED', restorableUntil: del.body.restorableUntil });
    const listed = await svc.api('GET', '/v1/cas?limit=1000');
    expect(listed.body.items.find((c: any) => c.id === ca.id)).toMatchObject({ status: 'DELETED', restorableUntil: del.body.restorableUntil });

    expectProblem(await issue(ca.id), 409, 'ca_not_active');
    expectProblem(await svc.api('PATCH', `/v1/cas/${ca.id}`, { status: 'ACTIVE' }), 409, 'invalid_state');
    expectProblem(await svc.api('PATCH', `/v1/cas/${ca.id}`, { status: 'DISABLED' }), 409, 'invalid_state');
    expect((await svc.api('GET', `/v1/cas/${ca.id}`)).body.status).toBe('DELETED');

    const restored = await svc.api('POST', `/v1/cas/${ca.id}/restore`);
    expect(restored.status, restored.text).toBe(200);
    expect(restored.body.status).toBe('ACTIVE');
    expect(restored.body.restorableUntil).toBeUndefined();
    expect((await issue(ca.id)).status).toBe(201);
    expect(await auditActions(ca.id)).toEqual(['privateca:CreateCertificateAuthority', 'privateca:DeleteCertificateAuthority', 'privateca:RestoreCertificateAuthority', 'privateca:IssueCertificate']);
  });

  it.each([7, 30])('ok/DELETE ?permanentDeletionDays=%i → restorableUntil ≈ now + that many days', async (days) => {
    const ca = await createRoot();
    const t0 = Date.now();
    const del = await svc.api('DELETE', `/v1/cas/${ca.id}?permanentDeletionDays=${days}`);
    const t1 = Date.now();
    expect(del.status, del.text).toBe(200);
    expect(del.body.status).toBe('DELETED');
    const until = new Date(del.body.restorableUntil).getTime();
    expect(until).toBeGreaterThanOrEqual(t0 + days * DAY - 1000);
    expect(until).toBeLessThanOrEqual(t1 + days * DAY + 1000);
  });

  it('fail/DELETE ?permanentDeletionDays outside 7..30 or not a number → 400, the CA stays as it was', async () => {
    const ca = await createRoot();
    for (const v of ['6', '31', 'abc', '0', '-7', '7.5', '']) {
      expectProblem(await svc.api('DELETE', `/v1/cas/${ca.id}?permanentDeletionDays=${v}`), 400);
    }
    expect((await svc.api('GET', `/v1/cas/${ca.id}`)).body).toEqual(ca);
    expect(await auditActions(ca.id)).toEqual(['privateca:CreateCertificateAuthority']);
    expectProblem(await svc.api('DELETE', '/v1/cas/00000000-0000-4000-8000-000000000000'), 404, 'ca_not_found');
  });

  it('ok/restore returns a DISABLED or PENDING_CERTIFICATE CA to that status', async () => {
    const disabled = await createRoot();
    expect((await svc.api('PATCH', `/v1/cas/${disabled.id}`, { status: 'DISABLED' })).status).toBe(200);
    expect((await svc.api('DELETE', `/v1/cas/${disabled.id}?permanentDeletionDays=7`)).body.status).toBe('DELETED');
    const r1 = await svc.api('POST', `/v1/cas/${disabled.id}/restore`);
    expect(r1.status, r1.text).toBe(200);
    expect(r1.body.status).toBe('DISABLED');
    expectProblem(await issue(disabled.id), 409, 'ca_not_active');

    const pending = await createPending();
    expect((await svc.api('DELETE', `/v1/cas/${pending.id}`)).body.status).toBe('DELETED');
    expectProblem(await svc.api('PATCH', `/v1/cas/${pending.id}`, { status: 'ACTIVE' }), 409, 'invalid_state');
    const r2 = await svc.api('POST', `/v1/cas/${pending.id}/restore`);
    expect(r2.status, r2.text).toBe(200);
    expect(r2.body.status).toBe('PENDING_CERTIFICATE');
    expect(r2.body.restorableUntil).toBeUndefined();
    // Still waiting for its certificate: its CSR is served, signed by its own key.
    const csr = await svc.api('GET', `/v1/cas/${pending.id}/csr`);
    expect(csr.status).toBe(200);
    expect(pki.ok(['req', '-noout', '-verify', '-subject'], csr.body.csr)).toMatch(/CN\s*=\s*Pending Sub/);
  });

  it('fail/restore of a CA that is not DELETED → 409 invalid_state', async () => {
    const ca = await createRoot();
    expectProblem(await svc.api('POST', `/v1/cas/${ca.id}/restore`), 409, 'invalid_state');
    const pending = await createPending();
    expectProblem(await svc.api('POST', `/v1/cas/${pending.id}/restore`), 409, 'invalid_state');
    expectProblem(await svc.api('POST', '/v1/cas/00000000-0000-4000-8000-000000000000/restore'), 404, 'ca_not_found');
    expect((await svc.api('GET', `/v1/cas/${ca.id}`)).body).toEqual(ca);
  });

  it('ok/CA list pages with limit=2 through nextCursor until null; every CA is seen once', async () => {
    const created: string[] = [];
    for (let i = 0; i < 5; i++) created.push((await createRoot({}, `Paged Root ${i}`)).id);
    const all = await pages('/v1/cas', 2);
    const ids = all.flat().map((c) => c.id as string);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of created) expect(ids).toContain(id);
    const total = await svc.db.query<{ n: string }>('SELECT count(*)::text AS n FROM cas');
    expect(ids.length).toBe(Number(total.rows[0]!.n));
    for (const page of all.slice(0, -1)) expect(page).toHaveLength(2);

    const one = await svc.api('GET', '/v1/cas?limit=1000');
    expect(one.status).toBe(200);
    expect(one.body.items.map((c: any) => c.id)).toEqual(ids);
    const single = await svc.api('GET', '/v1/cas?limit=1');
    expect(single.body.items).toHaveLength(1);
    expect(single.body.nextCursor).toEqual(expect.any(String));
  });

  it('fail/CA list: limit 0, 1001, x, -1, 1.5 or a garbage cursor → 400', async () => {
    for (const limit of ['0', '1001', 'x', '-1', '1.5', '']) {
      expectProblem(await svc.api('GET', `/v1/cas?limit=${limit}`), 400);
    }
    const garbage = ['garbage', '!!!', Buffer.from('{"a":1}').toString('base64url'), Buffer.from('not json').toString('base64url'), 'A'.repeat(2000)];
    for (const cursor of garbage) {
      expectProblem(await svc.api('GET', `/v1/cas?cursor=${encodeURIComponent(cursor)}`), 400);
    }
  });

  it('ok/certificate list pages with limit=2 through nextCursor until null; limit and cursor errors → 400', async () => {
    const ca = await createRoot();
    const serials: string[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await issue(ca.id);
      expect(res.status).toBe(201);
      serials.push(res.body.serial);
    }
    const all = await pages(`/v1/cas/${ca.id}/certificates`, 2);
    expect(all.map((p) => p.length).slice(0, 3)).toEqual([2, 2, 1]);
    const seen = all.flat().map((c) => c.serial as string);
    expect(new Set(seen).size).toBe(5);
    expect([...seen].sort()).toEqual([...serials].sort());

    for (const limit of ['0', '1001', 'x']) {
      expectProblem(await svc.api('GET', `/v1/cas/${ca.id}/certificates?limit=${limit}`), 400);
    }
    const caCursor = (await svc.api('GET', '/v1/cas?limit=1')).body.nextCursor as string;
    for (const cursor of ['garbage', Buffer.from('{"a":1}').toString('base64url'), caCursor]) {
      expectProblem(await svc.api('GET', `/v1/cas/${ca.id}/certificates?cursor=${encodeURIComponent(cursor)}`), 400);
    }
  });

  it('ok/idempotency: same token + identical CSR → 200 and the same certificate; another CSR → 409 idempotency_conflict; per CA', async () => {
    const ca1 = await createRoot();
    const ca2 = await createRoot();
    const token = 'order-4711';

    const first = await issue(ca1.id, { idempotencyToken: token });
    expect(first.status, first.text).toBe(201);
    const again = await issue(ca1.id, { idempotencyToken: token });
    expect(again.status, again.text).toBe(200);
    expect(again.body).toEqual(first.body);
    expect(await countCertificates(ca1.id)).toBe(1);

    expectProblem(await issue(ca1.id, { idempotencyToken: token, csr: csrB }), 409, 'idempotency_conflict');
    expect(await countCertificates(ca1.id)).toBe(1);

    // The same token on another CA is another request.
    const other = await issue(ca2.id, { idempotencyToken: token });
    expect(other.status, other.text).toBe(201);
    expect(other.body.serial).not.toBe(first.body.serial);
    expect(await countCertificates(ca2.id)).toBe(1);

    // Without a token, or with another token, the same CSR gives a new certificate.
    const fresh = await issue(ca1.id);
    expect(fresh.status).toBe(201);
    expect(fresh.body.serial).not.toBe(first.body.serial);
    const otherToken = await issue(ca1.id, { idempotencyToken: 'order-4712' });
    expect(otherToken.status).toBe(201);
    expect(otherToken.body.serial).not.toBe(first.body.serial);
    expect(await countCertificates(ca1.id)).toBe(3);

    // The replayed certificate is the stored one, and openssl reads the same serial from it.
    const opensslSerial = pki.ok(['x509', '-noout', '-serial'], again.body.certificate).trim().replace(/^serial=/, '').toLowerCase();
    expect(opensslSerial).toBe(first.body.serial);
  });

  it('ok/idempotency: 8 concurrent requests with one token and CSR give one certificate', async () => {
    const ca = await createRoot();
    const results = await Promise.all(Array.from({ length: 8 }, () => issue(ca.id, { idempotencyToken: 'concurrent-1' })));
    for (const r of results) expect([200, 201], r.text).toContain(r.status);
    expect(results.filter((r) => r.status === 201)).toHaveLength(1);
    expect(new Set(results.map((r) => r.body.serial)).size).toBe(1);
    expect(new Set(results.map((r) => r.body.certificate)).size).toBe(1);
    expect(await countCertificates(ca.id)).toBe(1);
    const audit = await svc.db.query("SELECT 1 FROM audit_events WHERE resource = 'ca/' || $1 AND action = $2", [ca.id, 'privateca:IssueCertificate']);
    expect(audit.rows).toHaveLength(1);
  });

  it('ok/renewal: a second certificate for the same subordinate key imports, and new leaves chain to it', async () => {
    const created = await svc.api('POST', '/v1/cas', { type: 'SUBORDINATE', subject: { commonName: 'Renewed Issuing CA', organization: 'Acme' }, keyAlgorithm: 'EC_prime256v1' });
    expect(created.status, created.text).toBe(201);
    const id = created.body.id as string;
    const csr = (await svc.api('GET', `/v1/cas/${id}/csr`)).body.csr as string;

    const cert1 = pki.sign(csr, outsideRoot, { ca: true, pathLen: 0, days: 20 });
    const imported = await svc.api('POST', `/v1/cas/${id}/certificate`, { certificate: cert1.cert, chain: outsideRoot.cert });
    expect(imported.status, imported.text).toBe(200);
    expect(imported.body.status).toBe('ACTIVE');
    const serial1 = pki.ok(['x509', '-noout', '-serial'], cert1.cert).trim().replace(/^serial=/, '').toLowerCase();
    expect(imported.body.serial).toBe(serial1.replace(/^(00)+/, ''));
    const leaf1 = await issue(id);
    expect(leaf1.status, leaf1.text).toBe(201);

    const cert2 = pki.sign(csr, outsideRoot, { ca: true, pathLen: 0, days: 25 });
    const serial2 = pki.ok(['x509', '-noout', '-serial'], cert2.cert).trim().replace(/^serial=/, '').toLowerCase().replace(/^(00)+/, '');
    expect(serial2).not.toBe(imported.body.serial);
    const renewed = await svc.api('POST', `/v1/cas/${id}/certificate`, { certificate: cert2.cert, chain: outsideRoot.cert });
    expect(renewed.status, renewed.text).toBe(200);
    expect(renewed.body).toMatchObject({ id, status: 'ACTIVE', serial: serial2 });
    const dates2 = pki.ok(['x509', '-noout', '-enddate', '-dateopt', 'iso_8601'], cert2.cert).trim().replace(/^notAfter=/, '').replace(' ', 'T');
    expect(new Date(renewed.body.notAfter).getTime()).toBe(new Date(dates2).getTime());

    const served = await svc.api('GET', `/v1/cas/${id}/certificate`);
    expect(stripPem(served.body.certificate)).toBe(stripPem(cert2.cert));
    expect(stripPem(served.body.chain)).toBe(stripPem(outsideRoot.cert));

    const leaf2 = await issue(id, { csr: csrB });
    expect(leaf2.status, leaf2.text).toBe(201);
    const chainFirst = leaf2.body.chain.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/)![0];
    expect(stripPem(chainFirst)).toBe(stripPem(cert2.cert));
    const v = pki.verify({ rootFile: outsideRoot.certFile, chainPem: leaf2.body.chain, leafPem: leaf2.body.certificate });
    expect(v.out).toMatch(/: OK\s*$/);
    // The new leaf verifies with only the renewed certificate as intermediate.
    const only2 = pki.verify({ rootFile: outsideRoot.certFile, chainPem: cert2.cert, leafPem: leaf2.body.certificate });
    expect(only2.out).toMatch(/: OK\s*$/);

    // A certificate for another key is refused and changes nothing.
    const foreign = pki.sign(pki.csr({ subject: '/CN=Renewed Issuing CA' }).csr, outsideRoot, { ca: true, pathLen: 0, days: 20 });
    expectProblem(await svc.api('POST', `/v1/cas/${id}/certificate`, { certificate: foreign.cert, chain: outsideRoot.cert }), 400);
    expect((await svc.api('GET', `/v1/cas/${id}`)).body.serial).toBe(serial2);

    // The first import and the renewal: one event each, the second marked as a renewal.
    const imports = await svc.db.query<{ renewal: boolean }>(
      "SELECT (details->>'renewal')::boolean AS renewal FROM audit_events WHERE resource = 'ca/' || $1 AND action = 'privateca:ImportCertificateAuthorityCertificate' ORDER BY id",
      [id],
    );
    expect(imports.rows.map((r) => r.renewal)).toEqual([false, true]);
  });

  it('ok/the audit_events table has CreateCertificateAuthority, UpdateCertificateAuthority, DeleteCertificateAuthority, RestoreCertificateAuthority rows with principal and request id', async () => {
    const ca = await createRoot();
    expect((await svc.api('PATCH', `/v1/cas/${ca.id}`, { tags: { audited: 'yes' } })).status).toBe(200);
    expect((await svc.api('PATCH', `/v1/cas/${ca.id}`, { status: 'DISABLED' })).status).toBe(200);
    expect((await svc.api('DELETE', `/v1/cas/${ca.id}?permanentDeletionDays=10`)).status).toBe(200);
    const restored = await svc.api('POST', `/v1/cas/${ca.id}/restore`, undefined, { 'x-request-id': 'restore-req-1' });
    expect(restored.status).toBe(200);

    const r = await svc.db.query<{ action: string; actor: string; request_id: string | null }>(
      "SELECT action, principal_name AS actor, request_id FROM audit_events WHERE resource = 'ca/' || $1 ORDER BY id",
      [ca.id],
    );
    expect(r.rows.map((x) => x.action)).toEqual(['privateca:CreateCertificateAuthority', 'privateca:UpdateCertificateAuthority', 'privateca:UpdateCertificateAuthority', 'privateca:DeleteCertificateAuthority', 'privateca:RestoreCertificateAuthority']);
    for (const row of r.rows) {
      expect(row.actor).toMatch(/\S/);
      expect(row.request_id).toMatch(/\S/);
    }
    expect(r.rows[4]!.request_id).toBe('restore-req-1');
  });

  it('ok/lists default to 100 items per page', async () => {
    const ca = await createRoot();
    for (let batch = 0; batch < 101; batch += 20) {
      const n = Math.min(20, 101 - batch);
      const res = await Promise.all(Array.from({ length: n }, () => issue(ca.id)));
      for (const r of res) expect(r.status, r.text).toBe(201);
    }
    const first = await svc.api('GET', `/v1/cas/${ca.id}/certificates`);
    expect(first.status).toBe(200);
    expect(first.body.items).toHaveLength(100);
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const rest = await svc.api('GET', `/v1/cas/${ca.id}/certificates?cursor=${encodeURIComponent(first.body.nextCursor)}`);
    expect(rest.body.items).toHaveLength(1);
    expect(rest.body.nextCursor).toBeNull();
    expect(new Set([...first.body.items, ...rest.body.items].map((c: any) => c.serial)).size).toBe(101);
  });

  it('fail/once past its notAfter a CA is EXPIRED: issues nothing (409 ca_not_active), status PATCH → 409 invalid_state', async () => {
    expect(expiring, 'the short-lived CA of the first test').toBeDefined();
    const wait = expiring.notAfter.getTime() + 200 - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));

    const got = await svc.api('GET', `/v1/cas/${expiring.id}`);
    expect(got.body.status).toBe('EXPIRED');
    const listed = await svc.api('GET', '/v1/cas?limit=1000');
    expect(listed.body.items.find((c: any) => c.id === expiring.id)?.status).toBe('EXPIRED');
    expectProblem(await issue(expiring.id, { validity: { days: 1 } }), 409, 'ca_not_active');
    for (const status of ['ACTIVE', 'DISABLED']) {
      expectProblem(await svc.api('PATCH', `/v1/cas/${expiring.id}`, { status }), 409, 'invalid_state');
    }
    expect((await svc.api('GET', `/v1/cas/${expiring.id}`)).body.status).toBe('EXPIRED');
  });
});
