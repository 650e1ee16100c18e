import type { SigningAlgorithm } from '../src/domain/key-algorithm.ts';
import type { Signer } from '../src/ports/key-store.ts';
import type { CrlRepository } from '../src/ports/repositories.ts';
import { assembleCrlPieces, encodeTbsCertListPieces, RevokedEntriesWriter, type CrlIssuer } from '../src/x509/crl-encoder.ts';

/** Rows read from the database per query while a CRL is built. */
const PAGE = 10_000;

/** One CRL to build: the full CRL (partition '') or one partition's. */
export interface CrlBuildTarget {
  caId: string;
  partition: string;
  crlNumber: bigint;
  thisUpdate: Date;
  nextUpdate: Date;
  /** A partition's CRL names its distribution point in a critical Issuing Distribution Point. */
  issuingDistributionPointUrl?: string;
}

/** A CRL signed and partly stored: the pieces still to store when it is committed. */
export interface BuiltCrl {
  revokedCount: number;
  derBytes: number;
  /** The pieces not stored yet (head, the last entries, tail), by their place in the CRL. */
  unstored: { seq: number; bytes: Uint8Array }[];
  /** How many pieces the CRL has in all. */
  partCount: number;
}

/**
 * Builds and signs one CRL as pieces, so that a CRL of a million entries (45 MB) is never whole in
 * memory: pages of revoked rows → entries (RevokedEntriesWriter) → each completed chunk of entries
 * stored at once (one write in flight) → the signature over head, the stored chunks read back one at a
 * time, the last chunk and the tail → the CertificateList's pieces. docs/architecture.md, CRLs.
 */
export async function buildCrl(o: {
  crls: Pick<CrlRepository, 'revokedPage' | 'savePart' | 'readPart'>;
  target: CrlBuildTarget;
  issuer: CrlIssuer;
  signer: Signer;
  signingAlgorithm: SigningAlgorithm;
}): Promise<BuiltCrl> {
  const { crls, target, issuer } = o;
  const { caId, partition, crlNumber } = target;
  const entries = new RevokedEntriesWriter({ releaseTaken: true });
  const stored = new StoredChunks((seq, chunk) => crls.savePart(caId, partition, crlNumber, seq, chunk));

  const read = (after: string) =>
    crls.revokedPage(caId, { afterSerial: after, limit: PAGE, notExpiredAt: target.thisUpdate, partition: partition || undefined });
  // The next page is read while this one is encoded.
  for (let page = await read(''); ; ) {
    const next = page.count === PAGE ? read(page.lastSerial) : undefined;
    try {
      if (entries.addPacked(page.packed) !== page.count) throw new Error(`a page of ${page.count} revoked certificates held another number of entries`);
    } catch (e) {
      await next?.catch(() => undefined);
      throw e;
    }
    entries.takeCompleted().forEach((c) => stored.add(c));
    if (!next || stored.failed) {
      await next?.catch(() => undefined);
      break;
    }
    page = await next;
  }
  const tbs = encodeTbsCertListPieces(issuer, {
    thisUpdate: target.thisUpdate,
    nextUpdate: target.nextUpdate,
    crlNumber,
    entries,
    issuingDistributionPointUrl: target.issuingDistributionPointUrl,
  });
  await stored.flushed();

  // The stored chunks are read back one at a time as the signer takes them (the next while this one
  // is hashed): the writer let go of each chunk once it was handed to the database. tbs.entries holds
  // the ones not stored.
  const readBack = stored.readBack((seq) => crls.readPart(caId, partition, crlNumber, seq), `CRL ${crlNumber} of CA ${caId}`);
  const signature = await o.signer.sign(o.signingAlgorithm, {
    async *[Symbol.asyncIterator]() {
      yield tbs.head;
      yield* readBack();
      yield* tbs.entries;
      yield tbs.tail;
    },
  });
  const crl = assembleCrlPieces(issuer, tbs, signature);
  const first = stored.count + 1;
  const unsaved = crl.entries.map((bytes, i) => ({ seq: first + i, bytes }));
  const tailSeq = first + unsaved.length;
  return {
    revokedCount: entries.count,
    derBytes: crl.head.length + crl.entriesLength + crl.tail.length,
    unstored: [{ seq: 0, bytes: crl.head }, ...unsaved, { seq: tailSeq, bytes: crl.tail }],
    partCount: tailSeq + 1,
  };
}

/** Chunks of entries written to the database in order (seq 1, 2, …), one write in flight. */
class StoredChunks {
  readonly #lengths: number[] = [];
  #writing = Promise.resolve();
  #failed?: { error: unknown };

  constructor(private readonly save: (seq: number, chunk: Uint8Array) => Promise<void>) {}

  get count(): number {
    return this.#lengths.length;
  }

  get failed(): boolean {
    return this.#failed !== undefined;
  }

  add(chunk: Uint8Array): void {
    this.#lengths.push(chunk.length);
    const seq = this.#lengths.length;
    this.#writing = this.#writing
      .then(() => (this.#failed ? undefined : this.save(seq, chunk)))
      .catch((error: unknown) => {
        this.#failed ??= { error };
      });
  }

  /** Waits for the writes; throws the first write's error. */
  async flushed(): Promise<void> {
    await this.#writing;
    if (this.#failed) throw this.#failed.error;
  }

  /** The stored chunks read back in order, each checked against the length written, the next one read ahead. */
  readBack(read: (seq: number) => Promise<Uint8Array | undefined>, what: string): () => AsyncGenerator<Uint8Array> {
    const lengths = this.#lengths;
    const one = async (seq: number): Promise<Uint8Array> => {
      const bytes = await read(seq);
      if (bytes?.length !== lengths[seq - 1]) throw new Error(`piece ${seq} of ${what} is missing or changed while it was signed`);
      return bytes;
    };
    return async function* () {
      let next = lengths.length > 0 ? one(1) : undefined;
      try {
        for (let seq = 1; seq <= lengths.length; seq++) {
          const bytes = await next!;
          next = seq < lengths.length ? one(seq + 1) : undefined;
          yield bytes;
        }
      } finally {
        next?.catch(() => undefined);
      }
    };
  }
}
