-- Partitioned CRLs: each certificate of a partitioned CA names its partition's CRL.

-- Blocks of partition numbers handed out to nodes for this CA (a node takes a block, numbers the
-- certificates it issues from it; partition = number / partition size).
ALTER TABLE cas ADD COLUMN partition_blocks integer NOT NULL DEFAULT 0;
ALTER TABLE certificates ADD COLUMN crl_partition text;
CREATE INDEX certificates_revoked_partition ON certificates (ca_id, crl_partition, serial)
  WHERE status = 'REVOKED' AND crl_partition IS NOT NULL;
