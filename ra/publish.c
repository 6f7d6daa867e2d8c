/* publish: CA certificates and the CRL at stable, unauthenticated URLs.  The signer owns
 * them; the RA keeps the last copies it got (the CRL in an unlinked file, served from it),
 * refreshes them when they may have changed, and keeps serving them while the signer is
 * away (relying parties must never see a 5xx for a CRL that is still valid).
 *
 * A CRL's file, once no reply reads it, is kept as the spare and the next CRL overwrites
 * it: a million entries are ~50 MB, and writing them into memory already held costs a
 * fifth of writing them into a new file (fresh pages; on a VM that returns free memory to
 * its host, ~3 ms per MiB the first time), and no close has to free the old one.  A spare
 * of the CRL's size is made ahead, off every request's time, when there is none. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "fdio.h"
#include "log.h"
#include "publish.h"
#include "signer_client.h"

#define PUBLISH_RECHECK 30              /* seconds between checks with the signer */
#define PUBLISH_MAX_CERT (64u << 10)  /* one CA certificate */
#define CRL_TAIL 64                   /* the CRL's last bytes (its signature) name it */
#define SPARE_MIN (256u << 10)        /* smaller CRLs get no spare made ahead */
#define SPARE_CHUNK (256u << 10)

typedef struct ra_publish ra_publish;

/* One CRL as the signer sent it: its DER in an unlinked file, read-only once made and
 * shared by the replies that are sending it (a newer one can replace it meanwhile). */
typedef struct pub_crl {
	atomic_uint refs;
	ra_publish *owner;              /* takes the file back as its spare */
	int fd;
	size_t len;
	uint64_t number, this_update, next_update;
	char etag[2 + 20 + 1 + 32 + 1];   /* "NUMBER-HASH": the number and the signature */
} pub_crl;

struct ra_publish {
	ra_signer *signer;
	char dir[PATH_MAX];             /* where the CRL files live (the database's) */
	pthread_mutex_t lock;           /* the fields below, never held across a signer call */
	pub_crl *crl;
	ik_buf ca[PROTO_MAX_CHAIN];
	unsigned nca;
	int64_t checked;                /* last successful refresh or check, unix time */
	unsigned recheck;               /* seconds between two checks with the signer */
	uint64_t asked;                 /* refreshes asked for so far (each call's ticket) */
	uint64_t fetched;               /* the tickets a successful fetch covered: those asked for
	                                 * before it began */
	uint64_t tries;                 /* fetches ended so far, and how the last one ended */
	ik_status last;
	/* One fetch from the signer at a time: callers who asked while one was under way wait
	 * for the next, which covers them all (a million-entry CRL is ~50 MB: a second copy
	 * in parallel only makes both later). */
	int fetching;
	pthread_cond_t fetched_cond;    /* a fetch ended */
	/* The publisher thread (ra-publish) serves ra_publish_kick: it fetches while calls are
	 * not yet served by a fetch begun after them, so a queue worker never waits for a
	 * CRL, and a burst of revocations costs a few fetches, not one each. */
	pthread_t thread;
	int started, stopping;
	uint64_t kicks, served;         /* kicks so far; those a fetch begun after them served */
	pthread_cond_t kick_cond;
	atomic_uint_fast64_t fetches, checks;
	/* The spare CRL file (-1: none), and its size: a released CRL's, or made ahead by the
	 * publisher thread (spare_wanted) to the size of the CRL held. */
	int spare_fd;
	size_t spare_len;
	unsigned live;                  /* CRLs with a file: the current one, those fetching,
	                                 * and those a reply still holds (they come back) */
	int spare_wanted, freeing;
	int64_t spare_retry;            /* after a spare could not be made: not before then */
	atomic_uint_fast64_t spares_made, spares_used;
};

/* A file its CRL no longer uses: the spare if there is none (or it is the larger), else
 * closed. */
static void spare_put(ra_publish *p, int fd, size_t len)
{
	pthread_mutex_lock(&p->lock);
	p->live--;
	if (!p->freeing && (p->spare_fd < 0 || len > p->spare_len)) {
		int old = p->spare_fd;
		p->spare_fd = fd;
		p->spare_len = len;
		fd = old;
	}
	pthread_mutex_unlock(&p->lock);
	if (fd >= 0)
		close(fd);
}

/* A file for the next CRL, counted live: the spare, or a new one. */
static int crl_file(ra_publish *p)
{
	int fd;

	pthread_mutex_lock(&p->lock);
	fd = p->spare_fd;
	p->spare_fd = -1;
	p->spare_len = 0;
	pthread_mutex_unlock(&p->lock);
	if (fd >= 0)
		atomic_fetch_add(&p->spares_used, 1);
	else if ((fd = ik_fd_tmpfile(p->dir)) < 0)
		return -1;
	pthread_mutex_lock(&p->lock);
	p->live++;
	pthread_mutex_unlock(&p->lock);
	return fd;
}

static void crl_unref(pub_crl *c)
{
	if (c == NULL || atomic_fetch_sub(&c->refs, 1) != 1)
		return;
	if (c->fd >= 0) /* a CRL never has a file without its owner */
		spare_put(c->owner, c->fd, c->len);
	free(c);
}

/* What came is one whole DER SEQUENCE of the announced length (the signer signed it; this
 * only catches a file that did not take every byte), and its ETag from the number and
 * the last bytes, which hold the signature. */
static ik_status crl_check(pub_crl *c)
{
	uint8_t head[6] = { 0 }, tail[CRL_TAIL], md[32];
	size_t body = 0, hl, tl = c->len < CRL_TAIL ? c->len : CRL_TAIL;
	struct stat sb;
	ik_status st;

	if (fstat(c->fd, &sb) != 0 || (uint64_t)sb.st_size != (uint64_t)c->len || c->len < 2 ||
	    (st = ik_fd_pread_all(c->fd, head, c->len < sizeof(head) ? c->len : sizeof(head), 0)) != IK_OK)
		return IK_ERR_IO;
	if (head[0] != 0x30)
		return IK_ERR_PROTO_FIELD;
	if (head[1] < 0x80) {
		body = head[1];
		hl = 2;
	} else if (head[1] >= 0x81 && head[1] <= 0x84 && c->len >= 2u + (head[1] & 0x7fu)) {
		hl = 2 + (size_t)(head[1] & 0x7f);
		for (size_t i = 2; i < hl; i++)
			body = body << 8 | head[i];
	} else {
		return IK_ERR_PROTO_FIELD;
	}
	if (body != c->len - hl)
		return IK_ERR_PROTO_FIELD;
	if ((st = ik_fd_pread_all(c->fd, tail, tl, c->len - tl)) != IK_OK)
		return st;
	if (EVP_Digest(tail, tl, md, NULL, EVP_sha256(), NULL) != 1)
		return IK_ERR_CRYPTO;
	snprintf(c->etag, sizeof(c->etag), "\"%llu-", (unsigned long long)c->number);
	for (size_t i = 0, o = strlen(c->etag); i < 8; i++, o += 2)
		snprintf(c->etag + o, sizeof(c->etag) - o, "%02x", md[i]);
	strncat(c->etag, "\"", sizeof(c->etag) - strlen(c->etag) - 1);
	return IK_OK;
}

/* The signer's current CRL, into the spare file or a new one, under dl. */
static ik_status crl_fetch(ra_publish *p, pub_crl **out, ra_deadline *dl)
{
	proto_crl_reply r;
	proto_error err;
	pub_crl *c = calloc(1, sizeof(*c));
	ik_status st;

	*out = NULL;
	if (c == NULL)
		return IK_ERR_NOMEM;
	atomic_init(&c->refs, 1);
	c->owner = p;
	if ((c->fd = crl_file(p)) < 0) {
		ik_log(LOG_ERR, "publish: cannot make a file for the CRL in %s: %s", p->dir,
		    strerror(errno));
		st = IK_ERR_IO;
	} else if ((st = ra_signer_crl_file_by(p->signer, c->fd, &r, &err, dl)) == IK_OK) {
		c->len = r.crl_len;
		c->number = r.crl_number;
		c->this_update = r.this_update;
		c->next_update = r.next_update;
		if ((st = crl_check(c)) != IK_OK)
			ik_log(LOG_ERR, "publish: the CRL %llu from the signer is not whole (%s); "
			    "keeping the last one", (unsigned long long)r.crl_number,
			    ik_status_str(st));
	}
	if (st != IK_OK) {
		crl_unref(c);
		return st;
	}
	*out = c;
	return IK_OK;
}

ik_status ra_publish_new(ra_signer *signer, const char *near, ra_publish **out)
{
	const char *slash = strrchr(near, '/');
	size_t n = slash == NULL || slash == near ? 1 : (size_t)(slash - near);
	ra_publish *p;

	*out = NULL;
	if (n >= sizeof(p->dir))
		return IK_ERR_ARG;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return IK_ERR_NOMEM;
	p->signer = signer;
	memcpy(p->dir, slash == NULL ? "." : near, n);
	p->dir[n] = '\0';
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->fetched_cond, NULL);
	pthread_cond_init(&p->kick_cond, NULL);
	p->recheck = PUBLISH_RECHECK;
	p->spare_fd = -1;
	atomic_init(&p->fetches, 0);
	atomic_init(&p->checks, 0);
	atomic_init(&p->spares_made, 0);
	atomic_init(&p->spares_used, 0);
	for (unsigned i = 0; i < PROTO_MAX_CHAIN; i++)
		ik_buf_init(&p->ca[i], PUBLISH_MAX_CERT);
	*out = p;
	return IK_OK;
}

void ra_publish_free(ra_publish *p)
{
	if (p == NULL)
		return;
	if (p->started) { /* a fetch under way ends within signer_crl_timeout */
		pthread_mutex_lock(&p->lock);
		p->stopping = 1;
		pthread_cond_signal(&p->kick_cond);
		pthread_mutex_unlock(&p->lock);
		pthread_join(p->thread, NULL);
	}
	pthread_cond_destroy(&p->kick_cond);
	/* the HTTP server is gone: no reply holds a CRL any more */
	pthread_mutex_lock(&p->lock);
	p->freeing = 1;
	pthread_mutex_unlock(&p->lock);
	crl_unref(p->crl);
	if (p->spare_fd >= 0)
		close(p->spare_fd);
	for (unsigned i = 0; i < PROTO_MAX_CHAIN; i++)
		ik_buf_cleanup(&p->ca[i]);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->fetched_cond);
	free(p);
}

void ra_publish_set_recheck(ra_publish *p, unsigned seconds)
{
	pthread_mutex_lock(&p->lock);
	p->recheck = seconds > 0 ? seconds : 1;
	pthread_mutex_unlock(&p->lock);
}

void ra_publish_counts(ra_publish *p, uint64_t *fetches, uint64_t *checks)
{
	*fetches = atomic_load(&p->fetches);
	*checks = atomic_load(&p->checks);
}

void ra_publish_spare_counts(ra_publish *p, uint64_t *made, uint64_t *used)
{
	*made = atomic_load(&p->spares_made);
	*used = atomic_load(&p->spares_used);
}

/* The publisher thread, asked for a spare: a file of the held CRL's size (and a little to
 * grow), its pages written so that they are in memory when the next CRL comes. */
static void spare_make(ra_publish *p)
{
	size_t len, done = 0;
	uint8_t *zero;
	int fd, have;

	pthread_mutex_lock(&p->lock);
	have = p->spare_fd >= 0 || p->live > 1;
	len = p->crl != NULL ? p->crl->len : 0;
	pthread_mutex_unlock(&p->lock);
	if (have || len < SPARE_MIN)
		return;
	len += len / 32;
	if ((zero = calloc(1, SPARE_CHUNK)) == NULL)
		return;
	if ((fd = ik_fd_tmpfile(p->dir)) < 0)
		ik_log(LOG_WARNING, "publish: cannot make a spare CRL file in %s: %s", p->dir,
		    strerror(errno));
	while (fd >= 0 && done < len) {
		size_t k = len - done < SPARE_CHUNK ? len - done : SPARE_CHUNK;
		if (ik_fd_write_all(fd, zero, k) != IK_OK)
			break;
		done += k;
	}
	free(zero);
	if (fd >= 0 && done < len) {
		ik_log(LOG_WARNING, "publish: cannot write a spare CRL file in %s: %s", p->dir,
		    strerror(errno));
		close(fd);
		fd = -1;
	}
	if (fd < 0) { /* the next CRL goes to a new file, as it can; no new try for a minute */
		pthread_mutex_lock(&p->lock);
		p->spare_retry = (int64_t)time(NULL) + 60;
		pthread_mutex_unlock(&p->lock);
		return;
	}
	atomic_fetch_add(&p->spares_made, 1);
	spare_put(p, fd, len);
}

/* The CRL and the chain from the signer, swapped in.  Called by the one fetching; start is the
 * last ticket asked for before the GET_CRL went out, so its success covers every caller up
 * to it (the signer builds a CRL with every event it recorded before a GET_CRL). */
static ik_status fetch(ra_publish *p, uint64_t start)
{
	ik_buf chain_reply;
	proto_chain_reply chain;
	proto_error err;
	pub_crl *crl = NULL, *old = NULL;
	ra_deadline dl;
	ik_status st;

	ik_buf_init(&chain_reply, PROTO_MAX_REPLY);
	atomic_fetch_add(&p->fetches, 1);
	/* one deadline, signer_crl_timeout, for the CRL and the chain together: a GET /crl
	 * that refreshes answers within it (the chain, a few KB, gets what the CRL left) */
	ra_signer_deadline(p->signer, 1, &dl);
	if ((st = crl_fetch(p, &crl, &dl)) != IK_OK ||
	    (st = ra_signer_chain_by(p->signer, &chain_reply, &chain, &err, &dl)) != IK_OK)
		goto out;
	pthread_mutex_lock(&p->lock);
	/* the CRL number never goes backwards here, whatever the signer says */
	if (p->crl == NULL || crl->number >= p->crl->number) {
		old = p->crl;
		p->crl = crl;
		crl = NULL;
	} else {
		ik_log(LOG_ERR, "signer sent CRL %llu after CRL %llu; keeping the newer one",
		    (unsigned long long)crl->number, (unsigned long long)p->crl->number);
	}
	for (unsigned i = 0; st == IK_OK && i < chain.n && i < PROTO_MAX_CHAIN; i++) {
		ik_buf_reset(&p->ca[i]);
		st = ik_buf_put(&p->ca[i], chain.cert[i], chain.cert_len[i]);
	}
	if (st == IK_OK) {
		p->nca = chain.n;
		p->checked = (int64_t)time(NULL);
		if (start > p->fetched)
			p->fetched = start;
	}
	pthread_mutex_unlock(&p->lock);
out:
	pthread_mutex_lock(&p->lock);
	p->tries++;
	p->last = st;
	p->fetching = 0;
	pthread_cond_broadcast(&p->fetched_cond);
	pthread_mutex_unlock(&p->lock);
	crl_unref(old); /* replies still sending it keep their own reference */
	crl_unref(crl);
	ik_buf_cleanup(&chain_reply);
	return st;
}

/* any: a CRL and a chain fetched at any time will do (a reader that has none yet); else
 * only a fetch that began after this call (the queue, after an event). */
static ik_status refresh(ra_publish *p, int any)
{
	uint64_t mine, tries, start;
	ik_status st;

	if (p->signer == NULL)
		return IK_ERR_IO;
	pthread_mutex_lock(&p->lock);
	mine = ++p->asked;
	tries = p->tries;
	for (;;) {
		/* a fetch that began after this call has succeeded, or one that will do */
		if (p->fetched >= mine || (any && p->crl != NULL && p->nca > 0)) {
			pthread_mutex_unlock(&p->lock);
			return IK_OK;
		}
		/* one that ended meanwhile failed: the signer did not answer it just now, and
		 * asking again at once would only double this caller's wait */
		if (p->tries > tries && p->last != IK_OK) {
			st = p->last;
			pthread_mutex_unlock(&p->lock);
			return st;
		}
		if (!p->fetching)
			break;
		pthread_cond_wait(&p->fetched_cond, &p->lock);
	}
	p->fetching = 1;
	start = p->asked; /* this fetch covers every call made so far */
	pthread_mutex_unlock(&p->lock);
	return fetch(p, start);
}

ik_status ra_publish_refresh(ra_publish *p)
{
	return refresh(p, 0);
}

static void *publisher(void *arg)
{
	ra_publish *p = arg;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		uint64_t want;
		while (!p->stopping && p->served >= p->kicks && !p->spare_wanted)
			pthread_cond_wait(&p->kick_cond, &p->lock);
		if (p->stopping)
			break;
		if (p->served >= p->kicks) { /* only a spare to make */
			p->spare_wanted = 0;
			pthread_mutex_unlock(&p->lock);
			spare_make(p);
			pthread_mutex_lock(&p->lock);
			continue;
		}
		want = p->kicks;
		pthread_mutex_unlock(&p->lock);
		/* like the queue's own call before: one fetch begun after every kick so far (or
		 * joined to a fetch that is); a failure is left to the next check */
		(void)refresh(p, 0);
		pthread_mutex_lock(&p->lock);
		if (want > p->served)
			p->served = want;
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

/* The publisher thread, started if it is not yet; under p->lock. */
static int publisher_up(ra_publish *p)
{
	if (!p->started && !p->stopping) {
		if (pthread_create(&p->thread, NULL, publisher, p) == 0) {
			(void)pthread_setname_np(p->thread, "ra-publish");
			p->started = 1;
		}
	}
	return p->started;
}

void ra_publish_kick(ra_publish *p)
{
	if (p == NULL || p->signer == NULL)
		return;
	pthread_mutex_lock(&p->lock);
	if (!publisher_up(p)) { /* no thread: the caller fetches, as before */
		pthread_mutex_unlock(&p->lock);
		(void)refresh(p, 0);
		return;
	}
	p->kicks++;
	pthread_cond_signal(&p->kick_cond);
	pthread_mutex_unlock(&p->lock);
}

ik_status ra_publish_check(ra_publish *p)
{
	proto_status_reply sr;
	proto_error err;
	uint64_t have;
	int64_t now = (int64_t)time(NULL);
	int skip;
	ik_status st;

	if (p->signer == NULL)
		return IK_ERR_IO;
	pthread_mutex_lock(&p->lock);
	/* no CRL yet: the callers that need one fetch it themselves (ra_publish_refresh); a
	 * fetch under way brings whatever is new */
	skip = p->crl == NULL || p->fetching ||
	    (now - p->checked < (int64_t)p->recheck && now >= p->checked);
	have = p->crl != NULL ? p->crl->number : 0;
	/* a large CRL, no file to write the next one into and none to come back from a reply
	 * (only the current CRL has one): the publisher makes one now */
	if (p->crl != NULL && p->crl->len >= SPARE_MIN && p->spare_fd < 0 && p->live <= 1 &&
	    !p->fetching &&
	    !p->spare_wanted && now >= p->spare_retry && publisher_up(p)) {
		p->spare_wanted = 1;
		pthread_cond_signal(&p->kick_cond);
	}
	pthread_mutex_unlock(&p->lock);
	if (skip)
		return IK_OK;
	atomic_fetch_add(&p->checks, 1);
	memset(&sr, 0, sizeof(sr));
	if ((st = ra_signer_status(p->signer, &sr, &err)) != IK_OK)
		return st;
	if (sr.crl_number != have)
		return refresh(p, 0);
	pthread_mutex_lock(&p->lock); /* the same CRL: nothing to fetch */
	if (p->crl != NULL && p->crl->number == have)
		p->checked = now;
	pthread_mutex_unlock(&p->lock);
	return IK_OK;
}

/* The current CRL with one more reference (NULL: none yet, and none came when asked for
 * now).  Newer ones come from the queue (after each revocation event) and the scheduler's
 * checks (ra_publish_check), never on a reader's time. */
static pub_crl *crl_get(ra_publish *p)
{
	pub_crl *c;

	pthread_mutex_lock(&p->lock);
	c = p->crl;
	pthread_mutex_unlock(&p->lock);
	if (c == NULL)
		(void)refresh(p, 1);
	pthread_mutex_lock(&p->lock);
	if ((c = p->crl) != NULL)
		atomic_fetch_add(&c->refs, 1);
	pthread_mutex_unlock(&p->lock);
	return c;
}

static void crl_meta(const pub_crl *c, ra_publish_crl_meta *m)
{
	m->number = c->number;
	m->this_update = c->this_update;
	m->next_update = c->next_update;
	m->len = c->len;
	snprintf(m->etag, sizeof(m->etag), "%s", c->etag);
}

ik_status ra_publish_crl_info(ra_publish *p, ra_publish_crl_meta *m)
{
	pub_crl *c = crl_get(p);

	memset(m, 0, sizeof(*m));
	if (c == NULL)
		return IK_ERR_NOT_FOUND;
	crl_meta(c, m);
	crl_unref(c);
	return IK_OK;
}

ik_status ra_publish_crl_open(ra_publish *p, int *fd, ra_publish_crl_meta *m, void **hold)
{
	pub_crl *c = crl_get(p);

	*fd = -1;
	*hold = NULL;
	memset(m, 0, sizeof(*m));
	if (c == NULL)
		return IK_ERR_NOT_FOUND;
	/* a descriptor of its own (the file's offset is shared, but it is only read at
	 * explicit offsets); the reference keeps the file from being reused */
	if ((*fd = fcntl(c->fd, F_DUPFD_CLOEXEC, 0)) < 0) {
		crl_unref(c);
		return IK_ERR_IO;
	}
	crl_meta(c, m);
	*hold = c;
	return IK_OK;
}

void ra_publish_crl_release(void *hold)
{
	crl_unref(hold);
}

ik_status ra_publish_ca(ra_publish *p, unsigned index, ik_buf *der, unsigned *count)
{
	ik_status st = IK_ERR_NOT_FOUND;
	unsigned n;

	pthread_mutex_lock(&p->lock);
	n = p->nca;
	pthread_mutex_unlock(&p->lock);
	if (n == 0)
		(void)refresh(p, 1);
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

/* Does an If-None-Match list name this ETag (or "*")?  Weak tags compare too (RFC 9110
 * 13.1.2: the weak comparison for If-None-Match). */
static int etag_listed(const char *list, const char *etag)
{
	size_t n = strlen(etag);

	for (const char *q = list; q != NULL && *q != '\0';) {
		q += strspn(q, " \t,");
		if (q[0] == 'W' && q[1] == '/')
			q += 2;
		if (*q == '*' || (strncmp(q, etag, n) == 0 && strchr(" \t,", q[n]) != NULL))
			return 1;
		q = strchr(q, ',');
	}
	return 0;
}

static void h_crl(ra_req *r)
{
	ra_publish_crl_meta m;
	int64_t now = (int64_t)time(NULL), left;
	int fd = -1;
	void *hold = NULL;

	if (ra_publish_crl_open(r->app->publish, &fd, &m, &hold) != IK_OK) {
		ra_reply_error(r, 503, "signer_unavailable",
		    "no CRL yet: the signer has not answered");
		return;
	}
	/* the file is not written over while this request sends it */
	r->on_done = ra_publish_crl_release;
	r->on_done_arg = hold;
	/* caches may keep it a little, never past nextUpdate */
	left = (int64_t)m.next_update - now;
	r->cache_seconds = left <= 0 ? 0 : left > 60 ? 60 : (unsigned)left;
	if (ra_req_add_header(r, "ETag", m.etag) != IK_OK)
		ik_log(LOG_WARNING, "publish: cannot add the CRL's ETag");
	if (etag_listed(ra_req_header(r, "If-None-Match"), m.etag)) {
		close(fd);
		ra_reply_bytes(r, 304, NULL, "", 0, NULL);
		return;
	}
	ra_reply_fd(r, 200, "application/pkix-crl", fd, m.len);
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
