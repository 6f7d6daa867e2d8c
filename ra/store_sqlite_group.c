/* store_sqlite_group: the group commit of new requests (ra_store_request_add and its
 * asynchronous form): the callers of the same moment share one durable transaction, led by
 * one of them or by the store's committer thread. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "log.h"
#include "store_sqlite_conn.h"

/* ---- group commit of new requests ----
 * Each HTTP request that queues something used to be one durable transaction of its own,
 * one fdatasync each, taken in turn.  Now the requests of the same moment queue here and
 * one thread at a time (the leader) takes what has gathered (up to ADD_GROUP_MAX), adds
 * them in one transaction (a refused one undone alone: add_group_run), commits it durably
 * and hands each its outcome; meanwhile the next requests gather for the next group.  A synchronous caller
 * (ra_store_request_add) waits, and leads when nobody does; an asynchronous one
 * (ra_store_request_add_async: the HTTP thread has suspended its connection and gone on)
 * is committed by the store's committer thread, or by a synchronous leader, and its
 * callback runs after the commit.  Nobody is answered before the commit that holds its
 * row. */

#define ADD_GROUP_MAX 64

struct sq_add_job {
	const ra_request_new *r;
	const ra_hist *h;
	ra_request *out;
	ik_status st;
	int done;
	ra_store_add_done cb;   /* async: called once committed (or failed), then freed */
	void *ctx;
	sq_add_job *next;
};

/* ---- the group's CN search rows ---- */

static const char SQL_FTS_ADD_GROUP[] =
    "INSERT INTO certs_cn_fts(rowid, cn) SELECT id, cn FROM certificates"
    " WHERE id IN (SELECT value FROM json_each(?1))";

int sq_cert_fts_deferring(const sq_conn *c)
{
	return c->fts_defer && c->fts_n < SQ_FTS_DEFER_MAX;
}

ik_status sq_cert_fts_defer(sq_conn *c, int64_t id)
{
	if (!sq_cert_fts_deferring(c))
		return IK_ERR_STATE;
	c->fts_ids[c->fts_n++] = id;
	return IK_OK;
}

/* The gathered certificates' CN search rows, in one statement (one FTS5 segment). */
static ik_status fts_flush(sq_conn *c)
{
	char ids[SQ_FTS_DEFER_MAX * 22 + 3];
	size_t off = 1;
	int64_t changes = 0;
	sqlite3_stmt *q;
	ik_status st;

	if (c->fts_n == 0)
		return IK_OK;
	ids[0] = '[';
	for (size_t i = 0; i < c->fts_n; i++)
		off += (size_t)snprintf(ids + off, sizeof(ids) - off, "%s%lld", i > 0 ? "," : "",
		    (long long)c->fts_ids[i]);
	snprintf(ids + off, sizeof(ids) - off, "]");
	if ((st = sq_stmt(c, SQL_FTS_ADD_GROUP, &q)) != IK_OK)
		return st;
	sq_bind_text(c, q, 1, ids);
	st = sq_exec(c, q, &changes);
	sq_reset(q);
	if (st == IK_OK && changes != (int64_t)c->fts_n)
		st = IK_ERR_INTERNAL; /* a certificate of the group missing: keep none */
	c->fts_n = 0;
	return st;
}

/* One transaction for the group, one durable commit.  with_savepoints: each request in its
 * own savepoint, so that a refused one is undone alone; without: the first refusal rolls
 * everything back and returns IK_ERR_BUSY (the group is then run again with them).  The new
 * certificates' CN search rows are added last, together (sq_cert_fts_defer). */
static ik_status add_group_tx(ra_store *s, sq_conn *c, sq_add_job *jobs, int with_savepoints)
{
	ik_status tx = sq_begin(c);

	c->fts_n = 0;
	c->fts_defer = tx == IK_OK;
	for (sq_add_job *j = jobs; j != NULL; j = j->next) {
		size_t mark = c->fts_n;

		if ((j->st = tx) != IK_OK)
			continue;
		if (!with_savepoints) {
			if ((j->st = sq_request_add_tx(s, c, j->r, j->h, j->out)) != IK_OK) {
				c->fts_defer = 0;
				(void)sq_rollback(c);
				return IK_ERR_BUSY;
			}
			continue;
		}
		if ((j->st = sq_begin(c)) == IK_OK)
			j->st = sq_finish(c, sq_request_add_tx(s, c, j->r, j->h, j->out));
		if (j->st != IK_OK)
			c->fts_n = mark; /* its certificate was undone with it */
	}
	c->fts_defer = 0;
	if (tx != IK_OK)
		return IK_OK;
	/* a commit that fails leaves none of them: each one answered with the error */
	if ((tx = fts_flush(c)) != IK_OK)
		(void)sq_rollback(c);
	else
		tx = sq_commit(c);
	if (tx != IK_OK)
		for (sq_add_job *j = jobs; j != NULL; j = j->next)
			if (j->st == IK_OK)
				j->st = tx;
	return IK_OK;
}

/* The leader's work.  A savepoint makes SQLite keep a copy of every page the request
 * changes, about as costly as the request's own statements, and nearly every request is
 * accepted: so the group is first tried without them, and only when one is refused run
 * again with one per request.  A group of one needs none: its refusal is the group's. */
static void add_group_run(ra_store *s, sq_conn *c, sq_add_job *jobs)
{
	if (add_group_tx(s, c, jobs, 0) == IK_ERR_BUSY && jobs->next != NULL)
		(void)add_group_tx(s, c, jobs, 1);
}

/* Under glock: detaches the oldest waiting requests, at most ADD_GROUP_MAX. */
static sq_add_job *add_group_take(ra_store *s, size_t *n)
{
	sq_add_job *first = s->ghead, *last = first;

	*n = 1;
	while (last->next != NULL && *n < ADD_GROUP_MAX) {
		last = last->next;
		(*n)++;
	}
	s->ghead = last->next;
	if (s->ghead == NULL)
		s->gtail = NULL;
	last->next = NULL;
	return first;
}

/* Under glock, with requests waiting and no leader: commits one group on c (or, c NULL,
 * fails it with cst) and hands out the outcomes; returns with glock held again. */
static void add_group_lead(ra_store *s, sq_conn *c, ik_status cst)
{
	sq_add_job *group, *next, *async = NULL, **tail = &async;
	size_t n;

	s->gleader = 1;
	group = add_group_take(s, &n);
	pthread_mutex_unlock(&s->glock);
	if (c != NULL)
		add_group_run(s, c, group);
	else
		for (sq_add_job *j = group; j != NULL; j = j->next)
			j->st = cst;
	pthread_mutex_lock(&s->glock);
	for (sq_add_job *j = group; j != NULL; j = next) {
		next = j->next; /* a synchronous j belongs to its caller once done is set */
		if (j->cb != NULL) {
			*tail = j;
			tail = &j->next;
			j->next = NULL;
		} else {
			j->done = 1;
		}
	}
	s->gleader = 0;
	s->gcommits++;
	s->gadded += n;
	pthread_cond_broadcast(&s->gdone);
	if (s->ghead != NULL)
		pthread_cond_signal(&s->gwork);
	if (async == NULL)
		return;
	pthread_mutex_unlock(&s->glock);
	for (sq_add_job *j = async; j != NULL; j = next) {
		next = j->next;
		j->cb(j->ctx, j->st);
		free(j);
	}
	pthread_mutex_lock(&s->glock);
}

ik_status ra_store_request_add(ra_store *s, const ra_request_new *r, const ra_hist *h,
    ra_request *out)
{
	sq_add_job job = { .r = r, .h = h, .out = out, .st = IK_OK };
	sq_conn *c;
	ik_status st;

	if ((st = sq_get_conn(s, &c)) != IK_OK)
		return st;
	if (c->depth > 0) { /* part of the caller's transaction */
		if ((st = sq_begin(c)) != IK_OK)
			return st;
		return sq_finish(c, sq_request_add_tx(s, c, r, h, out));
	}
	pthread_mutex_lock(&s->glock);
	if (s->gtail != NULL)
		s->gtail->next = &job;
	else
		s->ghead = &job;
	s->gtail = &job;
	while (!job.done) {
		if (s->gleader)
			pthread_cond_wait(&s->gdone, &s->glock);
		else
			add_group_lead(s, c, IK_OK);
	}
	pthread_mutex_unlock(&s->glock);
	return job.st;
}

/* The committer thread: leads a group whenever asynchronous requests wait and nobody
 * else does; leaves once stopped with nothing left. */
static void *add_committer(void *arg)
{
	ra_store *s = arg;
	sq_conn *c = NULL;
	ik_status st = IK_OK;

	pthread_mutex_lock(&s->glock);
	for (;;) {
		if (s->ghead != NULL && !s->gleader) {
			if (c == NULL) {
				pthread_mutex_unlock(&s->glock);
				st = sq_get_conn(s, &c);
				pthread_mutex_lock(&s->glock);
				if (s->ghead == NULL || s->gleader)
					continue;
			}
			add_group_lead(s, c, st);
			continue;
		}
		if (s->gstop && s->ghead == NULL && !s->gleader)
			break;
		pthread_cond_wait(&s->gwork, &s->glock);
	}
	pthread_mutex_unlock(&s->glock);
	return NULL;
}

ik_status ra_store_request_add_async(ra_store *s, const ra_request_new *r, const ra_hist *h,
    ra_request *out, ra_store_add_done done, void *ctx)
{
	sq_add_job *j;
	sq_conn *c;
	ik_status st = IK_OK;

	if (done == NULL)
		return IK_ERR_ARG;
	if ((st = sq_get_conn(s, &c)) != IK_OK)
		return st;
	if (c->depth > 0) /* the caller's transaction could not hold it */
		return IK_ERR_STATE;
	if ((j = calloc(1, sizeof(*j))) == NULL)
		return IK_ERR_NOMEM;
	*j = (sq_add_job){ .r = r, .h = h, .out = out, .cb = done, .ctx = ctx };
	pthread_mutex_lock(&s->glock);
	if (s->gstop)
		st = IK_ERR_STATE;
	else if (!s->gthread_on && pthread_create(&s->gthread, NULL, add_committer, s) != 0)
		st = IK_ERR_NOMEM;
	else if (!s->gthread_on)
		(void)pthread_setname_np(s->gthread, "ra-commit");
	if (st == IK_OK) {
		s->gthread_on = 1;
		if (s->gtail != NULL)
			s->gtail->next = j;
		else
			s->ghead = j;
		s->gtail = j;
		pthread_cond_signal(&s->gwork);
	}
	pthread_mutex_unlock(&s->glock);
	if (st != IK_OK)
		free(j);
	return st;
}

void sq_add_committer_stop(ra_store *s)
{
	int on;

	pthread_mutex_lock(&s->glock);
	s->gstop = 1;
	on = s->gthread_on;
	if (s->gadded > 0)
		ik_log(LOG_INFO, "store: %llu new requests in %llu group commits",
		    (unsigned long long)s->gadded, (unsigned long long)s->gcommits);
	pthread_cond_broadcast(&s->gwork);
	pthread_mutex_unlock(&s->glock);
	if (on)
		pthread_join(s->gthread, NULL);
}

void ra_store_request_add_stats(ra_store *s, uint64_t *commits, uint64_t *requests)
{
	pthread_mutex_lock(&s->glock);
	*commits = s->gcommits;
	*requests = s->gadded;
	pthread_mutex_unlock(&s->glock);
}
