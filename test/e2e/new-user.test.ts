import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpensslPki } from '../pki/openssl.ts';
import { DRIVERS, startService, type TestService } from '../support/service.ts';

/*
 * What a new user trips over first, each checked end to end over HTTP with openssl reading what the
 * service sends: CRLs that certificates point to without a baseUrl, validation errors that say what
 * was expected, certificates and CRLs as PEM and DER, light list items, case-insensitive CA ids,
 * tag keys an object cannot hold, the embedded database's page cache.
 */

const DAY = 86_400_000;

describe.each(DRIVERS)('a new user (%s)', (driver) => {
  let svc: TestService;
  const pki = new OpensslPki();
  let caId: string;
  let caPem: string;

  beforeAll(async () => {
    svc = await startService(driver);
    // The README's first example: a root CA with CRLs on and nothing else said about them.
    const ca = await svc.api('POST', '/v1/cas', {
      type: 'ROOT',
      subject: { commonName: 'Example Root CA', organization: 'Example' },
      keyAlgorithm: 'EC_prime256v1',
      revocation: { crl: { enabled: true } },
    });
    expect(ca.status, ca.text).toBe(201);
    caId = ca.body.id;
    caPem = (await svc.api('GET', `/v1/cas/${caId}/certificate`)).body.certificate;
    pki.file('ca.pem', caPem);
  });
  afterAll(async () => {
    await svc?.close();
  });

  const issue = async (body: Record<string, unknown>) => {
    const res = await svc.api('POST', `/v1/cas/${caId}/certificates`, { csr: pki.csr({ subject: '/CN=svc.example.internal', san: 'DNS:svc.example.internal' }).csr, ...body });
    return res;
  };

  it('ok/without a baseUrl the certificate names the CRL at the public URL, that URL serves it, and it lists a revocation within 5 s (openssl)', async () => {
    const leaf = await issue({ validity: { days: 30 } });
    expect(leaf.status, leaf.text).toBe(201);
    const cdp = pki.ok(['x509', '-noout', '-ext', 'crlDistributionPoints'], leaf.body.certificate);
    const url = `${svc.url}/crl/${caId}.crl`;
    expect(cdp).toContain(`URI:${url}`);
    expect((await svc.api('GET', `/v1/cas/${caId}/crl`)).body.url).toBe(url);

    const fetchCrl = async () => {
      const res = await fetch(url);
      expect(res.status).toBe(200);
      const file = pki.file(`crl-${Date.now()}.der`);
      writeFileSync(file, Buffer.from(await res.arrayBuffer()));
      return file;
    };
    const first = await fetchCrl();
    expect(pki.run(['crl', '-inform', 'DER', '-in', first, '-noout', '-CAfile', 'ca.pem', '-verify']).out).toContain('verify OK');
    expect((await svc.api('POST', `/v1/cas/${caId}/certificates/${leaf.body.serial}/revoke`, { reason: 'KEY_COMPROMISE' })).status).toBe(200);
    const deadline = Date.now() + 5000;
    let text = '';
    for (;;) {
      text = pki.ok(['crl', '-inform', 'DER', '-in', await fetchCrl(), '-noout', '-text']);
      if (text.includes(leaf.body.serial.toUpperCase()) || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(text).toContain(leaf.body.serial.toUpperCase());
    const pem = pki.ok(['crl', '-inform', 'DER', '-in', await fetchCrl(), '-outform', 'PEM']);
    const checked = pki.verify({ rootFile: 'ca.pem', leafPem: leaf.body.certificate, extra: ['-crl_check', '-CRLfile', pki.file('now.crl.pem', pem)] });
    expect(checked.out).toContain('certificate revoked');
  });

  it('ok/the CA answer warns while the public URL is a loopback address', async () => {
    const ca = await svc.api('POST', '/v1/cas', { type: 'ROOT', subject: { commonName: 'Warned' }, keyAlgorithm: 'EC_prime256v1', revocation: { crl: { enabled: true } } });
    expect(ca.body.warnings).toHaveLength(1);
    expect(ca.body.warnings[0]).toMatch(/baseUrl|PRIVATECA_PUBLIC_URL/);
    const off = await svc.api('POST', '/v1/cas', { type: 'ROOT', subject: { commonName: 'No CRL' }, keyAlgorithm: 'EC_prime256v1' });
    expect(off.body.warnings).toBeUndefined();
  });

  it('fail/a schema error names the JSON pointer, what was expected and what was received; nothing is issued', async () => {
    const before = (await svc.db.query<{ n: string }>('SELECT count(*) AS n FROM certificates')).rows[0]!.n;
    const missing = await issue({});
    expect(missing.status).toBe(400);
    expect(missing.body.code).toBe('invalid_request');
    expect(missing.body.detail).toMatch(/^\/validity: expected \{days\}, \{notAfter\} or \{type, value\}.*received nothing/);
    expect(missing.body.errors).toEqual([{ path: '/validity', message: expect.stringMatching(/expected \{days\}/) }]);

    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ validity: { days: 0 } }, '/validity/days', /expected a number more than 0, received 0/],
      [{ validity: { days: '30' } }, '/validity/days', /expected a number, received "30"/],
      [{ validity: { notAfter: 'tomorrow' } }, '/validity/notAfter', /expected an RFC 3339 time.*received "tomorrow"/],
      [{ validity: { type: 'WEEKS', value: 2 } }, '/validity/type', /expected one of "DAYS", "MONTHS", "YEARS", "END_DATE", "ABSOLUTE", received "WEEKS"/],
      [{ validity: { type: 'END_DATE', value: '20270231120000' } }, '/validity/value', /YYYYMMDDHHMMSS.*received "20270231120000"/],
      [{ validity: { type: 'MONTHS', value: 'one' } }, '/validity/value', /positive integer/],
      [{ validity: { days: 1 }, template: 7 }, '/template', /expected a string, received 7/],
      [{ validity: { days: 1 }, colour: 'blue' }, '', /unknown field "colour"; expected only csr, keyGeneration, template, validity/],
    ];
    for (const [body, path, message] of cases) {
      const res = await issue(body);
      const where = `${JSON.stringify(body)} → ${res.text}`;
      expect(res.status, where).toBe(400);
      expect(res.body.errors?.[0]?.path, where).toBe(path);
      expect(res.body.errors?.[0]?.message, where).toMatch(message);
      expect(res.body.detail, where).toContain(`${path || '/'}: `);
    }
    expect((await svc.db.query<{ n: string }>('SELECT count(*) AS n FROM certificates')).rows[0]!.n).toBe(before);
  });

  it('ok/AWS Private CA Validity shapes: DAYS, MONTHS, YEARS, END_DATE and ABSOLUTE give the notAfter openssl reads', async () => {
    const now = Date.now();
    const inMonths = (n: number) => {
      const d = new Date(now);
      d.setUTCMonth(d.getUTCMonth() + n);
      return d.getTime();
    };
    const end = new Date(Math.floor((now + 45 * DAY) / 1000) * 1000);
    const digits = end.toISOString().replace(/[-:T]/g, '').slice(0, 14);
    const cases: [unknown, number, number][] = [
      [{ type: 'DAYS', value: 30 }, now + 30 * DAY, 5000],
      [{ type: 'MONTHS', value: 3 }, inMonths(3), 3 * DAY],
      [{ type: 'YEARS', value: 1 }, inMonths(12), 2 * DAY],
      [{ type: 'END_DATE', value: digits }, end.getTime(), 1000],
      [{ type: 'END_DATE', value: Number(digits.slice(2)) }, end.getTime(), 1000],
      [{ type: 'ABSOLUTE', value: Math.floor(end.getTime() / 1000) }, end.getTime(), 1000],
    ];
    for (const [validity, expected, slack] of cases) {
      const res = await issue({ validity });
      expect(res.status, `${JSON.stringify(validity)}: ${res.text}`).toBe(201);
      const notAfter = pki.ok(['x509', '-noout', '-enddate'], res.body.certificate).trim().replace('notAfter=', '');
      expect(Math.abs(new Date(notAfter).getTime() - expected), JSON.stringify(validity)).toBeLessThanOrEqual(slack);
      expect(new Date(res.body.notAfter).getTime()).toBe(new Date(notAfter).getTime());
    }
  });

  it('ok/a certificate as PEM with its chain, and as DER, by Accept; the CA certificate too; 406 for what is not offered', async () => {
    const leaf = await issue({ validity: { days: 5 } });
    const path = `/v1/cas/${caId}/certificates/${leaf.body.serial}`;
    const pemRes = await fetch(svc.url + path, { headers: { authorization: `Bearer ${svc.token}`, accept: 'application/pem-certificate-chain' } });
    expect(pemRes.headers.get('content-type')).toBe('application/pem-certificate-chain');
    const chainPem = await pemRes.text();
    expect(chainPem.match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
    const bundle = pki.file('bundle.pem', chainPem);
    // The leaf first, then its issuer: openssl takes the first as the certificate to check.
    expect(pki.ok(['x509', '-in', bundle, '-noout', '-serial']).trim()).toBe(`serial=${leaf.body.serial.toUpperCase()}`);
    expect(pki.run(['verify', '-CAfile', 'ca.pem', bundle]).out).toContain(': OK');

    const derRes = await fetch(svc.url + path, { headers: { authorization: `Bearer ${svc.token}`, accept: 'application/pkix-cert' } });
    expect(derRes.headers.get('content-type')).toBe('application/pkix-cert');
    const derFile = pki.file('leaf.der');
    writeFileSync(derFile, Buffer.from(await derRes.arrayBuffer()));
    expect(pki.ok(['x509', '-inform', 'DER', '-in', derFile, '-noout', '-serial']).trim()).toBe(`serial=${leaf.body.serial.toUpperCase()}`);

    const json = await svc.api('GET', path, undefined, { accept: 'application/json' });
    expect(json.body.chain.trim()).toBe(caPem.trim());
    const weighted = await svc.api('GET', path, undefined, { accept: 'application/json;q=0.5, application/pkix-cert' });
    expect(weighted.headers.get('content-type')).toBe('application/pkix-cert');

    const caDer = await fetch(`${svc.url}/v1/cas/${caId}/certificate`, { headers: { authorization: `Bearer ${svc.token}`, accept: 'application/pkix-cert' } });
    const caDerFile = pki.file('ca.der');
    writeFileSync(caDerFile, Buffer.from(await caDer.arrayBuffer()));
    expect(pki.ok(['x509', '-inform', 'DER', '-in', caDerFile, '-noout', '-subject'])).toContain('Example Root CA');
    const caChain = await svc.api('GET', `/v1/cas/${caId}/certificate`, undefined, { accept: 'application/pem-certificate-chain' });
    expect(caChain.text.trim()).toBe(caPem.trim());

    const refused = await svc.api('GET', path, undefined, { accept: 'text/html' });
    expect([refused.status, refused.body.code]).toEqual([406, 'not_acceptable']);
  });

  it('ok/a CRL as PEM with Accept: application/x-pem-file, DER otherwise (even for an Accept it cannot meet)', async () => {
    const pem = await fetch(`${svc.url}/crl/${caId}.crl`, { headers: { accept: 'application/x-pem-file' } });
    expect(pem.headers.get('content-type')).toBe('application/x-pem-file');
    const text = await pem.text();
    expect(text).toMatch(/^-----BEGIN X509 CRL-----\n/);
    expect(pki.run(['crl', '-in', pki.file('served.crl.pem', text), '-noout', '-CAfile', 'ca.pem', '-verify']).out).toContain('verify OK');
    const der = await fetch(`${svc.url}/crl/${caId}.crl`, { headers: { accept: 'text/html' } });
    expect(der.headers.get('content-type')).toBe('application/pkix-crl');
    expect(pem.headers.get('etag')).not.toBe(der.headers.get('etag'));
    expect(der.headers.get('vary')).toBe('Accept');
  });

  it('ok/list items are light: names and dates, no chain; include=certificate adds only the PEM', async () => {
    await svc.api('POST', `/v1/cas/${caId}/certificates`, {
      csr: pki.csr({ subject: '/CN=list.example.internal', san: 'DNS:list.example.internal,IP:10.1.2.3,email:ops@example.internal,URI:spiffe://example.internal/list' }).csr,
      validity: { days: 2 },
    });
    const list = await svc.api('GET', `/v1/cas/${caId}/certificates?limit=1000`);
    const item = list.body.items.find((i: any) => i.subject === 'CN=list.example.internal');
    expect(item).toMatchObject({
      status: 'ISSUED',
      template: 'EndEntityCertificate/V1',
      subjectAlternativeNames: { dnsNames: ['list.example.internal'], ipAddresses: ['10.1.2.3'], emailAddresses: ['ops@example.internal'], uris: ['spiffe://example.internal/list'] },
    });
    expect(item.issuedAt).toBeTruthy();
    for (const i of list.body.items) {
      expect(i.chain).toBeUndefined();
      expect(i.certificate).toBeUndefined();
    }
    const full = await svc.api('GET', `/v1/cas/${caId}/certificates?limit=1000&include=certificate`);
    const withPem = full.body.items.find((i: any) => i.serial === item.serial);
    expect(withPem.chain).toBeUndefined();
    expect(pki.ok(['x509', '-noout', '-serial'], withPem.certificate).trim()).toBe(`serial=${item.serial.toUpperCase()}`);
    expect((await svc.api('GET', `/v1/cas/${caId}/certificates?include=chain`)).body.code).toBe('invalid_include');
  });

  it('ok/an upper-case CA id names the same CA on every kind of route, issuance and CRLs included', async () => {
    const up = caId.toUpperCase();
    expect((await svc.api('GET', `/v1/cas/${up}`)).body.id).toBe(caId);
    const leaf = await svc.api('POST', `/v1/cas/${up}/certificates`, { csr: pki.csr({ subject: '/CN=upper.example.internal' }).csr, validity: { days: 1 } });
    expect(leaf.status, leaf.text).toBe(201);
    expect((await svc.api('GET', `/v1/cas/${up}/certificates/${leaf.body.serial}`)).body.serial).toBe(leaf.body.serial);
    expect((await fetch(`${svc.url}/crl/${up}.crl`)).status).toBe(200);
  });

  it('fail/a tag key an object cannot hold (__proto__) or outside the tag alphabet is 400 with its pointer, and nothing changes', async () => {
    for (const raw of ['{"__proto__":"x"}', '{"a\\u0000b":"x"}', `{"${'k'.repeat(129)}":"x"}`]) {
      const body = `{"type":"ROOT","subject":{"commonName":"Tagged"},"keyAlgorithm":"EC_prime256v1","tags":${raw}}`;
      const res = await svc.api('POST', '/v1/cas', body);
      expect(res.status, res.text).toBe(400);
      expect(res.body.errors[0].path, res.text).toMatch(/^\/tags/);
      const patch = await svc.api('PATCH', `/v1/cas/${caId}`, `{"tags":${raw}}`);
      expect(patch.status, patch.text).toBe(400);
    }
    expect((await svc.db.query('SELECT 1 FROM cas WHERE subject->>\'commonName\' = \'Tagged\'')).rows).toHaveLength(0);
    expect((await svc.api('GET', `/v1/cas/${caId}`)).body.tags).toEqual({});
  });

  it('ok/the database runs with the settings the service gives it: a bounded page cache for the embedded one, a named pool for PostgreSQL', async () => {
    if (driver === 'pglite') {
      // PostgreSQL's default of 128MB of shared_buffers all stays resident in PGlite's WASM heap.
      expect((await svc.db.query<{ shared_buffers: string }>('SHOW shared_buffers')).rows[0]!.shared_buffers).toBe('32MB');
    } else {
      expect((await svc.db.query<{ application_name: string }>('SHOW application_name')).rows[0]!.application_name).toBe('privateca');
    }
  });
});
