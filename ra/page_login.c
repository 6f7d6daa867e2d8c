/* page_login: the officers' login page (password, or a certificate when [ra] cert_login is
 * on; the lockout says until when) and logout.  The work is api_auth.c's ra_auth_login (and
 * api_certlogin.c's ra_auth_login_cert), shared with the JSON API. */
#include <stdio.h>
#include <string.h>
#include <openssl/crypto.h>

#include "api.h"
#include "auth.h"
#include "form.h"
#include "pages.h"

/* A next page after login: one of ours under /ui. */
static const char *next_or_home(const char *next)
{
	return next != NULL && ra_ui_local_path(next) && strncmp(next, "/ui", 3) == 0 ? next :
	    "/ui";
}

static void login_page(ra_req *r, unsigned status, const char *login, const char *next,
    const char *notice_kind, const char *notice_key, const char *arg)
{
	ra_page p;
	ra_html *h = &p.h;
	const char *args[1] = { arg };

	if (ra_page_begin(&p, r, "login.title", "/login") != IK_OK)
		return;
	if (notice_key != NULL)
		ra_page_notice(&p, notice_kind, notice_key, args, 1);
	ra_html_lit(h, "<form class=\"card narrow\" method=\"post\" action=\"/login\">");
	ra_page_csrf(&p);
	ra_html_lit(h, "<input type=\"hidden\" name=\"next\" value=\"");
	ra_html_text(h, next_or_home(next));
	ra_html_lit(h, "\"><label for=\"login\">");
	ra_html_msg(h, "login.login");
	ra_html_lit(h, "</label><input id=\"login\" name=\"login\" autocomplete=\"username\" "
	    "required maxlength=\"64\" autofocus value=\"");
	ra_html_text(h, login != NULL ? login : "");
	ra_html_lit(h, "\"><label for=\"password\">");
	ra_html_msg(h, "login.password");
	ra_html_lit(h, "</label><input id=\"password\" name=\"password\" type=\"password\" "
	    "autocomplete=\"current-password\" required maxlength=\"1024\">"
	    "<button type=\"submit\" class=\"primary\">");
	ra_html_msg(h, "login.submit");
	ra_html_lit(h, "</button></form>");
	if (r->app->cfg->cert_login) { /* [ra] cert_login: the same session, by certificate */
		ra_html_lit(h, "<form class=\"card narrow\" method=\"post\" "
		    "action=\"/login/certificate\"><p>");
		ra_html_msg(h, "login.cert_or");
		ra_html_lit(h, "</p>");
		ra_page_csrf(&p);
		ra_html_lit(h, "<input type=\"hidden\" name=\"next\" value=\"");
		ra_html_text(h, next_or_home(next));
		ra_html_lit(h, "\"><button type=\"submit\" id=\"cert-login\">");
		ra_html_msg(h, "login.cert_submit");
		ra_html_lit(h, "</button></form>");
	}
	ra_html_lit(h, "<p class=\"aside\">");
	ra_html_msg(h, "login.enduser");
	ra_html_lit(h, " <a href=\"/download\">");
	ra_html_msg(h, "login.enduser_link");
	ra_html_lit(h, "</a></p>");
	ra_page_end(&p, status);
}

static void h_login_get(ra_req *r)
{
	const char *done = ra_ui_query(r, "done", 16);

	if (r->who.has_session) {
		ra_reply_redirect(r, "/ui");
		return;
	}
	login_page(r, 200, NULL, ra_ui_query(r, "next", RA_UI_BACK_MAX),
	    "ok", done != NULL && strcmp(done, "logout") == 0 ? "login.logged_out" : NULL, NULL);
}

static void h_login_post(ra_req *r)
{
	const char *login = ra_form_line(r->form, "login", RA_LOGIN_MAX);
	const char *password = ra_form_line(r->form, "password", 1024);
	const char *next = ra_form_line(r->form, "next", RA_UI_BACK_MAX);
	char csrf[64], when[64];
	int64_t until = 0;
	ra_html t;

	if (login == NULL || password == NULL || login[0] == '\0' || password[0] == '\0') {
		login_page(r, 400, login, next, "error", "login.missing", NULL);
		return;
	}
	switch (ra_auth_login(r, login, password, csrf, sizeof(csrf), &until)) {
	case RA_LOGIN_OK:
		ra_reply_redirect(r, next_or_home(next));
		break;
	case RA_LOGIN_BAD:
		login_page(r, 401, login, next, "error", "login.bad", NULL);
		break;
	case RA_LOGIN_LOCKED:
		/* the time, in the page's language and local time */
		ra_html_init(&t, r->app->i18n, ra_ui_lang(r));
		ra_html_time(&t, until, 1);
		snprintf(when, sizeof(when), "%.*s", (int)ik_buf_remaining(&t.b),
		    (const char *)ik_buf_ptr(&t.b));
		ra_html_cleanup(&t);
		login_page(r, 423, login, next, "error", "login.locked", when);
		break;
	default:
		ra_ui_error(r, 500, "internal");
		break;
	}
	OPENSSL_cleanse(csrf, sizeof(csrf));
}

static void h_login_cert(ra_req *r)
{
	const char *next = ra_form_line(r->form, "next", RA_UI_BACK_MAX);
	char csrf[64];
	int64_t until = 0;

	switch (ra_auth_login_cert(r, csrf, sizeof(csrf), &until)) {
	case RA_LOGIN_OK: ra_reply_redirect(r, next_or_home(next)); break;
	case RA_LOGIN_NO_CERT: login_page(r, 401, NULL, next, "error", "login.cert_none", NULL); break;
	case RA_LOGIN_BAD: login_page(r, 401, NULL, next, "error", "login.cert_bad", NULL); break;
	case RA_LOGIN_LOCKED: login_page(r, 423, NULL, next, "error", "login.cert_bad", NULL); break;
	case RA_LOGIN_OFF: ra_ui_error(r, 404, "not_found"); break;
	default: ra_ui_error(r, 500, "internal"); break;
	}
	OPENSSL_cleanse(csrf, sizeof(csrf));
}

static void h_logout(ra_req *r)
{
	if (ra_auth_logout(r) != IK_OK) {
		ra_ui_error(r, 500, "internal");
		return;
	}
	ra_reply_redirect(r, "/login?done=logout");
}

const ra_route ra_page_login_routes[] = {
	{ "GET", "/login", h_login_get, RA_ROLE_NONE, RA_RF_HTML | RA_RF_IPLIST },
	{ "POST", "/login", h_login_post, RA_ROLE_NONE,
	    RA_RF_HTML | RA_RF_IPLIST | RA_RF_FORM | RA_RF_HEAVY },
	{ "POST", "/login/certificate", h_login_cert, RA_ROLE_NONE,
	    RA_RF_HTML | RA_RF_IPLIST | RA_RF_FORM },
	{ "POST", "/logout", h_logout, RA_ROLE_AUDITOR, RA_RF_HTML | RA_RF_FORM },
};
const size_t ra_page_login_nroutes =
    sizeof(ra_page_login_routes) / sizeof(ra_page_login_routes[0]);
