/* mail: the RA's notices by mail — templates per language embedded at build time
 * (template.c), the S/MIME-signed message (mail_compose.c), the signing identity the signer
 * issues to the RA at first start and the sender thread that hands queued mails to a
 * sendmail-compatible command (mail.c).  The queue itself is in the store (store.h: "mail");
 * what is told when is in notify.c. */
#ifndef RA_MAIL_H
#define RA_MAIL_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include "buf.h"
#include "http.h"
#include "status.h"
#include "store.h"

/* ---- templates (template.c) ---- */

/* A template is "Subject: <line>\n\n<body>" with {{name}} placeholders, in
 * ra/templates/<lang>/<name>.txt. */
typedef struct ra_tvar {
	const char *name;
	const char *value;        /* NULL reads as "" */
} ra_tvar;

/* Renders template name in lang ("ja"/"en") with vars into freshly allocated subject and
 * body (the caller frees both).  A placeholder without a value, an unknown template or an
 * unterminated "{{" is IK_ERR_ARG with why filled.  Control characters in values are
 * replaced by spaces (line breaks too in the subject). */
ik_status ra_template_render(const char *lang, const char *name, const ra_tvar *vars,
    size_t nvars, char **subject, char **body, char *why, size_t whysz);
/* The n-th embedded template's "lang/name" (NULL past the end), for tests. */
const char *ra_template_at(size_t n);

/* ---- the signed message (mail_compose.c) ---- */

typedef struct ra_mail_identity {
	EVP_PKEY *key;
	X509 *cert;
	STACK_OF(X509) *chain;    /* issuing CA (and more) to include; may be NULL */
} ra_mail_identity;

/* The complete message for m (lines end in \n, as a sendmail command reads them): From,
 * To, Subject (RFC 2047 when not ASCII), Date (now), Message-ID <token@domain of from>,
 * Auto-Submitted, then a multipart/signed S/MIME entity (SHA-256) around the text in
 * base64 — and the attachment, if any, in a multipart/mixed. */
ik_status ra_mail_compose(const ra_mail *m, const char *from, int64_t now,
    const ra_mail_identity *id, ik_buf *out);

/* ---- the sender (mail.c) ---- */

typedef struct ra_mailer ra_mailer;

/* 1 when [mail] from is set: notices are queued and sent; else nothing is queued. */
int ra_mail_enabled(const ra_app *app);

/* Starts the sender thread: mails left "sending" by an earlier process go back to pending
 * first (store.h: the idempotency note).  The signing identity is loaded or made (and
 * issued by the signer) before the first mail goes out; while that cannot be done, mails
 * wait.  NULL *out (IK_OK) when mail is not enabled. */
ik_status ra_mailer_start(ra_app *app, ra_mailer **out);
/* A mailer without its thread, driven by ra_mailer_step (tests). */
ik_status ra_mailer_new_manual(ra_app *app, ra_mailer **out);
void ra_mailer_stop(ra_mailer *m);   /* accepts NULL */
void ra_mailer_kick(ra_mailer *m);   /* accepts NULL: a mail was queued */

/* One step of the sender at time now, on the calling thread: the identity if missing,
 * then the oldest due mail, if any.  IK_ERR_NOT_FOUND when nothing was due. */
ik_status ra_mailer_step(ra_mailer *m, int64_t now);

/* Rotation of the signing identity, run by the scheduler: once now is two thirds through
 * the certificate's life, a new key and certificate are obtained and saved, then swapped in
 * (the old one signs until then and stays if anything fails); recorded in the history as
 * mail_cert_rotated.  *rotated is 1 when it happened.  IK_OK when not due or before the
 * sender has an identity. */
ik_status ra_mailer_rotate(ra_mailer *m, int64_t now, int *rotated);

/* Runs argv[0] with argv (no shell), message on its stdin, at most timeout_s seconds
 * (then killed).  IK_OK on exit status 0; else IK_ERR_IO and why holds the exit status and
 * the start of its standard error. */
ik_status ra_sendmail_run(char *const argv[], const uint8_t *msg, size_t len,
    unsigned timeout_s, char *why, size_t whysz);

typedef struct ra_mail_stats {
	uint64_t sent, failed_attempts;
	int identity_ok;          /* the signing certificate is loaded */
} ra_mail_stats;
void ra_mailer_stats(ra_mailer *m, ra_mail_stats *out);

#endif
