/* archive: the encrypted backup archive (format in archive.h): scrypt key derivation, a
 * passphrase verifier, AES-256-GCM over the entry records, and the record codec. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "archive.h"

#define SALT_LEN 16
#define NONCE_LEN 12
#define KDF_SCRYPT 1
#define FORMAT_VERSION 1
#define SCRYPT_R 8
#define SCRYPT_P 1
#define SCRYPT_MAXMEM ((uint64_t)1 << 30)

struct ad_writer {
	int fd;
	EVP_CIPHER_CTX *ctx;
	uint32_t count;
	ik_buf rec;      /* one record's plaintext (secret) */
	uint8_t *out;    /* ciphertext chunk */
	size_t outcap;
};

static ik_status write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return IK_ERR_IO;
		p += w;
		n -= (size_t)w;
	}
	return IK_OK;
}

/* 64 bytes of scrypt output: the AES key, then the verifier's HMAC key. */
static ik_status derive(const char *pass, const uint8_t *salt, unsigned log2n, unsigned r,
    unsigned p, uint8_t key[64])
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "SCRYPT", NULL);
	EVP_KDF_CTX *kctx = NULL;
	uint64_t n = (uint64_t)1 << log2n, maxmem = SCRYPT_MAXMEM + ((uint64_t)1 << 20);
	uint32_t r32 = r, p32 = p;
	OSSL_PARAM params[7];
	ik_status st = IK_ERR_CRYPTO;

	if (kdf == NULL || (kctx = EVP_KDF_CTX_new(kdf)) == NULL)
		goto out;
	params[0] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, (void *)pass, strlen(pass));
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, SALT_LEN);
	params[2] = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n);
	params[3] = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r32);
	params[4] = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p32);
	params[5] = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &maxmem);
	params[6] = OSSL_PARAM_construct_end();
	if (EVP_KDF_derive(kctx, key, 64, params) != 1)
		goto out;
	st = IK_OK;
out:
	EVP_KDF_CTX_free(kctx);
	EVP_KDF_free(kdf);
	return st;
}

static ik_status verifier(const uint8_t *mackey, const uint8_t *hdr, uint8_t out[AD_VERIFIER_LEN])
{
	unsigned int n = 0;

	if (HMAC(EVP_sha256(), mackey, 32, hdr, AD_HEADER_LEN, out, &n) == NULL || n != AD_VERIFIER_LEN)
		return IK_ERR_CRYPTO;
	return IK_OK;
}

static int scrypt_params_ok(unsigned log2n, unsigned r, unsigned p)
{
	return log2n >= 10 && log2n <= 22 && r >= 1 && r <= 32 && p >= 1 && p <= 16 &&
	    (uint64_t)128 * r * ((uint64_t)1 << log2n) <= SCRYPT_MAXMEM;
}

ik_status ad_writer_new(int fd, const char *pass, unsigned log2n, ad_writer **out)
{
	uint8_t hdr[AD_HEADER_LEN + AD_VERIFIER_LEN], key[64];
	ad_writer *w = NULL;
	ik_buf h;
	ik_status st;

	*out = NULL;
	if (!scrypt_params_ok(log2n, SCRYPT_R, SCRYPT_P) || strlen(pass) < AD_PASS_MIN)
		return IK_ERR_ARG;
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return IK_ERR_NOMEM;
	w->fd = fd;
	ik_buf_init(&w->rec, 0);
	ik_buf_set_secret(&w->rec);
	ik_buf_init(&h, sizeof(hdr));
	if ((st = ik_buf_put(&h, AD_MAGIC, 8)) != IK_OK ||
	    (st = ik_buf_put_u8(&h, FORMAT_VERSION)) != IK_OK ||
	    (st = ik_buf_put_u8(&h, KDF_SCRYPT)) != IK_OK ||
	    (st = ik_buf_put_u8(&h, (uint8_t)log2n)) != IK_OK ||
	    (st = ik_buf_put_u8(&h, SCRYPT_R)) != IK_OK ||
	    (st = ik_buf_put_u8(&h, SCRYPT_P)) != IK_OK ||
	    (st = ik_buf_put_u8(&h, 0)) != IK_OK)
		goto out;
	if (RAND_bytes(hdr, SALT_LEN + NONCE_LEN) != 1) {
		st = IK_ERR_CRYPTO;
		goto out;
	}
	if ((st = ik_buf_put(&h, hdr, SALT_LEN + NONCE_LEN)) != IK_OK ||
	    (st = ik_buf_put_u64(&h, (uint64_t)time(NULL))) != IK_OK)
		goto out;
	if (h.len != AD_HEADER_LEN) {
		st = IK_ERR_INTERNAL;
		goto out;
	}
	memcpy(hdr, h.data, AD_HEADER_LEN);
	if ((st = derive(pass, hdr + 14, log2n, SCRYPT_R, SCRYPT_P, key)) != IK_OK ||
	    (st = verifier(key + 32, hdr, hdr + AD_HEADER_LEN)) != IK_OK)
		goto out;
	st = IK_ERR_CRYPTO;
	if ((w->ctx = EVP_CIPHER_CTX_new()) == NULL ||
	    EVP_EncryptInit_ex(w->ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
	    EVP_CIPHER_CTX_ctrl(w->ctx, EVP_CTRL_GCM_SET_IVLEN, NONCE_LEN, NULL) != 1 ||
	    EVP_EncryptInit_ex(w->ctx, NULL, NULL, key, hdr + 14 + SALT_LEN) != 1)
		goto out;
	{
		int n = 0;
		if (EVP_EncryptUpdate(w->ctx, NULL, &n, hdr, (int)sizeof(hdr)) != 1)
			goto out;
	}
	if ((st = write_all(fd, hdr, sizeof(hdr))) != IK_OK)
		goto out;
	*out = w;
	w = NULL;
	st = IK_OK;
out:
	OPENSSL_cleanse(key, sizeof(key));
	ik_buf_cleanup(&h);
	ad_writer_free(w);
	return st;
}

/* Encrypts and writes n bytes (in chunks EVP's int lengths can carry). */
static ik_status seal(ad_writer *w, const uint8_t *p, size_t n)
{
	const size_t chunk = (size_t)1 << 20;
	ik_status st;

	if (w->out == NULL) {
		if ((w->out = malloc(chunk + 32)) == NULL)
			return IK_ERR_NOMEM;
		w->outcap = chunk + 32;
	}
	while (n > 0) {
		size_t take = n < chunk ? n : chunk;
		int outl = 0;

		if (EVP_EncryptUpdate(w->ctx, w->out, &outl, p, (int)take) != 1)
			return IK_ERR_CRYPTO;
		if ((st = write_all(w->fd, w->out, (size_t)outl)) != IK_OK)
			return st;
		p += take;
		n -= take;
	}
	return IK_OK;
}

static ik_status put_name(ik_buf *b, const char *s)
{
	return ik_buf_put_cstring(b, s);
}

ik_status ad_writer_put(ad_writer *w, const ad_entry *e)
{
	ik_status st;

	if (!ad_path_ok(e->path) || (e->type != AD_DIR && e->type != AD_FILE && e->type != AD_SQLITE) ||
	    strlen(e->owner) > AD_NAME_MAX || strlen(e->group) > AD_NAME_MAX)
		return IK_ERR_ARG;
	ik_buf_reset(&w->rec);
	if ((st = ik_buf_put_u8(&w->rec, e->type)) != IK_OK ||
	    (st = ik_buf_put_cstring(&w->rec, e->path)) != IK_OK ||
	    (st = ik_buf_put_u32(&w->rec, e->mode & 07777)) != IK_OK ||
	    (st = put_name(&w->rec, e->owner)) != IK_OK ||
	    (st = put_name(&w->rec, e->group)) != IK_OK ||
	    (st = ik_buf_put_u32(&w->rec, e->uid)) != IK_OK ||
	    (st = ik_buf_put_u32(&w->rec, e->gid)) != IK_OK ||
	    (st = ik_buf_put_u64(&w->rec, e->type == AD_DIR ? 0 : e->size)) != IK_OK)
		return st;
	if ((st = seal(w, w->rec.data, w->rec.len)) != IK_OK)
		return st;
	if (e->type != AD_DIR && e->size > 0 && (st = seal(w, e->data, (size_t)e->size)) != IK_OK)
		return st;
	w->count++;
	return IK_OK;
}

ik_status ad_writer_finish(ad_writer *w)
{
	uint8_t tag[AD_TAG_LEN];
	int outl = 0;
	ik_status st;

	ik_buf_reset(&w->rec);
	if ((st = ik_buf_put_u8(&w->rec, AD_END)) != IK_OK ||
	    (st = ik_buf_put_u32(&w->rec, w->count)) != IK_OK ||
	    (st = seal(w, w->rec.data, w->rec.len)) != IK_OK)
		return st;
	if (EVP_EncryptFinal_ex(w->ctx, w->out, &outl) != 1 || outl != 0 ||
	    EVP_CIPHER_CTX_ctrl(w->ctx, EVP_CTRL_GCM_GET_TAG, AD_TAG_LEN, tag) != 1)
		return IK_ERR_CRYPTO;
	return write_all(w->fd, tag, sizeof(tag));
}

void ad_writer_free(ad_writer *w)
{
	if (w == NULL)
		return;
	EVP_CIPHER_CTX_free(w->ctx);
	if (w->out != NULL) {
		OPENSSL_cleanse(w->out, w->outcap);
		free(w->out);
	}
	ik_buf_cleanup(&w->rec);
	free(w);
}

ik_status ad_archive_open(const uint8_t *data, size_t len, const char *pass, ik_buf *plain,
    char *why, size_t whysz)
{
	const size_t pre = AD_HEADER_LEN + AD_VERIFIER_LEN;
	uint8_t key[64], check[AD_VERIFIER_LEN], *dst;
	uint8_t version, kdf, log2n, r, p, reserved;
	EVP_CIPHER_CTX *ctx = NULL;
	size_t body, done = 0;
	ik_status st;
	ik_buf h;

	if (len < pre + AD_TAG_LEN || memcmp(data, AD_MAGIC, 8) != 0) {
		snprintf(why, whysz, "not an Inkan backup archive (no %s header)", AD_MAGIC);
		return IK_ERR_PROTO_FIELD;
	}
	ik_buf_view(&h, data + 8, AD_HEADER_LEN - 8);
	if (ik_buf_get_u8(&h, &version) != IK_OK || ik_buf_get_u8(&h, &kdf) != IK_OK ||
	    ik_buf_get_u8(&h, &log2n) != IK_OK || ik_buf_get_u8(&h, &r) != IK_OK ||
	    ik_buf_get_u8(&h, &p) != IK_OK || ik_buf_get_u8(&h, &reserved) != IK_OK)
		return IK_ERR_PROTO_TRUNCATED;
	if (version != FORMAT_VERSION || kdf != KDF_SCRYPT || reserved != 0) {
		snprintf(why, whysz, "archive format version %u / KDF %u is not one this tool reads",
		    version, kdf);
		return IK_ERR_PROTO_VERSION;
	}
	if (!scrypt_params_ok(log2n, r, p)) {
		snprintf(why, whysz, "the archive header is damaged (scrypt parameters out of range)");
		return IK_ERR_PROTO_FIELD;
	}
	if ((st = derive(pass, data + 14, log2n, r, p, key)) != IK_OK ||
	    (st = verifier(key + 32, data, check)) != IK_OK) {
		snprintf(why, whysz, "key derivation failed");
		goto out;
	}
	if (CRYPTO_memcmp(check, data + AD_HEADER_LEN, AD_VERIFIER_LEN) != 0) {
		snprintf(why, whysz, "wrong passphrase (or the archive's header is damaged)");
		st = IK_ERR_AUTH;
		goto out;
	}
	body = len - pre - AD_TAG_LEN;
	ik_buf_reset(plain);
	ik_buf_set_secret(plain);
	if ((st = ik_buf_reserve(plain, body, &dst)) != IK_OK) {
		snprintf(why, whysz, "out of memory for a %zu-byte archive", body);
		goto out;
	}
	st = IK_ERR_CRYPTO;
	snprintf(why, whysz, "decryption failed");
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL ||
	    EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, NONCE_LEN, NULL) != 1 ||
	    EVP_DecryptInit_ex(ctx, NULL, NULL, key, data + 14 + SALT_LEN) != 1)
		goto out;
	{
		int n = 0;
		if (EVP_DecryptUpdate(ctx, NULL, &n, data, (int)pre) != 1)
			goto out;
	}
	while (done < body) {
		size_t take = body - done < ((size_t)1 << 30) ? body - done : ((size_t)1 << 30);
		int outl = 0;

		if (EVP_DecryptUpdate(ctx, dst + done, &outl, data + pre + done, (int)take) != 1 ||
		    (size_t)outl != take)
			goto out;
		done += take;
	}
	{
		int outl = 0;
		if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, AD_TAG_LEN,
		        (void *)(data + len - AD_TAG_LEN)) != 1 ||
		    EVP_DecryptFinal_ex(ctx, dst + done, &outl) != 1) {
			snprintf(why, whysz, "the archive was altered or is damaged (authentication "
			    "tag mismatch); nothing was restored from it");
			goto out;
		}
	}
	why[0] = '\0';
	st = IK_OK;
out:
	if (st != IK_OK)
		ik_buf_reset(plain); /* wipes: it is secret */
	OPENSSL_cleanse(key, sizeof(key));
	EVP_CIPHER_CTX_free(ctx);
	return st;
}

int ad_path_ok(const char *path)
{
	size_t n = strlen(path);
	const char *c;

	if (n < 2 || n > AD_PATH_MAX || path[0] != '/' || path[n - 1] == '/')
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)path[i] < 0x20 || path[i] == 0x7f)
			return 0;
	for (c = path; c != NULL && *c != '\0'; c = strchr(c + 1, '/')) {
		const char *s = c + 1, *e = strchr(s, '/');
		size_t l = e != NULL ? (size_t)(e - s) : strlen(s);

		if (l == 0 || (l == 1 && s[0] == '.') || (l == 2 && s[0] == '.' && s[1] == '.'))
			return 0;
	}
	return 1;
}

ik_status ad_entry_next(ik_buf *plain, ad_entry *e, uint32_t *count)
{
	ik_status st;
	uint64_t size;

	memset(e, 0, sizeof(*e));
	if ((st = ik_buf_get_u8(plain, &e->type)) != IK_OK)
		return st;
	if (e->type == AD_END) {
		if ((st = ik_buf_get_u32(plain, count)) != IK_OK)
			return st;
		return ik_buf_remaining(plain) == 0 ? IK_OK : IK_ERR_PROTO_TRAILING;
	}
	if (e->type != AD_DIR && e->type != AD_FILE && e->type != AD_SQLITE)
		return IK_ERR_PROTO_FIELD;
	if ((st = ik_buf_get_cstring(plain, e->path, sizeof(e->path))) != IK_OK ||
	    (st = ik_buf_get_u32(plain, &e->mode)) != IK_OK ||
	    (st = ik_buf_get_cstring(plain, e->owner, sizeof(e->owner))) != IK_OK ||
	    (st = ik_buf_get_cstring(plain, e->group, sizeof(e->group))) != IK_OK ||
	    (st = ik_buf_get_u32(plain, &e->uid)) != IK_OK ||
	    (st = ik_buf_get_u32(plain, &e->gid)) != IK_OK ||
	    (st = ik_buf_get_u64(plain, &size)) != IK_OK)
		return st;
	if (!ad_path_ok(e->path) || (e->mode & ~07777u) != 0 || (e->type == AD_DIR && size != 0))
		return IK_ERR_PROTO_FIELD;
	if (size > ik_buf_remaining(plain))
		return IK_ERR_PROTO_TRUNCATED;
	e->data = ik_buf_ptr(plain);
	e->size = size;
	return ik_buf_skip(plain, (size_t)size);
}
