-- privateca schema, version 1. Common to PostgreSQL 15 and PGlite (PostgreSQL 18).

CREATE TABLE cas (
  id                uuid PRIMARY KEY,
  type              text NOT NULL CHECK (type IN ('ROOT', 'SUBORDINATE')),
  status            text NOT NULL CHECK (status IN ('PENDING_CERTIFICATE', 'ACTIVE', 'DISABLED', 'DELETED')),
  -- the status a DELETED CA returns to when restored
  previous_status   text,
  subject           jsonb NOT NULL,
  key_algorithm     text NOT NULL,
  signing_algorithm text NOT NULL,
  key_store_type    text NOT NULL,
  key_uri           text NOT NULL,
  csr               bytea,
  certificate       bytea,
  -- concatenated PEM, the issuer of the CA certificate first, the root last; '' for a ROOT
  chain             text NOT NULL DEFAULT '',
  serial            text,
  not_before        timestamptz,
  not_after         timestamptz,
  -- bumped on every certificate import, so that nodes that cached the CA certificate notice
  cert_version      integer NOT NULL DEFAULT 0,
  revocation        jsonb NOT NULL,
  tags              jsonb NOT NULL DEFAULT '{}',
  created_at        timestamptz NOT NULL,
  updated_at        timestamptz NOT NULL,
  restorable_until  timestamptz
);
CREATE INDEX cas_created ON cas (created_at, id);

CREATE TABLE certificates (
  ca_id             uuid NOT NULL REFERENCES cas (id) ON DELETE CASCADE,
  -- lowercase hex of the serial's magnitude, 32 digits for the serials we issue
  serial            text NOT NULL,
  status            text NOT NULL CHECK (status IN ('ISSUED', 'REVOKED')),
  der               bytea NOT NULL,
  subject           text NOT NULL,
  template          text NOT NULL,
  not_before        timestamptz NOT NULL,
  not_after         timestamptz NOT NULL,
  issued_at         timestamptz NOT NULL,
  revoked_at        timestamptz,
  revocation_reason text,
  PRIMARY KEY (ca_id, serial)
);
-- CRLs and ?status=REVOKED read only the revoked rows.
CREATE INDEX certificates_revoked ON certificates (ca_id, serial) WHERE status = 'REVOKED';

CREATE TABLE idempotency_keys (
  ca_id       uuid NOT NULL REFERENCES cas (id) ON DELETE CASCADE,
  token       text NOT NULL,
  csr_sha256  bytea NOT NULL,
  serial      text NOT NULL,
  created_at  timestamptz NOT NULL,
  PRIMARY KEY (ca_id, token)
);

CREATE TABLE software_keys (
  id          uuid PRIMARY KEY,
  algorithm   text NOT NULL,
  spki        bytea NOT NULL,
  -- AES-256-GCM: 12-byte nonce || ciphertext || 16-byte tag, with the key id as additional data
  wrapped_key bytea NOT NULL,
  -- which key-encryption key wrapped it (a fingerprint, not the key)
  kek_id      text NOT NULL,
  created_at  timestamptz NOT NULL
);

CREATE TABLE api_tokens (
  id          uuid PRIMARY KEY,
  name        text NOT NULL,
  -- SHA-256 of the token; the token itself is never stored
  token_hash  bytea NOT NULL UNIQUE,
  role        text NOT NULL,
  created_at  timestamptz NOT NULL,
  revoked_at  timestamptz
);

CREATE TABLE audit_events (
  id          bigserial PRIMARY KEY,
  at          timestamptz NOT NULL,
  actor       text NOT NULL,
  action      text NOT NULL,
  ca_id       uuid,
  serial      text,
  request_id  text,
  detail      jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_events_ca ON audit_events (ca_id, id);
