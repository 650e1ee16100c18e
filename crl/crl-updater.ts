import { conflict, notFound } from '../src/domain/ca-error.ts';
import { crlUrl, isPartitioned, partitionName, type Ca } from '../src/domain/ca.ts';
import { DEFAULT_PARTITION_SIZE, partitionBlockSize } from '../src/services/issuance-service.ts';
import type { Clock } from '../src/ports/clock.ts';
import type { JobLock } from '../src/ports/job-lock.ts';
import type { KeyStoreRegistry } from '../src/ports/key-store.ts';
import type { Repos, StoredCrl } from '../src/ports/repositories.ts';
import { crlFileRef, type QueuedCrl } from './publish-targets.ts';
import { assembleCrlPieces, encodeTbsCertListPieces, prepareCrlIssuer, RevokedEntriesWriter } from '../src/x509/crl-encoder.ts';

/** Rows read from the database per query while a CRL is built. */
const PAGE = 10_000;
const HOUR = 3_600_000;

/** A CRL just published: what was stored, without its bytes. */
export type PublishedCrl = Omit<StoredCrl, 'der'> & { derBytes: number };

export interface CrlInfo {
  crlNumber: string;
  thisUpdate: string;
  nextUpdate: string;
  revokedCount: number;
  url: string;
}

/**
 * Builds, signs and stores a CA's CRL: lock → take the next number → read the revoked rows page by
 * page → encode (completed chunks of entries are stored as they come) → sign the pieces through the
 * KeyStore → store the head and tail and make it the latest. One node at a time per CA (JobLock); the number
 * is taken before the build, so a build that dies never leaves a number to be used again.
 */
export class CrlUpdater {
  constructor(
    private readonly deps: {
      repos: Pick<Repos, 'cas' | 'crls'>;
      keyStores: KeyStoreRegistry;
      clock: Clock;
      lock: JobLock;
      /** The base URL this service is reached at, for `url` when the CA has no baseUrl. */
      publicUrl: string;
      /** Certificates per partition of partitioned CAs (as IssuanceService numbers them). */
      crlPartitionSize?: number;
      /** Where each stored CRL also goes (directory, S3), in the background: a CrlTargetQueue. */
      targets?: { enqueue(crl: QueuedCrl): void };
    },
  ) {}

  /**
   * Publishes a new CRL now. With `unlessSince`, does nothing when another node already published
   * one at or after that time (several nodes firing on the same cron tick make one CRL).
   */
  async publish(caId: string, options: { unlessSince?: Date } = {}): Promise<PublishedCrl | undefined> {
    return this.deps.lock.run(`crl:${caId}`, async () => {
      const ca = await this.deps.repos.cas.get(caId);
      if (!ca) throw notFound('ca_not_found', `no CA ${caId}`);
      if (!ca.revocation.crl.enabled) throw conflict('crl_disabled', `CA ${caId} does not publish CRLs`);
      if (!ca.certificateDer || ca.status === 'PENDING_CERTIFICATE') {
        throw conflict('invalid_state', `CA ${caId} has no certificate yet, so no CRL`);
      }
      if (options.unlessSince) {
        const last = await this.deps.repos.crls.latestInfo(caId, '');
        if (last && last.thisUpdate >= options.unlessSince) return undefined;
      }
      return this.build(ca);
    });
  }

  /** The full CRL, then for a partitioned CA every partition's, all under one CRL number. */
  private async build(ca: Ca): Promise<PublishedCrl> {
    const { repos, clock } = this.deps;
    const crlNumber = await repos.crls.nextNumber(ca.id);
    const thisUpdate = new Date(Math.floor(clock.now().getTime() / 1000) * 1000);
    const nextUpdate = new Date(thisUpdate.getTime() + ca.revocation.crl.validityHours * HOUR);
    const signer = await this.deps.keyStores.forUri(ca.keyUri).getSigner(ca.keyUri);
    const issuer = prepareCrlIssuer(ca.certificateDer!, ca.signingAlgorithm);
    const one = async (partition: string): Promise<PublishedCrl> => {
      const entries = new RevokedEntriesWriter({ releaseTaken: true });
      // Entry chunks are final once complete, so they go to the database while the build goes on,
      // one write at a time; the head (which needs the total length) and the tail come last.
      let seq = 1;
      let writing = Promise.resolve();
      let failed: { error: unknown } | undefined;
      const storedLengths: number[] = [];
      const store = (chunk: Uint8Array) => {
        const n = seq++;
        storedLengths.push(chunk.length);
        writing = writing.then(() => (failed ? undefined : repos.crls.savePart(ca.id, partition, crlNumber, n, chunk))).catch((error: unknown) => {
          failed ??= { error };
        });
      };
      const read = (after: string) =>
        repos.crls.revokedPage(ca.id, { afterSerial: after, limit: PAGE, notExpiredAt: thisUpdate, partition: partition || undefined });
      // The next page is read while this one is encoded.
      for (let page = await read(''); ; ) {
        const next = page.count === PAGE ? read(page.lastSerial) : undefined;
        try {
          if (entries.addPacked(page.packed) !== page.count) throw new Error(`a page of ${page.count} revoked certificates held another number of entries`);
        } catch (e) {
          await next?.catch(() => undefined);
          throw e;
        }
        entries.takeCompleted().forEach(store);
        if (!next || failed) {
          await next?.catch(() => undefined);
          break;
        }
        page = await next;
      }
      const tbs = encodeTbsCertListPieces(issuer, {
        thisUpdate,
        nextUpdate,
        crlNumber,
        entries,
        issuingDistributionPointUrl: partition ? crlUrl(ca, partition) : undefined,
      });
      await writing;
      if (failed) throw failed.error;
      // The stored chunks are read back one at a time as the signer takes them (the next while this
      // one is hashed), so the entries of a large CRL are never all in memory: the writer let go of
      // each chunk once it was handed to the database. tbs.entries holds the ones not yet stored.
      const readPart = async (n: number): Promise<Uint8Array> => {
        const bytes = await repos.crls.readPart(ca.id, partition, crlNumber, n);
        if (bytes?.length !== storedLengths[n - 1]) throw new Error(`piece ${n} of CRL ${crlNumber} of CA ${ca.id} is missing or changed while it was signed`);
        return bytes;
      };
      async function* storedEntries(): AsyncGenerator<Uint8Array> {
        let next = storedLengths.length > 0 ? readPart(1) : undefined;
        try {
          for (let n = 1; n <= storedLengths.length; n++) {
            const bytes = await next!;
            next = n < storedLengths.length ? readPart(n + 1) : undefined;
            yield bytes;
          }
        } finally {
          next?.catch(() => undefined);
        }
      }
      const signature = await signer.sign(ca.signingAlgorithm, {
        async *[Symbol.asyncIterator]() {
          yield tbs.head;
          yield* storedEntries();
          yield* tbs.entries;
          yield tbs.tail;
        },
      });
      const crl = assembleCrlPieces(issuer, tbs, signature);
      const unsaved = crl.entries.map((bytes, i) => ({ seq: seq + i, bytes }));
      const last = [{ seq: 0, bytes: crl.head }, ...unsaved, { seq: seq + unsaved.length, bytes: crl.tail }];
      const published: PublishedCrl = {
        caId: ca.id,
        partition,
        crlNumber,
        thisUpdate,
        nextUpdate,
        revokedCount: entries.count,
        derBytes: crl.head.length + crl.entriesLength + crl.tail.length,
      };
      await repos.crls.commitCrl(published, last, seq + unsaved.length + 1);
      // The extra targets (directory, S3) take whole files: the queue reads it back when it publishes it.
      if (this.deps.targets) this.deps.targets.enqueue({ ...crlFileRef(published), load: () => repos.crls.read(ca.id, partition, crlNumber) });
      return published;
    };
    const full = await one('');
    if (isPartitioned(ca)) {
      const size = this.deps.crlPartitionSize ?? DEFAULT_PARTITION_SIZE;
      const numbered = ca.partitionBlocks * partitionBlockSize(size);
      for (let n = 0; n < numbered; n += size) await one(partitionName(n, size));
    }
    return full;
  }

  /** What API.md's POST/GET /v1/cas/{caId}/crl answer. */
  info(ca: Pick<Ca, 'id' | 'revocation'>, crl: Omit<StoredCrl, 'der'>): CrlInfo {
    return {
      crlNumber: crl.crlNumber.toString(),
      thisUpdate: crl.thisUpdate.toISOString(),
      nextUpdate: crl.nextUpdate.toISOString(),
      revokedCount: crl.revokedCount,
      url: crlUrl(ca) ?? `${this.deps.publicUrl.replace(/\/+$/, '')}/crl/${ca.id}.crl`,
    };
  }
}
