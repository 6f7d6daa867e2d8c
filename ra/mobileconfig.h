/* mobileconfig: an Apple configuration profile (.mobileconfig, an XML property list) for
 * iPhone and iPad that carries the user's PKCS#12 identity (com.apple.security.pkcs12,
 * without its password: the device asks for it while installing) and the root CA
 * (com.apple.security.root).  The profile is not signed: iOS shows it as "Not Signed". */
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

#endif
