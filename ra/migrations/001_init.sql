-- 001_init: the RA's first schema.  Applied by the store inside one transaction; the
-- store records it in schema_version.  Lengths are in bytes.  Times are unix seconds; hashes are raw 32-byte
-- BLOBs; states are lowercase words, checked here and not only in C.  Secrets are never
-- stored: passwords and download credentials are PHC strings ("$scrypt$..."), sessions
-- and API tokens only their SHA-256.

CREATE TABLE officers (
	id            INTEGER PRIMARY KEY,
	login         TEXT NOT NULL COLLATE NOCASE UNIQUE
	              CHECK (length(CAST(login AS BLOB)) BETWEEN 1 AND 64),
	role          INTEGER NOT NULL CHECK (role IN (2, 3, 4)), -- auditor, officer, administrator
	password      TEXT NOT NULL CHECK (password GLOB '$*' AND length(CAST(password AS BLOB)) < 160),
	failed_logins INTEGER NOT NULL DEFAULT 0 CHECK (failed_logins >= 0),
	locked_until  INTEGER NOT NULL DEFAULT 0,
	disabled      INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
	created_at    INTEGER NOT NULL
);

CREATE TABLE sessions (
	id_hash    BLOB PRIMARY KEY CHECK (typeof(id_hash) = 'blob' AND length(id_hash) = 32),
	officer_id INTEGER NOT NULL REFERENCES officers(id) ON DELETE CASCADE,
	created_at INTEGER NOT NULL,
	last_seen  INTEGER NOT NULL,
	csrf_hash  BLOB CHECK (csrf_hash IS NULL OR length(csrf_hash) = 32)
) WITHOUT ROWID;
CREATE INDEX sessions_officer ON sessions(officer_id);

CREATE TABLE api_tokens (
	id         INTEGER PRIMARY KEY,
	hash       BLOB NOT NULL UNIQUE CHECK (typeof(hash) = 'blob' AND length(hash) = 32),
	name       TEXT NOT NULL CHECK (length(CAST(name AS BLOB)) BETWEEN 1 AND 64),
	officer_id INTEGER NOT NULL REFERENCES officers(id) ON DELETE CASCADE,
	created_at INTEGER NOT NULL
);
CREATE INDEX api_tokens_officer ON api_tokens(officer_id);

CREATE TABLE users (
	id           INTEGER PRIMARY KEY,
	external_id  TEXT NOT NULL COLLATE NOCASE UNIQUE
	             CHECK (length(CAST(external_id AS BLOB)) BETWEEN 1 AND 128),
	email        TEXT NOT NULL DEFAULT '' CHECK (length(CAST(email AS BLOB)) <= 254),
	display_name TEXT NOT NULL DEFAULT '' CHECK (length(CAST(display_name AS BLOB)) <= 512),
	created_at   INTEGER NOT NULL
);

-- The model information lives in the device row and goes with it.
CREATE TABLE devices (
	id         INTEGER PRIMARY KEY,
	user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	name       TEXT NOT NULL CHECK (length(CAST(name AS BLOB)) BETWEEN 1 AND 256),
	model      TEXT NOT NULL DEFAULT '' CHECK (length(CAST(model AS BLOB)) <= 512),
	created_at INTEGER NOT NULL,
	UNIQUE (user_id, name)
);

-- A batch finishes when sealed (all its requests added) and all of them are done or
-- failed; it is 'failed' when aborted.
CREATE TABLE batches (
	id         INTEGER PRIMARY KEY,
	kind       TEXT NOT NULL CHECK (kind IN ('issue', 'renew', 'revoke', 'suspend', 'resume')),
	total      INTEGER NOT NULL DEFAULT 0 CHECK (total >= 0),
	done       INTEGER NOT NULL DEFAULT 0 CHECK (done >= 0),
	failed     INTEGER NOT NULL DEFAULT 0 CHECK (failed >= 0),
	state      TEXT NOT NULL DEFAULT 'running'
	           CHECK (state IN ('running', 'finished', 'failed')),
	sealed     INTEGER NOT NULL DEFAULT 0 CHECK (sealed IN (0, 1)),
	cn_pattern TEXT NOT NULL DEFAULT '' CHECK (length(CAST(cn_pattern AS BLOB)) <= 256),
	created_by TEXT NOT NULL CHECK (length(CAST(created_by AS BLOB)) <= 128),
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL,
	CHECK (done + failed <= total)
);
-- At most one batch runs at a time, whatever the C code does.
CREATE UNIQUE INDEX batches_one_running ON batches(state) WHERE state = 'running';

-- A row exists from the moment an issuance is decided (state issuing or
-- awaiting_download, no serial yet); the signer's answer fills serial, der, validity.
CREATE TABLE certificates (
	id            INTEGER PRIMARY KEY,
	device_id     INTEGER REFERENCES devices(id) ON DELETE SET NULL,
	user_id       INTEGER REFERENCES users(id) ON DELETE SET NULL,
	request_id    INTEGER REFERENCES requests(id),   -- the request issuing it
	serial        TEXT UNIQUE CHECK (serial IS NULL OR (length(serial) BETWEEN 2 AND 40
	              AND length(serial) % 2 = 0 AND serial NOT GLOB '*[^0-9a-f]*')),
	cn            TEXT NOT NULL CHECK (length(CAST(cn AS BLOB)) BETWEEN 1 AND 256),
	validity_days INTEGER NOT NULL CHECK (validity_days BETWEEN 1 AND 36500),
	not_before    INTEGER,
	not_after     INTEGER,
	state         TEXT NOT NULL CHECK (state IN ('issuing', 'awaiting_download', 'active',
	              'suspended', 'revoked', 'expired', 'superseded', 'failed')),
	reason        INTEGER CHECK (reason IS NULL OR reason BETWEEN 0 AND 10),
	current       INTEGER NOT NULL DEFAULT 0 CHECK (current IN (0, 1)),
	der           BLOB,
	sha256        BLOB CHECK (sha256 IS NULL OR length(sha256) = 32),
	created_at    INTEGER NOT NULL,
	updated_at    INTEGER NOT NULL,
	CHECK ((serial IS NULL) = (der IS NULL) AND (serial IS NULL) = (sha256 IS NULL)),
	CHECK ((serial IS NULL) = (not_after IS NULL) AND (serial IS NULL) = (not_before IS NULL)),
	CHECK (state IN ('issuing', 'awaiting_download', 'failed') OR serial IS NOT NULL),
	CHECK (state <> 'revoked' OR reason IS NOT NULL),
	CHECK (current = 0 OR state IN ('active', 'suspended'))
);
-- Keyset paging: one index per sort key, each ending in id (the tie-breaker).
CREATE INDEX certs_created ON certificates(created_at, id);
CREATE INDEX certs_cn ON certificates(cn, id);
CREATE INDEX certs_not_before ON certificates(IFNULL(not_before, 0), id);
CREATE INDEX certs_not_after ON certificates(IFNULL(not_after, 0), id);
CREATE INDEX certs_serial ON certificates(IFNULL(serial, ''), id);
CREATE INDEX certs_device ON certificates(device_id);
CREATE INDEX certs_user ON certificates(user_id);
CREATE INDEX certs_request ON certificates(request_id);
-- One current certificate per device, and at most one on its way.
CREATE UNIQUE INDEX certs_one_current ON certificates(device_id) WHERE current = 1;
CREATE UNIQUE INDEX certs_one_pending ON certificates(device_id)
	WHERE state IN ('issuing', 'awaiting_download');

-- The queue.  request_id (16 random bytes, hex) is what the signer sees: it makes
-- every retry idempotent.
CREATE TABLE requests (
	id              INTEGER PRIMARY KEY,
	request_id      TEXT NOT NULL UNIQUE
	                CHECK (length(request_id) = 32 AND request_id NOT GLOB '*[^0-9a-f]*'),
	kind            TEXT NOT NULL
	                CHECK (kind IN ('issue', 'renew', 'revoke', 'suspend', 'resume')),
	state           TEXT NOT NULL DEFAULT 'pending'
	                CHECK (state IN ('pending', 'sent', 'done', 'failed')),
	device_id       INTEGER REFERENCES devices(id) ON DELETE SET NULL,
	batch_id        INTEGER REFERENCES batches(id),
	cert_id         INTEGER NOT NULL REFERENCES certificates(id), -- issued, or the target
	old_cert_id     INTEGER REFERENCES certificates(id),          -- renew: replaced one
	subject_cn      TEXT NOT NULL DEFAULT '' CHECK (length(CAST(subject_cn AS BLOB)) <= 256),
	validity_days   INTEGER NOT NULL DEFAULT 0 CHECK (validity_days BETWEEN 0 AND 36500),
	pubkey          BLOB CHECK (pubkey IS NULL OR length(pubkey) BETWEEN 1 AND 2048),
	generate_here   INTEGER NOT NULL DEFAULT 0 CHECK (generate_here IN (0, 1)),
	reason          INTEGER CHECK (reason IS NULL OR reason BETWEEN 0 AND 10),
	revoke_old      INTEGER NOT NULL DEFAULT 0 CHECK (revoke_old IN (0, 1)),
	attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
	last_error      TEXT NOT NULL DEFAULT '' CHECK (length(CAST(last_error AS BLOB)) <= 512),
	next_attempt_at INTEGER NOT NULL DEFAULT 0,
	created_by      TEXT NOT NULL DEFAULT '' CHECK (length(CAST(created_by AS BLOB)) <= 128),
	created_at      INTEGER NOT NULL,
	updated_at      INTEGER NOT NULL,
	CHECK (kind NOT IN ('issue', 'renew') OR (subject_cn <> '' AND validity_days > 0
	       AND (pubkey IS NOT NULL OR generate_here = 1))),
	CHECK (kind <> 'renew' OR old_cert_id IS NOT NULL),
	CHECK (kind <> 'revoke' OR reason IS NOT NULL)
);
CREATE INDEX requests_queue ON requests(state, id);  -- claim: the oldest pending first
CREATE INDEX requests_batch ON requests(batch_id, state);
CREATE INDEX requests_cert ON requests(cert_id);

-- One-time download credentials for a certificate (user name + initial password, or an
-- access PIN): only a salted slow hash of the secret is kept.
CREATE TABLE download_credentials (
	id          INTEGER PRIMARY KEY,
	cert_id     INTEGER NOT NULL REFERENCES certificates(id) ON DELETE CASCADE,
	login       TEXT NOT NULL UNIQUE CHECK (length(CAST(login AS BLOB)) BETWEEN 1 AND 64),
	kind        TEXT NOT NULL CHECK (kind IN ('password', 'pin')),
	secret_hash TEXT NOT NULL CHECK (secret_hash GLOB '$*' AND length(CAST(secret_hash AS BLOB)) < 256),
	created_at  INTEGER NOT NULL,
	expires_at  INTEGER NOT NULL,
	used_at     INTEGER,
	attempts    INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0)
);
CREATE INDEX download_credentials_cert ON download_credentials(cert_id);

CREATE TABLE settings (
	key        TEXT PRIMARY KEY
	           CHECK (length(key) BETWEEN 1 AND 64 AND key NOT GLOB '*[^a-z0-9_.]*'),
	value      TEXT NOT NULL CHECK (length(CAST(value AS BLOB)) < 4096),
	updated_at INTEGER NOT NULL
) WITHOUT ROWID;

-- Operation history: hash = SHA-256(prev_hash || canonical encoding), see ra/history.c.
-- Append-only here too; the chain is what proves it was not edited behind our back.
CREATE TABLE history (
	id        INTEGER PRIMARY KEY,
	at        INTEGER NOT NULL,
	actor     TEXT NOT NULL,
	ip        TEXT NOT NULL,
	op        TEXT NOT NULL,
	target    TEXT NOT NULL,
	detail    TEXT NOT NULL,
	prev_hash BLOB NOT NULL,
	hash      BLOB NOT NULL
);
CREATE INDEX history_at ON history(at, id);
CREATE INDEX history_op ON history(op, id);
CREATE TRIGGER history_no_update BEFORE UPDATE ON history
	BEGIN SELECT RAISE(ABORT, 'history is append-only'); END;
CREATE TRIGGER history_no_delete BEFORE DELETE ON history
	BEGIN SELECT RAISE(ABORT, 'history is append-only'); END;
