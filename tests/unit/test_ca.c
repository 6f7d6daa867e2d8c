/* Unit tests for signer/ca.c: load a good issuing CA (P-256, P-384, RSA) and check what the
 * encoders get from it; refuse non-CA certificates, missing keyCertSign / cRLSign / SKI,
 * keys we cannot sign with, unreadable files; load chains in order and refuse the rest. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include "cert.h"

#define DAY 86400

static int64_t g_now;
static EVP_PKEY *g_p256[5]; /* reused keys: keygen is the slow part */

typedef struct spec {
	const char *bc;  /* basicConstraints value or NULL */
	const char *ku;  /* keyUsage value or NULL */
	int ski;         /* add a subjectKeyIdentifier */
} spec;

static const spec ca_spec = { "critical,CA:TRUE", "critical,keyCertSign,cRLSign", 1 };

static void add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *e;

	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	X509V3_set_ctx_nodb(&ctx);
	e = X509V3_EXT_nconf_nid(NULL, &ctx, nid, value);
	assert_non_null(e);
	assert_int_equal(X509_add_ext(x, e, -1), 1);
	X509_EXTENSION_free(e);
}

/* A certificate for key k named cn, issued by (issuer, ikey) or self-signed if issuer is
 * NULL. */
static X509 *mkcert(EVP_PKEY *k, const char *cn, X509 *issuer, EVP_PKEY *ikey, const spec *s)
{
	X509 *x = X509_new();
	X509_NAME *nm = X509_NAME_new();

	assert_non_null(x);
	assert_non_null(nm);
	assert_int_equal(X509_NAME_add_entry_by_txt(nm, "O", MBSTRING_UTF8,
	    (const unsigned char *)"Example Corp", -1, -1, 0), 1);
	assert_int_equal(X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0), 1);
	assert_int_equal(X509_set_version(x, X509_VERSION_3), 1);
	assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), 7), 1);
	assert_int_equal(X509_set_subject_name(x, nm), 1);
	assert_int_equal(X509_set_issuer_name(x, issuer != NULL ? X509_get_subject_name(issuer) : nm), 1);
	assert_non_null(ASN1_TIME_set(X509_getm_notBefore(x), (time_t)(g_now - 3600)));
	assert_non_null(ASN1_TIME_set(X509_getm_notAfter(x), (time_t)(g_now + 3650 * DAY)));
	assert_int_equal(X509_set_pubkey(x, k), 1);
	if (s->bc != NULL)
		add_ext(x, issuer != NULL ? issuer : x, NID_basic_constraints, s->bc);
	if (s->ku != NULL)
		add_ext(x, issuer != NULL ? issuer : x, NID_key_usage, s->ku);
	if (s->ski)
		add_ext(x, issuer != NULL ? issuer : x, NID_subject_key_identifier, "hash");
	if (issuer != NULL)
		add_ext(x, issuer, NID_authority_key_identifier, "keyid:always");
	assert_int_not_equal(X509_sign(x, issuer != NULL ? ikey : k,
	    EVP_PKEY_get_base_id(k) == EVP_PKEY_ED25519 && issuer == NULL ? NULL : EVP_sha256()), 0);
	X509_NAME_free(nm);
	return x;
}

static void write_pem(const char *path, X509 *const *certs, size_t n)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(PEM_write_X509(f, certs[i]), 1);
	assert_int_equal(fclose(f), 0);
}

static char g_dir[64];

static void path_of(char *out, size_t n, const char *name)
{
	snprintf(out, n, "%s/%s", g_dir, name);
}

/* Write x (and a chain) and load it. */
static ik_status load(X509 *x, X509 *const *chain, size_t nchain, sg_ca *ca)
{
	char cp[128], chp[128];
	ik_status st;

	path_of(cp, sizeof(cp), "ca.pem");
	path_of(chp, sizeof(chp), "chain.pem");
	write_pem(cp, &x, 1);
	if (chain != NULL)
		write_pem(chp, chain, nchain);
	st = sg_ca_load(cp, chain != NULL ? chp : NULL, ca);
	unlink(cp);
	unlink(chp);
	if (st != IK_OK) {
		/* nothing is left behind on failure */
		assert_null(ca->cert);
		assert_null(ca->name_der);
		assert_int_equal(ca->nchain, 0);
	}
	return st;
}

static void check_loaded(const sg_ca *ca, X509 *x, sg_sigalg want)
{
	const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(x);
	uint8_t *der = NULL;
	int n;

	assert_int_equal(ca->sig, want);
	n = i2d_X509_NAME(X509_get_subject_name(x), &der);
	assert_true(n > 0);
	assert_int_equal(ca->name_len, (size_t)n);
	assert_memory_equal(ca->name_der, der, (size_t)n);
	OPENSSL_free(der);
	der = NULL;
	assert_non_null(ski);
	assert_int_equal(ca->key_id_len, (size_t)ASN1_STRING_length(ski));
	assert_memory_equal(ca->key_id, ASN1_STRING_get0_data(ski), ca->key_id_len);
	assert_int_equal(ca->not_before, g_now - 3600);
	assert_int_equal(ca->not_after, g_now + 3650 * DAY);
	assert_true(ca->nchain >= 1);
	n = i2d_X509(x, &der);
	assert_int_equal(ca->chain_len[0], (size_t)n);
	assert_memory_equal(ca->chain_der[0], der, (size_t)n);
	OPENSSL_free(der);
	assert_int_equal(X509_cmp(ca->cert, x), 0);
}

static void test_good(void **state)
{
	struct { const char *alg, *param; sg_sigalg want; } kinds[] = {
		{ "EC", "P-256", SG_SIG_ECDSA_SHA256 },
		{ "EC", "P-384", SG_SIG_ECDSA_SHA384 },
		{ "RSA", NULL, SG_SIG_RSA_SHA256 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		EVP_PKEY *k = kinds[i].param != NULL ?
		    EVP_PKEY_Q_keygen(NULL, NULL, kinds[i].alg, kinds[i].param) :
		    EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
		X509 *x;
		sg_ca ca;

		assert_non_null(k);
		x = mkcert(k, "Issuing CA", NULL, NULL, &ca_spec);
		assert_int_equal(load(x, NULL, 0, &ca), IK_OK);
		check_loaded(&ca, x, kinds[i].want);
		assert_int_equal(ca.nchain, 1);
		sg_ca_cleanup(&ca);
		assert_null(ca.cert);
		sg_ca_cleanup(&ca); /* twice is harmless */
		X509_free(x);
		EVP_PKEY_free(k);
	}
}

static void refuse(const spec *s)
{
	X509 *x = mkcert(g_p256[0], "Not a CA", NULL, NULL, s);
	sg_ca ca;

	assert_int_equal(load(x, NULL, 0, &ca), IK_ERR_CONFIG);
	X509_free(x);
}

static void test_not_a_ca(void **state)
{
	const spec leaf = { "critical,CA:FALSE", "critical,digitalSignature", 1 };
	const spec no_bc = { NULL, "critical,keyCertSign,cRLSign", 1 };
	const spec no_certsign = { "critical,CA:TRUE", "critical,cRLSign,digitalSignature", 1 };
	const spec no_crlsign = { "critical,CA:TRUE", "critical,keyCertSign", 1 };
	const spec no_ku = { "critical,CA:TRUE", NULL, 1 };
	const spec ca_false_ku_ca = { "critical,CA:FALSE", "critical,keyCertSign,cRLSign", 1 };

	(void)state;
	refuse(&leaf);
	refuse(&no_bc);
	refuse(&no_certsign);
	refuse(&no_crlsign);
	refuse(&no_ku);
	refuse(&ca_false_ku_ca);
}

static void test_no_ski(void **state)
{
	const spec no_ski = { "critical,CA:TRUE", "critical,keyCertSign,cRLSign", 0 };
	X509 *x = mkcert(g_p256[0], "CA without SKI", NULL, NULL, &no_ski);
	sg_ca ca;

	(void)state;
	assert_null(X509_get0_subject_key_id(x));
	assert_int_equal(load(x, NULL, 0, &ca), IK_ERR_CONFIG);
	X509_free(x);
}

static void test_bad_keys(void **state)
{
	const char *bad[][2] = { { "EC", "P-521" }, { "EC", "secp256k1" }, { "ED25519", NULL } };

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		EVP_PKEY *k = bad[i][1] != NULL ? EVP_PKEY_Q_keygen(NULL, NULL, bad[i][0], bad[i][1]) :
		    EVP_PKEY_Q_keygen(NULL, NULL, bad[i][0]);
		X509 *x;
		sg_ca ca;

		assert_non_null(k);
		x = mkcert(k, "Odd CA", NULL, NULL, &ca_spec);
		assert_int_equal(load(x, NULL, 0, &ca), IK_ERR_CONFIG);
		X509_free(x);
		EVP_PKEY_free(k);
	}
	{
		EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
		X509 *x;
		sg_ca ca;

		assert_non_null(k);
		x = mkcert(k, "Weak CA", NULL, NULL, &ca_spec);
		assert_int_equal(load(x, NULL, 0, &ca), IK_ERR_CONFIG);
		X509_free(x);
		EVP_PKEY_free(k);
	}
}

static void test_bad_files(void **state)
{
	char p[128];
	FILE *f;
	sg_ca ca;

	(void)state;
	path_of(p, sizeof(p), "missing.pem");
	assert_int_equal(sg_ca_load(p, NULL, &ca), IK_ERR_CONFIG);
	path_of(p, sizeof(p), "garbage.pem");
	f = fopen(p, "w");
	assert_non_null(f);
	fputs("-----BEGIN CERTIFICATE-----\nnot base64 at all!\n-----END CERTIFICATE-----\n", f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(sg_ca_load(p, NULL, &ca), IK_ERR_CONFIG);
	assert_null(ca.cert);
	unlink(p);
}

/* root -> a -> b -> c -> issuing: 5 levels, keys g_p256[0..4]. */
static void make_chain(X509 *c[5])
{
	const char *names[5] = { "Root", "Mid A", "Mid B", "Mid C", "Issuing" };

	c[0] = mkcert(g_p256[0], names[0], NULL, NULL, &ca_spec);
	for (int i = 1; i < 5; i++)
		c[i] = mkcert(g_p256[i], names[i], c[i - 1], g_p256[i - 1], &ca_spec);
}

static void test_chain(void **state)
{
	X509 *c[5], *other;
	sg_ca ca;

	(void)state;
	make_chain(c);
	/* issuing + c + b + a = 4: the most we carry */
	{
		X509 *chain[3] = { c[3], c[2], c[1] };
		assert_int_equal(load(c[4], chain, 3, &ca), IK_OK);
		check_loaded(&ca, c[4], SG_SIG_ECDSA_SHA256);
		assert_int_equal(ca.nchain, 4);
		for (int i = 1; i < 4; i++) {
			uint8_t *der = NULL;
			int n = i2d_X509(chain[i - 1], &der);
			assert_int_equal(ca.chain_len[i], (size_t)n);
			assert_memory_equal(ca.chain_der[i], der, (size_t)n);
			OPENSSL_free(der);
		}
		sg_ca_cleanup(&ca);
	}
	/* b issued by a issued by root: 3 */
	{
		X509 *chain[2] = { c[1], c[0] };
		assert_int_equal(load(c[2], chain, 2, &ca), IK_OK);
		assert_int_equal(ca.nchain, 3);
		sg_ca_cleanup(&ca);
	}
	/* one too many */
	{
		X509 *chain[4] = { c[3], c[2], c[1], c[0] };
		assert_int_equal(load(c[4], chain, 4, &ca), IK_ERR_CONFIG);
	}
	/* out of order */
	{
		X509 *chain[2] = { c[2], c[3] };
		assert_int_equal(load(c[4], chain, 2, &ca), IK_ERR_CONFIG);
	}
	/* skips a level */
	{
		X509 *chain[1] = { c[2] };
		assert_int_equal(load(c[4], chain, 1, &ca), IK_ERR_CONFIG);
	}
	/* a stranger with the right name but another key */
	other = mkcert(g_p256[0], "Mid C", NULL, NULL, &ca_spec);
	{
		X509 *chain[1] = { other };
		assert_int_equal(load(c[4], chain, 1, &ca), IK_ERR_CONFIG);
	}
	X509_free(other);
	/* a chain file with no certificate in it, or a missing one */
	{
		char cp[128], chp[128];
		FILE *f;

		path_of(cp, sizeof(cp), "ca.pem");
		path_of(chp, sizeof(chp), "chain.pem");
		write_pem(cp, &c[4], 1);
		f = fopen(chp, "w");
		assert_non_null(f);
		fputs("nothing here\n", f);
		assert_int_equal(fclose(f), 0);
		assert_int_equal(sg_ca_load(cp, chp, &ca), IK_ERR_CONFIG);
		unlink(chp);
		assert_int_equal(sg_ca_load(cp, chp, &ca), IK_ERR_CONFIG);
		unlink(cp);
	}
	for (int i = 0; i < 5; i++)
		X509_free(c[i]);
}

static int group_setup(void **state)
{
	(void)state;
	g_now = (int64_t)time(NULL);
	snprintf(g_dir, sizeof(g_dir), "/tmp/ik-ca-XXXXXX");
	if (mkdtemp(g_dir) == NULL)
		return -1;
	for (int i = 0; i < 5; i++)
		if ((g_p256[i] = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL)
			return -1;
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	for (int i = 0; i < 5; i++)
		EVP_PKEY_free(g_p256[i]);
	rmdir(g_dir);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_not_a_ca),
		cmocka_unit_test(test_no_ski),
		cmocka_unit_test(test_bad_keys),
		cmocka_unit_test(test_bad_files),
		cmocka_unit_test(test_chain),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
