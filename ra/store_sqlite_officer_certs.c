/* store_sqlite_officer_certs: the administrators' officer pages in the store — officers found
 * by login, a page at a time — and which certificates an officer may log in with (client-
 * certificate login, several per officer): bind, unbind, and the lookups both ways. */
#include <stdlib.h>
#include <string.h>

#include "store_sqlite_int.h"

static const char SQL_COUNT_OF[] =
    "SELECT count(*) FROM officer_certs WHERE officer_id = ?1";
static const char SQL_BIND[] =
    "INSERT INTO officer_certs(officer_id, cert_id, sha256, created_at) VALUES (?1, ?2, ?3, ?4)";
static const char SQL_UNBIND_ONE[] =
    "DELETE FROM officer_certs WHERE officer_id = ?1 AND cert_id = ?2";
static const char SQL_UNBIND_ALL[] = "DELETE FROM officer_certs WHERE officer_id = ?1";
static const char SQL_NEWEST[] =
    "SELECT officer_id, cert_id, sha256, created_at FROM officer_certs WHERE officer_id = ?1"
    " ORDER BY created_at DESC, cert_id DESC LIMIT 1";
static const char SQL_OF_OFFICER[] =
    "SELECT officer_id, cert_id, sha256, created_at FROM officer_certs WHERE officer_id = ?1"
    " ORDER BY created_at DESC, cert_id DESC LIMIT ?2";
static const char SQL_BY_CERT[] =
    "SELECT officer_id, cert_id, sha256, created_at FROM officer_certs WHERE cert_id = ?1";
/* ?1 a LIKE pattern or NULL for all; the serials of each officer's bindings in one column */
static const char SQL_FIND[] =
    "SELECT o.id, o.login, o.role, o.failed_logins, o.locked_until, o.disabled, o.created_at,"
    " (SELECT count(*) FROM officer_certs b WHERE b.officer_id = o.id),"
    " (SELECT group_concat(c.serial, ' ') FROM officer_certs b"
    "   JOIN certificates c ON c.id = b.cert_id WHERE b.officer_id = o.id)"
    " FROM officers o WHERE ?1 IS NULL OR o.login LIKE ?1 ESCAPE '\\'"
    " ORDER BY o.id LIMIT ?2 OFFSET ?3";
static const char SQL_FIND_COUNT[] =
    "SELECT count(*) FROM officers WHERE ?1 IS NULL OR login LIKE ?1 ESCAPE '\\'";

/* ---- officers, a page at a time ---- */

static ik_status read_summary(sqlite3_stmt *q, ra_officer_summary *r)
{
	ik_status st;

	memset(r, 0, sizeof(*r));
	r->o.id = sq_col_i64(q, 0);
	if ((st = sq_col_text(q, 1, r->o.login, sizeof(r->o.login))) != IK_OK ||
	    (st = sq_col_text(q, 8, r->serials, sizeof(r->serials))) != IK_OK)
		return st;
	r->o.role = (int)sq_col_i64(q, 2);
	r->o.failed_logins = (unsigned)sq_col_i64(q, 3);
	r->o.locked_until = sq_col_i64(q, 4);
	r->o.disabled = sq_col_i64(q, 5) != 0;
	r->o.created = sq_col_i64(q, 6);
	r->ncerts = (unsigned)sq_col_i64(q, 7);
	return IK_OK;
}

static ik_status find_count(sq_conn *c, const char *like, uint64_t *total)
{
	sqlite3_stmt *q;
	int row = 0;
	ik_status st = sq_stmt(c, SQL_FIND_COUNT, &q);

	if (st != IK_OK)
		return st;
	sq_bind_text(c, q, 1, like);
	if ((st = sq_step(c, q, &row)) == IK_OK && row)
		*total = (uint64_t)sq_col_i64(q, 0);
	sq_reset(q);
	return st;
}

ik_status ra_store_officer_find(ra_store *s, const char *contains, uint64_t offset,
    ra_officer_summary *rows, size_t max, size_t *n, uint64_t *total)
{
	char *like = NULL;
	sq_conn *c;
	sqlite3_stmt *q;
	int row = 1;
	ik_status st;

	*n = 0;
	*total = 0;
	if (max == 0 || max > RA_PAGE_MAX || offset > INT64_MAX ||
	    (contains != NULL && !sq_len_ok(contains, 0, RA_STORE_LOGIN_MAX)))
		return IK_ERR_ARG;
	if ((st = sq_like_contains(contains, &like)) != IK_OK)
		return st;
	/* the count and the page are two reads: an officer added between them only moves a
	 * page boundary */
	if ((st = sq_get_conn(s, &c)) != IK_OK)
		goto out;
	if ((st = find_count(c, like, total)) == IK_OK && (st = sq_stmt(c, SQL_FIND, &q)) == IK_OK) {
		sq_bind_text(c, q, 1, like);
		sq_bind_i64(c, q, 2, (int64_t)max);
		sq_bind_i64(c, q, 3, (int64_t)offset);
		while ((st = sq_step(c, q, &row)) == IK_OK && row && *n < max) {
			if ((st = read_summary(q, &rows[*n])) != IK_OK)
				break;
			(*n)++;
		}
		sq_reset(q);
	}
out:
	free(like);
	return st;
}

/* ---- login certificates ---- */

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
	int64_t bound = 0;
	ik_status st;

	if ((st = sq_get_conn(s, &c)) != IK_OK || (st = sq_begin(c)) != IK_OK)
		return st;
	st = sq_count_id(c, SQL_COUNT_OF, officer_id, &bound);
	if (st == IK_OK && bound >= RA_OFFICER_CERTS_MAX)
		st = IK_ERR_STATE;
	if (st == IK_OK && (st = sq_stmt(c, SQL_BIND, &q)) == IK_OK) {
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

ik_status ra_store_officer_cert_unbind(ra_store *s, int64_t officer_id, int64_t cert_id,
    const ra_hist *h)
{
	const int64_t v[2] = { officer_id, cert_id };
	sq_conn *c;
	int64_t changes = 0;
	ik_status st;

	if ((st = sq_get_conn(s, &c)) != IK_OK || (st = sq_begin(c)) != IK_OK)
		return st;
	st = cert_id != 0 ? sq_run_ids(c, SQL_UNBIND_ONE, v, 2, &changes) :
	    sq_run_ids(c, SQL_UNBIND_ALL, v, 1, &changes);
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
	return st != IK_OK ? st : sq_read_one(c, SQL_NEWEST, &officer_id, NULL, read_binding, out);
}

ik_status ra_store_officer_cert_list(ra_store *s, int64_t officer_id, ra_officer_cert *rows,
    size_t max, size_t *n)
{
	return sq_read_page(s, SQL_OF_OFFICER, &officer_id, 1, max, read_binding, rows,
	    sizeof(*rows), n);
}

ik_status ra_store_officer_cert_by_cert(ra_store *s, int64_t cert_id, ra_officer_cert *out)
{
	sq_conn *c;
	ik_status st = sq_get_conn(s, &c);

	memset(out, 0, sizeof(*out));
	return st != IK_OK ? st : sq_read_one(c, SQL_BY_CERT, &cert_id, NULL, read_binding, out);
}
