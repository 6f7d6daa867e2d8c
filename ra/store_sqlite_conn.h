/* store_sqlite_conn: the connection and store structures, shared by store_sqlite.c (open,
 * statements) and store_sqlite_tx.c (transactions) only. */
#ifndef RA_STORE_SQLITE_CONN_H
#define RA_STORE_SQLITE_CONN_H

#include <pthread.h>
#include "store_sqlite_int.h"

#define BUSY_TIMEOUT_MS 10000
#define CACHE_SLOTS 512 /* power of two, above the number of statement texts */
#define SQ_FTS_DEFER_MAX 64 /* the new certificates of one group commit (ADD_GROUP_MAX) */

typedef struct sq_add_job sq_add_job;

typedef struct sq_slot {
	const char *sql;
	sqlite3_stmt *q;
} sq_slot;

struct sq_conn {
	ra_store *store;
	sqlite3 *db;
	int depth;          /* transaction nesting: 0 = none */
	int broken;         /* SQLite ended the transaction by itself; only rollbacks now */
	int bind_rc;        /* first failed bind since the last step */
	int lazy;           /* synchronous = NORMAL now (sq_begin_lazy); FULL otherwise */
	/* A group commit's new certificates, whose CN search rows (certs_cn_fts) it adds in
	 * one statement before its commit (store_sqlite_group.c): FTS5 writes its pending rows
	 * out as a new segment at every savepoint, so one row at a time cost a segment (and
	 * its merges) per certificate.  fts_defer: on; fts_n ids gathered. */
	int fts_defer;
	size_t fts_n;
	int64_t fts_ids[SQ_FTS_DEFER_MAX];
	sq_slot cache[CACHE_SLOTS];
	sq_conn *prev, *next;
};

struct ra_store {
	char *path;
	pthread_key_t key;      /* this thread's sq_conn */
	pthread_mutex_t lock;   /* guards conns */
	sq_conn *conns;         /* every open connection, to close them all */
	/* The process's threads take turns at write transactions here, woken as soon as the
	 * one before commits, rather than in SQLite's busy handler, which sleeps (up to 100 ms
	 * at a time) and polls.  Other processes still meet SQLite's own lock. */
	pthread_mutex_t wlock;
	pthread_cond_t wfree;
	int writing;
	/* Group commit of new requests (store_sqlite_queue.c): callers queue here; one of them
	 * at a time (the leader) commits what has gathered, the others wait for gdone; the
	 * committer thread (started by the first asynchronous request) waits for gwork. */
	pthread_mutex_t glock;
	pthread_cond_t gdone, gwork;
	sq_add_job *ghead, *gtail;
	int gleader;
	pthread_t gthread;
	int gthread_on, gstop;
	uint64_t gcommits, gadded;
	/* WAL checkpoints on their own thread (store_sqlite_ckpt.c), started by the first
	 * commit that leaves the log past its threshold */
	pthread_mutex_t ckpt_lock;
	pthread_cond_t ckpt_wake;
	pthread_t ckpt_thread;
	int ckpt_on, ckpt_stop, ckpt_wanted, ckpt_failed;
	int ckpt_mark;          /* the log's frames when a checkpoint was last asked for */
	uint64_t ckpt_count;
};

/* sqlite3_exec of fixed SQL text, its result code mapped */
ik_status sq_exec_sql(sq_conn *c, const char *sql);
/* The process's write turn is free again (the outermost transaction ended). */
void sq_writer_leave(ra_store *s);
/* Lets the group committer finish what is queued and joins it (ra_store_close). */
void sq_add_committer_stop(ra_store *s);
/* The checkpoint thread: its lock set up (before the first connection), a connection's
 * commits made to wake it instead of checkpointing themselves, stopped and joined (before
 * the connections are closed), its lock freed. */
void sq_ckpt_init(ra_store *s);
void sq_ckpt_attach(ra_store *s, sqlite3 *db);
void sq_ckpt_stop(ra_store *s);
void sq_ckpt_destroy(ra_store *s);

#endif
