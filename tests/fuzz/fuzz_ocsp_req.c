/* fuzz_ocsp_req: libFuzzer target for what the RA makes of an untrusted OCSP request
 * (ra/ocsp_req.c).  Selector byte 0: the rest is a DER OCSPRequest for ra_ocsp_parse; what it
 * accepts must be a valid PROTO_OCSP request (every field in its limits) that the codec
 * encodes and decodes back to the same; a refusal must leave nothing behind.  Selector 1:
 * the rest is the base64 of a GET path; what decodes must re-encode to the same text. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "ocsp_req.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                          \
	do {                                                                              \
		if (!(c)) {                                                               \
			fprintf(stderr, "fuzz_ocsp_req: %s:%d: check failed: %s\n", __FILE__, \
			    __LINE__, #c);                                                \
			abort();                                                          \
		}                                                                         \
	} while (0)

static void request(const uint8_t *p, size_t n)
{
	proto_ocsp m, d;
	char why[128] = "";
	ik_buf b;
	ik_status st = ra_ocsp_parse(p, n, &m, why, sizeof(why));

	if (st != IK_OK) {
		CHECK(st == IK_ERR_PROTO_FIELD && why[0] != '\0' && m.n == 0 && m.nonce_len == 0);
		return;
	}
	CHECK(n <= RA_OCSP_MAX_REQUEST);
	CHECK(m.n >= 1 && m.n <= PROTO_MAX_OCSP_IDS && m.nonce_len <= PROTO_MAX_NONCE);
	for (uint8_t i = 0; i < m.n; i++)
		CHECK(proto_hash_len(m.ids[i].hash) != 0 && m.ids[i].serial_len >= 1 &&
		    m.ids[i].serial_len <= PROTO_MAX_SERIAL);
	/* what the RA sends the signer is always a request the signer decodes */
	ik_buf_init(&b, 0);
	CHECK(proto_encode_ocsp(&b, &m) == IK_OK);
	CHECK(ik_buf_remaining(&b) <= PROTO_MAX_REQUEST);
	CHECK(proto_decode_ocsp(ik_buf_ptr(&b), ik_buf_remaining(&b), &d) == IK_OK);
	CHECK(d.n == m.n && d.nonce_len == m.nonce_len &&
	    memcmp(d.nonce, m.nonce, m.nonce_len) == 0);
	for (uint8_t i = 0; i < m.n; i++) {
		size_t hl = proto_hash_len(m.ids[i].hash);
		CHECK(d.ids[i].hash == m.ids[i].hash &&
		    memcmp(d.ids[i].name_hash, m.ids[i].name_hash, hl) == 0 &&
		    memcmp(d.ids[i].key_hash, m.ids[i].key_hash, hl) == 0 &&
		    d.ids[i].serial_len == m.ids[i].serial_len &&
		    memcmp(d.ids[i].serial, m.ids[i].serial, m.ids[i].serial_len) == 0);
	}
	ik_buf_cleanup(&b);
}

static void base64(const uint8_t *p, size_t n)
{
	static uint8_t out[RA_OCSP_MAX_REQUEST];
	size_t len = 0;
	unsigned char *again;
	int k;

	if (ra_ocsp_base64((const char *)p, n, out, sizeof(out), &len) != IK_OK) {
		CHECK(len == 0);
		return;
	}
	CHECK(len > 0 && len <= sizeof(out) && len == n / 4 * 3 - (p[n - 1] == '=') - (p[n - 2] == '='));
	again = malloc(n + 1);
	CHECK(again != NULL);
	k = EVP_EncodeBlock(again, out, (int)len);
	CHECK(k >= 0 && (size_t)k == n && memcmp(again, p, n) == 0);
	free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	if (data[0] % 2 == 0)
		request(data + 1, size - 1);
	else
		base64(data + 1, size - 1);
	return 0;
}
