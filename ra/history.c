/* history: the operation history as a hash chain.  Entry n's hash is SHA-256(hash of entry
 * n-1 || canonical encoding of entry n) (32 zero bytes before the first), appended inside
 * the transaction of the change it records; ra_history_verify walks the chain and names the
 * first entry that does not fit.  Rows are read and written through the store. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "buf.h"
#include "store.h"

#define DOMAIN "inkan-history-v1"
#define ACTOR_MAX 128
#define IP_MAX 64
#define OP_MAX 64
#define TARGET_MAX 512
#define VERIFY_PAGE 512

/* Canonical encoding: the domain string, id and time as u64 big-endian (time as two's
 * complement), then actor, ip, op, target, detail each as u32 length + bytes.  Lengths make
 * it unambiguous; the id makes removing or reordering entries visible. */
static ik_status encode(const ra_history_entry *e, ik_buf *b)
{
	const char *f[5] = { e->actor, e->ip, e->op, e->target, e->detail };
	ik_status st;

	if ((st = ik_buf_put(b, DOMAIN, strlen(DOMAIN))) != IK_OK ||
	    (st = ik_buf_put_u64(b, (uint64_t)e->id)) != IK_OK ||
	    (st = ik_buf_put_u64(b, (uint64_t)e->at)) != IK_OK)
		return st;
	for (size_t i = 0; i < 5; i++)
		if ((st = ik_buf_put_cstring(b, f[i] != NULL ? f[i] : "")) != IK_OK)
			return st;
	return IK_OK;
}

ik_status ra_history_hash(const ra_history_entry *e, uint8_t out[32])
{
	ik_buf b;
	EVP_MD_CTX *md = NULL;
	unsigned len = 0;
	ik_status st;

	ik_buf_init(&b, 0);
	if ((st = encode(e, &b)) != IK_OK)
		goto out;
	st = IK_ERR_CRYPTO;
	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(md, e->prev_hash, 32) != 1 ||
	    EVP_DigestUpdate(md, b.data, b.len) != 1 ||
	    EVP_DigestFinal_ex(md, out, &len) != 1 || len != 32)
		goto out;
	st = IK_OK;
out:
	EVP_MD_CTX_free(md);
	ik_buf_cleanup(&b);
	return st;
}

static int field_ok(const char *v, size_t max)
{
	return v == NULL || strnlen(v, max + 1) <= max;
}

/* e borrows h's strings (never freed here); time: now.  IK_ERR_ARG when h is not valid. */
static ik_status entry_from(const ra_hist *h, ra_history_entry *e)
{
	if (h == NULL || h->op == NULL || h->op[0] == '\0' || !field_ok(h->op, OP_MAX) ||
	    !field_ok(h->actor, ACTOR_MAX) || !field_ok(h->ip, IP_MAX) ||
	    !field_ok(h->target, TARGET_MAX) || !field_ok(h->detail, RA_HISTORY_DETAIL_MAX))
		return IK_ERR_ARG;
	memset(e, 0, sizeof(*e));
	e->actor = (char *)(h->actor != NULL ? h->actor : "");
	e->ip = (char *)(h->ip != NULL ? h->ip : "");
	e->op = (char *)h->op;
	e->target = (char *)(h->target != NULL ? h->target : "");
	e->detail = (char *)(h->detail != NULL ? h->detail : "");
	e->at = (int64_t)time(NULL);
	return IK_OK;
}

ik_status ra_history_record(ra_store *s, const ra_hist *h)
{
	ra_history_entry e;
	int64_t last;
	ik_status st;

	if ((st = entry_from(h, &e)) != IK_OK)
		return st;
	if ((st = ra_store_begin(s)) != IK_OK)
		return st;
	if ((st = ra_store_history_tail(s, &last, e.prev_hash)) == IK_OK) {
		e.id = last + 1;
		if ((st = ra_history_hash(&e, e.hash)) == IK_OK)
			st = ra_store_history_insert(s, &e);
	}
	if (st == IK_OK)
		return ra_store_commit(s);
	(void)ra_store_rollback(s);
	return st;
}

#define GROUP_MAX 256

/* Entries n at a time, each chained to the one before (the first to the tail). */
static ik_status record_part(ra_store *s, const ra_hist *h, size_t n,
    ra_history_entry e[GROUP_MAX])
{
	int64_t last;
	ik_status st;

	for (size_t i = 0; i < n; i++)
		if ((st = entry_from(&h[i], &e[i])) != IK_OK)
			return st;
	if ((st = ra_store_history_tail(s, &last, e[0].prev_hash)) != IK_OK)
		return st;
	for (size_t i = 0; i < n; i++) {
		e[i].id = last + 1 + (int64_t)i;
		if (i > 0)
			memcpy(e[i].prev_hash, e[i - 1].hash, 32);
		if ((st = ra_history_hash(&e[i], e[i].hash)) != IK_OK)
			return st;
	}
	return ra_store_history_insert_group(s, e, n);
}

ik_status ra_history_record_group(ra_store *s, const ra_hist *h, size_t n)
{
	ra_history_entry *e;
	ik_status st = IK_OK;

	if (h == NULL && n > 0)
		return IK_ERR_ARG;
	if (n == 0)
		return IK_OK;
	if (n == 1)
		return ra_history_record(s, h);
	if ((e = calloc(n < GROUP_MAX ? n : GROUP_MAX, sizeof(*e))) == NULL)
		return IK_ERR_NOMEM;
	if ((st = ra_store_begin(s)) != IK_OK)
		goto out;
	for (size_t k = 0; st == IK_OK && k < n; k += GROUP_MAX)
		st = record_part(s, &h[k], n - k < GROUP_MAX ? n - k : GROUP_MAX, e);
	if (st == IK_OK)
		st = ra_store_commit(s);
	else
		(void)ra_store_rollback(s);
out:
	free(e);
	return st;
}

ik_status ra_history_append(ra_store *s, const char *actor, const char *ip, const char *op,
    const char *detail)
{
	ra_hist h = { actor, ip, op, NULL, detail };

	return ra_history_record(s, &h);
}

static void describe(const ra_history_entry *e, char *out, size_t outsz)
{
	struct tm tm;
	time_t t = (time_t)e->at;
	char when[32];

	if (gmtime_r(&t, &tm) == NULL || strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ",
	    &tm) == 0)
		snprintf(when, sizeof(when), "%lld", (long long)e->at);
	snprintf(out, outsz, "%s %.64s by %.64s", when, e->op, e->actor);
}

/* Checks one entry against the one before it (prev_id/prev_hash); fills bad on failure. */
static ik_status check_entry(const ra_history_entry *e, int64_t prev_id,
    const uint8_t prev_hash[32], char *bad, size_t badsz)
{
	uint8_t h[32];
	char what[192];
	ik_status st;

	describe(e, what, sizeof(what));
	if (e->id != prev_id + 1) {
		snprintf(bad, badsz, prev_id == 0 ?
		    "entry %lld (%s): the chain must start at entry 1; entries before it are missing" :
		    "entry %lld (%s): entries after %lld are missing", (long long)e->id, what,
		    (long long)prev_id);
		return IK_ERR_STATE;
	}
	if (CRYPTO_memcmp(e->prev_hash, prev_hash, 32) != 0) {
		snprintf(bad, badsz, "entry %lld (%s): its prev_hash is not the hash of entry %lld"
		    " (an entry was altered or replaced)", (long long)e->id, what,
		    (long long)prev_id);
		return IK_ERR_STATE;
	}
	if ((st = ra_history_hash(e, h)) != IK_OK) {
		snprintf(bad, badsz, "entry %lld: cannot hash it (%s)", (long long)e->id,
		    ik_status_str(st));
		return st;
	}
	if (CRYPTO_memcmp(h, e->hash, 32) != 0) {
		snprintf(bad, badsz, "entry %lld (%s): its contents do not match its hash"
		    " (the row was edited)", (long long)e->id, what);
		return IK_ERR_STATE;
	}
	return IK_OK;
}

ik_status ra_history_verify(ra_store *s, char *bad, size_t badsz)
{
	ra_history_query q;
	ra_history_entry *rows = NULL;
	uint8_t prev_hash[32] = { 0 };
	int64_t prev_id = 0;
	size_t n = 0;
	ik_status st;
	char dummy[8];

	if (bad == NULL || badsz == 0) {
		bad = dummy;
		badsz = sizeof(dummy);
	}
	bad[0] = '\0';
	memset(&q, 0, sizeof(q));
	do {
		q.after_id = prev_id;
		if ((st = ra_store_history_list(s, &q, &rows, VERIFY_PAGE, &n)) != IK_OK) {
			snprintf(bad, badsz, "cannot read the history after entry %lld: %s",
			    (long long)prev_id, ik_status_str(st));
			return st;
		}
		for (size_t i = 0; i < n && st == IK_OK; i++) {
			st = check_entry(&rows[i], prev_id, prev_hash, bad, badsz);
			prev_id = rows[i].id;
			memcpy(prev_hash, rows[i].hash, 32);
		}
		ra_history_entries_free(rows, n);
		rows = NULL;
	} while (st == IK_OK && n == VERIFY_PAGE);
	return st;
}
