/* renewal: the renewal window — parsing the administrators' settings and deciding, for a
 * given time, whether it is open and which certificates it lets users renew. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "renewal.h"

#define DAY 86400
#define DEFAULT_OFFSET_MIN 540    /* +09:00 */

typedef struct rdate {
	int year;                 /* 0: yearly (MM-DD) */
	int month, day;
} rdate;

static int digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

static int num(const char *s, size_t n)
{
	int v = 0;

	for (size_t i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	return v;
}

static int mdays(int year, int month)
{
	static const int d[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int leap = year == 0 || (year % 4 == 0 && (year % 100 != 0 || year % 400 == 0));

	return month == 2 && !leap ? 28 : d[month - 1];
}

static int parse_date(const char *s, rdate *d)
{
	size_t n = strlen(s);

	memset(d, 0, sizeof(*d));
	if (n == 5 && digits(s, 2) && s[2] == '-' && digits(s + 3, 2)) {
		d->month = num(s, 2);
		d->day = num(s + 3, 2);
	} else if (n == 10 && digits(s, 4) && s[4] == '-' && digits(s + 5, 2) && s[7] == '-' &&
	    digits(s + 8, 2)) {
		d->year = num(s, 4);
		d->month = num(s + 5, 2);
		d->day = num(s + 8, 2);
		if (d->year < 2000 || d->year > 9999)
			return 0;
	} else {
		return 0;
	}
	return d->month >= 1 && d->month <= 12 && d->day >= 1 &&
	    d->day <= mdays(d->year, d->month);
}

/* Local midnight of year/month/day at offset, as unix time (29 Feb of a common year is
 * 1 March). */
static int64_t midnight(int year, int month, int day, int offset_min)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = year - 1900;
	tm.tm_mon = month - 1;
	tm.tm_mday = day;
	return (int64_t)timegm(&tm) - (int64_t)offset_min * 60;
}

ik_status ra_utc_offset_parse(const char *s, int *minutes)
{
	int h, m;

	if (strlen(s) != 6 || (s[0] != '+' && s[0] != '-') || !digits(s + 1, 2) || s[3] != ':' ||
	    !digits(s + 4, 2))
		return IK_ERR_ARG;
	h = num(s + 1, 2);
	m = num(s + 4, 2);
	if (h > 14 || m > 59)
		return IK_ERR_ARG;
	*minutes = (s[0] == '-' ? -1 : 1) * (h * 60 + m);
	return IK_OK;
}

ik_status ra_renewal_window_eval(const char *start, const char *end, int offset_min,
    unsigned days, int64_t now, ra_renewal_window *out)
{
	rdate a, b;
	int has_a = start != NULL && start[0] != '\0', has_b = end != NULL && end[0] != '\0';

	memset(out, 0, sizeof(*out));
	out->days = days;
	out->offset_min = offset_min;
	if (!has_a && !has_b)
		return IK_OK;
	if (has_a != has_b || !parse_date(start, &a) || !parse_date(end, &b) ||
	    (a.year == 0) != (b.year == 0))
		return IK_ERR_ARG;
	out->set = 1;
	if (a.year != 0) {
		out->start = midnight(a.year, a.month, a.day, offset_min);
		out->end = midnight(b.year, b.month, b.day, offset_min) + DAY;
		if (out->end <= out->start)
			return IK_ERR_ARG;
	} else {
		/* the year of now in local time; the window that has not ended yet */
		time_t t = (time_t)(now + (int64_t)offset_min * 60);
		struct tm tm;
		int wraps = b.month < a.month || (b.month == a.month && b.day < a.day);

		if (gmtime_r(&t, &tm) == NULL)
			return IK_ERR_ARG;
		out->yearly = 1;
		for (int y = tm.tm_year + 1900 - 1; y <= tm.tm_year + 1900 + 1; y++) {
			int64_t s = midnight(y, a.month, a.day, offset_min);
			int64_t e = midnight(y + wraps, b.month, b.day, offset_min) + DAY;
			if (e > now) {
				out->start = s;
				out->end = e;
				break;
			}
		}
	}
	out->open = out->start <= now && now < out->end;
	return IK_OK;
}

ik_status ra_renewal_window_get(ra_store *s, int64_t now, ra_renewal_window *out)
{
	char start[32] = "", end[32] = "", off[16] = "";
	int offset = DEFAULT_OFFSET_MIN;
	int64_t days = 0;
	ik_status st;

	memset(out, 0, sizeof(*out));
	if (((st = ra_store_setting_get(s, "renewal_window_start", start, sizeof(start))) != IK_OK &&
	    st != IK_ERR_NOT_FOUND) ||
	    ((st = ra_store_setting_get(s, "renewal_window_end", end, sizeof(end))) != IK_OK &&
	    st != IK_ERR_NOT_FOUND) ||
	    ((st = ra_store_setting_get(s, "renewal_window_utc_offset", off, sizeof(off))) != IK_OK &&
	    st != IK_ERR_NOT_FOUND) ||
	    (st = ra_store_setting_get_int(s, "renewal_window_days", 0, &days)) != IK_OK)
		return st;
	if (off[0] != '\0' && ra_utc_offset_parse(off, &offset) != IK_OK)
		return IK_ERR_ARG;
	if (days < 0 || days > 3650)
		return IK_ERR_ARG;
	return ra_renewal_window_eval(start, end, offset, (unsigned)days, now, out);
}

int ra_renewal_setting_ok(const char *key, const char *value, char *why, size_t whysz)
{
	rdate d;
	int m;

	if (strcmp(key, "renewal_window_start") == 0 || strcmp(key, "renewal_window_end") == 0) {
		if (value[0] != '\0' && !parse_date(value, &d)) {
			snprintf(why, whysz, "%s: a date MM-DD (every year) or YYYY-MM-DD, or empty", key);
			return 0;
		}
		return 1;
	}
	if (strcmp(key, "renewal_window_utc_offset") == 0) {
		if (ra_utc_offset_parse(value, &m) != IK_OK) {
			snprintf(why, whysz, "%s: +HH:MM or -HH:MM (e.g. +09:00)", key);
			return 0;
		}
		return 1;
	}
	if (strcmp(key, "renewal_window_days") == 0) {
		char *e;
		long v = strtol(value, &e, 10);
		if (value[0] == '\0' || *e != '\0' || v < 0 || v > 3650) {
			snprintf(why, whysz, "%s: whole days from 0 (off) to 3650", key);
			return 0;
		}
		return 1;
	}
	snprintf(why, whysz, "%s: not a renewal window setting", key);
	return 0;
}

int ra_renewal_eligible(const ra_renewal_window *w, const ra_cert *c, int64_t now)
{
	if (c->state != RA_CERT_ACTIVE || !c->current || c->device_id == 0 || c->not_after <= now)
		return 0;
	if (w->open && c->not_after < w->end)
		return 1;
	return w->days > 0 && c->not_after - now <= (int64_t)w->days * DAY;
}

void ra_renewal_date(int64_t t, int offset_min, char out[16])
{
	time_t x = (time_t)(t + (int64_t)offset_min * 60);
	struct tm tm;

	if (gmtime_r(&x, &tm) == NULL || strftime(out, 16, "%Y-%m-%d", &tm) == 0)
		snprintf(out, 16, "-");
}
