/* cfile: read the ceremony file with libinih (our reader numbers the lines and sees every
 * section, also empty ones), collect every problem as "FILE:LINE: [section] key: reason",
 * and the typed getters that cfile_check.c validates values with. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "ceremony.h"
#include "cfile.h"
#include "cfile_int.h"

/* ---- errors ---- */

static void verr(cf_file *cf, int line, const char *section, const char *key, const char *fmt,
    va_list ap) __attribute__((format(printf, 5, 0)));
static void verr(cf_file *cf, int line, const char *section, const char *key, const char *fmt,
    va_list ap)
{
	char why[240], msg[sizeof(cf->errors[0])];

	if (cf->nerrors == CF_MAX_ERRORS) {
		cf->errors_dropped = 1;
		return;
	}
	vsnprintf(why, sizeof(why), fmt, ap);
	if (line <= 0 && section == NULL)
		snprintf(msg, sizeof(msg), "%s: %s", cf->path, why);
	else if (line <= 0)
		snprintf(msg, sizeof(msg), "%s: [%s]: %s", cf->path, section, why);
	else if (section == NULL)
		snprintf(msg, sizeof(msg), "%s:%d: %s", cf->path, line, why);
	else if (key == NULL)
		snprintf(msg, sizeof(msg), "%s:%d: [%s]: %s", cf->path, line, section, why);
	else
		snprintf(msg, sizeof(msg), "%s:%d: [%s] %s: %s", cf->path, line, section, key, why);
	cf->error_line[cf->nerrors] = line;
	memcpy(cf->errors[cf->nerrors++], msg, sizeof(msg));
}

void cfi_err_at(cf_file *cf, int line, const char *section, const char *key, const char *fmt,
    ...)
{
	va_list ap;

	va_start(ap, fmt);
	verr(cf, line, section, key, fmt, ap);
	va_end(ap);
}

int cf_line(const cf_file *cf, size_t sec, const char *key)
{
	const cf_section *s = &cf->sections[sec];

	for (size_t i = 0; key != NULL && i < s->nkv; i++)
		if (strcmp(s->kv[i].key, key) == 0)
			return s->kv[i].line;
	return s->line;
}

void cf_error(cf_file *cf, size_t sec, const char *key, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verr(cf, cf_line(cf, sec, key), cf->sections[sec].name, key, fmt, ap);
	va_end(ap);
}

void cf_print_errors(const cf_file *cf)
{
	size_t order[CF_MAX_ERRORS];

	/* by line, keeping the order of problems found on the same line */
	for (size_t i = 0; i < cf->nerrors; i++) {
		size_t j = i;
		for (; j > 0 && cf->error_line[order[j - 1]] > cf->error_line[i]; j--)
			order[j] = order[j - 1];
		order[j] = i;
	}
	for (size_t i = 0; i < cf->nerrors; i++)
		fprintf(stderr, "%s\n", cf->errors[order[i]]);
	if (cf->errors_dropped)
		fprintf(stderr, "%s: (more errors not shown)\n", cf->path);
}

int cfi_is_id(const char *s, size_t n, size_t max)
{
	if (n == 0 || n > max || !(islower((unsigned char)s[0]) || isdigit((unsigned char)s[0])))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) && s[i] != '-' &&
		    s[i] != '_')
			return 0;
	return 1;
}

/* ---- reading: libinih over the file's bytes, our reader numbering lines ---- */

typedef struct cf_parse {
	cf_file *cf;
	const char *p, *end;
	int line;
	long cur;            /* the section keys go to, -1 = none or a broken header */
	int any_header;
} cf_parse;

static void new_section(cf_parse *ps, const char *s, size_t n)
{
	cf_file *cf = ps->cf;
	cf_section *sec;

	ps->cur = -1;
	if (n == 0 || n >= sizeof(cf->sections[0].name)) {
		cfi_err_at(cf, ps->line, NULL, NULL, "section name must be 1..%zu characters",
		    sizeof(cf->sections[0].name) - 1);
		return;
	}
	for (size_t i = 0; i < cf->nsections; i++)
		if (strlen(cf->sections[i].name) == n && memcmp(cf->sections[i].name, s, n) == 0) {
			cfi_err_at(cf, ps->line, cf->sections[i].name, NULL,
			    "duplicate section (first on line %d)", cf->sections[i].line);
			return;
		}
	if (cf->nsections == CF_MAX_SECTIONS) {
		cfi_err_at(cf, ps->line, NULL, NULL, "too many sections (at most %d tokens and %d steps)",
		    CF_MAX_TOKENS, CF_MAX_STEPS);
		return;
	}
	sec = &cf->sections[cf->nsections];
	memset(sec, 0, sizeof(*sec));
	memcpy(sec->name, s, n);
	sec->name[n] = '\0';
	sec->line = ps->line;
	ps->cur = (long)cf->nsections++;
}

/* Check one line's shape; returns 0 if it must not reach inih (reported here). */
static int classify(cf_parse *ps, const char *s, size_t n)
{
	if (n == 0 || s[0] == ';' || s[0] == '#')
		return 1;
	if (s[0] == '[') {
		const char *close = memchr(s, ']', n);
		const char *a = s + 1, *b;
		size_t rest;
		ps->any_header = 1;
		if (close == NULL) {
			ps->cur = -1;
			cfi_err_at(ps->cf, ps->line, NULL, NULL, "section header without ']'");
			return 0;
		}
		for (rest = (size_t)(s + n - close) - 1, b = close + 1; rest > 0 && isspace((unsigned char)*b); rest--)
			b++;
		if (rest > 0 && *b != ';' && *b != '#') {
			ps->cur = -1;
			cfi_err_at(ps->cf, ps->line, NULL, NULL, "text after the section header");
			return 0;
		}
		while (a < close && isspace((unsigned char)*a))
			a++;
		b = close;
		while (b > a && isspace((unsigned char)b[-1]))
			b--;
		new_section(ps, a, (size_t)(b - a));
		return 1;
	}
	if (memchr(s, '=', n) == NULL && memchr(s, ':', n) == NULL) {
		cfi_err_at(ps->cf, ps->line, NULL, NULL, "expected 'key = value', a [section] or a comment");
		return 0;
	}
	return 1;
}

static char *reader(char *str, int num, void *stream)
{
	cf_parse *ps = stream;
	const char *s = ps->p, *nl;
	size_t len;

	if (ps->p >= ps->end)
		return NULL;
	nl = memchr(ps->p, '\n', (size_t)(ps->end - ps->p));
	len = nl != NULL ? (size_t)(nl - ps->p) : (size_t)(ps->end - ps->p);
	ps->p += len + (nl != NULL);
	ps->line++;
	if (len > 0 && s[len - 1] == '\r')
		len--;
	while (len > 0 && (*s == ' ' || *s == '\t')) /* no continuation lines */
		s++, len--;
	if (len + 2 > (size_t)num) {
		cfi_err_at(ps->cf, ps->line, NULL, NULL, "line longer than %d characters", num - 2);
		len = 0;
	} else if (memchr(s, '\0', len) != NULL) {
		cfi_err_at(ps->cf, ps->line, NULL, NULL, "NUL byte in the line");
		len = 0;
	} else if (!classify(ps, s, len)) {
		len = 0;
	}
	memcpy(str, s, len);
	str[len] = '\n';
	str[len + 1] = '\0';
	return str;
}

static int on_key(void *user, const char *section, const char *name, const char *value)
{
	cf_parse *ps = user;
	cf_file *cf = ps->cf;
	cf_section *sec;
	size_t nn = strlen(name), vn = strlen(value);

	(void)section; /* the reader tracks sections (also empty ones) */
	if (ps->cur < 0) {
		if (!ps->any_header)
			cfi_err_at(cf, ps->line, NULL, NULL, "'%s' outside any section", name);
		return 1;
	}
	sec = &cf->sections[ps->cur];
	if (nn == 0 || nn >= sizeof(sec->kv[0].key)) {
		cfi_err_at(cf, ps->line, sec->name, NULL, "bad key name");
		return 1;
	}
	for (size_t i = 0; i < sec->nkv; i++)
		if (strcmp(sec->kv[i].key, name) == 0) {
			cfi_err_at(cf, ps->line, sec->name, name, "duplicate key (first on line %d)",
			    sec->kv[i].line);
			return 1;
		}
	if (sec->nkv == CF_MAX_KV) {
		cfi_err_at(cf, ps->line, sec->name, name, "too many keys in this section");
		return 1;
	}
	memcpy(sec->kv[sec->nkv].key, name, nn + 1);
	if (vn >= sizeof(sec->kv[0].value))
		vn = sizeof(sec->kv[0].value) - 1;
	memcpy(sec->kv[sec->nkv].value, value, vn);
	sec->kv[sec->nkv].value[vn] = '\0';
	sec->kv[sec->nkv].line = ps->line;
	sec->nkv++;
	return 1;
}

static ik_status read_text(cf_file *cf)
{
	struct stat st;
	size_t done = 0;
	int fd = open(cf->path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		cfi_err_at(cf, 0, NULL, NULL, "cannot open: %s", strerror(errno));
		return IK_ERR_CONFIG;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > CF_MAX_FILE) {
		cfi_err_at(cf, 0, NULL, NULL, "not a regular file of at most %d bytes", CF_MAX_FILE);
		close(fd);
		return IK_ERR_CONFIG;
	}
	cf->text = malloc((size_t)st.st_size + 1);
	while (cf->text != NULL && done < (size_t)st.st_size) {
		ssize_t r = read(fd, cf->text + done, (size_t)st.st_size - done);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		done += (size_t)r;
	}
	close(fd);
	if (cf->text == NULL || done != (size_t)st.st_size) {
		cfi_err_at(cf, 0, NULL, NULL, "cannot read the file");
		return IK_ERR_CONFIG;
	}
	cf->text[done] = '\0';
	cf->text_len = done;
	return cer_sha256(cf->text, done, cf->sha256);
}

/* ---- values ---- */

/* The key's entry, marked as used; NULL (and an error if required) when absent. */
cf_kv *cfi_get(cf_file *cf, size_t sec, const char *key, int required)
{
	cf_section *s = &cf->sections[sec];

	for (size_t i = 0; i < s->nkv; i++)
		if (strcmp(s->kv[i].key, key) == 0) {
			s->kv[i].used = 1;
			return &s->kv[i];
		}
	if (required)
		cfi_err_at(cf, s->line, s->name, key, "required key missing");
	return NULL;
}

int cfi_bad(cf_file *cf, size_t sec, const cf_kv *kv, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verr(cf, kv->line, cf->sections[sec].name, kv->key, fmt, ap);
	va_end(ap);
	return -1;
}

/* 1 = set, 0 = absent, -1 = bad (reported). */
int cfi_text(cf_file *cf, size_t sec, const char *key, int required, char *dst, size_t max)
{
	cf_kv *kv = cfi_get(cf, sec, key, required);

	if (kv == NULL)
		return required ? -1 : 0;
	if (!cer_text_ok(kv->value, max))
		return BAD(kv, "must be 1..%zu bytes of UTF-8 text without control characters", max);
	memcpy(dst, kv->value, strlen(kv->value) + 1);
	return 1;
}

int cfi_label(cf_file *cf, size_t sec, const char *key, int required, char *dst)
{
	cf_kv *kv = cfi_get(cf, sec, key, required);
	size_t n;

	if (kv == NULL)
		return required ? -1 : 0;
	n = strlen(kv->value);
	for (size_t i = 0; i < n; i++)
		if (kv->value[i] < 0x20 || kv->value[i] > 0x7e)
			n = 0;
	if (n == 0 || n > CF_LABEL_MAX)
		return BAD(kv, "must be 1..%d printable ASCII characters", CF_LABEL_MAX);
	memcpy(dst, kv->value, n + 1);
	return 1;
}

int cfi_int(cf_file *cf, size_t sec, const char *key, int required, long long min,
    long long max, long long *out)
{
	cf_kv *kv = cfi_get(cf, sec, key, required);
	char *end = NULL;
	long long v;

	if (kv == NULL)
		return required ? -1 : 0;
	errno = 0;
	v = strtoll(kv->value, &end, 10);
	if (!isdigit((unsigned char)kv->value[0]) || errno != 0 || *end != '\0' || v < min || v > max)
		return BAD(kv, "expected a whole number in %lld..%lld", min, max);
	*out = v;
	return 1;
}

int cfi_path(cf_file *cf, size_t sec, const char *key, int required, char *dst)
{
	cf_kv *kv = cfi_get(cf, sec, key, required);
	int n;

	if (kv == NULL)
		return required ? -1 : 0;
	if (kv->value[0] == '\0')
		return BAD(kv, "empty path");
	if (kv->value[0] == '/')
		n = snprintf(dst, CF_PATH_MAX, "%s", kv->value);
	else
		n = snprintf(dst, CF_PATH_MAX, "%s/%s", cf->dir, kv->value);
	if (n < 0 || n >= CF_PATH_MAX)
		return BAD(kv, "path too long");
	return 1;
}

int cfi_url(cf_file *cf, size_t sec, const char *key, char *dst)
{
	cf_kv *kv = cfi_get(cf, sec, key, 0);
	size_t n;

	if (kv == NULL)
		return 0;
	n = strlen(kv->value);
	for (size_t i = 0; i < n; i++)
		if (kv->value[i] <= 0x20 || kv->value[i] > 0x7e)
			return BAD(kv, "must be an http:// URL without spaces");
	if (strncmp(kv->value, "http://", 7) != 0 || n < 8 || n > CF_URL_MAX)
		return BAD(kv, "must be an http:// URL of at most %d characters", CF_URL_MAX);
	memcpy(dst, kv->value, n + 1);
	return 1;
}

int cfi_hex(cf_file *cf, size_t sec, const char *key, uint8_t *out, size_t outsz,
    size_t *outlen)
{
	cf_kv *kv = cfi_get(cf, sec, key, 0);
	size_t n;

	if (kv == NULL)
		return 0;
	n = strlen(kv->value);
	if (n == 0 || n % 2 != 0 || n / 2 > outsz || strspn(kv->value, "0123456789abcdefABCDEF") != n)
		return BAD(kv, "expected 1..%zu bytes of hex (e.g. 01)", outsz);
	for (size_t i = 0; i < n / 2; i++) {
		char b[3] = { kv->value[2 * i], kv->value[2 * i + 1], '\0' };
		out[i] = (uint8_t)strtoul(b, NULL, 16);
	}
	*outlen = n / 2;
	return 1;
}

/* Words separated by spaces or commas. fn returns 0 after reporting a bad word. */
int cfi_list(cf_file *cf, size_t sec, const char *key, int required,
    int (*fn)(cf_file *cf, size_t sec, cf_kv *kv, const char *w, size_t n, void *arg), void *arg)
{
	cf_kv *kv = cfi_get(cf, sec, key, required);
	const char *s;
	int words = 0;

	if (kv == NULL)
		return required ? -1 : 0;
	for (s = kv->value; *s != '\0';) {
		size_t n;
		while (*s == ' ' || *s == ',' || *s == '\t')
			s++;
		n = strcspn(s, " ,\t");
		if (n == 0)
			break;
		if (!fn(cf, sec, kv, s, n, arg))
			return -1;
		words++;
		s += n;
	}
	if (words == 0)
		return BAD(kv, "empty list");
	return 1;
}

/* Keys not used by the section's validation: unknown (or not for this action). */
void cfi_check_unused(cf_file *cf, size_t sec, const char *what)
{
	cf_section *s = &cf->sections[sec];

	for (size_t i = 0; i < s->nkv; i++)
		if (!s->kv[i].used)
			cfi_err_at(cf, s->kv[i].line, s->name, s->kv[i].key, "unknown key%s%s",
			    what != NULL ? " for " : "", what != NULL ? what : "");
}

ik_status cf_load(const char *path, time_t now, cf_file **out)
{
	cf_file *cf = calloc(1, sizeof(*cf));
	cf_parse ps;
	char *slash, *real, dir[CF_PATH_MAX];
	int rc;

	*out = cf;
	if (cf == NULL)
		return IK_ERR_NOMEM;
	cf->now = now;
	cf->shares_token = cf->signer_step = -1;
	snprintf(cf->path, sizeof(cf->path), "%s", path);
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else
		slash[slash == dir ? 1 : 0] = '\0';
	if ((real = realpath(dir, NULL)) == NULL || strlen(real) >= sizeof(cf->dir)) {
		cfi_err_at(cf, 0, NULL, NULL, "cannot resolve its directory: %s",
		    real == NULL ? strerror(errno) : "path too long");
		free(real);
		return IK_ERR_CONFIG;
	}
	memcpy(cf->dir, real, strlen(real) + 1);
	free(real);
	if (strlen(path) >= sizeof(cf->path) || read_text(cf) != IK_OK)
		return IK_ERR_CONFIG;
	memset(&ps, 0, sizeof(ps));
	ps.cf = cf;
	ps.p = cf->text;
	ps.end = cf->text + cf->text_len;
	ps.cur = -1;
	rc = ini_parse_stream(reader, &ps, on_key, &ps);
	if (rc > 0 && cf->nerrors == 0)
		cfi_err_at(cf, rc, NULL, NULL, "syntax error");
	else if (rc < 0)
		cfi_err_at(cf, 0, NULL, NULL, "cannot parse the file");
	cfi_validate(cf);
	return cf->nerrors == 0 ? IK_OK : IK_ERR_CONFIG;
}

void cf_free(cf_file *cf)
{
	if (cf == NULL)
		return;
	if (cf->text != NULL) {
		OPENSSL_cleanse(cf->text, cf->text_len);
		free(cf->text);
	}
	free(cf);
}
