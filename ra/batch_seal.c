/* batch_seal: a batch's device keys sealed for the store and opened again for the one
 * download — IKB2 (one RSA-OAEP wrap of a content key per batch, then AES-256-GCM per key
 * under a key derived from it) and IKB1 (RSA-OAEP per key, still read).  Formats in batch.h.
 *
 * Why not EVP_SealInit: it wraps the content key with RSA PKCS#1 v1.5, not OAEP, and its
 * CBC content has no integrity of its own.  Why not CMS_encrypt: a larger format for a blob
 * only this code reads; these are a few dozen bytes of framing around OAEP, HKDF and GCM. */
#include <string.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "batch.h"
#include "store.h"

#define MAGIC1 "IKB1"
#define MAGIC2 "IKB2"
#define MAGIC_LEN 4
#define NONCE_LEN 12
#define TAG_LEN 16
#define CEK_LEN RA_BATCH_CEK_LEN
#define SALT_LEN 16
#define LABEL_LEN (MAGIC_LEN + 4 + 8)  /* "IKB2" "cek " u64 batch id */
#define WRAP_MAX 1024                  /* an RSA-8192 block; ours is 384 */
#define PKCS8_MAX 8000                 /* a device key's PKCS#8 DER (RSA-3072: ~1.8 KB) */

static ik_status crypto_fail(void)
{
	ERR_clear_error();
	return IK_ERR_CRYPTO;
}

static void put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

/* An RSA-OAEP (SHA-256, MGF1-SHA-256) context for encrypt (enc 1) or decrypt (enc 0); with
 * batch_id > 0 its label is "IKB2cek " | u64 batch_id (IKB2's wrapped content key: it does
 * not unwrap as another batch's). */
static EVP_PKEY_CTX *oaep_ctx(EVP_PKEY *k, int enc, int64_t batch_id)
{
	EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new(k, NULL);
	uint8_t *label = NULL;

	if (pc == NULL || (enc ? EVP_PKEY_encrypt_init(pc) : EVP_PKEY_decrypt_init(pc)) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_OAEP_PADDING) != 1 ||
	    EVP_PKEY_CTX_set_rsa_oaep_md(pc, EVP_sha256()) != 1 ||
	    EVP_PKEY_CTX_set_rsa_mgf1_md(pc, EVP_sha256()) != 1)
		goto fail;
	if (batch_id > 0) {
		if ((label = OPENSSL_malloc(LABEL_LEN)) == NULL)
			goto fail;
		memcpy(label, MAGIC2 "cek ", MAGIC_LEN + 4);
		put_be64(label + MAGIC_LEN + 4, (uint64_t)batch_id);
		if (EVP_PKEY_CTX_set0_rsa_oaep_label(pc, label, LABEL_LEN) != 1)
			goto fail;
	}
	return pc;
fail:
	OPENSSL_free(label);
	EVP_PKEY_CTX_free(pc);
	ERR_clear_error();
	return NULL;
}

/* The envelope public key from its SPKI: RSA-3072 only. */
static ik_status envelope_pub(const uint8_t *spki, size_t spki_len, EVP_PKEY **out)
{
	const uint8_t *p = spki;
	EVP_PKEY *k;

	*out = NULL;
	if (spki == NULL || spki_len == 0 || spki_len > RA_SPKI_MAX)
		return IK_ERR_ARG;
	k = d2i_PUBKEY(NULL, &p, (long)spki_len);
	if (k == NULL || p != spki + spki_len || !EVP_PKEY_is_a(k, "RSA") ||
	    EVP_PKEY_get_bits(k) != RA_BATCH_ENVELOPE_BITS) {
		EVP_PKEY_free(k);
		ERR_clear_error();
		return IK_ERR_ARG;
	}
	*out = k;
	return IK_OK;
}

ik_status ra_batch_cek_new(const uint8_t *spki, size_t spki_len, int64_t batch_id,
    uint8_t cek[RA_BATCH_CEK_LEN], ik_buf *wrapped)
{
	EVP_PKEY *pub = NULL;
	EVP_PKEY_CTX *pc = NULL;
	uint8_t w[WRAP_MAX];
	size_t wlen = sizeof(w);
	ik_status st;

	if (batch_id <= 0)
		return IK_ERR_ARG;
	if ((st = envelope_pub(spki, spki_len, &pub)) != IK_OK)
		return st;
	st = IK_ERR_CRYPTO;
	if (RAND_bytes(cek, CEK_LEN) != 1 || (pc = oaep_ctx(pub, 1, batch_id)) == NULL ||
	    EVP_PKEY_encrypt(pc, w, &wlen, cek, CEK_LEN) != 1) {
		OPENSSL_cleanse(cek, CEK_LEN);
		ERR_clear_error();
		goto out;
	}
	st = ik_buf_put(wrapped, w, wlen);
out:
	EVP_PKEY_CTX_free(pc);
	EVP_PKEY_free(pub);
	return st;
}

/* HKDF-SHA256 with the batch's content key and info "IKB2" | u64 batch_id, set once: each
 * key then passes only its salt. */
static EVP_KDF_CTX *hkdf_new(const uint8_t cek[CEK_LEN], int64_t batch_id)
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	EVP_KDF_CTX *kc = kdf != NULL ? EVP_KDF_CTX_new(kdf) : NULL;
	uint8_t info[MAGIC_LEN + 8];
	OSSL_PARAM p[4];

	memcpy(info, MAGIC2, MAGIC_LEN);
	put_be64(info + MAGIC_LEN, (uint64_t)batch_id);
	p[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
	p[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)cek, CEK_LEN);
	p[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, sizeof(info));
	p[3] = OSSL_PARAM_construct_end();
	EVP_KDF_free(kdf);
	if (kc != NULL && EVP_KDF_CTX_set_params(kc, p) != 1) {
		EVP_KDF_CTX_free(kc);
		kc = NULL;
	}
	if (kc == NULL)
		ERR_clear_error();
	return kc;
}

/* A device key's own AES-256 key: HKDF(content key, salt). */
static ik_status hkdf_key(EVP_KDF_CTX *kc, const uint8_t salt[SALT_LEN], uint8_t key[CEK_LEN])
{
	OSSL_PARAM p[2];

	p[0] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, SALT_LEN);
	p[1] = OSSL_PARAM_construct_end();
	return EVP_KDF_derive(kc, key, CEK_LEN, p) == 1 ? IK_OK : crypto_fail();
}

/* IKB1's additional data: "IKB1" | batch id | u16 W | wrapped key | nonce. */
static ik_status aad1(int64_t batch_id, const uint8_t *wrapped, size_t wlen,
    const uint8_t *nonce, ik_buf *aad)
{
	ik_status st = ik_buf_put(aad, MAGIC1, MAGIC_LEN);

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

/* IKB2's additional data: "IKB2" | batch id | u16 S | the device key's SPKI | salt | nonce. */
static ik_status aad2(int64_t batch_id, const uint8_t *spki, size_t spki_len,
    const uint8_t *salt, const uint8_t *nonce, ik_buf *aad)
{
	ik_status st = ik_buf_put(aad, MAGIC2, MAGIC_LEN);

	if (spki == NULL || spki_len == 0 || spki_len > RA_SPKI_MAX)
		return IK_ERR_ARG;
	if (st == IK_OK)
		st = ik_buf_put_u64(aad, (uint64_t)batch_id);
	if (st == IK_OK)
		st = ik_buf_put_u16(aad, (uint16_t)spki_len);
	if (st == IK_OK)
		st = ik_buf_put(aad, spki, spki_len);
	if (st == IK_OK)
		st = ik_buf_put(aad, salt, SALT_LEN);
	if (st == IK_OK)
		st = ik_buf_put(aad, nonce, NONCE_LEN);
	return st;
}

/* AES-256-GCM of in (enc 1: tag out) or back (enc 0: tag in, checked); cx may be one made
 * ahead with the cipher set (NULL: one made here). */
static ik_status gcm(EVP_CIPHER_CTX *cx0, int enc, const uint8_t key[CEK_LEN],
    const uint8_t nonce[NONCE_LEN], const ik_buf *aad, const uint8_t *in, size_t n,
    uint8_t *out, uint8_t tag[TAG_LEN])
{
	EVP_CIPHER_CTX *cx = cx0 != NULL ? cx0 : EVP_CIPHER_CTX_new();
	int l1 = 0, l2 = 0, ok;

	if (n > PKCS8_MAX) {
		if (cx0 == NULL)
			EVP_CIPHER_CTX_free(cx);
		return IK_ERR_ARG;
	}
	ok = cx != NULL &&
	    (cx0 != NULL ||
	    (EVP_CipherInit_ex(cx, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) == 1 &&
	    EVP_CIPHER_CTX_ctrl(cx, EVP_CTRL_GCM_SET_IVLEN, NONCE_LEN, NULL) == 1)) &&
	    EVP_CipherInit_ex(cx, NULL, NULL, key, nonce, enc) == 1 &&
	    EVP_CipherUpdate(cx, NULL, &l1, ik_buf_ptr(aad), (int)ik_buf_remaining(aad)) == 1 &&
	    EVP_CipherUpdate(cx, out, &l1, in, (int)n) == 1 &&
	    (enc || EVP_CIPHER_CTX_ctrl(cx, EVP_CTRL_GCM_SET_TAG, TAG_LEN, tag) == 1) &&
	    EVP_CipherFinal_ex(cx, out + l1, &l2) == 1 &&
	    (size_t)l1 + (size_t)l2 == n &&
	    (!enc || EVP_CIPHER_CTX_ctrl(cx, EVP_CTRL_GCM_GET_TAG, TAG_LEN, tag) == 1);
	if (cx0 == NULL)
		EVP_CIPHER_CTX_free(cx);
	return ok ? IK_OK : crypto_fail();
}

/* ---- sealing: one sealer per batch and thread (its contexts are not shared) ---- */

/* IKB2: the content key's HKDF context; IKB1: the envelope public key parsed with its OAEP
 * context.  Both: the AES-256-GCM cipher fetched once, a context initialised with it. */
struct ra_batch_sealer {
	int64_t batch_id;
	EVP_KDF_CTX *kdf;          /* IKB2 (it keeps a copy of the content key, cleared on free) */
	EVP_PKEY *pub;             /* IKB1 */
	EVP_PKEY_CTX *oaep;        /* IKB1 */
	EVP_CIPHER *aes;
	EVP_CIPHER_CTX *cx;
};

void ra_batch_sealer_free(ra_batch_sealer *sl)
{
	if (sl == NULL)
		return;
	EVP_CIPHER_CTX_free(sl->cx);
	EVP_CIPHER_free(sl->aes);
	EVP_KDF_CTX_free(sl->kdf);
	EVP_PKEY_CTX_free(sl->oaep);
	EVP_PKEY_free(sl->pub);
	OPENSSL_free(sl);
}

ik_status ra_batch_sealer_new(const uint8_t *spki, size_t spki_len, int64_t batch_id,
    const uint8_t *cek, ra_batch_sealer **out)
{
	ra_batch_sealer *sl;
	ik_status st = IK_ERR_CRYPTO;

	*out = NULL;
	if ((sl = OPENSSL_zalloc(sizeof(*sl))) == NULL)
		return IK_ERR_NOMEM;
	sl->batch_id = batch_id;
	if (cek != NULL) {
		if (batch_id <= 0) {
			st = IK_ERR_ARG;
			goto out;
		}
		if ((sl->kdf = hkdf_new(cek, batch_id)) == NULL)
			goto out;
	} else if ((st = envelope_pub(spki, spki_len, &sl->pub)) != IK_OK) {
		goto out;
	} else if ((sl->oaep = oaep_ctx(sl->pub, 1, 0)) == NULL) {
		st = IK_ERR_CRYPTO;
		goto out;
	}
	st = IK_ERR_CRYPTO;
	if ((sl->aes = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL)) == NULL ||
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

/* Appends head (hlen bytes), then the GCM tag and ciphertext of in, to out. */
static ik_status seal_out(ra_batch_sealer *sl, const uint8_t key[CEK_LEN],
    const uint8_t nonce[NONCE_LEN], const ik_buf *aad, const uint8_t *in, size_t n,
    ik_buf *out)
{
	uint8_t tag[TAG_LEN], *ct, *tagp;
	ik_status st;

	/* the tag goes before the ciphertext: reserve both, then fill them */
	if ((st = ik_buf_reserve(out, TAG_LEN, &tagp)) != IK_OK ||
	    (st = ik_buf_reserve(out, n, &ct)) != IK_OK)
		return st;
	/* ik_buf_reserve may move the storage: take the pointers again */
	ct = (uint8_t *)ik_buf_ptr(out) + ik_buf_remaining(out) - n;
	tagp = ct - TAG_LEN;
	if ((st = gcm(sl->cx, 1, key, nonce, aad, in, n, ct, tag)) != IK_OK)
		return st;
	memcpy(tagp, tag, TAG_LEN);
	return IK_OK;
}

static ik_status seal1(ra_batch_sealer *sl, const uint8_t *pkcs8, size_t dlen, ik_buf *out)
{
	uint8_t cek[CEK_LEN], nonce[NONCE_LEN], wrapped[WRAP_MAX];
	size_t wlen = sizeof(wrapped);
	ik_buf aad;
	ik_status st = IK_ERR_CRYPTO;

	ik_buf_init(&aad, 2 * WRAP_MAX);
	if (RAND_bytes(cek, sizeof(cek)) != 1 || RAND_bytes(nonce, sizeof(nonce)) != 1 ||
	    EVP_PKEY_encrypt(sl->oaep, wrapped, &wlen, cek, sizeof(cek)) != 1 ||
	    wlen > UINT16_MAX)
		goto out;
	if ((st = aad1(sl->batch_id, wrapped, wlen, nonce, &aad)) != IK_OK ||
	    (st = ik_buf_put(out, MAGIC1, MAGIC_LEN)) != IK_OK ||
	    (st = ik_buf_put_u16(out, (uint16_t)wlen)) != IK_OK ||
	    (st = ik_buf_put(out, wrapped, wlen)) != IK_OK ||
	    (st = ik_buf_put(out, nonce, NONCE_LEN)) != IK_OK)
		goto out;
	st = seal_out(sl, cek, nonce, &aad, pkcs8, dlen, out);
out:
	if (st == IK_ERR_CRYPTO)
		ERR_clear_error();
	OPENSSL_cleanse(cek, sizeof(cek));
	ik_buf_cleanup(&aad);
	return st;
}

static ik_status seal2(ra_batch_sealer *sl, const uint8_t *pkcs8, size_t dlen,
    const uint8_t *spki, size_t spki_len, ik_buf *out)
{
	uint8_t key[CEK_LEN], salt[SALT_LEN], nonce[NONCE_LEN];
	ik_buf aad;
	ik_status st = IK_ERR_CRYPTO;

	ik_buf_init(&aad, MAGIC_LEN + 10 + RA_SPKI_MAX + SALT_LEN + NONCE_LEN);
	if (RAND_bytes(salt, sizeof(salt)) != 1 || RAND_bytes(nonce, sizeof(nonce)) != 1)
		goto out;
	if ((st = aad2(sl->batch_id, spki, spki_len, salt, nonce, &aad)) != IK_OK ||
	    (st = hkdf_key(sl->kdf, salt, key)) != IK_OK ||
	    (st = ik_buf_put(out, MAGIC2, MAGIC_LEN)) != IK_OK ||
	    (st = ik_buf_put(out, salt, SALT_LEN)) != IK_OK ||
	    (st = ik_buf_put(out, nonce, NONCE_LEN)) != IK_OK)
		goto out;
	st = seal_out(sl, key, nonce, &aad, pkcs8, dlen, out);
out:
	if (st == IK_ERR_CRYPTO)
		ERR_clear_error();
	OPENSSL_cleanse(key, sizeof(key));
	ik_buf_cleanup(&aad);
	return st;
}

ik_status ra_batch_sealer_seal(ra_batch_sealer *sl, const uint8_t *pkcs8, size_t dlen,
    const uint8_t *spki, size_t spki_len, ik_buf *out)
{
	if (sl == NULL || pkcs8 == NULL || dlen == 0 || dlen > PKCS8_MAX)
		return IK_ERR_ARG;
	return sl->kdf != NULL ? seal2(sl, pkcs8, dlen, spki, spki_len, out) :
	    seal1(sl, pkcs8, dlen, out);
}

ik_status ra_batch_seal_key(const uint8_t *spki, size_t spki_len, int64_t batch_id,
    const uint8_t *cek, EVP_PKEY *device_key, ik_buf *out)
{
	ra_batch_sealer *sl = NULL;
	PKCS8_PRIV_KEY_INFO *p8 = NULL;
	unsigned char *der = NULL, *dspki = NULL;
	int dlen = 0, slen = 0;
	ik_status st;

	if (device_key == NULL)
		return IK_ERR_ARG;
	if ((st = ra_batch_sealer_new(spki, spki_len, batch_id, cek, &sl)) != IK_OK)
		return st;
	if ((p8 = EVP_PKEY2PKCS8(device_key)) == NULL ||
	    (dlen = i2d_PKCS8_PRIV_KEY_INFO(p8, &der)) <= 0 ||
	    (slen = i2d_PUBKEY(device_key, &dspki)) <= 0)
		st = crypto_fail();
	else
		st = ra_batch_sealer_seal(sl, der, (size_t)dlen, dspki, (size_t)slen, out);
	if (der != NULL)
		OPENSSL_clear_free(der, (size_t)dlen);
	OPENSSL_free(dspki);
	PKCS8_PRIV_KEY_INFO_free(p8);
	ra_batch_sealer_free(sl);
	return st;
}

/* ---- opening, for the download ---- */

/* plain (n bytes of PKCS#8 DER) as a key. */
static ik_status pkcs8_key(const uint8_t *plain, size_t n, EVP_PKEY **key)
{
	const uint8_t *p = plain;
	PKCS8_PRIV_KEY_INFO *p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, (long)n);
	ik_status st = IK_OK;

	if (p8 == NULL || p != plain + n || (*key = EVP_PKCS82PKEY(p8)) == NULL)
		st = crypto_fail();
	PKCS8_PRIV_KEY_INFO_free(p8);
	return st;
}

ik_status ra_batch_unseal_key(EVP_PKEY *envelope_key, int64_t batch_id, const uint8_t *blob,
    size_t n, EVP_PKEY **device_key)
{
	ik_buf in, aad;
	uint8_t magic[MAGIC_LEN], nonce[NONCE_LEN], tag[TAG_LEN], cek[CEK_LEN + WRAP_MAX];
	uint8_t *plain = NULL;
	const uint8_t *wrapped, *ct;
	uint16_t wlen;
	size_t ctlen = 0, ceklen = sizeof(cek);
	EVP_PKEY_CTX *pc = NULL;
	ik_status st = IK_ERR_ARG;

	*device_key = NULL;
	ik_buf_init(&aad, 2 * WRAP_MAX);
	if (envelope_key == NULL || blob == NULL || n > RA_BATCH_ENVELOPE_MAX)
		goto out;
	ik_buf_view(&in, blob, n);
	if (ik_buf_get(&in, magic, MAGIC_LEN) != IK_OK || memcmp(magic, MAGIC1, MAGIC_LEN) != 0 ||
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
	if ((pc = oaep_ctx(envelope_key, 0, 0)) == NULL ||
	    EVP_PKEY_decrypt(pc, cek, &ceklen, wrapped, wlen) != 1 || ceklen != CEK_LEN) {
		ERR_clear_error();
		goto out;
	}
	if ((plain = OPENSSL_malloc(ctlen)) == NULL) {
		st = IK_ERR_NOMEM;
		goto out;
	}
	if ((st = aad1(batch_id, wrapped, wlen, nonce, &aad)) == IK_OK &&
	    (st = gcm(NULL, 0, cek, nonce, &aad, ct, ctlen, plain, tag)) == IK_OK)
		st = pkcs8_key(plain, ctlen, device_key);
out:
	OPENSSL_cleanse(cek, sizeof(cek));
	if (plain != NULL)
		OPENSSL_clear_free(plain, ctlen);
	EVP_PKEY_CTX_free(pc);
	ik_buf_cleanup(&aad);
	return st;
}

/* The envelope private key (borrowed) and, for IKB2, the batch's content key unwrapped
 * once with it, as an HKDF context. */
struct ra_batch_opener {
	EVP_PKEY *envelope;
	int64_t batch_id;
	EVP_KDF_CTX *kdf;          /* NULL: the batch has no content key (IKB1 only) */
};

void ra_batch_opener_free(ra_batch_opener *o)
{
	if (o == NULL)
		return;
	EVP_KDF_CTX_free(o->kdf);
	OPENSSL_free(o);
}

ik_status ra_batch_opener_new(EVP_PKEY *envelope_key, int64_t batch_id,
    const uint8_t *wrapped, size_t wlen, ra_batch_opener **out)
{
	ra_batch_opener *o;
	EVP_PKEY_CTX *pc = NULL;
	uint8_t cek[WRAP_MAX];
	size_t ceklen = sizeof(cek);
	ik_status st = IK_ERR_CRYPTO;

	*out = NULL;
	if (envelope_key == NULL || batch_id <= 0 || (wrapped != NULL &&
	    (wlen == 0 || wlen > WRAP_MAX)))
		return IK_ERR_ARG;
	if ((o = OPENSSL_zalloc(sizeof(*o))) == NULL)
		return IK_ERR_NOMEM;
	o->envelope = envelope_key;
	o->batch_id = batch_id;
	if (wrapped != NULL) {
		if ((pc = oaep_ctx(envelope_key, 0, batch_id)) == NULL ||
		    EVP_PKEY_decrypt(pc, cek, &ceklen, wrapped, wlen) != 1 || ceklen != CEK_LEN ||
		    (o->kdf = hkdf_new(cek, batch_id)) == NULL)
			goto out;
	}
	*out = o;
	o = NULL;
	st = IK_OK;
out:
	ERR_clear_error();
	OPENSSL_cleanse(cek, sizeof(cek));
	EVP_PKEY_CTX_free(pc);
	ra_batch_opener_free(o);
	return st;
}

static ik_status open2(ra_batch_opener *o, const uint8_t *blob, size_t n,
    const uint8_t *spki, size_t spki_len, EVP_PKEY **device_key)
{
	ik_buf in, aad;
	uint8_t salt[SALT_LEN], nonce[NONCE_LEN], tag[TAG_LEN], key[CEK_LEN], *plain = NULL;
	size_t ctlen = 0;
	ik_status st = IK_ERR_ARG;

	ik_buf_init(&aad, MAGIC_LEN + 10 + RA_SPKI_MAX + SALT_LEN + NONCE_LEN);
	ik_buf_view(&in, blob, n);
	if (ik_buf_skip(&in, MAGIC_LEN) != IK_OK || ik_buf_get(&in, salt, SALT_LEN) != IK_OK ||
	    ik_buf_get(&in, nonce, NONCE_LEN) != IK_OK || ik_buf_get(&in, tag, TAG_LEN) != IK_OK ||
	    (ctlen = ik_buf_remaining(&in)) == 0 || ctlen > PKCS8_MAX)
		goto out;
	if ((st = aad2(o->batch_id, spki, spki_len, salt, nonce, &aad)) != IK_OK)
		goto out;
	if (o->kdf == NULL) { /* an IKB2 blob in a batch without a content key */
		st = IK_ERR_CRYPTO;
		goto out;
	}
	if ((plain = OPENSSL_malloc(ctlen)) == NULL) {
		st = IK_ERR_NOMEM;
		goto out;
	}
	if ((st = hkdf_key(o->kdf, salt, key)) == IK_OK &&
	    (st = gcm(NULL, 0, key, nonce, &aad, ik_buf_ptr(&in), ctlen, plain, tag)) == IK_OK)
		st = pkcs8_key(plain, ctlen, device_key);
out:
	OPENSSL_cleanse(key, sizeof(key));
	if (plain != NULL)
		OPENSSL_clear_free(plain, ctlen);
	ik_buf_cleanup(&aad);
	return st;
}

ik_status ra_batch_opener_open(ra_batch_opener *o, const uint8_t *blob, size_t n,
    const uint8_t *spki, size_t spki_len, EVP_PKEY **device_key)
{
	*device_key = NULL;
	if (o == NULL || blob == NULL || n < MAGIC_LEN || n > RA_BATCH_ENVELOPE_MAX)
		return IK_ERR_ARG;
	if (memcmp(blob, MAGIC1, MAGIC_LEN) == 0)
		return ra_batch_unseal_key(o->envelope, o->batch_id, blob, n, device_key);
	if (memcmp(blob, MAGIC2, MAGIC_LEN) == 0)
		return open2(o, blob, n, spki, spki_len, device_key);
	return IK_ERR_ARG;
}
