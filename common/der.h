/* der: the small DER writer and reader the signer's hot path uses instead of building
 * OpenSSL objects.  The writer appends TLVs to an ik_buf; the reader walks an ik_buf
 * cursor and checks every length against what remains (DER only: definite, minimal
 * lengths). */
#ifndef IK_DER_H
#define IK_DER_H

#include <stddef.h>
#include <stdint.h>
#include "buf.h"

#define DER_BOOLEAN 0x01
#define DER_INTEGER 0x02
#define DER_BIT_STRING 0x03
#define DER_OCTET_STRING 0x04
#define DER_NULL 0x05
#define DER_OID 0x06
#define DER_ENUMERATED 0x0a
#define DER_UTF8STRING 0x0c
#define DER_PRINTABLESTRING 0x13
#define DER_IA5STRING 0x16
#define DER_UTCTIME 0x17
#define DER_GENERALIZEDTIME 0x18
#define DER_SEQUENCE 0x30
#define DER_SET 0x31
#define DER_CTX(n) (0xa0 | (n))   /* [n] constructed */
#define DER_CTXP(n) (0x80 | (n))  /* [n] primitive */

/* Writer.  der_begin reserves room for a tag and a 4-byte-max length and returns a mark;
 * der_end patches the length (moving the contents if a shorter length form fits). */
ik_status der_put_tlv(ik_buf *b, uint8_t tag, const uint8_t *v, size_t n);
ik_status der_put_len(ik_buf *b, size_t n);
ik_status der_begin(ik_buf *b, uint8_t tag, size_t *mark);
ik_status der_end(ik_buf *b, size_t mark);
/* INTEGER from unsigned big-endian bytes (adds a 0x00 if the top bit is set, strips
 * leading zeros). */
ik_status der_put_uint(ik_buf *b, const uint8_t *be, size_t n);
ik_status der_put_u64(ik_buf *b, uint64_t v);
/* UTCTime before 2050, GeneralizedTime from 2050 (RFC 5280 4.1.2.5). */
ik_status der_put_time(ik_buf *b, int64_t unix_seconds);
/* Size of a TLV with n content bytes. */
size_t der_tlv_size(size_t n);

/* Reader: read one TLV at the cursor; *v points at its contents (borrowed). */
ik_status der_get_tlv(ik_buf *b, uint8_t *tag, const uint8_t **v, size_t *n);
/* Same, but the tag must equal 'want' (IK_ERR_PROTO_FIELD otherwise). */
ik_status der_get_expect(ik_buf *b, uint8_t want, const uint8_t **v, size_t *n);
/* Parse UTCTime / GeneralizedTime contents (Z form only) to unix seconds. */
ik_status der_parse_time(uint8_t tag, const uint8_t *v, size_t n, int64_t *out);

#endif
