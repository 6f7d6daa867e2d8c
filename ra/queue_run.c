/* queue_run: one claimed request, or a group of them, against the signer and the store.
 * A group's issuances go out pipelined over one signer connection (the signer matches the
 * replies by id) and their outcomes are recorded in one transaction; revocation events go
 * one by one (each refreshes the CRL, and they are not resent blindly). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jansson.h>
#include <openssl/asn1.h>

#include "config.h"
#include "log.h"
#include "mail.h"
#include "notify.h"
#include "publish.h"
#include "queue_int.h"
#include "signer_client.h"

#define REASON_CESSATION 5

int64_t rq_now(void)
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

/* Steps over (enter = 0) or into (enter = 1) the next DER element of [*p, end). */
static int der_next(const uint8_t **p, const uint8_t *end, int enter, int *tag, int *cls)
{
	const unsigned char *q = *p;
	long len = 0;
	int r;

	if (*p >= end)
		return 0;
	r = ASN1_get_object(&q, &len, tag, cls, end - *p);
	if ((r & 0x80) != 0 || r == 0x21) /* an error, or an indefinite length */
		return 0;
	*p = enter ? q : q + len;
	return 1;
}

/* notBefore and notAfter of the signer's certificate, read from the DER without building an
 * X509 (which would decode the public key too, the costliest part of parsing it):
 * Certificate > TBSCertificate > [0] version, serial, signature, issuer, validity. */
static ik_status cert_validity(const uint8_t *der, size_t n, int64_t *nb, int64_t *na)
{
	const uint8_t *p = der, *end = der + n, *at;
	int64_t v[2];
	int tag = 0, cls = 0;

	if (!der_next(&p, end, 1, &tag, &cls) || tag != V_ASN1_SEQUENCE ||
	    !der_next(&p, end, 1, &tag, &cls) || tag != V_ASN1_SEQUENCE)
		return IK_ERR_CRYPTO;
	at = p;
	if (!der_next(&p, end, 0, &tag, &cls))
		return IK_ERR_CRYPTO;
	if (cls != V_ASN1_CONTEXT_SPECIFIC || tag != 0)
		p = at; /* no version field: v1 */
	if (!der_next(&p, end, 0, &tag, &cls) || tag != V_ASN1_INTEGER ||
	    !der_next(&p, end, 0, &tag, &cls) || tag != V_ASN1_SEQUENCE ||
	    !der_next(&p, end, 0, &tag, &cls) || tag != V_ASN1_SEQUENCE ||
	    !der_next(&p, end, 1, &tag, &cls) || tag != V_ASN1_SEQUENCE)
		return IK_ERR_CRYPTO;
	for (int i = 0; i < 2; i++) {
		ASN1_TIME *t = d2i_ASN1_TIME(NULL, &p, end - p);
		struct tm tm;
		int ok = t != NULL && ASN1_TIME_to_tm(t, &tm) == 1;

		ASN1_TIME_free(t);
		if (!ok)
			return IK_ERR_CRYPTO;
		v[i] = (int64_t)timegm(&tm);
	}
	*nb = v[0];
	*na = v[1];
	return IK_OK;
}

/* A download's request left over by an earlier process (see queue.c), or one its download
 * parked after the answer was lost (sent again, attempts > 1): its key is gone. */
static int orphaned(const ra_queue *q, const ra_request *r, int once)
{
	return (r->kind == RA_REQ_ISSUE || r->kind == RA_REQ_RENEW) && r->generate_here &&
	    !once && (r->created <= q->started || r->attempts > 1);
}

/* Failures after which the signer may have issued the certificate all the same: no answer
 * (a timeout, a broken connection), or one the store could not take. */
static int unanswered(ik_status st)
{
	return st == IK_ERR_IO || st == IK_ERR_PROTO_CLOSED || st == IK_ERR_PROTO_TRUNCATED ||
	    st == IK_ERR_BUSY || st == IK_ERR_NOMEM;
}

/* An answer the RA could not read (a frame that fits no request, a reply that does not
 * decode, a certificate that does not parse): unlike a refusal, which the signer sends as
 * an ERROR frame (err->status set), the signer may have issued all the same. */
static int unreadable(ik_status st, const proto_error *err)
{
	return err->status == 0 &&
	    ((st >= IK_ERR_PROTO_VERSION && st <= IK_ERR_PROTO_CLOSED) || st == IK_ERR_CRYPTO);
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

/* The ISSUE message of an issue or renew. */
static ik_status issue_msg(ra_queue *q, const ra_request *r, proto_issue *m, proto_error *err)
{
	memset(m, 0, sizeof(*m));
	snprintf(m->request_id, sizeof(m->request_id), "%s", r->request_id);
	snprintf(m->profile, sizeof(m->profile), "%s", q->app->cfg->profile);
	m->spki = r->spki;
	m->spki_len = r->spki_len;
	m->nattrs = 1;
	m->attrs[0].type = PROTO_ATTR_CN;
	if (strlen(r->cn) >= sizeof(m->attrs[0].value)) {
		snprintf(err->detail, sizeof(err->detail), "common name longer than %d bytes",
		    PROTO_MAX_ATTR_LEN);
		return IK_ERR_POLICY_SUBJECT;
	}
	memcpy(m->attrs[0].value, r->cn, strlen(r->cn) + 1);
	/* from the signer's now; a replay gets the validity of the first answer */
	m->not_before = 0;
	m->not_after = (uint64_t)rq_now() + (uint64_t)r->validity_days * 86400u;
	return IK_OK;
}

/* What the signer answered to an issue or renew, made ready for the store (outside any
 * transaction): the serial in hex, the validity read from the certificate, the history
 * detail.  issued.der borrows from the reply. */
typedef struct answer {
	char serial[RA_SERIAL_HEX_MAX + 1];
	char detail[1024];
	ra_issued issued;
} answer;

static ik_status answer_read(const ra_request *r, const proto_issue_reply *rep, answer *a)
{
	ik_status st;

	serial_hex(rep->serial, rep->serial_len, a->serial, sizeof(a->serial));
	memset(&a->issued, 0, sizeof(a->issued));
	a->issued.serial = a->serial;
	a->issued.der = rep->cert;
	a->issued.der_len = rep->cert_len;
	st = cert_validity(rep->cert, rep->cert_len, &a->issued.not_before,
	    &a->issued.not_after);
	if (st == IK_OK)
		hist_detail(r, a->serial, rep->replayed ? "replayed by the signer" : NULL,
		    a->detail, sizeof(a->detail));
	return st;
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

ik_status rq_orphan_revocation(ra_queue *q, int64_t cert_id, const char *serial,
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

/* The user's mail that the link works again, in a savepoint of its own (a mail that cannot
 * be queued costs the user the notice, never the link). */
static void tell_settled(ra_queue *q, const ra_request *r, int64_t reoffered)
{
	ra_store *store = q->app->store;
	ik_status st = ra_store_begin(store);

	if (st == IK_OK) {
		if ((st = ra_notify_settled(q->app, r, reoffered)) == IK_OK)
			st = ra_store_commit(store);
		else
			(void)ra_store_rollback(store);
	}
	if (st != IK_OK)
		ik_log(LOG_ERR, "request %s: cannot queue the mail that its download works again: %s",
		    r->request_id, ik_status_str(st));
}

/* A request its download parked (ra_store_request_park), now settled: the same credential
 * gets a fresh certificate (in the caller's transaction, in a savepoint of its own: if that
 * fails the revocation still goes, and the credential is left on the revoked certificate,
 * 409 as after a crash), and its user a mail that the link works again. */
static void reoffer(ra_queue *q, const ra_request *r)
{
	ra_hist h = { .actor = "system", .ip = "", .op = "download_reoffer", .target = r->serial,
	    .detail = "{\"note\":\"the CA's answer to a download was lost; that certificate is "
	    "revoked and the same download link gets a new one\"}" };
	int64_t id = 0;
	ik_status st = ra_store_download_reoffer(q->app->store, r->id, &h, &id);

	if (st != IK_OK) {
		ik_log(LOG_ERR, "request %s: cannot offer its download a new certificate: %s",
		    r->request_id, ik_status_str(st));
		return;
	}
	if (id != 0)
		ik_log(LOG_NOTICE, "request %s: its download's answer was lost; certificate %lld "
		    "offered to the same download link", r->request_id, (long long)id);
	tell_settled(q, r, id);
}

/* A leftover download request: complete it, then revoke what was issued. */
static void revoke_orphan(ra_queue *q, const ra_request *r)
{
	char detail[512];
	ik_status st;

	hist_detail(r, r->serial, "the download that made the key was interrupted; its key is lost",
	    detail, sizeof(detail));
	if ((st = ra_store_begin(q->app->store)) == IK_OK) {
		st = rq_orphan_revocation(q, r->cert_id, r->serial, detail);
		if (st == IK_OK)
			reoffer(q, r);
		if (st == IK_OK)
			st = ra_store_commit(q->app->store);
		else
			(void)ra_store_rollback(q->app->store);
	}
	if (st == IK_OK)
		ra_mailer_kick(q->app->mailer); /* the user's mail, if reoffer queued one */
	if (st != IK_OK)
		ik_log(LOG_ERR, "request %s: cannot queue the revocation of an orphaned certificate: %s",
		    r->request_id, ik_status_str(st));
}

/* The request's outcome and its notices, in one transaction.  lazy: its commit need not
 * reach the disk (a download's own issuance, which the download makes durable with its
 * spent credential before the .p12 leaves; after a power loss before that, the request is
 * "sent" again, sent again, and revoked as an orphan). */
static ik_status complete(ra_queue *q, const ra_request *r, const ra_issued *issued,
    const ra_hist *h, int lazy)
{
	ra_store *store = q->app->store;
	ra_request done = *r;
	ik_status st = lazy ? ra_store_begin_lazy(store) : ra_store_begin(store);

	if (st != IK_OK)
		return st;
	st = ra_store_request_complete_claimed(store, r, issued, h);
	done.state = RA_REQ_DONE; /* nothing else of the row changed */
	if (st == IK_OK)
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

/* The answer stored with the request and its certificate (once: run by its download). */
static ik_status answer_store(ra_queue *q, const ra_request *r, const answer *a, int once)
{
	ra_hist h = { .actor = r->created_by, .ip = "", .op = op_name(r->kind),
	    .target = a->serial, .detail = a->detail };
	ra_request claimed = *r;

	claimed.key_lost = orphaned(q, r, once);
	return complete(q, &claimed, &a->issued, &h, once && r->generate_here);
}

/* An issue or renew on its own: one round trip, the answer stored with the certificate. */
static ik_status run_issue(ra_queue *q, ra_request *r, int once, answer *a,
    proto_error *err)
{
	ik_buf reply;
	proto_issue m;
	proto_issue_reply rep;
	ik_status st = issue_msg(q, r, &m, err);

	if (st != IK_OK)
		return st;
	ik_buf_init(&reply, PROTO_MAX_REPLY);
	st = ra_signer_issue(q->app->signer, &m, &reply, &rep, err);
	if (st == IK_OK)
		st = answer_read(r, &rep, a);
	if (st == IK_OK)
		st = answer_store(q, r, a, once);
	ik_buf_cleanup(&reply);
	return st;
}

/* A revoke, suspend or resume: done at the signer, then recorded, then a new CRL fetched
 * (by the publisher thread: the worker goes on with the next request). */
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
	st = complete(q, r, NULL, &h, 0);
	if (st == IK_OK && q->app->publish != NULL)
		ra_publish_kick(q->app->publish); /* a new CRL is fetched without this worker */
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
	/* a download's request resent after its answer was lost: an unreadable answer is
	 * retried like a lost one, the signer may hold a certificate the RA must revoke */
	int retry = (transient(st) || (orphaned(q, r, once) && unreadable(st, err))) && !once;
	ra_request_state where;

	if (once && (unanswered(st) || unreadable(st, err))) {
		/* the signer may have issued it: left sent for its download to park
		 * (ra_store_request_park), or for the next start to settle */
		ik_log(LOG_WARNING, "request %s (%s): %s: %s; its download parks it", r->request_id,
		    op_name(r->kind), ik_status_str(st), err->detail);
		return;
	}
	snprintf(why, sizeof(why), "%s: %s", ik_status_str(st), err->detail);
	if (backoff > QUEUE_BACKOFF_MAX)
		backoff = QUEUE_BACKOFF_MAX;
	hist_detail(r, r->serial, why, detail, sizeof(detail));
	fh.detail = detail;
	if (fail(q, r, why, retry ? QUEUE_MAX_ATTEMPTS : 0, rq_now() + backoff,
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

/* What follows a request's outcome: the signer's health, the failure recorded (retry or
 * give up), the counters, and a leftover download's certificate revoked. */
static ik_status outcome(ra_queue *q, ra_request *r, ik_status st, const char *serial,
    int once, proto_error *err)
{
	int orphan = orphaned(q, r, once);

	atomic_store(&q->signer_up, st != IK_ERR_IO && st != IK_ERR_PROTO_CLOSED);
	atomic_store(&q->hsm_up, st != IK_ERR_IO && st != IK_ERR_PROTO_CLOSED &&
	    st != IK_ERR_HSM_UNAVAILABLE);
	if (st != IK_OK) {
		if (err->detail[0] == '\0' && unreadable(st, err))
			snprintf(err->detail, sizeof(err->detail), "the signer's answer could not be "
			    "read: %s", ik_status_str(st));
		else if (err->detail[0] == '\0')
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

ik_status rq_process(ra_queue *q, ra_request *r, int once, proto_error *err)
{
	answer a;
	ik_status st;

	memset(err, 0, sizeof(*err));
	a.serial[0] = '\0';
	atomic_fetch_add(&q->sent, 1);
	if (q->app->signer == NULL) {
		snprintf(err->detail, sizeof(err->detail), "no signer configured");
		st = IK_ERR_IO;
	} else if (r->kind == RA_REQ_ISSUE || r->kind == RA_REQ_RENEW) {
		st = run_issue(q, r, once, &a, err);
	} else {
		st = run_event(q, r, err);
	}
	return outcome(q, r, st, a.serial, once, err);
}

/* ---- a group of issuances: one pipelined exchange with the signer, one transaction ---- */

typedef struct group {
	size_t n;
	ra_request **r;
	ik_buf *req, *reply;
	proto_issue_reply *rep;
	ik_status *st;
	proto_error *err;
	answer *a;
} group;

static void group_free(group *g)
{
	for (size_t k = 0; g->req != NULL && k < g->n; k++) {
		ik_buf_cleanup(&g->req[k]);
		ik_buf_cleanup(&g->reply[k]);
	}
	free(g->r);
	free(g->req);
	free(g->reply);
	free(g->rep);
	free(g->st);
	free(g->err);
	free(g->a);
}

static ik_status group_new(size_t n, group *g)
{
	memset(g, 0, sizeof(*g));
	g->r = calloc(n, sizeof(*g->r));
	g->req = calloc(n, sizeof(*g->req));
	g->reply = calloc(n, sizeof(*g->reply));
	g->rep = calloc(n, sizeof(*g->rep));
	g->st = calloc(n, sizeof(*g->st));
	g->err = calloc(n, sizeof(*g->err));
	g->a = calloc(n, sizeof(*g->a));
	g->n = n;
	if (g->r == NULL || g->req == NULL || g->reply == NULL || g->rep == NULL ||
	    g->st == NULL || g->err == NULL || g->a == NULL) {
		g->n = 0; /* no buffer set up yet */
		group_free(g);
		return IK_ERR_NOMEM;
	}
	for (size_t k = 0; k < n; k++) {
		ik_buf_init(&g->req[k], PROTO_MAX_REQUEST);
		ik_buf_init(&g->reply[k], PROTO_MAX_REPLY);
	}
	g->n = 0; /* filled by group_add */
	return IK_OK;
}

/* Encodes r's ISSUE into the group; a request that cannot go (its CN does not fit) gets
 * its outcome at once. */
static void group_add(ra_queue *q, group *g, ra_request *r)
{
	proto_issue m;
	proto_error err;
	ik_status st;

	memset(&err, 0, sizeof(err));
	atomic_fetch_add(&q->sent, 1);
	st = issue_msg(q, r, &m, &err);
	if (st == IK_OK)
		st = proto_encode_issue(&g->req[g->n], &m);
	if (st != IK_OK) {
		(void)outcome(q, r, st, "", 0, &err);
		return;
	}
	g->r[g->n++] = r;
}

/* Every answer of the group stored at once (ra_store_request_complete_group: no savepoint
 * per request) with its notices, inside the group's transaction; all or nothing.  Only when
 * the signer issued every one of them. */
static ik_status group_store_all(ra_queue *q, group *g)
{
	ra_store *store = q->app->store;
	ra_request *rows = NULL;
	ra_issued *issued = NULL;
	ra_hist *h = NULL;
	ik_status st = IK_OK;

	for (size_t k = 0; k < g->n; k++)
		if (g->st[k] != IK_OK)
			return IK_ERR_STATE;
	rows = calloc(g->n, sizeof(*rows));
	issued = calloc(g->n, sizeof(*issued));
	h = calloc(g->n, sizeof(*h));
	if (rows == NULL || issued == NULL || h == NULL)
		st = IK_ERR_NOMEM;
	for (size_t k = 0; st == IK_OK && k < g->n; k++) {
		rows[k] = *g->r[k];
		rows[k].key_lost = orphaned(q, g->r[k], 0); /* as answer_store */
		issued[k] = g->a[k].issued;
		h[k] = (ra_hist){ .actor = g->r[k]->created_by, .ip = "",
		    .op = op_name(g->r[k]->kind), .target = g->a[k].serial,
		    .detail = g->a[k].detail };
	}
	if (st == IK_OK && (st = ra_store_begin(store)) == IK_OK) {
		st = ra_store_request_complete_group(store, rows, issued, h, g->n);
		for (size_t k = 0; st == IK_OK && k < g->n; k++) {
			rows[k].state = RA_REQ_DONE; /* nothing else of the row changed */
			st = ra_notify_request(q->app, &rows[k]);
		}
		if (st == IK_OK)
			st = ra_store_commit(store);
		else
			(void)ra_store_rollback(store);
	}
	free(rows);
	free(issued);
	free(h);
	return st;
}

/* Issues whose key is not in this process's memory (a single CSR, a batch's sealed key; not
 * a download's): their outcomes need not wait for the disk.  The signer has the certificate in
 * its ledger before it answers; should a power loss take this commit along (the next durable
 * commit of any thread makes it durable), the requests are pending again at the next start,
 * are sent again and the signer answers each with the same certificate (idempotent per
 * request id).  Nothing is handed out on the strength of it: a batch's ZIP purges the keys in
 * a durable commit first, which makes every outcome before it durable too.  A download's
 * PKCS#12 leaves the RA with its certificate, so its outcome is durable first. */
static int lazy_outcomes(const group *g)
{
	for (size_t k = 0; k < g->n; k++)
		if (g->r[k]->kind != RA_REQ_ISSUE || g->r[k]->generate_here)
			return 0;
	return 1;
}

/* The group's outcomes in one transaction: all at once, or else each request in its own
 * savepoint within it, so one that cannot be recorded does not undo the others.  If that
 * transaction cannot be committed, nothing of it stays: every request goes back to pending
 * for a retry (the signer answers the repeat with the same certificate); the done counter
 * has then counted them once too often, nothing else. */
static void group_record(ra_queue *q, group *g)
{
	ra_store *store = q->app->store;
	ik_status tx = lazy_outcomes(g) ? ra_store_begin_lazy(store) : ra_store_begin(store);
	int all = tx == IK_OK && group_store_all(q, g) == IK_OK;

	for (size_t k = 0; k < g->n; k++) {
		if (g->st[k] == IK_OK && !all)
			g->st[k] = answer_store(q, g->r[k], &g->a[k], 0);
		(void)outcome(q, g->r[k], g->st[k], g->a[k].serial, 0, &g->err[k]);
	}
	if (tx != IK_OK)
		return; /* each outcome above had its own transaction */
	if ((tx = ra_store_commit(store)) == IK_OK) {
		ra_mailer_kick(q->app->mailer);
		return;
	}
	ik_log(LOG_ERR, "queue: cannot record a group of %zu answers (%s); sending them again",
	    g->n, ik_status_str(tx));
	for (size_t k = 0; k < g->n; k++) {
		proto_error err = { .status = 0 };

		snprintf(err.detail, sizeof(err.detail), "the answer could not be recorded");
		record_failure(q, g->r[k], IK_ERR_BUSY, 0, &err);
	}
}

void rq_run_group(ra_queue *q, ra_request *rows, size_t n)
{
	ra_signer_group sg;
	proto_error err;
	group g;
	size_t m = 0;

	for (size_t i = 0; i < n; i++) {
		if (rows[i].kind == RA_REQ_ISSUE || rows[i].kind == RA_REQ_RENEW)
			m++;
		else
			(void)rq_process(q, &rows[i], 0, &err);
	}
	if (m == 0)
		return;
	if (q->app->signer == NULL || group_new(m, &g) != IK_OK) {
		for (size_t i = 0; i < n; i++) /* one by one, as rq_process does it */
			if (rows[i].kind == RA_REQ_ISSUE || rows[i].kind == RA_REQ_RENEW)
				(void)rq_process(q, &rows[i], 0, &err);
		return;
	}
	for (size_t i = 0; i < n; i++)
		if (rows[i].kind == RA_REQ_ISSUE || rows[i].kind == RA_REQ_RENEW)
			group_add(q, &g, &rows[i]);
	if (g.n > 0) {
		sg = (ra_signer_group){ .n = g.n, .req = g.req, .reply = g.reply, .rep = g.rep,
			.st = g.st, .err = g.err };
		(void)ra_signer_issue_group(q->app->signer, &sg);
		for (size_t k = 0; k < g.n; k++)
			if (g.st[k] == IK_OK)
				g.st[k] = answer_read(g.r[k], &g.rep[k], &g.a[k]);
		group_record(q, &g);
	}
	g.n = m; /* every buffer group_new set up */
	group_free(&g);
}
