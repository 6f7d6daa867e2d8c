/* snapshot: a consistent copy of a live SQLite database (the RA store, the signer ledger)
 * through SQLite's online backup API, taken into memory while the daemons keep running
 * (WAL: their writers are not blocked), checked, and serialised for the archive; and the
 * check of a restored database file. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "admin.h"

ik_status ad_sqlite_snapshot(const char *path, uint8_t **out, size_t *outlen, char *why,
    size_t whysz)
{
	sqlite3 *src = NULL, *dst = NULL;
	sqlite3_backup *bk = NULL;
	sqlite3_stmt *q = NULL;
	sqlite3_int64 sz = 0;
	unsigned char *ser = NULL;
	ik_status st = IK_ERR_IO;
	int rc, tries;

	*out = NULL;
	*outlen = 0;
	/* read-write without create: a missing file is an error, not a new empty database;
	 * nothing is written through this connection */
	if (sqlite3_open_v2(path, &src, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
		snprintf(why, whysz, "%s: cannot open the database: %s", path,
		    src != NULL ? sqlite3_errmsg(src) : "out of memory");
		goto out;
	}
	sqlite3_busy_timeout(src, 10000);
	if (sqlite3_open(":memory:", &dst) != SQLITE_OK) {
		snprintf(why, whysz, "cannot open an in-memory database");
		goto out;
	}
	if ((bk = sqlite3_backup_init(dst, "main", src, "main")) == NULL) {
		snprintf(why, whysz, "%s: backup: %s", path, sqlite3_errmsg(dst));
		goto out;
	}
	/* all pages in one step: the copy is one read transaction, one consistent state */
	for (tries = 0; (rc = sqlite3_backup_step(bk, -1)) == SQLITE_BUSY || rc == SQLITE_LOCKED; tries++) {
		if (tries >= 100) {
			snprintf(why, whysz, "%s: the database stayed locked for 10 s", path);
			goto out;
		}
		usleep(100000);
	}
	if (rc != SQLITE_DONE) {
		snprintf(why, whysz, "%s: backup step: %s", path, sqlite3_errstr(rc));
		goto out;
	}
	rc = sqlite3_backup_finish(bk);
	bk = NULL;
	if (rc != SQLITE_OK) {
		snprintf(why, whysz, "%s: backup: %s", path, sqlite3_errstr(rc));
		goto out;
	}
	if (sqlite3_prepare_v2(dst, "PRAGMA quick_check", -1, &q, NULL) != SQLITE_OK ||
	    sqlite3_step(q) != SQLITE_ROW ||
	    strcmp((const char *)sqlite3_column_text(q, 0), "ok") != 0) {
		snprintf(why, whysz, "%s: the snapshot fails SQLite's quick_check", path);
		goto out;
	}
	if ((ser = sqlite3_serialize(dst, "main", &sz, 0)) == NULL || sz <= 0) {
		snprintf(why, whysz, "%s: cannot serialise the snapshot", path);
		goto out;
	}
	*out = ser;
	*outlen = (size_t)sz;
	ser = NULL;
	st = IK_OK;
out:
	sqlite3_finalize(q);
	if (bk != NULL)
		sqlite3_backup_finish(bk);
	sqlite3_free(ser);
	sqlite3_close(dst);
	sqlite3_close(src);
	return st;
}

void ad_sqlite_free(uint8_t *p)
{
	sqlite3_free(p);
}

ik_status ad_sqlite_check(const char *path, char *why, size_t whysz)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *q = NULL;
	ik_status st = IK_ERR_IO;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
		snprintf(why, whysz, "%s: cannot open the restored database", path);
		goto out;
	}
	if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &q, NULL) != SQLITE_OK ||
	    sqlite3_step(q) != SQLITE_ROW ||
	    strcmp((const char *)sqlite3_column_text(q, 0), "ok") != 0) {
		snprintf(why, whysz, "%s: the restored database fails SQLite's integrity_check", path);
		goto out;
	}
	st = IK_OK;
out:
	sqlite3_finalize(q);
	sqlite3_close(db);
	return st;
}
