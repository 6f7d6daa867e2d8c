/* policy: settings-driven rules (today: the PKCS#12 password policy). */
#ifndef RA_POLICY_H
#define RA_POLICY_H

#include <stddef.h>
#include "p12.h"
#include "store.h"

/* The end users' PKCS#12 password policy: the p12.h defaults, with the settings
 * p12_password_min_length (8..max) and p12_password_classes (0..4) when set. */
ik_status ra_policy_p12_password(ra_store *s, ra_pw_policy *p);
/* 1 if value is acceptable for one of the policy settings above; else why says why. */
int ra_policy_setting_ok(const char *key, const char *value, char *why, size_t whysz);

#endif
