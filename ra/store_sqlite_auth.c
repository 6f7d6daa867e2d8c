/* store_sqlite_auth: officers (password hashes, failed logins, lockout), sessions and API
 * tokens (only their hashes), and the settings table (quota, renewal window, password
 * policy, IP allow-list, ...). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_sqlite_int.h"

/* ---- officers ---- */

#define OFFICER_COLS "id, login, role, password, failed_logins, locked_until, disabled," \
	" created_at"

static const char SQL_OFFICER_ADD[] =
    "INSERT INTO officers(login, role, password, created_at) VALUES (?1, ?2, ?3, ?4)";
static const char SQL_OFFICER_GET[] =
    "SELECT " OFFICER_COLS " FROM officers WHERE id = ?1";
static const char SQL_OFFICER_BY_LOGIN[] =
    "SELECT " OFFICER_COLS " FROM officers WHERE login = ?1";
static const char SQL_OFFICER_LIST[] =
    "SELECT " OFFICER_COLS " FROM officers WHERE id > ?1 ORDER BY id LIMIT ?2";
/* SET expressions all see the row as it was before the UPDATE */
static const char SQL_OFFICER_FAILED[] =
    "UPDATE officers SET"
    " locked_until = CASE WHEN failed_logins + 1 >= ?2 THEN ?3"
    "   WHEN locked_until > ?4 THEN locked_until ELSE 0 END,"
    " failed_logins = CASE WHEN failed_logins + 1 >= ?2 THEN 0 ELSE failed_logins + 1 END"
    " WHERE id = ?1 RETURNING locked_until";
static const char SQL_OFFICER_OK[] =
    "UPDATE officers SET failed_logins = 0, locked_until = 0 WHERE id = ?1";
static const char SQL_OFFICER_PASSWORD[] =
    "UPDATE officers SET password = ?2 WHERE id = ?1";
static const char SQL_OFFICER_ROLE[] =
    "UPDATE officers SET role = ?2 WHERE id = ?1";
static const char SQL_OFFICER_DISABLED[] =
    "UPDATE officers SET disabled = ?2 WHERE id = ?1";
static const char SQL_SESSIONS_OF_OFFICER_DELETE[] =
    "DELETE FROM sessions WHERE officer_id = ?1";

static const char *role_name(int role)
{
	switch (role) {
	case RA_OFFICER_AUDITOR:
		return "auditor";
	case RA_OFFICER_OFFICER:
		return "officer";
	case RA_OFFICER_ADMIN:
		return "administrator";
	default:
		return NULL;
	}
}

static ik_status read_officer(sqlite3_stmt *q, void *out)
{
	ra_officer *o = out;
	ik_status st;

	memset(o, 0, sizeof(*o));
	o->id = sq_col_i64(q, 0);
	if ((st = sq_col_text(q, 1, o->login, sizeof(o->login))) != IK_OK ||
	    (st = sq_col_text(q, 3, o->password, sizeof(o->password))) != IK_OK)
		return st;
	o->role = (int)sq_col_i64(q, 2);
	o->failed_logins = (unsigned)sq_col_i64(q, 4);
	o->locked_until = sq_col_i64(q, 5);
	o->disabled = sq_col_i64(q, 6) != 0;
	o->created = sq_col_i64(q, 7);
	return IK_OK;
}

ik_status ra_store_officer_add(ra_store *s, const char *login, int role, const char *phc,
    const char *actor, const char *ip)
{
	char detail[64];
	ra_hist h = { actor, ip, "officer_added", login, detail };
	sq_conn *c;
	sqlite3_stmt *q;
	ik_status st;

	if (!sq_len_ok(login, 1, RA_STORE_LOGIN_MAX) || role_name(role) == NULL ||
	    !sq_len_ok(phc, 2, RA_STORE_PHC_MAX) || phc[0] != '$')
		return IK_ERR_ARG;
	snprintf(detail, sizeof(detail), "{\"role\":\"%s\"}", role_name(role));
	if ((st = sq_get_conn(s, &c)) != IK_OK || (st = sq_begin(c)) != IK_OK)
		return st;
	if ((st = sq_stmt(c, SQL_OFFICER_ADD, &q)) == IK_OK) {
		sq_bind_text(c, q, 1, login);
		sq_bind_i64(c, q, 2, role);
		sq_bind_text(c, q, 3, phc);
		sq_bind_i64(c, q, 4, sq_now());
		st = sq_exec(c, q, NULL);
		sq_reset(q);
	}
	if (st == IK_OK)
		st = sq_hist(s, &h);
	return sq_finish(c, st);
}

static ik_status officer_one(ra_store *s, const char *sql, int64_t id, const char *login,
    ra_officer *out)
{
	sq_conn *c;
	ik_status st = sq_get_conn(s, &c);

	return st != IK_OK ? st : sq_read_one(c, sql, &id, login, read_officer, out);
}

ik_status ra_store_officer_get(ra_store *s, int64_t id, ra_officer *out)
{
	return officer_one(s, SQL_OFFICER_GET, id, NULL, out);
}

ik_status ra_store_officer_by_login(ra_store *s, const char *login, ra_officer *out)
{
	if (!sq_len_ok(login, 1, RA_STORE_LOGIN_MAX))
		return IK_ERR_NOT_FOUND;
	return officer_one(s, SQL_OFFICER_BY_LOGIN, 0, login, out);
}

ik_status ra_store_officer_list(ra_store *s, int64_t after_id, ra_officer *rows, size_t max,
    size_t *n)
{
	return sq_read_page(s, SQL_OFFICER_LIST, &after_id, 1, max, read_officer, rows,
	    sizeof(*rows), n);
}

/* An UPDATE of one officer by id: IK_ERR_NOT_FOUND when no row changed. */
static ik_status officer_update(sq_conn *c, const char *sql, int64_t id, int64_t v,
    const char *text)
{
	sqlite3_stmt *q;
	int64_t changes = 0;
	ik_status st = sq_stmt(c, sql, &q);

	if (st != IK_OK)
		return st;
	sq_bind_i64(c, q, 1, id);
	if (text != NULL)
		sq_bind_text(c, q, 2, text);
	else if (sqlite3_bind_parameter_count(q) >= 2)
		sq_bind_i64(c, q, 2, v);
	st = sq_exec(c, q, &changes);
	sq_reset(q);
	return st == IK_OK && changes == 0 ? IK_ERR_NOT_FOUND : st;
}

ik_status ra_store_officer_login_failed(ra_store *s, int64_t id, unsigned threshold,
    int64_t lock_until, int64_t *locked_until)
{
	sq_conn *c;
	sqlite3_stmt *q;
	int row;
	int64_t now = sq_now();
	ik_status st;

	*locked_until = 0;
	if ((st = sq_prep(s, SQL_OFFICER_FAILED, &c, &q)) != IK_OK)
		return st;
	sq_bind_i64(c, q, 1, id);
	sq_bind_i64(c, q, 2, threshold == 0 ? INT64_MAX : (int64_t)threshold); /* 0: never */
	sq_bind_i64(c, q, 3, lock_until);
	sq_bind_i64(c, q, 4, now);
	if ((st = sq_step(c, q, &row)) == IK_OK) {
		if (!row) {
			st = IK_ERR_NOT_FOUND;
		} else {
			int64_t v = sq_col_i64(q, 0);
			*locked_until = v > now ? v : 0;
			st = sq_exec(c, q, NULL);
		}
	}
	sq_reset(q);
	return st;
}

ik_status ra_store_officer_login_ok(ra_store *s, int64_t id)
{
	sq_conn *c;
	ik_status st = sq_get_conn(s, &c);

	return st != IK_OK ? st : officer_update(c, SQL_OFFICER_OK, id, 0, NULL);
}

ik_status ra_store_officer_set_password(ra_store *s, int64_t id, const char *phc)
{
	sq_conn *c;
	ik_status st;

	if (!sq_len_ok(phc, 2, RA_STORE_PHC_MAX) || phc[0] != '$')
		return IK_ERR_ARG;
	if ((st = sq_get_conn(s, &c)) != IK_OK)
		return st;
	return officer_update(c, SQL_OFFICER_PASSWORD, id, 0, phc);
}

ik_status ra_store_officer_set_role(ra_store *s, int64_t id, int role, const ra_hist *h)
{
	sq_conn *c;
	ik_status st;

	if (role_name(role) == NULL)
		return IK_ERR_ARG;
	if ((st = sq_get_conn(s, &c)) != IK_OK || (st = sq_begin(c)) != IK_OK)
		return st;
	st = officer_update(c, SQL_OFFICER_ROLE, id, role, NULL);
	if (st == IK_OK)
		st = sq_hist(s, h);
	return sq_finish(c, st);
}

ik_status ra_store_officer_set_disabled(ra_store *s, int64_t id, int disabled,
    const ra_hist *h)
{
	sq_conn *c;
	sqlite3_stmt *q;
	ik_status st;

	if ((st = sq_get_conn(s, &c)) != IK_OK || (st = sq_begin(c)) != IK_OK)
		return st;
	st = officer_update(c, SQL_OFFICER_DISABLED, id, disabled != 0, NULL);
	if (st == IK_OK && disabled && (st = sq_stmt(c, SQL_SESSIONS_OF_OFFICER_DELETE, &q)) ==
	    IK_OK) {
		sq_bind_i64(c, q, 1, id);
		st = sq_exec(c, q, NULL);
		sq_reset(q);
	}
	if (st == IK_OK)
		st = sq_hist(s, h);
	return sq_finish(c, st);
}

/* ---- sessions ---- */

static const char SQL_SESSION_ADD[] =
    "INSERT INTO sessions(id_hash, officer_id, created_at, last_seen, csrf_hash)"
    " VALUES (?1, ?2, ?3, ?4, ?5)";
static const char SQL_SESSION_GET[] =
    "SELECT officer_id, created_at, last_seen, csrf_hash FROM sessions WHERE id_hash = ?1";
static const char SQL_SESSION_TOUCH[] =
    "UPDATE sessions SET last_seen = MAX(last_seen, ?2) WHERE id_hash = ?1";
static const char SQL_SESSION_DELETE[] =
    "DELETE FROM sessions WHERE id_hash = ?1";
static const char SQL_SESSION_DELETE_OTHERS[] =
    "DELETE FROM sessions WHERE officer_id = ?1 AND (?2 IS NULL OR id_hash <> ?2)";
static const char SQL_SESSION_EXPIRE[] =
    "DELETE FROM sessions WHERE created_at < ?1 OR last_seen < ?2";

ik_status ra_store_session_add(ra_store *s, const ra_session *sess)
{
	sq_conn *c;
	sqlite3_stmt *q;
	ik_status st;

	if ((st = sq_prep(s, SQL_SESSION_ADD, &c, &q)) != IK_OK)
		return st;
	sq_bind_blob(c, q, 1, sess->id_hash, 32);
	sq_bind_i64(c, q, 2, sess->officer_id);
	sq_bind_i64(c, q, 3, sess->created);
	sq_bind_i64(c, q, 4, sess->last_seen);
	sq_bind_blob(c, q, 5, sess->has_csrf ? sess->csrf_hash : NULL, 32);
	st = sq_exec(c, q, NULL);
	sq_reset(q);
	return st;
}

ik_status ra_store_session_get(ra_store *s, const uint8_t id_hash[32], ra_session *out)
{
	sq_conn *c;
	sqlite3_stmt *q;
	int row;
	ik_status st;

	memset(out, 0, sizeof(*out));
	if ((st = sq_prep(s, SQL_SESSION_GET, &c, &q)) != IK_OK)
		return st;
	sq_bind_blob(c, q, 1, id_hash, 32);
	if ((st = sq_step(c, q, &row)) == IK_OK && !row)
		st = IK_ERR_NOT_FOUND;
	if (st == IK_OK) {
		memcpy(out->id_hash, id_hash, 32);
		out->officer_id = sq_col_i64(q, 0);
		out->created = sq_col_i64(q, 1);
		out->last_seen = sq_col_i64(q, 2);
		out->has_csrf = sq_col_blob(q, 3, out->csrf_hash, 32);
	}
	sq_reset(q);
	return st;
}

/* Runs a one-parameter-or-two DML statement; IK_ERR_NOT_FOUND when nothing changed and
 * must_change. */
static ik_status run_dml(ra_store *s, const char *sql, const uint8_t *blob, int64_t a,
    int has_a, int must_change, int64_t *changes)
{
	sq_conn *c;
	sqlite3_stmt *q;
	int64_t n = 0;
	ik_status st;

	if ((st = sq_prep(s, sql, &c, &q)) != IK_OK)
		return st;
	sq_bind_blob(c, q, 1, blob, 32);
	if (has_a)
		sq_bind_i64(c, q, 2, a);
	st = sq_exec(c, q, &n);
	sq_reset(q);
	if (changes != NULL)
		*changes = n;
	return st == IK_OK && must_change && n == 0 ? IK_ERR_NOT_FOUND : st;
}

/* last_seen in its own transaction, in the process's write turn (not in SQLite's sleeping
 * busy handler), committed without waiting for the disk: a power cut can only make the
 * session look idle a little earlier.  !wait: IK_ERR_BUSY at once while another thread
 * writes (a batch), instead of holding up the request. */
static ik_status session_touch(ra_store *s, const uint8_t id_hash[32], int64_t now, int wait)
{
	sq_conn *c;
	sqlite3_stmt *q;
	int64_t n = 0;
	ik_status st;

	if ((st = sq_get_conn(s, &c)) != IK_OK ||
	    (st = wait ? sq_begin_lazy(c) : sq_begin_lazy_try(c)) != IK_OK)
		return st;
	if ((st = sq_stmt(c, SQL_SESSION_TOUCH, &q)) == IK_OK) {
		sq_bind_blob(c, q, 1, id_hash, 32);
		sq_bind_i64(c, q, 2, now);
		st = sq_exec(c, q, &n);
		sq_reset(q);
		if (st == IK_OK && n == 0)
			st = IK_ERR_NOT_FOUND;
	}
	return sq_finish_lazy(c, st);
}

ik_status ra_store_session_touch(ra_store *s, const uint8_t id_hash[32], int64_t now)
{
	return session_touch(s, id_hash, now, 1);
}

ik_status ra_store_session_touch_try(ra_store *s, const uint8_t id_hash[32], int64_t now)
{
	return session_touch(s, id_hash, now, 0);
}

ik_status ra_store_session_delete(ra_store *s, const uint8_t id_hash[32])
{
	return run_dml(s, SQL_SESSION_DELETE, id_hash, 0, 0, 1, NULL);
}

ik_status ra_store_session_delete_others(ra_store *s, int64_t officer_id,
    const uint8_t keep[32])
{
	sq_conn *c;
	sqlite3_stmt *q;
	ik_status st;

	if ((st = sq_prep(s, SQL_SESSION_DELETE_OTHERS, &c, &q)) != IK_OK)
		return st;
	sq_bind_i64(c, q, 1, officer_id);
	sq_bind_blob(c, q, 2, keep, 32);
	st = sq_exec(c, q, NULL);
	sq_reset(q);
	return st;
}

ik_status ra_store_session_expire(ra_store *s, int64_t created_before, int64_t idle_before,
    size_t *n)
{
	sq_conn *c;
	sqlite3_stmt *q;
	int64_t changes = 0;
	ik_status st;

	if ((st = sq_prep(s, SQL_SESSION_EXPIRE, &c, &q)) != IK_OK)
		return st;
	sq_bind_i64(c, q, 1, created_before);
	sq_bind_i64(c, q, 2, idle_before);
	st = sq_exec(c, q, &changes);
	sq_reset(q);
	if (n != NULL)
		*n = (size_t)changes;
	return st;
}

/* ---- API tokens ---- */

static const char SQL_TOKEN_ADD[] =
    "INSERT INTO api_tokens(hash, name, officer_id, created_at) VALUES (?1, ?2, ?3, ?4)";
static const char SQL_TOKEN_LOOKUP[] =
    "SELECT officer_id FROM api_tokens WHERE hash = ?1";
static const char SQL_TOKEN_DELETE[] =
    "DELETE FROM api_tokens WHERE hash = ?1";

ik_status ra_store_token_add(ra_store *s, const uint8_t hash[32], const char *name,
    int64_t officer_id)
{
	sq_conn *c;
	sqlite3_stmt *q;
	ik_status st;

	if (!sq_len_ok(name, 1, RA_STORE_LOGIN_MAX))
		return IK_ERR_ARG;
	if ((st = sq_prep(s, SQL_TOKEN_ADD, &c, &q)) != IK_OK)
		return st;
	sq_bind_blob(c, q, 1, hash, 32);
	sq_bind_text(c, q, 2, name);
	sq_bind_i64(c, q, 3, officer_id);
	sq_bind_i64(c, q, 4, sq_now());
	st = sq_exec(c, q, NULL);
	sq_reset(q);
	return st;
}

ik_status ra_store_token_lookup(ra_store *s, const uint8_t hash[32], int64_t *officer_id)
{
	sq_conn *c;
	sqlite3_stmt *q;
	int row;
	ik_status st;

	*officer_id = 0;
	if ((st = sq_prep(s, SQL_TOKEN_LOOKUP, &c, &q)) != IK_OK)
		return st;
	sq_bind_blob(c, q, 1, hash, 32);
	if ((st = sq_step(c, q, &row)) == IK_OK) {
		if (row)
			*officer_id = sq_col_i64(q, 0);
		else
			st = IK_ERR_NOT_FOUND;
	}
	sq_reset(q);
	return st;
}

ik_status ra_store_token_delete(ra_store *s, const uint8_t hash[32])
{
	return run_dml(s, SQL_TOKEN_DELETE, hash, 0, 0, 1, NULL);
}

/* ---- settings ---- */

static const char SQL_SETTING_GET[] = "SELECT value FROM settings WHERE key = ?1";
static const char SQL_SETTING_SET[] =
    "INSERT INTO settings(key, value, updated_at) VALUES (?1, ?2, ?3)"
    " ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at";
static const char SQL_SETTING_DELETE[] = "DELETE FROM settings WHERE key = ?1";
static const char SQL_SETTING_ALL[] = "SELECT key, value FROM settings ORDER BY key";

static int key_ok(const char *key)
{
	if (!sq_len_ok(key, 1, RA_SETTING_KEY_MAX))
		return 0;
	for (const char *p = key; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' ||
		    *p == '.'))
			return 0;
	return 1;
}

ik_status ra_store_setting_get(ra_store *s, const char *key, char *out, size_t outsz)
{
	sq_conn *c;
	sqlite3_stmt *q;
	int row;
	ik_status st;

	if (outsz > 0)
		out[0] = '\0';
	if (!key_ok(key) || outsz == 0)
		return IK_ERR_ARG;
	if ((st = sq_prep(s, SQL_SETTING_GET, &c, &q)) != IK_OK)
		return st;
	sq_bind_text(c, q, 1, key);
	if ((st = sq_step(c, q, &row)) == IK_OK) {
		if (!row) {
			st = IK_ERR_NOT_FOUND;
		} else {
			int len = sqlite3_column_bytes(q, 0);
			st = len < 0 || (size_t)len >= outsz ? IK_ERR_ARG :
			    sq_col_text(q, 0, out, outsz);
		}
	}
	sq_reset(q);
	return st;
}

ik_status ra_store_setting_get_int(ra_store *s, const char *key, int64_t def, int64_t *out)
{
	char v[32], *end;
	long long x;
	ik_status st = ra_store_setting_get(s, key, v, sizeof(v));

	*out = def;
	if (st == IK_ERR_NOT_FOUND)
		return IK_OK;
	if (st != IK_OK)
		return st;
	errno = 0;
	x = strtoll(v, &end, 10);
	if (v[0] == '\0' || *end != '\0' || errno != 0)
		return IK_ERR_ARG;
	*out = (int64_t)x;
	return IK_OK;
}

ik_status ra_store_setting_set(ra_store *s, const char *key, const char *value,
    const ra_hist *h)
{
	sq_conn *c;
	sqlite3_stmt *q;
	ik_status st;

	if (!key_ok(key) || !sq_len_ok(value, 0, RA_SETTING_MAX - 1))
		return IK_ERR_ARG;
	if ((st = sq_get_conn(s, &c)) != IK_OK || (st = sq_begin(c)) != IK_OK)
		return st;
	if ((st = sq_stmt(c, SQL_SETTING_SET, &q)) == IK_OK) {
		sq_bind_text(c, q, 1, key);
		sq_bind_text(c, q, 2, value);
		sq_bind_i64(c, q, 3, sq_now());
		st = sq_exec(c, q, NULL);
		sq_reset(q);
	}
	if (st == IK_OK)
		st = sq_hist(s, h);
	return sq_finish(c, st);
}

ik_status ra_store_setting_delete(ra_store *s, const char *key, const ra_hist *h)
{
	sq_conn *c;
	sqlite3_stmt *q;
	int64_t changes = 0;
	ik_status st;

	if (!key_ok(key))
		return IK_ERR_ARG;
	if ((st = sq_get_conn(s, &c)) != IK_OK || (st = sq_begin(c)) != IK_OK)
		return st;
	if ((st = sq_stmt(c, SQL_SETTING_DELETE, &q)) == IK_OK) {
		sq_bind_text(c, q, 1, key);
		st = sq_exec(c, q, &changes);
		sq_reset(q);
	}
	if (st == IK_OK && changes == 0)
		st = IK_ERR_NOT_FOUND;
	if (st == IK_OK)
		st = sq_hist(s, h);
	return sq_finish(c, st);
}

typedef struct kv {
	char *key, *value;
} kv;

ik_status ra_store_setting_each(ra_store *s,
    int (*fn)(void *ctx, const char *key, const char *value), void *ctx)
{
	sq_conn *c;
	sqlite3_stmt *q;
	kv *all = NULL;
	size_t n = 0, cap = 0;
	int row = 1;
	ik_status st;

	/* read everything first: fn may call the store */
	if ((st = sq_prep(s, SQL_SETTING_ALL, &c, &q)) != IK_OK)
		return st;
	while ((st = sq_step(c, q, &row)) == IK_OK && row) {
		if (n == cap) {
			size_t ncap = cap == 0 ? 16 : cap * 2;
			kv *p = realloc(all, ncap * sizeof(*all));
			if (p == NULL) {
				st = IK_ERR_NOMEM;
				break;
			}
			all = p;
			cap = ncap;
		}
		all[n].key = sq_col_strdup(q, 0);
		all[n].value = sq_col_strdup(q, 1);
		n++;
		if (all[n - 1].key == NULL || all[n - 1].value == NULL) {
			st = IK_ERR_NOMEM;
			break;
		}
	}
	sq_reset(q);
	for (size_t i = 0; st == IK_OK && i < n; i++)
		if (fn(ctx, all[i].key, all[i].value) != 0)
			break;
	for (size_t i = 0; i < n; i++) {
		free(all[i].key);
		free(all[i].value);
	}
	free(all);
	return st;
}
