/* api: the route tables of the JSON API files (one per resource), which main.c hands to
 * ra_http_add_routes, and the small helpers they share (api_common.c). */
#ifndef RA_API_H
#define RA_API_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "auth.h"
#include "bulk.h"
#include "http.h"
#include "store.h"

/* api_auth.c: /healthz, /api/v1/login, logout, whoami, password, tokens */
extern const ra_route ra_api_auth_routes[];
extern const size_t ra_api_auth_nroutes;
/* api_certlogin.c: POST /api/v1/login/certificate; officers' login certificates */
extern const ra_route ra_api_certlogin_routes[];
extern const size_t ra_api_certlogin_nroutes;
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
/* download_renew.c: /download/renewal-window, /download/renew(/request), /download/switch */
extern const ra_route ra_download_renew_routes[];
extern const size_t ra_download_renew_nroutes;
/* api_lifecycle.c: /api/v1/renewal-window, /api/v1/certificates/{id}/switch, /api/v1/mails */
extern const ra_route ra_api_lifecycle_routes[];
extern const size_t ra_api_lifecycle_nroutes;
/* api_history.c: /api/v1/history, /api/v1/history/verify, /api/v1/settings, /metrics */
extern const ra_route ra_api_history_routes[];
extern const size_t ra_api_history_nroutes;
/* api_profiles.c: /api/v1/profiles (the signer's profiles, read-only) */
extern const ra_route ra_api_profiles_routes[];
extern const size_t ra_api_profiles_nroutes;

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
/* ---- shared with the web pages ---- */

/* api_auth.c: an officer's password login — failures counted, the account locked at the
 * threshold, every outcome in the history.  OK: a new session (its cookie queued on r, the
 * browser's old one dropped), r->who filled, its CSRF token in csrf.  LOCKED: until when. */
typedef enum ra_login_outcome {
	RA_LOGIN_OK = 0,
	RA_LOGIN_BAD,
	RA_LOGIN_LOCKED,
	RA_LOGIN_ERROR,
	RA_LOGIN_NO_CERT,   /* certificate login: the browser sent no certificate */
	RA_LOGIN_OFF,       /* certificate login: [ra] cert_login is off */
} ra_login_outcome;
ra_login_outcome ra_auth_login(ra_req *r, const char *login, const char *password,
    char *csrf, size_t csrfsz, int64_t *locked_until);
/* The same with the certificate of the TLS connection (api_certlogin.c, certlogin.h): a
 * lock or the IP allow-list apply as for passwords; a bound certificate that is no longer
 * valid counts as a failed login of its officer. */
ra_login_outcome ra_auth_login_cert(ra_req *r, char *csrf, size_t csrfsz,
    int64_t *locked_until);
/* The pieces both logins share (api_auth.c): a new session for o with the history entry
 * login_ok (detail how), and a counted failure. */
ra_login_outcome ra_auth_login_ok(ra_req *r, const ra_officer *o, const char *how,
    char *csrf, size_t csrfsz);
ra_login_outcome ra_auth_login_failed(ra_req *r, const ra_officer *o, const char *what,
    int64_t *locked_until);
void ra_auth_reply_locked(ra_req *r, int64_t until);   /* 423 locked, until when */
json_t *ra_auth_officer_json(const ra_principal *who);
/* r's officer changes their own password: the old one checked (a wrong one counts as a
 * failed login and may lock the account: *locked_until), the new one against the policy
 * (*rule, RA_OPW_SAME when unchanged); on success the other sessions end and the
 * history records it.  Shared by POST /api/v1/password and the account page. */
typedef enum ra_pw_change {
	RA_PW_CHANGE_OK = 0,
	RA_PW_CHANGE_BAD_OLD,
	RA_PW_CHANGE_LOCKED,
	RA_PW_CHANGE_WEAK,
	RA_PW_CHANGE_ERROR,
} ra_pw_change;
ra_pw_change ra_auth_password_change(ra_req *r, const char *oldpw, const char *newpw,
    ra_opw_rule *rule, int64_t *locked_until);
/* Ends r's session (history entry, cookie cleared). */
ik_status ra_auth_logout(ra_req *r);

/* api_certs.c: issue one certificate for a device, decided now with its key made when the
 * user downloads, and its one-time download credential (cred: wipe after use). */
typedef struct ra_issue_in {
	int64_t device_id;
	const char *cn;             /* NULL or "": the user's external id */
	unsigned validity_days;
	ra_download_kind kind;      /* password or access PIN */
	unsigned credential_days;   /* how long the credential is good */
} ra_issue_in;
typedef enum ra_issue_outcome {
	RA_ISSUE_OK = 0,
	RA_ISSUE_NO_DEVICE,
	RA_ISSUE_BAD_CN,
	RA_ISSUE_QUOTA,             /* *quota is the contracted number */
	RA_ISSUE_LIVE,              /* the device already holds a live certificate */
	RA_ISSUE_BUSY,
	RA_ISSUE_ERROR,
} ra_issue_outcome;
typedef struct ra_credential ra_credential;   /* download.h */
ra_issue_outcome ra_cert_issue_for_download(ra_req *r, const ra_issue_in *in,
    ra_cert *cert, ra_credential *cred, uint64_t *quota);

/* api_certs.c: revoke (reason by name), suspend or resume through the queue (the caller
 * kicks the queue).  c gets the certificate (for STATE: its current state). */
typedef enum ra_change_outcome {
	RA_CHANGE_OK = 0,
	RA_CHANGE_BAD_REASON,
	RA_CHANGE_NOT_FOUND,
	RA_CHANGE_STATE,
	RA_CHANGE_ERROR,
} ra_change_outcome;
ra_change_outcome ra_cert_change(ra_req *r, int64_t id, ra_request_kind kind,
    const char *reason, ra_cert *c, ra_request *req);
/* "unspecified", "keyCompromise", ... to the RFC 5280 code; 0 when not one we accept. */
int ra_revoke_reason_parse(const char *s, int *out);

/* api_certs.c: the counters of /api/v1/counters. */
typedef struct ra_counters {
	uint64_t quota;             /* contracted; 0 = no limit */
	uint64_t issued;            /* every certificate not failed */
	uint64_t issuable;          /* quota - issued (0 without a quota) */
	ra_cert_counts certs;
	uint64_t requests[RA_REQ_FAILED + 1];
} ra_counters;
ik_status ra_counters_get(ra_req *r, ra_counters *out);

/* api_bulk.c: a bulk file checked and applied (see api_bulk.c for the modes); IK_OK
 * whenever there is an outcome to show, even a refused file (failed). */
typedef struct ra_bulk_outcome {
	json_t *errors;    /* [{"row", "column", "reason"(, "header")}] */
	json_t *results;   /* issue: [{"row", "common_name", "certificate_id"(, "download")}];
	                    * revoke: [{"row", "serial", "certificate_id", "request_id"}] */
	size_t rows, applied, errors_dropped;
	int failed;        /* refused: nothing stored */
	int stored;        /* not failed and not a dry run */
} ra_bulk_outcome;
ik_status ra_bulk_run(ra_req *r, ra_bulk_kind kind, ra_bulk_format format, int abort_mode,
    int dry_run, const void *data, size_t len, ra_bulk_outcome *out);
void ra_bulk_outcome_clear(ra_bulk_outcome *o);

/* ---- CSV ---- */
/* One RFC 4180 field (api_common.c): quoted, quotes doubled, a leading = + - @ defused
 * with a ' so that a spreadsheet does not run it; then "," or, when last, CRLF. */
ik_status ra_csv_field(ik_buf *b, const char *s, int last);
/* The certificates matching q (its cursor and limit ignored), every row, as a streamed
 * CSV attachment (cert_csv.c): id, common_name, state, serial, not_before, not_after
 * (UTC ISO 8601), device_id, user_id, revocation_reason, created. */
void ra_cert_csv_reply(ra_req *r, const ra_cert_query *q, const char *filename);

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
