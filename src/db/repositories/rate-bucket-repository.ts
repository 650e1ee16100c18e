import type { RateBucketRepository } from '../../ports/repositories.ts';
import type { Queryable } from '../db.ts';

/*
 * One statement a lease. The row lock (FOR UPDATE, then the upsert) makes concurrent leases of one
 * bucket, from any node, take turns; the refill uses the server's clock, so nodes' clocks do not
 * matter. Two nodes creating the same bucket at once may both start from full: once per bucket.
 */
const TAKE = `
WITH prev AS (SELECT tokens, at FROM rate_buckets WHERE key = $1 FOR UPDATE),
     filled AS (SELECT coalesce((SELECT least($3::float8, tokens + $2::float8 * extract(epoch FROM clock_timestamp() - at)::float8) FROM prev), $3::float8) AS r),
     took AS (SELECT r, least($4::int, floor(r)::int) AS granted FROM filled)
INSERT INTO rate_buckets (key, tokens, at, granted)
SELECT $1, r - granted, clock_timestamp(), granted FROM took
ON CONFLICT (key) DO UPDATE SET tokens = excluded.tokens, at = excluded.at, granted = excluded.granted
RETURNING granted, tokens`;

export function rateBucketRepository(q: Queryable): RateBucketRepository {
  return {
    async take(key, requestsPerSecond, burst, want) {
      const r = await q.query<{ granted: number; tokens: number }>(TAKE, [key, requestsPerSecond, burst, want]);
      return { granted: Number(r.rows[0]!.granted), tokens: Number(r.rows[0]!.tokens) };
    },
  };
}
