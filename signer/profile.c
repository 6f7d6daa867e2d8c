/* profile: check a decoded ISSUE request against its profile (flags, validity, subject
 * attributes and fixed values, key) and produce the normalised sg_leaf the TBS is built
 * from.  The RA is hostile: every rule is enforced here, each with its own status. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include "profile.h"

#define DAY 86400

static const char *const attr_names[PROTO_ATTR_MAX + 1] = {
	[PROTO_ATTR_CN] = "CN", [PROTO_ATTR_O] = "O", [PROTO_ATTR_OU] = "OU",
	[PROTO_ATTR_L] = "L", [PROTO_ATTR_ST] = "ST", [PROTO_ATTR_C] = "C",
	[PROTO_ATTR_SERIALNUMBER] = "serialNumber",
};

/* RFC 5280 upper bounds (characters). */
static const size_t attr_max_chars[PROTO_ATTR_MAX + 1] = {
	[PROTO_ATTR_CN] = 64, [PROTO_ATTR_O] = 64, [PROTO_ATTR_OU] = 64,
	[PROTO_ATTR_L] = 128, [PROTO_ATTR_ST] = 128, [PROTO_ATTR_C] = 2,
	[PROTO_ATTR_SERIALNUMBER] = 64,
};

/* DN order of the subject we write. */
static const uint8_t dn_order[PROTO_ATTR_MAX] = {
	PROTO_ATTR_C, PROTO_ATTR_ST, PROTO_ATTR_L, PROTO_ATTR_O, PROTO_ATTR_OU, PROTO_ATTR_CN,
	PROTO_ATTR_SERIALNUMBER,
};

__attribute__((format(printf, 4, 5)))
static ik_status refuse(char *why, size_t whysz, ik_status st, const char *fmt, ...)
{
	va_list ap;

	if (why != NULL && whysz > 0) {
		va_start(ap, fmt);
		vsnprintf(why, whysz, fmt, ap);
		va_end(ap);
	}
	return st;
}

/* Number of code points of a valid UTF-8 string without control characters, or -1. */
static long utf8_chars(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	long count = 0;

	while (*p != 0) {
		uint32_t cp;
		int k;

		if (*p < 0x80) {
			cp = *p;
			k = 0;
		} else if ((*p & 0xe0) == 0xc0) {
			cp = *p & 0x1fu;
			k = 1;
		} else if ((*p & 0xf0) == 0xe0) {
			cp = *p & 0x0fu;
			k = 2;
		} else if ((*p & 0xf8) == 0xf0) {
			cp = *p & 0x07u;
			k = 3;
		} else {
			return -1;
		}
		p++;
		for (int i = 0; i < k; i++, p++) {
			if ((*p & 0xc0) != 0x80)
				return -1;
			cp = cp << 6 | (*p & 0x3fu);
		}
		if ((k == 1 && cp < 0x80) || (k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return -1; /* overlong, out of range, surrogate */
		if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0))
			return -1; /* C0 / DEL / C1 controls */
		count++;
	}
	return count;
}

static int printable(const char *s)
{
	static const char extra[] = " '()+,-./:=?";

	for (; *s != '\0'; s++) {
		char c = *s;

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    strchr(extra, c) != NULL))
			return 0;
	}
	return 1;
}

static ik_status check_value(uint8_t t, const char *v, char *why, size_t whysz)
{
	long chars = utf8_chars(v);

	if (chars < 0)
		return refuse(why, whysz, IK_ERR_POLICY_SUBJECT,
		    "attribute %s is not valid UTF-8 without control characters", attr_names[t]);
	if (chars == 0)
		return refuse(why, whysz, IK_ERR_POLICY_SUBJECT, "attribute %s is empty",
		    attr_names[t]);
	if ((size_t)chars > attr_max_chars[t])
		return refuse(why, whysz, IK_ERR_POLICY_SUBJECT,
		    "attribute %s longer than %zu characters (RFC 5280)", attr_names[t],
		    attr_max_chars[t]);
	if (t == PROTO_ATTR_C && (strlen(v) != 2 || v[0] < 'A' || v[0] > 'Z' || v[1] < 'A' ||
	    v[1] > 'Z'))
		return refuse(why, whysz, IK_ERR_POLICY_SUBJECT,
		    "C must be 2 uppercase ASCII letters (ISO 3166)");
	if (t == PROTO_ATTR_SERIALNUMBER && !printable(v))
		return refuse(why, whysz, IK_ERR_POLICY_SUBJECT,
		    "serialNumber must use PrintableString characters");
	return IK_OK;
}

static ik_status check_subject(const sg_profile *p, const proto_issue *req, sg_leaf *leaf,
    char *why, size_t whysz)
{
	const char *val[PROTO_ATTR_MAX + 1] = { NULL };
	unsigned seen = 0;
	ik_status st;

	if (req->nattrs > PROTO_MAX_ATTRS)
		return refuse(why, whysz, IK_ERR_POLICY_SUBJECT, "too many subject attributes");
	for (size_t i = 0; i < req->nattrs; i++) {
		uint8_t t = req->attrs[i].type;
		const char *v = req->attrs[i].value;

		if (t < 1 || t > PROTO_ATTR_MAX)
			return refuse(why, whysz, IK_ERR_POLICY_SUBJECT,
			    "unknown subject attribute type %u", t);
		if ((seen & (1u << t)) != 0)
			return refuse(why, whysz, IK_ERR_POLICY_SUBJECT, "duplicate attribute %s",
			    attr_names[t]);
		seen |= 1u << t;
		if (p->fixed[t][0] != '\0') {
			if (strcmp(v, p->fixed[t]) != 0)
				return refuse(why, whysz, IK_ERR_POLICY_SUBJECT,
				    "%s must be '%s' (fixed by profile)", attr_names[t], p->fixed[t]);
		} else if ((p->attrs_allowed & (1u << t)) == 0) {
			return refuse(why, whysz, IK_ERR_POLICY_SUBJECT,
			    "attribute %s not allowed by profile %s", attr_names[t], p->name);
		}
		if ((st = check_value(t, v, why, whysz)) != IK_OK)
			return st;
		val[t] = v;
	}
	for (uint8_t t = 1; t <= PROTO_ATTR_MAX; t++) {
		if (val[t] == NULL && p->fixed[t][0] != '\0') {
			if ((st = check_value(t, p->fixed[t], why, whysz)) != IK_OK)
				return st;
			val[t] = p->fixed[t];
		}
		if ((p->attrs_required & (1u << t)) != 0 && val[t] == NULL)
			return refuse(why, whysz, IK_ERR_POLICY_SUBJECT,
			    "required attribute %s missing (profile %s)", attr_names[t], p->name);
	}
	leaf->nsubject = 0;
	for (size_t i = 0; i < PROTO_ATTR_MAX; i++) {
		uint8_t t = dn_order[i];

		if (val[t] == NULL)
			continue;
		leaf->subject[leaf->nsubject].type = t;
		leaf->subject[leaf->nsubject].value = val[t];
		leaf->nsubject++;
	}
	if (leaf->nsubject == 0)
		return refuse(why, whysz, IK_ERR_POLICY_SUBJECT, "empty subject");
	if (p->server) {
		uint8_t ip[16];
		size_t iplen;
		if (val[PROTO_ATTR_CN] == NULL || (!sg_ip_literal(val[PROTO_ATTR_CN], ip, &iplen) &&
		    !sg_dns_name(val[PROTO_ATTR_CN])))
			return refuse(why, whysz, IK_ERR_POLICY_SUBJECT,
			    "profile %s: CN must be a DNS name or an IP address", p->name);
	}
	if (p->email && (val[PROTO_ATTR_CN] == NULL || !sg_email_addr(val[PROTO_ATTR_CN])))
		return refuse(why, whysz, IK_ERR_POLICY_SUBJECT,
		    "profile %s: CN must be an e-mail address (local@domain, ASCII)", p->name);
	return IK_OK;
}

static ik_status check_validity(const sg_profile *p, const proto_issue *req, int64_t now,
    int64_t ca_not_after, sg_leaf *leaf, char *why, size_t whysz)
{
	int64_t backdate = p->backdate, earliest = now - backdate, nb, na, span, max_span;
	uint32_t max_days = p->max_days > SG_MAX_DAYS_CAP ? SG_MAX_DAYS_CAP : p->max_days;

	if (req->not_before > INT64_MAX || req->not_after > INT64_MAX)
		return refuse(why, whysz, IK_ERR_POLICY_VALIDITY, "validity out of range");
	nb = req->not_before == 0 ? earliest : (int64_t)req->not_before;
	na = (int64_t)req->not_after;
	if (nb < earliest)
		return refuse(why, whysz, IK_ERR_POLICY_VALIDITY,
		    "notBefore %lld is more than %u s in the past (now %lld)", (long long)nb,
		    p->backdate, (long long)now);
	if (nb > now + DAY)
		return refuse(why, whysz, IK_ERR_POLICY_VALIDITY,
		    "notBefore %lld is more than one day in the future (now %lld)", (long long)nb,
		    (long long)now);
	if (na <= nb)
		return refuse(why, whysz, IK_ERR_POLICY_VALIDITY,
		    "notAfter %lld is not after notBefore %lld", (long long)na, (long long)nb);
	span = na - nb;
	max_span = (int64_t)max_days * DAY + backdate;
	if (span > max_span)
		return refuse(why, whysz, IK_ERR_POLICY_VALIDITY,
		    "validity %lld s exceeds %u days (+%u s backdate) of profile %s",
		    (long long)span, max_days, p->backdate, p->name);
	if (na > ca_not_after)
		return refuse(why, whysz, IK_ERR_POLICY_VALIDITY,
		    "notAfter %lld is beyond the CA's notAfter %lld", (long long)na,
		    (long long)ca_not_after);
	leaf->not_before = nb;
	leaf->not_after = na;
	return IK_OK;
}

ik_status sg_profile_check(const sg_profile *p, const proto_issue *req, int64_t now,
    int64_t ca_not_after, sg_leaf *leaf, char *why, size_t whysz)
{
	ik_status st;

	if (p == NULL || req == NULL || leaf == NULL)
		return refuse(why, whysz, IK_ERR_ARG, "sg_profile_check: bad argument");
	if (strcmp(req->profile, p->name) != 0)
		return refuse(why, whysz, IK_ERR_POLICY_PROFILE, "unknown profile '%s'", req->profile);
	if ((req->flags & PROTO_ISSUE_F_CA) != 0)
		return refuse(why, whysz, IK_ERR_POLICY_CA,
		    "basicConstraints CA:TRUE not allowed in profile %s", p->name);
	if ((req->flags & ~PROTO_ISSUE_F_CA) != 0)
		return refuse(why, whysz, IK_ERR_POLICY_FLAGS, "unknown request flags 0x%x",
		    (unsigned)(req->flags & ~PROTO_ISSUE_F_CA));
	if ((st = check_validity(p, req, now, ca_not_after, leaf, why, whysz)) != IK_OK)
		return st;
	if ((st = check_subject(p, req, leaf, why, whysz)) != IK_OK)
		return st;
	return sg_spki_check(p, req->spki, req->spki_len, &leaf->key, why, whysz);
}

int sg_ip_literal(const char *s, uint8_t ip[16], size_t *iplen)
{
	if (inet_pton(AF_INET, s, ip) == 1) {
		*iplen = 4;
		return 1;
	}
	if (inet_pton(AF_INET6, s, ip) == 1) {
		*iplen = 16;
		return 1;
	}
	return 0;
}

int sg_dns_name(const char *s)
{
	size_t n = strlen(s), label = 0;

	if (n == 0 || n > 253 || s[n - 1] == '.')
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '.') {
			if (label == 0 || s[i - 1] == '-')
				return 0;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    (c == '-' && label > 0)))
			return 0;
		if (++label > 63)
			return 0;
	}
	return s[n - 1] != '-';
}

int sg_email_addr(const char *s)
{
	static const char atext[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789!#$%&'*+/=?^_`{|}~-";
	const char *at = strchr(s, '@');
	size_t local;

	if (at == NULL || strchr(at + 1, '@') != NULL || strchr(at + 1, '.') == NULL)
		return 0;
	local = (size_t)(at - s);
	if (local == 0 || local > 64 || s[0] == '.' || at[-1] == '.')
		return 0;
	for (size_t i = 0; i < local; i++) {
		if (s[i] == '.' ? s[i + 1] == '.' : strchr(atext, s[i]) == NULL)
			return 0;
	}
	return sg_dns_name(at + 1);
}
