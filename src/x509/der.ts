/**
 * A minimal, strict DER (X.690) reader and a few writer helpers for the issuance hot path.
 *
 * The generic ASN.1 libraries build an object tree for every certificate and CSR, which costs about
 * a millisecond each; the structures we need are small and fixed, so we walk them by offset instead.
 *
 * The reader accepts DER only (X.690 section 10): definite lengths in their shortest form, low tag
 * numbers, no truncation. It throws a plain `Error` with a short, user-safe message; callers wrap it
 * in the CaError that fits their step.
 */

/** Universal and context-specific tags used by X.509 and PKCS#10. */
export const TAG = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8_STRING: 0x0c,
  NUMERIC_STRING: 0x12,
  PRINTABLE_STRING: 0x13,
  TELETEX_STRING: 0x14,
  IA5_STRING: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  VISIBLE_STRING: 0x1a,
  UNIVERSAL_STRING: 0x1c,
  BMP_STRING: 0x1e,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

/** One element, located by offsets into the buffer it was read from (nothing is copied). */
export interface Tlv {
  /** The identifier octet (class, constructed bit and tag number). */
  tag: number;
  /** Offset of the identifier octet. */
  start: number;
  /** Offset of the first content octet. */
  valueStart: number;
  /** Offset one past the last content octet: the start of whatever follows. */
  end: number;
}

// ---------------------------------------------------------------------------------------------
// Reader
// ---------------------------------------------------------------------------------------------

/**
 * Reads the element that starts at `offset` and must end at or before `limit`.
 * Rejects the indefinite form and non-minimal lengths (X.690 10.1), high tag numbers (never used by
 * the structures we read) and lengths beyond 2^32-1.
 */
export function readTlv(buf: Uint8Array, offset: number, limit: number = buf.length): Tlv {
  if (offset >= limit) throw new Error('truncated DER: expected an element');
  const tag = buf[offset];
  if ((tag & 0x1f) === 0x1f) throw new Error('unsupported DER: high tag number');
  let p = offset + 1;
  if (p >= limit) throw new Error('truncated DER: missing length');
  const first = buf[p++];
  let length: number;
  if (first < 0x80) {
    length = first;
  } else if (first === 0x80) {
    throw new Error('not DER: indefinite length');
  } else {
    const n = first & 0x7f;
    if (n > 4) throw new Error('unsupported DER: length too large');
    if (p + n > limit) throw new Error('truncated DER: length octets');
    if (buf[p] === 0) throw new Error('not DER: length has a leading zero octet');
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + buf[p++];
    if (length < 0x80) throw new Error('not DER: long-form length below 128');
  }
  const end = p + length;
  if (end > limit) throw new Error('truncated DER: content runs past its container');
  return { tag, start: offset, valueStart: p, end };
}

/** Like `readTlv`, and checks the tag. `what` names the element in the error message. */
export function expectTlv(buf: Uint8Array, offset: number, tag: number, limit: number, what: string): Tlv {
  const t = readTlv(buf, offset, limit);
  if (t.tag !== tag) {
    throw new Error(`${what}: expected tag 0x${hex2(tag)}, found 0x${hex2(t.tag)}`);
  }
  return t;
}

/** Reads the whole content of a constructed element as a list of elements that exactly fill it. */
export function readChildren(buf: Uint8Array, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  let p = parent.valueStart;
  while (p < parent.end) {
    const t = readTlv(buf, p, parent.end);
    out.push(t);
    p = t.end;
  }
  return out;
}

/** The content octets of an element, as a view (no copy). */
export function valueOf(buf: Uint8Array, t: Tlv): Uint8Array {
  return buf.subarray(t.valueStart, t.end);
}

/** The whole element (identifier, length and content), as a view (no copy). */
export function bytesOf(buf: Uint8Array, t: Tlv): Uint8Array {
  return buf.subarray(t.start, t.end);
}

/**
 * Decodes an OBJECT IDENTIFIER's content octets to dotted form (X.690 8.19). Rejects empty content,
 * subidentifiers with a leading 0x80 octet (not minimal) and a last octet with its high bit set.
 * Arcs beyond 2^53 (UUID-based 2.25.x OIDs) are decoded exactly with BigInt.
 */
export function decodeOid(buf: Uint8Array, start: number, end: number): string {
  if (end <= start) throw new Error('malformed OID: empty');
  if ((buf[end - 1] & 0x80) !== 0) throw new Error('malformed OID: truncated subidentifier');
  const arcs: string[] = [];
  let p = start;
  let firstArc = true;
  while (p < end) {
    if (buf[p] === 0x80) throw new Error('malformed OID: non-minimal subidentifier');
    let v = 0;
    let big: bigint | undefined;
    for (;;) {
      const b = buf[p++];
      if (big !== undefined) {
        big = (big << 7n) | BigInt(b & 0x7f);
      } else if (v > 0x3fffffffffff) {
        // v * 128 would lose precision: continue in BigInt.
        big = (BigInt(v) << 7n) | BigInt(b & 0x7f);
      } else {
        v = v * 128 + (b & 0x7f);
      }
      if ((b & 0x80) === 0) break;
    }
    if (firstArc) {
      // The first subidentifier packs two arcs: 40 * X + Y, with X in 0..2 (X.690 8.19.4).
      firstArc = false;
      if (big !== undefined) {
        arcs.push('2', (big - 80n).toString());
      } else if (v < 40) {
        arcs.push('0', String(v));
      } else if (v < 80) {
        arcs.push('1', String(v - 40));
      } else {
        arcs.push('2', String(v - 80));
      }
    } else {
      arcs.push(big !== undefined ? big.toString() : String(v));
    }
  }
  return arcs.join('.');
}

/** Reads an OBJECT IDENTIFIER element at `offset` and returns it in dotted form with its Tlv. */
export function readOid(buf: Uint8Array, offset: number, limit: number, what: string): { oid: string; tlv: Tlv } {
  const tlv = expectTlv(buf, offset, TAG.OID, limit, what);
  return { oid: decodeOid(buf, tlv.valueStart, tlv.end), tlv };
}

/**
 * Checks that an INTEGER's content is minimal (X.690 8.3.2) and returns its magnitude octets
 * without the sign octet. Throws for negative values, which none of our fields allow.
 */
export function unsignedIntegerValue(buf: Uint8Array, t: Tlv, what: string): Uint8Array {
  if (t.tag !== TAG.INTEGER) throw new Error(`${what}: expected INTEGER`);
  const len = t.end - t.valueStart;
  if (len === 0) throw new Error(`${what}: empty INTEGER`);
  const b0 = buf[t.valueStart];
  if (len > 1) {
    const b1 = buf[t.valueStart + 1];
    if ((b0 === 0x00 && (b1 & 0x80) === 0) || (b0 === 0xff && (b1 & 0x80) !== 0)) {
      throw new Error(`${what}: INTEGER not minimally encoded`);
    }
  }
  if ((b0 & 0x80) !== 0) throw new Error(`${what}: negative INTEGER`);
  return b0 === 0 && len > 1 ? buf.subarray(t.valueStart + 1, t.end) : buf.subarray(t.valueStart, t.end);
}

/** Bit length of an unsigned big-endian magnitude (for RSA moduli). */
export function bitLength(magnitude: Uint8Array): number {
  let i = 0;
  while (i < magnitude.length && magnitude[i] === 0) i++;
  if (i === magnitude.length) return 0;
  return (magnitude.length - i - 1) * 8 + (32 - Math.clz32(magnitude[i]));
}

// ---------------------------------------------------------------------------------------------
// Writer
// ---------------------------------------------------------------------------------------------

/** Number of octets that the length field for `n` content octets takes. */
export function lengthSize(n: number): number {
  if (n < 0x80) return 1;
  if (n < 0x100) return 2;
  if (n < 0x10000) return 3;
  if (n < 0x1000000) return 4;
  return 5;
}

/** Size of a whole element whose content is `n` octets (one identifier octet). */
export function tlvSize(n: number): number {
  return 1 + lengthSize(n) + n;
}

/** Writes an identifier octet and a minimal definite length at `offset`; returns the offset after it. */
export function writeHeader(out: Uint8Array, offset: number, tag: number, n: number): number {
  out[offset++] = tag;
  if (n < 0x80) {
    out[offset++] = n;
  } else if (n < 0x100) {
    out[offset++] = 0x81;
    out[offset++] = n;
  } else if (n < 0x10000) {
    out[offset++] = 0x82;
    out[offset++] = n >>> 8;
    out[offset++] = n & 0xff;
  } else if (n < 0x1000000) {
    out[offset++] = 0x83;
    out[offset++] = n >>> 16;
    out[offset++] = (n >>> 8) & 0xff;
    out[offset++] = n & 0xff;
  } else {
    out[offset++] = 0x84;
    out[offset++] = n >>> 24;
    out[offset++] = (n >>> 16) & 0xff;
    out[offset++] = (n >>> 8) & 0xff;
    out[offset++] = n & 0xff;
  }
  return offset;
}

/** The DER length field for `n` content octets (short form below 128, else minimal long form). */
export function encodeLength(n: number): Uint8Array {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new Error(`invalid DER length ${n}`);
  const size = lengthSize(n);
  const out = Buffer.allocUnsafe(size);
  if (size === 1) {
    out[0] = n;
  } else {
    const k = size - 1;
    out[0] = 0x80 | k;
    for (let i = 0; i < k; i++) out[1 + i] = Math.floor(n / 2 ** (8 * (k - 1 - i))) & 0xff;
  }
  return out;
}

/** An element with the given identifier octet whose content is the concatenation of `parts`. */
export function tlv(tag: number, ...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = Buffer.allocUnsafe(tlvSize(n));
  let o = writeHeader(out, 0, tag, n);
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export const sequence = (...parts: Uint8Array[]): Uint8Array => tlv(TAG.SEQUENCE, ...parts);
export const set = (...parts: Uint8Array[]): Uint8Array => tlv(TAG.SET, ...parts);
export const octetString = (content: Uint8Array): Uint8Array => tlv(TAG.OCTET_STRING, content);

/** BIT STRING with `unusedBits` (0..7) padding bits in the last octet (X.690 8.6.2). */
export function bitString(content: Uint8Array, unusedBits = 0): Uint8Array {
  if (!Number.isInteger(unusedBits) || unusedBits < 0 || unusedBits > 7) throw new Error('invalid unused bit count');
  if (unusedBits !== 0 && content.length === 0) throw new Error('empty BIT STRING cannot have unused bits');
  return tlv(TAG.BIT_STRING, Uint8Array.of(unusedBits), content);
}

const DER_TRUE = Uint8Array.of(TAG.BOOLEAN, 1, 0xff);
const DER_FALSE = Uint8Array.of(TAG.BOOLEAN, 1, 0x00);
/** BOOLEAN; DER encodes TRUE as 0xFF (X.690 11.1). */
export const boolean = (v: boolean): Uint8Array => (v ? DER_TRUE : DER_FALSE).slice();

/** NULL (05 00). */
export const nullDer = (): Uint8Array => Uint8Array.of(TAG.NULL, 0);

/**
 * INTEGER from an unsigned big-endian magnitude: strips redundant leading zeros and prepends 0x00
 * when the high bit is set so that the value stays positive (X.690 8.3).
 */
export function integerFromUnsigned(magnitude: Uint8Array): Uint8Array {
  let i = 0;
  while (i < magnitude.length - 1 && magnitude[i] === 0) i++;
  const m = magnitude.length === 0 ? Uint8Array.of(0) : magnitude.subarray(i);
  return (m[0] & 0x80) !== 0 ? tlv(TAG.INTEGER, Uint8Array.of(0), m) : tlv(TAG.INTEGER, m);
}

/** INTEGER from a small non-negative JavaScript integer (version numbers, pathLenConstraint). */
export function integer(n: number): Uint8Array {
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`integer: ${n} is not a non-negative safe integer`);
  const bytes: number[] = [];
  let v = n;
  do {
    bytes.unshift(v % 256);
    v = Math.floor(v / 256);
  } while (v > 0);
  return integerFromUnsigned(Uint8Array.from(bytes));
}

/** OBJECT IDENTIFIER from dotted form (X.690 8.19). */
export function oid(dotted: string): Uint8Array {
  if (!/^[0-2](\.(0|[1-9][0-9]*))+$/.test(dotted)) throw new Error(`invalid OID "${dotted}"`);
  const arcs = dotted.split('.').map((a) => BigInt(a));
  if (arcs[0] < 2n && arcs[1] > 39n) throw new Error(`invalid OID "${dotted}": second arc must be below 40`);
  const subids = [arcs[0] * 40n + arcs[1], ...arcs.slice(2)];
  const content: number[] = [];
  for (const s of subids) {
    const group: number[] = [Number(s & 0x7fn)];
    let v = s >> 7n;
    while (v > 0n) {
      group.unshift(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    content.push(...group);
  }
  return tlv(TAG.OID, Uint8Array.from(content));
}

// ---------------------------------------------------------------------------------------------
// Time (RFC 5280 section 4.1.2.5)
// ---------------------------------------------------------------------------------------------

/**
 * Size of the Time element for `d`: UTCTime YYMMDDHHMMSSZ (15 octets) for years 1950 through 2049,
 * GeneralizedTime YYYYMMDDHHMMSSZ (17 octets) otherwise (RFC 5280 4.1.2.5.1, 4.1.2.5.2).
 */
export function timeSize(d: Date): number {
  const y = d.getUTCFullYear();
  return y >= 1950 && y <= 2049 ? 15 : 17;
}

/**
 * Writes the Time element for `d` at `offset` and returns the offset after it. Always UTC ("Z") and
 * always with seconds; milliseconds are dropped because RFC 5280 forbids fractional seconds.
 */
export function writeTime(out: Uint8Array, offset: number, d: Date): number {
  const y = d.getUTCFullYear();
  return writeTimeAs(out, offset, d, !(y >= 1950 && y <= 2049));
}

/** UTCTime (YYMMDDHHMMSSZ) or GeneralizedTime (YYYYMMDDHHMMSSZ) for `d` at `offset`. */
function writeTimeAs(out: Uint8Array, offset: number, d: Date, generalized: boolean): number {
  if (!Number.isFinite(d.getTime())) throw new Error('invalid date');
  const y = d.getUTCFullYear();
  if (y < 0 || y > 9999) throw new Error(`year ${y} cannot be encoded in a certificate`);
  let o = offset;
  if (generalized) {
    out[o++] = TAG.GENERALIZED_TIME;
    out[o++] = 15;
    o = put2(out, o, Math.floor(y / 100));
  } else {
    out[o++] = TAG.UTC_TIME;
    out[o++] = 13;
  }
  o = put2(out, o, y % 100);
  o = put2(out, o, d.getUTCMonth() + 1);
  o = put2(out, o, d.getUTCDate());
  o = put2(out, o, d.getUTCHours());
  o = put2(out, o, d.getUTCMinutes());
  o = put2(out, o, d.getUTCSeconds());
  out[o++] = 0x5a; // 'Z'
  return o;
}

/** The Time element for `d` (UTCTime or GeneralizedTime as RFC 5280 requires). */
export function time(d: Date): Uint8Array {
  const out = Buffer.allocUnsafe(timeSize(d));
  writeTime(out, 0, d);
  return out;
}

/** UTCTime for `d`; throws outside 1950..2049, the only years UTCTime can carry under RFC 5280. */
export function utcTime(d: Date): Uint8Array {
  const y = d.getUTCFullYear();
  if (!(y >= 1950 && y <= 2049)) throw new Error(`UTCTime cannot carry year ${y}`);
  return time(d);
}

/** GeneralizedTime for `d`, whatever the year (RFC 5280 wants UTCTime before 2050; see `time`; OCSP uses this). */
export function generalizedTime(d: Date): Uint8Array {
  const out = Buffer.allocUnsafe(17);
  writeTimeAs(out, 0, d, true);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Signed structures (Certificate, CertificateList, BasicOCSPResponse)
// ---------------------------------------------------------------------------------------------

/** Size of `signatureAlgorithm AlgorithmIdentifier, signature BIT STRING` after a signed structure's TBS. */
export const signatureFieldsSize = (sigAlg: Uint8Array, signature: Uint8Array): number => sigAlg.length + tlvSize(signature.length + 1);

/** Writes the signature AlgorithmIdentifier and the signature as a BIT STRING with no unused bits; returns the offset after. */
export function writeSignatureFields(out: Uint8Array, offset: number, sigAlg: Uint8Array, signature: Uint8Array): number {
  out.set(sigAlg, offset);
  let o = writeHeader(out, offset + sigAlg.length, TAG.BIT_STRING, signature.length + 1);
  out[o++] = 0;
  out.set(signature, o);
  return o + signature.length;
}

function put2(out: Uint8Array, o: number, v: number): number {
  out[o] = 0x30 + ((v / 10) | 0);
  out[o + 1] = 0x30 + (v % 10);
  return o + 2;
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0');
}
