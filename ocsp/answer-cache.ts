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

/** What an entry costs beyond its DER: the key, the strings, the Map slot (measured roughly with --expose-gc). */
const ENTRY_OVERHEAD = 400;

/**
 * Pre-signed OCSP answers, least recently used first out, bounded by the bytes they take rather
 * than by their number: a million distinct serials asked leave at most `maxBytes` of answers.
 * A Map keeps insertion order; a hit moves its entry to the end, so the first key is the least
 * recently used. Keys are `{caId}|{hash}|{serial}`: one answer per CertID hash algorithm.
 */
export class AnswerCache {
  readonly #entries = new Map<string, CachedAnswer>();
  #bytes = 0;

  constructor(readonly maxBytes: number) {}

  static key(caId: string, hash: string, serial: string): string {
    return `${caId}|${hash}|${serial}`;
  }

  get(key: string, now: number): CachedAnswer | undefined {
    const e = this.#entries.get(key);
    if (!e) return undefined;
    this.#entries.delete(key);
    if (now >= e.refreshAt) {
      this.#bytes -= size(key, e);
      return undefined;
    }
    this.#entries.set(key, e);
    return e;
  }

  set(key: string, answer: CachedAnswer): void {
    const cost = size(key, answer);
    if (cost > this.maxBytes) return;
    const old = this.#entries.get(key);
    if (old) {
      this.#entries.delete(key);
      this.#bytes -= size(key, old);
    }
    this.#entries.set(key, answer);
    this.#bytes += cost;
    for (const [k, e] of this.#entries) {
      if (this.#bytes <= this.maxBytes) break;
      this.#entries.delete(k);
      this.#bytes -= size(k, e);
    }
  }

  /** Drops every answer for one certificate (all hash algorithms). */
  invalidate(caId: string, serial: string, hashes: readonly string[]): void {
    for (const h of hashes) this.#drop(AnswerCache.key(caId, h, serial));
  }

  /** Drops every answer of a CA (its responder or its settings changed). */
  dropCa(caId: string): void {
    for (const [k, e] of this.#entries) if (e.caId === caId) this.#drop(k);
  }

  clear(): void {
    this.#entries.clear();
    this.#bytes = 0;
  }

  get size(): number {
    return this.#entries.size;
  }

  get bytes(): number {
    return this.#bytes;
  }

  #drop(key: string): void {
    const e = this.#entries.get(key);
    if (!e) return;
    this.#entries.delete(key);
    this.#bytes -= size(key, e);
  }
}

const size = (key: string, e: CachedAnswer): number => e.der.length + key.length * 2 + ENTRY_OVERHEAD;
