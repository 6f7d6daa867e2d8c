/* store_sqlite_batches: "issue N more" and bulk-file batches — one running at a time
 * (enforced by a partial unique index, not only here), progress counted as the queue settles
 * their requests, sealing, and aborting. */
#include <stdio.h>
#include <string.h>

#include "store_sqlite_int.h"

static const char *const batch_states[] = {
	[RA_BATCH_RUNNING] = "running", [RA_BATCH_FINISHED] = "finished",
	[RA_BATCH_FAILED] = "failed",
};

const char *ra_batch_state_name(ra_batch_state st)
{
	return st >= RA_BATCH_RUNNING && st <= RA_BATCH_FAILED ? batch_states[st] : "unknown";
}

static const char SQL_BATCH_ADD_ONE[] =
    "UPDATE batches SET total = total + 1, updated_at = ?2"
    " WHERE id = ?1 AND state = 'running' AND kind = ?3";
static const char SQL_BATCH_COUNT[] =
    "UPDATE batches SET done = done + ?2, failed = failed + ?3, updated_at = ?4 WHERE id = ?1";
static const char SQL_BATCH_SETTLE[] =
    "UPDATE batches SET state = 'finished', updated_at = ?2"
    " WHERE id = ?1 AND state = 'running' AND sealed = 1 AND done + failed >= total";

#define BATCH_COLS "id, kind, total, done, failed, state, sealed, cn_pattern, created_by," \
	" created_at, updated_at"

static const char SQL_BATCH_INSERT[] =
    "INSERT INTO batches(kind, cn_pattern, created_by, created_at, updated_at)"
    " VALUES (?1, ?2, ?3, ?4, ?4)";
static const char SQL_BATCH_GET[] = "SELECT " BATCH_COLS " FROM batches WHERE id = ?1";
static const char SQL_BATCH_RUNNING[] =
    "SELECT " BATCH_COLS " FROM batches WHERE state = 'running'";
static const char SQL_BATCH_RECENT[] =
    "SELECT " BATCH_COLS ", planned, IFNULL(downloaded_at, 0) FROM batches"
    " ORDER BY id DESC LIMIT ?1";
static const char SQL_BATCH_SEAL[] =
    "UPDATE batches SET sealed = 1, updated_at = ?2 WHERE id = ?1 AND state = 'running'";
static const char SQL_BATCH_ABORT_CERTS[] =
    "UPDATE certificates SET state = 'failed', current = 0, updated_at = ?2"
    " WHERE state = 'issuing' AND id IN (SELECT cert_id FROM requests WHERE batch_id = ?1"
    " AND state = 'pending' AND kind IN ('issue', 'renew'))";
static const char SQL_BATCH_ABORT_REQS[] =
    "UPDATE requests SET state = 'failed', last_error = ?2, updated_at = ?3"
    " WHERE batch_id = ?1 AND state = 'pending'";
static const char SQL_BATCH_ABORT[] =
    "UPDATE batches SET state = 'failed', failed = failed + ?2, updated_at = ?3"
    " WHERE id = ?1 AND state = 'running'";

static ik_status read_batch(sqlite3_stmt *q, void *out)
{
	ra_batch *b = out;
	char kind[16], state[16];
	ik_status st;

	memset(b, 0, sizeof(*b));
	b->id = sq_col_i64(q, 0);
	if ((st = sq_col_text(q, 1, kind, sizeof(kind))) != IK_OK ||
	    (st = sq_col_text(q, 5, state, sizeof(state))) != IK_OK ||
	    (st = sq_col_text(q, 7, b->cn_pattern, sizeof(b->cn_pattern))) != IK_OK ||
	    (st = sq_col_text(q, 8, b->created_by, sizeof(b->created_by))) != IK_OK)
		return st;
	b->state = 0;
	for (int i = RA_BATCH_RUNNING; i <= RA_BATCH_FAILED; i++)
		if (strcmp(state, batch_states[i]) == 0)
			b->state = (ra_batch_state)i;
	if (ra_request_kind_parse(kind, &b->kind) != IK_OK || b->state == 0)
		return IK_ERR_IO;
	b->total = (uint64_t)sq_col_i64(q, 2);
	b->done = (uint64_t)sq_col_i64(q, 3);
	b->failed = (uint64_t)sq_col_i64(q, 4);
	b->sealed = sq_col_i64(q, 6) != 0;
	b->created = sq_col_i64(q, 9);
	b->updated = sq_col_i64(q, 10);
	return IK_OK;
}

static ik_status read_summary(sqlite3_stmt *q, void *out)
{
	ra_batch_summary *b = out;
	ik_status st = read_batch(q, &b->b);

	b->planned = (uint64_t)sq_col_i64(q, 11);
	b->downloaded = sq_col_i64(q, 12);
	return st;
}

ik_status ra_store_batch_recent(ra_store *s, ra_batch_summary *rows, size_t max, size_t *n)
{
	return sq_read_page(s, SQL_BATCH_RECENT, NULL, 0, max, read_summary, rows, sizeof(*rows),
	    n);
}

static ik_status batch_one(sq_conn *c, const char *sql, int64_t id, int has_id,
    ra_batch *out)
{
	return sq_read_one(c, sql, has_id ? &id : NULL, NULL, read_batch, out);
}

ik_status sq_batch_read(sq_conn *c, int64_t id, ra_batch *out)
{
	return batch_one(c, SQL_BATCH_GET, id, 1, out);
}

ik_status ra_store_batch_create(ra_store *s, ra_request_kind kind, const char *cn_pattern,
    const char *created_by, const ra_hist *h, int64_t *id)
{
	sq_conn *c;
	sqlite3_stmt *q;
	ik_status st;

	*id = 0;
	if (kind < RA_REQ_ISSUE || kind > RA_REQ_RESUME ||
	    (cn_pattern != NULL && !sq_len_ok(cn_pattern, 0, RA_CN_MAX)) ||
	    !sq_len_ok(created_by, 0, RA_STORE_NAME_MAX))
		return IK_ERR_ARG;
	if ((st = sq_get_conn(s, &c)) != IK_OK || (st = sq_begin(c)) != IK_OK)
		return st;
	if ((st = sq_stmt(c, SQL_BATCH_INSERT, &q)) == IK_OK) {
		sq_bind_text(c, q, 1, ra_request_kind_name(kind));
		sq_bind_text(c, q, 2, cn_pattern != NULL ? cn_pattern : "");
		sq_bind_text(c, q, 3, created_by);
		sq_bind_i64(c, q, 4, sq_now());
		st = sq_exec(c, q, NULL);
		if (st == IK_OK)
			*id = sq_last_id(c);
		else if (st == IK_ERR_EXISTS) /* batches_one_running */
			st = IK_ERR_STATE;
		sq_reset(q);
	}
	if (st == IK_OK)
		st = sq_hist(s, h);
	st = sq_finish(c, st);
	if (st != IK_OK)
		*id = 0;
	return st;
}

ik_status ra_store_batch_seal(ra_store *s, int64_t id)
{
	sq_conn *c;
	int64_t v[2] = { id, sq_now() }, changes = 0;
	ik_status st;

	if ((st = sq_get_conn(s, &c)) != IK_OK || (st = sq_begin(c)) != IK_OK)
		return st;
	st = sq_run_ids(c, SQL_BATCH_SEAL, v, 2, &changes);
	if (st == IK_OK && changes == 0) {
		ra_batch b;
		st = sq_batch_read(c, id, &b);
		if (st == IK_OK)
			st = IK_ERR_STATE;
	}
	if (st == IK_OK)
		st = sq_run_ids(c, SQL_BATCH_SETTLE, v, 2, NULL);
	return sq_finish(c, st);
}

ik_status ra_store_batch_get(ra_store *s, int64_t id, ra_batch *out)
{
	sq_conn *c;
	ik_status st = sq_get_conn(s, &c);

	return st != IK_OK ? st : sq_batch_read(c, id, out);
}

ik_status ra_store_batch_running(ra_store *s, ra_batch *out)
{
	sq_conn *c;
	ik_status st = sq_get_conn(s, &c);

	return st != IK_OK ? st : batch_one(c, SQL_BATCH_RUNNING, 0, 0, out);
}

ik_status ra_store_batch_abort(ra_store *s, int64_t id, const char *why, const ra_hist *h)
{
	char err[RA_STORE_TEXT_MAX + 1];
	sq_conn *c;
	sqlite3_stmt *q;
	ra_batch b;
	int64_t failed = 0, now = sq_now();
	ik_status st;

	sq_clip_text(why, err);
	if ((st = sq_get_conn(s, &c)) != IK_OK || (st = sq_begin(c)) != IK_OK)
		return st;
	if ((st = sq_batch_read(c, id, &b)) == IK_OK && b.state != RA_BATCH_RUNNING)
		st = IK_ERR_STATE;
	if (st == IK_OK) {
		int64_t v[2] = { id, now };
		st = sq_run_ids(c, SQL_BATCH_ABORT_CERTS, v, 2, NULL);
	}
	if (st == IK_OK && (st = sq_stmt(c, SQL_BATCH_ABORT_REQS, &q)) == IK_OK) {
		sq_bind_i64(c, q, 1, id);
		sq_bind_text(c, q, 2, err);
		sq_bind_i64(c, q, 3, now);
		st = sq_exec(c, q, &failed);
		sq_reset(q);
	}
	if (st == IK_OK) {
		int64_t v[3] = { id, failed, now };
		st = sq_run_ids(c, SQL_BATCH_ABORT, v, 3, NULL);
	}
	if (st == IK_OK)
		st = sq_hist(s, h);
	return sq_finish(c, st);
}

/* The request's batch must be running and of the same kind; its total grows by one.  One
 * UPDATE (the batch is read only to say why not): this runs for every key of a batch. */
ik_status sq_batch_take(sq_conn *c, int64_t batch_id, ra_request_kind kind)
{
	sqlite3_stmt *q;
	ra_batch b;
	int64_t changes = 0;
	ik_status st = sq_stmt(c, SQL_BATCH_ADD_ONE, &q);

	if (st != IK_OK)
		return st;
	sq_bind_i64(c, q, 1, batch_id);
	sq_bind_i64(c, q, 2, sq_now());
	sq_bind_text(c, q, 3, ra_request_kind_name(kind));
	st = sq_exec(c, q, &changes);
	sq_reset(q);
	if (st != IK_OK || changes == 1)
		return st;
	/* no such batch (IK_ERR_NOT_FOUND), or not running or of another kind */
	return (st = sq_batch_read(c, batch_id, &b)) != IK_OK ? st : IK_ERR_STATE;
}

/* A settled request of a batch: count it, and finish the batch when all are settled. */
ik_status sq_batch_settle(sq_conn *c, int64_t batch_id, int done, int failed)
{
	int64_t now = sq_now();
	int64_t v1[4] = { batch_id, done, failed, now }, v2[2] = { batch_id, now };
	ik_status st;

	if (batch_id == 0)
		return IK_OK;
	if ((st = sq_run_ids(c, SQL_BATCH_COUNT, v1, 4, NULL)) != IK_OK)
		return st;
	return sq_run_ids(c, SQL_BATCH_SETTLE, v2, 2, NULL);
}
