import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpensslPki } from '../pki/openssl.ts';
import { startService, type TestService } from '../support/service.ts';

/*
 * Issue 3, "A real TLS handshake": a Node `tls` server presents a certificate issued by the service;
 * a Node `tls` client that trusts the root and is given the CRL fetched over HTTP from
 * `/crl/{caId}.crl` fails for a revoked certificate (CERT_REVOKED) and succeeds otherwise.
 *
 * Node's `crl` option turns on X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL: every certificate of
 * the chain needs a CRL from its issuer, so with a SUBORDINATE CA the client gets the root's CRL
 * (for the subordinate CA's certificate) and the subordinate's (for the leaf).
 */

const crlPem = (der: Buffer) => `-----BEGIN X509 CRL-----\n${der.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END X509 CRL-----\n`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Handshake = { ok: true; authorized: boolean; peerSerial: string } | { ok: false; code: string; message: string };

/** One TLS server presenting `cert` (leaf first, then its chain), one client handshake against it. */
async function handshake(server: { key: string; cert: string }, client: { ca: string; crl?: string | string[] }): Promise<Handshake> {
  const srv = tls.createServer({ key: server.key, cert: server.cert }, (socket) => socket.end('hello'));
  srv.on('tlsClientError', () => {}); // the client's alert when it refuses us
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', () => resolve()));
  const port = (srv.address() as AddressInfo).port;
  try {
    return await new Promise<Handshake>((resolve) => {
      const socket = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca: client.ca, crl: client.crl }, () => {
        const peer = socket.getPeerCertificate();
        resolve({ ok: true, authorized: socket.authorized, peerSerial: peer.serialNumber.toLowerCase() });
        socket.end();
      });
      socket.on('error', (e: NodeJS.ErrnoException) => resolve({ ok: false, code: e.code ?? '', message: e.message }));
    });
  } finally {
    srv.close();
  }
}

describe('TLS handshakes with CRLs served over HTTP (pg)', () => {
  let svc: TestService;
  const pki = new OpensslPki();
  beforeAll(async () => {
    svc = await startService('pg');
  });
  afterAll(() => svc?.close());

  async function createCa(body: Record<string, unknown>): Promise<string> {
    const r = await svc.api('POST', '/v1/cas', { keyAlgorithm: 'EC_prime256v1', revocation: { crl: { enabled: true, baseUrl: 'http://crl.example.internal' } }, ...body });
    expect(r.status, r.text).toBe(201);
    return r.body.id;
  }

  /** A server certificate for localhost: openssl makes the key and CSR, the CA signs it. */
  async function issueServerCert(caId: string, name: string): Promise<{ serial: string; certificate: string; chain: string; key: string }> {
    const { csr, key } = pki.csr({ subject: `/CN=${name}`, san: 'DNS:localhost' });
    const r = await svc.api('POST', `/v1/cas/${caId}/certificates`, { csr, template: 'EndEntityServerAuthCertificate/V1', validity: { days: 2 } });
    expect(r.status, r.text).toBe(201);
    return { serial: r.body.serial, certificate: r.body.certificate, chain: r.body.chain, key: pki.read(key) };
  }

  /** GET /crl/{caId}.crl until its text satisfies `predicate`; returns the CRL in PEM. */
  async function waitForCrl(caId: string, predicate: (text: string) => boolean, ms = 5000): Promise<string> {
    const deadline = Date.now() + ms;
    for (;;) {
      const res = await fetch(`${svc.url}/crl/${caId}.crl`);
      const der = Buffer.from(await res.arrayBuffer());
      if (res.status === 200) {
        expect(res.headers.get('content-type')).toBe('application/pkix-crl');
        const pem = crlPem(der);
        if (predicate(pki.ok(['crl', '-noout', '-text'], pem))) return pem;
      }
      if (Date.now() > deadline) throw new Error(`the CRL of ${caId} did not get there within ${ms} ms (last status ${res.status})`);
      await sleep(100);
    }
  }
  const lists = (serial: string) => (text: string) => text.includes(`Serial Number: ${serial.toUpperCase()}`);

  describe('ROOT CA', () => {
    let rootPem: string;
    let crl: string;
    let good: Awaited<ReturnType<typeof issueServerCert>>;
    let bad: Awaited<ReturnType<typeof issueServerCert>>;
    beforeAll(async () => {
      const rootId = await createCa({ type: 'ROOT', subject: { commonName: 'TLS CRL Root' } });
      rootPem = (await svc.api('GET', `/v1/cas/${rootId}/certificate`)).body.certificate;
      good = await issueServerCert(rootId, 'good.localhost');
      bad = await issueServerCert(rootId, 'revoked.localhost');
      const revokedAt = Date.now();
      const rv = await svc.api('POST', `/v1/cas/${rootId}/certificates/${bad.serial}/revoke`, { reason: 'KEY_COMPROMISE' });
      expect(rv.status, rv.text).toBe(200);
      crl = await waitForCrl(rootId, lists(bad.serial));
      expect(Date.now() - revokedAt).toBeLessThan(5000);
    });

    it('ok/the good certificate handshakes with the CRL fetched over HTTP', async () => {
      expect(await handshake({ key: good.key, cert: good.certificate }, { ca: rootPem, crl })).toMatchObject({ ok: true, authorized: true, peerSerial: good.serial });
    });

    it('fail/the revoked certificate is refused with CERT_REVOKED', async () => {
      expect(await handshake({ key: bad.key, cert: bad.certificate }, { ca: rootPem, crl })).toMatchObject({ ok: false, code: 'CERT_REVOKED' });
    });

    it('ok/control: without the CRL the revoked certificate is accepted, so the CRL made the difference', async () => {
      expect(await handshake({ key: bad.key, cert: bad.certificate }, { ca: rootPem })).toMatchObject({ ok: true, authorized: true, peerSerial: bad.serial });
    });
  });

  describe('SUBORDINATE CA under a service ROOT (chain in the server cert option)', () => {
    let rootId: string;
    let rootPem: string;
    let subCertPem: string;
    let subCertSerial: string;
    let client: { ca: string; crl: string[] };
    let good: Awaited<ReturnType<typeof issueServerCert>>;
    let bad: Awaited<ReturnType<typeof issueServerCert>>;
    // The server sends its leaf and the subordinate CA's certificate; the client trusts the root only.
    const present = (c: typeof good) => ({ key: c.key, cert: `${c.certificate.trim()}\n${subCertPem.trim()}\n` });

    beforeAll(async () => {
      rootId = await createCa({ type: 'ROOT', subject: { commonName: 'TLS CRL Root 2' } });
      rootPem = (await svc.api('GET', `/v1/cas/${rootId}/certificate`)).body.certificate;
      const subId = await createCa({ type: 'SUBORDINATE', subject: { commonName: 'TLS CRL Issuing CA' } });
      const subCsr = (await svc.api('GET', `/v1/cas/${subId}/csr`)).body.csr as string;
      const subCert = await svc.api('POST', `/v1/cas/${rootId}/certificates`, { csr: subCsr, template: 'SubordinateCACertificate_PathLen0/V1', validity: { days: 30 } });
      expect(subCert.status, subCert.text).toBe(201);
      subCertPem = subCert.body.certificate;
      subCertSerial = subCert.body.serial;
      const imported = await svc.api('POST', `/v1/cas/${subId}/certificate`, { certificate: subCertPem, chain: rootPem });
      expect(imported.status, imported.text).toBe(200);

      good = await issueServerCert(subId, 'good.sub.localhost');
      bad = await issueServerCert(subId, 'revoked.sub.localhost');
      // The chain the service returns starts with the subordinate CA's certificate.
      expect(good.chain).toContain(subCertPem.trim());
      const rv = await svc.api('POST', `/v1/cas/${subId}/certificates/${bad.serial}/revoke`, { reason: 'SUPERSEDED' });
      expect(rv.status, rv.text).toBe(200);
      const subCrl = await waitForCrl(subId, lists(bad.serial));
      const rootCrl = await waitForCrl(rootId, (t) => t.includes('No Revoked Certificates'));
      client = { ca: rootPem, crl: [rootCrl, subCrl] };
    });

    it('ok/the good leaf handshakes with both CRLs', async () => {
      expect(await handshake(present(good), client)).toMatchObject({ ok: true, authorized: true, peerSerial: good.serial });
    });

    it('fail/the revoked leaf is refused with CERT_REVOKED', async () => {
      expect(await handshake(present(bad), client)).toMatchObject({ ok: false, code: 'CERT_REVOKED' });
    });

    it('fail/the subordinate CA revoked at the root: its good leaf is refused with CERT_REVOKED too', async () => {
      const rv = await svc.api('POST', `/v1/cas/${rootId}/certificates/${subCertSerial}/revoke`, { reason: 'CERTIFICATE_AUTHORITY_COMPROMISE' });
      expect(rv.status, rv.text).toBe(200);
      const rootCrl = await waitForCrl(rootId, lists(subCertSerial));
      expect(await handshake(present(good), { ca: rootPem, crl: [rootCrl, client.crl[1]!] })).toMatchObject({ ok: false, code: 'CERT_REVOKED' });
    });
  });
});
