-- 005_cert_list: the officer list at a million certificates (issue 11 item 5).
--  * cert_state_counts: how many certificates are in each state, kept by triggers, so a page
--    never counts the table (total, the dashboard, the quota check);
--  * one index per (state, sort key, id): a state filter pages by keyset in its own index;
--  * lower(cn): the prefix search used for 1- and 2-character CN patterns;
--  * certs_cn_fts: an FTS5 trigram index of cn (external content: the certificates table)
--    for CN substrings of 3 characters or more.  Not kept by triggers: the store opens the
--    database with trusted_schema = OFF, under which a trigger may not write a virtual
--    table; the store adds each row's cn in the same transaction as the row itself
--    (sq_cert_fts_add; certificates are never deleted and their cn never changes).
-- ra/store_sqlite_certs.c picks one statement per filter shape that uses these.

CREATE TABLE cert_state_counts (
	state TEXT PRIMARY KEY CHECK (state IN ('issuing', 'awaiting_download', 'active',
	      'suspended', 'revoked', 'expired', 'superseded', 'failed')),
	n     INTEGER NOT NULL CHECK (n >= 0)
) WITHOUT ROWID;
INSERT INTO cert_state_counts(state, n)
	SELECT s.state, (SELECT COUNT(*) FROM certificates c WHERE c.state = s.state)
	FROM (SELECT 'issuing' AS state UNION ALL SELECT 'awaiting_download'
	      UNION ALL SELECT 'active' UNION ALL SELECT 'suspended' UNION ALL SELECT 'revoked'
	      UNION ALL SELECT 'expired' UNION ALL SELECT 'superseded' UNION ALL SELECT 'failed') s;

CREATE TRIGGER certs_count_insert AFTER INSERT ON certificates BEGIN
	UPDATE cert_state_counts SET n = n + 1 WHERE state = NEW.state;
END;
CREATE TRIGGER certs_count_delete AFTER DELETE ON certificates BEGIN
	UPDATE cert_state_counts SET n = n - 1 WHERE state = OLD.state;
END;
CREATE TRIGGER certs_count_update AFTER UPDATE OF state ON certificates
	WHEN OLD.state <> NEW.state BEGIN
	UPDATE cert_state_counts SET n = n - 1 WHERE state = OLD.state;
	UPDATE cert_state_counts SET n = n + 1 WHERE state = NEW.state;
END;

CREATE INDEX certs_state_created ON certificates(state, created_at, id);
CREATE INDEX certs_state_cn ON certificates(state, cn, id);
CREATE INDEX certs_state_not_before ON certificates(state, IFNULL(not_before, 0), id);
CREATE INDEX certs_state_not_after ON certificates(state, IFNULL(not_after, 0), id);
CREATE INDEX certs_state_serial ON certificates(state, IFNULL(serial, ''), id);
CREATE INDEX certs_cn_lower ON certificates(lower(cn), id);

CREATE VIRTUAL TABLE certs_cn_fts USING fts5(cn, content = 'certificates',
	content_rowid = 'id', tokenize = 'trigram');
INSERT INTO certs_cn_fts(certs_cn_fts) VALUES ('rebuild');
