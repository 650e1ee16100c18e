import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpensslPki } from '../pki/openssl.ts';
import { DRIVERS, startService, type TestService } from '../support/service.ts';

const fetchCrl = async (svc: TestService, id: string, headers: Record<string, string> = {}) => {
  const res = await fetch(`${svc.url}/crl/${id}.crl`, { headers });
  return { res, der: Buffer.from(await res.arrayBuffer()) };
};

const crlPem = (der: Buffer) => `-----BEGIN X509 CRL-----\n${der.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END X509 CRL-----\n`;

describe.each(DRIVERS)('CRLs served over HTTP (%s)', (driver) => {
  let svc: TestService;
  const pki = new OpensslPki();
  beforeAll(async () => {
    svc = await startService(driver);
  });
  afterAll(() => svc?.close());

  async function waitForCrl(id: string, predicate: (text: string) => boolean, ms = 5000): Promise<string> {
    const deadline = Date.now() + ms;
    for (;;) {
      const { res, der } = await fetchCrl(svc, id);
      if (res.status === 200) {
        const text = pki.ok(['crl', '-noout', '-text'], crlPem(der));
        if (predicate(text)) return text;
      }
      if (Date.now() > deadline) throw new Error(`CRL of ${id} did not satisfy the predicate within ${ms} ms (status ${res.status})`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  it.each(['EC_prime256v1', 'RSA_2048'])('ok/ROOT %s: a revoked leaf is in the served CRL within 5 s; openssl verify -crl_check says revoked / OK', async (keyAlgorithm) => {
    const ca = await svc.api('POST', '/v1/cas', {
      type: 'ROOT',
      subject: { commonName: `CRL Root ${keyAlgorithm}` },
      keyAlgorithm,
      revocation: { crl: { enabled: true, baseUrl: 'http://crl.example.internal', validityHours: 12 } },
    });
    expect(ca.status).toBe(201);
    const id = ca.body.id;
    const rootFile = pki.file(`root-${id}.pem`, (await svc.api('GET', `/v1/cas/${id}/certificate`)).body.certificate);
    await waitForCrl(id, (t) => t.includes('No Revoked Certificates'));

    const a = await svc.api('POST', `/v1/cas/${id}/certificates`, { csr: pki.csr({ subject: '/CN=a.example.internal' }).csr, validity: { days: 2 } });
    const b = await svc.api('POST', `/v1/cas/${id}/certificates`, { csr: pki.csr({ subject: '/CN=b.example.internal' }).csr, validity: { days: 2 } });
    const revokedAt = Date.now();
    const rv = await svc.api('POST', `/v1/cas/${id}/certificates/${a.body.serial}/revoke`, { reason: 'KEY_COMPROMISE' });
    expect(rv.status).toBe(200);

    const text = await waitForCrl(id, (t) => t.toUpperCase().includes(a.body.serial.toUpperCase()));
    expect(Date.now() - revokedAt).toBeLessThan(5000);
    expect(text).toContain('Key Compromise');
    expect(text).toMatch(/X509v3 CRL Number:\s*\n\s*\d+/);
    expect(text).not.toContain(b.body.serial.toUpperCase());

    const { res, der } = await fetchCrl(svc, id);
    expect(res.headers.get('content-type')).toBe('application/pkix-crl');
    const crlFile = pki.file(`crl-${id}.pem`, crlPem(der));
    expect(pki.run(['crl', '-in', crlFile, '-CAfile', rootFile, '-verify', '-noout']).out).toContain('verify OK');
    const revoked = pki.verify({ rootFile, leafPem: a.body.certificate, extra: ['-crl_check', '-CRLfile', crlFile] });
    expect(revoked.out).toContain('certificate revoked');
    expect(revoked.status).not.toBe(0);
    const ok = pki.verify({ rootFile, leafPem: b.body.certificate, extra: ['-crl_check', '-CRLfile', crlFile] });
    expect(ok.out).toMatch(/: OK\s*$/);
  });

  it('ok/ETag, 304 on If-None-Match even with no-cache, Cache-Control within nextUpdate; POST/GET /v1/cas/{id}/crl', async () => {
    const ca = await svc.api('POST', '/v1/cas', {
      type: 'ROOT',
      subject: { commonName: 'CRL Cache Root' },
      keyAlgorithm: 'EC_prime256v1',
      revocation: { crl: { enabled: true, validityHours: 1 } },
    });
    const id = ca.body.id;
    await waitForCrl(id, () => true);
    const first = await fetchCrl(svc, id);
    const etag = first.res.headers.get('etag')!;
    expect(etag).toMatch(/^"[^"]+"$/);
    expect(first.res.headers.get('last-modified')).toBeTruthy();
    const maxAge = Number(/max-age=(\d+)/.exec(first.res.headers.get('cache-control')!)![1]);
    expect(first.res.headers.get('cache-control')).toContain('public');
    expect(maxAge).toBeLessThanOrEqual(3600);
    const again = await fetchCrl(svc, id, { 'if-none-match': etag, 'cache-control': 'no-cache' });
    expect(again.res.status).toBe(304);

    const published = await svc.api('POST', `/v1/cas/${id}/crl`);
    expect(published.status).toBe(201);
    expect(published.body.crlNumber).toMatch(/^\d+$/);
    expect(published.body.revokedCount).toBe(0);
    expect(published.body.url).toMatch(new RegExp(`/crl/${id}\\.crl$`));
    expect(Date.parse(published.body.nextUpdate) - Date.parse(published.body.thisUpdate)).toBe(3600_000);
    const latest = await svc.api('GET', `/v1/cas/${id}/crl`);
    expect(latest.body).toEqual(published.body);
    const second = await svc.api('POST', `/v1/cas/${id}/crl`);
    expect(BigInt(second.body.crlNumber)).toBeGreaterThan(BigInt(published.body.crlNumber));
    const changed = await fetchCrl(svc, id, { 'if-none-match': etag });
    expect(changed.res.status).toBe(200);
    expect(changed.res.headers.get('etag')).not.toBe(etag);
  });

  it('fail/CRLs disabled: POST is 409 crl_disabled, GET /crl is 404; unknown CA 404', async () => {
    const ca = await svc.api('POST', '/v1/cas', { type: 'ROOT', subject: { commonName: 'No CRL Root' }, keyAlgorithm: 'EC_prime256v1' });
    const id = ca.body.id;
    const post = await svc.api('POST', `/v1/cas/${id}/crl`);
    expect(post.status).toBe(409);
    expect(post.body.code).toBe('crl_disabled');
    expect((await svc.api('GET', `/v1/cas/${id}/crl`)).status).toBe(404);
    expect((await fetchCrl(svc, id)).res.status).toBe(404);
    expect((await fetchCrl(svc, '00000000-0000-4000-8000-000000000000')).res.status).toBe(404);
  });

  it('ok/SUBORDINATE CA: CRL at import, revoked leaf found by openssl verify -crl_check with the chain', async () => {
    const root = pki.root({ subject: '/CN=Outside Root for CRL' });
    const ca = await svc.api('POST', '/v1/cas', {
      type: 'SUBORDINATE',
      subject: { commonName: 'CRL Issuing CA' },
      keyAlgorithm: 'EC_secp384r1',
      revocation: { crl: { enabled: true, baseUrl: 'http://crl.example.internal' } },
    });
    const id = ca.body.id;
    expect((await fetchCrl(svc, id)).res.status).toBe(404);
    const csr = (await svc.api('GET', `/v1/cas/${id}/csr`)).body.csr;
    const signed = pki.sign(csr, root, { ca: true });
    expect((await svc.api('POST', `/v1/cas/${id}/certificate`, { certificate: signed.cert, chain: root.cert })).status).toBe(200);
    await waitForCrl(id, () => true);
    const leaf = await svc.api('POST', `/v1/cas/${id}/certificates`, { csr: pki.csr({ subject: '/CN=sub-leaf.example.internal', key: pki.key('rsa:2048') }).csr, validity: { days: 2 } });
    await svc.api('POST', `/v1/cas/${id}/certificates/${leaf.body.serial}/revoke`, { reason: 'SUPERSEDED' });
    await waitForCrl(id, (t) => t.includes('Superseded'));
    const crlFile = pki.file(`sub-crl-${id}.pem`, crlPem((await fetchCrl(svc, id)).der));
    const v = pki.verify({ rootFile: root.certFile, chainPem: leaf.body.chain, leafPem: leaf.body.certificate, extra: ['-crl_check', '-CRLfile', crlFile] });
    expect(v.out).toContain('certificate revoked');
  });
});
