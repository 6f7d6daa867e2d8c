/* tool_hostile: a hostile RA.  Sends malformed frames to a running inkan-signerd and
 * checks that each gets its own typed error, that the connection stays usable or is closed
 * cleanly, and that the daemon keeps serving.  Usage: tool_hostile SOCKET [--wrong-peer UID] */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "proto.h"

static int failures;
static const char *sock_path;

static void check(int ok, const char *name, const char *detail)
{
	if (ok) {
		printf("ok - %s\n", name);
	} else {
		printf("not ok - %s%s%s\n", name, detail ? ": " : "", detail ? detail : "");
		failures++;
	}
}

static int connect_or_die(void)
{
	int fd;

	if (proto_connect(sock_path, &fd) != IK_OK) {
		fprintf(stderr, "cannot connect to %s: %s\n", sock_path, strerror(errno));
		exit(2);
	}
	return fd;
}

static void send_raw(int fd, uint16_t version, uint16_t type, uint32_t len, uint32_t flags,
    const uint8_t *body, size_t bodylen)
{
	uint8_t hdr[PROTO_HDR_LEN];
	proto_header h = { .version = version, .type = type, .len = len, .id = 77, .flags = flags };

	proto_header_encode(hdr, &h);
	if (send(fd, hdr, sizeof(hdr), MSG_NOSIGNAL) != (ssize_t)sizeof(hdr) ||
	    (bodylen > 0 && send(fd, body, bodylen, MSG_NOSIGNAL) != (ssize_t)bodylen)) {
		fprintf(stderr, "send failed: %s\n", strerror(errno));
		exit(2);
	}
}

/* Read one reply; returns the remote error status, 0 for a success reply, -1 for EOF. */
static long read_reply(int fd, uint16_t *type)
{
	proto_header h;
	ik_buf body;
	proto_error e;
	ik_status st;
	long r;

	ik_buf_init(&body, 0);
	st = proto_recv(fd, PROTO_MAX_REPLY, &h, &body);
	if (st == IK_ERR_PROTO_CLOSED || st == IK_ERR_PROTO_TRUNCATED || st == IK_ERR_IO) {
		ik_buf_cleanup(&body);
		return -1;
	}
	if (st != IK_OK) {
		ik_buf_cleanup(&body);
		return -2;
	}
	*type = h.type;
	if (h.type != PROTO_ERROR) {
		ik_buf_cleanup(&body);
		return 0;
	}
	r = proto_decode_error(ik_buf_ptr(&body), ik_buf_remaining(&body), &e) == IK_OK ?
	    (long)e.status : -3;
	ik_buf_cleanup(&body);
	return r;
}

static void hello(int fd)
{
	proto_hello m = { .version_min = 1, .version_max = 1 };
	ik_buf b;
	uint16_t t = 0;

	snprintf(m.peer, sizeof(m.peer), "hostile");
	ik_buf_init(&b, 0);
	(void)proto_encode_hello(&b, &m);
	send_raw(fd, PROTO_VERSION, PROTO_HELLO, (uint32_t)ik_buf_remaining(&b), 0, ik_buf_ptr(&b),
	    ik_buf_remaining(&b));
	ik_buf_cleanup(&b);
	if (read_reply(fd, &t) != 0 || t != (PROTO_HELLO | PROTO_REPLY)) {
		fprintf(stderr, "hello failed\n");
		exit(2);
	}
}

static int status_works(int fd)
{
	uint16_t t = 0;

	send_raw(fd, PROTO_VERSION, PROTO_STATUS, 0, 0, NULL, 0);
	return read_reply(fd, &t) == 0 && t == (PROTO_STATUS | PROTO_REPLY);
}

static void expect(int fd, long want, const char *name)
{
	uint16_t t = 0;
	long got = read_reply(fd, &t);
	char d[96];

	snprintf(d, sizeof(d), "expected status %ld, got %ld", want, got);
	check(got == want, name, d);
}

static void expect_closed(int fd, const char *name)
{
	uint16_t t = 0;

	check(read_reply(fd, &t) == -1, name, "connection not closed");
}

/* A valid ISSUE body for a fresh P-256 key. */
static void issue_body(ik_buf *b, const char *id)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	uint8_t *der = NULL;
	int n = i2d_PUBKEY(k, &der);
	proto_issue m;

	memset(&m, 0, sizeof(m));
	snprintf(m.request_id, sizeof(m.request_id), "%s", id);
	snprintf(m.profile, sizeof(m.profile), "client");
	m.spki = der;
	m.spki_len = (size_t)n;
	m.nattrs = 1;
	m.attrs[0].type = PROTO_ATTR_CN;
	snprintf(m.attrs[0].value, sizeof(m.attrs[0].value), "hostile");
	m.not_after = (uint64_t)time(NULL) + 86400;
	if (proto_encode_issue(b, &m) != IK_OK)
		exit(2);
	OPENSSL_free(der);
	EVP_PKEY_free(k);
}

static void scenarios(void)
{
	int fd;
	ik_buf b;
	uint8_t junk[64] = { 0 };

	fd = connect_or_die();
	send_raw(fd, PROTO_VERSION, PROTO_STATUS, 0, 0, NULL, 0);
	expect(fd, IK_ERR_STATE, "a verb before hello is refused");
	hello(fd);
	check(status_works(fd), "the connection is usable after that", NULL);

	send_raw(fd, PROTO_VERSION, 99, 4, 0, junk, 4);
	expect(fd, IK_ERR_PROTO_VERB, "unknown verb refused");
	check(status_works(fd), "connection usable after an unknown verb", NULL);

	send_raw(fd, PROTO_VERSION, PROTO_STATUS, 1, 0, junk, 1);
	expect(fd, IK_ERR_PROTO_TRAILING, "trailing bytes refused");
	check(status_works(fd), "connection usable after trailing bytes", NULL);

	ik_buf_init(&b, 0);
	issue_body(&b, "hostile-truncated");
	send_raw(fd, PROTO_VERSION, PROTO_ISSUE, (uint32_t)(ik_buf_remaining(&b) / 2), 0,
	    ik_buf_ptr(&b), ik_buf_remaining(&b) / 2);
	expect(fd, IK_ERR_PROTO_TRUNCATED, "truncated fields refused");
	check(status_works(fd), "connection usable after a truncated body", NULL);

	/* a valid body followed by one extra byte */
	(void)ik_buf_put_u8(&b, 0);
	send_raw(fd, PROTO_VERSION, PROTO_ISSUE, (uint32_t)ik_buf_remaining(&b), 0, ik_buf_ptr(&b),
	    ik_buf_remaining(&b));
	expect(fd, IK_ERR_PROTO_TRAILING, "an issue body with a trailing byte refused");
	ik_buf_cleanup(&b);

	send_raw(fd, 2, PROTO_STATUS, 0, 0, NULL, 0);
	expect(fd, IK_ERR_PROTO_VERSION, "wrong protocol version refused");
	expect_closed(fd, "and the connection is closed");
	close(fd);

	fd = connect_or_die();
	hello(fd);
	send_raw(fd, PROTO_VERSION, PROTO_ISSUE, PROTO_MAX_REQUEST + 1, 0, NULL, 0);
	expect(fd, IK_ERR_PROTO_OVERSIZE, "oversize frame refused before its body is read");
	expect_closed(fd, "and the connection is closed");
	close(fd);

	fd = connect_or_die();
	hello(fd);
	send_raw(fd, PROTO_VERSION, PROTO_STATUS, 0, 1, NULL, 0);
	expect(fd, IK_ERR_PROTO_FIELD, "reserved header flags refused");
	close(fd);

	fd = connect_or_die();
	{
		proto_hello m = { .version_min = 2, .version_max = 3 };
		ik_buf hb;
		snprintf(m.peer, sizeof(m.peer), "future");
		ik_buf_init(&hb, 0);
		(void)proto_encode_hello(&hb, &m);
		send_raw(fd, PROTO_VERSION, PROTO_HELLO, (uint32_t)ik_buf_remaining(&hb), 0,
		    ik_buf_ptr(&hb), ik_buf_remaining(&hb));
		ik_buf_cleanup(&hb);
		expect(fd, IK_ERR_PROTO_VERSION, "hello offering only versions 2..3 refused");
	}
	close(fd);

	/* a frame cut off by the peer's close */
	fd = connect_or_die();
	hello(fd);
	send_raw(fd, PROTO_VERSION, PROTO_ISSUE, 100, 0, junk, 10);
	close(fd);

	fd = connect_or_die();
	hello(fd);
	check(status_works(fd), "the daemon keeps serving after all of it", NULL);
	close(fd);
}

/* Connect as another uid: the signer refuses the peer by its credentials. */
static void wrong_peer(uid_t uid)
{
	pid_t pid = fork();
	int status = 0;

	if (pid == 0) {
		int fd;
		uint16_t t = 0;
		if (setgid((gid_t)uid) != 0 || setuid(uid) != 0)
			_exit(3);
		if (proto_connect(sock_path, &fd) != IK_OK)
			_exit(4);
		_exit(read_reply(fd, &t) == IK_ERR_PROTO_PEER && read_reply(fd, &t) == -1 ? 0 : 5);
	}
	waitpid(pid, &status, 0);
	check(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "a peer with the wrong uid is refused (proto-peer) and closed",
	    WIFEXITED(status) ? (WEXITSTATUS(status) == 4 ? "could not connect" : "wrong reply") :
	    "child crashed");
}

/* A peer that begins a frame and stops: cut off after the frame timeout, while another
 * connection is served meanwhile. */
static void stall(void)
{
	int fd = connect_or_die(), other = connect_or_die();
	uint8_t half[5] = { 0, 1, 0, 8, 0 };
	struct timespec t0, t1;
	double secs;
	char d[64];

	hello(fd);
	hello(other);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (send(fd, half, sizeof(half), MSG_NOSIGNAL) != (ssize_t)sizeof(half))
		exit(2);
	check(status_works(other), "other connection served while one stalls", NULL);
	expect(fd, IK_ERR_PROTO_TRUNCATED, "stalled frame answered with proto-truncated");
	expect_closed(fd, "stalled connection closed");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	snprintf(d, sizeof(d), "closed after %.1f s", secs);
	check(secs >= 9.0 && secs <= 30.0, "cut off after the 10 s frame timeout, not before", d);
	check(status_works(other), "other connection still served", NULL);
	close(fd);
	close(other);
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[2], "--stall") == 0) {
		sock_path = argv[1];
		stall();
		return failures == 0 ? 0 : 1;
	}
	if (argc != 2 && !(argc == 4 && strcmp(argv[2], "--wrong-peer") == 0)) {
		fprintf(stderr, "usage: tool_hostile SOCKET [--wrong-peer UID | --stall]\n");
		return 2;
	}
	sock_path = argv[1];
	if (argc == 4)
		wrong_peer((uid_t)strtoul(argv[3], NULL, 10));
	else
		scenarios();
	return failures == 0 ? 0 : 1;
}
