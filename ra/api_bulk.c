/* api_bulk: bulk files (TSV/CSV) for issuing, renewing and revoking.
 *
 * POST /api/v1/bulk?kind=issue|renew|revoke&mode=abort|valid&dry_run=0|1&format=auto|tsv|csv,
 * the file as the body.  The parser (bulk.c) checks every row and column first; then every
 * row is applied inside one store transaction, each row in a nested one (a savepoint):
 *  - mode=abort (the default): any error, in the file or from the store (unknown serial,
 *    over the quota, a device that already holds a certificate), and nothing is stored;
 *  - mode=valid: the rows with errors are reported and skipped, the rest are stored;
 *  - dry_run=1: the same work, then rolled back — the reply says what would happen,
 *    including the store's refusals, and nothing changes.
 * Errors are [{"row", "column", "reason"}] with the row numbered as in the file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "bulk.h"
#include "download.h"
#include "queue.h"

typedef struct bulk_run {
	ra_req *r;
	json_t *errors;
	json_t *results;
	size_t applied;
	int dry_run;
	uint64_t quota;
	unsigned credential_days;
} bulk_run;

/* The stable code of each reason this file gives (the pages word it as "bulkerr.<code>"). */
static const struct {
	const char *reason, *code;
} row_codes[] = {
	{ "not found", "store_not_found" },
	{ "already exists", "store_exists" },
	{ "the database is busy; try again", "store_busy" },
	{ "a value is out of range or too long", "store_range" },
	{ "database error", "store_error" },
	{ "over the contracted number of certificates", "over_quota" },
	{ "the device already holds a live certificate", "device_has_cert" },
	{ "cannot make the download credential", "credential" },
	{ "no live certificate with this value", "no_live_cert" },
	{ "several live certificates carry this name: give the serial", "several_certs" },
	{ "the certificate is not active or suspended", "not_revocable" },
	{ "over the contracted number of certificates, or the certificate cannot be renewed",
	  "not_renewable" },
};

/* Not inlined: inlined at -O3 into a caller whose reason is a short buffer, GCC warns that
 * the table's longer reasons can never match it (-Wstring-compare), which is true and
 * harmless. */
__attribute__((noinline))
static void row_error(bulk_run *b, size_t row, const char *column, const char *reason)
{
	const char *code = "store_error";

	for (size_t i = 0; i < sizeof(row_codes) / sizeof(row_codes[0]); i++)
		if (strcmp(reason, row_codes[i].reason) == 0)
			code = row_codes[i].code;
	json_array_append_new(b->errors, json_pack("{s:I, s:s, s:s, s:s, s:[]}", "row",
	    (json_int_t)row, "column", column, "reason", reason, "code", code, "args"));
}

static const char *store_reason(ik_status st)
{
	switch (st) {
	case IK_ERR_NOT_FOUND: return "not found";
	case IK_ERR_EXISTS: return "already exists";
	case IK_ERR_BUSY: return "the database is busy; try again";
	case IK_ERR_ARG: return "a value is out of range or too long";
	default: return "database error";
	}
}

/* The user of the row, created when new. */
static ik_status row_user(bulk_run *b, const ra_bulk_row *row, int64_t *uid)
{
	ra_store *s = b->r->app->store;
	ra_user u;
	ra_hist h;
	ik_status st = ra_store_user_by_external_id(s, row->user, &u);

	if (st == IK_OK) {
		*uid = u.id;
		return IK_OK;
	}
	if (st != IK_ERR_NOT_FOUND)
		return st;
	memset(&u, 0, sizeof(u));
	snprintf(u.external_id, sizeof(u.external_id), "%s", row->user);
	snprintf(u.email, sizeof(u.email), "%s", row->email != NULL ? row->email : "");
	snprintf(u.display_name, sizeof(u.display_name), "%s",
	    row->display_name != NULL ? row->display_name : "");
	h = ra_api_hist(b->r, "user_add", row->user, "{\"via\":\"bulk\"}");
	return ra_store_user_add(s, &u, &h, uid);
}

/* The device of the row, created when new. */
static ik_status row_device(bulk_run *b, int64_t uid, const ra_bulk_row *row, int64_t *did)
{
	ra_store *s = b->r->app->store;
	ra_device *rows, d;
	size_t n = 0;
	int64_t after = 0;
	char target[64];
	ra_hist h;
	ik_status st;

	if ((rows = calloc(RA_PAGE_MAX, sizeof(*rows))) == NULL)
		return IK_ERR_NOMEM;
	do {
		if ((st = ra_store_device_list(s, uid, after, rows, RA_PAGE_MAX, &n)) != IK_OK)
			goto out;
		for (size_t i = 0; i < n; i++)
			if (strcmp(rows[i].name, row->device) == 0) {
				*did = rows[i].id;
				goto out;
			}
		if (n > 0)
			after = rows[n - 1].id;
	} while (n == RA_PAGE_MAX);
	memset(&d, 0, sizeof(d));
	d.user_id = uid;
	snprintf(d.name, sizeof(d.name), "%s", row->device);
	snprintf(target, sizeof(target), "user:%lld", (long long)uid);
	h = ra_api_hist(b->r, "device_add", target, "{\"via\":\"bulk\"}");
	st = ra_store_device_add(s, &d, &h, did);
out:
	free(rows);
	return st;
}

static int apply_issue(bulk_run *b, const ra_bulk_row *row)
{
	ra_store *s = b->r->app->store;
	int64_t uid, did, cert_id;
	char target[64];
	ra_hist h;
	json_t *res;
	ik_status st;

	if ((st = row_user(b, row, &uid)) != IK_OK) {
		row_error(b, row->row, "user", store_reason(st));
		return 0;
	}
	if ((st = row_device(b, uid, row, &did)) != IK_OK) {
		row_error(b, row->row, "device", store_reason(st));
		return 0;
	}
	{
		ra_cert_new c = { .device_id = did, .cn = row->common_name,
		    .validity_days = row->validity_days ? row->validity_days : 365,
		    .quota = b->quota };
		snprintf(target, sizeof(target), "device:%lld", (long long)did);
		h = ra_api_hist(b->r, "issue_reserved", target, "{\"via\":\"bulk\"}");
		st = ra_store_cert_reserve(s, &c, &h, &cert_id);
	}
	if (st == IK_ERR_STATE) {
		ra_cert_counts cc;
		if (b->quota > 0 && ra_store_cert_counts(s, &cc) == IK_OK && cc.quota_used >= b->quota)
			row_error(b, row->row, "", "over the contracted number of certificates");
		else
			row_error(b, row->row, "device", "the device already holds a live certificate");
		return 0;
	}
	if (st != IK_OK) {
		row_error(b, row->row, "common_name", store_reason(st));
		return 0;
	}
	res = json_pack("{s:I, s:s, s:I}", "row", (json_int_t)row->row, "common_name",
	    row->common_name, "certificate_id", (json_int_t)cert_id);
	/* credentials only for real runs: a dry run shows what would be made */
	if (!b->dry_run && ra_download_credential_new(b->r, cert_id, RA_DOWNLOAD_PASSWORD,
	    b->credential_days, res) != IK_OK) {
		json_decref(res);
		row_error(b, row->row, "", "cannot make the download credential");
		return 0;
	}
	json_array_append_new(b->results, res);
	return 1;
}

/* The live certificate a revoke row names: by serial, or by an exact common name that only
 * one live certificate carries. */
static ik_status find_cert(bulk_run *b, const ra_bulk_row *row, ra_cert *out, const char **col)
{
	ra_store *s = b->r->app->store;
	ra_cert_query q;
	ra_cert *rows;
	char next[RA_CURSOR_MAX], cur[RA_CURSOR_MAX] = "";
	size_t n = 0, hits = 0;
	ik_status st;

	if (row->serial_len > 0) {
		const char *hex = row->serial_hex;
		*col = "serial";
		/* the store keeps the number without DER's leading zero octet */
		while (hex[0] == '0' && hex[1] == '0' && hex[2] != '\0')
			hex += 2;
		return ra_store_cert_by_serial(s, hex, out);
	}
	*col = "common_name";
	if ((rows = calloc(RA_PAGE_MAX, sizeof(*rows))) == NULL)
		return IK_ERR_NOMEM;
	memset(&q, 0, sizeof(q));
	q.cn_contains = row->common_name;
	q.cursor = cur;
	do {
		if ((st = ra_store_cert_list(s, &q, rows, &n, next)) != IK_OK)
			break;
		for (size_t i = 0; i < n; i++)
			if (strcmp(rows[i].cn, row->common_name) == 0 &&
			    (rows[i].state == RA_CERT_ACTIVE || rows[i].state == RA_CERT_SUSPENDED)) {
				*out = rows[i];
				hits++;
			}
		memcpy(cur, next, sizeof(cur));
	} while (st == IK_OK && next[0] != '\0');
	free(rows);
	if (st != IK_OK)
		return st;
	return hits == 0 ? IK_ERR_NOT_FOUND : hits == 1 ? IK_OK : IK_ERR_EXISTS;
}

static int apply_revoke(bulk_run *b, const ra_bulk_row *row)
{
	ra_cert c;
	ra_request_new n;
	ra_request req;
	const char *col = "serial";
	char detail[96];
	ra_hist h;
	ik_status st = find_cert(b, row, &c, &col);

	if (st == IK_ERR_NOT_FOUND) {
		row_error(b, row->row, col, "no live certificate with this value");
		return 0;
	}
	if (st == IK_ERR_EXISTS) {
		row_error(b, row->row, col, "several live certificates carry this name: give the serial");
		return 0;
	}
	if (st != IK_OK) {
		row_error(b, row->row, col, store_reason(st));
		return 0;
	}
	memset(&n, 0, sizeof(n));
	n.kind = RA_REQ_REVOKE;
	n.cert_id = c.id;
	n.reason = row->reason;
	n.created_by = b->r->who.login;
	snprintf(detail, sizeof(detail), "{\"via\":\"bulk\",\"reason\":\"%s\"}",
	    ra_bulk_reason_name(row->reason) != NULL ? ra_bulk_reason_name(row->reason) : "");
	h = ra_api_hist(b->r, "revoke_requested", c.serial, detail);
	st = ra_store_request_add(b->r->app->store, &n, &h, &req);
	if (st == IK_ERR_STATE) {
		row_error(b, row->row, col, "the certificate is not active or suspended");
		return 0;
	}
	if (st != IK_OK) {
		row_error(b, row->row, col, store_reason(st));
		return 0;
	}
	json_array_append_new(b->results, json_pack("{s:I, s:s, s:I, s:I}", "row",
	    (json_int_t)row->row, "serial", c.serial, "certificate_id", (json_int_t)c.id,
	    "request_id", (json_int_t)req.id));
	return 1;
}

/* A renewal for download: the new certificate's one-time credential is in the results. */
static int apply_renew(bulk_run *b, const ra_bulk_row *row)
{
	ra_cert c;
	ra_request req;
	const char *col = "serial";
	ra_renew_args a;
	json_t *res;
	ik_status st = find_cert(b, row, &c, &col);

	if (st == IK_ERR_NOT_FOUND || st == IK_ERR_EXISTS) {
		row_error(b, row->row, col, st == IK_ERR_NOT_FOUND ?
		    "no live certificate with this value" :
		    "several live certificates carry this name: give the serial");
		return 0;
	}
	if (st != IK_OK) {
		row_error(b, row->row, col, store_reason(st));
		return 0;
	}
	memset(&a, 0, sizeof(a));
	a.old = &c;
	a.days = row->validity_days;
	a.revoke_old = row->revoke_old == 1;
	a.credential = RA_DOWNLOAD_PASSWORD;
	a.credential_days = b->credential_days;
	a.quota = b->quota;
	res = json_pack("{s:I, s:s, s:I}", "row", (json_int_t)row->row, "serial", c.serial,
	    "old_certificate_id", (json_int_t)c.id);
	/* a dry run checks the same rules, without making credentials (slow, and shown once) */
	a.no_credential = b->dry_run;
	st = ra_renew_queue(b->r, &a, &req, res);
	if (st != IK_OK) {
		json_decref(res);
		row_error(b, row->row, st == IK_ERR_STATE ? "" : col, st == IK_ERR_STATE ?
		    "over the contracted number of certificates, or the certificate cannot be renewed" :
		    store_reason(st));
		return 0;
	}
	json_object_set_new(res, "certificate_id", json_integer(req.cert_id));
	json_array_append_new(b->results, res);
	return 1;
}

void ra_bulk_outcome_clear(ra_bulk_outcome *o)
{
	json_decref(o->errors);
	json_decref(o->results);
	memset(o, 0, sizeof(*o));
}

ik_status ra_bulk_run(ra_req *r, ra_bulk_kind kind, ra_bulk_format format, int abort_mode,
    int dry_run, const void *data, size_t len, ra_bulk_outcome *out)
{
	ra_bulk_limits lim;
	ra_bulk_result *res = NULL;
	bulk_run b = { .r = r, .credential_days = 14, .dry_run = dry_run };
	int64_t quota = 0;
	int failed = 0;
	ik_status st;

	memset(out, 0, sizeof(*out));
	if ((st = ra_store_setting_get_int(r->app->store, "quota", 0, &quota)) != IK_OK)
		return st;
	b.quota = quota > 0 ? (uint64_t)quota : 0;
	ra_bulk_limits_default(&lim);
	if ((st = ra_bulk_parse(kind, format, data, len, &lim, &res)) != IK_OK)
		return st;
	b.errors = ra_bulk_errors_json(res);
	b.results = json_array();
	if (b.errors == NULL || b.results == NULL) {
		st = IK_ERR_NOMEM;
		goto out;
	}
	if (res->fatal || (abort_mode && !ra_bulk_clean(res))) {
		failed = 1;
		goto done;
	}
	if ((st = ra_store_begin(r->app->store)) != IK_OK)
		goto out;
	for (size_t i = 0; i < res->nrows; i++) {
		const ra_bulk_row *row = &res->rows[i];
		int ok;
		if (!row->ok)
			continue;
		if ((st = ra_store_begin(r->app->store)) != IK_OK)
			break;
		ok = kind == RA_BULK_ISSUE ? apply_issue(&b, row) : kind == RA_BULK_RENEW ?
		    apply_renew(&b, row) : apply_revoke(&b, row);
		st = ok ? ra_store_commit(r->app->store) : ra_store_rollback(r->app->store);
		if (st != IK_OK)
			break;
		if (ok)
			b.applied++;
		else if (abort_mode) {
			failed = 1;
			break;
		}
	}
	if (st != IK_OK || failed || b.dry_run) {
		(void)ra_store_rollback(r->app->store);
		if (st != IK_OK)
			goto out;
	} else if ((st = ra_store_commit(r->app->store)) != IK_OK) {
		(void)ra_store_rollback(r->app->store);
		goto out;
	}
	if (!b.dry_run && !failed && kind == RA_BULK_REVOKE)
		ra_queue_kick(r->app->queue);
done:
	out->rows = res->nrows;
	out->applied = b.applied;
	out->errors_dropped = res->errors_dropped;
	out->failed = failed;
	out->stored = !failed && !b.dry_run;
	out->errors = b.errors;
	out->results = failed ? json_array() : b.results;
	if (failed)
		json_decref(b.results);
	b.errors = b.results = NULL;
	st = IK_OK;
out:
	json_decref(b.errors);
	json_decref(b.results);
	ra_bulk_free(res);
	return st;
}

static void h_bulk(ra_req *r)
{
	const char *kind_s = ra_req_query(r, "kind"), *mode = ra_req_query(r, "mode"),
	    *fmt = ra_req_query(r, "format");
	uint64_t dry = 0;
	int kind, format = RA_BULK_AUTO, abort_mode;
	ra_bulk_outcome o;
	ik_status st;

	if (kind_s == NULL || (kind = ra_bulk_kind_from_name(kind_s)) < 0) {
		ra_reply_error_field(r, 400, "bad_query", "kind: issue, renew or revoke", "kind");
		return;
	}
	if (mode != NULL && strcmp(mode, "abort") != 0 && strcmp(mode, "valid") != 0) {
		ra_reply_error_field(r, 400, "bad_query", "mode: abort or valid", "mode");
		return;
	}
	abort_mode = mode == NULL || strcmp(mode, "abort") == 0;
	if (fmt != NULL && (format = ra_bulk_format_from_name(fmt)) < 0) {
		ra_reply_error_field(r, 400, "bad_query", "format: auto, tsv or csv", "format");
		return;
	}
	if (!ra_query_uint(r, "dry_run", 0, 1, &dry))
		return;
	st = ra_bulk_run(r, (ra_bulk_kind)kind, (ra_bulk_format)format, abort_mode, dry == 1,
	    ik_buf_ptr(&r->body), ik_buf_remaining(&r->body), &o);
	if (st != IK_OK) {
		ra_api_store_error(r, st, "store");
		return;
	}
	{
		json_t *j = json_pack("{s:s, s:s, s:b, s:I, s:I, s:b, s:O, s:O}", "kind", kind_s,
		    "mode", abort_mode ? "abort" : "valid", "dry_run", dry == 1, "rows",
		    (json_int_t)o.rows, "registered", (json_int_t)(o.stored ? o.applied : 0),
		    "stored", o.stored, "errors", o.errors, "results", o.results);
		if (j != NULL)
			json_object_set_new(j, "errors_dropped", json_integer((json_int_t)o.errors_dropped));
		/* a refused file is 422 with every error; a run or a dry run is 200 */
		ra_reply_json(r, o.failed ? 422 : 200, j);
	}
	ra_bulk_outcome_clear(&o);
}

const ra_route ra_api_bulk_routes[] = {
	{ "POST", "/api/v1/bulk", h_bulk, RA_ROLE_OFFICER, RA_RF_CSRF },
};
const size_t ra_api_bulk_nroutes = sizeof(ra_api_bulk_routes) / sizeof(ra_api_bulk_routes[0]);
