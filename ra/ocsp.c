/* ocsp: POST /ocsp and GET /ocsp/{base64} (RFC 6960 appendix A, RFC 5019).  The RA checks
 * size and Content-Type, parses the request (ocsp_req.c), asks the signer (PROTO_OCSP) and
 * relays its signed answer with RFC 5019 caching headers.  Nothing is cached here: the
 * signer's cache is the one a revocation empties, so an answer is never older than the
 * ledger.  A client error is malformedRequest, a signer that cannot answer tryLater. */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/evp.h>

#include "log.h"
#include "ocsp.h"
#include "ocsp_req.h"
#include "signer_client.h"

#define OCSP_CTYPE_REQ "application/ocsp-request"
#define OCSP_CTYPE_RESP "application/ocsp-response"
#define OCSP_GET_PREFIX "/ocsp/"
#define OCSP_LOG_EVERY 60 /* seconds between two warnings about the signer */

/* An HTTP-date (RFC 9110 5.6.7). */
static void http_date(int64_t t, char *out, size_t outsz)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || strftime(out, outsz, "%a, %d %b %Y %H:%M:%S GMT", &tm) == 0)
		snprintf(out, outsz, "Thu, 01 Jan 1970 00:00:00 GMT");
}

/* An answer the RA makes itself (malformedRequest, tryLater): never cached. */
static void reply_status(ra_req *r, const uint8_t der[5])
{
	r->cache_control = "no-store";
	ra_reply_bytes(r, 200, OCSP_CTYPE_RESP, der, 5, NULL);
}

/* The signer's signed answer.  RFC 5019 6.2: a response to a GET without a nonce may be
 * cached, for at most [ra] ocsp_max_age seconds and never past nextUpdate. */
static void reply_signed(ra_req *r, const proto_ocsp_reply *rep, int cacheable)
{
	char cc[96], lm[40], ex[40], etag[2 * 16 + 3];
	uint8_t md[32];
	int64_t now = (int64_t)time(NULL), left = (int64_t)rep->next_update - now;
	int64_t age = r->app->cfg->ocsp_max_age;

	if (!cacheable || rep->status != PROTO_OCSP_SUCCESSFUL || left <= 0) {
		r->cache_control = "no-store";
	} else {
		if (age > left)
			age = left;
		snprintf(cc, sizeof(cc), "max-age=%lld, public, no-transform, must-revalidate",
		    (long long)age);
		r->cache_control = cc;
		http_date((int64_t)rep->this_update, lm, sizeof(lm));
		http_date((int64_t)rep->next_update, ex, sizeof(ex));
		if (ra_req_add_header(r, "Last-Modified", lm) != IK_OK ||
		    ra_req_add_header(r, "Expires", ex) != IK_OK)
			ik_log(LOG_WARNING, "ocsp: cannot add the caching headers");
		if (EVP_Digest(rep->response, rep->response_len, md, NULL, EVP_sha256(), NULL) == 1) {
			etag[0] = '"';
			for (int i = 0; i < 16; i++)
				snprintf(etag + 1 + 2 * i, 3, "%02x", md[i]);
			etag[33] = '"';
			etag[34] = '\0';
			if (ra_req_add_header(r, "ETag", etag) != IK_OK)
				ik_log(LOG_WARNING, "ocsp: cannot add the ETag header");
		}
	}
	ra_reply_bytes(r, 200, OCSP_CTYPE_RESP, rep->response, rep->response_len, NULL);
}

/* 1 at most once per OCSP_LOG_EVERY seconds per caller: anyone can send requests, so
 * what they cause is logged sparingly. */
static int log_due(atomic_llong *last)
{
	long long now = (long long)time(NULL), prev = atomic_load(last);

	return now - prev >= OCSP_LOG_EVERY && atomic_compare_exchange_strong(last, &prev, now);
}

static void log_signer_failure(ik_status st, const proto_error *err)
{
	static atomic_llong last;

	if (log_due(&last))
		ik_log(LOG_WARNING, "ocsp: the signer did not answer (%s%s%s): answering tryLater",
		    ik_status_code(st), err->detail[0] != '\0' ? ": " : "", err->detail);
}

static void log_malformed(const ra_req *r, const char *why)
{
	static atomic_llong last;

	if (log_due(&last))
		ik_log(LOG_INFO, "ocsp: malformed request from %s: %s (answered malformedRequest; "
		    "more are not logged for %d s)", r->ip, why, OCSP_LOG_EVERY);
}

/* Parse, ask the signer, reply. */
static void answer(ra_req *r, const uint8_t *der, size_t len, int from_get)
{
	proto_ocsp m;
	proto_ocsp_reply rep;
	proto_error err;
	ik_buf req, reply;
	char why[96];
	ik_status st;

	if (ra_ocsp_parse(der, len, &m, why, sizeof(why)) != IK_OK) {
		log_malformed(r, why);
		reply_status(r, ra_ocsp_malformed);
		return;
	}
	if (r->app->signer == NULL) {
		reply_status(r, ra_ocsp_try_later);
		return;
	}
	memset(&err, 0, sizeof(err));
	ik_buf_init(&req, PROTO_MAX_REQUEST);
	ik_buf_init(&reply, PROTO_MAX_REPLY);
	st = proto_encode_ocsp(&req, &m);
	if (st == IK_OK)
		st = ra_signer_call(r->app->signer, PROTO_OCSP, &req, &reply, &err);
	if (st == IK_OK)
		st = proto_decode_ocsp_reply(ik_buf_ptr(&reply), ik_buf_remaining(&reply), &rep);
	if (st != IK_OK) {
		log_signer_failure(st, &err);
		reply_status(r, ra_ocsp_try_later);
	} else {
		reply_signed(r, &rep, from_get && m.nonce_len == 0);
	}
	ik_buf_cleanup(&req);
	ik_buf_cleanup(&reply);
}

/* The media type without parameters, compared case-insensitively (RFC 9110 8.3.1). */
static int content_type_is(const char *v, const char *want)
{
	size_t n;

	if (v == NULL)
		return 0;
	n = strcspn(v, ";");
	while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	return n == strlen(want) && strncasecmp(v, want, n) == 0;
}

static void h_post(ra_req *r)
{
	size_t n = ik_buf_remaining(&r->body);

	if (!content_type_is(ra_req_header(r, "Content-Type"), OCSP_CTYPE_REQ)) {
		ra_reply_error(r, 415, "content_type", "Content-Type must be " OCSP_CTYPE_REQ);
		return;
	}
	if (n > RA_OCSP_MAX_REQUEST) {
		ra_reply_error(r, 413, "too_large", "an OCSP request is at most 8192 bytes");
		return;
	}
	answer(r, ik_buf_ptr(&r->body), n, 0);
}

static void h_get(ra_req *r)
{
	const char *b64 = r->path + strlen(OCSP_GET_PREFIX);
	size_t n = strlen(b64), len = 0;
	uint8_t der[RA_OCSP_MAX_REQUEST];

	/* base64 of at most 8192 bytes; the path was already percent-decoded by MHD */
	if (n > (RA_OCSP_MAX_REQUEST + 2) / 3 * 4) {
		ra_reply_error(r, 414, "too_large", "an OCSP request is at most 8192 bytes");
		return;
	}
	if (ra_ocsp_base64(b64, n, der, sizeof(der), &len) != IK_OK) {
		log_malformed(r, "GET path is not base64");
		reply_status(r, ra_ocsp_malformed);
		return;
	}
	answer(r, der, len, 1);
}

const ra_route ra_ocsp_routes[] = {
	{ "POST", "/ocsp", h_post, RA_ROLE_NONE, RA_RF_PLAIN },
	{ "GET", OCSP_GET_PREFIX "*", h_get, RA_ROLE_NONE, RA_RF_PLAIN },
};
const size_t ra_ocsp_nroutes = sizeof(ra_ocsp_routes) / sizeof(ra_ocsp_routes[0]);
