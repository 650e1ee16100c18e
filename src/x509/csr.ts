/**
 * PKCS#10 (RFC 2986) certificate request parsing and verification on the issuance hot path.
 *
 * Walks the DER by offset (see der.ts) instead of building an ASN.1 object tree, checks the CSR's own
 * signature with node:crypto on libuv's thread pool, and hands back the exact DER pieces (subject
 * Name, SubjectPublicKeyInfo, SAN GeneralNames) that the leaf encoder copies verbatim into certificates.
 */
import { createPublicKey, verify, type JsonWebKey, type KeyObject } from 'node:crypto';
import { CaError, invalid } from '../domain/ca-error.ts';
import {
  TAG,
  bitLength,
  decodeOid,
  expectTlv,
  readChildren,
  readOid,
  readTlv,
  unsignedIntegerValue,
  type Tlv,
} from './der.ts';

export type SubjectAltNameType = 'dns' | 'ip' | 'email' | 'uri';

/** One subject alternative name in the four forms we issue; IP addresses in text form. */
export interface SubjectAltName {
  type: SubjectAltNameType;
  value: string;
}

/** The subject key as far as policy cares. */
export type CsrKeyInfo = { family: 'EC'; curve: 'P-256' | 'P-384' | 'P-521' } | { family: 'RSA'; bits: number };

/**
 * The byte fields (der, subjectDer, spkiDer, sanDer) are views into the DER that parseCsr read: into
 * the caller's buffer when it passed DER bytes. Do not modify that buffer while the result is in use.
 */
export interface ParsedCsr {
  /** The whole CSR DER. */
  der: Uint8Array;
  /** Exact DER bytes of the subject Name, copied verbatim into certificates. */
  subjectDer: Uint8Array;
  /**
   * The subject as an RFC 4514 string, in the order `openssl -nameopt RFC2253` prints it (the reverse
   * of the DER order). Non-ASCII characters are kept as they are, not hex-escaped.
   */
  subject: string;
  /** The first commonName in DER order, decoded. */
  commonName?: string;
  /** Exact SubjectPublicKeyInfo DER. */
  spkiDer: Uint8Array;
  publicKey: KeyObject;
  key: CsrKeyInfo;
  /** From the extensionRequest's subjectAltName extension, in order; empty without one. */
  subjectAltNames: SubjectAltName[];
  /** DER of the GeneralNames SEQUENCE of the requested subjectAltName extension, when present. */
  sanDer?: Uint8Array;
  /** The CSR's signature AlgorithmIdentifier OID. */
  signatureAlgorithmOid: string;
}

/** A PEM CSR is never this large; refusing early bounds the work a caller can make us do. */
const MAX_CSR_DER_BYTES = 64 * 1024;

const OID_RSA_ENCRYPTION = '1.2.840.113549.1.1.1';
const OID_EC_PUBLIC_KEY = '1.2.840.10045.2.1';
const OID_EXTENSION_REQUEST = '1.2.840.113549.1.9.14'; // PKCS#9, RFC 2985 5.4.2
const OID_SUBJECT_ALT_NAME = '2.5.29.17';

type NodeHash = 'sha256' | 'sha384' | 'sha512';

/** CSR signature algorithms we verify (RFC 5758 3.2 for ECDSA, RFC 4055 5 for RSA PKCS#1 v1.5). */
const CSR_SIGNATURE_ALGORITHMS: Record<string, { family: 'EC' | 'RSA'; hash: NodeHash; name: string }> = {
  '1.2.840.10045.4.3.2': { family: 'EC', hash: 'sha256', name: 'ecdsa-with-SHA256' },
  '1.2.840.10045.4.3.3': { family: 'EC', hash: 'sha384', name: 'ecdsa-with-SHA384' },
  '1.2.840.10045.4.3.4': { family: 'EC', hash: 'sha512', name: 'ecdsa-with-SHA512' },
  '1.2.840.113549.1.1.11': { family: 'RSA', hash: 'sha256', name: 'sha256WithRSAEncryption' },
  '1.2.840.113549.1.1.12': { family: 'RSA', hash: 'sha384', name: 'sha384WithRSAEncryption' },
  '1.2.840.113549.1.1.13': { family: 'RSA', hash: 'sha512', name: 'sha512WithRSAEncryption' },
};

/** Names for algorithms we refuse, so that the error says what was sent. */
const KNOWN_ALGORITHM_NAMES: Record<string, string> = {
  '1.2.840.113549.1.1.4': 'md5WithRSAEncryption',
  '1.2.840.113549.1.1.5': 'sha1WithRSAEncryption',
  '1.2.840.113549.1.1.10': 'RSASSA-PSS',
  '1.2.840.113549.1.1.14': 'sha224WithRSAEncryption',
  '1.2.840.10045.4.1': 'ecdsa-with-SHA1',
  '1.2.840.10045.4.3.1': 'ecdsa-with-SHA224',
  '1.2.840.10040.4.1': 'DSA',
  '1.2.840.10040.4.3': 'dsa-with-sha1',
  '2.16.840.1.101.3.4.3.2': 'dsa-with-sha256',
  '1.2.840.10046.2.1': 'Diffie-Hellman',
  '1.3.101.110': 'X25519',
  '1.3.101.111': 'X448',
  '1.3.101.112': 'Ed25519',
  '1.3.101.113': 'Ed448',
};

const SUPPORTED_CURVES: Record<string, { curve: 'P-256' | 'P-384' | 'P-521'; coordinateBytes: number }> = {
  '1.2.840.10045.3.1.7': { curve: 'P-256', coordinateBytes: 32 },
  '1.3.132.0.34': { curve: 'P-384', coordinateBytes: 48 },
  '1.3.132.0.35': { curve: 'P-521', coordinateBytes: 66 },
};

const CURVE_NAMES: Record<string, string> = {
  '1.2.840.10045.3.1.1': 'P-192 (prime192v1)',
  '1.3.132.0.33': 'P-224 (secp224r1)',
  '1.3.132.0.10': 'secp256k1',
  '1.3.36.3.3.2.8.1.1.7': 'brainpoolP256r1',
  '1.3.36.3.3.2.8.1.1.11': 'brainpoolP384r1',
  '1.3.36.3.3.2.8.1.1.13': 'brainpoolP512r1',
  '1.2.156.10197.1.301': 'SM2',
};

const MIN_RSA_BITS = 2048;
const MAX_RSA_BITS = 8192;

/**
 * Parses a PKCS#10 CSR (PEM text, or DER bytes; PEM text passed as bytes is accepted too), checks
 * that its key and requested SANs are ones we issue for, and verifies its self-signature.
 *
 * Throws CaError (invalid_request) with code `invalid_csr` (not a well-formed PKCS#10, an algorithm
 * we do not accept, or a signature that does not verify), `unsupported_key` or `unsupported_san`.
 */
export async function parseCsr(input: string | Uint8Array): Promise<ParsedCsr> {
  const der = toDer(input);
  let parsed: { csr: ParsedCsr; signed: SignedPart };
  try {
    parsed = parseCsrDer(der);
  } catch (e) {
    if (e instanceof CaError) throw e;
    throw invalid('invalid_csr', `malformed CSR: ${(e as Error).message}`);
  }
  if (!(await verifyOffThread(parsed.signed))) throw invalid('invalid_csr', 'the CSR signature does not verify with its public key');
  return parsed.csr;
}

/** What the CSR's self-signature covers and how to check it. */
interface SignedPart {
  hash: string;
  data: Uint8Array;
  key: KeyObject;
  ec: boolean;
  signature: Uint8Array;
}

/**
 * The signature check runs on libuv's thread pool (node:crypto's callback form): a P-256 verify is
 * ~80 µs, the largest single cost of an issuance, and off the event loop it leaves ~15 µs there
 * (bench:issue, 1 worker: 2,196 → 2,408–2,665 certificates/s with a software key). A malformed signature is a failed check.
 */
function verifyOffThread(s: SignedPart): Promise<boolean> {
  return new Promise((resolve) => {
    try {
      verify(s.hash, s.data, s.ec ? { key: s.key, dsaEncoding: 'der' } : s.key, s.signature, (err, ok) => resolve(!err && ok));
    } catch {
      resolve(false);
    }
  });
}

// ---------------------------------------------------------------------------------------------
// PEM (RFC 7468)
// ---------------------------------------------------------------------------------------------

const PEM_RE = /^-----BEGIN ((?:NEW )?CERTIFICATE REQUEST)-----([A-Za-z0-9+/=\s]*)-----END ((?:NEW )?CERTIFICATE REQUEST)-----$/;
const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function toDer(input: string | Uint8Array): Uint8Array {
  if (typeof input === 'string') return pemToDer(input);
  if (!(input instanceof Uint8Array)) throw invalid('invalid_csr', 'a CSR must be PEM text or DER bytes');
  // DER always starts with the SEQUENCE tag; anything that starts like text is tried as PEM.
  if (input.length > 0 && input[0] !== TAG.SEQUENCE) {
    if (input.length > MAX_CSR_DER_BYTES * 2) throw invalid('invalid_csr', 'the CSR is too large');
    return pemToDer(Buffer.from(input.buffer, input.byteOffset, input.length).toString('latin1'));
  }
  if (input.length > MAX_CSR_DER_BYTES) throw invalid('invalid_csr', 'the CSR is too large');
  return input;
}

/**
 * One PEM block with a CERTIFICATE REQUEST (or the legacy NEW CERTIFICATE REQUEST) label, optionally
 * surrounded by whitespace. The body must be canonical base64 (RFC 4648 section 4, padded, no
 * non-zero pad bits); line breaks may fall anywhere. No explanatory text, no PEM headers.
 */
function pemToDer(text: string): Uint8Array {
  if (text.length > MAX_CSR_DER_BYTES * 2) throw invalid('invalid_csr', 'the CSR is too large');
  const m = PEM_RE.exec(text.trim());
  if (!m) throw invalid('invalid_csr', 'expected one PEM block labelled CERTIFICATE REQUEST');
  if (m[1] !== m[3]) throw invalid('invalid_csr', 'PEM BEGIN and END labels differ');
  const body = m[2].replace(/\s+/g, '');
  if (body.length === 0 || !BASE64_RE.test(body)) throw invalid('invalid_csr', 'the PEM body is not valid base64');
  const der = Buffer.from(body, 'base64');
  // Node's decoder ignores non-zero pad bits; re-encoding catches them.
  if (der.toString('base64') !== body) throw invalid('invalid_csr', 'the PEM body is not canonical base64');
  if (der.length > MAX_CSR_DER_BYTES) throw invalid('invalid_csr', 'the CSR is too large');
  return new Uint8Array(der.buffer, der.byteOffset, der.length);
}

// ---------------------------------------------------------------------------------------------
// PKCS#10 structure (RFC 2986 section 4)
// ---------------------------------------------------------------------------------------------

function parseCsrDer(der: Uint8Array): { csr: ParsedCsr; signed: SignedPart } {
  // CertificationRequest ::= SEQUENCE { certificationRequestInfo, signatureAlgorithm, signature }
  const outer = expectTlv(der, 0, TAG.SEQUENCE, der.length, 'CertificationRequest');
  if (outer.end !== der.length) throw new Error('trailing bytes after the CertificationRequest');
  const top = readChildren(der, outer);
  if (top.length !== 3) throw new Error('CertificationRequest must have exactly three fields');
  const [info, sigAlgTlv, sigTlv] = top;
  if (info.tag !== TAG.SEQUENCE) throw new Error('certificationRequestInfo: expected SEQUENCE');

  // CertificationRequestInfo ::= SEQUENCE { version, subject, subjectPKInfo, attributes [0] }
  const fields = readChildren(der, info);
  if (fields.length < 3 || fields.length > 4) throw new Error('certificationRequestInfo has the wrong number of fields');
  const [versionTlv, subjectTlv, spkiTlv, attrsTlv] = fields;
  if (versionTlv.tag !== TAG.INTEGER || versionTlv.end - versionTlv.valueStart !== 1 || der[versionTlv.valueStart] !== 0) {
    throw new Error('version must be v1 (0)');
  }
  if (subjectTlv.tag !== TAG.SEQUENCE) throw new Error('subject: expected a Name (SEQUENCE)');
  if (spkiTlv.tag !== TAG.SEQUENCE) throw new Error('subjectPKInfo: expected SEQUENCE');
  // The attributes field is not OPTIONAL in RFC 2986, but some encoders drop it when empty; its
  // absence changes nothing we read, so we accept it.
  if (attrsTlv && attrsTlv.tag !== 0xa0) throw new Error('attributes: expected [0] IMPLICIT SET');

  const sigAlgOid = readAlgorithmIdentifier(der, sigAlgTlv, 'signatureAlgorithm');
  const signature = readBitStringBytes(der, sigTlv, 'signature');
  if (signature.length === 0) throw new Error('signature is empty');

  const { subject, commonName } = describeName(der, subjectTlv);
  const extensions = attrsTlv ? readExtensionRequest(der, attrsTlv) : new Map<string, Tlv>();

  // Refusals in order of cost: algorithm, key, names, then the signature check.
  const sigAlg = CSR_SIGNATURE_ALGORITHMS[sigAlgOid.oid];
  if (!sigAlg) {
    throw invalid('invalid_csr', `unsupported CSR signature algorithm ${algorithmName(sigAlgOid.oid)}; use ECDSA or RSA PKCS#1 v1.5 with SHA-256, SHA-384 or SHA-512`);
  }
  if (!sigAlgOid.paramsOk) throw new Error('signatureAlgorithm has unexpected parameters');

  const { info: key, jwk } = readSubjectPublicKeyInfo(der, spkiTlv);
  if (key.family !== sigAlg.family) {
    throw invalid('invalid_csr', `the CSR is signed with ${sigAlg.name}, which does not fit its ${key.family} key`);
  }

  let subjectAltNames: SubjectAltName[] = [];
  let sanDer: Uint8Array | undefined;
  const sanValue = extensions.get(OID_SUBJECT_ALT_NAME);
  if (sanValue) {
    const gn = expectTlv(der, sanValue.valueStart, TAG.SEQUENCE, sanValue.end, 'subjectAltName');
    if (gn.end !== sanValue.end) throw new Error('subjectAltName: trailing bytes in the extension value');
    subjectAltNames = readGeneralNames(der, gn);
    sanDer = der.subarray(gn.start, gn.end);
  }

  const spkiDer = der.subarray(spkiTlv.start, spkiTlv.end);
  let publicKey: KeyObject;
  try {
    // Import through JWK where that is cheaper: OpenSSL 3's SPKI decoder costs 110-170 µs per key,
    // the JWK path about 5 µs for RSA and about 85 µs for P-256 (it checks the point against the
    // curve order, which is slow on the curves without optimised code, P-384 and P-521).
    publicKey = jwk
      ? createPublicKey({ key: jwk, format: 'jwk' })
      : createPublicKey({ key: Buffer.from(spkiDer.buffer, spkiDer.byteOffset, spkiDer.length), format: 'der', type: 'spki' });
  } catch {
    throw invalid('invalid_csr', 'the CSR public key is malformed');
  }

  const csr: ParsedCsr = {
    der,
    subjectDer: der.subarray(subjectTlv.start, subjectTlv.end),
    subject,
    ...(commonName !== undefined ? { commonName } : {}),
    spkiDer,
    publicKey,
    key,
    subjectAltNames,
    ...(sanDer ? { sanDer } : {}),
    signatureAlgorithmOid: sigAlgOid.oid,
  };
  return { csr, signed: { hash: sigAlg.hash, data: der.subarray(info.start, info.end), key: publicKey, ec: key.family === 'EC', signature } };
}

function algorithmName(oid: string): string {
  const name = KNOWN_ALGORITHM_NAMES[oid] ?? CSR_SIGNATURE_ALGORITHMS[oid]?.name;
  return name ? `${name} (${oid})` : oid;
}

/**
 * AlgorithmIdentifier ::= SEQUENCE { algorithm OID, parameters ANY OPTIONAL }.
 * For the signature algorithms we accept, parameters must be absent (RFC 5758 3.2) or NULL (RFC 4055
 * 5); we tolerate either for both families, since the signature check is ours and not affected.
 */
function readAlgorithmIdentifier(buf: Uint8Array, t: Tlv, what: string): { oid: string; params?: Tlv; paramsOk: boolean } {
  if (t.tag !== TAG.SEQUENCE) throw new Error(`${what}: expected SEQUENCE`);
  const parts = readChildren(buf, t);
  if (parts.length < 1 || parts.length > 2) throw new Error(`${what}: malformed AlgorithmIdentifier`);
  if (parts[0].tag !== TAG.OID) throw new Error(`${what}: expected an OID`);
  const oid = decodeOid(buf, parts[0].valueStart, parts[0].end);
  const params = parts[1];
  const paramsOk = !params || (params.tag === TAG.NULL && params.end === params.valueStart);
  return { oid, ...(params ? { params } : {}), paramsOk };
}

/** The content of a BIT STRING that must hold whole octets (keys and signatures). */
function readBitStringBytes(buf: Uint8Array, t: Tlv, what: string): Uint8Array {
  if (t.tag !== TAG.BIT_STRING) throw new Error(`${what}: expected BIT STRING`);
  if (t.end === t.valueStart) throw new Error(`${what}: empty BIT STRING`);
  if (buf[t.valueStart] !== 0) throw new Error(`${what}: BIT STRING must have no unused bits`);
  return buf.subarray(t.valueStart + 1, t.end);
}

// ---------------------------------------------------------------------------------------------
// SubjectPublicKeyInfo (RFC 5280 4.1.2.7, RFC 3279 2.3, RFC 5480)
// ---------------------------------------------------------------------------------------------

/**
 * Identifies the key from the SPKI's AlgorithmIdentifier before node:crypto sees it, so that a key we
 * do not issue for is reported as unsupported_key rather than as whatever OpenSSL makes of it.
 */
function readSubjectPublicKeyInfo(buf: Uint8Array, spki: Tlv): { info: CsrKeyInfo; jwk?: JsonWebKey } {
  const parts = readChildren(buf, spki);
  if (parts.length !== 2) throw new Error('subjectPKInfo must have exactly two fields');
  const alg = readAlgorithmIdentifier(buf, parts[0], 'subjectPKInfo.algorithm');
  const keyBytes = readBitStringBytes(buf, parts[1], 'subjectPublicKey');

  if (alg.oid === OID_RSA_ENCRYPTION) {
    // RFC 3279 2.3.1: parameters MUST be NULL.
    if (!alg.params || !alg.paramsOk) throw new Error('rsaEncryption parameters must be NULL');
    // RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }
    const seq = expectTlv(keyBytes, 0, TAG.SEQUENCE, keyBytes.length, 'RSAPublicKey');
    if (seq.end !== keyBytes.length) throw new Error('RSAPublicKey: trailing bytes');
    const ints = readChildren(keyBytes, seq);
    if (ints.length !== 2) throw new Error('RSAPublicKey must have exactly two fields');
    const modulus = unsignedIntegerValue(keyBytes, ints[0], 'RSA modulus');
    const exponent = unsignedIntegerValue(keyBytes, ints[1], 'RSA public exponent');
    const bits = bitLength(modulus);
    if (bits < MIN_RSA_BITS) {
      throw invalid('unsupported_key', `RSA key of ${bits} bits is too small; at least ${MIN_RSA_BITS} bits are required`);
    }
    if (bits > MAX_RSA_BITS) {
      throw invalid('unsupported_key', `RSA key of ${bits} bits is too large; at most ${MAX_RSA_BITS} bits are supported`);
    }
    // An even exponent (or 1) is not an RSA key anyone can sign with.
    const eLast = exponent[exponent.length - 1];
    if ((eLast & 1) === 0 || (exponent.length === 1 && eLast === 1)) {
      throw invalid('unsupported_key', 'the RSA public exponent is invalid');
    }
    return { info: { family: 'RSA', bits }, jwk: { kty: 'RSA', n: b64url(modulus), e: b64url(exponent) } };
  }

  if (alg.oid === OID_EC_PUBLIC_KEY) {
    // RFC 5480 2.1.1: parameters are a namedCurve OID; implicitCurve and specifiedCurve MUST NOT be used.
    if (!alg.params) throw invalid('unsupported_key', 'EC keys without a named curve are not supported');
    if (alg.params.tag !== TAG.OID) {
      throw invalid('unsupported_key', 'EC keys with explicit curve parameters are not supported; use P-256, P-384 or P-521');
    }
    const curveOid = decodeOid(buf, alg.params.valueStart, alg.params.end);
    const curve = SUPPORTED_CURVES[curveOid];
    if (!curve) {
      const name = CURVE_NAMES[curveOid] ? `${CURVE_NAMES[curveOid]}, ${curveOid}` : curveOid;
      throw invalid('unsupported_key', `EC curve ${name} is not supported; use P-256, P-384 or P-521`);
    }
    // RFC 5480 2.2: the uncompressed form MUST be supported; many verifiers support nothing else.
    if (keyBytes[0] !== 0x04) {
      throw invalid('unsupported_key', 'compressed EC public keys are not supported; send the uncompressed point');
    }
    if (keyBytes.length !== 1 + 2 * curve.coordinateBytes) throw new Error(`EC point has the wrong length for ${curve.curve}`);
    const info: CsrKeyInfo = { family: 'EC', curve: curve.curve };
    if (curve.curve !== 'P-256') return { info };
    const n = curve.coordinateBytes;
    return { info, jwk: { kty: 'EC', crv: curve.curve, x: b64url(keyBytes.subarray(1, 1 + n)), y: b64url(keyBytes.subarray(1 + n)) } };
  }

  throw invalid('unsupported_key', `key algorithm ${algorithmName(alg.oid)} is not supported; use RSA (2048 to 8192 bits) or EC P-256, P-384 or P-521`);
}

function b64url(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.length).toString('base64url');
}

// ---------------------------------------------------------------------------------------------
// Attributes and the extensionRequest (RFC 2986 4.1, RFC 2985 5.4.2)
// ---------------------------------------------------------------------------------------------

/** Returns the requested extensions by OID, each as the Tlv of its extnValue OCTET STRING. */
function readExtensionRequest(buf: Uint8Array, attrs: Tlv): Map<string, Tlv> {
  const out = new Map<string, Tlv>();
  let seen = false;
  for (const attr of readChildren(buf, attrs)) {
    // Attribute ::= SEQUENCE { type OID, values SET SIZE(1..MAX) OF ANY }
    if (attr.tag !== TAG.SEQUENCE) throw new Error('attribute: expected SEQUENCE');
    const parts = readChildren(buf, attr);
    if (parts.length !== 2 || parts[0].tag !== TAG.OID || parts[1].tag !== TAG.SET) throw new Error('malformed attribute');
    const type = decodeOid(buf, parts[0].valueStart, parts[0].end);
    const values = readChildren(buf, parts[1]);
    if (values.length === 0) throw new Error('attribute with no values');
    if (type !== OID_EXTENSION_REQUEST) continue;
    if (seen || values.length !== 1) throw new Error('more than one extensionRequest');
    seen = true;
    // Extensions ::= SEQUENCE OF Extension
    if (values[0].tag !== TAG.SEQUENCE) throw new Error('extensionRequest: expected SEQUENCE');
    for (const ext of readChildren(buf, values[0])) {
      // Extension ::= SEQUENCE { extnID OID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }
      if (ext.tag !== TAG.SEQUENCE) throw new Error('extension: expected SEQUENCE');
      const f = readChildren(buf, ext);
      if (f.length < 2 || f.length > 3 || f[0].tag !== TAG.OID) throw new Error('malformed extension');
      if (f.length === 3 && (f[1].tag !== TAG.BOOLEAN || f[1].end - f[1].valueStart !== 1)) throw new Error('malformed extension critical flag');
      const value = f[f.length - 1];
      if (value.tag !== TAG.OCTET_STRING) throw new Error('extension value: expected OCTET STRING');
      const id = decodeOid(buf, f[0].valueStart, f[0].end);
      // RFC 5280 4.2: a certificate MUST NOT include more than one instance of an extension.
      if (out.has(id)) throw new Error(`extension ${id} requested twice`);
      out.set(id, value);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// GeneralNames (RFC 5280 4.2.1.6)
// ---------------------------------------------------------------------------------------------

const GENERAL_NAME_TYPES: Record<number, string> = {
  0xa0: 'otherName',
  0xa1: 'rfc822Name',
  0xa2: 'dNSName',
  0xa3: 'x400Address',
  0xa4: 'directoryName',
  0xa5: 'ediPartyName',
  0xa6: 'uniformResourceIdentifier',
  0xa7: 'iPAddress',
  0x80: 'otherName',
  0x83: 'x400Address',
  0x84: 'directoryName',
  0x85: 'ediPartyName',
  0x88: 'registeredID',
  0xa8: 'registeredID',
};

/**
 * Reads a GeneralNames SEQUENCE, accepting only rfc822Name, dNSName, uniformResourceIdentifier and
 * iPAddress, each checked for syntax (CaError unsupported_san otherwise). DER structure errors are
 * thrown as plain Errors for the caller to wrap.
 */
export function readGeneralNames(buf: Uint8Array, seq: Tlv): SubjectAltName[] {
  const names: SubjectAltName[] = [];
  const items = readChildren(buf, seq);
  // GeneralNames ::= SEQUENCE SIZE (1..MAX) OF GeneralName
  if (items.length === 0) throw invalid('unsupported_san', 'the subjectAltName extension is empty');
  for (const gn of items) {
    const v = buf.subarray(gn.valueStart, gn.end);
    // The four IMPLICIT-tagged primitive forms: [1] IA5String, [2] IA5String, [6] IA5String, [7] OCTET STRING.
    switch (gn.tag) {
      case 0x81:
        names.push(checkSubjectAltName({ type: 'email', value: ia5(v, 'rfc822Name') }));
        break;
      case 0x82:
        names.push(checkSubjectAltName({ type: 'dns', value: ia5(v, 'dNSName') }));
        break;
      case 0x86:
        names.push(checkSubjectAltName({ type: 'uri', value: ia5(v, 'uniformResourceIdentifier') }));
        break;
      case 0x87:
        if (v.length !== 4 && v.length !== 16) {
          throw invalid('unsupported_san', `iPAddress SAN must have 4 or 16 octets, not ${v.length}`);
        }
        names.push({ type: 'ip', value: formatIpAddress(v) });
        break;
      default: {
        const name = GENERAL_NAME_TYPES[gn.tag] ?? `[tag 0x${gn.tag.toString(16)}]`;
        throw invalid('unsupported_san', `${name} SANs are not supported; use DNS, IP, email or URI names`);
      }
    }
  }
  return names;
}

function ia5(v: Uint8Array, what: string): string {
  for (let i = 0; i < v.length; i++) {
    if (v[i] > 0x7f) throw invalid('unsupported_san', `${what} SAN contains a character outside IA5String`);
  }
  return Buffer.from(v.buffer, v.byteOffset, v.length).toString('latin1');
}

const DNS_LABEL_RE = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
// RFC 3986 section 3.1 scheme, then any visible ASCII except the characters RFC 3986 never allows.
const URI_RE = /^[A-Za-z][A-Za-z0-9+.-]*:[^\x00-\x20\x7f-\uffff"<>\\^`{|}]+$/;

/**
 * A dNSName in the preferred name syntax (RFC 5280 4.2.1.6 -> RFC 1034 3.5, as relaxed by RFC 1123
 * 2.1), at most 253 characters; `*` is allowed only as the whole leftmost label.
 */
export function isDnsName(name: string, allowWildcard = true): boolean {
  if (name.length === 0 || name.length > 253) return false;
  const labels = name.split('.');
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i];
    if (i === 0 && label === '*' && allowWildcard && labels.length > 1) continue;
    if (!DNS_LABEL_RE.test(label)) return false;
  }
  return true;
}

/**
 * Checks one SAN value's syntax; throws CaError unsupported_san with the reason. Returns it unchanged
 * (IP addresses are checked and kept in the caller's text form).
 */
export function checkSubjectAltName(san: SubjectAltName): SubjectAltName {
  // Built only on failure: this runs for every SAN of every request.
  const shown = () => JSON.stringify(san.value.length > 256 ? `${san.value.slice(0, 256)}…` : san.value);
  switch (san.type) {
    case 'dns':
      if (!isDnsName(san.value)) throw invalid('unsupported_san', `DNS SAN ${shown()} is not a valid DNS name`);
      return san;
    case 'email': {
      // RFC 5280 4.2.1.6: an addr-spec (RFC 5321 Mailbox); we take local-part@domain with a
      // dot-atom-like local part and a DNS domain. Quoted local parts are not supported.
      const at = san.value.lastIndexOf('@');
      const local = san.value.slice(0, at);
      const domain = san.value.slice(at + 1);
      if (at <= 0 || local.length > 64 || !/^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+$/.test(local) || !isDnsName(domain, false)) {
        throw invalid('unsupported_san', `email SAN ${shown()} is not a valid address`);
      }
      return san;
    }
    case 'uri':
      // RFC 5280 4.2.1.6: the name MUST NOT be a relative URI; it must have a scheme.
      if (!URI_RE.test(san.value)) throw invalid('unsupported_san', `URI SAN ${shown()} is not an absolute URI`);
      return san;
    case 'ip':
      if (!parseIpAddress(san.value)) throw invalid('unsupported_san', `IP SAN ${shown()} is not an IPv4 or IPv6 address`);
      return san;
    default:
      throw invalid('unsupported_san', `SAN type ${JSON.stringify((san as { type: unknown }).type)} is not supported`);
  }
}

/** Text form of an iPAddress: dotted quad, or RFC 5952 canonical IPv6 (lower case, longest zero run compressed). */
export function formatIpAddress(bytes: Uint8Array): string {
  if (bytes.length === 4) return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
  if (bytes.length !== 16) throw new Error('an IP address has 4 or 16 octets');
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i] << 8) | bytes[i + 1]);
  // RFC 5952 4.2: compress the longest run of two or more zero groups, the first one on a tie.
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (gs: number[]) => gs.map((g) => g.toString(16)).join(':');
  if (bestStart < 0) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLen))}`;
}

const IPV4_RE = /^(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(?:\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}$/;

/** Parses a textual IPv4 (dotted quad, no leading zeros) or IPv6 address (RFC 4291 2.2) to its octets. */
export function parseIpAddress(text: string): Uint8Array | undefined {
  if (IPV4_RE.test(text)) return Uint8Array.from(text.split('.').map(Number));
  if (!text.includes(':') || text.length > 45) return undefined;
  let head = text;
  let tail4: Uint8Array | undefined;
  // An embedded IPv4 address may form the last 32 bits (RFC 4291 2.2 form 3).
  const lastColon = text.lastIndexOf(':');
  if (text.slice(lastColon + 1).includes('.')) {
    const v4 = text.slice(lastColon + 1);
    if (!IPV4_RE.test(v4)) return undefined;
    tail4 = Uint8Array.from(v4.split('.').map(Number));
    // Keep a "::" just before the IPv4 part; drop a single separating ":".
    head = text.slice(0, lastColon + 1);
    if (!head.endsWith('::')) head = head.slice(0, -1);
  }
  const maxGroups = tail4 ? 6 : 8;
  const parseGroups = (s: string): number[] | undefined => {
    if (s === '') return [];
    const out: number[] = [];
    for (const g of s.split(':')) {
      if (!/^[0-9A-Fa-f]{1,4}$/.test(g)) return undefined;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  let groups: number[];
  const dbl = head.indexOf('::');
  if (dbl >= 0) {
    if (head.indexOf('::', dbl + 1) >= 0) return undefined;
    const left = parseGroups(head.slice(0, dbl));
    const right = parseGroups(head.slice(dbl + 2));
    if (!left || !right) return undefined;
    // "::" stands for at least one zero group (RFC 4291 2.2 form 2).
    const missing = maxGroups - left.length - right.length;
    if (missing < 1) return undefined;
    groups = [...left, ...new Array<number>(missing).fill(0), ...right];
  } else {
    const all = parseGroups(head);
    if (!all || all.length !== maxGroups) return undefined;
    groups = all;
  }
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  if (tail4) out.set(tail4, 12);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Names (RFC 5280 4.1.2.4) -> RFC 4514 strings
// ---------------------------------------------------------------------------------------------

/** RFC 4514 3 short names, plus the two PKCS#9/RFC 4519 names openssl prints. */
const ATTRIBUTE_NAMES: Record<string, string> = {
  '2.5.4.3': 'CN',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '2.5.4.6': 'C',
  '2.5.4.8': 'ST',
  '2.5.4.7': 'L',
  '2.5.4.9': 'STREET',
  '0.9.2342.19200300.100.1.25': 'DC',
  '0.9.2342.19200300.100.1.1': 'UID',
  '2.5.4.5': 'serialNumber',
  '1.2.840.113549.1.9.1': 'emailAddress',
};

const UTF8 = new TextDecoder('utf-8', { fatal: true });
const UTF16LE = new TextDecoder('utf-16le', { fatal: true });

/** Decodes a directory string value, or returns undefined for a value that is not a string type. */
function decodeDirectoryString(buf: Uint8Array, t: Tlv): string | undefined {
  const v = buf.subarray(t.valueStart, t.end);
  switch (t.tag) {
    case TAG.UTF8_STRING:
      return UTF8.decode(v);
    case TAG.PRINTABLE_STRING:
    case TAG.IA5_STRING:
    case TAG.NUMERIC_STRING:
    case TAG.VISIBLE_STRING:
      for (let i = 0; i < v.length; i++) if (v[i] > 0x7f) throw new Error('non-ASCII octet in an ASCII string type');
      return Buffer.from(v.buffer, v.byteOffset, v.length).toString('latin1');
    case TAG.TELETEX_STRING:
      // T.61 in practice carries Latin-1; every major toolkit decodes it that way.
      return Buffer.from(v.buffer, v.byteOffset, v.length).toString('latin1');
    case TAG.BMP_STRING: {
      if (v.length % 2 !== 0) throw new Error('BMPString with an odd length');
      const swapped = Buffer.from(v);
      swapped.swap16();
      return UTF16LE.decode(swapped);
    }
    case TAG.UNIVERSAL_STRING: {
      if (v.length % 4 !== 0) throw new Error('UniversalString length is not a multiple of 4');
      let s = '';
      for (let i = 0; i < v.length; i += 4) {
        const cp = ((v[i] << 24) | (v[i + 1] << 16) | (v[i + 2] << 8) | v[i + 3]) >>> 0;
        if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) throw new Error('invalid character in UniversalString');
        s += String.fromCodePoint(cp);
      }
      return s;
    }
    default:
      return undefined;
  }
}

/**
 * RFC 4514 2.4 escaping: the special characters with a backslash, a leading space or '#' and a
 * trailing space, and control characters (including NUL) as \XX hex pairs, as openssl does.
 */
function escapeRfc4514(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    const code = s.charCodeAt(i);
    if (c === '"' || c === '+' || c === ',' || c === ';' || c === '<' || c === '>' || c === '\\') {
      out += `\\${c}`;
    } else if (code < 0x20 || code === 0x7f) {
      out += `\\${code.toString(16).toUpperCase().padStart(2, '0')}`;
    } else if ((i === 0 && (c === ' ' || c === '#')) || (i === s.length - 1 && c === ' ')) {
      out += `\\${c}`;
    } else {
      out += c;
    }
  }
  return out;
}

/**
 * Renders a Name as an RFC 4514 string, last RDN first (as `openssl -nameopt RFC2253` prints it).
 * Attribute types outside the short-name table, and values that are not strings, are rendered as
 * dotted OID and `#` followed by the hex of the value's whole DER (RFC 4514 2.3, 2.4).
 */
export function nameToString(nameDer: Uint8Array): string {
  const t = expectTlv(nameDer, 0, TAG.SEQUENCE, nameDer.length, 'Name');
  if (t.end !== nameDer.length) throw new Error('Name: trailing bytes');
  return describeName(nameDer, t).subject;
}

function describeName(buf: Uint8Array, name: Tlv): { subject: string; commonName?: string } {
  const rdns: string[] = [];
  let commonName: string | undefined;
  // Name ::= SEQUENCE OF RelativeDistinguishedName; RDN ::= SET SIZE (1..MAX) OF AttributeTypeAndValue
  for (const rdn of readChildren(buf, name)) {
    if (rdn.tag !== TAG.SET) throw new Error('Name: expected a SET for each RDN');
    const avas = readChildren(buf, rdn);
    if (avas.length === 0) throw new Error('Name: empty RDN');
    const parts: string[] = [];
    for (const ava of avas) {
      if (ava.tag !== TAG.SEQUENCE) throw new Error('Name: expected AttributeTypeAndValue SEQUENCE');
      const { oid, tlv: typeTlv } = readOid(buf, ava.valueStart, ava.end, 'attribute type');
      const valueTlv = readTlv(buf, typeTlv.end, ava.end);
      if (valueTlv.end !== ava.end) throw new Error('Name: trailing bytes in AttributeTypeAndValue');
      const short = ATTRIBUTE_NAMES[oid];
      const text = decodeDirectoryString(buf, valueTlv);
      if (oid === '2.5.4.3' && commonName === undefined && text !== undefined) commonName = text;
      if (short && text !== undefined) {
        parts.push(`${short}=${escapeRfc4514(text)}`);
      } else {
        const hex = Buffer.from(buf.buffer, buf.byteOffset + valueTlv.start, valueTlv.end - valueTlv.start).toString('hex').toUpperCase();
        parts.push(`${short ?? oid}=#${hex}`);
      }
    }
    // openssl reverses the attributes inside a multi-valued RDN as well; RFC 4514 2.2 leaves their
    // order open, so we follow openssl to keep the two strings comparable.
    rdns.push(parts.reverse().join('+'));
  }
  return { subject: rdns.reverse().join(','), ...(commonName !== undefined ? { commonName } : {}) };
}
