/* conn: protocol frames over a connected stream socket (blocking I/O), and the client's
 * connect and request/reply calls. */
#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "proto.h"

static ik_status write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return IK_ERR_IO;
		p += w;
		n -= (size_t)w;
	}
	return IK_OK;
}

/* 0: got n bytes; IK_ERR_PROTO_CLOSED: EOF before the first byte; TRUNCATED: EOF after. */
static ik_status read_all(int fd, uint8_t *p, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = recv(fd, p + got, n - got, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return IK_ERR_IO;
		if (r == 0)
			return got == 0 ? IK_ERR_PROTO_CLOSED : IK_ERR_PROTO_TRUNCATED;
		got += (size_t)r;
	}
	return IK_OK;
}

ik_status proto_write(int fd, const uint8_t *p, size_t n)
{
	return write_all(fd, p, n);
}

ik_status proto_frame_header(uint8_t hdr[PROTO_HDR_LEN], uint16_t type, uint32_t id, size_t len)
{
	proto_header h = { .version = PROTO_VERSION, .type = type, .id = id };

	if (len > UINT32_MAX)
		return IK_ERR_PROTO_OVERSIZE;
	h.len = (uint32_t)len;
	proto_header_encode(hdr, &h);
	return IK_OK;
}

ik_status proto_send(int fd, uint16_t type, uint32_t id, const uint8_t *body, size_t len)
{
	uint8_t hdr[PROTO_HDR_LEN];
	ik_status st;

	if ((st = proto_frame_header(hdr, type, id, len)) != IK_OK ||
	    (st = write_all(fd, hdr, sizeof(hdr))) != IK_OK)
		return st;
	return len > 0 ? write_all(fd, body, len) : IK_OK;
}

ik_status proto_recv(int fd, size_t max_body, proto_header *h, ik_buf *body)
{
	uint8_t hdr[PROTO_HDR_LEN];
	uint8_t *dst;
	ik_status st;

	ik_buf_reset(body);
	if ((st = read_all(fd, hdr, sizeof(hdr))) != IK_OK)
		return st;
	if ((st = proto_header_decode(hdr, max_body, h)) != IK_OK)
		return st;
	if (h->len == 0)
		return IK_OK;
	if ((st = ik_buf_reserve(body, h->len, &dst)) != IK_OK)
		return st;
	st = read_all(fd, dst, h->len);
	return st == IK_ERR_PROTO_CLOSED ? IK_ERR_PROTO_TRUNCATED : st;
}

ik_status proto_connect(const char *path, int *fd)
{
	struct sockaddr_un sa;
	size_t n = strlen(path);
	int s;

	*fd = -1;
	if (n == 0 || n >= sizeof(sa.sun_path))
		return IK_ERR_ARG;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, n + 1);
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return IK_ERR_IO;
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		int e = errno;
		close(s);
		errno = e;
		return IK_ERR_IO;
	}
	*fd = s;
	return IK_OK;
}

ik_status proto_call(int fd, uint16_t type, const ik_buf *req, ik_buf *reply, proto_error *err)
{
	static atomic_uint next_id = 1;
	uint32_t id = atomic_fetch_add(&next_id, 1);
	proto_header h;
	ik_status st;

	if ((st = proto_send(fd, type, id, ik_buf_ptr(req), ik_buf_remaining(req))) != IK_OK)
		return st;
	if ((st = proto_recv(fd, PROTO_MAX_REPLY, &h, reply)) != IK_OK)
		return st;
	return proto_reply_status(type, id, &h, reply, err);
}

ik_status proto_reply_status(uint16_t type, uint32_t id, const proto_header *h,
    const ik_buf *reply, proto_error *err)
{
	proto_error e;

	if (h->id != id && !(h->type == PROTO_ERROR && h->id == 0))
		return IK_ERR_PROTO_FIELD;
	if (h->type == PROTO_ERROR) {
		if (proto_decode_error(ik_buf_ptr(reply), ik_buf_remaining(reply), &e) != IK_OK)
			return IK_ERR_PROTO_FIELD;
		if (err != NULL)
			*err = e;
		return e.status == IK_OK ? IK_ERR_PROTO_FIELD : (ik_status)e.status;
	}
	return h->type == (uint16_t)(type | PROTO_REPLY) ? IK_OK : IK_ERR_PROTO_FIELD;
}
