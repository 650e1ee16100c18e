/**
 * SubjectPublicKeyInfo (RFC 5280 4.1.2.7, RFC 3279 2.3, RFC 5480) and AlgorithmIdentifiers: which
 * keys the service issues for, how they are imported cheaply, and the key identifiers derived from
 * them.
 */
import { createHash, createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { invalid } from '../domain/ca-error.ts';
import { TAG, bitLength, decodeOid, expectTlv, readChildren, readTlv, unsignedIntegerValue, type Tlv } from './der.ts';
import { CURVE_NAMES, OID, REFUSED_ALGORITHM_NAMES, SUPPORTED_CURVES } from './oids.ts';

/** A subject key as far as issuance and policy care. */
export type PublicKeyInfo = { family: 'EC'; curve: 'P-256' | 'P-384' | 'P-521' } | { family: 'RSA'; bits: number };

const MIN_RSA_BITS = 2048;
const MAX_RSA_BITS = 8192;

/** A name for an algorithm OID in error messages. */
export function algorithmName(oid: string, known: Readonly<Record<string, { name: string }>> = {}): string {
  const name = REFUSED_ALGORITHM_NAMES[oid] ?? known[oid]?.name;
  return name ? `${name} (${oid})` : oid;
}

/**
 * AlgorithmIdentifier ::= SEQUENCE { algorithm OID, parameters ANY OPTIONAL }.
 * For the signature algorithms we accept, parameters must be absent (RFC 5758 3.2) or NULL (RFC 4055
 * 5); we tolerate either for both families, since the signature check is ours and not affected.
 */
export function readAlgorithmIdentifier(buf: Uint8Array, t: Tlv, what: string): { oid: string; params?: Tlv; paramsOk: boolean } {
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
export function readBitStringBytes(buf: Uint8Array, t: Tlv, what: string): Uint8Array {
  if (t.tag !== TAG.BIT_STRING) throw new Error(`${what}: expected BIT STRING`);
  if (t.end === t.valueStart) throw new Error(`${what}: empty BIT STRING`);
  if (buf[t.valueStart] !== 0) throw new Error(`${what}: BIT STRING must have no unused bits`);
  return buf.subarray(t.valueStart + 1, t.end);
}

/**
 * Identifies the key from the SPKI's AlgorithmIdentifier before node:crypto sees it, so that a key we
 * do not issue for is reported as unsupported_key rather than as whatever OpenSSL makes of it.
 * Returns a JWK where importing through it is cheaper than through the SPKI (see importPublicKey).
 */
export function readSubjectPublicKeyInfo(buf: Uint8Array, spki: Tlv): { info: PublicKeyInfo; jwk?: JsonWebKey } {
  const parts = readChildren(buf, spki);
  if (parts.length !== 2) throw new Error('subjectPKInfo must have exactly two fields');
  const alg = readAlgorithmIdentifier(buf, parts[0], 'subjectPKInfo.algorithm');
  const keyBytes = readBitStringBytes(buf, parts[1], 'subjectPublicKey');

  if (alg.oid === OID.rsaEncryption) {
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

  if (alg.oid === OID.ecPublicKey) {
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
    const info: PublicKeyInfo = { family: 'EC', curve: curve.curve };
    if (curve.curve !== 'P-256') return { info };
    const n = curve.coordinateBytes;
    return { info, jwk: { kty: 'EC', crv: curve.curve, x: b64url(keyBytes.subarray(1, 1 + n)), y: b64url(keyBytes.subarray(1 + n)) } };
  }

  throw invalid('unsupported_key', `key algorithm ${algorithmName(alg.oid)} is not supported; use RSA (2048 to 8192 bits) or EC P-256, P-384 or P-521`);
}

/**
 * A KeyObject for an SPKI, through its JWK where that is cheaper: OpenSSL 3's SPKI decoder costs
 * 110-170 µs per key, the JWK path about 5 µs for RSA and about 85 µs for P-256 (it checks the point
 * against the curve order, which is slow on the curves without optimised code, P-384 and P-521).
 */
export function importPublicKey(spkiDer: Uint8Array, jwk: JsonWebKey | undefined): KeyObject {
  return jwk
    ? createPublicKey({ key: jwk, format: 'jwk' })
    : createPublicKey({ key: Buffer.from(spkiDer.buffer, spkiDer.byteOffset, spkiDer.length), format: 'der', type: 'spki' });
}

/** The subjectPublicKey BIT STRING value of an SPKI, after its unused-bits octet. */
export function subjectPublicKeyBits(spki: Uint8Array, expectedAlgOidDer?: Uint8Array): Uint8Array {
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

/** RFC 5280 4.2.1.2 method 1: the SHA-1 of the subjectPublicKey bits, 20 octets. */
export const keyIdentifier = (subjectPublicKey: Uint8Array): Buffer => createHash('sha1').update(subjectPublicKey).digest();

/** The key family named by an SPKI's algorithm OID. */
export function keyFamilyOf(spki: Uint8Array): 'EC' | 'RSA' | 'other' {
  const algSeq = expectTlv(spki, readTlv(spki, 0).valueStart, TAG.SEQUENCE, spki.length, 'SPKI algorithm');
  const algOid = expectTlv(spki, algSeq.valueStart, TAG.OID, algSeq.end, 'SPKI algorithm OID');
  const name = decodeOid(spki, algOid.valueStart, algOid.end);
  return name === OID.rsaEncryption ? 'RSA' : name === OID.ecPublicKey ? 'EC' : 'other';
}

function b64url(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.length).toString('base64url');
}
