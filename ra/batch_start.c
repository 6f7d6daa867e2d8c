/* batch_start: starting an "issue N more" batch, shared by the JSON API and the web pages —
 * every refusal (bad input, weak passphrase, a batch already running, the quota, a
 * common-name pattern without room) decided before any key is made or anything stored,
 * then the envelope keys taken (the spare made ahead) or made in memory and the batch stored
 * with its history entry. */
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "batch.h"
#include "log.h"
#include "p12.h"

void ra_batch_refuse(ra_batch_refusal *why, unsigned status, const char *code,
    const char *field, const char *message)
{
	why->status = status;
	why->code = code;
	why->field = field;
	snprintf(why->message, sizeof(why->message), "%s", message);
}

static void refuse_store(ra_batch_refusal *why, ik_status st)
{
	ra_batch_refuse(why, 0, "store", NULL, "");
	why->st = st;
}

void ra_batch_refuse_running(ra_batch_refusal *why, const ra_batch *b, uint64_t planned)
{
	uint64_t total = planned > b->total ? planned : b->total;
	char msg[200];

	snprintf(msg, sizeof(msg), "batch %lld is still running (%llu of %llu settled): wait "
	    "until it has finished", (long long)b->id,
	    (unsigned long long)(b->done + b->failed), (unsigned long long)total);
	ra_batch_refuse(why, 409, "batch_running", NULL, msg);
	why->n[0] = (uint64_t)b->id;
	why->n[1] = b->done + b->failed;
	why->n[2] = total;
}

ik_status ra_batch_quota(ra_store *s, uint64_t *quota, uint64_t *used)
{
	int64_t v = 0;
	ra_cert_counts c;
	ik_status st = ra_store_setting_get_int(s, "quota", 0, &v);

	*quota = v > 0 ? (uint64_t)v : 0;
	*used = 0;
	if (st == IK_OK && (st = ra_store_cert_counts(s, &c)) == IK_OK)
		*used = c.quota_used;
	return st;
}

/* 0 with why filled when count more do not fit. */
static int quota_room(ra_req *r, uint64_t count, uint64_t *quota, ra_batch_refusal *why)
{
	uint64_t used = 0, left;
	char msg[200];

	if (ra_batch_quota(r->app->store, quota, &used) != IK_OK) {
		ra_batch_refuse(why, 500, "internal", NULL, "cannot read the quota");
		return 0;
	}
	if (*quota == 0 || used + count <= *quota)
		return 1;
	left = *quota > used ? *quota - used : 0;
	snprintf(msg, sizeof(msg), "%llu more certificates do not fit: %llu of the contracted "
	    "%llu remain", (unsigned long long)count, (unsigned long long)left,
	    (unsigned long long)*quota);
	ra_batch_refuse(why, 409, "quota_exceeded", "count", msg);
	why->n[0] = count;
	why->n[1] = left;
	why->n[2] = *quota;
	return 0;
}

/* The pattern must have room for count more numbers; first gets the first one's CN. */
static int pattern_room(ra_req *r, const char *pattern, uint64_t count, char *first,
    size_t firstsz, ra_batch_refusal *why)
{
	ra_cn_parts parts;
	uint64_t max = 0, limit = 1;
	int found = 0;
	char msg[240];

	if (ra_cn_pattern_split(pattern, &parts) != IK_OK ||
	    ra_store_cert_cn_max(r->app->store, parts.prefix, parts.width, parts.suffix, &max,
	    &found) != IK_OK) {
		ra_batch_refuse(why, 500, "internal", NULL, "cannot read the common names in use");
		return 0;
	}
	for (unsigned i = 0; i < parts.width; i++)
		limit *= 10;
	if ((found ? max : 0) + count >= limit ||
	    ra_cn_format(pattern, found ? max + 1 : 1, first, firstsz) != IK_OK) {
		snprintf(msg, sizeof(msg), "cn_pattern %s: numbers go up to %llu, the highest in use "
		    "is %llu, so %llu more do not fit", pattern, (unsigned long long)(limit - 1),
		    (unsigned long long)max, (unsigned long long)count);
		ra_batch_refuse(why, 409, "pattern_exhausted", "cn_pattern", msg);
		why->n[0] = limit - 1;
		why->n[1] = max;
		why->n[2] = count;
		return 0;
	}
	return 1;
}

/* The input's own checks; 0 with why filled. */
static int input_ok(ra_req *r, const ra_batch_start_in *in, ra_p12_flavour *flavour,
    ra_keytype *keytype, ra_batch_refusal *why)
{
	ra_pw_policy policy;
	const char *ids[1] = { r->who.login };
	char reason[256], msg[300];

	if (in->count < 1 || in->count > RA_BATCH_PLANNED_MAX) {
		ra_batch_refuse(why, 400, "bad_field", "count", "count: how many certificates "
		    "(1..10000) is required");
		return 0;
	}
	if (in->validity_days < 1 || in->validity_days > RA_BATCH_MAX_DAYS) {
		ra_batch_refuse(why, 400, "bad_field", "validity_days", "validity_days: 1..1095");
		return 0;
	}
	if (ra_cn_pattern_check(in->cn_pattern, reason, sizeof(reason)) != IK_OK) {
		snprintf(msg, sizeof(msg), "cn_pattern: %s", reason);
		ra_batch_refuse(why, 400, "bad_field", "cn_pattern", msg);
		return 0;
	}
	if (ra_p12_flavour_parse(in->format, flavour) != IK_OK) {
		ra_batch_refuse(why, 400, "bad_field", "format", "format: modern or compatible");
		return 0;
	}
	if (ra_keytype_parse(in->key_type, keytype) != IK_OK) {
		ra_batch_refuse(why, 400, "bad_field", "key_type",
		    "key_type: one of ec-p256, ec-p384, rsa-2048, rsa-3072");
		return 0;
	}
	ra_pw_policy_default(&policy);
	if (in->passphrase == NULL ||
	    ra_pw_check(&policy, in->passphrase, ids, 1, reason, sizeof(reason)) != RA_PW_OK) {
		snprintf(msg, sizeof(msg), "passphrase: %s", in->passphrase == NULL ? "required" :
		    reason);
		ra_batch_refuse(why, 400, "password_policy", "passphrase", msg);
		return 0;
	}
	return 1;
}

/* The refusals that depend on the store: a running batch, the quota, the pattern. */
static int room(ra_req *r, const ra_batch_start_in *in, uint64_t *quota, char *first,
    size_t firstsz, ra_batch_refusal *why)
{
	ra_batch_info running;
	ik_status st = ra_store_batch_running_info(r->app->store, &running);

	if (st == IK_OK) {
		ra_batch_refuse_running(why, &running.b, running.planned);
		return 0;
	}
	if (st != IK_ERR_NOT_FOUND) {
		refuse_store(why, st);
		return 0;
	}
	return quota_room(r, in->count, quota, why) &&
	    pattern_room(r, in->cn_pattern, in->count, first, firstsz, why);
}

/* The batch's envelope keys: the spare key pair made ahead when there is one (then only
 * its PBKDF2 is left), else one made now. */
static ik_status envelope(ra_req *r, const char *passphrase, ik_buf *spki, ik_buf *pem)
{
	EVP_PKEY *k = ra_batcher_take_envelope(r->app->batcher);
	ik_status st;

	if (k == NULL) {
		ik_log(LOG_INFO, "batch start: no spare envelope key ready; making one now");
		return ra_batch_envelope_new(passphrase, spki, pem);
	}
	st = ra_batch_envelope_from(k, passphrase, spki, pem);
	EVP_PKEY_free(k); /* RSA's free clears its private numbers */
	return st;
}

ik_status ra_batch_start(ra_req *r, const ra_batch_start_in *in0, ra_batch_started *out,
    ra_batch_refusal *why)
{
	ra_batch_start_in in = *in0;
	ra_p12_flavour flavour;
	ra_keytype keytype;
	ra_batch_info running;
	uint64_t quota = 0;
	ik_buf spki, pem;
	char detail[640];
	ra_hist h;
	ik_status st = IK_ERR_STATE;

	memset(out, 0, sizeof(*out));
	memset(why, 0, sizeof(*why));
	ik_buf_init(&spki, RA_SPKI_MAX);
	ik_buf_init(&pem, RA_BATCH_KEY_PEM_MAX);
	if (in.cn_pattern == NULL)
		in.cn_pattern = r->app->cfg->batch_cn_pattern;
	if (!input_ok(r, &in, &flavour, &keytype, why) ||
	    !room(r, &in, &quota, out->first_cn, sizeof(out->first_cn), why))
		goto out;
	if ((st = envelope(r, in.passphrase, &spki, &pem)) != IK_OK ||
	    (st = ik_buf_put_u8(&pem, 0)) != IK_OK) {
		ra_batch_refuse(why, 500, "internal", NULL, "cannot make the batch's envelope key");
		goto out;
	}
	out->cn_pattern = in.cn_pattern;
	out->format = ra_p12_flavour_name(flavour);
	out->key_type = ra_keytype_name(keytype);
	out->validity_days = (unsigned)in.validity_days;
	snprintf(detail, sizeof(detail), "{\"count\":%llu,\"cn_pattern\":\"%s\",\"first_cn\":"
	    "\"%s\",\"validity_days\":%llu,\"format\":\"%s\",\"key_type\":\"%s\"}",
	    (unsigned long long)in.count, in.cn_pattern, out->first_cn,
	    (unsigned long long)in.validity_days, out->format, out->key_type);
	h = ra_api_hist(r, "batch_created", "", detail);
	{
		ra_batch_keyed_new bn = { .planned = in.count, .validity_days = out->validity_days,
		    .cn_pattern = in.cn_pattern, .key_type = out->key_type, .p12_format = out->format,
		    .envelope_spki = ik_buf_ptr(&spki),
		    .envelope_spki_len = ik_buf_remaining(&spki),
		    .envelope_key = (const char *)ik_buf_ptr(&pem), .quota = quota,
		    .created_by = r->who.login };
		st = ra_store_batch_create_keyed(r->app->store, &bn, &h, &out->id);
	}
	if (st == IK_ERR_STATE) { /* lost a race: say which refusal it was */
		if (ra_store_batch_running_info(r->app->store, &running) == IK_OK)
			ra_batch_refuse_running(why, &running.b, running.planned);
		else if (quota_room(r, in.count, &quota, why))
			ra_batch_refuse(why, 409, "state", NULL, "the batch cannot start now; try again");
		goto out;
	}
	if (st != IK_OK) {
		refuse_store(why, st);
		goto out;
	}
	ik_log(LOG_INFO, "%s started batch %lld: %llu certificates from %s", r->who.login,
	    (long long)out->id, (unsigned long long)in.count, out->first_cn);
	ra_batcher_kick(r->app->batcher);
out:
	if (st != IK_OK && why->code == NULL)
		refuse_store(why, st);
	ik_buf_cleanup(&spki);
	ik_buf_cleanup(&pem);
	return st;
}
