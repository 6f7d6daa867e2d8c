/* store: the RA's persistent state behind a backend-neutral API — typed ra_store_*
 * functions over plain C structs.  This header is the only view of the database the rest of
 * ra/ has; store_sqlite*.c implement it (a PostgreSQL backend would be store_pg.c behind
 * the same header).  Operation-history hashing lives in history.c on top of it. */
#ifndef RA_STORE_H
#define RA_STORE_H

#include <stddef.h>
#include <stdint.h>
#include "buf.h"
#include "status.h"

/* Threads: an ra_store is shared by every thread (libmicrohttpd's pool, queue workers).
 * Each thread gets its own connection, opened lazily at its first call and closed when the
 * thread exits or at ra_store_close.  So calls from different threads never share a
 * connection, and a transaction begun with ra_store_begin belongs to the calling thread.
 * Writers take the database's write lock at the start of their transaction and wait for it
 * up to a busy timeout (then IK_ERR_BUSY); readers never wait for writers.
 *
 * Statuses: IK_OK; IK_ERR_NOT_FOUND (no such row); IK_ERR_EXISTS (a unique name is taken);
 * IK_ERR_STATE (not allowed in the row's current state, a second running batch, over the
 * quota); IK_ERR_ARG (a value out of range or too long); IK_ERR_BUSY (database locked);
 * IK_ERR_IO (database error); IK_ERR_NOMEM. */
typedef struct ra_store ra_store;

/* ---- limits in bytes (UTF-8), without the terminating NUL ---- */
#define RA_SETTING_MAX 4096          /* a setting value buffer, NUL included */
#define RA_STORE_LOGIN_MAX 64        /* officer login, download login, token name */
#define RA_STORE_PHC_MAX 159         /* a password hash (PHC string) */
#define RA_STORE_SECRET_HASH_MAX 255 /* a download secret hash (PHC string) */
#define RA_STORE_NAME_MAX 128        /* user external id, actor, batch creator */
#define RA_STORE_EMAIL_MAX 254
#define RA_STORE_TEXT_MAX 512        /* display name, device model, last error */
#define RA_STORE_DEVICE_MAX 256      /* device name */
#define RA_CN_MAX 256                /* common name: 64 characters of up to 4 bytes */
#define RA_SERIAL_HEX_MAX 40         /* 20 bytes, lowercase hex */
#define RA_REQUEST_ID_LEN 32         /* ms time (6 bytes) + 10 random bytes, lowercase hex */
#define RA_SPKI_MAX 2048             /* SubjectPublicKeyInfo DER */
#define RA_SETTING_KEY_MAX 64        /* [a-z0-9_.] */
#define RA_HISTORY_DETAIL_MAX 65536
#define RA_PAGE_MAX 100              /* rows per page of a listing */
#define RA_CURSOR_MAX 640            /* a keyset cursor string, NUL included */
#define RA_CN_SEARCH_MIN 3           /* CN search: substring from this many characters */

/* ---- open, close, transactions ---- */

/* Opens (creating if needed) the database at path, switches it to WAL and applies the
 * pending migrations in order, each in its own transaction.  A database written by a newer
 * version of the code is refused with IK_ERR_STATE.  ra_store_open_why also puts a
 * sentence for humans into why (may be NULL). */
ik_status ra_store_open(const char *path, ra_store **out);
ik_status ra_store_open_why(const char *path, ra_store **out, char *why, size_t whysz);
/* Closes every thread's connection.  No other thread may use the store any more. */
void ra_store_close(ra_store *s);
/* The schema version of the database (the number of the last applied migration) and the
 * newest one this code knows. */
ik_status ra_store_schema_version(ra_store *s, int *db_version, int *code_version);

/* Transactions of the calling thread, for callers grouping several calls into one change
 * (a bulk file in "abort the whole file" mode).  They nest: an inner begin/rollback undoes
 * only what was done since the inner begin (a savepoint), so "register only the valid rows"
 * can roll back one row and go on.  Every ra_store_* call that changes several rows is one
 * (nested) transaction by itself.  A rollback at the outermost level leaves the database
 * exactly as before the begin. */
ik_status ra_store_begin(ra_store *s);
/* The same, but its commit does not wait for the disk (WAL, synchronous = NORMAL): a crash
 * of the process loses nothing, a power loss may lose it, never out of order (the next
 * durable commit of any thread takes it along).  Only for work that is either redone after
 * a restart or made durable by a later commit before anyone is told.  Inside an open
 * transaction it is a plain savepoint. */
ik_status ra_store_begin_lazy(ra_store *s);
ik_status ra_store_commit(ra_store *s);
ik_status ra_store_rollback(ra_store *s);
/* Rolls back every level of a transaction the calling thread left open and returns how many
 * there were (0 normally; more is a bug in the caller, worth a log line).  Pool threads call
 * it after each unit of work, so a forgotten transaction cannot hold the write lock. */
int ra_store_thread_reset(ra_store *s);

/* ---- history entries recorded with a change ---- */

/* Functions taking a const ra_hist * append that operation-history entry in the same
 * transaction as the change (NULL: no entry).  op is required; the rest may be NULL (""). */
typedef struct ra_hist {
	const char *actor;   /* officer login, "cli", "system", the download login */
	const char *ip;      /* source address, "" when local */
	const char *op;      /* "issue", "revoke", "login_failed", ... */
	const char *target;  /* the object: a serial, a login, "user:42" */
	const char *detail;  /* JSON text by convention; stored as given */
} ra_hist;

/* ---- officers ---- */

typedef enum ra_officer_role {
	RA_OFFICER_AUDITOR = 2,
	RA_OFFICER_OFFICER = 3,
	RA_OFFICER_ADMIN = 4,
} ra_officer_role;

typedef struct ra_officer {
	int64_t id;
	char login[65];
	int role;                 /* ra_role: 2 auditor, 3 officer, 4 administrator */
	char password[160];       /* PHC string */
	unsigned failed_logins;   /* consecutive */
	int64_t locked_until;     /* unix time; 0 = not locked */
	int disabled;
	int64_t created;
} ra_officer;

/* Adds an officer and the history entry "officer_added" (actor, ip) in one transaction;
 * IK_ERR_EXISTS for a taken login (compared without case). */
ik_status ra_store_officer_add(ra_store *s, const char *login, int role, const char *phc,
    const char *actor, const char *ip);
ik_status ra_store_officer_get(ra_store *s, int64_t id, ra_officer *out);
ik_status ra_store_officer_by_login(ra_store *s, const char *login, ra_officer *out);
/* Officers with id > after_id in id order, at most max of them. */
ik_status ra_store_officer_list(ra_store *s, int64_t after_id, ra_officer *rows, size_t max,
    size_t *n);
/* Atomically (one UPDATE): failed_logins + 1; when that reaches threshold, locked_until =
 * lock_until and failed_logins = 0.  *locked_until gets the new value (0 = not locked; a
 * lock that has already run out reads as 0). */
ik_status ra_store_officer_login_failed(ra_store *s, int64_t id, unsigned threshold,
    int64_t lock_until, int64_t *locked_until);
/* failed_logins = 0, locked_until = 0. */
ik_status ra_store_officer_login_ok(ra_store *s, int64_t id);
ik_status ra_store_officer_set_password(ra_store *s, int64_t id, const char *phc);
ik_status ra_store_officer_set_role(ra_store *s, int64_t id, int role, const ra_hist *h);
/* Disabling also ends the officer's sessions. */
ik_status ra_store_officer_set_disabled(ra_store *s, int64_t id, int disabled,
    const ra_hist *h);

/* ---- the administrators' officer pages ---- */

#define RA_OFFICER_CERTS_MAX 8        /* login certificates bound to one officer */

typedef struct ra_officer_summary {
	ra_officer o;             /* password left empty */
	unsigned ncerts;          /* login certificates bound */
	char serials[RA_OFFICER_CERTS_MAX * (RA_SERIAL_HEX_MAX + 1)]; /* theirs, space-separated */
} ra_officer_summary;

/* Officers whose login contains `contains` (ASCII case ignored; NULL or "" = all, at most
 * RA_STORE_LOGIN_MAX bytes), in id order, skipping offset of them: at most max (1 ..
 * RA_PAGE_MAX) rows; *total gets how many match. */
ik_status ra_store_officer_find(ra_store *s, const char *contains, uint64_t offset,
    ra_officer_summary *rows, size_t max, size_t *n, uint64_t *total);

/* ---- officers' login certificates (client-certificate login) ---- */

typedef struct ra_officer_cert {
	int64_t officer_id;
	int64_t cert_id;          /* a row of certificates (issued by the Inkan CA) */
	uint8_t sha256[32];       /* of its DER, as it was when bound */
	int64_t created;
} ra_officer_cert;

/* Binds cert_id to officer_id, besides the certificates bound already, with h in one
 * transaction.  IK_ERR_EXISTS when that certificate is bound already (to this or another
 * officer); IK_ERR_STATE when the officer has RA_OFFICER_CERTS_MAX bound; IK_ERR_NOT_FOUND
 * for an unknown officer or certificate. */
ik_status ra_store_officer_cert_bind(ra_store *s, int64_t officer_id, int64_t cert_id,
    const uint8_t sha256[32], const ra_hist *h);
/* Unbinds cert_id (0: every certificate of the officer).  IK_ERR_NOT_FOUND when none was. */
ik_status ra_store_officer_cert_unbind(ra_store *s, int64_t officer_id, int64_t cert_id,
    const ra_hist *h);
/* The newest binding of the officer. */
ik_status ra_store_officer_cert_get(ra_store *s, int64_t officer_id, ra_officer_cert *out);
/* All its bindings, newest first, at most max. */
ik_status ra_store_officer_cert_list(ra_store *s, int64_t officer_id, ra_officer_cert *rows,
    size_t max, size_t *n);
ik_status ra_store_officer_cert_by_cert(ra_store *s, int64_t cert_id, ra_officer_cert *out);

/* ---- sessions and API tokens (only hashes are stored) ---- */

typedef struct ra_session {
	uint8_t id_hash[32];      /* SHA-256 of the cookie's 32 random bytes */
	int64_t officer_id;
	int64_t created;
	int64_t last_seen;
	uint8_t csrf_hash[32];    /* optional: a hash of a stored CSRF token */
	int has_csrf;             /* 0: none (the CSRF token is derived, not stored) */
} ra_session;

ik_status ra_store_session_add(ra_store *s, const ra_session *sess);
ik_status ra_store_session_get(ra_store *s, const uint8_t id_hash[32], ra_session *out);
/* last_seen = max(last_seen, now); _try: IK_ERR_BUSY at once (nothing written) while
 * another thread of the process holds the write turn. */
ik_status ra_store_session_touch(ra_store *s, const uint8_t id_hash[32], int64_t now);
ik_status ra_store_session_touch_try(ra_store *s, const uint8_t id_hash[32], int64_t now);
ik_status ra_store_session_delete(ra_store *s, const uint8_t id_hash[32]);
/* Deletes all sessions of an officer except keep (NULL = all). */
ik_status ra_store_session_delete_others(ra_store *s, int64_t officer_id,
    const uint8_t keep[32]);
/* Deletes sessions created before created_before or idle since before idle_before. */
ik_status ra_store_session_expire(ra_store *s, int64_t created_before, int64_t idle_before,
    size_t *n);

ik_status ra_store_token_add(ra_store *s, const uint8_t hash[32], const char *name,
    int64_t officer_id);
ik_status ra_store_token_lookup(ra_store *s, const uint8_t hash[32], int64_t *officer_id);
ik_status ra_store_token_delete(ra_store *s, const uint8_t hash[32]);

/* ---- end users and their devices ---- */

typedef struct ra_user {
	int64_t id;
	char external_id[RA_STORE_NAME_MAX + 1];   /* unique (without case) */
	char email[RA_STORE_EMAIL_MAX + 1];
	char display_name[RA_STORE_TEXT_MAX + 1];
	char lang[3];             /* "ja" or "en": the language of the user's mail ("" = ja) */
	int64_t created;
} ra_user;

typedef struct ra_device {
	int64_t id;
	int64_t user_id;
	char name[RA_STORE_DEVICE_MAX + 1];        /* unique per user */
	char model[RA_STORE_TEXT_MAX + 1];         /* model information; goes with the device */
	int64_t created;
	int64_t current_cert_id;                   /* 0: none */
} ra_device;

/* u->id and u->created are ignored; *id gets the new id.  IK_ERR_EXISTS: external id taken. */
ik_status ra_store_user_add(ra_store *s, const ra_user *u, const ra_hist *h, int64_t *id);
ik_status ra_store_user_get(ra_store *s, int64_t id, ra_user *out);
ik_status ra_store_user_by_external_id(ra_store *s, const char *external_id, ra_user *out);
ik_status ra_store_user_list(ra_store *s, int64_t after_id, ra_user *rows, size_t max,
    size_t *n);
/* Deletes the user and its devices.  IK_ERR_STATE while one of them holds a live
 * certificate (issuing, awaiting download, active, suspended): revoke it first.  The
 * user's certificates stay (their user and device become 0). */
ik_status ra_store_user_delete(ra_store *s, int64_t id, const ra_hist *h);

/* IK_ERR_NOT_FOUND: no such user; IK_ERR_EXISTS: the user has a device of that name. */
ik_status ra_store_device_add(ra_store *s, const ra_device *d, const ra_hist *h,
    int64_t *id);
ik_status ra_store_device_get(ra_store *s, int64_t id, ra_device *out);
ik_status ra_store_device_list(ra_store *s, int64_t user_id, int64_t after_id,
    ra_device *rows, size_t max, size_t *n);
/* IK_ERR_STATE while the device holds a live certificate. */
ik_status ra_store_device_delete(ra_store *s, int64_t id, const ra_hist *h);

/* ---- certificates ---- */

typedef enum ra_cert_state {
	RA_CERT_ISSUING = 1,       /* a request is on its way to the signer */
	RA_CERT_AWAITING_DOWNLOAD, /* decided; the key is made when the user downloads */
	RA_CERT_ACTIVE,
	RA_CERT_SUSPENDED,         /* certificateHold */
	RA_CERT_REVOKED,
	RA_CERT_EXPIRED,
	RA_CERT_SUPERSEDED,        /* replaced by a renewal that was downloaded */
	RA_CERT_FAILED,            /* the signer refused; never issued */
} ra_cert_state;
#define RA_CERT_STATE_BIT(st) (1u << (unsigned)(st))

const char *ra_cert_state_name(ra_cert_state st);      /* "awaiting_download", ... */
ik_status ra_cert_state_parse(const char *name, ra_cert_state *out);

typedef struct ra_cert {
	int64_t id;
	int64_t device_id;        /* 0: none (batch certificates, deleted device) */
	int64_t user_id;          /* 0: none */
	int64_t request_id;       /* the request that issues it (row id), 0 before one */
	char serial[RA_SERIAL_HEX_MAX + 1];     /* "" until issued */
	char cn[RA_CN_MAX + 1];
	unsigned validity_days;   /* as requested */
	int64_t not_before, not_after;          /* 0 until issued */
	ra_cert_state state;
	int reason;               /* RFC 5280 reason when revoked (6 when suspended), else -1 */
	int current;              /* the device's current certificate */
	uint8_t sha256[32];       /* of the DER; zero until issued */
	int64_t created, updated;
} ra_cert;

/* A certificate decided now but issued when the user downloads (key made then): state
 * awaiting_download, no request yet; issue it later with ra_store_request_add (kind issue,
 * cert_id set).  quota: refuse with IK_ERR_STATE once that many certificates count against
 * it (every one not failed); 0 = no limit. */
typedef struct ra_cert_new {
	int64_t device_id;        /* 0: none */
	const char *cn;
	unsigned validity_days;
	uint64_t quota;
} ra_cert_new;
ik_status ra_store_cert_reserve(ra_store *s, const ra_cert_new *c, const ra_hist *h,
    int64_t *id);
ik_status ra_store_cert_get(ra_store *s, int64_t id, ra_cert *out);
/* serial: lowercase hex without leading "0x" (upper case is accepted). */
ik_status ra_store_cert_by_serial(ra_store *s, const char *serial, ra_cert *out);
/* The DER appended to der; IK_ERR_STATE when not issued yet. */
ik_status ra_store_cert_der(ra_store *s, int64_t id, ik_buf *der);
/* Moves a certificate to state to, if its state is one of from_mask (RA_CERT_STATE_BIT);
 * else IK_ERR_STATE.  reason is kept for revoked (required, 0..10) and suspended (6).
 * Leaving active/suspended also ends "current".  For changes the signer must know about
 * (revoke, suspend, resume) use a request instead. */
ik_status ra_store_cert_set_state(ra_store *s, int64_t id, unsigned from_mask,
    ra_cert_state to, int reason, const ra_hist *h);
/* A renewal by a download that a restart interrupted after its key was made: its new
 * certificate was issued (or about to be) to a key that died with the process, and is
 * revoked as cessationOfOperation; the one it renewed stopped being its device's current
 * certificate when the new one was issued.  When device_id has no current certificate and
 * one of its active certificates has such an orphaned renewal (the latest), that one is
 * made current again, with h recorded (its target, when NULL, is that certificate's
 * serial), so that it can be renewed again.  *cert_id gets it, 0 when nothing changed. */
ik_status ra_store_renewal_reset(ra_store *s, int64_t device_id, const ra_hist *h,
    int64_t *cert_id);
/* Active and suspended certificates whose not_after <= now become expired. */
ik_status ra_store_cert_expire(ra_store *s, int64_t now, size_t *n);

/* A certificate issued elsewhere, written as an issued row without a request or device
 * (bench/bench_ra_fill's million-row store; an import from an earlier system).  state:
 * active, suspended, revoked (reason 0..10) or expired.  serial: lowercase hex.  Group many
 * in one ra_store_begin/commit.  A serial already there: IK_ERR_EXISTS. */
typedef struct ra_cert_import {
	const char *serial;
	const char *cn;
	int64_t not_before, not_after;
	ra_cert_state state;
	int reason;
	const uint8_t *der;
	size_t der_len;
	int64_t created;          /* 0: not_before */
} ra_cert_import;
ik_status ra_store_cert_import(ra_store *s, const ra_cert_import *c, int64_t *id);

/* Counters: per state (indexed by ra_cert_state; [0] unused) and the quota use (every
 * certificate not failed). */
typedef struct ra_cert_counts {
	uint64_t by_state[RA_CERT_FAILED + 1];
	uint64_t quota_used;
} ra_cert_counts;
ik_status ra_store_cert_counts(ra_store *s, ra_cert_counts *out);

/* Listing: filters, a stable sort on (key, id), pages of at most RA_PAGE_MAX by keyset. */
typedef enum ra_cert_filter {
	RA_CERT_FILTER_ALL = 0,
	RA_CERT_FILTER_VALID,     /* active and not_after > now */
	RA_CERT_FILTER_EXPIRED,   /* expired, or active with not_after <= now */
	RA_CERT_FILTER_REVOKED,
	RA_CERT_FILTER_SUSPENDED,
} ra_cert_filter;

typedef enum ra_cert_sort {
	RA_CERT_SORT_CREATED = 0, /* when the issuance was decided */
	RA_CERT_SORT_CN,
	RA_CERT_SORT_NOT_BEFORE,  /* not yet issued: 0 */
	RA_CERT_SORT_NOT_AFTER,   /* not yet issued: 0 */
	RA_CERT_SORT_SERIAL,      /* not yet issued: "" */
} ra_cert_sort;

typedef struct ra_cert_query {
	ra_cert_filter filter;
	int64_t now;              /* for valid/expired; 0 = the current time */
	/* case-insensitive for ASCII; NULL/"" = any.  RA_CN_SEARCH_MIN characters or more: a
	 * substring of the CN; fewer (1 or 2 UTF-8 characters): the CN starts with it. */
	const char *cn_contains;
	int64_t issued_from;      /* not_before >= issued_from; 0 = open */
	int64_t issued_to;        /* not_before < issued_to; 0 = open */
	int64_t device_id;        /* 0 = any */
	int64_t user_id;          /* 0 = any */
	ra_cert_sort sort;
	int descending;
	size_t limit;             /* 1..RA_PAGE_MAX; 0 = RA_PAGE_MAX */
	const char *cursor;       /* NULL/"": the first page; else a next cursor from before */
} ra_cert_query;

/* 1 when a cn_contains of sub is a prefix search (1 to RA_CN_SEARCH_MIN - 1 characters). */
static inline int ra_cert_cn_is_prefix(const char *sub)
{
	size_t n = 0;

	for (; sub != NULL && *sub != '\0'; sub++)
		n += ((unsigned char)*sub & 0xc0) != 0x80;
	return n >= 1 && n < RA_CN_SEARCH_MIN;
}

/* One page: rows (room for RA_PAGE_MAX) get up to q->limit certificates; next gets the
 * cursor of the page after ("" on the last page).  A cursor from another sort order or a
 * malformed one is IK_ERR_ARG.  Rows changed between pages are seen at their new place;
 * none is skipped or repeated while the sort key does not change. */
ik_status ra_store_cert_list(ra_store *s, const ra_cert_query *q, ra_cert *rows, size_t *n,
    char next[RA_CURSOR_MAX]);
/* The cursor that starts a page right after row c in that order: with descending flipped,
 * the page before c (a "previous page" link lists it and shows the rows reversed). */
void ra_store_cert_cursor(const ra_cert *c, ra_cert_sort sort, int descending,
    char out[RA_CURSOR_MAX]);
/* How many certificates match q's filters (sort, limit and cursor ignored).  Exact for the
 * state filters alone (kept counters, no scan); with a CN, date, device or user filter it
 * counts at most RA_CERT_COUNT_CAP + 1: a result above RA_CERT_COUNT_CAP means "more than
 * RA_CERT_COUNT_CAP". */
#define RA_CERT_COUNT_CAP 1000
ik_status ra_store_cert_count(ra_store *s, const ra_cert_query *q, uint64_t *count);
/* ra_store_cert_list and, in total, ra_store_cert_count — or the page's own row count when
 * it is the first page and holds every match — with the search's probes run once. */
ik_status ra_store_cert_page(ra_store *s, const ra_cert_query *q, ra_cert *rows, size_t *n,
    char next[RA_CURSOR_MAX], uint64_t *total);
/* 1 when ra_store_cert_count(q) stops at RA_CERT_COUNT_CAP + 1 (a CN, date, device or user
 * filter); 0 when it is exact (a state filter alone). */
static inline int ra_cert_count_capped(const ra_cert_query *q, uint64_t count)
{
	return count > RA_CERT_COUNT_CAP && ((q->cn_contains != NULL && q->cn_contains[0] != '\0') ||
	    q->issued_from != 0 || q->issued_to != 0 || q->device_id != 0 || q->user_id != 0);
}

/* ---- the request queue ---- */

typedef enum ra_request_kind {
	RA_REQ_ISSUE = 1,
	RA_REQ_RENEW,
	RA_REQ_REVOKE,
	RA_REQ_SUSPEND,
	RA_REQ_RESUME,
} ra_request_kind;

typedef enum ra_request_state {
	RA_REQ_PENDING = 1,       /* waiting for a worker (or for its key, see generate_here) */
	RA_REQ_SENT,              /* claimed by a worker, with the signer */
	RA_REQ_DONE,
	RA_REQ_FAILED,            /* given up; last_error says why */
} ra_request_state;
#define RA_REQ_STATE_BIT(st) (1u << (unsigned)(st))

const char *ra_request_kind_name(ra_request_kind k);
const char *ra_request_state_name(ra_request_state st);
ik_status ra_request_kind_parse(const char *name, ra_request_kind *out);

typedef struct ra_request_new {
	ra_request_kind kind;
	/* issue: the device (0: none, e.g. batch certificates).  Refused (IK_ERR_STATE) when
	 * the device already has a live certificate: renew that one instead. */
	int64_t device_id;
	int64_t batch_id;         /* 0: none; else that running batch's total grows by one */
	/* issue: an awaiting_download certificate to issue now (its cn, validity and device
	 * are used; it becomes issuing), or 0 for a new certificate row in state issuing;
	 * revoke/suspend/resume: the target (active/suspended/superseded, active, suspended) */
	int64_t cert_id;
	int64_t old_cert_id;      /* renew: the active or suspended certificate replaced */
	const char *cn;           /* issue/renew (renew: NULL keeps the old one's) */
	unsigned validity_days;   /* issue/renew */
	const uint8_t *spki;      /* issue/renew: SubjectPublicKeyInfo DER ... */
	size_t spki_len;
	int generate_here;        /* ... or none yet: the RA makes the key at download time and
	                           * attaches it with ra_store_request_set_spki */
	int reason;               /* revoke: RFC 5280 reason 0..10 */
	int revoke_old;           /* renew: revoke the old certificate as soon as the new one
	                           * is issued (a revoke request is queued atomically); else it
	                           * stays until superseded */
	uint64_t quota;           /* issue/renew: as in ra_cert_new; 0 = no limit */
	const char *created_by;
} ra_request_new;

typedef struct ra_request {
	int64_t id;
	char request_id[RA_REQUEST_ID_LEN + 1];  /* what the signer sees; idempotent there */
	ra_request_kind kind;
	ra_request_state state;
	int64_t device_id, batch_id, cert_id, old_cert_id;   /* 0: none */
	char serial[RA_SERIAL_HEX_MAX + 1];      /* of cert_id, "" until issued */
	char cn[RA_CN_MAX + 1];
	unsigned validity_days;
	uint8_t spki[RA_SPKI_MAX];
	size_t spki_len;          /* 0: none yet */
	int generate_here;
	int reason;               /* -1: none */
	int revoke_old;
	unsigned attempts;
	char last_error[RA_STORE_TEXT_MAX + 1];
	int64_t next_attempt;     /* not claimed before this time */
	char created_by[RA_STORE_NAME_MAX + 1];
	int64_t created, updated;
	/* not stored: set by the queue on the claimed row it completes when the key died with
	 * its download (an orphan, revoked next, cessationOfOperation): its certificate does not
	 * become the device's current one and revoke_old leaves the old one alone */
	int key_lost;
} ra_request;

/* Queues a request (and for issue/renew its certificate row) in one transaction; out (may
 * be NULL) gets the new row with its fresh random request_id.  Outside a transaction it
 * returns once the row is durable; the requests of threads calling at the same time are
 * committed together (group commit: one fdatasync for all of them, each request in its own
 * savepoint, so a refused one does not undo the others; a failed commit fails them all and
 * keeps none).  Inside the caller's transaction it is part of that transaction. */
ik_status ra_store_request_add(ra_store *s, const ra_request_new *r, const ra_hist *h,
    ra_request *out);
/* The same without waiting, for a caller that answers later (an HTTP request whose
 * connection is suspended): the request joins the next group commit, made by the store's
 * committer thread (started on first use) or by a waiting ra_store_request_add, and
 * done(ctx, status) is called on that thread once the commit that holds the row is durable
 * (IK_OK, out filled) or with why it was not made.  r, h and out (and what they point to)
 * must stay valid until then; done must not call ra_store_request_add.  Returns an error
 * (and never calls done) when the request cannot be queued: inside a transaction
 * (IK_ERR_STATE), the store closing (IK_ERR_STATE), no memory or thread. */
typedef void (*ra_store_add_done)(void *ctx, ik_status st);
ik_status ra_store_request_add_async(ra_store *s, const ra_request_new *r, const ra_hist *h,
    ra_request *out, ra_store_add_done done, void *ctx);
/* How many WAL checkpoints the store's checkpoint thread has made (they run there, not in
 * the commit that fills the log). */
uint64_t ra_store_checkpoints(ra_store *s);
/* How many group commits ra_store_request_add made, and for how many requests in all. */
void ra_store_request_add_stats(ra_store *s, uint64_t *commits, uint64_t *requests);
ik_status ra_store_request_get(ra_store *s, int64_t id, ra_request *out);
ik_status ra_store_request_by_request_id(ra_store *s, const char *request_id,
    ra_request *out);
/* Attaches the public key made at download time to a pending generate_here request. */
ik_status ra_store_request_set_spki(ra_store *s, int64_t id, const uint8_t *spki,
    size_t spki_len);
/* Claims the oldest pending request that can go (next_attempt <= now, key present):
 * pending -> sent, attempts + 1, atomically (two workers never get the same row).
 * IK_ERR_NOT_FOUND when there is none. */
ik_status ra_store_request_claim(ra_store *s, int64_t now, ra_request *out);
/* The same for up to max (1..RA_CLAIM_GROUP_MAX) requests in one transaction, oldest first:
 * rows[0..*n) get them.  IK_ERR_NOT_FOUND when there is none.  The commit does not wait for
 * the disk (a claim lost in a power cut changes nothing: a restart resends what was sent). */
#define RA_CLAIM_GROUP_MAX 128
ik_status ra_store_request_claim_group(ra_store *s, int64_t now, size_t max,
    ra_request *rows, size_t *n);
/* The same for one given request (a download waiting for its own certificate);
 * IK_ERR_STATE unless it is pending with its key. */
ik_status ra_store_request_claim_id(ra_store *s, int64_t id, ra_request *out);

/* What the signer answered for an issue/renew. */
typedef struct ra_issued {
	const char *serial;       /* hex */
	const uint8_t *der;
	size_t der_len;
	int64_t not_before, not_after;
} ra_issued;
/* A sent request succeeded, in one transaction: issue/renew store the certificate (active,
 * the device's current one; renew with revoke_old queues the old one's revocation, reason
 * superseded), revoke/suspend/resume set the target's state; the request is done; its batch
 * counts it; h is recorded.  issued is required for issue/renew and ignored otherwise.
 * IK_ERR_STATE unless the request is sent. */
ik_status ra_store_request_complete(ra_store *s, int64_t id, const ra_issued *issued,
    const ra_hist *h);
/* The same for the row as its claimant holds it (not read again: only its state can have
 * changed since, and that is checked in the update). */
ik_status ra_store_request_complete_claimed(ra_store *s, const ra_request *claimed,
    const ra_issued *issued, const ra_hist *h);
/* The same for n claimed requests at once (claimed[k] with issued[k] and h[k]; issued may be
 * NULL when none is an issuance): all of them or none, in one transaction (or a savepoint of
 * the caller's) without a savepoint per request; each batch's count raised once.  On any
 * error nothing stays: the caller may then complete them one by one to learn which. */
ik_status ra_store_request_complete_group(ra_store *s, const ra_request *claimed,
    const ra_issued *issued, const ra_hist *h, size_t n);
/* A sent request failed with error (for people: no secrets).  While attempts <
 * max_attempts it goes back to pending, not before retry_at; else (max_attempts 0: at once)
 * it is failed, its issuing certificate is failed and its batch counts it.  *state (may be
 * NULL) gets where it went. */
ik_status ra_store_request_fail(ra_store *s, int64_t id, const char *error,
    unsigned max_attempts, int64_t retry_at, const ra_hist *h, ra_request_state *state);
/* Restart recovery: every sent request goes back to pending (the signer answers a repeated
 * request_id with the certificate it already issued).  *n (may be NULL) gets how many. */
ik_status ra_store_request_recover(ra_store *s, size_t *n);
/* Restart recovery of downloads: an issue request made by an end user's download at or
 * before `before` whose key was never attached (the RA stopped in between) is failed and its
 * certificate waits for a download again (the credential stays good); h is recorded when
 * there was any.  *n (may be NULL) gets how many. */
/* A download's own issue/renew request (claimed, sent) whose answer never came (a timeout, a
 * broken connection) or could not be recorded: back to pending for the queue to send again
 * under the same request id and settle as an orphan (its key died with the download),
 * why as its last error, credential_id (0: none) noted for ra_store_download_reoffer, h
 * recorded.  IK_ERR_STATE unless it is such a request, sent. */
ik_status ra_store_request_park(ra_store *s, int64_t id, int64_t credential_id,
    const char *why, const ra_hist *h);
/* After the parked request request_id was settled as an orphan: if the credential it was
 * parked for still points at its certificate and is unspent, that credential gets a fresh
 * certificate — the reserved one again (awaiting download) for an issue, the same renewal
 * again (waiting for its key) for a renew — and h is recorded.  *cert_id gets the new
 * certificate, 0 when there was nothing to do.  In the caller's transaction if any. */
ik_status ra_store_download_reoffer(ra_store *s, int64_t request_id, const ra_hist *h,
    int64_t *cert_id);
/* *yes: device_id's certificate on its way is one whose key was made by a download and
 * whose request is not settled yet (sent, or pending again: parked or left by a restart). */
ik_status ra_store_device_settling(ra_store *s, int64_t device_id, int *yes);
ik_status ra_store_request_drop_keyless(ra_store *s, int64_t before, const ra_hist *h,
    size_t *n);
/* Requests whose state is in state_mask (RA_REQ_STATE_BIT; 0 = all) with id > after_id, in
 * id order. */
ik_status ra_store_request_list(ra_store *s, unsigned state_mask, int64_t after_id,
    ra_request *rows, size_t max, size_t *n);
/* Per state, indexed by ra_request_state ([0] unused). */
ik_status ra_store_request_counts(ra_store *s, uint64_t counts[RA_REQ_FAILED + 1]);

/* ---- batches ---- */

typedef enum ra_batch_state {
	RA_BATCH_RUNNING = 1,
	RA_BATCH_FINISHED,        /* sealed and every request settled */
	RA_BATCH_FAILED,          /* aborted */
} ra_batch_state;

const char *ra_batch_state_name(ra_batch_state st);

typedef struct ra_batch {
	int64_t id;
	ra_request_kind kind;
	uint64_t total, done, failed;  /* requests added, done, failed */
	ra_batch_state state;
	int sealed;               /* all its requests are added */
	char cn_pattern[RA_CN_MAX + 1];
	char created_by[RA_STORE_NAME_MAX + 1];
	int64_t created, updated;
} ra_batch;

/* A new running batch.  Refused with IK_ERR_STATE while another batch is running (also
 * enforced by a unique index in the database).  Add its requests (batch_id), then seal it:
 * it finishes when sealed and all of them are done or failed. */
ik_status ra_store_batch_create(ra_store *s, ra_request_kind kind, const char *cn_pattern,
    const char *created_by, const ra_hist *h, int64_t *id);
ik_status ra_store_batch_seal(ra_store *s, int64_t id);
ik_status ra_store_batch_get(ra_store *s, int64_t id, ra_batch *out);
/* The running batch; IK_ERR_NOT_FOUND when none runs. */
ik_status ra_store_batch_running(ra_store *s, ra_batch *out);
/* Stops a running batch: its pending requests fail with why (their certificates too), the
 * batch is failed.  Requests already with the signer still settle. */
ik_status ra_store_batch_abort(ra_store *s, int64_t id, const char *why, const ra_hist *h);

/* ---- "issue N more" batches with keys made by the RA (store_sqlite_batch_keys.c) ----
 * The batch keeps its envelope public key and its envelope private key only encrypted
 * (PKCS#8 PEM under the officer's passphrase); each certificate keeps its device key only
 * sealed to the envelope public key (IKB1), or under the batch's content key, itself kept
 * only wrapped to the envelope public key (IKB2).  After the one download all are deleted. */

#define RA_BATCH_PLANNED_MAX 10000
#define RA_BATCH_KEY_PEM_MAX 8192
#define RA_BATCH_ENVELOPE_MAX 8192

typedef struct ra_batch_keyed_new {
	uint64_t planned;            /* certificates wanted, 1..RA_BATCH_PLANNED_MAX */
	unsigned validity_days;      /* 1..36500 */
	const char *cn_pattern;      /* "client_%06d" (checked by the caller) */
	const char *key_type;        /* "ec-p256", "ec-p384", "rsa-2048", "rsa-3072" */
	const char *p12_format;      /* "modern", "compatible" */
	const uint8_t *envelope_spki;   /* the envelope public key, SPKI DER */
	size_t envelope_spki_len;
	const char *envelope_key;    /* its private key: "-----BEGIN ENCRYPTED PRIVATE KEY-----" */
	uint64_t quota;              /* refuse when quota use + planned > quota; 0 = no limit */
	const char *created_by;
} ra_batch_keyed_new;

/* A running issue batch with its keys, in one transaction.  IK_ERR_STATE when another
 * batch is running or when the quota has no room for planned more (the caller tells which
 * apart with ra_store_batch_running); IK_ERR_ARG for a value out of range or a key that is
 * not an encrypted PEM. */
ik_status ra_store_batch_create_keyed(ra_store *s, const ra_batch_keyed_new *b,
    const ra_hist *h, int64_t *id);

typedef struct ra_batch_info {
	ra_batch b;
	uint64_t planned;            /* 0: not a batch with RA-made keys */
	unsigned validity_days;
	char key_type[16];
	char p12_format[16];
	uint8_t envelope_spki[RA_SPKI_MAX];
	size_t envelope_spki_len;
	int has_envelope_key;        /* 0 once downloaded (or never had one) */
	int64_t downloaded;          /* unix time of the download; 0 = not yet */
	/* While the batch runs, from its counters (one read: a progress poll stays cheap however
	 * large the batch): issuing = added - done - failed, active = done (issued so far).
	 * Once it has ended, from its certificates' states (a pass over them). */
	uint64_t issuing;            /* its certificates still on their way to the signer */
	uint64_t active;             /* ... issued and active */
} ra_batch_info;

ik_status ra_store_batch_info(ra_store *s, int64_t id, ra_batch_info *out);
/* The running batch's info; IK_ERR_NOT_FOUND when none runs. */
ik_status ra_store_batch_running_info(ra_store *s, ra_batch_info *out);
/* The same without issuing and active (left 0): those count the batch's certificates, a
 * pass over all of them — the batch worker reads this once per group of keys. */
ik_status ra_store_batch_running_plan(ra_store *s, ra_batch_info *out);

/* The newest batches first (at most max), with what a list of them shows. */
typedef struct ra_batch_summary {
	ra_batch b;
	uint64_t planned;            /* 0: not a batch with RA-made keys */
	int64_t downloaded;          /* unix time of the download; 0 = not yet */
} ra_batch_summary;
ik_status ra_store_batch_recent(ra_store *s, ra_batch_summary *rows, size_t max, size_t *n);

/* The highest n such that a certificate's common name is prefix, then exactly width
 * decimal digits (n), then suffix; *found 0 (and *max 0) when there is none.  prefix and
 * suffix are ASCII.  A range scan of the common-name index. */
ik_status ra_store_cert_cn_max(ra_store *s, const char *prefix, unsigned width,
    const char *suffix, uint64_t *max, int *found);

/* Adds the next certificate of a keyed batch, in one transaction: counts the batch's
 * requests; when that count is not index (an earlier run has added it already) or the
 * common name is taken, IK_ERR_EXISTS and nothing changes; when the batch is not running,
 * all planned are added or the quota is used up, IK_ERR_STATE; else the issue request for
 * cn with spki (and its certificate row) and the certificate's sealed device key are
 * stored together.  out (may be NULL) gets the request. */
typedef struct ra_batch_item_new {
	int64_t batch_id;
	uint64_t index;              /* 0-based: the number of requests the caller saw */
	const char *cn;
	const uint8_t *spki;
	size_t spki_len;
	const uint8_t *envelope;     /* the sealed device key */
	size_t envelope_len;
	uint64_t quota;              /* 0 = no limit */
} ra_batch_item_new;
ik_status ra_store_batch_add_keyed(ra_store *s, const ra_batch_item_new *it,
    const ra_hist *h, ra_request *out);
/* The same for n (1..RA_BATCH_GROUP_MAX) keys at once, in index order (consecutive, from the
 * batch's total; the same batch and quota): all of them or none (in one transaction, or a
 * savepoint of the caller's).  Any refusal refuses the whole group: the caller may then add
 * them one by one with ra_store_batch_add_keyed to find which one and keep the others. */
#define RA_BATCH_GROUP_MAX 256
ik_status ra_store_batch_add_group(ra_store *s, const ra_batch_item_new *items, size_t n);

/* IKB2 (ra/batch.h): the batch's content key wrapped to its envelope public key, stored
 * once per batch.  set: only while the batch runs and only once — IK_ERR_EXISTS when it is
 * set already or the batch does not run (then its keys are sealed as IKB1).  get: appended
 * to wrapped; IK_ERR_NOT_FOUND when the batch has none (an IKB1-only batch, or downloaded). */
#define RA_BATCH_CEK_WRAPPED_MIN 256
#define RA_BATCH_CEK_WRAPPED_MAX 1024
ik_status ra_store_batch_set_cek(ra_store *s, int64_t id, const uint8_t *wrapped,
    size_t len);
ik_status ra_store_batch_envelope_cek(ra_store *s, int64_t id, ik_buf *wrapped);

/* The encrypted envelope private key (PEM text, appended to pem without a NUL).
 * IK_ERR_STATE once downloaded; IK_ERR_NOT_FOUND for no such batch or one without keys. */
ik_status ra_store_batch_envelope_key(ra_store *s, int64_t id, ik_buf *pem);

/* One certificate of a batch, for the download; pointers valid during the callback. */
typedef struct ra_batch_item {
	int64_t cert_id;
	const char *cn;
	const char *serial;          /* "" until issued */
	ra_cert_state state;
	const uint8_t *der;          /* NULL until issued */
	size_t der_len;
	const uint8_t *envelope;     /* NULL when none (never had one or deleted) */
	size_t envelope_len;
	const uint8_t *spki;         /* its request's public key (SPKI DER): IKB2's identity */
	size_t spki_len;
} ra_batch_item;
/* Calls fn for every certificate of the batch in certificate id order (one read snapshot);
 * a non-zero return stops and becomes IK_ERR_STATE. */
ik_status ra_store_batch_items(ra_store *s, int64_t id,
    int (*fn)(void *ctx, const ra_batch_item *it), void *ctx);

/* After the download, in one transaction: every sealed device key of the batch and its
 * encrypted envelope private key are deleted, downloaded_at is set, h is recorded.
 * IK_ERR_STATE when already downloaded, while the batch runs or while one of its
 * certificates is still being issued; IK_ERR_NOT_FOUND without such a keyed batch. */
ik_status ra_store_batch_purge_keys(ra_store *s, int64_t id, const ra_hist *h);

/* ---- one-time download credentials ---- */

typedef enum ra_download_kind {
	RA_DOWNLOAD_PASSWORD = 1, /* user name + initial password */
	RA_DOWNLOAD_PIN,          /* access PIN with its retrieval URL */
} ra_download_kind;

typedef struct ra_download {
	int64_t id;
	int64_t cert_id;
	char login[RA_STORE_LOGIN_MAX + 1];     /* the one-time login id (unique) */
	ra_download_kind kind;
	char secret_hash[RA_STORE_SECRET_HASH_MAX + 1];  /* salted slow hash (PHC), never clear */
	int64_t created, expires, used;         /* used: 0 = not yet */
	unsigned attempts;        /* failed tries */
} ra_download;

/* d->id, created, used and attempts are ignored.  IK_ERR_EXISTS: login taken; a secret_hash
 * that is not a PHC string ("$...") is IK_ERR_ARG. */
ik_status ra_store_download_add(ra_store *s, const ra_download *d, const ra_hist *h,
    int64_t *id);
ik_status ra_store_download_by_login(ra_store *s, const char *login, ra_download *out);
ik_status ra_store_download_for_cert(ra_store *s, int64_t cert_id, ra_download *out);
/* The credential the request request_id was parked for (ra_store_request_park), as it is now
 * (re-pointed by ra_store_download_reoffer, spent or not): IK_ERR_NOT_FOUND when no
 * download parked it. */
ik_status ra_store_download_parked_for(ra_store *s, int64_t request_id, ra_download *out);
/* A failed try: attempts + 1, *attempts gets the new count. */
ik_status ra_store_download_attempt(ra_store *s, int64_t id, unsigned *attempts);
/* Spends the credential, atomically: IK_ERR_STATE when already used or expired at now
 * (the caller records that refusal). */
ik_status ra_store_download_use(ra_store *s, int64_t id, int64_t now, const ra_hist *h);

/* ---- outgoing mail (store_sqlite_mail.c) ----
 * Idempotency: a mail is added in the same transaction as the event it tells about, under
 * a dedup key naming that event ("revoked:<request id>", "expiring:<cert>:<days>:user"):
 * a second add with the same key changes nothing, so an event retried or seen twice by a
 * sweep is told once.  Sending: claim (pending -> sending, attempts + 1), run the sendmail
 * command, then sent (or back to pending with a later next attempt).  A process that dies
 * between the command's success and "sent" leaves the row sending; at restart it goes back
 * to pending and is sent again with the same Message-ID (token), the one window in which
 * a reader may see a mail twice — recognisably the same message. */

#define RA_MAIL_DEDUP_MAX 128
#define RA_MAIL_KIND_MAX 32
#define RA_MAIL_TOKEN_LEN 32
#define RA_MAIL_TO_MAX 2048
#define RA_MAIL_SUBJECT_MAX 512
#define RA_MAIL_BODY_MAX 65536
#define RA_MAIL_ATTACH_NAME_MAX 128
#define RA_MAIL_ATTACH_MAX 65536

typedef enum ra_mail_state {
	RA_MAIL_PENDING = 1,
	RA_MAIL_SENDING,          /* claimed by the sender, its command running */
	RA_MAIL_SENT,
} ra_mail_state;
#define RA_MAIL_STATE_BIT(st) (1u << (unsigned)(st))
const char *ra_mail_state_name(ra_mail_state st);

typedef struct ra_mail_new {
	const char *dedup;        /* 1..RA_MAIL_DEDUP_MAX bytes */
	const char *kind;         /* [a-z_]{1,32}: "issued", "revoked", ... */
	const char *lang;         /* "ja" or "en" */
	const char *recipients;   /* addresses separated by ", " */
	const char *subject;      /* UTF-8, no line breaks */
	const char *body;         /* UTF-8 text, lines separated by \n */
	const char *attach_name;  /* NULL: no attachment; else [A-Za-z0-9._-] */
	const uint8_t *attach;
	size_t attach_len;
	int64_t not_before;       /* not sent before this time (0: at once) */
} ra_mail_new;

typedef struct ra_mail {
	int64_t id;
	char dedup[RA_MAIL_DEDUP_MAX + 1];
	char kind[RA_MAIL_KIND_MAX + 1];
	char lang[3];
	char token[RA_MAIL_TOKEN_LEN + 1];
	char recipients[RA_MAIL_TO_MAX + 1];
	char subject[RA_MAIL_SUBJECT_MAX + 1];
	char *body;               /* owned (ra_mail_clear); NULL in listings */
	char attach_name[RA_MAIL_ATTACH_NAME_MAX + 1];   /* "" = none */
	uint8_t *attach;          /* owned; NULL in listings or when none */
	size_t attach_len;
	ra_mail_state state;
	unsigned attempts;
	char last_error[RA_STORE_TEXT_MAX + 1];
	int64_t next_attempt, created, sent;
} ra_mail;

void ra_mail_clear(ra_mail *m);   /* frees body and attach */

/* *added (may be NULL) gets 1 for a new row, 0 when the dedup key was taken already (not an
 * error).  Joins the caller's transaction. */
ik_status ra_store_mail_add(ra_store *s, const ra_mail_new *m, int *added);
ik_status ra_store_mail_get(ra_store *s, int64_t id, ra_mail *out);
ik_status ra_store_mail_by_dedup(ra_store *s, const char *dedup, ra_mail *out);
/* The oldest pending mail due at now: pending -> sending, attempts + 1, atomically, with its
 * body and attachment.  IK_ERR_NOT_FOUND when none is due. */
ik_status ra_store_mail_claim(ra_store *s, int64_t now, ra_mail *out);
/* sending -> sent at now; IK_ERR_STATE unless it is sending. */
ik_status ra_store_mail_sent(ra_store *s, int64_t id, int64_t now);
/* sending -> pending, not before retry_at, with error (no secrets) kept. */
ik_status ra_store_mail_retry(ra_store *s, int64_t id, const char *error, int64_t retry_at);
/* Restart: every sending mail goes back to pending (see the idempotency note above). */
ik_status ra_store_mail_recover(ra_store *s, size_t *n);
/* Mails in state_mask (0 = all) with id > after_id in id order, without body/attachment. */
ik_status ra_store_mail_list(ra_store *s, unsigned state_mask, int64_t after_id,
    ra_mail *rows, size_t max, size_t *n);
/* Per state, indexed by ra_mail_state ([0] unused). */
ik_status ra_store_mail_counts(ra_store *s, uint64_t counts[RA_MAIL_SENT + 1]);

/* ---- the scheduler's sweeps ---- */

/* Active certificates with from < not_after <= until and id > after_id, in id order. */
ik_status ra_store_cert_expiring(ra_store *s, int64_t from, int64_t until, int64_t after_id,
    ra_cert *rows, size_t max, size_t *n);
/* Certificates issued for an end user's download (key made in the RA) by a request
 * completed at or before `before` that are still active or suspended, with no download
 * credential spent since that request was made and no revocation asked for: the .p12 was
 * never handed out (the RA stopped in between), so nobody holds their key.  id > after_id,
 * in id order. */
ik_status ra_store_cert_undelivered(ra_store *s, int64_t before, int64_t after_id,
    ra_cert *rows, size_t max, size_t *n);
/* Deletes download credentials whose lifetime ended at or before before (expires_at <=
 * before): spent or not, they can no longer be used, and keeping them keeps nothing. */
ik_status ra_store_download_purge(ra_store *s, int64_t before, size_t *n);

/* ---- settings (quota, renewal window, password policy, IP allow-list, ...) ---- */

/* IK_ERR_NOT_FOUND when unset; IK_ERR_ARG when the value does not fit in outsz. */
ik_status ra_store_setting_get(ra_store *s, const char *key, char *out, size_t outsz);
/* An integer setting, def when unset; IK_ERR_ARG when not a decimal integer. */
ik_status ra_store_setting_get_int(ra_store *s, const char *key, int64_t def, int64_t *out);
/* key: 1..64 of [a-z0-9_.]; value < RA_SETTING_MAX bytes. */
ik_status ra_store_setting_set(ra_store *s, const char *key, const char *value,
    const ra_hist *h);
ik_status ra_store_setting_delete(ra_store *s, const char *key, const ra_hist *h);
/* Calls fn for each setting in key order; a non-zero return stops (IK_OK all the same). */
ik_status ra_store_setting_each(ra_store *s,
    int (*fn)(void *ctx, const char *key, const char *value), void *ctx);

/* ---- operation history (history.c; rows through the store) ---- */

typedef struct ra_history_entry {
	int64_t id;               /* 1, 2, 3, ... in chain order */
	int64_t at;               /* unix time */
	char *actor, *ip, *op, *target, *detail;   /* owned; never NULL once read */
	uint8_t prev_hash[32];
	uint8_t hash[32];
} ra_history_entry;

void ra_history_entry_clear(ra_history_entry *e);   /* frees the strings */
void ra_history_entries_free(ra_history_entry *rows, size_t n);

/* Appends an entry (time: now) chained to the last one, in a transaction of its own or
 * inside the caller's. */
ik_status ra_history_record(ra_store *s, const ra_hist *h);
ik_status ra_history_append(ra_store *s, const char *actor, const char *ip, const char *op,
    const char *detail);
/* Appends h[0..n-1] in that order, chained as n calls of ra_history_record would, with one
 * savepoint and one read of the tail for all of them: all or none. */
ik_status ra_history_record_group(ra_store *s, const ra_hist *h, size_t n);
/* IK_OK when the chain is intact; otherwise IK_ERR_STATE and bad describes the first
 * broken entry (its id, what does not match). */
ik_status ra_history_verify(ra_store *s, char *bad, size_t badsz);
/* SHA-256(prev_hash || canonical encoding of e's id, at, actor, ip, op, target, detail). */
ik_status ra_history_hash(const ra_history_entry *e, uint8_t out[32]);

typedef struct ra_history_query {
	int64_t from, to;         /* at >= from, at < to; 0 = open */
	const char *op;           /* exact; NULL/"" = any */
	const char *text;         /* substring of actor, ip, op, target or detail; NULL = any */
	int64_t after_id;         /* keyset: id > after_id (ascending) ... */
	int64_t before_id;        /* ... or id < before_id when descending (0 = from the end) */
	int descending;
} ra_history_query;
/* Up to max entries (the caller frees them with ra_history_entries_free). */
ik_status ra_store_history_list(ra_store *s, const ra_history_query *q,
    ra_history_entry **rows, size_t max, size_t *n);

/* Backend primitives for history.c; call them only inside a transaction. */
/* The last entry's id and hash (0 and zeros when the history is empty). */
ik_status ra_store_history_tail(ra_store *s, int64_t *id, uint8_t hash[32]);
/* Inserts e as it is (id, hashes and all). */
ik_status ra_store_history_insert(ra_store *s, const ra_history_entry *e);
/* Inserts e[0..n-1] as they are, several rows to a statement. */
ik_status ra_store_history_insert_group(ra_store *s, const ra_history_entry *e, size_t n);

#endif
