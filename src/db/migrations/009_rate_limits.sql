-- Rate limits per principal (docs/api.md "Principals, tokens and policies"): the limit is set on
-- the principal; the token buckets are shared by every node (src/services/rate-limiter.ts).
ALTER TABLE principals ADD COLUMN rate_limit jsonb;

-- One row per principal (and CA, for per-CA limits). UNLOGGED: it is written on every lease and
-- never worth a WAL flush; after a crash of the server the buckets simply start full.
CREATE UNLOGGED TABLE rate_buckets (
  key      text PRIMARY KEY,
  tokens   double precision NOT NULL,
  at       timestamptz NOT NULL,
  -- what the last lease granted (returned by the same statement that took it)
  granted  integer NOT NULL
);
