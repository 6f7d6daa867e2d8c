/* inkan-admin: the appliance administrator's tool.  "backup" writes one encrypted archive of
 * everything the appliance needs to come back, "restore" brings it up on a fresh tree,
 * "list" shows what an archive holds.  The passphrase comes from a file descriptor or a
 * 0400/0600 file of the caller's, never from argv or the environment. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "admin.h"
#include "archive.h"
#include "hsm.h"

static void usage(FILE *f)
{
	fprintf(f,
	    "usage: inkan-admin backup -o ARCHIVE PASSPHRASE [--signer-config FILE] [--ra-config FILE]\n"
	    "                          [--hsm-dir DIR | --no-hsm-dir] [--include PATH]... [-v]\n"
	    "       inkan-admin restore -i ARCHIVE PASSPHRASE [--root DIR] [--force] [-v]\n"
	    "       inkan-admin list -i ARCHIVE PASSPHRASE\n"
	    "  PASSPHRASE is --passphrase-fd N or --passphrase-file FILE (mode 0400 or 0600, yours);\n"
	    "  never on the command line.  A backup needs at least %d characters.\n"
	    "  backup:  both configs (default /etc/inkan/signer.conf and /etc/inkan/ra.conf), the\n"
	    "           files they name, the token directory (default: the directory of [hsm]\n"
	    "           pin_file) and online snapshots of the RA store and the signer ledger,\n"
	    "           encrypted with AES-256-GCM under a scrypt key; ARCHIVE must not exist\n"
	    "  restore: authenticates the whole archive first (exit 3: wrong passphrase, 4: the\n"
	    "           archive was altered), then writes every file back to its path (under\n"
	    "           --root DIR if given) with its mode and owner; files that exist are not\n"
	    "           replaced without --force\n", AD_PASS_MIN);
}

/* The passphrase, from exactly one source. */
static int get_pass(int fd, const char *file, char *out, size_t outsz)
{
	ik_status st;

	if ((fd >= 0) == (file != NULL)) {
		fprintf(stderr, "inkan-admin: give the passphrase with exactly one of "
		    "--passphrase-fd or --passphrase-file\n");
		return 0;
	}
	st = file != NULL ? hsm_read_pin_file(file, out, outsz) : hsm_read_pin_fd(fd, out, outsz);
	if (st == IK_OK)
		return 1;
	if (file != NULL && st == IK_ERR_CONFIG)
		fprintf(stderr, "inkan-admin: %s: the passphrase file must be a regular file of yours, "
		    "mode 0400 or 0600, holding one non-empty line of at most %d bytes\n", file,
		    AD_PASS_MAX);
	else if (file != NULL)
		fprintf(stderr, "inkan-admin: %s: cannot read the passphrase: %s\n", file, ik_status_str(st));
	else
		fprintf(stderr, "inkan-admin: cannot read one non-empty line of at most %d bytes "
		    "from file descriptor %d\n", AD_PASS_MAX, fd);
	return 0;
}

static int parse_fd(const char *v, int *out)
{
	char *end = NULL;
	long x = strtol(v, &end, 10);

	if (end == v || *end != '\0' || x < 0 || x > 1024) {
		fprintf(stderr, "inkan-admin: --passphrase-fd wants a descriptor number, got '%s'\n", v);
		return 0;
	}
	*out = (int)x;
	return 1;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' }, { "input", required_argument, NULL, 'i' },
		{ "passphrase-fd", required_argument, NULL, 'F' },
		{ "passphrase-file", required_argument, NULL, 'P' },
		{ "signer-config", required_argument, NULL, 'S' },
		{ "ra-config", required_argument, NULL, 'R' },
		{ "hsm-dir", required_argument, NULL, 'H' }, { "no-hsm-dir", no_argument, NULL, 'N' },
		{ "include", required_argument, NULL, 'I' }, { "root", required_argument, NULL, 'r' },
		{ "force", no_argument, NULL, 'f' }, { "kdf-cost", required_argument, NULL, 'K' },
		{ "verbose", no_argument, NULL, 'v' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	ad_backup_opts b = { .signer_config = "/etc/inkan/signer.conf",
		.ra_config = "/etc/inkan/ra.conf", .log2n = 17 };
	ad_restore_opts r = { .root = "" };
	const char *cmd, *pass_file = NULL;
	char pass[AD_PASS_MAX + 1], root[AD_PATH_MAX + 1];
	int pass_fd = -1, c, rc;

	if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	cmd = argv[1];
	if (strcmp(cmd, "backup") != 0 && strcmp(cmd, "restore") != 0 && strcmp(cmd, "list") != 0) {
		fprintf(stderr, "inkan-admin: unknown command '%s'\n", cmd);
		usage(stderr);
		return 2;
	}
	argv++;
	argc--;
	while ((c = getopt_long(argc, argv, "o:i:vh", opts, NULL)) != -1) {
		switch (c) {
		case 'o': b.out = optarg; break;
		case 'i': r.in = optarg; break;
		case 'F': if (!parse_fd(optarg, &pass_fd)) return 2; break;
		case 'P': pass_file = optarg; break;
		case 'S': b.signer_config = optarg; break;
		case 'R': b.ra_config = optarg; break;
		case 'H': b.hsm_dir = optarg; break;
		case 'N': b.no_hsm_dir = 1; break;
		case 'I':
			if (b.nincludes == AD_MAX_INCLUDES) {
				fprintf(stderr, "inkan-admin: at most %d --include\n", AD_MAX_INCLUDES);
				return 2;
			}
			b.includes[b.nincludes++] = optarg;
			break;
		case 'r': r.root = optarg; break;
		case 'f': r.force = 1; break;
		case 'K': /* scrypt cost 2^N: tests use a cheaper one */
			b.log2n = (unsigned)strtoul(optarg, NULL, 10);
			if (b.log2n < 14 || b.log2n > 20) {
				fprintf(stderr, "inkan-admin: --kdf-cost must be 14..20\n");
				return 2;
			}
			break;
		case 'v': b.verbose = r.verbose = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc || (strcmp(cmd, "backup") == 0 ? b.out == NULL : r.in == NULL)) {
		usage(stderr);
		return 2;
	}
	if (r.root[0] != '\0') {
		size_t n = strlen(r.root);
		if (r.root[0] != '/' || n > AD_PATH_MAX) {
			fprintf(stderr, "inkan-admin: --root must be an absolute path\n");
			return 2;
		}
		memcpy(root, r.root, n + 1);
		while (n > 1 && root[n - 1] == '/')
			root[--n] = '\0';
		r.root = strcmp(root, "/") == 0 ? "" : root;
	}
	if (!get_pass(pass_fd, pass_file, pass, sizeof(pass)))
		return 2;
	if (strcmp(cmd, "backup") == 0) {
		rc = ad_backup(&b, pass);
	} else {
		r.list_only = strcmp(cmd, "list") == 0;
		rc = ad_restore(&r, pass);
	}
	OPENSSL_cleanse(pass, sizeof(pass));
	return rc;
}
