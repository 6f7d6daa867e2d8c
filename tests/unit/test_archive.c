/* Unit tests for admin/archive.c: entries survive a write/read round trip; a wrong passphrase
 * is told apart from an altered archive (header, body, tag, truncation); header fields out of
 * range are refused before any key is derived; paths with "." / ".." / empty components and
 * short passphrases are refused when writing; malformed records are refused when reading. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "archive.h"

#define PASS "unit test passphrase"
#define COST 10 /* scrypt 2^10: fast, the format is the same */

static const uint8_t file_data[] = "issuing-ca.pem contents\n";

/* An archive of three entries, read back into memory. */
static uint8_t *make_archive(size_t *len)
{
	FILE *f = tmpfile();
	ad_writer *w = NULL;
	ad_entry e;
	uint8_t *data;
	long n;

	assert_non_null(f);
	assert_int_equal(ad_writer_new(fileno(f), PASS, COST, &w), IK_OK);
	memset(&e, 0, sizeof(e));
	e.type = AD_DIR;
	snprintf(e.path, sizeof(e.path), "%s", "/var/lib/inkan/signer");
	snprintf(e.owner, sizeof(e.owner), "%s", "inkan-signer");
	snprintf(e.group, sizeof(e.group), "%s", "inkan-signer");
	e.mode = 0700;
	e.uid = e.gid = 998;
	assert_int_equal(ad_writer_put(w, &e), IK_OK);
	e.type = AD_FILE;
	snprintf(e.path, sizeof(e.path), "%s", "/var/lib/inkan/signer/ca/issuing-ca.pem");
	e.mode = 0644;
	e.data = file_data;
	e.size = sizeof(file_data);
	assert_int_equal(ad_writer_put(w, &e), IK_OK);
	e.type = AD_SQLITE;
	snprintf(e.path, sizeof(e.path), "%s", "/var/lib/inkan/signer/ledger.sqlite");
	e.owner[0] = e.group[0] = '\0';
	e.mode = 0600;
	e.data = NULL;
	e.size = 0;
	assert_int_equal(ad_writer_put(w, &e), IK_OK);
	assert_int_equal(ad_writer_finish(w), IK_OK);
	ad_writer_free(w);
	fflush(f);
	n = ftell(f);
	assert_true(n > AD_HEADER_LEN + AD_VERIFIER_LEN + AD_TAG_LEN);
	data = malloc((size_t)n);
	assert_non_null(data);
	rewind(f);
	assert_int_equal(fread(data, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return data;
}

static ik_status open_with(const uint8_t *data, size_t len, const char *pass, char *why)
{
	ik_buf plain;
	ik_status st;

	ik_buf_init(&plain, 0);
	st = ad_archive_open(data, len, pass, &plain, why, 256);
	ik_buf_cleanup(&plain);
	return st;
}

static void test_round_trip(void **state)
{
	size_t len;
	uint8_t *data = make_archive(&len);
	ik_buf plain;
	ad_entry e;
	uint32_t count = 0;
	char why[256];

	(void)state;
	ik_buf_init(&plain, 0);
	assert_int_equal(ad_archive_open(data, len, PASS, &plain, why, sizeof(why)), IK_OK);
	assert_memory_equal(data, AD_MAGIC, 8);
	assert_int_equal(ad_entry_next(&plain, &e, &count), IK_OK);
	assert_int_equal(e.type, AD_DIR);
	assert_string_equal(e.path, "/var/lib/inkan/signer");
	assert_string_equal(e.owner, "inkan-signer");
	assert_int_equal(e.mode, 0700);
	assert_int_equal(e.uid, 998);
	assert_int_equal(e.size, 0);
	assert_int_equal(ad_entry_next(&plain, &e, &count), IK_OK);
	assert_int_equal(e.type, AD_FILE);
	assert_int_equal(e.size, sizeof(file_data));
	assert_memory_equal(e.data, file_data, sizeof(file_data));
	assert_int_equal(ad_entry_next(&plain, &e, &count), IK_OK);
	assert_int_equal(e.type, AD_SQLITE);
	assert_string_equal(e.owner, "");
	assert_int_equal(ad_entry_next(&plain, &e, &count), IK_OK);
	assert_int_equal(e.type, AD_END);
	assert_int_equal(count, 3);
	/* the plaintext never appears in the file */
	assert_null(memmem(data, len, "issuing-ca.pem", 14));
	ik_buf_cleanup(&plain);
	free(data);
}

static void test_wrong_passphrase(void **state)
{
	size_t len;
	uint8_t *data = make_archive(&len);
	char why[256];

	(void)state;
	assert_int_equal(open_with(data, len, PASS "x", why), IK_ERR_AUTH);
	assert_non_null(strstr(why, "wrong passphrase"));
	assert_int_equal(open_with(data, len, "", why), IK_ERR_AUTH);
	free(data);
}

static void test_every_byte_is_covered(void **state)
{
	size_t len;
	uint8_t *data = make_archive(&len);
	char why[256];

	(void)state;
	for (size_t i = 0; i < len; i++) {
		ik_status st;

		data[i] ^= 0x40;
		st = open_with(data, len, PASS, why);
		data[i] ^= 0x40;
		if (i < 8)
			assert_int_equal(st, IK_ERR_PROTO_FIELD);                /* magic */
		else if (i < 14)
			assert_true(st == IK_ERR_PROTO_VERSION || st == IK_ERR_PROTO_FIELD ||
			    st == IK_ERR_AUTH);                                   /* version, kdf, params */
		else if (i < AD_HEADER_LEN + AD_VERIFIER_LEN)
			assert_int_equal(st, IK_ERR_AUTH);                       /* salt, nonce, time, verifier */
		else
			assert_int_equal(st, IK_ERR_CRYPTO);                     /* body and tag */
	}
	assert_int_equal(open_with(data, len, PASS, why), IK_OK);
	assert_int_equal(open_with(data, len - 1, PASS, why), IK_ERR_CRYPTO);
	assert_non_null(strstr(why, "altered"));
	assert_int_equal(open_with(data, AD_HEADER_LEN, PASS, why), IK_ERR_PROTO_FIELD);
	free(data);
}

static void test_header_limits(void **state)
{
	size_t len;
	uint8_t *data = make_archive(&len);
	char why[256];

	(void)state;
	data[10] = 40; /* 2^40 scrypt: refused before anything is derived */
	assert_int_equal(open_with(data, len, PASS, why), IK_ERR_PROTO_FIELD);
	data[10] = COST;
	data[11] = 200; /* r */
	assert_int_equal(open_with(data, len, PASS, why), IK_ERR_PROTO_FIELD);
	data[11] = 8;
	data[8] = 2; /* format version */
	assert_int_equal(open_with(data, len, PASS, why), IK_ERR_PROTO_VERSION);
	free(data);
}

static void test_writer_refusals(void **state)
{
	FILE *f = tmpfile();
	ad_writer *w = NULL;
	ad_entry e;

	(void)state;
	assert_int_equal(ad_writer_new(fileno(f), "short", COST, &w), IK_ERR_ARG);
	assert_null(w);
	assert_int_equal(ad_writer_new(fileno(f), PASS, 40, &w), IK_ERR_ARG);
	assert_int_equal(ad_writer_new(fileno(f), PASS, COST, &w), IK_OK);
	memset(&e, 0, sizeof(e));
	e.type = AD_FILE;
	snprintf(e.path, sizeof(e.path), "%s", "relative/path");
	assert_int_equal(ad_writer_put(w, &e), IK_ERR_ARG);
	snprintf(e.path, sizeof(e.path), "%s", "/etc/inkan/../shadow");
	assert_int_equal(ad_writer_put(w, &e), IK_ERR_ARG);
	snprintf(e.path, sizeof(e.path), "%s", "/etc/inkan/ra.conf");
	e.type = 9;
	assert_int_equal(ad_writer_put(w, &e), IK_ERR_ARG);
	ad_writer_free(w);
	fclose(f);
}

static void test_paths(void **state)
{
	(void)state;
	assert_true(ad_path_ok("/etc/inkan/ra.conf"));
	assert_true(ad_path_ok("/a"));
	assert_true(ad_path_ok("/var/lib/inkan/..hidden"));
	assert_false(ad_path_ok("/"));
	assert_false(ad_path_ok(""));
	assert_false(ad_path_ok("etc/inkan"));
	assert_false(ad_path_ok("/etc/inkan/"));
	assert_false(ad_path_ok("/etc//inkan"));
	assert_false(ad_path_ok("/etc/./inkan"));
	assert_false(ad_path_ok("/etc/../root"));
	assert_false(ad_path_ok("/.."));
	assert_false(ad_path_ok("/etc/in\nkan"));
}

/* Records made by hand: a size past the end, bytes after the end record, a bad type. */
static void test_malformed_records(void **state)
{
	ik_buf b;
	ad_entry e;
	uint32_t count;

	(void)state;
	ik_buf_init(&b, 0);
	assert_int_equal(ik_buf_put_u8(&b, AD_FILE), IK_OK);
	assert_int_equal(ik_buf_put_cstring(&b, "/etc/x"), IK_OK);
	assert_int_equal(ik_buf_put_u32(&b, 0600), IK_OK);
	assert_int_equal(ik_buf_put_cstring(&b, ""), IK_OK);
	assert_int_equal(ik_buf_put_cstring(&b, ""), IK_OK);
	assert_int_equal(ik_buf_put_u32(&b, 0), IK_OK);
	assert_int_equal(ik_buf_put_u32(&b, 0), IK_OK);
	assert_int_equal(ik_buf_put_u64(&b, 1000), IK_OK);
	assert_int_equal(ik_buf_put(&b, "abc", 3), IK_OK);
	assert_int_equal(ad_entry_next(&b, &e, &count), IK_ERR_PROTO_TRUNCATED);

	ik_buf_reset(&b);
	assert_int_equal(ik_buf_put_u8(&b, AD_END), IK_OK);
	assert_int_equal(ik_buf_put_u32(&b, 0), IK_OK);
	assert_int_equal(ik_buf_put_u8(&b, 0), IK_OK);
	assert_int_equal(ad_entry_next(&b, &e, &count), IK_ERR_PROTO_TRAILING);

	ik_buf_reset(&b);
	assert_int_equal(ik_buf_put_u8(&b, 7), IK_OK);
	assert_int_equal(ad_entry_next(&b, &e, &count), IK_ERR_PROTO_FIELD);

	ik_buf_reset(&b);
	assert_int_equal(ik_buf_put_u8(&b, AD_DIR), IK_OK);
	assert_int_equal(ik_buf_put_cstring(&b, "/etc/../x"), IK_OK);
	assert_int_equal(ik_buf_put_u32(&b, 0700), IK_OK);
	assert_int_equal(ik_buf_put_cstring(&b, ""), IK_OK);
	assert_int_equal(ik_buf_put_cstring(&b, ""), IK_OK);
	assert_int_equal(ik_buf_put_u32(&b, 0), IK_OK);
	assert_int_equal(ik_buf_put_u32(&b, 0), IK_OK);
	assert_int_equal(ik_buf_put_u64(&b, 0), IK_OK);
	assert_int_equal(ad_entry_next(&b, &e, &count), IK_ERR_PROTO_FIELD);
	ik_buf_cleanup(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_wrong_passphrase),
		cmocka_unit_test(test_every_byte_is_covered),
		cmocka_unit_test(test_header_limits),
		cmocka_unit_test(test_writer_refusals),
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_malformed_records),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
