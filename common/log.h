/* log: one line per event to stderr (journald adds the time) or syslog.  Never pass a
 * secret (PIN, password, key) to it. */
#ifndef IK_LOG_H
#define IK_LOG_H

#include <syslog.h>

void ik_log_init(const char *ident, int use_syslog, int min_prio);
void ik_log(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
