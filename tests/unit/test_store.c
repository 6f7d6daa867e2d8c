/* Unit tests for the RA store (ra/store_sqlite*.c, ra/history.c) on a real SQLite file in a
 * temporary directory: migrations and re-open, every API with its refusals, keyset paging
 * over 250 certificates, LIKE escaping, rollback, the history chain against rows edited by
 * hand (through a raw sqlite3 connection), and the queue (claim, complete, fail, recovery),
 * also claimed from several threads at once. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <sqlite3.h>
#include <openssl/evp.h>
#include "certlist_oracle.h"
#include "store.h"
#include "store_fixture.h"
#include "tmpdb.h"

static const ra_hist H_TEST = { "tester", "192.0.2.1", "test_op", "t", "{}" };
static const uint8_t SPKI[] = { 0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce,
	0x3d, 0x02, 0x01 }; /* opaque to the store: only stored */
static const char PHC[] = "$scrypt$ln=15,r=8,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA";

static int setup(void **state)
{
	return ik_store_setup(state, "store");
}

static int teardown(void **state)
{
	return ik_store_teardown(state);
}

/* ---- raw access to the file, as an attacker or an operator with sqlite3 would ---- */

/* SHA-256 over every row of every table (in rowid order, each column with its type), to
 * show that a rolled-back change left the file's contents exactly as they were. */
static void db_digest(const char *path, uint8_t out[32])
{
	static const char *const tables[] = { "officers", "sessions", "api_tokens", "users",
		"devices", "batches", "certificates", "requests", "download_credentials",
		"settings", "history", "schema_version" };
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	sqlite3 *db = NULL;
	unsigned len = 0;

	assert_non_null(md);
	assert_int_equal(EVP_DigestInit_ex(md, EVP_sha256(), NULL), 1);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++) {
		char sql[96];
		sqlite3_stmt *q;
		snprintf(sql, sizeof(sql), "SELECT * FROM %s ORDER BY 1", tables[t]);
		assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK);
		EVP_DigestUpdate(md, tables[t], strlen(tables[t]) + 1);
		while (sqlite3_step(q) == SQLITE_ROW) {
			for (int i = 0; i < sqlite3_column_count(q); i++) {
				uint8_t type = (uint8_t)sqlite3_column_type(q, i);
				const void *b = sqlite3_column_blob(q, i);
				uint32_t n = (uint32_t)sqlite3_column_bytes(q, i);
				EVP_DigestUpdate(md, &type, 1);
				EVP_DigestUpdate(md, &n, sizeof(n));
				if (b != NULL)
					EVP_DigestUpdate(md, b, n);
			}
		}
		sqlite3_finalize(q);
	}
	sqlite3_close(db);
	assert_int_equal(EVP_DigestFinal_ex(md, out, &len), 1);
	EVP_MD_CTX_free(md);
}

/* ---- helpers ---- */

static int64_t add_officer(ra_store *s, const char *login, int role)
{
	ra_officer o;

	assert_int_equal(ra_store_officer_add(s, login, role, PHC, "cli", "local"), IK_OK);
	assert_int_equal(ra_store_officer_by_login(s, login, &o), IK_OK);
	return o.id;
}

static int64_t add_user(ra_store *s, const char *ext)
{
	ra_user u = { 0 };
	int64_t id;

	snprintf(u.external_id, sizeof(u.external_id), "%s", ext);
	snprintf(u.email, sizeof(u.email), "%s@example.org", ext);
	snprintf(u.display_name, sizeof(u.display_name), "User %s", ext);
	assert_int_equal(ra_store_user_add(s, &u, &H_TEST, &id), IK_OK);
	return id;
}

static int64_t add_device(ra_store *s, int64_t user, const char *name)
{
	ra_device d = { 0 };
	int64_t id;

	d.user_id = user;
	snprintf(d.name, sizeof(d.name), "%s", name);
	snprintf(d.model, sizeof(d.model), "iPhone 15 / iOS 17");
	assert_int_equal(ra_store_device_add(s, &d, NULL, &id), IK_OK);
	return id;
}

static ra_request queue_issue(ra_store *s, int64_t device, const char *cn, int64_t batch)
{
	ra_request_new rn = { .kind = RA_REQ_ISSUE, .device_id = device, .batch_id = batch,
		.cn = cn, .validity_days = 365, .spki = SPKI, .spki_len = sizeof(SPKI),
		.created_by = "officer1" };
	ra_request r;

	assert_int_equal(ra_store_request_add(s, &rn, &H_TEST, &r), IK_OK);
	return r;
}

/* The signer's answer, with a fake DER (the store only stores and hashes it). */
static ik_status answer(ra_store *s, int64_t req_id, unsigned serial, int64_t nb, int64_t na)
{
	char hex[16];
	uint8_t der[40];
	ra_issued is = { hex, der, sizeof(der), nb, na };

	snprintf(hex, sizeof(hex), "%04x", serial);
	for (size_t i = 0; i < sizeof(der); i++)
		der[i] = (uint8_t)(serial + i);
	return ra_store_request_complete(s, req_id, &is, &H_TEST);
}

/* issue, claim and complete: the certificate's id */
static int64_t issue_now(ra_store *s, int64_t device, const char *cn, unsigned serial,
    int64_t nb, int64_t na)
{
	ra_request r = queue_issue(s, device, cn, 0), c;

	assert_int_equal(ra_store_request_claim_id(s, r.id, &c), IK_OK);
	assert_int_equal(answer(s, r.id, serial, nb, na), IK_OK);
	return r.cert_id;
}

/* revoke/suspend/resume through the queue */
static void event_now(ra_store *s, ra_request_kind kind, int64_t cert, int reason)
{
	ra_request_new rn = { .kind = kind, .cert_id = cert, .reason = reason };
	ra_request r, c;

	assert_int_equal(ra_store_request_add(s, &rn, NULL, &r), IK_OK);
	assert_int_equal(ra_store_request_claim_id(s, r.id, &c), IK_OK);
	assert_int_equal(ra_store_request_complete(s, r.id, NULL, &H_TEST), IK_OK);
}

/* ---- migrations ---- */

static void test_migrations(void **state)
{
	fixture *f = *state;
	char why[512], p[160];
	int dbv = -1, codev = -1;
	ra_store *s2 = NULL;
	ra_officer o;

	assert_int_equal(ra_store_schema_version(f->s, &dbv, &codev), IK_OK);
	assert_true(codev >= 1);
	assert_int_equal(dbv, codev);
	assert_int_equal(ik_raw_int(f->path, "SELECT COUNT(*) FROM schema_version"), codev);
	assert_int_equal(ik_raw_int(f->path, "SELECT version FROM schema_version WHERE name ="
	    " '001_init.sql'"), 1);

	/* re-open: nothing re-applied, data kept, WAL and foreign keys in force */
	add_officer(f->s, "keeper", RA_OFFICER_ADMIN);
	ra_store_close(f->s);
	f->s = NULL;
	assert_int_equal(ra_store_open(f->path, &f->s), IK_OK);
	assert_int_equal(ra_store_officer_by_login(f->s, "keeper", &o), IK_OK);
	assert_int_equal(ik_raw_int(f->path, "SELECT COUNT(*) FROM schema_version"), codev);
	{
		sqlite3 *db;
		sqlite3_stmt *q;
		assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
		assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &q, NULL),
		    SQLITE_OK);
		assert_int_equal(sqlite3_step(q), SQLITE_ROW);
		assert_string_equal((const char *)sqlite3_column_text(q, 0), "wal");
		sqlite3_finalize(q);
		sqlite3_close(db);
	}
	/* foreign keys are on in the store's connections: a device of no user */
	{
		ra_device d = { .user_id = 999 };
		int64_t id;
		snprintf(d.name, sizeof(d.name), "orphan");
		assert_int_equal(ra_store_device_add(f->s, &d, NULL, &id), IK_ERR_NOT_FOUND);
	}

	/* a database from a newer version of the code is refused, clearly */
	ra_store_close(f->s);
	f->s = NULL;
	assert_int_equal(ik_raw_exec(f->path, "INSERT INTO schema_version VALUES (999,"
	    " '999_future.sql', 0)"), SQLITE_OK);
	assert_int_equal(ra_store_open_why(f->path, &s2, why, sizeof(why)), IK_ERR_STATE);
	assert_null(s2);
	assert_non_null(strstr(why, "999"));
	assert_non_null(strstr(why, "newer"));
	assert_int_equal(ik_raw_exec(f->path, "DELETE FROM schema_version WHERE version = 999"),
	    SQLITE_OK);
	assert_int_equal(ra_store_open(f->path, &f->s), IK_OK);

	/* not a database at all */
	snprintf(p, sizeof(p), "%s/junk.db", f->dir);
	{
		FILE *fp = fopen(p, "w");
		assert_non_null(fp);
		fputs("this is not an SQLite database, just some text long enough .......\n"
		    "...................................................................\n", fp);
		fclose(fp);
	}
	assert_int_not_equal(ra_store_open_why(p, &s2, why, sizeof(why)), IK_OK);
	assert_null(s2);
	assert_non_null(strstr(why, "junk.db"));
	unlink(p);
	assert_int_equal(ra_store_open_why("", &s2, why, sizeof(why)), IK_ERR_ARG);
}

/* ---- officers, sessions, tokens ---- */

static void test_officers(void **state)
{
	fixture *f = *state;
	ra_officer o, rows[8];
	int64_t id = add_officer(f->s, "admin", RA_OFFICER_ADMIN), until = 1;
	size_t n = 0;
	int64_t now = (int64_t)time(NULL);

	assert_int_equal(ra_store_officer_add(f->s, "admin", RA_OFFICER_OFFICER, PHC, "cli", ""),
	    IK_ERR_EXISTS);
	assert_int_equal(ra_store_officer_add(f->s, "ADMIN", RA_OFFICER_OFFICER, PHC, "cli", ""),
	    IK_ERR_EXISTS); /* logins compare without case */
	assert_int_equal(ra_store_officer_add(f->s, "x", 5, PHC, "cli", ""), IK_ERR_ARG);
	assert_int_equal(ra_store_officer_add(f->s, "x", RA_OFFICER_OFFICER, "plaintext", "cli",
	    ""), IK_ERR_ARG); /* never a password in clear */
	assert_int_equal(ra_store_officer_add(f->s, "", RA_OFFICER_OFFICER, PHC, "cli", ""),
	    IK_ERR_ARG);
	assert_int_equal(ik_raw_int(f->path, "SELECT COUNT(*) FROM history WHERE op ="
	    " 'officer_added' AND target = 'admin' AND actor = 'cli'"), 1);

	assert_int_equal(ra_store_officer_get(f->s, id, &o), IK_OK);
	assert_string_equal(o.login, "admin");
	assert_int_equal(o.role, RA_OFFICER_ADMIN);
	assert_string_equal(o.password, PHC);
	assert_int_equal(o.failed_logins, 0);
	assert_int_equal(o.locked_until, 0);
	assert_int_equal(ra_store_officer_get(f->s, 4242, &o), IK_ERR_NOT_FOUND);
	assert_int_equal(ra_store_officer_by_login(f->s, "nobody", &o), IK_ERR_NOT_FOUND);

	/* lockout: threshold 3 */
	assert_int_equal(ra_store_officer_login_failed(f->s, id, 3, now + 600, &until), IK_OK);
	assert_int_equal(until, 0);
	assert_int_equal(ra_store_officer_login_failed(f->s, id, 3, now + 600, &until), IK_OK);
	assert_int_equal(until, 0);
	assert_int_equal(ra_store_officer_get(f->s, id, &o), IK_OK);
	assert_int_equal(o.failed_logins, 2);
	assert_int_equal(ra_store_officer_login_failed(f->s, id, 3, now + 600, &until), IK_OK);
	assert_int_equal(until, now + 600);
	assert_int_equal(ra_store_officer_get(f->s, id, &o), IK_OK);
	assert_int_equal(o.failed_logins, 0);
	assert_int_equal(o.locked_until, now + 600);
	/* a failure while locked keeps the lock */
	assert_int_equal(ra_store_officer_login_failed(f->s, id, 3, now + 900, &until), IK_OK);
	assert_int_equal(until, now + 600);
	assert_int_equal(ra_store_officer_login_ok(f->s, id), IK_OK);
	assert_int_equal(ra_store_officer_get(f->s, id, &o), IK_OK);
	assert_int_equal(o.failed_logins, 0);
	assert_int_equal(o.locked_until, 0);
	/* a lock that ran out reads as 0 */
	assert_int_equal(ik_raw_exec(f->path, "UPDATE officers SET locked_until = 5"), SQLITE_OK);
	assert_int_equal(ra_store_officer_login_failed(f->s, id, 3, now + 600, &until), IK_OK);
	assert_int_equal(until, 0);
	assert_int_equal(ra_store_officer_login_failed(f->s, 4242, 3, now, &until),
	    IK_ERR_NOT_FOUND);
	assert_int_equal(ra_store_officer_login_ok(f->s, 4242), IK_ERR_NOT_FOUND);

	assert_int_equal(ra_store_officer_set_password(f->s, id, "$scrypt$new"), IK_OK);
	assert_int_equal(ra_store_officer_get(f->s, id, &o), IK_OK);
	assert_string_equal(o.password, "$scrypt$new");
	assert_int_equal(ra_store_officer_set_password(f->s, id, "clear"), IK_ERR_ARG);
	assert_int_equal(ra_store_officer_set_role(f->s, id, RA_OFFICER_AUDITOR, &H_TEST), IK_OK);
	assert_int_equal(ra_store_officer_set_role(f->s, id, 1, &H_TEST), IK_ERR_ARG);
	assert_int_equal(ra_store_officer_set_role(f->s, 4242, RA_OFFICER_AUDITOR, NULL),
	    IK_ERR_NOT_FOUND);

	add_officer(f->s, "bob", RA_OFFICER_OFFICER);
	add_officer(f->s, "carol", RA_OFFICER_AUDITOR);
	assert_int_equal(ra_store_officer_list(f->s, 0, rows, 8, &n), IK_OK);
	assert_int_equal(n, 3);
	assert_string_equal(rows[1].login, "bob");
	assert_int_equal(ra_store_officer_list(f->s, rows[1].id, rows, 8, &n), IK_OK);
	assert_int_equal(n, 1);
	assert_string_equal(rows[0].login, "carol");
}

static void test_sessions_tokens(void **state)
{
	fixture *f = *state;
	int64_t a = add_officer(f->s, "alice", RA_OFFICER_OFFICER);
	int64_t b = add_officer(f->s, "bert", RA_OFFICER_ADMIN);
	ra_session s1 = { .officer_id = a, .created = 1000, .last_seen = 1000 }, s2, s3, got;
	uint8_t th[32], other[32];
	int64_t who = 0;
	size_t n = 0;

	memset(s1.id_hash, 0x11, 32);
	s2 = s1;
	memset(s2.id_hash, 0x22, 32);
	s2.has_csrf = 1;
	memset(s2.csrf_hash, 0x99, 32);
	s3 = s1;
	memset(s3.id_hash, 0x33, 32);
	s3.officer_id = b;
	assert_int_equal(ra_store_session_add(f->s, &s1), IK_OK);
	assert_int_equal(ra_store_session_add(f->s, &s2), IK_OK);
	assert_int_equal(ra_store_session_add(f->s, &s3), IK_OK);
	assert_int_equal(ra_store_session_add(f->s, &s1), IK_ERR_EXISTS);
	s3.officer_id = 4242;
	memset(s3.id_hash, 0x44, 32);
	assert_int_equal(ra_store_session_add(f->s, &s3), IK_ERR_NOT_FOUND);

	assert_int_equal(ra_store_session_get(f->s, s2.id_hash, &got), IK_OK);
	assert_int_equal(got.officer_id, a);
	assert_int_equal(got.has_csrf, 1);
	assert_memory_equal(got.csrf_hash, s2.csrf_hash, 32);
	assert_int_equal(ra_store_session_get(f->s, s1.id_hash, &got), IK_OK);
	assert_int_equal(got.has_csrf, 0);
	assert_int_equal(ra_store_session_touch(f->s, s1.id_hash, 2000), IK_OK);
	assert_int_equal(ra_store_session_touch(f->s, s1.id_hash, 1500), IK_OK); /* never back */
	assert_int_equal(ra_store_session_get(f->s, s1.id_hash, &got), IK_OK);
	assert_int_equal(got.last_seen, 2000);
	memset(other, 0x77, 32);
	assert_int_equal(ra_store_session_get(f->s, other, &got), IK_ERR_NOT_FOUND);
	assert_int_equal(ra_store_session_touch(f->s, other, 1), IK_ERR_NOT_FOUND);

	/* keep s1, drop alice's others */
	assert_int_equal(ra_store_session_delete_others(f->s, a, s1.id_hash), IK_OK);
	assert_int_equal(ra_store_session_get(f->s, s2.id_hash, &got), IK_ERR_NOT_FOUND);
	assert_int_equal(ra_store_session_get(f->s, s1.id_hash, &got), IK_OK);
	/* bert's session (0x33) is idle since 1000: expired by idle_before 1500 */
	assert_int_equal(ra_store_session_expire(f->s, 0, 1500, &n), IK_OK);
	assert_int_equal(n, 1);
	assert_int_equal(ra_store_session_delete(f->s, s1.id_hash), IK_OK);
	assert_int_equal(ra_store_session_delete(f->s, s1.id_hash), IK_ERR_NOT_FOUND);

	/* disabling an officer ends its sessions */
	assert_int_equal(ra_store_session_add(f->s, &s2), IK_OK);
	assert_int_equal(ra_store_officer_set_disabled(f->s, a, 1, &H_TEST), IK_OK);
	assert_int_equal(ra_store_session_get(f->s, s2.id_hash, &got), IK_ERR_NOT_FOUND);
	{
		ra_officer o;
		assert_int_equal(ra_store_officer_get(f->s, a, &o), IK_OK);
		assert_int_equal(o.disabled, 1);
	}

	memset(th, 0xab, 32);
	assert_int_equal(ra_store_token_add(f->s, th, "ci script", b), IK_OK);
	assert_int_equal(ra_store_token_add(f->s, th, "again", b), IK_ERR_EXISTS);
	assert_int_equal(ra_store_token_add(f->s, other, "", b), IK_ERR_ARG);
	assert_int_equal(ra_store_token_add(f->s, other, "ghost", 4242), IK_ERR_NOT_FOUND);
	assert_int_equal(ra_store_token_lookup(f->s, th, &who), IK_OK);
	assert_int_equal(who, b);
	assert_int_equal(ik_raw_int(f->path, "SELECT COUNT(*) FROM api_tokens WHERE"
	    " typeof(hash) = 'blob' AND length(hash) = 32 AND name = 'ci script'"), 1);
	assert_int_equal(ra_store_token_lookup(f->s, other, &who), IK_ERR_NOT_FOUND);
	assert_int_equal(ra_store_token_delete(f->s, th), IK_OK);
	assert_int_equal(ra_store_token_lookup(f->s, th, &who), IK_ERR_NOT_FOUND);
}

/* ---- settings ---- */

typedef struct seen {
	char keys[8][80];
	size_t n;
} seen;

static int collect(void *ctx, const char *key, const char *value)
{
	seen *x = ctx;

	(void)value;
	snprintf(x->keys[x->n++], sizeof(x->keys[0]), "%s", key);
	return x->n == 8;
}

static void test_settings(void **state)
{
	fixture *f = *state;
	char v[RA_SETTING_MAX], small[4], big[RA_SETTING_MAX + 10];
	int64_t i = 0;
	seen x = { .n = 0 };

	assert_int_equal(ra_store_setting_get(f->s, "quota", v, sizeof(v)), IK_ERR_NOT_FOUND);
	assert_int_equal(ra_store_setting_get_int(f->s, "quota", 77, &i), IK_OK);
	assert_int_equal(i, 77);
	assert_int_equal(ra_store_setting_set(f->s, "quota", "1000", &H_TEST), IK_OK);
	assert_int_equal(ra_store_setting_get_int(f->s, "quota", 77, &i), IK_OK);
	assert_int_equal(i, 1000);
	assert_int_equal(ra_store_setting_set(f->s, "quota", "1500", &H_TEST), IK_OK);
	assert_int_equal(ra_store_setting_get(f->s, "quota", v, sizeof(v)), IK_OK);
	assert_string_equal(v, "1500");
	assert_int_equal(ra_store_setting_get(f->s, "quota", small, sizeof(small)), IK_ERR_ARG);
	assert_int_equal(ra_store_setting_set(f->s, "ip_allowlist", "192.0.2.0/24, 2001:db8::/32",
	    NULL), IK_OK);
	assert_int_equal(ra_store_setting_set(f->s, "renewal.window_days", "abc", NULL), IK_OK);
	assert_int_equal(ra_store_setting_get_int(f->s, "renewal.window_days", 30, &i),
	    IK_ERR_ARG);
	assert_int_equal(ra_store_setting_set(f->s, "Bad Key", "x", NULL), IK_ERR_ARG);
	assert_int_equal(ra_store_setting_set(f->s, "k'; DROP TABLE settings;--", "x", NULL),
	    IK_ERR_ARG);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(ra_store_setting_set(f->s, "big", big, NULL), IK_ERR_ARG);
	big[RA_SETTING_MAX - 1] = '\0'; /* 4095 bytes: the largest allowed */
	assert_int_equal(ra_store_setting_set(f->s, "big", big, NULL), IK_OK);
	assert_int_equal(ra_store_setting_get(f->s, "big", v, sizeof(v)), IK_OK);
	assert_int_equal(strlen(v), RA_SETTING_MAX - 1);
	/* a value with quotes is data, not SQL */
	assert_int_equal(ra_store_setting_set(f->s, "motd", "it's \"fine\"; --", NULL), IK_OK);
	assert_int_equal(ra_store_setting_get(f->s, "motd", v, sizeof(v)), IK_OK);
	assert_string_equal(v, "it's \"fine\"; --");

	assert_int_equal(ra_store_setting_each(f->s, collect, &x), IK_OK);
	assert_int_equal(x.n, 5);
	assert_string_equal(x.keys[0], "big");
	assert_string_equal(x.keys[4], "renewal.window_days");
	assert_int_equal(ra_store_setting_delete(f->s, "motd", &H_TEST), IK_OK);
	assert_int_equal(ra_store_setting_delete(f->s, "motd", &H_TEST), IK_ERR_NOT_FOUND);
	assert_int_equal(ik_raw_int(f->path, "SELECT COUNT(*) FROM history WHERE op = 'test_op'"), 3);
}

/* ---- users and devices ---- */

static void test_users_devices(void **state)
{
	fixture *f = *state;
	int64_t u1 = add_user(f->s, "tanaka"), u2 = add_user(f->s, "sato"), d1, d2, cert;
	ra_user u = { 0 }, rows[4];
	ra_device d = { 0 }, drows[4];
	int64_t id;
	size_t n;

	snprintf(u.external_id, sizeof(u.external_id), "TANAKA");
	assert_int_equal(ra_store_user_add(f->s, &u, NULL, &id), IK_ERR_EXISTS);
	assert_int_equal(id, 0);
	u.external_id[0] = '\0';
	assert_int_equal(ra_store_user_add(f->s, &u, NULL, &id), IK_ERR_ARG);
	assert_int_equal(ra_store_user_get(f->s, u1, &u), IK_OK);
	assert_string_equal(u.external_id, "tanaka");
	assert_string_equal(u.email, "tanaka@example.org");
	assert_int_equal(ra_store_user_by_external_id(f->s, "Sato", &u), IK_OK);
	assert_int_equal(u.id, u2);
	assert_int_equal(ra_store_user_get(f->s, 999, &u), IK_ERR_NOT_FOUND);
	assert_int_equal(ra_store_user_list(f->s, 0, rows, 4, &n), IK_OK);
	assert_int_equal(n, 2);

	d1 = add_device(f->s, u1, "iphone");
	d2 = add_device(f->s, u1, "laptop");
	d.user_id = u1;
	snprintf(d.name, sizeof(d.name), "iphone");
	assert_int_equal(ra_store_device_add(f->s, &d, NULL, &id), IK_ERR_EXISTS);
	d.user_id = u2; /* the same name for another user is fine */
	assert_int_equal(ra_store_device_add(f->s, &d, NULL, &id), IK_OK);
	d.user_id = 999;
	assert_int_equal(ra_store_device_add(f->s, &d, NULL, &id), IK_ERR_NOT_FOUND);
	assert_int_equal(ra_store_device_list(f->s, u1, 0, drows, 4, &n), IK_OK);
	assert_int_equal(n, 2);
	assert_string_equal(drows[0].model, "iPhone 15 / iOS 17");
	assert_int_equal(drows[0].current_cert_id, 0);

	/* a device with a live certificate cannot go, nor its user */
	cert = issue_now(f->s, d1, "tanaka-iphone", 0x100, 1000, 2000000000);
	assert_int_equal(ra_store_device_get(f->s, d1, &d), IK_OK);
	assert_int_equal(d.current_cert_id, cert);
	assert_int_equal(ra_store_device_delete(f->s, d1, &H_TEST), IK_ERR_STATE);
	assert_int_equal(ra_store_user_delete(f->s, u1, &H_TEST), IK_ERR_STATE);
	/* ... until it is revoked; then the device and its model information go */
	event_now(f->s, RA_REQ_REVOKE, cert, 1);
	assert_int_equal(ra_store_device_delete(f->s, d1, &H_TEST), IK_OK);
	assert_int_equal(ra_store_device_get(f->s, d1, &d), IK_ERR_NOT_FOUND);
	assert_int_equal(ra_store_device_delete(f->s, d1, &H_TEST), IK_ERR_NOT_FOUND);
	{
		char sql[96];
		snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM devices WHERE id = %lld",
		    (long long)d1);
		assert_int_equal(ik_raw_int(f->path, sql), 0); /* model information went with it */
	}
	{
		ra_cert c;
		assert_int_equal(ra_store_cert_get(f->s, cert, &c), IK_OK); /* kept */
		assert_int_equal(c.device_id, 0);
		assert_int_equal(c.state, RA_CERT_REVOKED);
	}
	/* deleting the user takes its remaining devices */
	assert_int_equal(ra_store_user_delete(f->s, u1, &H_TEST), IK_OK);
	assert_int_equal(ra_store_device_get(f->s, d2, &d), IK_ERR_NOT_FOUND);
	assert_int_equal(ra_store_user_delete(f->s, u1, &H_TEST), IK_ERR_NOT_FOUND);
}

/* ---- certificate listing ---- */

#define NCERTS 250

typedef struct certrow {
	ra_cert c;
} certrow;

static int64_t build_certs(ra_store *s, int64_t now)
{
	int64_t day = 86400, base = now - 30 * day;

	assert_int_equal(ra_store_begin(s), IK_OK); /* one transaction for speed */
	for (int i = 0; i < NCERTS; i++) {
		char cn[64];
		int64_t nb = base + (i % 7) * day, na = nb + 365 * day, id;

		if (i == 10)
			snprintf(cn, sizeof(cn), "a%%b");
		else if (i == 11)
			snprintf(cn, sizeof(cn), "a_b");
		else if (i == 12)
			snprintf(cn, sizeof(cn), "axb");
		else if (i == 13)
			snprintf(cn, sizeof(cn), "a\\b");
		else if (i % 50 == 0)
			snprintf(cn, sizeof(cn), "dup"); /* ties on the sort key */
		else
			snprintf(cn, sizeof(cn), "client_%03d", (i * 37) % NCERTS);
		if (i >= 240) { /* decided, not issued: no serial, no validity yet */
			ra_cert_new cnw = { .cn = cn, .validity_days = 90 };
			assert_int_equal(ra_store_cert_reserve(s, &cnw, NULL, &id), IK_OK);
			continue;
		}
		if (i % 9 == 0) { /* already past its end, still "active" */
			nb = now - 400 * day;
			na = now - 10;
		}
		id = issue_now(s, 0, cn, (unsigned)(i * 7919) % 65536, nb, na);
		if (i % 5 == 1)
			event_now(s, RA_REQ_REVOKE, id, 1);
		else if (i % 5 == 2 && i % 3 == 0)
			event_now(s, RA_REQ_SUSPEND, id, 0);
		else if (i % 13 == 5)
			assert_int_equal(ra_store_cert_set_state(s, id,
			    RA_CERT_STATE_BIT(RA_CERT_ACTIVE), RA_CERT_EXPIRED, 0, NULL), IK_OK);
	}
	assert_int_equal(ra_store_commit(s), IK_OK);
	return base;
}

/* Walks every page of q and checks it against the expectation computed in C. */
static void walk(ra_store *s, ra_cert_query q, const ra_cert *all, size_t nall)
{
	ra_cert *want = calloc(nall, sizeof(*want)), rows[RA_PAGE_MAX];
	char cursor[RA_CURSOR_MAX] = "", next[RA_CURSOR_MAX];
	size_t nwant = 0, got = 0, n, pages = 0;
	uint64_t count = 0;

	assert_non_null(want);
	nwant = ik_oracle_expect(all, nall, &q, want);
	assert_int_equal(ra_store_cert_count(s, &q, &count), IK_OK);
	assert_int_equal(count, nwant);
	do {
		q.cursor = cursor;
		assert_int_equal(ra_store_cert_list(s, &q, rows, &n, next), IK_OK);
		pages++;
		for (size_t i = 0; i < n; i++) {
			assert_true(got < nwant);
			assert_int_equal(rows[i].id, want[got].id); /* order and once-only */
			got++;
		}
		if (next[0] != '\0')
			assert_int_equal(n, q.limit == 0 ? RA_PAGE_MAX : q.limit);
		snprintf(cursor, sizeof(cursor), "%s", next);
	} while (cursor[0] != '\0');
	assert_int_equal(got, nwant);
	assert_int_equal(pages, nwant == 0 ? 1 : (nwant + (q.limit ? q.limit : RA_PAGE_MAX) - 1) /
	    (q.limit ? q.limit : RA_PAGE_MAX));
	free(want);
}

static void test_cert_listing(void **state)
{
	fixture *f = *state;
	int64_t now = (int64_t)time(NULL), base = build_certs(f->s, now);
	ra_cert all[NCERTS], rows[RA_PAGE_MAX];
	char next[RA_CURSOR_MAX], first_next[RA_CURSOR_MAX];
	ra_cert_query q = { .now = now };
	ra_cert_counts counts;
	uint64_t count;
	size_t n;

	for (int i = 0; i < NCERTS; i++)
		assert_int_equal(ra_store_cert_get(f->s, i + 1, &all[i]), IK_OK);

	/* all 250, every sort key, both directions: 100 + 100 + 50, each once, in order */
	for (int k = RA_CERT_SORT_CREATED; k <= RA_CERT_SORT_SERIAL; k++)
		for (int d = 0; d < 2; d++) {
			q.sort = (ra_cert_sort)k;
			q.descending = d;
			walk(f->s, q, all, NCERTS);
		}
	q.sort = RA_CERT_SORT_CREATED;
	q.descending = 0;
	assert_int_equal(ra_store_cert_list(f->s, &q, rows, &n, next), IK_OK);
	assert_int_equal(n, 100);
	assert_int_equal(rows[0].id, 1);

	/* filters, alone and together, with several sorts and a small page */
	for (int fl = RA_CERT_FILTER_ALL; fl <= RA_CERT_FILTER_SUSPENDED; fl++) {
		uint64_t c;
		q.filter = (ra_cert_filter)fl;
		q.sort = RA_CERT_SORT_CN;
		walk(f->s, q, all, NCERTS);
		q.sort = RA_CERT_SORT_NOT_BEFORE;
		q.descending = 1;
		q.limit = 7;
		walk(f->s, q, all, NCERTS);
		q.limit = 0;
		q.descending = 0;
		assert_int_equal(ra_store_cert_count(f->s, &q, &c), IK_OK);
		assert_true(c > 0);
	}
	q.filter = RA_CERT_FILTER_VALID;
	q.cn_contains = "CLIENT_1"; /* case-insensitive */
	q.issued_from = base + 2 * 86400;
	q.issued_to = base + 5 * 86400;
	q.sort = RA_CERT_SORT_SERIAL;
	walk(f->s, q, all, NCERTS);
	q.filter = RA_CERT_FILTER_ALL;
	q.cn_contains = NULL;
	q.issued_to = 0;
	walk(f->s, q, all, NCERTS);

	/* LIKE escaping: % _ and \ are literal */
	memset(&q, 0, sizeof(q));
	q.now = now;
	q.cn_contains = "a%b";
	assert_int_equal(ra_store_cert_list(f->s, &q, rows, &n, next), IK_OK);
	assert_int_equal(n, 1);
	assert_string_equal(rows[0].cn, "a%b");
	q.cn_contains = "a_b";
	assert_int_equal(ra_store_cert_list(f->s, &q, rows, &n, next), IK_OK);
	assert_int_equal(n, 1);
	assert_string_equal(rows[0].cn, "a_b");
	q.cn_contains = "a\\b";
	assert_int_equal(ra_store_cert_list(f->s, &q, rows, &n, next), IK_OK);
	assert_int_equal(n, 1);
	assert_string_equal(rows[0].cn, "a\\b");
	/* 1 or 2 characters: the CN starts with them (store.h), still literal */
	q.cn_contains = "%";
	assert_int_equal(ra_store_cert_count(f->s, &q, &count), IK_OK);
	assert_int_equal(count, 0);
	q.cn_contains = "A%";
	assert_int_equal(ra_store_cert_count(f->s, &q, &count), IK_OK);
	assert_int_equal(count, 1);
	q.cn_contains = "_";
	assert_int_equal(ra_store_cert_count(f->s, &q, &count), IK_OK);
	assert_int_equal(count, 0);
	q.cn_contains = "a_";
	assert_int_equal(ra_store_cert_list(f->s, &q, rows, &n, next), IK_OK);
	assert_int_equal(n, 1);
	assert_string_equal(rows[0].cn, "a_b");
	q.cn_contains = "Cl";
	assert_int_equal(ra_store_cert_count(f->s, &q, &count), IK_OK);
	assert_int_equal(count, NCERTS - 5 - 4); /* client_NNN */
	q.cn_contains = "t_";
	assert_int_equal(ra_store_cert_count(f->s, &q, &count), IK_OK);
	assert_int_equal(count, 0); /* inside client_NNN, not at its start */
	q.cn_contains = "x' OR '1'='1";
	assert_int_equal(ra_store_cert_count(f->s, &q, &count), IK_OK);
	assert_int_equal(count, 0);

	/* cursors: from another sort order, or made up, are refused */
	memset(&q, 0, sizeof(q));
	q.now = now;
	q.sort = RA_CERT_SORT_CN;
	assert_int_equal(ra_store_cert_list(f->s, &q, rows, &n, first_next), IK_OK);
	assert_true(first_next[0] != '\0');
	q.cursor = first_next;
	q.sort = RA_CERT_SORT_CREATED;
	assert_int_equal(ra_store_cert_list(f->s, &q, rows, &n, next), IK_ERR_ARG);
	q.sort = RA_CERT_SORT_CN;
	q.descending = 1;
	assert_int_equal(ra_store_cert_list(f->s, &q, rows, &n, next), IK_ERR_ARG);
	q.descending = 0;
	q.cursor = "k1.0.12.zz";
	assert_int_equal(ra_store_cert_list(f->s, &q, rows, &n, next), IK_ERR_ARG);
	q.cursor = "k1.0.12.6100"; /* an embedded NUL */
	assert_int_equal(ra_store_cert_list(f->s, &q, rows, &n, next), IK_ERR_ARG);
	q.cursor = "'; DROP TABLE certificates; --";
	assert_int_equal(ra_store_cert_list(f->s, &q, rows, &n, next), IK_ERR_ARG);
	q.cursor = NULL;
	q.limit = RA_PAGE_MAX + 1;
	assert_int_equal(ra_store_cert_list(f->s, &q, rows, &n, next), IK_ERR_ARG);

	/* counters */
	assert_int_equal(ra_store_cert_counts(f->s, &counts), IK_OK);
	assert_int_equal(counts.by_state[RA_CERT_AWAITING_DOWNLOAD], 10);
	assert_int_equal(counts.quota_used, NCERTS);
	{
		uint64_t sum = 0;
		for (int i = RA_CERT_ISSUING; i <= RA_CERT_FAILED; i++)
			sum += counts.by_state[i];
		assert_int_equal(sum, NCERTS);
	}
	/* the expiry sweep: overdue active and suspended ones become expired */
	{
		size_t k = 0, overdue_active = 0, overdue_suspended = 0;
		uint64_t before_exp, after_exp;
		for (int i = 0; i < NCERTS; i++) {
			overdue_active += all[i].state == RA_CERT_ACTIVE && all[i].not_after <= now;
			overdue_suspended += all[i].state == RA_CERT_SUSPENDED &&
			    all[i].not_after <= now;
		}
		assert_true(overdue_active > 0 && overdue_suspended > 0);
		memset(&q, 0, sizeof(q));
		q.now = now;
		q.filter = RA_CERT_FILTER_EXPIRED;
		assert_int_equal(ra_store_cert_count(f->s, &q, &before_exp), IK_OK);
		assert_int_equal(ra_store_cert_expire(f->s, now, &k), IK_OK);
		assert_int_equal(k, overdue_active + overdue_suspended);
		assert_int_equal(ra_store_cert_count(f->s, &q, &after_exp), IK_OK);
		assert_int_equal(after_exp, before_exp + overdue_suspended);
		assert_int_equal(ra_store_cert_counts(f->s, &counts), IK_OK);
		assert_int_equal(counts.by_state[RA_CERT_EXPIRED], after_exp);
		q.filter = RA_CERT_FILTER_SUSPENDED;
		assert_int_equal(ra_store_cert_count(f->s, &q, &after_exp), IK_OK);
		assert_int_equal(after_exp, counts.by_state[RA_CERT_SUSPENDED]);
	}
}

/* ---- transactions ---- */

static int64_t table_count(const char *path, const char *table)
{
	char sql[96];

	snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM %s", table);
	return ik_raw_int(path, sql);
}

static void test_rollback(void **state)
{
	fixture *f = *state;
	static const char *const tables[] = { "users", "devices", "certificates", "requests",
		"batches", "history", "settings", "download_credentials" };
	int64_t before[8], user = add_user(f->s, "base"), dev = add_device(f->s, user, "pc"), id;
	int64_t batch;
	ra_user u;

	uint8_t digest_before[32], digest_after[32];

	for (size_t i = 0; i < 8; i++)
		before[i] = table_count(f->path, tables[i]);
	db_digest(f->path, digest_before);
	/* a whole "file" of changes, then abort */
	assert_int_equal(ra_store_begin(f->s), IK_OK);
	add_user(f->s, "row1");
	add_device(f->s, add_user(f->s, "row2"), "phone");
	queue_issue(f->s, dev, "base-pc", 0);
	assert_int_equal(ra_store_batch_create(f->s, RA_REQ_ISSUE, "client_%06d", "officer1",
	    &H_TEST, &batch), IK_OK);
	queue_issue(f->s, 0, "client_000001", batch);
	assert_int_equal(ra_store_setting_set(f->s, "quota", "10", &H_TEST), IK_OK);
	assert_int_equal(ra_history_append(f->s, "officer1", "192.0.2.9", "bulk_issue", "{}"),
	    IK_OK);
	assert_int_equal(ra_store_rollback(f->s), IK_OK);
	for (size_t i = 0; i < 8; i++)
		assert_int_equal(table_count(f->path, tables[i]), before[i]);
	db_digest(f->path, digest_after);
	assert_memory_equal(digest_before, digest_after, 32); /* exactly as it was */
	assert_int_equal(ra_store_user_by_external_id(f->s, "row1", &u), IK_ERR_NOT_FOUND);
	{
		char bad[256];
		assert_int_equal(ra_history_verify(f->s, bad, sizeof(bad)), IK_OK);
	}

	/* nested: the inner rollback drops one row, the outer commit keeps the rest */
	assert_int_equal(ra_store_begin(f->s), IK_OK);
	add_user(f->s, "kept");
	assert_int_equal(ra_store_begin(f->s), IK_OK);
	add_user(f->s, "dropped");
	assert_int_equal(ra_store_rollback(f->s), IK_OK);
	add_user(f->s, "kept2");
	assert_int_equal(ra_store_commit(f->s), IK_OK);
	assert_int_equal(ra_store_user_by_external_id(f->s, "kept", &u), IK_OK);
	assert_int_equal(ra_store_user_by_external_id(f->s, "kept2", &u), IK_OK);
	assert_int_equal(ra_store_user_by_external_id(f->s, "dropped", &u), IK_ERR_NOT_FOUND);

	/* a failing call inside a transaction undoes only itself */
	assert_int_equal(ra_store_begin(f->s), IK_OK);
	add_user(f->s, "ok-row");
	u = (ra_user){ 0 };
	snprintf(u.external_id, sizeof(u.external_id), "kept");
	assert_int_equal(ra_store_user_add(f->s, &u, &H_TEST, &id), IK_ERR_EXISTS);
	assert_int_equal(ra_store_commit(f->s), IK_OK);
	assert_int_equal(ra_store_user_by_external_id(f->s, "ok-row", &u), IK_OK);

	assert_int_equal(ra_store_commit(f->s), IK_ERR_STATE);   /* none open */
	assert_int_equal(ra_store_rollback(f->s), IK_ERR_STATE);

	/* a transaction forgotten by a caller is undone by the thread reset */
	assert_int_equal(ra_store_thread_reset(f->s), 0);
	assert_int_equal(ra_store_begin(f->s), IK_OK);
	assert_int_equal(ra_store_begin(f->s), IK_OK);
	add_user(f->s, "forgotten");
	assert_int_equal(ra_store_thread_reset(f->s), 2);
	assert_int_equal(ra_store_user_by_external_id(f->s, "forgotten", &u), IK_ERR_NOT_FOUND);
	add_user(f->s, "after-reset"); /* the thread's connection works on */
	assert_int_equal(ik_raw_int(f->path, "SELECT COUNT(*) FROM users WHERE external_id ="
	    " 'after-reset'"), 1);
}

/* ---- history ---- */

static void test_history(void **state)
{
	fixture *f = *state;
	char bad[512];
	ra_history_entry *rows = NULL;
	ra_history_query hq = { 0 };
	size_t n = 0;

	assert_int_equal(ra_history_verify(f->s, bad, sizeof(bad)), IK_OK); /* empty */
	for (int i = 0; i < 20; i++) {
		char detail[64];
		ra_hist h = { "officer1", "192.0.2.7", i % 2 ? "issue" : "revoke", NULL, detail };
		snprintf(detail, sizeof(detail), "{\"n\":%d,\"cn\":\"c_%d%%\"}", i, i);
		assert_int_equal(ra_history_record(f->s, &h), IK_OK);
	}
	assert_int_equal(ra_history_append(f->s, "admin", "::1", "login_ok", ""), IK_OK);
	assert_int_equal(ra_history_verify(f->s, bad, sizeof(bad)), IK_OK);
	{
		ra_hist h = { "a", "b", "", NULL, NULL };
		assert_int_equal(ra_history_record(f->s, &h), IK_ERR_ARG);
	}

	/* search */
	hq.op = "issue";
	assert_int_equal(ra_store_history_list(f->s, &hq, &rows, 100, &n), IK_OK);
	assert_int_equal(n, 10);
	assert_string_equal(rows[0].op, "issue");
	assert_int_equal(rows[0].id, 2);
	ra_history_entries_free(rows, n);
	hq.op = NULL;
	hq.text = "c_1%"; /* the % is literal: c_1% only, not c_10..c_19 */
	assert_int_equal(ra_store_history_list(f->s, &hq, &rows, 100, &n), IK_OK);
	assert_int_equal(n, 1);
	assert_non_null(strstr(rows[0].detail, "\"n\":1,"));
	ra_history_entries_free(rows, n);
	hq.text = "::1";
	assert_int_equal(ra_store_history_list(f->s, &hq, &rows, 100, &n), IK_OK);
	assert_int_equal(n, 1);
	assert_string_equal(rows[0].actor, "admin");
	ra_history_entries_free(rows, n);
	hq.text = NULL;
	hq.descending = 1;
	assert_int_equal(ra_store_history_list(f->s, &hq, &rows, 5, &n), IK_OK);
	assert_int_equal(n, 5);
	assert_int_equal(rows[0].id, 21);
	hq.before_id = rows[4].id;
	ra_history_entries_free(rows, n);
	assert_int_equal(ra_store_history_list(f->s, &hq, &rows, 5, &n), IK_OK);
	assert_int_equal(rows[0].id, 16);
	ra_history_entries_free(rows, n);
	hq = (ra_history_query){ .from = (int64_t)time(NULL) + 3600 };
	assert_int_equal(ra_store_history_list(f->s, &hq, &rows, 5, &n), IK_OK);
	assert_int_equal(n, 0);
	ra_history_entries_free(rows, n);
	/* the stored hash is the documented one */
	hq = (ra_history_query){ 0 };
	assert_int_equal(ra_store_history_list(f->s, &hq, &rows, 2, &n), IK_OK);
	{
		uint8_t h[32], zero[32] = { 0 };
		assert_memory_equal(rows[0].prev_hash, zero, 32);
		assert_memory_equal(rows[1].prev_hash, rows[0].hash, 32);
		assert_int_equal(ra_history_hash(&rows[1], h), IK_OK);
		assert_memory_equal(h, rows[1].hash, 32);
	}
	ra_history_entries_free(rows, n);

	/* append-only in the database too */
	assert_int_not_equal(ik_raw_exec(f->path, "UPDATE history SET detail = 'x' WHERE id = 3"),
	    SQLITE_OK);
	assert_int_not_equal(ik_raw_exec(f->path, "DELETE FROM history WHERE id = 3"), SQLITE_OK);
	assert_int_equal(ra_history_verify(f->s, bad, sizeof(bad)), IK_OK);

	/* an attacker with the file drops the triggers and edits a row */
	assert_int_equal(ik_raw_exec(f->path, "DROP TRIGGER history_no_update;"
	    " UPDATE history SET detail = '{\"n\":99}' WHERE id = 7"), SQLITE_OK);
	assert_int_equal(ra_history_verify(f->s, bad, sizeof(bad)), IK_ERR_STATE);
	assert_non_null(strstr(bad, "entry 7 "));
	assert_non_null(strstr(bad, "edited"));
}

static void test_history_relinked(void **state)
{
	fixture *f = *state;
	char bad[512], sql[256], hex[65];
	ra_history_entry *rows = NULL;
	ra_history_query hq = { 0 };
	size_t n = 0;

	for (int i = 0; i < 8; i++)
		assert_int_equal(ra_history_append(f->s, "o", "ip", "op", "{}"), IK_OK);
	/* edit entry 3 and give it a correct new hash: entry 4 no longer links to it */
	assert_int_equal(ra_store_history_list(f->s, &hq, &rows, 8, &n), IK_OK);
	free(rows[2].detail);
	rows[2].detail = strdup("{\"forged\":1}");
	assert_int_equal(ra_history_hash(&rows[2], rows[2].hash), IK_OK);
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", rows[2].hash[i]);
	snprintf(sql, sizeof(sql), "DROP TRIGGER history_no_update; UPDATE history SET"
	    " detail = '{\"forged\":1}', hash = X'%s' WHERE id = 3", hex);
	ra_history_entries_free(rows, n);
	assert_int_equal(ik_raw_exec(f->path, sql), SQLITE_OK);
	assert_int_equal(ra_history_verify(f->s, bad, sizeof(bad)), IK_ERR_STATE);
	assert_non_null(strstr(bad, "entry 4 "));
	assert_non_null(strstr(bad, "prev_hash"));

	/* a removed row */
	assert_int_equal(ik_raw_exec(f->path, "UPDATE history SET detail = '{}', hash ="
	    " (SELECT prev_hash FROM history WHERE id = 4) WHERE id = 3"), SQLITE_OK);
	assert_int_equal(ra_history_verify(f->s, bad, sizeof(bad)), IK_OK); /* repaired */
	assert_int_equal(ik_raw_exec(f->path, "DROP TRIGGER history_no_delete;"
	    " DELETE FROM history WHERE id = 6"), SQLITE_OK);
	assert_int_equal(ra_history_verify(f->s, bad, sizeof(bad)), IK_ERR_STATE);
	assert_non_null(strstr(bad, "entry 7 "));
	assert_non_null(strstr(bad, "missing"));
}

/* ---- the queue ---- */

static void test_queue(void **state)
{
	fixture *f = *state;
	int64_t user = add_user(f->s, "qu"), dev = add_device(f->s, user, "phone"), now;
	ra_request r, c, rows[10];
	ra_request_state rs;
	ra_cert cert;
	ik_buf der;
	uint64_t counts[RA_REQ_FAILED + 1];
	size_t n;

	/* issue: pending -> sent (attempts 1) -> done; certificate active and current */
	r = queue_issue(f->s, dev, "qu-phone", 0);
	assert_int_equal(strlen(r.request_id), RA_REQUEST_ID_LEN);
	assert_int_equal(r.state, RA_REQ_PENDING);
	assert_int_equal(r.spki_len, sizeof(SPKI));
	assert_memory_equal(r.spki, SPKI, sizeof(SPKI));
	assert_int_equal(ra_store_cert_get(f->s, r.cert_id, &cert), IK_OK);
	assert_int_equal(cert.state, RA_CERT_ISSUING);
	assert_int_equal(cert.request_id, r.id);
	{
		ra_request again;
		assert_int_equal(ra_store_request_by_request_id(f->s, r.request_id, &again), IK_OK);
		assert_int_equal(again.id, r.id);
	}
	/* a second plain issue for the device is refused: renew instead */
	{
		ra_request_new rn = { .kind = RA_REQ_ISSUE, .device_id = dev, .cn = "x",
			.validity_days = 30, .spki = SPKI, .spki_len = sizeof(SPKI) };
		assert_int_equal(ra_store_request_add(f->s, &rn, NULL, NULL), IK_ERR_STATE);
		rn.device_id = 999;
		assert_int_equal(ra_store_request_add(f->s, &rn, NULL, NULL), IK_ERR_NOT_FOUND);
		rn.device_id = 0;
		rn.validity_days = 0;
		assert_int_equal(ra_store_request_add(f->s, &rn, NULL, NULL), IK_ERR_ARG);
		rn.validity_days = 30;
		rn.spki = NULL;
		assert_int_equal(ra_store_request_add(f->s, &rn, NULL, NULL), IK_ERR_ARG);
	}
	now = (int64_t)time(NULL);
	assert_int_equal(answer(f->s, r.id, 1, now, now + 86400), IK_ERR_STATE); /* not sent */
	assert_int_equal(ra_store_request_claim(f->s, now, &c), IK_OK);
	assert_int_equal(c.id, r.id);
	assert_int_equal(c.state, RA_REQ_SENT);
	assert_int_equal(c.attempts, 1);
	assert_string_equal(c.request_id, r.request_id);
	assert_int_equal(ra_store_request_claim(f->s, now, &c), IK_ERR_NOT_FOUND);
	assert_int_equal(ra_store_request_complete(f->s, r.id, NULL, &H_TEST), IK_ERR_ARG);
	assert_int_equal(answer(f->s, r.id, 0xbeef, now, now + 86400), IK_OK);
	assert_int_equal(answer(f->s, r.id, 0xbeef, now, now + 86400), IK_ERR_STATE); /* once */
	assert_int_equal(ra_store_request_get(f->s, r.id, &c), IK_OK);
	assert_int_equal(c.state, RA_REQ_DONE);
	assert_string_equal(c.serial, "beef");
	assert_int_equal(ra_store_cert_by_serial(f->s, "BEEF", &cert), IK_OK);
	assert_int_equal(cert.id, r.cert_id);
	assert_int_equal(cert.state, RA_CERT_ACTIVE);
	assert_int_equal(cert.current, 1);
	assert_int_equal(cert.not_after, now + 86400);
	ik_buf_init(&der, 0);
	assert_int_equal(ra_store_cert_der(f->s, cert.id, &der), IK_OK);
	assert_int_equal(der.len, 40);
	{
		uint8_t h[32];
		unsigned hl;
		assert_int_equal(EVP_Digest(der.data, der.len, h, &hl, EVP_sha256(), NULL), 1);
		assert_memory_equal(h, cert.sha256, 32);
	}
	ik_buf_cleanup(&der);

	/* suspend and resume */
	event_now(f->s, RA_REQ_SUSPEND, cert.id, 0);
	assert_int_equal(ra_store_cert_get(f->s, cert.id, &cert), IK_OK);
	assert_int_equal(cert.state, RA_CERT_SUSPENDED);
	assert_int_equal(cert.reason, 6);
	assert_int_equal(cert.current, 1);
	{
		ra_request_new rn = { .kind = RA_REQ_SUSPEND, .cert_id = cert.id };
		assert_int_equal(ra_store_request_add(f->s, &rn, NULL, NULL), IK_ERR_STATE);
	}
	event_now(f->s, RA_REQ_RESUME, cert.id, 0);
	assert_int_equal(ra_store_cert_get(f->s, cert.id, &cert), IK_OK);
	assert_int_equal(cert.state, RA_CERT_ACTIVE);
	assert_int_equal(cert.reason, -1);

	/* renew, revoking the old one at once: a revoke request is queued with it */
	{
		ra_request_new rn = { .kind = RA_REQ_RENEW, .old_cert_id = cert.id,
			.validity_days = 365, .spki = SPKI, .spki_len = sizeof(SPKI),
			.revoke_old = 1 };
		ra_request rv;
		ra_cert old, fresh;
		assert_int_equal(ra_store_request_add(f->s, &rn, &H_TEST, &r), IK_OK);
		assert_int_equal(ra_store_request_add(f->s, &rn, NULL, NULL), IK_ERR_STATE);
		assert_int_equal(ra_store_request_claim(f->s, now, &c), IK_OK);
		assert_int_equal(c.id, r.id);
		assert_int_equal(answer(f->s, r.id, 0xbef0, now, now + 86400), IK_OK);
		assert_int_equal(ra_store_cert_get(f->s, r.cert_id, &fresh), IK_OK);
		assert_string_equal(fresh.cn, "qu-phone");
		assert_int_equal(fresh.current, 1);
		assert_int_equal(ra_store_cert_get(f->s, cert.id, &old), IK_OK);
		assert_int_equal(old.current, 0);
		assert_int_equal(old.state, RA_CERT_ACTIVE); /* until the signer revokes it */
		assert_int_equal(ra_store_request_claim(f->s, now, &rv), IK_OK);
		assert_int_equal(rv.kind, RA_REQ_REVOKE);
		assert_int_equal(rv.cert_id, old.id);
		assert_int_equal(rv.reason, 4);
		assert_string_equal(rv.serial, "beef");
		assert_int_equal(ra_store_request_complete(f->s, rv.id, NULL, NULL), IK_OK);
		assert_int_equal(ra_store_cert_get(f->s, cert.id, &old), IK_OK);
		assert_int_equal(old.state, RA_CERT_REVOKED);
		assert_int_equal(old.reason, 4);
		{
			ra_device d;
			assert_int_equal(ra_store_device_get(f->s, dev, &d), IK_OK);
			assert_int_equal(d.current_cert_id, fresh.id);
		}
	}

	/* fail: retried with back-off, then given up after 2 attempts */
	r = queue_issue(f->s, 0, "flaky", 0);
	assert_int_equal(ra_store_request_claim(f->s, now, &c), IK_OK);
	assert_int_equal(ra_store_request_fail(f->s, r.id, "signer down: connection refused", 2,
	    now + 60, &H_TEST, &rs), IK_OK);
	assert_int_equal(rs, RA_REQ_PENDING);
	assert_int_equal(ra_store_request_fail(f->s, r.id, "again", 2, now, NULL, &rs),
	    IK_ERR_STATE); /* pending, not sent */
	assert_int_equal(ra_store_request_claim(f->s, now, &c), IK_ERR_NOT_FOUND); /* waits */
	assert_int_equal(ra_store_request_get(f->s, r.id, &c), IK_OK);
	assert_string_equal(c.last_error, "signer down: connection refused");
	assert_int_equal(c.next_attempt, now + 60);
	assert_int_equal(ra_store_request_claim(f->s, now + 60, &c), IK_OK);
	assert_int_equal(c.attempts, 2);
	assert_int_equal(ra_store_request_fail(f->s, r.id, "HSM unavailable", 2, now + 120, NULL,
	    &rs), IK_OK);
	assert_int_equal(rs, RA_REQ_FAILED);
	assert_int_equal(ra_store_cert_get(f->s, r.cert_id, &cert), IK_OK);
	assert_int_equal(cert.state, RA_CERT_FAILED);
	assert_int_equal(ra_store_request_claim(f->s, now + 1000, &c), IK_ERR_NOT_FOUND);
	/* a policy refusal gives up at once */
	r = queue_issue(f->s, 0, "refused", 0);
	assert_int_equal(ra_store_request_claim(f->s, now, &c), IK_OK);
	assert_int_equal(ra_store_request_fail(f->s, r.id, "policy-validity", 0, 0, NULL, &rs),
	    IK_OK);
	assert_int_equal(rs, RA_REQ_FAILED);

	/* restart recovery: sent rows go back to pending and out again */
	r = queue_issue(f->s, 0, "interrupted", 0);
	assert_int_equal(ra_store_request_claim(f->s, now, &c), IK_OK);
	assert_int_equal(ra_store_request_recover(f->s, &n), IK_OK);
	assert_int_equal(n, 1);
	assert_int_equal(ra_store_request_claim(f->s, now, &c), IK_OK);
	assert_int_equal(c.id, r.id);
	assert_int_equal(c.attempts, 2);
	assert_string_equal(c.request_id, r.request_id); /* the same id: idempotent signer */
	assert_int_equal(answer(f->s, r.id, 0xc0de, now, now + 86400), IK_OK);

	/* generate here: not claimable until the key is attached */
	{
		ra_request_new rn = { .kind = RA_REQ_ISSUE, .cn = "later", .validity_days = 30,
			.generate_here = 1 };
		assert_int_equal(ra_store_request_add(f->s, &rn, NULL, &r), IK_OK);
		assert_int_equal(r.spki_len, 0);
		assert_int_equal(ra_store_request_claim(f->s, now, &c), IK_ERR_NOT_FOUND);
		assert_int_equal(ra_store_request_claim_id(f->s, r.id, &c), IK_ERR_STATE);
		assert_int_equal(ra_store_request_set_spki(f->s, r.id, SPKI, sizeof(SPKI)), IK_OK);
		assert_int_equal(ra_store_request_set_spki(f->s, r.id, SPKI, sizeof(SPKI)),
		    IK_ERR_STATE);
		assert_int_equal(ra_store_request_set_spki(f->s, 9999, SPKI, sizeof(SPKI)),
		    IK_ERR_NOT_FOUND);
		assert_int_equal(ra_store_request_claim_id(f->s, r.id, &c), IK_OK);
		assert_int_equal(c.spki_len, sizeof(SPKI));
		assert_int_equal(ra_store_request_claim_id(f->s, r.id, &c), IK_ERR_STATE);
		assert_int_equal(ra_store_request_claim_id(f->s, 9999, &c), IK_ERR_NOT_FOUND);
	}

	/* visibility */
	assert_int_equal(ra_store_request_counts(f->s, counts), IK_OK);
	assert_int_equal(counts[RA_REQ_SENT], 1);
	assert_int_equal(counts[RA_REQ_FAILED], 2);
	assert_int_equal(counts[RA_REQ_PENDING], 0);
	assert_int_equal(ra_store_request_list(f->s, RA_REQ_STATE_BIT(RA_REQ_FAILED), 0, rows, 10,
	    &n), IK_OK);
	assert_int_equal(n, 2);
	assert_string_equal(rows[0].last_error, "HSM unavailable");
	assert_int_equal(ra_store_request_list(f->s, 0, 0, rows, 10, &n), IK_OK);
	assert_int_equal(n, 9);
	assert_int_equal(ra_store_request_list(f->s, 0, rows[4].id, rows, 10, &n), IK_OK);
	assert_int_equal(n, 4);

	/* quota: every certificate not failed counts */
	{
		ra_cert_counts cc;
		ra_request_new rn = { .kind = RA_REQ_ISSUE, .cn = "over", .validity_days = 30,
			.spki = SPKI, .spki_len = sizeof(SPKI) };
		assert_int_equal(ra_store_cert_counts(f->s, &cc), IK_OK);
		rn.quota = cc.quota_used;
		assert_int_equal(ra_store_request_add(f->s, &rn, NULL, NULL), IK_ERR_STATE);
		rn.quota = cc.quota_used + 1;
		assert_int_equal(ra_store_request_add(f->s, &rn, NULL, NULL), IK_OK);
	}
}

/* Several workers, each on its own thread (and connection), claim from one queue. */
#define NQ 120
#define NWORKERS 4

typedef struct worker {
	ra_store *s;
	int64_t claimed[NQ];
	size_t n;
	size_t group;   /* 0: one at a time; else claim_group of this many, answered in one tx */
	ik_status err;
} worker;

static void *claim_groups(worker *w)
{
	ra_request rows[7];
	size_t n = 0;
	ik_status st;

	for (;;) {
		st = ra_store_request_claim_group(w->s, (int64_t)time(NULL), w->group, rows, &n);
		if (st == IK_ERR_NOT_FOUND)
			break;
		if (st == IK_OK)
			st = ra_store_begin(w->s);
		for (size_t i = 0; st == IK_OK && i < n; i++) {
			w->claimed[w->n++] = rows[i].id;
			st = answer(w->s, rows[i].id, (unsigned)(0x1000 + rows[i].id), 1000, 2000);
		}
		if (st == IK_OK)
			st = ra_store_commit(w->s);
		if (st != IK_OK) {
			w->err = st;
			break;
		}
	}
	return NULL;
}

static void *claim_all(void *p)
{
	worker *w = p;
	ra_request r;
	ik_status st;

	if (w->group > 0)
		return claim_groups(w);
	for (;;) {
		st = ra_store_request_claim(w->s, (int64_t)time(NULL), &r);
		if (st == IK_ERR_NOT_FOUND)
			break;
		if (st != IK_OK) {
			w->err = st;
			break;
		}
		w->claimed[w->n++] = r.id;
		if ((st = answer(w->s, r.id, (unsigned)(0x1000 + r.id), 1000, 2000)) != IK_OK) {
			w->err = st;
			break;
		}
	}
	return NULL;
}

/* A renewal by a download (key made by the RA), claimed and answered: the new certificate. */
static int64_t renew_by_download(ra_store *s, int64_t old, unsigned serial, int64_t now)
{
	ra_request_new rn = { .kind = RA_REQ_RENEW, .old_cert_id = old, .validity_days = 20,
		.generate_here = 1, .created_by = "rn-test" };
	ra_request r, c;

	assert_int_equal(ra_store_request_add(s, &rn, &H_TEST, &r), IK_OK);
	assert_int_equal(ra_store_request_set_spki(s, r.id, SPKI, sizeof(SPKI)), IK_OK);
	assert_int_equal(ra_store_request_claim_id(s, r.id, &c), IK_OK);
	assert_int_equal(answer(s, r.id, serial, now, now + 20 * 86400), IK_OK);
	return r.cert_id;
}

/* ra_store_renewal_reset: the renewed certificate is current again only when its device has
 * none and its latest download renewal was revoked as orphaned (cessationOfOperation). */
static void test_renewal_reset(void **state)
{
	fixture *f = *state;
	int64_t now = (int64_t)time(NULL), id = -1, n1, n2;
	int64_t dev = add_device(f->s, add_user(f->s, "rr"), "pc");
	int64_t old = issue_now(f->s, dev, "rr-pc", 0x100, now - 60, now + 20 * 86400);
	ra_hist h = { "self-service", "192.0.2.1", "renewal_reset", NULL, "{}" };
	ra_cert c;

	/* the device has its current certificate: nothing to do */
	assert_int_equal(ra_store_renewal_reset(f->s, dev, &h, &id), IK_OK);
	assert_int_equal(id, 0);
	/* renewed, the renewal current: nothing to do */
	n1 = renew_by_download(f->s, old, 0x101, now);
	assert_int_equal(ra_store_renewal_reset(f->s, dev, &h, &id), IK_OK);
	assert_int_equal(id, 0);
	/* the renewal revoked for another reason (keyCompromise): not an orphan */
	event_now(f->s, RA_REQ_REVOKE, n1, 1);
	assert_int_equal(ra_store_renewal_reset(f->s, dev, &h, &id), IK_OK);
	assert_int_equal(id, 0);
	assert_int_equal(ra_store_cert_get(f->s, old, &c), IK_OK);
	assert_int_equal(c.current, 0);
	assert_int_equal(ik_raw_int(f->path, "SELECT COUNT(*) FROM history WHERE op = 'renewal_reset'"), 0);
	/* renewed again, and that one revoked as orphaned: the old one is current again, once */
	n2 = renew_by_download(f->s, old, 0x102, now);
	event_now(f->s, RA_REQ_REVOKE, n2, 5);
	assert_int_equal(ra_store_renewal_reset(f->s, 9999, &h, &id), IK_OK); /* no such device */
	assert_int_equal(id, 0);
	assert_int_equal(ra_store_renewal_reset(f->s, dev, &h, &id), IK_OK);
	assert_int_equal(id, old);
	assert_int_equal(ra_store_cert_get(f->s, old, &c), IK_OK);
	assert_int_equal(c.current, 1);
	assert_int_equal(c.state, RA_CERT_ACTIVE);
	assert_int_equal(ik_raw_int(f->path, "SELECT COUNT(*) FROM history WHERE op = 'renewal_reset'"
	    " AND target = '0100'"), 1);
	assert_int_equal(ra_store_renewal_reset(f->s, dev, &h, &id), IK_OK);
	assert_int_equal(id, 0);
	/* an old certificate that is no longer active is never made current */
	assert_int_equal(ra_store_cert_set_state(f->s, old, RA_CERT_STATE_BIT(RA_CERT_ACTIVE),
	    RA_CERT_EXPIRED, 0, NULL), IK_OK);
	assert_int_equal(ra_store_renewal_reset(f->s, dev, &h, &id), IK_OK);
	assert_int_equal(id, 0);
}

static void test_queue_threads(void **state)
{
	fixture *f = *state;
	worker w[NWORKERS];
	pthread_t t[NWORKERS];
	int seen_ids[NQ + 1] = { 0 };
	size_t total = 0;
	uint64_t counts[RA_REQ_FAILED + 1];

	assert_int_equal(ra_store_begin(f->s), IK_OK);
	for (int i = 0; i < NQ; i++) {
		char cn[32];
		snprintf(cn, sizeof(cn), "t%03d", i);
		queue_issue(f->s, 0, cn, 0);
	}
	assert_int_equal(ra_store_commit(f->s), IK_OK);
	for (int i = 0; i < NWORKERS; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].s = f->s;
		w[i].group = i % 2 == 0 ? 0 : (size_t)(3 + 2 * i) % 8; /* 1 and 3 claim 5 and 1 */
		assert_int_equal(pthread_create(&t[i], NULL, claim_all, &w[i]), 0);
	}
	for (int i = 0; i < NWORKERS; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_int_equal(w[i].err, IK_OK);
		for (size_t j = 0; j < w[i].n; j++) {
			assert_true(w[i].claimed[j] >= 1 && w[i].claimed[j] <= NQ);
			seen_ids[w[i].claimed[j]]++;
		}
		total += w[i].n;
	}
	assert_int_equal(total, NQ);
	for (int i = 1; i <= NQ; i++)
		assert_int_equal(seen_ids[i], 1); /* each exactly once */
	assert_int_equal(ra_store_request_counts(f->s, counts), IK_OK);
	assert_int_equal(counts[RA_REQ_DONE], NQ);
	{
		char bad[256];
		assert_int_equal(ra_history_verify(f->s, bad, sizeof(bad)), IK_OK);
		assert_int_equal(ik_raw_int(f->path, "SELECT COUNT(*) FROM history"), 2 * NQ);
	}
}

/* Claims in groups: bounded, oldest first, each row once; answered in one transaction. */
static void test_queue_groups(void **state)
{
	fixture *f = *state;
	ra_request rows[RA_CLAIM_GROUP_MAX], one;
	int64_t now = (int64_t)time(NULL);
	uint64_t counts[RA_REQ_FAILED + 1];
	size_t n = 99;

	assert_int_equal(ra_store_request_claim_group(f->s, now, 4, rows, &n), IK_ERR_NOT_FOUND);
	assert_int_equal(n, 0);
	for (int i = 0; i < 10; i++) {
		char cn[32];
		snprintf(cn, sizeof(cn), "g%02d", i);
		queue_issue(f->s, 0, cn, 0);
	}
	assert_int_equal(ra_store_request_claim_group(f->s, now, 0, rows, &n), IK_ERR_ARG);
	assert_int_equal(ra_store_request_claim_group(f->s, now, RA_CLAIM_GROUP_MAX + 1, rows, &n),
	    IK_ERR_ARG);
	assert_int_equal(ra_store_request_claim_group(f->s, now, 4, rows, &n), IK_OK);
	assert_int_equal(n, 4);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(rows[i].state, RA_REQ_SENT);
		assert_int_equal(rows[i].attempts, 1);
		assert_int_equal(rows[i].spki_len, sizeof(SPKI));
		if (i > 0)
			assert_true(rows[i].id > rows[i - 1].id);
	}
	assert_int_equal(ra_store_request_claim(f->s, now, &one), IK_OK); /* the fifth */
	assert_true(one.id > rows[3].id);
	assert_int_equal(ra_store_request_claim_group(f->s, now, RA_CLAIM_GROUP_MAX, rows + 4, &n),
	    IK_OK);
	assert_int_equal(n, 5);
	assert_true(rows[4].id > one.id);
	assert_int_equal(ra_store_request_claim_group(f->s, now, 4, rows, &n), IK_ERR_NOT_FOUND);
	/* every answer in one transaction, as a queue worker records a group */
	assert_int_equal(ra_store_begin(f->s), IK_OK);
	for (size_t i = 0; i < 9; i++)
		assert_int_equal(answer(f->s, rows[i].id, (unsigned)(0x2000 + i), now, now + 86400),
		    IK_OK);
	assert_int_equal(answer(f->s, one.id, 0x2fff, now, now + 86400), IK_OK);
	assert_int_equal(ra_store_commit(f->s), IK_OK);
	assert_int_equal(ra_store_request_counts(f->s, counts), IK_OK);
	assert_int_equal(counts[RA_REQ_DONE], 10);
	assert_int_equal(counts[RA_REQ_SENT], 0);
}

/* ---- batches ---- */

static void test_batches(void **state)
{
	fixture *f = *state;
	int64_t b1, b2, now = (int64_t)time(NULL);
	ra_batch b;
	ra_request r[3], c;

	assert_int_equal(ra_store_batch_running(f->s, &b), IK_ERR_NOT_FOUND);
	assert_int_equal(ra_store_batch_create(f->s, RA_REQ_ISSUE, "client_%06d", "officer1",
	    &H_TEST, &b1), IK_OK);
	assert_int_equal(ra_store_batch_create(f->s, RA_REQ_ISSUE, "x_%d", "officer2", &H_TEST,
	    &b2), IK_ERR_STATE);
	assert_int_equal(b2, 0);
	/* the database itself refuses a second running batch */
	assert_int_equal(ik_raw_exec(f->path, "INSERT INTO batches(kind, created_by, created_at,"
	    " updated_at) VALUES ('issue', 'sneaky', 0, 0)"), SQLITE_CONSTRAINT);
	for (int i = 0; i < 3; i++) {
		char cn[32];
		snprintf(cn, sizeof(cn), "client_%06d", i + 1);
		r[i] = queue_issue(f->s, 0, cn, b1);
	}
	{
		ra_request_new rn = { .kind = RA_REQ_REVOKE, .cert_id = r[0].cert_id, .reason = 1,
			.batch_id = b1 };
		assert_int_equal(ra_store_request_add(f->s, &rn, NULL, NULL), IK_ERR_STATE);
	}
	assert_int_equal(ra_store_batch_get(f->s, b1, &b), IK_OK);
	assert_int_equal(b.total, 3);
	assert_int_equal(b.state, RA_BATCH_RUNNING);
	assert_string_equal(b.cn_pattern, "client_%06d");
	/* progress while it runs */
	assert_int_equal(ra_store_request_claim(f->s, now, &c), IK_OK);
	assert_int_equal(answer(f->s, c.id, 0x501, now, now + 100), IK_OK);
	assert_int_equal(ra_store_request_claim(f->s, now, &c), IK_OK);
	assert_int_equal(ra_store_request_fail(f->s, c.id, "policy-subject", 0, 0, NULL, NULL),
	    IK_OK);
	assert_int_equal(ra_store_batch_running(f->s, &b), IK_OK);
	assert_int_equal(b.id, b1);
	assert_int_equal(b.done, 1);
	assert_int_equal(b.failed, 1);
	assert_int_equal(ra_store_request_claim(f->s, now, &c), IK_OK);
	assert_int_equal(answer(f->s, c.id, 0x503, now, now + 100), IK_OK);
	/* all settled, but not sealed: still running */
	assert_int_equal(ra_store_batch_get(f->s, b1, &b), IK_OK);
	assert_int_equal(b.state, RA_BATCH_RUNNING);
	assert_int_equal(ra_store_batch_seal(f->s, b1), IK_OK);
	assert_int_equal(ra_store_batch_get(f->s, b1, &b), IK_OK);
	assert_int_equal(b.state, RA_BATCH_FINISHED);
	assert_int_equal(b.done, 2);
	assert_int_equal(b.failed, 1);
	assert_int_equal(ra_store_batch_seal(f->s, b1), IK_ERR_STATE);
	assert_int_equal(ra_store_batch_seal(f->s, 999), IK_ERR_NOT_FOUND);

	/* the next batch may start; a sealed one finishes with its last request */
	assert_int_equal(ra_store_batch_create(f->s, RA_REQ_ISSUE, "", "officer2", NULL, &b2),
	    IK_OK);
	r[0] = queue_issue(f->s, 0, "z1", b2);
	r[1] = queue_issue(f->s, 0, "z2", b2);
	assert_int_equal(ra_store_batch_seal(f->s, b2), IK_OK);
	assert_int_equal(ra_store_request_claim(f->s, now, &c), IK_OK); /* z1 with the signer */
	/* abort: pending ones fail with their certificates; the sent one still settles */
	assert_int_equal(ra_store_batch_abort(f->s, b2, "stopped by officer2", &H_TEST), IK_OK);
	assert_int_equal(ra_store_batch_get(f->s, b2, &b), IK_OK);
	assert_int_equal(b.state, RA_BATCH_FAILED);
	assert_int_equal(b.failed, 1);
	assert_int_equal(ra_store_request_get(f->s, r[1].id, &c), IK_OK);
	assert_int_equal(c.state, RA_REQ_FAILED);
	assert_string_equal(c.last_error, "stopped by officer2");
	{
		ra_cert cert;
		assert_int_equal(ra_store_cert_get(f->s, r[1].cert_id, &cert), IK_OK);
		assert_int_equal(cert.state, RA_CERT_FAILED);
	}
	assert_int_equal(answer(f->s, r[0].id, 0x601, now, now + 100), IK_OK);
	assert_int_equal(ra_store_batch_get(f->s, b2, &b), IK_OK);
	assert_int_equal(b.done, 1);
	assert_int_equal(b.state, RA_BATCH_FAILED);
	assert_int_equal(ra_store_batch_abort(f->s, b2, "again", NULL), IK_ERR_STATE);
	assert_int_equal(ra_store_batch_running(f->s, &b), IK_ERR_NOT_FOUND);
	/* requests cannot join a batch that is not running */
	{
		ra_request_new rn = { .kind = RA_REQ_ISSUE, .cn = "late", .validity_days = 1,
			.spki = SPKI, .spki_len = sizeof(SPKI), .batch_id = b2 };
		assert_int_equal(ra_store_request_add(f->s, &rn, NULL, NULL), IK_ERR_STATE);
		rn.batch_id = 999;
		assert_int_equal(ra_store_request_add(f->s, &rn, NULL, NULL), IK_ERR_NOT_FOUND);
	}
}

/* ---- download credentials ---- */

static void test_downloads(void **state)
{
	fixture *f = *state;
	int64_t user = add_user(f->s, "dl"), dev = add_device(f->s, user, "mac"), cert, id, now;
	ra_cert_new cn = { .device_id = dev, .cn = "dl-mac", .validity_days = 397 };
	ra_download d = { .kind = RA_DOWNLOAD_PASSWORD }, got;
	ra_request r, c;
	unsigned attempts;

	now = (int64_t)time(NULL);
	assert_int_equal(ra_store_cert_reserve(f->s, &cn, &H_TEST, &cert), IK_OK);
	assert_int_equal(ra_store_cert_reserve(f->s, &cn, &H_TEST, &id), IK_ERR_STATE);
	{
		ik_buf der;
		ik_buf_init(&der, 0);
		assert_int_equal(ra_store_cert_der(f->s, cert, &der), IK_ERR_STATE); /* not yet */
		assert_int_equal(ra_store_cert_der(f->s, 9999, &der), IK_ERR_NOT_FOUND);
		ik_buf_cleanup(&der);
	}
	assert_int_equal(ra_store_download_for_cert(f->s, cert, &got), IK_ERR_NOT_FOUND);
	d.cert_id = cert;
	d.expires = now + 3600;
	snprintf(d.login, sizeof(d.login), "dl-7f3a");
	snprintf(d.secret_hash, sizeof(d.secret_hash), "%s", PHC);
	assert_int_equal(ra_store_download_add(f->s, &d, &H_TEST, &id), IK_OK);
	assert_int_equal(ra_store_download_add(f->s, &d, &H_TEST, &id), IK_ERR_EXISTS);
	snprintf(d.login, sizeof(d.login), "dl-other");
	snprintf(d.secret_hash, sizeof(d.secret_hash), "123456"); /* a PIN in clear */
	assert_int_equal(ra_store_download_add(f->s, &d, NULL, &id), IK_ERR_ARG);
	snprintf(d.secret_hash, sizeof(d.secret_hash), "%s", PHC);
	d.cert_id = 9999;
	assert_int_equal(ra_store_download_add(f->s, &d, NULL, &id), IK_ERR_NOT_FOUND);
	d.cert_id = cert;
	d.kind = RA_DOWNLOAD_PIN;
	d.expires = now - 1; /* already expired */
	assert_int_equal(ra_store_download_add(f->s, &d, NULL, &id), IK_OK);

	assert_int_equal(ra_store_download_by_login(f->s, "dl-7f3a", &got), IK_OK);
	assert_int_equal(got.cert_id, cert);
	assert_int_equal(got.kind, RA_DOWNLOAD_PASSWORD);
	assert_string_equal(got.secret_hash, PHC);
	assert_int_equal(got.used, 0);
	assert_int_equal(ra_store_download_by_login(f->s, "nope", &got), IK_ERR_NOT_FOUND);
	assert_int_equal(ra_store_download_for_cert(f->s, cert, &got), IK_OK);
	assert_string_equal(got.login, "dl-other"); /* the newest */
	assert_int_equal(ra_store_download_attempt(f->s, id, &attempts), IK_OK);
	assert_int_equal(ra_store_download_attempt(f->s, id, &attempts), IK_OK);
	assert_int_equal(attempts, 2);
	assert_int_equal(ra_store_download_use(f->s, id, now, &H_TEST), IK_ERR_STATE); /* expired */

	assert_int_equal(ra_store_download_by_login(f->s, "dl-7f3a", &got), IK_OK);
	assert_int_equal(ra_store_download_use(f->s, got.id, now, &H_TEST), IK_OK);
	assert_int_equal(ra_store_download_use(f->s, got.id, now, &H_TEST), IK_ERR_STATE); /* spent */
	assert_int_equal(ra_store_download_use(f->s, 9999, now, NULL), IK_ERR_NOT_FOUND);
	assert_int_equal(ra_store_download_by_login(f->s, "dl-7f3a", &got), IK_OK);
	assert_int_equal(got.used, now);

	/* the user is there: issue into the reserved certificate, key made now */
	{
		ra_request_new rn = { .kind = RA_REQ_ISSUE, .cert_id = cert, .generate_here = 1 };
		ra_cert x;
		assert_int_equal(ra_store_request_add(f->s, &rn, NULL, &r), IK_OK);
		assert_int_equal(r.cert_id, cert);
		assert_string_equal(r.cn, "dl-mac");
		assert_int_equal(r.validity_days, 397);
		assert_int_equal(r.device_id, dev);
		assert_int_equal(ra_store_request_add(f->s, &rn, NULL, NULL), IK_ERR_STATE);
		assert_int_equal(ra_store_request_set_spki(f->s, r.id, SPKI, sizeof(SPKI)), IK_OK);
		assert_int_equal(ra_store_request_claim_id(f->s, r.id, &c), IK_OK);
		assert_int_equal(answer(f->s, r.id, 0xd1, now, now + 397 * 86400), IK_OK);
		assert_int_equal(ra_store_cert_get(f->s, cert, &x), IK_OK);
		assert_int_equal(x.state, RA_CERT_ACTIVE);
		assert_int_equal(x.current, 1);
		/* superseded later, when a renewal is downloaded */
		assert_int_equal(ra_store_cert_set_state(f->s, cert,
		    RA_CERT_STATE_BIT(RA_CERT_REVOKED), RA_CERT_SUPERSEDED, 0, NULL), IK_ERR_STATE);
		assert_int_equal(ra_store_cert_set_state(f->s, cert,
		    RA_CERT_STATE_BIT(RA_CERT_ACTIVE), RA_CERT_REVOKED, 7, NULL), IK_ERR_ARG);
		assert_int_equal(ra_store_cert_set_state(f->s, cert,
		    RA_CERT_STATE_BIT(RA_CERT_ACTIVE), RA_CERT_SUPERSEDED, 0, &H_TEST), IK_OK);
		assert_int_equal(ra_store_cert_get(f->s, cert, &x), IK_OK);
		assert_int_equal(x.current, 0);
	}
	{
		char bad[256];
		assert_int_equal(ra_history_verify(f->s, bad, sizeof(bad)), IK_OK);
	}
}

static void test_names(void **state)
{
	ra_cert_state cs;
	ra_request_kind k;

	(void)state;
	for (int i = RA_CERT_ISSUING; i <= RA_CERT_FAILED; i++) {
		assert_int_equal(ra_cert_state_parse(ra_cert_state_name((ra_cert_state)i), &cs),
		    IK_OK);
		assert_int_equal(cs, i);
	}
	assert_string_equal(ra_cert_state_name(RA_CERT_AWAITING_DOWNLOAD), "awaiting_download");
	assert_string_equal(ra_cert_state_name((ra_cert_state)99), "unknown");
	assert_int_equal(ra_cert_state_parse("Active", &cs), IK_ERR_ARG);
	assert_int_equal(ra_request_kind_parse("renew", &k), IK_OK);
	assert_int_equal(k, RA_REQ_RENEW);
	assert_int_equal(ra_request_kind_parse("hold", &k), IK_ERR_ARG);
	assert_string_equal(ra_request_kind_name(RA_REQ_SUSPEND), "suspend");
	assert_string_equal(ra_request_state_name(RA_REQ_SENT), "sent");
	assert_string_equal(ra_batch_state_name(RA_BATCH_FINISHED), "finished");
}

/* Each thread has its own connection; closing after the threads have gone is clean. */
typedef struct targ {
	ra_store *s;
	int n;
} targ;

static void *thread_users(void *p)
{
	const targ *a = p;
	ra_store *s = a->s;
	char ext[32];
	ra_user u;

	for (int i = 0; i < 20; i++) {
		int64_t id;
		memset(&u, 0, sizeof(u));
		snprintf(ext, sizeof(ext), "t%d-%d", a->n, i);
		snprintf(u.external_id, sizeof(u.external_id), "%s", ext);
		if (ra_store_user_add(s, &u, &H_TEST, &id) != IK_OK ||
		    ra_store_user_get(s, id, &u) != IK_OK || strcmp(u.external_id, ext) != 0)
			return (void *)1;
	}
	return NULL;
}

/* The WAL is checkpointed on the store's own thread: a commit that leaves fewer than a
 * thousand pages in the log wakes nothing; one that leaves more (1 200 settings of 3 000
 * bytes, about 4 MB, in one transaction) has a checkpoint made soon after, off the writer's
 * path, and what it wrote reads back afterwards. */
static void test_checkpoint_thread(void **state)
{
	fixture *f = *state;
	char *big = malloc(3001), key[32], back[RA_SETTING_MAX];
	struct timespec pause = { 0, 20 * 1000000L };

	assert_non_null(big);
	memset(big, 'x', 3000);
	big[3000] = '\0';
	assert_int_equal(ra_store_setting_set(f->s, "small.one", "1", NULL), IK_OK);
	nanosleep(&pause, NULL);
	assert_int_equal(ra_store_checkpoints(f->s), 0);
	assert_int_equal(ra_store_begin(f->s), IK_OK);
	for (int i = 0; i < 1200; i++) {
		snprintf(key, sizeof(key), "big.%04d", i);
		big[0] = (char)('a' + i % 26);
		assert_int_equal(ra_store_setting_set(f->s, key, big, NULL), IK_OK);
	}
	assert_int_equal(ra_store_commit(f->s), IK_OK);
	for (int i = 0; i < 500 && ra_store_checkpoints(f->s) == 0; i++)
		nanosleep(&pause, NULL);
	assert_true(ra_store_checkpoints(f->s) >= 1);
	assert_int_equal(ra_store_setting_get(f->s, "big.0027", back, sizeof(back)), IK_OK);
	assert_int_equal(back[0], 'b');
	assert_int_equal(strlen(back), 3000);
	assert_int_equal(ik_raw_int(f->path, "SELECT COUNT(*) FROM settings WHERE key LIKE 'big.%'"),
	    1200);
	free(big);
}

static void test_threads(void **state)
{
	fixture *f = *state;
	pthread_t t[4];
	targ a[4];
	void *rc;
	char bad[256];

	for (int i = 0; i < 4; i++) {
		a[i] = (targ){ f->s, i };
		assert_int_equal(pthread_create(&t[i], NULL, thread_users, &a[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(t[i], &rc), 0);
		assert_null(rc);
	}
	assert_int_equal(ik_raw_int(f->path, "SELECT COUNT(*) FROM users"), 80);
	assert_int_equal(ra_history_verify(f->s, bad, sizeof(bad)), IK_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_migrations, setup, teardown),
		cmocka_unit_test_setup_teardown(test_officers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sessions_tokens, setup, teardown),
		cmocka_unit_test_setup_teardown(test_settings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_users_devices, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cert_listing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rollback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_history, setup, teardown),
		cmocka_unit_test_setup_teardown(test_history_relinked, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue, setup, teardown),
		cmocka_unit_test_setup_teardown(test_renewal_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_threads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_groups, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batches, setup, teardown),
		cmocka_unit_test_setup_teardown(test_downloads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_checkpoint_thread, setup, teardown),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
