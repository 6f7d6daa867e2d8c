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

#define SG_ID_BUCKETS 256

typedef struct sg_conn sg_conn;
typedef struct sg_ocsp sg_ocsp;

/* Request ids the signer uses for its own certificates; ISSUE refuses them. */
#define SG_OWN_ID_PREFIX "signer:"
#define SG_OCSP_ID_PREFIX SG_OWN_ID_PREFIX "ocsp:"

typedef struct sg_job sg_job;
typedef struct sg_issue sg_issue;

/* One request from a connection.  An issuance keeps its state in 'issue' (dispatch.c) from
 * one stage to the next; while it waits for the ledger (or for another request with the same
 * id) the job is parked, off the queue, and comes back through sg_job_resume. */
struct sg_job {
	sg_conn *c;
	proto_header h;
	uint8_t *body;
	size_t len;
	sg_issue *issue;
	sg_job *next;
};

/* Per-worker scratch, reused across requests. */
typedef struct sg_worker {
	struct sg_server *s;
	unsigned index;
	pthread_t thread;
	ik_buf reply;
	sg_crl *reply_crl;            /* GET_CRL: the CRL's bytes follow w->reply (a reference) */
	ik_buf cert;                  /* OCSP: the response being built or taken from the cache */
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

	/* job queue: the main thread and resumed jobs produce, workers consume */
	pthread_mutex_t qlock;
	pthread_cond_t qcond;
	sg_job *qhead, *qtail;
	size_t qlen;
	size_t parked;                /* jobs off the queue, waiting (qlock) */
	sg_job *rhead, *rtail;        /* resumed by the ledger's committer, not yet queued: */
	size_t rlen;                  /* the committer thread's alone (sg_job_resume_later) */
	sg_worker workers[SG_MAX_WORKERS];
	unsigned nworkers;

	/* issuances in flight, by request id (idempotency), and the jobs waiting for one of
	 * their ids to finish */
	pthread_mutex_t idlock;
	sg_issue *id_inflight[SG_ID_BUCKETS];
	sg_job *id_waiting;

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

	sg_ocsp *ocsp;                /* the OCSP responder (ocsp.c) */
};

/* serve.c */
/* Park a job (before handing it to the ledger or a wait list), and put it back on the
 * queue when its wait is over (from any thread). */
void sg_job_park(struct sg_server *s);
void sg_job_unpark(struct sg_server *s); /* the wait did not start after all */
void sg_job_resume(struct sg_server *s, sg_job *j);
/* The same from a ledger callback (the committer thread only): the jobs of one commit are
 * queued together once its callbacks have run, with one lock and one wake-up. */
void sg_job_resume_later(struct sg_server *s, sg_job *j);

/* dispatch.c */
/* Handle (the next stage of) one request of a verb other than HELLO.  *parked = 1: the job
 * waits and will be dispatched again; else on success the reply body is in w->reply, on
 * refusal err holds the detail and the status is returned. */
ik_status sg_dispatch(sg_worker *w, sg_job *j, proto_error *err, int *parked);

/* issue.c: the next stage of an ISSUE (same contract as sg_dispatch). */
ik_status sg_issue_step(sg_worker *w, sg_job *j, proto_error *err, int *parked);
/* Build, sign and record a fresh CRL if the current one is stale (revocations since, or
 * older than crl_refresh).  Takes crl_build_lock. */
ik_status sg_crl_refresh(struct sg_server *s);
void *sg_crl_thread(void *arg);
/* A fresh random serial, never used before (intent or certificate), into leaf. */
ik_status sg_draw_serial(struct sg_server *s, sg_leaf *leaf);

/* ocsp.c: the OCSP responder.  sg_ocsp_new finds the responder key (a missing key is
 * logged and leaves OCSP off; the signer still runs); sg_ocsp_dispatch handles PROTO_OCSP
 * (the responder certificate is issued at the first request and renewed there). */
ik_status sg_ocsp_new(struct sg_server *s, sg_ocsp **out);
void sg_ocsp_free(sg_ocsp *o);
ik_status sg_ocsp_dispatch(sg_worker *w, const uint8_t *body, size_t len, proto_error *err);

#endif
