/* auth: officers' passwords (scrypt, PHC strings), random session ids and API tokens
 * (only their SHA-256 is stored), CSRF tokens, the IP allow-list, and the per-request
 * identification that http.c runs before a route's role and CSRF checks. */
#ifndef RA_AUTH_H
#define RA_AUTH_H

#include <stddef.h>
#include <stdint.h>
#include "http.h"
#include "status.h"

/* ---- passwords (auth.c) ---- */
#define RA_PHC_MAX 160
#define RA_PASSWORD_MIN 12
#define RA_PASSWORD_MAX 128

/* "$scrypt$ln=15,r=8,p=1$<b64 salt>$<b64 hash>" with a fresh 16-byte salt. */
ik_status ra_password_hash(const char *password, char *phc, size_t phcsz);
/* IK_OK when it matches, IK_ERR_AUTH when not, IK_ERR_ARG for a malformed or
 * out-of-bounds PHC string (cost parameters are bounded before any work is done). */
ik_status ra_password_verify(const char *password, const char *phc);
/* The same work as a verification, for logins that do not exist (no enumeration by time). */
void ra_password_dummy(const char *password);
/* Officer password policy: RA_PASSWORD_MIN..MAX bytes, valid UTF-8 without control
 * characters, not the login.  IK_ERR_ARG with why filled on refusal. */
ik_status ra_password_policy(const char *password, const char *login, char *why, size_t whysz);
/* The same as a rule broken (the pages name it in their language); RA_OPW_OK if none. */
typedef enum ra_opw_rule {
	RA_OPW_OK = 0,
	RA_OPW_LENGTH,      /* not RA_PASSWORD_MIN..MAX bytes */
	RA_OPW_CHARS,       /* not UTF-8 text, or a control character */
	RA_OPW_LOGIN,       /* the login name itself */
	RA_OPW_SAME,        /* (password change) the same as the current one */
} ra_opw_rule;
ra_opw_rule ra_password_rule(const char *password, const char *login);

/* Officer logins: 1..RA_LOGIN_MAX of [A-Za-z0-9._@-]. */
#define RA_LOGIN_MAX 64
ik_status ra_login_check(const char *login);

/* ---- random tokens (auth.c) ---- */
#define RA_TOKEN_LEN 43            /* 32 random bytes, base64url without padding */
#define RA_API_TOKEN_PREFIX "ikt_" /* API tokens: prefix + RA_TOKEN_LEN characters */

/* A new token (out gets RA_TOKEN_LEN characters + NUL) and the SHA-256 of its bytes. */
ik_status ra_token_new(char *out, size_t outsz, uint8_t hash[32]);
/* SHA-256 of a token given by a client; IK_ERR_ARG unless exactly RA_TOKEN_LEN canonical
 * base64url characters. */
ik_status ra_token_hash(const char *text, uint8_t hash[32]);
/* The CSRF token of a session: base64url(HMAC-SHA256(session id bytes, label)), so it is
 * per session, unpredictable, and never stored.  IK_ERR_ARG for a malformed session id. */
ik_status ra_csrf_for_session(const char *session_token, char *out, size_t outsz);
/* Constant-time comparison of two NUL-terminated secrets (1 equal, 0 not). */
int ra_secret_equal(const char *a, const char *b);

/* base64 (standard alphabet, or URL-safe) without padding; strict decoding. */
ik_status ra_b64_encode(const uint8_t *in, size_t n, int url, char *out, size_t outsz);
ik_status ra_b64_decode(const char *in, size_t inlen, int url, uint8_t *out, size_t outsz,
    size_t *outlen);

/* ---- IP allow-list (auth.c) ---- */
typedef struct ra_cidr {
	int family;             /* AF_INET or AF_INET6 */
	uint8_t addr[16];
	unsigned bits;
} ra_cidr;

/* "192.0.2.0/24", "2001:db8::/32" or a single address; host bits must be zero. */
ik_status ra_cidr_parse(const char *s, size_t n, ra_cidr *out);
int ra_cidr_match(const ra_cidr *c, const char *ip);
/* A list of CIDRs separated by spaces, commas or newlines; IK_ERR_ARG names the first bad
 * entry in why (why may be NULL with whysz 0: only the answer wanted). */
ik_status ra_cidr_list_check(const char *list, char *why, size_t whysz);
/* 1 when ip is in the list or the list is empty; 0 otherwise (a bad list allows nobody). */
int ra_ip_in_list(const char *list, const char *ip);

/* ---- sessions and requests (session.c; these use the store) ---- */

/* Fills r->who from the session cookie or an "Authorization: Bearer" API token; an
 * unknown, expired or idle session leaves r->who anonymous.  Errors only on store failure. */
ik_status ra_auth_identify(ra_req *r);
/* Whether a request of a session last seen at last_seen writes now to last_seen: not within
 * 30 s of the last write; then only if no other thread is writing (a batch), until half of
 * the idle timeout has gone by — from then on it waits for its turn, so that a session in
 * use never expires as idle. */
typedef enum ra_touch { RA_TOUCH_NONE, RA_TOUCH_TRY, RA_TOUCH_WAIT } ra_touch;
ra_touch ra_session_touch_mode(int64_t now, int64_t last_seen, uint64_t idle);
/* The officer IP allow-list (setting "ip_allowlist") against r->ip. */
int ra_auth_ip_allowed(ra_req *r);
/* X-CSRF-Token header (or form field csrf) equals the session's token. */
int ra_auth_csrf_ok(const ra_req *r);

/* HTML forms (RA_RF_FORM routes).  A logged-in officer's forms carry the session's CSRF
 * token; anonymous forms (officer login, end-user download, language switch) carry one
 * derived from a random pre-session cookie (RA_PRE_COOKIE), so that no form of ours can be
 * posted from another site, login included. */
int ra_auth_form_csrf_ok(const ra_req *r);
/* The token a page's forms carry (out: RA_TOKEN_LEN + 1); sets the pre-session cookie when
 * the browser has none. */
ik_status ra_auth_page_csrf(ra_req *r, char *out, size_t outsz);

#define RA_SESSION_COOKIE "inkan_session"
#define RA_PRE_COOKIE "inkan_pre"

#endif
