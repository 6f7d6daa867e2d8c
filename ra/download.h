/* download: the end user's side — one-time download credentials (made when an officer
 * decides an issuance) and the download itself: the user proves the credential, chooses the
 * PKCS#12 password and names the device type; the RA makes the key pair in memory, the
 * signer signs, the RA returns the .p12 with the CA chain and forgets the key.  The
 * credential is then spent. */
#ifndef RA_DOWNLOAD_H
#define RA_DOWNLOAD_H

#include <jansson.h>
#include "http.h"
#include "store.h"

#define RA_DOWNLOAD_MAX_ATTEMPTS 5   /* failed tries before a credential is locked */

/* Makes a credential for an awaiting_download certificate and adds to out the member
 * "download": {login, password | pin, url, expires}.  The secret is shown this once; only
 * its scrypt hash is stored. */
ik_status ra_download_credential_new(ra_req *r, int64_t cert_id, ra_download_kind kind,
    unsigned expire_days, json_t *out);

#endif
