/* ledger_append: the ledger's append calls — intents, certificates, revocation events and
 * CRL records, one at a time (waiting or not) or in batches — checked here and queued for
 * the committer (ledger.c). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ledger.h"
#include "ledger_db.h"

/* ---- appends ---- */

static ik_status make_intent(ledger_op *o, const char *request_id, const uint8_t *serial,
    size_t serial_len, const char *profile, const char *subject, int64_t not_before,
    int64_t not_after, const uint8_t *tbs, size_t tbs_len)
{
	if (request_id == NULL || serial == NULL || profile == NULL || subject == NULL ||
	    tbs == NULL || serial_len == 0 || serial_len > PROTO_MAX_SERIAL || tbs_len == 0 ||
	    tbs_len > INT32_MAX)
		return IK_ERR_ARG;
	*o = (ledger_op){
		.kind = OP_INTENT, .request_id = request_id, .serial = serial, .serial_len = serial_len,
		.profile = profile, .subject = subject, .t1 = not_before, .t2 = not_after,
		.blob = tbs, .blob_len = tbs_len,
	};
	return IK_OK;
}

static ik_status make_cert(ledger_op *o, const char *request_id, const uint8_t *der,
    size_t der_len)
{
	if (request_id == NULL || der == NULL || der_len == 0 || der_len > INT32_MAX)
		return IK_ERR_ARG;
	*o = (ledger_op){ .kind = OP_CERT, .request_id = request_id, .blob = der, .blob_len = der_len };
	return IK_OK;
}

static ik_status make_event(ledger_op *o, const uint8_t *serial, size_t n, sg_event kind,
    uint8_t reason, int64_t when)
{
	if (serial == NULL || n == 0 || n > PROTO_MAX_SERIAL || kind < SG_EV_REVOKE ||
	    kind > SG_EV_RELEASE || when < 0)
		return IK_ERR_ARG;
	/* RFC 5280 5.3.1: a full CRL never says removeFromCRL (8); 7 is unused; certificateHold
	 * (6) is what HOLD records; release and hold take no reason of their own. */
	if (kind == SG_EV_REVOKE && (reason > 10 || reason == 6 || reason == 7 || reason == 8))
		return IK_ERR_POLICY_REASON;
	*o = (ledger_op){ .kind = OP_EVENT, .serial = serial, .serial_len = n, .ev = (int)kind,
		.reason = kind == SG_EV_REVOKE ? reason : 0, .t1 = when };
	return IK_OK;
}

ik_status sg_ledger_record_intent(sg_ledger *l, const char *request_id, const uint8_t *serial,
    size_t serial_len, const char *profile, const char *subject, int64_t not_before,
    int64_t not_after, const uint8_t *tbs, size_t tbs_len)
{
	ledger_op o;
	ik_status st = make_intent(&o, request_id, serial, serial_len, profile, subject,
	    not_before, not_after, tbs, tbs_len);

	return st != IK_OK ? st : sg_ledger_submit(l, &o);
}

ik_status sg_ledger_record_cert(sg_ledger *l, const char *request_id, const uint8_t *der,
    size_t der_len)
{
	ledger_op o;
	ik_status st = make_cert(&o, request_id, der, der_len);

	return st != IK_OK ? st : sg_ledger_submit(l, &o);
}

ik_status sg_ledger_intent_async(sg_ledger *l, const char *request_id, const uint8_t *serial,
    size_t serial_len, const char *profile, const char *subject, int64_t not_before,
    int64_t not_after, const uint8_t *tbs, size_t tbs_len, sg_ledger_done done, void *arg)
{
	ledger_op *o = malloc(sizeof(*o));
	ik_status st;

	if (o == NULL)
		return IK_ERR_NOMEM;
	if (done == NULL || (st = make_intent(o, request_id, serial, serial_len, profile, subject,
	    not_before, not_after, tbs, tbs_len)) != IK_OK) {
		free(o);
		return done == NULL ? IK_ERR_ARG : st;
	}
	return sg_ledger_submit_async(l, o, done, arg);
}

ik_status sg_ledger_cert_async(sg_ledger *l, const char *request_id, const uint8_t *der,
    size_t der_len, sg_ledger_done done, void *arg)
{
	ledger_op *o = malloc(sizeof(*o));
	ik_status st;

	if (o == NULL)
		return IK_ERR_NOMEM;
	if (done == NULL || (st = make_cert(o, request_id, der, der_len)) != IK_OK) {
		free(o);
		return done == NULL ? IK_ERR_ARG : st;
	}
	return sg_ledger_submit_async(l, o, done, arg);
}

ik_status sg_ledger_event(sg_ledger *l, const uint8_t *serial, size_t n, sg_event kind,
    uint8_t reason, int64_t when, uint8_t *state)
{
	ledger_op o;
	ik_status st = make_event(&o, serial, n, kind, reason, when);

	if (st != IK_OK)
		return st;
	st = sg_ledger_submit(l, &o);
	if (st == IK_OK && state != NULL)
		*state = o.state;
	return st;
}

/* ---- batches ---- */

struct sg_ledger_batch {
	ledger_op *ops;
	size_t n, max;
};

ik_status sg_ledger_batch_new(size_t max, sg_ledger_batch **out)
{
	sg_ledger_batch *b;

	*out = NULL;
	if (max == 0 || max > SIZE_MAX / sizeof(ledger_op))
		return IK_ERR_ARG;
	if ((b = calloc(1, sizeof(*b))) == NULL || (b->ops = calloc(max, sizeof(ledger_op))) == NULL) {
		free(b);
		return IK_ERR_NOMEM;
	}
	b->max = max;
	*out = b;
	return IK_OK;
}

void sg_ledger_batch_free(sg_ledger_batch *b)
{
	if (b == NULL)
		return;
	free(b->ops);
	free(b);
}

size_t sg_ledger_batch_len(const sg_ledger_batch *b)
{
	return b->n;
}

ik_status sg_ledger_batch_intent(sg_ledger_batch *b, const char *request_id,
    const uint8_t *serial, size_t serial_len, const char *profile, const char *subject,
    int64_t not_before, int64_t not_after, const uint8_t *tbs, size_t tbs_len)
{
	ik_status st;

	if (b->n == b->max)
		return IK_ERR_BUSY;
	if ((st = make_intent(&b->ops[b->n], request_id, serial, serial_len, profile, subject,
	    not_before, not_after, tbs, tbs_len)) != IK_OK)
		return st;
	b->n++;
	return IK_OK;
}

ik_status sg_ledger_batch_cert(sg_ledger_batch *b, const char *request_id, const uint8_t *der,
    size_t der_len)
{
	ik_status st;

	if (b->n == b->max)
		return IK_ERR_BUSY;
	if ((st = make_cert(&b->ops[b->n], request_id, der, der_len)) != IK_OK)
		return st;
	b->n++;
	return IK_OK;
}

ik_status sg_ledger_batch_event(sg_ledger_batch *b, const uint8_t *serial, size_t n,
    sg_event kind, uint8_t reason, int64_t when)
{
	ik_status st;

	if (b->n == b->max)
		return IK_ERR_BUSY;
	if ((st = make_event(&b->ops[b->n], serial, n, kind, reason, when)) != IK_OK)
		return st;
	b->n++;
	return IK_OK;
}

ik_status sg_ledger_batch_commit(sg_ledger *l, sg_ledger_batch *b, size_t *failed)
{
	ik_status st;

	if (failed != NULL)
		*failed = SIZE_MAX;
	if (b->n == 0)
		return IK_OK;
	for (size_t i = 0; i < b->n; i++) {
		b->ops[i].done = 0;
		b->ops[i].cv = NULL;
		b->ops[i].next = i + 1 < b->n ? &b->ops[i + 1] : NULL;
	}
	st = sg_ledger_submit_chain(l, &b->ops[0], &b->ops[b->n - 1]);
	for (size_t i = 0; i < b->n && st == IK_OK; i++)
		if (b->ops[i].result != IK_OK) {
			st = b->ops[i].result;
			if (failed != NULL)
				*failed = i;
		}
	b->n = 0;
	return st;
}

ik_status sg_ledger_crl_record(sg_ledger *l, uint64_t number, int64_t this_update,
    int64_t next_update, const uint8_t *sha256)
{
	ledger_op o = { .kind = OP_CRL, .number = number, .t1 = this_update, .t2 = next_update,
		.blob = sha256, .blob_len = 32 };

	return sg_ledger_submit(l, &o);
}
