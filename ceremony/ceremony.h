/* ceremony: the key-ceremony subcommands of inkan-ceremony and the certificate helpers they
 * share (x509.c). */
#ifndef IK_CEREMONY_H
#define IK_CEREMONY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include <openssl/x509.h>

#include "hsm.h"

typedef struct ceremony_demo_opts {
	const char *out;
	const char *token;
	const char *pin_file;
	const char *module;   /* NULL = default */
	hsm_keyalg alg;
	const char *org;
	const char *country;
} ceremony_demo_opts;

/* Exit status: 0 ok, 1 failure (message on stderr). */
int ceremony_demo(const ceremony_demo_opts *o);

/* ---- x509.c: shared by demo and the full ceremony ---- */

#define CER_FPR_LEN (3 * 32)        /* "AB:CD:…" SHA-256 fingerprint with its NUL */
#define CER_HEX32_LEN (2 * 32 + 1)  /* lower-case SHA-256 hex with its NUL */

/* "inkan-ceremony: <message>\n" on stderr. */
void cer_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* 1 if s is 1..max bytes of UTF-8 text without control characters. */
int cer_text_ok(const char *s, size_t max);
/* C=country (PrintableString), O=org, [OU=ou,] CN=cn (UTF8String).  ou may be NULL. */
ik_status cer_make_name(const char *country, const char *org, const char *ou, const char *cn,
    X509_NAME **out);
/* The digest a CA key signs with (SHA-384 for P-384, else SHA-256; as hsm_sign does). */
const EVP_MD *cer_md_for(const EVP_PKEY *pub);
/* now + years calendar years + days days (UTC); (time_t)-1 on error. */
time_t cer_add_validity(time_t now, int years, int days);
/* A random positive 16-octet serial. */
ik_status cer_set_serial(ASN1_INTEGER *serial);

typedef struct cer_ca_params {
	X509_NAME *subject;
	EVP_PKEY *pub;          /* the subject's public key */
	X509 *issuer;           /* NULL: self-signed */
	time_t not_before, not_after;
	int path_len;           /* -1: no path length constraint */
	const char *crl_url;    /* NULL or "": no CRL distribution point */
	const char *issuer_url; /* NULL or "": no AIA caIssuers */
} cer_ca_params;

/* An unsigned CA certificate: v3, random serial, CA:TRUE (critical), keyCertSign+cRLSign
 * (critical), SKI, and AKI when it has an issuer. */
ik_status cer_ca_build(const cer_ca_params *p, X509 **out);
/* Sign in the HSM with k (digest from cer_md_for), then check the signature with
 * signer_pub. */
ik_status cer_sign_cert(hsm_ctx *h, hsm_key *k, EVP_PKEY *signer_pub, X509 *x);
ik_status cer_sign_crl(hsm_ctx *h, hsm_key *k, EVP_PKEY *signer_pub, X509_CRL *crl);
/* Verify ca under root as a relying party would (strict, root self-signature too). */
ik_status cer_verify_chain(X509 *root, X509 *ca);

ik_status cer_sha256(const void *data, size_t n, uint8_t md[32]);
/* Hex of n bytes: lower case, or upper case with colons (openssl's fingerprint form). */
void cer_hex(const uint8_t *b, size_t n, char *out, int colons);
ik_status cer_fingerprint(X509 *x, char out[CER_FPR_LEN]);

/* Create path (O_EXCL, never following a symlink) with mode, write, fsync.  An existing file
 * is refused with IK_ERR_EXISTS; on any failure the file is removed.  Messages on stderr. */
ik_status cer_write_file(const char *path, const void *data, size_t n, mode_t mode);
/* The same, then owned by uid:gid (uid (uid_t)-1: unchanged) before anything is written. */
ik_status cer_write_file_owned(const char *path, const void *data, size_t n, mode_t mode,
    uid_t uid, gid_t gid);
ik_status cer_write_bio(const char *path, BIO *b, mode_t mode);

#endif
