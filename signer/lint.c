/* lint: the pre-issuance check of a TBSCertificate.  It walks the DER bytes on its own
 * (never by re-encoding with tbs.c) and checks every field against the CA, the profile
 * and the checked leaf: what we sign is exactly what policy allows. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <openssl/sha.h>
#include "cert.h"
#include "der.h"
#include "oid.h"

#define DAY 86400
#define Y2050 INT64_C(2524608000) /* 2050-01-01T00:00:00Z */
#define LINT(...) refuse(why, whysz, __VA_ARGS__)
#define OID_IS(v, n, x) ((n) == OID_LEN(x) && memcmp((v), (x), (n)) == 0)

__attribute__((format(printf, 3, 4)))
static ik_status refuse(char *why, size_t whysz, const char *fmt, ...)
{
	va_list ap;

	if (why != NULL && whysz > 0) {
		va_start(ap, fmt);
		vsnprintf(why, whysz, fmt, ap);
		va_end(ap);
	}
	return IK_ERR_POLICY_LINT;
}

/* The next TLV must have 'tag'; its contents become the view 'inner'. */
static int sub(ik_buf *b, uint8_t tag, ik_buf *inner)
{
	const uint8_t *v;
	size_t n;

	if (der_get_expect(b, tag, &v, &n) != IK_OK)
		return -1;
	ik_buf_view(inner, v, n);
	return 0;
}

/* Same, and it must be the last thing in b. */
static int only(ik_buf *b, uint8_t tag, ik_buf *inner)
{
	return sub(b, tag, inner) == 0 && ik_buf_remaining(b) == 0 ? 0 : -1;
}

/* A primitive field that must be the last thing in b. */
static int last_bytes(ik_buf *b, uint8_t tag, const uint8_t **v, size_t *n)
{
	return der_get_expect(b, tag, v, n) == IK_OK && ik_buf_remaining(b) == 0 ? 0 : -1;
}

static int bytes_eq(const uint8_t *a, size_t an, const void *b, size_t bn)
{
	return an == bn && (an == 0 || memcmp(a, b, an) == 0);
}

/* ---- fields before the extensions ---- */

static ik_status lint_head(ik_buf *in, const sg_ca *ca, const sg_leaf *leaf, char *why,
    size_t whysz)
{
	ik_buf x, alg;
	const uint8_t *v, *start;
	size_t n, off;
	uint8_t tag;

	if (sub(in, DER_CTX(0), &x) != 0 || last_bytes(&x, DER_INTEGER, &v, &n) != 0 || n != 1 ||
	    v[0] != 2)
		return LINT("lint: version must be v3");
	if (der_get_expect(in, DER_INTEGER, &v, &n) != IK_OK)
		return LINT("lint: serialNumber missing");
	if (n < 1 || n > PROTO_MAX_SERIAL)
		return LINT("lint: serialNumber must be 1..20 octets (has %zu)", n);
	if ((v[0] & 0x80) != 0 || (n == 1 && v[0] == 0))
		return LINT("lint: serialNumber must be positive");
	if (n > 1 && v[0] == 0 && (v[1] & 0x80) == 0)
		return LINT("lint: serialNumber not minimally encoded");
	if (!bytes_eq(v, n, leaf->serial, leaf->serial_len))
		return LINT("lint: serialNumber differs from the serial drawn");
	if (sub(in, DER_SEQUENCE, &alg) != 0 || der_get_expect(&alg, DER_OID, &v, &n) != IK_OK)
		return LINT("lint: signature AlgorithmIdentifier malformed");
	if (!((ca->sig == SG_SIG_ECDSA_SHA256 && OID_IS(v, n, OID_ECDSA_SHA256) &&
	    ik_buf_remaining(&alg) == 0) ||
	    (ca->sig == SG_SIG_ECDSA_SHA384 && OID_IS(v, n, OID_ECDSA_SHA384) &&
	    ik_buf_remaining(&alg) == 0) ||
	    (ca->sig == SG_SIG_RSA_SHA256 && OID_IS(v, n, OID_RSA_SHA256) &&
	    last_bytes(&alg, DER_NULL, &v, &n) == 0 && n == 0)))
		return LINT("lint: signature algorithm does not match the CA key");
	start = ik_buf_ptr(in);
	off = in->off;
	if (der_get_tlv(in, &tag, &v, &n) != IK_OK || tag != DER_SEQUENCE ||
	    !bytes_eq(start, in->off - off, ca->name_der, ca->name_len))
		return LINT("lint: issuer differs from the CA subject");
	return IK_OK;
}

static ik_status lint_time(ik_buf *val, int64_t *t, char *why, size_t whysz)
{
	const uint8_t *v;
	size_t n;
	uint8_t tag;

	if (der_get_tlv(val, &tag, &v, &n) != IK_OK || der_parse_time(tag, v, n, t) != IK_OK)
		return LINT("lint: validity time malformed");
	if (tag == DER_GENERALIZEDTIME && *t < Y2050)
		return LINT("lint: GeneralizedTime used before 2050 (RFC 5280 4.1.2.5)");
	return IK_OK;
}

static ik_status lint_validity(ik_buf *in, const sg_ca *ca, const sg_profile *p,
    const sg_leaf *leaf, char *why, size_t whysz)
{
	ik_buf val;
	int64_t nb, na, max_span;
	uint32_t max_days = p->max_days > SG_MAX_DAYS_CAP ? SG_MAX_DAYS_CAP : p->max_days;
	ik_status st;

	if (sub(in, DER_SEQUENCE, &val) != 0)
		return LINT("lint: validity malformed");
	if ((st = lint_time(&val, &nb, why, whysz)) != IK_OK ||
	    (st = lint_time(&val, &na, why, whysz)) != IK_OK)
		return st;
	if (ik_buf_remaining(&val) != 0)
		return LINT("lint: trailing bytes in validity");
	if (nb >= na)
		return LINT("lint: notBefore must be before notAfter");
	max_span = (int64_t)max_days * DAY + (int64_t)p->backdate;
	if (na - nb > max_span)
		return LINT("lint: validity %lld s exceeds profile maximum %lld s",
		    (long long)(na - nb), (long long)max_span);
	if (na > ca->not_after)
		return LINT("lint: notAfter beyond the CA's notAfter");
	if (nb != leaf->not_before || na != leaf->not_after)
		return LINT("lint: validity differs from the checked request");
	return IK_OK;
}

static int attr_rank(uint8_t t)
{
	static const int rank[PROTO_ATTR_MAX + 1] = {
		[PROTO_ATTR_C] = 1, [PROTO_ATTR_ST] = 2, [PROTO_ATTR_L] = 3, [PROTO_ATTR_O] = 4,
		[PROTO_ATTR_OU] = 5, [PROTO_ATTR_CN] = 6, [PROTO_ATTR_SERIALNUMBER] = 7,
	};
	return t >= 1 && t <= PROTO_ATTR_MAX ? rank[t] : 0;
}

static int attr_oid_is(uint8_t t, const uint8_t *v, size_t n)
{
	switch (t) {
	case PROTO_ATTR_CN: return OID_IS(v, n, OID_AT_CN);
	case PROTO_ATTR_O: return OID_IS(v, n, OID_AT_O);
	case PROTO_ATTR_OU: return OID_IS(v, n, OID_AT_OU);
	case PROTO_ATTR_L: return OID_IS(v, n, OID_AT_L);
	case PROTO_ATTR_ST: return OID_IS(v, n, OID_AT_ST);
	case PROTO_ATTR_C: return OID_IS(v, n, OID_AT_C);
	case PROTO_ATTR_SERIALNUMBER: return OID_IS(v, n, OID_AT_SERIALNUMBER);
	default: return 0;
	}
}

static ik_status lint_subject(ik_buf *in, const sg_leaf *leaf, char *why, size_t whysz)
{
	ik_buf name, set, atv;
	const uint8_t *v;
	size_t n, i;
	int prev = 0;

	if (sub(in, DER_SEQUENCE, &name) != 0)
		return LINT("lint: subject malformed");
	for (i = 0; ik_buf_remaining(&name) > 0; i++) {
		const sg_subject_attr *a = &leaf->subject[i];
		uint8_t want;

		if (i >= leaf->nsubject || i >= PROTO_ATTR_MAX)
			return LINT("lint: subject has more attributes than requested");
		if (sub(&name, DER_SET, &set) != 0 || only(&set, DER_SEQUENCE, &atv) != 0)
			return LINT("lint: subject RDN %zu must be a SET of one attribute", i);
		if (attr_rank(a->type) <= prev)
			return LINT("lint: subject attributes out of order or duplicated");
		prev = attr_rank(a->type);
		if (der_get_expect(&atv, DER_OID, &v, &n) != IK_OK || !attr_oid_is(a->type, v, n))
			return LINT("lint: subject RDN %zu has the wrong attribute type", i);
		want = a->type == PROTO_ATTR_C || a->type == PROTO_ATTR_SERIALNUMBER ?
		    DER_PRINTABLESTRING : DER_UTF8STRING;
		if (last_bytes(&atv, want, &v, &n) != 0)
			return LINT("lint: subject RDN %zu has the wrong string type", i);
		if (a->value == NULL || !bytes_eq(v, n, a->value, strlen(a->value)))
			return LINT("lint: subject RDN %zu value differs from the request", i);
	}
	if (i != leaf->nsubject || i == 0)
		return LINT("lint: subject has %zu attributes, want %zu", i, leaf->nsubject);
	return IK_OK;
}

/* The SPKI must be the requested bytes; returns the key bits (for the SKI check). */
static ik_status lint_spki(ik_buf *in, const sg_profile *p, const sg_leaf *leaf,
    const uint8_t **bits, size_t *bitsn, char *why, size_t whysz)
{
	ik_buf spki, alg, kb;
	const uint8_t *start, *v;
	size_t off, n;
	uint8_t unused;

	start = ik_buf_ptr(in);
	off = in->off;
	if (sub(in, DER_SEQUENCE, &spki) != 0 ||
	    !bytes_eq(start, in->off - off, leaf->key.spki, leaf->key.spki_len))
		return LINT("lint: subjectPublicKeyInfo differs from the request");
	if ((leaf->key.type & p->key_types) == 0)
		return LINT("lint: key type not allowed by profile %s", p->name);
	if (sub(&spki, DER_SEQUENCE, &alg) != 0 || last_bytes(&spki, DER_BIT_STRING, &v, &n) != 0)
		return LINT("lint: subjectPublicKeyInfo malformed");
	ik_buf_view(&kb, v, n);
	if (ik_buf_get_u8(&kb, &unused) != IK_OK || unused != 0 || ik_buf_remaining(&kb) == 0)
		return LINT("lint: subjectPublicKey malformed");
	*bits = ik_buf_ptr(&kb);
	*bitsn = ik_buf_remaining(&kb);
	return IK_OK;
}

/* ---- extensions ---- */

enum { E_BC, E_KU, E_EKU, E_SAN, E_SKI, E_AKI, E_CRLDP, E_AIA, E_NOCHECK, E_N };

static const struct {
	const char *name, *oid;
	size_t len;
	int critical;
} exts[E_N] = {
	[E_BC] = { "basicConstraints", OID_CE_BC, OID_LEN(OID_CE_BC), 1 },
	[E_KU] = { "keyUsage", OID_CE_KU, OID_LEN(OID_CE_KU), 1 },
	[E_EKU] = { "extKeyUsage", OID_CE_EKU, OID_LEN(OID_CE_EKU), 0 },
	[E_SAN] = { "subjectAltName", OID_CE_SAN, OID_LEN(OID_CE_SAN), 0 },
	[E_SKI] = { "subjectKeyIdentifier", OID_CE_SKI, OID_LEN(OID_CE_SKI), 0 },
	[E_AKI] = { "authorityKeyIdentifier", OID_CE_AKI, OID_LEN(OID_CE_AKI), 0 },
	[E_CRLDP] = { "cRLDistributionPoints", OID_CE_CRLDP, OID_LEN(OID_CE_CRLDP), 0 },
	[E_AIA] = { "authorityInfoAccess", OID_PE_AIA, OID_LEN(OID_PE_AIA), 0 },
	[E_NOCHECK] = { "id-pkix-ocsp-nocheck", OID_PKIX_OCSP_NOCHECK,
	    OID_LEN(OID_PKIX_OCSP_NOCHECK), 0 },
};

typedef struct lint_ctx {
	const sg_ca *ca;
	const sg_profile *p;
	const sg_leaf *leaf;
	const uint8_t *bits;
	size_t bitsn;
	char *why;
	size_t whysz;
} lint_ctx;

static ik_status lint_bc(const lint_ctx *c, ik_buf *val)
{
	ik_buf seq;
	const uint8_t *v;
	size_t n;
	uint8_t tag;
	char *why = c->why;
	size_t whysz = c->whysz;

	if (only(val, DER_SEQUENCE, &seq) != 0)
		return LINT("lint: basicConstraints malformed");
	if (ik_buf_remaining(&seq) == 0)
		return IK_OK;
	if (der_get_tlv(&seq, &tag, &v, &n) == IK_OK && tag == DER_BOOLEAN && n == 1 && v[0] != 0)
		return LINT("lint: basicConstraints cA must be FALSE");
	return LINT("lint: basicConstraints must be empty (CA:FALSE, no pathLenConstraint)");
}

static ik_status lint_ku(const lint_ctx *c, ik_buf *val)
{
	ik_buf bs;
	const uint8_t *v;
	size_t n;
	uint8_t unused, byte, last = 0;
	unsigned mask = 0, want;
	char *why = c->why;
	size_t whysz = c->whysz;

	if (last_bytes(val, DER_BIT_STRING, &v, &n) != 0 || n < 2 || n > 3)
		return LINT("lint: keyUsage malformed");
	ik_buf_view(&bs, v, n);
	if (ik_buf_get_u8(&bs, &unused) != IK_OK || unused > 7)
		return LINT("lint: keyUsage malformed");
	for (unsigned i = 0; ik_buf_get_u8(&bs, &byte) == IK_OK; i++) {
		mask |= (unsigned)byte << (8 * i);
		last = byte;
	}
	/* DER: no trailing zero octet, unused bits zero, and exactly the trailing zeros. */
	if (last == 0 || (last & ((1u << unused) - 1)) != 0 || (last & (1u << unused)) == 0)
		return LINT("lint: keyUsage BIT STRING not DER (unused bits)");
	if ((mask & 0x04u) != 0) /* bit 5: 0x80 >> 5 */
		return LINT("lint: keyUsage keyCertSign not allowed in a leaf");
	if ((mask & 0x02u) != 0) /* bit 6 */
		return LINT("lint: keyUsage cRLSign not allowed in a leaf");
	want = 0x80u | (c->leaf->key.type == SG_KEY_RSA && !c->p->ocsp && !c->p->email ?
	    0x20u : 0u);
	if (mask != want)
		return LINT("lint: keyUsage must be exactly digitalSignature%s",
		    want & 0x20u ? ", keyEncipherment" : "");
	return IK_OK;
}

static ik_status lint_eku(const lint_ctx *c, ik_buf *val)
{
	ik_buf seq;
	const uint8_t *v;
	size_t n;
	char *why = c->why;
	size_t whysz = c->whysz;

	if (only(val, DER_SEQUENCE, &seq) != 0 || last_bytes(&seq, DER_OID, &v, &n) != 0 ||
	    !(c->p->ocsp ? OID_IS(v, n, OID_KP_OCSPSIGNING) : c->p->server ?
	    OID_IS(v, n, OID_KP_SERVERAUTH) : c->p->email ?
	    OID_IS(v, n, OID_KP_EMAILPROTECTION) : OID_IS(v, n, OID_KP_CLIENTAUTH)))
		return LINT("lint: extKeyUsage must be exactly %s",
		    c->p->ocsp ? "OCSPSigning" : c->p->server ? "serverAuth" :
		    c->p->email ? "emailProtection" : "clientAuth");
	return IK_OK;
}

/* The OCSP responder profile only: id-pkix-ocsp-nocheck with the value NULL. */
static ik_status lint_nocheck(const lint_ctx *c, ik_buf *val)
{
	const uint8_t *v;
	size_t n;
	char *why = c->why;
	size_t whysz = c->whysz;

	if (!c->p->ocsp)
		return LINT("lint: id-pkix-ocsp-nocheck only in the OCSP responder certificate");
	if (last_bytes(val, DER_NULL, &v, &n) != 0 || n != 0)
		return LINT("lint: id-pkix-ocsp-nocheck must be NULL");
	return IK_OK;
}

/* Server and email profiles only: exactly one GeneralName, the CN as iPAddress or
 * dNSName (server) or rfc822Name (email). */
static ik_status lint_san(const lint_ctx *c, ik_buf *val)
{
	ik_buf seq;
	const uint8_t *v;
	const char *cn = NULL;
	uint8_t ip[16], tag;
	size_t n, iplen;
	char *why = c->why;
	size_t whysz = c->whysz;

	for (size_t i = 0; i < c->leaf->nsubject; i++)
		if (c->leaf->subject[i].type == PROTO_ATTR_CN)
			cn = c->leaf->subject[i].value;
	if ((!c->p->server && !c->p->email) || cn == NULL)
		return LINT("lint: subjectAltName not allowed in a client certificate");
	if (only(val, DER_SEQUENCE, &seq) != 0 || der_get_tlv(&seq, &tag, &v, &n) != IK_OK ||
	    ik_buf_remaining(&seq) != 0)
		return LINT("lint: subjectAltName must hold exactly one name");
	if (c->p->email ? tag != DER_CTXP(1) || !bytes_eq(v, n, cn, strlen(cn)) :
	    sg_ip_literal(cn, ip, &iplen) ? tag != DER_CTXP(7) || !bytes_eq(v, n, (const char *)ip,
	    iplen) : tag != DER_CTXP(2) || !bytes_eq(v, n, cn, strlen(cn)))
		return LINT("lint: subjectAltName must be the CN");
	return IK_OK;
}

static ik_status lint_ski(const lint_ctx *c, ik_buf *val)
{
	uint8_t md[SHA_DIGEST_LENGTH];
	const uint8_t *v;
	size_t n;
	char *why = c->why;
	size_t whysz = c->whysz;

	if (SHA1(c->bits, c->bitsn, md) == NULL)
		return IK_ERR_CRYPTO;
	if (last_bytes(val, DER_OCTET_STRING, &v, &n) != 0 || !bytes_eq(v, n, md, sizeof(md)))
		return LINT("lint: subjectKeyIdentifier is not SHA-1 of the public key");
	return IK_OK;
}

static ik_status lint_aki(const lint_ctx *c, ik_buf *val)
{
	ik_buf seq;
	const uint8_t *v;
	size_t n;
	char *why = c->why;
	size_t whysz = c->whysz;

	if (only(val, DER_SEQUENCE, &seq) != 0 || last_bytes(&seq, DER_CTXP(0), &v, &n) != 0 ||
	    !bytes_eq(v, n, c->ca->key_id, c->ca->key_id_len))
		return LINT("lint: authorityKeyIdentifier must be exactly the CA key id");
	return IK_OK;
}

static ik_status lint_crldp(const lint_ctx *c, ik_buf *val)
{
	ik_buf a, b2, d, e;
	const uint8_t *v;
	size_t n;
	char *why = c->why;
	size_t whysz = c->whysz;

	if (only(val, DER_SEQUENCE, &a) != 0 || only(&a, DER_SEQUENCE, &b2) != 0 ||
	    only(&b2, DER_CTX(0), &d) != 0 || only(&d, DER_CTX(0), &e) != 0 ||
	    last_bytes(&e, DER_CTXP(6), &v, &n) != 0 ||
	    !bytes_eq(v, n, c->p->crl_url, strlen(c->p->crl_url)))
		return LINT("lint: cRLDistributionPoints must be the profile's CRL URL");
	return IK_OK;
}

static ik_status lint_aia(const lint_ctx *c, ik_buf *val)
{
	ik_buf seq, ad;
	const uint8_t *v;
	size_t n;
	char *why = c->why;
	size_t whysz = c->whysz;
	const char *urls[2] = { c->p->ocsp_url, c->p->ca_issuers_url };

	if (urls[0][0] == '\0' && urls[1][0] == '\0')
		return LINT("lint: authorityInfoAccess present but the profile sets no URL");
	if (only(val, DER_SEQUENCE, &seq) != 0)
		return LINT("lint: authorityInfoAccess malformed");
	for (int i = 0; i < 2; i++) {
		if (urls[i][0] == '\0')
			continue;
		if (sub(&seq, DER_SEQUENCE, &ad) != 0 || der_get_expect(&ad, DER_OID, &v, &n) != IK_OK ||
		    !(i == 0 ? OID_IS(v, n, OID_AD_OCSP) : OID_IS(v, n, OID_AD_CAISSUERS)) ||
		    last_bytes(&ad, DER_CTXP(6), &v, &n) != 0 ||
		    !bytes_eq(v, n, urls[i], strlen(urls[i])))
			return LINT("lint: authorityInfoAccess %s differs from the profile",
			    i == 0 ? "OCSP" : "caIssuers");
	}
	if (ik_buf_remaining(&seq) != 0)
		return LINT("lint: authorityInfoAccess has entries the profile does not set");
	return IK_OK;
}

/* One Extension: identify it, check criticality and its value. */
static ik_status lint_ext(const lint_ctx *c, ik_buf *ext, unsigned *seen)
{
	static ik_status (*const check[E_N])(const lint_ctx *, ik_buf *) = {
		[E_BC] = lint_bc, [E_KU] = lint_ku, [E_EKU] = lint_eku, [E_SAN] = lint_san,
		[E_SKI] = lint_ski,
		[E_AKI] = lint_aki, [E_CRLDP] = lint_crldp, [E_AIA] = lint_aia,
		[E_NOCHECK] = lint_nocheck,
	};
	ik_buf val;
	const uint8_t *oid, *v;
	size_t oidn, n, i;
	int critical = 0;
	uint8_t tag;
	char *why = c->why;
	size_t whysz = c->whysz;

	if (der_get_expect(ext, DER_OID, &oid, &oidn) != IK_OK ||
	    der_get_tlv(ext, &tag, &v, &n) != IK_OK)
		return LINT("lint: Extension malformed");
	if (tag == DER_BOOLEAN) {
		if (n != 1 || v[0] != 0xff)
			return LINT("lint: Extension critical must be TRUE or absent (DER)");
		critical = 1;
		if (der_get_tlv(ext, &tag, &v, &n) != IK_OK)
			return LINT("lint: Extension malformed");
	}
	if (tag != DER_OCTET_STRING || ik_buf_remaining(ext) != 0)
		return LINT("lint: Extension malformed");
	for (i = 0; i < E_N; i++)
		if (oidn == exts[i].len && memcmp(oid, exts[i].oid, oidn) == 0)
			break;
	if (i == E_N)
		return LINT("lint: unexpected extension");
	if ((*seen & (1u << i)) != 0)
		return LINT("lint: duplicate extension %s", exts[i].name);
	*seen |= 1u << i;
	if (critical != exts[i].critical)
		return LINT("lint: %s must %sbe critical", exts[i].name,
		    exts[i].critical ? "" : "not ");
	ik_buf_view(&val, v, n);
	return check[i](c, &val);
}

static ik_status lint_exts(const lint_ctx *c, ik_buf *in)
{
	ik_buf wrap, list, ext;
	unsigned seen = 0, want = (1u << E_N) - 1;
	char *why = c->why;
	size_t whysz = c->whysz;
	const uint8_t *v;
	size_t n;
	uint8_t tag;
	ik_status st;

	if (der_get_tlv(in, &tag, &v, &n) != IK_OK)
		return LINT("lint: extensions missing");
	if (tag == DER_CTXP(1) || tag == DER_CTX(1) || tag == DER_CTXP(2) || tag == DER_CTX(2))
		return LINT("lint: issuerUniqueID/subjectUniqueID not allowed");
	if (tag != DER_CTX(3))
		return LINT("lint: unexpected field before extensions");
	if (ik_buf_remaining(in) != 0)
		return LINT("lint: trailing fields after extensions");
	ik_buf_view(&wrap, v, n);
	if (only(&wrap, DER_SEQUENCE, &list) != 0)
		return LINT("lint: extensions malformed");
	while (ik_buf_remaining(&list) > 0) {
		if (sub(&list, DER_SEQUENCE, &ext) != 0)
			return LINT("lint: Extension malformed");
		if ((st = lint_ext(c, &ext, &seen)) != IK_OK)
			return st;
	}
	if (c->p->ocsp_url[0] == '\0' && c->p->ca_issuers_url[0] == '\0')
		want &= ~(1u << E_AIA);
	if (!c->p->server && !c->p->email)
		want &= ~(1u << E_SAN);
	if (c->p->ocsp)
		want &= ~(1u << E_CRLDP | 1u << E_AIA);
	else
		want &= ~(1u << E_NOCHECK);
	for (size_t i = 0; i < E_N; i++)
		if ((want & ~seen & (1u << i)) != 0)
			return LINT("lint: extension %s missing", exts[i].name);
	if ((seen & ~want & (1u << E_SAN)) != 0)
		return LINT("lint: subjectAltName not allowed in a client certificate");
	if ((seen & ~want & (1u << E_AIA)) != 0)
		return LINT("lint: authorityInfoAccess present but the profile sets no URL");
	for (size_t i = 0; i < E_N; i++)
		if ((seen & ~want & (1u << i)) != 0)
			return LINT("lint: %s not allowed in this certificate", exts[i].name);
	return IK_OK;
}

ik_status sg_lint_tbs(const sg_ca *ca, const sg_profile *p, const sg_leaf *leaf,
    const uint8_t *tbs, size_t n, char *why, size_t whysz)
{
	ik_buf b, in;
	lint_ctx c = { .ca = ca, .p = p, .leaf = leaf, .why = why, .whysz = whysz };
	ik_status st;

	if (ca == NULL || p == NULL || leaf == NULL || (tbs == NULL && n > 0))
		return IK_ERR_ARG;
	ik_buf_view(&b, tbs, n);
	if (sub(&b, DER_SEQUENCE, &in) != 0)
		return LINT("lint: TBSCertificate is not a DER SEQUENCE");
	if (ik_buf_remaining(&b) != 0)
		return LINT("lint: trailing bytes after TBSCertificate");
	if ((st = lint_head(&in, ca, leaf, why, whysz)) != IK_OK ||
	    (st = lint_validity(&in, ca, p, leaf, why, whysz)) != IK_OK ||
	    (st = lint_subject(&in, leaf, why, whysz)) != IK_OK ||
	    (st = lint_spki(&in, p, leaf, &c.bits, &c.bitsn, why, whysz)) != IK_OK)
		return st;
	return lint_exts(&c, &in);
}
