/**
 * OCSP request parsing (RFC 6960 4.1.1) on the responder's hot path.
 *
 * Walks the DER by offset (der.ts) rather than building an object tree: pkijs's OCSPRequest costs
 * tens of microseconds per request, more than the rest of a cached answer. test/unit/ocsp.test.ts
 * parses requests made by openssl with both this and pkijs and compares the fields.
 *
 *   OCSPRequest ::= SEQUENCE { tbsRequest TBSRequest, optionalSignature [0] EXPLICIT Signature OPTIONAL }
 *   TBSRequest  ::= SEQUENCE { version [0] EXPLICIT Version DEFAULT v1, requestorName [1] EXPLICIT
 *                              GeneralName OPTIONAL, requestList SEQUENCE OF Request,
 *                              requestExtensions [2] EXPLICIT Extensions OPTIONAL }
 *   Request     ::= SEQUENCE { reqCert CertID, singleRequestExtensions [0] EXPLICIT Extensions OPTIONAL }
 *   CertID      ::= SEQUENCE { hashAlgorithm AlgorithmIdentifier, issuerNameHash OCTET STRING,
 *                              issuerKeyHash OCTET STRING, serialNumber CertificateSerialNumber }
 */
import { TAG, decodeOid, expectTlv, readChildren, readTlv, unsignedIntegerValue, type Tlv } from './der.ts';
import { OID } from './oids.ts';

export type OcspHash = 'sha1' | 'sha256' | 'sha384' | 'sha512';

const HASHES: Readonly<Record<string, OcspHash>> = { [OID.sha1]: 'sha1', [OID.sha256]: 'sha256', [OID.sha384]: 'sha384', [OID.sha512]: 'sha512' };

/** Largest request accepted, in octets; a request for MAX_CERT_IDS certificates with a nonce is far below it. */
export const MAX_OCSP_REQUEST_BYTES = 8192;
/** Most certificates answered in one request: each costs a database read. */
export const MAX_CERT_IDS = 32;
/** RFC 8954 2.1: nonces of up to 32 octets are echoed; longer ones are left out of the answer. */
const MAX_NONCE_VALUE_BYTES = 34;

export interface OcspCertId {
  /** Undefined for a hash algorithm we do not compute: no issuer of ours can match it. */
  hash?: OcspHash;
  issuerNameHash: Uint8Array;
  issuerKeyHash: Uint8Array;
  /** The serial as the certificates table has it: lowercase hex of the positive magnitude. */
  serial: string;
  /** The CertID exactly as the request had it, which the answer repeats. */
  der: Uint8Array;
}

export interface OcspRequest {
  certIds: OcspCertId[];
  /** The whole nonce Extension (RFC 8954), to be echoed in the answer. */
  nonce?: Uint8Array;
}

/** A request that is not a well-formed OCSPRequest: answered malformedRequest. */
export class OcspRequestError extends Error {}

/** Parses a DER OCSPRequest; throws OcspRequestError for anything that is not one. Views into `der` are returned. */
export function parseOcspRequest(der: Uint8Array): OcspRequest {
  try {
    return parse(der);
  } catch (e) {
    if (e instanceof OcspRequestError) throw e;
    throw new OcspRequestError(`malformed OCSP request: ${(e as Error).message}`);
  }
}

function parse(der: Uint8Array): OcspRequest {
  if (der.length > MAX_OCSP_REQUEST_BYTES) throw new OcspRequestError('OCSP request too large');
  const outer = expectTlv(der, 0, TAG.SEQUENCE, der.length, 'OCSPRequest');
  if (outer.end !== der.length) throw new OcspRequestError('trailing data after the OCSPRequest');
  const tbs = expectTlv(der, outer.valueStart, TAG.SEQUENCE, outer.end, 'TBSRequest');
  if (tbs.end !== outer.end) {
    // optionalSignature [0] EXPLICIT: accepted and not checked (we require no signed requests).
    const sig = readTlv(der, tbs.end, outer.end);
    if (sig.tag !== 0xa0 || sig.end !== outer.end) throw new OcspRequestError('unexpected element after the TBSRequest');
  }
  let fields = readChildren(der, tbs);
  let i = 0;
  if (fields[i]?.tag === 0xa0) {
    const v = expectTlv(der, fields[i]!.valueStart, TAG.INTEGER, fields[i]!.end, 'version');
    if (v.end !== fields[i]!.end || v.end - v.valueStart !== 1 || der[v.valueStart] !== 0) throw new OcspRequestError('unsupported OCSP request version');
    i++;
  }
  if (fields[i]?.tag === 0xa1) i++; // requestorName
  const list = fields[i++];
  if (!list || list.tag !== TAG.SEQUENCE) throw new OcspRequestError('TBSRequest has no requestList');
  let nonce: Uint8Array | undefined;
  const exts = fields[i];
  if (exts) {
    if (exts.tag !== 0xa2 || i !== fields.length - 1) throw new OcspRequestError('unexpected element in the TBSRequest');
    nonce = findNonce(der, exts);
  }
  fields = readChildren(der, list);
  if (fields.length === 0) throw new OcspRequestError('the requestList is empty');
  if (fields.length > MAX_CERT_IDS) throw new OcspRequestError(`more than ${MAX_CERT_IDS} certificates in one request`);
  const certIds = fields.map((r) => readRequest(der, r));
  return nonce ? { certIds, nonce } : { certIds };
}

function readRequest(der: Uint8Array, request: Tlv): OcspCertId {
  if (request.tag !== TAG.SEQUENCE) throw new OcspRequestError('a Request is not a SEQUENCE');
  const parts = readChildren(der, request);
  if (parts.length < 1 || parts.length > 2 || (parts.length === 2 && parts[1]!.tag !== 0xa0)) throw new OcspRequestError('malformed Request');
  const certId = parts[0]!;
  if (certId.tag !== TAG.SEQUENCE) throw new OcspRequestError('reqCert is not a CertID');
  const f = readChildren(der, certId);
  if (f.length !== 4) throw new OcspRequestError('a CertID has four fields');
  const [alg, nameHash, keyHash, serial] = f as [Tlv, Tlv, Tlv, Tlv];
  if (alg.tag !== TAG.SEQUENCE) throw new OcspRequestError('hashAlgorithm is not an AlgorithmIdentifier');
  const algParts = readChildren(der, alg);
  const algOid = algParts[0];
  if (!algOid || algOid.tag !== TAG.OID || algParts.length > 2) throw new OcspRequestError('malformed hashAlgorithm');
  const params = algParts[1];
  if (params && (params.tag !== TAG.NULL || params.end !== params.valueStart)) throw new OcspRequestError('hashAlgorithm parameters must be absent or NULL');
  if (nameHash.tag !== TAG.OCTET_STRING || keyHash.tag !== TAG.OCTET_STRING) throw new OcspRequestError('issuer hashes are OCTET STRINGs');
  const magnitude = unsignedIntegerValue(der, serial, 'serialNumber');
  if (magnitude.length > 20) throw new OcspRequestError('serialNumber longer than 20 octets');
  const hash = HASHES[decodeOid(der, algOid.valueStart, algOid.end)];
  return {
    ...(hash ? { hash } : {}),
    issuerNameHash: der.subarray(nameHash.valueStart, nameHash.end),
    issuerKeyHash: der.subarray(keyHash.valueStart, keyHash.end),
    serial: Buffer.from(magnitude.buffer, magnitude.byteOffset, magnitude.length).toString('hex'),
    der: der.subarray(certId.start, certId.end),
  };
}

/** requestExtensions [2] EXPLICIT Extensions: the nonce Extension, when there is one of a sensible size. */
function findNonce(der: Uint8Array, wrapper: Tlv): Uint8Array | undefined {
  const exts = expectTlv(der, wrapper.valueStart, TAG.SEQUENCE, wrapper.end, 'requestExtensions');
  if (exts.end !== wrapper.end) throw new OcspRequestError('trailing data in requestExtensions');
  let nonce: Uint8Array | undefined;
  for (const ext of readChildren(der, exts)) {
    if (ext.tag !== TAG.SEQUENCE) throw new OcspRequestError('an Extension is not a SEQUENCE');
    const parts = readChildren(der, ext);
    const id = parts[0];
    const value = parts[parts.length - 1];
    if (!id || id.tag !== TAG.OID || parts.length < 2 || parts.length > 3 || value!.tag !== TAG.OCTET_STRING) throw new OcspRequestError('malformed Extension');
    if (parts.length === 3 && parts[1]!.tag !== TAG.BOOLEAN) throw new OcspRequestError('malformed Extension');
    if (decodeOid(der, id.valueStart, id.end) !== OID.ocspNonce) continue;
    const size = value!.end - value!.valueStart;
    if (size === 0) throw new OcspRequestError('empty nonce');
    if (size <= MAX_NONCE_VALUE_BYTES) nonce = der.subarray(ext.start, ext.end);
  }
  return nonce;
}
