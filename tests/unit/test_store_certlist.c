/* Unit tests for ra/store_sqlite_certlist.c on a real SQLite file: every filter shape of the
 * certificate list (state × sort × order × CN substring, CN prefix, dates, device, user)
 * returns the same rows in the same order as a brute-force check in C over 6 000 rows with
 * random states, dates and common names, on both sides of the driving-set threshold; the
 * kept state counters stay right across issue, revoke, suspend, resume, expire and failure;
 * the trigram CN search (case, Unicode, FTS5 syntax taken literally) and its index. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <cmocka.h>
#include <sqlite3.h>
#include "certlist_oracle.h"
#include "store.h"
#include "store_fixture.h"
#include "tmpdb.h"

#define NROWS 6000

static const ra_hist H_TEST = { "tester", "192.0.2.1", "test_op", "t", "{}" };
static const uint8_t SPKI[] = { 0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce,
	0x3d, 0x02, 0x01 };
static const uint8_t DER[] = { 0x30, 0x03, 0x02, 0x01, 0x01 };
static const char *const places[] = { "tokyo", "osaka", "Kyoto", "NAHA", "kobe", "sendai",
	"田中太郎", "o\"quote", "AND", "x*y" };

static int setup(void **state)
{
	return ik_store_setup(state, "certlist");
}

static int teardown(void **state)
{
	return ik_store_teardown(state);
}

/* a small deterministic generator (xorshift64*), so a failure can be replayed */
static uint64_t g_rng = 0x9e3779b97f4a7c15ULL;
static uint32_t rnd(uint32_t n)
{
	g_rng ^= g_rng >> 12;
	g_rng ^= g_rng << 25;
	g_rng ^= g_rng >> 27;
	return (uint32_t)((g_rng * 2685821657736338717ULL) >> 33) % n;
}

/* ---- the brute-force reference is certlist_oracle.h ---- */

/* q's first `pages` pages (all of them when 0) against the reference; the count too. */
static void check(ra_store *s, ra_cert_query q, const ra_cert *all, size_t nall, int pages)
{
	ra_cert *want = calloc(nall, sizeof(*want)), rows[RA_PAGE_MAX];
	char cursor[RA_CURSOR_MAX] = "", next[RA_CURSOR_MAX];
	size_t nwant = 0, got = 0, n, lim = q.limit ? q.limit : RA_PAGE_MAX;
	int searched = (q.cn_contains != NULL && q.cn_contains[0] != '\0') || q.issued_from ||
	    q.issued_to || q.device_id || q.user_id;
	uint64_t count;

	assert_non_null(want);
	nwant = ik_oracle_expect(all, nall, &q, want);
	assert_int_equal(ra_store_cert_count(s, &q, &count), IK_OK);
	if (searched && nwant > RA_CERT_COUNT_CAP)
		assert_int_equal(count, RA_CERT_COUNT_CAP + 1);
	else
		assert_int_equal(count, nwant);
	for (int p = 0; pages == 0 || p < pages; p++) {
		char next2[RA_CURSOR_MAX];
		size_t n2;
		uint64_t total;

		q.cursor = cursor;
		assert_int_equal(ra_store_cert_list(s, &q, rows, &n, next), IK_OK);
		/* the page and its total in one: the same page, the count (or the page's own
		 * rows when it is the first and holds them all) */
		{
			ra_cert rows2[RA_PAGE_MAX];
			assert_int_equal(ra_store_cert_page(s, &q, rows2, &n2, next2, &total), IK_OK);
			assert_int_equal(n2, n);
			assert_string_equal(next2, next);
			for (size_t i = 0; i < n; i++)
				assert_int_equal(rows2[i].id, rows[i].id);
			assert_int_equal(total, p == 0 && next[0] == '\0' ? n : count);
		}
		for (size_t i = 0; i < n; i++) {
			if (got >= nwant || rows[i].id != want[got].id)
				fail_msg("filter %d sort %d desc %d cn '%s' from %lld to %lld: row %zu is"
				    " id %lld, want %lld", q.filter, q.sort, q.descending,
				    q.cn_contains ? q.cn_contains : "", (long long)q.issued_from,
				    (long long)q.issued_to, got, (long long)rows[i].id,
				    got < nwant ? (long long)want[got].id : -1LL);
			got++;
		}
		assert_int_equal(n, nwant - (got - n) < lim ? nwant - (got - n) : lim);
		assert_int_equal(next[0] != '\0', got < nwant);
		if (next[0] == '\0')
			break;
		snprintf(cursor, sizeof(cursor), "%s", next);
	}
	free(want);
}

/* NROWS imported certificates: random state, notBefore over two years, a validity of 30 to
 * 400 days (so some active ones are already past their end), common names from places. */
static ra_cert *fill(ra_store *s, int64_t now)
{
	ra_cert *all = calloc(NROWS, sizeof(*all));
	static const ra_cert_state states[] = { RA_CERT_ACTIVE, RA_CERT_ACTIVE, RA_CERT_ACTIVE,
		RA_CERT_EXPIRED, RA_CERT_REVOKED, RA_CERT_SUSPENDED };

	assert_non_null(all);
	assert_int_equal(ra_store_begin(s), IK_OK);
	for (int i = 0; i < NROWS; i++) {
		char serial[24], cn[96];
		int64_t id, nb = now - 730 * 86400LL + (int64_t)rnd(730 * 86400);
		ra_cert_import c = { .serial = serial, .cn = cn, .der = DER, .der_len = sizeof(DER) };

		snprintf(serial, sizeof(serial), "%08x%04x", rnd(0x7fffffff), (unsigned)i);
		snprintf(cn, sizeof(cn), "%s-%05d-%s", rnd(10) == 0 ? "PC" : "dev", (int)rnd(100000),
		    places[rnd(sizeof(places) / sizeof(places[0]))]);
		c.not_before = nb;
		c.not_after = nb + (30 + (int64_t)rnd(370)) * 86400;
		c.state = states[rnd(6)];
		c.reason = c.state == RA_CERT_REVOKED ? 1 : -1;
		c.created = rnd(3) == 0 ? nb - 5 : 0;
		assert_int_equal(ra_store_cert_import(s, &c, &id), IK_OK);
		assert_int_equal(ra_store_cert_get(s, id, &all[i]), IK_OK);
	}
	assert_int_equal(ra_store_commit(s), IK_OK);
	return all;
}

static void test_shapes(void **state)
{
	fixture *f = *state;
	int64_t now = (int64_t)time(NULL), day = 86400;
	ra_cert *all = fill(f->s, now);
	/* dense ones ("dev", "d", "PC") walk the sort key's index; rare ones drive the page */
	const char *cns[] = { NULL, "dev", "-0012", "OSAKA", "田中太", "d", "pc", "Ky", "na",
		"\"quote", "AND", "x*y", "zzz" };
	const int64_t ranges[][2] = { { 0, 0 }, { now - 100 * day, now - 97 * day },
		{ now - 700 * day, 0 }, { 0, now - 600 * day }, { now - 400 * day, now - 399 * day } };
	ra_cert_query q;

	for (int fl = RA_CERT_FILTER_ALL; fl <= RA_CERT_FILTER_SUSPENDED; fl++)
		for (int k = RA_CERT_SORT_CREATED; k <= RA_CERT_SORT_SERIAL; k++)
			for (size_t c = 0; c < sizeof(cns) / sizeof(cns[0]); c++)
				for (size_t r = 0; r < sizeof(ranges) / sizeof(ranges[0]); r++) {
					if (c != 0 && r != 0 && (c + r + (size_t)k) % 3 != 0)
						continue; /* a third of the combinations */
					memset(&q, 0, sizeof(q));
					q.now = now;
					q.filter = (ra_cert_filter)fl;
					q.sort = (ra_cert_sort)k;
					q.descending = (int)((c + r + (size_t)fl) % 2);
					q.cn_contains = cns[c];
					q.issued_from = ranges[r][0];
					q.issued_to = ranges[r][1];
					q.limit = (c + r) % 4 == 1 ? 37 : 0;
					check(f->s, q, all, NROWS, 2);
				}
	/* whole walks, every page, for a few shapes on each side of the threshold */
	for (int d = 0; d < 2; d++) {
		memset(&q, 0, sizeof(q));
		q.now = now;
		q.descending = d;
		q.sort = RA_CERT_SORT_CN;
		check(f->s, q, all, NROWS, 0);
		q.filter = RA_CERT_FILTER_EXPIRED;
		q.sort = RA_CERT_SORT_NOT_AFTER;
		check(f->s, q, all, NROWS, 0);
		q.filter = RA_CERT_FILTER_VALID;
		q.cn_contains = "osaka";
		q.sort = RA_CERT_SORT_SERIAL;
		check(f->s, q, all, NROWS, 0);
		q.filter = RA_CERT_FILTER_ALL;
		q.cn_contains = "dev";
		q.issued_from = now - 200 * day;
		q.sort = RA_CERT_SORT_NOT_BEFORE;
		q.limit = 100;
		check(f->s, q, all, NROWS, 0);
	}
	free(all);
}

/* ---- counters ---- */

/* ra_store_cert_counts against a GROUP BY on the file, and every state filter's count
 * against the rows themselves. */
static void counts_right(fixture *f, int64_t now)
{
	static const char *const names[] = { "", "issuing", "awaiting_download", "active",
		"suspended", "revoked", "expired", "superseded", "failed" };
	ra_cert_counts cc;
	uint64_t used = 0;

	assert_int_equal(ra_store_cert_counts(f->s, &cc), IK_OK);
	for (int st = RA_CERT_ISSUING; st <= RA_CERT_FAILED; st++) {
		char sql[128];
		snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM certificates WHERE state = '%s'",
		    names[st]);
		assert_int_equal(cc.by_state[st], (uint64_t)ik_raw_int(f->path, sql));
		if (st != RA_CERT_FAILED)
			used += cc.by_state[st];
	}
	assert_int_equal(cc.quota_used, used);
	for (int fl = RA_CERT_FILTER_ALL; fl <= RA_CERT_FILTER_SUSPENDED; fl++) {
		ra_cert_query q = { .filter = (ra_cert_filter)fl, .now = now };
		char sql[256];
		uint64_t n;
		const char *w = fl == RA_CERT_FILTER_VALID ? "state = 'active' AND not_after > ?" :
		    fl == RA_CERT_FILTER_EXPIRED ?
		    "state = 'expired' OR (state = 'active' AND not_after <= ?)" :
		    fl == RA_CERT_FILTER_REVOKED ? "state = 'revoked'" :
		    fl == RA_CERT_FILTER_SUSPENDED ? "state = 'suspended'" : "1";
		size_t o = (size_t)snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM certificates WHERE ");
		for (const char *p = w; *p != '\0' && o + 24 < sizeof(sql); p++) {
			if (*p == '?')
				o += (size_t)snprintf(sql + o, sizeof(sql) - o, "%lld", (long long)now);
			else
				sql[o++] = *p;
		}
		sql[o] = '\0';
		assert_int_equal(ra_store_cert_count(f->s, &q, &n), IK_OK);
		assert_int_equal(n, (uint64_t)ik_raw_int(f->path, sql));
	}
}

static int64_t issue(ra_store *s, int64_t device, const char *cn, unsigned serial, int64_t nb,
    int64_t na)
{
	ra_request_new rn = { .kind = RA_REQ_ISSUE, .device_id = device, .cn = cn,
		.validity_days = 365, .spki = SPKI, .spki_len = sizeof(SPKI), .created_by = "o" };
	ra_request r, c;
	char hex[16];
	uint8_t der[40];
	ra_issued is = { hex, der, sizeof(der), nb, na };

	snprintf(hex, sizeof(hex), "%04x", serial);
	memset(der, (int)serial, sizeof(der));
	assert_int_equal(ra_store_request_add(s, &rn, &H_TEST, &r), IK_OK);
	assert_int_equal(ra_store_request_claim_id(s, r.id, &c), IK_OK);
	assert_int_equal(ra_store_request_complete(s, r.id, &is, &H_TEST), IK_OK);
	return r.cert_id;
}

static void event(ra_store *s, ra_request_kind kind, int64_t cert)
{
	ra_request_new rn = { .kind = kind, .cert_id = cert, .reason = 1 };
	ra_request r, c;

	assert_int_equal(ra_store_request_add(s, &rn, NULL, &r), IK_OK);
	assert_int_equal(ra_store_request_claim_id(s, r.id, &c), IK_OK);
	assert_int_equal(ra_store_request_complete(s, r.id, NULL, &H_TEST), IK_OK);
}

static void test_counters(void **state)
{
	fixture *f = *state;
	int64_t now = (int64_t)time(NULL), ids[40], res;
	ra_user u = { 0 };
	ra_device d = { 0 };
	int64_t uid, devs[40];
	ra_cert_new cnw = { .cn = "reserved-one", .validity_days = 30 };
	size_t n;

	counts_right(f, now);
	snprintf(u.external_id, sizeof(u.external_id), "u1");
	assert_int_equal(ra_store_user_add(f->s, &u, &H_TEST, &uid), IK_OK);
	for (int i = 0; i < 40; i++) {
		char cn[32];
		d.user_id = uid;
		snprintf(d.name, sizeof(d.name), "pc-%d", i);
		assert_int_equal(ra_store_device_add(f->s, &d, NULL, &devs[i]), IK_OK);
		snprintf(cn, sizeof(cn), "counter-%02d", i);
		/* every fourth one ends in the past: still "active" until the expiry job runs */
		ids[i] = issue(f->s, devs[i], cn, 0x100 + (unsigned)i, now - 100 * 86400,
		    i % 4 == 0 ? now - 60 : now + 100 * 86400);
	}
	counts_right(f, now);
	for (int i = 1; i < 40; i += 4)
		event(f->s, RA_REQ_REVOKE, ids[i]);
	counts_right(f, now);
	for (int i = 2; i < 40; i += 4)
		event(f->s, RA_REQ_SUSPEND, ids[i]);
	counts_right(f, now);
	for (int i = 2; i < 40; i += 8)
		event(f->s, RA_REQ_RESUME, ids[i]);
	counts_right(f, now);
	assert_int_equal(ra_store_cert_expire(f->s, now, &n), IK_OK);
	assert_int_equal(n, 10);
	counts_right(f, now);
	/* a reservation, then its failure */
	cnw.device_id = 0;
	assert_int_equal(ra_store_cert_reserve(f->s, &cnw, &H_TEST, &res), IK_OK);
	counts_right(f, now);
	assert_int_equal(ra_store_cert_set_state(f->s, res,
	    RA_CERT_STATE_BIT(RA_CERT_AWAITING_DOWNLOAD), RA_CERT_FAILED, 0, NULL), IK_OK);
	counts_right(f, now);
	/* a refused change leaves them as they were (the transaction rolled back) */
	assert_int_equal(ra_store_cert_set_state(f->s, ids[1], RA_CERT_STATE_BIT(RA_CERT_ACTIVE),
	    RA_CERT_SUSPENDED, 0, NULL), IK_ERR_STATE);
	counts_right(f, now);
	/* the device and user shapes */
	{
		ra_cert all[41];
		ra_cert_query q = { .now = now, .user_id = uid };
		for (int i = 0; i < 40; i++)
			assert_int_equal(ra_store_cert_get(f->s, ids[i], &all[i]), IK_OK);
		assert_int_equal(ra_store_cert_get(f->s, res, &all[40]), IK_OK);
		check(f->s, q, all, 41, 0);
		q.filter = RA_CERT_FILTER_REVOKED;
		q.sort = RA_CERT_SORT_CN;
		check(f->s, q, all, 41, 0);
		memset(&q, 0, sizeof(q));
		q.now = now;
		q.device_id = devs[5];
		check(f->s, q, all, 41, 0);
		q.cn_contains = "counter-0";
		q.device_id = 0;
		q.descending = 1;
		check(f->s, q, all, 41, 0);
	}
}

/* ---- the trigram CN search ---- */

static void test_trigram(void **state)
{
	fixture *f = *state;
	static const char *const cns[] = { "Tanaka-iPhone", "山田太郎のPC", "a\"b\"c", "NEAR(x y)",
		"col:umn", "x AND y", "100%_done", "ÉCOLE-pc" };
	ra_cert rows[RA_PAGE_MAX];
	char next[RA_CURSOR_MAX];
	ra_cert_query q = { 0 };
	size_t n;
	uint64_t count;
	const struct {
		const char *sub;
		int want;     /* index into cns, or -1: none */
	} cases[] = {
		{ "TANAKA", 0 }, { "naka-iph", 0 }, { "田太郎", 1 }, { "のPC", 1 }, { "\"b\"", 2 },
		{ "NEAR(", 3 }, { "l:u", 4 }, { "AND", 5 }, { "0%_", 6 }, { "%_d", 6 },
		{ "COLE", 7 }, { "école", -1 }, /* LIKE folds ASCII only, as before */
		{ "tanaka-iphonex", -1 }, { "*", -1 },
	};

	assert_int_equal(ra_store_begin(f->s), IK_OK);
	for (size_t i = 0; i < sizeof(cns) / sizeof(cns[0]); i++) {
		char serial[16];
		ra_cert_import c = { .serial = serial, .cn = cns[i], .der = DER,
			.der_len = sizeof(DER), .not_before = 1000, .not_after = 2000000000,
			.state = RA_CERT_ACTIVE };
		snprintf(serial, sizeof(serial), "%04x", (unsigned)i + 1);
		assert_int_equal(ra_store_cert_import(f->s, &c, NULL), IK_OK);
	}
	assert_int_equal(ra_store_commit(f->s), IK_OK);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		q.cn_contains = cases[i].sub;
		assert_int_equal(ra_store_cert_list(f->s, &q, rows, &n, next), IK_OK);
		if (cases[i].want < 0) {
			if (n != 0)
				fail_msg("'%s' found '%s'", cases[i].sub, rows[0].cn);
			continue;
		}
		if (n != 1 || strcmp(rows[0].cn, cns[cases[i].want]) != 0)
			fail_msg("'%s': %zu rows, want '%s'", cases[i].sub, n, cns[cases[i].want]);
		assert_int_equal(ra_store_cert_count(f->s, &q, &count), IK_OK);
		assert_int_equal(count, 1);
	}
	/* the index holds every row and agrees with the table (FTS5's own check) */
	assert_int_equal(ik_raw_int(f->path, "SELECT COUNT(*) FROM certs_cn_fts_docsize"),
	    ik_raw_int(f->path, "SELECT COUNT(*) FROM certificates"));
	assert_int_equal(ik_raw_exec(f->path, "INSERT INTO certs_cn_fts(certs_cn_fts, rank)"
	    " VALUES ('integrity-check', 1)"), SQLITE_OK);
	/* a refused import adds nothing to the index either */
	{
		ra_cert_import c = { .serial = "0001", .cn = "duplicate-serial", .der = DER,
			.der_len = sizeof(DER), .not_before = 1000, .not_after = 2000000000,
			.state = RA_CERT_ACTIVE };
		assert_int_not_equal(ra_store_cert_import(f->s, &c, NULL), IK_OK);
		q.cn_contains = "duplicate";
		assert_int_equal(ra_store_cert_count(f->s, &q, &count), IK_OK);
		assert_int_equal(count, 0);
		assert_int_equal(ik_raw_int(f->path, "SELECT COUNT(*) FROM certs_cn_fts_docsize"),
		    (int64_t)(sizeof(cns) / sizeof(cns[0])));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_shapes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_counters, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trigram, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
