/* signer_client: a pool of persistent connections to inkan-signerd.  Each call borrows a
 * connection, runs one request/reply, and gives it back; a broken connection is closed and
 * replaced (idempotent verbs are retried once on a fresh one). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "signer_client.h"

#define RA_SIGNER_MAX_POOL 16

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
