/* tbs: encode the TBSCertificate of a checked leaf straight into DER (no X509 object on
 * the hot path), and assemble signed DER from TBS bytes and a signature.  No global
 * state: safe to call from several threads at once. */
#include <string.h>
#include <openssl/sha.h>
#include "cert.h"
#include "der.h"
#include "oid.h"

#define PUT_OID(b, x) der_put_tlv((b), DER_OID, (const uint8_t *)(x), OID_LEN(x))

static const struct {
	const char *oid;
	size_t len;
} attr_oids[PROTO_ATTR_MAX + 1] = {
	[PROTO_ATTR_CN] = { OID_AT_CN, OID_LEN(OID_AT_CN) },
	[PROTO_ATTR_O] = { OID_AT_O, OID_LEN(OID_AT_O) },
	[PROTO_ATTR_OU] = { OID_AT_OU, OID_LEN(OID_AT_OU) },
	[PROTO_ATTR_L] = { OID_AT_L, OID_LEN(OID_AT_L) },
	[PROTO_ATTR_ST] = { OID_AT_ST, OID_LEN(OID_AT_ST) },
	[PROTO_ATTR_C] = { OID_AT_C, OID_LEN(OID_AT_C) },
	[PROTO_ATTR_SERIALNUMBER] = { OID_AT_SERIALNUMBER, OID_LEN(OID_AT_SERIALNUMBER) },
};

ik_status sg_put_algid(ik_buf *b, sg_sigalg alg)
{
	size_t m;
	ik_status st;

	if ((st = der_begin(b, DER_SEQUENCE, &m)) != IK_OK)
		return st;
	switch (alg) {
	case SG_SIG_ECDSA_SHA256:
		st = PUT_OID(b, OID_ECDSA_SHA256);
		break;
	case SG_SIG_ECDSA_SHA384:
		st = PUT_OID(b, OID_ECDSA_SHA384);
		break;
	case SG_SIG_RSA_SHA256:
		if ((st = PUT_OID(b, OID_RSA_SHA256)) == IK_OK)
			st = der_put_tlv(b, DER_NULL, NULL, 0);
		break;
	default:
		return IK_ERR_ARG;
	}
	if (st != IK_OK)
		return st;
	return der_end(b, m);
}

static int printable_bytes(const char *s, size_t n)
{
	static const char extra[] = " '()+,-./:=?";

	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    (c != '\0' && strchr(extra, c) != NULL)))
			return 0;
	}
	return 1;
}

static int ia5_url(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (*s < 0x21 || *s > 0x7e)
			return 0;
	return 1;
}

static int serial_ok(const uint8_t *s, size_t n)
{
	if (n < 1 || n > PROTO_MAX_SERIAL || (s[0] & 0x80) != 0)
		return 0;
	if (n > 1 && s[0] == 0 && (s[1] & 0x80) == 0)
		return 0; /* not minimal */
	return !(n == 1 && s[0] == 0); /* zero is not positive */
}

static ik_status put_subject(ik_buf *b, const sg_leaf *leaf)
{
	size_t m, mset, mseq;
	ik_status st;

	if ((st = der_begin(b, DER_SEQUENCE, &m)) != IK_OK)
		return st;
	for (size_t i = 0; i < leaf->nsubject && i < PROTO_ATTR_MAX; i++) {
		uint8_t t = leaf->subject[i].type;
		const char *v = leaf->subject[i].value;
		size_t n;
		uint8_t tag = DER_UTF8STRING;

		if (t < 1 || t > PROTO_ATTR_MAX || v == NULL)
			return IK_ERR_ARG;
		n = strlen(v);
		if (t == PROTO_ATTR_C || t == PROTO_ATTR_SERIALNUMBER) {
			if (!printable_bytes(v, n))
				return IK_ERR_ARG;
			tag = DER_PRINTABLESTRING;
		}
		if ((st = der_begin(b, DER_SET, &mset)) != IK_OK ||
		    (st = der_begin(b, DER_SEQUENCE, &mseq)) != IK_OK ||
		    (st = der_put_tlv(b, DER_OID, (const uint8_t *)attr_oids[t].oid,
		    attr_oids[t].len)) != IK_OK ||
		    (st = der_put_tlv(b, tag, (const uint8_t *)v, n)) != IK_OK ||
		    (st = der_end(b, mseq)) != IK_OK || (st = der_end(b, mset)) != IK_OK)
			return st;
	}
	return der_end(b, m);
}

/* Extension { extnID, critical (only if TRUE), extnValue OCTET STRING { ... } }: the
 * caller writes the value between ext_begin and ext_end. */
static ik_status ext_begin(ik_buf *b, const char *oid, size_t oidlen, int critical,
    size_t marks[2])
{
	static const uint8_t true_v = 0xff;
	ik_status st;

	if ((st = der_begin(b, DER_SEQUENCE, &marks[0])) != IK_OK ||
	    (st = der_put_tlv(b, DER_OID, (const uint8_t *)oid, oidlen)) != IK_OK)
		return st;
	if (critical && (st = der_put_tlv(b, DER_BOOLEAN, &true_v, 1)) != IK_OK)
		return st;
	return der_begin(b, DER_OCTET_STRING, &marks[1]);
}

static ik_status ext_end(ik_buf *b, const size_t marks[2])
{
	ik_status st;

	if ((st = der_end(b, marks[1])) != IK_OK)
		return st;
	return der_end(b, marks[0]);
}

static ik_status put_uri(ik_buf *b, const char *url)
{
	return der_put_tlv(b, DER_CTXP(6), (const uint8_t *)url, strlen(url));
}

/* subjectAltName for a server profile: the CN as iPAddress [7] or dNSName [2]; for an
 * email profile: the CN as rfc822Name [1]. */
static ik_status put_san(ik_buf *b, const sg_profile *p, const sg_leaf *leaf)
{
	const char *cn = NULL;
	uint8_t ip[16];
	size_t iplen, mk[2], m;
	ik_status st;

	for (size_t i = 0; i < leaf->nsubject; i++)
		if (leaf->subject[i].type == PROTO_ATTR_CN)
			cn = leaf->subject[i].value;
	if (cn == NULL)
		return IK_ERR_ARG;
	if ((st = ext_begin(b, OID_CE_SAN, OID_LEN(OID_CE_SAN), 0, mk)) != IK_OK ||
	    (st = der_begin(b, DER_SEQUENCE, &m)) != IK_OK)
		return st;
	if (p->email)
		st = der_put_tlv(b, DER_CTXP(1), (const uint8_t *)cn, strlen(cn));
	else if (sg_ip_literal(cn, ip, &iplen))
		st = der_put_tlv(b, DER_CTXP(7), ip, iplen);
	else
		st = der_put_tlv(b, DER_CTXP(2), (const uint8_t *)cn, strlen(cn));
	if (st != IK_OK || (st = der_end(b, m)) != IK_OK)
		return st;
	return ext_end(b, mk);
}

static ik_status put_key_exts(ik_buf *b, const sg_ca *ca, const sg_profile *p,
    const sg_leaf *leaf)
{
	/* keyUsage: digitalSignature (bit 0) [+ keyEncipherment (bit 2) for RSA, not for a
	 * mail-signing certificate], minimal BIT STRING */
	static const uint8_t ku_ec[2] = { 0x07, 0x80 }, ku_rsa[2] = { 0x05, 0xa0 };
	uint8_t ski[SHA_DIGEST_LENGTH];
	size_t mk[2], m;
	ik_status st;

	if ((st = ext_begin(b, OID_CE_BC, OID_LEN(OID_CE_BC), 1, mk)) != IK_OK ||
	    (st = der_put_tlv(b, DER_SEQUENCE, NULL, 0)) != IK_OK || (st = ext_end(b, mk)) != IK_OK)
		return st;
	if ((st = ext_begin(b, OID_CE_KU, OID_LEN(OID_CE_KU), 1, mk)) != IK_OK ||
	    (st = der_put_tlv(b, DER_BIT_STRING,
	    leaf->key.type == SG_KEY_RSA && !p->ocsp && !p->email ? ku_rsa : ku_ec, 2)) != IK_OK ||
	    (st = ext_end(b, mk)) != IK_OK)
		return st;
	if ((st = ext_begin(b, OID_CE_EKU, OID_LEN(OID_CE_EKU), 0, mk)) != IK_OK ||
	    (st = der_begin(b, DER_SEQUENCE, &m)) != IK_OK ||
	    (st = p->ocsp ? PUT_OID(b, OID_KP_OCSPSIGNING) : p->server ?
	    PUT_OID(b, OID_KP_SERVERAUTH) : p->email ? PUT_OID(b, OID_KP_EMAILPROTECTION) :
	    PUT_OID(b, OID_KP_CLIENTAUTH)) != IK_OK ||
	    (st = der_end(b, m)) != IK_OK || (st = ext_end(b, mk)) != IK_OK)
		return st;
	if ((p->server || p->email) && (st = put_san(b, p, leaf)) != IK_OK)
		return st;
	/* RFC 6960 4.2.2.2.1: id-pkix-ocsp-nocheck, value NULL */
	if (p->ocsp && ((st = ext_begin(b, OID_PKIX_OCSP_NOCHECK, OID_LEN(OID_PKIX_OCSP_NOCHECK), 0,
	    mk)) != IK_OK || (st = der_put_tlv(b, DER_NULL, NULL, 0)) != IK_OK ||
	    (st = ext_end(b, mk)) != IK_OK))
		return st;
	/* RFC 5280 4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT STRING value. */
	if (SHA1(leaf->key.pubkey_bits, leaf->key.pubkey_bits_len, ski) == NULL)
		return IK_ERR_CRYPTO;
	if ((st = ext_begin(b, OID_CE_SKI, OID_LEN(OID_CE_SKI), 0, mk)) != IK_OK ||
	    (st = der_put_tlv(b, DER_OCTET_STRING, ski, sizeof(ski))) != IK_OK ||
	    (st = ext_end(b, mk)) != IK_OK)
		return st;
	if ((st = ext_begin(b, OID_CE_AKI, OID_LEN(OID_CE_AKI), 0, mk)) != IK_OK ||
	    (st = der_begin(b, DER_SEQUENCE, &m)) != IK_OK ||
	    (st = der_put_tlv(b, DER_CTXP(0), ca->key_id, ca->key_id_len)) != IK_OK ||
	    (st = der_end(b, m)) != IK_OK || (st = ext_end(b, mk)) != IK_OK)
		return st;
	return IK_OK;
}

static ik_status put_url_exts(ik_buf *b, const sg_profile *p)
{
	size_t mk[2], m[4];
	ik_status st;

	if (p->ocsp)
		return IK_OK; /* nobody checks the status of an ocsp-nocheck certificate */
	/* CRLDistributionPoints { DistributionPoint { [0] { fullName [0] { URI } } } } */
	if ((st = ext_begin(b, OID_CE_CRLDP, OID_LEN(OID_CE_CRLDP), 0, mk)) != IK_OK ||
	    (st = der_begin(b, DER_SEQUENCE, &m[0])) != IK_OK ||
	    (st = der_begin(b, DER_SEQUENCE, &m[1])) != IK_OK ||
	    (st = der_begin(b, DER_CTX(0), &m[2])) != IK_OK ||
	    (st = der_begin(b, DER_CTX(0), &m[3])) != IK_OK || (st = put_uri(b, p->crl_url)) != IK_OK)
		return st;
	for (int i = 3; i >= 0; i--)
		if ((st = der_end(b, m[i])) != IK_OK)
			return st;
	if ((st = ext_end(b, mk)) != IK_OK)
		return st;
	if (p->ocsp_url[0] == '\0' && p->ca_issuers_url[0] == '\0')
		return IK_OK;
	/* AuthorityInfoAccessSyntax: OCSP first, then caIssuers. */
	if ((st = ext_begin(b, OID_PE_AIA, OID_LEN(OID_PE_AIA), 0, mk)) != IK_OK ||
	    (st = der_begin(b, DER_SEQUENCE, &m[0])) != IK_OK)
		return st;
	if (p->ocsp_url[0] != '\0' &&
	    ((st = der_begin(b, DER_SEQUENCE, &m[1])) != IK_OK ||
	    (st = PUT_OID(b, OID_AD_OCSP)) != IK_OK || (st = put_uri(b, p->ocsp_url)) != IK_OK ||
	    (st = der_end(b, m[1])) != IK_OK))
		return st;
	if (p->ca_issuers_url[0] != '\0' &&
	    ((st = der_begin(b, DER_SEQUENCE, &m[1])) != IK_OK ||
	    (st = PUT_OID(b, OID_AD_CAISSUERS)) != IK_OK ||
	    (st = put_uri(b, p->ca_issuers_url)) != IK_OK || (st = der_end(b, m[1])) != IK_OK))
		return st;
	if ((st = der_end(b, m[0])) != IK_OK)
		return st;
	return ext_end(b, mk);
}

static ik_status check_inputs(const sg_ca *ca, const sg_profile *p, const sg_leaf *leaf)
{
	if (ca->name_der == NULL || ca->name_len == 0 || ca->key_id_len == 0 ||
	    ca->key_id_len > sizeof(ca->key_id))
		return IK_ERR_ARG;
	if (!serial_ok(leaf->serial, leaf->serial_len))
		return IK_ERR_ARG;
	if (leaf->key.spki == NULL || leaf->key.spki_len == 0 || leaf->key.pubkey_bits == NULL ||
	    leaf->nsubject == 0 || leaf->nsubject > PROTO_ATTR_MAX)
		return IK_ERR_ARG;
	if ((!p->ocsp && !ia5_url(p->crl_url)) || (p->ocsp_url[0] != '\0' && !ia5_url(p->ocsp_url)) ||
	    (p->ca_issuers_url[0] != '\0' && !ia5_url(p->ca_issuers_url)))
		return IK_ERR_CONFIG;
	return IK_OK;
}

ik_status sg_tbs_build(const sg_ca *ca, const sg_profile *p, const sg_leaf *leaf, ik_buf *out)
{
	static const uint8_t v3[3] = { DER_INTEGER, 0x01, 0x02 };
	size_t mtbs, m, mexts;
	ik_status st;

	if (ca == NULL || p == NULL || leaf == NULL || out == NULL)
		return IK_ERR_ARG;
	if ((st = check_inputs(ca, p, leaf)) != IK_OK)
		return st;
	if ((st = der_begin(out, DER_SEQUENCE, &mtbs)) != IK_OK ||
	    (st = der_put_tlv(out, DER_CTX(0), v3, sizeof(v3))) != IK_OK ||
	    (st = der_put_tlv(out, DER_INTEGER, leaf->serial, leaf->serial_len)) != IK_OK ||
	    (st = sg_put_algid(out, ca->sig)) != IK_OK ||
	    (st = ik_buf_put(out, ca->name_der, ca->name_len)) != IK_OK)
		return st;
	if ((st = der_begin(out, DER_SEQUENCE, &m)) != IK_OK ||
	    (st = der_put_time(out, leaf->not_before)) != IK_OK ||
	    (st = der_put_time(out, leaf->not_after)) != IK_OK || (st = der_end(out, m)) != IK_OK)
		return st;
	if ((st = put_subject(out, leaf)) != IK_OK ||
	    (st = ik_buf_put(out, leaf->key.spki, leaf->key.spki_len)) != IK_OK)
		return st;
	if ((st = der_begin(out, DER_CTX(3), &m)) != IK_OK ||
	    (st = der_begin(out, DER_SEQUENCE, &mexts)) != IK_OK ||
	    (st = put_key_exts(out, ca, p, leaf)) != IK_OK || (st = put_url_exts(out, p)) != IK_OK ||
	    (st = der_end(out, mexts)) != IK_OK || (st = der_end(out, m)) != IK_OK)
		return st;
	return der_end(out, mtbs);
}

ik_status sg_signed_assemble(sg_sigalg alg, const uint8_t *tbs, size_t n, const uint8_t *sig,
    size_t siglen, ik_buf *out)
{
	size_t m, bitlen;
	ik_status st;

	if (tbs == NULL || n == 0 || sig == NULL || siglen == 0 || out == NULL ||
	    ik_size_add(siglen, 1, &bitlen) != 0)
		return IK_ERR_ARG;
	if ((st = der_begin(out, DER_SEQUENCE, &m)) != IK_OK ||
	    (st = ik_buf_put(out, tbs, n)) != IK_OK || (st = sg_put_algid(out, alg)) != IK_OK ||
	    (st = ik_buf_put_u8(out, DER_BIT_STRING)) != IK_OK ||
	    (st = der_put_len(out, bitlen)) != IK_OK || (st = ik_buf_put_u8(out, 0x00)) != IK_OK ||
	    (st = ik_buf_put(out, sig, siglen)) != IK_OK)
		return st;
	return der_end(out, m);
}
