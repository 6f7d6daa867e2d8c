/* api_history: the operation history (search, CSV export, chain verification), the
 * administrators' settings, and the Prometheus /metrics. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "auth.h"
#include "mail.h"
#include "publish.h"
#include "queue.h"
#include "settings.h"

static int history_query(ra_req *r, ra_history_query *q)
{
	uint64_t from = 0, to = 0, after = 0, before = 0;
	const char *order = ra_req_query(r, "order");

	memset(q, 0, sizeof(*q));
	if (!ra_query_uint(r, "from", 0, INT64_MAX, &from) ||
	    !ra_query_uint(r, "to", 0, INT64_MAX, &to) ||
	    !ra_query_uint(r, "after", 0, INT64_MAX, &after) ||
	    !ra_query_uint(r, "before", 0, INT64_MAX, &before))
		return 0;
	if (order != NULL && strcmp(order, "asc") != 0 && strcmp(order, "desc") != 0) {
		ra_reply_error_field(r, 400, "bad_query", "order: asc or desc", "order");
		return 0;
	}
	q->from = (int64_t)from;
	q->to = (int64_t)to;
	q->after_id = (int64_t)after;
	q->before_id = (int64_t)before;
	q->descending = order == NULL || strcmp(order, "desc") == 0;
	q->op = ra_req_query(r, "op");
	q->text = ra_req_query(r, "q");
	return 1;
}

static void h_history(ra_req *r)
{
	ra_history_query q;
	ra_history_entry *rows = NULL;
	size_t n = 0;
	json_t *items;
	ik_status st;

	if (!history_query(r, &q))
		return;
	if ((st = ra_store_history_list(r->app->store, &q, &rows, RA_PAGE_MAX, &n)) != IK_OK) {
		ra_api_store_error(r, st, "history");
		return;
	}
	items = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(items, json_pack("{s:I, s:o, s:s, s:s, s:s, s:s, s:s}",
		    "id", (json_int_t)rows[i].id, "at", ra_json_time(rows[i].at), "actor",
		    rows[i].actor, "ip", rows[i].ip, "op", rows[i].op, "target", rows[i].target,
		    "detail", rows[i].detail));
	ra_reply_json(r, 200, json_pack("{s:o, s:o}", "items", items, "next",
	    n == RA_PAGE_MAX ? json_integer(rows[n - 1].id) : json_null()));
	ra_history_entries_free(rows, n);
}

static void h_history_csv(ra_req *r)
{
	ra_history_query q;
	ra_history_entry *rows = NULL;
	size_t n = 0;
	ik_buf out;
	ik_status st;

	if (!history_query(r, &q))
		return;
	q.descending = 0;
	ik_buf_init(&out, 512u << 20);
	st = ik_buf_put_text(&out, "id,time,actor,ip,operation,target,detail,hash\r\n");
	/* whole history in pages, oldest first */
	while (st == IK_OK) {
		if ((st = ra_store_history_list(r->app->store, &q, &rows, RA_PAGE_MAX, &n)) != IK_OK)
			break;
		for (size_t i = 0; st == IK_OK && i < n; i++) {
			char id[24], hash[65];
			json_t *t = ra_json_time(rows[i].at);
			snprintf(id, sizeof(id), "%lld", (long long)rows[i].id);
			for (int k = 0; k < 32; k++)
				snprintf(hash + 2 * k, 3, "%02x", rows[i].hash[k]);
			st = ra_csv_field(&out, id, 0);
			if (st == IK_OK)
				st = ra_csv_field(&out, json_is_string(t) ? json_string_value(t) : "", 0);
			json_decref(t);
			if (st == IK_OK) st = ra_csv_field(&out, rows[i].actor, 0);
			if (st == IK_OK) st = ra_csv_field(&out, rows[i].ip, 0);
			if (st == IK_OK) st = ra_csv_field(&out, rows[i].op, 0);
			if (st == IK_OK) st = ra_csv_field(&out, rows[i].target, 0);
			if (st == IK_OK) st = ra_csv_field(&out, rows[i].detail, 0);
			if (st == IK_OK) st = ra_csv_field(&out, hash, 1);
			q.after_id = rows[i].id;
		}
		ra_history_entries_free(rows, n);
		rows = NULL;
		if (n < RA_PAGE_MAX)
			break;
	}
	if (st != IK_OK)
		ra_api_store_error(r, st, "history");
	else
		ra_reply_bytes(r, 200, "text/csv; charset=utf-8", ik_buf_ptr(&out),
		    ik_buf_remaining(&out), "history.csv");
	ik_buf_cleanup(&out);
}

static void h_history_verify(ra_req *r)
{
	char bad[512] = "";
	ik_status st = ra_history_verify(r->app->store, bad, sizeof(bad));

	if (st == IK_OK)
		ra_reply_json(r, 200, json_pack("{s:b}", "intact", 1));
	else if (st == IK_ERR_STATE)
		ra_reply_json(r, 200, json_pack("{s:b, s:s}", "intact", 0, "broken", bad));
	else
		ra_api_store_error(r, st, "history");
}

/* ---- settings (administrators; the rules are settings.c's) ---- */

static int setting_json(void *ctx, const char *key, const char *value)
{
	json_object_set_new((json_t *)ctx, key, json_string(value));
	return 0;
}

static void h_settings_get(ra_req *r)
{
	json_t *o = json_object();
	ik_status st = ra_store_setting_each(r->app->store, setting_json, o);

	if (st != IK_OK) {
		json_decref(o);
		ra_api_store_error(r, st, "setting");
		return;
	}
	ra_reply_json(r, 200, o);
}

/* PUT /api/v1/settings {"key": "value", ...}: all or nothing */
static void h_settings_put(ra_req *r)
{
	json_t *j = ra_req_json(r), *v;
	const char *key, **keys = NULL, **values = NULL;
	size_t n = 0;
	ik_status st;
	char msg[320];

	if (j == NULL)
		return;
	keys = calloc(json_object_size(j) + 1, sizeof(*keys));
	values = calloc(json_object_size(j) + 1, sizeof(*values));
	if (keys == NULL || values == NULL) {
		ra_reply_error(r, 500, "internal", "out of memory");
		goto out;
	}
	json_object_foreach(j, key, v) {
		if (!ra_setting_known(key)) {
			snprintf(msg, sizeof(msg), "%.60s: unknown setting", key);
			ra_reply_error_field(r, 400, "unknown_setting", msg, key);
			goto out;
		}
		if (!json_is_string(v) || json_string_length(v) >= RA_SETTING_MAX) {
			snprintf(msg, sizeof(msg), "%.60s: a string is required", key);
			ra_reply_error_field(r, 400, "bad_field", msg, key);
			goto out;
		}
		if (ra_setting_check(key, json_string_value(v), r->ip, msg, sizeof(msg)) !=
		    RA_SETTING_OK) {
			ra_reply_error_field(r, 400, "bad_field", msg, key);
			goto out;
		}
		keys[n] = key;
		values[n++] = json_string_value(v);
	}
	if ((st = ra_settings_save(r->app->store, r->who.login, r->ip, keys, values, n)) !=
	    IK_OK) {
		ra_api_store_error(r, st, "setting");
		goto out;
	}
	h_settings_get(r);
out:
	free(keys);
	free(values);
	json_decref(j);
}

/* ---- /metrics (Prometheus text format) ---- */

static void h_metrics(ra_req *r)
{
	ra_cert_counts c;
	uint64_t reqs[RA_REQ_FAILED + 1];
	ra_queue_stats qs;
	ik_buf out;
	char line[1024];
	ik_status st;

	if ((st = ra_store_cert_counts(r->app->store, &c)) != IK_OK ||
	    (st = ra_store_request_counts(r->app->store, reqs)) != IK_OK) {
		ra_api_store_error(r, st, "metric");
		return;
	}
	memset(&qs, 0, sizeof(qs));
	if (r->app->queue != NULL)
		ra_queue_stats_get(r->app->queue, &qs);
	ik_buf_init(&out, 64 * 1024);
	st = ik_buf_put_text(&out, "# HELP inkan_certificates Certificates by state.\n"
	    "# TYPE inkan_certificates gauge\n");
	for (int s = RA_CERT_ISSUING; st == IK_OK && s <= RA_CERT_FAILED; s++) {
		snprintf(line, sizeof(line), "inkan_certificates{state=\"%s\"} %llu\n",
		    ra_cert_state_name((ra_cert_state)s), (unsigned long long)c.by_state[s]);
		st = ik_buf_put_text(&out, line);
	}
	if (st == IK_OK)
		st = ik_buf_put_text(&out, "# HELP inkan_requests Queue requests by state.\n"
		    "# TYPE inkan_requests gauge\n");
	for (int s = RA_REQ_PENDING; st == IK_OK && s <= RA_REQ_FAILED; s++) {
		snprintf(line, sizeof(line), "inkan_requests{state=\"%s\"} %llu\n",
		    ra_request_state_name((ra_request_state)s), (unsigned long long)reqs[s]);
		st = ik_buf_put_text(&out, line);
	}
	{
		uint64_t mails[RA_MAIL_SENT + 1];
		if (st == IK_OK && ra_store_mail_counts(r->app->store, mails) == IK_OK) {
			st = ik_buf_put_text(&out, "# HELP inkan_mails Notices by mail, by state.\n"
			    "# TYPE inkan_mails gauge\n");
			for (int m = RA_MAIL_PENDING; st == IK_OK && m <= RA_MAIL_SENT; m++) {
				snprintf(line, sizeof(line), "inkan_mails{state=\"%s\"} %llu\n",
				    ra_mail_state_name((ra_mail_state)m), (unsigned long long)mails[m]);
				st = ik_buf_put_text(&out, line);
			}
		}
	}
	snprintf(line, sizeof(line), "# TYPE inkan_signer_up gauge\ninkan_signer_up %d\n"
	    "# TYPE inkan_hsm_up gauge\ninkan_hsm_up %d\n"
	    "# TYPE inkan_signer_calls_total counter\ninkan_signer_calls_total %llu\n"
	    "# TYPE inkan_signer_retries_total counter\ninkan_signer_retries_total %llu\n",
	    qs.signer_up, qs.hsm_up, (unsigned long long)qs.sent, (unsigned long long)qs.retried);
	if (st == IK_OK)
		st = ik_buf_put_text(&out, line);
	snprintf(line, sizeof(line), "# HELP inkan_downloads_total PKCS#12 and .mobileconfig files "
	    "handed out.\n# TYPE inkan_downloads_total counter\ninkan_downloads_total %llu\n"
	    "# TYPE inkan_download_seconds_total counter\ninkan_download_seconds_total %.6f\n"
	    "# HELP inkan_download_kdf_seconds_total Of which deriving and generating keys.\n"
	    "# TYPE inkan_download_kdf_seconds_total counter\ninkan_download_kdf_seconds_total %.6f\n",
	    (unsigned long long)atomic_load(&r->app->dl_count),
	    (double)atomic_load(&r->app->dl_ns) / 1e9, (double)atomic_load(&r->app->dl_kdf_ns) / 1e9);
	if (st == IK_OK)
		st = ik_buf_put_text(&out, line);
	if (st == IK_OK && r->app->publish != NULL) {
		uint64_t fetches, checks, made, used;
		ra_publish_counts(r->app->publish, &fetches, &checks);
		ra_publish_spare_counts(r->app->publish, &made, &used);
		snprintf(line, sizeof(line), "# HELP inkan_crl_fetches_total Whole CRLs fetched from "
		    "the signer.\n# TYPE inkan_crl_fetches_total counter\ninkan_crl_fetches_total %llu\n"
		    "# HELP inkan_crl_checks_total Checks for a newer CRL (STATUS) with the signer.\n"
		    "# TYPE inkan_crl_checks_total counter\ninkan_crl_checks_total %llu\n"
		    "# HELP inkan_crl_spares_made_total Spare CRL files made ahead.\n"
		    "# TYPE inkan_crl_spares_made_total counter\ninkan_crl_spares_made_total %llu\n"
		    "# HELP inkan_crl_spares_used_total CRLs fetched into a spare file.\n"
		    "# TYPE inkan_crl_spares_used_total counter\ninkan_crl_spares_used_total %llu\n",
		    (unsigned long long)fetches, (unsigned long long)checks,
		    (unsigned long long)made, (unsigned long long)used);
		st = ik_buf_put_text(&out, line);
	}
	if (st != IK_OK)
		ra_reply_error(r, 500, "internal", "cannot build the metrics");
	else
		ra_reply_bytes(r, 200, "text/plain; version=0.0.4", ik_buf_ptr(&out),
		    ik_buf_remaining(&out), NULL);
	ik_buf_cleanup(&out);
}

const ra_route ra_api_history_routes[] = {
	{ "GET", "/api/v1/history", h_history, RA_ROLE_AUDITOR, 0 },
	{ "GET", "/api/v1/history.csv", h_history_csv, RA_ROLE_AUDITOR, 0 },
	{ "GET", "/api/v1/history/verify", h_history_verify, RA_ROLE_AUDITOR, 0 },
	{ "GET", "/api/v1/settings", h_settings_get, RA_ROLE_ADMIN, 0 },
	{ "PUT", "/api/v1/settings", h_settings_put, RA_ROLE_ADMIN, RA_RF_CSRF },
	{ "GET", "/metrics", h_metrics, RA_ROLE_NONE, RA_RF_IPLIST },
};
const size_t ra_api_history_nroutes =
    sizeof(ra_api_history_routes) / sizeof(ra_api_history_routes[0]);
