/* ui: the frame every web page shares — language, CSRF token, <head> with the embedded
 * stylesheet and script, the header with navigation and the language switch, the footer,
 * error pages — and the small helpers page handlers use (redirects, form values, dates). */
#ifndef RA_UI_H
#define RA_UI_H

#include <stddef.h>
#include <stdint.h>
#include "html.h"
#include "http.h"
#include "i18n.h"

#define RA_UI_BACK_MAX 1024

typedef struct ra_page {
	ra_req *r;
	ra_html h;
	ra_lang lang;
	char csrf[64];     /* what this page's forms carry */
} ra_page;

/* The language of this request (cookie, Accept-Language). */
ra_lang ra_ui_lang(const ra_req *r);

/* Starts a page: <head>, header (officer navigation when logged in as one), language switch
 * returning to back (NULL: this GET's path and query), <main>.  On failure the reply (500)
 * is sent and the page must not be used. */
ik_status ra_page_begin(ra_page *p, ra_req *r, const char *title_key, const char *back);
/* Closes the page and replies with it (text/html); frees it. */
void ra_page_end(ra_page *p, unsigned status);
/* A hidden field with the CSRF token: every POST form writes one. */
void ra_page_csrf(ra_page *p);
/* A notice box: kind "ok", "error" or "info"; the message by key with optional args. */
void ra_page_notice(ra_page *p, const char *kind, const char *key, const char *const *args,
    size_t nargs);

/* The error page for status and code (also http.c's hook for HTML routes): "log in first"
 * on a GET becomes a redirect to the login page. */
void ra_ui_error(ra_req *r, unsigned status, const char *code);
/* s is a local path a redirect may go to ("/x...", not "//", no backslash or control). */
int ra_ui_local_path(const char *s);
/* "YYYY-MM-DD" as local midnight (add_days days later); 0 for NULL/"" ; -1 when malformed. */
int64_t ra_ui_parse_date(const char *s, int add_days);
/* The start of a query value check: NULL/"" or one line of at most maxlen bytes. */
const char *ra_ui_query(const ra_req *r, const char *name, size_t maxlen);

/* /static/app.css, /static/app.js, POST /lang, GET / */
extern const ra_route ra_ui_routes[];
extern const size_t ra_ui_nroutes;

#endif
