/* page_dash: the officers' dashboard — the renewal-window banner while it is open,
 * contracted / issued / still issuable, certificates by state, the request queue, the
 * running batch's live progress and batches whose ZIP waits, and certificates that expire
 * within the renewal window. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "pages.h"
#include "renewal.h"

#define EXPIRING_MAX 20
#define WAITING_MAX 8             /* recent batches looked at for the batch card */

static void counter(ra_html *h, const char *key, uint64_t v, int unlimited, const char *cls)
{
	ra_html_lit(h, "<div class=\"counter ");
	ra_html_text(h, cls);
	ra_html_lit(h, "\"><span class=\"label\">");
	ra_html_msg(h, key);
	ra_html_lit(h, "</span><span class=\"value\">");
	if (unlimited)
		ra_html_msg(h, "dash.unlimited");
	else
		ra_html_uint(h, v);
	ra_html_lit(h, "</span></div>");
}

/* The running batch's live progress bar, and finished batches whose ZIP is still to be
 * downloaded; returns 1 when a batch runs. */
static int batches(ra_page *p)
{
	ra_batch_summary rows[WAITING_MAX];
	ra_html *h = &p->h;
	size_t n = 0, shown = 0;
	int running = 0;

	if (ra_store_batch_recent(p->r->app->store, rows, WAITING_MAX, &n) != IK_OK)
		n = 0;
	ra_html_lit(h, "<section class=\"card\" id=\"dash-batches\"><h2>");
	ra_html_msg(h, "dash.batch");
	ra_html_lit(h, "</h2>");
	for (size_t i = 0; i < n; i++) {
		const ra_batch_summary *b = &rows[i];
		int waiting = b->b.state != RA_BATCH_RUNNING && b->planned > 0 && b->downloaded == 0;
		if (b->b.state != RA_BATCH_RUNNING && !waiting)
			continue;
		if (waiting && shown++ == 0) {
			ra_html_lit(h, "<h3>");
			ra_html_msg(h, "dash.batches_waiting");
			ra_html_lit(h, "</h3>");
		}
		running |= b->b.state == RA_BATCH_RUNNING;
		ra_html_lit(h, "<p><a href=\"/ui/batches/");
		ra_html_int(h, b->b.id);
		ra_html_lit(h, "\">#");
		ra_html_int(h, b->b.id);
		ra_html_lit(h, "</a> ");
		ra_page_batch_state(p, b->b.state);
		ra_html_lit(h, " ");
		ra_page_batch_live(p, &b->b, b->planned);
		ra_html_lit(h, "</p>");
	}
	if (!running) {
		ra_html_lit(h, "<p class=\"empty\">");
		ra_html_msg(h, "dash.batches_none");
		ra_html_lit(h, "</p>");
	}
	ra_html_lit(h, "</section>");
	return running;
}

/* The renewal-window banner while the administrators' window is open. */
static void renewal_banner(ra_page *p)
{
	ra_renewal_window w;
	char a[16], b[16];
	const char *args[2] = { a, b };

	if (ra_renewal_window_get(p->r->app->store, (int64_t)time(NULL), &w) != IK_OK ||
	    !w.set || !w.open)
		return;
	ra_renewal_date(w.start, w.offset_min, a);
	ra_renewal_date(w.end - 86400, w.offset_min, b);   /* the last day, included */
	if (p->lang == RA_LANG_JA)
		for (size_t i = 0; i < sizeof(a) && a[i] != '\0'; i++) {
			a[i] = a[i] == '-' ? '/' : a[i];
			b[i] = b[i] == '-' ? '/' : b[i];
		}
	ra_html_lit(&p->h, "<p class=\"notice info\" id=\"renewal-banner\" role=\"status\">");
	ra_html_msgv(&p->h, "dash.renewal_open", args, 2);
	ra_html_lit(&p->h, "</p>\n");
}

static ik_status expiring(ra_page *p)
{
	ra_html *h = &p->h;
	ra_cert *rows = calloc(RA_PAGE_MAX, sizeof(*rows));
	ra_cert_query q;
	char next[RA_CURSOR_MAX];
	int64_t days = 30, now = (int64_t)time(NULL), limit;
	size_t n = 0, shown = 0;
	ik_status st;

	if (rows == NULL)
		return IK_ERR_NOMEM;
	if ((st = ra_store_setting_get_int(p->r->app->store, "renewal_window_days", 30, &days))
	    != IK_OK || days <= 0)
		days = 30;
	limit = now + days * 86400;
	memset(&q, 0, sizeof(q));
	q.filter = RA_CERT_FILTER_VALID;
	q.sort = RA_CERT_SORT_NOT_AFTER;
	q.limit = EXPIRING_MAX;
	if ((st = ra_store_cert_list(p->r->app->store, &q, rows, &n, next)) != IK_OK)
		goto out;
	ra_html_lit(h, "<section class=\"card\"><h2>");
	{
		char d[24];
		const char *args[1] = { d };
		snprintf(d, sizeof(d), "%lld", (long long)days);
		ra_html_msgv(h, "dash.expiring", args, 1);
	}
	ra_html_lit(h, "</h2>");
	for (size_t i = 0; i < n; i++) {
		if (rows[i].not_after > limit)
			break;
		if (shown++ == 0) {
			ra_html_lit(h, "<table class=\"grid\">");
			ra_page_cert_head(p, 0);
			ra_html_lit(h, "<tbody>");
		}
		ra_page_cert_row(p, &rows[i], 0);
	}
	if (shown > 0)
		ra_html_lit(h, "</tbody></table>");
	else {
		ra_html_lit(h, "<p class=\"empty\">");
		ra_html_msg(h, "dash.expiring_none");
		ra_html_lit(h, "</p>");
	}
	ra_html_lit(h, "</section>");
out:
	free(rows);
	return st;
}

static void h_dash(ra_req *r)
{
	ra_counters k;
	ra_page p;
	ra_html *h;
	ik_status st;
	int running;
	static const ra_cert_state shown[] = { RA_CERT_ACTIVE, RA_CERT_AWAITING_DOWNLOAD,
		RA_CERT_ISSUING, RA_CERT_SUSPENDED, RA_CERT_REVOKED, RA_CERT_EXPIRED };

	if ((st = ra_counters_get(r, &k)) != IK_OK) {
		ra_page_store_error(r, st);
		return;
	}
	if (ra_page_begin(&p, r, "dash.title", NULL) != IK_OK)
		return;
	h = &p.h;
	renewal_banner(&p);
	ra_html_lit(h, "<section class=\"counters\">");
	counter(h, "dash.contracted", k.quota, k.quota == 0, "big");
	counter(h, "dash.issued", k.issued, 0, "big");
	counter(h, "dash.issuable", k.issuable, k.quota == 0, "big");
	ra_html_lit(h, "</section>\n<section class=\"counters small\">");
	for (size_t i = 0; i < sizeof(shown) / sizeof(shown[0]); i++) {
		char key[48];
		snprintf(key, sizeof(key), "state.%s", ra_cert_state_name(shown[i]));
		counter(h, key, k.certs.by_state[shown[i]], 0, ra_cert_state_name(shown[i]));
	}
	counter(h, "dash.queue_pending", k.requests[RA_REQ_PENDING] + k.requests[RA_REQ_SENT],
	    0, k.requests[RA_REQ_PENDING] > 0 ? "warn" : "");
	counter(h, "dash.queue_failed", k.requests[RA_REQ_FAILED], 0,
	    k.requests[RA_REQ_FAILED] > 0 ? "bad" : "");
	ra_html_lit(h, "</section>\n");
	running = batches(&p);
	if ((st = expiring(&p)) != IK_OK)
		ra_page_notice(&p, "error", "error.internal", NULL, 0);
	ra_page_batch_script(&p, running);
	ra_page_end(&p, 200);
}

const ra_route ra_page_dash_routes[] = {
	{ "GET", "/ui", h_dash, RA_ROLE_AUDITOR, RA_RF_HTML },
};
const size_t ra_page_dash_nroutes = sizeof(ra_page_dash_routes) / sizeof(ra_page_dash_routes[0]);
