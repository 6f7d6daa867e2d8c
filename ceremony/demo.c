/* demo: the demo key ceremony — a root key and an issuing-CA key generated on one token,
 * a self-signed root and an issuing-CA certificate signed in the HSM and checked, the
 * public artifacts written once (never overwritten).  It also makes the OCSP responder's
 * key (an EC P-256 key, whatever the CA's algorithm): the signer has its certificate issued
 * by the CA itself (signer/ocsp.c). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "ceremony.h"
#include "hsm.h"

#define ROOT_LABEL "inkan-root"
#define ICA_LABEL "inkan-issuing-ca"
#define OCSP_LABEL "inkan-ocsp"
#define ROOT_YEARS 20
#define ICA_YEARS 10
#define BACKDATE_SECONDS 60
#define ORG_MAX 48

static const uint8_t root_id[] = { 0x01 };
static const uint8_t ica_id[] = { 0x02 };
static const uint8_t ocsp_id[] = { 0x03 };

enum { OUT_ROOT_PEM, OUT_ROOT_DER, OUT_ICA_PEM, OUT_ICA_DER, OUT_CHAIN, OUT_FPR, OUT_N };
static const char *const out_files[OUT_N] = {
	"root-ca.pem", "root-ca.der", "issuing-ca.pem", "issuing-ca.der", "chain.pem",
	"fingerprints.txt",
};

/* Everything one run holds; released by demo_cleanup. */
typedef struct demo_run {
	const ceremony_demo_opts *o;
	char paths[OUT_N][PATH_MAX];
	int dir_missing;            /* create o->out (0755) just before writing */
	X509_NAME *root_name, *ica_name;
	time_t now;
	hsm_ctx *h;
	hsm_key *kroot, *kica;
	EVP_PKEY *proot, *pica;
	X509 *root, *ica;
	BIO *out[OUT_N];            /* file contents, built in memory before anything is written */
	char fpr_root[CER_FPR_LEN], fpr_ica[CER_FPR_LEN];
} demo_run;

static void demo_cleanup(demo_run *r)
{
	X509_NAME_free(r->root_name);
	X509_NAME_free(r->ica_name);
	X509_free(r->root);
	X509_free(r->ica);
	EVP_PKEY_free(r->proot);
	EVP_PKEY_free(r->pica);
	hsm_close(r->h);
	for (size_t i = 0; i < OUT_N; i++)
		BIO_free(r->out[i]);
}

/* ---- validation: everything is checked before the HSM is touched ---- */

static ik_status check_text(const ceremony_demo_opts *o)
{
	if (o->alg != HSM_KEY_EC_P256 && o->alg != HSM_KEY_RSA_3072) {
		cer_err("the demo CA key must be ec-p256 or rsa-3072");
		return IK_ERR_ARG;
	}
	if (o->out == NULL || o->out[0] == '\0' || o->token == NULL || o->token[0] == '\0' ||
	    o->pin_file == NULL || o->org == NULL || o->org[0] == '\0' || strlen(o->org) > ORG_MAX ||
	    o->country == NULL || strlen(o->country) != 2 || o->country[0] < 'A' ||
	    o->country[0] > 'Z' || o->country[1] < 'A' || o->country[1] > 'Z') {
		cer_err("bad arguments (--out, --token, --pin-file non-empty; --org 1..48 bytes; "
		    "--country two capital letters)");
		return IK_ERR_ARG;
	}
	if (!cer_text_ok(o->org, ORG_MAX)) {
		cer_err("--org must be UTF-8 text without control characters");
		return IK_ERR_ARG;
	}
	return IK_OK;
}

/* C=<country> (PrintableString), O=<org>, CN=<org><suffix> (UTF8String; org is checked). */
static ik_status make_name(const ceremony_demo_opts *o, const char *suffix, X509_NAME **out)
{
	char cn[ORG_MAX + 32];
	int len = snprintf(cn, sizeof(cn), "%s%s", o->org, suffix);

	*out = NULL;
	if (len < 0 || (size_t)len >= sizeof(cn) ||
	    cer_make_name(o->country, o->org, NULL, cn, out) != IK_OK) {
		cer_err("cannot encode the subject name");
		return IK_ERR_CRYPTO;
	}
	return IK_OK;
}

/* The output directory exists (or its parent does, to create it in) and none of the
 * output files exists. */
static ik_status check_out_dir(demo_run *r)
{
	const char *dir = r->o->out;
	char parent[PATH_MAX];
	struct stat st;
	char *slash;
	int n;

	if (stat(dir, &st) == 0) {
		if (!S_ISDIR(st.st_mode)) {
			cer_err("%s: not a directory", dir);
			return IK_ERR_ARG;
		}
	} else if (errno == ENOENT) {
		n = snprintf(parent, sizeof(parent), "%s", dir);
		if (n < 0 || (size_t)n >= sizeof(parent))
			return IK_ERR_ARG;
		while (n > 1 && parent[n - 1] == '/')
			parent[--n] = '\0';
		slash = strrchr(parent, '/');
		if (slash == NULL)
			memcpy(parent, ".", 2);
		else
			slash[slash == parent ? 1 : 0] = '\0';
		if (access(parent, W_OK | X_OK) != 0) {
			cer_err("cannot create %s: %s", dir, strerror(errno));
			return IK_ERR_IO;
		}
		r->dir_missing = 1;
	} else {
		cer_err("%s: %s", dir, strerror(errno));
		return IK_ERR_IO;
	}
	for (size_t i = 0; i < OUT_N; i++) {
		n = snprintf(r->paths[i], sizeof(r->paths[i]), "%s/%s", dir, out_files[i]);
		if (n < 0 || (size_t)n >= sizeof(r->paths[i])) {
			cer_err("%s: path too long", dir);
			return IK_ERR_ARG;
		}
		if (lstat(r->paths[i], &st) == 0) {
			cer_err("%s already exists: refusing to overwrite", r->paths[i]);
			return IK_ERR_EXISTS;
		}
		if (errno != ENOENT) {
			cer_err("%s: %s", r->paths[i], strerror(errno));
			return IK_ERR_IO;
		}
	}
	return IK_OK;
}

/* ---- the token: refuse if a CA key is there, generate both, open them ---- */

#define KEY_EXISTS_MSG "key %s already exists on token %s: refusing to overwrite"

/* Log in once (checks token and PIN) and look for either key by label and by id. */
static ik_status precheck_keys(demo_run *r, const hsm_config *hc)
{
	static const struct { const char *label; const uint8_t *id; } k[] = {
		{ ROOT_LABEL, root_id }, { ICA_LABEL, ica_id }, { OCSP_LABEL, ocsp_id },
	};
	hsm_key *found;
	ik_status st;

	if ((st = hsm_open(hc, &r->h)) != IK_OK) {
		cer_err("cannot open token %s: %s", r->o->token, ik_status_str(st));
		return st;
	}
	for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
		st = hsm_key_find(r->h, k[i].label, NULL, 0, &found);
		if (st == IK_ERR_NOT_FOUND)
			st = hsm_key_find(r->h, NULL, k[i].id, 1, &found);
		if (st == IK_OK) {
			cer_err(KEY_EXISTS_MSG, k[i].label, r->o->token);
			st = IK_ERR_EXISTS;
			goto out;
		}
		if (st != IK_ERR_NOT_FOUND) {
			cer_err("token %s: %s", r->o->token, ik_status_str(st));
			goto out;
		}
	}
	st = IK_OK;
out:
	hsm_close(r->h); /* no libp11 context may be open during hsm_keygen */
	r->h = NULL;
	return st;
}

static ik_status generate_keys(demo_run *r, const char *pin)
{
	const ceremony_demo_opts *o = r->o;
	const char *label = ROOT_LABEL;
	ik_status st;

	st = hsm_keygen(o->module, o->token, pin, ROOT_LABEL, root_id, sizeof(root_id), o->alg);
	if (st == IK_OK) {
		label = ICA_LABEL;
		st = hsm_keygen(o->module, o->token, pin, ICA_LABEL, ica_id, sizeof(ica_id), o->alg);
	}
	if (st == IK_OK) {
		label = OCSP_LABEL;
		st = hsm_keygen(o->module, o->token, pin, OCSP_LABEL, ocsp_id, sizeof(ocsp_id),
		    HSM_KEY_EC_P256);
	}
	if (st == IK_ERR_EXISTS)
		cer_err(KEY_EXISTS_MSG, label, o->token);
	else if (st != IK_OK)
		cer_err("generating key %s: %s", label, ik_status_str(st));
	return st;
}

static ik_status open_keys(demo_run *r, const hsm_config *hc)
{
	ik_status st;

	if ((st = hsm_open(hc, &r->h)) != IK_OK ||
	    (st = hsm_key_find(r->h, ROOT_LABEL, root_id, sizeof(root_id), &r->kroot)) != IK_OK ||
	    (st = hsm_key_find(r->h, ICA_LABEL, ica_id, sizeof(ica_id), &r->kica)) != IK_OK ||
	    (st = hsm_key_public(r->h, r->kroot, &r->proot)) != IK_OK ||
	    (st = hsm_key_public(r->h, r->kica, &r->pica)) != IK_OK)
		cer_err("opening the new keys on token %s: %s", r->o->token, ik_status_str(st));
	return st;
}

/* ---- certificates ---- */

/* Build one CA certificate, sign it in the HSM with signer, check the signature with
 * signer_pub.  issuer NULL = self-signed. */
static ik_status make_ca(demo_run *r, hsm_key *signer, EVP_PKEY *signer_pub, EVP_PKEY *pub,
    X509 *issuer, X509_NAME *subject, int years, int path_len, X509 **out)
{
	cer_ca_params p = { .subject = subject, .pub = pub, .issuer = issuer,
		.not_before = r->now - BACKDATE_SECONDS,
		.not_after = cer_add_validity(r->now, years, 0), .path_len = path_len };
	X509 *x = NULL;
	ik_status st;

	*out = NULL;
	if (p.not_after == (time_t)-1)
		return IK_ERR_INTERNAL;
	if ((st = cer_ca_build(&p, &x)) != IK_OK || (st = cer_sign_cert(r->h, signer, signer_pub, x)) != IK_OK) {
		X509_free(x);
		return st;
	}
	*out = x;
	return IK_OK;
}

static ik_status make_certs(demo_run *r)
{
	ik_status st;

	st = make_ca(r, r->kroot, r->proot, r->proot, NULL, r->root_name, ROOT_YEARS, -1,
	    &r->root);
	if (st == IK_OK)
		st = make_ca(r, r->kroot, r->proot, r->pica, r->root, r->ica_name, ICA_YEARS, 0,
		    &r->ica);
	if (st != IK_OK) {
		cer_err("signing the CA certificates in the HSM: %s", ik_status_str(st));
		return st;
	}
	if (ASN1_TIME_compare(X509_get0_notAfter(r->ica), X509_get0_notAfter(r->root)) > 0) {
		cer_err("the issuing CA would outlive the root");
		return IK_ERR_INTERNAL;
	}
	return cer_verify_chain(r->root, r->ica);
}

/* ---- outputs ---- */

static int put_der(BIO *b, X509 *x)
{
	uint8_t *der = NULL;
	int n = i2d_X509(x, &der);
	int ok = n > 0 && BIO_write(b, der, n) == n;

	OPENSSL_free(der);
	return ok;
}

static ik_status build_outputs(demo_run *r)
{
	for (size_t i = 0; i < OUT_N; i++)
		if ((r->out[i] = BIO_new(BIO_s_mem())) == NULL)
			return IK_ERR_NOMEM;
	if (cer_fingerprint(r->root, r->fpr_root) != IK_OK ||
	    cer_fingerprint(r->ica, r->fpr_ica) != IK_OK)
		return IK_ERR_CRYPTO;
	if (PEM_write_bio_X509(r->out[OUT_ROOT_PEM], r->root) != 1 ||
	    !put_der(r->out[OUT_ROOT_DER], r->root) ||
	    PEM_write_bio_X509(r->out[OUT_ICA_PEM], r->ica) != 1 ||
	    !put_der(r->out[OUT_ICA_DER], r->ica) ||
	    PEM_write_bio_X509(r->out[OUT_CHAIN], r->ica) != 1 ||
	    PEM_write_bio_X509(r->out[OUT_CHAIN], r->root) != 1 ||
	    BIO_printf(r->out[OUT_FPR], "root-ca.pem SHA256 Fingerprint=%s\n"
	        "issuing-ca.pem SHA256 Fingerprint=%s\n", r->fpr_root, r->fpr_ica) <= 0)
		return IK_ERR_CRYPTO;
	return IK_OK;
}

/* Write every file or none: on a failure the files this run created are removed. */
static ik_status write_outputs(demo_run *r)
{
	ik_status st;
	size_t i;
	int fd;

	if (r->dir_missing && mkdir(r->o->out, 0755) != 0) {
		cer_err("cannot create %s: %s", r->o->out, strerror(errno));
		return IK_ERR_IO;
	}
	for (i = 0; i < OUT_N; i++)
		if ((st = cer_write_bio(r->paths[i], r->out[i], 0644)) != IK_OK) {
			while (i-- > 0) /* paths[i] itself was removed by write_file, or is not ours */
				(void)unlink(r->paths[i]);
			return st;
		}
	fd = open(r->o->out, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		(void)fsync(fd);
		(void)close(fd);
	}
	return IK_OK;
}

static void print_summary(const demo_run *r)
{
	const ceremony_demo_opts *o = r->o;

	printf("root CA:     C=%s, O=%s, CN=%s Root CA\n", o->country, o->org, o->org);
	printf("  SHA-256    %s\n", r->fpr_root);
	printf("issuing CA:  C=%s, O=%s, CN=%s Issuing CA 1\n", o->country, o->org, o->org);
	printf("  SHA-256    %s\n", r->fpr_ica);
	printf("written:     %s/{root-ca,issuing-ca}.{pem,der}, chain.pem, fingerprints.txt\n", o->out);
	printf("keys stay on token %s: %s (id 01), %s (id 02), %s (id 03, the OCSP responder's)\n",
	    o->token, ROOT_LABEL, ICA_LABEL, OCSP_LABEL);
}

int ceremony_demo(const ceremony_demo_opts *o)
{
	char pin[HSM_MAX_PIN + 1];
	hsm_config hc = { .module = o->module, .token_label = o->token, .pin_file = o->pin_file,
		.pin_fd = -1 };
	demo_run r;
	ik_status st;
	int keys_made = 0;

	memset(&r, 0, sizeof(r));
	r.o = o;
	r.now = time(NULL);
	/* 1. validate everything before the HSM is touched */
	if ((st = check_text(o)) != IK_OK || (st = make_name(o, " Root CA", &r.root_name)) != IK_OK ||
	    (st = make_name(o, " Issuing CA 1", &r.ica_name)) != IK_OK ||
	    (st = check_out_dir(&r)) != IK_OK)
		goto out;
	if ((st = hsm_read_pin_file(o->pin_file, pin, sizeof(pin))) != IK_OK) {
		cer_err("PIN file %s: %s (it must be a file of ours, mode 0400 or 0600)", o->pin_file,
		    ik_status_str(st));
		goto out;
	}
	/* 2. refuse if a CA key is already there; generate both keys */
	st = precheck_keys(&r, &hc);
	if (st == IK_OK)
		st = generate_keys(&r, pin);
	OPENSSL_cleanse(pin, sizeof(pin));
	if (st != IK_OK)
		goto out;
	keys_made = 1;
	/* 3.-6. open the keys, sign both certificates in the HSM, check, write */
	if ((st = open_keys(&r, &hc)) != IK_OK || (st = make_certs(&r)) != IK_OK)
		goto out;
	if ((st = build_outputs(&r)) != IK_OK) {
		cer_err("encoding the certificates: %s", ik_status_str(st));
		goto out;
	}
	if ((st = write_outputs(&r)) != IK_OK)
		goto out;
	print_summary(&r);
out:
	if (st != IK_OK && keys_made)
		cer_err("the keys %s, %s and %s stay on token %s; re-run on a fresh token",
		    ROOT_LABEL, ICA_LABEL, OCSP_LABEL, o->token);
	if (st != IK_OK)
		ERR_print_errors_fp(stderr);
	OPENSSL_cleanse(pin, sizeof(pin));
	demo_cleanup(&r);
	return st == IK_OK ? 0 : 1;
}
