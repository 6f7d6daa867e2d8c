/* profile: a certificate profile as the signer's config defines it, and the check of an
 * RA request against it.  The RA is assumed hostile: everything is re-checked here. */
#ifndef SG_PROFILE_H
#define SG_PROFILE_H

#include <stdint.h>
#include <time.h>
#include "proto.h"
#include "status.h"

#define SG_MAX_DAYS_CAP 1095u /* hard cap: 3 years */
#define SG_MAX_URL 256
#define SG_MAX_PROFILES 8

/* Allowed leaf key types (bit mask). */
#define SG_KEY_EC_P256 0x1u
#define SG_KEY_EC_P384 0x2u
#define SG_KEY_RSA 0x4u

typedef struct sg_profile {
	char name[PROTO_MAX_NAME + 1];
	uint32_t max_days;        /* <= SG_MAX_DAYS_CAP, default 397 */
	uint32_t backdate;        /* seconds notBefore may lie before now (clock skew), default 300 */
	unsigned key_types;       /* SG_KEY_* */
	uint32_t rsa_min_bits;    /* >= 2048 */
	unsigned attrs_allowed;   /* bit (1u << PROTO_ATTR_x) */
	unsigned attrs_required;
	/* Fixed values: always in the subject; a request may omit the attribute or repeat
	 * the same value, never change it.  Empty = not fixed. */
	char fixed[PROTO_ATTR_MAX + 1][PROTO_MAX_ATTR_LEN + 1];
	char crl_url[SG_MAX_URL + 1];        /* CRL distribution point (required) */
	char ocsp_url[SG_MAX_URL + 1];       /* AIA OCSP (optional) */
	char ca_issuers_url[SG_MAX_URL + 1]; /* AIA caIssuers (optional) */
	/* usage = server: EKU serverAuth instead of clientAuth, and the CN (a DNS name or an
	 * IP address) repeated as the one subjectAltName — for the appliance's own TLS. */
	int server;
	/* usage = email: EKU emailProtection, keyUsage digitalSignature only, and the CN (an
	 * e-mail address) repeated as the one subjectAltName rfc822Name — for signed mail. */
	int email;
	/* Internal only, never from the config: the delegated OCSP responder certificate
	 * (signer/ocsp.c) — EKU OCSPSigning, id-pkix-ocsp-nocheck, keyUsage digitalSignature
	 * whatever the key type, and no CRL DP or AIA. */
	int ocsp;
} sg_profile;

/* 1 if s is an IPv4/IPv6 literal (its 4 or 16 bytes in ip, length in iplen), 0 if not. */
int sg_ip_literal(const char *s, uint8_t ip[16], size_t *iplen);
/* 1 if s is a DNS host name: LDH labels of 1..63, at most 253 characters, no trailing dot. */
int sg_dns_name(const char *s);
/* 1 if s is a plain ASCII e-mail address local@domain: a dot-atom local part of 1..64
 * characters, a DNS host name with at least one dot as the domain; 0 if not. */
int sg_email_addr(const char *s);

/* The checked, normalised request: what the TBS is built from. */
typedef struct sg_subject_attr {
	uint8_t type; /* enum proto_attr */
	const char *value; /* borrowed from the request or the profile */
} sg_subject_attr;

typedef struct sg_keyinfo {
	unsigned type;  /* SG_KEY_* */
	uint32_t bits;  /* modulus bits for RSA, 256/384 for EC */
	const uint8_t *spki; size_t spki_len;       /* the whole SubjectPublicKeyInfo (borrowed) */
	const uint8_t *pubkey_bits; size_t pubkey_bits_len; /* BIT STRING contents minus the unused-bits byte, for the SKI */
} sg_keyinfo;

typedef struct sg_leaf {
	uint8_t serial[PROTO_MAX_SERIAL]; size_t serial_len; /* INTEGER content, positive, minimal */
	int64_t not_before, not_after;
	sg_keyinfo key;
	size_t nsubject; /* in DN order C, ST, L, O, OU, CN, serialNumber */
	sg_subject_attr subject[PROTO_ATTR_MAX];
} sg_leaf;

/* Parse and check a DER SubjectPublicKeyInfo against the profile: algorithm, curve, the
 * point on the curve (uncompressed), RSA modulus size and exponent.  No OpenSSL object
 * construction (hot path). */
ik_status sg_spki_check(const sg_profile *p, const uint8_t *spki, size_t n, sg_keyinfo *ki,
    char *why, size_t whysz);

/* Check a decoded ISSUE request against the profile at time 'now' (also: the leaf must
 * not outlive ca_not_after) and fill 'leaf' (all but the serial).  On refusal returns
 * the IK_ERR_POLICY_* of the rule that failed and writes the rule in 'why'. */
ik_status sg_profile_check(const sg_profile *p, const proto_issue *req, int64_t now,
    int64_t ca_not_after, sg_leaf *leaf, char *why, size_t whysz);

#endif
