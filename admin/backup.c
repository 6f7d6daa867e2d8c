/* backup: collect what an Inkan appliance needs to come back — both configs, the files they
 * name (CA certificates, PIN file, TLS key and certificate), the token directory, and online
 * snapshots of the RA store and the signer ledger — into one encrypted archive.  The RA
 * store is copied before the ledger, so the ledger is never older than the store: every
 * serial the RA knows is in the restored ledger, and a request the RA still has queued
 * finds its intent there (the signer answers it from the ledger, never signs it twice). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <ini.h>
#include <libgen.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "admin.h"
#include "archive.h"

#define MAX_SEEN 4096
#define MAX_DEPTH 16

typedef struct collector {
	ad_writer *w;
	char *seen[MAX_SEEN];   /* paths already in the archive */
	size_t nseen;
	size_t files, bytes;
	int verbose;
} collector;

/* ---- the keys of the daemons' configs that name files ---- */
typedef struct conf_paths {
	char ledger[AD_PATH_MAX + 1], pin_file[AD_PATH_MAX + 1];
	char ca_cert[AD_PATH_MAX + 1], ca_chain[AD_PATH_MAX + 1];
	char database[AD_PATH_MAX + 1], tls_cert[AD_PATH_MAX + 1], tls_key[AD_PATH_MAX + 1];
} conf_paths;

static int on_key(void *user, const char *section, const char *name, const char *value)
{
	conf_paths *c = user;
	char *dst = NULL;

	if (strcmp(section, "signer") == 0 && strcmp(name, "ledger") == 0)
		dst = c->ledger;
	else if (strcmp(section, "hsm") == 0 && strcmp(name, "pin_file") == 0)
		dst = c->pin_file;
	else if (strcmp(section, "ca") == 0 && strcmp(name, "cert") == 0)
		dst = c->ca_cert;
	else if (strcmp(section, "ca") == 0 && strcmp(name, "chain") == 0)
		dst = c->ca_chain;
	else if (strcmp(section, "ra") == 0 && strcmp(name, "database") == 0)
		dst = c->database;
	else if (strcmp(section, "ra") == 0 && strcmp(name, "tls_cert") == 0)
		dst = c->tls_cert;
	else if (strcmp(section, "ra") == 0 && strcmp(name, "tls_key") == 0)
		dst = c->tls_key;
	if (dst != NULL) {
		if (strlen(value) > AD_PATH_MAX)
			return 0;
		memcpy(dst, value, strlen(value) + 1);
	}
	return 1;
}

static int read_conf(const char *path, conf_paths *c)
{
	int r = ini_parse(path, on_key, c);

	if (r == -1)
		fprintf(stderr, "inkan-admin: %s: cannot open: %s\n", path, strerror(errno));
	else if (r != 0)
		fprintf(stderr, "inkan-admin: %s:%d: cannot parse (or a path too long)\n", path, r);
	return r == 0;
}

/* ---- entries ---- */

static int seen(collector *c, const char *path)
{
	for (size_t i = 0; i < c->nseen; i++)
		if (strcmp(c->seen[i], path) == 0)
			return 1;
	return 0;
}

static int mark(collector *c, const char *path)
{
	if (c->nseen == MAX_SEEN) {
		fprintf(stderr, "inkan-admin: more than %d paths to back up\n", MAX_SEEN);
		return 0;
	}
	if ((c->seen[c->nseen] = strdup(path)) == NULL)
		return 0;
	c->nseen++;
	return 1;
}

static void set_owner(ad_entry *e, const struct stat *stb)
{
	const struct passwd *pw = getpwuid(stb->st_uid);
	const struct group *gr = getgrgid(stb->st_gid);

	e->mode = (uint32_t)(stb->st_mode & 07777);
	e->uid = (uint32_t)stb->st_uid;
	e->gid = (uint32_t)stb->st_gid;
	if (pw != NULL && strlen(pw->pw_name) <= AD_NAME_MAX)
		memcpy(e->owner, pw->pw_name, strlen(pw->pw_name) + 1);
	if (gr != NULL && strlen(gr->gr_name) <= AD_NAME_MAX)
		memcpy(e->group, gr->gr_name, strlen(gr->gr_name) + 1);
}

static int put(collector *c, const ad_entry *e)
{
	ik_status st = ad_writer_put(c->w, e);

	if (st != IK_OK) {
		fprintf(stderr, "inkan-admin: %s: cannot add to the archive: %s\n", e->path,
		    ik_status_str(st));
		return 0;
	}
	if (c->verbose)
		printf("%s %s (%llu bytes)\n", e->type == AD_DIR ? "dir   " :
		    e->type == AD_SQLITE ? "sqlite" : "file  ", e->path, (unsigned long long)e->size);
	c->files++;
	c->bytes += (size_t)e->size;
	return mark(c, e->path);
}

static int check_path(const char *path, const char *what)
{
	if (!ad_path_ok(path)) {
		fprintf(stderr, "inkan-admin: %s '%s' must be an absolute path without '.' or "
		    "'..' components\n", what, path);
		return 0;
	}
	return 1;
}

static int add_dir(collector *c, const char *path)
{
	ad_entry e;
	struct stat stb;

	if (seen(c, path) || strcmp(path, "/") == 0)
		return 1;
	if (lstat(path, &stb) != 0 || !S_ISDIR(stb.st_mode)) {
		fprintf(stderr, "inkan-admin: %s: not a directory\n", path);
		return 0;
	}
	memset(&e, 0, sizeof(e));
	e.type = AD_DIR;
	memcpy(e.path, path, strlen(path) + 1);
	set_owner(&e, &stb);
	return put(c, &e);
}

static int add_parent(collector *c, const char *path)
{
	char tmp[AD_PATH_MAX + 1];

	memcpy(tmp, path, strlen(path) + 1);
	return add_dir(c, dirname(tmp));
}

/* A regular file, read whole (never through a symbolic link). */
static int add_file(collector *c, const char *path, const char *what)
{
	ad_entry e;
	struct stat stb;
	uint8_t *data = NULL;
	size_t got = 0;
	int fd = -1, ok = 0;

	if (!check_path(path, what))
		return 0;
	if (seen(c, path))
		return 1;
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0 || fstat(fd, &stb) != 0) {
		fprintf(stderr, "inkan-admin: %s (%s): cannot open: %s\n", path, what, strerror(errno));
		goto out;
	}
	if (!S_ISREG(stb.st_mode)) {
		fprintf(stderr, "inkan-admin: %s (%s): not a regular file\n", path, what);
		goto out;
	}
	if ((data = malloc((size_t)stb.st_size + 1)) == NULL) {
		fprintf(stderr, "inkan-admin: %s: out of memory\n", path);
		goto out;
	}
	while (got < (size_t)stb.st_size) {
		ssize_t r = read(fd, data + got, (size_t)stb.st_size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			fprintf(stderr, "inkan-admin: %s: read failed or the file shrank\n", path);
			goto out;
		}
		got += (size_t)r;
	}
	if (!add_parent(c, path))
		goto out;
	memset(&e, 0, sizeof(e));
	e.type = AD_FILE;
	memcpy(e.path, path, strlen(path) + 1);
	set_owner(&e, &stb);
	e.data = data;
	e.size = got;
	ok = put(c, &e);
out:
	if (data != NULL) {
		OPENSSL_cleanse(data, got); /* PINs and keys pass through here */
		free(data);
	}
	if (fd >= 0)
		close(fd);
	return ok;
}

static int add_tree(collector *c, const char *dir, int depth)
{
	DIR *d;
	const struct dirent *de;
	char child[AD_PATH_MAX + 1];
	struct stat stb;
	int ok = 1;

	if (depth > MAX_DEPTH) {
		fprintf(stderr, "inkan-admin: %s: deeper than %d levels\n", dir, MAX_DEPTH);
		return 0;
	}
	if (!add_dir(c, dir) || (d = opendir(dir)) == NULL) {
		fprintf(stderr, "inkan-admin: %s: cannot read the directory\n", dir);
		return 0;
	}
	while (ok && (de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if ((size_t)snprintf(child, sizeof(child), "%s/%s", dir, de->d_name) >= sizeof(child)) {
			fprintf(stderr, "inkan-admin: %s/%s: path too long\n", dir, de->d_name);
			ok = 0;
			break;
		}
		if (lstat(child, &stb) != 0) {
			fprintf(stderr, "inkan-admin: %s: %s\n", child, strerror(errno));
			ok = 0;
		} else if (S_ISDIR(stb.st_mode)) {
			ok = add_tree(c, child, depth + 1);
		} else if (S_ISREG(stb.st_mode)) {
			ok = add_file(c, child, "token directory");
		} else {
			fprintf(stderr, "inkan-admin: %s: neither a file nor a directory (a symbolic "
			    "link?); refusing to back up a tree that has one\n", child);
			ok = 0;
		}
	}
	closedir(d);
	return ok;
}

static int add_sqlite(collector *c, const char *path, const char *what)
{
	ad_entry e;
	struct stat stb;
	uint8_t *snap = NULL;
	size_t n = 0;
	char why[512];
	int ok = 0;

	if (!check_path(path, what))
		return 0;
	if (lstat(path, &stb) != 0 || !S_ISREG(stb.st_mode)) {
		fprintf(stderr, "inkan-admin: %s (%s): not a regular file\n", path, what);
		return 0;
	}
	if (ad_sqlite_snapshot(path, &snap, &n, why, sizeof(why)) != IK_OK) {
		fprintf(stderr, "inkan-admin: %s: %s\n", what, why);
		return 0;
	}
	if (!add_parent(c, path))
		goto out;
	memset(&e, 0, sizeof(e));
	e.type = AD_SQLITE;
	memcpy(e.path, path, strlen(path) + 1);
	set_owner(&e, &stb);
	e.data = snap;
	e.size = n;
	ok = put(c, &e);
out:
	ad_sqlite_free(snap);
	return ok;
}

/* ---- the whole backup ---- */

static int collect(collector *c, const ad_backup_opts *o)
{
	conf_paths ra, sg;
	char hsm[AD_PATH_MAX + 1];

	memset(&ra, 0, sizeof(ra));
	memset(&sg, 0, sizeof(sg));
	if (o->ra_config != NULL) {
		if (!check_path(o->ra_config, "--ra-config") || !read_conf(o->ra_config, &ra))
			return 0;
		if (ra.database[0] == '\0') {
			fprintf(stderr, "inkan-admin: %s: no [ra] database\n", o->ra_config);
			return 0;
		}
		if (!add_file(c, o->ra_config, "RA config") ||
		    (ra.tls_cert[0] != '\0' && !add_file(c, ra.tls_cert, "[ra] tls_cert")) ||
		    (ra.tls_key[0] != '\0' && !add_file(c, ra.tls_key, "[ra] tls_key")) ||
		    !add_sqlite(c, ra.database, "RA store ([ra] database)"))
			return 0;
	}
	if (o->signer_config != NULL) {
		if (!check_path(o->signer_config, "--signer-config") || !read_conf(o->signer_config, &sg))
			return 0;
		if (sg.ledger[0] == '\0' || sg.pin_file[0] == '\0' || sg.ca_cert[0] == '\0') {
			fprintf(stderr, "inkan-admin: %s: needs [signer] ledger, [hsm] pin_file and "
			    "[ca] cert\n", o->signer_config);
			return 0;
		}
		if (!add_file(c, o->signer_config, "signer config") ||
		    !add_file(c, sg.ca_cert, "[ca] cert") ||
		    (sg.ca_chain[0] != '\0' && !add_file(c, sg.ca_chain, "[ca] chain")) ||
		    !add_file(c, sg.pin_file, "[hsm] pin_file"))
			return 0;
		if (!o->no_hsm_dir) {
			if (o->hsm_dir != NULL) {
				if (strlen(o->hsm_dir) > AD_PATH_MAX)
					return 0;
				memcpy(hsm, o->hsm_dir, strlen(o->hsm_dir) + 1);
			} else {
				char *d;

				memcpy(hsm, sg.pin_file, strlen(sg.pin_file) + 1);
				d = dirname(hsm);
				memmove(hsm, d, strlen(d) + 1);
			}
			if (!check_path(hsm, "token directory") || !add_parent(c, hsm) ||
			    !add_tree(c, hsm, 0))
				return 0;
		}
		/* last: the ledger is at least as new as everything above */
		if (!add_sqlite(c, sg.ledger, "signer ledger ([signer] ledger)"))
			return 0;
	}
	for (size_t i = 0; i < o->nincludes; i++) {
		struct stat stb;

		if (!check_path(o->includes[i], "--include"))
			return 0;
		if (lstat(o->includes[i], &stb) == 0 && S_ISDIR(stb.st_mode)) {
			if (!add_parent(c, o->includes[i]) || !add_tree(c, o->includes[i], 0))
				return 0;
		} else if (!add_file(c, o->includes[i], "--include")) {
			return 0;
		}
	}
	return 1;
}

int ad_backup(const ad_backup_opts *o, const char *pass)
{
	collector c;
	char tmp[AD_PATH_MAX + 16];
	int fd = -1, rc = 1;
	ik_status st;

	memset(&c, 0, sizeof(c));
	c.verbose = o->verbose;
	if (strlen(pass) < AD_PASS_MIN) {
		fprintf(stderr, "inkan-admin: the passphrase must be at least %d characters\n", AD_PASS_MIN);
		return 2;
	}
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.XXXXXX", o->out) >= sizeof(tmp)) {
		fprintf(stderr, "inkan-admin: %s: path too long\n", o->out);
		return 2;
	}
	if (access(o->out, F_OK) == 0) {
		fprintf(stderr, "inkan-admin: %s exists; refusing to overwrite it\n", o->out);
		return 1;
	}
	if ((fd = mkstemp(tmp)) < 0 || fchmod(fd, 0600) != 0) {
		fprintf(stderr, "inkan-admin: %s: cannot create: %s\n", tmp, strerror(errno));
		return 1;
	}
	if ((st = ad_writer_new(fd, pass, o->log2n, &c.w)) != IK_OK) {
		fprintf(stderr, "inkan-admin: cannot start the archive: %s\n", ik_status_str(st));
		goto out;
	}
	if (!collect(&c, o))
		goto out;
	if ((st = ad_writer_finish(c.w)) != IK_OK || fsync(fd) != 0) {
		fprintf(stderr, "inkan-admin: %s: cannot finish the archive: %s\n", tmp,
		    st != IK_OK ? ik_status_str(st) : strerror(errno));
		goto out;
	}
	/* link, not rename: an archive that appeared meanwhile is not replaced */
	if (link(tmp, o->out) != 0) {
		fprintf(stderr, "inkan-admin: %s: cannot create: %s\n", o->out, strerror(errno));
		goto out;
	}
	printf("inkan-admin: backup written to %s (%zu entries, %zu bytes of data)\n", o->out,
	    c.files, c.bytes);
	rc = 0;
out:
	ad_writer_free(c.w);
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	for (size_t i = 0; i < c.nseen; i++)
		free(c.seen[i]);
	return rc;
}
