/* store_sqlite_certs: certificates — state names, reservation for a later download, state
 * changes, counters and quota use, and the filtered listing in keyset pages (a stable sort on
 * (key, id) with an opaque cursor; never OFFSET). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_sqlite_int.h"

/* ---- state names ---- */

static const char *const cert_states[] = {
	[RA_CERT_ISSUING] = "issuing",
	[RA_CERT_AWAITING_DOWNLOAD] = "awaiting_download",
	[RA_CERT_ACTIVE] = "active",
	[RA_CERT_SUSPENDED] = "suspended",
	[RA_CERT_REVOKED] = "revoked",
	[RA_CERT_EXPIRED] = "expired",
	[RA_CERT_SUPERSEDED] = "superseded",
	[RA_CERT_FAILED] = "failed",
};

const char *ra_cert_state_name(ra_cert_state st)
{
	if (st < RA_CERT_ISSUING || st > RA_CERT_FAILED)
		return "unknown";
	return cert_states[st];
}

ik_status ra_cert_state_parse(const char *name, ra_cert_state *out)
{
	for (int i = RA_CERT_ISSUING; i <= RA_CERT_FAILED; i++) {
		if (name != NULL && strcmp(name, cert_states[i]) == 0) {
			*out = (ra_cert_state)i;
			return IK_OK;
		}
	}
	return IK_ERR_ARG;
}

int sq_cn_ok(const char *cn)
{
	return sq_len_ok(cn, 1, RA_CN_MAX);
}

int sq_validity_ok(unsigned days)
{
	return days >= 1 && days <= 36500;
}

/* ---- certificates ---- */

#define CERT_COLS "id, device_id, user_id, request_id, serial, cn, validity_days, not_before," \
	" not_after, state, reason, current, sha256, created_at, updated_at"

static const char SQL_CERT_INSERT[] =
    "INSERT INTO certificates(device_id, user_id, cn, validity_days, state, created_at,"
    " updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)";
static const char SQL_CERT_GET[] = "SELECT " CERT_COLS " FROM certificates WHERE id = ?1";
static const char SQL_CERT_BY_SERIAL[] =
    "SELECT " CERT_COLS " FROM certificates WHERE serial = ?1";
static const char SQL_CERT_DER[] = "SELECT der FROM certificates WHERE id = ?1";
static const char SQL_CERT_SET_STATE[] =
    "UPDATE certificates SET state = ?2, reason = ?3, updated_at = ?4,"
    " current = CASE WHEN ?2 IN ('active', 'suspended') THEN current ELSE 0 END"
    " WHERE id = ?1";
static const char SQL_CERT_EXPIRE[] =
    "UPDATE certificates SET state = 'expired', current = 0, updated_at = ?2"
    " WHERE state IN ('active', 'suspended') AND not_after <= ?1";
static const char SQL_CERT_EXPIRING[] =
    "SELECT " CERT_COLS " FROM certificates WHERE state = 'active' AND not_after > ?1"
    " AND not_after <= ?2 AND id > ?3 ORDER BY id LIMIT ?4";
/* Issued for an end user's download (the key made in the RA) at or before `before`, still valid,
 * and no credential spent since its request was made: the .p12 never left the RA. */
static const char SQL_CERT_UNDELIVERED[] =
    "SELECT " CERT_COLS " FROM certificates WHERE state IN ('active', 'suspended')"
    " AND id > ?2 AND id IN (SELECT r.cert_id FROM requests r WHERE r.generate_here = 1"
    " AND r.batch_id IS NULL AND r.kind IN ('issue', 'renew') AND r.state = 'done'"
    " AND r.updated_at <= ?1"
    " AND NOT EXISTS (SELECT 1 FROM download_credentials d"
    "  WHERE d.cert_id IN (r.cert_id, r.old_cert_id) AND d.used_at >= r.created_at)"
    " AND NOT EXISTS (SELECT 1 FROM requests e WHERE e.cert_id = r.cert_id"
    "  AND e.kind = 'revoke'))"
    " ORDER BY id LIMIT ?3";
static const char SQL_CERT_COUNTS[] =
    "SELECT state, COUNT(*) FROM certificates GROUP BY state";
static const char SQL_QUOTA_USED[] =
    "SELECT COUNT(*) FROM certificates WHERE state <> 'failed'";

static ik_status read_cert(sqlite3_stmt *q, ra_cert *o)
{
	char state[24];
	ik_status st;

	memset(o, 0, sizeof(*o));
	o->id = sq_col_i64(q, 0);
	o->device_id = sq_col_i64(q, 1);
	o->user_id = sq_col_i64(q, 2);
	o->request_id = sq_col_i64(q, 3);
	if ((st = sq_col_text(q, 4, o->serial, sizeof(o->serial))) != IK_OK ||
	    (st = sq_col_text(q, 5, o->cn, sizeof(o->cn))) != IK_OK ||
	    (st = sq_col_text(q, 9, state, sizeof(state))) != IK_OK)
		return st;
	if (ra_cert_state_parse(state, &o->state) != IK_OK)
		return IK_ERR_IO;
	o->validity_days = (unsigned)sq_col_i64(q, 6);
	o->not_before = sq_col_i64(q, 7);
	o->not_after = sq_col_i64(q, 8);
	o->reason = sqlite3_column_type(q, 10) == SQLITE_NULL ? -1 : (int)sq_col_i64(q, 10);
	o->current = sq_col_i64(q, 11) != 0;
	(void)sq_col_blob(q, 12, o->sha256, 32);
	o->created = sq_col_i64(q, 13);
	o->updated = sq_col_i64(q, 14);
	return IK_OK;
}

ik_status sq_cert_read(sq_conn *c, int64_t id, ra_cert *out)
{
	sqlite3_stmt *q;
	int row;
	ik_status st = sq_stmt(c, SQL_CERT_GET, &q);

	if (st != IK_OK)
		return st;
	sq_bind_i64(c, q, 1, id);
	if ((st = sq_step(c, q, &row)) == IK_OK)
		st = row ? read_cert(q, out) : IK_ERR_NOT_FOUND;
	sq_reset(q);
	return st;
}

ik_status sq_cert_insert(sq_conn *c, int64_t device_id, int64_t user_id, const char *cn,
    unsigned validity_days, ra_cert_state state, int64_t *id)
{
	sqlite3_stmt *q;
	ik_status st = sq_stmt(c, SQL_CERT_INSERT, &q);

	*id = 0;
	if (st != IK_OK)
		return st;
	sq_bind_opt_i64(c, q, 1, device_id);
	sq_bind_opt_i64(c, q, 2, user_id);
	sq_bind_text(c, q, 3, cn);
	sq_bind_i64(c, q, 4, validity_days);
	sq_bind_text(c, q, 5, ra_cert_state_name(state));
	sq_bind_i64(c, q, 6, sq_now());
	if ((st = sq_exec(c, q, NULL)) == IK_OK)
		*id = sq_last_id(c);
	sq_reset(q);
	/* certs_one_pending: the device already has a certificate on its way */
	return st == IK_ERR_EXISTS ? IK_ERR_STATE : st;
}

ik_status sq_quota_check(sq_conn *c, uint64_t quota)
{
	sqlite3_stmt *q;
	int row;
	ik_status st;

	if (quota == 0)
		return IK_OK;
	if ((st = sq_stmt(c, SQL_QUOTA_USED, &q)) != IK_OK)
		return st;
	if ((st = sq_step(c, q, &row)) == IK_OK && row &&
	    (uint64_t)sq_col_i64(q, 0) >= quota)
		st = IK_ERR_STATE;
	sq_reset(q);
	return st;
}

ik_status ra_store_cert_reserve(ra_store *s, const ra_cert_new *cn, const ra_hist *h,
    int64_t *id)
{
	sq_conn *c;
	int64_t user_id = 0;
	ik_status st;

	*id = 0;
	if (!sq_cn_ok(cn->cn) || !sq_validity_ok(cn->validity_days))
		return IK_ERR_ARG;
	if ((st = sq_get_conn(s, &c)) != IK_OK || (st = sq_begin(c)) != IK_OK)
		return st;
	st = sq_quota_check(c, cn->quota);
	if (st == IK_OK && cn->device_id != 0)
		st = sq_device_free(c, cn->device_id, &user_id);
	if (st == IK_OK)
		st = sq_cert_insert(c, cn->device_id, user_id, cn->cn, cn->validity_days,
		    RA_CERT_AWAITING_DOWNLOAD, id);
	if (st == IK_OK)
		st = sq_hist(s, h);
	st = sq_finish(c, st);
	if (st != IK_OK)
		*id = 0;
	return st;
}

ik_status ra_store_cert_get(ra_store *s, int64_t id, ra_cert *out)
{
	sq_conn *c;
	ik_status st = sq_get_conn(s, &c);

	return st != IK_OK ? st : sq_cert_read(c, id, out);
}

ik_status ra_store_cert_by_serial(ra_store *s, const char *serial, ra_cert *out)
{
	char lower[RA_SERIAL_HEX_MAX + 1];
	sq_conn *c;
	sqlite3_stmt *q;
	size_t n;
	int row;
	ik_status st;

	if (!sq_len_ok(serial, 2, RA_SERIAL_HEX_MAX))
		return IK_ERR_ARG;
	n = strlen(serial);
	for (size_t i = 0; i <= n; i++) {
		char ch = serial[i];
		lower[i] = ch >= 'A' && ch <= 'F' ? (char)(ch - 'A' + 'a') : ch;
	}
	if ((st = sq_prep(s, SQL_CERT_BY_SERIAL, &c, &q)) != IK_OK)
		return st;
	sq_bind_text(c, q, 1, lower);
	if ((st = sq_step(c, q, &row)) == IK_OK)
		st = row ? read_cert(q, out) : IK_ERR_NOT_FOUND;
	sq_reset(q);
	return st;
}

ik_status ra_store_cert_der(ra_store *s, int64_t id, ik_buf *der)
{
	sq_conn *c;
	sqlite3_stmt *q;
	int row;
	ik_status st;

	if ((st = sq_prep(s, SQL_CERT_DER, &c, &q)) != IK_OK)
		return st;
	sq_bind_i64(c, q, 1, id);
	if ((st = sq_step(c, q, &row)) == IK_OK) {
		const void *b = row ? sqlite3_column_blob(q, 0) : NULL;
		int len = row ? sqlite3_column_bytes(q, 0) : 0;

		if (!row)
			st = IK_ERR_NOT_FOUND;
		else if (b == NULL || len <= 0)
			st = IK_ERR_STATE;
		else
			st = ik_buf_put(der, b, (size_t)len);
	}
	sq_reset(q);
	return st;
}

static int reason_ok(int reason)
{
	/* RFC 5280: 7 is unused; 8 (removeFromCRL) belongs to delta CRLs */
	return reason >= 0 && reason <= 10 && reason != 7 && reason != 8;
}

ik_status ra_store_cert_set_state(ra_store *s, int64_t id, unsigned from_mask,
    ra_cert_state to, int reason, const ra_hist *h)
{
	sq_conn *c;
	sqlite3_stmt *q;
	ra_cert cur;
	int64_t reason_v = -1;
	ik_status st;

	if (to < RA_CERT_ISSUING || to > RA_CERT_FAILED)
		return IK_ERR_ARG;
	if (to == RA_CERT_REVOKED) {
		if (!reason_ok(reason))
			return IK_ERR_ARG;
		reason_v = reason;
	} else if (to == RA_CERT_SUSPENDED) {
		reason_v = 6; /* certificateHold */
	}
	if ((st = sq_get_conn(s, &c)) != IK_OK || (st = sq_begin(c)) != IK_OK)
		return st;
	if ((st = sq_cert_read(c, id, &cur)) == IK_OK &&
	    ((from_mask & RA_CERT_STATE_BIT(cur.state)) == 0 ||
	    (cur.serial[0] == '\0' && to != RA_CERT_FAILED && to != RA_CERT_ISSUING &&
	    to != RA_CERT_AWAITING_DOWNLOAD)))
		st = IK_ERR_STATE;
	if (st == IK_OK && (st = sq_stmt(c, SQL_CERT_SET_STATE, &q)) == IK_OK) {
		sq_bind_i64(c, q, 1, id);
		sq_bind_text(c, q, 2, ra_cert_state_name(to));
		if (reason_v >= 0)
			sq_bind_i64(c, q, 3, reason_v);
		sq_bind_i64(c, q, 4, sq_now());
		st = sq_exec(c, q, NULL);
		sq_reset(q);
		if (st == IK_ERR_EXISTS) /* certs_one_pending */
			st = IK_ERR_STATE;
	}
	if (st == IK_OK)
		st = sq_hist(s, h);
	return sq_finish(c, st);
}

ik_status ra_store_cert_expire(ra_store *s, int64_t now, size_t *n)
{
	sq_conn *c;
	sqlite3_stmt *q;
	int64_t changes = 0;
	ik_status st;

	if ((st = sq_prep(s, SQL_CERT_EXPIRE, &c, &q)) != IK_OK)
		return st;
	sq_bind_i64(c, q, 1, now);
	sq_bind_i64(c, q, 2, sq_now());
	st = sq_exec(c, q, &changes);
	sq_reset(q);
	if (n != NULL)
		*n = (size_t)changes;
	return st;
}

static ik_status read_cert_row(sqlite3_stmt *q, void *out)
{
	return read_cert(q, out);
}

ik_status ra_store_cert_expiring(ra_store *s, int64_t from, int64_t until, int64_t after_id,
    ra_cert *rows, size_t max, size_t *n)
{
	const int64_t v[3] = { from, until, after_id };

	return sq_read_page(s, SQL_CERT_EXPIRING, v, 3, max, read_cert_row, rows, sizeof(*rows),
	    n);
}

ik_status ra_store_cert_undelivered(ra_store *s, int64_t before, int64_t after_id,
    ra_cert *rows, size_t max, size_t *n)
{
	const int64_t v[2] = { before, after_id };

	return sq_read_page(s, SQL_CERT_UNDELIVERED, v, 2, max, read_cert_row, rows,
	    sizeof(*rows), n);
}

ik_status ra_store_cert_counts(ra_store *s, ra_cert_counts *out)
{
	sq_conn *c;
	sqlite3_stmt *q;
	int row = 1;
	char state[24];
	ik_status st;

	memset(out, 0, sizeof(*out));
	if ((st = sq_prep(s, SQL_CERT_COUNTS, &c, &q)) != IK_OK)
		return st;
	while ((st = sq_step(c, q, &row)) == IK_OK && row) {
		ra_cert_state cs;
		uint64_t k = (uint64_t)sq_col_i64(q, 1);

		if ((st = sq_col_text(q, 0, state, sizeof(state))) != IK_OK)
			break;
		if (ra_cert_state_parse(state, &cs) != IK_OK) {
			st = IK_ERR_IO;
			break;
		}
		out->by_state[cs] = k;
		if (cs != RA_CERT_FAILED)
			out->quota_used += k;
	}
	sq_reset(q);
	return st;
}

/* ---- listing ---- */

/* ?1 filter, ?2 now, ?3 cn LIKE pattern, ?4/?5 not_before range, ?6 device, ?7 user */
#define CERT_FILTER \
	" (?1 = 0" \
	"  OR (?1 = 1 AND state = 'active' AND not_after > ?2)" \
	"  OR (?1 = 2 AND (state = 'expired' OR (state = 'active' AND not_after <= ?2)))" \
	"  OR (?1 = 3 AND state = 'revoked')" \
	"  OR (?1 = 4 AND state = 'suspended'))" \
	" AND (?3 IS NULL OR cn LIKE ?3 ESCAPE '\\')" \
	" AND (?4 IS NULL OR not_before >= ?4) AND (?5 IS NULL OR not_before < ?5)" \
	" AND (?6 IS NULL OR device_id = ?6) AND (?7 IS NULL OR user_id = ?7)"

/* A page: the first one, or the one after (?8, ?9) = the (key, id) of the previous page's
 * last row; ?10 the limit.  The key is selected last, for the next cursor.  The page after
 * is two seeks in the (key, id) index — the rest of the rows with key ?8 (id past ?9), then
 * the keys past ?8 — merged, so a page costs the same wherever it is, also inside a long
 * run of equal keys (a bulk file's rows share one created_at): SQLite seeks a row-value
 * "(key, id) > (?8, ?9)" only on key, and would scan the whole run for every page. */
#define CERT_PAGE_FIRST(key, dir) \
	"SELECT " CERT_COLS ", " key " FROM certificates WHERE" CERT_FILTER \
	" ORDER BY " key " " dir ", id " dir " LIMIT ?10"
#define CERT_PAGE_AFTER(key, cmp, dir) \
	"SELECT * FROM (SELECT " CERT_COLS ", " key " AS k FROM certificates WHERE" CERT_FILTER \
	" AND " key " = ?8 AND id " cmp " ?9 ORDER BY id " dir " LIMIT ?10)" \
	" UNION ALL SELECT * FROM (SELECT " CERT_COLS ", " key " AS k FROM certificates WHERE" \
	CERT_FILTER " AND " key " " cmp " ?8 ORDER BY " key " " dir ", id " dir " LIMIT ?10)" \
	" ORDER BY k " dir ", id " dir " LIMIT ?10"

#define CERT_PAGES(key) { \
	{ CERT_PAGE_FIRST(key, "ASC"), CERT_PAGE_AFTER(key, ">", "ASC") }, \
	{ CERT_PAGE_FIRST(key, "DESC"), CERT_PAGE_AFTER(key, "<", "DESC") } }

/* [ra_cert_sort][descending][after a cursor]; every key has an index ending in id */
static const char *const SQL_CERT_PAGE[][2][2] = {
	[RA_CERT_SORT_CREATED] = CERT_PAGES("created_at"),
	[RA_CERT_SORT_CN] = CERT_PAGES("cn"),
	[RA_CERT_SORT_NOT_BEFORE] = CERT_PAGES("IFNULL(not_before, 0)"),
	[RA_CERT_SORT_NOT_AFTER] = CERT_PAGES("IFNULL(not_after, 0)"),
	[RA_CERT_SORT_SERIAL] = CERT_PAGES("IFNULL(serial, '')"),
};

static const char SQL_CERT_COUNT[] = "SELECT COUNT(*) FROM certificates WHERE" CERT_FILTER;

static int sort_is_text(ra_cert_sort k)
{
	return k == RA_CERT_SORT_CN || k == RA_CERT_SORT_SERIAL;
}

/* A keyset cursor: "k<sort>.<0|1>.<id>.<hex of the key value>" (an integer key as its
 * decimal text).  Opaque to callers, safe in a URL. */
typedef struct cursor {
	int64_t id;
	int64_t ival;
	char sval[RA_CN_MAX + 1];
} cursor;

static void cursor_encode(ra_cert_sort k, int desc, int64_t id, int64_t ival,
    const char *sval, char out[RA_CURSOR_MAX])
{
	static const char hexd[] = "0123456789abcdef";
	char num[24];
	const char *v = sval;
	int w = snprintf(out, RA_CURSOR_MAX, "k%d.%d.%lld.", (int)k, desc ? 1 : 0,
	    (long long)id);
	size_t o = w > 0 ? (size_t)w : 0;

	if (!sort_is_text(k)) {
		snprintf(num, sizeof(num), "%lld", (long long)ival);
		v = num;
	}
	for (size_t i = 0; v[i] != '\0' && o + 2 < RA_CURSOR_MAX; i++) {
		out[o++] = hexd[(unsigned char)v[i] >> 4];
		out[o++] = hexd[(unsigned char)v[i] & 15];
	}
	out[o] = '\0';
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	return -1;
}

static ik_status cursor_decode(const char *text, ra_cert_sort k, int desc, cursor *cur)
{
	char *end;
	long long id;
	size_t n = 0;
	const char *p;

	memset(cur, 0, sizeof(*cur));
	if (strnlen(text, RA_CURSOR_MAX) >= RA_CURSOR_MAX || text[0] != 'k' ||
	    text[1] != (char)('0' + (int)k) || text[2] != '.' || text[3] != (desc ? '1' : '0') ||
	    text[4] != '.' || text[5] < '0' || text[5] > '9')
		return IK_ERR_ARG;
	errno = 0;
	id = strtoll(text + 5, &end, 10);
	if (errno != 0 || *end != '.' || id < 0)
		return IK_ERR_ARG;
	cur->id = (int64_t)id;
	for (p = end + 1; p[0] != '\0'; p += 2) {
		int hi = hexval(p[0]), lo = p[1] != '\0' ? hexval(p[1]) : -1;
		if (hi < 0 || lo < 0 || (hi == 0 && lo == 0) || n + 1 >= sizeof(cur->sval))
			return IK_ERR_ARG;
		cur->sval[n++] = (char)(hi << 4 | lo);
	}
	cur->sval[n] = '\0';
	if (!sort_is_text(k)) {
		if (n == 0)
			return IK_ERR_ARG;
		errno = 0;
		cur->ival = (int64_t)strtoll(cur->sval, &end, 10);
		if (errno != 0 || *end != '\0')
			return IK_ERR_ARG;
	}
	return IK_OK;
}

static void bind_filter(sq_conn *c, sqlite3_stmt *q, const ra_cert_query *cq,
    const char *like)
{
	sq_bind_i64(c, q, 1, (int64_t)cq->filter);
	sq_bind_i64(c, q, 2, cq->now != 0 ? cq->now : sq_now());
	sq_bind_text(c, q, 3, like);
	sq_bind_opt_i64(c, q, 4, cq->issued_from);
	sq_bind_opt_i64(c, q, 5, cq->issued_to);
	sq_bind_opt_i64(c, q, 6, cq->device_id);
	sq_bind_opt_i64(c, q, 7, cq->user_id);
}

static int query_ok(const ra_cert_query *cq)
{
	return cq->filter >= RA_CERT_FILTER_ALL && cq->filter <= RA_CERT_FILTER_SUSPENDED &&
	    cq->sort >= RA_CERT_SORT_CREATED && cq->sort <= RA_CERT_SORT_SERIAL &&
	    cq->limit <= RA_PAGE_MAX &&
	    (cq->cn_contains == NULL || strnlen(cq->cn_contains, RA_CN_MAX + 1) <= RA_CN_MAX);
}

ik_status ra_store_cert_list(ra_store *s, const ra_cert_query *cq, ra_cert *rows,
    size_t *n, char next[RA_CURSOR_MAX])
{
	size_t limit = cq->limit == 0 ? RA_PAGE_MAX : cq->limit;
	int desc = cq->descending != 0, row = 1, more = 0;
	int after = cq->cursor != NULL && cq->cursor[0] != '\0';
	int64_t last_i = 0;
	char last_s[RA_CN_MAX + 1] = "";
	char *like = NULL;
	cursor cur;
	sq_conn *c;
	sqlite3_stmt *q;
	ik_status st;

	*n = 0;
	next[0] = '\0';
	if (!query_ok(cq))
		return IK_ERR_ARG;
	if (after && (st = cursor_decode(cq->cursor, cq->sort, desc, &cur)) != IK_OK)
		return st;
	if ((st = sq_like_contains(cq->cn_contains, &like)) != IK_OK)
		return st;
	if ((st = sq_prep(s, SQL_CERT_PAGE[cq->sort][desc][after], &c, &q)) != IK_OK) {
		free(like);
		return st;
	}
	bind_filter(c, q, cq, like);
	if (after) {
		if (sort_is_text(cq->sort))
			sq_bind_text(c, q, 8, cur.sval);
		else
			sq_bind_i64(c, q, 8, cur.ival);
		sq_bind_i64(c, q, 9, cur.id);
	}
	sq_bind_i64(c, q, 10, (int64_t)limit + 1); /* one more: is there a next page? */
	while ((st = sq_step(c, q, &row)) == IK_OK && row) {
		if (*n == limit) {
			more = 1;
			break;
		}
		if ((st = read_cert(q, &rows[*n])) != IK_OK)
			break;
		if (sort_is_text(cq->sort))
			st = sq_col_text(q, 15, last_s, sizeof(last_s));
		else
			last_i = sq_col_i64(q, 15);
		if (st != IK_OK)
			break;
		(*n)++;
	}
	sq_reset(q);
	free(like);
	if (st != IK_OK) {
		*n = 0;
		return st;
	}
	if (more)
		cursor_encode(cq->sort, desc, rows[*n - 1].id, last_i, last_s, next);
	return IK_OK;
}

void ra_store_cert_cursor(const ra_cert *c, ra_cert_sort sort, int descending,
    char out[RA_CURSOR_MAX])
{
	int64_t ival = 0;
	const char *sval = "";

	switch (sort) {
	case RA_CERT_SORT_CN: sval = c->cn; break;
	case RA_CERT_SORT_SERIAL: sval = c->serial; break;
	case RA_CERT_SORT_NOT_BEFORE: ival = c->not_before; break;
	case RA_CERT_SORT_NOT_AFTER: ival = c->not_after; break;
	default: ival = c->created; break;
	}
	cursor_encode(sort, descending != 0, c->id, ival, sval, out);
}

ik_status ra_store_cert_count(ra_store *s, const ra_cert_query *cq, uint64_t *count)
{
	char *like = NULL;
	sq_conn *c;
	sqlite3_stmt *q;
	int row;
	ik_status st;

	*count = 0;
	if (!query_ok(cq))
		return IK_ERR_ARG;
	if ((st = sq_like_contains(cq->cn_contains, &like)) != IK_OK)
		return st;
	if ((st = sq_prep(s, SQL_CERT_COUNT, &c, &q)) != IK_OK) {
		free(like);
		return st;
	}
	bind_filter(c, q, cq, like);
	if ((st = sq_step(c, q, &row)) == IK_OK && row)
		*count = (uint64_t)sq_col_i64(q, 0);
	sq_reset(q);
	free(like);
	return st;
}
