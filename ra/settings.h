/* settings: the administrators' settings — which keys exist, what a good value is (one
 * check shared by PUT /api/v1/settings and the settings page) and the all-or-nothing save
 * with a history entry per changed key. */
#ifndef RA_SETTINGS_H
#define RA_SETTINGS_H

#include <stddef.h>
#include "status.h"
#include "store.h"

typedef struct ra_setting_def {
	const char *key;
	const char *what;     /* English, for the API's documentation and errors */
	int multiline;        /* lists: the page shows a text area */
} ra_setting_def;

extern const ra_setting_def ra_setting_defs[];
extern const size_t ra_setting_ndefs;

int ra_setting_known(const char *key);

typedef enum ra_setting_err {
	RA_SETTING_OK = 0,
	RA_SETTING_BAD,           /* malformed or out of range: why says how */
	RA_SETTING_SELF_LOCKOUT,  /* an IP allow-list without the address asking */
} ra_setting_err;

/* Checks value for key (known) as set from address ip; why gets an English sentence. */
ra_setting_err ra_setting_check(const char *key, const char *value, const char *ip,
    char *why, size_t whysz);

/* Sets n keys in one transaction, each with a "setting_change" history entry by actor
 * from ip; nothing is changed on failure.  The values must have passed the check. */
ik_status ra_settings_save(ra_store *s, const char *actor, const char *ip,
    const char *const *keys, const char *const *values, size_t n);

#endif
