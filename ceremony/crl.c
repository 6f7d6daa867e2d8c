/* crl: the sign-crl step — a v2 CRL signed in the HSM by a root: the entries of the previous
 * CRL carried over, the newly revoked CA certificates added (with a reason if given), AKI and
 * a CRL number above the previous one. */
#include <stdio.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "run.h"

static ik_status add_revoked(X509_CRL *crl, X509 *x, const ASN1_TIME *when, int reason,
    json_t *list, const char *what)
{
	X509_REVOKED *rv = X509_REVOKED_new();
	ASN1_ENUMERATED *e = NULL;
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	char *hex = bn != NULL ? BN_bn2hex(bn) : NULL;
	ik_status st = IK_ERR_CRYPTO;

	if (rv == NULL || hex == NULL ||
	    X509_REVOKED_set_serialNumber(rv, (ASN1_INTEGER *)X509_get0_serialNumber(x)) != 1 ||
	    X509_REVOKED_set_revocationDate(rv, (ASN1_TIME *)when) != 1)
		goto out;
	if (reason >= 0 && ((e = ASN1_ENUMERATED_new()) == NULL || ASN1_ENUMERATED_set(e, reason) != 1 ||
	    X509_REVOKED_add1_ext_i2d(rv, NID_crl_reason, e, 0, 0) != 1))
		goto out;
	if (X509_CRL_add0_revoked(crl, rv) != 1)
		goto out;
	rv = NULL;
	json_array_append_new(list, json_pack("{s:s, s:s, s:s}", "serial", hex, "certificate", what,
	    "reason", cf_reason_name(reason)));
	st = IK_OK;
out:
	X509_REVOKED_free(rv);
	ASN1_ENUMERATED_free(e);
	OPENSSL_free(hex);
	BN_free(bn);
	return st;
}

static ik_status carry_previous(X509_CRL *crl, X509_CRL *prev, size_t *n)
{
	STACK_OF(X509_REVOKED) *old = X509_CRL_get_REVOKED(prev);

	*n = 0;
	for (int j = 0; j < sk_X509_REVOKED_num(old); j++) {
		X509_REVOKED *rv = X509_REVOKED_dup(sk_X509_REVOKED_value(old, j));
		if (rv == NULL || X509_CRL_add0_revoked(crl, rv) != 1) {
			X509_REVOKED_free(rv);
			return IK_ERR_CRYPTO;
		}
		(*n)++;
	}
	return IK_OK;
}

static ik_status add_exts(X509_CRL *crl, X509 *issuer, uint64_t number)
{
	X509V3_CTX ctx;
	X509_EXTENSION *aki;
	ASN1_INTEGER *num = ASN1_INTEGER_new();
	int ok;

	X509V3_set_ctx(&ctx, issuer, NULL, NULL, crl, 0);
	aki = X509V3_EXT_nconf_nid(NULL, &ctx, NID_authority_key_identifier, "keyid:always");
	ok = aki != NULL && X509_CRL_add_ext(crl, aki, -1) == 1 && num != NULL &&
	    ASN1_INTEGER_set_uint64(num, number) == 1 &&
	    X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0) == 1;
	X509_EXTENSION_free(aki);
	ASN1_INTEGER_free(num);
	return ok ? IK_OK : IK_ERR_CRYPTO;
}

static ik_status write_crl(cer_run *r, size_t i, X509_CRL *crl)
{
	char names[3][CF_OUT_MAX + 16];
	BIO *b = BIO_new(BIO_s_mem());
	uint8_t *der = NULL;
	char *p = NULL;
	long n;
	int dn = i2d_X509_CRL(crl, &der);
	ik_status st = IK_ERR_CRYPTO;

	steps_output_names(&r->cf->steps[i], names);
	if (b != NULL && dn > 0 && PEM_write_bio_X509_CRL(b, crl) == 1 &&
	    (n = BIO_get_mem_data(b, &p)) > 0) {
		st = run_write_artifact(r, i, names[0], der, (size_t)dn);
		if (st == IK_OK)
			st = run_write_artifact(r, i, names[1], p, (size_t)n);
	}
	OPENSSL_free(der);
	BIO_free(b);
	return st;
}

ik_status crl_sign(cer_run *r, size_t i)
{
	const cf_step *s = &r->cf->steps[i];
	const cf_step *is = &r->cf->steps[s->issuer];
	X509 *issuer = r->res[s->issuer].cert;
	X509_CRL *crl = X509_CRL_new();
	ASN1_TIME *tu = ASN1_TIME_set(NULL, r->cf->now);
	ASN1_TIME *nu = ASN1_TIME_set(NULL, r->cf->now + (time_t)s->next_update_days * 86400);
	json_t *list = json_array();
	char when[32], next[32];
	size_t carried = 0;
	hsm_key *k;
	ik_status st = IK_ERR_CRYPTO;

	if (crl == NULL || tu == NULL || nu == NULL || list == NULL ||
	    X509_CRL_set_version(crl, X509_CRL_VERSION_2) != 1 ||
	    X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer)) != 1 ||
	    X509_CRL_set1_lastUpdate(crl, tu) != 1 || X509_CRL_set1_nextUpdate(crl, nu) != 1)
		goto out;
	if (r->in[i].prev != NULL && (st = carry_previous(crl, r->in[i].prev, &carried)) != IK_OK)
		goto out;
	for (size_t j = 0; j < s->nrevoke; j++) {
		const cf_revoke *rv = &s->revoke[j];
		X509 *x = rv->step >= 0 ? r->res[rv->step].cert : r->in[i].revoked[j];
		if ((st = add_revoked(crl, x, tu, s->reason, list,
		    rv->step >= 0 ? r->cf->steps[rv->step].id : rv->path)) != IK_OK)
			goto out;
	}
	if ((st = add_exts(crl, issuer, s->crl_number)) != IK_OK || X509_CRL_sort(crl) != 1)
		goto out;
	if ((st = run_find_key(r, is->token, is->key_label, is->key_id, is->key_id_len, &k)) != IK_OK)
		goto out;
	if ((st = cer_sign_crl(r->h, k, r->res[s->issuer].pub, crl)) != IK_OK) {
		run_fail(r, "signing the CRL in the HSM: %s", ik_status_str(st));
		goto out;
	}
	run_iso_time(r->cf->now, when);
	run_iso_time(r->cf->now + (time_t)s->next_update_days * 86400, next);
	json_object_set_new(r->res[i].rec, "made", json_pack("{s:I, s:s, s:s, s:I, s:O}",
	    "crl_number", (json_int_t)s->crl_number, "this_update", when, "next_update", next,
	    "carried_over", (json_int_t)carried, "revoked", list));
	if ((st = write_crl(r, i, crl)) != IK_OK)
		goto out;
	r->res[i].crl = crl;
	crl = NULL;
out:
	if (st == IK_ERR_CRYPTO && r->why[0] == '\0')
		run_fail(r, "building the CRL failed");
	X509_CRL_free(crl);
	ASN1_TIME_free(tu);
	ASN1_TIME_free(nu);
	json_decref(list);
	return st;
}
