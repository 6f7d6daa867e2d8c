/* signer_client: the RA's side of the signer protocol — a small pool of persistent
 * connections (HELLO once each), reconnect on failure, thread-safe calls. */
#ifndef RA_SIGNER_CLIENT_H
#define RA_SIGNER_CLIENT_H

#include "buf.h"
#include "proto.h"
#include "signer_io.h"
#include "status.h"

typedef struct ra_signer ra_signer;

/* pool: connections kept open (1..24).  Connecting is lazy: a signer that is down now is
 * not an error here, only at the first call (IK_ERR_IO). */
ik_status ra_signer_new(const char *socket_path, unsigned pool, ra_signer **out);
void ra_signer_free(ra_signer *s);

/* Seconds a whole call may take from its start (the wait for a free connection of the
 * pool, a fresh connection's connect() and HELLO, a resend on another one and every byte of
 * the answer included; a pipelined group shares one) before it gives up with IK_ERR_IO and a detail naming the setting; the connection
 * is then closed, never reused, and the call not sent again (the queue retries later; the
 * signer answers a repeated ISSUE with the same certificate).  crl_s is GET_CRL's.
 * 0 = the default. */
#define RA_SIGNER_TIMEOUT_DEFAULT 30u
#define RA_SIGNER_CRL_TIMEOUT_DEFAULT 120u
void ra_signer_set_timeouts(ra_signer *s, unsigned call_s, unsigned crl_s);

/* One request/reply.  reply holds the reply body; decoded replies borrow from it.  On a
 * refusal the signer's status is returned and err (if not NULL) holds its detail.  A dead
 * connection is replaced and an idempotent request retried once. */
ik_status ra_signer_call(ra_signer *s, uint16_t type, const ik_buf *req, ik_buf *reply,
    proto_error *err);

ik_status ra_signer_issue(ra_signer *s, const proto_issue *m, ik_buf *reply,
    proto_issue_reply *r, proto_error *err);
/* type: PROTO_REVOKE, PROTO_HOLD or PROTO_RELEASE */
ik_status ra_signer_event(ra_signer *s, uint16_t type, const proto_revoke *m,
    proto_revoke_reply *r, proto_error *err);
/* A group of ISSUE requests pipelined over one connection: all written at once, the replies
 * (in any order) matched by id.  req[k] holds the encoded ISSUE body (proto_encode_issue);
 * on return st[k] is IK_OK with rep[k] decoded (borrowing from reply[k]) or the refusal with
 * err[k], or a transport status (IK_ERR_IO, ...) when no answer came even after one resend
 * on a fresh connection.  The caller owns every array (n entries, buffers initialised).
 * Returns IK_OK when every request has an answer, else the transport failure. */
#define RA_SIGNER_GROUP_MAX 128 /* well below the signer's per-connection queue */

typedef struct ra_signer_group {
	size_t n;
	ik_buf *req;
	ik_buf *reply;
	proto_issue_reply *rep;
	ik_status *st;
	proto_error *err;
} ra_signer_group;

ik_status ra_signer_issue_group(ra_signer *s, ra_signer_group *g);

/* GET_CRL with the CRL's bytes written to fd (a writable file, empty or not: written from
 * offset 0, over what it held, and cut to the CRL's length) a piece at a time instead of
 * into memory; r gets the number, times and length (r->crl is NULL).  On failure the
 * file's content is meaningless. */
ik_status ra_signer_crl_file(ra_signer *s, int fd, proto_crl_reply *r, proto_error *err);

/* More than one call under one deadline (the published CRL and chain, refreshed together:
 * publish.c): d starts now with signer_timeout's seconds (crl 0) or signer_crl_timeout's
 * (crl 1), and the _by calls are ra_signer_crl_file / ra_signer_chain under it. */
void ra_signer_deadline(ra_signer *s, int crl, ra_deadline *d);
ik_status ra_signer_crl_file_by(ra_signer *s, int fd, proto_crl_reply *r, proto_error *err,
    ra_deadline *dl);
ik_status ra_signer_chain_by(ra_signer *s, ik_buf *reply, proto_chain_reply *r,
    proto_error *err, ra_deadline *dl);
ik_status ra_signer_chain(ra_signer *s, ik_buf *reply, proto_chain_reply *r, proto_error *err);
ik_status ra_signer_status(ra_signer *s, proto_status_reply *r, proto_error *err);
/* The signer's certificate profiles (PROFILES).  A signer older than the verb answers
 * IK_ERR_PROTO_VERB. */
ik_status ra_signer_profiles(ra_signer *s, proto_profiles_reply *r, proto_error *err);

#endif
