/* page_certlogin: the administrators' officer pages — /ui/officers (pages, filtered by login)
 * and /ui/officers/{id}, where an officer's login certificates ([ra] cert_login; several) are
 * bound by serial or by the certificate itself (PEM) and unbound one by one, as the API does. */
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

/* ---- GET /ui/officers?q=&page=&limit= ---- */

typedef struct list_params {
	const char *q;        /* login contains; "" = all */
	uint64_t page;        /* 1.. (clamped to the last page) */
	unsigned limit;       /* 1..RA_PAGE_MAX */
	const char *bad;      /* the key of a refused parameter's message, or NULL */
} list_params;

static void list_params_read(ra_req *r, list_params *lp)
{
	const char *pg = ra_req_query(r, "page"), *lim = ra_req_query(r, "limit");
	char *end;

	memset(lp, 0, sizeof(*lp));
	lp->page = 1;
	lp->limit = RA_PAGE_MAX;
	lp->q = ra_ui_query(r, "q", RA_STORE_LOGIN_MAX);
	if (lp->q == NULL && ra_req_query(r, "q") != NULL)
		lp->bad = "officers.bad_filter";
	lp->q = lp->q != NULL ? lp->q : "";
	if (pg != NULL && pg[0] != '\0') {
		unsigned long long v = strtoull(pg, &end, 10);
		if (pg[0] < '1' || pg[0] > '9' || *end != '\0' || strlen(pg) > 9)
			lp->bad = "officers.bad_page";
		else
			lp->page = v;
	}
	if (lim != NULL && lim[0] != '\0') { /* clamped to 1..RA_PAGE_MAX, as the certificates */
		unsigned long v = strtoul(lim, &end, 10);
		if (lim[0] < '0' || lim[0] > '9' || *end != '\0')
			lp->bad = "officers.bad_limit";
		else
			lp->limit = v < 1 ? 1 : v > RA_PAGE_MAX || strlen(lim) > 3 ? RA_PAGE_MAX :
			    (unsigned)v;
	}
}

static void list_href(ra_html *h, const list_params *lp, uint64_t page)
{
	ra_html_lit(h, "<a href=\"/ui/officers?page=");
	ra_html_uint(h, page);
	if (lp->q[0] != '\0') {
		ra_html_lit(h, "&amp;q=");
		ra_html_url(h, lp->q);
	}
	if (lp->limit != RA_PAGE_MAX) {
		ra_html_lit(h, "&amp;limit=");
		ra_html_uint(h, lp->limit);
	}
	ra_html_lit(h, "\"");
}

static void list_filter(ra_html *h, const list_params *lp)
{
	ra_html_lit(h, "<form class=\"search\" method=\"get\" action=\"/ui/officers\"><label>");
	ra_html_msg(h, "officers.filter");
	ra_html_lit(h, " <input name=\"q\" maxlength=\"64\" value=\"");
	ra_html_text(h, lp->q);
	ra_html_lit(h, "\"></label><button type=\"submit\">");
	ra_html_msg(h, "officers.search");
	ra_html_lit(h, "</button></form>");
}

/* "n officers, page x of y" and the links to the first, previous, next and last pages. */
static void list_pages(ra_html *h, const list_params *lp, uint64_t total, uint64_t pages)
{
	char a[24], b[24], c[24];
	const char *args[3] = { a, b, c };

	snprintf(a, sizeof(a), "%llu", (unsigned long long)total);
	snprintf(b, sizeof(b), "%llu", (unsigned long long)lp->page);
	snprintf(c, sizeof(c), "%llu", (unsigned long long)pages);
	ra_html_lit(h, "<p class=\"hint\" id=\"officers-count\">");
	ra_html_msgv(h, "officers.count", args, 3);
	ra_html_lit(h, "</p><nav class=\"pages\">");
	if (lp->page > 1) {
		list_href(h, lp, 1);
		ra_html_lit(h, ">");
		ra_html_msg(h, "pages.first");
		ra_html_lit(h, "</a>");
		list_href(h, lp, lp->page - 1);
		ra_html_lit(h, " rel=\"prev\">");
		ra_html_msg(h, "pages.prev");
		ra_html_lit(h, "</a>");
	}
	if (lp->page < pages) {
		list_href(h, lp, lp->page + 1);
		ra_html_lit(h, " rel=\"next\">");
		ra_html_msg(h, "pages.next");
		ra_html_lit(h, "</a>");
		list_href(h, lp, pages);
		ra_html_lit(h, ">");
		ra_html_msg(h, "officers.last");
		ra_html_lit(h, "</a>");
	}
	ra_html_lit(h, "</nav>");
}

static void list_table(ra_html *h, const ra_officer_summary *rows, size_t n)
{
	ra_html_lit(h, "<table class=\"grid\" id=\"officers\"><thead><tr>");
	th(h, "certlogin.login");
	th(h, "certlogin.role");
	th(h, "certlogin.account");
	th(h, "certlogin.cert");
	ra_html_lit(h, "</tr></thead><tbody>");
	for (size_t i = 0; i < n; i++) {
		ra_html_lit(h, "<tr><td><a href=\"/ui/officers/");
		ra_html_int(h, rows[i].o.id);
		ra_html_lit(h, "\">");
		ra_html_text(h, rows[i].o.login);
		ra_html_lit(h, "</a></td><td>");
		ra_html_msg(h, role_key(rows[i].o.role));
		ra_html_lit(h, "</td><td>");
		officer_state(h, &rows[i].o);
		ra_html_lit(h, "</td><td class=\"mono\">");
		ra_html_text(h, rows[i].ncerts > 0 ? rows[i].serials : "-");
		ra_html_lit(h, "</td></tr>\n");
	}
	ra_html_lit(h, "</tbody></table>");
}

static void h_officers(ra_req *r)
{
	ra_officer_summary *rows = calloc(RA_PAGE_MAX, sizeof(*rows));
	list_params lp;
	size_t n = 0;
	uint64_t total = 0, pages;
	ra_page p;
	ik_status st = IK_OK;

	if (rows == NULL) {
		ra_ui_error(r, 500, "internal");
		return;
	}
	list_params_read(r, &lp);
	if (lp.bad == NULL) {
		st = ra_store_officer_find(r->app->store, lp.q, (lp.page - 1) * lp.limit, rows,
		    lp.limit, &n, &total);
		pages = total == 0 ? 1 : (total + lp.limit - 1) / lp.limit;
		if (st == IK_OK && lp.page > pages) { /* past the end: the last page */
			lp.page = pages;
			st = ra_store_officer_find(r->app->store, lp.q, (lp.page - 1) * lp.limit,
			    rows, lp.limit, &n, &total);
		}
		if (st != IK_OK) {
			ra_page_store_error(r, st);
			goto out;
		}
	}
	if (ra_page_begin(&p, r, "certlogin.officers_title", NULL) != IK_OK)
		goto out;
	if (!r->app->cfg->cert_login)
		ra_page_notice(&p, "info", "certlogin.off", NULL, 0);
	if (lp.bad != NULL) {
		ra_page_notice(&p, "error", lp.bad, NULL, 0);
		lp.q = "";
		list_filter(&p.h, &lp);
		ra_page_end(&p, 400);
		goto out;
	}
	list_filter(&p.h, &lp);
	if (n == 0)
		ra_page_notice(&p, "info", "officers.none_match", NULL, 0);
	else
		list_table(&p.h, rows, n);
	pages = total == 0 ? 1 : (total + lp.limit - 1) / lp.limit;
	list_pages(&p.h, &lp, total, pages);
	ra_page_end(&p, 200);
out:
	free(rows);
}

/* ---- GET /ui/officers/{id} ---- */

/* One bound certificate: serial, CN, not-after, state, fingerprint, bound at, unbind form. */
static void bound_row(ra_page *p, const ra_officer *o, const ra_officer_cert *b,
    const ra_cert *c)
{
	static const char hex[] = "0123456789abcdef";
	char fp[32 * 3];
	ra_html *h = &p->h;

	for (size_t i = 0; i < 32; i++) {
		fp[3 * i] = hex[b->sha256[i] >> 4];
		fp[3 * i + 1] = hex[b->sha256[i] & 15];
		fp[3 * i + 2] = i + 1 < 32 ? ':' : '\0';
	}
	ra_html_lit(h, "<tr><td class=\"mono\">");
	ra_html_text(h, c->serial);
	ra_html_lit(h, "</td><td><a href=\"/ui/certs/");
	ra_html_int(h, c->id);
	ra_html_lit(h, "\">");
	ra_html_text(h, c->cn);
	ra_html_lit(h, "</a></td><td>");
	ra_html_time(h, c->not_after, 1);
	ra_html_lit(h, "</td><td>");
	ra_page_cert_state(p, c->state);
	ra_html_lit(h, "</td><td class=\"mono fp\">");
	ra_html_text(h, fp);
	ra_html_lit(h, "</td><td>");
	ra_html_time(h, b->created, 1);
	ra_html_lit(h, "</td><td><form method=\"post\" action=\"/ui/officers/");
	ra_html_int(h, o->id);
	ra_html_lit(h, "/certificate/delete\">");
	ra_page_csrf(p);
	ra_html_lit(h, "<input type=\"hidden\" name=\"cert\" value=\"");
	ra_html_int(h, c->id);
	ra_html_lit(h, "\"><button type=\"submit\" class=\"danger\" data-confirm=\"");
	ra_html_msg(h, "certlogin.unbind_confirm");
	ra_html_lit(h, "\">");
	ra_html_msg(h, "certlogin.unbind");
	ra_html_lit(h, "</button></form></td></tr>\n");
}

/* The bound certificates, newest first; IK_OK also when there is none. */
static ik_status bound_table(ra_page *p, const ra_officer *o)
{
	ra_officer_cert b[RA_OFFICER_CERTS_MAX];
	ra_cert c;
	size_t n = 0;
	char max[8];
	const char *args[1] = { max };
	ra_html *h = &p->h;
	ik_status st = ra_store_officer_cert_list(p->r->app->store, o->id, b,
	    RA_OFFICER_CERTS_MAX, &n);

	if (st != IK_OK)
		return st;
	if (n == 0) {
		ra_html_lit(h, "<p class=\"empty\" id=\"no-login-cert\">");
		ra_html_msg(h, "certlogin.none");
		ra_html_lit(h, "</p>");
		return IK_OK;
	}
	ra_html_lit(h, "<table class=\"grid\" id=\"login-certs\"><thead><tr>");
	th(h, "cert.serial");
	th(h, "cert.cn");
	th(h, "cert.not_after");
	th(h, "cert.state");
	th(h, "officers.fingerprint");
	th(h, "certlogin.bound_at");
	ra_html_lit(h, "<th></th></tr></thead><tbody>");
	for (size_t i = 0; i < n; i++)
		if (ra_store_cert_get(p->r->app->store, b[i].cert_id, &c) == IK_OK)
			bound_row(p, o, &b[i], &c);
	ra_html_lit(h, "</tbody></table><p class=\"hint\">");
	snprintf(max, sizeof(max), "%u", (unsigned)RA_OFFICER_CERTS_MAX);
	ra_html_msgv(h, "officers.several", args, 1);
	ra_html_lit(h, "</p>");
	return IK_OK;
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
	ra_html_lit(h, "<form method=\"post\" class=\"card stack\" id=\"bind-pem\" "
	    "enctype=\"multipart/form-data\" action=\"/ui/officers/");
	ra_html_int(h, o->id);
	ra_html_lit(h, "/certificate/pem\"><h2>");
	ra_html_msg(h, "officers.pem_title");
	ra_html_lit(h, "</h2>");
	ra_page_csrf(p);
	ra_html_lit(h, "<p class=\"hint\">");
	ra_html_msg(h, "officers.pem_hint");
	ra_html_lit(h, "</p><label>");
	ra_html_msg(h, "officers.pem_file");
	ra_html_lit(h, " <input type=\"file\" name=\"pemfile\" accept=\".pem,.crt,.cer,.der\">"
	    "</label><label>");
	ra_html_msg(h, "officers.pem_text");
	ra_html_lit(h, " <textarea name=\"pem\" class=\"mono\" rows=\"6\" spellcheck=\"false\" "
	    "placeholder=\"-----BEGIN CERTIFICATE-----\"></textarea></label>"
	    "<button type=\"submit\" class=\"primary\">");
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
	ra_page p;
	ra_html *h;
	ik_status st;

	if ((st = ra_store_officer_get(r->app->store, id, &o)) != IK_OK) {
		ra_page_store_error(r, st);
		return;
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
	if ((st = bound_table(&p, &o)) != IK_OK)
		ra_page_notice(&p, "error", "error.internal", NULL, 0);
	if (r->app->cfg->cert_login)
		bind_form(&p, &o, serial);
	ra_html_lit(h, "<p><a href=\"/ui/officers\">");
	ra_html_msg(h, "certlogin.back");
	ra_html_lit(h, "</a></p>");
	ra_page_end(&p, st != IK_OK ? 500 : status);
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

/* A message of the page's language, or fallback. */
static const char *msg(ra_req *r, const char *key, const char *fallback)
{
	const char *m = ra_i18n_get(r->app->i18n, ra_ui_lang(r), key);

	return m != NULL ? m : fallback;
}

/* ra_certlogin_bindable(_pem) said IK_ERR_STATE: the page says why, in its language. */
static void not_bindable(ra_req *r, int64_t id, const ra_certlogin_fit *fit,
    const char *typed)
{
	static const char *const keys[] = {
		[RA_CLW_UNTRUSTED] = "officers.why_untrusted",
		[RA_CLW_EXPIRED] = "officers.why_expired",
		[RA_CLW_NOT_YET_VALID] = "officers.why_not_yet_valid",
		[RA_CLW_PURPOSE] = "officers.why_purpose",
	};
	char key[48];

	if (fit->code == RA_CLW_STATE) {
		/* the state's name in the page's language, as the certificate pages show it */
		snprintf(key, sizeof(key), "state.%s", ra_cert_state_name(fit->state));
		officer_page(r, id, 409, "certlogin.not_active", msg(r, key,
		    ra_cert_state_name(fit->state)), typed);
	} else if (fit->code > RA_CLW_NONE && fit->code < RA_CLW_OTHER) {
		officer_page(r, id, 409, "certlogin.not_bindable", msg(r, keys[fit->code],
		    fit->why), typed);
	} else { /* another verification failure: OpenSSL's own words */
		officer_page(r, id, 409, "officers.why_other", fit->why, typed);
	}
}

/* Binds what ra_certlogin_bindable(_pem) found fit (st its answer) and redirects, or says
 * why not. */
static void bind_fit(ra_req *r, const ra_officer *o, const ra_certlogin_fit *fit,
    ik_status st, const char *typed)
{
	char detail[96], loc[64], max[8];
	ra_officer_cert b;
	ra_hist hh;

	if (st == IK_ERR_STATE) {
		not_bindable(r, o->id, fit, typed);
		return;
	}
	if (st == IK_OK) {
		snprintf(detail, sizeof(detail), "{\"certificate_id\":%lld}", (long long)fit->cert_id);
		hh = ra_api_hist(r, "officer_cert_bound", o->login, detail);
		st = ra_store_officer_cert_bind(r->app->store, o->id, fit->cert_id, fit->sha256, &hh);
	}
	if (st == IK_ERR_STATE) {
		snprintf(max, sizeof(max), "%u", (unsigned)RA_OFFICER_CERTS_MAX);
		officer_page(r, o->id, 409, "officers.too_many", max, typed);
	} else if (st == IK_ERR_EXISTS && ra_store_officer_cert_by_cert(r->app->store,
	    fit->cert_id, &b) == IK_OK && b.officer_id == o->id) {
		officer_page(r, o->id, 409, "officers.already_bound", NULL, typed);
	} else if (st == IK_ERR_EXISTS) {
		officer_page(r, o->id, 409, "certlogin.bound_elsewhere", NULL, typed);
	} else if (st != IK_OK) {
		ra_page_store_error(r, st);
	} else {
		snprintf(loc, sizeof(loc), "/ui/officers/%lld?done=bound", (long long)o->id);
		ra_reply_redirect(r, loc);
	}
}

/* The officer of the path, with cert_login on; 0 after a reply. */
static int bind_officer(ra_req *r, ra_officer *o)
{
	int64_t id;
	ik_status st;

	if (!ra_page_path_id(r, &id))
		return 0;
	if ((st = ra_store_officer_get(r->app->store, id, o)) != IK_OK) {
		ra_page_store_error(r, st);
		return 0;
	}
	if (!r->app->cfg->cert_login) {
		officer_page(r, id, 409, "certlogin.off", NULL, NULL);
		return 0;
	}
	return 1;
}

static void h_bind(ra_req *r)
{
	const char *typed = ra_form_line(r->form, "serial", 128);
	char serial[RA_SERIAL_HEX_MAX + 1];
	ra_certlogin_fit fit;
	ra_officer o;
	ra_cert c;
	ik_status st;

	memset(&o, 0, sizeof(o));
	memset(&fit, 0, sizeof(fit));
	if (!bind_officer(r, &o))
		goto out;
	if (typed == NULL || !serial_norm(typed, serial, sizeof(serial))) {
		officer_page(r, o.id, 400, "certlogin.bad_serial", NULL, typed);
		goto out;
	}
	if ((st = ra_store_cert_by_serial(r->app->store, serial, &c)) == IK_ERR_NOT_FOUND) {
		officer_page(r, o.id, 404, "certlogin.unknown_serial", serial, typed);
		goto out;
	}
	if (st == IK_OK)
		st = ra_certlogin_bindable(r->app, c.id, &fit);
	bind_fit(r, &o, &fit, st, typed);
out:
	OPENSSL_cleanse(&o, sizeof(o));
}

/* ---- POST /ui/officers/{id}/certificate/pem: the certificate itself (file or text) ---- */

static void h_bind_pem(ra_req *r)
{
	size_t flen = 0, tlen = 0;
	const char *file = ra_form_bytes(r->form, "pemfile", &flen),
	    *text = ra_form_bytes(r->form, "pem", &tlen);
	ra_certlogin_fit fit;
	ra_officer o;
	ik_status st;

	memset(&o, 0, sizeof(o));
	if (!bind_officer(r, &o))
		goto out;
	if (file == NULL || flen == 0) { /* no file chosen: the pasted text */
		file = text;
		flen = text != NULL ? tlen : 0;
	} else if (text != NULL && tlen > 0) {
		officer_page(r, o.id, 400, "officers.pem_both", NULL, NULL);
		goto out;
	}
	if (file == NULL || flen == 0) {
		officer_page(r, o.id, 400, "officers.pem_missing", NULL, NULL);
		goto out;
	}
	st = ra_certlogin_bindable_pem(r->app, (const uint8_t *)file, flen, &fit);
	if (st == IK_ERR_ARG)
		officer_page(r, o.id, 400, "officers.pem_bad", NULL, NULL);
	else if (st == IK_ERR_NOT_FOUND)
		officer_page(r, o.id, 404, "officers.pem_unknown", fit.serial, NULL);
	else
		bind_fit(r, &o, &fit, st, NULL);
out:
	OPENSSL_cleanse(&o, sizeof(o));
}

/* ---- POST /ui/officers/{id}/certificate/delete (cert = the certificate's id) ---- */

static void h_unbind(ra_req *r)
{
	int64_t cert = ra_page_form_id(r, "cert");
	char loc[64], detail[64];
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
	if (cert == 0) {
		officer_page(r, id, 400, "officers.bad_cert", NULL, NULL);
		goto out;
	}
	snprintf(detail, sizeof(detail), "{\"certificate_id\":%lld}", (long long)cert);
	hh = ra_api_hist(r, "officer_cert_unbound", o.login, detail);
	st = ra_store_officer_cert_unbind(r->app->store, o.id, cert, &hh);
	if (st == IK_ERR_NOT_FOUND) {
		officer_page(r, id, 404, "officers.not_bound", NULL, NULL);
	} else if (st != IK_OK) {
		ra_page_store_error(r, st);
	} else {
		snprintf(loc, sizeof(loc), "/ui/officers/%lld?done=unbound", (long long)id);
		ra_reply_redirect(r, loc);
	}
out:
	OPENSSL_cleanse(&o, sizeof(o));
}

const ra_route ra_page_certlogin_routes[] = {
	{ "GET", "/ui/officers", h_officers, RA_ROLE_ADMIN, RA_RF_HTML },
	{ "GET", "/ui/officers/{id}", h_officer, RA_ROLE_ADMIN, RA_RF_HTML },
	{ "POST", "/ui/officers/{id}/certificate", h_bind, RA_ROLE_ADMIN,
	    RA_RF_HTML | RA_RF_FORM },
	{ "POST", "/ui/officers/{id}/certificate/pem", h_bind_pem, RA_ROLE_ADMIN,
	    RA_RF_HTML | RA_RF_FORM },
	{ "POST", "/ui/officers/{id}/certificate/delete", h_unbind, RA_ROLE_ADMIN,
	    RA_RF_HTML | RA_RF_FORM },
};
const size_t ra_page_certlogin_nroutes =
    sizeof(ra_page_certlogin_routes) / sizeof(ra_page_certlogin_routes[0]);
