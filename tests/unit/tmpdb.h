/* tmpdb: the unit tests' throw-away SQLite file in a fresh directory under /tmp, removed
 * with its WAL and shared-memory files; and raw SQL on such a file, as an operator (or an
 * attacker) with sqlite3 would run it (include <cmocka.h> and <sqlite3.h> first for those). */
#ifndef IK_TEST_TMPDB_H
#define IK_TEST_TMPDB_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* Makes the directory /tmp/ik-TAG-XXXXXX into dir and names path dir/FILE; 0 when done. */
static inline int ik_tmpdb_make(char *dir, size_t dirsz, char *path, size_t pathsz,
    const char *tag, const char *file)
{
	snprintf(dir, dirsz, "/tmp/ik-%s-XXXXXX", tag);
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(path, pathsz, "%s/%s", dir, file);
	return 0;
}

/* Removes path, its -wal and -shm files and then dir. */
static inline void ik_tmpdb_remove(const char *dir, const char *path)
{
	char p[512];

	snprintf(p, sizeof(p), "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", path);
	unlink(p);
	unlink(path);
	rmdir(dir);
}

#ifdef SQLITE_OK
/* The first column of the first row of sql on the file at path; -1 when no row. */
static inline int64_t ik_raw_int(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *q = NULL;
	int64_t v = -1;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK);
	if (sqlite3_step(q) == SQLITE_ROW)
		v = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	sqlite3_close(db);
	return v;
}

/* sql run on the file at path; SQLite's result code. */
static inline int ik_raw_exec(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	int rc;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	sqlite3_close(db);
	return rc;
}
#endif

#endif
