import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpensslPki } from '../pki/openssl.ts';
import { DRIVERS, startService, type TestService } from '../support/service.ts';

/*
 * POST /v1/cas/{caId}/certificates/{serial}/revoke as docs/api.md describes it: the eight reasons, the
 * default, the errors, serial spellings, list filters, DISABLED CAs, and what lands in the database.
 */

/** docs/api.md's reasons with their RFC 5280 5.3.1 CRLReason codes. */
const REASONS = {
  UNSPECIFIED: 0,
  KEY_COMPROMISE: 1,
  CERTIFICATE_AUTHORITY_COMPROMISE: 2,
  AFFILIATION_CHANGED: 3,
  SUPERSEDED: 4,
  CESSATION_OF_OPERATION: 5,
  PRIVILEGE_WITHDRAWN: 9,
  A_A_COMPROMISE: 10,
} as const;
type Reason = keyof typeof REASONS;

const RFC3339_UTC = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

const pki = new OpensslPki();
let csr: string;
beforeAll(() => {
  csr = pki.csr({ subject: '/O=Acme/CN=revoke-me.acme.internal', san: 'DNS:revoke-me.acme.internal' }).csr;
});

describe.each(DRIVERS)('certificate revocation (%s)', (driver) => {
  let svc: TestService;
  let caId: string;

  const createRoot = async (commonName: string): Promise<string> => {
    const res = await svc.api('POST', '/v1/cas', { type: 'ROOT', subject: { commonName }, keyAlgorithm: 'EC_prime256v1' });
    expect(res.status, res.text).toBe(201);
    return res.body.id;
  };

  const issue = async (ca = caId): Promise<{ serial: string; certificate: string; chain: string }> => {
    const res = await svc.api('POST', `/v1/cas/${ca}/certificates`, { csr, validity: { days: 10 } });
    expect(res.status, res.text).toBe(201);
    return res.body;
  };

  const row = async (ca: string, serial: string) => {
    const r = await svc.db.query<{ status: string; revoked_at: Date | string | null; revocation_reason: string | number | null }>(
      'SELECT status, revoked_at, revocation_reason FROM certificates WHERE ca_id = $1 AND serial = $2',
      [ca, serial],
    );
    expect(r.rows).toHaveLength(1);
    return r.rows[0]!;
  };

  const auditActions = async (ca: string, serial: string): Promise<string[]> => {
    const r = await svc.db.query<{ action: string }>("SELECT action FROM audit_events WHERE resource = 'ca/' || $1 AND details->>'serial' = $2 ORDER BY id", [ca, serial]);
    return r.rows.map((x) => x.action);
  };

  const expectProblem = (res: { status: number; headers: Headers; body: any }, status: number, code?: string) => {
    expect(res.status, JSON.stringify(res.body)).toBe(status);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ status, type: expect.any(String), title: expect.any(String), detail: expect.any(String) });
    if (code) expect(res.body.code).toBe(code);
    else expect(res.body.code).toMatch(/^[a-z][a-z0-9_]*$/);
  };

  beforeAll(async () => {
    svc = await startService(driver);
    caId = await createRoot('Revocation Test Root');
  });
  afterAll(() => svc?.close());

  it.each(Object.keys(REASONS) as Reason[])('ok/revoke with reason %s → 200 REVOKED; GET, database row and audit agree', async (reason) => {
    const cert = await issue();
    const t0 = Date.now();
    const res = await svc.api('POST', `/v1/cas/${caId}/certificates/${cert.serial}/revoke`, { reason });
    const t1 = Date.now();
    expect(res.status, res.text).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.body).toMatchObject({ serial: cert.serial, status: 'REVOKED', revocationReason: reason, certificate: cert.certificate });
    expect(res.body.revokedAt).toMatch(RFC3339_UTC);
    const revokedAt = new Date(res.body.revokedAt).getTime();
    // CRLs carry whole seconds: allow the revocation time to be truncated to the second.
    expect(revokedAt).toBeGreaterThanOrEqual(Math.floor(t0 / 1000) * 1000 - 1000);
    expect(revokedAt).toBeLessThanOrEqual(t1);

    const got = await svc.api('GET', `/v1/cas/${caId}/certificates/${cert.serial}`);
    expect(got.status).toBe(200);
    expect(got.body).toEqual(res.body);

    const r = await row(caId, cert.serial);
    expect(r.status).toBe('REVOKED');
    expect(new Date(r.revoked_at!).getTime()).toBe(revokedAt);
    expect([reason, REASONS[reason], String(REASONS[reason])]).toContain(r.revocation_reason);

    expect(await auditActions(caId, cert.serial)).toEqual(['privateca:IssueCertificate', 'privateca:RevokeCertificate']);
  });

  it('ok/revoke without a body (no Content-Type) defaults to UNSPECIFIED', async () => {
    const cert = await issue();
    const res = await svc.api('POST', `/v1/cas/${caId}/certificates/${cert.serial}/revoke`);
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({ serial: cert.serial, status: 'REVOKED', revocationReason: 'UNSPECIFIED' });
    expect(res.body.revokedAt).toMatch(RFC3339_UTC);
    expect((await row(caId, cert.serial)).status).toBe('REVOKED');
  });

  it('ok/revoke with an empty JSON object defaults to UNSPECIFIED', async () => {
    const cert = await issue();
    const res = await svc.api('POST', `/v1/cas/${caId}/certificates/${cert.serial}/revoke`, {});
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({ status: 'REVOKED', revocationReason: 'UNSPECIFIED' });
  });

  it('fail/revoking a revoked certificate → 409 already_revoked, first revocation unchanged', async () => {
    const cert = await issue();
    const first = await svc.api('POST', `/v1/cas/${caId}/certificates/${cert.serial}/revoke`, { reason: 'SUPERSEDED' });
    expect(first.status).toBe(200);
    for (const body of [{ reason: 'KEY_COMPROMISE' }, undefined]) {
      const again = await svc.api('POST', `/v1/cas/${caId}/certificates/${cert.serial}/revoke`, body);
      expectProblem(again, 409, 'already_revoked');
    }
    const got = await svc.api('GET', `/v1/cas/${caId}/certificates/${cert.serial}`);
    expect(got.body).toMatchObject({ status: 'REVOKED', revocationReason: 'SUPERSEDED', revokedAt: first.body.revokedAt });
    expect(await auditActions(caId, cert.serial)).toEqual(['privateca:IssueCertificate', 'privateca:RevokeCertificate']);
  });

  it('ok/concurrent revokes of one certificate: exactly one 200, the others 409 already_revoked, one audit event', async () => {
    const cert = await issue();
    const reasons: Reason[] = ['KEY_COMPROMISE', 'SUPERSEDED', 'AFFILIATION_CHANGED', 'CESSATION_OF_OPERATION', 'PRIVILEGE_WITHDRAWN', 'UNSPECIFIED'];
    const results = await Promise.all(reasons.map((reason) => svc.api('POST', `/v1/cas/${caId}/certificates/${cert.serial}/revoke`, { reason })));
    const won = results.filter((r) => r.status === 200);
    expect(won).toHaveLength(1);
    for (const r of results.filter((x) => x.status !== 200)) expectProblem(r, 409, 'already_revoked');
    const got = await svc.api('GET', `/v1/cas/${caId}/certificates/${cert.serial}`);
    expect(got.body.revocationReason).toBe(won[0]!.body.revocationReason);
    expect(got.body.revokedAt).toBe(won[0]!.body.revokedAt);
    expect(await auditActions(caId, cert.serial)).toEqual(['privateca:IssueCertificate', 'privateca:RevokeCertificate']);
  });

  it('fail/unknown serial → 404 certificate_not_found (revoke and GET)', async () => {
    const serial = randomBytes(16).toString('hex').replace(/^00/, '7f');
    expectProblem(await svc.api('POST', `/v1/cas/${caId}/certificates/${serial}/revoke`, { reason: 'KEY_COMPROMISE' }), 404, 'certificate_not_found');
    expectProblem(await svc.api('GET', `/v1/cas/${caId}/certificates/${serial}`), 404, 'certificate_not_found');
    const r = await svc.db.query("SELECT 1 FROM audit_events WHERE details->>'serial' = $1", [serial]);
    expect(r.rows).toHaveLength(0);
  });

  it.each([
    ['not hex', 'xyz1'],
    ['odd length', 'abc'],
    ['a non-hex digit', '0g'],
    ['more than 20 octets', 'ab'.repeat(21)],
    ['a short colon octet', 'ab:c'],
    ['an empty colon octet', 'ab::cd'],
    ['dashes', 'ab-cd'],
  ])('fail/malformed serial (%s) → 400 invalid_serial', async (_what, serial) => {
    expectProblem(await svc.api('POST', `/v1/cas/${caId}/certificates/${encodeURIComponent(serial)}/revoke`, { reason: 'KEY_COMPROMISE' }), 400, 'invalid_serial');
    expectProblem(await svc.api('GET', `/v1/cas/${caId}/certificates/${encodeURIComponent(serial)}`), 400, 'invalid_serial');
  });

  it('ok/colon-separated and upper-case serials name the same certificate (openssl -serial agrees)', async () => {
    const cert = await issue();
    const opensslSerial = pki.ok(['x509', '-noout', '-serial'], cert.certificate).trim().replace(/^serial=/, '');
    expect(opensslSerial.toLowerCase()).toBe(cert.serial);
    const colonUpper = cert.serial.toUpperCase().match(/../g)!.join(':');

    const res = await svc.api('POST', `/v1/cas/${caId}/certificates/${colonUpper}/revoke`, { reason: 'AFFILIATION_CHANGED' });
    expect(res.status, res.text).toBe(200);
    expect(res.body.serial).toBe(cert.serial);
    expect(res.body.status).toBe('REVOKED');

    for (const spelling of [opensslSerial, cert.serial.match(/../g)!.join(':'), colonUpper]) {
      const got = await svc.api('GET', `/v1/cas/${caId}/certificates/${spelling}`);
      expect(got.status, spelling).toBe(200);
      expect(got.body).toMatchObject({ serial: cert.serial, status: 'REVOKED', revocationReason: 'AFFILIATION_CHANGED' });
    }
    const again = await svc.api('POST', `/v1/cas/${caId}/certificates/${cert.serial.toUpperCase()}/revoke`);
    expectProblem(again, 409, 'already_revoked');
  });

  it('ok/?status=REVOKED and ?status=ISSUED list exactly the revoked and the unrevoked certificates', async () => {
    const ca = await createRoot('Filter Root');
    const serials: string[] = [];
    for (let i = 0; i < 5; i++) serials.push((await issue(ca)).serial);
    const revoked = [serials[1]!, serials[3]!];
    for (const s of revoked) expect((await svc.api('POST', `/v1/cas/${ca}/certificates/${s}/revoke`, { reason: 'CESSATION_OF_OPERATION' })).status).toBe(200);

    const all = await svc.api('GET', `/v1/cas/${ca}/certificates`);
    expect(all.status).toBe(200);
    expect(all.body.nextCursor).toBeNull();
    expect(all.body.items.map((c: any) => c.serial).sort()).toEqual([...serials].sort());

    const r = await svc.api('GET', `/v1/cas/${ca}/certificates?status=REVOKED`);
    expect(r.status).toBe(200);
    expect(r.body.nextCursor).toBeNull();
    expect(r.body.items.map((c: any) => c.serial).sort()).toEqual([...revoked].sort());
    for (const c of r.body.items) {
      expect(c).toMatchObject({ status: 'REVOKED', revocationReason: 'CESSATION_OF_OPERATION' });
      expect(c.revokedAt).toMatch(RFC3339_UTC);
    }

    const i = await svc.api('GET', `/v1/cas/${ca}/certificates?status=ISSUED`);
    expect(i.status).toBe(200);
    expect(i.body.items.map((c: any) => c.serial).sort()).toEqual(serials.filter((s) => !revoked.includes(s)).sort());
    for (const c of i.body.items) {
      expect(c.status).toBe('ISSUED');
      expect(c.revokedAt).toBeUndefined();
      expect(c.revocationReason).toBeUndefined();
    }

    // Paging through the filtered list sees each revoked certificate once.
    const p1 = await svc.api('GET', `/v1/cas/${ca}/certificates?status=REVOKED&limit=1`);
    expect(p1.body.items).toHaveLength(1);
    expect(p1.body.nextCursor).toEqual(expect.any(String));
    const p2 = await svc.api('GET', `/v1/cas/${ca}/certificates?status=REVOKED&limit=1&cursor=${encodeURIComponent(p1.body.nextCursor)}`);
    expect(p2.status).toBe(200);
    const seen = [...p1.body.items, ...p2.body.items].map((c: any) => c.serial);
    if (p2.body.nextCursor) {
      const p3 = await svc.api('GET', `/v1/cas/${ca}/certificates?status=REVOKED&limit=1&cursor=${encodeURIComponent(p2.body.nextCursor)}`);
      expect(p3.body.items).toEqual([]);
      expect(p3.body.nextCursor).toBeNull();
    }
    expect(seen.sort()).toEqual([...revoked].sort());

    expectProblem(await svc.api('GET', `/v1/cas/${ca}/certificates?status=EXPIRED`), 400);
  });

  it('ok/a DISABLED CA issues nothing but its certificates can still be revoked', async () => {
    const ca = await createRoot('Disabled Root');
    const cert = await issue(ca);
    const disabled = await svc.api('PATCH', `/v1/cas/${ca}`, { status: 'DISABLED' });
    expect(disabled.status, disabled.text).toBe(200);
    expect(disabled.body.status).toBe('DISABLED');

    expectProblem(await svc.api('POST', `/v1/cas/${ca}/certificates`, { csr, validity: { days: 1 } }), 409, 'ca_not_active');

    const res = await svc.api('POST', `/v1/cas/${ca}/certificates/${cert.serial}/revoke`, { reason: 'PRIVILEGE_WITHDRAWN' });
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({ serial: cert.serial, status: 'REVOKED', revocationReason: 'PRIVILEGE_WITHDRAWN' });
    const r = await row(ca, cert.serial);
    expect(r.status).toBe('REVOKED');
    expect(r.revoked_at).not.toBeNull();
    expect(await auditActions(ca, cert.serial)).toEqual(['privateca:IssueCertificate', 'privateca:RevokeCertificate']);
    const listed = await svc.api('GET', `/v1/cas/${ca}/certificates?status=REVOKED`);
    expect(listed.body.items.map((c: any) => c.serial)).toEqual([cert.serial]);
  });

  it('fail/bad reason, unknown field or a non-JSON body → 4xx, the certificate stays ISSUED', async () => {
    const cert = await issue();
    const path = `/v1/cas/${caId}/certificates/${cert.serial}/revoke`;
    for (const body of [{ reason: 'KEY_COMPROMISED' }, { reason: 1 }, { reason: 'REMOVE_FROM_CRL' }, { reason: 'UNSPECIFIED', comment: 'x' }, []]) {
      expectProblem(await svc.api('POST', path, body), 400);
    }
    expectProblem(await svc.api('POST', path, 'reason=KEY_COMPROMISE', { 'content-type': 'application/x-www-form-urlencoded' }), 415);
    expectProblem(await svc.api('POST', path, '{"reason":', {}), 400);
    const got = await svc.api('GET', `/v1/cas/${caId}/certificates/${cert.serial}`);
    expect(got.body.status).toBe('ISSUED');
    expect(got.body.revokedAt).toBeUndefined();
    expect((await row(caId, cert.serial)).revoked_at).toBeNull();
    expect(await auditActions(caId, cert.serial)).toEqual(['privateca:IssueCertificate']);
  });

  it('fail/revoke under an unknown CA → 404 ca_not_found; a CA id that is not a UUID → 400 invalid_id', async () => {
    const cert = await issue();
    const unknown = '00000000-0000-4000-8000-000000000000';
    expectProblem(await svc.api('POST', `/v1/cas/${unknown}/certificates/${cert.serial}/revoke`), 404, 'ca_not_found');
    expectProblem(await svc.api('POST', `/v1/cas/not-a-uuid/certificates/${cert.serial}/revoke`), 400, 'invalid_id');
    expect((await row(caId, cert.serial)).status).toBe('ISSUED');
  });
});
