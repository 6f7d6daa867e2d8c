/* bulk_field: the checks of single bulk-file values (internal to ra/bulk*.c).  Each check
 * takes a NUL-terminated, trimmed, non-empty value and returns 0, or -1 with why filled: an
 * English reason that never echoes the value's bytes unescaped, and a stable code with the
 * reason's values as strings, from which the pages word it in their own language. */
#ifndef RA_BULK_FIELD_H
#define RA_BULK_FIELD_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include "bulk.h"

#define RA_BULKF_WHY 512

typedef struct ra_bulkf_why {
	char text[RA_BULKF_WHY];                 /* English */
	const char *code;                        /* static; see ra_bulk_error.code */
	char args[RA_BULK_ARGS][RA_BULK_ARG_MAX]; /* the values in text, in order */
	size_t nargs;
} ra_bulkf_why;

/* Fills why: text from fmt, code, and every conversion of fmt (%s %c %d %u %zu %X, with
 * a 0-padded width for X) as one argument string. */
__attribute__((format(printf, 3, 0)))
void ra_bulkf_vset(ra_bulkf_why *why, const char *code, const char *fmt, va_list ap);

/* Decode one UTF-8 code point from p[0..n): its length (1..4), or 0 if invalid
 * (overlong, surrogate, out of range, truncated). */
size_t ra_bulkf_utf8(const uint8_t *p, size_t n, uint32_t *cp);
/* 1 for C0/DEL/C1 controls and invisible format characters (bidi overrides, zero
 * width, BOM, line/paragraph separators). */
int ra_bulkf_bad_char(uint32_t cp);

/* UTF-8 text: at most maxchars code points and maxbytes bytes, no control or format
 * characters (multiline allows TAB, CR and LF). */
int ra_bulkf_text(const char *v, size_t maxchars, size_t maxbytes, int multiline,
    ra_bulkf_why *why);
int ra_bulkf_user(const char *v, ra_bulkf_why *why);
int ra_bulkf_email(const char *v, ra_bulkf_why *why);
int ra_bulkf_common_name(const char *v, ra_bulkf_why *why);
int ra_bulkf_days(const char *v, uint32_t max, uint32_t *out, ra_bulkf_why *why);
int ra_bulkf_key(const char *v, ra_bulk_key *out, ra_bulkf_why *why);
/* Hex serial, optional 0x prefix and ':', ' ' or '-' between digits; out gets the minimal
 * content octets of the positive INTEGER (at most PROTO_MAX_SERIAL). */
int ra_bulkf_serial(const char *v, uint8_t *out, size_t *outlen, ra_bulkf_why *why);
int ra_bulkf_reason(const char *v, uint8_t *out, ra_bulkf_why *why);
int ra_bulkf_bool(const char *v, int *out, ra_bulkf_why *why);

/* Frees the rows of a result and sets nrows / nvalid to 0 (bulk_result.c). */
void ra_bulk_free_rows(ra_bulk_result *r);

/* v as a double-quoted, escaped string of at most ~40 characters, for use in reasons. */
void ra_bulkf_quote(char *out, size_t outsz, const char *v);

#endif
