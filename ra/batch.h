/* batch: "issue N more" batches whose device keys the RA makes (the desknet flow), with the
 * rule that no private key is ever written to disk or the database in clear.
 *
 * The batch envelope (batch_envelope.c): at creation an RSA-3072 key pair (made ahead, the
 * spare: batch_spare.c) is taken; its public key is stored with the batch, its private key
 * only as encrypted PKCS#8 under the officer's batch passphrase (which is never stored).
 * Each device key is sealed (batch_seal.c) under the batch's content key, itself stored
 * only wrapped to the public key, as it is made; only the passphrase opens them again,
 * once, for the ZIP download.
 *
 * The batch worker (batch.c): one thread that adds the running batch's certificates one by
 * one, each in one transaction with its sealed key; the queue workers issue them.  After a
 * crash it goes on from what the store says. */
#ifndef RA_BATCH_H
#define RA_BATCH_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/evp.h>
#include "buf.h"
#include "http.h"
#include "p12.h"
#include "status.h"
#include "store.h"

#define RA_BATCH_ENVELOPE_BITS 3072
/* PBKDF2-HMAC-SHA256 iterations for the encrypted envelope private key (OWASP 2023). */
#define RA_BATCH_KDF_ITER 600000
#define RA_BATCH_PASSPHRASE_MAX 128   /* bytes */

/* ---- the envelope (batch_envelope.c) ---- */

/* A new envelope key pair: spki gets its public key (DER SubjectPublicKeyInfo), pem its
 * private key as "ENCRYPTED PRIVATE KEY" PEM (PKCS#8, PBES2: PBKDF2-HMAC-SHA256 with
 * RA_BATCH_KDF_ITER iterations and a 16-byte salt, AES-256-CBC) under passphrase (1..128
 * bytes).  The clear private key exists only inside this call and is freed (cleared). */
ik_status ra_batch_envelope_new(const char *passphrase, ik_buf *spki, ik_buf *pem);
/* The same for a key pair made ahead (ra_batch_envelope_keygen, the spare): k stays the
 * caller's (it frees it).  IK_ERR_ARG: not an RSA-3072 key or a bad passphrase length. */
ik_status ra_batch_envelope_from(EVP_PKEY *k, const char *passphrase, ik_buf *spki,
    ik_buf *pem);
/* An RSA-3072 envelope key pair, or NULL.  stop (NULL: none) is asked all through the
 * generation; a non-zero answer abandons it (NULL). */
EVP_PKEY *ra_batch_envelope_keygen(int (*stop)(void *arg), void *arg);

/* Decrypts the envelope private key and checks it: an RSA-3072 key whose parts agree
 * (CBC has no integrity of its own) and whose public half is spki, the stored one.
 * IK_ERR_AUTH: wrong passphrase; IK_ERR_CRYPTO: it decrypts but is damaged or not the
 * batch's; IK_ERR_ARG: not an encrypted PKCS#8 PEM with our parameters. */
ik_status ra_batch_envelope_open(const uint8_t *pem, size_t pem_len, const uint8_t *spki,
    size_t spki_len, const char *passphrase, EVP_PKEY **key);

/* A device key's DER SubjectPublicKeyInfo / PKCS#8 (clear: the caller wipes it), appended
 * to out; kt is the key's type (EC keys are written directly, without OpenSSL's encoder
 * lookups, to the same bytes). */
ik_status ra_batch_key_spki(EVP_PKEY *key, ra_keytype kt, ik_buf *out);
ik_status ra_batch_key_pkcs8(EVP_PKEY *key, ra_keytype kt, ik_buf *out);

/* ---- the spare envelope key (batch_spare.c) ----
 * One envelope key pair made ahead on a background thread (at nice 19: it yields to the
 * workers), so that starting a batch only encrypts it under the passphrase.  It lives in
 * RA memory only (RSA's free clears its numbers); taken, the next one is made once the RA
 * is idle again (ra_batch_spare_idle: the batch worker finds no batch running).  One still
 * being made when a batch starts (take, or idle 0) is abandoned, not finished: its CPU would
 * compete with the batch. */
typedef struct ra_batch_spare ra_batch_spare;
ik_status ra_batch_spare_start(ra_batch_spare **out);
/* The spare key pair (the caller frees it), or NULL when none is ready (or sp is NULL):
 * then the caller makes one itself. */
EVP_PKEY *ra_batch_spare_take(ra_batch_spare *sp);
/* idle 1: no batch runs, a spare may be made now; 0: one runs (take sets 0 too). */
void ra_batch_spare_idle(ra_batch_spare *sp, int idle);
/* How many generations were abandoned because a batch started (0 for NULL); *making (may
 * be NULL) is 1 while a generation runs. */
unsigned long ra_batch_spare_abandoned(ra_batch_spare *sp, int *making);
/* Waits up to ms for a spare to be ready; 1 when one is (for tests and the start-up log). */
int ra_batch_spare_wait(ra_batch_spare *sp, unsigned ms);
/* Stops and joins the thread (a key being made is abandoned) and frees the spare.
 * Accepts NULL. */
void ra_batch_spare_stop(ra_batch_spare *sp);

/* ---- sealed device keys (batch_seal.c) ----
 *
 * "IKB2", the format written now.  Per batch, once: a fresh 32-byte content key K,
 * wrapped with RSA-OAEP (SHA-256, MGF1-SHA-256, label "IKB2cek " | u64 batch_id) to the
 * envelope public key and stored in batches.envelope_cek.  Per device key:
 *   "IKB2" | 16-byte salt | 12-byte nonce | 16-byte GCM tag | AES-256-GCM ciphertext of the
 *   key's PKCS#8 DER
 * under HKDF-SHA256(ikm K, salt, info "IKB2" | u64 batch_id), with the additional data
 * "IKB2" | u64 batch_id | u16 S | the device key's SPKI DER (S bytes: its request's public
 * key) | salt | nonce.  So a blob opens only in its batch and only as the key of the row
 * whose public key it is: moved to another row or batch, or changed anywhere, it does not.
 * Why a random salt and not the row id: the blob is made before its row exists (the store
 * picks the ids when it inserts a group), and a per-key key that depends on no counter
 * cannot repeat after a crash; the 12-byte nonce is random too, under a key used once.
 * The worker holds K in memory only while the batch runs; a batch resumed after a restart
 * (K set, but not in memory) seals the rest of its keys as IKB1.
 *
 * "IKB1", the earlier format (still read): one RSA-OAEP wrap per key:
 *   "IKB1" | u16 W | W bytes: RSA-OAEP(SHA-256, MGF1-SHA-256) of a fresh AES-256 key |
 *   12-byte nonce | 16-byte GCM tag | AES-256-GCM ciphertext of the PKCS#8 DER
 * with the additional data "IKB1" | u64 batch_id | u16 W | wrapped key | nonce. */
#define RA_BATCH_CEK_LEN 32

/* A batch's content key: cek gets it (secret: the caller wipes it), wrapped its IKB2
 * wrapping to the envelope public key spki. */
ik_status ra_batch_cek_new(const uint8_t *spki, size_t spki_len, int64_t batch_id,
    uint8_t cek[RA_BATCH_CEK_LEN], ik_buf *wrapped);

/* Seals many device keys of one batch (per thread: a sealer is not shared): with cek, as
 * IKB2 under that content key (spki unused); with cek NULL, as IKB1 to the envelope public
 * key spki.  seal takes the device key's PKCS#8 DER (ra_batch_key_pkcs8) and its SPKI DER
 * (ra_batch_key_spki: IKB2 binds it) and appends the blob to out. */
typedef struct ra_batch_sealer ra_batch_sealer;
ik_status ra_batch_sealer_new(const uint8_t *spki, size_t spki_len, int64_t batch_id,
    const uint8_t *cek, ra_batch_sealer **out);
ik_status ra_batch_sealer_seal(ra_batch_sealer *sl, const uint8_t *pkcs8, size_t len,
    const uint8_t *dev_spki, size_t dev_spki_len, ik_buf *out);
void ra_batch_sealer_free(ra_batch_sealer *sl);
/* One key at once (a sealer made and freed). */
ik_status ra_batch_seal_key(const uint8_t *spki, size_t spki_len, int64_t batch_id,
    const uint8_t *cek, EVP_PKEY *device_key, ik_buf *out);

/* Opens an IKB1 blob with the envelope private key.  IK_ERR_CRYPTO when it does not open
 * (tampered, another batch or another envelope); IK_ERR_ARG when it is malformed. */
ik_status ra_batch_unseal_key(EVP_PKEY *envelope_key, int64_t batch_id, const uint8_t *blob,
    size_t n, EVP_PKEY **device_key);

/* Opens a batch's blobs of either format: envelope_key (borrowed: it must outlive the
 * opener) and the batch's wrapped content key (NULL when it has none), unwrapped here once.
 * new: IK_ERR_CRYPTO when the wrapped key does not unwrap.  open: spki is the row's public
 * key (IKB2 checks it); IK_ERR_CRYPTO when the blob does not open, IK_ERR_ARG malformed. */
typedef struct ra_batch_opener ra_batch_opener;
ik_status ra_batch_opener_new(EVP_PKEY *envelope_key, int64_t batch_id,
    const uint8_t *wrapped, size_t wlen, ra_batch_opener **out);
ik_status ra_batch_opener_open(ra_batch_opener *o, const uint8_t *blob, size_t n,
    const uint8_t *spki, size_t spki_len, EVP_PKEY **device_key);
void ra_batch_opener_free(ra_batch_opener *o);

/* ---- the worker (batch.c) ---- */

/* Starts the batch worker thread (after the queue: it kicks the queue). */
ik_status ra_batcher_start(ra_app *app, ra_batcher **out);
/* Stops and joins it (a certificate being added finishes first).  Accepts NULL. */
void ra_batcher_stop(ra_batcher *b);
/* Wakes it: a batch was created.  Accepts NULL. */
void ra_batcher_kick(ra_batcher *b);
/* The spare envelope key pair its spare thread made ahead (the caller frees it), or NULL
 * (none ready, or b is NULL). */
EVP_PKEY *ra_batcher_take_envelope(ra_batcher *b);
/* The batch's end in the store with the officers' batch_finished notice in the same
 * transaction (queued only when this is what finishes it: no request still with the
 * signer), then the mailer kicked.  Seal: all its requests are added; abort: its pending
 * requests fail (ra_store_batch_abort's errors). */
ik_status ra_batch_seal(ra_app *app, int64_t id);
ik_status ra_batch_abort(ra_app *app, int64_t id, const char *why, const ra_hist *h);

/* A CN pattern ("client_%06d") split into what comes before and after the number. */
typedef struct ra_cn_parts {
	char prefix[RA_CN_PATTERN_MAX];
	char suffix[RA_CN_PATTERN_MAX];
	unsigned width;
} ra_cn_parts;
ik_status ra_cn_pattern_split(const char *pattern, ra_cn_parts *out);

/* ---- the download's ZIP, in memory (batch_zip.c) ---- */

typedef struct ra_zip ra_zip;
ik_status ra_zip_new(ra_zip **out);
/* Adds an entry (a plain name: no '/', no ".."), copying data; compress 0 stores it as is
 * (PKCS#12 and DER do not shrink).  IK_ERR_EXISTS for a name already there. */
ik_status ra_zip_add(ra_zip *z, const char *name, const void *data, size_t len, int compress);
/* Writes the archive and appends its bytes to out.  Then only ra_zip_free. */
ik_status ra_zip_finish(ra_zip *z, ik_buf *out);
/* Wipes the entry copies.  Accepts NULL. */
void ra_zip_free(ra_zip *z);

/* ---- starting a batch and its one download, for the API and the pages ---- */

#define RA_BATCH_DEFAULT_DAYS 365
#define RA_BATCH_MAX_DAYS 1095        /* the signer's hard cap; its profile may be lower */

/* Why a start or a download was refused: what the API replies (status, code, field, an
 * English message) and the numbers a page words its own message with.  Code "store": a
 * store failure st (the caller maps it as for any other store call). */
typedef struct ra_batch_refusal {
	unsigned status;
	const char *code;         /* NULL: not refused */
	const char *field;        /* the input it is about, or NULL */
	char message[400];
	uint64_t n[3];            /* batch_running: id, settled, total; quota_exceeded: count,
	                           * remaining, quota; pattern_exhausted: highest number, highest
	                           * in use, count */
	ik_status st;
} ra_batch_refusal;
void ra_batch_refuse(ra_batch_refusal *why, unsigned status, const char *code,
    const char *field, const char *message);
/* 409 batch_running for b (planned: how many it will have; 0 = not known). */
void ra_batch_refuse_running(ra_batch_refusal *why, const ra_batch *b, uint64_t planned);
/* The contracted number (0 = no limit) and how many certificates count against it. */
ik_status ra_batch_quota(ra_store *s, uint64_t *quota, uint64_t *used);

typedef struct ra_batch_start_in {
	uint64_t count;           /* 1..RA_BATCH_PLANNED_MAX */
	uint64_t validity_days;   /* 1..RA_BATCH_MAX_DAYS */
	const char *cn_pattern;   /* NULL: the configured one */
	const char *format;       /* "modern" | "compatible" */
	const char *key_type;     /* "ec-p256", "ec-p384", "rsa-2048", "rsa-3072" */
	const char *passphrase;   /* the password policy applies */
} ra_batch_start_in;

typedef struct ra_batch_started {
	int64_t id;
	char first_cn[RA_CN_MAX + 1];
	const char *cn_pattern, *format, *key_type;   /* as stored */
	unsigned validity_days;
} ra_batch_started;

/* batch_start.c: every refusal decided before a key is made or anything stored, then the
 * envelope keys made, the batch stored (history batch_created) and the worker kicked.
 * IK_OK when started; else why says what refused it and nothing is stored. */
ik_status ra_batch_start(ra_req *r, const ra_batch_start_in *in, ra_batch_started *out,
    ra_batch_refusal *why);

typedef struct ra_batch_zip {
	ik_buf zip;               /* the ZIP (secret: wiped when cleaned up) */
	size_t included, not_included;
} ra_batch_zip;

/* batch_download.c: the one download.  IK_OK: out->zip holds the ZIP (the caller cleans
 * it up) and every key of the batch is gone (history batch_download).  Else why says what
 * refused it: batch_downloaded (410), bad_passphrase (403), batch_running, not_keyed,
 * ca_unavailable, ...; refusals of the batch itself are recorded (batch_download_failed). */
ik_status ra_batch_download(ra_req *r, int64_t id, const char *passphrase,
    ra_batch_zip *out, ra_batch_refusal *why);

/* ---- the API (api_batches.c) ---- */

/* POST /api/v1/batches, GET /api/v1/batches/running, GET /api/v1/batches/{id},
 * POST /api/v1/batches/{id}/abort, POST /api/v1/batches/{id}/download */
extern const ra_route ra_api_batches_routes[];
extern const size_t ra_api_batches_nroutes;

#endif
