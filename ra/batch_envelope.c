/* batch_envelope: the key pair of an "issue N more" batch and the sealed device keys — so
 * that no private key is ever stored in clear.  The envelope private key is kept as
 * encrypted PKCS#8 (PBES2) under the officer's passphrase; each device key is sealed to the
 * envelope public key with RSA-OAEP + AES-256-GCM (format in batch.h).
 *
 * Why not EVP_SealInit: it wraps the content key with RSA PKCS#1 v1.5, not OAEP, and its
 * CBC content has no integrity of its own.  Why not CMS_encrypt: a larger format for a blob
 * only this code reads; the one below is 34 bytes of framing around OAEP and GCM.  Why not
 * PEM_write_bio_PKCS8PrivateKey: it cannot set the PBKDF2 iteration count (2048 by
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

#define MAGIC "IKB1"
#define MAGIC_LEN 4
#define NONCE_LEN 12
#define TAG_LEN 16
#define CEK_LEN 32
#define SALT_LEN 16
#define WRAP_MAX 1024                  /* an RSA-8192 block; ours is 384 */
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

ik_status ra_batch_envelope_new(const char *passphrase, ik_buf *spki, ik_buf *pem)
{
	size_t plen = pass_len(passphrase);
	EVP_PKEY *k = NULL;
	PKCS8_PRIV_KEY_INFO *p8 = NULL;
	X509_SIG *sig = NULL;
	BIO *b = NULL;
	unsigned char *der = NULL, salt[SALT_LEN];
	char *data = NULL;
	long len;
	int n;
	ik_status st = IK_ERR_CRYPTO;

	if (plen == 0 || plen > RA_BATCH_PASSPHRASE_MAX)
		return IK_ERR_ARG;
	if ((k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)RA_BATCH_ENVELOPE_BITS)) == NULL)
		goto out;
	if ((n = i2d_PUBKEY(k, &der)) <= 0 || (size_t)n > RA_SPKI_MAX)
		goto out;
	if (RAND_bytes(salt, sizeof(salt)) != 1 || (p8 = EVP_PKEY2PKCS8(k)) == NULL)
		goto out;
	/* the clear key is not needed past this point */
	EVP_PKEY_free(k);
	k = NULL;
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
	EVP_PKEY_free(k);
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

/* An RSA-OAEP (SHA-256, MGF1-SHA-256) context for encrypt (enc 1) or decrypt (enc 0). */
static EVP_PKEY_CTX *oaep_ctx(EVP_PKEY *k, int enc)
{
	EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new(k, NULL);

	if (pc == NULL || (enc ? EVP_PKEY_encrypt_init(pc) : EVP_PKEY_decrypt_init(pc)) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_OAEP_PADDING) != 1 ||
	    EVP_PKEY_CTX_set_rsa_oaep_md(pc, EVP_sha256()) != 1 ||
	    EVP_PKEY_CTX_set_rsa_mgf1_md(pc, EVP_sha256()) != 1) {
		EVP_PKEY_CTX_free(pc);
		return NULL;
	}
	return pc;
}

/* The additional data: magic | batch id | u16 W | wrapped key | nonce. */
static ik_status aad_of(int64_t batch_id, const uint8_t *wrapped, size_t wlen,
    const uint8_t *nonce, ik_buf *aad)
{
	ik_status st = ik_buf_put(aad, MAGIC, MAGIC_LEN);

	if (st == IK_OK)
		st = ik_buf_put_u64(aad, (uint64_t)batch_id);
	if (st == IK_OK)
		st = ik_buf_put_u16(aad, (uint16_t)wlen);
	if (st == IK_OK)
		st = ik_buf_put(aad, wrapped, wlen);
	if (st == IK_OK)
		st = ik_buf_put(aad, nonce, NONCE_LEN);
	return st;
}

/* AES-256-GCM of in (enc 1: tag out) or back (enc 0: tag in, checked). */
static ik_status gcm(int enc, const uint8_t cek[CEK_LEN], const uint8_t nonce[NONCE_LEN],
    const ik_buf *aad, const uint8_t *in, size_t n, uint8_t *out, uint8_t tag[TAG_LEN])
{
	EVP_CIPHER_CTX *cx = EVP_CIPHER_CTX_new();
	int l1 = 0, l2 = 0, ok;

	if (n > PKCS8_MAX)
		return IK_ERR_ARG;
	ok = cx != NULL &&
	    EVP_CipherInit_ex(cx, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) == 1 &&
	    EVP_CIPHER_CTX_ctrl(cx, EVP_CTRL_GCM_SET_IVLEN, NONCE_LEN, NULL) == 1 &&
	    EVP_CipherInit_ex(cx, NULL, NULL, cek, nonce, enc) == 1 &&
	    EVP_CipherUpdate(cx, NULL, &l1, ik_buf_ptr(aad), (int)ik_buf_remaining(aad)) == 1 &&
	    EVP_CipherUpdate(cx, out, &l1, in, (int)n) == 1 &&
	    (enc || EVP_CIPHER_CTX_ctrl(cx, EVP_CTRL_GCM_SET_TAG, TAG_LEN, tag) == 1) &&
	    EVP_CipherFinal_ex(cx, out + l1, &l2) == 1 &&
	    (size_t)l1 + (size_t)l2 == n &&
	    (!enc || EVP_CIPHER_CTX_ctrl(cx, EVP_CTRL_GCM_GET_TAG, TAG_LEN, tag) == 1);
	EVP_CIPHER_CTX_free(cx);
	return ok ? IK_OK : crypto_fail();
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

/* The envelope public key of one batch, parsed once, with its OAEP context and the
 * AES-256-GCM cipher fetched once: sealing many device keys costs their own work only.
 * One per thread (the contexts are not shared). */
struct ra_batch_sealer {
	int64_t batch_id;
	EVP_PKEY *pub;
	EVP_PKEY_CTX *oaep;
	EVP_CIPHER *aes;
	EVP_CIPHER_CTX *cx;
};

void ra_batch_sealer_free(ra_batch_sealer *sl)
{
	if (sl == NULL)
		return;
	EVP_CIPHER_CTX_free(sl->cx);
	EVP_CIPHER_free(sl->aes);
	EVP_PKEY_CTX_free(sl->oaep);
	EVP_PKEY_free(sl->pub);
	OPENSSL_free(sl);
}

ik_status ra_batch_sealer_new(const uint8_t *spki, size_t spki_len, int64_t batch_id,
    ra_batch_sealer **out)
{
	const uint8_t *p = spki;
	ra_batch_sealer *sl;
	ik_status st = IK_ERR_CRYPTO;

	*out = NULL;
	if (spki == NULL || spki_len == 0 || spki_len > RA_SPKI_MAX)
		return IK_ERR_ARG;
	if ((sl = OPENSSL_zalloc(sizeof(*sl))) == NULL)
		return IK_ERR_NOMEM;
	sl->batch_id = batch_id;
	sl->pub = d2i_PUBKEY(NULL, &p, (long)spki_len);
	if (sl->pub == NULL || p != spki + spki_len || !EVP_PKEY_is_a(sl->pub, "RSA") ||
	    EVP_PKEY_get_bits(sl->pub) != RA_BATCH_ENVELOPE_BITS) {
		st = IK_ERR_ARG;
		goto out;
	}
	if ((sl->oaep = oaep_ctx(sl->pub, 1)) == NULL ||
	    (sl->aes = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL)) == NULL ||
	    (sl->cx = EVP_CIPHER_CTX_new()) == NULL ||
	    EVP_EncryptInit_ex(sl->cx, sl->aes, NULL, NULL, NULL) != 1 ||
	    EVP_CIPHER_CTX_ctrl(sl->cx, EVP_CTRL_GCM_SET_IVLEN, NONCE_LEN, NULL) != 1)
		goto out;
	*out = sl;
	sl = NULL;
	st = IK_OK;
out:
	if (st != IK_OK)
		ERR_clear_error();
	ra_batch_sealer_free(sl);
	return st;
}

/* AES-256-GCM of n bytes with the sealer's context (initialised with the cipher once). */
static ik_status gcm_seal(ra_batch_sealer *sl, const uint8_t cek[CEK_LEN],
    const uint8_t nonce[NONCE_LEN], const ik_buf *aad, const uint8_t *in, size_t n,
    uint8_t *out, uint8_t tag[TAG_LEN])
{
	int l1 = 0, l2 = 0;

	if (n > PKCS8_MAX)
		return IK_ERR_ARG;
	if (EVP_EncryptInit_ex(sl->cx, NULL, NULL, cek, nonce) != 1 ||
	    EVP_EncryptUpdate(sl->cx, NULL, &l1, ik_buf_ptr(aad),
	    (int)ik_buf_remaining(aad)) != 1 ||
	    EVP_EncryptUpdate(sl->cx, out, &l1, in, (int)n) != 1 ||
	    EVP_EncryptFinal_ex(sl->cx, out + l1, &l2) != 1 || (size_t)l1 + (size_t)l2 != n ||
	    EVP_CIPHER_CTX_ctrl(sl->cx, EVP_CTRL_GCM_GET_TAG, TAG_LEN, tag) != 1)
		return crypto_fail();
	return IK_OK;
}

ik_status ra_batch_sealer_seal(ra_batch_sealer *sl, const uint8_t *pkcs8, size_t dlen,
    ik_buf *out)
{
	uint8_t cek[CEK_LEN], nonce[NONCE_LEN], tag[TAG_LEN], wrapped[WRAP_MAX], *ct, *tagp;
	size_t wlen = sizeof(wrapped);
	ik_buf aad;
	ik_status st = IK_ERR_CRYPTO;

	ik_buf_init(&aad, 2 * WRAP_MAX);
	if (pkcs8 == NULL || dlen == 0 || dlen > PKCS8_MAX) {
		st = IK_ERR_ARG;
		goto out;
	}
	if (RAND_bytes(cek, sizeof(cek)) != 1 || RAND_bytes(nonce, sizeof(nonce)) != 1 ||
	    EVP_PKEY_encrypt(sl->oaep, wrapped, &wlen, cek, sizeof(cek)) != 1 ||
	    wlen > UINT16_MAX)
		goto out;
	if ((st = aad_of(sl->batch_id, wrapped, wlen, nonce, &aad)) != IK_OK ||
	    (st = ik_buf_put(out, MAGIC, MAGIC_LEN)) != IK_OK ||
	    (st = ik_buf_put_u16(out, (uint16_t)wlen)) != IK_OK ||
	    (st = ik_buf_put(out, wrapped, wlen)) != IK_OK ||
	    (st = ik_buf_put(out, nonce, NONCE_LEN)) != IK_OK)
		goto out;
	/* the tag goes before the ciphertext: reserve both, then fill them */
	if ((st = ik_buf_reserve(out, TAG_LEN, &tagp)) != IK_OK ||
	    (st = ik_buf_reserve(out, dlen, &ct)) != IK_OK)
		goto out;
	/* ik_buf_reserve may move the storage: take the pointers again */
	ct = (uint8_t *)ik_buf_ptr(out) + ik_buf_remaining(out) - dlen;
	tagp = ct - TAG_LEN;
	if ((st = gcm_seal(sl, cek, nonce, &aad, pkcs8, dlen, ct, tag)) != IK_OK)
		goto out;
	memcpy(tagp, tag, TAG_LEN);
out:
	if (st == IK_ERR_CRYPTO)
		ERR_clear_error();
	OPENSSL_cleanse(cek, sizeof(cek));
	ik_buf_cleanup(&aad);
	return st;
}

ik_status ra_batch_seal_key(const uint8_t *spki, size_t spki_len, int64_t batch_id,
    EVP_PKEY *device_key, ik_buf *out)
{
	ra_batch_sealer *sl = NULL;
	PKCS8_PRIV_KEY_INFO *p8 = NULL;
	unsigned char *der = NULL;
	int dlen = 0;
	ik_status st;

	if (device_key == NULL)
		return IK_ERR_ARG;
	if ((st = ra_batch_sealer_new(spki, spki_len, batch_id, &sl)) != IK_OK)
		return st;
	if ((p8 = EVP_PKEY2PKCS8(device_key)) == NULL ||
	    (dlen = i2d_PKCS8_PRIV_KEY_INFO(p8, &der)) <= 0)
		st = crypto_fail();
	else
		st = ra_batch_sealer_seal(sl, der, (size_t)dlen, out);
	if (der != NULL)
		OPENSSL_clear_free(der, (size_t)dlen);
	PKCS8_PRIV_KEY_INFO_free(p8);
	ra_batch_sealer_free(sl);
	return st;
}

ik_status ra_batch_unseal_key(EVP_PKEY *envelope_key, int64_t batch_id, const uint8_t *blob,
    size_t n, EVP_PKEY **device_key)
{
	ik_buf in, aad;
	uint8_t magic[MAGIC_LEN], nonce[NONCE_LEN], tag[TAG_LEN], cek[CEK_LEN + WRAP_MAX];
	uint8_t *plain = NULL;
	const uint8_t *wrapped, *ct, *p;
	uint16_t wlen;
	size_t ctlen = 0, ceklen = sizeof(cek);
	EVP_PKEY_CTX *pc = NULL;
	PKCS8_PRIV_KEY_INFO *p8 = NULL;
	ik_status st = IK_ERR_ARG;

	*device_key = NULL;
	ik_buf_init(&aad, 2 * WRAP_MAX);
	if (envelope_key == NULL || blob == NULL || n > RA_BATCH_ENVELOPE_MAX)
		goto out;
	ik_buf_view(&in, blob, n);
	if (ik_buf_get(&in, magic, MAGIC_LEN) != IK_OK || memcmp(magic, MAGIC, MAGIC_LEN) != 0 ||
	    ik_buf_get_u16(&in, &wlen) != IK_OK || wlen == 0 || wlen > WRAP_MAX ||
	    (int)wlen != EVP_PKEY_get_size(envelope_key))
		goto out;
	wrapped = ik_buf_ptr(&in);
	if (ik_buf_skip(&in, wlen) != IK_OK || ik_buf_get(&in, nonce, NONCE_LEN) != IK_OK ||
	    ik_buf_get(&in, tag, TAG_LEN) != IK_OK || (ctlen = ik_buf_remaining(&in)) == 0 ||
	    ctlen > PKCS8_MAX)
		goto out;
	ct = ik_buf_ptr(&in);
	st = IK_ERR_CRYPTO;
	if ((pc = oaep_ctx(envelope_key, 0)) == NULL ||
	    EVP_PKEY_decrypt(pc, cek, &ceklen, wrapped, wlen) != 1 || ceklen != CEK_LEN) {
		ERR_clear_error();
		goto out;
	}
	if ((plain = OPENSSL_malloc(ctlen)) == NULL) {
		st = IK_ERR_NOMEM;
		goto out;
	}
	if ((st = aad_of(batch_id, wrapped, wlen, nonce, &aad)) != IK_OK ||
	    (st = gcm(0, cek, nonce, &aad, ct, ctlen, plain, tag)) != IK_OK)
		goto out;
	p = plain;
	if ((p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, (long)ctlen)) == NULL || p != plain + ctlen ||
	    (*device_key = EVP_PKCS82PKEY(p8)) == NULL) {
		st = crypto_fail();
		goto out;
	}
	st = IK_OK;
out:
	OPENSSL_cleanse(cek, sizeof(cek));
	if (plain != NULL)
		OPENSSL_clear_free(plain, ctlen);
	PKCS8_PRIV_KEY_INFO_free(p8);
	EVP_PKEY_CTX_free(pc);
	ik_buf_cleanup(&aad);
	return st;
}
