/* batch_envelope: the key pair of an "issue N more" batch — its private key kept only as
 * encrypted PKCS#8 (PBES2) under the officer's passphrase — and a device key's DER, written
 * for sealing (batch_seal.c seals it; formats in batch.h).
 *
 * Why not PEM_write_bio_PKCS8PrivateKey: it cannot set the PBKDF2 iteration count (2048 by
 * default); PKCS8_encrypt_ex writes the same PEM with RA_BATCH_KDF_ITER. */
#include <string.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <openssl/core_names.h>

#include "batch.h"
#include "p12.h"
#include "store.h"

#define SALT_LEN 16
#define PKCS8_MAX 8000                 /* a device key's PKCS#8 DER (RSA-3072: ~1.8 KB) */

static ik_status crypto_fail(void)
{
	ERR_clear_error();
	return IK_ERR_CRYPTO;
}

static size_t pass_len(const char *passphrase)
{
	return passphrase != NULL ? strnlen(passphrase, RA_BATCH_PASSPHRASE_MAX + 1) : 0;
}

ik_status ra_batch_envelope_from(EVP_PKEY *k, const char *passphrase, ik_buf *spki,
    ik_buf *pem)
{
	size_t plen = pass_len(passphrase);
	PKCS8_PRIV_KEY_INFO *p8 = NULL;
	X509_SIG *sig = NULL;
	BIO *b = NULL;
	unsigned char *der = NULL, salt[SALT_LEN];
	char *data = NULL;
	long len;
	int n;
	ik_status st = IK_ERR_CRYPTO;

	if (plen == 0 || plen > RA_BATCH_PASSPHRASE_MAX || k == NULL || !EVP_PKEY_is_a(k, "RSA") ||
	    EVP_PKEY_get_bits(k) != RA_BATCH_ENVELOPE_BITS)
		return IK_ERR_ARG;
	if ((n = i2d_PUBKEY(k, &der)) <= 0 || (size_t)n > RA_SPKI_MAX)
		goto out;
	if (RAND_bytes(salt, sizeof(salt)) != 1 || (p8 = EVP_PKEY2PKCS8(k)) == NULL)
		goto out;
	sig = PKCS8_encrypt_ex(-1, EVP_aes_256_cbc(), passphrase, (int)plen, salt, SALT_LEN,
	    RA_BATCH_KDF_ITER, p8, NULL, NULL);
	PKCS8_PRIV_KEY_INFO_free(p8); /* clears the key octets (ASN1_STRING_clear_free) */
	p8 = NULL;
	if (sig == NULL || (b = BIO_new(BIO_s_mem())) == NULL || PEM_write_bio_PKCS8(b, sig) != 1)
		goto out;
	if ((len = BIO_get_mem_data(b, &data)) <= 0 || (size_t)len > RA_BATCH_KEY_PEM_MAX) {
		st = IK_ERR_INTERNAL;
		goto out;
	}
	if ((st = ik_buf_put(spki, der, (size_t)n)) == IK_OK)
		st = ik_buf_put(pem, data, (size_t)len);
out:
	if (st == IK_ERR_CRYPTO)
		ERR_clear_error();
	OPENSSL_cleanse(salt, sizeof(salt));
	OPENSSL_free(der);
	BIO_free(b);
	X509_SIG_free(sig);
	PKCS8_PRIV_KEY_INFO_free(p8);
	return st;
}

typedef struct keygen_stop {
	int (*stop)(void *arg);
	void *arg;
} keygen_stop;

/* OpenSSL's progress callback, called all through the prime search: 0 abandons it */
static int keygen_progress(EVP_PKEY_CTX *ctx)
{
	const keygen_stop *ks = EVP_PKEY_CTX_get_app_data(ctx);

	return ks->stop(ks->arg) ? 0 : 1;
}

EVP_PKEY *ra_batch_envelope_keygen(int (*stop)(void *arg), void *arg)
{
	keygen_stop ks = { .stop = stop, .arg = arg };
	EVP_PKEY_CTX *ctx;
	EVP_PKEY *k = NULL;

	if (stop == NULL) {
		k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)RA_BATCH_ENVELOPE_BITS);
		if (k == NULL)
			ERR_clear_error();
		return k;
	}
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	if (ctx != NULL && EVP_PKEY_keygen_init(ctx) == 1 &&
	    EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, RA_BATCH_ENVELOPE_BITS) == 1) {
		EVP_PKEY_CTX_set_app_data(ctx, &ks);
		EVP_PKEY_CTX_set_cb(ctx, keygen_progress);
		if (EVP_PKEY_generate(ctx, &k) != 1) {
			EVP_PKEY_free(k);
			k = NULL;
		}
	}
	EVP_PKEY_CTX_free(ctx);
	if (k == NULL)
		ERR_clear_error();
	return k;
}

ik_status ra_batch_envelope_new(const char *passphrase, ik_buf *spki, ik_buf *pem)
{
	size_t plen = pass_len(passphrase);
	EVP_PKEY *k;
	ik_status st;

	if (plen == 0 || plen > RA_BATCH_PASSPHRASE_MAX)
		return IK_ERR_ARG;
	if ((k = ra_batch_envelope_keygen(NULL, NULL)) == NULL)
		return IK_ERR_CRYPTO;
	st = ra_batch_envelope_from(k, passphrase, spki, pem);
	EVP_PKEY_free(k); /* RSA's free clears its numbers (BN_clear_free) */
	return st;
}

/* The PBES2 parameters must be ours (PBKDF2, at most 10x our count, AES-256-CBC): a
 * stored key with two billion iterations would hold a request thread for hours. */
static int pbes2_sane(const X509_SIG *sig)
{
	const X509_ALGOR *alg = NULL;
	PBE2PARAM *pbe2 = NULL;
	PBKDF2PARAM *kdf = NULL;
	long iter = 0;
	int ok = 0;

	X509_SIG_get0(sig, &alg, NULL);
	if (alg == NULL || OBJ_obj2nid(alg->algorithm) != NID_pbes2 || alg->parameter == NULL)
		return 0;
	pbe2 = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(PBE2PARAM), alg->parameter);
	if (pbe2 == NULL || pbe2->keyfunc == NULL || pbe2->encryption == NULL ||
	    OBJ_obj2nid(pbe2->keyfunc->algorithm) != NID_id_pbkdf2 ||
	    OBJ_obj2nid(pbe2->encryption->algorithm) != NID_aes_256_cbc ||
	    pbe2->keyfunc->parameter == NULL)
		goto out;
	kdf = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(PBKDF2PARAM), pbe2->keyfunc->parameter);
	if (kdf == NULL || kdf->iter == NULL)
		goto out;
	iter = ASN1_INTEGER_get(kdf->iter);
	ok = iter >= 1 && iter <= 10L * RA_BATCH_KDF_ITER;
out:
	PBKDF2PARAM_free(kdf);
	PBE2PARAM_free(pbe2);
	return ok;
}

/* k is a consistent RSA-3072 key pair whose public half is spki. */
static int envelope_key_ok(EVP_PKEY *k, const uint8_t *spki, size_t spki_len)
{
	EVP_PKEY_CTX *pc = NULL;
	unsigned char *der = NULL;
	int n, ok;

	if (!EVP_PKEY_is_a(k, "RSA") || EVP_PKEY_get_bits(k) != RA_BATCH_ENVELOPE_BITS)
		return 0;
	n = i2d_PUBKEY(k, &der);
	ok = n > 0 && (size_t)n == spki_len && CRYPTO_memcmp(der, spki, spki_len) == 0 &&
	    (pc = EVP_PKEY_CTX_new(k, NULL)) != NULL && EVP_PKEY_pairwise_check(pc) == 1;
	OPENSSL_free(der);
	EVP_PKEY_CTX_free(pc);
	return ok;
}

ik_status ra_batch_envelope_open(const uint8_t *pem, size_t pem_len, const uint8_t *spki,
    size_t spki_len, const char *passphrase, EVP_PKEY **key)
{
	size_t plen = pass_len(passphrase);
	BIO *b = NULL;
	X509_SIG *sig = NULL;
	PKCS8_PRIV_KEY_INFO *p8 = NULL;
	EVP_PKEY *k = NULL;
	ik_status st = IK_ERR_ARG;

	*key = NULL;
	if (pem == NULL || pem_len == 0 || pem_len > RA_BATCH_KEY_PEM_MAX || plen == 0 ||
	    plen > RA_BATCH_PASSPHRASE_MAX || spki == NULL || spki_len == 0)
		return IK_ERR_ARG;
	if ((b = BIO_new_mem_buf(pem, (int)pem_len)) == NULL) {
		st = IK_ERR_NOMEM;
		goto out;
	}
	/* only "ENCRYPTED PRIVATE KEY": a clear PKCS#8 would not be read at all */
	if ((sig = PEM_read_bio_PKCS8(b, NULL, NULL, NULL)) == NULL || !pbes2_sane(sig))
		goto out;
	if ((p8 = PKCS8_decrypt_ex(sig, passphrase, (int)plen, NULL, NULL)) == NULL) {
		st = IK_ERR_AUTH;
		goto out;
	}
	if ((k = EVP_PKCS82PKEY(p8)) == NULL) {
		st = IK_ERR_AUTH; /* a wrong key whose padding happened to check out */
		goto out;
	}
	if (!envelope_key_ok(k, spki, spki_len)) {
		st = IK_ERR_CRYPTO;
		goto out;
	}
	*key = k;
	k = NULL;
	st = IK_OK;
out:
	ERR_clear_error();
	EVP_PKEY_free(k);
	PKCS8_PRIV_KEY_INFO_free(p8);
	X509_SIG_free(sig);
	BIO_free(b);
	return st;
}

/* ---- a device key's DER, without OpenSSL's encoder lookups (per key they cost more than
 * making the key): EC keys written directly, byte for byte what OpenSSL writes (the unit
 * test compares), RSA through OpenSSL ---- */

static const uint8_t OID_EC[] = { 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01 };
static const uint8_t OID_P256[] = { 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01,
	0x07 };
static const uint8_t OID_P384[] = { 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22 };

typedef struct ec_shape {
	const uint8_t *curve;      /* the curve's OID, tag and length included */
	size_t curve_len, priv_len, pub_len;
} ec_shape;

static int ec_shape_of(ra_keytype kt, ec_shape *sh)
{
	if (kt == RA_KEY_EC_P256)
		*sh = (ec_shape){ OID_P256, sizeof(OID_P256), 32, 65 };
	else if (kt == RA_KEY_EC_P384)
		*sh = (ec_shape){ OID_P384, sizeof(OID_P384), 48, 97 };
	else
		return 0;
	return 1;
}

/* tag and DER length of a value of len bytes (< 65536) */
static ik_status der_hdr(ik_buf *b, uint8_t tag, size_t len)
{
	uint8_t h[4] = { tag };
	size_t n;

	if (len < 0x80) {
		h[1] = (uint8_t)len;
		n = 2;
	} else if (len < 0x100) {
		h[1] = 0x81;
		h[2] = (uint8_t)len;
		n = 3;
	} else {
		h[1] = 0x82;
		h[2] = (uint8_t)(len >> 8);
		h[3] = (uint8_t)len;
		n = 4;
	}
	return ik_buf_put(b, h, n);
}

static size_t der_size(size_t len)
{
	return len + (len < 0x80 ? 2 : len < 0x100 ? 3 : 4);
}

/* AlgorithmIdentifier { id-ecPublicKey, curve } */
static ik_status put_ec_alg(ik_buf *b, const ec_shape *sh)
{
	ik_status st = der_hdr(b, 0x30, sizeof(OID_EC) + sh->curve_len);

	if (st == IK_OK)
		st = ik_buf_put(b, OID_EC, sizeof(OID_EC));
	return st == IK_OK ? ik_buf_put(b, sh->curve, sh->curve_len) : st;
}

static ik_status ec_pub(EVP_PKEY *key, const ec_shape *sh, uint8_t pub[97])
{
	size_t n = 0;

	if (EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, pub, 97,
	    &n) != 1 || n != sh->pub_len || pub[0] != 0x04)
		return crypto_fail();
	return IK_OK;
}

ik_status ra_batch_key_spki(EVP_PKEY *key, ra_keytype kt, ik_buf *out)
{
	uint8_t pub[97];
	ec_shape sh;
	size_t alg;
	ik_status st;

	if (!ec_shape_of(kt, &sh)) {
		unsigned char *der = NULL;
		int n = i2d_PUBKEY(key, &der);

		st = n <= 0 ? crypto_fail() : (size_t)n > RA_SPKI_MAX ? IK_ERR_ARG :
		    ik_buf_put(out, der, (size_t)n);
		OPENSSL_free(der);
		return st;
	}
	if ((st = ec_pub(key, &sh, pub)) != IK_OK)
		return st;
	alg = der_size(sizeof(OID_EC) + sh.curve_len);
	if ((st = der_hdr(out, 0x30, alg + der_size(sh.pub_len + 1))) == IK_OK &&
	    (st = put_ec_alg(out, &sh)) == IK_OK &&
	    (st = der_hdr(out, 0x03, sh.pub_len + 1)) == IK_OK &&
	    (st = ik_buf_put_u8(out, 0)) == IK_OK)
		st = ik_buf_put(out, pub, sh.pub_len);
	return st;
}

/* PKCS#8 { 0, alg, OCTET STRING { ECPrivateKey { 1, priv, [1] BIT STRING pub } } } */
static ik_status ec_pkcs8(EVP_PKEY *key, const ec_shape *sh, ik_buf *out)
{
	static const uint8_t v0[] = { 0x02, 0x01, 0x00 }, v1[] = { 0x02, 0x01, 0x01 };
	uint8_t pub[97], priv[48];
	BIGNUM *d = NULL;
	size_t inner, alg;
	ik_status st;

	if ((st = ec_pub(key, sh, pub)) != IK_OK)
		return st;
	if (EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_PRIV_KEY, &d) != 1 ||
	    BN_bn2binpad(d, priv, (int)sh->priv_len) != (int)sh->priv_len) {
		st = crypto_fail();
		goto out;
	}
	inner = sizeof(v1) + der_size(sh->priv_len) + der_size(der_size(sh->pub_len + 1));
	alg = der_size(sizeof(OID_EC) + sh->curve_len);
	if ((st = der_hdr(out, 0x30, sizeof(v0) + alg + der_size(der_size(inner)))) != IK_OK ||
	    (st = ik_buf_put(out, v0, sizeof(v0))) != IK_OK ||
	    (st = put_ec_alg(out, sh)) != IK_OK ||
	    (st = der_hdr(out, 0x04, der_size(inner))) != IK_OK ||
	    (st = der_hdr(out, 0x30, inner)) != IK_OK ||
	    (st = ik_buf_put(out, v1, sizeof(v1))) != IK_OK ||
	    (st = der_hdr(out, 0x04, sh->priv_len)) != IK_OK ||
	    (st = ik_buf_put(out, priv, sh->priv_len)) != IK_OK ||
	    (st = der_hdr(out, 0xa1, der_size(sh->pub_len + 1))) != IK_OK ||
	    (st = der_hdr(out, 0x03, sh->pub_len + 1)) != IK_OK ||
	    (st = ik_buf_put_u8(out, 0)) != IK_OK)
		goto out;
	st = ik_buf_put(out, pub, sh->pub_len);
out:
	OPENSSL_cleanse(priv, sizeof(priv));
	BN_clear_free(d);
	return st;
}

ik_status ra_batch_key_pkcs8(EVP_PKEY *key, ra_keytype kt, ik_buf *out)
{
	PKCS8_PRIV_KEY_INFO *p8 = NULL;
	unsigned char *der = NULL;
	int n = 0;
	ec_shape sh;
	ik_status st;

	if (ec_shape_of(kt, &sh))
		return ec_pkcs8(key, &sh, out);
	if ((p8 = EVP_PKEY2PKCS8(key)) == NULL || (n = i2d_PKCS8_PRIV_KEY_INFO(p8, &der)) <= 0)
		st = crypto_fail();
	else
		st = (size_t)n > PKCS8_MAX ? IK_ERR_ARG : ik_buf_put(out, der, (size_t)n);
	if (der != NULL)
		OPENSSL_clear_free(der, (size_t)n);
	PKCS8_PRIV_KEY_INFO_free(p8);
	return st;
}
