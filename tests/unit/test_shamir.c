/* Unit tests for ceremony/shamir.c: GF(2^8) against FIPS-197's worked examples and a slow
 * reference multiply (all 65536 products), Shamir known-answer vectors computed by hand, every
 * M-subset of N shares rebuilding the secret and no (M-1)-subset doing so, the share text
 * (alphabet, aliases, comments, layout), every single-character corruption detected, and the
 * rebuild refusing mixed sets, duplicates and altered shares. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include <openssl/rand.h>
#include "shamir.h"

/* bit by bit with branches: obviously right, slow, not constant-time */
static uint8_t ref_mul(uint8_t a, uint8_t b)
{
	unsigned r = 0, x = a;

	for (unsigned y = b; y != 0; y >>= 1) {
		if (y & 1)
			r ^= x;
		x <<= 1;
		if (x & 0x100)
			x ^= 0x11b;
	}
	return (uint8_t)r;
}

static void test_gf256(void **state)
{
	(void)state;
	/* FIPS-197 section 4.2 and 5.1.1 */
	assert_int_equal(gf256_mul(0x57, 0x83), 0xc1);
	assert_int_equal(gf256_mul(0x57, 0x13), 0xfe);
	assert_int_equal(gf256_inv(0x53), 0xca);
	assert_int_equal(gf256_inv(0x01), 0x01);
	assert_int_equal(gf256_inv(0x02), 0x8d);
	assert_int_equal(gf256_inv(0xff), 0x1c);
	assert_int_equal(gf256_inv(0x00), 0x00);
	for (unsigned a = 0; a < 256; a++) {
		for (unsigned b = 0; b < 256; b++)
			assert_int_equal(gf256_mul((uint8_t)a, (uint8_t)b), ref_mul((uint8_t)a, (uint8_t)b));
		if (a != 0)
			assert_int_equal(gf256_mul((uint8_t)a, gf256_inv((uint8_t)a)), 1);
	}
}

static void test_known_vectors(void **state)
{
	/* f(x) = 0x42 + x: shares (1,43) (2,40) (3,41) */
	const uint8_t s1[] = { 0x42 }, c1[] = { 0x01 };
	const uint8_t want1[] = { 0x43, 0x40, 0x41 };
	/* m = 3: byte 0: 0x42 + 2x + 3x^2, byte 1: 0xff + a5 x + 5a x^2 */
	const uint8_t s2[] = { 0x42, 0xff }, c2[] = { 0x02, 0x03, 0xa5, 0x5a };
	const uint8_t want2[] = { 0x43, 0x00, 0x4a, 0xdd, 0x4b, 0x22, 0x7a, 0x8a, 0x7b, 0x75 };
	uint8_t ys[10], out[2];
	const uint8_t xs[] = { 5, 2, 4 };
	const uint8_t *yp[3];

	(void)state;
	assert_int_equal(shamir_split_coeffs(s1, 1, 2, 3, c1, ys), IK_OK);
	assert_memory_equal(ys, want1, 3);
	assert_int_equal(shamir_split_coeffs(s2, 2, 3, 5, c2, ys), IK_OK);
	assert_memory_equal(ys, want2, 10);
	/* and back from shares 5, 2, 4 */
	yp[0] = want2 + 8;
	yp[1] = want2 + 2;
	yp[2] = want2 + 6;
	assert_int_equal(shamir_combine(xs, yp, 3, 2, out), IK_OK);
	assert_memory_equal(out, s2, 2);
	/* argument checks */
	assert_int_equal(shamir_split_coeffs(s1, 1, 1, 3, c1, ys), IK_ERR_ARG);
	assert_int_equal(shamir_split_coeffs(s1, 1, 4, 3, c1, ys), IK_ERR_ARG);
	assert_int_equal(shamir_split(s1, 1, 2, 256, ys), IK_ERR_ARG);
	{
		const uint8_t dup[] = { 2, 2, 4 }, zero[] = { 0, 2, 4 };
		assert_int_equal(shamir_combine(dup, yp, 3, 2, out), IK_ERR_ARG);
		assert_int_equal(shamir_combine(zero, yp, 3, 2, out), IK_ERR_ARG);
	}
}

static void test_base32(void **state)
{
	char out[32];

	(void)state;
	share_b32((const uint8_t *)"foobar", 6, out);   /* RFC 4648 MZXW6YTBOI, Crockford alphabet */
	assert_string_equal(out, "CSQPYRK1E8");
	share_b32((const uint8_t *)"f", 1, out);
	assert_string_equal(out, "CR");
	share_b32((const uint8_t *)"\0", 1, out);
	assert_string_equal(out, "00");
}

static int popcount(unsigned v)
{
	int c = 0;

	for (; v != 0; v &= v - 1)
		c++;
	return c;
}

/* Every subset of n shares: size >= m rebuilds (share_combine and the raw interpolation);
 * size m-1 is refused by share_combine and the raw interpolation gives another value. */
static void check_all_subsets(unsigned m, unsigned n)
{
	uint8_t secret[SHARE_SECRET_LEN], got[SHARE_SECRET_LEN];
	cer_share sh[SHARE_MAX_N], pick[SHARE_MAX_N];
	char why[160];
	unsigned rebuilt = 0, refused = 0;

	assert_int_equal(RAND_bytes(secret, sizeof(secret)), 1);
	assert_int_equal(share_split(secret, m, n, sh), IK_OK);
	for (unsigned i = 0; i < n; i++) {
		assert_int_equal(sh[i].x, i + 1);
		assert_int_equal(sh[i].m, m);
		assert_memory_equal(sh[i].set_id, sh[0].set_id, SHARE_SET_ID_LEN);
	}
	for (unsigned mask = 1; mask < (1u << n); mask++) {
		int k = popcount(mask);
		size_t c = 0;
		if ((unsigned)k < m - 1)
			continue;
		for (unsigned i = 0; i < n; i++)
			if (mask & (1u << i))
				pick[c++] = sh[i];
		memset(got, 0, sizeof(got));
		if ((unsigned)k >= m) {
			assert_int_equal(share_combine(pick, c, got, why, sizeof(why)), IK_OK);
			assert_memory_equal(got, secret, sizeof(secret));
			rebuilt++;
		} else {
			uint8_t xs[SHARE_MAX_N];
			const uint8_t *ys[SHARE_MAX_N];
			assert_int_equal(share_combine(pick, c, got, why, sizeof(why)), IK_ERR_ARG);
			assert_non_null(strstr(why, "not enough shares"));
			for (size_t i = 0; i < c; i++) {
				xs[i] = pick[i].x;
				ys[i] = pick[i].y;
			}
			assert_int_equal(shamir_combine(xs, ys, c, SHARE_SECRET_LEN, got), IK_OK);
			assert_memory_not_equal(got, secret, sizeof(secret));
			refused++;
		}
	}
	assert_true(rebuilt > 0 && refused > 0);
}

static void test_every_subset(void **state)
{
	static const unsigned mn[][2] = {
		{ 2, 2 }, { 2, 3 }, { 3, 3 }, { 2, 5 }, { 3, 5 }, { 4, 6 }, { 5, 8 }, { 7, 10 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(mn) / sizeof(mn[0]); i++)
		check_all_subsets(mn[i][0], mn[i][1]);
}

static void test_text_roundtrip(void **state)
{
	uint8_t secret[SHARE_SECRET_LEN];
	cer_share sh[5], back;
	char text[SHARE_TEXT_MAX], alias[SHARE_TEXT_MAX + 64];
	size_t pos = 0, lines = 0;

	(void)state;
	assert_int_equal(RAND_bytes(secret, sizeof(secret)), 1);
	assert_int_equal(share_split(secret, 3, 5, sh), IK_OK);
	assert_int_equal(share_encode(&sh[3], text, sizeof(text)), IK_OK);
	/* three lines of six groups of four */
	for (const char *p = text; *p != '\0'; p++)
		lines += *p == '\n';
	assert_int_equal(lines, 3);
	assert_int_equal(strlen(text), 3 * (6 * 4 + 5 + 1));
	assert_int_equal(share_count_symbols(text, strlen(text)), SHARE_CHARS);
	assert_int_equal(share_decode(text, strlen(text), &back, &pos), SHARE_OK);
	assert_memory_equal(&back, &sh[3], sizeof(back));
	assert_null(strpbrk(text, "ILOU"));
	/* lower case, dashes, a comment line and CRLF are accepted; O is 0, I and L are 1 */
	{
		size_t o = 0;
		o += (size_t)snprintf(alias, sizeof(alias), "# custodian: carol\r\n");
		for (const char *p = text; *p != '\0'; p++) {
			char c = *p;
			if (c == '0')
				c = 'o';
			else if (c == '1')
				c = (o & 1) ? 'I' : 'l';
			else if (c >= 'A' && c <= 'Z')
				c = (char)(c - 'A' + 'a');
			else if (c == ' ')
				c = '-';
			alias[o++] = c;
		}
		alias[o] = '\0';
	}
	assert_int_equal(share_decode(alias, strlen(alias), &back, &pos), SHARE_OK);
	assert_memory_equal(&back, &sh[3], sizeof(back));
	/* missing and extra groups, a bad character (position reported) */
	assert_int_equal(share_decode(text, strlen(text) - 6, &back, &pos), SHARE_TOO_SHORT);
	memcpy(alias, text, strlen(text) + 1);
	snprintf(alias + strlen(alias), sizeof(alias) - strlen(alias), "ABCD");
	assert_int_equal(share_decode(alias, strlen(alias), &back, &pos), SHARE_TOO_LONG);
	memcpy(alias, text, strlen(text) + 1);
	alias[7] = 'U';
	assert_int_equal(share_decode(alias, strlen(alias), &back, &pos), SHARE_BAD_CHAR);
	assert_int_equal(pos, 7);
	alias[7] = '*';
	assert_int_equal(share_decode(alias, strlen(alias), &back, &pos), SHARE_BAD_CHAR);
	assert_int_equal(share_count_symbols(alias, strlen(alias)), -1);
}

/* Every single changed character and every swap of two neighbours is caught. */
static void test_corruption_detected(void **state)
{
	static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
	uint8_t secret[SHARE_SECRET_LEN];
	cer_share sh[3], back;
	char text[SHARE_TEXT_MAX], bad[SHARE_TEXT_MAX];
	size_t n, pos, checked = 0;

	(void)state;
	assert_int_equal(RAND_bytes(secret, sizeof(secret)), 1);
	assert_int_equal(share_split(secret, 2, 3, sh), IK_OK);
	assert_int_equal(share_encode(&sh[1], text, sizeof(text)), IK_OK);
	n = strlen(text);
	for (size_t i = 0; i < n; i++) {
		if (text[i] == ' ' || text[i] == '\n')
			continue;
		for (size_t a = 0; a < 32; a++) {
			if (alphabet[a] == text[i])
				continue;
			memcpy(bad, text, n + 1);
			bad[i] = alphabet[a];
			assert_int_equal(share_decode(bad, n, &back, &pos), SHARE_BAD_CHECKSUM);
			checked++;
		}
		if (i + 1 < n && text[i + 1] != ' ' && text[i + 1] != '\n' && text[i + 1] != text[i]) {
			memcpy(bad, text, n + 1);
			bad[i] = text[i + 1];
			bad[i + 1] = text[i];
			assert_int_equal(share_decode(bad, n, &back, &pos), SHARE_BAD_CHECKSUM);
		}
	}
	assert_int_equal(checked, (size_t)SHARE_CHARS * 31);
}

static void test_combine_refusals(void **state)
{
	uint8_t s1[SHARE_SECRET_LEN], s2[SHARE_SECRET_LEN], got[SHARE_SECRET_LEN];
	cer_share a[4], b[4], pick[3];
	char why[200];

	(void)state;
	assert_int_equal(RAND_bytes(s1, sizeof(s1)), 1);
	assert_int_equal(RAND_bytes(s2, sizeof(s2)), 1);
	assert_int_equal(share_split(s1, 3, 4, a), IK_OK);
	assert_int_equal(share_split(s2, 3, 4, b), IK_OK);
	/* two sets mixed: share 2 is named */
	pick[0] = a[0];
	pick[1] = b[1];
	pick[2] = a[2];
	assert_int_equal(share_combine(pick, 3, got, why, sizeof(why)), IK_ERR_ARG);
	assert_string_equal(why, "share 2 belongs to another share set than share 1");
	/* the same custodian twice: both named */
	pick[1] = a[2];
	assert_int_equal(share_combine(pick, 3, got, why, sizeof(why)), IK_ERR_ARG);
	assert_string_equal(why, "shares 2 and 3 are the same custodian's share (index 3)");
	/* an altered share that still decodes (checksum recomputed) rebuilds another secret:
	 * the set id catches it */
	pick[1] = a[1];
	pick[2] = a[2];
	pick[2].y[5] ^= 0x01;
	assert_int_equal(share_combine(pick, 3, got, why, sizeof(why)), IK_ERR_AUTH);
	assert_non_null(strstr(why, "does not match the share set"));
	/* one share too few */
	assert_int_equal(share_combine(a, 2, got, why, sizeof(why)), IK_ERR_ARG);
	assert_string_equal(why, "not enough shares: 2 given, 3 needed");
	/* split limits */
	assert_int_equal(share_split(s1, 1, 4, a), IK_ERR_ARG);
	assert_int_equal(share_split(s1, 5, 4, a), IK_ERR_ARG);
	assert_int_equal(share_split(s1, 2, SHARE_MAX_N + 1, a), IK_ERR_ARG);
}

static void test_pins(void **state)
{
	uint8_t secret[SHARE_SECRET_LEN];
	char user[SHARE_PIN_LEN + 1], so[SHARE_PIN_LEN + 1], user2[SHARE_PIN_LEN + 1];

	(void)state;
	for (size_t i = 0; i < sizeof(secret); i++)
		secret[i] = (uint8_t)i;
	share_pins(secret, user, so);
	assert_int_equal(strlen(user), SHARE_PIN_LEN);
	assert_int_equal(strlen(so), SHARE_PIN_LEN);
	assert_string_not_equal(user, so);
	/* bytes 00 01 02 ... 0f */
	assert_string_equal(user, "000G40R40M30E209185GR38E1W");
	secret[16] ^= 1;
	share_pins(secret, user2, so);
	assert_string_equal(user, user2); /* the SO half does not change the user PIN */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gf256),
		cmocka_unit_test(test_known_vectors),
		cmocka_unit_test(test_base32),
		cmocka_unit_test(test_every_subset),
		cmocka_unit_test(test_text_roundtrip),
		cmocka_unit_test(test_corruption_detected),
		cmocka_unit_test(test_combine_refusals),
		cmocka_unit_test(test_pins),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
