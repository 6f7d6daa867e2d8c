/* steps: what each ceremony step does — generate a key in the token, self-sign a root, take
 * an existing root, sign a CA certificate (key on a token or from a CSR), sign a CRL — and
 * the checks on their input files (strength, signatures, dates) made before the HSM. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "run.h"

#define INPUT_MAX (1024 * 1024)

size_t steps_output_names(const cf_step *s, char names[3][CF_OUT_MAX + 16])
{
	switch (s->action) {
	case CF_GENERATE_KEY:
		snprintf(names[0], sizeof(names[0]), "%s.pub.pem", s->output);
		return 1;
	case CF_SELF_SIGN: case CF_SIGN_CA:
		snprintf(names[0], sizeof(names[0]), "%s.pem", s->output);
		snprintf(names[1], sizeof(names[1]), "%s.der", s->output);
		return 2;
	case CF_USE_ROOT:
		snprintf(names[0], sizeof(names[0]), "%s.pem", s->output);
		return 1;
	case CF_SIGN_CRL:
		snprintf(names[0], sizeof(names[0]), "%s.crl", s->output);
		snprintf(names[1], sizeof(names[1]), "%s.crl.pem", s->output);
		return 2;
	default:
		return 0;
	}
}

/* ---- input files ---- */

/* The whole file (at most INPUT_MAX bytes, caller frees), its SHA-256 listed in files. */
static char *read_input(cer_run *r, size_t i, const char *key, const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL, hex[CER_HEX32_LEN];
	uint8_t md[32];
	size_t n = 0;

	if (f == NULL) {
		cf_error(r->cf, r->cf->steps[i].sec, key, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if ((buf = malloc(INPUT_MAX + 1)) != NULL)
		n = fread(buf, 1, INPUT_MAX + 1, f);
	fclose(f);
	if (buf == NULL || n == 0 || n > INPUT_MAX || cer_sha256(buf, n, md) != IK_OK) {
		cf_error(r->cf, r->cf->steps[i].sec, key, "%s: empty, unreadable or over %d bytes",
		    path, INPUT_MAX);
		free(buf);
		return NULL;
	}
	cer_hex(md, sizeof(md), hex, 0);
	if (r->in[i].files == NULL)
		r->in[i].files = json_array();
	json_array_append_new(r->in[i].files, json_pack("{s:s, s:s, s:s}", "key", key, "path", path,
	    "sha256", hex));
	*len = n;
	return buf;
}

typedef struct obj_kind {
	const char *what;
	void *(*pem)(BIO *b);
	void *(*der)(const unsigned char **p, long n);
} obj_kind;

static void *pem_x509(BIO *b) { return PEM_read_bio_X509(b, NULL, NULL, NULL); }
static void *der_x509(const unsigned char **p, long n) { return d2i_X509(NULL, p, n); }
static void *pem_req(BIO *b) { return PEM_read_bio_X509_REQ(b, NULL, NULL, NULL); }
static void *der_req(const unsigned char **p, long n) { return d2i_X509_REQ(NULL, p, n); }
static void *pem_crl(BIO *b) { return PEM_read_bio_X509_CRL(b, NULL, NULL, NULL); }
static void *der_crl(const unsigned char **p, long n) { return d2i_X509_CRL(NULL, p, n); }

static const obj_kind kind_cert = { "certificate", pem_x509, der_x509 };
static const obj_kind kind_csr = { "certificate request", pem_req, der_req };
static const obj_kind kind_crl = { "CRL", pem_crl, der_crl };

/* One object from a file, PEM or else DER; NULL (reported) if neither. */
static void *load_obj(cer_run *r, size_t i, const char *key, const char *path,
    const obj_kind *k)
{
	size_t n = 0;
	char *buf = read_input(r, i, key, path, &n);
	const unsigned char *p = (const unsigned char *)buf;
	BIO *b;
	void *obj = NULL;

	if (buf == NULL)
		return NULL;
	if ((b = BIO_new_mem_buf(buf, (int)n)) != NULL)
		obj = k->pem(b);
	BIO_free(b);
	if (obj == NULL)
		obj = k->der(&p, (long)n);
	free(buf);
	ERR_clear_error();
	if (obj == NULL)
		cf_error(r->cf, r->cf->steps[i].sec, key, "%s: not a %s (PEM or DER)", path, k->what);
	return obj;
}

static X509 *load_cert(cer_run *r, size_t i, const char *key, const char *path)
{
	return load_obj(r, i, key, path, &kind_cert);
}

static X509_REQ *load_csr(cer_run *r, size_t i, const char *path)
{
	return load_obj(r, i, "csr", path, &kind_csr);
}

static X509_CRL *load_crl(cer_run *r, size_t i, const char *path)
{
	return load_obj(r, i, "previous_crl", path, &kind_crl);
}

/* NULL if the key may be a CA key; else why not (in buf). */
static const char *weak_key(EVP_PKEY *pk, char *buf, size_t bufsz)
{
	int bits = EVP_PKEY_get_bits(pk);

	if (EVP_PKEY_get_base_id(pk) == EVP_PKEY_RSA) {
		if (bits < 3072) {
			snprintf(buf, bufsz, "weak: an RSA key of %d bits (a CA key needs at least 3072)", bits);
			return buf;
		}
		return NULL;
	}
	if (EVP_PKEY_get_base_id(pk) == EVP_PKEY_EC) {
		char group[64];
		size_t n = 0;
		if (EVP_PKEY_get_group_name(pk, group, sizeof(group), &n) == 1 &&
		    (strcmp(group, "prime256v1") == 0 || strcmp(group, "secp384r1") == 0))
			return NULL;
		snprintf(buf, bufsz, "%s EC key on curve %s (a CA key must be P-256 or P-384)",
		    bits < 256 ? "weak:" : "unsupported:", n > 0 ? group : "?");
		return buf;
	}
	snprintf(buf, bufsz, "unsupported key type (RSA of 3072+ bits, EC P-256 or P-384)");
	return buf;
}

static void check_root_cert(cer_run *r, size_t i, X509 *x)
{
	cf_step *s = &r->cf->steps[i];
	EVP_PKEY *pk = X509_get0_pubkey(x);
	char why[160];

	if (pk == NULL || X509_check_issued(x, x) != X509_V_OK || X509_verify(x, pk) != 1)
		cf_error(r->cf, s->sec, "cert", "%s: not a self-signed certificate", s->cert);
	else if (X509_check_ca(x) != 1 || !(X509_get_key_usage(x) & KU_KEY_CERT_SIGN))
		cf_error(r->cf, s->sec, "cert", "%s: not a CA certificate with keyCertSign", s->cert);
	else if (weak_key(pk, why, sizeof(why)) != NULL)
		cf_error(r->cf, s->sec, "cert", "%s: %s", s->cert, why);
	else if (X509_cmp_time(X509_get0_notAfter(x), &r->cf->now) <= 0)
		cf_error(r->cf, s->sec, "cert", "%s: expired", s->cert);
	ERR_clear_error();
}

static void check_csr(cer_run *r, size_t i, X509_REQ *q)
{
	cf_step *s = &r->cf->steps[i];
	EVP_PKEY *pk = X509_REQ_get0_pubkey(q);
	char why[160];

	if (pk == NULL || X509_REQ_verify(q, pk) != 1)
		cf_error(r->cf, s->sec, "csr", "%s: the request's signature does not verify", s->csr);
	else if (weak_key(pk, why, sizeof(why)) != NULL)
		cf_error(r->cf, s->sec, "csr", "%s: %s", s->csr, why);
	ERR_clear_error();
}

/* The issuer's certificate if it is already known (use-root), else NULL. */
static X509 *known_issuer(cer_run *r, const cf_step *s)
{
	return s->issuer >= 0 && r->cf->steps[s->issuer].action == CF_USE_ROOT ?
	    r->in[s->issuer].cert : NULL;
}

static void check_crl_inputs(cer_run *r, size_t i)
{
	cf_step *s = &r->cf->steps[i];
	X509 *is = known_issuer(r, s);
	X509_CRL *prev = NULL;

	if (s->previous_crl[0] != '\0' && (prev = r->in[i].prev = load_crl(r, i, s->previous_crl)) != NULL &&
	    is != NULL) {
		ASN1_INTEGER *num = X509_CRL_get_ext_d2i(prev, NID_crl_number, NULL, NULL);
		long long n = -1;
		if (X509_NAME_cmp(X509_CRL_get_issuer(prev), X509_get_subject_name(is)) != 0 ||
		    X509_CRL_verify(prev, X509_get0_pubkey(is)) != 1)
			cf_error(r->cf, s->sec, "previous_crl", "%s: not signed by the issuer's key",
			    s->previous_crl);
		else if (num == NULL || ASN1_INTEGER_get_int64((int64_t *)&n, num) != 1 || n < 0)
			cf_error(r->cf, s->sec, "previous_crl", "%s: no CRL number", s->previous_crl);
		else if (s->crl_number != 0 && s->crl_number <= (uint64_t)n)
			cf_error(r->cf, s->sec, "crl_number", "%llu is not above the previous CRL's number %lld",
			    (unsigned long long)s->crl_number, n);
		else if (s->crl_number == 0)
			s->crl_number = (uint64_t)n + 1;
		ASN1_INTEGER_free(num);
	}
	for (size_t j = 0; j < s->nrevoke; j++) {
		X509 *x;
		X509_REVOKED *old = NULL;
		if (s->revoke[j].step >= 0 ||
		    (x = r->in[i].revoked[j] = load_cert(r, i, "revoke", s->revoke[j].path)) == NULL)
			continue;
		if (is == NULL || X509_check_issued(is, x) != X509_V_OK ||
		    X509_verify(x, X509_get0_pubkey(is)) != 1)
			cf_error(r->cf, s->sec, "revoke", "%s: not issued by '%s'", s->revoke[j].path,
			    r->cf->steps[s->issuer].id);
		else if (prev != NULL && X509_CRL_get0_by_serial(prev, &old, X509_get0_serialNumber(x)) == 1)
			cf_error(r->cf, s->sec, "revoke", "%s: already revoked in the previous CRL",
			    s->revoke[j].path);
	}
	if (s->crl_number == 0)
		s->crl_number = 1;
	ERR_clear_error();
}

ik_status steps_load_inputs(cer_run *r)
{
	cf_file *cf = r->cf;

	for (size_t i = 0; i < cf->nsteps; i++) {
		cf_step *s = &cf->steps[i];
		X509 *is;
		if (s->action == CF_USE_ROOT && (r->in[i].cert = load_cert(r, i, "cert", s->cert)) != NULL)
			check_root_cert(r, i, r->in[i].cert);
		if (s->action == CF_SIGN_CA && s->csr[0] != '\0' &&
		    (r->in[i].csr = load_csr(r, i, s->csr)) != NULL)
			check_csr(r, i, r->in[i].csr);
		if (s->action == CF_SIGN_CA && (is = known_issuer(r, s)) != NULL) {
			struct tm tm;
			if (s->not_after != 0 && (ASN1_TIME_to_tm(X509_get0_notAfter(is), &tm) != 1 ||
			    s->not_after > timegm(&tm)))
				cf_error(cf, s->sec, s->years > 0 ? "validity_years" : "validity_days",
				    "the certificate would outlive its issuer '%s'", cf->steps[s->issuer].id);
		}
		if (s->action == CF_SIGN_CRL)
			check_crl_inputs(r, i);
	}
	return cf->nerrors == 0 ? IK_OK : IK_ERR_CONFIG;
}

/* ---- with the token open, before any change ---- */

ik_status steps_precheck_token(cer_run *r, int t)
{
	const cf_file *cf = r->cf;
	const char *label = cf->tokens[t].label;
	hsm_key *k;
	ik_status st;

	if ((st = run_open_token(r, t)) != IK_OK)
		return st;
	for (size_t i = 0; i < cf->nsteps; i++) {
		const cf_step *s = &cf->steps[i];
		if (s->token != t)
			continue;
		if (s->action == CF_GENERATE_KEY) {
			st = hsm_key_find(r->h, s->key_label, NULL, 0, &k);
			if (st == IK_ERR_NOT_FOUND)
				st = hsm_key_find(r->h, NULL, s->key_id, s->key_id_len, &k);
			if (st == IK_OK) {
				run_fail(r, "key %s already exists on token %s: refusing to overwrite",
				    s->key_label, label);
				return IK_ERR_EXISTS;
			}
			if (st != IK_ERR_NOT_FOUND) {
				run_fail(r, "token %s: %s", label, ik_status_str(st));
				return st;
			}
		} else if (s->key_step < 0 && (s->action == CF_SELF_SIGN ||
		    s->action == CF_USE_ROOT || s->action == CF_SIGN_CA)) {
			EVP_PKEY *pub = NULL;
			if ((st = run_find_key(r, t, s->key_label, s->key_id, s->key_id_len, &k)) != IK_OK)
				return st;
			if (s->action == CF_USE_ROOT &&
			    (hsm_key_public(r->h, k, &pub) != IK_OK ||
			    EVP_PKEY_eq(pub, X509_get0_pubkey(r->in[i].cert)) != 1)) {
				EVP_PKEY_free(pub);
				run_fail(r, "key %s on token %s is not the key of %s", s->key_label, label,
				    s->cert);
				return IK_ERR_AUTH;
			}
			EVP_PKEY_free(pub);
		}
	}
	return IK_OK;
}

/* ---- the steps ---- */

static ik_status put_pem_der(cer_run *r, size_t i, X509 *x)
{
	char names[3][CF_OUT_MAX + 16];
	BIO *b = BIO_new(BIO_s_mem());
	uint8_t *der = NULL;
	char *p = NULL;
	long n;
	int dn = i2d_X509(x, &der);
	ik_status st = IK_ERR_CRYPTO;

	steps_output_names(&r->cf->steps[i], names);
	if (b != NULL && dn > 0 && PEM_write_bio_X509(b, x) == 1 && (n = BIO_get_mem_data(b, &p)) > 0) {
		st = run_write_artifact(r, i, names[0], p, (size_t)n);
		if (st == IK_OK && r->cf->steps[i].action != CF_USE_ROOT)
			st = run_write_artifact(r, i, names[1], der, (size_t)dn);
	}
	OPENSSL_free(der);
	BIO_free(b);
	return st;
}

static void rec_cert(cer_run *r, size_t i, X509 *x)
{
	json_t *rec = r->res[i].rec;
	char fpr[CER_FPR_LEN], when[32], *ser = NULL;
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	BIO *b = BIO_new(BIO_s_mem());
	struct tm tm;

	if (b != NULL && X509_NAME_print_ex(b, X509_get_subject_name(x), 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0) {
		char *p = NULL;
		long n = BIO_get_mem_data(b, &p);
		json_object_set_new(rec, "subject", json_stringn(p, n > 0 ? (size_t)n : 0));
	}
	BIO_free(b);
	if (bn != NULL && (ser = BN_bn2hex(bn)) != NULL)
		json_object_set_new(rec, "serial", json_string(ser));
	if (ASN1_TIME_to_tm(X509_get0_notBefore(x), &tm) == 1) {
		run_iso_time(timegm(&tm), when);
		json_object_set_new(rec, "not_before", json_string(when));
	}
	if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) == 1) {
		run_iso_time(timegm(&tm), when);
		json_object_set_new(rec, "not_after", json_string(when));
	}
	if (cer_fingerprint(x, fpr) == IK_OK)
		json_object_set_new(rec, "sha256_fingerprint", json_string(fpr));
	OPENSSL_free(ser);
	BN_free(bn);
}

static ik_status key_pub(cer_run *r, const cf_step *s, hsm_key **k, EVP_PKEY **pub)
{
	ik_status st = run_find_key(r, s->token, s->key_label, s->key_id, s->key_id_len, k);

	if (st == IK_OK && (st = hsm_key_public(r->h, *k, pub)) != IK_OK)
		run_fail(r, "key %s: cannot read its public half", s->key_label);
	return st;
}

static ik_status do_generate(cer_run *r, size_t i)
{
	const cf_step *s = &r->cf->steps[i];
	const cf_token *tk = &r->cf->tokens[s->token];
	char names[3][CF_OUT_MAX + 16], hex[CER_HEX32_LEN], idhex[2 * 32 + 1];
	uint8_t *der = NULL, md[32];
	hsm_key *k;
	BIO *b = NULL;
	char *p = NULL;
	long n;
	int dn;
	ik_status st;

	run_close_token(r); /* no libp11 context while the module is driven directly */
	st = hsm_keygen(tk->module, tk->label, r->tok[s->token].pin, s->key_label, s->key_id,
	    s->key_id_len, s->alg);
	if (st != IK_OK) {
		run_fail(r, st == IK_ERR_EXISTS ? "key %s already exists on token %s: refusing to "
		    "overwrite" : "generating key %s on token %s failed", s->key_label, tk->label);
		return st;
	}
	r->changed = 1;
	if ((st = key_pub(r, s, &k, &r->res[i].pub)) != IK_OK)
		return st;
	st = IK_ERR_CRYPTO;
	if ((dn = i2d_PUBKEY(r->res[i].pub, &der)) <= 0 || cer_sha256(der, (size_t)dn, md) != IK_OK ||
	    (b = BIO_new(BIO_s_mem())) == NULL || PEM_write_bio_PUBKEY(b, r->res[i].pub) != 1 ||
	    (n = BIO_get_mem_data(b, &p)) <= 0)
		goto out;
	cer_hex(md, sizeof(md), hex, 0);
	cer_hex(s->key_id, s->key_id_len, idhex, 0);
	json_object_set_new(r->res[i].rec, "made", json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:b}",
	    "token", tk->label, "key_label", s->key_label, "key_id", idhex, "algorithm",
	    cf_alg_name(s->alg), "public_key_sha256", hex, "sensitive", 1, "extractable", 0));
	steps_output_names(s, names);
	st = run_write_artifact(r, i, names[0], p, (size_t)n);
out:
	OPENSSL_free(der);
	BIO_free(b);
	return st;
}

static ik_status do_self_sign(cer_run *r, size_t i)
{
	const cf_step *s = &r->cf->steps[i];
	cer_ca_params p = { .not_before = s->not_before, .not_after = s->not_after, .path_len = -1 };
	X509_NAME *name = NULL;
	char why[160];
	hsm_key *k;
	ik_status st;

	if ((st = key_pub(r, s, &k, &r->res[i].pub)) != IK_OK)
		return st;
	if (weak_key(r->res[i].pub, why, sizeof(why)) != NULL) {
		run_fail(r, "key %s: %s", s->key_label, why);
		return IK_ERR_POLICY_KEY;
	}
	if ((st = cer_make_name(s->country, s->org, s->ou, s->cn, &name)) != IK_OK)
		return st;
	p.subject = name;
	p.pub = r->res[i].pub;
	if ((st = cer_ca_build(&p, &r->res[i].cert)) == IK_OK &&
	    (st = cer_sign_cert(r->h, k, r->res[i].pub, r->res[i].cert)) == IK_OK &&
	    (st = cer_verify_chain(r->res[i].cert, r->res[i].cert)) == IK_OK) {
		rec_cert(r, i, r->res[i].cert);
		st = put_pem_der(r, i, r->res[i].cert);
	} else {
		run_fail(r, "signing the root certificate in the HSM: %s", ik_status_str(st));
	}
	X509_NAME_free(name);
	return st;
}

static ik_status do_use_root(cer_run *r, size_t i)
{
	const cf_step *s = &r->cf->steps[i];
	hsm_key *k;
	ik_status st;

	if ((st = key_pub(r, s, &k, &r->res[i].pub)) != IK_OK)
		return st;
	if (EVP_PKEY_eq(r->res[i].pub, X509_get0_pubkey(r->in[i].cert)) != 1) {
		run_fail(r, "key %s is not the key of %s", s->key_label, s->cert);
		return IK_ERR_AUTH;
	}
	r->res[i].cert = r->in[i].cert;
	X509_up_ref(r->res[i].cert);
	rec_cert(r, i, r->res[i].cert);
	return put_pem_der(r, i, r->res[i].cert);
}

static ik_status do_sign_ca(cer_run *r, size_t i)
{
	const cf_step *s = &r->cf->steps[i];
	const cf_step *is = &r->cf->steps[s->issuer];
	X509 *issuer = r->res[s->issuer].cert;
	cer_ca_params p = { .not_before = s->not_before, .not_after = s->not_after,
		.path_len = s->path_len, .issuer = issuer, .crl_url = s->crl_url,
		.issuer_url = s->issuer_url };
	X509_NAME *name = NULL;
	char why[160];
	hsm_key *k;
	ik_status st;

	if (s->csr[0] != '\0') {
		if ((r->res[i].pub = X509_REQ_get_pubkey(r->in[i].csr)) == NULL)
			return IK_ERR_CRYPTO;
	} else if ((st = key_pub(r, s, &k, &r->res[i].pub)) != IK_OK) {
		return st;
	}
	if (weak_key(r->res[i].pub, why, sizeof(why)) != NULL) {
		run_fail(r, "the subject key: %s", why);
		return IK_ERR_POLICY_KEY;
	}
	if ((st = cer_make_name(s->country, s->org, s->ou, s->cn, &name)) != IK_OK)
		return st;
	p.subject = name;
	p.pub = r->res[i].pub;
	if ((st = run_find_key(r, is->token, is->key_label, is->key_id, is->key_id_len, &k)) != IK_OK)
		goto out;
	if ((st = cer_ca_build(&p, &r->res[i].cert)) == IK_OK &&
	    (st = cer_sign_cert(r->h, k, r->res[s->issuer].pub, r->res[i].cert)) == IK_OK &&
	    (st = cer_verify_chain(issuer, r->res[i].cert)) == IK_OK) {
		rec_cert(r, i, r->res[i].cert);
		st = put_pem_der(r, i, r->res[i].cert);
	} else {
		run_fail(r, "signing the CA certificate in the HSM: %s", ik_status_str(st));
	}
out:
	X509_NAME_free(name);
	return st;
}

ik_status steps_run(cer_run *r, size_t i)
{
	switch (r->cf->steps[i].action) {
	case CF_INIT_TOKEN: return run_init_token(r, i);
	case CF_GENERATE_KEY: return do_generate(r, i);
	case CF_SELF_SIGN: return do_self_sign(r, i);
	case CF_USE_ROOT: return do_use_root(r, i);
	case CF_SIGN_CA: return do_sign_ca(r, i);
	case CF_SIGN_CRL: return crl_sign(r, i);
	}
	return IK_ERR_INTERNAL;
}
