/**
 * PKCS#10 (RFC 2986) certificate request parsing and verification on the issuance hot path.
 *
 * Walks the DER by offset (see der.ts) instead of building an ASN.1 object tree, checks the CSR's own
 * signature with node:crypto on libuv's thread pool, and hands back the exact DER pieces (subject
 * Name, SubjectPublicKeyInfo, SAN GeneralNames) that the certificate encoder copies verbatim.
 */
import { verify, type KeyObject } from 'node:crypto';
import { CaError, invalid } from '../domain/ca-error.ts';
import { TAG, decodeOid, expectTlv, readChildren, type Tlv } from './der.ts';
import { readGeneralNames, type SubjectAltName } from './general-name.ts';
import { describeName } from './name.ts';
import { OID } from './oids.ts';
import { decodePem, PemError } from './pem.ts';
import { algorithmName, importPublicKey, readAlgorithmIdentifier, readBitStringBytes, readSubjectPublicKeyInfo, type PublicKeyInfo } from './public-key.ts';

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
  key: PublicKeyInfo;
  /** From the extensionRequest's subjectAltName extension, in order; empty without one. */
  subjectAltNames: SubjectAltName[];
  /** DER of the GeneralNames SEQUENCE of the requested subjectAltName extension, when present. */
  sanDer?: Uint8Array;
  /** The CSR's signature AlgorithmIdentifier OID. */
  signatureAlgorithmOid: string;
}

/** A PEM CSR is never this large; refusing early bounds the work a caller can make us do. */
const MAX_CSR_DER_BYTES = 64 * 1024;
const CSR_LABELS = ['CERTIFICATE REQUEST', 'NEW CERTIFICATE REQUEST'];

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

/** One PEM block with a CERTIFICATE REQUEST (or the legacy NEW CERTIFICATE REQUEST) label. */
function pemToDer(text: string): Uint8Array {
  if (text.length > MAX_CSR_DER_BYTES * 2) throw invalid('invalid_csr', 'the CSR is too large');
  let blocks;
  try {
    blocks = decodePem(text);
  } catch (e) {
    if (e instanceof PemError) throw invalid('invalid_csr', e.message === 'not PEM' ? 'expected one PEM block labelled CERTIFICATE REQUEST' : e.message);
    throw e;
  }
  if (blocks.length !== 1 || !CSR_LABELS.includes(blocks[0]!.label)) {
    throw invalid('invalid_csr', 'expected one PEM block labelled CERTIFICATE REQUEST');
  }
  const der = blocks[0]!.der;
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
    throw invalid('invalid_csr', `unsupported CSR signature algorithm ${algorithmName(sigAlgOid.oid, CSR_SIGNATURE_ALGORITHMS)}; use ECDSA or RSA PKCS#1 v1.5 with SHA-256, SHA-384 or SHA-512`);
  }
  if (!sigAlgOid.paramsOk) throw new Error('signatureAlgorithm has unexpected parameters');

  const { info: key, jwk } = readSubjectPublicKeyInfo(der, spkiTlv);
  if (key.family !== sigAlg.family) {
    throw invalid('invalid_csr', `the CSR is signed with ${sigAlg.name}, which does not fit its ${key.family} key`);
  }

  let subjectAltNames: SubjectAltName[] = [];
  let sanDer: Uint8Array | undefined;
  const sanValue = extensions.get(OID.subjectAltName);
  if (sanValue) {
    const gn = expectTlv(der, sanValue.valueStart, TAG.SEQUENCE, sanValue.end, 'subjectAltName');
    if (gn.end !== sanValue.end) throw new Error('subjectAltName: trailing bytes in the extension value');
    subjectAltNames = readGeneralNames(der, gn);
    sanDer = der.subarray(gn.start, gn.end);
  }

  const spkiDer = der.subarray(spkiTlv.start, spkiTlv.end);
  let publicKey: KeyObject;
  try {
    publicKey = importPublicKey(spkiDer, jwk);
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
    if (type !== OID.extensionRequest) continue;
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
