/* restore: bring an archive back onto a fresh tree.  The whole archive is authenticated
 * before anything is written; then every target is checked (nothing that exists is replaced
 * without --force), and files are written beside their target and renamed into place with
 * their recorded mode and owner.  Restored databases must pass SQLite's integrity_check. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "admin.h"
#include "archive.h"

#define TARGET_MAX (2 * AD_PATH_MAX + 32)

static int read_archive(const char *path, uint8_t **out, size_t *len)
{
	struct stat stb;
	uint8_t *data = NULL;
	size_t got = 0;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &stb) != 0) {
		fprintf(stderr, "inkan-admin: %s: cannot open: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return 0;
	}
	if (!S_ISREG(stb.st_mode) || (uint64_t)stb.st_size > AD_MAX_ARCHIVE) {
		fprintf(stderr, "inkan-admin: %s: not a regular file of at most %llu bytes\n", path,
		    (unsigned long long)AD_MAX_ARCHIVE);
		close(fd);
		return 0;
	}
	if ((data = malloc((size_t)stb.st_size + 1)) == NULL) {
		fprintf(stderr, "inkan-admin: %s: out of memory\n", path);
		close(fd);
		return 0;
	}
	while (got < (size_t)stb.st_size) {
		ssize_t r = read(fd, data + got, (size_t)stb.st_size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	if (got != (size_t)stb.st_size) {
		fprintf(stderr, "inkan-admin: %s: short read\n", path);
		free(data);
		return 0;
	}
	*out = data;
	*len = got;
	return 1;
}

static int target_of(const ad_restore_opts *o, const char *path, char *out, size_t outsz)
{
	if ((size_t)snprintf(out, outsz, "%s%s", o->root, path) >= outsz) {
		fprintf(stderr, "inkan-admin: %s%s: path too long\n", o->root, path);
		return 0;
	}
	return 1;
}

/* Create the missing ancestors of path (mode 0755, the caller's). */
static int make_parents(const char *path)
{
	char tmp[TARGET_MAX];
	size_t n = strlen(path);

	if (n >= sizeof(tmp))
		return 0;
	memcpy(tmp, path, n + 1);
	for (char *p = tmp + 1; (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		if (mkdir(tmp, 0755) == 0) {
			if (chmod(tmp, 0755) != 0) /* umask is 077 while restoring */
				return 0;
		} else if (errno != EEXIST) {
			fprintf(stderr, "inkan-admin: %s: cannot create: %s\n", tmp, strerror(errno));
			return 0;
		}
		*p = '/';
	}
	return 1;
}

/* The recorded owner, by name when this system knows it (uids differ between installs). */
static void owner_ids(const ad_entry *e, uid_t *uid, gid_t *gid)
{
	const struct passwd *pw = e->owner[0] != '\0' ? getpwnam(e->owner) : NULL;
	const struct group *gr = e->group[0] != '\0' ? getgrnam(e->group) : NULL;

	*uid = pw != NULL ? pw->pw_uid : (uid_t)e->uid;
	*gid = gr != NULL ? gr->gr_gid : (gid_t)e->gid;
	if (e->owner[0] != '\0' && pw == NULL)
		fprintf(stderr, "inkan-admin: %s: user '%s' unknown here; using uid %u\n", e->path,
		    e->owner, e->uid);
	if (e->group[0] != '\0' && gr == NULL)
		fprintf(stderr, "inkan-admin: %s: group '%s' unknown here; using gid %u\n", e->path,
		    e->group, e->gid);
}

static int restore_dir(const ad_entry *e, const char *target)
{
	struct stat stb;
	uid_t uid;
	gid_t gid;

	if (lstat(target, &stb) == 0) {
		if (!S_ISDIR(stb.st_mode)) {
			fprintf(stderr, "inkan-admin: %s exists and is not a directory\n", target);
			return 0;
		}
		return 1; /* an existing directory keeps its mode (tmpfiles.d owns those) */
	}
	if (!make_parents(target) || mkdir(target, 0700) != 0) {
		fprintf(stderr, "inkan-admin: %s: cannot create: %s\n", target, strerror(errno));
		return 0;
	}
	if (geteuid() == 0) {
		owner_ids(e, &uid, &gid);
		if (chown(target, uid, gid) != 0) {
			fprintf(stderr, "inkan-admin: %s: chown: %s\n", target, strerror(errno));
			return 0;
		}
	}
	if (chmod(target, (mode_t)e->mode) != 0) {
		fprintf(stderr, "inkan-admin: %s: chmod: %s\n", target, strerror(errno));
		return 0;
	}
	return 1;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return 0;
		p += w;
		n -= (size_t)w;
	}
	return 1;
}

static int restore_file(const ad_entry *e, const char *target)
{
	char tmp[TARGET_MAX + 16], side[TARGET_MAX + 8], why[512];
	uid_t uid;
	gid_t gid;
	int fd, ok = 0;

	if (!make_parents(target))
		return 0;
	snprintf(tmp, sizeof(tmp), "%s.inkan-restore", target);
	unlink(tmp); /* a leftover of an interrupted restore */
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0) {
		fprintf(stderr, "inkan-admin: %s: cannot create: %s\n", tmp, strerror(errno));
		return 0;
	}
	if (!write_all(fd, e->data, (size_t)e->size)) {
		fprintf(stderr, "inkan-admin: %s: write failed: %s\n", tmp, strerror(errno));
		goto out;
	}
	if (geteuid() == 0) {
		owner_ids(e, &uid, &gid);
		if (fchown(fd, uid, gid) != 0) {
			fprintf(stderr, "inkan-admin: %s: chown: %s\n", tmp, strerror(errno));
			goto out;
		}
	}
	if (fchmod(fd, (mode_t)e->mode) != 0 || fsync(fd) != 0) {
		fprintf(stderr, "inkan-admin: %s: %s\n", tmp, strerror(errno));
		goto out;
	}
	if (e->type == AD_SQLITE) {
		/* a journal of the database being replaced must not be applied to the restored one */
		snprintf(side, sizeof(side), "%s-wal", target);
		unlink(side);
		snprintf(side, sizeof(side), "%s-shm", target);
		unlink(side);
		snprintf(side, sizeof(side), "%s-journal", target);
		unlink(side);
	}
	if (rename(tmp, target) != 0) {
		fprintf(stderr, "inkan-admin: %s: cannot rename into place: %s\n", target, strerror(errno));
		goto out;
	}
	ok = 1;
	if (e->type == AD_SQLITE && ad_sqlite_check(target, why, sizeof(why)) != IK_OK) {
		fprintf(stderr, "inkan-admin: %s\n", why);
		ok = 0;
	}
out:
	close(fd);
	if (!ok)
		unlink(tmp);
	return ok;
}

static size_t path_depth(const char *path)
{
	size_t n = 0;

	for (; *path != '\0'; path++)
		n += *path == '/';
	return n;
}

static const char *type_name(uint8_t t)
{
	return t == AD_DIR ? "dir" : t == AD_SQLITE ? "sqlite" : "file";
}

/* Pass 1: the entries parse to the end record and no file target exists (unless --force). */
static int check_all(const ad_restore_opts *o, ik_buf *plain)
{
	ad_entry e;
	uint32_t count = 0, n = 0;
	char target[TARGET_MAX];
	int clash = 0;
	ik_status st;

	for (;;) {
		if ((st = ad_entry_next(plain, &e, &count)) != IK_OK) {
			fprintf(stderr, "inkan-admin: %s: entry %u is malformed (%s)\n", o->in, n + 1,
			    ik_status_str(st));
			return 0;
		}
		if (e.type == AD_END)
			break;
		n++;
		if (o->list_only) {
			printf("%-6s %04o %s:%s %10llu %s\n", type_name(e.type), e.mode,
			    e.owner[0] != '\0' ? e.owner : "?", e.group[0] != '\0' ? e.group : "?",
			    (unsigned long long)e.size, e.path);
			continue;
		}
		if (!target_of(o, e.path, target, sizeof(target)))
			return 0;
		if (e.type != AD_DIR && access(target, F_OK) == 0 && !o->force) {
			fprintf(stderr, "inkan-admin: %s exists; restore writes a fresh tree (move it "
			    "away, or --force to replace it)\n", target);
			clash = 1;
		}
	}
	if (count != n) {
		fprintf(stderr, "inkan-admin: %s: %u entries, but the end record says %u\n", o->in, n, count);
		return 0;
	}
	return !clash;
}

int ad_restore(const ad_restore_opts *o, const char *pass)
{
	uint8_t *data = NULL;
	size_t len = 0;
	ik_buf plain;
	ad_entry e;
	uint32_t count = 0, files = 0;
	char why[512], target[TARGET_MAX];
	int rc = 1;
	ik_status st;

	ik_buf_init(&plain, 0);
	ik_buf_set_secret(&plain);
	umask(077);
	if (!read_archive(o->in, &data, &len))
		goto out;
	st = ad_archive_open(data, len, pass, &plain, why, sizeof(why));
	if (st != IK_OK) {
		fprintf(stderr, "inkan-admin: %s: %s\n", o->in, why);
		rc = st == IK_ERR_AUTH ? 3 : st == IK_ERR_CRYPTO ? 4 : 1;
		goto out;
	}
	if (!check_all(o, &plain))
		goto out;
	if (o->list_only) {
		rc = 0;
		goto out;
	}
	/* directories first, shallow before deep, so each gets its recorded mode and owner
	 * before anything is made inside it; then the files */
	for (size_t depth = 1; depth <= AD_PATH_MAX / 2 + 1; depth++) {
		int deeper = 0;

		plain.off = 0;
		for (;;) {
			if (ad_entry_next(&plain, &e, &count) != IK_OK)
				goto out; /* checked in pass 1 */
			if (e.type == AD_END)
				break;
			if (e.type != AD_DIR)
				continue;
			if (path_depth(e.path) > depth)
				deeper = 1;
			if (path_depth(e.path) != depth)
				continue;
			if (!target_of(o, e.path, target, sizeof(target)) || !restore_dir(&e, target))
				goto out;
			if (o->verbose)
				printf("%-6s %s\n", type_name(e.type), target);
		}
		if (!deeper)
			break;
	}
	plain.off = 0;
	for (;;) {
		if (ad_entry_next(&plain, &e, &count) != IK_OK)
			goto out;
		if (e.type == AD_END)
			break;
		if (e.type == AD_DIR)
			continue;
		if (!target_of(o, e.path, target, sizeof(target)) || !restore_file(&e, target))
			goto out;
		if (o->verbose)
			printf("%-6s %s\n", type_name(e.type), target);
		files++;
	}
	printf("inkan-admin: restored %u files from %s%s%s\n", files, o->in,
	    o->root[0] != '\0' ? " under " : "", o->root);
	rc = 0;
out:
	ik_buf_cleanup(&plain);
	if (data != NULL) {
		OPENSSL_cleanse(data, len);
		free(data);
	}
	return rc;
}
