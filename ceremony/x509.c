/* x509: what every ceremony step that makes a certificate shares — subject names, serials,
 * validity, CA extensions, signing in the HSM (then checking the signature), the chain check,
 * fingerprints, and writing a file once (never over an existing one). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "ceremony.h"

void cer_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("inkan-ceremony: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

int cer_text_ok(const char *s, size_t max)
{
	size_t n = s != NULL ? strlen(s) : 0;

	if (n == 0 || n > max)
		return 0;
	for (size_t i = 0; i < n;) {
		unsigned long c;
		int k = UTF8_getc((const unsigned char *)s + i, (int)(n - i), &c);
		if (k <= 0 || c < 0x20 || (c >= 0x7f && c < 0xa0) || (c >= 0xd800 && c < 0xe000))
			return 0;
		i += (size_t)k;
	}
	return 1;
}

ik_status cer_make_name(const char *country, const char *org, const char *ou, const char *cn,
    X509_NAME **out)
{
	X509_NAME *n = X509_NAME_new();

	*out = NULL;
	if (n == NULL ||
	    !X509_NAME_add_entry_by_txt(n, "C", V_ASN1_PRINTABLESTRING,
	        (const unsigned char *)country, -1, -1, 0) ||
	    !X509_NAME_add_entry_by_txt(n, "O", V_ASN1_UTF8STRING, (const unsigned char *)org,
	        -1, -1, 0) ||
	    (ou != NULL && ou[0] != '\0' &&
	        !X509_NAME_add_entry_by_txt(n, "OU", V_ASN1_UTF8STRING, (const unsigned char *)ou,
	            -1, -1, 0)) ||
	    !X509_NAME_add_entry_by_txt(n, "CN", V_ASN1_UTF8STRING, (const unsigned char *)cn,
	        -1, -1, 0)) {
		X509_NAME_free(n);
		return IK_ERR_CRYPTO;
	}
	*out = n;
	return IK_OK;
}

const EVP_MD *cer_md_for(const EVP_PKEY *pub)
{
	/* the same choice as hsm_sign: SHA-384 with P-384, SHA-256 otherwise */
	if (EVP_PKEY_get_base_id(pub) == EVP_PKEY_EC && EVP_PKEY_get_bits(pub) == 384)
		return EVP_sha384();
	return EVP_sha256();
}

time_t cer_add_validity(time_t now, int years, int days)
{
	struct tm tm;
	time_t t;

	if (years < 0 || days < 0 || years > 100 || days > 36600 || gmtime_r(&now, &tm) == NULL)
		return (time_t)-1;
	tm.tm_year += years;
	tm.tm_mday += days;
	t = timegm(&tm);
	return t;
}

/* 16 random octets, high bit clear (positive), second-highest set (always 16 octets). */
ik_status cer_set_serial(ASN1_INTEGER *serial)
{
	uint8_t r[16];
	BIGNUM *bn;
	int ok;

	if (RAND_bytes(r, sizeof(r)) != 1)
		return IK_ERR_CRYPTO;
	r[0] = (uint8_t)((r[0] & 0x7f) | 0x40);
	bn = BN_bin2bn(r, sizeof(r), NULL);
	ok = bn != NULL && BN_to_ASN1_INTEGER(bn, serial) != NULL;
	BN_free(bn);
	return ok ? IK_OK : IK_ERR_CRYPTO;
}

static int add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *e;
	int ok;

	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	e = X509V3_EXT_nconf_nid(NULL, &ctx, nid, value);
	ok = e != NULL && X509_add_ext(x, e, -1) == 1;
	X509_EXTENSION_free(e);
	return ok;
}

ik_status cer_ca_build(const cer_ca_params *p, X509 **out)
{
	X509 *x = X509_new();
	X509 *is = p->issuer != NULL ? p->issuer : x;
	char bc[64], v[300];
	ik_status st = IK_ERR_CRYPTO;

	*out = NULL;
	if (x == NULL || !X509_set_version(x, X509_VERSION_3) ||
	    cer_set_serial(X509_get_serialNumber(x)) != IK_OK ||
	    !X509_set_subject_name(x, p->subject) ||
	    !X509_set_issuer_name(x, X509_get_subject_name(is)) ||
	    ASN1_TIME_set(X509_getm_notBefore(x), p->not_before) == NULL ||
	    ASN1_TIME_set(X509_getm_notAfter(x), p->not_after) == NULL || !X509_set_pubkey(x, p->pub))
		goto out;
	if (p->path_len >= 0)
		snprintf(bc, sizeof(bc), "critical,CA:TRUE,pathlen:%d", p->path_len);
	else
		snprintf(bc, sizeof(bc), "critical,CA:TRUE");
	if (!add_ext(x, is, NID_basic_constraints, bc) ||
	    !add_ext(x, is, NID_key_usage, "critical,keyCertSign,cRLSign") ||
	    !add_ext(x, is, NID_subject_key_identifier, "hash") ||
	    (p->issuer != NULL && !add_ext(x, is, NID_authority_key_identifier, "keyid:always")))
		goto out;
	if (p->crl_url != NULL && p->crl_url[0] != '\0') {
		int n = snprintf(v, sizeof(v), "URI:%s", p->crl_url);
		if (n < 0 || (size_t)n >= sizeof(v) || !add_ext(x, is, NID_crl_distribution_points, v))
			goto out;
	}
	if (p->issuer_url != NULL && p->issuer_url[0] != '\0') {
		int n = snprintf(v, sizeof(v), "caIssuers;URI:%s", p->issuer_url);
		if (n < 0 || (size_t)n >= sizeof(v) || !add_ext(x, is, NID_info_access, v))
			goto out;
	}
	*out = x;
	x = NULL;
	st = IK_OK;
out:
	X509_free(x);
	return st;
}

typedef struct sign_arg {
	X509 *x;
	X509_CRL *crl;
	const EVP_MD *md;
} sign_arg;

static ik_status sign_cb(EVP_PKEY *pk, void *arg)
{
	sign_arg *a = arg;

	if (a->x != NULL)
		return X509_sign(a->x, pk, a->md) > 0 ? IK_OK : IK_ERR_HSM;
	return X509_CRL_sign(a->crl, pk, a->md) > 0 ? IK_OK : IK_ERR_HSM;
}

ik_status cer_sign_cert(hsm_ctx *h, hsm_key *k, EVP_PKEY *signer_pub, X509 *x)
{
	sign_arg a = { .x = x, .md = cer_md_for(signer_pub) };
	ik_status st = hsm_with_pkey(h, k, sign_cb, &a);

	if (st != IK_OK)
		return st;
	return X509_verify(x, signer_pub) == 1 ? IK_OK : IK_ERR_CRYPTO;
}

ik_status cer_sign_crl(hsm_ctx *h, hsm_key *k, EVP_PKEY *signer_pub, X509_CRL *crl)
{
	sign_arg a = { .crl = crl, .md = cer_md_for(signer_pub) };
	ik_status st = hsm_with_pkey(h, k, sign_cb, &a);

	if (st != IK_OK)
		return st;
	return X509_CRL_verify(crl, signer_pub) == 1 ? IK_OK : IK_ERR_CRYPTO;
}

ik_status cer_verify_chain(X509 *root, X509 *ca)
{
	X509_STORE *s = X509_STORE_new();
	X509_STORE_CTX *c = X509_STORE_CTX_new();
	ik_status st = IK_ERR_CRYPTO;

	if (s == NULL || c == NULL || X509_STORE_add_cert(s, root) != 1 ||
	    X509_STORE_CTX_init(c, s, ca, NULL) != 1)
		goto out;
	X509_STORE_CTX_set_flags(c, X509_V_FLAG_X509_STRICT | X509_V_FLAG_CHECK_SS_SIGNATURE);
	if (X509_verify_cert(c) == 1)
		st = IK_OK;
	else
		cer_err("chain check failed: %s",
		    X509_verify_cert_error_string(X509_STORE_CTX_get_error(c)));
out:
	X509_STORE_CTX_free(c);
	X509_STORE_free(s);
	return st;
}

ik_status cer_sha256(const void *data, size_t n, uint8_t md[32])
{
	return EVP_Digest(data, n, md, NULL, EVP_sha256(), NULL) == 1 ? IK_OK : IK_ERR_CRYPTO;
}

void cer_hex(const uint8_t *b, size_t n, char *out, int colons)
{
	static const char hx[] = "0123456789abcdef", HX[] = "0123456789ABCDEF";
	const char *d = colons ? HX : hx;
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		out[o++] = d[b[i] >> 4];
		out[o++] = d[b[i] & 15];
		if (colons && i + 1 < n)
			out[o++] = ':';
	}
	out[o] = '\0';
}

ik_status cer_fingerprint(X509 *x, char out[CER_FPR_LEN])
{
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned n = 0;

	if (X509_digest(x, EVP_sha256(), md, &n) != 1 || n != 32)
		return IK_ERR_CRYPTO;
	cer_hex(md, n, out, 1);
	return IK_OK;
}

ik_status cer_write_file(const char *path, const void *data, size_t n, mode_t mode)
{
	return cer_write_file_owned(path, data, n, mode, (uid_t)-1, (gid_t)-1);
}

ik_status cer_write_file_owned(const char *path, const void *data, size_t n, mode_t mode,
    uid_t uid, gid_t gid)
{
	const char *p = data;
	size_t done = 0;
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);

	if (fd < 0) {
		int e = errno;
		if (e == EEXIST)
			cer_err("%s already exists: refusing to overwrite", path);
		else
			cer_err("%s: %s", path, strerror(e));
		return e == EEXIST ? IK_ERR_EXISTS : IK_ERR_IO;
	}
	if (fchmod(fd, mode) != 0 || (uid != (uid_t)-1 && fchown(fd, uid, gid) != 0))
		goto fail;
	while (done < n) {
		ssize_t w = write(fd, p + done, n - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			goto fail;
		done += (size_t)w;
	}
	if (fsync(fd) != 0)
		goto fail;
	if (close(fd) != 0) {
		fd = -1;
		goto fail;
	}
	return IK_OK;
fail:
	cer_err("%s: %s", path, strerror(errno));
	if (fd >= 0)
		(void)close(fd);
	(void)unlink(path);
	return IK_ERR_IO;
}

ik_status cer_write_bio(const char *path, BIO *b, mode_t mode)
{
	char *p = NULL;
	long len = BIO_get_mem_data(b, &p);

	return cer_write_file(path, p, len > 0 ? (size_t)len : 0, mode);
}
