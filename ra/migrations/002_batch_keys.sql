-- 002_batch_keys: "issue N more" batches whose device keys the RA makes and hands out once,
-- as one ZIP.  No private key is ever stored in clear (ra/batch_envelope.c):
--  * each such batch has an envelope key pair (RSA-3072): its public key (SPKI DER) is
--    kept here, its private key only as encrypted PKCS#8 PEM (PBES2, PBKDF2-HMAC-SHA256,
--    AES-256-CBC) under the officer's batch passphrase, which is never stored;
--  * each device key is stored only sealed to that public key (certificates.key_envelope).
-- After the one download both are deleted (NULL) and downloaded_at is set.
-- A batch made by 001 code (bulk files) has planned = 0 and none of these.

ALTER TABLE batches ADD COLUMN planned INTEGER NOT NULL DEFAULT 0
	CHECK (planned BETWEEN 0 AND 10000);
ALTER TABLE batches ADD COLUMN validity_days INTEGER NOT NULL DEFAULT 0
	CHECK (validity_days BETWEEN 0 AND 36500);
ALTER TABLE batches ADD COLUMN key_type TEXT NOT NULL DEFAULT ''
	CHECK (key_type IN ('', 'ec-p256', 'ec-p384', 'rsa-2048', 'rsa-3072'));
ALTER TABLE batches ADD COLUMN p12_format TEXT NOT NULL DEFAULT ''
	CHECK (p12_format IN ('', 'modern', 'compatible'));
ALTER TABLE batches ADD COLUMN envelope_spki BLOB
	CHECK (envelope_spki IS NULL OR length(envelope_spki) BETWEEN 1 AND 2048);
-- Only ever an encrypted PKCS#8 PEM: the database itself refuses a clear key here.
ALTER TABLE batches ADD COLUMN envelope_key TEXT
	CHECK (envelope_key IS NULL OR (envelope_key GLOB '-----BEGIN ENCRYPTED PRIVATE KEY-----*'
	AND length(envelope_key) <= 8192));
ALTER TABLE batches ADD COLUMN downloaded_at INTEGER;

-- A device key sealed to its batch's envelope public key ("IKB1" blob, see
-- ra/batch_envelope.c); NULL for every certificate whose key the RA does not keep.
ALTER TABLE certificates ADD COLUMN key_envelope BLOB
	CHECK (key_envelope IS NULL OR (length(key_envelope) BETWEEN 64 AND 8192
	AND substr(key_envelope, 1, 4) = CAST('IKB1' AS BLOB)));

-- "Numbering continues after the highest number used": the batch worker looks up the
-- highest common name of a pattern through certs_cn (001) as a range scan.
