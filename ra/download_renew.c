/* download_renew: renewal by the users themselves while the renewal window is open, and the
 * confirmation of the switch that revokes the old certificate.
 *
 * Design (no secret ever travels by mail):
 *  1. POST /download/renew/request {"user", "email", "password"}: the user names their user
 *     id and the address on file and chooses the password of the new .p12.  For each of
 *     their devices whose current certificate may be renewed now, the RA keeps a renewal
 *     credential (a one-time login id + the scrypt hash of that password, for 7 days) and
 *     mails the login id as a link to the address on file.  The reply is the same whether
 *     or not anything matched (no probing for users or addresses).
 *  2. POST /download/renew {"login", "secret" (= that password), "device", ...}: the link
 *     (proves the mailbox) and the password (proves the person who asked) together; the
 *     RA makes the key, the signer issues the renewal (same device and CN), the .p12 comes
 *     back under that password; the officers get the revocation TSV for the old serial.
 *  3. POST /download/switch {"login", "secret"}: the user confirms that the device now uses
 *     the new certificate; the old one is revoked as superseded.  Without it the old one
 *     simply expires.  Officers do the same with POST /api/v1/certificates/{id}/switch.
 * GET /download/renewal-window tells the pages whether the window is open. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <openssl/crypto.h>

#include "api.h"
#include "auth.h"
#include "download.h"
#include "log.h"
#include "mail.h"
#include "notify.h"
#include "p12.h"
#include "policy.h"
#include "queue.h"
#include "renewal.h"

#define RENEW_LINK_DAYS 7         /* a renewal credential lasts this long */
#define RENEW_REPEAT_SECONDS 600  /* a second request for one certificate within this: ignored */
#define REASON_SUPERSEDED 4
#define DEVICES_PAGE 64

static json_t *window_json(const ra_renewal_window *w)
{
	char a[16] = "", b[16] = "", off[16];
	int m = w->offset_min < 0 ? -w->offset_min : w->offset_min;
	json_t *j;

	snprintf(off, sizeof(off), "%c%02d:%02d", w->offset_min < 0 ? '-' : '+', (m / 60) % 100,
	    m % 60);
	if (w->set) {
		ra_renewal_date(w->start, w->offset_min, a);
		ra_renewal_date(w->end - 86400, w->offset_min, b);
	}
	j = json_pack("{s:b, s:b, s:b, s:I, s:s}", "open", w->open, "set", w->set, "yearly",
	    w->yearly, "days_before_expiry", (json_int_t)w->days, "utc_offset", off);
	json_object_set_new(j, "start", w->set ? json_string(a) : json_null());
	json_object_set_new(j, "end", w->set ? json_string(b) : json_null());
	json_object_set_new(j, "opens_at", w->set ? ra_json_time(w->start) : json_null());
	json_object_set_new(j, "closes_at", w->set ? ra_json_time(w->end) : json_null());
	return j;
}

/* GET /download/renewal-window (public) */
static void h_window(ra_req *r)
{
	ra_renewal_window w;

	if (ra_renewal_window_get(r->app->store, (int64_t)time(NULL), &w) != IK_OK) {
		ra_reply_error(r, 500, "internal", "the renewal window settings are unusable");
		return;
	}
	ra_reply_json(r, 200, window_json(&w));
}

json_t *ra_renewal_window_json(const ra_renewal_window *w)
{
	return window_json(w);
}

/* A renewal of the device's by a download that a restart interrupted after its key was made
 * (store.h, ra_store_renewal_reset): its new certificate is revoked, so the one it renewed is
 * made the device's current certificate again, renewable again (by the same link, or a new
 * one).  Returns that certificate's id, or 0. */
static int64_t renewal_reset(ra_req *r, int64_t device_id)
{
	ra_hist h = { .actor = "self-service", .ip = r->ip, .op = "renewal_reset", .target = NULL,
	    .detail = "{\"note\":\"a renewal download stopped by a restart after its key was "
	    "made; its certificate is revoked, this one is current again\"}" };
	int64_t id = 0;
	ik_status st = ra_store_renewal_reset(r->app->store, device_id, &h, &id);

	if (st != IK_OK)
		ik_log(LOG_ERR, "renewal: cannot reset an interrupted renewal of device %lld: %s",
		    (long long)device_id, ik_status_str(st));
	else if (id != 0)
		ik_log(LOG_NOTICE, "renewal: certificate %lld is its device's current one again (its "
		    "renewal was interrupted by a restart)", (long long)id);
	return id;
}

/* One renewal credential for c, and its mail, in one transaction.  0 when skipped. */
static int offer(ra_req *r, const ra_cert *c, const char *phc, int64_t now)
{
	ra_download d, last;
	char url[512], target[64];
	ra_hist h;
	int64_t id;
	ik_status st;

	if (ra_store_download_for_cert(r->app->store, c->id, &last) == IK_OK && last.used == 0 &&
	    now - last.created < RENEW_REPEAT_SECONDS && last.expires > now)
		return 0;
	memset(&d, 0, sizeof(d));
	d.cert_id = c->id;
	d.kind = RA_DOWNLOAD_PASSWORD;
	d.created = now;
	d.expires = now + RENEW_LINK_DAYS * 86400;
	memcpy(d.login, "rn-", 3);
	if (ra_random_text(RA_ALNUM, 24, d.login + 3) != IK_OK)
		return 0;
	snprintf(d.secret_hash, sizeof(d.secret_hash), "%s", phc);
	snprintf(url, sizeof(url), "%s/download/renew?id=%s", r->app->cfg->public_url, d.login);
	snprintf(target, sizeof(target), "certificate:%lld", (long long)c->id);
	h = (ra_hist){ .actor = "self-service", .ip = r->ip, .op = "renewal_offered",
	    .target = c->serial, .detail = "{\"by\":\"user\"}" };
	if ((st = ra_store_begin(r->app->store)) != IK_OK)
		return 0;
	st = ra_store_download_add(r->app->store, &d, &h, &id);
	if (st == IK_OK)
		st = ra_notify_renewal_ready(r->app, c, &d, url);
	st = st == IK_OK ? ra_store_commit(r->app->store) : (ra_store_rollback(r->app->store), st);
	OPENSSL_cleanse(&d, sizeof(d));
	if (st != IK_OK) {
		ik_log(LOG_ERR, "renewal: cannot offer a renewal for certificate %lld: %s",
		    (long long)c->id, ik_status_str(st));
		return 0;
	}
	return 1;
}

ra_rn_outcome ra_renew_request(ra_req *r, const char *user, const char *email,
    const char *password, char *why, size_t whysz)
{
	const char *ids[1] = { user };
	char phc[RA_STORE_SECRET_HASH_MAX + 1] = "";
	ra_renewal_window w;
	ra_pw_policy policy;
	ra_user u;
	ra_device *devs = NULL;
	size_t n = 0, offered = 0;
	int64_t now = (int64_t)time(NULL), after = 0;
	ra_rn_outcome res = RA_RN_ERROR;
	int match;

	why[0] = '\0';
	if (!ra_mail_enabled(r->app))
		return RA_RN_MAIL_OFF;
	if (ra_renewal_window_get(r->app->store, now, &w) != IK_OK) {
		snprintf(why, whysz, "the renewal window settings are unusable");
		return RA_RN_ERROR;
	}
	if (!w.open && w.days == 0)
		return RA_RN_CLOSED;
	if (ra_policy_p12_password(r->app->store, &policy) != IK_OK) {
		snprintf(why, whysz, "the password policy settings are unusable");
		return RA_RN_ERROR;
	}
	if (ra_pw_check(&policy, password, ids, 1, why, whysz) != RA_PW_OK)
		return RA_RN_POLICY;
	/* the slow hash always, so that a match and a miss take the same time */
	if (ra_password_hash(password, phc, sizeof(phc)) != IK_OK) {
		snprintf(why, whysz, "cannot hash the password");
		goto out;
	}
	match = ra_store_user_by_external_id(r->app->store, user, &u) == IK_OK &&
	    u.email[0] != '\0' && strcasecmp(u.email, email) == 0;
	if (match && (devs = calloc(DEVICES_PAGE, sizeof(*devs))) != NULL) {
		do {
			if (ra_store_device_list(r->app->store, u.id, after, devs, DEVICES_PAGE, &n) !=
			    IK_OK)
				break;
			for (size_t i = 0; i < n; i++) {
				ra_cert c;
				after = devs[i].id;
				if (devs[i].current_cert_id == 0)
					devs[i].current_cert_id = renewal_reset(r, devs[i].id);
				if (devs[i].current_cert_id != 0 &&
				    ra_store_cert_get(r->app->store, devs[i].current_cert_id, &c) == IK_OK &&
				    ra_renewal_eligible(&w, &c, now))
					offered += (size_t)offer(r, &c, phc, now);
			}
		} while (n == DEVICES_PAGE);
	}
	{
		char detail[160];
		ra_hist h = { .actor = "self-service", .ip = r->ip, .op = "renewal_requested",
		    .target = user, .detail = detail };
		snprintf(detail, sizeof(detail), "{\"offered\":%zu}", offered);
		if (ra_history_record(r->app->store, &h) != IK_OK)
			ik_log(LOG_ERR, "renewal: cannot record the request");
	}
	if (offered > 0)
		ra_mailer_kick(r->app->mailer);
	res = RA_RN_OK;
out:
	free(devs);
	OPENSSL_cleanse(phc, sizeof(phc));
	return res;
}

/* POST /download/renew/request {"user", "email", "password"} */
static void h_request(ra_req *r)
{
	json_t *j = ra_req_json(r);
	const char *user, *email, *password;
	char why[256];

	if (j == NULL)
		return;
	if ((user = ra_json_str(r, j, "user", RA_STORE_NAME_MAX)) == NULL ||
	    (email = ra_json_str(r, j, "email", RA_STORE_EMAIL_MAX)) == NULL ||
	    (password = ra_json_str(r, j, "password", RA_P12_MAX_PASSWORD)) == NULL)
		goto out;
	switch (ra_renew_request(r, user, email, password, why, sizeof(why))) {
	case RA_RN_OK:
		ra_reply_json(r, 202, json_pack("{s:s}", "status", "if a certificate of yours can "
		    "be renewed now, a mail with the download link is on its way to your address"));
		break;
	case RA_RN_MAIL_OFF:
		ra_reply_error(r, 409, "mail_off", "renewal by the users themselves needs mail, which "
		    "is not configured; ask your administrator");
		break;
	case RA_RN_CLOSED:
		ra_reply_error(r, 409, "window_closed", "the renewal window is closed; ask your "
		    "administrator");
		break;
	case RA_RN_POLICY:
		ra_reply_error_field(r, 400, "password_policy", why, "password");
		break;
	default:
		ra_reply_error(r, 500, "internal", why[0] != '\0' ? why : "cannot take the request");
		break;
	}
out:
	json_decref(j);
}

ra_dl_outcome ra_renew_p12(ra_req *r, const ra_download *d, const char *secret, ra_dl_in *in,
    ik_buf *p12, char *name, size_t namesz, char *why, size_t whysz)
{
	ra_renewal_window w;
	ra_cert c;
	ra_request_new n;
	int64_t now = (int64_t)time(NULL), quota = 0;

	why[0] = '\0';
	if (ra_store_cert_get(r->app->store, d->cert_id, &c) != IK_OK ||
	    ra_renewal_window_get(r->app->store, now, &w) != IK_OK ||
	    ra_store_setting_get_int(r->app->store, "quota", 0, &quota) != IK_OK)
		return RA_DL_ERROR;
	/* the link's earlier use stopped by a restart: c is current again first */
	if (c.state == RA_CERT_ACTIVE && !c.current && c.device_id != 0 &&
	    renewal_reset(r, c.device_id) == c.id &&
	    ra_store_cert_get(r->app->store, d->cert_id, &c) != IK_OK)
		return RA_DL_ERROR;
	if (!ra_renewal_eligible(&w, &c, now)) {
		int closed = !w.open && w.days == 0;
		ra_hist h = { .actor = d->login, .ip = r->ip, .op = "download_refused",
		    .target = d->login, .detail = closed ? "{\"why\":\"renewal window closed\"}" :
		    "{\"why\":\"not renewable now\"}" };
		(void)ra_history_record(r->app->store, &h);
		return closed ? RA_DL_CLOSED : RA_DL_NOT_RENEWABLE;
	}
	memset(&n, 0, sizeof(n));
	n.kind = RA_REQ_RENEW;
	n.old_cert_id = c.id;
	n.validity_days = c.validity_days;
	n.quota = quota > 0 ? (uint64_t)quota : 0;
	in->password = secret;    /* the .p12 comes under the password the user chose */
	in->renew = &n;
	{
		ra_dl_outcome o = ra_download_p12(r, d, in, p12, name, namesz, why, whysz);
		in->renew = NULL;
		return o;
	}
}

/* POST /download/renew {"login", "secret", "device", "format"?, "key_type"?} */
static void h_renew(ra_req *r)
{
	json_t *j = ra_req_json(r);
	const char *login, *secret;
	ra_download d;
	ra_dl_in in;
	ra_dl_outcome o;
	ik_buf p12;
	char why[256], name[RA_CN_MAX + 8];

	memset(&d, 0, sizeof(d));
	memset(&in, 0, sizeof(in));
	ik_buf_init(&p12, 1024 * 1024);
	ik_buf_set_secret(&p12);
	if (j == NULL)
		goto out;
	if ((login = ra_json_str(r, j, "login", RA_STORE_LOGIN_MAX)) == NULL ||
	    (secret = ra_json_str(r, j, "secret", RA_P12_MAX_PASSWORD)) == NULL ||
	    !ra_download_parse_options(r, j, &in))
		goto out;
	if ((o = ra_download_check(r, login, secret, &d)) != RA_DL_OK) {
		ra_download_reply_check(r, o);
		goto out;
	}
	o = ra_renew_p12(r, &d, secret, &in, &p12, name, sizeof(name), why, sizeof(why));
	if (o == RA_DL_CLOSED || o == RA_DL_NOT_RENEWABLE)
		ra_reply_error(r, 409, "not_renewable", "this certificate cannot be renewed by you "
		    "now (the renewal window is closed, or it was renewed, revoked or has expired)");
	else if (o == RA_DL_STATE)
		ra_reply_error(r, 409, "state", "this certificate cannot be renewed now (a renewal "
		    "is already on its way, or it is no longer active)");
	else if (o == RA_DL_ERROR && why[0] == '\0')
		ra_reply_error(r, 500, "internal", "the certificate or the settings are unusable");
	else
		ra_download_reply(r, o, &p12, name, why);
out:
	OPENSSL_cleanse(&d, sizeof(d));
	ik_buf_cleanup(&p12);
	json_decref(j);
}

ik_status ra_renewal_switch(ra_app *app, const ra_cert *fresh, const char *actor,
    const char *ip, int64_t *old_id, ra_request *out)
{
	ra_request issued;
	ra_request_new n;
	ra_hist h;
	char detail[160];
	ik_status st;

	*old_id = 0;
	if (fresh->request_id == 0 || fresh->state != RA_CERT_ACTIVE ||
	    ra_store_request_get(app->store, fresh->request_id, &issued) != IK_OK ||
	    issued.kind != RA_REQ_RENEW || issued.old_cert_id == 0)
		return IK_ERR_NOT_FOUND;
	*old_id = issued.old_cert_id;
	memset(&n, 0, sizeof(n));
	n.kind = RA_REQ_REVOKE;
	n.cert_id = issued.old_cert_id;
	n.reason = REASON_SUPERSEDED;
	n.created_by = actor;
	snprintf(detail, sizeof(detail), "{\"reason\":\"superseded\",\"renewed_as\":\"%s\"}",
	    fresh->serial);
	h = (ra_hist){ .actor = actor, .ip = ip, .op = "switch_confirmed", .target = fresh->serial,
	    .detail = detail };
	if ((st = ra_store_request_add(app->store, &n, &h, out)) == IK_OK)
		ra_queue_kick(app->queue);
	return st;
}

/* The renewal a credential belongs to: the certificate it issued (officer renewals), or the
 * one that replaced the certificate it renewed (self-service). */
static ik_status renewed_cert(ra_store *s, const ra_download *d, ra_cert *fresh)
{
	ra_cert c;
	ra_device dev;
	ra_request q;
	ik_status st;

	if ((st = ra_store_cert_get(s, d->cert_id, &c)) != IK_OK)
		return st;
	if (c.request_id != 0 && ra_store_request_get(s, c.request_id, &q) == IK_OK &&
	    q.kind == RA_REQ_RENEW) {
		*fresh = c;
		return IK_OK;
	}
	if (c.device_id == 0 || ra_store_device_get(s, c.device_id, &dev) != IK_OK ||
	    dev.current_cert_id == 0 || dev.current_cert_id == c.id ||
	    ra_store_cert_get(s, dev.current_cert_id, fresh) != IK_OK || fresh->request_id == 0 ||
	    ra_store_request_get(s, fresh->request_id, &q) != IK_OK ||
	    q.kind != RA_REQ_RENEW || q.old_cert_id != c.id)
		return IK_ERR_NOT_FOUND;
	return IK_OK;
}

ik_status ra_renew_switch(ra_req *r, const ra_download *d, const char *actor, ra_cert *fresh,
    int64_t *old_id, ra_request *req_out)
{
	*old_id = 0;
	if (d->used == 0 || renewed_cert(r->app->store, d, fresh) != IK_OK)
		return IK_ERR_NOT_FOUND;
	return ra_renewal_switch(r->app, fresh, actor, r->ip, old_id, req_out);
}

/* POST /download/switch {"login", "secret"} */
static void h_switch(ra_req *r)
{
	json_t *j = ra_req_json(r);
	const char *login, *secret;
	ra_download d;
	ra_cert fresh;
	ra_request req;
	ra_dl_outcome o;
	int64_t old_id = 0;
	ik_status st;

	memset(&d, 0, sizeof(d));
	if (j == NULL)
		return;
	if ((login = ra_json_str(r, j, "login", RA_STORE_LOGIN_MAX)) == NULL ||
	    (secret = ra_json_str(r, j, "secret", RA_P12_MAX_PASSWORD)) == NULL)
		goto out;
	if ((o = ra_download_check_spent(r, login, secret, &d)) != RA_DL_OK) {
		ra_download_reply_check(r, o);
		goto out;
	}
	st = ra_renew_switch(r, &d, login, &fresh, &old_id, &req);
	if (st == IK_ERR_NOT_FOUND) {
		ra_reply_error(r, 409, "not_renewed", "there is no downloaded renewal for this "
		    "credential to switch to");
		goto out;
	}
	if (st == IK_ERR_STATE) {
		ra_reply_error(r, 409, "state", "the old certificate is already revoked, expired or "
		    "on its way to being revoked");
		goto out;
	}
	if (st != IK_OK) {
		ra_api_store_error(r, st, "certificate");
		goto out;
	}
	ra_reply_json(r, 202, json_pack("{s:I, s:I, s:s, s:I}", "old_certificate_id",
	    (json_int_t)old_id, "certificate_id", (json_int_t)fresh.id, "serial", fresh.serial,
	    "request_id", (json_int_t)req.id));
out:
	OPENSSL_cleanse(&d, sizeof(d));
	json_decref(j);
}

const ra_route ra_download_renew_routes[] = {
	{ "GET", "/download/renewal-window", h_window, RA_ROLE_NONE, 0 },
	{ "POST", "/download/renew/request", h_request, RA_ROLE_NONE, RA_RF_HEAVY },
	{ "POST", "/download/renew", h_renew, RA_ROLE_NONE, RA_RF_HEAVY },
	{ "POST", "/download/switch", h_switch, RA_ROLE_NONE, RA_RF_HEAVY },
};
const size_t ra_download_renew_nroutes =
    sizeof(ra_download_renew_routes) / sizeof(ra_download_renew_routes[0]);
