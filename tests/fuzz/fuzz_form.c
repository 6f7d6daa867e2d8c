/* libFuzzer target for the web pages' untrusted inputs: an HTML form body (ra/form.c's
 * strict urlencoded decoder), an Accept-Language header (ra/i18n.c) and the escaping
 * writer (ra/html.c) fed the decoded values.  Beyond the sanitizers it checks that values
 * are NUL-terminated at their length, that lookups agree with the fields, and that escaped
 * output never holds a raw markup character. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "form.h"
#include "html.h"
#include "i18n.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_escaped(const char *s, size_t n)
{
	ra_html h;
	const char *p;
	size_t len;

	ra_html_init(&h, NULL, RA_LANG_EN);
	ra_html_textn(&h, s, n);
	ra_html_url(&h, s);
	if (h.st != IK_OK)
		abort();
	p = (const char *)ik_buf_ptr(&h.b);
	len = ik_buf_remaining(&h.b);
	for (size_t i = 0; i < len; i++)
		if (p[i] == '<' || p[i] == '>' || p[i] == '"' || p[i] == '\'')
			abort();
	ra_html_cleanup(&h);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ra_form *f = NULL;
	char *s;

	if (ra_form_parse_urlencoded(data, size, &f) == IK_OK) {
		for (size_t i = 0; i < f->n; i++) {
			const ra_form_field *fl = &f->f[i];
			const char *v, *b;
			size_t n = 0;
			if (fl->value[fl->len] != '\0' || fl->name[0] == '\0')
				abort();
			/* the first value of the name: a string exactly when it holds no NUL */
			v = ra_form_str_at(f, fl->name, 0);
			b = ra_form_bytes(f, fl->name, &n);
			if (b == NULL || (v != NULL && (v != b || strlen(v) != n)) ||
			    (v == NULL && memchr(b, 0, n) == NULL))
				abort();
			if (ra_form_count(f, fl->name) == 0)
				abort();
			check_escaped(fl->value, fl->len);
		}
		ra_form_free(f);
	}
	/* the same bytes as a header value */
	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if ((unsigned)ra_lang_negotiate(s, s) >= RA_LANG_COUNT ||
	    (unsigned)ra_lang_negotiate(NULL, s) >= RA_LANG_COUNT)
		abort();
	free(s);
	return 0;
}
