/* Unit tests for ra/store_sqlite_import.c on a real SQLite file: an imported certificate
 * reads back as issued (serial, dates, state, reason, SHA-256 of its DER) and is listed and
 * counted; the refusals: a missing or odd-length serial, a bad CN, no DER, dates the wrong
 * way round, a state an import cannot have, a revoked one without a reason, and a serial
 * already there (nothing stored by any of them). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <openssl/sha.h>
#include "store.h"
#include "store_fixture.h"

static const uint8_t DER[] = { 0x30, 0x03, 0x02, 0x01, 0x01 }; /* opaque to the store */

static int setup(void **state)
{
	return ik_store_setup(state, "import");
}

static int teardown(void **state)
{
	return ik_store_teardown(state);
}

static ra_cert_import good(void)
{
	return (ra_cert_import){ .serial = "0a1b2c3d", .cn = "dev-0000001-tokyo",
	    .not_before = 1700000000, .not_after = 1700000000 + 365 * 86400LL,
	    .state = RA_CERT_REVOKED, .reason = 1, .der = DER, .der_len = sizeof(DER) };
}

static uint64_t count_all(ra_store *s)
{
	ra_cert_query q = { .filter = RA_CERT_FILTER_ALL };
	uint64_t n = 99;

	assert_int_equal(ra_store_cert_count(s, &q, &n), IK_OK);
	return n;
}

static void test_import_reads_back(void **state)
{
	fixture *f = *state;
	ra_cert_import c = good();
	ra_cert got;
	ra_cert_query q = { .filter = RA_CERT_FILTER_REVOKED, .cn_contains = "0000001" };
	ra_cert rows[RA_PAGE_MAX];
	char next[RA_CURSOR_MAX];
	uint8_t md[32];
	size_t n = 0;
	int64_t id = 0;

	assert_int_equal(ra_store_cert_import(f->s, &c, &id), IK_OK);
	assert_int_equal(ra_store_cert_by_serial(f->s, "0A1B2C3D", &got), IK_OK);
	assert_int_equal(got.id, id);
	assert_string_equal(got.cn, "dev-0000001-tokyo");
	assert_int_equal(got.state, RA_CERT_REVOKED);
	assert_int_equal(got.reason, 1);
	assert_int_equal(got.not_before, 1700000000);
	assert_int_equal(got.validity_days, 365);
	assert_int_equal(got.created, 1700000000);
	SHA256(DER, sizeof(DER), md);
	assert_memory_equal(got.sha256, md, 32);
	assert_int_equal(ra_store_cert_list(f->s, &q, rows, &n, next), IK_OK);
	assert_int_equal(n, 1);
	assert_int_equal(rows[0].id, id);
	/* a suspended one is on hold (reason 6) */
	c = good();
	c.serial = "0a1b2c3e";
	c.state = RA_CERT_SUSPENDED;
	assert_int_equal(ra_store_cert_import(f->s, &c, NULL), IK_OK);
	assert_int_equal(ra_store_cert_by_serial(f->s, "0a1b2c3e", &got), IK_OK);
	assert_int_equal(got.reason, 6);
	assert_int_equal(count_all(f->s), 2);
}

static void test_import_refusals(void **state)
{
	fixture *f = *state;
	ra_cert_import c;

	c = good(); c.serial = NULL;
	assert_int_equal(ra_store_cert_import(f->s, &c, NULL), IK_ERR_ARG);
	c = good(); c.serial = "abc";
	assert_int_equal(ra_store_cert_import(f->s, &c, NULL), IK_ERR_ARG);
	c = good(); c.cn = "";
	assert_int_equal(ra_store_cert_import(f->s, &c, NULL), IK_ERR_ARG);
	c = good(); c.der = NULL;
	assert_int_equal(ra_store_cert_import(f->s, &c, NULL), IK_ERR_ARG);
	c = good(); c.not_after = c.not_before;
	assert_int_equal(ra_store_cert_import(f->s, &c, NULL), IK_ERR_ARG);
	c = good(); c.state = RA_CERT_ISSUING;
	assert_int_equal(ra_store_cert_import(f->s, &c, NULL), IK_ERR_ARG);
	c = good(); c.reason = -1;
	assert_int_equal(ra_store_cert_import(f->s, &c, NULL), IK_ERR_ARG);
	assert_int_equal(ra_store_cert_import(f->s, NULL, NULL), IK_ERR_ARG);
	assert_int_equal(count_all(f->s), 0);
	c = good();
	assert_int_equal(ra_store_cert_import(f->s, &c, NULL), IK_OK);
	c.cn = "another";
	assert_int_equal(ra_store_cert_import(f->s, &c, NULL), IK_ERR_EXISTS);
	assert_int_equal(count_all(f->s), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_import_reads_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_import_refusals, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
