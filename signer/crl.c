/* crl: encode a v2 TBSCertList straight from a stream of ledger entries — each entry is
 * written once, in one pass, with no OpenSSL objects and no per-entry allocation — either
 * in memory (sg_crl_tbs_build) or, as the signer issues CRLs, into an unlinked file that
 * the next CRL merges the ledger's changes into, signed and served in pieces (crl.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>

#include "cert.h"
#include "crl.h"
#include "der.h"
#include "fdio.h"
#include "oid.h"

#define CRL_CHUNK 4096
#define PUT_OID(b, oid) der_put_tlv((b), DER_OID, (const uint8_t *)(oid), OID_LEN(oid))

/* crlEntryExtensions { Extension { reasonCode, OCTET STRING { ENUMERATED r } } }: all but
 * the last byte (r) are fixed. */
static const uint8_t reason_ext_prefix[] = {
	0x30, 0x0c, 0x30, 0x0a, 0x06, 0x03, 0x55, 0x1d, 0x15, 0x04, 0x03, 0x0a, 0x01,
};

/* A serial as the ledger keeps it: the minimal content octets of a positive INTEGER. */
static int serial_ok(const uint8_t *s, size_t n)
{
	if (n < 1 || n > PROTO_MAX_SERIAL || (s[0] & 0x80) != 0)
		return 0;
	if (n > 1 && s[0] == 0 && (s[1] & 0x80) == 0)
		return 0;
	return !(n == 1 && s[0] == 0);
}

/* RFC 5280 5.3.1 reasons a full CRL may carry: not 7 (unused), not 8 (delta CRLs only). */
static int reason_ok(uint8_t r)
{
	return r <= 10 && r != 7 && r != 8;
}

/* One revokedCertificates entry: SEQUENCE { INTEGER serial, Time, [reason extension] }.
 * Its content is at most 22 + 17 + 14 bytes, so the SEQUENCE header is always 2 bytes. */
static ik_status put_entry(ik_buf *b, const sg_crl_entry *e)
{
	size_t n, tl;
	uint8_t *p;
	ik_status st;

	if (e->removed || !serial_ok(e->serial, e->serial_len) || !reason_ok(e->reason))
		return IK_ERR_ARG;
	tl = e->when >= INT64_C(2524608000) ? 17 : 15; /* GeneralizedTime from 2050 */
	n = 2 + e->serial_len + tl + (e->reason != 0 ? sizeof(reason_ext_prefix) + 1 : 0);
	if ((st = ik_buf_reserve(b, 4 + e->serial_len, &p)) != IK_OK)
		return st;
	p[0] = DER_SEQUENCE;
	p[1] = (uint8_t)n;
	p[2] = DER_INTEGER;
	p[3] = (uint8_t)e->serial_len;
	memcpy(p + 4, e->serial, e->serial_len);
	if ((st = der_put_time(b, e->when)) != IK_OK)
		return st;
	if (e->reason == 0)
		return IK_OK;
	if ((st = ik_buf_reserve(b, sizeof(reason_ext_prefix) + 1, &p)) != IK_OK)
		return st;
	memcpy(p, reason_ext_prefix, sizeof(reason_ext_prefix));
	p[sizeof(reason_ext_prefix)] = e->reason;
	return IK_OK;
}

/* Crl extensions: [0] { SEQUENCE { AKI, cRLNumber } } */
static ik_status put_crl_exts(ik_buf *b, const sg_ca *ca, uint64_t number)
{
	size_t m0, mseq, mext, moct, maki;
	ik_status st;

	if ((st = der_begin(b, DER_CTX(0), &m0)) != IK_OK ||
	    (st = der_begin(b, DER_SEQUENCE, &mseq)) != IK_OK ||
	    (st = der_begin(b, DER_SEQUENCE, &mext)) != IK_OK ||
	    (st = PUT_OID(b, OID_CE_AKI)) != IK_OK ||
	    (st = der_begin(b, DER_OCTET_STRING, &moct)) != IK_OK ||
	    (st = der_begin(b, DER_SEQUENCE, &maki)) != IK_OK ||
	    (st = der_put_tlv(b, DER_CTXP(0), ca->key_id, ca->key_id_len)) != IK_OK ||
	    (st = der_end(b, maki)) != IK_OK || (st = der_end(b, moct)) != IK_OK ||
	    (st = der_end(b, mext)) != IK_OK)
		return st;
	if ((st = der_begin(b, DER_SEQUENCE, &mext)) != IK_OK ||
	    (st = PUT_OID(b, "\x55\x1d\x14")) != IK_OK || /* cRLNumber 2.5.29.20 */
	    (st = der_begin(b, DER_OCTET_STRING, &moct)) != IK_OK ||
	    (st = der_put_u64(b, number)) != IK_OK || (st = der_end(b, moct)) != IK_OK ||
	    (st = der_end(b, mext)) != IK_OK)
		return st;
	if ((st = der_end(b, mseq)) != IK_OK)
		return st;
	return der_end(b, m0);
}

/* The revokedCertificates entries, pulled from the source a chunk at a time and written
 * straight into the buffer.  The source must give exactly 'count' entries. */
static ik_status put_revoked(ik_buf *b, sg_crl_source src, void *arg, size_t count)
{
	sg_crl_entry *chunk = malloc(CRL_CHUNK * sizeof(*chunk));
	size_t written = 0;
	long got;
	ik_status st = IK_OK;

	if (chunk == NULL)
		return IK_ERR_NOMEM;
	while ((got = src(arg, chunk, CRL_CHUNK)) > 0) {
		if ((size_t)got > CRL_CHUNK || (size_t)got > count - written) {
			st = IK_ERR_LEDGER; /* more than announced */
			goto out;
		}
		for (long i = 0; i < got; i++)
			if ((st = put_entry(b, &chunk[i])) != IK_OK)
				goto out;
		written += (size_t)got;
	}
	if (got < 0 || written != count)
		st = IK_ERR_LEDGER;
out:
	free(chunk);
	return st;
}

ik_status sg_crl_tbs_build(const sg_ca *ca, uint64_t crl_number, int64_t this_update,
    int64_t next_update, sg_crl_source src, void *arg, size_t count, ik_buf *out)
{
	size_t mtbs, mrev;
	uint8_t v2 = 1;
	ik_status st;

	if (ca == NULL || ca->name_der == NULL || next_update <= this_update || out == NULL ||
	    (src == NULL && count > 0))
		return IK_ERR_ARG;
	if ((st = der_begin(out, DER_SEQUENCE, &mtbs)) != IK_OK ||
	    (st = der_put_tlv(out, DER_INTEGER, &v2, 1)) != IK_OK ||
	    (st = sg_put_algid(out, ca->sig)) != IK_OK ||
	    (st = ik_buf_put(out, ca->name_der, ca->name_len)) != IK_OK ||
	    (st = der_put_time(out, this_update)) != IK_OK ||
	    (st = der_put_time(out, next_update)) != IK_OK)
		return st;
	if (count > 0) {
		/* one memmove of the list at most (none above 16 MiB): measured 1M entries ~0.1 s */
		if ((st = der_begin(out, DER_SEQUENCE, &mrev)) != IK_OK ||
		    (st = put_revoked(out, src, arg, count)) != IK_OK ||
		    (st = der_end(out, mrev)) != IK_OK)
			return st;
	} else {
		sg_crl_entry extra;
		if (src != NULL && src(arg, &extra, 1) != 0) /* the source disagrees with count */
			return IK_ERR_LEDGER;
	}
	if ((st = put_crl_exts(out, ca, crl_number)) != IK_OK)
		return st;
	return der_end(out, mtbs);
}

/* ==== the CRL as the signer issues it (crl.h) ==== */

#define LIST_IO (256 * 1024) /* read and write granule of the list files */
#define ENTRY_MAX (2 + 127)  /* an entry is a SEQUENCE with a short-form length (put_entry) */
#define SIG_MAX 1024

struct sg_crl_list {
	atomic_uint refs;
	int fd;
	size_t len, count; /* bytes, entries */
};

/* The ledger's order of serials (SQLite's for BLOBs): memcmp, then the shorter first. */
static int blob_cmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
	int c = memcmp(a, b, an < bn ? an : bn);

	if (c != 0)
		return c;
	return an < bn ? -1 : an > bn ? 1 : 0;
}

size_t sg_crl_list_count(const sg_crl_list *l)
{
	return l != NULL ? l->count : 0;
}

size_t sg_crl_list_bytes(const sg_crl_list *l)
{
	return l != NULL ? l->len : 0;
}

sg_crl_list *sg_crl_list_ref(sg_crl_list *l)
{
	if (l != NULL)
		atomic_fetch_add(&l->refs, 1);
	return l;
}

void sg_crl_list_unref(sg_crl_list *l)
{
	if (l == NULL || atomic_fetch_sub(&l->refs, 1) != 1)
		return;
	if (l->fd >= 0)
		close(l->fd);
	free(l);
}

/* ---- writing a list: entries appended in strictly increasing serial order ---- */

typedef struct list_writer {
	sg_crl_list *l;
	ik_buf buf;
	uint8_t last[PROTO_MAX_SERIAL];
	size_t last_len;
} list_writer;

static ik_status lw_open(list_writer *w, const char *dir)
{
	memset(w, 0, sizeof(*w));
	ik_buf_init(&w->buf, 0);
	if ((w->l = calloc(1, sizeof(*w->l))) == NULL)
		return IK_ERR_NOMEM;
	atomic_init(&w->l->refs, 1);
	if ((w->l->fd = ik_fd_tmpfile(dir)) < 0)
		return IK_ERR_IO;
	return IK_OK;
}

static ik_status lw_flush(list_writer *w)
{
	ik_status st = ik_fd_write_all(w->l->fd, ik_buf_ptr(&w->buf), ik_buf_remaining(&w->buf));

	ik_buf_reset(&w->buf);
	return st;
}

/* Bookkeeping for the entry just put in the buffer: order, count, size, flush. */
static ik_status lw_added(list_writer *w, const uint8_t *serial, size_t sn, size_t bytes)
{
	if (w->l->count > 0 && blob_cmp(w->last, w->last_len, serial, sn) >= 0)
		return IK_ERR_LEDGER; /* out of order or repeated */
	memcpy(w->last, serial, sn);
	w->last_len = sn;
	w->l->count++;
	if (ik_size_add(w->l->len, bytes, &w->l->len) != 0)
		return IK_ERR_ARG;
	return ik_buf_remaining(&w->buf) >= LIST_IO ? lw_flush(w) : IK_OK;
}

static ik_status lw_entry(list_writer *w, const sg_crl_entry *e)
{
	size_t before = w->buf.len;
	ik_status st;

	if ((st = put_entry(&w->buf, e)) != IK_OK) /* checks the serial, reason and time */
		return st;
	return lw_added(w, e->serial, e->serial_len, w->buf.len - before);
}

/* An entry already encoded (from the previous list). */
static ik_status lw_raw(list_writer *w, const uint8_t *p, size_t n, const uint8_t *serial,
    size_t sn)
{
	ik_status st = ik_buf_put(&w->buf, p, n);

	return st != IK_OK ? st : lw_added(w, serial, sn, n);
}

static ik_status lw_finish(list_writer *w, ik_status st, sg_crl_list **out)
{
	if (st == IK_OK)
		st = lw_flush(w);
	ik_buf_cleanup(&w->buf);
	if (st != IK_OK) {
		sg_crl_list_unref(w->l);
		return st;
	}
	*out = w->l;
	return IK_OK;
}

/* ---- reading a list back, entry by entry ---- */

typedef struct list_reader {
	const sg_crl_list *l;
	uint8_t *buf;      /* LIST_IO bytes */
	size_t off;        /* file offset of the next read */
	size_t have, pos;  /* bytes in buf, next unread */
} list_reader;

/* The next entry: 1 with the whole SEQUENCE in *p, *n and its serial's content octets
 * (valid until the next call), 0 at the end, -1 if the list is damaged (it is our own
 * file, checked all the same). */
static int lr_next(list_reader *r, const uint8_t **p, size_t *n, const uint8_t **serial,
    size_t *sn)
{
	size_t avail = r->have - r->pos, len;
	const uint8_t *e;

	if (avail < ENTRY_MAX && r->off < r->l->len) {
		size_t want = LIST_IO - avail;
		memmove(r->buf, r->buf + r->pos, avail);
		if (want > r->l->len - r->off)
			want = r->l->len - r->off;
		if (ik_fd_pread_all(r->l->fd, r->buf + avail, want, r->off) != IK_OK)
			return -1;
		r->off += want;
		r->pos = 0;
		r->have = avail += want;
	}
	if (avail == 0)
		return 0;
	e = r->buf + r->pos;
	if (avail < 2 || e[0] != DER_SEQUENCE || e[1] >= 0x80 || avail < 2 + (size_t)e[1])
		return -1;
	len = 2 + (size_t)e[1];
	if (len < 5 || e[2] != DER_INTEGER || e[3] == 0 || e[3] > PROTO_MAX_SERIAL ||
	    4 + (size_t)e[3] > len)
		return -1;
	*p = e;
	*n = len;
	*serial = e + 4;
	*sn = e[3];
	r->pos += len;
	return 1;
}

/* ---- building and merging ---- */

ik_status sg_crl_list_build(const char *dir, sg_crl_source src, void *arg, sg_crl_list **out)
{
	sg_crl_entry *chunk = malloc(CRL_CHUNK * sizeof(*chunk));
	list_writer w;
	long got = 0;
	ik_status st;

	*out = NULL;
	if (chunk == NULL)
		return IK_ERR_NOMEM;
	st = lw_open(&w, dir);
	while (st == IK_OK && (got = src(arg, chunk, CRL_CHUNK)) > 0) {
		if ((size_t)got > CRL_CHUNK) {
			st = IK_ERR_LEDGER;
			break;
		}
		for (long i = 0; i < got && st == IK_OK; i++)
			st = lw_entry(&w, &chunk[i]);
	}
	if (st == IK_OK && got < 0)
		st = IK_ERR_LEDGER;
	free(chunk);
	return lw_finish(&w, st, out);
}

/* Apply one change: copy the old entries before it, drop the one it replaces, add it. */
static ik_status merge_one(list_writer *w, list_reader *r, int *have, const uint8_t **p,
    size_t *n, const uint8_t **sp, size_t *sn, const sg_crl_entry *c)
{
	int cmp = 1;
	ik_status st;

	while (*have > 0 && (cmp = blob_cmp(*sp, *sn, c->serial, c->serial_len)) < 0) {
		if ((st = lw_raw(w, *p, *n, *sp, *sn)) != IK_OK)
			return st;
		*have = lr_next(r, p, n, sp, sn);
	}
	if (*have < 0)
		return IK_ERR_LEDGER;
	if (*have > 0 && cmp == 0)
		*have = lr_next(r, p, n, sp, sn); /* replaced or removed */
	return c->removed ? IK_OK : lw_entry(w, c);
}

ik_status sg_crl_list_merge(const char *dir, sg_crl_list *old, sg_crl_source src, void *arg,
    sg_crl_list **out)
{
	sg_crl_entry *chunk = malloc(CRL_CHUNK * sizeof(*chunk));
	list_reader r = { .l = old };
	list_writer w;
	const uint8_t *p = NULL, *sp = NULL;
	uint8_t prev[PROTO_MAX_SERIAL];
	size_t n = 0, sn = 0, prev_len = 0, changes = 0;
	int have = 0;
	long got;
	ik_status st;

	*out = NULL;
	if (chunk == NULL)
		return IK_ERR_NOMEM;
	if (old == NULL || (got = src(arg, chunk, CRL_CHUNK)) <= 0) {
		free(chunk);
		if (old == NULL || got < 0)
			return old == NULL ? IK_ERR_ARG : IK_ERR_LEDGER;
		*out = sg_crl_list_ref(old); /* nothing changed */
		return IK_OK;
	}
	if ((st = lw_open(&w, dir)) != IK_OK || (r.buf = malloc(LIST_IO)) == NULL) {
		st = st != IK_OK ? st : IK_ERR_NOMEM;
		goto out;
	}
	have = lr_next(&r, &p, &n, &sp, &sn);
	while (got > 0 && st == IK_OK) {
		if ((size_t)got > CRL_CHUNK) {
			st = IK_ERR_LEDGER;
			break;
		}
		for (long i = 0; i < got && st == IK_OK; i++) {
			const sg_crl_entry *c = &chunk[i];
			if (!serial_ok(c->serial, c->serial_len))
				st = IK_ERR_ARG;
			else if (changes++ > 0 && blob_cmp(prev, prev_len, c->serial, c->serial_len) >= 0)
				st = IK_ERR_LEDGER; /* changes out of order or repeated */
			else
				st = merge_one(&w, &r, &have, &p, &n, &sp, &sn, c);
			if (st == IK_OK) {
				memcpy(prev, c->serial, c->serial_len);
				prev_len = c->serial_len;
			}
		}
		if (st == IK_OK && (got = src(arg, chunk, CRL_CHUNK)) < 0)
			st = IK_ERR_LEDGER;
	}
	while (st == IK_OK && have > 0) {
		st = lw_raw(&w, p, n, sp, sn);
		have = lr_next(&r, &p, &n, &sp, &sn);
	}
	if (st == IK_OK && have < 0)
		st = IK_ERR_LEDGER;
out:
	free(r.buf);
	free(chunk);
	return lw_finish(&w, st, out);
}

/* ---- signing ---- */

typedef int (*update_fn)(EVP_MD_CTX *ctx, const void *p, size_t n);

/* Feed the whole list to a digest, a granule at a time. */
static ik_status feed_list(const sg_crl_list *l, update_fn update, EVP_MD_CTX *ctx)
{
	uint8_t *buf;
	ik_status st = IK_OK;

	if (l == NULL || l->len == 0)
		return IK_OK;
	if ((buf = malloc(LIST_IO)) == NULL)
		return IK_ERR_NOMEM;
	for (size_t off = 0; off < l->len && st == IK_OK;) {
		size_t k = l->len - off < LIST_IO ? l->len - off : LIST_IO;
		if ((st = ik_fd_pread_all(l->fd, buf, k, off)) == IK_OK && update(ctx, buf, k) != 1)
			st = IK_ERR_CRYPTO;
		off += k;
	}
	free(buf);
	return st;
}

typedef struct sign_arg {
	const EVP_MD *md;
	const ik_buf *tbs_head, *exts; /* the TBS is tbs_head || list || exts */
	const sg_crl_list *list;
	uint8_t sig[SIG_MAX];
	size_t siglen;
} sign_arg;

static ik_status sign_fn(EVP_PKEY *pk, void *argp)
{
	sign_arg *a = argp;
	EVP_MD_CTX *ctx;
	ik_status st = IK_ERR_CRYPTO;

	if (EVP_PKEY_get_size(pk) <= 0 || (size_t)EVP_PKEY_get_size(pk) > sizeof(a->sig))
		return IK_ERR_CRYPTO;
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return IK_ERR_NOMEM;
	a->siglen = sizeof(a->sig);
	if (EVP_DigestSignInit(ctx, NULL, a->md, NULL, pk) == 1 &&
	    EVP_DigestSignUpdate(ctx, ik_buf_ptr(a->tbs_head), ik_buf_remaining(a->tbs_head)) == 1 &&
	    (st = feed_list(a->list, EVP_DigestSignUpdate, ctx)) == IK_OK) {
		st = IK_ERR_CRYPTO;
		if (EVP_DigestSignUpdate(ctx, ik_buf_ptr(a->exts), ik_buf_remaining(a->exts)) == 1 &&
		    EVP_DigestSignFinal(ctx, a->sig, &a->siglen) == 1)
			st = IK_OK;
	}
	EVP_MD_CTX_free(ctx);
	return st;
}

ik_status sg_crl_hsm_with(void *arg, sg_crl_keyfn fn, void *fnarg)
{
	const sg_crl_hsm *k = arg;

	return hsm_with_pkey(k->h, k->k, fn, fnarg);
}

/* version, signature, issuer, thisUpdate, nextUpdate */
static ik_status put_tbs_fields(ik_buf *b, const sg_ca *ca, int64_t this_update,
    int64_t next_update)
{
	uint8_t v2 = 1;
	ik_status st;

	if ((st = der_put_tlv(b, DER_INTEGER, &v2, 1)) != IK_OK ||
	    (st = sg_put_algid(b, ca->sig)) != IK_OK ||
	    (st = ik_buf_put(b, ca->name_der, ca->name_len)) != IK_OK ||
	    (st = der_put_time(b, this_update)) != IK_OK)
		return st;
	return der_put_time(b, next_update);
}

static ik_status crl_sha256(sg_crl *c)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	ik_status st = IK_ERR_CRYPTO;

	if (ctx == NULL)
		return IK_ERR_NOMEM;
	if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(ctx, ik_buf_ptr(&c->head), ik_buf_remaining(&c->head)) == 1 &&
	    (st = feed_list(c->list, EVP_DigestUpdate, ctx)) == IK_OK) {
		st = IK_ERR_CRYPTO;
		if (EVP_DigestUpdate(ctx, ik_buf_ptr(&c->tail), ik_buf_remaining(&c->tail)) == 1 &&
		    EVP_DigestFinal_ex(ctx, c->sha256, NULL) == 1)
			st = IK_OK;
	}
	EVP_MD_CTX_free(ctx);
	return st;
}

/* head: SEQUENCE header of the CRL, then tbs_head; tail: exts, then signatureAlgorithm
 * and the signature. */
static ik_status assemble(sg_crl *c, const sg_ca *ca, const ik_buf *tbs_head,
    const sign_arg *a)
{
	size_t list_len = sg_crl_list_bytes(c->list), body, bits;
	ik_status st;

	if ((st = sg_put_algid(&c->tail, ca->sig)) != IK_OK ||
	    (st = ik_buf_put_u8(&c->tail, DER_BIT_STRING)) != IK_OK ||
	    ik_size_add(a->siglen, 1, &bits) != 0 || (st = der_put_len(&c->tail, bits)) != IK_OK ||
	    (st = ik_buf_put_u8(&c->tail, 0x00)) != IK_OK ||
	    (st = ik_buf_put(&c->tail, a->sig, a->siglen)) != IK_OK)
		return st != IK_OK ? st : IK_ERR_ARG;
	if (ik_size_add(ik_buf_remaining(tbs_head), list_len, &body) != 0 ||
	    ik_size_add(body, ik_buf_remaining(&c->tail), &body) != 0)
		return IK_ERR_ARG;
	if ((st = ik_buf_put_u8(&c->head, DER_SEQUENCE)) != IK_OK ||
	    (st = der_put_len(&c->head, body)) != IK_OK ||
	    (st = ik_buf_put(&c->head, ik_buf_ptr(tbs_head), ik_buf_remaining(tbs_head))) != IK_OK)
		return st;
	c->len = ik_buf_remaining(&c->head) + list_len + ik_buf_remaining(&c->tail);
	return crl_sha256(c);
}

ik_status sg_crl_sign(const sg_ca *ca, const sg_crl_key *key, uint64_t number,
    int64_t this_update, int64_t next_update, sg_crl_list *list, sg_crl **out)
{
	sign_arg *a = NULL;
	ik_buf fields, tbs_head;
	size_t list_len = sg_crl_list_bytes(list), rev = 0, tbs;
	sg_crl *c;
	ik_status st;

	*out = NULL;
	if (ca == NULL || ca->name_der == NULL || key == NULL || key->with == NULL ||
	    next_update <= this_update || (list != NULL && (list->count == 0) != (list_len == 0)))
		return IK_ERR_ARG;
	if ((c = calloc(1, sizeof(*c))) == NULL || (a = calloc(1, sizeof(*a))) == NULL) {
		free(c);
		return IK_ERR_NOMEM;
	}
	atomic_init(&c->refs, 1);
	ik_buf_init(&c->head, 0);
	ik_buf_init(&c->tail, 0);
	ik_buf_init(&fields, 0);
	ik_buf_init(&tbs_head, 0);
	c->list = list_len > 0 ? sg_crl_list_ref(list) : NULL; /* no entries: the field is absent */
	c->count = sg_crl_list_count(c->list);
	c->number = number;
	c->this_update = this_update;
	c->next_update = next_update;
	/* TBS = SEQUENCE { fields, [SEQUENCE { list }], exts }; exts start the tail */
	if ((st = put_tbs_fields(&fields, ca, this_update, next_update)) != IK_OK ||
	    (st = put_crl_exts(&c->tail, ca, number)) != IK_OK)
		goto out;
	if (c->list != NULL && (rev = der_tlv_size(list_len)) == SIZE_MAX) {
		st = IK_ERR_ARG;
		goto out;
	}
	if (ik_size_add(ik_buf_remaining(&fields), rev, &tbs) != 0 ||
	    ik_size_add(tbs, ik_buf_remaining(&c->tail), &tbs) != 0) {
		st = IK_ERR_ARG;
		goto out;
	}
	if ((st = ik_buf_put_u8(&tbs_head, DER_SEQUENCE)) != IK_OK ||
	    (st = der_put_len(&tbs_head, tbs)) != IK_OK ||
	    (st = ik_buf_put(&tbs_head, ik_buf_ptr(&fields), ik_buf_remaining(&fields))) != IK_OK)
		goto out;
	if (c->list != NULL && ((st = ik_buf_put_u8(&tbs_head, DER_SEQUENCE)) != IK_OK ||
	    (st = der_put_len(&tbs_head, list_len)) != IK_OK))
		goto out;
	a->md = ca->sig == SG_SIG_ECDSA_SHA384 ? EVP_sha384() : EVP_sha256();
	a->tbs_head = &tbs_head;
	a->exts = &c->tail;
	a->list = c->list;
	if ((st = key->with(key->arg, sign_fn, a)) != IK_OK ||
	    (st = assemble(c, ca, &tbs_head, a)) != IK_OK)
		goto out;
	*out = c;
	c = NULL;
out:
	ik_buf_cleanup(&fields);
	ik_buf_cleanup(&tbs_head);
	free(a);
	sg_crl_unref(c);
	return st;
}

ik_status sg_crl_read(const sg_crl *c, size_t off, uint8_t *buf, size_t n)
{
	size_t hl = ik_buf_remaining(&c->head), ll = sg_crl_list_bytes(c->list);
	ik_status st;

	if (off > c->len || n > c->len - off)
		return IK_ERR_ARG;
	while (n > 0) {
		size_t k;
		if (off < hl) {
			k = n < hl - off ? n : hl - off;
			memcpy(buf, ik_buf_ptr(&c->head) + off, k);
		} else if (off < hl + ll) {
			k = n < hl + ll - off ? n : hl + ll - off;
			if ((st = ik_fd_pread_all(c->list->fd, buf, k, off - hl)) != IK_OK)
				return st;
		} else {
			k = n;
			memcpy(buf, ik_buf_ptr(&c->tail) + (off - hl - ll), k);
		}
		buf += k;
		off += k;
		n -= k;
	}
	return IK_OK;
}

sg_crl *sg_crl_ref(sg_crl *c)
{
	if (c != NULL)
		atomic_fetch_add(&c->refs, 1);
	return c;
}

void sg_crl_unref(sg_crl *c)
{
	if (c == NULL || atomic_fetch_sub(&c->refs, 1) != 1)
		return;
	sg_crl_list_unref(c->list);
	ik_buf_cleanup(&c->head);
	ik_buf_cleanup(&c->tail);
	free(c);
}

/* ---- the signer's path ---- */

ik_status sg_crl_state_init(sg_crl_state *cs, const char *ledger_path)
{
	const char *slash = strrchr(ledger_path, '/');
	size_t n = slash == NULL ? 1 : slash == ledger_path ? 1 : (size_t)(slash - ledger_path);

	memset(cs, 0, sizeof(*cs));
	if (n >= sizeof(cs->dir))
		return IK_ERR_ARG;
	memcpy(cs->dir, slash == NULL ? "." : ledger_path, n);
	cs->dir[n] = '\0';
	return IK_OK;
}

void sg_crl_state_cleanup(sg_crl_state *cs)
{
	sg_crl_list_unref(cs->list);
	cs->list = NULL;
}

ik_status sg_crl_publish(sg_crl_state *cs, sg_ledger *l, const sg_ca *ca,
    const sg_crl_key *key, uint64_t number, int64_t this_update, int64_t next_update,
    int full, sg_crl **out)
{
	sg_ledger_cursor *cur = NULL;
	sg_crl_list *list = NULL;
	sg_crl *c = NULL;
	int64_t mark = 0;
	ik_status st;

	*out = NULL;
	if (full || cs->list == NULL) {
		if ((st = sg_ledger_crl_open_all(l, &cur, &mark)) == IK_OK)
			st = sg_crl_list_build(cs->dir, sg_ledger_crl_next, cur, &list);
	} else {
		if ((st = sg_ledger_crl_changes(l, cs->mark, &cur, &mark)) == IK_OK)
			st = sg_crl_list_merge(cs->dir, cs->list, sg_ledger_crl_next, cur, &list);
	}
	sg_ledger_crl_close(cur);
	sg_crl_list_unref(cs->list);
	cs->list = NULL; /* after a failure the next CRL reads every entry again */
	if (st != IK_OK)
		return st;
	cs->list = list;
	cs->mark = mark;
	if ((st = sg_crl_sign(ca, key, number, this_update, next_update, list, &c)) != IK_OK)
		return st;
	if ((st = sg_ledger_crl_record(l, number, this_update, next_update, c->sha256)) != IK_OK) {
		sg_crl_unref(c);
		return st;
	}
	*out = c;
	return IK_OK;
}
