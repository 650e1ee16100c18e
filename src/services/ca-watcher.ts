import { repeatAfter } from './repeat.ts';
import type { Ca } from '../domain/ca.ts';
import type { CaRepository } from '../ports/repositories.ts';

/** How often a node looks for CA changes made on other nodes (new CAs, status, tags, CRL settings). */
const POLL_MS = 2_000;

/**
 * Follows the CAs that every node shares: a cheap poll of (id, updatedAt) every 2 s, full rows only
 * for CAs that changed. Told of this node's own changes (noteLocal), it reports only other nodes'.
 * The CRL schedule and the CA contexts (tags for ResourceTag conditions, status) follow it.
 */
export class CaWatcher {
  private readonly seen = new Map<string, number>();
  private readonly changeListeners: ((ca: Ca) => void)[] = [];
  private readonly removeListeners: ((id: string) => void)[] = [];
  private stopPolling?: () => void;

  constructor(private readonly deps: { cas: Pick<CaRepository, 'get' | 'listVersions'>; onError: (e: unknown) => void; pollMs?: number }) {}

  onChange(l: (ca: Ca) => void): void {
    this.changeListeners.push(l);
  }

  onRemoved(l: (id: string) => void): void {
    this.removeListeners.push(l);
  }

  /** Reports every CA once (as changed), then follows changes until stop(). */
  async start(): Promise<void> {
    await this.poll();
    this.stopPolling = repeatAfter(this.deps.pollMs ?? POLL_MS, () => this.poll(), this.deps.onError);
  }

  /** A change this node made and handled itself: not to be reported again. */
  noteLocal(ca: Pick<Ca, 'id' | 'updatedAt'>): void {
    this.seen.set(ca.id, ca.updatedAt.getTime());
  }

  private async poll(): Promise<void> {
    const versions = await this.deps.cas.listVersions();
    const present = new Set<string>();
    for (const v of versions) {
      present.add(v.id);
      if (this.seen.get(v.id) === v.updatedAt.getTime()) continue;
      const ca = await this.deps.cas.get(v.id);
      if (!ca) continue;
      this.seen.set(ca.id, ca.updatedAt.getTime());
      for (const l of this.changeListeners) l(ca);
    }
    for (const id of [...this.seen.keys()]) {
      if (present.has(id)) continue;
      this.seen.delete(id);
      for (const l of this.removeListeners) l(id);
    }
  }

  stop(): void {
    this.stopPolling?.();
  }
}
