/* form: the fields of an HTML form body — application/x-www-form-urlencoded by a strict
 * decoder of our own (a bad escape refuses the whole body), multipart/form-data (file
 * uploads) through libmicrohttpd's post processor.  Values are bytes with a NUL after them;
 * the form is wiped when freed (it carries passwords). */
#ifndef RA_FORM_H
#define RA_FORM_H

#include <stddef.h>
#include <stdint.h>
#include "status.h"

#define RA_FORM_MAX_FIELDS 2048
#define RA_FORM_NAME_MAX 64

typedef struct ra_form_field {
	char *name;
	char *value;      /* len bytes and a NUL */
	size_t len;
} ra_form_field;

typedef struct ra_form {
	ra_form_field *f;
	size_t n, cap;
} ra_form;

/* IK_ERR_ARG for a malformed body: a '%' not followed by two hex digits, an empty or over
 * long name, a name with bytes outside [A-Za-z0-9_.-], more than RA_FORM_MAX_FIELDS. */
ik_status ra_form_parse_urlencoded(const uint8_t *p, size_t n, ra_form **out);
/* multipart/form-data of a request (the boundary comes from its Content-Type header). */
struct MHD_Connection;
ik_status ra_form_parse_multipart(struct MHD_Connection *c, const uint8_t *p, size_t n,
    ra_form **out);
void ra_form_free(ra_form *f);   /* accepts NULL */

/* The first value of name as a string: NULL when absent or when it holds a NUL byte. */
const char *ra_form_str(const ra_form *f, const char *name);
/* The same, but also NULL when it holds a control character (anything below 0x20 but tab,
 * and 0x7f) or is longer than maxlen bytes: a one-line field. */
const char *ra_form_line(const ra_form *f, const char *name, size_t maxlen);
/* The first value of name as bytes (len set), or NULL. */
const char *ra_form_bytes(const ra_form *f, const char *name, size_t *len);
/* How many values name has, and the i-th of them (as ra_form_str). */
size_t ra_form_count(const ra_form *f, const char *name);
const char *ra_form_str_at(const ra_form *f, const char *name, size_t i);

#endif
