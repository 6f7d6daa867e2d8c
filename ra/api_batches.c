/* api_batches: "issue N more" over the JSON API — create a batch (its envelope keys made
 * here, in memory), progress, abort, and the one ZIP download: every issued certificate's
 * .p12 with a fresh random password, the CA certificates as PEM and DER, passwords.csv.
 * After the download every key of the batch is deleted from the store. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "api.h"
#include "batch.h"
#include "log.h"
#include "p12.h"
#include "publish.h"

#define DEFAULT_VALIDITY_DAYS 365
#define MAX_VALIDITY_DAYS 1095        /* the signer's hard cap; its profile may be lower */
#define P12_PASSWORD_LEN 20           /* from 55 characters: 115 bits */
/* The passwords are random and long, so key stretching adds nothing; 2048 (OpenSSL's and
 * Windows' default) keeps a 10 000-certificate download to seconds, not hours. */
#define P12_BATCH_ITER 2048u
#define CA_MAX 8

/* No look-alikes (0/O, 1/l/I), nothing that needs quoting in CSV or escaping in a shell. */
static const char PW_ALPHABET[] = "23456789ABCDEFGHJKMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

static ik_status random_password(char out[P12_PASSWORD_LEN + 1])
{
	size_t m = strlen(PW_ALPHABET), limit = 256 - 256 % m, i = 0;
	uint8_t b[64];

	while (i < P12_PASSWORD_LEN) {
		if (RAND_bytes(b, sizeof(b)) != 1)
			return IK_ERR_CRYPTO;
		for (size_t k = 0; k < sizeof(b) && i < P12_PASSWORD_LEN; k++)
			if (b[k] < limit)   /* reject bytes that would bias the choice */
				out[i++] = PW_ALPHABET[b[k] % m];
	}
	out[P12_PASSWORD_LEN] = '\0';
	OPENSSL_cleanse(b, sizeof(b));
	return IK_OK;
}

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

static void reply_running(ra_req *r, const ra_batch *b)
{
	char msg[200];

	snprintf(msg, sizeof(msg), "batch %lld is still running (%llu of %llu settled): wait "
	    "until it has finished", (long long)b->id,
	    (unsigned long long)(b->done + b->failed), (unsigned long long)b->total);
	ra_reply_error(r, 409, "batch_running", msg);
}

static ik_status quota_of(ra_req *r, uint64_t *quota)
{
	int64_t v = 0;
	ik_status st = ra_store_setting_get_int(r->app->store, "quota", 0, &v);

	*quota = v > 0 ? (uint64_t)v : 0;
	return st;
}

/* 409 quota_exceeded when count more do not fit; returns 0 after replying. */
static int quota_room(ra_req *r, uint64_t quota, uint64_t count)
{
	ra_cert_counts c;
	char msg[200];

	if (quota == 0)
		return 1;
	if (ra_store_cert_counts(r->app->store, &c) != IK_OK) {
		ra_reply_error(r, 500, "internal", "cannot read the certificate counters");
		return 0;
	}
	if (c.quota_used + count <= quota)
		return 1;
	snprintf(msg, sizeof(msg), "%llu more certificates do not fit: %llu of the contracted "
	    "%llu remain", (unsigned long long)count,
	    (unsigned long long)(quota > c.quota_used ? quota - c.quota_used : 0),
	    (unsigned long long)quota);
	ra_reply_error(r, 409, "quota_exceeded", msg);
	return 0;
}

/* The pattern must have room for count more numbers; *first gets the first one's CN. */
static int pattern_room(ra_req *r, const char *pattern, uint64_t count, char *first,
    size_t firstsz)
{
	ra_cn_parts parts;
	uint64_t max = 0, limit = 1;
	int found = 0;
	char msg[240];

	if (ra_cn_pattern_split(pattern, &parts) != IK_OK ||
	    ra_store_cert_cn_max(r->app->store, parts.prefix, parts.width, parts.suffix, &max,
	    &found) != IK_OK) {
		ra_reply_error(r, 500, "internal", "cannot read the common names in use");
		return 0;
	}
	for (unsigned i = 0; i < parts.width; i++)
		limit *= 10;
	if ((found ? max : 0) + count >= limit ||
	    ra_cn_format(pattern, found ? max + 1 : 1, first, firstsz) != IK_OK) {
		snprintf(msg, sizeof(msg), "cn_pattern %s: numbers go up to %llu, the highest in use "
		    "is %llu, so %llu more do not fit", pattern, (unsigned long long)(limit - 1),
		    (unsigned long long)max, (unsigned long long)count);
		ra_reply_error_field(r, 409, "pattern_exhausted", msg, "cn_pattern");
		return 0;
	}
	return 1;
}

/* POST /api/v1/batches {"count", "validity_days"?, "cn_pattern"?, "passphrase",
 * "format"?, "key_type"?} */
static void h_create(ra_req *r)
{
	json_t *j = ra_req_json(r);
	const char *pattern, *pass, *format = "modern", *kt = "ec-p256";
	uint64_t count = 0, days = DEFAULT_VALIDITY_DAYS, quota = 0;
	ra_p12_flavour flavour;
	ra_keytype keytype;
	ra_pw_policy policy;
	ra_batch running;
	ik_buf spki, pem;
	char why[256], first[RA_CN_MAX + 1], detail[640];
	const char *ids[1];
	int64_t id = 0;
	ra_hist h;
	ik_status st;

	ik_buf_init(&spki, RA_SPKI_MAX);
	ik_buf_init(&pem, RA_BATCH_KEY_PEM_MAX);
	if (j == NULL)
		goto out;
	pattern = r->app->cfg->batch_cn_pattern;
	if (json_object_get(j, "count") == NULL) {
		ra_reply_error_field(r, 400, "bad_field", "count: how many certificates (1..10000) "
		    "is required", "count");
		goto out;
	}
	if (!ra_json_opt_uint(r, j, "count", 1, RA_BATCH_PLANNED_MAX, &count) ||
	    !ra_json_opt_uint(r, j, "validity_days", 1, MAX_VALIDITY_DAYS, &days) ||
	    !ra_json_opt_str(r, j, "cn_pattern", RA_CN_PATTERN_MAX - 1, &pattern) ||
	    !ra_json_opt_str(r, j, "format", 16, &format) ||
	    !ra_json_opt_str(r, j, "key_type", 16, &kt) ||
	    (pass = ra_json_str(r, j, "passphrase", RA_BATCH_PASSPHRASE_MAX)) == NULL)
		goto out;
	if (ra_cn_pattern_check(pattern, why, sizeof(why)) != IK_OK) {
		char msg[300];
		snprintf(msg, sizeof(msg), "cn_pattern: %s", why);
		ra_reply_error_field(r, 400, "bad_field", msg, "cn_pattern");
		goto out;
	}
	if (ra_p12_flavour_parse(format, &flavour) != IK_OK) {
		ra_reply_error_field(r, 400, "bad_field", "format: modern or compatible", "format");
		goto out;
	}
	if (ra_keytype_parse(kt, &keytype) != IK_OK) {
		ra_reply_error_field(r, 400, "bad_field",
		    "key_type: one of ec-p256, ec-p384, rsa-2048, rsa-3072", "key_type");
		goto out;
	}
	ra_pw_policy_default(&policy);
	ids[0] = r->who.login;
	if (ra_pw_check(&policy, pass, ids, 1, why, sizeof(why)) != RA_PW_OK) {
		char msg[300];
		snprintf(msg, sizeof(msg), "passphrase: %s", why);
		ra_reply_error_field(r, 400, "password_policy", msg, "passphrase");
		goto out;
	}
	/* the refusals first, before any key is made or anything stored */
	if ((st = ra_store_batch_running(r->app->store, &running)) == IK_OK) {
		reply_running(r, &running);
		goto out;
	}
	if (st != IK_ERR_NOT_FOUND) {
		ra_api_store_error(r, st, "batch");
		goto out;
	}
	if (quota_of(r, &quota) != IK_OK) {
		ra_reply_error(r, 500, "internal", "cannot read the quota");
		goto out;
	}
	if (!quota_room(r, quota, count) ||
	    !pattern_room(r, pattern, count, first, sizeof(first)))
		goto out;
	if ((st = ra_batch_envelope_new(pass, &spki, &pem)) != IK_OK ||
	    (st = ik_buf_put_u8(&pem, 0)) != IK_OK) {
		ra_reply_error(r, 500, "internal", "cannot make the batch's envelope key");
		goto out;
	}
	snprintf(detail, sizeof(detail), "{\"count\":%llu,\"cn_pattern\":\"%s\",\"first_cn\":"
	    "\"%s\",\"validity_days\":%llu,\"format\":\"%s\",\"key_type\":\"%s\"}",
	    (unsigned long long)count, pattern, first, (unsigned long long)days,
	    ra_p12_flavour_name(flavour), ra_keytype_name(keytype));
	h = ra_api_hist(r, "batch_created", "", detail);
	{
		ra_batch_keyed_new bn = { .planned = count, .validity_days = (unsigned)days,
		    .cn_pattern = pattern, .key_type = ra_keytype_name(keytype),
		    .p12_format = ra_p12_flavour_name(flavour), .envelope_spki = ik_buf_ptr(&spki),
		    .envelope_spki_len = ik_buf_remaining(&spki),
		    .envelope_key = (const char *)ik_buf_ptr(&pem), .quota = quota,
		    .created_by = r->who.login };
		st = ra_store_batch_create_keyed(r->app->store, &bn, &h, &id);
	}
	if (st == IK_ERR_STATE) { /* lost a race: say which refusal it was */
		if (ra_store_batch_running(r->app->store, &running) == IK_OK)
			reply_running(r, &running);
		else if (quota_room(r, quota, count))
			ra_reply_error(r, 409, "state", "the batch cannot start now; try again");
		goto out;
	}
	if (st != IK_OK) {
		ra_api_store_error(r, st, "batch");
		goto out;
	}
	ik_log(LOG_INFO, "%s started batch %lld: %llu certificates from %s", r->who.login,
	    (long long)id, (unsigned long long)count, first);
	ra_batcher_kick(r->app->batcher);
	ra_reply_json(r, 202, json_pack("{s:I, s:s, s:I, s:s, s:s, s:s, s:I, s:s}", "id",
	    (json_int_t)id, "state", "running", "total", (json_int_t)count, "cn_pattern", pattern,
	    "first_cn", first, "format", ra_p12_flavour_name(flavour), "validity_days",
	    (json_int_t)days, "key_type", ra_keytype_name(keytype)));
out:
	ik_buf_cleanup(&spki);
	ik_buf_cleanup(&pem);
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

/* ---- the download ---- */

typedef struct dl_item {
	char cn[RA_CN_MAX + 1];
	char serial[RA_SERIAL_HEX_MAX + 1];
	ra_cert_state state;
	uint8_t *der;
	size_t der_len;
	uint8_t *env;
	size_t env_len;
} dl_item;

typedef struct dl_list {
	dl_item *v;
	size_t n, cap;
} dl_list;

static void dl_list_free(dl_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].der);
		free(l->v[i].env);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* Copies the rows out, so the read snapshot is not held while the .p12 files are built. */
static int dl_collect(void *ctx, const ra_batch_item *it)
{
	dl_list *l = ctx;
	dl_item *d;

	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 128;
		dl_item *v = realloc(l->v, cap * sizeof(*v));
		if (v == NULL)
			return 1;
		l->v = v;
		l->cap = cap;
	}
	d = &l->v[l->n];
	memset(d, 0, sizeof(*d));
	snprintf(d->cn, sizeof(d->cn), "%s", it->cn);
	snprintf(d->serial, sizeof(d->serial), "%s", it->serial);
	d->state = it->state;
	if (it->der != NULL) {
		if ((d->der = malloc(it->der_len)) == NULL)
			return 1;
		memcpy(d->der, it->der, it->der_len);
		d->der_len = it->der_len;
	}
	if (it->envelope != NULL) {
		if ((d->env = malloc(it->envelope_len)) == NULL) {
			free(d->der);
			return 1;
		}
		memcpy(d->env, it->envelope, it->envelope_len);
		d->env_len = it->envelope_len;
	}
	l->n++;
	return 0;
}

/* One CSV field, quoted when it needs to be. */
static ik_status csv_field(ik_buf *b, const char *s, int last)
{
	ik_status st = IK_OK;

	if (strpbrk(s, ",\"\r\n") == NULL) {
		st = ik_buf_put_text(b, s);
	} else {
		st = ik_buf_put_text(b, "\"");
		for (const char *p = s; st == IK_OK && *p != '\0'; p++)
			st = *p == '"' ? ik_buf_put_text(b, "\"\"") : ik_buf_put(b, p, 1);
		if (st == IK_OK)
			st = ik_buf_put_text(b, "\"");
	}
	return st == IK_OK ? ik_buf_put_text(b, last ? "\n" : ",") : st;
}

/* The CA certificates into the ZIP (issuing-ca.pem/.der, ..., root-ca.pem/.der) and into
 * chain[] for the .p12 files. */
static ik_status add_ca(ra_req *r, ra_zip *z, ik_buf *ca, const uint8_t **chain,
    size_t *chain_len, size_t *nchain)
{
	unsigned count = 0;
	ik_status st = ra_publish_ca(r->app->publish, 0, &ca[0], &count);

	*nchain = 0;
	for (unsigned i = 1; st == IK_OK && i < count && i < CA_MAX; i++)
		st = ra_publish_ca(r->app->publish, i, &ca[i], &count);
	for (unsigned i = 0; st == IK_OK && i < count && i < CA_MAX; i++) {
		const uint8_t *p = ik_buf_ptr(&ca[i]);
		X509 *x = d2i_X509(NULL, &p, (long)ik_buf_remaining(&ca[i]));
		BIO *b = BIO_new(BIO_s_mem());
		char name[32], *data = NULL;
		const char *base = i == 0 ? "issuing-ca" : i + 1 == count ? "root-ca" : NULL;
		long len;

		if (base == NULL)
			snprintf(name, sizeof(name), "ca-%u", i);
		else
			snprintf(name, sizeof(name), "%s", base);
		if (x == NULL || b == NULL || PEM_write_bio_X509(b, x) != 1 ||
		    (len = BIO_get_mem_data(b, &data)) <= 0)
			st = IK_ERR_CRYPTO;
		if (st == IK_OK) {
			size_t nl = strlen(name);
			snprintf(name + nl, sizeof(name) - nl, ".pem");
			st = ra_zip_add(z, name, data, (size_t)len, 1);
			snprintf(name + nl, sizeof(name) - nl, ".der");
			if (st == IK_OK)
				st = ra_zip_add(z, name, ik_buf_ptr(&ca[i]), ik_buf_remaining(&ca[i]), 0);
		}
		BIO_free(b);
		X509_free(x);
		chain[i] = ik_buf_ptr(&ca[i]);
		chain_len[i] = ik_buf_remaining(&ca[i]);
		*nchain = i + 1;
	}
	return st;
}

typedef struct dl_out {
	ra_zip *z;
	ik_buf csv;             /* passwords.csv: secret */
	ik_buf missing;         /* not_included.csv */
	size_t included, not_included;
} dl_out;

static ik_status not_included(dl_out *o, const dl_item *it, const char *why)
{
	ik_status st = csv_field(&o->missing, it->cn, 0);

	if (st == IK_OK)
		st = csv_field(&o->missing, ra_cert_state_name(it->state), 0);
	if (st == IK_OK)
		st = csv_field(&o->missing, why, 1);
	o->not_included++;
	return st;
}

/* One certificate: its key unsealed, its .p12 under a fresh password, its CSV row. */
static ik_status add_one(EVP_PKEY *envelope, int64_t batch_id, ra_p12_flavour flavour,
    const uint8_t *const *chain, const size_t *chain_len, size_t nchain, const dl_item *it,
    dl_out *o)
{
	EVP_PKEY *key = NULL;
	char pw[P12_PASSWORD_LEN + 1], name[RA_CN_MAX + 8];
	ik_buf p12;
	ik_status st;

	if (it->state != RA_CERT_ACTIVE || it->der == NULL)
		return not_included(o, it, "not issued, or no longer active");
	if (it->env == NULL)
		return not_included(o, it, "no key kept for it");
	if (ra_batch_unseal_key(envelope, batch_id, it->env, it->env_len, &key) != IK_OK) {
		ik_log(LOG_ERR, "batch %lld: the stored key of %s does not open (damaged?)",
		    (long long)batch_id, it->cn);
		return not_included(o, it, "its stored key does not open");
	}
	ik_buf_init(&p12, 1024 * 1024);
	ik_buf_set_secret(&p12);
	if ((st = random_password(pw)) == IK_OK) {
		ra_p12_req pr = { .key = key, .cert = it->der, .cert_len = it->der_len,
		    .chain = chain, .chain_len = chain_len, .nchain = nchain, .password = pw,
		    .friendly_name = NULL, .flavour = flavour, .iter = P12_BATCH_ITER };
		st = ra_p12_build(&pr, &p12);
	}
	if (st != IK_OK) {
		ik_log(LOG_ERR, "batch %lld: cannot build the .p12 of %s: %s", (long long)batch_id,
		    it->cn, ik_status_str(st));
		st = not_included(o, it, "its PKCS#12 could not be built");
		goto out;
	}
	snprintf(name, sizeof(name), "%s.p12", it->cn);
	if ((st = ra_zip_add(o->z, name, ik_buf_ptr(&p12), ik_buf_remaining(&p12), 0)) == IK_OK &&
	    (st = csv_field(&o->csv, it->cn, 0)) == IK_OK &&
	    (st = csv_field(&o->csv, it->serial, 0)) == IK_OK)
		st = csv_field(&o->csv, pw, 1);
	if (st == IK_OK)
		o->included++;
out:
	OPENSSL_cleanse(pw, sizeof(pw));
	ik_buf_cleanup(&p12);
	EVP_PKEY_free(key);
	return st;
}

static void refuse_download(ra_req *r, const char *target, const char *why, unsigned status,
    const char *code, const char *message)
{
	char detail[128];
	ra_hist h;

	snprintf(detail, sizeof(detail), "{\"why\":\"%s\"}", why);
	h = ra_api_hist(r, "batch_download_failed", target, detail);
	if (ra_history_record(r->app->store, &h) != IK_OK)
		ik_log(LOG_ERR, "cannot record a refused batch download in the history");
	ra_reply_error(r, status, code, message);
}

/* Checks the batch can be downloaded; replies and returns 0 when not. */
static int downloadable(ra_req *r, int64_t id, const char *target, ra_batch_info *bi)
{
	ik_status st = ra_store_batch_info(r->app->store, id, bi);

	if (st != IK_OK) {
		ra_api_store_error(r, st, "batch");
		return 0;
	}
	if (bi->planned == 0) {
		ra_reply_error(r, 409, "not_keyed", "this batch has no keys made by the RA to "
		    "download");
		return 0;
	}
	if (bi->downloaded != 0 || !bi->has_envelope_key) {
		refuse_download(r, target, "already downloaded", 410, "batch_downloaded",
		    "this batch has already been downloaded; its keys are gone");
		return 0;
	}
	if (bi->b.state == RA_BATCH_RUNNING || bi->issuing > 0) {
		reply_running(r, &bi->b);
		return 0;
	}
	return 1;
}

/* POST /api/v1/batches/{id}/download {"passphrase"} */
static void h_download(ra_req *r)
{
	json_t *j = NULL;
	const char *pass;
	int64_t id;
	ra_batch_info bi;
	ra_p12_flavour flavour;
	EVP_PKEY *envelope = NULL;
	ik_buf pem, zipped, ca[CA_MAX];
	const uint8_t *chain[CA_MAX];
	size_t chain_len[CA_MAX], nchain = 0;
	dl_list items = { 0 };
	dl_out o;
	char target[32], detail[160], name[48], hdr[24];
	ra_hist h;
	ik_status st;

	memset(&o, 0, sizeof(o));
	ik_buf_init(&pem, RA_BATCH_KEY_PEM_MAX);
	ik_buf_init(&zipped, 0);
	ik_buf_set_secret(&zipped);
	ik_buf_init(&o.csv, 0);
	ik_buf_set_secret(&o.csv);
	ik_buf_init(&o.missing, 0);
	for (unsigned i = 0; i < CA_MAX; i++)
		ik_buf_init(&ca[i], 64 * 1024);
	if (!ra_api_path_id(r, &id) || (j = ra_req_json(r)) == NULL ||
	    (pass = ra_json_str(r, j, "passphrase", RA_BATCH_PASSPHRASE_MAX)) == NULL)
		goto out;
	snprintf(target, sizeof(target), "batch:%lld", (long long)id);
	if (!downloadable(r, id, target, &bi))
		goto out;
	if (ra_p12_flavour_parse(bi.p12_format, &flavour) != IK_OK) {
		ra_reply_error(r, 500, "internal", "the batch's PKCS#12 format is not known");
		goto out;
	}
	st = ra_store_batch_envelope_key(r->app->store, id, &pem);
	if (st == IK_ERR_STATE) {
		refuse_download(r, target, "already downloaded", 410, "batch_downloaded",
		    "this batch has already been downloaded; its keys are gone");
		goto out;
	}
	if (st != IK_OK) {
		ra_api_store_error(r, st, "batch");
		goto out;
	}
	st = ra_batch_envelope_open(ik_buf_ptr(&pem), ik_buf_remaining(&pem), bi.envelope_spki,
	    bi.envelope_spki_len, pass, &envelope);
	if (st == IK_ERR_AUTH) {
		refuse_download(r, target, "wrong passphrase", 403, "bad_passphrase",
		    "the batch passphrase is wrong");
		goto out;
	}
	if (st != IK_OK) {
		ik_log(LOG_ERR, "batch %lld: its stored envelope key cannot be read: %s",
		    (long long)id, ik_status_str(st));
		ra_reply_error(r, 500, "internal", "the batch's stored key cannot be read");
		goto out;
	}
	if ((st = ra_zip_new(&o.z)) != IK_OK ||
	    (st = add_ca(r, o.z, ca, chain, chain_len, &nchain)) != IK_OK) {
		if (st == IK_ERR_NOT_FOUND || st == IK_ERR_IO)
			ra_reply_error(r, 503, "ca_unavailable", "the CA certificates are not "
			    "available yet (the signer has not answered); try again later");
		else
			ra_reply_error(r, 500, "internal", "cannot start the ZIP file");
		goto out;
	}
	if ((st = ra_store_batch_items(r->app->store, id, dl_collect, &items)) != IK_OK) {
		ra_api_store_error(r, st == IK_ERR_STATE ? IK_ERR_NOMEM : st, "batch");
		goto out;
	}
	st = ik_buf_put_text(&o.csv, "cn,serial,password\n");
	if (st == IK_OK)
		st = ik_buf_put_text(&o.missing, "cn,state,why\n");
	for (size_t i = 0; st == IK_OK && i < items.n; i++)
		st = add_one(envelope, id, flavour, chain, chain_len, nchain, &items.v[i], &o);
	if (st == IK_OK)
		st = ra_zip_add(o.z, "passwords.csv", ik_buf_ptr(&o.csv), ik_buf_remaining(&o.csv), 1);
	if (st == IK_OK && o.not_included > 0)
		st = ra_zip_add(o.z, "not_included.csv", ik_buf_ptr(&o.missing),
		    ik_buf_remaining(&o.missing), 1);
	if (st == IK_OK)
		st = ra_zip_finish(o.z, &zipped);
	if (st != IK_OK) {
		ra_reply_error(r, 500, "internal", "cannot build the ZIP file");
		goto out;
	}
	/* handed out now: every key of the batch goes, in one transaction with the record */
	snprintf(detail, sizeof(detail), "{\"included\":%zu,\"not_included\":%zu,\"format\":\"%s\","
	    "\"bytes\":%zu}", o.included, o.not_included, bi.p12_format, ik_buf_remaining(&zipped));
	h = ra_api_hist(r, "batch_download", target, detail);
	st = ra_store_batch_purge_keys(r->app->store, id, &h);
	if (st == IK_ERR_STATE) {
		ra_reply_error(r, 410, "batch_downloaded", "this batch has just been downloaded by "
		    "another request; its keys are gone");
		goto out;
	}
	if (st != IK_OK) {
		ra_api_store_error(r, st, "batch");
		goto out;
	}
	ik_log(LOG_INFO, "%s downloaded batch %lld: %zu certificates, %zu not included",
	    r->who.login, (long long)id, o.included, o.not_included);
	snprintf(hdr, sizeof(hdr), "%zu", o.included);
	(void)ra_req_add_header(r, "X-Inkan-Included", hdr);
	snprintf(hdr, sizeof(hdr), "%zu", o.not_included);
	(void)ra_req_add_header(r, "X-Inkan-Not-Included", hdr);
	snprintf(name, sizeof(name), "batch-%lld.zip", (long long)id);
	ra_reply_bytes(r, 200, "application/zip", ik_buf_ptr(&zipped), ik_buf_remaining(&zipped),
	    name);
out:
	EVP_PKEY_free(envelope);
	ra_zip_free(o.z);
	dl_list_free(&items);
	ik_buf_cleanup(&o.csv);
	ik_buf_cleanup(&o.missing);
	ik_buf_cleanup(&pem);
	ik_buf_cleanup(&zipped);
	for (unsigned i = 0; i < CA_MAX; i++)
		ik_buf_cleanup(&ca[i]);
	json_decref(j);
}

const ra_route ra_api_batches_routes[] = {
	{ "POST", "/api/v1/batches", h_create, RA_ROLE_OFFICER, RA_RF_CSRF },
	/* before {id}: the first matching route wins */
	{ "GET", "/api/v1/batches/running", h_running, RA_ROLE_AUDITOR, 0 },
	{ "GET", "/api/v1/batches/{id}", h_show, RA_ROLE_AUDITOR, 0 },
	{ "POST", "/api/v1/batches/{id}/abort", h_abort, RA_ROLE_OFFICER, RA_RF_CSRF },
	{ "POST", "/api/v1/batches/{id}/download", h_download, RA_ROLE_OFFICER, RA_RF_CSRF },
};
const size_t ra_api_batches_nroutes =
    sizeof(ra_api_batches_routes) / sizeof(ra_api_batches_routes[0]);
