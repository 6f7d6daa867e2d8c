/* config: the signer's INI configuration (inih), validated whole at load.  An unknown
 * section or key, or a bad value, stops start-up with file, line and key named. */
#ifndef SG_CONFIG_H
#define SG_CONFIG_H

#include <limits.h>
#include <stdint.h>
#include <sys/types.h>
#include "profile.h"
#include "status.h"

#define SG_MAX_WORKERS 16

typedef struct sg_config {
	/* [signer] */
	char socket_path[108];
	unsigned socket_mode;     /* default 0660 */
	gid_t socket_gid;         /* (gid_t)-1 = leave as is */
	uid_t ra_uid;             /* the only peer uid allowed */
	gid_t ra_gid;             /* and gid (-1 = any gid) */
	char ledger[PATH_MAX];
	unsigned workers;         /* signing threads; default = online CPUs */
	int64_t crl_lifetime;     /* nextUpdate - thisUpdate, seconds; default 86400 */
	int64_t crl_refresh;      /* re-issue when this old, seconds; default lifetime/2 */
	char fault[32];           /* testing only: crash-after-intent|-sign|-commit */
	/* [hsm] */
	char module[PATH_MAX];
	char token[64];
	char pin_file[PATH_MAX];
	char key_label[64];
	uint8_t key_id[32];
	size_t key_id_len;
	int session_copy;         /* sign with session copies of the keys; default 1 */
	/* [ca] */
	char ca_cert[PATH_MAX];
	char ca_chain[PATH_MAX];
	/* [ocsp]: the delegated OCSP responder (signer/ocsp.c, docs/OCSP.md) */
	char ocsp_key_label[64];  /* default inkan-ocsp; a missing key disables OCSP */
	uint8_t ocsp_key_id[32];
	size_t ocsp_key_id_len;
	uint32_t ocsp_cert_days;  /* responder certificate validity, 1..30; default 7 */
	int64_t ocsp_lifetime;    /* nextUpdate - thisUpdate, seconds; default 3600 */
	int64_t ocsp_refresh;     /* a cached response is re-signed when this old; default 300 */
	/* [profile.NAME] */
	size_t nprofiles;
	sg_profile profiles[SG_MAX_PROFILES];
} sg_config;

/* Load and validate; on failure err says "file:line: [section] key: what is wrong". */
ik_status sg_config_load(const char *path, sg_config *cfg, char *err, size_t errsz);
const sg_profile *sg_config_profile(const sg_config *cfg, const char *name);

#endif
