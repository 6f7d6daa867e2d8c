/* ledger_crl: the ledger's CRL cursors — every entry on the CRL, or the serials changed
 * since a mark — each on its own read-only connection and read transaction (one
 * snapshot), so a long CRL build never holds up the committer or the readers. */
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "ledger.h"
#include "ledger_db.h"

struct sg_ledger_cursor {
	sqlite3 *db;
	sqlite3_stmt *st;
	int delta;    /* changes since a mark: a 4th column says "no longer on the CRL" */
	int done;     /* stepping past SQLITE_DONE would restart the query */
};

/* One integer from a query in the cursor's snapshot. */
static ik_status cursor_int(sg_ledger_cursor *c, const char *sql, int64_t *out)
{
	sqlite3_stmt *q = NULL;
	ik_status st = IK_ERR_LEDGER;

	if (sqlite3_prepare_v2(c->db, sql, -1, &q, NULL) == SQLITE_OK &&
	    sqlite3_step(q) == SQLITE_ROW) {
		*out = sqlite3_column_int64(q, 0);
		st = IK_OK;
	}
	sqlite3_finalize(q);
	return st;
}

/* Open a snapshot; count (if wanted) the entries on the CRL, read the mark (the id of the
 * last revocation event), then prepare the entry query. */
static ik_status cursor_open(sg_ledger *l, const char *sql, int64_t since, int delta,
    sg_ledger_cursor **out, size_t *count, int64_t *mark)
{
	sg_ledger_cursor *c = calloc(1, sizeof(*c));
	int64_t v;
	ik_status st;

	*out = NULL;
	if (c == NULL)
		return IK_ERR_NOMEM;
	c->delta = delta;
	if ((st = sg_ledger_db_open(sg_ledger_path(l), SQLITE_OPEN_READONLY, &c->db)) != IK_OK ||
	    (st = sg_ledger_db_exec(c->db, "BEGIN")) != IK_OK)
		goto fail;
	if (count != NULL) {
		if ((st = cursor_int(c, "SELECT count(*) FROM status", &v)) != IK_OK)
			goto fail;
		*count = (size_t)v;
	}
	if (mark != NULL &&
	    (st = cursor_int(c, "SELECT coalesce(max(id), 0) FROM events", mark)) != IK_OK)
		goto fail;
	if (sqlite3_prepare_v2(c->db, sql, -1, &c->st, NULL) != SQLITE_OK ||
	    (delta && sqlite3_bind_int64(c->st, 1, since) != SQLITE_OK)) {
		st = IK_ERR_LEDGER;
		goto fail;
	}
	*out = c;
	return IK_OK;
fail:
	sg_ledger_crl_close(c);
	return st;
}

#define CRL_ALL_SQL "SELECT serial, at, reason FROM status ORDER BY serial"

ik_status sg_ledger_crl_open(sg_ledger *l, sg_ledger_cursor **out, size_t *count)
{
	return cursor_open(l, CRL_ALL_SQL, 0, 0, out, count, NULL);
}

ik_status sg_ledger_crl_open_all(sg_ledger *l, sg_ledger_cursor **out, int64_t *mark)
{
	return cursor_open(l, CRL_ALL_SQL, 0, 0, out, NULL, mark);
}

ik_status sg_ledger_crl_changes(sg_ledger *l, int64_t since, sg_ledger_cursor **out,
    int64_t *mark)
{
	if (since < 0)
		return IK_ERR_ARG;
	return cursor_open(l, "SELECT e.serial, s.at, s.reason, s.serial IS NULL"
	    " FROM (SELECT DISTINCT serial FROM events WHERE id > ?1) e"
	    " LEFT JOIN status s ON s.serial = e.serial ORDER BY e.serial", since, 1, out, NULL,
	    mark);
}

long sg_ledger_crl_next(void *cursor, sg_crl_entry *out, size_t max)
{
	sg_ledger_cursor *c = cursor;
	size_t n = 0;

	while (n < max && !c->done) {
		int rc = sqlite3_step(c->st);
		int sn;
		if (rc == SQLITE_DONE) {
			c->done = 1;
			break;
		}
		if (rc != SQLITE_ROW)
			return -1;
		sn = sqlite3_column_bytes(c->st, 0);
		if (sn <= 0 || sn > PROTO_MAX_SERIAL)
			return -1;
		memcpy(out[n].serial, sqlite3_column_blob(c->st, 0), (size_t)sn);
		out[n].serial_len = (size_t)sn;
		out[n].removed = (uint8_t)(c->delta && sqlite3_column_int(c->st, 3) != 0);
		if (out[n].removed) {
			out[n].when = 0;
			out[n].reason = 0;
		} else {
			int reason = sqlite3_column_int(c->st, 2);
			if (reason < 0 || reason > 10)
				return -1;
			out[n].when = sqlite3_column_int64(c->st, 1);
			out[n].reason = (uint8_t)reason;
		}
		n++;
	}
	return (long)n;
}

void sg_ledger_crl_close(sg_ledger_cursor *c)
{
	if (c == NULL)
		return;
	sqlite3_finalize(c->st);
	if (c->db != NULL)
		sg_ledger_db_exec(c->db, "COMMIT");
	sqlite3_close(c->db);
	free(c);
}
