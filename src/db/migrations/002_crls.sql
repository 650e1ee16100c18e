-- CRLs: the number sequence per CA, and the latest CRL of each CA (and later, of each partition).

-- The last CRL number handed out. Taken with UPDATE … RETURNING under the CA's CRL lock, so that a
-- number is never used twice, across restarts and nodes, even when a build dies after taking it.
ALTER TABLE cas ADD COLUMN crl_number bigint NOT NULL DEFAULT 0;

CREATE TABLE crls (
  ca_id          uuid NOT NULL REFERENCES cas (id) ON DELETE CASCADE,
  -- '' for the full CRL
  partition      text NOT NULL DEFAULT '',
  crl_number     bigint NOT NULL,
  this_update    timestamptz NOT NULL,
  next_update    timestamptz NOT NULL,
  revoked_count  integer NOT NULL,
  der            bytea NOT NULL,
  PRIMARY KEY (ca_id, partition)
);
