/* bulk_field: checks of single values of a bulk file (common names, e-mail addresses,
 * serials, revocation reasons, validity, key types), each with a reason for the officer. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "bulk_field.h"

/* One conversion of fmt (at *f, after the '%') as a string; f moves past it.  0 when the
 * conversion is not one of ours. */
static int one_arg(const char **f, va_list *ap, char *out, size_t outsz)
{
	const char *p = *f;
	int pad2 = 0, pad4 = 0, z = 0;

	if (p[0] == '0' && p[1] == '2') {
		pad2 = 1;
		p += 2;
	} else if (p[0] == '0' && p[1] == '4') {
		pad4 = 1;
		p += 2;
	}
	if (*p == 'z') {
		z = 1;
		p++;
	}
	switch (*p) {
	case 's': snprintf(out, outsz, "%s", va_arg(*ap, const char *)); break;
	case 'c': snprintf(out, outsz, "%c", (char)va_arg(*ap, int)); break;
	case 'd': snprintf(out, outsz, "%d", va_arg(*ap, int)); break;
	case 'u':
		if (z)
			snprintf(out, outsz, "%zu", va_arg(*ap, size_t));
		else
			snprintf(out, outsz, "%u", va_arg(*ap, unsigned));
		break;
	case 'X':
		if (pad2)
			snprintf(out, outsz, "%02X", va_arg(*ap, unsigned));
		else if (pad4)
			snprintf(out, outsz, "%04X", va_arg(*ap, unsigned));
		else
			snprintf(out, outsz, "%X", va_arg(*ap, unsigned));
		break;
	default:
		return 0;
	}
	*f = p + 1;
	return 1;
}

void ra_bulkf_vset(ra_bulkf_why *why, const char *code, const char *fmt, va_list ap)
{
	va_list aq;
	char tmp[RA_BULK_ARG_MAX];

	va_copy(aq, ap);
	vsnprintf(why->text, sizeof(why->text), fmt, ap);
	why->code = code;
	why->nargs = 0;
	for (const char *f = fmt; *f != '\0';) {
		if (*f++ != '%')
			continue;
		if (*f == '%') {
			f++;
			continue;
		}
		if (!one_arg(&f, &aq, tmp, sizeof(tmp)))
			break;
		if (why->nargs < RA_BULK_ARGS)
			snprintf(why->args[why->nargs++], RA_BULK_ARG_MAX, "%s", tmp);
	}
	va_end(aq);
}

__attribute__((format(printf, 3, 4)))
static int fail(ra_bulkf_why *why, const char *code, const char *fmt, ...)
{
	va_list ap;

	if (why != NULL) {
		va_start(ap, fmt);
		ra_bulkf_vset(why, code, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static int ascii_lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* ASCII-only case-insensitive equality (no locale). */
static int ascii_eq(const char *a, const char *b)
{
	for (; *a != '\0' && *b != '\0'; a++, b++)
		if (ascii_lower((unsigned char)*a) != ascii_lower((unsigned char)*b))
			return 0;
	return *a == *b;
}

static int is_alnum(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

size_t ra_bulkf_utf8(const uint8_t *p, size_t n, uint32_t *cp)
{
	size_t k;
	uint32_t c;

	if (n == 0)
		return 0;
	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	}
	if ((p[0] & 0xe0) == 0xc0) {
		c = p[0] & 0x1fu;
		k = 2;
	} else if ((p[0] & 0xf0) == 0xe0) {
		c = p[0] & 0x0fu;
		k = 3;
	} else if ((p[0] & 0xf8) == 0xf0) {
		c = p[0] & 0x07u;
		k = 4;
	} else {
		return 0;
	}
	if (n < k)
		return 0;
	for (size_t i = 1; i < k; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (p[i] & 0x3fu);
	}
	if ((k == 2 && c < 0x80) || (k == 3 && c < 0x800) || (k == 4 && c < 0x10000) ||
	    c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return k;
}

int ra_bulkf_bad_char(uint32_t cp)
{
	if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0))
		return 1; /* C0, DEL, C1 */
	return (cp >= 0x200b && cp <= 0x200f) || (cp >= 0x2028 && cp <= 0x202e) ||
	    (cp >= 0x2060 && cp <= 0x2064) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0xfeff;
}

int ra_bulkf_text(const char *v, size_t maxchars, size_t maxbytes, int multiline, ra_bulkf_why *why)
{
	const uint8_t *p = (const uint8_t *)v;
	size_t n = strlen(v), chars = 0;

	for (size_t i = 0; i < n;) {
		uint32_t cp;
		size_t k = ra_bulkf_utf8(p + i, n - i, &cp);

		if (k == 0)
			return fail(why, "utf8", "is not valid UTF-8");
		if (ra_bulkf_bad_char(cp) && !(multiline && (cp == '\t' || cp == '\n' || cp == '\r')))
			return fail(why, cp < 0xa0 ? "control_char" : "format_char", cp < 0xa0 ?
			    "has a control character (U+%04X)" :
			    "has an invisible formatting character (U+%04X)", (unsigned)cp);
		chars++;
		i += k;
	}
	if (chars > maxchars)
		return fail(why, "too_many_chars", "is longer than %zu characters (it has %zu)", maxchars,
		    chars);
	if (n > maxbytes)
		return fail(why, "too_many_bytes", "is longer than %zu bytes of UTF-8 (it has %zu)", maxbytes,
		    n);
	return 0;
}

int ra_bulkf_user(const char *v, ra_bulkf_why *why)
{
	const uint8_t *p = (const uint8_t *)v;
	size_t n = strlen(v);

	for (size_t i = 0; i < n; i++) {
		uint32_t cp = p[i];

		if (is_alnum(p[i]) || strchr("._-@+", p[i]) != NULL)
			continue;
		if (p[i] >= 0x80 && ra_bulkf_utf8(p + i, n - i, &cp) == 0)
			cp = p[i];
		return fail(why, "user_char", "has a character that is not allowed (U+%04X): use ASCII "
		    "letters, digits and . _ - @ +", (unsigned)cp);
	}
	if (n > 64)
		return fail(why, "user_long", "is longer than 64 characters (it has %zu)", n);
	return 0;
}

static int email_local_ok(const char *s, size_t n, ra_bulkf_why *why)
{
	static const char atext[] = "!#$%&'*+/=?^_`{|}~-";

	if (n == 0)
		return fail(why, "email_no_local", "has nothing before the @");
	if (n > 64)
		return fail(why, "email_local_long", "has more than 64 characters before the @");
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '.') {
			if (i == 0 || i + 1 == n || s[i + 1] == '.')
				return fail(why, "email_dots", "has a dot at the start or end of the part "
				    "before the @, or two dots in a row");
		} else if (!is_alnum((unsigned char)s[i]) && strchr(atext, s[i]) == NULL) {
			return fail(why, "email_local_char", "has a character that is not allowed before the @ "
			    "('%c')", s[i]);
		}
	}
	return 0;
}

static int email_domain_ok(const char *s, size_t n, ra_bulkf_why *why)
{
	size_t labels = 0, start = 0;
	int digits_only = 1;

	if (n == 0)
		return fail(why, "email_no_domain", "has nothing after the @");
	for (size_t i = 0; i <= n; i++) {
		if (i == n || s[i] == '.') {
			size_t len = i - start;

			if (len == 0 || len > 63 || s[start] == '-' || s[i - 1] == '-')
				return fail(why, "email_domain", "has a malformed domain after the @");
			labels++;
			start = i + 1;
			if (i < n)
				digits_only = 1;
			continue;
		}
		if (!is_alnum((unsigned char)s[i]) && s[i] != '-')
			return fail(why, "email_domain_char", "has a character that is not allowed in the domain "
			    "('%c')", s[i]);
		if (!(s[i] >= '0' && s[i] <= '9'))
			digits_only = 0;
	}
	if (labels < 2)
		return fail(why, "email_domain_dot",
		    "needs a domain with a dot after the @ (e.g. example.co.jp)");
	if (digits_only)
		return fail(why, "email_domain", "has a malformed domain after the @");
	return 0;
}

int ra_bulkf_email(const char *v, ra_bulkf_why *why)
{
	size_t n = strlen(v);
	const char *at;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];

		if (c >= 0x80)
			return fail(why, "email_ascii", "must be ASCII (no full-width characters such as ＠)");
		if (c <= 0x20 || c == 0x7f)
			return fail(why, "email_space", "has a space or control character");
	}
	if (n > 254)
		return fail(why, "email_long", "is longer than 254 characters (it has %zu)", n);
	at = strchr(v, '@');
	if (at == NULL || strchr(at + 1, '@') != NULL)
		return fail(why, "email_at", "must have exactly one @");
	if (email_local_ok(v, (size_t)(at - v), why) != 0)
		return -1;
	return email_domain_ok(at + 1, n - (size_t)(at - v) - 1, why);
}

int ra_bulkf_common_name(const char *v, ra_bulkf_why *why)
{
	/* The signer's rule (signer/profile.c): UTF-8 without controls, 1..64 characters
	 * (RFC 5280 ub-common-name), and the protocol carries at most 128 bytes. */
	return ra_bulkf_text(v, 64, PROTO_MAX_ATTR_LEN, 0, why);
}

int ra_bulkf_days(const char *v, uint32_t max, uint32_t *out, ra_bulkf_why *why)
{
	uint64_t d = 0;
	size_t n = strlen(v);

	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return fail(why, "days_number", "must be a whole number of days from 1 to %u "
			    "(half-width digits only)", (unsigned)max);
		if (d <= UINT32_MAX)
			d = d * 10 + (uint64_t)(v[i] - '0');
	}
	if (d == 0)
		return fail(why, "days_zero", "must be at least 1 day");
	if (d > max)
		return fail(why, "days_max", "is more than the maximum of %u days", (unsigned)max);
	*out = (uint32_t)d;
	return 0;
}

static const struct {
	const char *name;
	ra_bulk_key key;
} key_names[] = {
	{ "ec-p256", RA_BULK_KEY_EC_P256 }, { "p-256", RA_BULK_KEY_EC_P256 },
	{ "p256", RA_BULK_KEY_EC_P256 }, { "ecdsa-p256", RA_BULK_KEY_EC_P256 },
	{ "prime256v1", RA_BULK_KEY_EC_P256 }, { "ec-p384", RA_BULK_KEY_EC_P384 },
	{ "p-384", RA_BULK_KEY_EC_P384 }, { "p384", RA_BULK_KEY_EC_P384 },
	{ "ecdsa-p384", RA_BULK_KEY_EC_P384 }, { "secp384r1", RA_BULK_KEY_EC_P384 },
	{ "rsa-2048", RA_BULK_KEY_RSA_2048 }, { "rsa2048", RA_BULK_KEY_RSA_2048 },
	{ "rsa-3072", RA_BULK_KEY_RSA_3072 }, { "rsa3072", RA_BULK_KEY_RSA_3072 },
	{ "rsa-4096", RA_BULK_KEY_RSA_4096 }, { "rsa4096", RA_BULK_KEY_RSA_4096 },
};

int ra_bulkf_key(const char *v, ra_bulk_key *out, ra_bulkf_why *why)
{
	for (size_t i = 0; i < sizeof(key_names) / sizeof(key_names[0]); i++) {
		if (ascii_eq(v, key_names[i].name)) {
			*out = key_names[i].key;
			return 0;
		}
	}
	return fail(why, "key_type", "is not a known key type: use ec-p256, ec-p384, rsa-2048, "
	    "rsa-3072 or rsa-4096");
}

const char *ra_bulk_key_name(ra_bulk_key k)
{
	switch (k) {
	case RA_BULK_KEY_EC_P256: return "ec-p256";
	case RA_BULK_KEY_EC_P384: return "ec-p384";
	case RA_BULK_KEY_RSA_2048: return "rsa-2048";
	case RA_BULK_KEY_RSA_3072: return "rsa-3072";
	case RA_BULK_KEY_RSA_4096: return "rsa-4096";
	case RA_BULK_KEY_DEFAULT: break;
	}
	return NULL;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)ascii_lower((unsigned char)c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int ra_bulkf_serial(const char *v, uint8_t *out, size_t *outlen, ra_bulkf_why *why)
{
	uint8_t nib[2 * PROTO_MAX_SERIAL + 2];
	size_t nn = 0, start = 0, k = 0;

	if ((v[0] == '0' && (v[1] == 'x' || v[1] == 'X')))
		v += 2;
	for (size_t i = 0; v[i] != '\0'; i++) {
		int h = hexval(v[i]);

		if (h < 0 && (v[i] == ':' || v[i] == ' ' || v[i] == '-') && i > 0 &&
		    hexval(v[i - 1]) >= 0 && hexval(v[i + 1]) >= 0)
			continue;
		if (h < 0)
			return fail(why, strstr(v, "E+") != NULL ? "serial_exponent" : "serial_hex",
			    strstr(v, "E+") != NULL ?
			    "looks like a number a spreadsheet rewrote (format the column as text); "
			    "a serial is hexadecimal, e.g. 4f:a2:01 or 4FA201" :
			    "must be hexadecimal, e.g. 4f:a2:01 or 4FA201");
		if (nn == 0 && h == 0)
			continue; /* leading zeros */
		if (nn >= sizeof(nib))
			return fail(why, "serial_long", "is longer than %d octets (RFC 5280)",
			    PROTO_MAX_SERIAL);
		nib[nn++] = (uint8_t)h;
	}
	if (nn == 0)
		return fail(why, "serial_zero", "is zero or empty: a serial is a positive number");
	/* Minimal positive INTEGER: odd nibble count starts with a half byte; a set top bit
	 * needs a 0x00 octet in front. */
	if (nn % 2 == 1)
		out[k++] = nib[start++];
	else if (nib[0] >= 8)
		out[k++] = 0;
	for (; start < nn; start += 2) {
		if (k >= PROTO_MAX_SERIAL)
			return fail(why, "serial_long", "is longer than %d octets (RFC 5280)",
			    PROTO_MAX_SERIAL);
		out[k++] = (uint8_t)(nib[start] << 4 | nib[start + 1]);
	}
	*outlen = k;
	return 0;
}

/* RFC 5280 names (ASCII case-insensitive) and Japanese aliases; code -1 is refused. */
static const struct {
	const char *name;
	int code;
	const char *ja[2];
	const char *refusal;
	const char *code_name;   /* the refusal's error code */
} reasons[] = {
	{ "unspecified", 0, { "未指定", "理由なし" }, NULL, NULL },
	{ "keyCompromise", 1, { "鍵の危殆化", NULL }, NULL, NULL },
	{ "cACompromise", -1, { NULL, NULL },
	    "cACompromise is not a reason for an end-entity certificate", "reason_ca" },
	{ "affiliationChanged", 3, { "所属の変更", "所属変更" }, NULL, NULL },
	{ "superseded", 4, { "証明書の置き換え", NULL }, NULL, NULL },
	{ "cessationOfOperation", 5, { "運用停止", "利用終了" }, NULL, NULL },
	{ "certificateHold", -1, { NULL, NULL },
	    "certificateHold is a suspension, not a revocation: suspend the certificate instead",
	    "reason_hold" },
	{ "removeFromCRL", -1, { NULL, NULL }, "removeFromCRL is not a revocation reason",
	  "reason_remove" },
	{ "privilegeWithdrawn", 9, { "権限の取り消し", NULL }, NULL, NULL },
	{ "aACompromise", -1, { NULL, NULL },
	    "aACompromise is not a reason for an end-entity certificate", "reason_aa" },
};

int ra_bulkf_reason(const char *v, uint8_t *out, ra_bulkf_why *why)
{
	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++) {
		int hit = ascii_eq(v, reasons[i].name);

		for (size_t j = 0; j < 2 && !hit; j++)
			hit = reasons[i].ja[j] != NULL && strcmp(v, reasons[i].ja[j]) == 0;
		if (!hit)
			continue;
		if (reasons[i].code < 0)
			return fail(why, reasons[i].code_name, "%s", reasons[i].refusal);
		*out = (uint8_t)reasons[i].code;
		return 0;
	}
	return fail(why, "reason_unknown", "is not a revocation reason: use unspecified, "
	    "keyCompromise, affiliationChanged, superseded, cessationOfOperation or privilegeWithdrawn");
}

const char *ra_bulk_reason_name(uint8_t reason)
{
	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (reasons[i].code == (int)reason)
			return reasons[i].name;
	return NULL;
}

int ra_bulkf_bool(const char *v, int *out, ra_bulkf_why *why)
{
	static const char *const yes[] = { "yes", "y", "true", "1", "はい", "する" };
	static const char *const no[] = { "no", "n", "false", "0", "いいえ", "しない" };

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (ascii_eq(v, yes[i])) {
			*out = 1;
			return 0;
		}
		if (ascii_eq(v, no[i])) {
			*out = 0;
			return 0;
		}
	}
	return fail(why, "bool", "must be yes or no");
}

void ra_bulkf_quote(char *out, size_t outsz, const char *v)
{
	const uint8_t *p = (const uint8_t *)v;
	size_t n = strlen(v), o = 0, chars = 0, i = 0;

	if (outsz < 24) {
		if (outsz > 0)
			out[0] = '\0';
		return;
	}
	out[o++] = '"';
	while (i < n && chars < 40 && o + 16 < outsz) {
		uint32_t cp;
		size_t k = ra_bulkf_utf8(p + i, n - i, &cp);

		if (k == 0) {
			o += (size_t)snprintf(out + o, outsz - o, "\\x%02X", p[i]);
			k = 1;
		} else if (ra_bulkf_bad_char(cp)) {
			o += (size_t)snprintf(out + o, outsz - o, "\\u%04X", (unsigned)cp);
		} else if (cp == '"' || cp == '\\') {
			out[o++] = '\\';
			out[o++] = (char)cp;
		} else {
			memcpy(out + o, p + i, k);
			o += k;
		}
		i += k;
		chars++;
	}
	if (i < n) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o++] = '"';
	out[o] = '\0';
}
