/* micro_tbs: time sg_profile_check + sg_tbs_build + sg_lint_tbs per certificate (P-256
 * CA and leaf), without the HSM.  Not wired into CMake; build by hand, e.g.
 *   cc -O2 -D_GNU_SOURCE -Icommon -Isigner -Iproto -Itests/unit bench/micro_tbs.c \
 *      build/signer/libik_signer.a build/common/libik_common.a -lcrypto -lpthread */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "sg_testca.h"

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? strtol(argv[1], NULL, 10) : 200000;
	int64_t now = (int64_t)time(NULL);
	testca t;
	sg_profile p;
	proto_issue req;
	sg_leaf leaf;
	ik_buf tbs;
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	char why[256];
	double t0, t_check = 0, t_build = 0, t_lint = 0, a, b, c;

	if (n <= 0 || k == NULL || !testca_make(&t, "P-256", now) || !testca_request(&req, k, now))
		return 1;
	testca_profile(&p);
	ik_buf_init(&tbs, 0);
	for (long i = 0; i < n; i++) {
		t0 = mono();
		if (sg_profile_check(&p, &req, now, t.ca.not_after, &leaf, why, sizeof(why)) != IK_OK)
			goto fail;
		leaf.serial[0] = 0x40;
		for (int j = 1; j < 16; j++)
			leaf.serial[j] = (uint8_t)(i >> (j % 8));
		leaf.serial_len = 16;
		a = mono();
		ik_buf_reset(&tbs);
		if (sg_tbs_build(&t.ca, &p, &leaf, &tbs) != IK_OK)
			goto fail;
		b = mono();
		if (sg_lint_tbs(&t.ca, &p, &leaf, ik_buf_ptr(&tbs), ik_buf_remaining(&tbs), why,
		    sizeof(why)) != IK_OK)
			goto fail;
		c = mono();
		t_check += a - t0;
		t_build += b - a;
		t_lint += c - b;
	}
	printf("P-256, %ld certs, TBS %zu bytes: check %.2f us, build %.2f us, lint %.2f us, "
	    "total %.2f us per cert\n", n, ik_buf_remaining(&tbs), t_check / (double)n * 1e6,
	    t_build / (double)n * 1e6, t_lint / (double)n * 1e6,
	    (t_check + t_build + t_lint) / (double)n * 1e6);
	return 0;
fail:
	fprintf(stderr, "failed: %s\n", why);
	return 1;
}
