/* tool_pipeline: ISSUE requests pipelined over several connections, as a busy RA sends them:
 * N distinct request ids (PREFIX-0 .. PREFIX-N-1) plus DUPS copies of one more id
 * (PREFIX-dup) spread over the connections.  Each request is the same for the same id from
 * one run to the next (keys kept in KEYFILE, validity end given), so a second run after a
 * crash must get the same certificates back.  Writes "ID SERIAL REPLAYED SHA256" for every
 * certificate received to OUT, and checks: distinct ids get distinct serials, the copies of
 * one id all get the same certificate.  With --until-gone, a lost connection ends the run
 * quietly (the test kills the signer under load).
 * Usage: tool_pipeline SOCKET KEYFILE NOT_AFTER PREFIX N CONNS DUPS OUT [--until-gone] */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "proto.h"

#define NKEYS 16
#define WINDOW 200
#define MAXCONNS 8

static uint8_t g_spki[NKEYS][128];
static size_t g_spki_len[NKEYS];
static const char *g_sock, *g_prefix;
static uint64_t g_not_after;
static long g_n, g_dups;
static int g_conns, g_until_gone;
static FILE *g_out;
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static int g_failures;
static char g_dup_cert[65];

static void keys(const char *path)
{
	FILE *f = fopen(path, "rb");

	if (f != NULL) {
		for (int i = 0; i < NKEYS; i++)
			if (fread(&g_spki_len[i], sizeof(size_t), 1, f) != 1 || g_spki_len[i] > 128 ||
			    fread(g_spki[i], 1, g_spki_len[i], f) != g_spki_len[i])
				exit(2);
		fclose(f);
		return;
	}
	if ((f = fopen(path, "wb")) == NULL)
		exit(2);
	for (int i = 0; i < NKEYS; i++) {
		EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		uint8_t *p = g_spki[i];
		int n = k != NULL ? i2d_PUBKEY(k, NULL) : -1;
		if (n <= 0 || n > 128 || i2d_PUBKEY(k, &p) != n)
			exit(2);
		g_spki_len[i] = (size_t)n;
		if (fwrite(&g_spki_len[i], sizeof(size_t), 1, f) != 1 ||
		    fwrite(g_spki[i], 1, g_spki_len[i], f) != g_spki_len[i])
			exit(2);
		EVP_PKEY_free(k);
	}
	fclose(f);
}

/* Request k of this connection: a distinct id, or (every so often) the duplicated one. */
static void request_id(long k, char *id, size_t n)
{
	if (k < 0)
		snprintf(id, n, "%s-dup", g_prefix);
	else
		snprintf(id, n, "%s-%ld", g_prefix, k);
}

static int send_issue(int fd, long k, uint32_t tag, ik_buf *b)
{
	proto_issue m;
	uint8_t hdr[PROTO_HDR_LEN];
	proto_header h = { .version = PROTO_VERSION, .type = PROTO_ISSUE, .id = tag };
	size_t ki = k < 0 ? NKEYS - 1 : (size_t)k % NKEYS;

	memset(&m, 0, sizeof(m));
	request_id(k, m.request_id, sizeof(m.request_id));
	snprintf(m.profile, sizeof(m.profile), "client");
	m.spki = g_spki[ki];
	m.spki_len = g_spki_len[ki];
	m.nattrs = 1;
	m.attrs[0].type = PROTO_ATTR_CN;
	snprintf(m.attrs[0].value, sizeof(m.attrs[0].value), "pipe%ld", k);
	m.not_after = g_not_after;
	ik_buf_reset(b);
	if (proto_encode_issue(b, &m) != IK_OK)
		exit(4);
	h.len = (uint32_t)ik_buf_remaining(b);
	proto_header_encode(hdr, &h);
	return send(fd, hdr, sizeof(hdr), MSG_NOSIGNAL) == (ssize_t)sizeof(hdr) &&
	    send(fd, ik_buf_ptr(b), ik_buf_remaining(b), MSG_NOSIGNAL) == (ssize_t)ik_buf_remaining(b);
}

static void fail(const char *what, const char *id)
{
	pthread_mutex_lock(&g_lock);
	fprintf(stderr, "tool_pipeline: %s: %s\n", id, what);
	g_failures++;
	pthread_mutex_unlock(&g_lock);
}

typedef struct conn_arg {
	int index;
} conn_arg;

static void *conn_main(void *argp)
{
	const conn_arg *a = argp;
	proto_hello hm = { .version_min = 1, .version_max = 1 };
	/* this connection's share: ids index, index + conns, ...; and its share of the copies */
	long mine = (g_n - a->index + g_conns - 1) / g_conns;
	long dups = g_dups / g_conns + (a->index < g_dups % g_conns);
	long total = mine + dups, sent = 0, got = 0;
	long *who = calloc((size_t)total + 1, sizeof(long));
	ik_buf b, rep;
	proto_error e;
	int fd;

	if (who == NULL)
		exit(6);
	/* the order of this connection's requests: its ids, with the copies spread among them */
	for (long i = 0, k = a->index, d = 0; i < total; i++) {
		if (d < dups && i * dups >= d * total)
			who[i] = -1, d++;
		else
			who[i] = k, k += g_conns;
	}
	if (proto_connect(g_sock, &fd) != IK_OK)
		exit(6);
	ik_buf_init(&b, 0);
	ik_buf_init(&rep, 0);
	snprintf(hm.peer, sizeof(hm.peer), "pipeline");
	if (proto_encode_hello(&b, &hm) != IK_OK || proto_call(fd, PROTO_HELLO, &b, &rep, &e) != IK_OK)
		exit(7);
	while (got < total) {
		proto_header h;
		proto_issue_reply r;
		uint8_t md[32];
		char id[PROTO_MAX_ID + 1], hex[65];

		while (sent < total && sent - got < WINDOW) {
			if (!send_issue(fd, who[sent], (uint32_t)sent, &b)) {
				if (g_until_gone)
					goto out;
				exit(5);
			}
			sent++;
		}
		if (proto_recv(fd, PROTO_MAX_REPLY, &h, &rep) != IK_OK) {
			if (g_until_gone)
				goto out;
			exit(8);
		}
		got++;
		if (h.id >= (uint32_t)total)
			exit(9);
		request_id(who[h.id], id, sizeof(id));
		if (h.type != (PROTO_ISSUE | PROTO_REPLY) ||
		    proto_decode_issue_reply(ik_buf_ptr(&rep), ik_buf_remaining(&rep), &r) != IK_OK) {
			proto_error pe;
			memset(&pe, 0, sizeof(pe));
			(void)proto_decode_error(ik_buf_ptr(&rep), ik_buf_remaining(&rep), &pe);
			fail(pe.detail[0] ? pe.detail : "refused", id);
			continue;
		}
		EVP_Digest(r.cert, r.cert_len, md, NULL, EVP_sha256(), NULL);
		for (int i = 0; i < 32; i++)
			snprintf(hex + 2 * i, 3, "%02x", md[i]);
		pthread_mutex_lock(&g_lock);
		fprintf(g_out, "%s ", id);
		for (size_t i = 0; i < r.serial_len; i++)
			fprintf(g_out, "%02X", r.serial[i]);
		fprintf(g_out, " %u %s\n", r.replayed, hex);
		if (who[h.id] < 0) {
			if (g_dup_cert[0] == '\0')
				memcpy(g_dup_cert, hex, sizeof(hex));
			else if (strcmp(g_dup_cert, hex) != 0) {
				fprintf(stderr, "tool_pipeline: %s: two certificates\n", id);
				g_failures++;
			}
		}
		pthread_mutex_unlock(&g_lock);
	}
out:
	close(fd);
	ik_buf_cleanup(&b);
	ik_buf_cleanup(&rep);
	free(who);
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t t[MAXCONNS];
	conn_arg a[MAXCONNS];

	if (argc < 9 || argc > 10) {
		fprintf(stderr, "usage: tool_pipeline SOCKET KEYFILE NOT_AFTER PREFIX N CONNS DUPS OUT"
		    " [--until-gone]\n");
		return 2;
	}
	g_sock = argv[1];
	g_not_after = strtoull(argv[3], NULL, 10);
	g_prefix = argv[4];
	g_n = strtol(argv[5], NULL, 10);
	g_conns = (int)strtol(argv[6], NULL, 10);
	g_dups = strtol(argv[7], NULL, 10);
	g_until_gone = argc == 10 && strcmp(argv[9], "--until-gone") == 0;
	if (g_n < 1 || g_conns < 1 || g_conns > MAXCONNS || g_dups < 0 || g_n < g_conns)
		return 2;
	keys(argv[2]);
	if ((g_out = fopen(argv[8], "w")) == NULL)
		return 2;
	for (int i = 0; i < g_conns; i++) {
		a[i].index = i;
		pthread_create(&t[i], NULL, conn_main, &a[i]);
	}
	for (int i = 0; i < g_conns; i++)
		pthread_join(t[i], NULL);
	fclose(g_out);
	return g_failures == 0 ? 0 : 1;
}
