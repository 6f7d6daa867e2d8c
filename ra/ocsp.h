/* ocsp: the RA's OCSP front (RFC 6960 over HTTP, RFC 5019 caching headers): POST /ocsp and
 * GET /ocsp/{base64}, on the HTTPS listener and the plain-HTTP one.  The request is parsed
 * here (ocsp_req.h), answered by the signer (PROTO_OCSP) and relayed; malformedRequest and
 * tryLater the RA answers itself.  docs/OCSP.md describes the whole responder. */
#ifndef RA_OCSP_H
#define RA_OCSP_H

#include <stddef.h>
#include "http.h"

extern const ra_route ra_ocsp_routes[];
extern const size_t ra_ocsp_nroutes;

#endif
