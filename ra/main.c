/* inkan-rad: the registration authority.  Serves the officer API over HTTPS until SIGTERM;
 * also "add-officer" (password from stdin, never argv) and "verify-history" (offline). */
#include <getopt.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "api.h"
#include "auth.h"
#include "batch.h"
#include "config.h"
#include "http.h"
#include "i18n.h"
#include "log.h"
#include "mail.h"
#include "mobileconfig.h"
#include "ocsp.h"
#include "pages.h"
#include "publish.h"
#include "queue.h"
#include "scheduler.h"
#include "signer_client.h"
#include "store.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: inkan-rad [-c CONFIG] [--syslog]          serve\n"
	    "       inkan-rad --check-config [-c CONFIG | CONFIG]  validate the config and exit\n"
	    "       inkan-rad add-officer -c CONFIG --login LOGIN --role ROLE\n"
	    "                 (the password is read from stdin; ROLE is auditor, officer or "
	    "administrator)\n"
	    "       inkan-rad verify-history -c CONFIG\n");
}

/* One line from stdin into pw (no echo on a terminal); the newline is dropped. */
static ik_status read_line(const char *prompt, char *pw, size_t pwsz)
{
	struct termios old, quiet;
	int tty = isatty(STDIN_FILENO);
	ik_status st = IK_OK;
	size_t n;

	if (tty) {
		fprintf(stderr, "%s", prompt);
		if (tcgetattr(STDIN_FILENO, &old) != 0)
			return IK_ERR_IO;
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) != 0)
			return IK_ERR_IO;
	}
	if (fgets(pw, (int)pwsz, stdin) == NULL)
		st = IK_ERR_IO;
	if (tty) {
		(void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	if (st != IK_OK)
		return st;
	n = strcspn(pw, "\r\n");
	if (pw[n] == '\0' && n == pwsz - 1)
		return IK_ERR_ARG; /* longer than the buffer */
	pw[n] = '\0';
	return IK_OK;
}

static int add_officer(ra_store *store, const char *login, const char *role_s)
{
	char pw[RA_PASSWORD_MAX + 2], again[RA_PASSWORD_MAX + 2], phc[RA_PHC_MAX], why[128];
	ra_role role;
	int rc = 1;
	ik_status st;

	if (ra_role_parse(role_s, &role) != IK_OK) {
		fprintf(stderr, "inkan-rad: --role must be auditor, officer or administrator\n");
		return 2;
	}
	if (ra_login_check(login) != IK_OK) {
		fprintf(stderr, "inkan-rad: --login must be 1..%d of [A-Za-z0-9._@-]\n",
		    RA_LOGIN_MAX);
		return 2;
	}
	if (read_line("password: ", pw, sizeof(pw)) != IK_OK) {
		fprintf(stderr, "inkan-rad: no password on stdin (or longer than %d)\n",
		    RA_PASSWORD_MAX);
		goto out;
	}
	if (isatty(STDIN_FILENO) && (read_line("again: ", again, sizeof(again)) != IK_OK ||
	    strcmp(pw, again) != 0)) {
		fprintf(stderr, "inkan-rad: the passwords differ\n");
		goto out;
	}
	if (ra_password_policy(pw, login, why, sizeof(why)) != IK_OK) {
		fprintf(stderr, "inkan-rad: %s\n", why);
		goto out;
	}
	if (ra_password_hash(pw, phc, sizeof(phc)) != IK_OK) {
		fprintf(stderr, "inkan-rad: cannot hash the password\n");
		goto out;
	}
	st = ra_store_officer_add(store, login, (int)role, phc, "cli", "local");
	if (st == IK_ERR_EXISTS) {
		fprintf(stderr, "inkan-rad: officer %s already exists\n", login);
		goto out;
	}
	if (st != IK_OK) {
		fprintf(stderr, "inkan-rad: cannot add the officer: %s\n", ik_status_str(st));
		goto out;
	}
	printf("added %s (%s)\n", login, ra_role_name(role));
	rc = 0;
out:
	OPENSSL_cleanse(pw, sizeof(pw));
	OPENSSL_cleanse(again, sizeof(again));
	OPENSSL_cleanse(phc, sizeof(phc));
	return rc;
}

static int verify_history(ra_store *store)
{
	char bad[512];
	ik_status st = ra_history_verify(store, bad, sizeof(bad));

	if (st == IK_OK) {
		printf("OK\n");
		return 0;
	}
	printf("BROKEN: %s\n", bad);
	return 1;
}

static const struct {
	const ra_route *routes;
	const size_t *n;
} route_tables[] = {
	{ ra_api_auth_routes, &ra_api_auth_nroutes },
	{ ra_api_certlogin_routes, &ra_api_certlogin_nroutes },
	{ ra_api_users_routes, &ra_api_users_nroutes },
	{ ra_api_certs_routes, &ra_api_certs_nroutes },
	{ ra_api_batches_routes, &ra_api_batches_nroutes },
	{ ra_api_history_routes, &ra_api_history_nroutes },
	{ ra_api_profiles_routes, &ra_api_profiles_nroutes },
	{ ra_api_bulk_routes, &ra_api_bulk_nroutes },
	{ ra_download_routes, &ra_download_nroutes },
	{ ra_download_renew_routes, &ra_download_renew_nroutes },
	{ ra_api_lifecycle_routes, &ra_api_lifecycle_nroutes },
	{ ra_publish_routes, &ra_publish_nroutes },
	{ ra_ocsp_routes, &ra_ocsp_nroutes },
	{ ra_ui_routes, &ra_ui_nroutes },
	{ ra_page_login_routes, &ra_page_login_nroutes },
	{ ra_page_dash_routes, &ra_page_dash_nroutes },
	{ ra_page_certs_routes, &ra_page_certs_nroutes },
	{ ra_page_users_routes, &ra_page_users_nroutes },
	{ ra_page_bulk_routes, &ra_page_bulk_nroutes },
	{ ra_page_history_routes, &ra_page_history_nroutes },
	{ ra_page_account_routes, &ra_page_account_nroutes },
	{ ra_page_settings_routes, &ra_page_settings_nroutes },
	{ ra_page_certlogin_routes, &ra_page_certlogin_nroutes },
	{ ra_page_batches_routes, &ra_page_batches_nroutes },
	{ ra_page_download_routes, &ra_page_download_nroutes },
	{ ra_page_renew_routes, &ra_page_renew_nroutes },
};

/* jansson copies request strings (passwords among them) into its own blocks: wipe every
 * block before it goes back to the heap. */
static void json_free_wiped(void *p)
{
	if (p != NULL)
		OPENSSL_cleanse(p, malloc_usable_size(p));
	free(p);
}

static int serve(ra_app *app)
{
	unsigned pool;
	ra_http *h = NULL;
	ra_mobileconfig_signer *mcs = NULL;
	sigset_t set;
	char err[256], why[2 * PATH_MAX + 64];
	int sig = 0, rc = 1;
	ik_status st;

	/* block before any thread starts: only this thread takes SIGTERM/SIGINT */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0)
		return 1;
	signal(SIGPIPE, SIG_IGN);
	json_set_alloc_funcs(malloc, json_free_wiped);
	/* a connection for each queue worker (held for a group) and each heavy thread (a
	 * download's issuance), and two for the rest (CRL, status, OCSP) */
	pool = app->cfg->queue_workers + app->cfg->heavy_workers + 2;
	if ((st = ra_signer_new(app->cfg->signer_socket, pool > 24 ? 24 : pool,
	    &app->signer)) != IK_OK ||
	    (st = ra_publish_new(app->signer, app->cfg->database, &app->publish)) != IK_OK) {
		ik_log(LOG_ERR, "cannot set up the signer client: %s", ik_status_str(st));
		goto out;
	}
	ra_signer_set_timeouts(app->signer, app->cfg->signer_timeout,
	    app->cfg->signer_crl_timeout);
	ra_publish_set_recheck(app->publish, app->cfg->crl_recheck);
	if (ra_publish_refresh(app->publish) != IK_OK)
		ik_log(LOG_WARNING, "the signer at %s does not answer yet; requests will wait for it",
		    app->cfg->signer_socket);
	if ((st = ra_mailer_start(app, &app->mailer)) != IK_OK) {
		ik_log(LOG_ERR, "cannot start the mail sender: %s", ik_status_str(st));
		goto out;
	}
	if ((st = ra_queue_start(app, app->cfg->queue_workers, app->cfg->queue_group,
	    &app->queue)) != IK_OK) {
		ik_log(LOG_ERR, "cannot start the request queue: %s", ik_status_str(st));
		goto out;
	}
	if ((st = ra_sched_start(app, &app->sched)) != IK_OK) {
		ik_log(LOG_ERR, "cannot start the scheduler: %s", ik_status_str(st));
		goto out;
	}
	if (app->cfg->tls && app->cfg->profile_signing) {
		/* once, here: the handlers share it read-only */
		if (ra_mobileconfig_signer_new(app->cfg->tls_cert, app->cfg->tls_key, &mcs, why,
		    sizeof(why)) != IK_OK) {
			ik_log(LOG_ERR, "[ra] profile_signing: %s", why);
			goto out;
		}
		app->mc_signer = mcs;
	}
	if (!ra_mail_enabled(app))
		ik_log(LOG_INFO, "mail is off ([mail] from is not set): no notices are sent");
	if ((st = ra_batcher_start(app, &app->batcher)) != IK_OK) {
		ik_log(LOG_ERR, "cannot start the batch worker: %s", ik_status_str(st));
		goto out;
	}
	if ((st = ra_http_new(app, &h)) != IK_OK)
		goto out;
	ra_http_set_html_error(h, ra_ui_error);
	for (size_t i = 0; i < sizeof(route_tables) / sizeof(route_tables[0]); i++)
		if (ra_http_add_routes(h, route_tables[i].routes, *route_tables[i].n) != IK_OK)
			goto out;
	if (ra_http_start(h, err, sizeof(err)) != IK_OK) {
		ik_log(LOG_ERR, "%s", err);
		goto out;
	}
	ik_log(LOG_INFO, "listening on %s port %u (%s)", app->cfg->listen,
	    (unsigned)app->cfg->port, app->cfg->tls ? "https" : "http, TLS off");
	if (app->cfg->http_port != 0)
		ik_log(LOG_INFO, "listening on %s port %u (plain http: OCSP, CRL, CA certificates)",
		    app->cfg->listen, (unsigned)app->cfg->http_port);
	do {
		if (sigwait(&set, &sig) != 0)
			goto out;
	} while (sig == SIGHUP);
	ik_log(LOG_INFO, "signal %d: stopping", sig);
	rc = 0;
out:
	ra_http_free(h);
	ra_sched_stop(app->sched);
	ra_batcher_stop(app->batcher);
	ra_queue_stop(app->queue);
	ra_mailer_stop(app->mailer);
	app->sched = NULL;
	app->mailer = NULL;
	ra_publish_free(app->publish);
	ra_signer_free(app->signer);
	app->batcher = NULL;
	app->queue = NULL;
	app->publish = NULL;
	app->signer = NULL;
	app->mc_signer = NULL;
	ra_mobileconfig_signer_free(mcs);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "login", required_argument, NULL, 'l' },
		{ "role", required_argument, NULL, 'r' },
		{ "syslog", no_argument, NULL, 's' },
		{ "check-config", no_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = "/etc/inkan/ra.conf", *cmd = "serve", *login = NULL, *role = NULL;
	static ra_config cfg;
	ra_app app;
	ra_store *store = NULL;
	ra_i18n *i18n = NULL;
	char err[512];
	int use_syslog = 0, check = 0, c, rc;
	ik_status st;

	if (argc > 1 && argv[1][0] != '-') {
		cmd = argv[1];
		argv++;
		argc--;
	}
	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': path = optarg; break;
		case 'l': login = optarg; break;
		case 'r': role = optarg; break;
		case 's': use_syslog = 1; break;
		case 'k': check = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (check && optind == argc - 1) /* inkan-rad --check-config FILE */
		path = argv[optind++];
	if (optind != argc || (check && strcmp(cmd, "serve") != 0) ||
	    (strcmp(cmd, "serve") != 0 && strcmp(cmd, "add-officer") != 0 &&
	    strcmp(cmd, "verify-history") != 0) ||
	    (strcmp(cmd, "add-officer") == 0 && (login == NULL || role == NULL))) {
		usage(stderr);
		return 2;
	}
	ik_log_init("inkan-rad", use_syslog, LOG_INFO);
	if (ra_config_load(path, &cfg, err, sizeof(err)) != IK_OK) {
		fprintf(stderr, "inkan-rad: %s\n", err);
		return 1;
	}
	if (check) { /* as start-up loads it, but no store, socket or signer is opened */
		printf("%s: OK\n", path);
		return 0;
	}
	if ((st = ra_store_open(cfg.database, &store)) != IK_OK) {
		fprintf(stderr, "inkan-rad: cannot open the database %s: %s\n", cfg.database,
		    ik_status_str(st));
		return 1;
	}
	memset(&app, 0, sizeof(app));
	app.cfg = &cfg;
	app.store = store;
	if (strcmp(cmd, "serve") == 0) {
		if (ra_i18n_load(&i18n, err, sizeof(err)) != IK_OK) {
			fprintf(stderr, "inkan-rad: the built-in message catalogs: %s\n", err);
			ra_store_close(store);
			return 1;
		}
		if (RAND_bytes(app.page_key, sizeof(app.page_key)) != 1) {
			fprintf(stderr, "inkan-rad: no randomness for the page key\n");
			ra_i18n_free(i18n);
			ra_store_close(store);
			return 1;
		}
		app.i18n = i18n;
	}
	if (strcmp(cmd, "add-officer") == 0)
		rc = add_officer(store, login, role);
	else if (strcmp(cmd, "verify-history") == 0)
		rc = verify_history(store);
	else
		rc = serve(&app);
	OPENSSL_cleanse(app.page_key, sizeof(app.page_key));
	ra_i18n_free(i18n);
	ra_store_close(store);
	return rc;
}
