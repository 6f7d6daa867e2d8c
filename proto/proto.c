/* proto: encode and decode every RA <-> signer message.  Decoders read exactly the given
 * bytes through an ik_buf view and refuse anything that is not exactly valid; encoders refuse
 * to emit what the decoder would refuse. */
#include <string.h>

#include "proto.h"

/* ---- header ---- */

void proto_header_encode(uint8_t out[PROTO_HDR_LEN], const proto_header *h)
{
	const uint32_t w[3] = { h->len, h->id, h->flags };

	out[0] = (uint8_t)(h->version >> 8);
	out[1] = (uint8_t)h->version;
	out[2] = (uint8_t)(h->type >> 8);
	out[3] = (uint8_t)h->type;
	for (int i = 0; i < 3; i++) {
		out[4 + 4 * i] = (uint8_t)(w[i] >> 24);
		out[5 + 4 * i] = (uint8_t)(w[i] >> 16);
		out[6 + 4 * i] = (uint8_t)(w[i] >> 8);
		out[7 + 4 * i] = (uint8_t)w[i];
	}
}

ik_status proto_header_decode(const uint8_t in[PROTO_HDR_LEN], size_t max_body, proto_header *h)
{
	ik_buf b;

	ik_buf_view(&b, in, PROTO_HDR_LEN);
	(void)ik_buf_get_u16(&b, &h->version);
	(void)ik_buf_get_u16(&b, &h->type);
	(void)ik_buf_get_u32(&b, &h->len);
	(void)ik_buf_get_u32(&b, &h->id);
	(void)ik_buf_get_u32(&b, &h->flags);
	if (h->version != PROTO_VERSION)
		return IK_ERR_PROTO_VERSION;
	if (h->flags != 0)
		return IK_ERR_PROTO_FIELD;
	if (h->len > max_body)
		return IK_ERR_PROTO_OVERSIZE;
	return IK_OK;
}

/* ---- field validation ---- */

static int valid_id(const char *s, size_t n)
{
	if (n == 0 || n > PROTO_MAX_ID)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '.' || c == '_' || c == ':' || c == '-'))
			return 0;
	}
	return 1;
}

static int valid_name(const char *s, size_t n)
{
	if (n == 0 || n > PROTO_MAX_NAME)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

/* UTF-8 (no overlongs, surrogates or > U+10FFFF) without C0/C1 controls or DEL. */
static int valid_text(const uint8_t *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		uint32_t cp;
		size_t len;
		uint8_t c = p[i];

		if (c < 0x80) {
			cp = c;
			len = 1;
		} else if (c >= 0xc2 && c <= 0xdf) {
			cp = c & 0x1fu;
			len = 2;
		} else if (c >= 0xe0 && c <= 0xef) {
			cp = c & 0x0fu;
			len = 3;
		} else if (c >= 0xf0 && c <= 0xf4) {
			cp = c & 0x07u;
			len = 4;
		} else {
			return 0;
		}
		if (n - i < len)
			return 0;
		for (size_t k = 1; k < len; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (p[i + k] & 0x3fu);
		}
		if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0))
			return 0;
		i += len;
	}
	return 1;
}

static int printable_ascii(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] < 0x20 || p[i] > 0x7e)
			return 0;
	return 1;
}

/* Decode a bounded string into a NUL-terminated buffer, checking it with 'ok'. */
static ik_status get_checked(ik_buf *b, char *out, size_t outsz, size_t maxlen,
    int (*ok)(const char *, size_t))
{
	const uint8_t *p;
	size_t n;
	ik_status st = ik_buf_get_string_ptr(b, &p, &n, maxlen);

	if (st != IK_OK)
		return st;
	if (n >= outsz || !ok((const char *)p, n))
		return IK_ERR_PROTO_FIELD;
	memcpy(out, p, n);
	out[n] = '\0';
	return IK_OK;
}

static ik_status finish(const ik_buf *b, ik_status st)
{
	if (st != IK_OK)
		return st;
	return ik_buf_remaining(b) == 0 ? IK_OK : IK_ERR_PROTO_TRAILING;
}

static ik_status get_serial(ik_buf *b, uint8_t *serial, size_t *len)
{
	const uint8_t *p;
	size_t n;
	ik_status st = ik_buf_get_string_ptr(b, &p, &n, PROTO_MAX_SERIAL);

	if (st != IK_OK)
		return st;
	if (n == 0)
		return IK_ERR_PROTO_FIELD;
	memcpy(serial, p, n);
	*len = n;
	return IK_OK;
}

/* ---- HELLO ---- */

ik_status proto_encode_hello(ik_buf *b, const proto_hello *m)
{
	size_t n = strlen(m->peer);
	ik_status st;

	if (!valid_name(m->peer, n) || m->version_min > m->version_max)
		return IK_ERR_ARG;
	if ((st = ik_buf_put_u32(b, m->version_min)) != IK_OK ||
	    (st = ik_buf_put_u32(b, m->version_max)) != IK_OK)
		return st;
	return ik_buf_put_string(b, m->peer, n);
}

ik_status proto_decode_hello(const uint8_t *p, size_t n, proto_hello *m)
{
	ik_buf b;
	ik_status st;

	ik_buf_view(&b, p, n);
	memset(m, 0, sizeof(*m));
	if ((st = ik_buf_get_u32(&b, &m->version_min)) == IK_OK &&
	    (st = ik_buf_get_u32(&b, &m->version_max)) == IK_OK)
		st = get_checked(&b, m->peer, sizeof(m->peer), PROTO_MAX_NAME, valid_name);
	if (st == IK_OK && m->version_min > m->version_max)
		st = IK_ERR_PROTO_FIELD;
	return finish(&b, st);
}

ik_status proto_encode_hello_reply(ik_buf *b, const proto_hello_reply *m)
{
	size_t n = strlen(m->peer);
	ik_status st;

	if (!valid_name(m->peer, n))
		return IK_ERR_ARG;
	if ((st = ik_buf_put_u32(b, m->version)) != IK_OK)
		return st;
	return ik_buf_put_string(b, m->peer, n);
}

ik_status proto_decode_hello_reply(const uint8_t *p, size_t n, proto_hello_reply *m)
{
	ik_buf b;
	ik_status st;

	ik_buf_view(&b, p, n);
	memset(m, 0, sizeof(*m));
	if ((st = ik_buf_get_u32(&b, &m->version)) == IK_OK)
		st = get_checked(&b, m->peer, sizeof(m->peer), PROTO_MAX_NAME, valid_name);
	return finish(&b, st);
}

/* ---- ISSUE ---- */

ik_status proto_encode_issue(ik_buf *b, const proto_issue *m)
{
	size_t idn = strlen(m->request_id), pn = strlen(m->profile);
	ik_status st;

	if (!valid_id(m->request_id, idn) || !valid_name(m->profile, pn) || m->spki_len == 0 ||
	    m->spki_len > PROTO_MAX_SPKI || m->nattrs > PROTO_MAX_ATTRS)
		return IK_ERR_ARG;
	for (uint8_t i = 0; i < m->nattrs; i++) {
		size_t vn = strlen(m->attrs[i].value);
		if (m->attrs[i].type < 1 || m->attrs[i].type > PROTO_ATTR_MAX || vn == 0 ||
		    vn > PROTO_MAX_ATTR_LEN || !valid_text((const uint8_t *)m->attrs[i].value, vn))
			return IK_ERR_ARG;
	}
	if ((st = ik_buf_put_string(b, m->request_id, idn)) != IK_OK ||
	    (st = ik_buf_put_string(b, m->profile, pn)) != IK_OK ||
	    (st = ik_buf_put_string(b, m->spki, m->spki_len)) != IK_OK ||
	    (st = ik_buf_put_u8(b, m->nattrs)) != IK_OK)
		return st;
	for (uint8_t i = 0; i < m->nattrs; i++)
		if ((st = ik_buf_put_u8(b, m->attrs[i].type)) != IK_OK ||
		    (st = ik_buf_put_cstring(b, m->attrs[i].value)) != IK_OK)
			return st;
	if ((st = ik_buf_put_u64(b, m->not_before)) != IK_OK ||
	    (st = ik_buf_put_u64(b, m->not_after)) != IK_OK)
		return st;
	return ik_buf_put_u32(b, m->flags);
}

static ik_status get_attr(ik_buf *b, proto_attr_val *a)
{
	const uint8_t *p;
	size_t n;
	ik_status st;

	if ((st = ik_buf_get_u8(b, &a->type)) != IK_OK)
		return st;
	if (a->type < 1 || a->type > PROTO_ATTR_MAX)
		return IK_ERR_PROTO_FIELD;
	if ((st = ik_buf_get_string_ptr(b, &p, &n, PROTO_MAX_ATTR_LEN)) != IK_OK)
		return st;
	if (n == 0 || !valid_text(p, n))
		return IK_ERR_PROTO_FIELD;
	memcpy(a->value, p, n);
	a->value[n] = '\0';
	return IK_OK;
}

ik_status proto_decode_issue(const uint8_t *p, size_t n, proto_issue *m)
{
	ik_buf b;
	ik_status st;

	ik_buf_view(&b, p, n);
	memset(m, 0, sizeof(*m));
	if ((st = get_checked(&b, m->request_id, sizeof(m->request_id), PROTO_MAX_ID, valid_id)) != IK_OK ||
	    (st = get_checked(&b, m->profile, sizeof(m->profile), PROTO_MAX_NAME, valid_name)) != IK_OK ||
	    (st = ik_buf_get_string_ptr(&b, &m->spki, &m->spki_len, PROTO_MAX_SPKI)) != IK_OK ||
	    (st = ik_buf_get_u8(&b, &m->nattrs)) != IK_OK)
		return st;
	if (m->spki_len == 0 || m->nattrs > PROTO_MAX_ATTRS)
		return IK_ERR_PROTO_FIELD;
	for (uint8_t i = 0; i < m->nattrs; i++)
		if ((st = get_attr(&b, &m->attrs[i])) != IK_OK)
			return st;
	if ((st = ik_buf_get_u64(&b, &m->not_before)) == IK_OK &&
	    (st = ik_buf_get_u64(&b, &m->not_after)) == IK_OK)
		st = ik_buf_get_u32(&b, &m->flags);
	return finish(&b, st);
}

ik_status proto_encode_issue_reply(ik_buf *b, const proto_issue_reply *m)
{
	ik_status st;

	if (m->serial_len == 0 || m->serial_len > PROTO_MAX_SERIAL || m->cert_len == 0 ||
	    m->cert_len > PROTO_MAX_REPLY || m->replayed > 1)
		return IK_ERR_ARG;
	if ((st = ik_buf_put_string(b, m->serial, m->serial_len)) != IK_OK ||
	    (st = ik_buf_put_string(b, m->cert, m->cert_len)) != IK_OK)
		return st;
	return ik_buf_put_u8(b, m->replayed);
}

ik_status proto_decode_issue_reply(const uint8_t *p, size_t n, proto_issue_reply *m)
{
	ik_buf b;
	ik_status st;

	ik_buf_view(&b, p, n);
	memset(m, 0, sizeof(*m));
	if ((st = get_serial(&b, m->serial, &m->serial_len)) == IK_OK &&
	    (st = ik_buf_get_string_ptr(&b, &m->cert, &m->cert_len, PROTO_MAX_REPLY)) == IK_OK &&
	    (st = ik_buf_get_u8(&b, &m->replayed)) == IK_OK &&
	    (m->cert_len == 0 || m->replayed > 1))
		st = IK_ERR_PROTO_FIELD;
	return finish(&b, st);
}

/* ---- REVOKE / HOLD / RELEASE ---- */

ik_status proto_encode_revoke(ik_buf *b, const proto_revoke *m)
{
	ik_status st;

	if (m->serial_len == 0 || m->serial_len > PROTO_MAX_SERIAL)
		return IK_ERR_ARG;
	if ((st = ik_buf_put_string(b, m->serial, m->serial_len)) != IK_OK ||
	    (st = ik_buf_put_u8(b, m->reason)) != IK_OK)
		return st;
	return ik_buf_put_u64(b, m->when);
}

ik_status proto_decode_revoke(const uint8_t *p, size_t n, proto_revoke *m)
{
	ik_buf b;
	ik_status st;

	ik_buf_view(&b, p, n);
	memset(m, 0, sizeof(*m));
	if ((st = get_serial(&b, m->serial, &m->serial_len)) == IK_OK &&
	    (st = ik_buf_get_u8(&b, &m->reason)) == IK_OK)
		st = ik_buf_get_u64(&b, &m->when);
	return finish(&b, st);
}

ik_status proto_encode_revoke_reply(ik_buf *b, const proto_revoke_reply *m)
{
	ik_status st;

	if (m->state > PROTO_STATE_REVOKED)
		return IK_ERR_ARG;
	if ((st = ik_buf_put_u64(b, m->when)) != IK_OK)
		return st;
	return ik_buf_put_u8(b, m->state);
}

ik_status proto_decode_revoke_reply(const uint8_t *p, size_t n, proto_revoke_reply *m)
{
	ik_buf b;
	ik_status st;

	ik_buf_view(&b, p, n);
	memset(m, 0, sizeof(*m));
	if ((st = ik_buf_get_u64(&b, &m->when)) == IK_OK &&
	    (st = ik_buf_get_u8(&b, &m->state)) == IK_OK && m->state > PROTO_STATE_REVOKED)
		st = IK_ERR_PROTO_FIELD;
	return finish(&b, st);
}

/* ---- GET_CHAIN / GET_CRL / STATUS replies ---- */

ik_status proto_encode_chain_reply(ik_buf *b, const proto_chain_reply *m)
{
	ik_status st;

	if (m->n == 0 || m->n > PROTO_MAX_CHAIN)
		return IK_ERR_ARG;
	for (uint8_t i = 0; i < m->n; i++) /* all checked before anything is written */
		if (m->cert_len[i] == 0 || m->cert_len[i] > PROTO_MAX_REPLY)
			return IK_ERR_ARG;
	if ((st = ik_buf_put_u8(b, m->n)) != IK_OK)
		return st;
	for (uint8_t i = 0; i < m->n; i++)
		if ((st = ik_buf_put_string(b, m->cert[i], m->cert_len[i])) != IK_OK)
			return st;
	return IK_OK;
}

ik_status proto_decode_chain_reply(const uint8_t *p, size_t n, proto_chain_reply *m)
{
	ik_buf b;
	ik_status st;

	ik_buf_view(&b, p, n);
	memset(m, 0, sizeof(*m));
	if ((st = ik_buf_get_u8(&b, &m->n)) != IK_OK)
		return st;
	if (m->n == 0 || m->n > PROTO_MAX_CHAIN)
		return IK_ERR_PROTO_FIELD;
	for (uint8_t i = 0; i < m->n; i++) {
		if ((st = ik_buf_get_string_ptr(&b, &m->cert[i], &m->cert_len[i], PROTO_MAX_REPLY)) != IK_OK)
			return st;
		if (m->cert_len[i] == 0)
			return IK_ERR_PROTO_FIELD;
	}
	return finish(&b, IK_OK);
}

ik_status proto_encode_crl_reply_head(ik_buf *b, const proto_crl_reply *m)
{
	ik_status st;

	if (m->crl_len == 0 || m->crl_len > PROTO_MAX_REPLY)
		return IK_ERR_ARG;
	if ((st = ik_buf_put_u64(b, m->crl_number)) != IK_OK ||
	    (st = ik_buf_put_u64(b, m->this_update)) != IK_OK ||
	    (st = ik_buf_put_u64(b, m->next_update)) != IK_OK)
		return st;
	return ik_buf_put_u32(b, (uint32_t)m->crl_len);
}

ik_status proto_encode_crl_reply(ik_buf *b, const proto_crl_reply *m)
{
	ik_status st;

	if (m->crl == NULL)
		return IK_ERR_ARG;
	if ((st = proto_encode_crl_reply_head(b, m)) != IK_OK)
		return st;
	return ik_buf_put(b, m->crl, m->crl_len);
}

ik_status proto_decode_crl_reply(const uint8_t *p, size_t n, proto_crl_reply *m)
{
	ik_buf b;
	ik_status st;

	ik_buf_view(&b, p, n);
	memset(m, 0, sizeof(*m));
	if ((st = ik_buf_get_u64(&b, &m->crl_number)) == IK_OK &&
	    (st = ik_buf_get_u64(&b, &m->this_update)) == IK_OK &&
	    (st = ik_buf_get_u64(&b, &m->next_update)) == IK_OK &&
	    (st = ik_buf_get_string_ptr(&b, &m->crl, &m->crl_len, PROTO_MAX_REPLY)) == IK_OK &&
	    m->crl_len == 0)
		st = IK_ERR_PROTO_FIELD;
	return finish(&b, st);
}

ik_status proto_encode_status_reply(ik_buf *b, const proto_status_reply *m)
{
	ik_status st;

	if (m->hsm_ok > 1)
		return IK_ERR_ARG;
	if ((st = ik_buf_put_u8(b, m->hsm_ok)) != IK_OK ||
	    (st = ik_buf_put_u64(b, m->issued)) != IK_OK ||
	    (st = ik_buf_put_u64(b, m->revoked)) != IK_OK ||
	    (st = ik_buf_put_u64(b, m->held)) != IK_OK ||
	    (st = ik_buf_put_u64(b, m->crl_number)) != IK_OK)
		return st;
	return ik_buf_put_u64(b, m->uptime);
}

ik_status proto_decode_status_reply(const uint8_t *p, size_t n, proto_status_reply *m)
{
	ik_buf b;
	ik_status st;

	ik_buf_view(&b, p, n);
	memset(m, 0, sizeof(*m));
	if ((st = ik_buf_get_u8(&b, &m->hsm_ok)) == IK_OK &&
	    (st = ik_buf_get_u64(&b, &m->issued)) == IK_OK &&
	    (st = ik_buf_get_u64(&b, &m->revoked)) == IK_OK &&
	    (st = ik_buf_get_u64(&b, &m->held)) == IK_OK &&
	    (st = ik_buf_get_u64(&b, &m->crl_number)) == IK_OK &&
	    (st = ik_buf_get_u64(&b, &m->uptime)) == IK_OK && m->hsm_ok > 1)
		st = IK_ERR_PROTO_FIELD;
	return finish(&b, st);
}

/* ---- OCSP ---- */

size_t proto_hash_len(uint8_t hash)
{
	static const size_t len[PROTO_HASH_MAX + 1] = { 0, 20, 32, 48, 64 };

	return hash <= PROTO_HASH_MAX ? len[hash] : 0;
}

ik_status proto_encode_ocsp(ik_buf *b, const proto_ocsp *m)
{
	ik_status st;

	if (m->n == 0 || m->n > PROTO_MAX_OCSP_IDS || m->nonce_len > PROTO_MAX_NONCE)
		return IK_ERR_ARG;
	for (uint8_t i = 0; i < m->n; i++)
		if (proto_hash_len(m->ids[i].hash) == 0 || m->ids[i].serial_len == 0 ||
		    m->ids[i].serial_len > PROTO_MAX_SERIAL)
			return IK_ERR_ARG;
	if ((st = ik_buf_put_u8(b, m->n)) != IK_OK)
		return st;
	for (uint8_t i = 0; i < m->n; i++) {
		const proto_ocsp_id *id = &m->ids[i];
		size_t hl = proto_hash_len(id->hash);
		if ((st = ik_buf_put_u8(b, id->hash)) != IK_OK ||
		    (st = ik_buf_put_string(b, id->name_hash, hl)) != IK_OK ||
		    (st = ik_buf_put_string(b, id->key_hash, hl)) != IK_OK ||
		    (st = ik_buf_put_string(b, id->serial, id->serial_len)) != IK_OK)
			return st;
	}
	return ik_buf_put_string(b, m->nonce, m->nonce_len);
}

/* A string of exactly want bytes into out. */
static ik_status get_exact(ik_buf *b, uint8_t *out, size_t want)
{
	const uint8_t *p;
	size_t n;
	ik_status st = ik_buf_get_string_ptr(b, &p, &n, want);

	if (st != IK_OK)
		return st;
	if (n != want)
		return IK_ERR_PROTO_FIELD;
	memcpy(out, p, n);
	return IK_OK;
}

static ik_status get_ocsp_id(ik_buf *b, proto_ocsp_id *id)
{
	size_t hl;
	ik_status st;

	if ((st = ik_buf_get_u8(b, &id->hash)) != IK_OK)
		return st;
	if ((hl = proto_hash_len(id->hash)) == 0)
		return IK_ERR_PROTO_FIELD;
	if ((st = get_exact(b, id->name_hash, hl)) != IK_OK ||
	    (st = get_exact(b, id->key_hash, hl)) != IK_OK)
		return st;
	return get_serial(b, id->serial, &id->serial_len);
}

ik_status proto_decode_ocsp(const uint8_t *p, size_t n, proto_ocsp *m)
{
	ik_buf b;
	const uint8_t *nonce;
	ik_status st;

	ik_buf_view(&b, p, n);
	memset(m, 0, sizeof(*m));
	if ((st = ik_buf_get_u8(&b, &m->n)) != IK_OK)
		return st;
	if (m->n == 0 || m->n > PROTO_MAX_OCSP_IDS)
		return IK_ERR_PROTO_FIELD;
	for (uint8_t i = 0; i < m->n; i++)
		if ((st = get_ocsp_id(&b, &m->ids[i])) != IK_OK)
			return st;
	if ((st = ik_buf_get_string_ptr(&b, &nonce, &m->nonce_len, PROTO_MAX_NONCE)) != IK_OK)
		return st;
	if (m->nonce_len > 0)
		memcpy(m->nonce, nonce, m->nonce_len);
	return finish(&b, IK_OK);
}

static int ocsp_status_ok(uint8_t s)
{
	return s == PROTO_OCSP_SUCCESSFUL || s == PROTO_OCSP_UNAUTHORIZED;
}

ik_status proto_encode_ocsp_reply(ik_buf *b, const proto_ocsp_reply *m)
{
	ik_status st;

	if (!ocsp_status_ok(m->status) || m->next_update < m->this_update ||
	    m->response_len == 0 || m->response_len > PROTO_MAX_OCSP_RESPONSE)
		return IK_ERR_ARG;
	if ((st = ik_buf_put_u8(b, m->status)) != IK_OK ||
	    (st = ik_buf_put_u64(b, m->this_update)) != IK_OK ||
	    (st = ik_buf_put_u64(b, m->next_update)) != IK_OK)
		return st;
	return ik_buf_put_string(b, m->response, m->response_len);
}

ik_status proto_decode_ocsp_reply(const uint8_t *p, size_t n, proto_ocsp_reply *m)
{
	ik_buf b;
	ik_status st;

	ik_buf_view(&b, p, n);
	memset(m, 0, sizeof(*m));
	if ((st = ik_buf_get_u8(&b, &m->status)) != IK_OK)
		return st;
	if (!ocsp_status_ok(m->status))
		return IK_ERR_PROTO_FIELD;
	if ((st = ik_buf_get_u64(&b, &m->this_update)) != IK_OK ||
	    (st = ik_buf_get_u64(&b, &m->next_update)) != IK_OK)
		return st;
	if (m->next_update < m->this_update)
		return IK_ERR_PROTO_FIELD;
	if ((st = ik_buf_get_string_ptr(&b, &m->response, &m->response_len,
	    PROTO_MAX_OCSP_RESPONSE)) != IK_OK)
		return st;
	if (m->response_len == 0)
		return IK_ERR_PROTO_FIELD;
	return finish(&b, IK_OK);
}

/* ---- PROFILES reply ---- */

static int valid_url(const char *s, int may_be_empty)
{
	size_t n = strlen(s);

	return (n > 0 || may_be_empty) && n <= PROTO_MAX_URL &&
	    printable_ascii((const uint8_t *)s, n);
}

/* Everything the decoder checks of one profile, so the encoder can refuse first. */
static int valid_profile(const proto_profile *pr)
{
	unsigned seen = 0;

	if (!valid_name(pr->name, strlen(pr->name)) || pr->usage > PROTO_USAGE_MAX ||
	    pr->key_types == 0 || (pr->key_types & ~PROTO_KEY_ALL) != 0 ||
	    pr->rsa_min_bits < 2048 || pr->rsa_min_bits > 8192 || pr->max_days == 0 ||
	    pr->max_days > PROTO_MAX_PROFILE_DAYS || pr->backdate > PROTO_MAX_BACKDATE ||
	    (pr->attrs_allowed & ~PROTO_ATTR_MASK) != 0 ||
	    (pr->attrs_required & ~PROTO_ATTR_MASK) != 0 || pr->nfixed > PROTO_ATTR_MAX ||
	    !valid_url(pr->crl_url, 0) || !valid_url(pr->ocsp_url, 1) ||
	    !valid_url(pr->ca_issuers_url, 1))
		return 0;
	for (uint8_t i = 0; i < pr->nfixed; i++) {
		const proto_attr_val *a = &pr->fixed[i];
		size_t vn = strlen(a->value);
		if (a->type < 1 || a->type > PROTO_ATTR_MAX || (seen & (1u << a->type)) != 0 ||
		    vn == 0 || vn > PROTO_MAX_ATTR_LEN || !valid_text((const uint8_t *)a->value, vn))
			return 0;
		seen |= 1u << a->type;
	}
	return 1;
}

static ik_status put_profile(ik_buf *b, const proto_profile *pr)
{
	ik_status st;

	if ((st = ik_buf_put_cstring(b, pr->name)) != IK_OK ||
	    (st = ik_buf_put_u8(b, pr->usage)) != IK_OK ||
	    (st = ik_buf_put_u8(b, pr->key_types)) != IK_OK ||
	    (st = ik_buf_put_u32(b, pr->rsa_min_bits)) != IK_OK ||
	    (st = ik_buf_put_u32(b, pr->max_days)) != IK_OK ||
	    (st = ik_buf_put_u32(b, pr->backdate)) != IK_OK ||
	    (st = ik_buf_put_u8(b, pr->attrs_allowed)) != IK_OK ||
	    (st = ik_buf_put_u8(b, pr->attrs_required)) != IK_OK ||
	    (st = ik_buf_put_u8(b, pr->nfixed)) != IK_OK)
		return st;
	for (uint8_t i = 0; i < pr->nfixed; i++)
		if ((st = ik_buf_put_u8(b, pr->fixed[i].type)) != IK_OK ||
		    (st = ik_buf_put_cstring(b, pr->fixed[i].value)) != IK_OK)
			return st;
	if ((st = ik_buf_put_cstring(b, pr->crl_url)) != IK_OK ||
	    (st = ik_buf_put_cstring(b, pr->ocsp_url)) != IK_OK)
		return st;
	return ik_buf_put_cstring(b, pr->ca_issuers_url);
}

ik_status proto_encode_profiles_reply(ik_buf *b, const proto_profiles_reply *m)
{
	ik_status st;

	if (m->n == 0 || m->n > PROTO_MAX_PROFILES)
		return IK_ERR_ARG;
	for (uint8_t i = 0; i < m->n; i++) { /* all checked before anything is written */
		if (!valid_profile(&m->p[i]))
			return IK_ERR_ARG;
		for (uint8_t k = 0; k < i; k++)
			if (strcmp(m->p[k].name, m->p[i].name) == 0)
				return IK_ERR_ARG;
	}
	if ((st = ik_buf_put_u8(b, m->n)) != IK_OK)
		return st;
	for (uint8_t i = 0; i < m->n; i++)
		if ((st = put_profile(b, &m->p[i])) != IK_OK)
			return st;
	return IK_OK;
}

/* A URL of 0 (if may_be_empty) or 1..PROTO_MAX_URL printable ASCII bytes. */
static ik_status get_url(ik_buf *b, char out[PROTO_MAX_URL + 1], int may_be_empty)
{
	const uint8_t *p;
	size_t n;
	ik_status st = ik_buf_get_string_ptr(b, &p, &n, PROTO_MAX_URL);

	if (st != IK_OK)
		return st;
	if ((n == 0 && !may_be_empty) || !printable_ascii(p, n))
		return IK_ERR_PROTO_FIELD;
	memcpy(out, p, n);
	out[n] = '\0';
	return IK_OK;
}

/* u8 / u32 fields of a profile, each checked as soon as it is read. */
static ik_status get_u8_in(ik_buf *b, uint8_t *v, unsigned lo, unsigned hi, unsigned mask)
{
	ik_status st = ik_buf_get_u8(b, v);

	if (st == IK_OK && (*v < lo || *v > hi || (*v & ~mask) != 0))
		st = IK_ERR_PROTO_FIELD;
	return st;
}

static ik_status get_u32_in(ik_buf *b, uint32_t *v, uint32_t lo, uint32_t hi)
{
	ik_status st = ik_buf_get_u32(b, v);

	if (st == IK_OK && (*v < lo || *v > hi))
		st = IK_ERR_PROTO_FIELD;
	return st;
}

static ik_status get_profile(ik_buf *b, proto_profile *pr)
{
	unsigned seen = 0;
	ik_status st;

	if ((st = get_checked(b, pr->name, sizeof(pr->name), PROTO_MAX_NAME, valid_name)) != IK_OK ||
	    (st = get_u8_in(b, &pr->usage, 0, PROTO_USAGE_MAX, 0xffu)) != IK_OK ||
	    (st = get_u8_in(b, &pr->key_types, 1, PROTO_KEY_ALL, PROTO_KEY_ALL)) != IK_OK ||
	    (st = get_u32_in(b, &pr->rsa_min_bits, 2048, 8192)) != IK_OK ||
	    (st = get_u32_in(b, &pr->max_days, 1, PROTO_MAX_PROFILE_DAYS)) != IK_OK ||
	    (st = get_u32_in(b, &pr->backdate, 0, PROTO_MAX_BACKDATE)) != IK_OK ||
	    (st = get_u8_in(b, &pr->attrs_allowed, 0, 0xff, PROTO_ATTR_MASK)) != IK_OK ||
	    (st = get_u8_in(b, &pr->attrs_required, 0, 0xff, PROTO_ATTR_MASK)) != IK_OK ||
	    (st = get_u8_in(b, &pr->nfixed, 0, PROTO_ATTR_MAX, 0xffu)) != IK_OK)
		return st;
	for (uint8_t i = 0; i < pr->nfixed; i++) {
		if ((st = get_attr(b, &pr->fixed[i])) != IK_OK)
			return st;
		if ((seen & (1u << pr->fixed[i].type)) != 0)
			return IK_ERR_PROTO_FIELD; /* one fixed value per attribute */
		seen |= 1u << pr->fixed[i].type;
	}
	if ((st = get_url(b, pr->crl_url, 0)) != IK_OK ||
	    (st = get_url(b, pr->ocsp_url, 1)) != IK_OK)
		return st;
	return get_url(b, pr->ca_issuers_url, 1);
}

ik_status proto_decode_profiles_reply(const uint8_t *p, size_t n, proto_profiles_reply *m)
{
	ik_buf b;
	ik_status st;

	ik_buf_view(&b, p, n);
	memset(m, 0, sizeof(*m));
	if ((st = get_u8_in(&b, &m->n, 1, PROTO_MAX_PROFILES, 0xffu)) != IK_OK)
		return st;
	for (uint8_t i = 0; i < m->n; i++) {
		if ((st = get_profile(&b, &m->p[i])) != IK_OK)
			return st;
		for (uint8_t k = 0; k < i; k++)
			if (strcmp(m->p[k].name, m->p[i].name) == 0)
				return IK_ERR_PROTO_FIELD;
	}
	return finish(&b, IK_OK);
}

/* ---- ERROR ---- */

ik_status proto_encode_error(ik_buf *b, const proto_error *m)
{
	size_t n = strlen(m->detail);
	ik_status st;

	if (n > PROTO_MAX_DETAIL || !printable_ascii((const uint8_t *)m->detail, n))
		return IK_ERR_ARG;
	if ((st = ik_buf_put_u32(b, m->status)) != IK_OK)
		return st;
	return ik_buf_put_string(b, m->detail, n);
}

ik_status proto_decode_error(const uint8_t *p, size_t n, proto_error *m)
{
	ik_buf b;
	const uint8_t *d;
	size_t dn;
	ik_status st;

	ik_buf_view(&b, p, n);
	memset(m, 0, sizeof(*m));
	if ((st = ik_buf_get_u32(&b, &m->status)) != IK_OK ||
	    (st = ik_buf_get_string_ptr(&b, &d, &dn, PROTO_MAX_DETAIL)) != IK_OK)
		return st;
	if (!printable_ascii(d, dn))
		return IK_ERR_PROTO_FIELD;
	memcpy(m->detail, d, dn);
	m->detail[dn] = '\0';
	return finish(&b, IK_OK);
}

ik_status proto_decode_empty(const uint8_t *p, size_t n)
{
	(void)p;
	return n == 0 ? IK_OK : IK_ERR_PROTO_TRAILING;
}

const char *proto_type_name(uint16_t type)
{
	switch (type & (uint16_t)~PROTO_REPLY) {
	case PROTO_HELLO: return "hello";
	case PROTO_ISSUE: return "issue";
	case PROTO_REVOKE: return "revoke";
	case PROTO_HOLD: return "hold";
	case PROTO_RELEASE: return "release";
	case PROTO_GET_CHAIN: return "get-chain";
	case PROTO_GET_CRL: return "get-crl";
	case PROTO_STATUS: return "status";
	case PROTO_OCSP: return "ocsp";
	case PROTO_PROFILES: return "profiles";
	default: return type == PROTO_ERROR ? "error" : "unknown";
	}
}
