/* http_reply: the replies every handler sends (JSON, errors, bytes, files, streams,
 * redirects), each with the security headers, and the accessors of a request's headers,
 * query, cookies, client certificate and JSON body. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <gnutls/gnutls.h>

#include "http.h"
#include "log.h"

/* ---- replies ---------------------------------------------------------------------- */

static void add_security_headers(const ra_req *r, struct MHD_Response *resp)
{
	char cc[48];

	if (r->app->cfg->tls && !r->plain)
		MHD_add_response_header(resp, "Strict-Transport-Security",
		    "max-age=31536000; includeSubDomains");
	MHD_add_response_header(resp, "Content-Security-Policy",
	    "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	if (r->cache_control != NULL && r->who.role == RA_ROLE_NONE) {
		MHD_add_response_header(resp, "Cache-Control", r->cache_control);
	} else if (r->cache_seconds == 0 || r->who.role != RA_ROLE_NONE) {
		MHD_add_response_header(resp, "Cache-Control", "no-store");
	} else {
		snprintf(cc, sizeof(cc), "public, max-age=%u", r->cache_seconds);
		MHD_add_response_header(resp, "Cache-Control", cc);
	}
}

/* The request's extra headers on resp, then resp queued — or kept for a deferred request
 * (heavy pool, group commit): MHD takes it when the connection is resumed. */
static void hand_over(ra_req *r, unsigned status, struct MHD_Response *resp)
{
	for (size_t i = 0; i < r->nextra; i++)
		MHD_add_response_header(resp, r->extra[i][0], r->extra[i][1]);
	if (r->deferred) {
		r->pending = resp;
		r->pending_status = status;
		return;
	}
	r->result = MHD_queue_response(r->conn, status, resp);
	MHD_destroy_response(resp);
}

/* "attachment; filename=..." with every character outside [A-Za-z0-9._-] replaced by '_'. */
static void attachment_header(const char *filename, char *disp, size_t dispsz)
{
	size_t n = (size_t)snprintf(disp, dispsz, "attachment; filename=\"");

	for (const char *p = filename; *p != '\0' && n < dispsz - 2; p++) {
		char c = *p;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '.' || c == '-' || c == '_'))
			c = '_';
		disp[n++] = c;
	}
	disp[n++] = '"';
	disp[n] = '\0';
}

static void queue_resp(ra_req *r, unsigned status, struct MHD_Response *resp,
    const char *ctype, const char *disposition);

/* Queues one response; a second reply from the same handler is a bug and ignored. */
static void send_reply(ra_req *r, unsigned status, const char *ctype, const void *data,
    size_t len, const char *disposition)
{
	struct MHD_Response *resp;

	if (r->replied) {
		ik_log(LOG_ERR, "second reply to %s %s ignored", r->method, r->path);
		return;
	}
	r->replied = 1;
	resp = MHD_create_response_from_buffer(len, (void *)(uintptr_t)data,
	    MHD_RESPMEM_MUST_COPY);
	queue_resp(r, status, resp, ctype, disposition);
}

void ra_reply_fd(ra_req *r, unsigned status, const char *content_type, int fd, size_t len)
{
	struct MHD_Response *resp;

	if (r->replied) {
		ik_log(LOG_ERR, "second reply to %s %s ignored", r->method, r->path);
		close(fd);
		return;
	}
	r->replied = 1;
	/* MHD reads it with sendfile (plain HTTP) or pread (TLS) at its own offsets and closes
	 * it with the response; no response made, it is still ours */
	if ((resp = MHD_create_response_from_fd64(len, fd)) == NULL)
		close(fd);
	queue_resp(r, status, resp, content_type, NULL);
}

/* Headers on a made response, then queued (or kept for the heavy pool); NULL: failed. */
static void queue_resp(ra_req *r, unsigned status, struct MHD_Response *resp,
    const char *ctype, const char *disposition)
{
	if (resp == NULL) {
		r->result = MHD_NO;
		return;
	}
	add_security_headers(r, resp);
	if (ctype != NULL)
		MHD_add_response_header(resp, "Content-Type", ctype);
	if (disposition != NULL)
		MHD_add_response_header(resp, "Content-Disposition", disposition);
	hand_over(r, status, resp);
}

void ra_reply_json(ra_req *r, unsigned status, json_t *j)
{
	char *s = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;

	json_decref(j);
	if (s == NULL) {
		static const char oom[] =
		    "{\"error\":{\"code\":\"internal\",\"message\":\"out of memory\"}}";
		send_reply(r, 500, "application/json", oom, sizeof(oom) - 1, NULL);
		return;
	}
	send_reply(r, status, "application/json", s, strlen(s), NULL);
	free(s);
}

void ra_reply_error_field(ra_req *r, unsigned status, const char *code, const char *message,
    const char *field)
{
	json_t *e = json_pack("{s:s, s:s}", "code", code, "message", message);

	if (e != NULL && field != NULL)
		json_object_set_new(e, "field", json_string(field));
	ra_reply_json(r, status, e != NULL ? json_pack("{s:o}", "error", e) : NULL);
}

void ra_reply_error(ra_req *r, unsigned status, const char *code, const char *message)
{
	ra_reply_error_field(r, status, code, message, NULL);
}

void ra_reply_bytes(ra_req *r, unsigned status, const char *content_type, const void *data,
    size_t len, const char *filename)
{
	char disp[160];

	if (filename == NULL) {
		send_reply(r, status, content_type, data, len, NULL);
		return;
	}
	attachment_header(filename, disp, sizeof(disp));
	send_reply(r, status, content_type, data, len, disp);
}

typedef struct stream {
	ra_stream_fill fill;
	void (*done)(void *ctx);
	void *ctx;
	ik_buf buf;
	int end;
} stream;

static ssize_t stream_read(void *cls, uint64_t pos, char *out, size_t max)
{
	stream *s = cls;
	size_t n;
	int k;

	(void)pos;
	while (ik_buf_remaining(&s->buf) == 0) {
		if (s->end)
			return MHD_CONTENT_READER_END_OF_STREAM;
		ik_buf_reset(&s->buf);
		if ((k = s->fill(s->ctx, &s->buf)) < 0)
			return MHD_CONTENT_READER_END_WITH_ERROR;
		s->end = k == 0;
	}
	n = ik_buf_remaining(&s->buf) < max ? ik_buf_remaining(&s->buf) : max;
	memcpy(out, ik_buf_ptr(&s->buf), n);
	(void)ik_buf_skip(&s->buf, n);
	return (ssize_t)n;
}

static void stream_free(void *cls)
{
	stream *s = cls;

	s->done(s->ctx);
	ik_buf_cleanup(&s->buf);
	free(s);
}

void ra_reply_stream(ra_req *r, unsigned status, const char *content_type,
    const char *filename, ra_stream_fill fill, void (*done)(void *ctx), void *ctx)
{
	struct MHD_Response *resp;
	stream *s;
	char disp[160];

	if (r->replied) {
		ik_log(LOG_ERR, "second reply to %s %s ignored", r->method, r->path);
		done(ctx);
		return;
	}
	r->replied = 1;
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		done(ctx);
		r->result = MHD_NO;
		return;
	}
	s->fill = fill;
	s->done = done;
	s->ctx = ctx;
	ik_buf_init(&s->buf, 0);
	resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, stream_read, s,
	    stream_free);
	if (resp == NULL) {
		stream_free(s);
		r->result = MHD_NO;
		return;
	}
	add_security_headers(r, resp);
	MHD_add_response_header(resp, "Content-Type", content_type);
	if (filename != NULL) {
		attachment_header(filename, disp, sizeof(disp));
		MHD_add_response_header(resp, "Content-Disposition", disp);
	}
	hand_over(r, status, resp);
}

void ra_reply_redirect(ra_req *r, const char *location)
{
	static const char body[] = "see other\n";

	if (location[0] != '/' || ra_req_add_header(r, "Location", location) != IK_OK) {
		ra_reply_error(r, 500, "internal", "bad redirect");
		return;
	}
	send_reply(r, 303, "text/plain; charset=utf-8", body, sizeof(body) - 1, NULL);
}

/* ---- request accessors ----------------------------------------------------------- */

const char *ra_req_header(const ra_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *ra_req_query(const ra_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *ra_req_cookie(const ra_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, name);
}

ik_status ra_req_peer_cert(const ra_req *r, ik_buf *der)
{
	const union MHD_ConnectionInfo *ci;
	const gnutls_datum_t *certs;
	unsigned n = 0;

	if (r->plain || !r->app->cfg->tls)
		return IK_ERR_NOT_FOUND;
	ci = MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	if (ci == NULL || ci->tls_session == NULL ||
	    gnutls_certificate_type_get((gnutls_session_t)ci->tls_session) != GNUTLS_CRT_X509)
		return IK_ERR_NOT_FOUND;
	/* the client's chain as sent, its own certificate first; nothing is verified here */
	certs = gnutls_certificate_get_peers((gnutls_session_t)ci->tls_session, &n);
	if (certs == NULL || n == 0 || certs[0].size == 0)
		return IK_ERR_NOT_FOUND;
	return ik_buf_put(der, certs[0].data, certs[0].size);
}

static int header_safe(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

ik_status ra_req_add_header(ra_req *r, const char *name, const char *value)
{
	char *n, *v;

	if (r->nextra == RA_REQ_MAX_HEADERS || !header_safe(name) || !header_safe(value) ||
	    strchr(name, ':') != NULL)
		return IK_ERR_ARG;
	n = strdup(name);
	v = strdup(value);
	if (n == NULL || v == NULL) {
		free(n);
		free(v);
		return IK_ERR_NOMEM;
	}
	r->extra[r->nextra][0] = n;
	r->extra[r->nextra][1] = v;
	r->nextra++;
	return IK_OK;
}

json_t *ra_req_json(ra_req *r)
{
	const char *ct = ra_req_header(r, MHD_HTTP_HEADER_CONTENT_TYPE);
	json_error_t jerr;
	json_t *j;

	/* application/json cannot be sent cross-site without a CORS preflight */
	if (ct == NULL || strncasecmp(ct, "application/json", 16) != 0 ||
	    (ct[16] != '\0' && ct[16] != ';')) {
		ra_reply_error(r, 415, "content_type", "the body must be application/json");
		return NULL;
	}
	j = json_loadb((const char *)ik_buf_ptr(&r->body), ik_buf_remaining(&r->body),
	    JSON_REJECT_DUPLICATES, &jerr);
	if (j == NULL || !json_is_object(j)) {
		json_decref(j);
		ra_reply_error(r, 400, "bad_json", "the body is not a JSON object");
		return NULL;
	}
	return j;
}

const char *ra_json_str(ra_req *r, json_t *o, const char *key, size_t maxlen)
{
	json_t *v = json_object_get(o, key);
	const char *s;
	size_t n;
	char msg[128];

	if (v == NULL || !json_is_string(v))
		goto bad;
	s = json_string_value(v);
	n = json_string_length(v);
	if (n == 0 || n > maxlen || strlen(s) != n)
		goto bad;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			goto bad;
	return s;
bad:
	snprintf(msg, sizeof(msg), "%.40s: a string of 1..%zu characters is required", key, maxlen);
	ra_reply_error_field(r, 400, "bad_field", msg, key);
	return NULL;
}

