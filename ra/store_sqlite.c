/* store_sqlite: the SQLite backend of store.h, part 1 — per-thread connections (WAL,
 * foreign keys, busy timeout), embedded migrations with a schema_version table, the
 * statement cache (transactions: store_sqlite_tx.c).  The tables are in store_sqlite_*.c.
 * Prepared statements with bound parameters only; the only SQL text run as is are the
 * migrations. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "store_sqlite_conn.h"

/* generated from ra/migrations/NNN_name.sql by ra/embed_migrations.cmake */
extern const char *const ra_migrations[];
extern const char *const ra_migration_names[];

int64_t sq_now(void)
{
	return (int64_t)time(NULL);
}

/* ---- result codes ---- */

static ik_status map_rc(sq_conn *c, int rc, const char *sql)
{
	switch (rc) {
	case SQLITE_OK:
	case SQLITE_ROW:
	case SQLITE_DONE:
		return IK_OK;
	case SQLITE_CONSTRAINT_UNIQUE:
	case SQLITE_CONSTRAINT_PRIMARYKEY:
		return IK_ERR_EXISTS;
	case SQLITE_CONSTRAINT_FOREIGNKEY:
		return IK_ERR_NOT_FOUND;
	case SQLITE_CONSTRAINT_CHECK:
	case SQLITE_CONSTRAINT_NOTNULL:
		return IK_ERR_ARG;
	case SQLITE_CONSTRAINT_TRIGGER:
		return IK_ERR_STATE;
	case SQLITE_NOMEM:
		return IK_ERR_NOMEM;
	case SQLITE_BUSY:
	case SQLITE_BUSY_SNAPSHOT:
	case SQLITE_BUSY_RECOVERY:
	case SQLITE_LOCKED:
	case SQLITE_LOCKED_SHAREDCACHE:
		ik_log(LOG_WARNING, "store: database busy at \"%.60s\"", sql != NULL ? sql : "");
		return IK_ERR_BUSY;
	default:
		ik_log(LOG_ERR, "store: %s (%d) at \"%.60s\"",
		    c != NULL && c->db != NULL ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc), rc,
		    sql != NULL ? sql : "");
		return IK_ERR_IO;
	}
}

/* ---- connections ---- */

static void conn_close(sq_conn *c)
{
	if (c->depth > 0 && c->store != NULL)
		sq_writer_leave(c->store); /* its transaction ends with it */
	for (size_t i = 0; i < CACHE_SLOTS; i++)
		sqlite3_finalize(c->cache[i].q);
	sqlite3_close(c->db);
	free(c);
}

/* Thread exit: unlink and close this thread's connection. */
static void conn_release(void *p)
{
	sq_conn *c = p;
	ra_store *s = c->store;

	pthread_mutex_lock(&s->lock);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	pthread_mutex_unlock(&s->lock);
	conn_close(c);
}

ik_status sq_exec_sql(sq_conn *c, const char *sql)
{
	int rc = sqlite3_exec(c->db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? IK_OK : map_rc(c, sqlite3_extended_errcode(c->db), sql);
}

static ik_status conn_open(ra_store *s, sq_conn **out)
{
	sq_conn *c = calloc(1, sizeof(*c));
	int rc;

	*out = NULL;
	if (c == NULL)
		return IK_ERR_NOMEM;
	c->store = s;
	rc = sqlite3_open_v2(s->path, &c->db,
	    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		ik_log(LOG_ERR, "store: cannot open %s: %s", s->path,
		    c->db != NULL ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
		sqlite3_close(c->db);
		free(c);
		return rc == SQLITE_NOMEM ? IK_ERR_NOMEM : IK_ERR_IO;
	}
	sqlite3_extended_result_codes(c->db, 1);
	sqlite3_busy_timeout(c->db, BUSY_TIMEOUT_MS);
	sq_ckpt_attach(s, c->db);
	/* secure_delete: deleted content (a batch's sealed keys after its download) is
	 * overwritten with zeros, not left in free space of the file; temp_store: statement
	 * journals in memory, not a file created and unlinked in /var/tmp per statement */
	if (sq_exec_sql(c, "PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL;"
	    " PRAGMA trusted_schema = OFF; PRAGMA secure_delete = ON;"
	    " PRAGMA temp_store = MEMORY;") != IK_OK) {
		conn_close(c);
		return IK_ERR_IO;
	}
	*out = c;
	return IK_OK;
}

/* Registers c as this thread's connection. */
static ik_status conn_adopt(ra_store *s, sq_conn *c)
{
	if (pthread_setspecific(s->key, c) != 0)
		return IK_ERR_NOMEM;
	pthread_mutex_lock(&s->lock);
	c->next = s->conns;
	if (s->conns != NULL)
		s->conns->prev = c;
	s->conns = c;
	pthread_mutex_unlock(&s->lock);
	return IK_OK;
}

ik_status sq_get_conn(ra_store *s, sq_conn **out)
{
	sq_conn *c = pthread_getspecific(s->key);
	ik_status st;

	if (c != NULL) {
		*out = c;
		return IK_OK;
	}
	if ((st = conn_open(s, &c)) != IK_OK)
		return st;
	if ((st = conn_adopt(s, c)) != IK_OK) {
		conn_close(c);
		return st;
	}
	*out = c;
	return IK_OK;
}

/* ---- statements ---- */

ik_status sq_stmt(sq_conn *c, const char *sql, sqlite3_stmt **q)
{
	size_t h = (size_t)(((uintptr_t)sql >> 4) ^ ((uintptr_t)sql >> 12));

	for (size_t i = 0; i < CACHE_SLOTS; i++) {
		sq_slot *slot = &c->cache[(h + i) & (CACHE_SLOTS - 1)];

		if (slot->sql == sql) {
			sqlite3_reset(slot->q);
			sqlite3_clear_bindings(slot->q);
			*q = slot->q;
			c->bind_rc = SQLITE_OK;
			return IK_OK;
		}
		if (slot->sql == NULL) {
			int rc = sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
			    &slot->q, NULL);
			if (rc != SQLITE_OK) {
				slot->q = NULL;
				return map_rc(c, rc, sql);
			}
			slot->sql = sql;
			*q = slot->q;
			c->bind_rc = SQLITE_OK;
			return IK_OK;
		}
	}
	ik_log(LOG_ERR, "store: statement cache full (raise CACHE_SLOTS)");
	return IK_ERR_INTERNAL;
}

ik_status sq_prep(ra_store *s, const char *sql, sq_conn **c, sqlite3_stmt **q)
{
	ik_status st = sq_get_conn(s, c);

	return st != IK_OK ? st : sq_stmt(*c, sql, q);
}

static void bind_check(sq_conn *c, int rc)
{
	if (rc != SQLITE_OK && c->bind_rc == SQLITE_OK)
		c->bind_rc = rc;
}

void sq_bind_text(sq_conn *c, sqlite3_stmt *q, int i, const char *v)
{
	bind_check(c, v == NULL ? sqlite3_bind_null(q, i) :
	    sqlite3_bind_text(q, i, v, -1, SQLITE_STATIC));
}

void sq_bind_blob(sq_conn *c, sqlite3_stmt *q, int i, const void *v, size_t n)
{
	bind_check(c, v == NULL ? sqlite3_bind_null(q, i) :
	    sqlite3_bind_blob64(q, i, v, (sqlite3_uint64)n, SQLITE_STATIC));
}

void sq_bind_i64(sq_conn *c, sqlite3_stmt *q, int i, int64_t v)
{
	bind_check(c, sqlite3_bind_int64(q, i, (sqlite3_int64)v));
}

void sq_bind_opt_i64(sq_conn *c, sqlite3_stmt *q, int i, int64_t v)
{
	bind_check(c, v == 0 ? sqlite3_bind_null(q, i) : sqlite3_bind_int64(q, i, v));
}

ik_status sq_step(sq_conn *c, sqlite3_stmt *q, int *row)
{
	int rc;

	*row = 0;
	if (c->bind_rc != SQLITE_OK)
		return map_rc(c, c->bind_rc, sqlite3_sql(q));
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		*row = 1;
		return IK_OK;
	}
	if (rc == SQLITE_DONE)
		return IK_OK;
	return map_rc(c, sqlite3_extended_errcode(c->db), sqlite3_sql(q));
}

ik_status sq_exec(sq_conn *c, sqlite3_stmt *q, int64_t *changes)
{
	ik_status st;
	int row;

	do {
		st = sq_step(c, q, &row);
	} while (st == IK_OK && row);
	if (changes != NULL)
		*changes = st == IK_OK ? (int64_t)sqlite3_changes64(c->db) : 0;
	return st;
}

void sq_reset(sqlite3_stmt *q)
{
	if (q == NULL)
		return;
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
}

int64_t sq_last_id(sq_conn *c)
{
	return (int64_t)sqlite3_last_insert_rowid(c->db);
}

ik_status sq_col_text(sqlite3_stmt *q, int i, char *out, size_t outsz)
{
	const unsigned char *t = sqlite3_column_text(q, i);
	int n = sqlite3_column_bytes(q, i);

	if (outsz == 0)
		return IK_ERR_ARG;
	out[0] = '\0';
	if (t == NULL)
		return IK_OK;
	if (n < 0 || (size_t)n >= outsz) {
		ik_log(LOG_ERR, "store: column %s holds %d bytes, more than the %zu allowed",
		    sqlite3_column_name(q, i), n, outsz - 1);
		return IK_ERR_IO;
	}
	memcpy(out, t, (size_t)n);
	out[n] = '\0';
	return IK_OK;
}

char *sq_col_strdup(sqlite3_stmt *q, int i)
{
	const unsigned char *t = sqlite3_column_text(q, i);
	int n = sqlite3_column_bytes(q, i);
	char *r;

	if (t == NULL || n < 0)
		n = 0;
	r = malloc((size_t)n + 1);
	if (r == NULL)
		return NULL;
	if (n > 0)
		memcpy(r, t, (size_t)n);
	r[n] = '\0';
	return r;
}

int sq_col_blob(sqlite3_stmt *q, int i, uint8_t *out, size_t n)
{
	const void *b = sqlite3_column_blob(q, i);
	int len = sqlite3_column_bytes(q, i);

	if (b == NULL || len < 0 || (size_t)len != n) {
		memset(out, 0, n);
		return 0;
	}
	memcpy(out, b, n);
	return 1;
}

int64_t sq_col_i64(sqlite3_stmt *q, int i)
{
	return (int64_t)sqlite3_column_int64(q, i);
}

int sq_len_ok(const char *v, size_t min, size_t max)
{
	size_t n;

	if (v == NULL)
		return 0;
	n = strnlen(v, max + 1);
	return n >= min && n <= max;
}

ik_status sq_like_contains(const char *sub, char **pattern)
{
	size_t n, need;
	char *p, *w;

	*pattern = NULL;
	if (sub == NULL || sub[0] == '\0')
		return IK_OK;
	n = strlen(sub);
	if (ik_size_mul(n, 2, &need) != 0 || ik_size_add(need, 3, &need) != 0)
		return IK_ERR_ARG;
	if ((p = malloc(need)) == NULL)
		return IK_ERR_NOMEM;
	w = p;
	*w++ = '%';
	for (size_t i = 0; i < n; i++) {
		if (sub[i] == '%' || sub[i] == '_' || sub[i] == '\\')
			*w++ = '\\';
		*w++ = sub[i];
	}
	*w++ = '%';
	*w = '\0';
	*pattern = p;
	return IK_OK;
}

/* Runs sql with integer parameters v[0..nv-1] as ?1..?nv. */
ik_status sq_run_ids(sq_conn *c, const char *sql, const int64_t *v, int nv,
    int64_t *changes)
{
	sqlite3_stmt *q;
	ik_status st = sq_stmt(c, sql, &q);

	if (st != IK_OK)
		return st;
	for (int i = 0; i < nv; i++)
		sq_bind_i64(c, q, i + 1, v[i]);
	st = sq_exec(c, q, changes);
	sq_reset(q);
	return st;
}

ik_status sq_count_id(sq_conn *c, const char *sql, int64_t id, int64_t *n)
{
	sqlite3_stmt *q;
	int row;
	ik_status st = sq_stmt(c, sql, &q);

	*n = 0;
	if (st != IK_OK)
		return st;
	sq_bind_i64(c, q, 1, id);
	if ((st = sq_step(c, q, &row)) == IK_OK && row)
		*n = sq_col_i64(q, 0);
	sq_reset(q);
	return st;
}

/* At most RA_STORE_TEXT_MAX bytes, cut at a UTF-8 character boundary. */
void sq_clip_text(const char *in, char out[RA_STORE_TEXT_MAX + 1])
{
	size_t n = in != NULL ? strnlen(in, RA_STORE_TEXT_MAX + 1) : 0;

	if (n > RA_STORE_TEXT_MAX) {
		n = RA_STORE_TEXT_MAX;
		while (n > 0 && ((unsigned char)in[n] & 0xC0) == 0x80)
			n--;
	}
	if (n > 0)
		memcpy(out, in, n);
	out[n] = '\0';
}

/* ---- open, migrations, close ---- */

static int code_version(void)
{
	int n = 0;

	while (ra_migrations[n] != NULL)
		n++;
	return n;
}

static void say(char *why, size_t whysz, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void say(char *why, size_t whysz, const char *fmt, ...)
{
	va_list ap;

	if (why == NULL || whysz == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, whysz, fmt, ap);
	va_end(ap);
}

static ik_status read_version(sq_conn *c, int *v)
{
	sqlite3_stmt *q;
	int row;
	ik_status st = sq_stmt(c, "SELECT IFNULL(MAX(version), 0) FROM schema_version", &q);

	if (st != IK_OK)
		return st;
	st = sq_step(c, q, &row);
	if (st == IK_OK) {
		int64_t x = row ? sq_col_i64(q, 0) : 0;
		if (x < 0 || x > 1000000)
			st = IK_ERR_IO;
		else
			*v = (int)x;
	}
	sq_reset(q);
	return st;
}

static ik_status apply_migrations(sq_conn *c, const char *path, char *why, size_t whysz)
{
	static const char sql_insert[] =
	    "INSERT INTO schema_version(version, name, applied_at) VALUES (?1, ?2, ?3)";
	int have = 0, want = code_version();
	ik_status st;

	if ((st = sq_begin(c)) != IK_OK) {
		say(why, whysz, "%s: cannot start the schema transaction: %s", path,
		    st == IK_ERR_BUSY ? "database locked" : sqlite3_errmsg(c->db));
		return st;
	}
	st = sq_exec_sql(c, "CREATE TABLE IF NOT EXISTS schema_version ("
	    "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)");
	if (st == IK_OK)
		st = read_version(c, &have);
	if (st != IK_OK) {
		say(why, whysz, "%s: cannot read the schema version: %s", path,
		    sqlite3_errmsg(c->db));
		return sq_finish(c, st);
	}
	if (have > want) {
		say(why, whysz, "%s has schema version %d, newer than this inkan-rad knows (%d):"
		    " run a newer inkan-rad or restore a matching backup", path, have, want);
		return sq_finish(c, IK_ERR_STATE);
	}
	for (int v = have + 1; v <= want && st == IK_OK; v++) {
		sqlite3_stmt *q;

		if ((st = sq_exec_sql(c, ra_migrations[v - 1])) != IK_OK) {
			say(why, whysz, "%s: migration %s failed: %s", path, ra_migration_names[v - 1],
			    sqlite3_errmsg(c->db));
			break;
		}
		if ((st = sq_stmt(c, sql_insert, &q)) != IK_OK)
			break;
		sq_bind_i64(c, q, 1, v);
		sq_bind_text(c, q, 2, ra_migration_names[v - 1]);
		sq_bind_i64(c, q, 3, sq_now());
		st = sq_exec(c, q, NULL);
		sq_reset(q);
		if (st == IK_OK)
			ik_log(LOG_INFO, "store: %s: applied migration %s", path,
			    ra_migration_names[v - 1]);
	}
	st = sq_finish(c, st);
	if (st != IK_OK && why != NULL && why[0] == '\0')
		say(why, whysz, "%s: the schema update failed (%s)", path, ik_status_str(st));
	return st;
}

static ik_status set_wal(sq_conn *c, const char *path, char *why, size_t whysz)
{
	sqlite3_stmt *q;
	int row;
	char mode[16] = "";
	ik_status st = sq_stmt(c, "PRAGMA journal_mode = WAL", &q);

	if (st == IK_OK && (st = sq_step(c, q, &row)) == IK_OK && row)
		st = sq_col_text(q, 0, mode, sizeof(mode));
	sq_reset(q);
	if (st == IK_OK && strcmp(mode, "wal") != 0)
		st = IK_ERR_IO;
	if (st != IK_OK)
		say(why, whysz, "%s: cannot switch to WAL mode (%s)", path,
		    mode[0] != '\0' ? mode : sqlite3_errmsg(c->db));
	return st;
}

ik_status ra_store_open_why(const char *path, ra_store **out, char *why, size_t whysz)
{
	ra_store *s;
	sq_conn *c = NULL;
	ik_status st;

	*out = NULL;
	if (why != NULL && whysz > 0)
		why[0] = '\0';
	if (path == NULL || path[0] == '\0') {
		say(why, whysz, "no database path");
		return IK_ERR_ARG;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL || (s->path = strdup(path)) == NULL) {
		free(s);
		return IK_ERR_NOMEM;
	}
	if (pthread_key_create(&s->key, conn_release) != 0) {
		free(s->path);
		free(s);
		return IK_ERR_NOMEM;
	}
	pthread_mutex_init(&s->lock, NULL);
	pthread_mutex_init(&s->wlock, NULL);
	pthread_cond_init(&s->wfree, NULL);
	pthread_mutex_init(&s->glock, NULL);
	pthread_cond_init(&s->gdone, NULL);
	pthread_cond_init(&s->gwork, NULL);
	sq_ckpt_init(s);
	if ((st = conn_open(s, &c)) != IK_OK) {
		say(why, whysz, "%s: cannot open the database", path);
		goto fail;
	}
	if ((st = set_wal(c, path, why, whysz)) != IK_OK ||
	    (st = apply_migrations(c, path, why, whysz)) != IK_OK) {
		conn_close(c);
		goto fail;
	}
	if ((st = conn_adopt(s, c)) != IK_OK) {
		conn_close(c);
		goto fail;
	}
	*out = s;
	return IK_OK;
fail:
	sq_ckpt_stop(s); /* the migrations may have started it */
	sq_ckpt_destroy(s);
	pthread_key_delete(s->key);
	pthread_mutex_destroy(&s->lock);
	pthread_mutex_destroy(&s->wlock);
	pthread_cond_destroy(&s->wfree);
	pthread_mutex_destroy(&s->glock);
	pthread_cond_destroy(&s->gdone);
	pthread_cond_destroy(&s->gwork);
	free(s->path);
	free(s);
	return st;
}

ik_status ra_store_open(const char *path, ra_store **out)
{
	char why[512];
	ik_status st = ra_store_open_why(path, out, why, sizeof(why));

	if (st != IK_OK && why[0] != '\0')
		ik_log(LOG_ERR, "store: %s", why);
	return st;
}

void ra_store_close(ra_store *s)
{
	if (s == NULL)
		return;
	sq_add_committer_stop(s);
	sq_ckpt_stop(s);
	pthread_key_delete(s->key); /* no destructor runs for it any more */
	pthread_mutex_lock(&s->lock);
	while (s->conns != NULL) {
		sq_conn *c = s->conns;

		s->conns = c->next;
		if (c->depth > 0)
			ik_log(LOG_WARNING, "store: closing a connection inside a transaction"
			    " (rolled back)");
		conn_close(c);
	}
	pthread_mutex_unlock(&s->lock);
	pthread_mutex_destroy(&s->lock);
	pthread_mutex_destroy(&s->wlock);
	pthread_cond_destroy(&s->wfree);
	pthread_mutex_destroy(&s->glock);
	pthread_cond_destroy(&s->gdone);
	pthread_cond_destroy(&s->gwork);
	sq_ckpt_destroy(s);
	free(s->path);
	free(s);
}

ik_status ra_store_schema_version(ra_store *s, int *db_version, int *code)
{
	sq_conn *c = NULL;
	ik_status st = sq_get_conn(s, &c);

	*code = code_version();
	return st != IK_OK ? st : read_version(c, db_version);
}

ik_status sq_read_one(sq_conn *c, const char *sql, const int64_t *id, const char *text,
    sq_reader rd, void *out)
{
	sqlite3_stmt *q;
	int row;
	ik_status st = sq_stmt(c, sql, &q);

	if (st != IK_OK)
		return st;
	if (text != NULL)
		sq_bind_text(c, q, 1, text);
	else if (id != NULL)
		sq_bind_i64(c, q, 1, *id);
	if ((st = sq_step(c, q, &row)) == IK_OK)
		st = row ? rd(q, out) : IK_ERR_NOT_FOUND;
	sq_reset(q);
	return st;
}

ik_status sq_read_page(ra_store *s, const char *sql, const int64_t *v, int nv, size_t max,
    sq_reader rd, void *rows, size_t elem, size_t *n)
{
	sq_conn *c;
	sqlite3_stmt *q;
	int row = 1;
	ik_status st;

	*n = 0;
	if (max == 0 || max > INT32_MAX)
		return IK_ERR_ARG;
	if ((st = sq_prep(s, sql, &c, &q)) != IK_OK)
		return st;
	for (int i = 0; i < nv; i++)
		sq_bind_i64(c, q, i + 1, v[i]);
	sq_bind_i64(c, q, nv + 1, (int64_t)max);
	while ((st = sq_step(c, q, &row)) == IK_OK && row) {
		if ((st = rd(q, (uint8_t *)rows + *n * elem)) != IK_OK)
			break;
		(*n)++;
	}
	sq_reset(q);
	return st;
}

int sq_name_index(const char *const *names, int lo, int hi, const char *name)
{
	for (int i = lo; i <= hi; i++)
		if (name != NULL && strcmp(names[i], name) == 0)
			return i;
	return 0;
}

ik_status sq_count_states(ra_store *s, const char *sql, const char *const *names, int lo,
    int hi, uint64_t *counts)
{
	sq_conn *c;
	sqlite3_stmt *q;
	char state[32];
	int row = 1, i;
	ik_status st;

	memset(counts, 0, sizeof(uint64_t) * (size_t)(hi + 1));
	if ((st = sq_prep(s, sql, &c, &q)) != IK_OK)
		return st;
	while ((st = sq_step(c, q, &row)) == IK_OK && row) {
		if ((st = sq_col_text(q, 0, state, sizeof(state))) != IK_OK)
			break;
		if ((i = sq_name_index(names, lo, hi, state)) == 0) {
			st = IK_ERR_IO;
			break;
		}
		counts[i] = (uint64_t)sq_col_i64(q, 1);
	}
	sq_reset(q);
	return st;
}
