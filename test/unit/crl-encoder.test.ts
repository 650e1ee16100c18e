import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, createPrivateKey, sign as nodeSign, webcrypto, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AsnConvert } from '@peculiar/asn1-schema';
import * as asn1X509 from '@peculiar/asn1-x509';
import * as x509 from '@peculiar/x509';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CaError } from '../../src/domain/ca-error.ts';
import { SIGNING_ALGORITHM_INFO, type SigningAlgorithm } from '../../src/domain/key-algorithm.ts';
import { REVOCATION_REASONS, REVOCATION_REASON_NAMES, type RevocationReason } from '../../src/domain/revocation-reason.ts';
import {
  RevokedEntriesWriter,
  assembleCrl,
  assembleCrlPieces,
  encodeTbsCertList,
  encodeTbsCertListPieces,
  prepareCrlIssuer,
  type CrlIssuer,
} from '../../src/x509/crl-encoder.ts';
import { TAG, readChildren, readTlv, tlvSize, valueOf, type Tlv } from '../../src/x509/der.ts';
import { crlPem } from '../../src/x509/pem.ts';
import { OPENSSL_REASON } from '../pki/openssl.ts';

const subtle = webcrypto.subtle as unknown as SubtleCrypto;
const IDP_URL = 'http://crl.example.internal/crl/3f2a/p-07.crl';
const hex = (b: Uint8Array | ArrayBuffer) => Buffer.from(b instanceof ArrayBuffer ? new Uint8Array(b) : b).toString('hex');

let dir: string;
let fileCounter = 0;
const openssl = (...args: string[]) =>
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 512 * 1024 * 1024 }).toString();
/** `openssl crl -verify` reports on stderr. */
const expectVerifyOk = (crlPem: string, ca: { pem: string }) => {
  const r = spawnSync('openssl', ['crl', '-in', crlPem, '-CAfile', ca.pem, '-verify', '-noout'], { cwd: dir, encoding: 'utf8' });
  expect(r.stderr.trim()).toBe('verify OK');
  expect(r.status).toBe(0);
};
/** Runs openssl whatever its exit status; stdout and stderr together. */
const opensslAny = (...args: string[]) => {
  const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
};
const writeFile = (name: string, content: string | Uint8Array): string => {
  const file = `${fileCounter++}-${name}`;
  writeFileSync(join(dir, file), content);
  return file;
};

interface TestCa {
  label: string;
  signing: SigningAlgorithm;
  cert: x509.X509Certificate;
  /** CA certificate PEM file in `dir`. */
  pem: string;
  /** CA private key PEM file in `dir`, for `openssl x509 -req`. */
  keyPem: string;
  privateKey: KeyObject;
  issuer: CrlIssuer;
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
/** Whole seconds, a minute ago: thisUpdate of the CRLs that openssl verify must find current. */
const thisUpdate = new Date(Math.floor(now.getTime() / 1000) * 1000 - 60_000);
const nextUpdate = new Date(thisUpdate.getTime() + 24 * 3600_000);
const cas: TestCa[] = [];
let caWithoutSki: TestCa;
let leafCert: x509.X509Certificate;

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
    notBefore: new Date(now.getTime() - 86400_000),
    notAfter: new Date(now.getTime() + 30 * 86400_000),
    keys,
    signingAlgorithm: spec.sign,
    extensions,
  });
  const pkcs8 = new Uint8Array(await subtle.exportKey('pkcs8', keys.privateKey));
  const privateKey = createPrivateKey({ key: Buffer.from(pkcs8), format: 'der', type: 'pkcs8' });
  return {
    label: spec.label,
    signing: spec.signing,
    cert,
    pem: writeFile('ca.pem', cert.toString('pem')),
    keyPem: writeFile('ca.key', privateKey.export({ type: 'pkcs8', format: 'pem' }) as string),
    privateKey,
    issuer: prepareCrlIssuer(new Uint8Array(cert.rawData), spec.signing),
  };
}

function signTbs(ca: { signing: SigningAlgorithm; privateKey: KeyObject }, tbs: Uint8Array): Uint8Array {
  const info = SIGNING_ALGORITHM_INFO[ca.signing];
  return nodeSign(info.nodeHash, tbs, { key: ca.privateKey, dsaEncoding: 'der' });
}

interface Entry {
  serial: string;
  at: Date;
  reason: RevocationReason;
}

interface CrlOptions {
  entries?: Entry[];
  thisUpdate?: Date;
  nextUpdate?: Date;
  crlNumber?: bigint;
  idp?: string;
}

function buildCrl(ca: TestCa, o: CrlOptions = {}) {
  const w = new RevokedEntriesWriter();
  for (const e of o.entries ?? []) w.add(e.serial, e.at, e.reason);
  const tbs = encodeTbsCertList(ca.issuer, {
    thisUpdate: o.thisUpdate ?? thisUpdate,
    nextUpdate: o.nextUpdate ?? nextUpdate,
    crlNumber: o.crlNumber ?? 1n,
    entries: w,
    ...(o.idp !== undefined ? { issuingDistributionPointUrl: o.idp } : {}),
  });
  const der = assembleCrl(ca.issuer, tbs, signTbs(ca, tbs));
  return { der, tbs, writer: w, pem: writeFile('crl.pem', crlPem(der)) };
}

/** The TBSCertList's children and the revoked entries' children, read with our strict DER reader. */
function walk(der: Uint8Array) {
  const outer = readTlv(der, 0);
  expect(outer.end).toBe(der.length);
  const [tbs, sigAlg, sigValue] = readChildren(der, outer) as [Tlv, Tlv, Tlv];
  expect(sigValue.tag).toBe(TAG.BIT_STRING);
  const f = readChildren(der, tbs);
  const revoked = f.find((t, i) => i >= 5 && t.tag === TAG.SEQUENCE);
  const entries = revoked ? readChildren(der, revoked).map((e) => readChildren(der, e)) : [];
  return { tbs, sigAlg, fields: f, entries };
}

/** Every reason, twice, with serials of both kinds (high bit set or not) and varied dates. */
function sampleEntries(): Entry[] {
  const out: Entry[] = [];
  let i = 0;
  for (const round of [0, 1]) {
    for (const reason of REVOCATION_REASON_NAMES) {
      const first = round === 0 ? '1' : '9'; // '9…' has its high bit set and needs the 0x00 pad
      out.push({
        serial: `${first}${(i + 1).toString(16).padStart(2, '0')}${'c0ffee42'.repeat(3)}abcd${i % 10}`,
        at: new Date(thisUpdate.getTime() - (i + 1) * 3_600_000),
        reason,
      });
      i++;
    }
  }
  return out;
}

/** `openssl crl -text` date form: "Jan  1 00:00:00 2050 GMT". */
function opensslDate(d: Date): string {
  const month = d.toLocaleString('en-US', { month: 'short', timeZone: 'UTC' });
  const day = String(d.getUTCDate()).padStart(2, ' ');
  const t = d.toISOString().slice(11, 19);
  return `${month} ${day} ${t} ${d.getUTCFullYear()} GMT`;
}

/** The revoked-certificate blocks of `openssl crl -text`, as { serial, date, reason }. */
function opensslEntries(text: string) {
  const out: { serial: string; date: string; reason?: string }[] = [];
  const re = /Serial Number: ([0-9A-F]+)\n\s+Revocation Date: ([^\n]+)\n((?:\s+CRL entry extensions:\n\s+X509v3 CRL Reason Code: ?\n\s+([^\n]+)\n)?)/g;
  for (const m of text.matchAll(re)) out.push({ serial: m[1]!, date: m[2]!, ...(m[4] ? { reason: m[4].trim() } : {}) });
  return out;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'crl-encoder-test-'));
  for (const spec of CA_SPECS) cas.push(await makeCa(spec, true, `CN=CRL Test Root ${spec.label}, O=privateca tests, C=US`));
  caWithoutSki = await makeCa(CA_SPECS[0]!, false, 'CN=CRL Root without SKI, O=privateca tests');
  const leafKeys = (await subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as CryptoKeyPair;
  leafCert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '02',
    name: 'CN=not a CA',
    notBefore: thisUpdate,
    notAfter: nextUpdate,
    keys: leafKeys,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' } as EcdsaParams,
    extensions: [new x509.BasicConstraintsExtension(false, undefined, true)],
  });
}, 120_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('CRL encoder cross-checked against openssl and @peculiar/x509', () => {
  for (const [index, spec] of CA_SPECS.entries()) {
    it(`ok/${spec.label}: openssl verifies the CRL and reads number, dates, serials, reasons and a critical IDP`, () => {
      const ca = cas[index]!;
      const entries = sampleEntries();
      const { pem } = buildCrl(ca, { entries, crlNumber: 4711n, idp: IDP_URL });

      expectVerifyOk(pem, ca);
      const text = openssl('crl', '-in', pem, '-text', '-noout');
      expect(text).toContain('Version 2 (0x1)');
      expect(text).toMatch(/X509v3 CRL Number: ?\n\s+4711\n/);
      expect(text).toContain(`Last Update: ${opensslDate(thisUpdate)}`);
      expect(text).toContain(`Next Update: ${opensslDate(nextUpdate)}`);
      expect(text).toMatch(/X509v3 Authority Key Identifier: ?\n\s+[0-9A-F:]{59}\n/);
      expect(text).toMatch(new RegExp(`X509v3 Issuing Distribution Point: critical\\s*\\n\\s+Full Name:\\s*\\n\\s+URI:${IDP_URL.replace(/\./g, '\\.')}\\n`));
      expect(text).not.toContain('No Revoked Certificates.');
      expect(opensslEntries(text)).toEqual(
        entries.map((e) => ({
          serial: e.serial.toUpperCase(),
          date: opensslDate(e.at),
          ...(OPENSSL_REASON[e.reason] ? { reason: OPENSSL_REASON[e.reason] } : {}),
        })),
      );
      // UNSPECIFIED has no reasonCode at all (RFC 5280 5.3.1), so openssl shows one fewer reason per round.
      expect(text.match(/X509v3 CRL Reason Code/g)).toHaveLength(entries.filter((e) => e.reason !== 'UNSPECIFIED').length);
    });

    it(`ok/${spec.label}: @peculiar/x509 parses and verifies the CRL; entries, extensions and issuer match`, async () => {
      const ca = cas[index]!;
      const entries = sampleEntries();
      const { der } = buildCrl(ca, { entries, crlNumber: 4711n, idp: IDP_URL });

      // DER canonical: a schema-driven re-encoding gives the same bytes.
      expect(hex(AsnConvert.serialize(AsnConvert.parse(Buffer.from(der), asn1X509.CertificateList)))).toBe(hex(der));

      const crl = new x509.X509Crl(Buffer.from(der));
      expect(await crl.verify({ publicKey: ca.cert.publicKey })).toBe(true);
      expect(crl.version).toBe(asn1X509.Version.v2);
      expect(crl.issuer).toBe(ca.cert.subject);
      expect(hex(crl.issuerName.toArrayBuffer())).toBe(hex(ca.cert.subjectName.toArrayBuffer()));
      expect(hex(ca.issuer.issuerNameDer)).toBe(hex(ca.cert.subjectName.toArrayBuffer()));
      expect(crl.signatureAlgorithm.hash).toEqual(expect.objectContaining({ name: SIGNING_ALGORITHM_INFO[ca.signing].hash }));
      expect(crl.thisUpdate.getTime()).toBe(thisUpdate.getTime());
      expect(crl.nextUpdate!.getTime()).toBe(nextUpdate.getTime());

      expect(crl.entries.map((e) => ({ serial: e.serialNumber.replace(/^00/, ''), at: e.revocationDate.getTime(), reason: e.reason }))).toEqual(
        entries.map((e) => ({
          serial: e.serial,
          at: e.at.getTime(),
          reason: e.reason === 'UNSPECIFIED' ? undefined : REVOCATION_REASONS[e.reason],
        })),
      );
      for (const e of crl.entries) {
        const reasonExt = e.extensions.find((x) => x.type === '2.5.29.21');
        if (reasonExt) expect(reasonExt.critical).toBe(false);
        expect(e.extensions.length).toBeLessThanOrEqual(1);
      }

      // crlExtensions, in order: AKI (keyIdentifier only), CRL Number, critical IDP.
      expect(crl.extensions.map((e) => [e.type, e.critical])).toEqual([
        ['2.5.29.35', false],
        ['2.5.29.20', false],
        ['2.5.29.28', true],
      ]);
      const aki = crl.getExtension(x509.AuthorityKeyIdentifierExtension)!;
      expect(aki.keyId).toBe(ca.cert.getExtension(x509.SubjectKeyIdentifierExtension)!.keyId);
      expect(aki.certId).toBeUndefined();
      expect(hex(crl.getExtension('2.5.29.20')!.value)).toBe('02021267'); // INTEGER 4711 = 0x1267
      const idp = AsnConvert.parse(crl.getExtension('2.5.29.28')!.value, asn1X509.IssuingDistributionPoint);
      expect(idp.distributionPoint?.fullName?.map((g) => g.uniformResourceIdentifier)).toEqual([IDP_URL]);
      expect(idp.onlyContainsUserCerts).toBe(false);
      expect(idp.onlySomeReasons).toBeUndefined();
    });

    it(`ok/${spec.label}: openssl verify -crl_check says "certificate revoked" for the revoked leaf and OK for the other`, () => {
      const ca = cas[index]!;
      const extFile = writeFile(
        'leaf.cnf',
        'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n',
      );
      // The revoked leaf's serial has its high bit set: openssl pads it with 0x00 like we do.
      const leaves = { revoked: '8f1e2d3c4b5a69788796a5b4c3d2e1f0', good: '3f1e2d3c4b5a69788796a5b4c3d2e1f1' };
      const files: Record<string, string> = {};
      for (const [name, serial] of Object.entries(leaves)) {
        const key = writeFile(`${name}.key`, '');
        const csr = writeFile(`${name}.csr`, '');
        openssl('req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-subj', `/CN=${name}.example`, '-out', csr);
        const cert = writeFile(`${name}.pem`, '');
        openssl('x509', '-req', '-in', csr, '-CA', ca.pem, '-CAkey', ca.keyPem, '-set_serial', `0x${serial}`, '-days', '2', '-extfile', extFile, '-out', cert);
        files[name] = cert;
      }
      const { pem } = buildCrl(ca, {
        entries: [
          { serial: '0badc0ffee', at: thisUpdate, reason: 'SUPERSEDED' },
          { serial: leaves.revoked, at: new Date(thisUpdate.getTime() - 1000), reason: 'KEY_COMPROMISE' },
          { serial: 'ff'.repeat(16), at: thisUpdate, reason: 'UNSPECIFIED' },
        ],
        crlNumber: 2n,
      });

      const revoked = opensslAny('verify', '-crl_check', '-CAfile', ca.pem, '-CRLfile', pem, files.revoked!);
      expect(revoked.out).toContain('certificate revoked');
      expect(revoked.status).not.toBe(0);
      const good = opensslAny('verify', '-crl_check', '-CAfile', ca.pem, '-CRLfile', pem, files.good!);
      expect(good.out.trim()).toBe(`${files.good}: OK`);
      expect(good.status).toBe(0);
    });
  }

  it('ok/empty CRL: revokedCertificates is omitted, openssl says "No Revoked Certificates.", no IDP without a URL', async () => {
    const ca = cas[0]!;
    const { der, pem, writer } = buildCrl(ca, { crlNumber: 0n });
    expect(writer.count).toBe(0);
    expect(writer.byteLength).toBe(0);

    // RFC 5280 5.1.2.6: version, signature, issuer, thisUpdate, nextUpdate, then crlExtensions [0].
    const { fields } = walk(der);
    expect(fields.map((f) => f.tag)).toEqual([TAG.INTEGER, TAG.SEQUENCE, TAG.SEQUENCE, TAG.UTC_TIME, TAG.UTC_TIME, 0xa0]);
    expect(hex(valueOf(der, fields[0]!))).toBe('01');

    expectVerifyOk(pem, ca);
    const text = openssl('crl', '-in', pem, '-text', '-noout');
    expect(text).toContain('No Revoked Certificates.');
    expect(text).toMatch(/X509v3 CRL Number: ?\n\s+0\n/);
    expect(text).not.toContain('Issuing Distribution Point');

    const crl = new x509.X509Crl(Buffer.from(der));
    expect(await crl.verify({ publicKey: ca.cert.publicKey })).toBe(true);
    expect(crl.entries).toHaveLength(0);
    expect(crl.extensions.map((e) => e.type)).toEqual(['2.5.29.35', '2.5.29.20']);
  });

  it('ok/an empty CRL verifies every certificate as not revoked (openssl verify -crl_check)', () => {
    const ca = cas[2]!;
    const { pem } = buildCrl(ca, { crlNumber: 9n });
    const csr = writeFile('e.csr', '');
    const key = writeFile('e.key', '');
    openssl('req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-subj', '/CN=e.example', '-out', csr);
    const cert = writeFile('e.pem', '');
    openssl('x509', '-req', '-in', csr, '-CA', ca.pem, '-CAkey', ca.keyPem, '-set_serial', '0x1234', '-days', '1', '-out', cert);
    expect(opensslAny('verify', '-crl_check', '-CAfile', ca.pem, '-CRLfile', pem, cert).out.trim()).toBe(`${cert}: OK`);
  });

  it('ok/CRL numbers beyond 2^63, up to 20 octets, encode as positive minimal INTEGERs', async () => {
    const ca = cas[0]!;
    const cases: [bigint, string][] = [
      [0n, '00'],
      [127n, '7f'],
      [128n, '0080'],
      [2n ** 63n, '008000000000000000'],
      [2n ** 64n + 5n, '010000000000000005'],
      [2n ** 159n - 1n, '7f' + 'ff'.repeat(19)],
    ];
    for (const [n, content] of cases) {
      const { der, pem } = buildCrl(ca, { crlNumber: n });
      const crl = new x509.X509Crl(Buffer.from(der));
      const value = new Uint8Array(crl.getExtension('2.5.29.20')!.value);
      expect(hex(value)).toBe(`02${(content.length / 2).toString(16).padStart(2, '0')}${content}`);
      expect(BigInt(`0x${content}`)).toBe(n);
      expect(await crl.verify({ publicKey: ca.cert.publicKey })).toBe(true);
      expectVerifyOk(pem, ca);
      const text = openssl('crl', '-in', pem, '-text', '-noout');
      // openssl prints CRL numbers in decimal below 2^128 and as 0x… hex from there on.
      const shown = n < 2n ** 128n ? n.toString() : `0x${n.toString(16).toUpperCase()}`;
      expect(text).toMatch(new RegExp(`X509v3 CRL Number: ?\\n\\s+${shown}\\n`));
    }
  });

  it('ok/dates: UTCTime through 2049, GeneralizedTime from 2050; milliseconds are dropped', async () => {
    const ca = cas[1]!;
    const last2049 = new Date(Date.UTC(2049, 11, 31, 23, 59, 59, 999));
    const first2050 = new Date(Date.UTC(2050, 0, 1, 0, 0, 0));
    const entries: Entry[] = [
      { serial: '0a', at: last2049, reason: 'SUPERSEDED' },
      { serial: '0b', at: new Date(Date.UTC(2060, 6, 4, 12, 30, 45, 250)), reason: 'CESSATION_OF_OPERATION' },
      { serial: '0c', at: new Date(Date.UTC(1999, 11, 31, 23, 59, 58)), reason: 'UNSPECIFIED' },
    ];
    const { der, pem } = buildCrl(ca, { thisUpdate: last2049, nextUpdate: first2050, entries, crlNumber: 2050n });

    const { fields, entries: parsed } = walk(der);
    expect(fields[3]!.tag).toBe(TAG.UTC_TIME);
    expect(Buffer.from(valueOf(der, fields[3]!)).toString('latin1')).toBe('491231235959Z');
    expect(fields[4]!.tag).toBe(TAG.GENERALIZED_TIME);
    expect(Buffer.from(valueOf(der, fields[4]!)).toString('latin1')).toBe('20500101000000Z');
    expect(parsed.map((e) => [e[1]!.tag, Buffer.from(valueOf(der, e[1]!)).toString('latin1')])).toEqual([
      [TAG.UTC_TIME, '491231235959Z'],
      [TAG.GENERALIZED_TIME, '20600704123045Z'],
      [TAG.UTC_TIME, '991231235958Z'],
    ]);

    expectVerifyOk(pem, ca);
    const text = openssl('crl', '-in', pem, '-text', '-noout');
    expect(text).toContain('Last Update: Dec 31 23:59:59 2049 GMT');
    expect(text).toContain('Next Update: Jan  1 00:00:00 2050 GMT');
    expect(opensslEntries(text).map((e) => e.date)).toEqual([
      'Dec 31 23:59:59 2049 GMT',
      'Jul  4 12:30:45 2060 GMT',
      'Dec 31 23:59:58 1999 GMT',
    ]);

    const crl = new x509.X509Crl(Buffer.from(der));
    expect(await crl.verify({ publicKey: ca.cert.publicKey })).toBe(true);
    expect(crl.thisUpdate.toISOString()).toBe('2049-12-31T23:59:59.000Z');
    expect(crl.nextUpdate!.toISOString()).toBe('2050-01-01T00:00:00.000Z');
    expect(crl.entries.map((e) => e.revocationDate.toISOString())).toEqual([
      '2049-12-31T23:59:59.000Z',
      '2060-07-04T12:30:45.000Z',
      '1999-12-31T23:59:58.000Z',
    ]);
  });

  it('ok/serials: 0x00 pad when the high bit is set, leading zero octets dropped, up to 40 digits, either case', async () => {
    const ca = cas[2]!;
    const cases: [string, string][] = [
      ['01', '01'],
      ['7f', '7f'],
      ['80', '0080'],
      ['ff', '00ff'],
      ['00', '00'],
      ['0000ab', '00ab'],
      ['007f', '7f'],
      ['8f1e2d3c4b5a69788796a5b4c3d2e1f0', '008f1e2d3c4b5a69788796a5b4c3d2e1f0'],
      ['3f1e2d3c4b5a69788796a5b4c3d2e1f0', '3f1e2d3c4b5a69788796a5b4c3d2e1f0'],
      ['7f' + 'ee'.repeat(19), '7f' + 'ee'.repeat(19)],
      ['ff'.repeat(20), '00' + 'ff'.repeat(20)],
      ['ABCDEF', '00abcdef'],
    ];
    const entries = cases.map(([serial], i) => ({ serial, at: new Date(thisUpdate.getTime() - i * 1000), reason: 'AFFILIATION_CHANGED' as const }));
    const { der, pem } = buildCrl(ca, { entries });

    const { entries: parsed } = walk(der);
    expect(parsed.map((e) => [e[0]!.tag, hex(valueOf(der, e[0]!))])).toEqual(cases.map(([, content]) => [TAG.INTEGER, content]));

    expectVerifyOk(pem, ca);
    const shown = opensslEntries(openssl('crl', '-in', pem, '-text', '-noout')).map((e) => e.serial);
    expect(shown).toEqual(cases.map(([, content]) => content.replace(/^00(?=.)/, '').toUpperCase()));

    const crl = new x509.X509Crl(Buffer.from(der));
    expect(await crl.verify({ publicKey: ca.cert.publicKey })).toBe(true);
    expect(crl.entries).toHaveLength(cases.length);
  });

  it('ok/entries keep call order; count and byteLength follow each add', () => {
    const w = new RevokedEntriesWriter();
    const at = new Date(Date.UTC(2030, 0, 1));
    w.add('05', at, 'UNSPECIFIED'); // 30 12 | 02 01 05 | 17 0d …: 2 + 3 + 15
    expect([w.count, w.byteLength]).toEqual([1, 20]);
    w.add('80', at, 'KEY_COMPROMISE'); // 2 + 4 + 15 + 14 reasonCode
    expect([w.count, w.byteLength]).toEqual([2, 55]);
    w.add('03', new Date(Date.UTC(2070, 0, 1)), 'A_A_COMPROMISE'); // 2 + 3 + 17 + 14
    expect([w.count, w.byteLength]).toEqual([3, 91]);
    const ca = cas[0]!;
    const tbs = encodeTbsCertList(ca.issuer, { thisUpdate, nextUpdate, crlNumber: 3n, entries: w });
    const der = assembleCrl(ca.issuer, tbs, signTbs(ca, tbs));
    const { entries } = walk(der);
    expect(entries.map((e) => hex(valueOf(der, e[0]!)))).toEqual(['05', '0080', '03']);
    // reasonCode: Extensions { Extension { 2.5.29.21, OCTET STRING { ENUMERATED 10 } } }, non-critical
    expect(hex(der.subarray(entries[2]![2]!.start, entries[2]![2]!.end))).toBe('300c300a0603551d150403' + '0a010a');
  });

  it('ok/CA without SKI: the AKI is SHA-1 of its subjectPublicKey, and openssl accepts the CRL for revocation checks', async () => {
    const ca = caWithoutSki;
    const keyBits = new Uint8Array(AsnConvert.parse(ca.cert.publicKey.rawData, asn1X509.SubjectPublicKeyInfo).subjectPublicKey);
    const expected = createHash('sha1').update(keyBits).digest('hex');
    expect(hex(ca.issuer.authorityKeyIdentifier)).toBe(expected);

    const { der, pem } = buildCrl(ca, { entries: [{ serial: '42', at: thisUpdate, reason: 'PRIVILEGE_WITHDRAWN' }], crlNumber: 12n });
    const crl = new x509.X509Crl(Buffer.from(der));
    expect(await crl.verify({ publicKey: ca.cert.publicKey })).toBe(true);
    expect(crl.getExtension(x509.AuthorityKeyIdentifierExtension)!.keyId).toBe(expected);
    expectVerifyOk(pem, ca);

    const csr = writeFile('n.csr', '');
    const key = writeFile('n.key', '');
    openssl('req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-subj', '/CN=n.example', '-out', csr);
    const cert = writeFile('n.pem', '');
    openssl('x509', '-req', '-in', csr, '-CA', ca.pem, '-CAkey', ca.keyPem, '-set_serial', '0x42', '-days', '1', '-out', cert);
    expect(opensslAny('verify', '-crl_check', '-CAfile', ca.pem, '-CRLfile', pem, cert).out).toContain('certificate revoked');
  });

  it('ok/crlPem writes BEGIN X509 CRL with 64-column base64 that decodes to the DER', () => {
    const { der } = buildCrl(cas[0]!, { entries: sampleEntries() });
    const pem = crlPem(der);
    expect(pem.startsWith('-----BEGIN X509 CRL-----\n')).toBe(true);
    expect(pem.endsWith('-----END X509 CRL-----\n')).toBe(true);
    const body = pem.split('\n').slice(1, -2);
    expect(body.slice(0, -1).every((l) => l.length === 64)).toBe(true);
    expect(hex(Buffer.from(body.join(''), 'base64'))).toBe(hex(der));
  });

  it('ok/assembleCrl: in place for a fresh TBS, a copy otherwise; both give the same, valid bytes', async () => {
    const ca = cas[0]!;
    const w = new RevokedEntriesWriter();
    for (const e of sampleEntries()) w.add(e.serial, e.at, e.reason);
    const tbs = encodeTbsCertList(ca.issuer, { thisUpdate, nextUpdate, crlNumber: 77n, entries: w });
    const tbsBefore = hex(tbs);
    const sig1 = signTbs(ca, tbs);
    const copied = assembleCrl(ca.issuer, Uint8Array.from(tbs), sig1);
    const inPlace = assembleCrl(ca.issuer, tbs, sig1);
    expect(inPlace.buffer).toBe(tbs.buffer);
    expect(hex(inPlace)).toBe(hex(copied));
    expect(hex(tbs)).toBe(tbsBefore);

    // A second assembly of the same TBS (a retried signature, say) must not write over the first CRL.
    const sig2 = signTbs(ca, tbs);
    const second = assembleCrl(ca.issuer, tbs, sig2);
    expect(second.buffer).not.toBe(tbs.buffer);
    expect(hex(inPlace)).toBe(hex(copied));
    for (const der of [inPlace, second]) {
      expect(await new x509.X509Crl(Buffer.from(der)).verify({ publicKey: ca.cert.publicKey })).toBe(true);
    }

    // An RSA 2048 signature (256 octets) fits the room too.
    const rsa = cas[2]!;
    const rsaTbs = encodeTbsCertList(rsa.issuer, { thisUpdate, nextUpdate, crlNumber: 78n, entries: w });
    const rsaCrl = assembleCrl(rsa.issuer, rsaTbs, signTbs(rsa, rsaTbs));
    expect(rsaCrl.buffer).toBe(rsaTbs.buffer);
    expect(await new x509.X509Crl(Buffer.from(rsaCrl)).verify({ publicKey: rsa.cert.publicKey })).toBe(true);
  });

  it('ok/200,000 entries: the writer grows through its chunks, every entry reads back, openssl parses and verifies the CRL', () => {
    const ca = cas[0]!;
    const n = 200_000;
    const w = new RevokedEntriesWriter();
    const base = Date.UTC(2025, 0, 1);
    const serialOf = (i: number) => `${(0x40000000 + i).toString(16)}0000000000000000${(Math.imul(i, 2654435761) >>> 0).toString(16).padStart(8, '0')}`;
    const reasons = REVOCATION_REASON_NAMES;
    for (let i = 0; i < n; i++) w.add(serialOf(i), new Date(base + i * 1000), reasons[i % reasons.length]!);
    expect(w.count).toBe(n);
    const tbs = encodeTbsCertList(ca.issuer, { thisUpdate, nextUpdate, crlNumber: 200_000n, entries: w });
    const der = assembleCrl(ca.issuer, tbs, signTbs(ca, tbs));
    const pem = writeFile('big.pem', crlPem(der));

    const { entries } = walk(der);
    expect(entries).toHaveLength(n);
    let entryBytes = 0;
    const wrong: number[] = [];
    for (let i = 0; i < n; i++) {
      const e = entries[i]!;
      const reason = reasons[i % reasons.length]!;
      entryBytes += tlvSize(e.reduce((sum, t) => sum + t.end - t.start, 0));
      const ok =
        hex(valueOf(der, e[0]!)) === serialOf(i) &&
        Buffer.from(valueOf(der, e[1]!)).toString('latin1') === new Date(base + i * 1000).toISOString().replace(/^..(..)-(..)-(..)T(..):(..):(..).*$/, '$1$2$3$4$5$6Z') &&
        (reason === 'UNSPECIFIED' ? e.length === 2 : e.length === 3 && der[e[2]!.end - 1] === REVOCATION_REASONS[reason]);
      if (!ok) wrong.push(i);
    }
    expect(wrong).toEqual([]);
    expect(entryBytes).toBe(w.byteLength);

    expectVerifyOk(pem, ca);
    const text = openssl('crl', '-in', pem, '-text', '-noout');
    expect(text.match(/Serial Number: /g)).toHaveLength(n);
    expect(text.match(/X509v3 CRL Reason Code/g)).toHaveLength(n - Math.ceil(n / reasons.length));
  });

  it('ok/the largest entries (21-octet INTEGER, GeneralizedTime, reasonCode) fill chunks back to back without a gap', () => {
    const ca = cas[1]!;
    const n = 12_000; // 56 octets each: past the first three chunks (64, 128 and 256 KiB)
    const w = new RevokedEntriesWriter();
    const at = new Date(Date.UTC(2077, 4, 6, 7, 8, 9));
    const serialOf = (i: number) => `f${i.toString(16).padStart(7, '0')}${'ab'.repeat(16)}`;
    for (let i = 0; i < n; i++) w.add(serialOf(i), at, 'KEY_COMPROMISE');
    expect(w.byteLength).toBe(56 * n);
    const tbs = encodeTbsCertList(ca.issuer, { thisUpdate, nextUpdate, crlNumber: 1n, entries: w });
    const der = assembleCrl(ca.issuer, tbs, signTbs(ca, tbs));
    const { entries } = walk(der);
    expect(entries.map((e) => hex(valueOf(der, e[0]!)))).toEqual(Array.from({ length: n }, (_, i) => `00${serialOf(i)}`));
    expect(new Set(entries.map((e) => hex(der.subarray(e[1]!.start, e[2]!.end))))).toEqual(
      new Set([`180f${Buffer.from('20770506070809Z').toString('hex')}300c300a0603551d1504030a0101`]),
    );
    // (@peculiar/x509 refuses a CRL this size by default: "Maximum ASN.1 node count exceeded".)
    expectVerifyOk(writeFile('max.pem', crlPem(der)), ca);
  });
});

describe('CRL encoder refuses bad input', () => {
  it('fail/add: a bad serial, reason or date throws and leaves the writer unchanged', async () => {
    const w = new RevokedEntriesWriter();
    const at = new Date(Date.UTC(2030, 0, 1));
    w.add('0102', at, 'SUPERSEDED');
    const before = [w.count, w.byteLength];
    const bad: [string, Date, string, RegExp][] = [
      ['', at, 'SUPERSEDED', /even number of hex digits/],
      ['abc', at, 'SUPERSEDED', /even number of hex digits/],
      ['ab'.repeat(21), at, 'SUPERSEDED', /even number of hex digits/],
      ['0x12', at, 'SUPERSEDED', /not hexadecimal/],
      ['12zz', at, 'SUPERSEDED', /not hexadecimal/],
      ['-1', at, 'SUPERSEDED', /not hexadecimal/],
      ['12 3', at, 'SUPERSEDED', /not hexadecimal/],
      ['ab\u00e9f', at, 'SUPERSEDED', /not hexadecimal/],
      ['0102', new Date(Number.NaN), 'SUPERSEDED', /invalid date/],
      ['0102', new Date(Date.UTC(10000, 0, 1)), 'SUPERSEDED', /cannot be encoded/],
      ['0102', at, 'REMOVE_FROM_CRL', /unknown revocation reason/],
      ['0102', at, 'toString', /unknown revocation reason/],
    ];
    for (const [serial, date, reason, message] of bad) {
      expect(() => w.add(serial, date, reason as RevocationReason), `${serial} ${reason}`).toThrow(message);
      expect([w.count, w.byteLength]).toEqual(before);
    }
    // The writer still works, and nothing of the refused entries leaked into the CRL.
    w.add('0103', at, 'KEY_COMPROMISE');
    const ca = cas[0]!;
    const tbs = encodeTbsCertList(ca.issuer, { thisUpdate, nextUpdate, crlNumber: 5n, entries: w });
    const crl = new x509.X509Crl(Buffer.from(assembleCrl(ca.issuer, tbs, signTbs(ca, tbs))));
    expect(crl.entries.map((e) => [e.serialNumber, e.reason])).toEqual([
      ['0102', x509.X509CrlReason.superseded],
      ['0103', x509.X509CrlReason.keyCompromise],
    ]);
    expect(await crl.verify({ publicKey: ca.cert.publicKey })).toBe(true);
  });

  it('fail/addPacked: a malformed entry or an unknown reason code (-1 from the database) throws; the entries before it stay', () => {
    const bad: [string, RegExp][] = [
      ['0102,1893456000,-1', /unknown revocation reason code -1/],
      ['0102,1893456000,7', /unknown revocation reason code 7/],
      ['0102,1893456000,11', /unknown revocation reason code 11/],
      ['0102,1893456000', /malformed/],
      ['0102,,1', /malformed/],
      ['0102,18934x6000,1', /malformed/],
      ['0102,1893456000,', /malformed/],
      ['0102,1893456000,1,', /malformed/],
      ['0102,1234567890123456,1', /malformed/],
      [',1893456000,1', /even number of hex digits/],
      ['012,1893456000,1', /even number of hex digits/],
      ['01zz,1893456000,1', /not hexadecimal/],
      ['0102', /malformed/],
      ['0102,999999999999999,1', /invalid date/],
      ['0102,253402300800,1', /year 10000 cannot be encoded/],
    ];
    for (const [text, message] of bad) {
      const w = new RevokedEntriesWriter();
      expect(() => w.addPacked(`0a0b,1893456000,4;${text}`), text).toThrow(message);
      expect(w.count, text).toBe(1);
      expect(w.byteLength, text).toBe(2 + 4 + 15 + 14);
    }
  });

  it('fail/encodeTbsCertList: bad CRL numbers, update times and IDP URLs', () => {
    const ca = cas[0]!;
    const entries = new RevokedEntriesWriter();
    const base = { thisUpdate, nextUpdate, crlNumber: 1n, entries };
    expect(() => encodeTbsCertList(ca.issuer, { ...base, crlNumber: -1n })).toThrow(/non-negative/);
    expect(() => encodeTbsCertList(ca.issuer, { ...base, crlNumber: 2n ** 159n })).toThrow(/20 octets/);
    expect(() => encodeTbsCertList(ca.issuer, { ...base, crlNumber: 1 as unknown as bigint })).toThrow(/bigint/);
    expect(() => encodeTbsCertList(ca.issuer, { ...base, nextUpdate: thisUpdate })).toThrow(/later than thisUpdate/);
    expect(() => encodeTbsCertList(ca.issuer, { ...base, nextUpdate: new Date(thisUpdate.getTime() - 1000) })).toThrow(/later than thisUpdate/);
    expect(() => encodeTbsCertList(ca.issuer, { ...base, thisUpdate: new Date(Number.NaN) })).toThrow(/invalid thisUpdate/);
    for (const url of ['/crl/relative.crl', 'http://bad host/x.crl', 'http://crl.example/\u00e9.crl', '']) {
      expect(() => encodeTbsCertList(ca.issuer, { ...base, issuingDistributionPointUrl: url }), url).toThrow(CaError);
    }
  });

  it('fail/prepareCrlIssuer: a signing algorithm that does not fit the CA key, or a certificate that is not a CA', () => {
    const ec = cas[0]!;
    const rsa = cas[2]!;
    expect(() => prepareCrlIssuer(new Uint8Array(ec.cert.rawData), 'SHA256WITHRSA')).toThrow(
      expect.objectContaining({ code: 'signing_algorithm_mismatch' }),
    );
    expect(() => prepareCrlIssuer(new Uint8Array(rsa.cert.rawData), 'SHA256WITHECDSA')).toThrow(
      expect.objectContaining({ code: 'signing_algorithm_mismatch' }),
    );
    expect(() => prepareCrlIssuer(new Uint8Array(leafCert.rawData), 'SHA256WITHECDSA')).toThrow(/not a CA certificate/);
    expect(() => prepareCrlIssuer(Uint8Array.of(0x30, 0x03, 0x02, 0x01, 0x01), 'SHA256WITHECDSA')).toThrow();
  });

  it('fail/assembleCrl: a raw (P1363) ECDSA signature, an empty signature, or a TBS that is not one SEQUENCE', async () => {
    const ca = cas[0]!;
    const tbs = encodeTbsCertList(ca.issuer, { thisUpdate, nextUpdate, crlNumber: 1n, entries: new RevokedEntriesWriter() });
    const raw = nodeSign('sha256', tbs, { key: ca.privateKey, dsaEncoding: 'ieee-p1363' });
    expect(() => assembleCrl(ca.issuer, tbs, raw)).toThrow(/not a DER ECDSA-Sig-Value/);
    expect(() => assembleCrl(ca.issuer, tbs, new Uint8Array(0))).toThrow(/empty signature/);
    expect(() => assembleCrl(ca.issuer, tbs.subarray(0, tbs.length - 1), signTbs(ca, tbs))).toThrow();
    expect(() => assembleCrl(ca.issuer, Buffer.concat([tbs, Uint8Array.of(0)]), signTbs(ca, tbs))).toThrow(/single TBSCertList/);
    // The refused attempts did not use up the in-place room: the real one still verifies.
    const der = assembleCrl(ca.issuer, tbs, signTbs(ca, tbs));
    expect(der.buffer).toBe(tbs.buffer);
    expect(await new x509.X509Crl(Buffer.from(der)).verify({ publicKey: ca.cert.publicKey })).toBe(true);
  });
});

describe('a CRL in pieces (how the updater stores and signs large CRLs)', () => {
  const manyEntries = (n: number): Entry[] =>
    Array.from({ length: n }, (_, i) => ({
      serial: createHash('sha256').update(String(i)).digest('hex').slice(0, 32),
      at: new Date(thisUpdate.getTime() - i * 1000),
      reason: (['UNSPECIFIED', 'KEY_COMPROMISE', 'SUPERSEDED'] as const)[i % 3]!,
    }));

  it.each([0, 1, 40_000])('ok/ %i entries: the pieces join to the contiguous TBSCertList and CRL, and openssl verifies it', (n) => {
    const ca = cas[0]!;
    const entries = manyEntries(n);
    const fields = { thisUpdate, nextUpdate, crlNumber: 77n, issuingDistributionPointUrl: IDP_URL };
    const contiguousWriter = new RevokedEntriesWriter();
    const piecesWriter = new RevokedEntriesWriter();
    const completed: Uint8Array[] = [];
    for (const [i, e] of entries.entries()) {
      contiguousWriter.add(e.serial, e.at, e.reason);
      piecesWriter.add(e.serial, e.at, e.reason);
      // What the updater does after every page: take the chunks that will not change any more.
      if (i % 5000 === 4999) completed.push(...piecesWriter.takeCompleted().map((c) => Buffer.from(c)));
    }
    const tbs = encodeTbsCertList(ca.issuer, { ...fields, entries: contiguousWriter });
    const pieces = encodeTbsCertListPieces(ca.issuer, { ...fields, entries: piecesWriter });
    const joinedTbs = Buffer.concat([pieces.head, ...pieces.entries, pieces.tail]);
    expect(hex(joinedTbs)).toBe(hex(tbs));
    // Completed chunks handed out during the build are exactly the first pieces, unchanged since.
    expect(completed.length).toBeLessThanOrEqual(pieces.entries.length);
    completed.forEach((c, i) => expect(hex(c)).toBe(hex(pieces.entries[i]!)));
    if (n === 40_000) expect(completed.length).toBeGreaterThan(3);

    const signature = signTbs(ca, joinedTbs);
    const crl = assembleCrlPieces(ca.issuer, pieces, signature);
    const joined = Buffer.concat([crl.head, ...crl.entries, crl.tail]);
    expect(hex(joined)).toBe(hex(assembleCrl(ca.issuer, tbs, signature)));
    expectVerifyOk(writeFile(`pieces-${n}.pem`, crlPem(joined)), ca);
  });

  it('ok/ a writer that releases what takeCompleted hands out: taken chunks + the rest join to the same CRL, which openssl verifies', () => {
    const ca = cas[0]!;
    const entries = manyEntries(60_000);
    const fields = { thisUpdate, nextUpdate, crlNumber: 78n };
    const whole = new RevokedEntriesWriter();
    const releasing = new RevokedEntriesWriter({ releaseTaken: true });
    const stored: Uint8Array[] = [];
    for (const [i, e] of entries.entries()) {
      whole.add(e.serial, e.at, e.reason);
      releasing.add(e.serial, e.at, e.reason);
      if (i % 7000 === 6999) stored.push(...releasing.takeCompleted());
    }
    expect(stored.length).toBeGreaterThan(2);
    expect([releasing.count, releasing.byteLength]).toEqual([whole.count, whole.byteLength]);
    const tbs = encodeTbsCertList(ca.issuer, { ...fields, entries: whole });
    const pieces = encodeTbsCertListPieces(ca.issuer, { ...fields, entries: releasing });
    // Only the chunks not handed out are still in the writer; the length counts them all.
    expect(pieces.entries.length).toBeLessThan(whole.chunks().length);
    expect(pieces.entriesLength).toBe(whole.byteLength);
    const joinedTbs = Buffer.concat([pieces.head, ...stored, ...pieces.entries, pieces.tail]);
    expect(hex(joinedTbs)).toBe(hex(tbs));
    const signature = signTbs(ca, joinedTbs);
    const crl = assembleCrlPieces(ca.issuer, pieces, signature);
    const joined = Buffer.concat([crl.head, ...stored, ...crl.entries, crl.tail]);
    expect(hex(joined)).toBe(hex(assembleCrl(ca.issuer, tbs, signature)));
    expectVerifyOk(writeFile('released-pieces.pem', crlPem(joined)), ca);
    // The contiguous encoder cannot copy entries it no longer has.
    expect(() => encodeTbsCertList(ca.issuer, { ...fields, entries: releasing })).toThrow(/released/);
  });

  it('ok/ addPacked (the database\'s packed pages) writes exactly what add writes, for every reason and awkward serials and dates', () => {
    const rows: { serial: string; at: Date; reason: RevocationReason }[] = [
      ...manyEntries(3000),
      { serial: '00', at: new Date(Date.UTC(1950, 0, 1)), reason: 'UNSPECIFIED' },
      { serial: '0000ff', at: new Date(Date.UTC(2049, 11, 31, 23, 59, 59)), reason: 'KEY_COMPROMISE' },
      { serial: '80', at: new Date(Date.UTC(2050, 0, 1)), reason: 'A_A_COMPROMISE' },
      { serial: 'FF'.repeat(20), at: new Date(Date.UTC(1949, 11, 31, 23, 59, 59)), reason: 'PRIVILEGE_WITHDRAWN' },
      { serial: '7f' + 'ab'.repeat(19), at: new Date(Date.UTC(1969, 6, 20, 20, 17, 40)), reason: 'CESSATION_OF_OPERATION' },
      ...REVOCATION_REASON_NAMES.map((reason, i) => ({ serial: `0a0${i}`, at: new Date(Date.UTC(2031, 1, 2, 3, 4, 5)), reason })),
    ];
    const byAdd = new RevokedEntriesWriter();
    for (const r of rows) byAdd.add(r.serial, r.at, r.reason);
    const packed = rows.map((r) => `${r.serial},${Math.floor(r.at.getTime() / 1000)},${REVOCATION_REASONS[r.reason]}`);
    const byPacked = new RevokedEntriesWriter();
    // In pages, as the updater gets them; a page may be empty.
    expect(byPacked.addPacked('')).toBe(0);
    expect(byPacked.addPacked(packed.slice(0, 1000).join(';'))).toBe(1000);
    expect(byPacked.addPacked(packed.slice(1000).join(';'))).toBe(rows.length - 1000);
    expect(byPacked.count).toBe(rows.length);
    expect(hex(Buffer.concat(byPacked.chunks()))).toBe(hex(Buffer.concat(byAdd.chunks())));
  });

  it('fail/ a raw r||s ECDSA signature is refused for pieces too', () => {
    const ca = cas.find((c) => SIGNING_ALGORITHM_INFO[c.signing].family === 'EC')!;
    const pieces = encodeTbsCertListPieces(ca.issuer, { thisUpdate, nextUpdate, crlNumber: 1n, entries: new RevokedEntriesWriter() });
    expect(() => assembleCrlPieces(ca.issuer, pieces, new Uint8Array(64).fill(1))).toThrow(/DER ECDSA-Sig-Value/);
  });
});
