/* Unit tests for signer/lint.c: a TBS from sg_tbs_build passes; then the TBS is mutated
 * in ways the builder never would (in place, or re-encoded field by field with der.c)
 * and each mutation must be refused with POLICY_LINT and a why naming the rule. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>
#include "der.h"
#include "oid.h"
#include "sg_testca.h"

#define MAXP 12

typedef struct piece {
	const uint8_t *p;
	size_t n;
} piece;

/* The TBS split into its top-level fields and (field 7) its extensions. */
typedef struct model {
	piece f[MAXP];
	size_t nf;
	piece e[MAXP];
	size_t ne;
} model;

typedef struct fix {
	testca t;
	sg_profile p;
	proto_issue req;
	sg_leaf leaf;
	ik_buf tbs;
	EVP_PKEY *k;
	model m;
} fix;

static int64_t g_now;

static size_t split(const uint8_t *p, size_t n, piece *out, size_t max)
{
	ik_buf b;
	size_t k = 0;

	ik_buf_view(&b, p, n);
	while (ik_buf_remaining(&b) > 0) {
		const uint8_t *start = ik_buf_ptr(&b), *v;
		size_t off = b.off, len;
		uint8_t tag;

		assert_true(k < max);
		assert_int_equal(der_get_tlv(&b, &tag, &v, &len), IK_OK);
		out[k].p = start;
		out[k].n = b.off - off;
		k++;
	}
	return k;
}

/* Contents of a TLV given as a piece. */
static piece contents(piece x)
{
	ik_buf b;
	piece r;
	uint8_t tag;

	ik_buf_view(&b, x.p, x.n);
	assert_int_equal(der_get_tlv(&b, &tag, &r.p, &r.n), IK_OK);
	return r;
}

static void model_load(model *m, const ik_buf *tbs)
{
	piece all = { ik_buf_ptr(tbs), ik_buf_remaining(tbs) };

	m->nf = split(contents(all).p, contents(all).n, m->f, MAXP);
	assert_int_equal(m->nf, 8);
	m->ne = split(contents(contents(m->f[7])).p, contents(contents(m->f[7])).n, m->e, MAXP);
}

static void emit(ik_buf *out, uint8_t tag, const piece *ps, size_t n)
{
	size_t mk;

	assert_int_equal(der_begin(out, tag, &mk), IK_OK);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(ik_buf_put(out, ps[i].p, ps[i].n), IK_OK);
	assert_int_equal(der_end(out, mk), IK_OK);
}

/* Re-encode the model into out (fields, with field 7 rebuilt from the extensions). */
static void model_emit(const model *m, ik_buf *out)
{
	ik_buf exts;
	size_t mk, mk2;

	ik_buf_init(&exts, 0);
	assert_int_equal(der_begin(&exts, DER_CTX(3), &mk), IK_OK);
	emit(&exts, DER_SEQUENCE, m->e, m->ne);
	assert_int_equal(der_end(&exts, mk), IK_OK);
	assert_int_equal(der_begin(out, DER_SEQUENCE, &mk2), IK_OK);
	for (size_t i = 0; i < m->nf; i++) {
		if (i == 7)
			assert_int_equal(ik_buf_put(out, exts.data, exts.len), IK_OK);
		else
			assert_int_equal(ik_buf_put(out, m->f[i].p, m->f[i].n), IK_OK);
	}
	assert_int_equal(der_end(out, mk2), IK_OK);
	ik_buf_cleanup(&exts);
}

static int setup(void **state)
{
	fix *f = calloc(1, sizeof(*f));
	char why[256];

	if (f == NULL || !testca_make(&f->t, "P-256", g_now))
		return -1;
	testca_profile(&f->p);
	f->k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (f->k == NULL || !testca_request(&f->req, f->k, g_now))
		return -1;
	if (sg_profile_check(&f->p, &f->req, g_now, f->t.ca.not_after, &f->leaf, why,
	    sizeof(why)) != IK_OK || !testca_serial(&f->leaf))
		return -1;
	ik_buf_init(&f->tbs, 0);
	if (sg_tbs_build(&f->t.ca, &f->p, &f->leaf, &f->tbs) != IK_OK)
		return -1;
	model_load(&f->m, &f->tbs);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fix *f = *state;

	ik_buf_cleanup(&f->tbs);
	OPENSSL_free((void *)f->req.spki);
	EVP_PKEY_free(f->k);
	testca_free(&f->t);
	free(f);
	return 0;
}

static void lint_refuses(const fix *f, const sg_ca *ca, const uint8_t *p, size_t n,
    const char *part)
{
	char why[256] = "";

	assert_int_equal(sg_lint_tbs(ca, &f->p, &f->leaf, p, n, why, sizeof(why)),
	    IK_ERR_POLICY_LINT);
	if (strstr(why, part) == NULL)
		fail_msg("why '%s' does not mention '%s'", why, part);
}

static void model_refuses(const fix *f, const model *m, const char *part)
{
	ik_buf out;

	ik_buf_init(&out, 0);
	model_emit(m, &out);
	lint_refuses(f, &f->t.ca, out.data, out.len, part);
	ik_buf_cleanup(&out);
}

/* Find needle in the TBS copy (must be there). */
static uint8_t *find(uint8_t *p, size_t n, const void *needle, size_t k)
{
	uint8_t *r = memmem(p, n, needle, k);

	assert_non_null(r);
	return r;
}

static void test_good(void **state)
{
	fix *f = *state;
	char why[256] = "";
	ik_buf again;

	assert_int_equal(sg_lint_tbs(&f->t.ca, &f->p, &f->leaf, ik_buf_ptr(&f->tbs),
	    ik_buf_remaining(&f->tbs), why, sizeof(why)), IK_OK);
	assert_int_equal(f->m.ne, 7);
	/* the test's own re-encoder is faithful: an unmodified model is the same bytes */
	ik_buf_init(&again, 0);
	model_emit(&f->m, &again);
	assert_int_equal(again.len, f->tbs.len);
	assert_memory_equal(again.data, f->tbs.data, again.len);
	ik_buf_cleanup(&again);
}

static void test_in_place(void **state)
{
	fix *f = *state;
	size_t n = ik_buf_remaining(&f->tbs);
	uint8_t *c = malloc(n + 1), *x;
	sg_ca ca = f->t.ca;

	assert_non_null(c);
#define RESET() memcpy(c, ik_buf_ptr(&f->tbs), n)
	RESET();
	/* serial: another value, then negative */
	x = find(c, n, f->leaf.serial, f->leaf.serial_len);
	x[f->leaf.serial_len - 1] ^= 0x01;
	lint_refuses(f, &ca, c, n, "serialNumber differs");
	RESET();
	x[0] |= 0x80;
	lint_refuses(f, &ca, c, n, "serialNumber must be positive");
	RESET();
	/* EKU serverAuth instead of clientAuth */
	x = find(c, n, "\x2b\x06\x01\x05\x05\x07\x03\x02", 8);
	x[7] = 0x01;
	lint_refuses(f, &ca, c, n, "extKeyUsage must be exactly clientAuth");
	RESET();
	/* issuer changed (a letter of the CA's CN) */
	x = find(c, n, "Example Issuing CA", 18);
	x[0] = 'e';
	lint_refuses(f, &ca, c, n, "issuer differs");
	RESET();
	/* subject CN changed, then given the wrong string type */
	x = find(c, n, "alice", 5);
	x[0] = 'A';
	lint_refuses(f, &ca, c, n, "value differs");
	RESET();
	x[-2] = DER_PRINTABLESTRING;
	lint_refuses(f, &ca, c, n, "wrong string type");
	RESET();
	/* a bit of the public key */
	x = find(c, n, f->leaf.key.pubkey_bits, f->leaf.key.pubkey_bits_len);
	x[10] ^= 0x40;
	lint_refuses(f, &ca, c, n, "subjectPublicKeyInfo differs");
	RESET();
	/* keyUsage: keyCertSign added; cRLSign instead; non-DER unused-bits count */
	x = find(c, n, "\x03\x02\x07\x80", 4);
	x[2] = 0x02;
	x[3] = 0x84;
	lint_refuses(f, &ca, c, n, "keyCertSign not allowed");
	x[2] = 0x01;
	x[3] = 0x82;
	lint_refuses(f, &ca, c, n, "cRLSign not allowed");
	x[2] = 0x00;
	x[3] = 0x80;
	lint_refuses(f, &ca, c, n, "not DER");
	RESET();
	/* CRL URL and OCSP URL changed */
	x = find(c, n, "issuing.crl", 11);
	x[0] = 'X';
	lint_refuses(f, &ca, c, n, "cRLDistributionPoints");
	RESET();
	x = find(c, n, "ocsp.example", 12);
	x[0] = 'X';
	lint_refuses(f, &ca, c, n, "authorityInfoAccess OCSP");
	RESET();
	/* AKI / SKI bytes */
	x = find(c, n, ca.key_id, ca.key_id_len);
	x[0] ^= 0xff;
	lint_refuses(f, &ca, c, n, "authorityKeyIdentifier");
	RESET();
	x = find(c, n, "\x04\x16\x04\x14", 4); /* OCTET STRING { OCTET STRING (20) } */
	x[4] ^= 0xff;
	lint_refuses(f, &ca, c, n, "subjectKeyIdentifier is not SHA-1");
	RESET();
	/* trailing garbage, truncation */
	c[n] = 0x00;
	lint_refuses(f, &ca, c, n + 1, "trailing bytes after TBSCertificate");
	lint_refuses(f, &ca, c, n - 1, "not a DER SEQUENCE");
	lint_refuses(f, &ca, c, 0, "not a DER SEQUENCE");
	/* the CA: other algorithm, other name, shorter life */
	ca.sig = SG_SIG_ECDSA_SHA384;
	lint_refuses(f, &ca, c, n, "signature algorithm does not match");
	ca = f->t.ca;
	ca.name_len--;
	lint_refuses(f, &ca, c, n, "issuer differs");
	ca = f->t.ca;
	ca.not_after = g_now + 30 * TEST_DAY;
	lint_refuses(f, &ca, c, n, "beyond the CA's notAfter");
#undef RESET
	free(c);
}

static void test_fields(void **state)
{
	fix *f = *state;
	model m;
	ik_buf tmp;
	size_t mk;
	static const uint8_t v2[] = { 0xa0, 0x03, 0x02, 0x01, 0x01 };
	static const uint8_t uid[] = { 0x81, 0x02, 0x00, 0xff };
	static const uint8_t junk[] = { 0x05, 0x00 };
	uint8_t serial21[23] = { 0x02, 21, 0x01 };

	ik_buf_init(&tmp, 0);
	m = f->m;
	m.f[0] = (piece){ v2, sizeof(v2) };
	model_refuses(f, &m, "version must be v3");
	m = f->m;
	m.f[1] = (piece){ serial21, sizeof(serial21) };
	model_refuses(f, &m, "1..20 octets");
	/* validity: 398 days, inverted, GeneralizedTime before 2050 */
	m = f->m;
	assert_int_equal(der_begin(&tmp, DER_SEQUENCE, &mk), IK_OK);
	assert_int_equal(der_put_time(&tmp, f->leaf.not_before), IK_OK);
	assert_int_equal(der_put_time(&tmp, f->leaf.not_before + 398 * TEST_DAY), IK_OK);
	assert_int_equal(der_end(&tmp, mk), IK_OK);
	m.f[4] = (piece){ tmp.data, tmp.len };
	model_refuses(f, &m, "exceeds profile maximum");
	ik_buf_reset(&tmp);
	assert_int_equal(der_begin(&tmp, DER_SEQUENCE, &mk), IK_OK);
	assert_int_equal(der_put_time(&tmp, f->leaf.not_after), IK_OK);
	assert_int_equal(der_put_time(&tmp, f->leaf.not_before), IK_OK);
	assert_int_equal(der_end(&tmp, mk), IK_OK);
	m.f[4] = (piece){ tmp.data, tmp.len };
	model_refuses(f, &m, "notBefore must be before notAfter");
	ik_buf_reset(&tmp);
	assert_int_equal(der_begin(&tmp, DER_SEQUENCE, &mk), IK_OK);
	assert_int_equal(der_put_tlv(&tmp, DER_GENERALIZEDTIME, (const uint8_t *)"20230101000000Z",
	    15), IK_OK);
	assert_int_equal(der_put_time(&tmp, f->leaf.not_after), IK_OK);
	assert_int_equal(der_end(&tmp, mk), IK_OK);
	m.f[4] = (piece){ tmp.data, tmp.len };
	model_refuses(f, &m, "GeneralizedTime used before 2050");
	/* subject with the last RDN dropped; RDNs swapped */
	{
		piece rdn[MAXP], sw;
		size_t nr = split(contents(f->m.f[5]).p, contents(f->m.f[5]).n, rdn, MAXP);

		assert_int_equal(nr, 5);
		ik_buf_reset(&tmp);
		emit(&tmp, DER_SEQUENCE, rdn, nr - 1);
		m = f->m;
		m.f[5] = (piece){ tmp.data, tmp.len };
		model_refuses(f, &m, "subject has 4 attributes, want 5");
		sw = rdn[0];
		rdn[0] = rdn[1];
		rdn[1] = sw;
		ik_buf_reset(&tmp);
		emit(&tmp, DER_SEQUENCE, rdn, nr);
		m.f[5] = (piece){ tmp.data, tmp.len };
		model_refuses(f, &m, "wrong attribute type");
	}
	/* issuerUniqueID before the extensions; a field after them */
	m = f->m;
	m.f[8] = m.f[7];
	m.f[7] = (piece){ uid, sizeof(uid) };
	m.nf = 9;
	{
		ik_buf out;

		ik_buf_init(&out, 0);
		emit(&out, DER_SEQUENCE, m.f, m.nf);
		lint_refuses(f, &f->t.ca, out.data, out.len, "issuerUniqueID");
		ik_buf_reset(&out);
		m = f->m;
		m.f[8] = (piece){ junk, sizeof(junk) };
		emit(&out, DER_SEQUENCE, m.f, 9);
		lint_refuses(f, &f->t.ca, out.data, out.len, "trailing fields after extensions");
		ik_buf_reset(&out);
		emit(&out, DER_SEQUENCE, m.f, 7); /* no extensions at all */
		lint_refuses(f, &f->t.ca, out.data, out.len, "extensions missing");
		ik_buf_cleanup(&out);
	}
	ik_buf_cleanup(&tmp);
}

/* An Extension with critical: -1 absent, 0 explicit FALSE, 1 TRUE. */
static piece make_ext(ik_buf *b, const char *oid, size_t oidlen, int critical,
    const uint8_t *val, size_t vlen)
{
	size_t start = b->len, mk;
	uint8_t bv = critical > 0 ? 0xff : 0x00;

	assert_int_equal(der_begin(b, DER_SEQUENCE, &mk), IK_OK);
	assert_int_equal(der_put_tlv(b, DER_OID, (const uint8_t *)oid, oidlen), IK_OK);
	if (critical >= 0)
		assert_int_equal(der_put_tlv(b, DER_BOOLEAN, &bv, 1), IK_OK);
	assert_int_equal(der_put_tlv(b, DER_OCTET_STRING, val, vlen), IK_OK);
	assert_int_equal(der_end(b, mk), IK_OK);
	return (piece){ b->data + start, b->len - start };
}

static void test_extensions(void **state)
{
	fix *f = *state;
	model m;
	ik_buf b;
	static const uint8_t ca_true[] = { 0x30, 0x03, 0x01, 0x01, 0xff };
	static const uint8_t pathlen[] = { 0x30, 0x03, 0x02, 0x01, 0x00 };
	static const uint8_t empty_seq[] = { 0x30, 0x00 };
	static const uint8_t ku[] = { 0x03, 0x02, 0x07, 0x80 };
	static const uint8_t eku_two[] = { 0x30, 0x14, 0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05,
		0x07, 0x03, 0x02, 0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x01 };
	static const uint8_t eku[] = { 0x30, 0x0a, 0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05,
		0x07, 0x03, 0x02 };
	static const uint8_t san[] = { 0x30, 0x05, 0x82, 0x03, 'a', '.', 'b' };

	/* the extensions come in builder order: BC, KU, EKU, SKI, AKI, CRLDP, AIA */
	ik_buf_init(&b, 0); /* capacity reserved below: pieces point into b */
	assert_int_equal(ik_buf_reserve(&b, 8192, &(uint8_t *){ NULL }), IK_OK);
	ik_buf_reset(&b);

	m = f->m;
	m.e[0] = make_ext(&b, OID_CE_BC, OID_LEN(OID_CE_BC), 1, ca_true, sizeof(ca_true));
	model_refuses(f, &m, "basicConstraints cA must be FALSE");
	m.e[0] = make_ext(&b, OID_CE_BC, OID_LEN(OID_CE_BC), 1, pathlen, sizeof(pathlen));
	model_refuses(f, &m, "basicConstraints must be empty");
	m.e[0] = make_ext(&b, OID_CE_BC, OID_LEN(OID_CE_BC), -1, empty_seq, sizeof(empty_seq));
	model_refuses(f, &m, "basicConstraints must be critical");
	m = f->m;
	m.e[1] = make_ext(&b, OID_CE_KU, OID_LEN(OID_CE_KU), -1, ku, sizeof(ku));
	model_refuses(f, &m, "keyUsage must be critical");
	m.e[1] = make_ext(&b, OID_CE_KU, OID_LEN(OID_CE_KU), 0, ku, sizeof(ku));
	model_refuses(f, &m, "critical must be TRUE or absent");
	m = f->m;
	m.e[2] = make_ext(&b, OID_CE_EKU, OID_LEN(OID_CE_EKU), 1, eku, sizeof(eku));
	model_refuses(f, &m, "extKeyUsage must not be critical");
	m.e[2] = make_ext(&b, OID_CE_EKU, OID_LEN(OID_CE_EKU), -1, eku_two, sizeof(eku_two));
	model_refuses(f, &m, "extKeyUsage must be exactly clientAuth");
	/* duplicate SKI, missing AKI, missing AIA, unknown extension */
	m = f->m;
	m.e[m.ne++] = m.e[3];
	model_refuses(f, &m, "duplicate extension subjectKeyIdentifier");
	m = f->m;
	m.e[4] = m.e[--m.ne];
	model_refuses(f, &m, "extension authorityKeyIdentifier missing");
	m = f->m;
	m.ne--;
	model_refuses(f, &m, "extension authorityInfoAccess missing");
	m = f->m;
	m.e[m.ne++] = make_ext(&b, "\x55\x1d\x11", 3, -1, san, sizeof(san));
	model_refuses(f, &m, "subjectAltName not allowed in a client certificate");
	m = f->m;   /* certificatePolicies: not in any profile */
	m.e[m.ne++] = make_ext(&b, "\x55\x1d\x20", 3, -1, san, sizeof(san));
	model_refuses(f, &m, "unexpected extension");
	/* AIA present although the profile sets no URL */
	{
		fix g = *f;

		g.p.ocsp_url[0] = '\0';
		g.p.ca_issuers_url[0] = '\0';
		model_refuses(&g, &f->m, "profile sets no URL");
		g.p = f->p;
		g.p.ca_issuers_url[0] = '\0';
		model_refuses(&g, &f->m, "entries the profile does not set");
	}
	ik_buf_cleanup(&b);
}

/* usage = email: a TBS built for it passes (EKU emailProtection, keyUsage
 * digitalSignature even for RSA, the CN as the one rfc822Name); the same bytes fail under
 * the client profile, and a SAN that is not the CN's rfc822Name fails. */
static void test_email(void **state)
{
	fix *f = *state;
	sg_profile p = f->p;
	proto_issue req;
	sg_leaf leaf;
	ik_buf tbs;
	EVP_PKEY *rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	char why[256] = "";
	uint8_t *x;

	assert_non_null(rsa);
	p.email = 1;
	p.attrs_allowed = 1u << PROTO_ATTR_CN;
	assert_true(testca_request(&req, rsa, g_now));
	snprintf(req.attrs[0].value, sizeof(req.attrs[0].value), "ra@inkan.example.jp");
	req.nattrs = 1;
	assert_int_equal(sg_profile_check(&p, &req, g_now, f->t.ca.not_after, &leaf, why,
	    sizeof(why)), IK_OK);
	assert_true(testca_serial(&leaf));
	ik_buf_init(&tbs, 0);
	assert_int_equal(sg_tbs_build(&f->t.ca, &p, &leaf, &tbs), IK_OK);
	assert_int_equal(sg_lint_tbs(&f->t.ca, &p, &leaf, ik_buf_ptr(&tbs), ik_buf_remaining(&tbs),
	    why, sizeof(why)), IK_OK);
	assert_non_null(memmem(tbs.data, tbs.len, "\x2b\x06\x01\x05\x05\x07\x03\x04", 8));
	assert_non_null(memmem(tbs.data, tbs.len, "\x03\x02\x07\x80", 4)); /* KU: only dS */
	assert_non_null(memmem(tbs.data, tbs.len, "\x81\x13ra@inkan.example.jp", 21));
	{
		fix g = *f;
		g.p = f->p;
		g.p.attrs_allowed = p.attrs_allowed;
		assert_int_equal(sg_lint_tbs(&f->t.ca, &g.p, &leaf, tbs.data, tbs.len, why,
		    sizeof(why)), IK_ERR_POLICY_LINT);
		assert_non_null(strstr(why, "keyUsage must be exactly digitalSignature, keyEncipherment"));
	}
	x = memmem(tbs.data, tbs.len, "\x81\x13ra@inkan.example.jp", 21);
	x[0] = 0x82; /* dNSName instead of rfc822Name */
	assert_int_equal(sg_lint_tbs(&f->t.ca, &p, &leaf, tbs.data, tbs.len, why, sizeof(why)),
	    IK_ERR_POLICY_LINT);
	assert_non_null(strstr(why, "subjectAltName must be the CN"));
	x[0] = 0x81;
	x = memmem(tbs.data, tbs.len, "\x2b\x06\x01\x05\x05\x07\x03\x04", 8);
	x[7] = 0x02; /* clientAuth */
	assert_int_equal(sg_lint_tbs(&f->t.ca, &p, &leaf, tbs.data, tbs.len, why, sizeof(why)),
	    IK_ERR_POLICY_LINT);
	assert_non_null(strstr(why, "extKeyUsage must be exactly emailProtection"));
	ik_buf_cleanup(&tbs);
	OPENSSL_free((void *)req.spki);
	EVP_PKEY_free(rsa);
}

/* The OCSP responder profile (signer/ocsp.c): EKU OCSPSigning, id-pkix-ocsp-nocheck,
 * keyUsage digitalSignature alone (RSA too), no CRL DP or AIA; lint passes it, OpenSSL reads
 * it so, and each profile refuses the other's certificate. */
static void ocsp_profile(sg_profile *p)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "ocsp");
	p->max_days = 7;
	p->backdate = 300;
	p->key_types = SG_KEY_EC_P256 | SG_KEY_EC_P384 | SG_KEY_RSA;
	p->rsa_min_bits = 2048;
	p->attrs_allowed = 1u << PROTO_ATTR_C | 1u << PROTO_ATTR_O | 1u << PROTO_ATTR_CN;
	p->attrs_required = 1u << PROTO_ATTR_CN;
	p->ocsp = 1;
}

static void ocsp_leaf(const fix *f, const sg_profile *p, EVP_PKEY *k, uint8_t **spki,
    sg_leaf *leaf)
{
	char why[256];
	int n = i2d_PUBKEY(k, spki);

	assert_true(n > 0);
	memset(leaf, 0, sizeof(*leaf));
	assert_int_equal(sg_spki_check(p, *spki, (size_t)n, &leaf->key, why, sizeof(why)), IK_OK);
	assert_true(testca_serial(leaf));
	leaf->not_before = g_now - 300;
	leaf->not_after = g_now + 7 * TEST_DAY;
	leaf->subject[0] = (sg_subject_attr){ PROTO_ATTR_C, "DE" };
	leaf->subject[1] = (sg_subject_attr){ PROTO_ATTR_O, "Example Corp" };
	leaf->subject[2] = (sg_subject_attr){ PROTO_ATTR_CN, "OCSP Responder" };
	leaf->nsubject = 3;
	(void)f;
}

static void test_ocsp_profile(void **state)
{
	fix *f = *state;
	static const uint8_t nocheck_null[] = { 0x05, 0x00 }, nocheck_bad[] = { 0x04, 0x00 };
	sg_profile p;
	char why[256];

	ocsp_profile(&p);
	for (int i = 0; i < 2; i++) {
		EVP_PKEY *k = i == 0 ? EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256") :
		    EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
		uint8_t *spki = NULL, sig[1024];
		size_t siglen = sizeof(sig);
		sg_leaf leaf;
		ik_buf tbs, der, b;
		const uint8_t *q;
		X509 *x;
		model m;
		fix g = *f;

		assert_non_null(k);
		ocsp_leaf(f, &p, k, &spki, &leaf);
		ik_buf_init(&tbs, 0);
		ik_buf_init(&der, 0);
		assert_int_equal(sg_tbs_build(&f->t.ca, &p, &leaf, &tbs), IK_OK);
		assert_int_equal(sg_lint_tbs(&f->t.ca, &p, &leaf, ik_buf_ptr(&tbs), ik_buf_remaining(&tbs),
		    why, sizeof(why)), IK_OK);
		/* what OpenSSL sees */
		assert_true(testca_sign(&f->t, ik_buf_ptr(&tbs), ik_buf_remaining(&tbs), sig, &siglen));
		assert_int_equal(sg_signed_assemble(f->t.ca.sig, ik_buf_ptr(&tbs), ik_buf_remaining(&tbs),
		    sig, siglen, &der), IK_OK);
		q = ik_buf_ptr(&der);
		x = d2i_X509(NULL, &q, (long)ik_buf_remaining(&der));
		assert_non_null(x);
		assert_int_equal(X509_verify(x, f->t.key), 1);
		assert_int_equal(X509_get_extension_flags(x) & EXFLAG_XKUSAGE, EXFLAG_XKUSAGE);
		assert_int_equal(X509_get_extended_key_usage(x), XKU_OCSP_SIGN);
		assert_int_equal(X509_get_key_usage(x), KU_DIGITAL_SIGNATURE);
		assert_true(X509_get_ext_by_NID(x, NID_id_pkix_OCSP_noCheck, -1) >= 0);
		assert_int_equal(X509_get_ext_by_NID(x, NID_crl_distribution_points, -1), -1);
		assert_int_equal(X509_get_ext_by_NID(x, NID_info_access, -1), -1);
		assert_int_equal(X509_check_ca(x), 0);
		X509_free(x);
		/* the client profile refuses it, and it refuses a client certificate */
		g.p = f->p; /* (its validity, so that the lint gets as far as the extensions) */
		g.p.ocsp = 1;
		lint_refuses(&g, &f->t.ca, f->tbs.data, f->tbs.len, "extKeyUsage must be exactly OCSPSigning");
		g.p = f->p;
		g.leaf = leaf;
		lint_refuses(&g, &f->t.ca, tbs.data, tbs.len, i == 0 ?
		    "extKeyUsage must be exactly clientAuth" : /* RSA: its keyUsage comes first */
		    "keyUsage must be exactly digitalSignature, keyEncipherment");
		/* nocheck: missing, with a value other than NULL; in a client certificate */
		g.p = p;
		memset(&m, 0, sizeof(m));
		model_load(&m, &tbs);
		assert_int_equal(m.ne, 6); /* BC, KU, EKU, nocheck, SKI, AKI */
		ik_buf_init(&b, 0);
		assert_int_equal(ik_buf_reserve(&b, 4096, &(uint8_t *){ NULL }), IK_OK);
		ik_buf_reset(&b);
		{
			model mm = m;
			mm.e[3] = mm.e[--mm.ne];
			model_refuses(&g, &mm, "extension id-pkix-ocsp-nocheck missing");
			mm = m;
			mm.e[3] = make_ext(&b, OID_PKIX_OCSP_NOCHECK, OID_LEN(OID_PKIX_OCSP_NOCHECK), -1,
			    nocheck_bad, sizeof(nocheck_bad));
			model_refuses(&g, &mm, "id-pkix-ocsp-nocheck must be NULL");
			mm = m;
			mm.e[mm.ne++] = make_ext(&b, OID_CE_CRLDP, OID_LEN(OID_CE_CRLDP), -1,
			    nocheck_null, sizeof(nocheck_null));
			model_refuses(&g, &mm, "cRLDistributionPoints");
			mm = f->m;
			mm.e[mm.ne++] = make_ext(&b, OID_PKIX_OCSP_NOCHECK, OID_LEN(OID_PKIX_OCSP_NOCHECK),
			    -1, nocheck_null, sizeof(nocheck_null));
			model_refuses(f, &mm, "id-pkix-ocsp-nocheck only in the OCSP responder");
		}
		ik_buf_cleanup(&b);
		ik_buf_cleanup(&tbs);
		ik_buf_cleanup(&der);
		OPENSSL_free(spki);
		EVP_PKEY_free(k);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_in_place),
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_extensions),
		cmocka_unit_test(test_email),
		cmocka_unit_test(test_ocsp_profile),
	};
	g_now = (int64_t)time(NULL);
	return cmocka_run_group_tests(tests, setup, teardown);
}
