/* Unit tests for ra/csr.c, the CSR fast path: for real requests made by OpenSSL (P-256 and
 * P-384, SHA-256/384/512, with and without attributes) it gives the same SPKI and subject
 * bytes as OpenSSL's parser; a wrong signature is refused; what it does not take (RSA,
 * compressed points, SHA-1, other versions, trailing bytes, non-minimal lengths, no
 * attributes field) is left to OpenSSL; and for every single-byte change and every
 * truncation of a request, whenever it accepts, OpenSSL accepts too with the same key. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "csr.h"
#include "p12.h"
#include "proto.h"

static EVP_PKEY *ec_key(const char *curve)
{
	EVP_PKEY *k = EVP_EC_gen(curve);

	assert_non_null(k);
	return k;
}

/* A request for key, CN "csr-test", signed with md; attrs: a challengePassword and an
 * extensionRequest. */
static size_t make_req(EVP_PKEY *key, const EVP_MD *md, int attrs, uint8_t **der)
{
	X509_REQ *req = X509_REQ_new();
	X509_NAME *nm = X509_NAME_new();
	int n;

	assert_non_null(req);
	assert_int_equal(X509_NAME_add_entry_by_txt(nm, "O", MBSTRING_UTF8,
	    (const unsigned char *)"Inkan test", -1, -1, 0), 1);
	assert_int_equal(X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_UTF8,
	    (const unsigned char *)"csr-test", -1, -1, 0), 1);
	assert_int_equal(X509_REQ_set_subject_name(req, nm), 1);
	assert_int_equal(X509_REQ_set_pubkey(req, key), 1);
	if (attrs) {
		STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
		X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, NULL, NID_key_usage, "digitalSignature");
		assert_non_null(e);
		sk_X509_EXTENSION_push(exts, e);
		assert_int_equal(X509_REQ_add_extensions(req, exts), 1);
		sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
		assert_int_equal(X509_REQ_add1_attr_by_NID(req, NID_pkcs9_challengePassword,
		    MBSTRING_ASC, (const unsigned char *)"not-a-secret", -1), 1);
	}
	assert_true(X509_REQ_sign(req, key, md) > 0);
	*der = NULL;
	n = i2d_X509_REQ(req, der);
	assert_true(n > 0);
	X509_NAME_free(nm);
	X509_REQ_free(req);
	return (size_t)n;
}

/* What OpenSSL alone says: 1 and its SPKI / subject DER when it parses exactly and the
 * signature verifies. */
static int openssl_accepts(const uint8_t *der, size_t n, uint8_t **spki, int *spki_len,
    uint8_t **subj, int *subj_len)
{
	const unsigned char *p = der;
	X509_REQ *req = d2i_X509_REQ(NULL, &p, (long)n);
	EVP_PKEY *pk;
	int ok = 0;

	if (req != NULL && p == der + n && (pk = X509_REQ_get0_pubkey(req)) != NULL &&
	    X509_REQ_verify(req, pk) == 1) {
		ok = 1;
		*spki = NULL;
		*subj = NULL;
		*spki_len = i2d_PUBKEY(pk, spki);
		*subj_len = i2d_X509_NAME(X509_REQ_get_subject_name(req), subj);
	}
	X509_REQ_free(req);
	ERR_clear_error();
	return ok;
}

static void assert_same_as_openssl(const uint8_t *der, size_t n, const ra_csr_parts *parts)
{
	uint8_t *spki, *subj;
	int spki_len, subj_len;

	assert_true(openssl_accepts(der, n, &spki, &spki_len, &subj, &subj_len));
	assert_int_equal(parts->spki_len, (size_t)spki_len);
	assert_memory_equal(parts->spki, spki, parts->spki_len);
	assert_int_equal(parts->subject_len, (size_t)subj_len);
	assert_memory_equal(parts->subject, subj, parts->subject_len);
	OPENSSL_free(spki);
	OPENSSL_free(subj);
}

static void test_fast_accepts(void **state)
{
	const char *curves[] = { "P-256", "P-384" };
	const EVP_MD *mds[] = { EVP_sha256(), EVP_sha384(), EVP_sha512() };

	(void)state;
	for (size_t c = 0; c < 2; c++) {
		EVP_PKEY *k = ec_key(curves[c]);
		for (size_t m = 0; m < 3; m++) {
			for (int attrs = 0; attrs < 2; attrs++) {
				uint8_t *der;
				size_t n = make_req(k, mds[m], attrs, &der);
				ra_csr_parts parts;
				ik_buf spki;
				char cn[PROTO_MAX_ATTR_LEN + 1], why[256];

				assert_int_equal(ra_csr_fast(der, n, &parts), IK_OK);
				assert_same_as_openssl(der, n, &parts);
				/* and the whole check through it */
				ik_buf_init(&spki, 0);
				assert_int_equal(ra_p12_spki_from_csr(der, n, &spki, cn, sizeof(cn), why,
				    sizeof(why)), IK_OK);
				assert_string_equal(cn, "csr-test");
				assert_int_equal(ik_buf_remaining(&spki), parts.spki_len);
				assert_memory_equal(ik_buf_ptr(&spki), parts.spki, parts.spki_len);
				ik_buf_cleanup(&spki);
				OPENSSL_free(der);
			}
		}
		EVP_PKEY_free(k);
	}
}

/* The signature does not verify: a changed signature, a changed subject, another key's
 * signature. */
static void test_fast_bad_signature(void **state)
{
	EVP_PKEY *k = ec_key("P-256"), *other = ec_key("P-256");
	uint8_t *der, *der2;
	size_t n = make_req(k, EVP_sha256(), 0, &der), n2;
	ra_csr_parts parts;
	ik_buf spki;
	char cn[PROTO_MAX_ATTR_LEN + 1], why[256];
	uint8_t *m = malloc(n);
	const uint8_t *subj;

	(void)state;
	assert_non_null(m);
	/* the last byte is inside the signature's s value */
	memcpy(m, der, n);
	m[n - 1] ^= 1;
	assert_int_equal(ra_csr_fast(m, n, &parts), IK_ERR_ARG);
	ik_buf_init(&spki, 0);
	assert_int_equal(ra_p12_spki_from_csr(m, n, &spki, cn, sizeof(cn), why, sizeof(why)),
	    IK_ERR_ARG);
	assert_non_null(strstr(why, "signature does not verify"));
	assert_int_equal(ik_buf_remaining(&spki), 0);
	assert_string_equal(cn, "");
	/* "csr-test" -> "csr-tesu": the signed part changed */
	memcpy(m, der, n);
	subj = memmem(m, n, "csr-test", 8);
	assert_non_null(subj);
	m[subj - m + 7] = 'u';
	assert_int_equal(ra_csr_fast(m, n, &parts), IK_ERR_ARG);
	/* signed by another key than the one inside */
	{
		X509_REQ *r = NULL;
		const unsigned char *p = der;
		r = d2i_X509_REQ(NULL, &p, (long)n);
		assert_non_null(r);
		assert_true(X509_REQ_sign(r, other, EVP_sha256()) > 0);
		der2 = NULL;
		n2 = (size_t)i2d_X509_REQ(r, &der2);
		X509_REQ_free(r);
		assert_int_equal(ra_csr_fast(der2, n2, &parts), IK_ERR_ARG);
		OPENSSL_free(der2);
	}
	ik_buf_cleanup(&spki);
	free(m);
	OPENSSL_free(der);
	EVP_PKEY_free(k);
	EVP_PKEY_free(other);
}

/* Left to OpenSSL (IK_ERR_NOT_FOUND), which still decides as before. */
static void test_fast_leaves(void **state)
{
	EVP_PKEY *k = ec_key("P-256"), *rsa = EVP_RSA_gen(2048);
	uint8_t *der, *m;
	size_t n;
	ra_csr_parts parts;
	ik_buf spki;
	char cn[PROTO_MAX_ATTR_LEN + 1], why[256];

	(void)state;
	ik_buf_init(&spki, 0);
	/* RSA: not ours, but accepted by the general path */
	n = make_req(rsa, EVP_sha256(), 1, &der);
	assert_int_equal(ra_csr_fast(der, n, &parts), IK_ERR_NOT_FOUND);
	assert_int_equal(ra_p12_spki_from_csr(der, n, &spki, cn, sizeof(cn), why, sizeof(why)),
	    IK_OK);
	OPENSSL_free(der);
	/* SHA-1: not ours */
	n = make_req(k, EVP_sha1(), 0, &der);
	assert_int_equal(ra_csr_fast(der, n, &parts), IK_ERR_NOT_FOUND);
	OPENSSL_free(der);
	/* a compressed point: not ours, normalized by the general path */
	{
		EVP_PKEY *c = ec_key("P-256");
		assert_int_equal(EVP_PKEY_set_utf8_string_param(c,
		    OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT, "compressed"), 1);
		n = make_req(c, EVP_sha256(), 0, &der);
		assert_int_equal(ra_csr_fast(der, n, &parts), IK_ERR_NOT_FOUND);
		ik_buf_reset(&spki);
		assert_int_equal(ra_p12_spki_from_csr(der, n, &spki, cn, sizeof(cn), why,
		    sizeof(why)), IK_OK);
		assert_int_equal(ik_buf_ptr(&spki)[ik_buf_remaining(&spki) - 65], 4);
		OPENSSL_free(der);
		EVP_PKEY_free(c);
	}
	n = make_req(k, EVP_sha256(), 0, &der);
	m = malloc(n + 8);
	assert_non_null(m);
	/* a byte after the request */
	memcpy(m, der, n);
	m[n] = 0;
	assert_int_equal(ra_csr_fast(m, n + 1, &parts), IK_ERR_NOT_FOUND);
	assert_int_equal(ra_p12_spki_from_csr(m, n + 1, &spki, cn, sizeof(cn), why, sizeof(why)),
	    IK_ERR_ARG);
	/* version 1 (the INTEGER right after the two SEQUENCE headers) */
	memcpy(m, der, n);
	{
		size_t at = (m[1] & 0x80 ? 2 + (m[1] & 0x7f) : 2);
		at += (m[at + 1] & 0x80 ? 2 + (m[at + 1] & 0x7f) : 2);
		assert_int_equal(m[at], 0x02);
		m[at + 2] = 1;
		assert_int_equal(ra_csr_fast(m, n, &parts), IK_ERR_NOT_FOUND);
	}
	/* the outer length in a non-minimal long form (82 00 xx instead of 81 xx): not DER */
	assert_int_equal(der[1], 0x81);
	m[0] = 0x30;
	m[1] = 0x82;
	m[2] = 0x00;
	m[3] = der[2];
	memcpy(m + 4, der + 3, n - 3);
	assert_int_equal(ra_csr_fast(m, n + 1, &parts), IK_ERR_NOT_FOUND);
	/* a point off the curve (its last byte changed): no key, so OpenSSL's parser judges */
	memcpy(m, der, n);
	{
		uint8_t *sp = memmem(m, n, "\x03\x42\x00\x04", 4);
		assert_non_null(sp);
		sp[4 + 63] ^= 1;
		assert_int_equal(ra_csr_fast(m, n, &parts), IK_ERR_NOT_FOUND);
		assert_int_equal(ra_p12_spki_from_csr(m, n, &spki, cn, sizeof(cn), why, sizeof(why)),
		    IK_ERR_ARG);
		/* the thread's key that refused that point verifies the next request's */
		assert_int_equal(ra_csr_fast(der, n, &parts), IK_OK);
		sp[4 + 63] ^= 1;
		assert_int_equal(ra_csr_fast(m, n, &parts), IK_OK);
	}
	/* the attributes field tagged [1] instead of [0] */
	memcpy(m, der, n);
	{
		uint8_t *a0 = memmem(m, n, "\xa0\x00", 2);
		assert_non_null(a0);
		a0[0] = 0xa1;
		assert_int_equal(ra_csr_fast(m, n, &parts), IK_ERR_NOT_FOUND);
	}
	free(m);
	OPENSSL_free(der);
	ik_buf_cleanup(&spki);
	EVP_PKEY_free(k);
	EVP_PKEY_free(rsa);
}

/* Every single-byte change (each bit of each byte) and every truncation: whenever the fast
 * path accepts, OpenSSL accepts the same bytes with the same key and subject. */
static void test_fast_never_looser(void **state)
{
	EVP_PKEY *k = ec_key("P-256");
	uint8_t *der, *m;
	size_t n = make_req(k, EVP_sha256(), 1, &der), accepted = 0;
	ra_csr_parts parts;

	(void)state;
	m = malloc(n);
	assert_non_null(m);
	for (size_t i = 0; i < n; i++) {
		for (int bit = 0; bit < 8; bit++) {
			memcpy(m, der, n);
			m[i] ^= (uint8_t)(1u << bit);
			if (ra_csr_fast(m, n, &parts) == IK_OK) {
				assert_same_as_openssl(m, n, &parts);
				accepted++;
			}
		}
	}
	for (size_t len = 0; len < n; len++)
		assert_int_not_equal(ra_csr_fast(der, len, &parts), IK_OK);
	/* a flipped bit can only pass where the signed bytes do not change (none here) */
	assert_int_equal(accepted, 0);
	free(m);
	OPENSSL_free(der);
	EVP_PKEY_free(k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fast_accepts),
		cmocka_unit_test(test_fast_bad_signature),
		cmocka_unit_test(test_fast_leaves),
		cmocka_unit_test(test_fast_never_looser),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
