import { execFileSync } from 'node:child_process';
import { createHash, createPrivateKey, generateKeyPairSync, randomBytes, sign as nodeSign, webcrypto, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AsnConvert } from '@peculiar/asn1-schema';
import * as asn1X509 from '@peculiar/asn1-x509';
import * as x509 from '@peculiar/x509';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CaError } from '../../src/domain/ca-error.ts';
import { SIGNING_ALGORITHM_INFO, type SigningAlgorithm } from '../../src/domain/key-algorithm.ts';
import { EKU, TEMPLATES, findTemplate, type KeyUsageName, type Template } from '../../src/domain/template.ts';
import { parseCsr } from '../../src/x509/csr.ts';
import { octetString, oid, sequence } from '../../src/x509/der.ts';
import {
  assembleCertificate,
  encodeTbsCertificate,
  prepareIssuer,
  prepareProfile,
  type IssuerContext,
  type LeafFields,
} from '../../src/x509/certificate-encoder.ts';
import { keyUsageBitString } from '../../src/x509/extensions.ts';
import { encodeSanDer } from '../../src/x509/general-name.ts';

const subtle = webcrypto.subtle as unknown as SubtleCrypto;
const CRL_URL = 'http://crl.example.internal/ca/3f2a.crl';
const hex = (b: Uint8Array | ArrayBuffer) => Buffer.from(b instanceof ArrayBuffer ? new Uint8Array(b) : b).toString('hex');

let dir: string;
let fileCounter = 0;
const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
const writePem = (der: Uint8Array): string => {
  const file = `c${fileCounter++}.pem`;
  writeFileSync(join(dir, file), new x509.X509Certificate(Buffer.from(der)).toString('pem'));
  return file;
};

interface TestCa {
  label: string;
  signing: SigningAlgorithm;
  cert: x509.X509Certificate;
  pem: string;
  privateKey: KeyObject;
  ctx: IssuerContext;
}

interface LeafKey {
  family: 'EC' | 'RSA';
  spkiDer: Uint8Array;
  keyBits: Uint8Array;
}

const CA_SPECS: { label: string; gen: EcKeyGenParams | RsaHashedKeyGenParams; sign: Algorithm | EcdsaParams; signing: SigningAlgorithm }[] = [
  { label: 'EC P-256', gen: { name: 'ECDSA', namedCurve: 'P-256' }, sign: { name: 'ECDSA', hash: 'SHA-256' } as EcdsaParams, signing: 'SHA256WITHECDSA' },
  { label: 'EC P-384', gen: { name: 'ECDSA', namedCurve: 'P-384' }, sign: { name: 'ECDSA', hash: 'SHA-384' } as EcdsaParams, signing: 'SHA384WITHECDSA' },
  {
    label: 'RSA 2048',
    gen: { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
    sign: { name: 'RSASSA-PKCS1-v1_5' },
    signing: 'SHA256WITHRSA',
  },
];

const now = new Date();
const notBefore = new Date(Math.floor(now.getTime() / 1000) * 1000 - 60_000);
const notAfter = new Date(notBefore.getTime() + 30 * 86400_000);
const cas: TestCa[] = [];
let caWithoutSki: TestCa;
const leafKeys: Record<'EC' | 'RSA', LeafKey> = {} as Record<'EC' | 'RSA', LeafKey>;
const subjectDer = new Uint8Array(new x509.Name('CN=leaf.example, O=Leaf Org, C=DE').toArrayBuffer());
const SANS = [
  { type: 'dns' as const, value: 'leaf.example' },
  { type: 'dns' as const, value: '*.leaf.example' },
  { type: 'ip' as const, value: '10.1.2.3' },
  { type: 'ip' as const, value: '2001:db8::5' },
  { type: 'email' as const, value: 'ops@leaf.example' },
  { type: 'uri' as const, value: 'spiffe://leaf.example/ns/x' },
];
let sanDer: Uint8Array;

async function makeCa(spec: (typeof CA_SPECS)[number], withSki: boolean, name: string): Promise<TestCa> {
  const keys = (await subtle.generateKey(spec.gen, true, ['sign', 'verify'])) as CryptoKeyPair;
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(true, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
  ];
  if (withSki) extensions.push(await x509.SubjectKeyIdentifierExtension.create(keys.publicKey));
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name,
    notBefore: new Date(notBefore.getTime() - 86400_000),
    notAfter: new Date(notAfter.getTime() + 86400_000),
    keys,
    signingAlgorithm: spec.sign,
    extensions,
  });
  const pkcs8 = new Uint8Array(await subtle.exportKey('pkcs8', keys.privateKey));
  const privateKey = createPrivateKey({ key: Buffer.from(pkcs8), format: 'der', type: 'pkcs8' });
  const t: Omit<TestCa, 'pem' | 'ctx'> = { label: spec.label, signing: spec.signing, cert, privateKey };
  return {
    ...t,
    pem: writePem(new Uint8Array(cert.rawData)),
    ctx: prepareIssuer({ issuerCertDer: new Uint8Array(cert.rawData), signingAlgorithm: spec.signing, crlDistributionPointUrl: CRL_URL }),
  };
}

function signTbs(ca: { signing: SigningAlgorithm; privateKey: KeyObject }, tbs: Uint8Array): Uint8Array {
  const info = SIGNING_ALGORITHM_INFO[ca.signing];
  return nodeSign(info.nodeHash, tbs, info.family === 'EC' ? { key: ca.privateKey, dsaEncoding: 'der' } : ca.privateKey);
}

function newSerial(): Uint8Array {
  const s = randomBytes(16);
  s[0] = (s[0] & 0x7f) | 0x01;
  return s;
}

function issue(ca: Pick<TestCa, 'signing' | 'privateKey' | 'ctx'>, template: Template, family: 'EC' | 'RSA', over: Partial<LeafFields> = {}) {
  const profile = prepareProfile(ca.ctx, template, family);
  const leaf: LeafFields = {
    serial: newSerial(),
    notBefore,
    notAfter,
    subjectDer,
    spkiDer: leafKeys[family].spkiDer,
    sanDer,
    ...over,
  };
  const tbs = encodeTbsCertificate(profile, leaf);
  const der = assembleCertificate(profile, tbs, signTbs(ca, tbs));
  return { der, leaf, tbs };
}

/**
 * What RFC 5280 4.2.1.12 and the CA/B profiles want, written out rather than read from the templates:
 * with clientAuth only digitalSignature (and/or keyAgreement); keyEncipherment only for RSA
 * server-only certificates; CAs keyCertSign and cRLSign (and digitalSignature, for OCSP and others).
 */
const CA_KU: KeyUsageName[] = ['digitalSignature', 'keyCertSign', 'cRLSign'];
const EXPECTED_KEY_USAGE: Record<string, Record<'EC' | 'RSA', KeyUsageName[]>> = {
  'EndEntityCertificate/V1': { RSA: ['digitalSignature'], EC: ['digitalSignature'] },
  'EndEntityServerAuthCertificate/V1': { RSA: ['digitalSignature', 'keyEncipherment'], EC: ['digitalSignature'] },
  'EndEntityClientAuthCertificate/V1': { RSA: ['digitalSignature'], EC: ['digitalSignature'] },
  'CodeSigningCertificate/V1': { RSA: ['digitalSignature'], EC: ['digitalSignature'] },
  'OCSPSigningCertificate/V1': { RSA: ['digitalSignature'], EC: ['digitalSignature'] },
  ...Object.fromEntries([0, 1, 2, 3].map((n) => [`SubordinateCACertificate_PathLen${n}/V1`, { RSA: CA_KU, EC: CA_KU }])),
};

const KU_FLAGS: Record<KeyUsageName, number> = {
  digitalSignature: x509.KeyUsageFlags.digitalSignature,
  nonRepudiation: x509.KeyUsageFlags.nonRepudiation,
  keyEncipherment: x509.KeyUsageFlags.keyEncipherment,
  dataEncipherment: x509.KeyUsageFlags.dataEncipherment,
  keyAgreement: x509.KeyUsageFlags.keyAgreement,
  keyCertSign: x509.KeyUsageFlags.keyCertSign,
  cRLSign: x509.KeyUsageFlags.cRLSign,
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'leaf-encoder-test-'));
  for (const family of ['EC', 'RSA'] as const) {
    const { publicKey } = family === 'EC' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }) : generateKeyPairSync('rsa', { modulusLength: 2048 });
    const spkiDer = new Uint8Array(publicKey.export({ format: 'der', type: 'spki' }));
    const parsed = AsnConvert.parse(Buffer.from(spkiDer), asn1X509.SubjectPublicKeyInfo);
    leafKeys[family] = { family, spkiDer, keyBits: new Uint8Array(parsed.subjectPublicKey) };
  }
  sanDer = encodeSanDer(SANS);
  for (const spec of CA_SPECS) cas.push(await makeCa(spec, true, `CN=Test Root ${spec.label}, O=privateca tests, C=US`));
  caWithoutSki = await makeCa(CA_SPECS[0], false, 'CN=Root without SKI, O=privateca tests');
}, 120_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Every check that @peculiar/x509 and openssl can make on one issued certificate. */
async function checkCertificate(ca: TestCa, template: Template, family: 'EC' | 'RSA', der: Uint8Array, leaf: LeafFields) {
  const cert = new x509.X509Certificate(Buffer.from(der));

  // DER canonical: a schema-driven re-encoding gives the same bytes.
  expect(hex(AsnConvert.serialize(AsnConvert.parse(Buffer.from(der), asn1X509.Certificate)))).toBe(hex(der));

  expect(cert.serialNumber).toBe(hex(leaf.serial));
  expect(cert.notBefore.getTime()).toBe(leaf.notBefore.getTime());
  expect(cert.notAfter.getTime()).toBe(leaf.notAfter.getTime());
  expect(cert.subject).toBe('CN=leaf.example, O=Leaf Org, C=DE');
  expect(cert.issuer).toBe(ca.cert.subject);
  expect(hex(cert.issuerName.toArrayBuffer())).toBe(hex(ca.cert.subjectName.toArrayBuffer()));
  expect(hex(cert.publicKey.rawData)).toBe(hex(leafKeys[family].spkiDer));
  const info = SIGNING_ALGORITHM_INFO[ca.signing];
  expect(cert.signatureAlgorithm.hash).toEqual(expect.objectContaining({ name: info.hash }));

  const expectedOids = [
    '2.5.29.19',
    '2.5.29.15',
    ...(template.extendedKeyUsage.length > 0 ? ['2.5.29.37'] : []),
    '2.5.29.14',
    '2.5.29.35',
    '2.5.29.17',
    ...(template.ocspNoCheck ? ['1.3.6.1.5.5.7.48.1.5'] : ['2.5.29.31']),
  ];
  expect(cert.extensions.map((e) => e.type)).toEqual(expectedOids);
  const critical = Object.fromEntries(cert.extensions.map((e) => [e.type, e.critical]));
  expect(critical).toEqual(Object.fromEntries(expectedOids.map((o) => [o, o === '2.5.29.19' || o === '2.5.29.15'])));

  const bc = cert.getExtension(x509.BasicConstraintsExtension)!;
  expect(bc.ca).toBe(template.ca);
  expect(bc.pathLength).toBe(template.ca ? template.pathLen : undefined);

  const ku = cert.getExtension(x509.KeyUsagesExtension)!;
  expect(ku.usages).toBe(EXPECTED_KEY_USAGE[template.name]![family].reduce((acc, n) => acc | KU_FLAGS[n], 0));

  if (template.extendedKeyUsage.length > 0) {
    expect(cert.getExtension(x509.ExtendedKeyUsageExtension)!.usages).toEqual(template.extendedKeyUsage);
  }

  const ski = cert.getExtension(x509.SubjectKeyIdentifierExtension)!;
  expect(ski.keyId).toBe(hex(await cert.publicKey.getKeyIdentifier()));
  expect(ski.keyId).toBe(createHash('sha1').update(leafKeys[family].keyBits).digest('hex'));

  const aki = cert.getExtension(x509.AuthorityKeyIdentifierExtension)!;
  expect(aki.keyId).toBe(ca.cert.getExtension(x509.SubjectKeyIdentifierExtension)!.keyId);
  expect(aki.certId).toBeUndefined();

  const sans = cert.getExtension(x509.SubjectAlternativeNameExtension)!;
  expect(sans.names.items.map((n) => ({ type: n.type === 'url' ? 'uri' : n.type, value: n.value }))).toEqual(SANS);

  const crl = cert.getExtension(x509.CRLDistributionPointsExtension);
  if (template.ocspNoCheck) expect(crl).toBeNull();
  else {
    expect(crl!.distributionPoints).toHaveLength(1);
    expect(crl!.distributionPoints[0].distributionPoint!.fullName!.map((g) => g.uniformResourceIdentifier)).toEqual([CRL_URL]);
  }

  if (template.ocspNoCheck) expect(hex(cert.getExtension('1.3.6.1.5.5.7.48.1.5')!.value)).toBe('0500');

  expect(await cert.verify({ publicKey: ca.cert.publicKey })).toBe(true);

  // openssl: the chain verifies under the strict RFC 5280 checks, and the text dump reads right.
  const leafFile = writePem(der);
  expect(openssl('verify', '-x509_strict', '-CAfile', ca.pem, leafFile).trim()).toBe(`${leafFile}: OK`);
  if (template.extendedKeyUsage.includes(EKU.serverAuth)) {
    expect(openssl('verify', '-x509_strict', '-purpose', 'sslserver', '-CAfile', ca.pem, leafFile).trim()).toBe(`${leafFile}: OK`);
  }
  if (template.extendedKeyUsage.includes(EKU.clientAuth)) {
    expect(openssl('verify', '-x509_strict', '-purpose', 'sslclient', '-CAfile', ca.pem, leafFile).trim()).toBe(`${leafFile}: OK`);
  }
  if (template.extendedKeyUsage.includes(EKU.ocspSigning)) {
    expect(openssl('verify', '-x509_strict', '-purpose', 'ocsphelper', '-CAfile', ca.pem, leafFile).trim()).toBe(`${leafFile}: OK`);
  }
  // openssl's own reading of what each purpose allows.
  const purposes = openssl('x509', '-in', leafFile, '-noout', '-purpose');
  for (const [eku, line] of [[EKU.serverAuth, 'SSL server : Yes'], [EKU.clientAuth, 'SSL client : Yes'], [EKU.ocspSigning, 'OCSP helper : Yes']] as const) {
    if (template.extendedKeyUsage.includes(eku)) expect(purposes, purposes).toContain(line);
  }
  const text = openssl('x509', '-in', leafFile, '-noout', '-text');
  expect(text).toContain('Version: 3 (0x2)');
  expect(text).toContain(template.ca ? `CA:TRUE, pathlen:${template.pathLen}` : 'CA:FALSE');
  expect(text).toMatch(/X509v3 Basic Constraints: critical/);
  expect(text).toMatch(/X509v3 Key Usage: critical/);
  if (template.extendedKeyUsage.includes(EKU.serverAuth)) expect(text).toContain('TLS Web Server Authentication');
  if (template.extendedKeyUsage.includes(EKU.clientAuth)) expect(text).toContain('TLS Web Client Authentication');
  if (template.extendedKeyUsage.includes(EKU.codeSigning)) expect(text).toContain('Code Signing');
  if (template.ocspNoCheck) expect(text).toContain('OCSP No Check');
  if (template.ocspNoCheck) expect(text).not.toContain('CRL Distribution Points');
  else expect(text).toContain(`URI:${CRL_URL}`);
  expect(text).toContain('DNS:leaf.example, DNS:*.leaf.example, IP Address:10.1.2.3, IP Address:2001:DB8:0:0:0:0:0:5, email:ops@leaf.example, URI:spiffe://leaf.example/ns/x');
  expect(text).toMatch(/X509v3 Subject Alternative Name: \n/);
  return cert;
}

describe('leaf encoder cross-checked against @peculiar/x509 and openssl', () => {
  for (const spec of CA_SPECS) {
    for (const template of TEMPLATES.values()) {
      for (const family of ['EC', 'RSA'] as const) {
        it(`ok/${spec.label} CA issues ${template.name} for an ${family} key`, async () => {
          const ca = cas.find((c) => c.label === spec.label)!;
          const { der, leaf } = issue(ca, template, family);
          await checkCertificate(ca, template, family, der, leaf);
        });
      }
    }
  }

  it('ok/a subordinate CA issued by the encoder can itself issue through the encoder', async () => {
    const root = cas[0];
    const subKey = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    const subSubject = new Uint8Array(new x509.Name('CN=Sub CA, O=privateca tests').toArrayBuffer());
    const subProfile = prepareProfile(root.ctx, findTemplate('SubordinateCACertificate_PathLen0/V1'), 'EC');
    const subTbs = encodeTbsCertificate(subProfile, {
      serial: newSerial(),
      notBefore,
      notAfter,
      subjectDer: subSubject,
      spkiDer: new Uint8Array(subKey.publicKey.export({ format: 'der', type: 'spki' })),
    });
    const subDer = assembleCertificate(subProfile, subTbs, signTbs(root, subTbs));
    const sub = { signing: 'SHA384WITHECDSA' as const, privateKey: subKey.privateKey, ctx: prepareIssuer({ issuerCertDer: subDer, signingAlgorithm: 'SHA384WITHECDSA' }) };
    expect(hex(sub.ctx.issuerNameDer)).toBe(hex(subSubject));
    const { der } = issue(sub, findTemplate('EndEntityServerAuthCertificate/V1'), 'RSA');
    const cert = new x509.X509Certificate(Buffer.from(der));
    expect(cert.getExtension(x509.CRLDistributionPointsExtension)).toBeNull();
    expect(cert.getExtension(x509.AuthorityKeyIdentifierExtension)!.keyId).toBe(
      new x509.X509Certificate(Buffer.from(subDer)).getExtension(x509.SubjectKeyIdentifierExtension)!.keyId,
    );
    const subFile = writePem(subDer);
    const leafFile = writePem(der);
    expect(openssl('verify', '-x509_strict', '-purpose', 'sslserver', '-CAfile', root.pem, '-untrusted', subFile, leafFile).trim()).toBe(`${leafFile}: OK`);
    expect(await cert.verify({ publicKey: new x509.X509Certificate(Buffer.from(subDer)).publicKey })).toBe(true);
  });

  it('ok/an empty subject makes the SAN critical (RFC 5280 4.2.1.6)', async () => {
    const ca = cas[0];
    const { der } = issue(ca, findTemplate('EndEntityCertificate/V1'), 'EC', { subjectDer: Uint8Array.of(0x30, 0x00) });
    const cert = new x509.X509Certificate(Buffer.from(der));
    expect(cert.subject).toBe('');
    const sanExt = cert.getExtension(x509.SubjectAlternativeNameExtension)!;
    expect(sanExt.critical).toBe(true);
    expect(cert.extensions.filter((e) => e.critical).map((e) => e.type)).toEqual(['2.5.29.19', '2.5.29.15', '2.5.29.17']);
    const file = writePem(der);
    expect(openssl('verify', '-x509_strict', '-CAfile', ca.pem, file).trim()).toBe(`${file}: OK`);
    expect(openssl('x509', '-in', file, '-noout', '-text')).toContain('X509v3 Subject Alternative Name: critical');
    expect(await cert.verify({ publicKey: ca.cert.publicKey })).toBe(true);
  });

  it('ok/a CSR parsed by parseCsr goes straight into a certificate', async () => {
    const ca = cas[2];
    const keys = (await subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as CryptoKeyPair;
    const csr = await x509.Pkcs10CertificateRequestGenerator.create({
      name: 'CN=from-csr.example, O=Csr Org',
      keys,
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' } as EcdsaParams,
      extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: 'from-csr.example' }])],
    });
    const parsed = await parseCsr(csr.toString('pem'));
    const profile = prepareProfile(ca.ctx, findTemplate('EndEntityCertificate/V1'), parsed.key.family);
    const tbs = encodeTbsCertificate(profile, { serial: newSerial(), notBefore, notAfter, subjectDer: parsed.subjectDer, spkiDer: parsed.spkiDer, sanDer: parsed.sanDer });
    const cert = new x509.X509Certificate(Buffer.from(assembleCertificate(ca.ctx, tbs, signTbs(ca, tbs))));
    expect(cert.subject).toBe(csr.subject);
    expect(cert.getExtension(x509.SubjectAlternativeNameExtension)!.names.items.map((n) => n.value)).toEqual(['from-csr.example']);
    expect(await cert.verify({ publicKey: ca.cert.publicKey })).toBe(true);
  });

  it('ok/serials with the high bit set get a 0x00 pad', () => {
    const ca = cas[0];
    const serial = Buffer.concat([Buffer.of(0x80), randomBytes(15)]);
    const { der, tbs } = issue(ca, findTemplate('EndEntityCertificate/V1'), 'EC', { serial });
    // TBSCertificate: 30 82 LL LL | a0 03 02 01 02 | 02 11 00 80 ...
    expect(hex(tbs.subarray(4, 4 + 5 + 2 + 17))).toBe(`a003020102021100${hex(serial)}`);
    const cert = new x509.X509Certificate(Buffer.from(der));
    expect(cert.serialNumber).toBe(hex(serial));
    const file = writePem(der);
    expect(openssl('x509', '-in', file, '-noout', '-serial').trim()).toBe(`serial=${hex(serial).toUpperCase()}`);
    // A 20-octet serial without the high bit is the longest allowed.
    const max = Buffer.concat([Buffer.of(0x7f), randomBytes(19)]);
    expect(new x509.X509Certificate(Buffer.from(issue(ca, findTemplate('EndEntityCertificate/V1'), 'EC', { serial: max }).der)).serialNumber).toBe(hex(max));
    // Short serials are encoded as they are.
    expect(new x509.X509Certificate(Buffer.from(issue(ca, findTemplate('EndEntityCertificate/V1'), 'EC', { serial: Uint8Array.of(1) }).der)).serialNumber).toBe('01');
  });

  it('ok/validity from 2050 on uses GeneralizedTime, before it UTCTime', async () => {
    const ca = cas[2];
    const nb = new Date('2049-12-31T23:59:59Z');
    const na = new Date('2050-06-01T00:00:00Z');
    const { der, tbs } = issue(ca, findTemplate('EndEntityCertificate/V1'), 'RSA', { notBefore: nb, notAfter: na });
    const validity = Buffer.from('3020170d3439313233313233353935395a180f32303530303630313030303030305a', 'hex');
    expect(Buffer.from(tbs).indexOf(validity)).toBeGreaterThan(0);
    const cert = new x509.X509Certificate(Buffer.from(der));
    expect(cert.notBefore.toISOString()).toBe(nb.toISOString());
    expect(cert.notAfter.toISOString()).toBe(na.toISOString());
    const file = writePem(der);
    const text = openssl('x509', '-in', file, '-noout', '-text');
    expect(text).toContain('Not Before: Dec 31 23:59:59 2049 GMT');
    expect(text).toContain('Not After : Jun  1 00:00:00 2050 GMT');
    expect(openssl('asn1parse', '-in', file)).toMatch(/GENERALIZEDTIME\s*:20500601000000Z/);
    expect(await cert.verify({ publicKey: ca.cert.publicKey, signatureOnly: true })).toBe(true);
  });

  it('ok/a CA certificate without SKI: the AKI is SHA-1 of its key (RFC 5280 4.2.1.2 method 1)', async () => {
    const ca = caWithoutSki;
    expect(ca.cert.getExtension(x509.SubjectKeyIdentifierExtension)).toBeNull();
    const { der } = issue(ca, findTemplate('EndEntityClientAuthCertificate/V1'), 'EC');
    const cert = new x509.X509Certificate(Buffer.from(der));
    expect(cert.getExtension(x509.AuthorityKeyIdentifierExtension)!.keyId).toBe(hex(await ca.cert.publicKey.getKeyIdentifier()));
    expect(hex(ca.ctx.authorityKeyIdentifier)).toBe(hex(await ca.cert.publicKey.getKeyIdentifier()));
    expect(await cert.verify({ publicKey: ca.cert.publicKey })).toBe(true);
    const file = writePem(der);
    expect(openssl('verify', '-CAfile', ca.pem, file).trim()).toBe(`${file}: OK`);
  });

  it('ok/without a CRL URL there is no cRLDistributionPoints extension; assembleCertificate takes an IssuerContext too', () => {
    const ca = cas[0];
    const ctx = prepareIssuer({ issuerCertDer: new Uint8Array(ca.cert.rawData), signingAlgorithm: ca.signing });
    expect(ctx.crlDistributionPointUrl).toBeUndefined();
    const profile = prepareProfile(ctx, findTemplate('OCSPSigningCertificate/V1'), 'RSA');
    const tbs = encodeTbsCertificate(profile, { serial: newSerial(), notBefore, notAfter, subjectDer, spkiDer: leafKeys.RSA.spkiDer });
    const cert = new x509.X509Certificate(Buffer.from(assembleCertificate(ctx, tbs, signTbs(ca, tbs))));
    expect(cert.extensions.map((e) => e.type)).toEqual(['2.5.29.19', '2.5.29.15', '2.5.29.37', '2.5.29.14', '2.5.29.35', '1.3.6.1.5.5.7.48.1.5']);
    const file = writePem(cert.rawData as unknown as Uint8Array);
    expect(openssl('verify', '-x509_strict', '-CAfile', ca.pem, file).trim()).toBe(`${file}: OK`);
  });
});

describe('leaf encoder pieces', () => {
  it('ok/keyUsage is a minimal named-bit BIT STRING', () => {
    expect(hex(keyUsageBitString(['digitalSignature']))).toBe('03020780');
    expect(hex(keyUsageBitString(['digitalSignature', 'keyEncipherment']))).toBe('030205a0');
    expect(hex(keyUsageBitString(['digitalSignature', 'keyCertSign', 'cRLSign']))).toBe('03020186');
    expect(hex(keyUsageBitString(['cRLSign', 'keyCertSign']))).toBe('03020106');
    expect(hex(keyUsageBitString(['keyAgreement']))).toBe('03020308');
    expect(() => keyUsageBitString([])).toThrow();
  });

  it('ok/encodeSanDer produces GeneralNames that @peculiar/x509 reads back', () => {
    // Wrap it in an Extension (our writer) so that @peculiar parses it.
    const ext = new x509.SubjectAlternativeNameExtension(Buffer.from(sequence(oid('2.5.29.17'), octetString(encodeSanDer(SANS)))));
    expect(ext.names.items.map((n) => ({ type: n.type === 'url' ? 'uri' : n.type, value: n.value }))).toEqual(SANS);
  });

  it('fail/encodeSanDer refuses bad names with unsupported_san', () => {
    for (const bad of [
      [],
      [{ type: 'dns', value: 'bad name' }],
      [{ type: 'ip', value: '10.0.0' }],
      [{ type: 'email', value: 'nobody' }],
      [{ type: 'uri', value: '/relative' }],
      [{ type: 'x400', value: 'x' }],
    ]) {
      let err: unknown;
      try {
        encodeSanDer(bad as never);
      } catch (e) {
        err = e;
      }
      expect(err, JSON.stringify(bad)).toBeInstanceOf(CaError);
      expect((err as CaError).code).toBe('unsupported_san');
    }
  });

  it('fail/prepareIssuer refuses a signing algorithm of the other family, a non-CA certificate and a bad CRL URL', async () => {
    const der = new Uint8Array(cas[0].cert.rawData);
    let err: unknown;
    try {
      prepareIssuer({ issuerCertDer: der, signingAlgorithm: 'SHA256WITHRSA' });
    } catch (e) {
      err = e;
    }
    expect((err as CaError).code).toBe('signing_algorithm_mismatch');
    const { der: leafDer } = issue(cas[0], findTemplate('EndEntityCertificate/V1'), 'EC');
    expect(() => prepareIssuer({ issuerCertDer: leafDer, signingAlgorithm: 'SHA256WITHECDSA' })).toThrow(/not a CA/);
    expect(() => prepareIssuer({ issuerCertDer: der, signingAlgorithm: 'SHA256WITHECDSA', crlDistributionPointUrl: 'not a url' })).toThrow(CaError);
    expect(() => prepareIssuer({ issuerCertDer: der.subarray(0, der.length - 1), signingAlgorithm: 'SHA256WITHECDSA' })).toThrow(/truncated/);
  });

  it('fail/encodeTbsCertificate refuses bad serials, inverted validity, an empty subject without SAN and a key of the wrong family', () => {
    const profile = prepareProfile(cas[0].ctx, findTemplate('EndEntityCertificate/V1'), 'EC');
    const base: LeafFields = { serial: newSerial(), notBefore, notAfter, subjectDer, spkiDer: leafKeys.EC.spkiDer };
    const tbs = (o: Partial<LeafFields>) => () => encodeTbsCertificate(profile, { ...base, ...o });
    expect(tbs({ serial: new Uint8Array(0) })).toThrow(/serial/);
    expect(tbs({ serial: Uint8Array.of(0, 1) })).toThrow(/serial/);
    expect(tbs({ serial: Buffer.concat([Buffer.of(0x80), randomBytes(19)]) })).toThrow(/20 octets/);
    expect(tbs({ serial: Buffer.concat([Buffer.of(0x01), randomBytes(20)]) })).toThrow(/20 octets/);
    expect(tbs({ notBefore: notAfter, notAfter: notBefore })).toThrow(/notAfter/);
    expect(tbs({ notAfter: new Date(Number.NaN) })).toThrow();
    expect(tbs({ subjectDer: Uint8Array.of(0x30, 0x00) })).toThrow(/subjectAltName/);
    expect(tbs({ subjectDer: Uint8Array.of(0x31, 0x00) })).toThrow(/Name/);
    expect(tbs({ spkiDer: leafKeys.RSA.spkiDer })).toThrow(/key family/);
    expect(tbs({ sanDer: Uint8Array.of(0x04, 0x00) })).toThrow(/GeneralNames/);
  });
});
