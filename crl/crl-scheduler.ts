import cron, { type ScheduledTask } from 'node-cron';
import type { Logger } from 'pino';
import { CaError } from '../src/domain/ca-error.ts';
import type { Ca } from '../src/domain/ca.ts';
import type { CrlUpdater } from './crl-updater.ts';

/** How long revocations are gathered before the CRL is rebuilt (docs/api.md: in the CRL within 5 s). */
const DEBOUNCE_MS = 1_000;

const publishes = (ca: Ca) => ca.revocation.crl.enabled && !!ca.certificateDer && ca.status !== 'PENDING_CERTIFICATE';

/**
 * When CRLs are made: on each CA's cron schedule (node-cron), soon after every revocation
 * (debounced), and at once when a CA starts publishing. Every node runs one, told of CA changes made
 * here and on other nodes (src/services/ca-watcher.ts); the updater's lock and its `unlessSince`
 * make one CRL per tick across nodes.
 */
export class CrlScheduler {
  private readonly tasks = new Map<string, { schedule: string; task: ScheduledTask }>();
  private readonly pending = new Map<string, NodeJS.Timeout>();
  private readonly running = new Map<string, Promise<unknown>>();
  private stopped = false;

  constructor(private readonly deps: { updater: CrlUpdater; logger: Logger }) {}

  /** The CA is gone (purged): nothing left to publish for. */
  removed(caId: string): void {
    void this.tasks.get(caId)?.task.destroy();
    this.tasks.delete(caId);
  }

  /** Follows a CA's change: (re)schedules it, and publishes at once when it has just become able to. */
  caChanged(ca: Ca, options: { publishNow?: boolean } = {}): void {
    if (this.stopped) return;
    const current = this.tasks.get(ca.id);
    if (!publishes(ca)) {
      void current?.task.destroy();
      this.tasks.delete(ca.id);
      return;
    }
    const schedule = ca.revocation.crl.schedule;
    if (current?.schedule !== schedule) {
      void current?.task.destroy();
      const task = cron.schedule(schedule, (ctx) => {
        // The tick's own time (every node fires for the same one): a CRL made since then by any
        // node serves this tick.
        const tick = new Date(Math.floor((ctx?.date ?? new Date()).getTime() / 1000) * 1000);
        void this.run(ca.id, tick);
      });
      this.tasks.set(ca.id, { schedule, task });
    }
    if (options.publishNow ?? true) this.soon(ca.id, 0);
  }

  /**
   * A certificate of this CA was revoked: rebuild its CRL shortly, gathering further revocations.
   * Asked even when this node thinks the CA has CRLs off (it may not have heard yet that another
   * node turned them on); the build then finds them off and does nothing.
   */
  revoked(caId: string): void {
    this.soon(caId, DEBOUNCE_MS);
  }

  /** The CA's certificates started naming a new CRL partition: publish at once, so that it is served. */
  partitionOpened(caId: string): void {
    this.soon(caId, 0);
  }

  private soon(caId: string, delay: number): void {
    if (this.stopped || this.pending.has(caId)) return;
    this.pending.set(
      caId,
      setTimeout(() => {
        this.pending.delete(caId);
        void this.run(caId);
      }, delay),
    );
  }

  private async run(caId: string, unlessSince?: Date): Promise<void> {
    // Builds of one CA run one after the other; a revocation during a build gets a build after it.
    const prev = this.running.get(caId) ?? Promise.resolve();
    const next = prev.then(async () => {
      try {
        await this.deps.updater.publish(caId, { unlessSince });
      } catch (e) {
        if (e instanceof CaError && (e.code === 'ca_not_found' || e.code === 'crl_disabled')) {
          // Purged, or CRLs turned off on another node before this one heard of it: nothing to publish.
          void this.tasks.get(caId)?.task.destroy();
          this.tasks.delete(caId);
          return;
        }
        this.deps.logger.error({ caId, err: e }, 'publishing the CRL failed');
      }
    });
    this.running.set(caId, next);
    await next;
    if (this.running.get(caId) === next) this.running.delete(caId);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.pending.values()) clearTimeout(t);
    for (const { task } of this.tasks.values()) await task.destroy();
    await Promise.all(this.running.values());
  }
}
