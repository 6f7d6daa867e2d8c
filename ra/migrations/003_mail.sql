-- 003_mail: outgoing notices (the mail queue) and the users' language for them.
-- A mail row is written in the same transaction as the event it tells about; its dedup key
-- names that event (UNIQUE: the same event never yields a second mail).  The sender claims
-- a row (pending -> sending), runs the sendmail command and marks it sent; a failure puts
-- it back to pending with a later next_attempt_at.  Mails never carry secrets: passwords,
-- PINs and keys are not in subject, body or attachment.

ALTER TABLE users ADD COLUMN lang TEXT NOT NULL DEFAULT 'ja' CHECK (lang IN ('ja', 'en'));

CREATE TABLE mails (
	id              INTEGER PRIMARY KEY,
	dedup           TEXT NOT NULL UNIQUE CHECK (length(CAST(dedup AS BLOB)) BETWEEN 1 AND 128),
	kind            TEXT NOT NULL CHECK (length(kind) BETWEEN 1 AND 32
	                AND kind NOT GLOB '*[^a-z_]*'),
	lang            TEXT NOT NULL CHECK (lang IN ('ja', 'en')),
	-- 16 random bytes, hex: the Message-ID's left part, the same for every attempt
	token           TEXT NOT NULL UNIQUE
	                CHECK (length(token) = 32 AND token NOT GLOB '*[^0-9a-f]*'),
	recipients      TEXT NOT NULL CHECK (length(CAST(recipients AS BLOB)) BETWEEN 3 AND 2048),
	subject         TEXT NOT NULL CHECK (length(CAST(subject AS BLOB)) <= 512),
	body            TEXT NOT NULL CHECK (length(CAST(body AS BLOB)) <= 65536),
	attach_name     TEXT CHECK (attach_name IS NULL
	                OR (length(CAST(attach_name AS BLOB)) BETWEEN 1 AND 128
	                AND attach_name NOT GLOB '*[^A-Za-z0-9._-]*')),
	attach          BLOB CHECK (attach IS NULL OR length(attach) <= 65536),
	state           TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sending', 'sent')),
	attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
	last_error      TEXT NOT NULL DEFAULT '' CHECK (length(CAST(last_error AS BLOB)) <= 512),
	next_attempt_at INTEGER NOT NULL DEFAULT 0,
	created_at      INTEGER NOT NULL,
	sent_at         INTEGER,
	CHECK ((attach IS NULL) = (attach_name IS NULL)),
	CHECK ((state = 'sent') = (sent_at IS NOT NULL))
);
CREATE INDEX mails_queue ON mails(state, next_attempt_at, id);
