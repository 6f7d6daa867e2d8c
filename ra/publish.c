/* publish: CA certificates and the CRL at stable, unauthenticated URLs.  The signer owns
 * them; the RA keeps the last copies it got, refreshes them when they may have changed, and
 * keeps serving them while the signer is away (relying parties must never see a 5xx for a
 * CRL that is still valid). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "log.h"
#include "publish.h"
#include "signer_client.h"

#define PUBLISH_MAX_OBJECT (64u << 20)  /* a CRL of ~1.5 million entries */
#define PUBLISH_RECHECK 30              /* seconds between checks with the signer */
#define PUBLISH_MAX_CERT (64u << 10)  /* one CA certificate */

struct ra_publish {
	ra_signer *signer;
	pthread_mutex_t lock;
	ik_buf crl;
	uint64_t crl_number, next_update;
	ik_buf ca[PROTO_MAX_CHAIN];
	unsigned nca;
	int64_t checked;                /* last successful refresh, unix time */
};

ik_status ra_publish_new(ra_signer *signer, ra_publish **out)
{
	ra_publish *p = calloc(1, sizeof(*p));

	*out = NULL;
	if (p == NULL)
		return IK_ERR_NOMEM;
	p->signer = signer;
	pthread_mutex_init(&p->lock, NULL);
	ik_buf_init(&p->crl, PUBLISH_MAX_OBJECT);
	for (unsigned i = 0; i < PROTO_MAX_CHAIN; i++)
		ik_buf_init(&p->ca[i], PUBLISH_MAX_CERT);
	*out = p;
	return IK_OK;
}

void ra_publish_free(ra_publish *p)
{
	if (p == NULL)
		return;
	ik_buf_cleanup(&p->crl);
	for (unsigned i = 0; i < PROTO_MAX_CHAIN; i++)
		ik_buf_cleanup(&p->ca[i]);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

ik_status ra_publish_refresh(ra_publish *p)
{
	ik_buf crl_reply, chain_reply;
	proto_crl_reply crl;
	proto_chain_reply chain;
	proto_error err;
	ik_status st;

	if (p->signer == NULL)
		return IK_ERR_IO;
	ik_buf_init(&crl_reply, PROTO_MAX_REPLY);
	ik_buf_init(&chain_reply, PROTO_MAX_REPLY);
	if ((st = ra_signer_crl(p->signer, &crl_reply, &crl, &err)) != IK_OK ||
	    (st = ra_signer_chain(p->signer, &chain_reply, &chain, &err)) != IK_OK)
		goto out;
	pthread_mutex_lock(&p->lock);
	/* the CRL number never goes backwards here, whatever the signer says */
	if (crl.crl_number >= p->crl_number) {
		ik_buf_reset(&p->crl);
		st = ik_buf_put(&p->crl, crl.crl, crl.crl_len);
		p->crl_number = crl.crl_number;
		p->next_update = crl.next_update;
	} else {
		ik_log(LOG_ERR, "signer sent CRL %llu after CRL %llu; keeping the newer one",
		    (unsigned long long)crl.crl_number, (unsigned long long)p->crl_number);
	}
	for (unsigned i = 0; st == IK_OK && i < chain.n && i < PROTO_MAX_CHAIN; i++) {
		ik_buf_reset(&p->ca[i]);
		st = ik_buf_put(&p->ca[i], chain.cert[i], chain.cert_len[i]);
	}
	if (st == IK_OK) {
		p->nca = chain.n;
		p->checked = (int64_t)time(NULL);
	}
	pthread_mutex_unlock(&p->lock);
out:
	ik_buf_cleanup(&crl_reply);
	ik_buf_cleanup(&chain_reply);
	return st;
}

/* Refresh when the copy is old or missing; a failure leaves the old copy in place. */
static void maybe_refresh(ra_publish *p)
{
	int64_t now = (int64_t)time(NULL), checked;

	pthread_mutex_lock(&p->lock);
	checked = p->checked;
	pthread_mutex_unlock(&p->lock);
	if (checked == 0 || now - checked >= PUBLISH_RECHECK)
		(void)ra_publish_refresh(p);
}

ik_status ra_publish_crl(ra_publish *p, ik_buf *der, uint64_t *number, uint64_t *next_update)
{
	ik_status st = IK_ERR_NOT_FOUND;

	maybe_refresh(p);
	pthread_mutex_lock(&p->lock);
	if (ik_buf_remaining(&p->crl) > 0) {
		st = ik_buf_put(der, ik_buf_ptr(&p->crl), ik_buf_remaining(&p->crl));
		*number = p->crl_number;
		*next_update = p->next_update;
	}
	pthread_mutex_unlock(&p->lock);
	return st;
}

ik_status ra_publish_ca(ra_publish *p, unsigned index, ik_buf *der, unsigned *count)
{
	ik_status st = IK_ERR_NOT_FOUND;

	maybe_refresh(p);
	pthread_mutex_lock(&p->lock);
	*count = p->nca;
	if (index < p->nca)
		st = ik_buf_put(der, ik_buf_ptr(&p->ca[index]), ik_buf_remaining(&p->ca[index]));
	pthread_mutex_unlock(&p->lock);
	return st;
}

/* ---- HTTP ---------------------------------------------------------------------------- */

static ik_status der_to_pem(const uint8_t *der, size_t n, ik_buf *pem)
{
	const uint8_t *q = der;
	X509 *x = d2i_X509(NULL, &q, (long)n);
	BIO *b = BIO_new(BIO_s_mem());
	char *data;
	long len;
	ik_status st = IK_ERR_CRYPTO;

	if (x != NULL && b != NULL && q == der + n && PEM_write_bio_X509(b, x) == 1 &&
	    (len = BIO_get_mem_data(b, &data)) > 0)
		st = ik_buf_put(pem, data, (size_t)len);
	BIO_free(b);
	X509_free(x);
	return st;
}

typedef enum ca_which { CA_ISSUING, CA_ROOT } ca_which;

static void reply_ca(ra_req *r, ca_which which, int pem)
{
	ik_buf der, out;
	unsigned count = 0;
	ik_status st;

	ik_buf_init(&der, PUBLISH_MAX_CERT);
	ik_buf_init(&out, 4 * PUBLISH_MAX_CERT);
	st = ra_publish_ca(r->app->publish, 0, &der, &count);
	if (st == IK_OK && which == CA_ROOT) {
		ik_buf_reset(&der);
		st = count > 0 ? ra_publish_ca(r->app->publish, count - 1, &der, &count) :
		    IK_ERR_NOT_FOUND;
	}
	if (st != IK_OK) {
		ra_reply_error(r, 503, "signer_unavailable",
		    "the CA certificates are not available yet: the signer has not answered");
		goto out;
	}
	r->cache_seconds = 3600;
	if (pem) {
		if (der_to_pem(ik_buf_ptr(&der), ik_buf_remaining(&der), &out) != IK_OK) {
			ra_reply_error(r, 500, "internal", "cannot encode the certificate");
			goto out;
		}
		ra_reply_bytes(r, 200, "application/x-pem-file", ik_buf_ptr(&out),
		    ik_buf_remaining(&out), which == CA_ROOT ? "root-ca.pem" : "issuing-ca.pem");
	} else {
		ra_reply_bytes(r, 200, "application/pkix-cert", ik_buf_ptr(&der),
		    ik_buf_remaining(&der), which == CA_ROOT ? "root-ca.der" : "issuing-ca.der");
	}
out:
	ik_buf_cleanup(&der);
	ik_buf_cleanup(&out);
}

static void h_issuing_pem(ra_req *r) { reply_ca(r, CA_ISSUING, 1); }
static void h_issuing_der(ra_req *r) { reply_ca(r, CA_ISSUING, 0); }
static void h_root_pem(ra_req *r) { reply_ca(r, CA_ROOT, 1); }
static void h_root_der(ra_req *r) { reply_ca(r, CA_ROOT, 0); }

static void h_chain_pem(ra_req *r)
{
	ik_buf der, out;
	unsigned count = 0;
	ik_status st = IK_OK;

	ik_buf_init(&der, PUBLISH_MAX_CERT);
	ik_buf_init(&out, PROTO_MAX_CHAIN * 2 * PUBLISH_MAX_CERT);
	for (unsigned i = 0; st == IK_OK && (i == 0 || i < count); i++) {
		ik_buf_reset(&der);
		if ((st = ra_publish_ca(r->app->publish, i, &der, &count)) == IK_OK)
			st = der_to_pem(ik_buf_ptr(&der), ik_buf_remaining(&der), &out);
	}
	if (st != IK_OK)
		ra_reply_error(r, 503, "signer_unavailable",
		    "the CA certificates are not available yet: the signer has not answered");
	else {
		r->cache_seconds = 3600;
		ra_reply_bytes(r, 200, "application/x-pem-file", ik_buf_ptr(&out),
		    ik_buf_remaining(&out), "chain.pem");
	}
	ik_buf_cleanup(&der);
	ik_buf_cleanup(&out);
}

static void h_crl(ra_req *r)
{
	ik_buf der;
	uint64_t number = 0, next = 0;
	int64_t now = (int64_t)time(NULL);

	ik_buf_init(&der, PUBLISH_MAX_OBJECT);
	if (ra_publish_crl(r->app->publish, &der, &number, &next) != IK_OK) {
		ra_reply_error(r, 503, "signer_unavailable",
		    "no CRL yet: the signer has not answered");
	} else {
		/* caches may keep it a little, never past nextUpdate */
		int64_t left = (int64_t)next - now;
		r->cache_seconds = left <= 0 ? 0 : left > 60 ? 60 : (unsigned)left;
		ra_reply_bytes(r, 200, "application/pkix-crl", ik_buf_ptr(&der),
		    ik_buf_remaining(&der), NULL);
	}
	ik_buf_cleanup(&der);
}

const ra_route ra_publish_routes[] = {
	{ "GET", "/ca/issuing-ca.pem", h_issuing_pem, RA_ROLE_NONE, RA_RF_PLAIN },
	{ "GET", "/ca/issuing-ca.der", h_issuing_der, RA_ROLE_NONE, RA_RF_PLAIN },
	{ "GET", "/ca/root-ca.pem", h_root_pem, RA_ROLE_NONE, RA_RF_PLAIN },
	{ "GET", "/ca/root-ca.der", h_root_der, RA_ROLE_NONE, RA_RF_PLAIN },
	{ "GET", "/ca/chain.pem", h_chain_pem, RA_ROLE_NONE, RA_RF_PLAIN },
	{ "GET", "/crl/issuing-ca.crl", h_crl, RA_ROLE_NONE, RA_RF_PLAIN },
};
const size_t ra_publish_nroutes = sizeof(ra_publish_routes) / sizeof(ra_publish_routes[0]);
