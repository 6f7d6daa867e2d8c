/* ocsp_req: what the RA reads of an OCSP request (RFC 6960 4.1) — the DER OCSPRequest
 * parsed by OpenSSL (d2i_OCSP_REQUEST) and reduced to the CertIDs and nonce the signer's
 * PROTO_OCSP takes — and the unsigned OCSPResponses the RA answers on its own. */
#ifndef RA_OCSP_REQ_H
#define RA_OCSP_REQ_H

#include <stddef.h>
#include <stdint.h>
#include "proto.h"
#include "status.h"

#define RA_OCSP_MAX_REQUEST 8192u /* bytes of DER: a POST body, or a GET path decoded */

/* Unsigned OCSPResponses: SEQUENCE { ENUMERATED status } (RFC 6960 4.2.1). */
extern const uint8_t ra_ocsp_malformed[5];  /* malformedRequest (1) */
extern const uint8_t ra_ocsp_internal[5];   /* internalError (2) */
extern const uint8_t ra_ocsp_try_later[5];  /* tryLater (3) */

/* Reduce a DER OCSPRequest to a PROTO_OCSP request.  IK_OK, or IK_ERR_PROTO_FIELD for
 * anything the RA answers malformedRequest (why says what, for the log): not exactly one
 * OCSPRequest, no CertID or more than PROTO_MAX_OCSP_IDS, a CertID hash other than SHA-1,
 * SHA-256, SHA-384 or SHA-512 or of the wrong length, a serial of more than 20 octets, a
 * nonce that is not an OCTET STRING of 1..32 octets, two nonces, a critical extension.
 * The request's signature, if any, is not checked (the responder answers anyone). */
ik_status ra_ocsp_parse(const uint8_t *der, size_t n, proto_ocsp *m, char *why, size_t whysz);

/* Standard base64 (RFC 4648 section 4, padding required, no whitespace) of a GET request's
 * path segment, decoded into out (at most outsz bytes).  IK_ERR_PROTO_FIELD if it is not
 * that or does not fit. */
ik_status ra_ocsp_base64(const char *s, size_t n, uint8_t *out, size_t outsz, size_t *outlen);

#endif
