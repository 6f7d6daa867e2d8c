/* config: parse inkan-rad's INI file with inih and validate every key; the first bad or
 * unknown key stops the load with "file:line: [section] key: reason". */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "certlogin.h"
#include "cfgline.h"
#include "config.h"
#include "http_heavy.h"

typedef struct cfg_parse {
	ra_config *cfg;
	char why[256];      /* first error */
	char where[160];    /* its [section] key */
	int failed;
	int line;           /* the line being parsed */
	int failed_line;    /* the first error's */
} cfg_parse;

static int set_str(char *dst, size_t dstsz, const char *v, cfg_parse *p)
{
	size_t n = strlen(v);

	if (n == 0 || n >= dstsz) {
		snprintf(p->why, sizeof(p->why), "value must be 1..%zu characters", dstsz - 1);
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f) {
			snprintf(p->why, sizeof(p->why), "control characters are not allowed");
			return 0;
		}
	}
	memcpy(dst, v, n + 1);
	return 1;
}

static int parse_u64(const char *v, uint64_t min, uint64_t max, uint64_t *out, cfg_parse *p)
{
	char *end = NULL;
	unsigned long long x;

	errno = 0;
	if (*v == '\0' || !isdigit((unsigned char)*v))
		goto bad;
	x = strtoull(v, &end, 10);
	if (errno != 0 || end == v || *end != '\0' || x < min || x > max)
		goto bad;
	*out = x;
	return 1;
bad:
	snprintf(p->why, sizeof(p->why), "expected a number in %llu..%llu",
	    (unsigned long long)min, (unsigned long long)max);
	return 0;
}

static int parse_uint(const char *v, unsigned min, unsigned max, unsigned *out, cfg_parse *p)
{
	uint64_t x;

	if (!parse_u64(v, min, max, &x, p))
		return 0;
	*out = (unsigned)x;
	return 1;
}

static int parse_bool(const char *v, int *out, cfg_parse *p)
{
	if (strcmp(v, "on") == 0 || strcmp(v, "yes") == 0 || strcmp(v, "true") == 0) {
		*out = 1;
		return 1;
	}
	if (strcmp(v, "off") == 0 || strcmp(v, "no") == 0 || strcmp(v, "false") == 0) {
		*out = 0;
		return 1;
	}
	snprintf(p->why, sizeof(p->why), "expected on or off");
	return 0;
}

static int parse_listen(const char *v, ra_config *c, cfg_parse *p)
{
	unsigned char addr[16];

	if (inet_pton(AF_INET, v, addr) != 1 && inet_pton(AF_INET6, v, addr) != 1) {
		snprintf(p->why, sizeof(p->why), "expected an IPv4 or IPv6 address literal");
		return 0;
	}
	return set_str(c->listen, sizeof(c->listen), v, p);
}

static int parse_public_url(const char *v, ra_config *c, cfg_parse *p)
{
	size_t n = strlen(v);

	if (strncmp(v, "https://", 8) != 0 && strncmp(v, "http://", 7) != 0) {
		snprintf(p->why, sizeof(p->why), "expected an https:// (or http://) URL");
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		if (v[i] <= ' ' || v[i] == '"' || v[i] == '<' || v[i] == '>' || v[i] == '\\' ||
		    v[i] == 0x7f || v[i] == '?' || v[i] == '#') {
			snprintf(p->why, sizeof(p->why), "the URL has a character that is not allowed");
			return 0;
		}
	}
	if (!set_str(c->public_url, sizeof(c->public_url), v, p))
		return 0;
	/* no trailing slash: links are made as public_url + "/path" */
	n = strlen(c->public_url);
	while (n > 0 && c->public_url[n - 1] == '/')
		c->public_url[--n] = '\0';
	return 1;
}

static int parse_profile(const char *v, ra_config *c, cfg_parse *p)
{
	size_t n = strlen(v);

	if (n == 0 || n > PROTO_MAX_NAME ||
	    strspn(v, "abcdefghijklmnopqrstuvwxyz0123456789_-") != n) {
		snprintf(p->why, sizeof(p->why), "profile name must be [a-z0-9_-]{1,%d}",
		    PROTO_MAX_NAME);
		return 0;
	}
	memcpy(c->profile, v, n + 1);
	return 1;
}

static int ra_key(ra_config *c, const char *name, const char *v, cfg_parse *p)
{
	uint64_t x;

	if (strcmp(name, "listen") == 0)
		return parse_listen(v, c, p);
	if (strcmp(name, "port") == 0) {
		if (!parse_u64(v, 1, 65535, &x, p))
			return 0;
		c->port = (uint16_t)x;
		return 1;
	}
	if (strcmp(name, "tls") == 0)
		return parse_bool(v, &c->tls, p);
	if (strcmp(name, "tls_cert") == 0)
		return set_str(c->tls_cert, sizeof(c->tls_cert), v, p);
	if (strcmp(name, "tls_key") == 0)
		return set_str(c->tls_key, sizeof(c->tls_key), v, p);
	if (strcmp(name, "profile_signing") == 0)
		return parse_bool(v, &c->profile_signing, p);
	if (strcmp(name, "database") == 0)
		return set_str(c->database, sizeof(c->database), v, p);
	if (strcmp(name, "signer_socket") == 0)
		return set_str(c->signer_socket, sizeof(c->signer_socket), v, p);
	if (strcmp(name, "signer_timeout") == 0)
		return parse_uint(v, 1, 3600, &c->signer_timeout, p);
	if (strcmp(name, "signer_crl_timeout") == 0)
		return parse_uint(v, 1, 3600, &c->signer_crl_timeout, p);
	if (strcmp(name, "crl_recheck") == 0)
		return parse_uint(v, 1, 3600, &c->crl_recheck, p);
	if (strcmp(name, "public_url") == 0)
		return parse_public_url(v, c, p);
	if (strcmp(name, "profile") == 0)
		return parse_profile(v, c, p);
	if (strcmp(name, "batch_cn_pattern") == 0) {
		if (ra_cn_pattern_check(v, p->why, sizeof(p->why)) != IK_OK)
			return 0;
		return set_str(c->batch_cn_pattern, sizeof(c->batch_cn_pattern), v, p);
	}
	if (strcmp(name, "max_body") == 0) {
		if (!parse_u64(v, 1024, 256u * 1024 * 1024, &x, p))
			return 0;
		c->max_body = (size_t)x;
		return 1;
	}
	if (strcmp(name, "session_lifetime") == 0)
		return parse_uint(v, 60, 7 * 86400, &c->session_lifetime, p);
	if (strcmp(name, "session_idle") == 0)
		return parse_uint(v, 60, 7 * 86400, &c->session_idle, p);
	if (strcmp(name, "lockout_threshold") == 0)
		return parse_uint(v, 1, 100, &c->lockout_threshold, p);
	if (strcmp(name, "lockout_seconds") == 0)
		return parse_uint(v, 1, 7 * 86400, &c->lockout_seconds, p);
	if (strcmp(name, "workers") == 0)
		return parse_uint(v, 1, RA_MAX_WORKERS, &c->workers, p);
	if (strcmp(name, "queue_workers") == 0)
		return parse_uint(v, 1, 16, &c->queue_workers, p);
	if (strcmp(name, "queue_group") == 0)
		return parse_uint(v, 1, 128, &c->queue_group, p);
	if (strcmp(name, "heavy_workers") == 0)
		return parse_uint(v, 1, RA_HEAVY_MAX_THREADS, &c->heavy_workers, p);
	if (strcmp(name, "heavy_queue") == 0)
		return parse_uint(v, 1, 4096, &c->heavy_queue, p);
	if (strcmp(name, "heavy_nice") == 0)
		return parse_uint(v, 0, 19, &c->heavy_nice, p);
	if (strcmp(name, "http_port") == 0) {
		if (!parse_u64(v, 0, 65535, &x, p))
			return 0;
		c->http_port = (uint16_t)x;
		return 1;
	}
	if (strcmp(name, "ocsp_max_age") == 0)
		return parse_uint(v, 0, 86400, &c->ocsp_max_age, p);
	if (strcmp(name, "cert_login") == 0)
		return parse_bool(v, &c->cert_login, p);
	if (strcmp(name, "cert_login_ca") == 0)
		return set_str(c->cert_login_ca, sizeof(c->cert_login_ca), v, p);
	snprintf(p->why, sizeof(p->why), "unknown key");
	return 0;
}

int ra_mail_addr_ok(const char *v)
{
	const char *at = strchr(v, '@');
	size_t n = strlen(v);

	if (n < 3 || n > 64 || at == NULL || at == v || at[1] == '\0' ||
	    strchr(at + 1, '@') != NULL)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)v[i] <= ' ' || (unsigned char)v[i] >= 0x7f ||
		    strchr("<>()[]\\,;:\"", v[i]) != NULL)
			return 0;
	return 1;
}

ik_status ra_sendmail_argv(const char *cmd, char buf[RA_SENDMAIL_MAX],
    char *argv[RA_SENDMAIL_ARGS + 1])
{
	size_t n = 0;
	char *save = NULL, *w;

	if (strlen(cmd) >= RA_SENDMAIL_MAX)
		return IK_ERR_CONFIG;
	memcpy(buf, cmd, strlen(cmd) + 1);
	for (w = strtok_r(buf, " \t", &save); w != NULL; w = strtok_r(NULL, " \t", &save)) {
		if (n == RA_SENDMAIL_ARGS)
			return IK_ERR_CONFIG;
		argv[n++] = w;
	}
	argv[n] = NULL;
	return n == 0 || argv[0][0] != '/' ? IK_ERR_CONFIG : IK_OK;
}

static int mail_key(ra_mail_config *m, const char *name, const char *v, cfg_parse *p)
{
	if (strcmp(name, "from") == 0) {
		if (!ra_mail_addr_ok(v)) {
			snprintf(p->why, sizeof(p->why), "expected a plain address local@domain of at "
			    "most 64 characters (it is also the signing certificate's CN)");
			return 0;
		}
		return set_str(m->from, sizeof(m->from), v, p);
	}
	if (strcmp(name, "sendmail") == 0) {
		char buf[RA_SENDMAIL_MAX], *argv[RA_SENDMAIL_ARGS + 1];
		if (ra_sendmail_argv(v, buf, argv) != IK_OK) {
			snprintf(p->why, sizeof(p->why), "expected an absolute path and at most %d "
			    "arguments separated by spaces (no shell, no quoting)", RA_SENDMAIL_ARGS - 1);
			return 0;
		}
		return set_str(m->sendmail, sizeof(m->sendmail), v, p);
	}
	if (strcmp(name, "profile") == 0) {
		size_t n = strlen(v);
		if (n == 0 || n > PROTO_MAX_NAME ||
		    strspn(v, "abcdefghijklmnopqrstuvwxyz0123456789_-") != n) {
			snprintf(p->why, sizeof(p->why), "profile name must be [a-z0-9_-]{1,%d}",
			    PROTO_MAX_NAME);
			return 0;
		}
		memcpy(m->profile, v, n + 1);
		return 1;
	}
	if (strcmp(name, "key") == 0)
		return set_str(m->key, sizeof(m->key), v, p);
	if (strcmp(name, "cert") == 0)
		return set_str(m->cert, sizeof(m->cert), v, p);
	if (strcmp(name, "cert_days") == 0)
		return parse_uint(v, 7, 1095, &m->cert_days, p);
	if (strcmp(name, "timeout") == 0)
		return parse_uint(v, 1, 3600, &m->timeout, p);
	if (strcmp(name, "retry_min") == 0)
		return parse_uint(v, 1, 86400, &m->retry_min, p);
	if (strcmp(name, "retry_max") == 0)
		return parse_uint(v, 1, 7 * 86400, &m->retry_max, p);
	snprintf(p->why, sizeof(p->why), "unknown key");
	return 0;
}

static int on_key(void *user, const char *section, const char *name, const char *value)
{
	cfg_parse *p = user;
	int ok;

	if (p->failed)
		return 1; /* report only the first error */
	if (strcmp(section, "ra") == 0) {
		ok = ra_key(p->cfg, name, value, p);
	} else if (strcmp(section, "mail") == 0) {
		ok = mail_key(&p->cfg->mail, name, value, p);
	} else {
		snprintf(p->why, sizeof(p->why), "unknown section");
		ok = 0;
	}
	if (!ok) {
		p->failed = 1;
		p->failed_line = p->line;
		snprintf(p->where, sizeof(p->where), "[%.40s] %.64s", section, name);
	}
	return ok;
}

/* cert_login needs TLS and a readable bundle of CA certificates (the trust anchor). */
static ik_status cert_login_check(const char *path, const ra_config *c, char *err,
    size_t errsz)
{
	char why[160];

	if (!c->tls) {
		snprintf(err, errsz, "%s: [ra] cert_login needs tls = on", path);
		return IK_ERR_CONFIG;
	}
	if (c->cert_login_ca[0] == '\0') {
		snprintf(err, errsz, "%s: [ra] cert_login is on but cert_login_ca is not set (the "
		    "Inkan CA certificates, PEM)", path);
		return IK_ERR_CONFIG;
	}
	if (ra_certlogin_anchors_check(c->cert_login_ca, why, sizeof(why)) != IK_OK) {
		snprintf(err, errsz, "%s: [ra] cert_login_ca: %s: %s", path, c->cert_login_ca, why);
		return IK_ERR_CONFIG;
	}
	return IK_OK;
}

static ik_status validate(const char *path, ra_config *c, char *err, size_t errsz)
{
	if (c->database[0] == '\0') {
		snprintf(err, errsz, "%s: [ra] database is required", path);
		return IK_ERR_CONFIG;
	}
	if (c->tls && (c->tls_cert[0] == '\0' || c->tls_key[0] == '\0')) {
		snprintf(err, errsz, "%s: [ra] tls is on but %s is not set (give a PEM certificate "
		    "and key, or set tls = off for a local test)", path,
		    c->tls_cert[0] == '\0' ? "tls_cert" : "tls_key");
		return IK_ERR_CONFIG;
	}
	if (c->tls && (access(c->tls_cert, R_OK) != 0 || access(c->tls_key, R_OK) != 0)) {
		snprintf(err, errsz, "%s: [ra] cannot read %s", path,
		    access(c->tls_cert, R_OK) != 0 ? c->tls_cert : c->tls_key);
		return IK_ERR_CONFIG;
	}
	if (c->http_port != 0 && c->http_port == c->port) {
		snprintf(err, errsz, "%s: [ra] http_port must differ from port", path);
		return IK_ERR_CONFIG;
	}
	if (c->cert_login && cert_login_check(path, c, err, errsz) != IK_OK)
		return IK_ERR_CONFIG;
	if (c->session_idle > c->session_lifetime) {
		snprintf(err, errsz, "%s: [ra] session_idle must not exceed session_lifetime", path);
		return IK_ERR_CONFIG;
	}
	if (c->mail.retry_min > c->mail.retry_max) {
		snprintf(err, errsz, "%s: [mail] retry_min must not exceed retry_max", path);
		return IK_ERR_CONFIG;
	}
	if (c->mail.key[0] == '\0' || c->mail.cert[0] == '\0') {
		/* beside the config file */
		const char *slash = strrchr(path, '/');
		int dirlen = slash == NULL ? 1 : slash == path ? 1 : (int)(slash - path);
		const char *dir = slash == NULL ? "." : path;
		if (c->mail.key[0] == '\0' && snprintf(c->mail.key, sizeof(c->mail.key),
		    "%.*s/mail-signing.key", dirlen, dir) >= (int)sizeof(c->mail.key))
			return IK_ERR_CONFIG;
		if (c->mail.cert[0] == '\0' && snprintf(c->mail.cert, sizeof(c->mail.cert),
		    "%.*s/mail-signing.pem", dirlen, dir) >= (int)sizeof(c->mail.cert))
			return IK_ERR_CONFIG;
	}
	if (c->public_url[0] == '\0') {
		int v6 = strchr(c->listen, ':') != NULL;
		snprintf(c->public_url, sizeof(c->public_url), "%s://%s%s%s:%u",
		    c->tls ? "https" : "http", v6 ? "[" : "", c->listen, v6 ? "]" : "",
		    (unsigned)c->port);
	}
	return IK_OK;
}

static void defaults(ra_config *c)
{
	long online = sysconf(_SC_NPROCESSORS_ONLN);

	memset(c, 0, sizeof(*c));
	snprintf(c->listen, sizeof(c->listen), "127.0.0.1");
	c->port = 8443;
	c->tls = 1;
	c->profile_signing = 1;
	snprintf(c->signer_socket, sizeof(c->signer_socket), "/run/inkan/signer.sock");
	snprintf(c->profile, sizeof(c->profile), "client");
	snprintf(c->batch_cn_pattern, sizeof(c->batch_cn_pattern), "client_%%06d");
	c->max_body = 4u * 1024 * 1024;
	c->session_lifetime = 8 * 3600;
	c->session_idle = 1800;
	c->lockout_threshold = 5;
	c->lockout_seconds = 900;
	snprintf(c->mail.sendmail, sizeof(c->mail.sendmail), "/usr/sbin/sendmail -t -i");
	snprintf(c->mail.profile, sizeof(c->mail.profile), "mail");
	c->mail.cert_days = 365;
	c->mail.timeout = 60;
	c->mail.retry_min = 30;
	c->mail.retry_max = 3600;
	c->workers = online < 1 ? 1u : online > RA_MAX_WORKERS ? RA_MAX_WORKERS : (unsigned)online;
	c->signer_timeout = 30;
	c->signer_crl_timeout = 120;
	c->crl_recheck = 30;
	c->queue_workers = 2;
	c->queue_group = 128;
	c->heavy_workers = 2;
	c->heavy_queue = 256;
	c->heavy_nice = 10;
}

ik_status ra_config_load(const char *path, ra_config *cfg, char *err, size_t errsz)
{
	cfg_parse p;
	int line;

	defaults(cfg);
	memset(&p, 0, sizeof(p));
	p.cfg = cfg;
	line = ik_ini_parse(path, on_key, &p, &p.line);
	if (line < 0) {
		snprintf(err, errsz, "%s: cannot read the file", path);
		return IK_ERR_CONFIG;
	}
	if (line > 0) {
		if (p.failed && p.failed_line == line)
			snprintf(err, errsz, "%s:%d: %s: %s", path, line, p.where, p.why);
		else
			snprintf(err, errsz, "%s:%d: syntax error", path, line);
		return IK_ERR_CONFIG;
	}
	return validate(path, cfg, err, errsz);
}

/* Finds the single "%0Nd": *pos = its offset, *len = its length, *width = N. */
static ik_status cn_pattern_parse(const char *s, size_t *pos, size_t *len, unsigned *width,
    char *why, size_t whysz)
{
	static const char ok[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ._-@";
	size_t n = strlen(s), found = 0;

	if (n == 0 || n >= RA_CN_PATTERN_MAX) {
		snprintf(why, whysz, "the pattern must be 1..%d characters", RA_CN_PATTERN_MAX - 1);
		return IK_ERR_CONFIG;
	}
	for (size_t i = 0; i < n; i++) {
		if (s[i] != '%') {
			if (strchr(ok, s[i]) == NULL) {
				snprintf(why, whysz, "character %zu is not allowed (letters, digits, "
				    "space . _ - @ and one %%0Nd)", i + 1);
				return IK_ERR_CONFIG;
			}
			continue;
		}
		if (found++ != 0 || s[i + 1] != '0' || s[i + 2] < '1' || s[i + 2] > '9' ||
		    s[i + 3] != 'd') {
			snprintf(why, whysz, "exactly one %%0Nd conversion (N = 1..9) and no other %% "
			    "is allowed");
			return IK_ERR_CONFIG;
		}
		*pos = i;
		*len = 4;
		*width = (unsigned)(s[i + 2] - '0');
		i += 3;
	}
	if (found != 1) {
		snprintf(why, whysz, "the pattern needs one %%0Nd conversion (e.g. client_%%06d)");
		return IK_ERR_CONFIG;
	}
	return IK_OK;
}

ik_status ra_cn_pattern_check(const char *pattern, char *why, size_t whysz)
{
	size_t pos, len;
	unsigned width;

	return cn_pattern_parse(pattern, &pos, &len, &width, why, whysz);
}

ik_status ra_cn_format(const char *pattern, uint64_t n, char *out, size_t outsz)
{
	char why[128], num[24];
	size_t pos, len, nlen, total;
	unsigned width;
	int r;

	if (cn_pattern_parse(pattern, &pos, &len, &width, why, sizeof(why)) != IK_OK)
		return IK_ERR_ARG;
	r = snprintf(num, sizeof(num), "%0*llu", (int)width, (unsigned long long)n);
	if (r < 0 || (size_t)r >= sizeof(num) || (size_t)r != width)
		return IK_ERR_ARG;
	nlen = (size_t)r;
	total = strlen(pattern) - len + nlen;
	if (total >= outsz)
		return IK_ERR_ARG;
	memcpy(out, pattern, pos);
	memcpy(out + pos, num, nlen);
	memcpy(out + pos + nlen, pattern + pos + len, strlen(pattern + pos + len) + 1);
	return IK_OK;
}
