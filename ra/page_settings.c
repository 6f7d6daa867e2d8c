/* page_settings: the administrators' settings page — every setting of settings.c in one
 * form (checked by the same rules as PUT /api/v1/settings, each error next to its field),
 * and, read-only, the signer's certificate profiles (asked with PROFILES) and the CA chain. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "form.h"
#include "pages.h"
#include "publish.h"
#include "settings.h"
#include "signer_client.h"

#define NSET 32    /* room for every setting of settings.c */

/* The current value of every setting (index as ra_setting_defs); NULL when not set. */
typedef struct cur_values {
	char *v[NSET];
} cur_values;

static size_t nset(void)
{
	return ra_setting_ndefs < NSET ? ra_setting_ndefs : NSET;
}

static int collect(void *ctx, const char *key, const char *value)
{
	cur_values *c = ctx;

	for (size_t i = 0; i < nset(); i++)
		if (strcmp(key, ra_setting_defs[i].key) == 0 && c->v[i] == NULL &&
		    (c->v[i] = strdup(value)) == NULL)
			return -1;
	return 0;
}

static void cur_clear(cur_values *c)
{
	for (size_t i = 0; i < NSET; i++)
		free(c->v[i]);
	memset(c, 0, sizeof(*c));
}

/* A field: label, hint, the input (a text area for lists), and its error if any. */
static void field(ra_page *p, size_t i, const char *value, int bad)
{
	const ra_setting_def *d = &ra_setting_defs[i];
	ra_html *h = &p->h;
	char key[96];

	ra_html_lit(h, "<div class=\"field");
	if (bad)
		ra_html_lit(h, " bad");
	ra_html_lit(h, "\"><label for=\"s-");
	ra_html_text(h, d->key);
	ra_html_lit(h, "\">");
	snprintf(key, sizeof(key), "settings.k.%s", d->key);
	ra_html_msg(h, key);
	ra_html_lit(h, " <code>");
	ra_html_text(h, d->key);
	ra_html_lit(h, "</code></label>");
	if (d->multiline) {
		ra_html_lit(h, "<textarea rows=\"3\" spellcheck=\"false\" id=\"s-");
		ra_html_text(h, d->key);
		ra_html_lit(h, "\" name=\"");
		ra_html_text(h, d->key);
		ra_html_lit(h, "\" aria-describedby=\"h-");
		ra_html_text(h, d->key);
		ra_html_lit(h, "\">");
		ra_html_text(h, value != NULL ? value : "");
		ra_html_lit(h, "</textarea>");
	} else {
		ra_html_lit(h, "<input id=\"s-");
		ra_html_text(h, d->key);
		ra_html_lit(h, "\" name=\"");
		ra_html_text(h, d->key);
		ra_html_lit(h, "\" maxlength=\"4000\" aria-describedby=\"h-");
		ra_html_text(h, d->key);
		ra_html_lit(h, "\" value=\"");
		ra_html_text(h, value != NULL ? value : "");
		ra_html_lit(h, "\">");
	}
	ra_html_lit(h, "<p class=\"aside\" id=\"h-");
	ra_html_text(h, d->key);
	ra_html_lit(h, "\">");
	snprintf(key, sizeof(key), "settings.h.%s", d->key);
	ra_html_msg(h, key);
	ra_html_lit(h, "</p></div>\n");
}

static const char *const attr_names[PROTO_ATTR_MAX + 1] = {
	"", "CN", "O", "OU", "L", "ST", "C", "serialNumber",
};

/* "CN OU" for an attribute mask; the none message when empty. */
static void attr_list(ra_html *h, uint8_t mask)
{
	int any = 0;

	for (unsigned a = 1; a <= PROTO_ATTR_MAX; a++)
		if (mask & (1u << a)) {
			if (any)
				ra_html_lit(h, " ");
			ra_html_text(h, attr_names[a]);
			any = 1;
		}
	if (!any)
		ra_html_msg(h, "sprof.none");
}

static void url_line(ra_html *h, const char *label_key, const char *url)
{
	ra_html_lit(h, "<div>");
	ra_html_msg(h, label_key);
	ra_html_lit(h, ": <span class=\"mono\">");
	if (url[0] != '\0')
		ra_html_text(h, url);
	else
		ra_html_msg(h, "sprof.none");
	ra_html_lit(h, "</span></div>");
}

/* One row of the signer's profiles table. */
static void profile_row(ra_page *p, const proto_profile *pr)
{
	static const char *const usage_keys[PROTO_USAGE_MAX + 1] = {
		"sprof.usage_client", "sprof.usage_server", "sprof.usage_email",
	};
	static const char *const key_names[3] = { "EC P-256", "EC P-384", "RSA" };
	const ra_config *cfg = p->r->app->cfg;
	ra_html *h = &p->h;
	char num[2][24];
	const char *args[2] = { num[0], num[1] };

	ra_html_lit(h, "<tr><td class=\"mono\">");
	ra_html_text(h, pr->name);
	if (strcmp(pr->name, cfg->profile) == 0) {
		ra_html_lit(h, "<div class=\"aside\">");
		ra_html_msg(h, "sprof.used_client");
		ra_html_lit(h, "</div>");
	}
	if (cfg->mail.from[0] != '\0' && strcmp(pr->name, cfg->mail.profile) == 0) {
		ra_html_lit(h, "<div class=\"aside\">");
		ra_html_msg(h, "sprof.used_mail");
		ra_html_lit(h, "</div>");
	}
	ra_html_lit(h, "</td><td>");
	ra_html_msg(h, usage_keys[pr->usage]);
	ra_html_lit(h, "</td><td>");
	for (unsigned i = 0, any = 0; i < 3; i++)
		if (pr->key_types & (1u << i)) {
			if (any++)
				ra_html_lit(h, ", ");
			if (i == 2) {
				snprintf(num[0], sizeof(num[0]), "%u", pr->rsa_min_bits);
				ra_html_msgv(h, "sprof.rsa", args, 1);
			} else {
				ra_html_text(h, key_names[i]);
			}
		}
	ra_html_lit(h, "</td><td>");
	snprintf(num[0], sizeof(num[0]), "%u", pr->max_days);
	snprintf(num[1], sizeof(num[1]), "%u", pr->backdate);
	ra_html_msgv(h, "sprof.days", args, 2);
	ra_html_lit(h, "</td><td><div>");
	ra_html_msg(h, "sprof.allowed");
	ra_html_lit(h, " <span class=\"mono\">");
	attr_list(h, pr->attrs_allowed);
	ra_html_lit(h, "</span></div><div>");
	ra_html_msg(h, "sprof.required");
	ra_html_lit(h, " <span class=\"mono\">");
	attr_list(h, pr->attrs_required);
	ra_html_lit(h, "</span></div>");
	for (uint8_t i = 0; i < pr->nfixed; i++) {
		ra_html_lit(h, "<div>");
		ra_html_msg(h, "sprof.fixed");
		ra_html_lit(h, " <span class=\"mono\">");
		ra_html_text(h, attr_names[pr->fixed[i].type]);
		ra_html_lit(h, "=");
		ra_html_text(h, pr->fixed[i].value);
		ra_html_lit(h, "</span></div>");
	}
	ra_html_lit(h, "</td><td>");
	url_line(h, "sprof.crl", pr->crl_url);
	url_line(h, "sprof.ocsp", pr->ocsp_url);
	url_line(h, "sprof.ca_issuers", pr->ca_issuers_url);
	ra_html_lit(h, "</td></tr>");
}

/* The signer's own profiles, asked now; a signer that is away (or too old) is said so
 * and the rest of the page works. */
static void signer_profiles(ra_page *p)
{
	static const char *const cols[] = { "sprof.name", "sprof.usage", "sprof.keys",
		"sprof.validity", "sprof.subject", "sprof.urls" };
	ra_html *h = &p->h;
	proto_profiles_reply *r = calloc(1, sizeof(*r));
	proto_error err;
	ik_status st = IK_ERR_NOMEM;

	memset(&err, 0, sizeof(err));
	ra_html_lit(h, "<h3>");
	ra_html_msg(h, "sprof.heading");
	ra_html_lit(h, "</h3>");
	if (r != NULL)
		st = p->r->app->signer == NULL ? IK_ERR_IO :
		    ra_signer_profiles(p->r->app->signer, r, &err);
	if (st != IK_OK) {
		const char *args[1] = { ik_status_code(st) };
		ra_html_lit(h, "<p class=\"notice error\" id=\"signer-profiles-away\">");
		ra_html_msgv(h, st == IK_ERR_PROTO_VERB ? "sprof.old" : "sprof.away", args, 1);
		ra_html_lit(h, "</p>");
		free(r);
		return;
	}
	ra_html_lit(h, "<p class=\"aside\">");
	ra_html_msg(h, "sprof.note");
	ra_html_lit(h, "</p><table class=\"grid\" id=\"signer-profiles\"><thead><tr>");
	for (size_t i = 0; i < sizeof(cols) / sizeof(cols[0]); i++) {
		ra_html_lit(h, "<th>");
		ra_html_msg(h, cols[i]);
		ra_html_lit(h, "</th>");
	}
	ra_html_lit(h, "</tr></thead><tbody>");
	for (uint8_t i = 0; i < r->n; i++)
		profile_row(p, &r->p[i]);
	ra_html_lit(h, "</tbody></table>");
	free(r);
}

/* The signer's side: the profile names the RA asks for, the signer's profiles, the chain. */
static void profiles(ra_page *p)
{
	const ra_config *cfg = p->r->app->cfg;
	ra_html *h = &p->h;
	unsigned count = 0;

	ra_html_lit(h, "<section class=\"card\" id=\"profiles\"><h2>");
	ra_html_msg(h, "settings.profiles");
	ra_html_lit(h, "</h2><p class=\"aside\">");
	ra_html_msg(h, "settings.profiles_note");
	ra_html_lit(h, "</p><dl class=\"facts\"><dt>");
	ra_html_msg(h, "settings.profile_client");
	ra_html_lit(h, "</dt><dd class=\"mono\">");
	ra_html_text(h, cfg->profile);
	ra_html_lit(h, "</dd><dt>");
	ra_html_msg(h, "settings.profile_mail");
	ra_html_lit(h, "</dt><dd class=\"mono\">");
	if (cfg->mail.from[0] != '\0')
		ra_html_text(h, cfg->mail.profile);
	else
		ra_html_msg(h, "settings.mail_off");
	ra_html_lit(h, "</dd></dl>");
	signer_profiles(p);
	ra_html_lit(h, "<h3>");
	ra_html_msg(h, "settings.chain");
	ra_html_lit(h, "</h3>");
	for (unsigned i = 0; p->r->app->publish != NULL && (i == 0 || i < count); i++) {
		ik_buf der;
		const unsigned char *q;
		X509 *x = NULL;
		char subj[256] = "";
		unsigned char md[32];
		unsigned mdlen = 0;

		ik_buf_init(&der, 1u << 20);
		if (ra_publish_ca(p->r->app->publish, i, &der, &count) != IK_OK) {
			ik_buf_cleanup(&der);
			break;
		}
		q = ik_buf_ptr(&der);
		if ((x = d2i_X509(NULL, &q, (long)ik_buf_remaining(&der))) != NULL) {
			X509_NAME_oneline(X509_get_subject_name(x), subj, sizeof(subj));
			(void)X509_digest(x, EVP_sha256(), md, &mdlen);
		}
		ra_html_lit(h, "<dl class=\"facts chain\"><dt>");
		ra_html_msg(h, i == 0 ? "settings.issuing_ca" : "settings.upper_ca");
		ra_html_lit(h, "</dt><dd class=\"mono\">");
		ra_html_text(h, subj);
		ra_html_lit(h, "</dd><dt>SHA-256</dt><dd class=\"mono fp\">");
		for (unsigned k = 0; k < mdlen; k++) {
			char hx[4];
			snprintf(hx, sizeof(hx), k + 1 < mdlen ? "%02X:" : "%02X", md[k]);
			ra_html_text(h, hx);
		}
		ra_html_lit(h, "</dd></dl>");
		X509_free(x);
		ik_buf_cleanup(&der);
	}
	if (count == 0) {
		ra_html_lit(h, "<p class=\"empty\">");
		ra_html_msg(h, "settings.chain_unknown");
		ra_html_lit(h, "</p>");
	}
	ra_html_lit(h, "</section>\n");
}

/* The page with values (the stored ones, or what was sent back with errors). */
static void settings_page(ra_req *r, unsigned status, char *const *values, const int *bad,
    const char *done)
{
	ra_page p;
	ra_html *h;

	if (ra_page_begin(&p, r, "settings.title", "/ui/settings") != IK_OK)
		return;
	h = &p.h;
	if (done != NULL) {
		const char *args[1] = { done };
		ra_page_notice(&p, "ok", "settings.saved", args, 1);
	}
	for (size_t i = 0; i < nset(); i++)
		if (bad[i] != RA_SETTING_OK) {
			char label[96];
			const char *args[2];
			snprintf(label, sizeof(label), "settings.k.%s", ra_setting_defs[i].key);
			args[0] = ra_i18n_get(r->app->i18n, p.lang, label);
			args[1] = ra_setting_defs[i].key;
			ra_page_notice(&p, "error", bad[i] == RA_SETTING_SELF_LOCKOUT ?
			    "settings.self_lockout" : "settings.bad", args, 2);
		}
	ra_html_lit(h, "<form class=\"card stack settings\" method=\"post\" "
	    "action=\"/ui/settings\">");
	ra_page_csrf(&p);
	ra_html_lit(h, "<p class=\"aside\">");
	{
		const char *args[1] = { r->ip };
		ra_html_msgv(h, "settings.intro", args, 1);
	}
	ra_html_lit(h, "</p>");
	for (size_t i = 0; i < nset(); i++)
		field(&p, i, values[i], bad[i] != RA_SETTING_OK);
	ra_html_lit(h, "<button type=\"submit\" class=\"primary\">");
	ra_html_msg(h, "settings.save");
	ra_html_lit(h, "</button></form>\n");
	profiles(&p);
	ra_page_end(&p, status);
}

static void h_settings_get(ra_req *r)
{
	cur_values c;
	int bad[NSET] = { 0 };
	const char *done = ra_ui_query(r, "saved", 4);
	ik_status st;

	memset(&c, 0, sizeof(c));
	if ((st = ra_store_setting_each(r->app->store, collect, &c)) != IK_OK) {
		cur_clear(&c);
		ra_page_store_error(r, st);
		return;
	}
	settings_page(r, 200, c.v, bad, done);
	cur_clear(&c);
}

/* A text area's value with its CRs dropped (browsers send CRLF). */
static void drop_cr(char *s)
{
	char *o = s;

	for (; *s != '\0'; s++)
		if (*s != '\r')
			*o++ = *s;
	*o = '\0';
}

/* POST /ui/settings: the changed fields are checked, then saved together (or none) */
static void h_settings_post(ra_req *r)
{
	cur_values c, sent;
	int bad[NSET] = { 0 };
	const char *keys[NSET], *values[NSET];
	size_t n = 0, nbad = 0;
	char why[320], loc[48];
	ik_status st;

	memset(&c, 0, sizeof(c));
	memset(&sent, 0, sizeof(sent));
	if ((st = ra_store_setting_each(r->app->store, collect, &c)) != IK_OK) {
		ra_page_store_error(r, st);
		goto out;
	}
	for (size_t i = 0; i < nset(); i++) {
		const ra_setting_def *d = &ra_setting_defs[i];
		const char *v = d->multiline ? ra_form_str(r->form, d->key) :
		    ra_form_line(r->form, d->key, RA_SETTING_MAX - 1);
		if (v == NULL) {
			if (ra_form_count(r->form, d->key) == 0) {    /* not sent: unchanged */
				sent.v[i] = c.v[i] != NULL ? strdup(c.v[i]) : NULL;
				continue;
			}
			bad[i] = RA_SETTING_BAD;                      /* a control character */
			nbad++;
			continue;
		}
		if ((sent.v[i] = strdup(v)) == NULL) {
			ra_ui_error(r, 500, "internal");
			goto out;
		}
		if (d->multiline)
			drop_cr(sent.v[i]);
		if (strcmp(sent.v[i], c.v[i] != NULL ? c.v[i] : "") == 0)
			continue;
		if ((bad[i] = (int)ra_setting_check(d->key, sent.v[i], r->ip, why, sizeof(why))) !=
		    RA_SETTING_OK) {
			nbad++;
			continue;
		}
		keys[n] = d->key;
		values[n++] = sent.v[i];
	}
	if (nbad > 0) {
		settings_page(r, 400, sent.v, bad, NULL);
		goto out;
	}
	if (n > 0 && (st = ra_settings_save(r->app->store, r->who.login, r->ip, keys, values,
	    n)) != IK_OK) {
		ra_page_store_error(r, st);
		goto out;
	}
	snprintf(loc, sizeof(loc), "/ui/settings?saved=%zu", n);
	ra_reply_redirect(r, loc);
out:
	cur_clear(&c);
	cur_clear(&sent);
}

const ra_route ra_page_settings_routes[] = {
	{ "GET", "/ui/settings", h_settings_get, RA_ROLE_ADMIN, RA_RF_HTML },
	{ "POST", "/ui/settings", h_settings_post, RA_ROLE_ADMIN, RA_RF_HTML | RA_RF_FORM },
};
const size_t ra_page_settings_nroutes =
    sizeof(ra_page_settings_routes) / sizeof(ra_page_settings_routes[0]);
