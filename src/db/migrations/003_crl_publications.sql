-- Where each CA's CRLs were put besides the database (a directory, an S3 bucket), and how that went:
-- one row per CA, partition and target, holding the outcome for the newest CRL number tried there.

CREATE TABLE crl_publications (
  ca_id       uuid NOT NULL REFERENCES cas (id) ON DELETE CASCADE,
  -- '' for the full CRL
  partition   text NOT NULL DEFAULT '',
  -- the publisher's stable name, e.g. 'directory:/srv/crl' or 's3:bucket/prefix'; never a credential
  target      text NOT NULL,
  crl_number  bigint NOT NULL,
  ok          boolean NOT NULL,
  attempts    integer NOT NULL,
  -- the last error message when ok is false, with credentials removed
  error       text,
  at          timestamptz NOT NULL,
  PRIMARY KEY (ca_id, partition, target)
);
