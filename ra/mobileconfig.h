/* mobileconfig: an Apple configuration profile (.mobileconfig, an XML property list) for
 * iPhone and iPad that carries the user's PKCS#12 identity (com.apple.security.pkcs12,
 * without its password: the device asks for it while installing) and the root CA
 * (com.apple.security.root).  Signed (a CMS SignedData around the plist, with the RA's TLS
 * certificate and key) iOS shows it as "Verified" when it trusts that certificate's CA. */
#ifndef RA_MOBILECONFIG_H
#define RA_MOBILECONFIG_H

#include <stddef.h>
#include <stdint.h>
#include "buf.h"
#include "status.h"

#define RA_MOBILECONFIG_TYPE "application/x-apple-aspen-config"
#define RA_MOBILECONFIG_PREFIX_MAX 128

typedef struct ra_mobileconfig_in {
	const uint8_t *p12;        /* the PKCS#12 as the user downloads it */
	size_t p12_len;
	const uint8_t *root;       /* the root CA certificate, DER */
	size_t root_len;
	const char *p12_name;      /* "<CN>.p12": PayloadCertificateFileName */
	const char *prefix;        /* reverse-DNS PayloadIdentifier prefix (ra_mobileconfig_prefix) */
	/* texts the device shows, in the page's language (UTF-8, escaped here) */
	const char *display_name;  /* the profile */
	const char *description;
	const char *organization;
	const char *p12_display;   /* the identity payload */
	const char *root_display;  /* the root payload */
} ra_mobileconfig_in;

/* The profile into out (mark it secret: it holds the encrypted key).  Every payload gets
 * a fresh random (version 4) PayloadUUID; the profile's PayloadIdentifier is
 * "<prefix>.certificate.<its UUID in lower case>", the payloads' add ".pkcs12" / ".root".
 * IK_ERR_ARG for a missing input or a prefix that is not reverse-DNS. */
ik_status ra_mobileconfig_build(const ra_mobileconfig_in *in, ik_buf *out);

/* The prefix for public_url: its host's labels reversed ("https://ra.example.co.jp:8443"
 * -> "jp.co.example.ra"), or "local.inkan" for an IP address or a name without a dot. */
void ra_mobileconfig_prefix(const char *public_url, char *out, size_t outsz);

/* The profile signer: the RA's certificate (the first in cert_pem), the rest of that file
 * (its issuing CAs) and the private key, loaded once at start and shared by the threads. */
typedef struct ra_mobileconfig_signer ra_mobileconfig_signer;

/* Load the PEM files; err says which file and why (never the key).  IK_ERR_CONFIG for an
 * unreadable or bad file, or a key that does not belong to the certificate. */
ik_status ra_mobileconfig_signer_new(const char *cert_pem, const char *key_pem,
    ra_mobileconfig_signer **out, char *err, size_t errsz);
void ra_mobileconfig_signer_free(ra_mobileconfig_signer *s);

/* The signed profile into out: CMS SignedData (DER), the plist attached as its content,
 * SHA-256, signed attributes without S/MIME capabilities, the certificate chain included.
 * Mark out secret (the plist holds the encrypted key). */
ik_status ra_mobileconfig_sign(const ra_mobileconfig_signer *s, const uint8_t *plist,
    size_t n, ik_buf *out);

#endif
