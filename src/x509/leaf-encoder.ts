/**
 * Prepared-DER certificate encoding for the issuance hot path.
 *
 * Almost every byte of a leaf certificate is fixed by its CA and template: the signature
 * AlgorithmIdentifier, the issuer Name, basicConstraints, keyUsage, extKeyUsage, the authority key
 * identifier, the CRL distribution point. `prepareIssuer` and `prepareProfile` encode those once;
 * `encodeTbsCertificate` then only measures, concatenates and hashes the subject key (for its
 * subjectKeyIdentifier) into one preallocated buffer.
 *
 * Certificate layout (RFC 5280 4.1):
 *   TBSCertificate ::= SEQUENCE { version [0] v3, serialNumber, signature, issuer, validity, subject,
 *                                 subjectPublicKeyInfo, extensions [3] }
 */
import { createHash } from 'node:crypto';
import { invalid } from '../domain/ca-error.ts';
import { SIGNING_ALGORITHM_INFO, type SigningAlgorithm } from '../domain/key-algorithm.ts';
import type { KeyUsageName, Template } from '../domain/template.ts';
import { checkSubjectAltName, parseIpAddress, type SubjectAltName } from './csr.ts';
import {
  TAG,
  bitString,
  boolean,
  decodeOid,
  expectTlv,
  integer,
  nullDer,
  octetString,
  oid,
  readChildren,
  readTlv,
  sequence,
  timeSize,
  tlv,
  tlvSize,
  writeHeader,
  writeTime,
  type Tlv,
} from './der.ts';

const OID_RSA_ENCRYPTION = '1.2.840.113549.1.1.1';
const OID_EC_PUBLIC_KEY = '1.2.840.10045.2.1';
const OID_BASIC_CONSTRAINTS = '2.5.29.19';
const OID_KEY_USAGE = '2.5.29.15';
const OID_EXT_KEY_USAGE = '2.5.29.37';
const OID_SUBJECT_KEY_ID = '2.5.29.14';
const OID_AUTHORITY_KEY_ID = '2.5.29.35';
const OID_SUBJECT_ALT_NAME = '2.5.29.17';
const OID_CRL_DISTRIBUTION_POINTS = '2.5.29.31';
const OID_OCSP_NOCHECK = '1.3.6.1.5.5.7.48.1.5';

/** [0] EXPLICIT Version v3 (2). */
const VERSION_V3 = Uint8Array.of(0xa0, 0x03, TAG.INTEGER, 0x01, 0x02);
/** Extension { extnID subjectAltName } and the critical TRUE that goes with an empty subject. */
const SAN_OID_DER = oid(OID_SUBJECT_ALT_NAME);
const CRITICAL_TRUE = boolean(true);
const EMPTY_NAME = Uint8Array.of(TAG.SEQUENCE, 0x00);

/** Per-CA constants. Treat everything but the documented fields as opaque. */
export interface IssuerContext {
  readonly kind: 'issuer';
  readonly signingAlgorithm: SigningAlgorithm;
  /** The CA certificate's subject Name DER, which every leaf carries as its issuer. */
  readonly issuerNameDer: Uint8Array;
  /** The keyIdentifier every leaf carries in its authorityKeyIdentifier. */
  readonly authorityKeyIdentifier: Uint8Array;
  readonly crlDistributionPointUrl?: string;
  /** @internal AlgorithmIdentifier of the signature. */
  readonly sigAlgDer: Uint8Array;
  /** @internal Whole authorityKeyIdentifier Extension. */
  readonly akiExtDer: Uint8Array;
  /** @internal Whole cRLDistributionPoints Extension, or empty. */
  readonly crlDpExtDer: Uint8Array;
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
  /** @internal cRLDistributionPoints and id-pkix-ocsp-nocheck (after the SAN). */
  readonly extsTail: Uint8Array;
  /** @internal The subject SPKI's algorithm OID DER, to catch a key of the wrong family. */
  readonly spkiAlgorithmOidDer: Uint8Array;
}

/** Extension ::= SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING } (RFC 5280 4.1). */
function extension(id: string, critical: boolean, value: Uint8Array): Uint8Array {
  // DER omits a BOOLEAN equal to its DEFAULT (X.690 11.5), so non-critical has no critical field.
  return critical ? sequence(oid(id), boolean(true), octetString(value)) : sequence(oid(id), octetString(value));
}

/**
 * Precomputes everything that depends only on the CA: the issuer Name (the CA certificate's subject,
 * byte for byte, so that name chaining compares equal), the authority key identifier (the CA's own
 * SKI, or RFC 5280 4.2.1.2 method 1 over its key when it has none), the signature
 * AlgorithmIdentifier and the CRL distribution point.
 */
export function prepareIssuer(opts: {
  issuerCertDer: Uint8Array;
  signingAlgorithm: SigningAlgorithm;
  crlDistributionPointUrl?: string;
}): IssuerContext {
  const info = SIGNING_ALGORITHM_INFO[opts.signingAlgorithm];
  if (!info) throw new Error(`unknown signing algorithm ${String(opts.signingAlgorithm)}`);
  const ca = readIssuerCertificate(opts.issuerCertDer);
  if (ca.keyFamily !== info.family) {
    throw invalid('signing_algorithm_mismatch', `signing algorithm ${opts.signingAlgorithm} does not fit the CA's ${ca.keyFamily} key`);
  }
  if (!ca.isCa) throw new Error('the issuer certificate is not a CA certificate (basicConstraints cA is not TRUE)');

  // RFC 5758 3.2: ECDSA AlgorithmIdentifiers omit the parameters; RFC 4055 5: RSA PKCS#1 v1.5 uses NULL.
  const sigAlgDer = info.family === 'EC' ? sequence(oid(info.oid)) : sequence(oid(info.oid), nullDer());

  // AuthorityKeyIdentifier ::= SEQUENCE { keyIdentifier [0] IMPLICIT KeyIdentifier OPTIONAL, ... }
  const akiExtDer = extension(OID_AUTHORITY_KEY_ID, false, sequence(tlv(0x80, ca.keyIdentifier)));

  let crlDpExtDer: Uint8Array = new Uint8Array(0);
  const url = opts.crlDistributionPointUrl;
  if (url !== undefined) {
    checkSubjectAltName({ type: 'uri', value: url });
    // CRLDistributionPoints ::= SEQUENCE OF DistributionPoint
    // DistributionPoint ::= SEQUENCE { distributionPoint [0] DistributionPointName OPTIONAL, ... }
    // DistributionPointName ::= CHOICE { fullName [0] GeneralNames, ... }
    // The outer [0] tags a CHOICE and is therefore EXPLICIT (X.680 31.2.7); fullName [0] is IMPLICIT
    // over GeneralNames (a SEQUENCE), hence constructed. GeneralName uniformResourceIdentifier is [6].
    const uri = tlv(0x86, Buffer.from(url, 'latin1'));
    crlDpExtDer = extension(OID_CRL_DISTRIBUTION_POINTS, false, sequence(sequence(tlv(0xa0, tlv(0xa0, uri)))));
  }

  return {
    kind: 'issuer',
    signingAlgorithm: opts.signingAlgorithm,
    issuerNameDer: ca.subjectDer,
    authorityKeyIdentifier: ca.keyIdentifier,
    ...(url !== undefined ? { crlDistributionPointUrl: url } : {}),
    sigAlgDer,
    akiExtDer,
    crlDpExtDer,
  };
}

/** Bit numbers of KeyUsage (RFC 5280 4.2.1.3). */
const KEY_USAGE_BITS: Record<KeyUsageName, number> = {
  digitalSignature: 0,
  nonRepudiation: 1,
  keyEncipherment: 2,
  dataEncipherment: 3,
  keyAgreement: 4,
  keyCertSign: 5,
  cRLSign: 6,
};

/**
 * KeyUsage as a DER named-bit BIT STRING: trailing zero bits are removed and the unused-bits octet
 * says how many padding bits the last octet has (X.690 11.2.2). Bit 0 is the most significant bit.
 */
export function keyUsageBitString(usages: readonly KeyUsageName[]): Uint8Array {
  if (usages.length === 0) throw new Error('keyUsage needs at least one bit (RFC 5280 4.2.1.3)');
  let highest = 0;
  const bits = new Set<number>();
  for (const u of usages) {
    const b = KEY_USAGE_BITS[u];
    if (b === undefined) throw new Error(`unknown key usage ${String(u)}`);
    bits.add(b);
    if (b > highest) highest = b;
  }
  const bytes = new Uint8Array((highest >> 3) + 1);
  for (const b of bits) bytes[b >> 3] |= 0x80 >> (b & 7);
  return bitString(bytes, bytes.length * 8 - (highest + 1));
}

/**
 * Precomputes the extensions a template produces for one CA and one subject key family, in the
 * order: basicConstraints, keyUsage, extKeyUsage, subjectKeyIdentifier, authorityKeyIdentifier,
 * subjectAltName, cRLDistributionPoints, id-pkix-ocsp-nocheck.
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
  const exts: Uint8Array[] = [extension(OID_BASIC_CONSTRAINTS, true, sequence(...bcParts))];

  // RFC 5280 4.2.1.3: conforming CAs SHOULD mark keyUsage critical.
  const usages = keyFamily === 'RSA' ? template.keyUsage.rsa : template.keyUsage.ec;
  if (usages.length > 0) exts.push(extension(OID_KEY_USAGE, true, keyUsageBitString(usages)));

  if (template.extendedKeyUsage.length > 0) {
    exts.push(extension(OID_EXT_KEY_USAGE, false, sequence(...template.extendedKeyUsage.map((e) => oid(e)))));
  }

  // subjectKeyIdentifier: the Extension with a placeholder key id, cut before the 20 key-id octets
  // that encodeTbsCertificate appends (SHA-1 output is always 20 octets, so the lengths are fixed).
  const skiExt = extension(OID_SUBJECT_KEY_ID, false, octetString(new Uint8Array(20)));
  exts.push(skiExt.subarray(0, skiExt.length - 20));

  const tail: Uint8Array[] = [];
  if (issuer.crlDpExtDer.length > 0) tail.push(issuer.crlDpExtDer);
  // RFC 6960 4.2.2.2.1: id-pkix-ocsp-nocheck, extnValue NULL.
  if (template.ocspNoCheck) tail.push(extension(OID_OCSP_NOCHECK, false, nullDer()));

  return {
    kind: 'profile',
    issuer,
    template,
    keyFamily,
    sigAlgAndIssuer: Buffer.concat([issuer.sigAlgDer, issuer.issuerNameDer]),
    extsBeforeKeyId: Buffer.concat(exts),
    extsAfterKeyId: issuer.akiExtDer,
    extsTail: Buffer.concat(tail),
    spkiAlgorithmOidDer: oid(keyFamily === 'RSA' ? OID_RSA_ENCRYPTION : OID_EC_PUBLIC_KEY),
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

  // SubjectKeyIdentifier, RFC 5280 4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT STRING's
  // value, without its tag, length and unused-bits octet.
  const keyBits = subjectPublicKeyBits(spkiDer, p.spkiAlgorithmOidDer);
  const keyId = createHash('sha1').update(keyBits).digest();

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
  const bitStringLen = signature.length + 1;
  const len = tbs.length + sigAlg.length + tlvSize(bitStringLen);
  const out = Buffer.allocUnsafe(tlvSize(len));
  let o = writeHeader(out, 0, TAG.SEQUENCE, len);
  out.set(tbs, o);
  o += tbs.length;
  out.set(sigAlg, o);
  o += sigAlg.length;
  o = writeHeader(out, o, TAG.BIT_STRING, bitStringLen);
  out[o++] = 0; // no unused bits
  out.set(signature, o);
  return out;
}

/**
 * GeneralNames DER for a list of names (checked with the same rules as CSR SANs); for the service to
 * turn a CSR's commonName into a DNS SAN when the CSR requested none.
 */
export function encodeSanDer(names: SubjectAltName[]): Uint8Array {
  if (names.length === 0) throw invalid('unsupported_san', 'a subjectAltName needs at least one name');
  const parts = names.map((n) => {
    checkSubjectAltName(n);
    switch (n.type) {
      case 'email':
        return tlv(0x81, Buffer.from(n.value, 'latin1'));
      case 'dns':
        return tlv(0x82, Buffer.from(n.value, 'latin1'));
      case 'uri':
        return tlv(0x86, Buffer.from(n.value, 'latin1'));
      case 'ip':
        return tlv(0x87, parseIpAddress(n.value) as Uint8Array);
    }
  });
  return sequence(...parts);
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/** The subjectPublicKey BIT STRING value of an SPKI, after its unused-bits octet. */
function subjectPublicKeyBits(spki: Uint8Array, expectedAlgOidDer?: Uint8Array): Uint8Array {
  const outer = readTlv(spki, 0);
  if (outer.tag !== TAG.SEQUENCE || outer.end !== spki.length) throw new Error('spkiDer is not a single SEQUENCE');
  const alg = expectTlv(spki, outer.valueStart, TAG.SEQUENCE, outer.end, 'SPKI algorithm');
  if (expectedAlgOidDer) {
    const n = expectedAlgOidDer.length;
    if (alg.end - alg.valueStart < n || Buffer.compare(spki.subarray(alg.valueStart, alg.valueStart + n), expectedAlgOidDer) !== 0) {
      throw new Error('the subject public key does not belong to the profile key family');
    }
  }
  const bits = expectTlv(spki, alg.end, TAG.BIT_STRING, outer.end, 'subjectPublicKey');
  if (bits.end !== outer.end || bits.end - bits.valueStart < 2 || spki[bits.valueStart] !== 0) {
    throw new Error('malformed subjectPublicKey');
  }
  return spki.subarray(bits.valueStart + 1, bits.end);
}

interface IssuerCertificateInfo {
  subjectDer: Uint8Array;
  keyIdentifier: Uint8Array;
  keyFamily: 'EC' | 'RSA' | 'other';
  isCa: boolean;
}

/** Reads what prepareIssuer needs from the CA certificate (RFC 5280 4.1). */
function readIssuerCertificate(der: Uint8Array): IssuerCertificateInfo {
  const cert = expectTlv(der, 0, TAG.SEQUENCE, der.length, 'Certificate');
  if (cert.end !== der.length) throw new Error('issuer certificate: trailing bytes');
  const tbs = expectTlv(der, cert.valueStart, TAG.SEQUENCE, cert.end, 'TBSCertificate');
  const f = readChildren(der, tbs);
  let i = 0;
  if (f[i]?.tag === 0xa0) i++; // version
  const [serial, , , , subject, spki] = f.slice(i);
  if (!serial || serial.tag !== TAG.INTEGER || !subject || subject.tag !== TAG.SEQUENCE || !spki || spki.tag !== TAG.SEQUENCE) {
    throw new Error('issuer certificate: malformed TBSCertificate');
  }
  const spkiDer = der.subarray(spki.start, spki.end);
  const algSeq = expectTlv(spkiDer, readTlv(spkiDer, 0).valueStart, TAG.SEQUENCE, spkiDer.length, 'SPKI algorithm');
  const algOid = expectTlv(spkiDer, algSeq.valueStart, TAG.OID, algSeq.end, 'SPKI algorithm OID');
  const algName = decodeOid(spkiDer, algOid.valueStart, algOid.end);
  const keyFamily = algName === OID_RSA_ENCRYPTION ? 'RSA' : algName === OID_EC_PUBLIC_KEY ? 'EC' : 'other';

  let keyIdentifier: Uint8Array | undefined;
  let isCa = false;
  const extsWrapper = f.slice(i + 6).find((t) => t.tag === 0xa3);
  if (extsWrapper) {
    const exts = expectTlv(der, extsWrapper.valueStart, TAG.SEQUENCE, extsWrapper.end, 'Extensions');
    for (const ext of readChildren(der, exts)) {
      const parts = readChildren(der, ext);
      const id = decodeOid(der, parts[0].valueStart, parts[0].end);
      const value = parts[parts.length - 1] as Tlv;
      if (id === OID_SUBJECT_KEY_ID) {
        // SubjectKeyIdentifier ::= KeyIdentifier ::= OCTET STRING
        const kid = expectTlv(der, value.valueStart, TAG.OCTET_STRING, value.end, 'subjectKeyIdentifier');
        keyIdentifier = Uint8Array.from(der.subarray(kid.valueStart, kid.end));
      } else if (id === OID_BASIC_CONSTRAINTS) {
        const bc = expectTlv(der, value.valueStart, TAG.SEQUENCE, value.end, 'basicConstraints');
        const first = readChildren(der, bc)[0];
        isCa = first !== undefined && first.tag === TAG.BOOLEAN && der[first.valueStart] !== 0;
      }
    }
  }
  // RFC 5280 4.2.1.2 method 1, for a CA certificate without a subjectKeyIdentifier.
  keyIdentifier ??= createHash('sha1').update(subjectPublicKeyBits(spkiDer)).digest();

  return { subjectDer: Uint8Array.from(der.subarray(subject.start, subject.end)), keyIdentifier, keyFamily, isCa };
}
