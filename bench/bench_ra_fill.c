/* bench_ra_fill: fills an RA store (ra_store_open applies the migrations) with N issued
 * certificates through the store API (ra_store_cert_import, 20 000 per transaction), for
 * bench/bench_ra.sh's million-row listing and search.  Common names "dev-NNNNNNN-<place>",
 * notBefore spread over the three years before now, states 85 % active, 9 % expired, 5 %
 * revoked, 1 % suspended; every row carries DER.pem's bytes (the listing does not parse them).
 * Usage: bench_ra_fill RA.sqlite N CERT.pem */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "store.h"

#define PER_TX 20000

static const char *const places[] = {
	"tokyo", "osaka", "nagoya", "sapporo", "fukuoka", "sendai", "kobe", "kyoto", "yokohama",
	"hiroshima", "naha", "kanazawa", "niigata", "shizuoka", "okayama", "kumamoto",
};

static int read_der(const char *path, uint8_t **der, int *len)
{
	FILE *f = fopen(path, "r");
	X509 *x = f != NULL ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;

	if (f != NULL)
		fclose(f);
	*der = NULL;
	*len = x != NULL ? i2d_X509(x, der) : -1;
	X509_free(x);
	return *len > 0;
}

static void one(uint64_t i, int64_t now, ra_cert_import *c, char *serial, char *cn)
{
	uint8_t r[16];
	uint32_t u;

	RAND_bytes(r, sizeof(r));
	r[0] &= 0x7f;
	r[0] |= 0x01;
	for (size_t k = 0; k < sizeof(r); k++)
		snprintf(serial + 2 * k, 3, "%02x", r[k]);
	memcpy(&u, r + 4, sizeof(u));
	snprintf(cn, 64, "dev-%07llu-%s", (unsigned long long)i,
	    places[u % (sizeof(places) / sizeof(places[0]))]);
	c->serial = serial;
	c->cn = cn;
	/* issued in order over three years; each valid a year */
	c->not_before = now - 3 * 365 * 86400LL + (int64_t)(i % 1000000) * 94;
	c->not_after = c->not_before + 365 * 86400LL;
	c->created = c->not_before;
	u %= 100;
	c->state = u < 85 ? RA_CERT_ACTIVE : u < 94 ? RA_CERT_EXPIRED : u < 99 ? RA_CERT_REVOKED :
	    RA_CERT_SUSPENDED;
	if (c->state == RA_CERT_ACTIVE && c->not_after <= now)
		c->state = RA_CERT_EXPIRED;
	c->reason = c->state == RA_CERT_REVOKED ? (int)(i % 6) : -1;
}

int main(int argc, char **argv)
{
	ra_store *s = NULL;
	uint8_t *der = NULL;
	int der_len = 0, rc = 1;
	uint64_t n;
	int64_t now = (int64_t)time(NULL);
	struct timespec t0, t1;

	if (argc != 4) {
		fprintf(stderr, "usage: bench_ra_fill RA.sqlite N CERT.pem\n");
		return 2;
	}
	n = strtoull(argv[2], NULL, 10);
	if (!read_der(argv[3], &der, &der_len)) {
		fprintf(stderr, "bench_ra_fill: cannot read a certificate from %s\n", argv[3]);
		return 2;
	}
	if (ra_store_open(argv[1], &s) != IK_OK) {
		fprintf(stderr, "bench_ra_fill: cannot open the store %s\n", argv[1]);
		goto out;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (uint64_t i = 0; i < n;) {
		if (ra_store_begin(s) != IK_OK)
			goto out;
		for (uint64_t k = 0; k < PER_TX && i < n; k++, i++) {
			ra_cert_import c = { .der = der, .der_len = (size_t)der_len };
			char serial[40], cn[64];
			one(i, now, &c, serial, cn);
			if (ra_store_cert_import(s, &c, NULL) != IK_OK) {
				fprintf(stderr, "bench_ra_fill: row %llu refused\n", (unsigned long long)i);
				ra_store_rollback(s);
				goto out;
			}
		}
		if (ra_store_commit(s) != IK_OK)
			goto out;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	fprintf(stderr, "bench_ra_fill: %llu certificates in %.1f s\n", (unsigned long long)n,
	    (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	rc = 0;
out:
	ra_store_close(s);
	OPENSSL_free(der);
	return rc;
}
