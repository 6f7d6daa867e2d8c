/* admin: inkan-admin's parts: backup (collect and write an archive), restore (authenticate,
 * then write a fresh tree), and the SQLite snapshot they rely on. */
#ifndef AD_ADMIN_H
#define AD_ADMIN_H

#include <stddef.h>
#include <stdint.h>
#include "status.h"

#define AD_MAX_INCLUDES 16

typedef struct ad_backup_opts {
	const char *out;                 /* the archive to create (refused if it exists) */
	const char *signer_config;       /* NULL: leave the signer out */
	const char *ra_config;           /* NULL: leave the RA out */
	const char *hsm_dir;             /* NULL: the directory of [hsm] pin_file */
	int no_hsm_dir;                  /* a hardware HSM: its vendor's backup covers the keys */
	const char *includes[AD_MAX_INCLUDES];
	size_t nincludes;
	unsigned log2n;                  /* scrypt cost */
	int verbose;
} ad_backup_opts;

typedef struct ad_restore_opts {
	const char *in;
	const char *root;                /* prefix for every path ("" = /) */
	int force;                       /* replace files that exist */
	int list_only;                   /* print the entries, write nothing */
	int verbose;
} ad_restore_opts;

/* Each returns a process exit status after printing what went wrong, naming the file. */
int ad_backup(const ad_backup_opts *o, const char *pass);
int ad_restore(const ad_restore_opts *o, const char *pass);

/* The online snapshot (sqlite3_malloc'd; free with ad_sqlite_free) and the check of a
 * restored file (integrity_check). */
ik_status ad_sqlite_snapshot(const char *path, uint8_t **out, size_t *outlen, char *why,
    size_t whysz);
void ad_sqlite_free(uint8_t *p);
ik_status ad_sqlite_check(const char *path, char *why, size_t whysz);

#endif
