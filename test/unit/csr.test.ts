import { execFileSync } from 'node:child_process';
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign as nodeSign, webcrypto, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CaError } from '../../src/domain/ca-error.ts';
import { parseCsr, type ParsedCsr } from '../../src/x509/csr.ts';
import { formatIpAddress, isDnsName, parseIpAddress } from '../../src/x509/general-name.ts';
import { TAG, bitString, nullDer, octetString, oid, sequence, set, tlv } from '../../src/x509/der.ts';

const subtle = webcrypto.subtle as unknown as SubtleCrypto;
let dir: string;

const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
const opensslSubject = (csrPath: string) =>
  openssl('req', '-in', csrPath, '-noout', '-subject', '-nameopt', 'RFC2253').trim().replace(/^subject=/, '');

async function expectCaError(fn: () => Promise<unknown>, code: string, detail?: RegExp): Promise<CaError> {
  try {
    await fn();
  } catch (e) {
    expect(e).toBeInstanceOf(CaError);
    const err = e as CaError;
    expect(err.kind).toBe('invalid_request');
    expect(err.code, err.detail).toBe(code);
    if (detail) expect(err.detail).toMatch(detail);
    return err;
  }
  throw new Error(`expected CaError ${code}`);
}

// ---------------------------------------------------------------------------------------------
// Hand-built CSRs, for shapes no tool produces.
// ---------------------------------------------------------------------------------------------

const utf8 = (s: string) => tlv(TAG.UTF8_STRING, Buffer.from(s, 'utf8'));
const printable = (s: string) => tlv(TAG.PRINTABLE_STRING, Buffer.from(s, 'latin1'));
const ava = (type: string, value: Uint8Array) => sequence(oid(type), value);
const name = (...rdns: Uint8Array[][]) => sequence(...rdns.map((avas) => set(...avas)));
const ext = (id: string, value: Uint8Array) => sequence(oid(id), octetString(value));
const san = (...gns: Uint8Array[]) => ext('2.5.29.17', sequence(...gns));

interface BuildOpts {
  key: KeyObject;
  spkiDer?: Uint8Array;
  subjectDer?: Uint8Array;
  version?: number;
  extensions?: Uint8Array[];
  /** Raw attributes content; overrides `extensions`. `null` drops the [0] field altogether. */
  attributes?: Uint8Array | null;
  sigAlgDer?: Uint8Array;
  hash?: string;
}

function buildCsr(o: BuildOpts): Buffer {
  const spki = o.spkiDer ?? exportSpki(o.key);
  const attrsContent =
    o.attributes !== undefined
      ? o.attributes
      : o.extensions
        ? sequence(oid('1.2.840.113549.1.9.14'), set(sequence(...o.extensions)))
        : new Uint8Array(0);
  const info = sequence(
    tlv(TAG.INTEGER, Uint8Array.of(o.version ?? 0)),
    o.subjectDer ?? name([ava('2.5.4.3', utf8('hand.example'))]),
    spki,
    ...(attrsContent === null ? [] : [tlv(0xa0, attrsContent)]),
  );
  const isEc = o.key.asymmetricKeyType === 'ec';
  const sigAlg = o.sigAlgDer ?? (isEc ? sequence(oid('1.2.840.10045.4.3.2')) : sequence(oid('1.2.840.113549.1.1.11'), nullDer()));
  const sig = nodeSign(o.hash ?? 'sha256', info, isEc ? { key: o.key, dsaEncoding: 'der' } : o.key);
  return Buffer.from(sequence(info, sigAlg, bitString(sig)));
}

function exportSpki(k: KeyObject): Uint8Array {
  return new Uint8Array(createPublicKey(k).export({ format: 'der', type: 'spki' }));
}

const toPem = (der: Uint8Array) =>
  `-----BEGIN CERTIFICATE REQUEST-----\n${Buffer.from(der).toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '')}\n-----END CERTIFICATE REQUEST-----\n`;

// ---------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------

type Alg = { label: string; gen: RsaHashedKeyGenParams | EcKeyGenParams; sign: Algorithm | EcdsaParams; key: ParsedCsr['key'] };
const ALGS: Alg[] = [
  { label: 'EC P-256', gen: { name: 'ECDSA', namedCurve: 'P-256' }, sign: { name: 'ECDSA', hash: 'SHA-256' } as EcdsaParams, key: { family: 'EC', curve: 'P-256' } },
  { label: 'EC P-384', gen: { name: 'ECDSA', namedCurve: 'P-384' }, sign: { name: 'ECDSA', hash: 'SHA-384' } as EcdsaParams, key: { family: 'EC', curve: 'P-384' } },
  { label: 'EC P-521', gen: { name: 'ECDSA', namedCurve: 'P-521' }, sign: { name: 'ECDSA', hash: 'SHA-512' } as EcdsaParams, key: { family: 'EC', curve: 'P-521' } },
  ...[2048, 3072, 4096].map(
    (bits): Alg => ({
      label: `RSA ${bits}`,
      gen: { name: 'RSASSA-PKCS1-v1_5', modulusLength: bits, publicExponent: new Uint8Array([1, 0, 1]), hash: bits === 2048 ? 'SHA-256' : bits === 3072 ? 'SHA-384' : 'SHA-512' },
      sign: { name: 'RSASSA-PKCS1-v1_5' },
      key: { family: 'RSA', bits },
    }),
  ),
];

const OPENSSL_KEYS: { label: string; newkey: string[]; key: ParsedCsr['key']; digest: string }[] = [
  { label: 'EC P-256', newkey: ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'], key: { family: 'EC', curve: 'P-256' }, digest: '-sha256' },
  { label: 'EC P-384', newkey: ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384'], key: { family: 'EC', curve: 'P-384' }, digest: '-sha384' },
  { label: 'EC P-521', newkey: ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-521'], key: { family: 'EC', curve: 'P-521' }, digest: '-sha512' },
  { label: 'RSA 2048', newkey: ['-newkey', 'rsa:2048'], key: { family: 'RSA', bits: 2048 }, digest: '-sha256' },
  { label: 'RSA 3072', newkey: ['-newkey', 'rsa:3072'], key: { family: 'RSA', bits: 3072 }, digest: '-sha384' },
  { label: 'RSA 4096', newkey: ['-newkey', 'rsa:4096'], key: { family: 'RSA', bits: 4096 }, digest: '-sha512' },
];

const peculiarCsrs = new Map<string, x509.Pkcs10CertificateRequest>();
const opensslCsrs = new Map<string, string>();
let ecKey: KeyObject;
let rsaKey: KeyObject;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'csr-test-'));
  ecKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  rsaKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;

  await Promise.all(
    ALGS.map(async (a) => {
      const keys = (await subtle.generateKey(a.gen, true, ['sign', 'verify'])) as CryptoKeyPair;
      const csr = await x509.Pkcs10CertificateRequestGenerator.create({
        name: 'CN=peculiar.example, O=Peculiar Test, C=DE',
        keys,
        signingAlgorithm: a.sign,
        extensions: [
          new x509.SubjectAlternativeNameExtension([
            { type: 'dns', value: 'peculiar.example' },
            { type: 'dns', value: '*.peculiar.example' },
            { type: 'ip', value: '192.0.2.7' },
            { type: 'email', value: 'ops@peculiar.example' },
            { type: 'url', value: 'spiffe://peculiar.example/ns/a' },
          ]),
        ],
      });
      peculiarCsrs.set(a.label, csr);
    }),
  );

  for (const k of OPENSSL_KEYS) {
    const file = `${k.label.replace(/\W/g, '_')}.csr`;
    openssl(
      'req', '-new', ...k.newkey, '-nodes', '-keyout', `${file}.key`, k.digest,
      '-subj', '/C=US/ST=California/L=San Francisco/O=Acme, Inc./OU=Platform/CN=a.example',
      '-addext', 'subjectAltName=DNS:a.example,IP:10.0.0.1,email:a@b.c,URI:spiffe://x/y,IP:2001:db8::1',
      '-out', file,
    );
    opensslCsrs.set(k.label, file);
  }
}, 120_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------
// Cross-checks
// ---------------------------------------------------------------------------------------------

describe('parseCsr cross-checked against @peculiar/x509', () => {
  for (const a of ALGS) {
    it(`ok/${a.label} CSR from Pkcs10CertificateRequestGenerator`, async () => {
      const csr = peculiarCsrs.get(a.label)!;
      const parsed = await parseCsr(csr.toString('pem'));
      // @peculiar prints RDNs in DER order joined by ", "; RFC 4514 (and openssl) prints them reversed.
      expect(parsed.subject).toBe(csr.subject.split(', ').reverse().join(','));
      expect(parsed.subject).toBe('C=DE,O=Peculiar Test,CN=peculiar.example');
      expect(parsed.commonName).toBe('peculiar.example');
      expect(parsed.key).toEqual(a.key);
      expect(Buffer.from(parsed.spkiDer).equals(Buffer.from(csr.publicKey.rawData))).toBe(true);
      expect(Buffer.from(parsed.publicKey.export({ format: 'der', type: 'spki' })).equals(Buffer.from(parsed.spkiDer))).toBe(true);
      expect(Buffer.from(parsed.subjectDer).equals(Buffer.from(csr.subjectName.toArrayBuffer()))).toBe(true);
      expect(Buffer.from(parsed.der).equals(Buffer.from(csr.rawData))).toBe(true);
      expect(parsed.signatureAlgorithmOid).toBe(
        a.key.family === 'EC'
          ? { 'P-256': '1.2.840.10045.4.3.2', 'P-384': '1.2.840.10045.4.3.3', 'P-521': '1.2.840.10045.4.3.4' }[a.key.curve]
          : { 2048: '1.2.840.113549.1.1.11', 3072: '1.2.840.113549.1.1.12', 4096: '1.2.840.113549.1.1.13' }[a.key.bits],
      );
      const sanExt = csr.getExtension('2.5.29.17') as x509.SubjectAlternativeNameExtension;
      const expected = sanExt.names.items.map((n) => ({ type: n.type === 'url' ? 'uri' : n.type, value: n.value }));
      expect(parsed.subjectAltNames).toEqual(expected);
      expect(Buffer.from(parsed.sanDer!).equals(Buffer.from(sanExt.value))).toBe(true);
      expect(await csr.verify()).toBe(true);
    });
  }
});

describe('parseCsr cross-checked against the openssl CLI', () => {
  for (const k of OPENSSL_KEYS) {
    it(`ok/${k.label} CSR from openssl req`, async () => {
      const file = opensslCsrs.get(k.label)!;
      const pem = readFileSync(join(dir, file), 'utf8');
      const parsed = await parseCsr(pem);
      expect(parsed.subject).toBe(opensslSubject(file));
      expect(parsed.subject).toBe('CN=a.example,OU=Platform,O=Acme\\, Inc.,L=San Francisco,ST=California,C=US');
      expect(parsed.commonName).toBe('a.example');
      expect(parsed.key).toEqual(k.key);
      expect(parsed.subjectAltNames).toEqual([
        { type: 'dns', value: 'a.example' },
        { type: 'ip', value: '10.0.0.1' },
        { type: 'email', value: 'a@b.c' },
        { type: 'uri', value: 'spiffe://x/y' },
        { type: 'ip', value: '2001:db8::1' },
      ]);
      const pubFromOpenssl = openssl('req', '-in', file, '-noout', '-pubkey');
      const ours = parsed.publicKey.export({ format: 'pem', type: 'spki' }).toString();
      expect(ours.trim()).toBe(pubFromOpenssl.trim());
      // The same CSR as DER bytes gives the same result.
      const der = execFileSync('openssl', ['req', '-in', file, '-outform', 'DER'], { cwd: dir });
      const fromDer = await parseCsr(new Uint8Array(der));
      expect(fromDer.subject).toBe(parsed.subject);
      expect(Buffer.from(fromDer.der).equals(der)).toBe(true);
    });
  }

  it('ok/RFC 4514 escaping and multi-valued RDNs match openssl -nameopt RFC2253', async () => {
    openssl(
      'req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'esc.key',
      '-multivalue-rdn', '-subj', '/C=US/O=Acme, Inc.+OU=R&D <x>; "q"\\\\z/CN=#lead trail /emailAddress=x@y.z/DC=example/UID=jdoe/serialNumber=42/street=1 Main St',
      '-out', 'esc.csr',
    );
    const parsed = await parseCsr(readFileSync(join(dir, 'esc.csr'), 'utf8'));
    // RFC 4514 3 spells it STREET; openssl's short name is lower case (attribute types are case-insensitive).
    expect(parsed.subject).toBe(opensslSubject('esc.csr').replace(/^street=/, 'STREET='));
    expect(parsed.subject).toContain('CN=\\#lead trail\\ ');
    expect(parsed.commonName).toBe('#lead trail ');
  });

  it('ok/unknown attribute types and non-string values are rendered as OID=#hex, like openssl', async () => {
    const subjectDer = name(
      [ava('2.5.4.6', printable('US'))],
      [ava('1.2.3.4', utf8('abc'))],
      [ava('2.5.4.3', sequence(tlv(TAG.INTEGER, Uint8Array.of(5))))],
      [ava('2.5.4.3', utf8('x'))],
    );
    const der = buildCsr({ key: ecKey, subjectDer });
    writeFileSync(join(dir, 'unknown.csr'), toPem(der));
    const parsed = await parseCsr(der);
    expect(parsed.subject).toBe('CN=x,CN=#3003020105,1.2.3.4=#0C03616263,C=US');
    expect(parsed.subject).toBe(opensslSubject('unknown.csr'));
    expect(parsed.commonName).toBe('x');
  });

  it('ok/non-ASCII values are decoded (UTF8String, BMPString) and left unescaped', async () => {
    const bmp = Buffer.from('Zoë Ünïcødé', 'utf16le').swap16();
    const subjectDer = name([ava('2.5.4.10', tlv(TAG.BMP_STRING, bmp))], [ava('2.5.4.3', utf8('日本語 ,x'))]);
    const parsed = await parseCsr(buildCsr({ key: ecKey, subjectDer }));
    expect(parsed.subject).toBe('CN=日本語 \\,x,O=Zoë Ünïcødé');
    expect(parsed.commonName).toBe('日本語 ,x');
    const pec = new x509.Name(Buffer.from(subjectDer));
    expect(pec.getField('CN')).toEqual(['日本語 ,x']);
    expect(pec.getField('O')).toEqual(['Zoë Ünïcødé']);
  });

  it('ok/RSA CSR verifies with openssl too (sanity of the fixtures)', () => {
    expect(openssl('req', '-in', opensslCsrs.get('RSA 2048')!, '-noout', '-verify').toString()).toBe('');
  });
});

describe('parseCsr input forms', () => {
  it('ok/accepts the legacy NEW CERTIFICATE REQUEST label, CRLF, odd line lengths and surrounding whitespace', async () => {
    const der = buildCsr({ key: ecKey });
    const b64 = der.toString('base64');
    const legacy = `\n  -----BEGIN NEW CERTIFICATE REQUEST-----\r\n${b64.replace(/.{76}/g, '$&\r\n')}\r\n-----END NEW CERTIFICATE REQUEST-----\r\n\n`;
    expect((await parseCsr(legacy)).commonName).toBe('hand.example');
    expect((await parseCsr(toPem(der))).commonName).toBe('hand.example');
    // PEM text handed over as bytes.
    expect((await parseCsr(Buffer.from(toPem(der)))).commonName).toBe('hand.example');
  });

  it('ok/a CSR without attributes, without SAN and with an empty subject', async () => {
    const noAttrs = await parseCsr(buildCsr({ key: rsaKey, attributes: null, subjectDer: sequence() }));
    expect(noAttrs.subject).toBe('');
    expect(noAttrs.commonName).toBeUndefined();
    expect(noAttrs.subjectAltNames).toEqual([]);
    expect(noAttrs.sanDer).toBeUndefined();
    expect(noAttrs.key).toEqual({ family: 'RSA', bits: 2048 });
  });

  it('ok/an empty subject with a SAN keeps the exact GeneralNames bytes', async () => {
    const gns = sequence(tlv(0x82, Buffer.from('only-san.example')), tlv(0x87, Uint8Array.of(0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1)));
    const parsed = await parseCsr(buildCsr({ key: ecKey, subjectDer: sequence(), extensions: [ext('2.5.29.17', gns), ext('2.5.29.15', bitString(Uint8Array.of(0x80), 7))] }));
    expect(Buffer.from(parsed.subjectDer).toString('hex')).toBe('3000');
    expect(Buffer.from(parsed.sanDer!).equals(Buffer.from(gns))).toBe(true);
    expect(parsed.subjectAltNames).toEqual([
      { type: 'dns', value: 'only-san.example' },
      { type: 'ip', value: '2001:db8::1' },
    ]);
  });

  it('fail/malformed PEM', async () => {
    const der = buildCsr({ key: ecKey });
    const pem = toPem(der);
    await expectCaError(() => parseCsr('hello'), 'invalid_csr', /PEM/);
    await expectCaError(() => parseCsr(pem.replace(/CERTIFICATE REQUEST/g, 'CERTIFICATE')), 'invalid_csr', /PEM/);
    await expectCaError(() => parseCsr(pem.replace('END CERTIFICATE REQUEST', 'END NEW CERTIFICATE REQUEST')), 'invalid_csr', /labels/);
    await expectCaError(() => parseCsr(pem.replace(/\n([A-Za-z0-9])/, '\n!$1')), 'invalid_csr', /PEM/);
    await expectCaError(() => parseCsr(`${pem}\n${pem}`), 'invalid_csr', /PEM/);
    await expectCaError(() => parseCsr(`junk before\n${pem}`), 'invalid_csr', /PEM/);
    await expectCaError(() => parseCsr(pem.replace('-----\n', '-----\nProc-Type: 4,ENCRYPTED\n\n')), 'invalid_csr', /PEM/);
    await expectCaError(() => parseCsr('-----BEGIN CERTIFICATE REQUEST-----\n-----END CERTIFICATE REQUEST-----'), 'invalid_csr', /base64/);
    // Base64 with the padding removed, and with non-zero pad bits ("QR==" instead of "QQ==").
    await expectCaError(() => parseCsr('-----BEGIN CERTIFICATE REQUEST-----\nMIIBQQ\n-----END CERTIFICATE REQUEST-----'), 'invalid_csr', /base64/);
    await expectCaError(() => parseCsr('-----BEGIN CERTIFICATE REQUEST-----\nMIIBQR==\n-----END CERTIFICATE REQUEST-----'), 'invalid_csr', /base64/);
  });

  it('fail/DER garbage, truncation and trailing bytes', async () => {
    const der = buildCsr({ key: ecKey });
    await expectCaError(() => parseCsr(new Uint8Array(0)), 'invalid_csr');
    await expectCaError(() => parseCsr(Uint8Array.of(0x30, 0x03, 0x02, 0x01, 0x00)), 'invalid_csr', /three fields/);
    await expectCaError(() => parseCsr(new Uint8Array(Buffer.from('30ffffffff', 'hex'))), 'invalid_csr', /malformed CSR/);
    await expectCaError(() => parseCsr(der.subarray(0, der.length - 5)), 'invalid_csr', /truncated/);
    await expectCaError(() => parseCsr(Buffer.concat([der, Buffer.of(0)])), 'invalid_csr', /trailing/);
    await expectCaError(() => parseCsr(toPem(Buffer.concat([der, Buffer.of(0x05, 0x00)]))), 'invalid_csr', /trailing/);
    // Same content with a non-minimal outer length.
    const inner = der.subarray(der[1] === 0x81 ? 3 : 4);
    const bad = Buffer.concat([Buffer.of(0x30, 0x82, 0x00, inner.length), inner]);
    if (inner.length >= 0x80) await expectCaError(() => parseCsr(bad), 'invalid_csr', /leading zero/);
    // Not DER: indefinite length.
    await expectCaError(() => parseCsr(Buffer.concat([Buffer.of(0x30, 0x80), inner, Buffer.of(0, 0)])), 'invalid_csr', /indefinite/);
    // Random garbage that happens to start with SEQUENCE.
    const rnd = Buffer.alloc(200, 0x41);
    rnd[0] = 0x30;
    await expectCaError(() => parseCsr(rnd), 'invalid_csr');
  });

  it('fail/version other than v1(0)', async () => {
    await expectCaError(() => parseCsr(buildCsr({ key: ecKey, version: 1 })), 'invalid_csr', /version/);
  });

  it('fail/a flipped signature byte', async () => {
    for (const csr of [peculiarCsrs.get('EC P-256')!, peculiarCsrs.get('RSA 2048')!]) {
      const der = Buffer.from(csr.rawData);
      der[der.length - 1] ^= 0x01;
      await expectCaError(() => parseCsr(der), 'invalid_csr', /signature does not verify/);
    }
    // A flipped byte in the signed part (the CN) breaks the signature too.
    const der = Buffer.from(buildCsr({ key: rsaKey }));
    const at = der.indexOf(Buffer.from('hand.example'));
    der[at] ^= 0x20;
    await expectCaError(() => parseCsr(der), 'invalid_csr', /signature does not verify/);
  });

  it('fail/signature from another key', async () => {
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const spkiDer = new Uint8Array(createPublicKey(other).export({ format: 'der', type: 'spki' }));
    await expectCaError(() => parseCsr(buildCsr({ key: ecKey, spkiDer })), 'invalid_csr', /signature does not verify/);
  });
});

describe('parseCsr refusals', () => {
  it('fail/unsupported curves are unsupported_key, naming the curve', async () => {
    openssl('ecparam', '-name', 'prime192v1', '-genkey', '-noout', '-out', 'p192.key');
    openssl('req', '-new', '-key', 'p192.key', '-subj', '/CN=p192', '-out', 'p192.csr');
    await expectCaError(() => parseCsr(readFileSync(join(dir, 'p192.csr'), 'utf8')), 'unsupported_key', /P-192/);
    openssl('ecparam', '-name', 'secp256k1', '-genkey', '-noout', '-out', 'k1.key');
    openssl('req', '-new', '-key', 'k1.key', '-subj', '/CN=k1', '-out', 'k1.csr');
    await expectCaError(() => parseCsr(readFileSync(join(dir, 'k1.csr'), 'utf8')), 'unsupported_key', /secp256k1/);
    openssl('ecparam', '-name', 'brainpoolP256r1', '-genkey', '-noout', '-out', 'bp.key');
    openssl('req', '-new', '-key', 'bp.key', '-subj', '/CN=bp', '-out', 'bp.csr');
    await expectCaError(() => parseCsr(readFileSync(join(dir, 'bp.csr'), 'utf8')), 'unsupported_key', /brainpoolP256r1/);
  });

  it('fail/explicit curve parameters and compressed points are unsupported_key', async () => {
    openssl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-param_enc', 'explicit', '-out', 'explicit.key');
    openssl('req', '-new', '-key', 'explicit.key', '-subj', '/CN=explicit', '-out', 'explicit.csr');
    await expectCaError(() => parseCsr(readFileSync(join(dir, 'explicit.csr'), 'utf8')), 'unsupported_key', /explicit/);
    const compressedSpki = createPublicKey(ecKey).export({ format: 'der', type: 'spki' });
    // Rebuild the SPKI with the compressed point: 0x02/0x03 || X.
    const point = compressedSpki.subarray(compressedSpki.length - 65);
    const x = point.subarray(1, 33);
    const y = point.subarray(33);
    const compressed = Buffer.concat([Buffer.of(2 + (y[31] & 1)), x]);
    const spkiDer = sequence(sequence(oid('1.2.840.10045.2.1'), oid('1.2.840.10045.3.1.7')), bitString(compressed));
    await expectCaError(() => parseCsr(buildCsr({ key: ecKey, spkiDer })), 'unsupported_key', /compressed/);
  });

  it('fail/an EC point that is not on the curve is invalid_csr', async () => {
    for (const [curve, key] of [['P-256', ecKey], ['P-384', generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey]] as const) {
      const spki = Buffer.from(createPublicKey(key).export({ format: 'der', type: 'spki' }));
      spki[spki.length - 1] ^= 0x01; // last octet of Y
      await expectCaError(() => parseCsr(buildCsr({ key, spkiDer: spki, hash: curve === 'P-256' ? 'sha256' : 'sha384' })), 'invalid_csr', /public key is malformed/);
    }
  });

  it('fail/RSA keys below 2048 bits are unsupported_key, naming the size', async () => {
    openssl('req', '-new', '-newkey', 'rsa:1024', '-nodes', '-keyout', 'r1k.key', '-subj', '/CN=small', '-out', 'r1k.csr');
    await expectCaError(() => parseCsr(readFileSync(join(dir, 'r1k.csr'), 'utf8')), 'unsupported_key', /1024 bits/);
  });

  it('fail/other key algorithms are unsupported_key', async () => {
    openssl('genpkey', '-algorithm', 'ed25519', '-out', 'ed.key');
    openssl('req', '-new', '-key', 'ed.key', '-subj', '/CN=ed', '-out', 'ed.csr');
    // Ed25519 CSRs are signed with Ed25519, which we refuse first as a signature algorithm.
    await expectCaError(() => parseCsr(readFileSync(join(dir, 'ed.csr'), 'utf8')), 'invalid_csr', /Ed25519/);
    const edSpki = new Uint8Array(createPublicKey(createPrivateKey(readFileSync(join(dir, 'ed.key')))).export({ format: 'der', type: 'spki' }));
    await expectCaError(() => parseCsr(buildCsr({ key: ecKey, spkiDer: edSpki })), 'unsupported_key', /Ed25519/);
    openssl('genpkey', '-algorithm', 'rsa-pss', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', 'pss-key.key');
    const pssSpki = new Uint8Array(createPublicKey(createPrivateKey(readFileSync(join(dir, 'pss-key.key')))).export({ format: 'der', type: 'spki' }));
    await expectCaError(() => parseCsr(buildCsr({ key: rsaKey, spkiDer: pssSpki })), 'unsupported_key', /RSASSA-PSS/);
  });

  it('fail/SHA-1 and RSA-PSS signatures are invalid_csr and say unsupported', async () => {
    openssl('req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'sha1.key', '-sha1', '-subj', '/CN=sha1', '-out', 'sha1.csr');
    await expectCaError(() => parseCsr(readFileSync(join(dir, 'sha1.csr'), 'utf8')), 'invalid_csr', /unsupported.*sha1WithRSAEncryption/);
    openssl('req', '-new', '-key', 'sha1.key', '-sigopt', 'rsa_padding_mode:pss', '-subj', '/CN=pss', '-out', 'pss.csr');
    await expectCaError(() => parseCsr(readFileSync(join(dir, 'pss.csr'), 'utf8')), 'invalid_csr', /unsupported.*RSASSA-PSS/);
    const ecdsaSha1 = buildCsr({ key: ecKey, sigAlgDer: sequence(oid('1.2.840.10045.4.1')), hash: 'sha1' });
    await expectCaError(() => parseCsr(ecdsaSha1), 'invalid_csr', /unsupported.*ecdsa-with-SHA1/);
  });

  it('fail/a signature algorithm of the other key family', async () => {
    const der = buildCsr({ key: ecKey, sigAlgDer: sequence(oid('1.2.840.113549.1.1.11'), nullDer()) });
    await expectCaError(() => parseCsr(der), 'invalid_csr', /does not fit/);
  });

  it('fail/unsupported SAN types are unsupported_san', async () => {
    openssl('req', '-new', '-key', 'sha1.key', '-subj', '/CN=x', '-addext', 'subjectAltName=otherName:1.2.3.4;UTF8:foo', '-out', 'other.csr');
    await expectCaError(() => parseCsr(readFileSync(join(dir, 'other.csr'), 'utf8')), 'unsupported_san', /otherName/);
    openssl('req', '-new', '-key', 'sha1.key', '-subj', '/CN=x', '-addext', 'subjectAltName=RID:1.2.3.4', '-out', 'rid.csr');
    await expectCaError(() => parseCsr(readFileSync(join(dir, 'rid.csr'), 'utf8')), 'unsupported_san', /registeredID/);
    const dirName = san(tlv(0xa4, name([ava('2.5.4.3', utf8('x'))])));
    await expectCaError(() => parseCsr(buildCsr({ key: ecKey, extensions: [dirName] })), 'unsupported_san', /directoryName/);
  });

  it('fail/malformed SAN values are unsupported_san', async () => {
    const cases: [Uint8Array, RegExp][] = [
      [tlv(0x82, Buffer.from('bad name.example')), /DNS SAN/],
      [tlv(0x82, Buffer.from('bücher.example', 'utf8')), /IA5String/],
      [tlv(0x82, Buffer.from('')), /DNS SAN/],
      [tlv(0x82, Buffer.from('a..example')), /DNS SAN/],
      [tlv(0x82, Buffer.from('-a.example')), /DNS SAN/],
      [tlv(0x82, Buffer.from('a.*.example')), /DNS SAN/],
      [tlv(0x82, Buffer.from(`${'a'.repeat(64)}.example`)), /DNS SAN/],
      [tlv(0x81, Buffer.from('no-at-sign')), /email SAN/],
      [tlv(0x81, Buffer.from('a@b@c@')), /email SAN/],
      [tlv(0x86, Buffer.from('relative/path')), /URI SAN/],
      [tlv(0x86, Buffer.from('https://a b')), /URI SAN/],
      [tlv(0x87, Uint8Array.of(10, 0, 0, 1, 1)), /4 or 16/],
      [tlv(0x87, Uint8Array.of(10, 0, 0)), /4 or 16/],
    ];
    for (const [gn, re] of cases) {
      await expectCaError(() => parseCsr(buildCsr({ key: ecKey, extensions: [san(gn)] })), 'unsupported_san', re);
    }
    await expectCaError(() => parseCsr(buildCsr({ key: ecKey, extensions: [san()] })), 'unsupported_san', /empty/);
  });

  it('fail/structurally broken extension requests are invalid_csr', async () => {
    const twice = [san(tlv(0x82, Buffer.from('a.example'))), san(tlv(0x82, Buffer.from('b.example')))];
    await expectCaError(() => parseCsr(buildCsr({ key: ecKey, extensions: twice })), 'invalid_csr', /twice/);
    const trailing = ext('2.5.29.17', Buffer.concat([sequence(tlv(0x82, Buffer.from('a.example'))), Buffer.of(5, 0)]));
    await expectCaError(() => parseCsr(buildCsr({ key: ecKey, extensions: [trailing] })), 'invalid_csr', /trailing/);
    const notSeq = ext('2.5.29.17', tlv(0x82, Buffer.from('a.example')));
    await expectCaError(() => parseCsr(buildCsr({ key: ecKey, extensions: [notSeq] })), 'invalid_csr', /subjectAltName/);
  });
});

describe('name helpers', () => {
  it('ok/IP addresses parse and print like the WHATWG URL parser (RFC 5952 canonical IPv6)', () => {
    for (const ip of ['::', '::1', '1::', '2001:db8::1', '2001:DB8:0:0:1:0:0:1', '2001:db8:0:1:1:1:1:1', '1:0:0:2:0:0:0:3',
      'fe80::1:2', '::ffff:192.0.2.1', '64:ff9b::10.0.0.1', '1:2:3:4:5:6:7:8', '0:0:0:0:0:0:0:0', '1:2:3:4:5:6:1.2.3.4']) {
      const bytes = parseIpAddress(ip);
      expect(bytes, ip).toBeDefined();
      expect(bytes!.length).toBe(16);
      expect(formatIpAddress(bytes!), ip).toBe(new URL(`http://[${ip}]/`).hostname.slice(1, -1));
    }
    expect(formatIpAddress(parseIpAddress('10.0.0.1')!)).toBe('10.0.0.1');
  });

  it('fail/malformed IP addresses do not parse', () => {
    for (const ip of ['', '1.2.3', '1.2.3.4.5', '256.1.1.1', '01.2.3.4', '1::2::3', ':1::', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7::8',
      'fe80::1%eth0', '12345::', 'g::1', '::1.2.3', '1:2:3:4:5:6:7:1.2.3.4', 'a.example']) {
      expect(parseIpAddress(ip), ip).toBeUndefined();
    }
  });

  it('ok/DNS names follow the preferred name syntax with an optional leftmost wildcard', () => {
    for (const n of ['a', 'a.example', '*.a.example', 'xn--bcher-kva.example', '1a.example', `${'a'.repeat(63)}.example`]) expect(isDnsName(n), n).toBe(true);
    for (const n of ['', '*', '*.', 'a.', '.a', 'a_b.example', 'a b', '*.*.example', 'a*.example', `${'a'.repeat(64)}.x`, `${'a.'.repeat(127)}ab`]) {
      expect(isDnsName(n), n).toBe(false);
    }
    expect(isDnsName('*.a.example', false)).toBe(false);
  });
});
