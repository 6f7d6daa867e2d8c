/* der: a small DER writer (appends TLVs to an ik_buf, patches lengths in place) and a
 * strict DER reader (single-byte tags, definite minimal lengths, bounds-checked through
 * the ik_buf cursor), plus UTCTime/GeneralizedTime conversion without the C library. */
#include <string.h>
#include "der.h"

#define DER_LEN_RESERVE 5u /* 0x84 + 4 length bytes */

/* ---- calendar arithmetic (proleptic Gregorian, days since 1970-01-01) ---- */

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t era;
	unsigned doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static int is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned days_in_month(int64_t y, unsigned m)
{
	static const unsigned dim[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	return m == 2 && is_leap(y) ? 29u : dim[m - 1];
}

/* ---- writer ---- */

static size_t len_octets(size_t n)
{
	size_t k = 0;

	if (n < 0x80)
		return 1;
	while (n != 0) {
		k++;
		n >>= 8;
	}
	return 1 + k;
}

static void encode_len(uint8_t *p, size_t n, size_t octets)
{
	if (octets == 1) {
		p[0] = (uint8_t)n;
		return;
	}
	p[0] = (uint8_t)(0x80u | (octets - 1));
	for (size_t i = octets - 1; i >= 1; i--) {
		p[i] = (uint8_t)(n & 0xff);
		n >>= 8;
	}
}

size_t der_tlv_size(size_t n)
{
	size_t r;

	if (ik_size_add(n, 1 + len_octets(n), &r) != 0)
		return SIZE_MAX;
	return r;
}

ik_status der_put_len(ik_buf *b, size_t n)
{
	uint8_t tmp[1 + sizeof(size_t)];
	size_t k = len_octets(n);

	encode_len(tmp, n, k);
	return ik_buf_put(b, tmp, k);
}

ik_status der_put_tlv(ik_buf *b, uint8_t tag, const uint8_t *v, size_t n)
{
	uint8_t *p;
	size_t k = len_octets(n), total;
	ik_status st;

	if ((tag & 0x1f) == 0x1f || (n > 0 && v == NULL))
		return IK_ERR_ARG;
	if (ik_size_add(n, 1 + k, &total) != 0)
		return IK_ERR_ARG;
	if ((st = ik_buf_reserve(b, total, &p)) != IK_OK)
		return st;
	p[0] = tag;
	encode_len(p + 1, n, k);
	if (n > 0)
		memcpy(p + 1 + k, v, n);
	return IK_OK;
}

ik_status der_begin(ik_buf *b, uint8_t tag, size_t *mark)
{
	uint8_t *p;
	size_t at = b->len;
	ik_status st;

	if ((tag & 0x1f) == 0x1f)
		return IK_ERR_ARG;
	if ((st = ik_buf_reserve(b, 1 + DER_LEN_RESERVE, &p)) != IK_OK)
		return st;
	p[0] = tag;
	*mark = at;
	return IK_OK;
}

ik_status der_end(ik_buf *b, size_t mark)
{
	size_t start, n, k;
	uint8_t *p;

	if (b->borrowed || mark > b->len || b->len - mark < 1 + DER_LEN_RESERVE)
		return IK_ERR_ARG;
	start = mark + 1 + DER_LEN_RESERVE;
	n = b->len - start;
	if (n > 0xffffffffu)
		return IK_ERR_ARG;
	k = len_octets(n);
	p = b->data + mark + 1;
	encode_len(p, n, k);
	if (k < DER_LEN_RESERVE) {
		memmove(p + k, b->data + start, n);
		b->len -= DER_LEN_RESERVE - k;
	}
	return IK_OK;
}

ik_status der_put_uint(ik_buf *b, const uint8_t *be, size_t n)
{
	uint8_t *p;
	size_t total;
	int pad;
	ik_status st;

	if (n > 0 && be == NULL)
		return IK_ERR_ARG;
	while (n > 0 && be[0] == 0) {
		be++;
		n--;
	}
	if (n == 0) {
		static const uint8_t zero = 0;
		return der_put_tlv(b, DER_INTEGER, &zero, 1);
	}
	pad = (be[0] & 0x80) != 0;
	if (ik_size_add(n, (size_t)pad, &total) != 0 ||
	    ik_size_add(total, 1 + len_octets(total), &total) != 0)
		return IK_ERR_ARG;
	if ((st = ik_buf_reserve(b, total, &p)) != IK_OK)
		return st;
	p[0] = DER_INTEGER;
	encode_len(p + 1, n + (size_t)pad, len_octets(n + (size_t)pad));
	p += 1 + len_octets(n + (size_t)pad);
	if (pad)
		*p++ = 0;
	memcpy(p, be, n);
	return IK_OK;
}

ik_status der_put_u64(ik_buf *b, uint64_t v)
{
	uint8_t be[8];

	for (int i = 7; i >= 0; i--) {
		be[i] = (uint8_t)(v & 0xff);
		v >>= 8;
	}
	return der_put_uint(b, be, sizeof(be));
}

static void put_digits(uint8_t *p, unsigned v, unsigned ndigits)
{
	for (unsigned i = ndigits; i > 0; i--) {
		p[i - 1] = (uint8_t)('0' + v % 10);
		v /= 10;
	}
}

ik_status der_put_time(ik_buf *b, int64_t t)
{
	uint8_t s[15];
	int64_t days, y;
	unsigned m, d, sod, o = 0;

	/* 253402300799 = 9999-12-31T23:59:59Z */
	if (t < 0 || t > INT64_C(253402300799))
		return IK_ERR_ARG;
	days = t / 86400;
	sod = (unsigned)(t % 86400);
	civil_from_days(days, &y, &m, &d);
	if (y < 2050) {
		put_digits(s, (unsigned)(y % 100), 2);
		o = 2;
	} else {
		put_digits(s, (unsigned)y, 4);
		o = 4;
	}
	put_digits(s + o, m, 2);
	put_digits(s + o + 2, d, 2);
	put_digits(s + o + 4, sod / 3600, 2);
	put_digits(s + o + 6, sod / 60 % 60, 2);
	put_digits(s + o + 8, sod % 60, 2);
	s[o + 10] = 'Z';
	return der_put_tlv(b, y < 2050 ? DER_UTCTIME : DER_GENERALIZEDTIME, s, o + 11);
}

/* ---- reader ---- */

ik_status der_get_tlv(ik_buf *b, uint8_t *tag, const uint8_t **v, size_t *n)
{
	ik_buf c = *b; /* work on a copy: the caller's cursor moves only on success */
	uint8_t t, l, x;
	size_t len = 0;
	ik_status st;

	if ((st = ik_buf_get_u8(&c, &t)) != IK_OK || (st = ik_buf_get_u8(&c, &l)) != IK_OK)
		return st;
	if ((t & 0x1f) == 0x1f)
		return IK_ERR_PROTO_FIELD; /* multi-byte tags: never used by us */
	if (l < 0x80) {
		len = l;
	} else {
		unsigned k = l & 0x7fu;

		if (k == 0 || k > 4) /* indefinite, reserved 0xff, or absurdly long */
			return IK_ERR_PROTO_FIELD;
		for (unsigned i = 0; i < k; i++) {
			if ((st = ik_buf_get_u8(&c, &x)) != IK_OK)
				return st;
			if (i == 0 && x == 0)
				return IK_ERR_PROTO_FIELD; /* leading zero: not minimal */
			len = (len << 8) | x;
		}
		if (len < 0x80)
			return IK_ERR_PROTO_FIELD; /* long form for a short length */
	}
	if (len > ik_buf_remaining(&c))
		return IK_ERR_PROTO_TRUNCATED;
	*v = ik_buf_ptr(&c);
	if ((st = ik_buf_skip(&c, len)) != IK_OK)
		return st;
	*tag = t;
	*n = len;
	b->off = c.off;
	return IK_OK;
}

ik_status der_get_expect(ik_buf *b, uint8_t want, const uint8_t **v, size_t *n)
{
	size_t off = b->off;
	uint8_t tag;
	ik_status st;

	if ((st = der_get_tlv(b, &tag, v, n)) != IK_OK)
		return st;
	if (tag != want) {
		b->off = off;
		return IK_ERR_PROTO_FIELD;
	}
	return IK_OK;
}

static int get_num(const uint8_t *p, unsigned ndigits, unsigned *out)
{
	unsigned v = 0;

	for (unsigned i = 0; i < ndigits; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (unsigned)(p[i] - '0');
	}
	*out = v;
	return 0;
}

ik_status der_parse_time(uint8_t tag, const uint8_t *v, size_t n, int64_t *out)
{
	unsigned yy, mo, d, h, mi, s, o;
	int64_t y;

	if (v == NULL)
		return IK_ERR_PROTO_FIELD;
	if (tag == DER_UTCTIME && n == 13) {
		if (get_num(v, 2, &yy) != 0)
			return IK_ERR_PROTO_FIELD;
		y = yy >= 50 ? 1900 + (int64_t)yy : 2000 + (int64_t)yy;
		o = 2;
	} else if (tag == DER_GENERALIZEDTIME && n == 15) {
		if (get_num(v, 4, &yy) != 0)
			return IK_ERR_PROTO_FIELD;
		y = yy;
		o = 4;
	} else {
		return IK_ERR_PROTO_FIELD;
	}
	if (get_num(v + o, 2, &mo) != 0 || get_num(v + o + 2, 2, &d) != 0 ||
	    get_num(v + o + 4, 2, &h) != 0 || get_num(v + o + 6, 2, &mi) != 0 ||
	    get_num(v + o + 8, 2, &s) != 0 || v[o + 10] != 'Z')
		return IK_ERR_PROTO_FIELD;
	if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 ||
	    s > 59)
		return IK_ERR_PROTO_FIELD;
	*out = days_from_civil(y, mo, d) * 86400 + (int64_t)h * 3600 + (int64_t)mi * 60 + s;
	return IK_OK;
}
