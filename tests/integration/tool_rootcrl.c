/* tool_rootcrl: for the interop tests — sign an empty v2 CRL (cRLNumber 1, AKI) with the
 * root key on the token.  It stands in for the offline-root CRL step the demo ceremony does
 * not have: nginx checks every CA in the chain against a CRL and refuses without one.
 * The PIN comes from a 0400/0600 file, never argv. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "hsm.h"

static ik_status sign_cb(EVP_PKEY *pk, void *arg)
{
	X509_CRL *crl = arg;
	const EVP_MD *md = EVP_PKEY_get_bits(pk) == 384 && EVP_PKEY_get_base_id(pk) == EVP_PKEY_EC ?
	    EVP_sha384() : EVP_sha256();

	return X509_CRL_sign(crl, pk, md) > 0 ? IK_OK : IK_ERR_HSM;
}

static X509 *read_cert(const char *path)
{
	FILE *f = fopen(path, "r");
	X509 *x;

	if (f == NULL)
		return NULL;
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	return x;
}

/* The CRL body: issuer, times, AKI (keyid of the root), cRLNumber 1. */
static X509_CRL *build(X509 *root, long days)
{
	X509_CRL *crl = X509_CRL_new();
	ASN1_TIME *t0 = ASN1_TIME_set(NULL, time(NULL));
	ASN1_TIME *t1 = ASN1_TIME_adj(NULL, time(NULL), (int)days, 0);
	ASN1_INTEGER *num = ASN1_INTEGER_new();
	X509_EXTENSION *aki = NULL;
	X509V3_CTX ctx;
	int ok;

	ok = crl != NULL && t0 != NULL && t1 != NULL && num != NULL &&
	    X509_CRL_set_version(crl, X509_CRL_VERSION_2) == 1 &&
	    X509_CRL_set_issuer_name(crl, X509_get_subject_name(root)) == 1 &&
	    X509_CRL_set1_lastUpdate(crl, t0) == 1 && X509_CRL_set1_nextUpdate(crl, t1) == 1 &&
	    ASN1_INTEGER_set(num, 1) == 1 &&
	    X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0) == 1;
	if (ok) {
		X509V3_set_ctx(&ctx, root, NULL, NULL, crl, 0);
		aki = X509V3_EXT_nconf_nid(NULL, &ctx, NID_authority_key_identifier, "keyid:always");
		ok = aki != NULL && X509_CRL_add_ext(crl, aki, -1) == 1;
	}
	X509_EXTENSION_free(aki);
	ASN1_INTEGER_free(num);
	ASN1_TIME_free(t0);
	ASN1_TIME_free(t1);
	if (!ok) {
		X509_CRL_free(crl);
		return NULL;
	}
	return crl;
}

int main(int argc, char **argv)
{
	hsm_config cfg = { .pin_fd = -1 };
	hsm_ctx *h = NULL;
	hsm_key *k = NULL;
	EVP_PKEY *pub = NULL;
	X509 *root = NULL;
	X509_CRL *crl = NULL;
	FILE *out = NULL;
	long days;
	int rc = 1;

	if (argc != 7) {
		fprintf(stderr, "usage: tool_rootcrl TOKEN PIN_FILE KEY_LABEL ROOT_PEM DAYS OUT_PEM\n");
		return 2;
	}
	days = strtol(argv[5], NULL, 10);
	if (days < 1 || days > 3660) {
		fprintf(stderr, "tool_rootcrl: DAYS must be 1..3660, not '%s'\n", argv[5]);
		return 2;
	}
	cfg.token_label = argv[1];
	cfg.pin_file = argv[2];
	if ((root = read_cert(argv[4])) == NULL) {
		fprintf(stderr, "tool_rootcrl: %s: not a PEM certificate\n", argv[4]);
		goto out;
	}
	if (hsm_open(&cfg, &h) != IK_OK || hsm_key_find(h, argv[3], NULL, 0, &k) != IK_OK ||
	    hsm_key_public(h, k, &pub) != IK_OK) {
		fprintf(stderr, "tool_rootcrl: key %s on token %s: not usable\n", argv[3], argv[1]);
		goto out;
	}
	if (EVP_PKEY_eq(pub, X509_get0_pubkey(root)) != 1) {
		fprintf(stderr, "tool_rootcrl: key %s is not the key of %s\n", argv[3], argv[4]);
		goto out;
	}
	if ((crl = build(root, days)) == NULL || hsm_with_pkey(h, k, sign_cb, crl) != IK_OK ||
	    X509_CRL_verify(crl, pub) != 1) {
		fprintf(stderr, "tool_rootcrl: building or signing the CRL failed\n");
		goto out;
	}
	if ((out = fopen(argv[6], "w")) == NULL || PEM_write_X509_CRL(out, crl) != 1) {
		fprintf(stderr, "tool_rootcrl: %s: cannot write\n", argv[6]);
		goto out;
	}
	rc = 0;
out:
	if (out != NULL && fclose(out) != 0)
		rc = 1;
	ERR_print_errors_fp(stderr);
	X509_CRL_free(crl);
	EVP_PKEY_free(pub);
	X509_free(root);
	hsm_close(h);
	return rc;
}
