-- 009_batch_cek: one RSA-OAEP wrap per batch instead of one per device key ("IKB2",
-- ra/batch_seal.c).  The batch worker makes one AES-256 content key per batch, wraps it
-- once to the batch's envelope public key (RSA-OAEP, its label naming the batch) and keeps
-- only that wrapped copy here; each device key is then sealed with AES-256-GCM under a
-- per-key key derived from it.  Deleted (NULL) with the envelope key after the download.
ALTER TABLE batches ADD COLUMN envelope_cek BLOB
	CHECK (envelope_cek IS NULL OR length(envelope_cek) BETWEEN 256 AND 1024);

-- certificates.key_envelope now holds "IKB1" (earlier batches, and a batch resumed after a
-- restart: the worker no longer holds its content key) or "IKB2" blobs.  SQLite cannot
-- change a column's CHECK in place: a new column with the new CHECK takes the blobs, the
-- old one is dropped and the new one takes its name (one pass over the table, once).
ALTER TABLE certificates ADD COLUMN key_sealed BLOB
	CHECK (key_sealed IS NULL OR (length(key_sealed) BETWEEN 64 AND 8192
	AND substr(key_sealed, 1, 4) IN (CAST('IKB1' AS BLOB), CAST('IKB2' AS BLOB))));
UPDATE certificates SET key_sealed = key_envelope WHERE key_envelope IS NOT NULL;
ALTER TABLE certificates DROP COLUMN key_envelope;
ALTER TABLE certificates RENAME COLUMN key_sealed TO key_envelope;
