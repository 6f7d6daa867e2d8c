/* api_certlogin: officers' client-certificate login ([ra] cert_login) — the login itself
 * (POST /api/v1/login/certificate, and ra_auth_login_cert for the login page) and the
 * administrators' binding of an officer to a certificate (/api/v1/officers/{id}/certificate).
 * What a certificate is worth is certlogin.c's decision. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <openssl/crypto.h>

#include "api.h"
#include "certlogin.h"
#include "log.h"
#include "store.h"

static ik_status hist(ra_req *r, const char *actor, const char *op, const char *detail)
{
	ik_status st = ra_history_append(r->app->store, actor, r->ip, op, detail);

	if (st != IK_OK)
		ik_log(LOG_ERR, "cannot record %s in the history: %s", op, ik_status_str(st));
	return st;
}

/* The officer a certificate names, if any and still there. */
static ik_status bound_officer(ra_req *r, int64_t id, ra_officer *o)
{
	ik_status st = id != 0 ? ra_store_officer_get(r->app->store, id, o) : IK_ERR_NOT_FOUND;

	return st == IK_ERR_NOT_FOUND ? IK_OK : st;
}

ra_login_outcome ra_auth_login_cert(ra_req *r, char *csrf, size_t csrfsz,
    int64_t *locked_until)
{
	ra_certlogin_id id;
	ra_certlogin_result cr;
	ra_officer o;
	ra_login_outcome res = RA_LOGIN_ERROR;
	char detail[224];

	*locked_until = 0;
	memset(&o, 0, sizeof(o));
	if (!r->app->cfg->cert_login)
		return RA_LOGIN_OFF;
	cr = ra_certlogin_identify(r, &id);
	if (cr == RA_CL_ERROR || bound_officer(r, id.officer_id, &o) != IK_OK)
		goto out;
	snprintf(detail, sizeof(detail), "certificate: %s", id.why);
	if (cr == RA_CL_NO_CERT || o.id == 0 || o.disabled) {
		res = hist(r, o.id != 0 ? o.login : "certificate", "login_failed", detail) != IK_OK ?
		    RA_LOGIN_ERROR : cr == RA_CL_NO_CERT ? RA_LOGIN_NO_CERT : RA_LOGIN_BAD;
		goto out;
	}
	if (o.locked_until > (int64_t)time(NULL)) {
		*locked_until = o.locked_until;
		res = hist(r, o.login, "login_refused", "account locked (certificate)") != IK_OK ?
		    RA_LOGIN_ERROR : RA_LOGIN_LOCKED;
		goto out;
	}
	if (cr != RA_CL_OK) { /* a bound certificate no longer valid: counted */
		res = ra_auth_login_failed(r, &o, detail, locked_until);
		goto out;
	}
	snprintf(detail, sizeof(detail), "certificate %s", id.serial);
	res = ra_auth_login_ok(r, &o, detail, csrf, csrfsz);
out:
	OPENSSL_cleanse(&o, sizeof(o));
	return res;
}

/* The body must be a JSON object ({}): a cross-site page cannot send that without a CORS
 * preflight, so no other site can log a browser in with its certificate. */
static void h_login_cert(ra_req *r)
{
	json_t *j = ra_req_json(r);
	char csrf[64];
	int64_t until = 0;

	if (j == NULL)
		return;
	switch (ra_auth_login_cert(r, csrf, sizeof(csrf), &until)) {
	case RA_LOGIN_OK:
		ra_reply_json(r, 200, json_pack("{s:s, s:o, s:s}", "csrf", csrf, "officer",
		    ra_auth_officer_json(&r->who), "via", "certificate"));
		break;
	case RA_LOGIN_NO_CERT:
		ra_reply_error(r, 401, "no_certificate", "the client sent no certificate");
		break;
	case RA_LOGIN_BAD:
		ra_reply_error(r, 401, "bad_certificate", "this certificate cannot log in");
		break;
	case RA_LOGIN_LOCKED:
		ra_auth_reply_locked(r, until);
		break;
	case RA_LOGIN_OFF:
		ra_reply_error(r, 404, "cert_login_off", "certificate login is not enabled");
		break;
	default:
		ra_reply_error(r, 500, "internal", "cannot check the certificate");
		break;
	}
	OPENSSL_cleanse(csrf, sizeof(csrf));
	json_decref(j);
}

/* ---- binding (administrators) ---- */

static json_t *binding_json(ra_req *r, const ra_officer *o, const ra_officer_cert *b)
{
	static const char hex[] = "0123456789abcdef";
	char fp[65];
	ra_cert c;

	if (ra_store_cert_get(r->app->store, b->cert_id, &c) != IK_OK)
		return NULL;
	for (size_t i = 0; i < 32; i++) {
		fp[2 * i] = hex[b->sha256[i] >> 4];
		fp[2 * i + 1] = hex[b->sha256[i] & 15];
	}
	fp[64] = '\0';
	return json_pack("{s:I, s:s, s:I, s:s, s:s, s:s, s:o, s:o}", "officer_id",
	    (json_int_t)o->id, "login", o->login, "certificate_id", (json_int_t)c.id, "serial",
	    c.serial, "sha256", fp, "state", ra_cert_state_name(c.state), "not_after",
	    ra_json_time(c.not_after), "bound_at", ra_json_time(b->created));
}

/* The officer of the path; 0 after a reply. */
static int path_officer(ra_req *r, ra_officer *o)
{
	int64_t id;
	ik_status st;

	if (!ra_api_path_id(r, &id))
		return 0;
	if ((st = ra_store_officer_get(r->app->store, id, o)) != IK_OK) {
		ra_api_store_error(r, st, "officer");
		return 0;
	}
	return 1;
}

static void h_binding_get(ra_req *r)
{
	ra_officer o;
	ra_officer_cert b;
	ik_status st;

	if (!path_officer(r, &o))
		return;
	if ((st = ra_store_officer_cert_get(r->app->store, o.id, &b)) != IK_OK)
		ra_api_store_error(r, st, "login certificate");
	else
		ra_reply_json(r, 200, binding_json(r, &o, &b));
	OPENSSL_cleanse(&o, sizeof(o));
}

static void h_bindings_list(ra_req *r)
{
	ra_officer o;
	ra_officer_cert b[RA_OFFICER_CERTS_MAX];
	size_t n = 0;
	json_t *items;
	ik_status st;

	if (!path_officer(r, &o))
		return;
	if ((st = ra_store_officer_cert_list(r->app->store, o.id, b, RA_OFFICER_CERTS_MAX, &n)) !=
	    IK_OK || (items = json_array()) == NULL) {
		ra_api_store_error(r, st != IK_OK ? st : IK_ERR_NOMEM, "login certificates");
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		json_array_append_new(items, binding_json(r, &o, &b[i]));
	ra_reply_json(r, 200, json_pack("{s:o, s:I}", "items", items, "max",
	    (json_int_t)RA_OFFICER_CERTS_MAX));
out:
	OPENSSL_cleanse(&o, sizeof(o));
}

/* The certificate a POST names: certificate_id or pem (exactly one); 0 after a reply. */
static int binding_target(ra_req *r, json_t *j, ra_certlogin_fit *fit, ik_status *st)
{
	json_t *pem = json_object_get(j, "pem");
	uint64_t cert_id = 0;

	if (!ra_json_opt_uint(r, j, "certificate_id", 1, INT64_MAX, &cert_id))
		return 0;
	if ((cert_id == 0) == (pem == NULL)) {
		ra_reply_error_field(r, 400, "bad_field", "certificate_id or pem is required (one "
		    "of them)", pem == NULL ? "certificate_id" : "pem");
		return 0;
	}
	if (pem == NULL) {
		*st = ra_certlogin_bindable(r->app, (int64_t)cert_id, fit);
		return 1;
	}
	if (!json_is_string(pem) || json_string_length(pem) > RA_CERTLOGIN_PEM_MAX) {
		ra_reply_error_field(r, 400, "bad_field", "pem: a PEM certificate as a string is "
		    "required", "pem");
		return 0;
	}
	*st = ra_certlogin_bindable_pem(r->app, (const uint8_t *)json_string_value(pem),
	    json_string_length(pem), fit);
	if (*st == IK_ERR_ARG) {
		ra_reply_error_field(r, 400, "bad_pem", "pem: not one PEM certificate", "pem");
		return 0;
	}
	if (*st == IK_ERR_NOT_FOUND) {
		ra_reply_error_field(r, 404, "not_found", fit->why, "pem");
		return 0;
	}
	return 1;
}

/* A bind refused by the store; IK_ERR_EXISTS says whose the certificate is. */
static void bind_refused(ra_req *r, const ra_officer *o, int64_t cert_id, ik_status st)
{
	ra_officer_cert b;

	if (st == IK_ERR_STATE)
		ra_reply_error(r, 409, "too_many", "this officer has the most login certificates "
		    "allowed bound already; unbind one first");
	else if (st == IK_ERR_EXISTS && ra_store_officer_cert_by_cert(r->app->store, cert_id, &b) ==
	    IK_OK && b.officer_id == o->id)
		ra_reply_error(r, 409, "already_bound", "this certificate is bound to this officer "
		    "already");
	else if (st == IK_ERR_EXISTS)
		ra_reply_error(r, 409, "bound_elsewhere",
		    "this certificate is another officer's login certificate");
	else
		ra_api_store_error(r, st, "certificate");
}

static void h_binding_set(ra_req *r)
{
	json_t *j = ra_req_json(r);
	ra_officer o;
	ra_officer_cert b;
	ra_certlogin_fit fit;
	char detail[96];
	ra_hist h;
	ik_status st = IK_OK;

	memset(&o, 0, sizeof(o));
	if (j == NULL)
		return;
	if (!r->app->cfg->cert_login) {
		ra_reply_error(r, 409, "cert_login_off", "certificate login is not enabled "
		    "([ra] cert_login)");
		goto out;
	}
	if (!path_officer(r, &o) || !binding_target(r, j, &fit, &st))
		goto out;
	if (st == IK_ERR_STATE) {
		ra_reply_error_field(r, 409, "not_bindable", fit.why, json_object_get(j, "pem") !=
		    NULL ? "pem" : "certificate_id");
		goto out;
	}
	if (st != IK_OK) {
		ra_api_store_error(r, st, "certificate");
		goto out;
	}
	snprintf(detail, sizeof(detail), "{\"certificate_id\":%lld}", (long long)fit.cert_id);
	h = ra_api_hist(r, "officer_cert_bound", o.login, detail);
	if ((st = ra_store_officer_cert_bind(r->app->store, o.id, fit.cert_id, fit.sha256, &h)) !=
	    IK_OK) {
		bind_refused(r, &o, fit.cert_id, st);
		goto out;
	}
	if ((st = ra_store_officer_cert_by_cert(r->app->store, fit.cert_id, &b)) != IK_OK) {
		ra_api_store_error(r, st, "certificate");
		goto out;
	}
	ra_reply_json(r, 200, binding_json(r, &o, &b));
out:
	OPENSSL_cleanse(&o, sizeof(o));
	json_decref(j);
}

/* ?certificate_id=N unbinds that one; without it, every login certificate of the officer. */
static void h_binding_delete(ra_req *r)
{
	ra_officer o;
	uint64_t cert_id = 0;
	char detail[64] = "";
	ra_hist h;
	ik_status st;

	if (!ra_query_uint(r, "certificate_id", 1, INT64_MAX, &cert_id) || !path_officer(r, &o))
		return;
	if (cert_id != 0)
		snprintf(detail, sizeof(detail), "{\"certificate_id\":%llu}",
		    (unsigned long long)cert_id);
	h = ra_api_hist(r, "officer_cert_unbound", o.login, detail);
	if ((st = ra_store_officer_cert_unbind(r->app->store, o.id, (int64_t)cert_id, &h)) !=
	    IK_OK)
		ra_api_store_error(r, st, "login certificate");
	else
		ra_reply_json(r, 200, json_pack("{s:b}", "ok", 1));
	OPENSSL_cleanse(&o, sizeof(o));
}

const ra_route ra_api_certlogin_routes[] = {
	{ "POST", "/api/v1/login/certificate", h_login_cert, RA_ROLE_NONE, RA_RF_IPLIST },
	{ "GET", "/api/v1/officers/{id}/certificate", h_binding_get, RA_ROLE_ADMIN, 0 },
	{ "GET", "/api/v1/officers/{id}/certificates", h_bindings_list, RA_ROLE_ADMIN, 0 },
	{ "POST", "/api/v1/officers/{id}/certificate", h_binding_set, RA_ROLE_ADMIN, RA_RF_CSRF },
	{ "DELETE", "/api/v1/officers/{id}/certificate", h_binding_delete, RA_ROLE_ADMIN,
	    RA_RF_CSRF },
};
const size_t ra_api_certlogin_nroutes =
    sizeof(ra_api_certlogin_routes) / sizeof(ra_api_certlogin_routes[0]);
