/* api_users: end users and their devices — create, list, show, delete.  A device holds at
 * most one live certificate; deleting a device or user with one is refused (revoke first),
 * and a device's model information goes with it. */
#include <stdio.h>
#include <string.h>

#include "api.h"

static void h_user_list(ra_req *r)
{
	ra_user rows[RA_PAGE_MAX];
	uint64_t after = 0;
	size_t n = 0;
	json_t *items;
	ik_status st;

	if (!ra_query_uint(r, "after", 0, INT64_MAX, &after))
		return;
	if ((st = ra_store_user_list(r->app->store, (int64_t)after, rows, RA_PAGE_MAX, &n)) != IK_OK) {
		ra_api_store_error(r, st, "user");
		return;
	}
	items = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(items, ra_user_json(&rows[i]));
	ra_reply_json(r, 200, json_pack("{s:o, s:o}", "items", items, "next",
	    n == RA_PAGE_MAX ? json_integer(rows[n - 1].id) : json_null()));
}

static void h_user_add(ra_req *r)
{
	json_t *j = ra_req_json(r);
	const char *ext, *email = "", *name = "", *lang = "ja";
	ra_user u;
	ra_hist h;
	int64_t id;
	ik_status st;

	if (j == NULL)
		return;
	if ((ext = ra_json_str(r, j, "external_id", RA_STORE_NAME_MAX)) == NULL ||
	    !ra_json_opt_str(r, j, "email", RA_STORE_EMAIL_MAX, &email) ||
	    !ra_json_opt_str(r, j, "display_name", RA_STORE_TEXT_MAX, &name) ||
	    !ra_json_opt_str(r, j, "lang", 2, &lang))
		goto out;
	if (strcmp(lang, "ja") != 0 && strcmp(lang, "en") != 0) {
		ra_reply_error_field(r, 400, "bad_field", "lang: \"ja\" or \"en\" (the language "
		    "of the user's mail)", "lang");
		goto out;
	}
	if (email[0] != '\0' && (strchr(email, '@') == NULL || strchr(email, ' ') != NULL)) {
		ra_reply_error_field(r, 400, "bad_field", "email: not an e-mail address", "email");
		goto out;
	}
	memset(&u, 0, sizeof(u));
	snprintf(u.external_id, sizeof(u.external_id), "%s", ext);
	snprintf(u.email, sizeof(u.email), "%s", email);
	snprintf(u.display_name, sizeof(u.display_name), "%s", name);
	snprintf(u.lang, sizeof(u.lang), "%s", lang);
	h = ra_api_hist(r, "user_add", ext, "");
	if ((st = ra_store_user_add(r->app->store, &u, &h, &id)) != IK_OK) {
		ra_api_store_error(r, st, "user with this external_id");
		goto out;
	}
	if ((st = ra_store_user_get(r->app->store, id, &u)) != IK_OK) {
		ra_api_store_error(r, st, "user");
		goto out;
	}
	ra_reply_json(r, 201, ra_user_json(&u));
out:
	json_decref(j);
}

static void h_user_show(ra_req *r)
{
	ra_user u;
	ra_device rows[RA_PAGE_MAX];
	size_t n = 0;
	int64_t id;
	json_t *out, *devs;
	ik_status st;

	if (!ra_api_path_id(r, &id))
		return;
	if ((st = ra_store_user_get(r->app->store, id, &u)) != IK_OK ||
	    (st = ra_store_device_list(r->app->store, id, 0, rows, RA_PAGE_MAX, &n)) != IK_OK) {
		ra_api_store_error(r, st, "user");
		return;
	}
	out = ra_user_json(&u);
	devs = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(devs, ra_device_json(&rows[i]));
	json_object_set_new(out, "devices", devs);
	ra_reply_json(r, 200, out);
}

static void h_user_delete(ra_req *r)
{
	ra_user u;
	ra_hist h;
	int64_t id;
	ik_status st;

	if (!ra_api_path_id(r, &id))
		return;
	if ((st = ra_store_user_get(r->app->store, id, &u)) != IK_OK) {
		ra_api_store_error(r, st, "user");
		return;
	}
	h = ra_api_hist(r, "user_delete", u.external_id, "");
	st = ra_store_user_delete(r->app->store, id, &h);
	if (st == IK_ERR_STATE)
		ra_reply_error(r, 409, "has_live_certificate",
		    "a device of this user holds a live certificate: revoke it first");
	else if (st != IK_OK)
		ra_api_store_error(r, st, "user");
	else
		ra_reply_json(r, 200, json_pack("{s:I}", "deleted", (json_int_t)id));
}

static void h_device_add(ra_req *r)
{
	json_t *j = ra_req_json(r);
	const char *name, *model = "";
	ra_device d;
	ra_hist h;
	int64_t uid, id;
	char target[64];
	ik_status st;

	if (j == NULL)
		return;
	if (!ra_api_path_id(r, &uid) ||
	    (name = ra_json_str(r, j, "name", RA_STORE_DEVICE_MAX)) == NULL ||
	    !ra_json_opt_str(r, j, "model", RA_STORE_TEXT_MAX, &model))
		goto out;
	memset(&d, 0, sizeof(d));
	d.user_id = uid;
	snprintf(d.name, sizeof(d.name), "%s", name);
	snprintf(d.model, sizeof(d.model), "%s", model);
	snprintf(target, sizeof(target), "user:%lld", (long long)uid);
	h = ra_api_hist(r, "device_add", target, "");
	st = ra_store_device_add(r->app->store, &d, &h, &id);
	if (st == IK_ERR_EXISTS)
		ra_reply_error_field(r, 409, "exists", "the user already has a device of this name",
		    "name");
	else if (st != IK_OK)
		ra_api_store_error(r, st, "user");
	else if ((st = ra_store_device_get(r->app->store, id, &d)) != IK_OK)
		ra_api_store_error(r, st, "device");
	else
		ra_reply_json(r, 201, ra_device_json(&d));
out:
	json_decref(j);
}

static void h_device_show(ra_req *r)
{
	ra_device d;
	ra_cert rows[RA_PAGE_MAX];
	ra_cert_query q;
	char next[RA_CURSOR_MAX];
	size_t n = 0;
	int64_t id;
	json_t *out, *certs;
	ik_status st;

	if (!ra_api_path_id(r, &id))
		return;
	if ((st = ra_store_device_get(r->app->store, id, &d)) != IK_OK) {
		ra_api_store_error(r, st, "device");
		return;
	}
	memset(&q, 0, sizeof(q));
	q.device_id = id;
	q.descending = 1;
	if ((st = ra_store_cert_list(r->app->store, &q, rows, &n, next)) != IK_OK) {
		ra_api_store_error(r, st, "device");
		return;
	}
	out = ra_device_json(&d);
	certs = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(certs, ra_cert_json(&rows[i]));
	json_object_set_new(out, "certificates", certs);
	ra_reply_json(r, 200, out);
}

static void h_device_delete(ra_req *r)
{
	ra_device d;
	ra_hist h;
	int64_t id;
	char target[64];
	ik_status st;

	if (!ra_api_path_id(r, &id))
		return;
	if ((st = ra_store_device_get(r->app->store, id, &d)) != IK_OK) {
		ra_api_store_error(r, st, "device");
		return;
	}
	snprintf(target, sizeof(target), "device:%lld", (long long)id);
	h = ra_api_hist(r, "device_delete", target, "");
	st = ra_store_device_delete(r->app->store, id, &h);
	if (st == IK_ERR_STATE)
		ra_reply_error(r, 409, "has_live_certificate",
		    "the device holds a live certificate: revoke it first");
	else if (st != IK_OK)
		ra_api_store_error(r, st, "device");
	else
		ra_reply_json(r, 200, json_pack("{s:I}", "deleted", (json_int_t)id));
}

const ra_route ra_api_users_routes[] = {
	{ "GET", "/api/v1/users", h_user_list, RA_ROLE_AUDITOR, 0 },
	{ "POST", "/api/v1/users", h_user_add, RA_ROLE_OFFICER, RA_RF_CSRF },
	{ "GET", "/api/v1/users/{id}", h_user_show, RA_ROLE_AUDITOR, 0 },
	{ "DELETE", "/api/v1/users/{id}", h_user_delete, RA_ROLE_OFFICER, RA_RF_CSRF },
	{ "POST", "/api/v1/users/{id}/devices", h_device_add, RA_ROLE_OFFICER, RA_RF_CSRF },
	{ "GET", "/api/v1/devices/{id}", h_device_show, RA_ROLE_AUDITOR, 0 },
	{ "DELETE", "/api/v1/devices/{id}", h_device_delete, RA_ROLE_OFFICER, RA_RF_CSRF },
};
const size_t ra_api_users_nroutes = sizeof(ra_api_users_routes) / sizeof(ra_api_users_routes[0]);
