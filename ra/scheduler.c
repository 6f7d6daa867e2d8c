/* scheduler: one thread running the RA's timed tasks, each at its own period, against an
 * injectable clock.  A task that fails is logged and tried again at its next period; none
 * of them loses anything (each is a sweep over the store that a later run repeats). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "mail.h"
#include "notify.h"
#include "publish.h"
#include "scheduler.h"
#include "store.h"

#define DAY 86400
#define PAGE 100

struct ra_sched {
	ra_app *app;
	ra_clock_fn clock;
	void *ctx;
	int64_t last_expire, last_remind, last_purge, last_crl, last_mailcert; /* 0: never */
	pthread_t thread;
	int started, stopping;
	pthread_mutex_t lock;
	pthread_cond_t wake;
};

static int64_t real_clock(void *ctx)
{
	(void)ctx;
	return (int64_t)time(NULL);
}

static int due(int64_t *last, int64_t now, int64_t every)
{
	if (*last != 0 && now - *last < every && now >= *last)
		return 0;
	*last = now;
	return 1;
}

size_t ra_sched_thresholds(const char *value, unsigned out[RA_SCHED_THRESHOLDS_MAX],
    char *why, size_t whysz)
{
	size_t n = 0;
	const char *p = value;

	while (*p != '\0') {
		unsigned v = 0;
		size_t k = 0, at;
		while (*p == ' ' || *p == ',')
			p++;
		if (*p == '\0')
			break;
		while (p[k] >= '0' && p[k] <= '9' && k < 4)
			v = v * 10 + (unsigned)(p[k++] - '0');
		if (k == 0 || v < 1 || v > 365 || (p[k] != '\0' && p[k] != ',' && p[k] != ' ')) {
			snprintf(why, whysz, "expiry_notice_days: whole days 1..365 separated by "
			    "commas (e.g. 30,7,1)");
			return 0;
		}
		p += k;
		for (at = 0; at < n && out[at] < v; at++)
			;
		if (at < n && out[at] == v)
			continue;
		if (n == RA_SCHED_THRESHOLDS_MAX) {
			snprintf(why, whysz, "expiry_notice_days: at most %d thresholds",
			    RA_SCHED_THRESHOLDS_MAX);
			return 0;
		}
		memmove(out + at + 1, out + at, (n - at) * sizeof(out[0]));
		out[at] = v;
		n++;
	}
	if (n == 0)
		snprintf(why, whysz, "expiry_notice_days: at least one threshold");
	return n;
}

/* Reminders: each active certificate within the largest threshold gets the notice of the
 * smallest threshold its days left still fit in, under a dedup key with that threshold —
 * so each threshold is told once, and a certificate first seen late gets one notice, not
 * one per threshold passed. */
static ik_status remind(ra_sched *s, int64_t now, size_t *count)
{
	char v[RA_SETTING_MAX] = RA_SCHED_DEFAULT_THRESHOLDS, why[160];
	unsigned th[RA_SCHED_THRESHOLDS_MAX];
	size_t nth, n = 0;
	ra_cert *rows;
	int64_t after = 0;
	ik_status st;

	*count = 0;
	if (!ra_mail_enabled(s->app))
		return IK_OK;
	st = ra_store_setting_get(s->app->store, "expiry_notice_days", v, sizeof(v));
	if (st == IK_ERR_NOT_FOUND)
		snprintf(v, sizeof(v), "%s", RA_SCHED_DEFAULT_THRESHOLDS);
	else if (st != IK_OK)
		return st;
	if ((nth = ra_sched_thresholds(v, th, why, sizeof(why))) == 0) {
		ik_log(LOG_ERR, "scheduler: %s", why);
		return IK_ERR_CONFIG;
	}
	if ((rows = calloc(PAGE, sizeof(*rows))) == NULL)
		return IK_ERR_NOMEM;
	do {
		st = ra_store_cert_expiring(s->app->store, now, now + (int64_t)th[nth - 1] * DAY,
		    after, rows, PAGE, &n);
		if (st != IK_OK || n == 0)
			break;
		if ((st = ra_store_begin(s->app->store)) != IK_OK)
			break;
		for (size_t i = 0; st == IK_OK && i < n; i++) {
			int64_t left = (rows[i].not_after - now + DAY - 1) / DAY;
			size_t k = 0;
			while (k < nth && (int64_t)th[k] < left)
				k++;
			st = ra_notify_expiring(s->app, &rows[i], th[k], now);
			(*count)++;
			after = rows[i].id;
		}
		st = st == IK_OK ? ra_store_commit(s->app->store) :
		    (ra_store_rollback(s->app->store), st);
	} while (st == IK_OK && n == PAGE);
	free(rows);
	if (st == IK_OK && *count > 0)
		ra_mailer_kick(s->app->mailer);
	return st;
}

static ik_status purge(ra_sched *s, int64_t now, size_t *n)
{
	int64_t days = RA_SCHED_DEFAULT_PURGE_DAYS;
	ik_status st = ra_store_setting_get_int(s->app->store, "download_purge_days",
	    RA_SCHED_DEFAULT_PURGE_DAYS, &days);

	*n = 0;
	if (st != IK_OK)
		return st;
	if (days < 0)
		days = 0;
	return ra_store_download_purge(s->app->store, now - days * DAY, n);
}

/* The cached CRL is checked at every tick by ra_publish_check (which asks the signer
 * only every crl_recheck seconds), and fetched every 10 s once its nextUpdate is near
 * (2 × RA_SCHED_CRL_EVERY; the signer reissues it long before then). */
static int crl_due(ra_sched *s, int64_t now)
{
	ra_publish_crl_meta m;
	int near = 1;

	if (s->app->publish == NULL)
		return 0;
	/* (no copy of the CRL: one of more than 16 MiB used to count as "near" every time) */
	if (ra_publish_crl_info(s->app->publish, &m) == IK_OK)
		near = (int64_t)m.next_update - now < 2 * RA_SCHED_CRL_EVERY;
	return near;
}

ik_status ra_sched_tick(ra_sched *s, ra_sched_report *rep)
{
	ra_sched_report r;
	int64_t now = s->clock(s->ctx);
	ik_status st, first = IK_OK;

	memset(&r, 0, sizeof(r));
	if (due(&s->last_expire, now, RA_SCHED_EXPIRE_EVERY)) {
		if ((st = ra_store_cert_expire(s->app->store, now, &r.expired)) != IK_OK) {
			ik_log(LOG_ERR, "scheduler: cannot mark expired certificates: %s",
			    ik_status_str(st));
			first = first == IK_OK ? st : first;
		} else if (r.expired > 0) {
			ik_log(LOG_INFO, "%zu certificate(s) expired", r.expired);
		}
	}
	if (due(&s->last_remind, now, RA_SCHED_REMIND_EVERY) &&
	    (st = remind(s, now, &r.reminders)) != IK_OK) {
		ik_log(LOG_ERR, "scheduler: expiry reminders: %s", ik_status_str(st));
		first = first == IK_OK ? st : first;
	}
	if (due(&s->last_purge, now, RA_SCHED_PURGE_EVERY)) {
		if ((st = purge(s, now, &r.purged)) != IK_OK) {
			ik_log(LOG_ERR, "scheduler: cannot purge download credentials: %s",
			    ik_status_str(st));
			first = first == IK_OK ? st : first;
		} else if (r.purged > 0) {
			ik_log(LOG_INFO, "%zu spent or expired download credential(s) purged", r.purged);
		}
	}
	if (crl_due(s, now) && now - s->last_crl >= 10) { /* near its nextUpdate: ask for it */
		s->last_crl = now;
		r.crl_refreshed = ra_publish_refresh(s->app->publish) == IK_OK;
	} else if (s->app->publish != NULL) { /* a newer one, every [ra] crl_recheck seconds */
		(void)ra_publish_check(s->app->publish);
	}
	if (s->app->mailer != NULL && due(&s->last_mailcert, now, RA_SCHED_MAILCERT_EVERY) &&
	    (st = ra_mailer_rotate(s->app->mailer, now, &r.mail_cert_rotated)) != IK_OK)
		first = first == IK_OK ? st : first; /* logged by mail.c; the old one signs */
	(void)ra_store_thread_reset(s->app->store);
	if (rep != NULL)
		*rep = r;
	return first;
}

ik_status ra_sched_new(ra_app *app, ra_clock_fn clock, void *ctx, ra_sched **out)
{
	ra_sched *s = calloc(1, sizeof(*s));

	*out = NULL;
	if (s == NULL)
		return IK_ERR_NOMEM;
	s->app = app;
	s->clock = clock != NULL ? clock : real_clock;
	s->ctx = ctx;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->wake, NULL);
	*out = s;
	return IK_OK;
}

static void *run(void *arg)
{
	ra_sched *s = arg;

	pthread_mutex_lock(&s->lock);
	while (!s->stopping) {
		struct timespec ts;

		pthread_mutex_unlock(&s->lock);
		(void)ra_sched_tick(s, NULL);
		pthread_mutex_lock(&s->lock);
		if (s->stopping)
			break;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&s->wake, &s->lock, &ts);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

ik_status ra_sched_start(ra_app *app, ra_sched **out)
{
	ra_sched *s;
	ik_status st = ra_sched_new(app, NULL, NULL, &s);

	*out = NULL;
	if (st != IK_OK)
		return st;
	if (pthread_create(&s->thread, NULL, run, s) != 0) {
		ra_sched_stop(s);
		return IK_ERR_NOMEM;
	}
	(void)pthread_setname_np(s->thread, "ra-sched");
	s->started = 1;
	*out = s;
	return IK_OK;
}

void ra_sched_stop(ra_sched *s)
{
	if (s == NULL)
		return;
	pthread_mutex_lock(&s->lock);
	s->stopping = 1;
	pthread_cond_broadcast(&s->wake);
	pthread_mutex_unlock(&s->lock);
	if (s->started)
		pthread_join(s->thread, NULL);
	pthread_cond_destroy(&s->wake);
	pthread_mutex_destroy(&s->lock);
	free(s);
}
