/* http_heavy: a small pool of threads of its own for the few requests that cost hundreds of
 * milliseconds and tens of MiB each (scrypt credential checks, key generation, PKCS#12 and
 * batch ZIPs).  http.c suspends their connection, hands them here and resumes it with the
 * reply, so the HTTP threads stay free for the cheap requests (an officer's list page is
 * not stuck behind fifty downloads) and memory is bounded by the pool's size. */
#ifndef RA_HTTP_HEAVY_H
#define RA_HTTP_HEAVY_H

#include <stddef.h>
#include "status.h"

typedef struct ra_req ra_req;
typedef struct ra_heavy ra_heavy;
typedef void (*ra_heavy_fn)(ra_req *r);

#define RA_HEAVY_MAX_THREADS 16

/* nthreads workers calling run for each request handed in; at most max_waiting wait.  Each
 * worker first lowers its own priority by nice (0-19: under load the scheduler then gives the
 * HTTP threads the CPU first, so the officers' pages are not slowed by fifty downloads'
 * key derivations; with idle CPU the workers run at full speed all the same). */
ik_status ra_heavy_start(unsigned nthreads, size_t max_waiting, int nice, ra_heavy_fn run,
    ra_heavy **out);
/* Queues r; 0 when the queue is full or the pool is stopping (r is not taken). */
int ra_heavy_submit(ra_heavy *p, ra_req *r);
/* Lets the running requests finish, calls cancel for each one still waiting, joins the
 * threads and frees the pool.  Accepts NULL. */
void ra_heavy_stop(ra_heavy *p, ra_heavy_fn cancel);

#endif
