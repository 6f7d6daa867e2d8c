/* csr: the usual PKCS#10 request — an EC P-256/P-384 key with an uncompressed point,
 * signed with ECDSA and SHA-256/384/512, in strict DER — checked straight from its DER
 * (common/der.c) and its self-signature verified with a key made from the point, instead of
 * d2i_X509_REQ, whose generic key decoder was the largest part of a single issue's CPU.
 * Anything else is left to the OpenSSL path in p12.c (ra_p12_spki_from_csr). */
#ifndef RA_CSR_H
#define RA_CSR_H

#include <stddef.h>
#include <stdint.h>
#include "status.h"

typedef struct ra_csr_parts {
	const uint8_t *spki;    /* the request's SubjectPublicKeyInfo TLV, as received */
	size_t spki_len;
	const uint8_t *subject; /* its subject Name TLV (not checked here) */
	size_t subject_len;
} ra_csr_parts;

/* der[0..n) as such a request: IK_OK when it is one and its signature verifies (parts
 * point into der); IK_ERR_ARG when it is one but the signature does not verify;
 * IK_ERR_NOT_FOUND when it is not one, or anything in it is not as expected (the caller
 * then judges it with OpenSSL); IK_ERR_NOMEM / IK_ERR_CRYPTO. */
ik_status ra_csr_fast(const uint8_t *der, size_t n, ra_csr_parts *out);

#endif
