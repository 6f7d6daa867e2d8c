/* queue: worker threads between the request rows in the store and the signer.
 *
 * A worker claims the oldest pending requests, up to a group at a time (pending -> sent, in
 * one transaction), sends their issuances to the signer pipelined over one connection, each
 * with the row's request_id, and records the answers in one transaction (queue_run.c); a
 * kill -9 anywhere in between leaves them "sent", and the next start sends them again, to
 * the same certificates.  Transient failures
 * (the signer is down, its HSM is unavailable) put the request back to pending with a
 * growing delay; refusals (profile, state) fail it for good with the signer's reason.
 *
 * Requests whose key was made in an end user's download (generate_here) are run by the
 * download itself (ra_queue_run_claimed, once = 1).  If one of those is left over by an earlier
 * process (the RA was killed mid-download), its key is gone: a worker still completes it,
 * so that the RA and the signer's ledger agree, and then revokes the certificate
 * (cessationOfOperation) so that no certificate without a holder stays valid.  The same
 * happens at start to a certificate issued for a download whose .p12 was never handed out
 * (the process stopped between the signer's answer and the spent credential). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jansson.h>

#include "config.h"
#include "log.h"
#include "queue_int.h"
#include "signer_client.h"

/* At start: certificates an earlier process issued for a download but stopped before the
 * .p12 left it (the request done, no credential spent).  Their key died with that process,
 * so they are revoked like the leftovers above; the user's credential then finds its
 * certificate gone and the officer issues anew. */
static ik_status revoke_undelivered(ra_queue *q, size_t *count)
{
	ra_cert rows[64];
	int64_t after = 0;
	size_t n = 0;
	ik_status st;

	*count = 0;
	do {
		if ((st = ra_store_cert_undelivered(q->app->store, q->started, after, rows, 64,
		    &n)) != IK_OK)
			return st;
		for (size_t i = 0; i < n; i++) {
			char detail[256];
			json_t *j = json_pack("{s:s, s:s, s:s}", "cn", rows[i].cn, "serial",
			    rows[i].serial, "note", "issued for a download that stopped before the "
			    ".p12 was handed out; its key is lost");
			char *txt = j != NULL ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;

			snprintf(detail, sizeof(detail), "%s", txt != NULL ? txt : "{}");
			free(txt);
			json_decref(j);
			after = rows[i].id;
			if ((st = rq_orphan_revocation(q, rows[i].id, rows[i].serial, detail)) !=
			    IK_OK)
				return st;
			(*count)++;
		}
	} while (n == 64);
	return IK_OK;
}

static void settle(ra_queue *q)
{
	pthread_mutex_lock(&q->lock);
	pthread_cond_broadcast(&q->settled);
	pthread_mutex_unlock(&q->lock);
}

static void *worker(void *arg)
{
	ra_queue *q = arg;
	ra_request *rows = calloc(q->group, sizeof(*rows));

	for (;;) {
		uint64_t kicks;
		size_t n = 0;
		ik_status st;

		pthread_mutex_lock(&q->lock);
		if (q->stopping) {
			pthread_mutex_unlock(&q->lock);
			break;
		}
		kicks = q->kicks;
		pthread_mutex_unlock(&q->lock);
		st = rows == NULL ? IK_ERR_NOMEM :
		    ra_store_request_claim_group(q->app->store, rq_now(), q->group, rows, &n);
		if (st == IK_OK) {
			rq_run_group(q, rows, n);
			if (ra_store_thread_reset(q->app->store) != 0)
				ik_log(LOG_ERR, "queue: a transaction was left open");
			settle(q);
			continue;
		}
		if (st != IK_ERR_NOT_FOUND)
			ik_log(LOG_ERR, "queue: cannot claim requests: %s", ik_status_str(st));
		pthread_mutex_lock(&q->lock);
		if (!q->stopping && q->kicks == kicks) { /* no request added since the claim */
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += QUEUE_IDLE_MS / 1000;
			pthread_cond_timedwait(&q->work, &q->lock, &ts);
		}
		pthread_mutex_unlock(&q->lock);
	}
	free(rows);
	return NULL;
}

ik_status ra_queue_start(ra_app *app, unsigned nworkers, unsigned group, ra_queue **out)
{
	ra_queue *q;
	size_t n = 0;
	ik_status st;

	*out = NULL;
	if (nworkers == 0 || nworkers > QUEUE_MAX_WORKERS || group == 0 ||
	    group > RA_CLAIM_GROUP_MAX || group > RA_SIGNER_GROUP_MAX)
		return IK_ERR_ARG;
	if ((q = calloc(1, sizeof(*q))) == NULL)
		return IK_ERR_NOMEM;
	q->app = app;
	q->group = group;
	q->started = rq_now();
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->work, NULL);
	pthread_cond_init(&q->settled, NULL);
	if ((st = ra_store_request_recover(app->store, &n)) != IK_OK) {
		ra_queue_stop(q);
		return st;
	}
	if (n > 0)
		ik_log(LOG_NOTICE, "queue: %zu request(s) were with the signer when the RA stopped; "
		    "sending them again (the signer answers a repeat with the same certificate)", n);
	{
		ra_hist h = { .actor = "system", .ip = "", .op = "download_reset",
			.detail = "{\"note\":\"downloads stopped by a restart before their key was "
			    "made; their certificates wait for a download again\"}" };
		if ((st = ra_store_request_drop_keyless(app->store, q->started, &h, &n)) != IK_OK) {
			ra_queue_stop(q);
			return st;
		}
	}
	if (n > 0)
		ik_log(LOG_NOTICE, "queue: %zu download(s) stopped by the restart before their key "
		    "was made; their credentials work again", n);
	if ((st = revoke_undelivered(q, &n)) != IK_OK) {
		ra_queue_stop(q);
		return st;
	}
	if (n > 0)
		ik_log(LOG_WARNING, "queue: %zu certificate(s) were issued for downloads the RA did "
		    "not finish before it stopped; their keys are lost: revoking them", n);
	for (unsigned i = 0; i < nworkers; i++) {
		if (pthread_create(&q->threads[i], NULL, worker, q) != 0) {
			ra_queue_stop(q);
			return IK_ERR_NOMEM;
		}
		(void)pthread_setname_np(q->threads[i], "ra-queue");
		q->nthreads++;
	}
	/* whatever this process creates is from a later second than `started`, so "at or
	 * before started" means "left over by an earlier process" (times are in seconds) */
	while (rq_now() <= q->started) {
		struct timespec ts = { 0, 20 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	*out = q;
	return IK_OK;
}

void ra_queue_stop(ra_queue *q)
{
	if (q == NULL)
		return;
	pthread_mutex_lock(&q->lock);
	q->stopping = 1;
	pthread_cond_broadcast(&q->work);
	pthread_cond_broadcast(&q->settled);
	pthread_mutex_unlock(&q->lock);
	for (unsigned i = 0; i < q->nthreads; i++)
		pthread_join(q->threads[i], NULL);
	pthread_cond_destroy(&q->work);
	pthread_cond_destroy(&q->settled);
	pthread_mutex_destroy(&q->lock);
	free(q);
}

void ra_queue_kick(ra_queue *q)
{
	if (q == NULL)
		return;
	pthread_mutex_lock(&q->lock);
	q->kicks++;
	pthread_cond_signal(&q->work);
	pthread_mutex_unlock(&q->lock);
}

/* A claimed request on the calling thread; r becomes its final row. */
static ik_status run_claimed(ra_queue *q, ra_request *r, int once, proto_error *err)
{
	int64_t id = r->id;
	ik_status st = rq_process(q, r, once, err);

	settle(q);
	if (ra_store_request_get(q->app->store, id, r) != IK_OK && st == IK_OK)
		st = IK_ERR_IO;
	return st;
}

ik_status ra_queue_run_claimed(ra_queue *q, ra_request *req, proto_error *err)
{
	memset(err, 0, sizeof(*err));
	return run_claimed(q, req, 1, err);
}

ik_status ra_queue_run_now(ra_queue *q, int64_t row_id, int once, unsigned timeout_ms,
    ra_request *out, proto_error *err)
{
	struct timespec deadline;
	ik_status st;

	memset(err, 0, sizeof(*err));
	st = ra_store_request_claim_id(q->app->store, row_id, out);
	if (st == IK_OK)
		return run_claimed(q, out, once, err);
	if (st != IK_ERR_STATE)
		return st;
	/* a worker has it: wait for the outcome */
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += timeout_ms / 1000;
	deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	for (;;) {
		int timed_out;

		if ((st = ra_store_request_get(q->app->store, row_id, out)) != IK_OK)
			return st;
		if (out->state == RA_REQ_DONE)
			return IK_OK;
		if (out->state == RA_REQ_FAILED) {
			snprintf(err->detail, sizeof(err->detail), "%.*s", (int)sizeof(err->detail) - 1,
			    out->last_error);
			return IK_ERR_STATE;
		}
		pthread_mutex_lock(&q->lock);
		timed_out = pthread_cond_timedwait(&q->settled, &q->lock, &deadline) != 0;
		pthread_mutex_unlock(&q->lock);
		if (timed_out) {
			snprintf(err->detail, sizeof(err->detail), "the CA did not answer in time");
			return IK_ERR_HSM_UNAVAILABLE;
		}
	}
}

void ra_queue_stats_get(ra_queue *q, ra_queue_stats *out)
{
	out->sent = atomic_load(&q->sent);
	out->done = atomic_load(&q->done);
	out->failed = atomic_load(&q->failed);
	out->retried = atomic_load(&q->retried);
	out->signer_up = atomic_load(&q->signer_up);
	out->hsm_up = atomic_load(&q->hsm_up);
}
