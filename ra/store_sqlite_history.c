/* store_sqlite_history: the operation history's rows — the chain's tail, inserting an
 * entry exactly as history.c made it, and searching (date range, operation, free text) in
 * keyset pages by id.  The hashing is history.c's business. */
#include <stdlib.h>
#include <string.h>

#include "store_sqlite_int.h"

#define HISTORY_COLS "id, at, actor, ip, op, target, detail, prev_hash, hash"
#define HISTORY_FILTER \
	" (?1 IS NULL OR at >= ?1) AND (?2 IS NULL OR at < ?2) AND (?3 IS NULL OR op = ?3)" \
	" AND (?4 IS NULL OR actor LIKE ?4 ESCAPE '\\' OR ip LIKE ?4 ESCAPE '\\'" \
	"   OR op LIKE ?4 ESCAPE '\\' OR target LIKE ?4 ESCAPE '\\'" \
	"   OR detail LIKE ?4 ESCAPE '\\')"

static const char SQL_TAIL[] = "SELECT id, hash FROM history ORDER BY id DESC LIMIT 1";
static const char SQL_INSERT[] =
    "INSERT INTO history(" HISTORY_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";
#define H_ROW "(?, ?, ?, ?, ?, ?, ?, ?, ?)"
#define H_ROW4 H_ROW ", " H_ROW ", " H_ROW ", " H_ROW
#define H_ROWS 16
static const char SQL_INSERT_ROWS[] = "INSERT INTO history(" HISTORY_COLS ") VALUES "
    H_ROW4 ", " H_ROW4 ", " H_ROW4 ", " H_ROW4;
static const char SQL_LIST_ASC[] =
    "SELECT " HISTORY_COLS " FROM history WHERE" HISTORY_FILTER
    " AND id > ?5 ORDER BY id LIMIT ?6";
static const char SQL_LIST_DESC[] =
    "SELECT " HISTORY_COLS " FROM history WHERE" HISTORY_FILTER
    " AND id < ?5 ORDER BY id DESC LIMIT ?6";

ik_status ra_store_history_tail(ra_store *s, int64_t *id, uint8_t hash[32])
{
	sq_conn *c;
	sqlite3_stmt *q;
	int row;
	ik_status st;

	*id = 0;
	memset(hash, 0, 32);
	if ((st = sq_prep(s, SQL_TAIL, &c, &q)) != IK_OK)
		return st;
	if ((st = sq_step(c, q, &row)) == IK_OK && row) {
		*id = sq_col_i64(q, 0);
		(void)sq_col_blob(q, 1, hash, 32);
	}
	sq_reset(q);
	return st;
}

static void bind_entry(sq_conn *c, sqlite3_stmt *q, int p, const ra_history_entry *e)
{
	sq_bind_i64(c, q, p + 1, e->id);
	sq_bind_i64(c, q, p + 2, e->at);
	sq_bind_text(c, q, p + 3, e->actor != NULL ? e->actor : "");
	sq_bind_text(c, q, p + 4, e->ip != NULL ? e->ip : "");
	sq_bind_text(c, q, p + 5, e->op != NULL ? e->op : "");
	sq_bind_text(c, q, p + 6, e->target != NULL ? e->target : "");
	sq_bind_text(c, q, p + 7, e->detail != NULL ? e->detail : "");
	sq_bind_blob(c, q, p + 8, e->prev_hash, 32);
	sq_bind_blob(c, q, p + 9, e->hash, 32);
}

ik_status ra_store_history_insert(ra_store *s, const ra_history_entry *e)
{
	sq_conn *c;
	sqlite3_stmt *q;
	ik_status st;

	if ((st = sq_prep(s, SQL_INSERT, &c, &q)) != IK_OK)
		return st;
	bind_entry(c, q, 0, e);
	st = sq_exec(c, q, NULL);
	sq_reset(q);
	return st;
}

ik_status ra_store_history_insert_group(ra_store *s, const ra_history_entry *e, size_t n)
{
	ik_status st = IK_OK;

	for (size_t k = 0; st == IK_OK && k < n;) {
		size_t rows = n - k >= H_ROWS ? H_ROWS : 1;
		sq_conn *c;
		sqlite3_stmt *q;

		if (rows == 1) {
			st = ra_store_history_insert(s, &e[k++]);
			continue;
		}
		if ((st = sq_prep(s, SQL_INSERT_ROWS, &c, &q)) != IK_OK)
			return st;
		for (size_t i = 0; i < rows; i++, k++)
			bind_entry(c, q, (int)(9 * i), &e[k]);
		st = sq_exec(c, q, NULL);
		sq_reset(q);
	}
	return st;
}

void ra_history_entry_clear(ra_history_entry *e)
{
	if (e == NULL)
		return;
	free(e->actor);
	free(e->ip);
	free(e->op);
	free(e->target);
	free(e->detail);
	memset(e, 0, sizeof(*e));
}

void ra_history_entries_free(ra_history_entry *rows, size_t n)
{
	if (rows == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		ra_history_entry_clear(&rows[i]);
	free(rows);
}

static ik_status read_entry(sqlite3_stmt *q, ra_history_entry *e)
{
	memset(e, 0, sizeof(*e));
	e->id = sq_col_i64(q, 0);
	e->at = sq_col_i64(q, 1);
	e->actor = sq_col_strdup(q, 2);
	e->ip = sq_col_strdup(q, 3);
	e->op = sq_col_strdup(q, 4);
	e->target = sq_col_strdup(q, 5);
	e->detail = sq_col_strdup(q, 6);
	/* a hash of the wrong length reads as zeros: the chain check reports it */
	(void)sq_col_blob(q, 7, e->prev_hash, 32);
	(void)sq_col_blob(q, 8, e->hash, 32);
	if (e->actor == NULL || e->ip == NULL || e->op == NULL || e->target == NULL ||
	    e->detail == NULL) {
		ra_history_entry_clear(e);
		return IK_ERR_NOMEM;
	}
	return IK_OK;
}

ik_status ra_store_history_list(ra_store *s, const ra_history_query *hq,
    ra_history_entry **rows, size_t max, size_t *n)
{
	sq_conn *c;
	sqlite3_stmt *q;
	ra_history_entry *r;
	char *like = NULL;
	int row = 1;
	ik_status st;

	*rows = NULL;
	*n = 0;
	if (max == 0 || max > 100000)
		return IK_ERR_ARG;
	if ((r = calloc(max, sizeof(*r))) == NULL)
		return IK_ERR_NOMEM;
	if ((st = sq_like_contains(hq->text, &like)) != IK_OK ||
	    (st = sq_prep(s, hq->descending ? SQL_LIST_DESC : SQL_LIST_ASC, &c, &q)) != IK_OK) {
		free(like);
		free(r);
		return st;
	}
	sq_bind_opt_i64(c, q, 1, hq->from);
	sq_bind_opt_i64(c, q, 2, hq->to);
	sq_bind_text(c, q, 3, hq->op != NULL && hq->op[0] != '\0' ? hq->op : NULL);
	sq_bind_text(c, q, 4, like);
	if (hq->descending)
		sq_bind_i64(c, q, 5, hq->before_id > 0 ? hq->before_id : INT64_MAX);
	else
		sq_bind_i64(c, q, 5, hq->after_id);
	sq_bind_i64(c, q, 6, (int64_t)max);
	while (*n < max && (st = sq_step(c, q, &row)) == IK_OK && row) {
		if ((st = read_entry(q, &r[*n])) != IK_OK)
			break;
		(*n)++;
	}
	sq_reset(q);
	free(like);
	if (st != IK_OK) {
		ra_history_entries_free(r, *n);
		*n = 0;
		return st;
	}
	*rows = r;
	return IK_OK;
}
