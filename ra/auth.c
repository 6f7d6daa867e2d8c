/* auth: the request-independent pieces of officer authentication — scrypt password hashes
 * in PHC form, random tokens and their hashes, constant-time compares, CIDR allow-lists. */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "auth.h"

#define SCRYPT_LN 15u
#define SCRYPT_R 8u
#define SCRYPT_P 1u
#define SALT_LEN 16
#define HASH_LEN 32
#define SCRYPT_MAXMEM (256ull * 1024 * 1024)

static const char b64_std[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64_url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* ---- base64 without padding ---- */

ik_status ra_b64_encode(const uint8_t *in, size_t n, int url, char *out, size_t outsz)
{
	const char *al = url ? b64_url : b64_std;
	size_t need, o = 0;

	if (n > SIZE_MAX / 2)
		return IK_ERR_ARG;
	need = (n / 3) * 4 + (n % 3 ? n % 3 + 1 : 0) + 1;
	if (need > outsz)
		return IK_ERR_ARG;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;
		size_t rem = n - i;
		if (rem > 1)
			v |= (uint32_t)in[i + 1] << 8;
		if (rem > 2)
			v |= in[i + 2];
		out[o++] = al[(v >> 18) & 63];
		out[o++] = al[(v >> 12) & 63];
		if (rem > 1)
			out[o++] = al[(v >> 6) & 63];
		if (rem > 2)
			out[o++] = al[v & 63];
	}
	out[o] = '\0';
	return IK_OK;
}

static int b64_val(char c, int url)
{
	const char *al = url ? b64_url : b64_std;
	const char *p = c != '\0' ? strchr(al, c) : NULL;

	return p != NULL ? (int)(p - al) : -1;
}

ik_status ra_b64_decode(const char *in, size_t inlen, int url, uint8_t *out, size_t outsz,
    size_t *outlen)
{
	size_t o = 0, need;
	uint32_t acc = 0;
	unsigned bits = 0;

	if (inlen % 4 == 1)
		return IK_ERR_ARG;
	need = (inlen / 4) * 3 + (inlen % 4 ? inlen % 4 - 1 : 0);
	if (need > outsz)
		return IK_ERR_ARG;
	for (size_t i = 0; i < inlen; i++) {
		int v = b64_val(in[i], url);
		if (v < 0)
			return IK_ERR_ARG;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (uint8_t)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	if (acc != 0) /* non-canonical: leftover bits must be zero */
		return IK_ERR_ARG;
	*outlen = o;
	return IK_OK;
}

/* ---- scrypt ---- */

static ik_status scrypt(const char *pw, const uint8_t *salt, size_t saltlen, unsigned ln,
    unsigned r, unsigned p, uint8_t *out, size_t outlen)
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "SCRYPT", NULL);
	EVP_KDF_CTX *ctx = kdf != NULL ? EVP_KDF_CTX_new(kdf) : NULL;
	uint64_t n = 1ull << ln, maxmem = SCRYPT_MAXMEM;
	uint32_t r32 = r, p32 = p;
	OSSL_PARAM params[7];
	ik_status st = IK_ERR_CRYPTO;

	if (ctx == NULL)
		goto out;
	params[0] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD,
	    (void *)(uintptr_t)pw, strlen(pw));
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
	    (void *)(uintptr_t)salt, saltlen);
	params[2] = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n);
	params[3] = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r32);
	params[4] = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p32);
	params[5] = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &maxmem);
	params[6] = OSSL_PARAM_construct_end();
	if (EVP_KDF_derive(ctx, out, outlen, params) == 1)
		st = IK_OK;
out:
	EVP_KDF_CTX_free(ctx);
	EVP_KDF_free(kdf);
	return st;
}

ik_status ra_password_hash(const char *password, char *phc, size_t phcsz)
{
	uint8_t salt[SALT_LEN], hash[HASH_LEN];
	char s64[32], h64[48];
	ik_status st;
	int n;

	if (RAND_bytes(salt, sizeof(salt)) != 1)
		return IK_ERR_CRYPTO;
	st = scrypt(password, salt, sizeof(salt), SCRYPT_LN, SCRYPT_R, SCRYPT_P, hash,
	    sizeof(hash));
	if (st != IK_OK)
		goto out;
	if ((st = ra_b64_encode(salt, sizeof(salt), 0, s64, sizeof(s64))) != IK_OK ||
	    (st = ra_b64_encode(hash, sizeof(hash), 0, h64, sizeof(h64))) != IK_OK)
		goto out;
	n = snprintf(phc, phcsz, "$scrypt$ln=%u,r=%u,p=%u$%s$%s", SCRYPT_LN, SCRYPT_R, SCRYPT_P,
	    s64, h64);
	st = n > 0 && (size_t)n < phcsz ? IK_OK : IK_ERR_ARG;
out:
	OPENSSL_cleanse(hash, sizeof(hash));
	return st;
}

/* A decimal in [min, max] of at most 3 digits, no sign, no leading zero; advances *s. */
static int phc_num(const char **s, const char *key, unsigned min, unsigned max, unsigned *out)
{
	size_t kl = strlen(key);
	const char *p = *s;
	unsigned v = 0;
	int digits = 0;

	if (strncmp(p, key, kl) != 0 || p[kl] != '=')
		return 0;
	p += kl + 1;
	if (*p == '0')
		return 0;
	while (*p >= '0' && *p <= '9' && digits < 3) {
		v = v * 10 + (unsigned)(*p - '0');
		p++;
		digits++;
	}
	if (digits == 0 || (*p >= '0' && *p <= '9') || v < min || v > max)
		return 0;
	*out = v;
	*s = p;
	return 1;
}

typedef struct phc {
	unsigned ln, r, p;
	uint8_t salt[64];
	size_t saltlen;
	uint8_t hash[HASH_LEN];
} phc;

static ik_status phc_parse(const char *s, phc *out)
{
	const char *salt, *hash;
	size_t hlen;

	if (strlen(s) >= RA_PHC_MAX || strncmp(s, "$scrypt$", 8) != 0)
		return IK_ERR_ARG;
	s += 8;
	/* bounded so that a planted hash cannot make us burn memory or CPU */
	if (!phc_num(&s, "ln", 10, 20, &out->ln) || *s++ != ',' ||
	    !phc_num(&s, "r", 1, 32, &out->r) || *s++ != ',' ||
	    !phc_num(&s, "p", 1, 4, &out->p) || *s++ != '$')
		return IK_ERR_ARG;
	salt = s;
	hash = strchr(salt, '$');
	if (hash == NULL || strchr(hash + 1, '$') != NULL)
		return IK_ERR_ARG;
	if (ra_b64_decode(salt, (size_t)(hash - salt), 0, out->salt, sizeof(out->salt),
	    &out->saltlen) != IK_OK || out->saltlen < 8)
		return IK_ERR_ARG;
	if (ra_b64_decode(hash + 1, strlen(hash + 1), 0, out->hash, sizeof(out->hash),
	    &hlen) != IK_OK || hlen != HASH_LEN)
		return IK_ERR_ARG;
	if ((uint64_t)128 * out->r * (1ull << out->ln) > SCRYPT_MAXMEM / 2)
		return IK_ERR_ARG;
	return IK_OK;
}

ik_status ra_password_verify(const char *password, const char *phc_str)
{
	phc h;
	uint8_t got[HASH_LEN];
	ik_status st;

	if (phc_parse(phc_str, &h) != IK_OK)
		return IK_ERR_ARG;
	st = scrypt(password, h.salt, h.saltlen, h.ln, h.r, h.p, got, sizeof(got));
	if (st == IK_OK)
		st = CRYPTO_memcmp(got, h.hash, sizeof(got)) == 0 ? IK_OK : IK_ERR_AUTH;
	OPENSSL_cleanse(got, sizeof(got));
	OPENSSL_cleanse(&h, sizeof(h));
	return st;
}

static char g_dummy[RA_PHC_MAX];
static pthread_once_t g_dummy_once = PTHREAD_ONCE_INIT;

static void dummy_init(void)
{
	if (ra_password_hash("inkan-dummy-password", g_dummy, sizeof(g_dummy)) != IK_OK)
		g_dummy[0] = '\0';
}

void ra_password_dummy(const char *password)
{
	uint8_t salt[SALT_LEN] = { 0 }, out[HASH_LEN];

	pthread_once(&g_dummy_once, dummy_init);
	if (g_dummy[0] != '\0') {
		(void)ra_password_verify(password, g_dummy);
		return;
	}
	(void)scrypt(password, salt, sizeof(salt), SCRYPT_LN, SCRYPT_R, SCRYPT_P, out,
	    sizeof(out));
}

/* Valid UTF-8 (no overlongs, no surrogates) without C0/C1 control characters. */
static int utf8_printable(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		unsigned c = s[i], len, cp;
		if (c < 0x80) {
			if (c < 0x20 || c == 0x7f)
				return 0;
			i++;
			continue;
		}
		len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
		if (len == 0 || c > 0xf4 || n - i < len)
			return 0;
		cp = c & (0x3fu >> (len - 1));
		for (unsigned k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + k] & 0x3fu);
		}
		if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp < 0xa0))
			return 0;
		i += len;
	}
	return 1;
}

ra_opw_rule ra_password_rule(const char *password, const char *login)
{
	size_t n = strlen(password);

	if (n < RA_PASSWORD_MIN || n > RA_PASSWORD_MAX)
		return RA_OPW_LENGTH;
	if (!utf8_printable((const unsigned char *)password, n))
		return RA_OPW_CHARS;
	if (login != NULL && strcasecmp(password, login) == 0)
		return RA_OPW_LOGIN;
	return RA_OPW_OK;
}

ik_status ra_password_policy(const char *password, const char *login, char *why, size_t whysz)
{
	switch (ra_password_rule(password, login)) {
	case RA_OPW_OK:
		return IK_OK;
	case RA_OPW_LENGTH:
		snprintf(why, whysz, "the password must be %d to %d characters long",
		    RA_PASSWORD_MIN, RA_PASSWORD_MAX);
		break;
	case RA_OPW_CHARS:
		snprintf(why, whysz, "the password must be UTF-8 text without control characters");
		break;
	default:
		snprintf(why, whysz, "the password must not be the login name");
		break;
	}
	return IK_ERR_ARG;
}

ik_status ra_login_check(const char *login)
{
	size_t n = strlen(login);

	if (n == 0 || n > RA_LOGIN_MAX || strspn(login, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._@-") != n)
		return IK_ERR_ARG;
	return IK_OK;
}

/* ---- tokens ---- */

ik_status ra_token_new(char *out, size_t outsz, uint8_t hash[32])
{
	uint8_t raw[32];
	ik_status st = IK_ERR_CRYPTO;

	if (RAND_bytes(raw, sizeof(raw)) != 1)
		goto out;
	if ((st = ra_b64_encode(raw, sizeof(raw), 1, out, outsz)) != IK_OK)
		goto out;
	SHA256(raw, sizeof(raw), hash);
out:
	OPENSSL_cleanse(raw, sizeof(raw));
	return st;
}

ik_status ra_token_hash(const char *text, uint8_t hash[32])
{
	uint8_t raw[32];
	size_t n;

	if (strnlen(text, RA_TOKEN_LEN + 1) != RA_TOKEN_LEN ||
	    ra_b64_decode(text, RA_TOKEN_LEN, 1, raw, sizeof(raw), &n) != IK_OK || n != 32)
		return IK_ERR_ARG;
	SHA256(raw, sizeof(raw), hash);
	OPENSSL_cleanse(raw, sizeof(raw));
	return IK_OK;
}

ik_status ra_csrf_for_session(const char *session_token, char *out, size_t outsz)
{
	static const char label[] = "inkan csrf v1";
	uint8_t raw[32], mac[32];
	unsigned maclen = sizeof(mac);
	size_t n;
	ik_status st = IK_ERR_ARG;

	if (strnlen(session_token, RA_TOKEN_LEN + 1) != RA_TOKEN_LEN ||
	    ra_b64_decode(session_token, RA_TOKEN_LEN, 1, raw, sizeof(raw), &n) != IK_OK ||
	    n != 32)
		goto out;
	st = IK_ERR_CRYPTO;
	if (HMAC(EVP_sha256(), raw, sizeof(raw), (const unsigned char *)label, sizeof(label) - 1,
	    mac, &maclen) == NULL || maclen != sizeof(mac))
		goto out;
	st = ra_b64_encode(mac, sizeof(mac), 1, out, outsz);
out:
	OPENSSL_cleanse(raw, sizeof(raw));
	OPENSSL_cleanse(mac, sizeof(mac));
	return st;
}

int ra_secret_equal(const char *a, const char *b)
{
	uint8_t ha[32], hb[32];

	if (a == NULL || b == NULL)
		return 0;
	/* hashing first makes the compare independent of both lengths */
	SHA256((const unsigned char *)a, strlen(a), ha);
	SHA256((const unsigned char *)b, strlen(b), hb);
	return CRYPTO_memcmp(ha, hb, sizeof(ha)) == 0;
}

/* ---- CIDR ---- */

ik_status ra_cidr_parse(const char *s, size_t n, ra_cidr *out)
{
	char addr[64];
	const char *slash = memchr(s, '/', n);
	size_t alen = slash != NULL ? (size_t)(slash - s) : n;
	unsigned max, bits = 0;

	if (alen == 0 || alen >= sizeof(addr))
		return IK_ERR_ARG;
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, addr, out->addr) == 1) {
		out->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, addr, out->addr) == 1) {
		out->family = AF_INET6;
		max = 128;
	} else {
		return IK_ERR_ARG;
	}
	if (slash == NULL) {
		bits = max;
	} else {
		size_t dl = n - alen - 1;
		if (dl == 0 || dl > 3 || (dl > 1 && slash[1] == '0'))
			return IK_ERR_ARG;
		for (size_t i = 1; i <= dl; i++) {
			if (slash[i] < '0' || slash[i] > '9')
				return IK_ERR_ARG;
			bits = bits * 10 + (unsigned)(slash[i] - '0');
		}
		if (bits > max)
			return IK_ERR_ARG;
	}
	for (unsigned b = bits; b < max; b++) /* host bits must be zero */
		if (out->addr[b / 8] & (0x80u >> (b % 8)))
			return IK_ERR_ARG;
	out->bits = bits;
	return IK_OK;
}

int ra_cidr_match(const ra_cidr *c, const char *ip)
{
	uint8_t a[16];
	unsigned full, rest;

	memset(a, 0, sizeof(a));
	if (inet_pton(c->family, ip, a) != 1)
		return 0;
	full = c->bits / 8;
	rest = c->bits % 8;
	if (memcmp(a, c->addr, full) != 0)
		return 0;
	if (rest != 0) {
		uint8_t mask = (uint8_t)(0xffu << (8 - rest));
		if ((a[full] & mask) != (c->addr[full] & mask))
			return 0;
	}
	return 1;
}

static const char list_sep[] = " ,\t\r\n";

ik_status ra_cidr_list_check(const char *list, char *why, size_t whysz)
{
	const char *s = list;
	ra_cidr c;

	while (*s != '\0') {
		size_t n;
		s += strspn(s, list_sep);
		n = strcspn(s, list_sep);
		if (n == 0)
			break;
		if (ra_cidr_parse(s, n, &c) != IK_OK) {
			if (why != NULL && whysz > 0)
				snprintf(why, whysz, "'%.*s' is not an address or CIDR block (host "
				    "bits must be zero)", n > 60 ? 60 : (int)n, s);
			return IK_ERR_ARG;
		}
		s += n;
	}
	return IK_OK;
}

int ra_ip_in_list(const char *list, const char *ip)
{
	const char *s = list;
	int empty = 1;
	ra_cidr c;

	if (ra_cidr_list_check(list, NULL, 0) != IK_OK)
		return 0;
	while (*s != '\0') {
		size_t n;
		s += strspn(s, list_sep);
		n = strcspn(s, list_sep);
		if (n == 0)
			break;
		empty = 0;
		if (ra_cidr_parse(s, n, &c) == IK_OK && ra_cidr_match(&c, ip))
			return 1;
		s += n;
	}
	return empty;
}
