/* Unit tests for signer/ledger.c: migrations, intents and certificates, duplicates, the
 * revocation state machine, the append-only triggers (checked through a raw sqlite3
 * connection), CRL numbers, concurrent group commit, batches, asynchronous appends (callbacks
 * in order), the commit pacer, the CRL cursors (all entries, changes since a mark), and a throughput run. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <sqlite3.h>
#include <openssl/evp.h>
#include "ledger.h"
#include "tmpdb.h"

typedef struct fixture {
	char dir[64];
	char path[128];
	sg_ledger *l;
} fixture;

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	if (ik_tmpdb_make(f->dir, sizeof(f->dir), f->path, sizeof(f->path), "ledger", "ledger.db") != 0)
		return -1;
	if (sg_ledger_open(f->path, &f->l) != IK_OK)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;

	sg_ledger_close(f->l);
	ik_tmpdb_remove(f->dir, f->path);
	free(f);
	return 0;
}

/* A positive, minimal serial made from a number: 0x40, then the number big-endian. */
static void mkserial(uint8_t s[9], uint64_t i)
{
	s[0] = 0x40;
	for (int k = 8; k >= 1; k--) {
		s[k] = (uint8_t)(i & 0xff);
		i >>= 8;
	}
}

static void mkid(char *id, size_t n, const char *prefix, uint64_t i)
{
	snprintf(id, n, "%s-%llu", prefix, (unsigned long long)i);
}

/* intent + certificate for number i; returns the status of the cert step. */
static ik_status issue(sg_ledger *l, const char *prefix, uint64_t i)
{
	uint8_t serial[9], tbs[40], der[64];
	char id[PROTO_MAX_ID + 1];
	ik_status st;

	mkserial(serial, i);
	mkid(id, sizeof(id), prefix, i);
	memset(tbs, 0x30, sizeof(tbs));
	memcpy(tbs + 1, serial, sizeof(serial));
	memset(der, 0x31, sizeof(der));
	memcpy(der + 1, serial, sizeof(serial));
	st = sg_ledger_record_intent(l, id, serial, sizeof(serial), "client", "CN=x", 1000, 2000,
	    tbs, sizeof(tbs));
	if (st != IK_OK)
		return st;
	return sg_ledger_record_cert(l, id, der, sizeof(der));
}

static sqlite3 *raw_open(const fixture *f)
{
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	return db;
}

static int64_t raw_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int64_t v;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static void test_migrate_reopen(void **state)
{
	fixture *f = *state;
	sqlite3 *db;

	assert_int_equal(issue(f->l, "r", 1), IK_OK);
	sg_ledger_close(f->l);
	f->l = NULL;
	assert_int_equal(sg_ledger_open(f->path, &f->l), IK_OK);
	sg_ledger_close(f->l);
	assert_int_equal(sg_ledger_open(f->path, &f->l), IK_OK);
	db = raw_open(f);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM schema_version"), 2);
	assert_int_equal(raw_int(db, "SELECT max(version) FROM schema_version"), 2);
	{
		sqlite3_stmt *st = NULL;
		assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
		sqlite3_finalize(st);
	}
	sqlite3_close(db);
	/* the data survived the reopen */
	assert_int_equal(sg_ledger_serial_used(f->l, (const uint8_t *)"\x40\0\0\0\0\0\0\0\x01", 9), 1);
	/* a ledger from a newer signer (unknown schema version) is refused */
	sg_ledger_close(f->l);
	f->l = NULL;
	db = raw_open(f);
	assert_int_equal(sqlite3_exec(db, "INSERT INTO schema_version VALUES (99)", NULL, NULL,
	    NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(sg_ledger_open(f->path, &f->l), IK_ERR_LEDGER);
	assert_null(f->l);
	/* a path that cannot be opened */
	{
		sg_ledger *bad = NULL;
		assert_int_not_equal(sg_ledger_open("/nonexistent-dir/x/ledger.db", &bad), IK_OK);
		assert_null(bad);
	}
}

static void expect_event(sg_ledger *l, uint64_t i, sg_event kind, uint8_t reason,
    ik_status want, uint8_t want_state);

/* Migration 2 on a ledger made before it: the held and revoked counts are taken from the
 * status table once, then kept by its triggers through holds, releases and revocations. */
static void test_migrate_counts(void **state)
{
	fixture *f = *state;
	uint64_t issued, revoked, held;
	sqlite3 *db;

	for (uint64_t i = 1; i <= 5; i++)
		assert_int_equal(issue(f->l, "m", i), IK_OK);
	expect_event(f->l, 1, SG_EV_HOLD, 0, IK_OK, PROTO_STATE_HELD);
	expect_event(f->l, 2, SG_EV_HOLD, 0, IK_OK, PROTO_STATE_HELD);
	expect_event(f->l, 3, SG_EV_REVOKE, 1, IK_OK, PROTO_STATE_REVOKED);
	sg_ledger_close(f->l);
	f->l = NULL;
	/* back to schema 1, as a ledger written by the signer before the counts existed */
	db = raw_open(f);
	assert_int_equal(sqlite3_exec(db, "DROP TRIGGER status_count_ins; DROP TRIGGER status_count_del;"
	    "DROP TRIGGER status_count_upd; DROP TABLE status_counts;"
	    "DELETE FROM schema_version WHERE version = 2", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(sg_ledger_open(f->path, &f->l), IK_OK);
	assert_int_equal(sg_ledger_counts(f->l, &issued, &revoked, &held), IK_OK);
	assert_int_equal(issued, 5);
	assert_int_equal(revoked, 1);
	assert_int_equal(held, 2);
	expect_event(f->l, 1, SG_EV_RELEASE, 0, IK_OK, PROTO_STATE_GOOD); /* held -> gone */
	expect_event(f->l, 2, SG_EV_REVOKE, 4, IK_OK, PROTO_STATE_REVOKED); /* held -> revoked */
	expect_event(f->l, 4, SG_EV_REVOKE, 1, IK_OK, PROTO_STATE_REVOKED); /* new row */
	assert_int_equal(sg_ledger_counts(f->l, &issued, &revoked, &held), IK_OK);
	assert_int_equal(issued, 5);
	assert_int_equal(revoked, 3);
	assert_int_equal(held, 0);
	db = raw_open(f);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM status WHERE state = 2"), 3);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM status WHERE state = 1"), 0);
	sqlite3_close(db);
}

static void test_intent_cert(void **state)
{
	fixture *f = *state;
	const uint8_t serial[] = { 0x12, 0x34, 0x56 }, other[] = { 0x12, 0x34, 0x57 };
	const uint8_t tbs[] = { 0x30, 0x03, 0x02, 0x01, 0x01 };
	const uint8_t der[] = { 0x30, 0x05, 0x30, 0x03, 0x02, 0x01, 0x01 };
	uint8_t md[32];
	uint64_t issued, revoked, held;
	sg_issued r;
	sqlite3 *db;
	sqlite3_stmt *st;

	assert_int_equal(sg_ledger_find_request(f->l, "req-a", &r), IK_ERR_NOT_FOUND);
	assert_int_equal(sg_ledger_serial_used(f->l, serial, sizeof(serial)), 0);
	assert_int_equal(sg_ledger_record_intent(f->l, "req-a", serial, sizeof(serial), "client",
	    "CN=alice", 100, 200, tbs, sizeof(tbs)), IK_OK);
	assert_int_equal(sg_ledger_serial_used(f->l, serial, sizeof(serial)), 1);
	assert_int_equal(sg_ledger_serial_used(f->l, other, sizeof(other)), 0);
	/* the intent alone: TBS, serial and profile, no certificate yet */
	assert_int_equal(sg_ledger_find_request(f->l, "req-a", &r), IK_OK);
	assert_int_equal(r.serial_len, sizeof(serial));
	assert_memory_equal(r.serial, serial, sizeof(serial));
	assert_string_equal(r.profile, "client");
	assert_int_equal(r.tbs_len, sizeof(tbs));
	assert_memory_equal(r.tbs, tbs, sizeof(tbs));
	assert_null(r.der);
	sg_issued_cleanup(&r);
	assert_int_equal(sg_ledger_counts(f->l, &issued, &revoked, &held), IK_OK);
	assert_int_equal(issued, 0);

	/* a certificate needs its intent */
	assert_int_equal(sg_ledger_record_cert(f->l, "req-none", der, sizeof(der)), IK_ERR_NOT_FOUND);
	assert_int_equal(sg_ledger_record_cert(f->l, "req-a", der, sizeof(der)), IK_OK);
	assert_int_equal(sg_ledger_record_cert(f->l, "req-a", der, sizeof(der)), IK_ERR_EXISTS);
	assert_int_equal(sg_ledger_find_request(f->l, "req-a", &r), IK_OK);
	assert_int_equal(r.der_len, sizeof(der));
	assert_memory_equal(r.der, der, sizeof(der));
	assert_memory_equal(r.tbs, tbs, sizeof(tbs));
	sg_issued_cleanup(&r);
	assert_null(r.der);
	assert_int_equal(sg_ledger_counts(f->l, &issued, &revoked, &held), IK_OK);
	assert_int_equal(issued, 1);
	assert_int_equal(revoked, 0);
	assert_int_equal(held, 0);

	/* the stored hash is SHA-256 of the DER; the row carries the intent's serial */
	assert_int_equal(EVP_Digest(der, sizeof(der), md, NULL, EVP_sha256(), NULL), 1);
	db = raw_open(f);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT sha256, serial, der FROM certs"
	    " WHERE request_id = 'req-a'", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_bytes(st, 0), 32);
	assert_memory_equal(sqlite3_column_blob(st, 0), md, 32);
	assert_int_equal(sqlite3_column_bytes(st, 1), sizeof(serial));
	assert_memory_equal(sqlite3_column_blob(st, 1), serial, sizeof(serial));
	sqlite3_finalize(st);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM intents WHERE subject = 'CN=alice'"
	    " AND not_before = 100 AND not_after = 200"), 1);
	sqlite3_close(db);

	/* bad arguments never reach the database */
	assert_int_equal(sg_ledger_record_intent(f->l, "req-b", serial, 0, "client", "CN=b", 1, 2,
	    tbs, sizeof(tbs)), IK_ERR_ARG);
	assert_int_equal(sg_ledger_record_intent(f->l, "req-b", serial, PROTO_MAX_SERIAL + 1,
	    "client", "CN=b", 1, 2, tbs, sizeof(tbs)), IK_ERR_ARG);
	assert_int_equal(sg_ledger_record_intent(f->l, "req-b", other, sizeof(other), "client",
	    "CN=b", 1, 2, tbs, 0), IK_ERR_ARG);
	assert_int_equal(sg_ledger_record_cert(f->l, "req-a", der, 0), IK_ERR_ARG);
}

static void test_duplicates(void **state)
{
	fixture *f = *state;
	const uint8_t s1[] = { 0x01, 0x02 }, s2[] = { 0x01, 0x03 };
	const uint8_t tbs[] = { 0x30, 0x00 };
	sg_issued r;
	sqlite3 *db;

	assert_int_equal(sg_ledger_record_intent(f->l, "dup", s1, sizeof(s1), "client", "CN=a",
	    1, 2, tbs, sizeof(tbs)), IK_OK);
	/* same request id, new serial */
	assert_int_equal(sg_ledger_record_intent(f->l, "dup", s2, sizeof(s2), "client", "CN=a",
	    1, 2, tbs, sizeof(tbs)), IK_ERR_EXISTS);
	/* new request id, same serial */
	assert_int_equal(sg_ledger_record_intent(f->l, "dup2", s1, sizeof(s1), "client", "CN=a",
	    1, 2, tbs, sizeof(tbs)), IK_ERR_EXISTS);
	assert_int_equal(sg_ledger_find_request(f->l, "dup2", &r), IK_ERR_NOT_FOUND);
	assert_int_equal(sg_ledger_serial_used(f->l, s2, sizeof(s2)), 0);
	assert_int_equal(sg_ledger_find_request(f->l, "dup", &r), IK_OK);
	assert_memory_equal(r.serial, s1, sizeof(s1));
	sg_issued_cleanup(&r);
	/* and the refused ones left nothing behind */
	db = raw_open(f);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM intents"), 1);
	sqlite3_close(db);
	/* a refused operation does not spoil a later one */
	assert_int_equal(sg_ledger_record_intent(f->l, "dup3", s2, sizeof(s2), "client", "CN=a",
	    1, 2, tbs, sizeof(tbs)), IK_OK);
}

static void expect_event(sg_ledger *l, uint64_t i, sg_event kind, uint8_t reason,
    ik_status want, uint8_t want_state)
{
	uint8_t serial[9], state = 0xff;

	mkserial(serial, i);
	assert_int_equal(sg_ledger_event(l, serial, sizeof(serial), kind, reason, 5000, &state),
	    want);
	if (want == IK_OK)
		assert_int_equal(state, want_state);
	else
		assert_int_equal(state, 0xff);
}

static void test_state_machine(void **state)
{
	fixture *f = *state;
	uint8_t serial[9], tbs[2] = { 0x30, 0 }, st8;
	uint64_t issued, revoked, held;
	sqlite3 *db;

	for (uint64_t i = 1; i <= 3; i++)
		assert_int_equal(issue(f->l, "sm", i), IK_OK);
	/* unknown serial, and an intent that was never signed */
	expect_event(f->l, 99, SG_EV_REVOKE, 1, IK_ERR_NOT_FOUND, 0);
	expect_event(f->l, 99, SG_EV_HOLD, 0, IK_ERR_NOT_FOUND, 0);
	mkserial(serial, 50);
	assert_int_equal(sg_ledger_record_intent(f->l, "sm-50", serial, sizeof(serial), "client",
	    "CN=x", 1, 2, tbs, sizeof(tbs)), IK_OK);
	expect_event(f->l, 50, SG_EV_REVOKE, 1, IK_ERR_NOT_FOUND, 0);
	expect_event(f->l, 50, SG_EV_HOLD, 0, IK_ERR_NOT_FOUND, 0);

	/* 1: good -release-> refused; good -> held -> (hold again refused) -> good -> revoked */
	expect_event(f->l, 1, SG_EV_RELEASE, 0, IK_ERR_STATE, 0);
	expect_event(f->l, 1, SG_EV_HOLD, 0, IK_OK, PROTO_STATE_HELD);
	expect_event(f->l, 1, SG_EV_HOLD, 0, IK_ERR_STATE, 0);
	expect_event(f->l, 1, SG_EV_RELEASE, 0, IK_OK, PROTO_STATE_GOOD);
	expect_event(f->l, 1, SG_EV_RELEASE, 0, IK_ERR_STATE, 0);
	expect_event(f->l, 1, SG_EV_REVOKE, 1, IK_OK, PROTO_STATE_REVOKED);
	/* nothing leaves revoked */
	expect_event(f->l, 1, SG_EV_REVOKE, 1, IK_ERR_POLICY_REVOKED, 0);
	expect_event(f->l, 1, SG_EV_HOLD, 0, IK_ERR_POLICY_REVOKED, 0);
	expect_event(f->l, 1, SG_EV_RELEASE, 0, IK_ERR_POLICY_REVOKED, 0);
	/* 2: held -> revoked */
	expect_event(f->l, 2, SG_EV_HOLD, 0, IK_OK, PROTO_STATE_HELD);
	expect_event(f->l, 2, SG_EV_REVOKE, 4, IK_OK, PROTO_STATE_REVOKED);
	expect_event(f->l, 2, SG_EV_RELEASE, 0, IK_ERR_POLICY_REVOKED, 0);
	/* 3: reasons a revocation may not carry; then held */
	expect_event(f->l, 3, SG_EV_REVOKE, 6, IK_ERR_POLICY_REASON, 0);
	expect_event(f->l, 3, SG_EV_REVOKE, 7, IK_ERR_POLICY_REASON, 0);
	expect_event(f->l, 3, SG_EV_REVOKE, 8, IK_ERR_POLICY_REASON, 0);
	expect_event(f->l, 3, SG_EV_REVOKE, 11, IK_ERR_POLICY_REASON, 0);
	expect_event(f->l, 3, SG_EV_HOLD, 0, IK_OK, PROTO_STATE_HELD);
	/* bad arguments */
	mkserial(serial, 3);
	assert_int_equal(sg_ledger_event(f->l, serial, 0, SG_EV_HOLD, 0, 1, &st8), IK_ERR_ARG);
	assert_int_equal(sg_ledger_event(f->l, serial, sizeof(serial), (sg_event)9, 0, 1, &st8),
	    IK_ERR_ARG);

	assert_int_equal(sg_ledger_counts(f->l, &issued, &revoked, &held), IK_OK);
	assert_int_equal(issued, 3);
	assert_int_equal(revoked, 2);
	assert_int_equal(held, 1);
	db = raw_open(f);
	/* only the accepted changes were recorded: 1: hold, release, revoke; 2: hold, revoke;
	 * 3: hold */
	assert_int_equal(raw_int(db, "SELECT count(*) FROM events"), 6);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM events WHERE kind = 2 AND reason = 6"), 3);
	/* the revoke of a held certificate replaced the hold's reason and time */
	assert_int_equal(raw_int(db, "SELECT reason FROM status WHERE serial = x'400000000000000002'"), 4);
	assert_int_equal(raw_int(db, "SELECT state FROM status WHERE serial = x'400000000000000002'"),
	    PROTO_STATE_REVOKED);
	assert_int_equal(raw_int(db, "SELECT reason FROM status WHERE serial = x'400000000000000003'"), 6);
	sqlite3_close(db);
}

static void refused(sqlite3 *db, const char *sql, const char *why)
{
	char *err = NULL;

	assert_int_not_equal(sqlite3_exec(db, sql, NULL, NULL, &err), SQLITE_OK);
	assert_non_null(err);
	if (strstr(err, why) == NULL)
		fail_msg("%s: %s", sql, err);
	sqlite3_free(err);
}

static void test_append_only(void **state)
{
	fixture *f = *state;
	uint8_t serial[9], md[32] = { 0 };
	sqlite3 *db;

	assert_int_equal(issue(f->l, "ao", 1), IK_OK);
	assert_int_equal(issue(f->l, "ao", 2), IK_OK);
	mkserial(serial, 1);
	assert_int_equal(sg_ledger_event(f->l, serial, sizeof(serial), SG_EV_REVOKE, 1, 10, NULL),
	    IK_OK);
	assert_int_equal(sg_ledger_crl_record(f->l, 1, 10, 20, md), IK_OK);
	db = raw_open(f);
	refused(db, "UPDATE intents SET subject = 'CN=mallory'", "append-only");
	refused(db, "DELETE FROM intents", "append-only");
	refused(db, "UPDATE certs SET der = x'00'", "append-only");
	refused(db, "DELETE FROM certs", "append-only");
	refused(db, "UPDATE events SET kind = 3", "append-only");
	refused(db, "DELETE FROM events", "append-only");
	refused(db, "UPDATE crls SET number = 7", "append-only");
	refused(db, "DELETE FROM crls", "append-only");
	refused(db, "INSERT OR REPLACE INTO crls VALUES (1, 0, 0, x'00')", "");
	/* a revocation in the status cache cannot be undone by hand either */
	refused(db, "UPDATE status SET state = 0", "revocation is final");
	refused(db, "DELETE FROM status", "revocation is final");
	/* nothing changed */
	assert_int_equal(raw_int(db, "SELECT count(*) FROM intents"), 2);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM certs"), 2);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM events"), 1);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM status WHERE state = 2"), 1);
	sqlite3_close(db);
}

static void test_crl_numbers(void **state)
{
	fixture *f = *state;
	uint8_t md[32];
	sqlite3 *db;

	memset(md, 0xab, sizeof(md));
	assert_int_equal(sg_ledger_crl_last(f->l), 0);
	assert_int_equal(sg_ledger_crl_record(f->l, 0, 10, 20, md), IK_ERR_ARG);
	assert_int_equal(sg_ledger_crl_record(f->l, 1, 10, 20, md), IK_OK);
	assert_int_equal(sg_ledger_crl_last(f->l), 1);
	assert_int_equal(sg_ledger_crl_record(f->l, 1, 10, 20, md), IK_ERR_STATE);
	assert_int_equal(sg_ledger_crl_record(f->l, 5, 11, 21, md), IK_OK);
	assert_int_equal(sg_ledger_crl_record(f->l, 3, 12, 22, md), IK_ERR_STATE);
	assert_int_equal(sg_ledger_crl_record(f->l, 6, 20, 20, md), IK_ERR_ARG); /* next <= this */
	assert_int_equal(sg_ledger_crl_record(f->l, 6, 12, 22, NULL), IK_ERR_ARG);
	assert_int_equal(sg_ledger_crl_record(f->l, (uint64_t)INT64_MAX + 1, 12, 22, md), IK_ERR_ARG);
	assert_int_equal(sg_ledger_crl_last(f->l), 5);
	/* the trigger says the same to anyone writing by hand */
	db = raw_open(f);
	refused(db, "INSERT INTO crls VALUES (4, 0, 1, x'00')", "CRL numbers must grow");
	refused(db, "INSERT INTO crls VALUES (5, 0, 1, x'00')", "");
	assert_int_equal(raw_int(db, "SELECT count(*) FROM crls"), 2);
	sqlite3_close(db);
	assert_int_equal(sg_ledger_crl_record(f->l, 6, 12, 22, md), IK_OK);
	assert_int_equal(sg_ledger_crl_last(f->l), 6);
}

/* ---- concurrency ---- */

typedef struct worker {
	sg_ledger *l;
	char prefix[16];
	uint64_t first, n;
	unsigned failures;
	double seconds;   /* run until this long has passed (0: exactly n) */
	uint64_t done;
} worker;

static double now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *worker_main(void *arg)
{
	worker *w = arg;
	double t0 = now_mono();

	for (uint64_t i = 0; w->seconds > 0 || i < w->n; i++) {
		if (issue(w->l, w->prefix, w->first + i) != IK_OK)
			w->failures++;
		w->done++;
		if (w->seconds > 0 && (i & 15) == 0 && now_mono() - t0 >= w->seconds)
			break;
	}
	return NULL;
}

static void test_concurrent(void **state)
{
	fixture *f = *state;
	worker w[4];
	pthread_t th[4];
	uint64_t issued, revoked, held;

	for (int i = 0; i < 4; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].l = f->l;
		snprintf(w[i].prefix, sizeof(w[i].prefix), "t%d", i);
		w[i].first = (uint64_t)i * 100000u;
		w[i].n = 250;
		assert_int_equal(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(w[i].failures, 0);
	}
	sg_ledger_close(f->l);
	f->l = NULL;
	assert_int_equal(sg_ledger_open(f->path, &f->l), IK_OK);
	assert_int_equal(sg_ledger_counts(f->l, &issued, &revoked, &held), IK_OK);
	assert_int_equal(issued, 1000);
	for (int i = 0; i < 4; i++) {
		for (uint64_t k = 0; k < 250; k++) {
			char id[PROTO_MAX_ID + 1];
			uint8_t serial[9];
			sg_issued r;

			mkid(id, sizeof(id), w[i].prefix, w[i].first + k);
			mkserial(serial, w[i].first + k);
			assert_int_equal(sg_ledger_find_request(f->l, id, &r), IK_OK);
			assert_memory_equal(r.serial, serial, sizeof(serial));
			assert_non_null(r.der);
			assert_memory_equal(r.der + 1, serial, sizeof(serial));
			sg_issued_cleanup(&r);
		}
	}
}

/* Serial order as SQLite sorts BLOBs: memcmp over the common length, then shorter first. */
static int blob_cmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
	int c = memcmp(a, b, an < bn ? an : bn);

	if (c != 0)
		return c;
	return an < bn ? -1 : an > bn ? 1 : 0;
}

static void test_crl_cursor(void **state)
{
	fixture *f = *state;
	/* issue 40 in a scrambled order; revoke every 3rd, hold every 5th, release every 10th */
	unsigned revoked = 0, held = 0, seen = 0;
	sg_ledger_cursor *c = NULL;
	sg_crl_entry e[3], prev;
	size_t count = 0;
	long got;

	for (uint64_t k = 0; k < 40; k++)
		assert_int_equal(issue(f->l, "cc", (k * 17) % 40 + 1), IK_OK);
	for (uint64_t i = 1; i <= 40; i++) {
		uint8_t serial[9];

		mkserial(serial, i);
		if (i % 3 == 0) {
			assert_int_equal(sg_ledger_event(f->l, serial, 9, SG_EV_REVOKE, (uint8_t)(i % 6),
			    (int64_t)(1000 + i), NULL), IK_OK);
			revoked++;
		} else if (i % 5 == 0) {
			assert_int_equal(sg_ledger_event(f->l, serial, 9, SG_EV_HOLD, 0,
			    (int64_t)(2000 + i), NULL), IK_OK);
			if (i % 10 == 0)
				assert_int_equal(sg_ledger_event(f->l, serial, 9, SG_EV_RELEASE, 0,
				    (int64_t)(3000 + i), NULL), IK_OK);
			else
				held++;
		}
	}
	assert_int_equal(sg_ledger_crl_open(f->l, &c, &count), IK_OK);
	assert_int_equal(count, revoked + held);
	/* a change after the cursor opened is not seen by it (one snapshot) */
	{
		uint8_t serial[9];
		mkserial(serial, 1);
		assert_int_equal(sg_ledger_event(f->l, serial, 9, SG_EV_REVOKE, 1, 1, NULL), IK_OK);
	}
	memset(&prev, 0, sizeof(prev));
	while ((got = sg_ledger_crl_next(c, e, 3)) > 0) {
		assert_true(got <= 3);
		for (long k = 0; k < got; k++) {
			uint64_t i = 0;

			assert_int_equal(e[k].serial_len, 9);
			for (size_t b = 1; b < 9; b++)
				i = i << 8 | e[k].serial[b];
			if (seen > 0)
				assert_true(blob_cmp(prev.serial, prev.serial_len, e[k].serial,
				    e[k].serial_len) < 0);
			if (i % 3 == 0) {
				assert_int_equal(e[k].reason, i % 6);
				assert_int_equal(e[k].when, 1000 + (int64_t)i);
			} else {
				assert_true(i % 5 == 0 && i % 10 != 0);
				assert_int_equal(e[k].reason, 6);
				assert_int_equal(e[k].when, 2000 + (int64_t)i);
			}
			prev = e[k];
			seen++;
		}
	}
	assert_int_equal(got, 0);
	assert_int_equal(sg_ledger_crl_next(c, e, 3), 0); /* stays at the end */
	assert_int_equal(seen, count);
	sg_ledger_crl_close(c);
	/* a new cursor sees the later revocation */
	assert_int_equal(sg_ledger_crl_open(f->l, &c, &count), IK_OK);
	assert_int_equal(count, revoked + held + 1);
	sg_ledger_crl_close(c);
	sg_ledger_crl_close(NULL);
}

/* Batches: many operations in one transaction, each checked as the single calls check it;
 * a refused one is reported by index and the others are durable all the same. */
static void test_batch(void **state)
{
	fixture *f = *state;
	enum { N = 200 };
	static uint8_t serial[N][9];
	static char id[N][32];
	const uint8_t tbs[4] = { 0x30, 0x02, 0x05, 0x00 }, der[4] = { 0x30, 0x02, 0x05, 0x00 };
	sg_ledger_batch *b = NULL;
	uint64_t issued, revoked, held;
	size_t failed = 0;
	uint8_t state8;

	assert_int_equal(sg_ledger_batch_new(0, &b), IK_ERR_ARG);
	assert_int_equal(sg_ledger_batch_new(3 * N, &b), IK_OK);
	for (size_t i = 0; i < N; i++) {
		mkserial(serial[i], 5000 + i);
		mkid(id[i], sizeof(id[i]), "batch", i);
		assert_int_equal(sg_ledger_batch_intent(b, id[i], serial[i], 9, "client", "CN=b", 1, 2,
		    tbs, sizeof(tbs)), IK_OK);
		assert_int_equal(sg_ledger_batch_cert(b, id[i], der, sizeof(der)), IK_OK);
		if (i % 2 == 0)
			assert_int_equal(sg_ledger_batch_event(b, serial[i], 9, SG_EV_REVOKE,
			    (uint8_t)(i % 6), 100), IK_OK);
		else
			assert_int_equal(sg_ledger_batch_event(b, serial[i], 9, SG_EV_HOLD, 0, 100), IK_OK);
	}
	assert_int_equal(sg_ledger_batch_len(b), 3 * N);
	/* full; refusals at queueing time leave the batch as it was */
	assert_int_equal(sg_ledger_batch_cert(b, id[0], der, sizeof(der)), IK_ERR_BUSY);
	assert_int_equal(sg_ledger_batch_commit(f->l, b, &failed), IK_OK);
	assert_int_equal(failed, SIZE_MAX);
	assert_int_equal(sg_ledger_batch_len(b), 0);
	assert_int_equal(sg_ledger_counts(f->l, &issued, &revoked, &held), IK_OK);
	assert_int_equal(issued, N);
	assert_int_equal(revoked, N / 2);
	assert_int_equal(held, N / 2);
	assert_int_equal(sg_ledger_batch_intent(b, id[0], serial[0], 0, "client", "CN=b", 1, 2,
	    tbs, sizeof(tbs)), IK_ERR_ARG);
	assert_int_equal(sg_ledger_batch_cert(b, id[0], der, 0), IK_ERR_ARG);
	assert_int_equal(sg_ledger_batch_event(b, serial[1], 9, SG_EV_REVOKE, 8, 100),
	    IK_ERR_POLICY_REASON);
	assert_int_equal(sg_ledger_batch_len(b), 0);
	/* a refused operation in the middle: reported by index, the rest still done */
	assert_int_equal(sg_ledger_batch_event(b, serial[1], 9, SG_EV_REVOKE, 1, 200), IK_OK);
	assert_int_equal(sg_ledger_batch_event(b, serial[0], 9, SG_EV_RELEASE, 0, 200), IK_OK);
	assert_int_equal(sg_ledger_batch_event(b, serial[3], 9, SG_EV_RELEASE, 0, 200), IK_OK);
	assert_int_equal(sg_ledger_batch_commit(f->l, b, &failed), IK_ERR_POLICY_REVOKED);
	assert_int_equal(failed, 1);
	assert_int_equal(sg_ledger_counts(f->l, &issued, &revoked, &held), IK_OK);
	assert_int_equal(revoked, N / 2 + 1);
	assert_int_equal(held, N / 2 - 2);
	assert_int_equal(sg_ledger_event(f->l, serial[3], 9, SG_EV_HOLD, 0, 300, &state8), IK_OK);
	assert_int_equal(state8, PROTO_STATE_HELD);
	assert_int_equal(sg_ledger_batch_commit(f->l, b, NULL), IK_OK); /* empty */
	sg_ledger_batch_free(b);
	sg_ledger_batch_free(NULL);
}

/* The changes cursor: every serial with an event after the mark, with its entry now, or
 * removed; in serial order; nothing after the newest mark. */
static void test_crl_changes(void **state)
{
	fixture *f = *state;
	sg_ledger_cursor *c = NULL;
	sg_crl_entry e[8];
	int64_t mark0 = -1, mark1 = -1, mark2 = -1;
	uint8_t s[8][9];
	long got;

	for (uint64_t i = 1; i <= 7; i++) {
		assert_int_equal(issue(f->l, "ch", i), IK_OK);
		mkserial(s[i], i);
	}
	assert_int_equal(sg_ledger_event(f->l, s[1], 9, SG_EV_REVOKE, 1, 10, NULL), IK_OK);
	assert_int_equal(sg_ledger_event(f->l, s[2], 9, SG_EV_HOLD, 0, 11, NULL), IK_OK);
	assert_int_equal(sg_ledger_crl_open_all(f->l, &c, &mark0), IK_OK);
	assert_int_equal(sg_ledger_crl_next(c, e, 8), 2);
	sg_ledger_crl_close(c);
	assert_true(mark0 > 0);
	/* after the mark: 2 released, 4 revoked, 5 held, 6 held and released, 3 untouched,
	 * 7 held then revoked */
	assert_int_equal(sg_ledger_event(f->l, s[7], 9, SG_EV_HOLD, 0, 19, NULL), IK_OK);
	assert_int_equal(sg_ledger_event(f->l, s[2], 9, SG_EV_RELEASE, 0, 20, NULL), IK_OK);
	assert_int_equal(sg_ledger_event(f->l, s[4], 9, SG_EV_REVOKE, 9, 21, NULL), IK_OK);
	assert_int_equal(sg_ledger_event(f->l, s[5], 9, SG_EV_HOLD, 0, 22, NULL), IK_OK);
	assert_int_equal(sg_ledger_event(f->l, s[6], 9, SG_EV_HOLD, 0, 23, NULL), IK_OK);
	assert_int_equal(sg_ledger_event(f->l, s[6], 9, SG_EV_RELEASE, 0, 24, NULL), IK_OK);
	assert_int_equal(sg_ledger_event(f->l, s[7], 9, SG_EV_REVOKE, 4, 25, NULL), IK_OK);
	assert_int_equal(sg_ledger_crl_changes(f->l, -1, &c, &mark1), IK_ERR_ARG);
	assert_int_equal(sg_ledger_crl_changes(f->l, mark0, &c, &mark1), IK_OK);
	assert_true(mark1 > mark0);
	got = sg_ledger_crl_next(c, e, 8);
	assert_int_equal(got, 5);
	assert_int_equal(sg_ledger_crl_next(c, e + 5, 3), 0);
	sg_ledger_crl_close(c);
	assert_memory_equal(e[0].serial, s[2], 9);
	assert_int_equal(e[0].removed, 1);
	assert_memory_equal(e[1].serial, s[4], 9);
	assert_true(!e[1].removed && e[1].reason == 9 && e[1].when == 21);
	assert_memory_equal(e[2].serial, s[5], 9);
	assert_true(!e[2].removed && e[2].reason == 6 && e[2].when == 22);
	assert_memory_equal(e[3].serial, s[6], 9);
	assert_int_equal(e[3].removed, 1);
	assert_memory_equal(e[4].serial, s[7], 9);
	assert_true(!e[4].removed && e[4].reason == 4 && e[4].when == 25);
	/* nothing since the newest mark */
	assert_int_equal(sg_ledger_crl_changes(f->l, mark1, &c, &mark2), IK_OK);
	assert_int_equal(mark2, mark1);
	assert_int_equal(sg_ledger_crl_next(c, e, 8), 0);
	sg_ledger_crl_close(c);
	/* the full cursor never says removed */
	assert_int_equal(sg_ledger_crl_open_all(f->l, &c, &mark2), IK_OK);
	assert_int_equal(mark2, mark1);
	assert_int_equal(sg_ledger_crl_next(c, e, 8), 4); /* 1, 4, 5, 7 */
	for (int k = 0; k < 4; k++)
		assert_int_equal(e[k].removed, 0);
	sg_ledger_crl_close(c);
}

/* Asynchronous appends: each callback runs once, on the committer, with the outcome; the
 * rows are durable by then (a fresh read sees them). */
typedef struct async_wait {
	pthread_mutex_t lock;
	pthread_cond_t cv;
	int calls;
	ik_status st[8];
} async_wait;

static void async_cb(void *arg, ik_status st)
{
	async_wait *w = arg;

	pthread_mutex_lock(&w->lock);
	w->st[w->calls < 8 ? w->calls : 7] = st;
	w->calls++;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->lock);
}

static void async_wait_for(async_wait *w, int calls)
{
	pthread_mutex_lock(&w->lock);
	while (w->calls < calls)
		pthread_cond_wait(&w->cv, &w->lock);
	pthread_mutex_unlock(&w->lock);
}

static void test_async(void **state)
{
	fixture *f = *state;
	async_wait w = { .lock = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };
	uint8_t serial[9], other[9];
	const uint8_t tbs[4] = { 0x30, 0x02, 0x05, 0x00 }, der[4] = { 0x30, 0x02, 0x05, 0x01 };
	sg_issued got;

	mkserial(serial, 777);
	mkserial(other, 778);
	assert_int_equal(sg_ledger_intent_async(f->l, "as-1", serial, 9, "client", "CN=a", 1, 2, tbs,
	    sizeof(tbs), async_cb, &w), IK_OK);
	/* the same serial again, for another id: refused by the ledger, reported to the callback */
	assert_int_equal(sg_ledger_intent_async(f->l, "as-2", serial, 9, "client", "CN=a", 1, 2, tbs,
	    sizeof(tbs), async_cb, &w), IK_OK);
	async_wait_for(&w, 2);
	assert_int_equal(w.st[0], IK_OK);
	assert_int_equal(w.st[1], IK_ERR_EXISTS);
	assert_int_equal(sg_ledger_cert_async(f->l, "as-1", der, sizeof(der), async_cb, &w), IK_OK);
	assert_int_equal(sg_ledger_cert_async(f->l, "as-none", der, sizeof(der), async_cb, &w), IK_OK);
	async_wait_for(&w, 4);
	assert_int_equal(w.st[2], IK_OK);
	assert_int_equal(w.st[3], IK_ERR_NOT_FOUND); /* no intent for that id */
	assert_int_equal(sg_ledger_find_request(f->l, "as-1", &got), IK_OK);
	assert_int_equal(got.der_len, sizeof(der));
	assert_memory_equal(got.der, der, sizeof(der));
	sg_issued_cleanup(&got);
	assert_int_equal(sg_ledger_find_request(f->l, "as-2", &got), IK_ERR_NOT_FOUND);
	/* refused before queueing: the callback is never called */
	assert_int_equal(sg_ledger_intent_async(f->l, "as-3", other, 0, "client", "CN=a", 1, 2, tbs,
	    sizeof(tbs), async_cb, &w), IK_ERR_ARG);
	assert_int_equal(sg_ledger_cert_async(f->l, "as-3", der, sizeof(der), NULL, NULL), IK_ERR_ARG);
	assert_int_equal(sg_ledger_cert_async(f->l, "as-3", der, 0, async_cb, &w), IK_ERR_ARG);
	assert_int_equal(w.calls, 4);
}

/* The pacer: while it says the callers are busy, the committer holds a commit open (up to
 * 8 ms) for more appends to join; the after-batch hook runs once the commit's callbacks
 * have.  The wait once timed out at once (a monotonic deadline on a realtime condition). */
typedef struct pace {
	int busy;
	size_t want;     /* busy: let a commit grow to this many operations (0: no limit) */
	int asked;       /* times the pacer was consulted */
	int hooks;       /* after-batch calls */
	int calls_seen;  /* callbacks already run when the hook last ran */
	async_wait *w;
} pace;

static size_t pace_busy(void *arg)
{
	pace *p = arg;

	__atomic_add_fetch(&p->asked, 1, __ATOMIC_SEQ_CST);
	if (!__atomic_load_n(&p->busy, __ATOMIC_SEQ_CST))
		return 0;
	return p->want != 0 ? p->want : SIZE_MAX;
}

static void pace_after(void *arg)
{
	pace *p = arg;

	pthread_mutex_lock(&p->w->lock);
	p->calls_seen = p->w->calls;
	pthread_mutex_unlock(&p->w->lock);
	__atomic_add_fetch(&p->hooks, 1, __ATOMIC_SEQ_CST);
}

static void test_pacer(void **state)
{
	fixture *f = *state;
	async_wait w = { .lock = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };
	pace p = { .busy = 1, .w = &w };
	const uint8_t tbs[4] = { 0x30, 0x02, 0x05, 0x00 };
	uint8_t serial[9];
	double t0, dt;

	sg_ledger_set_pacer(f->l, pace_busy, &p);
	sg_ledger_set_after_batch(f->l, pace_after, &p);
	mkserial(serial, 901);
	t0 = now_mono();
	assert_int_equal(sg_ledger_intent_async(f->l, "pace-1", serial, 9, "client", "CN=a", 1, 2,
	    tbs, sizeof(tbs), async_cb, &w), IK_OK);
	async_wait_for(&w, 1);
	dt = now_mono() - t0;
	assert_int_equal(w.st[0], IK_OK);
	assert_true(__atomic_load_n(&p.asked, __ATOMIC_SEQ_CST) >= 1);
	assert_true(dt >= 0.007); /* held for the 8 ms the pacer allows */
	while (__atomic_load_n(&p.hooks, __ATOMIC_SEQ_CST) < 1)
		usleep(1000);
	assert_int_equal(p.calls_seen, 1); /* the hook ran after the commit's callback */
	/* not busy: committed without waiting for more */
	__atomic_store_n(&p.busy, 0, __ATOMIC_SEQ_CST);
	sg_ledger_nudge(f->l);
	mkserial(serial, 902);
	assert_int_equal(sg_ledger_intent_async(f->l, "pace-2", serial, 9, "client", "CN=a", 1, 2,
	    tbs, sizeof(tbs), async_cb, &w), IK_OK);
	async_wait_for(&w, 2);
	assert_int_equal(w.st[1], IK_OK);
	while (__atomic_load_n(&p.hooks, __ATOMIC_SEQ_CST) < 2)
		usleep(1000);
	assert_int_equal(p.calls_seen, 2);
}

/* A pacer that lets a commit grow to 3 operations: with 2 queued the commit is held for the
 * whole 8 ms; the third starts it at once (at least once in five tries: a busy machine can
 * delay the committer), all three in one commit. */
static void test_pacer_target(void **state)
{
	fixture *f = *state;
	async_wait w = { .lock = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };
	pace p = { .busy = 1, .want = 3, .w = &w };
	const uint8_t tbs[4] = { 0x30, 0x02, 0x05, 0x00 };
	uint8_t serial[3][9];
	char id[3][32]; /* the ledger keeps pointers until the callback */
	double t0, dt;
	int early = 0, hooks;

	sg_ledger_set_pacer(f->l, pace_busy, &p);
	sg_ledger_set_after_batch(f->l, pace_after, &p);
	t0 = now_mono();
	for (int k = 0; k < 2; k++) {
		mkserial(serial[k], 910 + (uint64_t)k);
		snprintf(id[k], sizeof(id[k]), "target-%d", k);
		assert_int_equal(sg_ledger_intent_async(f->l, id[k], serial[k], 9, "client", "CN=a", 1, 2,
		    tbs, sizeof(tbs), async_cb, &w), IK_OK);
	}
	async_wait_for(&w, 2);
	dt = now_mono() - t0;
	assert_true(dt >= 0.007); /* two of three: held for the 8 ms */
	for (int t = 0; t < 5 && !early; t++) {
		while ((hooks = __atomic_load_n(&p.hooks, __ATOMIC_SEQ_CST)) < 1 + t)
			usleep(1000);
		t0 = now_mono();
		for (int k = 0; k < 3; k++) {
			mkserial(serial[k], 920 + (uint64_t)(3 * t + k));
			snprintf(id[k], sizeof(id[k]), "target-%d-%d", t, k);
			assert_int_equal(sg_ledger_intent_async(f->l, id[k], serial[k], 9, "client", "CN=a",
			    1, 2, tbs, sizeof(tbs), async_cb, &w), IK_OK);
		}
		async_wait_for(&w, 2 + 3 * (t + 1));
		dt = now_mono() - t0;
		early = dt < 0.006;
		while (__atomic_load_n(&p.hooks, __ATOMIC_SEQ_CST) < hooks + 1)
			usleep(1000);
	}
	assert_true(early);
	for (int k = 0; k < 8; k++)
		assert_int_equal(w.st[k], IK_OK);
}

/* Throughput: threads each doing intent + cert in a loop (synchronous=FULL).  Printed, not
 * asserted: timings are not pass/fail. */
static void throughput(fixture *f, int nthreads, double seconds)
{
	worker w[64];
	pthread_t th[64];
	uint64_t total = 0;
	double t0, dt;

	t0 = now_mono();
	for (int i = 0; i < nthreads; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].l = f->l;
		snprintf(w[i].prefix, sizeof(w[i].prefix), "b%d-%d", nthreads, i);
		w[i].first = ((uint64_t)nthreads << 40) + (uint64_t)i * 10000000u;
		w[i].seconds = seconds;
		assert_int_equal(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
	}
	for (int i = 0; i < nthreads; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(w[i].failures, 0);
		total += w[i].done;
	}
	dt = now_mono() - t0;
	print_message("ledger: %2d threads: %llu certs in %.2f s = %.0f certs/s (intent+cert)\n",
	    nthreads, (unsigned long long)total, dt, (double)total / dt);
}

static void test_throughput(void **state)
{
	fixture *f = *state;
	uint64_t issued, revoked, held;

	throughput(f, 2, 2.0);
	throughput(f, 16, 2.0);
	throughput(f, 64, 2.0);
	assert_int_equal(sg_ledger_counts(f->l, &issued, &revoked, &held), IK_OK);
	assert_true(issued > 0);
}

/* The CRL cursor over a million revoked certificates (rows made by hand in one
 * transaction; the cursor is what is timed). */
static void test_cursor_million(void **state)
{
	fixture *f = *state;
	const unsigned n = 1000000;
	sg_ledger_cursor *c = NULL;
	sg_crl_entry *e = malloc(4096 * sizeof(*e));
	size_t count = 0, seen = 0;
	double t0;
	long got;
	sqlite3 *db = raw_open(f);
	char *err = NULL;

	assert_non_null(e);
	t0 = now_mono();
	if (sqlite3_exec(db, "BEGIN;"
	    "WITH RECURSIVE k(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM k WHERE x < 1000000)"
	    " INSERT INTO intents SELECT 'm-' || x, randomblob(16), 'client', 'CN=x', 0, 1, x'30',"
	    " 0 FROM k;"
	    "INSERT INTO certs SELECT serial, request_id, x'30', x'00', 0 FROM intents;"
	    "INSERT INTO status SELECT serial, 2, 1, 1700000000 FROM certs;"
	    "COMMIT;", NULL, NULL, &err) != SQLITE_OK)
		fail_msg("bulk insert: %s", err);
	sqlite3_close(db);
	print_message("ledger: %u revoked rows made in %.2f s\n", n, now_mono() - t0);
	t0 = now_mono();
	assert_int_equal(sg_ledger_crl_open(f->l, &c, &count), IK_OK);
	assert_int_equal(count, n);
	while ((got = sg_ledger_crl_next(c, e, 4096)) > 0) {
		for (long k = 0; k < got; k++)
			assert_true(e[k].serial_len == 16 && e[k].reason == 1);
		seen += (size_t)got;
	}
	assert_int_equal(got, 0);
	sg_ledger_crl_close(c);
	print_message("ledger: CRL cursor read %zu entries in %.0f ms\n", seen,
	    (now_mono() - t0) * 1e3);
	assert_int_equal(seen, n);
	free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_migrate_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrate_counts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_intent_cert, setup, teardown),
		cmocka_unit_test_setup_teardown(test_duplicates, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_machine, setup, teardown),
		cmocka_unit_test_setup_teardown(test_append_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crl_numbers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crl_cursor, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crl_changes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_async, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pacer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pacer_target, setup, teardown),
		cmocka_unit_test_setup_teardown(test_throughput, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cursor_million, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
