import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CaResponse, OcspStatusResponse } from '../../api/responses.ts';
import { OpensslPki } from '../pki/openssl.ts';
import { DRIVERS, startService, type TestService } from '../support/service.ts';

/*
 * What the console shows on a CA's page besides the CA itself: the issuer of its certificate (`issuer`
 * on the CA, as openssl reads it) and GET /v1/cas/{caId}/ocsp, the OCSP settings with the responder
 * certificate that the first answer makes.
 */

const DAY = 86_400_000;
const pki = new OpensslPki();

/** An RFC 2253 name as `openssl -nameopt RFC2253` prints it, by attribute (no escaped commas in these tests). */
const rfc2253 = (line: string): Record<string, string> => Object.fromEntries(line.trim().replace(/^(issuer|subject)=/, '').split(',').map((p) => p.split('=') as [string, string]));

describe.each(DRIVERS)('CA issuer and OCSP responder status (%s)', (driver) => {
  let svc: TestService;
  beforeAll(async () => {
    svc = await startService(driver);
  });
  afterAll(() => svc?.close());

  const createCa = async (body: Record<string, unknown>) => {
    const res = await svc.api('POST', '/v1/cas', { keyAlgorithm: 'EC_prime256v1', ...body });
    expect(res.status, res.text).toBe(201);
    return res.body;
  };
  const caPem = async (id: string): Promise<string> => (await svc.api('GET', `/v1/cas/${id}/certificate`)).body.certificate;
  const ocspStatus = (id: string, headers?: Record<string, string>) => svc.api('GET', `/v1/cas/${id}/ocsp`, undefined, headers);

  it("ok/a ROOT's issuer is its subject; a SUBORDINATE's is the subject of the CA that signed it, as openssl reads it; a pending CA has none", async () => {
    const rootSubject = { commonName: `Issuer Root ${driver}`, organization: 'Acme Issuers', organizationalUnit: 'PKI', country: 'DE' };
    const root = await createCa({ type: 'ROOT', subject: rootSubject });
    expect(root.issuer).toEqual(rootSubject);
    expect((await svc.api('GET', `/v1/cas/${root.id}`)).body.issuer).toEqual(rootSubject);
    const listed = (await svc.api('GET', '/v1/cas?limit=1000')).body.items.find((c: any) => c.id === root.id);
    expect(listed.issuer).toEqual(rootSubject);

    const sub = await createCa({ type: 'SUBORDINATE', subject: { commonName: `Issuer Sub ${driver}`, organization: 'Acme Subs' } });
    expect(sub.status).toBe('PENDING_CERTIFICATE');
    expect(sub).not.toHaveProperty('issuer');
    expect((await svc.api('GET', `/v1/cas/${sub.id}`)).body).not.toHaveProperty('issuer');

    const csr = (await svc.api('GET', `/v1/cas/${sub.id}/csr`)).body.csr as string;
    const signed = await svc.api('POST', `/v1/cas/${root.id}/certificates`, { csr, template: 'SubordinateCACertificate_PathLen0/V1', validity: { days: 30 } });
    expect(signed.status, signed.text).toBe(201);
    const imported = await svc.api('POST', `/v1/cas/${sub.id}/certificate`, { certificate: signed.body.certificate, chain: await caPem(root.id) });
    expect(imported.status, imported.text).toBe(200);
    expect(imported.body.issuer).toEqual(rootSubject);
    const described = await svc.api('GET', `/v1/cas/${sub.id}`);
    expect(CaResponse.safeParse(described.body).error).toBeUndefined();
    expect(described.body.issuer).toEqual(rootSubject);
    expect(described.body.subject).toEqual({ commonName: `Issuer Sub ${driver}`, organization: 'Acme Subs' });

    // What openssl reads as the issuer of the CA's own certificate.
    const issuer = rfc2253(pki.ok(['x509', '-noout', '-issuer', '-nameopt', 'RFC2253'], await caPem(sub.id)));
    expect({ commonName: described.body.issuer.commonName, organization: described.body.issuer.organization }).toEqual({ commonName: issuer.CN, organization: issuer.O });
    expect(issuer).toEqual({ CN: rootSubject.commonName, OU: 'PKI', O: 'Acme Issuers', C: 'DE' });
  });

  it('ok/with OCSP on: the URL its certificates carry, no responder before the first answer, then the responder certificate that signed it', async () => {
    const ca = await createCa({ type: 'ROOT', subject: { commonName: `OCSP Status ${driver}`, organization: 'Acme' }, revocation: { ocsp: { enabled: true, baseUrl: 'http://ocsp.acme.internal/', validityHours: 6 } } });
    const before = await ocspStatus(ca.id);
    expect(before.status, before.text).toBe(200);
    expect(before.body).toEqual({ enabled: true, url: `http://ocsp.acme.internal/ocsp/${ca.id}`, validityHours: 6, responderKeyStore: 'software', responder: null });

    const leaf = await svc.api('POST', `/v1/cas/${ca.id}/certificates`, { csr: pki.csr({ subject: `/CN=ocsp-status-${driver}.acme.internal` }).csr, validity: { days: 10 } });
    expect(leaf.status, leaf.text).toBe(201);
    const leafFile = pki.file(`${ca.id}-leaf.pem`, leaf.body.certificate);
    expect(pki.ok(['x509', '-noout', '-ocsp_uri', '-in', leafFile]).trim()).toBe(before.body.url);

    // One answer (POST /ocsp/{caId}, to the service itself) makes the CA's responder.
    const caFile = pki.file(`${ca.id}.pem`, await caPem(ca.id));
    pki.ok(['ocsp', '-issuer', caFile, '-cert', leafFile, '-no_nonce', '-reqout', `${ca.id}.req`]);
    const answer = await fetch(`${svc.url}/ocsp/${ca.id}`, { method: 'POST', headers: { 'content-type': 'application/ocsp-request' }, body: readFileSync(pki.file(`${ca.id}.req`)) });
    expect(answer.status).toBe(200);
    const respFile = pki.file(`${ca.id}.resp`);
    writeFileSync(respFile, Buffer.from(await answer.arrayBuffer()));
    const text = pki.ok(['ocsp', '-respin', respFile, '-resp_text', '-noverify']);
    // The responder certificate the answer carries: its serial, as openssl prints it.
    const certText = text.slice(text.indexOf('Certificate:'));
    const serial = /Serial Number:\s*\n?\s*([0-9a-f:]+)/i.exec(certText)![1]!.replace(/:/g, '').toLowerCase();

    const after = await ocspStatus(ca.id);
    expect(after.status, after.text).toBe(200);
    expect(after.body).toMatchObject({ enabled: true, url: before.body.url, validityHours: 6, responderKeyStore: 'software' });
    expect(OcspStatusResponse.safeParse(after.body).error).toBeUndefined();
    const r = after.body.responder;
    expect(r.serial).toBe(serial.replace(/^(00)+(?=..)/, ''));
    expect(Math.abs(new Date(r.notAfter).getTime() - (Date.now() + 30 * DAY))).toBeLessThan(5 * 60_000);
    expect(new Date(r.notBefore).getTime()).toBeLessThanOrEqual(Date.now());
    expect(r.subject).toMatch(new RegExp(`^CN=OCSP Status ${driver} OCSP Responder,O=Acme$`));
    // It is a certificate of the CA like any other.
    expect((await svc.api('GET', `/v1/cas/${ca.id}/certificates/${r.serial}`)).body.template).toBe('OCSPSigningCertificate/V1');
  });

  it('ok/with OCSP off: enabled false and no URL', async () => {
    const ca = await createCa({ type: 'ROOT', subject: { commonName: `No OCSP ${driver}` } });
    const res = await ocspStatus(ca.id);
    expect(res.status, res.text).toBe(200);
    expect(res.body).toEqual({ enabled: false, url: null, validityHours: 24, responderKeyStore: 'software', responder: null });
    const pending = await createCa({ type: 'SUBORDINATE', subject: { commonName: `Pending OCSP ${driver}` }, revocation: { ocsp: { enabled: true, responderKeyStore: 'ca' } } });
    expect((await ocspStatus(pending.id)).body).toEqual({ enabled: true, url: `${svc.url}/ocsp/${pending.id}`, validityHours: 24, responderKeyStore: 'ca', responder: null });
  });

  it('fail/a principal without DescribeCertificateAuthority is 403 access_denied; an unknown CA is 404 ca_not_found to one with it, 403 to one without', async () => {
    const ca = await createCa({ type: 'ROOT', subject: { commonName: `OCSP Authz ${driver}` }, revocation: { ocsp: { enabled: true } } });
    const policy = await svc.api('POST', '/v1/policies', { name: `ocsp-status-other-${driver}`, document: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['privateca:DescribeCrl', 'privateca:GetCertificate'], Resource: '*' }] } });
    expect(policy.status, policy.text).toBe(201);
    const p = await svc.api('POST', '/v1/principals', { name: `ocsp-status-reader-${driver}`, policies: [policy.body.id] });
    const auth = { authorization: `Bearer ${(await svc.api('POST', `/v1/principals/${p.body.id}/tokens`, {})).body.token}` };
    const unknown = '00000000-0000-4000-8000-000000000000';

    const denied = await ocspStatus(ca.id, auth);
    expect([denied.status, denied.body.code, denied.body.action]).toEqual([403, 'access_denied', 'privateca:DescribeCertificateAuthority']);
    expect((await ocspStatus(unknown, auth)).status).toBe(403);

    const describe = await svc.api('POST', '/v1/policies', { name: `ocsp-status-describe-${driver}`, document: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'privateca:DescribeCertificateAuthority', Resource: '*' }] } });
    await svc.api('PATCH', `/v1/principals/${p.body.id}`, { policies: [policy.body.id, describe.body.id] });
    expect((await ocspStatus(ca.id, auth)).status).toBe(200);
    const missing = await ocspStatus(unknown, auth);
    expect([missing.status, missing.body.code]).toEqual([404, 'ca_not_found']);
    expect((await ocspStatus('not-a-uuid')).body.code).toBe('invalid_id');
  });
});
