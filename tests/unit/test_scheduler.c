/* Unit tests for the RA's lifecycle logic against a real SQLite store, driven through time
 * by the scheduler's injectable clock: certificates past notAfter marked expired, expiry
 * reminders once per threshold (and one notice, not three, for a certificate first seen
 * late), download credentials purged after their lifetime, the renewal window opening and
 * closing (yearly, across the new year, fixed dates) and who may renew; plus the mail queue
 * (dedup, claim, retry, recovery), every template in both languages, and the sendmail
 * runner (stdin delivered, exit status and output reported, a hung command killed). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "batch.h"
#include "config.h"
#include "mail.h"
#include "notify.h"
#include "renewal.h"
#include "scheduler.h"
#include "store.h"
#include "tmpdb.h"

#define DAY INT64_C(86400)
#define T0 INT64_C(1800000000)   /* 2027-01-15T08:00:00Z */

typedef struct fixture {
	char dir[64];
	char path[128];
	ra_store *s;
	ra_config cfg;
	ra_app app;
	int64_t now;
	int64_t user_id, device_id;
} fixture;

static const uint8_t SPKI[] = { 0x30, 0x59, 0x30, 0x13 };   /* opaque to the store */
static const char PHC[] = "$scrypt$ln=15,r=8,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA";

static int64_t test_clock(void *ctx)
{
	return ((fixture *)ctx)->now;
}

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	ra_user u;
	ra_device d;

	if (f == NULL)
		return -1;
	if (ik_tmpdb_make(f->dir, sizeof(f->dir), f->path, sizeof(f->path), "sched", "ra.db") != 0)
		return -1;
	if (ra_store_open(f->path, &f->s) != IK_OK)
		return -1;
	snprintf(f->cfg.mail.from, sizeof(f->cfg.mail.from), "ra@inkan.example.jp");
	snprintf(f->cfg.public_url, sizeof(f->cfg.public_url), "https://ra.example.jp");
	f->app.cfg = &f->cfg;
	f->app.store = f->s;
	f->now = T0;
	memset(&u, 0, sizeof(u));
	snprintf(u.external_id, sizeof(u.external_id), "alice");
	snprintf(u.email, sizeof(u.email), "alice@example.jp");
	snprintf(u.lang, sizeof(u.lang), "en");
	if (ra_store_user_add(f->s, &u, NULL, &f->user_id) != IK_OK)
		return -1;
	memset(&d, 0, sizeof(d));
	d.user_id = f->user_id;
	snprintf(d.name, sizeof(d.name), "laptop");
	if (ra_store_device_add(f->s, &d, NULL, &f->device_id) != IK_OK)
		return -1;
	if (ra_store_setting_set(f->s, "notify_addresses", "officers@example.jp", NULL) != IK_OK)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;

	ra_store_close(f->s);
	ik_tmpdb_remove(f->dir, f->path);
	free(f);
	return 0;
}

/* An active certificate (device 0 = none) valid until not_after; its id. */
static int64_t issued_cert(fixture *f, int64_t device, const char *cn, int64_t not_after)
{
	static unsigned serial = 0x100;
	ra_request_new n;
	ra_request r, claimed;
	ra_issued is;
	char hex[16];
	static const uint8_t der[] = { 0x30, 0x03, 0x02, 0x01, 0x01 };

	memset(&n, 0, sizeof(n));
	n.kind = RA_REQ_ISSUE;
	n.device_id = device;
	n.cn = cn;
	n.validity_days = 30;
	n.spki = SPKI;
	n.spki_len = sizeof(SPKI);
	assert_int_equal(ra_store_request_add(f->s, &n, NULL, &r), IK_OK);
	assert_int_equal(ra_store_request_claim_id(f->s, r.id, &claimed), IK_OK);
	snprintf(hex, sizeof(hex), "%04x", serial++);
	memset(&is, 0, sizeof(is));
	is.serial = hex;
	is.der = der;
	is.der_len = sizeof(der);
	is.not_before = f->now - 60;
	is.not_after = not_after;
	assert_int_equal(ra_store_request_complete(f->s, r.id, &is, NULL), IK_OK);
	return r.cert_id;
}

static int has_mail(fixture *f, const char *dedup, ra_mail *out)
{
	ra_mail m;
	ik_status st = ra_store_mail_by_dedup(f->s, dedup, &m);

	if (st == IK_ERR_NOT_FOUND)
		return 0;
	assert_int_equal(st, IK_OK);
	if (out != NULL)
		*out = m;
	else
		ra_mail_clear(&m);
	return 1;
}

static uint64_t mail_total(fixture *f)
{
	uint64_t c[RA_MAIL_SENT + 1];

	assert_int_equal(ra_store_mail_counts(f->s, c), IK_OK);
	return c[RA_MAIL_PENDING] + c[RA_MAIL_SENDING] + c[RA_MAIL_SENT];
}

static void tick(ra_sched *s, ra_sched_report *rep)
{
	assert_int_equal(ra_sched_tick(s, rep), IK_OK);
}

static void test_expiry(void **state)
{
	fixture *f = *state;
	ra_sched *s;
	ra_sched_report rep;
	ra_cert c;
	int64_t id = issued_cert(f, 0, "expiring-soon", T0 + 10 * DAY);

	assert_int_equal(ra_sched_new(&f->app, test_clock, f, &s), IK_OK);
	tick(s, &rep);
	assert_int_equal(rep.expired, 0);
	f->now = T0 + 10 * DAY - 1;
	tick(s, &rep);
	assert_int_equal(rep.expired, 0);
	assert_int_equal(ra_store_cert_get(f->s, id, &c), IK_OK);
	assert_int_equal(c.state, RA_CERT_ACTIVE);
	f->now = T0 + 10 * DAY + 30;   /* within the task's period: not run again yet */
	tick(s, &rep);
	assert_int_equal(rep.expired, 0);
	f->now = T0 + 10 * DAY + 60;
	tick(s, &rep);
	assert_int_equal(rep.expired, 1);
	assert_int_equal(ra_store_cert_get(f->s, id, &c), IK_OK);
	assert_int_equal(c.state, RA_CERT_EXPIRED);
	assert_false(c.current);
	ra_sched_stop(s);
}

static void test_reminders(void **state)
{
	fixture *f = *state;
	ra_sched *s;
	ra_sched_report rep;
	ra_mail m;
	char key[96];
	int64_t id = issued_cert(f, f->device_id, "alice-laptop", T0 + 40 * DAY);
	int64_t late;

	assert_int_equal(ra_sched_new(&f->app, test_clock, f, &s), IK_OK);
	tick(s, &rep);                                 /* 40 days left: nothing yet */
	assert_int_equal(rep.reminders, 0);
	assert_int_equal(mail_total(f), 0);
	f->now = T0 + 10 * DAY;                          /* 30 days left */
	tick(s, &rep);
	assert_int_equal(rep.reminders, 1);
	snprintf(key, sizeof(key), "expiring:%lld:30:user", (long long)id);
	assert_true(has_mail(f, key, &m));
	assert_string_equal(m.recipients, "alice@example.jp");
	assert_string_equal(m.lang, "en");
	assert_string_equal(m.kind, "expiring");
	assert_non_null(strstr(m.subject, "alice-laptop expires in 30 days"));
	assert_non_null(strstr(m.body, "https://ra.example.jp/download/renew"));
	ra_mail_clear(&m);
	snprintf(key, sizeof(key), "expiring:%lld:30:officers", (long long)id);
	assert_true(has_mail(f, key, &m));
	assert_string_equal(m.recipients, "officers@example.jp");
	assert_string_equal(m.lang, "ja");                /* notify_lang unset: Japanese */
	assert_non_null(strstr(m.subject, "残り30日"));
	ra_mail_clear(&m);
	assert_int_equal(mail_total(f), 2);
	/* the same threshold again, a day later: no second mail */
	f->now = T0 + 11 * DAY;
	tick(s, &rep);
	assert_int_equal(rep.reminders, 1);
	assert_int_equal(mail_total(f), 2);
	f->now = T0 + 33 * DAY;                          /* 7 days left */
	tick(s, &rep);
	snprintf(key, sizeof(key), "expiring:%lld:7:user", (long long)id);
	assert_true(has_mail(f, key, NULL));
	assert_int_equal(mail_total(f), 4);
	f->now = T0 + 39 * DAY + DAY / 2;               /* half a day left: the 1-day notice */
	tick(s, &rep);
	snprintf(key, sizeof(key), "expiring:%lld:1:user", (long long)id);
	assert_true(has_mail(f, key, NULL));
	assert_int_equal(mail_total(f), 6);
	/* expired: no more reminders */
	f->now = T0 + 41 * DAY;
	tick(s, &rep);
	assert_int_equal(rep.reminders, 0);
	assert_int_equal(mail_total(f), 6);
	/* first seen with 5 days left: one notice (the 7-day one), not the 30-day one too */
	late = issued_cert(f, 0, "late", f->now + 5 * DAY);
	f->now += 301;
	tick(s, &rep);
	snprintf(key, sizeof(key), "expiring:%lld:7:officers", (long long)late);
	assert_true(has_mail(f, key, NULL));
	snprintf(key, sizeof(key), "expiring:%lld:30:officers", (long long)late);
	assert_false(has_mail(f, key, NULL));
	assert_int_equal(mail_total(f), 7);               /* no user: the officers only */
	/* other thresholds from the setting; a bad one is refused */
	{
		unsigned th[RA_SCHED_THRESHOLDS_MAX];
		char why[128];
		assert_int_equal(ra_sched_thresholds("14, 60,3,14", th, why, sizeof(why)), 3);
		assert_int_equal(th[0], 3);
		assert_int_equal(th[2], 60);
		assert_int_equal(ra_sched_thresholds("7,x", th, why, sizeof(why)), 0);
		assert_int_equal(ra_sched_thresholds("0", th, why, sizeof(why)), 0);
		assert_int_equal(ra_sched_thresholds("", th, why, sizeof(why)), 0);
	}
	ra_sched_stop(s);
}

static void test_reminders_mail_off(void **state)
{
	fixture *f = *state;
	ra_sched *s;
	ra_sched_report rep;

	f->cfg.mail.from[0] = '\0';
	(void)issued_cert(f, 0, "quiet", T0 + 5 * DAY);
	assert_int_equal(ra_sched_new(&f->app, test_clock, f, &s), IK_OK);
	tick(s, &rep);
	assert_int_equal(rep.reminders, 0);
	assert_int_equal(mail_total(f), 0);
	ra_sched_stop(s);
}

static void test_purge(void **state)
{
	fixture *f = *state;
	ra_sched *s;
	ra_sched_report rep;
	ra_download d, got;
	int64_t id, cert = issued_cert(f, 0, "purged", T0 + 300 * DAY);

	memset(&d, 0, sizeof(d));
	d.cert_id = cert;
	d.kind = RA_DOWNLOAD_PASSWORD;
	d.expires = T0 + 14 * DAY;
	snprintf(d.login, sizeof(d.login), "dl-PURGEME");
	snprintf(d.secret_hash, sizeof(d.secret_hash), "%s", PHC);
	assert_int_equal(ra_store_download_add(f->s, &d, NULL, &id), IK_OK);
	assert_int_equal(ra_store_download_use(f->s, id, T0 + DAY, NULL), IK_OK);
	assert_int_equal(ra_sched_new(&f->app, test_clock, f, &s), IK_OK);
	f->now = T0 + 14 * DAY + 29 * DAY;              /* spent and expired, within the grace */
	tick(s, &rep);
	assert_int_equal(rep.purged, 0);
	assert_int_equal(ra_store_download_by_login(f->s, "dl-PURGEME", &got), IK_OK);
	f->now = T0 + 14 * DAY + 30 * DAY;
	tick(s, &rep);
	assert_int_equal(rep.purged, 1);
	assert_int_equal(ra_store_download_by_login(f->s, "dl-PURGEME", &got), IK_ERR_NOT_FOUND);
	/* the setting shortens the grace */
	d.expires = f->now + DAY;
	snprintf(d.login, sizeof(d.login), "dl-SECOND");
	assert_int_equal(ra_store_download_add(f->s, &d, NULL, &id), IK_OK);
	assert_int_equal(ra_store_setting_set(f->s, "download_purge_days", "0", NULL), IK_OK);
	f->now += DAY - 1;
	tick(s, &rep);   /* within the hour: not run */
	assert_int_equal(rep.purged, 0);
	f->now += 3600;
	tick(s, &rep);
	assert_int_equal(rep.purged, 1);
	ra_sched_stop(s);
}

/* 2027-mm-dd hh:mm in +09:00 as unix time */
static int64_t jst(int y, int mo, int d, int h, int mi)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	return (int64_t)timegm(&tm) - 9 * 3600;
}

static void test_window(void **state)
{
	ra_renewal_window w;
	ra_cert c;
	char why[128], day[16];

	(void)state;
	/* yearly, Feb 1 .. Mar 31 (JST) */
	assert_int_equal(ra_renewal_window_eval("02-01", "03-31", 540, 0, jst(2027, 1, 31, 23, 59), &w),
	    IK_OK);
	assert_true(w.set && w.yearly);
	assert_false(w.open);
	assert_int_equal(w.start, jst(2027, 2, 1, 0, 0));
	assert_int_equal(w.end, jst(2027, 4, 1, 0, 0));
	assert_int_equal(ra_renewal_window_eval("02-01", "03-31", 540, 0, jst(2027, 2, 1, 0, 0), &w),
	    IK_OK);
	assert_true(w.open);
	assert_int_equal(ra_renewal_window_eval("02-01", "03-31", 540, 0, jst(2027, 3, 31, 23, 59),
	    &w), IK_OK);
	assert_true(w.open);
	assert_int_equal(ra_renewal_window_eval("02-01", "03-31", 540, 0, jst(2027, 4, 1, 0, 0), &w),
	    IK_OK);
	assert_false(w.open);
	assert_int_equal(w.start, jst(2028, 2, 1, 0, 0));   /* the next one */
	ra_renewal_date(w.end - DAY, w.offset_min, day);
	assert_string_equal(day, "2028-03-31");
	/* across the new year: Dec 1 .. Jan 31 */
	assert_int_equal(ra_renewal_window_eval("12-01", "01-31", 540, 0, jst(2027, 1, 10, 12, 0),
	    &w), IK_OK);
	assert_true(w.open);
	assert_int_equal(w.start, jst(2026, 12, 1, 0, 0));
	assert_int_equal(w.end, jst(2027, 2, 1, 0, 0));
	assert_int_equal(ra_renewal_window_eval("12-01", "01-31", 540, 0, jst(2027, 6, 1, 0, 0), &w),
	    IK_OK);
	assert_false(w.open);
	assert_int_equal(w.start, jst(2027, 12, 1, 0, 0));
	/* fixed dates, other offsets */
	assert_int_equal(ra_renewal_window_eval("2027-02-01", "2027-02-28", 0, 0,
	    jst(2027, 2, 1, 8, 59), &w), IK_OK);  /* 23:59 UTC Jan 31 */
	assert_false(w.open);
	assert_false(w.yearly);
	assert_int_equal(ra_renewal_window_eval("2027-02-01", "2027-02-28", 0, 0,
	    jst(2027, 2, 1, 9, 0), &w), IK_OK);
	assert_true(w.open);
	assert_int_equal(ra_renewal_window_eval("2026-02-01", "2026-02-28", 540, 0, T0, &w), IK_OK);
	assert_false(w.open);   /* in the past */
	/* unset, malformed, half-set, mixed, reversed */
	assert_int_equal(ra_renewal_window_eval(NULL, "", 540, 0, T0, &w), IK_OK);
	assert_false(w.set || w.open);
	assert_int_equal(ra_renewal_window_eval("02-30", "03-01", 540, 0, T0, &w), IK_ERR_ARG);
	assert_int_equal(ra_renewal_window_eval("02-01", NULL, 540, 0, T0, &w), IK_ERR_ARG);
	assert_int_equal(ra_renewal_window_eval("02-01", "2027-03-01", 540, 0, T0, &w), IK_ERR_ARG);
	assert_int_equal(ra_renewal_window_eval("2027-03-01", "2027-02-01", 540, 0, T0, &w),
	    IK_ERR_ARG);
	assert_int_equal(ra_renewal_window_eval("2-1", "3-1", 540, 0, T0, &w), IK_ERR_ARG);
	assert_true(ra_renewal_setting_ok("renewal_window_start", "02-29", why, sizeof(why)));
	assert_false(ra_renewal_setting_ok("renewal_window_end", "13-01", why, sizeof(why)));
	assert_true(ra_renewal_setting_ok("renewal_window_utc_offset", "-05:30", why, sizeof(why)));
	assert_false(ra_renewal_setting_ok("renewal_window_utc_offset", "+9", why, sizeof(why)));
	assert_false(ra_renewal_setting_ok("renewal_window_days", "-1", why, sizeof(why)));

	/* who may renew: active, current, on a device, expiring before the window's end */
	assert_int_equal(ra_renewal_window_eval("02-01", "03-31", 540, 0, jst(2027, 2, 10, 0, 0), &w),
	    IK_OK);
	memset(&c, 0, sizeof(c));
	c.state = RA_CERT_ACTIVE;
	c.current = 1;
	c.device_id = 7;
	c.not_after = jst(2027, 3, 15, 0, 0);
	assert_true(ra_renewal_eligible(&w, &c, jst(2027, 2, 10, 0, 0)));
	c.not_after = jst(2027, 4, 2, 0, 0);                 /* after the end */
	assert_false(ra_renewal_eligible(&w, &c, jst(2027, 2, 10, 0, 0)));
	c.not_after = jst(2027, 3, 15, 0, 0);
	c.current = 0;                                       /* already renewed */
	assert_false(ra_renewal_eligible(&w, &c, jst(2027, 2, 10, 0, 0)));
	c.current = 1;
	c.state = RA_CERT_REVOKED;
	assert_false(ra_renewal_eligible(&w, &c, jst(2027, 2, 10, 0, 0)));
	c.state = RA_CERT_ACTIVE;
	c.device_id = 0;                                     /* batch certificate: no device */
	assert_false(ra_renewal_eligible(&w, &c, jst(2027, 2, 10, 0, 0)));
	c.device_id = 7;
	/* closed window: only renewal_window_days lets it through */
	assert_int_equal(ra_renewal_window_eval("02-01", "03-31", 540, 30, jst(2027, 5, 1, 0, 0), &w),
	    IK_OK);
	assert_false(w.open);
	c.not_after = jst(2027, 5, 20, 0, 0);
	assert_true(ra_renewal_eligible(&w, &c, jst(2027, 5, 1, 0, 0)));
	c.not_after = jst(2027, 6, 20, 0, 0);
	assert_false(ra_renewal_eligible(&w, &c, jst(2027, 5, 1, 0, 0)));
}

static void test_window_settings(void **state)
{
	fixture *f = *state;
	ra_renewal_window w;

	assert_int_equal(ra_store_setting_set(f->s, "renewal_window_start", "01-10", NULL), IK_OK);
	assert_int_equal(ra_store_setting_set(f->s, "renewal_window_end", "01-20", NULL), IK_OK);
	assert_int_equal(ra_renewal_window_get(f->s, T0, &w), IK_OK);   /* Jan 15 */
	assert_true(w.open);
	assert_int_equal(w.offset_min, 540);
	assert_int_equal(ra_renewal_window_get(f->s, T0 + 6 * DAY, &w), IK_OK);
	assert_false(w.open);
	assert_int_equal(ra_store_setting_set(f->s, "renewal_window_utc_offset", "-12:00", NULL),
	    IK_OK);
	assert_int_equal(ra_renewal_window_get(f->s, T0 + 5 * DAY + 12 * 3600, &w), IK_OK);
	assert_true(w.open);   /* still Jan 20 at UTC-12 */
}

static void test_mail_queue(void **state)
{
	fixture *f = *state;
	ra_mail_new n;
	ra_mail m, m2;
	int added = 0;
	size_t rec = 0;

	memset(&n, 0, sizeof(n));
	n.dedup = "event:1";
	n.kind = "revoked";
	n.lang = "ja";
	n.recipients = "a@example.jp, b@example.jp";
	n.subject = "件名";
	n.body = "本文\n";
	n.attach_name = "revoke-01.tsv";
	n.attach = (const uint8_t *)"serial\n01\n";
	n.attach_len = 10;
	assert_int_equal(ra_store_mail_add(f->s, &n, &added), IK_OK);
	assert_true(added);
	assert_int_equal(ra_store_mail_add(f->s, &n, &added), IK_OK);   /* the same event */
	assert_false(added);
	assert_int_equal(mail_total(f), 1);
	n.dedup = "event:2";
	n.subject = "a\r\nBcc: x@evil.example";                         /* header injection */
	assert_int_equal(ra_store_mail_add(f->s, &n, &added), IK_ERR_ARG);
	n.subject = "ok";
	n.attach_name = "../x.tsv";
	assert_int_equal(ra_store_mail_add(f->s, &n, &added), IK_ERR_ARG);
	assert_int_equal(ra_store_mail_claim(f->s, T0, &m), IK_OK);
	assert_int_equal(m.state, RA_MAIL_SENDING);
	assert_int_equal(m.attempts, 1);
	assert_string_equal(m.body, "本文\n");
	assert_int_equal(m.attach_len, 10);
	assert_int_equal(strlen(m.token), RA_MAIL_TOKEN_LEN);
	assert_int_equal(ra_store_mail_claim(f->s, T0, &m2), IK_ERR_NOT_FOUND);  /* taken */
	assert_int_equal(ra_store_mail_retry(f->s, m.id, "exit 75", T0 + 30), IK_OK);
	assert_int_equal(ra_store_mail_claim(f->s, T0 + 29, &m2), IK_ERR_NOT_FOUND);
	assert_int_equal(ra_store_mail_claim(f->s, T0 + 30, &m2), IK_OK);
	assert_int_equal(m2.attempts, 2);
	assert_string_equal(m2.last_error, "exit 75");
	assert_string_equal(m2.token, m.token);   /* the same Message-ID every attempt */
	/* a crash while sending: recovery puts it back, still the same token */
	assert_int_equal(ra_store_mail_recover(f->s, &rec), IK_OK);
	assert_int_equal(rec, 1);
	ra_mail_clear(&m2);
	assert_int_equal(ra_store_mail_claim(f->s, T0 + 31, &m2), IK_OK);
	assert_int_equal(m2.attempts, 3);
	assert_int_equal(ra_store_mail_sent(f->s, m2.id, T0 + 31), IK_OK);
	assert_int_equal(ra_store_mail_sent(f->s, m2.id, T0 + 32), IK_ERR_STATE);
	assert_int_equal(ra_store_mail_retry(f->s, m2.id, "late", T0 + 40), IK_ERR_STATE);
	assert_int_equal(ra_store_mail_claim(f->s, T0 + 1000, &m), IK_ERR_NOT_FOUND);
	ra_mail_clear(&m);
	ra_mail_clear(&m2);
	assert_int_equal(ra_store_mail_get(f->s, 1, &m), IK_OK);
	assert_int_equal(m.state, RA_MAIL_SENT);
	assert_int_equal(m.sent, T0 + 31);
	ra_mail_clear(&m);
}

static void test_templates(void **state)
{
	static const ra_tvar all[] = { { "name", "N" }, { "cn", "CN1" }, { "url", "U" },
		{ "login", "L" }, { "expires", "E" }, { "serial", "S" }, { "dn", "D" },
		{ "not_after", "NA" }, { "old_serial", "OS" }, { "old_not_after", "ONA" },
		{ "tsv", "T" }, { "reason", "R" }, { "batch", "1" }, { "batch_kind", "issue" },
		{ "state", "finished" }, { "total", "3" }, { "done", "2" }, { "failed", "1" },
		{ "days", "7" }, { "window", "W" } };
	char *subject, *body, why[160], name[64];
	size_t n = 0;

	(void)state;
	for (const char *t; (t = ra_template_at(n)) != NULL; n++) {
		const char *slash = strchr(t, '/');
		assert_non_null(slash);
		/* the other language has it too */
		snprintf(name, sizeof(name), "%s%s", strncmp(t, "ja", 2) == 0 ? "en" : "ja", slash);
		{
			size_t k = 0;
			const char *u;
			while ((u = ra_template_at(k)) != NULL && strcmp(u, name) != 0)
				k++;
			if (u == NULL)
				fail_msg("template %s has no %s", t, name);
		}
		snprintf(name, sizeof(name), "%s", slash + 1);
		if (ra_template_render(strncmp(t, "ja", 2) == 0 ? "ja" : "en", name, all,
		    sizeof(all) / sizeof(all[0]), &subject, &body, why, sizeof(why)) != IK_OK)
			fail_msg("%s: %s", t, why);
		assert_null(strchr(subject, '\n'));
		assert_null(strstr(body, "{{"));
		assert_true(strlen(body) > 20);
		free(subject);
		free(body);
	}
	assert_int_equal(n, 24);
	/* a missing value, an unknown template, a control character in a value */
	assert_int_equal(ra_template_render("en", "revoked", all, 2, &subject, &body, why,
	    sizeof(why)), IK_ERR_ARG);
	assert_non_null(strstr(why, "no value for {{"));
	assert_int_equal(ra_template_render("fr", "revoked", all, 20, &subject, &body, why,
	    sizeof(why)), IK_ERR_ARG);
	{
		ra_tvar v[] = { { "cn", "evil\r\nBcc: x@y" }, { "serial", "S" }, { "dn", "D" },
			{ "reason", "R" } };
		assert_int_equal(ra_template_render("en", "revoked", v, 4, &subject, &body, why,
		    sizeof(why)), IK_OK);
		assert_null(strpbrk(subject, "\r\n"));
		free(subject);
		free(body);
	}
}

static void test_sendmail(void **state)
{
	fixture *f = *state;
	char out[192], why[256], buf[64] = "";
	char *cat[] = { "/bin/sh", "-c", "cat > \"$0\"", out, NULL };
	char *fail[] = { "/bin/sh", "-c", "echo 'temporary failure: no route' >&2; exit 75", NULL };
	char *hang[] = { "/bin/sleep", "30", NULL };
	char *missing[] = { "/nonexistent/sendmail", NULL };
	char abuf[RA_SENDMAIL_MAX], *argv[RA_SENDMAIL_ARGS + 1];
	FILE *fp;
	time_t t;

	snprintf(out, sizeof(out), "%s/msg.txt", f->dir);
	assert_int_equal(ra_sendmail_run(cat, (const uint8_t *)"To: a@b\n\nhi\n", 12, 5, why,
	    sizeof(why)), IK_OK);
	assert_non_null(fp = fopen(out, "r"));
	assert_int_equal(fread(buf, 1, sizeof(buf) - 1, fp), 12);
	fclose(fp);
	unlink(out);
	assert_string_equal(buf, "To: a@b\n\nhi\n");
	assert_int_equal(ra_sendmail_run(fail, (const uint8_t *)"x", 1, 5, why, sizeof(why)),
	    IK_ERR_IO);
	assert_non_null(strstr(why, "exited with status 75: temporary failure: no route"));
	t = time(NULL);
	assert_int_equal(ra_sendmail_run(hang, (const uint8_t *)"x", 1, 1, why, sizeof(why)),
	    IK_ERR_IO);
	assert_true(time(NULL) - t < 5);
	assert_non_null(strstr(why, "did not finish within 1 s"));
	assert_int_equal(ra_sendmail_run(missing, (const uint8_t *)"x", 1, 5, why, sizeof(why)),
	    IK_ERR_IO);
	assert_non_null(strstr(why, "status 127"));
	/* the configured command: words at spaces, an absolute path first */
	assert_int_equal(ra_sendmail_argv("/usr/sbin/sendmail -t -i", abuf, argv), IK_OK);
	assert_string_equal(argv[0], "/usr/sbin/sendmail");
	assert_string_equal(argv[2], "-i");
	assert_null(argv[3]);
	assert_int_equal(ra_sendmail_argv("sendmail -t", abuf, argv), IK_ERR_CONFIG);
	assert_int_equal(ra_sendmail_argv("   ", abuf, argv), IK_ERR_CONFIG);
	assert_true(ra_mail_addr_ok("inkan@example.jp"));
	assert_false(ra_mail_addr_ok("a b@example.jp"));
	assert_false(ra_mail_addr_ok("a@example.jp,\r\nBcc: c@d"));
	assert_false(ra_mail_addr_ok("\"x\"@example.jp"));
}

/* Notices of a finished request: the revocation to the user and the officers, and the
 * batch it closed — once, however often the event is told. */
static void test_request_notices(void **state)
{
	fixture *f = *state;
	int64_t cert = issued_cert(f, f->device_id, "alice-batch", T0 + 300 * DAY), bid;
	ra_request_new n;
	ra_request r, claimed;
	ra_mail m;
	char key[96];
	uint64_t total;

	assert_int_equal(ra_store_batch_create(f->s, RA_REQ_REVOKE, "", "tester", NULL, &bid), IK_OK);
	memset(&n, 0, sizeof(n));
	n.kind = RA_REQ_REVOKE;
	n.cert_id = cert;
	n.batch_id = bid;
	n.reason = 3;
	n.created_by = "tester";
	assert_int_equal(ra_store_request_add(f->s, &n, NULL, &r), IK_OK);
	assert_int_equal(ra_store_batch_seal(f->s, bid), IK_OK);
	assert_int_equal(ra_store_request_claim_id(f->s, r.id, &claimed), IK_OK);
	assert_int_equal(ra_store_request_complete(f->s, r.id, NULL, NULL), IK_OK);
	assert_int_equal(ra_store_request_get(f->s, r.id, &r), IK_OK);
	assert_int_equal(ra_notify_request(&f->app, &r), IK_OK);
	snprintf(key, sizeof(key), "revoked:%s:user", r.request_id);
	assert_true(has_mail(f, key, &m));
	assert_string_equal(m.lang, "en");
	assert_non_null(strstr(m.body, "affiliationChanged"));
	assert_non_null(strstr(m.body, "CN=alice-batch"));
	ra_mail_clear(&m);
	snprintf(key, sizeof(key), "revoked:%s:officers", r.request_id);
	assert_true(has_mail(f, key, NULL));
	snprintf(key, sizeof(key), "batch:%lld", (long long)bid);
	assert_true(has_mail(f, key, &m));
	assert_string_equal(m.kind, "batch_finished");
	assert_string_equal(m.recipients, "officers@example.jp");
	assert_non_null(strstr(m.body, "完了:    1"));
	ra_mail_clear(&m);
	total = mail_total(f);
	assert_int_equal(total, 3);
	assert_int_equal(ra_notify_request(&f->app, &r), IK_OK);   /* told again: no new mail */
	assert_int_equal(ra_notify_batch(&f->app, bid), IK_OK);
	assert_int_equal(mail_total(f), total);
}

/* A batch whose requests are all done before it is sealed is finished by the seal, and one
 * with nothing left with the signer by its abort: batch_finished is queued in that
 * transaction (ra_batch_seal / ra_batch_abort), once. */
static void test_batch_seal_abort(void **state)
{
	fixture *f = *state;
	int64_t cert = issued_cert(f, f->device_id, "bob-batch", T0 + 300 * DAY), bid, bid2;
	ra_request_new n;
	ra_request r, claimed;
	ra_batch b;
	ra_mail m;
	char key[64];
	uint64_t total;

	assert_int_equal(ra_store_batch_create(f->s, RA_REQ_SUSPEND, "", "tester", NULL, &bid),
	    IK_OK);
	memset(&n, 0, sizeof(n));
	n.kind = RA_REQ_SUSPEND;
	n.cert_id = cert;
	n.batch_id = bid;
	n.created_by = "tester";
	assert_int_equal(ra_store_request_add(f->s, &n, NULL, &r), IK_OK);
	assert_int_equal(ra_store_request_claim_id(f->s, r.id, &claimed), IK_OK);
	assert_int_equal(ra_store_request_complete(f->s, r.id, NULL, NULL), IK_OK);
	assert_int_equal(ra_store_request_get(f->s, r.id, &r), IK_OK);
	assert_int_equal(ra_notify_request(&f->app, &r), IK_OK);
	snprintf(key, sizeof(key), "batch:%lld", (long long)bid);
	assert_false(has_mail(f, key, NULL));      /* not sealed yet: still running */
	assert_int_equal(ra_batch_seal(&f->app, bid), IK_OK);
	assert_int_equal(ra_store_batch_get(f->s, bid, &b), IK_OK);
	assert_int_equal(b.state, RA_BATCH_FINISHED);
	assert_true(has_mail(f, key, &m));
	assert_string_equal(m.kind, "batch_finished");
	assert_string_equal(m.recipients, "officers@example.jp");
	ra_mail_clear(&m);
	/* an abort with a request still pending: it fails, the batch ends, told once */
	assert_int_equal(ra_store_batch_create(f->s, RA_REQ_RESUME, "", "tester", NULL, &bid2),
	    IK_OK);
	n.kind = RA_REQ_RESUME;
	n.batch_id = bid2;
	assert_int_equal(ra_store_request_add(f->s, &n, NULL, &r), IK_OK);
	assert_int_equal(ra_batch_abort(&f->app, bid2, "stopped by tester", NULL), IK_OK);
	assert_int_equal(ra_store_batch_get(f->s, bid2, &b), IK_OK);
	assert_int_not_equal(b.state, RA_BATCH_RUNNING);
	snprintf(key, sizeof(key), "batch:%lld", (long long)bid2);
	assert_true(has_mail(f, key, NULL));
	total = mail_total(f);
	assert_int_equal(ra_notify_batch(&f->app, bid2), IK_OK);
	assert_int_equal(mail_total(f), total);
	assert_int_equal(ra_batch_seal(&f->app, bid2), IK_ERR_STATE); /* ended: nothing queued */
	assert_int_equal(mail_total(f), total);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_expiry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reminders, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reminders_mail_off, setup, teardown),
		cmocka_unit_test_setup_teardown(test_purge, setup, teardown),
		cmocka_unit_test(test_window),
		cmocka_unit_test_setup_teardown(test_window_settings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mail_queue, setup, teardown),
		cmocka_unit_test_setup_teardown(test_request_notices, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batch_seal_abort, setup, teardown),
		cmocka_unit_test(test_templates),
		cmocka_unit_test_setup_teardown(test_sendmail, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
