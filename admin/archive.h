/* archive: inkan-admin's encrypted backup archive.  One file: a clear header (magic, KDF
 * parameters, salt, nonce, time), a passphrase verifier, then the entries encrypted with
 * AES-256-GCM under a key derived from the passphrase with scrypt; the header is the GCM
 * AAD and the tag closes the file.  Entries (the plaintext) are records made with ik_buf:
 *   u8 type | string path | u32 mode | string owner | string group | u32 uid | u32 gid |
 *   u64 size | size bytes
 * and an end record (type AD_END, u32 entry count).  Integers are big-endian. */
#ifndef AD_ARCHIVE_H
#define AD_ARCHIVE_H

#include <stddef.h>
#include <stdint.h>
#include "buf.h"
#include "status.h"

#define AD_MAGIC "INKANBK1"
#define AD_HEADER_LEN 50          /* up to the verifier */
#define AD_VERIFIER_LEN 32
#define AD_TAG_LEN 16
#define AD_PASS_MIN 12            /* shortest passphrase a backup accepts */
#define AD_PASS_MAX 1024
#define AD_MAX_ARCHIVE ((uint64_t)16 << 30) /* restore reads the archive into memory */
#define AD_PATH_MAX 4095
#define AD_NAME_MAX 64            /* owner / group names */

enum ad_type {
	AD_DIR = 1,     /* a directory (no data) */
	AD_FILE = 2,    /* a regular file */
	AD_SQLITE = 3,  /* a consistent snapshot of a SQLite database (SQLite online backup) */
	AD_END = 0xff,
};

typedef struct ad_entry {
	uint8_t type;
	char path[AD_PATH_MAX + 1];
	uint32_t mode;                 /* permission bits */
	char owner[AD_NAME_MAX + 1];   /* "" when the uid has no name */
	char group[AD_NAME_MAX + 1];
	uint32_t uid, gid;
	const uint8_t *data;           /* borrowed */
	uint64_t size;
} ad_entry;

/* ---- writing ---- */
typedef struct ad_writer ad_writer;
/* Writes the header to fd and derives the key (scrypt, 2^log2n, r 8, p 1). */
ik_status ad_writer_new(int fd, const char *pass, unsigned log2n, ad_writer **out);
/* Appends one entry record. */
ik_status ad_writer_put(ad_writer *w, const ad_entry *e);
/* Writes the end record and the tag; the file is complete only after this. */
ik_status ad_writer_finish(ad_writer *w);
void ad_writer_free(ad_writer *w);

/* ---- reading ---- */
/* Authenticates a whole archive (data, len) and decrypts it into plain (marked secret).
 * IK_ERR_AUTH: the passphrase is wrong (or the header was altered); IK_ERR_CRYPTO: the
 * archive was altered or damaged (the tag does not match); IK_ERR_PROTO_*: not an Inkan
 * archive or a truncated one.  why gets a sentence for humans. */
ik_status ad_archive_open(const uint8_t *data, size_t len, const char *pass, ik_buf *plain,
    char *why, size_t whysz);
/* The next entry from the plaintext; AD_END in e->type at the end (then *count is set).
 * Paths are checked: absolute, no "." or ".." components, no empty ones. */
ik_status ad_entry_next(ik_buf *plain, ad_entry *e, uint32_t *count);
/* 1 if path is an absolute, normalised path acceptable in an archive. */
int ad_path_ok(const char *path);

#endif
