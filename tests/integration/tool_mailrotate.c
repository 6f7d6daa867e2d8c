/* tool_mailrotate: for test_ra_mailrotate.sh — the RA's mailer and scheduler on the real
 * store, signer socket and sendmail command of CONFIG, driven through time by the
 * scheduler's injectable clock.  Three phases, one mail each (subjects "phase A/B/C"):
 *   A  now:            the mailer obtains its identity and sends; a tick rotates nothing;
 *   B  now + 70% life: a tick rotates (new key, new serial, history entry); the mail goes
 *                      out signed with the new certificate;
 *   C  (the signer is stopped: SIGNER_PID) now + 2 x 70% of the new life, while the new
 *                      certificate still runs: the rotation fails, the certificate stays,
 *                      and the mail still goes out signed.
 * Usage: tool_mailrotate CONFIG SIGNER_PID
 * Prints "serial A|B|C <hex>" (the certificate file after each phase) and "rotated P N";
 * exit 0 when every expectation held, else 1 with "FAIL: ..." on stderr. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "config.h"
#include "mail.h"
#include "publish.h"
#include "scheduler.h"
#include "signer_client.h"
#include "store.h"

static int64_t fake_now;

static int64_t test_clock(void *ctx)
{
	(void)ctx;
	return fake_now;
}

static int fail(const char *what)
{
	fprintf(stderr, "FAIL: %s\n", what);
	return 1;
}

/* The serial of the certificate file, and its life. */
static int cert_read(const char *path, char *serial, size_t n, int64_t *from, int64_t *until)
{
	FILE *f = fopen(path, "re");
	X509 *x = f != NULL ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
	BIGNUM *bn = x != NULL ? ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL) : NULL;
	char *hex = bn != NULL ? BN_bn2hex(bn) : NULL;
	struct tm a, b;
	int ok = hex != NULL && ASN1_TIME_to_tm(X509_get0_notBefore(x), &a) == 1 &&
	    ASN1_TIME_to_tm(X509_get0_notAfter(x), &b) == 1;

	if (ok) {
		snprintf(serial, n, "%s", hex);
		*from = (int64_t)timegm(&a);
		*until = (int64_t)timegm(&b);
	}
	OPENSSL_free(hex);
	BN_free(bn);
	X509_free(x);
	if (f != NULL)
		fclose(f);
	return ok;
}

static int queue_and_send(ra_app *app, const char *phase)
{
	char dedup[32], subject[32];
	ra_mail_new mn = { .kind = "test", .lang = "en", .recipients = "ops@example.jp",
	    .body = "rotation test\n" };
	ik_status st;

	snprintf(dedup, sizeof(dedup), "rotate-test-%s", phase);
	snprintf(subject, sizeof(subject), "phase %s", phase);
	mn.dedup = dedup;
	mn.subject = subject;
	if (ra_store_mail_add(app->store, &mn, NULL) != IK_OK)
		return 0;
	st = ra_mailer_step(app->mailer, fake_now);
	if (st != IK_OK)
		fprintf(stderr, "phase %s: mailer step: %s\n", phase, ik_status_str(st));
	return st == IK_OK;
}

static int rotations_in_history(ra_store *s, size_t *n)
{
	ra_history_query q = { .op = "mail_cert_rotated" };
	ra_history_entry *rows = NULL;

	if (ra_store_history_list(s, &q, &rows, 16, n) != IK_OK)
		return 0;
	for (size_t i = 0; i < *n; i++)
		printf("history %s %s\n", rows[i].op, rows[i].detail);
	ra_history_entries_free(rows, *n);
	return 1;
}

int main(int argc, char **argv)
{
	static ra_config cfg;
	ra_app app;
	ra_sched *sched = NULL;
	ra_sched_report rep;
	char err[512], sa[80], sb[80], sc[80];
	int64_t t0 = (int64_t)time(NULL), from, until;
	size_t nh = 0;
	pid_t signer;
	int rc = 1;

	if (argc != 3)
		return fail("usage: tool_mailrotate CONFIG SIGNER_PID");
	signer = (pid_t)atol(argv[2]);
	if (ra_config_load(argv[1], &cfg, err, sizeof(err)) != IK_OK)
		return fail(err);
	memset(&app, 0, sizeof(app));
	app.cfg = &cfg;
	if (ra_store_open(cfg.database, &app.store) != IK_OK ||
	    ra_signer_new(cfg.signer_socket, 2, &app.signer) != IK_OK ||
	    ra_publish_new(app.signer, cfg.database, &app.publish) != IK_OK ||
	    ra_publish_refresh(app.publish) != IK_OK ||
	    ra_mailer_new_manual(&app, &app.mailer) != IK_OK ||
	    ra_sched_new(&app, test_clock, NULL, &sched) != IK_OK)
		return fail("setting up store, signer client, mailer, scheduler");

	/* A: the first identity; nothing to rotate */
	fake_now = t0;
	if (!queue_and_send(&app, "A") || !cert_read(cfg.mail.cert, sa, sizeof(sa), &from, &until))
		goto out;
	printf("serial A %s\n", sa);
	if (ra_sched_tick(sched, &rep) != IK_OK || rep.mail_cert_rotated) {
		fail("phase A: a fresh certificate was rotated");
		goto out;
	}

	/* B: 70% through its life — rotated, and the next mail signed with the new one */
	fake_now = from + (until - from) * 7 / 10;
	(void)ra_sched_tick(sched, &rep);
	printf("rotated B %d\n", rep.mail_cert_rotated);
	if (!rep.mail_cert_rotated || !cert_read(cfg.mail.cert, sb, sizeof(sb), &from, &until) ||
	    strcmp(sa, sb) == 0) {
		fail("phase B: no rotation, or the same serial");
		goto out;
	}
	printf("serial B %s\n", sb);
	if (!queue_and_send(&app, "B"))
		goto out;

	/* C: the signer is gone; due again, the rotation fails, the mail still goes out */
	if (signer <= 1 || kill(signer, SIGTERM) != 0) {
		fail("cannot stop the signer");
		goto out;
	}
	for (int i = 0; i < 100 && kill(signer, 0) == 0; i++)
		usleep(100 * 1000);
	fake_now = from + (until - from) * 7 / 10 + 3600;
	(void)ra_sched_tick(sched, &rep);
	printf("rotated C %d\n", rep.mail_cert_rotated);
	if (rep.mail_cert_rotated || !cert_read(cfg.mail.cert, sc, sizeof(sc), &from, &until) ||
	    strcmp(sb, sc) != 0) {
		fail("phase C: the certificate changed without a signer");
		goto out;
	}
	printf("serial C %s\n", sc);
	if (!queue_and_send(&app, "C"))
		goto out;
	if (!rotations_in_history(app.store, &nh) || nh != 1) {
		fail("history: want exactly one mail_cert_rotated entry");
		goto out;
	}
	rc = 0;
out:
	ra_sched_stop(sched);
	ra_mailer_stop(app.mailer);
	ra_publish_free(app.publish);
	ra_signer_free(app.signer);
	ra_store_close(app.store);
	return rc;
}
