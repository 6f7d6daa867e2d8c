/* cert: the issuing CA as the signer sees it, the TBSCertificate / TBSCertList encoders,
 * the pre-issuance lint, and the assembly of signed DER. */
#ifndef SG_CERT_H
#define SG_CERT_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/x509.h>
#include "buf.h"
#include "profile.h"
#include "status.h"

typedef enum sg_sigalg {
	SG_SIG_ECDSA_SHA256 = 1,
	SG_SIG_ECDSA_SHA384 = 2,
	SG_SIG_RSA_SHA256 = 3,
} sg_sigalg;

typedef struct sg_ca {
	X509 *cert;                 /* the issuing CA certificate */
	uint8_t *name_der;          /* its subject Name, DER: the issuer of every leaf/CRL */
	size_t name_len;
	uint8_t key_id[64];         /* its subjectKeyIdentifier: our AKI keyIdentifier */
	size_t key_id_len;
	sg_sigalg sig;              /* from the CA key type */
	int64_t not_before, not_after;
	size_t nchain;              /* DER certs: issuing CA first, then up to the root */
	uint8_t *chain_der[PROTO_MAX_CHAIN];
	size_t chain_len[PROTO_MAX_CHAIN];
} sg_ca;

/* Load the issuing CA (PEM) and the rest of the chain (PEM bundle, may be NULL).  The
 * CA must be CA:TRUE with keyCertSign and carry a subjectKeyIdentifier. */
ik_status sg_ca_load(const char *cert_path, const char *chain_path, sg_ca *ca);
void sg_ca_cleanup(sg_ca *ca);

/* Encode the TBSCertificate for a checked leaf: v3, serial, signature algorithm, issuer,
 * validity, subject (UTF8String; C as PrintableString), the SPKI bytes as given, and
 * exactly the profile's extensions: basicConstraints CA:FALSE (critical), keyUsage
 * digitalSignature (+keyEncipherment for RSA) critical, extKeyUsage clientAuth, SKI
 * (SHA-1 of the public key bits), AKI (CA key id), CRL DP, AIA (if URLs set). */
ik_status sg_tbs_build(const sg_ca *ca, const sg_profile *p, const sg_leaf *leaf, ik_buf *out);

/* Pre-issuance lint: decode the TBS bytes independently and check them against the
 * profile, the CA and the leaf they were built from (version, serial positive and <= 20
 * octets, issuer, validity order and cap, subject exactly as expected, key allowed,
 * extension set and criticality, no duplicates, no CA:TRUE).  IK_ERR_POLICY_LINT with
 * the failed rule in 'why'. */
ik_status sg_lint_tbs(const sg_ca *ca, const sg_profile *p, const sg_leaf *leaf,
    const uint8_t *tbs, size_t n, char *why, size_t whysz);

/* AlgorithmIdentifier of the CA's signature algorithm (NULL parameters for RSA only). */
ik_status sg_put_algid(ik_buf *b, sg_sigalg alg);

/* SEQUENCE { tbs, signatureAlgorithm, BIT STRING sig } (certificates and CRLs alike). */
ik_status sg_signed_assemble(sg_sigalg alg, const uint8_t *tbs, size_t n,
    const uint8_t *sig, size_t siglen, ik_buf *out);

/* One revoked entry for the CRL. */
typedef struct sg_crl_entry {
	uint8_t serial[PROTO_MAX_SERIAL];
	size_t serial_len;
	int64_t when;
	uint8_t reason; /* RFC 5280 CRLReason; 0 (unspecified) is encoded without the extension */
	uint8_t removed; /* changes only (sg_ledger_crl_changes): no longer on the CRL */
} sg_crl_entry;

/* Streaming source of entries: fills up to max entries, returns how many (0 = end), or
 * a negative number on error. */
typedef long (*sg_crl_source)(void *arg, sg_crl_entry *out, size_t max);

/* Encode a v2 TBSCertList: issuer, thisUpdate, nextUpdate, the entries, and the CRL
 * extensions AKI and cRLNumber.  count is the number of entries the source will give
 * (so the size can be computed before writing). */
ik_status sg_crl_tbs_build(const sg_ca *ca, uint64_t crl_number, int64_t this_update,
    int64_t next_update, sg_crl_source src, void *arg, size_t count, ik_buf *out);

#endif
