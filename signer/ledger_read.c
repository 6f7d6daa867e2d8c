/* ledger_read: the ledger's reads — a small pool of read-only connections (WAL readers see
 * the last commit and never wait for the committer), each with its prepared statements. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "ledger.h"
#include "ledger_db.h"

ik_status sg_ledger_reader_open(sg_ledger *l, reader *r)
{
	ik_status st;

	pthread_mutex_init(&r->lock, NULL);
	if ((st = sg_ledger_db_open(l->path, SQLITE_OPEN_READONLY, &r->db)) != IK_OK)
		return st;
	if ((st = sg_ledger_db_prep(r->db, "SELECT i.serial, i.tbs, i.profile, c.der FROM intents i"
	        " LEFT JOIN certs c ON c.request_id = i.request_id WHERE i.request_id = ?1", &r->find)) != IK_OK ||
	    (st = sg_ledger_db_prep(r->db, "SELECT 1 FROM intents WHERE serial = ?1", &r->used)) != IK_OK ||
	    /* certs is append-only (no row is ever deleted), so its largest rowid is its row
	     * count, read from the b-tree's end; the status counts are kept by triggers */
	    (st = sg_ledger_db_prep(r->db, "SELECT coalesce((SELECT max(rowid) FROM certs), 0),"
	        " coalesce((SELECT n FROM status_counts WHERE state = 2), 0),"
	        " coalesce((SELECT n FROM status_counts WHERE state = 1), 0)", &r->counts)) != IK_OK ||
	    (st = sg_ledger_db_prep(r->db, "SELECT coalesce(max(number), 0) FROM crls", &r->crl_last)) != IK_OK)
		return st;
	if ((st = sg_ledger_db_prep(r->db, "SELECT s.state, s.reason, s.at FROM certs c"
	    " LEFT JOIN status s ON s.serial = c.serial WHERE c.serial = ?1", &r->cert_status)) != IK_OK)
		return st;
	return IK_OK;
}

void sg_ledger_reader_close(reader *r)
{
	sqlite3_finalize(r->find);
	sqlite3_finalize(r->used);
	sqlite3_finalize(r->counts);
	sqlite3_finalize(r->crl_last);
	sqlite3_finalize(r->cert_status);
	sqlite3_close(r->db);
	pthread_mutex_destroy(&r->lock);
}

/* ---- reads ---- */

static reader *reader_get(sg_ledger *l)
{
	static _Thread_local unsigned hint;

	for (unsigned i = 0; i < READERS; i++) {
		reader *r = &l->readers[(hint + i) % READERS];
		if (pthread_mutex_trylock(&r->lock) == 0)
			return r;
	}
	hint++;
	pthread_mutex_lock(&l->readers[hint % READERS].lock);
	return &l->readers[hint % READERS];
}

static void reader_put(reader *r, sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	pthread_mutex_unlock(&r->lock);
}

static uint8_t *dup_blob(sqlite3_stmt *st, int col, size_t *n)
{
	const void *p = sqlite3_column_blob(st, col);
	int len = sqlite3_column_bytes(st, col);
	uint8_t *d;

	*n = 0;
	if (p == NULL || len <= 0 || (d = malloc((size_t)len)) == NULL)
		return NULL;
	memcpy(d, p, (size_t)len);
	*n = (size_t)len;
	return d;
}

void sg_issued_cleanup(sg_issued *r)
{
	free(r->der);
	free(r->tbs);
	memset(r, 0, sizeof(*r));
}

ik_status sg_ledger_find_request(sg_ledger *l, const char *request_id, sg_issued *out)
{
	reader *r = reader_get(l);
	ik_status st = IK_OK;
	int rc;

	memset(out, 0, sizeof(*out));
	sqlite3_bind_text(r->find, 1, request_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(r->find);
	if (rc == SQLITE_ROW) {
		int sn = sqlite3_column_bytes(r->find, 0);
		const unsigned char *prof = sqlite3_column_text(r->find, 2);
		if (sn <= 0 || sn > PROTO_MAX_SERIAL) {
			st = IK_ERR_LEDGER;
			goto out;
		}
		memcpy(out->serial, sqlite3_column_blob(r->find, 0), (size_t)sn);
		out->serial_len = (size_t)sn;
		snprintf(out->profile, sizeof(out->profile), "%s", prof ? (const char *)prof : "");
		out->tbs = dup_blob(r->find, 1, &out->tbs_len);
		if (sqlite3_column_type(r->find, 3) != SQLITE_NULL)
			out->der = dup_blob(r->find, 3, &out->der_len);
		if (out->tbs == NULL)
			st = IK_ERR_NOMEM;
	} else {
		st = rc == SQLITE_DONE ? IK_ERR_NOT_FOUND : IK_ERR_LEDGER;
	}
out:
	reader_put(r, r->find);
	if (st != IK_OK && st != IK_ERR_NOT_FOUND)
		sg_issued_cleanup(out);
	return st;
}

int sg_ledger_serial_used(sg_ledger *l, const uint8_t *serial, size_t n)
{
	reader *r = reader_get(l);
	int rc;

	sqlite3_bind_blob(r->used, 1, serial, (int)n, SQLITE_STATIC);
	rc = sqlite3_step(r->used);
	reader_put(r, r->used);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

ik_status sg_ledger_counts(sg_ledger *l, uint64_t *issued, uint64_t *revoked, uint64_t *held)
{
	reader *r = reader_get(l);
	ik_status st = IK_ERR_LEDGER;

	if (sqlite3_step(r->counts) == SQLITE_ROW) {
		*issued = (uint64_t)sqlite3_column_int64(r->counts, 0);
		*revoked = (uint64_t)sqlite3_column_int64(r->counts, 1);
		*held = (uint64_t)sqlite3_column_int64(r->counts, 2);
		st = IK_OK;
	}
	reader_put(r, r->counts);
	return st;
}

ik_status sg_ledger_cert_status(sg_ledger *l, const uint8_t *serial, size_t n, uint8_t *state,
    uint8_t *reason, int64_t *when)
{
	reader *r;
	ik_status st = IK_ERR_LEDGER;
	int rc;

	*state = PROTO_STATE_GOOD;
	*reason = 0;
	*when = 0;
	if (n == 0 || n > PROTO_MAX_SERIAL)
		return IK_ERR_NOT_FOUND;
	r = reader_get(l);
	sqlite3_bind_blob(r->cert_status, 1, serial, (int)n, SQLITE_STATIC);
	rc = sqlite3_step(r->cert_status);
	if (rc == SQLITE_ROW) {
		st = IK_OK;
		if (sqlite3_column_type(r->cert_status, 0) != SQLITE_NULL) {
			int sv = sqlite3_column_int(r->cert_status, 0);
			int rv = sqlite3_column_int(r->cert_status, 1);
			if (sv < PROTO_STATE_HELD || sv > PROTO_STATE_REVOKED || rv < 0 || rv > 10)
				st = IK_ERR_LEDGER;
			*state = (uint8_t)sv;
			*reason = (uint8_t)rv;
			*when = sqlite3_column_int64(r->cert_status, 2);
		}
	} else if (rc == SQLITE_DONE) {
		st = IK_ERR_NOT_FOUND;
	}
	reader_put(r, r->cert_status);
	return st;
}

const char *sg_ledger_path(const sg_ledger *l)
{
	return l->path;
}

uint64_t sg_ledger_crl_last(sg_ledger *l)
{
	reader *r = reader_get(l);
	uint64_t n = 0;

	if (sqlite3_step(r->crl_last) == SQLITE_ROW)
		n = (uint64_t)sqlite3_column_int64(r->crl_last, 0);
	reader_put(r, r->crl_last);
	return n;
}
