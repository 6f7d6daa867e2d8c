/* cfgline: libinih over a file, numbering the lines as it goes, so that a handler knows the
 * line it is called for (Debian's libinih is built without INI_HANDLER_LINENO). */
#ifndef IK_CFGLINE_H
#define IK_CFGLINE_H

#include <ini.h>

/* As ini_parse(), but *line holds the number of the line being parsed while handler runs.
 * Returns 0, the first error's line (a syntax error or a handler returning 0), or -1 when the
 * file cannot be opened.  A handler error is that first error exactly when it came from the
 * line the handler saw; otherwise a syntax error came first. */
int ik_ini_parse(const char *path, ini_handler handler, void *user, int *line);

#endif
