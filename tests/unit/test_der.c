/* Unit tests for common/der.c: writer/reader round trips, every length form, refusal of
 * every malformed length, UTCTime/GeneralizedTime around 2049/2050, strict time parsing. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "der.h"

static void check_bytes(const ik_buf *b, const uint8_t *want, size_t n)
{
	assert_int_equal(ik_buf_remaining(b), n);
	assert_memory_equal(ik_buf_ptr(b), want, n);
}

static void test_put_len_forms(void **state)
{
	static const struct {
		size_t n;
		uint8_t enc[6];
		size_t k;
	} cases[] = {
		{ 0, { 0x00 }, 1 }, { 0x7f, { 0x7f }, 1 }, { 0x80, { 0x81, 0x80 }, 2 },
		{ 0xff, { 0x81, 0xff }, 2 }, { 0x100, { 0x82, 0x01, 0x00 }, 3 },
		{ 0xffff, { 0x82, 0xff, 0xff }, 3 }, { 0x10000, { 0x83, 0x01, 0x00, 0x00 }, 4 },
		{ 0x1000000, { 0x84, 0x01, 0x00, 0x00, 0x00 }, 5 },
	};
	ik_buf b;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ik_buf_init(&b, 0);
		assert_int_equal(der_put_len(&b, cases[i].n), IK_OK);
		check_bytes(&b, cases[i].enc, cases[i].k);
		assert_int_equal(der_tlv_size(cases[i].n), 1 + cases[i].k + cases[i].n);
		ik_buf_cleanup(&b);
	}
}

/* der_begin/der_end for contents of several sizes: the length must be minimal and the
 * contents moved down intact; the reader must give them back. */
static void test_begin_end_roundtrip(void **state)
{
	static const size_t sizes[] = { 0, 1, 0x7f, 0x80, 0xff, 0x100, 0x1234, 0x10000 };
	uint8_t *data;
	ik_buf b, r;

	(void)state;
	data = test_malloc(0x10000);
	for (size_t i = 0; i < 0x10000; i++)
		data[i] = (uint8_t)(i * 7 + 3);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t m, n;
		const uint8_t *v;
		uint8_t tag;

		ik_buf_init(&b, 0);
		assert_int_equal(ik_buf_put_u8(&b, 0xee), IK_OK); /* something before */
		assert_int_equal(der_begin(&b, DER_SEQUENCE, &m), IK_OK);
		assert_int_equal(m, 1);
		assert_int_equal(ik_buf_put(&b, data, sizes[i]), IK_OK);
		assert_int_equal(der_end(&b, m), IK_OK);
		assert_int_equal(b.len, 1 + der_tlv_size(sizes[i]));
		ik_buf_view(&r, b.data + 1, b.len - 1);
		assert_int_equal(der_get_tlv(&r, &tag, &v, &n), IK_OK);
		assert_int_equal(tag, DER_SEQUENCE);
		assert_int_equal(n, sizes[i]);
		if (n > 0)
			assert_memory_equal(v, data, n);
		assert_int_equal(ik_buf_remaining(&r), 0);
		ik_buf_cleanup(&b);
	}
	test_free(data);
}

static void test_nested(void **state)
{
	static const uint8_t want[] = { 0x30, 0x08, 0x31, 0x03, 0x02, 0x01, 0x05, 0x04, 0x01, 0xaa };
	static const uint8_t aa = 0xaa;
	ik_buf b;
	size_t m1, m2;

	(void)state;
	ik_buf_init(&b, 0);
	assert_int_equal(der_begin(&b, DER_SEQUENCE, &m1), IK_OK);
	assert_int_equal(der_begin(&b, DER_SET, &m2), IK_OK);
	assert_int_equal(der_put_u64(&b, 5), IK_OK);
	assert_int_equal(der_end(&b, m2), IK_OK);
	assert_int_equal(der_put_tlv(&b, DER_OCTET_STRING, &aa, 1), IK_OK);
	assert_int_equal(der_end(&b, m1), IK_OK);
	check_bytes(&b, want, sizeof(want));
	/* a bad mark is refused */
	assert_int_equal(der_end(&b, b.len), IK_ERR_ARG);
	/* multi-byte tag numbers are refused by the writer */
	assert_int_equal(der_put_tlv(&b, 0x1f, &aa, 1), IK_ERR_ARG);
	ik_buf_cleanup(&b);
}

static void test_put_uint(void **state)
{
	static const struct {
		uint8_t in[4];
		size_t n;
		uint8_t out[7];
		size_t k;
	} cases[] = {
		{ { 0 }, 0, { 0x02, 0x01, 0x00 }, 3 },
		{ { 0, 0, 0 }, 3, { 0x02, 0x01, 0x00 }, 3 },
		{ { 0x7f }, 1, { 0x02, 0x01, 0x7f }, 3 },
		{ { 0x80 }, 1, { 0x02, 0x02, 0x00, 0x80 }, 4 },
		{ { 0, 0, 0x80, 0x01 }, 4, { 0x02, 0x03, 0x00, 0x80, 0x01 }, 5 },
		{ { 0, 0x01, 0x00 }, 3, { 0x02, 0x02, 0x01, 0x00 }, 4 },
		{ { 0xff, 0xff, 0xff, 0xff }, 4, { 0x02, 0x05, 0x00, 0xff, 0xff, 0xff, 0xff }, 7 },
	};
	ik_buf b;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ik_buf_init(&b, 0);
		assert_int_equal(der_put_uint(&b, cases[i].in, cases[i].n), IK_OK);
		check_bytes(&b, cases[i].out, cases[i].k);
		ik_buf_cleanup(&b);
	}
	ik_buf_init(&b, 0);
	assert_int_equal(der_put_u64(&b, 0), IK_OK);
	assert_int_equal(der_put_u64(&b, 65537), IK_OK);
	assert_int_equal(der_put_u64(&b, UINT64_MAX), IK_OK);
	{
		static const uint8_t want[] = { 0x02, 0x01, 0x00, 0x02, 0x03, 0x01, 0x00, 0x01,
			0x02, 0x09, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
		check_bytes(&b, want, sizeof(want));
	}
	ik_buf_cleanup(&b);
}

static void expect_refused(const uint8_t *p, size_t n, ik_status want)
{
	ik_buf r;
	const uint8_t *v = NULL;
	size_t len = 0;
	uint8_t tag = 0;

	ik_buf_view(&r, p, n);
	assert_int_equal(der_get_tlv(&r, &tag, &v, &len), want);
	assert_int_equal(r.off, 0); /* cursor did not move */
}

static void test_get_malformed(void **state)
{
	static const uint8_t indefinite[] = { 0x30, 0x80, 0x00, 0x00 };
	static const uint8_t long_short[] = { 0x04, 0x81, 0x05, 1, 2, 3, 4, 5 };
	static const uint8_t lead_zero[] = { 0x04, 0x82, 0x00, 0x81, 0 };
	static const uint8_t too_long[] = { 0x04, 0x85, 0x01, 0, 0, 0, 0 };
	static const uint8_t reserved[] = { 0x04, 0xff, 0 };
	static const uint8_t past_end[] = { 0x04, 0x03, 1, 2 };
	static const uint8_t past_end_long[] = { 0x04, 0x81, 0x80, 1, 2 };
	static const uint8_t multi_tag[] = { 0x1f, 0x81, 0x01, 0x00 };
	static const uint8_t no_len[] = { 0x04 };
	static const uint8_t cut_len[] = { 0x04, 0x82, 0x01 };

	(void)state;
	expect_refused(indefinite, sizeof(indefinite), IK_ERR_PROTO_FIELD);
	expect_refused(long_short, sizeof(long_short), IK_ERR_PROTO_FIELD);
	expect_refused(lead_zero, sizeof(lead_zero), IK_ERR_PROTO_FIELD);
	expect_refused(too_long, sizeof(too_long), IK_ERR_PROTO_FIELD);
	expect_refused(reserved, sizeof(reserved), IK_ERR_PROTO_FIELD);
	expect_refused(past_end, sizeof(past_end), IK_ERR_PROTO_TRUNCATED);
	expect_refused(past_end_long, sizeof(past_end_long), IK_ERR_PROTO_TRUNCATED);
	expect_refused(multi_tag, sizeof(multi_tag), IK_ERR_PROTO_FIELD);
	expect_refused(no_len, sizeof(no_len), IK_ERR_PROTO_TRUNCATED);
	expect_refused(cut_len, sizeof(cut_len), IK_ERR_PROTO_TRUNCATED);
	expect_refused(NULL, 0, IK_ERR_PROTO_TRUNCATED);
}

static void test_get_expect(void **state)
{
	static const uint8_t two[] = { 0x02, 0x01, 0x07, 0x05, 0x00 };
	ik_buf r;
	const uint8_t *v;
	size_t n;

	(void)state;
	ik_buf_view(&r, two, sizeof(two));
	assert_int_equal(der_get_expect(&r, DER_NULL, &v, &n), IK_ERR_PROTO_FIELD);
	assert_int_equal(r.off, 0);
	assert_int_equal(der_get_expect(&r, DER_INTEGER, &v, &n), IK_OK);
	assert_int_equal(n, 1);
	assert_int_equal(v[0], 7);
	assert_int_equal(der_get_expect(&r, DER_NULL, &v, &n), IK_OK);
	assert_int_equal(n, 0);
	assert_int_equal(ik_buf_remaining(&r), 0);
	assert_int_equal(der_get_expect(&r, DER_NULL, &v, &n), IK_ERR_PROTO_TRUNCATED);
}

static void time_is(int64_t t, uint8_t tag, const char *text)
{
	ik_buf b, r;
	const uint8_t *v;
	size_t n;
	uint8_t got;
	int64_t back;

	ik_buf_init(&b, 0);
	assert_int_equal(der_put_time(&b, t), IK_OK);
	ik_buf_view(&r, b.data, b.len);
	assert_int_equal(der_get_tlv(&r, &got, &v, &n), IK_OK);
	assert_int_equal(got, tag);
	assert_int_equal(n, strlen(text));
	assert_memory_equal(v, text, n);
	assert_int_equal(der_parse_time(got, v, n, &back), IK_OK);
	assert_int_equal(back, t);
	ik_buf_cleanup(&b);
}

static void test_time_write(void **state)
{
	ik_buf b;

	(void)state;
	time_is(0, DER_UTCTIME, "700101000000Z");
	time_is(951782400, DER_UTCTIME, "000229000000Z");           /* leap day 2000 */
	time_is(1700000000, DER_UTCTIME, "231114221320Z");
	time_is(2524607999, DER_UTCTIME, "491231235959Z");          /* last UTCTime second */
	time_is(2524608000, DER_GENERALIZEDTIME, "20500101000000Z"); /* first GeneralizedTime */
	time_is(4107542400, DER_GENERALIZEDTIME, "21000301000000Z"); /* 2100 is not leap */
	time_is(INT64_C(253402300799), DER_GENERALIZEDTIME, "99991231235959Z");
	ik_buf_init(&b, 0);
	assert_int_equal(der_put_time(&b, -1), IK_ERR_ARG);
	assert_int_equal(der_put_time(&b, INT64_C(253402300800)), IK_ERR_ARG);
	assert_int_equal(b.len, 0);
	ik_buf_cleanup(&b);
}

static ik_status parse(uint8_t tag, const char *s, int64_t *t)
{
	return der_parse_time(tag, (const uint8_t *)s, strlen(s), t);
}

static void test_time_parse(void **state)
{
	static const char *const bad_utc[] = {
		"491231235959",    /* no Z */
		"4912312359590Z",  /* too long */
		"491231235959+0100",
		"4912312359.9Z",   /* fraction */
		"49123123595aZ", "-91231235959Z", " 91231235959Z",
		"491331235959Z",   /* month 13 */
		"490001235959Z",   /* month 0 */
		"490100235959Z",   /* day 0 */
		"490230000000Z",   /* Feb 30 */
		"010229000000Z",   /* 2001 not leap */
		"491231245959Z", "491231236059Z", "491231235960Z", /* 24h, 60 min, leap second */
		"4912312359Z",     /* no seconds */
	};
	int64_t t;

	(void)state;
	for (size_t i = 0; i < sizeof(bad_utc) / sizeof(bad_utc[0]); i++)
		assert_int_equal(parse(DER_UTCTIME, bad_utc[i], &t), IK_ERR_PROTO_FIELD);
	assert_int_equal(parse(DER_GENERALIZEDTIME, "20500101000000", &t), IK_ERR_PROTO_FIELD);
	assert_int_equal(parse(DER_GENERALIZEDTIME, "20500101000000.5Z", &t), IK_ERR_PROTO_FIELD);
	assert_int_equal(parse(DER_GENERALIZEDTIME, "205001010000Z", &t), IK_ERR_PROTO_FIELD);
	assert_int_equal(parse(DER_GENERALIZEDTIME, "21000229000000Z", &t), IK_ERR_PROTO_FIELD);
	assert_int_equal(parse(DER_UTCTIME, "20500101000000Z", &t), IK_ERR_PROTO_FIELD);
	assert_int_equal(parse(DER_GENERALIZEDTIME, "500101000000Z", &t), IK_ERR_PROTO_FIELD);
	assert_int_equal(parse(DER_OCTET_STRING, "500101000000Z", &t), IK_ERR_PROTO_FIELD);
	/* UTCTime 50..99 is 19xx, 00..49 is 20xx */
	assert_int_equal(parse(DER_UTCTIME, "500101000000Z", &t), IK_OK);
	assert_int_equal(t, INT64_C(-631152000));
	assert_int_equal(parse(DER_UTCTIME, "491231235959Z", &t), IK_OK);
	assert_int_equal(t, INT64_C(2524607999));
	assert_int_equal(parse(DER_GENERALIZEDTIME, "20000229120000Z", &t), IK_OK);
	assert_int_equal(t, INT64_C(951825600));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_put_len_forms),
		cmocka_unit_test(test_begin_end_roundtrip),
		cmocka_unit_test(test_nested),
		cmocka_unit_test(test_put_uint),
		cmocka_unit_test(test_get_malformed),
		cmocka_unit_test(test_get_expect),
		cmocka_unit_test(test_time_write),
		cmocka_unit_test(test_time_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
