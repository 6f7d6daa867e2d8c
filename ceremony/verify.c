/* verify: check a ceremony transcript offline — the root certificate it names is the one it
 * recorded, is self-signed and (optionally) the root the auditor expects; the detached
 * signature over transcript.json verifies with it; every artifact listed is present with the
 * SHA-256 recorded; every certificate written chains to a root it lists. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "run.h"

#define VERIFY_MAX (16 * 1024 * 1024)
#define FORMAT "inkan-ceremony-transcript/1"

typedef struct vctx {
	char dir[PATH_MAX];
	const char *path;
	int bad;
} vctx;

static void vfail(vctx *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void vfail(vctx *v, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "inkan-ceremony: verify %s: ", v->path);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	v->bad = 1;
}

static int read_all(const char *path, char **out, size_t *n)
{
	struct stat st;
	ssize_t got;
	size_t done = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	*out = NULL;
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > VERIFY_MAX ||
	    (*out = malloc((size_t)st.st_size + 1)) == NULL) {
		close(fd);
		errno = EFBIG;
		return -1;
	}
	while (done < (size_t)st.st_size && (got = read(fd, *out + done, (size_t)st.st_size - done)) > 0)
		done += (size_t)got;
	close(fd);
	(*out)[done] = '\0';
	*n = done;
	return 0;
}

/* A file named in the transcript: a plain name in the transcript's directory. */
static int artifact_path(vctx *v, const char *name, char *path, size_t pathsz)
{
	if (name == NULL || name[0] == '\0' || name[0] == '.' || strchr(name, '/') != NULL) {
		vfail(v, "bad file name in the transcript: '%s'", name != NULL ? name : "(none)");
		return 0;
	}
	if ((size_t)snprintf(path, pathsz, "%s/%s", v->dir, name) >= pathsz) {
		vfail(v, "path too long: %s", name);
		return 0;
	}
	return 1;
}

/* The file's SHA-256 equals want (hex); reports otherwise. */
static int check_hash(vctx *v, const char *name, const char *want, char **data, size_t *n)
{
	char path[PATH_MAX], hex[CER_HEX32_LEN];
	uint8_t md[32];

	if (!artifact_path(v, name, path, sizeof(path)))
		return 0;
	if (read_all(path, data, n) != 0) {
		vfail(v, "%s: %s", name, strerror(errno));
		return 0;
	}
	if (cer_sha256(*data, *n, md) != IK_OK)
		return 0;
	cer_hex(md, sizeof(md), hex, 0);
	if (want == NULL || strcmp(hex, want) != 0) {
		vfail(v, "%s: SHA-256 %s differs from the %s recorded: the file was changed", name, hex,
		    want != NULL ? want : "(none)");
		return 0;
	}
	return 1;
}

static X509 *pem_cert(const char *data, size_t n)
{
	BIO *b = BIO_new_mem_buf(data, (int)n);
	X509 *x = b != NULL ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;

	BIO_free(b);
	ERR_clear_error();
	return x;
}

static void norm_hex(const char *in, char *out, size_t outsz)
{
	size_t o = 0;

	for (; *in != '\0' && o + 1 < outsz; in++)
		if (*in != ':' && *in != ' ')
			out[o++] = (char)(*in >= 'A' && *in <= 'F' ? *in - 'A' + 'a' : *in);
	out[o] = '\0';
}

/* The root certificate and the detached signature. */
static X509 *check_signature(vctx *v, json_t *tr, const char *text, size_t n, const char *want)
{
	json_t *sig = json_object_get(tr, "signature");
	char *cdata = NULL, *sdata = NULL, path[PATH_MAX], fpr[CER_FPR_LEN], a[80], b[80];
	size_t cn = 0, sn = 0;
	X509 *root = NULL;
	EVP_MD_CTX *md = NULL;

	if (sig == NULL) {
		vfail(v, "the transcript is not signed (the ceremony never reached its root key)");
		return NULL;
	}
	if (!check_hash(v, json_string_value(json_object_get(sig, "cert")),
	    json_string_value(json_object_get(sig, "cert_sha256")), &cdata, &cn))
		goto out;
	if ((root = pem_cert(cdata, cn)) == NULL || X509_check_issued(root, root) != X509_V_OK ||
	    X509_verify(root, X509_get0_pubkey(root)) != 1) {
		vfail(v, "%s is not a self-signed root certificate",
		    json_string_value(json_object_get(sig, "cert")));
		goto fail;
	}
	if (cer_fingerprint(root, fpr) != IK_OK)
		goto fail;
	norm_hex(fpr, a, sizeof(a));
	norm_hex(want != NULL ? want : "", b, sizeof(b));
	if (want != NULL && strcmp(a, b) != 0) {
		vfail(v, "signed by root SHA256 Fingerprint=%s, not the one expected", fpr);
		goto fail;
	}
	if (!artifact_path(v, json_string_value(json_object_get(sig, "file")), path, sizeof(path)))
		goto fail;
	if (read_all(path, &sdata, &sn) != 0) {
		vfail(v, "signature %s: %s", path, strerror(errno));
		goto fail;
	}
	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestVerifyInit(md, NULL, cer_md_for(X509_get0_pubkey(root)), NULL,
	        X509_get0_pubkey(root)) != 1 ||
	    EVP_DigestVerify(md, (const uint8_t *)sdata, sn, (const uint8_t *)text, n) != 1) {
		vfail(v, "the signature does not verify: the transcript was changed after the "
		    "ceremony, or was not signed by this root");
		goto fail;
	}
	printf("signature: good, by root SHA256 Fingerprint=%s\n", fpr);
	goto out;
fail:
	X509_free(root);
	root = NULL;
out:
	ERR_clear_error();
	EVP_MD_CTX_free(md);
	free(cdata);
	free(sdata);
	return root;
}

/* A certificate artifact issued by one of the roots must verify under it. */
static void check_cert(vctx *v, const char *name, const char *data, size_t n, X509 **roots,
    size_t nroots)
{
	X509 *x;

	if (strlen(name) < 5 || strcmp(name + strlen(name) - 4, ".pem") != 0 ||
	    strstr(data, "BEGIN CERTIFICATE") == NULL || (x = pem_cert(data, n)) == NULL)
		return;
	for (size_t i = 0; i < nroots; i++)
		if (X509_check_issued(roots[i], x) == X509_V_OK &&
		    X509_verify(x, X509_get0_pubkey(roots[i])) != 1)
			vfail(v, "%s: its signature does not verify under its issuer", name);
	X509_free(x);
	ERR_clear_error();
}

static size_t check_artifacts(vctx *v, json_t *tr, X509 *root)
{
	json_t *arts = json_object_get(tr, "artifacts"), *a;
	X509 *roots[16] = { root };
	size_t i, nroots = 1, good = 0;

	if (!json_is_array(arts) || json_array_size(arts) == 0) {
		vfail(v, "no artifacts listed");
		return 0;
	}
	json_array_foreach(arts, i, a) {
		const char *name = json_string_value(json_object_get(a, "file"));
		char *data = NULL;
		size_t n = 0;
		if (check_hash(v, name, json_string_value(json_object_get(a, "sha256")), &data, &n)) {
			X509 *x = strstr(data, "BEGIN CERTIFICATE") != NULL ? pem_cert(data, n) : NULL;
			if (x != NULL && nroots < 16 && X509_check_issued(x, x) == X509_V_OK &&
			    X509_cmp(x, root) != 0)
				roots[nroots++] = x;
			else
				X509_free(x);
			good++;
		}
		free(data);
	}
	json_array_foreach(arts, i, a) {
		const char *name = json_string_value(json_object_get(a, "file"));
		char path[PATH_MAX], *data = NULL;
		size_t n = 0;
		if (name != NULL && artifact_path(v, name, path, sizeof(path)) &&
		    read_all(path, &data, &n) == 0)
			check_cert(v, name, data, n, roots, nroots);
		free(data);
	}
	for (size_t k = 1; k < nroots; k++)
		X509_free(roots[k]);
	return good;
}

int ceremony_verify(const char *path, const char *root_fpr)
{
	vctx v = { .path = path };
	char *text = NULL, *slash;
	size_t n = 0, good;
	json_error_t jerr;
	json_t *tr = NULL;
	X509 *root = NULL;
	const char *result;
	int ok;

	snprintf(v.dir, sizeof(v.dir), "%s", path);
	slash = strrchr(v.dir, '/');
	if (slash == NULL)
		snprintf(v.dir, sizeof(v.dir), ".");
	else
		slash[slash == v.dir ? 1 : 0] = '\0';
	if (read_all(path, &text, &n) != 0) {
		vfail(&v, "cannot read it: %s", strerror(errno));
		goto out;
	}
	tr = json_loadb(text, n, JSON_REJECT_DUPLICATES, &jerr);
	if (tr == NULL || strcmp(json_string_value(json_object_get(tr, "format")) != NULL ?
	    json_string_value(json_object_get(tr, "format")) : "", FORMAT) != 0) {
		vfail(&v, "not a ceremony transcript (%s)", tr == NULL ? jerr.text : "unknown format");
		goto out;
	}
	if ((root = check_signature(&v, tr, text, n, root_fpr)) == NULL)
		goto out;
	good = check_artifacts(&v, tr, root);
	result = json_string_value(json_object_get(tr, "result"));
	if (result == NULL || strcmp(result, "completed") != 0)
		vfail(&v, "the transcript records a ceremony that did not complete: %s",
		    json_string_value(json_object_get(tr, "error")) != NULL ?
		    json_string_value(json_object_get(tr, "error")) : "(no reason)");
	if (!v.bad)
		printf("transcript OK: \"%s\", %zu steps, %zu artifacts with matching SHA-256\n",
		    json_string_value(json_object_get(tr, "title")),
		    json_array_size(json_object_get(tr, "steps")), good);
out:
	ok = !v.bad && root != NULL;
	X509_free(root);
	json_decref(tr);
	free(text);
	return ok ? 0 : 1;
}
