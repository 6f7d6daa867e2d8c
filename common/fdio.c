/* fdio: whole-buffer file I/O on descriptors and unlinked temporary files (fdio.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "fdio.h"

int ik_fd_tmpfile(const char *dir)
{
	char path[PATH_MAX];
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

	if (fd >= 0)
		return fd;
	/* a file system without O_TMPFILE: a named file, unlinked at once */
	if (snprintf(path, sizeof(path), "%s/.inkan-tmp-XXXXXX", dir) >= (int)sizeof(path))
		return -1;
	if ((fd = mkostemp(path, O_CLOEXEC)) >= 0)
		unlink(path);
	return fd;
}

ik_status ik_fd_write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t r = write(fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return IK_ERR_IO;
		p += r;
		n -= (size_t)r;
	}
	return IK_OK;
}

ik_status ik_fd_pread_all(int fd, uint8_t *p, size_t n, size_t off)
{
	while (n > 0) {
		ssize_t r = pread(fd, p, n, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return IK_ERR_IO;
		p += r;
		n -= (size_t)r;
		off += (size_t)r;
	}
	return IK_OK;
}
