/* queue: worker threads between the request rows in the store and the signer.
 *
 * A worker claims the oldest pending request (pending -> sent, atomically), calls the signer
 * with the row's request_id and records the answer in one transaction.  Transient failures
 * (the signer is down, its HSM is unavailable) put the request back to pending with a
 * growing delay; refusals (profile, state) fail it for good with the signer's reason.
 *
 * Requests whose key was made in an end user's download (generate_here) are run by the
 * download itself (ra_queue_run_now, once = 1).  If one of those is left over by an earlier
 * process (the RA was killed mid-download), its key is gone: a worker still completes it,
 * so that the RA and the signer's ledger agree, and then revokes the certificate
 * (cessationOfOperation) so that no certificate without a holder stays valid.  The same
 * happens at start to a certificate issued for a download whose .p12 was never handed out
 * (the process stopped between the signer's answer and the spent credential). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jansson.h>
#include <openssl/asn1.h>
#include <openssl/x509.h>

#include "config.h"
#include "log.h"
#include "mail.h"
#include "notify.h"
#include "publish.h"
#include "queue.h"
#include "signer_client.h"

#define QUEUE_MAX_WORKERS 16
#define QUEUE_IDLE_MS 1000        /* a worker with nothing to do looks again after this */
#define QUEUE_BACKOFF_MAX 30      /* seconds between retries of one request, at most */
#define QUEUE_MAX_ATTEMPTS 1000000u /* transient failures: keep trying (days) */
#define REASON_CESSATION 5

struct ra_queue {
	ra_app *app;
	pthread_t threads[QUEUE_MAX_WORKERS];
	unsigned nthreads;
	pthread_mutex_t lock;
	pthread_cond_t work;      /* new requests */
	pthread_cond_t settled;   /* a request finished (for ra_queue_run_now waiters) */
	int stopping;
	int64_t started;          /* generate_here requests from then or before are orphans */
	atomic_uint_fast64_t sent, done, failed, retried;
	atomic_int signer_up, hsm_up;
};

static int64_t now_s(void)
{
	return (int64_t)time(NULL);
}

static void serial_hex(const uint8_t *b, size_t n, char *out, size_t outsz)
{
	static const char hex[] = "0123456789abcdef";
	size_t i = 0, o = 0;

	while (i + 1 < n && b[i] == 0) /* DER's leading zero is not part of the number */
		i++;
	for (; i < n && o + 2 < outsz; i++) {
		out[o++] = hex[b[i] >> 4];
		out[o++] = hex[b[i] & 15];
	}
	out[o] = '\0';
}

static ik_status serial_bytes(const char *hex, proto_revoke *m)
{
	size_t n = strlen(hex), off;

	if (n == 0 || n > 2 * PROTO_MAX_SERIAL)
		return IK_ERR_ARG;
	/* odd length: a leading 0 nibble; high bit set: a DER leading zero byte */
	off = n % 2;
	m->serial_len = (n + off) / 2;
	for (size_t i = 0; i < m->serial_len; i++) {
		int v = 0;
		for (int k = 0; k < 2; k++) {
			size_t pos = 2 * i + (size_t)k;
			char c = pos < off ? '0' : hex[pos - off];
			int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 :
			    c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
			if (d < 0)
				return IK_ERR_ARG;
			v = v * 16 + d;
		}
		m->serial[i] = (uint8_t)v;
	}
	if (m->serial[0] & 0x80) {
		if (m->serial_len == PROTO_MAX_SERIAL)
			return IK_ERR_ARG;
		memmove(m->serial + 1, m->serial, m->serial_len);
		m->serial[0] = 0;
		m->serial_len++;
	}
	return IK_OK;
}

static ik_status cert_validity(const uint8_t *der, size_t n, int64_t *nb, int64_t *na)
{
	const uint8_t *p = der;
	X509 *x = d2i_X509(NULL, &p, (long)n);
	struct tm a, b;
	ik_status st = IK_ERR_CRYPTO;

	if (x != NULL && ASN1_TIME_to_tm(X509_get0_notBefore(x), &a) == 1 &&
	    ASN1_TIME_to_tm(X509_get0_notAfter(x), &b) == 1) {
		*nb = (int64_t)timegm(&a);
		*na = (int64_t)timegm(&b);
		st = IK_OK;
	}
	X509_free(x);
	return st;
}

/* Failures worth a retry: the signer or its HSM is away, or the store is busy. */
static int transient(ik_status st)
{
	return st == IK_ERR_IO || st == IK_ERR_PROTO_CLOSED || st == IK_ERR_PROTO_TRUNCATED ||
	    st == IK_ERR_HSM_UNAVAILABLE || st == IK_ERR_BUSY || st == IK_ERR_NOMEM;
}

static void hist_detail(const ra_request *r, const char *serial, const char *extra,
    char *out, size_t outsz)
{
	json_t *j = json_pack("{s:s, s:s, s:s}", "request", r->request_id, "kind",
	    ra_request_kind_name(r->kind), "cn", r->cn);
	char *s;

	out[0] = '\0';
	if (j == NULL)
		return;
	if (serial != NULL && serial[0] != '\0')
		json_object_set_new(j, "serial", json_string(serial));
	if (r->reason >= 0 && r->kind == RA_REQ_REVOKE)
		json_object_set_new(j, "reason", json_integer(r->reason));
	if (r->batch_id != 0)
		json_object_set_new(j, "batch", json_integer(r->batch_id));
	if (extra != NULL)
		json_object_set_new(j, "note", json_string(extra));
	s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	if (s != NULL)
		snprintf(out, outsz, "%s", s);
	free(s);
	json_decref(j);
}

static const char *op_name(ra_request_kind k)
{
	switch (k) {
	case RA_REQ_ISSUE: return "issue";
	case RA_REQ_RENEW: return "renew";
	case RA_REQ_REVOKE: return "revoke";
	case RA_REQ_SUSPEND: return "suspend";
	case RA_REQ_RESUME: return "resume";
	}
	return "request";
}

/* The signer's part of an issue or renew; fills issued (borrowing from reply). */
static ik_status send_issue(ra_queue *q, const ra_request *r, ik_buf *reply,
    proto_issue_reply *rep, proto_error *err)
{
	proto_issue m;

	memset(&m, 0, sizeof(m));
	snprintf(m.request_id, sizeof(m.request_id), "%s", r->request_id);
	snprintf(m.profile, sizeof(m.profile), "%s", q->app->cfg->profile);
	m.spki = r->spki;
	m.spki_len = r->spki_len;
	m.nattrs = 1;
	m.attrs[0].type = PROTO_ATTR_CN;
	if (strlen(r->cn) >= sizeof(m.attrs[0].value)) {
		snprintf(err->detail, sizeof(err->detail), "common name longer than %d bytes",
		    PROTO_MAX_ATTR_LEN);
		return IK_ERR_POLICY_SUBJECT;
	}
	memcpy(m.attrs[0].value, r->cn, strlen(r->cn) + 1);
	/* from the signer's now; a replay gets the validity of the first answer */
	m.not_before = 0;
	m.not_after = (uint64_t)now_s() + (uint64_t)r->validity_days * 86400u;
	return ra_signer_issue(q->app->signer, &m, reply, rep, err);
}

static ik_status send_event(ra_queue *q, const ra_request *r, proto_error *err)
{
	proto_revoke m;
	proto_revoke_reply rep;
	uint16_t type = r->kind == RA_REQ_REVOKE ? PROTO_REVOKE :
	    r->kind == RA_REQ_SUSPEND ? PROTO_HOLD : PROTO_RELEASE;
	ik_status st;

	memset(&m, 0, sizeof(m));
	if (serial_bytes(r->serial, &m) != IK_OK) {
		snprintf(err->detail, sizeof(err->detail), "bad serial '%s' in the store", r->serial);
		return IK_ERR_INTERNAL;
	}
	m.reason = r->kind == RA_REQ_REVOKE ? (uint8_t)(r->reason < 0 ? 0 : r->reason) : 0;
	st = ra_signer_event(q->app->signer, type, &m, &rep, err);
	/* a repeat of a change that has already landed (the reply was lost) */
	if (r->attempts > 1 && ((type == PROTO_REVOKE && st == IK_ERR_POLICY_REVOKED) ||
	    (type == PROTO_HOLD && st == IK_ERR_STATE && rep.state == PROTO_STATE_HELD) ||
	    (type == PROTO_RELEASE && st == IK_ERR_STATE)))
		st = IK_OK;
	else if (type == PROTO_REVOKE && st == IK_ERR_POLICY_REVOKED)
		st = IK_OK; /* the signer had it revoked already: that is final anyway */
	return st;
}

/* Queues the revocation (cessationOfOperation) of a certificate whose key was made for a
 * download that never handed it out; detail says why, for the history. */
static ik_status queue_orphan_revocation(ra_queue *q, int64_t cert_id, const char *serial,
    const char *detail)
{
	ra_request_new n;
	ra_hist h = { .actor = "system", .ip = "", .op = "revoke", .target = serial,
		.detail = detail };

	memset(&n, 0, sizeof(n));
	n.kind = RA_REQ_REVOKE;
	n.cert_id = cert_id;
	n.reason = REASON_CESSATION;
	n.created_by = "system";
	return ra_store_request_add(q->app->store, &n, &h, NULL);
}

/* A leftover download request: complete it, then revoke what was issued. */
static void revoke_orphan(ra_queue *q, const ra_request *r)
{
	char detail[512];
	ik_status st;

	hist_detail(r, r->serial, "the download that made the key was interrupted; its key is lost",
	    detail, sizeof(detail));
	st = queue_orphan_revocation(q, r->cert_id, r->serial, detail);
	if (st != IK_OK)
		ik_log(LOG_ERR, "request %s: cannot queue the revocation of an orphaned certificate: %s",
		    r->request_id, ik_status_str(st));
}

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
			if ((st = queue_orphan_revocation(q, rows[i].id, rows[i].serial, detail)) !=
			    IK_OK)
				return st;
			(*count)++;
		}
	} while (n == 64);
	return IK_OK;
}

/* The request's outcome and its notices, in one transaction. */
static ik_status complete(ra_queue *q, const ra_request *r, const ra_issued *issued,
    const ra_hist *h)
{
	ra_store *store = q->app->store;
	ra_request done;
	ik_status st = ra_store_begin(store);

	if (st != IK_OK)
		return st;
	st = ra_store_request_complete(store, r->id, issued, h);
	if (st == IK_OK && (st = ra_store_request_get(store, r->id, &done)) == IK_OK)
		st = ra_notify_request(q->app, &done);
	if (st == IK_OK)
		st = ra_store_commit(store);
	else
		(void)ra_store_rollback(store);
	if (st == IK_OK)
		ra_mailer_kick(q->app->mailer);
	return st;
}

static ik_status fail(ra_queue *q, const ra_request *r, const char *why, unsigned max,
    int64_t retry_at, const ra_hist *h, ra_request_state *where)
{
	ra_store *store = q->app->store;
	ik_status st = ra_store_begin(store);

	if (st != IK_OK)
		return st;
	st = ra_store_request_fail(store, r->id, why, max, retry_at, h, where);
	if (st == IK_OK && *where == RA_REQ_FAILED)
		st = ra_notify_batch(q->app, r->batch_id);
	if (st == IK_OK)
		st = ra_store_commit(store);
	else
		(void)ra_store_rollback(store);
	if (st == IK_OK && *where == RA_REQ_FAILED)
		ra_mailer_kick(q->app->mailer);
	return st;
}

/* An issue or renew: the signer's answer stored with the certificate. */
static ik_status run_issue(ra_queue *q, ra_request *r, char serial[RA_SERIAL_HEX_MAX + 1],
    proto_error *err)
{
	ik_buf reply;
	proto_issue_reply rep;
	ra_issued issued;
	char detail[1024];
	ra_hist h = { .actor = r->created_by, .ip = "", .op = op_name(r->kind) };
	ik_status st;

	ik_buf_init(&reply, PROTO_MAX_REPLY);
	st = send_issue(q, r, &reply, &rep, err);
	if (st == IK_OK) {
		serial_hex(rep.serial, rep.serial_len, serial, RA_SERIAL_HEX_MAX + 1);
		memset(&issued, 0, sizeof(issued));
		issued.serial = serial;
		issued.der = rep.cert;
		issued.der_len = rep.cert_len;
		st = cert_validity(rep.cert, rep.cert_len, &issued.not_before, &issued.not_after);
	}
	if (st == IK_OK) {
		hist_detail(r, serial, rep.replayed ? "replayed by the signer" : NULL, detail,
		    sizeof(detail));
		h.target = serial;
		h.detail = detail;
		st = complete(q, r, &issued, &h);
	}
	ik_buf_cleanup(&reply);
	return st;
}

/* A revoke, suspend or resume: done at the signer, then recorded, then the CRL fetched. */
static ik_status run_event(ra_queue *q, ra_request *r, proto_error *err)
{
	char detail[1024];
	ra_hist h = { .actor = r->created_by, .ip = "", .op = op_name(r->kind),
	    .target = r->serial };
	ik_status st = send_event(q, r, err);

	if (st != IK_OK)
		return st;
	hist_detail(r, r->serial, NULL, detail, sizeof(detail));
	h.detail = detail;
	st = complete(q, r, NULL, &h);
	if (st == IK_OK && q->app->publish != NULL)
		(void)ra_publish_refresh(q->app->publish);
	return st;
}

/* A failed request: back to pending with a growing delay when the failure may pass (and the
 * key is not only in a caller's memory), else failed for good with the reason recorded. */
static void record_failure(ra_queue *q, const ra_request *r, ik_status st, int once,
    const proto_error *err)
{
	char why[RA_STORE_TEXT_MAX + 1], detail[1024];
	unsigned backoff = r->attempts >= 5 ? QUEUE_BACKOFF_MAX : 1u << r->attempts;
	ra_hist fh = { .actor = r->created_by, .ip = "", .op = "request_failed",
	    .target = r->request_id };
	int retry = transient(st) && !once;
	ra_request_state where;

	snprintf(why, sizeof(why), "%s: %s", ik_status_str(st), err->detail);
	if (backoff > QUEUE_BACKOFF_MAX)
		backoff = QUEUE_BACKOFF_MAX;
	hist_detail(r, r->serial, why, detail, sizeof(detail));
	fh.detail = detail;
	if (fail(q, r, why, retry ? QUEUE_MAX_ATTEMPTS : 0, now_s() + backoff,
	    retry ? NULL : &fh, &where) != IK_OK)
		ik_log(LOG_ERR, "request %s: cannot record the failure", r->request_id);
	else if (where == RA_REQ_PENDING)
		atomic_fetch_add(&q->retried, 1);
	else
		atomic_fetch_add(&q->failed, 1);
	if (!retry || r->attempts == 1)
		ik_log(retry ? LOG_WARNING : LOG_NOTICE, "request %s (%s): %s%s", r->request_id,
		    op_name(r->kind), why, retry ? "; will retry" : "");
}

/* Runs one claimed request against the signer and records the outcome. */
static ik_status process(ra_queue *q, ra_request *r, int once, proto_error *err)
{
	char serial[RA_SERIAL_HEX_MAX + 1] = "";
	int issuance = r->kind == RA_REQ_ISSUE || r->kind == RA_REQ_RENEW;
	/* a download's key left over by an earlier process (see the top of this file) */
	int orphan = issuance && r->generate_here && !once &&
	    (r->created <= q->started || r->attempts > 1);
	ik_status st;

	memset(err, 0, sizeof(*err));
	atomic_fetch_add(&q->sent, 1);
	if (q->app->signer == NULL) {
		snprintf(err->detail, sizeof(err->detail), "no signer configured");
		st = IK_ERR_IO;
	} else {
		st = issuance ? run_issue(q, r, serial, err) : run_event(q, r, err);
	}
	atomic_store(&q->signer_up, st != IK_ERR_IO && st != IK_ERR_PROTO_CLOSED);
	atomic_store(&q->hsm_up, st != IK_ERR_IO && st != IK_ERR_PROTO_CLOSED &&
	    st != IK_ERR_HSM_UNAVAILABLE);
	if (st != IK_OK) {
		if (err->detail[0] == '\0')
			snprintf(err->detail, sizeof(err->detail), "%s", ik_status_str(st));
		record_failure(q, r, st, once, err);
		return st;
	}
	atomic_fetch_add(&q->done, 1);
	if (orphan) {
		snprintf(r->serial, sizeof(r->serial), "%s", serial);
		revoke_orphan(q, r);
	}
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

	for (;;) {
		ra_request r;
		proto_error err;
		ik_status st;

		pthread_mutex_lock(&q->lock);
		if (q->stopping) {
			pthread_mutex_unlock(&q->lock);
			break;
		}
		pthread_mutex_unlock(&q->lock);
		st = ra_store_request_claim(q->app->store, now_s(), &r);
		if (st == IK_OK) {
			(void)process(q, &r, 0, &err);
			settle(q);
			continue;
		}
		if (st != IK_ERR_NOT_FOUND)
			ik_log(LOG_ERR, "queue: cannot claim a request: %s", ik_status_str(st));
		pthread_mutex_lock(&q->lock);
		if (!q->stopping) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += QUEUE_IDLE_MS / 1000;
			pthread_cond_timedwait(&q->work, &q->lock, &ts);
		}
		pthread_mutex_unlock(&q->lock);
	}
	return NULL;
}

ik_status ra_queue_start(ra_app *app, unsigned nworkers, ra_queue **out)
{
	ra_queue *q;
	size_t n = 0;
	ik_status st;

	*out = NULL;
	if (nworkers == 0 || nworkers > QUEUE_MAX_WORKERS)
		return IK_ERR_ARG;
	if ((q = calloc(1, sizeof(*q))) == NULL)
		return IK_ERR_NOMEM;
	q->app = app;
	q->started = now_s();
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
		q->nthreads++;
	}
	/* whatever this process creates is from a later second than `started`, so "at or
	 * before started" means "left over by an earlier process" (times are in seconds) */
	while (now_s() <= q->started) {
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
	pthread_cond_signal(&q->work);
	pthread_mutex_unlock(&q->lock);
}

ik_status ra_queue_run_now(ra_queue *q, int64_t row_id, int once, unsigned timeout_ms,
    ra_request *out, proto_error *err)
{
	struct timespec deadline;
	ik_status st;

	memset(err, 0, sizeof(*err));
	st = ra_store_request_claim_id(q->app->store, row_id, out);
	if (st == IK_OK) {
		st = process(q, out, once, err);
		settle(q);
		if (ra_store_request_get(q->app->store, row_id, out) != IK_OK && st == IK_OK)
			st = IK_ERR_IO;
		return st;
	}
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
