-- Certificate search (GET /v1/cas/{caId}/certificates?q=&expiresBefore=&expiresAfter=).
-- The names a certificate is found by: its common name and every SAN, lower-cased, one row each.
-- "C" collation: a prefix is a plain byte range of the primary key, whatever the database's locale.
CREATE TABLE certificate_names (
  ca_id  uuid NOT NULL,
  name   text COLLATE "C" NOT NULL,
  serial text NOT NULL,
  PRIMARY KEY (ca_id, name, serial)
);
-- Certificates go only with their CA (a purge), and so do their names. No foreign key to
-- certificates: its check would be one more index probe per name on the issuance path, and the
-- names are written in the certificate's own statement.
ALTER TABLE certificate_names ADD FOREIGN KEY (ca_id) REFERENCES cas (id) ON DELETE CASCADE;
-- A prefix that most certificates match ("host-") is answered by walking the certificates in serial
-- order and looking each one's names up here, instead of gathering every match first.
CREATE INDEX certificate_names_by_certificate ON certificate_names (ca_id, serial, name);

-- Certificates issued before this release: their common name from the stored subject (RFC 4514,
-- escapes undone). Their SANs are not in the stored columns; they are found by CN and serial.
INSERT INTO certificate_names (ca_id, name, serial)
SELECT DISTINCT ca_id, lower(regexp_replace(substring(subject FROM '(?:^|,)CN=((?:\\.|[^,\\])*)'), '\\(.)', '\1', 'g')), serial
FROM certificates
WHERE subject ~ '(^|,)CN=' AND substring(subject FROM '(?:^|,)CN=((?:\\.|[^,\\])*)') <> '';

-- Expiry filters, and the dashboard's "expiring soon".
CREATE INDEX certificates_expiry ON certificates (ca_id, not_after);
