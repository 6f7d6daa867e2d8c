/* embed: files built into inkan-rad (the UI's message catalogs and its stylesheet and
 * script), generated from ra/i18n and ra/static by embed_files.cmake. */
#ifndef RA_EMBED_H
#define RA_EMBED_H

#include <stddef.h>

typedef struct ra_embedded {
	const char *name;            /* "i18n/ja.txt", "static/app.css", ... */
	const unsigned char *data;   /* followed by a NUL byte */
	size_t len;
} ra_embedded;

extern const ra_embedded ra_embedded_files[];   /* ends with a NULL name */

/* The file of that name, or NULL. */
const ra_embedded *ra_embedded_find(const char *name);

#endif
