/** A signed answer kept for reuse, with what its GET response says about it. */
export interface CachedAnswer {
  readonly der: Uint8Array;
  /** The serial it answers for, so that a revocation finds it. */
  readonly caId: string;
  readonly serial: string;
  readonly status: 'good' | 'revoked' | 'unknown';
  readonly thisUpdate: Date;
  readonly nextUpdate: Date;
  /** Reused until then (well before nextUpdate); signed afresh after. */
  readonly refreshAt: number;
  readonly etag: string;
  readonly lastModified: string;
}

/**
 * What an entry costs beyond its DER and twice its key's length: the answer and slot objects, two
 * Dates, the ETag and Last-Modified strings, the Uint8Array and its buffer, the Map slot. Measured
 * by test/unit/ocsp-memory.test.ts (heap and external memory after a full GC): about 920 bytes.
 */
const ENTRY_OVERHEAD = 1_000;
/** What an alias costs beyond twice its text's length: its Map slot (measured as above: less than this). */
const ALIAS_OVERHEAD = 100;

/**
 * Pre-signed OCSP answers, least recently used first out, bounded by the bytes they take rather
 * than by their number: a million distinct serials asked leave at most `maxBytes` of answers.
 * A Map keeps insertion order; a hit moves its entry to the end, so the first key is the least
 * recently used. Keys are `{caId}|{hash}|{serial}`: one answer per CertID hash algorithm.
 *
 * An entry may also be found by the first request text that reached it (`byRequest`, e.g. the CA
 * and the base64 of a GET): the same text is the same CertID, so a client asking again is answered
 * without its request being decoded (the same CertID in another encoding is decoded, then found by
 * key). The text is the entry's alias, counted in its bytes, and goes with it. A text names one
 * key only, since the key follows from it.
 */
export class AnswerCache {
  readonly #entries = new Map<string, Slot>();
  readonly #aliases = new Map<string, string>();
  #bytes = 0;

  constructor(readonly maxBytes: number) {}

  static key(caId: string, hash: string, serial: string): string {
    return `${caId}|${hash}|${serial}`;
  }

  /** The entry of `key`, unless it is due to be signed afresh; `request` becomes its alias if it has none. */
  get(key: string, now: number, request?: string): CachedAnswer | undefined {
    const slot = this.#entries.get(key);
    if (!slot) return undefined;
    this.#entries.delete(key);
    if (now >= slot.answer.refreshAt) {
      this.#forget(key, slot);
      return undefined;
    }
    this.#entries.set(key, slot);
    if (request !== undefined && slot.request === undefined) this.#alias(key, slot, request);
    return slot.answer;
  }

  /** The entry that answered this very request (see the class comment). */
  byRequest(request: string, now: number): CachedAnswer | undefined {
    const key = this.#aliases.get(request);
    return key === undefined ? undefined : this.get(key, now);
  }

  set(key: string, answer: CachedAnswer, request?: string): void {
    this.#drop(key);
    const slot: Slot = { answer, request: undefined };
    if (answer.der.length + key.length * 2 + ENTRY_OVERHEAD > this.maxBytes) return;
    this.#entries.set(key, slot);
    this.#bytes += size(key, slot);
    if (request !== undefined) this.#alias(key, slot, request);
    this.#evict();
  }

  /** Drops every answer for one certificate (all hash algorithms). */
  invalidate(caId: string, serial: string, hashes: readonly string[]): void {
    for (const h of hashes) this.#drop(AnswerCache.key(caId, h, serial));
  }

  /** Drops every answer of a CA (its responder or its settings changed). */
  dropCa(caId: string): void {
    for (const [k, slot] of this.#entries) if (slot.answer.caId === caId) this.#forget(k, slot);
  }

  clear(): void {
    this.#entries.clear();
    this.#aliases.clear();
    this.#bytes = 0;
  }

  get size(): number {
    return this.#entries.size;
  }

  get bytes(): number {
    return this.#bytes;
  }

  #alias(key: string, slot: Slot, request: string): void {
    this.#bytes -= size(key, slot);
    slot.request = request;
    this.#aliases.set(request, key);
    this.#bytes += size(key, slot);
    this.#evict();
  }

  #evict(): void {
    for (const [k, slot] of this.#entries) {
      if (this.#bytes <= this.maxBytes) break;
      this.#forget(k, slot);
    }
  }

  #drop(key: string): void {
    const slot = this.#entries.get(key);
    if (slot) this.#forget(key, slot);
  }

  #forget(key: string, slot: Slot): void {
    this.#entries.delete(key);
    if (slot.request !== undefined && this.#aliases.get(slot.request) === key) this.#aliases.delete(slot.request);
    this.#bytes -= size(key, slot);
  }
}

interface Slot {
  readonly answer: CachedAnswer;
  /** The request text that finds it too (byRequest), if any; set once. */
  request: string | undefined;
}

const size = (key: string, slot: Slot): number => slot.answer.der.length + key.length * 2 + (slot.request === undefined ? 0 : slot.request.length * 2 + ALIAS_OVERHEAD) + ENTRY_OVERHEAD;
