/* certlogin: officers' client-certificate login ([ra] cert_login).  The TLS layer only asks
 * for a certificate; here it is judged: it must chain to the configured Inkan CA
 * (cert_login_ca), be within its validity, be the very certificate this RA recorded (same
 * serial and SHA-256), be active in the RA's store right now (not revoked, suspended,
 * expired or superseded: the store, not a CRL), and be bound to an officer. */
#ifndef RA_CERTLOGIN_H
#define RA_CERTLOGIN_H

#include <stddef.h>
#include <stdint.h>
#include "http.h"
#include "status.h"
#include "store.h"

typedef enum ra_certlogin_result {
	RA_CL_OK = 0,
	RA_CL_NO_CERT,      /* the client sent no certificate */
	RA_CL_UNTRUSTED,    /* does not chain to cert_login_ca, or unusable for client auth */
	RA_CL_UNKNOWN,      /* chains, but this RA has no record of that certificate */
	RA_CL_NOT_VALID,    /* expired, not yet valid, revoked, suspended, superseded */
	RA_CL_NOT_BOUND,    /* bound to no officer */
	RA_CL_ERROR,        /* the store or the trust anchors failed */
} ra_certlogin_result;

typedef struct ra_certlogin_id {
	int64_t officer_id;         /* 0 unless the certificate is bound */
	int64_t cert_id;            /* 0 unless the RA knows the certificate */
	char serial[RA_SERIAL_HEX_MAX + 1];
	char why[160];              /* for the history and the log; no secrets */
} ra_certlogin_id;

/* At config load: path is a readable PEM file of CA certificates (at least one, all
 * CA:TRUE).  IK_ERR_CONFIG with why filled otherwise. */
ik_status ra_certlogin_anchors_check(const char *path, char *why, size_t whysz);

/* The certificate of r's TLS connection judged as above.  out->officer_id is set as soon
 * as a binding is found, also for RA_CL_NOT_VALID (so that the failure is counted). */
ra_certlogin_result ra_certlogin_identify(ra_req *r, ra_certlogin_id *out);

/* Why a certificate cannot be bound: the page says it in the officer's language. */
typedef enum ra_certlogin_why {
	RA_CLW_NONE = 0,
	RA_CLW_UNTRUSTED,       /* does not chain to cert_login_ca */
	RA_CLW_EXPIRED,
	RA_CLW_NOT_YET_VALID,
	RA_CLW_PURPOSE,         /* not for client authentication (no clientAuth) */
	RA_CLW_OTHER,           /* another verification failure: why says which */
	RA_CLW_STATE,           /* the RA's record is not active: state says which */
} ra_certlogin_why;

typedef struct ra_certlogin_fit {
	int64_t cert_id;                    /* the RA's record (0 when none) */
	char serial[RA_SERIAL_HEX_MAX + 1]; /* "" until known */
	uint8_t sha256[32];                 /* of the DER */
	ra_cert_state state;                /* of the record */
	ra_certlogin_why code;
	char why[160];                      /* English, for the API and the history */
} ra_certlogin_fit;

/* A certificate of the RA's store fit to be bound: issued, active, for client
 * authentication, chaining to cert_login_ca.  IK_ERR_STATE with out->code and out->why
 * filled when not fit, IK_ERR_NOT_FOUND when unknown. */
ik_status ra_certlogin_bindable(ra_app *app, int64_t cert_id, ra_certlogin_fit *out);

#define RA_CERTLOGIN_PEM_MAX (16u * 1024)

/* The same for a certificate given as text: one PEM certificate (or its DER), at most
 * RA_CERTLOGIN_PEM_MAX bytes.  IK_ERR_ARG when it is not one certificate; IK_ERR_STATE (code,
 * why) when it does not chain, has expired, is not for clientAuth or is not active in the
 * RA's store; IK_ERR_NOT_FOUND when it chains but this RA did not issue exactly it (serial
 * and SHA-256 fingerprint). */
ik_status ra_certlogin_bindable_pem(ra_app *app, const uint8_t *pem, size_t len,
    ra_certlogin_fit *out);

#endif
