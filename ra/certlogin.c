/* certlogin: judging the client certificate of an officer's login — chain to the Inkan CA
 * (OpenSSL, against cert_login_ca), validity, the RA's own record and state, the binding. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "certlogin.h"
#include "log.h"

#define PEER_CERT_MAX (64u * 1024)

ik_status ra_certlogin_anchors_check(const char *path, char *why, size_t whysz)
{
	FILE *f = fopen(path, "re");
	X509 *x;
	unsigned n = 0;
	ik_status st = IK_OK;

	if (f == NULL) {
		snprintf(why, whysz, "cannot be read");
		return IK_ERR_CONFIG;
	}
	while ((x = PEM_read_X509(f, NULL, NULL, NULL)) != NULL) {
		n++;
		if (X509_check_ca(x) == 0) {
			snprintf(why, whysz, "certificate %u is not a CA certificate", n);
			st = IK_ERR_CONFIG;
		}
		X509_free(x);
	}
	fclose(f);
	if (st == IK_OK && n == 0) {
		snprintf(why, whysz, "holds no PEM certificate");
		st = IK_ERR_CONFIG;
	}
	return st;
}

static ra_certlogin_why why_code(int e)
{
	switch (e) {
	case X509_V_ERR_CERT_HAS_EXPIRED:
		return RA_CLW_EXPIRED;
	case X509_V_ERR_CERT_NOT_YET_VALID:
		return RA_CLW_NOT_YET_VALID;
	case X509_V_ERR_INVALID_PURPOSE:
		return RA_CLW_PURPOSE;
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_CERT_SIGNATURE_FAILURE:
		return RA_CLW_UNTRUSTED;
	default:
		return RA_CLW_OTHER;
	}
}

/* 1 when x chains to the anchors, is in its validity now and fit for client
 * authentication; else 0 with why and *code. */
static int chain_ok(const char *anchors, X509 *x, char *why, size_t whysz,
    ra_certlogin_why *code)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	int ok = 0, e;

	*code = RA_CLW_OTHER;
	if (store == NULL || ctx == NULL || X509_STORE_load_file(store, anchors) != 1 ||
	    X509_STORE_CTX_init(ctx, store, x, NULL) != 1) {
		snprintf(why, whysz, "cannot load the trust anchors %s", anchors);
		goto out;
	}
	/* the issuing CA alone may be the anchor; the leaf must allow clientAuth */
	X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_PARTIAL_CHAIN | X509_V_FLAG_X509_STRICT);
	X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT);
	if (X509_verify_cert(ctx) == 1) {
		*code = RA_CLW_NONE;
		ok = 1;
		goto out;
	}
	e = X509_STORE_CTX_get_error(ctx);
	*code = why_code(e);
	snprintf(why, whysz, "certificate not accepted: %s", X509_verify_cert_error_string(e));
out:
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	return ok;
}

/* The serial as the store writes it: lowercase hex of the magnitude, no leading zeros. */
static int serial_of(const X509 *x, char *out, size_t outsz)
{
	static const char hex[] = "0123456789abcdef";
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	uint8_t b[RA_SERIAL_HEX_MAX / 2];
	int n = bn != NULL && !BN_is_negative(bn) && BN_num_bytes(bn) <= (int)sizeof(b) ?
	    BN_bn2bin(bn, b) : -1;

	BN_free(bn);
	if (n <= 0 || (size_t)n * 2 + 1 > outsz)
		return 0;
	for (int i = 0; i < n; i++) {
		out[2 * i] = hex[b[i] >> 4];
		out[2 * i + 1] = hex[b[i] & 15];
	}
	out[2 * n] = '\0';
	return 1;
}

/* The store's record of x: known, same DER, bound (officer_id), active and not past
 * notAfter. */
static ra_certlogin_result judge_record(ra_req *r, const uint8_t sha[32],
    ra_certlogin_id *out)
{
	ra_store *s = r->app->store;
	ra_cert c;
	ra_officer_cert b;
	ik_status st = ra_store_cert_by_serial(s, out->serial, &c);

	if (st == IK_ERR_NOT_FOUND || (st == IK_OK && memcmp(c.sha256, sha, 32) != 0)) {
		snprintf(out->why, sizeof(out->why), "serial %s: not a certificate of this RA",
		    out->serial);
		return RA_CL_UNKNOWN;
	}
	if (st != IK_OK)
		return RA_CL_ERROR;
	out->cert_id = c.id;
	st = ra_store_officer_cert_by_cert(s, c.id, &b);
	if (st == IK_ERR_NOT_FOUND || (st == IK_OK && memcmp(b.sha256, sha, 32) != 0)) {
		snprintf(out->why, sizeof(out->why), "serial %s: bound to no officer", out->serial);
		return RA_CL_NOT_BOUND;
	}
	if (st != IK_OK)
		return RA_CL_ERROR;
	out->officer_id = b.officer_id;
	if (c.state != RA_CERT_ACTIVE || c.not_after <= (int64_t)time(NULL)) {
		snprintf(out->why, sizeof(out->why), "serial %s: the certificate is %s", out->serial,
		    c.state != RA_CERT_ACTIVE ? ra_cert_state_name(c.state) : "expired");
		return RA_CL_NOT_VALID;
	}
	return RA_CL_OK;
}

ra_certlogin_result ra_certlogin_identify(ra_req *r, ra_certlogin_id *out)
{
	ik_buf der;
	X509 *x = NULL;
	const uint8_t *p;
	uint8_t sha[32];
	ra_certlogin_why code = RA_CLW_NONE;
	int expired;
	ra_certlogin_result res = RA_CL_UNTRUSTED;
	ik_status st;

	memset(out, 0, sizeof(*out));
	ik_buf_init(&der, PEER_CERT_MAX);
	st = ra_req_peer_cert(r, &der);
	if (st == IK_ERR_NOT_FOUND) {
		snprintf(out->why, sizeof(out->why), "no client certificate");
		res = RA_CL_NO_CERT;
		goto out;
	}
	p = ik_buf_ptr(&der);
	if (st != IK_OK || (x = d2i_X509(NULL, &p, (long)ik_buf_remaining(&der))) == NULL ||
	    !serial_of(x, out->serial, sizeof(out->serial))) {
		snprintf(out->why, sizeof(out->why), "the client certificate cannot be read");
		goto out;
	}
	if (EVP_Digest(ik_buf_ptr(&der), ik_buf_remaining(&der), sha, NULL, EVP_sha256(), NULL) !=
	    1) {
		res = RA_CL_ERROR;
		goto out;
	}
	if (!chain_ok(r->app->cfg->cert_login_ca, x, out->why, sizeof(out->why), &code)) {
		expired = code == RA_CLW_EXPIRED || code == RA_CLW_NOT_YET_VALID;
		res = expired ? RA_CL_NOT_VALID : RA_CL_UNTRUSTED;
		if (expired) { /* the record only names the officer, for the lockout count */
			char why[sizeof(out->why)];
			memcpy(why, out->why, sizeof(why));
			(void)judge_record(r, sha, out);
			memcpy(out->why, why, sizeof(why));
		}
		goto out;
	}
	res = judge_record(r, sha, out);
out:
	X509_free(x);
	ik_buf_cleanup(&der);
	return res;
}

/* The RA's record c of a certificate to bind must be active. */
static ik_status record_active(const ra_cert *c, ra_certlogin_fit *fit)
{
	fit->state = c->state;
	if (c->state != RA_CERT_ACTIVE) {
		fit->code = RA_CLW_STATE;
		snprintf(fit->why, sizeof(fit->why), "the certificate is %s, not active",
		    ra_cert_state_name(c->state));
		return IK_ERR_STATE;
	}
	return IK_OK;
}

ik_status ra_certlogin_bindable(ra_app *app, int64_t cert_id, ra_certlogin_fit *out)
{
	ra_cert c;
	ik_buf der;
	X509 *x = NULL;
	const uint8_t *p;
	ik_status st;

	memset(out, 0, sizeof(*out));
	if ((st = ra_store_cert_get(app->store, cert_id, &c)) != IK_OK)
		return st;
	out->cert_id = c.id;
	memcpy(out->serial, c.serial, sizeof(out->serial));
	if ((st = record_active(&c, out)) != IK_OK)
		return st;
	ik_buf_init(&der, PEER_CERT_MAX);
	if ((st = ra_store_cert_der(app->store, cert_id, &der)) != IK_OK)
		goto out;
	p = ik_buf_ptr(&der);
	if ((x = d2i_X509(NULL, &p, (long)ik_buf_remaining(&der))) == NULL) {
		st = IK_ERR_IO;
		goto out;
	}
	if (!chain_ok(app->cfg->cert_login_ca, x, out->why, sizeof(out->why), &out->code)) {
		st = IK_ERR_STATE;
		goto out;
	}
	memcpy(out->sha256, c.sha256, 32);
	st = IK_OK;
out:
	X509_free(x);
	ik_buf_cleanup(&der);
	return st;
}

/* text as one certificate: PEM (text around it ignored, as OpenSSL's PEM reader does; a
 * second certificate refused), or DER with nothing after it.  NULL when it is not. */
static X509 *parse_one(const uint8_t *text, size_t len)
{
	BIO *b = BIO_new_mem_buf(text, (int)len);
	X509 *x = NULL, *more = NULL;
	const uint8_t *p = text;

	if (b == NULL)
		return NULL;
	if ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
		if ((more = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
			X509_free(more);
			X509_free(x);
			x = NULL;
		}
	} else if ((x = d2i_X509(NULL, &p, (long)len)) != NULL && p != text + len) {
		X509_free(x);
		x = NULL;
	}
	ERR_clear_error();
	BIO_free(b);
	return x;
}

ik_status ra_certlogin_bindable_pem(ra_app *app, const uint8_t *pem, size_t len,
    ra_certlogin_fit *out)
{
	X509 *x = NULL;
	uint8_t *der = NULL;
	int dlen;
	ra_cert c;
	ik_status st = IK_ERR_ARG;

	memset(out, 0, sizeof(*out));
	if (len == 0 || len > RA_CERTLOGIN_PEM_MAX || (x = parse_one(pem, len)) == NULL ||
	    !serial_of(x, out->serial, sizeof(out->serial))) {
		snprintf(out->why, sizeof(out->why), "not one PEM certificate");
		goto out;
	}
	if ((dlen = i2d_X509(x, &der)) <= 0 ||
	    EVP_Digest(der, (size_t)dlen, out->sha256, NULL, EVP_sha256(), NULL) != 1) {
		st = IK_ERR_CRYPTO;
		goto out;
	}
	if (!chain_ok(app->cfg->cert_login_ca, x, out->why, sizeof(out->why), &out->code)) {
		st = IK_ERR_STATE;
		goto out;
	}
	st = ra_store_cert_by_serial(app->store, out->serial, &c);
	if (st == IK_ERR_NOT_FOUND || (st == IK_OK && CRYPTO_memcmp(c.sha256, out->sha256, 32))) {
		snprintf(out->why, sizeof(out->why), "serial %s: not a certificate of this RA",
		    out->serial);
		st = IK_ERR_NOT_FOUND;
		goto out;
	}
	if (st == IK_OK) {
		out->cert_id = c.id;
		st = record_active(&c, out);
	}
out:
	OPENSSL_free(der);
	X509_free(x);
	return st;
}
