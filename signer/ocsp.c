/* ocsp: the signer's OCSP responder (RFC 6960).  A delegated responder certificate (EKU
 * OCSPSigning, id-pkix-ocsp-nocheck, a few days of validity) for a key in the HSM, issued by
 * the signer itself with the CA key, recorded in the ledger and renewed when half its life
 * is gone; the OCSP verb: CertIDs checked against the CA, status from the ledger, a
 * BasicOCSPResponse signed in the HSM.  Single-CertID answers without a nonce are cached
 * until the next revocation event, until they are [ocsp] refresh old, or until the
 * responder certificate changes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/x509v3.h>

#include "log.h"
#include "server.h"

#define OCSP_CACHE 1024            /* cached answers (direct-mapped by CertID) */
#define OCSP_CN "OCSP Responder"
#define SIG_MAX 1024

/* A minimal OCSPResponse with no responseBytes: SEQUENCE { ENUMERATED 6 }. */
static const uint8_t unauthorized_der[] = { 0x30, 0x03, 0x0a, 0x01, 0x06 };

typedef struct ocsp_entry {
	uint8_t hash;
	uint8_t serial[PROTO_MAX_SERIAL];
	size_t serial_len;
	uint64_t gen;             /* rev_gen when the ledger was read */
	unsigned cert_gen;        /* the responder certificate it was signed with */
	int64_t this_update, next_update;
	uint8_t *der;             /* NULL = empty slot */
	size_t len;
} ocsp_entry;

struct sg_ocsp {
	hsm_key *key;             /* NULL: no responder key, OCSP refused (why says so) */
	EVP_PKEY *pub;
	const EVP_MD *md;         /* for the response signature */
	char why[PROTO_MAX_DETAIL + 1];
	/* the issuing CA as CertIDs name it, per enum proto_hash */
	uint8_t name_hash[PROTO_HASH_MAX + 1][EVP_MAX_MD_SIZE];
	uint8_t key_hash[PROTO_HASH_MAX + 1][EVP_MAX_MD_SIZE];
	/* subject of the responder certificate: C and O from the CA when they fit */
	char subj_c[3], subj_o[PROTO_MAX_ATTR_LEN + 1];
	/* the responder certificate */
	pthread_mutex_t lock;
	X509 *cert;
	int64_t period;           /* now / renew interval when it was taken */
	int64_t cert_not_after;
	unsigned cert_gen;
	/* answers */
	pthread_mutex_t cache_lock;
	ocsp_entry cache[OCSP_CACHE];
};

static int64_t now_s(void)
{
	return (int64_t)time(NULL);
}

static const EVP_MD *hash_md(uint8_t h)
{
	switch (h) {
	case PROTO_HASH_SHA1: return EVP_sha1();
	case PROTO_HASH_SHA256: return EVP_sha256();
	case PROTO_HASH_SHA384: return EVP_sha384();
	case PROTO_HASH_SHA512: return EVP_sha512();
	default: return NULL;
	}
}

/* Half the responder certificate's life: a certificate is replaced when the period of
 * its issue is over, so it always has at least this long left. */
static int64_t renew_interval(const sg_config *cfg)
{
	return (int64_t)cfg->ocsp_cert_days * 86400 / 2;
}

/* ---- set-up ---- */

static ik_status ca_hashes(sg_ocsp *o, const sg_ca *ca)
{
	const ASN1_BIT_STRING *key = X509_get0_pubkey_bitstr(ca->cert);

	if (key == NULL)
		return IK_ERR_CRYPTO;
	for (uint8_t h = 1; h <= PROTO_HASH_MAX; h++)
		if (EVP_Digest(ca->name_der, ca->name_len, o->name_hash[h], NULL, hash_md(h),
		    NULL) != 1 || EVP_Digest(key->data, (size_t)key->length, o->key_hash[h], NULL,
		    hash_md(h), NULL) != 1)
			return IK_ERR_CRYPTO;
	return IK_OK;
}

/* C and O of the CA's subject, for the responder's subject, when they are simple enough
 * for the profile's encoder (C two capital letters, O text without control characters). */
static void ca_subject(sg_ocsp *o, X509 *ca)
{
	const X509_NAME *n = X509_get_subject_name(ca);
	static const int nids[2] = { NID_countryName, NID_organizationName };

	for (int i = 0; i < 2; i++) {
		int at = X509_NAME_get_index_by_NID(n, nids[i], -1);
		unsigned char *u = NULL;
		int len;

		if (at < 0)
			continue;
		len = ASN1_STRING_to_UTF8(&u, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, at)));
		if (len > 0 && i == 0 && len == 2 && u[0] >= 'A' && u[0] <= 'Z' && u[1] >= 'A' &&
		    u[1] <= 'Z')
			memcpy(o->subj_c, u, 3);
		if (len > 0 && i == 1 && (size_t)len <= 64 && strlen((char *)u) == (size_t)len) {
			int ok = 1;
			for (int k = 0; k < len; k++)
				if (u[k] < 0x20 || u[k] == 0x7f)
					ok = 0;
			if (ok)
				memcpy(o->subj_o, u, (size_t)len + 1);
		}
		OPENSSL_free(u);
	}
}

ik_status sg_ocsp_new(sg_server *s, sg_ocsp **out)
{
	const sg_config *cfg = &s->cfg;
	sg_ocsp *o = calloc(1, sizeof(*o));
	ik_status st;

	*out = NULL;
	if (o == NULL)
		return IK_ERR_NOMEM;
	pthread_mutex_init(&o->lock, NULL);
	pthread_mutex_init(&o->cache_lock, NULL);
	if ((st = ca_hashes(o, &s->ca)) != IK_OK) {
		sg_ocsp_free(o);
		return st;
	}
	ca_subject(o, s->ca.cert);
	*out = o;
	st = hsm_key_find(s->hsm, cfg->ocsp_key_label[0] != '\0' ? cfg->ocsp_key_label : NULL,
	    cfg->ocsp_key_id_len > 0 ? cfg->ocsp_key_id : NULL, cfg->ocsp_key_id_len, &o->key);
	if (st == IK_OK)
		st = hsm_key_public(s->hsm, o->key, &o->pub);
	if (st != IK_OK) {
		o->key = NULL;
		snprintf(o->why, sizeof(o->why), "OCSP is off: no OCSP signing key '%.40s' on token "
		    "'%.40s' (%.60s); make one (docs/OCSP.md) and restart the signer",
		    cfg->ocsp_key_label, cfg->token, ik_status_str(st));
		ik_log(LOG_WARNING, "%s", o->why);
		return IK_OK; /* the signer runs without OCSP */
	}
	if (EVP_PKEY_eq(o->pub, X509_get0_pubkey(s->ca.cert)) == 1) {
		ik_log(LOG_ERR, "[ocsp] key '%s' is the issuing-CA key: the responder needs its own "
		    "key", cfg->ocsp_key_label);
		return IK_ERR_CONFIG;
	}
	o->md = hsm_key_alg(o->key) == HSM_KEY_EC_P384 ? EVP_sha384() : EVP_sha256();
	return IK_OK;
}

void sg_ocsp_free(sg_ocsp *o)
{
	if (o == NULL)
		return;
	for (size_t i = 0; i < OCSP_CACHE; i++)
		free(o->cache[i].der);
	X509_free(o->cert);
	EVP_PKEY_free(o->pub);
	pthread_mutex_destroy(&o->lock);
	pthread_mutex_destroy(&o->cache_lock);
	free(o);
}

/* ---- the responder certificate ---- */

static void responder_profile(const sg_config *cfg, sg_profile *p)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "ocsp");
	p->max_days = cfg->ocsp_cert_days;
	p->backdate = 300;
	p->key_types = SG_KEY_EC_P256 | SG_KEY_EC_P384 | SG_KEY_RSA;
	p->rsa_min_bits = 2048;
	p->attrs_allowed = 1u << PROTO_ATTR_C | 1u << PROTO_ATTR_O | 1u << PROTO_ATTR_CN;
	p->attrs_required = 1u << PROTO_ATTR_CN;
	p->ocsp = 1;
}

static void responder_subject(const sg_ocsp *o, sg_leaf *leaf, char *text, size_t textsz)
{
	int n = 0;

	leaf->nsubject = 0;
	text[0] = '\0';
	if (o->subj_c[0] != '\0') {
		leaf->subject[leaf->nsubject++] = (sg_subject_attr){ PROTO_ATTR_C, o->subj_c };
		n = snprintf(text, textsz, "C=%s, ", o->subj_c);
	}
	if (o->subj_o[0] != '\0' && n >= 0 && (size_t)n < textsz) {
		leaf->subject[leaf->nsubject++] = (sg_subject_attr){ PROTO_ATTR_O, o->subj_o };
		n += snprintf(text + n, textsz - (size_t)n, "O=%s, ", o->subj_o);
	}
	leaf->subject[leaf->nsubject++] = (sg_subject_attr){ PROTO_ATTR_CN, OCSP_CN };
	if (n >= 0 && (size_t)n < textsz)
		snprintf(text + n, textsz - (size_t)n, "CN=%s", OCSP_CN);
}

/* Sign TBS bytes with the CA key and check the result against the CA certificate. */
static ik_status sign_cert(sg_server *s, const uint8_t *tbs, size_t n, ik_buf *der, X509 **out)
{
	uint8_t sig[SIG_MAX];
	size_t siglen = sizeof(sig);
	const uint8_t *q;
	X509 *x;
	ik_status st;

	if ((st = hsm_sign(s->hsm, s->key, tbs, n, sig, &siglen)) != IK_OK)
		return st;
	ik_buf_reset(der);
	if ((st = sg_signed_assemble(s->ca.sig, tbs, n, sig, siglen, der)) != IK_OK)
		return st;
	q = ik_buf_ptr(der);
	x = d2i_X509(NULL, &q, (long)ik_buf_remaining(der));
	if (x == NULL || X509_verify(x, X509_get0_pubkey(s->ca.cert)) != 1) {
		X509_free(x);
		return IK_ERR_CRYPTO;
	}
	*out = x;
	return IK_OK;
}

/* A new responder certificate: intent, signature, certificate, as for any other. */
static ik_status responder_new(sg_server *s, const char *request_id, int64_t now,
    const uint8_t *spki, size_t spki_len, ik_buf *tbs, ik_buf *der, X509 **out)
{
	sg_ocsp *o = s->ocsp;
	sg_profile p;
	sg_leaf leaf;
	char why[256], subject[PROTO_MAX_ATTR_LEN + 64];
	ik_status st;

	responder_profile(&s->cfg, &p);
	memset(&leaf, 0, sizeof(leaf));
	if ((st = sg_spki_check(&p, spki, spki_len, &leaf.key, why, sizeof(why))) != IK_OK) {
		ik_log(LOG_ERR, "OCSP responder key: %s", why);
		return st;
	}
	leaf.not_before = now - p.backdate;
	leaf.not_after = now + (int64_t)p.max_days * 86400;
	if (leaf.not_after > s->ca.not_after)
		leaf.not_after = s->ca.not_after;
	if (leaf.not_after <= now) {
		ik_log(LOG_ERR, "OCSP responder: the issuing CA has expired");
		return IK_ERR_STATE;
	}
	responder_subject(o, &leaf, subject, sizeof(subject));
	if ((st = sg_draw_serial(s, &leaf)) != IK_OK || (st = sg_tbs_build(&s->ca, &p, &leaf, tbs)) != IK_OK)
		return st;
	st = sg_lint_tbs(&s->ca, &p, &leaf, ik_buf_ptr(tbs), ik_buf_remaining(tbs), why, sizeof(why));
	if (st != IK_OK) {
		ik_log(LOG_ERR, "pre-issuance lint refused the OCSP responder certificate: %s", why);
		return st;
	}
	if ((st = sg_ledger_record_intent(s->ledger, request_id, leaf.serial, leaf.serial_len,
	    p.name, subject, leaf.not_before, leaf.not_after, ik_buf_ptr(tbs),
	    ik_buf_remaining(tbs))) != IK_OK)
		return st;
	if ((st = sign_cert(s, ik_buf_ptr(tbs), ik_buf_remaining(tbs), der, out)) != IK_OK)
		return st;
	return sg_ledger_record_cert(s->ledger, request_id, ik_buf_ptr(der), ik_buf_remaining(der));
}

/* The responder certificate for this period: the one in the ledger (request id derived
 * from the key and the period, so a restart finds it again), finished if the signer
 * stopped between intent and certificate, or a new one. */
static ik_status responder_issue(sg_server *s, int64_t now, int64_t period, X509 **out)
{
	sg_ocsp *o = s->ocsp;
	uint8_t *spki = NULL, md[32];
	char id[PROTO_MAX_ID + 1];
	sg_issued prev;
	ik_buf tbs, der;
	int n;
	ik_status st;

	*out = NULL;
	n = i2d_PUBKEY(o->pub, &spki);
	if (n <= 0 || EVP_Digest(spki, (size_t)n, md, NULL, EVP_sha256(), NULL) != 1) {
		OPENSSL_free(spki);
		return IK_ERR_CRYPTO;
	}
	/* the key, the renewal interval and the period: one id per certificate, never reused */
	snprintf(id, sizeof(id), "%s%02x%02x%02x%02x%02x%02x%02x%02x:%ud:%lld", SG_OCSP_ID_PREFIX,
	    md[0], md[1], md[2], md[3], md[4], md[5], md[6], md[7], s->cfg.ocsp_cert_days,
	    (long long)period);
	ik_buf_init(&tbs, 64 * 1024);
	ik_buf_init(&der, 64 * 1024);
	memset(&prev, 0, sizeof(prev));
	st = sg_ledger_find_request(s->ledger, id, &prev);
	if (st == IK_OK && strcmp(prev.profile, "ocsp") != 0) {
		ik_log(LOG_ERR, "ledger: request id %s is not an OCSP responder certificate", id);
		st = IK_ERR_LEDGER;
	} else if (st == IK_OK && prev.der != NULL) {
		const uint8_t *q = prev.der;
		*out = d2i_X509(NULL, &q, (long)prev.der_len);
		if (*out == NULL || EVP_PKEY_eq(X509_get0_pubkey(*out), o->pub) != 1) {
			ik_log(LOG_ERR, "ledger: the OCSP responder certificate %s does not match the key", id);
			st = IK_ERR_LEDGER;
		} else if (X509_cmp_time(X509_get0_notAfter(*out), NULL) <= 0) {
			ik_log(LOG_ERR, "ledger: the OCSP responder certificate %s has expired (the "
			    "clock went back?)", id);
			st = IK_ERR_STATE;
		}
	} else if (st == IK_OK) {
		ik_log(LOG_NOTICE, "OCSP responder certificate %s: completing an interrupted issuance", id);
		if ((st = sign_cert(s, prev.tbs, prev.tbs_len, &der, out)) == IK_OK)
			st = sg_ledger_record_cert(s->ledger, id, ik_buf_ptr(&der), ik_buf_remaining(&der));
	} else if (st == IK_ERR_NOT_FOUND) {
		st = responder_new(s, id, now, spki, (size_t)n, &tbs, &der, out);
		if (st == IK_OK)
			ik_log(LOG_INFO, "OCSP responder certificate issued (%s)", id);
	}
	if (st != IK_OK) {
		X509_free(*out);
		*out = NULL;
	}
	sg_issued_cleanup(&prev);
	ik_buf_cleanup(&tbs);
	ik_buf_cleanup(&der);
	OPENSSL_free(spki);
	return st;
}

static int64_t not_after_of(X509 *x)
{
	struct tm tm;

	if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) != 1)
		return 0;
	return (int64_t)timegm(&tm);
}

/* A reference to the current responder certificate (renewed when its period is over),
 * and its generation. */
static ik_status responder_cert(sg_server *s, int64_t now, X509 **out, unsigned *gen)
{
	sg_ocsp *o = s->ocsp;
	int64_t period = now / renew_interval(&s->cfg);
	X509 *x = NULL;
	ik_status st = IK_OK;

	pthread_mutex_lock(&o->lock);
	if (o->cert == NULL || period != o->period || now >= o->cert_not_after) {
		st = responder_issue(s, now, period, &x);
		if (st == IK_OK) {
			X509_free(o->cert);
			o->cert = x;
			o->period = period;
			o->cert_not_after = not_after_of(x);
			o->cert_gen++;
		} else if (o->cert != NULL && now < o->cert_not_after - 60) {
			ik_log(LOG_WARNING, "OCSP responder certificate not renewed (%s): the current "
			    "one is used until it expires", ik_status_str(st));
			st = IK_OK;
		}
	}
	if (st == IK_OK) {
		X509_up_ref(o->cert);
		*out = o->cert;
		*gen = o->cert_gen;
	}
	pthread_mutex_unlock(&o->lock);
	return st;
}

/* ---- the cache ---- */

static size_t slot_of(uint8_t hash, const uint8_t *serial, size_t n)
{
	uint32_t h = 2166136261u ^ hash;

	for (size_t i = 0; i < n; i++)
		h = (h ^ serial[i]) * 16777619u;
	return h % OCSP_CACHE;
}

static int cache_get(sg_server *s, const proto_ocsp_id *id, uint64_t gen, int64_t now,
    ik_buf *der, int64_t *this_update, int64_t *next_update)
{
	sg_ocsp *o = s->ocsp;
	ocsp_entry *e = &o->cache[slot_of(id->hash, id->serial, id->serial_len)];
	int hit = 0;

	pthread_mutex_lock(&o->cache_lock);
	pthread_mutex_lock(&o->lock);
	if (e->der != NULL && e->hash == id->hash && e->serial_len == id->serial_len &&
	    memcmp(e->serial, id->serial, id->serial_len) == 0 && e->gen == gen &&
	    e->cert_gen == o->cert_gen && o->period == now / renew_interval(&s->cfg) &&
	    now >= e->this_update && now < e->this_update + s->cfg.ocsp_refresh &&
	    ik_buf_put(der, e->der, e->len) == IK_OK) {
		*this_update = e->this_update;
		*next_update = e->next_update;
		hit = 1;
	}
	pthread_mutex_unlock(&o->lock);
	pthread_mutex_unlock(&o->cache_lock);
	return hit;
}

static void cache_put(sg_server *s, const proto_ocsp_id *id, uint64_t gen, unsigned cert_gen,
    const uint8_t *der, size_t len, int64_t this_update, int64_t next_update)
{
	sg_ocsp *o = s->ocsp;
	ocsp_entry *e = &o->cache[slot_of(id->hash, id->serial, id->serial_len)];
	uint8_t *copy = malloc(len);

	if (copy == NULL)
		return;
	memcpy(copy, der, len);
	pthread_mutex_lock(&o->cache_lock);
	free(e->der);
	e->der = copy;
	e->len = len;
	e->hash = id->hash;
	memcpy(e->serial, id->serial, id->serial_len);
	e->serial_len = id->serial_len;
	e->gen = gen;
	e->cert_gen = cert_gen;
	e->this_update = this_update;
	e->next_update = next_update;
	pthread_mutex_unlock(&o->cache_lock);
}

/* ---- building and signing a response ---- */

typedef struct sign_arg {
	OCSP_BASICRESP *bs;
	X509 *cert;
	const EVP_MD *md;
} sign_arg;

static ik_status sign_cb(EVP_PKEY *pk, void *arg)
{
	sign_arg *a = arg;

	return OCSP_basic_sign(a->bs, a->cert, pk, a->md, NULL, OCSP_RESPID_KEY) == 1 ? IK_OK :
	    IK_ERR_HSM;
}

/* One SingleResponse: status from the ledger.  *known = 0 for "unknown". */
static ik_status add_single(sg_server *s, OCSP_BASICRESP *bs, const proto_ocsp_id *id,
    ASN1_TIME *thisupd, ASN1_TIME *nextupd, int *known)
{
	uint8_t tlv[2 + PROTO_MAX_SERIAL], state, reason;
	const unsigned char *q = tlv;
	ASN1_INTEGER *serial;
	ASN1_TIME *revtime = NULL;
	OCSP_CERTID *cid = NULL;
	int64_t when;
	int status, rsn = OCSP_REVOKED_STATUS_NOSTATUS;
	ik_status st;

	tlv[0] = 0x02;
	tlv[1] = (uint8_t)id->serial_len;
	memcpy(tlv + 2, id->serial, id->serial_len);
	serial = d2i_ASN1_INTEGER(NULL, &q, (long)(2 + id->serial_len));
	if (serial == NULL || q != tlv + 2 + id->serial_len) {
		ASN1_INTEGER_free(serial);
		return IK_ERR_PROTO_FIELD; /* not a DER INTEGER: the RA did not parse it */
	}
	st = sg_ledger_cert_status(s->ledger, id->serial, id->serial_len, &state, &reason, &when);
	if (st == IK_ERR_NOT_FOUND) {
		status = V_OCSP_CERTSTATUS_UNKNOWN;
		*known = 0;
	} else if (st != IK_OK) {
		goto out;
	} else if (state == PROTO_STATE_GOOD) {
		status = V_OCSP_CERTSTATUS_GOOD;
	} else {
		status = V_OCSP_CERTSTATUS_REVOKED;
		if (state == PROTO_STATE_HELD)
			rsn = OCSP_REVOKED_STATUS_CERTIFICATEHOLD;
		else if (reason != 0)
			rsn = reason; /* unspecified (0) is left out, as on the CRL */
		if ((revtime = ASN1_GENERALIZEDTIME_set(NULL, (time_t)when)) == NULL) {
			st = IK_ERR_CRYPTO;
			goto out;
		}
	}
	st = IK_ERR_CRYPTO;
	cid = OCSP_cert_id_new(hash_md(id->hash), X509_get_subject_name(s->ca.cert),
	    X509_get0_pubkey_bitstr(s->ca.cert), serial);
	if (cid != NULL && OCSP_basic_add1_status(bs, cid, status, rsn, revtime, thisupd,
	    nextupd) != NULL)
		st = IK_OK;
out:
	OCSP_CERTID_free(cid);
	ASN1_TIME_free(revtime);
	ASN1_INTEGER_free(serial);
	return st;
}

/* The DER OCSPResponse for m, signed with the responder certificate x. */
static ik_status build_response(sg_server *s, const proto_ocsp *m, X509 *x, int64_t now,
    ik_buf *out, int *all_known)
{
	OCSP_BASICRESP *bs = OCSP_BASICRESP_new();
	OCSP_RESPONSE *resp = NULL;
	ASN1_TIME *thisupd = ASN1_GENERALIZEDTIME_set(NULL, (time_t)now);
	ASN1_TIME *nextupd = ASN1_GENERALIZEDTIME_set(NULL, (time_t)(now + s->cfg.ocsp_lifetime));
	sign_arg a = { .bs = bs, .cert = x, .md = s->ocsp->md };
	uint8_t *der = NULL;
	int n;
	ik_status st = IK_ERR_CRYPTO;

	*all_known = 1;
	if (bs == NULL || thisupd == NULL || nextupd == NULL)
		goto out;
	for (uint8_t i = 0; i < m->n; i++)
		if ((st = add_single(s, bs, &m->ids[i], thisupd, nextupd, all_known)) != IK_OK)
			goto out;
	st = IK_ERR_CRYPTO;
	if (m->nonce_len > 0 &&
	    OCSP_basic_add1_nonce(bs, (unsigned char *)(uintptr_t)m->nonce, (int)m->nonce_len) != 1)
		goto out;
	if ((st = hsm_with_pkey(s->hsm, s->ocsp->key, sign_cb, &a)) != IK_OK)
		goto out;
	st = IK_ERR_CRYPTO;
	if ((resp = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, bs)) == NULL ||
	    (n = i2d_OCSP_RESPONSE(resp, &der)) <= 0)
		goto out;
	st = (size_t)n <= PROTO_MAX_OCSP_RESPONSE ? ik_buf_put(out, der, (size_t)n) : IK_ERR_INTERNAL;
out:
	OPENSSL_free(der);
	OCSP_RESPONSE_free(resp);
	OCSP_BASICRESP_free(bs);
	ASN1_TIME_free(thisupd);
	ASN1_TIME_free(nextupd);
	ERR_clear_error();
	return st;
}

/* ---- the verb ---- */

static ik_status reply(sg_worker *w, uint8_t status, int64_t this_update, int64_t next_update,
    const uint8_t *der, size_t len)
{
	proto_ocsp_reply r = {
		.status = status, .this_update = (uint64_t)this_update,
		.next_update = (uint64_t)next_update, .response = der, .response_len = len,
	};

	ik_buf_reset(&w->reply);
	return proto_encode_ocsp_reply(&w->reply, &r);
}

ik_status sg_ocsp_dispatch(sg_worker *w, const uint8_t *body, size_t len, proto_error *err)
{
	sg_server *s = w->s;
	sg_ocsp *o = s->ocsp;
	proto_ocsp m;
	X509 *x = NULL;
	unsigned cert_gen = 0;
	int64_t now = now_s(), this_update = now, next_update = now + s->cfg.ocsp_lifetime;
	uint64_t gen;
	int cacheable, known;
	ik_status st;

	if ((st = proto_decode_ocsp(body, len, &m)) != IK_OK) {
		snprintf(err->detail, sizeof(err->detail), "ocsp: %s", ik_status_str(st));
		return st;
	}
	if (o == NULL || o->key == NULL) {
		snprintf(err->detail, sizeof(err->detail), "%s",
		    o != NULL ? o->why : "OCSP is off");
		return IK_ERR_NOT_FOUND;
	}
	for (uint8_t i = 0; i < m.n; i++) {
		size_t hl = proto_hash_len(m.ids[i].hash);
		if (memcmp(m.ids[i].name_hash, o->name_hash[m.ids[i].hash], hl) != 0 ||
		    memcmp(m.ids[i].key_hash, o->key_hash[m.ids[i].hash], hl) != 0)
			return reply(w, PROTO_OCSP_UNAUTHORIZED, 0, 0, unauthorized_der,
			    sizeof(unauthorized_der));
	}
	/* rev_gen is read before the ledger: an event after this point makes the entry stale */
	gen = atomic_load(&s->rev_gen);
	cacheable = m.n == 1 && m.nonce_len == 0;
	ik_buf_reset(&w->cert);
	if (cacheable && cache_get(s, &m.ids[0], gen, now, &w->cert, &this_update, &next_update))
		return reply(w, PROTO_OCSP_SUCCESSFUL, this_update, next_update, ik_buf_ptr(&w->cert),
		    ik_buf_remaining(&w->cert));
	if ((st = responder_cert(s, now, &x, &cert_gen)) != IK_OK) {
		snprintf(err->detail, sizeof(err->detail), "OCSP responder certificate: %s",
		    ik_status_str(st));
		return st;
	}
	ik_buf_reset(&w->cert);
	st = build_response(s, &m, x, now, &w->cert, &known);
	X509_free(x);
	if (st != IK_OK) {
		snprintf(err->detail, sizeof(err->detail), "ocsp: %s%s",
		    st == IK_ERR_PROTO_FIELD ? "a serial is not a DER INTEGER: " : "",
		    ik_status_str(st));
		return st;
	}
	/* "unknown" is not cached: the certificate may be issued in the meantime */
	if (cacheable && known)
		cache_put(s, &m.ids[0], gen, cert_gen, ik_buf_ptr(&w->cert), ik_buf_remaining(&w->cert),
		    this_update, next_update);
	return reply(w, PROTO_OCSP_SUCCESSFUL, this_update, next_update, ik_buf_ptr(&w->cert),
	    ik_buf_remaining(&w->cert));
}
