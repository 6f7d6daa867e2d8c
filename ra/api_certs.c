/* api_certs: certificates — issue for a device (a one-time download credential for the
 * user, or at once from an uploaded CSR), list with filters and keyset pages, show, PEM,
 * revoke / suspend / resume through the queue, request status, and the quota counters. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "api.h"
#include "api_list_json.h"
#include "download.h"
#include "p12.h"
#include "queue.h"

#define DEFAULT_VALIDITY_DAYS 365
#define MAX_VALIDITY_DAYS 1095        /* the signer's hard cap; its profile may be lower */

static const struct {
	const char *name;
	int code;
} reasons[] = {
	{ "unspecified", 0 }, { "keyCompromise", 1 }, { "affiliationChanged", 3 },
	{ "superseded", 4 }, { "cessationOfOperation", 5 }, { "privilegeWithdrawn", 9 },
};

int ra_revoke_reason_parse(const char *s, int *out)
{
	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (strcmp(s, reasons[i].name) == 0) {
			*out = reasons[i].code;
			return 1;
		}
	return 0;
}

static ik_status quota_get(ra_req *r, uint64_t *quota)
{
	int64_t v = 0;
	ik_status st = ra_store_setting_get_int(r->app->store, "quota", 0, &v);

	*quota = v > 0 ? (uint64_t)v : 0;
	return st;
}

static void reply_quota_exceeded(ra_req *r, uint64_t quota)
{
	char msg[160];

	snprintf(msg, sizeof(msg), "the contracted number of certificates (%llu) is used up",
	    (unsigned long long)quota);
	ra_reply_error(r, 409, "quota_exceeded", msg);
}

/* The store refuses an issuance with IK_ERR_STATE both over the quota and for the
 * certificate's state: tell which. */
static void reply_refused(ra_req *r, uint64_t quota, const char *code, const char *message)
{
	ra_cert_counts c;

	if (quota > 0 && ra_store_cert_counts(r->app->store, &c) == IK_OK && c.quota_used >= quota)
		reply_quota_exceeded(r, quota);
	else
		ra_reply_error(r, 409, code, message);
}

/* The optional "csr" member: PEM text (newlines allowed) of at most RA_CSR_MAX bytes. */
static int csr_member(ra_req *r, json_t *j, const char **out)
{
	json_t *v = json_object_get(j, "csr");

	if (v == NULL || json_is_null(v))
		return 1;
	if (!json_is_string(v) || json_string_length(v) == 0 ||
	    json_string_length(v) > RA_CSR_MAX ||
	    strlen(json_string_value(v)) != json_string_length(v)) {
		ra_reply_error_field(r, 400, "bad_field", "csr: a PKCS#10 request in PEM is required",
		    "csr");
		return 0;
	}
	*out = json_string_value(v);
	return 1;
}

ra_issue_outcome ra_cert_issue_for_download(ra_req *r, const ra_issue_in *in,
    ra_cert *cert, ra_credential *cred, uint64_t *quota)
{
	ra_device dev;
	ra_user user;
	const char *cn = in->cn;
	int64_t cert_id;
	char target[64];
	ra_hist h;
	ik_status st;

	*quota = 0;
	if ((st = ra_store_device_get(r->app->store, in->device_id, &dev)) != IK_OK ||
	    (st = ra_store_user_get(r->app->store, dev.user_id, &user)) != IK_OK)
		return st == IK_ERR_NOT_FOUND ? RA_ISSUE_NO_DEVICE : RA_ISSUE_ERROR;
	if (cn == NULL || cn[0] == '\0')
		cn = user.external_id;
	if (!ra_cn_ok(cn))
		return RA_ISSUE_BAD_CN;
	if (quota_get(r, quota) != IK_OK)
		return RA_ISSUE_ERROR;
	/* the reservation and its credential: one transaction */
	if ((st = ra_store_begin(r->app->store)) != IK_OK)
		return st == IK_ERR_BUSY ? RA_ISSUE_BUSY : RA_ISSUE_ERROR;
	{
		ra_cert_new c = { .device_id = in->device_id, .cn = cn,
		    .validity_days = in->validity_days, .quota = *quota };
		snprintf(target, sizeof(target), "device:%lld", (long long)in->device_id);
		h = ra_api_hist(r, "issue_reserved", target, "{\"key\":\"at download\"}");
		st = ra_store_cert_reserve(r->app->store, &c, &h, &cert_id);
	}
	if (st == IK_OK && (st = ra_store_cert_get(r->app->store, cert_id, cert)) == IK_OK)
		st = ra_download_credential_make(r, cert_id, in->kind, in->credential_days, cred);
	if (st == IK_OK)
		st = ra_store_commit(r->app->store);
	if (st != IK_OK)
		(void)ra_store_rollback(r->app->store);
	if (st == IK_ERR_STATE) {
		ra_cert_counts c;
		if (*quota > 0 && ra_store_cert_counts(r->app->store, &c) == IK_OK &&
		    c.quota_used >= *quota)
			return RA_ISSUE_QUOTA;
		return RA_ISSUE_LIVE;
	}
	if (st == IK_ERR_BUSY)
		return RA_ISSUE_BUSY;
	return st == IK_OK ? RA_ISSUE_OK : RA_ISSUE_ERROR;
}

/* A CSR issue between its checks and its answer: the request joins the store's group
 * commit while the connection waits suspended, and is answered (202 once its row is
 * durable) from the committer's thread; everything the store reads is kept here. */
typedef struct csr_issue {
	ra_req *r;
	ra_request_new n;
	ra_hist h;
	ra_request req;
	uint64_t quota;
	ik_buf spki;
	char cn[RA_CN_MAX + 1];
	char target[64];
} csr_issue;

static void csr_issue_free(csr_issue *x)
{
	ik_buf_cleanup(&x->spki);
	free(x);
}

static void csr_issue_reply(csr_issue *x, ik_status st)
{
	ra_req *r = x->r;

	if (st == IK_ERR_STATE) {
		reply_refused(r, x->quota, "has_live_certificate",
		    "the device already holds a live certificate: renew or revoke it");
		return;
	}
	if (st != IK_OK) {
		ra_api_store_error(r, st, "device");
		return;
	}
	ra_queue_kick(r->app->queue);
	ra_reply_json(r, 202, json_pack("{s:I, s:I, s:s, s:s}", "request_id",
	    (json_int_t)x->req.id, "certificate_id", (json_int_t)x->req.cert_id, "state",
	    "issuing", "request", x->req.request_id));
}

/* On the committer's thread: the answer, sent. */
static void csr_issue_done(void *ctx, ik_status st)
{
	csr_issue *x = ctx;
	ra_req *r = x->r;

	csr_issue_reply(x, st);
	csr_issue_free(x);
	ra_req_resume(r);
}

/* The request queued: answered later when the connection could be suspended, else now. */
static void csr_issue_add(ra_req *r, csr_issue *x)
{
	ik_status st;

	if (ra_req_defer(r)) {
		if (ra_store_request_add_async(r->app->store, &x->n, &x->h, &x->req, csr_issue_done,
		    x) == IK_OK)
			return; /* x is csr_issue_done's now */
		st = ra_store_request_add(r->app->store, &x->n, &x->h, &x->req);
		csr_issue_reply(x, st);
		csr_issue_free(x);
		ra_req_resume(r);
		return;
	}
	st = ra_store_request_add(r->app->store, &x->n, &x->h, &x->req);
	csr_issue_reply(x, st);
	csr_issue_free(x);
}

/* The customer's key in a CSR: issued at once through the queue. */
static void issue_csr(ra_req *r, int64_t did, const char *cn, const char *csr, uint64_t days)
{
	ra_device dev;
	ra_user user;
	char csr_cn[160] = "", why[256];
	csr_issue *x = calloc(1, sizeof(*x));
	ik_status st;

	if (x == NULL) {
		ra_reply_error(r, 500, "internal", "out of memory");
		return;
	}
	x->r = r;
	ik_buf_init(&x->spki, RA_SPKI_MAX);
	if ((st = ra_store_device_get(r->app->store, did, &dev)) != IK_OK) {
		ra_api_store_error(r, st, "device");
		goto fail;
	}
	if (ra_p12_spki_from_csr((const uint8_t *)csr, strlen(csr), &x->spki, csr_cn,
	    sizeof(csr_cn), why, sizeof(why)) != IK_OK) {
		ra_reply_error_field(r, 400, "bad_csr", why, "csr");
		goto fail;
	}
	/* no CN given or in the request: the user's id (the user read only then) */
	if (cn == NULL && csr_cn[0] != '\0')
		cn = csr_cn;
	if (cn == NULL) {
		if ((st = ra_store_user_get(r->app->store, dev.user_id, &user)) != IK_OK) {
			ra_api_store_error(r, st, "device");
			goto fail;
		}
		cn = user.external_id;
	}
	if (!ra_cn_ok(cn) || strlen(cn) > RA_CN_MAX) {
		ra_reply_error_field(r, 400, "bad_field", "common_name: 1..64 printable characters, "
		    "no leading or trailing space", "common_name");
		goto fail;
	}
	if (quota_get(r, &x->quota) != IK_OK) {
		ra_reply_error(r, 500, "internal", "cannot read the quota");
		goto fail;
	}
	snprintf(x->cn, sizeof(x->cn), "%s", cn);
	snprintf(x->target, sizeof(x->target), "device:%lld", (long long)did);
	x->n = (ra_request_new){ .kind = RA_REQ_ISSUE, .device_id = did, .cn = x->cn,
	    .validity_days = (unsigned)days, .spki = ik_buf_ptr(&x->spki),
	    .spki_len = ik_buf_remaining(&x->spki), .quota = x->quota,
	    .created_by = r->who.login };
	x->h = ra_api_hist(r, "issue_requested", x->target, "{\"key\":\"csr\"}");
	csr_issue_add(r, x);
	return;
fail:
	csr_issue_free(x);
}

/* POST /api/v1/devices/{id}/certificates */
static void h_issue(ra_req *r)
{
	json_t *j = ra_req_json(r), *out;
	const char *cn = NULL, *csr = NULL, *cred_s = "password";
	uint64_t days = DEFAULT_VALIDITY_DAYS, expire_days = 14, quota = 0;
	ra_cert cert;
	ra_credential cred;
	ra_issue_in in;
	int64_t did;

	if (j == NULL)
		return;
	memset(&cred, 0, sizeof(cred));
	if (!ra_api_path_id(r, &did) || !ra_json_opt_str(r, j, "common_name", RA_CN_MAX, &cn) ||
	    !csr_member(r, j, &csr) ||
	    !ra_json_opt_str(r, j, "credential", 16, &cred_s) ||
	    !ra_json_opt_uint(r, j, "validity_days", 1, MAX_VALIDITY_DAYS, &days) ||
	    !ra_json_opt_uint(r, j, "credential_days", 1, 90, &expire_days))
		goto out;
	if (strcmp(cred_s, "password") != 0 && strcmp(cred_s, "pin") != 0) {
		ra_reply_error_field(r, 400, "bad_field", "credential: \"password\" or \"pin\"",
		    "credential");
		goto out;
	}
	if (csr != NULL) {
		issue_csr(r, did, cn, csr, days);
		goto out;
	}
	in = (ra_issue_in){ .device_id = did, .cn = cn, .validity_days = (unsigned)days,
	    .kind = strcmp(cred_s, "pin") == 0 ? RA_DOWNLOAD_PIN : RA_DOWNLOAD_PASSWORD,
	    .credential_days = (unsigned)expire_days };
	switch (ra_cert_issue_for_download(r, &in, &cert, &cred, &quota)) {
	case RA_ISSUE_OK:
		out = json_pack("{s:o}", "certificate", ra_cert_json(&cert));
		json_object_set_new(out, "download", json_pack("{s:s, s:s, s:s, s:o}", "login",
		    cred.login, in.kind == RA_DOWNLOAD_PASSWORD ? "password" : "pin", cred.secret,
		    "url", cred.url, "expires", ra_json_time(cred.expires)));
		ra_reply_json(r, 201, out);
		break;
	case RA_ISSUE_NO_DEVICE:
		ra_api_store_error(r, IK_ERR_NOT_FOUND, "device");
		break;
	case RA_ISSUE_BAD_CN:
		ra_reply_error_field(r, 400, "bad_field", "common_name: 1..64 printable characters, "
		    "no leading or trailing space", "common_name");
		break;
	case RA_ISSUE_QUOTA:
		reply_quota_exceeded(r, quota);
		break;
	case RA_ISSUE_LIVE:
		ra_reply_error(r, 409, "has_live_certificate",
		    "the device already holds a live certificate: renew or revoke it");
		break;
	case RA_ISSUE_BUSY:
		ra_api_store_error(r, IK_ERR_BUSY, "certificate");
		break;
	default:
		ra_reply_error(r, 500, "internal", "cannot issue the certificate");
		break;
	}
out:
	OPENSSL_cleanse(&cred, sizeof(cred));
	json_decref(j);
}

static int parse_filter(ra_req *r, ra_cert_query *q)
{
	const char *f = ra_req_query(r, "filter"), *s = ra_req_query(r, "sort"),
	    *o = ra_req_query(r, "order");
	uint64_t from = 0, to = 0, limit = 0;
	static const char *filters[] = { "all", "valid", "expired", "revoked", "suspended" };
	static const char *sorts[] = { "created", "cn", "not_before", "not_after", "serial" };
	int found;

	memset(q, 0, sizeof(*q));
	found = f == NULL;
	for (size_t i = 0; f != NULL && i < 5; i++)
		if (strcmp(f, filters[i]) == 0) {
			q->filter = (ra_cert_filter)i;
			found = 1;
		}
	if (!found) {
		ra_reply_error_field(r, 400, "bad_query",
		    "filter: one of all, valid, expired, revoked, suspended", "filter");
		return 0;
	}
	found = s == NULL;
	for (size_t i = 0; s != NULL && i < 5; i++)
		if (strcmp(s, sorts[i]) == 0) {
			q->sort = (ra_cert_sort)i;
			found = 1;
		}
	if (!found) {
		ra_reply_error_field(r, 400, "bad_query",
		    "sort: one of created, cn, not_before, not_after, serial", "sort");
		return 0;
	}
	if (o != NULL && strcmp(o, "asc") != 0 && strcmp(o, "desc") != 0) {
		ra_reply_error_field(r, 400, "bad_query", "order: asc or desc", "order");
		return 0;
	}
	q->descending = o != NULL && strcmp(o, "desc") == 0;
	if (!ra_query_uint(r, "issued_from", 0, INT64_MAX, &from) ||
	    !ra_query_uint(r, "issued_to", 0, INT64_MAX, &to) ||
	    !ra_query_uint(r, "limit", 1, RA_PAGE_MAX, &limit))
		return 0;
	q->issued_from = (int64_t)from;
	q->issued_to = (int64_t)to;
	q->limit = (size_t)limit;
	q->cn_contains = ra_req_query(r, "cn");
	q->cursor = ra_req_query(r, "cursor");
	return 1;
}

/* GET /api/v1/certificates?filter=&cn=&issued_from=&issued_to=&sort=&order=&cursor= */
static void h_list(ra_req *r)
{
	ra_cert_query q;
	ra_cert *rows;
	size_t n = 0;
	uint64_t count = 0;
	char next[RA_CURSOR_MAX] = "";
	int capped;
	ik_status st;

	if (!parse_filter(r, &q))
		return;
	if ((rows = calloc(RA_PAGE_MAX, sizeof(*rows))) == NULL) {
		ra_reply_error(r, 500, "internal", "out of memory");
		return;
	}
	st = ra_store_cert_page(r->app->store, &q, rows, &n, next, &count);
	if (st == IK_ERR_ARG) {
		ra_reply_error_field(r, 400, "bad_query", "cursor: not a cursor of this listing",
		    "cursor");
		goto out;
	}
	if (st != IK_OK) {
		ra_api_store_error(r, st, "certificate");
		goto out;
	}
	/* a search counts up to RA_CERT_COUNT_CAP: beyond, total is the cap and total_capped */
	capped = ra_cert_count_capped(&q, count);
	ra_cert_list_reply(r, rows, n, capped ? RA_CERT_COUNT_CAP : count, capped, next);
out:
	free(rows);
}

/* GET /api/v1/certificates.csv?filter=&cn=&issued_from=&issued_to=&sort=&order=: every
 * matching certificate (not a page), streamed */
static void h_list_csv(ra_req *r)
{
	ra_cert_query q;

	if (!parse_filter(r, &q))
		return;
	ra_cert_csv_reply(r, &q, "certificates.csv");
}

/* GET /api/v1/certificates/{id}: the certificate and its history */
static void h_show(ra_req *r)
{
	ra_cert c;
	ra_history_entry *hist = NULL;
	ra_history_query hq;
	size_t n = 0;
	int64_t id;
	json_t *out, *arr;
	ik_status st;

	if (!ra_api_path_id(r, &id))
		return;
	if ((st = ra_store_cert_get(r->app->store, id, &c)) != IK_OK) {
		ra_api_store_error(r, st, "certificate");
		return;
	}
	out = ra_cert_json(&c);
	arr = json_array();
	if (c.serial[0] != '\0') {
		memset(&hq, 0, sizeof(hq));
		hq.text = c.serial;
		if (ra_store_history_list(r->app->store, &hq, &hist, RA_PAGE_MAX, &n) == IK_OK) {
			for (size_t i = 0; i < n; i++)
				json_array_append_new(arr, json_pack("{s:I, s:o, s:s, s:s, s:s, s:s}",
				    "id", (json_int_t)hist[i].id, "at", ra_json_time(hist[i].at),
				    "actor", hist[i].actor, "ip", hist[i].ip, "op", hist[i].op,
				    "detail", hist[i].detail));
			ra_history_entries_free(hist, n);
		}
	}
	json_object_set_new(out, "history", arr);
	ra_reply_json(r, 200, out);
}

/* GET /api/v1/certificates/{id}/pem */
static void h_pem(ra_req *r)
{
	ik_buf der;
	int64_t id;
	const uint8_t *p;
	X509 *x = NULL;
	BIO *b = NULL;
	char *data, name[80];
	long len;
	ra_cert c;
	ik_status st;

	if (!ra_api_path_id(r, &id))
		return;
	ik_buf_init(&der, 64 * 1024);
	if ((st = ra_store_cert_get(r->app->store, id, &c)) != IK_OK ||
	    (st = ra_store_cert_der(r->app->store, id, &der)) != IK_OK) {
		if (st == IK_ERR_STATE)
			ra_reply_error(r, 409, "not_issued", "the certificate is not issued yet");
		else
			ra_api_store_error(r, st, "certificate");
		goto out;
	}
	p = ik_buf_ptr(&der);
	x = d2i_X509(NULL, &p, (long)ik_buf_remaining(&der));
	b = BIO_new(BIO_s_mem());
	if (x == NULL || b == NULL || PEM_write_bio_X509(b, x) != 1 ||
	    (len = BIO_get_mem_data(b, &data)) <= 0) {
		ra_reply_error(r, 500, "internal", "cannot encode the certificate");
		goto out;
	}
	snprintf(name, sizeof(name), "%s.pem", c.serial);
	ra_reply_bytes(r, 200, "application/x-pem-file", data, (size_t)len, name);
out:
	BIO_free(b);
	X509_free(x);
	ik_buf_cleanup(&der);
}

ra_change_outcome ra_cert_change(ra_req *r, int64_t id, ra_request_kind kind,
    const char *reason_s, ra_cert *c, ra_request *req)
{
	ra_request_new n;
	ra_hist h;
	int reason = 0;
	char detail[96];
	ik_status st;

	if (kind == RA_REQ_REVOKE && !ra_revoke_reason_parse(reason_s, &reason))
		return RA_CHANGE_BAD_REASON;
	if ((st = ra_store_cert_get(r->app->store, id, c)) != IK_OK)
		return st == IK_ERR_NOT_FOUND ? RA_CHANGE_NOT_FOUND : RA_CHANGE_ERROR;
	memset(&n, 0, sizeof(n));
	n.kind = kind;
	n.cert_id = id;
	n.reason = reason;
	n.created_by = r->who.login;
	snprintf(detail, sizeof(detail), "{\"reason\":\"%s\"}", kind == RA_REQ_REVOKE ?
	    reason_s : "");
	h = ra_api_hist(r, kind == RA_REQ_REVOKE ? "revoke_requested" : kind == RA_REQ_SUSPEND ?
	    "suspend_requested" : "resume_requested", c->serial, kind == RA_REQ_REVOKE ? detail : "");
	st = ra_store_request_add(r->app->store, &n, &h, req);
	if (st == IK_ERR_STATE)
		return RA_CHANGE_STATE;
	return st == IK_OK ? RA_CHANGE_OK : RA_CHANGE_ERROR;
}

/* POST /api/v1/certificates/{id}/{revoke,suspend,resume} */
static void change(ra_req *r, ra_request_kind kind)
{
	json_t *j = NULL;
	const char *reason_s = "unspecified";
	ra_cert c;
	ra_request req;
	int64_t id;
	char msg[160];

	if (!ra_api_path_id(r, &id))
		return;
	if (kind == RA_REQ_REVOKE) {
		if ((j = ra_req_json(r)) == NULL)
			return;
		if (!ra_json_opt_str(r, j, "reason", 32, &reason_s))
			goto out;
	}
	switch (ra_cert_change(r, id, kind, reason_s, &c, &req)) {
	case RA_CHANGE_OK:
		ra_queue_kick(r->app->queue);
		ra_reply_json(r, 202, json_pack("{s:I, s:s, s:I}", "request_id", (json_int_t)req.id,
		    "state", ra_request_state_name(req.state), "certificate_id", (json_int_t)id));
		break;
	case RA_CHANGE_BAD_REASON:
		ra_reply_error_field(r, 400, "bad_field", "reason: one of unspecified, "
		    "keyCompromise, affiliationChanged, superseded, cessationOfOperation, "
		    "privilegeWithdrawn", "reason");
		break;
	case RA_CHANGE_NOT_FOUND:
		ra_api_store_error(r, IK_ERR_NOT_FOUND, "certificate");
		break;
	case RA_CHANGE_STATE:
		snprintf(msg, sizeof(msg), "a %s certificate cannot be %s", ra_cert_state_name(c.state),
		    kind == RA_REQ_REVOKE ? "revoked" : kind == RA_REQ_SUSPEND ? "suspended" :
		    "resumed");
		ra_reply_error(r, 409, "state", msg);
		break;
	default:
		ra_api_store_error(r, IK_ERR_IO, "certificate");
		break;
	}
out:
	json_decref(j);
}

ik_status ra_renew_queue(ra_req *r, const ra_renew_args *a, ra_request *req, json_t *out)
{
	ra_request_new n;
	ra_hist h;
	ik_status st;

	memset(&n, 0, sizeof(n));
	n.kind = RA_REQ_RENEW;
	n.old_cert_id = a->old->id;
	n.validity_days = a->days ? a->days : a->old->validity_days;
	n.revoke_old = a->revoke_old;
	n.quota = a->quota;
	n.created_by = r->who.login;
	if (a->spki != NULL) {
		n.spki = ik_buf_ptr(a->spki);
		n.spki_len = ik_buf_remaining(a->spki);
	} else {
		n.generate_here = 1;
	}
	h = ra_api_hist(r, "renew_requested", a->old->serial, a->spki != NULL ?
	    "{\"key\":\"csr\"}" : "{\"key\":\"at download\"}");
	if ((st = ra_store_begin(r->app->store)) != IK_OK)
		return st;
	st = ra_store_request_add(r->app->store, &n, &h, req);
	if (st == IK_OK && a->spki == NULL && !a->no_credential)
		st = ra_download_credential_new(r, req->cert_id, a->credential, a->credential_days,
		    out);
	if (st == IK_OK)
		st = ra_store_commit(r->app->store);
	if (st != IK_OK)
		(void)ra_store_rollback(r->app->store);
	return st;
}

/* POST /api/v1/certificates/{id}/renew {"validity_days"?, "revoke_old"?, "csr"?,
 * "credential"?}: a new certificate for the same device and CN.  With a CSR it is issued at
 * once through the queue; without, the user downloads it with a one-time credential (the
 * key is made then).  The old one stays valid (no longer the device's current one) — or is
 * revoked as superseded as soon as the new one is issued when revoke_old is true. */
static void h_renew(ra_req *r)
{
	json_t *j = ra_req_json(r), *out = NULL;
	const char *csr = NULL, *cred = "password";
	uint64_t days = 0, expire_days = 14;
	ra_renew_args a;
	ra_cert old;
	ra_request req;
	ik_buf spki;
	int64_t id;
	char cn[160], why[256];
	ik_status st;

	memset(&a, 0, sizeof(a));
	ik_buf_init(&spki, RA_SPKI_MAX);
	if (j == NULL)
		goto out;
	if (!ra_api_path_id(r, &id) || !csr_member(r, j, &csr) ||
	    !ra_json_opt_str(r, j, "credential", 16, &cred) ||
	    !ra_json_opt_uint(r, j, "validity_days", 1, MAX_VALIDITY_DAYS, &days) ||
	    !ra_json_opt_uint(r, j, "credential_days", 1, 90, &expire_days))
		goto out;
	if (json_object_get(j, "revoke_old") != NULL) {
		if (!json_is_boolean(json_object_get(j, "revoke_old"))) {
			ra_reply_error_field(r, 400, "bad_field", "revoke_old: true or false",
			    "revoke_old");
			goto out;
		}
		a.revoke_old = json_is_true(json_object_get(j, "revoke_old"));
	}
	if (strcmp(cred, "password") != 0 && strcmp(cred, "pin") != 0) {
		ra_reply_error_field(r, 400, "bad_field", "credential: \"password\" or \"pin\"",
		    "credential");
		goto out;
	}
	if ((st = ra_store_cert_get(r->app->store, id, &old)) != IK_OK) {
		ra_api_store_error(r, st, "certificate");
		goto out;
	}
	if (csr != NULL && ra_p12_spki_from_csr((const uint8_t *)csr, strlen(csr), &spki, cn,
	    sizeof(cn), why, sizeof(why)) != IK_OK) {
		ra_reply_error_field(r, 400, "bad_csr", why, "csr");
		goto out;
	}
	if (quota_get(r, &a.quota) != IK_OK) {
		ra_reply_error(r, 500, "internal", "cannot read the quota");
		goto out;
	}
	a.old = &old;
	a.days = (unsigned)days;
	a.spki = csr != NULL ? &spki : NULL;
	a.credential = strcmp(cred, "pin") == 0 ? RA_DOWNLOAD_PIN : RA_DOWNLOAD_PASSWORD;
	a.credential_days = (unsigned)expire_days;
	out = json_object();
	st = ra_renew_queue(r, &a, &req, out);
	if (st == IK_ERR_STATE) {
		reply_refused(r, a.quota, "state",
		    "only an active or suspended certificate can be renewed");
		goto out;
	}
	if (st != IK_OK) {
		ra_api_store_error(r, st, "certificate");
		goto out;
	}
	json_object_set_new(out, "request_id", json_integer(req.id));
	json_object_set_new(out, "certificate_id", json_integer(req.cert_id));
	json_object_set_new(out, "state", json_string("issuing"));
	if (csr != NULL)
		ra_queue_kick(r->app->queue);
	ra_reply_json(r, csr != NULL ? 202 : 201, out);
	out = NULL;
out:
	json_decref(out);
	ik_buf_cleanup(&spki);
	json_decref(j);
}

static void h_revoke(ra_req *r) { change(r, RA_REQ_REVOKE); }
static void h_suspend(ra_req *r) { change(r, RA_REQ_SUSPEND); }
static void h_resume(ra_req *r) { change(r, RA_REQ_RESUME); }

/* GET /api/v1/requests/{id} */
static void h_request(ra_req *r)
{
	ra_request q;
	int64_t id;
	ik_status st;
	json_t *out;

	if (!ra_api_path_id(r, &id))
		return;
	if ((st = ra_store_request_get(r->app->store, id, &q)) != IK_OK) {
		ra_api_store_error(r, st, "request");
		return;
	}
	out = json_pack("{s:I, s:s, s:s, s:s, s:I, s:s, s:o, s:o}", "id", (json_int_t)q.id,
	    "request", q.request_id, "kind", ra_request_kind_name(q.kind), "state",
	    ra_request_state_name(q.state), "attempts", (json_int_t)q.attempts, "last_error",
	    q.last_error, "created", ra_json_time(q.created), "updated", ra_json_time(q.updated));
	json_object_set_new(out, "certificate_id", q.cert_id ? json_integer(q.cert_id) : json_null());
	json_object_set_new(out, "serial", q.serial[0] ? json_string(q.serial) : json_null());
	ra_reply_json(r, 200, out);
}

ik_status ra_counters_get(ra_req *r, ra_counters *out)
{
	ik_status st;

	memset(out, 0, sizeof(*out));
	if ((st = ra_store_cert_counts(r->app->store, &out->certs)) != IK_OK ||
	    (st = ra_store_request_counts(r->app->store, out->requests)) != IK_OK ||
	    (st = quota_get(r, &out->quota)) != IK_OK)
		return st;
	out->issued = out->certs.quota_used;
	out->issuable = out->quota > out->issued ? out->quota - out->issued : 0;
	return IK_OK;
}

/* GET /api/v1/counters: contracted / issued / still issuable, and the queue */
static void h_counters(ra_req *r)
{
	ra_counters k;
	ra_cert_counts c;
	uint64_t quota = 0, *reqs = k.requests;
	json_t *states;
	ik_status st;

	if ((st = ra_counters_get(r, &k)) != IK_OK) {
		ra_api_store_error(r, st, "counter");
		return;
	}
	c = k.certs;
	quota = k.quota;
	states = json_object();
	for (int s = RA_CERT_ISSUING; s <= RA_CERT_FAILED; s++)
		json_object_set_new(states, ra_cert_state_name((ra_cert_state)s),
		    json_integer((json_int_t)c.by_state[s]));
	ra_reply_json(r, 200, json_pack("{s:o, s:I, s:o, s:o, s:{s:I, s:I, s:I}}",
	    "contracted", quota ? json_integer((json_int_t)quota) : json_null(),
	    "issued", (json_int_t)c.quota_used,
	    "issuable", quota ? json_integer(quota > c.quota_used ?
	    (json_int_t)(quota - c.quota_used) : 0) : json_null(),
	    "by_state", states,
	    "requests", "pending", (json_int_t)reqs[RA_REQ_PENDING], "sent",
	    (json_int_t)reqs[RA_REQ_SENT], "failed", (json_int_t)reqs[RA_REQ_FAILED]));
}

const ra_route ra_api_certs_routes[] = {
	{ "POST", "/api/v1/devices/{id}/certificates", h_issue, RA_ROLE_OFFICER, RA_RF_CSRF },
	{ "GET", "/api/v1/certificates", h_list, RA_ROLE_AUDITOR, 0 },
	{ "GET", "/api/v1/certificates.csv", h_list_csv, RA_ROLE_AUDITOR, 0 },
	{ "GET", "/api/v1/certificates/{id}", h_show, RA_ROLE_AUDITOR, 0 },
	{ "GET", "/api/v1/certificates/{id}/pem", h_pem, RA_ROLE_AUDITOR, 0 },
	{ "POST", "/api/v1/certificates/{id}/revoke", h_revoke, RA_ROLE_OFFICER, RA_RF_CSRF },
	{ "POST", "/api/v1/certificates/{id}/suspend", h_suspend, RA_ROLE_OFFICER, RA_RF_CSRF },
	{ "POST", "/api/v1/certificates/{id}/renew", h_renew, RA_ROLE_OFFICER, RA_RF_CSRF },
	{ "POST", "/api/v1/certificates/{id}/resume", h_resume, RA_ROLE_OFFICER, RA_RF_CSRF },
	{ "GET", "/api/v1/requests/{id}", h_request, RA_ROLE_AUDITOR, 0 },
	{ "GET", "/api/v1/counters", h_counters, RA_ROLE_AUDITOR, 0 },
};
const size_t ra_api_certs_nroutes = sizeof(ra_api_certs_routes) / sizeof(ra_api_certs_routes[0]);
