/* http_heavy: the pool that runs the expensive requests (see http_heavy.h): a FIFO of
 * waiting requests under one lock, a fixed set of threads, a bounded wait list. */
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/resource.h>

#include "http_heavy.h"
#include "log.h"

typedef struct job {
	ra_req *r;
	struct job *next;
} job;

struct ra_heavy {
	pthread_t threads[RA_HEAVY_MAX_THREADS];
	unsigned nthreads;
	pthread_mutex_t lock;
	pthread_cond_t work;
	job *head, *tail;
	size_t waiting, max_waiting;
	int stopping;
	int nice;
	ra_heavy_fn run;
};

static job *take(ra_heavy *p)
{
	job *j = p->head;

	if (j != NULL) {
		p->head = j->next;
		if (p->head == NULL)
			p->tail = NULL;
		p->waiting--;
	}
	return j;
}

static void *worker(void *arg)
{
	ra_heavy *p = arg;

	/* on Linux a thread's nice value is its own (the thread id as the process) */
	if (p->nice > 0 && setpriority(PRIO_PROCESS, (id_t)gettid(), p->nice) != 0)
		ik_log(LOG_NOTICE, "http: a heavy-request thread keeps its priority (setpriority "
		    "failed)");
	for (;;) {
		job *j;
		pthread_mutex_lock(&p->lock);
		while (!p->stopping && p->head == NULL)
			pthread_cond_wait(&p->work, &p->lock);
		j = p->stopping ? NULL : take(p);
		pthread_mutex_unlock(&p->lock);
		if (j == NULL)
			return NULL;
		p->run(j->r);
		free(j);
	}
}

ik_status ra_heavy_start(unsigned nthreads, size_t max_waiting, int nice, ra_heavy_fn run,
    ra_heavy **out)
{
	ra_heavy *p;

	*out = NULL;
	if (nthreads == 0 || nthreads > RA_HEAVY_MAX_THREADS || max_waiting == 0 || run == NULL ||
	    nice < 0 || nice > 19)
		return IK_ERR_ARG;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return IK_ERR_NOMEM;
	p->max_waiting = max_waiting;
	p->nice = nice;
	p->run = run;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->work, NULL);
	for (unsigned i = 0; i < nthreads; i++) {
		if (pthread_create(&p->threads[i], NULL, worker, p) != 0) {
			ra_heavy_stop(p, NULL);
			return IK_ERR_NOMEM;
		}
		(void)pthread_setname_np(p->threads[i], "ra-heavy");
		p->nthreads++;
	}
	*out = p;
	return IK_OK;
}

int ra_heavy_submit(ra_heavy *p, ra_req *r)
{
	job *j = malloc(sizeof(*j));
	int ok = 0;

	if (j == NULL)
		return 0;
	j->r = r;
	j->next = NULL;
	pthread_mutex_lock(&p->lock);
	if (!p->stopping && p->waiting < p->max_waiting) {
		if (p->tail != NULL)
			p->tail->next = j;
		else
			p->head = j;
		p->tail = j;
		p->waiting++;
		ok = 1;
		pthread_cond_signal(&p->work);
	}
	pthread_mutex_unlock(&p->lock);
	if (!ok)
		free(j);
	return ok;
}

void ra_heavy_stop(ra_heavy *p, ra_heavy_fn cancel)
{
	job *j;

	if (p == NULL)
		return;
	pthread_mutex_lock(&p->lock);
	p->stopping = 1;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->lock);
	for (unsigned i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	while ((j = take(p)) != NULL) {
		if (cancel != NULL)
			cancel(j->r);
		free(j);
	}
	pthread_cond_destroy(&p->work);
	pthread_mutex_destroy(&p->lock);
	free(p);
}
