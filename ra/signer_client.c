/* signer_client: a pool of persistent connections to inkan-signerd.  Each call borrows a
 * connection, runs one request/reply (or a pipelined group of ISSUEs) under one deadline
 * (from the start of the call: the wait for a connection and connect() included), and
 * gives it back; a broken connection is closed and replaced (idempotent verbs are
 * retried once on a fresh one, within the same deadline). */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "signer_client.h"
#include "signer_io.h"

#define RA_SIGNER_MAX_POOL 24

struct ra_signer {
	char path[108];
	unsigned n;
	int fd[RA_SIGNER_MAX_POOL];   /* -1 = not connected */
	int busy[RA_SIGNER_MAX_POOL];
	unsigned timeout;             /* seconds a whole call may take */
	unsigned crl_timeout;         /* the same for GET_CRL */
	pthread_mutex_t lock;
	pthread_cond_t cond;
};

ik_status ra_signer_new(const char *socket_path, unsigned pool, ra_signer **out)
{
	ra_signer *s;
	pthread_condattr_t ca;

	*out = NULL;
	if (pool == 0 || pool > RA_SIGNER_MAX_POOL || strlen(socket_path) >= sizeof(s->path))
		return IK_ERR_ARG;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return IK_ERR_NOMEM;
	memcpy(s->path, socket_path, strlen(socket_path) + 1);
	s->n = pool;
	s->timeout = RA_SIGNER_TIMEOUT_DEFAULT;
	s->crl_timeout = RA_SIGNER_CRL_TIMEOUT_DEFAULT;
	for (unsigned i = 0; i < pool; i++)
		s->fd[i] = -1;
	pthread_mutex_init(&s->lock, NULL);
	/* waits for a free connection end at a call's deadline: CLOCK_MONOTONIC, as its */
	if (pthread_condattr_init(&ca) != 0 ||
	    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
	    pthread_cond_init(&s->cond, &ca) != 0) {
		pthread_mutex_destroy(&s->lock);
		free(s);
		return IK_ERR_INTERNAL;
	}
	pthread_condattr_destroy(&ca);
	*out = s;
	return IK_OK;
}

void ra_signer_set_timeouts(ra_signer *s, unsigned call_s, unsigned crl_s)
{
	pthread_mutex_lock(&s->lock);
	s->timeout = call_s > 0 ? call_s : RA_SIGNER_TIMEOUT_DEFAULT;
	s->crl_timeout = crl_s > 0 ? crl_s : RA_SIGNER_CRL_TIMEOUT_DEFAULT;
	pthread_mutex_unlock(&s->lock);
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

/* A free connection of the pool into *i, waiting for one at most until the call's
 * deadline (then IK_ERR_IO with dl->expired set).  A wait that timed out looks once more:
 * a release's signal it took is not lost to the other waiters. */
static ik_status acquire(ra_signer *s, ra_deadline *dl, unsigned *i)
{
	int timed_out = 0;

	pthread_mutex_lock(&s->lock);
	for (;;) {
		for (unsigned k = 0; k < s->n; k++) {
			if (!s->busy[k]) {
				s->busy[k] = 1;
				pthread_mutex_unlock(&s->lock);
				*i = k;
				return IK_OK;
			}
		}
		if (timed_out)
			break;
		timed_out = pthread_cond_timedwait(&s->cond, &s->lock, &dl->at) == ETIMEDOUT;
	}
	pthread_mutex_unlock(&s->lock);
	dl->expired = 1;
	return IK_ERR_IO;
}

static void release(ra_signer *s, unsigned i)
{
	pthread_mutex_lock(&s->lock);
	s->busy[i] = 0;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

/* ---- deadlines: a call (the HELLO of a fresh connection and a resend on another one
 * included) ends within its setting's seconds however the signer dribbles its answer
 * (signer_io.c).  The connection is then closed: an answer that comes late must never be
 * read as the answer to the next request. ---- */

/* The call's deadline, taken when the call starts: the wait for a free connection, the
 * connect() and HELLO of a fresh one and the whole exchange all count against it. */
static void call_deadline(ra_signer *s, int crl, ra_deadline *d)
{
	unsigned secs;

	pthread_mutex_lock(&s->lock);
	secs = crl ? s->crl_timeout : s->timeout;
	pthread_mutex_unlock(&s->lock);
	ra_deadline_start(d, secs, crl ? "signer_crl_timeout" : "signer_timeout");
}

/* What the call was doing when its deadline passed, for the timeout's detail. */
#define LATE_ANSWER "its connection was closed"
#define LATE_POOL "no connection to it came free"
#define LATE_CONNECT "it did not take the connection"

/* The timeout's error for the caller (the queue records the detail as the last error). */
static ik_status timeout_error(const ra_deadline *d, proto_error *err, const char *what)
{
	if (err != NULL) {
		err->status = IK_ERR_IO;
		snprintf(err->detail, sizeof(err->detail), "the signer did not answer within %u s "
		    "(%s); %s", d->secs, d->setting, what);
	}
	return IK_ERR_IO;
}

void ra_signer_deadline(ra_signer *s, int crl, ra_deadline *d)
{
	call_deadline(s, crl, d);
}

static ik_status connect_hello(ra_signer *s, unsigned i, ra_deadline *dl, proto_error *err)
{
	proto_hello m = { .version_min = PROTO_VERSION, .version_max = PROTO_VERSION };
	proto_hello_reply r;
	ik_buf req, rep;
	ik_status st;
	int fd;

	if ((st = ra_sio_connect(s->path, &fd, dl)) != IK_OK)
		return dl->expired ? timeout_error(dl, err, LATE_CONNECT) : st;
	snprintf(m.peer, sizeof(m.peer), "inkan-rad");
	ik_buf_init(&req, 0);
	ik_buf_init(&rep, 0);
	st = proto_encode_hello(&req, &m);
	if (st == IK_OK)
		st = ra_sio_call(fd, PROTO_HELLO, &req, &rep, NULL, dl);
	if (st == IK_OK)
		st = proto_decode_hello_reply(ik_buf_ptr(&rep), ik_buf_remaining(&rep), &r);
	ik_buf_cleanup(&req);
	ik_buf_cleanup(&rep);
	if (st != IK_OK) {
		close(fd);
		return dl->expired ? timeout_error(dl, err, LATE_ANSWER) : st;
	}
	s->fd[i] = fd;
	return IK_OK;
}

static void drop_conn(ra_signer *s, unsigned i)
{
	close(s->fd[i]);
	s->fd[i] = -1;
}

static int transport_failure(ik_status st)
{
	return st == IK_ERR_IO || st == IK_ERR_PROTO_CLOSED || st == IK_ERR_PROTO_TRUNCATED;
}

/* ra_signer_call under the deadline dl. */
static ik_status call_by(ra_signer *s, uint16_t type, const ik_buf *req, ik_buf *reply,
    proto_error *err, ra_deadline *dl)
{
	/* revocation events are not retried blindly: the first attempt may have landed */
	int tries = (type == PROTO_REVOKE || type == PROTO_HOLD || type == PROTO_RELEASE) ? 1 : 2;
	unsigned i;
	ik_status st = IK_ERR_IO;

	if (acquire(s, dl, &i) != IK_OK)
		return timeout_error(dl, err, LATE_POOL);
	for (int t = 0; t < tries; t++) {
		if (s->fd[i] < 0 && (st = connect_hello(s, i, dl, err)) != IK_OK)
			break;
		st = ra_sio_call(s->fd[i], type, req, reply, err, dl);
		if (dl->expired) {
			/* not sent again: the deadline is the whole call's */
			drop_conn(s, i);
			st = timeout_error(dl, err, LATE_ANSWER);
			break;
		}
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

ik_status ra_signer_call(ra_signer *s, uint16_t type, const ik_buf *req, ik_buf *reply,
    proto_error *err)
{
	ra_deadline dl;

	call_deadline(s, 0, &dl);
	return call_by(s, type, req, reply, err, &dl);
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

/* ---- GET_CRL into a file: the CRL's bytes go from the socket to the file a piece at a
 * time, so a CRL of a million entries (~48 MB) never sits in the RA's memory ---- */

#define CRL_HEAD_LEN 28u           /* crl_number, this_update, next_update, crl_len */
#define CRL_PIECE (256u * 1024u)
#define CRL_ERROR_MAX (64u * 1024u) /* an ERROR reply's body */

static ik_status write_file(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return IK_ERR_IO; /* the file, not the connection: reported as such below */
		p += w;
		n -= (size_t)w;
	}
	return IK_OK;
}

/* An ERROR frame's body: the signer's status and detail. */
static ik_status recv_error(int sock, size_t len, proto_error *err, ra_deadline *dl)
{
	uint8_t *body;
	proto_error e;
	ik_status st;

	if (len > CRL_ERROR_MAX)
		return IK_ERR_PROTO_OVERSIZE;
	if ((body = malloc(len > 0 ? len : 1)) == NULL)
		return IK_ERR_NOMEM;
	if ((st = ra_sio_read(sock, body, len, dl)) == IK_OK) {
		st = proto_decode_error(body, len, &e) != IK_OK || e.status == IK_OK ?
		    IK_ERR_PROTO_FIELD : (ik_status)e.status;
		if (st != IK_ERR_PROTO_FIELD && err != NULL)
			*err = e;
	}
	free(body);
	return st;
}

/* The reply's fixed head: the CRL's number and times, and its length (the rest of the
 * frame, never 0). */
static ik_status recv_crl_head(int sock, size_t frame_len, proto_crl_reply *r,
    ra_deadline *dl)
{
	uint8_t head[CRL_HEAD_LEN];
	uint32_t n = 0;
	ik_buf b;
	ik_status st;

	if (frame_len <= CRL_HEAD_LEN)
		return IK_ERR_PROTO_FIELD;
	if ((st = ra_sio_read(sock, head, sizeof(head), dl)) != IK_OK)
		return st;
	ik_buf_view(&b, head, sizeof(head));
	if (ik_buf_get_u64(&b, &r->crl_number) != IK_OK ||
	    ik_buf_get_u64(&b, &r->this_update) != IK_OK ||
	    ik_buf_get_u64(&b, &r->next_update) != IK_OK || ik_buf_get_u32(&b, &n) != IK_OK ||
	    n == 0 || (size_t)n != frame_len - CRL_HEAD_LEN)
		return IK_ERR_PROTO_FIELD;
	r->crl = NULL;
	r->crl_len = n;
	return IK_OK;
}

/* Whose a failure of crl_exchange was. */
enum { CRL_FAIL_STREAM, CRL_FAIL_FILE, CRL_FAIL_REFUSED };

/* One GET_CRL on a connected socket; *who says whose a failure was. */
static ik_status crl_exchange(int sock, int fd, uint8_t *piece, proto_crl_reply *r,
    proto_error *err, int *who, ra_deadline *dl)
{
	static atomic_uint next_id = 1;
	uint32_t id = atomic_fetch_add(&next_id, 1) | 0x80000000u; /* not ra_sio_call's ids */
	uint8_t hdr[PROTO_HDR_LEN];
	proto_header h;
	ik_status st;

	*who = CRL_FAIL_STREAM;
	if ((st = ra_sio_send(sock, PROTO_GET_CRL, id, NULL, 0, dl)) != IK_OK ||
	    (st = ra_sio_read(sock, hdr, sizeof(hdr), dl)) != IK_OK)
		return st == IK_ERR_PROTO_TRUNCATED ? IK_ERR_PROTO_CLOSED : st;
	if ((st = proto_header_decode(hdr, PROTO_MAX_REPLY, &h)) != IK_OK)
		return st;
	if (h.id != id && !(h.type == PROTO_ERROR && h.id == 0))
		return IK_ERR_PROTO_FIELD;
	if (h.type == PROTO_ERROR) {
		st = recv_error(sock, h.len, err, dl);
		if (st != IK_ERR_PROTO_FIELD && st != IK_ERR_PROTO_OVERSIZE && !transport_failure(st))
			*who = CRL_FAIL_REFUSED;
		return st;
	}
	if (h.type != (PROTO_GET_CRL | PROTO_REPLY))
		return IK_ERR_PROTO_FIELD;
	if ((st = recv_crl_head(sock, h.len, r, dl)) != IK_OK)
		return st;
	for (size_t left = r->crl_len; left > 0;) {
		size_t k = left < CRL_PIECE ? left : CRL_PIECE;
		if ((st = ra_sio_read(sock, piece, k, dl)) != IK_OK)
			return st;
		if ((st = write_file(fd, piece, k)) != IK_OK) {
			*who = CRL_FAIL_FILE;
			return st;
		}
		left -= k;
	}
	return IK_OK;
}

ik_status ra_signer_crl_file_by(ra_signer *s, int fd, proto_crl_reply *r, proto_error *err,
    ra_deadline *dl)
{
	uint8_t *piece;
	unsigned i;
	int who = CRL_FAIL_STREAM;
	ik_status st = IK_ERR_IO;

	memset(r, 0, sizeof(*r));
	if ((piece = malloc(CRL_PIECE)) == NULL)
		return IK_ERR_NOMEM;
	if (acquire(s, dl, &i) != IK_OK) {
		free(piece);
		return timeout_error(dl, err, LATE_POOL);
	}
	for (int t = 0; t < 2; t++) { /* GET_CRL is idempotent: once more on a fresh connection */
		if (s->fd[i] < 0 && (st = connect_hello(s, i, dl, err)) != IK_OK)
			break;
		/* over what the file held (a spare's pages are already in memory), cut after */
		if (lseek(fd, 0, SEEK_SET) != 0) {
			st = IK_ERR_IO;
			break;
		}
		st = crl_exchange(s->fd[i], fd, piece, r, err, &who, dl);
		if (st == IK_OK || who == CRL_FAIL_REFUSED)
			break; /* done, or a refusal read whole: the stream is intact */
		/* anything else (a transport or framing failure, the deadline, or a file that
		 * could not take the bytes midway) leaves the stream out of step: never reuse it */
		drop_conn(s, i);
		if (dl->expired) {
			st = timeout_error(dl, err, LATE_ANSWER);
			break;
		}
		if (who == CRL_FAIL_FILE || !transport_failure(st))
			break;
	}
	release(s, i);
	free(piece);
	if (st == IK_OK && ftruncate(fd, (off_t)r->crl_len) != 0)
		st = IK_ERR_IO;
	return st;
}

ik_status ra_signer_crl_file(ra_signer *s, int fd, proto_crl_reply *r, proto_error *err)
{
	ra_deadline dl;

	/* the CRL's own deadline (a million entries is ~50 MB) */
	call_deadline(s, 1, &dl);
	return ra_signer_crl_file_by(s, fd, r, err, &dl);
}

ik_status ra_signer_chain_by(ra_signer *s, ik_buf *reply, proto_chain_reply *r,
    proto_error *err, ra_deadline *dl)
{
	ik_buf req;
	ik_status st;

	ik_buf_init(&req, 0);
	st = call_by(s, PROTO_GET_CHAIN, &req, reply, err, dl);
	ik_buf_cleanup(&req);
	return st == IK_OK ? proto_decode_chain_reply(ik_buf_ptr(reply), ik_buf_remaining(reply), r) : st;
}

ik_status ra_signer_chain(ra_signer *s, ik_buf *reply, proto_chain_reply *r, proto_error *err)
{
	ra_deadline dl;

	call_deadline(s, 0, &dl);
	return ra_signer_chain_by(s, reply, r, err, &dl);
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

/* Writes every request of g still without an answer as one stream of frames (ids 1..n). */
static ik_status pipe_send(int fd, const ra_signer_group *g, const uint8_t *got,
    ik_buf *out, ra_deadline *dl)
{
	ik_status st = IK_OK;

	ik_buf_reset(out);
	for (size_t k = 0; k < g->n && st == IK_OK; k++) {
		uint8_t hdr[PROTO_HDR_LEN];
		size_t len = ik_buf_remaining(&g->req[k]);

		if (got[k])
			continue;
		if ((st = proto_frame_header(hdr, PROTO_ISSUE, (uint32_t)(k + 1), len)) == IK_OK &&
		    (st = ik_buf_put(out, hdr, sizeof(hdr))) == IK_OK)
			st = ik_buf_put(out, ik_buf_ptr(&g->req[k]), len);
	}
	if (st != IK_OK)
		return st;
	/* one write, all of it before the first reply is read: the signer reads while it
	 * answers, so it cannot stall against our reading (the group is far below its
	 * per-connection limit) */
	return ra_sio_write(fd, ik_buf_ptr(out), ik_buf_remaining(out), dl);
}

/* One reply of the group: its slot by id, its status and decoded body. */
static ik_status pipe_recv_one(int fd, ra_signer_group *g, uint8_t *got, ik_buf *body,
    ra_deadline *dl)
{
	proto_header h;
	proto_error e;
	size_t k;
	ik_status st = ra_sio_recv(fd, PROTO_MAX_REPLY, &h, body, dl);

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
		snprintf(g->err[k].detail, sizeof(g->err[k].detail), "the signer's answer could not "
		    "be read: %s", ik_status_str(g->st[k]));
	return IK_OK;
}

static size_t pipe_waiting(const ra_signer_group *g, const uint8_t *got)
{
	size_t w = 0;

	for (size_t k = 0; k < g->n; k++)
		w += !got[k];
	return w;
}

/* The group sent and its answers read on connection i, under dl; late gets a timeout's
 * detail.  A connection lost midway: what has no answer yet is sent once more on a fresh
 * one (ISSUE is idempotent per request id: a repeat gets the same certificate). */
static ik_status group_exchange(ra_signer *s, unsigned i, ra_signer_group *g, uint8_t *got,
    proto_error *late, ra_deadline *dl)
{
	ik_buf frames, body;
	ik_status st = IK_ERR_IO;

	ik_buf_init(&frames, 0);
	ik_buf_init(&body, 0);
	for (int t = 0; t < 2; t++) {
		if (s->fd[i] < 0 && (st = connect_hello(s, i, dl, late)) != IK_OK)
			break;
		st = pipe_send(s->fd[i], g, got, &frames, dl);
		for (size_t w = pipe_waiting(g, got); st == IK_OK && w > 0; w--)
			st = pipe_recv_one(s->fd[i], g, got, &body, dl);
		if (st == IK_OK)
			break;
		if (dl->expired) {
			drop_conn(s, i);
			st = timeout_error(dl, late, LATE_ANSWER);
			break;
		}
		drop_conn(s, i);
		if (!transport_failure(st))
			break; /* a reply that fits no request: do not send again blindly */
	}
	ik_buf_cleanup(&frames);
	ik_buf_cleanup(&body);
	return st;
}

ik_status ra_signer_issue_group(ra_signer *s, ra_signer_group *g)
{
	uint8_t *got;
	unsigned i;
	proto_error late = { .status = 0 }; /* a timeout's detail for what has no answer */
	ra_deadline dl;
	ik_status st;

	if (g->n == 0 || g->n > RA_SIGNER_GROUP_MAX)
		return IK_ERR_ARG;
	if ((got = calloc(g->n, 1)) == NULL)
		return IK_ERR_NOMEM;
	call_deadline(s, 0, &dl); /* the whole group's, the wait for a connection included */
	if (acquire(s, &dl, &i) != IK_OK) {
		st = timeout_error(&dl, &late, LATE_POOL);
	} else {
		st = group_exchange(s, i, g, got, &late, &dl);
		release(s, i);
	}
	for (size_t k = 0; k < g->n; k++) {
		if (got[k])
			continue;
		g->st[k] = st != IK_OK ? st : IK_ERR_IO;
		g->err[k] = late; /* the timeout's detail, or nothing */
	}
	st = pipe_waiting(g, got) == 0 ? IK_OK : st;
	free(got);
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
