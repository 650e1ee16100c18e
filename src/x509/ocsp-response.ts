/**
 * OCSP response encoding (RFC 6960 4.2, RFC 5019 profile): basic responses signed by a delegated
 * responder, and the unsigned error responses.
 *
 * Everything that depends only on the responder (its ResponderID by key hash, the certificates that
 * go with every answer, the signature AlgorithmIdentifier) is encoded once by prepareResponder; an
 * answer then costs a few small concatenations and the signature. test/unit/ocsp.test.ts decodes
 * what this writes with pkijs and with openssl.
 *
 *   OCSPResponse ::= SEQUENCE { responseStatus ENUMERATED, responseBytes [0] EXPLICIT ResponseBytes OPTIONAL }
 *   ResponseBytes ::= SEQUENCE { responseType OBJECT IDENTIFIER (id-pkix-ocsp-basic), response OCTET STRING }
 *   BasicOCSPResponse ::= SEQUENCE { tbsResponseData ResponseData, signatureAlgorithm AlgorithmIdentifier,
 *                                    signature BIT STRING, certs [0] EXPLICIT SEQUENCE OF Certificate OPTIONAL }
 *   ResponseData ::= SEQUENCE { version [0] EXPLICIT DEFAULT v1 (omitted), responderID ResponderID,
 *                               producedAt GeneralizedTime, responses SEQUENCE OF SingleResponse,
 *                               responseExtensions [1] EXPLICIT Extensions OPTIONAL }
 *   SingleResponse ::= SEQUENCE { certID CertID, certStatus CertStatus, thisUpdate GeneralizedTime,
 *                                 nextUpdate [0] EXPLICIT GeneralizedTime OPTIONAL, singleExtensions [1] … }
 */
import { REVOCATION_REASONS, type RevocationReason } from '../domain/revocation-reason.ts';
import { SIGNING_ALGORITHM_INFO, type SigningAlgorithm } from '../domain/key-algorithm.ts';
import { TAG, bitString, generalizedTime, nullDer, octetString, oid, sequence, tlv } from './der.ts';
import { readCertificateFields } from './certificate-fields.ts';
import { OID } from './oids.ts';
import { keyIdentifier, subjectPublicKeyBits } from './public-key.ts';

/** OCSPResponseStatus (RFC 6960 4.2.1); 4 is not used. */
export const OCSP_RESPONSE_STATUS = { successful: 0, malformedRequest: 1, internalError: 2, tryLater: 3, sigRequired: 5, unauthorized: 6 } as const;
export type OcspResponseStatus = keyof typeof OCSP_RESPONSE_STATUS;

/** An OCSPResponse without responseBytes: what every status but `successful` is. */
export function ocspErrorResponse(status: Exclude<OcspResponseStatus, 'successful'>): Uint8Array {
  return Uint8Array.of(TAG.SEQUENCE, 3, 0x0a, 1, OCSP_RESPONSE_STATUS[status]);
}

/** What a delegated responder puts into every answer, prepared once. Treat as opaque. */
export interface PreparedResponder {
  readonly signingAlgorithm: SigningAlgorithm;
  /** @internal ResponderID byKey: [2] EXPLICIT OCTET STRING (SHA-1 of the responder's public key). */
  readonly responderIdDer: Uint8Array;
  /** @internal signatureAlgorithm AlgorithmIdentifier. */
  readonly sigAlgDer: Uint8Array;
  /** @internal certs [0] EXPLICIT SEQUENCE OF Certificate. */
  readonly certsDer: Uint8Array;
}

/**
 * Prepares a responder: its certificate first in `certs`, then `extra` (the issuing CA's certificate
 * when it is not a root, so that a client holding only the root can build the responder's chain).
 */
export function prepareResponder(options: { certificateDer: Uint8Array; signingAlgorithm: SigningAlgorithm; extra?: Uint8Array[] }): PreparedResponder {
  const { spki } = readCertificateFields(options.certificateDer);
  const keyBits = subjectPublicKeyBits(options.certificateDer.subarray(spki.start, spki.end));
  const info = SIGNING_ALGORITHM_INFO[options.signingAlgorithm];
  return {
    signingAlgorithm: options.signingAlgorithm,
    responderIdDer: tlv(0xa2, octetString(keyIdentifier(keyBits))),
    sigAlgDer: info.family === 'EC' ? sequence(oid(info.oid)) : sequence(oid(info.oid), nullDer()),
    certsDer: tlv(0xa0, sequence(options.certificateDer, ...(options.extra ?? []))),
  };
}

export type SingleStatus = { status: 'good' } | { status: 'unknown' } | { status: 'revoked'; revokedAt: Date; reason: RevocationReason };

export interface SingleAnswer {
  /** The request's CertID, repeated byte for byte. */
  certIdDer: Uint8Array;
  status: SingleStatus;
  thisUpdate: Date;
  nextUpdate: Date;
}

const GOOD = Uint8Array.of(0x80, 0);
const UNKNOWN = Uint8Array.of(0x82, 0);

function certStatus(s: SingleStatus): Uint8Array {
  if (s.status === 'good') return GOOD;
  if (s.status === 'unknown') return UNKNOWN;
  const code = REVOCATION_REASONS[s.reason];
  if (code === undefined) throw new Error(`unknown revocation reason ${JSON.stringify(s.reason)}`);
  // revoked [1] IMPLICIT RevokedInfo { revocationTime, revocationReason [0] EXPLICIT CRLReason OPTIONAL };
  // UNSPECIFIED is left out, as in the CRL (RFC 5280 5.3.1, CA/B BR 7.3).
  const time = generalizedTime(s.revokedAt);
  return code === 0 ? tlv(0xa1, time) : tlv(0xa1, time, tlv(0xa0, Uint8Array.of(0x0a, 1, code)));
}

/** The ResponseData to sign. `nonce` is the request's whole nonce Extension. */
export function encodeResponseData(responder: PreparedResponder, producedAt: Date, answers: readonly SingleAnswer[], nonce?: Uint8Array): Uint8Array {
  const singles = answers.map((a) => sequence(a.certIdDer, certStatus(a.status), generalizedTime(a.thisUpdate), tlv(0xa0, generalizedTime(a.nextUpdate))));
  const parts = [responder.responderIdDer, generalizedTime(producedAt), sequence(...singles)];
  if (nonce) parts.push(tlv(0xa1, sequence(nonce)));
  return sequence(...parts);
}

/** The whole OCSPResponse (successful) around a ResponseData and the responder's signature over it. */
export function assembleOcspResponse(responder: PreparedResponder, responseData: Uint8Array, signature: Uint8Array): Uint8Array {
  const basic = sequence(responseData, responder.sigAlgDer, bitString(signature), responder.certsDer);
  return sequence(Uint8Array.of(0x0a, 1, 0), tlv(0xa0, sequence(oid(OID.ocspBasic), octetString(basic))));
}
