/* notify: what is told by mail, to whom, in which language — one function per notice.
 * Each queues its mails with ra_store_mail_add in the caller's transaction (call it inside
 * the transaction of the change it tells about), under a dedup key naming the event, so a
 * repeated event is told once.  Nothing is queued while mail is off ([mail] from unset).
 * Mails never carry a password, a PIN or a key.  After the commit, ra_mailer_kick. */
#ifndef RA_NOTIFY_H
#define RA_NOTIFY_H

#include <stdint.h>
#include "http.h"
#include "status.h"
#include "store.h"

/* A download credential was made for cert_id: "issued" (password) or "issued_pin" to the
 * user (the URL and login id — never the secret), and for a PIN "pin_ready" to the PIN
 * distributors (setting pin_distributor_addresses, else notify_addresses). */
ik_status ra_notify_credential(ra_app *app, const ra_download *d, const char *url);
/* A request is done or failed: revoked / suspended / resumed to the user and the officers
 * (notify_addresses); and when its batch has just finished, batch_finished to the
 * officers. */
ik_status ra_notify_request(ra_app *app, const ra_request *r);
/* A batch finished (or failed): batch_finished to the officers, once per batch. */
ik_status ra_notify_batch(ra_app *app, int64_t batch_id);
/* A certificate was downloaded: downloaded to the officers; for a renewal (old_cert_id not
 * 0) downloaded_renewal with revoke-<old serial>.tsv, a revocation file for the old one. */
ik_status ra_notify_downloaded(ra_app *app, int64_t cert_id, int64_t old_cert_id);
/* A certificate has days (<= threshold) left: expiring to its user and to the officers,
 * once per (certificate, threshold). */
ik_status ra_notify_expiring(ra_app *app, const ra_cert *c, unsigned threshold, int64_t now);
/* A self-service renewal was asked for: renewal_ready to the user with the URL. */
ik_status ra_notify_renewal_ready(ra_app *app, const ra_cert *c, const ra_download *d,
    const char *url);

/* A request a download parked (its answer lost) is settled and the link it was parked for
 * works again: download_settled to the certificate's user with the URL and login id (as
 * "issued" — never the secret), once per request.  reoffered: the certificate
 * ra_store_download_reoffer gave the credential (0: none, e.g. a self-service renewal
 * link, which never pointed at the orphan).  Nothing when the credential is spent,
 * expired, or still points at the orphan. */
ik_status ra_notify_settled(ra_app *app, const ra_request *r, int64_t reoffered);

/* The certificate's subject DN (RFC 2253, UTF-8) from its DER; "CN=<cn>" if unreadable. */
void ra_cert_dn(ra_store *s, const ra_cert *c, char *out, size_t outsz);

#endif
