/* page_renew: the users' own renewal as web pages, over the JSON flow's steps
 * (download_renew.c): ask (user id, address on file, the new file's password) -> a link by
 * mail -> the link's page (that password, the device) -> the renewed .p12 or iOS profile
 * -> confirm the switch (the old certificate revoked as superseded) or keep the old one
 * until it expires.  Clear pages for a closed window, a certificate that may no longer be
 * renewed, and a wrong, used, expired or locked link. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <openssl/crypto.h>

#include "auth.h"
#include "download.h"
#include "form.h"
#include "pages.h"
#include "renewal.h"

#define RENEW_BACK "/download/renew"

/* The window now; 0 after an error page. */
static int window_now(ra_req *r, ra_renewal_window *w)
{
	if (ra_renewal_window_get(r->app->store, (int64_t)time(NULL), w) != IK_OK) {
		ra_ui_error(r, 500, "internal");
		return 0;
	}
	return 1;
}

static int window_closed(const ra_renewal_window *w)
{
	return !w->open && w->days == 0;
}

/* What the window is: its dates and/or the days before expiry. */
static void window_facts(ra_page *p, const ra_renewal_window *w)
{
	char a[16], b[16], d[16];
	const char *args[2] = { a, b }, *dargs[1] = { d };

	if (w->set) {
		ra_renewal_date(w->start, w->offset_min, a);
		ra_renewal_date(w->end - 86400, w->offset_min, b);
		ra_html_lit(&p->h, "<p class=\"window\" data-start=\"");
		ra_html_text(&p->h, a);
		ra_html_lit(&p->h, "\" data-end=\"");
		ra_html_text(&p->h, b);
		ra_html_lit(&p->h, "\">");
		ra_html_msgv(&p->h, w->open ? "renew.window_open" : "renew.window_next", args, 2);
		ra_html_lit(&p->h, "</p>");
	}
	if (w->days > 0) {
		snprintf(d, sizeof(d), "%u", w->days);
		ra_html_lit(&p->h, "<p class=\"window\">");
		ra_html_msgv(&p->h, "renew.window_days", dargs, 1);
		ra_html_lit(&p->h, "</p>");
	}
}

/* A page that tells one outcome: kind "error", "ok" or "info"; data-outcome is the key. */
static int outcome_begin(ra_page *p, ra_req *r, const char *kind, const char *key,
    const char *const *args, size_t nargs)
{
	if (ra_page_begin(p, r, "renew.title", RENEW_BACK) != IK_OK)
		return 0;
	ra_html_lit(&p->h, "<div class=\"");
	ra_html_text(&p->h, strcmp(kind, "error") == 0 ? "refused" : "done");
	ra_html_lit(&p->h, "\" data-outcome=\"");
	ra_html_text(&p->h, key);
	ra_html_lit(&p->h, "\">");
	ra_page_notice(p, kind, key, args, nargs);
	ra_html_lit(&p->h, "</div>");
	return 1;
}

static void closed_page(ra_req *r, const ra_renewal_window *w)
{
	ra_page p;

	if (!outcome_begin(&p, r, "error", "renew.closed", NULL, 0))
		return;
	window_facts(&p, w);
	ra_page_end(&p, 409);
}

/* ---- step 1: ask ---- */

static void request_page(ra_req *r, unsigned status, const char *err, const char *why,
    const char *user, const char *email)
{
	const char *wargs[1] = { why != NULL ? why : "" };
	ra_renewal_window w;
	ra_page p;
	ra_html *h;

	if (!window_now(r, &w))
		return;
	if (ra_page_begin(&p, r, "renew.title", RENEW_BACK) != IK_OK)
		return;
	h = &p.h;
	if (err != NULL) {
		ra_html_lit(h, "<div class=\"refused\" data-outcome=\"");
		ra_html_text(h, err);
		ra_html_lit(h, "\">");
		ra_page_notice(&p, "error", err, wargs, 1);
		ra_html_lit(h, "</div>");
	}
	ra_html_lit(h, "<form class=\"card narrow\" method=\"post\" action=\"/download/renew/ask\" "
	    "id=\"askform\">");
	ra_page_csrf(&p);
	window_facts(&p, &w);
	ra_html_lit(h, "<p>");
	ra_html_msg(h, "renew.intro");
	ra_html_lit(h, "</p><label for=\"user\">");
	ra_html_msg(h, "renew.user");
	ra_html_lit(h, "</label><input id=\"user\" name=\"user\" required maxlength=\"128\" "
	    "autocomplete=\"username\" autocapitalize=\"none\" autofocus value=\"");
	ra_html_text(h, user != NULL ? user : "");
	ra_html_lit(h, "\"><label for=\"email\">");
	ra_html_msg(h, "renew.email");
	ra_html_lit(h, "</label><input id=\"email\" name=\"email\" type=\"email\" required "
	    "maxlength=\"254\" autocomplete=\"email\" value=\"");
	ra_html_text(h, email != NULL ? email : "");
	ra_html_lit(h, "\">");
	ra_page_dl_new_password(&p);
	ra_html_lit(h, "<button type=\"submit\" class=\"primary\">");
	ra_html_msg(h, "renew.ask");
	ra_html_lit(h, "</button><p class=\"aside\">");
	ra_html_msg(h, "renew.no_secret_by_mail");
	ra_html_lit(h, "</p></form>");
	ra_page_end(&p, status);
}

/* ---- step 2 and 3: the link's page ---- */

static void switch_form(ra_page *p, const char *login)
{
	ra_html *h = &p->h;

	ra_html_lit(h, "<form class=\"card narrow\" method=\"post\" "
	    "action=\"/download/renew/switch\" id=\"switchform\"><h2>");
	ra_html_msg(h, "renew.switch_title");
	ra_html_lit(h, "</h2>");
	ra_page_csrf(p);
	ra_html_lit(h, "<input type=\"hidden\" name=\"login\" value=\"");
	ra_html_text(h, login);
	ra_html_lit(h, "\"><p>");
	ra_html_msg(h, "renew.switch_intro");
	ra_html_lit(h, "</p><label for=\"sw-secret\">");
	ra_html_msg(h, "renew.password");
	ra_html_lit(h, "</label><input id=\"sw-secret\" name=\"secret\" type=\"password\" "
	    "autocomplete=\"current-password\" required maxlength=\"128\">"
	    "<button type=\"submit\" class=\"primary\" name=\"action\" value=\"switch\">");
	ra_html_msg(h, "renew.switch");
	ra_html_lit(h, "</button> <button type=\"submit\" name=\"action\" value=\"skip\" "
	    "formnovalidate>");
	ra_html_msg(h, "renew.skip");
	ra_html_lit(h, "</button><p class=\"aside\">");
	ra_html_msg(h, "renew.skip_why");
	ra_html_lit(h, "</p></form>");
}

static void download_form(ra_page *p, const char *login, const char *device, int profile)
{
	ra_html *h = &p->h;

	ra_html_lit(h, "<form class=\"card narrow\" method=\"post\" action=\"/download/renew/file\" "
	    "id=\"renewform\"><h2>");
	ra_html_msg(h, "renew.download_title");
	ra_html_lit(h, "</h2>");
	ra_page_csrf(p);
	ra_html_lit(h, "<input type=\"hidden\" name=\"login\" value=\"");
	ra_html_text(h, login);
	ra_html_lit(h, "\"><label for=\"secret\">");
	ra_html_msg(h, "renew.password");
	ra_html_lit(h, "</label><input id=\"secret\" name=\"secret\" type=\"password\" "
	    "autocomplete=\"current-password\" required maxlength=\"128\" autofocus>");
	ra_page_dl_device(p, device, profile);
	ra_html_lit(h, "<button type=\"submit\" class=\"primary\">");
	ra_html_msg(h, "renew.download");
	ra_html_lit(h, "</button><p class=\"aside\">");
	ra_html_msg(h, "renew.overlap");
	ra_html_lit(h, "</p></form>");
}

/* The link's page, with an error above it when err is set. */
static void link_page(ra_req *r, unsigned status, const char *login, const char *err,
    const char *device, int profile)
{
	ra_page p;

	if (ra_page_begin(&p, r, "renew.title", RENEW_BACK) != IK_OK)
		return;
	if (err != NULL) {
		ra_html_lit(&p.h, "<div class=\"refused\" data-outcome=\"");
		ra_html_text(&p.h, err);
		ra_html_lit(&p.h, "\">");
		ra_page_notice(&p, "error", err, NULL, 0);
		ra_html_lit(&p.h, "</div>");
	}
	download_form(&p, login, device, profile);
	switch_form(&p, login);
	ra_page_dl_ca_links(&p);
	ra_page_dl_install(&p);
	ra_page_end(&p, status);
}

/* GET /download/renew[?id=<renewal link id>] */
static void h_page(ra_req *r)
{
	const char *id = ra_ui_query(r, "id", RA_STORE_LOGIN_MAX);
	ra_renewal_window w;

	if (!window_now(r, &w))
		return;
	if (id != NULL && id[0] != '\0') {
		/* the switch stays possible after the window closed: the link's page shows it */
		link_page(r, 200, id, NULL, NULL, 1);
		return;
	}
	if (window_closed(&w)) {
		closed_page(r, &w);
		return;
	}
	request_page(r, 200, NULL, NULL, NULL, NULL);
}

/* POST /download/renew/ask: user, email, password, password2 */
static void h_ask(ra_req *r)
{
	const char *user = ra_form_line(r->form, "user", RA_STORE_NAME_MAX);
	const char *email = ra_form_line(r->form, "email", RA_STORE_EMAIL_MAX);
	const char *pw = ra_form_str(r->form, "password");
	const char *pw2 = ra_form_str(r->form, "password2");
	char why[256], key[64];
	ra_renewal_window w;
	ra_page p;

	if (user == NULL || email == NULL || pw == NULL || pw2 == NULL || user[0] == '\0' ||
	    email[0] == '\0' || pw[0] == '\0') {
		request_page(r, 400, "renew.missing", NULL, user, email);
		return;
	}
	if (strlen(pw) > RA_P12_MAX_PASSWORD || !ra_secret_equal(pw, pw2)) {
		request_page(r, 400, "dl.mismatch", NULL, user, email);
		return;
	}
	switch (ra_renew_request(r, user, email, pw, why, sizeof(why))) {
	case RA_RN_OK:
		if (outcome_begin(&p, r, "ok", "renew.sent", NULL, 0))
			ra_page_end(&p, 202);
		break;
	case RA_RN_MAIL_OFF:
		if (outcome_begin(&p, r, "error", "renew.mail_off", NULL, 0))
			ra_page_end(&p, 409);
		break;
	case RA_RN_CLOSED:
		if (window_now(r, &w))
			closed_page(r, &w);
		break;
	case RA_RN_POLICY:
		request_page(r, 400, ra_page_dl_policy_key(r, why, key, sizeof(key)), why, user, email);
		break;
	default:
		ra_ui_error(r, 500, "internal");
		break;
	}
}

/* A refused credential on the link's forms. */
static void refused(ra_req *r, ra_dl_outcome o, const char *login, const char *device,
    int profile)
{
	static const struct {
		ra_dl_outcome o;
		unsigned status;
		const char *key;
	} map[] = {
		{ RA_DL_LOCKED, 423, "renew.locked" }, { RA_DL_EXPIRED, 410, "renew.expired" },
		{ RA_DL_NOT_RENEWABLE, 409, "renew.not_eligible" },
		{ RA_DL_STATE, 409, "renew.state" },
	};
	const char *key = NULL;
	unsigned status = 500;
	ra_renewal_window w;
	ra_page p;

	if (o == RA_DL_BAD) {
		link_page(r, 401, login, "renew.bad", device, profile);
		return;
	}
	if (o == RA_DL_CLOSED) {
		if (window_now(r, &w))
			closed_page(r, &w);
		return;
	}
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (map[i].o == o) {
			status = map[i].status;
			key = map[i].key;
		}
	if (key == NULL && o != RA_DL_USED)
		ra_page_dl_outcome(o, &status, &key);
	if (o == RA_DL_USED) {
		/* already downloaded: the switch is what is left to do */
		if (!outcome_begin(&p, r, "error", "renew.used", NULL, 0))
			return;
		switch_form(&p, login);
		ra_page_end(&p, 410);
		return;
	}
	if (!outcome_begin(&p, r, "error", key, NULL, 0))
		return;
	if (o == RA_DL_EXPIRED || o == RA_DL_LOCKED) {
		ra_html_lit(&p.h, "<p><a class=\"button\" href=\"/download/renew\">");
		ra_html_msg(&p.h, "renew.ask_again");
		ra_html_lit(&p.h, "</a></p>");
	}
	ra_page_end(&p, status);
}

/* POST /download/renew/file: login, secret, device, file? -> the renewed .p12 or profile */
static void h_file(ra_req *r)
{
	const char *login = ra_form_line(r->form, "login", RA_STORE_LOGIN_MAX);
	const char *secret = ra_form_str(r->form, "secret");
	const char *device = ra_form_line(r->form, "device", 32);
	char why[256], name[RA_CN_MAX + 8];
	ra_download d;
	ra_dl_in in;
	ra_dl_outcome o;
	ik_buf p12;
	int profile = 1;
	ra_page p;

	if (login == NULL || login[0] == '\0') {
		if (outcome_begin(&p, r, "error", "renew.bad_link", NULL, 0))
			ra_page_end(&p, 400);
		return;
	}
	memset(&in, 0, sizeof(in));
	if (device == NULL || !ra_download_device(device, &in.flavour)) {
		link_page(r, 400, login, "dl.bad_device", NULL, 1);
		return;
	}
	if (!ra_page_dl_file_kind(r, device, &profile)) {
		link_page(r, 400, login, "mc.bad_file", device, 1);
		return;
	}
	if (secret == NULL || secret[0] == '\0' || strlen(secret) > RA_P12_MAX_PASSWORD) {
		link_page(r, 400, login, "renew.missing_password", device, profile);
		return;
	}
	in.device = device;
	in.keytype = RA_KEY_EC_P256;
	memset(&d, 0, sizeof(d));
	ik_buf_init(&p12, 1024 * 1024);
	ik_buf_set_secret(&p12);
	if ((o = ra_download_check(r, login, secret, &d)) == RA_DL_OK)
		o = ra_renew_p12(r, &d, secret, &in, &p12, name, sizeof(name), why, sizeof(why));
	if (o == RA_DL_OK)
		ra_page_dl_send(r, &p12, name, profile);
	else
		refused(r, o, login, device, profile);
	ik_buf_cleanup(&p12);
	OPENSSL_cleanse(&d, sizeof(d));
}

/* POST /download/renew/switch: login, secret, action = switch | skip */
static void h_switch(ra_req *r)
{
	const char *login = ra_form_line(r->form, "login", RA_STORE_LOGIN_MAX);
	const char *secret = ra_form_str(r->form, "secret");
	const char *action = ra_form_line(r->form, "action", 16);
	const char *args[1];
	ra_download d;
	ra_cert fresh;
	ra_request req;
	ra_dl_outcome o;
	int64_t old_id = 0;
	ik_status st;
	ra_page p;

	if (action != NULL && strcmp(action, "skip") == 0) {
		if (outcome_begin(&p, r, "info", "renew.skipped", NULL, 0))
			ra_page_end(&p, 200);
		return;
	}
	if (login == NULL || login[0] == '\0') {
		if (outcome_begin(&p, r, "error", "renew.bad_link", NULL, 0))
			ra_page_end(&p, 400);
		return;
	}
	if (secret == NULL || secret[0] == '\0' || strlen(secret) > RA_P12_MAX_PASSWORD) {
		if (outcome_begin(&p, r, "error", "renew.missing_password", NULL, 0)) {
			switch_form(&p, login);
			ra_page_end(&p, 400);
		}
		return;
	}
	memset(&d, 0, sizeof(d));
	if ((o = ra_download_check_spent(r, login, secret, &d)) != RA_DL_OK) {
		if (o == RA_DL_BAD && outcome_begin(&p, r, "error", "renew.bad", NULL, 0)) {
			switch_form(&p, login);
			ra_page_end(&p, 401);
		} else if (o != RA_DL_BAD)
			refused(r, o, login, NULL, 1);
		goto out;
	}
	st = ra_renew_switch(r, &d, login, &fresh, &old_id, &req);
	if (st == IK_OK) {
		args[0] = fresh.serial;
		if (outcome_begin(&p, r, "ok", "renew.switched", args, 1))
			ra_page_end(&p, 202);
	} else if (st == IK_ERR_NOT_FOUND) {
		if (outcome_begin(&p, r, "error", "renew.not_downloaded", NULL, 0))
			ra_page_end(&p, 409);
	} else if (st == IK_ERR_STATE) {
		if (outcome_begin(&p, r, "error", "renew.switch_state", NULL, 0))
			ra_page_end(&p, 409);
	} else
		ra_page_store_error(r, st);
out:
	OPENSSL_cleanse(&d, sizeof(d));
}

const ra_route ra_page_renew_routes[] = {
	{ "GET", "/download/renew", h_page, RA_ROLE_NONE, RA_RF_HTML },
	{ "POST", "/download/renew/ask", h_ask, RA_ROLE_NONE, RA_RF_HTML | RA_RF_FORM | RA_RF_HEAVY },
	{ "POST", "/download/renew/file", h_file, RA_ROLE_NONE, RA_RF_HTML | RA_RF_FORM | RA_RF_HEAVY },
	{ "POST", "/download/renew/switch", h_switch, RA_ROLE_NONE, RA_RF_HTML | RA_RF_FORM | RA_RF_HEAVY },
};
const size_t ra_page_renew_nroutes =
    sizeof(ra_page_renew_routes) / sizeof(ra_page_renew_routes[0]);
