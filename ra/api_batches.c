/* api_batches: "issue N more" over the JSON API — create a batch, progress, abort, and the
 * one ZIP download (every issued certificate's .p12 with a fresh random password, the CA
 * certificates as PEM and DER, passwords.csv).  The work is in batch_start.c and
 * batch_download.c, which the web pages call too. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "batch.h"

static json_t *batch_json(const ra_batch_info *bi)
{
	const ra_batch *b = &bi->b;
	uint64_t total = bi->planned > 0 ? bi->planned : b->total;
	uint64_t settled = b->done + b->failed;
	json_t *j = json_pack("{s:I, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:b, s:s, s:s, s:o, s:o}",
	    "id", (json_int_t)b->id, "kind", ra_request_kind_name(b->kind),
	    "state", ra_batch_state_name(b->state), "total", (json_int_t)total,
	    "added", (json_int_t)b->total, "done", (json_int_t)b->done,
	    "failed", (json_int_t)b->failed,
	    "pending", (json_int_t)(b->total > settled ? b->total - settled : 0),
	    "sealed", b->sealed, "cn_pattern", b->cn_pattern, "created_by", b->created_by,
	    "created", ra_json_time(b->created), "updated", ra_json_time(b->updated));

	if (j == NULL)
		return NULL;
	if (bi->planned > 0) {
		json_object_set_new(j, "format", json_string(bi->p12_format));
		json_object_set_new(j, "key_type", json_string(bi->key_type));
		json_object_set_new(j, "validity_days", json_integer(bi->validity_days));
		json_object_set_new(j, "issued", json_integer((json_int_t)bi->active));
		json_object_set_new(j, "downloaded", ra_json_time(bi->downloaded));
		json_object_set_new(j, "downloadable", json_boolean(bi->has_envelope_key &&
		    bi->downloaded == 0 && b->state != RA_BATCH_RUNNING && bi->issuing == 0));
	}
	return j;
}

/* A refusal of ra_batch_start / ra_batch_download as the API's error reply. */
static void reply_refusal(ra_req *r, const ra_batch_refusal *why)
{
	if (strcmp(why->code, "store") == 0)
		ra_api_store_error(r, why->st, "batch");
	else if (why->field != NULL)
		ra_reply_error_field(r, why->status, why->code, why->message, why->field);
	else
		ra_reply_error(r, why->status, why->code, why->message);
}

/* POST /api/v1/batches {"count", "validity_days"?, "cn_pattern"?, "passphrase",
 * "format"?, "key_type"?} */
static void h_create(ra_req *r)
{
	json_t *j = ra_req_json(r);
	ra_batch_start_in in = { .validity_days = RA_BATCH_DEFAULT_DAYS, .format = "modern",
	    .key_type = "ec-p256" };
	ra_batch_started out;
	ra_batch_refusal why;

	if (j == NULL)
		return;
	if (json_object_get(j, "count") == NULL) {
		ra_reply_error_field(r, 400, "bad_field", "count: how many certificates (1..10000) "
		    "is required", "count");
		goto out;
	}
	if (!ra_json_opt_uint(r, j, "count", 1, RA_BATCH_PLANNED_MAX, &in.count) ||
	    !ra_json_opt_uint(r, j, "validity_days", 1, RA_BATCH_MAX_DAYS, &in.validity_days) ||
	    !ra_json_opt_str(r, j, "cn_pattern", RA_CN_PATTERN_MAX - 1, &in.cn_pattern) ||
	    !ra_json_opt_str(r, j, "format", 16, &in.format) ||
	    !ra_json_opt_str(r, j, "key_type", 16, &in.key_type) ||
	    (in.passphrase = ra_json_str(r, j, "passphrase", RA_BATCH_PASSPHRASE_MAX)) == NULL)
		goto out;
	if (ra_batch_start(r, &in, &out, &why) != IK_OK) {
		reply_refusal(r, &why);
		goto out;
	}
	ra_reply_json(r, 202, json_pack("{s:I, s:s, s:I, s:s, s:s, s:s, s:I, s:s}", "id",
	    (json_int_t)out.id, "state", "running", "total", (json_int_t)in.count, "cn_pattern",
	    out.cn_pattern, "first_cn", out.first_cn, "format", out.format, "validity_days",
	    (json_int_t)out.validity_days, "key_type", out.key_type));
out:
	json_decref(j);
}

static void show(ra_req *r, int64_t id)
{
	ra_batch_info bi;
	ik_status st = id == 0 ? ra_store_batch_running_info(r->app->store, &bi) :
	    ra_store_batch_info(r->app->store, id, &bi);

	if (st == IK_ERR_NOT_FOUND && id == 0) {
		ra_reply_error(r, 404, "not_found", "no batch is running");
		return;
	}
	if (st != IK_OK) {
		ra_api_store_error(r, st, "batch");
		return;
	}
	ra_reply_json(r, 200, batch_json(&bi));
}

/* GET /api/v1/batches/running */
static void h_running(ra_req *r)
{
	show(r, 0);
}

/* GET /api/v1/batches/{id} */
static void h_show(ra_req *r)
{
	int64_t id;

	if (ra_api_path_id(r, &id))
		show(r, id);
}

/* POST /api/v1/batches/{id}/abort: its pending requests fail; those with the signer settle */
static void h_abort(ra_req *r)
{
	int64_t id;
	char why[160], target[32];
	ra_hist h;
	ik_status st;

	if (!ra_api_path_id(r, &id))
		return;
	snprintf(why, sizeof(why), "stopped by %s", r->who.login);
	snprintf(target, sizeof(target), "batch:%lld", (long long)id);
	h = ra_api_hist(r, "batch_aborted", target, "{\"why\":\"stopped by an officer\"}");
	st = ra_batch_abort(r->app, id, why, &h);
	if (st == IK_ERR_STATE) {
		ra_reply_error(r, 409, "state", "the batch is not running");
		return;
	}
	if (st != IK_OK) {
		ra_api_store_error(r, st, "batch");
		return;
	}
	show(r, id);
}

/* POST /api/v1/batches/{id}/download {"passphrase"} */
static void h_download(ra_req *r)
{
	json_t *j = NULL;
	const char *pass;
	int64_t id;
	ra_batch_zip z;
	ra_batch_refusal why;
	char name[48], hdr[24];

	if (!ra_api_path_id(r, &id) || (j = ra_req_json(r)) == NULL ||
	    (pass = ra_json_str(r, j, "passphrase", RA_BATCH_PASSPHRASE_MAX)) == NULL)
		goto out;
	if (ra_batch_download(r, id, pass, &z, &why) != IK_OK) {
		reply_refusal(r, &why);
		goto out;
	}
	snprintf(hdr, sizeof(hdr), "%zu", z.included);
	(void)ra_req_add_header(r, "X-Inkan-Included", hdr);
	snprintf(hdr, sizeof(hdr), "%zu", z.not_included);
	(void)ra_req_add_header(r, "X-Inkan-Not-Included", hdr);
	snprintf(name, sizeof(name), "batch-%lld.zip", (long long)id);
	ra_reply_bytes(r, 200, "application/zip", ik_buf_ptr(&z.zip), ik_buf_remaining(&z.zip),
	    name);
	ik_buf_cleanup(&z.zip);
out:
	json_decref(j);
}

const ra_route ra_api_batches_routes[] = {
	{ "POST", "/api/v1/batches", h_create, RA_ROLE_OFFICER, RA_RF_CSRF | RA_RF_HEAVY },
	/* before {id}: the first matching route wins */
	{ "GET", "/api/v1/batches/running", h_running, RA_ROLE_AUDITOR, 0 },
	{ "GET", "/api/v1/batches/{id}", h_show, RA_ROLE_AUDITOR, 0 },
	{ "POST", "/api/v1/batches/{id}/abort", h_abort, RA_ROLE_OFFICER, RA_RF_CSRF },
	{ "POST", "/api/v1/batches/{id}/download", h_download, RA_ROLE_OFFICER,
	    RA_RF_CSRF | RA_RF_HEAVY },
};
const size_t ra_api_batches_nroutes =
    sizeof(ra_api_batches_routes) / sizeof(ra_api_batches_routes[0]);
