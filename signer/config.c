/* config: parse the signer's INI file with inih and validate every key; the first bad or
 * unknown key stops the load with "file:line: [section] key: reason". */
#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfgline.h"
#include "config.h"

typedef struct cfg_parse {
	sg_config *cfg;
	char why[256];      /* first error */
	char where[160];    /* its [section] key */
	int failed;
	int line;           /* the line being parsed */
	int failed_line;    /* the first error's */
} cfg_parse;

static const char *const attr_names[PROTO_ATTR_MAX + 1] = {
	NULL, "CN", "O", "OU", "L", "ST", "C", "serialNumber",
};

static int attr_by_name(const char *s, size_t n)
{
	for (int i = 1; i <= PROTO_ATTR_MAX; i++)
		if (strlen(attr_names[i]) == n && strncmp(attr_names[i], s, n) == 0)
			return i;
	return 0;
}

static int set_str(char *dst, size_t dstsz, const char *v, cfg_parse *p)
{
	size_t n = strlen(v);

	if (n == 0 || n >= dstsz) {
		snprintf(p->why, sizeof(p->why), "value must be 1..%zu characters", dstsz - 1);
		return 0;
	}
	memcpy(dst, v, n + 1);
	return 1;
}

static int parse_u64(const char *v, uint64_t min, uint64_t max, uint64_t *out, cfg_parse *p,
    int base)
{
	char *end = NULL;
	unsigned long long x;

	errno = 0;
	if (*v == '\0' || *v == '-' || isspace((unsigned char)*v))
		goto bad;
	x = strtoull(v, &end, base);
	if (errno != 0 || end == v || *end != '\0' || x < min || x > max)
		goto bad;
	*out = x;
	return 1;
bad:
	snprintf(p->why, sizeof(p->why), "expected a number in %llu..%llu",
	    (unsigned long long)min, (unsigned long long)max);
	return 0;
}

static int parse_yes_no(const char *v, int *out, cfg_parse *p)
{
	if (strcmp(v, "yes") == 0 || strcmp(v, "no") == 0) {
		*out = strcmp(v, "yes") == 0;
		return 1;
	}
	snprintf(p->why, sizeof(p->why), "'%s' is not yes or no", v);
	return 0;
}

static int parse_uid(const char *v, uid_t *out, cfg_parse *p)
{
	uint64_t x;
	struct passwd *pw;

	if (isdigit((unsigned char)*v))
		return parse_u64(v, 0, 0x7fffffff, &x, p, 10) ? (*out = (uid_t)x, 1) : 0;
	pw = getpwnam(v);
	if (pw == NULL) {
		snprintf(p->why, sizeof(p->why), "no such user");
		return 0;
	}
	*out = pw->pw_uid;
	return 1;
}

static int parse_gid(const char *v, gid_t *out, cfg_parse *p)
{
	uint64_t x;
	struct group *gr;

	if (strcmp(v, "any") == 0) {
		*out = (gid_t)-1;
		return 1;
	}
	if (isdigit((unsigned char)*v))
		return parse_u64(v, 0, 0x7fffffff, &x, p, 10) ? (*out = (gid_t)x, 1) : 0;
	gr = getgrnam(v);
	if (gr == NULL) {
		snprintf(p->why, sizeof(p->why), "no such group");
		return 0;
	}
	*out = gr->gr_gid;
	return 1;
}

static int parse_hex(const char *v, uint8_t *out, size_t outsz, size_t *outlen, cfg_parse *p)
{
	size_t n = strlen(v);

	if (n == 0 || n % 2 != 0 || n / 2 > outsz)
		goto bad;
	for (size_t i = 0; i < n / 2; i++) {
		unsigned hi, lo;
		if (!isxdigit((unsigned char)v[2 * i]) || !isxdigit((unsigned char)v[2 * i + 1]))
			goto bad;
		hi = (unsigned)(isdigit((unsigned char)v[2 * i]) ? v[2 * i] - '0' : (tolower((unsigned char)v[2 * i]) - 'a' + 10));
		lo = (unsigned)(isdigit((unsigned char)v[2 * i + 1]) ? v[2 * i + 1] - '0' : (tolower((unsigned char)v[2 * i + 1]) - 'a' + 10));
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	*outlen = n / 2;
	return 1;
bad:
	snprintf(p->why, sizeof(p->why), "expected 1..%zu bytes of hex", outsz);
	return 0;
}

/* A list of words separated by spaces or commas; fn is called for each. */
static int each_word(const char *v, int (*fn)(const char *w, size_t n, void *arg, cfg_parse *p),
    void *arg, cfg_parse *p)
{
	const char *s = v;

	while (*s != '\0') {
		size_t n;
		while (*s == ' ' || *s == ',' || *s == '\t')
			s++;
		n = strcspn(s, " ,\t");
		if (n == 0)
			break;
		if (!fn(s, n, arg, p))
			return 0;
		s += n;
	}
	return 1;
}

static int word_keytype(const char *w, size_t n, void *arg, cfg_parse *p)
{
	unsigned *mask = arg;

	if (n == 7 && strncmp(w, "ec-p256", n) == 0)
		*mask |= SG_KEY_EC_P256;
	else if (n == 7 && strncmp(w, "ec-p384", n) == 0)
		*mask |= SG_KEY_EC_P384;
	else if (n == 3 && strncmp(w, "rsa", n) == 0)
		*mask |= SG_KEY_RSA;
	else {
		snprintf(p->why, sizeof(p->why), "unknown key type '%.*s' (ec-p256, ec-p384, rsa)",
		    (int)n, w);
		return 0;
	}
	return 1;
}

static int word_attr(const char *w, size_t n, void *arg, cfg_parse *p)
{
	unsigned *mask = arg;
	int a = attr_by_name(w, n);

	if (a == 0) {
		snprintf(p->why, sizeof(p->why),
		    "unknown subject attribute '%.*s' (CN O OU L ST C serialNumber)", (int)n, w);
		return 0;
	}
	*mask |= 1u << a;
	return 1;
}

static sg_profile *profile_for(sg_config *cfg, const char *name, cfg_parse *p)
{
	sg_profile *pr;
	size_t n = strlen(name);

	for (size_t i = 0; i < cfg->nprofiles; i++)
		if (strcmp(cfg->profiles[i].name, name) == 0)
			return &cfg->profiles[i];
	if (n == 0 || n > PROTO_MAX_NAME || strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_-") != n) {
		snprintf(p->why, sizeof(p->why), "profile name must be [a-z0-9_-]{1,%d}", PROTO_MAX_NAME);
		return NULL;
	}
	if (strcmp(name, "ocsp") == 0) {
		snprintf(p->why, sizeof(p->why), "the profile name ocsp is the signer's own (the "
		    "OCSP responder certificate): configure it in [ocsp]");
		return NULL;
	}
	if (cfg->nprofiles == SG_MAX_PROFILES) {
		snprintf(p->why, sizeof(p->why), "at most %d profiles", SG_MAX_PROFILES);
		return NULL;
	}
	pr = &cfg->profiles[cfg->nprofiles++];
	memset(pr, 0, sizeof(*pr));
	memcpy(pr->name, name, n + 1);
	pr->max_days = 397;
	pr->backdate = 300;
	pr->key_types = SG_KEY_EC_P256 | SG_KEY_EC_P384 | SG_KEY_RSA;
	pr->rsa_min_bits = 2048;
	pr->attrs_allowed = 1u << PROTO_ATTR_CN;
	pr->attrs_required = 1u << PROTO_ATTR_CN;
	return pr;
}

static int profile_key(sg_profile *pr, const char *name, const char *v, cfg_parse *p)
{
	uint64_t x;
	int a;

	if (strcmp(name, "max_days") == 0) {
		if (!parse_u64(v, 1, SG_MAX_DAYS_CAP, &x, p, 10))
			return 0;
		pr->max_days = (uint32_t)x;
	} else if (strcmp(name, "backdate") == 0) {
		if (!parse_u64(v, 0, 86400, &x, p, 10))
			return 0;
		pr->backdate = (uint32_t)x;
	} else if (strcmp(name, "key_types") == 0) {
		pr->key_types = 0;
		return each_word(v, word_keytype, &pr->key_types, p);
	} else if (strcmp(name, "rsa_min_bits") == 0) {
		if (!parse_u64(v, 2048, 8192, &x, p, 10))
			return 0;
		pr->rsa_min_bits = (uint32_t)x;
	} else if (strcmp(name, "subject_allowed") == 0) {
		pr->attrs_allowed = 0;
		return each_word(v, word_attr, &pr->attrs_allowed, p);
	} else if (strcmp(name, "subject_required") == 0) {
		pr->attrs_required = 0;
		return each_word(v, word_attr, &pr->attrs_required, p);
	} else if (strcmp(name, "crl_url") == 0) {
		return set_str(pr->crl_url, sizeof(pr->crl_url), v, p);
	} else if (strcmp(name, "ocsp_url") == 0) {
		return set_str(pr->ocsp_url, sizeof(pr->ocsp_url), v, p);
	} else if (strcmp(name, "ca_issuers_url") == 0) {
		return set_str(pr->ca_issuers_url, sizeof(pr->ca_issuers_url), v, p);
	} else if (strcmp(name, "usage") == 0) {
		if (strcmp(v, "client") != 0 && strcmp(v, "server") != 0 &&
		    strcmp(v, "email") != 0) {
			snprintf(p->why, sizeof(p->why), "must be client, server or email");
			return 0;
		}
		pr->server = strcmp(v, "server") == 0;
		pr->email = strcmp(v, "email") == 0;
	} else if ((a = attr_by_name(name, strlen(name))) != 0 && a != PROTO_ATTR_CN &&
	    a != PROTO_ATTR_SERIALNUMBER) {
		return set_str(pr->fixed[a], sizeof(pr->fixed[a]), v, p);
	} else {
		snprintf(p->why, sizeof(p->why), "unknown key");
		return 0;
	}
	return 1;
}

static int signer_key(sg_config *c, const char *name, const char *v, cfg_parse *p)
{
	uint64_t x;

	if (strcmp(name, "socket") == 0)
		return set_str(c->socket_path, sizeof(c->socket_path), v, p);
	if (strcmp(name, "socket_mode") == 0) {
		if (!parse_u64(v, 0, 0777, &x, p, 8))
			return 0;
		c->socket_mode = (unsigned)x;
		return 1;
	}
	if (strcmp(name, "socket_group") == 0)
		return parse_gid(v, &c->socket_gid, p);
	if (strcmp(name, "ra_uid") == 0 || strcmp(name, "ra_user") == 0)
		return parse_uid(v, &c->ra_uid, p);
	if (strcmp(name, "ra_gid") == 0 || strcmp(name, "ra_group") == 0)
		return parse_gid(v, &c->ra_gid, p);
	if (strcmp(name, "ledger") == 0)
		return set_str(c->ledger, sizeof(c->ledger), v, p);
	if (strcmp(name, "workers") == 0) {
		if (!parse_u64(v, 1, SG_MAX_WORKERS, &x, p, 10))
			return 0;
		c->workers = (unsigned)x;
		return 1;
	}
	if (strcmp(name, "crl_lifetime") == 0) {
		if (!parse_u64(v, 60, 90 * 86400, &x, p, 10))
			return 0;
		c->crl_lifetime = (int64_t)x;
		return 1;
	}
	if (strcmp(name, "crl_refresh") == 0) {
		if (!parse_u64(v, 10, 90 * 86400, &x, p, 10))
			return 0;
		c->crl_refresh = (int64_t)x;
		return 1;
	}
	if (strcmp(name, "fault") == 0) {
		if (strcmp(v, "none") != 0 && strcmp(v, "crash-after-intent") != 0 &&
		    strcmp(v, "crash-after-sign") != 0 && strcmp(v, "crash-after-commit") != 0) {
			snprintf(p->why, sizeof(p->why),
			    "expected none, crash-after-intent, crash-after-sign or crash-after-commit");
			return 0;
		}
		return set_str(c->fault, sizeof(c->fault), v, p);
	}
	snprintf(p->why, sizeof(p->why), "unknown key");
	return 0;
}

static int ocsp_key(sg_config *c, const char *name, const char *v, cfg_parse *p)
{
	uint64_t x;

	if (strcmp(name, "key_label") == 0)
		return set_str(c->ocsp_key_label, sizeof(c->ocsp_key_label), v, p);
	if (strcmp(name, "key_id") == 0)
		return parse_hex(v, c->ocsp_key_id, sizeof(c->ocsp_key_id), &c->ocsp_key_id_len, p);
	if (strcmp(name, "cert_days") == 0) {
		if (!parse_u64(v, 1, 30, &x, p, 10))
			return 0;
		c->ocsp_cert_days = (uint32_t)x;
		return 1;
	}
	if (strcmp(name, "lifetime") == 0) {
		if (!parse_u64(v, 60, 7 * 86400, &x, p, 10))
			return 0;
		c->ocsp_lifetime = (int64_t)x;
		return 1;
	}
	if (strcmp(name, "refresh") == 0) {
		if (!parse_u64(v, 1, 7 * 86400, &x, p, 10))
			return 0;
		c->ocsp_refresh = (int64_t)x;
		return 1;
	}
	snprintf(p->why, sizeof(p->why), "unknown key");
	return 0;
}

static int on_key(void *user, const char *section, const char *name, const char *value)
{
	cfg_parse *p = user;
	sg_config *c = p->cfg;
	int ok;

	if (p->failed)
		return 1; /* report only the first error */
	if (strcmp(section, "signer") == 0) {
		ok = signer_key(c, name, value, p);
	} else if (strcmp(section, "hsm") == 0) {
		if (strcmp(name, "module") == 0)
			ok = set_str(c->module, sizeof(c->module), value, p);
		else if (strcmp(name, "token") == 0)
			ok = set_str(c->token, sizeof(c->token), value, p);
		else if (strcmp(name, "pin_file") == 0)
			ok = set_str(c->pin_file, sizeof(c->pin_file), value, p);
		else if (strcmp(name, "key_label") == 0)
			ok = set_str(c->key_label, sizeof(c->key_label), value, p);
		else if (strcmp(name, "key_id") == 0)
			ok = parse_hex(value, c->key_id, sizeof(c->key_id), &c->key_id_len, p);
		else if (strcmp(name, "session_copy") == 0)
			ok = parse_yes_no(value, &c->session_copy, p);
		else {
			snprintf(p->why, sizeof(p->why), "unknown key");
			ok = 0;
		}
	} else if (strcmp(section, "ca") == 0) {
		if (strcmp(name, "cert") == 0)
			ok = set_str(c->ca_cert, sizeof(c->ca_cert), value, p);
		else if (strcmp(name, "chain") == 0)
			ok = set_str(c->ca_chain, sizeof(c->ca_chain), value, p);
		else {
			snprintf(p->why, sizeof(p->why), "unknown key");
			ok = 0;
		}
	} else if (strcmp(section, "ocsp") == 0) {
		ok = ocsp_key(c, name, value, p);
	} else if (strncmp(section, "profile.", 8) == 0) {
		sg_profile *pr = profile_for(c, section + 8, p);
		ok = pr != NULL && profile_key(pr, name, value, p);
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

static ik_status validate_profile(const sg_profile *pr, char *err, size_t errsz)
{
	const char *c = pr->fixed[PROTO_ATTR_C];

	if (pr->crl_url[0] == '\0' || strncmp(pr->crl_url, "http://", 7) != 0) {
		snprintf(err, errsz, "[profile.%s] crl_url: required, an http:// URL", pr->name);
		return IK_ERR_CONFIG;
	}
	if (pr->ocsp_url[0] != '\0' && strncmp(pr->ocsp_url, "http://", 7) != 0) {
		snprintf(err, errsz, "[profile.%s] ocsp_url: must be an http:// URL", pr->name);
		return IK_ERR_CONFIG;
	}
	if (pr->key_types == 0) {
		snprintf(err, errsz, "[profile.%s] key_types: empty", pr->name);
		return IK_ERR_CONFIG;
	}
	if (c[0] != '\0' && (strlen(c) != 2 || !isupper((unsigned char)c[0]) ||
	    !isupper((unsigned char)c[1]))) {
		snprintf(err, errsz, "[profile.%s] C: must be two capital letters", pr->name);
		return IK_ERR_CONFIG;
	}
	for (int a = 1; a <= PROTO_ATTR_MAX; a++) {
		unsigned bit = 1u << a;
		if ((pr->attrs_required & bit) && !(pr->attrs_allowed & bit) && pr->fixed[a][0] == '\0') {
			snprintf(err, errsz, "[profile.%s] subject_required: %s is neither allowed nor fixed",
			    pr->name, attr_names[a]);
			return IK_ERR_CONFIG;
		}
	}
	return IK_OK;
}

static ik_status validate(const char *path, sg_config *c, char *err, size_t errsz)
{
	const char *missing = NULL;

	if (c->socket_path[0] == '\0')
		missing = "[signer] socket";
	else if (c->ledger[0] == '\0')
		missing = "[signer] ledger";
	else if (c->ra_uid == (uid_t)-1)
		missing = "[signer] ra_uid";
	else if (c->token[0] == '\0')
		missing = "[hsm] token";
	else if (c->pin_file[0] == '\0')
		missing = "[hsm] pin_file";
	else if (c->key_label[0] == '\0' && c->key_id_len == 0)
		missing = "[hsm] key_label or key_id";
	else if (c->ca_cert[0] == '\0')
		missing = "[ca] cert";
	else if (c->nprofiles == 0)
		missing = "a [profile.NAME] section";
	if (missing != NULL) {
		snprintf(err, errsz, "%s: %s is required", path, missing);
		return IK_ERR_CONFIG;
	}
	if (c->crl_refresh == 0)
		c->crl_refresh = c->crl_lifetime / 2;
	if (c->crl_refresh >= c->crl_lifetime) {
		snprintf(err, errsz, "%s: [signer] crl_refresh must be less than crl_lifetime", path);
		return IK_ERR_CONFIG;
	}
	if (c->ocsp_refresh >= c->ocsp_lifetime) {
		snprintf(err, errsz, "%s: [ocsp] refresh must be less than lifetime", path);
		return IK_ERR_CONFIG;
	}
	for (size_t i = 0; i < c->nprofiles; i++) {
		char why[200];
		if (validate_profile(&c->profiles[i], why, sizeof(why)) != IK_OK) {
			snprintf(err, errsz, "%s: %s", path, why);
			return IK_ERR_CONFIG;
		}
	}
	return IK_OK;
}

ik_status sg_config_load(const char *path, sg_config *cfg, char *err, size_t errsz)
{
	cfg_parse p;
	long online;
	int line;

	memset(cfg, 0, sizeof(*cfg));
	memset(&p, 0, sizeof(p));
	p.cfg = cfg;
	cfg->socket_mode = 0660;
	cfg->socket_gid = (gid_t)-1;
	cfg->ra_uid = (uid_t)-1;
	cfg->ra_gid = (gid_t)-1;
	cfg->crl_lifetime = 86400;
	cfg->session_copy = 1;
	snprintf(cfg->module, sizeof(cfg->module), "%s", "/usr/lib/softhsm/libsofthsm2.so");
	snprintf(cfg->fault, sizeof(cfg->fault), "none");
	snprintf(cfg->ocsp_key_label, sizeof(cfg->ocsp_key_label), "inkan-ocsp");
	cfg->ocsp_cert_days = 7;
	cfg->ocsp_lifetime = 3600;
	cfg->ocsp_refresh = 300;
	online = sysconf(_SC_NPROCESSORS_ONLN);
	cfg->workers = online < 1 ? 1u : online > SG_MAX_WORKERS ? SG_MAX_WORKERS : (unsigned)online;

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

const sg_profile *sg_config_profile(const sg_config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->nprofiles; i++)
		if (strcmp(cfg->profiles[i].name, name) == 0)
			return &cfg->profiles[i];
	return NULL;
}
