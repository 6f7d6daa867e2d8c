/* ocsp_req: an OCSPRequest, parsed by OpenSSL, reduced to what PROTO_OCSP carries; the
 * RA's own unsigned answers; the base64 of GET requests.  Untrusted input: everything is
 * bounded before it is copied, and anything odd is malformedRequest. */
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/x509v3.h>

#include "ocsp_req.h"

const uint8_t ra_ocsp_malformed[5] = { 0x30, 0x03, 0x0a, 0x01, 0x01 };
const uint8_t ra_ocsp_internal[5] = { 0x30, 0x03, 0x0a, 0x01, 0x02 };
const uint8_t ra_ocsp_try_later[5] = { 0x30, 0x03, 0x0a, 0x01, 0x03 };

static ik_status refuse(char *why, size_t whysz, const char *what)
{
	snprintf(why, whysz, "%s", what);
	return IK_ERR_PROTO_FIELD;
}

static uint8_t hash_of(const ASN1_OBJECT *alg)
{
	switch (OBJ_obj2nid(alg)) {
	case NID_sha1: return PROTO_HASH_SHA1;
	case NID_sha256: return PROTO_HASH_SHA256;
	case NID_sha384: return PROTO_HASH_SHA384;
	case NID_sha512: return PROTO_HASH_SHA512;
	default: return 0;
	}
}

/* The contents octets of a DER INTEGER of at most PROTO_MAX_SERIAL octets. */
static int serial_of(const ASN1_INTEGER *a, uint8_t *out, size_t *outlen)
{
	uint8_t tlv[2 + PROTO_MAX_SERIAL + 8], *p = tlv;
	int n = i2d_ASN1_INTEGER(a, NULL);

	if (n < 3 || (size_t)n > 2 + PROTO_MAX_SERIAL)
		return 0;
	if (i2d_ASN1_INTEGER(a, &p) != n || tlv[0] != 0x02 || tlv[1] != (uint8_t)(n - 2))
		return 0;
	memcpy(out, tlv + 2, (size_t)n - 2);
	*outlen = (size_t)n - 2;
	return 1;
}

static ik_status one_certid(OCSP_ONEREQ *one, proto_ocsp_id *id, char *why, size_t whysz)
{
	ASN1_OCTET_STRING *name_hash = NULL, *key_hash = NULL;
	ASN1_OBJECT *alg = NULL;
	ASN1_INTEGER *serial = NULL;
	size_t hl;

	if (OCSP_id_get0_info(&name_hash, &alg, &key_hash, &serial, OCSP_onereq_get0_id(one)) != 1 ||
	    name_hash == NULL || key_hash == NULL || alg == NULL || serial == NULL)
		return refuse(why, whysz, "a CertID is incomplete");
	if ((id->hash = hash_of(alg)) == 0)
		return refuse(why, whysz, "a CertID hash is not SHA-1, SHA-256, SHA-384 or SHA-512");
	hl = proto_hash_len(id->hash);
	if ((size_t)ASN1_STRING_length(name_hash) != hl || (size_t)ASN1_STRING_length(key_hash) != hl)
		return refuse(why, whysz, "a CertID hash has the wrong length");
	memcpy(id->name_hash, ASN1_STRING_get0_data(name_hash), hl);
	memcpy(id->key_hash, ASN1_STRING_get0_data(key_hash), hl);
	if (!serial_of(serial, id->serial, &id->serial_len))
		return refuse(why, whysz, "a CertID serial is longer than 20 octets");
	for (int i = 0; i < OCSP_ONEREQ_get_ext_count(one); i++)
		if (X509_EXTENSION_get_critical(OCSP_ONEREQ_get_ext(one, i)))
			return refuse(why, whysz, "a critical singleRequestExtension");
	return IK_OK;
}

/* RFC 8954: the extension's value is an OCTET STRING of 1..32 nonce octets. */
static ik_status nonce_of(X509_EXTENSION *ext, proto_ocsp *m, char *why, size_t whysz)
{
	const ASN1_OCTET_STRING *v = X509_EXTENSION_get_data(ext);
	const unsigned char *p = ASN1_STRING_get0_data(v), *q = p;
	long n = ASN1_STRING_length(v);
	ASN1_OCTET_STRING *inner;
	int len;

	if (m->nonce_len > 0)
		return refuse(why, whysz, "two nonce extensions");
	inner = d2i_ASN1_OCTET_STRING(NULL, &q, n);
	if (inner == NULL || q != p + n) {
		ASN1_OCTET_STRING_free(inner);
		return refuse(why, whysz, "the nonce is not an OCTET STRING");
	}
	len = ASN1_STRING_length(inner);
	if (len < 1 || len > PROTO_MAX_NONCE) {
		ASN1_OCTET_STRING_free(inner);
		return refuse(why, whysz, "the nonce is not 1..32 octets (RFC 8954)");
	}
	memcpy(m->nonce, ASN1_STRING_get0_data(inner), (size_t)len);
	m->nonce_len = (size_t)len;
	ASN1_OCTET_STRING_free(inner);
	return IK_OK;
}

ik_status ra_ocsp_parse(const uint8_t *der, size_t n, proto_ocsp *m, char *why, size_t whysz)
{
	const unsigned char *p = der;
	OCSP_REQUEST *req;
	int count;
	ik_status st = IK_OK;

	memset(m, 0, sizeof(*m));
	if (der == NULL || n == 0 || n > RA_OCSP_MAX_REQUEST)
		return refuse(why, whysz, "empty or larger than 8192 bytes");
	req = d2i_OCSP_REQUEST(NULL, &p, (long)n);
	if (req == NULL || p != der + n) {
		ERR_clear_error();
		OCSP_REQUEST_free(req);
		return refuse(why, whysz, req == NULL ? "not a DER OCSPRequest" :
		    "bytes after the OCSPRequest");
	}
	count = OCSP_request_onereq_count(req);
	if (count < 1 || count > PROTO_MAX_OCSP_IDS) {
		st = refuse(why, whysz, count < 1 ? "no CertID" : "more than 8 CertIDs");
		goto out;
	}
	m->n = (uint8_t)count;
	for (int i = 0; i < count && st == IK_OK; i++)
		st = one_certid(OCSP_request_onereq_get0(req, i), &m->ids[i], why, whysz);
	for (int i = 0; i < OCSP_REQUEST_get_ext_count(req) && st == IK_OK; i++) {
		X509_EXTENSION *ext = OCSP_REQUEST_get_ext(req, i);
		if (OBJ_obj2nid(X509_EXTENSION_get_object(ext)) == NID_id_pkix_OCSP_Nonce)
			st = nonce_of(ext, m, why, whysz);
		else if (X509_EXTENSION_get_critical(ext))
			st = refuse(why, whysz, "a critical requestExtension");
	}
out:
	OCSP_REQUEST_free(req);
	ERR_clear_error();
	if (st != IK_OK)
		memset(m, 0, sizeof(*m));
	return st;
}

static int b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

ik_status ra_ocsp_base64(const char *s, size_t n, uint8_t *out, size_t outsz, size_t *outlen)
{
	size_t o = 0;

	*outlen = 0;
	if (n == 0 || n % 4 != 0)
		return IK_ERR_PROTO_FIELD;
	for (size_t i = 0; i < n; i += 4) {
		int v[4], pad = 0;
		uint32_t w;
		for (int k = 0; k < 4; k++) {
			v[k] = b64_value(s[i + (size_t)k]);
			if (s[i + (size_t)k] == '=' && i + 4 == n && k >= 2) {
				v[k] = 0;
				pad++;
			} else if (v[k] < 0 || pad > 0) {
				return IK_ERR_PROTO_FIELD; /* a bad character, or data after '=' */
			}
		}
		w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
		/* canonical: the bits the padding drops must be zero */
		if ((pad == 1 && (w & 0xffu) != 0) || (pad == 2 && (w & 0xffffu) != 0))
			return IK_ERR_PROTO_FIELD;
		if (o + 3 - (size_t)pad > outsz)
			return IK_ERR_PROTO_FIELD;
		out[o++] = (uint8_t)(w >> 16);
		if (pad < 2)
			out[o++] = (uint8_t)(w >> 8);
		if (pad < 1)
			out[o++] = (uint8_t)w;
	}
	*outlen = o;
	return IK_OK;
}
