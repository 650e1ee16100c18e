/**
 * OCSP for the benchmark (bench/ocsp.ts): the CertID parts of a CA certificate, DER OCSP requests
 * (RFC 6960 4.1.1: one Request, SHA-1 CertID, no nonce, unsigned), their GET paths (RFC 6960 A.1),
 * and a checker of answers that walks the DER in place without allocating, so that every answer the
 * load generator receives can be checked without the checker becoming the limit.
 */
import { createHash } from 'node:crypto';
import { expectTlv, integerFromUnsigned, nullDer, octetString, oid, readTlv, sequence, TAG } from '../src/x509/der.ts';

/** What a CertID says about its issuer: SHA-1 of the subject Name DER and of the subjectPublicKey bits. */
export interface IssuerIds {
  nameHash: Buffer;
  keyHash: Buffer;
}

/** Walks Certificate → TBSCertificate → subject and subjectPublicKeyInfo of a CA certificate. */
export function issuerIds(caDer: Uint8Array): IssuerIds {
  const cert = expectTlv(caDer, 0, TAG.SEQUENCE, caDer.length, 'Certificate');
  const tbs = expectTlv(caDer, cert.valueStart, TAG.SEQUENCE, cert.end, 'TBSCertificate');
  let p = tbs.valueStart;
  if (caDer[p] === 0xa0) p = readTlv(caDer, p, tbs.end).end; // [0] EXPLICIT version
  p = expectTlv(caDer, p, TAG.INTEGER, tbs.end, 'serialNumber').end;
  p = expectTlv(caDer, p, TAG.SEQUENCE, tbs.end, 'signature').end;
  p = expectTlv(caDer, p, TAG.SEQUENCE, tbs.end, 'issuer').end;
  p = expectTlv(caDer, p, TAG.SEQUENCE, tbs.end, 'validity').end;
  const subject = expectTlv(caDer, p, TAG.SEQUENCE, tbs.end, 'subject');
  const spki = expectTlv(caDer, subject.end, TAG.SEQUENCE, tbs.end, 'subjectPublicKeyInfo');
  const alg = expectTlv(caDer, spki.valueStart, TAG.SEQUENCE, spki.end, 'algorithm');
  const key = expectTlv(caDer, alg.end, TAG.BIT_STRING, spki.end, 'subjectPublicKey');
  const sha1 = (b: Uint8Array) => createHash('sha1').update(b).digest();
  return {
    nameHash: sha1(caDer.subarray(subject.start, subject.end)),
    // The key's bits without the BIT STRING's unused-bits octet (RFC 6960 4.1.1).
    keyHash: sha1(caDer.subarray(key.valueStart + 1, key.end)),
  };
}

const SHA1 = sequence(oid('1.3.14.3.2.26'), nullDer());

/** INTEGER element of a serial given as its unsigned big-endian magnitude. */
export const serialInteger = (magnitude: Uint8Array): Buffer => Buffer.from(integerFromUnsigned(magnitude));

/** OCSPRequest { tbsRequest { requestList { Request { reqCert CertID } } } }: no version, no nonce, no signature. */
export function ocspRequest(issuer: IssuerIds, serialMagnitude: Uint8Array): Buffer {
  const certId = sequence(SHA1, octetString(issuer.nameHash), octetString(issuer.keyHash), integerFromUnsigned(serialMagnitude));
  return Buffer.from(sequence(sequence(sequence(sequence(certId)))));
}

/** The GET path of a request under `prefix` (RFC 6960 A.1: the base64 of the DER, URL-encoded). */
export const ocspGetPath = (prefix: string, der: Uint8Array): string => prefix + encodeURIComponent(Buffer.from(der).toString('base64'));

export const GOOD = 0;
export const REVOKED = 1;
export const UNKNOWN = 2;
export const STATUS_NAMES = ['good', 'revoked', 'unknown'] as const;

/** Why an answer is wrong; checkAnswer returns an index into this (0: right). */
export const ANSWER_ERRORS = [
  'ok',
  'not one DER OCSPResponse',
  'responseStatus is not successful',
  'no id-pkix-ocsp-basic responseBytes',
  'BasicOCSPResponse malformed',
  'ResponseData malformed',
  'not exactly one SingleResponse',
  'CertID hashAlgorithm is not SHA-1',
  'CertID issuerNameHash differs from the request',
  'CertID issuerKeyHash differs from the request',
  'CertID serialNumber differs from the request',
  'certStatus is good, expected another',
  'certStatus is revoked, expected another',
  'certStatus is unknown, expected another',
  'certStatus malformed',
  'revocationTime differs from the revocation',
  'revocationReason missing or not keyCompromise',
  'thisUpdate missing',
] as const;

// The element read last by `rd`: its first content octet and its end. Module state so that
// the checker makes no objects.
let tVs = 0;
let tEnd = 0;
/** Reads the element at p (ending by `limit`): its identifier octet, or -1 when it does not fit. */
function rd(b: Uint8Array, p: number, limit: number): number {
  if (p + 2 > limit) return -1;
  const tag = b[p]!;
  let len = b[p + 1]!;
  let q = p + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n < 1 || n > 3 || q + n > limit) return -1;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[q++]!;
  }
  tVs = q;
  tEnd = q + len;
  return tEnd <= limit ? tag : -1;
}
/** Content of the element just read equals `x` (its content octets). */
function contentIs(b: Buffer, x: Buffer): boolean {
  return tEnd - tVs === x.length && b.compare(x, 0, x.length, tVs, tEnd) === 0;
}
/** The whole element just read (from `start`) equals `x`. */
function elementIs(b: Buffer, start: number, x: Buffer): boolean {
  return tEnd - start === x.length && b.compare(x, 0, x.length, start, tEnd) === 0;
}

const BASIC = Buffer.from(oid('1.3.6.1.5.5.7.48.1.1')).subarray(2);
const SHA1_OID = Buffer.from(oid('1.3.14.3.2.26')).subarray(2);
const KEY_COMPROMISE = 1;

/**
 * Checks the OCSPResponse in b[start, end) answers the request for `serial` (its INTEGER element)
 * of `issuer` with `expected` (GOOD, REVOKED, UNKNOWN); for REVOKED also the revocationTime (the
 * 15 GeneralizedTime digits and Z, when given) and the reason keyCompromise. Returns 0 or an index
 * into ANSWER_ERRORS (100 + responseStatus when that is not successful: answerError names both). The signature is not checked here (bench/ocsp.ts has openssl check samples).
 */
export function checkAnswer(b: Buffer, start: number, end: number, issuer: IssuerIds, serial: Buffer, expected: number, revocationTime?: Buffer): number {
  if (rd(b, start, end) !== 0x30 || tEnd !== end) return 1;
  const outerEnd = tEnd;
  if (rd(b, tVs, outerEnd) !== 0x0a || tEnd - tVs !== 1) return 1;
  if (b[tVs] !== 0) return 100 + b[tVs]!;
  if (rd(b, tEnd, outerEnd) !== 0xa0) return 3;
  if (rd(b, tVs, tEnd) !== 0x30) return 3;
  const rbEnd = tEnd;
  if (rd(b, tVs, rbEnd) !== TAG.OID || !contentIs(b, BASIC)) return 3;
  if (rd(b, tEnd, rbEnd) !== TAG.OCTET_STRING) return 3;
  const basicEnd = tEnd;
  if (rd(b, tVs, basicEnd) !== 0x30 || tEnd !== basicEnd) return 4;
  if (rd(b, tVs, basicEnd) !== 0x30) return 4;
  const tbsEnd = tEnd;
  let p = tVs;
  if (b[p] === 0xa0) {
    if (rd(b, p, tbsEnd) < 0) return 5;
    p = tEnd;
  }
  const rid = rd(b, p, tbsEnd);
  if (rid !== 0xa1 && rid !== 0xa2) return 5; // responderID
  if (rd(b, tEnd, tbsEnd) !== TAG.GENERALIZED_TIME) return 5; // producedAt
  if (rd(b, tEnd, tbsEnd) !== 0x30) return 5; // responses
  const responsesEnd = tEnd;
  if (rd(b, tVs, responsesEnd) !== 0x30 || tEnd !== responsesEnd) return 6;
  const singleEnd = tEnd;
  if (rd(b, tVs, singleEnd) !== 0x30) return 6; // certID
  const certIdEnd = tEnd;
  if (rd(b, tVs, certIdEnd) !== 0x30) return 7;
  const algEnd = tEnd;
  if (rd(b, tVs, algEnd) !== TAG.OID || !contentIs(b, SHA1_OID)) return 7;
  if (rd(b, algEnd, certIdEnd) !== TAG.OCTET_STRING || !contentIs(b, issuer.nameHash)) return 8;
  if (rd(b, tEnd, certIdEnd) !== TAG.OCTET_STRING || !contentIs(b, issuer.keyHash)) return 9;
  const serialStart = tEnd;
  if (rd(b, serialStart, certIdEnd) !== TAG.INTEGER || !elementIs(b, serialStart, serial) || tEnd !== certIdEnd) return 10;
  const statusTag = rd(b, certIdEnd, singleEnd);
  const status = statusTag === 0x80 ? GOOD : statusTag === 0xa1 ? REVOKED : statusTag === 0x82 ? UNKNOWN : -1;
  if (status < 0 || (status !== REVOKED && tEnd !== tVs)) return 14;
  if (status !== expected) return 11 + status;
  const statusEnd = tEnd;
  if (status === REVOKED) {
    if (rd(b, tVs, statusEnd) !== TAG.GENERALIZED_TIME) return 14;
    if (revocationTime && !contentIs(b, revocationTime)) return 15;
    if (rd(b, tEnd, statusEnd) !== 0xa0) return 16;
    if (rd(b, tVs, tEnd) !== 0x0a || tEnd - tVs !== 1 || b[tVs] !== KEY_COMPROMISE) return 16;
  }
  if (rd(b, statusEnd, singleEnd) !== TAG.GENERALIZED_TIME) return 17;
  return 0;
}

const RESPONSE_STATUS = ['successful', 'malformedRequest', 'internalError', 'tryLater', '4 (unused)', 'sigRequired', 'unauthorized'];
/** What a code of checkAnswer means. */
export function answerError(code: number): string {
  return code >= 100 ? `responseStatus ${RESPONSE_STATUS[code - 100] ?? code - 100}, not successful` : ANSWER_ERRORS[code]!;
}

/** GeneralizedTime digits of `d` to the second, as an OCSP responder encodes them (YYYYMMDDHHMMSSZ). */
export function generalizedDigits(d: Date): Buffer {
  return Buffer.from(d.toISOString().replace(/[-:T]/g, '').replace(/\.\d+Z$/, 'Z'), 'latin1');
}
