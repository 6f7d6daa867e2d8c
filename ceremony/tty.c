/* tty: the terminal, for the two things a ceremony asks people: "go on?" and a custodian's
 * share (typed with echo off, never on a command line or in the environment). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "run.h"

static void put(int fd, const char *s)
{
	size_t n = strlen(s);

	while (n > 0) {
		ssize_t w = write(fd, s, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

/* One line (without its newline) into buf; -1 at end of input. */
static int get_line(int fd, char *buf, size_t bufsz)
{
	size_t n = 0;
	char c;

	for (;;) {
		ssize_t r = read(fd, &c, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			buf[n] = '\0';
			return n > 0 ? (int)n : -1;
		}
		if (c == '\n')
			break;
		if (n + 1 < bufsz)
			buf[n++] = c;
	}
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	OPENSSL_cleanse(&c, sizeof(c));
	return (int)n;
}

int tty_confirm(const char *question)
{
	char line[64];
	int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	int yes;

	if (fd < 0)
		return -1;
	put(fd, question);
	yes = get_line(fd, line, sizeof(line)) >= 0 && strcmp(line, "yes") == 0;
	close(fd);
	return yes;
}

ik_status tty_read_share(const char *prompt, char *buf, size_t bufsz)
{
	struct termios old, quiet;
	char line[256], msg[160];
	size_t n = 0;
	int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	int echo_off = 0, count = 0;

	if (fd < 0)
		return IK_ERR_IO;
	if (tcgetattr(fd, &old) == 0) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		quiet.c_lflag |= ECHONL;
		echo_off = tcsetattr(fd, TCSANOW, &quiet) == 0;
	}
	snprintf(msg, sizeof(msg), "%s: type its %d characters (groups of four, over one or more "
	    "lines; not shown), then Enter on an empty line\n", prompt, SHARE_CHARS);
	put(fd, msg);
	buf[0] = '\0';
	for (;;) {
		int len = get_line(fd, line, sizeof(line));
		if (len < 0 || (len == 0 && n > 0))
			break;  /* end of input, or the empty line after the share */
		if (len == 0)
			continue; /* empty lines before it */
		if (n + (size_t)len + 2 > bufsz)
			break;
		memcpy(buf + n, line, (size_t)len);
		n += (size_t)len;
		buf[n++] = '\n';
		buf[n] = '\0';
		count = share_count_symbols(buf, n);
		snprintf(msg, sizeof(msg), "  %d of %d characters\n", count < 0 ? 0 : count, SHARE_CHARS);
		put(fd, count < 0 ? "  that line has a character that is not in a share\n" : msg);
		if (count < 0 || count >= SHARE_CHARS)
			break;
	}
	OPENSSL_cleanse(line, sizeof(line));
	if (echo_off)
		(void)tcsetattr(fd, TCSANOW, &old);
	close(fd);
	return IK_OK;
}
