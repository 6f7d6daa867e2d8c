/* sg_testca: an in-memory issuing CA (OpenSSL key + self-signed certificate + the sg_ca
 * the signer would load) and a standard profile/request, shared by test_tbs and
 * test_lint.  Test code only: static functions in a header. */
#ifndef SG_TESTCA_H
#define SG_TESTCA_H

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include "cert.h"

#define TEST_DAY 86400

typedef struct testca {
	EVP_PKEY *key;
	sg_ca ca;
	const EVP_MD *md;
} testca;

static inline int testca_ext(X509 *x, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *e;
	int ok;

	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	X509V3_set_ctx_nodb(&ctx);
	if ((e = X509V3_EXT_nconf_nid(NULL, &ctx, nid, value)) == NULL)
		return 0;
	ok = X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	return ok;
}

/* kind: "P-256", "P-384" or "RSA" (3072 bits). */
static inline int testca_make(testca *t, const char *kind, int64_t now)
{
	X509 *x = X509_new();
	X509_NAME *nm = X509_NAME_new();
	const ASN1_OCTET_STRING *ski;
	uint8_t *der = NULL;
	int n;

	memset(t, 0, sizeof(*t));
	if (x == NULL || nm == NULL)
		return 0;
	if (strcmp(kind, "RSA") == 0) {
		t->key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072);
		t->ca.sig = SG_SIG_RSA_SHA256;
		t->md = EVP_sha256();
	} else {
		t->key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", kind);
		t->ca.sig = strcmp(kind, "P-384") == 0 ? SG_SIG_ECDSA_SHA384 : SG_SIG_ECDSA_SHA256;
		t->md = strcmp(kind, "P-384") == 0 ? EVP_sha384() : EVP_sha256();
	}
	if (t->key == NULL ||
	    !X509_NAME_add_entry_by_txt(nm, "C", MBSTRING_ASC, (const unsigned char *)"DE", -1, -1, 0) ||
	    !X509_NAME_add_entry_by_txt(nm, "O", MBSTRING_UTF8,
	    (const unsigned char *)"Example Corp", -1, -1, 0) ||
	    !X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_UTF8,
	    (const unsigned char *)"Example Issuing CA", -1, -1, 0) ||
	    !X509_set_version(x, X509_VERSION_3) || !ASN1_INTEGER_set(X509_get_serialNumber(x), 1) ||
	    !X509_set_subject_name(x, nm) || !X509_set_issuer_name(x, nm) ||
	    !ASN1_TIME_set(X509_getm_notBefore(x), (time_t)(now - 3600)) ||
	    !ASN1_TIME_set(X509_getm_notAfter(x), (time_t)(now + 5 * 365 * TEST_DAY)) ||
	    !X509_set_pubkey(x, t->key) ||
	    !testca_ext(x, NID_basic_constraints, "critical,CA:TRUE") ||
	    !testca_ext(x, NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature") ||
	    !testca_ext(x, NID_subject_key_identifier, "hash") || !X509_sign(x, t->key, t->md))
		goto fail;
	X509_NAME_free(nm);
	nm = NULL;
	t->ca.cert = x;
	if ((n = i2d_X509_NAME(X509_get_subject_name(x), &der)) <= 0)
		return 0;
	t->ca.name_der = der;
	t->ca.name_len = (size_t)n;
	if ((ski = X509_get0_subject_key_id(x)) == NULL)
		return 0;
	memcpy(t->ca.key_id, ASN1_STRING_get0_data(ski), (size_t)ASN1_STRING_length(ski));
	t->ca.key_id_len = (size_t)ASN1_STRING_length(ski);
	t->ca.not_before = now - 3600;
	t->ca.not_after = now + 5 * 365 * TEST_DAY;
	return 1;
fail:
	X509_NAME_free(nm);
	X509_free(x);
	return 0;
}

static inline void testca_free(testca *t)
{
	X509_free(t->ca.cert);
	OPENSSL_free(t->ca.name_der);
	EVP_PKEY_free(t->key);
	memset(t, 0, sizeof(*t));
}

static inline void testca_profile(sg_profile *p)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "client");
	p->max_days = 397;
	p->backdate = 300;
	p->key_types = SG_KEY_EC_P256 | SG_KEY_EC_P384 | SG_KEY_RSA;
	p->rsa_min_bits = 2048;
	p->attrs_allowed = 1u << PROTO_ATTR_CN | 1u << PROTO_ATTR_OU | 1u << PROTO_ATTR_C |
	    1u << PROTO_ATTR_SERIALNUMBER;
	p->attrs_required = 1u << PROTO_ATTR_CN;
	snprintf(p->fixed[PROTO_ATTR_O], sizeof(p->fixed[0]), "Example Corp");
	snprintf(p->crl_url, sizeof(p->crl_url), "http://ca.example.test/issuing.crl");
	snprintf(p->ocsp_url, sizeof(p->ocsp_url), "http://ocsp.example.test/");
	snprintf(p->ca_issuers_url, sizeof(p->ca_issuers_url), "http://ca.example.test/issuing.der");
}

/* A request for key k: CN, C, OU, serialNumber (O is fixed by the profile).  The SPKI
 * DER is allocated with OpenSSL (free r->spki with OPENSSL_free). */
static inline int testca_request(proto_issue *r, EVP_PKEY *k, int64_t now)
{
	uint8_t *der = NULL;
	int n;

	memset(r, 0, sizeof(*r));
	if ((n = i2d_PUBKEY(k, &der)) <= 0)
		return 0;
	snprintf(r->request_id, sizeof(r->request_id), "req-1");
	snprintf(r->profile, sizeof(r->profile), "client");
	r->spki = der;
	r->spki_len = (size_t)n;
	r->attrs[0].type = PROTO_ATTR_CN;
	snprintf(r->attrs[0].value, sizeof(r->attrs[0].value), "alice \xc3\xa9");
	r->attrs[1].type = PROTO_ATTR_C;
	snprintf(r->attrs[1].value, sizeof(r->attrs[1].value), "DE");
	r->attrs[2].type = PROTO_ATTR_OU;
	snprintf(r->attrs[2].value, sizeof(r->attrs[2].value), "Engineering");
	r->attrs[3].type = PROTO_ATTR_SERIALNUMBER;
	snprintf(r->attrs[3].value, sizeof(r->attrs[3].value), "DEV-0001");
	r->nattrs = 4;
	r->not_after = (uint64_t)(now + 90 * TEST_DAY);
	return 1;
}

/* A positive, minimal 16-byte serial. */
static inline int testca_serial(sg_leaf *leaf)
{
	if (RAND_bytes(leaf->serial, 16) != 1)
		return 0;
	leaf->serial[0] = (uint8_t)((leaf->serial[0] & 0x7f) | 0x40);
	leaf->serial_len = 16;
	return 1;
}

static inline int testca_sign(const testca *t, const uint8_t *tbs, size_t n, uint8_t *sig,
    size_t *siglen)
{
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	int ok;

	ok = m != NULL && EVP_DigestSignInit(m, NULL, t->md, NULL, t->key) == 1 &&
	    EVP_DigestSign(m, sig, siglen, tbs, n) == 1;
	EVP_MD_CTX_free(m);
	return ok;
}

#endif
