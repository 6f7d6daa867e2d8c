/* inkan-token: create and inspect PKCS#11 tokens — init a token, generate a key pair, list
 * slots.  PINs come only from credential files (0400/0600), never from argv. */
#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "hsm.h"
#include "log.h"

static void usage(FILE *f)
{
	fprintf(f, "usage:\n"
	    "  inkan-token init --label L --so-pin-file F --pin-file F [--module M]\n"
	    "  inkan-token keygen --label TOKEN --pin-file F --key-label K --key-id HEX\n"
	    "                     --alg ec-p256|ec-p384|rsa-3072|rsa-4096 [--module M]\n");
}

static int parse_hex(const char *s, uint8_t *out, size_t outsz, size_t *n)
{
	size_t len = strlen(s);

	if (len == 0 || len % 2 != 0 || len / 2 > outsz)
		return -1;
	for (size_t i = 0; i < len / 2; i++) {
		unsigned v = 0;
		for (int k = 0; k < 2; k++) {
			char c = (char)tolower((unsigned char)s[2 * i + (size_t)k]);
			if (!isxdigit((unsigned char)c))
				return -1;
			v = v << 4 | (unsigned)(isdigit((unsigned char)c) ? c - '0' : c - 'a' + 10);
		}
		out[i] = (uint8_t)v;
	}
	*n = len / 2;
	return 0;
}

static int parse_alg(const char *s, hsm_keyalg *alg)
{
	static const struct { const char *name; hsm_keyalg alg; } t[] = {
		{ "ec-p256", HSM_KEY_EC_P256 }, { "ec-p384", HSM_KEY_EC_P384 },
		{ "rsa-3072", HSM_KEY_RSA_3072 }, { "rsa-4096", HSM_KEY_RSA_4096 },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (strcmp(s, t[i].name) == 0) {
			*alg = t[i].alg;
			return 0;
		}
	return -1;
}

static int read_pin(const char *path, char *pin, size_t n, const char *what)
{
	ik_status st = hsm_read_pin_file(path, pin, n);

	if (st != IK_OK) {
		fprintf(stderr, "inkan-token: %s %s: %s (must be a non-empty file of ours, mode 0400 or 0600)\n",
		    what, path, ik_status_str(st));
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "label", required_argument, NULL, 'l' }, { "so-pin-file", required_argument, NULL, 's' },
		{ "pin-file", required_argument, NULL, 'p' }, { "module", required_argument, NULL, 'm' },
		{ "key-label", required_argument, NULL, 'k' }, { "key-id", required_argument, NULL, 'i' },
		{ "alg", required_argument, NULL, 'a' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *label = NULL, *so_file = NULL, *pin_file = NULL, *module = NULL, *key_label = NULL;
	const char *cmd;
	char so[HSM_MAX_PIN + 1], pin[HSM_MAX_PIN + 1];
	uint8_t id[64];
	size_t id_len = 0;
	hsm_keyalg alg = HSM_KEY_EC_P256;
	ik_status st;
	int c, rc = 1;

	ik_log_init("inkan-token", 0, LOG_WARNING);
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	cmd = argv[1];
	optind = 2;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'l': label = optarg; break;
		case 's': so_file = optarg; break;
		case 'p': pin_file = optarg; break;
		case 'm': module = optarg; break;
		case 'k': key_label = optarg; break;
		case 'i':
			if (parse_hex(optarg, id, sizeof(id), &id_len) != 0) {
				fprintf(stderr, "inkan-token: --key-id must be 1..64 bytes of hex\n");
				return 2;
			}
			break;
		case 'a':
			if (parse_alg(optarg, &alg) != 0) {
				fprintf(stderr, "inkan-token: unknown --alg %s\n", optarg);
				return 2;
			}
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc || label == NULL || pin_file == NULL) {
		usage(stderr);
		return 2;
	}
	if (strcmp(cmd, "init") == 0) {
		if (so_file == NULL) {
			usage(stderr);
			return 2;
		}
		if (read_pin(so_file, so, sizeof(so), "SO PIN file") != 0 ||
		    read_pin(pin_file, pin, sizeof(pin), "PIN file") != 0)
			goto out;
		st = hsm_token_init(module, label, so, pin);
		if (st != IK_OK) {
			fprintf(stderr, "inkan-token: init token '%s': %s\n", label,
			    st == IK_ERR_EXISTS ? "a token with this label already exists" : ik_status_str(st));
			goto out;
		}
		printf("token '%s' initialised\n", label);
		rc = 0;
	} else if (strcmp(cmd, "keygen") == 0) {
		if (key_label == NULL || id_len == 0) {
			usage(stderr);
			return 2;
		}
		if (read_pin(pin_file, pin, sizeof(pin), "PIN file") != 0)
			goto out;
		st = hsm_keygen(module, label, pin, key_label, id, id_len, alg);
		if (st != IK_OK) {
			fprintf(stderr, "inkan-token: keygen '%s' on token '%s': %s\n", key_label, label,
			    st == IK_ERR_EXISTS ? "a key with this label or id already exists" : ik_status_str(st));
			goto out;
		}
		printf("key '%s' generated on token '%s'\n", key_label, label);
		rc = 0;
	} else {
		usage(stderr);
		return 2;
	}
out:
	OPENSSL_cleanse(so, sizeof(so));
	OPENSSL_cleanse(pin, sizeof(pin));
	return rc;
}
