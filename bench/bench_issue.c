/* bench_issue: issuance through inkan-signerd's socket against two baselines measured in the
 * same run with the same SoftHSM key — a straightforward OpenSSL X509_sign loop, and the raw
 * HSM limit (EVP_DigestSign of a prepared TBS, 1 and 2 threads).  Two signers: one kept to
 * one core (1 worker, taskset by bench/run; this client then runs on the other core) against
 * the 1-thread limit, one with 2 workers on both cores against the 2-thread limit, in three
 * interleaved rounds (medians).  Prints a table of rates with the ratios, then one of CPU
 * time.
 * The CPU table sets the CPU time per certificate (the signer's threads, SoftHSM included)
 * against the CPU time per signature of the limit: a figure the machine's load moves little.
 * The limit is that of the token's key object, as issue 11 defines it; the signer signs
 * through a session copy (hsm.c), so the same limit with a copy is printed after it.
 * Usage: bench_issue SOCKET_1CORE SOCKET_2CORES TOKEN PINFILE KEYLABEL N CA.pem
 * Environment: IK_BENCH_WINDOW requests in flight per connection (128), IK_BENCH_ROUNDS
 * (3, at most 15); IK_BENCH_AB=1: both sockets are two-core signers (A, e.g. a build of
 * main, and B), run alike in interleaved rounds, each round printed with each signer's
 * threads' shares of the run on a CPU / waiting for one / asleep. */
#include <limits.h>
#include <dirent.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "hsm.h"
#include "proto.h"

#define NKEYS 64
static long g_window = 128; /* requests in flight per connection (IK_BENCH_WINDOW) */
#define ROUNDS_MAX 15
static int ROUNDS = 3; /* IK_BENCH_ROUNDS */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static EVP_PKEY *g_keys[NKEYS];
static uint8_t *g_spki[NKEYS];
static size_t g_spki_len[NKEYS];

static void make_keys(void)
{
	for (int i = 0; i < NKEYS; i++) {
		uint8_t *der = NULL;
		int n;
		g_keys[i] = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		n = i2d_PUBKEY(g_keys[i], &der);
		if (g_keys[i] == NULL || n <= 0)
			exit(2);
		g_spki[i] = der;
		g_spki_len[i] = (size_t)n;
	}
}

/* ---- baseline 1: the straightforward OpenSSL loop ---- */

typedef struct naive_arg {
	X509 *ca;
	long n;
	long done;
} naive_arg;

static void add_ext(X509 *x, X509 *ca, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *e;

	X509V3_set_ctx(&ctx, ca, x, NULL, NULL, 0);
	e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (e == NULL || X509_add_ext(x, e, -1) != 1)
		exit(3);
	X509_EXTENSION_free(e);
}

static ik_status naive_loop(EVP_PKEY *pk, void *argp)
{
	naive_arg *a = argp;

	for (long i = 0; i < a->n; i++) {
		X509 *x = X509_new();
		X509_NAME *nm = X509_NAME_new();
		ASN1_INTEGER *sn = ASN1_INTEGER_new();
		BIGNUM *bn = BN_new();
		char cn[32];

		BN_rand(bn, 128, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY);
		BN_to_ASN1_INTEGER(bn, sn);
		X509_set_version(x, X509_VERSION_3);
		X509_set_serialNumber(x, sn);
		X509_set_issuer_name(x, X509_get_subject_name(a->ca));
		snprintf(cn, sizeof(cn), "user%ld", i);
		X509_NAME_add_entry_by_txt(nm, "C", MBSTRING_UTF8, (const unsigned char *)"JP", -1, -1, 0);
		X509_NAME_add_entry_by_txt(nm, "O", MBSTRING_UTF8, (const unsigned char *)"Bench", -1, -1, 0);
		X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0);
		X509_set_subject_name(x, nm);
		X509_gmtime_adj(X509_getm_notBefore(x), 0);
		X509_gmtime_adj(X509_getm_notAfter(x), 86400L * 365);
		X509_set_pubkey(x, g_keys[i % NKEYS]);
		add_ext(x, a->ca, NID_basic_constraints, "critical,CA:FALSE");
		add_ext(x, a->ca, NID_key_usage, "critical,digitalSignature");
		add_ext(x, a->ca, NID_ext_key_usage, "clientAuth");
		add_ext(x, a->ca, NID_subject_key_identifier, "hash");
		add_ext(x, a->ca, NID_authority_key_identifier, "keyid:always");
		add_ext(x, a->ca, NID_crl_distribution_points, "URI:http://127.0.0.1/crl");
		if (X509_sign(x, pk, EVP_sha256()) <= 0)
			return IK_ERR_CRYPTO;
		a->done++;
		BN_free(bn);
		ASN1_INTEGER_free(sn);
		X509_NAME_free(nm);
		X509_free(x);
	}
	return IK_OK;
}

/* ---- baseline 2: the HSM limit ---- */

typedef struct hsm_arg {
	hsm_ctx *h;
	hsm_key *k;
	const uint8_t *tbs;
	size_t tbs_len;
	long n;
	long fails;
	double cpu; /* out: this thread's CPU seconds */
} hsm_arg;

static double thread_cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *hsm_thread(void *argp)
{
	hsm_arg *a = argp;
	uint8_t sig[1024];
	double c0 = thread_cpu_s();

	for (long i = 0; i < a->n; i++) {
		size_t siglen = sizeof(sig);
		if (hsm_sign(a->h, a->k, a->tbs, a->tbs_len, sig, &siglen) != IK_OK)
			a->fails++;
	}
	a->cpu = thread_cpu_s() - c0;
	return NULL;
}

/* CPU seconds used so far by every thread of process pid (/proc/PID/task/TID/schedstat:
 * nanoseconds on a CPU), or -1. */
static double proc_cpu_s(pid_t pid)
{
	char path[64];
	DIR *d;
	struct dirent *e;
	double total = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	if ((d = opendir(path)) == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		unsigned long long ns;
		FILE *f;
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%.16s/schedstat", (int)pid, e->d_name);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		if (fscanf(f, "%llu", &ns) == 1)
			total += (double)ns / 1e9;
		fclose(f);
	}
	closedir(d);
	return total;
}

/* Per thread (in tid order, at most 16) the seconds on a CPU and waiting in a run queue, into r[], w[] (at most 16 threads, in tid order) */
static int cmp_int(const void *a, const void *b)
{
	return (*(const int *)a > *(const int *)b) - (*(const int *)a < *(const int *)b);
}

static int threads_rw(pid_t pid, double *r, double *w)
{
	char path[64];
	int tids[16], nt = 0, n = 0;
	DIR *d;
	struct dirent *e;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	if ((d = opendir(path)) == NULL)
		return 0;
	while ((e = readdir(d)) != NULL && nt < 16) {
		char *end;
		long t = strtol(e->d_name, &end, 10);
		if (end != e->d_name && *end == '\0' && t > 0 && t <= INT_MAX)
			tids[nt++] = (int)t;
	}
	closedir(d);
	qsort(tids, (size_t)nt, sizeof(tids[0]), cmp_int);
	for (int i = 0; i < nt; i++) {
		unsigned long long a = 0, b = 0;
		FILE *f;
		snprintf(path, sizeof(path), "/proc/%d/task/%d/schedstat", (int)pid, tids[i]);
		if ((f = fopen(path, "r")) != NULL) {
			if (fscanf(f, "%llu %llu", &a, &b) != 2)
				a = b = 0;
			fclose(f);
		}
		r[n] = (double)a / 1e9;
		w[n] = (double)b / 1e9;
		n++;
	}
	return n;
}

/* Each busy thread's share of a run (wall seconds) on a CPU / in a run queue / asleep. */
static void threads_print(const char *who, pid_t pid, const double *r0, const double *w0,
    double wall)
{
	double r1[16], w1[16];
	int n = threads_rw(pid, r1, w1);

	printf("   %s threads (run/wait/sleep share):", who);
	for (int i = 0; i < n; i++) {
		double run = (r1[i] - r0[i]) / wall, wt = (w1[i] - w0[i]) / wall;
		if (run > 0.01)
			printf(" [%d] %.2f/%.2f/%.2f", i, run, wt, 1 - run - wt);
	}
	printf("\n");
}

/* Seconds every thread of pid was on a CPU or waiting in a run queue (schedstat 1+2). */
static double proc_runwait_s(pid_t pid)
{
	char path[64];
	DIR *d;
	struct dirent *e;
	double total = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	if ((d = opendir(path)) == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		unsigned long long a, b;
		FILE *f;
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%.16s/schedstat", (int)pid, e->d_name);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		if (fscanf(f, "%llu %llu", &a, &b) == 2)
			total += (double)(a + b) / 1e9;
		fclose(f);
	}
	closedir(d);
	return total;
}

/* The pid of the process at the other end of a Unix socket (the signer). */
static pid_t socket_peer_pid(const char *path)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	pid_t pid = -1;
	int fd;

	if (proto_connect(path, &fd) != IK_OK)
		return -1;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 && len == sizeof(cred))
		pid = cred.pid;
	close(fd);
	return pid;
}

/* ---- inkan: pipelined ISSUE requests over the socket ---- */

typedef struct sock_arg {
	const char *path;
	long first, n;
	long ok, refused;
	int cpu; /* >= 0: keep this client thread on that CPU */
	double cpu_s; /* out: this client thread's CPU seconds */
} sock_arg;

/* A request id as the RA makes them (ra/store_sqlite_queue.c): the time in ms, 6 bytes, and
 * 10 random bytes, in hex — so the ledger's request-id indexes see what they see in use. */
static void request_id(char *out, size_t len)
{
	struct timespec ts;
	uint8_t r[10];
	unsigned long long ms;
	size_t o;

	clock_gettime(CLOCK_REALTIME, &ts);
	ms = (unsigned long long)ts.tv_sec * 1000u + (unsigned long long)ts.tv_nsec / 1000000u;
	if (RAND_bytes(r, sizeof(r)) != 1)
		abort();
	o = (size_t)snprintf(out, len, "%012llx", ms);
	for (size_t k = 0; k < sizeof(r) && o + 2 < len; k++, o += 2)
		snprintf(out + o, len - o, "%02x", r[k]);
}

static void send_issue(int fd, long i, ik_buf *b)
{
	proto_issue m;
	uint8_t hdr[PROTO_HDR_LEN];
	proto_header h = { .version = PROTO_VERSION, .type = PROTO_ISSUE };

	memset(&m, 0, sizeof(m));
	request_id(m.request_id, sizeof(m.request_id));
	snprintf(m.profile, sizeof(m.profile), "client");
	m.spki = g_spki[i % NKEYS];
	m.spki_len = g_spki_len[i % NKEYS];
	m.nattrs = 1;
	m.attrs[0].type = PROTO_ATTR_CN;
	snprintf(m.attrs[0].value, sizeof(m.attrs[0].value), "user%ld", i);
	m.not_after = (uint64_t)time(NULL) + 86400u * 365u;
	ik_buf_reset(b);
	if (proto_encode_issue(b, &m) != IK_OK)
		exit(4);
	h.len = (uint32_t)ik_buf_remaining(b);
	h.id = (uint32_t)i;
	proto_header_encode(hdr, &h);
	if (send(fd, hdr, sizeof(hdr), MSG_NOSIGNAL) != (ssize_t)sizeof(hdr) ||
	    send(fd, ik_buf_ptr(b), ik_buf_remaining(b), MSG_NOSIGNAL) != (ssize_t)ik_buf_remaining(b))
		exit(5);
}

static void *sock_thread(void *argp)
{
	sock_arg *a = argp;
	proto_hello hm = { .version_min = 1, .version_max = 1 };
	ik_buf b, rep;
	proto_error e;
	long sent = 0, got = 0;
	int fd;

	if (a->cpu >= 0) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET((size_t)a->cpu, &set);
		(void)pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	}
	if (proto_connect(a->path, &fd) != IK_OK)
		exit(6);
	ik_buf_init(&b, 0);
	ik_buf_init(&rep, 0);
	snprintf(hm.peer, sizeof(hm.peer), "bench");
	if (proto_encode_hello(&b, &hm) != IK_OK || proto_call(fd, PROTO_HELLO, &b, &rep, &e) != IK_OK)
		exit(7);
	double c0 = thread_cpu_s();

	while (got < a->n) {
		while (sent < a->n && sent - got < g_window)
			send_issue(fd, a->first + sent++, &b);
		proto_header h;
		if (proto_recv(fd, PROTO_MAX_REPLY, &h, &rep) != IK_OK)
			exit(8);
		got++;
		if (h.type == (PROTO_ISSUE | PROTO_REPLY))
			a->ok++;
		else
			a->refused++;
	}
	a->cpu_s = thread_cpu_s() - c0;
	close(fd);
	ik_buf_cleanup(&b);
	ik_buf_cleanup(&rep);
	return NULL;
}

/* The machine's idle and total CPU time so far, in clock ticks (/proc/stat's first line). */
static void machine_ticks(double *idle, double *total)
{
	unsigned long long v[8] = { 0 };
	FILE *f = fopen("/proc/stat", "r");

	*idle = *total = 0;
	if (f == NULL)
		return;
	if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
	    &v[4], &v[5], &v[6], &v[7]) == 8) {
		*idle = (double)(v[3] + v[4]); /* idle + iowait */
		for (int i = 0; i < 8; i++)
			*total += (double)v[i];
	}
	fclose(f);
}

/* n certificates over conns connections: seconds; *client_cpu: the client threads' CPU
 * seconds; *idle: the share of the machine's CPU time left idle meanwhile. */
static double run_socket(const char *path, long n, int conns, int cpu, long *ok,
    double *client_cpu, double *idle)
{
	pthread_t t[8];
	sock_arg a[8];
	double t0 = now_s(), i0, tot0, i1, tot1;

	*ok = 0;
	*client_cpu = 0;
	machine_ticks(&i0, &tot0);
	for (int i = 0; i < conns; i++) {
		a[i] = (sock_arg){ .path = path, .first = i * (n / conns), .n = n / conns,
			.cpu = cpu };
		pthread_create(&t[i], NULL, sock_thread, &a[i]);
	}
	for (int i = 0; i < conns; i++) {
		pthread_join(t[i], NULL);
		*ok += a[i].ok;
		*client_cpu += a[i].cpu_s;
		if (a[i].refused)
			fprintf(stderr, "bench: %ld requests refused\n", a[i].refused);
	}
	machine_ticks(&i1, &tot1);
	*idle = tot1 > tot0 ? (i1 - i0) / (tot1 - tot0) : 0;
	return now_s() - t0;
}

/* n signatures of the prepared TBS on 'threads' threads: seconds (*cpu: CPU seconds) */
static double hsm_limit(hsm_ctx *h, hsm_key *k, const uint8_t *tbs, size_t len, long n,
    int threads, double *cpu)
{
	pthread_t t[2];
	hsm_arg a[2];
	double t0 = now_s();

	for (int i = 0; i < threads; i++) {
		a[i] = (hsm_arg){ .h = h, .k = k, .tbs = tbs, .tbs_len = len, .n = n / threads };
		pthread_create(&t[i], NULL, hsm_thread, &a[i]);
	}
	*cpu = 0;
	for (int i = 0; i < threads; i++) {
		pthread_join(t[i], NULL);
		*cpu += a[i].cpu;
	}
	return now_s() - t0;
}

static double median(const double *v)
{
	double x[ROUNDS];

	memcpy(x, v, sizeof(x));
	for (int i = 1; i < ROUNDS; i++)
		for (int j = i; j > 0 && x[j - 1] > x[j]; j--) {
			double t = x[j];
			x[j] = x[j - 1];
			x[j - 1] = t;
		}
	return x[ROUNDS / 2];
}

static void row(const char *label, double rate, double ratio)
{
	char r[16] = "";

	if (ratio > 0)
		snprintf(r, sizeof(r), "%.2f", ratio);
	if (rate > 0)
		printf("| %-58s | %10.0f | %8s |\n", label, rate, r);
	else
		printf("| %-58s | %10s | %8s |\n", label, "", r);
}

/* CPU time is what a busy, shared machine does not distort: the signer's CPU per
 * certificate (all its threads, SoftHSM included) against the limit's per signature. */
static void cpu_table(const double *ch1, const double *cs1, const double *ch2, const double *cs2,
    const double *cc1, const double *cc2, const double *idle1, const double *idle2)
{
	printf("\n| %-58s | %10s | %8s |\n", "CPU per certificate (all threads, medians)", "µs ",
	    "ratio");
	printf("|%s|%s|%s|\n", "------------------------------------------------------------",
	    "------------", "----------");
	printf("| %-58s | %10.1f | %8s |\n", "HSM limit, 1 thread: one signature", median(ch1), "");
	printf("| %-58s | %10.1f | %8.2f |\n", "inkan-signerd, one core: one certificate", median(cs1),
	    median(ch1) / median(cs1));
	printf("| %-58s | %10.1f | %8s |\n", "HSM limit, 2 threads: one signature", median(ch2), "");
	printf("| %-58s | %10.1f | %8.2f |\n", "inkan-signerd, two cores: one certificate",
	    median(cs2), median(ch2) / median(cs2));
	/* what the limit's loop does not have: the client on the same cores, and idle time */
	printf("| %-58s | %10.1f | %8s |\n", "  this client, one core run (the other core)",
	    median(cc1), "");
	printf("| %-58s | %10.1f | %8s |\n", "  this client, two cores run (the same cores)",
	    median(cc2), "");
	printf("(the machine's CPU left idle during the signer runs, medians: one core %.0f %%, "
	    "two cores %.0f %%)\n", median(idle1) * 100, median(idle2) * 100);
}

/* The limit once more with the key signing through a session copy, as inkan-signerd signs
 * (hsm.c, "Session copies"): 1 and 2 threads, rate and CPU µs per signature.  0 if the
 * token would not copy the key. */
static int copy_limits(const hsm_config *base, const char *label, const uint8_t *tbs,
    size_t len, long n, double rate[2], double cpu_us[2])
{
	hsm_config hc = *base;
	hsm_ctx *h = NULL;
	hsm_key *k = NULL;
	double c;
	int ok;

	hc.session_copy = 1;
	if (hsm_open(&hc, &h) != IK_OK || hsm_key_find(h, label, NULL, 0, &k) != IK_OK) {
		hsm_close(h);
		return 0;
	}
	if ((ok = hsm_key_is_copy(k)))
		for (int t = 0; t < 2; t++) {
			rate[t] = (double)n / hsm_limit(h, k, tbs, len, n, t + 1, &c);
			cpu_us[t] = c * 1e6 / (double)n;
		}
	hsm_close(h);
	return ok;
}

static void copy_rows(const double rate[2], const double cpu_us[2], const double *cs1,
    const double *cs2)
{
	printf("\nThe same limit with the key signing through a session copy, as inkan-signerd "
	    "signs\n(measured once, after the rounds):\n\n");
	printf("| %-58s | %10s | %8s |\n", "HSM limit, session copy of the key", "per second",
	    "µs CPU");
	printf("|%s|%s|%s|\n", "------------------------------------------------------------",
	    "------------", "----------");
	printf("| %-58s | %10.0f | %8.1f |\n", "1 thread", rate[0], cpu_us[0]);
	printf("| %-58s | %10.0f | %8.1f |\n", "2 threads", rate[1], cpu_us[1]);
	printf("| %-58s | %10s | %8.2f |\n", "  inkan-signerd one core, CPU ratio against it", "",
	    cpu_us[0] / median(cs1));
	printf("| %-58s | %10s | %8.2f |\n", "  inkan-signerd two cores, CPU ratio against it", "",
	    cpu_us[1] / median(cs2));
}

int main(int argc, char **argv)
{
	hsm_config hc = { 0 };
	hsm_ctx *h = NULL;
	hsm_key *k = NULL;
	naive_arg na = { 0 };
	long n, nnaive;
	double t0, t_naive, t_hsm1, t_hsm2, t_sock1, t_sock2;
	double h1[ROUNDS_MAX], h2[ROUNDS_MAX], s1[ROUNDS_MAX], s2[ROUNDS_MAX], q1[ROUNDS_MAX], q2[ROUNDS_MAX];
	double ch1[ROUNDS_MAX], ch2[ROUNDS_MAX], cs1[ROUNDS_MAX], cs2[ROUNDS_MAX]; /* CPU µs per certificate */
	double cc1[ROUNDS_MAX], cc2[ROUNDS_MAX], id1[ROUNDS_MAX], id2[ROUNDS_MAX]; /* client µs, idle share */
	int ab = getenv("IK_BENCH_AB") != NULL; /* two two-core signers, A and B */
	double cp_rate[2], cp_cpu[2];
	int copied;
	uint8_t tbs[400];
	char label[96], alg[32];
	pid_t pid1, pid2;

	if (argc != 8) {
		fprintf(stderr, "usage: bench_issue SOCKET_1CORE SOCKET_2CORES TOKEN PINFILE KEYLABEL N"
		    " CA.pem\n");
		return 2;
	}
	n = strtol(argv[6], NULL, 10);
	if (getenv("IK_BENCH_WINDOW") != NULL)
		g_window = strtol(getenv("IK_BENCH_WINDOW"), NULL, 10);
	if (getenv("IK_BENCH_ROUNDS") != NULL)
		ROUNDS = (int)strtol(getenv("IK_BENCH_ROUNDS"), NULL, 10);
	if (g_window < 1 || ROUNDS < 1 || ROUNDS > ROUNDS_MAX)
		return 2;
	if (n < 100)
		return 2;
	make_keys();
	hc.token_label = argv[3];
	hc.pin_file = argv[4];
	hc.pin_fd = -1;
	if (hsm_open(&hc, &h) != IK_OK || hsm_key_find(h, argv[5], NULL, 0, &k) != IK_OK) {
		fprintf(stderr, "bench: cannot open the token\n");
		return 1;
	}
	snprintf(alg, sizeof(alg), "%s", hsm_key_alg(k) == HSM_KEY_EC_P256 ? "EC P-256" :
	    hsm_key_alg(k) == HSM_KEY_EC_P384 ? "EC P-384" :
	    hsm_key_alg(k) == HSM_KEY_RSA_3072 ? "RSA-3072" : "RSA-4096");
	if ((pid1 = socket_peer_pid(argv[1])) <= 0 || (pid2 = socket_peer_pid(argv[2])) <= 0) {
		fprintf(stderr, "bench: cannot reach the signers\n");
		return 1;
	}

	/* baseline 1: naive X509_sign loop, one thread, a fifth of N (it is slow) */
	{
		FILE *f = fopen(argv[7], "r");
		na.ca = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
		if (f)
			fclose(f);
		if (na.ca == NULL) {
			fprintf(stderr, "bench: cannot read the CA certificate %s\n", argv[7]);
			return 1;
		}
	}
	nnaive = n / 5;
	na.n = nnaive;
	t0 = now_s();
	if (hsm_with_pkey(h, k, naive_loop, &na) != IK_OK)
		return 1;
	t_naive = now_s() - t0;

	/* The HSM limit and the signers, in ROUNDS interleaved rounds (the machine's load
	 * drifts): each round the 1-thread limit, the one-core signer, the 2-thread limit, the
	 * two-core signer; rates and per-round ratios are reported as medians. */
	RAND_bytes(tbs, sizeof(tbs));
	for (int r = 0; r < ROUNDS; r++) {
		long ok1 = 0, ok2 = 0;
		double c0, c1, c2, cc;
		t_hsm1 = hsm_limit(h, k, tbs, sizeof(tbs), n, ab ? 2 : 1, &c1);
		ch1[r] = c1 * 1e6 / (double)n;
		double rw1 = proc_runwait_s(pid1), rw2;
		double tr1[16], tw1[16], tr2[16], tw2[16];
		threads_rw(pid1, tr1, tw1);
		c0 = proc_cpu_s(pid1);
		t_sock1 = run_socket(argv[1], n, ab ? 2 : 1, ab ? -1 : 1, &ok1, &cc, &id1[r]);
		cc1[r] = cc * 1e6 / (double)n;
		cs1[r] = (proc_cpu_s(pid1) - c0) * 1e6 / (double)n;
		rw1 = (proc_runwait_s(pid1) - rw1) / t_sock1;
		t_hsm2 = hsm_limit(h, k, tbs, sizeof(tbs), n, 2, &c2);
		ch2[r] = c2 * 1e6 / (double)n;
		rw2 = proc_runwait_s(pid2);
		threads_rw(pid2, tr2, tw2);
		c0 = proc_cpu_s(pid2);
		t_sock2 = run_socket(argv[2], n, 2, -1, &ok2, &cc, &id2[r]);
		cc2[r] = cc * 1e6 / (double)n;
		cs2[r] = (proc_cpu_s(pid2) - c0) * 1e6 / (double)n;
		rw2 = (proc_runwait_s(pid2) - rw2) / t_sock2;
		if (ab) { /* the machine's idle share, and the signer's threads on or waiting for a CPU */
			printf("AB round %d: A %.0f/s %.1f us idle %.2f threads %.2f | B %.0f/s %.1f us "
			    "idle %.2f threads %.2f | limit %.0f %.0f/s\n", r, (double)ok1 / t_sock1, cs1[r],
			    id1[r], rw1, (double)ok2 / t_sock2, cs2[r], id2[r], rw2, (double)n / t_hsm1,
			    (double)n / t_hsm2);
			threads_print("A", pid1, tr1, tw1, t_sock1);
			threads_print("B", pid2, tr2, tw2, t_sock2);
		}
		if ((!ab && ok1 != n) || ok2 != n - n % 2) {
			fprintf(stderr, "bench: only %ld and %ld of %ld certificates issued\n", ok1, ok2, n);
			return 1;
		}
		h1[r] = (double)n / t_hsm1;
		h2[r] = (double)n / t_hsm2;
		s1[r] = (double)ok1 / t_sock1;
		s2[r] = (double)ok2 / t_sock2;
		q1[r] = s1[r] / h1[r];
		q2[r] = s2[r] / h2[r];
	}
	hsm_close(h);
	copied = copy_limits(&hc, argv[5], tbs, sizeof(tbs), n, cp_rate, cp_cpu);

	double r_naive = (double)nnaive / t_naive, r_h1 = median(h1), r_h2 = median(h2),
	       r_s1 = median(s1), r_s2 = median(s2);
	snprintf(label, sizeof(label), "operation (%s, SoftHSM)", alg);
	printf("| %-58s | %10s | %8s |\n", label, "per second", "ratio");
	printf("|%s|%s|%s|\n", "------------------------------------------------------------",
	    "------------", "----------");
	row("baseline: OpenSSL X509_sign loop, 1 thread", r_naive, 1.0);
	row("HSM limit: EVP_DigestSign of a prepared TBS, 1 thread", r_h1, 0);
	row("HSM limit: EVP_DigestSign of a prepared TBS, 2 threads", r_h2, 0);
	snprintf(label, sizeof(label), "inkan-signerd, one core: %ld certs, 1 conn, pipelined", n);
	row(label, r_s1, r_s1 / r_naive);
	row("  vs HSM limit, 1 thread (median of the rounds' ratios)", 0, median(q1));
	snprintf(label, sizeof(label), "inkan-signerd, two cores: %ld certs, 2 conns, pipelined", n);
	row(label, r_s2, r_s2 / r_naive);
	row("  vs HSM limit, 2 threads (median of the rounds' ratios)", 0, median(q2));
	printf("(HSM limits and signers: medians of %d interleaved rounds; ratios per round:", ROUNDS);
	for (int r = 0; r < ROUNDS; r++)
		printf(" %.2f/%.2f", q1[r], q2[r]);
	printf(")\n");
	cpu_table(ch1, cs1, ch2, cs2, cc1, cc2, id1, id2);
	if (copied)
		copy_rows(cp_rate, cp_cpu, cs1, cs2);
	return 0;
}
