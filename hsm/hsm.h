/* hsm: the PKCS#11 layer.  Signing goes through libp11 (an EVP_PKEY whose private half
 * stays in the token); token and key creation go through the module's own PKCS#11
 * function list (libp11 0.4.12 cannot generate EC keys).  Lost sessions and removed
 * tokens are detected, reported as IK_ERR_HSM_UNAVAILABLE, and recovered from by
 * re-opening, re-logging in and looking keys up again by label/ID. */
#ifndef IK_HSM_H
#define IK_HSM_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/evp.h>
#include "status.h"

#define HSM_DEFAULT_MODULE "/usr/lib/softhsm/libsofthsm2.so"
#define HSM_MAX_PIN 128

typedef struct hsm_ctx hsm_ctx;
typedef struct hsm_key hsm_key;

typedef struct hsm_config {
	const char *module;      /* NULL = HSM_DEFAULT_MODULE */
	const char *token_label; /* required */
	const char *pin_file;    /* credential file; must not be group/other accessible */
	int pin_fd;              /* >= 0: read the PIN from this fd instead (then closed) */
	int session_copy;        /* sign with a session-object copy of each key (hsm.c) */
} hsm_config;

typedef enum hsm_keyalg {
	HSM_KEY_EC_P256 = 1,
	HSM_KEY_EC_P384 = 2,
	HSM_KEY_RSA_3072 = 3,
	HSM_KEY_RSA_4096 = 4,
} hsm_keyalg;

/* Read a secret (PIN) from a file (refused unless mode is 0400/0600 and owned by us) or
 * from an fd.  Trailing newline removed.  out is NUL-terminated; wipe it after use. */
ik_status hsm_read_pin_file(const char *path, char *out, size_t outsz);
ik_status hsm_read_pin_fd(int fd, char *out, size_t outsz);

/* Load the module, find the token by label, log in as user.  Call after any fork(). */
ik_status hsm_open(const hsm_config *cfg, hsm_ctx **out);
void hsm_close(hsm_ctx *h); /* accepts NULL; wipes the PIN */

/* Find a private key by label and/or id (either may be NULL/0, not both).  The handle
 * stays valid across recoveries (it is re-looked-up by label/id). */
ik_status hsm_key_find(hsm_ctx *h, const char *label, const uint8_t *id, size_t id_len,
    hsm_key **out);
/* A copy of the public key (caller frees). */
ik_status hsm_key_public(hsm_ctx *h, hsm_key *k, EVP_PKEY **out);
/* 1 if the key signs through a session copy (hsm_config.session_copy, token allowing it). */
int hsm_key_is_copy(const hsm_key *k);
/* Key algorithm of the key. */
hsm_keyalg hsm_key_alg(const hsm_key *k);

/* Sign tbs with the key: SHA-256 (SHA-384 for P-384) and ECDSA (DER signature) or
 * RSASSA-PKCS1-v1_5.  Thread-safe; callers on different threads sign concurrently.
 * *siglen is in: capacity, out: length. */
ik_status hsm_sign(hsm_ctx *h, hsm_key *k, const uint8_t *tbs, size_t n, uint8_t *sig,
    size_t *siglen);
/* Run fn with the key's signing EVP_PKEY (valid only during the call, under the
 * context's read lock) — for X509_sign / X509_CRL_sign in the ceremony and baselines. */
ik_status hsm_with_pkey(hsm_ctx *h, hsm_key *k, ik_status (*fn)(EVP_PKEY *pk, void *arg),
    void *arg);

/* 1 if the token is usable now.  hsm_probe tries to recover if it is not. */
int hsm_available(hsm_ctx *h);
ik_status hsm_probe(hsm_ctx *h);

/* Raw PKCS#11 (no libp11 context may be open in the process at the same time). */
/* Initialise the first free slot's token with a label, SO PIN and user PIN. */
ik_status hsm_token_init(const char *module, const char *label, const char *so_pin,
    const char *user_pin);
/* IK_OK if an initialised token with this label is present, IK_ERR_NOT_FOUND if not (no
 * login: for checking before a ceremony initialises a token). */
ik_status hsm_token_exists(const char *module, const char *label);
/* Generate a non-extractable, sensitive, token key pair with CKA_LABEL/CKA_ID.  Refuses
 * with IK_ERR_EXISTS if a key with that label or id is already on the token. */
ik_status hsm_keygen(const char *module, const char *token_label, const char *user_pin,
    const char *label, const uint8_t *id, size_t id_len, hsm_keyalg alg);

#endif
