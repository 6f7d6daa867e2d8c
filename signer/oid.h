/* oid: the DER contents (no tag, no length) of the object identifiers the signer writes
 * and checks, as string literals: use OID_LEN(x) for the length.  Private to signer/. */
#ifndef SG_OID_H
#define SG_OID_H

#define OID_LEN(x) (sizeof(x) - 1)

/* keys (RFC 5480, RFC 8017) */
#define OID_EC_PUBKEY "\x2a\x86\x48\xce\x3d\x02\x01"        /* 1.2.840.10045.2.1 */
#define OID_P256 "\x2a\x86\x48\xce\x3d\x03\x01\x07"         /* 1.2.840.10045.3.1.7 */
#define OID_P384 "\x2b\x81\x04\x00\x22"                     /* 1.3.132.0.34 */
#define OID_P521 "\x2b\x81\x04\x00\x23"                     /* 1.3.132.0.35 */
#define OID_SECP256K1 "\x2b\x81\x04\x00\x0a"                /* 1.3.132.0.10 */
#define OID_RSA "\x2a\x86\x48\x86\xf7\x0d\x01\x01\x01"      /* 1.2.840.113549.1.1.1 */

/* signature algorithms */
#define OID_ECDSA_SHA256 "\x2a\x86\x48\xce\x3d\x04\x03\x02" /* 1.2.840.10045.4.3.2 */
#define OID_ECDSA_SHA384 "\x2a\x86\x48\xce\x3d\x04\x03\x03" /* 1.2.840.10045.4.3.3 */
#define OID_RSA_SHA256 "\x2a\x86\x48\x86\xf7\x0d\x01\x01\x0b" /* 1.2.840.113549.1.1.11 */

/* X.520 attribute types 2.5.4.n */
#define OID_AT_CN "\x55\x04\x03"
#define OID_AT_SERIALNUMBER "\x55\x04\x05"
#define OID_AT_C "\x55\x04\x06"
#define OID_AT_L "\x55\x04\x07"
#define OID_AT_ST "\x55\x04\x08"
#define OID_AT_O "\x55\x04\x0a"
#define OID_AT_OU "\x55\x04\x0b"

/* certificate extensions 2.5.29.n and PKIX */
#define OID_CE_SKI "\x55\x1d\x0e"
#define OID_CE_KU "\x55\x1d\x0f"
#define OID_CE_BC "\x55\x1d\x13"
#define OID_CE_CRLDP "\x55\x1d\x1f"
#define OID_CE_AKI "\x55\x1d\x23"
#define OID_CE_EKU "\x55\x1d\x25"
#define OID_CE_SAN "\x55\x1d\x11"
#define OID_PE_AIA "\x2b\x06\x01\x05\x05\x07\x01\x01"       /* 1.3.6.1.5.5.7.1.1 */
#define OID_KP_SERVERAUTH "\x2b\x06\x01\x05\x05\x07\x03\x01" /* 1.3.6.1.5.5.7.3.1 */
#define OID_KP_CLIENTAUTH "\x2b\x06\x01\x05\x05\x07\x03\x02" /* 1.3.6.1.5.5.7.3.2 */
#define OID_KP_EMAILPROTECTION "\x2b\x06\x01\x05\x05\x07\x03\x04" /* 1.3.6.1.5.5.7.3.4 */
#define OID_KP_OCSPSIGNING "\x2b\x06\x01\x05\x05\x07\x03\x09" /* 1.3.6.1.5.5.7.3.9 */
#define OID_PKIX_OCSP_NOCHECK "\x2b\x06\x01\x05\x05\x07\x30\x01\x05" /* 1.3.6.1.5.5.7.48.1.5 */
#define OID_AD_OCSP "\x2b\x06\x01\x05\x05\x07\x30\x01"       /* 1.3.6.1.5.5.7.48.1 */
#define OID_AD_CAISSUERS "\x2b\x06\x01\x05\x05\x07\x30\x02"  /* 1.3.6.1.5.5.7.48.2 */

#endif
