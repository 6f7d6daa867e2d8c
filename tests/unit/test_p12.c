/* Unit tests for ra/p12.c: device keys accepted by the signer's own SPKI check; PKCS#12
 * files for every flavour and key type, built against a throw-away CA made here with
 * OpenSSL, read back with PKCS12_parse and taken apart bag by bag to see the algorithms
 * actually used; the file-password policy rule by rule; the CSR path. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include "p12.h"
#include "profile.h"

#define PASS "Correct-Horse-7"
#define CN_UTF8 "\xe7\x94\xb0\xe4\xb8\xad \xe5\xa4\xaa\xe9\x83\x8e (iPhone)" /* 田中 太郎 (iPhone) */

/* ---- a throw-away CA: root -> issuing CA -> leaf ---------------------------------- */

typedef struct testpki {
	EVP_PKEY *root_key, *ca_key;
	X509 *root, *ca;
	uint8_t *root_der, *ca_der;
	size_t root_len, ca_len;
} testpki;

static testpki pki;

static void add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *e;

	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	X509V3_set_ctx_nodb(&ctx);
	e = X509V3_EXT_nconf_nid(NULL, &ctx, nid, value);
	assert_non_null(e);
	assert_int_equal(X509_add_ext(x, e, -1), 1);
	X509_EXTENSION_free(e);
}

/* A certificate for pub named cn, signed by (issuer, ikey); issuer NULL = self-signed. */
static X509 *make_cert(EVP_PKEY *pub, const char *cn, X509 *issuer, EVP_PKEY *ikey, int ca,
    long serial)
{
	X509 *x = X509_new();
	X509_NAME *nm = X509_NAME_new();
	time_t now = time(NULL);

	assert_non_null(x);
	assert_non_null(nm);
	assert_int_equal(X509_NAME_add_entry_by_txt(nm, "O", MBSTRING_UTF8,
	    (const unsigned char *)"Inkan Unit Test", -1, -1, 0), 1);
	assert_int_equal(X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0), 1);
	assert_int_equal(X509_set_version(x, X509_VERSION_3), 1);
	assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), serial), 1);
	assert_int_equal(X509_set_subject_name(x, nm), 1);
	assert_int_equal(X509_set_issuer_name(x, issuer != NULL ? X509_get_subject_name(issuer) : nm), 1);
	assert_non_null(ASN1_TIME_set(X509_getm_notBefore(x), now - 3600));
	assert_non_null(ASN1_TIME_set(X509_getm_notAfter(x), now + 86400 * 30));
	assert_int_equal(X509_set_pubkey(x, pub), 1);
	add_ext(x, issuer != NULL ? issuer : x, NID_subject_key_identifier, "hash");
	if (ca) {
		add_ext(x, issuer != NULL ? issuer : x, NID_basic_constraints, "critical,CA:TRUE");
		add_ext(x, issuer != NULL ? issuer : x, NID_key_usage, "critical,keyCertSign,cRLSign");
	} else {
		add_ext(x, issuer, NID_basic_constraints, "critical,CA:FALSE");
		add_ext(x, issuer, NID_key_usage, "critical,digitalSignature");
		add_ext(x, issuer, NID_ext_key_usage, "clientAuth");
	}
	assert_true(X509_sign(x, ikey, EVP_sha256()) > 0);
	X509_NAME_free(nm);
	return x;
}

static uint8_t *to_der(X509 *x, size_t *n)
{
	unsigned char *der = NULL;
	int len = i2d_X509(x, &der);

	assert_true(len > 0);
	*n = (size_t)len;
	return der;
}

static int setup(void **state)
{
	(void)state;
	pki.root_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	pki.ca_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	if (pki.root_key == NULL || pki.ca_key == NULL)
		return -1;
	pki.root = make_cert(pki.root_key, "Inkan Unit Root", NULL, pki.root_key, 1, 1);
	pki.ca = make_cert(pki.ca_key, "Inkan Unit Issuing CA", pki.root, pki.root_key, 1, 2);
	pki.root_der = to_der(pki.root, &pki.root_len);
	pki.ca_der = to_der(pki.ca, &pki.ca_len);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	OPENSSL_free(pki.root_der);
	OPENSSL_free(pki.ca_der);
	X509_free(pki.root);
	X509_free(pki.ca);
	EVP_PKEY_free(pki.root_key);
	EVP_PKEY_free(pki.ca_key);
	return 0;
}

/* The leaf as the signer would issue it: from the SPKI bytes only. */
static uint8_t *issue_leaf(const ik_buf *spki, const char *cn, size_t *n)
{
	const unsigned char *p = spki->data;
	EVP_PKEY *pub = d2i_PUBKEY(NULL, &p, (long)spki->len);
	X509 *leaf;
	uint8_t *der;

	assert_non_null(pub);
	assert_ptr_equal(p, spki->data + spki->len);
	leaf = make_cert(pub, cn, pki.ca, pki.ca_key, 0, 1000);
	der = to_der(leaf, n);
	X509_free(leaf);
	EVP_PKEY_free(pub);
	return der;
}

/* ---- key types -------------------------------------------------------------------- */

static void test_keytype_names(void **state)
{
	ra_keytype t;
	ra_p12_flavour f;

	(void)state;
	for (int i = RA_KEY_EC_P256; i <= RA_KEY_RSA_3072; i++) {
		assert_int_equal(ra_keytype_parse(ra_keytype_name((ra_keytype)i), &t), IK_OK);
		assert_int_equal(t, i);
	}
	assert_int_equal(ra_keytype_parse("ec-p521", &t), IK_ERR_ARG);
	assert_int_equal(ra_keytype_parse("rsa", &t), IK_ERR_ARG);
	assert_int_equal(ra_keytype_parse(NULL, &t), IK_ERR_ARG);
	assert_string_equal(ra_keytype_name((ra_keytype)99), "unknown");
	assert_int_equal(ra_p12_flavour_parse("modern", &f), IK_OK);
	assert_int_equal(f, RA_P12_MODERN);
	assert_int_equal(ra_p12_flavour_parse("compatible", &f), IK_OK);
	assert_int_equal(f, RA_P12_COMPATIBLE);
	assert_int_equal(ra_p12_flavour_parse("legacy", &f), IK_ERR_ARG);
	assert_string_equal(ra_p12_flavour_name(RA_P12_COMPATIBLE), "compatible");
}

static void profile_init(sg_profile *p, unsigned key_types)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "client");
	p->max_days = 397;
	p->key_types = key_types;
	p->rsa_min_bits = 2048;
}

/* Every generated key is what the signer's profile check accepts, and its SPKI is the
 * key's public half. */
static void test_keygen_matches_signer_profile(void **state)
{
	static const struct { ra_keytype t; unsigned sg; uint32_t bits; const char *alg; } k[] = {
		{ RA_KEY_EC_P256, SG_KEY_EC_P256, 256, "EC" },
		{ RA_KEY_EC_P384, SG_KEY_EC_P384, 384, "EC" },
		{ RA_KEY_RSA_2048, SG_KEY_RSA, 2048, "RSA" },
		{ RA_KEY_RSA_3072, SG_KEY_RSA, 3072, "RSA" },
	};
	sg_profile all, others;
	sg_keyinfo ki;
	char why[256];

	(void)state;
	profile_init(&all, SG_KEY_EC_P256 | SG_KEY_EC_P384 | SG_KEY_RSA);
	for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
		EVP_PKEY *key = NULL, *pub;
		ik_buf spki;
		const unsigned char *p;

		ik_buf_init(&spki, 0);
		assert_int_equal(ra_p12_keygen(k[i].t, &key, &spki), IK_OK);
		assert_non_null(key);
		assert_true(EVP_PKEY_is_a(key, k[i].alg));
		assert_int_equal(EVP_PKEY_get_bits(key), (int)k[i].bits);
		p = spki.data;
		pub = d2i_PUBKEY(NULL, &p, (long)spki.len);
		assert_non_null(pub);
		assert_int_equal(EVP_PKEY_eq(pub, key), 1);
		EVP_PKEY_free(pub);

		assert_int_equal(sg_spki_check(&all, spki.data, spki.len, &ki, why, sizeof(why)), IK_OK);
		assert_int_equal(ki.type, k[i].sg);
		assert_int_equal(ki.bits, k[i].bits);
		profile_init(&others, (SG_KEY_EC_P256 | SG_KEY_EC_P384 | SG_KEY_RSA) & ~k[i].sg);
		assert_int_equal(sg_spki_check(&others, spki.data, spki.len, &ki, why, sizeof(why)),
		    IK_ERR_POLICY_KEY);
		ik_buf_cleanup(&spki);
		EVP_PKEY_free(key);
	}
	{
		EVP_PKEY *key = (EVP_PKEY *)1;
		ik_buf spki;

		ik_buf_init(&spki, 0);
		assert_int_equal(ra_p12_keygen((ra_keytype)7, &key, &spki), IK_ERR_ARG);
		assert_null(key);
		assert_int_equal(spki.len, 0);
		ik_buf_cleanup(&spki);
	}
}

/* ---- taking a PKCS#12 apart ------------------------------------------------------- */

typedef struct pbe_info {
	int scheme;   /* NID_pbes2 or the PKCS#12 PBE OID */
	int cipher;   /* PBES2: the encryption scheme */
	int prf;      /* PBES2: the PBKDF2 PRF */
	long iter;
} pbe_info;

static void get_pbe(const X509_ALGOR *alg, pbe_info *pi)
{
	memset(pi, 0, sizeof(*pi));
	pi->scheme = OBJ_obj2nid(alg->algorithm);
	if (pi->scheme == NID_pbes2) {
		PBE2PARAM *p2 = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(PBE2PARAM), alg->parameter);
		PBKDF2PARAM *kdf;

		assert_non_null(p2);
		assert_int_equal(OBJ_obj2nid(p2->keyfunc->algorithm), NID_id_pbkdf2);
		kdf = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(PBKDF2PARAM), p2->keyfunc->parameter);
		assert_non_null(kdf);
		pi->cipher = OBJ_obj2nid(p2->encryption->algorithm);
		/* an absent PRF means hmacWithSHA1 (RFC 8018) */
		pi->prf = kdf->prf != NULL ? OBJ_obj2nid(kdf->prf->algorithm) : NID_hmacWithSHA1;
		pi->iter = ASN1_INTEGER_get(kdf->iter);
		PBKDF2PARAM_free(kdf);
		PBE2PARAM_free(p2);
	} else {
		PBEPARAM *pbe = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(PBEPARAM), alg->parameter);

		assert_non_null(pbe);
		pi->iter = ASN1_INTEGER_get(pbe->iter);
		PBEPARAM_free(pbe);
	}
}

typedef struct p12_view {
	pbe_info cert_safe;   /* the encrypted safe holding the certificates */
	pbe_info key_bag;     /* the shrouded key bag */
	int mac_md;
	long mac_iter;
	int n_certs, n_plain_keys, n_shrouded, n_encrypted_safes;
	char leaf_name[256];  /* friendlyName of the bag with a localKeyID */
	unsigned char cert_keyid[64], key_keyid[64];
	int cert_keyid_len, key_keyid_len;
	char key_name[256];
} p12_view;

static int get_keyid(const PKCS12_SAFEBAG *bag, unsigned char *out, size_t outsz)
{
	const ASN1_TYPE *t = PKCS12_get_attr_gen(PKCS12_SAFEBAG_get0_attrs(bag), NID_localKeyID);
	int n;

	if (t == NULL || t->type != V_ASN1_OCTET_STRING)
		return 0;
	n = ASN1_STRING_length(t->value.octet_string);
	assert_true(n > 0 && (size_t)n <= outsz);
	memcpy(out, ASN1_STRING_get0_data(t->value.octet_string), (size_t)n);
	return n;
}

static void view_bags(STACK_OF(PKCS12_SAFEBAG) *bags, p12_view *v)
{
	for (int j = 0; j < sk_PKCS12_SAFEBAG_num(bags); j++) {
		PKCS12_SAFEBAG *bag = sk_PKCS12_SAFEBAG_value(bags, j);
		char *name = PKCS12_get_friendlyname(bag);
		const X509_ALGOR *alg;

		switch (PKCS12_SAFEBAG_get_nid(bag)) {
		case NID_certBag:
			v->n_certs++;
			if ((v->cert_keyid_len == 0) &&
			    (v->cert_keyid_len = get_keyid(bag, v->cert_keyid, sizeof(v->cert_keyid))) > 0 &&
			    name != NULL)
				snprintf(v->leaf_name, sizeof(v->leaf_name), "%s", name);
			break;
		case NID_pkcs8ShroudedKeyBag:
			v->n_shrouded++;
			X509_SIG_get0(PKCS12_SAFEBAG_get0_pkcs8(bag), &alg, NULL);
			get_pbe(alg, &v->key_bag);
			v->key_keyid_len = get_keyid(bag, v->key_keyid, sizeof(v->key_keyid));
			if (name != NULL)
				snprintf(v->key_name, sizeof(v->key_name), "%s", name);
			break;
		case NID_keyBag:
			v->n_plain_keys++;
			break;
		default:
			fail_msg("unexpected bag type %d", PKCS12_SAFEBAG_get_nid(bag));
		}
		OPENSSL_free(name);
	}
}

static void view_p12(PKCS12 *p12, const char *pass, p12_view *v)
{
	STACK_OF(PKCS7) *safes = PKCS12_unpack_authsafes(p12);
	const X509_ALGOR *macalg;
	const ASN1_INTEGER *iter;
	const ASN1_OBJECT *obj;

	memset(v, 0, sizeof(*v));
	assert_non_null(safes);
	for (int i = 0; i < sk_PKCS7_num(safes); i++) {
		PKCS7 *p7 = sk_PKCS7_value(safes, i);
		STACK_OF(PKCS12_SAFEBAG) *bags = NULL;

		switch (OBJ_obj2nid(p7->type)) {
		case NID_pkcs7_encrypted:
			v->n_encrypted_safes++;
			get_pbe(p7->d.encrypted->enc_data->algorithm, &v->cert_safe);
			bags = PKCS12_unpack_p7encdata(p7, pass, -1);
			break;
		case NID_pkcs7_data:
			bags = PKCS12_unpack_p7data(p7);
			break;
		default:
			fail_msg("unexpected safe type");
		}
		assert_non_null(bags);
		/* certificates only ever inside the encrypted safe */
		if (OBJ_obj2nid(p7->type) == NID_pkcs7_data)
			for (int j = 0; j < sk_PKCS12_SAFEBAG_num(bags); j++)
				assert_int_not_equal(PKCS12_SAFEBAG_get_nid(sk_PKCS12_SAFEBAG_value(bags, j)),
				    NID_certBag);
		view_bags(bags, v);
		sk_PKCS12_SAFEBAG_pop_free(bags, PKCS12_SAFEBAG_free);
	}
	sk_PKCS7_pop_free(safes, PKCS7_free);
	PKCS12_get0_mac(NULL, &macalg, NULL, &iter, p12);
	assert_non_null(macalg);
	X509_ALGOR_get0(&obj, NULL, NULL, macalg);
	v->mac_md = OBJ_obj2nid(obj);
	/* an absent iteration count means 1 */
	v->mac_iter = iter != NULL ? ASN1_INTEGER_get(iter) : 1;
}

/* ---- building ---------------------------------------------------------------------- */

typedef struct built {
	EVP_PKEY *key;
	uint8_t *leaf;
	size_t leaf_len;
	ik_buf p12;
} built;

static void build_one(ra_keytype kt, ra_p12_flavour f, uint32_t iter, built *b)
{
	const uint8_t *chain[2] = { pki.ca_der, pki.root_der };
	size_t chain_len[2] = { pki.ca_len, pki.root_len };
	ik_buf spki;
	ra_p12_req r;

	ik_buf_init(&spki, 0);
	ik_buf_init(&b->p12, 0);
	assert_int_equal(ra_p12_keygen(kt, &b->key, &spki), IK_OK);
	b->leaf = issue_leaf(&spki, CN_UTF8, &b->leaf_len);
	ik_buf_cleanup(&spki);
	memset(&r, 0, sizeof(r));
	r.key = b->key;
	r.cert = b->leaf;
	r.cert_len = b->leaf_len;
	r.chain = chain;
	r.chain_len = chain_len;
	r.nchain = 2;
	r.password = PASS;
	r.flavour = f;
	r.iter = iter;
	assert_int_equal(ra_p12_build(&r, &b->p12), IK_OK);
	assert_true(b->p12.len > 0);
}

static void built_free(built *b)
{
	EVP_PKEY_free(b->key);
	OPENSSL_free(b->leaf);
	ik_buf_cleanup(&b->p12);
}

static PKCS12 *load(const built *b)
{
	const unsigned char *p = b->p12.data;
	PKCS12 *p12 = d2i_PKCS12(NULL, &p, (long)b->p12.len);

	assert_non_null(p12);
	assert_ptr_equal(p, b->p12.data + b->p12.len);
	return p12;
}

static int der_eq(X509 *x, const uint8_t *der, size_t n)
{
	unsigned char *d = NULL;
	int len = i2d_X509(x, &d);
	int eq = len > 0 && (size_t)len == n && memcmp(d, der, n) == 0;

	OPENSSL_free(d);
	return eq;
}

/* PKCS12_parse with the password: the same key, the leaf, both CA certs, the CN as
 * friendly name; the wrong password opens nothing. */
static void check_parse(const built *b)
{
	PKCS12 *p12 = load(b);
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	STACK_OF(X509) *ca = NULL;
	int len = 0;
	const unsigned char *alias;
	int seen_root = 0, seen_ca = 0;

	assert_int_equal(PKCS12_verify_mac(p12, PASS, -1), 1);
	assert_int_equal(PKCS12_verify_mac(p12, "Correct-Horse-8", -1), 0);
	assert_int_equal(PKCS12_parse(p12, PASS, &key, &cert, &ca), 1);
	assert_int_equal(EVP_PKEY_eq(key, b->key), 1);
	assert_int_equal(X509_check_private_key(cert, key), 1);
	assert_true(der_eq(cert, b->leaf, b->leaf_len));
	alias = X509_alias_get0(cert, &len);
	assert_non_null(alias);
	assert_int_equal(len, (int)strlen(CN_UTF8));
	assert_memory_equal(alias, CN_UTF8, strlen(CN_UTF8));
	assert_int_equal(sk_X509_num(ca), 2);
	for (int i = 0; i < sk_X509_num(ca); i++) {
		seen_root += der_eq(sk_X509_value(ca, i), pki.root_der, pki.root_len);
		seen_ca += der_eq(sk_X509_value(ca, i), pki.ca_der, pki.ca_len);
	}
	assert_int_equal(seen_root, 1);
	assert_int_equal(seen_ca, 1);
	EVP_PKEY_free(key);
	X509_free(cert);
	sk_X509_pop_free(ca, X509_free);

	key = NULL, cert = NULL, ca = NULL;
	assert_int_equal(PKCS12_parse(p12, "correct-horse-7", &key, &cert, &ca), 0);
	assert_null(key);
	ERR_clear_error();
	PKCS12_free(p12);
}

static void check_algorithms(const built *b, ra_p12_flavour f, long iter)
{
	PKCS12 *p12 = load(b);
	p12_view v;

	view_p12(p12, PASS, &v);
	assert_int_equal(v.n_encrypted_safes, 1);
	assert_int_equal(v.n_certs, 3);
	assert_int_equal(v.n_shrouded, 1);
	assert_int_equal(v.n_plain_keys, 0);
	if (f == RA_P12_MODERN) {
		assert_int_equal(v.cert_safe.scheme, NID_pbes2);
		assert_int_equal(v.cert_safe.cipher, NID_aes_256_cbc);
		assert_int_equal(v.cert_safe.prf, NID_hmacWithSHA256);
		assert_int_equal(v.key_bag.scheme, NID_pbes2);
		assert_int_equal(v.key_bag.cipher, NID_aes_256_cbc);
		assert_int_equal(v.key_bag.prf, NID_hmacWithSHA256);
		assert_int_equal(v.mac_md, NID_sha256);
	} else {
		assert_int_equal(v.cert_safe.scheme, NID_pbe_WithSHA1And3_Key_TripleDES_CBC);
		assert_int_equal(v.key_bag.scheme, NID_pbe_WithSHA1And3_Key_TripleDES_CBC);
		assert_int_equal(v.mac_md, NID_sha1);
	}
	assert_int_equal(v.cert_safe.iter, iter);
	assert_int_equal(v.key_bag.iter, iter);
	assert_int_equal(v.mac_iter, iter);
	/* the key bag and the leaf's cert bag are tied by localKeyID and both named by CN */
	assert_true(v.key_keyid_len > 0);
	assert_int_equal(v.key_keyid_len, v.cert_keyid_len);
	assert_memory_equal(v.key_keyid, v.cert_keyid, (size_t)v.key_keyid_len);
	assert_string_equal(v.leaf_name, CN_UTF8);
	assert_string_equal(v.key_name, CN_UTF8);
	PKCS12_free(p12);
}

static void run_flavour(ra_p12_flavour f, long iter)
{
	for (int kt = RA_KEY_EC_P256; kt <= RA_KEY_RSA_3072; kt++) {
		built b;

		build_one((ra_keytype)kt, f, 0, &b);
		check_parse(&b);
		check_algorithms(&b, f, iter);
		built_free(&b);
	}
}

static void test_modern_all_key_types(void **state)
{
	(void)state;
	run_flavour(RA_P12_MODERN, RA_P12_ITER_MODERN);
}

static void test_compatible_all_key_types(void **state)
{
	(void)state;
	run_flavour(RA_P12_COMPATIBLE, RA_P12_ITER_COMPATIBLE);
}

static void test_iteration_override(void **state)
{
	built b;

	(void)state;
	build_one(RA_KEY_EC_P256, RA_P12_COMPATIBLE, 5000, &b);
	check_algorithms(&b, RA_P12_COMPATIBLE, 5000);
	built_free(&b);
	build_one(RA_KEY_EC_P256, RA_P12_MODERN, RA_P12_ITER_MIN, &b);
	check_parse(&b);
	check_algorithms(&b, RA_P12_MODERN, RA_P12_ITER_MIN);
	built_free(&b);
}

/* Two files from the same inputs differ (fresh salts and IVs). */
static void test_fresh_salts(void **state)
{
	const uint8_t *chain[1] = { pki.ca_der };
	size_t chain_len[1] = { pki.ca_len };
	built b;
	ra_p12_req r;
	ik_buf again;

	(void)state;
	build_one(RA_KEY_EC_P256, RA_P12_COMPATIBLE, 0, &b);
	memset(&r, 0, sizeof(r));
	r.key = b.key, r.cert = b.leaf, r.cert_len = b.leaf_len;
	r.chain = chain, r.chain_len = chain_len, r.nchain = 1;
	r.password = PASS, r.flavour = RA_P12_COMPATIBLE;
	ik_buf_init(&again, 0);
	assert_int_equal(ra_p12_build(&r, &again), IK_OK);
	assert_false(again.len == b.p12.len && memcmp(again.data, b.p12.data, again.len) == 0);
	ik_buf_cleanup(&again);
	built_free(&b);
}

static void expect_build(const ra_p12_req *r, ik_status want)
{
	ik_buf out;

	ik_buf_init(&out, 0);
	assert_int_equal(ra_p12_build(r, &out), want);
	if (want != IK_OK)
		assert_int_equal(out.len, 0);
	ik_buf_cleanup(&out);
}

static void test_build_refusals(void **state)
{
	const uint8_t *chain[1] = { pki.ca_der };
	size_t chain_len[1] = { pki.ca_len };
	char longpw[RA_P12_MAX_PASSWORD + 2];
	EVP_PKEY *other = NULL;
	uint8_t *padded;
	ik_buf spki;
	built b;
	ra_p12_req r, bad;

	(void)state;
	build_one(RA_KEY_EC_P256, RA_P12_MODERN, 0, &b);
	memset(&r, 0, sizeof(r));
	r.key = b.key, r.cert = b.leaf, r.cert_len = b.leaf_len;
	r.chain = chain, r.chain_len = chain_len, r.nchain = 1;
	r.password = PASS, r.flavour = RA_P12_MODERN;
	expect_build(&r, IK_OK);

	/* a certificate for another key */
	ik_buf_init(&spki, 0);
	assert_int_equal(ra_p12_keygen(RA_KEY_EC_P256, &other, &spki), IK_OK);
	bad = r, bad.key = other;
	expect_build(&bad, IK_ERR_ARG);
	EVP_PKEY_free(other);
	ik_buf_cleanup(&spki);

	/* not exactly one DER certificate */
	bad = r, bad.cert_len = b.leaf_len - 1;
	expect_build(&bad, IK_ERR_ARG);
	padded = malloc(b.leaf_len + 1);
	assert_non_null(padded);
	memcpy(padded, b.leaf, b.leaf_len);
	padded[b.leaf_len] = 0;
	bad = r, bad.cert = padded, bad.cert_len = b.leaf_len + 1;
	expect_build(&bad, IK_ERR_ARG);
	bad = r, bad.cert = NULL;
	expect_build(&bad, IK_ERR_ARG);
	{
		const uint8_t *junk_chain[1] = { padded };
		size_t junk_len[1] = { b.leaf_len + 1 };

		bad = r, bad.chain = junk_chain, bad.chain_len = junk_len;
		expect_build(&bad, IK_ERR_ARG);
	}
	free(padded);
	bad = r, bad.nchain = 9;
	expect_build(&bad, IK_ERR_ARG);

	/* passwords */
	bad = r, bad.password = "";
	expect_build(&bad, IK_ERR_ARG);
	bad = r, bad.password = NULL;
	expect_build(&bad, IK_ERR_ARG);
	bad = r, bad.password = "tab\there-Ok1";
	expect_build(&bad, IK_ERR_ARG);
	bad = r, bad.password = "bad-utf8-\xc3\x28";
	expect_build(&bad, IK_ERR_ARG);
	memset(longpw, 'a', sizeof(longpw) - 1);
	longpw[sizeof(longpw) - 1] = '\0';
	bad = r, bad.password = longpw;
	expect_build(&bad, IK_ERR_ARG);
	longpw[RA_P12_MAX_PASSWORD] = '\0';
	bad = r, bad.password = longpw;
	expect_build(&bad, IK_OK);

	/* iterations, flavour, friendly name */
	bad = r, bad.iter = RA_P12_ITER_MIN - 1;
	expect_build(&bad, IK_ERR_ARG);
	bad = r, bad.iter = RA_P12_ITER_MAX + 1;
	expect_build(&bad, IK_ERR_ARG);
	bad = r, bad.flavour = (ra_p12_flavour)2;
	expect_build(&bad, IK_ERR_ARG);
	bad = r, bad.friendly_name = "bell\a";
	expect_build(&bad, IK_ERR_ARG);
	bad = r, bad.key = NULL;
	expect_build(&bad, IK_ERR_ARG);
	expect_build(NULL, IK_ERR_ARG);
	built_free(&b);
}

/* An explicit friendly name replaces the CN. */
static void test_friendly_name_override(void **state)
{
	built b;
	ra_p12_req r;
	ik_buf out;
	PKCS12 *p12;
	X509 *cert = NULL;
	EVP_PKEY *key = NULL;
	const unsigned char *alias, *p;
	int len = 0;

	(void)state;
	build_one(RA_KEY_EC_P256, RA_P12_MODERN, RA_P12_ITER_MIN, &b);
	memset(&r, 0, sizeof(r));
	r.key = b.key, r.cert = b.leaf, r.cert_len = b.leaf_len;
	r.password = PASS, r.flavour = RA_P12_MODERN, r.iter = RA_P12_ITER_MIN;
	r.friendly_name = "alice's laptop";
	ik_buf_init(&out, 0);
	assert_int_equal(ra_p12_build(&r, &out), IK_OK);
	p = out.data;
	p12 = d2i_PKCS12(NULL, &p, (long)out.len);
	assert_non_null(p12);
	assert_int_equal(PKCS12_parse(p12, PASS, &key, &cert, NULL), 1);
	alias = X509_alias_get0(cert, &len);
	assert_int_equal(len, (int)strlen("alice's laptop"));
	assert_memory_equal(alias, "alice's laptop", (size_t)len);
	X509_free(cert);
	EVP_PKEY_free(key);
	PKCS12_free(p12);
	ik_buf_cleanup(&out);
	built_free(&b);
}

/* ---- password policy --------------------------------------------------------------- */

static void expect_pw(const ra_pw_policy *p, const char *pw, const char *const *ids,
    size_t nids, ra_pw_rule want)
{
	char why[256];
	ra_pw_rule got;

	memset(why, 'x', sizeof(why));
	got = ra_pw_check(p, pw, ids, nids, why, sizeof(why));
	if (got != want)
		fail_msg("password '%s': rule %s, want %s (%s)", pw != NULL ? pw : "(null)",
		    ra_pw_rule_code(got), ra_pw_rule_code(want), why);
	if (want == RA_PW_OK) {
		assert_string_equal(why, "");
		return;
	}
	/* the message names the rule ... */
	assert_memory_equal(why, ra_pw_rule_code(want), strlen(ra_pw_rule_code(want)));
	/* ... and never repeats the password */
	if (pw != NULL && strlen(pw) >= 4)
		assert_null(strstr(why, pw));
}

static void test_password_policy(void **state)
{
	const char *ids[] = { "tanaka", CN_UTF8, NULL, "ab" };
	ra_pw_policy p;
	char why[128];

	(void)state;
	ra_pw_policy_default(&p);
	assert_int_equal(ra_pw_policy_check(&p, why, sizeof(why)), IK_OK);
	expect_pw(&p, "Correct-Horse-7", ids, 4, RA_PW_OK);
	expect_pw(&p, "Short-7a", ids, 4, RA_PW_TOO_SHORT);
	expect_pw(&p, "", ids, 4, RA_PW_TOO_SHORT);
	expect_pw(&p, NULL, ids, 4, RA_PW_TOO_SHORT);
	expect_pw(&p, "Aa1-Aa1-Aa1-Aa1-Aa1-Aa1-Aa1-Aa1-Aa1-Aa1-Aa1-Aa1-Aa1-Aa1-Aa1-Aa1-X",
	    ids, 4, RA_PW_TOO_LONG);
	expect_pw(&p, "alllowercaseletters", ids, 4, RA_PW_CLASSES);
	expect_pw(&p, "lowercase-with-symbols", ids, 4, RA_PW_CLASSES);
	expect_pw(&p, "twoclasses42", ids, 4, RA_PW_CLASSES);
	expect_pw(&p, "Three classes 42", ids, 4, RA_PW_OK);
	expect_pw(&p, "Tab\tSeparated-1", ids, 4, RA_PW_CHARSET);
	expect_pw(&p, "Del\x7fSeparated-1", ids, 4, RA_PW_CHARSET);
	expect_pw(&p, "Pass\xef\xbc\xa1word-12", ids, 4, RA_PW_CHARSET); /* full-width A */
	expect_pw(&p, "Broken-\xc3\x28-utf8", ids, 4, RA_PW_CHARSET);
	expect_pw(&p, "Overlong-\xc0\xaf-12", ids, 4, RA_PW_CHARSET);
	/* identity: equal or contained, any ASCII case; identities under 3 chars only when equal */
	expect_pw(&p, "My-TANAKA-pass1", ids, 4, RA_PW_IDENTITY);
	expect_pw(&p, "xx-Tanaka-2024", ids, 1, RA_PW_IDENTITY);
	expect_pw(&p, "Abba-Cabal-42", ids, 4, RA_PW_OK);
	{
		const char *same[] = { "Login-Name-42" };

		expect_pw(&p, "login-name-42", same, 1, RA_PW_IDENTITY);
		p.reject_identity = 0;
		expect_pw(&p, "login-name-42", same, 1, RA_PW_OK);
		p.reject_identity = 1;
	}
	expect_pw(&p, "My-TANAKA-pass1", NULL, 0, RA_PW_OK);

	/* non-ASCII when allowed: counts as a symbol, length in characters */
	p.allow_non_ascii = 1;
	expect_pw(&p, "Pass\xef\xbc\xa1word-12", ids, 4, RA_PW_OK);
	{
		const char *cn[] = { CN_UTF8 };

		expect_pw(&p, "Key " CN_UTF8 " 1", cn, 1, RA_PW_IDENTITY);
	}
	p.min_len = 12;
	/* 11 characters, 19 bytes */
	expect_pw(&p, "\xe3\x81\x82\xe3\x81\x84\xe3\x81\x86\xe3\x81\x88" "Ab1-xy", ids, 4, RA_PW_TOO_SHORT);
	expect_pw(&p, "Tab\tSeparated-1", ids, 4, RA_PW_CHARSET);
	expect_pw(&p, "C1\xc2\x85" "control-Ab1", ids, 4, RA_PW_CHARSET); /* U+0085 */

	/* required classes */
	ra_pw_policy_default(&p);
	p.min_classes = 0;
	p.required = RA_PW_DIGIT | RA_PW_SYMBOL;
	expect_pw(&p, "NoDigitsHere!", ids, 4, RA_PW_CLASSES);
	ra_pw_check(&p, "NoDigitsHere!", ids, 4, why, sizeof(why));
	assert_non_null(strstr(why, "a digit"));
	expect_pw(&p, "nosymbolshere12", ids, 4, RA_PW_CLASSES);
	ra_pw_check(&p, "nosymbolshere12", ids, 4, why, sizeof(why));
	assert_non_null(strstr(why, "a symbol"));
	expect_pw(&p, "space counts 12", ids, 4, RA_PW_OK);

	/* the limits are inclusive */
	ra_pw_policy_default(&p);
	p.min_len = 4, p.max_len = 6, p.min_classes = 1;
	expect_pw(&p, "abcd", ids, 4, RA_PW_OK);
	expect_pw(&p, "abcdef", ids, 4, RA_PW_OK);
	expect_pw(&p, "abcdefg", ids, 4, RA_PW_TOO_LONG);
	expect_pw(&p, "abc", ids, 4, RA_PW_TOO_SHORT);

	/* inconsistent policies */
	ra_pw_policy_default(&p);
	p.min_len = 0;
	assert_int_equal(ra_pw_policy_check(&p, why, sizeof(why)), IK_ERR_CONFIG);
	assert_non_null(strstr(why, "min_len"));
	ra_pw_policy_default(&p);
	p.min_len = 20, p.max_len = 10;
	assert_int_equal(ra_pw_policy_check(&p, why, sizeof(why)), IK_ERR_CONFIG);
	assert_non_null(strstr(why, "max_len"));
	ra_pw_policy_default(&p);
	p.max_len = RA_P12_MAX_PASSWORD + 1;
	assert_int_equal(ra_pw_policy_check(&p, why, sizeof(why)), IK_ERR_CONFIG);
	ra_pw_policy_default(&p);
	p.min_classes = 5;
	assert_int_equal(ra_pw_policy_check(&p, why, sizeof(why)), IK_ERR_CONFIG);
	assert_non_null(strstr(why, "min_classes"));
	ra_pw_policy_default(&p);
	p.required = 0x10;
	assert_int_equal(ra_pw_policy_check(&p, why, sizeof(why)), IK_ERR_CONFIG);
	assert_string_equal(ra_pw_rule_code(RA_PW_IDENTITY), "password-identity");
	assert_string_equal(ra_pw_rule_code((ra_pw_rule)42), "password-unknown");
}

/* ---- CSR --------------------------------------------------------------------------- */

/* A CSR for key with the given CNs (0, 1 or 2 of them; UTF8String as given, no length
 * limit applied), DER into *der. */
static size_t make_csr(EVP_PKEY *key, const char *cn1, const char *cn2, uint8_t **der)
{
	X509_REQ *req = X509_REQ_new();
	X509_NAME *nm = X509_NAME_new();
	int n;

	assert_non_null(req);
	assert_non_null(nm);
	assert_int_equal(X509_NAME_add_entry_by_txt(nm, "O", MBSTRING_UTF8,
	    (const unsigned char *)"Customer", -1, -1, 0), 1);
	if (cn1 != NULL)
		assert_int_equal(X509_NAME_add_entry_by_txt(nm, "CN", V_ASN1_UTF8STRING,
		    (const unsigned char *)cn1, -1, -1, 0), 1);
	if (cn2 != NULL)
		assert_int_equal(X509_NAME_add_entry_by_txt(nm, "CN", V_ASN1_UTF8STRING,
		    (const unsigned char *)cn2, -1, -1, 0), 1);
	assert_int_equal(X509_REQ_set_subject_name(req, nm), 1);
	assert_int_equal(X509_REQ_set_pubkey(req, key), 1);
	assert_true(X509_REQ_sign(req, key, EVP_sha256()) > 0);
	*der = NULL;
	n = i2d_X509_REQ(req, der);
	assert_true(n > 0);
	X509_NAME_free(nm);
	X509_REQ_free(req);
	return (size_t)n;
}

static char *to_pem(const uint8_t *der, size_t n, const char *label)
{
	BIO *b = BIO_new(BIO_s_mem());
	BUF_MEM *bm;
	char *s;

	assert_non_null(b);
	assert_true(PEM_write_bio(b, label, "", der, (long)n) > 0);
	BIO_get_mem_ptr(b, &bm);
	s = calloc(1, bm->length + 1);
	assert_non_null(s);
	memcpy(s, bm->data, bm->length);
	BIO_free(b);
	return s;
}

static ik_status csr(const void *in, size_t n, ik_buf *spki, char *cn, size_t cnsz, char *why)
{
	ik_buf_reset(spki);
	memset(why, 0, 256);
	return ra_p12_spki_from_csr(in, n, spki, cn, cnsz, why, 256);
}

static void expect_spki_of(const ik_buf *spki, EVP_PKEY *key)
{
	unsigned char *der = NULL;
	int n = i2d_PUBKEY(key, &der);

	assert_true(n > 0);
	assert_int_equal(spki->len, (size_t)n);
	assert_memory_equal(spki->data, der, (size_t)n);
	OPENSSL_free(der);
}

static void test_csr_accepted(void **state)
{
	EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	EVP_PKEY *rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	uint8_t *der;
	size_t n;
	char *pem, *padded, cn[PROTO_MAX_ATTR_LEN + 1], why[256];
	ik_buf spki;
	sg_profile prof;
	sg_keyinfo ki;

	(void)state;
	assert_non_null(ec);
	assert_non_null(rsa);
	ik_buf_init(&spki, 0);
	profile_init(&prof, SG_KEY_EC_P256 | SG_KEY_EC_P384 | SG_KEY_RSA);

	n = make_csr(ec, CN_UTF8, NULL, &der);
	assert_int_equal(csr(der, n, &spki, cn, sizeof(cn), why), IK_OK);
	expect_spki_of(&spki, ec);
	assert_string_equal(cn, CN_UTF8);
	assert_int_equal(sg_spki_check(&prof, spki.data, spki.len, &ki, why, sizeof(why)), IK_OK);
	pem = to_pem(der, n, "CERTIFICATE REQUEST");
	assert_int_equal(csr(pem, strlen(pem), &spki, cn, sizeof(cn), why), IK_OK);
	expect_spki_of(&spki, ec);
	assert_string_equal(cn, CN_UTF8);
	/* whitespace around the block is fine */
	padded = calloc(1, strlen(pem) + 8);
	assert_non_null(padded);
	snprintf(padded, strlen(pem) + 8, "\r\n %s\n\n", pem);
	assert_int_equal(csr(padded, strlen(padded), &spki, cn, sizeof(cn), why), IK_OK);
	free(padded);
	free(pem);
	OPENSSL_free(der);
	pem = NULL;

	/* the old label, RSA, no CN */
	n = make_csr(rsa, NULL, NULL, &der);
	pem = to_pem(der, n, "NEW CERTIFICATE REQUEST");
	assert_int_equal(csr(pem, strlen(pem), &spki, cn, sizeof(cn), why), IK_OK);
	expect_spki_of(&spki, rsa);
	assert_string_equal(cn, "");
	assert_int_equal(sg_spki_check(&prof, spki.data, spki.len, &ki, why, sizeof(why)), IK_OK);
	free(pem);
	OPENSSL_free(der);
	ik_buf_cleanup(&spki);
	EVP_PKEY_free(ec);
	EVP_PKEY_free(rsa);
}

/* A CSR whose EC point is compressed comes out uncompressed, as the signer requires. */
static void test_csr_compressed_point(void **state)
{
	EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	uint8_t *der;
	size_t n;
	char cn[PROTO_MAX_ATTR_LEN + 1], why[256];
	ik_buf spki;
	sg_profile prof;
	sg_keyinfo ki;

	(void)state;
	assert_non_null(ec);
	assert_int_equal(EVP_PKEY_set_utf8_string_param(ec,
	    OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT, "compressed"), 1);
	n = make_csr(ec, "bob", NULL, &der);
	ik_buf_init(&spki, 0);
	assert_int_equal(csr(der, n, &spki, cn, sizeof(cn), why), IK_OK);
	assert_string_equal(cn, "bob");
	assert_int_equal(spki.len, 91); /* 26-byte header + 65-byte uncompressed point */
	assert_int_equal(spki.data[spki.len - 65], 0x04);
	profile_init(&prof, SG_KEY_EC_P256);
	assert_int_equal(sg_spki_check(&prof, spki.data, spki.len, &ki, why, sizeof(why)), IK_OK);
	/* a CN buffer that could not hold the longest CN is the caller's mistake */
	assert_int_equal(csr(der, n, &spki, cn, PROTO_MAX_ATTR_LEN, why), IK_ERR_ARG);
	ik_buf_cleanup(&spki);
	OPENSSL_free(der);
	EVP_PKEY_free(ec);
}

static void expect_csr_refused(const void *in, size_t n, ik_status want, const char *msg)
{
	char cn[PROTO_MAX_ATTR_LEN + 1], why[256];
	ik_buf spki;

	ik_buf_init(&spki, 0);
	memset(cn, 'x', sizeof(cn));
	assert_int_equal(csr(in, n, &spki, cn, sizeof(cn), why), want);
	if (strstr(why, msg) == NULL)
		fail_msg("why '%s' does not say '%s'", why, msg);
	assert_string_equal(cn, "");
	ik_buf_cleanup(&spki);
}

static void test_csr_refused(void **state)
{
	EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	EVP_PKEY *p521 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521");
	EVP_PKEY *rsa1k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	char longcn[PROTO_MAX_ATTR_LEN + 2];
	uint8_t *der, *big;
	char *pem, *two;
	size_t n, m;

	(void)state;
	assert_non_null(ec);
	assert_non_null(p521);
	assert_non_null(rsa1k);
	assert_non_null(ed);

	n = make_csr(ec, "carol", NULL, &der);
	/* a flipped bit in the signature (the last byte) */
	der[n - 1] ^= 0x01;
	expect_csr_refused(der, n, IK_ERR_ARG, "signature does not verify");
	der[n - 1] ^= 0x01;
	/* trailing bytes, truncation, garbage, empty, oversize */
	big = calloc(1, RA_CSR_MAX + 1);
	assert_non_null(big);
	memcpy(big, der, n);
	expect_csr_refused(big, n + 1, IK_ERR_ARG, "1 bytes after the request");
	expect_csr_refused(der, n - 1, IK_ERR_ARG, "not a PKCS#10");
	expect_csr_refused("hello", 5, IK_ERR_ARG, "not a PKCS#10");
	expect_csr_refused(der, 0, IK_ERR_ARG, "size");
	expect_csr_refused(big, RA_CSR_MAX + 1, IK_ERR_ARG, "size");
	free(big);
	/* PEM: wrong label, data after the block, broken base64 */
	pem = to_pem(der, n, "CERTIFICATE");
	expect_csr_refused(pem, strlen(pem), IK_ERR_ARG, "not a CERTIFICATE REQUEST");
	free(pem);
	pem = to_pem(der, n, "CERTIFICATE REQUEST");
	m = strlen(pem);
	two = calloc(1, 2 * m + 1);
	assert_non_null(two);
	memcpy(two, pem, m);
	memcpy(two + m, pem, m);
	expect_csr_refused(two, 2 * m, IK_ERR_ARG, "data after the PEM block");
	memcpy(two, pem, m);
	two[40] = '!';
	expect_csr_refused(two, m, IK_ERR_ARG, "malformed PEM");
	free(two);
	free(pem);
	OPENSSL_free(der);

	/* subject names */
	n = make_csr(ec, "one", "two", &der);
	expect_csr_refused(der, n, IK_ERR_ARG, "more than one CN");
	OPENSSL_free(der);
	memset(longcn, 'c', sizeof(longcn) - 1);
	longcn[sizeof(longcn) - 1] = '\0';
	n = make_csr(ec, longcn, NULL, &der);
	expect_csr_refused(der, n, IK_ERR_ARG, "longer than 128 bytes");
	OPENSSL_free(der);
	n = make_csr(ec, "line\nbreak", NULL, &der);
	expect_csr_refused(der, n, IK_ERR_ARG, "control characters");
	OPENSSL_free(der);

	/* keys the signer would never take */
	n = make_csr(p521, "dave", NULL, &der);
	expect_csr_refused(der, n, IK_ERR_POLICY_KEY, "curve");
	OPENSSL_free(der);
	n = make_csr(rsa1k, "erin", NULL, &der);
	expect_csr_refused(der, n, IK_ERR_POLICY_KEY, "1024 bits");
	OPENSSL_free(der);
	{
		X509_REQ *req = X509_REQ_new();
		int len;

		assert_int_equal(X509_REQ_set_pubkey(req, ed), 1);
		assert_true(X509_REQ_sign(req, ed, NULL) > 0);
		der = NULL;
		len = i2d_X509_REQ(req, &der);
		assert_true(len > 0);
		expect_csr_refused(der, (size_t)len, IK_ERR_POLICY_KEY, "ED25519");
		OPENSSL_free(der);
		X509_REQ_free(req);
	}
	EVP_PKEY_free(ec);
	EVP_PKEY_free(p521);
	EVP_PKEY_free(rsa1k);
	EVP_PKEY_free(ed);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keytype_names),
		cmocka_unit_test(test_keygen_matches_signer_profile),
		cmocka_unit_test(test_modern_all_key_types),
		cmocka_unit_test(test_compatible_all_key_types),
		cmocka_unit_test(test_iteration_override),
		cmocka_unit_test(test_fresh_salts),
		cmocka_unit_test(test_build_refusals),
		cmocka_unit_test(test_friendly_name_override),
		cmocka_unit_test(test_password_policy),
		cmocka_unit_test(test_csr_accepted),
		cmocka_unit_test(test_csr_compressed_point),
		cmocka_unit_test(test_csr_refused),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
