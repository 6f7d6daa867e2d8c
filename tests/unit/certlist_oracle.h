/* certlist_oracle: the certificate list's filters and order as store.h documents them,
 * written plainly in C over an array: the reference that test_store.c and
 * test_store_certlist.c check the store's list, count and page queries against. */
#ifndef IK_TEST_CERTLIST_ORACLE_H
#define IK_TEST_CERTLIST_ORACLE_H

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "store.h"

/* store.h: a substring from RA_CN_SEARCH_MIN characters, else a prefix; ASCII case folded */
static inline int ik_oracle_cn_ok(const char *cn, const char *sub)
{
	size_t n, chars = 0;

	if (sub == NULL || sub[0] == '\0')
		return 1;
	n = strlen(sub);
	for (size_t i = 0; i < n; i++)
		chars += ((unsigned char)sub[i] & 0xc0) != 0x80;
	if (chars < RA_CN_SEARCH_MIN)
		return strncasecmp(cn, sub, n) == 0;
	for (const char *p = cn; *p != '\0'; p++)
		if (strncasecmp(p, sub, n) == 0)
			return 1;
	return 0;
}

/* Whether q selects c. */
static inline int ik_oracle_matches(const ra_cert *c, const ra_cert_query *q)
{
	int issued = c->serial[0] != '\0';

	switch (q->filter) {
	case RA_CERT_FILTER_VALID:
		if (!(c->state == RA_CERT_ACTIVE && c->not_after > q->now))
			return 0;
		break;
	case RA_CERT_FILTER_EXPIRED:
		if (!(c->state == RA_CERT_EXPIRED ||
		    (c->state == RA_CERT_ACTIVE && c->not_after <= q->now)))
			return 0;
		break;
	case RA_CERT_FILTER_REVOKED:
		if (c->state != RA_CERT_REVOKED)
			return 0;
		break;
	case RA_CERT_FILTER_SUSPENDED:
		if (c->state != RA_CERT_SUSPENDED)
			return 0;
		break;
	default:
		break;
	}
	return ik_oracle_cn_ok(c->cn, q->cn_contains) &&
	    (q->issued_from == 0 || (issued && c->not_before >= q->issued_from)) &&
	    (q->issued_to == 0 || (issued && c->not_before < q->issued_to)) &&
	    (q->device_id == 0 || c->device_id == q->device_id) &&
	    (q->user_id == 0 || c->user_id == q->user_id);
}

static ra_cert_sort ik_oracle_sort; /* qsort's comparison has no context argument */

/* The sort key ascending, ties broken by id (the cursor's order). */
static inline int ik_oracle_cmp(const void *pa, const void *pb)
{
	const ra_cert *a = pa, *b = pb;
	int r = 0;

	switch (ik_oracle_sort) {
	case RA_CERT_SORT_CREATED: r = (a->created > b->created) - (a->created < b->created); break;
	case RA_CERT_SORT_CN: r = strcmp(a->cn, b->cn); break;
	case RA_CERT_SORT_NOT_BEFORE:
		r = (a->not_before > b->not_before) - (a->not_before < b->not_before);
		break;
	case RA_CERT_SORT_NOT_AFTER:
		r = (a->not_after > b->not_after) - (a->not_after < b->not_after);
		break;
	case RA_CERT_SORT_SERIAL: r = strcmp(a->serial, b->serial); break;
	}
	return r != 0 ? r : (a->id > b->id) - (a->id < b->id);
}

/* The rows of all[0..nall) that q selects, in q's order (sort key, then id; reversed when
 * descending), copied into want (room for nall); returns how many. */
static inline size_t ik_oracle_expect(const ra_cert *all, size_t nall, const ra_cert_query *q,
    ra_cert *want)
{
	size_t n = 0;

	for (size_t i = 0; i < nall; i++)
		if (ik_oracle_matches(&all[i], q))
			want[n++] = all[i];
	ik_oracle_sort = q->sort;
	qsort(want, n, sizeof(*want), ik_oracle_cmp);
	if (q->descending)
		for (size_t i = 0; i < n / 2; i++) {
			ra_cert t = want[i];
			want[i] = want[n - 1 - i];
			want[n - 1 - i] = t;
		}
	return n;
}

#endif
