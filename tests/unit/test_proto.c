/* Unit tests for proto/: the 16-byte header, a round trip of every message body, every
 * refusal the decoders make (with the exact status), encoders that refuse what decoders
 * would refuse, the dispatcher's protocol-level refusals, and frames over a socketpair
 * including peers that close mid-frame. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <dirent.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include "proto.h"
#include "server.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---- helpers ---- */

static const uint8_t g_spki[] = { 0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce,
	0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42,
	0x00, 0x04, 0x11, 0x22, 0x33 };
static const uint8_t g_cert[] = { 0x30, 0x82, 0x01, 0x00, 0xaa, 0xbb, 0xcc, 0xdd, 0xee };
static const uint8_t g_serial[] = { 0x00, 0x9f, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
	0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f };

static void sample_issue(proto_issue *m)
{
	memset(m, 0, sizeof(*m));
	snprintf(m->request_id, sizeof(m->request_id), "batch-7:row.12_A");
	snprintf(m->profile, sizeof(m->profile), "client-2y");
	m->spki = g_spki;
	m->spki_len = sizeof(g_spki);
	m->nattrs = 3;
	m->attrs[0].type = PROTO_ATTR_CN;
	snprintf(m->attrs[0].value, sizeof(m->attrs[0].value), "\xe7\x94\xb0\xe4\xb8\xad \xe5\xa4\xaa\xe9\x83\x8e"); /* 田中 太郎 */
	m->attrs[1].type = PROTO_ATTR_O;
	snprintf(m->attrs[1].value, sizeof(m->attrs[1].value), "Example, Inc.");
	m->attrs[2].type = PROTO_ATTR_SERIALNUMBER;
	snprintf(m->attrs[2].value, sizeof(m->attrs[2].value), "dev-0001");
	m->not_before = 1700000000u;
	m->not_after = 1700000000u + 397u * 86400u;
	m->flags = 0;
}

static void assert_issue_equal(const proto_issue *a, const proto_issue *b)
{
	assert_string_equal(a->request_id, b->request_id);
	assert_string_equal(a->profile, b->profile);
	assert_int_equal(a->spki_len, b->spki_len);
	assert_memory_equal(a->spki, b->spki, a->spki_len);
	assert_int_equal(a->nattrs, b->nattrs);
	for (uint8_t i = 0; i < a->nattrs; i++) {
		assert_int_equal(a->attrs[i].type, b->attrs[i].type);
		assert_string_equal(a->attrs[i].value, b->attrs[i].value);
	}
	assert_true(a->not_before == b->not_before);
	assert_true(a->not_after == b->not_after);
	assert_int_equal(a->flags, b->flags);
}

/* A string field: u32 length then n copies of c. */
static void put_fill(ik_buf *b, char c, size_t n)
{
	uint8_t *p;

	assert_int_equal(ik_buf_put_u32(b, (uint32_t)n), IK_OK);
	if (n > 0) {
		assert_int_equal(ik_buf_reserve(b, n, &p), IK_OK);
		memset(p, c, n);
	}
}

static void put_bytes(ik_buf *b, const void *p, size_t n)
{
	assert_int_equal(ik_buf_put_string(b, p, n), IK_OK);
}

/* An ISSUE body built by hand, so it can break any rule the encoder enforces. */
typedef struct issue_spec {
	const char *id;      /* NULL: idn copies of 'r' */
	size_t idn;
	const char *profile; /* NULL: pn copies of 'p' */
	size_t pn;
	size_t spki_len;
	uint8_t nattrs;      /* the count field; that many attributes follow */
	uint8_t attr_type;
	const char *attr;    /* NULL: attr_len copies of 'a' */
	size_t attr_len;
} issue_spec;

static issue_spec good_spec(void)
{
	return (issue_spec){ .idn = 8, .pn = 6, .spki_len = 91, .nattrs = 1,
		.attr_type = PROTO_ATTR_CN, .attr_len = 5 };
}

static void raw_issue(ik_buf *b, const issue_spec *s)
{
	ik_buf_reset(b);
	if (s->id != NULL)
		put_bytes(b, s->id, s->idn);
	else
		put_fill(b, 'r', s->idn);
	if (s->profile != NULL)
		put_bytes(b, s->profile, s->pn);
	else
		put_fill(b, 'p', s->pn);
	put_fill(b, 0x30, s->spki_len);
	assert_int_equal(ik_buf_put_u8(b, s->nattrs), IK_OK);
	for (uint8_t i = 0; i < s->nattrs; i++) {
		assert_int_equal(ik_buf_put_u8(b, s->attr_type), IK_OK);
		if (s->attr != NULL)
			put_bytes(b, s->attr, s->attr_len);
		else
			put_fill(b, 'a', s->attr_len);
	}
	assert_int_equal(ik_buf_put_u64(b, 0), IK_OK);
	assert_int_equal(ik_buf_put_u64(b, 1800000000u), IK_OK);
	assert_int_equal(ik_buf_put_u32(b, 0), IK_OK);
}

static ik_status dec_issue(const ik_buf *b)
{
	proto_issue m;

	return proto_decode_issue(ik_buf_ptr(b), ik_buf_remaining(b), &m);
}

/* Every decoder behind one signature, for the table-driven tests. */
typedef ik_status (*decoder)(const uint8_t *p, size_t n);

static ik_status d_hello(const uint8_t *p, size_t n)
{
	proto_hello m;
	return proto_decode_hello(p, n, &m);
}
static ik_status d_hello_reply(const uint8_t *p, size_t n)
{
	proto_hello_reply m;
	return proto_decode_hello_reply(p, n, &m);
}
static ik_status d_issue(const uint8_t *p, size_t n)
{
	proto_issue m;
	return proto_decode_issue(p, n, &m);
}
static ik_status d_issue_reply(const uint8_t *p, size_t n)
{
	proto_issue_reply m;
	return proto_decode_issue_reply(p, n, &m);
}
static ik_status d_revoke(const uint8_t *p, size_t n)
{
	proto_revoke m;
	return proto_decode_revoke(p, n, &m);
}
static ik_status d_revoke_reply(const uint8_t *p, size_t n)
{
	proto_revoke_reply m;
	return proto_decode_revoke_reply(p, n, &m);
}
static ik_status d_chain_reply(const uint8_t *p, size_t n)
{
	proto_chain_reply m;
	return proto_decode_chain_reply(p, n, &m);
}
static ik_status d_crl_reply(const uint8_t *p, size_t n)
{
	proto_crl_reply m;
	return proto_decode_crl_reply(p, n, &m);
}
static ik_status d_status_reply(const uint8_t *p, size_t n)
{
	proto_status_reply m;
	return proto_decode_status_reply(p, n, &m);
}
static ik_status d_ocsp(const uint8_t *p, size_t n)
{
	proto_ocsp m;
	return proto_decode_ocsp(p, n, &m);
}
static ik_status d_ocsp_reply(const uint8_t *p, size_t n)
{
	proto_ocsp_reply m;
	return proto_decode_ocsp_reply(p, n, &m);
}
static ik_status d_profiles_reply(const uint8_t *p, size_t n)
{
	static proto_profiles_reply m; /* large; the tests run on one thread */
	return proto_decode_profiles_reply(p, n, &m);
}
static ik_status d_error(const uint8_t *p, size_t n)
{
	proto_error m;
	return proto_decode_error(p, n, &m);
}

/* The decoder each side applies to a frame of this type (NULL: not a known type). */
static decoder decoder_for(uint16_t type)
{
	switch (type) {
	case PROTO_HELLO: return d_hello;
	case PROTO_HELLO | PROTO_REPLY: return d_hello_reply;
	case PROTO_ISSUE: return d_issue;
	case PROTO_ISSUE | PROTO_REPLY: return d_issue_reply;
	case PROTO_REVOKE:
	case PROTO_HOLD:
	case PROTO_RELEASE: return d_revoke;
	case PROTO_REVOKE | PROTO_REPLY:
	case PROTO_HOLD | PROTO_REPLY:
	case PROTO_RELEASE | PROTO_REPLY: return d_revoke_reply;
	case PROTO_GET_CHAIN:
	case PROTO_GET_CRL:
	case PROTO_STATUS: return proto_decode_empty;
	case PROTO_GET_CHAIN | PROTO_REPLY: return d_chain_reply;
	case PROTO_GET_CRL | PROTO_REPLY: return d_crl_reply;
	case PROTO_STATUS | PROTO_REPLY: return d_status_reply;
	case PROTO_OCSP: return d_ocsp;
	case PROTO_OCSP | PROTO_REPLY: return d_ocsp_reply;
	case PROTO_PROFILES: return proto_decode_empty;
	case PROTO_PROFILES | PROTO_REPLY: return d_profiles_reply;
	case PROTO_ERROR: return d_error;
	default: return NULL;
	}
}

/* An OCSP request with two CertIDs (SHA-1 and SHA-256) and a 16-byte nonce. */
static void sample_ocsp(proto_ocsp *m)
{
	memset(m, 0, sizeof(*m));
	m->n = 2;
	m->ids[0].hash = PROTO_HASH_SHA1;
	memset(m->ids[0].name_hash, 0x11, 20);
	memset(m->ids[0].key_hash, 0x22, 20);
	memcpy(m->ids[0].serial, g_serial, sizeof(g_serial));
	m->ids[0].serial_len = sizeof(g_serial);
	m->ids[1].hash = PROTO_HASH_SHA256;
	memset(m->ids[1].name_hash, 0x33, 32);
	memset(m->ids[1].key_hash, 0x44, 32);
	m->ids[1].serial[0] = 0x80; /* a negative serial is carried as sent */
	m->ids[1].serial_len = 1;
	memset(m->nonce, 0x5a, 16);
	m->nonce_len = 16;
}

/* Two profiles: a client one with fixed O and C and every URL, and an e-mail one with
 * the defaults and no OCSP or caIssuers URL. */
static void sample_profiles(proto_profiles_reply *m)
{
	proto_profile *p = &m->p[0];

	memset(m, 0, sizeof(*m));
	m->n = 2;
	snprintf(p->name, sizeof(p->name), "client-2y");
	p->usage = PROTO_USAGE_CLIENT;
	p->key_types = PROTO_KEY_EC_P256 | PROTO_KEY_RSA;
	p->rsa_min_bits = 3072;
	p->max_days = 730;
	p->backdate = 600;
	p->attrs_allowed = 1u << PROTO_ATTR_CN | 1u << PROTO_ATTR_OU | 1u << PROTO_ATTR_SERIALNUMBER;
	p->attrs_required = 1u << PROTO_ATTR_CN;
	p->nfixed = 2;
	p->fixed[0].type = PROTO_ATTR_O;
	snprintf(p->fixed[0].value, sizeof(p->fixed[0].value), "\xe6\xa0\xaa\xe5\xbc\x8f\xe4\xbc\x9a\xe7\xa4\xbe Example"); /* 株式会社 */
	p->fixed[1].type = PROTO_ATTR_C;
	snprintf(p->fixed[1].value, sizeof(p->fixed[1].value), "JP");
	snprintf(p->crl_url, sizeof(p->crl_url), "http://ra.example/crl/issuing-ca.crl");
	snprintf(p->ocsp_url, sizeof(p->ocsp_url), "http://ra.example/ocsp");
	snprintf(p->ca_issuers_url, sizeof(p->ca_issuers_url), "http://ra.example/ca/issuing-ca.crt");
	p = &m->p[1];
	snprintf(p->name, sizeof(p->name), "mail");
	p->usage = PROTO_USAGE_EMAIL;
	p->key_types = PROTO_KEY_ALL;
	p->rsa_min_bits = 2048;
	p->max_days = 397;
	p->backdate = 0;
	p->attrs_allowed = 1u << PROTO_ATTR_CN;
	p->attrs_required = 1u << PROTO_ATTR_CN;
	snprintf(p->crl_url, sizeof(p->crl_url), "http://x/c");
}

#define N_SAMPLES 13

/* One valid body of every kind, built with the encoders. */
typedef struct sample {
	const char *name;
	decoder dec;
	ik_buf body;
} sample;

static void build_samples(sample *s, size_t *n)
{
	proto_hello h = { .version_min = 1, .version_max = 3, .peer = "inkan-rad" };
	proto_hello_reply hr = { .version = 1, .peer = "inkan-signerd" };
	proto_issue is;
	proto_issue_reply ir = { .cert = g_cert, .cert_len = sizeof(g_cert), .replayed = 1 };
	proto_revoke rv = { .reason = 1, .when = 1700000123u };
	proto_revoke_reply rr = { .when = 1700000123u, .state = PROTO_STATE_REVOKED };
	proto_chain_reply ch = { .n = 2, .cert = { g_cert, g_spki },
		.cert_len = { sizeof(g_cert), sizeof(g_spki) } };
	proto_crl_reply cr = { .crl_number = 42, .this_update = 1700000000u,
		.next_update = 1700086400u, .crl = g_cert, .crl_len = sizeof(g_cert) };
	proto_status_reply st = { .hsm_ok = 1, .issued = 10, .revoked = 2, .held = 1,
		.crl_number = 42, .uptime = 3600 };
	proto_error er = { .status = IK_ERR_POLICY_VALIDITY, .detail = "validity too long: 800 days > 397" };
	proto_ocsp oc;
	proto_ocsp_reply orp = { .status = PROTO_OCSP_SUCCESSFUL, .this_update = 1700000000u,
		.next_update = 1700003600u, .response = g_cert, .response_len = sizeof(g_cert) };
	static proto_profiles_reply pr;
	size_t k = 0;

	sample_issue(&is);
	memcpy(ir.serial, g_serial, sizeof(g_serial));
	ir.serial_len = sizeof(g_serial);
	memcpy(rv.serial, g_serial, sizeof(g_serial));
	rv.serial_len = sizeof(g_serial);
	sample_ocsp(&oc);
	sample_profiles(&pr);
	for (size_t i = 0; i < N_SAMPLES; i++)
		ik_buf_init(&s[i].body, 0);
#define ADD(nm, d, enc, msg)                                       \
	do {                                                       \
		s[k].name = nm;                                    \
		s[k].dec = d;                                      \
		assert_int_equal(enc(&s[k].body, msg), IK_OK);     \
		k++;                                               \
	} while (0)
	ADD("hello", d_hello, proto_encode_hello, &h);
	ADD("hello-reply", d_hello_reply, proto_encode_hello_reply, &hr);
	ADD("issue", d_issue, proto_encode_issue, &is);
	ADD("issue-reply", d_issue_reply, proto_encode_issue_reply, &ir);
	ADD("revoke", d_revoke, proto_encode_revoke, &rv);
	ADD("revoke-reply", d_revoke_reply, proto_encode_revoke_reply, &rr);
	ADD("chain-reply", d_chain_reply, proto_encode_chain_reply, &ch);
	ADD("crl-reply", d_crl_reply, proto_encode_crl_reply, &cr);
	ADD("status-reply", d_status_reply, proto_encode_status_reply, &st);
	ADD("error", d_error, proto_encode_error, &er);
	ADD("ocsp", d_ocsp, proto_encode_ocsp, &oc);
	ADD("ocsp-reply", d_ocsp_reply, proto_encode_ocsp_reply, &orp);
	ADD("profiles-reply", d_profiles_reply, proto_encode_profiles_reply, &pr);
#undef ADD
	*n = k;
}

static void free_samples(sample *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		ik_buf_cleanup(&s[i].body);
}

/* ---- header ---- */

static void test_header_encode_bytes(void **state)
{
	static const uint8_t want[PROTO_HDR_LEN] = { 0x00, 0x01, 0x80, 0x02, 0x01, 0x02, 0x03,
		0x04, 0xa0, 0xb0, 0xc0, 0xd0, 0x00, 0x00, 0x00, 0x00 };
	proto_header h = { .version = 1, .type = PROTO_ISSUE | PROTO_REPLY, .len = 0x01020304u,
		.id = 0xa0b0c0d0u, .flags = 0 }, d;
	uint8_t out[PROTO_HDR_LEN];

	(void)state;
	proto_header_encode(out, &h);
	assert_memory_equal(out, want, sizeof(want));
	assert_int_equal(proto_header_decode(out, PROTO_MAX_REPLY, &d), IK_OK);
	assert_int_equal(d.version, 1);
	assert_int_equal(d.type, PROTO_ISSUE | PROTO_REPLY);
	assert_int_equal(d.len, 0x01020304u);
	assert_int_equal(d.id, 0xa0b0c0d0u);
	assert_int_equal(d.flags, 0);
}

static void mkhdr(uint8_t out[PROTO_HDR_LEN], uint16_t version, uint16_t type, uint32_t len,
    uint32_t id, uint32_t flags)
{
	proto_header h = { .version = version, .type = type, .len = len, .id = id, .flags = flags };

	proto_header_encode(out, &h);
}

static void test_header_refusals(void **state)
{
	uint8_t hdr[PROTO_HDR_LEN];
	proto_header h;

	(void)state;
	/* version: 0, 2 and 0xffff are refused, and the id is still decoded for the reply */
	static const uint16_t bad_versions[] = { 0, 2, 0x0100, 0xffff };
	for (size_t i = 0; i < ARRAY_LEN(bad_versions); i++) {
		mkhdr(hdr, bad_versions[i], PROTO_HELLO, 10, 77, 0);
		memset(&h, 0, sizeof(h));
		assert_int_equal(proto_header_decode(hdr, PROTO_MAX_REQUEST, &h), IK_ERR_PROTO_VERSION);
		assert_int_equal(h.id, 77);
		assert_int_equal(h.version, bad_versions[i]);
	}
	/* flags are reserved: any bit is FIELD */
	mkhdr(hdr, 1, PROTO_HELLO, 10, 78, 1);
	assert_int_equal(proto_header_decode(hdr, PROTO_MAX_REQUEST, &h), IK_ERR_PROTO_FIELD);
	assert_int_equal(h.id, 78);
	mkhdr(hdr, 1, PROTO_HELLO, 10, 78, 0x80000000u);
	assert_int_equal(proto_header_decode(hdr, PROTO_MAX_REQUEST, &h), IK_ERR_PROTO_FIELD);
	/* length: exactly the limit is fine, one more is OVERSIZE */
	mkhdr(hdr, 1, PROTO_ISSUE, PROTO_MAX_REQUEST, 79, 0);
	assert_int_equal(proto_header_decode(hdr, PROTO_MAX_REQUEST, &h), IK_OK);
	mkhdr(hdr, 1, PROTO_ISSUE, PROTO_MAX_REQUEST + 1, 79, 0);
	assert_int_equal(proto_header_decode(hdr, PROTO_MAX_REQUEST, &h), IK_ERR_PROTO_OVERSIZE);
	assert_int_equal(h.id, 79);
	assert_int_equal(h.len, PROTO_MAX_REQUEST + 1);
	mkhdr(hdr, 1, PROTO_ISSUE, UINT32_MAX, 79, 0);
	assert_int_equal(proto_header_decode(hdr, PROTO_MAX_REQUEST, &h), IK_ERR_PROTO_OVERSIZE);
	/* the reply limit is the RA's */
	mkhdr(hdr, 1, PROTO_GET_CRL | PROTO_REPLY, PROTO_MAX_REPLY, 80, 0);
	assert_int_equal(proto_header_decode(hdr, PROTO_MAX_REPLY, &h), IK_OK);
	mkhdr(hdr, 1, PROTO_GET_CRL | PROTO_REPLY, PROTO_MAX_REPLY + 1, 80, 0);
	assert_int_equal(proto_header_decode(hdr, PROTO_MAX_REPLY, &h), IK_ERR_PROTO_OVERSIZE);
	/* checked in this order: version, flags, length */
	mkhdr(hdr, 2, PROTO_HELLO, UINT32_MAX, 81, 1);
	assert_int_equal(proto_header_decode(hdr, PROTO_MAX_REQUEST, &h), IK_ERR_PROTO_VERSION);
	mkhdr(hdr, 1, PROTO_HELLO, UINT32_MAX, 81, 1);
	assert_int_equal(proto_header_decode(hdr, PROTO_MAX_REQUEST, &h), IK_ERR_PROTO_FIELD);
	/* the type is the dispatcher's business: the header decoder passes any value through */
	mkhdr(hdr, 1, 0x1234, 0, 82, 0);
	assert_int_equal(proto_header_decode(hdr, PROTO_MAX_REQUEST, &h), IK_OK);
	assert_int_equal(h.type, 0x1234);
}

static void test_type_names(void **state)
{
	(void)state;
	assert_string_equal(proto_type_name(PROTO_HELLO), "hello");
	assert_string_equal(proto_type_name(PROTO_ISSUE), "issue");
	assert_string_equal(proto_type_name(PROTO_REVOKE), "revoke");
	assert_string_equal(proto_type_name(PROTO_HOLD), "hold");
	assert_string_equal(proto_type_name(PROTO_RELEASE), "release");
	assert_string_equal(proto_type_name(PROTO_GET_CHAIN), "get-chain");
	assert_string_equal(proto_type_name(PROTO_GET_CRL), "get-crl");
	assert_string_equal(proto_type_name(PROTO_STATUS), "status");
	assert_string_equal(proto_type_name(PROTO_STATUS | PROTO_REPLY), "status");
	assert_string_equal(proto_type_name(PROTO_OCSP), "ocsp");
	assert_string_equal(proto_type_name(PROTO_OCSP | PROTO_REPLY), "ocsp");
	assert_string_equal(proto_type_name(PROTO_PROFILES), "profiles");
	assert_string_equal(proto_type_name(PROTO_PROFILES | PROTO_REPLY), "profiles");
	assert_string_equal(proto_type_name(PROTO_ERROR), "error");
	assert_string_equal(proto_type_name(0), "unknown");
	assert_string_equal(proto_type_name(PROTO_TYPE_MAX + 1), "unknown");
	assert_string_equal(proto_type_name(0x7fff), "unknown");
}

/* ---- round trips ---- */

/* The HELLO the RA sends, byte for byte (the example in signer/PROTOCOL.md). */
static void test_hello_bytes(void **state)
{
	static const uint8_t want[] = {
		0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01,
		0x00, 0x00, 0x00, 0x09, 'i', 'n', 'k', 'a', 'n', '-', 'r', 'a', 'd',
	};
	proto_hello m = { .version_min = 1, .version_max = 1, .peer = "inkan-rad" }, d;
	ik_buf b;

	(void)state;
	ik_buf_init(&b, 0);
	assert_int_equal(proto_encode_hello(&b, &m), IK_OK);
	assert_int_equal(ik_buf_remaining(&b), sizeof(want));
	assert_memory_equal(ik_buf_ptr(&b), want, sizeof(want));
	assert_int_equal(proto_decode_hello(want, sizeof(want), &d), IK_OK);
	assert_int_equal(d.version_min, 1);
	assert_int_equal(d.version_max, 1);
	assert_string_equal(d.peer, "inkan-rad");
	ik_buf_cleanup(&b);
}

static void test_roundtrip_hello(void **state)
{
	proto_hello m = { .version_min = 1, .version_max = 0xffffffffu }, d;
	proto_hello_reply r = { .version = 1, .peer = "inkan-signerd" }, dr;
	ik_buf b;

	(void)state;
	/* a peer name of exactly 32 characters, the whole alphabet */
	snprintf(m.peer, sizeof(m.peer), "abcdefghijklmnopqrstuvwxyz0189_-");
	assert_int_equal(strlen(m.peer), PROTO_MAX_NAME);
	ik_buf_init(&b, 0);
	assert_int_equal(proto_encode_hello(&b, &m), IK_OK);
	assert_int_equal(ik_buf_remaining(&b), 4 + 4 + 4 + PROTO_MAX_NAME);
	assert_int_equal(proto_decode_hello(ik_buf_ptr(&b), ik_buf_remaining(&b), &d), IK_OK);
	assert_int_equal(d.version_min, 1);
	assert_int_equal(d.version_max, 0xffffffffu);
	assert_string_equal(d.peer, m.peer);
	ik_buf_reset(&b);
	assert_int_equal(proto_encode_hello_reply(&b, &r), IK_OK);
	assert_int_equal(proto_decode_hello_reply(ik_buf_ptr(&b), ik_buf_remaining(&b), &dr), IK_OK);
	assert_int_equal(dr.version, 1);
	assert_string_equal(dr.peer, "inkan-signerd");
	ik_buf_cleanup(&b);
}

static void test_roundtrip_issue(void **state)
{
	proto_issue m, d;
	ik_buf b;

	(void)state;
	ik_buf_init(&b, PROTO_MAX_REQUEST);
	sample_issue(&m);
	m.flags = PROTO_ISSUE_F_CA | 0x80000000u; /* flags are policy, not syntax: carried as is */
	assert_int_equal(proto_encode_issue(&b, &m), IK_OK);
	assert_int_equal(proto_decode_issue(ik_buf_ptr(&b), ik_buf_remaining(&b), &d), IK_OK);
	assert_issue_equal(&m, &d);
	/* the key is borrowed from the frame, not copied */
	assert_true(d.spki > ik_buf_ptr(&b) && d.spki < ik_buf_ptr(&b) + ik_buf_remaining(&b));

	/* no attributes, every limit at its maximum */
	ik_buf_reset(&b);
	memset(&m, 0, sizeof(m));
	memset(m.request_id, 'Z', PROTO_MAX_ID);
	memset(m.profile, 'z', PROTO_MAX_NAME);
	uint8_t *spki = test_malloc(PROTO_MAX_SPKI);
	memset(spki, 0x5a, PROTO_MAX_SPKI);
	m.spki = spki;
	m.spki_len = PROTO_MAX_SPKI;
	m.nattrs = 0;
	m.not_after = UINT64_MAX;
	assert_int_equal(proto_encode_issue(&b, &m), IK_OK);
	assert_int_equal(proto_decode_issue(ik_buf_ptr(&b), ik_buf_remaining(&b), &d), IK_OK);
	assert_issue_equal(&m, &d);

	/* eight attributes of 128 bytes, every type */
	ik_buf_reset(&b);
	m.nattrs = PROTO_MAX_ATTRS;
	for (uint8_t i = 0; i < PROTO_MAX_ATTRS; i++) {
		m.attrs[i].type = (uint8_t)(i % PROTO_ATTR_MAX + 1);
		memset(m.attrs[i].value, 'a' + i, PROTO_MAX_ATTR_LEN);
		m.attrs[i].value[PROTO_MAX_ATTR_LEN] = '\0';
	}
	assert_int_equal(proto_encode_issue(&b, &m), IK_OK);
	assert_int_equal(proto_decode_issue(ik_buf_ptr(&b), ik_buf_remaining(&b), &d), IK_OK);
	assert_issue_equal(&m, &d);
	assert_true(ik_buf_remaining(&b) <= PROTO_MAX_REQUEST); /* the largest ISSUE fits a frame */
	test_free(spki);
	ik_buf_cleanup(&b);
}

static void test_roundtrip_replies(void **state)
{
	proto_issue_reply ir = { .cert = g_cert, .cert_len = sizeof(g_cert), .replayed = 0 }, dir;
	proto_revoke rv = { .reason = 10, .when = 0 }, drv;
	proto_revoke_reply rr = { .when = UINT64_MAX, .state = PROTO_STATE_HELD }, drr;
	proto_chain_reply ch, dch;
	proto_crl_reply cr = { .crl_number = UINT64_MAX, .this_update = 1, .next_update = 2,
		.crl = g_cert, .crl_len = 1 }, dcr;
	proto_status_reply st = { .hsm_ok = 0, .issued = UINT64_MAX, .revoked = 1, .held = 2,
		.crl_number = 3, .uptime = 4 }, dst;
	proto_error er = { .status = IK_ERR_PROTO_OVERSIZE }, der;
	ik_buf b;

	(void)state;
	ik_buf_init(&b, 0);

	memset(ir.serial, 0x7f, PROTO_MAX_SERIAL);
	ir.serial_len = PROTO_MAX_SERIAL;
	assert_int_equal(proto_encode_issue_reply(&b, &ir), IK_OK);
	assert_int_equal(proto_decode_issue_reply(ik_buf_ptr(&b), ik_buf_remaining(&b), &dir), IK_OK);
	assert_int_equal(dir.serial_len, PROTO_MAX_SERIAL);
	assert_memory_equal(dir.serial, ir.serial, PROTO_MAX_SERIAL);
	assert_int_equal(dir.cert_len, sizeof(g_cert));
	assert_memory_equal(dir.cert, g_cert, sizeof(g_cert));
	assert_int_equal(dir.replayed, 0);

	/* a one-byte serial is the shortest */
	ik_buf_reset(&b);
	rv.serial[0] = 0x01;
	rv.serial_len = 1;
	assert_int_equal(proto_encode_revoke(&b, &rv), IK_OK);
	assert_int_equal(ik_buf_remaining(&b), 4 + 1 + 1 + 8);
	assert_int_equal(proto_decode_revoke(ik_buf_ptr(&b), ik_buf_remaining(&b), &drv), IK_OK);
	assert_int_equal(drv.serial_len, 1);
	assert_int_equal(drv.serial[0], 0x01);
	assert_int_equal(drv.reason, 10);
	assert_true(drv.when == 0);

	ik_buf_reset(&b);
	assert_int_equal(proto_encode_revoke_reply(&b, &rr), IK_OK);
	assert_int_equal(ik_buf_remaining(&b), 9);
	assert_int_equal(proto_decode_revoke_reply(ik_buf_ptr(&b), ik_buf_remaining(&b), &drr), IK_OK);
	assert_true(drr.when == UINT64_MAX);
	assert_int_equal(drr.state, PROTO_STATE_HELD);

	/* a chain of the maximum length */
	ik_buf_reset(&b);
	memset(&ch, 0, sizeof(ch));
	ch.n = PROTO_MAX_CHAIN;
	for (size_t i = 0; i < PROTO_MAX_CHAIN; i++) {
		ch.cert[i] = g_cert + i;
		ch.cert_len[i] = sizeof(g_cert) - i;
	}
	assert_int_equal(proto_encode_chain_reply(&b, &ch), IK_OK);
	assert_int_equal(proto_decode_chain_reply(ik_buf_ptr(&b), ik_buf_remaining(&b), &dch), IK_OK);
	assert_int_equal(dch.n, PROTO_MAX_CHAIN);
	for (size_t i = 0; i < PROTO_MAX_CHAIN; i++) {
		assert_int_equal(dch.cert_len[i], ch.cert_len[i]);
		assert_memory_equal(dch.cert[i], ch.cert[i], ch.cert_len[i]);
	}

	ik_buf_reset(&b);
	assert_int_equal(proto_encode_crl_reply(&b, &cr), IK_OK);
	assert_int_equal(proto_decode_crl_reply(ik_buf_ptr(&b), ik_buf_remaining(&b), &dcr), IK_OK);
	assert_true(dcr.crl_number == UINT64_MAX);
	assert_true(dcr.this_update == 1 && dcr.next_update == 2);
	assert_int_equal(dcr.crl_len, 1);
	assert_int_equal(dcr.crl[0], g_cert[0]);

	ik_buf_reset(&b);
	assert_int_equal(proto_encode_status_reply(&b, &st), IK_OK);
	assert_int_equal(ik_buf_remaining(&b), 1 + 5 * 8);
	assert_int_equal(proto_decode_status_reply(ik_buf_ptr(&b), ik_buf_remaining(&b), &dst), IK_OK);
	assert_int_equal(dst.hsm_ok, 0);
	assert_true(dst.issued == UINT64_MAX && dst.revoked == 1 && dst.held == 2);
	assert_true(dst.crl_number == 3 && dst.uptime == 4);

	/* an error with an empty detail, and one with 256 printable characters */
	ik_buf_reset(&b);
	assert_int_equal(proto_encode_error(&b, &er), IK_OK);
	assert_int_equal(ik_buf_remaining(&b), 8);
	assert_int_equal(proto_decode_error(ik_buf_ptr(&b), ik_buf_remaining(&b), &der), IK_OK);
	assert_int_equal(der.status, IK_ERR_PROTO_OVERSIZE);
	assert_string_equal(der.detail, "");
	ik_buf_reset(&b);
	for (size_t i = 0; i < PROTO_MAX_DETAIL; i++)
		er.detail[i] = (char)(0x20 + i % 95);
	er.detail[PROTO_MAX_DETAIL] = '\0';
	assert_int_equal(proto_encode_error(&b, &er), IK_OK);
	assert_int_equal(proto_decode_error(ik_buf_ptr(&b), ik_buf_remaining(&b), &der), IK_OK);
	assert_string_equal(der.detail, er.detail);

	/* the empty-bodied requests */
	assert_int_equal(proto_decode_empty(NULL, 0), IK_OK);
	assert_int_equal(proto_decode_empty(g_cert, 1), IK_ERR_PROTO_TRAILING);
	ik_buf_cleanup(&b);
}

/* ---- generic refusals over every message kind ---- */

/* Every strict prefix of a valid body is TRUNCATED; one byte more is TRAILING; and each
 * decoder refuses the empty body. */
static void test_truncated_and_trailing(void **state)
{
	sample s[N_SAMPLES];
	size_t n;

	(void)state;
	build_samples(s, &n);
	for (size_t i = 0; i < n; i++) {
		const size_t len = ik_buf_remaining(&s[i].body);
		uint8_t *copy = test_malloc(len + 1);

		memcpy(copy, ik_buf_ptr(&s[i].body), len);
		copy[len] = 0;
		assert_int_equal(s[i].dec(copy, len), IK_OK);
		for (size_t k = 0; k < len; k++) {
			ik_status st = s[i].dec(copy, k);
			if (st != IK_ERR_PROTO_TRUNCATED)
				fail_msg("%s: prefix of %zu/%zu bytes gave %s", s[i].name, k, len,
				    ik_status_code(st));
		}
		assert_int_equal(s[i].dec(copy, len + 1), IK_ERR_PROTO_TRAILING);
		assert_int_equal(s[i].dec(NULL, 0), IK_ERR_PROTO_TRUNCATED);
		test_free(copy);
	}
	free_samples(s, n);
}

/* ---- field limits, one over, zero where forbidden ---- */

static void test_issue_field_limits(void **state)
{
	ik_buf b;
	issue_spec s;

	(void)state;
	ik_buf_init(&b, 0);
	s = good_spec();
	raw_issue(&b, &s);
	assert_int_equal(dec_issue(&b), IK_OK);

	/* request id: 64 ok, 65 over, 0 forbidden */
	s = good_spec(); s.idn = PROTO_MAX_ID; raw_issue(&b, &s);
	assert_int_equal(dec_issue(&b), IK_OK);
	s.idn = PROTO_MAX_ID + 1; raw_issue(&b, &s);
	assert_int_equal(dec_issue(&b), IK_ERR_PROTO_FIELD);
	s.idn = 0; raw_issue(&b, &s);
	assert_int_equal(dec_issue(&b), IK_ERR_PROTO_FIELD);

	/* profile: 32 ok, 33 over, 0 forbidden */
	s = good_spec(); s.pn = PROTO_MAX_NAME; raw_issue(&b, &s);
	assert_int_equal(dec_issue(&b), IK_OK);
	s.pn = PROTO_MAX_NAME + 1; raw_issue(&b, &s);
	assert_int_equal(dec_issue(&b), IK_ERR_PROTO_FIELD);
	s.pn = 0; raw_issue(&b, &s);
	assert_int_equal(dec_issue(&b), IK_ERR_PROTO_FIELD);

	/* SPKI: 2048 ok, 2049 over, 0 forbidden */
	s = good_spec(); s.spki_len = PROTO_MAX_SPKI; raw_issue(&b, &s);
	assert_int_equal(dec_issue(&b), IK_OK);
	s.spki_len = PROTO_MAX_SPKI + 1; raw_issue(&b, &s);
	assert_int_equal(dec_issue(&b), IK_ERR_PROTO_FIELD);
	s.spki_len = 0; raw_issue(&b, &s);
	assert_int_equal(dec_issue(&b), IK_ERR_PROTO_FIELD);

	/* attribute count: 0 and 8 ok, 9 over (refused before the attributes are read) */
	s = good_spec(); s.nattrs = 0; raw_issue(&b, &s);
	assert_int_equal(dec_issue(&b), IK_OK);
	s.nattrs = PROTO_MAX_ATTRS; raw_issue(&b, &s);
	assert_int_equal(dec_issue(&b), IK_OK);
	s.nattrs = PROTO_MAX_ATTRS + 1; raw_issue(&b, &s);
	assert_int_equal(dec_issue(&b), IK_ERR_PROTO_FIELD);
	s.nattrs = 255; raw_issue(&b, &s);
	assert_int_equal(dec_issue(&b), IK_ERR_PROTO_FIELD);

	/* attribute value: 128 ok, 129 over, 0 forbidden */
	s = good_spec(); s.attr_len = PROTO_MAX_ATTR_LEN; raw_issue(&b, &s);
	assert_int_equal(dec_issue(&b), IK_OK);
	s.attr_len = PROTO_MAX_ATTR_LEN + 1; raw_issue(&b, &s);
	assert_int_equal(dec_issue(&b), IK_ERR_PROTO_FIELD);
	s.attr_len = 0; raw_issue(&b, &s);
	assert_int_equal(dec_issue(&b), IK_ERR_PROTO_FIELD);

	/* attribute type: 1..7 ok, 0 and 8 not */
	for (unsigned t = 0; t <= 255; t++) {
		s = good_spec();
		s.attr_type = (uint8_t)t;
		raw_issue(&b, &s);
		assert_int_equal(dec_issue(&b), t >= 1 && t <= PROTO_ATTR_MAX ? IK_OK : IK_ERR_PROTO_FIELD);
	}

	/* a length prefix far beyond the frame is FIELD (over the limit), not a huge read */
	ik_buf_reset(&b);
	assert_int_equal(ik_buf_put_u32(&b, 0xffffffffu), IK_OK);
	assert_int_equal(dec_issue(&b), IK_ERR_PROTO_FIELD);
	/* within the limit but past the end is TRUNCATED */
	ik_buf_reset(&b);
	assert_int_equal(ik_buf_put_u32(&b, 10), IK_OK);
	assert_int_equal(ik_buf_put(&b, "abc", 3), IK_OK);
	assert_int_equal(dec_issue(&b), IK_ERR_PROTO_TRUNCATED);
	ik_buf_cleanup(&b);
}

static void test_issue_character_sets(void **state)
{
	static const char *const good_ids[] = { "a", "Z", "0", "req.1", "a_b", "x:y", "-",
		"ABCxyz019._:-" };
	static const char *const bad_ids[] = { " ", "a b", "a/b", "a\\b", "a@b", "a\nb", "\x80",
		"\xc3\xa9", "a\tb", "a+b", "a=b" };
	static const char *const good_names[] = { "a", "client", "client-2y", "x_1", "0-9" };
	static const char *const bad_names[] = { "Client", "a.b", "a:b", "a b", "\xc3\xa9", "a/b",
		"A" };
	/* attribute values: UTF-8 without controls */
	static const struct {
		const char *v;
		size_t n;
		ik_status want;
	} values[] = {
		{ "alice", 5, IK_OK },
		{ "\xe7\x94\xb0\xe4\xb8\xad", 6, IK_OK },     /* 田中 */
		{ "\xc2\xa0", 2, IK_OK },                     /* U+00A0, first after C1 */
		{ "\xdf\xbf", 2, IK_OK },                     /* U+07FF */
		{ "\xe0\xa0\x80", 3, IK_OK },                 /* U+0800 */
		{ "\xef\xbf\xbd", 3, IK_OK },                 /* U+FFFD */
		{ "\xf0\x90\x80\x80", 4, IK_OK },             /* U+10000 */
		{ "\xf4\x8f\xbf\xbf", 4, IK_OK },             /* U+10FFFF */
		{ "~ !\"#", 5, IK_OK },
		{ "a\0b", 3, IK_ERR_PROTO_FIELD },            /* NUL */
		{ "a\x01", 2, IK_ERR_PROTO_FIELD },           /* C0 */
		{ "a\n", 2, IK_ERR_PROTO_FIELD },
		{ "\x1f", 1, IK_ERR_PROTO_FIELD },
		{ "\x7f", 1, IK_ERR_PROTO_FIELD },            /* DEL */
		{ "\xc2\x80", 2, IK_ERR_PROTO_FIELD },        /* C1 U+0080 */
		{ "\xc2\x9f", 2, IK_ERR_PROTO_FIELD },        /* C1 U+009F */
		{ "\xc0\x80", 2, IK_ERR_PROTO_FIELD },        /* overlong NUL */
		{ "\xc1\xbf", 2, IK_ERR_PROTO_FIELD },        /* overlong */
		{ "\xe0\x9f\xbf", 3, IK_ERR_PROTO_FIELD },    /* overlong U+07FF */
		{ "\xf0\x8f\xbf\xbf", 4, IK_ERR_PROTO_FIELD }, /* overlong U+FFFF */
		{ "\xed\xa0\x80", 3, IK_ERR_PROTO_FIELD },    /* surrogate U+D800 */
		{ "\xed\xbf\xbf", 3, IK_ERR_PROTO_FIELD },    /* surrogate U+DFFF */
		{ "\xf4\x90\x80\x80", 4, IK_ERR_PROTO_FIELD }, /* U+110000 */
		{ "\xf5\x80\x80\x80", 4, IK_ERR_PROTO_FIELD },
		{ "\xff", 1, IK_ERR_PROTO_FIELD },
		{ "\x80", 1, IK_ERR_PROTO_FIELD },            /* lone continuation */
		{ "\xe7\x94", 2, IK_ERR_PROTO_FIELD },        /* cut sequence */
		{ "a\xe7", 2, IK_ERR_PROTO_FIELD },
		{ "\xe7\x94\x41", 3, IK_ERR_PROTO_FIELD },    /* bad continuation */
	};
	ik_buf b;
	issue_spec s;

	(void)state;
	ik_buf_init(&b, 0);
	for (size_t i = 0; i < ARRAY_LEN(good_ids); i++) {
		s = good_spec(); s.id = good_ids[i]; s.idn = strlen(good_ids[i]); raw_issue(&b, &s);
		assert_int_equal(dec_issue(&b), IK_OK);
	}
	for (size_t i = 0; i < ARRAY_LEN(bad_ids); i++) {
		s = good_spec(); s.id = bad_ids[i]; s.idn = strlen(bad_ids[i]); raw_issue(&b, &s);
		assert_int_equal(dec_issue(&b), IK_ERR_PROTO_FIELD);
	}
	s = good_spec(); s.id = "ab\0cd"; s.idn = 5; raw_issue(&b, &s); /* embedded NUL */
	assert_int_equal(dec_issue(&b), IK_ERR_PROTO_FIELD);
	for (size_t i = 0; i < ARRAY_LEN(good_names); i++) {
		s = good_spec(); s.profile = good_names[i]; s.pn = strlen(good_names[i]); raw_issue(&b, &s);
		assert_int_equal(dec_issue(&b), IK_OK);
	}
	for (size_t i = 0; i < ARRAY_LEN(bad_names); i++) {
		s = good_spec(); s.profile = bad_names[i]; s.pn = strlen(bad_names[i]); raw_issue(&b, &s);
		assert_int_equal(dec_issue(&b), IK_ERR_PROTO_FIELD);
	}
	for (size_t i = 0; i < ARRAY_LEN(values); i++) {
		s = good_spec();
		s.attr = values[i].v;
		s.attr_len = values[i].n;
		raw_issue(&b, &s);
		if (dec_issue(&b) != values[i].want)
			fail_msg("attribute value #%zu: want %s, got %s", i,
			    ik_status_code(values[i].want), ik_status_code(dec_issue(&b)));
	}
	ik_buf_cleanup(&b);
}

static void test_hello_refusals(void **state)
{
	ik_buf b;
	proto_hello h;
	proto_hello_reply r;

	(void)state;
	ik_buf_init(&b, 0);
#define HELLO(vmin, vmax, fillc, n)                                   \
	do {                                                          \
		ik_buf_reset(&b);                                     \
		assert_int_equal(ik_buf_put_u32(&b, vmin), IK_OK);    \
		assert_int_equal(ik_buf_put_u32(&b, vmax), IK_OK);    \
		put_fill(&b, fillc, n);                               \
	} while (0)
#define DEC() proto_decode_hello(ik_buf_ptr(&b), ik_buf_remaining(&b), &h)
	HELLO(1, 1, 'a', PROTO_MAX_NAME);
	assert_int_equal(DEC(), IK_OK);
	HELLO(1, 1, 'a', PROTO_MAX_NAME + 1);
	assert_int_equal(DEC(), IK_ERR_PROTO_FIELD);
	HELLO(1, 1, 'a', 0);
	assert_int_equal(DEC(), IK_ERR_PROTO_FIELD);
	HELLO(1, 1, 'A', 3);
	assert_int_equal(DEC(), IK_ERR_PROTO_FIELD);
	HELLO(2, 1, 'a', 3); /* an empty version range */
	assert_int_equal(DEC(), IK_ERR_PROTO_FIELD);
	HELLO(0, 0, 'a', 3); /* syntactically fine; the signer refuses the range itself */
	assert_int_equal(DEC(), IK_OK);
#undef DEC
#undef HELLO
	/* the reply: same name rules */
#define REPLY(fillc, n)                                                \
	do {                                                           \
		ik_buf_reset(&b);                                      \
		assert_int_equal(ik_buf_put_u32(&b, 1), IK_OK);        \
		put_fill(&b, fillc, n);                                \
	} while (0)
#define DEC() proto_decode_hello_reply(ik_buf_ptr(&b), ik_buf_remaining(&b), &r)
	REPLY('s', PROTO_MAX_NAME);
	assert_int_equal(DEC(), IK_OK);
	REPLY('s', PROTO_MAX_NAME + 1);
	assert_int_equal(DEC(), IK_ERR_PROTO_FIELD);
	REPLY('s', 0);
	assert_int_equal(DEC(), IK_ERR_PROTO_FIELD);
	REPLY('.', 1);
	assert_int_equal(DEC(), IK_ERR_PROTO_FIELD);
#undef DEC
#undef REPLY
	ik_buf_cleanup(&b);
}

static void test_serial_limits(void **state)
{
	uint8_t serial[PROTO_MAX_SERIAL + 1];
	proto_revoke rv;
	proto_issue_reply ir;
	ik_buf b;

	(void)state;
	memset(serial, 0x42, sizeof(serial));
	ik_buf_init(&b, 0);
	static const struct {
		size_t n;
		ik_status want;
	} cases[] = {
		{ 0, IK_ERR_PROTO_FIELD },
		{ 1, IK_OK },
		{ PROTO_MAX_SERIAL, IK_OK },
		{ PROTO_MAX_SERIAL + 1, IK_ERR_PROTO_FIELD },
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		/* REVOKE / HOLD / RELEASE */
		ik_buf_reset(&b);
		put_bytes(&b, serial, cases[i].n);
		assert_int_equal(ik_buf_put_u8(&b, 0), IK_OK);
		assert_int_equal(ik_buf_put_u64(&b, 0), IK_OK);
		assert_int_equal(proto_decode_revoke(ik_buf_ptr(&b), ik_buf_remaining(&b), &rv),
		    cases[i].want);
		/* ISSUE reply */
		ik_buf_reset(&b);
		put_bytes(&b, serial, cases[i].n);
		put_bytes(&b, g_cert, sizeof(g_cert));
		assert_int_equal(ik_buf_put_u8(&b, 0), IK_OK);
		assert_int_equal(proto_decode_issue_reply(ik_buf_ptr(&b), ik_buf_remaining(&b), &ir),
		    cases[i].want);
	}
	/* REVOKE carries any reason and any time: the dispatcher judges them */
	ik_buf_reset(&b);
	put_bytes(&b, serial, 3);
	assert_int_equal(ik_buf_put_u8(&b, 255), IK_OK);
	assert_int_equal(ik_buf_put_u64(&b, UINT64_MAX), IK_OK);
	assert_int_equal(proto_decode_revoke(ik_buf_ptr(&b), ik_buf_remaining(&b), &rv), IK_OK);
	assert_int_equal(rv.reason, 255);
	ik_buf_cleanup(&b);
}

static void test_reply_refusals(void **state)
{
	ik_buf b;
	proto_issue_reply ir;
	proto_revoke_reply rr;
	proto_chain_reply ch;
	proto_crl_reply cr;
	proto_status_reply st;

	(void)state;
	ik_buf_init(&b, 0);
	/* ISSUE reply: empty certificate, replayed not 0/1 */
	ik_buf_reset(&b);
	put_bytes(&b, g_serial, 4);
	put_fill(&b, 0, 0);
	assert_int_equal(ik_buf_put_u8(&b, 0), IK_OK);
	assert_int_equal(proto_decode_issue_reply(ik_buf_ptr(&b), ik_buf_remaining(&b), &ir), IK_ERR_PROTO_FIELD);
	for (unsigned rp = 0; rp < 4; rp++) {
		ik_buf_reset(&b);
		put_bytes(&b, g_serial, 4);
		put_bytes(&b, g_cert, sizeof(g_cert));
		assert_int_equal(ik_buf_put_u8(&b, (uint8_t)rp), IK_OK);
		assert_int_equal(proto_decode_issue_reply(ik_buf_ptr(&b), ik_buf_remaining(&b), &ir),
		    rp <= 1 ? IK_OK : IK_ERR_PROTO_FIELD);
	}
	/* REVOKE reply: state 0..2 */
	for (unsigned s = 0; s < 5; s++) {
		ik_buf_reset(&b);
		assert_int_equal(ik_buf_put_u64(&b, 5), IK_OK);
		assert_int_equal(ik_buf_put_u8(&b, (uint8_t)s), IK_OK);
		assert_int_equal(proto_decode_revoke_reply(ik_buf_ptr(&b), ik_buf_remaining(&b), &rr),
		    s <= PROTO_STATE_REVOKED ? IK_OK : IK_ERR_PROTO_FIELD);
	}
	/* chain: count 1..4, each certificate non-empty */
	for (unsigned n = 0; n <= PROTO_MAX_CHAIN + 2; n++) {
		ik_buf_reset(&b);
		assert_int_equal(ik_buf_put_u8(&b, (uint8_t)n), IK_OK);
		for (unsigned i = 0; i < n; i++)
			put_bytes(&b, g_cert, sizeof(g_cert));
		assert_int_equal(proto_decode_chain_reply(ik_buf_ptr(&b), ik_buf_remaining(&b), &ch),
		    n >= 1 && n <= PROTO_MAX_CHAIN ? IK_OK : IK_ERR_PROTO_FIELD);
	}
	ik_buf_reset(&b);
	assert_int_equal(ik_buf_put_u8(&b, 2), IK_OK);
	put_bytes(&b, g_cert, sizeof(g_cert));
	put_fill(&b, 0, 0);
	assert_int_equal(proto_decode_chain_reply(ik_buf_ptr(&b), ik_buf_remaining(&b), &ch), IK_ERR_PROTO_FIELD);
	/* a count of 255 is refused before anything else is read */
	ik_buf_reset(&b);
	assert_int_equal(ik_buf_put_u8(&b, 255), IK_OK);
	assert_int_equal(proto_decode_chain_reply(ik_buf_ptr(&b), ik_buf_remaining(&b), &ch), IK_ERR_PROTO_FIELD);
	/* CRL: empty DER */
	ik_buf_reset(&b);
	assert_int_equal(ik_buf_put_u64(&b, 1), IK_OK);
	assert_int_equal(ik_buf_put_u64(&b, 2), IK_OK);
	assert_int_equal(ik_buf_put_u64(&b, 3), IK_OK);
	put_fill(&b, 0, 0);
	assert_int_equal(proto_decode_crl_reply(ik_buf_ptr(&b), ik_buf_remaining(&b), &cr), IK_ERR_PROTO_FIELD);
	/* STATUS: hsm_ok 0/1 */
	for (unsigned ok = 0; ok < 4; ok++) {
		ik_buf_reset(&b);
		assert_int_equal(ik_buf_put_u8(&b, (uint8_t)ok), IK_OK);
		for (int i = 0; i < 5; i++)
			assert_int_equal(ik_buf_put_u64(&b, 7), IK_OK);
		assert_int_equal(proto_decode_status_reply(ik_buf_ptr(&b), ik_buf_remaining(&b), &st),
		    ok <= 1 ? IK_OK : IK_ERR_PROTO_FIELD);
	}
	ik_buf_cleanup(&b);
}

static void test_error_refusals(void **state)
{
	ik_buf b;
	proto_error e;

	(void)state;
	ik_buf_init(&b, 0);
	ik_buf_reset(&b);
	assert_int_equal(ik_buf_put_u32(&b, IK_ERR_BUSY), IK_OK);
	put_fill(&b, 'x', PROTO_MAX_DETAIL);
	assert_int_equal(proto_decode_error(ik_buf_ptr(&b), ik_buf_remaining(&b), &e), IK_OK);
	assert_int_equal(strlen(e.detail), PROTO_MAX_DETAIL);
	ik_buf_reset(&b);
	assert_int_equal(ik_buf_put_u32(&b, IK_ERR_BUSY), IK_OK);
	put_fill(&b, 'x', PROTO_MAX_DETAIL + 1);
	assert_int_equal(proto_decode_error(ik_buf_ptr(&b), ik_buf_remaining(&b), &e), IK_ERR_PROTO_FIELD);
	/* printable ASCII only */
	static const char bad[] = { '\n', '\t', 0x00, 0x1f, 0x7f, (char)0x80, (char)0xff };
	for (size_t i = 0; i < sizeof(bad); i++) {
		ik_buf_reset(&b);
		assert_int_equal(ik_buf_put_u32(&b, IK_ERR_BUSY), IK_OK);
		put_fill(&b, bad[i], 1);
		assert_int_equal(proto_decode_error(ik_buf_ptr(&b), ik_buf_remaining(&b), &e), IK_ERR_PROTO_FIELD);
	}
	/* any status value is carried (proto_call turns status 0 into a protocol error) */
	ik_buf_reset(&b);
	assert_int_equal(ik_buf_put_u32(&b, 0xdeadbeefu), IK_OK);
	put_fill(&b, 'x', 1);
	assert_int_equal(proto_decode_error(ik_buf_ptr(&b), ik_buf_remaining(&b), &e), IK_OK);
	assert_int_equal(e.status, 0xdeadbeefu);
	ik_buf_cleanup(&b);
}

/* ---- encoders refuse what decoders refuse, and write nothing when they do ---- */

static void test_encoder_refusals(void **state)
{
	ik_buf b;
	proto_hello h = { .version_min = 1, .version_max = 1, .peer = "ra" };
	proto_hello_reply hr = { .version = 1, .peer = "s" };
	proto_issue is;
	proto_issue_reply ir = { .serial = { 1 }, .serial_len = 1, .cert = g_cert,
		.cert_len = sizeof(g_cert) };
	proto_revoke rv = { .serial = { 1 }, .serial_len = 1 };
	proto_revoke_reply rr = { .state = 3 };
	proto_chain_reply ch = { .n = 2, .cert = { g_cert, g_cert }, .cert_len = { 1, 0 } };
	proto_crl_reply cr = { .crl = g_cert, .crl_len = 0 };
	proto_status_reply st = { .hsm_ok = 2 };
	proto_error er = { .status = 5, .detail = "tab\there" };

	(void)state;
	ik_buf_init(&b, 0);
	assert_int_equal(ik_buf_put_u8(&b, 0xee), IK_OK); /* a byte that must stay alone */
#define REFUSED(call)                                      \
	do {                                               \
		assert_int_equal(call, IK_ERR_ARG);        \
		assert_int_equal(b.len, 1);                \
	} while (0)
	h.peer[0] = '\0';
	REFUSED(proto_encode_hello(&b, &h));
	snprintf(h.peer, sizeof(h.peer), "Inkan");
	REFUSED(proto_encode_hello(&b, &h));
	memset(h.peer, 'a', PROTO_MAX_NAME + 1); /* 33 characters fill the array: no room */
	h.peer[PROTO_MAX_NAME] = '\0';
	assert_int_equal(proto_encode_hello(&b, &h), IK_OK); /* 32 is fine */
	b.len = 1;
	snprintf(h.peer, sizeof(h.peer), "ra");
	h.version_min = 2; /* an empty range the decoder would refuse */
	REFUSED(proto_encode_hello(&b, &h));
	hr.peer[0] = '\0';
	REFUSED(proto_encode_hello_reply(&b, &hr));

	sample_issue(&is);
	is.request_id[0] = '\0';
	REFUSED(proto_encode_issue(&b, &is));
	sample_issue(&is);
	snprintf(is.request_id, sizeof(is.request_id), "a b");
	REFUSED(proto_encode_issue(&b, &is));
	sample_issue(&is);
	snprintf(is.profile, sizeof(is.profile), "Client");
	REFUSED(proto_encode_issue(&b, &is));
	sample_issue(&is);
	is.spki_len = 0;
	REFUSED(proto_encode_issue(&b, &is));
	is.spki_len = PROTO_MAX_SPKI + 1; /* refused on the length: the pointer is not read */
	REFUSED(proto_encode_issue(&b, &is));
	sample_issue(&is);
	is.nattrs = PROTO_MAX_ATTRS + 1;
	REFUSED(proto_encode_issue(&b, &is));
	sample_issue(&is);
	is.attrs[2].type = 0;
	REFUSED(proto_encode_issue(&b, &is));
	is.attrs[2].type = PROTO_ATTR_MAX + 1;
	REFUSED(proto_encode_issue(&b, &is));
	sample_issue(&is);
	is.attrs[1].value[0] = '\0';
	REFUSED(proto_encode_issue(&b, &is));
	sample_issue(&is);
	snprintf(is.attrs[1].value, sizeof(is.attrs[1].value), "a\x01");
	REFUSED(proto_encode_issue(&b, &is));
	snprintf(is.attrs[1].value, sizeof(is.attrs[1].value), "\xc0\x80");
	REFUSED(proto_encode_issue(&b, &is));

	ir.serial_len = 0;
	REFUSED(proto_encode_issue_reply(&b, &ir));
	ir.serial_len = PROTO_MAX_SERIAL + 1;
	REFUSED(proto_encode_issue_reply(&b, &ir));
	ir.serial_len = 1;
	ir.cert_len = 0;
	REFUSED(proto_encode_issue_reply(&b, &ir));
	ir.cert_len = (size_t)PROTO_MAX_REPLY + 1; /* more than the decoder takes */
	REFUSED(proto_encode_issue_reply(&b, &ir));
	ir.cert_len = sizeof(g_cert);
	ir.replayed = 2;
	REFUSED(proto_encode_issue_reply(&b, &ir));

	rv.serial_len = 0;
	REFUSED(proto_encode_revoke(&b, &rv));
	rv.serial_len = PROTO_MAX_SERIAL + 1;
	REFUSED(proto_encode_revoke(&b, &rv));
	REFUSED(proto_encode_revoke_reply(&b, &rr));

	REFUSED(proto_encode_chain_reply(&b, &ch)); /* the second certificate is empty */
	ch.n = 0;
	REFUSED(proto_encode_chain_reply(&b, &ch));
	ch.n = PROTO_MAX_CHAIN + 1;
	REFUSED(proto_encode_chain_reply(&b, &ch));
	ch.n = 1;
	ch.cert_len[0] = (size_t)PROTO_MAX_REPLY + 1;
	REFUSED(proto_encode_chain_reply(&b, &ch));

	REFUSED(proto_encode_crl_reply(&b, &cr));
	cr.crl_len = (size_t)PROTO_MAX_REPLY + 1;
	REFUSED(proto_encode_crl_reply(&b, &cr));
	REFUSED(proto_encode_status_reply(&b, &st));
	REFUSED(proto_encode_error(&b, &er));
	snprintf(er.detail, sizeof(er.detail), "caf\xc3\xa9");
	REFUSED(proto_encode_error(&b, &er));
#undef REFUSED
	/* and an encoder on a full buffer reports the buffer's refusal */
	ik_buf_cleanup(&b);
	ik_buf_init(&b, 10);
	sample_issue(&is);
	assert_int_equal(proto_encode_issue(&b, &is), IK_ERR_PROTO_OVERSIZE);
	ik_buf_cleanup(&b);
}

/* ---- OCSP ---- */

/* The bytes of a one-CertID OCSP request and its reply, as signer/PROTOCOL.md shows them. */
static void test_ocsp_bytes(void **state)
{
	proto_ocsp m, d;
	proto_ocsp_reply r = { .status = PROTO_OCSP_UNAUTHORIZED, .response = (const uint8_t *)"\x30\x03\x0a\x01\x06",
		.response_len = 5 }, dr;
	ik_buf b, want;

	(void)state;
	memset(&m, 0, sizeof(m));
	m.n = 1;
	m.ids[0].hash = PROTO_HASH_SHA1;
	memset(m.ids[0].name_hash, 0xaa, 20);
	memset(m.ids[0].key_hash, 0xbb, 20);
	m.ids[0].serial[0] = 0x2a;
	m.ids[0].serial_len = 1;
	ik_buf_init(&b, 0);
	ik_buf_init(&want, 0);
	assert_int_equal(ik_buf_put_u8(&want, 1), IK_OK);          /* n */
	assert_int_equal(ik_buf_put_u8(&want, 1), IK_OK);          /* SHA-1 */
	put_fill(&want, (char)0xaa, 20);
	put_fill(&want, (char)0xbb, 20);
	put_fill(&want, 0x2a, 1);
	put_fill(&want, 0, 0);                                     /* no nonce */
	assert_int_equal(proto_encode_ocsp(&b, &m), IK_OK);
	assert_int_equal(ik_buf_remaining(&b), 1 + 1 + 24 + 24 + 5 + 4);
	assert_memory_equal(ik_buf_ptr(&b), ik_buf_ptr(&want), ik_buf_remaining(&want));
	assert_int_equal(proto_decode_ocsp(ik_buf_ptr(&b), ik_buf_remaining(&b), &d), IK_OK);
	assert_int_equal(d.n, 1);
	assert_int_equal(d.ids[0].hash, PROTO_HASH_SHA1);
	assert_memory_equal(d.ids[0].name_hash, m.ids[0].name_hash, 20);
	assert_memory_equal(d.ids[0].key_hash, m.ids[0].key_hash, 20);
	assert_int_equal(d.ids[0].serial_len, 1);
	assert_int_equal(d.ids[0].serial[0], 0x2a);
	assert_int_equal(d.nonce_len, 0);

	ik_buf_reset(&b);
	ik_buf_reset(&want);
	assert_int_equal(ik_buf_put_u8(&want, 6), IK_OK);
	assert_int_equal(ik_buf_put_u64(&want, 0), IK_OK);
	assert_int_equal(ik_buf_put_u64(&want, 0), IK_OK);
	put_bytes(&want, "\x30\x03\x0a\x01\x06", 5);
	assert_int_equal(proto_encode_ocsp_reply(&b, &r), IK_OK);
	assert_int_equal(ik_buf_remaining(&b), ik_buf_remaining(&want));
	assert_memory_equal(ik_buf_ptr(&b), ik_buf_ptr(&want), ik_buf_remaining(&want));
	assert_int_equal(proto_decode_ocsp_reply(ik_buf_ptr(&b), ik_buf_remaining(&b), &dr), IK_OK);
	assert_int_equal(dr.status, PROTO_OCSP_UNAUTHORIZED);
	assert_int_equal(dr.response_len, 5);
	assert_memory_equal(dr.response, r.response, 5);
	ik_buf_cleanup(&b);
	ik_buf_cleanup(&want);
}

/* Every hash, the most CertIDs, the longest serial and nonce survive a round trip. */
static void test_roundtrip_ocsp(void **state)
{
	proto_ocsp m, d;
	proto_ocsp_reply r = { .status = PROTO_OCSP_SUCCESSFUL, .this_update = 1700000000u,
		.next_update = UINT64_MAX, .response = g_cert, .response_len = sizeof(g_cert) }, dr;
	ik_buf b;

	(void)state;
	assert_int_equal(proto_hash_len(PROTO_HASH_SHA1), 20);
	assert_int_equal(proto_hash_len(PROTO_HASH_SHA256), 32);
	assert_int_equal(proto_hash_len(PROTO_HASH_SHA384), 48);
	assert_int_equal(proto_hash_len(PROTO_HASH_SHA512), 64);
	assert_int_equal(proto_hash_len(0), 0);
	assert_int_equal(proto_hash_len(PROTO_HASH_MAX + 1), 0);
	memset(&m, 0, sizeof(m));
	m.n = PROTO_MAX_OCSP_IDS;
	for (uint8_t i = 0; i < m.n; i++) {
		proto_ocsp_id *id = &m.ids[i];
		id->hash = (uint8_t)(1 + i % PROTO_HASH_MAX);
		for (size_t k = 0; k < proto_hash_len(id->hash); k++) {
			id->name_hash[k] = (uint8_t)(i + k);
			id->key_hash[k] = (uint8_t)(0xff - i - k);
		}
		id->serial_len = 1 + (size_t)i * (PROTO_MAX_SERIAL - 1) / (PROTO_MAX_OCSP_IDS - 1);
		memset(id->serial, 0x70 + i, id->serial_len);
	}
	memset(m.nonce, 0xc3, PROTO_MAX_NONCE);
	m.nonce_len = PROTO_MAX_NONCE;
	ik_buf_init(&b, 0);
	assert_int_equal(proto_encode_ocsp(&b, &m), IK_OK);
	assert_true(ik_buf_remaining(&b) < PROTO_MAX_REQUEST);
	assert_int_equal(proto_decode_ocsp(ik_buf_ptr(&b), ik_buf_remaining(&b), &d), IK_OK);
	assert_int_equal(d.n, m.n);
	assert_int_equal(m.ids[PROTO_MAX_OCSP_IDS - 1].serial_len, PROTO_MAX_SERIAL);
	for (uint8_t i = 0; i < m.n; i++) {
		size_t hl = proto_hash_len(m.ids[i].hash);
		assert_int_equal(d.ids[i].hash, m.ids[i].hash);
		assert_memory_equal(d.ids[i].name_hash, m.ids[i].name_hash, hl);
		assert_memory_equal(d.ids[i].key_hash, m.ids[i].key_hash, hl);
		assert_int_equal(d.ids[i].serial_len, m.ids[i].serial_len);
		assert_memory_equal(d.ids[i].serial, m.ids[i].serial, m.ids[i].serial_len);
	}
	assert_int_equal(d.nonce_len, PROTO_MAX_NONCE);
	assert_memory_equal(d.nonce, m.nonce, PROTO_MAX_NONCE);

	ik_buf_reset(&b);
	assert_int_equal(proto_encode_ocsp_reply(&b, &r), IK_OK);
	assert_int_equal(proto_decode_ocsp_reply(ik_buf_ptr(&b), ik_buf_remaining(&b), &dr), IK_OK);
	assert_int_equal(dr.status, PROTO_OCSP_SUCCESSFUL);
	assert_true(dr.this_update == 1700000000u && dr.next_update == UINT64_MAX);
	assert_int_equal(dr.response_len, sizeof(g_cert));
	assert_memory_equal(dr.response, g_cert, sizeof(g_cert));
	ik_buf_cleanup(&b);
}

/* One OCSP request body built by hand: n CertIDs of hash h with hash fields of hl bytes
 * and serials of sn bytes, then a nonce of nn bytes. */
static void raw_ocsp(ik_buf *b, uint8_t n, uint8_t h, size_t hl, size_t sn, size_t nn)
{
	ik_buf_reset(b);
	assert_int_equal(ik_buf_put_u8(b, n), IK_OK);
	for (uint8_t i = 0; i < n; i++) {
		assert_int_equal(ik_buf_put_u8(b, h), IK_OK);
		put_fill(b, 'n', hl);
		put_fill(b, 'k', hl);
		put_fill(b, 0x01, sn);
	}
	put_fill(b, 'x', nn);
}

static void test_ocsp_refusals(void **state)
{
	proto_ocsp m;
	proto_ocsp_reply r;
	ik_buf b;

	(void)state;
	ik_buf_init(&b, 0);
#define DEC(want) assert_int_equal(proto_decode_ocsp(ik_buf_ptr(&b), ik_buf_remaining(&b), &m), want)
	raw_ocsp(&b, 1, PROTO_HASH_SHA1, 20, 16, 16);
	DEC(IK_OK);
	/* CertID count: 1..8, refused before anything else is read */
	raw_ocsp(&b, 0, PROTO_HASH_SHA1, 20, 16, 0);
	DEC(IK_ERR_PROTO_FIELD);
	raw_ocsp(&b, PROTO_MAX_OCSP_IDS, PROTO_HASH_SHA1, 20, 16, 0);
	DEC(IK_OK);
	raw_ocsp(&b, PROTO_MAX_OCSP_IDS + 1, PROTO_HASH_SHA1, 20, 16, 0);
	DEC(IK_ERR_PROTO_FIELD);
	ik_buf_reset(&b);
	assert_int_equal(ik_buf_put_u8(&b, 255), IK_OK);
	DEC(IK_ERR_PROTO_FIELD);
	/* hash algorithm 1..4 */
	raw_ocsp(&b, 1, 0, 20, 16, 0);
	DEC(IK_ERR_PROTO_FIELD);
	raw_ocsp(&b, 1, PROTO_HASH_MAX + 1, 20, 16, 0);
	DEC(IK_ERR_PROTO_FIELD);
	/* the hash fields are exactly the digest length */
	for (uint8_t h = 1; h <= PROTO_HASH_MAX; h++) {
		size_t hl = proto_hash_len(h);
		raw_ocsp(&b, 1, h, hl, 16, 0);
		DEC(IK_OK);
		raw_ocsp(&b, 1, h, hl - 1, 16, 0);
		DEC(IK_ERR_PROTO_FIELD);
		raw_ocsp(&b, 1, h, hl + 1, 16, 0);
		DEC(IK_ERR_PROTO_FIELD);
		raw_ocsp(&b, 1, h, 0, 16, 0);
		DEC(IK_ERR_PROTO_FIELD);
	}
	/* serial 1..20 */
	raw_ocsp(&b, 1, PROTO_HASH_SHA256, 32, 0, 0);
	DEC(IK_ERR_PROTO_FIELD);
	raw_ocsp(&b, 1, PROTO_HASH_SHA256, 32, PROTO_MAX_SERIAL, 0);
	DEC(IK_OK);
	raw_ocsp(&b, 1, PROTO_HASH_SHA256, 32, PROTO_MAX_SERIAL + 1, 0);
	DEC(IK_ERR_PROTO_FIELD);
	/* nonce 0..32 */
	raw_ocsp(&b, 1, PROTO_HASH_SHA256, 32, 1, PROTO_MAX_NONCE);
	DEC(IK_OK);
	raw_ocsp(&b, 1, PROTO_HASH_SHA256, 32, 1, PROTO_MAX_NONCE + 1);
	DEC(IK_ERR_PROTO_FIELD);
	/* a second CertID announced but missing (the body ends after the first) */
	raw_ocsp(&b, 1, PROTO_HASH_SHA1, 20, 4, 0);
	b.data[0] = 2;
	b.len -= 4;
	DEC(IK_ERR_PROTO_TRUNCATED);
	/* ... or what follows is not one (the nonce's length read as a hash algorithm) */
	b.len += 4;
	DEC(IK_ERR_PROTO_FIELD);
#undef DEC
#define DECR(want) assert_int_equal(proto_decode_ocsp_reply(ik_buf_ptr(&b), ik_buf_remaining(&b), &r), want)
	/* reply: status 0 or 6 only; nextUpdate not before thisUpdate; a response of 1..64 KiB */
	for (unsigned st = 0; st < 10; st++) {
		ik_buf_reset(&b);
		assert_int_equal(ik_buf_put_u8(&b, (uint8_t)st), IK_OK);
		assert_int_equal(ik_buf_put_u64(&b, 10), IK_OK);
		assert_int_equal(ik_buf_put_u64(&b, 10), IK_OK);
		put_fill(&b, 0x30, 5);
		DECR(st == 0 || st == 6 ? IK_OK : IK_ERR_PROTO_FIELD);
	}
	ik_buf_reset(&b);
	assert_int_equal(ik_buf_put_u8(&b, 0), IK_OK);
	assert_int_equal(ik_buf_put_u64(&b, 11), IK_OK);
	assert_int_equal(ik_buf_put_u64(&b, 10), IK_OK);
	put_fill(&b, 0x30, 5);
	DECR(IK_ERR_PROTO_FIELD);
	ik_buf_reset(&b);
	assert_int_equal(ik_buf_put_u8(&b, 0), IK_OK);
	assert_int_equal(ik_buf_put_u64(&b, 1), IK_OK);
	assert_int_equal(ik_buf_put_u64(&b, 2), IK_OK);
	put_fill(&b, 0x30, 0);
	DECR(IK_ERR_PROTO_FIELD);
	b.len -= 4;
	put_fill(&b, 0x30, PROTO_MAX_OCSP_RESPONSE);
	DECR(IK_OK);
	b.len -= 4 + PROTO_MAX_OCSP_RESPONSE;
	put_fill(&b, 0x30, PROTO_MAX_OCSP_RESPONSE + 1);
	DECR(IK_ERR_PROTO_FIELD);
#undef DECR
	ik_buf_cleanup(&b);
}

static void test_ocsp_encoder_refusals(void **state)
{
	proto_ocsp m;
	proto_ocsp_reply r = { .status = PROTO_OCSP_SUCCESSFUL, .this_update = 1, .next_update = 2,
		.response = g_cert, .response_len = sizeof(g_cert) };
	ik_buf b;

	(void)state;
	ik_buf_init(&b, 0);
	assert_int_equal(ik_buf_put_u8(&b, 0xee), IK_OK);
#define REFUSED(call)                                      \
	do {                                               \
		assert_int_equal(call, IK_ERR_ARG);        \
		assert_int_equal(b.len, 1);                \
	} while (0)
	sample_ocsp(&m);
	m.n = 0;
	REFUSED(proto_encode_ocsp(&b, &m));
	m.n = PROTO_MAX_OCSP_IDS + 1;
	REFUSED(proto_encode_ocsp(&b, &m));
	sample_ocsp(&m);
	m.ids[1].hash = 0;
	REFUSED(proto_encode_ocsp(&b, &m));
	m.ids[1].hash = PROTO_HASH_MAX + 1;
	REFUSED(proto_encode_ocsp(&b, &m));
	sample_ocsp(&m);
	m.ids[1].serial_len = 0;
	REFUSED(proto_encode_ocsp(&b, &m));
	m.ids[1].serial_len = PROTO_MAX_SERIAL + 1;
	REFUSED(proto_encode_ocsp(&b, &m));
	sample_ocsp(&m);
	m.nonce_len = PROTO_MAX_NONCE + 1;
	REFUSED(proto_encode_ocsp(&b, &m));
	r.status = 1; /* malformedRequest is the RA's own answer, never the signer's */
	REFUSED(proto_encode_ocsp_reply(&b, &r));
	r.status = PROTO_OCSP_SUCCESSFUL;
	r.next_update = 0;
	REFUSED(proto_encode_ocsp_reply(&b, &r));
	r.next_update = 2;
	r.response_len = 0;
	REFUSED(proto_encode_ocsp_reply(&b, &r));
	r.response_len = PROTO_MAX_OCSP_RESPONSE + 1;
	REFUSED(proto_encode_ocsp_reply(&b, &r));
#undef REFUSED
	ik_buf_cleanup(&b);
}

/* ---- the dispatcher's protocol-level refusals (before any signer state is used) ---- */

/* One request through sg_dispatch, as a worker runs it (refusals never park). */
static ik_status dispatch(sg_worker *w, uint16_t type, const uint8_t *body, size_t len,
    proto_error *err)
{
	sg_job j;
	int parked = 1;
	ik_status st;

	memset(&j, 0, sizeof(j));
	j.h.type = type;
	j.body = (uint8_t *)(uintptr_t)body;
	j.len = len;
	st = sg_dispatch(w, &j, err, &parked);
	assert_int_equal(parked, 0);
	assert_null(j.issue);
	return st;
}

static void test_dispatch_refusals(void **state)
{
	sg_server *s = test_calloc(1, sizeof(*s));
	sg_worker w;
	proto_error err;
	ik_buf b;
	uint8_t one = 0;

	(void)state;
	memset(&w, 0, sizeof(w));
	w.s = s;
	ik_buf_init(&w.reply, PROTO_MAX_REPLY);
	ik_buf_init(&b, 0);
	/* unknown verbs, replies and errors sent as requests */
	static const uint16_t unknown[] = { 0, PROTO_HELLO, PROTO_TYPE_MAX + 1, 0x7fff,
		PROTO_ISSUE | PROTO_REPLY, PROTO_ERROR };
	for (size_t i = 0; i < ARRAY_LEN(unknown); i++) {
		memset(&err, 0, sizeof(err));
		assert_int_equal(dispatch(&w, unknown[i], NULL, 0, &err), IK_ERR_PROTO_VERB);
		assert_non_null(strstr(err.detail, "unknown message type"));
	}
	/* empty-bodied verbs with a body */
	static const uint16_t empty[] = { PROTO_GET_CHAIN, PROTO_GET_CRL, PROTO_STATUS,
		PROTO_PROFILES };
	for (size_t i = 0; i < ARRAY_LEN(empty); i++) {
		memset(&err, 0, sizeof(err));
		assert_int_equal(dispatch(&w, empty[i], &one, 1, &err), IK_ERR_PROTO_TRAILING);
		assert_non_null(strstr(err.detail, "takes no body"));
	}
	/* a malformed ISSUE is refused with the decoder's status */
	memset(&err, 0, sizeof(err));
	assert_int_equal(dispatch(&w, PROTO_ISSUE, &one, 1, &err), IK_ERR_PROTO_TRUNCATED);
	assert_non_null(strstr(err.detail, "issue:"));
	/* revocation reasons: 6 (use HOLD), 7 (unused), 8 (removeFromCRL) and > 10 refused */
	for (unsigned r = 6; r <= 12; r++) {
		if (r == 9 || r == 10)
			continue;
		proto_revoke rv = { .serial = { 1 }, .serial_len = 1, .reason = (uint8_t)r };
		ik_buf_reset(&b);
		assert_int_equal(proto_encode_revoke(&b, &rv), IK_OK);
		memset(&err, 0, sizeof(err));
		assert_int_equal(dispatch(&w, PROTO_REVOKE, ik_buf_ptr(&b), ik_buf_remaining(&b), &err),
		    IK_ERR_POLICY_REASON);
	}
	/* HOLD and RELEASE take reason 0 only */
	{
		proto_revoke rv = { .serial = { 1 }, .serial_len = 1, .reason = 6 };
		ik_buf_reset(&b);
		assert_int_equal(proto_encode_revoke(&b, &rv), IK_OK);
		assert_int_equal(dispatch(&w, PROTO_HOLD, ik_buf_ptr(&b), ik_buf_remaining(&b), &err),
		    IK_ERR_PROTO_FIELD);
		assert_int_equal(dispatch(&w, PROTO_RELEASE, ik_buf_ptr(&b), ik_buf_remaining(&b), &err),
		    IK_ERR_PROTO_FIELD);
	}
	/* a change dated more than 60 s in the future */
	{
		proto_revoke rv = { .serial = { 1 }, .serial_len = 1, .reason = 1,
			.when = (uint64_t)time(NULL) + 3600 };
		ik_buf_reset(&b);
		assert_int_equal(proto_encode_revoke(&b, &rv), IK_OK);
		memset(&err, 0, sizeof(err));
		assert_int_equal(dispatch(&w, PROTO_REVOKE, ik_buf_ptr(&b), ik_buf_remaining(&b), &err),
		    IK_ERR_PROTO_FIELD);
		assert_non_null(strstr(err.detail, "future"));
		rv.reason = 0;
		ik_buf_reset(&b);
		assert_int_equal(proto_encode_revoke(&b, &rv), IK_OK);
		assert_int_equal(dispatch(&w, PROTO_HOLD, ik_buf_ptr(&b), ik_buf_remaining(&b), &err),
		    IK_ERR_PROTO_FIELD);
	}
	/* a malformed REVOKE body */
	assert_int_equal(dispatch(&w, PROTO_REVOKE, NULL, 0, &err), IK_ERR_PROTO_TRUNCATED);
	/* OCSP: a malformed body, and a good one to a signer without a responder key */
	memset(&err, 0, sizeof(err));
	assert_int_equal(dispatch(&w, PROTO_OCSP, &one, 1, &err), IK_ERR_PROTO_FIELD);
	assert_non_null(strstr(err.detail, "ocsp:"));
	{
		proto_ocsp oc;
		sample_ocsp(&oc);
		ik_buf_reset(&b);
		assert_int_equal(proto_encode_ocsp(&b, &oc), IK_OK);
		memset(&err, 0, sizeof(err));
		assert_int_equal(dispatch(&w, PROTO_OCSP, ik_buf_ptr(&b), ik_buf_remaining(&b), &err),
		    IK_ERR_NOT_FOUND);
		assert_non_null(strstr(err.detail, "OCSP is off"));
	}
	assert_int_equal(ik_buf_remaining(&w.reply), 0); /* no reply body on a refusal */
	ik_buf_cleanup(&b);
	ik_buf_cleanup(&w.reply);
	test_free(s);
}

/* ---- PROFILES ---- */

/* The smallest profile, byte for byte (the example in signer/PROTOCOL.md §5.7). */
static void test_profiles_bytes(void **state)
{
	static const uint8_t want[] = {
		0x01,                                           /* n */
		0x00, 0x00, 0x00, 0x01, 'c',                    /* name */
		0x00,                                           /* usage client */
		0x01,                                           /* key_types ec-p256 */
		0x00, 0x00, 0x08, 0x00,                         /* rsa_min_bits 2048 */
		0x00, 0x00, 0x01, 0x8d,                         /* max_days 397 */
		0x00, 0x00, 0x01, 0x2c,                         /* backdate 300 */
		0x02, 0x02,                                     /* allowed, required: CN */
		0x00,                                           /* nfixed */
		0x00, 0x00, 0x00, 0x0a, 'h', 't', 't', 'p', ':', '/', '/', 'x', '/', 'c',
		0x00, 0x00, 0x00, 0x00,                         /* ocsp_url */
		0x00, 0x00, 0x00, 0x00,                         /* ca_issuers_url */
	};
	static proto_profiles_reply m, d;
	ik_buf b;

	(void)state;
	memset(&m, 0, sizeof(m));
	m.n = 1;
	snprintf(m.p[0].name, sizeof(m.p[0].name), "c");
	m.p[0].key_types = PROTO_KEY_EC_P256;
	m.p[0].rsa_min_bits = 2048;
	m.p[0].max_days = 397;
	m.p[0].backdate = 300;
	m.p[0].attrs_allowed = m.p[0].attrs_required = 1u << PROTO_ATTR_CN;
	snprintf(m.p[0].crl_url, sizeof(m.p[0].crl_url), "http://x/c");
	ik_buf_init(&b, 0);
	assert_int_equal(proto_encode_profiles_reply(&b, &m), IK_OK);
	assert_int_equal(ik_buf_remaining(&b), sizeof(want));
	assert_memory_equal(ik_buf_ptr(&b), want, sizeof(want));
	assert_int_equal(proto_decode_profiles_reply(want, sizeof(want), &d), IK_OK);
	assert_int_equal(d.n, 1);
	assert_string_equal(d.p[0].name, "c");
	assert_string_equal(d.p[0].ocsp_url, "");
	ik_buf_cleanup(&b);
}

static void assert_profile_equal(const proto_profile *a, const proto_profile *b)
{
	assert_string_equal(a->name, b->name);
	assert_int_equal(a->usage, b->usage);
	assert_int_equal(a->key_types, b->key_types);
	assert_int_equal(a->rsa_min_bits, b->rsa_min_bits);
	assert_int_equal(a->max_days, b->max_days);
	assert_int_equal(a->backdate, b->backdate);
	assert_int_equal(a->attrs_allowed, b->attrs_allowed);
	assert_int_equal(a->attrs_required, b->attrs_required);
	assert_int_equal(a->nfixed, b->nfixed);
	for (uint8_t i = 0; i < a->nfixed; i++) {
		assert_int_equal(a->fixed[i].type, b->fixed[i].type);
		assert_string_equal(a->fixed[i].value, b->fixed[i].value);
	}
	assert_string_equal(a->crl_url, b->crl_url);
	assert_string_equal(a->ocsp_url, b->ocsp_url);
	assert_string_equal(a->ca_issuers_url, b->ca_issuers_url);
}

static void test_roundtrip_profiles(void **state)
{
	static proto_profiles_reply m, d;
	ik_buf b;

	(void)state;
	ik_buf_init(&b, 0);
	sample_profiles(&m);
	assert_int_equal(proto_encode_profiles_reply(&b, &m), IK_OK);
	assert_int_equal(proto_decode_profiles_reply(ik_buf_ptr(&b), ik_buf_remaining(&b), &d), IK_OK);
	assert_int_equal(d.n, 2);
	assert_profile_equal(&m.p[0], &d.p[0]);
	assert_profile_equal(&m.p[1], &d.p[1]);
	/* every field at its limit: 8 profiles, 7 fixed values of 128 bytes, 256-byte URLs */
	memset(&m, 0, sizeof(m));
	m.n = PROTO_MAX_PROFILES;
	for (uint8_t i = 0; i < m.n; i++) {
		proto_profile *p = &m.p[i];
		memset(p->name, 'a' + i, PROTO_MAX_NAME);
		p->usage = PROTO_USAGE_MAX;
		p->key_types = PROTO_KEY_ALL;
		p->rsa_min_bits = 8192;
		p->max_days = PROTO_MAX_PROFILE_DAYS;
		p->backdate = PROTO_MAX_BACKDATE;
		p->attrs_allowed = p->attrs_required = PROTO_ATTR_MASK;
		p->nfixed = PROTO_ATTR_MAX;
		for (uint8_t k = 0; k < PROTO_ATTR_MAX; k++) {
			p->fixed[k].type = (uint8_t)(PROTO_ATTR_MAX - k);
			memset(p->fixed[k].value, 'v', PROTO_MAX_ATTR_LEN);
		}
		memset(p->crl_url, 'c', PROTO_MAX_URL);
		memset(p->ocsp_url, 'o', PROTO_MAX_URL);
		memset(p->ca_issuers_url, '~', PROTO_MAX_URL);
	}
	ik_buf_reset(&b);
	assert_int_equal(proto_encode_profiles_reply(&b, &m), IK_OK);
	assert_int_equal(ik_buf_remaining(&b), 1 + 8 * (4 + 32 + 17 + 7 * (1 + 4 + 128) + 3 * (4 + 256)));
	assert_int_equal(proto_decode_profiles_reply(ik_buf_ptr(&b), ik_buf_remaining(&b), &d), IK_OK);
	for (uint8_t i = 0; i < m.n; i++)
		assert_profile_equal(&m.p[i], &d.p[i]);
	ik_buf_cleanup(&b);
}

/* Non-zero: raw_profile writes that many bytes as the name / the first fixed value. */
static size_t g_raw_name_len, g_raw_fixed_len;

/* A profile written field by field with no checks, so it can break any rule. */
static void raw_profile(ik_buf *b, const proto_profile *p)
{
	if (g_raw_name_len > 0)
		put_fill(b, 'n', g_raw_name_len);
	else
		put_bytes(b, p->name, strlen(p->name));
	assert_int_equal(ik_buf_put_u8(b, p->usage), IK_OK);
	assert_int_equal(ik_buf_put_u8(b, p->key_types), IK_OK);
	assert_int_equal(ik_buf_put_u32(b, p->rsa_min_bits), IK_OK);
	assert_int_equal(ik_buf_put_u32(b, p->max_days), IK_OK);
	assert_int_equal(ik_buf_put_u32(b, p->backdate), IK_OK);
	assert_int_equal(ik_buf_put_u8(b, p->attrs_allowed), IK_OK);
	assert_int_equal(ik_buf_put_u8(b, p->attrs_required), IK_OK);
	assert_int_equal(ik_buf_put_u8(b, p->nfixed), IK_OK);
	for (uint8_t i = 0; i < p->nfixed && i < PROTO_ATTR_MAX; i++) {
		assert_int_equal(ik_buf_put_u8(b, p->fixed[i].type), IK_OK);
		if (i == 0 && g_raw_fixed_len > 0)
			put_fill(b, 'v', g_raw_fixed_len);
		else
			put_bytes(b, p->fixed[i].value, strlen(p->fixed[i].value));
	}
	put_bytes(b, p->crl_url, strlen(p->crl_url));
	put_bytes(b, p->ocsp_url, strlen(p->ocsp_url));
	put_bytes(b, p->ca_issuers_url, strlen(p->ca_issuers_url));
}

/* count: the n field; the first 'have' profiles of m follow it. */
static ik_status dec_raw_profiles(ik_buf *b, const proto_profiles_reply *m, uint8_t count,
    uint8_t have)
{
	static proto_profiles_reply d;

	ik_buf_reset(b);
	assert_int_equal(ik_buf_put_u8(b, count), IK_OK);
	for (uint8_t i = 0; i < have; i++)
		raw_profile(b, &m->p[i]);
	return proto_decode_profiles_reply(ik_buf_ptr(b), ik_buf_remaining(b), &d);
}

static void test_profiles_refusals(void **state)
{
	static proto_profiles_reply m;
	ik_buf b;

	(void)state;
	ik_buf_init(&b, 0);
#define BAD(mutation, want)                                                        \
	do {                                                                       \
		sample_profiles(&m);                                               \
		mutation;                                                          \
		assert_int_equal(dec_raw_profiles(&b, &m, m.n, m.n), want);         \
	} while (0)
	BAD((void)0, IK_OK); /* the raw writer agrees with the encoder */
	/* the count: checked before any profile is read */
	sample_profiles(&m);
	assert_int_equal(dec_raw_profiles(&b, &m, 0, 0), IK_ERR_PROTO_FIELD);
	assert_int_equal(dec_raw_profiles(&b, &m, 0, 2), IK_ERR_PROTO_FIELD);
	assert_int_equal(dec_raw_profiles(&b, &m, PROTO_MAX_PROFILES + 1, 2), IK_ERR_PROTO_FIELD);
	assert_int_equal(dec_raw_profiles(&b, &m, 255, 2), IK_ERR_PROTO_FIELD);
	assert_int_equal(dec_raw_profiles(&b, &m, 3, 2), IK_ERR_PROTO_TRUNCATED);
	assert_int_equal(dec_raw_profiles(&b, &m, 1, 2), IK_ERR_PROTO_TRAILING);
	/* each field out of its range */
	BAD(m.p[1].name[0] = '\0', IK_ERR_PROTO_FIELD);
	BAD(m.p[1].name[0] = 'M', IK_ERR_PROTO_FIELD);
	g_raw_name_len = PROTO_MAX_NAME;
	BAD(m.n = 1, IK_OK);
	g_raw_name_len = PROTO_MAX_NAME + 1;
	BAD(m.n = 1, IK_ERR_PROTO_FIELD);
	g_raw_name_len = 0;
	BAD(snprintf(m.p[1].name, sizeof(m.p[1].name), "client-2y"), IK_ERR_PROTO_FIELD); /* duplicate */
	BAD(m.p[0].usage = PROTO_USAGE_MAX + 1, IK_ERR_PROTO_FIELD);
	BAD(m.p[0].key_types = 0, IK_ERR_PROTO_FIELD);
	BAD(m.p[0].key_types = 0x8, IK_ERR_PROTO_FIELD);
	BAD(m.p[0].rsa_min_bits = 2047, IK_ERR_PROTO_FIELD);
	BAD(m.p[0].rsa_min_bits = 8193, IK_ERR_PROTO_FIELD);
	BAD(m.p[0].max_days = 0, IK_ERR_PROTO_FIELD);
	BAD(m.p[0].max_days = PROTO_MAX_PROFILE_DAYS + 1, IK_ERR_PROTO_FIELD);
	BAD(m.p[0].backdate = PROTO_MAX_BACKDATE + 1, IK_ERR_PROTO_FIELD);
	BAD(m.p[0].attrs_allowed |= 1u, IK_ERR_PROTO_FIELD);
	BAD(m.p[0].attrs_required |= 1u, IK_ERR_PROTO_FIELD);
	BAD(m.p[0].nfixed = PROTO_ATTR_MAX + 1, IK_ERR_PROTO_FIELD);
	BAD(m.p[0].fixed[1].type = 0, IK_ERR_PROTO_FIELD);
	BAD(m.p[0].fixed[1].type = PROTO_ATTR_MAX + 1, IK_ERR_PROTO_FIELD);
	BAD(m.p[0].fixed[1].type = PROTO_ATTR_O, IK_ERR_PROTO_FIELD); /* O fixed twice */
	BAD(m.p[0].fixed[1].value[0] = '\0', IK_ERR_PROTO_FIELD);
	BAD(m.p[0].fixed[1].value[0] = '\x01', IK_ERR_PROTO_FIELD);
	BAD(m.p[0].fixed[1].value[0] = '\xc0', IK_ERR_PROTO_FIELD);   /* not UTF-8 */
	BAD(m.p[1].crl_url[0] = '\0', IK_ERR_PROTO_FIELD);              /* required */
	BAD(m.p[0].ocsp_url[4] = '\n', IK_ERR_PROTO_FIELD);
	BAD(m.p[0].ca_issuers_url[4] = '\x7f', IK_ERR_PROTO_FIELD);
	BAD(m.p[0].crl_url[4] = '\xe3', IK_ERR_PROTO_FIELD);            /* ASCII only */
	/* a URL of 256 bytes is fine, 257 is FIELD, checked before whether the bytes are there */
	sample_profiles(&m);
	m.n = 1;
	assert_int_equal(dec_raw_profiles(&b, &m, 1, 1), IK_OK);
	b.len -= 4 + strlen(m.p[0].ca_issuers_url); /* drop the last field, ca_issuers_url */
	put_fill(&b, 'u', PROTO_MAX_URL);
	assert_int_equal(d_profiles_reply(ik_buf_ptr(&b), ik_buf_remaining(&b)), IK_OK);
	b.len -= 4 + PROTO_MAX_URL;
	put_fill(&b, 'u', PROTO_MAX_URL + 1);
	assert_int_equal(d_profiles_reply(ik_buf_ptr(&b), ik_buf_remaining(&b)), IK_ERR_PROTO_FIELD);
	b.len -= 4 + PROTO_MAX_URL + 1;
	assert_int_equal(ik_buf_put_u32(&b, UINT32_MAX), IK_OK);
	assert_int_equal(d_profiles_reply(ik_buf_ptr(&b), ik_buf_remaining(&b)), IK_ERR_PROTO_FIELD);
	/* a fixed value of 128 bytes is fine, 129 is FIELD */
	g_raw_fixed_len = PROTO_MAX_ATTR_LEN;
	BAD((void)0, IK_OK);
	g_raw_fixed_len = PROTO_MAX_ATTR_LEN + 1;
	BAD((void)0, IK_ERR_PROTO_FIELD);
	g_raw_fixed_len = 0;
#undef BAD
	ik_buf_cleanup(&b);
}

static void test_profiles_encoder_refusals(void **state)
{
	static proto_profiles_reply m;
	ik_buf b;

	(void)state;
	ik_buf_init(&b, 0);
	assert_int_equal(ik_buf_put_u8(&b, 0xee), IK_OK);
#define REFUSED(mutation)                                                           \
	do {                                                                        \
		sample_profiles(&m);                                                \
		mutation;                                                           \
		assert_int_equal(proto_encode_profiles_reply(&b, &m), IK_ERR_ARG);  \
		assert_int_equal(b.len, 1);                                         \
	} while (0)
	REFUSED(m.n = 0);
	REFUSED(m.n = PROTO_MAX_PROFILES + 1);
	REFUSED(m.p[1].name[0] = '\0');
	REFUSED(m.p[1].name[0] = 'M');
	REFUSED(snprintf(m.p[1].name, sizeof(m.p[1].name), "client-2y"));
	REFUSED(m.p[1].usage = PROTO_USAGE_MAX + 1);
	REFUSED(m.p[1].key_types = 0);
	REFUSED(m.p[1].key_types = 0x10);
	REFUSED(m.p[1].rsa_min_bits = 1024);
	REFUSED(m.p[1].rsa_min_bits = 8193);
	REFUSED(m.p[1].max_days = 0);
	REFUSED(m.p[1].max_days = PROTO_MAX_PROFILE_DAYS + 1);
	REFUSED(m.p[1].backdate = PROTO_MAX_BACKDATE + 1);
	REFUSED(m.p[1].attrs_allowed = 0x01);
	REFUSED(m.p[1].attrs_required = 0x03);
	REFUSED(m.p[0].nfixed = PROTO_ATTR_MAX + 1);
	REFUSED(m.p[0].fixed[0].type = 0);
	REFUSED(m.p[0].fixed[1].type = PROTO_ATTR_O);
	REFUSED(m.p[0].fixed[1].value[0] = '\0');
	REFUSED(m.p[0].fixed[1].value[0] = '\x7f');
	REFUSED(m.p[1].crl_url[0] = '\0');
	REFUSED(m.p[0].ocsp_url[0] = '\t');
	REFUSED(m.p[0].ca_issuers_url[0] = '\x80');
#undef REFUSED
	ik_buf_cleanup(&b);
}

/* The dispatcher answers PROFILES from the loaded config. */
static void test_dispatch_profiles(void **state)
{
	sg_server *s = test_calloc(1, sizeof(*s));
	static proto_profiles_reply d;
	sg_profile *p;
	sg_worker w;
	proto_error err;

	(void)state;
	memset(&w, 0, sizeof(w));
	w.s = s;
	ik_buf_init(&w.reply, PROTO_MAX_REPLY);
	/* no profile (a config never loads so): refused, nothing written */
	memset(&err, 0, sizeof(err));
	assert_int_equal(dispatch(&w, PROTO_PROFILES, NULL, 0, &err), IK_ERR_ARG);
	assert_non_null(strstr(err.detail, "profiles:"));
	assert_int_equal(ik_buf_remaining(&w.reply), 0);
	s->cfg.nprofiles = 2;
	p = &s->cfg.profiles[0];
	snprintf(p->name, sizeof(p->name), "client");
	p->max_days = 397;
	p->backdate = 300;
	p->key_types = SG_KEY_EC_P256 | SG_KEY_RSA;
	p->rsa_min_bits = 3072;
	p->attrs_allowed = 1u << PROTO_ATTR_CN | 1u << PROTO_ATTR_OU;
	p->attrs_required = 1u << PROTO_ATTR_CN;
	snprintf(p->fixed[PROTO_ATTR_O], sizeof(p->fixed[0]), "Example");
	snprintf(p->fixed[PROTO_ATTR_C], sizeof(p->fixed[0]), "JP");
	snprintf(p->crl_url, sizeof(p->crl_url), "http://ra/crl");
	snprintf(p->ocsp_url, sizeof(p->ocsp_url), "http://ra/ocsp");
	p = &s->cfg.profiles[1];
	snprintf(p->name, sizeof(p->name), "tls");
	p->max_days = 90;
	p->key_types = SG_KEY_EC_P384;
	p->rsa_min_bits = 2048;
	p->attrs_allowed = p->attrs_required = 1u << PROTO_ATTR_CN;
	p->server = 1;
	snprintf(p->crl_url, sizeof(p->crl_url), "http://ra/crl");
	memset(&err, 0, sizeof(err));
	assert_int_equal(dispatch(&w, PROTO_PROFILES, NULL, 0, &err), IK_OK);
	assert_int_equal(proto_decode_profiles_reply(ik_buf_ptr(&w.reply), ik_buf_remaining(&w.reply),
	    &d), IK_OK);
	assert_int_equal(d.n, 2);
	assert_string_equal(d.p[0].name, "client");
	assert_int_equal(d.p[0].usage, PROTO_USAGE_CLIENT);
	assert_int_equal(d.p[0].key_types, PROTO_KEY_EC_P256 | PROTO_KEY_RSA);
	assert_int_equal(d.p[0].rsa_min_bits, 3072);
	assert_int_equal(d.p[0].max_days, 397);
	assert_int_equal(d.p[0].backdate, 300);
	assert_int_equal(d.p[0].attrs_allowed, 1u << PROTO_ATTR_CN | 1u << PROTO_ATTR_OU);
	assert_int_equal(d.p[0].attrs_required, 1u << PROTO_ATTR_CN);
	assert_int_equal(d.p[0].nfixed, 2);
	assert_int_equal(d.p[0].fixed[0].type, PROTO_ATTR_O);
	assert_string_equal(d.p[0].fixed[0].value, "Example");
	assert_int_equal(d.p[0].fixed[1].type, PROTO_ATTR_C);
	assert_string_equal(d.p[0].fixed[1].value, "JP");
	assert_string_equal(d.p[0].crl_url, "http://ra/crl");
	assert_string_equal(d.p[0].ocsp_url, "http://ra/ocsp");
	assert_string_equal(d.p[0].ca_issuers_url, "");
	assert_string_equal(d.p[1].name, "tls");
	assert_int_equal(d.p[1].usage, PROTO_USAGE_SERVER);
	assert_int_equal(d.p[1].key_types, PROTO_KEY_EC_P384);
	assert_int_equal(d.p[1].max_days, 90);
	assert_int_equal(d.p[1].backdate, 0);
	assert_int_equal(d.p[1].nfixed, 0);
	s->cfg.profiles[1].server = 0;
	s->cfg.profiles[1].email = 1;
	ik_buf_reset(&w.reply);
	assert_int_equal(dispatch(&w, PROTO_PROFILES, NULL, 0, &err), IK_OK);
	assert_int_equal(proto_decode_profiles_reply(ik_buf_ptr(&w.reply), ik_buf_remaining(&w.reply),
	    &d), IK_OK);
	assert_int_equal(d.p[1].usage, PROTO_USAGE_EMAIL);
	ik_buf_cleanup(&w.reply);
	test_free(s);
}

/* ---- frames over a socketpair ---- */

static void pair(int sv[2])
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
}

static void write_raw(int fd, const void *p, size_t n)
{
	assert_int_equal(send(fd, p, n, MSG_NOSIGNAL), (ssize_t)n);
}

static void test_send_recv(void **state)
{
	int sv[2];
	proto_header h;
	ik_buf body;
	sample s[N_SAMPLES];
	size_t n;

	(void)state;
	pair(sv);
	ik_buf_init(&body, PROTO_MAX_REPLY);
	build_samples(s, &n);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(proto_send(sv[0], (uint16_t)(i + 1), (uint32_t)(1000 + i),
		    ik_buf_ptr(&s[i].body), ik_buf_remaining(&s[i].body)), IK_OK);
	}
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(proto_recv(sv[1], PROTO_MAX_REQUEST, &h, &body), IK_OK);
		assert_int_equal(h.version, PROTO_VERSION);
		assert_int_equal(h.type, i + 1);
		assert_int_equal(h.id, 1000 + i);
		assert_int_equal(h.flags, 0);
		assert_int_equal(h.len, ik_buf_remaining(&s[i].body));
		assert_int_equal(ik_buf_remaining(&body), h.len);
		assert_memory_equal(ik_buf_ptr(&body), ik_buf_ptr(&s[i].body), h.len);
		assert_int_equal(s[i].dec(ik_buf_ptr(&body), ik_buf_remaining(&body)), IK_OK);
	}
	/* an empty body; the previous body does not linger */
	assert_int_equal(proto_send(sv[0], PROTO_STATUS, 5, NULL, 0), IK_OK);
	assert_int_equal(proto_recv(sv[1], PROTO_MAX_REQUEST, &h, &body), IK_OK);
	assert_int_equal(h.type, PROTO_STATUS);
	assert_int_equal(h.len, 0);
	assert_int_equal(ik_buf_remaining(&body), 0);
	/* what goes on the wire is header then body, big-endian */
	{
		uint8_t raw[PROTO_HDR_LEN + 2];
		static const uint8_t want[] = { 0, 1, 0, 7, 0, 0, 0, 2, 0x12, 0x34, 0x56, 0x78, 0, 0,
			0, 0, 'h', 'i' };
		assert_int_equal(proto_send(sv[0], PROTO_GET_CRL, 0x12345678u, (const uint8_t *)"hi", 2), IK_OK);
		assert_int_equal(recv(sv[1], raw, sizeof(raw), MSG_WAITALL), (ssize_t)sizeof(raw));
		assert_memory_equal(raw, want, sizeof(want));
	}
	free_samples(s, n);
	ik_buf_cleanup(&body);
	close(sv[0]);
	close(sv[1]);
}

typedef struct writer_arg {
	int fd;
	const uint8_t *p;
	size_t n;
	uint16_t type;
} writer_arg;

static void *writer_main(void *arg)
{
	writer_arg *a = arg;

	(void)proto_send(a->fd, a->type, 9, a->p, a->n);
	return NULL;
}

/* A body of exactly the request limit, larger than the socket buffer, arrives whole. */
static void test_send_recv_large(void **state)
{
	int sv[2];
	proto_header h;
	ik_buf body;
	pthread_t t;
	uint8_t *big = test_malloc(PROTO_MAX_REQUEST);
	writer_arg a = { .p = big, .n = PROTO_MAX_REQUEST, .type = PROTO_ISSUE };

	(void)state;
	for (size_t i = 0; i < PROTO_MAX_REQUEST; i++)
		big[i] = (uint8_t)(i ^ (i >> 8));
	pair(sv);
	{
		int small = 4096;
		(void)setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
		(void)setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	}
	a.fd = sv[0];
	ik_buf_init(&body, PROTO_MAX_REQUEST);
	assert_int_equal(pthread_create(&t, NULL, writer_main, &a), 0);
	assert_int_equal(proto_recv(sv[1], PROTO_MAX_REQUEST, &h, &body), IK_OK);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(h.len, PROTO_MAX_REQUEST);
	assert_int_equal(ik_buf_remaining(&body), PROTO_MAX_REQUEST);
	assert_memory_equal(ik_buf_ptr(&body), big, PROTO_MAX_REQUEST);
	test_free(big);
	ik_buf_cleanup(&body);
	close(sv[0]);
	close(sv[1]);
}

static void test_recv_closed(void **state)
{
	int sv[2];
	uint8_t hdr[PROTO_HDR_LEN];
	proto_header h;
	ik_buf body;

	(void)state;
	ik_buf_init(&body, PROTO_MAX_REQUEST);

	/* closed before any byte: a clean end */
	pair(sv);
	close(sv[0]);
	assert_int_equal(proto_recv(sv[1], PROTO_MAX_REQUEST, &h, &body), IK_ERR_PROTO_CLOSED);
	close(sv[1]);

	/* closed inside the header: every cut point */
	mkhdr(hdr, 1, PROTO_STATUS, 0, 1, 0);
	for (size_t cut = 1; cut < PROTO_HDR_LEN; cut++) {
		pair(sv);
		write_raw(sv[0], hdr, cut);
		close(sv[0]);
		assert_int_equal(proto_recv(sv[1], PROTO_MAX_REQUEST, &h, &body), IK_ERR_PROTO_TRUNCATED);
		close(sv[1]);
	}

	/* closed inside the body, and right after the header of a non-empty body */
	mkhdr(hdr, 1, PROTO_ISSUE, 100, 2, 0);
	for (size_t got = 0; got < 100; got += 33) {
		uint8_t junk[100] = { 0 };
		pair(sv);
		write_raw(sv[0], hdr, sizeof(hdr));
		if (got > 0)
			write_raw(sv[0], junk, got);
		close(sv[0]);
		assert_int_equal(proto_recv(sv[1], PROTO_MAX_REQUEST, &h, &body), IK_ERR_PROTO_TRUNCATED);
		assert_int_equal(h.id, 2);
		close(sv[1]);
	}

	/* a complete frame, then the close is seen on the next read */
	pair(sv);
	assert_int_equal(proto_send(sv[0], PROTO_STATUS, 3, NULL, 0), IK_OK);
	close(sv[0]);
	assert_int_equal(proto_recv(sv[1], PROTO_MAX_REQUEST, &h, &body), IK_OK);
	assert_int_equal(proto_recv(sv[1], PROTO_MAX_REQUEST, &h, &body), IK_ERR_PROTO_CLOSED);
	close(sv[1]);

	/* a read error (not a socket) is IO */
	assert_int_equal(proto_recv(-1, PROTO_MAX_REQUEST, &h, &body), IK_ERR_IO);
	ik_buf_cleanup(&body);
}

/* A bad header is reported once decoded; the body is left unread in the socket. */
static void test_recv_bad_header(void **state)
{
	int sv[2];
	uint8_t hdr[PROTO_HDR_LEN], rest[4];
	proto_header h;
	ik_buf body;

	(void)state;
	ik_buf_init(&body, PROTO_MAX_REQUEST);
	pair(sv);
	mkhdr(hdr, 1, PROTO_ISSUE, PROTO_MAX_REQUEST + 1, 44, 0);
	write_raw(sv[0], hdr, sizeof(hdr));
	write_raw(sv[0], "BODY", 4);
	assert_int_equal(proto_recv(sv[1], PROTO_MAX_REQUEST, &h, &body), IK_ERR_PROTO_OVERSIZE);
	assert_int_equal(h.id, 44);
	assert_int_equal(ik_buf_remaining(&body), 0);
	assert_int_equal(recv(sv[1], rest, sizeof(rest), MSG_WAITALL), 4);
	assert_memory_equal(rest, "BODY", 4);

	mkhdr(hdr, 2, PROTO_HELLO, 0, 45, 0);
	write_raw(sv[0], hdr, sizeof(hdr));
	assert_int_equal(proto_recv(sv[1], PROTO_MAX_REQUEST, &h, &body), IK_ERR_PROTO_VERSION);
	assert_int_equal(h.id, 45);
	mkhdr(hdr, 1, PROTO_HELLO, 0, 46, 4);
	write_raw(sv[0], hdr, sizeof(hdr));
	assert_int_equal(proto_recv(sv[1], PROTO_MAX_REQUEST, &h, &body), IK_ERR_PROTO_FIELD);
	assert_int_equal(h.id, 46);
	/* a body larger than the caller's buffer may hold is refused, not overrun */
	ik_buf_cleanup(&body);
	ik_buf_init(&body, 8);
	mkhdr(hdr, 1, PROTO_ISSUE, 9, 47, 0);
	write_raw(sv[0], hdr, sizeof(hdr));
	assert_int_equal(proto_recv(sv[1], PROTO_MAX_REQUEST, &h, &body), IK_ERR_PROTO_OVERSIZE);
	ik_buf_cleanup(&body);
	close(sv[0]);
	close(sv[1]);
}

static void test_send_to_closed_peer(void **state)
{
	int sv[2];

	(void)state;
	pair(sv);
	close(sv[1]);
	/* EPIPE without SIGPIPE (the test would die of the signal otherwise) */
	assert_int_equal(proto_send(sv[0], PROTO_STATUS, 1, NULL, 0), IK_ERR_IO);
	assert_int_equal(proto_send(sv[0], PROTO_ISSUE, 1, g_cert, sizeof(g_cert)), IK_ERR_IO);
	close(sv[0]);
	assert_int_equal(proto_send(-1, PROTO_STATUS, 1, NULL, 0), IK_ERR_IO);
}

/* ---- proto_call against a scripted peer ---- */

enum peer_mode {
	PEER_ECHO,         /* type|REPLY, same id, the request body echoed */
	PEER_ERROR,        /* PROTO_ERROR, same id */
	PEER_ERROR_ID0,    /* PROTO_ERROR, id 0 (a frame the signer could not attribute) */
	PEER_WRONG_ID,
	PEER_WRONG_TYPE,
	PEER_ERROR_OK,     /* PROTO_ERROR carrying status 0 */
	PEER_ERROR_BAD,    /* PROTO_ERROR with a malformed body */
	PEER_REPLY_ID0,    /* a normal reply with id 0 */
	PEER_CLOSE,        /* hangs up without a reply */
	PEER_HALF,         /* half a reply, then hangs up */
};

typedef struct peer_arg {
	int fd;
	enum peer_mode mode;
	proto_header got;
} peer_arg;

static void *peer_main(void *arg)
{
	peer_arg *a = arg;
	proto_header h;
	ik_buf body, out;
	proto_error e = { .status = IK_ERR_POLICY_PROFILE, .detail = "unknown profile 'x'" };

	ik_buf_init(&body, PROTO_MAX_REQUEST);
	ik_buf_init(&out, 0);
	if (proto_recv(a->fd, PROTO_MAX_REQUEST, &h, &body) != IK_OK)
		goto out;
	a->got = h;
	switch (a->mode) {
	case PEER_ECHO:
		(void)proto_send(a->fd, (uint16_t)(h.type | PROTO_REPLY), h.id, ik_buf_ptr(&body),
		    ik_buf_remaining(&body));
		break;
	case PEER_ERROR:
	case PEER_ERROR_ID0:
	case PEER_ERROR_OK:
		if (a->mode == PEER_ERROR_OK)
			e.status = IK_OK;
		(void)proto_encode_error(&out, &e);
		(void)proto_send(a->fd, PROTO_ERROR, a->mode == PEER_ERROR_ID0 ? 0 : h.id,
		    ik_buf_ptr(&out), ik_buf_remaining(&out));
		break;
	case PEER_WRONG_ID:
		(void)proto_send(a->fd, (uint16_t)(h.type | PROTO_REPLY), h.id + 1, NULL, 0);
		break;
	case PEER_WRONG_TYPE:
		(void)proto_send(a->fd, (uint16_t)((h.type + 1) | PROTO_REPLY), h.id, NULL, 0);
		break;
	case PEER_ERROR_BAD:
		(void)proto_send(a->fd, PROTO_ERROR, h.id, (const uint8_t *)"\x00\x00", 2);
		break;
	case PEER_REPLY_ID0:
		(void)proto_send(a->fd, (uint16_t)(h.type | PROTO_REPLY), 0, NULL, 0);
		break;
	case PEER_CLOSE:
		break;
	case PEER_HALF: {
		uint8_t hdr[PROTO_HDR_LEN];
		mkhdr(hdr, 1, (uint16_t)(h.type | PROTO_REPLY), 10, h.id, 0);
		(void)send(a->fd, hdr, sizeof(hdr), MSG_NOSIGNAL);
		(void)send(a->fd, "abc", 3, MSG_NOSIGNAL);
		break;
	}
	}
out:
	ik_buf_cleanup(&body);
	ik_buf_cleanup(&out);
	close(a->fd);
	return NULL;
}

static ik_status call_with(enum peer_mode mode, ik_buf *reply, proto_error *err,
    proto_header *got)
{
	int sv[2];
	pthread_t t;
	peer_arg a;
	ik_buf req;
	ik_status st;

	pair(sv);
	memset(&a, 0, sizeof(a));
	a.fd = sv[1];
	a.mode = mode;
	ik_buf_init(&req, 0);
	assert_int_equal(ik_buf_put(&req, "request", 7), IK_OK);
	assert_int_equal(pthread_create(&t, NULL, peer_main, &a), 0);
	st = proto_call(sv[0], PROTO_GET_CHAIN, &req, reply, err);
	assert_int_equal(pthread_join(t, NULL), 0);
	if (got != NULL)
		*got = a.got;
	ik_buf_cleanup(&req);
	close(sv[0]);
	return st;
}

static void test_call(void **state)
{
	ik_buf reply;
	proto_error err;
	proto_header got1, got2;

	(void)state;
	ik_buf_init(&reply, PROTO_MAX_REPLY);

	assert_int_equal(call_with(PEER_ECHO, &reply, NULL, &got1), IK_OK);
	assert_int_equal(ik_buf_remaining(&reply), 7);
	assert_memory_equal(ik_buf_ptr(&reply), "request", 7);
	assert_int_equal(got1.type, PROTO_GET_CHAIN);
	assert_int_equal(call_with(PEER_ECHO, &reply, NULL, &got2), IK_OK);
	assert_true(got2.id != got1.id); /* every call takes a fresh id */

	memset(&err, 0, sizeof(err));
	assert_int_equal(call_with(PEER_ERROR, &reply, &err, NULL), IK_ERR_POLICY_PROFILE);
	assert_int_equal(err.status, IK_ERR_POLICY_PROFILE);
	assert_string_equal(err.detail, "unknown profile 'x'");
	assert_int_equal(call_with(PEER_ERROR, &reply, NULL, NULL), IK_ERR_POLICY_PROFILE);
	memset(&err, 0, sizeof(err));
	assert_int_equal(call_with(PEER_ERROR_ID0, &reply, &err, NULL), IK_ERR_POLICY_PROFILE);
	assert_string_equal(err.detail, "unknown profile 'x'");

	assert_int_equal(call_with(PEER_WRONG_ID, &reply, NULL, NULL), IK_ERR_PROTO_FIELD);
	assert_int_equal(call_with(PEER_REPLY_ID0, &reply, NULL, NULL), IK_ERR_PROTO_FIELD);
	assert_int_equal(call_with(PEER_WRONG_TYPE, &reply, NULL, NULL), IK_ERR_PROTO_FIELD);
	assert_int_equal(call_with(PEER_ERROR_OK, &reply, NULL, NULL), IK_ERR_PROTO_FIELD);
	assert_int_equal(call_with(PEER_ERROR_BAD, &reply, NULL, NULL), IK_ERR_PROTO_FIELD);
	assert_int_equal(call_with(PEER_CLOSE, &reply, NULL, NULL), IK_ERR_PROTO_CLOSED);
	assert_int_equal(call_with(PEER_HALF, &reply, NULL, NULL), IK_ERR_PROTO_TRUNCATED);
	ik_buf_cleanup(&reply);
}

static void test_connect(void **state)
{
	char dir[] = "/tmp/ik-proto-XXXXXX";
	char path[96], longpath[200];
	struct sockaddr_un sa;
	int ls, fd = 123, afd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/signer.sock", dir);
	/* absent */
	assert_int_equal(proto_connect(path, &fd), IK_ERR_IO);
	assert_int_equal(fd, -1);
	/* empty and too long for sun_path */
	assert_int_equal(proto_connect("", &fd), IK_ERR_ARG);
	memset(longpath, 'x', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	assert_int_equal(proto_connect(longpath, &fd), IK_ERR_ARG);
	/* a real listener: connect, then one frame each way */
	ls = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(ls >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	assert_int_equal(bind(ls, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(ls, 1), 0);
	assert_int_equal(proto_connect(path, &fd), IK_OK);
	assert_true(fd >= 0);
	afd = accept(ls, NULL, NULL);
	assert_true(afd >= 0);
	{
		proto_header h;
		ik_buf body;
		ik_buf_init(&body, 0);
		assert_int_equal(proto_send(fd, PROTO_STATUS, 7, NULL, 0), IK_OK);
		assert_int_equal(proto_recv(afd, PROTO_MAX_REQUEST, &h, &body), IK_OK);
		assert_int_equal(h.type, PROTO_STATUS);
		assert_int_equal(h.id, 7);
		ik_buf_cleanup(&body);
	}
	close(afd);
	close(fd);
	close(ls);
	/* a path that is not a socket */
	unlink(path);
	{
		FILE *f = fopen(path, "w");
		assert_non_null(f);
		fclose(f);
	}
	assert_int_equal(proto_connect(path, &fd), IK_ERR_IO);
	unlink(path);
	rmdir(dir);
}

/* ---- the fuzzer's seed corpus stays valid ---- */

/* Every seed in tests/fuzz/corpus/fuzz_proto is a selector byte 0 (frame mode) and a
 * stream of complete frames that decode cleanly; together they cover every request and
 * reply type.  A protocol change that makes the seeds stale fails here. */
static void test_seed_corpus(void **state)
{
	const char *src = getenv("INKAN_SRC");
	char dir[4096];
	DIR *d;
	struct dirent *e;
	int seen_req[PROTO_TYPE_MAX + 1] = { 0 }, seen_rep[PROTO_TYPE_MAX + 1] = { 0 }, seen_err = 0;
	size_t files = 0;

	(void)state;
	if (src == NULL)
		skip(); /* run outside ctest */
	snprintf(dir, sizeof(dir), "%s/tests/fuzz/corpus/fuzz_proto", src);
	d = opendir(dir);
	assert_non_null(d);
	while ((e = readdir(d)) != NULL) {
		char path[8192];
		static uint8_t buf[65536]; /* the largest seed, profiles-max, is 14 KiB */
		size_t n, off = 1;
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		f = fopen(path, "rb");
		assert_non_null(f);
		n = fread(buf, 1, sizeof(buf), f);
		fclose(f);
		assert_true(n > PROTO_HDR_LEN && n < sizeof(buf));
		if (buf[0] != 0)
			fail_msg("%s: selector byte %u, want 0 (frame mode)", e->d_name, buf[0]);
		while (off < n) {
			proto_header h;
			decoder dec;
			ik_status st;

			assert_true(n - off >= PROTO_HDR_LEN);
			st = proto_header_decode(buf + off, PROTO_MAX_REPLY, &h);
			if (st != IK_OK)
				fail_msg("%s: header at %zu: %s", e->d_name, off, ik_status_code(st));
			off += PROTO_HDR_LEN;
			assert_true(h.len <= n - off);
			dec = decoder_for(h.type);
			if (dec == NULL)
				fail_msg("%s: unknown type 0x%04x", e->d_name, h.type);
			if ((st = dec(buf + off, h.len)) != IK_OK)
				fail_msg("%s: %s body: %s", e->d_name, proto_type_name(h.type), ik_status_code(st));
			off += h.len;
			if (h.type == PROTO_ERROR)
				seen_err = 1;
			else if (h.type & PROTO_REPLY)
				seen_rep[h.type & ~PROTO_REPLY] = 1;
			else
				seen_req[h.type] = 1;
		}
		files++;
	}
	closedir(d);
	assert_true(files >= PROTO_TYPE_MAX);
	for (int t = PROTO_HELLO; t <= PROTO_TYPE_MAX; t++) {
		if (!seen_req[t] || !seen_rep[t])
			fail_msg("no seed carries a %s request and reply", proto_type_name((uint16_t)t));
	}
	assert_true(seen_err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_encode_bytes),
		cmocka_unit_test(test_header_refusals),
		cmocka_unit_test(test_type_names),
		cmocka_unit_test(test_hello_bytes),
		cmocka_unit_test(test_roundtrip_hello),
		cmocka_unit_test(test_roundtrip_issue),
		cmocka_unit_test(test_roundtrip_replies),
		cmocka_unit_test(test_truncated_and_trailing),
		cmocka_unit_test(test_issue_field_limits),
		cmocka_unit_test(test_issue_character_sets),
		cmocka_unit_test(test_hello_refusals),
		cmocka_unit_test(test_serial_limits),
		cmocka_unit_test(test_reply_refusals),
		cmocka_unit_test(test_error_refusals),
		cmocka_unit_test(test_encoder_refusals),
		cmocka_unit_test(test_ocsp_bytes),
		cmocka_unit_test(test_roundtrip_ocsp),
		cmocka_unit_test(test_ocsp_refusals),
		cmocka_unit_test(test_ocsp_encoder_refusals),
		cmocka_unit_test(test_dispatch_refusals),
		cmocka_unit_test(test_profiles_bytes),
		cmocka_unit_test(test_roundtrip_profiles),
		cmocka_unit_test(test_profiles_refusals),
		cmocka_unit_test(test_profiles_encoder_refusals),
		cmocka_unit_test(test_dispatch_profiles),
		cmocka_unit_test(test_send_recv),
		cmocka_unit_test(test_send_recv_large),
		cmocka_unit_test(test_recv_closed),
		cmocka_unit_test(test_recv_bad_header),
		cmocka_unit_test(test_send_to_closed_peer),
		cmocka_unit_test(test_call),
		cmocka_unit_test(test_connect),
		cmocka_unit_test(test_seed_corpus),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
