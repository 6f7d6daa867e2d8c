/* run: the state of one ceremony run, shared by run.c (order of work, tokens, PINs, shares),
 * steps.c (what each step does), transcript.c (the record and its signature), plan.c (the
 * dry run) and tty.c (the terminal). */
#ifndef IK_RUN_H
#define IK_RUN_H

#include <jansson.h>
#include <openssl/x509.h>

#include "ceremony.h"
#include "cfile.h"
#include "hsm.h"
#include "shamir.h"

#define RUN_MAX_KEYS 8

typedef struct cer_run_opts {
	const char *file;
	int yes;                         /* no confirmation (tests, scripted rehearsals) */
	int dry_run;                     /* validate and print the plan, touch nothing */
	const char *share_files[SHARE_MAX_N];
	size_t nshare_files;
} cer_run_opts;

/* What a step needs from files, loaded and checked before the HSM is touched. */
typedef struct run_input {
	X509 *cert;                      /* use-root */
	X509_REQ *csr;                   /* sign-ca from a CSR */
	X509_CRL *prev;                  /* sign-crl: previous_crl */
	X509 *revoked[CF_MAX_REVOKE];    /* sign-crl: certificates named by path */
	json_t *files;                   /* [{"path", "sha256"}] of every input file */
} run_input;

/* What a step made. */
typedef struct run_result {
	int done;
	EVP_PKEY *pub;                   /* the step's key (generate-key, self-sign, use-root, sign-ca subject) */
	X509 *cert;                      /* self-sign, sign-ca, use-root */
	X509_CRL *crl;                   /* sign-crl */
	json_t *rec;                     /* this step in the transcript */
} run_result;

typedef struct run_token {
	char pin[HSM_MAX_PIN + 1];
	int have_pin;
} run_token;

typedef struct cer_run {
	cf_file *cf;
	const cer_run_opts *o;
	run_token tok[CF_MAX_TOKENS];
	hsm_ctx *h;                      /* at most one token open at a time */
	int open;                        /* its index, -1 = none */
	struct { int tok; char label[CF_LABEL_MAX + 1]; hsm_key *k; } keys[RUN_MAX_KEYS];
	size_t nkeys;
	run_input in[CF_MAX_STEPS];
	run_result res[CF_MAX_STEPS];
	unsigned shares_used;            /* custodians whose shares unlocked the shares token */
	uint8_t set_id[SHARE_SET_ID_LEN];
	int have_set_id;
	int out_missing;                 /* create cf->out before the first write */
	int changed;                     /* a token or the disk has been changed */
	json_t *tr, *steps, *artifacts;
	char why[400];                   /* the first failure, for the transcript */
} cer_run;

/* Exit status: 0 done, 1 refused or failed (messages on stderr), 2 usage. */
int ceremony_run(const cer_run_opts *o);
int ceremony_verify(const char *transcript, const char *root_fpr);

/* run.c */
ik_status run_init_token(cer_run *r, size_t i);
void run_fail(cer_run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
ik_status run_open_token(cer_run *r, int t);
void run_close_token(cer_run *r);
ik_status run_find_key(cer_run *r, int t, const char *label, const uint8_t *id, size_t id_len,
    hsm_key **k);
/* Write one public artifact into the output directory (0644, never over a file) and list it. */
ik_status run_write_artifact(cer_run *r, size_t step, const char *name, const void *data,
    size_t n);
void run_iso_time(time_t t, char out[32]);

/* steps.c */
ik_status steps_load_inputs(cer_run *r);          /* before the HSM: files, strength, dates */
ik_status steps_precheck_token(cer_run *r, int t); /* token open: keys absent / present */
ik_status steps_run(cer_run *r, size_t i);
size_t steps_output_names(const cf_step *s, char names[3][CF_OUT_MAX + 16]);

/* crl.c */
ik_status crl_sign(cer_run *r, size_t i);

/* transcript.c */
ik_status transcript_begin(cer_run *r);
json_t *transcript_step(cer_run *r, size_t i);    /* the step's record, appended */
ik_status transcript_finish(cer_run *r, int ok);  /* fingerprints, file copy, transcript, signature */

/* plan.c */
void plan_print(const cer_run *r, FILE *f);

/* tty.c */
int tty_confirm(const char *question);            /* 1 yes, 0 no, -1 no terminal */
ik_status tty_read_share(const char *prompt, char *buf, size_t bufsz);

#endif
