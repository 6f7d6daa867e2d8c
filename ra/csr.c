/* csr: the common PKCS#10 request (EC P-256/P-384, ECDSA with SHA-2, strict DER) read with
 * common/der.c and its self-signature verified with a key made straight from the point (see
 * csr.h); whatever it does not fully recognise is left to OpenSSL's own parser. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "csr.h"
#include "der.h"

typedef struct csr_curve {
	const uint8_t *oid;
	size_t oidlen;
	const char *group;
	size_t field;            /* bytes of a coordinate */
} csr_curve;

static const uint8_t OID_EC_PUBLIC_KEY[] = { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01 };
static const uint8_t OID_P256[] = { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 };
static const uint8_t OID_P384[] = { 0x2b, 0x81, 0x04, 0x00, 0x22 };
/* ecdsa-with-SHA256/384/512: 1.2.840.10045.4.3.{2,3,4} */
static const uint8_t OID_ECDSA_SHA2[] = { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03 };

static const csr_curve curves[] = {
	{ OID_P256, sizeof(OID_P256), "prime256v1", 32 },
	{ OID_P384, sizeof(OID_P384), "secp384r1", 48 },
};

static int oid_is(const uint8_t *v, size_t n, const uint8_t *oid, size_t oidlen)
{
	return n == oidlen && memcmp(v, oid, n) == 0;
}

/* A well-formed OBJECT IDENTIFIER body (no padded sub-identifier, none left open). */
static int oid_ok(const uint8_t *v, size_t n)
{
	if (n == 0 || (v[n - 1] & 0x80) != 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (v[i] == 0x80 && (i == 0 || (v[i - 1] & 0x80) == 0))
			return 0;
	return 1;
}

/* The next TLV, of tag `tag`: its whole encoding in tlv, tlvlen and its contents in v, n. */
static int get_whole(ik_buf *b, uint8_t tag, const uint8_t **tlv, size_t *tlvlen,
    const uint8_t **v, size_t *n)
{
	const uint8_t *start = ik_buf_ptr(b);

	if (der_get_expect(b, tag, v, n) != IK_OK)
		return 0;
	*tlv = start;
	*tlvlen = (size_t)(*v + *n - start);
	return 1;
}

/* The attributes' contents: SEQUENCE { OID, SET { values } } each, the values only of the
 * kinds OpenSSL keeps as they are (SEQUENCE, SET) or as strings. */
static int attrs_ok(const uint8_t *v, size_t n)
{
	ik_buf a, at, vals;
	const uint8_t *p, *q;
	size_t pn, qn;
	uint8_t tag;

	ik_buf_view(&a, v, n);
	while (ik_buf_remaining(&a) > 0) {
		if (der_get_expect(&a, DER_SEQUENCE, &p, &pn) != IK_OK)
			return 0;
		ik_buf_view(&at, p, pn);
		if (der_get_expect(&at, DER_OID, &q, &qn) != IK_OK || !oid_ok(q, qn) ||
		    der_get_expect(&at, DER_SET, &p, &pn) != IK_OK || ik_buf_remaining(&at) != 0 ||
		    pn == 0)
			return 0;
		ik_buf_view(&vals, p, pn);
		while (ik_buf_remaining(&vals) > 0) {
			if (der_get_tlv(&vals, &tag, &q, &qn) != IK_OK)
				return 0;
			if (tag != DER_SEQUENCE && tag != DER_SET && tag != DER_UTF8STRING &&
			    tag != DER_PRINTABLESTRING && tag != DER_IA5STRING)
				return 0;
		}
	}
	return 1;
}

/* The SPKI's contents: id-ecPublicKey, a named curve we take, an uncompressed point. */
static int ec_spki(const uint8_t *v, size_t n, const csr_curve **curve, const uint8_t **pt,
    size_t *ptlen)
{
	ik_buf k, alg;
	const uint8_t *p, *q;
	size_t pn, qn;

	ik_buf_view(&k, v, n);
	if (der_get_expect(&k, DER_SEQUENCE, &p, &pn) != IK_OK)
		return 0;
	ik_buf_view(&alg, p, pn);
	if (der_get_expect(&alg, DER_OID, &q, &qn) != IK_OK ||
	    !oid_is(q, qn, OID_EC_PUBLIC_KEY, sizeof(OID_EC_PUBLIC_KEY)) ||
	    der_get_expect(&alg, DER_OID, &q, &qn) != IK_OK || ik_buf_remaining(&alg) != 0)
		return 0;
	*curve = NULL;
	for (size_t i = 0; i < sizeof(curves) / sizeof(curves[0]); i++)
		if (oid_is(q, qn, curves[i].oid, curves[i].oidlen))
			*curve = &curves[i];
	if (*curve == NULL || der_get_expect(&k, DER_BIT_STRING, &p, &pn) != IK_OK ||
	    ik_buf_remaining(&k) != 0 || pn != 2 + 2 * (*curve)->field || p[0] != 0 || p[1] != 4)
		return 0;
	*pt = p + 1;
	*ptlen = pn - 1;
	return 1;
}

/* The signature algorithm's contents: ecdsa-with-SHA256/384/512, no parameters. */
static const char *ecdsa_md(const uint8_t *v, size_t n)
{
	static const char *const mds[] = { "SHA256", "SHA384", "SHA512" };
	ik_buf alg;
	const uint8_t *q;
	size_t qn;

	ik_buf_view(&alg, v, n);
	if (der_get_expect(&alg, DER_OID, &q, &qn) != IK_OK || ik_buf_remaining(&alg) != 0 ||
	    qn != sizeof(OID_ECDSA_SHA2) + 1 || memcmp(q, OID_ECDSA_SHA2, qn - 1) != 0 ||
	    q[qn - 1] < 2 || q[qn - 1] > 4)
		return NULL;
	return mds[q[qn - 1] - 2];
}

#define NCURVES (sizeof(curves) / sizeof(curves[0]))

static pthread_key_t tmpl_key;
static pthread_once_t tmpl_once = PTHREAD_ONCE_INIT;
static int tmpl_key_ok;

static void tmpl_free(void *p)
{
	EVP_PKEY **t = p;

	for (size_t i = 0; i < NCURVES; i++)
		EVP_PKEY_free(t[i]);
	free(t);
}

static void tmpl_init(void)
{
	tmpl_key_ok = pthread_key_create(&tmpl_key, tmpl_free) == 0;
}

/* A key of curve c with the point pt: the calling thread's key of that curve, made once
 * (setting the group up from its name is most of the cost of making a key; a copy per
 * request cost 2 % of the RA's time), the point replaced (checked to be on the curve); the
 * caller frees its reference before the thread's next request.  NULL when pt is not a
 * point of the curve (or no memory). */
static EVP_PKEY *key_for(const csr_curve *c, const uint8_t *pt, size_t ptlen)
{
	EVP_PKEY **tmpl;
	size_t i = (size_t)(c - curves);
	EVP_PKEY *pk;

	if (pthread_once(&tmpl_once, tmpl_init) != 0 || !tmpl_key_ok)
		return NULL;
	if ((tmpl = pthread_getspecific(tmpl_key)) == NULL) {
		if ((tmpl = calloc(NCURVES, sizeof(*tmpl))) == NULL)
			return NULL;
		if (pthread_setspecific(tmpl_key, tmpl) != 0) {
			free(tmpl);
			return NULL;
		}
	}
	if (tmpl[i] == NULL) {
		EVP_PKEY_CTX *kc = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
		OSSL_PARAM params[3];
		params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
		    (char *)(uintptr_t)c->group, 0);
		params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY,
		    (void *)(uintptr_t)pt, ptlen);
		params[2] = OSSL_PARAM_construct_end();
		pk = NULL;
		if (kc != NULL && EVP_PKEY_fromdata_init(kc) > 0)
			(void)EVP_PKEY_fromdata(kc, &pk, EVP_PKEY_PUBLIC_KEY, params);
		EVP_PKEY_CTX_free(kc);
		if (pk == NULL)
			return NULL;
		tmpl[i] = pk; /* kept for the thread's life (a public key: nothing to wipe) */
	}
	/* the thread's own key, its point replaced before every use (a point refused here
	 * leaves it unusable until the next one is set: never verified with) */
	pk = tmpl[i];
	if (EVP_PKEY_set1_encoded_public_key(pk, pt, ptlen) != 1 || EVP_PKEY_up_ref(pk) != 1)
		return NULL;
	return pk;
}

/* sig over tbs with the point on curve c: IK_OK, IK_ERR_ARG (does not verify), or
 * IK_ERR_NOT_FOUND (OpenSSL takes no key from this point: its parser says why). */
static ik_status verify(const csr_curve *c, const uint8_t *pt, size_t ptlen, const char *md,
    const uint8_t *tbs, size_t tbslen, const uint8_t *sig, size_t siglen)
{
	EVP_PKEY *pk = key_for(c, pt, ptlen);
	EVP_MD_CTX *mc = NULL;
	ik_status st = IK_ERR_CRYPTO;

	if (pk == NULL) {
		st = IK_ERR_NOT_FOUND; /* not a point of the curve */
		goto out;
	}
	if ((mc = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestVerifyInit_ex(mc, NULL, md, NULL, NULL, pk, NULL) <= 0)
		goto out;
	/* as X509_REQ_verify: anything but 1 (a malformed ECDSA-Sig-Value too) is a refusal */
	st = EVP_DigestVerify(mc, sig, siglen, tbs, tbslen) == 1 ? IK_OK : IK_ERR_ARG;
out:
	ERR_clear_error();
	EVP_MD_CTX_free(mc);
	EVP_PKEY_free(pk);
	return st;
}

ik_status ra_csr_fast(const uint8_t *der, size_t n, ra_csr_parts *out)
{
	ik_buf top, req, info;
	const uint8_t *v, *cri, *p, *pt, *sig;
	size_t vn, crilen, pn, ptlen, siglen;
	const csr_curve *curve;
	const char *md;

	memset(out, 0, sizeof(*out));
	ik_buf_view(&top, der, n);
	if (der_get_expect(&top, DER_SEQUENCE, &v, &vn) != IK_OK || ik_buf_remaining(&top) != 0)
		return IK_ERR_NOT_FOUND;
	ik_buf_view(&req, v, vn);
	if (!get_whole(&req, DER_SEQUENCE, &cri, &crilen, &v, &vn))
		return IK_ERR_NOT_FOUND;
	/* CertificationRequestInfo: version 0, subject, SPKI, [0] attributes, nothing more */
	ik_buf_view(&info, v, vn);
	if (der_get_expect(&info, DER_INTEGER, &p, &pn) != IK_OK || pn != 1 || p[0] != 0 ||
	    !get_whole(&info, DER_SEQUENCE, &out->subject, &out->subject_len, &p, &pn) ||
	    !get_whole(&info, DER_SEQUENCE, &out->spki, &out->spki_len, &p, &pn) ||
	    !ec_spki(p, pn, &curve, &pt, &ptlen) ||
	    der_get_expect(&info, DER_CTX(0), &p, &pn) != IK_OK || !attrs_ok(p, pn) ||
	    ik_buf_remaining(&info) != 0)
		goto not_ours;
	/* signatureAlgorithm, signature (a BIT STRING without unused bits), nothing more */
	if (der_get_expect(&req, DER_SEQUENCE, &p, &pn) != IK_OK || (md = ecdsa_md(p, pn)) == NULL ||
	    der_get_expect(&req, DER_BIT_STRING, &p, &pn) != IK_OK || pn < 2 || p[0] != 0 ||
	    ik_buf_remaining(&req) != 0)
		goto not_ours;
	sig = p + 1;
	siglen = pn - 1;
	return verify(curve, pt, ptlen, md, cri, crilen, sig, siglen);
not_ours:
	memset(out, 0, sizeof(*out));
	return IK_ERR_NOT_FOUND;
}
