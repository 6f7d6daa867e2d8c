/* store_sqlite_users: end users and their devices.  A device's model information lives in
 * its row and goes with it; neither a device nor its user can go while it holds a live
 * certificate, and the certificates outlive both (their device and user become NULL). */
#include <stdio.h>
#include <string.h>

#include "store_sqlite_int.h"

#define USER_COLS "id, external_id, email, display_name, created_at"

static const char SQL_USER_ADD[] =
    "INSERT INTO users(external_id, email, display_name, created_at) VALUES (?1, ?2, ?3, ?4)";
static const char SQL_USER_GET[] = "SELECT " USER_COLS " FROM users WHERE id = ?1";
static const char SQL_USER_BY_EXT[] = "SELECT " USER_COLS " FROM users WHERE external_id = ?1";
static const char SQL_USER_LIST[] =
    "SELECT " USER_COLS " FROM users WHERE id > ?1 ORDER BY id LIMIT ?2";
static const char SQL_USER_LIVE[] =
    "SELECT COUNT(*) FROM certificates WHERE state IN " SQ_LIVE_SQL
    " AND (user_id = ?1 OR device_id IN (SELECT id FROM devices WHERE user_id = ?1))";
static const char SQL_USER_DELETE[] = "DELETE FROM users WHERE id = ?1";

static ik_status read_user(sqlite3_stmt *q, void *out)
{
	ra_user *u = out;
	ik_status st;

	memset(u, 0, sizeof(*u));
	u->id = sq_col_i64(q, 0);
	if ((st = sq_col_text(q, 1, u->external_id, sizeof(u->external_id))) != IK_OK ||
	    (st = sq_col_text(q, 2, u->email, sizeof(u->email))) != IK_OK ||
	    (st = sq_col_text(q, 3, u->display_name, sizeof(u->display_name))) != IK_OK)
		return st;
	u->created = sq_col_i64(q, 4);
	return IK_OK;
}

ik_status ra_store_user_add(ra_store *s, const ra_user *u, const ra_hist *h, int64_t *id)
{
	sq_conn *c;
	sqlite3_stmt *q;
	ik_status st;

	*id = 0;
	if (!sq_len_ok(u->external_id, 1, RA_STORE_NAME_MAX) ||
	    !sq_len_ok(u->email, 0, RA_STORE_EMAIL_MAX) ||
	    !sq_len_ok(u->display_name, 0, RA_STORE_TEXT_MAX))
		return IK_ERR_ARG;
	if ((st = sq_get_conn(s, &c)) != IK_OK || (st = sq_begin(c)) != IK_OK)
		return st;
	if ((st = sq_stmt(c, SQL_USER_ADD, &q)) == IK_OK) {
		sq_bind_text(c, q, 1, u->external_id);
		sq_bind_text(c, q, 2, u->email);
		sq_bind_text(c, q, 3, u->display_name);
		sq_bind_i64(c, q, 4, sq_now());
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

static ik_status user_one(ra_store *s, const char *sql, int64_t id, const char *ext,
    ra_user *out)
{
	sq_conn *c;
	ik_status st = sq_get_conn(s, &c);

	return st != IK_OK ? st : sq_read_one(c, sql, &id, ext, read_user, out);
}

ik_status ra_store_user_get(ra_store *s, int64_t id, ra_user *out)
{
	return user_one(s, SQL_USER_GET, id, NULL, out);
}

ik_status ra_store_user_by_external_id(ra_store *s, const char *external_id, ra_user *out)
{
	if (!sq_len_ok(external_id, 1, RA_STORE_NAME_MAX))
		return IK_ERR_NOT_FOUND;
	return user_one(s, SQL_USER_BY_EXT, 0, external_id, out);
}

ik_status ra_store_user_list(ra_store *s, int64_t after_id, ra_user *rows, size_t max,
    size_t *n)
{
	return sq_read_page(s, SQL_USER_LIST, &after_id, 1, max, read_user, rows, sizeof(*rows),
	    n);
}

/* Deletes by id after checking that no live certificate hangs on it. */
static ik_status delete_unless_live(ra_store *s, const char *sql_live, const char *sql_del,
    int64_t id, const ra_hist *h)
{
	sq_conn *c;
	sqlite3_stmt *q;
	int64_t live = 0, changes = 0;
	ik_status st;

	if ((st = sq_get_conn(s, &c)) != IK_OK || (st = sq_begin(c)) != IK_OK)
		return st;
	if ((st = sq_count_id(c, sql_live, id, &live)) == IK_OK && live > 0)
		st = IK_ERR_STATE;
	if (st == IK_OK && (st = sq_stmt(c, sql_del, &q)) == IK_OK) {
		sq_bind_i64(c, q, 1, id);
		st = sq_exec(c, q, &changes);
		sq_reset(q);
		if (st == IK_OK && changes == 0)
			st = IK_ERR_NOT_FOUND;
	}
	if (st == IK_OK)
		st = sq_hist(s, h);
	return sq_finish(c, st);
}

ik_status ra_store_user_delete(ra_store *s, int64_t id, const ra_hist *h)
{
	return delete_unless_live(s, SQL_USER_LIVE, SQL_USER_DELETE, id, h);
}

/* ---- devices ---- */

#define DEVICE_COLS "d.id, d.user_id, d.name, d.model, d.created_at," \
	" IFNULL((SELECT c.id FROM certificates c WHERE c.device_id = d.id AND c.current = 1), 0)"

static const char SQL_DEVICE_ADD[] =
    "INSERT INTO devices(user_id, name, model, created_at) VALUES (?1, ?2, ?3, ?4)";
static const char SQL_DEVICE_GET[] = "SELECT " DEVICE_COLS " FROM devices d WHERE d.id = ?1";
static const char SQL_DEVICE_LIST[] =
    "SELECT " DEVICE_COLS " FROM devices d WHERE d.user_id = ?1 AND d.id > ?2"
    " ORDER BY d.id LIMIT ?3";
static const char SQL_DEVICE_LIVE[] =
    "SELECT COUNT(*) FROM certificates WHERE device_id = ?1 AND state IN " SQ_LIVE_SQL;
static const char SQL_DEVICE_DELETE[] = "DELETE FROM devices WHERE id = ?1";
static const char SQL_DEVICE_USER[] = "SELECT user_id FROM devices WHERE id = ?1";

static ik_status read_device(sqlite3_stmt *q, void *out)
{
	ra_device *d = out;
	ik_status st;

	memset(d, 0, sizeof(*d));
	d->id = sq_col_i64(q, 0);
	d->user_id = sq_col_i64(q, 1);
	if ((st = sq_col_text(q, 2, d->name, sizeof(d->name))) != IK_OK ||
	    (st = sq_col_text(q, 3, d->model, sizeof(d->model))) != IK_OK)
		return st;
	d->created = sq_col_i64(q, 4);
	d->current_cert_id = sq_col_i64(q, 5);
	return IK_OK;
}

ik_status ra_store_device_add(ra_store *s, const ra_device *d, const ra_hist *h,
    int64_t *id)
{
	sq_conn *c;
	sqlite3_stmt *q;
	ik_status st;

	*id = 0;
	if (!sq_len_ok(d->name, 1, RA_STORE_DEVICE_MAX) ||
	    !sq_len_ok(d->model, 0, RA_STORE_TEXT_MAX))
		return IK_ERR_ARG;
	if ((st = sq_get_conn(s, &c)) != IK_OK || (st = sq_begin(c)) != IK_OK)
		return st;
	if ((st = sq_stmt(c, SQL_DEVICE_ADD, &q)) == IK_OK) {
		sq_bind_i64(c, q, 1, d->user_id);
		sq_bind_text(c, q, 2, d->name);
		sq_bind_text(c, q, 3, d->model);
		sq_bind_i64(c, q, 4, sq_now());
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

ik_status ra_store_device_get(ra_store *s, int64_t id, ra_device *out)
{
	sq_conn *c;
	sqlite3_stmt *q;
	int row;
	ik_status st;

	if ((st = sq_prep(s, SQL_DEVICE_GET, &c, &q)) != IK_OK)
		return st;
	sq_bind_i64(c, q, 1, id);
	if ((st = sq_step(c, q, &row)) == IK_OK)
		st = row ? read_device(q, out) : IK_ERR_NOT_FOUND;
	sq_reset(q);
	return st;
}

ik_status ra_store_device_list(ra_store *s, int64_t user_id, int64_t after_id,
    ra_device *rows, size_t max, size_t *n)
{
	const int64_t v[2] = { user_id, after_id };

	return sq_read_page(s, SQL_DEVICE_LIST, v, 2, max, read_device, rows, sizeof(*rows), n);
}

ik_status ra_store_device_delete(ra_store *s, int64_t id, const ra_hist *h)
{
	return delete_unless_live(s, SQL_DEVICE_LIVE, SQL_DEVICE_DELETE, id, h);
}

ik_status sq_device_free(sq_conn *c, int64_t device_id, int64_t *user_id)
{
	sqlite3_stmt *q;
	int row;
	int64_t live = 0;
	ik_status st = sq_stmt(c, SQL_DEVICE_USER, &q);

	*user_id = 0;
	if (st != IK_OK)
		return st;
	sq_bind_i64(c, q, 1, device_id);
	if ((st = sq_step(c, q, &row)) == IK_OK) {
		if (row)
			*user_id = sq_col_i64(q, 0);
		else
			st = IK_ERR_NOT_FOUND;
	}
	sq_reset(q);
	if (st == IK_OK && (st = sq_count_id(c, SQL_DEVICE_LIVE, device_id, &live)) == IK_OK &&
	    live > 0)
		st = IK_ERR_STATE;
	return st;
}
