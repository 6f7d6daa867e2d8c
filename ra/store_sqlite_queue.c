/* store_sqlite_queue: the request queue — add (with the certificate row it issues), atomic
 * claim, complete with the signer's answer, fail with retry or give up, restart recovery,
 * and what is waiting, visibly. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "log.h"
#include "store_sqlite_conn.h"

/* ---- names ---- */

static const char *const kinds[] = {
	[RA_REQ_ISSUE] = "issue", [RA_REQ_RENEW] = "renew", [RA_REQ_REVOKE] = "revoke",
	[RA_REQ_SUSPEND] = "suspend", [RA_REQ_RESUME] = "resume",
};
static const char *const req_states[] = {
	[RA_REQ_PENDING] = "pending", [RA_REQ_SENT] = "sent", [RA_REQ_DONE] = "done",
	[RA_REQ_FAILED] = "failed",
};

const char *ra_request_kind_name(ra_request_kind k)
{
	return k >= RA_REQ_ISSUE && k <= RA_REQ_RESUME ? kinds[k] : "unknown";
}

const char *ra_request_state_name(ra_request_state st)
{
	return st >= RA_REQ_PENDING && st <= RA_REQ_FAILED ? req_states[st] : "unknown";
}

ik_status ra_request_kind_parse(const char *name, ra_request_kind *out)
{
	int i = sq_name_index(kinds, RA_REQ_ISSUE, RA_REQ_RESUME, name);

	if (i == 0)
		return IK_ERR_ARG;
	*out = (ra_request_kind)i;
	return IK_OK;
}

static int is_issuance(ra_request_kind k)
{
	return k == RA_REQ_ISSUE || k == RA_REQ_RENEW;
}

/* ---- requests ---- */

#define REQ_COLS "r.id, r.request_id, r.kind, r.state, r.device_id, r.batch_id, r.cert_id," \
	" r.old_cert_id, IFNULL(c.serial, ''), r.subject_cn, r.validity_days, r.pubkey," \
	" r.generate_here, r.reason, r.revoke_old, r.attempts, r.last_error," \
	" r.next_attempt_at, r.created_by, r.created_at, r.updated_at" \
	" FROM requests r LEFT JOIN certificates c ON c.id = r.cert_id"

static const char SQL_REQ_INSERT[] =
    "INSERT INTO requests(request_id, kind, device_id, batch_id, cert_id, old_cert_id,"
    " subject_cn, validity_days, pubkey, generate_here, reason, revoke_old, created_by,"
    " created_at, updated_at)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?14)";
static const char SQL_REQ_GET[] = "SELECT " REQ_COLS " WHERE r.id = ?1";
static const char SQL_REQ_BY_RID[] = "SELECT " REQ_COLS " WHERE r.request_id = ?1";
static const char SQL_REQ_LIST[] =
    "SELECT " REQ_COLS " WHERE r.id > ?2 AND (?1 = 0 OR (?1 & CASE r.state"
    " WHEN 'pending' THEN 2 WHEN 'sent' THEN 4 WHEN 'done' THEN 8 WHEN 'failed' THEN 16"
    " ELSE 0 END) <> 0) ORDER BY r.id LIMIT ?3";
static const char SQL_REQ_COUNTS[] = "SELECT state, COUNT(*) FROM requests GROUP BY state";
static const char SQL_REQ_EVENT_OPEN[] =
    "SELECT COUNT(*) FROM requests WHERE cert_id = ?1"
    " AND kind IN ('revoke', 'suspend', 'resume') AND state IN ('pending', 'sent')";
static const char SQL_CERT_LINK[] =
    "UPDATE certificates SET request_id = ?2, state = 'issuing', updated_at = ?3 WHERE id = ?1";
/* a certificate row just inserted as issuing: state is not SET, so that SQLite leaves the
 * eight indexes that hold it (and the counters' trigger) alone */
static const char SQL_CERT_LINK_NEW[] =
    "UPDATE certificates SET request_id = ?2, updated_at = ?3 WHERE id = ?1";
static const char SQL_REQ_SPKI[] =
    "UPDATE requests SET pubkey = ?2, updated_at = ?3 WHERE id = ?1 AND state = 'pending'"
    " AND generate_here = 1 AND pubkey IS NULL";
#define CLAIMABLE "state = 'pending' AND (pubkey IS NOT NULL OR kind NOT IN ('issue', 'renew'))"
static const char SQL_REQ_CLAIM[] =
    "UPDATE requests SET state = 'sent', attempts = attempts + 1, updated_at = ?1"
    " WHERE id = (SELECT id FROM requests WHERE " CLAIMABLE " AND next_attempt_at <= ?1"
    " ORDER BY id LIMIT 1) RETURNING id";
static const char SQL_REQ_CLAIM_GROUP[] =
    "UPDATE requests SET state = 'sent', attempts = attempts + 1, updated_at = ?1"
    " WHERE id IN (SELECT id FROM requests WHERE " CLAIMABLE " AND next_attempt_at <= ?1"
    " ORDER BY id LIMIT ?2) RETURNING id";
static const char SQL_REQ_CLAIM_ID[] =
    "UPDATE requests SET state = 'sent', attempts = attempts + 1, updated_at = ?2"
    " WHERE id = ?1 AND " CLAIMABLE;
static const char SQL_REQ_SET_STATE[] =
    "UPDATE requests SET state = ?2, last_error = ?3, next_attempt_at = ?4, updated_at = ?5"
    " WHERE id = ?1";
static const char SQL_REQ_RECOVER[] =
    "UPDATE requests SET state = 'pending', updated_at = ?1 WHERE state = 'sent'";
/* A download's request whose key was never attached (the RA stopped in between): nothing
 * was sent to the signer, so its certificate waits for a download again. */
#define KEYLESS "kind = 'issue' AND generate_here = 1 AND pubkey IS NULL" \
	" AND state = 'pending' AND created_at <= ?1"
static const char SQL_KEYLESS_CERTS[] =
    "UPDATE certificates SET state = 'awaiting_download', request_id = NULL, updated_at = ?2"
    " WHERE state = 'issuing' AND id IN (SELECT cert_id FROM requests WHERE " KEYLESS ")";
static const char SQL_KEYLESS_REQS[] =
    "UPDATE requests SET state = 'failed', updated_at = ?2,"
    " last_error = 'the RA stopped before the download made its key; nothing was issued'"
    " WHERE " KEYLESS;
/* the new certificate becomes its device's current one: the one before stops being current
 * first (one current per device is a unique index, checked row by row); an orphan (?8)
 * does not */
static const char SQL_CERT_ISSUED[] =
    "UPDATE certificates SET serial = ?2, der = ?3, sha256 = ?4, not_before = ?5,"
    " not_after = ?6, state = 'active', updated_at = ?7,"
    " current = CASE WHEN device_id IS NULL OR ?8 THEN current ELSE 1 END"
    " WHERE id = ?1 AND state = 'issuing'";
static const char SQL_CERT_UNCURRENT[] =
    "UPDATE certificates SET current = 0, updated_at = ?2"
    " WHERE device_id = (SELECT device_id FROM certificates WHERE id = ?1) AND current = 1"
    " AND id <> ?1";
static const char SQL_REQ_DONE[] =
    "UPDATE requests SET state = 'done', last_error = '', updated_at = ?2"
    " WHERE id = ?1 AND state = 'sent'";
static const char SQL_CERT_EVENT[] =
    "UPDATE certificates SET state = ?2, reason = ?3, updated_at = ?4,"
    " current = CASE WHEN ?2 = 'revoked' THEN 0 ELSE current END"
    " WHERE id = ?1 AND serial IS NOT NULL AND (?2 = 'revoked' OR state IN ('active', 'suspended'))";
static const char SQL_CERT_FAIL[] =
    "UPDATE certificates SET state = 'failed', current = 0, updated_at = ?2"
    " WHERE id = ?1 AND state = 'issuing'";
static ik_status read_request(sqlite3_stmt *q, void *out)
{
	ra_request *r = out;
	char kind[16], state[16];
	const void *pk;
	int pklen;
	ik_status st;

	memset(r, 0, sizeof(*r));
	r->id = sq_col_i64(q, 0);
	if ((st = sq_col_text(q, 1, r->request_id, sizeof(r->request_id))) != IK_OK ||
	    (st = sq_col_text(q, 2, kind, sizeof(kind))) != IK_OK ||
	    (st = sq_col_text(q, 3, state, sizeof(state))) != IK_OK ||
	    (st = sq_col_text(q, 8, r->serial, sizeof(r->serial))) != IK_OK ||
	    (st = sq_col_text(q, 9, r->cn, sizeof(r->cn))) != IK_OK ||
	    (st = sq_col_text(q, 16, r->last_error, sizeof(r->last_error))) != IK_OK ||
	    (st = sq_col_text(q, 18, r->created_by, sizeof(r->created_by))) != IK_OK)
		return st;
	r->kind = (ra_request_kind)sq_name_index(kinds, RA_REQ_ISSUE, RA_REQ_RESUME, kind);
	r->state = (ra_request_state)sq_name_index(req_states, RA_REQ_PENDING, RA_REQ_FAILED, state);
	if (r->kind == 0 || r->state == 0)
		return IK_ERR_IO;
	r->device_id = sq_col_i64(q, 4);
	r->batch_id = sq_col_i64(q, 5);
	r->cert_id = sq_col_i64(q, 6);
	r->old_cert_id = sq_col_i64(q, 7);
	r->validity_days = (unsigned)sq_col_i64(q, 10);
	pk = sqlite3_column_blob(q, 11);
	pklen = sqlite3_column_bytes(q, 11);
	if (pk != NULL && pklen > 0) {
		if ((size_t)pklen > sizeof(r->spki))
			return IK_ERR_IO;
		memcpy(r->spki, pk, (size_t)pklen);
		r->spki_len = (size_t)pklen;
	}
	r->generate_here = sq_col_i64(q, 12) != 0;
	r->reason = sqlite3_column_type(q, 13) == SQLITE_NULL ? -1 : (int)sq_col_i64(q, 13);
	r->revoke_old = sq_col_i64(q, 14) != 0;
	r->attempts = (unsigned)sq_col_i64(q, 15);
	r->next_attempt = sq_col_i64(q, 17);
	r->created = sq_col_i64(q, 19);
	r->updated = sq_col_i64(q, 20);
	return IK_OK;
}

static ik_status req_one(sq_conn *c, const char *sql, int64_t id, const char *rid,
    ra_request *out)
{
	return sq_read_one(c, sql, &id, rid, read_request, out);
}

/* Checks and prepares the certificate side of a new request: for issue/renew the
 * certificate row being issued (*cert_id, *device_id), for the others the target's state. */
static ik_status prepare_cert(sq_conn *c, const ra_request_new *r, char cn[RA_CN_MAX + 1],
    unsigned *validity, int64_t *cert_id, int64_t *device_id)
{
	ra_cert t;
	int64_t user_id = 0, open_events = 0;
	unsigned ok_from;
	ik_status st;

	cn[0] = '\0';
	*validity = r->validity_days;
	*cert_id = r->cert_id;
	*device_id = r->device_id;
	switch (r->kind) {
	case RA_REQ_ISSUE:
		if (r->cert_id != 0) { /* a reserved certificate, issued now */
			if ((st = sq_cert_read(c, r->cert_id, &t)) != IK_OK)
				return st;
			if (t.state != RA_CERT_AWAITING_DOWNLOAD)
				return IK_ERR_STATE;
			memcpy(cn, t.cn, sizeof(t.cn));
			*validity = t.validity_days;
			*device_id = t.device_id;
			return IK_OK;
		}
		if (!sq_cn_ok(r->cn) || !sq_validity_ok(r->validity_days))
			return IK_ERR_ARG;
		if ((st = sq_quota_check(c, r->quota)) != IK_OK ||
		    (r->device_id != 0 && (st = sq_device_free(c, r->device_id, &user_id)) != IK_OK))
			return st;
		snprintf(cn, RA_CN_MAX + 1, "%s", r->cn);
		return sq_cert_insert(c, r->device_id, user_id, r->cn, r->validity_days,
		    RA_CERT_ISSUING, cert_id);
	case RA_REQ_RENEW:
		if ((st = sq_cert_read(c, r->old_cert_id, &t)) != IK_OK)
			return st;
		if (t.state != RA_CERT_ACTIVE && t.state != RA_CERT_SUSPENDED)
			return IK_ERR_STATE;
		if ((r->cn != NULL && !sq_cn_ok(r->cn)) || !sq_validity_ok(r->validity_days))
			return IK_ERR_ARG;
		if ((st = sq_quota_check(c, r->quota)) != IK_OK)
			return st;
		*device_id = t.device_id;
		snprintf(cn, RA_CN_MAX + 1, "%s", r->cn != NULL ? r->cn : t.cn);
		return sq_cert_insert(c, t.device_id, t.user_id, cn, r->validity_days,
		    RA_CERT_ISSUING, cert_id);
	default:
		break;
	}
	if ((st = sq_cert_read(c, r->cert_id, &t)) != IK_OK)
		return st;
	ok_from = r->kind == RA_REQ_REVOKE ? RA_CERT_STATE_BIT(RA_CERT_ACTIVE) |
	    RA_CERT_STATE_BIT(RA_CERT_SUSPENDED) | RA_CERT_STATE_BIT(RA_CERT_SUPERSEDED) |
	    RA_CERT_STATE_BIT(RA_CERT_EXPIRED) :
	    r->kind == RA_REQ_SUSPEND ? RA_CERT_STATE_BIT(RA_CERT_ACTIVE) :
	    RA_CERT_STATE_BIT(RA_CERT_SUSPENDED);
	if ((ok_from & RA_CERT_STATE_BIT(t.state)) == 0)
		return IK_ERR_STATE;
	if ((st = sq_count_id(c, SQL_REQ_EVENT_OPEN, r->cert_id, &open_events)) != IK_OK)
		return st;
	*device_id = t.device_id;
	return open_events > 0 ? IK_ERR_STATE : IK_OK;
}

static int revoke_reason_ok(int reason)
{
	return reason >= 0 && reason <= 10 && reason != 6 && reason != 7 && reason != 8;
}

/* The id the signer files the request under: the time in ms (6 bytes, big-endian) and 80
 * random bits, in hex.  Ids made later sort later, so the unique indexes on request ids here
 * and in the signer's ledger grow at their end instead of taking a random page each. */
ik_status sq_request_id_new(char out[RA_REQUEST_ID_LEN + 1])
{
	static const char hexd[] = "0123456789abcdef";
	uint8_t b[RA_REQUEST_ID_LEN / 2];
	struct timespec ts;
	uint64_t ms;

	if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
		return IK_ERR_IO;
	ms = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
	for (size_t i = 0; i < 6; i++)
		b[i] = (uint8_t)(ms >> (8 * (5 - i)));
	if (RAND_bytes(b + 6, sizeof(b) - 6) != 1)
		return IK_ERR_CRYPTO;
	for (size_t i = 0; i < sizeof(b); i++) {
		out[2 * i] = hexd[b[i] >> 4];
		out[2 * i + 1] = hexd[b[i] & 15];
	}
	out[RA_REQUEST_ID_LEN] = '\0';
	return IK_OK;
}

/* request_add inside the caller's transaction (also for store_sqlite_group.c). */
ik_status sq_request_add_tx(ra_store *s, sq_conn *c, const ra_request_new *r,
    const ra_hist *h, ra_request *out)
{
	char rid[RA_REQUEST_ID_LEN + 1], cn[RA_CN_MAX + 1];
	unsigned validity = 0;
	int64_t cert_id = 0, device_id = 0, id, now = sq_now();
	sqlite3_stmt *q;
	ik_status st;

	if (r->kind < RA_REQ_ISSUE || r->kind > RA_REQ_RESUME ||
	    (r->created_by != NULL && !sq_len_ok(r->created_by, 0, RA_STORE_NAME_MAX)))
		return IK_ERR_ARG;
	if (is_issuance(r->kind) && (r->generate_here ? r->spki != NULL :
	    (r->spki == NULL || r->spki_len == 0 || r->spki_len > RA_SPKI_MAX)))
		return IK_ERR_ARG;
	if (r->kind == RA_REQ_REVOKE && !revoke_reason_ok(r->reason))
		return IK_ERR_ARG;
	if ((st = sq_request_id_new(rid)) != IK_OK ||
	    (st = prepare_cert(c, r, cn, &validity, &cert_id, &device_id)) != IK_OK)
		return st;
	if (r->batch_id != 0 && (st = sq_batch_take(c, r->batch_id, r->kind)) != IK_OK)
		return st;
	if ((st = sq_stmt(c, SQL_REQ_INSERT, &q)) != IK_OK)
		return st;
	sq_bind_text(c, q, 1, rid);
	sq_bind_text(c, q, 2, kinds[r->kind]);
	sq_bind_opt_i64(c, q, 3, device_id);
	sq_bind_opt_i64(c, q, 4, r->batch_id);
	sq_bind_i64(c, q, 5, cert_id);
	sq_bind_opt_i64(c, q, 6, r->kind == RA_REQ_RENEW ? r->old_cert_id : 0);
	sq_bind_text(c, q, 7, is_issuance(r->kind) ? cn : "");
	sq_bind_i64(c, q, 8, is_issuance(r->kind) ? validity : 0);
	sq_bind_blob(c, q, 9, r->generate_here ? NULL : r->spki, r->spki_len);
	sq_bind_i64(c, q, 10, r->generate_here != 0);
	if (r->kind == RA_REQ_REVOKE)
		sq_bind_i64(c, q, 11, r->reason);
	sq_bind_i64(c, q, 12, r->kind == RA_REQ_RENEW && r->revoke_old);
	sq_bind_text(c, q, 13, r->created_by != NULL ? r->created_by : "");
	sq_bind_i64(c, q, 14, now);
	st = sq_exec(c, q, NULL);
	sq_reset(q);
	if (st != IK_OK)
		return st;
	id = sq_last_id(c);
	if (is_issuance(r->kind)) {
		int64_t v[3] = { cert_id, id, now };
		int reserved = r->kind == RA_REQ_ISSUE && r->cert_id != 0;
		if ((st = sq_run_ids(c, reserved ? SQL_CERT_LINK : SQL_CERT_LINK_NEW, v, 3, NULL)) !=
		    IK_OK)
			return st;
	}
	if ((st = sq_hist(s, h)) != IK_OK)
		return st;
	return out != NULL ? req_one(c, SQL_REQ_GET, id, NULL, out) : IK_OK;
}

ik_status ra_store_request_get(ra_store *s, int64_t id, ra_request *out)
{
	sq_conn *c;
	ik_status st = sq_get_conn(s, &c);

	return st != IK_OK ? st : req_one(c, SQL_REQ_GET, id, NULL, out);
}

ik_status ra_store_request_by_request_id(ra_store *s, const char *request_id,
    ra_request *out)
{
	sq_conn *c;
	ik_status st;

	if (!sq_len_ok(request_id, RA_REQUEST_ID_LEN, RA_REQUEST_ID_LEN))
		return IK_ERR_NOT_FOUND;
	if ((st = sq_get_conn(s, &c)) != IK_OK)
		return st;
	return req_one(c, SQL_REQ_BY_RID, 0, request_id, out);
}

ik_status sq_request_why_unchanged(sq_conn *c, int64_t id)
{
	ra_request r;
	ik_status st = req_one(c, SQL_REQ_GET, id, NULL, &r);

	return st == IK_OK ? IK_ERR_STATE : st;
}

ik_status ra_store_request_set_spki(ra_store *s, int64_t id, const uint8_t *spki,
    size_t spki_len)
{
	sq_conn *c;
	sqlite3_stmt *q;
	int64_t changes = 0;
	ik_status st;

	if (spki == NULL || spki_len == 0 || spki_len > RA_SPKI_MAX)
		return IK_ERR_ARG;
	if ((st = sq_get_conn(s, &c)) != IK_OK || (st = sq_begin(c)) != IK_OK)
		return st;
	if ((st = sq_stmt(c, SQL_REQ_SPKI, &q)) == IK_OK) {
		sq_bind_i64(c, q, 1, id);
		sq_bind_blob(c, q, 2, spki, spki_len);
		sq_bind_i64(c, q, 3, sq_now());
		st = sq_exec(c, q, &changes);
		sq_reset(q);
	}
	if (st == IK_OK && changes == 0)
		st = sq_request_why_unchanged(c, id);
	return sq_finish(c, st);
}

ik_status ra_store_request_claim(ra_store *s, int64_t now, ra_request *out)
{
	sq_conn *c;
	sqlite3_stmt *q;
	int64_t id = 0;
	int row = 0;
	ik_status st;

	if ((st = sq_get_conn(s, &c)) != IK_OK || (st = sq_begin(c)) != IK_OK)
		return st;
	if ((st = sq_stmt(c, SQL_REQ_CLAIM, &q)) == IK_OK) {
		sq_bind_i64(c, q, 1, now);
		if ((st = sq_step(c, q, &row)) == IK_OK && row) {
			id = sq_col_i64(q, 0);
			st = sq_exec(c, q, NULL);
		}
		sq_reset(q);
	}
	if (st == IK_OK)
		st = row ? req_one(c, SQL_REQ_GET, id, NULL, out) : IK_ERR_NOT_FOUND;
	return sq_finish(c, st);
}

static int cmp_id(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

ik_status ra_store_request_claim_group(ra_store *s, int64_t now, size_t max,
    ra_request *rows, size_t *n)
{
	sq_conn *c;
	sqlite3_stmt *q;
	int64_t *ids;
	size_t got = 0;
	int row = 1;
	ik_status st;

	*n = 0;
	if (max == 0 || max > RA_CLAIM_GROUP_MAX)
		return IK_ERR_ARG;
	if ((ids = calloc(max, sizeof(*ids))) == NULL)
		return IK_ERR_NOMEM;
	/* a claim need not reach the disk before the signer is asked: after any restart every
	 * "sent" request is pending again anyway, and the signer answers a repeat in kind */
	if ((st = sq_get_conn(s, &c)) != IK_OK || (st = sq_begin_lazy(c)) != IK_OK) {
		free(ids);
		return st;
	}
	if ((st = sq_stmt(c, SQL_REQ_CLAIM_GROUP, &q)) == IK_OK) {
		sq_bind_i64(c, q, 1, now);
		sq_bind_i64(c, q, 2, (int64_t)max);
		while ((st = sq_step(c, q, &row)) == IK_OK && row && got < max)
			ids[got++] = sq_col_i64(q, 0);
		sq_reset(q);
	}
	/* RETURNING gives no order: the oldest first, as claimed */
	qsort(ids, got, sizeof(*ids), cmp_id);
	for (size_t i = 0; st == IK_OK && i < got; i++)
		st = req_one(c, SQL_REQ_GET, ids[i], NULL, &rows[i]);
	if (st == IK_OK && got == 0)
		st = IK_ERR_NOT_FOUND;
	free(ids);
	if ((st = sq_finish_lazy(c, st)) == IK_OK)
		*n = got;
	return st;
}

ik_status ra_store_request_claim_id(ra_store *s, int64_t id, ra_request *out)
{
	sq_conn *c;
	int64_t v[2] = { id, sq_now() }, changes = 0;
	ik_status st;

	if ((st = sq_get_conn(s, &c)) != IK_OK || (st = sq_begin(c)) != IK_OK)
		return st;
	st = sq_run_ids(c, SQL_REQ_CLAIM_ID, v, 2, &changes);
	if (st == IK_OK)
		st = changes == 0 ? sq_request_why_unchanged(c, id) :
		    req_one(c, SQL_REQ_GET, id, NULL, out);
	return sq_finish(c, st);
}

static ik_status set_req_state(sq_conn *c, int64_t id, ra_request_state to,
    const char *error, int64_t next_attempt)
{
	sqlite3_stmt *q;
	ik_status st = sq_stmt(c, SQL_REQ_SET_STATE, &q);

	if (st != IK_OK)
		return st;
	sq_bind_i64(c, q, 1, id);
	sq_bind_text(c, q, 2, req_states[to]);
	sq_bind_text(c, q, 3, error != NULL ? error : "");
	sq_bind_i64(c, q, 4, next_attempt);
	sq_bind_i64(c, q, 5, sq_now());
	st = sq_exec(c, q, NULL);
	sq_reset(q);
	return st;
}

ik_status sq_serial_norm(const char *in, char out[RA_SERIAL_HEX_MAX + 1])
{
	size_t n;

	if (!sq_len_ok(in, 2, RA_SERIAL_HEX_MAX) || (n = strlen(in)) % 2 != 0)
		return IK_ERR_ARG;
	for (size_t i = 0; i < n; i++) {
		char ch = in[i];
		if (ch >= 'A' && ch <= 'F')
			ch = (char)(ch - 'A' + 'a');
		if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')))
			return IK_ERR_ARG;
		out[i] = ch;
	}
	out[n] = '\0';
	return IK_OK;
}

ik_status sq_cert_store_issued(sq_conn *c, const ra_request *r, const ra_issued *is)
{
	char serial[RA_SERIAL_HEX_MAX + 1];
	uint8_t digest[32];
	unsigned dlen = 0;
	int64_t changes = 0, now = sq_now(), v[2] = { r->cert_id, now };
	sqlite3_stmt *q;
	ik_status st;

	if (is == NULL || is->der == NULL || is->der_len == 0 || is->der_len > 65536 ||
	    is->not_after <= is->not_before || sq_serial_norm(is->serial, serial) != IK_OK)
		return IK_ERR_ARG;
	if (EVP_Digest(is->der, is->der_len, digest, &dlen, EVP_sha256(), NULL) != 1)
		return IK_ERR_CRYPTO;
	/* undone with the caller's savepoint if the certificate is not 'issuing'.  Not for an
	 * orphan (key_lost: never current), nor for a request without a device (a batch's): its
	 * certificate has none either (both rows are made with the same device, and both lose it
	 * together when it is deleted), and the statement costs an ephemeral table even when it
	 * matches nothing */
	if (!r->key_lost && r->device_id != 0 &&
	    (st = sq_run_ids(c, SQL_CERT_UNCURRENT, v, 2, NULL)) != IK_OK)
		return st;
	if ((st = sq_stmt(c, SQL_CERT_ISSUED, &q)) != IK_OK)
		return st;
	sq_bind_i64(c, q, 1, r->cert_id);
	sq_bind_text(c, q, 2, serial);
	sq_bind_blob(c, q, 3, is->der, is->der_len);
	sq_bind_blob(c, q, 4, digest, sizeof(digest));
	sq_bind_i64(c, q, 5, is->not_before);
	sq_bind_i64(c, q, 6, is->not_after);
	sq_bind_i64(c, q, 7, now);
	sq_bind_i64(c, q, 8, r->key_lost != 0);
	st = sq_exec(c, q, &changes);
	sq_reset(q);
	if (st != IK_OK)
		return st;
	return changes == 0 ? IK_ERR_STATE : IK_OK;
}

/* The signer has recorded the event: the certificate's state follows. */
static ik_status store_event(sq_conn *c, const ra_request *r)
{
	const char *to = r->kind == RA_REQ_REVOKE ? "revoked" :
	    r->kind == RA_REQ_SUSPEND ? "suspended" : "active";
	sqlite3_stmt *q;
	int64_t changes = 0;
	ik_status st = sq_stmt(c, SQL_CERT_EVENT, &q);

	if (st != IK_OK)
		return st;
	sq_bind_i64(c, q, 1, r->cert_id);
	sq_bind_text(c, q, 2, to);
	if (r->kind == RA_REQ_REVOKE)
		sq_bind_i64(c, q, 3, r->reason);
	else if (r->kind == RA_REQ_SUSPEND)
		sq_bind_i64(c, q, 3, 6); /* certificateHold */
	sq_bind_i64(c, q, 4, sq_now());
	st = sq_exec(c, q, &changes);
	sq_reset(q);
	return st == IK_OK && changes == 0 ? IK_ERR_STATE : st;
}

/* r (as claimed: 'sent') done, inside the caller's savepoint; settle: its batch's count
 * raised here (else the caller does it). */
ik_status sq_request_complete_tx(ra_store *s, sq_conn *c, const ra_request *r,
    const ra_issued *issued, const ra_hist *h, int settle)
{
	int64_t v[2] = { r->id, sq_now() }, changes = 0;
	ik_status st = sq_run_ids(c, SQL_REQ_DONE, v, 2, &changes);

	if (st == IK_OK && changes == 0)
		st = sq_request_why_unchanged(c, r->id);
	if (st == IK_OK)
		st = is_issuance(r->kind) ? sq_cert_store_issued(c, r, issued) : store_event(c, r);
	if (st == IK_OK && r->kind == RA_REQ_RENEW && r->revoke_old && !r->key_lost) {
		ra_request_new rv = { .kind = RA_REQ_REVOKE, .cert_id = r->old_cert_id,
		    .reason = 4 /* superseded */, .created_by = r->created_by };
		ik_status x = sq_begin(c);

		if (x == IK_OK)
			x = sq_finish(c, sq_request_add_tx(s, c, &rv, NULL, NULL));
		/* already revoked, or its revocation already queued: nothing more to do */
		if (x != IK_OK && x != IK_ERR_STATE)
			st = x;
	}
	if (st == IK_OK && settle)
		st = sq_batch_settle(c, r->batch_id, 1, 0);
	if (st == IK_OK)
		st = sq_hist(s, h);
	return st;
}

ik_status ra_store_request_complete(ra_store *s, int64_t id, const ra_issued *issued,
    const ra_hist *h)
{
	sq_conn *c;
	ra_request r;
	ik_status st;

	if ((st = sq_get_conn(s, &c)) != IK_OK || (st = sq_begin(c)) != IK_OK)
		return st;
	if ((st = req_one(c, SQL_REQ_GET, id, NULL, &r)) == IK_OK && r.state != RA_REQ_SENT)
		st = IK_ERR_STATE;
	if (st == IK_OK)
		st = sq_request_complete_tx(s, c, &r, issued, h, 1);
	return sq_finish(c, st);
}

ik_status ra_store_request_complete_claimed(ra_store *s, const ra_request *claimed,
    const ra_issued *issued, const ra_hist *h)
{
	sq_conn *c;
	ik_status st;

	if ((st = sq_get_conn(s, &c)) != IK_OK || (st = sq_begin(c)) != IK_OK)
		return st;
	return sq_finish(c, sq_request_complete_tx(s, c, claimed, issued, h, 1));
}

ik_status ra_store_request_fail(ra_store *s, int64_t id, const char *error,
    unsigned max_attempts, int64_t retry_at, const ra_hist *h, ra_request_state *state)
{
	char err[RA_STORE_TEXT_MAX + 1];
	sq_conn *c;
	ra_request r;
	int give_up = 0;
	ik_status st;

	sq_clip_text(error, err);
	if ((st = sq_get_conn(s, &c)) != IK_OK || (st = sq_begin(c)) != IK_OK)
		return st;
	if ((st = req_one(c, SQL_REQ_GET, id, NULL, &r)) == IK_OK && r.state != RA_REQ_SENT)
		st = IK_ERR_STATE;
	if (st == IK_OK) {
		give_up = r.attempts >= max_attempts;
		st = set_req_state(c, id, give_up ? RA_REQ_FAILED : RA_REQ_PENDING, err,
		    give_up ? r.next_attempt : retry_at);
	}
	if (st == IK_OK && give_up && is_issuance(r.kind)) {
		int64_t v[2] = { r.cert_id, sq_now() };
		st = sq_run_ids(c, SQL_CERT_FAIL, v, 2, NULL);
	}
	if (st == IK_OK && give_up)
		st = sq_batch_settle(c, r.batch_id, 0, 1);
	if (st == IK_OK)
		st = sq_hist(s, h);
	st = sq_finish(c, st);
	if (st == IK_OK && state != NULL)
		*state = give_up ? RA_REQ_FAILED : RA_REQ_PENDING;
	return st;
}

ik_status ra_store_request_recover(ra_store *s, size_t *n)
{
	sq_conn *c;
	int64_t v[1] = { sq_now() }, changes = 0;
	ik_status st;

	if (n != NULL)
		*n = 0;
	if ((st = sq_get_conn(s, &c)) != IK_OK)
		return st;
	st = sq_run_ids(c, SQL_REQ_RECOVER, v, 1, &changes);
	if (st == IK_OK && n != NULL)
		*n = (size_t)changes;
	return st;
}

ik_status ra_store_request_drop_keyless(ra_store *s, int64_t before, const ra_hist *h,
    size_t *n)
{
	sq_conn *c;
	int64_t v[2] = { before, sq_now() }, certs = 0, reqs = 0;
	ik_status st;

	if (n != NULL)
		*n = 0;
	if ((st = sq_get_conn(s, &c)) != IK_OK || (st = sq_begin(c)) != IK_OK)
		return st;
	st = sq_run_ids(c, SQL_KEYLESS_CERTS, v, 2, &certs);
	if (st == IK_OK)
		st = sq_run_ids(c, SQL_KEYLESS_REQS, v, 2, &reqs);
	if (st == IK_OK && reqs > 0)
		st = sq_hist(s, h);
	st = sq_finish(c, st);
	if (st == IK_OK && n != NULL)
		*n = (size_t)reqs;
	return st;
}

ik_status ra_store_request_list(ra_store *s, unsigned state_mask, int64_t after_id,
    ra_request *rows, size_t max, size_t *n)
{
	const int64_t v[2] = { (int64_t)state_mask, after_id };

	return sq_read_page(s, SQL_REQ_LIST, v, 2, max, read_request, rows, sizeof(*rows), n);
}

ik_status ra_store_request_counts(ra_store *s, uint64_t counts[RA_REQ_FAILED + 1])
{
	return sq_count_states(s, SQL_REQ_COUNTS, req_states, RA_REQ_PENDING, RA_REQ_FAILED,
	    counts);
}

