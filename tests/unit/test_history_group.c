/* Unit tests for ra_history_record_group (ra/history.c, ra/store_sqlite_history.c) on a real
 * SQLite file: a group's entries chained in order after the ones before and before the ones
 * after, over the 16-row statement and more than one part; a bad entry anywhere leaves
 * nothing; a caller's rollback undoes the group. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <sqlite3.h>
#include "store.h"
#include "store_fixture.h"
#include "tmpdb.h"

#define N 300 /* more than one part of 256 */

static int setup(void **state)
{
	return ik_store_setup(state, "histgroup");
}

static int teardown(void **state)
{
	return ik_store_teardown(state);
}

static void fill(ra_hist *h, char (*detail)[32], size_t n, int base)
{
	for (size_t i = 0; i < n; i++) {
		snprintf(detail[i], sizeof(detail[i]), "{\"n\":%d}", base + (int)i);
		h[i] = (ra_hist){ "queue", "", i % 3 ? "issue" : "renew", "0a1b", detail[i] };
	}
}

static void test_group_chained(void **state)
{
	fixture *f = *state;
	ra_hist *h = calloc(N, sizeof(*h));
	char (*detail)[32] = calloc(N, sizeof(*detail));
	ra_history_entry *rows = NULL;
	ra_history_query hq = { 0 };
	char bad[512], sql[128];
	size_t n = 0;

	assert_non_null(h);
	assert_non_null(detail);
	for (int i = 0; i < 3; i++)
		assert_int_equal(ra_history_append(f->s, "o", "ip", "before", "{}"), IK_OK);
	fill(h, detail, N, 0);
	assert_int_equal(ra_history_record_group(f->s, h, N), IK_OK);
	assert_int_equal(ra_history_append(f->s, "o", "ip", "after", "{}"), IK_OK);
	/* and small groups: one, two, seventeen (one 16-row statement and one row) */
	assert_int_equal(ra_history_record_group(f->s, h, 1), IK_OK);
	assert_int_equal(ra_history_record_group(f->s, h, 2), IK_OK);
	assert_int_equal(ra_history_record_group(f->s, h, 17), IK_OK);
	assert_int_equal(ra_history_record_group(f->s, h, 0), IK_OK);
	assert_int_equal(ra_history_record_group(f->s, NULL, 2), IK_ERR_ARG);
	assert_int_equal(ra_history_verify(f->s, bad, sizeof(bad)), IK_OK);
	assert_int_equal(ik_raw_int(f->path, "SELECT COUNT(*) FROM history"), 3 + N + 1 + 20);
	assert_int_equal(ik_raw_int(f->path, "SELECT MAX(id) FROM history"), 3 + N + 1 + 20);
	/* in the group's order, right after the three before it */
	for (int i = 0; i < N; i += 37) {
		snprintf(sql, sizeof(sql), "SELECT id FROM history WHERE detail = '{\"n\":%d}'"
		    " ORDER BY id LIMIT 1", i);
		assert_int_equal(ik_raw_int(f->path, sql), 4 + i);
	}
	assert_int_equal(ik_raw_int(f->path, "SELECT id FROM history WHERE op = 'after'"), N + 4);
	/* each row's hash is the documented one, linked to the row before */
	hq.after_id = 250;
	assert_int_equal(ra_store_history_list(f->s, &hq, &rows, 16, &n), IK_OK);
	assert_int_equal(n, 16);
	for (size_t i = 1; i < n; i++) {
		uint8_t md[32];

		assert_memory_equal(rows[i].prev_hash, rows[i - 1].hash, 32);
		assert_int_equal(ra_history_hash(&rows[i], md), IK_OK);
		assert_memory_equal(md, rows[i].hash, 32);
	}
	ra_history_entries_free(rows, n);
	free(h);
	free(detail);
}

static void test_group_refused(void **state)
{
	fixture *f = *state;
	ra_hist *h = calloc(N, sizeof(*h));
	char (*detail)[32] = calloc(N, sizeof(*detail));
	char bad[512], actor[200];

	assert_non_null(h);
	assert_non_null(detail);
	assert_int_equal(ra_history_append(f->s, "o", "ip", "first", "{}"), IK_OK);
	fill(h, detail, N, 0);
	/* an empty operation in the first 16-row statement */
	h[5].op = "";
	assert_int_equal(ra_history_record_group(f->s, h, N), IK_ERR_ARG);
	assert_int_equal(ik_raw_int(f->path, "SELECT COUNT(*) FROM history"), 1);
	/* an actor too long in the second part: the first part (256 rows) is undone too */
	h[5].op = "issue";
	memset(actor, 'a', sizeof(actor) - 1);
	actor[sizeof(actor) - 1] = '\0';
	h[270].actor = actor;
	assert_int_equal(ra_history_record_group(f->s, h, N), IK_ERR_ARG);
	assert_int_equal(ik_raw_int(f->path, "SELECT COUNT(*) FROM history"), 1);
	/* a caller's transaction rolled back takes the group with it */
	h[270].actor = "queue";
	assert_int_equal(ra_store_begin(f->s), IK_OK);
	assert_int_equal(ra_history_record_group(f->s, h, 40), IK_OK);
	assert_int_equal(ra_store_rollback(f->s), IK_OK);
	assert_int_equal(ik_raw_int(f->path, "SELECT COUNT(*) FROM history"), 1);
	/* and committed, it stays, chained */
	assert_int_equal(ra_store_begin(f->s), IK_OK);
	assert_int_equal(ra_history_record_group(f->s, h, 40), IK_OK);
	assert_int_equal(ra_history_append(f->s, "o", "ip", "last", "{}"), IK_OK);
	assert_int_equal(ra_store_commit(f->s), IK_OK);
	assert_int_equal(ik_raw_int(f->path, "SELECT COUNT(*) FROM history"), 42);
	assert_int_equal(ik_raw_int(f->path, "SELECT id FROM history WHERE op = 'last'"), 42);
	assert_int_equal(ra_history_verify(f->s, bad, sizeof(bad)), IK_OK);
	free(h);
	free(detail);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_group_chained, setup, teardown),
		cmocka_unit_test_setup_teardown(test_group_refused, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
