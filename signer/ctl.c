/* inkan-signctl: a small operator and test client for the signer's socket — hello,
 * status, chain, crl, profiles, issue (from a public key file), revoke, hold, release. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "proto.h"

typedef struct ctl_opts {
	const char *socket;
	const char *out;
	const char *request_id;
	const char *profile;
	const char *pubkey;
	proto_attr_val attrs[PROTO_MAX_ATTRS];
	uint8_t nattrs;
	long days;
	uint64_t not_before, not_after;
	uint32_t flags;
	unsigned reason;
	int der;
} ctl_opts;

static void usage(FILE *f)
{
	fprintf(f,
	    "usage: inkan-signctl [-s SOCKET] COMMAND [options]\n"
	    "  hello | status | profiles | chain [-o FILE] | crl [-o FILE] [--der]\n"
	    "  issue --id REQUEST_ID --profile NAME --pubkey PEMFILE --attr CN=name [--attr OU=x ...]\n"
	    "        [--days N | --not-before UNIX --not-after UNIX] [--ca] [--flags N] [-o FILE]\n"
	    "  revoke SERIALHEX [--reason N] | hold SERIALHEX | release SERIALHEX\n"
	    "SOCKET defaults to /run/inkan/signer.sock.\n");
}

static int fail(const char *what, ik_status st, const proto_error *e)
{
	if (e != NULL && e->detail[0] != '\0')
		fprintf(stderr, "inkan-signctl: %s: %s: %s\n", what, ik_status_code(st), e->detail);
	else
		fprintf(stderr, "inkan-signctl: %s: %s: %s\n", what, ik_status_code(st),
		    ik_status_str(st));
	return 1;
}

static int parse_attr(ctl_opts *o, const char *s)
{
	static const char *const names[PROTO_ATTR_MAX + 1] = {
		"", "CN", "O", "OU", "L", "ST", "C", "serialNumber",
	};
	const char *eq = strchr(s, '=');

	if (eq == NULL || o->nattrs == PROTO_MAX_ATTRS)
		return -1;
	for (uint8_t t = 1; t <= PROTO_ATTR_MAX; t++) {
		if (strlen(names[t]) == (size_t)(eq - s) && strncmp(names[t], s, (size_t)(eq - s)) == 0) {
			o->attrs[o->nattrs].type = t;
			if (strlen(eq + 1) > PROTO_MAX_ATTR_LEN)
				return -1;
			snprintf(o->attrs[o->nattrs].value, sizeof(o->attrs[0].value), "%s", eq + 1);
			o->nattrs++;
			return 0;
		}
	}
	return -1;
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end = NULL;
	unsigned long long v;

	errno = 0;
	if (!isdigit((unsigned char)*s))
		return -1;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

/* Hex (as openssl prints it, optionally with colons) to INTEGER content bytes. */
static int parse_serial(const char *s, proto_revoke *m)
{
	uint8_t raw[PROTO_MAX_SERIAL + 1];
	size_t n = 0, nib = 0, digits = 0;
	const char *p;

	for (p = s; *p != '\0'; p++)
		if (isxdigit((unsigned char)*p))
			digits++;
		else if (*p != ':')
			return -1;
	if (digits == 0 || (digits + 1) / 2 > sizeof(raw))
		return -1;
	memset(raw, 0, sizeof(raw));
	nib = digits % 2; /* an odd count starts with a half byte */
	for (p = s; *p != '\0'; p++) {
		unsigned v;
		if (*p == ':')
			continue;
		v = (unsigned)(isdigit((unsigned char)*p) ? *p - '0' : tolower((unsigned char)*p) - 'a' + 10);
		if (nib % 2 == 0)
			raw[n] = (uint8_t)(v << 4);
		else
			raw[n++] |= (uint8_t)v;
		nib++;
	}
	size_t skip = 0;
	while (skip + 1 < n && raw[skip] == 0)
		skip++;
	m->serial_len = 0;
	if (raw[skip] & 0x80)
		m->serial[m->serial_len++] = 0;
	if (m->serial_len + n - skip > PROTO_MAX_SERIAL)
		return -1;
	memcpy(m->serial + m->serial_len, raw + skip, n - skip);
	m->serial_len += n - skip;
	return 0;
}

static void print_serial(const uint8_t *s, size_t n)
{
	size_t i = 0;

	while (i + 1 < n && s[i] == 0)
		i++;
	fprintf(stderr, "serial ");
	for (; i < n; i++)
		fprintf(stderr, "%02X", s[i]);
}

static FILE *open_out(const ctl_opts *o)
{
	return o->out != NULL ? fopen(o->out, "wb") : stdout;
}

static int write_pem_cert(const ctl_opts *o, const uint8_t *der, size_t len)
{
	const uint8_t *p = der;
	X509 *x = d2i_X509(NULL, &p, (long)len);
	FILE *f;
	int rc = 1;

	if (x == NULL || p != der + len) {
		fprintf(stderr, "inkan-signctl: the signer returned a certificate OpenSSL cannot parse\n");
		X509_free(x);
		return 1;
	}
	if ((f = open_out(o)) != NULL) {
		rc = PEM_write_X509(f, x) == 1 ? 0 : 1;
		if (f != stdout)
			fclose(f);
	}
	X509_free(x);
	return rc;
}

static ik_status load_spki(const char *path, ik_buf *b)
{
	FILE *f = fopen(path, "r");
	EVP_PKEY *pk;
	uint8_t *der = NULL;
	int n;
	ik_status st;

	if (f == NULL)
		return IK_ERR_IO;
	pk = PEM_read_PUBKEY(f, NULL, NULL, NULL);
	fclose(f);
	if (pk == NULL)
		return IK_ERR_ARG;
	n = i2d_PUBKEY(pk, &der);
	EVP_PKEY_free(pk);
	if (n <= 0)
		return IK_ERR_CRYPTO;
	st = ik_buf_put(b, der, (size_t)n);
	OPENSSL_free(der);
	return st;
}

static int cmd_issue(int fd, ctl_opts *o)
{
	proto_issue m;
	proto_issue_reply r;
	proto_error e = { 0 };
	ik_buf spki, req, rep;
	ik_status st;
	int rc = 1;

	if (o->request_id == NULL || o->profile == NULL || o->pubkey == NULL) {
		usage(stderr);
		return 2;
	}
	ik_buf_init(&spki, 0);
	ik_buf_init(&req, 0);
	ik_buf_init(&rep, 0);
	memset(&m, 0, sizeof(m));
	if ((st = load_spki(o->pubkey, &spki)) != IK_OK) {
		fprintf(stderr, "inkan-signctl: %s: cannot read a PEM public key\n", o->pubkey);
		goto out;
	}
	snprintf(m.request_id, sizeof(m.request_id), "%s", o->request_id);
	snprintf(m.profile, sizeof(m.profile), "%s", o->profile);
	m.spki = ik_buf_ptr(&spki);
	m.spki_len = ik_buf_remaining(&spki);
	m.nattrs = o->nattrs;
	memcpy(m.attrs, o->attrs, sizeof(m.attrs));
	m.not_before = o->not_before;
	m.not_after = o->not_after != 0 ? o->not_after :
	    (uint64_t)time(NULL) + (uint64_t)o->days * 86400u;
	m.flags = o->flags;
	if ((st = proto_encode_issue(&req, &m)) != IK_OK) {
		rc = fail("issue", st, NULL);
		goto out;
	}
	if ((st = proto_call(fd, PROTO_ISSUE, &req, &rep, &e)) != IK_OK) {
		rc = fail("issue", st, &e);
		goto out;
	}
	if ((st = proto_decode_issue_reply(ik_buf_ptr(&rep), ik_buf_remaining(&rep), &r)) != IK_OK) {
		rc = fail("issue reply", st, NULL);
		goto out;
	}
	print_serial(r.serial, r.serial_len);
	fprintf(stderr, "%s\n", r.replayed ? " (replayed)" : "");
	rc = write_pem_cert(o, r.cert, r.cert_len);
out:
	ik_buf_cleanup(&spki);
	ik_buf_cleanup(&req);
	ik_buf_cleanup(&rep);
	return rc;
}

static int cmd_event(int fd, uint16_t type, const char *serial, const ctl_opts *o)
{
	proto_revoke m;
	proto_revoke_reply r;
	proto_error e = { 0 };
	ik_buf req, rep;
	ik_status st;
	int rc = 1;
	static const char *const states[] = { "good", "held", "revoked" };

	memset(&m, 0, sizeof(m));
	if (serial == NULL || parse_serial(serial, &m) != 0) {
		fprintf(stderr, "inkan-signctl: a serial in hex is required\n");
		return 2;
	}
	m.reason = (uint8_t)o->reason;
	ik_buf_init(&req, 0);
	ik_buf_init(&rep, 0);
	if ((st = proto_encode_revoke(&req, &m)) != IK_OK ||
	    (st = proto_call(fd, type, &req, &rep, &e)) != IK_OK) {
		rc = fail(proto_type_name(type), st, &e);
		goto out;
	}
	if ((st = proto_decode_revoke_reply(ik_buf_ptr(&rep), ik_buf_remaining(&rep), &r)) != IK_OK) {
		rc = fail("reply", st, NULL);
		goto out;
	}
	printf("%s at %llu\n", r.state <= 2 ? states[r.state] : "?", (unsigned long long)r.when);
	rc = 0;
out:
	ik_buf_cleanup(&req);
	ik_buf_cleanup(&rep);
	return rc;
}

/* PROFILES, printed in the signer.conf syntax ([profile.NAME] and its keys). */
static void print_profile(const proto_profile *p)
{
	static const char *const usages[PROTO_USAGE_MAX + 1] = { "client", "server", "email" };
	static const char *const keys[3] = { "ec-p256", "ec-p384", "rsa" };
	static const char *const attrs[PROTO_ATTR_MAX + 1] = {
		"", "CN", "O", "OU", "L", "ST", "C", "serialNumber",
	};
	const uint8_t masks[2] = { p->attrs_allowed, p->attrs_required };

	printf("[profile.%s]\nusage = %s\nkey_types =", p->name, usages[p->usage]);
	for (unsigned i = 0; i < 3; i++)
		if (p->key_types & (1u << i))
			printf(" %s", keys[i]);
	printf("\nrsa_min_bits = %u\nmax_days = %u\nbackdate = %u\n", p->rsa_min_bits,
	    p->max_days, p->backdate);
	for (unsigned m = 0; m < 2; m++) {
		printf("%s =", m == 0 ? "subject_allowed" : "subject_required");
		for (unsigned a = 1; a <= PROTO_ATTR_MAX; a++)
			if (masks[m] & (1u << a))
				printf(" %s", attrs[a]);
		printf("\n");
	}
	for (uint8_t i = 0; i < p->nfixed; i++)
		printf("%s = %s\n", attrs[p->fixed[i].type], p->fixed[i].value);
	printf("crl_url = %s\nocsp_url = %s\nca_issuers_url = %s\n", p->crl_url, p->ocsp_url,
	    p->ca_issuers_url);
}

static int cmd_profiles(int fd)
{
	proto_error e = { 0 };
	proto_profiles_reply *r = calloc(1, sizeof(*r));
	ik_buf req, rep;
	ik_status st;
	int rc = 1;

	ik_buf_init(&req, 0);
	ik_buf_init(&rep, 0);
	if (r == NULL)
		goto out;
	if ((st = proto_call(fd, PROTO_PROFILES, &req, &rep, &e)) != IK_OK) {
		rc = fail("profiles", st, &e);
		goto out;
	}
	if ((st = proto_decode_profiles_reply(ik_buf_ptr(&rep), ik_buf_remaining(&rep), r)) != IK_OK) {
		rc = fail("profiles: reply", st, NULL);
		goto out;
	}
	for (uint8_t i = 0; i < r->n; i++) {
		if (i > 0)
			printf("\n");
		print_profile(&r->p[i]);
	}
	rc = 0;
out:
	free(r);
	ik_buf_cleanup(&req);
	ik_buf_cleanup(&rep);
	return rc;
}

static int cmd_simple(int fd, uint16_t type, const ctl_opts *o)
{
	proto_error e = { 0 };
	ik_buf req, rep;
	ik_status st;
	int rc = 1;

	ik_buf_init(&req, 0);
	ik_buf_init(&rep, 0);
	if ((st = proto_call(fd, type, &req, &rep, &e)) != IK_OK) {
		rc = fail(proto_type_name(type), st, &e);
		goto out;
	}
	if (type == PROTO_STATUS) {
		proto_status_reply r;
		if ((st = proto_decode_status_reply(ik_buf_ptr(&rep), ik_buf_remaining(&rep), &r)) != IK_OK)
			goto out;
		printf("hsm: %s\nissued: %llu\nrevoked: %llu\nheld: %llu\ncrl_number: %llu\nuptime: %llu\n",
		    r.hsm_ok ? "ok" : "unavailable", (unsigned long long)r.issued,
		    (unsigned long long)r.revoked, (unsigned long long)r.held,
		    (unsigned long long)r.crl_number, (unsigned long long)r.uptime);
		rc = 0;
	} else if (type == PROTO_GET_CHAIN) {
		proto_chain_reply r;
		FILE *f;
		if ((st = proto_decode_chain_reply(ik_buf_ptr(&rep), ik_buf_remaining(&rep), &r)) != IK_OK ||
		    (f = open_out(o)) == NULL)
			goto out;
		rc = 0;
		for (uint8_t i = 0; i < r.n; i++) {
			const uint8_t *p = r.cert[i];
			X509 *x = d2i_X509(NULL, &p, (long)r.cert_len[i]);
			if (x == NULL || PEM_write_X509(f, x) != 1)
				rc = 1;
			X509_free(x);
		}
		if (f != stdout)
			fclose(f);
	} else {
		proto_crl_reply r;
		FILE *f;
		if ((st = proto_decode_crl_reply(ik_buf_ptr(&rep), ik_buf_remaining(&rep), &r)) != IK_OK ||
		    (f = open_out(o)) == NULL)
			goto out;
		fprintf(stderr, "crl_number %llu\n", (unsigned long long)r.crl_number);
		if (o->der) {
			rc = fwrite(r.crl, 1, r.crl_len, f) == r.crl_len ? 0 : 1;
		} else {
			const uint8_t *p = r.crl;
			X509_CRL *crl = d2i_X509_CRL(NULL, &p, (long)r.crl_len);
			rc = crl != NULL && PEM_write_X509_CRL(f, crl) == 1 ? 0 : 1;
			X509_CRL_free(crl);
		}
		if (f != stdout)
			fclose(f);
	}
out:
	ik_buf_cleanup(&req);
	ik_buf_cleanup(&rep);
	return rc;
}

static int cmd_hello(int fd)
{
	proto_hello m = { .version_min = PROTO_VERSION, .version_max = PROTO_VERSION };
	proto_hello_reply r;
	proto_error e = { 0 };
	ik_buf req, rep;
	ik_status st;
	int rc = 1;

	snprintf(m.peer, sizeof(m.peer), "inkan-signctl");
	ik_buf_init(&req, 0);
	ik_buf_init(&rep, 0);
	if ((st = proto_encode_hello(&req, &m)) != IK_OK ||
	    (st = proto_call(fd, PROTO_HELLO, &req, &rep, &e)) != IK_OK ||
	    (st = proto_decode_hello_reply(ik_buf_ptr(&rep), ik_buf_remaining(&rep), &r)) != IK_OK) {
		rc = fail("hello", st, &e);
		goto out;
	}
	rc = 0;
	if (getenv("INKAN_SIGNCTL_VERBOSE") != NULL)
		fprintf(stderr, "%s speaks protocol %u\n", r.peer, r.version);
out:
	ik_buf_cleanup(&req);
	ik_buf_cleanup(&rep);
	return rc;
}

/* 0 ok, 1 help printed, 2 usage error */
static int parse_opt(ctl_opts *o, int c, const char *arg)
{
	uint64_t v;

	switch (c) {
	case 's': o->socket = arg; break;
	case 'o': o->out = arg; break;
	case 'i': o->request_id = arg; break;
	case 'p': o->profile = arg; break;
	case 'k': o->pubkey = arg; break;
	case 'a':
		if (parse_attr(o, arg) != 0) {
			fprintf(stderr, "inkan-signctl: bad --attr '%s' (NAME=value)\n", arg);
			return 2;
		}
		break;
	case 'd':
		if (parse_u64(arg, &v) != 0 || v > 100000)
			goto bad;
		o->days = (long)v;
		break;
	case 'b':
		if (parse_u64(arg, &o->not_before) != 0)
			goto bad;
		break;
	case 'e':
		if (parse_u64(arg, &o->not_after) != 0)
			goto bad;
		break;
	case 'C': o->flags |= PROTO_ISSUE_F_CA; break;
	case 'f':
		if (parse_u64(arg, &v) != 0 || v > 0xffffffffu)
			goto bad;
		o->flags |= (uint32_t)v;
		break;
	case 'r':
		if (parse_u64(arg, &v) != 0 || v > 255)
			goto bad;
		o->reason = (unsigned)v;
		break;
	case 'D': o->der = 1; break;
	case 'h': usage(stdout); return 1;
	default: goto bad;
	}
	return 0;
bad:
	usage(stderr);
	return 2;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' }, { "out", required_argument, NULL, 'o' },
		{ "id", required_argument, NULL, 'i' }, { "profile", required_argument, NULL, 'p' },
		{ "pubkey", required_argument, NULL, 'k' }, { "attr", required_argument, NULL, 'a' },
		{ "days", required_argument, NULL, 'd' }, { "not-before", required_argument, NULL, 'b' },
		{ "not-after", required_argument, NULL, 'e' }, { "ca", no_argument, NULL, 'C' },
		{ "flags", required_argument, NULL, 'f' }, { "reason", required_argument, NULL, 'r' },
		{ "der", no_argument, NULL, 'D' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	ctl_opts o;
	const char *cmd;
	int c, fd = -1, rc;
	ik_status st;

	memset(&o, 0, sizeof(o));
	o.socket = "/run/inkan/signer.sock";
	o.days = 365;
	while ((c = getopt_long(argc, argv, "+s:o:h", opts, NULL)) != -1)
		if ((rc = parse_opt(&o, c, optarg)) != 0)
			return rc == 1 ? 0 : rc;
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	cmd = argv[optind];
	/* options may follow the command too; the serial is the one positional argument.
	 * Rescan the rest from a fresh getopt state (the first pass stopped at the command). */
	argc -= optind;
	argv += optind;
	optind = 0;
	while ((c = getopt_long(argc, argv, "s:o:h", opts, NULL)) != -1)
		if ((rc = parse_opt(&o, c, optarg)) != 0)
			return rc == 1 ? 0 : rc;
	if ((st = proto_connect(o.socket, &fd)) != IK_OK) {
		fprintf(stderr, "inkan-signctl: cannot connect to %s: %s\n", o.socket, strerror(errno));
		return 1;
	}
	if ((rc = cmd_hello(fd)) != 0)
		goto out;
	if (strcmp(cmd, "hello") == 0)
		rc = 0;
	else if (strcmp(cmd, "status") == 0)
		rc = cmd_simple(fd, PROTO_STATUS, &o);
	else if (strcmp(cmd, "profiles") == 0)
		rc = cmd_profiles(fd);
	else if (strcmp(cmd, "chain") == 0)
		rc = cmd_simple(fd, PROTO_GET_CHAIN, &o);
	else if (strcmp(cmd, "crl") == 0)
		rc = cmd_simple(fd, PROTO_GET_CRL, &o);
	else if (strcmp(cmd, "issue") == 0)
		rc = cmd_issue(fd, &o);
	else if (strcmp(cmd, "revoke") == 0)
		rc = cmd_event(fd, PROTO_REVOKE, optind < argc ? argv[optind] : NULL, &o);
	else if (strcmp(cmd, "hold") == 0)
		rc = cmd_event(fd, PROTO_HOLD, optind < argc ? argv[optind] : NULL, &o);
	else if (strcmp(cmd, "release") == 0)
		rc = cmd_event(fd, PROTO_RELEASE, optind < argc ? argv[optind] : NULL, &o);
	else {
		usage(stderr);
		rc = 2;
	}
out:
	close(fd);
	return rc;
}
