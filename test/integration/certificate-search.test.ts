import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpensslPki } from '../pki/openssl.ts';
import { DRIVERS, startService, type TestService } from '../support/service.ts';

/*
 * GET /v1/cas/{caId}/certificates?q=&expiresBefore=&expiresAfter= (docs/api.md "Certificates"):
 * a serial prefix, or a case-insensitive prefix of the common name or of any SAN; notAfter filters;
 * with status and paging; issued one by one and in the batched statement alike; bad input is 400.
 */

const pki = new OpensslPki();

describe.each(DRIVERS)('certificate search (%s)', (driver) => {
  let svc: TestService;
  let caId: string;
  let otherCaId: string;
  const issued: Record<string, { serial: string; days: number }> = {};

  const issue = async (ca: string, subject: string, san: string | undefined, days: number) => {
    const res = await svc.api('POST', `/v1/cas/${ca}/certificates`, { csr: pki.csr({ subject, ...(san ? { san } : {}) }).csr, validity: { days } });
    expect(res.status, res.text).toBe(201);
    return res.body.serial as string;
  };
  const search = async (query: string, ca = caId) => {
    const res = await svc.api('GET', `/v1/cas/${ca}/certificates?${query}`);
    expect(res.status, res.text).toBe(200);
    return (res.body.items as { serial: string }[]).map((i) => i.serial);
  };
  const serialsOf = (...names: string[]) => names.map((n) => issued[n]!.serial).sort();

  beforeAll(async () => {
    svc = await startService(driver);
    const ca = async (cn: string) => (await svc.api('POST', '/v1/cas', { type: 'ROOT', subject: { commonName: cn }, keyAlgorithm: 'EC_prime256v1' })).body.id as string;
    caId = await ca(`Search Root ${driver}`);
    otherCaId = await ca(`Search Other ${driver}`);
    const specs: [string, string, string | undefined, number][] = [
      ['api', '/O=Acme/CN=API.Payments.example.internal', 'DNS:api.payments.example.internal,DNS:pay-gw.example.internal', 5],
      ['web', '/CN=web-01.example.internal', 'DNS:web-01.example.internal,IP:10.1.2.3', 40],
      ['mail', '/CN=Mail Relay', 'email:Relay@Example.internal,URI:spiffe://example.internal/relay', 90],
      ['nocn', '/O=Acme', 'DNS:only-san.example.internal', 20],
    ];
    // Concurrently, so that some go through the batched insert, and one by one.
    const results = await Promise.all(specs.slice(0, 2).map(([, s, san, d]) => issue(caId, s, san, d)));
    issued.api = { serial: results[0]!, days: 5 };
    issued.web = { serial: results[1]!, days: 40 };
    for (const [n, s, san, d] of specs.slice(2)) issued[n] = { serial: await issue(caId, s, san, d), days: d };
    // Enough of one prefix that paging is needed, and the same name under another CA.
    const bulk = await Promise.all(Array.from({ length: 12 }, (_, i) => issue(caId, `/CN=bulk-${String(i).padStart(2, '0')}.example.internal`, undefined, 30)));
    bulk.forEach((serial, i) => (issued[`bulk${i}`] = { serial, days: 30 }));
    await issue(otherCaId, '/CN=api.payments.example.internal', 'DNS:api.payments.example.internal', 5);
  }, 120_000);
  afterAll(() => svc?.close());

  it('ok/a prefix of the common name, of any SAN (DNS, IP, e-mail, URI), case-insensitive; only this CA', async () => {
    expect(await search('q=api.pay')).toEqual(serialsOf('api'));
    expect(await search('q=API.PAYMENTS.EXAMPLE.INTERNAL')).toEqual(serialsOf('api'));
    expect(await search('q=pay-gw')).toEqual(serialsOf('api'));
    expect(await search('q=10.1.2')).toEqual(serialsOf('web'));
    expect(await search('q=relay%40example')).toEqual(serialsOf('mail'));
    expect(await search('q=mail%20rel')).toEqual(serialsOf('mail'));
    expect(await search(`q=${encodeURIComponent('spiffe://example.internal/')}`)).toEqual(serialsOf('mail'));
    expect(await search('q=only-san')).toEqual(serialsOf('nocn'));
    // A prefix, not a substring.
    expect(await search('q=payments')).toEqual([]);
    expect(await search('q=nothing-like-this')).toEqual([]);
  });

  it('ok/a serial prefix, as the API prints it and as openssl does (upper case, colons)', async () => {
    const s = issued.web!.serial;
    const found = await search(`q=${s.slice(0, 10)}`);
    expect(found).toContain(s);
    expect(found.every((x) => x.startsWith(s.slice(0, 10)))).toBe(true);
    expect(await search(`q=${s}`)).toEqual([s]);
    const colons = s.toUpperCase().match(/../g)!.join(':');
    expect(await search(`q=${encodeURIComponent(colons)}`)).toEqual([s]);
  });

  it('ok/expiresBefore and expiresAfter compare notAfter; with status, q and paging', async () => {
    const inDays = (d: number) => new Date(Date.now() + d * 86_400_000).toISOString();
    expect(await search(`expiresBefore=${inDays(10)}`)).toEqual(serialsOf('api'));
    expect(await search(`expiresAfter=${inDays(60)}`)).toEqual(serialsOf('mail'));
    const middle = await search(`expiresAfter=${inDays(10)}&expiresBefore=${inDays(60)}&limit=1000`);
    expect(middle).toHaveLength(14);
    expect(middle).not.toContain(issued.api!.serial);

    const bulk = Array.from({ length: 12 }, (_, i) => issued[`bulk${i}`]!.serial).sort();
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await svc.api('GET', `/v1/cas/${caId}/certificates?q=bulk-&limit=5${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      expect(res.status, res.text).toBe(200);
      expect(res.body.items.length).toBeLessThanOrEqual(5);
      seen.push(...res.body.items.map((i: { serial: string }) => i.serial));
      cursor = res.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual(bulk);

    const r = await svc.api('POST', `/v1/cas/${caId}/certificates/${bulk[3]}/revoke`, { reason: 'SUPERSEDED' });
    expect(r.status, r.text).toBe(200);
    expect(await search('q=bulk-&status=REVOKED')).toEqual([bulk[3]]);
    expect(await search('q=bulk-&status=ISSUED&limit=1000')).toHaveLength(11);
  });

  it('ok/a prefix most certificates match (2,500 rows made in SQL) pages in serial order, as a direct query orders them', async () => {
    const seed = issued.web!.serial;
    await svc.db.query(
      `INSERT INTO certificates (ca_id, serial, status, der, subject, template, not_before, not_after, issued_at, issued_by, search_name)
       SELECT ca_id, md5('dense' || i), 'ISSUED', der, 'CN=dense-' || lpad(i::text, 4, '0') || '.example.internal', template, not_before, not_after, issued_at, issued_by,
              'dense-' || lpad(i::text, 4, '0') || '.example.internal'
       FROM certificates, generate_series(1, 2500) AS i WHERE ca_id = $1 AND serial = $2`,
      [caId, seed],
    );
    // Half of them also have a second name, so that the walk looks names up in certificate_names too.
    await svc.db.query(
      `INSERT INTO certificate_names (ca_id, serial, name) SELECT $1, md5('dense' || i), 'dense-alt-' || lpad(i::text, 4, '0') || '.example.internal' FROM generate_series(1, 2500, 2) AS i`,
      [caId],
    );
    const bySubject = async (like: string) =>
      (await svc.db.query<{ serial: string }>(`SELECT serial FROM certificates WHERE ca_id = $1 AND subject LIKE $2 ORDER BY serial`, [caId, like])).rows.map((r) => r.serial);
    const byOtherName = async (like: string) =>
      (await svc.db.query<{ serial: string }>(`SELECT serial FROM certificate_names WHERE ca_id = $1 AND name LIKE $2 ORDER BY serial`, [caId, like])).rows.map((r) => r.serial);
    for (const [prefix, all] of [
      ['dense-', await bySubject('CN=dense-%')],
      ['DENSE-00', await bySubject('CN=dense-00%')],
      ['dense-alt-', await byOtherName('dense-alt-%')],
    ] as const) {
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const res = await svc.api('GET', `/v1/cas/${caId}/certificates?q=${prefix}&limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
        expect(res.status, res.text).toBe(200);
        seen.push(...res.body.items.map((i: { serial: string }) => i.serial));
        cursor = res.body.nextCursor;
      } while (cursor);
      expect(all.length, prefix).toBeGreaterThan(50);
      expect(seen.length, prefix).toBe(all.length);
      expect(seen, prefix).toEqual(all);
    }
    expect(await search('q=dense-&status=REVOKED')).toEqual([]);
  });

  it('fail/an empty or too long q, a time that is not RFC 3339: 400 with a stable code', async () => {
    for (const [query, code] of [
      ['q=', 'invalid_query'],
      ['q=%20%20', 'invalid_query'],
      [`q=${'a'.repeat(257)}`, 'invalid_query'],
      ['expiresBefore=tomorrow', 'invalid_time'],
      ['expiresAfter=2027-02-30', 'invalid_time'],
      ['expiresAfter=2027-02-30T00:00:00Z', 'invalid_time'],
    ] as const) {
      const res = await svc.api('GET', `/v1/cas/${caId}/certificates?${query}`);
      expect(res.status, query).toBe(400);
      expect(res.body.code, query).toBe(code);
    }
  });
});
