/* bench_crl: the CRL at scale.  Fills a ledger with N revoked or held certificates through
 * the ledger API (batched transactions), then times, each in a child process of its own so
 * that its peak RSS is its own: the straightforward OpenSSL route (X509_CRL_add0_revoked +
 * X509_CRL_sort + X509_CRL_sign + i2d_X509_CRL, same entries read from the same ledger,
 * same SoftHSM key) as the baseline, the signer's earlier path (TBS and CRL in memory), and
 * its path now (sg_crl_publish: every entry read, then one more revocation merged in).
 * Prints one table with the ratios.
 * Usage: bench_crl TOKEN PINFILE KEYLABEL CA.pem LEDGER N [N ...]   (N ascending; the
 * ledger keeps what was filled for the previous N) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "cert.h"
#include "crl.h"
#include "hsm.h"
#include "ledger.h"

#define FILL_CHUNK 10000 /* certificates per transaction */

static const char *g_token, *g_pin, *g_label;
static sg_ca g_ca;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, ik_status st)
{
	fprintf(stderr, "bench_crl: %s: %s\n", what, ik_status_str(st));
	exit(1);
}

/* As the signer draws them: the time in ms (6 bytes) and 104 random bits, 19 bytes. */
static size_t random_serial(uint8_t s[PROTO_MAX_SERIAL])
{
	struct timespec ts;
	uint64_t ms;

	clock_gettime(CLOCK_REALTIME, &ts);
	ms = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
	for (int i = 0; i < 6; i++)
		s[i] = (uint8_t)(ms >> (8 * (5 - i)));
	RAND_bytes(s + 6, 13);
	return 19;
}

/* Certificates from..to-1: intent, certificate (placeholder bytes: the CRL reads neither)
 * and a revocation with a reason cycling through all a CRL carries, every 16th a hold. */
static void fill(sg_ledger *l, size_t from, size_t to, int64_t now)
{
	static const uint8_t reasons[] = { 1, 0, 4, 5, 3, 9, 1, 2, 10, 4, 1, 5, 0, 3, 1 };
	static const uint8_t blob[64] = { 0x30, 0x3e };
	static uint8_t serial[FILL_CHUNK][PROTO_MAX_SERIAL];
	static size_t slen[FILL_CHUNK];
	static char id[FILL_CHUNK][40];
	sg_ledger_batch *b = NULL;
	size_t failed;
	ik_status st;

	if ((st = sg_ledger_batch_new(3 * FILL_CHUNK, &b)) != IK_OK)
		die("batch", st);
	for (size_t base = from; base < to; base += FILL_CHUNK) {
		size_t n = to - base < FILL_CHUNK ? to - base : FILL_CHUNK;
		for (size_t i = 0; i < n; i++) {
			size_t k = base + i;
			slen[i] = random_serial(serial[i]);
			snprintf(id[i], sizeof(id[i]), "fill-%zu", k);
			if ((st = sg_ledger_batch_intent(b, id[i], serial[i], slen[i], "client",
			    "CN=fill", now - 86400, now + 86400 * 365, blob, sizeof(blob))) != IK_OK ||
			    (st = sg_ledger_batch_cert(b, id[i], blob, sizeof(blob))) != IK_OK ||
			    (st = sg_ledger_batch_event(b, serial[i], slen[i],
			        k % 16 == 7 ? SG_EV_HOLD : SG_EV_REVOKE, reasons[k % sizeof(reasons)],
			        now - (int64_t)(k % 86400))) != IK_OK)
				die("batch add", st);
		}
		if ((st = sg_ledger_batch_commit(l, b, &failed)) != IK_OK)
			die("batch commit", st);
	}
	sg_ledger_batch_free(b);
}

/* ---- the baseline: OpenSSL objects ---- */

typedef struct naive {
	X509_CRL *crl;
} naive;

static ik_status naive_sign(EVP_PKEY *pk, void *arg)
{
	naive *n = arg;

	return X509_CRL_sign(n->crl, pk, g_ca.sig == SG_SIG_ECDSA_SHA384 ? EVP_sha384() :
	    EVP_sha256()) > 0 ? IK_OK : IK_ERR_CRYPTO;
}

static X509_REVOKED *naive_entry(const sg_crl_entry *e)
{
	X509_REVOKED *r = X509_REVOKED_new();
	ASN1_INTEGER *sn = ASN1_INTEGER_new();
	ASN1_TIME *t = ASN1_TIME_set(NULL, (time_t)e->when);
	size_t skip = e->serial_len > 1 && e->serial[0] == 0; /* ASN1_INTEGER: magnitude */

	if (r == NULL || sn == NULL || t == NULL ||
	    ASN1_STRING_set(sn, e->serial + skip, (int)(e->serial_len - skip)) != 1 ||
	    X509_REVOKED_set_serialNumber(r, sn) != 1 || X509_REVOKED_set_revocationDate(r, t) != 1)
		exit(3);
	if (e->reason != 0) {
		ASN1_ENUMERATED *reason = ASN1_ENUMERATED_new();
		if (reason == NULL || ASN1_ENUMERATED_set(reason, e->reason) != 1 ||
		    X509_REVOKED_add1_ext_i2d(r, NID_crl_reason, reason, 0, 0) != 1)
			exit(3);
		ASN1_ENUMERATED_free(reason);
	}
	ASN1_INTEGER_free(sn);
	ASN1_TIME_free(t);
	return r;
}

static int run_naive(sg_ledger *l, hsm_ctx *h, hsm_key *k, size_t *len)
{
	sg_ledger_cursor *cur = NULL;
	sg_crl_entry *chunk = malloc(4096 * sizeof(*chunk));
	naive n = { .crl = X509_CRL_new() };
	time_t now = time(NULL);
	ASN1_TIME *t1 = ASN1_TIME_set(NULL, now), *t2 = ASN1_TIME_set(NULL, now + 86400);
	ASN1_INTEGER *num = ASN1_INTEGER_new();
	X509V3_CTX ctx;
	X509_EXTENSION *aki;
	uint8_t *der = NULL;
	size_t count = 0;
	long got;
	int dlen;

	if (chunk == NULL || n.crl == NULL || sg_ledger_crl_open(l, &cur, &count) != IK_OK)
		return 1;
	X509_CRL_set_version(n.crl, X509_CRL_VERSION_2);
	X509_CRL_set_issuer_name(n.crl, X509_get_subject_name(g_ca.cert));
	X509_CRL_set1_lastUpdate(n.crl, t1);
	X509_CRL_set1_nextUpdate(n.crl, t2);
	while ((got = sg_ledger_crl_next(cur, chunk, 4096)) > 0)
		for (long i = 0; i < got; i++)
			if (X509_CRL_add0_revoked(n.crl, naive_entry(&chunk[i])) != 1)
				return 2;
	sg_ledger_crl_close(cur);
	X509V3_set_ctx(&ctx, g_ca.cert, NULL, NULL, n.crl, 0);
	aki = X509V3_EXT_conf_nid(NULL, &ctx, NID_authority_key_identifier, "keyid:always");
	ASN1_INTEGER_set(num, 1);
	if (got < 0 || aki == NULL || X509_CRL_add_ext(n.crl, aki, -1) != 1 ||
	    X509_CRL_add1_ext_i2d(n.crl, NID_crl_number, num, 0, 0) != 1)
		return 3;
	X509_CRL_sort(n.crl);
	if (hsm_with_pkey(h, k, naive_sign, &n) != IK_OK || (dlen = i2d_X509_CRL(n.crl, &der)) <= 0)
		return 4;
	*len = (size_t)dlen;
	if (sk_X509_REVOKED_num(X509_CRL_get_REVOKED(n.crl)) != (int)count)
		return 5;
	OPENSSL_free(der);
	X509_EXTENSION_free(aki);
	ASN1_INTEGER_free(num);
	ASN1_TIME_free(t1);
	ASN1_TIME_free(t2);
	X509_CRL_free(n.crl);
	free(chunk);
	return 0;
}

/* ---- the signer's path ---- */

typedef struct result {
	double t_full, t_one; /* s */
	size_t len, count;
} result;

/* sg_crl_publish as the signer runs it: every entry read, then one more revocation (a new
 * certificate revoked through the ledger API) and its CRL with the change merged. */
static int run_inkan(sg_ledger *l, const char *ledger_path, hsm_ctx *h, hsm_key *k, result *r)
{
	sg_crl_hsm hk = { .h = h, .k = k };
	const sg_crl_key key = { .with = sg_crl_hsm_with, .arg = &hk };
	sg_crl_state cs;
	sg_crl *c = NULL;
	uint64_t number = sg_ledger_crl_last(l) + 1;
	int64_t now = (int64_t)time(NULL);
	uint8_t serial[PROTO_MAX_SERIAL], blob[16] = { 0x30, 0x0e };
	size_t sn = random_serial(serial);
	char id[48];
	double t0;

	if (sg_crl_state_init(&cs, ledger_path) != IK_OK)
		return 1;
	t0 = now_s();
	if (sg_crl_publish(&cs, l, &g_ca, &key, number, now, now + 86400, 1, &c) != IK_OK)
		return 2;
	r->t_full = now_s() - t0;
	r->len = c->len;
	r->count = c->count;
	sg_crl_unref(c);
	snprintf(id, sizeof(id), "one-more-%lld-%d", (long long)now, (int)getpid());
	if (sg_ledger_record_intent(l, id, serial, sn, "client", "CN=one", now, now + 86400, blob,
	    sizeof(blob)) != IK_OK || sg_ledger_record_cert(l, id, blob, sizeof(blob)) != IK_OK ||
	    sg_ledger_event(l, serial, sn, SG_EV_REVOKE, 1, now, NULL) != IK_OK)
		return 3;
	t0 = now_s();
	if (sg_crl_publish(&cs, l, &g_ca, &key, number + 1, now, now + 86400, 0, &c) != IK_OK)
		return 4;
	r->t_one = now_s() - t0;
	if (c->count != r->count + 1)
		return 5;
	sg_crl_unref(c);
	sg_crl_state_cleanup(&cs);
	return 0;
}

/* The signer's path before the CRL files (for the before/after): every entry read, the
 * TBS encoded in memory, signed, assembled into a second buffer, hashed, and copied once
 * more for publication — what crl_build held at its peak (a worker that sent the CRL kept
 * one more copy in its reply buffer; not counted here). */
static int run_in_memory(sg_ledger *l, hsm_ctx *h, hsm_key *k, size_t *len)
{
	sg_ledger_cursor *cur = NULL;
	uint8_t sig[1024], md[32], *copy;
	size_t siglen = sizeof(sig), count = 0;
	int64_t now = (int64_t)time(NULL);
	ik_buf tbs, out;

	ik_buf_init(&tbs, 0);
	ik_buf_init(&out, 0);
	if (sg_ledger_crl_open(l, &cur, &count) != IK_OK ||
	    sg_crl_tbs_build(&g_ca, sg_ledger_crl_last(l) + 1, now, now + 86400, sg_ledger_crl_next,
	        cur, count, &tbs) != IK_OK)
		return 1;
	sg_ledger_crl_close(cur);
	if (hsm_sign(h, k, ik_buf_ptr(&tbs), ik_buf_remaining(&tbs), sig, &siglen) != IK_OK ||
	    sg_signed_assemble(g_ca.sig, ik_buf_ptr(&tbs), ik_buf_remaining(&tbs), sig, siglen,
	        &out) != IK_OK ||
	    EVP_Digest(ik_buf_ptr(&out), ik_buf_remaining(&out), md, NULL, EVP_sha256(), NULL) != 1 ||
	    (copy = malloc(ik_buf_remaining(&out))) == NULL)
		return 2;
	memcpy(copy, ik_buf_ptr(&out), ik_buf_remaining(&out));
	*len = ik_buf_remaining(&out);
	free(copy);
	ik_buf_cleanup(&tbs);
	ik_buf_cleanup(&out);
	return 0;
}

/* Run one measurement in a child (the HSM is opened after the fork, as libp11 wants);
 * the child sends its result through a pipe, its peak RSS comes from wait4. */
static int in_child(const char *ledger_path, int which, result *r, long *peak_kib)
{
	int fds[2], status = 0;
	struct rusage ru;
	pid_t pid;

	if (pipe(fds) != 0 || (pid = fork()) < 0)
		return -1;
	if (pid == 0) {
		hsm_config hc = { .token_label = g_token, .pin_file = g_pin, .pin_fd = -1 };
		hsm_ctx *h = NULL;
		hsm_key *k = NULL;
		sg_ledger *l = NULL;
		result out = { 0 };
		double t0;
		int rc;

		close(fds[0]);
		if (hsm_open(&hc, &h) != IK_OK || hsm_key_find(h, g_label, NULL, 0, &k) != IK_OK ||
		    sg_ledger_open(ledger_path, &l) != IK_OK)
			_exit(10);
		t0 = now_s();
		if (which == 0) {
			rc = run_naive(l, h, k, &out.len);
			out.t_full = now_s() - t0;
		} else if (which == 2) {
			rc = run_in_memory(l, h, k, &out.len);
			out.t_full = now_s() - t0;
		} else {
			rc = run_inkan(l, ledger_path, h, k, &out);
		}
		if (rc == 0 && write(fds[1], &out, sizeof(out)) != (ssize_t)sizeof(out))
			rc = 11;
		sg_ledger_close(l);
		hsm_close(h);
		_exit(rc);
	}
	close(fds[1]);
	if (read(fds[0], r, sizeof(*r)) != (ssize_t)sizeof(*r))
		memset(r, 0, sizeof(*r));
	close(fds[0]);
	if (wait4(pid, &status, 0, &ru) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "bench_crl: child %d failed (status %d)\n", which,
		    WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		return -1;
	}
	*peak_kib = ru.ru_maxrss;
	return 0;
}

static void row(const char *label, double ms, double mib, const char *ratio)
{
	printf("| %-58s | %8.0f | %8.1f | %8s |\n", label, ms, mib, ratio);
}

int main(int argc, char **argv)
{
	sg_ledger *l = NULL;
	size_t have = 0;
	int64_t now = (int64_t)time(NULL);
	ik_status st;

	if (argc < 7) {
		fprintf(stderr, "usage: bench_crl TOKEN PINFILE KEYLABEL CA.pem LEDGER N [N ...]\n");
		return 2;
	}
	g_token = argv[1];
	g_pin = argv[2];
	g_label = argv[3];
	if ((st = sg_ca_load(argv[4], NULL, &g_ca)) != IK_OK)
		die(argv[4], st);
	printf("| %-58s | %8s | %8s | %8s |\n", "CRL operation (EC P-256, SoftHSM)", "ms",
	    "peak MiB", "ratio");
	printf("|%s|%s|%s|%s|\n", "------------------------------------------------------------",
	    "----------", "----------", "----------");
	for (int a = 6; a < argc; a++) {
		size_t n = (size_t)strtoull(argv[a], NULL, 10);
		result base, mem, ink;
		long rss_base = 0, rss_mem = 0, rss_ink = 0;
		char label[96], ratio[32];
		double t0;

		if (n < have || n > 10000000) {
			fprintf(stderr, "bench_crl: N must grow and stay under 10 000 000\n");
			return 2;
		}
		t0 = now_s();
		if ((st = sg_ledger_open(argv[5], &l)) != IK_OK)
			die(argv[5], st);
		fill(l, have, n, now);
		sg_ledger_close(l);
		fprintf(stderr, "bench_crl: ledger filled to %zu revoked/held in %.1f s\n", n,
		    now_s() - t0);
		have = n;
		if (in_child(argv[5], 0, &base, &rss_base) != 0 ||
		    in_child(argv[5], 2, &mem, &rss_mem) != 0 ||
		    in_child(argv[5], 1, &ink, &rss_ink) != 0)
			return 1;
		have++; /* the one more revocation */
		snprintf(label, sizeof(label), "baseline: OpenSSL X509_CRL route, %zu entries", n);
		row(label, base.t_full * 1e3, (double)rss_base / 1024, "1.00");
		snprintf(label, sizeof(label), "inkan before: TBS and CRL in memory, %zu entries", n);
		snprintf(ratio, sizeof(ratio), "%.2f", mem.t_full / base.t_full);
		row(label, mem.t_full * 1e3, (double)rss_mem / 1024, ratio);
		snprintf(label, sizeof(label), "inkan: CRL of %zu entries from the ledger (%.1f MB)",
		    ink.count, (double)ink.len / 1e6);
		snprintf(ratio, sizeof(ratio), "%.2f", ink.t_full / base.t_full);
		row(label, ink.t_full * 1e3, (double)rss_ink / 1024, ratio);
		snprintf(label, sizeof(label), "inkan: one more revocation -> new CRL (merged)");
		snprintf(ratio, sizeof(ratio), "%.2f", ink.t_one / base.t_full);
		row(label, ink.t_one * 1e3, (double)rss_ink / 1024, ratio);
	}
	sg_ca_cleanup(&g_ca);
	return 0;
}
