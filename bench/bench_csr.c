/* bench_csr: the RA's CSR check in process — CPU per call of ra_p12_spki_from_csr (the fast
 * path of ra/csr.c for EC keys) against OpenSSL's own parse + verify of the same request
 * (what the check did before), for a P-256 request in PEM as the API receives it.
 *   bench_csr [N]   (default 20000) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "p12.h"
#include "proto.h"

static double cpu_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 20000;
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509_REQ *req = X509_REQ_new();
	X509_NAME *nm = X509_NAME_new();
	BIO *b = BIO_new(BIO_s_mem());
	char *pem, cn[PROTO_MAX_ATTR_LEN + 1], why[256];
	long pemlen;
	ik_buf spki;
	double t0, t1, t2;

	if (k == NULL || req == NULL || nm == NULL || b == NULL || n <= 0)
		return 1;
	X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_UTF8, (const unsigned char *)"bench", -1, -1,
	    0);
	X509_REQ_set_subject_name(req, nm);
	X509_REQ_set_pubkey(req, k);
	if (X509_REQ_sign(req, k, EVP_sha256()) <= 0 || !PEM_write_bio_X509_REQ(b, req))
		return 1;
	pemlen = BIO_get_mem_data(b, &pem);
	ik_buf_init(&spki, 0);
	t0 = cpu_us();
	for (long i = 0; i < n; i++) {
		ik_buf_reset(&spki);
		if (ra_p12_spki_from_csr((const uint8_t *)pem, (size_t)pemlen, &spki, cn, sizeof(cn),
		    why, sizeof(why)) != IK_OK)
			return 1;
	}
	t1 = cpu_us();
	for (long i = 0; i < n; i++) {
		BIO *in = BIO_new_mem_buf(pem, (int)pemlen);
		X509_REQ *r = PEM_read_bio_X509_REQ(in, NULL, NULL, NULL);
		unsigned char *der = NULL;
		if (r == NULL || X509_REQ_verify(r, X509_REQ_get0_pubkey(r)) != 1 ||
		    i2d_X509_PUBKEY(X509_REQ_get_X509_PUBKEY(r), &der) <= 0)
			return 1;
		OPENSSL_free(der);
		X509_REQ_free(r);
		BIO_free(in);
	}
	t2 = cpu_us();
	printf("csr check, P-256 in PEM: ra_p12_spki_from_csr %.1f us, OpenSSL parse + verify "
	    "%.1f us (CPU per call, %ld calls)\n", (t1 - t0) / (double)n, (t2 - t1) / (double)n, n);
	ik_buf_cleanup(&spki);
	BIO_free(b);
	X509_NAME_free(nm);
	X509_REQ_free(req);
	EVP_PKEY_free(k);
	return 0;
}
