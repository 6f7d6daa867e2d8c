/* store_sqlite_downloads: one-time download credentials for a certificate (a login id with
 * an initial password, or an access PIN): only a salted slow hash of the secret is kept;
 * spending one is a single conditional UPDATE, so it works once. */
#include <string.h>

#include "store_sqlite_int.h"

#define DL_COLS "id, cert_id, login, kind, secret_hash, created_at, expires_at," \
	" IFNULL(used_at, 0), attempts"

static const char SQL_DL_ADD[] =
    "INSERT INTO download_credentials(cert_id, login, kind, secret_hash, created_at,"
    " expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
static const char SQL_DL_BY_LOGIN[] =
    "SELECT " DL_COLS " FROM download_credentials WHERE login = ?1";
static const char SQL_DL_FOR_CERT[] =
    "SELECT " DL_COLS " FROM download_credentials WHERE cert_id = ?1 ORDER BY id DESC LIMIT 1";
static const char SQL_DL_PARKED_FOR[] =
    "SELECT " DL_COLS " FROM download_credentials"
    " WHERE id = (SELECT settle_credential FROM requests WHERE id = ?1)";
static const char SQL_DL_ATTEMPT[] =
    "UPDATE download_credentials SET attempts = attempts + 1 WHERE id = ?1 RETURNING attempts";
static const char SQL_DL_USE[] =
    "UPDATE download_credentials SET used_at = ?2"
    " WHERE id = ?1 AND used_at IS NULL AND expires_at > ?2";
static const char SQL_DL_PURGE[] = "DELETE FROM download_credentials WHERE expires_at <= ?1";
static const char SQL_DL_EXISTS[] = "SELECT COUNT(*) FROM download_credentials WHERE id = ?1";

static ik_status read_download(sqlite3_stmt *q, void *out)
{
	ra_download *d = out;
	char kind[16];
	ik_status st;

	memset(d, 0, sizeof(*d));
	d->id = sq_col_i64(q, 0);
	d->cert_id = sq_col_i64(q, 1);
	if ((st = sq_col_text(q, 2, d->login, sizeof(d->login))) != IK_OK ||
	    (st = sq_col_text(q, 3, kind, sizeof(kind))) != IK_OK ||
	    (st = sq_col_text(q, 4, d->secret_hash, sizeof(d->secret_hash))) != IK_OK)
		return st;
	d->kind = strcmp(kind, "pin") == 0 ? RA_DOWNLOAD_PIN : RA_DOWNLOAD_PASSWORD;
	d->created = sq_col_i64(q, 5);
	d->expires = sq_col_i64(q, 6);
	d->used = sq_col_i64(q, 7);
	d->attempts = (unsigned)sq_col_i64(q, 8);
	return IK_OK;
}

ik_status ra_store_download_add(ra_store *s, const ra_download *d, const ra_hist *h,
    int64_t *id)
{
	sq_conn *c;
	sqlite3_stmt *q;
	ik_status st;

	*id = 0;
	if (!sq_len_ok(d->login, 1, RA_STORE_LOGIN_MAX) ||
	    !sq_len_ok(d->secret_hash, 2, RA_STORE_SECRET_HASH_MAX) || d->secret_hash[0] != '$' ||
	    (d->kind != RA_DOWNLOAD_PASSWORD && d->kind != RA_DOWNLOAD_PIN) || d->expires <= 0)
		return IK_ERR_ARG;
	if ((st = sq_get_conn(s, &c)) != IK_OK || (st = sq_begin(c)) != IK_OK)
		return st;
	if ((st = sq_stmt(c, SQL_DL_ADD, &q)) == IK_OK) {
		sq_bind_i64(c, q, 1, d->cert_id);
		sq_bind_text(c, q, 2, d->login);
		sq_bind_text(c, q, 3, d->kind == RA_DOWNLOAD_PIN ? "pin" : "password");
		sq_bind_text(c, q, 4, d->secret_hash);
		sq_bind_i64(c, q, 5, sq_now());
		sq_bind_i64(c, q, 6, d->expires);
		if ((st = sq_exec(c, q, NULL)) == IK_OK)
			*id = sq_last_id(c);
		sq_reset(q);
	}
	if (st == IK_OK)
		st = sq_hist(s, h);
	st = sq_finish(c, st);
	if (st != IK_OK)
		*id = 0;
	return st;
}

static ik_status download_one(ra_store *s, const char *sql, int64_t id, const char *login,
    ra_download *out)
{
	sq_conn *c;
	ik_status st = sq_get_conn(s, &c);

	return st != IK_OK ? st : sq_read_one(c, sql, &id, login, read_download, out);
}

ik_status ra_store_download_by_login(ra_store *s, const char *login, ra_download *out)
{
	if (!sq_len_ok(login, 1, RA_STORE_LOGIN_MAX))
		return IK_ERR_NOT_FOUND;
	return download_one(s, SQL_DL_BY_LOGIN, 0, login, out);
}

ik_status ra_store_download_for_cert(ra_store *s, int64_t cert_id, ra_download *out)
{
	return download_one(s, SQL_DL_FOR_CERT, cert_id, NULL, out);
}

ik_status ra_store_download_parked_for(ra_store *s, int64_t request_id, ra_download *out)
{
	return download_one(s, SQL_DL_PARKED_FOR, request_id, NULL, out);
}

ik_status ra_store_download_attempt(ra_store *s, int64_t id, unsigned *attempts)
{
	sq_conn *c;
	sqlite3_stmt *q;
	int row;
	ik_status st;

	*attempts = 0;
	if ((st = sq_prep(s, SQL_DL_ATTEMPT, &c, &q)) != IK_OK)
		return st;
	sq_bind_i64(c, q, 1, id);
	if ((st = sq_step(c, q, &row)) == IK_OK) {
		if (!row) {
			st = IK_ERR_NOT_FOUND;
		} else {
			*attempts = (unsigned)sq_col_i64(q, 0);
			st = sq_exec(c, q, NULL);
		}
	}
	sq_reset(q);
	return st;
}

ik_status ra_store_download_use(ra_store *s, int64_t id, int64_t now, const ra_hist *h)
{
	sq_conn *c;
	int64_t v[2] = { id, now }, changes = 0, exists = 0;
	ik_status st;

	if ((st = sq_get_conn(s, &c)) != IK_OK || (st = sq_begin(c)) != IK_OK)
		return st;
	st = sq_run_ids(c, SQL_DL_USE, v, 2, &changes);
	if (st == IK_OK && changes == 0 && (st = sq_count_id(c, SQL_DL_EXISTS, id, &exists)) == IK_OK)
		st = exists ? IK_ERR_STATE : IK_ERR_NOT_FOUND;
	if (st == IK_OK)
		st = sq_hist(s, h);
	return sq_finish(c, st);
}

ik_status ra_store_download_purge(ra_store *s, int64_t before, size_t *n)
{
	sq_conn *c;
	int64_t v[1] = { before }, changes = 0;
	ik_status st;

	if (n != NULL)
		*n = 0;
	if ((st = sq_get_conn(s, &c)) != IK_OK)
		return st;
	st = sq_run_ids(c, SQL_DL_PURGE, v, 1, &changes);
	if (st == IK_OK && n != NULL)
		*n = (size_t)changes;
	return st;
}
