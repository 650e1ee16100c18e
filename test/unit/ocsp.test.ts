import { createHash, createPrivateKey, randomBytes, sign } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { beforeAll, describe, expect, it } from 'vitest';
import { readCertificateFields } from '../../src/x509/certificate-fields.ts';
import { decodePem } from '../../src/x509/pem.ts';
import { MAX_CERT_IDS, OcspRequestError, parseOcspRequest } from '../../src/x509/ocsp-request.ts';
import { assembleOcspResponse, encodeResponseData, ocspErrorResponse, prepareResponder, type SingleStatus } from '../../src/x509/ocsp-response.ts';
import { decodeGetRequest } from '../../api/routes/ocsp.ts';
import { OpensslPki } from '../pki/openssl.ts';

const pki = new OpensslPki();
let ca: { cert: string; certFile: string; key: string };
let responder: { certFile: string; der: Uint8Array; key: string };
let leafFile: string;
let leafSerial: string;

const der = (pem: string) => decodePem(pem)[0]!.der;
const bytesOfFile = (name: string) => new Uint8Array(readFileSync(pki.file(name)));
const hex = (b: ArrayBuffer | Uint8Array) => Buffer.from(b instanceof Uint8Array ? b : new Uint8Array(b)).toString('hex');

let lastRequestFile = '';
/** A request made by openssl itself. */
function opensslRequest(args: string[]): Uint8Array {
  lastRequestFile = `req-${randomBytes(4).toString('hex')}.der`;
  pki.ok(['ocsp', '-issuer', ca.certFile, ...args, '-reqout', lastRequestFile]);
  return bytesOfFile(lastRequestFile);
}

beforeAll(() => {
  ca = pki.root({ subject: '/O=Test/CN=OCSP Unit Root' });
  const { csr, key } = pki.csr({ subject: '/CN=OCSP Unit Responder' });
  const ext = pki.file('responder.cnf', '[v3]\nbasicConstraints=critical,CA:false\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=OCSPSigning\nnoCheck=ignored\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n');
  pki.file('responder.csr', csr);
  pki.ok(['x509', '-req', '-in', 'responder.csr', '-CA', ca.certFile, '-CAkey', ca.key, '-CAcreateserial', '-days', '5', '-extfile', ext, '-extensions', 'v3', '-out', 'responder.pem']);
  responder = { certFile: pki.file('responder.pem'), der: der(pki.read('responder.pem')), key };
  const leaf = pki.sign(pki.csr({ subject: '/CN=leaf.example.internal' }).csr, ca, { ca: false });
  leafFile = leaf.certFile;
  leafSerial = pki.ok(['x509', '-in', leafFile, '-noout', '-serial']).trim().split('=')[1]!.toLowerCase();
});

describe('OCSP requests (parseOcspRequest), cross-checked with pkijs', () => {
  it.each([
    ['SHA-1 with a nonce (openssl default)', [] as string[], 'sha1', true],
    ['SHA-1 without a nonce', ['-no_nonce'], 'sha1', false],
    ['SHA-256', ['-sha256', '-no_nonce'], 'sha256', false],
    ['SHA-384 with a nonce', ['-sha384'], 'sha384', true],
  ])('ok/%s: the same CertIDs and nonce as pkijs reads', (_name, args, hash, nonce) => {
    const req = opensslRequest([...args, '-cert', leafFile, '-serial', '0x00ff01', '-serial', '0x7f']);
    const ours = parseOcspRequest(req);
    const theirs = pkijs.OCSPRequest.fromBER(new Uint8Array(req));
    const list = theirs.tbsRequest.requestList;
    expect(ours.certIds).toHaveLength(3);
    expect(list).toHaveLength(3);
    ours.certIds.forEach((c, i) => {
      const t = list[i]!.reqCert;
      expect(c.hash).toBe(hash);
      expect(hex(c.issuerNameHash)).toBe(hex(t.issuerNameHash.valueBlock.valueHexView));
      expect(hex(c.issuerKeyHash)).toBe(hex(t.issuerKeyHash.valueBlock.valueHexView));
      // pkijs keeps the INTEGER's content octets (a leading 00 when the high bit is set).
      expect(c.serial).toBe(hex(t.serialNumber.valueBlock.valueHexView).replace(/^00(?=[89a-f])/, ''));
      expect(hex(c.der)).toBe(hex(t.toSchema().toBER()));
    });
    expect(ours.certIds.map((c) => c.serial)).toEqual([leafSerial.replace(/^00(?=[89a-f])/, ''), 'ff01', '7f']);
    const theirNonce = theirs.tbsRequest.requestExtensions?.find((e) => e.extnID === '1.3.6.1.5.5.7.48.1.2');
    expect(ours.nonce !== undefined).toBe(nonce);
    if (nonce) expect(hex(ours.nonce!)).toBe(hex(theirNonce!.toSchema().toBER()));
  });

  it('ok/the issuer hashes are what openssl computes from the CA certificate', () => {
    const [c] = parseOcspRequest(opensslRequest(['-serial', '0x01', '-no_nonce'])).certIds;
    const text = pki.ok(['ocsp', '-reqin', pki.file(lastRequestFile), '-req_text']);
    expect(text.toUpperCase()).toContain(hex(c!.issuerNameHash).toUpperCase());
    expect(text.toUpperCase()).toContain(hex(c!.issuerKeyHash).toUpperCase());
  });

  it('fail/every truncation of a real request, trailing data, and random bytes are OcspRequestError', () => {
    const req = opensslRequest(['-cert', leafFile]);
    for (let n = 0; n < req.length; n++) expect(() => parseOcspRequest(req.subarray(0, n)), `prefix ${n}`).toThrow(OcspRequestError);
    expect(() => parseOcspRequest(Buffer.concat([req, Buffer.of(0)]))).toThrow(OcspRequestError);
    for (let i = 0; i < 2000; i++) {
      const junk = randomBytes(1 + (i % 200));
      if (i % 2) junk[0] = 0x30;
      try {
        parseOcspRequest(junk);
      } catch (e) {
        expect(e).toBeInstanceOf(OcspRequestError);
      }
    }
    // Every single-byte change either still parses or is an OcspRequestError, never another error.
    for (let p = 0; p < req.length; p++) {
      const flipped = Buffer.from(req);
      flipped[p] ^= 0xff;
      try {
        parseOcspRequest(flipped);
      } catch (e) {
        expect(e, `byte ${p}`).toBeInstanceOf(OcspRequestError);
      }
    }
  });

  it(`fail/more than ${MAX_CERT_IDS} certificates in one request`, () => {
    const serials = Array.from({ length: MAX_CERT_IDS + 1 }, (_, i) => ['-serial', String(i + 1)]).flat();
    expect(() => parseOcspRequest(opensslRequest([...serials, '-no_nonce']))).toThrow(/more than/);
    expect(parseOcspRequest(opensslRequest([...serials.slice(2), '-no_nonce'])).certIds).toHaveLength(MAX_CERT_IDS);
  });

  it('ok/GET request paths: standard and URL-safe base64, percent-encoded or not; anything else undefined', () => {
    const req = Buffer.from(opensslRequest(['-cert', leafFile]));
    const b64 = req.toString('base64');
    for (const form of [b64, encodeURIComponent(b64), req.toString('base64url'), b64.replace(/=+$/, '')]) {
      expect(Buffer.from(decodeGetRequest(form)!).equals(req)).toBe(true);
    }
    for (const bad of ['!!!', '%zz', '====', '', 'a', 'ab cd']) expect(decodeGetRequest(bad)).toBeUndefined();
  });
});

describe('OCSP responses (encodeResponseData, assembleOcspResponse), checked with openssl and pkijs', () => {
  function respond(certIds: Uint8Array[], statuses: SingleStatus[], nonce?: Uint8Array, hours = 6): { file: string; der: Uint8Array; thisUpdate: Date } {
    const prepared = prepareResponder({ certificateDer: responder.der, signingAlgorithm: 'SHA256WITHECDSA' });
    const thisUpdate = new Date(Math.floor(Date.now() / 1000) * 1000);
    const nextUpdate = new Date(thisUpdate.getTime() + hours * 3_600_000);
    const tbs = encodeResponseData(prepared, thisUpdate, certIds.map((c, i) => ({ certIdDer: c, status: statuses[i]!, thisUpdate, nextUpdate })), nonce);
    const signature = sign('sha256', tbs, createPrivateKey(readFileSync(pki.file(responder.key))));
    const out = assembleOcspResponse(prepared, tbs, signature);
    const file = pki.file(`resp-${randomBytes(4).toString('hex')}.der`);
    writeFileSync(file, out);
    return { file, der: out, thisUpdate };
  }

  it('ok/good, revoked (time and reason) and unknown, as openssl reads them, verified with -CAfile alone', () => {
    const req = parseOcspRequest(opensslRequest(['-cert', leafFile, '-serial', '0x0abc', '-serial', '0x0def']));
    const revokedAt = new Date(Date.UTC(2026, 10, 30, 12, 34, 56));
    const { file } = respond(
      req.certIds.map((c) => c.der),
      [{ status: 'good' }, { status: 'revoked', revokedAt, reason: 'KEY_COMPROMISE' }, { status: 'unknown' }],
      req.nonce,
    );
    // -no_nonce: openssl would compare the echoed nonce with one of its own making.
    const r = pki.run(['ocsp', '-respin', file, '-no_nonce', '-issuer', ca.certFile, '-cert', leafFile, '-serial', '0x0abc', '-serial', '0x0def', '-CAfile', ca.certFile, '-resp_text']);
    expect(r.out).toContain('Response verify OK');
    expect(r.out).toMatch(new RegExp(`${leafFile}: good`));
    expect(r.out).toMatch(/0x0abc: revoked[\s\S]*Reason: keyCompromise[\s\S]*Revocation Time: Nov 30 12:34:56 2026 GMT/);
    expect(r.out).toMatch(/0x0def: unknown/);
    expect(r.out).toContain('Responder Id: ');
    expect(r.out).toContain('OCSP Nonce');
  });

  it('ok/UNSPECIFIED leaves the reason out; nextUpdate is thisUpdate + the hours given', () => {
    const req = parseOcspRequest(opensslRequest(['-cert', leafFile, '-no_nonce']));
    const { file } = respond([req.certIds[0]!.der], [{ status: 'revoked', revokedAt: new Date(), reason: 'UNSPECIFIED' }], undefined, 7);
    const r = pki.run(['ocsp', '-respin', file, '-issuer', ca.certFile, '-cert', leafFile, '-CAfile', ca.certFile, '-resp_text']);
    expect(r.out).toContain('Response verify OK');
    expect(r.out).toMatch(new RegExp(`${leafFile}: revoked`));
    expect(r.out).not.toContain('Reason:');
    expect(r.out).not.toContain('OCSP Nonce');
    const [, tu, nu] = /This Update: (.+)\n\s*Next Update: (.+)\n/.exec(r.out)!;
    expect(Date.parse(nu!) - Date.parse(tu!)).toBe(7 * 3_600_000);
  });

  it('ok/pkijs reads the structure: basic response, ResponderID byKey of the responder key, the certificate included, CertIDs echoed', () => {
    const req = parseOcspRequest(opensslRequest(['-sha256', '-cert', leafFile]));
    const { der: out } = respond([req.certIds[0]!.der], [{ status: 'good' }], req.nonce);
    const resp = pkijs.OCSPResponse.fromBER(new Uint8Array(out));
    expect(resp.responseStatus.valueBlock.valueDec).toBe(0);
    expect(resp.responseBytes!.responseType).toBe('1.3.6.1.5.5.7.48.1.1');
    const basic = pkijs.BasicOCSPResponse.fromBER(new Uint8Array(resp.responseBytes!.response.valueBlock.valueHexView));
    expect(basic.certs).toHaveLength(1);
    expect(hex(basic.certs![0]!.toSchema().toBER())).toBe(hex(responder.der));
    const byKey = basic.tbsResponseData.responderID as asn1js.OctetString;
    const spkiBits = basic.certs![0]!.subjectPublicKeyInfo.subjectPublicKey.valueBlock.valueHexView;
    expect(hex(byKey.valueBlock.valueHexView)).toBe(createHash('sha1').update(spkiBits).digest('hex'));
    const single = basic.tbsResponseData.responses[0]!;
    expect(hex(single.certID.toSchema().toBER())).toBe(hex(req.certIds[0]!.der));
    expect(single.certStatus.idBlock.tagNumber).toBe(0);
    expect(basic.tbsResponseData.responseExtensions?.[0]?.extnID).toBe('1.3.6.1.5.5.7.48.1.2');
    expect(readCertificateFields(responder.der)).toBeTruthy();
  });

  it('ok/error responses are a bare status that openssl names', () => {
    for (const [status, text] of [['malformedRequest', 'malformedrequest (1)'], ['unauthorized', 'unauthorized (6)'], ['tryLater', 'trylater (3)'], ['internalError', 'internalerror (2)']] as const) {
      const file = pki.file(`err-${status}.der`);
      writeFileSync(file, ocspErrorResponse(status));
      expect(pki.run(['ocsp', '-respin', file, '-resp_text', '-noverify']).out.toLowerCase()).toContain(text);
    }
  });
});
