/* store_sqlite_import: certificates issued elsewhere (another RA, an earlier system, or the
 * benchmark's million-row store) written straight into the certificate table as issued rows,
 * without a request; the caller groups many in one transaction (ra_store_begin/commit). */
#include <string.h>
#include <openssl/sha.h>

#include "store_sqlite_int.h"

static const char SQL_CERT_IMPORT[] =
    "INSERT INTO certificates(serial, cn, validity_days, not_before, not_after, state, reason,"
    " der, sha256, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10)";

static int import_ok(const ra_cert_import *c)
{
	return c != NULL && sq_len_ok(c->serial, 2, RA_SERIAL_HEX_MAX) && strlen(c->serial) % 2 == 0 &&
	    sq_cn_ok(c->cn) && c->der != NULL && c->der_len > 0 && c->not_after > c->not_before &&
	    (c->state == RA_CERT_ACTIVE || c->state == RA_CERT_REVOKED ||
	    c->state == RA_CERT_EXPIRED || c->state == RA_CERT_SUSPENDED) &&
	    (c->state != RA_CERT_REVOKED || (c->reason >= 0 && c->reason <= 10));
}

ik_status ra_store_cert_import(ra_store *s, const ra_cert_import *c, int64_t *id)
{
	uint8_t md[SHA256_DIGEST_LENGTH];
	int64_t days, row;
	sq_conn *conn;
	sqlite3_stmt *q;
	ik_status st;

	if (!import_ok(c))
		return IK_ERR_ARG;
	days = (c->not_after - c->not_before + 86399) / 86400;
	if (days < 1 || days > 36500)
		return IK_ERR_ARG;
	SHA256(c->der, c->der_len, md);
	if ((st = sq_prep(s, SQL_CERT_IMPORT, &conn, &q)) != IK_OK)
		return st;
	sq_bind_text(conn, q, 1, c->serial);
	sq_bind_text(conn, q, 2, c->cn);
	sq_bind_i64(conn, q, 3, days);
	sq_bind_i64(conn, q, 4, c->not_before);
	sq_bind_i64(conn, q, 5, c->not_after);
	sq_bind_text(conn, q, 6, ra_cert_state_name(c->state));
	if (c->state == RA_CERT_REVOKED)
		sq_bind_i64(conn, q, 7, c->reason);
	else if (c->state == RA_CERT_SUSPENDED)
		sq_bind_i64(conn, q, 7, 6);
	else
		sq_bind_text(conn, q, 7, NULL);
	sq_bind_blob(conn, q, 8, c->der, c->der_len);
	sq_bind_blob(conn, q, 9, md, sizeof(md));
	sq_bind_i64(conn, q, 10, c->created != 0 ? c->created : c->not_before);
	if ((st = sq_begin(conn)) != IK_OK) {
		sq_reset(q);
		return st;
	}
	st = sq_exec(conn, q, NULL);
	row = sq_last_id(conn);
	sq_reset(q);
	if (st == IK_OK)
		st = sq_cert_fts_add(conn, row, c->cn);
	if ((st = sq_finish(conn, st)) == IK_OK && id != NULL)
		*id = row;
	return st;
}
