/* Unit tests for the session's throttled last_seen (ra/session.c, ra/store_sqlite_auth.c) on
 * a real SQLite file: a request writes last_seen at most every 30 s, skips the write while
 * another thread writes (a batch) — but never so long that a session in use expires as
 * idle — and an idle session still expires. */
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "auth.h"
#include "store.h"
#include "tmpdb.h"

typedef struct fixture {
	char dir[64];
	char path[128];
	ra_store *s;
	int64_t officer;
} fixture;

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));

	if (f == NULL || ik_tmpdb_make(f->dir, sizeof(f->dir), f->path, sizeof(f->path),
	    "touch", "ra.db") != 0 || ra_store_open(f->path, &f->s) != IK_OK ||
	    ra_store_officer_add(f->s, "olivia", RA_OFFICER_OFFICER, "$x$", "t", "192.0.2.1") !=
	    IK_OK)
		return -1;
	{
		ra_officer o;
		if (ra_store_officer_by_login(f->s, "olivia", &o) != IK_OK)
			return -1;
		f->officer = o.id;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;

	ra_store_close(f->s);
	ik_tmpdb_remove(f->dir, f->path);
	free(f);
	return 0;
}

/* The policy: nothing within 30 s, then a try while under half the idle time, then a wait. */
static void test_mode(void **state)
{
	(void)state;
	assert_int_equal(ra_session_touch_mode(1000, 1000, 1800), RA_TOUCH_NONE);
	assert_int_equal(ra_session_touch_mode(1029, 1000, 1800), RA_TOUCH_NONE);
	assert_int_equal(ra_session_touch_mode(1030, 1000, 1800), RA_TOUCH_TRY);
	assert_int_equal(ra_session_touch_mode(1899, 1000, 1800), RA_TOUCH_TRY);
	assert_int_equal(ra_session_touch_mode(1900, 1000, 1800), RA_TOUCH_WAIT);
	assert_int_equal(ra_session_touch_mode(2799, 1000, 1800), RA_TOUCH_WAIT);
	/* the shortest idle time (60 s): the first touch already waits */
	assert_int_equal(ra_session_touch_mode(1030, 1000, 60), RA_TOUCH_WAIT);
	/* a clock that went back writes nothing */
	assert_int_equal(ra_session_touch_mode(900, 1000, 1800), RA_TOUCH_NONE);
}

typedef struct holder {
	ra_store *s;
	pthread_mutex_t m;
	pthread_cond_t cv;
	int phase; /* 1: holds the write turn; 2: may commit; 3: committed */
} holder;

/* Another thread's write transaction (what the batch worker does), held until told. */
static void *hold_writer(void *arg)
{
	holder *h = arg;
	ik_status st = ra_store_begin(h->s);

	pthread_mutex_lock(&h->m);
	h->phase = st == IK_OK ? 1 : -1;
	pthread_cond_broadcast(&h->cv);
	while (h->phase == 1)
		pthread_cond_wait(&h->cv, &h->m);
	pthread_mutex_unlock(&h->m);
	if (st == IK_OK)
		st = ra_store_commit(h->s);
	pthread_mutex_lock(&h->m);
	h->phase = st == IK_OK ? 3 : -1;
	pthread_cond_broadcast(&h->cv);
	pthread_mutex_unlock(&h->m);
	return NULL;
}

static void wait_phase(holder *h, int phase)
{
	pthread_mutex_lock(&h->m);
	while (h->phase != phase && h->phase >= 0)
		pthread_cond_wait(&h->cv, &h->m);
	pthread_mutex_unlock(&h->m);
	assert_int_equal(h->phase, phase);
}

static void test_try_while_writing(void **state)
{
	fixture *f = *state;
	ra_session s = { .officer_id = f->officer, .created = 1000, .last_seen = 1000 }, got;
	holder h = { .s = f->s, .m = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };
	pthread_t t;

	memset(s.id_hash, 0x5a, 32);
	assert_int_equal(ra_store_session_add(f->s, &s), IK_OK);
	assert_int_equal(pthread_create(&t, NULL, hold_writer, &h), 0);
	wait_phase(&h, 1);
	/* busy: refused at once, nothing written */
	assert_int_equal(ra_store_session_touch_try(f->s, s.id_hash, 1100), IK_ERR_BUSY);
	assert_int_equal(ra_store_session_get(f->s, s.id_hash, &got), IK_OK);
	assert_int_equal(got.last_seen, 1000);
	pthread_mutex_lock(&h.m);
	h.phase = 2;
	pthread_cond_broadcast(&h.cv);
	pthread_mutex_unlock(&h.m);
	wait_phase(&h, 3);
	assert_int_equal(pthread_join(t, NULL), 0);
	/* free again: written */
	assert_int_equal(ra_store_session_touch_try(f->s, s.id_hash, 1100), IK_OK);
	assert_int_equal(ra_store_session_get(f->s, s.id_hash, &got), IK_OK);
	assert_int_equal(got.last_seen, 1100);
	/* never backwards, and an unknown session is not found */
	assert_int_equal(ra_store_session_touch_try(f->s, s.id_hash, 1050), IK_OK);
	assert_int_equal(ra_store_session_get(f->s, s.id_hash, &got), IK_OK);
	assert_int_equal(got.last_seen, 1100);
	memset(s.id_hash, 0x77, 32);
	assert_int_equal(ra_store_session_touch_try(f->s, s.id_hash, 1200), IK_ERR_NOT_FOUND);
}

/* Requests every 10 s of a session whose touches are all skipped while a batch writes keep
 * it alive (the wait after half the idle time writes); once the requests stop, it expires. */
static void test_idle_still_expires(void **state)
{
	fixture *f = *state;
	const uint64_t idle = 120;
	ra_session s = { .officer_id = f->officer, .created = 1000, .last_seen = 1000 }, got;
	int64_t now, waited = 0;
	uint64_t n = 0;

	memset(s.id_hash, 0x6b, 32);
	assert_int_equal(ra_store_session_add(f->s, &s), IK_OK);
	for (now = 1000; now <= 1600; now += 10) {
		assert_int_equal(ra_store_session_get(f->s, s.id_hash, &got), IK_OK);
		assert_true(now < got.last_seen + (int64_t)idle); /* not idle: still valid */
		switch (ra_session_touch_mode(now, got.last_seen, idle)) {
		case RA_TOUCH_WAIT:
			assert_int_equal(ra_store_session_touch(f->s, s.id_hash, now), IK_OK);
			waited++;
			break;
		case RA_TOUCH_TRY: /* a batch is always writing: skipped */
		default:
			break;
		}
	}
	assert_true(waited >= 600 / (int64_t)(idle / 2) - 1);
	assert_int_equal(ra_store_session_get(f->s, s.id_hash, &got), IK_OK);
	/* no more requests: the expiry job (idle_before = now - idle) keeps it one second
	 * before the idle time is up and removes it one second after */
	now = got.last_seen + (int64_t)idle - 1;
	assert_int_equal(ra_store_session_expire(f->s, 0, now - (int64_t)idle, &n), IK_OK);
	assert_int_equal(n, 0);
	now += 2;
	assert_int_equal(ra_store_session_expire(f->s, 0, now - (int64_t)idle, &n), IK_OK);
	assert_int_equal(n, 1);
	assert_int_equal(ra_store_session_get(f->s, s.id_hash, &got), IK_ERR_NOT_FOUND);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mode),
		cmocka_unit_test_setup_teardown(test_try_while_writing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_idle_still_expires, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
