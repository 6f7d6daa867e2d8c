/* Unit tests for ra/ocsp_req.c: OCSPRequests built with OpenSSL's own OCSP API are reduced to
 * exactly the CertIDs and nonce they carry; every refusal (malformedRequest) is checked with
 * the reason it gives; the base64 of the GET form is strict. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>
#include <openssl/ocsp.h>
#include <openssl/sha.h>
#include "ocsp_req.h"
#include "sg_testca.h"

static testca g_ca;

/* A request for the given serials (hex) under the test CA with digest md. */
static OCSP_REQUEST *request(const EVP_MD *md, const char *const *serials, size_t n)
{
	OCSP_REQUEST *req = OCSP_REQUEST_new();

	assert_non_null(req);
	for (size_t i = 0; i < n; i++) {
		BIGNUM *bn = NULL;
		ASN1_INTEGER *ai;
		OCSP_CERTID *id;

		assert_true(BN_hex2bn(&bn, serials[i]) > 0);
		ai = BN_to_ASN1_INTEGER(bn, NULL);
		assert_non_null(ai);
		id = OCSP_cert_id_new(md, X509_get_subject_name(g_ca.ca.cert),
		    X509_get0_pubkey_bitstr(g_ca.ca.cert), ai);
		assert_non_null(id);
		assert_non_null(OCSP_request_add0_id(req, id));
		ASN1_INTEGER_free(ai);
		BN_free(bn);
	}
	return req;
}

/* DER of req into *der (caller frees with OPENSSL_free); frees req. */
static size_t der_of(OCSP_REQUEST *req, uint8_t **der)
{
	int n;

	*der = NULL;
	n = i2d_OCSP_REQUEST(req, der);
	assert_true(n > 0);
	OCSP_REQUEST_free(req);
	return (size_t)n;
}

static void parse_ok(OCSP_REQUEST *req, proto_ocsp *m)
{
	uint8_t *der;
	size_t n = der_of(req, &der);
	char why[128] = "";

	if (ra_ocsp_parse(der, n, m, why, sizeof(why)) != IK_OK)
		fail_msg("refused: %s", why);
	OPENSSL_free(der);
}

static void parse_refused(OCSP_REQUEST *req, const char *reason)
{
	uint8_t *der;
	size_t n = der_of(req, &der);
	char why[128] = "";
	proto_ocsp m;

	assert_int_equal(ra_ocsp_parse(der, n, &m, why, sizeof(why)), IK_ERR_PROTO_FIELD);
	if (strstr(why, reason) == NULL)
		fail_msg("why '%s' does not say '%s'", why, reason);
	assert_int_equal(m.n, 0); /* nothing half-filled is left behind */
	OPENSSL_free(der);
}

static void add_ext(OCSP_REQUEST *req, int nid, int critical, const uint8_t *v, size_t n)
{
	ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
	X509_EXTENSION *e;

	assert_non_null(os);
	assert_int_equal(ASN1_OCTET_STRING_set(os, v, (int)n), 1);
	e = X509_EXTENSION_create_by_NID(NULL, nid, critical, os);
	assert_non_null(e);
	assert_int_equal(OCSP_REQUEST_add_ext(req, e, -1), 1);
	X509_EXTENSION_free(e);
	ASN1_OCTET_STRING_free(os);
}

static void test_one_certid(void **state)
{
	static const char *const s[] = { "5A1B2C3D4E5F60718293A4B5C6D7E8F9" };
	const ASN1_BIT_STRING *key = X509_get0_pubkey_bitstr(g_ca.ca.cert);
	uint8_t name_hash[SHA_DIGEST_LENGTH], key_hash[SHA_DIGEST_LENGTH];
	proto_ocsp m;

	(void)state;
	parse_ok(request(EVP_sha1(), s, 1), &m);
	assert_int_equal(m.n, 1);
	assert_int_equal(m.ids[0].hash, PROTO_HASH_SHA1);
	SHA1(g_ca.ca.name_der, g_ca.ca.name_len, name_hash);
	SHA1(key->data, (size_t)key->length, key_hash);
	assert_memory_equal(m.ids[0].name_hash, name_hash, sizeof(name_hash));
	assert_memory_equal(m.ids[0].key_hash, key_hash, sizeof(key_hash));
	assert_int_equal(m.ids[0].serial_len, 16);
	assert_memory_equal(m.ids[0].serial,
	    "\x5a\x1b\x2c\x3d\x4e\x5f\x60\x71\x82\x93\xa4\xb5\xc6\xd7\xe8\xf9", 16);
	assert_int_equal(m.nonce_len, 0);
}

static void test_hashes_serials_and_count(void **state)
{
	static const char *const eight[] = { "1", "80", "FF", "0100", "7FFFFFFF",
		"8000000000000000000000000000000000000000", /* 20 octets + a leading 00: 21 */
		"7F00000000000000000000000000000000000000", "2A" };
	static const char *const nine[] = { "1", "2", "3", "4", "5", "6", "7", "8", "9" };
	const EVP_MD *mds[] = { EVP_sha256(), EVP_sha384(), EVP_sha512() };
	proto_ocsp m;

	(void)state;
	for (size_t i = 0; i < 3; i++) {
		parse_ok(request(mds[i], eight + 3, 1), &m);
		assert_int_equal(m.ids[0].hash, PROTO_HASH_SHA256 + i);
		assert_int_equal(m.ids[0].serial_len, 2);
		assert_memory_equal(m.ids[0].serial, "\x01\x00", 2);
	}
	/* the contents of the INTEGER, with the 00 that keeps 0x80 positive */
	parse_ok(request(EVP_sha1(), eight + 1, 1), &m);
	assert_int_equal(m.ids[0].serial_len, 2);
	assert_memory_equal(m.ids[0].serial, "\x00\x80", 2);
	/* 20 octets with the top bit set need 21: no Inkan serial is like that */
	parse_refused(request(EVP_sha1(), eight + 5, 1), "longer than 20 octets");
	parse_ok(request(EVP_sha1(), eight + 6, 1), &m);
	assert_int_equal(m.ids[0].serial_len, PROTO_MAX_SERIAL);
	/* 8 CertIDs are fine, 9 and 0 are not */
	{
		static const char *const ok8[] = { "1", "2", "3", "4", "5", "6", "7", "8" };
		parse_ok(request(EVP_sha256(), ok8, 8), &m);
		assert_int_equal(m.n, 8);
		assert_int_equal(m.ids[7].serial[0], 8);
	}
	parse_refused(request(EVP_sha1(), nine, 9), "more than 8 CertIDs");
	parse_refused(request(EVP_sha1(), nine, 0), "no CertID");
	/* a hash PROTO_OCSP cannot name */
	parse_refused(request(EVP_sha224(), nine, 1), "not SHA-1, SHA-256, SHA-384 or SHA-512");
}

static void test_nonce_and_extensions(void **state)
{
	static const char *const s[] = { "0123456789" };
	uint8_t nonce[40], raw[3] = { 'a', 'b', 'c' };
	OCSP_REQUEST *req;
	proto_ocsp m;

	(void)state;
	for (size_t i = 0; i < sizeof(nonce); i++)
		nonce[i] = (uint8_t)(0xa0 + i);
	/* OCSP_request_add1_nonce wraps the octets in an OCTET STRING, as RFC 8954 says */
	req = request(EVP_sha1(), s, 1);
	assert_int_equal(OCSP_request_add1_nonce(req, nonce, 16), 1);
	parse_ok(req, &m);
	assert_int_equal(m.nonce_len, 16);
	assert_memory_equal(m.nonce, nonce, 16);
	req = request(EVP_sha1(), s, 1);
	assert_int_equal(OCSP_request_add1_nonce(req, nonce, 32), 1);
	parse_ok(req, &m);
	assert_int_equal(m.nonce_len, 32);
	req = request(EVP_sha1(), s, 1);
	assert_int_equal(OCSP_request_add1_nonce(req, nonce, 33), 1);
	parse_refused(req, "not 1..32 octets");
	/* a raw nonce (not an OCTET STRING), an empty one, two of them */
	req = request(EVP_sha1(), s, 1);
	add_ext(req, NID_id_pkix_OCSP_Nonce, 0, raw, sizeof(raw));
	parse_refused(req, "not an OCTET STRING");
	req = request(EVP_sha1(), s, 1);
	add_ext(req, NID_id_pkix_OCSP_Nonce, 0, (const uint8_t *)"\x04\x00", 2);
	parse_refused(req, "not 1..32 octets");
	req = request(EVP_sha1(), s, 1);
	assert_int_equal(OCSP_request_add1_nonce(req, nonce, 16), 1);
	add_ext(req, NID_id_pkix_OCSP_Nonce, 0, (const uint8_t *)"\x04\x01\x01", 3);
	parse_refused(req, "two nonce extensions");
	/* other extensions: ignored unless critical */
	req = request(EVP_sha1(), s, 1);
	add_ext(req, NID_id_pkix_OCSP_acceptableResponses, 0, (const uint8_t *)"\x30\x00", 2);
	parse_ok(req, &m);
	assert_int_equal(m.nonce_len, 0);
	req = request(EVP_sha1(), s, 1);
	add_ext(req, NID_id_pkix_OCSP_acceptableResponses, 1, (const uint8_t *)"\x30\x00", 2);
	parse_refused(req, "a critical requestExtension");
	/* a critical singleRequestExtension */
	{
		X509_EXTENSION *e;
		ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();

		req = request(EVP_sha1(), s, 1);
		assert_int_equal(ASN1_OCTET_STRING_set(os, (const unsigned char *)"\x05\x00", 2), 1);
		e = X509_EXTENSION_create_by_NID(NULL, NID_id_pkix_OCSP_serviceLocator, 1, os);
		assert_int_equal(OCSP_ONEREQ_add_ext(OCSP_request_onereq_get0(req, 0), e, -1), 1);
		X509_EXTENSION_free(e);
		ASN1_OCTET_STRING_free(os);
		parse_refused(req, "a critical singleRequestExtension");
	}
}

static void test_not_a_request(void **state)
{
	static const char *const s[] = { "42" };
	uint8_t *der, *more;
	size_t n = der_of(request(EVP_sha1(), s, 1), &der);
	char why[128];
	proto_ocsp m;

	(void)state;
	assert_int_equal(ra_ocsp_parse(der, n, &m, why, sizeof(why)), IK_OK);
	for (size_t k = 0; k < n; k++)
		assert_int_equal(ra_ocsp_parse(der, k, &m, why, sizeof(why)), IK_ERR_PROTO_FIELD);
	more = malloc(RA_OCSP_MAX_REQUEST + 1);
	assert_non_null(more);
	memcpy(more, der, n);
	more[n] = 0x00;
	assert_int_equal(ra_ocsp_parse(more, n + 1, &m, why, sizeof(why)), IK_ERR_PROTO_FIELD);
	assert_non_null(strstr(why, "bytes after the OCSPRequest"));
	memset(more, 0x30, RA_OCSP_MAX_REQUEST + 1);
	assert_int_equal(ra_ocsp_parse(more, RA_OCSP_MAX_REQUEST + 1, &m, why, sizeof(why)),
	    IK_ERR_PROTO_FIELD);
	assert_non_null(strstr(why, "larger than 8192"));
	assert_int_equal(ra_ocsp_parse(NULL, 0, &m, why, sizeof(why)), IK_ERR_PROTO_FIELD);
	/* a Name is DER, but not an OCSPRequest */
	assert_int_equal(ra_ocsp_parse(g_ca.ca.name_der, g_ca.ca.name_len, &m, why, sizeof(why)),
	    IK_ERR_PROTO_FIELD);
	assert_non_null(strstr(why, "not a DER OCSPRequest"));
	free(more);
	OPENSSL_free(der);
}

static void test_fixed_responses(void **state)
{
	const uint8_t *const r[3] = { ra_ocsp_malformed, ra_ocsp_internal, ra_ocsp_try_later };

	(void)state;
	for (int i = 0; i < 3; i++) {
		const unsigned char *p = r[i];
		OCSP_RESPONSE *resp = d2i_OCSP_RESPONSE(NULL, &p, 5);
		assert_non_null(resp);
		assert_ptr_equal(p, r[i] + 5);
		assert_int_equal(OCSP_response_status(resp), i + 1);
		assert_null(OCSP_response_get1_basic(resp));
		OCSP_RESPONSE_free(resp);
	}
}

static void test_base64(void **state)
{
	static const struct {
		const char *in;
		const char *out; /* NULL: refused */
	} v[] = {
		{ "Zg==", "f" }, { "Zm8=", "fo" }, { "Zm9v", "foo" }, { "Zm9vYg==", "foob" },
		{ "Zm9vYmE=", "fooba" }, { "Zm9vYmFy", "foobar" }, { "+/+/", "\xfb\xff\xbf" },
		{ "", NULL }, { "Zg", NULL }, { "Zg=", NULL }, { "Zm9vY", NULL },
		{ "Zh==", NULL },     /* bits the padding drops are not zero */
		{ "Zm9=", NULL },
		{ "Z===", NULL }, { "====", NULL }, { "Zg=a", NULL }, { "A=B=", NULL },
		{ "Zg==Zg==", NULL }, /* padding in the middle */
		{ "Zm 9", NULL }, { "Zm9\n", NULL }, { "-_-_", NULL }, { "Zm9%", NULL },
	};
	uint8_t out[16];
	size_t n;

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		ik_status st = ra_ocsp_base64(v[i].in, strlen(v[i].in), out, sizeof(out), &n);
		if (v[i].out == NULL) {
			if (st != IK_ERR_PROTO_FIELD)
				fail_msg("'%s' accepted", v[i].in);
			continue;
		}
		if (st != IK_OK)
			fail_msg("'%s' refused", v[i].in);
		assert_int_equal(n, strlen(v[i].out));
		assert_memory_equal(out, v[i].out, n);
	}
	/* the output bound is kept */
	assert_int_equal(ra_ocsp_base64("Zm9vYmFy", 8, out, 5, &n), IK_ERR_PROTO_FIELD);
	assert_int_equal(ra_ocsp_base64("Zm9vYmFy", 8, out, 6, &n), IK_OK);
	assert_int_equal(ra_ocsp_base64("Zm9vYg==", 8, out, 4, &n), IK_OK);
	assert_int_equal(n, 4);
}

static int setup(void **state)
{
	(void)state;
	return testca_make(&g_ca, "P-256", (int64_t)time(NULL)) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	testca_free(&g_ca);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_certid),
		cmocka_unit_test(test_hashes_serials_and_count),
		cmocka_unit_test(test_nonce_and_extensions),
		cmocka_unit_test(test_not_a_request),
		cmocka_unit_test(test_fixed_responses),
		cmocka_unit_test(test_base64),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
