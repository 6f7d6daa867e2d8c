/* api_lifecycle: the officers' side of the certificate lifecycle — the renewal window with
 * how many certificates it lets users renew, the confirmed switch to a renewal (the old
 * certificate revoked as superseded), and the mail queue, visibly. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "mail.h"
#include "renewal.h"

#define PAGE 100

/* GET /api/v1/renewal-window: the window and the certificates users may renew now */
static void h_window(ra_req *r)
{
	ra_renewal_window w;
	ra_cert *rows;
	size_t n = 0;
	uint64_t eligible = 0;
	int64_t now = (int64_t)time(NULL), after = 0, until;
	json_t *out;
	ik_status st = IK_OK;

	if (ra_renewal_window_get(r->app->store, now, &w) != IK_OK) {
		ra_reply_error(r, 500, "internal", "the renewal window settings are unusable");
		return;
	}
	until = w.open ? w.end : now;
	if (w.days > 0 && now + (int64_t)w.days * 86400 > until)
		until = now + (int64_t)w.days * 86400;
	if ((rows = calloc(PAGE, sizeof(*rows))) == NULL) {
		ra_reply_error(r, 500, "internal", "out of memory");
		return;
	}
	while (until > now && (st = ra_store_cert_expiring(r->app->store, now, until, after, rows,
	    PAGE, &n)) == IK_OK && n > 0) {
		for (size_t i = 0; i < n; i++) {
			eligible += (uint64_t)ra_renewal_eligible(&w, &rows[i], now);
			after = rows[i].id;
		}
		if (n < PAGE)
			break;
	}
	free(rows);
	if (st != IK_OK) {
		ra_api_store_error(r, st, "certificate");
		return;
	}
	out = ra_renewal_window_json(&w);
	json_object_set_new(out, "eligible", json_integer((json_int_t)eligible));
	ra_reply_json(r, 200, out);
}

/* POST /api/v1/certificates/{id}/switch: {id} is the renewed certificate; its predecessor
 * is revoked as superseded. */
static void h_switch(ra_req *r)
{
	ra_cert c;
	ra_request req;
	int64_t id, old_id = 0;
	ik_status st;

	if (!ra_api_path_id(r, &id))
		return;
	if ((st = ra_store_cert_get(r->app->store, id, &c)) != IK_OK) {
		ra_api_store_error(r, st, "certificate");
		return;
	}
	st = ra_renewal_switch(r->app, &c, r->who.login, r->ip, &old_id, &req);
	if (st == IK_ERR_NOT_FOUND) {
		ra_reply_error(r, 409, "not_renewal", "this certificate is not an active renewal of "
		    "another one");
		return;
	}
	if (st == IK_ERR_STATE) {
		ra_reply_error(r, 409, "state", "the old certificate is already revoked, expired or "
		    "on its way to being revoked");
		return;
	}
	if (st != IK_OK) {
		ra_api_store_error(r, st, "certificate");
		return;
	}
	ra_reply_json(r, 202, json_pack("{s:I, s:I, s:I, s:s}", "request_id", (json_int_t)req.id,
	    "old_certificate_id", (json_int_t)old_id, "certificate_id", (json_int_t)id, "state",
	    ra_request_state_name(req.state)));
}

static json_t *mail_json(const ra_mail *m)
{
	json_t *j = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:o, s:o, s:o}",
	    "id", (json_int_t)m->id, "kind", m->kind, "event", m->dedup, "lang", m->lang,
	    "to", m->recipients, "subject", m->subject, "state", ra_mail_state_name(m->state),
	    "attempts", (json_int_t)m->attempts, "last_error", m->last_error,
	    "created", ra_json_time(m->created), "next_attempt", ra_json_time(m->next_attempt),
	    "sent", ra_json_time(m->sent));

	if (j != NULL)
		json_object_set_new(j, "attachment", m->attach_name[0] ? json_string(m->attach_name) :
		    json_null());
	return j;
}

/* GET /api/v1/mails?state=pending|sending|sent&after=ID */
static void h_mails(ra_req *r)
{
	const char *s = ra_req_query(r, "state");
	unsigned mask = 0;
	uint64_t after = 0;
	ra_mail *rows;
	size_t n = 0;
	json_t *items;
	ik_status st;

	if (s != NULL) {
		for (int i = RA_MAIL_PENDING; i <= RA_MAIL_SENT; i++)
			if (strcmp(s, ra_mail_state_name((ra_mail_state)i)) == 0)
				mask = RA_MAIL_STATE_BIT(i);
		if (mask == 0) {
			ra_reply_error_field(r, 400, "bad_query", "state: pending, sending or sent",
			    "state");
			return;
		}
	}
	if (!ra_query_uint(r, "after", 0, INT64_MAX, &after))
		return;
	if ((rows = calloc(PAGE, sizeof(*rows))) == NULL) {
		ra_reply_error(r, 500, "internal", "out of memory");
		return;
	}
	if ((st = ra_store_mail_list(r->app->store, mask, (int64_t)after, rows, PAGE, &n)) !=
	    IK_OK) {
		free(rows);
		ra_api_store_error(r, st, "mail");
		return;
	}
	items = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(items, mail_json(&rows[i]));
	ra_reply_json(r, 200, json_pack("{s:o, s:o}", "items", items, "next",
	    n == PAGE ? json_integer(rows[n - 1].id) : json_null()));
	free(rows);
}

/* GET /api/v1/mails/{id}: with the text (mails carry no secrets) */
static void h_mail(ra_req *r)
{
	ra_mail m;
	int64_t id;
	json_t *j;
	ik_status st;

	if (!ra_api_path_id(r, &id))
		return;
	if ((st = ra_store_mail_get(r->app->store, id, &m)) != IK_OK) {
		ra_api_store_error(r, st, "mail");
		return;
	}
	j = mail_json(&m);
	json_object_set_new(j, "body", json_string(m.body));
	ra_mail_clear(&m);
	ra_reply_json(r, 200, j);
}

const ra_route ra_api_lifecycle_routes[] = {
	{ "GET", "/api/v1/renewal-window", h_window, RA_ROLE_AUDITOR, 0 },
	{ "POST", "/api/v1/certificates/{id}/switch", h_switch, RA_ROLE_OFFICER, RA_RF_CSRF },
	{ "GET", "/api/v1/mails", h_mails, RA_ROLE_AUDITOR, 0 },
	{ "GET", "/api/v1/mails/{id}", h_mail, RA_ROLE_AUDITOR, 0 },
};
const size_t ra_api_lifecycle_nroutes =
    sizeof(ra_api_lifecycle_routes) / sizeof(ra_api_lifecycle_routes[0]);
