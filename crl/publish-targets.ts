import type { Logger } from 'pino';
import type { Clock } from '../src/ports/clock.ts';
import type { CrlPublicationRepository } from '../src/ports/crl-publication-repository.ts';
import type { CrlFile, CrlPublisher } from '../src/ports/crl-publisher.ts';

const MAX_ERROR_LENGTH = 1000;

export interface PublishToTargetsOptions {
  publishers: CrlPublisher[];
  status: CrlPublicationRepository;
  logger: Logger;
  /** Tries per target, at least 1; default 3. */
  attempts?: number;
  /** Wait before the second try, doubling after each; default 500 ms. */
  backoffMs?: number;
  /** The time recorded for each outcome; default the system clock. */
  clock?: Clock;
}

/** A stored CRL's file without its bytes: `<caId>.crl`, or `<caId>/<partition>.crl` as its URL under /crl/ is. */
export const crlFileRef = (crl: { caId: string; partition: string; crlNumber: bigint }): Omit<CrlFile, 'der'> => ({
  caId: crl.caId,
  partition: crl.partition,
  crlNumber: crl.crlNumber,
  path: crl.partition ? `${crl.caId}/${crl.partition}.crl` : `${crl.caId}.crl`,
});

/** The CrlFile of a stored CRL. */
export const toCrlFile = (crl: { caId: string; partition: string; crlNumber: bigint; der: Buffer }): CrlFile => ({ ...crlFileRef(crl), der: crl.der });

/**
 * A CRL for the target queue: its bytes, or how to read them when it is published (a CRL of a
 * million entries is 45 MB; one that a newer CRL replaces while it waits is then never read).
 * `load` gives undefined when the CRL is no longer the latest.
 */
export type QueuedCrl = CrlFile | (Omit<CrlFile, 'der'> & { load(): Promise<Buffer | undefined> });

/**
 * Puts one CRL into every publication target at once. Each target is tried `attempts` times with a
 * doubling backoff; one that keeps failing never holds up or stops the others. The outcome of each
 * target is recorded in `status` (what the CA's CRL status shows) and a failure is logged at error
 * level. Never throws: the CRL is already stored and served over HTTP, so a target is best effort.
 */
export async function publishToTargets(o: PublishToTargetsOptions & { file: CrlFile }): Promise<void> {
  const attempts = Math.max(1, Math.floor(o.attempts ?? 3));
  const backoffMs = Math.max(0, o.backoffMs ?? 500);
  const now = () => (o.clock ? o.clock.now() : new Date());
  const { file, logger } = o;
  const where = { caId: file.caId, partition: file.partition, crlNumber: file.crlNumber.toString() };

  await Promise.all(
    o.publishers.map(async (publisher) => {
      let tries = 0;
      let error: string | undefined;
      for (;;) {
        tries++;
        try {
          await publisher.publish(file);
          error = undefined;
          break;
        } catch (e) {
          error = safeMessage(e);
          if (tries >= attempts) break;
          logger.warn({ ...where, target: publisher.name, attempt: tries, error }, 'publishing the CRL to a target failed; retrying');
          await sleep(backoffMs * 2 ** (tries - 1));
        }
      }
      if (error !== undefined) {
        logger.error({ ...where, target: publisher.name, attempts: tries, error }, 'publishing the CRL to a target failed');
      }
      try {
        await o.status.record({
          caId: file.caId,
          partition: file.partition,
          target: publisher.name,
          crlNumber: file.crlNumber,
          ok: error === undefined,
          attempts: tries,
          ...(error === undefined ? {} : { error }),
          at: now(),
        });
      } catch (e) {
        logger.error({ ...where, target: publisher.name, error: safeMessage(e) }, 'recording the CRL publication status failed');
      }
    }),
  );
}

/** Node's connection errors to a host with several addresses are AggregateErrors without a message. */
function describe(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const inner = e instanceof AggregateError ? e.errors.find((x) => x instanceof Error) : undefined;
  return e.message || (inner ? describe(inner) : '') || (e as NodeJS.ErrnoException).code || e.name;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * The error's message for logs and the status row, without credentials: no user:password in URLs,
 * no AWS secret or session token even if some library put one in a message. Whole error objects are
 * never logged, since SDK errors carry request and response metadata.
 */
export function safeMessage(e: unknown): string {
  let m = describe(e);
  m = m.replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@]*@/gi, '$1[redacted]@');
  for (const name of ['AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN']) {
    const secret = process.env[name];
    if (secret && secret.length >= 4) m = m.split(secret).join('[redacted]');
  }
  return m.length > MAX_ERROR_LENGTH ? `${m.slice(0, MAX_ERROR_LENGTH)}…` : m;
}

interface Slot {
  /** The CRL being published (or last published). */
  current: QueuedCrl;
  /** The newest CRL waiting for it. */
  pending?: QueuedCrl;
  running: Promise<void>;
}

/**
 * Publishes CRLs to the targets in the background, so that a slow or dead target never holds the
 * CA's CRL lock or delays the next CRL. Per CA and partition one publication runs at a time and only
 * the newest waiting CRL is kept: targets get CRLs in increasing number, each at most once, and a
 * burst of builds costs one publication after the one under way.
 */
export class CrlTargetQueue {
  private readonly slots = new Map<string, Slot>();

  constructor(
    private readonly o: PublishToTargetsOptions & {
      /**
       * True when a newer CRL than this one is stored (made by another node meanwhile): it is then
       * not published, since the newer one's node publishes that.
       */
      superseded?: (file: Omit<CrlFile, 'der'>) => Promise<boolean>;
    },
  ) {}

  /** Queues the CRL and returns at once; replaces an older CRL of the same CA and partition still waiting. */
  enqueue(file: QueuedCrl): void {
    if (this.o.publishers.length === 0) return;
    const key = `${file.caId}/${file.partition}`;
    const busy = this.slots.get(key);
    if (busy) {
      if (file.crlNumber > (busy.pending ?? busy.current).crlNumber) busy.pending = file;
      return;
    }
    const slot: Slot = { current: file, pending: file, running: Promise.resolve() };
    this.slots.set(key, slot);
    slot.running = (async () => {
      for (let next = slot.pending; next; next = slot.pending) {
        slot.pending = undefined;
        slot.current = next;
        try {
          if (await this.o.superseded?.(next)) continue;
        } catch (e) {
          this.o.logger.warn({ caId: next.caId, partition: next.partition, error: safeMessage(e) }, 'checking for a newer CRL failed; publishing this one');
        }
        const queued = next;
        await (async () => {
          const der = 'der' in queued ? queued.der : await queued.load();
          if (der) await publishToTargets({ ...this.o, file: { ...crlFileRef(queued), der } });
        })().catch((e: unknown) => {
          this.o.logger.error({ caId: queued.caId, error: safeMessage(e) }, 'publishing the CRL to its targets failed');
        });
      }
      this.slots.delete(key);
    })();
  }

  /** Resolves once nothing is waiting or being published (for shutdown and tests). */
  async idle(): Promise<void> {
    while (this.slots.size) await Promise.all([...this.slots.values()].map((s) => s.running));
  }
}
