/* pin: read a PIN from a credential file that only its owner can read, or from a file
 * descriptor.  Never from argv or the environment; temporaries are wiped. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "hsm.h"

/* Read everything up to outsz-1 bytes, strip one trailing newline, refuse empty/NUL. */
static ik_status read_secret(int fd, char *out, size_t outsz)
{
	size_t n = 0;
	ik_status st = IK_OK;

	if (outsz < 2)
		return IK_ERR_ARG;
	for (;;) {
		ssize_t r = read(fd, out + n, outsz - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			st = IK_ERR_IO;
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n == outsz - 1) {
			char extra = 0;
			ssize_t x = read(fd, &extra, 1);
			OPENSSL_cleanse(&extra, sizeof(extra));
			if (x != 0) { /* longer than the buffer (or a read error) */
				st = IK_ERR_CONFIG;
				goto out;
			}
			break;
		}
	}
	/* one trailing "\n" or "\r\n" */
	if (n > 0 && out[n - 1] == '\n') {
		n--;
		if (n > 0 && out[n - 1] == '\r')
			n--;
	}
	if (n == 0 || memchr(out, '\0', n) != NULL || memchr(out, '\n', n) != NULL) {
		st = IK_ERR_CONFIG;
		goto out;
	}
	out[n] = '\0';
	return IK_OK;
out:
	OPENSSL_cleanse(out, outsz);
	return st;
}

ik_status hsm_read_pin_file(const char *path, char *out, size_t outsz)
{
	struct stat stb;
	mode_t mode;
	ik_status st;
	int fd;

	if (path == NULL || out == NULL || outsz < 2)
		return IK_ERR_ARG;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return IK_ERR_NOT_FOUND;
		return errno == ELOOP ? IK_ERR_CONFIG : IK_ERR_IO; /* ELOOP: a symlink */
	}
	/* a regular file of ours, mode 0400 or 0600, else nothing is read */
	mode = fstat(fd, &stb) == 0 ? (stb.st_mode & 07777) : 0;
	if (mode == 0 || !S_ISREG(stb.st_mode) || stb.st_uid != geteuid() ||
	    (mode != 0400 && mode != 0600)) {
		close(fd);
		return IK_ERR_CONFIG;
	}
	st = read_secret(fd, out, outsz);
	close(fd);
	return st;
}

ik_status hsm_read_pin_fd(int fd, char *out, size_t outsz)
{
	ik_status st;

	if (fd < 0)
		return IK_ERR_ARG;
	st = read_secret(fd, out, outsz);
	close(fd);
	return st;
}
