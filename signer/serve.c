/* serve: the signer's transport — the Unix socket, SO_PEERCRED checks, reading frames,
 * the per-connection state table (HELLO first), the job queue and the worker threads.
 * The RA is assumed hostile: a bad frame costs it its request or its connection, never
 * the daemon. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "log.h"
#include "serve.h"
#include "server.h"

#define CONN_MAX_INFLIGHT 256  /* requests queued per connection before we stop reading */
#define CONN_MAX 64            /* connections at once */
#define WRITE_TIMEOUT_MS 5000
#define FRAME_TIMEOUT_MS 10000 /* a frame begun must be complete within this */
#define SMALL_REPLY 8192       /* replies up to this size go out in one send */
#define PACE_QUEUED 1          /* see pace_target */
#define PACE_SPLIT_MIN 32      /* see pace_target */

struct sg_conn {
	int fd;
	uid_t uid;
	pid_t pid;
	int hello;            /* main thread: HELLO done */
	int dead;             /* main thread: no more reading; freed when refs drop to 0 */
	ik_buf rx;            /* main thread only */
	int64_t partial_since; /* main thread: ms when rx began to hold a partial frame, 0 none */
	pthread_mutex_t wlock;
	atomic_int refs;      /* 1 for the main thread while alive, +1 per queued job */
	atomic_int inflight;
	sg_conn *next;
};

static void conn_unref(sg_conn *c)
{
	if (atomic_fetch_sub(&c->refs, 1) != 1)
		return;
	close(c->fd);
	ik_buf_cleanup(&c->rx);
	pthread_mutex_destroy(&c->wlock);
	free(c);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void wake_main(sg_server *s)
{
	const uint8_t b = 1;
	ssize_t r;

	do
		r = write(s->wake[1], &b, 1);
	while (r < 0 && errno == EINTR);
	/* EAGAIN: the pipe is full, the main thread will wake anyway. */
}

/* Write a whole frame, waiting for the socket to drain (it is non-blocking). */
static ik_status write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w > 0) {
			p += w;
			n -= (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			struct pollfd pfd = { .fd = fd, .events = POLLOUT };
			int r = poll(&pfd, 1, WRITE_TIMEOUT_MS);
			if (r > 0 || (r < 0 && errno == EINTR))
				continue;
		}
		return IK_ERR_IO;
	}
	return IK_OK;
}

/* The bytes of a CRL, read from its file a piece at a time. */
static ik_status write_crl(int fd, const sg_crl *crl)
{
	uint8_t chunk[32768];
	ik_status st = IK_OK;

	for (size_t off = 0; off < crl->len && st == IK_OK;) {
		size_t k = crl->len - off < sizeof(chunk) ? crl->len - off : sizeof(chunk);
		if ((st = sg_crl_read(crl, off, chunk, k)) == IK_OK)
			st = write_all(fd, chunk, k);
		off += k;
	}
	return st;
}

/* One frame: the body, then (GET_CRL) the CRL's bytes if crl is not NULL. */
static ik_status conn_send(sg_conn *c, uint16_t type, uint32_t id, const uint8_t *body,
    size_t len, const sg_crl *crl)
{
	uint8_t hdr[PROTO_HDR_LEN];
	proto_header h = { .version = PROTO_VERSION, .type = type, .id = id };
	size_t total = len;
	ik_status st;

	if ((crl != NULL && ik_size_add(len, crl->len, &total) != 0) || total > PROTO_MAX_REPLY)
		return IK_ERR_INTERNAL;
	h.len = (uint32_t)total;
	proto_header_encode(hdr, &h);
	pthread_mutex_lock(&c->wlock);
	if (len <= SMALL_REPLY) { /* one send for a small frame (most replies) */
		uint8_t frame[PROTO_HDR_LEN + SMALL_REPLY];
		memcpy(frame, hdr, sizeof(hdr));
		if (len > 0)
			memcpy(frame + sizeof(hdr), body, len);
		st = write_all(c->fd, frame, sizeof(hdr) + len);
	} else {
		st = write_all(c->fd, hdr, sizeof(hdr));
		if (st == IK_OK)
			st = write_all(c->fd, body, len);
	}
	if (st == IK_OK && crl != NULL)
		st = write_crl(c->fd, crl);
	pthread_mutex_unlock(&c->wlock);
	if (st != IK_OK)
		shutdown(c->fd, SHUT_RDWR); /* the main thread sees the hang-up and drops it */
	return st;
}

static void conn_send_error(sg_conn *c, uint32_t id, ik_status st, const char *detail)
{
	proto_error e = { .status = (uint32_t)st };
	ik_buf b;

	snprintf(e.detail, sizeof(e.detail), "%s", detail != NULL ? detail : ik_status_str(st));
	for (char *d = e.detail; *d != '\0'; d++) /* the wire carries printable ASCII only */
		if ((unsigned char)*d < 0x20 || (unsigned char)*d > 0x7e)
			*d = '?';
	ik_buf_init(&b, PROTO_MAX_DETAIL + 64);
	if (proto_encode_error(&b, &e) == IK_OK)
		(void)conn_send(c, PROTO_ERROR, id, ik_buf_ptr(&b), ik_buf_remaining(&b), NULL);
	ik_buf_cleanup(&b);
}

/* ---- job queue ---- */

static void queue_push(sg_server *s, sg_job *j)
{
	pthread_mutex_lock(&s->qlock);
	if (s->qtail != NULL)
		s->qtail->next = j;
	else
		s->qhead = j;
	s->qtail = j;
	s->qlen++;
	pthread_cond_signal(&s->qcond);
	pthread_mutex_unlock(&s->qlock);
}

/* NULL when stopping, the queue is drained and no job is parked (a parked job comes back). */
static sg_job *queue_pop(sg_server *s)
{
	sg_job *j;
	int low = 0;

	pthread_mutex_lock(&s->qlock);
	while (s->qhead == NULL && !(atomic_load(&s->stopping) && s->parked == 0))
		pthread_cond_wait(&s->qcond, &s->qlock);
	j = s->qhead;
	if (j != NULL) {
		s->qhead = j->next;
		if (s->qhead == NULL)
			s->qtail = NULL;
		low = s->qlen-- == (size_t)PACE_QUEUED * s->nworkers;
	}
	pthread_mutex_unlock(&s->qlock);
	if (low) /* the work left may not outlast a commit: have the ledger commit now */
		sg_ledger_nudge(s->ledger);
	return j;
}

void sg_job_park(sg_server *s)
{
	pthread_mutex_lock(&s->qlock);
	s->parked++;
	pthread_mutex_unlock(&s->qlock);
}

void sg_job_unpark(sg_server *s)
{
	pthread_mutex_lock(&s->qlock);
	s->parked--;
	pthread_cond_broadcast(&s->qcond); /* stopping workers may be waiting for this */
	pthread_mutex_unlock(&s->qlock);
}

void sg_job_resume(sg_server *s, sg_job *j)
{
	j->next = NULL;
	pthread_mutex_lock(&s->qlock);
	s->parked--;
	if (s->qtail != NULL)
		s->qtail->next = j;
	else
		s->qhead = j;
	s->qtail = j;
	s->qlen++;
	pthread_cond_signal(&s->qcond);
	pthread_mutex_unlock(&s->qlock);
}

void sg_job_resume_later(sg_server *s, sg_job *j)
{
	j->next = NULL;
	if (s->rtail != NULL)
		s->rtail->next = j;
	else
		s->rhead = j;
	s->rtail = j;
	s->rlen++;
}

/* The ledger's after-batch hook: queue what its callbacks resumed, in order, at once. */
static void resume_batch(void *arg)
{
	sg_server *s = arg;

	if (s->rhead == NULL)
		return;
	pthread_mutex_lock(&s->qlock);
	s->parked -= s->rlen;
	if (s->qtail != NULL)
		s->qtail->next = s->rhead;
	else
		s->qhead = s->rhead;
	s->qtail = s->rtail;
	s->qlen += s->rlen;
	if (s->rlen > 1 && s->nworkers > 1)
		pthread_cond_broadcast(&s->qcond);
	else
		pthread_cond_signal(&s->qcond);
	pthread_mutex_unlock(&s->qlock);
	s->rhead = s->rtail = NULL;
	s->rlen = 0;
}

static void job_free(sg_job *j)
{
	if (j == NULL)
		return;
	free(j->body);
	free(j);
}

static void *worker_main(void *arg)
{
	sg_worker *w = arg;
	sg_server *s = w->s;
	sg_job *j;

	while ((j = queue_pop(s)) != NULL) {
		proto_error err;
		ik_status st;
		int parked = 0;

		memset(&err, 0, sizeof(err));
		ik_buf_reset(&w->reply);
		st = sg_dispatch(w, j, &err, &parked);
		if (parked)
			continue; /* j belongs to whoever resumes it now: not touched here again */
		if (st == IK_OK)
			(void)conn_send(j->c, (uint16_t)(j->h.type | PROTO_REPLY), j->h.id,
			    ik_buf_ptr(&w->reply), ik_buf_remaining(&w->reply), w->reply_crl);
		else
			conn_send_error(j->c, j->h.id, st, err.detail[0] != '\0' ? err.detail : NULL);
		sg_crl_unref(w->reply_crl);
		w->reply_crl = NULL;
		/* a connection at its limit is not read: tell the main thread it may read again */
		if (atomic_fetch_sub(&j->c->inflight, 1) >= CONN_MAX_INFLIGHT)
			wake_main(s);
		conn_unref(j->c);
		job_free(j);
		if (atomic_load(&s->stopping)) { /* the last parked job may have gone: let the */
			pthread_mutex_lock(&s->qlock); /* other workers see it */
			pthread_cond_broadcast(&s->qcond);
			pthread_mutex_unlock(&s->qlock);
		}
	}
	return NULL;
}

/* ---- per-connection state table ---- */

static void handle_hello(sg_server *s, sg_conn *c, const proto_header *h, const uint8_t *body,
    size_t len)
{
	proto_hello m;
	proto_hello_reply r = { .version = PROTO_VERSION };
	ik_buf b;
	ik_status st;

	(void)s;
	st = proto_decode_hello(body, len, &m);
	if (st != IK_OK) {
		conn_send_error(c, h->id, st, "hello: malformed body");
		return;
	}
	if (m.version_min > PROTO_VERSION || m.version_max < PROTO_VERSION) {
		conn_send_error(c, h->id, IK_ERR_PROTO_VERSION,
		    "hello: this signer speaks protocol version 1 only");
		return;
	}
	snprintf(r.peer, sizeof(r.peer), "inkan-signerd");
	ik_buf_init(&b, 256);
	if (proto_encode_hello_reply(&b, &r) == IK_OK &&
	    conn_send(c, PROTO_HELLO | PROTO_REPLY, h->id, ik_buf_ptr(&b),
	        ik_buf_remaining(&b), NULL) == IK_OK) {
		if (!c->hello)
			ik_log(LOG_INFO, "peer uid %u pid %d: hello (%s)", (unsigned)c->uid, (int)c->pid,
			    m.peer);
		c->hello = 1;
	}
	ik_buf_cleanup(&b);
}

/* One complete frame from a connection: answer it here or queue it for a worker. */
static void handle_frame(sg_server *s, sg_conn *c, const proto_header *h, const uint8_t *body,
    size_t len)
{
	sg_job *j;

	if (h->type == 0 || h->type > PROTO_TYPE_MAX) {
		conn_send_error(c, h->id, IK_ERR_PROTO_VERB, "unknown message type");
		return;
	}
	if (h->type == PROTO_HELLO) {
		handle_hello(s, c, h, body, len);
		return;
	}
	if (!c->hello) {
		conn_send_error(c, h->id, IK_ERR_STATE, "hello must come first");
		return;
	}
	j = calloc(1, sizeof(*j));
	if (j == NULL || (len > 0 && (j->body = malloc(len)) == NULL)) {
		job_free(j);
		conn_send_error(c, h->id, IK_ERR_NOMEM, NULL);
		return;
	}
	if (len > 0)
		memcpy(j->body, body, len);
	j->len = len;
	j->h = *h;
	j->c = c;
	atomic_fetch_add(&c->refs, 1);
	atomic_fetch_add(&c->inflight, 1);
	queue_push(s, j);
}

/* Pull every complete frame out of c->rx.  A header error (oversize, bad version, bad
 * flags) is answered and ends the connection: the stream cannot be resynchronised. */
static void drain_frames(sg_server *s, sg_conn *c)
{
	for (;;) {
		uint8_t hdr[PROTO_HDR_LEN];
		proto_header h;
		ik_status st;

		if (ik_buf_remaining(&c->rx) < PROTO_HDR_LEN)
			break;
		memcpy(hdr, ik_buf_ptr(&c->rx), PROTO_HDR_LEN);
		st = proto_header_decode(hdr, PROTO_MAX_REQUEST, &h);
		if (st != IK_OK) {
			ik_log(LOG_WARNING, "peer uid %u pid %d: %s; closing", (unsigned)c->uid,
			    (int)c->pid, ik_status_str(st));
			conn_send_error(c, h.id, st, st == IK_ERR_PROTO_OVERSIZE ?
			    "frame larger than 65536 bytes" : ik_status_str(st));
			c->dead = 1;
			return;
		}
		if (ik_buf_remaining(&c->rx) - PROTO_HDR_LEN < h.len)
			break; /* wait for the rest */
		(void)ik_buf_skip(&c->rx, PROTO_HDR_LEN);
		handle_frame(s, c, &h, ik_buf_ptr(&c->rx), h.len);
		(void)ik_buf_skip(&c->rx, h.len);
	}
	/* Keep only the unread tail (at most one partial frame), and note since when a frame
	 * has been incomplete: a peer that stops in the middle is cut off. */
	if (ik_buf_remaining(&c->rx) == 0) {
		ik_buf_reset(&c->rx);
		c->partial_since = 0;
		return;
	}
	if (c->partial_since == 0)
		c->partial_since = now_ms();
	if (c->rx.off > 0) {
		size_t n = ik_buf_remaining(&c->rx);
		uint8_t *tail = malloc(n);
		if (tail == NULL) {
			c->dead = 1;
			return;
		}
		memcpy(tail, ik_buf_ptr(&c->rx), n);
		ik_buf_reset(&c->rx);
		if (ik_buf_put(&c->rx, tail, n) != IK_OK)
			c->dead = 1;
		free(tail);
	}
}

static void conn_read(sg_server *s, sg_conn *c)
{
	uint8_t chunk[16384];
	ssize_t r = recv(c->fd, chunk, sizeof(chunk), 0);

	if (r < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
		return;
	if (r <= 0) {
		if (ik_buf_remaining(&c->rx) > 0)
			ik_log(LOG_WARNING, "peer uid %u pid %d: connection closed inside a frame",
			    (unsigned)c->uid, (int)c->pid);
		c->dead = 1;
		return;
	}
	if (ik_buf_put(&c->rx, chunk, (size_t)r) != IK_OK) {
		c->dead = 1;
		return;
	}
	drain_frames(s, c);
}

static void conn_accept(sg_server *s, size_t nconns)
{
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	sg_conn *c;
	int fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd < 0)
		return;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) != 0 || clen != sizeof(cred)) {
		close(fd);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		close(fd);
		return;
	}
	c->fd = fd;
	c->uid = cred.uid;
	c->pid = cred.pid;
	atomic_init(&c->refs, 1);
	atomic_init(&c->inflight, 0);
	pthread_mutex_init(&c->wlock, NULL);
	/* at most one partial frame plus one read chunk */
	ik_buf_init(&c->rx, PROTO_HDR_LEN + PROTO_MAX_REQUEST + 16384);
	if (cred.uid != s->cfg.ra_uid ||
	    (s->cfg.ra_gid != (gid_t)-1 && cred.gid != s->cfg.ra_gid)) {
		ik_log(LOG_WARNING, "refused peer uid %u gid %u pid %d: not the RA", (unsigned)cred.uid,
		    (unsigned)cred.gid, (int)cred.pid);
		conn_send_error(c, 0, IK_ERR_PROTO_PEER, "peer credentials not allowed");
		conn_unref(c);
		return;
	}
	if (nconns >= CONN_MAX) {
		conn_send_error(c, 0, IK_ERR_BUSY, "too many connections");
		conn_unref(c);
		return;
	}
	c->next = s->conns;
	s->conns = c;
}

/* ---- main loop ---- */

static size_t build_pollset(sg_server *s, struct pollfd *pfd, sg_conn **who, size_t max)
{
	size_t n = 0;

	pfd[n++] = (struct pollfd){ .fd = s->wake[0], .events = POLLIN };
	pfd[n++] = (struct pollfd){ .fd = s->listen_fd, .events = POLLIN };
	for (sg_conn *c = s->conns; c != NULL && n < max; c = c->next) {
		int full = atomic_load(&c->inflight) >= CONN_MAX_INFLIGHT;
		pfd[n] = (struct pollfd){ .fd = c->fd, .events = (short)(full ? 0 : POLLIN) };
		who[n++] = c;
	}
	return n;
}

static void reap_dead(sg_server *s, size_t *nconns)
{
	sg_conn **pp = &s->conns;
	size_t n = 0;

	while (*pp != NULL) {
		sg_conn *c = *pp;
		if (c->dead) {
			*pp = c->next;
			shutdown(c->fd, SHUT_RD);
			conn_unref(c);
			continue;
		}
		n++;
		pp = &c->next;
	}
	*nconns = n;
}

/* Connections that began a frame more than FRAME_TIMEOUT_MS ago and did not finish it. */
static void cut_stalled(sg_conn **conns, size_t n)
{
	int64_t now = now_ms();

	for (size_t i = 0; i < n; i++) {
		sg_conn *c = conns[i];
		if (c->dead || c->partial_since == 0 || now - c->partial_since < FRAME_TIMEOUT_MS)
			continue;
		ik_log(LOG_WARNING, "peer uid %u pid %d: frame not completed within %d s; closing",
		    (unsigned)c->uid, (int)c->pid, FRAME_TIMEOUT_MS / 1000);
		conn_send_error(c, 0, IK_ERR_PROTO_TRUNCATED, "frame not completed in time");
		c->dead = 1;
	}
}

ik_status sg_server_run(sg_server *s)
{
	struct pollfd pfd[CONN_MAX + 2];
	sg_conn *who[CONN_MAX + 2];
	size_t nconns = 0;

	ik_log(LOG_NOTICE, "listening on %s (%u workers)", s->cfg.socket_path, s->nworkers);
	while (!atomic_load(&s->stopping)) {
		size_t n = build_pollset(s, pfd, who, CONN_MAX + 2);
		int partial = 0, r;

		for (size_t i = 2; i < n; i++)
			partial |= who[i]->partial_since != 0;
		r = poll(pfd, (nfds_t)n, partial ? 1000 : -1);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			ik_log(LOG_ERR, "poll: %s", strerror(errno));
			return IK_ERR_IO;
		}
		if (pfd[0].revents & POLLIN) {
			uint8_t sink[256];
			while (read(s->wake[0], sink, sizeof(sink)) > 0)
				;
		}
		for (size_t i = 2; i < n; i++)
			if (pfd[i].revents & (POLLIN | POLLHUP | POLLERR))
				conn_read(s, who[i]);
		if (partial)
			cut_stalled(who + 2, n - 2);
		reap_dead(s, &nconns);
		if (pfd[1].revents & POLLIN)
			conn_accept(s, nconns);
	}
	ik_log(LOG_NOTICE, "stopping");
	return IK_OK;
}

void sg_server_stop(sg_server *s)
{
	atomic_store(&s->stopping, 1);
	wake_main(s);
}

/* ---- set-up and tear-down ---- */

static ik_status bind_socket(sg_server *s)
{
	struct sockaddr_un sa;
	struct stat stb;
	size_t n = strlen(s->cfg.socket_path);

	if (n >= sizeof(sa.sun_path))
		return IK_ERR_CONFIG;
	if (lstat(s->cfg.socket_path, &stb) == 0) {
		if (!S_ISSOCK(stb.st_mode)) {
			ik_log(LOG_ERR, "%s exists and is not a socket", s->cfg.socket_path);
			return IK_ERR_CONFIG;
		}
		unlink(s->cfg.socket_path); /* stale, from a previous run */
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, s->cfg.socket_path, n + 1);
	s->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->listen_fd < 0)
		return IK_ERR_IO;
	/* Create it with no access, then open it up to exactly the configured mode. */
	mode_t old = umask(0777);
	int r = bind(s->listen_fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r != 0) {
		ik_log(LOG_ERR, "bind %s: %s", s->cfg.socket_path, strerror(errno));
		return IK_ERR_IO;
	}
	if (s->cfg.socket_gid != (gid_t)-1 && chown(s->cfg.socket_path, (uid_t)-1, s->cfg.socket_gid) != 0) {
		ik_log(LOG_ERR, "chown %s: %s", s->cfg.socket_path, strerror(errno));
		return IK_ERR_IO;
	}
	if (chmod(s->cfg.socket_path, (mode_t)s->cfg.socket_mode) != 0 || listen(s->listen_fd, 64) != 0)
		return IK_ERR_IO;
	return IK_OK;
}

static ik_status open_hsm(sg_server *s)
{
	hsm_config hc = {
		.module = s->cfg.module,
		.token_label = s->cfg.token,
		.pin_file = s->cfg.pin_file,
		.pin_fd = -1,
		.session_copy = s->cfg.session_copy,
	};
	ik_status st = hsm_open(&hc, &s->hsm);

	if (st != IK_OK) {
		ik_log(LOG_ERR, "HSM: cannot open token '%s': %s", s->cfg.token, ik_status_str(st));
		return st;
	}
	st = hsm_key_find(s->hsm, s->cfg.key_label[0] != '\0' ? s->cfg.key_label : NULL,
	    s->cfg.key_id_len > 0 ? s->cfg.key_id : NULL, s->cfg.key_id_len, &s->key);
	if (st != IK_OK)
		ik_log(LOG_ERR, "HSM: issuing-CA key '%s' not found on token '%s': %s",
		    s->cfg.key_label, s->cfg.token, ik_status_str(st));
	return st;
}

/* The key in the HSM must be the one the CA certificate names. */
static ik_status check_key_matches_ca(sg_server *s)
{
	EVP_PKEY *pub = NULL;
	ik_status st = hsm_key_public(s->hsm, s->key, &pub);

	if (st != IK_OK)
		return st;
	if (EVP_PKEY_eq(pub, X509_get0_pubkey(s->ca.cert)) != 1) {
		ik_log(LOG_ERR, "the HSM key does not match the CA certificate %s", s->cfg.ca_cert);
		st = IK_ERR_CONFIG;
	}
	EVP_PKEY_free(pub);
	return st;
}

/* The ledger's pacer: how many operations the committer may let its next commit grow to
 * (0: commit now).  Now, when the workers are down to their last PACE_QUEUED job each (the
 * commit's fdatasync then overlaps that job, and queue_pop nudges the committer when the
 * queue gets there).  Otherwise, with two workers or more, until it holds half the jobs in
 * flight: the jobs split into two groups, one being committed while the workers sign and
 * answer the other.  Held until the queue ran dry instead, every job waited in one commit
 * and the workers had nothing to do while it was written and synced (a fifth to a quarter
 * of two cores idle; PERFORMANCE.md, "Signer, fifth pass").  One worker keeps the long
 * hold: it shares its core with the committer, so there is nothing to overlap, and smaller
 * commits would only cost it CPU. */
static size_t pace_target(void *arg)
{
	sg_server *s = arg;
	size_t queued, parked, half;

	pthread_mutex_lock(&s->qlock);
	queued = s->qlen;
	parked = s->parked;
	pthread_mutex_unlock(&s->qlock);
	if (queued < (size_t)PACE_QUEUED * s->nworkers)
		return 0;
	if (s->nworkers < 2)
		return SIZE_MAX; /* the ledger's own cap */
	half = (queued + parked) / 2;
	return half > PACE_SPLIT_MIN ? half : PACE_SPLIT_MIN;
}

static ik_status start_threads(sg_server *s)
{
	s->nworkers = s->cfg.workers;
	sg_ledger_set_pacer(s->ledger, pace_target, s);
	sg_ledger_set_after_batch(s->ledger, resume_batch, s);
	for (unsigned i = 0; i < s->nworkers; i++) {
		sg_worker *w = &s->workers[i];
		w->s = s;
		w->index = i;
		ik_buf_init(&w->reply, PROTO_MAX_REPLY);
		ik_buf_init(&w->cert, PROTO_MAX_REPLY);
		if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
			s->nworkers = i;
			return IK_ERR_INTERNAL;
		}
		(void)pthread_setname_np(w->thread, "sg-worker");
	}
	if (pthread_create(&s->crl_thread, NULL, sg_crl_thread, s) != 0)
		return IK_ERR_INTERNAL;
	(void)pthread_setname_np(s->crl_thread, "sg-crl");
	s->crl_thread_started = 1;
	return IK_OK;
}

ik_status sg_server_new(const sg_config *cfg, sg_server **out)
{
	sg_server *s = calloc(1, sizeof(*s));
	ik_status st;

	*out = NULL;
	if (s == NULL)
		return IK_ERR_NOMEM;
	s->cfg = *cfg;
	s->listen_fd = -1;
	s->wake[0] = s->wake[1] = -1;
	s->started = time(NULL);
	pthread_mutex_init(&s->qlock, NULL);
	pthread_cond_init(&s->qcond, NULL);
	pthread_mutex_init(&s->idlock, NULL);
	pthread_mutex_init(&s->crl_build_lock, NULL);
	pthread_mutex_init(&s->crl_lock, NULL);
	pthread_cond_init(&s->crl_cond, NULL);
	if ((st = sg_crl_state_init(&s->crl_state, cfg->ledger)) != IK_OK)
		goto out;
	if (pipe2(s->wake, O_NONBLOCK | O_CLOEXEC) != 0) {
		st = IK_ERR_IO;
		goto out;
	}
	if ((st = sg_ca_load(cfg->ca_cert, cfg->ca_chain[0] ? cfg->ca_chain : NULL, &s->ca)) != IK_OK) {
		ik_log(LOG_ERR, "CA certificate %s: %s", cfg->ca_cert, ik_status_str(st));
		goto out;
	}
	if ((st = sg_ledger_open(cfg->ledger, &s->ledger)) != IK_OK) {
		ik_log(LOG_ERR, "ledger %s: %s", cfg->ledger, ik_status_str(st));
		goto out;
	}
	s->crl_number = sg_ledger_crl_last(s->ledger);
	if ((st = open_hsm(s)) != IK_OK || (st = check_key_matches_ca(s)) != IK_OK)
		goto out;
	if ((st = sg_ocsp_new(s, &s->ocsp)) != IK_OK)
		goto out;
	if ((st = bind_socket(s)) != IK_OK)
		goto out;
	if ((st = start_threads(s)) != IK_OK)
		goto out;
	*out = s;
	return IK_OK;
out:
	sg_server_free(s);
	return st;
}

void sg_server_free(sg_server *s)
{
	if (s == NULL)
		return;
	atomic_store(&s->stopping, 1);
	pthread_mutex_lock(&s->qlock);
	pthread_cond_broadcast(&s->qcond);
	pthread_mutex_unlock(&s->qlock);
	for (unsigned i = 0; i < s->nworkers; i++) {
		pthread_join(s->workers[i].thread, NULL);
		ik_buf_cleanup(&s->workers[i].reply);
		ik_buf_cleanup(&s->workers[i].cert);
	}
	if (s->crl_thread_started) {
		pthread_mutex_lock(&s->crl_lock);
		pthread_cond_broadcast(&s->crl_cond);
		pthread_mutex_unlock(&s->crl_lock);
		pthread_join(s->crl_thread, NULL);
	}
	while (s->conns != NULL) {
		sg_conn *c = s->conns;
		s->conns = c->next;
		conn_unref(c);
	}
	if (s->listen_fd >= 0) {
		close(s->listen_fd);
		unlink(s->cfg.socket_path);
	}
	for (int i = 0; i < 2; i++)
		if (s->wake[i] >= 0)
			close(s->wake[i]);
	sg_ocsp_free(s->ocsp);
	hsm_close(s->hsm);
	sg_ledger_close(s->ledger);
	sg_ca_cleanup(&s->ca);
	sg_crl_unref(s->crl);
	sg_crl_state_cleanup(&s->crl_state);
	pthread_mutex_destroy(&s->qlock);
	pthread_cond_destroy(&s->qcond);
	pthread_mutex_destroy(&s->idlock);
	pthread_mutex_destroy(&s->crl_build_lock);
	pthread_mutex_destroy(&s->crl_lock);
	pthread_cond_destroy(&s->crl_cond);
	OPENSSL_cleanse(s, sizeof(*s));
	free(s);
}
