/* cfile: the ceremony file — an INI file (libinih) with one [ceremony] section, a
 * [token.NAME] section per token and a [step.NAME] section per step, run in file order.  It
 * is read and validated whole before anything else happens; every problem is reported as
 * "FILE:LINE: [section] key: reason".  docs/CEREMONY.md describes the format. */
#ifndef IK_CFILE_H
#define IK_CFILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "hsm.h"
#include "shamir.h"

#define CF_ID_MAX 32         /* names of tokens, steps, custodians: [a-z0-9][a-z0-9_-]* */
#define CF_OUT_MAX 48        /* output base names */
#define CF_PATH_MAX 512
#define CF_TEXT_MAX 64       /* subject attributes */
#define CF_TITLE_MAX 128
#define CF_URL_MAX 200
#define CF_LABEL_MAX 32      /* PKCS#11 token and key labels */
#define CF_MAX_TOKENS 4
#define CF_MAX_STEPS 24
#define CF_MAX_REVOKE 8
#define CF_MAX_KV 24
#define CF_MAX_SECTIONS (1 + CF_MAX_TOKENS + CF_MAX_STEPS)
#define CF_MAX_ERRORS 40
#define CF_MAX_FILE (64 * 1024)
#define CF_ROOT_MAX_YEARS 25

typedef enum cf_action {
	CF_INIT_TOKEN = 1,
	CF_GENERATE_KEY,
	CF_SELF_SIGN,
	CF_USE_ROOT,
	CF_SIGN_CA,
	CF_SIGN_CRL,
} cf_action;

typedef enum cf_pin {
	CF_PIN_SHARES = 1, /* rebuilt from M custodian shares (made when the token is initialised) */
	CF_PIN_FILE,       /* a 0400 credential file (written when the token is initialised) */
} cf_pin;

/* One key = value line as read, kept for error messages and the transcript. */
typedef struct cf_kv {
	char key[40];
	char value[200];
	int line;
	int used;
} cf_kv;

typedef struct cf_section {
	char name[80];
	int line;
	cf_kv kv[CF_MAX_KV];
	size_t nkv;
} cf_section;

typedef struct cf_token {
	char id[CF_ID_MAX + 1];
	size_t sec;                        /* its cf_section */
	char label[CF_LABEL_MAX + 1];
	char module[CF_PATH_MAX];
	cf_pin pin;
	char pin_file[CF_PATH_MAX];        /* CF_PIN_FILE */
	char so_pin_file[CF_PATH_MAX];     /* CF_PIN_FILE, when initialised here */
	int has_owner;
	char owner[CF_ID_MAX + 1];
	uid_t owner_uid;
	gid_t owner_gid;
	int init_step;                     /* the init-token step, or -1 */
	int first_use;                     /* the first step that uses it, or -1 */
} cf_token;

typedef struct cf_revoke {
	int step;                          /* a sign-ca step of this file, or -1: path */
	char path[CF_PATH_MAX];
} cf_revoke;

typedef struct cf_step {
	char id[CF_ID_MAX + 1];
	size_t sec;
	cf_action action;
	int token;                         /* the key's token, or -1 */
	char key_label[CF_LABEL_MAX + 1];
	uint8_t key_id[32];
	size_t key_id_len;
	int key_step;                      /* the generate-key step that makes this key, or -1 */
	hsm_keyalg alg;                    /* generate-key */
	char country[3], org[CF_TEXT_MAX + 1], ou[CF_TEXT_MAX + 1], cn[CF_TEXT_MAX + 1];
	int years, days;
	time_t not_before, not_after;      /* self-sign, sign-ca */
	int issuer;                        /* sign-ca, sign-crl: a self-sign or use-root step */
	char csr[CF_PATH_MAX];             /* sign-ca: the subject key from a CSR instead */
	char cert[CF_PATH_MAX];            /* use-root */
	int path_len;                      /* sign-ca, -1 = none */
	char crl_url[CF_URL_MAX + 1], issuer_url[CF_URL_MAX + 1];
	cf_revoke revoke[CF_MAX_REVOKE];
	size_t nrevoke;
	int reason;                        /* CRL reason code, -1 = none */
	char previous_crl[CF_PATH_MAX];
	uint64_t crl_number;               /* 0 = not given */
	int next_update_days;
	char output[CF_OUT_MAX + 1];
} cf_step;

typedef struct cf_file {
	char path[CF_PATH_MAX];
	char dir[CF_PATH_MAX];             /* relative paths in the file are relative to this */
	char *text;                        /* the file's bytes (copied into the output) */
	size_t text_len;
	uint8_t sha256[32];
	time_t now;                        /* the ceremony's clock, fixed at load */

	size_t ceremony_sec;
	char title[CF_TITLE_MAX + 1];
	char out[CF_PATH_MAX];
	char module[CF_PATH_MAX];
	char shares_dir[CF_PATH_MAX];
	char custodians[SHARE_MAX_N][CF_ID_MAX + 1];
	size_t ncustodians;
	unsigned threshold;
	unsigned present;                  /* bit i: custodians[i] is present */
	int signer_step;                   /* the root whose key signs the transcript */
	int shares_token;                  /* the token with pin = shares, or -1 */

	cf_token tokens[CF_MAX_TOKENS];
	size_t ntokens;
	cf_step steps[CF_MAX_STEPS];
	size_t nsteps;
	cf_section sections[CF_MAX_SECTIONS];
	size_t nsections;

	char errors[CF_MAX_ERRORS][1024];
	int error_line[CF_MAX_ERRORS];
	size_t nerrors;
	int errors_dropped;
} cf_file;

/* Read and validate path (now = the ceremony's time).  IK_OK, or IK_ERR_CONFIG with every
 * problem in cf->errors.  *out is allocated either way (cf_free). */
ik_status cf_load(const char *path, time_t now, cf_file **out);
void cf_free(cf_file *cf);

/* Add "FILE:LINE: [section] key: reason" for the key (line of the key, or of the section
 * header when the key is missing) — for checks made after loading (input files). */
void cf_error(cf_file *cf, size_t sec, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The line of a key in a section (the header's line if the key is absent). */
int cf_line(const cf_file *cf, size_t sec, const char *key);
void cf_print_errors(const cf_file *cf);

const char *cf_action_name(cf_action a);
const char *cf_alg_name(hsm_keyalg a);
const char *cf_reason_name(int reason);

#endif
