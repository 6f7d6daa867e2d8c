-- 010_officer_certs_multi: an officer may have several login certificates (an old and a new
-- device during a renewal), each bound and unbound on its own.  A certificate still binds
-- at most one officer.  The bindings of 004 (one per officer) are kept as they are.
CREATE TABLE officer_certs_multi (
	cert_id    INTEGER PRIMARY KEY REFERENCES certificates(id) ON DELETE CASCADE,
	officer_id INTEGER NOT NULL REFERENCES officers(id) ON DELETE CASCADE,
	sha256     BLOB NOT NULL CHECK (typeof(sha256) = 'blob' AND length(sha256) = 32),
	created_at INTEGER NOT NULL
);
INSERT INTO officer_certs_multi(cert_id, officer_id, sha256, created_at)
	SELECT cert_id, officer_id, sha256, created_at FROM officer_certs;
DROP TABLE officer_certs;
ALTER TABLE officer_certs_multi RENAME TO officer_certs;
CREATE INDEX officer_certs_by_officer ON officer_certs(officer_id, created_at);
