/* inkan-ceremony: the key-ceremony tool.  "run" carries out a ceremony file (M-of-N PIN
 * shares, a signed transcript), "verify" checks a transcript offline, "demo" makes the demo
 * CA on one token. */
#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "ceremony.h"
#include "run.h"
#include "log.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: inkan-ceremony run FILE [--dry-run] [--yes] [--share SHAREFILE]...\n"
	    "       inkan-ceremony verify TRANSCRIPT [--root-fingerprint SHA256]\n"
	    "       inkan-ceremony demo --out DIR --token LABEL --pin-file FILE\n"
	    "                      [--module PATH] [--alg ec-p256|rsa-3072]\n"
	    "                      [--org NAME] [--country CC]\n"
	    "  run:    validate the ceremony FILE and its inputs, print what it will do, ask for\n"
	    "          'yes' at the terminal (--yes: do not ask; --dry-run: stop after the plan),\n"
	    "          then carry it out and sign its transcript.  Shares that unlock a token come\n"
	    "          from --share files or are typed at the terminal (never on the command line)\n"
	    "  verify: check a transcript's signature and the SHA-256 of every file it lists\n"
	    "  demo:   generate the root and issuing-CA keys on the token, sign the two CA\n"
	    "          certificates in it and write them to DIR (the PIN is read from FILE,\n"
	    "          mode 0400 or 0600; nothing is ever overwritten)\n"
	    "  see docs/CEREMONY.md\n");
}

/* The subcommands: one table, one dispatcher. */
typedef struct subcommand {
	const char *name;
	int (*run)(int argc, char **argv);
} subcommand;

static int demo_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "out", required_argument, NULL, 'o' }, { "token", required_argument, NULL, 't' },
		{ "pin-file", required_argument, NULL, 'p' }, { "module", required_argument, NULL, 'm' },
		{ "alg", required_argument, NULL, 'a' }, { "org", required_argument, NULL, 'O' },
		{ "country", required_argument, NULL, 'c' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	ceremony_demo_opts o = { .alg = HSM_KEY_EC_P256, .org = "Inkan Demo", .country = "JP" };
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'o': o.out = optarg; break;
		case 't': o.token = optarg; break;
		case 'p': o.pin_file = optarg; break;
		case 'm': o.module = optarg; break;
		case 'O': o.org = optarg; break;
		case 'c': o.country = optarg; break;
		case 'a':
			if (strcmp(optarg, "ec-p256") == 0)
				o.alg = HSM_KEY_EC_P256;
			else if (strcmp(optarg, "rsa-3072") == 0)
				o.alg = HSM_KEY_RSA_3072;
			else {
				fprintf(stderr, "inkan-ceremony: --alg must be ec-p256 or rsa-3072\n");
				return 2;
			}
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc || o.out == NULL || o.token == NULL || o.pin_file == NULL) {
		usage(stderr);
		return 2;
	}
	if (strlen(o.country) != 2 || !isupper((unsigned char)o.country[0]) ||
	    !isupper((unsigned char)o.country[1])) {
		fprintf(stderr, "inkan-ceremony: --country must be two capital letters\n");
		return 2;
	}
	if (strlen(o.org) == 0 || strlen(o.org) > 48) {
		fprintf(stderr, "inkan-ceremony: --org must be 1..48 characters\n");
		return 2;
	}
	for (const char *p = o.org; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			fprintf(stderr, "inkan-ceremony: --org must not contain control characters\n");
			return 2;
		}
	return ceremony_demo(&o);
}

static int run_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dry-run", no_argument, NULL, 'n' }, { "yes", no_argument, NULL, 'y' },
		{ "share", required_argument, NULL, 's' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	cer_run_opts o;
	int c;

	memset(&o, 0, sizeof(o));
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'n': o.dry_run = 1; break;
		case 'y': o.yes = 1; break;
		case 's':
			if (o.nshare_files == SHARE_MAX_N) {
				fprintf(stderr, "inkan-ceremony: at most %d --share files\n", SHARE_MAX_N);
				return 2;
			}
			o.share_files[o.nshare_files++] = optarg;
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind + 1 != argc) {
		usage(stderr);
		return 2;
	}
	o.file = argv[optind];
	return ceremony_run(&o);
}

static int verify_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "root-fingerprint", required_argument, NULL, 'r' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *fpr = NULL;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'r': fpr = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind + 1 != argc) {
		usage(stderr);
		return 2;
	}
	return ceremony_verify(argv[optind], fpr);
}

int main(int argc, char **argv)
{
	static const subcommand cmds[] = {
		{ "run", run_main },
		{ "verify", verify_main },
		{ "demo", demo_main },
	};

	ik_log_init("inkan-ceremony", 0, LOG_WARNING);
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(argv[1], cmds[i].name) == 0)
			return cmds[i].run(argc - 1, argv + 1);
	fprintf(stderr, "inkan-ceremony: unknown subcommand '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
