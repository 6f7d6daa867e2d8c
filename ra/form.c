/* form: HTML form bodies into name/value fields.  urlencoded by a strict decoder; multipart
 * through MHD_PostProcessor, whose pieces of one value are joined here. */
#include <stdlib.h>
#include <string.h>
#include <microhttpd.h>
#include <openssl/crypto.h>

#include "buf.h"
#include "form.h"

static int name_ok(const char *s, size_t n)
{
	if (n == 0 || n > RA_FORM_NAME_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '_' || c == '.' || c == '-'))
			return 0;
	}
	return 1;
}

static ra_form *form_new(void)
{
	return calloc(1, sizeof(ra_form));
}

void ra_form_free(ra_form *f)
{
	if (f == NULL)
		return;
	for (size_t i = 0; i < f->n; i++) {
		free(f->f[i].name);
		if (f->f[i].value != NULL) {
			OPENSSL_cleanse(f->f[i].value, f->f[i].len);
			free(f->f[i].value);
		}
	}
	free(f->f);
	free(f);
}

/* A new field with a copy of name and room for vcap value bytes. */
static ik_status field_add(ra_form *f, const char *name, size_t nlen, size_t vcap)
{
	ra_form_field *fl;

	if (f->n == RA_FORM_MAX_FIELDS)
		return IK_ERR_ARG;
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 16;
		ra_form_field *nf = realloc(f->f, cap * sizeof(*nf));
		if (nf == NULL)
			return IK_ERR_NOMEM;
		f->f = nf;
		f->cap = cap;
	}
	fl = &f->f[f->n];
	fl->name = strndup(name, nlen);
	fl->value = malloc(vcap + 1);
	fl->len = 0;
	if (fl->name == NULL || fl->value == NULL) {
		free(fl->name);
		free(fl->value);
		return IK_ERR_NOMEM;
	}
	fl->value[0] = '\0';
	f->n++;
	return IK_OK;
}

static int hexval(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes p[0..n) (+ is a space, %XX a byte) into out; the length in *olen. */
static ik_status decode(const uint8_t *p, size_t n, char *out, size_t *olen)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		if (p[i] == '+') {
			out[o++] = ' ';
		} else if (p[i] == '%') {
			int hi, lo;
			if (n - i < 3 || (hi = hexval(p[i + 1])) < 0 || (lo = hexval(p[i + 2])) < 0)
				return IK_ERR_ARG;
			out[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else {
			out[o++] = (char)p[i];
		}
	}
	out[o] = '\0';
	*olen = o;
	return IK_OK;
}

ik_status ra_form_parse_urlencoded(const uint8_t *p, size_t n, ra_form **out)
{
	ra_form *f = form_new();
	char name[3 * RA_FORM_NAME_MAX + 1]; /* room for the encoded length: checked after */
	size_t i = 0;
	ik_status st = IK_OK;

	*out = NULL;
	if (f == NULL)
		return IK_ERR_NOMEM;
	while (i < n && st == IK_OK) {
		size_t end = i, eq, nlen;
		while (end < n && p[end] != '&')
			end++;
		if (end == i) {            /* "a=1&&b=2" or a trailing '&' */
			i = end + 1;
			continue;
		}
		eq = i;
		while (eq < end && p[eq] != '=')
			eq++;
		if (eq - i > 3 * RA_FORM_NAME_MAX ||
		    (st = decode(p + i, eq - i, name, &nlen)) != IK_OK)
			break;
		if (!name_ok(name, nlen) || nlen != strlen(name)) {
			st = IK_ERR_ARG;
			break;
		}
		if ((st = field_add(f, name, nlen, eq < end ? end - eq - 1 : 0)) != IK_OK)
			break;
		if (eq < end)
			st = decode(p + eq + 1, end - eq - 1, f->f[f->n - 1].value, &f->f[f->n - 1].len);
		i = end + 1;
	}
	if (st != IK_OK) {
		ra_form_free(f);
		return st;
	}
	*out = f;
	return IK_OK;
}

/* ---- multipart ---- */

typedef struct mp_ctx {
	ra_form *f;
	ik_status st;
} mp_ctx;

static enum MHD_Result on_part(void *cls, enum MHD_ValueKind kind, const char *key,
    const char *filename, const char *content_type, const char *transfer_encoding,
    const char *data, uint64_t off, size_t size)
{
	mp_ctx *m = cls;
	ra_form_field *fl;
	char *nv;
	size_t total;

	(void)kind;
	(void)filename;
	(void)content_type;
	(void)transfer_encoding;
	if (key == NULL || !name_ok(key, strlen(key))) {
		m->st = IK_ERR_ARG;
		return MHD_NO;
	}
	fl = m->f->n > 0 ? &m->f->f[m->f->n - 1] : NULL;
	/* a value comes in pieces: off > 0 continues the last field of that name */
	if (off == 0 || fl == NULL || strcmp(fl->name, key) != 0) {
		if (off != 0 || (m->st = field_add(m->f, key, strlen(key), 0)) != IK_OK) {
			if (m->st == IK_OK)
				m->st = IK_ERR_ARG;
			return MHD_NO;
		}
		fl = &m->f->f[m->f->n - 1];
	}
	if (off != fl->len || ik_size_add(fl->len, size, &total) != 0 || total == SIZE_MAX) {
		m->st = IK_ERR_ARG;
		return MHD_NO;
	}
	if ((nv = malloc(total + 1)) == NULL) {
		m->st = IK_ERR_NOMEM;
		return MHD_NO;
	}
	memcpy(nv, fl->value, fl->len);
	memcpy(nv + fl->len, data, size);
	nv[total] = '\0';
	OPENSSL_cleanse(fl->value, fl->len);
	free(fl->value);
	fl->value = nv;
	fl->len = total;
	return MHD_YES;
}

ik_status ra_form_parse_multipart(struct MHD_Connection *c, const uint8_t *p, size_t n,
    ra_form **out)
{
	mp_ctx m = { .f = form_new(), .st = IK_OK };
	struct MHD_PostProcessor *pp;
	enum MHD_Result ok;

	*out = NULL;
	if (m.f == NULL)
		return IK_ERR_NOMEM;
	if ((pp = MHD_create_post_processor(c, 64 * 1024, on_part, &m)) == NULL) {
		ra_form_free(m.f);
		return IK_ERR_ARG;
	}
	ok = MHD_post_process(pp, (const char *)p, n);
	if (MHD_destroy_post_processor(pp) != MHD_YES || ok != MHD_YES)
		m.st = m.st != IK_OK ? m.st : IK_ERR_ARG;
	if (m.st != IK_OK) {
		ra_form_free(m.f);
		return m.st;
	}
	*out = m.f;
	return IK_OK;
}

/* ---- access ---- */

const char *ra_form_bytes(const ra_form *f, const char *name, size_t *len)
{
	for (size_t i = 0; f != NULL && i < f->n; i++)
		if (strcmp(f->f[i].name, name) == 0) {
			*len = f->f[i].len;
			return f->f[i].value;
		}
	return NULL;
}

const char *ra_form_str(const ra_form *f, const char *name)
{
	return ra_form_str_at(f, name, 0);
}

const char *ra_form_line(const ra_form *f, const char *name, size_t maxlen)
{
	const char *s = ra_form_str(f, name);
	size_t n;

	if (s == NULL || (n = strlen(s)) > maxlen)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (((unsigned char)s[i] < 0x20 && s[i] != '\t') || s[i] == 0x7f)
			return NULL;
	return s;
}

size_t ra_form_count(const ra_form *f, const char *name)
{
	size_t k = 0;

	for (size_t i = 0; f != NULL && i < f->n; i++)
		if (strcmp(f->f[i].name, name) == 0)
			k++;
	return k;
}

const char *ra_form_str_at(const ra_form *f, const char *name, size_t idx)
{
	size_t k = 0;

	for (size_t i = 0; f != NULL && i < f->n; i++) {
		if (strcmp(f->f[i].name, name) != 0)
			continue;
		if (k++ != idx)
			continue;
		return strlen(f->f[i].value) == f->f[i].len ? f->f[i].value : NULL;
	}
	return NULL;
}
