/* config: inkan-rad's [ra] INI section (inih), validated whole at load.  An unknown key
 * or a bad value stops start-up with "file:line: [section] key: reason". */
#ifndef RA_CONFIG_H
#define RA_CONFIG_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include "proto.h"
#include "status.h"

#define RA_MAX_WORKERS 64
#define RA_CN_PATTERN_MAX 64

#define RA_MAIL_ADDR_MAX 254
#define RA_SENDMAIL_MAX 512
#define RA_SENDMAIL_ARGS 16

/* [mail]: notices by mail.  Off unless from is set. */
typedef struct ra_mail_config {
	char from[RA_MAIL_ADDR_MAX + 1];   /* sender address; also the signing certificate's CN */
	char sendmail[RA_SENDMAIL_MAX];    /* command and arguments separated by spaces (no shell,
	                                    * no quoting); default /usr/sbin/sendmail -t -i */
	char profile[PROTO_MAX_NAME + 1];  /* the signer's email profile; default mail */
	char key[PATH_MAX];        /* signing key (PEM, 0600); default mail-signing.key beside
	                            * the config file */
	char cert[PATH_MAX];       /* its certificate (PEM); default mail-signing.pem beside it */
	unsigned cert_days;        /* validity asked for the signing certificate; default 365 */
	unsigned timeout;          /* seconds the command may run; default 60 */
	unsigned retry_min;        /* first retry delay, seconds, doubling; default 30 */
	unsigned retry_max;        /* longest retry delay, seconds; default 3600 */
} ra_mail_config;

/* A plain ASCII address local@domain of at most 64 characters, nothing a header could be
 * broken with (no spaces, quotes, brackets, commas, control characters). */
int ra_mail_addr_ok(const char *addr);

/* The sendmail command split at spaces into argv (pointers into buf, NULL-terminated).
 * IK_ERR_CONFIG when empty, not an absolute path, or more than RA_SENDMAIL_ARGS words. */
ik_status ra_sendmail_argv(const char *cmd, char buf[RA_SENDMAIL_MAX],
    char *argv[RA_SENDMAIL_ARGS + 1]);

typedef struct ra_config {
	char listen[64];           /* IPv4 or IPv6 literal; default 127.0.0.1 */
	uint16_t port;             /* default 8443 */
	int tls;                   /* default on */
	char tls_cert[PATH_MAX];   /* PEM; required when tls is on */
	char tls_key[PATH_MAX];
	int profile_signing;       /* sign .mobileconfig with tls_cert/tls_key; on (needs tls) */
	char database[PATH_MAX];   /* required */
	char signer_socket[108];   /* default /run/inkan/signer.sock */
	unsigned signer_timeout;   /* seconds a signer call waits for the signer; default 30 */
	unsigned signer_crl_timeout; /* the same for GET_CRL; default 120 */
	unsigned crl_recheck;       /* seconds between two checks for a newer CRL; default 30 */
	char public_url[256];      /* base for download links; default https://listen:port */
	char profile[PROTO_MAX_NAME + 1];     /* signer profile; default client */
	char batch_cn_pattern[RA_CN_PATTERN_MAX]; /* default client_%06d */
	size_t max_body;           /* bytes; default 4 MiB */
	unsigned session_lifetime; /* absolute session lifetime, seconds; default 28800 */
	unsigned session_idle;     /* idle timeout, seconds; default 1800 */
	unsigned lockout_threshold; /* consecutive failures; default 5 */
	unsigned lockout_seconds;  /* default 900 */
	unsigned workers;          /* MHD thread pool; default online CPUs (max 64) */
	unsigned queue_workers;    /* request queue threads, 1..16; default 2 */
	unsigned queue_group;      /* requests a queue thread claims and pipelines, 1..128; 64 */
	unsigned heavy_workers;    /* threads for scrypt / keys / PKCS#12 requests; default 2 */
	unsigned heavy_queue;      /* ... and how many may wait for them; default 256 */
	unsigned heavy_nice;       /* ... and how much lower their priority is (0-19); default 10 */
	ra_mail_config mail;       /* [mail] */
	uint16_t http_port;        /* plain-HTTP listener for OCSP/CRL/CA URLs; 0 = none (default) */
	unsigned ocsp_max_age;     /* OCSP Cache-Control max-age, seconds; default 0 */
	int cert_login;            /* officers may log in with a bound client certificate; off */
	char cert_login_ca[PATH_MAX]; /* PEM: the Inkan CA certificates a login certificate must
	                            * chain to; required when cert_login is on */
} ra_config;

/* Load and validate; on failure err says "file:line: [section] key: what is wrong". */
ik_status ra_config_load(const char *path, ra_config *cfg, char *err, size_t errsz);

/* A batch CN pattern: printable CN-safe text with exactly one "%0Nd" (N in 1..9, the
 * number of digits) and no other '%'.  Returns IK_OK or IK_ERR_CONFIG with why filled. */
ik_status ra_cn_pattern_check(const char *pattern, char *why, size_t whysz);
/* The pattern with its conversion replaced by n (zero-padded to N digits; wider numbers
 * are refused with IK_ERR_ARG so that names keep their width). */
ik_status ra_cn_format(const char *pattern, uint64_t n, char *out, size_t outsz);

#endif
