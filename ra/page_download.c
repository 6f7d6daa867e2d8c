/* page_download: the end user's pages — log in with the one-time credentials (or the
 * retrieval id and access PIN), choose the PKCS#12 password (the policy shown) and the
 * device type, download; the root CA; install steps per platform; clear pages for wrong,
 * spent, expired or locked credentials.  Between the two steps the proven credential is
 * carried by a ticket (login, expiry, HMAC with a per-process key), not by the secret.
 * For iPhone and iPad the file may be an Apple configuration profile (mobileconfig.c).
 * The pieces the renewal pages (page_renew.c) share are the ra_page_dl_* functions. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/x509.h>

#include "api.h"
#include "auth.h"
#include "download.h"
#include "form.h"
#include "log.h"
#include "mobileconfig.h"
#include "pages.h"
#include "policy.h"
#include "publish.h"

#define TICKET_SECONDS 900
#define TICKET_MAX 192

static const char *const devices[] = { "windows", "macos", "ios", "ipados", "android",
	"linux", "windows-legacy", "android-legacy", "other" };
/* install steps shown (the legacy kinds share their platform's) */
static const char *const platforms[] = { "windows", "macos", "ios", "android", "linux" };

/* ---- the ticket: "<login>.<expiry>.<base64url HMAC>" ---- */

static ik_status ticket_mac(const ra_req *r, const char *login, long long expiry, char *out,
    size_t outsz)
{
	char msg[RA_STORE_LOGIN_MAX + 48];
	uint8_t mac[32];
	unsigned maclen = sizeof(mac);
	int n = snprintf(msg, sizeof(msg), "inkan download ticket v1\n%s\n%lld", login, expiry);
	ik_status st;

	if (n < 0 || (size_t)n >= sizeof(msg) ||
	    HMAC(EVP_sha256(), r->app->page_key, sizeof(r->app->page_key), (const uint8_t *)msg,
	    (size_t)n, mac, &maclen) == NULL)
		return IK_ERR_CRYPTO;
	st = ra_b64_encode(mac, sizeof(mac), 1, out, outsz);
	OPENSSL_cleanse(mac, sizeof(mac));
	return st;
}

static ik_status ticket_make(const ra_req *r, const char *login, char *out, size_t outsz)
{
	long long expiry = (long long)time(NULL) + TICKET_SECONDS;
	char mac[64];
	int n;

	if (ticket_mac(r, login, expiry, mac, sizeof(mac)) != IK_OK)
		return IK_ERR_CRYPTO;
	n = snprintf(out, outsz, "%s.%lld.%s", login, expiry, mac);
	return n > 0 && (size_t)n < outsz ? IK_OK : IK_ERR_ARG;
}

/* The login of a valid, unexpired ticket into login; 0 otherwise. */
static int ticket_check(const ra_req *r, const char *t, char *login, size_t loginsz)
{
	const char *dot1, *dot2;
	char mac[64], *end;
	long long expiry;
	size_t ln;

	if (t == NULL || (dot1 = strchr(t, '.')) == NULL || (dot2 = strchr(dot1 + 1, '.')) == NULL)
		return 0;
	ln = (size_t)(dot1 - t);
	if (ln == 0 || ln >= loginsz || dot1[1] < '1' || dot1[1] > '9')
		return 0;
	expiry = strtoll(dot1 + 1, &end, 10);
	if (end != dot2 || expiry < (long long)time(NULL))
		return 0;
	memcpy(login, t, ln);
	login[ln] = '\0';
	if (ticket_mac(r, login, expiry, mac, sizeof(mac)) != IK_OK)
		return 0;
	return ra_secret_equal(mac, dot2 + 1);
}

/* ---- pieces ---- */

void ra_page_dl_ca_links(ra_page *p)
{
	ra_html *h = &p->h;

	ra_html_lit(h, "<section class=\"card\"><h2>");
	ra_html_msg(h, "dl.root_ca");
	ra_html_lit(h, "</h2><p>");
	ra_html_msg(h, "dl.root_ca_why");
	ra_html_lit(h, "</p><p><a class=\"button\" href=\"/ca/root-ca.der\" download>");
	ra_html_msg(h, "dl.root_ca_der");
	ra_html_lit(h, "</a> <a class=\"button\" href=\"/ca/root-ca.pem\" download>");
	ra_html_msg(h, "dl.root_ca_pem");
	ra_html_lit(h, "</a></p></section>");
}

/* The numbered steps prefix.1, prefix.2, ... that the catalog has, as an <ol>. */
static void steps(ra_page *p, const char *prefix)
{
	ra_html *h = &p->h;
	char key[64];

	ra_html_lit(h, "<ol>");
	for (int k = 1; k <= 9; k++) {
		snprintf(key, sizeof(key), "%s.%d", prefix, k);
		if (!ra_i18n_has(p->r->app->i18n, key))
			break;
		ra_html_lit(h, "<li>");
		ra_html_msg(h, key);
		ra_html_lit(h, "</li>");
	}
	ra_html_lit(h, "</ol>");
}

void ra_page_dl_install(ra_page *p)
{
	ra_html *h = &p->h;

	ra_html_lit(h, "<section class=\"card install\"><h2>");
	ra_html_msg(h, "dl.install");
	ra_html_lit(h, "</h2>");
	for (size_t i = 0; i < sizeof(platforms) / sizeof(platforms[0]); i++) {
		char key[64];
		ra_html_lit(h, "<details data-platform=\"");
		ra_html_text(h, platforms[i]);
		ra_html_lit(h, "\"><summary>");
		snprintf(key, sizeof(key), "device.%s", platforms[i]);
		ra_html_msg(h, key);
		ra_html_lit(h, "</summary>");
		if (strcmp(platforms[i], "ios") == 0) {
			/* the configuration profile first (the default for iPhone and iPad) */
			ra_html_lit(h, "<h3>");
			ra_html_msg(h, "mc.steps_title");
			ra_html_lit(h, "</h3>");
			steps(p, "mc.install");
			ra_html_lit(h, "<h3>");
			ra_html_msg(h, "mc.steps_p12_title");
			ra_html_lit(h, "</h3>");
		}
		snprintf(key, sizeof(key), "install.%s", platforms[i]);
		steps(p, key);
		ra_html_lit(h, "</details>");
	}
	ra_html_lit(h, "</section>");
}

static void login_form(ra_page *p, const char *pin_id)
{
	ra_html *h = &p->h;

	ra_html_lit(h, "<form class=\"card narrow\" method=\"post\" action=\"/download\">");
	ra_page_csrf(p);
	if (pin_id != NULL) {
		ra_html_lit(h, "<p>");
		ra_html_msg(h, "dl.pin_intro");
		ra_html_lit(h, "</p><input type=\"hidden\" name=\"login\" value=\"");
		ra_html_text(h, pin_id);
		ra_html_lit(h, "\"><label for=\"secret\">");
		ra_html_msg(h, "dl.pin");
		ra_html_lit(h, "</label><input id=\"secret\" name=\"secret\" inputmode=\"numeric\" "
		    "autocomplete=\"one-time-code\" required maxlength=\"64\" autofocus>");
	} else {
		ra_html_lit(h, "<p>");
		ra_html_msg(h, "dl.intro");
		ra_html_lit(h, "</p><label for=\"login\">");
		ra_html_msg(h, "dl.login");
		ra_html_lit(h, "</label><input id=\"login\" name=\"login\" autocomplete=\"username\" "
		    "required maxlength=\"64\" autofocus autocapitalize=\"none\"><label for=\"secret\">");
		ra_html_msg(h, "dl.secret");
		ra_html_lit(h, "</label><input id=\"secret\" name=\"secret\" type=\"password\" "
		    "autocomplete=\"one-time-code\" required maxlength=\"64\">");
	}
	ra_html_lit(h, "<button type=\"submit\" class=\"primary\">");
	ra_html_msg(h, "dl.next");
	ra_html_lit(h, "</button></form>");
}

/* GET /download[?id=<retrieval id>] */
static void h_start(ra_req *r)
{
	const char *id = ra_ui_query(r, "id", RA_STORE_LOGIN_MAX);
	ra_page p;

	if (id != NULL && id[0] == '\0')
		id = NULL;
	if (ra_page_begin(&p, r, "dl.title", NULL) != IK_OK)
		return;
	login_form(&p, id);
	ra_page_dl_ca_links(&p);
	ra_page_end(&p, 200);
}

void ra_page_dl_outcome(ra_dl_outcome o, unsigned *status, const char **key)
{
	static const struct {
		ra_dl_outcome o;
		unsigned status;
		const char *key;
	} map[] = {
		{ RA_DL_BAD, 401, "dl.bad" }, { RA_DL_LOCKED, 423, "dl.locked" },
		{ RA_DL_USED, 410, "dl.used" }, { RA_DL_EXPIRED, 410, "dl.expired" },
		{ RA_DL_STATE, 409, "dl.state" }, { RA_DL_UNAVAILABLE, 503, "dl.unavailable" },
		{ RA_DL_STOPPED, 503, "dl.stopped" }, { RA_DL_REFUSED, 502, "dl.refused" },
		{ RA_DL_BUSY, 503, "error.busy" }, { RA_DL_RETRY, 503, "dl.retry" },
	};

	*status = 500;
	*key = "error.internal";
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (map[i].o == o) {
			*status = map[i].status;
			*key = map[i].key;
		}
}

/* A clear page for a credential that cannot be used, by outcome (key: the message; the
 * outcome's own when NULL). */
static void refused_page(ra_req *r, ra_dl_outcome o, const char *login, const char *key)
{
	unsigned status;
	const char *okey;
	ra_page p;

	ra_page_dl_outcome(o, &status, &okey);
	if (key == NULL)
		key = okey;
	if (ra_page_begin(&p, r, "dl.title", "/download") != IK_OK)
		return;
	ra_html_lit(&p.h, "<div class=\"refused\" data-outcome=\"");
	ra_html_text(&p.h, key);
	ra_html_lit(&p.h, "\">");
	ra_page_notice(&p, "error", key, NULL, 0);
	ra_html_lit(&p.h, "</div>");
	/* a wrong secret may be retyped, a timed-out page redone; the others need a new
	 * credential */
	if (o == RA_DL_BAD || o == RA_DL_UNAVAILABLE || o == RA_DL_BUSY || o == RA_DL_RETRY ||
	    strcmp(key, "dl.ticket_expired") == 0)
		login_form(&p, login != NULL && strncmp(login, "dl-", 3) != 0 ? login : NULL);
	ra_page_end(&p, status);
}

void ra_page_dl_device(ra_page *p, const char *chosen, int profile)
{
	ra_html *h = &p->h;

	ra_html_lit(h, "<label for=\"device\">");
	ra_html_msg(h, "dl.device");
	ra_html_lit(h, "</label><select id=\"device\" name=\"device\" required>");
	for (size_t i = 0; i < sizeof(devices) / sizeof(devices[0]); i++) {
		char key[64];
		snprintf(key, sizeof(key), "device.%s", devices[i]);
		ra_html_lit(h, "<option value=\"");
		ra_html_text(h, devices[i]);
		ra_html_lit(h, "\"");
		if (chosen != NULL && strcmp(chosen, devices[i]) == 0)
			ra_html_lit(h, " selected");
		ra_html_lit(h, ">");
		ra_html_msg(h, key);
		ra_html_lit(h, "</option>");
	}
	/* iPhone and iPad: the configuration profile (default) or the bare .p12 */
	ra_html_lit(h, "</select><fieldset id=\"ios-file\" class=\"choice\" "
	    "data-devices=\"ios ipados\"><legend>");
	ra_html_msg(h, "mc.file");
	ra_html_lit(h, "</legend><label><input type=\"radio\" name=\"file\" "
	    "value=\"mobileconfig\"");
	if (profile)
		ra_html_lit(h, " checked");
	ra_html_lit(h, "> ");
	ra_html_msg(h, "mc.file_profile");
	ra_html_lit(h, "</label><label><input type=\"radio\" name=\"file\" value=\"p12\"");
	if (!profile)
		ra_html_lit(h, " checked");
	ra_html_lit(h, "> ");
	ra_html_msg(h, "mc.file_p12");
	ra_html_lit(h, "</label><p class=\"aside\">");
	ra_html_msg(h, "mc.unsigned");
	ra_html_lit(h, "</p></fieldset>");
}

int ra_page_dl_file_kind(const ra_req *r, const char *device, int *profile)
{
	const char *f = ra_form_line(r->form, "file", 16);

	*profile = 0;
	if (f != NULL && strcmp(f, "mobileconfig") != 0 && strcmp(f, "p12") != 0)
		return 0;
	*profile = (strcmp(device, "ios") == 0 || strcmp(device, "ipados") == 0) &&
	    (f == NULL || strcmp(f, "mobileconfig") == 0);
	return 1;
}

void ra_page_dl_new_password(ra_page *p)
{
	ra_pw_policy pol;
	char a0[16], a1[16], a2[16];
	const char *args[3] = { a0, a1, a2 };
	ra_html *h = &p->h;

	/* the policy the check applies: the settings' (the defaults if they are unusable) */
	if (ra_policy_p12_password(p->r->app->store, &pol) != IK_OK)
		ra_pw_policy_default(&pol);
	snprintf(a0, sizeof(a0), "%u", pol.min_len);
	snprintf(a1, sizeof(a1), "%u", pol.max_len);
	snprintf(a2, sizeof(a2), "%u", pol.min_classes);
	ra_html_lit(h, "<p class=\"policy\" id=\"policy\" data-min=\"");
	ra_html_text(h, a0);
	ra_html_lit(h, "\" data-max=\"");
	ra_html_text(h, a1);
	ra_html_lit(h, "\" data-classes=\"");
	ra_html_text(h, a2);
	ra_html_lit(h, "\">");
	ra_html_msgv(h, "dl.policy", args, 3);
	ra_html_lit(h, "</p><label for=\"password\">");
	ra_html_msg(h, "dl.p12_password");
	ra_html_lit(h, "</label><input id=\"password\" name=\"password\" type=\"password\" "
	    "autocomplete=\"new-password\" required maxlength=\"128\" aria-describedby=\"policy "
	    "strength\"><meter id=\"strength\" min=\"0\" max=\"4\" low=\"2\" high=\"3\" optimum=\"4\" "
	    "value=\"0\"></meter><span id=\"strength-label\" class=\"aside\" data-weak=\"");
	ra_html_msg(h, "dl.strength_weak");
	ra_html_lit(h, "\" data-ok=\"");
	ra_html_msg(h, "dl.strength_ok");
	ra_html_lit(h, "\" data-strong=\"");
	ra_html_msg(h, "dl.strength_strong");
	ra_html_lit(h, "\"></span><label for=\"password2\">");
	ra_html_msg(h, "dl.p12_password2");
	ra_html_lit(h, "</label><input id=\"password2\" name=\"password2\" type=\"password\" "
	    "autocomplete=\"new-password\" required maxlength=\"128\">");
}

const char *ra_page_dl_policy_key(const ra_req *r, const char *why, char *key, size_t keysz)
{
	/* "<rule code>: <English>": the rule's own message in the page's language */
	snprintf(key, keysz, "pw.%.*s", (int)strcspn(why, ":"), why);
	return ra_i18n_has(r->app->i18n, key) ? key : "dl.weak";
}

/* Step 2: the PKCS#12 password and the device type. */
static void choose_page(ra_req *r, const char *ticket, unsigned status, const char *err_key,
    const char *why, const char *device, int profile)
{
	const char *wargs[1] = { why };
	ra_page p;
	ra_html *h;

	if (ra_page_begin(&p, r, "dl.choose_title", "/download") != IK_OK)
		return;
	h = &p.h;
	if (err_key != NULL)
		ra_page_notice(&p, "error", err_key, wargs, 1);
	ra_html_lit(h, "<form class=\"card narrow\" method=\"post\" action=\"/download/file\" "
	    "id=\"p12form\">");
	ra_page_csrf(&p);
	ra_html_lit(h, "<input type=\"hidden\" name=\"ticket\" value=\"");
	ra_html_text(h, ticket);
	ra_html_lit(h, "\">");
	ra_page_dl_new_password(&p);
	ra_page_dl_device(&p, device, profile);
	ra_html_lit(h, "<button type=\"submit\" class=\"primary\">");
	ra_html_msg(h, "dl.download");
	ra_html_lit(h, "</button><p class=\"aside\">");
	ra_html_msg(h, "dl.once");
	ra_html_lit(h, "</p></form>");
	ra_page_dl_ca_links(&p);
	ra_page_dl_install(&p);
	ra_page_end(&p, status);
}

/* POST /download: login + secret (or retrieval id + PIN) */
static void h_login(ra_req *r)
{
	const char *login = ra_form_line(r->form, "login", RA_STORE_LOGIN_MAX);
	const char *secret = ra_form_line(r->form, "secret", 64);
	char ticket[TICKET_MAX];
	ra_download d;
	ra_dl_outcome o;

	if (login == NULL || secret == NULL || login[0] == '\0' || secret[0] == '\0') {
		refused_page(r, RA_DL_BAD, login, "dl.missing");
		return;
	}
	memset(&d, 0, sizeof(d));
	o = ra_download_check(r, login, secret, &d);
	OPENSSL_cleanse(&d, sizeof(d));
	if (o != RA_DL_OK) {
		refused_page(r, o, login, NULL);
		return;
	}
	if (strncmp(login, "rn-", 3) == 0) {
		/* a renewal link's id typed here: the renewal pages take it */
		refused_page(r, RA_DL_STATE, login, "dl.use_renewal_link");
		return;
	}
	if (ticket_make(r, login, ticket, sizeof(ticket)) != IK_OK) {
		ra_ui_error(r, 500, "internal");
		return;
	}
	choose_page(r, ticket, 200, NULL, NULL, NULL, 1);
	OPENSSL_cleanse(ticket, sizeof(ticket));
}

/* The root CA's DER (the last of the published chain) into der, its O (or CN) into org. */
static ik_status root_of(ra_req *r, ik_buf *der, char *org, size_t orgsz)
{
	unsigned count = 0;
	ik_buf first;
	X509 *x;
	const uint8_t *q;
	ik_status st;

	ik_buf_init(&first, 64 * 1024);
	st = ra_publish_ca(r->app->publish, 0, &first, &count);
	ik_buf_cleanup(&first);
	if (st != IK_OK || count == 0)
		return st != IK_OK ? st : IK_ERR_NOT_FOUND;
	if ((st = ra_publish_ca(r->app->publish, count - 1, der, &count)) != IK_OK)
		return st;
	org[0] = '\0';
	q = ik_buf_ptr(der);
	if ((x = d2i_X509(NULL, &q, (long)ik_buf_remaining(der))) == NULL)
		return IK_ERR_CRYPTO;
	if (X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_organizationName, org,
	    (int)orgsz) < 0 && X509_NAME_get_text_by_NID(X509_get_subject_name(x),
	    NID_commonName, org, (int)orgsz) < 0)
		org[0] = '\0';
	X509_free(x);
	return IK_OK;
}

/* A catalog message with {1}, {2} replaced (plain text, not HTML: the plist escapes). */
static void msg_fill(const ra_req *r, const char *key, const char *a1, const char *a2,
    char *out, size_t outsz)
{
	const char *m = ra_i18n_get(r->app->i18n, ra_ui_lang(r), key);
	size_t w = 0;

	for (; *m != '\0' && w + 1 < outsz; m++) {
		const char *arg = NULL;
		if (m[0] == '{' && (m[1] == '1' || m[1] == '2') && m[2] == '}')
			arg = m[1] == '1' ? a1 : a2;
		if (arg == NULL) {
			out[w++] = *m;
			continue;
		}
		for (; *arg != '\0' && w + 1 < outsz; arg++)
			out[w++] = *arg;
		m += 2;
	}
	out[w] = '\0';
}

void ra_page_dl_send(ra_req *r, const ik_buf *p12, const char *name, int profile)
{
	char prefix[RA_MOBILECONFIG_PREFIX_MAX + 1], org[256], cn[RA_CN_MAX + 1], fname[RA_CN_MAX + 16];
	char title[512], desc[1024], p12d[512], rootd[512];
	ik_buf root, mc, sig;
	const ik_buf *out_b;
	ra_mobileconfig_in in;
	size_t n = strlen(name);

	if (!profile) {
		ra_reply_bytes(r, 200, "application/x-pkcs12", ik_buf_ptr(p12),
		    ik_buf_remaining(p12), name);
		return;
	}
	/* "<CN>.p12" -> CN */
	snprintf(cn, sizeof(cn), "%.*s", (int)(n > 4 ? n - 4 : n), name);
	ik_buf_init(&root, 64 * 1024);
	ik_buf_init(&mc, 4 * 1024 * 1024);
	ik_buf_set_secret(&mc);
	ik_buf_init(&sig, 4 * 1024 * 1024 + 64 * 1024);
	ik_buf_set_secret(&sig);
	if (root_of(r, &root, org, sizeof(org)) != IK_OK) {
		ra_ui_error(r, 503, "ca_unavailable");
		goto out;
	}
	ra_mobileconfig_prefix(r->app->cfg->public_url, prefix, sizeof(prefix));
	msg_fill(r, "mc.name", cn, org, title, sizeof(title));
	msg_fill(r, "mc.description", cn, org, desc, sizeof(desc));
	msg_fill(r, "mc.p12", cn, org, p12d, sizeof(p12d));
	msg_fill(r, "mc.root", cn, org, rootd, sizeof(rootd));
	in = (ra_mobileconfig_in){ .p12 = ik_buf_ptr(p12), .p12_len = ik_buf_remaining(p12),
	    .root = ik_buf_ptr(&root), .root_len = ik_buf_remaining(&root), .p12_name = name,
	    .prefix = prefix, .display_name = title, .description = desc,
	    .organization = org[0] != '\0' ? org : "Inkan", .p12_display = p12d,
	    .root_display = rootd };
	if (ra_mobileconfig_build(&in, &mc) != IK_OK) {
		ik_log(LOG_ERR, "download: cannot build the configuration profile for %s", cn);
		ra_ui_error(r, 500, "internal");
		goto out;
	}
	if (r->app->mc_signer != NULL && ra_mobileconfig_sign(r->app->mc_signer, ik_buf_ptr(&mc),
	    ik_buf_remaining(&mc), &sig) != IK_OK) {
		ik_log(LOG_ERR, "download: cannot sign the configuration profile for %s", cn);
		ra_ui_error(r, 500, "internal");
		goto out;
	}
	snprintf(fname, sizeof(fname), "%s.mobileconfig", cn);
	out_b = r->app->mc_signer != NULL ? &sig : &mc;
	ra_reply_bytes(r, 200, RA_MOBILECONFIG_TYPE, ik_buf_ptr(out_b), ik_buf_remaining(out_b),
	    fname);
out:
	ik_buf_cleanup(&root);
	ik_buf_cleanup(&mc);
	ik_buf_cleanup(&sig);
}

/* POST /download/file: ticket, password, password2, device, file? -> the .p12 (or the
 * configuration profile for iPhone and iPad) */
static void h_file(ra_req *r)
{
	const char *ticket = ra_form_line(r->form, "ticket", TICKET_MAX);
	const char *pw = ra_form_str(r->form, "password");
	const char *pw2 = ra_form_str(r->form, "password2");
	const char *device = ra_form_line(r->form, "device", 32);
	char login[RA_STORE_LOGIN_MAX + 1], why[256], name[RA_CN_MAX + 8], key[64];
	ra_download d;
	ra_dl_in in;
	ra_dl_outcome o;
	ik_buf p12;
	int profile = 1;

	if (!ticket_check(r, ticket, login, sizeof(login))) {
		/* the page was open too long (or forged): the credential itself is untouched */
		refused_page(r, RA_DL_BAD, NULL, "dl.ticket_expired");
		return;
	}
	memset(&in, 0, sizeof(in));
	if (device == NULL || !ra_download_device(device, &in.flavour)) {
		choose_page(r, ticket, 400, "dl.bad_device", NULL, NULL, 1);
		return;
	}
	if (!ra_page_dl_file_kind(r, device, &profile)) {
		choose_page(r, ticket, 400, "mc.bad_file", NULL, device, 1);
		return;
	}
	if (pw == NULL || pw2 == NULL || strlen(pw) > RA_P12_MAX_PASSWORD ||
	    !ra_secret_equal(pw, pw2)) {
		choose_page(r, ticket, 400, "dl.mismatch", NULL, device, profile);
		return;
	}
	in.password = pw;
	in.device = device;
	in.keytype = RA_KEY_EC_P256;
	memset(&d, 0, sizeof(d));
	if ((o = ra_download_check(r, login, NULL, &d)) != RA_DL_OK) {
		refused_page(r, o, NULL, NULL);
		return;
	}
	ik_buf_init(&p12, 1024 * 1024);
	ik_buf_set_secret(&p12);
	o = ra_download_p12(r, &d, &in, &p12, name, sizeof(name), why, sizeof(why));
	if (o == RA_DL_OK)
		ra_page_dl_send(r, &p12, name, profile);
	else if (o == RA_DL_POLICY)
		choose_page(r, ticket, 400, ra_page_dl_policy_key(r, why, key, sizeof(key)), why,
		    device, profile);
	else
		refused_page(r, o, NULL, NULL);
	ik_buf_cleanup(&p12);
	OPENSSL_cleanse(&d, sizeof(d));
}

const ra_route ra_page_download_routes[] = {
	{ "GET", "/download", h_start, RA_ROLE_NONE, RA_RF_HTML },
	{ "POST", "/download", h_login, RA_ROLE_NONE, RA_RF_HTML | RA_RF_FORM | RA_RF_HEAVY },
	{ "POST", "/download/file", h_file, RA_ROLE_NONE, RA_RF_HTML | RA_RF_FORM | RA_RF_HEAVY },
};
const size_t ra_page_download_nroutes =
    sizeof(ra_page_download_routes) / sizeof(ra_page_download_routes[0]);
