/* signer_client: a pool of persistent connections to inkan-signerd.  Each call borrows a
 * connection, runs one request/reply (or a pipelined group of ISSUEs), and gives it back; a
 * broken connection is closed and replaced (idempotent verbs are retried once on a fresh
 * one). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "signer_client.h"

#define RA_SIGNER_MAX_POOL 24

struct ra_signer {
	char path[108];
	unsigned n;
	int fd[RA_SIGNER_MAX_POOL];   /* -1 = not connected */
	int busy[RA_SIGNER_MAX_POOL];
	pthread_mutex_t lock;
	pthread_cond_t cond;
};

ik_status ra_signer_new(const char *socket_path, unsigned pool, ra_signer **out)
{
	ra_signer *s;

	*out = NULL;
	if (pool == 0 || pool > RA_SIGNER_MAX_POOL || strlen(socket_path) >= sizeof(s->path))
		return IK_ERR_ARG;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return IK_ERR_NOMEM;
	memcpy(s->path, socket_path, strlen(socket_path) + 1);
	s->n = pool;
	for (unsigned i = 0; i < pool; i++)
		s->fd[i] = -1;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	*out = s;
	return IK_OK;
}

void ra_signer_free(ra_signer *s)
{
	if (s == NULL)
		return;
	for (unsigned i = 0; i < s->n; i++)
		if (s->fd[i] >= 0)
			close(s->fd[i]);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->cond);
	free(s);
}

static unsigned acquire(ra_signer *s)
{
	pthread_mutex_lock(&s->lock);
	for (;;) {
		for (unsigned i = 0; i < s->n; i++) {
			if (!s->busy[i]) {
				s->busy[i] = 1;
				pthread_mutex_unlock(&s->lock);
				return i;
			}
		}
		pthread_cond_wait(&s->cond, &s->lock);
	}
}

static void release(ra_signer *s, unsigned i)
{
	pthread_mutex_lock(&s->lock);
	s->busy[i] = 0;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

static ik_status connect_hello(ra_signer *s, unsigned i)
{
	proto_hello m = { .version_min = PROTO_VERSION, .version_max = PROTO_VERSION };
	proto_hello_reply r;
	ik_buf req, rep;
	ik_status st;
	int fd;

	if ((st = proto_connect(s->path, &fd)) != IK_OK)
		return st;
	snprintf(m.peer, sizeof(m.peer), "inkan-rad");
	ik_buf_init(&req, 0);
	ik_buf_init(&rep, 0);
	st = proto_encode_hello(&req, &m);
	if (st == IK_OK)
		st = proto_call(fd, PROTO_HELLO, &req, &rep, NULL);
	if (st == IK_OK)
		st = proto_decode_hello_reply(ik_buf_ptr(&rep), ik_buf_remaining(&rep), &r);
	ik_buf_cleanup(&req);
	ik_buf_cleanup(&rep);
	if (st != IK_OK) {
		close(fd);
		return st;
	}
	s->fd[i] = fd;
	return IK_OK;
}

static int transport_failure(ik_status st)
{
	return st == IK_ERR_IO || st == IK_ERR_PROTO_CLOSED || st == IK_ERR_PROTO_TRUNCATED;
}

ik_status ra_signer_call(ra_signer *s, uint16_t type, const ik_buf *req, ik_buf *reply,
    proto_error *err)
{
	/* revocation events are not retried blindly: the first attempt may have landed */
	int tries = (type == PROTO_REVOKE || type == PROTO_HOLD || type == PROTO_RELEASE) ? 1 : 2;
	unsigned i = acquire(s);
	ik_status st = IK_ERR_IO;

	for (int t = 0; t < tries; t++) {
		if (s->fd[i] < 0 && (st = connect_hello(s, i)) != IK_OK)
			break;
		st = proto_call(s->fd[i], type, req, reply, err);
		if (!transport_failure(st)) {
			/* after a reply that did not fit the request (wrong id or type) the stream
			 * may hold a late answer: never reuse it */
			if (st >= IK_ERR_PROTO_VERSION && st <= IK_ERR_PROTO_CLOSED) {
				close(s->fd[i]);
				s->fd[i] = -1;
			}
			break;
		}
		close(s->fd[i]);
		s->fd[i] = -1;
	}
	release(s, i);
	return st;
}

ik_status ra_signer_issue(ra_signer *s, const proto_issue *m, ik_buf *reply,
    proto_issue_reply *r, proto_error *err)
{
	ik_buf req;
	ik_status st;

	ik_buf_init(&req, PROTO_MAX_REQUEST);
	st = proto_encode_issue(&req, m);
	if (st == IK_OK)
		st = ra_signer_call(s, PROTO_ISSUE, &req, reply, err);
	if (st == IK_OK)
		st = proto_decode_issue_reply(ik_buf_ptr(reply), ik_buf_remaining(reply), r);
	ik_buf_cleanup(&req);
	return st;
}

ik_status ra_signer_event(ra_signer *s, uint16_t type, const proto_revoke *m,
    proto_revoke_reply *r, proto_error *err)
{
	ik_buf req, rep;
	ik_status st;

	if (type != PROTO_REVOKE && type != PROTO_HOLD && type != PROTO_RELEASE)
		return IK_ERR_ARG;
	ik_buf_init(&req, PROTO_MAX_REQUEST);
	ik_buf_init(&rep, 0);
	st = proto_encode_revoke(&req, m);
	if (st == IK_OK)
		st = ra_signer_call(s, type, &req, &rep, err);
	if (st == IK_OK)
		st = proto_decode_revoke_reply(ik_buf_ptr(&rep), ik_buf_remaining(&rep), r);
	ik_buf_cleanup(&req);
	ik_buf_cleanup(&rep);
	return st;
}

static ik_status call_empty(ra_signer *s, uint16_t type, ik_buf *reply, proto_error *err)
{
	ik_buf req;
	ik_status st;

	ik_buf_init(&req, 0);
	st = ra_signer_call(s, type, &req, reply, err);
	ik_buf_cleanup(&req);
	return st;
}

ik_status ra_signer_crl(ra_signer *s, ik_buf *reply, proto_crl_reply *r, proto_error *err)
{
	ik_status st = call_empty(s, PROTO_GET_CRL, reply, err);

	return st == IK_OK ? proto_decode_crl_reply(ik_buf_ptr(reply), ik_buf_remaining(reply), r) : st;
}

ik_status ra_signer_chain(ra_signer *s, ik_buf *reply, proto_chain_reply *r, proto_error *err)
{
	ik_status st = call_empty(s, PROTO_GET_CHAIN, reply, err);

	return st == IK_OK ? proto_decode_chain_reply(ik_buf_ptr(reply), ik_buf_remaining(reply), r) : st;
}

ik_status ra_signer_status(ra_signer *s, proto_status_reply *r, proto_error *err)
{
	ik_buf rep;
	ik_status st;

	ik_buf_init(&rep, 0);
	st = call_empty(s, PROTO_STATUS, &rep, err);
	if (st == IK_OK)
		st = proto_decode_status_reply(ik_buf_ptr(&rep), ik_buf_remaining(&rep), r);
	ik_buf_cleanup(&rep);
	return st;
}

/* ---- pipelined ISSUE: n requests written at once, n replies matched by id ---- */

static void drop_conn(ra_signer *s, unsigned i)
{
	close(s->fd[i]);
	s->fd[i] = -1;
}

/* Writes every request of g still without an answer as one stream of frames (ids 1..n). */
static ik_status pipe_send(int fd, const ra_signer_group *g, const uint8_t *got,
    ik_buf *out)
{
	ik_status st = IK_OK;

	ik_buf_reset(out);
	for (size_t k = 0; k < g->n && st == IK_OK; k++) {
		uint8_t hdr[PROTO_HDR_LEN];
		proto_header h = { .version = PROTO_VERSION, .type = PROTO_ISSUE,
			.id = (uint32_t)(k + 1) };
		size_t len = ik_buf_remaining(&g->req[k]);

		if (got[k])
			continue;
		h.len = (uint32_t)len;
		proto_header_encode(hdr, &h);
		if ((st = ik_buf_put(out, hdr, sizeof(hdr))) == IK_OK)
			st = ik_buf_put(out, ik_buf_ptr(&g->req[k]), len);
	}
	if (st != IK_OK)
		return st;
	/* one write: blocking, and the signer reads while it answers, so it cannot stall
	 * against our reading (the group is far below its per-connection limit) */
	return proto_write(fd, ik_buf_ptr(out), ik_buf_remaining(out));
}

/* One reply of the group: its slot by id, its status and decoded body. */
static ik_status pipe_recv_one(int fd, ra_signer_group *g, uint8_t *got, ik_buf *body)
{
	proto_header h;
	proto_error e;
	size_t k;
	ik_status st = proto_recv(fd, PROTO_MAX_REPLY, &h, body);

	if (st != IK_OK)
		return st;
	if (h.id == 0 || h.id > g->n || got[h.id - 1])
		return IK_ERR_PROTO_FIELD; /* not one we are waiting for: the stream is lost */
	k = h.id - 1;
	got[k] = 1;
	memset(&g->err[k], 0, sizeof(g->err[k]));
	if (h.type == PROTO_ERROR) {
		if (proto_decode_error(ik_buf_ptr(body), ik_buf_remaining(body), &e) != IK_OK ||
		    e.status == IK_OK)
			return IK_ERR_PROTO_FIELD;
		g->err[k] = e;
		g->st[k] = (ik_status)e.status;
		return IK_OK;
	}
	if (h.type != (PROTO_ISSUE | PROTO_REPLY))
		return IK_ERR_PROTO_FIELD;
	/* keep the body: the decoded reply borrows from it */
	ik_buf_reset(&g->reply[k]);
	if ((st = ik_buf_put(&g->reply[k], ik_buf_ptr(body), ik_buf_remaining(body))) != IK_OK)
		return st;
	g->st[k] = proto_decode_issue_reply(ik_buf_ptr(&g->reply[k]),
	    ik_buf_remaining(&g->reply[k]), &g->rep[k]);
	if (g->st[k] != IK_OK)
		snprintf(g->err[k].detail, sizeof(g->err[k].detail), "malformed ISSUE reply");
	return IK_OK;
}

static size_t pipe_waiting(const ra_signer_group *g, const uint8_t *got)
{
	size_t w = 0;

	for (size_t k = 0; k < g->n; k++)
		w += !got[k];
	return w;
}

ik_status ra_signer_issue_group(ra_signer *s, ra_signer_group *g)
{
	uint8_t *got;
	unsigned i;
	ik_buf frames, body;
	ik_status st = IK_ERR_IO;

	if (g->n == 0 || g->n > RA_SIGNER_GROUP_MAX)
		return IK_ERR_ARG;
	if ((got = calloc(g->n, 1)) == NULL)
		return IK_ERR_NOMEM;
	ik_buf_init(&frames, 0);
	ik_buf_init(&body, 0);
	i = acquire(s);
	/* a connection lost midway: what has no answer yet is sent once more on a fresh one
	 * (ISSUE is idempotent per request id: a repeat gets the same certificate) */
	for (int t = 0; t < 2; t++) {
		if (s->fd[i] < 0 && (st = connect_hello(s, i)) != IK_OK)
			break;
		st = pipe_send(s->fd[i], g, got, &frames);
		for (size_t w = pipe_waiting(g, got); st == IK_OK && w > 0; w--)
			st = pipe_recv_one(s->fd[i], g, got, &body);
		if (st == IK_OK)
			break;
		drop_conn(s, i);
		if (!transport_failure(st))
			break; /* a reply that fits no request: do not send again blindly */
	}
	release(s, i);
	for (size_t k = 0; k < g->n; k++) {
		if (got[k])
			continue;
		g->st[k] = st != IK_OK ? st : IK_ERR_IO;
		memset(&g->err[k], 0, sizeof(g->err[k]));
	}
	st = pipe_waiting(g, got) == 0 ? IK_OK : st;
	free(got);
	ik_buf_cleanup(&frames);
	ik_buf_cleanup(&body);
	return st;
}

ik_status ra_signer_profiles(ra_signer *s, proto_profiles_reply *r, proto_error *err)
{
	ik_buf rep;
	ik_status st;

	ik_buf_init(&rep, 0);
	st = call_empty(s, PROTO_PROFILES, &rep, err);
	if (st == IK_OK)
		st = proto_decode_profiles_reply(ik_buf_ptr(&rep), ik_buf_remaining(&rep), r);
	ik_buf_cleanup(&rep);
	return st;
}
