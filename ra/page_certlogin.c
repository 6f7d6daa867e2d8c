/* page_certlogin: the administrators' officer pages — /ui/officers (who may log in, and with
 * which certificate) and /ui/officers/{id}, where an officer's login certificate
 * ([ra] cert_login) is bound by serial or unbound, as /api/v1/officers/{id}/certificate does. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/crypto.h>

#include "api.h"
#include "certlogin.h"
#include "form.h"
#include "pages.h"

static const char *role_key(int role)
{
	return role == RA_ROLE_ADMIN ? "role.administrator" :
	    role == RA_ROLE_OFFICER ? "role.officer" : "role.auditor";
}

static void th(ra_html *h, const char *key)
{
	ra_html_lit(h, "<th>");
	ra_html_msg(h, key);
	ra_html_lit(h, "</th>");
}

/* The officer's account state: disabled, locked or usable. */
static void officer_state(ra_html *h, const ra_officer *o)
{
	ra_html_msg(h, o->disabled ? "certlogin.disabled" :
	    o->locked_until > (int64_t)time(NULL) ? "certlogin.locked" : "certlogin.enabled");
}

/* ---- GET /ui/officers ---- */

static void h_officers(ra_req *r)
{
	ra_officer *rows = calloc(RA_PAGE_MAX, sizeof(*rows));
	size_t n = 0;
	ra_officer_cert b;
	ra_cert c;
	ra_page p;
	ra_html *h;
	ik_status st;

	if (rows == NULL) {
		ra_ui_error(r, 500, "internal");
		return;
	}
	if ((st = ra_store_officer_list(r->app->store, 0, rows, RA_PAGE_MAX, &n)) != IK_OK) {
		ra_page_store_error(r, st);
		goto out;
	}
	if (ra_page_begin(&p, r, "certlogin.officers_title", NULL) != IK_OK)
		goto out;
	h = &p.h;
	if (!r->app->cfg->cert_login)
		ra_page_notice(&p, "info", "certlogin.off", NULL, 0);
	ra_html_lit(h, "<table class=\"grid\" id=\"officers\"><thead><tr>");
	th(h, "certlogin.login");
	th(h, "certlogin.role");
	th(h, "certlogin.account");
	th(h, "certlogin.cert");
	ra_html_lit(h, "</tr></thead><tbody>");
	for (size_t i = 0; i < n; i++) {
		ra_html_lit(h, "<tr><td><a href=\"/ui/officers/");
		ra_html_int(h, rows[i].id);
		ra_html_lit(h, "\">");
		ra_html_text(h, rows[i].login);
		ra_html_lit(h, "</a></td><td>");
		ra_html_msg(h, role_key(rows[i].role));
		ra_html_lit(h, "</td><td>");
		officer_state(h, &rows[i]);
		ra_html_lit(h, "</td><td class=\"mono\">");
		if (ra_store_officer_cert_get(r->app->store, rows[i].id, &b) == IK_OK &&
		    ra_store_cert_get(r->app->store, b.cert_id, &c) == IK_OK)
			ra_html_text(h, c.serial);
		else
			ra_html_lit(h, "-");
		ra_html_lit(h, "</td></tr>\n");
	}
	ra_html_lit(h, "</tbody></table>");
	ra_page_end(&p, 200);
out:
	for (size_t i = 0; i < RA_PAGE_MAX; i++)
		OPENSSL_cleanse(rows[i].password, sizeof(rows[i].password));
	free(rows);
}

/* ---- GET /ui/officers/{id} ---- */

/* The bound certificate (serial, CN, not-after, state, bound at) and its unbind form. */
static void bound_table(ra_page *p, const ra_officer *o, const ra_officer_cert *b,
    const ra_cert *c)
{
	ra_html *h = &p->h;

	ra_html_lit(h, "<table class=\"grid\" id=\"login-certs\"><thead><tr>");
	th(h, "cert.serial");
	th(h, "cert.cn");
	th(h, "cert.not_after");
	th(h, "cert.state");
	th(h, "certlogin.bound_at");
	ra_html_lit(h, "<th></th></tr></thead><tbody><tr><td class=\"mono\">");
	ra_html_text(h, c->serial);
	ra_html_lit(h, "</td><td><a href=\"/ui/certs/");
	ra_html_int(h, c->id);
	ra_html_lit(h, "\">");
	ra_html_text(h, c->cn);
	ra_html_lit(h, "</a></td><td>");
	ra_html_time(h, c->not_after, 1);
	ra_html_lit(h, "</td><td>");
	ra_page_cert_state(p, c->state);
	ra_html_lit(h, "</td><td>");
	ra_html_time(h, b->created, 1);
	ra_html_lit(h, "</td><td><form method=\"post\" action=\"/ui/officers/");
	ra_html_int(h, o->id);
	ra_html_lit(h, "/certificate/delete\">");
	ra_page_csrf(p);
	ra_html_lit(h, "<button type=\"submit\" class=\"danger\" data-confirm=\"");
	ra_html_msg(h, "certlogin.unbind_confirm");
	ra_html_lit(h, "\">");
	ra_html_msg(h, "certlogin.unbind");
	ra_html_lit(h, "</button></form></td></tr></tbody></table>");
}

static void bind_form(ra_page *p, const ra_officer *o, const char *serial)
{
	ra_html *h = &p->h;

	ra_html_lit(h, "<form method=\"post\" class=\"card stack\" id=\"bind\" "
	    "action=\"/ui/officers/");
	ra_html_int(h, o->id);
	ra_html_lit(h, "/certificate\"><h2>");
	ra_html_msg(h, "certlogin.bind_title");
	ra_html_lit(h, "</h2>");
	ra_page_csrf(p);
	ra_html_lit(h, "<p class=\"hint\">");
	ra_html_msg(h, "certlogin.bind_hint");
	ra_html_lit(h, "</p><label>");
	ra_html_msg(h, "cert.serial");
	ra_html_lit(h, " <input name=\"serial\" class=\"mono\" required maxlength=\"128\" "
	    "autocomplete=\"off\" value=\"");
	ra_html_text(h, serial != NULL ? serial : "");
	ra_html_lit(h, "\"></label><button type=\"submit\" class=\"primary\">");
	ra_html_msg(h, "certlogin.bind");
	ra_html_lit(h, "</button></form>");
}

/* The officer's page; err_key (with arg) says why a form was refused, done_key what it did. */
static void officer_page(ra_req *r, int64_t id, unsigned status, const char *err_key,
    const char *arg, const char *serial)
{
	const char *args[1] = { arg != NULL ? arg : "" };
	const char *done = ra_ui_query(r, "done", 16);
	ra_officer o;
	ra_officer_cert b;
	ra_cert c;
	ra_page p;
	ra_html *h;
	ik_status st, bst;

	if ((st = ra_store_officer_get(r->app->store, id, &o)) != IK_OK) {
		ra_page_store_error(r, st);
		return;
	}
	bst = ra_store_officer_cert_get(r->app->store, id, &b);
	if (bst == IK_OK)
		bst = ra_store_cert_get(r->app->store, b.cert_id, &c);
	if (bst != IK_OK && bst != IK_ERR_NOT_FOUND) {
		ra_page_store_error(r, bst);
		goto out;
	}
	if (ra_page_begin(&p, r, "certlogin.officer_title", NULL) != IK_OK)
		goto out;
	h = &p.h;
	if (err_key != NULL)
		ra_page_notice(&p, "error", err_key, args, 1);
	else if (done != NULL && strcmp(done, "bound") == 0)
		ra_page_notice(&p, "ok", "certlogin.done_bound", NULL, 0);
	else if (done != NULL && strcmp(done, "unbound") == 0)
		ra_page_notice(&p, "ok", "certlogin.done_unbound", NULL, 0);
	if (!r->app->cfg->cert_login)
		ra_page_notice(&p, "info", "certlogin.off", NULL, 0);
	ra_html_lit(h, "<dl class=\"facts\"><dt>");
	ra_html_msg(h, "certlogin.login");
	ra_html_lit(h, "</dt><dd id=\"officer-login\">");
	ra_html_text(h, o.login);
	ra_html_lit(h, "</dd><dt>");
	ra_html_msg(h, "certlogin.role");
	ra_html_lit(h, "</dt><dd>");
	ra_html_msg(h, role_key(o.role));
	ra_html_lit(h, "</dd><dt>");
	ra_html_msg(h, "certlogin.account");
	ra_html_lit(h, "</dt><dd>");
	officer_state(h, &o);
	ra_html_lit(h, "</dd></dl><h2>");
	ra_html_msg(h, "certlogin.cert_title");
	ra_html_lit(h, "</h2>");
	if (bst == IK_OK) {
		bound_table(&p, &o, &b, &c);
	} else {
		ra_html_lit(h, "<p class=\"empty\" id=\"no-login-cert\">");
		ra_html_msg(h, "certlogin.none");
		ra_html_lit(h, "</p>");
	}
	if (r->app->cfg->cert_login)
		bind_form(&p, &o, serial);
	ra_html_lit(h, "<p><a href=\"/ui/officers\">");
	ra_html_msg(h, "certlogin.back");
	ra_html_lit(h, "</a></p>");
	ra_page_end(&p, status);
out:
	OPENSSL_cleanse(&o, sizeof(o));
}

static void h_officer(ra_req *r)
{
	int64_t id;

	if (ra_page_path_id(r, &id))
		officer_page(r, id, 200, NULL, NULL, NULL);
}

/* ---- POST /ui/officers/{id}/certificate (bind), .../certificate/delete (unbind) ---- */

/* A serial as typed (hex, with or without "0x", colons or spaces, any case, leading zero
 * bytes) in the store's form: lowercase hex, no leading "00".  0 when it is not one. */
static int serial_norm(const char *in, char *out, size_t outsz)
{
	size_t n = 0, skip = 0;

	if (in[0] == '0' && (in[1] == 'x' || in[1] == 'X'))
		in += 2;
	for (; *in != '\0'; in++) {
		if (*in == ':' || *in == ' ')
			continue;
		if (!isxdigit((unsigned char)*in) || n + 1 >= outsz)
			return 0;
		out[n++] = (char)tolower((unsigned char)*in);
	}
	out[n] = '\0';
	while (skip + 2 < n && out[skip] == '0' && out[skip + 1] == '0')
		skip += 2;
	memmove(out, out + skip, n - skip + 1);
	return n > 0 && n - skip <= RA_SERIAL_HEX_MAX;
}

/* Binding refused by the store or ra_certlogin_bindable: the page says why. */
static void bind_refused(ra_req *r, int64_t id, const ra_cert *c, ik_status st,
    const char *why, const char *typed)
{
	if (st == IK_ERR_STATE && c->state != RA_CERT_ACTIVE) {
		char key[48];
		const char *name;

		/* the state's name in the page's language, as the certificate pages show it */
		snprintf(key, sizeof(key), "state.%s", ra_cert_state_name(c->state));
		name = ra_i18n_get(r->app->i18n, ra_ui_lang(r), key);
		officer_page(r, id, 409, "certlogin.not_active", name != NULL ? name :
		    ra_cert_state_name(c->state), typed);
	} else if (st == IK_ERR_STATE) {
		officer_page(r, id, 409, "certlogin.not_bindable", why, typed);
	} else if (st == IK_ERR_EXISTS) {
		officer_page(r, id, 409, "certlogin.bound_elsewhere", NULL, typed);
	} else {
		ra_page_store_error(r, st);
	}
}

static void h_bind(ra_req *r)
{
	const char *typed = ra_form_line(r->form, "serial", 128);
	char serial[RA_SERIAL_HEX_MAX + 1], why[160] = "", detail[96], loc[64];
	uint8_t sha[32];
	ra_officer o;
	ra_cert c;
	ra_hist hh;
	int64_t id;
	ik_status st;

	memset(&c, 0, sizeof(c));
	if (!ra_page_path_id(r, &id))
		return;
	if ((st = ra_store_officer_get(r->app->store, id, &o)) != IK_OK) {
		ra_page_store_error(r, st);
		return;
	}
	if (!r->app->cfg->cert_login) {
		officer_page(r, id, 409, "certlogin.off", NULL, NULL);
		goto out;
	}
	if (typed == NULL || !serial_norm(typed, serial, sizeof(serial))) {
		officer_page(r, id, 400, "certlogin.bad_serial", NULL, typed);
		goto out;
	}
	if ((st = ra_store_cert_by_serial(r->app->store, serial, &c)) == IK_ERR_NOT_FOUND) {
		officer_page(r, id, 404, "certlogin.unknown_serial", serial, typed);
		goto out;
	}
	if (st == IK_OK)
		st = ra_certlogin_bindable(r->app, c.id, sha, why, sizeof(why));
	if (st == IK_OK) {
		snprintf(detail, sizeof(detail), "{\"certificate_id\":%lld}", (long long)c.id);
		hh = ra_api_hist(r, "officer_cert_bound", o.login, detail);
		st = ra_store_officer_cert_bind(r->app->store, o.id, c.id, sha, &hh);
	}
	if (st != IK_OK) {
		bind_refused(r, id, &c, st, why, typed);
		goto out;
	}
	snprintf(loc, sizeof(loc), "/ui/officers/%lld?done=bound", (long long)id);
	ra_reply_redirect(r, loc);
out:
	OPENSSL_cleanse(&o, sizeof(o));
}

static void h_unbind(ra_req *r)
{
	char loc[64];
	ra_officer o;
	ra_hist hh;
	int64_t id;
	ik_status st;

	if (!ra_page_path_id(r, &id))
		return;
	if ((st = ra_store_officer_get(r->app->store, id, &o)) != IK_OK) {
		ra_page_store_error(r, st);
		return;
	}
	hh = ra_api_hist(r, "officer_cert_unbound", o.login, "");
	st = ra_store_officer_cert_unbind(r->app->store, o.id, &hh);
	if (st == IK_ERR_NOT_FOUND) {
		officer_page(r, id, 404, "certlogin.nothing_bound", NULL, NULL);
	} else if (st != IK_OK) {
		ra_page_store_error(r, st);
	} else {
		snprintf(loc, sizeof(loc), "/ui/officers/%lld?done=unbound", (long long)id);
		ra_reply_redirect(r, loc);
	}
	OPENSSL_cleanse(&o, sizeof(o));
}

const ra_route ra_page_certlogin_routes[] = {
	{ "GET", "/ui/officers", h_officers, RA_ROLE_ADMIN, RA_RF_HTML },
	{ "GET", "/ui/officers/{id}", h_officer, RA_ROLE_ADMIN, RA_RF_HTML },
	{ "POST", "/ui/officers/{id}/certificate", h_bind, RA_ROLE_ADMIN,
	    RA_RF_HTML | RA_RF_FORM },
	{ "POST", "/ui/officers/{id}/certificate/delete", h_unbind, RA_ROLE_ADMIN,
	    RA_RF_HTML | RA_RF_FORM },
};
const size_t ra_page_certlogin_nroutes =
    sizeof(ra_page_certlogin_routes) / sizeof(ra_page_certlogin_routes[0]);
