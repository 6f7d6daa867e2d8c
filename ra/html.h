/* html: the one way pages are written — a buffer with a sticky error where markup comes
 * only from string literals (ra_html_lit) and every other value goes through an escaping
 * writer: text, numbers, catalog messages, dates, URL parameters.  No printf of user text
 * into markup exists anywhere. */
#ifndef RA_HTML_H
#define RA_HTML_H

#include <stddef.h>
#include <stdint.h>
#include "buf.h"
#include "i18n.h"
#include "status.h"

#define RA_HTML_MAX (16u * 1024 * 1024)

typedef struct ra_html {
	ik_buf b;
	ik_status st;              /* the first failure; later writes are ignored */
	const ra_i18n *i18n;
	ra_lang lang;
} ra_html;

void ra_html_init(ra_html *h, const ra_i18n *i18n, ra_lang lang);
/* Wipes the buffer when it is freed (a page that shows a one-time secret). */
void ra_html_secret(ra_html *h);
void ra_html_cleanup(ra_html *h);

/* Markup: only a string literal compiles here ("" s "" refuses a variable). */
#define ra_html_lit(h, s) ra_html_markup_((h), "" s "", sizeof(s) - 1)
void ra_html_markup_(ra_html *h, const char *s, size_t n);

/* Text and attribute values: & < > " ' escaped. */
void ra_html_text(ra_html *h, const char *s);
void ra_html_textn(ra_html *h, const char *s, size_t n);
void ra_html_int(ra_html *h, long long v);
void ra_html_uint(ra_html *h, unsigned long long v);
/* A catalog message, escaped.  msgv replaces {1}..{9} by args[0..8], each escaped. */
void ra_html_msg(ra_html *h, const char *key);
void ra_html_msgv(ra_html *h, const char *key, const char *const *args, size_t nargs);
/* A query-string value: percent-encoded (RFC 3986 unreserved kept), then escaped. */
void ra_html_url(ra_html *h, const char *s);
/* Local date and time in the page's language ("2026/11/25 19:00", "25 Nov 2026 19:00"),
 * "-" for 0; date only when with_time is 0. */
void ra_html_time(ra_html *h, int64_t t, int with_time);
/* YYYY-MM-DD of t in local time (the value of an <input type="date">); nothing for 0. */
void ra_html_date_value(ra_html *h, int64_t t);

/* Escapes s into out (NUL-terminated); IK_ERR_ARG when it does not fit. */
ik_status ra_html_escape(const char *s, char *out, size_t outsz);

#endif
