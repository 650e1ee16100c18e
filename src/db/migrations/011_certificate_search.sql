-- Certificate search (GET /v1/cas/{caId}/certificates?q=&expiresBefore=&expiresAfter=).
-- A certificate is found by its names (common name and SANs, lower-cased). The first of them, the
-- one nearly every certificate is known by (its CN, which is usually also its DNS SAN), is a column
-- of its row; any others are rows of certificate_names. "C" collation: a prefix is a byte range of
-- an index, whatever the database's locale.
ALTER TABLE certificates ADD COLUMN search_name text COLLATE "C";
CREATE INDEX certificates_search_name ON certificates (ca_id, search_name);

CREATE TABLE certificate_names (
  ca_id  uuid NOT NULL REFERENCES cas (id) ON DELETE CASCADE,
  serial text NOT NULL,
  name   text COLLATE "C" NOT NULL,
  PRIMARY KEY (ca_id, serial, name)
);
CREATE INDEX certificate_names_name ON certificate_names (ca_id, name);

-- Certificates issued before this release: their common name from the stored subject (RFC 4514,
-- escapes undone). Their SANs are not in the stored columns; they are found by CN and serial.
UPDATE certificates
SET search_name = lower(regexp_replace(substring(subject FROM '(?:^|,)CN=((?:\\.|[^,\\])*)'), '\\(.)', '\1', 'g'))
WHERE subject ~ '(^|,)CN=';

-- Expiry filters, and the dashboard's "expiring soon".
CREATE INDEX certificates_expiry ON certificates (ca_id, not_after);
