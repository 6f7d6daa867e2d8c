/* mobileconfig: the Apple configuration profile (XML property list) that carries a user's
 * PKCS#12 and the root CA to an iPhone or iPad.  Keys as Apple documents them
 * (DeviceManagement: TopLevel, CertificatePKCS12, CertificateRoot); no Password key.
 * Signed as Apple's tools do: CMS SignedData, attached, binary, no S/MIME capabilities. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "mobileconfig.h"

#define UUID_LEN 36
#define B64_LINE 64    /* base64 characters per line inside <data> */

static ik_status put(ik_buf *b, const char *s)
{
	return ik_buf_put_text(b, s);
}

/* s as XML character data: & < > " escaped; control characters (not allowed in XML 1.0)
 * become a space. */
static ik_status put_xml(ik_buf *b, const char *s)
{
	ik_status st = IK_OK;

	for (const unsigned char *p = (const unsigned char *)s; st == IK_OK && *p != '\0'; p++) {
		switch (*p) {
		case '&': st = put(b, "&amp;"); break;
		case '<': st = put(b, "&lt;"); break;
		case '>': st = put(b, "&gt;"); break;
		case '"': st = put(b, "&quot;"); break;
		default:
			st = ik_buf_put_u8(b, *p < 0x20 || *p == 0x7f ? (uint8_t)' ' : *p);
			break;
		}
	}
	return st;
}

static ik_status key_string(ik_buf *b, const char *key, const char *value)
{
	ik_status st = put(b, "\t<key>");

	if (st == IK_OK)
		st = put_xml(b, key);
	if (st == IK_OK)
		st = put(b, "</key>\n\t<string>");
	if (st == IK_OK)
		st = put_xml(b, value);
	if (st == IK_OK)
		st = put(b, "</string>\n");
	return st;
}

/* <key>key</key><data>base64 in lines</data> */
static ik_status key_data(ik_buf *b, const char *key, const uint8_t *p, size_t n)
{
	uint8_t line[B64_LINE + 4];
	ik_status st = put(b, "\t<key>");

	if (st == IK_OK)
		st = put_xml(b, key);
	if (st == IK_OK)
		st = put(b, "</key>\n\t<data>\n");
	/* 48 input bytes make one 64-character line */
	for (size_t off = 0; st == IK_OK && off < n; off += B64_LINE / 4 * 3) {
		size_t k = n - off < B64_LINE / 4 * 3 ? n - off : B64_LINE / 4 * 3;
		int w = EVP_EncodeBlock(line, p + off, (int)k);
		if (w <= 0)
			return IK_ERR_CRYPTO;
		st = put(b, "\t");
		if (st == IK_OK)
			st = ik_buf_put(b, line, (size_t)w);
		if (st == IK_OK)
			st = put(b, "\n");
	}
	if (st == IK_OK)
		st = put(b, "\t</data>\n");
	return st;
}

static ik_status uuid4(char out[UUID_LEN + 1])
{
	uint8_t u[16];

	if (RAND_bytes(u, sizeof(u)) != 1)
		return IK_ERR_CRYPTO;
	u[6] = (uint8_t)((u[6] & 0x0f) | 0x40);   /* version 4 */
	u[8] = (uint8_t)((u[8] & 0x3f) | 0x80);   /* RFC 4122 variant */
	snprintf(out, UUID_LEN + 1, "%02X%02X%02X%02X-%02X%02X-%02X%02X-%02X%02X-"
	    "%02X%02X%02X%02X%02X%02X", u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8],
	    u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
	return IK_OK;
}

/* Labels of [a-z0-9-] separated by single dots. */
static int prefix_ok(const char *s)
{
	size_t label = 0;

	if (s == NULL || s[0] == '\0' || strlen(s) > RA_MOBILECONFIG_PREFIX_MAX)
		return 0;
	for (const char *p = s; *p != '\0'; p++) {
		if (*p == '.') {
			if (label == 0)
				return 0;
			label = 0;
		} else if ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-')
			label++;
		else
			return 0;
	}
	return label > 0;
}

/* One payload dictionary of the PayloadContent array. */
static ik_status payload(ik_buf *b, const char *type, const char *ident, const char *uuid,
    const char *display, const char *file, const uint8_t *data, size_t n)
{
	ik_status st = put(b, "\t<dict>\n");

	if (st == IK_OK)
		st = key_string(b, "PayloadCertificateFileName", file);
	if (st == IK_OK)
		st = key_data(b, "PayloadContent", data, n);
	if (st == IK_OK)
		st = key_string(b, "PayloadDisplayName", display);
	if (st == IK_OK)
		st = key_string(b, "PayloadIdentifier", ident);
	if (st == IK_OK)
		st = key_string(b, "PayloadType", type);
	if (st == IK_OK)
		st = key_string(b, "PayloadUUID", uuid);
	if (st == IK_OK)
		st = put(b, "\t<key>PayloadVersion</key>\n\t<integer>1</integer>\n\t</dict>\n");
	return st;
}

ik_status ra_mobileconfig_build(const ra_mobileconfig_in *in, ik_buf *out)
{
	char top[UUID_LEN + 1], pk[UUID_LEN + 1], root[UUID_LEN + 1];
	char ident[RA_MOBILECONFIG_PREFIX_MAX + 64], pk_ident[sizeof(ident) + 8],
	    root_ident[sizeof(ident) + 8], lower[UUID_LEN + 1];
	ik_status st;

	if (in == NULL || in->p12 == NULL || in->p12_len == 0 || in->root == NULL ||
	    in->root_len == 0 || in->p12_name == NULL || in->display_name == NULL ||
	    in->description == NULL || in->organization == NULL || in->p12_display == NULL ||
	    in->root_display == NULL || in->p12_len > INT32_MAX || in->root_len > INT32_MAX ||
	    !prefix_ok(in->prefix))
		return IK_ERR_ARG;
	if ((st = uuid4(top)) != IK_OK || (st = uuid4(pk)) != IK_OK ||
	    (st = uuid4(root)) != IK_OK)
		return st;
	for (size_t i = 0; i <= UUID_LEN; i++)
		lower[i] = (char)tolower((unsigned char)top[i]);
	snprintf(ident, sizeof(ident), "%s.certificate.%s", in->prefix, lower);
	snprintf(pk_ident, sizeof(pk_ident), "%s.pkcs12", ident);
	snprintf(root_ident, sizeof(root_ident), "%s.root", ident);
	st = put(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE plist PUBLIC "
	    "\"-//Apple//DTD PLIST 1.0//EN\" \"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n"
	    "<plist version=\"1.0\">\n<dict>\n\t<key>PayloadContent</key>\n\t<array>\n");
	if (st == IK_OK)
		st = payload(out, "com.apple.security.pkcs12", pk_ident, pk, in->p12_display,
		    in->p12_name, in->p12, in->p12_len);
	if (st == IK_OK)
		st = payload(out, "com.apple.security.root", root_ident, root, in->root_display,
		    "root-ca.cer", in->root, in->root_len);
	if (st == IK_OK)
		st = put(out, "\t</array>\n");
	if (st == IK_OK)
		st = key_string(out, "PayloadDescription", in->description);
	if (st == IK_OK)
		st = key_string(out, "PayloadDisplayName", in->display_name);
	if (st == IK_OK)
		st = key_string(out, "PayloadIdentifier", ident);
	if (st == IK_OK)
		st = key_string(out, "PayloadOrganization", in->organization);
	if (st == IK_OK)
		st = put(out, "\t<key>PayloadRemovalDisallowed</key>\n\t<false/>\n");
	if (st == IK_OK)
		st = key_string(out, "PayloadType", "Configuration");
	if (st == IK_OK)
		st = key_string(out, "PayloadUUID", top);
	if (st == IK_OK)
		st = put(out, "\t<key>PayloadVersion</key>\n\t<integer>1</integer>\n</dict>\n"
		    "</plist>\n");
	return st;
}

void ra_mobileconfig_prefix(const char *public_url, char *out, size_t outsz)
{
	const char *h = public_url != NULL ? strstr(public_url, "://") : NULL;
	char host[RA_MOBILECONFIG_PREFIX_MAX + 1], rev[RA_MOBILECONFIG_PREFIX_MAX + 1];
	size_t n = 0, w = 0, end;
	int digits_only = 1;

	snprintf(out, outsz, "local.inkan");
	if (h == NULL || h[3] == '[')
		return;
	for (h += 3; h[n] != '\0' && h[n] != ':' && h[n] != '/' && n < sizeof(host) - 1; n++) {
		char c = (char)tolower((unsigned char)h[n]);
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.'))
			return;
		if (c != '.' && !(c >= '0' && c <= '9'))
			digits_only = 0;
		host[n] = c;
	}
	host[n] = '\0';
	if (n == 0 || digits_only || strchr(host, '.') == NULL)
		return;
	/* the labels in reverse order */
	end = n;
	while (end > 0) {
		size_t start = end;
		while (start > 0 && host[start - 1] != '.')
			start--;
		if (w > 0)
			rev[w++] = '.';
		memcpy(rev + w, host + start, end - start);
		w += end - start;
		end = start > 0 ? start - 1 : 0;
	}
	rev[w] = '\0';
	if (prefix_ok(rev))
		snprintf(out, outsz, "%s", rev);
}

struct ra_mobileconfig_signer {
	X509 *cert;
	STACK_OF(X509) *chain;  /* the other certificates of the tls_cert file */
	EVP_PKEY *key;
};

void ra_mobileconfig_signer_free(ra_mobileconfig_signer *s)
{
	if (s == NULL)
		return;
	X509_free(s->cert);
	sk_X509_pop_free(s->chain, X509_free);
	EVP_PKEY_free(s->key);
	free(s);
}

/* The certificate file: the first certificate signs, the rest go along as the chain. */
static ik_status load_certs(ra_mobileconfig_signer *s, const char *path)
{
	BIO *b = BIO_new_file(path, "r");
	X509 *x;
	ik_status st = IK_ERR_CONFIG;

	if (b == NULL)
		return IK_ERR_CONFIG;
	if ((s->cert = PEM_read_bio_X509(b, NULL, NULL, NULL)) == NULL ||
	    (s->chain = sk_X509_new_null()) == NULL)
		goto out;
	while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
		if (sk_X509_push(s->chain, x) <= 0) {
			X509_free(x);
			goto out;
		}
	}
	st = IK_OK;
out:
	ERR_clear_error();   /* the end of the file reads as "no start line" */
	BIO_free(b);
	return st;
}

static ik_status load_key(ra_mobileconfig_signer *s, const char *path)
{
	BIO *b = BIO_new_file(path, "r");

	if (b == NULL)
		return IK_ERR_CONFIG;
	/* no password callback: an encrypted key is refused, as for TLS */
	s->key = PEM_read_bio_PrivateKey(b, NULL, NULL, (void *)"");
	BIO_free(b);
	ERR_clear_error();
	return s->key != NULL ? IK_OK : IK_ERR_CONFIG;
}

ik_status ra_mobileconfig_signer_new(const char *cert_pem, const char *key_pem,
    ra_mobileconfig_signer **out, char *err, size_t errsz)
{
	ra_mobileconfig_signer *s = calloc(1, sizeof(*s));
	ik_status st = IK_ERR_NOMEM;

	*out = NULL;
	if (s == NULL) {
		snprintf(err, errsz, "out of memory");
		goto out;
	}
	if ((st = load_certs(s, cert_pem)) != IK_OK) {
		snprintf(err, errsz, "%s: not a readable PEM certificate", cert_pem);
		goto out;
	}
	if ((st = load_key(s, key_pem)) != IK_OK) {
		snprintf(err, errsz, "%s: not a readable, unencrypted PEM private key", key_pem);
		goto out;
	}
	if (X509_check_private_key(s->cert, s->key) != 1) {
		ERR_clear_error();
		snprintf(err, errsz, "%s: the key does not belong to the certificate in %s",
		    key_pem, cert_pem);
		st = IK_ERR_CONFIG;
		goto out;
	}
	*out = s;
	s = NULL;
	st = IK_OK;
out:
	ra_mobileconfig_signer_free(s);
	return st;
}

ik_status ra_mobileconfig_sign(const ra_mobileconfig_signer *s, const uint8_t *plist,
    size_t n, ik_buf *out)
{
	const unsigned flags = CMS_BINARY | CMS_NOSMIMECAP | CMS_PARTIAL;
	CMS_ContentInfo *cms = NULL;
	BIO *in = NULL;
	uint8_t *der = NULL;
	int len;
	ik_status st = IK_ERR_CRYPTO;

	if (s == NULL || plist == NULL || n == 0 || n > INT32_MAX)
		return IK_ERR_ARG;
	if ((in = BIO_new_mem_buf(plist, (int)n)) == NULL ||
	    (cms = CMS_sign(NULL, NULL, s->chain, NULL, flags)) == NULL ||
	    CMS_add1_signer(cms, s->cert, s->key, EVP_sha256(), flags) == NULL ||
	    CMS_final(cms, in, NULL, flags) != 1 ||
	    (len = i2d_CMS_ContentInfo(cms, &der)) <= 0)
		goto out;
	st = ik_buf_put(out, der, (size_t)len);
	OPENSSL_cleanse(der, (size_t)len);
out:
	ERR_clear_error();
	OPENSSL_free(der);
	CMS_ContentInfo_free(cms);
	BIO_free(in);
	return st;
}
