-- The audit log as one hash chain: events gain their principal, resource, outcome and source, and a
-- seq and hash that the sealer gives them once (src/services/audit/sealer.ts); signed checkpoints;
-- the audit key; audit reports. Events are never changed or deleted (a trigger refuses it).

ALTER TABLE audit_events RENAME COLUMN detail TO details;
ALTER TABLE audit_events ADD COLUMN principal_id uuid;
ALTER TABLE audit_events ADD COLUMN principal_name text;
ALTER TABLE audit_events ADD COLUMN resource text;
ALTER TABLE audit_events ADD COLUMN outcome text NOT NULL DEFAULT 'SUCCESS' CHECK (outcome IN ('SUCCESS', 'DENIED'));
ALTER TABLE audit_events ADD COLUMN source_ip text;
-- the position in the chain and the chain hash, NULL until sealed
ALTER TABLE audit_events ADD COLUMN seq bigint;
ALTER TABLE audit_events ADD COLUMN hash bytea;

-- Events written before this: their principal from the actor, their resource from the CA, their
-- action by the names of the API's actions.
UPDATE audit_events SET principal_name = substr(actor, 11) WHERE actor LIKE 'principal:%';
UPDATE audit_events SET principal_name = 'admin' WHERE actor LIKE 'token:%';
UPDATE audit_events SET principal_id = p.id FROM principals p WHERE p.name = audit_events.principal_name AND p.deleted_at IS NULL;
UPDATE audit_events SET details = details || jsonb_build_object('serial', serial) WHERE serial IS NOT NULL;
-- Who issued each certificate (reports name them): from now on written with it; for older rows, from
-- the issuance's audit event.
ALTER TABLE certificates ADD COLUMN issued_by text;
UPDATE certificates c SET issued_by = e.principal_name FROM audit_events e
 WHERE e.ca_id = c.ca_id AND e.serial = c.serial AND e.action = 'certificate.issue';
UPDATE audit_events SET resource = CASE WHEN ca_id IS NOT NULL THEN 'ca/' || ca_id
  WHEN details ? 'principalId' AND action LIKE 'principal.%' THEN 'principal/' || (details->>'principalId')
  WHEN details ? 'principalId' AND action LIKE 'token.%' THEN 'principal/' || (details->>'principalId')
  WHEN details ? 'policyId' THEN 'policy/' || (details->>'policyId')
  ELSE '*' END;
UPDATE audit_events SET action = 'privateca:' || CASE action
  WHEN 'ca.create' THEN 'CreateCertificateAuthority' WHEN 'ca.update' THEN 'UpdateCertificateAuthority'
  WHEN 'ca.delete' THEN 'DeleteCertificateAuthority' WHEN 'ca.restore' THEN 'RestoreCertificateAuthority'
  WHEN 'ca.certificate.import' THEN 'ImportCertificateAuthorityCertificate' WHEN 'ca.certificate.renew' THEN 'ImportCertificateAuthorityCertificate'
  WHEN 'ca.purge' THEN 'PurgeCertificateAuthority' WHEN 'certificate.issue' THEN 'IssueCertificate'
  WHEN 'certificate.revoke' THEN 'RevokeCertificate' WHEN 'principal.bootstrap' THEN 'Bootstrap'
  WHEN 'principal.create' THEN 'CreatePrincipal' WHEN 'principal.update' THEN 'UpdatePrincipal' WHEN 'principal.delete' THEN 'DeletePrincipal'
  WHEN 'token.create' THEN 'CreateToken' WHEN 'token.delete' THEN 'DeleteToken'
  WHEN 'policy.create' THEN 'CreatePolicy' WHEN 'policy.update' THEN 'UpdatePolicy' WHEN 'policy.delete' THEN 'DeletePolicy'
  ELSE action END
  WHERE action NOT LIKE 'privateca:%';
ALTER TABLE audit_events ALTER COLUMN resource SET NOT NULL;
DROP INDEX audit_events_ca;
ALTER TABLE audit_events DROP COLUMN actor;
ALTER TABLE audit_events DROP COLUMN ca_id;
ALTER TABLE audit_events DROP COLUMN serial;

-- seq and hash are in no index, so that the sealer's one update of a row stays on its page (a HOT
-- update: no index entry written) when the page has room; pages are filled half at insert for that.
-- The chain's order is kept in audit_chain, the sealer's work in audit_pending (docs/architecture.md).
ALTER TABLE audit_events SET (fillfactor = 50);
CREATE INDEX audit_events_principal ON audit_events (principal_id, id);
CREATE INDEX audit_events_resource ON audit_events (resource, id);
CREATE INDEX audit_events_action ON audit_events (action, id);
CREATE INDEX audit_events_denied ON audit_events (id) WHERE outcome = 'DENIED';
-- time follows id closely: a block range index costs almost nothing to keep
CREATE INDEX audit_events_time ON audit_events USING brin (at);

CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    RAISE EXCEPTION 'audit events are never deleted';
  END IF;
  IF OLD.seq IS NOT NULL OR NEW.seq IS NULL OR NEW.hash IS NULL
     OR (NEW.id, NEW.at, NEW.principal_id, NEW.principal_name, NEW.action, NEW.resource, NEW.outcome, NEW.source_ip, NEW.request_id, NEW.details)
        IS DISTINCT FROM (OLD.id, OLD.at, OLD.principal_id, OLD.principal_name, OLD.action, OLD.resource, OLD.outcome, OLD.source_ip, OLD.request_id, OLD.details) THEN
    RAISE EXCEPTION 'audit events are never changed; only the sealer gives an event its seq and hash, once';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
  FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();

-- The events not sealed yet: one row each, added by the statement that writes them, removed by the
-- seal that gives them their seq.
CREATE TABLE audit_pending (id bigint PRIMARY KEY);
INSERT INTO audit_pending SELECT id FROM audit_events;
CREATE FUNCTION audit_events_pending() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO audit_pending SELECT id FROM added WHERE seq IS NULL;
  RETURN NULL;
END $$;
CREATE TRIGGER audit_events_pending AFTER INSERT ON audit_events REFERENCING NEW TABLE AS added
  FOR EACH STATEMENT EXECUTE FUNCTION audit_events_pending();

-- The chain in seq order, one row a sealed event: which event has that seq, and the chain hash.
CREATE TABLE audit_chain (
  seq       bigint PRIMARY KEY,
  event_id  bigint NOT NULL,
  hash      bytea NOT NULL
);

CREATE TABLE audit_checkpoints (
  size       bigint PRIMARY KEY,
  hash       bytea NOT NULL,
  time       timestamptz NOT NULL,
  key_id     text NOT NULL,
  signature  bytea NOT NULL
);

-- The key that signs checkpoints and reports; it lives in a key store like a CA key.
CREATE TABLE audit_keys (
  id          text PRIMARY KEY,
  key_uri     text NOT NULL,
  spki        bytea NOT NULL,
  created_at  timestamptz NOT NULL
);

CREATE TABLE audit_reports (
  id            uuid PRIMARY KEY,
  ca_id         uuid NOT NULL REFERENCES cas (id) ON DELETE CASCADE,
  format        text NOT NULL CHECK (format IN ('JSON', 'CSV')),
  status        text NOT NULL CHECK (status IN ('CREATING', 'SUCCESS', 'FAILED')),
  created_at    timestamptz NOT NULL,
  -- who asked (the report lists what was issued up to created_at)
  principal_name text,
  -- written as the report is made; a CREATING report whose heartbeat stops was lost with its node
  heartbeat_at  timestamptz NOT NULL,
  completed_at  timestamptz,
  rows          bigint,
  size          bigint,
  parts         integer,
  sha256        bytea,
  -- DER ECDSA over the content with the audit key key_id
  signature     bytea,
  key_id        text,
  -- the copy in the S3 bucket, or why there is none
  s3_key        text,
  s3_error      text,
  error         text
);
CREATE INDEX audit_reports_ca ON audit_reports (ca_id, created_at);
-- One report in the making per CA at a time, across nodes.
CREATE UNIQUE INDEX audit_reports_creating ON audit_reports (ca_id) WHERE status = 'CREATING';
-- The content, 1 MiB a part, in order.
CREATE TABLE audit_report_parts (
  report_id  uuid NOT NULL REFERENCES audit_reports (id) ON DELETE CASCADE,
  seq        integer NOT NULL,
  bytes      bytea NOT NULL,
  PRIMARY KEY (report_id, seq)
);
