/* queue: the workers that take the RA's requests (rows in the store) to the signer and
 * store what it answers.  Every issuance and every revocation event is a request row first;
 * the row's request_id makes the signer idempotent, so a request sent twice (an RA killed
 * after sending, a lost reply) yields one certificate.  While the signer or its HSM is away
 * requests wait, visibly, and go out when it is back. */
#ifndef RA_QUEUE_H
#define RA_QUEUE_H

#include <stdint.h>
#include "http.h"
#include "proto.h"
#include "status.h"
#include "store.h"

/* Starts nworkers (1..16) threads; each claims up to group (1..128) requests at a time and
 * sends their issuances pipelined over one signer connection.  Requests left "sent" by an
 * earlier process go back to pending first. */
ik_status ra_queue_start(ra_app *app, unsigned nworkers, unsigned group, ra_queue **out);
/* Stops and joins the workers (a request in flight finishes first).  Accepts NULL. */
void ra_queue_stop(ra_queue *q);
/* Wakes a worker: new requests were added. */
void ra_queue_kick(ra_queue *q);

/* Runs one request now on the calling thread (an end user waiting for a download), or, if a
 * worker took it first, waits for that worker; at most timeout_ms.  out gets the final row.
 * A request whose private key lives only in the caller's memory must not be retried later:
 * pass once = 1 and a transient failure fails it for good instead of queueing a retry.
 * IK_OK when done; the signer's refusal (err filled) or IK_ERR_HSM_UNAVAILABLE / IK_ERR_IO
 * when it could not be done now. */
ik_status ra_queue_run_now(ra_queue *q, int64_t row_id, int once, unsigned timeout_ms,
    ra_request *out, proto_error *err);
/* The same for a request the caller has already claimed (ra_store_request_claim_id, in the
 * caller's own committed transaction, so no worker can have it): run once on the calling
 * thread, no waiting.  req is the claimed row on entry and the final row on return.  An
 * issuance whose answer was lost (no answer, a broken connection, or one the store could not
 * take: the signer may have issued it) is left sent (req->state): the caller parks it
 * (ra_store_request_park) for the queue to settle. */
ik_status ra_queue_run_claimed(ra_queue *q, ra_request *req, proto_error *err);

/* Counters for /metrics. */
typedef struct ra_queue_stats {
	uint64_t sent, done, failed, retried;
	int signer_up;            /* the last call reached the signer */
	int hsm_up;               /* ... and its HSM was available */
} ra_queue_stats;
void ra_queue_stats_get(ra_queue *q, ra_queue_stats *out);

#endif
