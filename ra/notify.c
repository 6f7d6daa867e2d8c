/* notify: the notices — who gets which template in which language, with which values, under
 * which dedup key.  Everything runs inside the caller's transaction (see notify.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/x509.h>

#include "config.h"
#include "log.h"
#include "mail.h"
#include "notify.h"
#include "renewal.h"

#define DN_MAX 1024

/* ---- recipients ---- */

typedef struct rcpt {
	char to[RA_MAIL_TO_MAX + 1];
	char lang[3];
} rcpt;

/* A comma/space separated list from a setting: the good addresses joined by ", ". */
static int list_from(ra_store *s, const char *key, rcpt *r)
{
	char v[RA_SETTING_MAX], *save = NULL, *w;
	size_t n = 0;

	r->to[0] = '\0';
	if (ra_store_setting_get(s, key, v, sizeof(v)) != IK_OK)
		return 0;
	for (w = strtok_r(v, ", \t", &save); w != NULL; w = strtok_r(NULL, ", \t", &save)) {
		size_t k = strlen(w);
		if (!ra_mail_addr_ok(w)) {
			ik_log(LOG_WARNING, "notify: setting %s: '%.64s' is not an address; skipped", key, w);
			continue;
		}
		if (n + k + 3 > sizeof(r->to))
			break;
		if (n > 0) {
			memcpy(r->to + n, ", ", 2);
			n += 2;
		}
		memcpy(r->to + n, w, k + 1);
		n += k;
	}
	return n > 0;
}

static void lang_setting(ra_store *s, const char *key, char lang[3])
{
	char v[8] = "";

	if (ra_store_setting_get(s, key, v, sizeof(v)) == IK_OK && strcmp(v, "en") == 0)
		snprintf(lang, 3, "en");
	else
		snprintf(lang, 3, "ja");
}

static int officers(ra_store *s, rcpt *r)
{
	lang_setting(s, "notify_lang", r->lang);
	return list_from(s, "notify_addresses", r);
}

static int pin_distributors(ra_store *s, rcpt *r)
{
	lang_setting(s, "notify_lang", r->lang);
	return list_from(s, "pin_distributor_addresses", r) || list_from(s, "notify_addresses", r);
}

/* The certificate's user, when it has a usable address. */
static int user_of(ra_store *s, int64_t user_id, rcpt *r, ra_user *u)
{
	memset(u, 0, sizeof(*u));
	if (user_id == 0 || ra_store_user_get(s, user_id, u) != IK_OK || !ra_mail_addr_ok(u->email))
		return 0;
	snprintf(r->to, sizeof(r->to), "%s", u->email);
	snprintf(r->lang, sizeof(r->lang), "%s", strcmp(u->lang, "en") == 0 ? "en" : "ja");
	return 1;
}

static const char *user_name(const ra_user *u)
{
	return u->display_name[0] != '\0' ? u->display_name : u->external_id;
}

/* ---- values ---- */

static void fmt_time(int64_t t, char out[32])
{
	time_t x = (time_t)t;
	struct tm tm;

	if (t == 0 || gmtime_r(&x, &tm) == NULL || strftime(out, 32, "%Y-%m-%d %H:%M UTC", &tm) == 0)
		snprintf(out, 32, "-");
}

void ra_cert_dn(ra_store *s, const ra_cert *c, char *out, size_t outsz)
{
	ik_buf der;
	const uint8_t *p;
	X509 *x = NULL;
	BIO *b = NULL;
	char *data;
	long len;

	snprintf(out, outsz, "CN=%s", c->cn);
	ik_buf_init(&der, 64 * 1024);
	if (ra_store_cert_der(s, c->id, &der) != IK_OK)
		goto out;
	p = ik_buf_ptr(&der);
	if ((x = d2i_X509(NULL, &p, (long)ik_buf_remaining(&der))) == NULL ||
	    (b = BIO_new(BIO_s_mem())) == NULL ||
	    X509_NAME_print_ex(b, X509_get_subject_name(x), 0,
	    XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) < 0 ||
	    (len = BIO_get_mem_data(b, &data)) <= 0)
		goto out;
	snprintf(out, outsz, "%.*s", (int)len, data);
out:
	BIO_free(b);
	X509_free(x);
	ik_buf_cleanup(&der);
}

static const char *reason_name(int reason)
{
	switch (reason) {
	case 0: return "unspecified";
	case 1: return "keyCompromise";
	case 3: return "affiliationChanged";
	case 4: return "superseded";
	case 5: return "cessationOfOperation";
	case 6: return "certificateHold";
	case 9: return "privilegeWithdrawn";
	default: return "unspecified";
	}
}

/* ---- queueing ---- */

typedef struct attach {
	const char *name;
	const uint8_t *data;
	size_t len;
} attach;

static ik_status queue(ra_app *app, const char *dedup, const char *tpl, const rcpt *r,
    const ra_tvar *vars, size_t n, const attach *a)
{
	char *subject = NULL, *body = NULL, why[256];
	ra_mail_new m;
	int added = 0;
	ik_status st;

	if ((st = ra_template_render(r->lang, tpl, vars, n, &subject, &body, why, sizeof(why))) !=
	    IK_OK) {
		ik_log(LOG_ERR, "notify: %s", why);
		return st;
	}
	memset(&m, 0, sizeof(m));
	m.dedup = dedup;
	m.kind = tpl;
	m.lang = r->lang;
	m.recipients = r->to;
	m.subject = subject;
	m.body = body;
	if (a != NULL) {
		m.attach_name = a->name;
		m.attach = a->data;
		m.attach_len = a->len;
	}
	st = ra_store_mail_add(app->store, &m, &added);
	if (st != IK_OK)
		ik_log(LOG_ERR, "notify: cannot queue the %s mail (%s): %s", tpl, dedup,
		    ik_status_str(st));
	free(subject);
	free(body);
	return st;
}

/* ---- the notices ---- */

ik_status ra_notify_credential(ra_app *app, const ra_download *d, const char *url)
{
	ra_cert c;
	ra_user u;
	rcpt r;
	char dedup[RA_MAIL_DEDUP_MAX + 1], expires[32];
	ik_status st;

	if (!ra_mail_enabled(app))
		return IK_OK;
	if ((st = ra_store_cert_get(app->store, d->cert_id, &c)) != IK_OK)
		return st;
	fmt_time(d->expires, expires);
	if (user_of(app->store, c.user_id, &r, &u)) {
		ra_tvar v[] = { { "name", user_name(&u) }, { "cn", c.cn }, { "url", url },
			{ "login", d->login }, { "expires", expires } };
		snprintf(dedup, sizeof(dedup), "issued:%s", d->login);
		if ((st = queue(app, dedup, d->kind == RA_DOWNLOAD_PIN ? "issued_pin" : "issued", &r, v,
		    sizeof(v) / sizeof(v[0]), NULL)) != IK_OK)
			return st;
	}
	if (d->kind == RA_DOWNLOAD_PIN && pin_distributors(app->store, &r)) {
		ra_tvar v[] = { { "name", c.user_id ? user_name(&u) : "-" }, { "cn", c.cn },
			{ "url", url }, { "expires", expires } };
		snprintf(dedup, sizeof(dedup), "pin_ready:%s", d->login);
		return queue(app, dedup, "pin_ready", &r, v, sizeof(v) / sizeof(v[0]), NULL);
	}
	return IK_OK;
}

ik_status ra_notify_batch(ra_app *app, int64_t batch_id)
{
	ra_batch b;
	rcpt r;
	char dedup[64], id[24], total[24], done[24], failed[24];
	ik_status st;

	if (!ra_mail_enabled(app) || batch_id == 0)
		return IK_OK;
	if ((st = ra_store_batch_get(app->store, batch_id, &b)) != IK_OK)
		return st;
	if (b.state == RA_BATCH_RUNNING || !officers(app->store, &r))
		return IK_OK;
	snprintf(dedup, sizeof(dedup), "batch:%lld", (long long)b.id);
	snprintf(id, sizeof(id), "%lld", (long long)b.id);
	snprintf(total, sizeof(total), "%llu", (unsigned long long)b.total);
	snprintf(done, sizeof(done), "%llu", (unsigned long long)b.done);
	snprintf(failed, sizeof(failed), "%llu", (unsigned long long)b.failed);
	{
		ra_tvar v[] = { { "batch", id }, { "batch_kind", ra_request_kind_name(b.kind) },
			{ "state", ra_batch_state_name(b.state) }, { "total", total }, { "done", done },
			{ "failed", failed } };
		return queue(app, dedup, "batch_finished", &r, v, sizeof(v) / sizeof(v[0]), NULL);
	}
}

ik_status ra_notify_request(ra_app *app, const ra_request *q)
{
	const char *tpl = q->kind == RA_REQ_REVOKE ? "revoked" : q->kind == RA_REQ_SUSPEND ?
	    "suspended" : q->kind == RA_REQ_RESUME ? "resumed" : NULL;
	ra_cert c;
	ra_user u;
	rcpt r;
	char dedup[RA_MAIL_DEDUP_MAX + 1], dn[DN_MAX];
	ik_status st = IK_OK;

	if (!ra_mail_enabled(app))
		return IK_OK;
	if (tpl != NULL && q->state == RA_REQ_DONE &&
	    (st = ra_store_cert_get(app->store, q->cert_id, &c)) == IK_OK) {
		ra_tvar v[] = { { "cn", c.cn }, { "serial", c.serial }, { "dn", dn },
			{ "reason", reason_name(q->kind == RA_REQ_SUSPEND ? 6 : q->reason) } };
		ra_cert_dn(app->store, &c, dn, sizeof(dn));
		snprintf(dedup, sizeof(dedup), "%s:%s:user", tpl, q->request_id);
		if (user_of(app->store, c.user_id, &r, &u) &&
		    (st = queue(app, dedup, tpl, &r, v, sizeof(v) / sizeof(v[0]), NULL)) != IK_OK)
			return st;
		snprintf(dedup, sizeof(dedup), "%s:%s:officers", tpl, q->request_id);
		if (officers(app->store, &r) &&
		    (st = queue(app, dedup, tpl, &r, v, sizeof(v) / sizeof(v[0]), NULL)) != IK_OK)
			return st;
	}
	if (st != IK_OK)
		return st;
	return ra_notify_batch(app, q->batch_id);
}

ik_status ra_notify_downloaded(ra_app *app, int64_t cert_id, int64_t old_cert_id)
{
	ra_cert c, old;
	rcpt r;
	char dedup[64], dn[DN_MAX], na[32], old_na[32], tsv_name[80], tsv[512];
	ik_status st;

	if (!ra_mail_enabled(app) || !officers(app->store, &r))
		return IK_OK;
	if ((st = ra_store_cert_get(app->store, cert_id, &c)) != IK_OK)
		return st;
	ra_cert_dn(app->store, &c, dn, sizeof(dn));
	fmt_time(c.not_after, na);
	snprintf(dedup, sizeof(dedup), "downloaded:%lld", (long long)c.id);
	if (old_cert_id == 0 || ra_store_cert_get(app->store, old_cert_id, &old) != IK_OK ||
	    old.serial[0] == '\0') {
		ra_tvar v[] = { { "cn", c.cn }, { "serial", c.serial }, { "dn", dn },
			{ "not_after", na } };
		return queue(app, dedup, "downloaded", &r, v, sizeof(v) / sizeof(v[0]), NULL);
	}
	/* the revocation file for the old serial, in docs/BULK.md's revoke columns */
	fmt_time(old.not_after, old_na);
	snprintf(tsv_name, sizeof(tsv_name), "revoke-%s.tsv", old.serial);
	snprintf(tsv, sizeof(tsv), "serial\treason\tnote\n%s\tsuperseded\trenewed as %s\n",
	    old.serial, c.serial);
	{
		ra_tvar v[] = { { "cn", c.cn }, { "serial", c.serial }, { "dn", dn },
			{ "not_after", na }, { "old_serial", old.serial }, { "old_not_after", old_na },
			{ "tsv", tsv_name } };
		attach a = { tsv_name, (const uint8_t *)tsv, strlen(tsv) };
		return queue(app, dedup, "downloaded_renewal", &r, v, sizeof(v) / sizeof(v[0]), &a);
	}
}

ik_status ra_notify_expiring(ra_app *app, const ra_cert *c, unsigned threshold, int64_t now)
{
	ra_renewal_window w;
	ra_user u;
	rcpt r;
	char dedup[RA_MAIL_DEDUP_MAX + 1], dn[DN_MAX], na[32], days[16], window[48], url[300];
	int64_t left = (c->not_after - now + 86399) / 86400;
	ik_status st;

	if (!ra_mail_enabled(app))
		return IK_OK;
	snprintf(days, sizeof(days), "%lld", (long long)(left < 0 ? 0 : left));
	fmt_time(c->not_after, na);
	ra_cert_dn(app->store, c, dn, sizeof(dn));
	snprintf(window, sizeof(window), "-");
	if (ra_renewal_window_get(app->store, now, &w) == IK_OK && w.set) {
		char a[16], b[16];
		ra_renewal_date(w.start, w.offset_min, a);
		ra_renewal_date(w.end - 86400, w.offset_min, b);
		snprintf(window, sizeof(window), "%s - %s", a, b);
	}
	snprintf(url, sizeof(url), "%s/download/renew", app->cfg->public_url);
	{
		ra_tvar v[] = { { "cn", c->cn }, { "serial", c->serial }, { "dn", dn },
			{ "not_after", na }, { "days", days }, { "window", window }, { "url", url } };
		snprintf(dedup, sizeof(dedup), "expiring:%lld:%u:user", (long long)c->id, threshold);
		if (user_of(app->store, c->user_id, &r, &u) &&
		    (st = queue(app, dedup, "expiring", &r, v, sizeof(v) / sizeof(v[0]), NULL)) != IK_OK)
			return st;
		snprintf(dedup, sizeof(dedup), "expiring:%lld:%u:officers", (long long)c->id,
		    threshold);
		if (officers(app->store, &r))
			return queue(app, dedup, "expiring", &r, v, sizeof(v) / sizeof(v[0]), NULL);
	}
	return IK_OK;
}

ik_status ra_notify_settled(ra_app *app, const ra_request *q, int64_t reoffered)
{
	ra_download d;
	ra_cert c;
	ra_user u;
	rcpt r;
	char dedup[RA_MAIL_DEDUP_MAX + 1], expires[32], url[512];
	ik_status st;

	if (!ra_mail_enabled(app))
		return IK_OK;
	st = ra_store_download_parked_for(app->store, q->id, &d);
	if (st == IK_ERR_NOT_FOUND)
		return IK_OK;
	if (st != IK_OK)
		return st;
	if (d.used != 0 || d.expires <= (int64_t)time(NULL) ||
	    (reoffered == 0 && d.cert_id == q->cert_id))
		st = IK_ERR_NOT_FOUND; /* the link does not work again: nothing to tell */
	else
		st = ra_store_cert_get(app->store, d.cert_id, &c);
	if (st == IK_OK && user_of(app->store, c.user_id, &r, &u)) {
		/* the address the credential's own mail gave (download.c, download_renew.c) */
		if (strncmp(d.login, "rn-", 3) == 0)
			snprintf(url, sizeof(url), "%s/download/renew?id=%s", app->cfg->public_url,
			    d.login);
		else if (d.kind == RA_DOWNLOAD_PIN)
			snprintf(url, sizeof(url), "%s/download?id=%s", app->cfg->public_url, d.login);
		else
			snprintf(url, sizeof(url), "%s/download", app->cfg->public_url);
		fmt_time(d.expires, expires);
		snprintf(dedup, sizeof(dedup), "download_settled:%s", q->request_id);
		{
			ra_tvar v[] = { { "name", user_name(&u) }, { "cn", c.cn }, { "url", url },
				{ "login", d.login }, { "expires", expires } };
			st = queue(app, dedup, "download_settled", &r, v, sizeof(v) / sizeof(v[0]), NULL);
		}
	}
	OPENSSL_cleanse(d.secret_hash, sizeof(d.secret_hash));
	return st == IK_ERR_NOT_FOUND ? IK_OK : st;
}

ik_status ra_notify_renewal_ready(ra_app *app, const ra_cert *c, const ra_download *d,
    const char *url)
{
	ra_user u;
	rcpt r;
	char dedup[RA_MAIL_DEDUP_MAX + 1], na[32], expires[32];

	if (!ra_mail_enabled(app) || !user_of(app->store, c->user_id, &r, &u))
		return IK_OK;
	fmt_time(c->not_after, na);
	fmt_time(d->expires, expires);
	snprintf(dedup, sizeof(dedup), "renewal_ready:%s", d->login);
	{
		ra_tvar v[] = { { "name", user_name(&u) }, { "cn", c->cn }, { "serial", c->serial },
			{ "not_after", na }, { "url", url }, { "expires", expires } };
		return queue(app, dedup, "renewal_ready", &r, v, sizeof(v) / sizeof(v[0]), NULL);
	}
}
