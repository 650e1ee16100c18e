/**
 * Lean DER encoding of X.509 v2 CRLs (RFC 5280 section 5) for CRLs of millions of entries.
 *
 * The generic ASN.1 libraries build an object tree for every revoked certificate, which does not fit
 * the budget of a million entries in well under 3 s and 200 MB. Here each entry is written straight
 * into bytes as it arrives (from a database cursor, say), with no object per entry. A large CRL is
 * then kept in pieces (encodeTbsCertListPieces, assembleCrlPieces: head, the writer's own chunks,
 * tail), signed and stored as pieces and never joined; encodeTbsCertList and assembleCrl build the
 * same bytes in one allocation for callers that want them whole.
 *
 * CRL layout (RFC 5280 5.1):
 *   CertificateList ::= SEQUENCE { tbsCertList, signatureAlgorithm, signatureValue BIT STRING }
 *   TBSCertList ::= SEQUENCE { version v2, signature, issuer, thisUpdate, nextUpdate,
 *                              revokedCertificates SEQUENCE OF SEQUENCE {
 *                                userCertificate, revocationDate, crlEntryExtensions OPTIONAL } OPTIONAL,
 *                              crlExtensions [0] EXPLICIT Extensions }
 */
import { SIGNING_ALGORITHM_INFO, type SigningAlgorithm } from '../domain/key-algorithm.ts';
import { REVOCATION_REASONS, type RevocationReason } from '../domain/revocation-reason.ts';
import { TAG, readTlv, signatureFieldsSize, timeSize, tlv, tlvSize, writeHeader, writeSignatureFields, writeTime } from './der.ts';
import { extension, issuingDistributionPointExtension } from './extensions.ts';
import { readIssuerCertificate, signatureAlgorithmFor, type IssuerCertificate } from './issuer.ts';
import { OID } from './oids.ts';

/** version Version ::= INTEGER { v2(1) } (RFC 5280 5.1.2.1: MUST be present when extensions are used). */
const VERSION_V2 = Uint8Array.of(TAG.INTEGER, 0x01, 0x01);

/**
 * crlEntryExtensions holding only a reasonCode (2.5.29.21, non-critical), up to its last octet, the
 * ENUMERATED value: SEQUENCE { SEQUENCE { OID, OCTET STRING { ENUMERATED code } } } (RFC 5280 5.3.1).
 */
const REASON_EXTS_PREFIX = Uint8Array.of(0x30, 0x0c, 0x30, 0x0a, 0x06, 0x03, 0x55, 0x1d, 0x15, 0x04, 0x03, 0x0a, 0x01);
const REASON_EXTS_SIZE = REASON_EXTS_PREFIX.length + 1;

/** Own-property lookup, so that 'toString' and the like are not reasons. */
const REASON_CODES: ReadonlyMap<string, number> = new Map(Object.entries(REVOCATION_REASONS));

/** Hex digit value by char code, -1 for anything else. */
const HEX_VALUE = (() => {
  const t = new Int8Array(128).fill(-1);
  for (let i = 0; i < 10; i++) t[0x30 + i] = i;
  for (let i = 0; i < 6; i++) {
    t[0x41 + i] = 10 + i;
    t[0x61 + i] = 10 + i;
  }
  return t;
})();

/** Largest serial we accept: 20 octets of magnitude (RFC 5280 4.1.2.2). */
const MAX_SERIAL_HEX_DIGITS = 40;
/** The largest entry: SEQUENCE header, INTEGER of 21 octets, GeneralizedTime, reasonCode. */
const MAX_ENTRY_SIZE = 2 + 2 + 21 + 17 + REASON_EXTS_SIZE;
const FIRST_CHUNK = 64 * 1024;
const LARGEST_CHUNK = 1024 * 1024;
/** DER lengths here are written in at most four octets; leave room for the TBSCertList around the entries. */
const MAX_ENTRIES_BYTES = 0xffffffff - 64 * 1024;

/** Everything about a CA that every one of its CRLs repeats. Treat as opaque. */
export interface CrlIssuer {
  readonly kind: 'crl-issuer';
  readonly signingAlgorithm: SigningAlgorithm;
  /** The CA certificate's subject Name DER, verbatim: the CRL's issuer. */
  readonly issuerNameDer: Uint8Array;
  /** The CA certificate's subjectKeyIdentifier, else SHA-1 of its subjectPublicKey (RFC 5280 4.2.1.2). */
  readonly authorityKeyIdentifier: Uint8Array;
  /** @internal signature AlgorithmIdentifier. */
  readonly sigAlgDer: Uint8Array;
  /** @internal version, signature and issuer: the fixed start of every TBSCertList of this CA. */
  readonly tbsHead: Uint8Array;
  /** @internal Whole authorityKeyIdentifier Extension (keyIdentifier only, non-critical). */
  readonly akiExtDer: Uint8Array;
}

/**
 * Reads the issuer Name and key identifier from the CA certificate (DER, or as readIssuerCertificate
 * read it) and encodes the signature AlgorithmIdentifier once. Throws when the certificate is not a
 * CA certificate or when the signing algorithm does not fit its key (a CaError `signing_algorithm_mismatch`).
 */
export function prepareCrlIssuer(caCert: Uint8Array | IssuerCertificate, signingAlgorithm: SigningAlgorithm): CrlIssuer {
  // The CRL's issuer, AKI and signature AlgorithmIdentifier are exactly those the CA puts into the
  // certificates it issues: both come from the one reading of the CA certificate in issuer.ts.
  const ca = caCert instanceof Uint8Array ? readIssuerCertificate(caCert) : caCert;
  const sigAlgDer = signatureAlgorithmFor(ca, signingAlgorithm);
  return {
    kind: 'crl-issuer',
    signingAlgorithm,
    issuerNameDer: ca.subjectDer,
    authorityKeyIdentifier: ca.keyIdentifier,
    sigAlgDer,
    tbsHead: Buffer.concat([VERSION_V2, sigAlgDer, ca.subjectDer]),
    akiExtDer: ca.akiExtDer,
  };
}

/** Copies a writer's encoded entries into a buffer, for encodeTbsCertList only. */
const COPY_ENTRIES = Symbol('copyEntries');

/**
 * Encodes revokedCertificates entries (RFC 5280 5.1.2.6) one by one, in call order, straight into
 * bytes. Each `add` either appends one whole entry or throws and leaves the writer unchanged.
 *
 * The bytes live in chunks that double in size (64 KiB up to 1 MiB) and are never copied as the
 * writer grows: a single doubling buffer would copy (and page in) about as many bytes again as
 * the entries hold, which at a million entries is a fifth of the build time. An entry never spans
 * two chunks; encodeTbsCertListPieces hands the chunks out as they are, encodeTbsCertList copies
 * them once into the TBSCertList.
 */
export class RevokedEntriesWriter {
  /** Full chunks and the number of bytes used in each. */
  readonly #done: Buffer[] = [];
  readonly #doneLengths: number[] = [];
  #chunk: Buffer = Buffer.allocUnsafe(FIRST_CHUNK);
  /** Bytes used in #chunk. */
  #used = 0;
  /** Bytes used in #done. */
  #doneBytes = 0;
  #count = 0;
  /** Chunks of #done already handed out by takeCompleted. */
  #taken = 0;
  /** Whether takeCompleted lets go of the chunks it hands out. */
  readonly #releaseTaken: boolean;

  /**
   * With `releaseTaken`, the writer keeps no reference to the chunks that takeCompleted hands out:
   * the caller stores them and reads them back when it needs them, so a million entries never sit in
   * memory at once; chunks() then gives only the chunks not handed out.
   */
  constructor(options: { releaseTaken?: boolean } = {}) {
    this.#releaseTaken = options.releaseTaken ?? false;
  }

  /**
   * Appends one entry. `serialHex` is the serial's positive magnitude in hex (even length, at most 40
   * digits; leading zero octets are dropped). The reasonCode entry extension is omitted for
   * UNSPECIFIED, as RFC 5280 5.3.1 recommends. Fractional seconds of `revokedAt` are dropped.
   */
  add(serialHex: string, revokedAt: Date, reason: RevocationReason): void {
    const code = REASON_CODES.get(reason);
    if (code === undefined) throw new Error(`unknown revocation reason ${JSON.stringify(reason)}`);
    this.#put(serialHex, 0, serialHex.length, revokedAt.getTime(), code);
  }

  /**
   * Appends the entries of a RevokedPage's `packed` string (src/ports/repositories.ts):
   * `<serial hex>,<epoch seconds>,<reason code>` separated by ';'. Reads the string in place, so a
   * page costs no object per entry. Throws on the first malformed entry or unknown reason code; the
   * entries before it stay added. Returns the number of entries added.
   */
  addPacked(packed: string): number {
    const n = packed.length;
    let p = 0;
    /** An optionally negative integer of at most 15 digits at p, up to `terminator` (or the end, for the last field). */
    const decimal = (terminator: number): number => {
      const start = p;
      const negative = packed.charCodeAt(p) === 0x2d;
      if (negative) p++;
      let value = 0;
      let digits = 0;
      for (; p < n; p++) {
        const c = packed.charCodeAt(p);
        if (c === terminator) break;
        if (c < 0x30 || c > 0x39 || ++digits > 15) digits = 16;
        if (digits > 15) break;
        value = value * 10 + (c - 0x30);
      }
      if (digits === 0 || digits > 15 || (p === n && terminator === COMMA)) {
        throw new Error(`malformed packed CRL entry near ${JSON.stringify(packed.slice(Math.max(0, start - 48), start + 24))}`);
      }
      p++; // past the terminator
      return negative ? -value : value;
    };
    let added = 0;
    while (p < n) {
      const serialStart = p;
      while (p < n && packed.charCodeAt(p) !== COMMA) p++;
      const serialEnd = p++;
      const seconds = decimal(COMMA);
      const code = decimal(SEMICOLON);
      if (!VALID_REASON_CODES.has(code)) throw new Error(`unknown revocation reason code ${code} for serial ${JSON.stringify(packed.slice(serialStart, Math.min(serialEnd, serialStart + 64)))}`);
      this.#put(packed, serialStart, serialEnd, seconds * 1000, code);
      added++;
    }
    return added;
  }

  /** Appends one entry whose serial is `src` from `start` to `end` (hex). */
  #put(src: string, start: number, end: number, revokedAtMs: number, code: number): void {
    const digits = end - start;
    if (digits <= 0 || (digits & 1) !== 0 || digits > MAX_SERIAL_HEX_DIGITS) {
      throw new Error(`serial ${JSON.stringify(src.slice(start, Math.min(end, start + 64)))} is not an even number of hex digits from 2 to 40`);
    }
    // Minimal INTEGER (X.690 8.3.2): skip leading zero octets, keeping at least one.
    let s = start;
    while (s < end - 2 && src.charCodeAt(s) === 0x30 && src.charCodeAt(s + 1) === 0x30) s += 2;
    const magnitudeLen = (end - s) >> 1;
    const pad = nibble(src, s) >= 8 ? 1 : 0; // keep the INTEGER positive
    const serialLen = pad + magnitudeLen;

    // One Date for every entry (a Date each was a million objects per large CRL). timeSize and
    // writeTime throw for an invalid time before writing anything.
    const revokedAt = SCRATCH_DATE;
    revokedAt.setTime(revokedAtMs);
    const timeLen = timeSize(revokedAt);
    // At most 2 + 21 + 17 + 14 = 54: the entry's length is always one octet.
    const contentLen = 2 + serialLen + timeLen + (code !== 0 ? REASON_EXTS_SIZE : 0);

    if (this.#used + MAX_ENTRY_SIZE > this.#chunk.length) this.#nextChunk();
    const buf = this.#chunk;
    let o = this.#used;
    buf[o++] = TAG.SEQUENCE;
    buf[o++] = contentLen;
    buf[o++] = TAG.INTEGER;
    buf[o++] = serialLen;
    if (pad) buf[o++] = 0;
    for (let i = s; i < end; i += 2) buf[o++] = (nibble(src, i) << 4) | nibble(src, i + 1);
    o = writeTime(buf, o, revokedAt);
    if (code !== 0) {
      buf.set(REASON_EXTS_PREFIX, o);
      o += REASON_EXTS_PREFIX.length;
      buf[o++] = code;
    }
    // Commit only now: a throw above leaves #used and #count as they were.
    this.#used = o;
    this.#count++;
  }

  /** Number of entries added. */
  get count(): number {
    return this.#count;
  }

  /** Size of the encoded entries so far (the content of revokedCertificates). */
  get byteLength(): number {
    return this.#doneBytes + this.#used;
  }

  /**
   * The encoded entries as views of the writer's chunks, in order (the last one may still grow); with
   * `releaseTaken`, only those that takeCompleted has not handed out.
   */
  chunks(): Uint8Array[] {
    const from = this.#releaseTaken ? this.#taken : 0;
    const out = this.#done.slice(from).map((c, i) => c.subarray(0, this.#doneLengths[from + i]!));
    if (this.#used > 0) out.push(this.#chunk.subarray(0, this.#used));
    return out;
  }

  /**
   * The chunks completed since the last call: their bytes never change again, so they can be stored
   * while the writer goes on (the CRL updater writes them to the database during the build).
   */
  takeCompleted(): Uint8Array[] {
    const out = this.#done.slice(this.#taken).map((c, i) => c.subarray(0, this.#doneLengths[this.#taken + i]!));
    if (this.#releaseTaken) this.#done.fill(RELEASED, this.#taken);
    this.#taken = this.#done.length;
    return out;
  }

  /** @internal Copies the encoded entries to `out` at `offset`; returns the offset after them. */
  [COPY_ENTRIES](out: Uint8Array, offset: number): number {
    if (this.#releaseTaken && this.#taken > 0) throw new Error('the writer has released entries that takeCompleted handed out');
    let o = offset;
    for (let i = 0; i < this.#done.length; i++) {
      const n = this.#doneLengths[i]!;
      out.set(this.#done[i]!.subarray(0, n), o);
      o += n;
    }
    out.set(this.#chunk.subarray(0, this.#used), o);
    return o + this.#used;
  }

  #nextChunk(): void {
    if (this.byteLength + MAX_ENTRY_SIZE > MAX_ENTRIES_BYTES) throw new Error('too many revoked entries for one CRL (4 GiB of DER)');
    this.#done.push(this.#chunk);
    this.#doneLengths.push(this.#used);
    this.#doneBytes += this.#used;
    this.#chunk = Buffer.allocUnsafe(Math.min(this.#chunk.length * 2, LARGEST_CHUNK));
    this.#used = 0;
  }
}

function nibble(hex: string, i: number): number {
  const c = hex.charCodeAt(i);
  const v = c < 128 ? HEX_VALUE[c]! : -1;
  if (v < 0) throw new Error(`serial ${JSON.stringify(hex.slice(Math.max(0, i - 40), i + 24))} is not hexadecimal`);
  return v;
}

/** What a released chunk's place holds. */
const RELEASED = Buffer.alloc(0);
const COMMA = 0x2c;
const SEMICOLON = 0x3b;
const VALID_REASON_CODES: ReadonlySet<number> = new Set(Object.values(REVOCATION_REASONS));
const SCRATCH_DATE = new Date(0);

/** What changes from one CRL of a CA to the next. */
export interface CrlFields {
  thisUpdate: Date;
  /** Must be later than thisUpdate. */
  nextUpdate: Date;
  /** 0 ≤ crlNumber, at most 20 octets once DER-encoded (RFC 5280 5.2.3). */
  crlNumber: bigint;
  entries: RevokedEntriesWriter;
  /**
   * Set for a partition's CRL: adds a critical Issuing Distribution Point (RFC 5280 5.2.5) whose
   * distributionPoint is this one URI, the same as in the partition's certificates.
   */
  issuingDistributionPointUrl?: string;
}

/** Room reserved before a TBSCertList for the CertificateList header: tag and a 4-octet long length. */
const CRL_HEADER_ROOM = 6;
/** Largest signature assembleCrl can append in place: RSA 4096 (a P-521 DER ECDSA-Sig-Value is at most 139). */
const MAX_IN_PLACE_SIGNATURE = 512;

/**
 * The buffers that encodeTbsCertList allocated with room around the TBSCertList, by the TBS view it
 * returned; assembleCrl completes the CRL in that room once instead of copying the whole TBS again
 * (47 MB and a sixth of the build time at a million entries).
 */
const ASSEMBLY_ROOM = new WeakMap<Uint8Array, Buffer>();

/**
 * Encodes the TBSCertList: version v2, signature, issuer, thisUpdate, nextUpdate, the entries
 * (omitted when there are none, RFC 5280 5.1.2.6) and the crlExtensions authorityKeyIdentifier, CRL
 * Number and, when given, Issuing Distribution Point. One allocation: the exact TBSCertList plus a
 * few hundred octets around it where assembleCrl completes the CertificateList without a copy. The
 * result is a view of that allocation; sign exactly its bytes (not its `.buffer`).
 */
export function encodeTbsCertList(issuer: CrlIssuer, o: CrlFields): Uint8Array {
  const pieces = encodeTbsCertListPieces(issuer, o);
  const tbsSize = pieces.head.length + o.entries.byteLength + pieces.tail.length;
  const tailRoom = issuer.sigAlgDer.length + tlvSize(MAX_IN_PLACE_SIGNATURE + 1);
  const whole = Buffer.allocUnsafe(CRL_HEADER_ROOM + tbsSize + tailRoom);
  const out = whole.subarray(CRL_HEADER_ROOM, CRL_HEADER_ROOM + tbsSize);
  out.set(pieces.head, 0);
  let p = o.entries[COPY_ENTRIES](out, pieces.head.length);
  out.set(pieces.tail, p);
  p += pieces.tail.length;
  if (p !== out.length) throw new Error(`internal error: TBSCertList length mismatch (${p} != ${out.length})`);
  ASSEMBLY_ROOM.set(out, whole);
  return out;
}

/** Lengths and extensions of a TBSCertList, checked: what both encoders below lay out. */
function tbsLayout(issuer: CrlIssuer, o: CrlFields) {
  const { thisUpdate, nextUpdate, crlNumber, entries, issuingDistributionPointUrl: idpUrl } = o;
  if (!Number.isFinite(thisUpdate.getTime()) || !Number.isFinite(nextUpdate.getTime())) throw new Error('invalid thisUpdate or nextUpdate');
  if (!(nextUpdate.getTime() > thisUpdate.getTime())) throw new Error('nextUpdate must be later than thisUpdate');
  const crlNumberExt = extension(OID.crlNumber, false, crlNumberInteger(crlNumber));
  const idpExt = idpUrl !== undefined ? issuingDistributionPointExtension(idpUrl) : new Uint8Array(0);
  const extsLen = issuer.akiExtDer.length + crlNumberExt.length + idpExt.length;
  const extsSeqLen = tlvSize(extsLen);
  const entriesLen = entries.byteLength;
  const revokedLen = entries.count > 0 ? tlvSize(entriesLen) : 0;
  const tbsLen = issuer.tbsHead.length + timeSize(thisUpdate) + timeSize(nextUpdate) + revokedLen + tlvSize(extsSeqLen);
  return { crlNumberExt, idpExt, extsLen, extsSeqLen, entriesLen, tbsLen };
}

/**
 * A CRL in three pieces whose concatenation is its DER: `head` (the CertificateList and TBSCertList
 * headers up to the revoked entries), `entries` (the writer's own chunks, not copied) and `tail`
 * (crlExtensions, signatureAlgorithm and signature). A CRL of a million entries is then never joined
 * in memory: the pieces are signed as they are and stored as they are.
 */
export interface CrlPieces {
  head: Uint8Array;
  /**
   * The entries as the writer's own chunks; from a writer with `releaseTaken`, only those that
   * takeCompleted did not hand out (the caller has the others).
   */
  entries: readonly Uint8Array[];
  /** Length of all the entries, those handed out included. */
  entriesLength: number;
  tail: Uint8Array;
}

/** The TBSCertList of encodeTbsCertList as pieces: sign `[head, ...entries, tail]`. */
export function encodeTbsCertListPieces(issuer: CrlIssuer, o: CrlFields): CrlPieces {
  const { thisUpdate, nextUpdate, entries } = o;
  const { crlNumberExt, idpExt, extsLen, extsSeqLen, entriesLen, tbsLen } = tbsLayout(issuer, o);
  const head = Buffer.allocUnsafe(tlvSize(tbsLen) - tbsLen + issuer.tbsHead.length + timeSize(thisUpdate) + timeSize(nextUpdate) + (entries.count > 0 ? tlvSize(entriesLen) - entriesLen : 0));
  let p = writeHeader(head, 0, TAG.SEQUENCE, tbsLen);
  head.set(issuer.tbsHead, p);
  p += issuer.tbsHead.length;
  p = writeTime(head, p, thisUpdate);
  p = writeTime(head, p, nextUpdate);
  if (entries.count > 0) p = writeHeader(head, p, TAG.SEQUENCE, entriesLen);
  if (p !== head.length) throw new Error(`internal error: TBSCertList head length mismatch (${p} != ${head.length})`);
  const tail = Buffer.allocUnsafe(tlvSize(extsSeqLen));
  p = writeHeader(tail, 0, 0xa0, extsSeqLen);
  p = writeHeader(tail, p, TAG.SEQUENCE, extsLen);
  for (const part of [issuer.akiExtDer, crlNumberExt, idpExt]) {
    tail.set(part, p);
    p += part.length;
  }
  if (p !== tail.length) throw new Error(`internal error: crlExtensions length mismatch (${p} != ${tail.length})`);
  return { head, entries: entries.count > 0 ? entries.chunks() : [], entriesLength: entriesLen, tail };
}

/** The CertificateList around a TBSCertList in pieces and its signature, as pieces again. */
export function assembleCrlPieces(issuer: CrlIssuer, tbs: CrlPieces, signature: Uint8Array): CrlPieces {
  checkSignature(issuer, signature);
  const tbsLen = tbs.head.length + tbs.entriesLength + tbs.tail.length;
  const len = tbsLen + signatureFieldsSize(issuer.sigAlgDer, signature);
  const head = Buffer.allocUnsafe(tlvSize(len) - len + tbs.head.length);
  head.set(tbs.head, writeHeader(head, 0, TAG.SEQUENCE, len));
  const tail = Buffer.allocUnsafe(tbs.tail.length + signatureFieldsSize(issuer.sigAlgDer, signature));
  tail.set(tbs.tail, 0);
  writeSignatureFields(tail, tbs.tail.length, issuer.sigAlgDer, signature);
  return { head, entries: tbs.entries, entriesLength: tbs.entriesLength, tail };
}

/** A raw r||s (IEEE P1363, what WebCrypto returns) in a CRL would make one that no client accepts. */
function checkSignature(issuer: CrlIssuer, signature: Uint8Array): void {
  if (signature.length === 0) throw new Error('empty signature');
  if (SIGNING_ALGORITHM_INFO[issuer.signingAlgorithm].family === 'EC') {
    if (signature[0] !== TAG.SEQUENCE || readTlv(signature, 0).end !== signature.length) {
      throw new Error('ECDSA signature is not a DER ECDSA-Sig-Value');
    }
  }
}

/**
 * CertificateList ::= SEQUENCE { tbsCertList, signatureAlgorithm, signatureValue BIT STRING }.
 * `signature` is what the signer returned over `tbs`: a DER ECDSA-Sig-Value or the PKCS#1 v1.5 signature.
 *
 * For a `tbs` straight from encodeTbsCertList, the CRL is completed around it in place, once: the
 * result then shares memory with `tbs` (whose bytes are not changed). Any other `tbs`, or a second
 * call with the same one, is copied into a new buffer.
 */
export function assembleCrl(issuer: CrlIssuer, tbs: Uint8Array, signature: Uint8Array): Uint8Array {
  if (tbs.length < 2 || tbs[0] !== TAG.SEQUENCE || readTlv(tbs, 0).end !== tbs.length) {
    throw new Error('tbs is not a single TBSCertList SEQUENCE');
  }
  checkSignature(issuer, signature);
  const len = tbs.length + signatureFieldsSize(issuer.sigAlgDer, signature);
  const headerSize = tlvSize(len) - len;

  let out: Buffer;
  let p: number;
  const whole = ASSEMBLY_ROOM.get(tbs);
  // The room must still be there: same view, nobody else has assembled into it.
  const tbsStart = whole ? tbs.byteOffset - whole.byteOffset : -1;
  if (whole && tbs.buffer === whole.buffer && tbsStart >= headerSize && tbsStart + len <= whole.length) {
    ASSEMBLY_ROOM.delete(tbs);
    out = whole.subarray(tbsStart - headerSize, tbsStart + len);
    writeHeader(out, 0, TAG.SEQUENCE, len);
    p = headerSize + tbs.length;
  } else {
    out = Buffer.allocUnsafe(headerSize + len);
    p = writeHeader(out, 0, TAG.SEQUENCE, len);
    out.set(tbs, p);
    p += tbs.length;
  }
  writeSignatureFields(out, p, issuer.sigAlgDer, signature);
  return out;
}

/** CRLNumber ::= INTEGER (0..MAX), at most 20 octets (RFC 5280 5.2.3). */
function crlNumberInteger(n: bigint): Uint8Array {
  if (typeof n !== 'bigint' || n < 0n) throw new Error(`CRL number ${String(n)} is not a non-negative bigint`);
  let hex = n.toString(16);
  if (hex.length & 1) hex = '0' + hex;
  // A sign octet when the high bit is set, to keep the INTEGER positive.
  if (parseInt(hex[0]!, 16) >= 8) hex = '00' + hex;
  const content = Buffer.from(hex, 'hex');
  if (content.length > 20) throw new Error(`CRL number ${n} is longer than 20 octets (RFC 5280 5.2.3)`);
  return tlv(TAG.INTEGER, content);
}
