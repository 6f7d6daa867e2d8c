/* api_auth: the authentication endpoints — login (with lockout), logout, whoami, password
 * change, API token creation — and /healthz.  Every outcome goes to the history. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <openssl/crypto.h>

#include "api.h"
#include "auth.h"
#include "log.h"
#include "store.h"

/* A history entry for this request; failure to record is logged and reported. */
static ik_status hist(ra_req *r, const char *actor, const char *op, const char *detail)
{
	ik_status st = ra_history_append(r->app->store, actor, r->ip, op, detail);

	if (st != IK_OK)
		ik_log(LOG_ERR, "cannot record %s in the history: %s", op, ik_status_str(st));
	return st;
}

static void iso_time(int64_t t, char *out, size_t outsz)
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (gmtime_r(&tt, &tm) == NULL || strftime(out, outsz, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, outsz, "%lld", (long long)t);
}

void ra_auth_reply_locked(ra_req *r, int64_t until)
{
	char when[32], msg[128];

	iso_time(until, when, sizeof(when));
	snprintf(msg, sizeof(msg), "too many failed logins: the account is locked until %s", when);
	ra_reply_error(r, 423, "locked", msg);
}

json_t *ra_auth_officer_json(const ra_principal *who)
{
	return json_pack("{s:I, s:s, s:s}", "id", (json_int_t)who->officer_id, "login", who->login,
	    "role", ra_role_name(who->role));
}

static ik_status set_session_cookie(ra_req *r, const char *token, int clear)
{
	char cookie[192];

	snprintf(cookie, sizeof(cookie), "%s=%s; Path=/;%s HttpOnly; SameSite=Strict%s",
	    RA_SESSION_COOKIE, clear ? "" : token, r->app->cfg->tls ? " Secure;" : "",
	    clear ? "; Max-Age=0" : "");
	return ra_req_add_header(r, "Set-Cookie", cookie);
}

/* A failed login for o: count it, lock at the threshold, record it. */
ra_login_outcome ra_auth_login_failed(ra_req *r, const ra_officer *o, const char *what,
    int64_t *locked_until)
{
	const ra_config *cfg = r->app->cfg;
	int64_t until = 0;
	char detail[160];

	if (ra_store_officer_login_failed(r->app->store, o->id, cfg->lockout_threshold,
	    (int64_t)time(NULL) + (int64_t)cfg->lockout_seconds, &until) != IK_OK)
		return RA_LOGIN_ERROR;
	snprintf(detail, sizeof(detail), "%s for %s%s", what, o->login,
	    until != 0 ? "; account locked" : "");
	if (hist(r, o->login, "login_failed", detail) != IK_OK)
		return RA_LOGIN_ERROR;
	*locked_until = until;
	return until != 0 ? RA_LOGIN_LOCKED : RA_LOGIN_BAD;
}

/* A new session: random id (only its hash is stored) and the CSRF token derived from it. */
static ik_status session_start(ra_req *r, const ra_officer *o, char *token, size_t tokensz,
    char *csrf, size_t csrfsz)
{
	ra_session s;
	ik_status st;

	memset(&s, 0, sizeof(s));
	if ((st = ra_token_new(token, tokensz, s.id_hash)) != IK_OK ||
	    (st = ra_csrf_for_session(token, csrf, csrfsz)) != IK_OK)
		goto out;
	s.officer_id = o->id;
	s.created = s.last_seen = (int64_t)time(NULL);
	st = ra_store_session_add(r->app->store, &s);
out:
	OPENSSL_cleanse(&s, sizeof(s));
	return st;
}

ra_login_outcome ra_auth_login_ok(ra_req *r, const ra_officer *o, const char *how,
    char *csrf, size_t csrfsz)
{
	char token[64];
	const char *old = ra_req_cookie(r, RA_SESSION_COOKIE);
	uint8_t old_hash[32];
	ra_login_outcome res = RA_LOGIN_ERROR;
	ik_status st;

	/* rotation: whatever session the browser had is dropped */
	if (old != NULL && ra_token_hash(old, old_hash) == IK_OK &&
	    (st = ra_store_session_delete(r->app->store, old_hash)) != IK_OK &&
	    st != IK_ERR_NOT_FOUND)
		goto out;
	if (ra_store_officer_login_ok(r->app->store, o->id) != IK_OK ||
	    session_start(r, o, token, sizeof(token), csrf, csrfsz) != IK_OK ||
	    hist(r, o->login, "login_ok", how) != IK_OK || set_session_cookie(r, token, 0) != IK_OK)
		goto out;
	r->who.role = (ra_role)o->role;
	r->who.officer_id = o->id;
	snprintf(r->who.login, sizeof(r->who.login), "%s", o->login);
	res = RA_LOGIN_OK;
out:
	OPENSSL_cleanse(token, sizeof(token));
	return res;
}

ra_login_outcome ra_auth_login(ra_req *r, const char *login, const char *password,
    char *csrf, size_t csrfsz, int64_t *locked_until)
{
	ra_officer o;
	ra_login_outcome res = RA_LOGIN_ERROR;
	char detail[128];
	ik_status st;

	*locked_until = 0;
	memset(&o, 0, sizeof(o));
	st = ra_store_officer_by_login(r->app->store, login, &o);
	if (st == IK_ERR_NOT_FOUND || (st == IK_OK && o.disabled)) {
		ra_password_dummy(password); /* same time as a real check */
		snprintf(detail, sizeof(detail), "unknown or disabled login %.64s", login);
		res = hist(r, login, "login_failed", detail) != IK_OK ? RA_LOGIN_ERROR :
		    RA_LOGIN_BAD;
		goto out;
	}
	if (st != IK_OK)
		goto out;
	if (o.locked_until > (int64_t)time(NULL)) {
		ra_password_dummy(password);
		*locked_until = o.locked_until;
		res = hist(r, o.login, "login_refused", "account locked") != IK_OK ? RA_LOGIN_ERROR :
		    RA_LOGIN_LOCKED;
		goto out;
	}
	st = ra_password_verify(password, o.password);
	if (st == IK_OK)
		res = ra_auth_login_ok(r, &o, "", csrf, csrfsz);
	else if (st == IK_ERR_AUTH)
		res = ra_auth_login_failed(r, &o, "wrong password", locked_until);
out:
	OPENSSL_cleanse(&o, sizeof(o));
	return res;
}

static void h_login(ra_req *r)
{
	json_t *j = ra_req_json(r);
	const char *login, *password;
	char csrf[64];
	int64_t until = 0;

	if (j == NULL)
		return;
	if ((login = ra_json_str(r, j, "login", RA_LOGIN_MAX)) == NULL ||
	    (password = ra_json_str(r, j, "password", 1024)) == NULL)
		goto out;
	switch (ra_auth_login(r, login, password, csrf, sizeof(csrf), &until)) {
	case RA_LOGIN_OK:
		ra_reply_json(r, 200, json_pack("{s:s, s:o}", "csrf", csrf, "officer",
		    ra_auth_officer_json(&r->who)));
		break;
	case RA_LOGIN_BAD:
		ra_reply_error(r, 401, "bad_credentials", "wrong login or password");
		break;
	case RA_LOGIN_LOCKED:
		ra_auth_reply_locked(r, until);
		break;
	default:
		ra_reply_error(r, 500, "internal", "cannot check the login");
		break;
	}
out:
	OPENSSL_cleanse(csrf, sizeof(csrf));
	json_decref(j); /* the body buffer (with the password) is wiped by http.c */
}

ik_status ra_auth_logout(ra_req *r)
{
	ik_status st = IK_OK;

	if (r->who.has_session)
		st = ra_store_session_delete(r->app->store, r->who.session_hash);
	if ((st != IK_OK && st != IK_ERR_NOT_FOUND) ||
	    hist(r, r->who.login, "logout", r->who.via_bearer ? "api token" : "") != IK_OK ||
	    set_session_cookie(r, NULL, 1) != IK_OK)
		return st != IK_OK && st != IK_ERR_NOT_FOUND ? st : IK_ERR_IO;
	return IK_OK;
}

static void h_logout(ra_req *r)
{
	if (ra_auth_logout(r) != IK_OK) {
		ra_reply_error(r, 500, "internal", "cannot end the session");
		return;
	}
	ra_reply_json(r, 200, json_pack("{s:b}", "ok", 1));
}

static void h_whoami(ra_req *r)
{
	json_t *j = json_pack("{s:o, s:s}", "officer", ra_auth_officer_json(&r->who), "via",
	    r->who.via_bearer ? "token" : "session");

	if (j != NULL && r->who.has_session)
		json_object_set_new(j, "csrf", json_string(r->who.csrf));
	ra_reply_json(r, 200, j);
}

ra_pw_change ra_auth_password_change(ra_req *r, const char *oldpw, const char *newpw,
    ra_opw_rule *rule, int64_t *locked_until)
{
	char phc[RA_PHC_MAX];
	ra_officer o;
	ra_pw_change res = RA_PW_CHANGE_ERROR;
	ik_status st;

	*rule = RA_OPW_OK;
	*locked_until = 0;
	memset(&o, 0, sizeof(o));
	if (ra_store_officer_get(r->app->store, r->who.officer_id, &o) != IK_OK)
		goto out;
	st = ra_password_verify(oldpw, o.password);
	if (st == IK_ERR_AUTH) {
		switch (ra_auth_login_failed(r, &o, "wrong old password at password change", locked_until)) {
		case RA_LOGIN_LOCKED: res = RA_PW_CHANGE_LOCKED; break;
		case RA_LOGIN_BAD: res = RA_PW_CHANGE_BAD_OLD; break;
		default: break;
		}
		goto out;
	}
	if (st != IK_OK) {
		ik_log(LOG_ERR, "the stored password hash of %s is unusable", o.login);
		goto out;
	}
	*rule = ra_password_rule(newpw, o.login);
	if (*rule == RA_OPW_OK && strcmp(newpw, oldpw) == 0)
		*rule = RA_OPW_SAME;
	if (*rule != RA_OPW_OK) {
		res = RA_PW_CHANGE_WEAK;
		goto out;
	}
	if (ra_password_hash(newpw, phc, sizeof(phc)) != IK_OK ||
	    ra_store_officer_set_password(r->app->store, o.id, phc) != IK_OK ||
	    ra_store_session_delete_others(r->app->store, o.id,
	        r->who.has_session ? r->who.session_hash : NULL) != IK_OK ||
	    hist(r, o.login, "password_changed", "") != IK_OK)
		goto out;
	res = RA_PW_CHANGE_OK;
out:
	OPENSSL_cleanse(phc, sizeof(phc));
	OPENSSL_cleanse(&o, sizeof(o));
	return res;
}

static void h_password(ra_req *r)
{
	json_t *j = ra_req_json(r);
	const char *oldpw, *newpw;
	char why[128];
	ra_opw_rule rule;
	int64_t until = 0;

	if (j == NULL)
		return;
	if ((oldpw = ra_json_str(r, j, "old", 1024)) == NULL ||
	    (newpw = ra_json_str(r, j, "new", 1024)) == NULL)
		goto out;
	switch (ra_auth_password_change(r, oldpw, newpw, &rule, &until)) {
	case RA_PW_CHANGE_OK:
		ra_reply_json(r, 200, json_pack("{s:b}", "ok", 1));
		break;
	case RA_PW_CHANGE_BAD_OLD:
		ra_reply_error(r, 401, "bad_credentials", "wrong login or password");
		break;
	case RA_PW_CHANGE_LOCKED:
		ra_auth_reply_locked(r, until);
		break;
	case RA_PW_CHANGE_WEAK:
		if (rule == RA_OPW_SAME)
			snprintf(why, sizeof(why), "the new password must differ from the old one");
		else
			(void)ra_password_policy(newpw, r->who.login, why, sizeof(why));
		ra_reply_error_field(r, 400, "weak_password", why, "new");
		break;
	default:
		ra_reply_error(r, 500, "internal", "cannot change the password");
		break;
	}
out:
	json_decref(j);
}

static void h_token_create(ra_req *r)
{
	json_t *j = ra_req_json(r);
	const char *name;
	char token[64], full[80], detail[128];
	uint8_t hash[32];

	if (j == NULL)
		return;
	if ((name = ra_json_str(r, j, "name", 64)) == NULL)
		goto out;
	snprintf(detail, sizeof(detail), "api token \"%s\"", name);
	if (ra_token_new(token, sizeof(token), hash) != IK_OK ||
	    ra_store_token_add(r->app->store, hash, name, r->who.officer_id) != IK_OK ||
	    hist(r, r->who.login, "token_created", detail) != IK_OK) {
		ra_reply_error(r, 500, "internal", "cannot create the token");
		goto out;
	}
	snprintf(full, sizeof(full), "%s%s", RA_API_TOKEN_PREFIX, token);
	ra_reply_json(r, 201, json_pack("{s:s, s:s}", "name", name, "token", full));
out:
	OPENSSL_cleanse(token, sizeof(token));
	OPENSSL_cleanse(full, sizeof(full));
	json_decref(j);
}

static void h_healthz(ra_req *r)
{
	ra_reply_json(r, 200, json_pack("{s:s}", "status", "ok"));
}

const ra_route ra_api_auth_routes[] = {
	{ "GET", "/healthz", h_healthz, RA_ROLE_NONE, 0 },
	{ "POST", "/api/v1/login", h_login, RA_ROLE_NONE, RA_RF_IPLIST | RA_RF_HEAVY },
	{ "POST", "/api/v1/logout", h_logout, RA_ROLE_AUDITOR, RA_RF_CSRF },
	{ "GET", "/api/v1/whoami", h_whoami, RA_ROLE_AUDITOR, 0 },
	{ "POST", "/api/v1/password", h_password, RA_ROLE_AUDITOR, RA_RF_CSRF | RA_RF_HEAVY },
	{ "POST", "/api/v1/tokens", h_token_create, RA_ROLE_ADMIN, RA_RF_CSRF },
};
const size_t ra_api_auth_nroutes = sizeof(ra_api_auth_routes) / sizeof(ra_api_auth_routes[0]);
