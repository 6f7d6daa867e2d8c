/* download: the end user's side — one-time download credentials (made when an officer
 * decides an issuance) and the download itself: the user proves the credential, chooses the
 * PKCS#12 password and names the device type; the RA makes the key pair in memory, the
 * signer signs, the RA returns the .p12 with the CA chain and forgets the key.  The
 * credential is then spent. */
#ifndef RA_DOWNLOAD_H
#define RA_DOWNLOAD_H

#include <jansson.h>
#include "http.h"
#include "p12.h"
#include "store.h"

#define RA_DOWNLOAD_MAX_ATTEMPTS 5   /* failed tries before a credential is locked */

/* Makes a credential for an awaiting_download certificate and adds to out the member
 * "download": {login, password | pin, url, expires}.  The secret is shown this once; only
 * its scrypt hash is stored. */
ik_status ra_download_credential_new(ra_req *r, int64_t cert_id, ra_download_kind kind,
    unsigned expire_days, json_t *out);

/* Crockford-like letters and digits without look-alikes (0/O, 1/I/L). */
extern const char RA_ALNUM[];
/* n characters of alphabet, uniformly (rejection sampling), NUL-terminated in out[n]. */
ik_status ra_random_text(const char *alphabet, size_t n, char *out);

/* What a download is for: the device type picks the PKCS#12 flavour (format overrides). */
typedef struct ra_download_opts {
	const char *device;
	ra_p12_flavour flavour;
	ra_keytype keytype;
} ra_download_opts;

/* The "device", "format" and "key_type" members; on failure the 400 is sent, 0 returned. */
int ra_download_parse_options(ra_req *r, json_t *j, ra_download_opts *o);
/* Step 1, the credential (login + secret): unknown, wrong, locked, expired — and used
 * unless allow_used — are refused (reply sent, recorded) and 0 returned. */
int ra_download_check(ra_req *r, const char *login, const char *secret, int allow_used,
    ra_download *d);
/* Steps 3-4 for credential d: the chain, the CA's readiness, the key pair, the request (n,
 * or req when it exists already and n is NULL), the signer, the .p12 under password, the
 * credential spent and the officers told (downloaded; for old_cert_id a renewal with the
 * revocation TSV).  Always replies. */
void ra_download_deliver(ra_req *r, ra_download *d, const char *password,
    const ra_download_opts *o, const ra_request_new *n, ra_request *req, int64_t old_cert_id,
    const char *cn);

#endif
