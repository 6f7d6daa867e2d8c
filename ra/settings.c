/* settings: the list of administrators' settings, their validation and their saving —
 * one place for PUT /api/v1/settings (api_history.c) and the settings page. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "auth.h"
#include "mail.h"
#include "policy.h"
#include "renewal.h"
#include "scheduler.h"
#include "settings.h"

const ra_setting_def ra_setting_defs[] = {
	{ "quota", "contracted number of certificates (0 = no limit)", 0 },
	{ "ip_allowlist", "officer IP allow-list: CIDRs separated by spaces or commas", 1 },
	{ "renewal_window_days", "days before expiry from which users may renew (0 = off)", 0 },
	{ "renewal_window_start", "renewal window: first day, MM-DD (yearly) or YYYY-MM-DD", 0 },
	{ "renewal_window_end", "renewal window: last day, MM-DD (yearly) or YYYY-MM-DD", 0 },
	{ "renewal_window_utc_offset", "UTC offset of the window's days (default +09:00)", 0 },
	{ "notify_addresses", "officers' notification e-mail addresses, comma separated", 0 },
	{ "notify_lang", "language of the officers' mail: ja (default) or en", 0 },
	{ "pin_distributor_addresses", "who gets 'access PIN ready' (default notify_addresses)",
	  0 },
	{ "expiry_notice_days", "expiry reminders, days before the end (default 30,7,1)", 0 },
	{ "download_purge_days", "days after their end download credentials are purged (30)", 0 },
	{ "p12_password_min_length", "shortest PKCS#12 password end users may choose (8..64)", 0 },
	{ "p12_password_classes", "how many of lower, upper, digit, symbol it must mix (0..4)", 0 },
};
const size_t ra_setting_ndefs = sizeof(ra_setting_defs) / sizeof(ra_setting_defs[0]);

int ra_setting_known(const char *key)
{
	for (size_t i = 0; i < ra_setting_ndefs; i++)
		if (strcmp(key, ra_setting_defs[i].key) == 0)
			return 1;
	return 0;
}

static ra_setting_err addresses_ok(const char *key, const char *value, char *why,
    size_t whysz)
{
	char list[RA_SETTING_MAX], *save = NULL, *w;

	snprintf(list, sizeof(list), "%s", value);
	for (w = strtok_r(list, ", \t", &save); w != NULL;
	    w = strtok_r(NULL, ", \t", &save))
		if (!ra_mail_addr_ok(w)) {
			snprintf(why, whysz, "%s: '%.64s' is not a plain address local@domain", key, w);
			return RA_SETTING_BAD;
		}
	return RA_SETTING_OK;
}

ra_setting_err ra_setting_check(const char *key, const char *value, const char *ip,
    char *why, size_t whysz)
{
	char sub[256];

	if (strlen(value) >= RA_SETTING_MAX) {
		snprintf(why, whysz, "%.60s: a string is required", key);
		return RA_SETTING_BAD;
	}
	if (strncmp(key, "renewal_window_", 15) == 0)
		return ra_renewal_setting_ok(key, value, why, whysz) ? RA_SETTING_OK :
		    RA_SETTING_BAD;
	if (strcmp(key, "notify_addresses") == 0 || strcmp(key, "pin_distributor_addresses") == 0)
		return addresses_ok(key, value, why, whysz);
	if (strcmp(key, "notify_lang") == 0) {
		if (strcmp(value, "ja") == 0 || strcmp(value, "en") == 0)
			return RA_SETTING_OK;
		snprintf(why, whysz, "notify_lang: ja or en");
		return RA_SETTING_BAD;
	}
	if (strcmp(key, "expiry_notice_days") == 0) {
		unsigned th[RA_SCHED_THRESHOLDS_MAX];
		return ra_sched_thresholds(value, th, why, whysz) == 0 ? RA_SETTING_BAD :
		    RA_SETTING_OK;
	}
	if (strcmp(key, "quota") == 0 || strcmp(key, "download_purge_days") == 0) {
		char *end;
		long long v = strtoll(value, &end, 10);
		if (*value == '\0' || *end != '\0' || v < 0 || v > 100000000) {
			snprintf(why, whysz, "%s: a whole number from 0 to 100000000", key);
			return RA_SETTING_BAD;
		}
		return RA_SETTING_OK;
	}
	if (strncmp(key, "p12_password_", 13) == 0)
		return ra_policy_setting_ok(key, value, why, whysz) ? RA_SETTING_OK :
		    RA_SETTING_BAD;
	if (strcmp(key, "ip_allowlist") == 0) {
		if (ra_cidr_list_check(value, sub, sizeof(sub)) != IK_OK) {
			snprintf(why, whysz, "ip_allowlist: %s", sub);
			return RA_SETTING_BAD;
		}
		/* an administrator may not lock themselves out */
		if (value[0] != '\0' && !ra_ip_in_list(value, ip)) {
			snprintf(why, whysz, "ip_allowlist: your own address is not in the list; you "
			    "would lock yourself out");
			return RA_SETTING_SELF_LOCKOUT;
		}
	}
	return RA_SETTING_OK;
}

ik_status ra_settings_save(ra_store *s, const char *actor, const char *ip,
    const char *const *keys, const char *const *values, size_t n)
{
	ik_status st;

	if ((st = ra_store_begin(s)) != IK_OK)
		return st;
	for (size_t i = 0; i < n; i++) {
		char detail[RA_SETTING_MAX + 64];
		json_t *d = json_pack("{s:s}", "value", values[i]);
		char *js = d != NULL ? json_dumps(d, JSON_COMPACT) : NULL;
		ra_hist h = { .actor = actor, .ip = ip, .op = "setting_change", .target = keys[i],
		    .detail = detail };
		snprintf(detail, sizeof(detail), "%s", js != NULL ? js : "");
		free(js);
		json_decref(d);
		if ((st = ra_store_setting_set(s, keys[i], values[i], &h)) != IK_OK) {
			(void)ra_store_rollback(s);
			return st;
		}
	}
	if ((st = ra_store_commit(s)) != IK_OK)
		(void)ra_store_rollback(s);
	return st;
}
