import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpensslPki } from '../pki/openssl.ts';
import { DRIVERS, startService, type TestService } from '../support/service.ts';

const crlPem = (der: Buffer) => `-----BEGIN X509 CRL-----\n${der.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END X509 CRL-----\n`;

describe.each(DRIVERS)('partitioned CRLs (%s)', (driver) => {
  let svc: TestService;
  const pki = new OpensslPki();
  const base = 'http://crl.example.internal';
  beforeAll(async () => {
    // Two certificates per partition, so that a handful of certificates spans several partitions.
    svc = await startService(driver, { PRIVATECA_CRL_PARTITION_SIZE: '2' });
  });
  afterAll(() => svc?.close());

  const fetchCrl = async (path: string) => {
    const res = await fetch(svc.url + path);
    return { status: res.status, der: Buffer.from(await res.arrayBuffer()) };
  };

  async function crlText(path: string, until: (t: string) => boolean): Promise<{ text: string; der: Buffer }> {
    const deadline = Date.now() + 5000;
    for (;;) {
      const { status, der } = await fetchCrl(path);
      if (status === 200) {
        const text = pki.ok(['crl', '-noout', '-text'], crlPem(der));
        if (until(text)) return { text, der };
      }
      if (Date.now() > deadline) throw new Error(`${path}: not as expected within 5 s (status ${status})`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  it('ok/each certificate names its partition; a partition CRL lists only its revocations, with a critical IDP; openssl verify -crl_check agrees', async () => {
    const ca = await svc.api('POST', '/v1/cas', {
      type: 'ROOT',
      subject: { commonName: 'Partitioned Root' },
      keyAlgorithm: 'EC_prime256v1',
      revocation: { crl: { enabled: true, baseUrl: base, partitioned: true } },
    });
    expect(ca.status).toBe(201);
    const id = ca.body.id;
    const rootFile = pki.file(`proot-${id}.pem`, (await svc.api('GET', `/v1/cas/${id}/certificate`)).body.certificate);

    const leaves: { serial: string; certificate: string; partition: string }[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await svc.api('POST', `/v1/cas/${id}/certificates`, { csr: pki.csr({ subject: `/CN=p${i}.example.internal` }).csr, validity: { days: 2 } });
      expect(r.status).toBe(201);
      const text = pki.text(r.body.certificate);
      const m = new RegExp(`URI:${base}/crl/${id}/([a-z0-9-]{1,32})\\.crl`).exec(text);
      expect(m, 'CRL distribution point names a partition').not.toBeNull();
      // Exactly one distribution point (the AIA names the CA certificate under the same base too).
      expect(text.match(/URI:http[^\n]*\/crl\//g)?.length).toBe(1);
      leaves.push({ serial: r.body.serial, certificate: r.body.certificate, partition: m![1]! });
    }
    const partitions = [...new Set(leaves.map((l) => l.partition))];
    expect(partitions.length).toBeGreaterThanOrEqual(3);
    for (const p of partitions) expect(leaves.filter((l) => l.partition === p).length).toBeLessThanOrEqual(2);

    const victim = leaves[2]!;
    const other = leaves.find((l) => l.partition !== victim.partition)!;
    expect((await svc.api('POST', `/v1/cas/${id}/certificates/${victim.serial}/revoke`, { reason: 'CESSATION_OF_OPERATION' })).status).toBe(200);

    const own = await crlText(`/crl/${id}/${victim.partition}.crl`, (t) => t.includes(victim.serial.toUpperCase()));
    expect(own.text).toMatch(/X509v3 Issuing Distribution Point: critical/);
    expect(own.text).toContain(`URI:${base}/crl/${id}/${victim.partition}.crl`);
    expect(own.text).toContain('Cessation Of Operation');
    const otherCrl = await crlText(`/crl/${id}/${other.partition}.crl`, () => true);
    expect(otherCrl.text).not.toContain(victim.serial.toUpperCase());
    expect(otherCrl.text).toContain(`URI:${base}/crl/${id}/${other.partition}.crl`);
    const full = await crlText(`/crl/${id}.crl`, (t) => t.includes(victim.serial.toUpperCase()));
    expect(full.text).not.toContain('Issuing Distribution Point');

    const ownFile = pki.file(`pcrl-${id}-${victim.partition}.pem`, crlPem(own.der));
    expect(pki.run(['crl', '-in', ownFile, '-CAfile', rootFile, '-verify', '-noout']).out).toContain('verify OK');
    const revoked = pki.verify({ rootFile, leafPem: victim.certificate, extra: ['-crl_check', '-CRLfile', ownFile] });
    expect(revoked.out).toContain('certificate revoked');
    const otherFile = pki.file(`pcrl-${id}-${other.partition}.pem`, crlPem(otherCrl.der));
    const ok = pki.verify({ rootFile, leafPem: other.certificate, extra: ['-crl_check', '-CRLfile', otherFile] });
    expect(ok.out).toMatch(/: OK\s*$/);

    expect((await fetchCrl(`/crl/${id}/nope.crl`)).status).toBe(404);
    expect((await fetchCrl(`/crl/${id}/UPPER.crl`)).status).toBe(404);
  });
});
