/* html: an escaping page writer over ik_buf.  Markup only from literals; text, numbers,
 * messages, dates and URL parameters are escaped as they are written. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "html.h"

void ra_html_init(ra_html *h, const ra_i18n *i18n, ra_lang lang)
{
	memset(h, 0, sizeof(*h));
	ik_buf_init(&h->b, RA_HTML_MAX);
	h->i18n = i18n;
	h->lang = lang;
}

void ra_html_secret(ra_html *h)
{
	ik_buf_set_secret(&h->b);
}

void ra_html_cleanup(ra_html *h)
{
	ik_buf_cleanup(&h->b);
}

static void put(ra_html *h, const char *s, size_t n)
{
	if (h->st == IK_OK && n > 0)
		h->st = ik_buf_put(&h->b, s, n);
}

void ra_html_markup_(ra_html *h, const char *s, size_t n)
{
	put(h, s, n);
}

static const char *entity(char c)
{
	switch (c) {
	case '&': return "&amp;";
	case '<': return "&lt;";
	case '>': return "&gt;";
	case '"': return "&quot;";
	case '\'': return "&#39;";
	default: return NULL;
	}
}

void ra_html_textn(ra_html *h, const char *s, size_t n)
{
	size_t run = 0;

	for (size_t i = 0; i < n; i++) {
		const char *e = entity(s[i]);
		if (e == NULL)
			continue;
		put(h, s + run, i - run);
		put(h, e, strlen(e));
		run = i + 1;
	}
	put(h, s + run, n - run);
}

void ra_html_text(ra_html *h, const char *s)
{
	if (s != NULL)
		ra_html_textn(h, s, strlen(s));
}

void ra_html_int(ra_html *h, long long v)
{
	char num[24];
	int n = snprintf(num, sizeof(num), "%lld", v);

	put(h, num, (size_t)n);
}

void ra_html_uint(ra_html *h, unsigned long long v)
{
	char num[24];
	int n = snprintf(num, sizeof(num), "%llu", v);

	put(h, num, (size_t)n);
}

void ra_html_msg(ra_html *h, const char *key)
{
	ra_html_text(h, ra_i18n_get(h->i18n, h->lang, key));
}

void ra_html_msgv(ra_html *h, const char *key, const char *const *args, size_t nargs)
{
	const char *m = ra_i18n_get(h->i18n, h->lang, key), *p = m;

	while (*p != '\0') {
		const char *b = strchr(p, '{');
		if (b == NULL)
			break;
		if (b[1] >= '1' && b[1] <= '9' && b[2] == '}') {
			size_t k = (size_t)(b[1] - '1');
			ra_html_textn(h, p, (size_t)(b - p));
			ra_html_text(h, k < nargs && args[k] != NULL ? args[k] : "");
			p = b + 3;
		} else {
			ra_html_textn(h, p, (size_t)(b - p) + 1);
			p = b + 1;
		}
	}
	ra_html_text(h, p);
}

void ra_html_url(ra_html *h, const char *s)
{
	static const char hexd[] = "0123456789ABCDEF";
	char enc[3] = { '%', 0, 0 };

	for (; s != NULL && *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~') {
			put(h, (const char *)s, 1);
			continue;
		}
		enc[1] = hexd[c >> 4];
		enc[2] = hexd[c & 15];
		put(h, enc, 3);
	}
}

void ra_html_time(ra_html *h, int64_t t, int with_time)
{
	time_t tt = (time_t)t;
	struct tm tm;
	char out[64];
	size_t n;

	if (t == 0 || localtime_r(&tt, &tm) == NULL) {
		put(h, "-", 1);
		return;
	}
	/* %b is English in the C locale the daemon runs in */
	if (h->lang == RA_LANG_EN)
		n = with_time ? strftime(out, sizeof(out), "%d %b %Y %H:%M", &tm) :
		    strftime(out, sizeof(out), "%d %b %Y", &tm);
	else
		n = with_time ? strftime(out, sizeof(out), "%Y/%m/%d %H:%M", &tm) :
		    strftime(out, sizeof(out), "%Y/%m/%d", &tm);
	ra_html_textn(h, out, n);
}

void ra_html_date_value(ra_html *h, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	char out[16];
	size_t n;

	if (t == 0 || localtime_r(&tt, &tm) == NULL)
		return;
	n = strftime(out, sizeof(out), "%Y-%m-%d", &tm);
	ra_html_textn(h, out, n);
}

ik_status ra_html_escape(const char *s, char *out, size_t outsz)
{
	size_t o = 0;

	for (; *s != '\0'; s++) {
		const char *e = entity(*s);
		size_t n = e != NULL ? strlen(e) : 1;
		if (o + n >= outsz)
			return IK_ERR_ARG;
		memcpy(out + o, e != NULL ? e : s, n);
		o += n;
	}
	if (o >= outsz)
		return IK_ERR_ARG;
	out[o] = '\0';
	return IK_OK;
}
