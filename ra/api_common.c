/* api_common: helpers the JSON API handlers share — ids from the path, history entries of a
 * request, store errors as HTTP replies, optional JSON members, JSON views of rows. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"

int ra_api_path_id(ra_req *r, int64_t *id)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(r->id, &end, 10);
	if (r->id[0] < '1' || r->id[0] > '9' || *end != '\0' || errno != 0 || v <= 0) {
		ra_reply_error(r, 400, "bad_id", "the id in the path must be a positive number");
		return 0;
	}
	*id = (int64_t)v;
	return 1;
}

ra_hist ra_api_hist(const ra_req *r, const char *op, const char *target, const char *detail)
{
	ra_hist h = { .actor = r->who.login, .ip = r->ip, .op = op, .target = target,
	    .detail = detail };
	return h;
}

void ra_api_store_error(ra_req *r, ik_status st, const char *what)
{
	char msg[256];

	switch (st) {
	case IK_ERR_NOT_FOUND:
		snprintf(msg, sizeof(msg), "no such %s", what);
		ra_reply_error(r, 404, "not_found", msg);
		break;
	case IK_ERR_EXISTS:
		snprintf(msg, sizeof(msg), "%s already exists", what);
		ra_reply_error(r, 409, "exists", msg);
		break;
	case IK_ERR_STATE:
		snprintf(msg, sizeof(msg), "not allowed in the %s's current state", what);
		ra_reply_error(r, 409, "state", msg);
		break;
	case IK_ERR_ARG:
		snprintf(msg, sizeof(msg), "a value for the %s is out of range or too long", what);
		ra_reply_error(r, 400, "bad_value", msg);
		break;
	case IK_ERR_BUSY:
		ra_reply_error(r, 503, "busy", "the database is busy; try again");
		break;
	default:
		ra_reply_error(r, 500, "internal", "database error");
		break;
	}
}

int ra_json_opt_str(ra_req *r, json_t *o, const char *key, size_t maxlen, const char **out)
{
	const char *s;

	if (json_object_get(o, key) == NULL || json_is_null(json_object_get(o, key)))
		return 1;
	if ((s = ra_json_str(r, o, key, maxlen)) == NULL)
		return 0;
	*out = s;
	return 1;
}

int ra_json_opt_uint(ra_req *r, json_t *o, const char *key, uint64_t min, uint64_t max,
    uint64_t *out)
{
	json_t *v = json_object_get(o, key);
	char msg[160];

	if (v == NULL || json_is_null(v))
		return 1;
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    (uint64_t)json_integer_value(v) < min || (uint64_t)json_integer_value(v) > max) {
		snprintf(msg, sizeof(msg), "%.40s: a whole number from %llu to %llu is required", key,
		    (unsigned long long)min, (unsigned long long)max);
		ra_reply_error_field(r, 400, "bad_field", msg, key);
		return 0;
	}
	*out = (uint64_t)json_integer_value(v);
	return 1;
}

int ra_query_uint(ra_req *r, const char *key, uint64_t min, uint64_t max, uint64_t *out)
{
	const char *s = ra_req_query(r, key);
	char *end, msg[160];
	unsigned long long v;

	if (s == NULL || *s == '\0')
		return 1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (*s < '0' || *s > '9' || *end != '\0' || errno != 0 || v < min || v > max) {
		snprintf(msg, sizeof(msg), "query parameter %.40s: a whole number from %llu to %llu "
		    "is required", key, (unsigned long long)min, (unsigned long long)max);
		ra_reply_error_field(r, 400, "bad_query", msg, key);
		return 0;
	}
	*out = v;
	return 1;
}

json_t *ra_json_time(int64_t t)
{
	struct tm tm;
	time_t tt = (time_t)t;
	char buf[32];

	if (t == 0 || gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return json_null();
	return json_string(buf);
}

json_t *ra_cert_json(const ra_cert *c)
{
	json_t *j = json_pack("{s:I, s:s, s:s, s:I, s:o, s:o, s:b, s:o, s:o}",
	    "id", (json_int_t)c->id, "cn", c->cn, "state", ra_cert_state_name(c->state),
	    "validity_days", (json_int_t)c->validity_days,
	    "not_before", ra_json_time(c->not_before), "not_after", ra_json_time(c->not_after),
	    "current", c->current, "created", ra_json_time(c->created),
	    "updated", ra_json_time(c->updated));

	if (j == NULL)
		return NULL;
	json_object_set_new(j, "serial", c->serial[0] ? json_string(c->serial) : json_null());
	json_object_set_new(j, "device_id", c->device_id ? json_integer(c->device_id) : json_null());
	json_object_set_new(j, "user_id", c->user_id ? json_integer(c->user_id) : json_null());
	if (c->state == RA_CERT_REVOKED || c->state == RA_CERT_SUSPENDED)
		json_object_set_new(j, "reason", json_integer(c->reason));
	return j;
}

json_t *ra_user_json(const ra_user *u)
{
	return json_pack("{s:I, s:s, s:s, s:s, s:s, s:o}", "id", (json_int_t)u->id,
	    "external_id", u->external_id, "email", u->email, "display_name", u->display_name,
	    "lang", u->lang[0] != '\0' ? u->lang : "ja", "created", ra_json_time(u->created));
}

json_t *ra_device_json(const ra_device *d)
{
	json_t *j = json_pack("{s:I, s:I, s:s, s:s, s:o}", "id", (json_int_t)d->id,
	    "user_id", (json_int_t)d->user_id, "name", d->name, "model", d->model,
	    "created", ra_json_time(d->created));

	if (j != NULL)
		json_object_set_new(j, "current_certificate_id",
		    d->current_cert_id ? json_integer(d->current_cert_id) : json_null());
	return j;
}

int ra_cn_ok(const char *cn)
{
	size_t n = strlen(cn), chars = 0;

	if (n == 0 || cn[0] == ' ' || cn[n - 1] == ' ')
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)cn[i];
		if (c < 0x20 || c == 0x7f)
			return 0;
		if ((c & 0xc0) != 0x80)
			chars++;
	}
	return chars <= 64;
}

ik_status ra_csv_field(ik_buf *b, const char *s, int last)
{
	ik_status st = ik_buf_put_u8(b, '"');

	if (st == IK_OK && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@'))
		st = ik_buf_put_u8(b, '\'');
	for (; st == IK_OK && *s != '\0'; s++)
		st = *s == '"' ? ik_buf_put(b, "\"\"", 2) : ik_buf_put_u8(b, (uint8_t)*s);
	if (st == IK_OK)
		st = ik_buf_put(b, last ? "\"\r\n" : "\",", last ? 3 : 2);
	return st;
}
