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

#define CERT_COLS SQ_CERT_COLS

static const char SQL_CERT_INSERT[] =
    "INSERT INTO certificates(device_id, user_id, cn, validity_days, state, created_at,"
    " updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)";
static const char SQL_CERT_FTS_ADD[] = "INSERT INTO certs_cn_fts(rowid, cn) VALUES (?1, ?2)";
static const char SQL_CERT_GET[] = "SELECT " CERT_COLS " FROM certificates WHERE id = ?1";
static const char SQL_CERT_BY_SERIAL[] =
    "SELECT " CERT_COLS " FROM certificates WHERE serial = ?1";
static const char SQL_CERT_DER[] = "SELECT der FROM certificates WHERE id = ?1";
static const char SQL_CERT_SET_STATE[] =
    "UPDATE certificates SET state = ?2, reason = ?3, updated_at = ?4,"
    " current = CASE WHEN ?2 IN ('active', 'suspended') THEN current ELSE 0 END"
    " WHERE id = ?1";
/* IFNULL(not_after, 0): the form certs_state_not_after indexes (an issued row has one), so
 * the expiry job reads only the rows that expire instead of the whole table */
static const char SQL_CERT_EXPIRE[] =
    "UPDATE certificates SET state = 'expired', current = 0, updated_at = ?2"
    " WHERE state IN ('active', 'suspended') AND IFNULL(not_after, 0) <= ?1"
    " AND not_after IS NOT NULL";
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
/* cert_state_counts is kept by triggers (migration 005_cert_list): no scan of the table */
static const char SQL_CERT_COUNTS[] = "SELECT state, n FROM cert_state_counts";
static const char SQL_QUOTA_USED[] =
    "SELECT IFNULL(SUM(n), 0) FROM cert_state_counts WHERE state <> 'failed'";

ik_status sq_cert_row(sqlite3_stmt *q, ra_cert *o)
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
		st = row ? sq_cert_row(q, out) : IK_ERR_NOT_FOUND;
	sq_reset(q);
	return st;
}

ik_status sq_cert_insert(sq_conn *c, int64_t device_id, int64_t user_id, const char *cn,
    unsigned validity_days, ra_cert_state state, int64_t *id)
{
	sqlite3_stmt *q;
	ik_status st = sq_stmt(c, SQL_CERT_INSERT, &q);
	int defer;

	*id = 0;
	if (st != IK_OK)
		return st;
	sq_bind_opt_i64(c, q, 1, device_id);
	sq_bind_opt_i64(c, q, 2, user_id);
	sq_bind_text(c, q, 3, cn);
	sq_bind_i64(c, q, 4, validity_days);
	sq_bind_text(c, q, 5, ra_cert_state_name(state));
	sq_bind_i64(c, q, 6, sq_now());
	/* in a group commit, one statement: its CN search row comes with the group's */
	defer = sq_cert_fts_deferring(c);
	if (!defer && (st = sq_begin(c)) != IK_OK) {
		sq_reset(q);
		return st;
	}
	if ((st = sq_exec(c, q, NULL)) == IK_OK)
		*id = sq_last_id(c);
	sq_reset(q);
	if (st == IK_OK)
		st = defer ? sq_cert_fts_defer(c, *id) : sq_cert_fts_add(c, *id, cn);
	if (!defer)
		st = sq_finish(c, st);
	if (st != IK_OK)
		*id = 0;
	/* certs_one_pending: the device already has a certificate on its way */
	return st == IK_ERR_EXISTS ? IK_ERR_STATE : st;
}

ik_status sq_cert_fts_add(sq_conn *c, int64_t id, const char *cn)
{
	sqlite3_stmt *q;
	ik_status st = sq_stmt(c, SQL_CERT_FTS_ADD, &q);

	if (st != IK_OK)
		return st;
	sq_bind_i64(c, q, 1, id);
	sq_bind_text(c, q, 2, cn);
	st = sq_exec(c, q, NULL);
	sq_reset(q);
	return st;
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
		st = row ? sq_cert_row(q, out) : IK_ERR_NOT_FOUND;
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
	return sq_cert_row(q, out);
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

/* ---- a renewal interrupted by a restart (store.h) ---- */

/* reason 5, cessationOfOperation: how the queue revokes a certificate whose key died */
static const char SQL_RENEWAL_ORPHANED[] =
    "SELECT o.id FROM certificates o"
    " JOIN requests r ON r.old_cert_id = o.id AND r.kind = 'renew' AND r.generate_here = 1"
    " JOIN certificates n ON n.id = r.cert_id"
    " WHERE o.device_id = ?1 AND o.state = 'active' AND o.current = 0"
    " AND n.state = 'revoked' AND n.reason = 5"
    " AND NOT EXISTS (SELECT 1 FROM certificates WHERE device_id = ?1 AND current = 1)"
    " ORDER BY r.id DESC LIMIT 1";
static const char SQL_CERT_RECURRENT[] =
    "UPDATE certificates SET current = 1, updated_at = ?2"
    " WHERE id = ?1 AND state = 'active' AND current = 0";

ik_status ra_store_renewal_reset(ra_store *s, int64_t device_id, const ra_hist *h,
    int64_t *cert_id)
{
	sq_conn *c;
	ra_cert old;
	ra_hist hh;
	int64_t id = 0, v[2], changes = 0;
	ik_status st;

	*cert_id = 0;
	if ((st = sq_get_conn(s, &c)) != IK_OK || (st = sq_begin(c)) != IK_OK)
		return st;
	st = sq_count_id(c, SQL_RENEWAL_ORPHANED, device_id, &id);
	if (st == IK_OK && id != 0)
		st = sq_cert_read(c, id, &old);
	if (st == IK_OK && id != 0) {
		v[0] = id;
		v[1] = sq_now();
		st = sq_run_ids(c, SQL_CERT_RECURRENT, v, 2, &changes);
	}
	if (st == IK_OK && changes == 1 && h != NULL) {
		hh = *h;
		if (hh.target == NULL)
			hh.target = old.serial;
		st = sq_hist(s, &hh);
	}
	if ((st = sq_finish(c, st)) == IK_OK && changes == 1)
		*cert_id = id;
	return st;
}
