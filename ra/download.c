/* download: one-time download credentials and the end user's PKCS#12 download.
 *
 * POST /download/p12 (JSON): {"login", "secret", "password", "device", "format"?,
 * "key_type"?}.  Order of work, so that nothing is lost and nothing is issued twice:
 *  1. the credential: unknown login -> the same slow work and the same answer as a wrong
 *     secret; locked after RA_DOWNLOAD_MAX_ATTEMPTS failures; used or expired -> refused
 *     and recorded;
 *  2. the PKCS#12 password against the policy (before any key is made);
 *  3. the key pair in memory, then in one transaction a request row for the reserved
 *     certificate with the public key, claimed (that row is the lock: a second download
 *     racing this one finds the certificate no longer awaiting download), then the signer
 *     call on this thread;
 *  4. the .p12 built, the credential spent (recorded) with the officers' notice in the
 *     same transaction, the reply; the key freed.
 * A made credential and its mail to the user (never the secret) are one transaction too.
 * If the signer cannot sign now (asked before anything changes), the user is told to try
 * again later and the credential stays good.  If it stops answering in the middle, the
 * request fails for good (its key is gone with this call) and the officer issues anew. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "api.h"
#include "auth.h"
#include "download.h"
#include "log.h"
#include "mail.h"
#include "notify.h"
#include "p12.h"
#include "policy.h"
#include "publish.h"
#include "queue.h"
#include "signer_client.h"

/* Crockford-like alphabet without look-alikes (0/O, 1/I/L). */
const char RA_ALNUM[] = "23456789ABCDEFGHJKMNPQRSTUVWXYZ";

ik_status ra_random_text(const char *alphabet, size_t n, char *out)
{
	size_t m = strlen(alphabet), i = 0;
	uint8_t b[64];
	size_t limit = 256 - 256 % m;    /* reject bytes that would bias the choice */

	while (i < n) {
		if (RAND_bytes(b, sizeof(b)) != 1)
			return IK_ERR_CRYPTO;
		for (size_t k = 0; k < sizeof(b) && i < n; k++)
			if (b[k] < limit)
				out[i++] = alphabet[b[k] % m];
	}
	out[n] = '\0';
	OPENSSL_cleanse(b, sizeof(b));
	return IK_OK;
}

ik_status ra_download_credential_make(ra_req *r, int64_t cert_id, ra_download_kind kind,
    unsigned expire_days, ra_credential *out)
{
	ra_download d;
	char target[64];
	ra_hist h;
	int64_t id, now = (int64_t)time(NULL);
	ik_status st;

	memset(out, 0, sizeof(*out));
	memset(&d, 0, sizeof(d));
	d.cert_id = cert_id;
	d.kind = kind;
	d.created = now;
	d.expires = now + (int64_t)expire_days * 86400;
	/* password: a short user name and a 12-character password to type;
	 * pin: a long retrieval id that goes in the URL and an 8-digit PIN */
	if (kind == RA_DOWNLOAD_PASSWORD) {
		memcpy(d.login, "dl-", 3);
		st = ra_random_text(RA_ALNUM, 8, d.login + 3);
		if (st == IK_OK)
			st = ra_random_text(RA_ALNUM, 12, out->secret);
	} else {
		st = ra_random_text(RA_ALNUM, 24, d.login);
		if (st == IK_OK)
			st = ra_random_text("0123456789", 8, out->secret);
	}
	if (st == IK_OK)
		st = ra_password_hash(out->secret, d.secret_hash, sizeof(d.secret_hash));
	if (st != IK_OK)
		goto out;
	snprintf(target, sizeof(target), "certificate:%lld", (long long)cert_id);
	h = ra_api_hist(r, "download_credential", target,
	    kind == RA_DOWNLOAD_PASSWORD ? "{\"kind\":\"password\"}" : "{\"kind\":\"pin\"}");
	if (kind == RA_DOWNLOAD_PASSWORD)
		snprintf(out->url, sizeof(out->url), "%s/download", r->app->cfg->public_url);
	else
		snprintf(out->url, sizeof(out->url), "%s/download?id=%s", r->app->cfg->public_url,
		    d.login);
	/* the credential and the user's notice (never the secret) in one transaction (a
	 * savepoint when the caller's reservation is already one) */
	if ((st = ra_store_begin(r->app->store)) != IK_OK)
		goto out;
	st = ra_store_download_add(r->app->store, &d, &h, &id);
	if (st == IK_OK)
		st = ra_notify_credential(r->app, &d, out->url);
	if (st == IK_OK)
		st = ra_store_commit(r->app->store);
	else
		(void)ra_store_rollback(r->app->store);
	if (st != IK_OK)
		goto out;
	ra_mailer_kick(r->app->mailer);
	out->kind = kind;
	out->expires = d.expires;
	memcpy(out->login, d.login, sizeof(out->login));
out:
	if (st != IK_OK)
		OPENSSL_cleanse(out, sizeof(*out));
	OPENSSL_cleanse(&d, sizeof(d));
	return st;
}

ik_status ra_download_credential_new(ra_req *r, int64_t cert_id, ra_download_kind kind,
    unsigned expire_days, json_t *out)
{
	ra_credential c;
	ik_status st = ra_download_credential_make(r, cert_id, kind, expire_days, &c);

	if (st != IK_OK)
		return st;
	json_object_set_new(out, "download", json_pack("{s:s, s:s, s:s, s:o}", "login", c.login,
	    kind == RA_DOWNLOAD_PASSWORD ? "password" : "pin", c.secret, "url", c.url, "expires",
	    ra_json_time(c.expires)));
	OPENSSL_cleanse(&c, sizeof(c));
	return IK_OK;
}

/* The PKCS#12 flavour a device type needs (see p12.h for who accepts what). */
static int device_flavour(const char *device, ra_p12_flavour *out)
{
	static const struct {
		const char *name;
		ra_p12_flavour f;
	} map[] = {
		{ "windows", RA_P12_MODERN }, { "windows-legacy", RA_P12_COMPATIBLE },
		{ "macos", RA_P12_COMPATIBLE }, { "ios", RA_P12_COMPATIBLE },
		{ "ipados", RA_P12_COMPATIBLE }, { "android", RA_P12_MODERN },
		{ "android-legacy", RA_P12_COMPATIBLE }, { "linux", RA_P12_MODERN },
		{ "firefox", RA_P12_MODERN }, { "other", RA_P12_MODERN },
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(device, map[i].name) == 0) {
			*out = map[i].f;
			return 1;
		}
	return 0;
}

static void record_refusal(ra_req *r, const char *login, const char *op, const char *why)
{
	ra_hist h = { .actor = login, .ip = r->ip, .op = op, .target = login, .detail = why };

	if (ra_history_record(r->app->store, &h) != IK_OK)
		ik_log(LOG_ERR, "cannot record %s in the history", op);
}

/* Step 1; spent_ok lets a used or expired credential through (the switch after a renewal
 * proves the same link and password after the download). */
/* The credential's scrypt check, its time counted as key derivation. */
static int verify_timed(ra_req *r, const char *secret, const char *hash)
{
	uint64_t t = ra_mono_ns();
	int ok = ra_password_verify(secret, hash) == IK_OK;

	r->kdf_ns += ra_mono_ns() - t;
	return ok;
}

static ra_dl_outcome check_credential(ra_req *r, const char *login, const char *secret,
    int spent_ok, ra_download *d)
{
	int64_t now = (int64_t)time(NULL);
	unsigned attempts = 0;
	ik_status st;

	st = ra_store_download_by_login(r->app->store, login, d);
	if (st == IK_ERR_NOT_FOUND) {
		if (secret != NULL)
			ra_password_dummy(secret);
		record_refusal(r, login, "download_failed", "{\"why\":\"unknown login\"}");
		return RA_DL_BAD;
	}
	if (st != IK_OK)
		return st == IK_ERR_BUSY ? RA_DL_BUSY : RA_DL_ERROR;
	if (d->attempts >= RA_DOWNLOAD_MAX_ATTEMPTS) {
		if (secret != NULL)
			ra_password_dummy(secret);
		record_refusal(r, login, "download_refused", "{\"why\":\"locked\"}");
		return RA_DL_LOCKED;
	}
	if (secret != NULL && !verify_timed(r, secret, d->secret_hash)) {
		if (ra_store_download_attempt(r->app->store, d->id, &attempts) != IK_OK)
			return RA_DL_ERROR;
		record_refusal(r, login, "download_failed", "{\"why\":\"wrong secret\"}");
		return RA_DL_BAD;
	}
	if (spent_ok)
		return RA_DL_OK;
	if (d->used != 0) {
		record_refusal(r, login, "download_refused", "{\"why\":\"already used\"}");
		return RA_DL_USED;
	}
	if (now >= d->expires) {
		record_refusal(r, login, "download_refused", "{\"why\":\"expired\"}");
		return RA_DL_EXPIRED;
	}
	return RA_DL_OK;
}

ra_dl_outcome ra_download_check(ra_req *r, const char *login, const char *secret,
    ra_download *d)
{
	return check_credential(r, login, secret, 0, d);
}

ra_dl_outcome ra_download_check_spent(ra_req *r, const char *login, const char *secret,
    ra_download *d)
{
	return check_credential(r, login, secret, 1, d);
}

void ra_download_reply_check(ra_req *r, ra_dl_outcome o)
{
	switch (o) {
	case RA_DL_BAD:
		ra_reply_error(r, 401, "bad_credentials", "wrong download login or password");
		break;
	case RA_DL_LOCKED:
		ra_reply_error(r, 423, "locked", "too many wrong passwords: this download is locked; "
		    "ask your administrator for a new one");
		break;
	case RA_DL_USED:
		ra_reply_error(r, 410, "credential_used", "this download has already been used; ask "
		    "your administrator for a new one");
		break;
	case RA_DL_EXPIRED:
		ra_reply_error(r, 410, "credential_expired", "this download has expired; ask your "
		    "administrator for a new one");
		break;
	case RA_DL_BUSY:
		ra_api_store_error(r, IK_ERR_BUSY, "download credential");
		break;
	default:
		ra_reply_error(r, 500, "internal", "cannot check the download credential");
		break;
	}
}

static ik_status chain_of(ra_req *r, ik_buf *ca, const uint8_t **ptr, size_t *len,
    size_t *n)
{
	unsigned count = 0;
	ik_status st = ra_publish_ca(r->app->publish, 0, &ca[0], &count);

	*n = 0;
	for (unsigned i = 1; st == IK_OK && i < count && i < PROTO_MAX_CHAIN; i++)
		st = ra_publish_ca(r->app->publish, i, &ca[i], &count);
	for (unsigned i = 0; st == IK_OK && i < count && i < PROTO_MAX_CHAIN; i++) {
		ptr[i] = ik_buf_ptr(&ca[i]);
		len[i] = ik_buf_remaining(&ca[i]);
		*n = i + 1;
	}
	return st;
}

/* The request row (n; NULL: a renewal's, already in req, only h recorded), its key and its
 * claim in one durable transaction: nothing of it exists until the signer may be asked,
 * and then no worker can take it (so this thread runs it without waiting). */
static ik_status start_request(ra_req *r, const ra_request_new *n, const ra_hist *h,
    const ik_buf *spki, ra_request *req)
{
	ra_store *s = r->app->store;
	ik_status st = ra_store_begin(s);

	if (st != IK_OK)
		return st;
	st = n == NULL ? ra_history_record(s, h) : ra_store_request_add(s, n, h, req);
	if (st == IK_OK)
		st = ra_store_request_set_spki(s, req->id, ik_buf_ptr(spki),
		    ik_buf_remaining(spki));
	if (st == IK_OK)
		st = ra_store_request_claim_id(s, req->id, req);
	if (st == IK_OK)
		st = ra_store_commit(s);
	else
		(void)ra_store_rollback(s);
	return st;
}

ra_dl_outcome ra_download_p12(ra_req *r, const ra_download *d, const ra_dl_in *in,
    ik_buf *p12, char *name, size_t namesz, char *why, size_t whysz)
{
	ra_cert cert;
	ra_pw_policy policy;
	EVP_PKEY *key = NULL;
	ik_buf spki, der, ca[PROTO_MAX_CHAIN];
	const uint8_t *chain[PROTO_MAX_CHAIN];
	size_t chain_len[PROTO_MAX_CHAIN], nchain = 0;
	ra_request_new n;
	ra_request req;
	proto_error err;
	uint64_t t;
	ra_hist h;
	char detail[256];
	const char *ids[2];
	ra_dl_outcome res = RA_DL_ERROR;
	int renewal = 0;
	int64_t old_cert_id = 0;
	ik_status st;

	why[0] = '\0';
	ik_buf_init(&spki, RA_SPKI_MAX);
	ik_buf_init(&der, 64 * 1024);
	for (unsigned i = 0; i < PROTO_MAX_CHAIN; i++)
		ik_buf_init(&ca[i], 64 * 1024);
	memset(&req, 0, sizeof(req));
	if ((st = ra_store_cert_get(r->app->store, d->cert_id, &cert)) != IK_OK)
		goto out;
	if (in->renew != NULL) {
		/* a self-service renewal of d's certificate (eligibility checked by the caller;
		 * its password was checked against the policy when the user chose it) */
		old_cert_id = in->renew->old_cert_id;
		if (ra_download_device_settling(r, cert.device_id)) {
			res = RA_DL_RETRY; /* an earlier try's renewal, not settled yet */
			goto out;
		}
	} else {
		/* a renewal waiting for its key: its request is already there, pending without
		 * one */
		renewal = cert.state == RA_CERT_ISSUING && cert.request_id != 0 &&
		    ra_store_request_get(r->app->store, cert.request_id, &req) == IK_OK &&
		    req.state == RA_REQ_PENDING && req.generate_here && req.spki_len == 0;
		if (!renewal && ra_download_settling(r, &cert)) {
			res = RA_DL_RETRY; /* an earlier try's request, not settled yet */
			goto out;
		}
		if (cert.state != RA_CERT_AWAITING_DOWNLOAD && !renewal) {
			record_refusal(r, d->login, "download_refused", "{\"why\":\"certificate not "
			    "awaiting download\"}");
			res = RA_DL_STATE;
			goto out;
		}
		if (renewal)
			old_cert_id = req.old_cert_id;
		if (ra_policy_p12_password(r->app->store, &policy) != IK_OK)
			goto out;
		ids[0] = d->login;
		ids[1] = cert.cn;
		if (ra_pw_check(&policy, in->password, ids, 2, why, whysz) != RA_PW_OK) {
			res = RA_DL_POLICY;
			goto out;
		}
	}
	/* the CA chain first: without it there is no .p12 to hand out */
	if (chain_of(r, ca, chain, chain_len, &nchain) != IK_OK) {
		res = RA_DL_UNAVAILABLE;
		goto out;
	}
	/* a CA that cannot sign now is found out before the certificate is touched, so the
	 * credential stays good for a later try */
	{
		proto_status_reply sr;
		proto_error se;
		if (r->app->signer == NULL || ra_signer_status(r->app->signer, &sr, &se) != IK_OK ||
		    !sr.hsm_ok) {
			res = RA_DL_UNAVAILABLE;
			goto out;
		}
	}
	t = ra_mono_ns();
	st = ra_p12_keygen(in->keytype, &key, &spki);
	r->kdf_ns += ra_mono_ns() - t;
	if (st != IK_OK)
		goto out;
	if (in->renew != NULL)
		n = *in->renew;
	else {
		memset(&n, 0, sizeof(n));
		n.kind = RA_REQ_ISSUE;
		n.cert_id = d->cert_id;
	}
	n.generate_here = 1;      /* its key is attached (set_spki) in the same transaction */
	n.created_by = d->login;
	snprintf(detail, sizeof(detail), "{\"device\":\"%s\",\"format\":\"%s\",\"key\":\"%s\"}",
	    in->device, ra_p12_flavour_name(in->flavour), ra_keytype_name(in->keytype));
	h = (ra_hist){ .actor = d->login, .ip = r->ip, .op = "download_started",
	    .target = cert.cn, .detail = detail };
	st = start_request(r, renewal ? NULL : &n, &h, &spki, &req);
	if (st == IK_ERR_STATE || st == IK_ERR_EXISTS) {
		res = RA_DL_STATE;
		goto out;
	}
	if (st != IK_OK)
		goto out;
	st = ra_queue_run_claimed(r->app->queue, &req, &err);
	if (st != IK_OK) {
		ik_log(LOG_WARNING, "download %s: the signer did not issue: %s", d->login, err.detail);
		if (req.state == RA_REQ_SENT) { /* no answer: the signer may have issued it */
			res = ra_download_park(r, d, &req, err.detail);
			goto out;
		}
		res = st == IK_ERR_HSM_UNAVAILABLE || st == IK_ERR_IO || st == IK_ERR_PROTO_CLOSED ?
		    RA_DL_STOPPED : RA_DL_REFUSED;
		goto out;
	}
	/* the certificate just issued: the credential's own, or a self-service renewal's new
	 * one */
	if ((st = ra_store_cert_der(r->app->store, req.cert_id, &der)) != IK_OK)
		goto out;
	{
		ra_p12_req pr = { .key = key, .cert = ik_buf_ptr(&der),
		    .cert_len = ik_buf_remaining(&der), .chain = chain, .chain_len = chain_len,
		    .nchain = nchain, .password = in->password, .friendly_name = NULL,
		    .flavour = in->flavour, .iter = 0 };
		t = ra_mono_ns();
		st = ra_p12_build(&pr, p12);
		r->kdf_ns += ra_mono_ns() - t;
		if (st != IK_OK)
			goto out;
	}
	h = (ra_hist){ .actor = d->login, .ip = r->ip, .op = "download", .target = req.serial,
	    .detail = detail };
	/* the credential spent and the officers told (for a renewal with the revocation TSV
	 * of the old certificate), in one transaction */
	if ((st = ra_store_begin(r->app->store)) == IK_OK) {
		st = ra_store_download_use(r->app->store, d->id, (int64_t)time(NULL), &h);
		if (st == IK_OK)
			st = ra_notify_downloaded(r->app, req.cert_id, old_cert_id);
		if (st == IK_OK)
			st = ra_store_commit(r->app->store);
		else
			(void)ra_store_rollback(r->app->store);
	}
	if (st != IK_OK) {
		res = RA_DL_USED;
		goto out;
	}
	ra_mailer_kick(r->app->mailer);
	snprintf(name, namesz, "%s.p12", cert.cn);
	res = RA_DL_OK;
	atomic_fetch_add(&r->app->dl_count, 1);
	atomic_fetch_add(&r->app->dl_ns, ra_mono_ns() - r->started_ns);
	atomic_fetch_add(&r->app->dl_kdf_ns, r->kdf_ns);
out:
	EVP_PKEY_free(key);
	ik_buf_cleanup(&spki);
	ik_buf_cleanup(&der);
	for (unsigned i = 0; i < PROTO_MAX_CHAIN; i++)
		ik_buf_cleanup(&ca[i]);
	return res;
}

int ra_download_device(const char *device, ra_p12_flavour *out)
{
	return device_flavour(device, out);
}

int ra_download_parse_options(ra_req *r, json_t *j, ra_dl_in *in)
{
	const char *format = NULL, *kt = "ec-p256";

	if ((in->device = ra_json_str(r, j, "device", 32)) == NULL ||
	    !ra_json_opt_str(r, j, "format", 16, &format) ||
	    !ra_json_opt_str(r, j, "key_type", 16, &kt))
		return 0;
	if (!device_flavour(in->device, &in->flavour)) {
		ra_reply_error_field(r, 400, "bad_field", "device: one of windows, windows-legacy, "
		    "macos, ios, ipados, android, android-legacy, linux, firefox, other", "device");
		return 0;
	}
	if (format != NULL && ra_p12_flavour_parse(format, &in->flavour) != IK_OK) {
		ra_reply_error_field(r, 400, "bad_field", "format: modern or compatible", "format");
		return 0;
	}
	if (ra_keytype_parse(kt, &in->keytype) != IK_OK) {
		ra_reply_error_field(r, 400, "bad_field",
		    "key_type: one of ec-p256, ec-p384, rsa-2048, rsa-3072", "key_type");
		return 0;
	}
	return 1;
}

void ra_download_reply(ra_req *r, ra_dl_outcome o, const ik_buf *p12, const char *name,
    const char *why)
{
	switch (o) {
	case RA_DL_OK:
		ra_reply_bytes(r, 200, "application/x-pkcs12", ik_buf_ptr(p12),
		    ik_buf_remaining(p12), name);
		break;
	case RA_DL_STATE:
		ra_reply_error(r, 409, "state", "this certificate is no longer waiting for a download");
		break;
	case RA_DL_POLICY:
		ra_reply_error_field(r, 400, "password_policy", why, "password");
		break;
	case RA_DL_UNAVAILABLE:
		ra_reply_error(r, 503, "ca_unavailable", "the certificate authority cannot sign "
		    "right now; please try again later (your download is still valid)");
		break;
	case RA_DL_STOPPED:
		ra_reply_error(r, 503, "ca_unavailable", "the certificate authority stopped "
		    "answering while signing; ask your administrator for a new download");
		break;
	case RA_DL_RETRY:
		ra_reply_error(r, 503, "ca_unavailable", "the certificate authority did not answer "
		    "in time; please try again in a few minutes (your download is still valid)");
		break;
	case RA_DL_REFUSED:
		ra_reply_error(r, 502, "refused", "the certificate authority refused this "
		    "certificate; ask your administrator");
		break;
	case RA_DL_USED:
		ra_reply_error(r, 409, "credential_used", "this download has already been used");
		break;
	default:
		ra_reply_error(r, 500, "internal", "cannot build the PKCS#12 file");
		break;
	}
}

static void h_p12(ra_req *r)
{
	json_t *j = ra_req_json(r);
	const char *login, *secret;
	ra_download d;
	ra_dl_in in;
	ra_dl_outcome o;
	ik_buf p12;
	char why[256], name[RA_CN_MAX + 8];

	memset(&d, 0, sizeof(d));
	ik_buf_init(&p12, 1024 * 1024);
	ik_buf_set_secret(&p12);
	if (j == NULL)
		goto out;
	memset(&in, 0, sizeof(in));
	if ((login = ra_json_str(r, j, "login", RA_STORE_LOGIN_MAX)) == NULL ||
	    (secret = ra_json_str(r, j, "secret", 64)) == NULL ||
	    (in.password = ra_json_str(r, j, "password", RA_P12_MAX_PASSWORD)) == NULL ||
	    !ra_download_parse_options(r, j, &in))
		goto out;
	if ((o = ra_download_check(r, login, secret, &d)) != RA_DL_OK) {
		ra_download_reply_check(r, o);
		goto out;
	}
	o = ra_download_p12(r, &d, &in, &p12, name, sizeof(name), why, sizeof(why));
	ra_download_reply(r, o, &p12, name, why);
out:
	OPENSSL_cleanse(&d, sizeof(d));
	ik_buf_cleanup(&p12);
	json_decref(j);
}

const ra_route ra_download_routes[] = {
	{ "POST", "/download/p12", h_p12, RA_ROLE_NONE, RA_RF_HEAVY },
};
const size_t ra_download_nroutes = sizeof(ra_download_routes) / sizeof(ra_download_routes[0]);
