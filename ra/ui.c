/* ui: the shared frame of the web pages (head, header with navigation and the language
 * switch, footer), error pages, the embedded stylesheet and script, the language switch. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/crypto.h>

#include "auth.h"
#include "embed.h"
#include "form.h"
#include "log.h"
#include "ui.h"

ra_lang ra_ui_lang(const ra_req *r)
{
	return ra_lang_negotiate(ra_req_cookie(r, RA_LANG_COOKIE),
	    ra_req_header(r, MHD_HTTP_HEADER_ACCEPT_LANGUAGE));
}

int ra_ui_local_path(const char *s)
{
	size_t n;

	if (s == NULL || s[0] != '/' || s[1] == '/' || (n = strlen(s)) > RA_UI_BACK_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f || s[i] == '\\')
			return 0;
	return 1;
}

int64_t ra_ui_parse_date(const char *s, int add_days)
{
	struct tm tm;
	time_t t;
	int y, m, d;

	if (s == NULL || s[0] == '\0')
		return 0;
	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return -1;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			return -1;
	y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
	m = (s[5] - '0') * 10 + (s[6] - '0');
	d = (s[8] - '0') * 10 + (s[9] - '0');
	if (y < 1970 || y > 9999 || m < 1 || m > 12 || d < 1 || d > 31)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = m - 1;
	tm.tm_mday = d + add_days;
	tm.tm_isdst = -1;
	if ((t = mktime(&tm)) == (time_t)-1)
		return -1;
	return (int64_t)t;
}

const char *ra_ui_query(const ra_req *r, const char *name, size_t maxlen)
{
	const char *s = ra_req_query(r, name);
	size_t n;

	if (s == NULL || (n = strlen(s)) > maxlen)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return NULL;
	return s;
}

/* ---- the frame ---------------------------------------------------------------------- */

typedef struct back_ctx {
	char *out;
	size_t len, cap;
	int first;
	int bad;
} back_ctx;

static void back_put(back_ctx *b, const char *s, int encode)
{
	static const char hexd[] = "0123456789ABCDEF";

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		int plain = !encode || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
		if (b->len + 4 >= b->cap) {
			b->bad = 1;
			return;
		}
		if (plain) {
			b->out[b->len++] = (char)c;
		} else {
			b->out[b->len++] = '%';
			b->out[b->len++] = hexd[c >> 4];
			b->out[b->len++] = hexd[c & 15];
		}
	}
	b->out[b->len] = '\0';
}

static enum MHD_Result back_arg(void *cls, enum MHD_ValueKind kind, const char *key,
    const char *value)
{
	back_ctx *b = cls;

	(void)kind;
	back_put(b, b->first ? "?" : "&", 0);
	b->first = 0;
	back_put(b, key, 1);
	if (value != NULL) {
		back_put(b, "=", 0);
		back_put(b, value, 1);
	}
	return MHD_YES;
}

/* This GET's path and query, re-encoded; the path alone when too long. */
static void this_url(const ra_req *r, char *out, size_t outsz)
{
	back_ctx b = { .out = out, .cap = outsz, .first = 1 };

	out[0] = '\0';
	back_put(&b, r->path, 0);
	if (strcmp(r->method, "GET") == 0)
		MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, back_arg, &b);
	if (b.bad || !ra_ui_local_path(out))
		snprintf(out, outsz, "%s", ra_ui_local_path(r->path) ? r->path : "/");
}

static void nav_item(ra_page *p, const char *href, const char *key, const char *prefix)
{
	int here = strncmp(p->r->path, prefix, strlen(prefix)) == 0 &&
	    (strcmp(prefix, "/ui") != 0 || strcmp(p->r->path, "/ui") == 0);
	ra_html *h = &p->h;

	ra_html_lit(h, "<a href=\"");
	ra_html_text(h, href);
	ra_html_lit(h, "\"");
	if (here)
		ra_html_lit(h, " class=\"here\" aria-current=\"page\"");
	ra_html_lit(h, ">");
	ra_html_msg(h, key);
	ra_html_lit(h, "</a>");
}

static void header(ra_page *p, const char *back)
{
	ra_html *h = &p->h;
	const ra_principal *who = &p->r->who;
	int officer = who->role >= RA_ROLE_AUDITOR && who->has_session;

	ra_html_lit(h, "<header class=\"top\"><a class=\"brand\" href=\"");
	ra_html_text(h, officer ? "/ui" : "/download");
	ra_html_lit(h, "\">Inkan</a>");
	if (officer) {
		ra_html_lit(h, "<nav>");
		nav_item(p, "/ui", "nav.dashboard", "/ui");
		nav_item(p, "/ui/certs", "nav.certs", "/ui/certs");
		nav_item(p, "/ui/users", "nav.users", "/ui/users");
		if (who->role >= RA_ROLE_OFFICER)
			nav_item(p, "/ui/bulk", "nav.bulk", "/ui/bulk");
		nav_item(p, "/ui/batches", "nav.batches", "/ui/batches");
		nav_item(p, "/ui/history", "nav.history", "/ui/history");
		if (who->role >= RA_ROLE_ADMIN)
			nav_item(p, "/ui/officers", "nav.officers", "/ui/officers");
		if (who->role >= RA_ROLE_ADMIN)
			nav_item(p, "/ui/settings", "nav.settings", "/ui/settings");
		ra_html_lit(h, "</nav><div class=\"who\"><span>");
		ra_html_text(h, who->login);
		ra_html_lit(h, " (");
		ra_html_msg(h, who->role == RA_ROLE_ADMIN ? "role.administrator" :
		    who->role == RA_ROLE_OFFICER ? "role.officer" : "role.auditor");
		ra_html_lit(h, ")</span><a href=\"/ui/account\" id=\"nav-account\"");
		if (strcmp(p->r->path, "/ui/account") == 0)
			ra_html_lit(h, " class=\"here\" aria-current=\"page\"");
		ra_html_lit(h, ">");
		ra_html_msg(h, "nav.account");
		ra_html_lit(h, "</a><form method=\"post\" action=\"/logout\">");
		ra_page_csrf(p);
		ra_html_lit(h, "<button type=\"submit\" class=\"link\">");
		ra_html_msg(h, "nav.logout");
		ra_html_lit(h, "</button></form></div>");
	}
	ra_html_lit(h, "<form class=\"lang\" method=\"post\" action=\"/lang\">");
	ra_page_csrf(p);
	ra_html_lit(h, "<input type=\"hidden\" name=\"back\" value=\"");
	ra_html_text(h, back);
	ra_html_lit(h, "\"><button type=\"submit\" name=\"lang\" value=\"ja\" lang=\"ja\"");
	if (p->lang == RA_LANG_JA)
		ra_html_lit(h, " class=\"here\" aria-pressed=\"true\"");
	ra_html_lit(h, ">日本語</button><button type=\"submit\" name=\"lang\" value=\"en\" "
	    "lang=\"en\"");
	if (p->lang == RA_LANG_EN)
		ra_html_lit(h, " class=\"here\" aria-pressed=\"true\"");
	ra_html_lit(h, ">English</button></form></header>\n<main>");
}

ik_status ra_page_begin(ra_page *p, ra_req *r, const char *title_key, const char *back)
{
	char url[RA_UI_BACK_MAX + 8];
	ik_status st;

	memset(p, 0, sizeof(*p));
	p->r = r;
	p->lang = ra_ui_lang(r);
	ra_html_init(&p->h, r->app->i18n, p->lang);
	if ((st = ra_auth_page_csrf(r, p->csrf, sizeof(p->csrf))) != IK_OK) {
		ra_html_cleanup(&p->h);
		ra_reply_error(r, 500, "internal", "cannot make the form token");
		return st;
	}
	if (back == NULL || !ra_ui_local_path(back)) {
		this_url(r, url, sizeof(url));
		back = url;
	}
	ra_html_lit(&p->h, "<!DOCTYPE html>\n<html lang=\"");
	ra_html_text(&p->h, ra_lang_code(p->lang));
	ra_html_lit(&p->h, "\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" "
	    "content=\"width=device-width, initial-scale=1\"><title>");
	ra_html_msg(&p->h, title_key);
	ra_html_lit(&p->h, " — Inkan</title><link rel=\"stylesheet\" href=\"/static/app.css\">"
	    "<script src=\"/static/app.js\" defer></script></head>\n<body>");
	header(p, back);
	ra_html_lit(&p->h, "<h1>");
	ra_html_msg(&p->h, title_key);
	ra_html_lit(&p->h, "</h1>\n");
	return IK_OK;
}

void ra_page_end(ra_page *p, unsigned status)
{
	ra_html *h = &p->h;

	ra_html_lit(h, "</main>\n<footer><span>Inkan</span> · <span>");
	ra_html_msg(h, "footer.times");
	ra_html_lit(h, "</span></footer>\n</body></html>\n");
	if (h->st != IK_OK)
		ra_reply_error(p->r, 500, "internal", "cannot build the page");
	else
		ra_reply_bytes(p->r, status, "text/html; charset=utf-8", ik_buf_ptr(&h->b),
		    ik_buf_remaining(&h->b), NULL);
	ra_html_cleanup(h);
	OPENSSL_cleanse(p->csrf, sizeof(p->csrf));
}

void ra_page_csrf(ra_page *p)
{
	ra_html_lit(&p->h, "<input type=\"hidden\" name=\"csrf\" value=\"");
	ra_html_text(&p->h, p->csrf);
	ra_html_lit(&p->h, "\">");
}

void ra_page_notice(ra_page *p, const char *kind, const char *key, const char *const *args,
    size_t nargs)
{
	ra_html *h = &p->h;

	ra_html_lit(h, "<p class=\"notice ");
	ra_html_text(h, kind);
	ra_html_lit(h, "\" role=\"");
	ra_html_text(h, strcmp(kind, "error") == 0 ? "alert" : "status");
	ra_html_lit(h, "\">");
	ra_html_msgv(h, key, args, nargs);
	ra_html_lit(h, "</p>\n");
}

void ra_ui_error(ra_req *r, unsigned status, const char *code)
{
	char key[96], url[RA_UI_BACK_MAX + 8], loc[3 * RA_UI_BACK_MAX + 32];
	ra_page p;

	if (status == 401 && strcmp(r->method, "GET") == 0) {
		ra_html h;
		this_url(r, url, sizeof(url));
		ra_html_init(&h, NULL, RA_LANG_JA);
		ra_html_lit(&h, "/login?next=");
		ra_html_url(&h, url);
		snprintf(loc, sizeof(loc), "%.*s", (int)ik_buf_remaining(&h.b),
		    (const char *)ik_buf_ptr(&h.b));
		ra_html_cleanup(&h);
		ra_reply_redirect(r, loc);
		return;
	}
	snprintf(key, sizeof(key), "error.%s", code);
	if (!ra_i18n_has(r->app->i18n, key))
		snprintf(key, sizeof(key), "error.generic");
	if (ra_page_begin(&p, r, "error.title", NULL) != IK_OK)
		return;
	ra_page_notice(&p, "error", key, NULL, 0);
	ra_html_lit(&p.h, "<p><a href=\"");
	ra_html_text(&p.h, r->who.has_session ? "/ui" : status == 401 ? "/login" : "/download");
	ra_html_lit(&p.h, "\">");
	ra_html_msg(&p.h, r->who.has_session ? "error.back_dashboard" : status == 401 ?
	    "error.back_login" : "error.back_start");
	ra_html_lit(&p.h, "</a></p>");
	ra_page_end(&p, status);
}

/* ---- routes ----------------------------------------------------------------------- */

static void static_file(ra_req *r, const char *name, const char *ctype)
{
	const ra_embedded *f = ra_embedded_find(name);

	if (f == NULL) {
		ra_reply_error(r, 404, "not_found", "no such file");
		return;
	}
	r->cache_seconds = 3600;
	ra_reply_bytes(r, 200, ctype, f->data, f->len, NULL);
}

static void h_css(ra_req *r)
{
	static_file(r, "static/app.css", "text/css; charset=utf-8");
}

static void h_js(ra_req *r)
{
	static_file(r, "static/app.js", "text/javascript; charset=utf-8");
}

/* POST /lang: lang=ja|en, back=<local path>; the choice sticks in a cookie for a year */
static void h_lang(ra_req *r)
{
	const char *lang = ra_form_line(r->form, "lang", 8);
	const char *back = ra_form_line(r->form, "back", RA_UI_BACK_MAX);
	char cookie[128];
	ra_lang l;

	if (!ra_lang_parse(lang, &l)) {
		ra_ui_error(r, 400, "bad_form");
		return;
	}
	snprintf(cookie, sizeof(cookie), "%s=%s; Path=/; Max-Age=31536000; SameSite=Strict%s",
	    RA_LANG_COOKIE, ra_lang_code(l), r->app->cfg->tls ? "; Secure" : "");
	if (ra_req_add_header(r, "Set-Cookie", cookie) != IK_OK) {
		ra_ui_error(r, 500, "internal");
		return;
	}
	ra_reply_redirect(r, ra_ui_local_path(back) ? back : "/");
}

static void h_root(ra_req *r)
{
	ra_reply_redirect(r, r->who.has_session ? "/ui" : "/login");
}

const ra_route ra_ui_routes[] = {
	{ "GET", "/", h_root, RA_ROLE_NONE, RA_RF_HTML },
	{ "GET", "/static/app.css", h_css, RA_ROLE_NONE, 0 },
	{ "GET", "/static/app.js", h_js, RA_ROLE_NONE, 0 },
	{ "POST", "/lang", h_lang, RA_ROLE_NONE, RA_RF_HTML | RA_RF_FORM },
};
const size_t ra_ui_nroutes = sizeof(ra_ui_routes) / sizeof(ra_ui_routes[0]);
