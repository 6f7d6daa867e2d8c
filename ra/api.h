/* api: the route tables of the JSON API files (one per resource), which main.c hands to
 * ra_http_add_routes, and the small helpers they share (api_common.c). */
#ifndef RA_API_H
#define RA_API_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "http.h"
#include "store.h"

/* api_auth.c: /healthz, /api/v1/login, logout, whoami, password, tokens */
extern const ra_route ra_api_auth_routes[];
extern const size_t ra_api_auth_nroutes;
/* api_users.c: /api/v1/users, /api/v1/devices */
extern const ra_route ra_api_users_routes[];
extern const size_t ra_api_users_nroutes;
/* api_certs.c: /api/v1/certificates, /api/v1/requests, /api/v1/counters */
extern const ra_route ra_api_certs_routes[];
extern const size_t ra_api_certs_nroutes;
/* api_bulk.c: /api/v1/bulk (TSV/CSV files) */
extern const ra_route ra_api_bulk_routes[];
extern const size_t ra_api_bulk_nroutes;
/* download.c: /download/p12 (end users, one-time credentials) */
extern const ra_route ra_download_routes[];
extern const size_t ra_download_nroutes;
/* api_history.c: /api/v1/history, /api/v1/history/verify, /api/v1/settings, /metrics */
extern const ra_route ra_api_history_routes[];
extern const size_t ra_api_history_nroutes;

/* ---- renewal (api_certs.c), shared with bulk files ---- */
typedef struct ra_renew_args {
	const ra_cert *old;       /* active or suspended */
	unsigned days;            /* 0: the old one's validity */
	int revoke_old;           /* revoke the old one (superseded) once the new one is issued */
	const ik_buf *spki;       /* from a CSR; NULL: the key is made at download */
	ra_download_kind credential;
	unsigned credential_days;
	int no_credential;        /* a dry run: the rules only, no credential made */
	uint64_t quota;
} ra_renew_args;
/* Queues the renewal (and, without a CSR, adds the one-time credential to out as
 * "download") in one transaction, nested in the caller's.  IK_ERR_STATE: over the quota or
 * the old certificate is not active/suspended. */
ik_status ra_renew_queue(ra_req *r, const ra_renew_args *a, ra_request *req, json_t *out);

/* ---- helpers (api_common.c) ---- */

/* The {id} path segment as a positive integer; otherwise replies 400 and returns 0. */
int ra_api_path_id(ra_req *r, int64_t *id);
/* A history entry for this request: actor = the officer's login, ip = the client's. */
ra_hist ra_api_hist(const ra_req *r, const char *op, const char *target, const char *detail);
/* Replies with the HTTP status and code that fit a store failure; what names the object. */
void ra_api_store_error(ra_req *r, ik_status st, const char *what);
/* Optional members: absent -> *out untouched and 1; present but wrong -> 400 and 0. */
int ra_json_opt_str(ra_req *r, json_t *o, const char *key, size_t maxlen, const char **out);
int ra_json_opt_uint(ra_req *r, json_t *o, const char *key, uint64_t min, uint64_t max,
    uint64_t *out);
/* The same for query parameters. */
int ra_query_uint(ra_req *r, const char *key, uint64_t min, uint64_t max, uint64_t *out);
/* ISO 8601 UTC ("2026-11-25T10:00:00Z"); 0 -> JSON null. */
json_t *ra_json_time(int64_t t);
json_t *ra_cert_json(const ra_cert *c);
json_t *ra_user_json(const ra_user *u);
json_t *ra_device_json(const ra_device *d);
/* Common names the RA accepts: 1..64 characters, printable, no leading/trailing space. */
int ra_cn_ok(const char *cn);

#endif
