/* store_sqlite_complete: a claimed group's answers recorded at once (the queue's
 * ra_store_request_complete_group): one transaction for the group, a batch's plain issues
 * 16 certificates to a statement, each batch's count raised once. */
#include <string.h>
#include <openssl/evp.h>

#include "store_sqlite_int.h"

static const char SQL_REQ_DONE[] =
    "UPDATE requests SET state = 'done', last_error = '', updated_at = ?2"
    " WHERE id = ?1 AND state = 'sent'";
#define ID4 "?, ?, ?, ?"
static const char SQL_REQS_DONE[] =
    "UPDATE requests SET state = 'done', last_error = '', updated_at = ?1"
    " WHERE state = 'sent' AND id IN (" ID4 ", " ID4 ", " ID4 ", " ID4 ")";

/* Issued certificates without a device (a batch's: no other certificate to make not
 * current), CG_ROWS to a statement: SQLite opens a statement journal for each UPDATE of a
 * certificate's state (the counters' trigger) and copies every page it changes into it. */
#define CG_ROWS 16
#define CG_ROW "(?, ?, ?, ?, ?, ?)"
#define CG_ROW4 CG_ROW ", " CG_ROW ", " CG_ROW ", " CG_ROW
#define CG_ISSUED "UPDATE certificates SET serial = v.column2, der = v.column3," \
	" sha256 = v.column4, not_before = v.column5, not_after = v.column6, state = 'active'," \
	" updated_at = ?1 FROM (VALUES "
#define CG_WHERE ") AS v WHERE certificates.id = v.column1 AND certificates.state = 'issuing'" \
	" AND certificates.device_id IS NULL"
static const char SQL_CG_ISSUED[] = CG_ISSUED CG_ROW CG_WHERE;
static const char SQL_CG_ISSUED_ROWS[] =
    CG_ISSUED CG_ROW4 ", " CG_ROW4 ", " CG_ROW4 ", " CG_ROW4 CG_WHERE;

/* One row of SQL_CG_ISSUED*, from parameter p + 1 on; serial and digest are bound as they
 * are (they must last until the statement has run). */
static ik_status issued_bind(sq_conn *c, sqlite3_stmt *q, int p, const ra_request *r,
    const ra_issued *is, char serial[RA_SERIAL_HEX_MAX + 1], uint8_t digest[32])
{
	unsigned dlen = 0;

	if (is->der == NULL || is->der_len == 0 || is->der_len > 65536 ||
	    is->not_after <= is->not_before || sq_serial_norm(is->serial, serial) != IK_OK)
		return IK_ERR_ARG;
	if (EVP_Digest(is->der, is->der_len, digest, &dlen, EVP_sha256(), NULL) != 1)
		return IK_ERR_CRYPTO;
	sq_bind_i64(c, q, p + 1, r->cert_id);
	sq_bind_text(c, q, p + 2, serial);
	sq_bind_blob(c, q, p + 3, is->der, is->der_len);
	sq_bind_blob(c, q, p + 4, digest, 32);
	sq_bind_i64(c, q, p + 5, is->not_before);
	sq_bind_i64(c, q, p + 6, is->not_after);
	return IK_OK;
}

static ik_status issued_rows(sq_conn *c, const ra_request *claimed, const ra_issued *issued,
    size_t n)
{
	char serial[CG_ROWS][RA_SERIAL_HEX_MAX + 1];
	uint8_t digest[CG_ROWS][32];
	int64_t now = sq_now();
	ik_status st = IK_OK;

	for (size_t k = 0; st == IK_OK && k < n;) {
		size_t rows = n - k >= CG_ROWS ? CG_ROWS : 1;
		int64_t changes = 0;
		sqlite3_stmt *q;

		if ((st = sq_stmt(c, rows == CG_ROWS ? SQL_CG_ISSUED_ROWS : SQL_CG_ISSUED, &q)) !=
		    IK_OK)
			return st;
		sq_bind_i64(c, q, 1, now);
		for (size_t i = 0; st == IK_OK && i < rows; i++, k++)
			st = issued_bind(c, q, 1 + (int)(6 * i), &claimed[k], &issued[k], serial[i],
			    digest[i]);
		if (st == IK_OK)
			st = sq_exec(c, q, &changes);
		sq_reset(q);
		if (st == IK_OK && changes != (int64_t)rows)
			st = IK_ERR_STATE; /* one is not 'issuing' (or has a device after all) */
	}
	return st;
}

/* The claimed requests ('sent') done, CG_ROWS to a statement; one that is not 'sent' any
 * more fails the group (IK_ERR_STATE: the caller's per-request path then says which). */
static ik_status reqs_done(sq_conn *c, const ra_request *claimed, size_t n)
{
	int64_t now = sq_now(), v[CG_ROWS + 1];
	ik_status st = IK_OK;

	for (size_t k = 0; st == IK_OK && k < n;) {
		int64_t changes = 0;

		if (n - k < CG_ROWS) {
			int64_t one[2] = { claimed[k].id, now };

			st = sq_run_ids(c, SQL_REQ_DONE, one, 2, &changes);
			if (st == IK_OK && changes == 0)
				st = sq_request_why_unchanged(c, claimed[k].id);
			k++;
			continue;
		}
		v[0] = now;
		for (size_t i = 0; i < CG_ROWS; i++, k++)
			v[1 + i] = claimed[k].id;
		st = sq_run_ids(c, SQL_REQS_DONE, v, CG_ROWS + 1, &changes);
		if (st == IK_OK && changes != CG_ROWS)
			st = IK_ERR_STATE;
	}
	return st;
}

/* Plain issues without a device (a batch's), all of them: the requests done CG_ROWS to a
 * statement, their certificates too, the history with one savepoint. */
static ik_status complete_issues_tx(ra_store *s, sq_conn *c, const ra_request *claimed,
    const ra_issued *issued, const ra_hist *h, size_t n)
{
	ik_status st = reqs_done(c, claimed, n);

	if (st == IK_OK)
		st = issued_rows(c, claimed, issued, n);
	/* one savepoint and one read of the chain's tail for the group's entries */
	if (st == IK_OK)
		st = ra_history_record_group(s, h, n);
	return st;
}

/* Single CSR issues for devices (the HTTP path's): the requests done, each certificate
 * stored (and made its device's current one), the history with one savepoint for the
 * group instead of one per request. */
static ik_status complete_device_issues_tx(ra_store *s, sq_conn *c, const ra_request *claimed,
    const ra_issued *issued, const ra_hist *h, size_t n)
{
	ik_status st = reqs_done(c, claimed, n);

	for (size_t k = 0; st == IK_OK && k < n; k++)
		st = sq_cert_store_issued(c, &claimed[k], &issued[k]);
	if (st == IK_OK)
		st = ra_history_record_group(s, h, n);
	return st;
}

/* The group's completions, then each batch's count once (a claim's group is mostly one
 * batch's requests, in id order). */
static ik_status complete_group_tx(ra_store *s, sq_conn *c, const ra_request *claimed,
    const ra_issued *issued, const ra_hist *h, size_t n)
{
	int plain = issued != NULL, devices = issued != NULL && n > 1;
	ik_status st = IK_OK;

	for (size_t k = 0; (plain || devices) && k < n; k++) {
		int issue = claimed[k].kind == RA_REQ_ISSUE && !claimed[k].key_lost;

		plain = plain && issue && claimed[k].device_id == 0;
		devices = devices && issue && claimed[k].device_id != 0;
	}
	if (plain)
		st = complete_issues_tx(s, c, claimed, issued, h, n);
	else if (devices)
		st = complete_device_issues_tx(s, c, claimed, issued, h, n);
	for (size_t k = 0; !plain && !devices && st == IK_OK && k < n; k++)
		st = sq_request_complete_tx(s, c, &claimed[k], issued != NULL ? &issued[k] : NULL,
		    &h[k], 0);
	for (size_t k = 0; st == IK_OK && k < n; k++) {
		int64_t b = claimed[k].batch_id;
		int first = b != 0, done = 0;

		for (size_t j = 0; j < k && first; j++)
			first = claimed[j].batch_id != b;
		for (size_t j = k; j < n && first; j++)
			done += claimed[j].batch_id == b;
		if (first)
			st = sq_batch_settle(c, b, done, 0);
	}
	return st;
}

ik_status ra_store_request_complete_group(ra_store *s, const ra_request *claimed,
    const ra_issued *issued, const ra_hist *h, size_t n)
{
	sq_conn *c;
	ik_status st;

	if (claimed == NULL || h == NULL || n == 0)
		return IK_ERR_ARG;
	if ((st = sq_get_conn(s, &c)) != IK_OK || (st = sq_begin(c)) != IK_OK)
		return st;
	return sq_finish(c, complete_group_tx(s, c, claimed, issued, h, n));
}
