/* page_history: the operation history — date range, operation and free-text filters,
 * pages of 100 (newest first), CSV export of the same filters, and the hash-chain check. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pages.h"

typedef struct hist_params {
	const char *from, *to, *op, *q;
	int64_t from_t, to_t;
} hist_params;

static void filters_href(ra_html *h, const char *base, const hist_params *hp, int epoch)
{
	ra_html_text(h, base);
	ra_html_lit(h, "?order=desc");
	if (hp->from_t > 0) {
		ra_html_lit(h, "&amp;from=");
		if (epoch)
			ra_html_int(h, hp->from_t);
		else
			ra_html_url(h, hp->from);
	}
	if (hp->to_t > 0) {
		ra_html_lit(h, "&amp;to=");
		if (epoch)
			ra_html_int(h, hp->to_t);
		else
			ra_html_url(h, hp->to);
	}
	if (hp->op[0] != '\0') {
		ra_html_lit(h, "&amp;op=");
		ra_html_url(h, hp->op);
	}
	if (hp->q[0] != '\0') {
		ra_html_lit(h, "&amp;q=");
		ra_html_url(h, hp->q);
	}
}

static void filter_form(ra_page *p, const hist_params *hp)
{
	static const char *const ops[] = { "login_ok", "login_failed", "login_refused", "logout",
		"user_add", "device_add", "issue_reserved", "download_credential", "download",
		"download_failed", "download_refused", "revoke_requested", "suspend_requested",
		"resume_requested", "setting_change" };
	ra_html *h = &p->h;

	ra_html_lit(h, "<form class=\"search\" method=\"get\" action=\"/ui/history\"><label>");
	ra_html_msg(h, "hist.from");
	ra_html_lit(h, " <input type=\"date\" name=\"from\" value=\"");
	ra_html_text(h, hp->from);
	ra_html_lit(h, "\"></label><label>");
	ra_html_msg(h, "hist.to");
	ra_html_lit(h, " <input type=\"date\" name=\"to\" value=\"");
	ra_html_text(h, hp->to);
	ra_html_lit(h, "\"></label><label>");
	ra_html_msg(h, "hist.op");
	ra_html_lit(h, " <select name=\"op\"><option value=\"\">");
	ra_html_msg(h, "hist.op_any");
	ra_html_lit(h, "</option>");
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		char key[64];
		snprintf(key, sizeof(key), "op.%s", ops[i]);
		ra_html_lit(h, "<option value=\"");
		ra_html_text(h, ops[i]);
		ra_html_lit(h, "\"");
		if (strcmp(hp->op, ops[i]) == 0)
			ra_html_lit(h, " selected");
		ra_html_lit(h, ">");
		ra_html_msg(h, key);
		ra_html_lit(h, "</option>");
	}
	ra_html_lit(h, "</select></label><label>");
	ra_html_msg(h, "hist.text");
	ra_html_lit(h, " <input type=\"search\" name=\"q\" maxlength=\"128\" value=\"");
	ra_html_text(h, hp->q);
	ra_html_lit(h, "\"></label><button type=\"submit\">");
	ra_html_msg(h, "certs.search");
	ra_html_lit(h, "</button></form>\n");
}

static void chain_status(ra_page *p)
{
	char bad[512] = "";
	const char *args[1] = { bad };
	ik_status st = ra_history_verify(p->r->app->store, bad, sizeof(bad));

	if (st == IK_OK)
		ra_page_notice(p, "ok", "hist.chain_ok", NULL, 0);
	else if (st == IK_ERR_STATE)
		ra_page_notice(p, "error", "hist.chain_broken", args, 1);
	else
		ra_page_notice(p, "error", "error.internal", NULL, 0);
}

static int64_t id_query(const ra_req *r, const char *name)
{
	const char *s = ra_ui_query(r, name, 20);
	long long v;

	if (s == NULL || s[0] < '1' || s[0] > '9')
		return 0;
	v = strtoll(s, NULL, 10);
	return v > 0 ? (int64_t)v : 0;
}

static void h_history(ra_req *r)
{
	hist_params hp;
	ra_history_query q;
	ra_history_entry *rows = NULL;
	int64_t before = id_query(r, "before"), after = id_query(r, "after");
	size_t n = 0;
	int bad_date = 0;
	ra_page p;
	ra_html *h;
	ik_status st;

	memset(&hp, 0, sizeof(hp));
	hp.from = ra_ui_query(r, "from", 10);
	hp.to = ra_ui_query(r, "to", 10);
	hp.op = ra_ui_query(r, "op", 64);
	hp.q = ra_ui_query(r, "q", 128);
	hp.from = hp.from != NULL ? hp.from : "";
	hp.to = hp.to != NULL ? hp.to : "";
	hp.op = hp.op != NULL ? hp.op : "";
	hp.q = hp.q != NULL ? hp.q : "";
	hp.from_t = ra_ui_parse_date(hp.from, 0);
	hp.to_t = ra_ui_parse_date(hp.to, 1);
	if (hp.from_t < 0 || hp.to_t < 0) {
		bad_date = 1;
		hp.from_t = hp.to_t = 0;
		hp.from = hp.to = "";
	}
	memset(&q, 0, sizeof(q));
	q.from = hp.from_t;
	q.to = hp.to_t;
	q.op = hp.op;
	q.text = hp.q[0] != '\0' ? hp.q : NULL;
	/* newest first; "after" (newer page) is read oldest first and turned round */
	q.descending = after == 0;
	q.before_id = before;
	q.after_id = after;
	if ((st = ra_store_history_list(r->app->store, &q, &rows, RA_PAGE_MAX, &n)) != IK_OK) {
		ra_page_store_error(r, st);
		return;
	}
	if (after != 0)
		for (size_t i = 0; i < n / 2; i++) {
			ra_history_entry t = rows[i];
			rows[i] = rows[n - 1 - i];
			rows[n - 1 - i] = t;
		}
	if (ra_page_begin(&p, r, "hist.title", NULL) != IK_OK) {
		ra_history_entries_free(rows, n);
		return;
	}
	h = &p.h;
	if (bad_date)
		ra_page_notice(&p, "error", "certs.bad_date", NULL, 0);
	if (ra_ui_query(r, "verify", 1) != NULL)
		chain_status(&p);
	filter_form(&p, &hp);
	ra_html_lit(h, "<p class=\"tools\"><a class=\"button\" href=\"");
	filters_href(h, "/api/v1/history.csv", &hp, 1);
	ra_html_lit(h, "\" download>");
	ra_html_msg(h, "hist.csv");
	ra_html_lit(h, "</a> <a class=\"button\" href=\"");
	filters_href(h, "/ui/history", &hp, 0);
	ra_html_lit(h, "&amp;verify=1\">");
	ra_html_msg(h, "hist.verify");
	ra_html_lit(h, "</a></p>");
	ra_page_history_table(&p, rows, n);
	ra_html_lit(h, "<nav class=\"pages\">");
	if (n > 0 && (before != 0 || (after != 0 && n == RA_PAGE_MAX))) {
		ra_html_lit(h, "<a rel=\"prev\" href=\"");
		filters_href(h, "/ui/history", &hp, 0);
		ra_html_lit(h, "&amp;after=");
		ra_html_int(h, rows[0].id);
		ra_html_lit(h, "\">");
		ra_html_msg(h, "pages.newer");
		ra_html_lit(h, "</a>");
	}
	if (n > 0 && (after != 0 || n == RA_PAGE_MAX)) {
		ra_html_lit(h, "<a rel=\"next\" href=\"");
		filters_href(h, "/ui/history", &hp, 0);
		ra_html_lit(h, "&amp;before=");
		ra_html_int(h, rows[n - 1].id);
		ra_html_lit(h, "\">");
		ra_html_msg(h, "pages.older");
		ra_html_lit(h, "</a>");
	}
	ra_html_lit(h, "</nav>");
	ra_history_entries_free(rows, n);
	ra_page_end(&p, 200);
}

const ra_route ra_page_history_routes[] = {
	{ "GET", "/ui/history", h_history, RA_ROLE_AUDITOR, RA_RF_HTML },
};
const size_t ra_page_history_nroutes =
    sizeof(ra_page_history_routes) / sizeof(ra_page_history_routes[0]);
