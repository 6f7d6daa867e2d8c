/* fuzz_proto: libFuzzer target for the RA <-> signer codec.  The first byte picks a body
 * decoder, or (0) feeds the rest as a stream of frames: header, then the body decoder its
 * type selects, as the signer and the RA would.  Whatever decodes must re-encode to the
 * same bytes and decode again to the same message; every strict prefix of it must be
 * TRUNCATED and one byte more TRAILING; a refusal must be a protocol status. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                        \
	do {                                                                            \
		if (!(c)) {                                                             \
			fprintf(stderr, "fuzz_proto: %s:%d: check failed: %s\n", __FILE__, \
			    __LINE__, #c);                                              \
			abort();                                                        \
		}                                                                       \
	} while (0)

typedef union msg {
	proto_hello hello;
	proto_hello_reply hello_reply;
	proto_issue issue;
	proto_issue_reply issue_reply;
	proto_revoke revoke;
	proto_revoke_reply revoke_reply;
	proto_chain_reply chain_reply;
	proto_crl_reply crl_reply;
	proto_status_reply status_reply;
	proto_error error;
	proto_ocsp ocsp;
	proto_ocsp_reply ocsp_reply;
	proto_profiles_reply profiles_reply;
} msg;

static int same(const void *a, size_t an, const void *b, size_t bn)
{
	return an == bn && (an == 0 || memcmp(a, b, an) == 0);
}

/* ---- equality of decoded messages (borrowed pointers compared by contents) ---- */

static int eq_hello(const msg *a, const msg *b)
{
	return a->hello.version_min == b->hello.version_min &&
	    a->hello.version_max == b->hello.version_max &&
	    strcmp(a->hello.peer, b->hello.peer) == 0;
}

static int eq_hello_reply(const msg *a, const msg *b)
{
	return a->hello_reply.version == b->hello_reply.version &&
	    strcmp(a->hello_reply.peer, b->hello_reply.peer) == 0;
}

static int eq_issue(const msg *a, const msg *b)
{
	const proto_issue *x = &a->issue, *y = &b->issue;

	if (strcmp(x->request_id, y->request_id) != 0 || strcmp(x->profile, y->profile) != 0 ||
	    !same(x->spki, x->spki_len, y->spki, y->spki_len) || x->nattrs != y->nattrs ||
	    x->not_before != y->not_before || x->not_after != y->not_after || x->flags != y->flags)
		return 0;
	for (uint8_t i = 0; i < x->nattrs; i++)
		if (x->attrs[i].type != y->attrs[i].type ||
		    strcmp(x->attrs[i].value, y->attrs[i].value) != 0)
			return 0;
	return 1;
}

static int eq_issue_reply(const msg *a, const msg *b)
{
	const proto_issue_reply *x = &a->issue_reply, *y = &b->issue_reply;

	return same(x->serial, x->serial_len, y->serial, y->serial_len) &&
	    same(x->cert, x->cert_len, y->cert, y->cert_len) && x->replayed == y->replayed;
}

static int eq_revoke(const msg *a, const msg *b)
{
	const proto_revoke *x = &a->revoke, *y = &b->revoke;

	return same(x->serial, x->serial_len, y->serial, y->serial_len) && x->reason == y->reason &&
	    x->when == y->when;
}

static int eq_revoke_reply(const msg *a, const msg *b)
{
	return a->revoke_reply.when == b->revoke_reply.when &&
	    a->revoke_reply.state == b->revoke_reply.state;
}

static int eq_chain_reply(const msg *a, const msg *b)
{
	const proto_chain_reply *x = &a->chain_reply, *y = &b->chain_reply;

	if (x->n != y->n || x->n > PROTO_MAX_CHAIN)
		return 0;
	for (uint8_t i = 0; i < x->n; i++)
		if (!same(x->cert[i], x->cert_len[i], y->cert[i], y->cert_len[i]))
			return 0;
	return 1;
}

static int eq_crl_reply(const msg *a, const msg *b)
{
	const proto_crl_reply *x = &a->crl_reply, *y = &b->crl_reply;

	return x->crl_number == y->crl_number && x->this_update == y->this_update &&
	    x->next_update == y->next_update && same(x->crl, x->crl_len, y->crl, y->crl_len);
}

static int eq_status_reply(const msg *a, const msg *b)
{
	const proto_status_reply *x = &a->status_reply, *y = &b->status_reply;

	return x->hsm_ok == y->hsm_ok && x->issued == y->issued && x->revoked == y->revoked &&
	    x->held == y->held && x->crl_number == y->crl_number && x->uptime == y->uptime;
}

static int eq_ocsp(const msg *a, const msg *b)
{
	const proto_ocsp *x = &a->ocsp, *y = &b->ocsp;

	if (x->n != y->n || x->n > PROTO_MAX_OCSP_IDS ||
	    !same(x->nonce, x->nonce_len, y->nonce, y->nonce_len))
		return 0;
	for (uint8_t i = 0; i < x->n; i++) {
		const proto_ocsp_id *p = &x->ids[i], *q = &y->ids[i];
		size_t hl = proto_hash_len(p->hash);
		if (p->hash != q->hash || hl == 0 || !same(p->name_hash, hl, q->name_hash, hl) ||
		    !same(p->key_hash, hl, q->key_hash, hl) ||
		    !same(p->serial, p->serial_len, q->serial, q->serial_len))
			return 0;
	}
	return 1;
}

static int eq_ocsp_reply(const msg *a, const msg *b)
{
	const proto_ocsp_reply *x = &a->ocsp_reply, *y = &b->ocsp_reply;

	return x->status == y->status && x->this_update == y->this_update &&
	    x->next_update == y->next_update &&
	    same(x->response, x->response_len, y->response, y->response_len);
}

static int eq_profile(const proto_profile *x, const proto_profile *y)
{
	if (strcmp(x->name, y->name) != 0 || x->usage != y->usage || x->key_types != y->key_types ||
	    x->rsa_min_bits != y->rsa_min_bits || x->max_days != y->max_days ||
	    x->backdate != y->backdate || x->attrs_allowed != y->attrs_allowed ||
	    x->attrs_required != y->attrs_required || x->nfixed != y->nfixed ||
	    x->nfixed > PROTO_ATTR_MAX || strcmp(x->crl_url, y->crl_url) != 0 ||
	    strcmp(x->ocsp_url, y->ocsp_url) != 0 || strcmp(x->ca_issuers_url, y->ca_issuers_url) != 0)
		return 0;
	for (uint8_t i = 0; i < x->nfixed; i++)
		if (x->fixed[i].type != y->fixed[i].type ||
		    strcmp(x->fixed[i].value, y->fixed[i].value) != 0)
			return 0;
	return 1;
}

static int eq_profiles_reply(const msg *a, const msg *b)
{
	const proto_profiles_reply *x = &a->profiles_reply, *y = &b->profiles_reply;

	if (x->n != y->n || x->n > PROTO_MAX_PROFILES)
		return 0;
	for (uint8_t i = 0; i < x->n; i++)
		if (!eq_profile(&x->p[i], &y->p[i]))
			return 0;
	return 1;
}

static int eq_error(const msg *a, const msg *b)
{
	return a->error.status == b->error.status && strcmp(a->error.detail, b->error.detail) == 0;
}

/* ---- one table row per body kind ---- */

#define CODEC(name)                                                                    \
	static ik_status dec_##name(const uint8_t *p, size_t n, msg *m)                 \
	{                                                                              \
		return proto_decode_##name(p, n, &m->name);                             \
	}                                                                              \
	static ik_status enc_##name(ik_buf *b, const msg *m)                            \
	{                                                                              \
		return proto_encode_##name(b, &m->name);                                \
	}
CODEC(hello)
CODEC(hello_reply)
CODEC(issue)
CODEC(issue_reply)
CODEC(revoke)
CODEC(revoke_reply)
CODEC(chain_reply)
CODEC(crl_reply)
CODEC(status_reply)
CODEC(error)
CODEC(ocsp)
CODEC(ocsp_reply)
CODEC(profiles_reply)
#undef CODEC

static ik_status dec_empty(const uint8_t *p, size_t n, msg *m)
{
	(void)m;
	return proto_decode_empty(p, n);
}

static ik_status enc_empty(ik_buf *b, const msg *m)
{
	(void)b;
	(void)m;
	return IK_OK;
}

static int eq_empty(const msg *a, const msg *b)
{
	(void)a;
	(void)b;
	return 1;
}

typedef struct codec {
	ik_status (*dec)(const uint8_t *, size_t, msg *);
	ik_status (*enc)(ik_buf *, const msg *);
	int (*eq)(const msg *, const msg *);
} codec;

enum {
	C_HELLO, C_HELLO_REPLY, C_ISSUE, C_ISSUE_REPLY, C_REVOKE, C_REVOKE_REPLY,
	C_CHAIN_REPLY, C_CRL_REPLY, C_STATUS_REPLY, C_ERROR, C_EMPTY, C_OCSP, C_OCSP_REPLY,
	C_PROFILES_REPLY, C_COUNT
};

static const codec codecs[C_COUNT] = {
	[C_HELLO] = { dec_hello, enc_hello, eq_hello },
	[C_HELLO_REPLY] = { dec_hello_reply, enc_hello_reply, eq_hello_reply },
	[C_ISSUE] = { dec_issue, enc_issue, eq_issue },
	[C_ISSUE_REPLY] = { dec_issue_reply, enc_issue_reply, eq_issue_reply },
	[C_REVOKE] = { dec_revoke, enc_revoke, eq_revoke },
	[C_REVOKE_REPLY] = { dec_revoke_reply, enc_revoke_reply, eq_revoke_reply },
	[C_CHAIN_REPLY] = { dec_chain_reply, enc_chain_reply, eq_chain_reply },
	[C_CRL_REPLY] = { dec_crl_reply, enc_crl_reply, eq_crl_reply },
	[C_STATUS_REPLY] = { dec_status_reply, enc_status_reply, eq_status_reply },
	[C_ERROR] = { dec_error, enc_error, eq_error },
	[C_EMPTY] = { dec_empty, enc_empty, eq_empty },
	[C_OCSP] = { dec_ocsp, enc_ocsp, eq_ocsp },
	[C_OCSP_REPLY] = { dec_ocsp_reply, enc_ocsp_reply, eq_ocsp_reply },
	[C_PROFILES_REPLY] = { dec_profiles_reply, enc_profiles_reply, eq_profiles_reply },
};

/* The body decoder for a frame type, as the receiving side picks it; -1 if none. */
static int codec_for(uint16_t type)
{
	switch (type) {
	case PROTO_HELLO: return C_HELLO;
	case PROTO_HELLO | PROTO_REPLY: return C_HELLO_REPLY;
	case PROTO_ISSUE: return C_ISSUE;
	case PROTO_ISSUE | PROTO_REPLY: return C_ISSUE_REPLY;
	case PROTO_REVOKE:
	case PROTO_HOLD:
	case PROTO_RELEASE: return C_REVOKE;
	case PROTO_REVOKE | PROTO_REPLY:
	case PROTO_HOLD | PROTO_REPLY:
	case PROTO_RELEASE | PROTO_REPLY: return C_REVOKE_REPLY;
	case PROTO_GET_CHAIN:
	case PROTO_GET_CRL:
	case PROTO_STATUS:
	case PROTO_PROFILES: return C_EMPTY;
	case PROTO_GET_CHAIN | PROTO_REPLY: return C_CHAIN_REPLY;
	case PROTO_GET_CRL | PROTO_REPLY: return C_CRL_REPLY;
	case PROTO_STATUS | PROTO_REPLY: return C_STATUS_REPLY;
	case PROTO_OCSP: return C_OCSP;
	case PROTO_OCSP | PROTO_REPLY: return C_OCSP_REPLY;
	case PROTO_PROFILES | PROTO_REPLY: return C_PROFILES_REPLY;
	case PROTO_ERROR: return C_ERROR;
	default: return -1;
	}
}

static void body(const codec *c, const uint8_t *p, size_t n)
{
	msg a, b;
	ik_buf e;
	ik_status st;

	st = c->dec(p, n, &a);
	if (st != IK_OK) {
		CHECK(st == IK_ERR_PROTO_TRUNCATED || st == IK_ERR_PROTO_TRAILING ||
		    st == IK_ERR_PROTO_FIELD);
		return;
	}
	/* canonical: encode(decode(x)) == x, and decode(encode(x)) == decode(x) */
	ik_buf_init(&e, 0);
	CHECK(c->enc(&e, &a) == IK_OK);
	CHECK(same(ik_buf_ptr(&e), ik_buf_remaining(&e), p, n));
	CHECK(c->dec(ik_buf_ptr(&e), ik_buf_remaining(&e), &b) == IK_OK);
	CHECK(c->eq(&a, &b));
	ik_buf_cleanup(&e);

	/* a valid body cut short is TRUNCATED, one byte longer TRAILING */
	if (n > 0)
		CHECK(c->dec(p, n - 1, &b) == IK_ERR_PROTO_TRUNCATED);
	{
		uint8_t *longer = malloc(n + 1);
		CHECK(longer != NULL);
		if (n > 0)
			memcpy(longer, p, n);
		longer[n] = 0;
		CHECK(c->dec(longer, n + 1, &b) == IK_ERR_PROTO_TRAILING);
		free(longer);
	}
}

/* A stream of frames, each judged as its receiver would: requests against
 * PROTO_MAX_REQUEST, replies and errors against PROTO_MAX_REPLY. */
static void frames(const uint8_t *p, size_t n)
{
	while (n >= PROTO_HDR_LEN) {
		proto_header h;
		uint8_t again[PROTO_HDR_LEN];
		size_t max;
		ik_status st;
		int k;

		st = proto_header_decode(p, PROTO_MAX_REPLY, &h);
		max = (h.type & PROTO_REPLY) != 0 ? PROTO_MAX_REPLY : PROTO_MAX_REQUEST;
		if (st == IK_OK)
			st = proto_header_decode(p, max, &h);
		/* the header is always filled in, and re-encodes to the same bytes */
		proto_header_encode(again, &h);
		CHECK(memcmp(again, p, PROTO_HDR_LEN) == 0);
		CHECK(proto_type_name(h.type) != NULL);
		if (st != IK_OK) {
			CHECK(st == IK_ERR_PROTO_VERSION || st == IK_ERR_PROTO_FIELD ||
			    st == IK_ERR_PROTO_OVERSIZE);
			CHECK(st != IK_ERR_PROTO_OVERSIZE || h.len > max);
			return; /* the receiver replies and closes */
		}
		CHECK(h.version == PROTO_VERSION && h.flags == 0 && h.len <= max);
		p += PROTO_HDR_LEN;
		n -= PROTO_HDR_LEN;
		if (h.len > n)
			return; /* waits for the rest */
		k = codec_for(h.type);
		if (k >= 0)
			body(&codecs[k], p, h.len);
		p += h.len;
		n -= h.len;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned mode;

	if (size == 0)
		return 0;
	mode = data[0] % (C_COUNT + 1);
	if (mode == 0)
		frames(data + 1, size - 1);
	else
		body(&codecs[mode - 1], data + 1, size - 1);
	return 0;
}
