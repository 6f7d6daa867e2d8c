/* ledger: the signer's append-only SQLite record.  One committer thread owns the write
 * connection and commits whatever has queued up in one transaction (group commit; a
 * refused operation is undone alone); reads go through a small pool of read connections. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <sqlite3.h>

#include "ledger.h"
#include "ledger_db.h"
#include "log.h"

#define READERS 4
#define GROUP_BUSY 16            /* a batch this large means load: the next commit */
#define GROUP_WAIT_NS 1000000    /* waits this long for more to join it; with a pacer: */
#define PACE_MAX_NS 8000000      /* and waits at most this long */
#define PACE_MAX_OPS 1024        /* or until this many operations have queued */

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
};

enum op_kind { OP_INTENT = 1, OP_CERT, OP_EVENT, OP_CRL };

typedef struct ledger_op {
	enum op_kind kind;
	const char *request_id;
	const uint8_t *serial;
	size_t serial_len;
	const char *profile, *subject;
	int64_t t1, t2;               /* validity, or CRL this/next update, or event time */
	const uint8_t *blob;          /* TBS, DER, or CRL sha256 */
	size_t blob_len;
	uint64_t number;
	int ev;
	uint8_t reason;
	uint8_t state;                /* out: new state */
	ik_status result;
	int done;
	pthread_cond_t *cv;           /* the caller's own wake-up (no thundering herd); NULL:
	                               * not the op its caller waits on */
	sg_ledger_done done_fn;       /* asynchronous: called once durable, then the op is freed */
	void *done_arg;
	struct ledger_op *next;
} ledger_op;

typedef struct reader {
	pthread_mutex_t lock;
	sqlite3 *db;
	sqlite3_stmt *find, *used, *counts, *crl_last;
	sqlite3_stmt *cert_status; /* OCSP */
} reader;

struct sg_ledger {
	char path[4096];
	sqlite3 *wdb;
	sqlite3_stmt *ins_intent, *ins_cert, *cert_exists, *get_status, *ins_event, *put_status,
	    *del_status, *ins_crl, *crl_max;
	sqlite3_stmt *begin, *commit, *rollback, *sp, *sp_rollback, *sp_release;
	reader readers[READERS];
	pthread_t committer;
	pthread_mutex_t qlock;
	pthread_cond_t qcond;
	ledger_op *qhead, *qtail;
	size_t qlen;
	int pacing;                   /* the committer waits for a commit to grow */
	int stopping;
	int (*pacer)(void *arg);      /* set before the first append; see sg_ledger_set_pacer */
	void *pacer_arg;
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

static ik_status prep(sqlite3 *db, const char *sql, sqlite3_stmt **st)
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

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
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

	if (EVP_Digest(o->blob, o->blob_len, md, NULL, EVP_sha256(), NULL) != 1)
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
	while (!l->stopping && l->qlen < PACE_MAX_OPS && l->pacer(l->pacer_arg))
		if (pthread_cond_timedwait(&l->qcond, &l->qlock, &ts) != 0)
			break; /* timed out */
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

	pthread_mutex_lock(&l->qlock);
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
		if (busy && !l->stopping)
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

void sg_ledger_set_pacer(sg_ledger *l, int (*busy)(void *arg), void *arg)
{
	pthread_mutex_lock(&l->qlock);
	l->pacer = busy;
	l->pacer_arg = arg;
	pthread_mutex_unlock(&l->qlock);
}

/* Queue a chain of n operations (linked through next) and wait until the last one is
 * durable (or refused): the committer runs a chain in one transaction and marks all of it
 * done under one hold of qlock, so the others are done too. */
static ik_status submit_chain(sg_ledger *l, ledger_op *first, ledger_op *last)
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
static ik_status submit_async(sg_ledger *l, ledger_op *o, sg_ledger_done done, void *arg)
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
	if (!l->pacing || l->qlen >= PACE_MAX_OPS) /* a pacing committer is woken by a nudge */
		pthread_cond_signal(&l->qcond);
	pthread_mutex_unlock(&l->qlock);
	return IK_OK;
}

/* Queue one operation and wait until it is durable (or refused). */
static ik_status submit(sg_ledger *l, ledger_op *o)
{
	ik_status st;

	o->done = 0;
	o->next = NULL;
	if ((st = submit_chain(l, o, o)) != IK_OK)
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
	if ((st = prep(l->wdb, "INSERT INTO intents VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)", &l->ins_intent)) != IK_OK ||
	    (st = prep(l->wdb, "INSERT INTO certs(serial, request_id, der, sha256, issued)"
	        " SELECT serial, request_id, ?2, ?3, ?4 FROM intents WHERE request_id = ?1", &l->ins_cert)) != IK_OK ||
	    (st = prep(l->wdb, "SELECT 1 FROM certs WHERE serial = ?1", &l->cert_exists)) != IK_OK ||
	    (st = prep(l->wdb, "SELECT state FROM status WHERE serial = ?1", &l->get_status)) != IK_OK ||
	    (st = prep(l->wdb, "INSERT INTO events(serial, kind, reason, at, recorded) VALUES (?1, ?2, ?3, ?4, ?5)", &l->ins_event)) != IK_OK ||
	    (st = prep(l->wdb, "INSERT INTO status VALUES (?1, ?2, ?3, ?4) ON CONFLICT(serial) DO UPDATE"
	        " SET state = excluded.state, reason = excluded.reason, at = excluded.at", &l->put_status)) != IK_OK ||
	    (st = prep(l->wdb, "DELETE FROM status WHERE serial = ?1", &l->del_status)) != IK_OK ||
	    (st = prep(l->wdb, "INSERT INTO crls VALUES (?1, ?2, ?3, ?4)", &l->ins_crl)) != IK_OK ||
	    (st = prep(l->wdb, "SELECT coalesce(max(number), 0) FROM crls", &l->crl_max)) != IK_OK ||
	    (st = prep(l->wdb, "BEGIN IMMEDIATE", &l->begin)) != IK_OK ||
	    (st = prep(l->wdb, "COMMIT", &l->commit)) != IK_OK ||
	    (st = prep(l->wdb, "ROLLBACK", &l->rollback)) != IK_OK ||
	    (st = prep(l->wdb, "SAVEPOINT op", &l->sp)) != IK_OK ||
	    (st = prep(l->wdb, "ROLLBACK TO op", &l->sp_rollback)) != IK_OK ||
	    (st = prep(l->wdb, "RELEASE op", &l->sp_release)) != IK_OK)
		return st;
	return IK_OK;
}

static ik_status open_reader(sg_ledger *l, reader *r)
{
	ik_status st;

	pthread_mutex_init(&r->lock, NULL);
	if ((st = sg_ledger_db_open(l->path, SQLITE_OPEN_READONLY, &r->db)) != IK_OK)
		return st;
	if ((st = prep(r->db, "SELECT i.serial, i.tbs, i.profile, c.der FROM intents i"
	        " LEFT JOIN certs c ON c.request_id = i.request_id WHERE i.request_id = ?1", &r->find)) != IK_OK ||
	    (st = prep(r->db, "SELECT 1 FROM intents WHERE serial = ?1", &r->used)) != IK_OK ||
	    (st = prep(r->db, "SELECT (SELECT count(*) FROM certs), (SELECT count(*) FROM status WHERE state = 2),"
	        " (SELECT count(*) FROM status WHERE state = 1)", &r->counts)) != IK_OK ||
	    (st = prep(r->db, "SELECT coalesce(max(number), 0) FROM crls", &r->crl_last)) != IK_OK)
		return st;
	if ((st = prep(r->db, "SELECT s.state, s.reason, s.at FROM certs c"
	    " LEFT JOIN status s ON s.serial = c.serial WHERE c.serial = ?1", &r->cert_status)) != IK_OK)
		return st;
	return IK_OK;
}

ik_status sg_ledger_open(const char *path, sg_ledger **out)
{
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
	pthread_cond_init(&l->qcond, NULL);
	if ((st = open_writer(l)) != IK_OK)
		goto fail;
	for (int i = 0; i < READERS; i++)
		if ((st = open_reader(l, &l->readers[i])) != IK_OK)
			goto fail;
	if (pthread_create(&l->committer, NULL, committer_main, l) != 0) {
		st = IK_ERR_INTERNAL;
		goto fail;
	}
	*out = l;
	return IK_OK;
fail:
	l->stopping = 2; /* no committer to join */
	sg_ledger_close(l);
	return st;
}

static void close_reader(reader *r)
{
	sqlite3_finalize(r->find);
	sqlite3_finalize(r->used);
	sqlite3_finalize(r->counts);
	sqlite3_finalize(r->crl_last);
	sqlite3_finalize(r->cert_status);
	sqlite3_close(r->db);
	pthread_mutex_destroy(&r->lock);
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
			close_reader(&l->readers[i]);
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
	sqlite3_close(l->wdb);
	pthread_mutex_destroy(&l->qlock);
	pthread_cond_destroy(&l->qcond);
	free(l);
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

/* ---- appends ---- */

static ik_status make_intent(ledger_op *o, const char *request_id, const uint8_t *serial,
    size_t serial_len, const char *profile, const char *subject, int64_t not_before,
    int64_t not_after, const uint8_t *tbs, size_t tbs_len)
{
	if (request_id == NULL || serial == NULL || profile == NULL || subject == NULL ||
	    tbs == NULL || serial_len == 0 || serial_len > PROTO_MAX_SERIAL || tbs_len == 0 ||
	    tbs_len > INT32_MAX)
		return IK_ERR_ARG;
	*o = (ledger_op){
		.kind = OP_INTENT, .request_id = request_id, .serial = serial, .serial_len = serial_len,
		.profile = profile, .subject = subject, .t1 = not_before, .t2 = not_after,
		.blob = tbs, .blob_len = tbs_len,
	};
	return IK_OK;
}

static ik_status make_cert(ledger_op *o, const char *request_id, const uint8_t *der,
    size_t der_len)
{
	if (request_id == NULL || der == NULL || der_len == 0 || der_len > INT32_MAX)
		return IK_ERR_ARG;
	*o = (ledger_op){ .kind = OP_CERT, .request_id = request_id, .blob = der, .blob_len = der_len };
	return IK_OK;
}

static ik_status make_event(ledger_op *o, const uint8_t *serial, size_t n, sg_event kind,
    uint8_t reason, int64_t when)
{
	if (serial == NULL || n == 0 || n > PROTO_MAX_SERIAL || kind < SG_EV_REVOKE ||
	    kind > SG_EV_RELEASE || when < 0)
		return IK_ERR_ARG;
	/* RFC 5280 5.3.1: a full CRL never says removeFromCRL (8); 7 is unused; certificateHold
	 * (6) is what HOLD records; release and hold take no reason of their own. */
	if (kind == SG_EV_REVOKE && (reason > 10 || reason == 6 || reason == 7 || reason == 8))
		return IK_ERR_POLICY_REASON;
	*o = (ledger_op){ .kind = OP_EVENT, .serial = serial, .serial_len = n, .ev = (int)kind,
		.reason = kind == SG_EV_REVOKE ? reason : 0, .t1 = when };
	return IK_OK;
}

ik_status sg_ledger_record_intent(sg_ledger *l, const char *request_id, const uint8_t *serial,
    size_t serial_len, const char *profile, const char *subject, int64_t not_before,
    int64_t not_after, const uint8_t *tbs, size_t tbs_len)
{
	ledger_op o;
	ik_status st = make_intent(&o, request_id, serial, serial_len, profile, subject,
	    not_before, not_after, tbs, tbs_len);

	return st != IK_OK ? st : submit(l, &o);
}

ik_status sg_ledger_record_cert(sg_ledger *l, const char *request_id, const uint8_t *der,
    size_t der_len)
{
	ledger_op o;
	ik_status st = make_cert(&o, request_id, der, der_len);

	return st != IK_OK ? st : submit(l, &o);
}

ik_status sg_ledger_intent_async(sg_ledger *l, const char *request_id, const uint8_t *serial,
    size_t serial_len, const char *profile, const char *subject, int64_t not_before,
    int64_t not_after, const uint8_t *tbs, size_t tbs_len, sg_ledger_done done, void *arg)
{
	ledger_op *o = malloc(sizeof(*o));
	ik_status st;

	if (o == NULL)
		return IK_ERR_NOMEM;
	if (done == NULL || (st = make_intent(o, request_id, serial, serial_len, profile, subject,
	    not_before, not_after, tbs, tbs_len)) != IK_OK) {
		free(o);
		return done == NULL ? IK_ERR_ARG : st;
	}
	return submit_async(l, o, done, arg);
}

ik_status sg_ledger_cert_async(sg_ledger *l, const char *request_id, const uint8_t *der,
    size_t der_len, sg_ledger_done done, void *arg)
{
	ledger_op *o = malloc(sizeof(*o));
	ik_status st;

	if (o == NULL)
		return IK_ERR_NOMEM;
	if (done == NULL || (st = make_cert(o, request_id, der, der_len)) != IK_OK) {
		free(o);
		return done == NULL ? IK_ERR_ARG : st;
	}
	return submit_async(l, o, done, arg);
}

ik_status sg_ledger_event(sg_ledger *l, const uint8_t *serial, size_t n, sg_event kind,
    uint8_t reason, int64_t when, uint8_t *state)
{
	ledger_op o;
	ik_status st = make_event(&o, serial, n, kind, reason, when);

	if (st != IK_OK)
		return st;
	st = submit(l, &o);
	if (st == IK_OK && state != NULL)
		*state = o.state;
	return st;
}

/* ---- batches ---- */

struct sg_ledger_batch {
	ledger_op *ops;
	size_t n, max;
};

ik_status sg_ledger_batch_new(size_t max, sg_ledger_batch **out)
{
	sg_ledger_batch *b;

	*out = NULL;
	if (max == 0 || max > SIZE_MAX / sizeof(ledger_op))
		return IK_ERR_ARG;
	if ((b = calloc(1, sizeof(*b))) == NULL || (b->ops = calloc(max, sizeof(ledger_op))) == NULL) {
		free(b);
		return IK_ERR_NOMEM;
	}
	b->max = max;
	*out = b;
	return IK_OK;
}

void sg_ledger_batch_free(sg_ledger_batch *b)
{
	if (b == NULL)
		return;
	free(b->ops);
	free(b);
}

size_t sg_ledger_batch_len(const sg_ledger_batch *b)
{
	return b->n;
}

ik_status sg_ledger_batch_intent(sg_ledger_batch *b, const char *request_id,
    const uint8_t *serial, size_t serial_len, const char *profile, const char *subject,
    int64_t not_before, int64_t not_after, const uint8_t *tbs, size_t tbs_len)
{
	ik_status st;

	if (b->n == b->max)
		return IK_ERR_BUSY;
	if ((st = make_intent(&b->ops[b->n], request_id, serial, serial_len, profile, subject,
	    not_before, not_after, tbs, tbs_len)) != IK_OK)
		return st;
	b->n++;
	return IK_OK;
}

ik_status sg_ledger_batch_cert(sg_ledger_batch *b, const char *request_id, const uint8_t *der,
    size_t der_len)
{
	ik_status st;

	if (b->n == b->max)
		return IK_ERR_BUSY;
	if ((st = make_cert(&b->ops[b->n], request_id, der, der_len)) != IK_OK)
		return st;
	b->n++;
	return IK_OK;
}

ik_status sg_ledger_batch_event(sg_ledger_batch *b, const uint8_t *serial, size_t n,
    sg_event kind, uint8_t reason, int64_t when)
{
	ik_status st;

	if (b->n == b->max)
		return IK_ERR_BUSY;
	if ((st = make_event(&b->ops[b->n], serial, n, kind, reason, when)) != IK_OK)
		return st;
	b->n++;
	return IK_OK;
}

ik_status sg_ledger_batch_commit(sg_ledger *l, sg_ledger_batch *b, size_t *failed)
{
	ik_status st;

	if (failed != NULL)
		*failed = SIZE_MAX;
	if (b->n == 0)
		return IK_OK;
	for (size_t i = 0; i < b->n; i++) {
		b->ops[i].done = 0;
		b->ops[i].cv = NULL;
		b->ops[i].next = i + 1 < b->n ? &b->ops[i + 1] : NULL;
	}
	st = submit_chain(l, &b->ops[0], &b->ops[b->n - 1]);
	for (size_t i = 0; i < b->n && st == IK_OK; i++)
		if (b->ops[i].result != IK_OK) {
			st = b->ops[i].result;
			if (failed != NULL)
				*failed = i;
		}
	b->n = 0;
	return st;
}

ik_status sg_ledger_crl_record(sg_ledger *l, uint64_t number, int64_t this_update,
    int64_t next_update, const uint8_t *sha256)
{
	ledger_op o = { .kind = OP_CRL, .number = number, .t1 = this_update, .t2 = next_update,
		.blob = sha256, .blob_len = 32 };

	return submit(l, &o);
}
