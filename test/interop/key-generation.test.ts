import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpensslPki } from '../pki/openssl.ts';
import { DRIVERS, startService, type TestService } from '../support/service.ts';

/*
 * keyGeneration (docs/api.md "Certificates"): the service makes the key for a device that cannot;
 * the key comes back once, as encrypted PKCS#8 and inside a PKCS#12, both opened by the openssl CLI
 * with the passphrase only; the service keeps no copy; policies see the request's names and the
 * generated key's algorithm.
 */

const pki = new OpensslPki();
const PASS = 'correct horse battery staple';

describe.each(DRIVERS)('keyGeneration (%s)', (driver) => {
  let svc: TestService;
  let caId: string;
  let caFile: string;

  beforeAll(async () => {
    svc = await startService(driver);
    const ca = await svc.api('POST', '/v1/cas', { type: 'ROOT', subject: { commonName: `KeyGen Root ${driver}` }, keyAlgorithm: 'EC_prime256v1' });
    caId = ca.body.id;
    caFile = pki.file(`kg-ca-${driver}.pem`, (await svc.api('GET', `/v1/cas/${caId}/certificate`)).body.certificate);
  });
  afterAll(() => svc?.close());

  for (const keyAlgorithm of ['EC_prime256v1', 'EC_secp384r1', 'RSA_2048'] as const) {
    it(`ok/${keyAlgorithm}: the PKCS#8 and the PKCS#12 open with openssl and the passphrase; the key is the certificate's`, async () => {
      const keysBefore = Number((await svc.db.query<{ n: string }>('SELECT count(*) AS n FROM software_keys')).rows[0]!.n);
      const host = `device-${keyAlgorithm.toLowerCase().replace(/_/g, '-')}.example.internal`;
      const res = await svc.api('POST', `/v1/cas/${caId}/certificates`, {
        keyGeneration: {
          keyAlgorithm,
          passphrase: PASS,
          subject: { commonName: host, organization: 'Acme' },
          subjectAlternativeNames: { dnsNames: [host], ipAddresses: ['10.9.8.7'] },
        },
        template: 'EndEntityClientAuthCertificate/V1',
        validity: { days: 30 },
      });
      expect(res.status, res.text).toBe(201);
      expect(res.body.privateKey).toMatch(/^-----BEGIN ENCRYPTED PRIVATE KEY-----/);
      const keyFile = pki.file(`kg-${driver}-${keyAlgorithm}.key`, res.body.privateKey);
      const certFile = pki.file(`kg-${driver}-${keyAlgorithm}.pem`, res.body.certificate);
      const p12File = pki.file(`kg-${driver}-${keyAlgorithm}.p12`);
      writeFileSync(p12File, Buffer.from(res.body.pkcs12, 'base64'));

      // Without the passphrase nothing opens.
      expect(pki.run(['pkey', '-in', keyFile, '-passin', 'pass:wrong passphrase!', '-noout']).status).not.toBe(0);
      expect(pki.run(['pkcs12', '-in', p12File, '-passin', 'pass:wrong passphrase!', '-noout']).status).not.toBe(0);

      const keyPub = pki.ok(['pkey', '-in', keyFile, '-passin', `pass:${PASS}`, '-pubout']);
      const certPub = pki.ok(['x509', '-in', certFile, '-noout', '-pubkey']);
      expect(keyPub).toBe(certPub);
      const text = pki.text(res.body.certificate);
      expect(text).toContain(`DNS:${host}`);
      expect(text).toContain('IP Address:10.9.8.7');
      expect(text).toContain(keyAlgorithm.startsWith('RSA') ? 'rsaEncryption' : 'id-ecPublicKey');
      expect(pki.verify({ rootFile: caFile, leafPem: res.body.certificate, extra: ['-purpose', 'sslclient'] }).out).toContain('OK');

      // openssl 3 without -legacy: the key, the certificate and the CA certificate, MAC verified.
      const info = pki.run(['pkcs12', '-in', p12File, '-passin', `pass:${PASS}`, '-info', '-noout']);
      expect(info.status, info.out).toBe(0);
      expect(info.out).toContain('AES-256-CBC');
      const dump = pki.ok(['pkcs12', '-in', p12File, '-passin', `pass:${PASS}`, '-nodes']);
      expect(dump.match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
      const p12Key = pki.file(`kg-${driver}-${keyAlgorithm}-p12.key`, dump.slice(dump.indexOf('-----BEGIN PRIVATE KEY-----')));
      expect(pki.ok(['pkey', '-in', p12Key, '-pubout'])).toBe(certPub);

      // The service kept no key: not in the database, and the audit event says a key was made, with its public key's hash.
      const der = Buffer.from(certPub.replace(/-----[^-]+-----/g, '').replace(/\s/g, ''), 'base64');
      const spkiHash = (await import('node:crypto')).createHash('sha256').update(der).digest('hex');
      const event = await svc.db.query<{ details: Record<string, unknown> }>(
        "SELECT details FROM audit_events WHERE action = 'privateca:IssueCertificate' AND details->>'serial' = $1",
        [res.body.serial],
      );
      expect(event.rows[0]!.details).toMatchObject({ keyGenerated: true, publicKeySha256: spkiHash });
      expect(JSON.stringify(event.rows[0]!.details)).not.toMatch(/PRIVATE KEY|passphrase|correct horse/);
      // Nor in the software key store's table, nor in any certificate row.
      expect(Number((await svc.db.query<{ n: string }>('SELECT count(*) AS n FROM software_keys')).rows[0]!.n)).toBe(keysBefore);
      const keyDerFile = pki.file(`kg-${driver}-${keyAlgorithm}.der`);
      pki.ok(['pkey', '-in', p12Key, '-outform', 'DER', '-out', keyDerFile]);
      const leaked = await svc.db.query<{ n: string }>('SELECT count(*) AS n FROM certificates WHERE position($1::bytea in der) > 0', [readFileSync(keyDerFile)]);
      expect(Number(leaked.rows[0]!.n)).toBe(0);
    });
  }

  it('fail/both csr and keyGeneration, neither, a short passphrase, an idempotency token: 400, nothing issued', async () => {
    const before = (await svc.api('GET', `/v1/cas/${caId}/certificates?limit=1000`)).body.items.length;
    const kg = { keyAlgorithm: 'EC_prime256v1', passphrase: PASS, subject: { commonName: 'x.example.internal' } };
    for (const body of [
      { csr: pki.csr({ subject: '/CN=x' }).csr, keyGeneration: kg, validity: { days: 1 } },
      { validity: { days: 1 } },
      { keyGeneration: { ...kg, passphrase: 'short' }, validity: { days: 1 } },
      { keyGeneration: { ...kg, keyAlgorithm: 'DSA_1024' }, validity: { days: 1 } },
      { keyGeneration: kg, validity: { days: 1 }, idempotencyToken: 'once' },
      { keyGeneration: { ...kg, subject: {} }, validity: { days: 1 } },
    ]) {
      const res = await svc.api('POST', `/v1/cas/${caId}/certificates`, body);
      expect(res.status, JSON.stringify(body).slice(0, 80)).toBe(400);
      expect(JSON.stringify(res.body)).not.toContain(PASS);
      expect(res.body.code).toMatch(/^(invalid_request|empty_subject)$/);
    }
    const neither = await svc.api('POST', `/v1/cas/${caId}/certificates`, { validity: { days: 1 } });
    expect(neither.body.errors).toEqual([{ path: '/csr', message: expect.stringMatching(/^expected exactly one of csr and keyGeneration/) }]);
    expect((await svc.api('GET', `/v1/cas/${caId}/certificates?limit=1000`)).body.items.length).toBe(before);
  });
});
