/* Unit tests for the group commit of new requests (ra_store_request_add from several threads
 * at once, ra/store_sqlite_queue.c) on a real SQLite file: every caller's row is committed
 * before it returns, a refused request does not undo the others of its group, and a commit
 * that fails (the WAL cannot be written: RLIMIT_FSIZE) answers every caller with an error
 * and keeps none of their rows.  The same for requests queued without waiting
 * (ra_store_request_add_async, the HTTP path): each one's callback runs only once its row is
 * in the file, a failed commit calls every one with an error, and closing the store commits
 * and answers what is still queued. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <cmocka.h>
#include <sqlite3.h>
#include "store.h"
#include "store_fixture.h"
#include "tmpdb.h"

#define THREADS 8
#define PER_THREAD 12

static const ra_hist H_TEST = { "tester", "192.0.2.1", "test_op", "t", "{}" };
static const uint8_t SPKI[] = { 0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce,
	0x3d, 0x02, 0x01 }; /* opaque to the store: only stored */

static int setup(void **state)
{
	return ik_store_setup(state, "group");
}

static int teardown(void **state)
{
	return ik_store_teardown(state);
}

static int64_t add_device(ra_store *s, const char *ext)
{
	ra_user u = { 0 };
	ra_device d = { 0 };
	int64_t uid, did;

	snprintf(u.external_id, sizeof(u.external_id), "%s", ext);
	assert_int_equal(ra_store_user_add(s, &u, NULL, &uid), IK_OK);
	d.user_id = uid;
	snprintf(d.name, sizeof(d.name), "laptop");
	assert_int_equal(ra_store_device_add(s, &d, NULL, &did), IK_OK);
	return did;
}

typedef struct adder {
	ra_store *s;
	int64_t devices[PER_THREAD];
	size_t n;
	int64_t ids[PER_THREAD];
	ik_status st[PER_THREAD];
	ik_status twice;          /* a second issue for devices[0]: refused */
	pthread_barrier_t *go;
} adder;

static ik_status add_issue(ra_store *s, int64_t device, ra_request *out)
{
	char cn[32];
	ra_request_new rn = { .kind = RA_REQ_ISSUE, .device_id = device, .validity_days = 365,
		.spki = SPKI, .spki_len = sizeof(SPKI), .created_by = "officer1" };

	snprintf(cn, sizeof(cn), "dev-%lld", (long long)device);
	rn.cn = cn;
	return ra_store_request_add(s, &rn, &H_TEST, out);
}

static void *run_adder(void *p)
{
	adder *a = p;
	ra_request r;

	pthread_barrier_wait(a->go);
	for (size_t i = 0; i < a->n; i++) {
		a->st[i] = add_issue(a->s, a->devices[i], &r);
		a->ids[i] = a->st[i] == IK_OK ? r.id : 0;
		if (i == 0)
			a->twice = add_issue(a->s, a->devices[0], &r);
	}
	return NULL;
}

/* Starts THREADS adders of n requests each while this thread holds the write turn, so that
 * they gather behind it, then lets them go (after `between`, if given). */
static void run_adders(fixture *f, adder *a, size_t n, void (*between)(void))
{
	pthread_t t[THREADS];
	pthread_barrier_t go;
	char ext[32];

	pthread_barrier_init(&go, NULL, THREADS + 1);
	for (int i = 0; i < THREADS; i++) {
		memset(&a[i], 0, sizeof(a[i]));
		a[i].s = f->s;
		a[i].n = n;
		a[i].go = &go;
		for (size_t k = 0; k < n; k++) {
			snprintf(ext, sizeof(ext), "u%d-%zu-%ld", i, k, (long)random());
			a[i].devices[k] = add_device(f->s, ext);
		}
	}
	assert_int_equal(ra_store_begin(f->s), IK_OK);
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, run_adder, &a[i]), 0);
	pthread_barrier_wait(&go);
	usleep(300 * 1000); /* they queue up behind this transaction */
	if (between != NULL)
		between();
	assert_int_equal(ra_store_rollback(f->s), IK_OK);
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	pthread_barrier_destroy(&go);
}

static int64_t count(fixture *f, const char *sql)
{
	return ik_raw_int(f->path, sql);
}

/* The CN search index (certs_cn_fts, whose rows a group adds together before its commit)
 * holds exactly the certificates there are: n rows, each found by its own CN, and FTS5's
 * own check against the certificates table passes. */
static void fts_matches(fixture *f, int64_t n)
{
	assert_int_equal(count(f, "SELECT COUNT(*) FROM certificates"), n);
	assert_int_equal(count(f, "SELECT COUNT(*) FROM certs_cn_fts"), n);
	assert_int_equal(count(f, "SELECT COUNT(*) FROM certificates c WHERE NOT EXISTS"
	    " (SELECT 1 FROM certs_cn_fts WHERE certs_cn_fts MATCH '\"' || c.cn || '\"'"
	    " AND rowid = c.id)"), 0);
	assert_int_equal(ik_raw_exec(f->path, "INSERT INTO certs_cn_fts(certs_cn_fts, rank)"
	    " VALUES ('integrity-check', 1)"), SQLITE_OK);
}

/* Every caller's request is in the file (read through another connection) when it returns,
 * in fewer commits than requests; the refused second issue changed nothing else. */
static void test_group_all_kept(void **state)
{
	fixture *f = *state;
	adder a[THREADS];
	uint64_t commits, added;
	char bad[256];

	run_adders(f, a, PER_THREAD, NULL);
	for (int i = 0; i < THREADS; i++) {
		assert_int_equal(a[i].twice, IK_ERR_STATE);
		for (size_t k = 0; k < PER_THREAD; k++) {
			assert_int_equal(a[i].st[k], IK_OK);
			assert_true(a[i].ids[k] > 0);
		}
	}
	assert_int_equal(count(f, "SELECT COUNT(*) FROM requests"), THREADS * PER_THREAD);
	assert_int_equal(count(f, "SELECT COUNT(DISTINCT id) FROM requests WHERE state = 'pending'"),
	    THREADS * PER_THREAD);
	assert_int_equal(count(f, "SELECT COUNT(*) FROM certificates WHERE state = 'issuing'"
	    " AND request_id IS NOT NULL"), THREADS * PER_THREAD);
	assert_int_equal(count(f, "SELECT COUNT(*) FROM history WHERE op = 'test_op'"),
	    THREADS * PER_THREAD);
	ra_store_request_add_stats(f->s, &commits, &added);
	/* the refused ones too went through a group */
	assert_int_equal(added, THREADS * PER_THREAD + THREADS);
	assert_true(commits < added);
	assert_int_equal(ra_history_verify(f->s, bad, sizeof(bad)), IK_OK);
	fts_matches(f, THREADS * PER_THREAD); /* the refused ones' rows undone with them */
}

static void fsize_tiny(void)
{
	struct rlimit rl = { 1, RLIM_INFINITY };

	assert_int_equal(setrlimit(RLIMIT_FSIZE, &rl), 0);
}

/* The group's commit cannot be written: every caller gets an error, none of their rows,
 * history entries or certificates stays, and the devices can be issued for afterwards. */
static void test_group_commit_fails(void **state)
{
	fixture *f = *state;
	struct rlimit unlimited = { RLIM_INFINITY, RLIM_INFINITY }, old;
	adder a[THREADS];
	uint64_t commits0, added0, commits, added;
	int64_t hist0 = count(f, "SELECT COUNT(*) FROM history");
	ra_request r;
	char bad[256];

	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	ra_store_request_add_stats(f->s, &commits0, &added0);
	run_adders(f, a, 1, fsize_tiny);
	unlimited.rlim_max = old.rlim_max;
	unlimited.rlim_cur = old.rlim_cur;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &unlimited), 0);
	for (int i = 0; i < THREADS; i++) {
		assert_int_not_equal(a[i].st[0], IK_OK);
		assert_int_equal(a[i].ids[0], 0);
	}
	ra_store_request_add_stats(f->s, &commits, &added);
	assert_int_equal(added - added0, 2 * THREADS);
	assert_true(commits - commits0 < added - added0);
	assert_int_equal(count(f, "SELECT COUNT(*) FROM requests"), 0);
	assert_int_equal(count(f, "SELECT COUNT(*) FROM certificates"), 0);
	assert_int_equal(count(f, "SELECT COUNT(*) FROM history"), hist0);
	fts_matches(f, 0);
	/* nothing half-done: each device takes its certificate now */
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(add_issue(f->s, a[i].devices[0], &r), IK_OK);
	assert_int_equal(count(f, "SELECT COUNT(*) FROM requests"), THREADS);
	assert_int_equal(ra_history_verify(f->s, bad, sizeof(bad)), IK_OK);
	fts_matches(f, THREADS);
}

/* Completing the row as claimed (not read again): the certificate becomes active and its
 * device's only current one; a second completion, or one of a request not sent, is refused. */
static void test_complete_claimed(void **state)
{
	fixture *f = *state;
	int64_t dev = add_device(f->s, "claimed");
	uint8_t der[40] = { 0x30 };
	ra_issued is = { "0a1b", der, sizeof(der), 1000, 2000 };
	ra_request r, c, r2, c2;
	ra_cert cert;

	assert_int_equal(add_issue(f->s, dev, &r), IK_OK);
	assert_int_equal(ra_store_request_complete_claimed(f->s, &r, &is, &H_TEST), IK_ERR_STATE);
	assert_int_equal(ra_store_request_claim_id(f->s, r.id, &c), IK_OK);
	assert_int_equal(ra_store_request_complete_claimed(f->s, &c, &is, &H_TEST), IK_OK);
	assert_int_equal(ra_store_request_complete_claimed(f->s, &c, &is, &H_TEST), IK_ERR_STATE);
	assert_int_equal(ra_store_cert_get(f->s, c.cert_id, &cert), IK_OK);
	assert_int_equal(cert.state, RA_CERT_ACTIVE);
	assert_string_equal(cert.serial, "0a1b");
	/* a renewal: the new one is current, the old one not any more */
	{
		ra_request_new rn = { .kind = RA_REQ_RENEW, .old_cert_id = c.cert_id,
			.validity_days = 30, .spki = SPKI, .spki_len = sizeof(SPKI) };
		ra_issued is2 = { "0a1c", der, sizeof(der), 1000, 2000 };

		assert_int_equal(ra_store_request_add(f->s, &rn, NULL, &r2), IK_OK);
		assert_int_equal(ra_store_request_claim_id(f->s, r2.id, &c2), IK_OK);
		assert_int_equal(ra_store_request_complete_claimed(f->s, &c2, &is2, NULL), IK_OK);
	}
	assert_int_equal(count(f, "SELECT COUNT(*) FROM certificates WHERE current = 1"), 1);
	assert_int_equal(ik_raw_int(f->path, "SELECT serial FROM certificates WHERE current = 1"
	    " AND serial = '0a1c'") != -1, 1);
	assert_int_equal(count(f, "SELECT COUNT(*) FROM requests WHERE state = 'done'"), 2);
}

/* A claimed group of single issues for devices completed at once: every request done, every
 * certificate active and its device's current one, one history entry each (the chain
 * intact); a group in which one certificate is not issuing any more keeps nothing. */
static void test_complete_group_devices(void **state)
{
	fixture *f = *state;
	enum { N = 5 };
	uint8_t der[40] = { 0x30 };
	char serials[N][8], ext[16], bad[256];
	ra_issued is[N];
	ra_request r[N], c[N];
	ra_hist h[N];
	int64_t hist0;

	for (int i = 0; i < N; i++) {
		snprintf(ext, sizeof(ext), "grp%d", i);
		assert_int_equal(add_issue(f->s, add_device(f->s, ext), &r[i]), IK_OK);
		assert_int_equal(ra_store_request_claim_id(f->s, r[i].id, &c[i]), IK_OK);
		snprintf(serials[i], sizeof(serials[i]), "0b%02x", i);
		is[i] = (ra_issued){ serials[i], der, sizeof(der), 1000, 2000 };
		h[i] = H_TEST;
	}
	/* the last one's certificate is no longer issuing: the whole group is refused */
	assert_int_equal(ik_raw_exec(f->path, "UPDATE certificates SET state = 'failed' WHERE id ="
	    " (SELECT MAX(id) FROM certificates)"), SQLITE_OK);
	hist0 = count(f, "SELECT COUNT(*) FROM history");
	assert_int_equal(ra_store_request_complete_group(f->s, c, is, h, N), IK_ERR_STATE);
	assert_int_equal(count(f, "SELECT COUNT(*) FROM requests WHERE state = 'sent'"), N);
	assert_int_equal(count(f, "SELECT COUNT(*) FROM certificates WHERE serial IS NOT NULL"), 0);
	assert_int_equal(count(f, "SELECT COUNT(*) FROM history"), hist0);
	/* the other four */
	assert_int_equal(ra_store_request_complete_group(f->s, c, is, h, N - 1), IK_OK);
	assert_int_equal(count(f, "SELECT COUNT(*) FROM requests WHERE state = 'done'"), N - 1);
	assert_int_equal(count(f, "SELECT COUNT(*) FROM certificates WHERE state = 'active'"
	    " AND current = 1 AND serial IS NOT NULL AND device_id IS NOT NULL"), N - 1);
	assert_int_equal(count(f, "SELECT COUNT(*) FROM history"), hist0 + N - 1);
	assert_int_equal(ra_history_verify(f->s, bad, sizeof(bad)), IK_OK);
	/* done already: refused */
	assert_int_equal(ra_store_request_complete_group(f->s, c, is, h, 2), IK_ERR_STATE);
}

/* ---- asynchronous requests ---- */

#define ASYNC_N 40

typedef struct async_ctx async_ctx;

typedef struct async_one {
	async_ctx *a;
	ra_request_new rn;
	char cn[32];
	ra_request out;
	ik_status st;
	int called;
	int64_t in_file;          /* its request row, read through another connection when called */
} async_one;

struct async_ctx {
	ra_store *s;
	const char *path;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	size_t calls;
	ik_status submit[ASYNC_N + 1];
	async_one one[ASYNC_N + 1];  /* the last: a second issue for one[0]'s device */
};

static void async_done(void *ctx, ik_status st)
{
	async_one *o = ctx;
	char sql[96];

	snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM requests WHERE id = %lld",
	    (long long)(st == IK_OK ? o->out.id : -1));
	o->in_file = ik_raw_int(o->a->path, sql);
	pthread_mutex_lock(&o->a->lock);
	o->st = st;
	o->called++;
	o->a->calls++;
	pthread_cond_broadcast(&o->a->cond);
	pthread_mutex_unlock(&o->a->lock);
}

static async_ctx *async_new(fixture *f)
{
	async_ctx *a = calloc(1, sizeof(*a));
	char ext[32];

	assert_non_null(a);
	a->s = f->s;
	a->path = f->path;
	pthread_mutex_init(&a->lock, NULL);
	pthread_cond_init(&a->cond, NULL);
	for (size_t i = 0; i <= ASYNC_N; i++) {
		async_one *o = &a->one[i];
		o->a = a;
		snprintf(ext, sizeof(ext), "a%zu-%ld", i, (long)random());
		o->rn = (ra_request_new){ .kind = RA_REQ_ISSUE, .validity_days = 365, .spki = SPKI,
		    .spki_len = sizeof(SPKI), .created_by = "officer1" };
		o->rn.device_id = i < ASYNC_N ? add_device(f->s, ext) : a->one[0].rn.device_id;
		snprintf(o->cn, sizeof(o->cn), "adev-%zu", i);
		o->rn.cn = o->cn;
	}
	return a;
}

static void async_free(async_ctx *a)
{
	pthread_cond_destroy(&a->cond);
	pthread_mutex_destroy(&a->lock);
	free(a);
}

/* On a thread of its own: this one's connection is outside any transaction. */
static void *async_submit(void *p)
{
	async_ctx *a = p;

	for (size_t i = 0; i <= ASYNC_N; i++)
		a->submit[i] = ra_store_request_add_async(a->s, &a->one[i].rn, &H_TEST,
		    &a->one[i].out, async_done, &a->one[i]);
	return NULL;
}

static void async_submit_wait(async_ctx *a)
{
	pthread_t t;

	assert_int_equal(pthread_create(&t, NULL, async_submit, a), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	for (size_t i = 0; i <= ASYNC_N; i++)
		assert_int_equal(a->submit[i], IK_OK);
}

static void async_wait(async_ctx *a, size_t n)
{
	pthread_mutex_lock(&a->lock);
	while (a->calls < n)
		pthread_cond_wait(&a->cond, &a->lock);
	pthread_mutex_unlock(&a->lock);
}

/* Queued behind a held write turn, answered only after it: each callback once, with its row
 * already in the file; the second issue for a device refused alone; fewer commits than
 * requests; and none can be queued from inside a transaction. */
static void test_async_all_kept(void **state)
{
	fixture *f = *state;
	async_ctx *a = async_new(f);
	uint64_t commits0, added0, commits, added;
	ra_request_new rn = a->one[1].rn;
	ra_request out;
	char bad[256];

	ra_store_request_add_stats(f->s, &commits0, &added0);
	assert_int_equal(ra_store_begin(f->s), IK_OK);
	assert_int_equal(ra_store_request_add_async(f->s, &rn, &H_TEST, &out, async_done,
	    &a->one[1]), IK_ERR_STATE);
	assert_int_equal(ra_store_request_add_async(f->s, &rn, &H_TEST, &out, NULL, NULL),
	    IK_ERR_ARG);
	async_submit_wait(a);
	usleep(300 * 1000);
	pthread_mutex_lock(&a->lock);
	assert_int_equal(a->calls, 0); /* nothing answered before its commit */
	pthread_mutex_unlock(&a->lock);
	assert_int_equal(ra_store_rollback(f->s), IK_OK);
	async_wait(a, ASYNC_N + 1);
	for (size_t i = 0; i < ASYNC_N; i++) {
		assert_int_equal(a->one[i].called, 1);
		assert_int_equal(a->one[i].st, IK_OK);
		assert_true(a->one[i].out.id > 0);
		assert_int_equal(a->one[i].in_file, 1);
	}
	assert_int_equal(a->one[ASYNC_N].st, IK_ERR_STATE);
	assert_int_equal(a->one[ASYNC_N].called, 1);
	assert_int_equal(count(f, "SELECT COUNT(*) FROM requests"), ASYNC_N);
	assert_int_equal(count(f, "SELECT COUNT(*) FROM history WHERE op = 'test_op'"), ASYNC_N);
	ra_store_request_add_stats(f->s, &commits, &added);
	assert_int_equal(added - added0, ASYNC_N + 1);
	assert_true(commits - commits0 < 4);
	assert_int_equal(ra_history_verify(f->s, bad, sizeof(bad)), IK_OK);
	fts_matches(f, ASYNC_N);
	async_free(a);
}

/* The group's commit cannot be written: every callback gets an error, nothing stays, and
 * the devices can be issued for afterwards. */
static void test_async_commit_fails(void **state)
{
	fixture *f = *state;
	struct rlimit old;
	async_ctx *a = async_new(f);
	int64_t hist0 = count(f, "SELECT COUNT(*) FROM history");
	ra_request r;

	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	assert_int_equal(ra_store_begin(f->s), IK_OK);
	async_submit_wait(a);
	usleep(200 * 1000);
	fsize_tiny();
	assert_int_equal(ra_store_rollback(f->s), IK_OK);
	async_wait(a, ASYNC_N + 1);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	for (size_t i = 0; i <= ASYNC_N; i++) {
		assert_int_equal(a->one[i].called, 1);
		assert_int_not_equal(a->one[i].st, IK_OK);
	}
	assert_int_equal(count(f, "SELECT COUNT(*) FROM requests"), 0);
	assert_int_equal(count(f, "SELECT COUNT(*) FROM certificates"), 0);
	assert_int_equal(count(f, "SELECT COUNT(*) FROM history"), hist0);
	for (size_t i = 0; i < ASYNC_N; i++)
		assert_int_equal(add_issue(f->s, a->one[i].rn.device_id, &r), IK_OK);
	async_free(a);
}

/* Closing the store with requests still queued: each is committed and answered first. */
static void test_async_close_drains(void **state)
{
	fixture *f = *state;
	async_ctx *a = async_new(f);

	async_submit_wait(a);
	ra_store_close(f->s);
	f->s = NULL;
	pthread_mutex_lock(&a->lock);
	assert_int_equal(a->calls, ASYNC_N + 1);
	pthread_mutex_unlock(&a->lock);
	for (size_t i = 0; i < ASYNC_N; i++) {
		assert_int_equal(a->one[i].st, IK_OK);
		assert_int_equal(a->one[i].in_file, 1);
	}
	assert_int_equal(a->one[ASYNC_N].st, IK_ERR_STATE);
	assert_int_equal(count(f, "SELECT COUNT(*) FROM requests"), ASYNC_N);
	assert_int_equal(ra_store_open(f->path, &f->s), IK_OK);
	async_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_group_all_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_group_commit_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_complete_claimed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_complete_group_devices, setup, teardown),
		cmocka_unit_test_setup_teardown(test_async_all_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_async_commit_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_async_close_drains, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
