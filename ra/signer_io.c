/* signer_io: the RA's connect() and frames to and from the signer with a deadline for the
 * whole call: a non-blocking try first, then poll() for what is left of the deadline (see
 * signer_io.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "signer_io.h"

void ra_deadline_start(ra_deadline *d, unsigned secs, const char *setting)
{
	clock_gettime(CLOCK_MONOTONIC, &d->at);
	d->at.tv_sec += (time_t)secs;
	d->secs = secs;
	d->setting = setting;
	d->expired = 0;
}

/* Milliseconds left, rounded up (0: the deadline has passed). */
static int left_ms(const ra_deadline *d)
{
	struct timespec now;
	int64_t ns;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ns = (int64_t)(d->at.tv_sec - now.tv_sec) * 1000000000 + (d->at.tv_nsec - now.tv_nsec);
	if (ns <= 0)
		return 0;
	ns = (ns + 999999) / 1000000;
	return ns > INT_MAX ? INT_MAX : (int)ns;
}

/* Waits until fd is ready for ev (or has an error or hang-up to report), at most until the
 * deadline. */
static ik_status wait_fd(int fd, short ev, ra_deadline *d)
{
	for (;;) {
		struct pollfd p = { .fd = fd, .events = ev };
		int ms = left_ms(d), r;

		if (ms == 0) {
			d->expired = 1;
			return IK_ERR_IO;
		}
		r = poll(&p, 1, ms);
		if (r > 0)
			return IK_OK; /* the send or recv that follows reports an error or EOF */
		if (r < 0 && errno != EINTR)
			return IK_ERR_IO;
	}
}

/* A Unix socket whose listen queue is full (a signer that no longer accepts) refuses a
 * non-blocking connect() with EAGAIN and offers nothing to poll() for: it is tried again
 * every few milliseconds until the deadline.  The connected socket is blocking again, as
 * proto_connect's (every read and write here is MSG_DONTWAIT anyway). */
ik_status ra_sio_connect(const char *path, int *fd, ra_deadline *d)
{
	struct sockaddr_un sa;
	size_t n = strlen(path);
	int s, fl;

	*fd = -1;
	if (n == 0 || n >= sizeof(sa.sun_path))
		return IK_ERR_ARG;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, n + 1);
	if ((s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0)
		return IK_ERR_IO;
	for (;;) {
		int ms = left_ms(d);
		struct timespec pause = { 0, 0 };

		if (ms == 0) {
			d->expired = 1;
			break;
		}
		if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			if ((fl = fcntl(s, F_GETFL)) < 0 || fcntl(s, F_SETFL, fl & ~O_NONBLOCK) != 0)
				break;
			*fd = s;
			return IK_OK;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			break;
		pause.tv_nsec = (long)(ms < 10 ? ms : 10) * 1000000L;
		nanosleep(&pause, NULL);
	}
	close(s);
	return IK_ERR_IO;
}

ik_status ra_sio_write(int fd, const uint8_t *p, size_t n, ra_deadline *d)
{
	ik_status st;

	while (n > 0) {
		ssize_t w;

		if (left_ms(d) == 0) {
			d->expired = 1;
			return IK_ERR_IO;
		}
		w = send(fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w > 0) {
			p += w;
			n -= (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
			return IK_ERR_IO;
		if ((st = wait_fd(fd, POLLOUT, d)) != IK_OK)
			return st;
	}
	return IK_OK;
}

ik_status ra_sio_read(int fd, uint8_t *p, size_t n, ra_deadline *d)
{
	size_t got = 0;
	ik_status st;

	while (got < n) {
		ssize_t r;

		/* checked before every read, not only before a wait: a signer that always has
		 * one more byte ready is held to the deadline too */
		if (left_ms(d) == 0) {
			d->expired = 1;
			return IK_ERR_IO;
		}
		r = recv(fd, p + got, n - got, MSG_DONTWAIT);
		if (r > 0) {
			got += (size_t)r;
			continue;
		}
		if (r == 0)
			return got == 0 ? IK_ERR_PROTO_CLOSED : IK_ERR_PROTO_TRUNCATED;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return IK_ERR_IO;
		if ((st = wait_fd(fd, POLLIN, d)) != IK_OK)
			return st;
	}
	return IK_OK;
}

ik_status ra_sio_send(int fd, uint16_t type, uint32_t id, const uint8_t *body, size_t len,
    ra_deadline *d)
{
	uint8_t hdr[PROTO_HDR_LEN];
	ik_status st;

	if ((st = proto_frame_header(hdr, type, id, len)) != IK_OK ||
	    (st = ra_sio_write(fd, hdr, sizeof(hdr), d)) != IK_OK)
		return st;
	return len > 0 ? ra_sio_write(fd, body, len, d) : IK_OK;
}

ik_status ra_sio_recv(int fd, size_t max_body, proto_header *h, ik_buf *body,
    ra_deadline *d)
{
	uint8_t hdr[PROTO_HDR_LEN];
	uint8_t *dst;
	ik_status st;

	ik_buf_reset(body);
	if ((st = ra_sio_read(fd, hdr, sizeof(hdr), d)) != IK_OK)
		return st;
	if ((st = proto_header_decode(hdr, max_body, h)) != IK_OK)
		return st;
	if (h->len == 0)
		return IK_OK;
	if ((st = ik_buf_reserve(body, h->len, &dst)) != IK_OK)
		return st;
	st = ra_sio_read(fd, dst, h->len, d);
	return st == IK_ERR_PROTO_CLOSED ? IK_ERR_PROTO_TRUNCATED : st;
}

ik_status ra_sio_call(int fd, uint16_t type, const ik_buf *req, ik_buf *reply,
    proto_error *err, ra_deadline *d)
{
	static atomic_uint next_id = 1;
	uint32_t id = atomic_fetch_add(&next_id, 1) & 0x7fffffffu; /* the CRL's have the top bit */
	proto_header h;
	ik_status st;

	if (id == 0)
		id = 1;

	if ((st = ra_sio_send(fd, type, id, ik_buf_ptr(req), ik_buf_remaining(req), d)) != IK_OK)
		return st;
	if ((st = ra_sio_recv(fd, PROTO_MAX_REPLY, &h, reply, d)) != IK_OK)
		return st;
	return proto_reply_status(type, id, &h, reply, err);
}
