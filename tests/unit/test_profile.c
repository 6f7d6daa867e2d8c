/* Unit tests for signer/profile.c: a good request is normalised into an sg_leaf (DN
 * order, fixed values, default validity); every refusal has its own status and a why. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include "profile.h"

#define NOW INT64_C(1700000000)
#define CA_NOT_AFTER (NOW + 5 * 365 * 86400)
#define DAY 86400

static uint8_t *g_spki;
static size_t g_spki_len;

static int setup(void **state)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	uint8_t *der = NULL;
	int n;

	(void)state;
	if (k == NULL || (n = i2d_PUBKEY(k, &der)) <= 0)
		return -1;
	g_spki = der;
	g_spki_len = (size_t)n;
	EVP_PKEY_free(k);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	OPENSSL_free(g_spki);
	return 0;
}

static void profile_init(sg_profile *p)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "client");
	p->max_days = 397;
	p->backdate = 300;
	p->key_types = SG_KEY_EC_P256 | SG_KEY_EC_P384;
	p->rsa_min_bits = 2048;
	p->attrs_allowed = 1u << PROTO_ATTR_CN | 1u << PROTO_ATTR_OU | 1u << PROTO_ATTR_C |
	    1u << PROTO_ATTR_SERIALNUMBER;
	p->attrs_required = 1u << PROTO_ATTR_CN;
	snprintf(p->fixed[PROTO_ATTR_O], sizeof(p->fixed[0]), "Example Corp");
	snprintf(p->crl_url, sizeof(p->crl_url), "http://ca.example/crl");
}

static void add_attr(proto_issue *r, uint8_t type, const char *v)
{
	r->attrs[r->nattrs].type = type;
	snprintf(r->attrs[r->nattrs].value, sizeof(r->attrs[0].value), "%s", v);
	r->nattrs++;
}

static void request_init(proto_issue *r)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->request_id, sizeof(r->request_id), "req-1");
	snprintf(r->profile, sizeof(r->profile), "client");
	r->spki = g_spki;
	r->spki_len = g_spki_len;
	add_attr(r, PROTO_ATTR_CN, "alice");
	add_attr(r, PROTO_ATTR_C, "DE");
	add_attr(r, PROTO_ATTR_SERIALNUMBER, "dev-0001");
	add_attr(r, PROTO_ATTR_OU, "Engineering");
	r->not_after = (uint64_t)(NOW + 90 * DAY);
}

static void expect(const sg_profile *p, const proto_issue *r, ik_status want, const char *part)
{
	sg_leaf leaf;
	char why[PROTO_MAX_DETAIL + 1] = "";

	memset(&leaf, 0, sizeof(leaf));
	assert_int_equal(sg_profile_check(p, r, NOW, CA_NOT_AFTER, &leaf, why, sizeof(why)), want);
	if (strstr(why, part) == NULL)
		fail_msg("why '%s' does not mention '%s'", why, part);
}

static void test_good(void **state)
{
	sg_profile p;
	proto_issue r;
	sg_leaf leaf;
	char why[256] = "";
	static const uint8_t order[] = { PROTO_ATTR_C, PROTO_ATTR_O, PROTO_ATTR_OU, PROTO_ATTR_CN,
		PROTO_ATTR_SERIALNUMBER };

	(void)state;
	profile_init(&p);
	request_init(&r);
	memset(&leaf, 0, sizeof(leaf));
	leaf.serial[0] = 0x42;
	leaf.serial_len = 1;
	assert_int_equal(sg_profile_check(&p, &r, NOW, CA_NOT_AFTER, &leaf, why, sizeof(why)), IK_OK);
	assert_int_equal(leaf.serial_len, 1); /* the serial is the caller's */
	assert_int_equal(leaf.serial[0], 0x42);
	assert_int_equal(leaf.not_before, NOW - 300);
	assert_int_equal(leaf.not_after, NOW + 90 * DAY);
	assert_int_equal(leaf.key.type, SG_KEY_EC_P256);
	assert_int_equal(leaf.nsubject, sizeof(order));
	for (size_t i = 0; i < sizeof(order); i++)
		assert_int_equal(leaf.subject[i].type, order[i]);
	assert_string_equal(leaf.subject[1].value, "Example Corp");
	assert_string_equal(leaf.subject[3].value, "alice");

	/* the fixed value may be repeated; an explicit notBefore inside the window is kept;
	 * the longest allowed span (max_days + backdate) is accepted */
	add_attr(&r, PROTO_ATTR_O, "Example Corp");
	r.not_before = (uint64_t)(NOW - 300);
	r.not_after = (uint64_t)(NOW + 397 * DAY);
	assert_int_equal(sg_profile_check(&p, &r, NOW, CA_NOT_AFTER, &leaf, why, sizeof(why)), IK_OK);
	assert_int_equal(leaf.not_before, NOW - 300);

	/* 64 two-byte characters: 128 bytes, within the 64-character bound */
	request_init(&r);
	for (size_t i = 0; i < 64; i++)
		memcpy(r.attrs[0].value + 2 * i, "\xc3\xa9", 2);
	r.attrs[0].value[128] = '\0';
	assert_int_equal(sg_profile_check(&p, &r, NOW, CA_NOT_AFTER, &leaf, why, sizeof(why)), IK_OK);
}

static void test_profile_and_flags(void **state)
{
	sg_profile p;
	proto_issue r;

	(void)state;
	profile_init(&p);
	request_init(&r);
	snprintf(r.profile, sizeof(r.profile), "server");
	expect(&p, &r, IK_ERR_POLICY_PROFILE, "unknown profile 'server'");
	request_init(&r);
	r.flags = PROTO_ISSUE_F_CA;
	expect(&p, &r, IK_ERR_POLICY_CA, "basicConstraints CA:TRUE not allowed in profile client");
	r.flags = 0x2;
	expect(&p, &r, IK_ERR_POLICY_FLAGS, "unknown request flags 0x2");
}

static void test_validity(void **state)
{
	sg_profile p;
	proto_issue r;

	(void)state;
	profile_init(&p);
	request_init(&r);
	r.not_after = (uint64_t)(NOW + 398 * DAY);
	expect(&p, &r, IK_ERR_POLICY_VALIDITY, "exceeds 397 days");
	r.not_before = (uint64_t)NOW;
	r.not_after = (uint64_t)(NOW - 1);
	expect(&p, &r, IK_ERR_POLICY_VALIDITY, "is not after notBefore");
	r.not_after = (uint64_t)NOW;
	expect(&p, &r, IK_ERR_POLICY_VALIDITY, "is not after notBefore");
	r.not_before = (uint64_t)(NOW - 301);
	r.not_after = (uint64_t)(NOW + DAY);
	expect(&p, &r, IK_ERR_POLICY_VALIDITY, "in the past");
	r.not_before = (uint64_t)(NOW + DAY + 1);
	r.not_after = (uint64_t)(NOW + 3 * DAY);
	expect(&p, &r, IK_ERR_POLICY_VALIDITY, "in the future");
	r.not_before = 0;
	r.not_after = (uint64_t)(CA_NOT_AFTER + 1);
	p.max_days = SG_MAX_DAYS_CAP;
	expect(&p, &r, IK_ERR_POLICY_VALIDITY, "exceeds");
	r.not_after = (uint64_t)(NOW + 30 * DAY);
	expect(&p, &r, IK_OK, "");
	/* beyond the CA's notAfter */
	{
		sg_leaf leaf;
		char why[256] = "";

		assert_int_equal(sg_profile_check(&p, &r, NOW, NOW + 29 * DAY, &leaf, why,
		    sizeof(why)), IK_ERR_POLICY_VALIDITY);
		assert_non_null(strstr(why, "beyond the CA's notAfter"));
	}
	r.not_after = UINT64_MAX;
	expect(&p, &r, IK_ERR_POLICY_VALIDITY, "out of range");
}

static void test_subject(void **state)
{
	sg_profile p;
	proto_issue r;
	char long_cn[80];

	(void)state;
	profile_init(&p);
	request_init(&r);
	add_attr(&r, PROTO_ATTR_L, "Berlin");
	expect(&p, &r, IK_ERR_POLICY_SUBJECT, "attribute L not allowed by profile client");
	request_init(&r);
	add_attr(&r, PROTO_ATTR_CN, "bob");
	expect(&p, &r, IK_ERR_POLICY_SUBJECT, "duplicate attribute CN");
	request_init(&r);
	r.attrs[0].type = PROTO_ATTR_OU; /* only OU: CN missing */
	r.nattrs = 1;
	expect(&p, &r, IK_ERR_POLICY_SUBJECT, "required attribute CN missing");
	request_init(&r);
	add_attr(&r, PROTO_ATTR_O, "Evil Corp");
	expect(&p, &r, IK_ERR_POLICY_SUBJECT, "O must be 'Example Corp' (fixed by profile)");
	request_init(&r);
	snprintf(r.attrs[1].value, sizeof(r.attrs[1].value), "de");
	expect(&p, &r, IK_ERR_POLICY_SUBJECT, "C must be 2 uppercase");
	snprintf(r.attrs[1].value, sizeof(r.attrs[1].value), "DEU");
	expect(&p, &r, IK_ERR_POLICY_SUBJECT, "C longer than 2");
	request_init(&r);
	memset(long_cn, 'a', 65);
	long_cn[65] = '\0';
	snprintf(r.attrs[0].value, sizeof(r.attrs[0].value), "%s", long_cn);
	expect(&p, &r, IK_ERR_POLICY_SUBJECT, "attribute CN longer than 64 characters");
	request_init(&r);
	snprintf(r.attrs[0].value, sizeof(r.attrs[0].value), "a\xc0\xafz"); /* overlong '/' */
	expect(&p, &r, IK_ERR_POLICY_SUBJECT, "not valid UTF-8");
	snprintf(r.attrs[0].value, sizeof(r.attrs[0].value), "a\nb");
	expect(&p, &r, IK_ERR_POLICY_SUBJECT, "control characters");
	snprintf(r.attrs[0].value, sizeof(r.attrs[0].value), "%s", "");
	expect(&p, &r, IK_ERR_POLICY_SUBJECT, "attribute CN is empty");
	request_init(&r);
	snprintf(r.attrs[2].value, sizeof(r.attrs[2].value), "dev@0001");
	expect(&p, &r, IK_ERR_POLICY_SUBJECT, "serialNumber must use PrintableString");
	request_init(&r);
	r.attrs[0].type = 9;
	expect(&p, &r, IK_ERR_POLICY_SUBJECT, "unknown subject attribute type 9");
}

/* usage = email: the CN must be a plain e-mail address (it becomes the rfc822Name). */
static void test_email_profile(void **state)
{
	static const char *const good[] = { "ra@inkan.example.jp", "first.last+tag@a.example",
		"x@b.c" };
	static const char *const bad[] = { "no-at-sign", "@example.jp", "a@", "a@@b.example",
		"a@b@c.example", ".a@b.example", "a.@b.example", "a..b@c.example", "a b@c.example",
		"a@localhost", "a@-b.example", "\xe5\xb1\xb1@b.example", "a\"b@c.example" };
	sg_profile p;
	proto_issue r;
	sg_leaf leaf;
	char why[256], local65[80];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(sg_email_addr(good[i]));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (sg_email_addr(bad[i]))
			fail_msg("'%s' accepted as an e-mail address", bad[i]);
	memset(local65, 'a', 65);
	snprintf(local65 + 65, sizeof(local65) - 65, "@b.example");
	assert_false(sg_email_addr(local65));
	profile_init(&p);
	p.email = 1;
	request_init(&r);
	expect(&p, &r, IK_ERR_POLICY_SUBJECT, "profile client: CN must be an e-mail address");
	snprintf(r.attrs[0].value, sizeof(r.attrs[0].value), "ra@inkan.example.jp");
	assert_int_equal(sg_profile_check(&p, &r, NOW, CA_NOT_AFTER, &leaf, why, sizeof(why)),
	    IK_OK);
}

static void test_key_refused(void **state)
{
	sg_profile p;
	proto_issue r;

	(void)state;
	profile_init(&p);
	p.key_types = SG_KEY_RSA;
	request_init(&r);
	expect(&p, &r, IK_ERR_POLICY_KEY, "EC curve prime256v1 not allowed by profile client");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_profile_and_flags),
		cmocka_unit_test(test_validity),
		cmocka_unit_test(test_subject),
		cmocka_unit_test(test_key_refused),
		cmocka_unit_test(test_email_profile),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
