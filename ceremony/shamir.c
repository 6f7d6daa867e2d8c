/* shamir: Shamir secret sharing over GF(2^8), written constant-time without tables, and the
 * custodian share built on it (binary form, base32 text with a checksum, rebuild). */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "shamir.h"

/* ---- GF(2^8) with the AES polynomial ---- */

uint8_t gf256_mul(uint8_t a, uint8_t b)
{
	unsigned r = 0, x = a, y = b;

	for (int i = 0; i < 8; i++) {
		r ^= x & (0u - (y & 1u));                   /* add x if this bit of b is set */
		y >>= 1;
		x = (x << 1) ^ (0x11bu & (0u - (x >> 7)));  /* x *= 2, reduced */
	}
	return (uint8_t)r;
}

uint8_t gf256_inv(uint8_t a)
{
	/* a^254 = a^-1 (a != 0): a fixed chain of squarings and multiplications */
	uint8_t x2 = gf256_mul(a, a);
	uint8_t x3 = gf256_mul(x2, a);
	uint8_t x6 = gf256_mul(x3, x3);
	uint8_t x7 = gf256_mul(x6, a);
	uint8_t x14 = gf256_mul(x7, x7);
	uint8_t x15 = gf256_mul(x14, a);
	uint8_t x30 = gf256_mul(x15, x15);
	uint8_t x31 = gf256_mul(x30, a);
	uint8_t x62 = gf256_mul(x31, x31);
	uint8_t x63 = gf256_mul(x62, a);
	uint8_t x126 = gf256_mul(x63, x63);
	uint8_t x127 = gf256_mul(x126, a);

	return gf256_mul(x127, x127);
}

/* ---- the scheme ---- */

ik_status shamir_split_coeffs(const uint8_t *secret, size_t len, unsigned m, unsigned n,
    const uint8_t *coeffs, uint8_t *ys)
{
	if (secret == NULL || ys == NULL || len == 0 || m < 2 || m > n || n > 255 ||
	    coeffs == NULL)
		return IK_ERR_ARG;
	for (unsigned i = 0; i < n; i++) {
		uint8_t x = (uint8_t)(i + 1);
		for (size_t j = 0; j < len; j++) {
			const uint8_t *c = coeffs + j * (m - 1);
			uint8_t acc = c[m - 2];                     /* Horner, highest degree first */
			for (unsigned k = m - 2; k >= 1; k--)
				acc = (uint8_t)(gf256_mul(acc, x) ^ c[k - 1]);
			ys[(size_t)i * len + j] = (uint8_t)(gf256_mul(acc, x) ^ secret[j]);
		}
	}
	return IK_OK;
}

ik_status shamir_split(const uint8_t *secret, size_t len, unsigned m, unsigned n, uint8_t *ys)
{
	uint8_t coeffs[255 * 64];
	ik_status st;

	if (m < 2 || m > n || n > 255 || len == 0 || len > 64 || (size_t)(m - 1) * len > sizeof(coeffs))
		return IK_ERR_ARG;
	if (RAND_priv_bytes(coeffs, (int)((m - 1) * len)) != 1)
		return IK_ERR_CRYPTO;
	st = shamir_split_coeffs(secret, len, m, n, coeffs, ys);
	OPENSSL_cleanse(coeffs, (m - 1) * len);
	return st;
}

ik_status shamir_combine(const uint8_t *xs, const uint8_t *const *ys, size_t k, size_t len,
    uint8_t *secret)
{
	if (xs == NULL || ys == NULL || secret == NULL || k == 0 || k > 255 || len == 0)
		return IK_ERR_ARG;
	for (size_t i = 0; i < k; i++) {
		if (xs[i] == 0 || ys[i] == NULL)
			return IK_ERR_ARG;
		for (size_t j = 0; j < i; j++)
			if (xs[i] == xs[j])
				return IK_ERR_ARG;
	}
	memset(secret, 0, len);
	for (size_t i = 0; i < k; i++) {
		/* the Lagrange basis polynomial of point i at 0: prod x_j / (x_j - x_i) */
		uint8_t num = 1, den = 1, l;
		for (size_t j = 0; j < k; j++) {
			if (j == i)
				continue;
			num = gf256_mul(num, xs[j]);
			den = gf256_mul(den, (uint8_t)(xs[j] ^ xs[i]));
		}
		l = gf256_mul(num, gf256_inv(den));
		for (size_t b = 0; b < len; b++)
			secret[b] ^= gf256_mul(l, ys[i][b]);
	}
	return IK_OK;
}

/* ---- base32 (Crockford) ---- */

static const char b32[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

void share_b32(const uint8_t *in, size_t n, char *out)
{
	unsigned acc = 0, bits = 0;
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		acc = (acc << 8 | in[i]) & 0xfffu;
		bits += 8;
		while (bits >= 5) {
			bits -= 5;
			out[o++] = b32[(acc >> bits) & 31u];
		}
	}
	if (bits > 0)
		out[o++] = b32[(acc << (5 - bits)) & 31u];
	out[o] = '\0';
}

/* The value of a base32 character, -1 if it is none, -2 if it is a separator. */
static int b32_value(char ch)
{
	char c = (ch >= 'a' && ch <= 'z') ? (char)(ch - 'a' + 'A') : ch;

	if (c == ' ' || c == '\t' || c == '-' || c == '\r' || c == '\n')
		return -2;
	if (c == 'O')
		return 0;
	if (c == 'I' || c == 'L')
		return 1;
	for (int i = 0; i < 32; i++)
		if (b32[i] == c)
			return i;
	return -1;
}

/* Walk the symbols of text: calls fn for each (ignoring separators and # comment lines).
 * Returns the count, or -1 at a bad character (offset in *pos). */
static int b32_walk(const char *text, size_t n, void (*fn)(void *arg, unsigned v), void *arg,
    size_t *pos)
{
	int count = 0, line_start = 1;

	for (size_t i = 0; i < n; i++) {
		int v;
		if (line_start && text[i] == '#') {
			while (i < n && text[i] != '\n')
				i++;
			continue;
		}
		line_start = text[i] == '\n';
		v = b32_value(text[i]);
		if (v == -2)
			continue;
		if (v < 0) {
			if (pos != NULL)
				*pos = i;
			return -1;
		}
		if (fn != NULL)
			fn(arg, (unsigned)v);
		if (count < 1000000)
			count++;
	}
	return count;
}

int share_count_symbols(const char *text, size_t n)
{
	return b32_walk(text, n, NULL, NULL, NULL);
}

/* ---- shares ---- */

#define SHARE_BYTES 45   /* version, set id (6), m, x, y (32), checksum (4) */
#define SHARE_SUM_AT 41

typedef struct unpack {
	uint8_t buf[SHARE_BYTES];
	size_t o;
	unsigned acc, bits;
} unpack;

static void unpack_sym(void *arg, unsigned v)
{
	unpack *u = arg;

	u->acc = (u->acc << 5 | v) & 0xfffu;
	u->bits += 5;
	if (u->bits >= 8) {
		u->bits -= 8;
		if (u->o < SHARE_BYTES)
			u->buf[u->o++] = (uint8_t)(u->acc >> u->bits);
	}
}

static ik_status checksum(const uint8_t *payload, size_t n, uint8_t out[4])
{
	static const char tag[] = "inkan-share-v1";
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	uint8_t md[32];
	int ok = c != NULL && EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(c, tag, sizeof(tag) - 1) == 1 && EVP_DigestUpdate(c, payload, n) == 1 &&
	    EVP_DigestFinal_ex(c, md, NULL) == 1;

	EVP_MD_CTX_free(c);
	if (!ok)
		return IK_ERR_CRYPTO;
	memcpy(out, md, 4);
	return IK_OK;
}

const char *share_error_str(share_error e)
{
	switch (e) {
	case SHARE_OK: return "ok";
	case SHARE_BAD_CHAR: return "a character that is not in the share alphabet";
	case SHARE_TOO_SHORT: return "too few characters (a group is missing)";
	case SHARE_TOO_LONG: return "too many characters";
	case SHARE_BAD_CHECKSUM: return "checksum mismatch: a character is wrong (mistyped or damaged share)";
	case SHARE_BAD_VERSION: return "not a share written by this tool (unknown version)";
	case SHARE_BAD_FIELDS: return "threshold or index out of range";
	}
	return "unknown error";
}

ik_status share_encode(const cer_share *s, char *out, size_t outsz)
{
	uint8_t b[SHARE_BYTES];
	char sym[SHARE_CHARS + 1];
	size_t o = 0;
	ik_status st;

	if (outsz < SHARE_TEXT_MAX)
		return IK_ERR_ARG;
	b[0] = SHARE_VERSION;
	memcpy(b + 1, s->set_id, SHARE_SET_ID_LEN);
	b[7] = s->m;
	b[8] = s->x;
	memcpy(b + 9, s->y, SHARE_SECRET_LEN);
	if ((st = checksum(b, SHARE_SUM_AT, b + SHARE_SUM_AT)) != IK_OK)
		goto out;
	share_b32(b, SHARE_BYTES, sym);
	for (size_t i = 0; i < SHARE_CHARS; i++) {
		out[o++] = sym[i];
		if (i % 24 == 23)
			out[o++] = '\n';
		else if (i % 4 == 3)
			out[o++] = ' ';
	}
	out[o] = '\0';
out:
	OPENSSL_cleanse(b, sizeof(b));
	OPENSSL_cleanse(sym, sizeof(sym));
	return st;
}

share_error share_decode(const char *text, size_t n, cer_share *out, size_t *pos)
{
	unpack u;
	uint8_t sum[4];
	share_error e = SHARE_OK;
	int count;

	memset(&u, 0, sizeof(u));
	memset(out, 0, sizeof(*out));
	count = b32_walk(text, n, unpack_sym, &u, pos);
	if (count < 0)
		e = SHARE_BAD_CHAR;
	else if (count < SHARE_CHARS)
		e = SHARE_TOO_SHORT;
	else if (count > SHARE_CHARS)
		e = SHARE_TOO_LONG;
	else if (checksum(u.buf, SHARE_SUM_AT, sum) != IK_OK ||
	    CRYPTO_memcmp(sum, u.buf + SHARE_SUM_AT, sizeof(sum)) != 0)
		e = SHARE_BAD_CHECKSUM;
	else if (u.buf[0] != SHARE_VERSION)
		e = SHARE_BAD_VERSION;
	else if (u.buf[7] < 2 || u.buf[7] > SHARE_MAX_N || u.buf[8] < 1 || u.buf[8] > SHARE_MAX_N)
		e = SHARE_BAD_FIELDS;
	if (e == SHARE_OK) {
		memcpy(out->set_id, u.buf + 1, SHARE_SET_ID_LEN);
		out->m = u.buf[7];
		out->x = u.buf[8];
		memcpy(out->y, u.buf + 9, SHARE_SECRET_LEN);
	}
	OPENSSL_cleanse(&u, sizeof(u));
	return e;
}

ik_status share_set_id(const uint8_t secret[SHARE_SECRET_LEN], uint8_t id[SHARE_SET_ID_LEN])
{
	static const char tag[] = "inkan share set";
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	uint8_t md[32];
	int ok = c != NULL && EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(c, tag, sizeof(tag) - 1) == 1 &&
	    EVP_DigestUpdate(c, secret, SHARE_SECRET_LEN) == 1 &&
	    EVP_DigestFinal_ex(c, md, NULL) == 1;

	EVP_MD_CTX_free(c);
	if (!ok)
		return IK_ERR_CRYPTO;
	memcpy(id, md, SHARE_SET_ID_LEN);
	return IK_OK;
}

ik_status share_split(const uint8_t secret[SHARE_SECRET_LEN], unsigned m, unsigned n,
    cer_share *out)
{
	uint8_t ys[SHARE_MAX_N * SHARE_SECRET_LEN], id[SHARE_SET_ID_LEN];
	ik_status st;

	if (m < 2 || m > n || n > SHARE_MAX_N)
		return IK_ERR_ARG;
	if ((st = share_set_id(secret, id)) != IK_OK ||
	    (st = shamir_split(secret, SHARE_SECRET_LEN, m, n, ys)) != IK_OK)
		goto out;
	for (unsigned i = 0; i < n; i++) {
		memcpy(out[i].set_id, id, SHARE_SET_ID_LEN);
		out[i].m = (uint8_t)m;
		out[i].x = (uint8_t)(i + 1);
		memcpy(out[i].y, ys + (size_t)i * SHARE_SECRET_LEN, SHARE_SECRET_LEN);
	}
out:
	OPENSSL_cleanse(ys, sizeof(ys));
	return st;
}

ik_status share_combine(const cer_share *shares, size_t k, uint8_t secret[SHARE_SECRET_LEN],
    char *why, size_t whysz)
{
	uint8_t xs[SHARE_MAX_N], id[SHARE_SET_ID_LEN];
	const uint8_t *ys[SHARE_MAX_N];
	ik_status st;

	if (k == 0) {
		snprintf(why, whysz, "no shares");
		return IK_ERR_ARG;
	}
	for (size_t i = 0; i < k; i++) {
		if (memcmp(shares[i].set_id, shares[0].set_id, SHARE_SET_ID_LEN) != 0 ||
		    shares[i].m != shares[0].m) {
			snprintf(why, whysz, "share %zu belongs to another share set than share 1", i + 1);
			return IK_ERR_ARG;
		}
		for (size_t j = 0; j < i; j++)
			if (shares[i].x == shares[j].x) {
				snprintf(why, whysz, "shares %zu and %zu are the same custodian's share "
				    "(index %u)", j + 1, i + 1, shares[i].x);
				return IK_ERR_ARG;
			}
	}
	if (k < shares[0].m) {
		snprintf(why, whysz, "not enough shares: %zu given, %u needed", k, shares[0].m);
		return IK_ERR_ARG;
	}
	k = shares[0].m; /* exactly m points determine the polynomial */
	for (size_t i = 0; i < k; i++) {
		xs[i] = shares[i].x;
		ys[i] = shares[i].y;
	}
	if ((st = shamir_combine(xs, ys, k, SHARE_SECRET_LEN, secret)) != IK_OK) {
		snprintf(why, whysz, "cannot interpolate");
		return st;
	}
	if ((st = share_set_id(secret, id)) != IK_OK)
		goto fail;
	if (CRYPTO_memcmp(id, shares[0].set_id, SHARE_SET_ID_LEN) != 0) {
		snprintf(why, whysz, "the rebuilt PIN does not match the share set: a share was "
		    "altered after its checksum was made");
		st = IK_ERR_AUTH;
		goto fail;
	}
	return IK_OK;
fail:
	OPENSSL_cleanse(secret, SHARE_SECRET_LEN);
	return st;
}

void share_pins(const uint8_t secret[SHARE_SECRET_LEN], char user[SHARE_PIN_LEN + 1],
    char so[SHARE_PIN_LEN + 1])
{
	share_b32(secret, 16, user);
	share_b32(secret + 16, 16, so);
}
