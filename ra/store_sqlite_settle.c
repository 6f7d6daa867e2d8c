/* store_sqlite_settle: a download whose own issuance got no answer (the signer may have
 * issued it) — its request parked for the queue to settle, and once settled (an orphan:
 * the key died with the download) the same credential offered a fresh certificate. */
#include <stdio.h>
#include <string.h>

#include "store_sqlite_int.h"

static const char SQL_PARK[] =
    "UPDATE requests SET state = 'pending', settle_credential = ?2, last_error = ?3,"
    " next_attempt_at = ?4, updated_at = ?4"
    " WHERE id = ?1 AND state = 'sent' AND generate_here = 1 AND kind IN ('issue', 'renew')"
    " AND pubkey IS NOT NULL";
/* the parked request and its credential, while that still points at its certificate and
 * is not spent */
static const char SQL_REOFFER_READ[] =
    "SELECT r.kind, r.cert_id, r.old_cert_id, r.subject_cn, r.validity_days, r.revoke_old,"
    " r.created_by, d.id FROM requests r JOIN download_credentials d"
    " ON d.id = r.settle_credential WHERE r.id = ?1 AND d.cert_id = r.cert_id"
    " AND d.used_at IS NULL";
static const char SQL_DEVICE_SETTLING[] =
    "SELECT COUNT(*) FROM certificates c JOIN requests r ON r.id = c.request_id"
    " WHERE c.device_id = ?1 AND c.state = 'issuing' AND r.generate_here = 1"
    " AND r.pubkey IS NOT NULL AND r.state IN ('pending', 'sent')";
static const char SQL_REPOINT[] =
    "UPDATE download_credentials SET cert_id = ?2 WHERE id = ?1 AND used_at IS NULL";

ik_status ra_store_request_park(ra_store *s, int64_t id, int64_t credential_id,
    const char *why, const ra_hist *h)
{
	char err[RA_STORE_TEXT_MAX + 1];
	sq_conn *c;
	sqlite3_stmt *q;
	int64_t changes = 0;
	ik_status st;

	sq_clip_text(why != NULL ? why : "", err);
	if ((st = sq_get_conn(s, &c)) != IK_OK || (st = sq_begin(c)) != IK_OK)
		return st;
	if ((st = sq_stmt(c, SQL_PARK, &q)) == IK_OK) {
		sq_bind_i64(c, q, 1, id);
		sq_bind_opt_i64(c, q, 2, credential_id);
		sq_bind_text(c, q, 3, err);
		sq_bind_i64(c, q, 4, sq_now());
		st = sq_exec(c, q, &changes);
		sq_reset(q);
	}
	if (st == IK_OK && changes == 0)
		st = IK_ERR_STATE;
	if (st == IK_OK)
		st = sq_hist(s, h);
	return sq_finish(c, st);
}

typedef struct parked {
	char kind[16];
	int64_t cert_id, old_cert_id, credential_id;
	char cn[RA_CN_MAX + 1];
	char created_by[RA_STORE_NAME_MAX + 1];
	unsigned validity_days;
	int revoke_old;
} parked;

static ik_status read_parked(sqlite3_stmt *q, void *out)
{
	parked *p = out;
	ik_status st;

	memset(p, 0, sizeof(*p));
	if ((st = sq_col_text(q, 0, p->kind, sizeof(p->kind))) != IK_OK ||
	    (st = sq_col_text(q, 3, p->cn, sizeof(p->cn))) != IK_OK ||
	    (st = sq_col_text(q, 6, p->created_by, sizeof(p->created_by))) != IK_OK)
		return st;
	p->cert_id = sq_col_i64(q, 1);
	p->old_cert_id = sq_col_i64(q, 2);
	p->validity_days = (unsigned)sq_col_i64(q, 4);
	p->revoke_old = sq_col_i64(q, 5) != 0;
	p->credential_id = sq_col_i64(q, 7);
	return IK_OK;
}

/* The fresh certificate the credential gets: the same reserved certificate again (issue),
 * or the same renewal again, waiting for its key (renew). */
static ik_status fresh_cert(ra_store *s, sq_conn *c, const parked *p, int64_t *id)
{
	ra_cert t;
	ra_request_new n;
	ra_request out;
	ik_status st;

	if (strcmp(p->kind, "issue") == 0) {
		if ((st = sq_cert_read(c, p->cert_id, &t)) != IK_OK)
			return st;
		return sq_cert_insert(c, t.device_id, t.user_id, t.cn, t.validity_days,
		    RA_CERT_AWAITING_DOWNLOAD, id);
	}
	memset(&n, 0, sizeof(n));
	n.kind = RA_REQ_RENEW;
	n.old_cert_id = p->old_cert_id;
	n.cn = p->cn;
	n.validity_days = p->validity_days;
	n.revoke_old = p->revoke_old;
	n.generate_here = 1;
	n.created_by = p->created_by;
	if ((st = ra_store_request_add(s, &n, NULL, &out)) == IK_OK)
		*id = out.cert_id;
	return st;
}

ik_status ra_store_download_reoffer(ra_store *s, int64_t request_id, const ra_hist *h,
    int64_t *cert_id)
{
	sq_conn *c;
	parked p;
	int64_t id = 0, changes = 0, v[2];
	ik_status st;

	*cert_id = 0;
	if ((st = sq_get_conn(s, &c)) != IK_OK || (st = sq_begin(c)) != IK_OK)
		return st;
	st = sq_read_one(c, SQL_REOFFER_READ, &request_id, NULL, read_parked, &p);
	if (st == IK_ERR_NOT_FOUND) /* not parked by a download, or its credential moved on */
		return sq_finish(c, IK_OK);
	if (st == IK_OK)
		st = fresh_cert(s, c, &p, &id);
	if (st == IK_OK) {
		v[0] = p.credential_id;
		v[1] = id;
		st = sq_run_ids(c, SQL_REPOINT, v, 2, &changes);
	}
	if (st == IK_OK && changes != 1)
		st = IK_ERR_STATE;
	if (st == IK_OK)
		st = sq_hist(s, h);
	if ((st = sq_finish(c, st)) == IK_OK)
		*cert_id = id;
	return st;
}

ik_status ra_store_device_settling(ra_store *s, int64_t device_id, int *yes)
{
	sq_conn *c;
	int64_t n = 0;
	ik_status st;

	*yes = 0;
	if ((st = sq_get_conn(s, &c)) != IK_OK ||
	    (st = sq_count_id(c, SQL_DEVICE_SETTLING, device_id, &n)) != IK_OK)
		return st;
	*yes = n > 0;
	return IK_OK;
}
