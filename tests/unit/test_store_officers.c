/* test_store_officers: the store's side of the administrators' officer pages — officers found
 * by login a page at a time (LIKE metacharacters taken literally), several login
 * certificates per officer (bind, limit, unbind one or all), and migration 010 carrying the
 * bindings of the one-per-officer table (004) over. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include <sqlite3.h>

#include "store.h"
#include "store_fixture.h"

extern const char *const ra_migrations[];

static const ra_hist H_TEST = { "tester", "192.0.2.1", "test_op", "t", "{}" };
static const uint8_t SPKI[] = { 0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce,
	0x3d, 0x02, 0x01 };
static const char PHC[] = "$scrypt$ln=15,r=8,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA";

static int setup(void **state)
{
	return ik_store_setup(state, "officers");
}

static int teardown(void **state)
{
	return ik_store_teardown(state);
}

static int64_t add_officer(ra_store *s, const char *login)
{
	ra_officer o;

	assert_int_equal(ra_store_officer_add(s, login, RA_OFFICER_OFFICER, PHC, "cli", "local"),
	    IK_OK);
	assert_int_equal(ra_store_officer_by_login(s, login, &o), IK_OK);
	return o.id;
}

/* A certificate issued through the queue (fake DER: the store only stores and hashes it). */
static int64_t issue(ra_store *s, unsigned serial)
{
	ra_user u = { 0 };
	ra_device d = { 0 };
	char hex[16], name[32];
	uint8_t der[40];
	ra_issued is = { hex, der, sizeof(der), 1, 4102444800 };
	ra_request r, c;
	int64_t uid, did;

	snprintf(name, sizeof(name), "u%u", serial);
	snprintf(u.external_id, sizeof(u.external_id), "%s", name);
	assert_int_equal(ra_store_user_add(s, &u, &H_TEST, &uid), IK_OK);
	d.user_id = uid;
	snprintf(d.name, sizeof(d.name), "dev");
	assert_int_equal(ra_store_device_add(s, &d, NULL, &did), IK_OK);
	{
		ra_request_new rn = { .kind = RA_REQ_ISSUE, .device_id = did, .cn = name,
			.validity_days = 365, .spki = SPKI, .spki_len = sizeof(SPKI),
			.created_by = "officer1" };
		assert_int_equal(ra_store_request_add(s, &rn, &H_TEST, &r), IK_OK);
	}
	assert_int_equal(ra_store_request_claim_id(s, r.id, &c), IK_OK);
	snprintf(hex, sizeof(hex), "%04x", serial);
	for (size_t i = 0; i < sizeof(der); i++)
		der[i] = (uint8_t)(serial + i);
	assert_int_equal(ra_store_request_complete(s, r.id, &is, &H_TEST), IK_OK);
	return r.cert_id;
}

static void test_find(void **state)
{
	fixture *f = *state;
	ra_officer_summary rows[RA_PAGE_MAX];
	char login[32];
	size_t n = 0;
	uint64_t total = 0;

	for (unsigned i = 1; i <= 105; i++) {
		snprintf(login, sizeof(login), "op%03u", i);
		add_officer(f->s, login);
	}
	add_officer(f->s, "a_b%c");
	assert_int_equal(ra_store_officer_find(f->s, NULL, 0, rows, RA_PAGE_MAX, &n, &total), IK_OK);
	assert_int_equal(n, 100);
	assert_int_equal(total, 106);
	assert_string_equal(rows[0].o.login, "op001");
	assert_string_equal(rows[0].o.password, "");   /* no hash on the list */
	assert_int_equal(ra_store_officer_find(f->s, "", 100, rows, RA_PAGE_MAX, &n, &total), IK_OK);
	assert_int_equal(n, 6);
	assert_string_equal(rows[0].o.login, "op101");
	assert_string_equal(rows[5].o.login, "a_b%c");
	/* case ignored; LIKE's % and _ are literal */
	assert_int_equal(ra_store_officer_find(f->s, "OP01", 0, rows, 5, &n, &total), IK_OK);
	assert_int_equal(total, 10);
	assert_int_equal(n, 5);
	assert_string_equal(rows[4].o.login, "op014");
	assert_int_equal(ra_store_officer_find(f->s, "_", 0, rows, 5, &n, &total), IK_OK);
	assert_int_equal(total, 1);
	assert_string_equal(rows[0].o.login, "a_b%c");
	assert_int_equal(ra_store_officer_find(f->s, "%", 0, rows, 5, &n, &total), IK_OK);
	assert_int_equal(total, 1);
	assert_int_equal(ra_store_officer_find(f->s, "zzz", 0, rows, 5, &n, &total), IK_OK);
	assert_int_equal(total, 0);
	assert_int_equal(n, 0);
	/* past the end: no rows, the total still counted */
	assert_int_equal(ra_store_officer_find(f->s, "op", 1000, rows, 5, &n, &total), IK_OK);
	assert_int_equal(n, 0);
	assert_int_equal(total, 105);
	/* bounds */
	assert_int_equal(ra_store_officer_find(f->s, NULL, 0, rows, 0, &n, &total), IK_ERR_ARG);
	assert_int_equal(ra_store_officer_find(f->s, NULL, 0, rows, RA_PAGE_MAX + 1, &n, &total),
	    IK_ERR_ARG);
	{
		char longq[RA_STORE_LOGIN_MAX + 2];
		memset(longq, 'x', sizeof(longq) - 1);
		longq[sizeof(longq) - 1] = '\0';
		assert_int_equal(ra_store_officer_find(f->s, longq, 0, rows, 5, &n, &total),
		    IK_ERR_ARG);
	}
}

static void test_several(void **state)
{
	fixture *f = *state;
	int64_t a = add_officer(f->s, "alice"), b = add_officer(f->s, "bob");
	int64_t certs[RA_OFFICER_CERTS_MAX + 1];
	ra_officer_cert rows[RA_OFFICER_CERTS_MAX], one;
	ra_officer_summary sum[2];
	uint8_t sha[32];
	size_t n = 0;
	uint64_t total;

	memset(sha, 0xab, sizeof(sha));
	for (size_t i = 0; i <= RA_OFFICER_CERTS_MAX; i++)
		certs[i] = issue(f->s, 0x100 + (unsigned)i);
	for (size_t i = 0; i < RA_OFFICER_CERTS_MAX; i++)
		assert_int_equal(ra_store_officer_cert_bind(f->s, a, certs[i], sha, &H_TEST), IK_OK);
	/* the limit, a certificate bound twice (same officer, another officer), unknowns */
	assert_int_equal(ra_store_officer_cert_bind(f->s, a, certs[RA_OFFICER_CERTS_MAX], sha,
	    &H_TEST), IK_ERR_STATE);
	assert_int_equal(ra_store_officer_cert_bind(f->s, b, certs[0], sha, &H_TEST),
	    IK_ERR_EXISTS);
	assert_int_equal(ra_store_officer_cert_unbind(f->s, a, certs[7], &H_TEST), IK_OK);
	assert_int_equal(ra_store_officer_cert_bind(f->s, a, certs[0], sha, &H_TEST),
	    IK_ERR_EXISTS);
	assert_int_equal(ra_store_officer_cert_bind(f->s, 9999, certs[8], sha, &H_TEST),
	    IK_ERR_NOT_FOUND);
	assert_int_equal(ra_store_officer_cert_bind(f->s, b, 9999, sha, &H_TEST),
	    IK_ERR_NOT_FOUND);
	assert_int_equal(ra_store_officer_cert_list(f->s, a, rows, RA_OFFICER_CERTS_MAX, &n), IK_OK);
	assert_int_equal(n, RA_OFFICER_CERTS_MAX - 1);
	assert_int_equal(ra_store_officer_cert_by_cert(f->s, certs[3], &one), IK_OK);
	assert_int_equal(one.officer_id, a);
	assert_int_equal(ra_store_officer_cert_by_cert(f->s, certs[7], &one), IK_ERR_NOT_FOUND);
	/* the list page: count and serials */
	assert_int_equal(ra_store_officer_find(f->s, NULL, 0, sum, 2, &n, &total), IK_OK);
	assert_int_equal(sum[0].ncerts, RA_OFFICER_CERTS_MAX - 1);
	assert_non_null(strstr(sum[0].serials, "0100"));
	assert_non_null(strstr(sum[0].serials, "0106"));
	assert_null(strstr(sum[0].serials, "0107"));
	assert_int_equal(sum[1].ncerts, 0);
	assert_string_equal(sum[1].serials, "");
	/* unbind one: the others stay; one not bound, or bound to another officer: not found */
	assert_int_equal(ra_store_officer_cert_unbind(f->s, a, certs[1], &H_TEST), IK_OK);
	assert_int_equal(ra_store_officer_cert_unbind(f->s, a, certs[1], &H_TEST), IK_ERR_NOT_FOUND);
	assert_int_equal(ra_store_officer_cert_unbind(f->s, b, certs[2], &H_TEST), IK_ERR_NOT_FOUND);
	assert_int_equal(ra_store_officer_cert_by_cert(f->s, certs[2], &one), IK_OK);
	/* all of them */
	assert_int_equal(ra_store_officer_cert_unbind(f->s, a, 0, &H_TEST), IK_OK);
	assert_int_equal(ra_store_officer_cert_list(f->s, a, rows, RA_OFFICER_CERTS_MAX, &n), IK_OK);
	assert_int_equal(n, 0);
	assert_int_equal(ra_store_officer_cert_unbind(f->s, a, 0, &H_TEST), IK_ERR_NOT_FOUND);
}

/* A database of schema 9 (officer_certs as 004 made it, one binding per officer) opened by
 * this code: migration 010 keeps the binding, and a second one can then be added. */
static void test_migration_010(void **state)
{
	fixture *f = *state;
	int64_t a = add_officer(f->s, "alice"), c1 = issue(f->s, 0x201), c2 = issue(f->s, 0x202);
	ra_officer_cert one, rows[2];
	uint8_t sha[32];
	char sql[256];
	size_t n = 0;
	int dbv = 0, codev = 0;

	memset(sha, 0x5a, sizeof(sha));
	ra_store_close(f->s);
	f->s = NULL;
	assert_int_equal(ik_raw_exec(f->path, "DROP TABLE officer_certs"), 0);
	assert_int_equal(ik_raw_exec(f->path, ra_migrations[3]), 0);   /* 004_officer_certs */
	snprintf(sql, sizeof(sql), "INSERT INTO officer_certs VALUES (%lld, %lld, zeroblob(32),"
	    " 1700000000)", (long long)a, (long long)c1);
	assert_int_equal(ik_raw_exec(f->path, sql), 0);
	assert_int_equal(ik_raw_exec(f->path, "DELETE FROM schema_version WHERE version >= 10"), 0);
	assert_int_equal(ra_store_open(f->path, &f->s), IK_OK);
	assert_int_equal(ra_store_schema_version(f->s, &dbv, &codev), IK_OK);
	assert_int_equal(dbv, codev);
	assert_int_equal(ra_store_officer_cert_by_cert(f->s, c1, &one), IK_OK);
	assert_int_equal(one.officer_id, a);
	assert_int_equal(one.created, 1700000000);
	assert_int_equal(ra_store_officer_cert_bind(f->s, a, c2, sha, &H_TEST), IK_OK);
	assert_int_equal(ra_store_officer_cert_list(f->s, a, rows, 2, &n), IK_OK);
	assert_int_equal(n, 2);
	assert_int_equal(rows[0].cert_id, c2);   /* newest first */
	assert_int_equal(ra_store_officer_cert_get(f->s, a, &one), IK_OK);
	assert_int_equal(one.cert_id, c2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_find, setup, teardown),
		cmocka_unit_test_setup_teardown(test_several, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migration_010, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
