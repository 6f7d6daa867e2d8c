/* cert_csv: a certificate listing as CSV, written while it is sent — one keyset page
 * (RA_PAGE_MAX rows) of the store at a time, so 100 000 rows never sit in memory at once.
 * Shared by GET /api/v1/certificates.csv and the list page's "export CSV". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "bulk.h"

typedef struct csv_ctx {
	ra_store *store;
	ra_cert_query q;
	char *cn;                    /* q.cn_contains, owned */
	char cursor[RA_CURSOR_MAX];  /* where the next page starts ("" = the first) */
	ra_cert rows[RA_PAGE_MAX];
	int started, last;
} csv_ctx;

static const char header[] = "id,common_name,state,serial,not_before,not_after,device_id,"
    "user_id,revocation_reason,created\r\n";

static void iso(int64_t t, char out[32])
{
	struct tm tm;
	time_t tt = (time_t)t;

	out[0] = '\0';
	if (t != 0 && gmtime_r(&tt, &tm) != NULL)
		(void)strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static ik_status row(ik_buf *b, const ra_cert *c)
{
	char id[24], dev[24], user[24], nb[32], na[32], cr[32];
	const char *reason = c->state == RA_CERT_REVOKED && c->reason >= 0 && c->reason < 256 ?
	    ra_bulk_reason_name((uint8_t)c->reason) : NULL;
	ik_status st;

	snprintf(id, sizeof(id), "%lld", (long long)c->id);
	snprintf(dev, sizeof(dev), "%lld", (long long)c->device_id);
	snprintf(user, sizeof(user), "%lld", (long long)c->user_id);
	iso(c->not_before, nb);
	iso(c->not_after, na);
	iso(c->created, cr);
	if ((st = ra_csv_field(b, id, 0)) != IK_OK || (st = ra_csv_field(b, c->cn, 0)) != IK_OK ||
	    (st = ra_csv_field(b, ra_cert_state_name(c->state), 0)) != IK_OK ||
	    (st = ra_csv_field(b, c->serial, 0)) != IK_OK ||
	    (st = ra_csv_field(b, nb, 0)) != IK_OK || (st = ra_csv_field(b, na, 0)) != IK_OK ||
	    (st = ra_csv_field(b, c->device_id != 0 ? dev : "", 0)) != IK_OK ||
	    (st = ra_csv_field(b, c->user_id != 0 ? user : "", 0)) != IK_OK ||
	    (st = ra_csv_field(b, reason != NULL ? reason : "", 0)) != IK_OK)
		return st;
	return ra_csv_field(b, cr, 1);
}

/* The header first, then a page of rows a call. */
static int fill(void *vctx, ik_buf *out)
{
	csv_ctx *c = vctx;
	char next[RA_CURSOR_MAX] = "";
	size_t n = 0;

	if (!c->started) {
		c->started = 1;
		return ik_buf_put_text(out, header) == IK_OK ? 1 : -1;
	}
	if (c->last)
		return 0;
	c->q.cursor = c->cursor[0] != '\0' ? c->cursor : NULL;
	c->q.limit = RA_PAGE_MAX;
	if (ra_store_cert_list(c->store, &c->q, c->rows, &n, next) != IK_OK)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (row(out, &c->rows[i]) != IK_OK)
			return -1;
	snprintf(c->cursor, sizeof(c->cursor), "%s", next);
	c->last = next[0] == '\0' || n == 0;
	return n > 0 ? 1 : 0;
}

static void ctx_free(void *vctx)
{
	csv_ctx *c = vctx;

	if (c == NULL)
		return;
	free(c->cn);
	free(c);
}

void ra_cert_csv_reply(ra_req *r, const ra_cert_query *q, const char *filename)
{
	csv_ctx *c = calloc(1, sizeof(*c));

	if (c == NULL || (q->cn_contains != NULL && (c->cn = strdup(q->cn_contains)) == NULL)) {
		ctx_free(c);
		ra_reply_error(r, 500, "internal", "out of memory");
		return;
	}
	c->store = r->app->store;
	c->q = *q;
	c->q.cn_contains = c->cn;
	c->q.cursor = NULL;
	ra_reply_stream(r, 200, "text/csv; charset=utf-8", filename, fill, ctx_free, c);
}
