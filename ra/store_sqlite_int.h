/* store_sqlite_int: what the store_sqlite*.c files share — the per-thread connection, the
 * cache of prepared statements, binding/stepping helpers that turn SQLite result codes into
 * ik_status, and nested transactions.  Nothing outside store_sqlite*.c includes it. */
#ifndef RA_STORE_SQLITE_INT_H
#define RA_STORE_SQLITE_INT_H

#include <stddef.h>
#include <stdint.h>
#include <sqlite3.h>
#include "store.h"

typedef struct sq_conn sq_conn;

/* The calling thread's connection (opened at the thread's first call) and the cached
 * prepared statement for sql, reset and with no bindings.  sql must be a string constant:
 * the cache is keyed by its address.  A statement belongs to one function at a time: no
 * function steps one while calling another that uses the same text. */
ik_status sq_prep(ra_store *s, const char *sql, sq_conn **c, sqlite3_stmt **q);
ik_status sq_stmt(sq_conn *c, const char *sql, sqlite3_stmt **q);
ik_status sq_get_conn(ra_store *s, sq_conn **c);

/* Binding: a failure is remembered in c and reported by the next sq_step/sq_exec.  Text and
 * blobs are not copied: they must live until sq_reset.  NULL text binds SQL NULL; the _opt
 * variants bind NULL for 0. */
void sq_bind_text(sq_conn *c, sqlite3_stmt *q, int i, const char *v);
void sq_bind_blob(sq_conn *c, sqlite3_stmt *q, int i, const void *v, size_t n);
void sq_bind_i64(sq_conn *c, sqlite3_stmt *q, int i, int64_t v);
void sq_bind_opt_i64(sq_conn *c, sqlite3_stmt *q, int i, int64_t v);

/* One step: IK_OK with *row 1 (a row is there) or 0 (done), else the mapped status. */
ik_status sq_step(sq_conn *c, sqlite3_stmt *q, int *row);
/* Runs q to the end; *changes (may be NULL) gets the rows it changed. */
ik_status sq_exec(sq_conn *c, sqlite3_stmt *q, int64_t *changes);
/* Reset and clear bindings: always after use, so no read snapshot stays open. */
void sq_reset(sqlite3_stmt *q);
/* The id of the last inserted row of this connection. */
int64_t sq_last_id(sq_conn *c);

/* Columns: text copied into out (NULL reads as ""; longer than outsz-1: IK_ERR_IO), blobs
 * into exactly n bytes (NULL or another length: zeros, returns 0; else 1). */
ik_status sq_col_text(sqlite3_stmt *q, int i, char *out, size_t outsz);
char *sq_col_strdup(sqlite3_stmt *q, int i);      /* NULL only when out of memory */
int sq_col_blob(sqlite3_stmt *q, int i, uint8_t *out, size_t n);
int64_t sq_col_i64(sqlite3_stmt *q, int i);        /* NULL reads as 0 */

/* Row readers: fill the struct out points to from the current row of q. */
typedef ik_status (*sq_reader)(sqlite3_stmt *q, void *out);
/* The one row of sql: ?1 = text when not NULL, else *id when id is not NULL, else no
 * parameter.  IK_ERR_NOT_FOUND when there is none. */
ik_status sq_read_one(sq_conn *c, const char *sql, const int64_t *id, const char *text,
    sq_reader rd, void *out);
/* A page of rows: ?1..?nv = v[0..nv-1] and ?(nv+1) = max; rows is an array of elem-byte
 * structs with room for max; *n gets how many were read. */
ik_status sq_read_page(ra_store *s, const char *sql, const int64_t *v, int nv, size_t max,
    sq_reader rd, void *rows, size_t elem, size_t *n);

/* The index i in lo..hi with names[i] equal to name; 0 when none. */
int sq_name_index(const char *const *names, int lo, int hi, const char *name);
/* counts[lo..hi] from sql's rows (state name, count): counts[0..hi] zeroed first; a state
 * not in names is IK_ERR_IO. */
ik_status sq_count_states(ra_store *s, const char *sql, const char *const *names, int lo,
    int hi, uint64_t *counts);

/* Nested transactions of c: BEGIN IMMEDIATE at the outermost level, savepoints inside.
 * sq_finish commits when st is IK_OK (returning the commit's status) and rolls back
 * otherwise (returning st). */
ik_status sq_begin(sq_conn *c);
ik_status sq_commit(sq_conn *c);
ik_status sq_rollback(sq_conn *c);
ik_status sq_finish(sq_conn *c, ik_status st);
/* A transaction whose commit does not wait for the disk (synchronous = NORMAL): for a change
 * that a power cut may undo without harm.  WAL frames reach the disk in order, so it is
 * never lost while a later durable commit stays; the next sq_begin is durable again. */
ik_status sq_begin_lazy(sq_conn *c);
ik_status sq_finish_lazy(sq_conn *c, ik_status st);
/* sq_begin_lazy, but IK_ERR_BUSY at once when another thread of the process is writing. */
ik_status sq_begin_lazy_try(sq_conn *c);

/* Records h (if not NULL) in the history, in the current transaction. */
ik_status sq_hist(ra_store *s, const ra_hist *h);

/* A LIKE pattern "%sub%" with %, _ and \ escaped by \ (use ESCAPE '\'); NULL for NULL or
 * "" sub (no filter).  The caller frees it. */
ik_status sq_like_contains(const char *sub, char **pattern);

/* Argument checks: s is a NUL-terminated string of at most max bytes (and at least min). */
int sq_len_ok(const char *v, size_t min, size_t max);

int64_t sq_now(void);

/* Runs sql with integer parameters v[0..nv-1] as ?1..?nv; *changes may be NULL. */
ik_status sq_run_ids(sq_conn *c, const char *sql, const int64_t *v, int nv, int64_t *changes);
/* The first column of the first row (a COUNT) of sql with ?1 = id. */
ik_status sq_count_id(sq_conn *c, const char *sql, int64_t id, int64_t *n);
/* in copied into out: at most RA_STORE_TEXT_MAX bytes, cut at a UTF-8 character boundary. */
void sq_clip_text(const char *in, char out[RA_STORE_TEXT_MAX + 1]);

/* ---- shared between the users, certificate, queue and batch files (in a transaction) ---- */

/* Live states: a device holding one of these cannot get another plain issue. */
#define SQ_LIVE_SQL "('issuing', 'awaiting_download', 'active', 'suspended')"

/* IK_ERR_STATE when quota > 0 and that many certificates count against it already. */
ik_status sq_quota_check(sq_conn *c, uint64_t quota);
/* The device exists (IK_ERR_NOT_FOUND) and holds no live certificate (IK_ERR_STATE);
 * *user_id gets its user. */
ik_status sq_device_free(sq_conn *c, int64_t device_id, int64_t *user_id);
/* A new certificate row without serial, in state st (issuing or awaiting_download). */
ik_status sq_cert_insert(sq_conn *c, int64_t device_id, int64_t user_id, const char *cn,
    unsigned validity_days, ra_cert_state st, int64_t *id);
ik_status sq_cert_read(sq_conn *c, int64_t id, ra_cert *out);
/* The certificate columns in the order sq_cert_row reads them (0..14). */
#define SQ_CERT_COLS "id, device_id, user_id, request_id, serial, cn, validity_days," \
	" not_before, not_after, state, reason, current, sha256, created_at, updated_at"
ik_status sq_cert_row(sqlite3_stmt *q, ra_cert *out);
/* Adds certificate id's cn to the CN search index (certs_cn_fts): every INSERT INTO
 * certificates calls it in the same transaction. */
ik_status sq_cert_fts_add(sq_conn *c, int64_t id, const char *cn);
/* The signer's answer stored with r's certificate (issuing -> active, the device's current
 * one unless r->key_lost); IK_ERR_STATE when it is not issuing.  Inside the caller's
 * transaction. */
ik_status sq_cert_store_issued(sq_conn *c, const ra_request *r, const ra_issued *is);
/* store_sqlite_group.c: inside a group commit (deferring: 1), a new certificate's CN search
 * row is added with the others' just before the commit (sq_cert_fts_defer takes its id) */
int sq_cert_fts_deferring(const sq_conn *c);
ik_status sq_cert_fts_defer(sq_conn *c, int64_t id);
ik_status sq_batch_read(sq_conn *c, int64_t id, ra_batch *out);
/* A new request joins batch_id: it must be running and of the same kind; total + 1. */
ik_status sq_batch_take(sq_conn *c, int64_t batch_id, ra_request_kind kind);
/* One new request (and its certificate row, history entry) inside c's transaction; out
 * (may be NULL) gets the row (store_sqlite_queue.c, for store_sqlite_group.c). */
ik_status sq_request_add_tx(ra_store *s, sq_conn *c, const ra_request_new *r,
    const ra_hist *h, ra_request *out);
/* A request of batch_id (0: none) settled: count it; a sealed batch with all settled
 * finishes. */
ik_status sq_batch_settle(sq_conn *c, int64_t batch_id, int done, int failed);
/* IK_ERR_NOT_FOUND when request id does not exist, else IK_ERR_STATE (an UPDATE of it
 * changed nothing). */
ik_status sq_request_why_unchanged(sq_conn *c, int64_t id);
/* "0a1B" -> "0a1b": 2..40 hex digits, an even number. */
ik_status sq_serial_norm(const char *in, char out[RA_SERIAL_HEX_MAX + 1]);
/* Request r (as claimed: 'sent') done, inside the caller's transaction: its certificate
 * issued or its event applied, the history entry h; settle: its batch's count raised here
 * (else the caller does it).  store_sqlite_queue.c, for store_sqlite_complete.c. */
ik_status sq_request_complete_tx(ra_store *s, sq_conn *c, const ra_request *r,
    const ra_issued *issued, const ra_hist *h, int settle);
/* A new request id: the time in ms and 80 random bits, in hex (store_sqlite_queue.c). */
ik_status sq_request_id_new(char out[RA_REQUEST_ID_LEN + 1]);
/* cn 1..RA_CN_MAX bytes and validity 1..36500 days. */
int sq_cn_ok(const char *cn);
int sq_validity_ok(unsigned days);

#endif
