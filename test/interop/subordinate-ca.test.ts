import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpensslPki } from '../pki/openssl.ts';
import { DRIVERS, startService, type TestService } from '../support/service.ts';

describe.each(DRIVERS)('subordinate CA signed by an OpenSSL root (%s)', (driver) => {
  let svc: TestService;
  const pki = new OpensslPki();
  let root: ReturnType<OpensslPki['root']>;
  beforeAll(async () => {
    svc = await startService(driver);
    root = pki.root({ keySpec: 'rsa:2048', subject: '/C=US/O=Outside/CN=Outside Root' });
  });
  afterAll(() => svc?.close());

  it('ok/create → CSR → openssl signs → import → issue → openssl verify', async () => {
    const created = await svc.api('POST', '/v1/cas', {
      type: 'SUBORDINATE',
      subject: { commonName: 'Issuing CA 1', organization: 'Acme', country: 'US' },
      keyAlgorithm: 'EC_secp384r1',
      revocation: { crl: { enabled: true, baseUrl: 'http://crl.acme.internal' } },
    });
    expect(created.status).toBe(201);
    expect(created.body.status).toBe('PENDING_CERTIFICATE');
    expect(created.body.signingAlgorithm).toBe('SHA384WITHECDSA');
    const id = created.body.id;

    const pending = await svc.api('POST', `/v1/cas/${id}/certificates`, { csr: pki.csr({ subject: '/CN=x' }).csr, validity: { days: 1 } });
    expect(pending.status).toBe(409);
    expect(pending.body.code).toBe('ca_not_active');

    const csr = await svc.api('GET', `/v1/cas/${id}/csr`);
    expect(csr.status).toBe(200);
    expect(pki.ok(['req', '-noout', '-verify', '-subject'], csr.body.csr)).toMatch(/CN\s*=\s*Issuing CA 1/);

    const signed = pki.sign(csr.body.csr, root, { ca: true, pathLen: 0 });
    const imported = await svc.api('POST', `/v1/cas/${id}/certificate`, { certificate: signed.cert, chain: root.cert });
    expect(imported.status).toBe(200);
    expect(imported.body.status).toBe('ACTIVE');
    expect(imported.body.notAfter).toBeTruthy();

    const leaf = pki.csr({ subject: '/O=Acme/CN=api.acme.internal', san: 'DNS:api.acme.internal,DNS:api2.acme.internal,IP:10.1.2.3,email:ops@acme.internal,URI:spiffe://acme/api' });
    const issued = await svc.api('POST', `/v1/cas/${id}/certificates`, { csr: leaf.csr, validity: { days: 7 } });
    expect(issued.status).toBe(201);
    expect(issued.body.serial).toMatch(/^[0-9a-f]{32}$/);
    const chainFile = pki.file('served-chain.pem', issued.body.chain);
    const v = pki.verify({ rootFile: root.certFile, chainPem: issued.body.chain, leafPem: issued.body.certificate });
    expect(v.out).toMatch(/: OK\s*$/);
    expect(v.status).toBe(0);
    expect(chainFile).toBeTruthy();

    const text = pki.text(issued.body.certificate);
    expect(text).toContain('DNS:api.acme.internal, DNS:api2.acme.internal, IP Address:10.1.2.3, email:ops@acme.internal, URI:spiffe://acme/api');
    expect(text).toContain(`URI:http://crl.acme.internal/crl/${id}.crl`);
    expect(text).toContain('ecdsa-with-SHA384');
    expect(pki.ok(['x509', '-noout', '-serial'], issued.body.certificate).trim().toLowerCase()).toBe(`serial=${issued.body.serial}`);

    const got = await svc.api('GET', `/v1/cas/${id}/certificates/${issued.body.serial.toUpperCase()}`);
    expect(got.status).toBe(200);
    expect(got.body.certificate).toBe(issued.body.certificate);
    expect(got.body.status).toBe('ISSUED');
  });
});
