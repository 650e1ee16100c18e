import { repeatAfter } from '../repeat.ts';
import type { AuditCheckpoint } from '../../domain/audit-event.ts';
import type { Clock } from '../../ports/clock.ts';
import type { JobLock } from '../../ports/job-lock.ts';
import type { AuditRepository } from '../../ports/repositories.ts';
import type { AuditKeys } from './audit-keys.ts';
import { GENESIS, chainHash, checkpointText } from './canonical.ts';

/** How often a node tries to seal; one node at a time gets the lock. */
const SEAL_MS = 1_000;
/** A checkpoint at least this often while events arrive (docs/api.md: every 60 s). */
const CHECKPOINT_MS = 60_000;
/** Events sealed per statement. */
const BATCH = 5_000;
const LOCK = 'audit-sealer';

/**
 * Puts committed events into the hash chain. Writers never touch the chain: an event is inserted
 * with seq NULL in the transaction of its change, so issuance does not wait for anything shared.
 * Every second, on whichever node gets the lock, the sealer takes the unsealed events in the order
 * they were written, gives each the next seq and its chain hash, and writes them in one statement;
 * it signs a checkpoint at least every 60 s while events arrive, and when asked (at shutdown).
 * docs/architecture.md ("The audit chain") says why no committed event can be skipped or sealed out
 * of order.
 */
export class AuditSealer {
  private stopSealing?: () => void;

  constructor(
    private readonly deps: {
      audit: Pick<AuditRepository, 'head' | 'unsealed' | 'seal' | 'latestCheckpoint' | 'saveCheckpoint'>;
      lock: Pick<JobLock, 'tryRun' | 'run'>;
      keys: Pick<AuditKeys, 'signer'>;
      clock: Clock;
      onError: (e: unknown) => void;
      intervalMs?: number;
      checkpointMs?: number;
    },
  ) {}

  start(): void {
    this.stopSealing = repeatAfter(this.deps.intervalMs ?? SEAL_MS, () => this.deps.lock.tryRun(LOCK, () => this.round(false)), this.deps.onError);
  }

  stop(): void {
    this.stopSealing?.();
  }

  /** Seals everything committed so far and signs a checkpoint of it (shutdown, tests), waiting for the lock. */
  sealNow(): Promise<{ sealed: number; checkpoint?: AuditCheckpoint }> {
    return this.deps.lock.run(LOCK, () => this.round(true));
  }

  private async round(forceCheckpoint: boolean): Promise<{ sealed: number; checkpoint?: AuditCheckpoint }> {
    const { audit } = this.deps;
    let head = (await audit.head()) ?? { seq: 0, hash: GENESIS };
    let sealed = 0;
    for (;;) {
      const events = await audit.unsealed(BATCH);
      if (events.length === 0) break;
      const seals = events.map((e) => {
        const seq = head.seq + 1;
        head = { seq, hash: chainHash(head.hash, { ...e, seq }) };
        return { id: e.id, seq, hash: head.hash };
      });
      const n = await audit.seal(seals);
      // Another sealer cannot have run meanwhile (the lock); if one did, audit_chain's primary key
      // or the seal's own check fails the statement as a whole, this round ends and the next one
      // starts from the database's head.
      if (n !== seals.length) throw new Error(`sealed ${n} of ${seals.length} audit events: another sealer ran`);
      sealed += n;
      if (events.length < BATCH) break;
    }
    const last = await audit.latestCheckpoint();
    const now = this.deps.clock.now();
    const due = forceCheckpoint || !last || now.getTime() - last.time.getTime() >= (this.deps.checkpointMs ?? CHECKPOINT_MS);
    if (head.seq === 0 || head.seq === last?.size || !due) return { sealed };
    const { id, signer } = await this.deps.keys.signer();
    const time = new Date(Math.floor(now.getTime() / 1000) * 1000);
    const signature = await signer.sign('SHA256WITHECDSA', Buffer.from(checkpointText({ size: head.seq, hash: head.hash, time }), 'utf8'));
    const checkpoint: AuditCheckpoint = { size: head.seq, hash: head.hash, time, keyId: id, signature: Buffer.from(signature) };
    await audit.saveCheckpoint(checkpoint);
    return { sealed, checkpoint };
  }
}
