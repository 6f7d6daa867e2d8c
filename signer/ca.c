/* ca: load the issuing-CA certificate and its chain, and derive what the encoders need —
 * the issuer name DER, the key identifier, the signature algorithm, the validity. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "cert.h"
#include "log.h"

static int64_t asn1_to_unix(const ASN1_TIME *t)
{
	struct tm tm;

	if (ASN1_TIME_to_tm(t, &tm) != 1)
		return -1;
	return (int64_t)timegm(&tm);
}

static ik_status push_der(sg_ca *ca, X509 *x)
{
	uint8_t *der = NULL;
	int n;

	if (ca->nchain == PROTO_MAX_CHAIN)
		return IK_ERR_CONFIG;
	n = i2d_X509(x, &der);
	if (n <= 0)
		return IK_ERR_CRYPTO;
	ca->chain_der[ca->nchain] = der;
	ca->chain_len[ca->nchain++] = (size_t)n;
	return IK_OK;
}

static ik_status sigalg_of(X509 *x, sg_sigalg *out)
{
	EVP_PKEY *pk = X509_get0_pubkey(x);

	if (pk == NULL)
		return IK_ERR_CONFIG;
	if (EVP_PKEY_get_base_id(pk) == EVP_PKEY_RSA) {
		*out = SG_SIG_RSA_SHA256;
		return EVP_PKEY_get_bits(pk) >= 2048 ? IK_OK : IK_ERR_CONFIG;
	}
	if (EVP_PKEY_get_base_id(pk) == EVP_PKEY_EC) {
		char group[64];
		size_t n = 0;
		if (EVP_PKEY_get_group_name(pk, group, sizeof(group), &n) != 1)
			return IK_ERR_CONFIG;
		if (strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0) {
			*out = SG_SIG_ECDSA_SHA256;
			return IK_OK;
		}
		if (strcmp(group, "secp384r1") == 0 || strcmp(group, "P-384") == 0) {
			*out = SG_SIG_ECDSA_SHA384;
			return IK_OK;
		}
	}
	return IK_ERR_CONFIG;
}

/* The rest of the chain, in order: each certificate must have issued the one before it.
 * A file with no certificate, or with anything PEM_read_X509 cannot read, is refused. */
static ik_status load_chain(sg_ca *ca, const char *path, X509 *child)
{
	FILE *f = fopen(path, "r");
	X509 *x, *prev = child;
	size_t first = ca->nchain;
	unsigned long err;
	ik_status st = IK_OK;

	if (f == NULL) {
		ik_log(LOG_ERR, "CA chain %s: cannot open", path);
		return IK_ERR_CONFIG;
	}
	ERR_clear_error();
	while ((x = PEM_read_X509(f, NULL, NULL, NULL)) != NULL) {
		if (X509_check_issued(x, prev) != X509_V_OK) {
			ik_log(LOG_ERR, "CA chain %s: certificates out of order (each must issue the previous)", path);
			st = IK_ERR_CONFIG;
		} else if ((st = push_der(ca, x)) == IK_ERR_CONFIG) {
			ik_log(LOG_ERR, "CA chain %s: more than %d certificates", path, PROTO_MAX_CHAIN);
		}
		if (prev != child)
			X509_free(prev);
		prev = x;
		if (st != IK_OK)
			break;
	}
	if (prev != child)
		X509_free(prev);
	fclose(f);
	err = ERR_peek_last_error();
	if (st == IK_OK && (ca->nchain == first || (err != 0 &&
	    !(ERR_GET_LIB(err) == ERR_LIB_PEM && ERR_GET_REASON(err) == PEM_R_NO_START_LINE)))) {
		ik_log(LOG_ERR, "CA chain %s: no readable PEM certificates", path);
		st = IK_ERR_CONFIG;
	}
	ERR_clear_error();
	return st;
}

/* The checks on the issuing CA itself: CA:TRUE, keyCertSign and cRLSign, an SKI, a key
 * we can sign with. */
static ik_status check_ca(sg_ca *ca, const char *path)
{
	const ASN1_OCTET_STRING *ski;
	X509 *x = ca->cert;

	/* 1: basicConstraints CA:TRUE itself (not a v1 root or a keyUsage-only guess); the
	 * keyUsage extension must be there (absent, OpenSSL would report every bit set). */
	if (X509_check_ca(x) != 1 || !(X509_get_extension_flags(x) & EXFLAG_KUSAGE) ||
	    !(X509_get_key_usage(x) & KU_KEY_CERT_SIGN) || !(X509_get_key_usage(x) & KU_CRL_SIGN)) {
		ik_log(LOG_ERR, "%s: not a CA certificate with keyCertSign and cRLSign", path);
		return IK_ERR_CONFIG;
	}
	ski = X509_get0_subject_key_id(x);
	if (ski == NULL || ASN1_STRING_length(ski) <= 0 ||
	    (size_t)ASN1_STRING_length(ski) > sizeof(ca->key_id)) {
		ik_log(LOG_ERR, "%s: the CA certificate has no subjectKeyIdentifier", path);
		return IK_ERR_CONFIG;
	}
	ca->key_id_len = (size_t)ASN1_STRING_length(ski);
	memcpy(ca->key_id, ASN1_STRING_get0_data(ski), ca->key_id_len);
	if (sigalg_of(x, &ca->sig) != IK_OK) {
		ik_log(LOG_ERR, "%s: CA key must be EC P-256/P-384 or RSA >= 2048", path);
		return IK_ERR_CONFIG;
	}
	ca->not_before = asn1_to_unix(X509_get0_notBefore(x));
	ca->not_after = asn1_to_unix(X509_get0_notAfter(x));
	if (ca->not_before < 0 || ca->not_after <= ca->not_before) {
		ik_log(LOG_ERR, "%s: bad validity", path);
		return IK_ERR_CONFIG;
	}
	return IK_OK;
}

ik_status sg_ca_load(const char *cert_path, const char *chain_path, sg_ca *ca)
{
	FILE *f;
	uint8_t *name = NULL;
	int n;
	ik_status st = IK_ERR_CONFIG;

	memset(ca, 0, sizeof(*ca));
	if ((f = fopen(cert_path, "r")) == NULL) {
		ik_log(LOG_ERR, "CA certificate %s: cannot open", cert_path);
		goto out;
	}
	ca->cert = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	ERR_clear_error();
	if (ca->cert == NULL) {
		ik_log(LOG_ERR, "CA certificate %s: not a PEM certificate", cert_path);
		goto out;
	}
	if ((st = check_ca(ca, cert_path)) != IK_OK)
		goto out;
	if ((n = i2d_X509_NAME(X509_get_subject_name(ca->cert), &name)) <= 0) {
		st = IK_ERR_CRYPTO;
		goto out;
	}
	ca->name_der = name;
	ca->name_len = (size_t)n;
	if ((st = push_der(ca, ca->cert)) != IK_OK)
		goto out;
	if (chain_path != NULL)
		st = load_chain(ca, chain_path, ca->cert);
out:
	if (st != IK_OK)
		sg_ca_cleanup(ca);
	return st;
}

void sg_ca_cleanup(sg_ca *ca)
{
	X509_free(ca->cert);
	OPENSSL_free(ca->name_der);
	for (size_t i = 0; i < ca->nchain; i++)
		OPENSSL_free(ca->chain_der[i]);
	memset(ca, 0, sizeof(*ca));
}
