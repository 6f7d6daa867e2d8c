/* http: libmicrohttpd wiring for inkan-rad — one ra_req per request (method, path, query,
 * headers, bounded body, client IP, who is asking), a route table with the role and CSRF
 * each route needs, security headers and JSON error bodies on every reply. */
#ifndef RA_HTTP_H
#define RA_HTTP_H

#include <jansson.h>
#include <microhttpd.h>
#include <stdatomic.h>
#include <stdint.h>
#include "buf.h"
#include "config.h"
#include "status.h"

/* Roles, in increasing power.  USER is an end user (download pages); the officer roles
 * are AUDITOR (read-only), OFFICER (issue/revoke), ADMIN (settings, officers). */
typedef enum ra_role {
	RA_ROLE_NONE = 0,
	RA_ROLE_USER = 1,
	RA_ROLE_AUDITOR = 2,
	RA_ROLE_OFFICER = 3,
	RA_ROLE_ADMIN = 4,
} ra_role;

const char *ra_role_name(ra_role r);               /* "administrator", ... */
ik_status ra_role_parse(const char *s, ra_role *out); /* auditor|officer|administrator */

typedef struct ra_store ra_store;     /* store.h */
typedef struct ra_signer ra_signer;   /* signer_client.h */
typedef struct ra_publish ra_publish; /* publish.h */
typedef struct ra_queue ra_queue;     /* queue.h */
typedef struct ra_mailer ra_mailer;   /* mail.h */
typedef struct ra_sched ra_sched;     /* scheduler.h */
typedef struct ra_batcher ra_batcher; /* batch.h */
typedef struct ra_i18n ra_i18n;       /* i18n.h */
typedef struct ra_form ra_form;       /* form.h */
typedef struct ra_mobileconfig_signer ra_mobileconfig_signer; /* mobileconfig.h */

/* What every handler can reach; owned by main. */
typedef struct ra_app {
	const ra_config *cfg;
	ra_store *store;
	ra_signer *signer;    /* may be NULL while the signer is not configured */
	ra_publish *publish;  /* CA certificates and CRL for the public URLs */
	ra_queue *queue;      /* issuance and revocation requests to the signer */
	ra_mailer *mailer;    /* notices by mail; NULL when [mail] is not configured */
	ra_sched *sched;      /* expiry, reminders, purges */
	ra_batcher *batcher;  /* adds the running "issue N more" batch's certificates */
	const ra_i18n *i18n;  /* the web pages' message catalogs */
	const ra_mobileconfig_signer *mc_signer; /* signs .mobileconfig; NULL: unsigned */
	uint8_t page_key[32]; /* random per process: MACs short-lived tickets of the pages */
	/* PKCS#12/.mobileconfig downloads handed out, the handlers' time on them and the part
	 * of it spent deriving keys (credential check, key generation, PKCS#12 KDFs): /metrics */
	atomic_uint_fast64_t dl_count, dl_ns, dl_kdf_ns;
} ra_app;

/* Who is asking, filled by ra_auth_identify before the route's checks. */
typedef struct ra_principal {
	ra_role role;           /* RA_ROLE_NONE = anonymous */
	int64_t officer_id;
	char login[65];
	int via_bearer;         /* authenticated by an API token (no CSRF needed) */
	int has_session;        /* authenticated by the session cookie */
	uint8_t session_hash[32];
	char csrf[64];          /* the session's CSRF token (cookie sessions) */
} ra_principal;

#define RA_REQ_MAX_HEADERS 4
#define RA_ID_MAX 128

typedef struct ra_route ra_route;
typedef struct ra_http ra_http;

typedef struct ra_req {
	ra_app *app;
	ra_http *http;
	struct MHD_Connection *conn;
	const char *method;
	const char *path;
	char ip[48];            /* client address, IPv4-mapped IPv6 shown as IPv4 */
	ik_buf body;            /* request body, at most cfg->max_body bytes */
	int too_large;
	char id[RA_ID_MAX];     /* the {id} path segment, if the route has one */
	ra_principal who;
	const ra_route *route;
	int replied;
	enum MHD_Result result;
	size_t nextra;          /* headers queued by ra_req_add_header */
	char *extra[RA_REQ_MAX_HEADERS][2];
	unsigned cache_seconds; /* 0 = Cache-Control: no-store (the default) */
	const char *cache_control; /* if set, the whole Cache-Control value (must outlive the reply call) */
	int plain;              /* came in on the plain-HTTP listener (cfg->http_port) */
	ra_form *form;          /* RA_RF_FORM routes: the parsed form body */
	int deferred;           /* RA_RF_HEAVY: running on the heavy pool, connection suspended */
	struct MHD_Response *pending; /* ... and its reply, queued when the connection resumes */
	unsigned pending_status;
	int async;              /* the handler answers later, from another thread (ra_req_defer) */
	uint64_t started_ns;    /* CLOCK_MONOTONIC when the handler began (ra_mono_ns) */
	uint64_t kdf_ns;        /* of which in key derivation and generation (downloads) */
	/* called once the request is over: its reply sent, or the connection gone (what a
	 * reply reads from, e.g. a CRL file, stays as it is until then) */
	void (*on_done)(void *arg);
	void *on_done_arg;
} ra_req;

/* CLOCK_MONOTONIC in ns. */
uint64_t ra_mono_ns(void);

/* A handler must answer through exactly one ra_reply_* call; one that does not gets 500. */
typedef void (*ra_handler)(ra_req *req);

#define RA_RF_CSRF 1u    /* cookie-authenticated calls need X-CSRF-Token (or form field csrf) */
#define RA_RF_IPLIST 2u  /* the officer IP allow-list applies (implied for role >= auditor) */
#define RA_RF_HTML 4u    /* a web page: refusals are HTML pages, "log in first" a redirect */
#define RA_RF_FORM 8u    /* an HTML form (POST only): the body is parsed into req->form and
                          * its field csrf must match, logged in or not (see auth.h) */
#define RA_RF_PLAIN 16u  /* also served on the plain-HTTP listener (OCSP, CRL, CA certificates:
                          * the http:// URLs in certificates); anonymous routes only */
#define RA_RF_HEAVY 32u  /* costly (scrypt, key generation, PKCS#12, ZIP): runs on the heavy
                          * pool (http_heavy.h), not on an HTTP thread; 503 busy when its
                          * wait list is full */

struct ra_route {
	const char *method;    /* "GET", "POST", ... */
	const char *pattern;   /* exact path, or with one "{id}" segment, or ending in "*" (any
	                        * non-empty rest of the path, '/' included; read it from path) */
	ra_handler handler;
	ra_role min_role;
	unsigned flags;
};

ik_status ra_http_new(ra_app *app, ra_http **out);
/* Routes are borrowed (static tables).  A state-changing route that needs a role but not
 * CSRF is refused (IK_ERR_ARG): every non-GET officer route takes RA_RF_CSRF. */
ik_status ra_http_add_routes(ra_http *h, const ra_route *routes, size_t n);
/* The page that HTML routes (and browsers asking for text/html) get for a refusal; code is
 * the stable error code ("forbidden", "csrf", ...).  Without one they get JSON. */
typedef void (*ra_html_error_fn)(ra_req *r, unsigned status, const char *code);
void ra_http_set_html_error(ra_http *h, ra_html_error_fn fn);
/* Binds cfg->listen:port and starts the thread pool, and the plain-HTTP listener on
 * cfg->listen:http_port if that is set; on failure err says why. */
ik_status ra_http_start(ra_http *h, char *err, size_t errsz);
void ra_http_free(ra_http *h);   /* stops the daemon; accepts NULL */

/* Request accessors (NULL when absent). */
const char *ra_req_header(const ra_req *r, const char *name);
const char *ra_req_query(const ra_req *r, const char *name);
const char *ra_req_cookie(const ra_req *r, const char *name);
/* The DER of the certificate the client presented in the TLS handshake (asked for only when
 * [ra] cert_login is on), appended to der; IK_ERR_NOT_FOUND when there is none.  It is not
 * verified: see certlogin.h. */
ik_status ra_req_peer_cert(const ra_req *r, ik_buf *der);
/* A header for the reply (Set-Cookie, ...); copied.  IK_ERR_ARG when full or malformed. */
ik_status ra_req_add_header(ra_req *r, const char *name, const char *value);

/* The body as a JSON object (Content-Type application/json required).  On failure the
 * reply (400 bad_json or 415 content_type) is already sent and NULL returned. */
json_t *ra_req_json(ra_req *r);
/* o[key] as a string of 1..maxlen bytes without control characters; otherwise replies
 * 400 bad_field naming the field and returns NULL. */
const char *ra_json_str(ra_req *r, json_t *o, const char *key, size_t maxlen);

/* For a handler that answers later from another thread (the store's group committer):
 * suspends the connection and returns 1; the handler then returns without replying, and
 * later, on any thread, makes exactly one ra_reply_* call and then ra_req_resume(r) (which
 * sends it).  0 when it cannot (already on the heavy pool, or the server stopping): answer
 * now instead.  The server stops only after every such request was resumed. */
int ra_req_defer(ra_req *r);
void ra_req_resume(ra_req *r);

/* Replies.  ra_reply_json steals the reference to j. */
void ra_reply_json(ra_req *r, unsigned status, json_t *j);
void ra_reply_error(ra_req *r, unsigned status, const char *code, const char *message);
void ra_reply_error_field(ra_req *r, unsigned status, const char *code, const char *message,
    const char *field);
/* A reply made while it is sent (chunked): fill appends the next piece to out and returns
 * 1, or 0 at the end, or -1 on failure (the connection is then cut, so the client sees a
 * truncated reply, never a short one that looks whole).  done(ctx) runs once when the reply
 * is over or abandoned (also when it could not be queued); fill runs in the connection's
 * thread after the handler returned, so ctx owns copies of everything it needs. */
typedef int (*ra_stream_fill)(void *ctx, ik_buf *out);
void ra_reply_stream(ra_req *r, unsigned status, const char *content_type,
    const char *filename, ra_stream_fill fill, void (*done)(void *ctx), void *ctx);
/* 303 See Other to a local path (a form's result page). */
void ra_reply_redirect(ra_req *r, const char *location);
/* The first len bytes of a regular file, inline; fd is taken over (closed when the reply is
 * done or could not be made).  No copy in the RA's memory: sendfile on plain HTTP. */
void ra_reply_fd(ra_req *r, unsigned status, const char *content_type, int fd, size_t len);
/* filename (NULL = inline) is sent as an attachment with unsafe characters replaced. */
void ra_reply_bytes(ra_req *r, unsigned status, const char *content_type, const void *data,
    size_t len, const char *filename);

#endif
