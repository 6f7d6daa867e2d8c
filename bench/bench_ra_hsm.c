/* bench_ra_hsm: the in-process baselines of bench/bench_ra.sh.
 *   limit TOKEN PINFILE KEYLABEL N THREADS: the HSM limit as bench_issue measures it
 *     (hsm_sign of one prepared 400-byte TBS, N signatures over THREADS threads); prints
 *     the rate per second and this process's CPU time per signature in µs (all threads,
 *     SoftHSM included: CLOCK_PROCESS_CPUTIME_ID around the signing).
 *   p12 CERT.pem N FLAVOUR: of an end-user download, the parts that must dominate it —
 *     credential check (scrypt, ra_password_verify), key generation (ra_p12_keygen,
 *     EC P-256) and the PKCS#12 (ra_p12_build: its KDFs, ciphers and MAC); prints the mean
 *     ms of each over N. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "auth.h"
#include "hsm.h"
#include "p12.h"

static double clock_s(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double now_s(void)
{
	return clock_s(CLOCK_MONOTONIC);
}

typedef struct sign_arg {
	hsm_ctx *h;
	hsm_key *k;
	const uint8_t *tbs;
	size_t len;
	long n, fails;
} sign_arg;

static void *sign_thread(void *argp)
{
	sign_arg *a = argp;
	uint8_t sig[1024];

	for (long i = 0; i < a->n; i++) {
		size_t siglen = sizeof(sig);
		if (hsm_sign(a->h, a->k, a->tbs, a->len, sig, &siglen) != IK_OK)
			a->fails++;
	}
	return NULL;
}

static int limit(char **argv)
{
	hsm_config hc = { .token_label = argv[0], .pin_file = argv[1], .pin_fd = -1 };
	hsm_ctx *h = NULL;
	hsm_key *k = NULL;
	long n = strtol(argv[3], NULL, 10);
	int threads = (int)strtol(argv[4], NULL, 10);
	pthread_t t[8];
	sign_arg a[8];
	uint8_t tbs[400];
	double t0, c0;
	long fails = 0, done;

	if (n < 1 || threads < 1 || threads > 8)
		return 2;
	if (hsm_open(&hc, &h) != IK_OK || hsm_key_find(h, argv[2], NULL, 0, &k) != IK_OK) {
		fprintf(stderr, "bench_ra_hsm: cannot open the token\n");
		return 1;
	}
	RAND_bytes(tbs, sizeof(tbs));
	t0 = now_s();
	c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
	for (int i = 0; i < threads; i++) {
		a[i] = (sign_arg){ .h = h, .k = k, .tbs = tbs, .len = sizeof(tbs), .n = n / threads };
		pthread_create(&t[i], NULL, sign_thread, &a[i]);
	}
	for (int i = 0; i < threads; i++) {
		pthread_join(t[i], NULL);
		fails += a[i].fails;
	}
	done = n / threads * threads - fails;
	printf("%.0f %.1f\n", (double)done / (now_s() - t0),
	    done > 0 ? (clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0) * 1e6 / (double)done : 0.0);
	hsm_close(h);
	return fails == 0 ? 0 : 1;
}

static ik_status self_signed(EVP_PKEY *key, ik_buf *out)
{
	X509 *x = X509_new();
	X509_NAME *nm = X509_NAME_new();
	uint8_t *der = NULL;
	int len = -1;
	ik_status st = IK_ERR_CRYPTO;

	if (x == NULL || nm == NULL ||
	    !X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC, (const unsigned char *)"bench", -1,
	    -1, 0) || !X509_set_subject_name(x, nm) || !X509_set_issuer_name(x, nm) ||
	    !ASN1_INTEGER_set(X509_get_serialNumber(x), 1) ||
	    X509_gmtime_adj(X509_getm_notBefore(x), 0) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x), 86400) == NULL || !X509_set_pubkey(x, key) ||
	    !X509_sign(x, key, EVP_sha256()) || (len = i2d_X509(x, &der)) <= 0)
		goto out;
	st = ik_buf_put(out, der, (size_t)len);
out:
	OPENSSL_free(der);
	X509_NAME_free(nm);
	X509_free(x);
	return st;
}

static int p12(char **argv)
{
	FILE *f = fopen(argv[0], "r");
	X509 *x = f != NULL ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
	uint8_t *der = NULL;
	int der_len = x != NULL ? i2d_X509(x, &der) : -1;
	long n = strtol(argv[1], NULL, 10);
	ra_p12_flavour fl;
	char phc[256];
	double t_ver = 0, t_key = 0, t_build = 0, t0;
	const uint8_t *chain[1];
	size_t chain_len[1];
	int rc = 1;

	if (f != NULL)
		fclose(f);
	if (der_len <= 0 || n < 1 || ra_p12_flavour_parse(argv[2], &fl) != IK_OK ||
	    ra_password_hash("Bench-secret 42!", phc, sizeof(phc)) != IK_OK)
		goto out;
	chain[0] = der;
	chain_len[0] = (size_t)der_len;
	for (long i = 0; i < n; i++) {
		EVP_PKEY *key = NULL;
		ik_buf spki, out, cert;
		ik_status st;

		ik_buf_init(&cert, 4096);
		ik_buf_init(&spki, 4096);
		ik_buf_init(&out, 1 << 16);
		t0 = now_s();
		st = ra_password_verify("Bench-secret 42!", phc);
		t_ver += now_s() - t0;
		t0 = now_s();
		if (st == IK_OK)
			st = ra_p12_keygen(RA_KEY_EC_P256, &key, &spki);
		t_key += now_s() - t0;
		/* the daemon's leaf comes from the signer; here a self-signed one for the same
		 * key, made outside the timing (the KDFs do not depend on the certificate) */
		if (st == IK_OK && (st = self_signed(key, &cert)) != IK_OK)
			goto out;
		t0 = now_s();
		if (st == IK_OK) {
			ra_p12_req pr = { .key = key, .cert = ik_buf_ptr(&cert),
			    .cert_len = ik_buf_remaining(&cert), .chain = chain, .chain_len = chain_len,
			    .nchain = 1, .password = "Bench-p12-pass 42!", .flavour = fl };
			st = ra_p12_build(&pr, &out);
		}
		t_build += now_s() - t0;
		EVP_PKEY_free(key);
		ik_buf_cleanup(&spki);
		ik_buf_cleanup(&out);
		ik_buf_cleanup(&cert);
		if (st != IK_OK)
			goto out;
	}
	printf("%.2f %.2f %.2f\n", t_ver * 1e3 / (double)n, t_key * 1e3 / (double)n,
	    t_build * 1e3 / (double)n);
	rc = 0;
out:
	X509_free(x);
	OPENSSL_free(der);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc == 7 && strcmp(argv[1], "limit") == 0)
		return limit(argv + 2);
	if (argc == 5 && strcmp(argv[1], "p12") == 0)
		return p12(argv + 2);
	fprintf(stderr, "usage: bench_ra_hsm limit TOKEN PINFILE KEYLABEL N THREADS\n"
	    "       bench_ra_hsm p12 CERT.pem N modern|compatible\n");
	return 2;
}
