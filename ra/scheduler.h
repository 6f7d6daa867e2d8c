/* scheduler: the RA's timed work, inside inkan-rad (no cron): marking certificates past
 * notAfter expired, expiry reminders (once per threshold), purging download credentials
 * after their lifetime, refreshing the published CRL before its nextUpdate, and rotating
 * the mail-signing key and certificate at two thirds of its life (mail.h).  The clock
 * is injectable, so tests drive the tasks through time with ra_sched_tick. */
#ifndef RA_SCHEDULER_H
#define RA_SCHEDULER_H

#include <stddef.h>
#include <stdint.h>
#include "http.h"
#include "status.h"

#define RA_SCHED_EXPIRE_EVERY 60       /* seconds between the tasks' runs */
#define RA_SCHED_REMIND_EVERY 300
#define RA_SCHED_PURGE_EVERY 3600
#define RA_SCHED_CRL_EVERY 300
#define RA_SCHED_MAILCERT_EVERY 3600   /* mail-signing certificate: rotate when due */
#define RA_SCHED_THRESHOLDS_MAX 8
#define RA_SCHED_DEFAULT_THRESHOLDS "30,7,1"   /* setting expiry_notice_days */
#define RA_SCHED_DEFAULT_PURGE_DAYS 30         /* setting download_purge_days */

typedef int64_t (*ra_clock_fn)(void *ctx);

typedef struct ra_sched_report {
	size_t expired;           /* certificates marked expired */
	size_t reminders;         /* certificates a reminder was queued for (new or repeated) */
	size_t purged;            /* download credentials deleted */
	int crl_refreshed;
	int mail_cert_rotated;    /* the mail-signing key and certificate were replaced */
} ra_sched_report;

/* A scheduler on clock (NULL: the real time), without a thread. */
ik_status ra_sched_new(ra_app *app, ra_clock_fn clock, void *ctx, ra_sched **out);
/* The same with its thread, which ticks about once a second. */
ik_status ra_sched_start(ra_app *app, ra_sched **out);
void ra_sched_stop(ra_sched *s);   /* joins the thread; accepts NULL */
/* Runs every task due at the clock's now.  rep (may be NULL) gets what was done. */
ik_status ra_sched_tick(ra_sched *s, ra_sched_report *rep);

/* The reminder thresholds in days from the setting expiry_notice_days ("30,7,1": whole
 * days 1..365, at most RA_SCHED_THRESHOLDS_MAX), ascending, duplicates dropped.  Returns
 * how many, 0 for a malformed value (why filled). */
size_t ra_sched_thresholds(const char *value, unsigned out[RA_SCHED_THRESHOLDS_MAX],
    char *why, size_t whysz);

#endif
