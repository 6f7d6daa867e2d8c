/* page_batches: "issue N more" for officers — /ui/batches (the form with the remaining quota,
 * the running batch, recent batches), /ui/batches/{id} (progress, abort, the one ZIP
 * download and who took it), and /static/batches.js, which moves the progress bars without
 * a reload.  The work is batch_start.c / batch_download.c, as for the JSON API. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/crypto.h>

#include "api.h"
#include "batch.h"
#include "embed.h"
#include "form.h"
#include "log.h"
#include "p12.h"
#include "pages.h"

#define RECENT_MAX 20
#define REFRESH_SECONDS "5"

/* What the start form had (shown again after a refusal); never the passphrase. */
typedef struct start_form {
	char count[12], days[12], pattern[RA_CN_PATTERN_MAX], format[16], key_type[16];
} start_form;

/* A refusal as a page message: key and up to three arguments. */
typedef struct page_msg {
	const char *key;
	char a[3][32];
	const char *args[3];
	size_t nargs;
	char kbuf[48];
} page_msg;

static void msg_nums(page_msg *m, const char *key, const uint64_t *n, size_t k)
{
	m->key = key;
	m->nargs = k;
	for (size_t i = 0; i < k; i++) {
		snprintf(m->a[i], sizeof(m->a[i]), "%llu", (unsigned long long)n[i]);
		m->args[i] = m->a[i];
	}
}

static void msg_of(const ra_batch_refusal *why, page_msg *m)
{
	static const char *const fields[] = { "count", "validity_days", "cn_pattern", "format",
		"key_type" };
	const char *c = why->code;

	memset(m, 0, sizeof(*m));
	m->key = "error.internal";
	if (strcmp(c, "batch_running") == 0)
		msg_nums(m, "batches.err.running", why->n, 3);
	else if (strcmp(c, "quota_exceeded") == 0)
		msg_nums(m, "batches.err.quota", why->n, 3);
	else if (strcmp(c, "pattern_exhausted") == 0)
		msg_nums(m, "batches.err.pattern_full", why->n, 3);
	else if (strcmp(c, "state") == 0)
		m->key = "batches.err.race";
	else if (strcmp(c, "batch_downloaded") == 0)
		m->key = "batches.err.downloaded";
	else if (strcmp(c, "bad_passphrase") == 0)
		m->key = "batches.err.passphrase";
	else if (strcmp(c, "not_keyed") == 0)
		m->key = "batches.err.not_keyed";
	else if (strcmp(c, "ca_unavailable") == 0)
		m->key = "batches.err.ca_unavailable";
	else if (strcmp(c, "password_policy") == 0) {
		/* "passphrase: password-too-short: ..." -> pw.password-too-short */
		const char *s = strchr(why->message, ' ');
		static const char *const rules[] = { "password-too-short", "password-too-long",
			"password-charset", "password-classes", "password-identity" };
		m->key = "batches.err.passphrase_policy";
		for (size_t i = 0; s != NULL && i < sizeof(rules) / sizeof(rules[0]); i++)
			if (strncmp(s + 1, rules[i], strlen(rules[i])) == 0) {
				snprintf(m->kbuf, sizeof(m->kbuf), "pw.%s", rules[i]);
				m->key = m->kbuf;
			}
	} else if (strcmp(c, "bad_field") == 0 && why->field != NULL) {
		static const char *const keys[] = { "batches.err.count", "batches.err.days",
			"batches.err.pattern", "batches.err.format", "batches.err.key_type" };
		for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
			if (strcmp(why->field, fields[i]) == 0)
				m->key = keys[i];
	}
}

/* ---- the live progress block (also on the dashboard) ---- */

void ra_page_batch_live(ra_page *p, const ra_batch *b, uint64_t planned)
{
	ra_html *h = &p->h;
	uint64_t total = planned > 0 ? planned : b->total, settled = b->done + b->failed;
	uint64_t pct = total > 0 ? (settled >= total ? 100 : settled * 100 / total) : 0;

	ra_html_lit(h, "<div class=\"batch-live\" data-batch=\"");
	ra_html_int(h, b->id);
	ra_html_lit(h, "\" data-state=\"");
	ra_html_text(h, ra_batch_state_name(b->state));
	ra_html_lit(h, "\"><progress class=\"batch-bar\" max=\"");
	ra_html_uint(h, total > 0 ? total : 1);
	ra_html_lit(h, "\" value=\"");
	ra_html_uint(h, settled);
	ra_html_lit(h, "\"></progress> <span class=\"batch-count\">");
	ra_html_uint(h, settled);
	ra_html_lit(h, " / ");
	ra_html_uint(h, total);
	ra_html_lit(h, "</span> <span class=\"batch-pct\">");
	ra_html_uint(h, pct);
	ra_html_lit(h, " %</span>");
	if (b->failed > 0) {
		char f[24];
		const char *args[1] = { f };
		snprintf(f, sizeof(f), "%llu", (unsigned long long)b->failed);
		ra_html_lit(h, " <span class=\"batch-failed\">");
		ra_html_msgv(h, "batches.failed_n", args, 1);
		ra_html_lit(h, "</span>");
	}
	ra_html_lit(h, "</div>");
}

void ra_page_batch_state(ra_page *p, ra_batch_state st)
{
	char key[48];

	snprintf(key, sizeof(key), "batches.state.%s", ra_batch_state_name(st));
	ra_html_lit(&p->h, "<span class=\"badge ");
	ra_html_text(&p->h, st == RA_BATCH_RUNNING ? "s-issuing" : st == RA_BATCH_FINISHED ?
	    "s-active" : "s-failed");
	ra_html_lit(&p->h, "\">");
	ra_html_msg(&p->h, key);
	ra_html_lit(&p->h, "</span>");
}

/* The script that polls /api/v1/batches/{id}; pages work without it (meta refresh). */
void ra_page_batch_script(ra_page *p, int running)
{
	ra_html_lit(&p->h, "<script src=\"/static/batches.js\" defer></script>");
	if (running)
		ra_html_lit(&p->h, "<noscript><meta http-equiv=\"refresh\" content=\""
		    REFRESH_SECONDS "\"></noscript>");
}

/* ---- /ui/batches ---- */

static void option(ra_html *h, const char *value, const char *key, const char *chosen)
{
	ra_html_lit(h, "<option value=\"");
	ra_html_text(h, value);
	ra_html_lit(h, "\"");
	if (strcmp(value, chosen) == 0)
		ra_html_lit(h, " selected");
	ra_html_lit(h, ">");
	ra_html_msg(h, key);
	ra_html_lit(h, "</option>");
}

static void quota_line(ra_page *p, uint64_t quota, uint64_t used)
{
	char a[24], b[24];
	const char *args[2] = { a, b };

	snprintf(a, sizeof(a), "%llu", (unsigned long long)(quota > used ? quota - used : 0));
	snprintf(b, sizeof(b), "%llu", (unsigned long long)quota);
	ra_html_lit(&p->h, "<p class=\"aside\" id=\"remaining\" data-remaining=\"");
	ra_html_text(&p->h, quota > 0 ? a : "");
	ra_html_lit(&p->h, "\">");
	if (quota > 0)
		ra_html_msgv(&p->h, "batches.remaining", args, 2);
	else
		ra_html_msg(&p->h, "batches.unlimited");
	ra_html_lit(&p->h, "</p>");
}

static void start_fields(ra_html *h, const start_form *f, uint64_t max)
{
	ra_html_lit(h, "<label>");
	ra_html_msg(h, "batches.count");
	ra_html_lit(h, " <input name=\"count\" id=\"count\" type=\"number\" min=\"1\" max=\"");
	ra_html_uint(h, max);
	ra_html_lit(h, "\" required value=\"");
	ra_html_text(h, f->count);
	ra_html_lit(h, "\"></label><label>");
	ra_html_msg(h, "batches.days");
	ra_html_lit(h, " <input name=\"days\" type=\"number\" min=\"1\" max=\"1095\" value=\"");
	ra_html_text(h, f->days);
	ra_html_lit(h, "\"></label><label>");
	ra_html_msg(h, "batches.pattern");
	ra_html_lit(h, " <input name=\"cn_pattern\" class=\"mono\" maxlength=\"63\" value=\"");
	ra_html_text(h, f->pattern);
	ra_html_lit(h, "\"></label><label>");
	ra_html_msg(h, "batches.format");
	ra_html_lit(h, " <select name=\"format\">");
	option(h, "modern", "batches.format_modern", f->format);
	option(h, "compatible", "batches.format_compatible", f->format);
	ra_html_lit(h, "</select></label><label>");
	ra_html_msg(h, "batches.key_type");
	ra_html_lit(h, " <select name=\"key_type\">");
	option(h, "ec-p256", "batches.kt_ec_p256", f->key_type);
	option(h, "ec-p384", "batches.kt_ec_p384", f->key_type);
	option(h, "rsa-2048", "batches.kt_rsa_2048", f->key_type);
	option(h, "rsa-3072", "batches.kt_rsa_3072", f->key_type);
	ra_html_lit(h, "</select></label><label>");
	ra_html_msg(h, "batches.passphrase");
	ra_html_lit(h, " <input name=\"passphrase\" id=\"passphrase\" type=\"password\" "
	    "autocomplete=\"new-password\" required maxlength=\"128\"></label><label>");
	ra_html_msg(h, "batches.passphrase2");
	ra_html_lit(h, " <input name=\"passphrase2\" id=\"passphrase2\" type=\"password\" "
	    "autocomplete=\"new-password\" required maxlength=\"128\"></label><p class=\"aside\">");
	{
		ra_pw_policy pol;
		char a[3][16];
		const char *args[3] = { a[0], a[1], a[2] };
		ra_pw_policy_default(&pol);
		snprintf(a[0], sizeof(a[0]), "%u", pol.min_len);
		snprintf(a[1], sizeof(a[1]), "%u", pol.max_len);
		snprintf(a[2], sizeof(a[2]), "%u", pol.min_classes);
		ra_html_msgv(h, "batches.passphrase_help", args, 3);
	}
	ra_html_lit(h, "</p>");
}

static void start_form_html(ra_page *p, const start_form *f, uint64_t quota, uint64_t used,
    int running)
{
	ra_html *h = &p->h;
	uint64_t left = quota > used ? quota - used : 0;
	uint64_t max = quota > 0 && left < RA_BATCH_PLANNED_MAX ? left : RA_BATCH_PLANNED_MAX;

	ra_html_lit(h, "<form method=\"post\" action=\"/ui/batches\" class=\"card stack\" "
	    "id=\"start\"><h2>");
	ra_html_msg(h, "batches.start_title");
	ra_html_lit(h, "</h2>");
	ra_page_csrf(p);
	quota_line(p, quota, used);
	ra_html_lit(h, "<p class=\"aside\">");
	{
		const char *args[1] = { p->r->app->cfg->profile };
		ra_html_msgv(h, "batches.profile", args, 1);
	}
	ra_html_lit(h, "</p>");
	start_fields(h, f, max > 0 ? max : 1);
	ra_html_lit(h, "<button type=\"submit\" class=\"primary\"");
	if (running || (quota > 0 && left == 0))
		ra_html_lit(h, " disabled");
	ra_html_lit(h, ">");
	ra_html_msg(h, "batches.start");
	ra_html_lit(h, "</button></form>");
}

static void recent_table(ra_page *p, const ra_batch_summary *rows, size_t n)
{
	static const char *const cols[] = { "batches.col_id", "batches.col_state",
		"batches.col_progress", "batches.col_created", "batches.col_by",
		"batches.col_pattern", "batches.col_download" };
	ra_html *h = &p->h;

	ra_html_lit(h, "<table class=\"grid\" id=\"recent\"><thead><tr>");
	for (size_t i = 0; i < sizeof(cols) / sizeof(cols[0]); i++) {
		ra_html_lit(h, "<th>");
		ra_html_msg(h, cols[i]);
		ra_html_lit(h, "</th>");
	}
	ra_html_lit(h, "</tr></thead><tbody>");
	for (size_t i = 0; i < n; i++) {
		const ra_batch_summary *s = &rows[i];
		ra_html_lit(h, "<tr><td><a href=\"/ui/batches/");
		ra_html_int(h, s->b.id);
		ra_html_lit(h, "\">#");
		ra_html_int(h, s->b.id);
		ra_html_lit(h, "</a></td><td>");
		ra_page_batch_state(p, s->b.state);
		ra_html_lit(h, "</td><td>");
		ra_page_batch_live(p, &s->b, s->planned);
		ra_html_lit(h, "</td><td>");
		ra_html_time(h, s->b.created, 1);
		ra_html_lit(h, "</td><td>");
		ra_html_text(h, s->b.created_by);
		ra_html_lit(h, "</td><td class=\"mono\">");
		ra_html_text(h, s->b.cn_pattern);
		ra_html_lit(h, "</td><td>");
		if (s->planned == 0)
			ra_html_lit(h, "-");
		else if (s->downloaded != 0)
			ra_html_time(h, s->downloaded, 1);
		else
			ra_html_msg(h, s->b.state == RA_BATCH_RUNNING ? "batches.dl_later" :
			    "batches.dl_waiting");
		ra_html_lit(h, "</td></tr>\n");
	}
	ra_html_lit(h, "</tbody></table>");
}

static void list_page(ra_req *r, unsigned status, const page_msg *err, const start_form *f0)
{
	ra_batch_summary *rows = calloc(RECENT_MAX, sizeof(*rows));
	start_form f = { .count = "", .days = "365", .format = "modern", .key_type = "ec-p256" };
	uint64_t quota = 0, used = 0;
	ra_batch_info run;
	size_t n = 0;
	int running = 0;
	ra_page p;
	ik_status st;

	if (rows == NULL) {
		ra_ui_error(r, 500, "internal");
		return;
	}
	if ((st = ra_batch_quota(r->app->store, &quota, &used)) != IK_OK ||
	    (st = ra_store_batch_recent(r->app->store, rows, RECENT_MAX, &n)) != IK_OK ||
	    ((st = ra_store_batch_running_info(r->app->store, &run)) != IK_OK &&
	    st != IK_ERR_NOT_FOUND)) {
		ra_page_store_error(r, st);
		goto out;
	}
	running = st == IK_OK;
	if (f0 != NULL)
		f = *f0;
	else
		snprintf(f.pattern, sizeof(f.pattern), "%s", r->app->cfg->batch_cn_pattern);
	if (ra_page_begin(&p, r, "batches.title", "/ui/batches") != IK_OK)
		goto out;
	if (err != NULL)
		ra_page_notice(&p, "error", err->key, err->args, err->nargs);
	if (running && (err == NULL || strcmp(err->key, "batches.err.running") != 0)) {
		page_msg m;
		uint64_t v[3] = { (uint64_t)run.b.id, run.b.done + run.b.failed,
		    run.planned > run.b.total ? run.planned : run.b.total };
		msg_nums(&m, "batches.running_now", v, 3);
		ra_html_lit(&p.h, "<p class=\"notice info\" id=\"running\" role=\"status\">");
		ra_html_msgv(&p.h, m.key, m.args, m.nargs);
		ra_html_lit(&p.h, " <a href=\"/ui/batches/");
		ra_html_int(&p.h, run.b.id);
		ra_html_lit(&p.h, "\">");
		ra_html_msg(&p.h, "batches.watch");
		ra_html_lit(&p.h, "</a></p>");
	}
	if (r->who.role >= RA_ROLE_OFFICER)
		start_form_html(&p, &f, quota, used, running);
	else
		quota_line(&p, quota, used);
	ra_html_lit(&p.h, "<h2>");
	ra_html_msg(&p.h, "batches.recent");
	ra_html_lit(&p.h, "</h2>");
	if (n == 0) {
		ra_html_lit(&p.h, "<p class=\"empty\">");
		ra_html_msg(&p.h, "batches.none");
		ra_html_lit(&p.h, "</p>");
	} else {
		recent_table(&p, rows, n);
	}
	ra_page_batch_script(&p, running);
	ra_page_end(&p, status);
out:
	free(rows);
}

/* GET /ui/batches */
static void h_list(ra_req *r)
{
	list_page(r, 200, NULL, NULL);
}

/* A positive number of at most max from the form; 0 when absent or malformed. */
static uint64_t form_uint(const ra_req *r, const char *name, const char *def, uint64_t max,
    char *copy, size_t copysz)
{
	const char *s = ra_form_line(r->form, name, 10);
	char *end;
	unsigned long long v;

	if (s == NULL || s[0] == '\0')
		s = def;
	snprintf(copy, copysz, "%s", s != NULL ? s : "");
	if (s == NULL || s[0] < '0' || s[0] > '9')
		return 0;
	v = strtoull(s, &end, 10);
	return *end == '\0' && v <= max ? v : 0;
}

static void refused(ra_req *r, const ra_batch_refusal *why, const start_form *f)
{
	page_msg m;

	if (strcmp(why->code, "store") == 0) {
		ra_page_store_error(r, why->st);
		return;
	}
	msg_of(why, &m);
	list_page(r, why->status, &m, f);
}

/* POST /ui/batches: start a batch; its progress page next */
static void h_start(ra_req *r)
{
	const char *pass = ra_form_str(r->form, "passphrase");
	const char *pass2 = ra_form_str(r->form, "passphrase2");
	const char *pat = ra_form_line(r->form, "cn_pattern", RA_CN_PATTERN_MAX - 1);
	const char *fmt = ra_form_line(r->form, "format", 15);
	const char *kt = ra_form_line(r->form, "key_type", 15);
	ra_batch_start_in in = { 0 };
	ra_batch_started out;
	ra_batch_refusal why;
	start_form f;
	char loc[48];

	memset(&f, 0, sizeof(f));
	in.count = form_uint(r, "count", NULL, RA_BATCH_PLANNED_MAX, f.count, sizeof(f.count));
	in.validity_days = form_uint(r, "days", "365", RA_BATCH_MAX_DAYS, f.days, sizeof(f.days));
	snprintf(f.pattern, sizeof(f.pattern), "%s", pat != NULL ? pat : "");
	snprintf(f.format, sizeof(f.format), "%s", fmt != NULL ? fmt : "modern");
	snprintf(f.key_type, sizeof(f.key_type), "%s", kt != NULL ? kt : "ec-p256");
	in.cn_pattern = pat != NULL && pat[0] != '\0' ? pat : NULL;
	in.format = f.format;
	in.key_type = f.key_type;
	in.passphrase = pass;
	if (pass != NULL && strlen(pass) > RA_BATCH_PASSPHRASE_MAX)
		in.passphrase = NULL;
	if (in.passphrase != NULL && (pass2 == NULL || strlen(pass) != strlen(pass2) ||
	    CRYPTO_memcmp(pass, pass2, strlen(pass)) != 0)) {
		page_msg m = { .key = "batches.err.mismatch" };
		list_page(r, 400, &m, &f);
		return;
	}
	if (ra_batch_start(r, &in, &out, &why) != IK_OK) {
		refused(r, &why, &f);
		return;
	}
	snprintf(loc, sizeof(loc), "/ui/batches/%lld", (long long)out.id);
	ra_reply_redirect(r, loc);
}

/* ---- /ui/batches/{id} ---- */

/* Who took the ZIP: the batch_download entry of the history. */
static void downloaded_by(ra_page *p, int64_t id, int64_t at)
{
	ra_history_query q = { .op = "batch_download", .descending = 1 };
	ra_history_entry *rows = NULL;
	ra_html t;
	char target[32];
	const char *who = "?";
	size_t n = 0;

	snprintf(target, sizeof(target), "batch:%lld", (long long)id);
	q.text = target;
	if (ra_store_history_list(p->r->app->store, &q, &rows, 50, &n) == IK_OK)
		for (size_t i = 0; i < n; i++)
			if (strcmp(rows[i].target, target) == 0) {
				who = rows[i].actor;
				break;
			}
	/* the date as text first: it is one of the message's arguments */
	ra_html_init(&t, p->r->app->i18n, p->lang);
	ra_html_time(&t, at, 1);
	if (t.st == IK_OK && ik_buf_put_u8(&t.b, 0) == IK_OK) {
		const char *args[2] = { who, (const char *)ik_buf_ptr(&t.b) };
		ra_html_lit(&p->h, "<p class=\"notice info\" id=\"gone\" role=\"status\">");
		ra_html_msgv(&p->h, "batches.gone", args, 2);
		ra_html_lit(&p->h, "</p>");
	}
	ra_html_cleanup(&t);
	ra_history_entries_free(rows, n);
}

static void fact_text(ra_html *h, const char *key, const char *v)
{
	ra_html_lit(h, "<dt>");
	ra_html_msg(h, key);
	ra_html_lit(h, "</dt><dd>");
	ra_html_text(h, v);
	ra_html_lit(h, "</dd>");
}

static void facts(ra_page *p, const ra_batch_info *bi)
{
	ra_html *h = &p->h;
	char kt[40];

	ra_html_lit(h, "<dl class=\"facts\"><dt>");
	ra_html_msg(h, "batches.col_state");
	ra_html_lit(h, "</dt><dd id=\"state\">");
	ra_page_batch_state(p, bi->b.state);
	ra_html_lit(h, "</dd><dt>");
	ra_html_msg(h, "batches.col_created");
	ra_html_lit(h, "</dt><dd>");
	ra_html_time(h, bi->b.created, 1);
	ra_html_lit(h, "</dd>");
	fact_text(h, "batches.col_by", bi->b.created_by);
	fact_text(h, "batches.col_pattern", bi->b.cn_pattern);
	if (bi->planned > 0) {
		ra_html_lit(h, "<dt>");
		ra_html_msg(h, "batches.count");
		ra_html_lit(h, "</dt><dd>");
		ra_html_uint(h, bi->planned);
		ra_html_lit(h, "</dd><dt>");
		ra_html_msg(h, "batches.days");
		ra_html_lit(h, "</dt><dd>");
		ra_html_uint(h, bi->validity_days);
		ra_html_lit(h, "</dd><dt>");
		ra_html_msg(h, "batches.format");
		ra_html_lit(h, "</dt><dd>");
		ra_html_msg(h, strcmp(bi->p12_format, "compatible") == 0 ?
		    "batches.format_compatible" : "batches.format_modern");
		ra_html_lit(h, "</dd>");
		snprintf(kt, sizeof(kt), "batches.kt_%s", bi->key_type);
		for (char *c = kt; *c != '\0'; c++)
			*c = *c == '-' ? '_' : *c;
		ra_html_lit(h, "<dt>");
		ra_html_msg(h, "batches.key_type");
		ra_html_lit(h, "</dt><dd>");
		if (ra_i18n_has(p->r->app->i18n, kt))
			ra_html_msg(h, kt);
		else
			ra_html_text(h, bi->key_type);
		ra_html_lit(h, "</dd>");
		ra_html_lit(h, "<dt>");
		ra_html_msg(h, "batches.issued");
		ra_html_lit(h, "</dt><dd id=\"issued\">");
		ra_html_uint(h, bi->active);
		ra_html_lit(h, "</dd>");
	}
	ra_html_lit(h, "</dl>");
}

static void abort_form(ra_page *p, int64_t id)
{
	ra_html *h = &p->h;

	ra_html_lit(h, "<form method=\"post\" class=\"actions\" id=\"abort\" action=\"/ui/batches/");
	ra_html_int(h, id);
	ra_html_lit(h, "/abort\">");
	ra_page_csrf(p);
	ra_html_lit(h, "<button type=\"submit\" class=\"danger\" data-confirm=\"");
	ra_html_msg(h, "batches.abort_confirm");
	ra_html_lit(h, "\">");
	ra_html_msg(h, "batches.abort");
	ra_html_lit(h, "</button></form>");
}

static void download_form(ra_page *p, int64_t id)
{
	ra_html *h = &p->h;

	ra_html_lit(h, "<form method=\"post\" class=\"card stack\" id=\"download\" "
	    "action=\"/ui/batches/");
	ra_html_int(h, id);
	ra_html_lit(h, "/download\"><h2>");
	ra_html_msg(h, "batches.dl_title");
	ra_html_lit(h, "</h2><p>");
	ra_html_msg(h, "batches.dl_once");
	ra_html_lit(h, "</p>");
	ra_page_csrf(p);
	ra_html_lit(h, "<label>");
	ra_html_msg(h, "batches.passphrase");
	ra_html_lit(h, " <input name=\"passphrase\" id=\"dl-passphrase\" type=\"password\" "
	    "autocomplete=\"off\" required maxlength=\"128\"></label>"
	    "<button type=\"submit\" class=\"primary\">");
	ra_html_msg(h, "batches.dl_button");
	ra_html_lit(h, "</button></form>");
}

/* What can be done with the batch now: abort, wait, download, or nothing (gone). */
static void next_steps(ra_page *p, const ra_batch_info *bi)
{
	int officer = p->r->who.role >= RA_ROLE_OFFICER;
	int running = bi->b.state == RA_BATCH_RUNNING;

	if (running && officer)
		abort_form(p, bi->b.id);
	if (bi->planned == 0)
		return;
	if (bi->downloaded != 0 || (!bi->has_envelope_key && !running))
		downloaded_by(p, bi->b.id, bi->downloaded);
	else if (running || bi->issuing > 0)
		ra_page_notice(p, "info", "batches.dl_after", NULL, 0);
	else if (officer)
		download_form(p, bi->b.id);
	else
		ra_page_notice(p, "info", "batches.dl_officer", NULL, 0);
}

static void detail_page(ra_req *r, int64_t id, unsigned status, const page_msg *err)
{
	ra_batch_info bi;
	ra_page p;
	ra_html *h;
	ik_status st = ra_store_batch_info(r->app->store, id, &bi);
	int live;

	if (st != IK_OK) {
		ra_page_store_error(r, st);
		return;
	}
	live = bi.b.state == RA_BATCH_RUNNING || bi.issuing > 0;
	if (ra_page_begin(&p, r, "batches.one", NULL) != IK_OK)
		return;
	h = &p.h;
	if (err != NULL)
		ra_page_notice(&p, "error", err->key, err->args, err->nargs);
	ra_html_lit(h, "<p class=\"aside\"><a href=\"/ui/batches\">");
	ra_html_msg(h, "batches.back");
	ra_html_lit(h, "</a></p><h2>#");
	ra_html_int(h, id);
	ra_html_lit(h, "</h2>");
	facts(&p, &bi);
	ra_html_lit(h, "<section class=\"card\" id=\"progress\">");
	ra_page_batch_live(&p, &bi.b, bi.planned);
	if (live) {
		ra_html_lit(h, "<p class=\"aside\"><a id=\"reload\" href=\"/ui/batches/");
		ra_html_int(h, id);
		ra_html_lit(h, "\">");
		ra_html_msg(h, "batches.reload");
		ra_html_lit(h, "</a></p>");
	}
	ra_html_lit(h, "</section>");
	next_steps(&p, &bi);
	ra_page_batch_script(&p, live);
	ra_page_end(&p, status);
}

/* GET /ui/batches/{id} */
static void h_detail(ra_req *r)
{
	int64_t id;

	if (ra_page_path_id(r, &id))
		detail_page(r, id, 200, NULL);
}

/* POST /ui/batches/{id}/abort: its pending requests fail; those with the signer settle */
static void h_abort(ra_req *r)
{
	char why[160], target[32], loc[48];
	int64_t id;
	ra_hist hi;
	ik_status st;

	if (!ra_page_path_id(r, &id))
		return;
	snprintf(why, sizeof(why), "stopped by %s", r->who.login);
	snprintf(target, sizeof(target), "batch:%lld", (long long)id);
	hi = ra_api_hist(r, "batch_aborted", target, "{\"why\":\"stopped by an officer\"}");
	st = ra_batch_abort(r->app, id, why, &hi);
	if (st == IK_ERR_STATE) {
		page_msg m = { .key = "batches.err.not_running" };
		detail_page(r, id, 409, &m);
		return;
	}
	if (st != IK_OK) {
		ra_page_store_error(r, st);
		return;
	}
	snprintf(loc, sizeof(loc), "/ui/batches/%lld", (long long)id);
	ra_reply_redirect(r, loc);
}

/* POST /ui/batches/{id}/download: the one ZIP, as an attachment */
static void h_download(ra_req *r)
{
	const char *pass = ra_form_str(r->form, "passphrase");
	ra_batch_zip z;
	ra_batch_refusal why;
	page_msg m;
	char name[48];
	int64_t id;

	if (!ra_page_path_id(r, &id))
		return;
	if (pass == NULL || pass[0] == '\0' || strlen(pass) > RA_BATCH_PASSPHRASE_MAX) {
		m = (page_msg){ .key = "batches.err.passphrase" };
		detail_page(r, id, 400, &m);
		return;
	}
	if (ra_batch_download(r, id, pass, &z, &why) != IK_OK) {
		if (strcmp(why.code, "store") == 0) {
			ra_page_store_error(r, why.st);
			return;
		}
		msg_of(&why, &m);
		if (strcmp(why.code, "batch_running") == 0)
			m = (page_msg){ .key = "batches.dl_after" };
		detail_page(r, id, why.status, &m);
		return;
	}
	snprintf(name, sizeof(name), "batch-%lld.zip", (long long)id);
	ra_reply_bytes(r, 200, "application/zip", ik_buf_ptr(&z.zip), ik_buf_remaining(&z.zip),
	    name);
	ik_buf_cleanup(&z.zip);
}

/* GET /static/batches.js */
static void h_js(ra_req *r)
{
	const ra_embedded *f = ra_embedded_find("static/batches.js");

	if (f == NULL) {
		ra_reply_error(r, 404, "not_found", "no such file");
		return;
	}
	r->cache_seconds = 3600;
	ra_reply_bytes(r, 200, "text/javascript; charset=utf-8", f->data, f->len, NULL);
}

const ra_route ra_page_batches_routes[] = {
	{ "GET", "/static/batches.js", h_js, RA_ROLE_NONE, 0 },
	{ "GET", "/ui/batches", h_list, RA_ROLE_AUDITOR, RA_RF_HTML },
	{ "POST", "/ui/batches", h_start, RA_ROLE_OFFICER, RA_RF_HTML | RA_RF_FORM | RA_RF_HEAVY },
	{ "GET", "/ui/batches/{id}", h_detail, RA_ROLE_AUDITOR, RA_RF_HTML },
	{ "POST", "/ui/batches/{id}/abort", h_abort, RA_ROLE_OFFICER, RA_RF_HTML | RA_RF_FORM },
	{ "POST", "/ui/batches/{id}/download", h_download, RA_ROLE_OFFICER,
	    RA_RF_HTML | RA_RF_FORM | RA_RF_HEAVY },
};
const size_t ra_page_batches_nroutes =
    sizeof(ra_page_batches_routes) / sizeof(ra_page_batches_routes[0]);
