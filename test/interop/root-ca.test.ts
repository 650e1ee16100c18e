import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpensslPki } from '../pki/openssl.ts';
import { DRIVERS, startService, type Driver, type TestService } from '../support/service.ts';

/*
 * ROOT CAs made by the service, checked from the outside with the openssl CLI: the root certificate
 * itself, leaves of every template, chains that openssl accepts as returned, and validity.
 */

const DAY = 86_400_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface AlgorithmCase {
  keyAlgorithm: string;
  /** The signingAlgorithm docs/api.md gives the key by default. */
  signingAlgorithm: string;
  /** How `openssl x509 -text` names that signature algorithm. */
  opensslSignature: string;
  /** What `openssl x509 -text` says of the public key. */
  publicKey: RegExp;
  /** RSA 3072/4096 keys are slow to make: one driver each is enough. */
  drivers: Driver[];
}

const ALGORITHMS: AlgorithmCase[] = [
  {
    keyAlgorithm: 'EC_prime256v1',
    signingAlgorithm: 'SHA256WITHECDSA',
    opensslSignature: 'ecdsa-with-SHA256',
    publicKey: /Public-Key: \(256 bit\)[\s\S]*ASN1 OID: prime256v1/,
    drivers: DRIVERS,
  },
  {
    keyAlgorithm: 'EC_secp384r1',
    signingAlgorithm: 'SHA384WITHECDSA',
    opensslSignature: 'ecdsa-with-SHA384',
    publicKey: /Public-Key: \(384 bit\)[\s\S]*ASN1 OID: secp384r1/,
    drivers: DRIVERS,
  },
  {
    keyAlgorithm: 'EC_secp521r1',
    signingAlgorithm: 'SHA512WITHECDSA',
    opensslSignature: 'ecdsa-with-SHA512',
    publicKey: /Public-Key: \(521 bit\)[\s\S]*ASN1 OID: secp521r1/,
    drivers: DRIVERS,
  },
  {
    keyAlgorithm: 'RSA_2048',
    signingAlgorithm: 'SHA256WITHRSA',
    opensslSignature: 'sha256WithRSAEncryption',
    publicKey: /Public-Key: \(2048 bit\)[\s\S]*Exponent: 65537/,
    drivers: DRIVERS,
  },
  {
    keyAlgorithm: 'RSA_3072',
    signingAlgorithm: 'SHA256WITHRSA',
    opensslSignature: 'sha256WithRSAEncryption',
    publicKey: /Public-Key: \(3072 bit\)/,
    drivers: ['pg'],
  },
  {
    keyAlgorithm: 'RSA_4096',
    signingAlgorithm: 'SHA256WITHRSA',
    opensslSignature: 'sha256WithRSAEncryption',
    publicKey: /Public-Key: \(4096 bit\)/,
    drivers: ['pglite'],
  },
];

interface TemplateExpectation {
  ca: boolean;
  pathLen?: number;
  keyUsageEc: string[];
  keyUsageRsa: string[];
  extendedKeyUsage: string[];
  ocspNoCheck: boolean;
}

const SERVER_AUTH = 'TLS Web Server Authentication';
const CLIENT_AUTH = 'TLS Web Client Authentication';
// RFC 5280 4.2.1.12: with clientAuth, only digitalSignature and/or keyAgreement; keyEncipherment
// (RSA key transport) only for server-only certificates.
const endEntity = (eku: string[]): TemplateExpectation => ({
  ca: false,
  keyUsageEc: ['Digital Signature'],
  keyUsageRsa: eku.includes(CLIENT_AUTH) ? ['Digital Signature'] : ['Digital Signature', 'Key Encipherment'],
  extendedKeyUsage: eku,
  ocspNoCheck: false,
});
const subordinate = (pathLen: number): TemplateExpectation => ({
  ca: true,
  pathLen,
  keyUsageEc: ['Certificate Sign', 'CRL Sign', 'Digital Signature'],
  keyUsageRsa: ['Certificate Sign', 'CRL Sign', 'Digital Signature'],
  extendedKeyUsage: [],
  ocspNoCheck: false,
});

/** The nine templates of docs/api.md, named as AWS Private CA names them, and what each must produce. */
const TEMPLATES: Record<string, TemplateExpectation> = {
  'EndEntityCertificate/V1': endEntity([SERVER_AUTH, CLIENT_AUTH]),
  'EndEntityServerAuthCertificate/V1': endEntity([SERVER_AUTH]),
  'EndEntityClientAuthCertificate/V1': endEntity([CLIENT_AUTH]),
  'CodeSigningCertificate/V1': {
    ca: false,
    keyUsageEc: ['Digital Signature'],
    keyUsageRsa: ['Digital Signature'],
    extendedKeyUsage: ['Code Signing'],
    ocspNoCheck: false,
  },
  'OCSPSigningCertificate/V1': {
    ca: false,
    keyUsageEc: ['Digital Signature'],
    keyUsageRsa: ['Digital Signature'],
    extendedKeyUsage: ['OCSP Signing'],
    ocspNoCheck: true,
  },
  'SubordinateCACertificate_PathLen0/V1': subordinate(0),
  'SubordinateCACertificate_PathLen1/V1': subordinate(1),
  'SubordinateCACertificate_PathLen2/V1': subordinate(2),
  'SubordinateCACertificate_PathLen3/V1': subordinate(3),
};

/** One extension of `openssl x509 -text`: whether it is critical and its value lines. */
function extension(text: string, name: string): { critical: boolean; value: string } | undefined {
  const lines = text.split('\n');
  const i = lines.findIndex((l) => l.trim().startsWith(`${name}:`));
  if (i < 0) return undefined;
  const indent = lines[i]!.search(/\S/);
  const value: string[] = [];
  for (let j = i + 1; j < lines.length; j++) {
    const line = lines[j]!;
    if (line.trim() === '') continue;
    if (line.search(/\S/) <= indent) break;
    value.push(line.trim());
  }
  return { critical: /:\s*critical\s*$/.test(lines[i]!), value: value.join('\n') };
}

const list = (value: string | undefined) => (value ?? '').split(/,\s*/).map((s) => s.trim()).filter(Boolean).sort();
const keyId = (value: string | undefined) => (value ?? '').replace(/^keyid:/, '').trim();

/*
 * One openssl test PKI for the whole file: keys and CSRs are made once and reused by both drivers
 * (each openssl process costs tens of milliseconds, so the checks batch what they can).
 */
const pki = new OpensslPki();
let fileNo = 0;
const fileOf = (pem: string, prefix = 'x') => pki.file(`${prefix}${++fileNo}.pem`, pem);

interface Inspected {
  text: string;
  serial: string;
  subject: Record<string, string>;
  issuer: Record<string, string>;
  notBefore: Date;
  notAfter: Date;
}

/** One `openssl x509` run: serial (lowercased), dates, subject and issuer (multiline), and -text. */
function inspect(pem: string): Inspected {
  const out = pki.ok(['x509', '-noout', '-serial', '-dates', '-dateopt', 'iso_8601', '-subject', '-issuer', '-nameopt', 'multiline', '-text'], pem);
  const fields = (block: string) => {
    const f: Record<string, string> = {};
    for (const m of block.matchAll(/^\s+(\w+)\s+= (.*)$/gm)) f[m[1]!] = m[2]!;
    return f;
  };
  const date = (k: string) => {
    const m = out.match(new RegExp(`^${k}=(\\S+) (\\S+)$`, 'm'));
    if (!m) throw new Error(`no ${k} in openssl output`);
    return new Date(`${m[1]}T${m[2]}`);
  };
  const subjectAt = out.indexOf('\nsubject=');
  const issuerAt = out.indexOf('\nissuer=');
  const textAt = out.indexOf('\nCertificate:');
  return {
    serial: out.match(/^serial=([0-9A-F]+)$/m)![1]!.toLowerCase(),
    notBefore: date('notBefore'),
    notAfter: date('notAfter'),
    subject: fields(out.slice(subjectAt, issuerAt)),
    issuer: fields(out.slice(issuerAt, textAt)),
    text: out.slice(textAt + 1),
  };
}

/**
 * `openssl verify -CAfile root [-untrusted chain] [extra] leaf…` in one run: whether each leaf is OK,
 * and the whole output for failure messages.
 */
function verifyAll(rootFile: string, chainPem: string, leaves: string[], extra: string[] = []): { ok: boolean[]; status: number; out: string } {
  const files = leaves.map((pem) => fileOf(pem, 'leaf'));
  const args = ['verify', '-CAfile', rootFile];
  if (chainPem) args.push('-untrusted', fileOf(chainPem, 'chain'));
  const r = pki.run([...args, ...extra, ...files]);
  return { ...r, ok: files.map((f) => r.out.split('\n').includes(`${f}: OK`)) };
}

const SAN_TEXT =
  'DNS:web.acme.internal, DNS:*.web.acme.internal, IP Address:10.0.0.7, IP Address:FD00:0:0:0:0:0:0:7, email:web@acme.internal, URI:spiffe://acme.internal/web';

let csrs: {
  /** Leaf CSRs with DNS, IP (v4 and v6), email and URI SANs, per subject key family. */
  san: Record<'EC' | 'RSA', string>;
  /** Plain leaf CSRs with a CN and one DNS SAN, per family. */
  plain: Record<'EC' | 'RSA', string>;
  cnOnly: string;
  emptySubject: string;
};

beforeAll(() => {
  const ecKey = pki.key('ec:P-256');
  const rsaKey = pki.key('rsa:2048');
  const san = 'DNS:web.acme.internal,DNS:*.web.acme.internal,IP:10.0.0.7,IP:fd00::7,email:web@acme.internal,URI:spiffe://acme.internal/web';
  csrs = {
    san: {
      EC: pki.csr({ key: ecKey, subject: '/O=Acme/CN=web.acme.internal', san }).csr,
      RSA: pki.csr({ key: rsaKey, subject: '/O=Acme/CN=web.acme.internal', san }).csr,
    },
    plain: {
      EC: pki.csr({ key: ecKey, subject: '/CN=tpl.acme.internal', san: 'DNS:tpl.acme.internal' }).csr,
      RSA: pki.csr({ key: rsaKey, subject: '/CN=tpl.acme.internal', san: 'DNS:tpl.acme.internal' }).csr,
    },
    cnOnly: pki.csr({ key: rsaKey, subject: '/CN=only-cn.acme.internal' }).csr,
    emptySubject: pki.csr({ key: ecKey, subject: '/', san: 'DNS:nosubject.acme.internal,URI:spiffe://acme.internal/nosubject' }).csr,
  };
});

describe.each(DRIVERS)('ROOT CA checked with openssl (%s)', (driver) => {
  let svc: TestService;

  async function createRoot(body: Record<string, unknown>): Promise<{ id: string; ca: any; rootPem: string; rootFile: string }> {
    const created = await svc.api('POST', '/v1/cas', { type: 'ROOT', ...body });
    expect(created.status, created.text).toBe(201);
    const got = await svc.api('GET', `/v1/cas/${created.body.id}/certificate`);
    expect(got.status, got.text).toBe(200);
    return { id: created.body.id, ca: created.body, rootPem: got.body.certificate, rootFile: fileOf(got.body.certificate, 'root') };
  }

  async function issue(caId: string, body: Record<string, unknown>) {
    const res = await svc.api('POST', `/v1/cas/${caId}/certificates`, { validity: { days: 30 }, ...body });
    expect(res.status, res.text).toBe(201);
    return res.body as { serial: string; certificate: string; chain: string; notBefore: string; notAfter: string };
  }

  let p256: Awaited<ReturnType<typeof createRoot>>;

  beforeAll(async () => {
    svc = await startService(driver);
    p256 = await createRoot({ subject: { commonName: 'Template Root', organization: 'Acme' }, keyAlgorithm: 'EC_prime256v1' });
  });
  afterAll(() => svc?.close());

  it.each(ALGORITHMS.filter((a) => a.drivers.includes(driver)))(
    'ok/ROOT $keyAlgorithm: 201 ACTIVE, self-signed CA certificate, EC and RSA leaves with SANs verify with openssl',
    async (a) => {
      const subject = {
        commonName: `Acme Root ${a.keyAlgorithm}`,
        organization: 'Acme Corp',
        organizationalUnit: 'Security',
        country: 'DE',
        state: 'Berlin',
        locality: 'Kreuzberg',
        serialNumber: 'R-0001',
        emailAddress: 'pki@acme.example',
      };
      const t0 = Date.now();
      const created = await svc.api('POST', '/v1/cas', { type: 'ROOT', subject, keyAlgorithm: a.keyAlgorithm });
      const t1 = Date.now();
      expect(created.status, created.text).toBe(201);
      expect(created.body).toMatchObject({
        type: 'ROOT',
        status: 'ACTIVE',
        subject,
        keyAlgorithm: a.keyAlgorithm,
        signingAlgorithm: a.signingAlgorithm,
        keyStore: { type: 'software' },
      });
      const id: string = created.body.id;
      expect(id).toMatch(UUID);

      const got = await svc.api('GET', `/v1/cas/${id}/certificate`);
      expect(got.status, got.text).toBe(200);
      expect(got.body.chain).toBe('');
      const rootPem: string = got.body.certificate;
      expect(rootPem).toMatch(/^-----BEGIN CERTIFICATE-----\n[\s\S]+\n-----END CERTIFICATE-----\n?$/);
      const rootFile = fileOf(rootPem, 'root');
      const root = inspect(rootPem);

      expect(extension(root.text, 'X509v3 Basic Constraints')).toEqual({ critical: true, value: 'CA:TRUE' });
      const ku = extension(root.text, 'X509v3 Key Usage');
      expect(ku?.critical).toBe(true);
      expect(list(ku?.value)).toEqual(['CRL Sign', 'Certificate Sign', 'Digital Signature']);
      const ski = keyId(extension(root.text, 'X509v3 Subject Key Identifier')?.value);
      expect(ski).toMatch(/^[0-9A-F]{2}(:[0-9A-F]{2})+$/);
      expect(keyId(extension(root.text, 'X509v3 Authority Key Identifier')?.value)).toBe(ski);
      expect(root.text).toContain(`Signature Algorithm: ${a.opensslSignature}`);
      expect(root.text).toMatch(a.publicKey);

      const expectedName = {
        countryName: 'DE',
        stateOrProvinceName: 'Berlin',
        localityName: 'Kreuzberg',
        organizationName: 'Acme Corp',
        organizationalUnitName: 'Security',
        commonName: subject.commonName,
        serialNumber: 'R-0001',
        emailAddress: 'pki@acme.example',
      };
      expect(root.subject).toEqual(expectedName);
      expect(root.issuer).toEqual(expectedName);

      expect(root.serial).toBe(created.body.serial);
      expect(root.notBefore.toISOString()).toBe(created.body.notBefore);
      expect(root.notAfter.toISOString()).toBe(created.body.notAfter);
      expect(root.notBefore.getTime()).toBeGreaterThanOrEqual(t0 - 120_000);
      expect(root.notBefore.getTime()).toBeLessThanOrEqual(t1);
      expect(root.notAfter.getTime() - root.notBefore.getTime()).toBe(3650 * DAY);

      const leaves: string[] = [];
      for (const family of ['EC', 'RSA'] as const) {
        const issued = await issue(id, { csr: csrs.san[family] });
        expect(issued.serial).toMatch(/^([0-9a-f]{2})+$/);
        expect(issued.chain.trim()).toBe(rootPem.trim());
        const leaf = inspect(issued.certificate);
        expect(leaf.serial).toBe(issued.serial);
        expect(extension(leaf.text, 'X509v3 Subject Alternative Name'), family).toEqual({ critical: false, value: SAN_TEXT });
        expect(keyId(extension(leaf.text, 'X509v3 Authority Key Identifier')?.value)).toBe(ski);
        expect(leaf.text).toContain(`Signature Algorithm: ${a.opensslSignature}`);
        expect(leaf.text).toMatch(family === 'EC' ? /ASN1 OID: prime256v1/ : /Public-Key: \(2048 bit\)/);
        expect(leaf.issuer).toEqual(expectedName);
        expect(leaf.subject).toEqual({ organizationName: 'Acme', commonName: 'web.acme.internal' });
        // Without a CRL baseUrl a certificate carries no distribution point.
        expect(extension(leaf.text, 'X509v3 CRL Distribution Points')).toBeUndefined();
        leaves.push(issued.certificate);
      }

      // The root verifies as its own trust anchor; the leaves verify through the chain as returned.
      const self = verifyAll(rootFile, '', [rootPem]);
      expect(self.ok, self.out).toEqual([true]);
      const v = verifyAll(rootFile, rootPem, leaves, ['-purpose', 'sslserver', '-x509_strict']);
      expect(v.ok, v.out).toEqual([true, true]);
      expect(v.status).toBe(0);
    },
  );

  it('fail/ROOT creation mistakes → 400 (unconfigured key stores: key_store_unavailable), nothing created', async () => {
    const count = async () => Number((await svc.db.query<{ n: string }>('SELECT count(*)::text AS n FROM cas')).rows[0]!.n);
    const before = await count();
    const base = { type: 'ROOT', subject: { commonName: 'Refused Root' }, keyAlgorithm: 'EC_prime256v1' };
    for (const keyStore of [{ type: 'pkcs11' }, { type: 'aws-kms' }]) {
      const res = await svc.api('POST', '/v1/cas', { ...base, keyStore });
      expect(res.status, JSON.stringify(keyStore)).toBe(400);
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(res.body.code).toBe('key_store_unavailable');
    }
    const mistakes: Record<string, unknown>[] = [
      { ...base, keyAlgorithm: 'EC_secp256k1' },
      { ...base, keyAlgorithm: 'RSA_2048', signingAlgorithm: 'SHA256WITHECDSA' },
      { ...base, signingAlgorithm: 'SHA512WITHRSA' },
      { ...base, subject: { organization: 'No CN' } },
      { ...base, subject: { commonName: 'x', country: 'usa' } },
      { ...base, validityDays: 0 },
      { ...base, type: 'INTERMEDIATE' },
      { ...base, colour: 'blue' },
      { type: 'SUBORDINATE', subject: { commonName: 'Sub with validity' }, keyAlgorithm: 'EC_prime256v1', validityDays: 365 },
    ];
    for (const body of mistakes) {
      const res = await svc.api('POST', '/v1/cas', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(res.body.code).toMatch(/^[a-z][a-z0-9_]*$/);
    }
    expect(await count()).toBe(before);
  });

  it('ok/keyStore.keyUri names an existing key: the new ROOT has that public key', async () => {
    const r = await svc.db.query<{ key_uri: string }>('SELECT key_uri FROM cas WHERE id = $1', [p256.id]);
    const keyUri = r.rows[0]!.key_uri;
    const again = await createRoot({ subject: { commonName: 'Same Key Root' }, keyAlgorithm: 'EC_prime256v1', keyStore: { type: 'software', keyUri } });
    expect(again.ca.keyStore).toEqual({ type: 'software', status: 'AVAILABLE' });
    const pub = (pem: string) => pki.ok(['x509', '-noout', '-pubkey'], pem);
    expect(pub(again.rootPem)).toBe(pub(p256.rootPem));
    expect(verifyAll(again.rootFile, '', [again.rootPem]).ok).toEqual([true]);
    // The key is P-256: naming it for another algorithm is a client mistake.
    const wrong = await svc.api('POST', '/v1/cas', { type: 'ROOT', subject: { commonName: 'Wrong Alg' }, keyAlgorithm: 'EC_secp384r1', keyStore: { type: 'software', keyUri } });
    expect(wrong.status).toBe(400);
  });

  it.each(Object.entries(TEMPLATES))('ok/template %s gives the expected extensions (EC and RSA leaf keys)', async (template, want) => {
    const issued = [];
    for (const family of ['EC', 'RSA'] as const) {
      const cert = await issue(p256.id, { csr: csrs.plain[family], template });
      const { text } = inspect(cert.certificate);
      const where = `${template} ${family}`;

      const bc = extension(text, 'X509v3 Basic Constraints');
      if (want.ca) {
        expect(bc, where).toEqual({ critical: true, value: `CA:TRUE, pathlen:${want.pathLen}` });
      } else if (bc) {
        // An end entity must never say CA:TRUE; the extension may be absent or CA:FALSE.
        expect(bc.value, where).toBe('CA:FALSE');
      }
      const ku = extension(text, 'X509v3 Key Usage');
      expect(ku?.critical, where).toBe(true);
      expect(list(ku?.value), where).toEqual([...(family === 'EC' ? want.keyUsageEc : want.keyUsageRsa)].sort());
      const eku = extension(text, 'X509v3 Extended Key Usage');
      if (want.extendedKeyUsage.length === 0) expect(eku, where).toBeUndefined();
      else expect(list(eku?.value), where).toEqual([...want.extendedKeyUsage].sort());
      expect(text.includes('OCSP No Check'), where).toBe(want.ocspNoCheck);
      expect(extension(text, 'X509v3 Subject Key Identifier')?.value, where).toMatch(/^[0-9A-F]{2}(:[0-9A-F]{2})+$/);
      expect(extension(text, 'X509v3 Subject Alternative Name')?.value, where).toBe('DNS:tpl.acme.internal');
      issued.push(cert);
    }
    const pems = issued.map((c) => c.certificate);
    if (template.startsWith('EndEntity')) {
      // openssl's purpose checks read keyUsage and extendedKeyUsage as TLS stacks do.
      const server = verifyAll(p256.rootFile, issued[0]!.chain, pems, ['-purpose', 'sslserver']);
      const client = verifyAll(p256.rootFile, issued[0]!.chain, pems, ['-purpose', 'sslclient']);
      const bothLeaves = (eku: string) => [want.extendedKeyUsage.includes(eku), want.extendedKeyUsage.includes(eku)];
      expect(server.ok, server.out).toEqual(bothLeaves(SERVER_AUTH));
      expect(client.ok, client.out).toEqual(bothLeaves(CLIENT_AUTH));
    } else {
      const v = verifyAll(p256.rootFile, issued[0]!.chain, pems);
      expect(v.ok, v.out).toEqual([true, true]);
    }
  });

  it('fail/unknown template → 400 unknown_template', async () => {
    const res = await svc.api('POST', `/v1/cas/${p256.id}/certificates`, { csr: csrs.plain.EC, template: 'EndEntityCertificate/V2', validity: { days: 1 } });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(res.body.code).toBe('unknown_template');
  });

  it('ok/SubordinateCACertificate_PathLen0/V1 from our root is an intermediate for an openssl-signed leaf; pathlen:0 holds', async () => {
    const subKey = pki.key('ec:P-384');
    const sub = await issue(p256.id, {
      csr: pki.csr({ key: subKey, subject: '/O=Acme/CN=Acme Issuing PathLen0' }).csr,
      template: 'SubordinateCACertificate_PathLen0/V1',
      validity: { days: 60 },
    });
    const subFile = fileOf(sub.certificate, 'sub');
    const leaf = pki.sign(pki.csr({ subject: '/CN=leaf0.acme.internal', san: 'DNS:leaf0.acme.internal' }).csr, { certFile: subFile, key: subKey }, { ca: false, days: 10 });

    // pathlen:0 forbids another CA below it, and openssl enforces it.
    const deeperKey = pki.key('ec:P-256');
    const deeper = pki.sign(pki.csr({ key: deeperKey, subject: '/CN=Too Deep CA' }).csr, { certFile: subFile, key: subKey }, { ca: true, days: 10 });
    const deepLeaf = pki.sign(pki.csr({ subject: '/CN=deep.acme.internal' }).csr, { certFile: deeper.certFile, key: deeperKey }, { ca: false, days: 5 });

    const v = verifyAll(p256.rootFile, deeper.cert + sub.certificate + sub.chain, [leaf.cert, deepLeaf.cert]);
    expect(v.ok, v.out).toEqual([true, false]);
    expect(v.out).toMatch(/path length constraint exceeded/);
    // Without the intermediate, the leaf does not reach the root.
    expect(verifyAll(p256.rootFile, '', [leaf.cert]).ok).toEqual([false]);
  });

  it('ok/SubordinateCACertificate_PathLen1/V1 is CA:TRUE, pathlen:1 and allows one more CA below it', async () => {
    const subKey = pki.key('ec:P-256');
    const sub = await issue(p256.id, { csr: pki.csr({ key: subKey, subject: '/CN=Acme Policy CA' }).csr, template: 'SubordinateCACertificate_PathLen1/V1' });
    expect(extension(inspect(sub.certificate).text, 'X509v3 Basic Constraints')).toEqual({ critical: true, value: 'CA:TRUE, pathlen:1' });
    const subFile = fileOf(sub.certificate, 'sub');
    const issuingKey = pki.key('ec:P-256');
    const issuing = pki.sign(pki.csr({ key: issuingKey, subject: '/CN=Acme Issuing below PathLen1' }).csr, { certFile: subFile, key: subKey }, { ca: true, pathLen: 0, days: 10 });
    const leaf = pki.sign(pki.csr({ subject: '/CN=l2.acme.internal' }).csr, { certFile: issuing.certFile, key: issuingKey }, { ca: false, days: 5 });
    const v = verifyAll(p256.rootFile, issuing.cert + sub.certificate + sub.chain, [leaf.cert]);
    expect(v.ok, v.out).toEqual([true]);
  });

  it('ok/signingAlgorithm override SHA512WITHECDSA on a P-256 CA shows in openssl output; the default stays', async () => {
    const issued = await issue(p256.id, { csr: csrs.plain.EC, signingAlgorithm: 'SHA512WITHECDSA' });
    const text = inspect(issued.certificate).text;
    expect(text).toContain('Signature Algorithm: ecdsa-with-SHA512');
    expect(text).not.toContain('ecdsa-with-SHA256');

    const next = await issue(p256.id, { csr: csrs.plain.EC });
    expect(inspect(next.certificate).text).toContain('Signature Algorithm: ecdsa-with-SHA256');
    const v = verifyAll(p256.rootFile, issued.chain, [issued.certificate, next.certificate]);
    expect(v.ok, v.out).toEqual([true, true]);

    // An RSA algorithm cannot be made with an EC key: a client mistake.
    const wrong = await svc.api('POST', `/v1/cas/${p256.id}/certificates`, { csr: csrs.plain.EC, signingAlgorithm: 'SHA256WITHRSA', validity: { days: 1 } });
    expect(wrong.status).toBe(400);
    expect(wrong.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  });

  it('ok/a ROOT created with signingAlgorithm SHA384WITHECDSA on P-256 signs itself and its leaves with it', async () => {
    const root = await createRoot({ subject: { commonName: 'P-256 SHA-384 Root' }, keyAlgorithm: 'EC_prime256v1', signingAlgorithm: 'SHA384WITHECDSA' });
    expect(root.ca.signingAlgorithm).toBe('SHA384WITHECDSA');
    expect(inspect(root.rootPem).text).toContain('Signature Algorithm: ecdsa-with-SHA384');
    const issued = await issue(root.id, { csr: csrs.plain.RSA });
    expect(inspect(issued.certificate).text).toContain('Signature Algorithm: ecdsa-with-SHA384');
    const v = verifyAll(root.rootFile, issued.chain, [root.rootPem, issued.certificate]);
    expect(v.ok, v.out).toEqual([true, true]);
  });

  it('ok/a CSR with only a CN that is a DNS name gets it as a DNS SAN', async () => {
    expect(pki.ok(['req', '-noout', '-text'], csrs.cnOnly)).not.toContain('Subject Alternative Name');
    const issued = await issue(p256.id, { csr: csrs.cnOnly });
    const leaf = inspect(issued.certificate);
    expect(extension(leaf.text, 'X509v3 Subject Alternative Name')).toEqual({ critical: false, value: 'DNS:only-cn.acme.internal' });
    expect(leaf.subject).toEqual({ commonName: 'only-cn.acme.internal' });
    const v = verifyAll(p256.rootFile, issued.chain, [issued.certificate], ['-verify_hostname', 'only-cn.acme.internal']);
    expect(v.ok, v.out).toEqual([true]);
  });

  it('ok/a CSR with an empty subject and only a SAN gets a critical SAN', async () => {
    const issued = await issue(p256.id, { csr: csrs.emptySubject });
    const leaf = inspect(issued.certificate);
    expect(extension(leaf.text, 'X509v3 Subject Alternative Name')).toEqual({
      critical: true,
      value: 'DNS:nosubject.acme.internal, URI:spiffe://acme.internal/nosubject',
    });
    expect(leaf.subject).toEqual({});
    expect(leaf.text).toMatch(/^\s+Subject:\s*$/m);
    const v = verifyAll(p256.rootFile, issued.chain, [issued.certificate], ['-x509_strict', '-verify_hostname', 'nosubject.acme.internal']);
    expect(v.ok, v.out).toEqual([true]);
  });

  it('ok/validity {notAfter} gives exactly that notAfter, and openssl -dates shows the returned times', async () => {
    const wanted = new Date(Math.floor((Date.now() + 10 * DAY) / 1000) * 1000);
    const t0 = Date.now();
    const issued = await issue(p256.id, { csr: csrs.plain.EC, validity: { notAfter: wanted.toISOString() } });
    const t1 = Date.now();
    expect(issued.notBefore).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    expect(issued.notAfter).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    expect(new Date(issued.notAfter).getTime()).toBe(wanted.getTime());
    const leaf = inspect(issued.certificate);
    expect(leaf.notAfter.getTime()).toBe(new Date(issued.notAfter).getTime());
    expect(leaf.notBefore.getTime()).toBe(new Date(issued.notBefore).getTime());
    expect(leaf.notBefore.getTime()).toBeLessThanOrEqual(t1);
    expect(leaf.notBefore.getTime()).toBeGreaterThanOrEqual(t0 - 3_600_000);

    // The same instant written with an offset is the same notAfter.
    const offset = new Date(wanted.getTime() + 2 * 3_600_000).toISOString().replace(/\.\d+Z$/, '+02:00');
    const again = await issue(p256.id, { csr: csrs.plain.RSA, validity: { notAfter: offset } });
    expect(new Date(again.notAfter).getTime()).toBe(wanted.getTime());
    expect(inspect(again.certificate).notAfter.getTime()).toBe(wanted.getTime());
  });

  it('ok/validity {days} gives notAfter = now + days, and openssl -dates shows the returned times', async () => {
    const t0 = Date.now();
    const issued = await issue(p256.id, { csr: csrs.plain.RSA, validity: { days: 45 } });
    const t1 = Date.now();
    const leaf = inspect(issued.certificate);
    expect(leaf.notBefore.getTime()).toBe(new Date(issued.notBefore).getTime());
    expect(leaf.notAfter.getTime()).toBe(new Date(issued.notAfter).getTime());
    expect(leaf.notAfter.getTime()).toBeGreaterThanOrEqual(Math.floor(t0 / 1000) * 1000 + 45 * DAY);
    expect(leaf.notAfter.getTime()).toBeLessThanOrEqual(t1 + 45 * DAY);
    expect(leaf.notBefore.getTime()).toBeLessThanOrEqual(t1);
    expect(leaf.notBefore.getTime()).toBeGreaterThanOrEqual(t0 - 3_600_000);
  });

  it('fail/validity past the CA, in the past, or not a positive integer → 400, nothing issued', async () => {
    const short = await createRoot({ subject: { commonName: 'One Day Root' }, keyAlgorithm: 'EC_prime256v1', validityDays: 1 });
    const root = inspect(short.rootPem);
    expect(root.notAfter.getTime() - root.notBefore.getTime()).toBe(DAY);
    const cases: [unknown, string | undefined][] = [
      [{ days: 2 }, 'validity_exceeds_ca'],
      [{ notAfter: new Date(root.notAfter.getTime() + 1000).toISOString() }, 'validity_exceeds_ca'],
      [{ notAfter: new Date(Date.now() - DAY).toISOString() }, undefined],
      [{ days: 0 }, undefined],
      [{ days: -1 }, undefined],
      [{ days: 1.5 }, undefined],
      [{ days: '1' }, undefined],
    ];
    for (const [validity, code] of cases) {
      const res = await svc.api('POST', `/v1/cas/${short.id}/certificates`, { csr: csrs.plain.EC, validity });
      expect(res.status, JSON.stringify(validity)).toBe(400);
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(res.body.code, JSON.stringify(validity)).toMatch(code ? new RegExp(`^${code}$`) : /^[a-z][a-z0-9_]*$/);
    }
    const listed = await svc.api('GET', `/v1/cas/${short.id}/certificates`);
    expect(listed.status).toBe(200);
    expect(listed.body.items).toEqual([]);
    // Up to the CA's own notAfter it issues.
    const ok = await issue(short.id, { csr: csrs.plain.EC, validity: { notAfter: root.notAfter.toISOString() } });
    expect(inspect(ok.certificate).notAfter.getTime()).toBe(root.notAfter.getTime());
  });
});
