/* renewal: the renewal window (the root ip pattern) — an administrator-set window, yearly
 * ("MM-DD") or for given dates ("YYYY-MM-DD"), in the appliance's UTC offset, and/or a
 * per-certificate window of N days before expiry.  While it is open, a user whose
 * certificate expires before the window's end may renew it through the download pages
 * (download_renew.c); old and new overlap until the old one is superseded (confirmed
 * switch) or expires.
 *
 * Settings: renewal_window_start, renewal_window_end (both or neither; the end day is
 * included), renewal_window_utc_offset ("+09:00" unless set), renewal_window_days. */
#ifndef RA_RENEWAL_H
#define RA_RENEWAL_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "status.h"
#include "store.h"

typedef struct ra_renewal_window {
	int set;                  /* start and end are set */
	int yearly;               /* MM-DD dates: the window comes back every year */
	int64_t start, end;       /* the current or next window [start, end); 0 when none */
	int open;                 /* start <= now < end */
	unsigned days;            /* renewal_window_days (0 = off) */
	int offset_min;           /* the UTC offset the dates are in */
} ra_renewal_window;

/* start/end: "MM-DD" or "YYYY-MM-DD" (NULL or "" = unset); offset_min: minutes east of UTC.
 * IK_ERR_ARG for a malformed date, one without the other, mixed forms, or fixed dates with
 * end before start. */
ik_status ra_renewal_window_eval(const char *start, const char *end, int offset_min,
    unsigned days, int64_t now, ra_renewal_window *out);
/* The same from the settings. */
ik_status ra_renewal_window_get(ra_store *s, int64_t now, ra_renewal_window *out);
/* Setting values: 1 when good, else 0 with why filled. */
int ra_renewal_setting_ok(const char *key, const char *value, char *why, size_t whysz);
/* "+09:00" -> 540. */
ik_status ra_utc_offset_parse(const char *s, int *minutes);

/* A user may renew c now: it is active, its device's current certificate, not expired, and
 * it expires before the open window's end or within the per-certificate days. */
int ra_renewal_eligible(const ra_renewal_window *w, const ra_cert *c, int64_t now);

/* "2027-02-01" (local dates in the window's offset) of t. */
void ra_renewal_date(int64_t t, int offset_min, char out[16]);

/* download_renew.c: the window as JSON {open, set, yearly, start, end (last day), opens_at,
 * closes_at, days_before_expiry, utc_offset}. */
json_t *ra_renewal_window_json(const ra_renewal_window *w);
/* download_renew.c: the officers' and the users' switch — the old certificate that fresh
 * (an active renewal) replaced is revoked as superseded through the queue.  *old_id gets
 * it.  IK_ERR_NOT_FOUND when fresh is not a renewal; IK_ERR_STATE when the old one is no
 * longer revocable (or its revocation is already queued). */
typedef struct ra_app ra_app;
ik_status ra_renewal_switch(ra_app *app, const ra_cert *fresh, const char *actor,
    const char *ip, int64_t *old_id, ra_request *out);

#endif
