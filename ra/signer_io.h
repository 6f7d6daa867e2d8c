/* signer_io: protocol frames to and from the signer under one deadline for a whole call
 * (CLOCK_MONOTONIC).  Every wait is a poll() for the time left, so a signer that trickles a
 * byte at a time, or takes our bytes slowly, cannot hold the caller past the deadline. */
#ifndef RA_SIGNER_IO_H
#define RA_SIGNER_IO_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "buf.h"
#include "proto.h"
#include "status.h"

typedef struct ra_deadline {
	struct timespec at;       /* CLOCK_MONOTONIC */
	unsigned secs;            /* the allowance, for the message */
	const char *setting;      /* the setting it comes from ("signer_timeout"), for the message */
	int expired;              /* set when an I/O below gave up for lack of time */
} ra_deadline;

/* The deadline secs seconds from now. */
void ra_deadline_start(ra_deadline *d, unsigned secs, const char *setting);

/* As proto_connect (proto.h), but within the deadline: a signer that no longer accepts
 * (its listen queue full) costs IK_ERR_IO with d->expired set, not a connect() that
 * blocks for ever. */
ik_status ra_sio_connect(const char *path, int *fd, ra_deadline *d);

/* As proto_write / proto_send / proto_recv / proto_call (proto.h), but each fails with
 * IK_ERR_IO and d->expired set once the deadline has passed.  A stream that ran out of
 * time is out of step: the caller closes it. */
ik_status ra_sio_write(int fd, const uint8_t *p, size_t n, ra_deadline *d);
/* n bytes: IK_ERR_PROTO_CLOSED on EOF before the first, IK_ERR_PROTO_TRUNCATED after. */
ik_status ra_sio_read(int fd, uint8_t *p, size_t n, ra_deadline *d);
ik_status ra_sio_send(int fd, uint16_t type, uint32_t id, const uint8_t *body, size_t len,
    ra_deadline *d);
ik_status ra_sio_recv(int fd, size_t max_body, proto_header *h, ik_buf *body,
    ra_deadline *d);
ik_status ra_sio_call(int fd, uint16_t type, const ik_buf *req, ik_buf *reply,
    proto_error *err, ra_deadline *d);

#endif
