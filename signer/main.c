/* inkan-signerd: the only process that opens the HSM.  Loads and validates its config,
 * then serves the RA over a Unix socket until SIGTERM. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "serve.h"

static sg_server *g_server;

static void on_signal(int sig)
{
	(void)sig;
	if (g_server != NULL)
		sg_server_stop(g_server);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: inkan-signerd [-c CONFIG] [--check-config [CONFIG]] [--syslog]\n"
	    "  -c CONFIG        config file (default /etc/inkan/signer.conf)\n"
	    "  --check-config   validate the config and exit\n"
	    "  --syslog         log to syslog instead of stderr\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, 'k' },
		{ "syslog", no_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = "/etc/inkan/signer.conf";
	int check = 0, use_syslog = 0, c;
	static sg_config cfg;
	char err[512];
	struct sigaction sa;
	ik_status st;

	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': path = optarg; break;
		case 'k': check = 1; break;
		case 's': use_syslog = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (check && optind == argc - 1) /* inkan-signerd --check-config FILE */
		path = argv[optind++];
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	ik_log_init("inkan-signerd", use_syslog, LOG_INFO);
	if (sg_config_load(path, &cfg, err, sizeof(err)) != IK_OK) {
		fprintf(stderr, "inkan-signerd: %s\n", err);
		return 1;
	}
	if (check) {
		printf("%s: OK (%zu profile%s)\n", path, cfg.nprofiles, cfg.nprofiles == 1 ? "" : "s");
		return 0;
	}
	if (geteuid() == 0)
		ik_log(LOG_WARNING, "running as root: on an appliance the signer runs as its own user "
		    "(firmware/), the only one that can read the token and the ledger");
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	/* libp11 is initialised here, after any fork a service manager did. */
	st = sg_server_new(&cfg, &g_server);
	if (st != IK_OK) {
		fprintf(stderr, "inkan-signerd: cannot start: %s (see the log above)\n",
		    ik_status_str(st));
		return 1;
	}
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	st = sg_server_run(g_server);
	sg_server_free(g_server);
	g_server = NULL;
	return st == IK_OK ? 0 : 1;
}
