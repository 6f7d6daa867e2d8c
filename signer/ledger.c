/* ledger: the signer's append-only SQLite record — schema, opening and closing, and the
 * committer: one thread owns the write connection and commits whatever has queued up in
 * one transaction (group commit; a refused operation is undone alone).  The append calls
 * are in ledger_append.c, the reads (a small pool of read connections) in ledger_read.c. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <sqlite3.h>

#include "ledger.h"
#include "ledger_db.h"
#include "log.h"

#define GROUP_BUSY 16            /* a batch this large means load: the next commit */
#define GROUP_WAIT_NS 1000000    /* waits this long for more to join it; with a pacer: */
#define PACE_MAX_NS 8000000      /* and waits at most this long */
#define PACE_MAX_OPS 1024        /* or until this many operations have queued */
#define WAL_CHECKPOINT_PAGES "4096"

static const char *const migrations[] = {
	/* 1: the ledger */
	"CREATE TABLE intents(request_id TEXT PRIMARY KEY, serial BLOB NOT NULL UNIQUE,"
	"  profile TEXT NOT NULL, subject TEXT NOT NULL, not_before INTEGER NOT NULL,"
	"  not_after INTEGER NOT NULL, tbs BLOB NOT NULL, created INTEGER NOT NULL);"
	"CREATE TABLE certs(serial BLOB PRIMARY KEY REFERENCES intents(serial),"
	"  request_id TEXT NOT NULL UNIQUE REFERENCES intents(request_id), der BLOB NOT NULL,"
	"  sha256 BLOB NOT NULL, issued INTEGER NOT NULL);"
	"CREATE TABLE events(id INTEGER PRIMARY KEY, serial BLOB NOT NULL REFERENCES certs(serial),"
	"  kind INTEGER NOT NULL, reason INTEGER NOT NULL, at INTEGER NOT NULL,"
	"  recorded INTEGER NOT NULL);"
	"CREATE TABLE crls(number INTEGER PRIMARY KEY, this_update INTEGER NOT NULL,"
	"  next_update INTEGER NOT NULL, sha256 BLOB NOT NULL);"
	/* derived: the serials currently on the CRL (held or revoked) */
	"CREATE TABLE status(serial BLOB PRIMARY KEY REFERENCES certs(serial),"
	"  state INTEGER NOT NULL, reason INTEGER NOT NULL, at INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE TRIGGER intents_no_update BEFORE UPDATE ON intents BEGIN SELECT RAISE(ABORT, 'ledger is append-only'); END;"
	"CREATE TRIGGER intents_no_delete BEFORE DELETE ON intents BEGIN SELECT RAISE(ABORT, 'ledger is append-only'); END;"
	"CREATE TRIGGER certs_no_update BEFORE UPDATE ON certs BEGIN SELECT RAISE(ABORT, 'ledger is append-only'); END;"
	"CREATE TRIGGER certs_no_delete BEFORE DELETE ON certs BEGIN SELECT RAISE(ABORT, 'ledger is append-only'); END;"
	"CREATE TRIGGER events_no_update BEFORE UPDATE ON events BEGIN SELECT RAISE(ABORT, 'ledger is append-only'); END;"
	"CREATE TRIGGER events_no_delete BEFORE DELETE ON events BEGIN SELECT RAISE(ABORT, 'ledger is append-only'); END;"
	"CREATE TRIGGER crls_no_update BEFORE UPDATE ON crls BEGIN SELECT RAISE(ABORT, 'ledger is append-only'); END;"
	"CREATE TRIGGER crls_no_delete BEFORE DELETE ON crls BEGIN SELECT RAISE(ABORT, 'ledger is append-only'); END;"
	"CREATE TRIGGER crls_monotonic BEFORE INSERT ON crls"
	"  WHEN NEW.number <= (SELECT coalesce(max(number), 0) FROM crls)"
	"  BEGIN SELECT RAISE(ABORT, 'CRL numbers must grow'); END;"
	/* a revocation can never be undone, whatever writes to the cache table */
	"CREATE TRIGGER status_revoked_final BEFORE UPDATE ON status WHEN OLD.state = 2"
	"  BEGIN SELECT RAISE(ABORT, 'revocation is final'); END;"
	"CREATE TRIGGER status_revoked_kept BEFORE DELETE ON status WHEN OLD.state = 2"
	"  BEGIN SELECT RAISE(ABORT, 'revocation is final'); END;",
	/* 2: how many serials are held (1) and revoked (2), kept by triggers, so that STATUS
	 * reads two rows instead of counting a million (a download asks STATUS first) */
	"CREATE TABLE status_counts(state INTEGER PRIMARY KEY, n INTEGER NOT NULL);"
	"INSERT INTO status_counts VALUES (1, 0), (2, 0);"
	"UPDATE status_counts SET n = (SELECT count(*) FROM status s WHERE s.state = status_counts.state);"
	"CREATE TRIGGER status_count_ins AFTER INSERT ON status"
	"  BEGIN UPDATE status_counts SET n = n + 1 WHERE state = NEW.state; END;"
	"CREATE TRIGGER status_count_del AFTER DELETE ON status"
	"  BEGIN UPDATE status_counts SET n = n - 1 WHERE state = OLD.state; END;"
	"CREATE TRIGGER status_count_upd AFTER UPDATE OF state ON status WHEN OLD.state <> NEW.state"
	"  BEGIN UPDATE status_counts SET n = n - 1 WHERE state = OLD.state;"
	"  UPDATE status_counts SET n = n + 1 WHERE state = NEW.state; END;",
};

static int64_t now_s(void)
{
	return (int64_t)time(NULL);
}

ik_status sg_ledger_db_exec(sqlite3 *db, const char *sql)
{
	char *err = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
		ik_log(LOG_ERR, "ledger: %s", err != NULL ? err : "error");
		sqlite3_free(err);
		return IK_ERR_LEDGER;
	}
	return IK_OK;
}

ik_status sg_ledger_db_prep(sqlite3 *db, const char *sql, sqlite3_stmt **st)
{
	if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) != SQLITE_OK) {
		ik_log(LOG_ERR, "ledger: prepare: %s", sqlite3_errmsg(db));
		return IK_ERR_LEDGER;
	}
	return IK_OK;
}

ik_status sg_ledger_db_open(const char *path, int flags, sqlite3 **db)
{
	if (sqlite3_open_v2(path, db, flags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		ik_log(LOG_ERR, "ledger %s: %s", path, *db ? sqlite3_errmsg(*db) : "cannot open");
		sqlite3_close(*db);
		*db = NULL;
		return IK_ERR_LEDGER;
	}
	sqlite3_busy_timeout(*db, 10000);
	return sg_ledger_db_exec(*db, "PRAGMA foreign_keys=ON; PRAGMA synchronous=FULL;");
}

static ik_status migrate(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	int version = 0;
	ik_status rc;

	if ((rc = sg_ledger_db_exec(db, "PRAGMA journal_mode=WAL; BEGIN IMMEDIATE;"
	    "CREATE TABLE IF NOT EXISTS schema_version(version INTEGER NOT NULL);")) != IK_OK)
		return rc;
	if (sqlite3_prepare_v2(db, "SELECT coalesce(max(version), 0) FROM schema_version", -1, &st,
	    NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (version < 0 || (size_t)version > sizeof(migrations) / sizeof(migrations[0])) {
		ik_log(LOG_ERR, "ledger: schema version %d is newer than this signer", version);
		rc = IK_ERR_LEDGER;
		goto fail;
	}
	for (size_t i = (size_t)version; i < sizeof(migrations) / sizeof(migrations[0]); i++) {
		char sql[96];
		if ((rc = sg_ledger_db_exec(db, migrations[i])) != IK_OK)
			goto fail;
		snprintf(sql, sizeof(sql), "INSERT INTO schema_version VALUES (%zu)", i + 1);
		if ((rc = sg_ledger_db_exec(db, sql)) != IK_OK)
			goto fail;
	}
	return sg_ledger_db_exec(db, "COMMIT");
fail:
	sg_ledger_db_exec(db, "ROLLBACK");
	return rc;
}

/* ---- the committer ---- */

static ik_status step_done(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st); /* every statement has all its parameters bound each time */
	if (rc == SQLITE_DONE)
		return IK_OK;
	if (rc == SQLITE_CONSTRAINT)
		return IK_ERR_EXISTS;
	return IK_ERR_LEDGER;
}

static ik_status op_intent(sg_ledger *l, ledger_op *o)
{
	sqlite3_stmt *s = l->ins_intent;

	sqlite3_bind_text(s, 1, o->request_id, -1, SQLITE_STATIC);
	sqlite3_bind_blob(s, 2, o->serial, (int)o->serial_len, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, o->profile, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, o->subject, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 5, o->t1);
	sqlite3_bind_int64(s, 6, o->t2);
	sqlite3_bind_blob(s, 7, o->blob, (int)o->blob_len, SQLITE_STATIC);
	sqlite3_bind_int64(s, 8, now_s());
	return step_done(s);
}

static ik_status op_cert(sg_ledger *l, ledger_op *o)
{
	sqlite3_stmt *s = l->ins_cert;
	uint8_t md[32];
	ik_status st;

	if (EVP_DigestInit_ex(l->mdctx, l->sha256, NULL) != 1 ||
	    EVP_DigestUpdate(l->mdctx, o->blob, o->blob_len) != 1 ||
	    EVP_DigestFinal_ex(l->mdctx, md, NULL) != 1)
		return IK_ERR_CRYPTO;
	sqlite3_bind_text(s, 1, o->request_id, -1, SQLITE_STATIC);
	sqlite3_bind_blob(s, 2, o->blob, (int)o->blob_len, SQLITE_STATIC);
	sqlite3_bind_blob(s, 3, md, sizeof(md), SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 4, now_s());
	if ((st = step_done(s)) != IK_OK)
		return st;
	return sqlite3_changes(l->wdb) == 1 ? IK_OK : IK_ERR_NOT_FOUND; /* no intent */
}

/* The revocation state machine: good -> held | revoked, held -> good | revoked. */
static ik_status op_event(sg_ledger *l, ledger_op *o)
{
	int cur = PROTO_STATE_GOOD, rc;
	uint8_t next;
	ik_status st;

	sqlite3_bind_blob(l->cert_exists, 1, o->serial, (int)o->serial_len, SQLITE_STATIC);
	rc = sqlite3_step(l->cert_exists);
	sqlite3_reset(l->cert_exists);
	if (rc != SQLITE_ROW)
		return rc == SQLITE_DONE ? IK_ERR_NOT_FOUND : IK_ERR_LEDGER;
	sqlite3_bind_blob(l->get_status, 1, o->serial, (int)o->serial_len, SQLITE_STATIC);
	rc = sqlite3_step(l->get_status);
	if (rc == SQLITE_ROW)
		cur = sqlite3_column_int(l->get_status, 0);
	sqlite3_reset(l->get_status);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return IK_ERR_LEDGER;
	if (cur == PROTO_STATE_REVOKED)
		return IK_ERR_POLICY_REVOKED;
	if ((o->ev == SG_EV_HOLD && cur == PROTO_STATE_HELD) ||
	    (o->ev == SG_EV_RELEASE && cur == PROTO_STATE_GOOD))
		return IK_ERR_STATE;
	next = o->ev == SG_EV_REVOKE ? PROTO_STATE_REVOKED :
	    o->ev == SG_EV_HOLD ? PROTO_STATE_HELD : PROTO_STATE_GOOD;
	sqlite3_bind_blob(l->ins_event, 1, o->serial, (int)o->serial_len, SQLITE_STATIC);
	sqlite3_bind_int(l->ins_event, 2, o->ev);
	sqlite3_bind_int(l->ins_event, 3, o->ev == SG_EV_HOLD ? 6 : o->reason);
	sqlite3_bind_int64(l->ins_event, 4, o->t1);
	sqlite3_bind_int64(l->ins_event, 5, now_s());
	if ((st = step_done(l->ins_event)) != IK_OK)
		return st;
	if (next == PROTO_STATE_GOOD) {
		sqlite3_bind_blob(l->del_status, 1, o->serial, (int)o->serial_len, SQLITE_STATIC);
		st = step_done(l->del_status);
	} else {
		sqlite3_bind_blob(l->put_status, 1, o->serial, (int)o->serial_len, SQLITE_STATIC);
		sqlite3_bind_int(l->put_status, 2, next);
		sqlite3_bind_int(l->put_status, 3, o->ev == SG_EV_HOLD ? 6 : o->reason);
		sqlite3_bind_int64(l->put_status, 4, o->t1);
		st = step_done(l->put_status);
	}
	o->state = next;
	return st;
}

static ik_status op_crl(sg_ledger *l, ledger_op *o)
{
	sqlite3_stmt *s = l->ins_crl;
	int64_t last = -1;
	ik_status st;

	if (o->number == 0 || o->number > INT64_MAX || o->blob == NULL || o->t2 <= o->t1)
		return IK_ERR_ARG;
	if (sqlite3_step(l->crl_max) == SQLITE_ROW)
		last = sqlite3_column_int64(l->crl_max, 0);
	sqlite3_reset(l->crl_max);
	if (last < 0)
		return IK_ERR_LEDGER;
	if (o->number <= (uint64_t)last)
		return IK_ERR_STATE; /* CRL numbers only grow (the trigger says so too) */
	sqlite3_bind_int64(s, 1, (sqlite3_int64)o->number);
	sqlite3_bind_int64(s, 2, o->t1);
	sqlite3_bind_int64(s, 3, o->t2);
	sqlite3_bind_blob(s, 4, o->blob, 32, SQLITE_STATIC);
	st = step_done(s);
	return st == IK_ERR_EXISTS ? IK_ERR_STATE : st;
}

/* Run a prepared statement that returns no rows (transaction control). */
static int ctl(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* Intents, certificates and CRL records are one INSERT each, which SQLite makes atomic on
 * its own (a constraint failure undoes just that statement); an event writes two rows, so
 * it runs in a savepoint. */
static ik_status run_op(sg_ledger *l, ledger_op *o)
{
	ik_status st;

	switch (o->kind) {
	case OP_INTENT:
		return op_intent(l, o);
	case OP_CERT:
		return op_cert(l, o);
	case OP_CRL:
		return op_crl(l, o);
	case OP_EVENT:
		break;
	default:
		return IK_ERR_INTERNAL;
	}
	if (ctl(l->sp) != 0)
		return IK_ERR_LEDGER;
	st = op_event(l, o);
	if (st != IK_OK && ctl(l->sp_rollback) != 0)
		return IK_ERR_LEDGER;
	if (ctl(l->sp_release) != 0)
		return IK_ERR_LEDGER;
	return st;
}

/* One transaction for the whole batch: a refused operation is undone alone (see run_op);
 * a failed COMMIT (or a transaction SQLite aborted on its own) fails the whole batch. */
static void run_batch(sg_ledger *l, ledger_op *batch)
{
	ledger_op *o;
	int ok = ctl(l->begin) == 0;

	for (o = batch; o != NULL && ok; o = o->next) {
		o->result = run_op(l, o);
		if (sqlite3_get_autocommit(l->wdb))
			ok = 0; /* the transaction is gone: nothing of the batch is durable */
	}
	if (ok && ctl(l->commit) != 0) {
		ok = 0;
		(void)ctl(l->rollback);
	}
	if (!ok) {
		ik_log(LOG_ERR, "ledger: transaction failed: %s", sqlite3_errmsg(l->wdb));
		if (!sqlite3_get_autocommit(l->wdb))
			(void)ctl(l->rollback);
		for (o = batch; o != NULL; o = o->next)
			o->result = IK_ERR_LEDGER;
	}
}

/* Under load, give the others a moment to join the next commit: fewer, larger transactions
 * cost less per row (one fsync, each page written once).  With a pacer, the wait ends as
 * soon as it says the callers' other work is running low (sg_ledger_nudge), when enough has
 * queued or after PACE_MAX_NS; without, after GROUP_WAIT_NS.  Called and returns with qlock. */
static void group_wait(sg_ledger *l)
{
	struct timespec ts;

	if (l->pacer == NULL) {
		ts = (struct timespec){ 0, GROUP_WAIT_NS };
		pthread_mutex_unlock(&l->qlock);
		nanosleep(&ts, NULL);
		pthread_mutex_lock(&l->qlock);
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_nsec += PACE_MAX_NS;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	l->pacing = 1;
	for (;;) {
		size_t want = l->stopping ? 0 : l->pacer(l->pacer_arg);
		if (want > PACE_MAX_OPS)
			want = PACE_MAX_OPS;
		if (want == 0 || l->qlen >= want)
			break;
		l->pace_ops = want;
		if (pthread_cond_timedwait(&l->qcond, &l->qlock, &ts) != 0)
			break; /* timed out */
	}
	l->pacing = 0;
}

void sg_ledger_nudge(sg_ledger *l)
{
	pthread_mutex_lock(&l->qlock);
	if (l->pacing)
		pthread_cond_signal(&l->qcond);
	pthread_mutex_unlock(&l->qlock);
}

/* Hand each operation of a committed batch back: wake synchronous callers, then run the
 * asynchronous callbacks in order (each op is freed after its callback). */
static void batch_done(sg_ledger *l, ledger_op *batch)
{
	ledger_op *o, *async = NULL, **async_tail = &async;
	void (*after)(void *arg);
	void *after_arg;

	pthread_mutex_lock(&l->qlock);
	after = l->after;
	after_arg = l->after_arg;
	for (o = batch; o != NULL;) {
		ledger_op *next = o->next;
		pthread_cond_t *cv = o->cv;
		if (o->done_fn != NULL) {
			o->next = NULL; /* ours until its callback has run; kept in order */
			*async_tail = o;
			async_tail = &o->next;
		} else {
			o->done = 1; /* o may vanish once done is seen and qlock released */
			if (cv != NULL)
				pthread_cond_signal(cv);
		}
		o = next;
	}
	pthread_mutex_unlock(&l->qlock);
	while (async != NULL) {
		o = async;
		async = o->next;
		o->done_fn(o->done_arg, o->result);
		free(o);
	}
	if (after != NULL)
		after(after_arg);
}

static void *committer_main(void *arg)
{
	sg_ledger *l = arg;
	int busy = 0;
	size_t n;

	for (;;) {
		ledger_op *batch, *o;

		pthread_mutex_lock(&l->qlock);
		while (l->qhead == NULL && !l->stopping)
			pthread_cond_wait(&l->qcond, &l->qlock);
		/* With a pacer, ask it every time: on a quiet machine each append would otherwise
		 * wake the committer at once, and commits of one or two rows never grow large
		 * enough to count as load. */
		if ((busy || l->pacer != NULL) && !l->stopping)
			group_wait(l);
		batch = l->qhead;
		l->qhead = l->qtail = NULL;
		l->qlen = 0;
		pthread_mutex_unlock(&l->qlock);
		if (batch == NULL)
			return NULL; /* stopping, queue drained */
		n = 0;
		for (o = batch; o != NULL && n < GROUP_BUSY; o = o->next)
			n++;
		busy = n >= GROUP_BUSY;
		run_batch(l, batch);
		batch_done(l, batch);
	}
}

void sg_ledger_set_after_batch(sg_ledger *l, void (*after)(void *arg), void *arg)
{
	pthread_mutex_lock(&l->qlock);
	l->after = after;
	l->after_arg = arg;
	pthread_mutex_unlock(&l->qlock);
}

void sg_ledger_set_pacer(sg_ledger *l, size_t (*pace)(void *arg), void *arg)
{
	pthread_mutex_lock(&l->qlock);
	l->pacer = pace;
	l->pacer_arg = arg;
	pthread_mutex_unlock(&l->qlock);
}

/* Queue a chain of n operations (linked through next) and wait until the last one is
 * durable (or refused): the committer runs a chain in one transaction and marks all of it
 * done under one hold of qlock, so the others are done too. */
ik_status sg_ledger_submit_chain(sg_ledger *l, ledger_op *first, ledger_op *last)
{
	pthread_cond_t cv;

	if (pthread_cond_init(&cv, NULL) != 0)
		return IK_ERR_INTERNAL;
	last->cv = &cv;
	pthread_mutex_lock(&l->qlock);
	if (l->stopping) {
		pthread_mutex_unlock(&l->qlock);
		pthread_cond_destroy(&cv);
		return IK_ERR_STATE;
	}
	if (l->qtail != NULL)
		l->qtail->next = first;
	else
		l->qhead = first;
	l->qtail = last;
	for (const ledger_op *o = first; o != NULL; o = o->next)
		l->qlen++;
	pthread_cond_signal(&l->qcond);
	while (!last->done)
		pthread_cond_wait(&cv, &l->qlock);
	pthread_mutex_unlock(&l->qlock);
	pthread_cond_destroy(&cv);
	return IK_OK;
}

/* Queue one heap-allocated operation without waiting: its callback runs on the committer
 * thread once it is durable (or refused), and the op is freed after. */
ik_status sg_ledger_submit_async(sg_ledger *l, ledger_op *o, sg_ledger_done done, void *arg)
{
	o->done_fn = done;
	o->done_arg = arg;
	o->next = NULL;
	o->cv = NULL;
	pthread_mutex_lock(&l->qlock);
	if (l->stopping) {
		pthread_mutex_unlock(&l->qlock);
		free(o);
		return IK_ERR_STATE;
	}
	if (l->qtail != NULL)
		l->qtail->next = o;
	else
		l->qhead = o;
	l->qtail = o;
	l->qlen++;
	if (!l->pacing || l->qlen >= l->pace_ops) /* else a pacing committer is nudged */
		pthread_cond_signal(&l->qcond);
	pthread_mutex_unlock(&l->qlock);
	return IK_OK;
}

/* Queue one operation and wait until it is durable (or refused). */
ik_status sg_ledger_submit(sg_ledger *l, ledger_op *o)
{
	ik_status st;

	o->done = 0;
	o->next = NULL;
	if ((st = sg_ledger_submit_chain(l, o, o)) != IK_OK)
		return st;
	return o->result;
}

/* ---- open / close ---- */

static ik_status open_writer(sg_ledger *l)
{
	ik_status st;

	if ((st = sg_ledger_db_open(l->path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, &l->wdb)) != IK_OK ||
	    (st = migrate(l->wdb)) != IK_OK)
		return st;
	/* Checkpoint every 16 MiB of WAL rather than 4 MiB: the index pages a burst rewrites
	 * again and again reach the database file once per checkpoint. */
	if ((st = sg_ledger_db_exec(l->wdb, "PRAGMA wal_autocheckpoint=" WAL_CHECKPOINT_PAGES)) != IK_OK)
		return st;
	if ((l->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL ||
	    (l->mdctx = EVP_MD_CTX_new()) == NULL)
		return IK_ERR_CRYPTO;
	if ((st = sg_ledger_db_prep(l->wdb, "INSERT INTO intents VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)", &l->ins_intent)) != IK_OK ||
	    (st = sg_ledger_db_prep(l->wdb, "INSERT INTO certs(serial, request_id, der, sha256, issued)"
	        " SELECT serial, request_id, ?2, ?3, ?4 FROM intents WHERE request_id = ?1", &l->ins_cert)) != IK_OK ||
	    (st = sg_ledger_db_prep(l->wdb, "SELECT 1 FROM certs WHERE serial = ?1", &l->cert_exists)) != IK_OK ||
	    (st = sg_ledger_db_prep(l->wdb, "SELECT state FROM status WHERE serial = ?1", &l->get_status)) != IK_OK ||
	    (st = sg_ledger_db_prep(l->wdb, "INSERT INTO events(serial, kind, reason, at, recorded) VALUES (?1, ?2, ?3, ?4, ?5)", &l->ins_event)) != IK_OK ||
	    (st = sg_ledger_db_prep(l->wdb, "INSERT INTO status VALUES (?1, ?2, ?3, ?4) ON CONFLICT(serial) DO UPDATE"
	        " SET state = excluded.state, reason = excluded.reason, at = excluded.at", &l->put_status)) != IK_OK ||
	    (st = sg_ledger_db_prep(l->wdb, "DELETE FROM status WHERE serial = ?1", &l->del_status)) != IK_OK ||
	    (st = sg_ledger_db_prep(l->wdb, "INSERT INTO crls VALUES (?1, ?2, ?3, ?4)", &l->ins_crl)) != IK_OK ||
	    (st = sg_ledger_db_prep(l->wdb, "SELECT coalesce(max(number), 0) FROM crls", &l->crl_max)) != IK_OK ||
	    (st = sg_ledger_db_prep(l->wdb, "BEGIN IMMEDIATE", &l->begin)) != IK_OK ||
	    (st = sg_ledger_db_prep(l->wdb, "COMMIT", &l->commit)) != IK_OK ||
	    (st = sg_ledger_db_prep(l->wdb, "ROLLBACK", &l->rollback)) != IK_OK ||
	    (st = sg_ledger_db_prep(l->wdb, "SAVEPOINT op", &l->sp)) != IK_OK ||
	    (st = sg_ledger_db_prep(l->wdb, "ROLLBACK TO op", &l->sp_rollback)) != IK_OK ||
	    (st = sg_ledger_db_prep(l->wdb, "RELEASE op", &l->sp_release)) != IK_OK)
		return st;
	return IK_OK;
}

ik_status sg_ledger_open(const char *path, sg_ledger **out)
{
	pthread_condattr_t ca;
	sg_ledger *l;
	ik_status st;

	*out = NULL;
	if (strlen(path) >= sizeof(l->path))
		return IK_ERR_ARG;
	l = calloc(1, sizeof(*l));
	if (l == NULL)
		return IK_ERR_NOMEM;
	memcpy(l->path, path, strlen(path) + 1);
	pthread_mutex_init(&l->qlock, NULL);
	/* group_wait's deadline is on the monotonic clock: so must the condition's be (with the
	 * default, CLOCK_REALTIME, every wait timed out at once and commits never grew) */
	if (pthread_condattr_init(&ca) != 0 || pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
	    pthread_cond_init(&l->qcond, &ca) != 0) {
		free(l);
		return IK_ERR_INTERNAL;
	}
	pthread_condattr_destroy(&ca);
	if ((st = open_writer(l)) != IK_OK)
		goto fail;
	for (int i = 0; i < READERS; i++)
		if ((st = sg_ledger_reader_open(l, &l->readers[i])) != IK_OK)
			goto fail;
	if (pthread_create(&l->committer, NULL, committer_main, l) != 0) {
		st = IK_ERR_INTERNAL;
		goto fail;
	}
	(void)pthread_setname_np(l->committer, "sg-commit");
	*out = l;
	return IK_OK;
fail:
	l->stopping = 2; /* no committer to join */
	sg_ledger_close(l);
	return st;
}

void sg_ledger_close(sg_ledger *l)
{
	if (l == NULL)
		return;
	if (l->stopping != 2) {
		pthread_mutex_lock(&l->qlock);
		l->stopping = 1;
		pthread_cond_broadcast(&l->qcond);
		pthread_mutex_unlock(&l->qlock);
		pthread_join(l->committer, NULL);
	}
	for (int i = 0; i < READERS; i++)
		if (l->readers[i].db != NULL)
			sg_ledger_reader_close(&l->readers[i]);
	sqlite3_finalize(l->ins_intent);
	sqlite3_finalize(l->ins_cert);
	sqlite3_finalize(l->cert_exists);
	sqlite3_finalize(l->get_status);
	sqlite3_finalize(l->ins_event);
	sqlite3_finalize(l->put_status);
	sqlite3_finalize(l->del_status);
	sqlite3_finalize(l->ins_crl);
	sqlite3_finalize(l->crl_max);
	sqlite3_finalize(l->begin);
	sqlite3_finalize(l->commit);
	sqlite3_finalize(l->rollback);
	sqlite3_finalize(l->sp);
	sqlite3_finalize(l->sp_rollback);
	sqlite3_finalize(l->sp_release);
	EVP_MD_CTX_free(l->mdctx);
	EVP_MD_free(l->sha256);
	sqlite3_close(l->wdb);
	pthread_mutex_destroy(&l->qlock);
	pthread_cond_destroy(&l->qcond);
	free(l);
}
