import type { RateLimit } from '../domain/principal.ts';
import type { RateBucketRepository } from '../ports/repositories.ts';

/** How long tokens leased from the shared bucket may be spent here before they lapse. */
const LEASE_MS = 1_000;

interface Local {
  tokens: number;
  until: number;
  /** The shared bucket was empty: refuse here, without asking it again, until then. */
  deniedUntil: number;
  leasing?: Promise<void>;
}

/**
 * Per-principal rate limits that hold for all nodes together. The bucket lives in the database
 * (RateBucketRepository); each process leases a tenth of a second's worth of tokens at a time
 * (at least one) and spends them locally for at most a second, so that a limited principal costs
 * one statement per lease, not per request, and a refusal costs nothing until the bucket refills.
 * Leased tokens that lapse unspent are lost, never given twice: the limit is never exceeded, and
 * falls short only by what lapses (little, since leases are small and lapse only when traffic stops).
 * A principal without a limit never reaches this class.
 */
export class RateLimiter {
  private readonly local = new Map<string, Local>();

  constructor(private readonly buckets: RateBucketRepository) {}

  /** Undefined when the request may go on; else the seconds until a retry may succeed (at least 1). */
  async take(key: string, limit: RateLimit): Promise<number | undefined> {
    for (;;) {
      const now = Date.now();
      let e = this.local.get(key);
      if (!e) {
        if (this.local.size >= 10_000) this.prune(now);
        e = { tokens: 0, until: 0, deniedUntil: 0 };
        this.local.set(key, e);
      }
      if (e.tokens >= 1 && now < e.until) {
        e.tokens--;
        return undefined;
      }
      if (now < e.deniedUntil) return Math.max(1, Math.ceil((e.deniedUntil - now) / 1000));
      const entry = e;
      e.leasing ??= this.lease(key, limit, entry).finally(() => (entry.leasing = undefined));
      await e.leasing;
    }
  }

  private async lease(key: string, limit: RateLimit, e: Local): Promise<void> {
    const want = Math.min(limit.burst, Math.max(1, Math.ceil(limit.requestsPerSecond / 10)));
    const { granted, tokens } = await this.buckets.take(key, limit.requestsPerSecond, limit.burst, want);
    const now = Date.now();
    e.tokens = granted;
    e.until = now + LEASE_MS;
    if (granted === 0) e.deniedUntil = now + (Math.max(0, 1 - tokens) / limit.requestsPerSecond) * 1000;
  }

  private prune(now: number): void {
    for (const [k, e] of this.local) if (e.until < now && e.deniedUntil < now && !e.leasing) this.local.delete(k);
  }
}
