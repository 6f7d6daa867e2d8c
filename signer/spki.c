/* spki: check a requested SubjectPublicKeyInfo (DER) against a profile without building
 * OpenSSL key objects: EC P-256/P-384 uncompressed points on the curve, or RSA with a
 * modulus and exponent the profile accepts.  Fills sg_keyinfo with borrowed pointers. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <openssl/ec.h>
#include <openssl/obj_mac.h>
#include "der.h"
#include "oid.h"
#include "profile.h"

#define RSA_MAX_BITS 8192u
#define RSA_MIN_E_BYTES 3u  /* 65537 = 0x010001 */
#define RSA_MAX_E_BYTES 32u /* e < 2^256 */

static pthread_once_t groups_once = PTHREAD_ONCE_INIT;
static EC_GROUP *group_p256, *group_p384;

static void groups_init(void)
{
	group_p256 = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
	group_p384 = EC_GROUP_new_by_curve_name(NID_secp384r1);
}

__attribute__((format(printf, 4, 5)))
static ik_status refuse(char *why, size_t whysz, ik_status st, const char *fmt, ...)
{
	va_list ap;

	if (why != NULL && whysz > 0) {
		va_start(ap, fmt);
		vsnprintf(why, whysz, fmt, ap);
		va_end(ap);
	}
	return st;
}

static int oid_is(const uint8_t *v, size_t n, const char *oid, size_t oidlen)
{
	return n == oidlen && memcmp(v, oid, n) == 0;
}

#define OID_IS(v, n, x) oid_is((v), (n), (x), OID_LEN(x))

/* A DER INTEGER's contents that must be positive and minimal; on success *mag points at
 * the magnitude without the sign byte. */
static int uint_contents(const uint8_t *v, size_t n, const uint8_t **mag, size_t *magn)
{
	if (n == 0 || (v[0] & 0x80) != 0)
		return -1;
	if (n > 1 && v[0] == 0 && (v[1] & 0x80) == 0)
		return -1;
	if (v[0] == 0 && n > 1) {
		v++;
		n--;
	}
	*mag = v;
	*magn = n;
	return 0;
}

static uint32_t bit_length(const uint8_t *mag, size_t n)
{
	uint32_t bits;
	uint8_t top;

	if (n == 0 || mag[0] == 0)
		return 0;
	bits = (uint32_t)(n - 1) * 8;
	for (top = mag[0]; top != 0; top >>= 1)
		bits++;
	return bits;
}

static const char *curve_name(const uint8_t *v, size_t n)
{
	if (OID_IS(v, n, OID_P256))
		return "prime256v1";
	if (OID_IS(v, n, OID_P384))
		return "secp384r1";
	if (OID_IS(v, n, OID_P521))
		return "secp521r1";
	if (OID_IS(v, n, OID_SECP256K1))
		return "secp256k1";
	return "(unknown)";
}

/* EC: params (namedCurve OID) and the BIT STRING contents after the unused-bits byte. */
static ik_status check_ec(const sg_profile *p, ik_buf *alg, const uint8_t *pt, size_t ptn,
    sg_keyinfo *ki, char *why, size_t whysz)
{
	const uint8_t *v;
	size_t n, flen;
	uint8_t tag;
	unsigned type;
	const EC_GROUP *g;
	EC_POINT *point = NULL;
	int ok;

	if (der_get_tlv(alg, &tag, &v, &n) != IK_OK || ik_buf_remaining(alg) != 0)
		return refuse(why, whysz, IK_ERR_POLICY_KEY, "malformed EC AlgorithmIdentifier");
	if (tag != DER_OID)
		return refuse(why, whysz, IK_ERR_POLICY_KEY,
		    "EC key must name its curve (explicit or absent parameters refused)");
	if (OID_IS(v, n, OID_P256)) {
		type = SG_KEY_EC_P256;
		flen = 32;
	} else if (OID_IS(v, n, OID_P384)) {
		type = SG_KEY_EC_P384;
		flen = 48;
	} else {
		return refuse(why, whysz, IK_ERR_POLICY_KEY, "EC curve %s not allowed by profile %s",
		    curve_name(v, n), p->name);
	}
	if ((p->key_types & type) == 0)
		return refuse(why, whysz, IK_ERR_POLICY_KEY, "EC curve %s not allowed by profile %s",
		    curve_name(v, n), p->name);
	if (ptn == 0 || pt[0] != 0x04)
		return refuse(why, whysz, IK_ERR_POLICY_KEY, "EC point must be uncompressed");
	if (ptn != 1 + 2 * flen)
		return refuse(why, whysz, IK_ERR_POLICY_KEY, "EC point has %zu bytes, want %zu",
		    ptn, 1 + 2 * flen);
	if (pthread_once(&groups_once, groups_init) != 0)
		return refuse(why, whysz, IK_ERR_INTERNAL, "EC groups: pthread_once failed");
	g = type == SG_KEY_EC_P256 ? group_p256 : group_p384;
	if (g == NULL || (point = EC_POINT_new(g)) == NULL)
		return refuse(why, whysz, IK_ERR_CRYPTO, "EC group unavailable");
	/* oct2point rejects coordinates >= p and points not on the curve. */
	ok = EC_POINT_oct2point(g, point, pt, ptn, NULL) == 1 && !EC_POINT_is_at_infinity(g, point);
	EC_POINT_free(point);
	if (!ok)
		return refuse(why, whysz, IK_ERR_POLICY_KEY, "EC point not on curve");
	ki->type = type;
	ki->bits = (uint32_t)flen * 8;
	return IK_OK;
}

/* RSA: params NULL; the BIT STRING holds RSAPublicKey { n, e }. */
static ik_status check_rsa(const sg_profile *p, ik_buf *alg, const uint8_t *key, size_t keyn,
    sg_keyinfo *ki, char *why, size_t whysz)
{
	ik_buf b, seq;
	const uint8_t *v, *mod, *e;
	size_t n, modn, en;
	uint32_t bits, min_bits;

	if ((p->key_types & SG_KEY_RSA) == 0)
		return refuse(why, whysz, IK_ERR_POLICY_KEY, "RSA keys not allowed by profile %s",
		    p->name);
	if (der_get_expect(alg, DER_NULL, &v, &n) != IK_OK || n != 0 ||
	    ik_buf_remaining(alg) != 0)
		return refuse(why, whysz, IK_ERR_POLICY_KEY, "RSA parameters must be NULL");
	ik_buf_view(&b, key, keyn);
	if (der_get_expect(&b, DER_SEQUENCE, &v, &n) != IK_OK || ik_buf_remaining(&b) != 0)
		return refuse(why, whysz, IK_ERR_POLICY_KEY, "malformed RSAPublicKey");
	ik_buf_view(&seq, v, n);
	if (der_get_expect(&seq, DER_INTEGER, &v, &n) != IK_OK ||
	    uint_contents(v, n, &mod, &modn) != 0)
		return refuse(why, whysz, IK_ERR_POLICY_KEY, "RSA modulus must be a positive minimal INTEGER");
	if (der_get_expect(&seq, DER_INTEGER, &v, &n) != IK_OK || uint_contents(v, n, &e, &en) != 0 ||
	    ik_buf_remaining(&seq) != 0)
		return refuse(why, whysz, IK_ERR_POLICY_KEY, "RSA exponent must be a positive minimal INTEGER");
	bits = bit_length(mod, modn);
	min_bits = p->rsa_min_bits < 2048 ? 2048 : p->rsa_min_bits;
	if (bits < min_bits)
		return refuse(why, whysz, IK_ERR_POLICY_KEY, "RSA modulus %u bits < %u", bits, min_bits);
	if (bits > RSA_MAX_BITS)
		return refuse(why, whysz, IK_ERR_POLICY_KEY, "RSA modulus %u bits > %u", bits,
		    RSA_MAX_BITS);
	if ((mod[modn - 1] & 1) == 0)
		return refuse(why, whysz, IK_ERR_POLICY_KEY, "RSA modulus is even");
	if ((e[en - 1] & 1) == 0)
		return refuse(why, whysz, IK_ERR_POLICY_KEY, "RSA exponent is even");
	if (en > RSA_MAX_E_BYTES)
		return refuse(why, whysz, IK_ERR_POLICY_KEY, "RSA exponent >= 2^256");
	if (en < RSA_MIN_E_BYTES || (en == RSA_MIN_E_BYTES && (e[0] << 16 | e[1] << 8 | e[2]) < 65537))
		return refuse(why, whysz, IK_ERR_POLICY_KEY, "RSA exponent < 65537 (weak key)");
	ki->type = SG_KEY_RSA;
	ki->bits = bits;
	return IK_OK;
}

ik_status sg_spki_check(const sg_profile *p, const uint8_t *spki, size_t n, sg_keyinfo *ki,
    char *why, size_t whysz)
{
	ik_buf b, in, alg, kb;
	const uint8_t *v, *bits, *oid;
	size_t vn, bitsn, oidn;
	uint8_t unused;
	ik_status st;

	if (p == NULL || ki == NULL || (spki == NULL && n > 0))
		return refuse(why, whysz, IK_ERR_ARG, "sg_spki_check: bad argument");
	ik_buf_view(&b, spki, n);
	if (der_get_expect(&b, DER_SEQUENCE, &v, &vn) != IK_OK)
		return refuse(why, whysz, IK_ERR_POLICY_KEY, "malformed SubjectPublicKeyInfo");
	if (ik_buf_remaining(&b) != 0)
		return refuse(why, whysz, IK_ERR_POLICY_KEY, "trailing bytes after SubjectPublicKeyInfo");
	ik_buf_view(&in, v, vn);
	if (der_get_expect(&in, DER_SEQUENCE, &v, &vn) != IK_OK)
		return refuse(why, whysz, IK_ERR_POLICY_KEY, "malformed AlgorithmIdentifier");
	ik_buf_view(&alg, v, vn);
	if (der_get_expect(&in, DER_BIT_STRING, &bits, &bitsn) != IK_OK || ik_buf_remaining(&in) != 0)
		return refuse(why, whysz, IK_ERR_POLICY_KEY, "malformed subjectPublicKey");
	ik_buf_view(&kb, bits, bitsn);
	if (ik_buf_get_u8(&kb, &unused) != IK_OK || unused != 0 || ik_buf_remaining(&kb) == 0)
		return refuse(why, whysz, IK_ERR_POLICY_KEY, "subjectPublicKey must have 0 unused bits");
	bits = ik_buf_ptr(&kb);
	bitsn = ik_buf_remaining(&kb);
	if (der_get_expect(&alg, DER_OID, &oid, &oidn) != IK_OK)
		return refuse(why, whysz, IK_ERR_POLICY_KEY, "malformed AlgorithmIdentifier");
	memset(ki, 0, sizeof(*ki));
	if (OID_IS(oid, oidn, OID_EC_PUBKEY))
		st = check_ec(p, &alg, bits, bitsn, ki, why, whysz);
	else if (OID_IS(oid, oidn, OID_RSA))
		st = check_rsa(p, &alg, bits, bitsn, ki, why, whysz);
	else
		st = refuse(why, whysz, IK_ERR_POLICY_KEY, "key algorithm not allowed by profile %s",
		    p->name);
	if (st != IK_OK)
		return st;
	ki->spki = spki;
	ki->spki_len = n;
	ki->pubkey_bits = bits;
	ki->pubkey_bits_len = bitsn;
	return IK_OK;
}
