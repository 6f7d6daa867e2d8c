/* session: who is asking — the session cookie or an API bearer token looked up by hash in
 * the store, idle and absolute expiry, the CSRF check, and the officer IP allow-list. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <openssl/crypto.h>

#include "auth.h"
#include "form.h"
#include "log.h"
#include "store.h"

#define TOUCH_EVERY 30 /* seconds between last_seen updates of one session */

ra_touch ra_session_touch_mode(int64_t now, int64_t last_seen, uint64_t idle)
{
	int64_t age = now - last_seen;

	if (age < TOUCH_EVERY)
		return RA_TOUCH_NONE;
	/* skipped while a batch writes, until half the idle time is gone: then it waits */
	return age < (int64_t)(idle / 2) ? RA_TOUCH_TRY : RA_TOUCH_WAIT;
}

static ik_status officer_principal(ra_req *r, int64_t officer_id)
{
	ra_officer o;
	ik_status st = ra_store_officer_get(r->app->store, officer_id, &o);

	if (st == IK_ERR_NOT_FOUND)
		return IK_OK; /* deleted since: anonymous */
	if (st != IK_OK)
		return st;
	if (!o.disabled && o.role >= RA_ROLE_AUDITOR && o.role <= RA_ROLE_ADMIN) {
		r->who.role = (ra_role)o.role;
		r->who.officer_id = o.id;
		snprintf(r->who.login, sizeof(r->who.login), "%s", o.login);
	}
	OPENSSL_cleanse(&o, sizeof(o));
	return IK_OK;
}

static ik_status identify_bearer(ra_req *r, const char *token)
{
	uint8_t hash[32];
	int64_t officer_id;
	ik_status st;

	if (strncmp(token, RA_API_TOKEN_PREFIX, strlen(RA_API_TOKEN_PREFIX)) != 0 ||
	    ra_token_hash(token + strlen(RA_API_TOKEN_PREFIX), hash) != IK_OK)
		return IK_OK; /* malformed: anonymous */
	st = ra_store_token_lookup(r->app->store, hash, &officer_id);
	if (st == IK_ERR_NOT_FOUND)
		return IK_OK;
	if (st != IK_OK)
		return st;
	st = officer_principal(r, officer_id);
	if (st == IK_OK && r->who.role != RA_ROLE_NONE)
		r->who.via_bearer = 1;
	return st;
}

static ik_status identify_cookie(ra_req *r, const char *cookie)
{
	const ra_config *cfg = r->app->cfg;
	int64_t now = (int64_t)time(NULL);
	ra_session s;
	uint8_t hash[32];
	ik_status st;

	if (ra_token_hash(cookie, hash) != IK_OK)
		return IK_OK;
	st = ra_store_session_get(r->app->store, hash, &s);
	if (st == IK_ERR_NOT_FOUND)
		return IK_OK;
	if (st != IK_OK)
		return st;
	if (now >= s.created + (int64_t)cfg->session_lifetime ||
	    now >= s.last_seen + (int64_t)cfg->session_idle) {
		st = ra_store_session_delete(r->app->store, hash);
		goto out;
	}
	switch (ra_session_touch_mode(now, s.last_seen, cfg->session_idle)) {
	case RA_TOUCH_TRY:
		st = ra_store_session_touch_try(r->app->store, hash, now);
		if (st == IK_ERR_BUSY)
			st = IK_OK; /* a later request of this session touches it */
		break;
	case RA_TOUCH_WAIT:
		st = ra_store_session_touch(r->app->store, hash, now);
		break;
	default:
		break;
	}
	if (st != IK_OK)
		goto out;
	if ((st = officer_principal(r, s.officer_id)) != IK_OK)
		goto out;
	if (r->who.role != RA_ROLE_NONE) {
		r->who.has_session = 1;
		memcpy(r->who.session_hash, hash, sizeof(hash));
		if ((st = ra_csrf_for_session(cookie, r->who.csrf, sizeof(r->who.csrf))) != IK_OK)
			goto out;
	}
out:
	OPENSSL_cleanse(&s, sizeof(s));
	return st;
}

ik_status ra_auth_identify(ra_req *r)
{
	const char *authz = ra_req_header(r, MHD_HTTP_HEADER_AUTHORIZATION);
	const char *cookie;

	memset(&r->who, 0, sizeof(r->who));
	if (authz != NULL) {
		/* an Authorization header is never combined with the cookie */
		if (strncasecmp(authz, "Bearer ", 7) != 0)
			return IK_OK;
		return identify_bearer(r, authz + 7);
	}
	cookie = ra_req_cookie(r, RA_SESSION_COOKIE);
	if (cookie == NULL)
		return IK_OK;
	return identify_cookie(r, cookie);
}

int ra_auth_ip_allowed(ra_req *r)
{
	char list[RA_SETTING_MAX];
	ik_status st = ra_store_setting_get(r->app->store, "ip_allowlist", list, sizeof(list));

	if (st == IK_ERR_NOT_FOUND)
		return 1;
	if (st != IK_OK) {
		ik_log(LOG_ERR, "cannot read the IP allow-list: %s", ik_status_str(st));
		return 0; /* fail closed */
	}
	return ra_ip_in_list(list, r->ip);
}

/* The "csrf" field of an application/x-www-form-urlencoded body (HTML forms). */
static int form_csrf(const ra_req *r, char *out, size_t outsz)
{
	const char *ct = ra_req_header(r, MHD_HTTP_HEADER_CONTENT_TYPE);
	const char *p = (const char *)ik_buf_ptr(&r->body);
	size_t n = ik_buf_remaining(&r->body), i = 0;

	if (ct == NULL || strncasecmp(ct, "application/x-www-form-urlencoded", 33) != 0)
		return 0;
	while (i < n) {
		size_t end = i;
		while (end < n && p[end] != '&')
			end++;
		if (end - i > 5 && memcmp(p + i, "csrf=", 5) == 0 && end - i - 5 < outsz) {
			memcpy(out, p + i + 5, end - i - 5);
			out[end - i - 5] = '\0';
			return 1;
		}
		i = end + 1;
	}
	return 0;
}

int ra_auth_csrf_ok(const ra_req *r)
{
	const char *h = ra_req_header(r, "X-CSRF-Token");
	char field[96];
	int ok;

	if (r->who.csrf[0] == '\0')
		return 0;
	if (h != NULL)
		return ra_secret_equal(h, r->who.csrf);
	if (r->form != NULL)
		return ra_form_line(r->form, "csrf", 96) != NULL &&
		    ra_secret_equal(ra_form_line(r->form, "csrf", 96), r->who.csrf);
	if (!form_csrf(r, field, sizeof(field)))
		return 0;
	ok = ra_secret_equal(field, r->who.csrf);
	OPENSSL_cleanse(field, sizeof(field));
	return ok;
}

/* The anonymous token: derived from the pre-session cookie like a session's. */
static int pre_token(const ra_req *r, char *out, size_t outsz)
{
	const char *pre = ra_req_cookie(r, RA_PRE_COOKIE);
	uint8_t hash[32];

	return pre != NULL && ra_token_hash(pre, hash) == IK_OK &&
	    ra_csrf_for_session(pre, out, outsz) == IK_OK;
}

int ra_auth_form_csrf_ok(const ra_req *r)
{
	const char *field = ra_form_line(r->form, "csrf", 96);
	char expect[64];
	int ok;

	if (field == NULL)
		return 0;
	if (r->who.has_session)
		return r->who.csrf[0] != '\0' && ra_secret_equal(field, r->who.csrf);
	if (!pre_token(r, expect, sizeof(expect)))
		return 0;
	ok = ra_secret_equal(field, expect);
	OPENSSL_cleanse(expect, sizeof(expect));
	return ok;
}

ik_status ra_auth_page_csrf(ra_req *r, char *out, size_t outsz)
{
	char token[64], cookie[160];
	uint8_t hash[32];
	ik_status st;

	if (r->who.has_session) {
		if (strlen(r->who.csrf) >= outsz)
			return IK_ERR_ARG;
		memcpy(out, r->who.csrf, strlen(r->who.csrf) + 1);
		return IK_OK;
	}
	if (pre_token(r, out, outsz))
		return IK_OK;
	if ((st = ra_token_new(token, sizeof(token), hash)) != IK_OK)
		return st;
	snprintf(cookie, sizeof(cookie), "%s=%s; Path=/; HttpOnly; SameSite=Strict%s",
	    RA_PRE_COOKIE, token, r->app->cfg->tls ? "; Secure" : "");
	if ((st = ra_req_add_header(r, "Set-Cookie", cookie)) == IK_OK)
		st = ra_csrf_for_session(token, out, outsz);
	OPENSSL_cleanse(token, sizeof(token));
	OPENSSL_cleanse(cookie, sizeof(cookie));
	return st;
}
