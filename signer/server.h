/* server: the signer's shared state, private to serve.c (transport) and dispatch.c (verbs). */
#ifndef SG_SERVER_H
#define SG_SERVER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include "buf.h"
#include "cert.h"
#include "config.h"
#include "crl.h"
#include "hsm.h"
#include "ledger.h"
#include "proto.h"
#include "serve.h"

typedef struct sg_conn sg_conn;
typedef struct sg_job sg_job;

/* Per-worker scratch, reused across requests (no allocation on the hot path). */
typedef struct sg_worker {
	struct sg_server *s;
	unsigned index;
	pthread_t thread;
	ik_buf tbs, cert, reply;
	sg_crl *reply_crl;            /* GET_CRL: the CRL's bytes follow w->reply (a reference) */
	char request_id[PROTO_MAX_ID + 1]; /* being issued now ("" if none) */
} sg_worker;

struct sg_server {
	sg_config cfg;
	sg_ledger *ledger;
	sg_ca ca;
	hsm_ctx *hsm;
	hsm_key *key;
	int listen_fd;
	int wake[2];                  /* self-pipe: signals, finished jobs */
	atomic_int stopping;
	time_t started;

	/* job queue: main thread produces, workers consume */
	pthread_mutex_t qlock;
	pthread_cond_t qcond;
	sg_job *qhead, *qtail;
	size_t qlen;
	sg_worker workers[SG_MAX_WORKERS];
	unsigned nworkers;

	/* request ids being issued right now (idempotency across workers) */
	pthread_mutex_t idlock;
	pthread_cond_t idcond;

	sg_conn *conns;               /* main thread only */

	/* CRL publication: one build at a time (crl_build_lock, held while the ledger is read
	 * and the CRL signed); crl_lock guards the published CRL and is held only briefly. */
	atomic_uint_fast64_t rev_gen; /* bumped on every revocation event */
	pthread_mutex_t crl_build_lock;
	pthread_mutex_t crl_lock;
	pthread_cond_t crl_cond;
	pthread_t crl_thread;
	int crl_thread_started;
	sg_crl *crl;                  /* the current CRL (NULL until the first is built) */
	uint64_t crl_number;          /* its number, or the ledger's last at start-up */
	uint64_t crl_gen;             /* rev_gen it was built for */
	sg_crl_state crl_state;       /* its entries, kept for the next build (build lock) */
};

/* dispatch.c */
/* Handle one request body of a verb other than HELLO; on success the reply body is in
 * w->reply, on refusal err holds the detail and the status is returned. */
ik_status sg_dispatch(sg_worker *w, uint16_t type, const uint8_t *body, size_t len,
    proto_error *err);
/* Build, sign and record a fresh CRL if the current one is stale (revocations since, or
 * older than crl_refresh).  Takes crl_build_lock. */
ik_status sg_crl_refresh(struct sg_server *s);
void *sg_crl_thread(void *arg);

#endif
