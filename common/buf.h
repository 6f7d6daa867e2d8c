/* ik_buf: the one bounds-checked byte buffer.  Every parser of untrusted bytes reads
 * through an ik_buf cursor; every encoder appends through ik_buf_put_*.  Integers on the
 * wire are big-endian.  A buffer marked secret is wiped with OPENSSL_cleanse when freed
 * or reset. */
#ifndef IK_BUF_H
#define IK_BUF_H

#include <stddef.h>
#include <stdint.h>
#include "status.h"

typedef struct ik_buf {
	uint8_t *data;   /* owned unless 'borrowed' */
	size_t len;      /* bytes written */
	size_t off;      /* read cursor, 0 <= off <= len */
	size_t cap;      /* allocated */
	size_t max;      /* hard cap on len (0 = SIZE_MAX) */
	int borrowed;    /* data points at memory we do not own (read-only view) */
	int secret;      /* wipe on free / reset */
} ik_buf;

/* Growable buffer; max 0 means unlimited.  Returns NULL on allocation failure. */
ik_buf *ik_buf_new(size_t max);
void ik_buf_free(ik_buf *b);                 /* accepts NULL; wipes if secret */
void ik_buf_init(ik_buf *b, size_t max);     /* for buffers embedded in a struct/stack */
void ik_buf_cleanup(ik_buf *b);              /* frees the storage of an embedded buffer */
/* A read-only view of caller memory; put_* on it fails with IK_ERR_ARG. */
void ik_buf_view(ik_buf *b, const uint8_t *data, size_t len);
void ik_buf_reset(ik_buf *b);                /* len = off = 0, keeps capacity */
void ik_buf_set_secret(ik_buf *b);

size_t ik_buf_remaining(const ik_buf *b);   /* len - off */
const uint8_t *ik_buf_ptr(const ik_buf *b); /* data + off (readable bytes) */

/* Reserve n bytes at the end and return a pointer to write them (len grows by n). */
ik_status ik_buf_reserve(ik_buf *b, size_t n, uint8_t **out);

ik_status ik_buf_put(ik_buf *b, const void *p, size_t n);
ik_status ik_buf_put_u8(ik_buf *b, uint8_t v);
ik_status ik_buf_put_u16(ik_buf *b, uint16_t v);
ik_status ik_buf_put_u32(ik_buf *b, uint32_t v);
ik_status ik_buf_put_u64(ik_buf *b, uint64_t v);
/* u32 length then the bytes. */
ik_status ik_buf_put_string(ik_buf *b, const void *p, size_t n);
ik_status ik_buf_put_cstring(ik_buf *b, const char *s);
/* The bytes of s alone: no length, no NUL (text output: CSV, metrics). */
ik_status ik_buf_put_text(ik_buf *b, const char *s);

/* Reads: each checks the remaining length first; on failure the cursor does not move
 * and the status is IK_ERR_PROTO_TRUNCATED. */
ik_status ik_buf_get(ik_buf *b, void *p, size_t n);
ik_status ik_buf_get_u8(ik_buf *b, uint8_t *v);
ik_status ik_buf_get_u16(ik_buf *b, uint16_t *v);
ik_status ik_buf_get_u32(ik_buf *b, uint32_t *v);
ik_status ik_buf_get_u64(ik_buf *b, uint64_t *v);
/* A u32-length-prefixed string; the result points into the buffer (no copy).
 * Fails with IK_ERR_PROTO_FIELD if the length exceeds maxlen. */
ik_status ik_buf_get_string_ptr(ik_buf *b, const uint8_t **p, size_t *n, size_t maxlen);
/* Same, copied into a NUL-terminated string; refuses embedded NULs (IK_ERR_PROTO_FIELD). */
ik_status ik_buf_get_cstring(ik_buf *b, char *out, size_t outsz);
/* Skip n bytes. */
ik_status ik_buf_skip(ik_buf *b, size_t n);

/* Checked size arithmetic: returns 0 and sets *r, or -1 on overflow. */
int ik_size_add(size_t a, size_t b, size_t *r);
int ik_size_mul(size_t a, size_t b, size_t *r);

#endif
