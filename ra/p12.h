/* p12: the end user's device key and its PKCS#12 — key generation in memory, the two
 * PKCS#12 flavours ("modern", "compatible"), the file-password policy, and the CSR path
 * (a customer-made key).  The private key lives only in an EVP_PKEY in memory; nothing
 * here writes it anywhere but into the password-encrypted PKCS#12. */
#ifndef RA_P12_H
#define RA_P12_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/evp.h>
#include "buf.h"
#include "status.h"

/* Device key types: exactly those a signer profile can allow (signer config key_types
 * "ec-p256", "ec-p384", "rsa" with rsa_min_bits >= 2048). */
typedef enum ra_keytype {
	RA_KEY_EC_P256 = 0, /* the default */
	RA_KEY_EC_P384 = 1,
	RA_KEY_RSA_2048 = 2,
	RA_KEY_RSA_3072 = 3,
} ra_keytype;

/* "ec-p256", "ec-p384", "rsa-2048", "rsa-3072" <-> ra_keytype.  Unknown -> IK_ERR_ARG. */
ik_status ra_keytype_parse(const char *name, ra_keytype *out);
const char *ra_keytype_name(ra_keytype t);

/* Generate a key pair in memory.  *key receives the new key (free with EVP_PKEY_free,
 * which clears the private values); spki receives the DER SubjectPublicKeyInfo to send
 * to the signer (proto_issue.spki), appended to whatever it holds. */
ik_status ra_p12_keygen(ra_keytype t, EVP_PKEY **key, ik_buf *spki);

typedef enum ra_p12_flavour {
	/* PBES2: PBKDF2-HMAC-SHA256 + AES-256-CBC for the key and the certificates, SHA-256
	 * MAC.  Windows 10 1709+/Server 2019+, recent Android (12/13 reported failing, 16
	 * working), Firefox/NSS, OpenSSL 1.1.1+, GnuTLS, Java 12+. */
	RA_P12_MODERN = 0,
	/* pbeWithSHAAnd3-KeyTripleDES-CBC for the key and the certificates, SHA-1 MAC.
	 * macOS Keychain and iOS/iPadOS (which reject a SHA-256 MAC with "wrong password"),
	 * older Android, Windows 7/8.1 and Server 2016 and earlier. */
	RA_P12_COMPATIBLE = 1,
} ra_p12_flavour;

/* "modern" / "compatible" <-> ra_p12_flavour.  Unknown -> IK_ERR_ARG. */
ik_status ra_p12_flavour_parse(const char *name, ra_p12_flavour *out);
const char *ra_p12_flavour_name(ra_p12_flavour f);

/* Iteration counts (see p12.c for why these numbers). */
#define RA_P12_ITER_MODERN 100000u
#define RA_P12_ITER_COMPATIBLE 2048u
#define RA_P12_ITER_MIN 1000u   /* NIST SP 800-132 minimum */
#define RA_P12_ITER_MAX 300000u /* .NET's default per-KDF loader limit */

#define RA_P12_MAX_PASSWORD 128 /* bytes */

typedef struct ra_p12_req {
	EVP_PKEY *key;                   /* the device key (borrowed, not modified) */
	const uint8_t *cert;             /* the issued leaf, DER */
	size_t cert_len;
	const uint8_t *const *chain;     /* CA certificates, DER, issuing CA first (may be NULL) */
	const size_t *chain_len;
	size_t nchain;                   /* <= 8 */
	const char *password;            /* NUL-terminated UTF-8, 1..RA_P12_MAX_PASSWORD bytes */
	const char *friendly_name;       /* NULL: the leaf's subject CN */
	ra_p12_flavour flavour;
	uint32_t iter;                   /* 0: the flavour's default; else RA_P12_ITER_MIN..MAX */
} ra_p12_req;

/* Build the PKCS#12 (DER) and append it to out.  Refuses (IK_ERR_ARG) a certificate that
 * does not parse as exactly one DER certificate, a leaf whose public key is not the
 * key's, a password that is empty, too long, not UTF-8 or holds control characters, and
 * an iteration count out of range.  Library failures are IK_ERR_CRYPTO. */
ik_status ra_p12_build(const ra_p12_req *r, ik_buf *out);

/* File-password policy (the settings page holds one of these). */
#define RA_PW_LOWER 0x1u
#define RA_PW_UPPER 0x2u
#define RA_PW_DIGIT 0x4u
#define RA_PW_SYMBOL 0x8u  /* printable ASCII that is not a letter or digit, and space;
                            * any non-ASCII character counts here when allowed */

typedef struct ra_pw_policy {
	uint32_t min_len;     /* characters (Unicode code points) */
	uint32_t max_len;     /* characters; also never more than RA_P12_MAX_PASSWORD bytes */
	uint32_t min_classes; /* how many of the four classes must appear (0..4) */
	unsigned required;    /* RA_PW_* classes that must each appear */
	int allow_non_ascii;  /* 0: printable ASCII only (default: every importer agrees on
	                       * how to encode it, and phone keyboards/IMEs cannot slip in a
	                       * full-width look-alike) */
	int reject_identity;  /* refuse a password that equals or contains (ignoring ASCII
	                       * case) the login or the CN, for identities of >= 3 chars */
} ra_pw_policy;

/* The rule that failed; stable codes for the UI (which words them in its language). */
typedef enum ra_pw_rule {
	RA_PW_OK = 0,
	RA_PW_TOO_SHORT,   /* "password-too-short" */
	RA_PW_TOO_LONG,    /* "password-too-long" */
	RA_PW_CHARSET,     /* "password-charset": control characters, bad UTF-8, non-ASCII */
	RA_PW_CLASSES,     /* "password-classes": too few classes or a required one missing */
	RA_PW_IDENTITY,    /* "password-identity": equals / contains the login or CN */
} ra_pw_rule;

/* Defaults: 10..64 characters, 3 of 4 classes, ASCII only, identity refused. */
void ra_pw_policy_default(ra_pw_policy *p);
/* Refuses an inconsistent policy (min > max, max over the byte limit, min_classes > 4,
 * unknown class bits) with IK_ERR_CONFIG and the field in why. */
ik_status ra_pw_policy_check(const ra_pw_policy *p, char *why, size_t whysz);

/* Check a password against the policy.  identities: the login and the CN (NULL entries
 * skipped).  On failure why (if not NULL) holds "<code>: <English sentence>" naming the
 * rule and the limit; the password itself never appears in it. */
ra_pw_rule ra_pw_check(const ra_pw_policy *p, const char *password,
    const char *const *identities, size_t nidentities, char *why, size_t whysz);
const char *ra_pw_rule_code(ra_pw_rule r);

/* CSR path: parse a PKCS#10 request (PEM "CERTIFICATE REQUEST" / "NEW CERTIFICATE
 * REQUEST", or DER), verify its self-signature, and return its public key as DER SPKI
 * (appended to spki; EC points in uncompressed form, as the signer requires) and its
 * subject CN (UTF-8, "" if it has none; cnsz >= PROTO_MAX_ATTR_LEN + 1).  The key must
 * be EC P-256/P-384 or RSA 2048..8192 (IK_ERR_POLICY_KEY); a malformed request, trailing
 * bytes, a bad signature, several CNs or a CN with control characters or over 128 bytes
 * is IK_ERR_ARG.  why (if not NULL) names what was wrong. */
#define RA_CSR_MAX (64u * 1024u)
ik_status ra_p12_spki_from_csr(const uint8_t *in, size_t n, ik_buf *spki, char *cn,
    size_t cnsz, char *why, size_t whysz);

#endif
