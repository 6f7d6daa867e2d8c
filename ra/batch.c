/* batch: the worker thread of "issue N more" batches.  For the running batch it makes a
 * group of device keys in memory, seals each under the batch's content key (IKB2, made and
 * stored wrapped to the envelope public key when the worker takes the batch up), and stores
 * the group's issue requests and sealed keys in one transaction (ra_store_batch_add_group,
 * or ra_store_batch_add_keyed per key when the group is refused) while a short-lived second
 * thread makes the next group's keys; the queue workers take the requests to the signer.
 * It frees each key once sealed: from then on only the sealed copy exists.  Each thread
 * makes its keys with one key generation context and one sealer (the envelope public key
 * parsed once), set up once per batch.
 *
 * Crash safety: the store's count of the batch's requests, read in the transaction that
 * adds the next one, says how far the batch got, so after a kill -9 the worker goes on
 * exactly there; a certificate is never added twice and never without its key.  Common
 * names continue after the highest number already used with the pattern. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/err.h>

#include "batch.h"
#include "config.h"
#include "log.h"
#include "mail.h"
#include "notify.h"
#include "p12.h"
#include "queue.h"
#include "store.h"

#define BATCH_IDLE_MS 1000        /* nothing to do: look again after this */
#define BATCH_RETRY_MS 1000       /* the store was busy or failed: wait this long */
#define BATCH_GROUP 128           /* keys made ahead and added in one transaction */

struct ra_batcher {
	ra_app *app;
	pthread_t thread;
	int started;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	int stopping;
	int kicked;
	struct keymaker *km;       /* [0] the worker's, [1] the helper's */
	ra_batch_spare *spare;     /* the spare envelope key pair for the next POST */
	/* the running batch's content key (IKB2), in memory only while it runs */
	int64_t cek_batch;         /* 0: none taken up */
	int cek_have;              /* 0: its keys are sealed as IKB1 (resumed after a restart) */
	uint8_t cek[RA_BATCH_CEK_LEN];
};

/* A device key made and sealed, not stored yet (kept across a retry). */
typedef struct prepared {
	int64_t batch_id;          /* 0: none */
	EVP_PKEY *key;
	ik_buf spki;
	ik_buf envelope;
	unsigned collisions;       /* IK_ERR_EXISTS in a row: a name that keeps being taken */
} prepared;

static void prepared_drop(prepared *p)
{
	EVP_PKEY_free(p->key);
	p->key = NULL;
	p->batch_id = 0;
	ik_buf_reset(&p->spki);
	ik_buf_reset(&p->envelope);
}

/* Keys made ahead for one batch, the oldest first: this group's, and the next one's. */
#define AHEAD_MAX (2 * BATCH_GROUP)
typedef struct ahead {
	prepared p[AHEAD_MAX];
	size_t n;
} ahead;

static void ahead_drop(ahead *a)
{
	for (size_t i = 0; i < a->n; i++)
		prepared_drop(&a->p[i]);
	a->n = 0;
}

/* The first k keys were stored: the rest move up (their buffers change places). */
static void ahead_shift(ahead *a, size_t k)
{
	prepared done[BATCH_GROUP];

	for (size_t i = 0; i < k; i++)
		prepared_drop(&a->p[i]);
	memcpy(done, a->p, k * sizeof(a->p[0]));
	memmove(a->p, a->p + k, (a->n - k) * sizeof(a->p[0]));
	memcpy(a->p + (a->n - k), done, k * sizeof(a->p[0]));
	a->n -= k;
}

ik_status ra_cn_pattern_split(const char *pattern, ra_cn_parts *out)
{
	char why[128];
	const char *pct;
	size_t pre;

	memset(out, 0, sizeof(*out));
	if (pattern == NULL || ra_cn_pattern_check(pattern, why, sizeof(why)) != IK_OK ||
	    (pct = strchr(pattern, '%')) == NULL)
		return IK_ERR_ARG;
	pre = (size_t)(pct - pattern);
	memcpy(out->prefix, pattern, pre);
	out->prefix[pre] = '\0';
	out->width = (unsigned)(pct[2] - '0');
	snprintf(out->suffix, sizeof(out->suffix), "%s", pct + 4);
	return IK_OK;
}

/* The next number of the pattern: one above the highest used. */
static ik_status next_number(ra_store *s, const char *pattern, uint64_t *next)
{
	ra_cn_parts parts;
	uint64_t max = 0;
	int found = 0;
	ik_status st;

	if ((st = ra_cn_pattern_split(pattern, &parts)) != IK_OK ||
	    (st = ra_store_cert_cn_max(s, parts.prefix, parts.width, parts.suffix, &max,
	    &found)) != IK_OK)
		return st;
	*next = found ? max + 1 : 1;
	return IK_OK;
}

/* What one thread needs to make and seal one batch's keys, set up once for the batch
 * instead of per key: the key generation context, the sealer (the envelope public key
 * parsed, the OAEP and GCM contexts), a buffer for each key's PKCS#8. */
typedef struct keymaker {
	int64_t batch_id;          /* 0: not set up */
	uint8_t spki[RA_SPKI_MAX]; /* the envelope public key it seals to */
	size_t spki_len;
	int v2;                    /* its sealer seals IKB2 (under the content key) */
	ra_keytype kt;
	EVP_PKEY_CTX *gen;
	ra_batch_sealer *sealer;
	ik_buf pkcs8;              /* secret: wiped after each key */
} keymaker;

static void keymaker_drop(keymaker *km)
{
	EVP_PKEY_CTX_free(km->gen);
	km->gen = NULL;
	ra_batch_sealer_free(km->sealer);
	km->sealer = NULL;
	km->batch_id = 0;
}

static ik_status keymaker_for(keymaker *km, const ra_batch_info *bi, const uint8_t *cek)
{
	static const char *const curves[] = { [RA_KEY_EC_P256] = "P-256",
		[RA_KEY_EC_P384] = "P-384" };
	ik_status st;
	int ok;

	/* the same batch (the envelope compared too: a sealer never outlives its key) */
	if (km->batch_id == bi->b.id && km->spki_len == bi->envelope_spki_len &&
	    memcmp(km->spki, bi->envelope_spki, km->spki_len) == 0 && km->v2 == (cek != NULL))
		return IK_OK;
	keymaker_drop(km);
	if ((st = ra_keytype_parse(bi->key_type, &km->kt)) != IK_OK)
		return st;
	km->gen = EVP_PKEY_CTX_new_from_name(NULL, km->kt == RA_KEY_EC_P256 ||
	    km->kt == RA_KEY_EC_P384 ? "EC" : "RSA", NULL);
	ok = km->gen != NULL && EVP_PKEY_keygen_init(km->gen) == 1;
	if (ok && (km->kt == RA_KEY_EC_P256 || km->kt == RA_KEY_EC_P384))
		ok = EVP_PKEY_CTX_set_group_name(km->gen, curves[km->kt]) == 1;
	else if (ok)
		ok = EVP_PKEY_CTX_set_rsa_keygen_bits(km->gen,
		    km->kt == RA_KEY_RSA_2048 ? 2048 : 3072) == 1;
	if (!ok) {
		ERR_clear_error();
		keymaker_drop(km);
		return IK_ERR_CRYPTO;
	}
	if ((st = ra_batch_sealer_new(bi->envelope_spki, bi->envelope_spki_len, bi->b.id, cek,
	    &km->sealer)) != IK_OK) {
		keymaker_drop(km);
		return st;
	}
	if (bi->envelope_spki_len > sizeof(km->spki)) {
		keymaker_drop(km);
		return IK_ERR_ARG;
	}
	memcpy(km->spki, bi->envelope_spki, bi->envelope_spki_len);
	km->spki_len = bi->envelope_spki_len;
	km->v2 = cek != NULL;
	km->batch_id = bi->b.id;
	return IK_OK;
}

static ik_status prepare(const ra_batch_info *bi, const uint8_t *cek, keymaker *km,
    prepared *p)
{
	ik_status st;

	prepared_drop(p);
	if ((st = keymaker_for(km, bi, cek)) != IK_OK)
		return st;
	if (EVP_PKEY_generate(km->gen, &p->key) != 1) {
		ERR_clear_error();
		return IK_ERR_CRYPTO;
	}
	ik_buf_reset(&km->pkcs8);
	if ((st = ra_batch_key_spki(p->key, km->kt, &p->spki)) == IK_OK &&
	    (st = ra_batch_key_pkcs8(p->key, km->kt, &km->pkcs8)) == IK_OK)
		st = ra_batch_sealer_seal(km->sealer, ik_buf_ptr(&km->pkcs8),
		    ik_buf_remaining(&km->pkcs8), ik_buf_ptr(&p->spki), ik_buf_remaining(&p->spki),
		    &p->envelope);
	ik_buf_reset(&km->pkcs8); /* wipes it */
	/* only the sealed copy is needed from here on */
	EVP_PKEY_free(p->key);
	p->key = NULL;
	if (st != IK_OK) {
		prepared_drop(p);
		return st;
	}
	p->batch_id = bi->b.id;
	return IK_OK;
}

/* The next group's keys, made on a second thread (the other core) while this one stores
 * the current group: it writes only the slots it is given. */
typedef struct maker {
	const ra_batch_info *bi;
	const uint8_t *cek;
	keymaker *km;
	prepared *p;
	size_t want, made;
	ik_status st;
} maker;

static void *make_keys(void *arg)
{
	maker *m = arg;

	m->st = IK_OK;
	for (m->made = 0; m->made < m->want; m->made++)
		if ((m->st = prepare(m->bi, m->cek, m->km, &m->p[m->made])) != IK_OK)
			break;
	return NULL;
}

/* seal (why == NULL) or abort, and the notice, in one transaction */
static ik_status finish(ra_app *app, int64_t id, const char *why, const ra_hist *h)
{
	ik_status st = ra_store_begin(app->store);

	if (st != IK_OK)
		return st;
	st = why == NULL ? ra_store_batch_seal(app->store, id) :
	    ra_store_batch_abort(app->store, id, why, h);
	if (st == IK_OK)
		st = ra_notify_batch(app, id);
	if (st == IK_OK)
		st = ra_store_commit(app->store);
	else
		(void)ra_store_rollback(app->store);
	if (st == IK_OK)
		ra_mailer_kick(app->mailer);
	return st;
}

ik_status ra_batch_seal(ra_app *app, int64_t id)
{
	return finish(app, id, NULL, NULL);
}

ik_status ra_batch_abort(ra_app *app, int64_t id, const char *why, const ra_hist *h)
{
	return finish(app, id, why, h);
}

static void stop_batch(ra_app *app, const ra_batch_info *bi, const char *why)
{
	char detail[256];
	ra_hist h = { .actor = "system", .ip = "", .op = "batch_aborted", .detail = detail };
	char target[32];

	snprintf(target, sizeof(target), "batch:%lld", (long long)bi->b.id);
	h.target = target;
	snprintf(detail, sizeof(detail), "{\"why\":\"%s\",\"added\":%llu,\"planned\":%llu}", why,
	    (unsigned long long)bi->b.total, (unsigned long long)bi->planned);
	if (ra_batch_abort(app, bi->b.id, why, &h) != IK_OK)
		ik_log(LOG_ERR, "batch %lld: cannot stop it (%s)", (long long)bi->b.id, why);
	else
		ik_log(LOG_WARNING, "batch %lld stopped after %llu of %llu: %s", (long long)bi->b.id,
		    (unsigned long long)bi->b.total, (unsigned long long)bi->planned, why);
}

/* Key k of a as the store's item, under common name number `number` of the pattern. */
static ik_status item_at(const ra_batch_info *bi, ahead *a, size_t k, uint64_t number,
    uint64_t quota, char cn[RA_CN_MAX + 1], ra_batch_item_new *it)
{
	ik_status st = ra_cn_format(bi->b.cn_pattern, number, cn, RA_CN_MAX + 1);

	*it = (ra_batch_item_new){ .batch_id = bi->b.id, .index = bi->b.total + k, .cn = cn,
	    .spki = ik_buf_ptr(&a->p[k].spki), .spki_len = ik_buf_remaining(&a->p[k].spki),
	    .envelope = ik_buf_ptr(&a->p[k].envelope),
	    .envelope_len = ik_buf_remaining(&a->p[k].envelope), .quota = quota };
	return st;
}

/* Adds the first keys of a (want of them, all made for bi's batch) in one transaction, each
 * under its next common name and index; *added says how many went in.  The whole group at
 * once first (ra_store_batch_add_group: no savepoint per key); if the store refuses that (or
 * a number does not fit the pattern), one by one, each in its own savepoint, so the status
 * is that of the first one refused (the ones before it stay). */
static ik_status add_group(ra_batcher *w, const ra_batch_info *bi, ahead *a, size_t want,
    size_t *added)
{
	static _Thread_local char cns[BATCH_GROUP][RA_CN_MAX + 1];
	ra_batch_item_new items[BATCH_GROUP];
	ra_store *s = w->app->store;
	uint64_t next = 0;
	int64_t quota = 0;
	size_t k;
	ik_status st, tx;

	*added = 0;
	if (ra_store_setting_get_int(s, "quota", 0, &quota) != IK_OK || quota < 0)
		quota = 0;
	if ((tx = ra_store_begin(s)) != IK_OK)
		return tx;
	st = next_number(s, bi->b.cn_pattern, &next);
	for (k = 0; st == IK_OK && k < want; k++)
		if (item_at(bi, a, k, next + k, (uint64_t)quota, cns[k], &items[k]) != IK_OK)
			break;
	if (st == IK_OK && k == want && ra_store_batch_add_group(s, items, want) == IK_OK)
		*added = want;
	for (k = *added; st == IK_OK && k < want; k++) {
		if ((st = item_at(bi, a, k, next + k, (uint64_t)quota, cns[k], &items[k])) ==
		    IK_OK && (st = ra_store_batch_add_keyed(s, &items[k], NULL, NULL)) == IK_OK)
			(*added)++;
	}
	if (*added == 0) {
		(void)ra_store_rollback(s);
		return st;
	}
	if ((tx = ra_store_commit(s)) != IK_OK) {
		*added = 0;
		return tx;
	}
	return st;
}

/* What follows a group's add: go on, stop the batch (names or quota used up), or wait. */
static int after_add(ra_batcher *w, const ra_batch_info *bi, ahead *a, ik_status st,
    size_t added)
{
	switch (st) {
	case IK_OK:
		return 1;
	case IK_ERR_ARG: /* ra_cn_format: a number wider than the pattern */
		stop_batch(w->app, bi, "the common-name pattern has run out of numbers");
		return 1;
	case IK_ERR_EXISTS:
		/* added already, or the name was taken: read again (keep the keys) */
		if (added > 0 || ++a->p[0].collisions < 100)
			return 1;
		ik_log(LOG_ERR, "batch %lld: common name %llu of the pattern keeps being taken; "
		    "waiting", (long long)bi->b.id, (unsigned long long)(bi->b.total + 1));
		a->p[0].collisions = 0;
		return 0;
	case IK_ERR_STATE: {
		ra_batch_info again;
		/* still running with room to add: then it was the quota */
		if (ra_store_batch_info(w->app->store, bi->b.id, &again) == IK_OK &&
		    again.b.state == RA_BATCH_RUNNING && !again.b.sealed &&
		    again.b.total < again.planned)
			stop_batch(w->app, &again, "the contracted number of certificates is used up");
		ahead_drop(a);
		return 1;
	}
	default:
		ik_log(LOG_ERR, "batch %lld: cannot add certificates: %s (will retry)",
		    (long long)bi->b.id, ik_status_str(st));
		return 0;
	}
}

/* The content key of the batch the worker has taken up is forgotten (wiped), and the
 * sealers that held it. */
static void cek_forget(ra_batcher *w)
{
	OPENSSL_cleanse(w->cek, sizeof(w->cek));
	w->cek_batch = 0;
	w->cek_have = 0;
	for (size_t i = 0; w->km != NULL && i < 2; i++)
		keymaker_drop(&w->km[i]);
}

/* The running batch's content key: made and stored (wrapped) when the worker first takes
 * the batch up, before any key is sealed under it.  A batch whose wrapped key is stored
 * already (this process restarted, or lost the race) has its remaining keys sealed as
 * IKB1: *cek NULL.  Not IK_OK: the store failed (try again later). */
static ik_status cek_for(ra_batcher *w, const ra_batch_info *bi, const uint8_t **cek)
{
	ik_buf wrapped;
	ik_status st;

	*cek = NULL;
	if (w->cek_batch == bi->b.id) {
		*cek = w->cek_have ? w->cek : NULL;
		return IK_OK;
	}
	cek_forget(w);
	ik_buf_init(&wrapped, RA_BATCH_CEK_WRAPPED_MAX);
	st = ra_batch_cek_new(bi->envelope_spki, bi->envelope_spki_len, bi->b.id, w->cek,
	    &wrapped);
	if (st == IK_OK)
		st = ra_store_batch_set_cek(w->app->store, bi->b.id, ik_buf_ptr(&wrapped),
		    ik_buf_remaining(&wrapped));
	ik_buf_cleanup(&wrapped);
	if (st == IK_ERR_EXISTS) {
		ik_log(LOG_NOTICE, "batch %lld: taken up again after a restart; its remaining keys "
		    "are sealed each to the envelope key (IKB1)", (long long)bi->b.id);
		OPENSSL_cleanse(w->cek, sizeof(w->cek));
		w->cek_batch = bi->b.id;
		return IK_OK;
	}
	if (st != IK_OK) {
		OPENSSL_cleanse(w->cek, sizeof(w->cek));
		return st;
	}
	w->cek_batch = bi->b.id;
	w->cek_have = 1;
	*cek = w->cek;
	return IK_OK;
}

/* One unit of work.  Returns 1 when it did something (go on at once), 0 when there is
 * nothing to do or it must wait. */
static int step(ra_batcher *w, ahead *a)
{
	ra_store *s = w->app->store;
	ra_batch_info bi;
	size_t want, left, added = 0;
	const uint8_t *cek = NULL;
	maker m;
	pthread_t t;
	int helper;
	ik_status st;

	st = ra_store_batch_running_plan(s, &bi);
	if (st != IK_OK) {
		if (st != IK_ERR_NOT_FOUND)
			ik_log(LOG_ERR, "batch worker: cannot read the running batch: %s",
			    ik_status_str(st));
		ahead_drop(a);
		cek_forget(w);
		/* no batch running: the spare envelope key may be made now */
		if (st == IK_ERR_NOT_FOUND)
			ra_batch_spare_idle(w->spare, 1);
		return 0;
	}
	ra_batch_spare_idle(w->spare, 0);
	if (bi.planned == 0 || bi.b.sealed) { /* not one with RA-made keys, or all added */
		if (w->cek_batch != 0)
			cek_forget(w);
		return 0;
	}
	if (bi.b.total >= bi.planned) {
		if ((st = ra_batch_seal(w->app, bi.b.id)) != IK_OK) {
			ik_log(LOG_ERR, "batch %lld: cannot seal it: %s", (long long)bi.b.id,
			    ik_status_str(st));
			return 0;
		}
		ik_log(LOG_INFO, "batch %lld: all %llu requests added", (long long)bi.b.id,
		    (unsigned long long)bi.planned);
		ahead_drop(a);
		cek_forget(w);
		return 1;
	}
	if (a->n > 0 && a->p[0].batch_id != bi.b.id)
		ahead_drop(a);
	if ((st = cek_for(w, &bi, &cek)) != IK_OK) {
		ik_log(LOG_ERR, "batch %lld: cannot store its content key: %s (will retry)",
		    (long long)bi.b.id, ik_status_str(st));
		return 0;
	}
	want = bi.planned - bi.b.total < BATCH_GROUP ? (size_t)(bi.planned - bi.b.total) :
	    BATCH_GROUP;
	for (; a->n < want; a->n++) {
		if ((st = prepare(&bi, cek, &w->km[0], &a->p[a->n])) != IK_OK) {
			ik_log(LOG_ERR, "batch %lld: cannot make a device key: %s",
			    (long long)bi.b.id, ik_status_str(st));
			return 0;
		}
	}
	left = bi.planned - bi.b.total < AHEAD_MAX ? (size_t)(bi.planned - bi.b.total) :
	    AHEAD_MAX;
	m = (maker){ .bi = &bi, .cek = cek, .km = &w->km[1], .p = &a->p[a->n],
	    .want = left > a->n ? left - a->n : 0 };
	helper = m.want > 0 && pthread_create(&t, NULL, make_keys, &m) == 0;
	if (helper)
		(void)pthread_setname_np(t, "ra-keys");
	st = add_group(w, &bi, a, want, &added);
	if (helper) {
		pthread_join(t, NULL);
		a->n += m.made;
		if (m.st != IK_OK)
			ik_log(LOG_ERR, "batch %lld: cannot make a device key: %s",
			    (long long)bi.b.id, ik_status_str(m.st));
	}
	if (added > 0) {
		ahead_shift(a, added);
		a->p[0].collisions = 0;
		ra_queue_kick(w->app->queue);
	}
	return after_add(w, &bi, a, st, added);
}

static void *worker(void *arg)
{
	ra_batcher *w = arg;
	ahead *a = calloc(1, sizeof(*a));

	if (a == NULL) {
		ik_log(LOG_ERR, "batch worker: out of memory");
		return NULL;
	}
	if ((w->km = calloc(2, sizeof(*w->km))) == NULL) {
		ik_log(LOG_ERR, "batch worker: out of memory");
		free(a);
		return NULL;
	}
	for (size_t i = 0; i < 2; i++) {
		ik_buf_init(&w->km[i].pkcs8, RA_BATCH_ENVELOPE_MAX);
		ik_buf_set_secret(&w->km[i].pkcs8);
	}
	for (size_t i = 0; i < AHEAD_MAX; i++) {
		ik_buf_init(&a->p[i].spki, RA_SPKI_MAX);
		ik_buf_init(&a->p[i].envelope, RA_BATCH_ENVELOPE_MAX);
		ik_buf_set_secret(&a->p[i].envelope);
	}
	for (;;) {
		int busy;

		pthread_mutex_lock(&w->lock);
		if (w->stopping) {
			pthread_mutex_unlock(&w->lock);
			break;
		}
		w->kicked = 0;
		pthread_mutex_unlock(&w->lock);
		busy = step(w, a);
		if (ra_store_thread_reset(w->app->store) != 0)
			ik_log(LOG_ERR, "batch worker: a transaction was left open");
		if (busy)
			continue;
		pthread_mutex_lock(&w->lock);
		if (!w->stopping && !w->kicked) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += BATCH_IDLE_MS / 1000;
			pthread_cond_timedwait(&w->wake, &w->lock, &ts);
		}
		pthread_mutex_unlock(&w->lock);
	}
	ahead_drop(a);
	for (size_t i = 0; i < AHEAD_MAX; i++) {
		ik_buf_cleanup(&a->p[i].spki);
		ik_buf_cleanup(&a->p[i].envelope);
	}
	cek_forget(w);
	for (size_t i = 0; i < 2; i++)
		ik_buf_cleanup(&w->km[i].pkcs8);
	free(w->km);
	w->km = NULL;
	free(a);
	return NULL;
}

ik_status ra_batcher_start(ra_app *app, ra_batcher **out)
{
	ra_batcher *w;

	*out = NULL;
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return IK_ERR_NOMEM;
	w->app = app;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->wake, NULL);
	if (ra_batch_spare_start(&w->spare) != IK_OK)
		ik_log(LOG_ERR, "batch worker: cannot start the spare envelope key's thread; each "
		    "batch start makes its own");
	if (pthread_create(&w->thread, NULL, worker, w) != 0) {
		ra_batcher_stop(w);
		return IK_ERR_NOMEM;
	}
	(void)pthread_setname_np(w->thread, "ra-batch");
	w->started = 1;
	*out = w;
	return IK_OK;
}

void ra_batcher_stop(ra_batcher *w)
{
	if (w == NULL)
		return;
	pthread_mutex_lock(&w->lock);
	w->stopping = 1;
	pthread_cond_broadcast(&w->wake);
	pthread_mutex_unlock(&w->lock);
	if (w->started)
		pthread_join(w->thread, NULL);
	ra_batch_spare_stop(w->spare);
	pthread_cond_destroy(&w->wake);
	pthread_mutex_destroy(&w->lock);
	free(w);
}

void ra_batcher_kick(ra_batcher *w)
{
	if (w == NULL)
		return;
	pthread_mutex_lock(&w->lock);
	w->kicked = 1;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
}

EVP_PKEY *ra_batcher_take_envelope(ra_batcher *w)
{
	return w != NULL ? ra_batch_spare_take(w->spare) : NULL;
}
