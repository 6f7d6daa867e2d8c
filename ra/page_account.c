/* page_account: an officer's own account — who they are, and the password change (the
 * policy shown, the old password checked, the new one twice).  The work is api_auth.c's
 * ra_auth_password_change, shared with POST /api/v1/password. */
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "auth.h"
#include "form.h"
#include "pages.h"

/* The officer password policy as a list (the numbers are auth.h's). */
static void policy_list(ra_html *h)
{
	char lo[12], hi[12];
	const char *args[2] = { lo, hi };

	snprintf(lo, sizeof(lo), "%d", RA_PASSWORD_MIN);
	snprintf(hi, sizeof(hi), "%d", RA_PASSWORD_MAX);
	ra_html_lit(h, "<ul class=\"policy\" id=\"pw-policy\"><li>");
	ra_html_msgv(h, "account.rule_length", args, 2);
	ra_html_lit(h, "</li><li>");
	ra_html_msg(h, "account.rule_chars");
	ra_html_lit(h, "</li><li>");
	ra_html_msg(h, "account.rule_login");
	ra_html_lit(h, "</li><li>");
	ra_html_msg(h, "account.rule_same");
	ra_html_lit(h, "</li></ul>");
}

static void pw_input(ra_html *h, const char *id, const char *label, const char *ac)
{
	ra_html_lit(h, "<label for=\"");
	ra_html_text(h, id);
	ra_html_lit(h, "\">");
	ra_html_msg(h, label);
	ra_html_lit(h, "</label><input type=\"password\" id=\"");
	ra_html_text(h, id);
	ra_html_lit(h, "\" name=\"");
	ra_html_text(h, id);
	ra_html_lit(h, "\" required maxlength=\"1024\" autocomplete=\"");
	ra_html_text(h, ac);
	ra_html_lit(h, "\">");
}

/* The page; a notice (kind, key, one argument) on top when key is set. */
static void account_page(ra_req *r, unsigned status, const char *kind, const char *key,
    const char *arg, const char *arg2)
{
	const char *args[2] = { arg, arg2 };
	ra_page p;
	ra_html *h;

	if (ra_page_begin(&p, r, "account.title", "/ui/account") != IK_OK)
		return;
	h = &p.h;
	if (key != NULL)
		ra_page_notice(&p, kind, key, args, arg2 != NULL ? 2 : 1);
	ra_html_lit(h, "<dl class=\"facts\"><dt>");
	ra_html_msg(h, "login.login");
	ra_html_lit(h, "</dt><dd class=\"mono\">");
	ra_html_text(h, r->who.login);
	ra_html_lit(h, "</dd><dt>");
	ra_html_msg(h, "account.role");
	ra_html_lit(h, "</dt><dd>");
	ra_html_msg(h, r->who.role == RA_ROLE_ADMIN ? "role.administrator" :
	    r->who.role == RA_ROLE_OFFICER ? "role.officer" : "role.auditor");
	ra_html_lit(h, "</dd></dl><h2>");
	ra_html_msg(h, "account.change");
	ra_html_lit(h, "</h2><form class=\"card narrow stack\" method=\"post\" "
	    "action=\"/ui/account\" id=\"pw-form\">");
	ra_page_csrf(&p);
	ra_html_lit(h, "<p>");
	ra_html_msg(h, "account.policy");
	ra_html_lit(h, "</p>");
	policy_list(h);
	pw_input(h, "current", "account.current", "current-password");
	pw_input(h, "new", "account.new", "new-password");
	pw_input(h, "again", "account.again", "new-password");
	ra_html_lit(h, "<button type=\"submit\" class=\"primary\">");
	ra_html_msg(h, "account.submit");
	ra_html_lit(h, "</button></form><p class=\"aside\">");
	ra_html_msg(h, "account.sessions_note");
	ra_html_lit(h, "</p>");
	ra_page_end(&p, status);
}

static void h_account_get(ra_req *r)
{
	const char *done = ra_ui_query(r, "done", 16);

	if (done != NULL && strcmp(done, "password") == 0)
		account_page(r, 200, "ok", "account.changed", NULL, NULL);
	else
		account_page(r, 200, NULL, NULL, NULL, NULL);
}

static const char *rule_key(ra_opw_rule rule)
{
	switch (rule) {
	case RA_OPW_LENGTH: return "account.bad_length";
	case RA_OPW_CHARS: return "account.bad_chars";
	case RA_OPW_LOGIN: return "account.bad_login";
	case RA_OPW_SAME: return "account.bad_same";
	default: return "account.bad_policy";
	}
}

/* POST /ui/account: current, new, again */
static void h_account_post(ra_req *r)
{
	const char *cur = ra_form_str(r->form, "current"), *nw = ra_form_str(r->form, "new"),
	    *again = ra_form_str(r->form, "again");
	char when[64], lo[12], hi[12];
	ra_opw_rule rule = RA_OPW_OK;
	int64_t until = 0;
	ra_html t;

	if (cur == NULL || nw == NULL || again == NULL || cur[0] == '\0' || nw[0] == '\0') {
		account_page(r, 400, "error", "account.missing", NULL, NULL);
		return;
	}
	if (!ra_secret_equal(nw, again)) {
		account_page(r, 400, "error", "account.mismatch", NULL, NULL);
		return;
	}
	if (strlen(cur) > 1024 || strlen(nw) > 1024) {    /* the API's bounds */
		snprintf(lo, sizeof(lo), "%d", RA_PASSWORD_MIN);
		snprintf(hi, sizeof(hi), "%d", RA_PASSWORD_MAX);
		account_page(r, 400, "error", strlen(nw) > 1024 ? "account.bad_length" :
		    "account.bad_current", lo, hi);
		return;
	}
	switch (ra_auth_password_change(r, cur, nw, &rule, &until)) {
	case RA_PW_CHANGE_OK:
		ra_reply_redirect(r, "/ui/account?done=password");
		break;
	case RA_PW_CHANGE_BAD_OLD:
		account_page(r, 401, "error", "account.bad_current", NULL, NULL);
		break;
	case RA_PW_CHANGE_LOCKED:
		ra_html_init(&t, r->app->i18n, ra_ui_lang(r));
		ra_html_time(&t, until, 1);
		snprintf(when, sizeof(when), "%.*s", (int)ik_buf_remaining(&t.b),
		    (const char *)ik_buf_ptr(&t.b));
		ra_html_cleanup(&t);
		account_page(r, 423, "error", "login.locked", when, NULL);
		break;
	case RA_PW_CHANGE_WEAK:
		/* the length rule names its bounds; the others need no argument */
		snprintf(lo, sizeof(lo), "%d", RA_PASSWORD_MIN);
		snprintf(hi, sizeof(hi), "%d", RA_PASSWORD_MAX);
		account_page(r, 400, "error", rule_key(rule), lo, hi);
		break;
	default:
		ra_ui_error(r, 500, "internal");
		break;
	}
}

const ra_route ra_page_account_routes[] = {
	{ "GET", "/ui/account", h_account_get, RA_ROLE_AUDITOR, RA_RF_HTML },
	{ "POST", "/ui/account", h_account_post, RA_ROLE_AUDITOR,
	  RA_RF_HTML | RA_RF_FORM | RA_RF_HEAVY },
};
const size_t ra_page_account_nroutes =
    sizeof(ra_page_account_routes) / sizeof(ra_page_account_routes[0]);
