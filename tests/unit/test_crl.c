/* Unit tests for signer/crl.c: build TBSCertLists from an issuing CA loaded with sg_ca_load,
 * sign and assemble them, and let OpenSSL judge the CRL (signature, version, issuer, times,
 * every entry's serial, date and reason, cRLNumber, AKI); the empty CRL; refusals; and a
 * 1 000 000-entry build in a child process, timed and measured (peak RSS), not asserted. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include <openssl/pem.h>
#include "der.h"
#include "sg_testca.h"

typedef struct fixture {
	testca t;        /* the key (and OpenSSL's view of the CA) */
	sg_ca ca;        /* what sg_ca_load made of it */
	char path[64];
} fixture;

static int64_t g_now;

static int setup_kind(void **state, const char *kind)
{
	fixture *f = calloc(1, sizeof(*f));
	FILE *fp;
	int fd;

	if (f == NULL || !testca_make(&f->t, kind, g_now))
		return -1;
	snprintf(f->path, sizeof(f->path), "/tmp/ik-crl-ca-XXXXXX");
	if ((fd = mkstemp(f->path)) < 0 || (fp = fdopen(fd, "w")) == NULL)
		return -1;
	if (PEM_write_X509(fp, f->t.ca.cert) != 1 || fclose(fp) != 0)
		return -1;
	if (sg_ca_load(f->path, NULL, &f->ca) != IK_OK)
		return -1;
	*state = f;
	return 0;
}

static int setup_p256(void **state)
{
	return setup_kind(state, "P-256");
}

static int setup_p384(void **state)
{
	return setup_kind(state, "P-384");
}

static int teardown(void **state)
{
	fixture *f = *state;

	sg_ca_cleanup(&f->ca);
	testca_free(&f->t);
	unlink(f->path);
	free(f);
	return 0;
}

/* An array as an sg_crl_source; 'fail_at' makes it report an error there. */
typedef struct array_src {
	const sg_crl_entry *e;
	size_t n, at, fail_at;
} array_src;

static long array_next(void *arg, sg_crl_entry *out, size_t max)
{
	array_src *s = arg;
	size_t k = 0;

	while (k < max && s->at < s->n) {
		if (s->at == s->fail_at)
			return -1;
		out[k++] = s->e[s->at++];
	}
	return (long)k;
}

static void mkentry(sg_crl_entry *e, const uint8_t *serial, size_t n, int64_t when,
    uint8_t reason)
{
	memset(e, 0, sizeof(*e));
	memcpy(e->serial, serial, n);
	e->serial_len = n;
	e->when = when;
	e->reason = reason;
}

/* A varied set: serial lengths 1..20, a serial that needed a 0x00 pad, dates on both sides
 * of 2050, every reason a CRL may carry (including 0 = no extension, 6 = hold). */
static sg_crl_entry *make_entries(size_t n)
{
	static const uint8_t reasons[] = { 0, 1, 2, 3, 4, 5, 6, 9, 10 };
	sg_crl_entry *e = calloc(n == 0 ? 1 : n, sizeof(*e));

	assert_non_null(e);
	for (size_t i = 0; i < n; i++) {
		uint8_t s[PROTO_MAX_SERIAL];
		size_t len = 1 + i % PROTO_MAX_SERIAL;

		for (size_t k = 0; k < len; k++)
			s[k] = (uint8_t)(i * 31 + k * 7 + 1);
		s[0] = (uint8_t)(s[0] & 0x7f);
		if (s[0] == 0)
			s[0] = 1;
		if (i % 7 == 3 && len > 1) { /* a positive serial whose top byte needs a pad */
			s[0] = 0;
			s[1] |= 0x80;
		}
		mkentry(&e[i], s, len, i % 5 == 4 ? 2600000000 + (int64_t)i : g_now - (int64_t)i * 60,
		    reasons[i % sizeof(reasons)]);
	}
	return e;
}

/* Build, sign, assemble; returns the parsed CRL and leaves the TBS in *tbs. */
static X509_CRL *build_signed(fixture *f, uint64_t number, const sg_crl_entry *e, size_t n,
    ik_buf *tbs)
{
	array_src src = { .e = e, .n = n, .fail_at = SIZE_MAX };
	uint8_t sig[1024];
	size_t siglen = sizeof(sig);
	ik_buf out;
	const uint8_t *q;
	X509_CRL *crl;

	ik_buf_init(tbs, 0);
	ik_buf_init(&out, 0);
	assert_int_equal(sg_crl_tbs_build(&f->ca, number, g_now, g_now + 7 * TEST_DAY,
	    array_next, &src, n, tbs), IK_OK);
	assert_int_equal(src.at, n);
	assert_true(testca_sign(&f->t, ik_buf_ptr(tbs), ik_buf_remaining(tbs), sig, &siglen));
	assert_int_equal(sg_signed_assemble(f->ca.sig, ik_buf_ptr(tbs), ik_buf_remaining(tbs), sig,
	    siglen, &out), IK_OK);
	q = ik_buf_ptr(&out);
	crl = d2i_X509_CRL(NULL, &q, (long)ik_buf_remaining(&out));
	assert_non_null(crl);
	assert_ptr_equal(q, ik_buf_ptr(&out) + ik_buf_remaining(&out)); /* no trailing bytes */
	ik_buf_cleanup(&out);
	return crl;
}

static int64_t asn1_unix(const ASN1_TIME *t)
{
	struct tm tm;

	assert_int_equal(ASN1_TIME_to_tm(t, &tm), 1);
	return (int64_t)timegm(&tm);
}

static void check_crl(fixture *f, X509_CRL *crl, uint64_t number, const sg_crl_entry *e,
    size_t n)
{
	STACK_OF(X509_REVOKED) *rev = X509_CRL_get_REVOKED(crl);
	ASN1_INTEGER *num;
	AUTHORITY_KEYID *aki;
	int crit;

	assert_int_equal(X509_CRL_verify(crl, f->t.key), 1);
	assert_int_equal(X509_CRL_get_version(crl), 1); /* v2 */
	assert_int_equal(X509_NAME_cmp(X509_CRL_get_issuer(crl),
	    X509_get_subject_name(f->t.ca.cert)), 0);
	assert_int_equal(asn1_unix(X509_CRL_get0_lastUpdate(crl)), g_now);
	assert_int_equal(asn1_unix(X509_CRL_get0_nextUpdate(crl)), g_now + 7 * TEST_DAY);
	assert_int_equal(X509_CRL_get_signature_nid(crl),
	    f->ca.sig == SG_SIG_ECDSA_SHA384 ? NID_ecdsa_with_SHA384 : NID_ecdsa_with_SHA256);
	assert_int_equal(X509_CRL_get_ext_count(crl), 2);

	num = X509_CRL_get_ext_d2i(crl, NID_crl_number, &crit, NULL);
	assert_non_null(num);
	assert_int_equal(crit, 0);
	{
		uint64_t v = 0;
		assert_int_equal(ASN1_INTEGER_get_uint64(&v, num), 1);
		assert_int_equal(v, number);
	}
	ASN1_INTEGER_free(num);
	aki = X509_CRL_get_ext_d2i(crl, NID_authority_key_identifier, &crit, NULL);
	assert_non_null(aki);
	assert_int_equal(crit, 0);
	assert_non_null(aki->keyid);
	assert_null(aki->issuer);
	assert_null(aki->serial);
	assert_int_equal(ASN1_STRING_length(aki->keyid), f->ca.key_id_len);
	assert_memory_equal(ASN1_STRING_get0_data(aki->keyid), f->ca.key_id, f->ca.key_id_len);
	AUTHORITY_KEYID_free(aki);

	assert_int_equal(rev == NULL ? 0 : sk_X509_REVOKED_num(rev), (int)n);
	for (size_t i = 0; i < n; i++) {
		X509_REVOKED *r = sk_X509_REVOKED_value(rev, (int)i);
		BIGNUM *got = ASN1_INTEGER_to_BN(X509_REVOKED_get0_serialNumber(r), NULL);
		BIGNUM *want = BN_bin2bn(e[i].serial, (int)e[i].serial_len, NULL);
		ASN1_ENUMERATED *reason;

		assert_non_null(got);
		assert_non_null(want);
		assert_int_equal(BN_cmp(got, want), 0);
		BN_free(got);
		BN_free(want);
		assert_int_equal(asn1_unix(X509_REVOKED_get0_revocationDate(r)), e[i].when);
		reason = X509_REVOKED_get_ext_d2i(r, NID_crl_reason, &crit, NULL);
		if (e[i].reason == 0) {
			assert_null(reason);
			assert_int_equal(crit, -1); /* absent */
			assert_int_equal(X509_REVOKED_get_ext_count(r), 0);
		} else {
			assert_non_null(reason);
			assert_int_equal(crit, 0);
			assert_int_equal(ASN1_ENUMERATED_get(reason), e[i].reason);
			assert_int_equal(X509_REVOKED_get_ext_count(r), 1);
			ASN1_ENUMERATED_free(reason);
		}
	}
}

/* The field after nextUpdate in the TBS: 0x30 (revokedCertificates) or 0xa0 (extensions). */
static uint8_t tag_after_next_update(const ik_buf *tbs)
{
	ik_buf b, in;
	const uint8_t *v;
	size_t n;
	uint8_t tag;

	ik_buf_view(&b, ik_buf_ptr(tbs), ik_buf_remaining(tbs));
	assert_int_equal(der_get_expect(&b, DER_SEQUENCE, &v, &n), IK_OK);
	assert_int_equal(ik_buf_remaining(&b), 0);
	ik_buf_view(&in, v, n);
	assert_int_equal(der_get_expect(&in, DER_INTEGER, &v, &n), IK_OK);
	assert_int_equal(n, 1);
	assert_int_equal(v[0], 1);
	assert_int_equal(der_get_expect(&in, DER_SEQUENCE, &v, &n), IK_OK); /* signature */
	assert_int_equal(der_get_expect(&in, DER_SEQUENCE, &v, &n), IK_OK); /* issuer */
	assert_int_equal(der_get_tlv(&in, &tag, &v, &n), IK_OK);             /* thisUpdate */
	assert_int_equal(der_get_tlv(&in, &tag, &v, &n), IK_OK);             /* nextUpdate */
	assert_int_equal(der_get_tlv(&in, &tag, &v, &n), IK_OK);
	return tag;
}

static void test_entries(void **state)
{
	fixture *f = *state;
	size_t n = 2000;
	sg_crl_entry *e = make_entries(n);
	ik_buf tbs;
	X509_CRL *crl = build_signed(f, 42, e, n, &tbs);

	check_crl(f, crl, 42, e, n);
	assert_int_equal(tag_after_next_update(&tbs), DER_SEQUENCE);
	/* a lookup by serial works on what OpenSSL parsed */
	{
		X509_REVOKED *r = NULL;
		ASN1_INTEGER *s = ASN1_INTEGER_new();
		BIGNUM *bn = BN_bin2bn(e[123].serial, (int)e[123].serial_len, NULL);

		assert_non_null(BN_to_ASN1_INTEGER(bn, s));
		assert_int_equal(X509_CRL_get0_by_serial(crl, &r, s), 1);
		ASN1_INTEGER_free(s);
		BN_free(bn);
	}
	X509_CRL_free(crl);
	ik_buf_cleanup(&tbs);
	free(e);
}

static void test_single_and_big_number(void **state)
{
	fixture *f = *state;
	sg_crl_entry e;
	ik_buf tbs;
	X509_CRL *crl;

	mkentry(&e, (const uint8_t *)"\x01", 1, g_now, 1);
	crl = build_signed(f, UINT64_MAX, &e, 1, &tbs); /* a cRLNumber needing 9 octets */
	check_crl(f, crl, UINT64_MAX, &e, 1);
	X509_CRL_free(crl);
	ik_buf_cleanup(&tbs);
	/* revokedCertificates just over 127 and 255 bytes: the length forms change */
	for (size_t n = 2; n <= 12; n++) {
		sg_crl_entry *many = make_entries(n);
		crl = build_signed(f, n, many, n, &tbs);
		check_crl(f, crl, n, many, n);
		X509_CRL_free(crl);
		ik_buf_cleanup(&tbs);
		free(many);
	}
}

static void test_empty(void **state)
{
	fixture *f = *state;
	ik_buf tbs;
	X509_CRL *crl = build_signed(f, 1, NULL, 0, &tbs);

	check_crl(f, crl, 1, NULL, 0);
	/* the optional field is absent, not an empty SEQUENCE */
	assert_int_equal(tag_after_next_update(&tbs), DER_CTX(0));
	X509_CRL_free(crl);
	ik_buf_cleanup(&tbs);
}

static ik_status try_build(fixture *f, const sg_crl_entry *e, size_t n, size_t count,
    size_t fail_at, int64_t this_update, int64_t next_update)
{
	array_src src = { .e = e, .n = n, .fail_at = fail_at };
	ik_buf tbs;
	ik_status st;

	ik_buf_init(&tbs, 0);
	st = sg_crl_tbs_build(&f->ca, 7, this_update, next_update, array_next, &src, count, &tbs);
	ik_buf_cleanup(&tbs);
	return st;
}

static void test_refusals(void **state)
{
	fixture *f = *state;
	sg_crl_entry *e = make_entries(10), bad;
	int64_t t = g_now, nu = g_now + TEST_DAY;

	assert_int_equal(try_build(f, e, 10, 10, SIZE_MAX, t, nu), IK_OK);
	/* the source gives fewer or more entries than announced, or fails */
	assert_int_not_equal(try_build(f, e, 9, 10, SIZE_MAX, t, nu), IK_OK);
	assert_int_not_equal(try_build(f, e, 10, 9, SIZE_MAX, t, nu), IK_OK);
	assert_int_not_equal(try_build(f, e, 10, 0, SIZE_MAX, t, nu), IK_OK);
	assert_int_not_equal(try_build(f, e, 10, 10, 5, t, nu), IK_OK);
	/* nextUpdate must follow thisUpdate */
	assert_int_equal(try_build(f, e, 10, 10, SIZE_MAX, nu, t), IK_ERR_ARG);
	assert_int_equal(try_build(f, e, 10, 10, SIZE_MAX, t, t), IK_ERR_ARG);
	/* serials: empty, too long, negative, not minimal, zero; a reason a CRL cannot carry;
	 * a date before 1970 */
	mkentry(&bad, (const uint8_t *)"\x01", 0, t, 1);
	assert_int_equal(try_build(f, &bad, 1, 1, SIZE_MAX, t, nu), IK_ERR_ARG);
	mkentry(&bad, (const uint8_t *)"\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x01\x02\x03\x04"
	    "\x05\x06\x07\x08\x09\x0a", PROTO_MAX_SERIAL, t, 1);
	assert_int_equal(try_build(f, &bad, 1, 1, SIZE_MAX, t, nu), IK_OK);
	bad.serial_len = PROTO_MAX_SERIAL + 1;
	assert_int_equal(try_build(f, &bad, 1, 1, SIZE_MAX, t, nu), IK_ERR_ARG);
	mkentry(&bad, (const uint8_t *)"\x80\x01", 2, t, 1);
	assert_int_equal(try_build(f, &bad, 1, 1, SIZE_MAX, t, nu), IK_ERR_ARG);
	mkentry(&bad, (const uint8_t *)"\x00\x01", 2, t, 1);
	assert_int_equal(try_build(f, &bad, 1, 1, SIZE_MAX, t, nu), IK_ERR_ARG);
	mkentry(&bad, (const uint8_t *)"\x00", 1, t, 1);
	assert_int_equal(try_build(f, &bad, 1, 1, SIZE_MAX, t, nu), IK_ERR_ARG);
	mkentry(&bad, (const uint8_t *)"\x05", 1, t, 7);
	assert_int_equal(try_build(f, &bad, 1, 1, SIZE_MAX, t, nu), IK_ERR_ARG);
	mkentry(&bad, (const uint8_t *)"\x05", 1, t, 11);
	assert_int_equal(try_build(f, &bad, 1, 1, SIZE_MAX, t, nu), IK_ERR_ARG);
	mkentry(&bad, (const uint8_t *)"\x05", 1, -1, 1);
	assert_int_not_equal(try_build(f, &bad, 1, 1, SIZE_MAX, t, nu), IK_OK);
	free(e);
}

/* ---- one million entries, in a child so its peak RSS is its own ---- */

#define BIG_N 1000000u

typedef struct gen_src {
	size_t at, n;
	uint8_t prefix[8];
} gen_src;

/* Entries made on the fly (no array of a million in memory): 16-byte serials in
 * increasing order, one reason in eleven is 0. */
static long gen_next(void *arg, sg_crl_entry *out, size_t max)
{
	static const uint8_t reasons[] = { 0, 1, 2, 3, 4, 5, 6, 9, 10, 1, 4 };
	gen_src *g = arg;
	size_t k = 0;

	for (; k < max && g->at < g->n; k++, g->at++) {
		uint64_t i = g->at;

		memcpy(out[k].serial, g->prefix, 8);
		for (int b = 15; b >= 8; b--) {
			out[k].serial[b] = (uint8_t)(i & 0xff);
			i >>= 8;
		}
		out[k].serial_len = 16;
		out[k].when = 1700000000 + (int64_t)g->at;
		out[k].reason = reasons[g->at % sizeof(reasons)];
	}
	return (long)k;
}

static long rss_kib(void)
{
	FILE *fp = fopen("/proc/self/statm", "r");
	long pages = 0, rss = 0;

	if (fp == NULL)
		return -1;
	if (fscanf(fp, "%ld %ld", &pages, &rss) != 2)
		rss = -1;
	fclose(fp);
	return rss < 0 ? -1 : rss * (sysconf(_SC_PAGESIZE) / 1024);
}

static int big_child(fixture *f)
{
	gen_src g = { .n = BIG_N, .prefix = { 0x40, 1, 2, 3, 4, 5, 6, 7 } };
	struct timespec a, b;
	ik_buf tbs, in;
	const uint8_t *v;
	size_t n, entries = 0;
	long before = rss_kib();
	uint8_t tag;

	ik_buf_init(&tbs, 0);
	clock_gettime(CLOCK_MONOTONIC, &a);
	if (sg_crl_tbs_build(&f->ca, 9, g_now, g_now + TEST_DAY, gen_next, &g, BIG_N, &tbs) != IK_OK)
		return 1;
	clock_gettime(CLOCK_MONOTONIC, &b);
	print_message("crl: %u entries: TBS %zu bytes in %.1f ms (RSS before %ld KiB)\n", BIG_N,
	    tbs.len, (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6,
	    before);
	/* walk it: every entry present, in order */
	ik_buf_view(&in, tbs.data, tbs.len);
	if (der_get_expect(&in, DER_SEQUENCE, &v, &n) != IK_OK || ik_buf_remaining(&in) != 0)
		return 2;
	ik_buf_view(&in, v, n);
	for (int k = 0; k < 5; k++)
		if (der_get_tlv(&in, &tag, &v, &n) != IK_OK)
			return 3;
	if (der_get_expect(&in, DER_SEQUENCE, &v, &n) != IK_OK)
		return 4;
	{
		ik_buf list;
		ik_buf_view(&list, v, n);
		while (ik_buf_remaining(&list) > 0) {
			ik_buf ent;
			const uint8_t *s;
			size_t sn;
			if (der_get_expect(&list, DER_SEQUENCE, &v, &n) != IK_OK)
				return 5;
			ik_buf_view(&ent, v, n);
			uint8_t want[16];
			gen_src one = { .at = entries, .n = entries + 1, .prefix = { 0x40, 1, 2, 3, 4, 5, 6, 7 } };
			sg_crl_entry x;
			if (gen_next(&one, &x, 1) != 1)
				return 6;
			memcpy(want, x.serial, 16);
			if (der_get_expect(&ent, DER_INTEGER, &s, &sn) != IK_OK || sn != 16 ||
			    memcmp(s, want, 16) != 0)
				return 6;
			entries++;
		}
	}
	if (entries != BIG_N || der_get_expect(&in, DER_CTX(0), &v, &n) != IK_OK)
		return 7;
	ik_buf_cleanup(&tbs);
	return 0;
}

static void test_million(void **state)
{
	fixture *f = *state;
	struct rusage ru;
	int status = 0;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0)
		_exit(big_child(f));
	assert_int_equal(wait4(pid, &status, 0, &ru), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	print_message("crl: %u entries: peak RSS of the building process %ld KiB\n", BIG_N,
	    ru.ru_maxrss);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_million, setup_p256, teardown),
		cmocka_unit_test_setup_teardown(test_entries, setup_p256, teardown),
		cmocka_unit_test_setup_teardown(test_entries, setup_p384, teardown),
		cmocka_unit_test_setup_teardown(test_single_and_big_number, setup_p256, teardown),
		cmocka_unit_test_setup_teardown(test_empty, setup_p256, teardown),
		cmocka_unit_test_setup_teardown(test_refusals, setup_p256, teardown),
	};

	g_now = (int64_t)time(NULL);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
