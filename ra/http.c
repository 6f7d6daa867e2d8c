/* http: the libmicrohttpd daemon (thread pool, TLS via GnuTLS), the per-request context,
 * route matching with role / IP allow-list / CSRF checks, and requests deferred by their
 * handler; the replies themselves are in http_reply.c. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <gnutls/gnutls.h>
#include <openssl/crypto.h>

#include "auth.h"
#include "form.h"
#include "http.h"
#include "http_heavy.h"
#include "log.h"

#define RA_MAX_ROUTES 256
#define RA_PEM_MAX (256u * 1024)
#define RA_DISCARD_MAX (16ull * 1024 * 1024) /* body bytes read and dropped for a 413 */

struct ra_http {
	ra_app *app;
	struct MHD_Daemon *d;
	struct MHD_Daemon *plain;  /* http_port: public routes only (RA_RF_PLAIN) */
	ra_heavy *heavy;           /* the RA_RF_HEAVY routes' threads */
	ra_html_error_fn html_error;
	const ra_route *routes[RA_MAX_ROUTES];
	size_t nroutes;
	char *cert_pem;
	char *trust_pem;   /* cert_login: the CA certificates named in a certificate request */
	char *key_pem;
	size_t key_len;
	/* requests deferred by their handler (ra_req_defer): suspended, and resumed with their
	 * reply but not yet sent (completed) */
	pthread_mutex_t alock;
	pthread_cond_t aidle;
	size_t async_n, async_open;
	int astopping;
};

static const char *const role_names[] = {
	"none", "user", "auditor", "officer", "administrator",
};

const char *ra_role_name(ra_role r)
{
	return (unsigned)r <= RA_ROLE_ADMIN ? role_names[r] : "none";
}

ik_status ra_role_parse(const char *s, ra_role *out)
{
	for (unsigned i = RA_ROLE_AUDITOR; i <= RA_ROLE_ADMIN; i++) {
		if (strcmp(s, role_names[i]) == 0) {
			*out = (ra_role)i;
			return IK_OK;
		}
	}
	return IK_ERR_ARG;
}

/* ---- routing --------------------------------------------------------------------- */

/* Matches path against a pattern; a "{id}" segment captures one non-empty segment. */
static int route_match(const char *pattern, const char *path, char *id, size_t idsz)
{
	const char *brace = strstr(pattern, "{id}");
	size_t pre, seg, post, plen = strlen(pattern);

	if (plen > 0 && pattern[plen - 1] == '*') /* a prefix and a non-empty rest */
		return strncmp(pattern, path, plen - 1) == 0 && path[plen - 1] != '\0';
	if (brace == NULL)
		return strcmp(pattern, path) == 0;
	pre = (size_t)(brace - pattern);
	if (strncmp(pattern, path, pre) != 0)
		return 0;
	seg = strcspn(path + pre, "/");
	if (seg == 0 || seg >= idsz)
		return 0;
	post = strlen(brace + 4);
	if (strlen(path + pre + seg) != post || strcmp(path + pre + seg, brace + 4) != 0)
		return 0;
	memcpy(id, path + pre, seg);
	id[seg] = '\0';
	return 1;
}

ik_status ra_http_add_routes(ra_http *h, const ra_route *routes, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const ra_route *rt = &routes[i];
		const char *b = rt->pattern != NULL ? strstr(rt->pattern, "{id}") : NULL;
		const char *star = rt->pattern != NULL ? strchr(rt->pattern, '*') : NULL;
		if (rt->method == NULL || rt->pattern == NULL || rt->handler == NULL ||
		    rt->pattern[0] != '/' || (b != NULL && strstr(b + 4, "{id}") != NULL) ||
		    (star != NULL && (star[1] != '\0' || b != NULL)))
			return IK_ERR_ARG;
		if ((rt->flags & RA_RF_PLAIN) && rt->min_role != RA_ROLE_NONE) {
			ik_log(LOG_ERR, "route %s %s needs a role: not on plain HTTP", rt->method,
			    rt->pattern);
			return IK_ERR_ARG;
		}
		if ((rt->flags & RA_RF_FORM) && strcmp(rt->method, "POST") != 0)
			return IK_ERR_ARG;
		if (strcmp(rt->method, "GET") != 0 && strcmp(rt->method, "HEAD") != 0 &&
		    rt->min_role > RA_ROLE_NONE && !(rt->flags & (RA_RF_CSRF | RA_RF_FORM))) {
			ik_log(LOG_ERR, "route %s %s changes state without CSRF", rt->method,
			    rt->pattern);
			return IK_ERR_ARG;
		}
		if (h->nroutes == RA_MAX_ROUTES)
			return IK_ERR_ARG;
		h->routes[h->nroutes++] = rt;
	}
	return IK_OK;
}

/* 1 when a refusal should be a page: an HTML route, or a browser that asks for one. */
static int wants_html(const ra_http *h, const ra_req *r)
{
	const char *accept;

	if (h->html_error == NULL)
		return 0;
	if (r->route != NULL)
		return (r->route->flags & RA_RF_HTML) != 0;
	accept = ra_req_header(r, MHD_HTTP_HEADER_ACCEPT);
	return accept != NULL && strstr(accept, "text/html") != NULL &&
	    strncmp(r->path, "/api/", 5) != 0;
}

static void refuse(ra_http *h, ra_req *r, unsigned status, const char *code,
    const char *message)
{
	if (wants_html(h, r))
		h->html_error(r, status, code);
	else
		ra_reply_error(r, status, code, message);
}

/* The route for this request, or NULL after a 404/405 reply. */
static const ra_route *find_route(ra_http *h, ra_req *r)
{
	char allow[128] = "";
	size_t alen = 0;
	int path_found = 0;

	for (size_t i = 0; i < h->nroutes; i++) {
		const ra_route *rt = h->routes[i];
		if (!route_match(rt->pattern, r->path, r->id, sizeof(r->id)))
			continue;
		if (strcmp(rt->method, r->method) == 0)
			return rt;
		path_found = 1;
		if (alen + strlen(rt->method) + 3 < sizeof(allow)) {
			alen += (size_t)snprintf(allow + alen, sizeof(allow) - alen, "%s%s",
			    alen ? ", " : "", rt->method);
		}
	}
	if (path_found) {
		if (ra_req_add_header(r, "Allow", allow) != IK_OK)
			ik_log(LOG_WARNING, "cannot add the Allow header");
		refuse(h, r, 405, "method_not_allowed", "this method is not allowed here");
	} else {
		refuse(h, r, 404, "not_found", "no such resource");
	}
	return NULL;
}

/* An HTML form's body into r->form; 0 after a refusal. */
static int parse_form(ra_http *h, ra_req *r)
{
	const char *ct = ra_req_header(r, MHD_HTTP_HEADER_CONTENT_TYPE);
	ik_status st;

	if (ct != NULL && strncasecmp(ct, "application/x-www-form-urlencoded", 33) == 0 &&
	    (ct[33] == '\0' || ct[33] == ';'))
		st = ra_form_parse_urlencoded(ik_buf_ptr(&r->body), ik_buf_remaining(&r->body),
		    &r->form);
	else if (ct != NULL && strncasecmp(ct, "multipart/form-data", 19) == 0)
		st = ra_form_parse_multipart(r->conn, ik_buf_ptr(&r->body),
		    ik_buf_remaining(&r->body), &r->form);
	else {
		refuse(h, r, 415, "content_type", "the body must be an HTML form");
		return 0;
	}
	if (st == IK_ERR_NOMEM) {
		refuse(h, r, 500, "internal", "out of memory");
		return 0;
	}
	if (st != IK_OK) {
		refuse(h, r, 400, "bad_form", "the form body is malformed");
		return 0;
	}
	return 1;
}

uint64_t ra_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int ra_req_defer(ra_req *r)
{
	ra_http *h = r->http;
	int ok;

	if (r->deferred || h == NULL)
		return 0;
	pthread_mutex_lock(&h->alock);
	ok = !h->astopping;
	if (ok)
		h->async_n++;
	pthread_mutex_unlock(&h->alock);
	if (!ok)
		return 0;
	/* replies go to r->pending; handle() queues it when MHD resumes the connection */
	r->deferred = 1;
	r->async = 1;
	MHD_suspend_connection(r->conn);
	return 1;
}

void ra_req_resume(ra_req *r)
{
	ra_http *h = r->http;

	if (!r->replied) {
		ik_log(LOG_ERR, "deferred %s %s resumed without a reply", r->method, r->path);
		ra_reply_error(r, 500, "internal", "internal error");
	}
	pthread_mutex_lock(&h->alock);
	h->async_n--;
	h->async_open++;
	pthread_cond_broadcast(&h->aidle);
	pthread_mutex_unlock(&h->alock);
	MHD_resume_connection(r->conn); /* r may be gone from here on */
}

/* Stopping: waits for every deferred request to be resumed (its commit made), then up to
 * a few seconds for their replies to be sent, before MHD closes the connections. */
static void async_drain(ra_http *h)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	pthread_mutex_lock(&h->alock);
	h->astopping = 1;
	while (h->async_n > 0)
		pthread_cond_wait(&h->aidle, &h->alock);
	until.tv_sec += 5;
	while (h->async_open > 0 && pthread_cond_timedwait(&h->aidle, &h->alock, &until) == 0)
		;
	pthread_mutex_unlock(&h->alock);
}

static void run_handler(ra_req *r)
{
	r->started_ns = ra_mono_ns();
	r->route->handler(r);
	/* a deferred request may be answered (and freed) on another thread by now */
	if (!r->async && !r->replied) {
		ik_log(LOG_ERR, "handler for %s %s did not reply", r->method, r->route->pattern);
		ra_reply_error(r, 500, "internal", "internal error");
	}
}

static void dispatch(ra_http *h, ra_req *r)
{
	const ra_route *rt;

	if (r->too_large) {
		refuse(h, r, 413, "too_large", "the request body is too large");
		return;
	}
	rt = find_route(h, r);
	if (rt == NULL)
		return;
	if (r->plain && !(rt->flags & RA_RF_PLAIN)) {
		ra_reply_error(r, 404, "not_found", "not served over plain HTTP: use HTTPS");
		return;
	}
	r->route = rt;
	if (ra_auth_identify(r) != IK_OK) {
		refuse(h, r, 500, "internal", "cannot check the credentials");
		return;
	}
	if ((rt->min_role >= RA_ROLE_AUDITOR || (rt->flags & RA_RF_IPLIST)) &&
	    !ra_auth_ip_allowed(r)) {
		refuse(h, r, 403, "ip_not_allowed",
		    "this address is not allowed to use the officer interface");
		return;
	}
	if (rt->min_role > RA_ROLE_NONE && r->who.role == RA_ROLE_NONE) {
		refuse(h, r, 401, "unauthenticated", "log in first");
		return;
	}
	if (r->who.role < rt->min_role) {
		refuse(h, r, 403, "forbidden", "your role does not allow this");
		return;
	}
	if ((rt->flags & RA_RF_FORM) && !parse_form(h, r))
		return;
	if ((rt->flags & RA_RF_FORM) && !ra_auth_form_csrf_ok(r)) {
		refuse(h, r, 403, "csrf", "missing or wrong CSRF token");
		return;
	}
	if ((rt->flags & RA_RF_CSRF) && r->who.has_session && !r->who.via_bearer &&
	    !ra_auth_csrf_ok(r)) {
		refuse(h, r, 403, "csrf", "missing or wrong CSRF token");
		return;
	}
	if ((rt->flags & RA_RF_HEAVY) && h->heavy != NULL) {
		/* the reply comes from the pool; MHD calls handle() again on resume */
		r->deferred = 1;
		MHD_suspend_connection(r->conn);
		if (!ra_heavy_submit(h->heavy, r)) {
			refuse(h, r, 503, "busy", "too many requests of this kind are waiting; try "
			    "again in a moment");
			MHD_resume_connection(r->conn);
		}
		return;
	}
	run_handler(r);
}

/* On a heavy-pool thread: the handler, then the connection resumed to send its reply. */
static void heavy_run(ra_req *r)
{
	run_handler(r);
	MHD_resume_connection(r->conn);
}

/* A request still waiting when the pool stops. */
static void heavy_cancel(ra_req *r)
{
	ra_reply_error(r, 503, "busy", "the server is stopping");
	MHD_resume_connection(r->conn);
}

/* ---- MHD callbacks ----------------------------------------------------------------- */

static void client_ip(struct MHD_Connection *c, char *out, size_t outsz)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci != NULL ? ci->client_addr : NULL;

	snprintf(out, outsz, "unknown");
	if (sa == NULL)
		return;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)(const void *)sa;
		inet_ntop(AF_INET, &s4->sin_addr, out, (socklen_t)outsz);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)(const void *)sa;
		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
			inet_ntop(AF_INET, &s6->sin6_addr.s6_addr[12], out, (socklen_t)outsz);
		else
			inet_ntop(AF_INET6, &s6->sin6_addr, out, (socklen_t)outsz);
	}
}

static ra_req *req_new(ra_http *h, struct MHD_Connection *c, const char *url,
    const char *method)
{
	ra_req *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	r->app = h->app;
	r->http = h;
	r->conn = c;
	r->method = method;
	r->path = url;
	r->result = MHD_YES;
	ik_buf_init(&r->body, h->app->cfg->max_body);
	ik_buf_set_secret(&r->body); /* bodies carry passwords */
	client_ip(c, r->ip, sizeof(r->ip));
	return r;
}

static void req_free(ra_req *r)
{
	if (r == NULL)
		return;
	if (r->on_done != NULL)
		r->on_done(r->on_done_arg);
	if (r->async) { /* its reply sent (or the connection gone) */
		pthread_mutex_lock(&r->http->alock);
		r->http->async_open--;
		pthread_cond_broadcast(&r->http->aidle);
		pthread_mutex_unlock(&r->http->alock);
	}
	ik_buf_cleanup(&r->body);
	ra_form_free(r->form);
	if (r->pending != NULL)
		MHD_destroy_response(r->pending);
	for (size_t i = 0; i < r->nextra; i++) {
		free(r->extra[i][0]);
		free(r->extra[i][1]);
	}
	OPENSSL_cleanse(&r->who, sizeof(r->who));
	free(r);
}

static enum MHD_Result handle(ra_http *h, int plain, struct MHD_Connection *c, const char *url,
    const char *method, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	ra_req *r = *con_cls;
	size_t total;

	if (r == NULL) {
		const char *cl;
		r = req_new(h, c, url, method);
		if (r == NULL)
			return MHD_NO;
		r->plain = plain;
		*con_cls = r;
		cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
		    MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl != NULL) {
			char *end = NULL;
			unsigned long long v;
			errno = 0;
			v = strtoull(cl, &end, 10);
			if (errno != 0 || end == cl || v > h->app->cfg->max_body) {
				r->too_large = 1;
				/* Refused before the body is read when the client waits for
				 * 100-continue or the body is huge; otherwise the body is read
				 * and dropped so that the client sees the 413. */
				if (MHD_lookup_connection_value(c, MHD_HEADER_KIND,
				    MHD_HTTP_HEADER_EXPECT) != NULL || errno != 0 ||
				    v - h->app->cfg->max_body > RA_DISCARD_MAX) {
					dispatch(h, r);
					return r->result;
				}
			}
		}
		return MHD_YES;
	}
	if (r->deferred) {
		/* resumed by the heavy pool: its reply, if it made one (else still running) */
		enum MHD_Result res = MHD_YES;
		if (r->pending != NULL) {
			res = MHD_queue_response(c, r->pending_status, r->pending);
			MHD_destroy_response(r->pending);
			r->pending = NULL;
			r->deferred = 0;
		}
		return res;
	}
	if (*upload_data_size > 0) {
		if (!r->too_large && (ik_size_add(r->body.len, *upload_data_size, &total) != 0 ||
		    total > h->app->cfg->max_body ||
		    ik_buf_put(&r->body, upload_data, *upload_data_size) != IK_OK)) {
			r->too_large = 1;
			ik_buf_reset(&r->body);
		}
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (r->replied)
		return MHD_YES;
	dispatch(h, r);
	return r->result;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **con_cls)
{
	(void)version;
	return handle(cls, 0, c, url, method, upload_data, upload_data_size, con_cls);
}

/* The plain-HTTP listener's requests (cls is the same ra_http). */
static enum MHD_Result on_request_plain(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **con_cls)
{
	(void)version;
	return handle(cls, 1, c, url, method, upload_data, upload_data_size, con_cls);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)c;
	(void)toe;
	req_free(*con_cls);
	*con_cls = NULL;
}

__attribute__((format(printf, 2, 0)))
static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char line[512];

	(void)cls;
	vsnprintf(line, sizeof(line), fmt, ap);
	line[strcspn(line, "\n")] = '\0';
	ik_log(LOG_WARNING, "http: %s", line);
}

/* ---- daemon ---------------------------------------------------------------------- */

static ik_status read_pem(const char *path, char **out, size_t *outlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat sb;
	char *p = NULL;
	size_t got = 0;
	ik_status st = IK_ERR_IO;

	if (fd < 0)
		return IK_ERR_IO;
	if (fstat(fd, &sb) != 0 || sb.st_size <= 0 || (uintmax_t)sb.st_size > RA_PEM_MAX)
		goto out;
	p = malloc((size_t)sb.st_size + 1);
	if (p == NULL) {
		st = IK_ERR_NOMEM;
		goto out;
	}
	while (got < (size_t)sb.st_size) {
		ssize_t n = read(fd, p + got, (size_t)sb.st_size - got);
		if (n <= 0)
			goto out;
		got += (size_t)n;
	}
	p[got] = '\0';
	*out = p;
	*outlen = got;
	p = NULL;
	st = IK_OK;
out:
	if (p != NULL) {
		OPENSSL_cleanse(p, (size_t)sb.st_size + 1);
		free(p);
	}
	close(fd);
	return st;
}

void ra_http_set_html_error(ra_http *h, ra_html_error_fn fn)
{
	h->html_error = fn;
}

ik_status ra_http_new(ra_app *app, ra_http **out)
{
	ra_http *h = calloc(1, sizeof(*h));

	if (h == NULL)
		return IK_ERR_NOMEM;
	h->app = app;
	pthread_mutex_init(&h->alock, NULL);
	pthread_cond_init(&h->aidle, NULL);
	*out = h;
	return IK_OK;
}

static ik_status listen_addr(const ra_config *cfg, struct sockaddr_storage *ss, int *v6)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)(void *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)(void *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, cfg->listen, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(cfg->port);
		*v6 = 0;
		return IK_OK;
	}
	if (inet_pton(AF_INET6, cfg->listen, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(cfg->port);
		*v6 = 1;
		return IK_OK;
	}
	return IK_ERR_CONFIG;
}

/* The plain-HTTP listener for the public URLs certificates carry (OCSP, CRL): same
 * handlers, only RA_RF_PLAIN routes (dispatch checks), no TLS, a small thread pool. */
static ik_status start_plain(ra_http *h, char *err, size_t errsz)
{
	const ra_config *cfg = h->app->cfg;
	struct sockaddr_storage ss;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
	int v6 = 0;

	if (listen_addr(cfg, &ss, &v6) != IK_OK)
		return IK_ERR_CONFIG;
	if (v6) {
		flags |= MHD_USE_IPv6;
		((struct sockaddr_in6 *)(void *)&ss)->sin6_port = htons(cfg->http_port);
	} else {
		((struct sockaddr_in *)(void *)&ss)->sin_port = htons(cfg->http_port);
	}
	h->plain = MHD_start_daemon(flags, cfg->http_port, NULL, NULL, on_request_plain, h,
	    MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, h,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
	    MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)2,
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)10,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)1024,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int)64,
	    MHD_OPTION_END);
	if (h->plain == NULL) {
		snprintf(err, errsz, "cannot start the plain HTTP server on %s port %u (address in "
		    "use?)", cfg->listen, (unsigned)cfg->http_port);
		return IK_ERR_IO;
	}
	return IK_OK;
}

ik_status ra_http_start(ra_http *h, char *err, size_t errsz)
{
	const ra_config *cfg = h->app->cfg;
	struct sockaddr_storage ss;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG |
	    MHD_ALLOW_SUSPEND_RESUME | MHD_USE_TURBO;
	ik_status st;
	size_t cert_len = 0;
	int v6 = 0;

	if (listen_addr(cfg, &ss, &v6) != IK_OK) {
		snprintf(err, errsz, "bad listen address %s", cfg->listen);
		return IK_ERR_CONFIG;
	}
	if (v6)
		flags |= MHD_USE_IPv6;
	if ((st = ra_heavy_start(cfg->heavy_workers, cfg->heavy_queue, (int)cfg->heavy_nice,
	    heavy_run, &h->heavy)) != IK_OK) {
		snprintf(err, errsz, "cannot start the heavy-request threads: %s", ik_status_str(st));
		return st;
	}
	if (cfg->tls) {
		if (read_pem(cfg->tls_cert, &h->cert_pem, &cert_len) != IK_OK ||
		    read_pem(cfg->tls_key, &h->key_pem, &h->key_len) != IK_OK) {
			snprintf(err, errsz, "cannot read the TLS certificate or key (%s, %s)",
			    cfg->tls_cert, cfg->tls_key);
			return IK_ERR_CONFIG;
		}
		flags |= MHD_USE_TLS;
		/* a trust list makes libmicrohttpd ask for (not require) a client certificate;
		 * what it is worth is decided per login by certlogin.c, not by the handshake */
		if (cfg->cert_login && read_pem(cfg->cert_login_ca, &h->trust_pem, &cert_len) !=
		    IK_OK) {
			snprintf(err, errsz, "cannot read [ra] cert_login_ca %s", cfg->cert_login_ca);
			return IK_ERR_CONFIG;
		}
	}
	h->d = MHD_start_daemon(flags, cfg->port, NULL, NULL, on_request, h,
	    MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, h,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
	    MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)cfg->workers,
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)30,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)1024,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int)64,
	    cfg->tls ? MHD_OPTION_HTTPS_MEM_KEY : MHD_OPTION_END, h->key_pem,
	    MHD_OPTION_HTTPS_MEM_CERT, h->cert_pem,
	    MHD_OPTION_HTTPS_PRIORITIES, "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2",
	    h->trust_pem != NULL ? MHD_OPTION_HTTPS_MEM_TRUST : MHD_OPTION_END, h->trust_pem,
	    MHD_OPTION_END);
	if (h->d == NULL) {
		snprintf(err, errsz, "cannot start the HTTP%s server on %s port %u (address in "
		    "use, or a bad certificate/key)", cfg->tls ? "S" : "", cfg->listen,
		    (unsigned)cfg->port);
		return IK_ERR_IO;
	}
	return cfg->http_port != 0 ? start_plain(h, err, errsz) : IK_OK;
}

void ra_http_free(ra_http *h)
{
	if (h == NULL)
		return;
	/* every suspended connection resumed (with its reply or a 503) before MHD stops: the
	 * deferred ones once their commit is made (new ones are answered at once now) */
	async_drain(h);
	ra_heavy_stop(h->heavy, heavy_cancel);
	if (h->plain != NULL)
		MHD_stop_daemon(h->plain);
	if (h->d != NULL)
		MHD_stop_daemon(h->d);
	if (h->key_pem != NULL) {
		OPENSSL_cleanse(h->key_pem, h->key_len);
		free(h->key_pem);
	}
	free(h->cert_pem);
	free(h->trust_pem);
	pthread_cond_destroy(&h->aidle);
	pthread_mutex_destroy(&h->alock);
	free(h);
}
