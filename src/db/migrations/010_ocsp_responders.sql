-- OCSP (docs/api.md "OCSP"): the delegated responder certificates each CA issues to itself. A CA's
-- current responder is its row with the latest not_after; older rows stay until they expire, for
-- answers signed by them that clients still hold.
CREATE TABLE ocsp_responders (
  ca_id           uuid NOT NULL REFERENCES cas (id) ON DELETE CASCADE,
  serial          text NOT NULL,
  key_uri         text NOT NULL,
  certificate     bytea NOT NULL,
  not_before      timestamptz NOT NULL,
  not_after       timestamptz NOT NULL,
  created_at      timestamptz NOT NULL,
  PRIMARY KEY (ca_id, serial)
);
CREATE INDEX ocsp_responders_latest ON ocsp_responders (ca_id, not_after DESC);
