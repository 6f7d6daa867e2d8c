/* policy: the administrators' settings that shape what the RA accepts — the end users'
 * PKCS#12 password policy — read from the store with the p12.h defaults for what is unset. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

ik_status ra_policy_p12_password(ra_store *s, ra_pw_policy *p)
{
	int64_t min_len, classes;
	ik_status st;

	ra_pw_policy_default(p);
	if ((st = ra_store_setting_get_int(s, "p12_password_min_length", p->min_len, &min_len)) !=
	    IK_OK ||
	    (st = ra_store_setting_get_int(s, "p12_password_classes", p->min_classes, &classes)) !=
	    IK_OK)
		return st;
	if (min_len < 8 || min_len > (int64_t)p->max_len || classes < 0 || classes > 4)
		return IK_ERR_CONFIG;
	p->min_len = (uint32_t)min_len;
	p->min_classes = (uint32_t)classes;
	return IK_OK;
}

int ra_policy_setting_ok(const char *key, const char *value, char *why, size_t whysz)
{
	ra_pw_policy def;
	char *end;
	long long v = strtoll(value, &end, 10);

	ra_pw_policy_default(&def);
	if (*value == '\0' || *end != '\0') {
		snprintf(why, whysz, "%s: a whole number is required", key);
		return 0;
	}
	if (strcmp(key, "p12_password_min_length") == 0 && (v < 8 || v > (long long)def.max_len)) {
		snprintf(why, whysz, "%s: from 8 to %u characters", key, def.max_len);
		return 0;
	}
	if (strcmp(key, "p12_password_classes") == 0 && (v < 0 || v > 4)) {
		snprintf(why, whysz, "%s: from 0 to 4 character classes", key);
		return 0;
	}
	return 1;
}
