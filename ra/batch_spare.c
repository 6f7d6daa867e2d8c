/* batch_spare: the spare envelope key pair — an RSA-3072 key made ahead on a background
 * thread at the lowest priority, so that starting a batch (the POST) only encrypts it under
 * the officer's passphrase instead of waiting 0.5-3 s for a key generation.  One spare,
 * made at start and again once taken and the RA is idle (no batch running: the batch
 * worker says so), so the 0.5-3 s of CPU do not compete with a batch: one still being made
 * when a batch starts is abandoned.  It lives only in this process's memory. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "batch.h"
#include "log.h"

#define SPARE_RETRY_MS 5000       /* a key generation failed: try again after this */

struct ra_batch_spare {
	pthread_t thread;
	int started;
	pthread_mutex_t lock;
	pthread_cond_t wake;      /* to the thread: the spare was taken, or stop */
	pthread_cond_t ready;     /* to ra_batch_spare_wait: a spare is ready */
	int stopping;
	int idle;                 /* no batch running: a new spare may be made */
	EVP_PKEY *key;            /* the spare; NULL while it is being made */
	unsigned long abandoned;  /* generations abandoned because a batch started */
	int making;               /* a generation runs */
};

static void deadline(struct timespec *ts, unsigned ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* asked all through a generation: a batch has started (or the RA stops) */
static int spare_unwanted(void *arg)
{
	ra_batch_spare *sp = arg;
	int unwanted;

	pthread_mutex_lock(&sp->lock);
	unwanted = sp->stopping || !sp->idle;
	pthread_mutex_unlock(&sp->lock);
	return unwanted;
}

static void *spare_main(void *arg)
{
	ra_batch_spare *sp = arg;

	/* nice 19 for this thread only (Linux: a thread's own priority): it yields the cores
	 * to the request threads and the batch worker, and uses them when they are idle */
	if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 19) != 0)
		ik_log(LOG_NOTICE, "batch spare key: cannot lower its priority (errno %d)", errno);
	pthread_mutex_lock(&sp->lock);
	while (!sp->stopping) {
		EVP_PKEY *k;

		if (sp->key != NULL || !sp->idle) {
			pthread_cond_wait(&sp->wake, &sp->lock);
			continue;
		}
		sp->making = 1;
		pthread_mutex_unlock(&sp->lock);
		k = ra_batch_envelope_keygen(spare_unwanted, sp);
		pthread_mutex_lock(&sp->lock);
		sp->making = 0;
		if (k == NULL && (sp->stopping || !sp->idle)) {
			sp->abandoned++; /* it waits for the next idle time */
			continue;
		}
		if (k == NULL) {
			struct timespec ts;

			ik_log(LOG_ERR, "batch spare key: the key generation failed; trying again");
			deadline(&ts, SPARE_RETRY_MS);
			if (!sp->stopping)
				pthread_cond_timedwait(&sp->wake, &sp->lock, &ts);
			continue;
		}
		sp->key = k;
		pthread_cond_broadcast(&sp->ready);
	}
	pthread_mutex_unlock(&sp->lock);
	return NULL;
}

ik_status ra_batch_spare_start(ra_batch_spare **out)
{
	ra_batch_spare *sp;

	*out = NULL;
	if ((sp = calloc(1, sizeof(*sp))) == NULL)
		return IK_ERR_NOMEM;
	pthread_mutex_init(&sp->lock, NULL);
	pthread_cond_init(&sp->wake, NULL);
	pthread_cond_init(&sp->ready, NULL);
	sp->idle = 1; /* the first one at start */
	if (pthread_create(&sp->thread, NULL, spare_main, sp) != 0) {
		ra_batch_spare_stop(sp);
		return IK_ERR_NOMEM;
	}
	(void)pthread_setname_np(sp->thread, "ra-spare");
	sp->started = 1;
	*out = sp;
	return IK_OK;
}

EVP_PKEY *ra_batch_spare_take(ra_batch_spare *sp)
{
	EVP_PKEY *k;

	if (sp == NULL)
		return NULL;
	pthread_mutex_lock(&sp->lock);
	k = sp->key;
	sp->key = NULL;
	sp->idle = 0; /* a batch is starting: the next one waits until it has finished */
	pthread_mutex_unlock(&sp->lock);
	return k;
}

void ra_batch_spare_idle(ra_batch_spare *sp, int idle)
{
	if (sp == NULL)
		return;
	pthread_mutex_lock(&sp->lock);
	if (sp->idle != (idle != 0)) {
		sp->idle = idle != 0;
		pthread_cond_signal(&sp->wake);
	}
	pthread_mutex_unlock(&sp->lock);
}

unsigned long ra_batch_spare_abandoned(ra_batch_spare *sp, int *making)
{
	unsigned long n;

	if (making != NULL)
		*making = 0;
	if (sp == NULL)
		return 0;
	pthread_mutex_lock(&sp->lock);
	n = sp->abandoned;
	if (making != NULL)
		*making = sp->making;
	pthread_mutex_unlock(&sp->lock);
	return n;
}

int ra_batch_spare_wait(ra_batch_spare *sp, unsigned ms)
{
	struct timespec ts;
	int ready, rc = 0;

	if (sp == NULL)
		return 0;
	deadline(&ts, ms);
	pthread_mutex_lock(&sp->lock);
	while (sp->key == NULL && !sp->stopping && rc == 0)
		rc = pthread_cond_timedwait(&sp->ready, &sp->lock, &ts);
	ready = sp->key != NULL;
	pthread_mutex_unlock(&sp->lock);
	return ready;
}

void ra_batch_spare_stop(ra_batch_spare *sp)
{
	if (sp == NULL)
		return;
	pthread_mutex_lock(&sp->lock);
	sp->stopping = 1;
	pthread_cond_broadcast(&sp->wake);
	pthread_cond_broadcast(&sp->ready);
	pthread_mutex_unlock(&sp->lock);
	if (sp->started)
		pthread_join(sp->thread, NULL);
	EVP_PKEY_free(sp->key); /* RSA's free clears its private numbers (BN_clear_free) */
	pthread_cond_destroy(&sp->ready);
	pthread_cond_destroy(&sp->wake);
	pthread_mutex_destroy(&sp->lock);
	free(sp);
}
