/* log: one line per event, written with a single write(2) so threads never interleave, to
 * stderr (journald stamps it) or to syslog. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

static const char *g_ident = "inkan";
static int g_syslog;
static int g_min = LOG_INFO;

void ik_log_init(const char *ident, int use_syslog, int min_prio)
{
	g_ident = ident;
	g_syslog = use_syslog;
	g_min = min_prio;
	if (use_syslog)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

static const char *prio_name(int prio)
{
	switch (prio) {
	case LOG_EMERG: case LOG_ALERT: case LOG_CRIT: return "critical";
	case LOG_ERR: return "error";
	case LOG_WARNING: return "warning";
	case LOG_NOTICE: return "notice";
	case LOG_INFO: return "info";
	default: return "debug";
	}
}

void ik_log(int prio, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	if (prio > g_min)
		return;
	va_start(ap, fmt);
	if (g_syslog) {
		vsyslog(prio, fmt, ap);
		va_end(ap);
		return;
	}
	n = snprintf(line, sizeof(line), "%s[%d]: %s: ", g_ident, (int)getpid(), prio_name(prio));
	if (n > 0 && (size_t)n < sizeof(line)) {
		int m = vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
		if (m > 0)
			n = (size_t)(n + m) >= sizeof(line) - 1 ? (int)sizeof(line) - 2 : n + m;
		/* no control characters from callers' data in the log */
		for (int i = 0; i < n; i++)
			if ((unsigned char)line[i] < 0x20)
				line[i] = ' ';
		line[n++] = '\n';
		ssize_t w = write(STDERR_FILENO, line, (size_t)n);
		(void)w;
	}
	va_end(ap);
}
