/* Unit tests for ra/batch_envelope.c: the batch envelope key pair (its private key only as
 * encrypted PKCS#8 — the PBES2 parameters read back from the PEM), opening it with the
 * right and a wrong passphrase, sealing device keys of every type and opening them again
 * bit for bit, and refusing every tampered, truncated, moved or foreign blob. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "batch.h"
#include "p12.h"
#include "store.h"

#define PASS "Batch passphrase 2026!"
#define BATCH 42

typedef struct fixture {
	ik_buf spki, pem;        /* envelope A */
	ik_buf spki2, pem2;      /* envelope B */
	EVP_PKEY *key, *key2;    /* opened */
} fixture;

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	ik_buf_init(&f->spki, RA_SPKI_MAX);
	ik_buf_init(&f->pem, RA_BATCH_KEY_PEM_MAX);
	ik_buf_init(&f->spki2, RA_SPKI_MAX);
	ik_buf_init(&f->pem2, RA_BATCH_KEY_PEM_MAX);
	if (ra_batch_envelope_new(PASS, &f->spki, &f->pem) != IK_OK ||
	    ra_batch_envelope_new("another passphrase 99", &f->spki2, &f->pem2) != IK_OK ||
	    ra_batch_envelope_open(ik_buf_ptr(&f->pem), ik_buf_remaining(&f->pem),
	    ik_buf_ptr(&f->spki), ik_buf_remaining(&f->spki), PASS, &f->key) != IK_OK ||
	    ra_batch_envelope_open(ik_buf_ptr(&f->pem2), ik_buf_remaining(&f->pem2),
	    ik_buf_ptr(&f->spki2), ik_buf_remaining(&f->spki2), "another passphrase 99",
	    &f->key2) != IK_OK)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;

	EVP_PKEY_free(f->key);
	EVP_PKEY_free(f->key2);
	ik_buf_cleanup(&f->spki);
	ik_buf_cleanup(&f->pem);
	ik_buf_cleanup(&f->spki2);
	ik_buf_cleanup(&f->pem2);
	free(f);
	return 0;
}

static char *pem_text(const ik_buf *b)
{
	char *s = calloc(1, ik_buf_remaining(b) + 1);

	assert_non_null(s);
	memcpy(s, ik_buf_ptr(b), ik_buf_remaining(b));
	return s;
}

/* DER of the key's public half. */
static size_t pub_der(EVP_PKEY *k, uint8_t *out, size_t outsz)
{
	unsigned char *d = NULL;
	int n = i2d_PUBKEY(k, &d);

	assert_true(n > 0 && (size_t)n <= outsz);
	memcpy(out, d, (size_t)n);
	OPENSSL_free(d);
	return (size_t)n;
}

/* DER of the key's PKCS#8 (its private half). */
static size_t priv_der(EVP_PKEY *k, uint8_t *out, size_t outsz)
{
	PKCS8_PRIV_KEY_INFO *p8 = EVP_PKEY2PKCS8(k);
	unsigned char *d = NULL;
	int n;

	assert_non_null(p8);
	n = i2d_PKCS8_PRIV_KEY_INFO(p8, &d);
	assert_true(n > 0 && (size_t)n <= outsz);
	memcpy(out, d, (size_t)n);
	OPENSSL_clear_free(d, (size_t)n);
	PKCS8_PRIV_KEY_INFO_free(p8);
	return (size_t)n;
}

/* The envelope private key is encrypted PKCS#8 with exactly the parameters we promise. */
static void test_envelope_pem(void **state)
{
	fixture *f = *state;
	char *s = pem_text(&f->pem);
	BIO *b = BIO_new_mem_buf(s, -1);
	X509_SIG *sig;
	const X509_ALGOR *alg;
	PBE2PARAM *pbe2;
	PBKDF2PARAM *kdf;
	uint8_t a[RA_SPKI_MAX];
	size_t n;

	assert_non_null(strstr(s, "-----BEGIN ENCRYPTED PRIVATE KEY-----"));
	assert_null(strstr(s, "BEGIN PRIVATE KEY"));
	assert_null(strstr(s, "BEGIN RSA PRIVATE KEY"));
	/* read without a passphrase: only the encrypted structure */
	sig = PEM_read_bio_PKCS8(b, NULL, NULL, NULL);
	assert_non_null(sig);
	X509_SIG_get0(sig, &alg, NULL);
	assert_int_equal(OBJ_obj2nid(alg->algorithm), NID_pbes2);
	pbe2 = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(PBE2PARAM), alg->parameter);
	assert_non_null(pbe2);
	assert_int_equal(OBJ_obj2nid(pbe2->keyfunc->algorithm), NID_id_pbkdf2);
	assert_int_equal(OBJ_obj2nid(pbe2->encryption->algorithm), NID_aes_256_cbc);
	kdf = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(PBKDF2PARAM), pbe2->keyfunc->parameter);
	assert_non_null(kdf);
	assert_int_equal(ASN1_INTEGER_get(kdf->iter), RA_BATCH_KDF_ITER);
	assert_int_equal(kdf->salt->type, V_ASN1_OCTET_STRING);
	assert_int_equal(ASN1_STRING_length(kdf->salt->value.octet_string), 16);
	/* no PRF named means HMAC-SHA1: ours must name HMAC-SHA256 */
	assert_non_null(kdf->prf);
	assert_int_equal(OBJ_obj2nid(kdf->prf->algorithm), NID_hmacWithSHA256);
	PBKDF2PARAM_free(kdf);
	PBE2PARAM_free(pbe2);
	X509_SIG_free(sig);
	BIO_free(b);
	free(s);

	/* the stored public key is the opened private key's */
	assert_true(EVP_PKEY_is_a(f->key, "RSA"));
	assert_int_equal(EVP_PKEY_get_bits(f->key), RA_BATCH_ENVELOPE_BITS);
	n = pub_der(f->key, a, sizeof(a));
	assert_int_equal(n, ik_buf_remaining(&f->spki));
	assert_memory_equal(a, ik_buf_ptr(&f->spki), n);
	/* two envelopes are two different keys */
	assert_true(ik_buf_remaining(&f->spki2) != n ||
	    memcmp(ik_buf_ptr(&f->spki2), ik_buf_ptr(&f->spki), n) != 0);
}

static void test_envelope_open_refusals(void **state)
{
	fixture *f = *state;
	EVP_PKEY *k = (EVP_PKEY *)1;
	const uint8_t *pem = ik_buf_ptr(&f->pem), *spki = ik_buf_ptr(&f->spki);
	size_t n = ik_buf_remaining(&f->pem), sn = ik_buf_remaining(&f->spki);
	uint8_t *copy;

	assert_int_equal(ra_batch_envelope_open(pem, n, spki, sn, "Batch passphrase 2026?", &k),
	    IK_ERR_AUTH);
	assert_null(k);
	assert_int_equal(ra_batch_envelope_open(pem, n, spki, sn, "", &k), IK_ERR_ARG);
	assert_int_equal(ra_batch_envelope_open(pem, 0, spki, sn, PASS, &k), IK_ERR_ARG);
	/* the other batch's key does not open with this passphrase */
	assert_int_equal(ra_batch_envelope_open(ik_buf_ptr(&f->pem2), ik_buf_remaining(&f->pem2),
	    ik_buf_ptr(&f->spki2), ik_buf_remaining(&f->spki2), PASS, &k), IK_ERR_AUTH);
	/* the right passphrase, but the stored public key is another batch's */
	assert_int_equal(ra_batch_envelope_open(pem, n, ik_buf_ptr(&f->spki2),
	    ik_buf_remaining(&f->spki2), PASS, &k), IK_ERR_CRYPTO);
	assert_null(k);
	/* a damaged PEM body, anywhere: unreadable, undecryptable or inconsistent, never a
	 * key (CBC alone would hand back a key with a garbled prime) */
	copy = malloc(n);
	assert_non_null(copy);
	for (size_t i = 40; i + 40 < n; i += 293) {
		memcpy(copy, pem, n);
		if (copy[i] == '\n')
			continue;
		copy[i] = copy[i] == 'A' ? 'B' : 'A';
		assert_int_not_equal(ra_batch_envelope_open(copy, n, spki, sn, PASS, &k), IK_OK);
		assert_null(k);
	}
	free(copy);
	/* a clear private key is not read at all, whatever the passphrase */
	{
		BIO *b = BIO_new(BIO_s_mem());
		char *data;
		long len;
		assert_int_equal(PEM_write_bio_PKCS8PrivateKey(b, f->key, NULL, NULL, 0, NULL, NULL), 1);
		len = BIO_get_mem_data(b, &data);
		assert_int_equal(ra_batch_envelope_open((const uint8_t *)data, (size_t)len, spki, sn,
		    PASS, &k),
		    IK_ERR_ARG);
		assert_null(k);
		BIO_free(b);
	}
	/* encrypted, but not with our parameters (3DES): refused before any decryption */
	{
		BIO *b = BIO_new(BIO_s_mem());
		char *data;
		long len;
		assert_int_equal(PEM_write_bio_PKCS8PrivateKey(b, f->key, EVP_des_ede3_cbc(), NULL, 0,
		    NULL, (void *)PASS), 1);
		len = BIO_get_mem_data(b, &data);
		assert_int_equal(ra_batch_envelope_open((const uint8_t *)data, (size_t)len, spki, sn,
		    PASS, &k),
		    IK_ERR_ARG);
		BIO_free(b);
	}
	/* a correct PEM of a key that is not RSA-3072 */
	{
		EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		BIO *b = BIO_new(BIO_s_mem());
		char *data;
		long len;
		assert_non_null(ec);
		assert_int_equal(PEM_write_bio_PKCS8PrivateKey(b, ec, EVP_aes_256_cbc(), NULL, 0, NULL,
		    (void *)PASS), 1);
		len = BIO_get_mem_data(b, &data);
		assert_int_equal(ra_batch_envelope_open((const uint8_t *)data, (size_t)len, spki, sn,
		    PASS, &k),
		    IK_ERR_CRYPTO);
		BIO_free(b);
		EVP_PKEY_free(ec);
	}
	assert_int_equal(ERR_peek_error(), 0); /* nothing left on the error queue */
}

/* Seal and open keys of every device type: the same private key comes back. */
static void test_seal_roundtrip(void **state)
{
	fixture *f = *state;

	for (int t = RA_KEY_EC_P256; t <= RA_KEY_RSA_3072; t++) {
		EVP_PKEY *dev = NULL, *back = NULL;
		ik_buf spki, blob, blob2;
		uint8_t a[4096], b[4096];
		size_t na, nb;

		ik_buf_init(&spki, RA_SPKI_MAX);
		ik_buf_init(&blob, RA_BATCH_ENVELOPE_MAX);
		ik_buf_init(&blob2, RA_BATCH_ENVELOPE_MAX);
		assert_int_equal(ra_p12_keygen((ra_keytype)t, &dev, &spki), IK_OK);
		assert_int_equal(ra_batch_seal_key(ik_buf_ptr(&f->spki), ik_buf_remaining(&f->spki),
		    BATCH, NULL, dev, &blob), IK_OK);
		assert_memory_equal(ik_buf_ptr(&blob), "IKB1", 4);
		assert_true(ik_buf_remaining(&blob) <= RA_BATCH_ENVELOPE_MAX);
		/* no trace of the clear key in the blob */
		na = priv_der(dev, a, sizeof(a));
		assert_null(memmem(ik_buf_ptr(&blob), ik_buf_remaining(&blob), a + na - 32, 32));
		assert_int_equal(ra_batch_unseal_key(f->key, BATCH, ik_buf_ptr(&blob),
		    ik_buf_remaining(&blob), &back), IK_OK);
		nb = priv_der(back, b, sizeof(b));
		assert_int_equal(na, nb);
		assert_memory_equal(a, b, na);
		assert_int_equal(EVP_PKEY_eq(dev, back), 1);
		/* sealing twice gives two different blobs (fresh content key and nonce) */
		assert_int_equal(ra_batch_seal_key(ik_buf_ptr(&f->spki), ik_buf_remaining(&f->spki),
		    BATCH, NULL, dev, &blob2), IK_OK);
		assert_true(ik_buf_remaining(&blob2) != ik_buf_remaining(&blob) ||
		    memcmp(ik_buf_ptr(&blob2), ik_buf_ptr(&blob), ik_buf_remaining(&blob)) != 0);
		EVP_PKEY_free(dev);
		EVP_PKEY_free(back);
		ik_buf_cleanup(&spki);
		ik_buf_cleanup(&blob);
		ik_buf_cleanup(&blob2);
	}
}

/* A device key's SPKI and PKCS#8 as the batch worker writes them (EC directly) are
 * OpenSSL's bytes, for every type and many keys; one sealer seals many keys, and each
 * opens to its own key. */
static void test_key_der_and_sealer(void **state)
{
	fixture *f = *state;
	ra_batch_sealer *sl = NULL, *bad = NULL;

	assert_int_equal(ra_batch_sealer_new(ik_buf_ptr(&f->spki), ik_buf_remaining(&f->spki),
	    BATCH, NULL, &sl), IK_OK);
	for (int t = RA_KEY_EC_P256; t <= RA_KEY_RSA_3072; t++) {
		for (int i = 0; i < (t <= RA_KEY_EC_P384 ? 50 : 2); i++) {
			EVP_PKEY *dev = NULL, *back = NULL;
			ik_buf spki, mine, p8, blob;
			uint8_t a[4096];
			size_t na;

			ik_buf_init(&spki, RA_SPKI_MAX);
			ik_buf_init(&mine, RA_SPKI_MAX);
			ik_buf_init(&p8, RA_BATCH_ENVELOPE_MAX);
			ik_buf_init(&blob, RA_BATCH_ENVELOPE_MAX);
			assert_int_equal(ra_p12_keygen((ra_keytype)t, &dev, &spki), IK_OK);
			assert_int_equal(ra_batch_key_spki(dev, (ra_keytype)t, &mine), IK_OK);
			assert_int_equal(ik_buf_remaining(&mine), ik_buf_remaining(&spki));
			assert_memory_equal(ik_buf_ptr(&mine), ik_buf_ptr(&spki),
			    ik_buf_remaining(&spki));
			na = priv_der(dev, a, sizeof(a));
			assert_int_equal(ra_batch_key_pkcs8(dev, (ra_keytype)t, &p8), IK_OK);
			assert_int_equal(ik_buf_remaining(&p8), na);
			assert_memory_equal(ik_buf_ptr(&p8), a, na);
			assert_int_equal(ra_batch_sealer_seal(sl, ik_buf_ptr(&p8),
			    ik_buf_remaining(&p8), NULL, 0, &blob), IK_OK);
			assert_int_equal(ra_batch_unseal_key(f->key, BATCH, ik_buf_ptr(&blob),
			    ik_buf_remaining(&blob), &back), IK_OK);
			assert_int_equal(EVP_PKEY_eq(dev, back), 1);
			/* bound to the batch like ra_batch_seal_key's blobs */
			EVP_PKEY_free(back);
			back = NULL;
			assert_int_equal(ra_batch_unseal_key(f->key, BATCH + 1, ik_buf_ptr(&blob),
			    ik_buf_remaining(&blob), &back), IK_ERR_CRYPTO);
			EVP_PKEY_free(dev);
			ik_buf_cleanup(&spki);
			ik_buf_cleanup(&mine);
			ik_buf_cleanup(&p8);
			ik_buf_cleanup(&blob);
		}
	}
	/* refusals: not an SPKI, not an RSA-3072 one, nothing to seal */
	{
		ik_buf blob, ecspki;
		EVP_PKEY *ec = NULL;
		uint8_t junk[64] = { 0x30, 0x3e };

		ik_buf_init(&blob, RA_BATCH_ENVELOPE_MAX);
		ik_buf_init(&ecspki, RA_SPKI_MAX);
		assert_int_equal(ra_batch_sealer_new(junk, sizeof(junk), BATCH, NULL, &bad), IK_ERR_ARG);
		assert_null(bad);
		assert_int_equal(ra_p12_keygen(RA_KEY_EC_P256, &ec, &ecspki), IK_OK);
		assert_int_equal(ra_batch_sealer_new(ik_buf_ptr(&ecspki), ik_buf_remaining(&ecspki),
		    BATCH, NULL, &bad), IK_ERR_ARG);
		assert_null(bad);
		assert_int_equal(ra_batch_sealer_new(NULL, 0, BATCH, NULL, &bad), IK_ERR_ARG);
		assert_int_equal(ra_batch_sealer_seal(sl, NULL, 0, NULL, 0, &blob), IK_ERR_ARG);
		assert_int_equal(ik_buf_remaining(&blob), 0);
		EVP_PKEY_free(ec);
		ik_buf_cleanup(&blob);
		ik_buf_cleanup(&ecspki);
	}
	ra_batch_sealer_free(sl);
	ra_batch_sealer_free(NULL);
	assert_int_equal(ERR_peek_error(), 0);
}

/* Every single flipped bit, every truncation, another batch, another envelope: refused. */
static void test_seal_tampered(void **state)
{
	fixture *f = *state;
	EVP_PKEY *dev = NULL, *back = NULL;
	ik_buf spki, blob;
	uint8_t *copy;
	size_t n;

	ik_buf_init(&spki, RA_SPKI_MAX);
	ik_buf_init(&blob, RA_BATCH_ENVELOPE_MAX);
	assert_int_equal(ra_p12_keygen(RA_KEY_EC_P256, &dev, &spki), IK_OK);
	assert_int_equal(ra_batch_seal_key(ik_buf_ptr(&f->spki), ik_buf_remaining(&f->spki), BATCH,
	    NULL, dev, &blob), IK_OK);
	n = ik_buf_remaining(&blob);
	copy = malloc(n);
	assert_non_null(copy);
	for (size_t i = 0; i < n; i++) {
		memcpy(copy, ik_buf_ptr(&blob), n);
		copy[i] ^= (uint8_t)(1u << (i % 8));
		assert_int_not_equal(ra_batch_unseal_key(f->key, BATCH, copy, n, &back), IK_OK);
		assert_null(back);
	}
	for (size_t len = 0; len < n; len += len < 440 ? 37 : 1) {
		assert_int_not_equal(ra_batch_unseal_key(f->key, BATCH, ik_buf_ptr(&blob), len, &back),
		    IK_OK);
		assert_null(back);
	}
	/* one byte more at the end */
	{
		uint8_t *longer = malloc(n + 1);
		assert_non_null(longer);
		memcpy(longer, ik_buf_ptr(&blob), n);
		longer[n] = 0;
		assert_int_not_equal(ra_batch_unseal_key(f->key, BATCH, longer, n + 1, &back), IK_OK);
		free(longer);
	}
	/* moved to another batch, or opened with another batch's envelope */
	assert_int_equal(ra_batch_unseal_key(f->key, BATCH + 1, ik_buf_ptr(&blob), n, &back),
	    IK_ERR_CRYPTO);
	assert_int_equal(ra_batch_unseal_key(f->key2, BATCH, ik_buf_ptr(&blob), n, &back),
	    IK_ERR_CRYPTO);
	assert_null(back);
	/* the untouched blob still opens */
	assert_int_equal(ra_batch_unseal_key(f->key, BATCH, ik_buf_ptr(&blob), n, &back), IK_OK);
	assert_int_equal(EVP_PKEY_eq(dev, back), 1);
	assert_int_equal(ERR_peek_error(), 0);
	EVP_PKEY_free(back);
	EVP_PKEY_free(dev);
	free(copy);
	ik_buf_cleanup(&spki);
	ik_buf_cleanup(&blob);
}

static void test_seal_refusals(void **state)
{
	fixture *f = *state;
	EVP_PKEY *dev = NULL;
	ik_buf spki, blob;

	ik_buf_init(&spki, RA_SPKI_MAX);
	ik_buf_init(&blob, RA_BATCH_ENVELOPE_MAX);
	assert_int_equal(ra_p12_keygen(RA_KEY_EC_P256, &dev, &spki), IK_OK);
	/* an envelope that is not RSA-3072 (here the device's own EC key) */
	assert_int_equal(ra_batch_seal_key(ik_buf_ptr(&spki), ik_buf_remaining(&spki), BATCH, NULL,
	    dev, &blob), IK_ERR_ARG);
	/* trailing bytes after the SPKI */
	{
		uint8_t longer[RA_SPKI_MAX + 1];
		size_t n = ik_buf_remaining(&f->spki);
		memcpy(longer, ik_buf_ptr(&f->spki), n);
		longer[n] = 0;
		assert_int_equal(ra_batch_seal_key(longer, n + 1, BATCH, NULL, dev, &blob), IK_ERR_ARG);
	}
	assert_int_equal(ra_batch_seal_key(ik_buf_ptr(&f->spki), ik_buf_remaining(&f->spki), BATCH,
	    NULL, NULL, &blob), IK_ERR_ARG);
	assert_int_equal(ik_buf_remaining(&blob), 0);
	assert_int_equal(ra_batch_envelope_new("", &spki, &blob), IK_ERR_ARG);
	EVP_PKEY_free(dev);
	ik_buf_cleanup(&spki);
	ik_buf_cleanup(&blob);
}

static void test_cn_pattern_split(void **state)
{
	ra_cn_parts p;

	(void)state;
	assert_int_equal(ra_cn_pattern_split("client_%06d", &p), IK_OK);
	assert_string_equal(p.prefix, "client_");
	assert_string_equal(p.suffix, "");
	assert_int_equal(p.width, 6);
	assert_int_equal(ra_cn_pattern_split("pc-%03d.tokyo", &p), IK_OK);
	assert_string_equal(p.prefix, "pc-");
	assert_string_equal(p.suffix, ".tokyo");
	assert_int_equal(p.width, 3);
	assert_int_equal(ra_cn_pattern_split("%09d", &p), IK_OK);
	assert_string_equal(p.prefix, "");
	assert_int_equal(p.width, 9);
	assert_int_equal(ra_cn_pattern_split("client_%d", &p), IK_ERR_ARG);
	assert_int_equal(ra_cn_pattern_split("a%02db%02d", &p), IK_ERR_ARG);
	assert_int_equal(ra_cn_pattern_split("no-number", &p), IK_ERR_ARG);
	assert_int_equal(ra_cn_pattern_split(NULL, &p), IK_ERR_ARG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_envelope_pem),
		cmocka_unit_test(test_envelope_open_refusals),
		cmocka_unit_test(test_seal_roundtrip),
		cmocka_unit_test(test_key_der_and_sealer),
		cmocka_unit_test(test_seal_tampered),
		cmocka_unit_test(test_seal_refusals),
		cmocka_unit_test(test_cn_pattern_split),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
