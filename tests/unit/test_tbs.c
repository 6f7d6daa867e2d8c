/* Unit tests for signer/tbs.c: issue with an in-memory CA (profile check, serial, TBS,
 * lint, sign, assemble), then let OpenSSL judge the certificate: signature, issuer,
 * chain verification for clientAuth, exact extension set, SKI/AKI, subject, validity. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <pthread.h>
#include <stdlib.h>
#include <cmocka.h>
#include <openssl/sha.h>
#include "sg_testca.h"

typedef struct issued {
	proto_issue req;
	sg_leaf leaf;
	ik_buf tbs, cert;
	X509 *x;
} issued;

static int64_t g_now;

static void issue(const testca *t, const sg_profile *p, EVP_PKEY *k, issued *out)
{
	uint8_t sig[1024];
	size_t siglen = sizeof(sig);
	char why[256] = "";
	const uint8_t *q;

	memset(out, 0, sizeof(*out));
	ik_buf_init(&out->tbs, 0);
	ik_buf_init(&out->cert, 0);
	assert_true(testca_request(&out->req, k, g_now));
	assert_int_equal(sg_profile_check(p, &out->req, g_now, t->ca.not_after, &out->leaf, why,
	    sizeof(why)), IK_OK);
	assert_true(testca_serial(&out->leaf));
	assert_int_equal(sg_tbs_build(&t->ca, p, &out->leaf, &out->tbs), IK_OK);
	if (sg_lint_tbs(&t->ca, p, &out->leaf, ik_buf_ptr(&out->tbs), ik_buf_remaining(&out->tbs),
	    why, sizeof(why)) != IK_OK)
		fail_msg("lint: %s", why);
	assert_true(testca_sign(t, ik_buf_ptr(&out->tbs), ik_buf_remaining(&out->tbs), sig, &siglen));
	assert_int_equal(sg_signed_assemble(t->ca.sig, ik_buf_ptr(&out->tbs),
	    ik_buf_remaining(&out->tbs), sig, siglen, &out->cert), IK_OK);
	q = ik_buf_ptr(&out->cert);
	out->x = d2i_X509(NULL, &q, (long)ik_buf_remaining(&out->cert));
	assert_non_null(out->x);
	assert_ptr_equal(q, ik_buf_ptr(&out->cert) + ik_buf_remaining(&out->cert));
}

static void issued_free(issued *i)
{
	X509_free(i->x);
	ik_buf_cleanup(&i->tbs);
	ik_buf_cleanup(&i->cert);
	OPENSSL_free((void *)i->req.spki);
}

static void check_chain(const testca *t, X509 *x)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();

	assert_int_equal(X509_verify(x, t->key), 1);
	assert_int_equal(X509_check_issued(t->ca.cert, x), X509_V_OK);
	assert_non_null(store);
	assert_non_null(ctx);
	assert_int_equal(X509_STORE_add_cert(store, t->ca.cert), 1);
	assert_int_equal(X509_STORE_CTX_init(ctx, store, x, NULL), 1);
	assert_int_equal(X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT), 1);
	X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_X509_STRICT);
	if (X509_verify_cert(ctx) != 1)
		fail_msg("chain: %s", X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	/* not good for TLS servers */
	assert_int_equal(X509_check_purpose(x, X509_PURPOSE_SSL_SERVER, 0), 0);
	assert_int_equal(X509_check_ca(x), 0);
}

static void check_exts(const testca *t, const sg_profile *p, X509 *x, int rsa)
{
	static const struct { int nid, critical; } want[] = {
		{ NID_basic_constraints, 1 }, { NID_key_usage, 1 }, { NID_ext_key_usage, 0 },
		{ NID_subject_key_identifier, 0 }, { NID_authority_key_identifier, 0 },
		{ NID_crl_distribution_points, 0 }, { NID_info_access, 0 },
	};
	int aia = p->ocsp_url[0] != '\0' || p->ca_issuers_url[0] != '\0';
	size_t nwant = aia ? 7 : 6;
	const ASN1_OCTET_STRING *ski, *aki;
	const ASN1_BIT_STRING *key = X509_get0_pubkey_bitstr(x);
	uint8_t md[SHA_DIGEST_LENGTH];
	STACK_OF(DIST_POINT) *dps;
	AUTHORITY_INFO_ACCESS *ad;

	assert_int_equal(X509_get_ext_count(x), (int)nwant);
	for (size_t i = 0; i < nwant; i++) {
		X509_EXTENSION *e = X509_get_ext(x, (int)i);

		assert_int_equal(OBJ_obj2nid(X509_EXTENSION_get_object(e)), want[i].nid);
		assert_int_equal(X509_EXTENSION_get_critical(e), want[i].critical);
	}
	assert_int_equal(X509_get_extension_flags(x) & EXFLAG_CA, 0);
	assert_int_equal(X509_get_key_usage(x),
	    KU_DIGITAL_SIGNATURE | (rsa ? KU_KEY_ENCIPHERMENT : 0));
	assert_int_equal(X509_get_extended_key_usage(x), XKU_SSL_CLIENT);
	ski = X509_get0_subject_key_id(x);
	assert_non_null(ski);
	SHA1(ASN1_STRING_get0_data(key), (size_t)ASN1_STRING_length(key), md);
	assert_int_equal(ASN1_STRING_length(ski), sizeof(md));
	assert_memory_equal(ASN1_STRING_get0_data(ski), md, sizeof(md));
	aki = X509_get0_authority_key_id(x);
	assert_non_null(aki);
	assert_int_equal((size_t)ASN1_STRING_length(aki), t->ca.key_id_len);
	assert_memory_equal(ASN1_STRING_get0_data(aki), t->ca.key_id, t->ca.key_id_len);

	dps = X509_get_ext_d2i(x, NID_crl_distribution_points, NULL, NULL);
	assert_non_null(dps);
	assert_int_equal(sk_DIST_POINT_num(dps), 1);
	{
		DIST_POINT *dp = sk_DIST_POINT_value(dps, 0);
		GENERAL_NAME *gn;

		assert_int_equal(dp->distpoint->type, 0);
		assert_int_equal(sk_GENERAL_NAME_num(dp->distpoint->name.fullname), 1);
		gn = sk_GENERAL_NAME_value(dp->distpoint->name.fullname, 0);
		assert_int_equal(gn->type, GEN_URI);
		assert_string_equal((const char *)ASN1_STRING_get0_data(gn->d.uniformResourceIdentifier),
		    p->crl_url);
	}
	sk_DIST_POINT_pop_free(dps, DIST_POINT_free);
	ad = X509_get_ext_d2i(x, NID_info_access, NULL, NULL);
	if (!aia) {
		assert_null(ad);
		return;
	}
	assert_non_null(ad);
	assert_int_equal(sk_ACCESS_DESCRIPTION_num(ad), 2);
	for (int i = 0; i < 2; i++) {
		ACCESS_DESCRIPTION *a = sk_ACCESS_DESCRIPTION_value(ad, i);

		assert_int_equal(OBJ_obj2nid(a->method), i == 0 ? NID_ad_OCSP : NID_ad_ca_issuers);
		assert_int_equal(a->location->type, GEN_URI);
		assert_string_equal((const char *)ASN1_STRING_get0_data(a->location->d.uniformResourceIdentifier),
		    i == 0 ? p->ocsp_url : p->ca_issuers_url);
	}
	AUTHORITY_INFO_ACCESS_free(ad);
}

static void check_fields(const issued *i)
{
	static const struct { int nid, type; const char *value; } want[] = {
		{ NID_countryName, V_ASN1_PRINTABLESTRING, "DE" },
		{ NID_organizationName, V_ASN1_UTF8STRING, "Example Corp" },
		{ NID_organizationalUnitName, V_ASN1_UTF8STRING, "Engineering" },
		{ NID_commonName, V_ASN1_UTF8STRING, "alice \xc3\xa9" },
		{ NID_serialNumber, V_ASN1_PRINTABLESTRING, "DEV-0001" },
	};
	const X509_NAME *nm = X509_get_subject_name(i->x);
	const ASN1_INTEGER *serial = X509_get0_serialNumber(i->x);
	struct tm tm;
	int days, secs;

	assert_int_equal(X509_get_version(i->x), X509_VERSION_3);
	assert_int_equal(X509_NAME_entry_count(nm), 5);
	for (int k = 0; k < 5; k++) {
		const X509_NAME_ENTRY *e = X509_NAME_get_entry(nm, k);
		const ASN1_STRING *s = X509_NAME_ENTRY_get_data(e);

		assert_int_equal(OBJ_obj2nid(X509_NAME_ENTRY_get_object(e)), want[k].nid);
		assert_int_equal(ASN1_STRING_type(s), want[k].type);
		assert_int_equal(ASN1_STRING_length(s), strlen(want[k].value));
		assert_memory_equal(ASN1_STRING_get0_data(s), want[k].value, strlen(want[k].value));
	}
	assert_int_equal(ASN1_STRING_length(serial), i->leaf.serial_len);
	assert_memory_equal(ASN1_STRING_get0_data(serial), i->leaf.serial, i->leaf.serial_len);
	assert_int_equal(ASN1_TIME_to_tm(X509_get0_notBefore(i->x), &tm), 1);
	assert_int_equal((int64_t)timegm(&tm), g_now - 300);
	assert_int_equal(ASN1_TIME_to_tm(X509_get0_notAfter(i->x), &tm), 1);
	assert_int_equal((int64_t)timegm(&tm), g_now + 90 * TEST_DAY);
	assert_int_equal(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(i->x),
	    X509_get0_notAfter(i->x)), 1);
	assert_int_equal(days, 90);
	assert_int_equal(secs, 300);
}

static void run_case(const char *ca_kind, const char *leaf_kind, int aia)
{
	testca t;
	sg_profile p;
	issued i;
	EVP_PKEY *k;
	int rsa = strcmp(leaf_kind, "RSA") == 0;

	assert_true(testca_make(&t, ca_kind, g_now));
	testca_profile(&p);
	if (!aia) {
		p.ocsp_url[0] = '\0';
		p.ca_issuers_url[0] = '\0';
	}
	k = rsa ? EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048) :
	    EVP_PKEY_Q_keygen(NULL, NULL, "EC", leaf_kind);
	assert_non_null(k);
	issue(&t, &p, k, &i);
	check_chain(&t, i.x);
	check_exts(&t, &p, i.x, rsa);
	check_fields(&i);
	issued_free(&i);
	EVP_PKEY_free(k);
	testca_free(&t);
}

static void test_ec_p256(void **state)
{
	(void)state;
	run_case("P-256", "P-256", 1);
}

static void test_ec_p384_no_aia(void **state)
{
	(void)state;
	run_case("P-384", "P-384", 0);
}

static void test_rsa(void **state)
{
	(void)state;
	run_case("RSA", "RSA", 1);
}

typedef struct thread_arg {
	const testca *t;
	const sg_profile *p;
	const sg_leaf *leaf;
	const ik_buf *ref;
	int ok;
} thread_arg;

static void *build_many(void *arg)
{
	thread_arg *a = arg;
	ik_buf b;

	ik_buf_init(&b, 0);
	a->ok = 1;
	for (int n = 0; n < 500 && a->ok; n++) {
		ik_buf_reset(&b);
		if (sg_tbs_build(&a->t->ca, a->p, a->leaf, &b) != IK_OK ||
		    b.len != a->ref->len || memcmp(b.data, a->ref->data, b.len) != 0)
			a->ok = 0;
	}
	ik_buf_cleanup(&b);
	return NULL;
}

/* Several threads building at once get the same bytes. */
static void test_threads(void **state)
{
	testca t;
	sg_profile p;
	issued i;
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	pthread_t th[4];
	thread_arg a[4];

	(void)state;
	assert_true(testca_make(&t, "P-256", g_now));
	testca_profile(&p);
	issue(&t, &p, k, &i);
	for (int n = 0; n < 4; n++) {
		a[n] = (thread_arg){ &t, &p, &i.leaf, &i.tbs, 0 };
		assert_int_equal(pthread_create(&th[n], NULL, build_many, &a[n]), 0);
	}
	for (int n = 0; n < 4; n++) {
		assert_int_equal(pthread_join(th[n], NULL), 0);
		assert_true(a[n].ok);
	}
	issued_free(&i);
	EVP_PKEY_free(k);
	testca_free(&t);
}

static void test_bad_inputs(void **state)
{
	static const uint8_t bad_serials[][3] = { { 0x00 }, { 0x80 }, { 0x00, 0x01 } };
	static const size_t bad_lens[] = { 1, 1, 2 };
	testca t;
	sg_profile p;
	issued i;
	sg_leaf leaf;
	ik_buf b;
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	uint8_t sig[4] = { 1, 2, 3, 4 };

	(void)state;
	assert_true(testca_make(&t, "P-256", g_now));
	testca_profile(&p);
	issue(&t, &p, k, &i);
	ik_buf_init(&b, 0);
	for (size_t n = 0; n < 3; n++) {
		leaf = i.leaf;
		memcpy(leaf.serial, bad_serials[n], bad_lens[n]);
		leaf.serial_len = bad_lens[n];
		assert_int_equal(sg_tbs_build(&t.ca, &p, &leaf, &b), IK_ERR_ARG);
	}
	leaf = i.leaf;
	leaf.serial_len = 0;
	assert_int_equal(sg_tbs_build(&t.ca, &p, &leaf, &b), IK_ERR_ARG);
	leaf = i.leaf;
	leaf.not_after = -1;
	assert_int_equal(sg_tbs_build(&t.ca, &p, &leaf, &b), IK_ERR_ARG);
	p.crl_url[0] = '\0';
	assert_int_equal(sg_tbs_build(&t.ca, &p, &i.leaf, &b), IK_ERR_CONFIG);
	testca_profile(&p);
	snprintf(p.ocsp_url, sizeof(p.ocsp_url), "http://ocsp example/");
	assert_int_equal(sg_tbs_build(&t.ca, &p, &i.leaf, &b), IK_ERR_CONFIG);
	/* assemble: exact layout for a tiny input */
	ik_buf_reset(&b);
	{
		static const uint8_t tbs[2] = { 0x30, 0x00 };
		static const uint8_t want[] = { 0x30, 0x15, 0x30, 0x00, 0x30, 0x0a, 0x06, 0x08, 0x2a,
			0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02, 0x03, 0x05, 0x00, 1, 2, 3, 4 };

		assert_int_equal(sg_signed_assemble(SG_SIG_ECDSA_SHA256, tbs, 2, sig, 4, &b), IK_OK);
		assert_int_equal(b.len, sizeof(want));
		assert_memory_equal(b.data, want, sizeof(want));
		assert_int_equal(sg_signed_assemble((sg_sigalg)9, tbs, 2, sig, 4, &b), IK_ERR_ARG);
	}
	ik_buf_cleanup(&b);
	issued_free(&i);
	EVP_PKEY_free(k);
	testca_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ec_p256),
		cmocka_unit_test(test_ec_p384_no_aia),
		cmocka_unit_test(test_rsa),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_bad_inputs),
	};
	g_now = (int64_t)time(NULL);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
