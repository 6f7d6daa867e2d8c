/* store_sqlite_batch_keys: "issue N more" batches whose device keys the RA makes — the
 * batch with its envelope keys, the next certificate added together with its sealed device
 * key (resumable: the count of the batch's requests decides), the certificates for the one
 * download, and the deletion of every key after it.  Keys arrive here encrypted only. */
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "store_sqlite_int.h"

static const char PEM_ENCRYPTED[] = "-----BEGIN ENCRYPTED PRIVATE KEY-----";

static const char SQL_BK_INSERT[] =
    "INSERT INTO batches(kind, cn_pattern, created_by, created_at, updated_at, planned,"
    " validity_days, key_type, p12_format, envelope_spki, envelope_key)"
    " VALUES ('issue', ?1, ?2, ?3, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";
static const char SQL_BK_QUOTA_USED[] =
    "SELECT COUNT(*) FROM certificates WHERE state <> 'failed'";
static const char SQL_BK_INFO[] =
    "SELECT planned, validity_days, key_type, p12_format, envelope_spki,"
    " envelope_key IS NOT NULL, IFNULL(downloaded_at, 0) FROM batches WHERE id = ?1";
static const char SQL_BK_CERT_STATES[] =
    "SELECT IFNULL(SUM(c.state = 'issuing'), 0), IFNULL(SUM(c.state = 'active'), 0)"
    " FROM requests r INDEXED BY requests_batch_cert"
    " JOIN certificates c INDEXED BY certs_id_state ON c.id = r.cert_id WHERE r.batch_id = ?1";
static const char SQL_BK_RUNNING_ID[] = "SELECT id FROM batches WHERE state = 'running'";
static const char SQL_BK_CN_MAX[] =
    "SELECT cn FROM certificates WHERE cn >= ?1 AND cn < ?2 AND length(CAST(cn AS BLOB)) = ?3"
    " ORDER BY cn DESC";
static const char SQL_BK_CN_TAKEN[] = "SELECT COUNT(*) FROM certificates WHERE cn = ?1";
static const char SQL_BK_SET_ENVELOPE[] =
    "UPDATE certificates SET key_envelope = ?2 WHERE id = ?1 AND key_envelope IS NULL";
static const char SQL_BK_KEY[] =
    "SELECT planned, envelope_key FROM batches WHERE id = ?1";
static const char SQL_BK_ITEMS[] =
    "SELECT c.id, c.cn, IFNULL(c.serial, ''), c.state, c.der, c.key_envelope, r.pubkey"
    " FROM requests r JOIN certificates c ON c.id = r.cert_id"
    " WHERE r.batch_id = ?1 ORDER BY c.id";
static const char SQL_BK_PURGE_CERTS[] =
    "UPDATE certificates SET key_envelope = NULL"
    " WHERE key_envelope IS NOT NULL AND id IN (SELECT cert_id FROM requests WHERE batch_id = ?1)";
static const char SQL_BK_WAL_TRUNCATE[] = "PRAGMA wal_checkpoint(TRUNCATE)";
static const char SQL_BK_PURGE_BATCH[] =
    "UPDATE batches SET envelope_key = NULL, envelope_cek = NULL, downloaded_at = ?2,"
    " updated_at = ?2"
    " WHERE id = ?1 AND planned > 0 AND downloaded_at IS NULL AND state <> 'running'";

/* IKB2: the batch's content key, wrapped to its envelope public key, set once while the
 * batch runs and before any of its keys is sealed under it. */
static const char SQL_BK_SET_CEK[] =
    "UPDATE batches SET envelope_cek = ?2"
    " WHERE id = ?1 AND envelope_cek IS NULL AND state = 'running' AND planned > 0";
static const char SQL_BK_CEK[] = "SELECT envelope_cek FROM batches WHERE id = ?1";

static int one_of(const char *v, const char *const *set, size_t n)
{
	for (size_t i = 0; v != NULL && i < n; i++)
		if (strcmp(v, set[i]) == 0)
			return 1;
	return 0;
}

/* Certificates counting against the quota (every one not failed). */
static ik_status quota_used(sq_conn *c, int64_t *n)
{
	sqlite3_stmt *q;
	int row;
	ik_status st = sq_stmt(c, SQL_BK_QUOTA_USED, &q);

	*n = 0;
	if (st != IK_OK)
		return st;
	if ((st = sq_step(c, q, &row)) == IK_OK && row)
		*n = sq_col_i64(q, 0);
	sq_reset(q);
	return st;
}

static int keyed_new_ok(const ra_batch_keyed_new *b)
{
	static const char *const types[] = { "ec-p256", "ec-p384", "rsa-2048", "rsa-3072" };
	static const char *const formats[] = { "modern", "compatible" };

	return b->planned >= 1 && b->planned <= RA_BATCH_PLANNED_MAX &&
	    sq_validity_ok(b->validity_days) && sq_len_ok(b->cn_pattern, 1, RA_CN_MAX) &&
	    one_of(b->key_type, types, 4) && one_of(b->p12_format, formats, 2) &&
	    b->envelope_spki != NULL && b->envelope_spki_len > 0 &&
	    b->envelope_spki_len <= RA_SPKI_MAX &&
	    sq_len_ok(b->envelope_key, sizeof(PEM_ENCRYPTED) - 1, RA_BATCH_KEY_PEM_MAX) &&
	    strncmp(b->envelope_key, PEM_ENCRYPTED, sizeof(PEM_ENCRYPTED) - 1) == 0 &&
	    sq_len_ok(b->created_by, 0, RA_STORE_NAME_MAX);
}

ik_status ra_store_batch_create_keyed(ra_store *s, const ra_batch_keyed_new *b,
    const ra_hist *h, int64_t *id)
{
	sq_conn *c;
	sqlite3_stmt *q;
	int64_t used = 0;
	ik_status st;

	*id = 0;
	if (!keyed_new_ok(b))
		return IK_ERR_ARG;
	if ((st = sq_get_conn(s, &c)) != IK_OK || (st = sq_begin(c)) != IK_OK)
		return st;
	if (b->quota > 0 && (st = quota_used(c, &used)) == IK_OK &&
	    (uint64_t)used + b->planned > b->quota)
		st = IK_ERR_STATE;
	if (st == IK_OK && (st = sq_stmt(c, SQL_BK_INSERT, &q)) == IK_OK) {
		sq_bind_text(c, q, 1, b->cn_pattern);
		sq_bind_text(c, q, 2, b->created_by);
		sq_bind_i64(c, q, 3, sq_now());
		sq_bind_i64(c, q, 4, (int64_t)b->planned);
		sq_bind_i64(c, q, 5, b->validity_days);
		sq_bind_text(c, q, 6, b->key_type);
		sq_bind_text(c, q, 7, b->p12_format);
		sq_bind_blob(c, q, 8, b->envelope_spki, b->envelope_spki_len);
		sq_bind_text(c, q, 9, b->envelope_key);
		st = sq_exec(c, q, NULL);
		if (st == IK_OK)
			*id = sq_last_id(c);
		else if (st == IK_ERR_EXISTS) /* batches_one_running */
			st = IK_ERR_STATE;
		sq_reset(q);
	}
	if (st == IK_OK)
		st = sq_hist(s, h);
	st = sq_finish(c, st);
	if (st != IK_OK)
		*id = 0;
	return st;
}

/* The batch and its settings; with states, also how many of its certificates are issuing
 * and active: from the counters while it runs, else a pass over the batch's requests (not
 * for the per-key path, where it made adding a batch O(n^2)). */
static ik_status info_read_states(sq_conn *c, int64_t id, ra_batch_info *out, int states)
{
	sqlite3_stmt *q;
	int row;
	ik_status st;

	memset(out, 0, sizeof(*out));
	if ((st = sq_batch_read(c, id, &out->b)) != IK_OK)
		return st;
	if ((st = sq_stmt(c, SQL_BK_INFO, &q)) != IK_OK)
		return st;
	sq_bind_i64(c, q, 1, id);
	if ((st = sq_step(c, q, &row)) == IK_OK && !row)
		st = IK_ERR_NOT_FOUND;
	if (st == IK_OK) {
		const void *spki = sqlite3_column_blob(q, 4);
		int n = sqlite3_column_bytes(q, 4);

		out->planned = (uint64_t)sq_col_i64(q, 0);
		out->validity_days = (unsigned)sq_col_i64(q, 1);
		if ((st = sq_col_text(q, 2, out->key_type, sizeof(out->key_type))) == IK_OK)
			st = sq_col_text(q, 3, out->p12_format, sizeof(out->p12_format));
		if (st == IK_OK && spki != NULL && n > 0) {
			if ((size_t)n > sizeof(out->envelope_spki))
				st = IK_ERR_IO;
			else {
				memcpy(out->envelope_spki, spki, (size_t)n);
				out->envelope_spki_len = (size_t)n;
			}
		}
		out->has_envelope_key = sq_col_i64(q, 5) != 0;
		out->downloaded = sq_col_i64(q, 6);
	}
	sq_reset(q);
	if (st == IK_OK && states && out->b.state == RA_BATCH_RUNNING) {
		uint64_t settled = out->b.done + out->b.failed;

		out->issuing = out->b.total > settled ? out->b.total - settled : 0;
		out->active = out->b.done;
		return IK_OK;
	}
	if (st != IK_OK || !states || (st = sq_stmt(c, SQL_BK_CERT_STATES, &q)) != IK_OK)
		return st;
	sq_bind_i64(c, q, 1, id);
	if ((st = sq_step(c, q, &row)) == IK_OK && row) {
		out->issuing = (uint64_t)sq_col_i64(q, 0);
		out->active = (uint64_t)sq_col_i64(q, 1);
	}
	sq_reset(q);
	return st;
}

static ik_status info_read(sq_conn *c, int64_t id, ra_batch_info *out)
{
	return info_read_states(c, id, out, 1);
}

ik_status ra_store_batch_info(ra_store *s, int64_t id, ra_batch_info *out)
{
	sq_conn *c;
	ik_status st = sq_get_conn(s, &c);

	return st != IK_OK ? st : info_read(c, id, out);
}

static ik_status running_info(ra_store *s, ra_batch_info *out, int states)
{
	sq_conn *c;
	sqlite3_stmt *q;
	int64_t id = 0;
	int row;
	ik_status st;

	if ((st = sq_prep(s, SQL_BK_RUNNING_ID, &c, &q)) != IK_OK)
		return st;
	if ((st = sq_step(c, q, &row)) == IK_OK)
		id = row ? sq_col_i64(q, 0) : 0;
	sq_reset(q);
	if (st != IK_OK)
		return st;
	return id == 0 ? IK_ERR_NOT_FOUND : info_read_states(c, id, out, states);
}

ik_status ra_store_batch_running_info(ra_store *s, ra_batch_info *out)
{
	return running_info(s, out, 1);
}

ik_status ra_store_batch_running_plan(ra_store *s, ra_batch_info *out)
{
	return running_info(s, out, 0);
}

/* cn is prefix, width digits, suffix; *n gets the number. */
static int cn_number(const char *cn, size_t plen, unsigned width, const char *suffix,
    uint64_t *n)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < width; i++) {
		char ch = cn[plen + i];
		if (ch < '0' || ch > '9')
			return 0;
		v = v * 10 + (uint64_t)(ch - '0');
	}
	if (strcmp(cn + plen + width, suffix) != 0)
		return 0;
	*n = v;
	return 1;
}

ik_status ra_store_cert_cn_max(ra_store *s, const char *prefix, unsigned width,
    const char *suffix, uint64_t *max, int *found)
{
	char lo[RA_CN_MAX + 2], hi[RA_CN_MAX + 2];
	size_t plen, slen;
	sq_conn *c;
	sqlite3_stmt *q;
	int row = 1;
	ik_status st;

	*max = 0;
	*found = 0;
	if (prefix == NULL || suffix == NULL || width < 1 || width > 19)
		return IK_ERR_ARG;
	plen = strlen(prefix);
	slen = strlen(suffix);
	if (plen + width + slen > RA_CN_MAX)
		return IK_ERR_ARG;
	/* every name of the pattern lies in [prefix "0", prefix ":"): ':' follows '9' */
	snprintf(lo, sizeof(lo), "%s0", prefix);
	snprintf(hi, sizeof(hi), "%s:", prefix);
	if ((st = sq_prep(s, SQL_BK_CN_MAX, &c, &q)) != IK_OK)
		return st;
	sq_bind_text(c, q, 1, lo);
	sq_bind_text(c, q, 2, hi);
	sq_bind_i64(c, q, 3, (int64_t)(plen + width + slen));
	while ((st = sq_step(c, q, &row)) == IK_OK && row) {
		const char *cn = (const char *)sqlite3_column_text(q, 0);
		uint64_t n;
		if (cn != NULL && cn_number(cn, plen, width, suffix, &n)) {
			/* descending order and a fixed width: the first match is the highest */
			*max = n;
			*found = 1;
			break;
		}
	}
	sq_reset(q);
	return st;
}

static ik_status add_keyed_tx(ra_store *s, sq_conn *c, const ra_batch_item_new *it,
    const ra_hist *h, ra_request *out)
{
	ra_batch_info bi;
	ra_request req;
	int64_t n = 0;
	ik_status st;

	if ((st = info_read_states(c, it->batch_id, &bi, 0)) != IK_OK)
		return st;
	if (bi.planned == 0 || bi.b.state != RA_BATCH_RUNNING || bi.b.sealed)
		return IK_ERR_STATE;
	/* the count decides, in this transaction: after a crash nothing is added twice.  It is
	 * the batch's total, which every request added to it raises in the same transaction
	 * (sq_batch_take): a COUNT(*) of its requests would be read again per key, O(n^2). */
	n = (int64_t)bi.b.total;
	if ((uint64_t)n >= bi.planned)
		return IK_ERR_STATE;
	if ((uint64_t)n != it->index)
		return IK_ERR_EXISTS;
	{
		sqlite3_stmt *q;
		int row;
		if ((st = sq_stmt(c, SQL_BK_CN_TAKEN, &q)) != IK_OK)
			return st;
		sq_bind_text(c, q, 1, it->cn);
		if ((st = sq_step(c, q, &row)) == IK_OK && row && sq_col_i64(q, 0) > 0)
			st = IK_ERR_EXISTS;
		sq_reset(q);
		if (st != IK_OK)
			return st;
	}
	{
		ra_request_new rn = { .kind = RA_REQ_ISSUE, .batch_id = it->batch_id, .cn = it->cn,
		    .validity_days = bi.validity_days, .spki = it->spki, .spki_len = it->spki_len,
		    .quota = it->quota, .created_by = bi.b.created_by };
		if ((st = ra_store_request_add(s, &rn, h, &req)) != IK_OK)
			return st;
	}
	{
		sqlite3_stmt *q;
		int64_t changes = 0;
		if ((st = sq_stmt(c, SQL_BK_SET_ENVELOPE, &q)) != IK_OK)
			return st;
		sq_bind_i64(c, q, 1, req.cert_id);
		sq_bind_blob(c, q, 2, it->envelope, it->envelope_len);
		st = sq_exec(c, q, &changes);
		sq_reset(q);
		if (st == IK_OK && changes != 1)
			st = IK_ERR_INTERNAL;
	}
	if (st == IK_OK && out != NULL)
		*out = req;
	return st;
}

ik_status ra_store_batch_add_keyed(ra_store *s, const ra_batch_item_new *it,
    const ra_hist *h, ra_request *out)
{
	sq_conn *c;
	ik_status st;

	if (it == NULL || it->batch_id <= 0 || !sq_cn_ok(it->cn) || it->spki == NULL ||
	    it->spki_len == 0 || it->spki_len > RA_SPKI_MAX || it->envelope == NULL ||
	    it->envelope_len == 0 || it->envelope_len > RA_BATCH_ENVELOPE_MAX)
		return IK_ERR_ARG;
	if ((st = sq_get_conn(s, &c)) != IK_OK || (st = sq_begin(c)) != IK_OK)
		return st;
	return sq_finish(c, add_keyed_tx(s, c, it, h, out));
}

/* ---- a group of keys at once ----
 * The per-key path above costs a savepoint per key (SQLite copies every page the key
 * touches into the savepoint's journal, and each savepoint after an FTS5 write makes FTS5
 * flush its pending terms as a new segment), an UPDATE of the certificate's state and
 * request id (every state index) and another for its sealed key, and the batch's total
 * raised per key.  Here the certificates are inserted with their sealed keys, several to a
 * statement, then the requests, then the certificates' request ids in one statement (the
 * two rows name each other; deferring the foreign keys instead makes SQLite look for
 * children of every new parent row, requests.old_cert_id by a full scan); the ids are the
 * next free rowids, taken in this write transaction; the CNs go into the search index in
 * one statement at the end, and the total grows once.  All or nothing, in one savepoint. */

static const char SQL_BG_CERT_MAX[] = "SELECT IFNULL(MAX(id), 0) FROM certificates";
static const char SQL_BG_REQ_MAX[] = "SELECT IFNULL(MAX(id), 0) FROM requests";
/* certificates in rows of BG_ROWS per statement: SQLite opens a statement journal for each
 * (the row counters' trigger), copying every page the statement changes into it */
#define BG_ROWS 16
#define BG_ROW "(?, ?, ?, 'issuing', ?, ?, ?)"
#define BG_ROW4 BG_ROW ", " BG_ROW ", " BG_ROW ", " BG_ROW
#define BG_CERT_INSERT "INSERT INTO certificates(id, cn, validity_days, state, created_at," \
	" updated_at, key_envelope) VALUES "
static const char SQL_BG_CERT_INSERT[] = BG_CERT_INSERT BG_ROW;
static const char SQL_BG_CERT_INSERT_ROWS[] =
    BG_CERT_INSERT BG_ROW4 ", " BG_ROW4 ", " BG_ROW4 ", " BG_ROW4;
/* each certificate's request: the ids of both run in step */
static const char SQL_BG_CERT_LINK[] =
    "UPDATE certificates SET request_id = id + ?3 WHERE id BETWEEN ?1 AND ?2";
/* their requests, BG_ROWS to a statement too */
#define BG_REQ_ROW "(?, ?, 'issue', ?, ?, ?, ?, ?, ?, ?, ?)"
#define BG_REQ_ROW4 BG_REQ_ROW ", " BG_REQ_ROW ", " BG_REQ_ROW ", " BG_REQ_ROW
#define BG_REQ_INSERT "INSERT INTO requests(id, request_id, kind, batch_id, cert_id," \
	" subject_cn, validity_days, pubkey, created_by, created_at, updated_at) VALUES "
static const char SQL_BG_REQ_INSERT[] = BG_REQ_INSERT BG_REQ_ROW;
static const char SQL_BG_REQ_INSERT_ROWS[] =
    BG_REQ_INSERT BG_REQ_ROW4 ", " BG_REQ_ROW4 ", " BG_REQ_ROW4 ", " BG_REQ_ROW4;
static const char SQL_BG_FTS[] =
    "INSERT INTO certs_cn_fts(rowid, cn) SELECT id, cn FROM certificates"
    " WHERE id BETWEEN ?1 AND ?2";
static const char SQL_BG_TOTAL[] =
    "UPDATE batches SET total = total + ?2, updated_at = ?3"
    " WHERE id = ?1 AND state = 'running' AND kind = 'issue' AND total = ?4";

static int item_ok(const ra_batch_item_new *it)
{
	return it->batch_id > 0 && sq_cn_ok(it->cn) && it->spki != NULL && it->spki_len > 0 &&
	    it->spki_len <= RA_SPKI_MAX && it->envelope != NULL && it->envelope_len > 0 &&
	    it->envelope_len <= RA_BATCH_ENVELOPE_MAX;
}

static ik_status max_id(sq_conn *c, const char *sql, int64_t *id)
{
	sqlite3_stmt *q;
	int row;
	ik_status st = sq_stmt(c, sql, &q);

	if (st != IK_OK)
		return st;
	if ((st = sq_step(c, q, &row)) == IK_OK)
		*id = row ? sq_col_i64(q, 0) : 0;
	sq_reset(q);
	return st == IK_OK && *id >= INT64_MAX - RA_BATCH_GROUP_MAX ? IK_ERR_STATE : st;
}

/* The checks the per-key path makes, for the whole group, before anything is written. */
static ik_status group_check(sq_conn *c, const ra_batch_item_new *items, size_t n,
    ra_batch_info *bi)
{
	sqlite3_stmt *q;
	ik_status st;

	if ((st = info_read_states(c, items[0].batch_id, bi, 0)) != IK_OK)
		return st;
	if (bi->planned == 0 || bi->b.state != RA_BATCH_RUNNING || bi->b.sealed ||
	    bi->b.total + n > bi->planned)
		return IK_ERR_STATE;
	if (bi->b.total != items[0].index)
		return IK_ERR_EXISTS;
	/* the last key sees the n - 1 before it counted: refused when used + n - 1 >= quota */
	if (items[0].quota > 0 && items[0].quota <= n - 1)
		return IK_ERR_STATE;
	if ((st = sq_quota_check(c, items[0].quota > 0 ? items[0].quota - (n - 1) : 0)) != IK_OK)
		return st;
	for (size_t k = 0; k < n; k++) {
		int row;

		if (!item_ok(&items[k]) || items[k].batch_id != items[0].batch_id ||
		    items[k].index != items[0].index + k || items[k].quota != items[0].quota)
			return IK_ERR_ARG;
		if ((st = sq_stmt(c, SQL_BK_CN_TAKEN, &q)) != IK_OK)
			return st;
		sq_bind_text(c, q, 1, items[k].cn);
		if ((st = sq_step(c, q, &row)) == IK_OK && row && sq_col_i64(q, 0) > 0)
			st = IK_ERR_EXISTS;
		sq_reset(q);
		if (st != IK_OK)
			return st;
	}
	return IK_OK;
}

/* The certificates of items[0..n) (ids cert0 + 1 on), BG_ROWS to a statement. */
static ik_status group_certs(sq_conn *c, const ra_batch_info *bi,
    const ra_batch_item_new *items, size_t n, int64_t cert0, int64_t now)
{
	sqlite3_stmt *q;
	ik_status st = IK_OK;

	for (size_t k = 0; st == IK_OK && k < n;) {
		size_t rows = n - k >= BG_ROWS ? BG_ROWS : 1;

		if ((st = sq_stmt(c, rows == BG_ROWS ? SQL_BG_CERT_INSERT_ROWS : SQL_BG_CERT_INSERT,
		    &q)) != IK_OK)
			return st;
		for (size_t i = 0; i < rows; i++, k++) {
			int p = (int)(6 * i);

			sq_bind_i64(c, q, p + 1, cert0 + 1 + (int64_t)k);
			sq_bind_text(c, q, p + 2, items[k].cn);
			sq_bind_i64(c, q, p + 3, bi->validity_days);
			sq_bind_i64(c, q, p + 4, now);
			sq_bind_i64(c, q, p + 5, now);
			sq_bind_blob(c, q, p + 6, items[k].envelope, items[k].envelope_len);
		}
		st = sq_exec(c, q, NULL);
		sq_reset(q);
	}
	return st;
}

/* The requests of items[0..n) (ids req0 + 1 on), each for its certificate (ids cert0 + 1
 * on), BG_ROWS to a statement. */
static ik_status group_requests(sq_conn *c, const ra_batch_info *bi,
    const ra_batch_item_new *items, size_t n, int64_t cert0, int64_t req0, int64_t now)
{
	char rid[BG_ROWS][RA_REQUEST_ID_LEN + 1];
	sqlite3_stmt *q;
	ik_status st = IK_OK;

	for (size_t k = 0; st == IK_OK && k < n;) {
		size_t rows = n - k >= BG_ROWS ? BG_ROWS : 1;

		if ((st = sq_stmt(c, rows == BG_ROWS ? SQL_BG_REQ_INSERT_ROWS : SQL_BG_REQ_INSERT,
		    &q)) != IK_OK)
			return st;
		for (size_t i = 0; st == IK_OK && i < rows; i++, k++) {
			int p = (int)(10 * i);

			if ((st = sq_request_id_new(rid[i])) != IK_OK)
				break;
			sq_bind_i64(c, q, p + 1, req0 + 1 + (int64_t)k);
			sq_bind_text(c, q, p + 2, rid[i]);
			sq_bind_i64(c, q, p + 3, items[k].batch_id);
			sq_bind_i64(c, q, p + 4, cert0 + 1 + (int64_t)k);
			sq_bind_text(c, q, p + 5, items[k].cn);
			sq_bind_i64(c, q, p + 6, bi->validity_days);
			sq_bind_blob(c, q, p + 7, items[k].spki, items[k].spki_len);
			sq_bind_text(c, q, p + 8, bi->b.created_by);
			sq_bind_i64(c, q, p + 9, now);
			sq_bind_i64(c, q, p + 10, now);
		}
		if (st == IK_OK)
			st = sq_exec(c, q, NULL);
		sq_reset(q);
	}
	return st;
}

static ik_status add_group_tx(sq_conn *c, const ra_batch_item_new *items, size_t n)
{
	ra_batch_info bi;
	int64_t cert0 = 0, req0 = 0, now = sq_now(), changes = 0;
	ik_status st;

	if ((st = group_check(c, items, n, &bi)) != IK_OK ||
	    (st = max_id(c, SQL_BG_CERT_MAX, &cert0)) != IK_OK ||
	    (st = max_id(c, SQL_BG_REQ_MAX, &req0)) != IK_OK)
		return st;
	st = group_certs(c, &bi, items, n, cert0, now);
	if (st == IK_OK)
		st = group_requests(c, &bi, items, n, cert0, req0, now);
	if (st == IK_OK) {
		int64_t v[3] = { cert0 + 1, cert0 + (int64_t)n, req0 - cert0 };
		if ((st = sq_run_ids(c, SQL_BG_CERT_LINK, v, 3, NULL)) == IK_OK)
			st = sq_run_ids(c, SQL_BG_FTS, v, 2, NULL);
	}
	if (st == IK_OK) {
		int64_t v[4] = { items[0].batch_id, (int64_t)n, now, (int64_t)items[0].index };
		st = sq_run_ids(c, SQL_BG_TOTAL, v, 4, &changes);
		if (st == IK_OK && changes != 1)
			st = IK_ERR_STATE;
	}
	return st;
}

ik_status ra_store_batch_add_group(ra_store *s, const ra_batch_item_new *items, size_t n)
{
	sq_conn *c;
	ik_status st;

	if (items == NULL || n == 0 || n > RA_BATCH_GROUP_MAX)
		return IK_ERR_ARG;
	if ((st = sq_get_conn(s, &c)) != IK_OK || (st = sq_begin(c)) != IK_OK)
		return st;
	return sq_finish(c, add_group_tx(c, items, n));
}

ik_status ra_store_batch_envelope_key(ra_store *s, int64_t id, ik_buf *pem)
{
	sq_conn *c;
	sqlite3_stmt *q;
	int row;
	ik_status st;

	if ((st = sq_prep(s, SQL_BK_KEY, &c, &q)) != IK_OK)
		return st;
	sq_bind_i64(c, q, 1, id);
	if ((st = sq_step(c, q, &row)) == IK_OK) {
		if (!row || sq_col_i64(q, 0) == 0)
			st = IK_ERR_NOT_FOUND;
		else if (sqlite3_column_type(q, 1) == SQLITE_NULL)
			st = IK_ERR_STATE;
		else
			st = ik_buf_put(pem, sqlite3_column_text(q, 1),
			    (size_t)sqlite3_column_bytes(q, 1));
	}
	sq_reset(q);
	return st;
}

ik_status ra_store_batch_set_cek(ra_store *s, int64_t id, const uint8_t *wrapped,
    size_t len)
{
	sq_conn *c;
	sqlite3_stmt *q;
	int64_t changes = 0;
	ik_status st;

	if (id <= 0 || wrapped == NULL || len < RA_BATCH_CEK_WRAPPED_MIN ||
	    len > RA_BATCH_CEK_WRAPPED_MAX)
		return IK_ERR_ARG;
	if ((st = sq_get_conn(s, &c)) != IK_OK || (st = sq_begin(c)) != IK_OK)
		return st;
	if ((st = sq_stmt(c, SQL_BK_SET_CEK, &q)) == IK_OK) {
		sq_bind_i64(c, q, 1, id);
		sq_bind_blob(c, q, 2, wrapped, len);
		st = sq_exec(c, q, &changes);
		sq_reset(q);
		if (st == IK_OK && changes != 1)
			st = IK_ERR_EXISTS;
	}
	return sq_finish(c, st);
}

ik_status ra_store_batch_envelope_cek(ra_store *s, int64_t id, ik_buf *wrapped)
{
	sq_conn *c;
	sqlite3_stmt *q;
	int row;
	ik_status st;

	if ((st = sq_prep(s, SQL_BK_CEK, &c, &q)) != IK_OK)
		return st;
	sq_bind_i64(c, q, 1, id);
	if ((st = sq_step(c, q, &row)) == IK_OK) {
		if (!row || sqlite3_column_type(q, 0) == SQLITE_NULL)
			st = IK_ERR_NOT_FOUND;
		else
			st = ik_buf_put(wrapped, sqlite3_column_blob(q, 0),
			    (size_t)sqlite3_column_bytes(q, 0));
	}
	sq_reset(q);
	return st;
}

ik_status ra_store_batch_items(ra_store *s, int64_t id,
    int (*fn)(void *ctx, const ra_batch_item *it), void *ctx)
{
	sq_conn *c;
	sqlite3_stmt *q;
	int row = 1;
	ik_status st;

	if ((st = sq_prep(s, SQL_BK_ITEMS, &c, &q)) != IK_OK)
		return st;
	sq_bind_i64(c, q, 1, id);
	while ((st = sq_step(c, q, &row)) == IK_OK && row) {
		ra_batch_item it;
		const char *state = (const char *)sqlite3_column_text(q, 3);

		memset(&it, 0, sizeof(it));
		it.cert_id = sq_col_i64(q, 0);
		it.cn = (const char *)sqlite3_column_text(q, 1);
		it.serial = (const char *)sqlite3_column_text(q, 2);
		if (it.cn == NULL || it.serial == NULL || state == NULL ||
		    ra_cert_state_parse(state, &it.state) != IK_OK) {
			st = IK_ERR_IO;
			break;
		}
		it.der = sqlite3_column_blob(q, 4);
		it.der_len = (size_t)sqlite3_column_bytes(q, 4);
		it.envelope = sqlite3_column_blob(q, 5);
		it.envelope_len = (size_t)sqlite3_column_bytes(q, 5);
		if (it.der_len == 0)
			it.der = NULL;
		if (it.envelope_len == 0)
			it.envelope = NULL;
		it.spki = sqlite3_column_blob(q, 6);
		it.spki_len = (size_t)sqlite3_column_bytes(q, 6);
		if (it.spki_len == 0)
			it.spki = NULL;
		if (fn(ctx, &it) != 0) {
			st = IK_ERR_STATE;
			break;
		}
	}
	sq_reset(q);
	return st;
}

/* The deleted keys' old pages also sit in the WAL until it is reused: copy it into the
 * database (whose freed content secure_delete has zeroed) and cut it to nothing.  Best
 * effort: a reader still open keeps the frames for now (then the next checkpoint). */
static void wal_truncate(sq_conn *c)
{
	sqlite3_stmt *q;
	int row;
	ik_status st = sq_stmt(c, SQL_BK_WAL_TRUNCATE, &q);

	if (st == IK_OK) {
		st = sq_step(c, q, &row);
		if (st == IK_OK && row && sq_col_i64(q, 0) != 0)
			st = IK_ERR_BUSY;
		sq_reset(q);
	}
	if (st != IK_OK)
		ik_log(LOG_NOTICE, "store: the WAL could not be truncated after a batch download "
		    "(%s); the next checkpoint will", ik_status_str(st));
}

ik_status ra_store_batch_purge_keys(ra_store *s, int64_t id, const ra_hist *h)
{
	sq_conn *c;
	ra_batch_info bi;
	int64_t v[2] = { id, sq_now() }, changes = 0;
	ik_status st;

	if ((st = sq_get_conn(s, &c)) != IK_OK || (st = sq_begin(c)) != IK_OK)
		return st;
	if ((st = info_read(c, id, &bi)) == IK_OK && bi.planned == 0)
		st = IK_ERR_NOT_FOUND;
	if (st == IK_OK && (bi.downloaded != 0 || bi.b.state == RA_BATCH_RUNNING ||
	    bi.issuing > 0))
		st = IK_ERR_STATE;
	if (st == IK_OK)
		st = sq_run_ids(c, SQL_BK_PURGE_BATCH, v, 2, &changes);
	if (st == IK_OK && changes != 1)
		st = IK_ERR_STATE;
	if (st == IK_OK)
		st = sq_run_ids(c, SQL_BK_PURGE_CERTS, v, 1, NULL);
	if (st == IK_OK)
		st = sq_hist(s, h);
	if ((st = sq_finish(c, st)) == IK_OK)
		wal_truncate(c);
	return st;
}
