/* store_sqlite_tx: nested transactions (BEGIN IMMEDIATE outside, savepoints inside), one
 * writer of this process at a time, and the claim's commit that need not wait for the
 * disk. */
#include <pthread.h>
#include <time.h>

#include "log.h"
#include "store_sqlite_conn.h"

/* ---- transactions ---- */

static const char SQL_BEGIN[] = "BEGIN IMMEDIATE";
static const char SQL_COMMIT[] = "COMMIT";
static const char SQL_ROLLBACK[] = "ROLLBACK";
static const char SQL_SAVEPOINT[] = "SAVEPOINT ra_sp";
static const char SQL_RELEASE[] = "RELEASE ra_sp";
static const char SQL_ROLLBACK_TO[] = "ROLLBACK TO ra_sp";

static ik_status run_fixed(sq_conn *c, const char *sql)
{
	sqlite3_stmt *q;
	ik_status st = sq_stmt(c, sql, &q);

	if (st != IK_OK)
		return st;
	st = sq_exec(c, q, NULL);
	sq_reset(q);
	return st;
}

/* Waits (at most the busy timeout; not at all when !wait) for this process's other writers
 * to finish. */
static ik_status writer_enter(ra_store *s, int wait)
{
	struct timespec until;
	ik_status st = IK_OK;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += BUSY_TIMEOUT_MS / 1000;
	pthread_mutex_lock(&s->wlock);
	if (!wait && s->writing) {
		pthread_mutex_unlock(&s->wlock);
		return IK_ERR_BUSY;
	}
	while (s->writing && st == IK_OK)
		if (pthread_cond_timedwait(&s->wfree, &s->wlock, &until) != 0 && s->writing)
			st = IK_ERR_BUSY;
	if (st == IK_OK)
		s->writing = 1;
	pthread_mutex_unlock(&s->wlock);
	if (st != IK_OK)
		ik_log(LOG_WARNING, "store: another thread's transaction took too long");
	return st;
}

void sq_writer_leave(ra_store *s)
{
	pthread_mutex_lock(&s->wlock);
	s->writing = 0;
	pthread_cond_signal(&s->wfree);
	pthread_mutex_unlock(&s->wlock);
}

/* synchronous = NORMAL (lazy) or FULL, outside any transaction (SQLite refuses it inside) */
static ik_status set_sync(sq_conn *c, int lazy)
{
	ik_status st;

	if (c->lazy == lazy)
		return IK_OK;
	st = sq_exec_sql(c, lazy ? "PRAGMA synchronous = NORMAL" : "PRAGMA synchronous = FULL");
	if (st == IK_OK)
		c->lazy = lazy;
	return st;
}

static ik_status begin(sq_conn *c, int lazy, int wait)
{
	ik_status st;

	if (c->broken)
		return IK_ERR_STATE;
	/* the turn first: a try that is refused leaves the connection's synchronous alone */
	if (c->depth == 0 && (st = writer_enter(c->store, wait)) != IK_OK)
		return st;
	if (c->depth == 0 && (st = set_sync(c, lazy)) != IK_OK) {
		sq_writer_leave(c->store);
		return st;
	}
	st = run_fixed(c, c->depth == 0 ? SQL_BEGIN : SQL_SAVEPOINT);
	if (st == IK_OK)
		c->depth++;
	else if (c->depth == 0)
		sq_writer_leave(c->store);
	return st;
}

ik_status sq_begin(sq_conn *c)
{
	return begin(c, 0, 1);
}

ik_status sq_begin_lazy(sq_conn *c)
{
	return begin(c, c->depth == 0, 1);
}

ik_status sq_begin_lazy_try(sq_conn *c)
{
	return begin(c, c->depth == 0, 0);
}

ik_status sq_finish_lazy(sq_conn *c, ik_status st)
{
	st = sq_finish(c, st);
	/* durable again at once, also for writes outside sq_begin (sq_begin checks anyway) */
	if (c->depth == 0 && set_sync(c, 0) != IK_OK)
		ik_log(LOG_WARNING, "store: cannot set synchronous = FULL again; the next "
		    "transaction will");
	return st;
}

/* SQLite may end a transaction by itself (some I/O and memory errors): then only the
 * rollbacks that unwind our nesting are left to do. */
static int tx_gone(sq_conn *c)
{
	return c->depth > 0 && sqlite3_get_autocommit(c->db);
}

ik_status sq_rollback(sq_conn *c)
{
	ik_status st = IK_OK;

	if (c->depth == 0)
		return IK_ERR_STATE;
	if (tx_gone(c))
		c->broken = 1;
	if (!c->broken) {
		if (c->depth == 1) {
			st = run_fixed(c, SQL_ROLLBACK);
		} else if ((st = run_fixed(c, SQL_ROLLBACK_TO)) == IK_OK) {
			st = run_fixed(c, SQL_RELEASE);
		}
		if (st != IK_OK)
			c->broken = 1;
	}
	if (--c->depth == 0) {
		if (!sqlite3_get_autocommit(c->db))
			(void)sq_exec_sql(c, "ROLLBACK");
		c->broken = 0;
		sq_writer_leave(c->store);
	}
	return st;
}

ik_status sq_commit(sq_conn *c)
{
	ik_status st;

	if (c->depth == 0)
		return IK_ERR_STATE;
	if (tx_gone(c))
		c->broken = 1;
	if (c->broken) {
		ik_log(LOG_ERR, "store: commit of a transaction the database already ended");
		(void)sq_rollback(c);
		return IK_ERR_IO;
	}
	st = run_fixed(c, c->depth == 1 ? SQL_COMMIT : SQL_RELEASE);
	if (st != IK_OK) {
		(void)sq_rollback(c);
		return st;
	}
	if (--c->depth == 0)
		sq_writer_leave(c->store);
	return IK_OK;
}

ik_status sq_finish(sq_conn *c, ik_status st)
{
	if (st == IK_OK)
		return sq_commit(c);
	(void)sq_rollback(c);
	return st;
}

ik_status ra_store_begin(ra_store *s)
{
	sq_conn *c;
	ik_status st = sq_get_conn(s, &c);

	return st != IK_OK ? st : sq_begin(c);
}

ik_status ra_store_begin_lazy(ra_store *s)
{
	sq_conn *c;
	ik_status st = sq_get_conn(s, &c);

	return st != IK_OK ? st : sq_begin_lazy(c);
}

/* After the outermost level: durable again for whatever this thread writes next. */
static void sync_again(sq_conn *c)
{
	if (c->depth == 0 && c->lazy && set_sync(c, 0) != IK_OK)
		ik_log(LOG_WARNING, "store: cannot set synchronous = FULL again; the next "
		    "transaction will");
}

ik_status ra_store_commit(ra_store *s)
{
	sq_conn *c;
	ik_status st = sq_get_conn(s, &c);

	if (st != IK_OK)
		return st;
	st = sq_commit(c);
	sync_again(c);
	return st;
}

ik_status ra_store_rollback(ra_store *s)
{
	sq_conn *c;
	ik_status st = sq_get_conn(s, &c);

	if (st != IK_OK)
		return st;
	st = sq_rollback(c);
	sync_again(c);
	return st;
}

int ra_store_thread_reset(ra_store *s)
{
	sq_conn *c = pthread_getspecific(s->key);
	int levels = 0;

	while (c != NULL && c->depth > 0) {
		(void)sq_rollback(c);
		levels++;
	}
	return levels;
}

ik_status sq_hist(ra_store *s, const ra_hist *h)
{
	return h == NULL ? IK_OK : ra_history_record(s, h);
}

