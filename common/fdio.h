/* fdio: whole-buffer file I/O on descriptors, and unlinked temporary files (the CRL files of
 * the signer and the RA). */
#ifndef IK_FDIO_H
#define IK_FDIO_H

#include <stddef.h>
#include <stdint.h>
#include "status.h"

/* An unlinked file in dir, read-write, close-on-exec (gone with its last descriptor); -1 on
 * failure. */
int ik_fd_tmpfile(const char *dir);
/* All n bytes written (EINTR retried); IK_ERR_IO otherwise. */
ik_status ik_fd_write_all(int fd, const uint8_t *p, size_t n);
/* All n bytes read from offset off (EINTR retried); IK_ERR_IO on an error or end of file. */
ik_status ik_fd_pread_all(int fd, uint8_t *p, size_t n, size_t off);

#endif
