/**
 * Prepared-DER certificate encoding for the issuance hot path.
 *
 * Almost every byte of a leaf certificate is fixed by its CA and template: the signature
 * AlgorithmIdentifier, the issuer Name, basicConstraints, keyUsage, extKeyUsage, the authority key
 * identifier, the CRL distribution point. `prepareIssuer` and `prepareProfile` encode those once;
 * `encodeTbsCertificate` then only measures, concatenates and hashes the subject key (for its
 * subjectKeyIdentifier) into one preallocated buffer. CertificateIssuer (certificate-issuer.ts) keeps
 * the prepared pieces of one CA; this file is the encoding itself.
 *
 * Certificate layout (RFC 5280 4.1):
 *   TBSCertificate ::= SEQUENCE { version [0] v3, serialNumber, signature, issuer, validity, subject,
 *                                 subjectPublicKeyInfo, extensions [3] }
 */
import type { SigningAlgorithm } from '../domain/key-algorithm.ts';
import type { Template } from '../domain/template.ts';
import { TAG, boolean, integer, octetString, oid, readTlv, sequence, signatureFieldsSize, timeSize, tlvSize, writeHeader, writeSignatureFields, writeTime } from './der.ts';
import { authorityInfoAccessExtension, crlDistributionPointsExtension, extension, keyUsageBitString, ocspNoCheckExtension, type AuthorityInfoAccess } from './extensions.ts';
import { readIssuerCertificate, signatureAlgorithmFor, type IssuerCertificate } from './issuer.ts';
import { OID } from './oids.ts';
import { keyIdentifier, subjectPublicKeyBits } from './public-key.ts';

/** [0] EXPLICIT Version v3 (2). */
const VERSION_V3 = Uint8Array.of(0xa0, 0x03, TAG.INTEGER, 0x01, 0x02);
/** Extension { extnID subjectAltName } and the critical TRUE that goes with an empty subject. */
const SAN_OID_DER = oid(OID.subjectAltName);
const CRITICAL_TRUE = boolean(true);

/** Per (CA certificate, signing algorithm, distribution point) constants. Treat everything but the documented fields as opaque. */
export interface IssuerContext {
  readonly kind: 'issuer';
  readonly signingAlgorithm: SigningAlgorithm;
  /** The CA certificate's subject Name DER, which every leaf carries as its issuer. */
  readonly issuerNameDer: Uint8Array;
  /** The keyIdentifier every leaf carries in its authorityKeyIdentifier. */
  readonly authorityKeyIdentifier: Uint8Array;
  readonly crlDistributionPointUrl?: string;
  readonly authorityInfoAccess?: AuthorityInfoAccess;
  /** @internal AlgorithmIdentifier of the signature. */
  readonly sigAlgDer: Uint8Array;
  /** @internal Whole authorityKeyIdentifier Extension. */
  readonly akiExtDer: Uint8Array;
  /** @internal Whole cRLDistributionPoints Extension, or empty. */
  readonly crlDpExtDer: Uint8Array;
  /** @internal Whole authorityInfoAccess Extension, or empty. */
  readonly aiaExtDer: Uint8Array;
}

/** Per (issuer, template, subject key family) constants. Treat as opaque. */
export interface ProfileContext {
  readonly kind: 'profile';
  readonly issuer: IssuerContext;
  readonly template: Template;
  readonly keyFamily: 'EC' | 'RSA';
  /** @internal signature AlgorithmIdentifier followed by the issuer Name. */
  readonly sigAlgAndIssuer: Uint8Array;
  /** @internal basicConstraints, keyUsage, extKeyUsage, then the subjectKeyIdentifier up to its 20 key-id octets. */
  readonly extsBeforeKeyId: Uint8Array;
  /** @internal authorityKeyIdentifier (comes between the SKI and the SAN). */
  readonly extsAfterKeyId: Uint8Array;
  /** @internal cRLDistributionPoints, authorityInfoAccess and id-pkix-ocsp-nocheck (after the SAN). */
  readonly extsTail: Uint8Array;
  /** @internal The subject SPKI's algorithm OID DER, to catch a key of the wrong family. */
  readonly spkiAlgorithmOidDer: Uint8Array;
}

/**
 * Precomputes everything that depends only on the CA: the issuer Name, the authority key identifier,
 * the signature AlgorithmIdentifier, the CRL distribution point and the authority information access.
 * Takes the CA certificate as DER, or as already read by readIssuerCertificate.
 */
export function prepareIssuer(opts: {
  issuerCertDer?: Uint8Array;
  issuer?: IssuerCertificate;
  signingAlgorithm: SigningAlgorithm;
  crlDistributionPointUrl?: string;
  authorityInfoAccess?: AuthorityInfoAccess;
}): IssuerContext {
  const ca = opts.issuer ?? readIssuerCertificate(opts.issuerCertDer!);
  const sigAlgDer = signatureAlgorithmFor(ca, opts.signingAlgorithm);
  const url = opts.crlDistributionPointUrl;
  return {
    kind: 'issuer',
    signingAlgorithm: opts.signingAlgorithm,
    issuerNameDer: ca.subjectDer,
    authorityKeyIdentifier: ca.keyIdentifier,
    ...(url !== undefined ? { crlDistributionPointUrl: url } : {}),
    sigAlgDer,
    akiExtDer: ca.akiExtDer,
    crlDpExtDer: url !== undefined ? crlDistributionPointsExtension(url) : new Uint8Array(0),
    ...(opts.authorityInfoAccess ? { authorityInfoAccess: opts.authorityInfoAccess } : {}),
    aiaExtDer: authorityInfoAccessExtension(opts.authorityInfoAccess ?? {}),
  };
}

/**
 * Precomputes the extensions a template produces for one CA and one subject key family, in the
 * order: basicConstraints, keyUsage, extKeyUsage, subjectKeyIdentifier, authorityKeyIdentifier,
 * subjectAltName, cRLDistributionPoints, authorityInfoAccess, id-pkix-ocsp-nocheck.
 */
export function prepareProfile(issuer: IssuerContext, template: Template, keyFamily: 'EC' | 'RSA'): ProfileContext {
  if (keyFamily !== 'EC' && keyFamily !== 'RSA') throw new Error(`unknown key family ${String(keyFamily)}`);

  // BasicConstraints ::= SEQUENCE { cA BOOLEAN DEFAULT FALSE, pathLenConstraint INTEGER OPTIONAL }.
  // End entities get an empty SEQUENCE (cA FALSE is the DEFAULT, so DER omits it). RFC 5280 4.2.1.9
  // requires the extension to be critical in CA certificates; we mark it critical everywhere.
  const bcParts: Uint8Array[] = [];
  if (template.ca) {
    bcParts.push(boolean(true));
    if (template.pathLen !== undefined) {
      if (!Number.isInteger(template.pathLen) || template.pathLen < 0) throw new Error(`template ${template.name}: invalid pathLen`);
      bcParts.push(integer(template.pathLen));
    }
  }
  const exts: Uint8Array[] = [extension(OID.basicConstraints, true, sequence(...bcParts))];

  // RFC 5280 4.2.1.3: conforming CAs SHOULD mark keyUsage critical.
  const usages = keyFamily === 'RSA' ? template.keyUsage.rsa : template.keyUsage.ec;
  if (usages.length > 0) exts.push(extension(OID.keyUsage, true, keyUsageBitString(usages)));

  if (template.extendedKeyUsage.length > 0) {
    exts.push(extension(OID.extKeyUsage, false, sequence(...template.extendedKeyUsage.map((e) => oid(e)))));
  }

  // subjectKeyIdentifier: the Extension with a placeholder key id, cut before the 20 key-id octets
  // that encodeTbsCertificate appends (SHA-1 output is always 20 octets, so the lengths are fixed).
  const skiExt = extension(OID.subjectKeyIdentifier, false, octetString(new Uint8Array(20)));
  exts.push(skiExt.subarray(0, skiExt.length - 20));

  const tail: Uint8Array[] = [];
  // A certificate with id-pkix-ocsp-nocheck (an OCSP responder's) is never checked for revocation: it
  // carries no CRL Distribution Point (CA/B BR 7.1.2.8) and no AIA, which BR 7.1.2.8.1 does not
  // recommend for responders (the response that carries it names its issuer anyway).
  if (!template.ocspNoCheck) tail.push(issuer.crlDpExtDer, issuer.aiaExtDer);
  if (template.ocspNoCheck) tail.push(ocspNoCheckExtension());

  return {
    kind: 'profile',
    issuer,
    template,
    keyFamily,
    sigAlgAndIssuer: Buffer.concat([issuer.sigAlgDer, issuer.issuerNameDer]),
    extsBeforeKeyId: Buffer.concat(exts),
    extsAfterKeyId: issuer.akiExtDer,
    extsTail: Buffer.concat(tail),
    spkiAlgorithmOidDer: oid(keyFamily === 'RSA' ? OID.rsaEncryption : OID.ecPublicKey),
  };
}

/** The leaf-specific inputs of a certificate. */
export interface LeafFields {
  /** Positive serial magnitude: first octet non-zero, at most 20 octets once DER-encoded. */
  serial: Uint8Array;
  notBefore: Date;
  notAfter: Date;
  /** Subject Name DER, copied verbatim. */
  subjectDer: Uint8Array;
  /** SubjectPublicKeyInfo DER, copied verbatim. */
  spkiDer: Uint8Array;
  /** GeneralNames SEQUENCE DER; critical iff the subject is empty (RFC 5280 4.2.1.6). */
  sanDer?: Uint8Array;
}

/**
 * Encodes the TBSCertificate for one leaf. The inputs are trusted to be well-formed DER (they come
 * from parseCsr or encodeSanDer); only their outer shape is checked here.
 */
export function encodeTbsCertificate(p: ProfileContext, leaf: LeafFields): Uint8Array {
  const { serial, subjectDer, spkiDer, sanDer, notBefore, notAfter } = leaf;

  // RFC 5280 4.1.2.2: a positive INTEGER of at most 20 octets. The octet count is of the encoded
  // content, so a 20-octet magnitude with its high bit set (21 octets with the sign pad) is refused.
  if (serial.length === 0 || serial[0] === 0) throw new Error('serial must be a non-empty magnitude with a non-zero first octet');
  const serialPad = (serial[0] & 0x80) !== 0 ? 1 : 0;
  const serialLen = serial.length + serialPad;
  if (serialLen > 20) throw new Error('serial is longer than 20 octets once DER-encoded');

  if (!(notAfter.getTime() >= notBefore.getTime())) throw new Error('notAfter must not be before notBefore');
  const validityLen = timeSize(notBefore) + timeSize(notAfter);

  if (subjectDer.length < 2 || subjectDer[0] !== TAG.SEQUENCE || readTlv(subjectDer, 0).end !== subjectDer.length) {
    throw new Error('subjectDer is not a single Name SEQUENCE');
  }
  const emptySubject = subjectDer.length === 2;
  if (emptySubject && !sanDer) throw new Error('a certificate with an empty subject needs a subjectAltName (RFC 5280 4.2.1.6)');

  // SubjectKeyIdentifier, RFC 5280 4.2.1.2 method 1.
  const keyId = keyIdentifier(subjectPublicKeyBits(spkiDer, p.spkiAlgorithmOidDer));

  let sanExtLen = 0;
  let sanExtContentLen = 0;
  if (sanDer) {
    if (sanDer.length < 2 || sanDer[0] !== TAG.SEQUENCE) throw new Error('sanDer is not a GeneralNames SEQUENCE');
    sanExtContentLen = SAN_OID_DER.length + (emptySubject ? CRITICAL_TRUE.length : 0) + tlvSize(sanDer.length);
    sanExtLen = tlvSize(sanExtContentLen);
  }

  const extsLen = p.extsBeforeKeyId.length + 20 + p.extsAfterKeyId.length + sanExtLen + p.extsTail.length;
  const extsSeqLen = tlvSize(extsLen);
  const tbsLen =
    VERSION_V3.length +
    2 + serialLen +
    p.sigAlgAndIssuer.length +
    2 + validityLen +
    subjectDer.length +
    spkiDer.length +
    tlvSize(extsSeqLen);

  const out = Buffer.allocUnsafe(tlvSize(tbsLen));
  let o = writeHeader(out, 0, TAG.SEQUENCE, tbsLen);
  out.set(VERSION_V3, o);
  o += VERSION_V3.length;
  o = writeHeader(out, o, TAG.INTEGER, serialLen);
  if (serialPad) out[o++] = 0;
  out.set(serial, o);
  o += serial.length;
  out.set(p.sigAlgAndIssuer, o);
  o += p.sigAlgAndIssuer.length;
  o = writeHeader(out, o, TAG.SEQUENCE, validityLen);
  o = writeTime(out, o, notBefore);
  o = writeTime(out, o, notAfter);
  out.set(subjectDer, o);
  o += subjectDer.length;
  out.set(spkiDer, o);
  o += spkiDer.length;
  o = writeHeader(out, o, 0xa3, extsSeqLen);
  o = writeHeader(out, o, TAG.SEQUENCE, extsLen);
  out.set(p.extsBeforeKeyId, o);
  o += p.extsBeforeKeyId.length;
  out.set(keyId, o);
  o += 20;
  out.set(p.extsAfterKeyId, o);
  o += p.extsAfterKeyId.length;
  if (sanDer) {
    o = writeHeader(out, o, TAG.SEQUENCE, sanExtContentLen);
    out.set(SAN_OID_DER, o);
    o += SAN_OID_DER.length;
    if (emptySubject) {
      out.set(CRITICAL_TRUE, o);
      o += CRITICAL_TRUE.length;
    }
    o = writeHeader(out, o, TAG.OCTET_STRING, sanDer.length);
    out.set(sanDer, o);
    o += sanDer.length;
  }
  out.set(p.extsTail, o);
  o += p.extsTail.length;
  if (o !== out.length) throw new Error(`internal error: TBSCertificate length mismatch (${o} != ${out.length})`);
  return out;
}

/**
 * Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue BIT STRING }.
 * `signature` is what the signer returned: DER ECDSA-Sig-Value or the PKCS#1 v1.5 signature.
 */
export function assembleCertificate(p: ProfileContext | IssuerContext, tbs: Uint8Array, signature: Uint8Array): Uint8Array {
  const sigAlg = p.kind === 'profile' ? p.issuer.sigAlgDer : p.sigAlgDer;
  const len = tbs.length + signatureFieldsSize(sigAlg, signature);
  const out = Buffer.allocUnsafe(tlvSize(len));
  const o = writeHeader(out, 0, TAG.SEQUENCE, len);
  out.set(tbs, o);
  writeSignatureFields(out, o + tbs.length, sigAlg, signature);
  return out;
}
