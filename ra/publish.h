/* publish: the public, unauthenticated artifacts at stable URLs — the CA certificates (PEM
 * and DER) and the full CRL — fetched from the signer and cached in memory, so that they stay
 * served (until the CRL's nextUpdate) while the signer is away. */
#ifndef RA_PUBLISH_H
#define RA_PUBLISH_H

#include <stddef.h>
#include <stdint.h>
#include "buf.h"
#include "http.h"
#include "status.h"

typedef struct ra_publish ra_publish;

/* The CRL is kept in unlinked files in the directory of the path near (the database's). */
ik_status ra_publish_new(ra_signer *signer, const char *near, ra_publish **out);
void ra_publish_free(ra_publish *p);   /* accepts NULL */

/* Refresh the cache from the signer now: the CRL and the chain, both within one
 * signer_crl_timeout.  What it gets holds every event the signer recorded before the
 * call.  One fetch at a time: calls made
 * while one is under way wait and are served by the next one, together.  IK_ERR_IO while
 * the signer is down. */
ik_status ra_publish_refresh(ra_publish *p);

/* The same without waiting (the queue, after each revocation event): the publisher thread
 * (started on first use, joined by ra_publish_free) fetches one CRL begun after the call;
 * calls made while it fetches are served together by its next fetch. */
void ra_publish_kick(ra_publish *p);

/* The periodic check (the scheduler calls it every second): at most every recheck seconds
 * (ra_publish_set_recheck; 30 by default), ask the signer which CRL it holds (STATUS, a few
 * bytes) and fetch it only if it is not the one held here; nothing while a fetch is under
 * way.  Catches a CRL the signer reissued on its own or after an event that did not come
 * through this RA.  (Fetching the whole CRL every time cost ~50 MB written per check at a
 * million entries.) */
ik_status ra_publish_check(ra_publish *p);
void ra_publish_set_recheck(ra_publish *p, unsigned seconds);
/* How many whole CRLs were fetched from the signer, and how many checks were made. */
void ra_publish_counts(ra_publish *p, uint64_t *fetches, uint64_t *checks);
/* How many spare CRL files were made ahead, and how many fetches wrote into a spare. */
void ra_publish_spare_counts(ra_publish *p, uint64_t *made, uint64_t *used);

/* The cached CRL: what it is, or that and a descriptor of its file to read or send.  The
 * caller closes the descriptor, and calls ra_publish_crl_release(*hold) once it reads no
 * more (an HTTP reply: when the request is over); until then the bytes do not change.
 * A file nothing holds is written over by a later CRL.
 * IK_ERR_NOT_FOUND until the first successful refresh. */
typedef struct ra_publish_crl_meta {
	uint64_t number, this_update, next_update;
	size_t len;
	char etag[64];          /* quoted, for the ETag header */
} ra_publish_crl_meta;
ik_status ra_publish_crl_info(ra_publish *p, ra_publish_crl_meta *m);
ik_status ra_publish_crl_open(ra_publish *p, int *fd, ra_publish_crl_meta *m, void **hold);
void ra_publish_crl_release(void *hold); /* accepts NULL */
/* Copies of the cached CA certificates. */
/* index 0 = issuing CA, last = root */
ik_status ra_publish_ca(ra_publish *p, unsigned index, ik_buf *der, unsigned *count);

/* GET /ca/issuing-ca.{pem,der}, /ca/root-ca.{pem,der}, /ca/chain.pem, /crl/issuing-ca.crl */
extern const ra_route ra_publish_routes[];
extern const size_t ra_publish_nroutes;

#endif
