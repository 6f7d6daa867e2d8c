/* store_sqlite_ckpt: WAL checkpoints on a thread of their own.  SQLite's automatic
 * checkpoint runs inside the commit that crosses the threshold, so the writer that happens
 * to commit it copies a thousand pages into the database file and syncs it while every
 * other writer of the process waits for its turn; here the commit only wakes this thread,
 * which checkpoints (PASSIVE: it never blocks a reader or a writer) on the other core. */
#include <pthread.h>

#include "log.h"
#include "store_sqlite_conn.h"

#define CKPT_PAGES 1000      /* wake the checkpointer (SQLite's own default threshold) */
#define CKPT_INLINE_PAGES 4000 /* the log still grows: the commit checkpoints the rest */

static void *checkpointer(void *arg)
{
	ra_store *s = arg;
	sq_conn *c = NULL;
	ik_status st = sq_get_conn(s, &c);

	pthread_mutex_lock(&s->ckpt_lock);
	if (st != IK_OK) {
		ik_log(LOG_ERR, "store: the checkpoint thread has no connection; commits "
		    "checkpoint the log themselves");
		s->ckpt_failed = 1;
		c = NULL;
	}
	while (c != NULL && !s->ckpt_stop) {
		int log = 0, done = 0, rc;

		if (!s->ckpt_wanted) {
			pthread_cond_wait(&s->ckpt_wake, &s->ckpt_lock);
			continue;
		}
		s->ckpt_wanted = 0;
		pthread_mutex_unlock(&s->ckpt_lock);
		rc = sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
		pthread_mutex_lock(&s->ckpt_lock);
		if (rc == SQLITE_OK)
			s->ckpt_count++;
		else if (rc != SQLITE_BUSY) /* BUSY: another process checkpoints right now */
			ik_log(LOG_WARNING, "store: checkpoint of the log failed: %s",
			    sqlite3_errstr(rc));
	}
	pthread_mutex_unlock(&s->ckpt_lock);
	return NULL;
}

/* sqlite3_wal_hook: after each commit, with the frames now in the log.  A checkpoint is
 * due once CKPT_PAGES frames have come since the last one (the log is not restarted while
 * commits keep coming: without the mark every commit past the threshold would ask for a
 * checkpoint of its few frames and a sync of the database file). */
static int wal_grew(void *arg, sqlite3 *db, const char *name, int pages)
{
	ra_store *s = arg;
	int inline_ckpt;

	if (pages < CKPT_PAGES)
		return SQLITE_OK;
	pthread_mutex_lock(&s->ckpt_lock);
	if (pages < s->ckpt_mark)
		s->ckpt_mark = 0; /* the log was restarted since */
	if (pages < s->ckpt_mark + CKPT_PAGES) {
		pthread_mutex_unlock(&s->ckpt_lock);
		return SQLITE_OK;
	}
	if (!s->ckpt_stop && !s->ckpt_on &&
	    pthread_create(&s->ckpt_thread, NULL, checkpointer, s) == 0) {
		s->ckpt_on = 1;
		(void)pthread_setname_np(s->ckpt_thread, "ra-ckpt");
	}
	inline_ckpt = !s->ckpt_on || s->ckpt_failed || pages >= CKPT_INLINE_PAGES;
	s->ckpt_mark = pages; /* asked for up to here: the next at CKPT_PAGES more */
	if (!inline_ckpt && !s->ckpt_stop) {
		s->ckpt_wanted = 1;
		pthread_cond_signal(&s->ckpt_wake);
	}
	pthread_mutex_unlock(&s->ckpt_lock);
	/* no thread, or the log still grows: the rest now, in this writer's turn, so that the
	 * next transaction can restart the log (as SQLite's automatic checkpoint would) */
	if (inline_ckpt)
		(void)sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
	return SQLITE_OK;
}

void sq_ckpt_init(ra_store *s)
{
	pthread_mutex_init(&s->ckpt_lock, NULL);
	pthread_cond_init(&s->ckpt_wake, NULL);
}

void sq_ckpt_attach(ra_store *s, sqlite3 *db)
{
	sqlite3_wal_hook(db, wal_grew, s); /* replaces the automatic checkpoint */
}

void sq_ckpt_stop(ra_store *s)
{
	int on;

	pthread_mutex_lock(&s->ckpt_lock);
	s->ckpt_stop = 1;
	on = s->ckpt_on;
	pthread_cond_broadcast(&s->ckpt_wake);
	pthread_mutex_unlock(&s->ckpt_lock);
	if (on)
		pthread_join(s->ckpt_thread, NULL);
}

void sq_ckpt_destroy(ra_store *s)
{
	pthread_mutex_destroy(&s->ckpt_lock);
	pthread_cond_destroy(&s->ckpt_wake);
}

uint64_t ra_store_checkpoints(ra_store *s)
{
	uint64_t n;

	pthread_mutex_lock(&s->ckpt_lock);
	n = s->ckpt_count;
	pthread_mutex_unlock(&s->ckpt_lock);
	return n;
}
