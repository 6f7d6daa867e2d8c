/* download: the end user's side — one-time download credentials (made when an officer
 * decides an issuance) and the download itself: the user proves the credential, chooses the
 * PKCS#12 password and names the device type; the RA makes the key pair in memory, the
 * signer signs, the RA returns the .p12 with the CA chain and forgets the key.  The
 * credential is then spent. */
#ifndef RA_DOWNLOAD_H
#define RA_DOWNLOAD_H

#include <jansson.h>
#include "buf.h"
#include "http.h"
#include "p12.h"
#include "store.h"

#define RA_DOWNLOAD_MAX_ATTEMPTS 5   /* failed tries before a credential is locked */

/* A one-time download credential as made: the secret is shown this once (wipe the struct
 * with OPENSSL_cleanse after use); only its scrypt hash is stored. */
typedef struct ra_credential {
	ra_download_kind kind;
	char login[RA_STORE_LOGIN_MAX + 1];
	char secret[32];          /* password (12 characters) or PIN (8 digits) */
	char url[512];            /* where the user goes */
	int64_t expires;
} ra_credential;

/* Makes a credential for an awaiting_download certificate (history entry with it). */
ik_status ra_download_credential_make(ra_req *r, int64_t cert_id, ra_download_kind kind,
    unsigned expire_days, ra_credential *out);
/* The same, adding to out the member "download": {login, password | pin, url, expires}. */
ik_status ra_download_credential_new(ra_req *r, int64_t cert_id, ra_download_kind kind,
    unsigned expire_days, json_t *out);

/* Crockford-like letters and digits without look-alikes (0/O, 1/I/L). */
extern const char RA_ALNUM[];
/* n characters of alphabet, uniformly (rejection sampling), NUL-terminated in out[n]. */
ik_status ra_random_text(const char *alphabet, size_t n, char *out);

/* The end user's download, in two steps that the JSON call and the pages share. */
typedef enum ra_dl_outcome {
	RA_DL_OK = 0,
	RA_DL_BAD,          /* unknown login or wrong secret (the same for both) */
	RA_DL_LOCKED,       /* too many wrong secrets */
	RA_DL_USED,         /* already spent */
	RA_DL_EXPIRED,
	RA_DL_STATE,        /* the certificate no longer waits for a download */
	RA_DL_POLICY,       /* the PKCS#12 password breaks the policy (why says which rule) */
	RA_DL_UNAVAILABLE,  /* the CA cannot sign now; the credential stays good */
	RA_DL_STOPPED,      /* the CA stopped answering while signing */
	RA_DL_REFUSED,      /* the CA refused the certificate */
	RA_DL_BUSY,
	RA_DL_ERROR,
	RA_DL_CLOSED,       /* self-service renewal: the renewal window is closed */
	RA_DL_NOT_RENEWABLE, /* self-service renewal: renewed, revoked, expired since the offer */
	RA_DL_RETRY,        /* the CA's answer was lost: settled by the queue, try again soon */
} ra_dl_outcome;

/* 1. The credential by login: locked, used and expired are refused; with secret (NULL
 * when the pages' ticket already proved it) a wrong one counts a failed try.  Every
 * refusal is in the history. */
ra_dl_outcome ra_download_check(ra_req *r, const char *login, const char *secret,
    ra_download *d);
/* The same, but a spent or expired credential passes (d->used tells which): the switch
 * that follows a self-service renewal proves the same link and password again. */
ra_dl_outcome ra_download_check_spent(ra_req *r, const char *login, const char *secret,
    ra_download *d);
/* The JSON reply for a refused check. */
void ra_download_reply_check(ra_req *r, ra_dl_outcome o);

typedef struct ra_dl_in {
	const char *password;     /* the PKCS#12 password the user chose */
	const char *device;       /* windows, macos, ios, ... (see download.c) */
	ra_p12_flavour flavour;
	ra_keytype keytype;
	/* NULL for the credential's own certificate; else a self-service renewal of it
	 * (download_renew.c): this RA_REQ_RENEW request is added, and the certificate it
	 * issues is the one returned (the caller checked the eligibility; the password was
	 * checked against the policy when the user chose it) */
	const ra_request_new *renew;
} ra_dl_in;
/* 2. The key pair, the signer's certificate, the .p12 appended to p12 (mark it secret), its
 * file name "<CN>.p12"; the credential spent and the officers told by mail (downloaded;
 * for a renewal with the revocation TSV of the old certificate) in one transaction.  why
 * holds the policy's reason. */
ra_dl_outcome ra_download_p12(ra_req *r, const ra_download *d, const ra_dl_in *in,
    ik_buf *p12, char *name, size_t namesz, char *why, size_t whysz);
/* The download's own request req (claimed) got no answer from the signer, which may have
 * issued it (download_settle.c): parked for the queue to settle, the credential d offered a
 * fresh certificate once it is; RA_DL_RETRY (RA_DL_STOPPED if it could not be parked). */
ra_dl_outcome ra_download_park(ra_req *r, const ra_download *d, const ra_request *req,
    const char *why);
/* 1 when cert's request is such a parked one (or one a download is running), not settled. */
int ra_download_settling(ra_req *r, const ra_cert *cert);
/* 1 when device_id's certificate on its way is such a one (a self-service renewal's). */
int ra_download_device_settling(ra_req *r, int64_t device_id);
/* The JSON members "device", "format"? and "key_type"? into in; on failure the 400 is sent
 * and 0 returned. */
int ra_download_parse_options(ra_req *r, json_t *j, ra_dl_in *in);
/* The JSON reply for ra_download_p12's outcome (the .p12 itself for RA_DL_OK). */
void ra_download_reply(ra_req *r, ra_dl_outcome o, const ik_buf *p12, const char *name,
    const char *why);
/* The PKCS#12 flavour for a device type; 0 for an unknown one. */
int ra_download_device(const char *device, ra_p12_flavour *out);

/* ---- renewal by the users themselves (download_renew.c): the steps that the JSON calls
 * and the pages share ---- */
typedef enum ra_rn_outcome {
	RA_RN_OK = 0,       /* accepted: the same whether or not a certificate matched */
	RA_RN_MAIL_OFF,     /* mail is not configured: no link can be sent */
	RA_RN_CLOSED,       /* the renewal window is closed (and no renewal by days) */
	RA_RN_POLICY,       /* the chosen password breaks the policy (why says which rule) */
	RA_RN_ERROR,
} ra_rn_outcome;
/* 1. user id, address on file, the new .p12's password: a renewal credential and its mail
 * for each of the user's certificates that may be renewed now (history entry either way). */
ra_rn_outcome ra_renew_request(ra_req *r, const char *user, const char *email,
    const char *password, char *why, size_t whysz);
/* 2. After ra_download_check of a renewal credential d with secret: RA_DL_CLOSED or
 * RA_DL_NOT_RENEWABLE (recorded), else ra_download_p12's outcomes for the renewal of d's
 * certificate under secret (in->password is set here). */
ra_dl_outcome ra_renew_p12(ra_req *r, const ra_download *d, const char *secret, ra_dl_in *in,
    ik_buf *p12, char *name, size_t namesz, char *why, size_t whysz);
/* 3. After ra_download_check_spent: the switch to the renewal d downloaded.  *old_id and
 * *req_out as ra_renewal_switch; IK_ERR_NOT_FOUND when d has no downloaded renewal,
 * IK_ERR_STATE when the old certificate is already revoked, expired or on its way. */
ik_status ra_renew_switch(ra_req *r, const ra_download *d, const char *actor, ra_cert *fresh,
    int64_t *old_id, ra_request *req_out);

#endif
