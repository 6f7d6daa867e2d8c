/* page_users: end users and their devices — the user list with a form for a new user, a
 * user with devices and certificates, a device with its certificate history and the form
 * that issues it one certificate (its one-time download credential shown once). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/crypto.h>

#include "api.h"
#include "download.h"
#include "form.h"
#include "pages.h"
#include "renewal.h"

#define DEFAULT_VALIDITY_DAYS 365
#define MAX_VALIDITY_DAYS 1095

static void input(ra_html *h, const char *key, const char *name, const char *type,
    int maxlen, int required, const char *value)
{
	ra_html_lit(h, "<label>");
	ra_html_msg(h, key);
	ra_html_lit(h, " <input name=\"");
	ra_html_text(h, name);
	ra_html_lit(h, "\" type=\"");
	ra_html_text(h, type);
	ra_html_lit(h, "\" maxlength=\"");
	ra_html_int(h, maxlen);
	ra_html_lit(h, "\"");
	if (required)
		ra_html_lit(h, " required");
	ra_html_lit(h, " value=\"");
	ra_html_text(h, value != NULL ? value : "");
	ra_html_lit(h, "\"></label>");
}

/* ---- users ---- */

static void h_users(ra_req *r)
{
	ra_user *rows = calloc(RA_PAGE_MAX, sizeof(*rows));
	uint64_t after = 0;
	const char *a = ra_ui_query(r, "after", 20);
	size_t n = 0;
	ra_page p;
	ra_html *h;
	ik_status st;

	if (rows == NULL) {
		ra_ui_error(r, 500, "internal");
		return;
	}
	if (a != NULL)
		after = strtoull(a, NULL, 10);
	if ((st = ra_store_user_list(r->app->store, (int64_t)(after & INT64_MAX), rows,
	    RA_PAGE_MAX, &n)) != IK_OK) {
		free(rows);
		ra_page_store_error(r, st);
		return;
	}
	if (ra_page_begin(&p, r, "users.title", NULL) != IK_OK) {
		free(rows);
		return;
	}
	h = &p.h;
	if (r->who.role >= RA_ROLE_OFFICER) {
		ra_html_lit(h, "<details class=\"card\"><summary>");
		ra_html_msg(h, "users.new");
		ra_html_lit(h, "</summary><form method=\"post\" action=\"/ui/users\" class=\"stack\">");
		ra_page_csrf(&p);
		input(h, "user.external_id", "external_id", "text", RA_STORE_NAME_MAX, 1, NULL);
		input(h, "user.email", "email", "email", RA_STORE_EMAIL_MAX, 0, NULL);
		input(h, "user.display_name", "display_name", "text", 128, 0, NULL);
		ra_html_lit(h, "<button type=\"submit\" class=\"primary\">");
		ra_html_msg(h, "users.add");
		ra_html_lit(h, "</button></form></details>");
	}
	ra_html_lit(h, "<table class=\"grid\"><thead><tr><th>");
	ra_html_msg(h, "user.external_id");
	ra_html_lit(h, "</th><th>");
	ra_html_msg(h, "user.display_name");
	ra_html_lit(h, "</th><th>");
	ra_html_msg(h, "user.email");
	ra_html_lit(h, "</th><th>");
	ra_html_msg(h, "user.created");
	ra_html_lit(h, "</th></tr></thead><tbody>");
	for (size_t i = 0; i < n; i++) {
		ra_html_lit(h, "<tr><td><a href=\"/ui/users/");
		ra_html_int(h, rows[i].id);
		ra_html_lit(h, "\">");
		ra_html_text(h, rows[i].external_id);
		ra_html_lit(h, "</a></td><td>");
		ra_html_text(h, rows[i].display_name);
		ra_html_lit(h, "</td><td>");
		ra_html_text(h, rows[i].email);
		ra_html_lit(h, "</td><td>");
		ra_html_time(h, rows[i].created, 0);
		ra_html_lit(h, "</td></tr>\n");
	}
	ra_html_lit(h, "</tbody></table><nav class=\"pages\">");
	if (after > 0) {
		ra_html_lit(h, "<a href=\"/ui/users\">");
		ra_html_msg(h, "pages.first");
		ra_html_lit(h, "</a>");
	}
	if (n == RA_PAGE_MAX) {
		ra_html_lit(h, "<a rel=\"next\" href=\"/ui/users?after=");
		ra_html_int(h, rows[n - 1].id);
		ra_html_lit(h, "\">");
		ra_html_msg(h, "pages.next");
		ra_html_lit(h, "</a>");
	}
	ra_html_lit(h, "</nav>");
	free(rows);
	ra_page_end(&p, 200);
}

static void simple_notice_page(ra_req *r, unsigned status, const char *title,
    const char *key, const char *back)
{
	ra_page p;

	if (ra_page_begin(&p, r, title, NULL) != IK_OK)
		return;
	ra_page_notice(&p, "error", key, NULL, 0);
	ra_html_lit(&p.h, "<p><a href=\"");
	ra_html_text(&p.h, back);
	ra_html_lit(&p.h, "\">");
	ra_html_msg(&p.h, "common.back");
	ra_html_lit(&p.h, "</a></p>");
	ra_page_end(&p, status);
}

/* POST /ui/users */
static void h_user_add(ra_req *r)
{
	const char *ext = ra_form_line(r->form, "external_id", RA_STORE_NAME_MAX);
	const char *email = ra_form_line(r->form, "email", RA_STORE_EMAIL_MAX);
	const char *name = ra_form_line(r->form, "display_name", RA_STORE_TEXT_MAX);
	char loc[64];
	ra_user u;
	ra_hist hh;
	int64_t id;
	ik_status st;

	if (ext == NULL || ext[0] == '\0' || email == NULL || name == NULL) {
		simple_notice_page(r, 400, "users.new", "users.bad_fields", "/ui/users");
		return;
	}
	if (email[0] != '\0' && (strchr(email, '@') == NULL || strchr(email, ' ') != NULL)) {
		simple_notice_page(r, 400, "users.new", "users.bad_email", "/ui/users");
		return;
	}
	memset(&u, 0, sizeof(u));
	snprintf(u.external_id, sizeof(u.external_id), "%s", ext);
	snprintf(u.email, sizeof(u.email), "%s", email);
	snprintf(u.display_name, sizeof(u.display_name), "%s", name);
	hh = ra_api_hist(r, "user_add", ext, "");
	st = ra_store_user_add(r->app->store, &u, &hh, &id);
	if (st == IK_ERR_EXISTS) {
		simple_notice_page(r, 409, "users.new", "users.exists", "/ui/users");
		return;
	}
	if (st != IK_OK) {
		ra_page_store_error(r, st);
		return;
	}
	snprintf(loc, sizeof(loc), "/ui/users/%lld", (long long)id);
	ra_reply_redirect(r, loc);
}

static void cert_table(ra_page *p, ra_cert_query *q)
{
	ra_cert *rows = calloc(RA_PAGE_MAX, sizeof(*rows));
	char next[RA_CURSOR_MAX];
	size_t n = 0;

	q->sort = RA_CERT_SORT_CREATED;
	q->descending = 1;
	if (rows == NULL || ra_store_cert_list(p->r->app->store, q, rows, &n, next) != IK_OK) {
		ra_page_notice(p, "error", "error.internal", NULL, 0);
		free(rows);
		return;
	}
	if (n == 0) {
		ra_html_lit(&p->h, "<p class=\"empty\">");
		ra_html_msg(&p->h, "certs.none");
		ra_html_lit(&p->h, "</p>");
	} else {
		ra_html_lit(&p->h, "<table class=\"grid\">");
		ra_page_cert_head(p, 0);
		ra_html_lit(&p->h, "<tbody>");
		for (size_t i = 0; i < n; i++)
			ra_page_cert_row(p, &rows[i], 0);
		ra_html_lit(&p->h, "</tbody></table>");
	}
	free(rows);
}

static void fact(ra_html *h, const char *key, const char *value)
{
	ra_html_lit(h, "<dt>");
	ra_html_msg(h, key);
	ra_html_lit(h, "</dt><dd>");
	ra_html_text(h, value[0] != '\0' ? value : "-");
	ra_html_lit(h, "</dd>");
}

/* GET /ui/users/{id} */
/* While the renewal window is open: a banner saying so, with its days. */
static void renewal_banner(ra_page *p)
{
	ra_renewal_window w;
	char from[16], to[16];
	const char *args[2] = { from, to };

	if (ra_renewal_window_get(p->r->app->store, (int64_t)time(NULL), &w) != IK_OK ||
	    !w.open)
		return;
	ra_renewal_date(w.start, w.offset_min, from);
	ra_renewal_date(w.end - 1, w.offset_min, to);    /* the last day, included */
	ra_html_lit(&p->h, "<p class=\"notice info banner\" id=\"renewal-banner\" "
	    "role=\"status\">");
	ra_html_msgv(&p->h, "renewal.banner", args, 2);
	ra_html_lit(&p->h, "</p>\n");
}

static void h_user(ra_req *r)
{
	ra_user u;
	ra_device *devs = calloc(RA_PAGE_MAX, sizeof(*devs));
	ra_cert_query q;
	size_t n = 0;
	int64_t id;
	ra_page p;
	ra_html *h;
	ik_status st;

	if (devs == NULL) {
		ra_ui_error(r, 500, "internal");
		return;
	}
	if (!ra_page_path_id(r, &id))
		goto out;
	if ((st = ra_store_user_get(r->app->store, id, &u)) != IK_OK ||
	    (st = ra_store_device_list(r->app->store, id, 0, devs, RA_PAGE_MAX, &n)) != IK_OK) {
		ra_page_store_error(r, st);
		goto out;
	}
	if (ra_page_begin(&p, r, "user.title", NULL) != IK_OK)
		goto out;
	h = &p.h;
	renewal_banner(&p);
	ra_html_lit(h, "<dl class=\"facts\">");
	fact(h, "user.external_id", u.external_id);
	fact(h, "user.display_name", u.display_name);
	fact(h, "user.email", u.email);
	ra_html_lit(h, "</dl><h2>");
	ra_html_msg(h, "user.devices");
	ra_html_lit(h, "</h2><table class=\"grid\"><thead><tr><th>");
	ra_html_msg(h, "device.name");
	ra_html_lit(h, "</th><th>");
	ra_html_msg(h, "device.model");
	ra_html_lit(h, "</th><th>");
	ra_html_msg(h, "device.current");
	ra_html_lit(h, "</th></tr></thead><tbody>");
	for (size_t i = 0; i < n; i++) {
		ra_html_lit(h, "<tr><td><a href=\"/ui/devices/");
		ra_html_int(h, devs[i].id);
		ra_html_lit(h, "\">");
		ra_html_text(h, devs[i].name);
		ra_html_lit(h, "</a></td><td>");
		ra_html_text(h, devs[i].model);
		ra_html_lit(h, "</td><td>");
		if (devs[i].current_cert_id != 0) {
			ra_html_lit(h, "<a href=\"/ui/certs/");
			ra_html_int(h, devs[i].current_cert_id);
			ra_html_lit(h, "\">#");
			ra_html_int(h, devs[i].current_cert_id);
			ra_html_lit(h, "</a>");
		} else {
			ra_html_lit(h, "-");
		}
		ra_html_lit(h, "</td></tr>");
	}
	ra_html_lit(h, "</tbody></table>");
	if (r->who.role >= RA_ROLE_OFFICER) {
		ra_html_lit(h, "<details class=\"card\"><summary>");
		ra_html_msg(h, "device.new");
		ra_html_lit(h, "</summary><form method=\"post\" class=\"stack\" action=\"/ui/users/");
		ra_html_int(h, id);
		ra_html_lit(h, "/devices\">");
		ra_page_csrf(&p);
		input(h, "device.name", "name", "text", 128, 1, NULL);
		input(h, "device.model", "model", "text", 128, 0, NULL);
		ra_html_lit(h, "<button type=\"submit\" class=\"primary\">");
		ra_html_msg(h, "device.add");
		ra_html_lit(h, "</button></form></details>");
	}
	ra_html_lit(h, "<h2>");
	ra_html_msg(h, "user.certs");
	ra_html_lit(h, "</h2>");
	memset(&q, 0, sizeof(q));
	q.user_id = id;
	cert_table(&p, &q);
	ra_page_end(&p, 200);
out:
	free(devs);
}

/* POST /ui/users/{id}/devices */
static void h_device_add(ra_req *r)
{
	const char *name = ra_form_line(r->form, "name", RA_STORE_DEVICE_MAX);
	const char *model = ra_form_line(r->form, "model", RA_STORE_TEXT_MAX);
	char loc[64], target[48], back[48];
	ra_device d;
	ra_hist hh;
	int64_t uid, id;
	ik_status st;

	if (!ra_page_path_id(r, &uid))
		return;
	snprintf(back, sizeof(back), "/ui/users/%lld", (long long)uid);
	if (name == NULL || name[0] == '\0' || model == NULL) {
		simple_notice_page(r, 400, "device.new", "device.bad_fields", back);
		return;
	}
	memset(&d, 0, sizeof(d));
	d.user_id = uid;
	snprintf(d.name, sizeof(d.name), "%s", name);
	snprintf(d.model, sizeof(d.model), "%s", model);
	snprintf(target, sizeof(target), "user:%lld", (long long)uid);
	hh = ra_api_hist(r, "device_add", target, "");
	st = ra_store_device_add(r->app->store, &d, &hh, &id);
	if (st == IK_ERR_EXISTS) {
		simple_notice_page(r, 409, "device.new", "device.exists", back);
		return;
	}
	if (st != IK_OK) {
		ra_page_store_error(r, st);
		return;
	}
	snprintf(loc, sizeof(loc), "/ui/devices/%lld", (long long)id);
	ra_reply_redirect(r, loc);
}

/* ---- a device, and issuing it one certificate ---- */

static void issue_form(ra_page *p, const ra_device *d, const ra_user *u)
{
	ra_html *h = &p->h;

	ra_html_lit(h, "<form method=\"post\" class=\"card stack\" action=\"/ui/devices/");
	ra_html_int(h, d->id);
	ra_html_lit(h, "/issue\"><h2>");
	ra_html_msg(h, "issue.title");
	ra_html_lit(h, "</h2>");
	ra_page_csrf(p);
	ra_html_lit(h, "<label>");
	ra_html_msg(h, "issue.cn");
	ra_html_lit(h, " <input name=\"cn\" maxlength=\"64\" placeholder=\"");
	ra_html_text(h, u->external_id);
	ra_html_lit(h, "\"></label><label>");
	ra_html_msg(h, "issue.days");
	ra_html_lit(h, " <input name=\"days\" type=\"number\" min=\"1\" max=\"1095\" value=\"365\">"
	    "</label><fieldset><legend>");
	ra_html_msg(h, "issue.credential");
	ra_html_lit(h, "</legend><label class=\"inline\"><input type=\"radio\" name=\"credential\" "
	    "value=\"password\" checked> ");
	ra_html_msg(h, "issue.credential_password");
	ra_html_lit(h, "</label><label class=\"inline\"><input type=\"radio\" name=\"credential\" "
	    "value=\"pin\"> ");
	ra_html_msg(h, "issue.credential_pin");
	ra_html_lit(h, "</label></fieldset><label>");
	ra_html_msg(h, "issue.credential_days");
	ra_html_lit(h, " <input name=\"credential_days\" type=\"number\" min=\"1\" max=\"90\" "
	    "value=\"14\"></label><button type=\"submit\" class=\"primary\">");
	ra_html_msg(h, "issue.submit");
	ra_html_lit(h, "</button></form>");
}

static void device_page(ra_req *r, int64_t id, unsigned status, const char *err_key,
    const char *arg)
{
	ra_device d;
	ra_user u;
	ra_cert_query q;
	ra_page p;
	ra_html *h;
	char uid[24];
	const char *args[1] = { arg };
	ik_status st;

	if ((st = ra_store_device_get(r->app->store, id, &d)) != IK_OK ||
	    (st = ra_store_user_get(r->app->store, d.user_id, &u)) != IK_OK) {
		ra_page_store_error(r, st);
		return;
	}
	if (ra_page_begin(&p, r, "device.title", NULL) != IK_OK)
		return;
	h = &p.h;
	renewal_banner(&p);
	if (err_key != NULL)
		ra_page_notice(&p, "error", err_key, args, 1);
	snprintf(uid, sizeof(uid), "%lld", (long long)u.id);
	ra_html_lit(h, "<dl class=\"facts\"><dt>");
	ra_html_msg(h, "device.user");
	ra_html_lit(h, "</dt><dd><a href=\"/ui/users/");
	ra_html_text(h, uid);
	ra_html_lit(h, "\">");
	ra_html_text(h, u.external_id);
	ra_html_lit(h, "</a></dd>");
	fact(h, "device.name", d.name);
	fact(h, "device.model", d.model);
	ra_html_lit(h, "</dl>");
	if (r->who.role >= RA_ROLE_OFFICER)
		issue_form(&p, &d, &u);
	ra_html_lit(h, "<h2>");
	ra_html_msg(h, "device.certs");
	ra_html_lit(h, "</h2>");
	memset(&q, 0, sizeof(q));
	q.device_id = id;
	cert_table(&p, &q);
	ra_page_end(&p, status);
}

/* GET /ui/devices/{id} */
static void h_device(ra_req *r)
{
	int64_t id;

	if (ra_page_path_id(r, &id))
		device_page(r, id, 200, NULL, NULL);
}

static uint64_t form_uint(const ra_req *r, const char *name, uint64_t def, uint64_t max)
{
	const char *s = ra_form_line(r->form, name, 10);
	char *end;
	unsigned long long v;

	if (s == NULL || s[0] == '\0')
		return def;
	if (s[0] < '0' || s[0] > '9')
		return 0;
	v = strtoull(s, &end, 10);
	return *end == '\0' && v <= max ? v : 0;
}

/* The one-time credential, shown this once. */
static void credential_page(ra_req *r, const ra_cert *c, const ra_credential *cred)
{
	ra_page p;
	ra_html *h;

	if (ra_page_begin(&p, r, "issued.title", NULL) != IK_OK)
		return;
	h = &p.h;
	ra_html_secret(h);
	ra_page_notice(&p, "ok", "issued.once", NULL, 0);
	ra_html_lit(h, "<dl class=\"facts credential\">");
	fact(h, "cert.cn", c->cn);
	fact(h, "issued.url", cred->url);
	fact(h, cred->kind == RA_DOWNLOAD_PIN ? "issued.id" : "issued.login", cred->login);
	ra_html_lit(h, "<dt>");
	ra_html_msg(h, cred->kind == RA_DOWNLOAD_PIN ? "issued.pin" : "issued.password");
	ra_html_lit(h, "</dt><dd class=\"secret mono\" id=\"secret\">");
	ra_html_text(h, cred->secret);
	ra_html_lit(h, "</dd><dt>");
	ra_html_msg(h, "issued.expires");
	ra_html_lit(h, "</dt><dd>");
	ra_html_time(h, cred->expires, 1);
	ra_html_lit(h, "</dd></dl><p><a href=\"/ui/certs/");
	ra_html_int(h, c->id);
	ra_html_lit(h, "\">");
	ra_html_msg(h, "issued.to_cert");
	ra_html_lit(h, "</a> · <a href=\"/ui/devices/");
	ra_html_int(h, c->device_id);
	ra_html_lit(h, "\">");
	ra_html_msg(h, "issued.to_device");
	ra_html_lit(h, "</a></p>");
	ra_page_end(&p, 201);
}

/* POST /ui/devices/{id}/issue */
static void h_issue(ra_req *r)
{
	const char *cn = ra_form_line(r->form, "cn", RA_CN_MAX);
	const char *kind = ra_form_line(r->form, "credential", 16);
	uint64_t days = form_uint(r, "days", DEFAULT_VALIDITY_DAYS, MAX_VALIDITY_DAYS);
	uint64_t cdays = form_uint(r, "credential_days", 14, 90), quota = 0;
	ra_credential cred;
	ra_cert c;
	ra_issue_in in;
	char q[24];
	int64_t id;

	if (!ra_page_path_id(r, &id))
		return;
	if (cn == NULL || days == 0 || cdays == 0 || kind == NULL ||
	    (strcmp(kind, "password") != 0 && strcmp(kind, "pin") != 0)) {
		device_page(r, id, 400, "issue.bad_fields", NULL);
		return;
	}
	memset(&cred, 0, sizeof(cred));
	in = (ra_issue_in){ .device_id = id, .cn = cn, .validity_days = (unsigned)days,
	    .kind = strcmp(kind, "pin") == 0 ? RA_DOWNLOAD_PIN : RA_DOWNLOAD_PASSWORD,
	    .credential_days = (unsigned)cdays };
	switch (ra_cert_issue_for_download(r, &in, &c, &cred, &quota)) {
	case RA_ISSUE_OK:
		credential_page(r, &c, &cred);
		break;
	case RA_ISSUE_NO_DEVICE:
		ra_ui_error(r, 404, "not_found");
		break;
	case RA_ISSUE_BAD_CN:
		device_page(r, id, 400, "issue.bad_cn", NULL);
		break;
	case RA_ISSUE_QUOTA:
		snprintf(q, sizeof(q), "%llu", (unsigned long long)quota);
		device_page(r, id, 409, "issue.quota", q);
		break;
	case RA_ISSUE_LIVE:
		device_page(r, id, 409, "issue.live", NULL);
		break;
	case RA_ISSUE_BUSY:
		ra_ui_error(r, 503, "busy");
		break;
	default:
		ra_ui_error(r, 500, "internal");
		break;
	}
	OPENSSL_cleanse(&cred, sizeof(cred));
}

const ra_route ra_page_users_routes[] = {
	{ "GET", "/ui/users", h_users, RA_ROLE_AUDITOR, RA_RF_HTML },
	{ "POST", "/ui/users", h_user_add, RA_ROLE_OFFICER, RA_RF_HTML | RA_RF_FORM },
	{ "GET", "/ui/users/{id}", h_user, RA_ROLE_AUDITOR, RA_RF_HTML },
	{ "POST", "/ui/users/{id}/devices", h_device_add, RA_ROLE_OFFICER,
	    RA_RF_HTML | RA_RF_FORM },
	{ "GET", "/ui/devices/{id}", h_device, RA_ROLE_AUDITOR, RA_RF_HTML },
	{ "POST", "/ui/devices/{id}/issue", h_issue, RA_ROLE_OFFICER, RA_RF_HTML | RA_RF_FORM },
};
const size_t ra_page_users_nroutes =
    sizeof(ra_page_users_routes) / sizeof(ra_page_users_routes[0]);
