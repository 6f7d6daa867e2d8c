/* Unit tests for signer/crl.c: build TBSCertLists from an issuing CA loaded with sg_ca_load,
 * sign and assemble them, and let OpenSSL judge the CRL (signature, version, issuer, times,
 * every entry's serial, date and reason, cRLNumber, AKI); the empty CRL; refusals; the
 * signer's file-backed path (entry lists built and merged with changes, signed in pieces:
 * the same TBS bytes as the in-memory encoder, judged by OpenSSL); and 1 000 000-entry
 * builds in child processes, timed and measured (peak RSS), not asserted. */
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
#include "crl.h"
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

/* ---- the signer's path: entry lists in files, merged, signed in pieces ---- */

static int entry_cmp(const void *a, const void *b)
{
	const sg_crl_entry *x = a, *y = b;
	int c = memcmp(x->serial, y->serial, x->serial_len < y->serial_len ? x->serial_len :
	    y->serial_len);

	if (c != 0)
		return c;
	return x->serial_len < y->serial_len ? -1 : x->serial_len > y->serial_len;
}

/* Sort in the ledger's order and drop repeated serials; returns the new count. */
static size_t sort_unique(sg_crl_entry *e, size_t n)
{
	size_t k = 0;

	qsort(e, n, sizeof(*e), entry_cmp);
	for (size_t i = 0; i < n; i++)
		if (k == 0 || entry_cmp(&e[k - 1], &e[i]) != 0)
			e[k++] = e[i];
	return k;
}

static ik_status with_test_key(void *arg, sg_crl_keyfn fn, void *fnarg)
{
	return fn(arg, fnarg);
}

/* The whole DER of a CRL, read back the way the signer sends it. */
static uint8_t *crl_bytes(const sg_crl *c)
{
	uint8_t *der = malloc(c->len);

	assert_non_null(der);
	for (size_t off = 0; off < c->len; off += 1000) /* in pieces that straddle the parts */
		assert_int_equal(sg_crl_read(c, off, der + off, c->len - off < 1000 ? c->len - off :
		    1000), IK_OK);
	assert_int_not_equal(sg_crl_read(c, c->len, der, 1), IK_OK);
	return der;
}

/* Sign a list, check the CRL with OpenSSL against the expected entries, and check that its
 * TBS is byte for byte the one the in-memory encoder makes from those entries. */
static void check_list_crl(fixture *f, sg_crl_list *list, uint64_t number,
    const sg_crl_entry *want, size_t n)
{
	const sg_crl_key key = { .with = with_test_key, .arg = f->t.key };
	array_src src = { .e = want, .n = n, .fail_at = SIZE_MAX };
	sg_crl *c = NULL;
	ik_buf tbs, in;
	const uint8_t *q, *v;
	size_t vn;
	uint8_t *der, md[32];
	X509_CRL *crl;

	assert_int_equal(sg_crl_sign(&f->ca, &key, number, g_now, g_now + 7 * TEST_DAY, list, &c),
	    IK_OK);
	assert_int_equal(c->count, n);
	assert_int_equal(c->number, number);
	der = crl_bytes(c);
	assert_int_equal(EVP_Digest(der, c->len, md, NULL, EVP_sha256(), NULL), 1);
	assert_memory_equal(md, c->sha256, 32);
	q = der;
	crl = d2i_X509_CRL(NULL, &q, (long)c->len);
	assert_non_null(crl);
	assert_ptr_equal(q, der + c->len);
	check_crl(f, crl, number, want, n);
	X509_CRL_free(crl);
	/* the TBS, against sg_crl_tbs_build */
	ik_buf_init(&tbs, 0);
	assert_int_equal(sg_crl_tbs_build(&f->ca, number, g_now, g_now + 7 * TEST_DAY, array_next,
	    &src, n, &tbs), IK_OK);
	ik_buf_view(&in, der, c->len);
	assert_int_equal(der_get_expect(&in, DER_SEQUENCE, &v, &vn), IK_OK);
	ik_buf_view(&in, v, vn);
	q = ik_buf_ptr(&in);
	assert_int_equal(der_get_expect(&in, DER_SEQUENCE, &v, &vn), IK_OK);
	assert_int_equal((size_t)(v + vn - q), ik_buf_remaining(&tbs));
	assert_memory_equal(q, ik_buf_ptr(&tbs), ik_buf_remaining(&tbs));
	ik_buf_cleanup(&tbs);
	free(der);
	sg_crl_unref(c);
}

static sg_crl_list *list_of(const sg_crl_entry *e, size_t n)
{
	array_src src = { .e = e, .n = n, .fail_at = SIZE_MAX };
	sg_crl_list *l = NULL;

	assert_int_equal(sg_crl_list_build("/tmp", array_next, &src, &l), IK_OK);
	assert_int_equal(sg_crl_list_count(l), n);
	return l;
}

static void test_list_sign(void **state)
{
	fixture *f = *state;
	size_t n = 3000;
	sg_crl_entry *e = make_entries(n);
	sg_crl_list *l;

	n = sort_unique(e, n);
	l = list_of(e, n);
	check_list_crl(f, l, 77, e, n);
	check_list_crl(f, l, UINT64_MAX, e, n);
	sg_crl_list_unref(l);
	for (size_t k = 0; k <= 3; k++) { /* tiny lists; none at all */
		l = list_of(e, k);
		check_list_crl(f, l, 5, e, k);
		sg_crl_list_unref(l);
	}
	check_list_crl(f, NULL, 6, e, 0);
	free(e);
}

/* Apply changes to a sorted set the slow way (the reference for the merge). */
static size_t apply_changes(sg_crl_entry *set, size_t n, const sg_crl_entry *ch, size_t nch)
{
	for (size_t i = 0; i < nch; i++) {
		size_t k;
		for (k = 0; k < n && entry_cmp(&set[k], &ch[i]) != 0; k++)
			;
		if (k < n) {
			set[k] = set[--n]; /* drop it; re-added below unless removed */
		}
		if (!ch[i].removed)
			set[n++] = ch[i];
	}
	return sort_unique(set, n);
}

static void test_merge(void **state)
{
	fixture *f = *state;
	size_t n = 2500, nch = 0, nwant;
	sg_crl_entry *e = make_entries(n), *ch = calloc(n, sizeof(*ch)), *want;
	sg_crl_list *old, *merged = NULL, *same = NULL;
	array_src src;

	assert_non_null(ch);
	n = sort_unique(e, n);
	/* the old list: every other entry */
	want = calloc(2 * n, sizeof(*want));
	assert_non_null(want);
	for (size_t i = 0; i < n; i += 2)
		want[nch++] = e[i];
	old = list_of(want, nch);
	nwant = nch;
	/* changes: some old ones removed, some given a new reason, some new ones added, some
	 * removals of serials never listed; the first and the last entries both changed */
	nch = 0;
	for (size_t i = 0; i < n; i++) {
		if (i % 5 == 0 || i == n - 1) {
			ch[nch] = e[i];
			if (i % 2 == 0 && i % 3 == 0)
				ch[nch].removed = 1;
			else if (i % 2 == 0)
				ch[nch].reason = ch[nch].reason == 1 ? 4 : 1;
			else if (i % 3 == 1)
				ch[nch].removed = 1; /* never listed */
			nch++;
		}
	}
	nwant = apply_changes(want, nwant, ch, nch);
	src = (array_src){ .e = ch, .n = nch, .fail_at = SIZE_MAX };
	assert_int_equal(sg_crl_list_merge("/tmp", old, array_next, &src, &merged), IK_OK);
	assert_int_equal(src.at, nch);
	assert_int_equal(sg_crl_list_count(merged), nwant);
	check_list_crl(f, merged, 8, want, nwant);
	/* the old list is untouched and still usable */
	assert_int_equal(sg_crl_list_count(old), (n + 1) / 2);
	/* no changes: the same list, one more reference */
	src = (array_src){ .e = ch, .n = 0, .fail_at = SIZE_MAX };
	assert_int_equal(sg_crl_list_merge("/tmp", merged, array_next, &src, &same), IK_OK);
	assert_ptr_equal(same, merged);
	sg_crl_list_unref(same);
	sg_crl_list_unref(merged);
	/* remove everything: an empty list, a CRL without revokedCertificates */
	for (size_t i = 0; i < n; i++) {
		ch[i] = e[i];
		ch[i].removed = 1;
	}
	src = (array_src){ .e = ch, .n = n, .fail_at = SIZE_MAX };
	assert_int_equal(sg_crl_list_merge("/tmp", old, array_next, &src, &merged), IK_OK);
	assert_int_equal(sg_crl_list_count(merged), 0);
	check_list_crl(f, merged, 9, want, 0);
	sg_crl_list_unref(merged);
	sg_crl_list_unref(old);
	free(want);
	free(ch);
	free(e);
}

static void test_list_refusals(void **state)
{
	fixture *f = *state;
	size_t n = 50;
	sg_crl_entry *e = make_entries(n), swap;
	sg_crl_list *l = NULL, *old;
	array_src src;
	const sg_crl_key key = { .with = with_test_key, .arg = f->t.key };
	sg_crl *c = NULL;

	n = sort_unique(e, n);
	old = list_of(e, n);
	/* a source out of order, repeated, failing, or with a removed entry: no list */
	swap = e[3];
	e[3] = e[4];
	e[4] = swap;
	src = (array_src){ .e = e, .n = n, .fail_at = SIZE_MAX };
	assert_int_equal(sg_crl_list_build("/tmp", array_next, &src, &l), IK_ERR_LEDGER);
	assert_null(l);
	src = (array_src){ .e = e, .n = n, .fail_at = SIZE_MAX };
	assert_int_equal(sg_crl_list_merge("/tmp", old, array_next, &src, &l), IK_ERR_LEDGER);
	assert_null(l);
	e[4] = e[3];
	src = (array_src){ .e = e, .n = n, .fail_at = SIZE_MAX };
	assert_int_equal(sg_crl_list_build("/tmp", array_next, &src, &l), IK_ERR_LEDGER);
	src = (array_src){ .e = e, .n = 5, .fail_at = SIZE_MAX };
	assert_int_equal(sg_crl_list_merge("/tmp", old, array_next, &src, &l), IK_ERR_LEDGER);
	src = (array_src){ .e = e, .n = n, .fail_at = 7 };
	assert_int_equal(sg_crl_list_build("/tmp", array_next, &src, &l), IK_ERR_LEDGER);
	src = (array_src){ .e = e, .n = n, .fail_at = 0 };
	assert_int_equal(sg_crl_list_merge("/tmp", old, array_next, &src, &l), IK_ERR_LEDGER);
	e[0].removed = 1;
	src = (array_src){ .e = e, .n = 1, .fail_at = SIZE_MAX };
	assert_int_equal(sg_crl_list_build("/tmp", array_next, &src, &l), IK_ERR_ARG);
	e[0].removed = 0;
	e[0].reason = 8; /* removeFromCRL: never on a full CRL */
	src = (array_src){ .e = e, .n = 1, .fail_at = SIZE_MAX };
	assert_int_equal(sg_crl_list_merge("/tmp", old, array_next, &src, &l), IK_ERR_ARG);
	/* no directory to put the file in */
	src = (array_src){ .e = e + 1, .n = 1, .fail_at = SIZE_MAX };
	assert_int_equal(sg_crl_list_build("/nonexistent-dir/x", array_next, &src, &l), IK_ERR_IO);
	assert_null(l);
	/* signing: times the wrong way round */
	assert_int_equal(sg_crl_sign(&f->ca, &key, 1, g_now, g_now, old, &c), IK_ERR_ARG);
	assert_null(c);
	sg_crl_list_unref(old);
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
		out[k].removed = 0;
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

static double ms_since(const struct timespec *a)
{
	struct timespec b;

	clock_gettime(CLOCK_MONOTONIC, &b);
	return (double)(b.tv_sec - a->tv_sec) * 1e3 + (double)(b.tv_nsec - a->tv_nsec) / 1e6;
}

/* The signer's path at a million: list in a file, signed in pieces; then one more entry
 * merged in (a serial after every generated one) and signed again. */
static int big_file_child(fixture *f)
{
	gen_src g = { .n = BIG_N, .prefix = { 0x40, 1, 2, 3, 4, 5, 6, 7 } };
	const sg_crl_key key = { .with = with_test_key, .arg = f->t.key };
	sg_crl_entry one;
	array_src src = { .e = &one, .n = 1, .fail_at = SIZE_MAX };
	sg_crl_list *l = NULL, *l2 = NULL;
	sg_crl *c = NULL, *c2 = NULL;
	struct timespec a;
	double t_list, t_sign, t_merge, t_sign2;

	clock_gettime(CLOCK_MONOTONIC, &a);
	if (sg_crl_list_build("/tmp", gen_next, &g, &l) != IK_OK)
		return 1;
	t_list = ms_since(&a);
	clock_gettime(CLOCK_MONOTONIC, &a);
	if (sg_crl_sign(&f->ca, &key, 10, g_now, g_now + TEST_DAY, l, &c) != IK_OK)
		return 2;
	t_sign = ms_since(&a);
	mkentry(&one, (const uint8_t *)"\x7f\x01", 2, g_now, 1);
	clock_gettime(CLOCK_MONOTONIC, &a);
	if (sg_crl_list_merge("/tmp", l, array_next, &src, &l2) != IK_OK)
		return 3;
	t_merge = ms_since(&a);
	clock_gettime(CLOCK_MONOTONIC, &a);
	if (sg_crl_sign(&f->ca, &key, 11, g_now, g_now + TEST_DAY, l2, &c2) != IK_OK)
		return 4;
	t_sign2 = ms_since(&a);
	if (c->count != BIG_N || c2->count != BIG_N + 1 || c2->len <= c->len)
		return 5;
	print_message("crl: %u entries in a file: list %.0f ms, sign %.0f ms (%zu bytes); "
	    "+1 merged %.0f ms, signed %.0f ms\n", BIG_N, t_list, t_sign, c->len, t_merge, t_sign2);
	sg_crl_unref(c);
	sg_crl_unref(c2);
	sg_crl_list_unref(l);
	sg_crl_list_unref(l2);
	return 0;
}

static void test_million_file(void **state)
{
	fixture *f = *state;
	struct rusage ru;
	int status = 0;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0)
		_exit(big_file_child(f));
	assert_int_equal(wait4(pid, &status, 0, &ru), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	print_message("crl: %u entries in a file: peak RSS of the building process %ld KiB\n",
	    BIG_N, ru.ru_maxrss);
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
		cmocka_unit_test_setup_teardown(test_million_file, setup_p256, teardown),
		cmocka_unit_test_setup_teardown(test_entries, setup_p256, teardown),
		cmocka_unit_test_setup_teardown(test_entries, setup_p384, teardown),
		cmocka_unit_test_setup_teardown(test_single_and_big_number, setup_p256, teardown),
		cmocka_unit_test_setup_teardown(test_empty, setup_p256, teardown),
		cmocka_unit_test_setup_teardown(test_refusals, setup_p256, teardown),
		cmocka_unit_test_setup_teardown(test_list_sign, setup_p256, teardown),
		cmocka_unit_test_setup_teardown(test_list_sign, setup_p384, teardown),
		cmocka_unit_test_setup_teardown(test_merge, setup_p256, teardown),
		cmocka_unit_test_setup_teardown(test_list_refusals, setup_p256, teardown),
	};

	g_now = (int64_t)time(NULL);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
