/* Unit tests for common/buf.c: growth and the hard cap, big-endian put/get, reads past the
 * end that fail without moving the cursor, length-prefixed strings, views, secret wiping
 * and the checked size arithmetic. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "buf.h"

static void check_bytes(const ik_buf *b, const uint8_t *want, size_t n)
{
	assert_int_equal(ik_buf_remaining(b), n);
	assert_memory_equal(ik_buf_ptr(b), want, n);
}

static void test_new_free(void **state)
{
	ik_buf *b = ik_buf_new(0);

	(void)state;
	assert_non_null(b);
	assert_int_equal(ik_buf_remaining(b), 0);
	assert_non_null(ik_buf_ptr(b)); /* an empty buffer still gives a readable pointer */
	assert_int_equal(ik_buf_put_u32(b, 7), IK_OK);
	ik_buf_free(b);
	ik_buf_free(NULL); /* accepted */
	ik_buf_cleanup(NULL);
}

/* Many small puts across several doublings: every byte survives every reallocation. */
static void test_growth_keeps_contents(void **state)
{
	ik_buf b;
	size_t last_cap = 0, grows = 0;

	(void)state;
	ik_buf_init(&b, 0);
	for (size_t i = 0; i < 10000; i++) {
		assert_int_equal(ik_buf_put_u8(&b, (uint8_t)(i * 31 + 7)), IK_OK);
		assert_true(b.cap >= b.len);
		if (b.cap != last_cap) {
			grows++;
			last_cap = b.cap;
		}
	}
	assert_int_equal(b.len, 10000);
	assert_true(grows >= 3 && grows <= 8); /* geometric, not one per put */
	for (size_t i = 0; i < 10000; i++)
		assert_int_equal(b.data[i], (uint8_t)(i * 31 + 7));
	ik_buf_cleanup(&b);
	assert_null(b.data);
	assert_int_equal(b.cap, 0);
}

static void test_max_is_hard(void **state)
{
	uint8_t chunk[100];
	uint8_t *p;
	ik_buf b;

	(void)state;
	memset(chunk, 0xab, sizeof(chunk));
	ik_buf_init(&b, 300);
	assert_int_equal(ik_buf_put(&b, chunk, 100), IK_OK);
	assert_int_equal(ik_buf_put(&b, chunk, 100), IK_OK);
	assert_int_equal(ik_buf_put(&b, chunk, 100), IK_OK);
	assert_int_equal(b.len, 300);
	assert_true(b.cap <= 300); /* growth is clamped to the cap */
	/* one byte more is refused and changes nothing */
	assert_int_equal(ik_buf_put_u8(&b, 1), IK_ERR_PROTO_OVERSIZE);
	assert_int_equal(ik_buf_put_u32(&b, 1), IK_ERR_PROTO_OVERSIZE);
	assert_int_equal(ik_buf_put_string(&b, "", 0), IK_ERR_PROTO_OVERSIZE);
	assert_int_equal(ik_buf_reserve(&b, 1, &p), IK_ERR_PROTO_OVERSIZE);
	assert_int_equal(b.len, 300);
	/* an empty put at the cap is fine */
	assert_int_equal(ik_buf_put(&b, chunk, 0), IK_OK);
	ik_buf_cleanup(&b);

	/* a single put larger than the cap fails on an empty buffer too */
	ik_buf_init(&b, 16);
	assert_int_equal(ik_buf_put(&b, chunk, 17), IK_ERR_PROTO_OVERSIZE);
	assert_int_equal(b.len, 0);
	assert_int_equal(ik_buf_put(&b, chunk, 16), IK_OK);
	ik_buf_cleanup(&b);
}

static void test_reserve(void **state)
{
	uint8_t *p = NULL;
	ik_buf b;

	(void)state;
	ik_buf_init(&b, 0);
	assert_int_equal(ik_buf_reserve(&b, 0, &p), IK_OK); /* nothing yet, nothing asked */
	assert_int_equal(b.len, 0);
	assert_int_equal(ik_buf_reserve(&b, 5, &p), IK_OK);
	memcpy(p, "hello", 5);
	assert_int_equal(ik_buf_reserve(&b, 3, &p), IK_OK);
	memcpy(p, "abc", 3);
	check_bytes(&b, (const uint8_t *)"helloabc", 8);
	/* len + n overflowing size_t is refused, not wrapped */
	assert_int_equal(ik_buf_reserve(&b, SIZE_MAX, &p), IK_ERR_PROTO_OVERSIZE);
	assert_int_equal(ik_buf_reserve(&b, SIZE_MAX - 7, &p), IK_ERR_PROTO_OVERSIZE);
	assert_int_equal(b.len, 8);
	ik_buf_cleanup(&b);
}

static void test_put_big_endian(void **state)
{
	static const uint8_t want[] = {
		0x5a,
		0x12, 0x34,
		0xde, 0xad, 0xbe, 0xef,
		0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
		0x00, 0x00, 0x00, 0x03, 'a', 'b', 'c',
		0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x02, 'h', 'i',
	};
	ik_buf b;

	(void)state;
	ik_buf_init(&b, 0);
	assert_int_equal(ik_buf_put_u8(&b, 0x5a), IK_OK);
	assert_int_equal(ik_buf_put_u16(&b, 0x1234), IK_OK);
	assert_int_equal(ik_buf_put_u32(&b, 0xdeadbeefu), IK_OK);
	assert_int_equal(ik_buf_put_u64(&b, 0x0102030405060708ull), IK_OK);
	assert_int_equal(ik_buf_put_string(&b, "abc", 3), IK_OK);
	assert_int_equal(ik_buf_put_string(&b, NULL, 0), IK_OK);
	assert_int_equal(ik_buf_put_cstring(&b, "hi"), IK_OK);
	check_bytes(&b, want, sizeof(want));
	ik_buf_cleanup(&b);
}

static void test_put_string_too_long(void **state)
{
	static const uint8_t one = 1;
	ik_buf b;

	(void)state;
	ik_buf_init(&b, 0);
	/* refused on the length alone: the pointer is never read */
	if (SIZE_MAX > UINT32_MAX)
		assert_int_equal(ik_buf_put_string(&b, &one, (size_t)UINT32_MAX + 1), IK_ERR_PROTO_OVERSIZE);
	assert_int_equal(ik_buf_put_string(&b, &one, SIZE_MAX), IK_ERR_PROTO_OVERSIZE);
	assert_int_equal(ik_buf_put_string(&b, &one, SIZE_MAX - 3), IK_ERR_PROTO_OVERSIZE);
	assert_int_equal(b.len, 0);
	ik_buf_cleanup(&b);
}

static void test_get_round_trip(void **state)
{
	ik_buf b;
	uint8_t u8, raw[3];
	uint16_t u16;
	uint32_t u32;
	uint64_t u64;
	const uint8_t *p;
	size_t n;
	char s[8];

	(void)state;
	ik_buf_init(&b, 0);
	assert_int_equal(ik_buf_put_u8(&b, 0xff), IK_OK);
	assert_int_equal(ik_buf_put_u16(&b, 0xfffe), IK_OK);
	assert_int_equal(ik_buf_put_u32(&b, 0x80000001u), IK_OK);
	assert_int_equal(ik_buf_put_u64(&b, 0xfedcba9876543210ull), IK_OK);
	assert_int_equal(ik_buf_put_string(&b, "xyz", 3), IK_OK);
	assert_int_equal(ik_buf_put_cstring(&b, "seven!!"), IK_OK);
	assert_int_equal(ik_buf_put(&b, "RAW", 3), IK_OK);
	assert_int_equal(ik_buf_put_u8(&b, 9), IK_OK);

	assert_int_equal(ik_buf_get_u8(&b, &u8), IK_OK);
	assert_int_equal(u8, 0xff);
	assert_int_equal(ik_buf_get_u16(&b, &u16), IK_OK);
	assert_int_equal(u16, 0xfffe);
	assert_int_equal(ik_buf_get_u32(&b, &u32), IK_OK);
	assert_int_equal(u32, 0x80000001u);
	assert_int_equal(ik_buf_get_u64(&b, &u64), IK_OK);
	assert_true(u64 == 0xfedcba9876543210ull);
	assert_int_equal(ik_buf_get_string_ptr(&b, &p, &n, 3), IK_OK);
	assert_int_equal(n, 3);
	assert_memory_equal(p, "xyz", 3);
	assert_ptr_equal(p, b.data + 1 + 2 + 4 + 8 + 4); /* points into the buffer: no copy */
	assert_int_equal(ik_buf_get_cstring(&b, s, sizeof(s)), IK_OK);
	assert_string_equal(s, "seven!!");
	assert_int_equal(ik_buf_get(&b, raw, 3), IK_OK);
	assert_memory_equal(raw, "RAW", 3);
	assert_int_equal(ik_buf_skip(&b, 1), IK_OK);
	assert_int_equal(ik_buf_remaining(&b), 0);
	ik_buf_cleanup(&b);
}

/* Every get on too few bytes fails with TRUNCATED and leaves the cursor where it was. */
static void test_read_past_end(void **state)
{
	static const uint8_t data[7] = { 1, 2, 3, 4, 5, 6, 7 };
	ik_buf b;
	uint8_t u8, raw[8];
	uint16_t u16;
	uint32_t u32;
	uint64_t u64;

	(void)state;
	ik_buf_view(&b, data, sizeof(data));
	assert_int_equal(ik_buf_get_u64(&b, &u64), IK_ERR_PROTO_TRUNCATED);
	assert_int_equal(ik_buf_remaining(&b), 7);
	assert_int_equal(ik_buf_get(&b, raw, 8), IK_ERR_PROTO_TRUNCATED);
	assert_int_equal(ik_buf_skip(&b, 8), IK_ERR_PROTO_TRUNCATED);
	assert_int_equal(ik_buf_remaining(&b), 7);
	assert_int_equal(ik_buf_get_u32(&b, &u32), IK_OK);
	assert_int_equal(u32, 0x01020304u);
	assert_int_equal(ik_buf_get_u32(&b, &u32), IK_ERR_PROTO_TRUNCATED);
	assert_int_equal(ik_buf_get_u16(&b, &u16), IK_OK);
	assert_int_equal(u16, 0x0506);
	assert_int_equal(ik_buf_get_u16(&b, &u16), IK_ERR_PROTO_TRUNCATED);
	assert_int_equal(ik_buf_get_u8(&b, &u8), IK_OK);
	assert_int_equal(u8, 7);
	assert_int_equal(ik_buf_get_u8(&b, &u8), IK_ERR_PROTO_TRUNCATED);
	assert_int_equal(ik_buf_skip(&b, 1), IK_ERR_PROTO_TRUNCATED);
	assert_int_equal(ik_buf_skip(&b, SIZE_MAX), IK_ERR_PROTO_TRUNCATED);
	assert_int_equal(ik_buf_get(&b, raw, 0), IK_OK); /* nothing asked, nothing read */
	assert_int_equal(ik_buf_remaining(&b), 0);
	assert_int_equal(b.off, 7);

	/* an empty view */
	ik_buf_view(&b, NULL, 0);
	assert_int_equal(ik_buf_get_u8(&b, &u8), IK_ERR_PROTO_TRUNCATED);
	assert_int_equal(ik_buf_remaining(&b), 0);
}

static void test_string_ptr_limits(void **state)
{
	/* length 5, but only 4 bytes follow */
	static const uint8_t short_body[] = { 0, 0, 0, 5, 'a', 'b', 'c', 'd' };
	/* length 0xffffffff */
	static const uint8_t huge[] = { 0xff, 0xff, 0xff, 0xff, 'a' };
	/* a length prefix cut short */
	static const uint8_t cut[] = { 0, 0, 0 };
	static const uint8_t ok4[] = { 0, 0, 0, 4, 'a', 'b', 'c', 'd' };
	const uint8_t *p = NULL;
	size_t n = 99;
	ik_buf b;

	(void)state;
	ik_buf_view(&b, short_body, sizeof(short_body));
	assert_int_equal(ik_buf_get_string_ptr(&b, &p, &n, 100), IK_ERR_PROTO_TRUNCATED);
	assert_int_equal(b.off, 0);
	/* over the limit is FIELD, and the limit is checked before the remaining length */
	assert_int_equal(ik_buf_get_string_ptr(&b, &p, &n, 4), IK_ERR_PROTO_FIELD);
	assert_int_equal(b.off, 0);
	assert_null(p);
	assert_int_equal(n, 99);

	ik_buf_view(&b, huge, sizeof(huge));
	assert_int_equal(ik_buf_get_string_ptr(&b, &p, &n, SIZE_MAX), IK_ERR_PROTO_TRUNCATED);
	assert_int_equal(ik_buf_get_string_ptr(&b, &p, &n, 1), IK_ERR_PROTO_FIELD);
	assert_int_equal(b.off, 0);

	ik_buf_view(&b, cut, sizeof(cut));
	assert_int_equal(ik_buf_get_string_ptr(&b, &p, &n, 100), IK_ERR_PROTO_TRUNCATED);
	assert_int_equal(b.off, 0);

	/* exactly at the limit */
	ik_buf_view(&b, ok4, sizeof(ok4));
	assert_int_equal(ik_buf_get_string_ptr(&b, &p, &n, 4), IK_OK);
	assert_int_equal(n, 4);
	assert_ptr_equal(p, ok4 + 4);
	assert_int_equal(ik_buf_remaining(&b), 0);
}

static void test_get_cstring(void **state)
{
	static const uint8_t nul[] = { 0, 0, 0, 3, 'a', 0, 'b' };
	static const uint8_t five[] = { 0, 0, 0, 5, 'h', 'e', 'l', 'l', 'o' };
	static const uint8_t empty[] = { 0, 0, 0, 0 };
	char out[6];
	ik_buf b;

	(void)state;
	ik_buf_view(&b, nul, sizeof(nul));
	assert_int_equal(ik_buf_get_cstring(&b, out, sizeof(out)), IK_ERR_PROTO_FIELD);
	assert_int_equal(b.off, 0); /* embedded NUL: refused, cursor back */

	ik_buf_view(&b, five, sizeof(five));
	assert_int_equal(ik_buf_get_cstring(&b, out, 5), IK_ERR_PROTO_FIELD); /* no room for NUL */
	assert_int_equal(b.off, 0);
	assert_int_equal(ik_buf_get_cstring(&b, out, 0), IK_ERR_ARG);
	assert_int_equal(ik_buf_get_cstring(&b, out, 6), IK_OK);
	assert_string_equal(out, "hello");

	ik_buf_view(&b, empty, sizeof(empty));
	out[0] = 'x';
	assert_int_equal(ik_buf_get_cstring(&b, out, 1), IK_OK);
	assert_string_equal(out, "");
}

static void test_view_is_read_only(void **state)
{
	uint8_t data[4] = { 9, 8, 7, 6 };
	uint8_t *p;
	uint32_t v;
	ik_buf b;

	(void)state;
	ik_buf_view(&b, data, sizeof(data));
	assert_int_equal(ik_buf_put_u8(&b, 1), IK_ERR_ARG);
	assert_int_equal(ik_buf_put(&b, data, 0), IK_ERR_ARG);
	assert_int_equal(ik_buf_put_string(&b, "a", 1), IK_ERR_ARG);
	assert_int_equal(ik_buf_reserve(&b, 1, &p), IK_ERR_ARG);
	assert_int_equal(ik_buf_get_u32(&b, &v), IK_OK);
	assert_int_equal(v, 0x09080706u);
	/* reset rewinds a view; it keeps its bytes */
	ik_buf_reset(&b);
	assert_int_equal(ik_buf_remaining(&b), 4);
	assert_int_equal(ik_buf_get_u32(&b, &v), IK_OK);
	assert_int_equal(v, 0x09080706u);
	/* cleanup does not free memory it does not own (ASan would catch a free of 'data') */
	ik_buf_cleanup(&b);
	assert_memory_equal(data, "\x09\x08\x07\x06", 4);
}

static void test_reset_keeps_capacity(void **state)
{
	ik_buf b;
	size_t cap;
	uint8_t u8;

	(void)state;
	ik_buf_init(&b, 0);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(ik_buf_put_u8(&b, 1), IK_OK);
	assert_int_equal(ik_buf_get_u8(&b, &u8), IK_OK);
	cap = b.cap;
	ik_buf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.off, 0);
	assert_int_equal(b.cap, cap);
	assert_int_equal(ik_buf_get_u8(&b, &u8), IK_ERR_PROTO_TRUNCATED);
	assert_int_equal(ik_buf_put_u8(&b, 2), IK_OK);
	assert_int_equal(ik_buf_get_u8(&b, &u8), IK_OK);
	assert_int_equal(u8, 2);
	ik_buf_cleanup(&b);
}

static void test_secret_wiped(void **state)
{
	static const char pin[] = "correct horse battery";
	const size_t n = sizeof(pin) - 1;
	ik_buf b;

	(void)state;
	ik_buf_init(&b, 0);
	ik_buf_set_secret(&b);
	assert_int_equal(ik_buf_put(&b, pin, n), IK_OK);
	/* growing a secret buffer moves it intact */
	for (int i = 0; i < 600; i++)
		assert_int_equal(ik_buf_put_u8(&b, 'x'), IK_OK);
	assert_true(b.cap > 256);
	assert_memory_equal(b.data, pin, n);
	ik_buf_reset(&b);
	/* the storage is kept but the bytes are gone */
	assert_non_null(b.data);
	for (size_t i = 0; i < n + 600; i++)
		assert_int_equal(b.data[i], 0);
	ik_buf_cleanup(&b);

	/* an ordinary buffer is not wiped on reset (only len moves) */
	ik_buf_init(&b, 0);
	assert_int_equal(ik_buf_put(&b, "abc", 3), IK_OK);
	ik_buf_reset(&b);
	assert_memory_equal(b.data, "abc", 3);
	ik_buf_cleanup(&b);
}

static void test_size_arith(void **state)
{
	size_t r = 123;

	(void)state;
	assert_int_equal(ik_size_add(1, 2, &r), 0);
	assert_int_equal(r, 3);
	assert_int_equal(ik_size_add(SIZE_MAX - 1, 1, &r), 0);
	assert_true(r == SIZE_MAX);
	r = 5;
	assert_int_equal(ik_size_add(SIZE_MAX, 1, &r), -1);
	assert_int_equal(ik_size_add(1, SIZE_MAX, &r), -1);
	assert_int_equal(r, 5); /* untouched on overflow */
	assert_int_equal(ik_size_mul(0, SIZE_MAX, &r), 0);
	assert_int_equal(r, 0);
	assert_int_equal(ik_size_mul(SIZE_MAX, 0, &r), 0);
	assert_int_equal(r, 0);
	assert_int_equal(ik_size_mul(SIZE_MAX / 2, 2, &r), 0);
	assert_true(r == SIZE_MAX - 1);
	r = 7;
	assert_int_equal(ik_size_mul(SIZE_MAX / 2 + 1, 2, &r), -1);
	assert_int_equal(ik_size_mul((size_t)1 << (sizeof(size_t) * 4), (size_t)1 << (sizeof(size_t) * 4), &r), -1);
	assert_int_equal(r, 7);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_free),
		cmocka_unit_test(test_growth_keeps_contents),
		cmocka_unit_test(test_max_is_hard),
		cmocka_unit_test(test_reserve),
		cmocka_unit_test(test_put_big_endian),
		cmocka_unit_test(test_put_string_too_long),
		cmocka_unit_test(test_get_round_trip),
		cmocka_unit_test(test_read_past_end),
		cmocka_unit_test(test_string_ptr_limits),
		cmocka_unit_test(test_get_cstring),
		cmocka_unit_test(test_view_is_read_only),
		cmocka_unit_test(test_reset_keeps_capacity),
		cmocka_unit_test(test_secret_wiped),
		cmocka_unit_test(test_size_arith),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
