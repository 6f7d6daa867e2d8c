/* i18n: the UI's languages — message catalogs (ra/i18n/<lang>.txt, "key = message" lines,
 * embedded at build time) loaded and cross-checked at start, lookup by key, and the choice
 * of language for a request (the "inkan_lang" cookie, else Accept-Language, else ja). */
#ifndef RA_I18N_H
#define RA_I18N_H

#include <stddef.h>
#include "status.h"

typedef enum ra_lang {
	RA_LANG_JA = 0,
	RA_LANG_EN = 1,
} ra_lang;
#define RA_LANG_COUNT 2

#define RA_I18N_KEY_MAX 64        /* [A-Za-z0-9_.-] */
#define RA_I18N_MSG_MAX 1024      /* bytes of one message */
#define RA_LANG_COOKIE "inkan_lang"

typedef struct ra_i18n ra_i18n;

/* Parses the embedded catalogs; every language must have exactly the same keys.  On failure
 * why names the file, line and what is wrong. */
ik_status ra_i18n_load(ra_i18n **out, char *why, size_t whysz);
/* The same from given texts (tests, fuzzing): texts[lang], names[lang] for messages. */
ik_status ra_i18n_from_text(const char *const texts[RA_LANG_COUNT],
    const size_t lens[RA_LANG_COUNT], const char *const names[RA_LANG_COUNT],
    ra_i18n **out, char *why, size_t whysz);
void ra_i18n_free(ra_i18n *c);    /* accepts NULL */

/* The message for key; the key itself when the catalog has none (never NULL). */
const char *ra_i18n_get(const ra_i18n *c, ra_lang lang, const char *key);
/* 1 when the catalog has the key. */
int ra_i18n_has(const ra_i18n *c, const char *key);

/* "ja" / "en" */
const char *ra_lang_code(ra_lang lang);
/* 1 and *out when s is exactly a language code. */
int ra_lang_parse(const char *s, ra_lang *out);
/* The cookie's language when valid, else the best of Accept-Language (q-values honoured,
 * "ja-JP" counts as ja), else Japanese.  Both may be NULL. */
ra_lang ra_lang_negotiate(const char *cookie, const char *accept_language);

#endif
