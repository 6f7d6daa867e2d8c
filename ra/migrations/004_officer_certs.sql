-- 004_officer_certs: client-certificate login for officers.  An officer may be bound to one
-- certificate the Inkan CA issued through this RA (a row of certificates: issuer + serial,
-- and its state is what revocation and suspension change); sha256 is the DER's hash at
-- binding time, checked again at every login.  A certificate binds at most one officer.
CREATE TABLE officer_certs (
	officer_id INTEGER PRIMARY KEY REFERENCES officers(id) ON DELETE CASCADE,
	cert_id    INTEGER NOT NULL UNIQUE REFERENCES certificates(id) ON DELETE CASCADE,
	sha256     BLOB NOT NULL CHECK (typeof(sha256) = 'blob' AND length(sha256) = 32),
	created_at INTEGER NOT NULL
);
