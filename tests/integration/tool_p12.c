/* tool_p12: drives ra/p12.c the way the download flow will, for the interop tests.
 *   tool_p12 issue -s SOCKET --id REQID --cn CN [--key ec-p256] [--flavour modern]
 *                  [--iter N] [--profile client] [--days 30] --out FILE
 *     generates the device key in memory, has the real signer issue it (ra_signer_*),
 *     fetches the chain and writes the PKCS#12 (0600).  The file password is read from
 *     file descriptor 3 (one line), never from argv or the environment.
 *   tool_p12 csr --in CSR --pubout PUB.pem
 *     verifies a PKCS#10 (PEM or DER), writes its SPKI as a PEM public key, prints cn=CN. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "p12.h"
#include "signer_client.h"

typedef struct opts {
	const char *sock, *id, *cn, *out, *profile, *in, *pubout;
	ra_keytype key;
	ra_p12_flavour flavour;
	unsigned long iter, days;
} opts;

static void usage(void)
{
	fprintf(stderr, "usage: tool_p12 issue -s SOCKET --id REQID --cn CN [--key TYPE] "
	    "[--flavour modern|compatible] [--iter N] [--profile NAME] [--days N] --out FILE "
	    "3<password\n       tool_p12 csr --in CSR --pubout PUB.pem\n");
	exit(2);
}

static unsigned long num(const char *s)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0')
		usage();
	return v;
}

static void parse(int argc, char **argv, opts *o)
{
	memset(o, 0, sizeof(*o));
	o->profile = "client";
	o->days = 30;
	for (int i = 2; i < argc; i += 2) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (v == NULL)
			usage();
		if (strcmp(a, "-s") == 0)
			o->sock = v;
		else if (strcmp(a, "--id") == 0)
			o->id = v;
		else if (strcmp(a, "--cn") == 0)
			o->cn = v;
		else if (strcmp(a, "--out") == 0)
			o->out = v;
		else if (strcmp(a, "--profile") == 0)
			o->profile = v;
		else if (strcmp(a, "--in") == 0)
			o->in = v;
		else if (strcmp(a, "--pubout") == 0)
			o->pubout = v;
		else if (strcmp(a, "--iter") == 0)
			o->iter = num(v);
		else if (strcmp(a, "--days") == 0)
			o->days = num(v);
		else if (strcmp(a, "--key") == 0 && ra_keytype_parse(v, &o->key) == IK_OK)
			;
		else if (strcmp(a, "--flavour") == 0 && ra_p12_flavour_parse(v, &o->flavour) == IK_OK)
			;
		else
			usage();
	}
}

/* One line from fd 3 into pw (wiped by the caller). */
static int read_password(char *pw, size_t pwsz)
{
	size_t n = 0;
	char c;
	ssize_t r;

	while (n + 1 < pwsz && (r = read(3, &c, 1)) == 1 && c != '\n')
		pw[n++] = c;
	pw[n] = '\0';
	if (n == 0) {
		fprintf(stderr, "tool_p12: no password on fd 3\n");
		return -1;
	}
	return 0;
}

static int write_file(const char *path, const uint8_t *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

	if (fd < 0 || write(fd, p, n) != (ssize_t)n || close(fd) != 0) {
		fprintf(stderr, "tool_p12: %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

static int fail(const char *what, ik_status st, const proto_error *e)
{
	fprintf(stderr, "tool_p12: %s: %s%s%s\n", what, ik_status_code(st),
	    e != NULL && e->detail[0] ? ": " : "", e != NULL ? e->detail : "");
	return 1;
}

static int cmd_issue(const opts *o)
{
	char pw[RA_P12_MAX_PASSWORD + 2];
	EVP_PKEY *key = NULL;
	ra_signer *s = NULL;
	ik_buf spki, rep, crep, p12;
	proto_issue m;
	proto_issue_reply r;
	proto_chain_reply c;
	proto_error e = { 0 };
	ra_p12_req pr;
	ik_status st;
	int rc = 1;

	if (o->sock == NULL || o->id == NULL || o->cn == NULL || o->out == NULL)
		usage();
	ik_buf_init(&spki, 0);
	ik_buf_init(&rep, 0);
	ik_buf_init(&crep, 0);
	ik_buf_init(&p12, 0);
	if (read_password(pw, sizeof(pw)) != 0)
		goto out;
	if ((st = ra_signer_new(o->sock, 1, &s)) != IK_OK) {
		rc = fail("signer", st, NULL);
		goto out;
	}
	if ((st = ra_p12_keygen(o->key, &key, &spki)) != IK_OK) {
		rc = fail("keygen", st, NULL);
		goto out;
	}
	memset(&m, 0, sizeof(m));
	snprintf(m.request_id, sizeof(m.request_id), "%s", o->id);
	snprintf(m.profile, sizeof(m.profile), "%s", o->profile);
	m.spki = spki.data;
	m.spki_len = spki.len;
	m.nattrs = 1;
	m.attrs[0].type = PROTO_ATTR_CN;
	snprintf(m.attrs[0].value, sizeof(m.attrs[0].value), "%s", o->cn);
	m.not_after = (uint64_t)time(NULL) + (uint64_t)o->days * 86400u;
	if ((st = ra_signer_issue(s, &m, &rep, &r, &e)) != IK_OK) {
		rc = fail("issue", st, &e);
		goto out;
	}
	if ((st = ra_signer_chain(s, &crep, &c, &e)) != IK_OK) {
		rc = fail("chain", st, &e);
		goto out;
	}
	memset(&pr, 0, sizeof(pr));
	pr.key = key;
	pr.cert = r.cert;
	pr.cert_len = r.cert_len;
	pr.chain = c.cert;
	pr.chain_len = c.cert_len;
	pr.nchain = c.n;
	pr.password = pw;
	pr.flavour = o->flavour;
	pr.iter = (uint32_t)o->iter;
	if ((st = ra_p12_build(&pr, &p12)) != IK_OK) {
		rc = fail("p12", st, NULL);
		goto out;
	}
	if (write_file(o->out, p12.data, p12.len) == 0)
		rc = 0;
out:
	OPENSSL_cleanse(pw, sizeof(pw));
	EVP_PKEY_free(key);
	ra_signer_free(s);
	ik_buf_cleanup(&spki);
	ik_buf_cleanup(&rep);
	ik_buf_cleanup(&crep);
	ik_buf_cleanup(&p12);
	return rc;
}

static int cmd_csr(const opts *o)
{
	static uint8_t in[RA_CSR_MAX + 1];
	char cn[PROTO_MAX_ATTR_LEN + 1], why[256] = "";
	FILE *f;
	size_t n;
	ik_buf spki;
	const unsigned char *p;
	EVP_PKEY *pub = NULL;
	ik_status st;
	int rc = 1;

	if (o->in == NULL || o->pubout == NULL)
		usage();
	if ((f = fopen(o->in, "rb")) == NULL) {
		fprintf(stderr, "tool_p12: %s: %s\n", o->in, strerror(errno));
		return 1;
	}
	n = fread(in, 1, sizeof(in), f);
	fclose(f);
	ik_buf_init(&spki, 0);
	if ((st = ra_p12_spki_from_csr(in, n, &spki, cn, sizeof(cn), why, sizeof(why))) != IK_OK) {
		fprintf(stderr, "tool_p12: %s: %s: %s\n", o->in, ik_status_code(st), why);
		goto out;
	}
	p = spki.data;
	if ((pub = d2i_PUBKEY(NULL, &p, (long)spki.len)) == NULL ||
	    (f = fopen(o->pubout, "wx")) == NULL)
		goto out;
	if (PEM_write_PUBKEY(f, pub) == 1)
		rc = 0;
	if (fclose(f) != 0)
		rc = 1;
	printf("cn=%s\n", cn);
out:
	EVP_PKEY_free(pub);
	ik_buf_cleanup(&spki);
	return rc;
}

int main(int argc, char **argv)
{
	opts o;

	if (argc < 2)
		usage();
	parse(argc, argv, &o);
	if (strcmp(argv[1], "issue") == 0)
		return cmd_issue(&o);
	if (strcmp(argv[1], "csr") == 0)
		return cmd_csr(&o);
	usage();
	return 2;
}
