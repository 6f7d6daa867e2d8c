/* Unit tests for signer/spki.c: keys generated with OpenSSL and serialised with
 * i2d_PUBKEY; allowed curves and RSA accepted, every other key refused with POLICY_KEY. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include "profile.h"

typedef struct fixture {
	EVP_PKEY *p256, *p384, *p521, *k256, *rsa2048, *rsa1024, *rsa_e3;
} fixture;

static void profile_init(sg_profile *p, unsigned key_types)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "client");
	p->max_days = 397;
	p->backdate = 300;
	p->key_types = key_types;
	p->rsa_min_bits = 2048;
}

static EVP_PKEY *rsa_with_e(unsigned bits, unsigned long e)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	BIGNUM *bn = BN_new();
	EVP_PKEY *k = NULL;

	assert_non_null(ctx);
	assert_non_null(bn);
	assert_int_equal(BN_set_word(bn, e), 1);
	assert_int_equal(EVP_PKEY_keygen_init(ctx), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, (int)bits), 1);
	assert_int_equal(EVP_PKEY_CTX_set1_rsa_keygen_pubexp(ctx, bn), 1);
	assert_int_equal(EVP_PKEY_generate(ctx, &k), 1);
	BN_free(bn);
	EVP_PKEY_CTX_free(ctx);
	return k;
}

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	f->p256 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	f->p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	f->p521 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521");
	f->k256 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "secp256k1");
	f->rsa2048 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	f->rsa1024 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	f->rsa_e3 = rsa_with_e(2048, 3);
	*state = f;
	return f->p256 && f->p384 && f->p521 && f->k256 && f->rsa2048 && f->rsa1024 && f->rsa_e3 ?
	    0 : -1;
}

static int teardown(void **state)
{
	fixture *f = *state;

	EVP_PKEY_free(f->p256);
	EVP_PKEY_free(f->p384);
	EVP_PKEY_free(f->p521);
	EVP_PKEY_free(f->k256);
	EVP_PKEY_free(f->rsa2048);
	EVP_PKEY_free(f->rsa1024);
	EVP_PKEY_free(f->rsa_e3);
	free(f);
	return 0;
}

/* DER SPKI of a key, with room for one extra byte at the end. */
static uint8_t *spki_of(EVP_PKEY *k, size_t *n)
{
	uint8_t *der = NULL, *out;
	int len = i2d_PUBKEY(k, &der);

	assert_true(len > 0);
	out = malloc((size_t)len + 1);
	assert_non_null(out);
	memcpy(out, der, (size_t)len);
	OPENSSL_free(der);
	*n = (size_t)len;
	return out;
}

static void expect_refused(const sg_profile *p, const uint8_t *der, size_t n, const char *why_part)
{
	sg_keyinfo ki;
	char why[256] = "";

	assert_int_equal(sg_spki_check(p, der, n, &ki, why, sizeof(why)), IK_ERR_POLICY_KEY);
	if (strstr(why, why_part) == NULL)
		fail_msg("why '%s' does not mention '%s'", why, why_part);
}

static void test_ec_accepted(void **state)
{
	fixture *f = *state;
	sg_profile p;
	sg_keyinfo ki;
	char why[256] = "";
	size_t n;
	uint8_t *der;

	profile_init(&p, SG_KEY_EC_P256 | SG_KEY_EC_P384);
	der = spki_of(f->p256, &n);
	assert_int_equal(sg_spki_check(&p, der, n, &ki, why, sizeof(why)), IK_OK);
	assert_int_equal(ki.type, SG_KEY_EC_P256);
	assert_int_equal(ki.bits, 256);
	assert_ptr_equal(ki.spki, der);
	assert_int_equal(ki.spki_len, n);
	assert_int_equal(ki.pubkey_bits_len, 65);
	assert_int_equal(ki.pubkey_bits[0], 0x04);
	assert_ptr_equal(ki.pubkey_bits + 65, der + n); /* the key bits end the SPKI */
	free(der);

	der = spki_of(f->p384, &n);
	assert_int_equal(sg_spki_check(&p, der, n, &ki, why, sizeof(why)), IK_OK);
	assert_int_equal(ki.type, SG_KEY_EC_P384);
	assert_int_equal(ki.bits, 384);
	assert_int_equal(ki.pubkey_bits_len, 97);
	free(der);
}

static void test_ec_refused(void **state)
{
	fixture *f = *state;
	sg_profile p, only384;
	size_t n;
	uint8_t *der;

	profile_init(&p, SG_KEY_EC_P256 | SG_KEY_EC_P384 | SG_KEY_RSA);
	der = spki_of(f->p521, &n);
	expect_refused(&p, der, n, "EC curve secp521r1 not allowed by profile client");
	free(der);
	der = spki_of(f->k256, &n);
	expect_refused(&p, der, n, "EC curve secp256k1 not allowed");
	free(der);

	profile_init(&only384, SG_KEY_EC_P384);
	der = spki_of(f->p256, &n);
	expect_refused(&only384, der, n, "EC curve prime256v1 not allowed by profile client");

	/* point off the curve: flip a byte of Y */
	der[n - 1] ^= 0x01;
	expect_refused(&p, der, n, "EC point not on curve");
	der[n - 1] ^= 0x01;
	/* trailing byte after the SPKI */
	der[n] = 0x00;
	expect_refused(&p, der, n + 1, "trailing bytes after SubjectPublicKeyInfo");
	/* truncated */
	expect_refused(&p, der, n - 1, "malformed");
	expect_refused(&p, der, 0, "malformed");
	/* unused bits in the BIT STRING */
	der[n - 66] = 0x01; /* 03 42 [00] 04 ... */
	expect_refused(&p, der, n, "unused bits");
	free(der);
}

static void test_ec_compressed_and_explicit(void **state)
{
	fixture *f = *state;
	sg_profile p;
	EVP_PKEY *k = EVP_PKEY_dup(f->p256);
	size_t n;
	uint8_t *der;

	profile_init(&p, SG_KEY_EC_P256);
	assert_non_null(k);
	assert_int_equal(EVP_PKEY_set_utf8_string_param(k, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
	    OSSL_PKEY_EC_POINT_CONVERSION_FORMAT_COMPRESSED), 1);
	der = spki_of(k, &n);
	expect_refused(&p, der, n, "uncompressed");
	free(der);
	EVP_PKEY_free(k);

	k = EVP_PKEY_dup(f->p256);
	assert_non_null(k);
	assert_int_equal(EVP_PKEY_set_utf8_string_param(k, OSSL_PKEY_PARAM_EC_ENCODING,
	    OSSL_PKEY_EC_ENCODING_EXPLICIT), 1);
	der = spki_of(k, &n);
	expect_refused(&p, der, n, "explicit");
	free(der);
	EVP_PKEY_free(k);
}

static void test_rsa(void **state)
{
	fixture *f = *state;
	sg_profile p, ec_only, min3072;
	sg_keyinfo ki;
	char why[256] = "";
	size_t n;
	uint8_t *der;

	profile_init(&p, SG_KEY_EC_P256 | SG_KEY_RSA);
	der = spki_of(f->rsa2048, &n);
	assert_int_equal(sg_spki_check(&p, der, n, &ki, why, sizeof(why)), IK_OK);
	assert_int_equal(ki.type, SG_KEY_RSA);
	assert_int_equal(ki.bits, 2048);
	assert_int_equal(ki.pubkey_bits_len, n - 24); /* 30 82 xx xx, algid 15, 03 82 xx xx 00 */

	profile_init(&ec_only, SG_KEY_EC_P256);
	expect_refused(&ec_only, der, n, "RSA keys not allowed by profile client");
	profile_init(&min3072, SG_KEY_RSA);
	min3072.rsa_min_bits = 3072;
	expect_refused(&min3072, der, n, "RSA modulus 2048 bits < 3072");

	/* ... 02 03 01 00 01 at the end: make e even, then the modulus even */
	der[n - 1] ^= 0x01;
	expect_refused(&p, der, n, "RSA exponent is even");
	der[n - 1] ^= 0x01;
	der[n - 6] ^= 0x01;
	expect_refused(&p, der, n, "RSA modulus is even");
	der[n - 6] ^= 0x01;
	der[n] = 0x05;
	expect_refused(&p, der, n + 1, "trailing bytes");
	free(der);

	der = spki_of(f->rsa1024, &n);
	expect_refused(&p, der, n, "RSA modulus 1024 bits < 2048");
	free(der);
	der = spki_of(f->rsa_e3, &n);
	expect_refused(&p, der, n, "RSA exponent < 65537");
	free(der);
}

static void test_other_algorithms(void **state)
{
	sg_profile p;
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	size_t n;
	uint8_t *der;
	/* SEQUENCE { SEQUENCE { OID ecPublicKey, NULL }, BIT STRING } */
	static const uint8_t ec_null_params[] = {
		0x30, 0x13, 0x30, 0x0b, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x05,
		0x00, 0x03, 0x04, 0x00, 0x04, 0x01, 0x02,
	};

	(void)state;
	profile_init(&p, SG_KEY_EC_P256 | SG_KEY_EC_P384 | SG_KEY_RSA);
	assert_non_null(k);
	der = spki_of(k, &n);
	expect_refused(&p, der, n, "key algorithm not allowed");
	free(der);
	EVP_PKEY_free(k);
	expect_refused(&p, ec_null_params, sizeof(ec_null_params), "must name its curve");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ec_accepted),
		cmocka_unit_test(test_ec_refused),
		cmocka_unit_test(test_ec_compressed_and_explicit),
		cmocka_unit_test(test_rsa),
		cmocka_unit_test(test_other_algorithms),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
