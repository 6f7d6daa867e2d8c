/* page_bulk: bulk TSV/CSV files for issuing or revoking — upload (a file or pasted text),
 * "abort the whole file" or "valid rows only", a dry run first with every row's errors
 * highlighted, then confirm.  The work is api_bulk.c's ra_bulk_run, shared with the API.
 * The checked file travels to the confirm step inside the form (base64), never stored. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>

#include "api.h"
#include "auth.h"
#include "form.h"
#include "pages.h"

static void radio(ra_html *h, const char *name, const char *value, int checked,
    const char *key)
{
	ra_html_lit(h, "<label class=\"inline\"><input type=\"radio\" name=\"");
	ra_html_text(h, name);
	ra_html_lit(h, "\" value=\"");
	ra_html_text(h, value);
	ra_html_lit(h, "\"");
	if (checked)
		ra_html_lit(h, " checked");
	ra_html_lit(h, "> ");
	ra_html_msg(h, key);
	ra_html_lit(h, "</label>");
}

static void upload_form(ra_page *p, int revoke, int valid)
{
	ra_html *h = &p->h;

	ra_html_lit(h, "<form method=\"post\" action=\"/ui/bulk\" enctype=\"multipart/form-data\" "
	    "class=\"card stack\">");
	ra_page_csrf(p);
	ra_html_lit(h, "<input type=\"hidden\" name=\"step\" value=\"preview\"><fieldset><legend>");
	ra_html_msg(h, "bulk.kind");
	ra_html_lit(h, "</legend>");
	radio(h, "kind", "issue", !revoke, "bulk.kind_issue");
	radio(h, "kind", "revoke", revoke, "bulk.kind_revoke");
	ra_html_lit(h, "</fieldset><fieldset><legend>");
	ra_html_msg(h, "bulk.mode");
	ra_html_lit(h, "</legend>");
	radio(h, "mode", "abort", !valid, "bulk.mode_abort");
	radio(h, "mode", "valid", valid, "bulk.mode_valid");
	ra_html_lit(h, "</fieldset><label>");
	ra_html_msg(h, "bulk.file");
	ra_html_lit(h, " <input type=\"file\" name=\"file\" accept=\".tsv,.csv,.txt,text/csv,"
	    "text/tab-separated-values,text/plain\"></label><label>");
	ra_html_msg(h, "bulk.paste");
	ra_html_lit(h, "<textarea name=\"text\" rows=\"6\" spellcheck=\"false\"></textarea></label>"
	    "<p class=\"aside\">");
	ra_html_msg(h, "bulk.help");
	ra_html_lit(h, "</p><button type=\"submit\" class=\"primary\">");
	ra_html_msg(h, "bulk.check");
	ra_html_lit(h, "</button></form>");
}

/* GET /ui/bulk[?kind=revoke]: the upload form (revoke chosen from the certificate list) */
static void h_bulk_get(ra_req *r)
{
	const char *kind = ra_ui_query(r, "kind", 8);
	ra_page p;

	if (ra_page_begin(&p, r, "bulk.title", NULL) != IK_OK)
		return;
	upload_form(&p, kind != NULL && strcmp(kind, "revoke") == 0, 0);
	ra_page_end(&p, 200);
}

static const char *jstr(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "";
}

/* An error's reason in the page's language: the catalog's "bulkerr.<code>" with its
 * args; the English reason when the code has no message. */
static void error_reason(ra_page *p, json_t *e)
{
	const char *args[RA_BULK_ARGS];
	json_t *ja = json_object_get(e, "args");
	char key[96];
	size_t n = 0;

	snprintf(key, sizeof(key), "bulkerr.%s", jstr(e, "code"));
	if (jstr(e, "code")[0] == '\0' || !ra_i18n_has(p->r->app->i18n, key)) {
		ra_html_text(&p->h, jstr(e, "reason"));
		return;
	}
	for (; n < RA_BULK_ARGS && n < json_array_size(ja); n++) {
		args[n] = json_string_value(json_array_get(ja, n));
		if (args[n] == NULL)
			args[n] = "";
	}
	ra_html_lit(&p->h, "<span title=\"");
	ra_html_text(&p->h, jstr(e, "reason"));
	ra_html_lit(&p->h, "\">");
	ra_html_msgv(&p->h, key, args, n);
	ra_html_lit(&p->h, "</span>");
}

static void errors_table(ra_page *p, json_t *errors)
{
	ra_html *h = &p->h;
	size_t i;
	json_t *e;

	if (json_array_size(errors) == 0)
		return;
	ra_html_lit(h, "<h2>");
	ra_html_msg(h, "bulk.errors");
	ra_html_lit(h, "</h2><table class=\"grid errors\"><thead><tr><th>");
	ra_html_msg(h, "bulk.row");
	ra_html_lit(h, "</th><th>");
	ra_html_msg(h, "bulk.column");
	ra_html_lit(h, "</th><th>");
	ra_html_msg(h, "bulk.reason");
	ra_html_lit(h, "</th></tr></thead><tbody>");
	json_array_foreach(errors, i, e) {
		json_int_t row = json_integer_value(json_object_get(e, "row"));
		ra_html_lit(h, "<tr class=\"bad\"><td>");
		if (row > 0)
			ra_html_int(h, (long long)row);
		else
			ra_html_msg(h, "bulk.whole_file");
		ra_html_lit(h, "</td><td class=\"mono\">");
		ra_html_text(h, json_object_get(e, "header") != NULL ? jstr(e, "header") :
		    jstr(e, "column"));
		ra_html_lit(h, "</td><td>");
		error_reason(p, e);
		ra_html_lit(h, "</td></tr>\n");
	}
	ra_html_lit(h, "</tbody></table>");
}

static void results_table(ra_page *p, json_t *results, int revoke, int credentials)
{
	ra_html *h = &p->h;
	size_t i;
	json_t *e;

	if (json_array_size(results) == 0)
		return;
	ra_html_lit(h, "<h2>");
	ra_html_msg(h, credentials ? "bulk.credentials" : "bulk.rows_ok");
	ra_html_lit(h, "</h2><table class=\"grid results\"><thead><tr><th>");
	ra_html_msg(h, "bulk.row");
	ra_html_lit(h, "</th><th>");
	ra_html_msg(h, revoke ? "cert.serial" : "cert.cn");
	ra_html_lit(h, "</th>");
	if (credentials) {
		ra_html_lit(h, "<th>");
		ra_html_msg(h, "issued.login");
		ra_html_lit(h, "</th><th>");
		ra_html_msg(h, "issued.password");
		ra_html_lit(h, "</th>");
	}
	ra_html_lit(h, "</tr></thead><tbody>");
	json_array_foreach(results, i, e) {
		json_t *d = json_object_get(e, "download");
		ra_html_lit(h, "<tr><td>");
		ra_html_int(h, (long long)json_integer_value(json_object_get(e, "row")));
		ra_html_lit(h, "</td><td><a href=\"/ui/certs/");
		ra_html_int(h, (long long)json_integer_value(json_object_get(e, "certificate_id")));
		ra_html_lit(h, "\">");
		ra_html_text(h, jstr(e, revoke ? "serial" : "common_name"));
		ra_html_lit(h, "</a></td>");
		if (credentials) {
			ra_html_lit(h, "<td class=\"mono\">");
			ra_html_text(h, jstr(d, "login"));
			ra_html_lit(h, "</td><td class=\"mono secret\">");
			ra_html_text(h, jstr(d, "password"));
			ra_html_lit(h, "</td>");
		}
		ra_html_lit(h, "</tr>\n");
	}
	ra_html_lit(h, "</tbody></table>");
}

/* The confirm form: the same file, kind and mode, step=confirm. */
static ik_status confirm_form(ra_page *p, const char *kind, const char *mode,
    const uint8_t *data, size_t len)
{
	ra_html *h = &p->h;
	size_t need;
	char *b64;
	ik_status st;

	if (ik_size_mul(len / 3 + 1, 4, &need) != 0 || ik_size_add(need, 1, &need) != 0 ||
	    (b64 = malloc(need)) == NULL)
		return IK_ERR_NOMEM;
	if ((st = ra_b64_encode(data, len, 1, b64, need)) != IK_OK) {
		free(b64);
		return st;
	}
	ra_html_lit(h, "<form method=\"post\" action=\"/ui/bulk\" class=\"confirm\">");
	ra_page_csrf(p);
	ra_html_lit(h, "<input type=\"hidden\" name=\"step\" value=\"confirm\">"
	    "<input type=\"hidden\" name=\"kind\" value=\"");
	ra_html_text(h, kind);
	ra_html_lit(h, "\"><input type=\"hidden\" name=\"mode\" value=\"");
	ra_html_text(h, mode);
	ra_html_lit(h, "\"><input type=\"hidden\" name=\"data\" value=\"");
	ra_html_text(h, b64);
	ra_html_lit(h, "\"><button type=\"submit\" class=\"primary\">");
	ra_html_msg(h, "bulk.confirm");
	ra_html_lit(h, "</button> <a href=\"/ui/bulk\">");
	ra_html_msg(h, "bulk.cancel");
	ra_html_lit(h, "</a></form>");
	free(b64);
	return IK_OK;
}

/* The file of the form: confirm's base64 "data", else the uploaded file, else the text.
 * *buf is malloc'd when decoded. */
static int form_file(ra_req *r, int confirm, const uint8_t **data, size_t *len, uint8_t **buf)
{
	const char *s;
	size_t n = 0;

	*buf = NULL;
	if (confirm) {
		if ((s = ra_form_bytes(r->form, "data", &n)) == NULL || n == 0 ||
		    (*buf = malloc(n)) == NULL ||
		    ra_b64_decode(s, n, 1, *buf, n, len) != IK_OK)
			return 0;
		*data = *buf;
		return 1;
	}
	if ((s = ra_form_bytes(r->form, "file", &n)) != NULL && n > 0) {
		*data = (const uint8_t *)s;
		*len = n;
		return 1;
	}
	if ((s = ra_form_bytes(r->form, "text", &n)) != NULL && n > 0) {
		*data = (const uint8_t *)s;
		*len = n;
		return 1;
	}
	return 0;
}

static void h_bulk_post(ra_req *r)
{
	const char *kind = ra_form_line(r->form, "kind", 16), *mode = ra_form_line(r->form,
	    "mode", 16), *step = ra_form_line(r->form, "step", 16);
	int confirm = step != NULL && strcmp(step, "confirm") == 0, revoke, valid;
	const uint8_t *data = NULL;
	uint8_t *buf = NULL;
	size_t len = 0;
	ra_bulk_outcome o;
	char nrows[24], napplied[24], nerr[24];
	const char *args[3] = { nrows, napplied, nerr };
	ra_page p;
	ik_status st;

	if (kind == NULL || mode == NULL || step == NULL ||
	    (strcmp(kind, "issue") != 0 && strcmp(kind, "revoke") != 0) ||
	    (strcmp(mode, "abort") != 0 && strcmp(mode, "valid") != 0) ||
	    (!confirm && strcmp(step, "preview") != 0)) {
		ra_ui_error(r, 400, "bad_form");
		return;
	}
	revoke = strcmp(kind, "revoke") == 0;
	valid = strcmp(mode, "valid") == 0;
	if (!form_file(r, confirm, &data, &len, &buf)) {
		free(buf);
		if (ra_page_begin(&p, r, "bulk.title", "/ui/bulk") != IK_OK)
			return;
		ra_page_notice(&p, "error", "bulk.no_file", NULL, 0);
		upload_form(&p, revoke, valid);
		ra_page_end(&p, 400);
		return;
	}
	st = ra_bulk_run(r, revoke ? RA_BULK_REVOKE : RA_BULK_ISSUE, RA_BULK_AUTO, !valid,
	    !confirm, data, len, &o);
	if (st != IK_OK) {
		free(buf);
		ra_page_store_error(r, st);
		return;
	}
	snprintf(nrows, sizeof(nrows), "%zu", o.rows);
	snprintf(napplied, sizeof(napplied), "%zu", o.applied);
	snprintf(nerr, sizeof(nerr), "%zu", json_array_size(o.errors) + o.errors_dropped);
	if (ra_page_begin(&p, r, confirm ? "bulk.result_title" : "bulk.preview_title",
	    "/ui/bulk") != IK_OK)
		goto out;
	if (confirm)
		ra_html_secret(&p.h);       /* download passwords on the page */
	if (o.failed)
		ra_page_notice(&p, "error", confirm ? "bulk.refused" : "bulk.would_refuse", args, 3);
	else if (confirm)
		ra_page_notice(&p, "ok", "bulk.stored", args, 3);
	else
		ra_page_notice(&p, json_array_size(o.errors) > 0 ? "info" : "ok",
		    "bulk.would_store", args, 3);
	errors_table(&p, o.errors);
	results_table(&p, o.results, revoke, confirm && !revoke);
	if (!confirm && !o.failed && o.applied > 0 &&
	    confirm_form(&p, kind, mode, data, len) != IK_OK)
		ra_page_notice(&p, "error", "error.internal", NULL, 0);
	if (confirm || o.failed)
		upload_form(&p, revoke, valid);
	ra_page_end(&p, o.failed ? 422 : 200);
out:
	ra_bulk_outcome_clear(&o);
	free(buf);
}

const ra_route ra_page_bulk_routes[] = {
	{ "GET", "/ui/bulk", h_bulk_get, RA_ROLE_OFFICER, RA_RF_HTML },
	{ "POST", "/ui/bulk", h_bulk_post, RA_ROLE_OFFICER, RA_RF_HTML | RA_RF_FORM },
};
const size_t ra_page_bulk_nroutes = sizeof(ra_page_bulk_routes) / sizeof(ra_page_bulk_routes[0]);
