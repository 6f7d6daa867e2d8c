/* cfile: read the ceremony file with libinih and validate all of it — sections, keys, values,
 * references between sections, weak settings — collecting every problem as
 * "FILE:LINE: [section] key: reason" before anything else is touched. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <pwd.h>
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

#define BACKDATE_SECONDS 60

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

static void err_at(cf_file *cf, int line, const char *section, const char *key, const char *fmt,
    ...) __attribute__((format(printf, 5, 6)));
static void err_at(cf_file *cf, int line, const char *section, const char *key, const char *fmt,
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

/* ---- names ---- */

static const struct { const char *name; cf_action a; } actions[] = {
	{ "init-token", CF_INIT_TOKEN }, { "generate-key", CF_GENERATE_KEY },
	{ "self-sign", CF_SELF_SIGN }, { "use-root", CF_USE_ROOT }, { "sign-ca", CF_SIGN_CA },
	{ "sign-crl", CF_SIGN_CRL },
};

const char *cf_action_name(cf_action a)
{
	for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
		if (actions[i].a == a)
			return actions[i].name;
	return "?";
}

static const struct { const char *name; hsm_keyalg alg; } algs[] = {
	{ "ec-p256", HSM_KEY_EC_P256 }, { "ec-p384", HSM_KEY_EC_P384 },
	{ "rsa-3072", HSM_KEY_RSA_3072 }, { "rsa-4096", HSM_KEY_RSA_4096 },
};

const char *cf_alg_name(hsm_keyalg a)
{
	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
		if (algs[i].alg == a)
			return algs[i].name;
	return "?";
}

static const char *const reasons[] = {
	"unspecified", "keyCompromise", "cACompromise", "affiliationChanged", "superseded",
	"cessationOfOperation",
};

const char *cf_reason_name(int reason)
{
	return reason >= 0 && (size_t)reason < sizeof(reasons) / sizeof(reasons[0]) ?
	    reasons[reason] : "none";
}

static int is_id(const char *s, size_t n, size_t max)
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
		err_at(cf, ps->line, NULL, NULL, "section name must be 1..%zu characters",
		    sizeof(cf->sections[0].name) - 1);
		return;
	}
	for (size_t i = 0; i < cf->nsections; i++)
		if (strlen(cf->sections[i].name) == n && memcmp(cf->sections[i].name, s, n) == 0) {
			err_at(cf, ps->line, cf->sections[i].name, NULL,
			    "duplicate section (first on line %d)", cf->sections[i].line);
			return;
		}
	if (cf->nsections == CF_MAX_SECTIONS) {
		err_at(cf, ps->line, NULL, NULL, "too many sections (at most %d tokens and %d steps)",
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
			err_at(ps->cf, ps->line, NULL, NULL, "section header without ']'");
			return 0;
		}
		for (rest = (size_t)(s + n - close) - 1, b = close + 1; rest > 0 && isspace((unsigned char)*b); rest--)
			b++;
		if (rest > 0 && *b != ';' && *b != '#') {
			ps->cur = -1;
			err_at(ps->cf, ps->line, NULL, NULL, "text after the section header");
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
		err_at(ps->cf, ps->line, NULL, NULL, "expected 'key = value', a [section] or a comment");
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
		err_at(ps->cf, ps->line, NULL, NULL, "line longer than %d characters", num - 2);
		len = 0;
	} else if (memchr(s, '\0', len) != NULL) {
		err_at(ps->cf, ps->line, NULL, NULL, "NUL byte in the line");
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
			err_at(cf, ps->line, NULL, NULL, "'%s' outside any section", name);
		return 1;
	}
	sec = &cf->sections[ps->cur];
	if (nn == 0 || nn >= sizeof(sec->kv[0].key)) {
		err_at(cf, ps->line, sec->name, NULL, "bad key name");
		return 1;
	}
	for (size_t i = 0; i < sec->nkv; i++)
		if (strcmp(sec->kv[i].key, name) == 0) {
			err_at(cf, ps->line, sec->name, name, "duplicate key (first on line %d)",
			    sec->kv[i].line);
			return 1;
		}
	if (sec->nkv == CF_MAX_KV) {
		err_at(cf, ps->line, sec->name, name, "too many keys in this section");
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
		err_at(cf, 0, NULL, NULL, "cannot open: %s", strerror(errno));
		return IK_ERR_CONFIG;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > CF_MAX_FILE) {
		err_at(cf, 0, NULL, NULL, "not a regular file of at most %d bytes", CF_MAX_FILE);
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
		err_at(cf, 0, NULL, NULL, "cannot read the file");
		return IK_ERR_CONFIG;
	}
	cf->text[done] = '\0';
	cf->text_len = done;
	return cer_sha256(cf->text, done, cf->sha256);
}

/* ---- values ---- */

/* The key's entry, marked as used; NULL (and an error if required) when absent. */
static cf_kv *get(cf_file *cf, size_t sec, const char *key, int required)
{
	cf_section *s = &cf->sections[sec];

	for (size_t i = 0; i < s->nkv; i++)
		if (strcmp(s->kv[i].key, key) == 0) {
			s->kv[i].used = 1;
			return &s->kv[i];
		}
	if (required)
		err_at(cf, s->line, s->name, key, "required key missing");
	return NULL;
}

static int bad(cf_file *cf, size_t sec, const cf_kv *kv, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int bad(cf_file *cf, size_t sec, const cf_kv *kv, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verr(cf, kv->line, cf->sections[sec].name, kv->key, fmt, ap);
	va_end(ap);
	return -1;
}

#define BAD(kv, ...) bad(cf, sec, (kv), __VA_ARGS__)

/* 1 = set, 0 = absent, -1 = bad (reported). */
static int get_text(cf_file *cf, size_t sec, const char *key, int required, char *dst, size_t max)
{
	cf_kv *kv = get(cf, sec, key, required);

	if (kv == NULL)
		return required ? -1 : 0;
	if (!cer_text_ok(kv->value, max))
		return BAD(kv, "must be 1..%zu bytes of UTF-8 text without control characters", max);
	memcpy(dst, kv->value, strlen(kv->value) + 1);
	return 1;
}

static int get_label(cf_file *cf, size_t sec, const char *key, int required, char *dst)
{
	cf_kv *kv = get(cf, sec, key, required);
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

static int get_int(cf_file *cf, size_t sec, const char *key, int required, long long min,
    long long max, long long *out)
{
	cf_kv *kv = get(cf, sec, key, required);
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

static int get_path(cf_file *cf, size_t sec, const char *key, int required, char *dst)
{
	cf_kv *kv = get(cf, sec, key, required);
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

static int get_url(cf_file *cf, size_t sec, const char *key, char *dst)
{
	cf_kv *kv = get(cf, sec, key, 0);
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

static int get_hex(cf_file *cf, size_t sec, const char *key, uint8_t *out, size_t outsz,
    size_t *outlen)
{
	cf_kv *kv = get(cf, sec, key, 0);
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
static int get_list(cf_file *cf, size_t sec, const char *key, int required,
    int (*fn)(cf_file *cf, size_t sec, cf_kv *kv, const char *w, size_t n, void *arg), void *arg)
{
	cf_kv *kv = get(cf, sec, key, required);
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
static void check_unused(cf_file *cf, size_t sec, const char *what)
{
	cf_section *s = &cf->sections[sec];

	for (size_t i = 0; i < s->nkv; i++)
		if (!s->kv[i].used)
			err_at(cf, s->kv[i].line, s->name, s->kv[i].key, "unknown key%s%s",
			    what != NULL ? " for " : "", what != NULL ? what : "");
}

/* ---- [ceremony] ---- */

static int custodian_index(const cf_file *cf, const char *w, size_t n)
{
	for (size_t i = 0; i < cf->ncustodians; i++)
		if (strlen(cf->custodians[i]) == n && memcmp(cf->custodians[i], w, n) == 0)
			return (int)i;
	return -1;
}

static int word_custodian(cf_file *cf, size_t sec, cf_kv *kv, const char *w, size_t n, void *arg)
{
	(void)arg;
	if (!is_id(w, n, CF_ID_MAX))
		return BAD(kv, "custodian '%.*s': names are 1..%d characters of a-z 0-9 - _", (int)n, w,
		    CF_ID_MAX), 0;
	if (custodian_index(cf, w, n) >= 0)
		return BAD(kv, "custodian '%.*s' listed twice", (int)n, w), 0;
	if (cf->ncustodians == SHARE_MAX_N)
		return BAD(kv, "at most %d custodians", SHARE_MAX_N), 0;
	memcpy(cf->custodians[cf->ncustodians], w, n);
	cf->custodians[cf->ncustodians++][n] = '\0';
	return 1;
}

static int word_present(cf_file *cf, size_t sec, cf_kv *kv, const char *w, size_t n, void *arg)
{
	int i = custodian_index(cf, w, n);

	(void)arg;
	if (i < 0)
		return BAD(kv, "'%.*s' is not one of the custodians", (int)n, w), 0;
	cf->present |= 1u << i;
	return 1;
}

static void ceremony_section(cf_file *cf, size_t sec)
{
	long long v;
	int r, rc;

	get_text(cf, sec, "title", 1, cf->title, CF_TITLE_MAX);
	get_path(cf, sec, "out", 1, cf->out);
	if (get_path(cf, sec, "module", 0, cf->module) == 0)
		snprintf(cf->module, sizeof(cf->module), "%s", HSM_DEFAULT_MODULE);
	rc = get_list(cf, sec, "custodians", 0, word_custodian, NULL);
	r = get_int(cf, sec, "threshold", 0, 2, SHARE_MAX_N, &v);
	if (r == 1)
		cf->threshold = (unsigned)v;
	if (rc == 1 && cf->ncustodians < 2)
		cf_error(cf, sec, "custodians", "at least two custodians");
	if (rc == 1 && r == 0)
		cf_error(cf, sec, "threshold", "required with custodians");
	if (r == 1 && rc == 0)
		cf_error(cf, sec, "custodians", "required with threshold");
	if (r == 1 && rc == 1 && cf->threshold > cf->ncustodians)
		cf_error(cf, sec, "threshold", "%u is more than the %zu custodians", cf->threshold,
		    cf->ncustodians);
	if (rc == 1) {
		if (get_list(cf, sec, "present", 0, word_present, NULL) == 0)
			cf->present = (1u << cf->ncustodians) - 1;
	} else if (get(cf, sec, "present", 0) != NULL) {
		cf_error(cf, sec, "present", "needs a custodians list");
	}
	if (get_path(cf, sec, "shares_dir", 0, cf->shares_dir) == 0 && cf->out[0] != '\0')
		snprintf(cf->shares_dir, sizeof(cf->shares_dir), "%.*s/shares", CF_PATH_MAX - 8, cf->out);
	/* transcript_signer is resolved after the steps */
}

/* ---- [token.NAME] ---- */

static void token_section(cf_file *cf, size_t sec)
{
	cf_token *t = &cf->tokens[cf->ntokens++];
	cf_kv *kv;

	memset(t, 0, sizeof(*t));
	snprintf(t->id, sizeof(t->id), "%s", cf->sections[sec].name + 6);
	t->sec = sec;
	t->init_step = t->first_use = -1;
	get_label(cf, sec, "label", 1, t->label);
	if (get_path(cf, sec, "module", 0, t->module) == 0)
		memcpy(t->module, cf->module, sizeof(t->module));
	for (size_t i = 0; i + 1 < cf->ntokens; i++)
		if (t->label[0] != '\0' && strcmp(cf->tokens[i].label, t->label) == 0)
			cf_error(cf, sec, "label", "token label '%s' also used by [token.%s]", t->label,
			    cf->tokens[i].id);
	kv = get(cf, sec, "pin", 1);
	if (kv != NULL && strcmp(kv->value, "shares") == 0) {
		t->pin = CF_PIN_SHARES;
		if (cf->ncustodians == 0)
			cf_error(cf, sec, "pin", "'shares' needs custodians and threshold in [ceremony]");
		if (cf->shares_token >= 0)
			cf_error(cf, sec, "pin", "only one token can have its PIN in shares ([token.%s] has)",
			    cf->tokens[cf->shares_token].id);
		else
			cf->shares_token = (int)cf->ntokens - 1;
	} else if (kv != NULL && strcmp(kv->value, "file") == 0) {
		t->pin = CF_PIN_FILE;
		get_path(cf, sec, "pin_file", 1, t->pin_file);
		get_path(cf, sec, "so_pin_file", 0, t->so_pin_file);
		if ((kv = get(cf, sec, "pin_owner", 0)) != NULL) {
			struct passwd *pw = getpwnam(kv->value);
			if (pw == NULL || strlen(kv->value) > CF_ID_MAX) {
				cf_error(cf, sec, "pin_owner", "no such user '%s'", kv->value);
			} else {
				t->has_owner = 1;
				snprintf(t->owner, sizeof(t->owner), "%s", kv->value);
				t->owner_uid = pw->pw_uid;
				t->owner_gid = pw->pw_gid;
			}
		}
	} else if (kv != NULL) {
		cf_error(cf, sec, "pin", "expected 'shares' (M-of-N custodian shares) or 'file' "
		    "(a 0400 credential file)");
	}
	if (t->pin == CF_PIN_FILE) {
		if (t->so_pin_file[0] != '\0' && strcmp(t->pin_file, t->so_pin_file) == 0)
			cf_error(cf, sec, "so_pin_file", "the same file as pin_file");
		for (size_t i = 0; i + 1 < cf->ntokens; i++) {
			const cf_token *o = &cf->tokens[i];
			if (o->pin != CF_PIN_FILE)
				continue;
			if (strcmp(o->pin_file, t->pin_file) == 0 || strcmp(o->so_pin_file, t->pin_file) == 0)
				cf_error(cf, sec, "pin_file", "also a PIN file of [token.%s]", o->id);
			if (t->so_pin_file[0] != '\0' && (strcmp(o->pin_file, t->so_pin_file) == 0 ||
			    strcmp(o->so_pin_file, t->so_pin_file) == 0))
				cf_error(cf, sec, "so_pin_file", "also a PIN file of [token.%s]", o->id);
		}
	}
	check_unused(cf, sec, t->pin == CF_PIN_SHARES ? "pin = shares" : NULL);
}

/* ---- [step.NAME] ---- */

static int step_by_id(const cf_file *cf, const char *id)
{
	for (size_t i = 0; i < cf->nsteps; i++)
		if (strcmp(cf->steps[i].id, id) == 0)
			return (int)i;
	return -1;
}

/* The token named by key "token"; -1 if absent or bad (reported). */
static int step_token(cf_file *cf, size_t sec, cf_step *s)
{
	cf_kv *kv = get(cf, sec, "token", 1);

	if (kv == NULL)
		return -1;
	for (size_t i = 0; i < cf->ntokens; i++)
		if (strcmp(cf->tokens[i].id, kv->value) == 0) {
			if (cf->tokens[i].first_use < 0)
				cf->tokens[i].first_use = (int)(s - cf->steps);
			return (int)i;
		}
	return BAD(kv, "no [token.%s] section", kv->value);
}

/* An earlier step of one of the given actions named by key; -1 if absent/bad (reported). */
static int step_ref(cf_file *cf, size_t sec, const char *key, cf_action a1, cf_action a2)
{
	cf_kv *kv = get(cf, sec, key, 1);
	int i;

	if (kv == NULL)
		return -1;
	i = step_by_id(cf, kv->value);
	if (i < 0)
		return BAD(kv, "no step '%s' above this one", kv->value);
	if (cf->steps[i].action != a1 && cf->steps[i].action != a2)
		return BAD(kv, "step '%s' is a %s step; expected %s or %s", kv->value,
		    cf_action_name(cf->steps[i].action), cf_action_name(a1), cf_action_name(a2));
	return i;
}

static int parse_alg(cf_file *cf, size_t sec, hsm_keyalg *alg)
{
	cf_kv *kv = get(cf, sec, "algorithm", 1);
	long bits;

	if (kv == NULL)
		return -1;
	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
		if (strcmp(kv->value, algs[i].name) == 0) {
			*alg = algs[i].alg;
			return 1;
		}
	if (strncmp(kv->value, "rsa-", 4) == 0 && (bits = strtol(kv->value + 4, NULL, 10)) > 0 &&
	    bits < 3072)
		return BAD(kv, "weak: a CA key must be RSA of at least 3072 bits (rsa-3072, rsa-4096)");
	if ((strncmp(kv->value, "ec-p", 4) == 0 && (bits = strtol(kv->value + 4, NULL, 10)) > 0 &&
	    bits < 256) || strcmp(kv->value, "ec-secp256k1") == 0)
		return BAD(kv, "weak: a CA key must be EC P-256 or stronger (ec-p256, ec-p384)");
	return BAD(kv, "unknown algorithm (ec-p256, ec-p384, rsa-3072, rsa-4096)");
}

/* token + key_label [+ key_id]: find the generate-key step above that makes it, if any. */
static void key_ref(cf_file *cf, size_t sec, cf_step *s)
{
	int r;

	s->token = step_token(cf, sec, s);
	r = get_label(cf, sec, "key_label", 1, s->key_label);
	get_hex(cf, sec, "key_id", s->key_id, sizeof(s->key_id), &s->key_id_len);
	s->key_step = -1;
	if (s->token < 0 || r != 1)
		return;
	for (size_t i = 0; i < (size_t)(s - cf->steps); i++) {
		const cf_step *g = &cf->steps[i];
		if (g->action == CF_GENERATE_KEY && g->token == s->token &&
		    strcmp(g->key_label, s->key_label) == 0) {
			s->key_step = (int)i;
			if (s->key_id_len > 0 && (s->key_id_len != g->key_id_len ||
			    memcmp(s->key_id, g->key_id, g->key_id_len) != 0))
				cf_error(cf, sec, "key_id", "differs from the id step '%s' gives this key", g->id);
		}
	}
	if (s->key_step < 0 && cf->tokens[s->token].init_step >= 0)
		cf_error(cf, sec, "key_label", "token '%s' is initialised in this ceremony and no "
		    "generate-key step above makes key '%s'", cf->tokens[s->token].id, s->key_label);
}

static void subject_keys(cf_file *cf, size_t sec, cf_step *s)
{
	cf_kv *kv = get(cf, sec, "country", 1);

	if (kv != NULL) {
		if (strlen(kv->value) != 2 || !isupper((unsigned char)kv->value[0]) ||
		    !isupper((unsigned char)kv->value[1]))
			(void)BAD(kv, "must be two capital letters (ISO 3166)");
		else
			memcpy(s->country, kv->value, 3);
	}
	get_text(cf, sec, "organization", 1, s->org, CF_TEXT_MAX);
	get_text(cf, sec, "organizational_unit", 0, s->ou, CF_TEXT_MAX);
	get_text(cf, sec, "common_name", 1, s->cn, CF_TEXT_MAX);
}

static void validity_keys(cf_file *cf, size_t sec, cf_step *s)
{
	long long y = 0, d = 0;
	int ry = get_int(cf, sec, "validity_years", 0, 1, 100, &y);
	int rd = get_int(cf, sec, "validity_days", 0, 1, 36600, &d);
	time_t cap = cer_add_validity(cf->now, CF_ROOT_MAX_YEARS, 0);

	if (ry == 0 && rd == 0) {
		cf_error(cf, sec, "validity_years", "required key missing (or validity_days)");
		return;
	}
	if (ry == 1 && rd == 1) {
		cf_error(cf, sec, "validity_days", "give validity_years or validity_days, not both");
		return;
	}
	if (ry < 0 || rd < 0)
		return;
	s->years = (int)y;
	s->days = (int)d;
	s->not_before = cf->now - BACKDATE_SECONDS;
	s->not_after = cer_add_validity(cf->now, s->years, s->days);
	if (s->not_after > cap)
		cf_error(cf, sec, ry == 1 ? "validity_years" : "validity_days",
		    "validity beyond %d years is refused", CF_ROOT_MAX_YEARS);
	else if (s->action == CF_SIGN_CA && s->issuer >= 0 &&
	    cf->steps[s->issuer].action == CF_SELF_SIGN &&
	    s->not_after > cf->steps[s->issuer].not_after)
		cf_error(cf, sec, ry == 1 ? "validity_years" : "validity_days",
		    "the certificate would outlive its issuer '%s'", cf->steps[s->issuer].id);
}

static void output_key(cf_file *cf, size_t sec, cf_step *s)
{
	static const char *const reserved[] = { "transcript", "fingerprints", "ceremony" };
	cf_kv *kv = get(cf, sec, "output", 0);
	const char *v = kv != NULL ? kv->value : s->id;

	if (kv != NULL && (!is_id(v, strlen(v), CF_OUT_MAX))) {
		(void)BAD(kv, "must be 1..%d characters of a-z 0-9 - _ (the files get .pem, .der, ...)",
		    CF_OUT_MAX);
		return;
	}
	for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
		if (strcmp(v, reserved[i]) == 0) {
			cf_error(cf, sec, kv != NULL ? "output" : NULL, "'%s' is reserved for the "
			    "ceremony's own files", v);
			return;
		}
	for (size_t i = 0; i < (size_t)(s - cf->steps); i++)
		if (cf->steps[i].output[0] != '\0' && strcmp(cf->steps[i].output, v) == 0) {
			cf_error(cf, sec, kv != NULL ? "output" : NULL, "step '%s' already writes "
			    "files named '%s'", cf->steps[i].id, v);
			return;
		}
	snprintf(s->output, sizeof(s->output), "%s", v);
}

static void step_init_token(cf_file *cf, size_t sec, cf_step *s)
{
	int self = (int)(s - cf->steps);
	cf_token *t;

	if ((s->token = step_token(cf, sec, s)) < 0)
		return;
	t = &cf->tokens[s->token];
	if (t->init_step >= 0) {
		cf_error(cf, sec, "token", "token '%s' is already initialised by step '%s'", t->id,
		    cf->steps[t->init_step].id);
		return;
	}
	if (t->first_use != self)
		cf_error(cf, sec, "token", "step '%s' above already uses token '%s': initialise it "
		    "first", cf->steps[t->first_use].id, t->id);
	t->init_step = self;
	if (t->pin == CF_PIN_FILE && t->so_pin_file[0] == '\0')
		cf_error(cf, t->sec, "so_pin_file", "required: the token is initialised by step '%s' "
		    "and its new SO PIN must go somewhere", s->id);
}

static void step_generate_key(cf_file *cf, size_t sec, cf_step *s)
{
	int rt, rl, ri, ra;

	rt = (s->token = step_token(cf, sec, s));
	rl = get_label(cf, sec, "key_label", 1, s->key_label);
	ri = get_hex(cf, sec, "key_id", s->key_id, sizeof(s->key_id), &s->key_id_len);
	if (ri == 0)
		cf_error(cf, sec, "key_id", "required key missing");
	ra = parse_alg(cf, sec, &s->alg);
	(void)ra;
	s->key_step = (int)(s - cf->steps);
	if (rt < 0 || rl != 1 || ri != 1)
		return;
	for (size_t i = 0; i < (size_t)(s - cf->steps); i++) {
		const cf_step *g = &cf->steps[i];
		if (g->action != CF_GENERATE_KEY || g->token != s->token)
			continue;
		if (strcmp(g->key_label, s->key_label) == 0)
			cf_error(cf, sec, "key_label", "step '%s' already generates key '%s' on this token",
			    g->id, s->key_label);
		else if (g->key_id_len == s->key_id_len && memcmp(g->key_id, s->key_id, s->key_id_len) == 0)
			cf_error(cf, sec, "key_id", "step '%s' already generates a key with this id", g->id);
	}
}

static int word_revoke(cf_file *cf, size_t sec, cf_kv *kv, const char *w, size_t n, void *arg)
{
	cf_step *s = arg;
	cf_revoke *r;
	char id[CF_ID_MAX + 1];
	int i;

	if (s->nrevoke == CF_MAX_REVOKE)
		return BAD(kv, "at most %d certificates per CRL step", CF_MAX_REVOKE), 0;
	r = &s->revoke[s->nrevoke];
	r->step = -1;
	if (memchr(w, '/', n) != NULL || memchr(w, '.', n) != NULL) {
		int len = w[0] == '/' ? snprintf(r->path, sizeof(r->path), "%.*s", (int)n, w) :
		    snprintf(r->path, sizeof(r->path), "%s/%.*s", cf->dir, (int)n, w);
		if (len < 0 || (size_t)len >= sizeof(r->path))
			return BAD(kv, "path too long"), 0;
		s->nrevoke++;
		return 1;
	}
	if (n > CF_ID_MAX)
		return BAD(kv, "'%.*s' is neither a step nor a file (a path has a '/' or '.')",
		    (int)n, w), 0;
	memcpy(id, w, n);
	id[n] = '\0';
	i = step_by_id(cf, id);
	if (i < 0 || cf->steps[i].action != CF_SIGN_CA)
		return BAD(kv, "'%s' is not a sign-ca step above (a file path needs a '/' or '.')",
		    id), 0;
	if (cf->steps[i].issuer != s->issuer)
		return BAD(kv, "'%s' was not issued by '%s'", id,
		    s->issuer >= 0 ? cf->steps[s->issuer].id : "?"), 0;
	r->step = i;
	s->nrevoke++;
	return 1;
}

static void step_sign_crl(cf_file *cf, size_t sec, cf_step *s)
{
	cf_kv *kv;
	long long v;
	int r;

	s->issuer = step_ref(cf, sec, "issuer", CF_SELF_SIGN, CF_USE_ROOT);
	s->reason = -1;
	r = get_list(cf, sec, "revoke", 0, word_revoke, s);
	if ((kv = get(cf, sec, "reason", 0)) != NULL) {
		for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
			if (strcmp(kv->value, reasons[i]) == 0)
				s->reason = (int)i;
		if (s->reason < 0)
			(void)BAD(kv, "expected unspecified, keyCompromise, cACompromise, "
			    "affiliationChanged, superseded or cessationOfOperation");
		else if (r == 0)
			(void)BAD(kv, "a reason needs certificates to revoke");
	}
	if (get_path(cf, sec, "previous_crl", 0, s->previous_crl) == 1 && s->issuer >= 0 &&
	    cf->steps[s->issuer].action == CF_SELF_SIGN)
		cf_error(cf, sec, "previous_crl", "issuer '%s' is created in this ceremony: it has no "
		    "earlier CRL", cf->steps[s->issuer].id);
	if (get_int(cf, sec, "crl_number", 0, 1, (long long)1 << 62, &v) == 1)
		s->crl_number = (uint64_t)v;
	s->next_update_days = 365;
	if (get_int(cf, sec, "next_update_days", 0, 1, 400, &v) == 1)
		s->next_update_days = (int)v;
	output_key(cf, sec, s);
}

static void step_sign_ca(cf_file *cf, size_t sec, cf_step *s)
{
	long long v;

	s->issuer = step_ref(cf, sec, "issuer", CF_SELF_SIGN, CF_USE_ROOT);
	s->token = s->key_step = -1;
	if (get_path(cf, sec, "csr", 0, s->csr) != 0) {
		if (get(cf, sec, "token", 0) != NULL || get(cf, sec, "key_label", 0) != NULL)
			cf_error(cf, sec, "csr", "give either csr or token + key_label, not both");
	} else {
		key_ref(cf, sec, s);
		if (s->issuer >= 0 && s->token >= 0 && cf->steps[s->issuer].token == s->token &&
		    strcmp(cf->steps[s->issuer].key_label, s->key_label) == 0)
			cf_error(cf, sec, "key_label", "the subject key is the issuer's own key");
	}
	subject_keys(cf, sec, s);
	validity_keys(cf, sec, s);
	s->path_len = 0;
	if (get_int(cf, sec, "path_length", 0, 0, 8, &v) == 1)
		s->path_len = (int)v;
	get_url(cf, sec, "crl_url", s->crl_url);
	get_url(cf, sec, "issuer_url", s->issuer_url);
	output_key(cf, sec, s);
}

static void step_section(cf_file *cf, size_t sec)
{
	cf_step *s = &cf->steps[cf->nsteps++];
	cf_kv *kv;
	char what[48];

	memset(s, 0, sizeof(*s));
	snprintf(s->id, sizeof(s->id), "%s", cf->sections[sec].name + 5);
	s->sec = sec;
	s->token = s->issuer = s->key_step = s->reason = -1;
	if ((kv = get(cf, sec, "action", 1)) == NULL)
		return;
	for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
		if (strcmp(kv->value, actions[i].name) == 0)
			s->action = actions[i].a;
	switch (s->action) {
	case CF_INIT_TOKEN:
		step_init_token(cf, sec, s);
		break;
	case CF_GENERATE_KEY:
		step_generate_key(cf, sec, s);
		output_key(cf, sec, s);
		break;
	case CF_SELF_SIGN:
		key_ref(cf, sec, s);
		subject_keys(cf, sec, s);
		validity_keys(cf, sec, s);
		output_key(cf, sec, s);
		break;
	case CF_USE_ROOT:
		key_ref(cf, sec, s);
		get_path(cf, sec, "cert", 1, s->cert);
		output_key(cf, sec, s);
		break;
	case CF_SIGN_CA:
		step_sign_ca(cf, sec, s);
		break;
	case CF_SIGN_CRL:
		step_sign_crl(cf, sec, s);
		break;
	default:
		(void)BAD(kv, "unknown action (init-token, generate-key, self-sign, use-root, "
		    "sign-ca, sign-crl)");
		return;
	}
	snprintf(what, sizeof(what), "action %.32s", kv->value);
	check_unused(cf, sec, what);
}

/* After every section: the transcript signer, unused tokens. */
static void final_checks(cf_file *cf)
{
	cf_kv *kv = cf->nsections > 0 ? get(cf, cf->ceremony_sec, "transcript_signer", 0) : NULL;
	size_t sec = cf->ceremony_sec;

	if (kv != NULL) {
		int i = step_by_id(cf, kv->value);
		if (i < 0 || (cf->steps[i].action != CF_SELF_SIGN && cf->steps[i].action != CF_USE_ROOT))
			(void)BAD(kv, "'%s' is not a self-sign or use-root step", kv->value);
		else
			cf->signer_step = i;
	} else {
		for (size_t i = 0; i < cf->nsteps && cf->signer_step < 0; i++)
			if (cf->steps[i].action == CF_SELF_SIGN || cf->steps[i].action == CF_USE_ROOT)
				cf->signer_step = (int)i;
		if (cf->signer_step < 0)
			cf_error(cf, sec, NULL, "no self-sign or use-root step: the transcript must be "
			    "signed by a root key");
	}
	for (size_t i = 0; i < cf->ntokens; i++)
		if (cf->tokens[i].first_use < 0)
			cf_error(cf, cf->tokens[i].sec, NULL, "no step uses this token");
	if (cf->nsteps == 0)
		cf_error(cf, sec, NULL, "no [step.NAME] sections");
	check_unused(cf, sec, NULL);
}

/* Sort the sections by kind: [ceremony] first, then tokens, then steps (each in file order). */
static void validate(cf_file *cf)
{
	int have = 0;

	for (size_t i = 0; i < cf->nsections; i++) {
		const char *n = cf->sections[i].name;
		if (strcmp(n, "ceremony") == 0) {
			cf->ceremony_sec = i;
			have = 1;
		} else if (strncmp(n, "token.", 6) == 0 || strncmp(n, "step.", 5) == 0) {
			const char *id = n + (n[0] == 't' ? 6 : 5);
			if (!is_id(id, strlen(id), CF_ID_MAX))
				err_at(cf, cf->sections[i].line, n, NULL, "NAME must be 1..%d characters of "
				    "a-z 0-9 - _, starting with a letter or digit", CF_ID_MAX);
			else if (n[0] == 't' && cf->ntokens + 1 > CF_MAX_TOKENS)
				err_at(cf, cf->sections[i].line, n, NULL, "at most %d tokens", CF_MAX_TOKENS);
		} else {
			err_at(cf, cf->sections[i].line, n, NULL, "unknown section (expected [ceremony], "
			    "[token.NAME] or [step.NAME])");
		}
	}
	if (!have) {
		err_at(cf, 0, "ceremony", NULL, "required section missing");
		return;
	}
	ceremony_section(cf, cf->ceremony_sec);
	for (size_t i = 0; i < cf->nsections; i++) {
		const char *n = cf->sections[i].name;
		if (strncmp(n, "token.", 6) == 0 && is_id(n + 6, strlen(n + 6), CF_ID_MAX) &&
		    cf->ntokens < CF_MAX_TOKENS)
			token_section(cf, i);
	}
	for (size_t i = 0; i < cf->nsections; i++) {
		const char *n = cf->sections[i].name;
		if (strncmp(n, "step.", 5) == 0 && is_id(n + 5, strlen(n + 5), CF_ID_MAX))
			step_section(cf, i);
	}
	final_checks(cf);
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
		err_at(cf, 0, NULL, NULL, "cannot resolve its directory: %s",
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
		err_at(cf, rc, NULL, NULL, "syntax error");
	else if (rc < 0)
		err_at(cf, 0, NULL, NULL, "cannot parse the file");
	validate(cf);
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
