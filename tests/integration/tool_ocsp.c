/* tool_ocsp: for the tests — one PROTO_OCSP request straight to a running inkan-signerd,
 * bypassing the RA, so the signer's own refusals can be reached with bodies the RA would
 * never send.  The CertID's hashes are computed (SHA-1) from the issuer certificate given;
 * the serial is sent as raw bytes (hex), whatever they are.
 * Usage: tool_ocsp SOCKET ISSUER.pem SERIAL-HEX [OUT.der]
 * Prints "status S len N" for a reply (and writes the DER response to OUT.der), or
 * "error CODE: detail" for a refusal.  Exit 0 if the signer answered either way. */
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "proto.h"

static int hex(const char *s, uint8_t *out, size_t max, size_t *n)
{
	size_t len = strlen(s);

	if (len == 0 || len % 2 != 0 || len / 2 > max)
		return 0;
	for (size_t i = 0; i < len / 2; i++) {
		unsigned v;
		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return 0;
		out[i] = (uint8_t)v;
	}
	*n = len / 2;
	return 1;
}

static int certid(const char *pem, proto_ocsp_id *id)
{
	FILE *f = fopen(pem, "r");
	X509 *x = f != NULL ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
	uint8_t *name = NULL;
	const ASN1_BIT_STRING *key;
	int n, ok = 0;

	if (f != NULL)
		fclose(f);
	if (x == NULL || (n = i2d_X509_NAME(X509_get_subject_name(x), &name)) <= 0 ||
	    (key = X509_get0_pubkey_bitstr(x)) == NULL)
		goto out;
	id->hash = PROTO_HASH_SHA1;
	ok = EVP_Digest(name, (size_t)n, id->name_hash, NULL, EVP_sha1(), NULL) == 1 &&
	    EVP_Digest(key->data, (size_t)key->length, id->key_hash, NULL, EVP_sha1(), NULL) == 1;
out:
	OPENSSL_free(name);
	X509_free(x);
	return ok;
}

int main(int argc, char **argv)
{
	proto_hello h = { .version_min = 1, .version_max = 1, .peer = "tool-ocsp" };
	proto_ocsp m;
	proto_ocsp_reply r;
	proto_error err;
	ik_buf req, reply;
	int fd, rc = 1;
	ik_status st;

	if (argc != 4 && argc != 5) {
		fprintf(stderr, "usage: tool_ocsp SOCKET ISSUER.pem SERIAL-HEX [OUT.der]\n");
		return 2;
	}
	memset(&m, 0, sizeof(m));
	m.n = 1;
	if (!certid(argv[2], &m.ids[0]) ||
	    !hex(argv[3], m.ids[0].serial, PROTO_MAX_SERIAL, &m.ids[0].serial_len)) {
		fprintf(stderr, "tool_ocsp: bad issuer certificate or serial\n");
		return 2;
	}
	if (proto_connect(argv[1], &fd) != IK_OK) {
		fprintf(stderr, "tool_ocsp: cannot connect to %s\n", argv[1]);
		return 2;
	}
	ik_buf_init(&req, PROTO_MAX_REQUEST);
	ik_buf_init(&reply, PROTO_MAX_REPLY);
	memset(&err, 0, sizeof(err));
	if (proto_encode_hello(&req, &h) != IK_OK ||
	    proto_call(fd, PROTO_HELLO, &req, &reply, &err) != IK_OK) {
		fprintf(stderr, "tool_ocsp: hello failed\n");
		goto out;
	}
	ik_buf_reset(&req);
	if (proto_encode_ocsp(&req, &m) != IK_OK)
		goto out;
	st = proto_call(fd, PROTO_OCSP, &req, &reply, &err);
	if (st != IK_OK) {
		printf("error %s: %s\n", ik_status_code(st), err.detail);
		rc = 0;
		goto out;
	}
	if (proto_decode_ocsp_reply(ik_buf_ptr(&reply), ik_buf_remaining(&reply), &r) != IK_OK) {
		fprintf(stderr, "tool_ocsp: the reply does not decode\n");
		goto out;
	}
	printf("status %u len %zu\n", r.status, r.response_len);
	if (argc == 5) {
		FILE *f = fopen(argv[4], "wb");
		if (f == NULL || fwrite(r.response, 1, r.response_len, f) != r.response_len) {
			if (f != NULL)
				fclose(f);
			goto out;
		}
		fclose(f);
	}
	rc = 0;
out:
	ik_buf_cleanup(&req);
	ik_buf_cleanup(&reply);
	return rc;
}
