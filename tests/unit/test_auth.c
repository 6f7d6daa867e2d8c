/* Unit tests for ra/auth.c and the CN pattern in ra/config.c: scrypt PHC hashes, strict
 * PHC parsing, tokens, constant-time compares, base64, CIDR allow-lists. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "auth.h"
#include "config.h"

static void test_hash_verify(void **state)
{
	char phc[RA_PHC_MAX], phc2[RA_PHC_MAX];

	(void)state;
	assert_int_equal(ra_password_hash("correct horse battery", phc, sizeof(phc)), IK_OK);
	assert_true(strncmp(phc, "$scrypt$ln=15,r=8,p=1$", 22) == 0);
	/* 16-byte salt = 22 chars, 32-byte hash = 43 chars */
	assert_int_equal(strlen(phc), 22 + 22 + 1 + 43);
	assert_null(strstr(phc, "correct"));
	assert_int_equal(ra_password_verify("correct horse battery", phc), IK_OK);
	assert_int_equal(ra_password_verify("correct horse batterY", phc), IK_ERR_AUTH);
	assert_int_equal(ra_password_verify("", phc), IK_ERR_AUTH);
	/* fresh salt each time */
	assert_int_equal(ra_password_hash("correct horse battery", phc2, sizeof(phc2)), IK_OK);
	assert_string_not_equal(phc, phc2);
	assert_int_equal(ra_password_verify("correct horse battery", phc2), IK_OK);
	/* too small an output buffer is refused, not truncated */
	assert_int_equal(ra_password_hash("x", phc2, 40), IK_ERR_ARG);
}

/* RFC 7914 section 12: scrypt("pleaseletmein", "SodiumChloride", N=16384, r=8, p=1); the
 * first 32 bytes of the 64-byte vector are the 32-byte output (PBKDF2 block 1). */
static void test_phc_known_vector(void **state)
{
	static const char phc[] = "$scrypt$ln=14,r=8,p=1$U29kaXVtQ2hsb3JpZGU$"
	    "cCO9yzr9c0hGHAbNgf046/2o+7qQT44+qbVD9lRdofI";
	char tampered[sizeof(phc)];

	(void)state;
	assert_int_equal(ra_password_verify("pleaseletmein", phc), IK_OK);
	assert_int_equal(ra_password_verify("pleaseletmeiN", phc), IK_ERR_AUTH);
	memcpy(tampered, phc, sizeof(phc));
	tampered[sizeof(phc) - 3] = 'A'; /* 'f' -> 'A' in the hash */
	assert_int_equal(ra_password_verify("pleaseletmein", tampered), IK_ERR_AUTH);
	memcpy(tampered, phc, sizeof(phc));
	tampered[24] = 'X'; /* the salt */
	assert_int_equal(ra_password_verify("pleaseletmein", tampered), IK_ERR_AUTH);
}

static void test_phc_malformed(void **state)
{
	static const char *const bad[] = {
		"",
		"$scrypt$",
		"plaintext",
		"$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
		/* cost out of bounds (memory / CPU exhaustion from a planted hash) */
		"$scrypt$ln=31,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"$scrypt$ln=15,r=99,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"$scrypt$ln=15,r=8,p=9$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"$scrypt$ln=9,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		/* leading zero, sign, missing field, reordered */
		"$scrypt$ln=015,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"$scrypt$ln=+15,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"$scrypt$ln=15,r=8$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"$scrypt$r=8,ln=15,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		/* salt / hash: bad base64, padding, wrong length, extra field */
		"$scrypt$ln=15,r=8,p=1$AAAA*AAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"$scrypt$ln=15,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"$scrypt$ln=15,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"$scrypt$ln=15,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB",
		"$scrypt$ln=15,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA$x",
		"$scrypt$ln=15,r=8,p=1$AAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"$scrypt$ln=15,r=8,p=1$$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"$scrypt$ln=15,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (ra_password_verify("whatever password", bad[i]) != IK_ERR_ARG)
			fail_msg("accepted malformed PHC #%zu: %s", i, bad[i]);
	}
}

static void test_policy(void **state)
{
	char why[128];

	(void)state;
	assert_int_equal(ra_password_policy("short", "alice", why, sizeof(why)), IK_ERR_ARG);
	assert_int_equal(ra_password_policy("elevenchars", "alice", why, sizeof(why)), IK_ERR_ARG);
	assert_int_equal(ra_password_policy("twelve chars", "alice", why, sizeof(why)), IK_OK);
	assert_int_equal(ra_password_policy("alice.officer", "Alice.Officer", why, sizeof(why)),
	    IK_ERR_ARG);
	assert_int_equal(ra_password_policy("tab\tinside pass", "a", why, sizeof(why)), IK_ERR_ARG);
	assert_int_equal(ra_password_policy("\xc3\x28 bad utf8 here", "a", why, sizeof(why)),
	    IK_ERR_ARG);
	assert_int_equal(ra_password_policy("\xe3\x83\x91\xe3\x82\xb9\xe3\x83\xaf\xe3\x83\xbc"
	    "\xe3\x83\x89ok", "a", why, sizeof(why)), IK_OK);
	char longpw[RA_PASSWORD_MAX + 2];
	memset(longpw, 'x', sizeof(longpw) - 1);
	longpw[sizeof(longpw) - 1] = '\0';
	assert_int_equal(ra_password_policy(longpw, "a", why, sizeof(why)), IK_ERR_ARG);
	longpw[RA_PASSWORD_MAX] = '\0';
	assert_int_equal(ra_password_policy(longpw, "a", why, sizeof(why)), IK_OK);
}

static void test_tokens(void **state)
{
	char t1[64], t2[64];
	uint8_t h1[32], h2[32], h3[32];

	(void)state;
	assert_int_equal(ra_token_new(t1, sizeof(t1), h1), IK_OK);
	assert_int_equal(ra_token_new(t2, sizeof(t2), h2), IK_OK);
	assert_int_equal(strlen(t1), RA_TOKEN_LEN);
	assert_string_not_equal(t1, t2);
	assert_memory_not_equal(h1, h2, 32);
	assert_int_equal(ra_token_hash(t1, h3), IK_OK);
	assert_memory_equal(h1, h3, 32);
	assert_int_equal(strspn(t1, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789-_"), RA_TOKEN_LEN);
	/* refusals: short, long, bad alphabet, non-canonical last char */
	t1[RA_TOKEN_LEN - 1] = '\0';
	assert_int_equal(ra_token_hash(t1, h3), IK_ERR_ARG);
	assert_int_equal(ra_token_hash("", h3), IK_ERR_ARG);
	memset(t2, 'A', RA_TOKEN_LEN + 1);
	t2[RA_TOKEN_LEN + 1] = '\0';
	assert_int_equal(ra_token_hash(t2, h3), IK_ERR_ARG);
	t2[RA_TOKEN_LEN] = '\0';
	assert_int_equal(ra_token_hash(t2, h3), IK_OK);
	t2[5] = '+';
	assert_int_equal(ra_token_hash(t2, h3), IK_ERR_ARG);
	t2[5] = 'A';
	t2[RA_TOKEN_LEN - 1] = 'B'; /* 43 chars = 258 bits: last 2 bits must be zero */
	assert_int_equal(ra_token_hash(t2, h3), IK_ERR_ARG);
}

static void test_secret_equal(void **state)
{
	(void)state;
	assert_true(ra_secret_equal("abcdef", "abcdef"));
	assert_false(ra_secret_equal("abcdef", "abcdeg"));
	assert_false(ra_secret_equal("abcdef", "abcde"));
	assert_false(ra_secret_equal("", "a"));
	assert_true(ra_secret_equal("", ""));
	assert_false(ra_secret_equal(NULL, "a"));
	assert_false(ra_secret_equal("a", NULL));
}

static void test_csrf_for_session(void **state)
{
	char t1[64], t2[64], c1[64], c1b[64], c2[64];
	uint8_t h[32];

	(void)state;
	assert_int_equal(ra_token_new(t1, sizeof(t1), h), IK_OK);
	assert_int_equal(ra_token_new(t2, sizeof(t2), h), IK_OK);
	assert_int_equal(ra_csrf_for_session(t1, c1, sizeof(c1)), IK_OK);
	assert_int_equal(ra_csrf_for_session(t1, c1b, sizeof(c1b)), IK_OK);
	assert_int_equal(ra_csrf_for_session(t2, c2, sizeof(c2)), IK_OK);
	assert_int_equal(strlen(c1), RA_TOKEN_LEN);
	assert_true(ra_secret_equal(c1, c1b));      /* stable for a session */
	assert_false(ra_secret_equal(c1, c2));      /* differs between sessions */
	assert_string_not_equal(c1, t1);            /* is not the session id */
	assert_int_equal(ra_csrf_for_session("short", c1, sizeof(c1)), IK_ERR_ARG);
	assert_int_equal(ra_csrf_for_session(t1, c1, 20), IK_ERR_ARG);
}

static void test_b64(void **state)
{
	static const struct { const char *in, *std; } v[] = {
		{ "", "" }, { "f", "Zg" }, { "fo", "Zm8" }, { "foo", "Zm9v" },
		{ "foob", "Zm9vYg" }, { "fooba", "Zm9vYmE" }, { "foobar", "Zm9vYmFy" },
	};
	char out[32];
	uint8_t dec[32];
	size_t n;
	const uint8_t hi[] = { 0xfb, 0xff };

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		assert_int_equal(ra_b64_encode((const uint8_t *)v[i].in, strlen(v[i].in), 0, out,
		    sizeof(out)), IK_OK);
		assert_string_equal(out, v[i].std);
		assert_int_equal(ra_b64_decode(out, strlen(out), 0, dec, sizeof(dec), &n), IK_OK);
		assert_int_equal(n, strlen(v[i].in));
		assert_memory_equal(dec, v[i].in, n);
	}
	assert_int_equal(ra_b64_encode(hi, 2, 0, out, sizeof(out)), IK_OK);
	assert_string_equal(out, "+/8");
	assert_int_equal(ra_b64_encode(hi, 2, 1, out, sizeof(out)), IK_OK);
	assert_string_equal(out, "-_8");
	assert_int_equal(ra_b64_decode("-_8", 3, 0, dec, sizeof(dec), &n), IK_ERR_ARG);
	assert_int_equal(ra_b64_decode("Zm9vY", 5, 0, dec, sizeof(dec), &n), IK_ERR_ARG);
	assert_int_equal(ra_b64_decode("Zh", 2, 0, dec, sizeof(dec), &n), IK_ERR_ARG);
	assert_int_equal(ra_b64_decode("Zm9vYmFy", 8, 0, dec, 5, &n), IK_ERR_ARG);
	assert_int_equal(ra_b64_encode((const uint8_t *)"foobar", 6, 0, out, 8), IK_ERR_ARG);
}

static void test_cidr(void **state)
{
	ra_cidr c;
	char why[128];

	(void)state;
	assert_int_equal(ra_cidr_parse("192.0.2.0/24", 12, &c), IK_OK);
	assert_true(ra_cidr_match(&c, "192.0.2.1"));
	assert_true(ra_cidr_match(&c, "192.0.2.255"));
	assert_false(ra_cidr_match(&c, "192.0.3.1"));
	assert_false(ra_cidr_match(&c, "2001:db8::1"));
	assert_false(ra_cidr_match(&c, "garbage"));
	assert_int_equal(ra_cidr_parse("10.0.0.0/9", 10, &c), IK_OK);
	assert_true(ra_cidr_match(&c, "10.127.255.255"));
	assert_false(ra_cidr_match(&c, "10.128.0.0"));
	assert_int_equal(ra_cidr_parse("0.0.0.0/0", 9, &c), IK_OK);
	assert_true(ra_cidr_match(&c, "203.0.113.9"));
	assert_int_equal(ra_cidr_parse("127.0.0.1", 9, &c), IK_OK);
	assert_true(ra_cidr_match(&c, "127.0.0.1"));
	assert_false(ra_cidr_match(&c, "127.0.0.2"));

	assert_int_equal(ra_cidr_parse("2001:db8::/32", 13, &c), IK_OK);
	assert_true(ra_cidr_match(&c, "2001:db8:ffff::1"));
	assert_false(ra_cidr_match(&c, "2001:db9::1"));
	assert_false(ra_cidr_match(&c, "192.0.2.1"));
	assert_int_equal(ra_cidr_parse("fe80::/10", 9, &c), IK_OK);
	assert_true(ra_cidr_match(&c, "febf::1"));
	assert_false(ra_cidr_match(&c, "fec0::1"));
	assert_int_equal(ra_cidr_parse("::1/128", 7, &c), IK_OK);
	assert_true(ra_cidr_match(&c, "::1"));
	assert_false(ra_cidr_match(&c, "::2"));

	/* refusals */
	assert_int_equal(ra_cidr_parse("192.0.2.1/24", 12, &c), IK_ERR_ARG);  /* host bits */
	assert_int_equal(ra_cidr_parse("192.0.2.0/33", 12, &c), IK_ERR_ARG);
	assert_int_equal(ra_cidr_parse("192.0.2.0/", 10, &c), IK_ERR_ARG);
	assert_int_equal(ra_cidr_parse("192.0.2.0/08", 12, &c), IK_ERR_ARG);
	assert_int_equal(ra_cidr_parse("192.0.2.0/-1", 12, &c), IK_ERR_ARG);
	assert_int_equal(ra_cidr_parse("2001:db8::/129", 14, &c), IK_ERR_ARG);
	assert_int_equal(ra_cidr_parse("2001:db8::1/32", 14, &c), IK_ERR_ARG);
	assert_int_equal(ra_cidr_parse("example.com", 11, &c), IK_ERR_ARG);
	assert_int_equal(ra_cidr_parse("/24", 3, &c), IK_ERR_ARG);

	/* lists */
	assert_int_equal(ra_cidr_list_check("", why, sizeof(why)), IK_OK);
	assert_int_equal(ra_cidr_list_check("10.0.0.0/8, 2001:db8::/32\n192.0.2.7", why,
	    sizeof(why)), IK_OK);
	assert_int_equal(ra_cidr_list_check("10.0.0.0/8, nonsense", why, sizeof(why)),
	    IK_ERR_ARG);
	assert_non_null(strstr(why, "nonsense"));
	assert_true(ra_ip_in_list("", "203.0.113.1"));
	assert_true(ra_ip_in_list("  ", "203.0.113.1"));
	assert_true(ra_ip_in_list("10.0.0.0/8 2001:db8::/32", "10.1.2.3"));
	assert_true(ra_ip_in_list("10.0.0.0/8 2001:db8::/32", "2001:db8::5"));
	assert_false(ra_ip_in_list("10.0.0.0/8 2001:db8::/32", "192.0.2.1"));
	assert_false(ra_ip_in_list("10.0.0.0/8 2001:db8::/32", "2001:db9::5"));
	/* a list with a bad entry allows nobody, even addresses an earlier entry matches */
	assert_false(ra_ip_in_list("10.0.0.0/8 bad", "10.1.2.3"));
}

static void test_cn_pattern(void **state)
{
	char why[128], out[64];

	(void)state;
	assert_int_equal(ra_cn_pattern_check("client_%06d", why, sizeof(why)), IK_OK);
	assert_int_equal(ra_cn_pattern_check("%03d.dev", why, sizeof(why)), IK_OK);
	assert_int_equal(ra_cn_pattern_check("client", why, sizeof(why)), IK_ERR_CONFIG);
	assert_int_equal(ra_cn_pattern_check("client_%6d", why, sizeof(why)), IK_ERR_CONFIG);
	assert_int_equal(ra_cn_pattern_check("client_%06d_%06d", why, sizeof(why)),
	    IK_ERR_CONFIG);
	assert_int_equal(ra_cn_pattern_check("client_%s", why, sizeof(why)), IK_ERR_CONFIG);
	assert_int_equal(ra_cn_pattern_check("client_%n%06d", why, sizeof(why)), IK_ERR_CONFIG);
	assert_int_equal(ra_cn_pattern_check("client_%06d%%", why, sizeof(why)), IK_ERR_CONFIG);
	assert_int_equal(ra_cn_pattern_check("client_%00d", why, sizeof(why)), IK_ERR_CONFIG);
	assert_int_equal(ra_cn_pattern_check("client_%06ld", why, sizeof(why)), IK_ERR_CONFIG);
	assert_int_equal(ra_cn_pattern_check("cn=x,o=%06d", why, sizeof(why)), IK_ERR_CONFIG);
	assert_int_equal(ra_cn_pattern_check("a/%06d", why, sizeof(why)), IK_ERR_CONFIG);
	assert_int_equal(ra_cn_pattern_check("%0", why, sizeof(why)), IK_ERR_CONFIG);
	assert_int_equal(ra_cn_format("client_%06d", 42, out, sizeof(out)), IK_OK);
	assert_string_equal(out, "client_000042");
	assert_int_equal(ra_cn_format("%03d.dev", 7, out, sizeof(out)), IK_OK);
	assert_string_equal(out, "007.dev");
	assert_int_equal(ra_cn_format("client_%06d", 999999, out, sizeof(out)), IK_OK);
	assert_string_equal(out, "client_999999");
	assert_int_equal(ra_cn_format("client_%06d", 1000000, out, sizeof(out)), IK_ERR_ARG);
	assert_int_equal(ra_cn_format("client_%06d", 1, out, 13), IK_ERR_ARG);
	assert_int_equal(ra_cn_format("client_%s", 1, out, sizeof(out)), IK_ERR_ARG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hash_verify),
		cmocka_unit_test(test_phc_known_vector),
		cmocka_unit_test(test_phc_malformed),
		cmocka_unit_test(test_policy),
		cmocka_unit_test(test_tokens),
		cmocka_unit_test(test_secret_equal),
		cmocka_unit_test(test_csrf_for_session),
		cmocka_unit_test(test_b64),
		cmocka_unit_test(test_cidr),
		cmocka_unit_test(test_cn_pattern),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
