-- A CRL is stored as pieces whose concatenation is its DER: part 0 the CertificateList and
-- TBSCertList headers, then the revoked entries in chunks (written while the CRL is still being
-- built), the last part crlExtensions and the signature. A million-entry CRL (45 MB) then never has
-- to be joined in memory, nor sent to PostgreSQL as one parameter. crls.der stays for CRLs stored
-- before this migration; crls.parts says how many parts a CRL has (NULL: der holds it).
CREATE TABLE crl_parts (
  ca_id       uuid NOT NULL REFERENCES cas (id) ON DELETE CASCADE,
  partition   text NOT NULL,
  crl_number  bigint NOT NULL,
  seq         integer NOT NULL,
  bytes       bytea NOT NULL,
  PRIMARY KEY (ca_id, partition, crl_number, seq)
);
-- Random serials do not compress: skip the attempt.
ALTER TABLE crl_parts ALTER COLUMN bytes SET STORAGE EXTERNAL;
ALTER TABLE crls ALTER COLUMN der DROP NOT NULL;
ALTER TABLE crls ADD COLUMN parts integer;
