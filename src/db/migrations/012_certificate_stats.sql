-- Certificate statistics (GET /v1/cas/{caId}/certificate-stats): issuance per UTC hour and day is a
-- range of this index, read without the table.
CREATE INDEX certificates_issued ON certificates (ca_id, issued_at);
