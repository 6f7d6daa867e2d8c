/* crl: the CRL as the signer issues it.  Its revokedCertificates entries stay encoded in
 * an unlinked file between builds (a list); the next CRL merges the ledger's changes since
 * the last one into a new list instead of reading every entry again; the TBSCertList is
 * signed in the HSM from the file in pieces and the CRL is served from it, so a million
 * entries never sit in the signer's memory.  The in-memory encoder (sg_crl_tbs_build) is
 * in cert.h. */
#ifndef SG_CRL_H
#define SG_CRL_H

#include <limits.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "buf.h"
#include "cert.h"
#include "hsm.h"
#include "ledger.h"

/* An immutable, reference-counted list of encoded entries in strictly increasing serial
 * order (the ledger's: memcmp, then the shorter first). */
typedef struct sg_crl_list sg_crl_list;

/* Encode every entry of src (no .removed ones) into a new list in an unlinked file in dir.
 * IK_ERR_LEDGER if the source fails or is out of order. */
ik_status sg_crl_list_build(const char *dir, sg_crl_source src, void *arg, sg_crl_list **out);
/* A new list: old with the changes of src applied (in serial order: each replaces or adds
 * its serial's entry, or with .removed takes it away).  No changes: old itself, one more
 * reference. */
ik_status sg_crl_list_merge(const char *dir, sg_crl_list *old, sg_crl_source src, void *arg,
    sg_crl_list **out);
size_t sg_crl_list_count(const sg_crl_list *l);
size_t sg_crl_list_bytes(const sg_crl_list *l);
sg_crl_list *sg_crl_list_ref(sg_crl_list *l);
void sg_crl_list_unref(sg_crl_list *l); /* accepts NULL */

/* How the CRL gets signed: with(arg, fn, fnarg) runs fn with the signing key (for the HSM,
 * sg_crl_hsm_with below over an sg_crl_hsm, i.e. hsm_with_pkey). */
typedef ik_status (*sg_crl_keyfn)(EVP_PKEY *pk, void *fnarg);
typedef struct sg_crl_key {
	ik_status (*with)(void *arg, sg_crl_keyfn fn, void *fnarg);
	void *arg;
} sg_crl_key;
typedef struct sg_crl_hsm {
	hsm_ctx *h;
	hsm_key *k;
} sg_crl_hsm;
ik_status sg_crl_hsm_with(void *arg, sg_crl_keyfn fn, void *fnarg);

/* A signed CRL: its DER is head || the list's bytes || tail.  Reference-counted and
 * read-only once made, so it can be sent while a newer one is built. */
typedef struct sg_crl {
	atomic_uint refs;
	sg_crl_list *list;             /* NULL if no entries */
	ik_buf head;                   /* CRL and TBS headers, fields up to nextUpdate */
	ik_buf tail;                   /* crlExtensions, signatureAlgorithm, signature */
	uint64_t number;
	int64_t this_update, next_update;
	size_t count, len;             /* entries; DER bytes */
	uint8_t sha256[32];            /* of the DER */
} sg_crl;

/* Sign a v2 CRL over list (may be NULL: no entries) with AKI and cRLNumber. */
ik_status sg_crl_sign(const sg_ca *ca, const sg_crl_key *key, uint64_t number,
    int64_t this_update, int64_t next_update, sg_crl_list *list, sg_crl **out);
/* n bytes of the DER from offset off (off + n <= len). */
ik_status sg_crl_read(const sg_crl *c, size_t off, uint8_t *buf, size_t n);
sg_crl *sg_crl_ref(sg_crl *c);
void sg_crl_unref(sg_crl *c); /* accepts NULL */

/* What the signer keeps from one CRL to the next. */
typedef struct sg_crl_state {
	char dir[PATH_MAX];            /* where the unlinked list files live (the ledger's) */
	sg_crl_list *list;             /* the entries of the last CRL (NULL: none built yet) */
	int64_t mark;                  /* the ledger's events up to this id are in list */
} sg_crl_state;
ik_status sg_crl_state_init(sg_crl_state *cs, const char *ledger_path);
void sg_crl_state_cleanup(sg_crl_state *cs);

/* The signer's CRL path: read the ledger's changes since the last CRL and merge them (or,
 * if full or the first time, read every entry), sign the CRL with the given number and
 * times, and record it in the ledger. */
ik_status sg_crl_publish(sg_crl_state *cs, sg_ledger *l, const sg_ca *ca,
    const sg_crl_key *key, uint64_t number, int64_t this_update, int64_t next_update,
    int full, sg_crl **out);

#endif
