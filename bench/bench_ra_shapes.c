/* bench_ra_shapes: the officer list's query shapes one at a time on a filled RA store, in
 * process — time per request (list + total, as the JSON and HTML handlers call them) and,
 * per SQL statement that ran, SQLite's counters (full-scan steps, sorts, VM steps) and its
 * query plan.  A bench, so it reads the store's connection (store_sqlite_conn.h) directly.
 * Usage: bench_ra_shapes RA.sqlite [ITERATIONS] [SHAPE...] (SHAPE: 0..7, default all; 8..
 * are variants).  BENCH_WRITER_MS=20: another thread commits a small write that often, as a
 * running batch does (each commit empties the readers' page caches); BENCH_MMAP=bytes: the
 * reading connection's mmap_size. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store_sqlite_conn.h"

typedef struct shape {
	const char *name;
	ra_cert_filter filter;
	ra_cert_sort sort;
	int desc;
	const char *cn;
	int days; /* issued in this many days from 400 days ago; 0 = no dates */
} shape;

static const shape shapes[] = {
	{ "first page (created desc)", RA_CERT_FILTER_ALL, RA_CERT_SORT_CREATED, 1, NULL, 0 },
	{ "state: revoked", RA_CERT_FILTER_REVOKED, RA_CERT_SORT_CREATED, 1, NULL, 0 },
	{ "state: valid, sort cn", RA_CERT_FILTER_VALID, RA_CERT_SORT_CN, 0, NULL, 0 },
	{ "cn: 0012345", RA_CERT_FILTER_ALL, RA_CERT_SORT_CREATED, 1, "0012345", 0 },
	{ "cn: osaka", RA_CERT_FILTER_ALL, RA_CERT_SORT_CREATED, 1, "osaka", 0 },
	{ "issued: one day (JSON)", RA_CERT_FILTER_ALL, RA_CERT_SORT_CREATED, 0, NULL, 1 },
	{ "issued: two days (HTML)", RA_CERT_FILTER_ALL, RA_CERT_SORT_CREATED, 1, NULL, 2 },
	{ "suspended + cn kyoto", RA_CERT_FILTER_SUSPENDED, RA_CERT_SORT_CREATED, 1, "kyoto", 0 },
	/* variants: the order and the size of the date range apart */
	{ "issued: one day, desc", RA_CERT_FILTER_ALL, RA_CERT_SORT_CREATED, 1, NULL, 1 },
	{ "issued: two days, asc", RA_CERT_FILTER_ALL, RA_CERT_SORT_CREATED, 0, NULL, 2 },
	{ "issued: four days, asc", RA_CERT_FILTER_ALL, RA_CERT_SORT_CREATED, 0, NULL, 4 },
	{ "cn: osaka, asc", RA_CERT_FILTER_ALL, RA_CERT_SORT_CREATED, 0, "osaka", 0 },
};
#define NSHAPES (sizeof(shapes) / sizeof(shapes[0]))

static volatile int g_stop;

/* The other writer: a setting rewritten every ms milliseconds, each in its own commit. */
static void *writer(void *arg)
{
	ra_store *s = arg;
	const char *e = getenv("BENCH_WRITER_MS");
	long ms = e != NULL ? atol(e) : 20;
	struct timespec d = { ms / 1000, (ms % 1000) * 1000000L };
	char v[24];

	for (unsigned i = 0; !g_stop; i++) {
		snprintf(v, sizeof(v), "%u", i);
		(void)ra_store_setting_set(s, "bench_tick", v, NULL);
		nanosleep(&d, NULL);
	}
	return NULL;
}

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* What a list handler does: the page and its total. */
static ik_status one_request(ra_store *s, const ra_cert_query *q, ra_cert *rows, size_t *n,
    uint64_t *total)
{
	char next[RA_CURSOR_MAX];

	return ra_store_cert_page(s, q, rows, n, next, total);
}

static void plan(sqlite3 *db, const char *sql)
{
	char *e = sqlite3_mprintf("EXPLAIN QUERY PLAN %s", sql);
	sqlite3_stmt *q = NULL;

	if (e != NULL && sqlite3_prepare_v2(db, e, -1, &q, NULL) == SQLITE_OK)
		while (sqlite3_step(q) == SQLITE_ROW)
			printf("      plan: %s\n", (const char *)sqlite3_column_text(q, 3));
	sqlite3_finalize(q);
	sqlite3_free(e);
}

static void counters(sqlite3 *db, int iters, int show)
{
	for (sqlite3_stmt *q = sqlite3_next_stmt(db, NULL); q != NULL; q = sqlite3_next_stmt(db, q)) {
		int vm = sqlite3_stmt_status(q, SQLITE_STMTSTATUS_VM_STEP, 1);
		int fs = sqlite3_stmt_status(q, SQLITE_STMTSTATUS_FULLSCAN_STEP, 1);
		int so = sqlite3_stmt_status(q, SQLITE_STMTSTATUS_SORT, 1);
		int ai = sqlite3_stmt_status(q, SQLITE_STMTSTATUS_AUTOINDEX, 1);
		int runs = sqlite3_stmt_status(q, SQLITE_STMTSTATUS_RUN, 1);

		if (runs == 0 || !show)
			continue;
		printf("    per request: vm %d, fullscan %d, sort %d, autoindex %d, runs %.1f: %.110s\n",
		    vm / iters, fs / iters, so / iters, ai / iters, (double)runs / iters,
		    sqlite3_sql(q));
		plan(db, sqlite3_sql(q));
	}
}

int main(int argc, char **argv)
{
	ra_store *s = NULL;
	ra_cert *rows = calloc(RA_PAGE_MAX, sizeof(*rows));
	int iters = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 20, rc = 1;
	int64_t day = (int64_t)time(NULL) - 400 * 86400LL;
	double *t = calloc((size_t)(iters > 0 ? iters : 1), sizeof(*t));
	sq_conn *c;
	pthread_t wt = 0;

	if (argc < 2 || iters < 1 || rows == NULL || t == NULL) {
		fprintf(stderr, "usage: bench_ra_shapes RA.sqlite [ITERATIONS] [SHAPE...]\n");
		return 2;
	}
	if (ra_store_open(argv[1], &s) != IK_OK || sq_get_conn(s, &c) != IK_OK) {
		fprintf(stderr, "bench_ra_shapes: cannot open %s\n", argv[1]);
		goto out;
	}
	if (getenv("BENCH_MMAP") != NULL) {
		char *sql = sqlite3_mprintf("PRAGMA mmap_size = %lld", atoll(getenv("BENCH_MMAP")));
		sqlite3_exec(c->db, sql, NULL, NULL, NULL);
		sqlite3_free(sql);
	}
	if (getenv("BENCH_WRITER_MS") != NULL && pthread_create(&wt, NULL, writer, s) != 0)
		goto out;
	for (size_t k = 0; k < NSHAPES; k++) {
		const shape *sh = &shapes[k];
		ra_cert_query q = { .filter = sh->filter, .sort = sh->sort, .descending = sh->desc,
			.cn_contains = sh->cn };
		size_t n = 0;
		uint64_t total = 0;
		int want = argc <= 3;

		for (int a = 3; a < argc; a++)
			want |= (size_t)strtoul(argv[a], NULL, 10) == k;
		want &= k < 8 || argc > 3; /* the variants when asked for */
		if (!want)
			continue;
		if (sh->days > 0) {
			q.issued_from = day;
			q.issued_to = day + sh->days * 86400LL;
		}
		(void)one_request(s, &q, rows, &n, &total); /* warm the cache and the statements */
		counters(c->db, 1, 0); /* zero the counters */
		for (int i = 0; i < iters; i++) {
			double t0 = now_ms();
			if (one_request(s, &q, rows, &n, &total) != IK_OK) {
				fprintf(stderr, "bench_ra_shapes: shape %zu failed\n", k);
				goto out;
			}
			t[i] = now_ms() - t0;
		}
		qsort(t, (size_t)iters, sizeof(*t), cmp_d);
		printf("%zu %-28s rows %3zu total %6llu  ms: min %.2f median %.2f max %.2f\n", k,
		    sh->name, n, (unsigned long long)total, t[0], t[iters / 2], t[iters - 1]);
		counters(c->db, iters, 1);
	}
	rc = 0;
out:
	g_stop = 1;
	if (wt != 0)
		pthread_join(wt, NULL);
	ra_store_close(s);
	free(rows);
	free(t);
	return rc;
}
