/* fuzz_seal: libFuzzer target for the sealed device-key parser of ra/batch_seal.c (the IKB2
 * and IKB1 blobs a batch keeps in the store, opened for the one download), through the real
 * opener made once from fixed test keys (seal_keys.h).  Beyond the sanitizers: only what
 * the sealer made opens (to one of the two device keys it sealed, in batch FZS_BATCH, and
 * for IKB2 only with that key's own SPKI), refusals are clean statuses with no key and an
 * empty OpenSSL error queue, and a wrapped content key unwraps only if it is ours.
 *
 * Input: u8 mode, then
 *   mode 0: u16 S | S bytes: the row's SPKI | the blob, opened with the batch's opener
 *           (envelope key + content key)
 *   mode 1: the same, with an IKB1-only opener (a batch without a content key)
 *   mode 2: u64 batch id | u16 S | SPKI | blob: another batch: our wrapped content key must
 *           not unwrap there, and the blob is opened with an IKB1-only opener for that id
 *   mode 3: the rest is a wrapped content key for ra_batch_opener_new (batch FZS_BATCH)
 * IK_FUZZ_SEAL_GEN=DIR fuzz_seal: writes the seed corpus (real sealer output) to DIR. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "batch.h"
#include "store.h"
#include "seal_keys.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                          \
	do {                                                                              \
		if (!(c)) {                                                               \
			fprintf(stderr, "fuzz_seal: %s:%d: check failed: %s\n", __FILE__,  \
			    __LINE__, #c);                                                \
			abort();                                                          \
		}                                                                         \
	} while (0)

/* The smallest well-formed blobs: magic | salt | nonce | tag | 1 byte; magic | u16 W. */
#define IKB2_MIN (4 + 16 + 12 + 16 + 1)
#define IKB1_MIN (4 + 2)

/* Made once: the envelope key, the two device keys and their SPKIs, the content key
 * wrapped for FZS_BATCH, the two openers, and one genuine IKB2 blob (mode 3's check). */
static struct {
	EVP_PKEY *env, *dev[2];
	ik_buf dev_spki[2], wrapped, ref_blob;
	ra_batch_opener *both, *ikb1;
} fz;

static EVP_PKEY *pem_key(const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *k = b != NULL ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;

	BIO_free(b);
	CHECK(k != NULL);
	return k;
}

static void spki_of(EVP_PKEY *k, ik_buf *out)
{
	unsigned char *der = NULL;
	int n = i2d_PUBKEY(k, &der);

	CHECK(n > 0 && ik_buf_put(out, der, (size_t)n) == IK_OK);
	OPENSSL_free(der);
}

/* dev's key sealed (cek: IKB2; NULL: IKB1 to the envelope key) and appended to out. */
static void seal(int dev, const uint8_t *cek, ik_buf *out)
{
	unsigned char *spki = NULL;
	int n = i2d_PUBKEY(fz.env, &spki);

	CHECK(n > 0);
	CHECK(ra_batch_seal_key(spki, (size_t)n, FZS_BATCH, cek, fz.dev[dev], out) == IK_OK);
	OPENSSL_free(spki);
}

/* FZS_CEK wrapped for FZS_BATCH as batch.h says (RSA-OAEP, SHA-256, MGF1-SHA-256, label
 * "IKB2cek " | u64 batch id), written here from the format, not with ra_batch_cek_new (which
 * makes a fresh content key): the seeds' IKB2 blobs were sealed under FZS_CEK. */
static void wrap_cek(ik_buf *out)
{
	EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new(fz.env, NULL);
	uint8_t *label = OPENSSL_malloc(16), w[RA_BATCH_CEK_WRAPPED_MAX];
	size_t wlen = sizeof(w);

	CHECK(pc != NULL && label != NULL);
	memcpy(label, "IKB2cek ", 8);
	for (int i = 0; i < 8; i++)
		label[8 + i] = (uint8_t)((uint64_t)FZS_BATCH >> (56 - 8 * i));
	CHECK(EVP_PKEY_encrypt_init(pc) == 1 &&
	    EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_OAEP_PADDING) == 1 &&
	    EVP_PKEY_CTX_set_rsa_oaep_md(pc, EVP_sha256()) == 1 &&
	    EVP_PKEY_CTX_set_rsa_mgf1_md(pc, EVP_sha256()) == 1 &&
	    EVP_PKEY_CTX_set0_rsa_oaep_label(pc, label, 16) == 1);
	CHECK(EVP_PKEY_encrypt(pc, w, &wlen, FZS_CEK, sizeof(FZS_CEK)) == 1);
	CHECK(ik_buf_put(out, w, wlen) == IK_OK);
	EVP_PKEY_CTX_free(pc);
}

static void setup(void)
{
	if (fz.env != NULL)
		return;
	fz.env = pem_key(FZS_ENVELOPE_PEM);
	fz.dev[0] = pem_key(FZS_DEVICE_P256_PEM);
	fz.dev[1] = pem_key(FZS_DEVICE_P384_PEM);
	for (int i = 0; i < 2; i++) {
		ik_buf_init(&fz.dev_spki[i], RA_SPKI_MAX);
		spki_of(fz.dev[i], &fz.dev_spki[i]);
	}
	ik_buf_init(&fz.wrapped, RA_BATCH_CEK_WRAPPED_MAX);
	wrap_cek(&fz.wrapped);
	CHECK(ra_batch_opener_new(fz.env, FZS_BATCH, ik_buf_ptr(&fz.wrapped),
	    ik_buf_remaining(&fz.wrapped), &fz.both) == IK_OK);
	CHECK(ra_batch_opener_new(fz.env, FZS_BATCH, NULL, 0, &fz.ikb1) == IK_OK);
	ik_buf_init(&fz.ref_blob, RA_BATCH_ENVELOPE_MAX);
	seal(0, FZS_CEK, &fz.ref_blob);
}

/* Which device key k is (0, 1), or -1 for neither. */
static int which_dev(const EVP_PKEY *k)
{
	for (int i = 0; i < 2; i++)
		if (EVP_PKEY_eq(k, fz.dev[i]) == 1)
			return i;
	return -1;
}

/* One open and what must hold of its outcome. */
static void open_check(ra_batch_opener *o, int64_t batch, int has_cek, const uint8_t *spki,
    size_t slen, const uint8_t *blob, size_t n)
{
	EVP_PKEY *k = (EVP_PKEY *)1;
	int ikb1 = n >= 4 && memcmp(blob, "IKB1", 4) == 0;
	int ikb2 = n >= 4 && memcmp(blob, "IKB2", 4) == 0;
	ik_status st = ra_batch_opener_open(o, blob, n, spki, slen, &k);

	CHECK(ERR_peek_error() == 0);
	CHECK(st == IK_OK || st == IK_ERR_ARG || st == IK_ERR_CRYPTO || st == IK_ERR_NOMEM);
	if (st != IK_OK) {
		CHECK(k == NULL);
		/* what is malformed is said to be: no magic, too short or too long */
		if ((!ikb1 && !ikb2) || n > RA_BATCH_ENVELOPE_MAX || (ikb1 && n < IKB1_MIN) ||
		    (ikb2 && (n < IKB2_MIN || slen == 0 || slen > RA_SPKI_MAX)))
			CHECK(st == IK_ERR_ARG);
		return;
	}
	/* it opened: so the sealer made it, for this batch, from one of our device keys */
	CHECK(k != NULL && (ikb1 || ikb2) && batch == FZS_BATCH);
	int d = which_dev(k);
	CHECK(d >= 0);
	if (ikb2) {
		/* IKB2 binds the row's public key and needs the batch's content key */
		CHECK(has_cek);
		CHECK(slen == ik_buf_remaining(&fz.dev_spki[d]) &&
		    memcmp(spki, ik_buf_ptr(&fz.dev_spki[d]), slen) == 0);
	}
	EVP_PKEY_free(k);
}

/* Mode 3: a wrapped content key.  Only our own wrap (of FZS_CEK, for FZS_BATCH) may make an
 * opener, and that opener opens the genuine blob. */
static void wrapped_check(const uint8_t *w, size_t n)
{
	ra_batch_opener *o = (ra_batch_opener *)1;
	ik_status st = ra_batch_opener_new(fz.env, FZS_BATCH, w, n, &o);
	EVP_PKEY *k = NULL;

	CHECK(ERR_peek_error() == 0);
	if (n == 0 || n > RA_BATCH_CEK_WRAPPED_MAX)
		CHECK(st == IK_ERR_ARG);
	if (st != IK_OK) {
		CHECK(o == NULL && (st == IK_ERR_ARG || st == IK_ERR_CRYPTO || st == IK_ERR_NOMEM));
		return;
	}
	CHECK(ra_batch_opener_open(o, ik_buf_ptr(&fz.ref_blob), ik_buf_remaining(&fz.ref_blob),
	    ik_buf_ptr(&fz.dev_spki[0]), ik_buf_remaining(&fz.dev_spki[0]), &k) == IK_OK);
	CHECK(which_dev(k) == 0);
	EVP_PKEY_free(k);
	ra_batch_opener_free(o);
}

/* Mode 2: another batch id.  Our wrapped content key is labelled with FZS_BATCH: it must
 * not unwrap for any other id (nor can a batch id <= 0 make an opener at all). */
static void other_batch(int64_t batch, const uint8_t *spki, size_t slen, const uint8_t *blob,
    size_t n)
{
	ra_batch_opener *o = (ra_batch_opener *)1;
	ik_status st = ra_batch_opener_new(fz.env, batch, ik_buf_ptr(&fz.wrapped),
	    ik_buf_remaining(&fz.wrapped), &o);

	CHECK(ERR_peek_error() == 0);
	if (batch == FZS_BATCH) {
		CHECK(st == IK_OK);
	} else {
		CHECK(o == NULL && st == (batch <= 0 ? IK_ERR_ARG : IK_ERR_CRYPTO));
		st = ra_batch_opener_new(fz.env, batch, NULL, 0, &o);
		CHECK(ERR_peek_error() == 0);
		CHECK(batch <= 0 ? st == IK_ERR_ARG && o == NULL : st == IK_OK);
	}
	if (o != NULL) {
		open_check(o, batch, batch == FZS_BATCH, spki, slen, blob, n);
		ra_batch_opener_free(o);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ik_buf in;
	uint8_t mode;
	uint16_t slen;
	uint64_t batch = FZS_BATCH;
	const uint8_t *spki;

	setup();
	ik_buf_view(&in, data, size);
	if (ik_buf_get_u8(&in, &mode) != IK_OK)
		return 0;
	mode &= 3;
	if (mode == 3) {
		wrapped_check(ik_buf_ptr(&in), ik_buf_remaining(&in));
		return 0;
	}
	if ((mode == 2 && ik_buf_get_u64(&in, &batch) != IK_OK) ||
	    ik_buf_get_u16(&in, &slen) != IK_OK || ik_buf_remaining(&in) < slen)
		return 0;
	spki = ik_buf_ptr(&in);
	(void)ik_buf_skip(&in, slen);
	if (mode == 2)
		other_batch((int64_t)batch, spki, slen, ik_buf_ptr(&in), ik_buf_remaining(&in));
	else
		open_check(mode == 0 ? fz.both : fz.ikb1, FZS_BATCH, mode == 0, spki, slen,
		    ik_buf_ptr(&in), ik_buf_remaining(&in));
	return 0;
}

/* ---- the seed corpus: IK_FUZZ_SEAL_GEN=DIR ---- */

static void put_seed(const char *dir, const char *name, const uint8_t *head, size_t hlen,
    const ik_buf *spki, const uint8_t *blob, size_t n)
{
	char path[4096];
	FILE *f;
	uint8_t s[2] = {0, 0};

	if (spki != NULL) {
		s[0] = (uint8_t)(ik_buf_remaining(spki) >> 8);
		s[1] = (uint8_t)ik_buf_remaining(spki);
	}
	CHECK(snprintf(path, sizeof(path), "%s/%s", dir, name) < (int)sizeof(path));
	CHECK((f = fopen(path, "wb")) != NULL);
	CHECK(fwrite(head, 1, hlen, f) == hlen);
	if (spki != NULL)
		CHECK(fwrite(s, 1, 2, f) == 2 && fwrite(ik_buf_ptr(spki), 1,
		    ik_buf_remaining(spki), f) == ik_buf_remaining(spki));
	CHECK(fwrite(blob, 1, n, f) == n && fclose(f) == 0);
}

static void gen_seeds(const char *dir)
{
	static const uint8_t m0[] = {0}, m1[] = {1}, m3[] = {3};
	static const uint8_t m2_42[] = {2, 0, 0, 0, 0, 0, 0, 0, FZS_BATCH};
	static const uint8_t m2_43[] = {2, 0, 0, 0, 0, 0, 0, 0, FZS_BATCH + 1};
	ik_buf b2[2], b1[2];

	for (int i = 0; i < 2; i++) {
		ik_buf_init(&b2[i], RA_BATCH_ENVELOPE_MAX);
		ik_buf_init(&b1[i], RA_BATCH_ENVELOPE_MAX);
		seal(i, FZS_CEK, &b2[i]);
		seal(i, NULL, &b1[i]);
	}
#define B(x) ik_buf_ptr(&(x)), ik_buf_remaining(&(x))
	put_seed(dir, "ikb2-p256", m0, 1, &fz.dev_spki[0], B(b2[0]));
	put_seed(dir, "ikb2-p384", m0, 1, &fz.dev_spki[1], B(b2[1]));
	put_seed(dir, "ikb1-p256", m0, 1, &fz.dev_spki[0], B(b1[0]));
	put_seed(dir, "ikb1-p384-no-cek", m1, 1, &fz.dev_spki[1], B(b1[1]));
	put_seed(dir, "ikb2-p256-batch42", m2_42, sizeof(m2_42), &fz.dev_spki[0], B(b2[0]));
	put_seed(dir, "ikb2-p256-batch43", m2_43, sizeof(m2_43), &fz.dev_spki[0], B(b2[0]));
	put_seed(dir, "ikb1-p256-batch43", m2_43, sizeof(m2_43), &fz.dev_spki[0], B(b1[0]));
	put_seed(dir, "ikb2-p256-other-spki", m0, 1, &fz.dev_spki[1], B(b2[0]));
	put_seed(dir, "ikb2-p256-cut-tag", m0, 1, &fz.dev_spki[0], ik_buf_ptr(&b2[0]), 40);
	put_seed(dir, "ikb2-p256-cut-body", m0, 1, &fz.dev_spki[0], ik_buf_ptr(&b2[0]),
	    ik_buf_remaining(&b2[0]) - 20);
	put_seed(dir, "ikb1-p384-cut-wrap", m0, 1, &fz.dev_spki[1], ik_buf_ptr(&b1[1]), 200);
	put_seed(dir, "ikb1-p384-cut-body", m1, 1, &fz.dev_spki[1], ik_buf_ptr(&b1[1]),
	    ik_buf_remaining(&b1[1]) - 20);
	put_seed(dir, "wrapped-cek", m3, 1, NULL, B(fz.wrapped));
#undef B
	for (int i = 0; i < 2; i++) {
		ik_buf_cleanup(&b2[i]);
		ik_buf_cleanup(&b1[i]);
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *dir = getenv("IK_FUZZ_SEAL_GEN");

	(void)argc;
	(void)argv;
	setup();
	if (dir != NULL) {
		gen_seeds(dir);
		exit(0);
	}
	return 0;
}
