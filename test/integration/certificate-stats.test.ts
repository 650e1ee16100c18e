import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRepos } from '../../src/db/repositories/index.ts';
import type { Clock } from '../../src/ports/clock.ts';
import { CertificateService } from '../../src/services/certificate-service.ts';
import { DRIVERS, startService, type TestService } from '../support/service.ts';

/*
 * GET /v1/cas/{caId}/certificate-stats (docs/api.md "Certificates"): a CA's certificates counted
 * now (valid, expired, revoked, expiring within 30 days) and their issuance per UTC hour and day.
 * The rows are made in SQL with chosen issuedAt, notAfter and status (one real certificate's DER),
 * under two CAs; the service's clock runs from half past an hour, so that "two hours ago" is in the
 * middle of its hour bucket whenever the test runs.
 */

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** Ticks like the real clock, from half past the hour before this one. */
const T0 = Math.floor(Date.now() / HOUR) * HOUR - 30 * MINUTE;
const started = Date.now();
const clock: Clock = { now: () => new Date(T0 + Date.now() - started) };

interface Row {
  status: 'ISSUED' | 'REVOKED';
  issuedAt: number;
  notAfter: number;
}

describe.each(DRIVERS)('certificate statistics (%s)', (driver) => {
  let svc: TestService;
  let caId: string;
  let otherCaId: string;
  let seedAt: number;

  const insert = async (ca: string, rows: Row[]) => {
    for (const r of rows) {
      await svc.db.query(
        `INSERT INTO certificates (ca_id, serial, status, der, subject, template, not_before, not_after, issued_at, revoked_at, revocation_reason)
         SELECT $1, $2, $3, der, subject, template, $5, $4, $5, CASE WHEN $3 = 'REVOKED' THEN $5::timestamptz END, CASE WHEN $3 = 'REVOKED' THEN 'SUPERSEDED' END
         FROM certificates WHERE ca_id = $6 LIMIT 1`,
        [ca, randomBytes(16).toString('hex'), r.status, new Date(r.notAfter), new Date(r.issuedAt), caId],
      );
    }
  };
  const stats = async (ca = caId) => {
    const res = await svc.api('GET', `/v1/cas/${ca}/certificate-stats`);
    expect(res.status, res.text).toBe(200);
    return res.body;
  };
  /** The buckets expected at `at`: `size` ms each, `count` of them, the last holding `at`, with these issuance times in them. */
  const expected = (at: number, size: number, count: number, issued: number[]) => {
    const last = Math.floor(at / size);
    const counts = Array.from({ length: count }, () => 0);
    for (const t of issued) {
      const i = count - 1 - (last - Math.floor(t / size));
      if (i >= 0) counts[i]!++;
    }
    return counts.map((n, i) => ({ start: new Date((last - count + 1 + i) * size).toISOString(), count: n }));
  };

  beforeAll(async () => {
    svc = await startService(driver, {}, { clock });
    const ca = async (cn: string) => (await svc.api('POST', '/v1/cas', { type: 'ROOT', subject: { commonName: cn }, keyAlgorithm: 'EC_prime256v1' })).body.id as string;
    caId = await ca(`Stats Root ${driver}`);
    otherCaId = await ca(`Stats Other ${driver}`);
    // One certificate really issued (its key made by the service: no CSR needed), now, valid 100 days.
    const seed = await svc.api('POST', `/v1/cas/${caId}/certificates`, {
      keyGeneration: { keyAlgorithm: 'EC_prime256v1', passphrase: 'stats passphrase', subject: { commonName: 'seed.example.internal' } },
      validity: { days: 100 },
    });
    expect(seed.status, seed.text).toBe(201);
    seedAt = new Date(seed.body.notBefore).getTime() + MINUTE;
  }, 60_000);
  afterAll(() => svc?.close());

  const issued = (issuedAt: number, notAfter = T0 + 100 * DAY): Row => ({ status: 'ISSUED', issuedAt, notAfter });
  const revoked = (notAfter: number): Row => ({ status: 'REVOKED', issuedAt: T0 - 50 * DAY, notAfter });

  it('ok/counts by state and issuance per UTC hour and day, of this CA only', async () => {
    const rows = {
      twoHoursAgo: issued(T0 - 2 * HOUR),
      threeDaysAgo: issued(T0 - 3 * DAY),
      fortyDaysAgo: issued(T0 - 40 * DAY),
      expiringIn10Days: issued(T0 - 80 * DAY, T0 + 10 * DAY),
      expiringIn40Days: issued(T0 - 80 * DAY, T0 + 40 * DAY),
      expired: issued(T0 - 50 * DAY, T0 - DAY),
      revoked: revoked(T0 + 100 * DAY),
      revokedExpiringIn10Days: revoked(T0 + 10 * DAY),
      revokedExpired: revoked(T0 - 5 * DAY),
    };
    await insert(caId, Object.values(rows));
    // The other CA: issued in this hour and today, expired, expiring, revoked; none of it counts here.
    await insert(otherCaId, [issued(T0), issued(T0 - 2 * HOUR, T0 + 10 * DAY), issued(T0 - DAY, T0 - HOUR), revoked(T0 + DAY), revoked(T0 - DAY)]);

    const s = await stats();
    const at = Date.parse(s.at);
    expect(Math.abs(at - clock.now().getTime())).toBeLessThan(MINUTE);
    expect(Object.keys(s)).toEqual(['caId', 'at', 'issued', 'expired', 'revoked', 'expiringWithin30Days', 'hourly', 'daily']);
    expect(s).toMatchObject({ caId, issued: 6, expired: 1, revoked: 3, expiringWithin30Days: 1 });
    expect(s.hourly).toHaveLength(24);
    expect(s.daily).toHaveLength(30);
    // The seed in the current hour (the last bucket), one two hours before (three buckets back), none else.
    expect(s.hourly.map((b: { count: number }) => b.count)).toEqual([...Array(21).fill(0), 1, 0, 1]);
    expect(s.hourly).toEqual(expected(at, HOUR, 24, [seedAt, rows.twoHoursAgo.issuedAt]));
    expect(s.hourly.at(-1).start).toBe(new Date(Math.floor(at / HOUR) * HOUR).toISOString());
    expect(s.daily).toEqual(expected(at, DAY, 30, [seedAt, rows.twoHoursAgo.issuedAt, rows.threeDaysAgo.issuedAt]));
    expect(s.daily.at(-1).start).toBe(new Date(Math.floor(at / DAY) * DAY).toISOString());
    expect(s.daily[26].count).toBe(1);
    expect(s.daily.reduce((n: number, b: { count: number }) => n + b.count, 0)).toBe(3);

    const other = await stats(otherCaId);
    expect(other).toMatchObject({ caId: otherCaId, issued: 2, expired: 1, revoked: 2, expiringWithin30Days: 1 });
    expect(other.hourly.reduce((n: number, b: { count: number }) => n + b.count, 0)).toBe(2);

    // A revocation through the API moves the certificate from issued (and expiring) to revoked.
    const items = (await svc.api('GET', `/v1/cas/${caId}/certificates?expiresAfter=${new Date(at).toISOString()}&expiresBefore=${new Date(at + 20 * DAY).toISOString()}&status=ISSUED`)).body.items;
    expect(items).toHaveLength(1);
    expect((await svc.api('POST', `/v1/cas/${caId}/certificates/${items[0].serial}/revoke`, { reason: 'KEY_COMPROMISE' })).status).toBe(200);
    expect(await stats()).toMatchObject({ issued: 5, expired: 1, revoked: 4, expiringWithin30Days: 0 });
  });

  it('ok/the edges at a given now: notAfter = now is expired, = now + 30 days is expiring; a bucket holds its start; issuance before the first day or after now is left out', async () => {
    const now = Date.UTC(2031, 0, 15, 12, 0, 0);
    const firstDay = Date.UTC(2030, 11, 17);
    const later = now + 100 * DAY;
    const ca = (await svc.api('POST', '/v1/cas', { type: 'ROOT', subject: { commonName: `Stats Edges ${driver}` }, keyAlgorithm: 'EC_prime256v1' })).body.id as string;
    await insert(ca, [
      // Issued on 16 December, the day before the first daily bucket.
      issued(now - 30 * DAY, now),
      issued(now - 30 * DAY, now + 30 * DAY),
      issued(now - 30 * DAY, now + 30 * DAY + 1),
      issued(now - 30 * DAY, now + 1),
      issued(now, later),
      issued(now + 1, later),
      issued(now - 23 * HOUR, later),
      issued(now - 23 * HOUR - 1, later),
      issued(firstDay, later),
      issued(firstDay - 1, later),
    ]);
    const service = new CertificateService({ certificates: createRepos(svc.db).certificates, contexts: { get: async () => ({}) as never }, clock });
    const s = await service.statistics(ca, new Date(now));
    expect(s).toMatchObject({ caId: ca, at: new Date(now), issued: 9, expired: 1, revoked: 0, expiringWithin30Days: 2 });
    // now - 23 h starts the first hourly bucket; a millisecond before it is outside; now + 1 ms too.
    expect(s.hourly[0]).toEqual({ start: new Date(now - 23 * HOUR), count: 1 });
    expect(s.hourly[23]).toEqual({ start: new Date(now), count: 1 });
    expect(s.hourly.reduce((n, b) => n + b.count, 0)).toBe(2);
    expect(s.daily[0]).toEqual({ start: new Date(firstDay), count: 1 });
    expect(s.daily[28]).toEqual({ start: new Date(Date.UTC(2031, 0, 14)), count: 2 });
    expect(s.daily[29]).toEqual({ start: new Date(Date.UTC(2031, 0, 15)), count: 1 });
    expect(s.daily.reduce((n, b) => n + b.count, 0)).toBe(4);
  });

  it('fail/a principal without ListCertificates is 403 access_denied; a malformed CA id is 400 as on the list; an unknown CA is 404', async () => {
    const policy = await svc.api('POST', '/v1/policies', {
      name: 'stats-get-only',
      document: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['privateca:GetCertificate', 'privateca:DescribeCertificateAuthority'], Resource: '*' }] },
    });
    expect(policy.status, policy.text).toBe(201);
    const p = await svc.api('POST', '/v1/principals', { name: 'stats-reader', policies: [policy.body.id] });
    const token = (await svc.api('POST', `/v1/principals/${p.body.id}/tokens`, {})).body.token as string;
    const denied = await svc.api('GET', `/v1/cas/${caId}/certificate-stats`, undefined, { authorization: `Bearer ${token}` });
    expect([denied.status, denied.body.code, denied.body.action]).toEqual([403, 'access_denied', 'privateca:ListCertificates']);

    const list = await svc.api('POST', '/v1/policies', { name: 'stats-list', document: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'privateca:ListCertificates', Resource: `ca/${caId}` }] } });
    const lister = await svc.api('POST', '/v1/principals', { name: 'stats-lister', policies: [list.body.id] });
    const listerToken = (await svc.api('POST', `/v1/principals/${lister.body.id}/tokens`, {})).body.token as string;
    expect((await svc.api('GET', `/v1/cas/${caId}/certificate-stats`, undefined, { authorization: `Bearer ${listerToken}` })).status).toBe(200);
    const elsewhere = await svc.api('GET', `/v1/cas/${otherCaId}/certificate-stats`, undefined, { authorization: `Bearer ${listerToken}` });
    expect([elsewhere.status, elsewhere.body.code]).toEqual([403, 'access_denied']);

    for (const raw of ['not-a-uuid', '00000000-0000-0000-0000-00000000000g']) {
      const list = await svc.api('GET', `/v1/cas/${raw}/certificates`);
      const res = await svc.api('GET', `/v1/cas/${raw}/certificate-stats`);
      expect([res.status, res.body.code], raw).toEqual([400, 'invalid_id']);
      expect({ ...res.body, requestId: undefined }).toEqual({ ...list.body, requestId: undefined });
    }
    const unknown = await svc.api('GET', '/v1/cas/00000000-0000-4000-8000-000000000000/certificate-stats');
    expect([unknown.status, unknown.body.code]).toEqual([404, 'ca_not_found']);
  });
});
