/* Unit tests for the profile signer (ra/mobileconfig.c): real OpenSSL keys and certificates
 * made here, written as PEM files; the signature checked with CMS_verify.  The content is the
 * plist byte for byte, SHA-256, no S/MIME capabilities, the chain inside; bad files refused. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <openssl/cms.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include "mobileconfig.h"

static char dir[64];
static EVP_PKEY *ca_key, *ra_key, *other_key;
static X509 *ca_cert, *ra_cert;

static char *path(const char *name)
{
	static char p[8][128];
	static int i;

	i = (i + 1) % 8;
	snprintf(p[i], sizeof(p[i]), "%s/%s", dir, name);
	return p[i];
}

static X509 *make_cert(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key)
{
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();

	assert_non_null(x);
	assert_int_equal(X509_set_version(x, 2), 1);
	ASN1_INTEGER_set(X509_get_serialNumber(x), issuer != NULL ? 2 : 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -60);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, issuer != NULL ? X509_get_subject_name(issuer) : n);
	X509_set_pubkey(x, key);
	if (issuer == NULL) {
		X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, NULL, NID_basic_constraints,
		    "critical,CA:TRUE");
		assert_non_null(e);
		assert_int_equal(X509_add_ext(x, e, -1), 1);
		X509_EXTENSION_free(e);
	}
	assert_true(X509_sign(x, issuer_key, EVP_sha256()) > 0);
	X509_NAME_free(n);
	return x;
}

static void write_pem(const char *file, X509 *c1, X509 *c2, EVP_PKEY *key, int encrypt)
{
	FILE *f = fopen(path(file), "w");

	assert_non_null(f);
	if (c1 != NULL)
		assert_int_equal(PEM_write_X509(f, c1), 1);
	if (c2 != NULL)
		assert_int_equal(PEM_write_X509(f, c2), 1);
	if (key != NULL)
		assert_int_equal(PEM_write_PrivateKey(f, key, encrypt ? EVP_aes_256_cbc() : NULL,
		    NULL, 0, NULL, encrypt ? (void *)"secret-pass" : NULL), 1);
	fclose(f);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/ik-mcsign.XXXXXX");
	assert_non_null(mkdtemp(dir));
	ca_key = EVP_EC_gen("P-256");
	ra_key = EVP_EC_gen("P-256");
	other_key = EVP_EC_gen("P-256");
	assert_true(ca_key != NULL && ra_key != NULL && other_key != NULL);
	ca_cert = make_cert("Test TLS CA", ca_key, NULL, ca_key);
	ra_cert = make_cert("127.0.0.1", ra_key, ca_cert, ca_key);
	write_pem("chain.pem", ra_cert, ca_cert, NULL, 0);
	write_pem("leaf.pem", ra_cert, NULL, NULL, 0);
	write_pem("ra.key", NULL, NULL, ra_key, 0);
	write_pem("other.key", NULL, NULL, other_key, 0);
	write_pem("enc.key", NULL, NULL, ra_key, 1);
	write_pem("garbage.pem", NULL, NULL, NULL, 0);
	return 0;
}

static int teardown(void **state)
{
	const char *files[] = { "chain.pem", "leaf.pem", "ra.key", "other.key", "enc.key",
	    "garbage.pem" };

	(void)state;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		unlink(path(files[i]));
	rmdir(dir);
	X509_free(ca_cert);
	X509_free(ra_cert);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(ra_key);
	EVP_PKEY_free(other_key);
	return 0;
}

/* DER -> CMS_verify against ca_cert only: 1 and the content in got, or 0 */
static int verify(const uint8_t *der, size_t n, ik_buf *got, CMS_ContentInfo **keep)
{
	const unsigned char *p = der;
	CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &p, (long)n);
	X509_STORE *st = X509_STORE_new();
	BIO *out = BIO_new(BIO_s_mem());
	char *data;
	long len;
	int ok = 0;

	X509_STORE_add_cert(st, ca_cert);
	X509_STORE_set_purpose(st, X509_PURPOSE_ANY);
	if (cms != NULL && CMS_verify(cms, NULL, st, NULL, out, CMS_BINARY) == 1) {
		len = BIO_get_mem_data(out, &data);
		assert_int_equal(ik_buf_put(got, data, (size_t)len), IK_OK);
		ok = 1;
	}
	if (getenv("IK_DEBUG") != NULL)
		ERR_print_errors_fp(stderr);
	ERR_clear_error();
	BIO_free(out);
	X509_STORE_free(st);
	if (keep != NULL)
		*keep = cms;
	else
		CMS_ContentInfo_free(cms);
	return ok;
}

static void test_sign(void **state)
{
	static const char plist[] = "<?xml version=\"1.0\"?>\n<plist><dict><key>K</key>"
	    "<string>\xe6\x97\xa5\r\n\x00\xff</string></dict></plist>\n";
	ra_mobileconfig_signer *s = NULL;
	char err[512];
	ik_buf sig, got;
	CMS_ContentInfo *cms = NULL;
	CMS_SignerInfo *si;
	X509_ALGOR *dig, *alg;
	STACK_OF(X509) *certs;
	uint8_t *t;

	(void)state;
	assert_int_equal(ra_mobileconfig_signer_new(path("chain.pem"), path("ra.key"), &s, err,
	    sizeof(err)), IK_OK);
	ik_buf_init(&sig, 0);
	ik_buf_init(&got, 0);
	assert_int_equal(ra_mobileconfig_sign(s, (const uint8_t *)plist, sizeof(plist), &sig),
	    IK_OK);
	/* the content is the plist, byte for byte (binary: CR LF, NUL and 0xff untouched) */
	assert_true(verify(ik_buf_ptr(&sig), ik_buf_remaining(&sig), &got, &cms));
	assert_int_equal(ik_buf_remaining(&got), sizeof(plist));
	assert_memory_equal(ik_buf_ptr(&got), plist, sizeof(plist));
	/* SignedData, attached, the RA's certificate and its CA, SHA-256, no S/MIME caps */
	assert_int_equal(OBJ_obj2nid(CMS_get0_type(cms)), NID_pkcs7_signed);
	assert_non_null(CMS_get0_content(cms));
	certs = CMS_get1_certs(cms);
	assert_int_equal(sk_X509_num(certs), 2);
	sk_X509_pop_free(certs, X509_free);
	si = sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(cms), 0);
	assert_non_null(si);
	assert_int_equal(CMS_SignerInfo_cert_cmp(si, ra_cert), 0);
	CMS_SignerInfo_get0_algs(si, NULL, NULL, &dig, &alg);
	assert_int_equal(OBJ_obj2nid(dig->algorithm), NID_sha256);
	assert_int_equal(CMS_signed_get_attr_by_NID(si, NID_SMIMECapabilities, -1), -1);
	assert_true(CMS_signed_get_attr_by_NID(si, NID_pkcs9_messageDigest, -1) >= 0);
	CMS_ContentInfo_free(cms);
	/* a byte changed in the content, then in the signature: refused */
	t = memmem(ik_buf_ptr(&sig), ik_buf_remaining(&sig), "<string>", 8);
	assert_non_null(t);
	t[1] ^= 0x20;
	assert_false(verify(ik_buf_ptr(&sig), ik_buf_remaining(&sig), &got, NULL));
	t[1] ^= 0x20;
	assert_true(verify(ik_buf_ptr(&sig), ik_buf_remaining(&sig), &got, NULL));
	t = (uint8_t *)ik_buf_ptr(&sig) + ik_buf_remaining(&sig) - 4;
	*t ^= 0x01;
	assert_false(verify(ik_buf_ptr(&sig), ik_buf_remaining(&sig), &got, NULL));
	/* bad input */
	ik_buf_reset(&sig);
	assert_int_equal(ra_mobileconfig_sign(s, NULL, 1, &sig), IK_ERR_ARG);
	assert_int_equal(ra_mobileconfig_sign(s, (const uint8_t *)plist, 0, &sig), IK_ERR_ARG);
	assert_int_equal(ra_mobileconfig_sign(NULL, (const uint8_t *)plist, 1, &sig), IK_ERR_ARG);
	assert_int_equal(ik_buf_remaining(&sig), 0);
	ik_buf_cleanup(&sig);
	ik_buf_cleanup(&got);
	ra_mobileconfig_signer_free(s);
}

/* Only the leaf in tls_cert: signed, one certificate inside */
static void test_leaf_only(void **state)
{
	ra_mobileconfig_signer *s = NULL;
	char err[512];
	ik_buf sig, got;
	CMS_ContentInfo *cms = NULL;
	STACK_OF(X509) *certs;

	(void)state;
	assert_int_equal(ra_mobileconfig_signer_new(path("leaf.pem"), path("ra.key"), &s, err,
	    sizeof(err)), IK_OK);
	ik_buf_init(&sig, 0);
	ik_buf_init(&got, 0);
	assert_int_equal(ra_mobileconfig_sign(s, (const uint8_t *)"<plist/>", 8, &sig), IK_OK);
	assert_true(verify(ik_buf_ptr(&sig), ik_buf_remaining(&sig), &got, &cms));
	certs = CMS_get1_certs(cms);
	assert_int_equal(sk_X509_num(certs), 1);
	sk_X509_pop_free(certs, X509_free);
	CMS_ContentInfo_free(cms);
	ik_buf_cleanup(&sig);
	ik_buf_cleanup(&got);
	ra_mobileconfig_signer_free(s);
}

static void refused(const char *cert, const char *key, const char *want)
{
	ra_mobileconfig_signer *s = (ra_mobileconfig_signer *)1;
	char err[512] = "";

	assert_int_equal(ra_mobileconfig_signer_new(path(cert), path(key), &s, err, sizeof(err)),
	    IK_ERR_CONFIG);
	assert_null(s);
	assert_non_null(strstr(err, want));
	assert_null(strstr(err, "PRIVATE"));
}

static void test_refused(void **state)
{
	(void)state;
	refused("chain.pem", "other.key", "the key does not belong to the certificate in");
	refused("chain.pem", "enc.key", "not a readable, unencrypted PEM private key");
	refused("chain.pem", "missing.key", "missing.key: not a readable");
	refused("missing.pem", "ra.key", "missing.pem: not a readable PEM certificate");
	refused("garbage.pem", "ra.key", "garbage.pem: not a readable PEM certificate");
	refused("ra.key", "ra.key", "not a readable PEM certificate");
	ra_mobileconfig_signer_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sign),
		cmocka_unit_test(test_leaf_only),
		cmocka_unit_test(test_refused),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
