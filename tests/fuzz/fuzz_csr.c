/* libFuzzer target for the CSR path of ra/p12.c (PKCS#10 uploaded by an officer or a
 * customer, PEM or DER).  Beyond the sanitizers it checks the result's invariants: an
 * accepted request yields one parseable SPKI the signer's size limit allows and a CN
 * that is valid, control-free UTF-8; a refusal yields nothing and says why.  And the fast
 * path (ra/csr.c) never accepts what OpenSSL's own parser and check would refuse. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include "csr.h"
#include "p12.h"
#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_cn(const char *cn)
{
	size_t n = strlen(cn);

	if (n > PROTO_MAX_ATTR_LEN)
		abort();
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)cn[i] < 0x20 || (unsigned char)cn[i] == 0x7f)
			abort();
}

/* What ra_csr_fast accepts, OpenSSL parses exactly, verifies, and reads the same SPKI from. */
static void check_fast(const uint8_t *data, size_t size)
{
	ra_csr_parts parts;
	const unsigned char *p = data;
	unsigned char *spki = NULL;
	X509_REQ *req;
	int n;

	if (ra_csr_fast(data, size, &parts) != IK_OK)
		return;
	req = d2i_X509_REQ(NULL, &p, (long)size);
	if (req == NULL || p != data + size || X509_REQ_verify(req, X509_REQ_get0_pubkey(req)) != 1)
		abort();
	n = i2d_X509_PUBKEY(X509_REQ_get_X509_PUBKEY(req), &spki);
	if (n <= 0 || (size_t)n != parts.spki_len || memcmp(spki, parts.spki, parts.spki_len) != 0)
		abort();
	OPENSSL_free(spki);
	X509_REQ_free(req);
	ERR_clear_error();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char cn[PROTO_MAX_ATTR_LEN + 1], why[256] = "";
	ik_buf spki;
	ik_status st;

	check_fast(data, size);
	ik_buf_init(&spki, 0);
	memset(cn, 'x', sizeof(cn));
	st = ra_p12_spki_from_csr(data, size, &spki, cn, sizeof(cn), why, sizeof(why));
	if (memchr(cn, '\0', sizeof(cn)) == NULL)
		abort();
	if (st == IK_OK) {
		const unsigned char *p = spki.data;
		EVP_PKEY *k;

		if (spki.len == 0 || spki.len > PROTO_MAX_SPKI)
			abort();
		k = d2i_PUBKEY(NULL, &p, (long)spki.len);
		if (k == NULL || p != spki.data + spki.len)
			abort();
		EVP_PKEY_free(k);
		check_cn(cn);
	} else {
		if (spki.len != 0 || cn[0] != '\0' ||
		    (st != IK_ERR_ARG && st != IK_ERR_POLICY_KEY && st != IK_ERR_NOMEM &&
		    st != IK_ERR_CRYPTO))
			abort();
		if ((st == IK_ERR_ARG || st == IK_ERR_POLICY_KEY) && why[0] == '\0')
			abort();
	}
	if (ERR_peek_error() != 0)
		abort();
	ik_buf_cleanup(&spki);
	return 0;
}
