/* page_common: pieces several pages show — certificate rows and state badges, history
 * tables, store failures as error pages. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "form.h"
#include "pages.h"

void ra_page_cert_state(ra_page *p, ra_cert_state st)
{
	char key[48];

	snprintf(key, sizeof(key), "state.%s", ra_cert_state_name(st));
	ra_html_lit(&p->h, "<span class=\"badge s-");
	ra_html_text(&p->h, ra_cert_state_name(st));
	ra_html_lit(&p->h, "\">");
	ra_html_msg(&p->h, key);
	ra_html_lit(&p->h, "</span>");
}

void ra_page_cert_head(ra_page *p, int select)
{
	static const char *const cols[] = { "cert.cn", "cert.state", "cert.serial",
		"cert.not_before", "cert.not_after", "cert.device" };
	ra_html *h = &p->h;

	ra_html_lit(h, "<thead><tr>");
	if (select)
		ra_html_lit(h, "<th></th>");
	for (size_t i = 0; i < sizeof(cols) / sizeof(cols[0]); i++) {
		ra_html_lit(h, "<th>");
		ra_html_msg(h, cols[i]);
		ra_html_lit(h, "</th>");
	}
	ra_html_lit(h, "</tr></thead>\n");
}

void ra_page_cert_row(ra_page *p, const ra_cert *c, int select)
{
	ra_html *h = &p->h;

	ra_html_lit(h, "<tr>");
	if (select) {
		ra_html_lit(h, "<td><input type=\"checkbox\" name=\"id\" class=\"pick\" value=\"");
		ra_html_int(h, c->id);
		ra_html_lit(h, "\" aria-label=\"");
		ra_html_text(h, c->cn);
		ra_html_lit(h, "\"></td>");
	}
	ra_html_lit(h, "<td class=\"cn\"><a href=\"/ui/certs/");
	ra_html_int(h, c->id);
	ra_html_lit(h, "\">");
	ra_html_text(h, c->cn);
	ra_html_lit(h, "</a></td><td>");
	ra_page_cert_state(p, c->state);
	ra_html_lit(h, "</td><td class=\"mono\">");
	ra_html_text(h, c->serial[0] != '\0' ? c->serial : "-");
	ra_html_lit(h, "</td><td>");
	ra_html_time(h, c->not_before, 0);
	ra_html_lit(h, "</td><td>");
	ra_html_time(h, c->not_after, 0);
	ra_html_lit(h, "</td><td>");
	if (c->device_id != 0) {
		ra_html_lit(h, "<a href=\"/ui/devices/");
		ra_html_int(h, c->device_id);
		ra_html_lit(h, "\">#");
		ra_html_int(h, c->device_id);
		ra_html_lit(h, "</a>");
	} else {
		ra_html_lit(h, "-");
	}
	ra_html_lit(h, "</td></tr>\n");
}

void ra_page_history_table(ra_page *p, const ra_history_entry *rows, size_t n)
{
	static const char *const cols[] = { "hist.at", "hist.actor", "hist.ip", "hist.op",
		"hist.target", "hist.detail" };
	ra_html *h = &p->h;

	if (n == 0) {
		ra_html_lit(h, "<p class=\"empty\">");
		ra_html_msg(h, "hist.none");
		ra_html_lit(h, "</p>");
		return;
	}
	ra_html_lit(h, "<table class=\"grid history\"><thead><tr>");
	for (size_t i = 0; i < sizeof(cols) / sizeof(cols[0]); i++) {
		ra_html_lit(h, "<th>");
		ra_html_msg(h, cols[i]);
		ra_html_lit(h, "</th>");
	}
	ra_html_lit(h, "</tr></thead><tbody>\n");
	for (size_t i = 0; i < n; i++) {
		char key[96];
		ra_html_lit(h, "<tr><td>");
		ra_html_time(h, rows[i].at, 1);
		ra_html_lit(h, "</td><td>");
		ra_html_text(h, rows[i].actor);
		ra_html_lit(h, "</td><td class=\"mono\">");
		ra_html_text(h, rows[i].ip);
		ra_html_lit(h, "</td><td><span title=\"");
		ra_html_text(h, rows[i].op);
		ra_html_lit(h, "\">");
		snprintf(key, sizeof(key), "op.%s", rows[i].op);
		ra_html_text(h, ra_i18n_has(p->r->app->i18n, key) ?
		    ra_i18n_get(p->r->app->i18n, p->lang, key) : rows[i].op);
		ra_html_lit(h, "</span></td><td class=\"mono\">");
		ra_html_text(h, rows[i].target);
		ra_html_lit(h, "</td><td class=\"mono detail\">");
		ra_html_text(h, rows[i].detail);
		ra_html_lit(h, "</td></tr>\n");
	}
	ra_html_lit(h, "</tbody></table>\n");
}

void ra_page_store_error(ra_req *r, ik_status st)
{
	ra_ui_error(r, st == IK_ERR_NOT_FOUND ? 404 : st == IK_ERR_BUSY ? 503 : 500,
	    st == IK_ERR_NOT_FOUND ? "not_found" : st == IK_ERR_BUSY ? "busy" : "internal");
}

static int64_t positive(const char *s)
{
	char *end;
	long long v;

	if (s == NULL || s[0] < '1' || s[0] > '9')
		return 0;
	errno = 0;
	v = strtoll(s, &end, 10);
	return *end == '\0' && errno == 0 && v > 0 ? (int64_t)v : 0;
}

int ra_page_path_id(ra_req *r, int64_t *id)
{
	if ((*id = positive(r->id)) == 0) {
		ra_ui_error(r, 400, "bad_id");
		return 0;
	}
	return 1;
}

int64_t ra_page_form_id(const ra_req *r, const char *name)
{
	return positive(ra_form_line(r->form, name, 20));
}
