/* serve: the signer daemon's core — the Unix socket, peer-credential checks, framing, the
 * per-connection state table, the worker pool and the dispatcher of the protocol verbs. */
#ifndef SG_SERVE_H
#define SG_SERVE_H

#include "config.h"
#include "status.h"

typedef struct sg_server sg_server;

/* Open the ledger, load the CA, open the HSM and find the key, bind the socket.
 * Messages for the operator go to the log. */
ik_status sg_server_new(const sg_config *cfg, sg_server **out);
/* Serve until sg_server_stop (async-signal-safe) is called. */
ik_status sg_server_run(sg_server *s);
void sg_server_stop(sg_server *s);
void sg_server_free(sg_server *s);

#endif
