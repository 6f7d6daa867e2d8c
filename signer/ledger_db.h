/* ledger_db: what the ledger_*.c files share; not for other callers. */
#ifndef SG_LEDGER_DB_H
#define SG_LEDGER_DB_H

#include <pthread.h>
#include <openssl/evp.h>
#include <sqlite3.h>
#include "ledger.h"

#define READERS 4

enum op_kind { OP_INTENT = 1, OP_CERT, OP_EVENT, OP_CRL };

typedef struct ledger_op {
	enum op_kind kind;
	const char *request_id;
	const uint8_t *serial;
	size_t serial_len;
	const char *profile, *subject;
	int64_t t1, t2;               /* validity, or CRL this/next update, or event time */
	const uint8_t *blob;          /* TBS, DER, or CRL sha256 */
	size_t blob_len;
	uint64_t number;
	int ev;
	uint8_t reason;
	uint8_t state;                /* out: new state */
	ik_status result;
	int done;
	pthread_cond_t *cv;           /* the caller's own wake-up (no thundering herd); NULL:
	                               * not the op its caller waits on */
	sg_ledger_done done_fn;       /* asynchronous: called once durable, then the op is freed */
	void *done_arg;
	struct ledger_op *next;
} ledger_op;

typedef struct reader {
	pthread_mutex_t lock;
	sqlite3 *db;
	sqlite3_stmt *find, *used, *counts, *crl_last;
	sqlite3_stmt *cert_status; /* OCSP */
} reader;

struct sg_ledger {
	char path[4096];
	sqlite3 *wdb;
	sqlite3_stmt *ins_intent, *ins_cert, *cert_exists, *get_status, *ins_event, *put_status,
	    *del_status, *ins_crl, *crl_max;
	sqlite3_stmt *begin, *commit, *rollback, *sp, *sp_rollback, *sp_release;
	EVP_MD *sha256;               /* committer only: fetched once, one context reused */
	EVP_MD_CTX *mdctx;
	reader readers[READERS];
	pthread_t committer;
	pthread_mutex_t qlock;
	pthread_cond_t qcond;
	ledger_op *qhead, *qtail;
	size_t qlen;
	int pacing;                   /* the committer waits for a commit to grow */
	size_t pace_ops;              /* while pacing: commit once this many operations queued */
	int stopping;
	size_t (*pacer)(void *arg);   /* set before the first append; see sg_ledger_set_pacer */
	void *pacer_arg;
	void (*after)(void *arg);     /* after a batch's callbacks; see sg_ledger_set_after_batch */
	void *after_arg;
};


/* Open a connection (busy timeout, foreign keys, synchronous=FULL) / run SQL on it; both
 * log what went wrong. */
ik_status sg_ledger_db_open(const char *path, int flags, sqlite3 **db);
ik_status sg_ledger_db_exec(sqlite3 *db, const char *sql);
const char *sg_ledger_path(const sg_ledger *l);
/* Prepare a statement kept for the connection's life (logs what went wrong). */
ik_status sg_ledger_db_prep(sqlite3 *db, const char *sql, sqlite3_stmt **st);

/* ledger.c: queue operations for the committer.  submit and submit_chain wait until the
 * (last) operation is durable or refused; submit_async takes a heap-allocated op, calls
 * done on the committer thread and frees the op. */
ik_status sg_ledger_submit(sg_ledger *l, ledger_op *o);
ik_status sg_ledger_submit_chain(sg_ledger *l, ledger_op *first, ledger_op *last);
ik_status sg_ledger_submit_async(sg_ledger *l, ledger_op *o, sg_ledger_done done, void *arg);

/* ledger_read.c: a read connection and its statements. */
ik_status sg_ledger_reader_open(sg_ledger *l, reader *r);
void sg_ledger_reader_close(reader *r);

#endif
