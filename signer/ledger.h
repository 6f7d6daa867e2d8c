/* ledger: the signer's own append-only record (SQLite, WAL, synchronous=FULL): every
 * certificate it signed, every intent to sign (written before the HSM is used, so a crash
 * can never lose a serial), every revocation event and every CRL number.  UPDATE and
 * DELETE on the append-only tables are refused by triggers.  Appends from many threads
 * are committed together (group commit); each call returns once its rows are durable. */
#ifndef SG_LEDGER_H
#define SG_LEDGER_H

#include <stddef.h>
#include <stdint.h>
#include "cert.h"
#include "status.h"

typedef struct sg_ledger sg_ledger;

typedef struct sg_issued {
	uint8_t serial[PROTO_MAX_SERIAL];
	size_t serial_len;
	uint8_t *der;     /* malloc'd; NULL for an intent that was never signed */
	size_t der_len;
	uint8_t *tbs;     /* malloc'd: the TBS bytes of the intent */
	size_t tbs_len;
	char profile[PROTO_MAX_NAME + 1];
} sg_issued;
void sg_issued_cleanup(sg_issued *r);

ik_status sg_ledger_open(const char *path, sg_ledger **out);
void sg_ledger_close(sg_ledger *l);

/* The intent or certificate recorded for a request id (IK_ERR_NOT_FOUND if none). */
ik_status sg_ledger_find_request(sg_ledger *l, const char *request_id, sg_issued *out);
/* 1 if the serial was ever used (intent or certificate), 0 if not, <0 on error. */
int sg_ledger_serial_used(sg_ledger *l, const uint8_t *serial, size_t n);

/* Record the intent (request id, serial, profile, subject text, validity, the TBS bytes)
 * before signing.  IK_ERR_EXISTS if the request id or serial is already there. */
ik_status sg_ledger_record_intent(sg_ledger *l, const char *request_id, const uint8_t *serial,
    size_t serial_len, const char *profile, const char *subject, int64_t not_before,
    int64_t not_after, const uint8_t *tbs, size_t tbs_len);
/* Record the signed certificate for an intent (stores the DER and its SHA-256). */
ik_status sg_ledger_record_cert(sg_ledger *l, const char *request_id, const uint8_t *der,
    size_t der_len);

/* The same two appends without waiting (the signer's issuance pipeline): done(arg, status)
 * is called on the ledger's committer thread once the row is durable (or refused), so it
 * must only hand the work on; the strings and bytes given must stay valid until then.  A
 * status other than IK_OK from the call itself means done will not be called. */
typedef void (*sg_ledger_done)(void *arg, ik_status st);
ik_status sg_ledger_intent_async(sg_ledger *l, const char *request_id, const uint8_t *serial,
    size_t serial_len, const char *profile, const char *subject, int64_t not_before,
    int64_t not_after, const uint8_t *tbs, size_t tbs_len, sg_ledger_done done, void *arg);
ik_status sg_ledger_cert_async(sg_ledger *l, const char *request_id, const uint8_t *der,
    size_t der_len, sg_ledger_done done, void *arg);

/* Before each commit the committer asks pace(arg) how far the commit may grow: 0 = commit
 * now, n = wait (up to a few ms) until n operations have queued (the signer: while its
 * workers have jobs queued, up to half its jobs in flight, so the HSM is kept busy
 * meanwhile); without a pacer it waits 1 ms, and only under load (commits of 16 operations
 * or more).  Set once, before the first append; call sg_ledger_nudge when pace() turns 0. */
void sg_ledger_set_pacer(sg_ledger *l, size_t (*pace)(void *arg), void *arg);
void sg_ledger_nudge(sg_ledger *l);
/* Called on the committer thread after the callbacks of one commit have all run (the
 * signer hands the jobs they resumed to its workers at once, not one at a time).  Set
 * once, before the first append. */
void sg_ledger_set_after_batch(sg_ledger *l, void (*after)(void *arg), void *arg);

/* Revocation events.  kind: revoke / hold / release.  Allowed changes: good -> held,
 * good -> revoked, held -> good (release), held -> revoked.  Anything from revoked is
 * IK_ERR_POLICY_REVOKED; release of a good cert or hold of a held one IK_ERR_STATE;
 * unknown serial IK_ERR_NOT_FOUND.  *state gets the new enum proto_cert_state. */
typedef enum sg_event { SG_EV_REVOKE = 1, SG_EV_HOLD = 2, SG_EV_RELEASE = 3 } sg_event;
ik_status sg_ledger_event(sg_ledger *l, const uint8_t *serial, size_t n, sg_event kind,
    uint8_t reason, int64_t when, uint8_t *state);

/* Many appends committed together (imports, benchmarks, test fixtures): operations queued
 * on a batch (at most 'max' of them) are checked as the single calls check them, then run
 * in order in one transaction by sg_ledger_batch_commit, which returns once they are
 * durable.  The strings and bytes given must stay valid until then.  Commit returns IK_OK
 * if every operation succeeded, else the first refusal (*failed gets its index; the
 * others are durable all the same); the batch is empty afterwards. */
typedef struct sg_ledger_batch sg_ledger_batch;
ik_status sg_ledger_batch_new(size_t max, sg_ledger_batch **out);
void sg_ledger_batch_free(sg_ledger_batch *b);
size_t sg_ledger_batch_len(const sg_ledger_batch *b);
ik_status sg_ledger_batch_intent(sg_ledger_batch *b, const char *request_id,
    const uint8_t *serial, size_t serial_len, const char *profile, const char *subject,
    int64_t not_before, int64_t not_after, const uint8_t *tbs, size_t tbs_len);
ik_status sg_ledger_batch_cert(sg_ledger_batch *b, const char *request_id, const uint8_t *der,
    size_t der_len);
ik_status sg_ledger_batch_event(sg_ledger_batch *b, const uint8_t *serial, size_t n,
    sg_event kind, uint8_t reason, int64_t when);
ik_status sg_ledger_batch_commit(sg_ledger *l, sg_ledger_batch *b, size_t *failed);

/* CRL numbers: the next one (strictly greater than any recorded), and the record of a
 * CRL that was issued. */
ik_status sg_ledger_crl_record(sg_ledger *l, uint64_t number, int64_t this_update,
    int64_t next_update, const uint8_t *sha256);
uint64_t sg_ledger_crl_last(sg_ledger *l);

/* Entries currently on the CRL (revoked and held), streamed in serial order (SQLite's
 * BLOB order: memcmp, then the shorter first) through a cursor that reads one snapshot.
 * _open also counts them (a full scan); _open_all gives instead the snapshot's mark (the
 * id of its last revocation event) for a later sg_ledger_crl_changes, which streams, in
 * the same order, every serial with an event after that mark: its current entry, or one
 * with .removed = 1 if it is no longer on the CRL (released from hold). */
typedef struct sg_ledger_cursor sg_ledger_cursor;
ik_status sg_ledger_crl_open(sg_ledger *l, sg_ledger_cursor **c, size_t *count);
ik_status sg_ledger_crl_open_all(sg_ledger *l, sg_ledger_cursor **c, int64_t *mark);
ik_status sg_ledger_crl_changes(sg_ledger *l, int64_t since, sg_ledger_cursor **c,
    int64_t *mark);
long sg_ledger_crl_next(void *cursor, sg_crl_entry *out, size_t max); /* an sg_crl_source */
void sg_ledger_crl_close(sg_ledger_cursor *c);

/* The status of one serial, for OCSP: IK_OK with *state (enum proto_cert_state) and, for
 * held or revoked, *reason (CRLReason; 6 for a hold) and *when; IK_ERR_NOT_FOUND if no
 * certificate with that serial was ever signed (an intent alone does not count). */
ik_status sg_ledger_cert_status(sg_ledger *l, const uint8_t *serial, size_t n, uint8_t *state,
    uint8_t *reason, int64_t *when);

ik_status sg_ledger_counts(sg_ledger *l, uint64_t *issued, uint64_t *revoked, uint64_t *held);

#endif
