/* ik_buf: the one bounds-checked byte buffer; every get checks the remaining length first,
 * every put checks the cap and the arithmetic; secret buffers are wiped when they go. */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "buf.h"

int ik_size_add(size_t a, size_t b, size_t *r)
{
	if (a > SIZE_MAX - b)
		return -1;
	*r = a + b;
	return 0;
}

int ik_size_mul(size_t a, size_t b, size_t *r)
{
	if (a != 0 && b > SIZE_MAX / a)
		return -1;
	*r = a * b;
	return 0;
}

void ik_buf_init(ik_buf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
}

ik_buf *ik_buf_new(size_t max)
{
	ik_buf *b = malloc(sizeof(*b));

	if (b != NULL)
		ik_buf_init(b, max);
	return b;
}

void ik_buf_cleanup(ik_buf *b)
{
	if (b == NULL)
		return;
	if (!b->borrowed && b->data != NULL) {
		if (b->secret)
			OPENSSL_cleanse(b->data, b->cap);
		free(b->data);
	}
	b->data = NULL;
	b->len = b->off = b->cap = 0;
	b->borrowed = 0;
}

void ik_buf_free(ik_buf *b)
{
	if (b == NULL)
		return;
	ik_buf_cleanup(b);
	free(b);
}

void ik_buf_view(ik_buf *b, const uint8_t *data, size_t len)
{
	memset(b, 0, sizeof(*b));
	/* The view never writes through this pointer: put_* refuse borrowed buffers. */
	b->data = (uint8_t *)(uintptr_t)data;
	b->len = len;
	b->cap = len;
	b->borrowed = 1;
}

void ik_buf_reset(ik_buf *b)
{
	if (b->secret && !b->borrowed && b->data != NULL)
		OPENSSL_cleanse(b->data, b->len);
	if (!b->borrowed)
		b->len = 0; /* a view keeps its bytes and is only rewound */
	b->off = 0;
}

void ik_buf_set_secret(ik_buf *b)
{
	b->secret = 1;
}

size_t ik_buf_remaining(const ik_buf *b)
{
	return b->len - b->off;
}

const uint8_t *ik_buf_ptr(const ik_buf *b)
{
	return b->data != NULL ? b->data + b->off : (const uint8_t *)"";
}

static ik_status grow(ik_buf *b, size_t need)
{
	size_t ncap = b->cap < 256 ? 256 : b->cap;
	uint8_t *n;

	while (ncap < need) {
		if (ik_size_mul(ncap, 2, &ncap) != 0)
			return IK_ERR_NOMEM;
	}
	if (b->max != 0 && ncap > b->max)
		ncap = b->max < need ? need : b->max;
	if (b->secret) {
		/* never leave a copy of a secret behind in freed memory */
		n = malloc(ncap);
		if (n == NULL)
			return IK_ERR_NOMEM;
		if (b->data != NULL) {
			memcpy(n, b->data, b->len);
			OPENSSL_cleanse(b->data, b->cap);
			free(b->data);
		}
	} else {
		n = realloc(b->data, ncap);
		if (n == NULL)
			return IK_ERR_NOMEM;
	}
	b->data = n;
	b->cap = ncap;
	return IK_OK;
}

ik_status ik_buf_reserve(ik_buf *b, size_t n, uint8_t **out)
{
	size_t need;
	ik_status st;

	if (b->borrowed)
		return IK_ERR_ARG;
	if (ik_size_add(b->len, n, &need) != 0)
		return IK_ERR_PROTO_OVERSIZE;
	if (b->max != 0 && need > b->max)
		return IK_ERR_PROTO_OVERSIZE;
	/* grow also when nothing is allocated yet, so *out is never NULL + 0 */
	if ((need > b->cap || b->data == NULL) && (st = grow(b, need)) != IK_OK)
		return st;
	*out = b->data + b->len;
	b->len = need;
	return IK_OK;
}

ik_status ik_buf_put(ik_buf *b, const void *p, size_t n)
{
	uint8_t *dst;
	ik_status st;

	if (n == 0)
		return b->borrowed ? IK_ERR_ARG : IK_OK;
	if ((st = ik_buf_reserve(b, n, &dst)) != IK_OK)
		return st;
	memcpy(dst, p, n);
	return IK_OK;
}

ik_status ik_buf_put_u8(ik_buf *b, uint8_t v)
{
	return ik_buf_put(b, &v, 1);
}

ik_status ik_buf_put_u16(ik_buf *b, uint16_t v)
{
	const uint8_t x[2] = { (uint8_t)(v >> 8), (uint8_t)v };

	return ik_buf_put(b, x, sizeof(x));
}

ik_status ik_buf_put_u32(ik_buf *b, uint32_t v)
{
	const uint8_t x[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };

	return ik_buf_put(b, x, sizeof(x));
}

ik_status ik_buf_put_u64(ik_buf *b, uint64_t v)
{
	uint8_t x[8];

	for (int i = 0; i < 8; i++)
		x[i] = (uint8_t)(v >> (56 - 8 * i));
	return ik_buf_put(b, x, sizeof(x));
}

ik_status ik_buf_put_string(ik_buf *b, const void *p, size_t n)
{
	uint8_t *dst;
	size_t total;
	ik_status st;

	if (n > UINT32_MAX || ik_size_add(n, 4, &total) != 0)
		return IK_ERR_PROTO_OVERSIZE;
	if ((st = ik_buf_reserve(b, total, &dst)) != IK_OK)
		return st;
	dst[0] = (uint8_t)(n >> 24);
	dst[1] = (uint8_t)(n >> 16);
	dst[2] = (uint8_t)(n >> 8);
	dst[3] = (uint8_t)n;
	if (n > 0)
		memcpy(dst + 4, p, n);
	return IK_OK;
}

ik_status ik_buf_put_cstring(ik_buf *b, const char *s)
{
	return ik_buf_put_string(b, s, strlen(s));
}

ik_status ik_buf_get(ik_buf *b, void *p, size_t n)
{
	if (ik_buf_remaining(b) < n)
		return IK_ERR_PROTO_TRUNCATED;
	if (n > 0)
		memcpy(p, b->data + b->off, n);
	b->off += n;
	return IK_OK;
}

ik_status ik_buf_skip(ik_buf *b, size_t n)
{
	if (ik_buf_remaining(b) < n)
		return IK_ERR_PROTO_TRUNCATED;
	b->off += n;
	return IK_OK;
}

ik_status ik_buf_get_u8(ik_buf *b, uint8_t *v)
{
	return ik_buf_get(b, v, 1);
}

ik_status ik_buf_get_u16(ik_buf *b, uint16_t *v)
{
	uint8_t x[2];
	ik_status st = ik_buf_get(b, x, sizeof(x));

	if (st == IK_OK)
		*v = (uint16_t)((unsigned)x[0] << 8 | x[1]);
	return st;
}

ik_status ik_buf_get_u32(ik_buf *b, uint32_t *v)
{
	uint8_t x[4];
	ik_status st = ik_buf_get(b, x, sizeof(x));

	if (st == IK_OK)
		*v = (uint32_t)x[0] << 24 | (uint32_t)x[1] << 16 | (uint32_t)x[2] << 8 | x[3];
	return st;
}

ik_status ik_buf_get_u64(ik_buf *b, uint64_t *v)
{
	uint8_t x[8];
	ik_status st = ik_buf_get(b, x, sizeof(x));

	if (st == IK_OK) {
		*v = 0;
		for (int i = 0; i < 8; i++)
			*v = *v << 8 | x[i];
	}
	return st;
}

ik_status ik_buf_get_string_ptr(ik_buf *b, const uint8_t **p, size_t *n, size_t maxlen)
{
	size_t save = b->off;
	uint32_t len;
	ik_status st;

	if ((st = ik_buf_get_u32(b, &len)) != IK_OK)
		return st;
	if (len > maxlen) {
		b->off = save;
		return IK_ERR_PROTO_FIELD;
	}
	if (ik_buf_remaining(b) < len) {
		b->off = save;
		return IK_ERR_PROTO_TRUNCATED;
	}
	*p = b->data + b->off;
	*n = len;
	b->off += len;
	return IK_OK;
}

ik_status ik_buf_get_cstring(ik_buf *b, char *out, size_t outsz)
{
	size_t save = b->off, n;
	const uint8_t *p;
	ik_status st;

	if (outsz == 0)
		return IK_ERR_ARG;
	if ((st = ik_buf_get_string_ptr(b, &p, &n, outsz - 1)) != IK_OK)
		return st;
	if (memchr(p, 0, n) != NULL) {
		b->off = save;
		return IK_ERR_PROTO_FIELD;
	}
	memcpy(out, p, n);
	out[n] = '\0';
	return IK_OK;
}

ik_status ik_buf_put_text(ik_buf *b, const char *s)
{
	return ik_buf_put(b, s, strlen(s));
}
