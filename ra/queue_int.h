/* queue_int: what queue.c (the worker threads, start and stop) and queue_run.c (one request,
 * or a group of them pipelined, against the signer and the store) share. */
#ifndef RA_QUEUE_INT_H
#define RA_QUEUE_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "queue.h"

#define QUEUE_MAX_WORKERS 16
#define QUEUE_IDLE_MS 1000        /* a worker with nothing to do looks again after this */
#define QUEUE_BACKOFF_MAX 30      /* seconds between retries of one request, at most */
#define QUEUE_MAX_ATTEMPTS 1000000u /* transient failures: keep trying (days) */

struct ra_queue {
	ra_app *app;
	pthread_t threads[QUEUE_MAX_WORKERS];
	unsigned nthreads;
	unsigned group;           /* requests claimed and sent together, at most */
	pthread_mutex_t lock;
	pthread_cond_t work;      /* new requests */
	pthread_cond_t settled;   /* a request finished (for ra_queue_run_now waiters) */
	uint64_t kicks;           /* ra_queue_kick calls, so that none is missed */
	int stopping;
	int64_t started;          /* generate_here requests from then or before are orphans */
	atomic_uint_fast64_t sent, done, failed, retried;
	atomic_int signer_up, hsm_up;
};

int64_t rq_now(void);
/* Queues the revocation (cessationOfOperation) of a certificate whose key was made for a
 * download that never handed it out; detail says why, for the history. */
ik_status rq_orphan_revocation(ra_queue *q, int64_t cert_id, const char *serial,
    const char *detail);
/* Runs one claimed request against the signer and records the outcome in the store. */
ik_status rq_process(ra_queue *q, ra_request *r, int once, proto_error *err);
/* Runs n claimed requests: the issuances pipelined over one signer connection and recorded
 * in one transaction, the others one by one. */
void rq_run_group(ra_queue *q, ra_request *rows, size_t n);

#endif
