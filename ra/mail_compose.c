/* mail_compose: one queued mail as an RFC 5322 message, S/MIME-signed (RFC 8551
 * multipart/signed, detached PKCS#7 SignedData over SHA-256) with the RA's mail-signing
 * certificate and the issuing CA, so `openssl smime -verify -CAfile root` accepts it.  The
 * signed part is 7-bit clean (base64 text, base64 attachment), so no relay can alter it. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pkcs7.h>
#include <openssl/rand.h>

#include "mail.h"

#define B64_LINE 57               /* input bytes per 76-character base64 line */

static ik_status put(ik_buf *b, const char *s)
{
	return ik_buf_put_text(b, s);
}

/* data as base64 in lines of 76 characters (57 bytes each: only the last line is padded);
 * text converts \n to \r\n first (RFC 2045 canonical form of text). */
static ik_status put_base64(ik_buf *b, const uint8_t *data, size_t n, int text)
{
	ik_buf canon;
	unsigned char line[80];
	const uint8_t *p = data;
	ik_status st = IK_OK;

	ik_buf_init(&canon, 2 * RA_MAIL_BODY_MAX + 2);
	if (text) {
		for (size_t i = 0; st == IK_OK && i < n; i++)
			st = data[i] == '\n' ? ik_buf_put(&canon, "\r\n", 2) : ik_buf_put_u8(&canon, data[i]);
		p = ik_buf_ptr(&canon);
		n = ik_buf_remaining(&canon);
	}
	for (size_t i = 0; st == IK_OK && i < n; i += B64_LINE) {
		size_t k = n - i < B64_LINE ? n - i : B64_LINE;
		int len = EVP_EncodeBlock(line, p + i, (int)k);
		if (len < 0) {
			st = IK_ERR_CRYPTO;
			break;
		}
		if ((st = ik_buf_put(b, line, (size_t)len)) == IK_OK)
			st = ik_buf_put_u8(b, '\n');
	}
	ik_buf_cleanup(&canon);
	return st;
}

/* An unstructured header value: as is when printable ASCII, else RFC 2047 encoded words
 * (UTF-8, base64) of at most 45 input bytes each, cut at character boundaries and folded. */
static ik_status put_header_text(ik_buf *b, const char *s)
{
	size_t n = strlen(s), i = 0;
	int ascii = 1;
	ik_status st = IK_OK;

	for (size_t k = 0; k < n; k++)
		if ((unsigned char)s[k] < 0x20 || (unsigned char)s[k] >= 0x7f)
			ascii = 0;
	if (ascii && strstr(s, "=?") == NULL)
		return put(b, s);
	while (st == IK_OK && i < n) {
		unsigned char enc[80];
		size_t k = n - i > 45 ? 45 : n - i;
		int len;
		while (i + k < n && ((unsigned char)s[i + k] & 0xc0) == 0x80)
			k--;   /* do not split a UTF-8 character */
		len = EVP_EncodeBlock(enc, (const unsigned char *)s + i, (int)k);
		if (len < 0)
			return IK_ERR_CRYPTO;
		if (i > 0)
			st = put(b, "\n ");
		if (st == IK_OK)
			st = put(b, "=?UTF-8?B?");
		if (st == IK_OK)
			st = ik_buf_put(b, enc, (size_t)len);
		if (st == IK_OK)
			st = put(b, "?=");
		i += k;
	}
	return st;
}

static ik_status put_line(ik_buf *b, const char *name, const char *value)
{
	ik_status st = put(b, name);

	if (st == IK_OK)
		st = put(b, value);
	return st == IK_OK ? put(b, "\n") : st;
}

/* The entity that is signed. */
static ik_status inner(const ra_mail *m, ik_buf *b)
{
	static const char text_hdr[] = "Content-Type: text/plain; charset=UTF-8\n"
	    "Content-Transfer-Encoding: base64\n";
	uint8_t rnd[12];
	char boundary[64], lang[40];
	ik_status st;

	snprintf(lang, sizeof(lang), "Content-Language: %s\n", m->lang);
	if (m->attach == NULL) {
		if ((st = put(b, text_hdr)) == IK_OK && (st = put(b, lang)) == IK_OK &&
		    (st = put(b, "\n")) == IK_OK)
			st = put_base64(b, (const uint8_t *)m->body, strlen(m->body), 1);
		return st;
	}
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return IK_ERR_CRYPTO;
	snprintf(boundary, sizeof(boundary), "=_inkan_%02x%02x%02x%02x%02x%02x%02x%02x%02x%02x"
	    "%02x%02x", rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7], rnd[8],
	    rnd[9], rnd[10], rnd[11]);
	st = put(b, "Content-Type: multipart/mixed; boundary=\"");
	if (st == IK_OK) st = put(b, boundary);
	if (st == IK_OK) st = put(b, "\"\n\n--");
	if (st == IK_OK) st = put(b, boundary);
	if (st == IK_OK) st = put(b, "\n");
	if (st == IK_OK) st = put(b, text_hdr);
	if (st == IK_OK) st = put(b, lang);
	if (st == IK_OK) st = put(b, "\n");
	if (st == IK_OK) st = put_base64(b, (const uint8_t *)m->body, strlen(m->body), 1);
	if (st == IK_OK) st = put(b, "--");
	if (st == IK_OK) st = put(b, boundary);
	/* the name is [A-Za-z0-9._-] (checked by the store): no quoting needed */
	if (st == IK_OK) st = put(b, "\nContent-Type: text/tab-separated-values; charset=UTF-8; name=\"");
	if (st == IK_OK) st = put(b, m->attach_name);
	if (st == IK_OK) st = put(b, "\"\nContent-Disposition: attachment; filename=\"");
	if (st == IK_OK) st = put(b, m->attach_name);
	if (st == IK_OK) st = put(b, "\"\nContent-Transfer-Encoding: base64\n\n");
	if (st == IK_OK) st = put_base64(b, m->attach, m->attach_len, 0);
	if (st == IK_OK) st = put(b, "--");
	if (st == IK_OK) st = put(b, boundary);
	if (st == IK_OK) st = put(b, "--\n");
	return st;
}

static ik_status sign(const ik_buf *content, const ra_mail_identity *id, ik_buf *out)
{
	BIO *in = BIO_new_mem_buf(ik_buf_ptr(content), (int)ik_buf_remaining(content));
	BIO *mem = BIO_new(BIO_s_mem());
	PKCS7 *p7 = NULL;
	const int flags = PKCS7_DETACHED | PKCS7_STREAM;
	char *data;
	long len;
	ik_status st = IK_ERR_CRYPTO;

	if (in == NULL || mem == NULL)
		goto out;
	if ((p7 = PKCS7_sign(id->cert, id->key, id->chain, in, flags)) == NULL)
		goto out;
	if (SMIME_write_PKCS7(mem, p7, in, flags) != 1)
		goto out;
	if ((len = BIO_get_mem_data(mem, &data)) <= 0)
		goto out;
	st = ik_buf_put(out, data, (size_t)len);
out:
	PKCS7_free(p7);
	BIO_free(in);
	BIO_free(mem);
	return st;
}

ik_status ra_mail_compose(const ra_mail *m, const char *from, int64_t now,
    const ra_mail_identity *id, ik_buf *out)
{
	ik_buf body;
	char date[64], msgid[RA_MAIL_TOKEN_LEN + 300];
	const char *domain = strchr(from, '@');
	time_t t = (time_t)now;
	struct tm tm;
	ik_status st;

	if (domain == NULL || m->body == NULL || id == NULL || id->key == NULL || id->cert == NULL)
		return IK_ERR_ARG;
	if (gmtime_r(&t, &tm) == NULL || strftime(date, sizeof(date),
	    "%a, %d %b %Y %H:%M:%S +0000", &tm) == 0)
		return IK_ERR_ARG;
	snprintf(msgid, sizeof(msgid), "<%s.%s%s>", m->token, m->kind, domain);
	ik_buf_init(&body, 4 * RA_MAIL_BODY_MAX);
	st = inner(m, &body);
	if (st == IK_OK) st = put_line(out, "From: ", from);
	if (st == IK_OK) st = put_line(out, "To: ", m->recipients);
	if (st == IK_OK) st = put(out, "Subject: ");
	if (st == IK_OK) st = put_header_text(out, m->subject);
	if (st == IK_OK) st = put(out, "\n");
	if (st == IK_OK) st = put_line(out, "Date: ", date);
	if (st == IK_OK) st = put_line(out, "Message-ID: ", msgid);
	if (st == IK_OK) st = put_line(out, "Auto-Submitted: ", "auto-generated");
	if (st == IK_OK) st = put_line(out, "X-Inkan-Notice: ", m->kind);
	if (st == IK_OK) st = sign(&body, id, out);
	ik_buf_cleanup(&body);
	return st;
}
