/* p12: device key generation in memory, the PKCS#12 the end user downloads (two
 * flavours), the file-password policy, and the PKCS#10 path for a customer-made key.
 *
 * Why these algorithms and iteration counts (few importers publish their limits, so the
 * numbers stay well inside what each is known to accept):
 *
 * - "modern" = PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC) for the shrouded key bag and for
 *   the encrypted certificate safe, and a SHA-256 MAC: OpenSSL 3's own default profile.
 *   It imports on Windows 10 1709+ / Server 2019+ (whose export wizard offers
 *   "AES256-SHA256"), Firefox/NSS, GnuTLS, Java 12+ (whose keytool writes the same
 *   profile) and recent Android (16 reported working).  It fails, with a misleading
 *   "wrong password", on macOS Keychain and iOS (Security.framework accepts only a SHA-1
 *   MAC: the SHA-256 MAC alone breaks it, even with 3DES bags), Android 12/13 (reported
 *   on API 33), Windows Server 2016 and earlier and Windows 7/8.1.
 * - "compatible" = pbeWithSHAAnd3-KeyTripleDES-CBC (PKCS#12 KDF, SHA-1) for the key AND
 *   the certificates (not RC2-40, which OpenSSL 3 keeps in the legacy provider and which
 *   some Android builds refuse), SHA-1 MAC: what Windows exports as "TripleDES-SHA1" and
 *   what `openssl pkcs12 -legacy` writes apart from RC2.  Every platform above imports it.
 *
 * Iterations: an attacker holding the file tests passwords against the cheapest of the
 * three derivations (MAC, key bag, certificate safe), so all three use the same count.
 * - modern: 100000.  The one published importer limit is .NET's Pkcs12LoaderLimits
 *   (300000 per derivation, 1000000 in total), so 3 x 100000 stays inside it; Windows,
 *   NSS, GnuTLS, Java (5000000) and BouncyCastle accept far more.  It is ~50x OpenSSL's
 *   default 2048 and costs the RA ~0.1 s of one core per file (3 derivations, measured
 *   with OpenSSL 3.0 on x86-64).  The 600000 OWASP gives for password *storage* would
 *   exceed the .NET limit and cost ~0.6 s per download; the file password's strength
 *   comes from the policy below instead.
 * - compatible: 2048, OpenSSL 1.1's and `-legacy`'s default, close to the 2000 Windows'
 *   own exports use: the count old phones and Keychain have imported for years; the
 *   PKCS#12 KDF on an old phone is slow, and this flavour exists for old devices.
 * The count can be overridden per call within RA_P12_ITER_MIN..RA_P12_ITER_MAX.
 *
 * Secrets: the private key exists only in the caller's EVP_PKEY and, encrypted, in the
 * output; OpenSSL clears its own PKCS#8 copies (ASN1 clear_free) and the key's private
 * BIGNUMs on free.  This file keeps no copy of the key or the password. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>

#include "csr.h"
#include "p12.h"
#include "proto.h"

#define RA_P12_MAX_CHAIN 8
#define RA_CN_MAX PROTO_MAX_ATTR_LEN

static void say(char *why, size_t whysz, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void say(char *why, size_t whysz, const char *fmt, ...)
{
	va_list ap;

	if (why == NULL || whysz == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, whysz, fmt, ap);
	va_end(ap);
}

/* ---- names ---------------------------------------------------------------------- */

static const char *const keytype_names[] = { "ec-p256", "ec-p384", "rsa-2048", "rsa-3072" };
static const char *const flavour_names[] = { "modern", "compatible" };

ik_status ra_keytype_parse(const char *name, ra_keytype *out)
{
	for (size_t i = 0; name != NULL && i < sizeof(keytype_names) / sizeof(keytype_names[0]); i++) {
		if (strcmp(name, keytype_names[i]) == 0) {
			*out = (ra_keytype)i;
			return IK_OK;
		}
	}
	return IK_ERR_ARG;
}

const char *ra_keytype_name(ra_keytype t)
{
	return (unsigned)t < sizeof(keytype_names) / sizeof(keytype_names[0]) ?
	    keytype_names[t] : "unknown";
}

ik_status ra_p12_flavour_parse(const char *name, ra_p12_flavour *out)
{
	for (size_t i = 0; name != NULL && i < sizeof(flavour_names) / sizeof(flavour_names[0]); i++) {
		if (strcmp(name, flavour_names[i]) == 0) {
			*out = (ra_p12_flavour)i;
			return IK_OK;
		}
	}
	return IK_ERR_ARG;
}

const char *ra_p12_flavour_name(ra_p12_flavour f)
{
	return (unsigned)f < sizeof(flavour_names) / sizeof(flavour_names[0]) ?
	    flavour_names[f] : "unknown";
}

/* ---- key generation -------------------------------------------------------------- */

/* DER SubjectPublicKeyInfo of key appended to out. */
static ik_status put_spki(EVP_PKEY *key, ik_buf *out)
{
	unsigned char *der = NULL;
	int n = i2d_PUBKEY(key, &der);
	ik_status st;

	if (n <= 0)
		return IK_ERR_CRYPTO;
	if ((size_t)n > PROTO_MAX_SPKI)
		st = IK_ERR_POLICY_KEY;
	else
		st = ik_buf_put(out, der, (size_t)n);
	OPENSSL_free(der);
	return st;
}

ik_status ra_p12_keygen(ra_keytype t, EVP_PKEY **key, ik_buf *spki)
{
	EVP_PKEY *k = NULL;
	ik_status st;

	*key = NULL;
	switch (t) {
	case RA_KEY_EC_P256:
		k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		break;
	case RA_KEY_EC_P384:
		k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
		break;
	case RA_KEY_RSA_2048:
		k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
		break;
	case RA_KEY_RSA_3072:
		k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072);
		break;
	default:
		return IK_ERR_ARG;
	}
	if (k == NULL) {
		ERR_clear_error();
		return IK_ERR_CRYPTO;
	}
	if ((st = put_spki(k, spki)) != IK_OK) {
		EVP_PKEY_free(k);
		ERR_clear_error();
		return st;
	}
	*key = k;
	return IK_OK;
}

/* ---- UTF-8 and subject names ------------------------------------------------------ */

typedef struct text_scan {
	size_t chars;     /* code points */
	int ctrl;         /* C0, DEL or C1 control character */
	int non_ascii;
	unsigned classes; /* RA_PW_* */
} text_scan;

/* Decode n bytes of UTF-8 strictly (no overlongs, surrogates or values over U+10FFFF).
 * Returns -1 on invalid UTF-8. */
static int scan_utf8(const unsigned char *s, size_t n, text_scan *ts)
{
	size_t i = 0;

	memset(ts, 0, sizeof(*ts));
	while (i < n) {
		unsigned char c = s[i];
		uint32_t cp, min;
		size_t len;

		if (c < 0x80) {
			cp = c, len = 1, min = 0;
		} else if ((c & 0xe0) == 0xc0) {
			cp = c & 0x1fu, len = 2, min = 0x80;
		} else if ((c & 0xf0) == 0xe0) {
			cp = c & 0x0fu, len = 3, min = 0x800;
		} else if ((c & 0xf8) == 0xf0) {
			cp = c & 0x07u, len = 4, min = 0x10000;
		} else {
			return -1;
		}
		if (len > n - i)
			return -1;
		for (size_t k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return -1;
			cp = (cp << 6) | (s[i + k] & 0x3fu);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return -1;
		if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f))
			ts->ctrl = 1;
		else if (cp >= 'a' && cp <= 'z')
			ts->classes |= RA_PW_LOWER;
		else if (cp >= 'A' && cp <= 'Z')
			ts->classes |= RA_PW_UPPER;
		else if (cp >= '0' && cp <= '9')
			ts->classes |= RA_PW_DIGIT;
		else
			ts->classes |= RA_PW_SYMBOL;
		if (cp >= 0x80)
			ts->non_ascii = 1;
		ts->chars++;
		i += len;
	}
	return 0;
}

/* The subject's single CN as UTF-8 into cn (cnsz bytes); "" if there is none. */
static ik_status subject_cn(const X509_NAME *name, char *cn, size_t cnsz, char *why,
    size_t whysz)
{
	int idx = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
	unsigned char *utf8 = NULL;
	text_scan ts;
	int n;

	cn[0] = '\0';
	if (idx < 0)
		return IK_OK;
	if (X509_NAME_get_index_by_NID(name, NID_commonName, idx) >= 0) {
		say(why, whysz, "the subject has more than one CN");
		return IK_ERR_ARG;
	}
	n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx)));
	if (n < 0) {
		ERR_clear_error();
		say(why, whysz, "the subject CN is not a valid string");
		return IK_ERR_ARG;
	}
	if ((size_t)n > RA_CN_MAX || (size_t)n >= cnsz) {
		OPENSSL_free(utf8);
		say(why, whysz, "the subject CN is longer than %u bytes", (unsigned)RA_CN_MAX);
		return IK_ERR_ARG;
	}
	if (memchr(utf8, 0, (size_t)n) != NULL || scan_utf8(utf8, (size_t)n, &ts) != 0 || ts.ctrl) {
		OPENSSL_free(utf8);
		say(why, whysz, "the subject CN holds control characters or invalid UTF-8");
		return IK_ERR_ARG;
	}
	memcpy(cn, utf8, (size_t)n);
	cn[n] = '\0';
	OPENSSL_free(utf8);
	return IK_OK;
}

/* ---- PKCS#12 ---------------------------------------------------------------------- */

/* Exactly one DER certificate in (p, n). */
static X509 *parse_cert(const uint8_t *p, size_t n)
{
	const unsigned char *q = p;
	X509 *x;

	if (p == NULL || n == 0 || n > (size_t)INT32_MAX)
		return NULL;
	x = d2i_X509(NULL, &q, (long)n);
	if (x != NULL && q != p + n) {
		X509_free(x);
		x = NULL;
	}
	if (x == NULL)
		ERR_clear_error();
	return x;
}

static ik_status check_password_bytes(const char *pw)
{
	size_t n;
	text_scan ts;

	if (pw == NULL || (n = strnlen(pw, RA_P12_MAX_PASSWORD + 1)) == 0 ||
	    n > RA_P12_MAX_PASSWORD)
		return IK_ERR_ARG;
	if (scan_utf8((const unsigned char *)pw, n, &ts) != 0 || ts.ctrl)
		return IK_ERR_ARG;
	return IK_OK;
}

/* The parsed inputs of one build. */
typedef struct p12_parts {
	X509 *leaf;
	STACK_OF(X509) *chain;
	char name[RA_CN_MAX + 1];
} p12_parts;

static ik_status parse_parts(const ra_p12_req *r, p12_parts *pp)
{
	X509 *x;

	if ((pp->leaf = parse_cert(r->cert, r->cert_len)) == NULL)
		return IK_ERR_ARG;
	if (X509_check_private_key(pp->leaf, r->key) != 1) {
		ERR_clear_error();
		return IK_ERR_ARG;
	}
	if (r->nchain > RA_P12_MAX_CHAIN || (r->nchain > 0 && (r->chain == NULL ||
	    r->chain_len == NULL)))
		return IK_ERR_ARG;
	if ((pp->chain = sk_X509_new_null()) == NULL)
		return IK_ERR_NOMEM;
	for (size_t i = 0; i < r->nchain; i++) {
		if ((x = parse_cert(r->chain[i], r->chain_len[i])) == NULL)
			return IK_ERR_ARG;
		if (!sk_X509_push(pp->chain, x)) {
			X509_free(x);
			return IK_ERR_NOMEM;
		}
	}
	if (r->friendly_name != NULL) {
		text_scan ts;
		size_t n = strnlen(r->friendly_name, sizeof(pp->name));

		if (n == sizeof(pp->name) ||
		    scan_utf8((const unsigned char *)r->friendly_name, n, &ts) != 0 || ts.ctrl)
			return IK_ERR_ARG;
		memcpy(pp->name, r->friendly_name, n + 1);
		return IK_OK;
	}
	return subject_cn(X509_get_subject_name(pp->leaf), pp->name, sizeof(pp->name), NULL, 0);
}

ik_status ra_p12_build(const ra_p12_req *r, ik_buf *out)
{
	p12_parts pp = { 0 };
	PKCS12 *p12 = NULL;
	unsigned char *der = NULL;
	int nid, n;
	uint32_t iter;
	const EVP_MD *md;
	ik_status st;

	if (r == NULL || r->key == NULL || out == NULL)
		return IK_ERR_ARG;
	if (r->flavour == RA_P12_MODERN) {
		nid = NID_aes_256_cbc;   /* PBES2 + PBKDF2, PRF hmacWithSHA256 */
		md = EVP_sha256();
		iter = RA_P12_ITER_MODERN;
	} else if (r->flavour == RA_P12_COMPATIBLE) {
		nid = NID_pbe_WithSHA1And3_Key_TripleDES_CBC;
		md = EVP_sha1();
		iter = RA_P12_ITER_COMPATIBLE;
	} else {
		return IK_ERR_ARG;
	}
	if (r->iter != 0)
		iter = r->iter;
	if (iter < RA_P12_ITER_MIN || iter > RA_P12_ITER_MAX)
		return IK_ERR_ARG;
	if ((st = check_password_bytes(r->password)) != IK_OK)
		return st;
	if ((st = parse_parts(r, &pp)) != IK_OK)
		goto out;

	/* mac_iter -1: no MAC here; PKCS12_set_mac below chooses the digest explicitly. */
	p12 = PKCS12_create_ex(r->password, pp.name[0] != '\0' ? pp.name : NULL, r->key,
	    pp.leaf, pp.chain, nid, nid, (int)iter, -1, 0, NULL, NULL);
	st = IK_ERR_CRYPTO;
	if (p12 == NULL ||
	    !PKCS12_set_mac(p12, r->password, -1, NULL, 0, (int)iter, md) ||
	    (n = i2d_PKCS12(p12, &der)) <= 0)
		goto out;
	st = ik_buf_put(out, der, (size_t)n);
out:
	if (st != IK_OK)
		ERR_clear_error();
	OPENSSL_free(der);
	PKCS12_free(p12);
	sk_X509_pop_free(pp.chain, X509_free);
	X509_free(pp.leaf);
	return st;
}

/* ---- file-password policy --------------------------------------------------------- */

static const char *const rule_codes[] = {
	"ok", "password-too-short", "password-too-long", "password-charset",
	"password-classes", "password-identity",
};

const char *ra_pw_rule_code(ra_pw_rule r)
{
	return (unsigned)r < sizeof(rule_codes) / sizeof(rule_codes[0]) ? rule_codes[r] :
	    "password-unknown";
}

void ra_pw_policy_default(ra_pw_policy *p)
{
	memset(p, 0, sizeof(*p));
	p->min_len = 10;
	p->max_len = 64;
	p->min_classes = 3;
	p->required = 0;
	p->allow_non_ascii = 0;
	p->reject_identity = 1;
}

ik_status ra_pw_policy_check(const ra_pw_policy *p, char *why, size_t whysz)
{
	if (p->min_len < 1) {
		say(why, whysz, "password policy: min_len must be at least 1");
		return IK_ERR_CONFIG;
	}
	if (p->max_len < p->min_len || p->max_len > RA_P12_MAX_PASSWORD) {
		say(why, whysz, "password policy: max_len must be in min_len..%u",
		    (unsigned)RA_P12_MAX_PASSWORD);
		return IK_ERR_CONFIG;
	}
	if (p->min_classes > 4) {
		say(why, whysz, "password policy: min_classes must be 0..4");
		return IK_ERR_CONFIG;
	}
	if ((p->required & ~(RA_PW_LOWER | RA_PW_UPPER | RA_PW_DIGIT | RA_PW_SYMBOL)) != 0) {
		say(why, whysz, "password policy: required has unknown class bits");
		return IK_ERR_CONFIG;
	}
	return IK_OK;
}

static unsigned popcount4(unsigned v)
{
	return (v & 1u) + ((v >> 1) & 1u) + ((v >> 2) & 1u) + ((v >> 3) & 1u);
}

/* Does hay contain needle, ignoring ASCII case?  (Bytes >= 0x80 compare exactly, so a
 * UTF-8 identity matches only itself.) */
static int contains_nocase(const char *hay, const char *needle)
{
	size_t hn = strlen(hay), nn = strlen(needle);

	for (size_t i = 0; nn <= hn && i <= hn - nn; i++)
		if (strncasecmp(hay + i, needle, nn) == 0)
			return 1;
	return 0;
}

static ra_pw_rule check_identity(const char *pw, const char *const *ids, size_t nids)
{
	text_scan ts;

	for (size_t i = 0; i < nids; i++) {
		const char *id = ids[i];

		if (id == NULL || id[0] == '\0')
			continue;
		if (strcasecmp(pw, id) == 0)
			return RA_PW_IDENTITY;
		if (scan_utf8((const unsigned char *)id, strlen(id), &ts) == 0 && ts.chars >= 3 &&
		    contains_nocase(pw, id))
			return RA_PW_IDENTITY;
	}
	return RA_PW_OK;
}

static const char *const class_names[] = { "a lower-case letter", "an upper-case letter",
	"a digit", "a symbol" };

ra_pw_rule ra_pw_check(const ra_pw_policy *p, const char *pw,
    const char *const *ids, size_t nids, char *why, size_t whysz)
{
	text_scan ts;
	size_t n = pw == NULL ? 0 : strnlen(pw, RA_P12_MAX_PASSWORD + 1);
	int valid = n > 0 && n <= RA_P12_MAX_PASSWORD &&
	    scan_utf8((const unsigned char *)pw, n, &ts) == 0;
	unsigned missing;

	if (n == 0 || (valid && ts.chars < p->min_len)) {
		say(why, whysz, "%s: the password must have at least %u characters",
		    rule_codes[RA_PW_TOO_SHORT], p->min_len);
		return RA_PW_TOO_SHORT;
	}
	if (n > RA_P12_MAX_PASSWORD || (valid && ts.chars > p->max_len)) {
		say(why, whysz, "%s: the password may have at most %u characters",
		    rule_codes[RA_PW_TOO_LONG], p->max_len);
		return RA_PW_TOO_LONG;
	}
	if (!valid || ts.ctrl || (ts.non_ascii && !p->allow_non_ascii)) {
		say(why, whysz, "%s: the password may only hold %s", rule_codes[RA_PW_CHARSET],
		    p->allow_non_ascii ? "printable characters" :
		    "printable ASCII characters (letters, digits, symbols, space)");
		return RA_PW_CHARSET;
	}
	if (popcount4(ts.classes) < p->min_classes) {
		say(why, whysz, "%s: the password must mix at least %u of: lower-case letters, "
		    "upper-case letters, digits, symbols", rule_codes[RA_PW_CLASSES], p->min_classes);
		return RA_PW_CLASSES;
	}
	if ((missing = p->required & ~ts.classes) != 0) {
		unsigned k = 0;

		while ((missing & (1u << k)) == 0)
			k++;
		say(why, whysz, "%s: the password must contain %s", rule_codes[RA_PW_CLASSES],
		    class_names[k]);
		return RA_PW_CLASSES;
	}
	if (p->reject_identity && check_identity(pw, ids, nids) != RA_PW_OK) {
		say(why, whysz, "%s: the password must not be or contain the login name or the "
		    "certificate's common name", rule_codes[RA_PW_IDENTITY]);
		return RA_PW_IDENTITY;
	}
	if (why != NULL && whysz > 0)
		why[0] = '\0';
	return RA_PW_OK;
}

/* ---- PKCS#10 ---------------------------------------------------------------------- */

static int is_ws(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* One PEM CERTIFICATE REQUEST block (whitespace around it allowed) -> DER in *der
 * (OPENSSL_free). */
static ik_status pem_unwrap(const uint8_t *in, size_t n, unsigned char **der, long *dlen,
    char *why, size_t whysz)
{
	BIO *bio = BIO_new_mem_buf(in, (int)n);
	char *name = NULL, *header = NULL;
	unsigned char c;
	ik_status st = IK_ERR_ARG;

	*der = NULL;
	if (bio == NULL)
		return IK_ERR_NOMEM;
	if (!PEM_read_bio(bio, &name, &header, der, dlen)) {
		say(why, whysz, "CSR: malformed PEM");
		goto out;
	}
	if (strcmp(name, "CERTIFICATE REQUEST") != 0 &&
	    strcmp(name, "NEW CERTIFICATE REQUEST") != 0) {
		say(why, whysz, "CSR: the PEM block is not a CERTIFICATE REQUEST");
		goto out;
	}
	while (BIO_read(bio, &c, 1) == 1) {
		if (!is_ws(c)) {
			say(why, whysz, "CSR: data after the PEM block");
			goto out;
		}
	}
	st = IK_OK;
out:
	if (st != IK_OK) {
		OPENSSL_free(*der);
		*der = NULL;
	}
	OPENSSL_free(name);
	OPENSSL_free(header);
	BIO_free(bio);
	return st;
}

/* PEM or DER -> the request's DER: *p (and *owned, to OPENSSL_free, when it was PEM). */
static ik_status csr_der(const uint8_t *in, size_t n, unsigned char **owned,
    const unsigned char **p, long *dlen, char *why, size_t whysz)
{
	size_t i = 0;
	ik_status st;

	*owned = NULL;
	*p = in;
	*dlen = (long)n;
	while (i < n && is_ws(in[i]))
		i++;
	if (n - i >= 11 && memcmp(in + i, "-----BEGIN ", 11) == 0) {
		st = pem_unwrap(in + i, n - i, owned, dlen, why, whysz);
		ERR_clear_error();
		if (st != IK_OK)
			return st;
		*p = *owned;
	}
	return IK_OK;
}

/* DER -> X509_REQ; it must be exactly one request. */
static ik_status parse_csr(const unsigned char *p, long dlen, X509_REQ **out, char *why,
    size_t whysz)
{
	const unsigned char *q = p;
	ik_status st = IK_ERR_ARG;

	if ((*out = d2i_X509_REQ(NULL, &q, dlen)) == NULL) {
		say(why, whysz, "CSR: not a PKCS#10 certification request");
		goto out;
	}
	if (q != p + dlen) {
		say(why, whysz, "CSR: %ld bytes after the request", (long)(p + dlen - q));
		X509_REQ_free(*out);
		*out = NULL;
		goto out;
	}
	st = IK_OK;
out:
	ERR_clear_error();
	return st;
}

/* EC P-256/P-384 (named) or RSA 2048..8192; norm (if not NULL) gets a copy ready for
 * encoding. */
static ik_status check_csr_key(const EVP_PKEY *pk, EVP_PKEY **norm, char *why, size_t whysz)
{
	char group[64];
	int nid, bits;

	if (norm != NULL)
		*norm = NULL;
	if (EVP_PKEY_is_a(pk, "EC")) {
		if (!EVP_PKEY_get_group_name(pk, group, sizeof(group), NULL)) {
			say(why, whysz, "CSR: the EC key must name its curve (P-256 or P-384)");
			return IK_ERR_POLICY_KEY;
		}
		nid = OBJ_sn2nid(group);
		if (nid == NID_undef)
			nid = EC_curve_nist2nid(group);
		if (nid != NID_X9_62_prime256v1 && nid != NID_secp384r1) {
			say(why, whysz, "CSR: EC curve %.40s not allowed (P-256 or P-384)", group);
			return IK_ERR_POLICY_KEY;
		}
		if (norm == NULL)
			return IK_OK;
		if ((*norm = EVP_PKEY_dup((EVP_PKEY *)pk)) == NULL)
			return IK_ERR_CRYPTO;
		/* the signer takes uncompressed points only */
		if (!EVP_PKEY_set_utf8_string_param(*norm, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
		    "uncompressed"))
			return IK_ERR_CRYPTO;
		return IK_OK;
	}
	if (EVP_PKEY_is_a(pk, "RSA")) {
		bits = EVP_PKEY_get_bits(pk);
		if (bits < 2048 || bits > 8192) {
			say(why, whysz, "CSR: RSA key of %d bits not allowed (2048..8192)", bits);
			return IK_ERR_POLICY_KEY;
		}
		if (norm != NULL && (*norm = EVP_PKEY_dup((EVP_PKEY *)pk)) == NULL)
			return IK_ERR_CRYPTO;
		return IK_OK;
	}
	say(why, whysz, "CSR: key algorithm %.40s not allowed (EC P-256/P-384 or RSA)",
	    EVP_PKEY_get0_type_name(pk) != NULL ? EVP_PKEY_get0_type_name(pk) : "?");
	return IK_ERR_POLICY_KEY;
}

/* The request's SubjectPublicKeyInfo as it stands, when that is already the form the signer
 * takes (EC: a named curve and an uncompressed point; RSA: NULL parameters): no copy of the
 * key and no provider encoder, which cost about as much as the rest of the check.  0 when
 * it needs normalizing first. */
static int spki_as_is(X509_REQ *req, const EVP_PKEY *pk, ik_buf *spki, ik_status *st)
{
	X509_PUBKEY *xpk = X509_REQ_get_X509_PUBKEY(req);
	const unsigned char *point;
	const void *pval;
	X509_ALGOR *alg;
	unsigned char *der = NULL;
	int plen, ptype, n;

	if (xpk == NULL || !X509_PUBKEY_get0_param(NULL, &point, &plen, &alg, xpk))
		return 0;
	X509_ALGOR_get0(NULL, &ptype, &pval, alg);
	if (!(EVP_PKEY_is_a(pk, "EC") && ptype == V_ASN1_OBJECT && plen > 0 && point[0] == 4) &&
	    !(EVP_PKEY_is_a(pk, "RSA") && ptype == V_ASN1_NULL))
		return 0;
	if ((n = i2d_X509_PUBKEY(xpk, &der)) <= 0)
		return 0;
	*st = (size_t)n > PROTO_MAX_SPKI ? IK_ERR_POLICY_KEY : ik_buf_put(spki, der, (size_t)n);
	OPENSSL_free(der);
	return 1;
}

/* The common case through ra_csr_fast (csr.h): IK_ERR_NOT_FOUND when it is not one, or its
 * subject is not one OpenSSL reads (the general path then says what is wrong). */
static ik_status spki_fast(const unsigned char *der, long dlen, ik_buf *spki, char *cn,
    size_t cnsz, char *why, size_t whysz)
{
	ra_csr_parts parts;
	X509_NAME *name;
	const unsigned char *q;
	ik_status st;

	if ((st = ra_csr_fast(der, (size_t)dlen, &parts)) == IK_ERR_ARG) {
		say(why, whysz, "CSR: the signature does not verify with the request's own key");
		return st;
	}
	if (st != IK_OK)
		return st;
	q = parts.subject;
	name = d2i_X509_NAME(NULL, &q, (long)parts.subject_len);
	if (name == NULL || q != parts.subject + parts.subject_len) {
		X509_NAME_free(name);
		ERR_clear_error();
		return IK_ERR_NOT_FOUND;
	}
	st = subject_cn(name, cn, cnsz, why, whysz);
	X509_NAME_free(name);
	if (st == IK_OK && parts.spki_len > PROTO_MAX_SPKI) {
		say(why, whysz, "CSR: public key larger than %u bytes", PROTO_MAX_SPKI);
		st = IK_ERR_POLICY_KEY;
	}
	if (st == IK_OK)
		st = ik_buf_put(spki, parts.spki, parts.spki_len);
	return st;
}

ik_status ra_p12_spki_from_csr(const uint8_t *in, size_t n, ik_buf *spki, char *cn,
    size_t cnsz, char *why, size_t whysz)
{
	X509_REQ *req = NULL;
	EVP_PKEY *pk, *norm = NULL;
	unsigned char *owned = NULL;
	const unsigned char *der;
	long dlen;
	ik_status st;

	if (cn == NULL || cnsz <= RA_CN_MAX)
		return IK_ERR_ARG;
	cn[0] = '\0';
	if (in == NULL || n == 0 || n > RA_CSR_MAX) {
		say(why, whysz, "CSR: size must be 1..%u bytes", RA_CSR_MAX);
		return IK_ERR_ARG;
	}
	if ((st = csr_der(in, n, &owned, &der, &dlen, why, whysz)) != IK_OK)
		return st;
	if ((st = spki_fast(der, dlen, spki, cn, cnsz, why, whysz)) != IK_ERR_NOT_FOUND ||
	    (st = parse_csr(der, dlen, &req, why, whysz)) != IK_OK)
		goto out;
	st = IK_ERR_ARG;
	if ((pk = X509_REQ_get0_pubkey(req)) == NULL) {
		say(why, whysz, "CSR: unreadable public key");
		goto out;
	}
	if (X509_REQ_verify(req, pk) != 1) {
		say(why, whysz, "CSR: the signature does not verify with the request's own key");
		goto out;
	}
	if ((st = check_csr_key(pk, NULL, why, whysz)) != IK_OK)
		goto out;
	if ((st = subject_cn(X509_REQ_get_subject_name(req), cn, cnsz, why, whysz)) != IK_OK)
		goto out;
	if (!spki_as_is(req, pk, spki, &st) &&
	    ((st = check_csr_key(pk, &norm, why, whysz)) == IK_OK))
		st = put_spki(norm, spki);
	if (st == IK_ERR_POLICY_KEY)
		say(why, whysz, "CSR: public key larger than %u bytes", PROTO_MAX_SPKI);
out:
	if (st != IK_OK)
		cn[0] = '\0';
	ERR_clear_error();
	EVP_PKEY_free(norm);
	X509_REQ_free(req);
	OPENSSL_free(owned);
	return st;
}
