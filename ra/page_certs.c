/* page_certs: the certificate list (100 a page with keyset next / previous, search by
 * common name, issue-date range, state filter, sortable columns, select all on the page,
 * revoke / suspend / resume the selected) and one certificate with its history. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "form.h"
#include "pages.h"
#include "queue.h"

static const char *const filters[] = { "all", "valid", "expired", "revoked", "suspended" };
static const char *const sorts[] = { "created", "cn", "not_before", "not_after", "serial" };
static const char *const reasons[] = { "unspecified", "keyCompromise", "affiliationChanged",
	"superseded", "cessationOfOperation", "privilegeWithdrawn" };

typedef struct list_params {
	int filter;
	int sort;
	int desc;
	const char *cn;        /* "" = any */
	const char *from;      /* YYYY-MM-DD or "" */
	const char *to;
	unsigned limit;        /* rows a page, 1..RA_PAGE_MAX */
} list_params;

static int pick(const char *s, const char *const *names, size_t n, int def)
{
	for (size_t i = 0; s != NULL && i < n; i++)
		if (strcmp(s, names[i]) == 0)
			return (int)i;
	return def;
}

/* ?... with lp's filters (after /ui/certs or /ui/certs.csv), a sort and order, and
 * optionally a cursor. */
static void list_href(ra_html *h, const list_params *lp, int sort, int desc,
    const char *curname, const char *cur)
{
	ra_html_lit(h, "?filter=");
	ra_html_url(h, filters[lp->filter]);
	ra_html_lit(h, "&amp;sort=");
	ra_html_url(h, sorts[sort]);
	ra_html_lit(h, "&amp;order=");
	ra_html_url(h, desc ? "desc" : "asc");
	if (lp->cn[0] != '\0') {
		ra_html_lit(h, "&amp;cn=");
		ra_html_url(h, lp->cn);
	}
	if (lp->from[0] != '\0') {
		ra_html_lit(h, "&amp;from=");
		ra_html_url(h, lp->from);
	}
	if (lp->to[0] != '\0') {
		ra_html_lit(h, "&amp;to=");
		ra_html_url(h, lp->to);
	}
	if (lp->limit != RA_PAGE_MAX) {
		ra_html_lit(h, "&amp;limit=");
		ra_html_uint(h, lp->limit);
	}
	if (curname != NULL) {
		ra_html_lit(h, "&amp;");
		ra_html_text(h, curname);
		ra_html_lit(h, "=");
		ra_html_url(h, cur);
	}
}

static void search_form(ra_page *p, const list_params *lp)
{
	ra_html *h = &p->h;

	ra_html_lit(h, "<form class=\"search\" method=\"get\" action=\"/ui/certs\">"
	    "<input type=\"hidden\" name=\"sort\" value=\"");
	ra_html_text(h, sorts[lp->sort]);
	ra_html_lit(h, "\"><input type=\"hidden\" name=\"order\" value=\"");
	ra_html_text(h, lp->desc ? "desc" : "asc");
	ra_html_lit(h, "\">");
	if (lp->limit != RA_PAGE_MAX) {
		ra_html_lit(h, "<input type=\"hidden\" name=\"limit\" value=\"");
		ra_html_uint(h, lp->limit);
		ra_html_lit(h, "\">");
	}
	ra_html_lit(h, "<label>");
	ra_html_msg(h, "certs.search_cn");
	ra_html_lit(h, " <input type=\"search\" name=\"cn\" maxlength=\"64\" value=\"");
	ra_html_text(h, lp->cn);
	ra_html_lit(h, "\"></label><label>");
	ra_html_msg(h, "certs.issued_from");
	ra_html_lit(h, " <input type=\"date\" name=\"from\" value=\"");
	ra_html_text(h, lp->from);
	ra_html_lit(h, "\"></label><label>");
	ra_html_msg(h, "certs.issued_to");
	ra_html_lit(h, " <input type=\"date\" name=\"to\" value=\"");
	ra_html_text(h, lp->to);
	ra_html_lit(h, "\"></label><label>");
	ra_html_msg(h, "certs.show");
	ra_html_lit(h, " <select name=\"filter\">");
	for (size_t i = 0; i < sizeof(filters) / sizeof(filters[0]); i++) {
		char key[32];
		snprintf(key, sizeof(key), "filter.%s", filters[i]);
		ra_html_lit(h, "<option value=\"");
		ra_html_text(h, filters[i]);
		ra_html_lit(h, "\"");
		if ((int)i == lp->filter)
			ra_html_lit(h, " selected");
		ra_html_lit(h, ">");
		ra_html_msg(h, key);
		ra_html_lit(h, "</option>");
	}
	ra_html_lit(h, "</select></label><button type=\"submit\">");
	ra_html_msg(h, "certs.search");
	ra_html_lit(h, "</button></form>\n");
}

static void sort_head(ra_page *p, const list_params *lp, int select)
{
	static const struct {
		const char *key;
		int sort;     /* -1: not sortable */
	} cols[] = {
		{ "cert.cn", RA_CERT_SORT_CN }, { "cert.state", -1 },
		{ "cert.serial", RA_CERT_SORT_SERIAL }, { "cert.not_before", RA_CERT_SORT_NOT_BEFORE },
		{ "cert.not_after", RA_CERT_SORT_NOT_AFTER }, { "cert.device", -1 },
	};
	ra_html *h = &p->h;

	ra_html_lit(h, "<thead><tr>");
	if (select) {
		ra_html_lit(h, "<th><input type=\"checkbox\" id=\"pick-all\" title=\"");
		ra_html_msg(h, "certs.select_all");
		ra_html_lit(h, "\" aria-label=\"");
		ra_html_msg(h, "certs.select_all");
		ra_html_lit(h, "\"></th>");
	}
	for (size_t i = 0; i < sizeof(cols) / sizeof(cols[0]); i++) {
		int here = cols[i].sort == lp->sort;
		ra_html_lit(h, "<th");
		if (here && lp->desc)
			ra_html_lit(h, " aria-sort=\"descending\"");
		else if (here)
			ra_html_lit(h, " aria-sort=\"ascending\"");
		ra_html_lit(h, ">");
		if (cols[i].sort < 0) {
			ra_html_msg(h, cols[i].key);
		} else {
			ra_html_lit(h, "<a class=\"sort\" href=\"");
			ra_html_lit(h, "/ui/certs");
			list_href(h, lp, cols[i].sort, here ? !lp->desc : 0, NULL, NULL);
			ra_html_lit(h, "\">");
			ra_html_msg(h, cols[i].key);
			if (here && lp->desc)
				ra_html_lit(h, " ▼");
			else if (here)
				ra_html_lit(h, " ▲");
			ra_html_lit(h, "</a>");
		}
		ra_html_lit(h, "</th>");
	}
	ra_html_lit(h, "</tr></thead>\n");
}

static void actions(ra_page *p)
{
	ra_html *h = &p->h;

	ra_html_lit(h, "<div class=\"actions\"><label>");
	ra_html_msg(h, "certs.reason");
	ra_html_lit(h, " <select name=\"reason\">");
	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++) {
		char key[48];
		snprintf(key, sizeof(key), "reason.%s", reasons[i]);
		ra_html_lit(h, "<option value=\"");
		ra_html_text(h, reasons[i]);
		ra_html_lit(h, "\">");
		ra_html_msg(h, key);
		ra_html_lit(h, "</option>");
	}
	ra_html_lit(h, "</select></label> <button type=\"submit\" name=\"action\" value=\"revoke\" "
	    "class=\"danger\" data-confirm=\"");
	ra_html_msg(h, "certs.confirm_revoke");
	ra_html_lit(h, "\">");
	ra_html_msg(h, "certs.revoke_selected");
	ra_html_lit(h, "</button> <button type=\"submit\" name=\"action\" value=\"suspend\">");
	ra_html_msg(h, "certs.suspend_selected");
	ra_html_lit(h, "</button> <button type=\"submit\" name=\"action\" value=\"resume\">");
	ra_html_msg(h, "certs.resume_selected");
	ra_html_lit(h, "</button></div>\n");
}

static void done_notice(ra_page *p)
{
	const char *done = ra_ui_query(p->r, "done", 16), *ok = ra_ui_query(p->r, "ok", 8),
	    *skipped = ra_ui_query(p->r, "skipped", 8);
	const char *args[2] = { ok != NULL ? ok : "0", skipped != NULL ? skipped : "0" };

	if (done == NULL)
		return;
	if (strcmp(done, "revoke") == 0)
		ra_page_notice(p, "ok", "certs.done_revoke", args, 2);
	else if (strcmp(done, "suspend") == 0)
		ra_page_notice(p, "ok", "certs.done_suspend", args, 2);
	else if (strcmp(done, "resume") == 0)
		ra_page_notice(p, "ok", "certs.done_resume", args, 2);
	else if (strcmp(done, "none") == 0)
		ra_page_notice(p, "info", "certs.done_none", NULL, 0);
}

/* The list's filters from the query into lp and q (no cursor); 0 for a malformed date
 * (then ignored). */
static int list_read(ra_req *r, list_params *lp, ra_cert_query *q, int backward)
{
	int ok = 1;

	memset(lp, 0, sizeof(*lp));
	lp->filter = pick(ra_req_query(r, "filter"), filters, 5, RA_CERT_FILTER_ALL);
	lp->sort = pick(ra_req_query(r, "sort"), sorts, 5, RA_CERT_SORT_CREATED);
	lp->desc = ra_req_query(r, "order") == NULL ||
	    strcmp(ra_req_query(r, "order"), "asc") != 0;
	lp->cn = ra_ui_query(r, "cn", 64);
	lp->from = ra_ui_query(r, "from", 10);
	lp->to = ra_ui_query(r, "to", 10);
	lp->limit = RA_PAGE_MAX;
	if (ra_ui_query(r, "limit", 3) != NULL) {
		unsigned long v = strtoul(ra_req_query(r, "limit"), NULL, 10);
		lp->limit = v >= 1 && v <= RA_PAGE_MAX ? (unsigned)v : RA_PAGE_MAX;
	}
	lp->cn = lp->cn != NULL ? lp->cn : "";
	lp->from = lp->from != NULL ? lp->from : "";
	lp->to = lp->to != NULL ? lp->to : "";
	memset(q, 0, sizeof(*q));
	q->filter = (ra_cert_filter)lp->filter;
	q->sort = (ra_cert_sort)lp->sort;
	q->descending = backward ? !lp->desc : lp->desc;
	q->cn_contains = lp->cn;
	q->issued_from = ra_ui_parse_date(lp->from, 0);
	q->issued_to = ra_ui_parse_date(lp->to, 1);     /* the whole "to" day */
	if (q->issued_from < 0 || q->issued_to < 0) {
		ok = 0;
		q->issued_from = q->issued_to = 0;
		lp->from = lp->to = "";
	}
	return ok;
}

/* GET /ui/certs.csv?<the list's filters>: every matching row, not only one page */
static void h_list_csv(ra_req *r)
{
	list_params lp;
	ra_cert_query q;

	if (!list_read(r, &lp, &q, 0)) {
		ra_ui_error(r, 400, "bad_form");
		return;
	}
	ra_cert_csv_reply(r, &q, "certificates.csv");
}

static void h_list(ra_req *r)
{
	list_params lp;
	ra_cert_query q;
	ra_cert *rows = NULL;
	const char *cursor = ra_ui_query(r, "cursor", RA_CURSOR_MAX - 1),
	    *prev = ra_ui_query(r, "prev", RA_CURSOR_MAX - 1);
	char next[RA_CURSOR_MAX] = "", cur[RA_CURSOR_MAX];
	int backward = prev != NULL && prev[0] != '\0', bad_date = 0, officer;
	uint64_t total = 0;
	size_t n = 0;
	ra_page p;
	ra_html *h;
	ik_status st;

	bad_date = !list_read(r, &lp, &q, backward);
	q.cursor = backward ? prev : cursor;
	q.limit = lp.limit;
	if ((rows = calloc(RA_PAGE_MAX, sizeof(*rows))) == NULL) {
		ra_ui_error(r, 500, "internal");
		return;
	}
	st = ra_store_cert_page(r->app->store, &q, rows, &n, next, &total);
	if (st == IK_ERR_ARG) {
		free(rows);
		ra_ui_error(r, 400, "bad_cursor");
		return;
	}
	if (st != IK_OK) {
		free(rows);
		ra_page_store_error(r, st);
		return;
	}
	if (backward)          /* fetched in the other order: show them the right way round */
		for (size_t i = 0; i < n / 2; i++) {
			ra_cert t = rows[i];
			rows[i] = rows[n - 1 - i];
			rows[n - 1 - i] = t;
		}
	if (ra_page_begin(&p, r, "certs.title", NULL) != IK_OK) {
		free(rows);
		return;
	}
	h = &p.h;
	officer = r->who.role >= RA_ROLE_OFFICER;
	done_notice(&p);
	if (bad_date)
		ra_page_notice(&p, "error", "certs.bad_date", NULL, 0);
	search_form(&p, &lp);
	{
		char t[24];
		const char *args[1] = { t };
		int more = ra_cert_count_capped(&q, total); /* a search counts up to the cap */
		snprintf(t, sizeof(t), "%llu", more ? (unsigned long long)RA_CERT_COUNT_CAP :
		    (unsigned long long)total);
		ra_html_lit(h, "<p class=\"total\">");
		ra_html_msgv(h, more ? "certs.total_more" : "certs.total", args, 1);
		if (ra_cert_cn_is_prefix(lp.cn)) {
			ra_html_lit(h, " ");
			ra_html_msg(h, "certs.cn_prefix");
		}
		ra_html_lit(h, "</p><p class=\"exports\"><a id=\"export-csv\" class=\"button\" "
		    "download href=\"/ui/certs.csv");
		list_href(h, &lp, lp.sort, lp.desc, NULL, NULL);
		ra_html_lit(h, "\">");
		ra_html_msg(h, "certs.export_csv");
		ra_html_lit(h, "</a>");
		if (r->who.role >= RA_ROLE_OFFICER) {
			ra_html_lit(h, " <a id=\"bulk-revoke\" href=\"/ui/bulk?kind=revoke\">");
			ra_html_msg(h, "certs.bulk_revoke");
			ra_html_lit(h, "</a>");
		}
		ra_html_lit(h, "</p>");
	}
	if (officer) {
		ra_html_lit(h, "<form method=\"post\" action=\"/ui/certs/change\" class=\"picks\">");
		ra_page_csrf(&p);
		ra_html_lit(h, "<input type=\"hidden\" name=\"back\" value=\"");
		ra_html_lit(h, "/ui/certs");
		list_href(h, &lp, lp.sort, lp.desc, NULL, NULL);
		ra_html_lit(h, "\">");
		actions(&p);
	}
	ra_html_lit(h, "<table class=\"grid certs\">");
	sort_head(&p, &lp, officer);
	ra_html_lit(h, "<tbody>");
	for (size_t i = 0; i < n; i++)
		ra_page_cert_row(&p, &rows[i], officer);
	ra_html_lit(h, "</tbody></table>");
	if (n == 0) {
		ra_html_lit(h, "<p class=\"empty\">");
		ra_html_msg(h, "certs.none");
		ra_html_lit(h, "</p>");
	}
	if (officer)
		ra_html_lit(h, "</form>");
	ra_html_lit(h, "<nav class=\"pages\">");
	/* previous: a backward page with more before it, or any forward page after a cursor */
	if (n > 0 && (backward ? next[0] != '\0' : cursor != NULL && cursor[0] != '\0')) {
		ra_store_cert_cursor(&rows[0], q.sort, !lp.desc, cur);
		ra_html_lit(h, "<a rel=\"prev\" href=\"");
		ra_html_lit(h, "/ui/certs");
		list_href(h, &lp, lp.sort, lp.desc, "prev", cur);
		ra_html_lit(h, "\">");
		ra_html_msg(h, "pages.prev");
		ra_html_lit(h, "</a>");
	}
	if (n > 0 && (backward || next[0] != '\0')) {
		ra_store_cert_cursor(&rows[n - 1], q.sort, lp.desc, cur);
		ra_html_lit(h, "<a rel=\"next\" href=\"");
		ra_html_lit(h, "/ui/certs");
		list_href(h, &lp, lp.sort, lp.desc, "cursor", cur);
		ra_html_lit(h, "\">");
		ra_html_msg(h, "pages.next");
		ra_html_lit(h, "</a>");
	}
	ra_html_lit(h, "</nav>");
	free(rows);
	ra_page_end(&p, 200);
}

/* POST /ui/certs/change: id (several), action revoke|suspend|resume, reason, back */
static void h_change(ra_req *r)
{
	const char *action = ra_form_line(r->form, "action", 16);
	const char *reason = ra_form_line(r->form, "reason", 32);
	const char *back = ra_form_line(r->form, "back", RA_UI_BACK_MAX);
	size_t nid = ra_form_count(r->form, "id"), ok = 0, skipped = 0;
	char loc[RA_UI_BACK_MAX + 96];
	ra_request_kind kind;

	if (action != NULL && strcmp(action, "revoke") == 0)
		kind = RA_REQ_REVOKE;
	else if (action != NULL && strcmp(action, "suspend") == 0)
		kind = RA_REQ_SUSPEND;
	else if (action != NULL && strcmp(action, "resume") == 0)
		kind = RA_REQ_RESUME;
	else {
		ra_ui_error(r, 400, "bad_form");
		return;
	}
	if (kind == RA_REQ_REVOKE) {
		int code;
		if (reason == NULL || !ra_revoke_reason_parse(reason, &code)) {
			ra_ui_error(r, 400, "bad_form");
			return;
		}
	}
	if (nid > RA_PAGE_MAX) {
		ra_ui_error(r, 400, "bad_form");
		return;
	}
	for (size_t i = 0; i < nid; i++) {
		const char *s = ra_form_str_at(r->form, "id", i);
		char *end;
		long long id;
		ra_cert c;
		ra_request req;
		ra_change_outcome o;
		if (s == NULL || s[0] < '1' || s[0] > '9' || (id = strtoll(s, &end, 10)) <= 0 ||
		    *end != '\0') {
			ra_ui_error(r, 400, "bad_form");
			return;
		}
		o = ra_cert_change(r, (int64_t)id, kind, reason, &c, &req);
		if (o == RA_CHANGE_OK)
			ok++;
		else if (o == RA_CHANGE_STATE || o == RA_CHANGE_NOT_FOUND)
			skipped++;
		else {
			ra_ui_error(r, 500, "internal");
			return;
		}
	}
	if (ok > 0)
		ra_queue_kick(r->app->queue);
	if (!ra_ui_local_path(back) || strncmp(back, "/ui/", 4) != 0)
		back = "/ui/certs";
	if (nid == 0)
		snprintf(loc, sizeof(loc), "%s%sdone=none", back, strchr(back, '?') ? "&" : "?");
	else
		snprintf(loc, sizeof(loc), "%s%sdone=%s&ok=%zu&skipped=%zu", back,
		    strchr(back, '?') ? "&" : "?", action, ok, skipped);
	ra_reply_redirect(r, loc);
}

static void field(ra_html *h, const char *key)
{
	ra_html_lit(h, "<dt>");
	ra_html_msg(h, key);
	ra_html_lit(h, "</dt><dd>");
}

/* GET /ui/certs/{id} */
static void h_show(ra_req *r)
{
	ra_cert c;
	ra_history_query hq;
	ra_history_entry *hist = NULL;
	size_t n = 0;
	int64_t id;
	char target[48];
	ra_page p;
	ra_html *h;
	ik_status st;

	if (!ra_page_path_id(r, &id))
		return;
	if ((st = ra_store_cert_get(r->app->store, id, &c)) != IK_OK) {
		ra_page_store_error(r, st);
		return;
	}
	memset(&hq, 0, sizeof(hq));
	snprintf(target, sizeof(target), "certificate:%lld", (long long)id);
	hq.text = c.serial[0] != '\0' ? c.serial : target;
	if ((st = ra_store_history_list(r->app->store, &hq, &hist, RA_PAGE_MAX, &n)) != IK_OK) {
		ra_page_store_error(r, st);
		return;
	}
	if (ra_page_begin(&p, r, "cert.title", NULL) != IK_OK) {
		ra_history_entries_free(hist, n);
		return;
	}
	h = &p.h;
	done_notice(&p);
	ra_html_lit(h, "<dl class=\"facts\">");
	field(h, "cert.cn");
	ra_html_text(h, c.cn);
	ra_html_lit(h, "</dd>");
	field(h, "cert.state");
	ra_page_cert_state(&p, c.state);
	ra_html_lit(h, "</dd>");
	field(h, "cert.serial");
	ra_html_text(h, c.serial[0] != '\0' ? c.serial : "-");
	ra_html_lit(h, "</dd>");
	field(h, "cert.not_before");
	ra_html_time(h, c.not_before, 1);
	ra_html_lit(h, "</dd>");
	field(h, "cert.not_after");
	ra_html_time(h, c.not_after, 1);
	ra_html_lit(h, "</dd>");
	field(h, "cert.validity_days");
	ra_html_uint(h, c.validity_days);
	ra_html_lit(h, "</dd>");
	field(h, "cert.device");
	if (c.device_id != 0) {
		ra_html_lit(h, "<a href=\"/ui/devices/");
		ra_html_int(h, c.device_id);
		ra_html_lit(h, "\">#");
		ra_html_int(h, c.device_id);
		ra_html_lit(h, "</a>");
	} else {
		ra_html_lit(h, "-");
	}
	ra_html_lit(h, "</dd></dl>");
	if (c.serial[0] != '\0') {
		ra_html_lit(h, "<p><a href=\"/api/v1/certificates/");
		ra_html_int(h, c.id);
		ra_html_lit(h, "/pem\">");
		ra_html_msg(h, "cert.pem");
		ra_html_lit(h, "</a></p>");
	}
	if (r->who.role >= RA_ROLE_OFFICER && (c.state == RA_CERT_ACTIVE ||
	    c.state == RA_CERT_SUSPENDED)) {
		ra_html_lit(h, "<form method=\"post\" action=\"/ui/certs/change\" class=\"card\">");
		ra_page_csrf(&p);
		ra_html_lit(h, "<input type=\"hidden\" name=\"id\" value=\"");
		ra_html_int(h, c.id);
		ra_html_lit(h, "\"><input type=\"hidden\" name=\"back\" value=\"/ui/certs/");
		ra_html_int(h, c.id);
		ra_html_lit(h, "\">");
		actions(&p);
		ra_html_lit(h, "</form>");
	}
	ra_html_lit(h, "<h2>");
	ra_html_msg(h, "cert.history");
	ra_html_lit(h, "</h2>");
	ra_page_history_table(&p, hist, n);
	ra_history_entries_free(hist, n);
	ra_page_end(&p, 200);
}

const ra_route ra_page_certs_routes[] = {
	{ "GET", "/ui/certs", h_list, RA_ROLE_AUDITOR, RA_RF_HTML },
	{ "GET", "/ui/certs.csv", h_list_csv, RA_ROLE_AUDITOR, RA_RF_HTML },
	{ "POST", "/ui/certs/change", h_change, RA_ROLE_OFFICER, RA_RF_HTML | RA_RF_FORM },
	{ "GET", "/ui/certs/{id}", h_show, RA_ROLE_AUDITOR, RA_RF_HTML },
};
const size_t ra_page_certs_nroutes =
    sizeof(ra_page_certs_routes) / sizeof(ra_page_certs_routes[0]);
