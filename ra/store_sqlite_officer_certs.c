/* store_sqlite_officer_certs: which certificate an officer may log in with (client-
 * certificate login): bind, unbind, and the lookups both ways. */
#include <string.h>

#include "store_sqlite_int.h"

static const char SQL_BIND[] =
    "INSERT INTO officer_certs(officer_id, cert_id, sha256, created_at) VALUES (?1, ?2, ?3, ?4)"
    " ON CONFLICT(officer_id) DO UPDATE SET cert_id = excluded.cert_id,"
    " sha256 = excluded.sha256, created_at = excluded.created_at";
static const char SQL_UNBIND[] = "DELETE FROM officer_certs WHERE officer_id = ?1";
static const char SQL_BY_OFFICER[] =
    "SELECT officer_id, cert_id, sha256, created_at FROM officer_certs WHERE officer_id = ?1";
static const char SQL_BY_CERT[] =
    "SELECT officer_id, cert_id, sha256, created_at FROM officer_certs WHERE cert_id = ?1";

static ik_status read_binding(sqlite3_stmt *q, void *out)
{
	ra_officer_cert *b = out;

	b->officer_id = sq_col_i64(q, 0);
	b->cert_id = sq_col_i64(q, 1);
	if (!sq_col_blob(q, 2, b->sha256, sizeof(b->sha256)))
		return IK_ERR_IO;
	b->created = sq_col_i64(q, 3);
	return IK_OK;
}

ik_status ra_store_officer_cert_bind(ra_store *s, int64_t officer_id, int64_t cert_id,
    const uint8_t sha256[32], const ra_hist *h)
{
	sq_conn *c;
	sqlite3_stmt *q;
	ik_status st;

	if ((st = sq_get_conn(s, &c)) != IK_OK || (st = sq_begin(c)) != IK_OK)
		return st;
	if ((st = sq_stmt(c, SQL_BIND, &q)) == IK_OK) {
		sq_bind_i64(c, q, 1, officer_id);
		sq_bind_i64(c, q, 2, cert_id);
		sq_bind_blob(c, q, 3, sha256, 32);
		sq_bind_i64(c, q, 4, sq_now());
		st = sq_exec(c, q, NULL);
		sq_reset(q);
	}
	if (st == IK_OK)
		st = sq_hist(s, h);
	return sq_finish(c, st);
}

ik_status ra_store_officer_cert_unbind(ra_store *s, int64_t officer_id, const ra_hist *h)
{
	sq_conn *c;
	int64_t changes = 0;
	ik_status st;

	if ((st = sq_get_conn(s, &c)) != IK_OK || (st = sq_begin(c)) != IK_OK)
		return st;
	st = sq_run_ids(c, SQL_UNBIND, &officer_id, 1, &changes);
	if (st == IK_OK && changes == 0)
		st = IK_ERR_NOT_FOUND;
	if (st == IK_OK)
		st = sq_hist(s, h);
	return sq_finish(c, st);
}

ik_status ra_store_officer_cert_get(ra_store *s, int64_t officer_id, ra_officer_cert *out)
{
	sq_conn *c;
	ik_status st = sq_get_conn(s, &c);

	memset(out, 0, sizeof(*out));
	return st != IK_OK ? st : sq_read_one(c, SQL_BY_OFFICER, &officer_id, NULL, read_binding,
	    out);
}

ik_status ra_store_officer_cert_by_cert(ra_store *s, int64_t cert_id, ra_officer_cert *out)
{
	sq_conn *c;
	ik_status st = sq_get_conn(s, &c);

	memset(out, 0, sizeof(*out));
	return st != IK_OK ? st : sq_read_one(c, SQL_BY_CERT, &cert_id, NULL, read_binding, out);
}
