/* store_sqlite_certlist: the officer's certificate list at a million rows — one statement per
 * filter shape (access path × sort key × order × first/next page), each served by an index
 * that matches it (migration 005_cert_list), keyset cursors, and counts from the kept counters. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_sqlite_int.h"

/* A driving set (CN trigram matches, CN prefix, issue-date range) of at most this many rows
 * is fetched whole and sorted; a larger one is filtered while walking the sort key's index
 * instead (then at least DRIVE_MAX / N of the rows match, so a page is found quickly). */
#define DRIVE_MAX 5000

/* How a page is found: the index walked or the set fetched, then sorted. */
typedef enum path {
	P_ALL,      /* (key, id): every state */
	P_STATE,    /* (state, key, id) with state = ?12: valid, revoked, suspended */
	P_EXPIRED,  /* state 'expired' in (state, key, id), plus active past not_after */
	P_FTS,      /* id IN the trigram matches of ?11, sorted */
	P_PREFIX,   /* lower(cn) in [?13, ?14), sorted */
	P_RANGE,    /* not_before in [?4, ?5), sorted */
	P_DEVICE,   /* device_id = ?6, sorted */
	P_USER,     /* user_id = ?7, sorted */
	P_N
} path;

#define NSORT 5
static const char *const sort_key[NSORT] = {
	[RA_CERT_SORT_CREATED] = "created_at", [RA_CERT_SORT_CN] = "cn",
	[RA_CERT_SORT_NOT_BEFORE] = "IFNULL(not_before, 0)",
	[RA_CERT_SORT_NOT_AFTER] = "IFNULL(not_after, 0)",
	[RA_CERT_SORT_SERIAL] = "IFNULL(serial, '')",
};
static const char *const sort_idx[NSORT] = { "created", "cn", "not_before", "not_after",
	"serial" };

/* The filter itself, exact for every path (the path's own terms only pick rows):
 * ?1 filter, ?2 now, ?3 cn LIKE pattern, ?4/?5 not_before range, ?6 device, ?7 user. */
#define CERT_FILTER \
	" (?1 = 0" \
	"  OR (?1 = 1 AND state = 'active' AND not_after > ?2)" \
	"  OR (?1 = 2 AND (state = 'expired' OR (state = 'active' AND not_after <= ?2)))" \
	"  OR (?1 = 3 AND state = 'revoked')" \
	"  OR (?1 = 4 AND state = 'suspended'))" \
	" AND (?3 IS NULL OR certificates.cn LIKE ?3 ESCAPE '\\')" \
	" AND (?4 IS NULL OR not_before >= ?4) AND (?5 IS NULL OR not_before < ?5)" \
	" AND (?6 IS NULL OR device_id = ?6) AND (?7 IS NULL OR user_id = ?7)"
#define NB_RANGE "IFNULL(not_before, 0) >= IFNULL(?4, -9223372036854775807)" \
	" AND IFNULL(not_before, 0) < IFNULL(?5, 9223372036854775807)"

static const char SQL_PROBE_FTS[] =
    "SELECT COUNT(*) FROM (SELECT 1 FROM certs_cn_fts WHERE certs_cn_fts MATCH ?1 LIMIT ?2)";
static const char SQL_PROBE_PREFIX[] =
    "SELECT COUNT(*) FROM (SELECT 1 FROM certificates INDEXED BY certs_cn_lower"
    " WHERE lower(cn) >= ?1 AND lower(cn) < ?2 LIMIT ?3)";
static const char SQL_PROBE_RANGE[] =
    "SELECT COUNT(*) FROM (SELECT 1 FROM certificates INDEXED BY certs_not_before"
    " WHERE IFNULL(not_before, 0) >= ?1 AND IFNULL(not_before, 0) < ?2 LIMIT ?3)";
static const char SQL_ACTIVE_PAST[] =
    "SELECT COUNT(*) FROM certificates INDEXED BY certs_state_not_after"
    " WHERE state = 'active' AND IFNULL(not_after, 0) <= ?1";
static const char SQL_COUNT_STATE_CN[] =
    "SELECT COUNT(*) FROM (SELECT 1 FROM certificates INDEXED BY certs_state_cn"
    " WHERE state = ?1 AND cn LIKE ?2 ESCAPE '\\' LIMIT ?3)";
static const char SQL_STATE_N[] = "SELECT IFNULL(SUM(n), 0) FROM cert_state_counts"
    " WHERE ?1 IS NULL OR state = ?1";

/* The statements, made once: [path][sort][descending][after a cursor], and the counts. */
static char *sql_page[P_N][NSORT][2][2];
static char *sql_count[P_N];
static pthread_once_t sql_once = PTHREAD_ONCE_INIT;
static int sql_ok;

/* "FROM certificates <index> WHERE <terms>" of one branch of path p (for P_EXPIRED: branch b
 * 0 = expired rows, 1 = active rows past not_after). */
static int from_where(char *o, size_t n, path p, int k, int b)
{
	const char *nb = k == RA_CERT_SORT_NOT_BEFORE ? " AND " NB_RANGE : "";

	switch (p) {
	case P_ALL:
		return snprintf(o, n, "FROM certificates INDEXED BY certs_%s WHERE 1%s",
		    sort_idx[k], nb);
	case P_STATE:
		return snprintf(o, n, "FROM certificates INDEXED BY certs_state_%s"
		    " WHERE state = ?12%s", sort_idx[k], nb);
	case P_EXPIRED:
		if (b == 0)
			return snprintf(o, n, "FROM certificates INDEXED BY certs_state_%s"
			    " WHERE state = 'expired'%s", sort_idx[k], nb);
		return snprintf(o, n, "FROM certificates INDEXED BY certs_state_not_after"
		    " WHERE state = 'active' AND IFNULL(not_after, 0) <= ?2");
	case P_FTS:
		return snprintf(o, n, "FROM certificates NOT INDEXED WHERE id IN"
		    " (SELECT rowid FROM certs_cn_fts WHERE certs_cn_fts MATCH ?11)");
	case P_PREFIX:
		return snprintf(o, n, "FROM certificates INDEXED BY certs_cn_lower"
		    " WHERE lower(cn) >= ?13 AND lower(cn) < ?14");
	case P_RANGE:
		return snprintf(o, n, "FROM certificates INDEXED BY certs_not_before WHERE "
		    NB_RANGE);
	case P_DEVICE:
		return snprintf(o, n, "FROM certificates INDEXED BY certs_device"
		    " WHERE device_id = ?6");
	default:
		return snprintf(o, n, "FROM certificates INDEXED BY certs_user WHERE user_id = ?7");
	}
}

/* One page statement of branch b: the key is selected last, for the next cursor.  After a
 * cursor (?8, ?9) = the (key, id) of the previous page's last row, a path that walks an
 * index takes two seeks in it — the rest of the rows with key ?8 (id past ?9), then the keys
 * past ?8 — merged: SQLite seeks a row value "(key, id) > (?8, ?9)" only on key and would
 * scan a whole run of equal keys (a bulk file's rows share one created_at) for every page.
 * A fetched-and-sorted set just filters on the row value. */
static int page_branch(char *o, size_t n, path p, int k, int desc, int after, int b)
{
	char fw[512], ks[256] = "";
	const char *key = sort_key[k], *dir = desc ? "DESC" : "ASC", *cmp = desc ? "<" : ">";
	int walk = p == P_ALL || p == P_STATE || (p == P_EXPIRED && b == 0);

	if (from_where(fw, sizeof(fw), p, k, b) >= (int)sizeof(fw))
		return -1;
	if (after && walk)
		return snprintf(o, n, "SELECT * FROM (SELECT " SQ_CERT_COLS ", %s AS k %s AND"
		    CERT_FILTER " AND %s = ?8 AND id %s ?9 ORDER BY id %s LIMIT ?10)"
		    " UNION ALL SELECT * FROM (SELECT " SQ_CERT_COLS ", %s AS k %s AND" CERT_FILTER
		    " AND %s %s ?8 ORDER BY %s %s, id %s LIMIT ?10) ORDER BY k %s, id %s LIMIT ?10",
		    key, fw, key, cmp, dir, key, fw, key, cmp, key, dir, dir, dir, dir);
	if (walk)
		return snprintf(o, n, "SELECT " SQ_CERT_COLS ", %s AS k %s AND" CERT_FILTER
		    " ORDER BY %s %s, id %s LIMIT ?10", key, fw, key, dir, dir);
	/* a set fetched and sorted: only (key, id) go through the sort, the page's rows are
	 * read after it (a sort of whole rows cost 4x more for a descending order) */
	if (after)
		snprintf(ks, sizeof(ks), " AND (%s, id) %s (?8, ?9)", key, cmp);
	return snprintf(o, n, "SELECT " SQ_CERT_COLS ", k FROM (SELECT id AS sid, %s AS k %s AND"
	    CERT_FILTER "%s ORDER BY k %s, sid %s LIMIT ?10) CROSS JOIN certificates NOT INDEXED"
	    " ON id = sid ORDER BY k %s, sid %s", key, fw, ks, dir, dir, dir, dir);
}

#define PAGE_SQL_MAX 12288

static char *page_sql(path p, int k, int desc, int after)
{
	char *a = malloc(PAGE_SQL_MAX / 2), *b = malloc(PAGE_SQL_MAX / 2), *o = malloc(PAGE_SQL_MAX);
	int w, ok = 0;

	if (a == NULL || b == NULL || o == NULL ||
	    page_branch(a, PAGE_SQL_MAX / 2, p, k, desc, after, 0) >= PAGE_SQL_MAX / 2)
		goto out;
	if (p != P_EXPIRED) {
		memcpy(o, a, strlen(a) + 1);
		ok = 1;
		goto out;
	}
	if (page_branch(b, PAGE_SQL_MAX / 2, p, k, desc, after, 1) >= PAGE_SQL_MAX / 2)
		goto out;
	/* two disjoint sorted branches, each at most a page, merged */
	w = snprintf(o, PAGE_SQL_MAX, "SELECT * FROM (SELECT * FROM (%s)) UNION ALL"
	    " SELECT * FROM (%s) ORDER BY 16 %s, 1 %s LIMIT ?10", a, b, desc ? "DESC" : "ASC",
	    desc ? "DESC" : "ASC");
	ok = w > 0 && w < PAGE_SQL_MAX;
out:
	free(a);
	free(b);
	if (!ok) {
		free(o);
		o = NULL;
	}
	return o;
}

static char *count_sql(path p)
{
	char a[1024], b[1024], *o = malloc(3072);
	int w;

	if (o == NULL || from_where(a, sizeof(a), p, RA_CERT_SORT_CREATED, 0) >= (int)sizeof(a) ||
	    from_where(b, sizeof(b), p, RA_CERT_SORT_CREATED, 1) >= (int)sizeof(b)) {
		free(o);
		return NULL;
	}
	if (p == P_FTS) /* the matches in rowid order, each looked up: stops at the cap */
		w = snprintf(o, 3072, "SELECT COUNT(*) FROM (SELECT 1 FROM certs_cn_fts CROSS JOIN"
		    " certificates NOT INDEXED ON certificates.id = certs_cn_fts.rowid"
		    " WHERE certs_cn_fts MATCH ?11 AND" CERT_FILTER " LIMIT ?10)");
	else if (p == P_EXPIRED)
		w = snprintf(o, 3072, "SELECT (SELECT COUNT(*) FROM (SELECT 1 %s AND" CERT_FILTER
		    " LIMIT ?10)) + (SELECT COUNT(*) FROM (SELECT 1 %s AND" CERT_FILTER
		    " LIMIT ?10))", a, b);
	else
		w = snprintf(o, 3072, "SELECT COUNT(*) FROM (SELECT 1 %s AND" CERT_FILTER
		    " LIMIT ?10)", a);
	if (w > 0 && w < 3072)
		return o;
	free(o);
	return NULL;
}

static void make_sql(void)
{
	for (int p = 0; p < P_N; p++) {
		if ((sql_count[p] = count_sql((path)p)) == NULL)
			return;
		for (int k = 0; k < NSORT; k++)
			for (int d = 0; d < 2; d++)
				for (int a = 0; a < 2; a++)
					if ((sql_page[p][k][d][a] = page_sql((path)p, k, d, a)) ==
					    NULL)
						return;
	}
	sql_ok = 1;
}

/* ---- the search terms ---- */

/* What a query's CN and dates turn into. */
typedef struct terms {
	char *like;     /* ?3: "%sub%" or, for a short pattern, "sub%" (escaped); NULL */
	char *match;    /* ?11: the FTS5 phrase "sub" with " doubled; NULL for a short one */
	char *lo, *hi;  /* ?13, ?14: the short pattern in ASCII lower case, and the next string */
	int64_t from, to;
} terms;

static void terms_free(terms *t)
{
	free(t->like);
	free(t->match);
	free(t->lo);
	free(t->hi);
}

static ik_status terms_make(const ra_cert_query *cq, terms *t)
{
	const char *sub = cq->cn_contains;
	size_t n;

	memset(t, 0, sizeof(*t));
	t->from = cq->issued_from > 0 ? cq->issued_from : INT64_MIN + 1;
	t->to = cq->issued_to > 0 ? cq->issued_to : INT64_MAX;
	if (sub == NULL || sub[0] == '\0')
		return IK_OK;
	n = strlen(sub);
	if (!ra_cert_cn_is_prefix(sub)) {
		char *w;
		if (sq_like_contains(sub, &t->like) != IK_OK ||
		    (t->match = malloc(2 * n + 3)) == NULL)
			return IK_ERR_NOMEM;
		w = t->match;
		*w++ = '"';
		for (size_t i = 0; i < n; i++) {
			if (sub[i] == '"')
				*w++ = '"';
			*w++ = sub[i];
		}
		*w++ = '"';
		*w = '\0';
		return IK_OK;
	}
	if ((t->like = malloc(2 * n + 2)) == NULL || (t->lo = malloc(n + 1)) == NULL ||
	    (t->hi = malloc(n + 1)) == NULL)
		return IK_ERR_NOMEM;
	{
		char *w = t->like;
		for (size_t i = 0; i < n; i++) {
			char ch = sub[i];
			if (ch == '%' || ch == '_' || ch == '\\')
				*w++ = '\\';
			*w++ = ch;
			t->lo[i] = ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch;
		}
		*w++ = '%';
		*w = '\0';
	}
	t->lo[n] = '\0';
	memcpy(t->hi, t->lo, n + 1);
	/* the first string after every one that starts with lo (a UTF-8 byte is never 0xff) */
	t->hi[n - 1] = (char)((unsigned char)t->hi[n - 1] + 1);
	return IK_OK;
}

/* ---- choosing the path ---- */

/* Runs a probe whose parameters are already bound; *n gets its one number. */
static ik_status probe_run(sq_conn *c, sqlite3_stmt *q, int64_t *n)
{
	int row;
	ik_status st = sq_step(c, q, &row);

	*n = st == IK_OK && row ? sq_col_i64(q, 0) : 0;
	sq_reset(q);
	return st;
}

/* How many rows the CN term picks (at most DRIVE_MAX + 1), and its path. */
static ik_status probe_cn(sq_conn *c, const terms *t, path *p, int64_t *n)
{
	sqlite3_stmt *q;
	ik_status st;

	*p = t->match != NULL ? P_FTS : P_PREFIX;
	if ((st = sq_stmt(c, t->match != NULL ? SQL_PROBE_FTS : SQL_PROBE_PREFIX, &q)) != IK_OK)
		return st;
	if (t->match != NULL) {
		sq_bind_text(c, q, 1, t->match);
		sq_bind_i64(c, q, 2, DRIVE_MAX + 1);
	} else {
		sq_bind_text(c, q, 1, t->lo);
		sq_bind_text(c, q, 2, t->hi);
		sq_bind_i64(c, q, 3, DRIVE_MAX + 1);
	}
	return probe_run(c, q, n);
}

static ik_status probe_range(sq_conn *c, const terms *t, int64_t *n)
{
	sqlite3_stmt *q;
	ik_status st = sq_stmt(c, SQL_PROBE_RANGE, &q);

	if (st != IK_OK)
		return st;
	sq_bind_i64(c, q, 1, t->from);
	sq_bind_i64(c, q, 2, t->to);
	sq_bind_i64(c, q, 3, DRIVE_MAX + 1);
	return probe_run(c, q, n);
}

/* The capped probes of one request, each run at most once (the page and its total). */
typedef struct probes {
	int64_t cn, nb;   /* CN matches, rows in the date range: at most DRIVE_MAX + 1 */
	path p_cn;        /* P_FTS or P_PREFIX */
	int did_cn, did_nb;
} probes;

static void probes_init(probes *pr)
{
	memset(pr, 0, sizeof(*pr));
	pr->cn = pr->nb = DRIVE_MAX + 1;
	pr->p_cn = P_FTS;
}

static ik_status probe_cn_once(sq_conn *c, const terms *t, probes *pr)
{
	ik_status st = IK_OK;

	if (t->like != NULL && !pr->did_cn && (st = probe_cn(c, t, &pr->p_cn, &pr->cn)) == IK_OK)
		pr->did_cn = 1;
	return st;
}

static ik_status probe_nb_once(sq_conn *c, const ra_cert_query *cq, const terms *t,
    probes *pr)
{
	ik_status st = IK_OK;

	if ((cq->issued_from > 0 || cq->issued_to > 0) && !pr->did_nb &&
	    (st = probe_range(c, t, &pr->nb)) == IK_OK)
		pr->did_nb = 1;
	return st;
}

/* Rows in a state (NULL: all) from the kept counters. */
static ik_status state_n(sq_conn *c, const char *state, int64_t *n)
{
	sqlite3_stmt *q;
	ik_status st = sq_stmt(c, SQL_STATE_N, &q);

	if (st != IK_OK)
		return st;
	sq_bind_text(c, q, 1, state);
	return probe_run(c, q, n);
}

static const char *filter_state(ra_cert_filter f)
{
	switch (f) {
	case RA_CERT_FILTER_VALID: return "active";
	case RA_CERT_FILTER_REVOKED: return "revoked";
	case RA_CERT_FILTER_SUSPENDED: return "suspended";
	default: return NULL;
	}
}

static path base_path(ra_cert_filter f)
{
	return f == RA_CERT_FILTER_ALL ? P_ALL : f == RA_CERT_FILTER_EXPIRED ? P_EXPIRED : P_STATE;
}

/* The path for q: a device or user first; else the smallest driving set of at most
 * DRIVE_MAX rows (CN, or the dates unless the page walks not_before anyway); else the
 * state filter's index.  For a count (counting = 1) a large CN set still drives (its
 * matches in rowid order, stopping at RA_CERT_COUNT_CAP + 1) unless the state filter holds
 * at most 4 DRIVE_MAX rows. */
static ik_status choose(sq_conn *c, const ra_cert_query *cq, const terms *t, int counting,
    probes *pr, path *out)
{
	int64_t n_st;
	ik_status st;

	*out = base_path(cq->filter);
	if (cq->device_id != 0 || cq->user_id != 0) {
		*out = cq->device_id != 0 ? P_DEVICE : P_USER;
		return IK_OK;
	}
	if ((st = probe_cn_once(c, t, pr)) != IK_OK)
		return st;
	if ((counting || cq->sort != RA_CERT_SORT_NOT_BEFORE) &&
	    (st = probe_nb_once(c, cq, t, pr)) != IK_OK)
		return st;
	if (pr->cn <= DRIVE_MAX || pr->nb <= DRIVE_MAX) {
		*out = pr->cn <= pr->nb ? pr->p_cn : P_RANGE;
		return IK_OK;
	}
	if (!counting || t->like == NULL)
		return IK_OK;
	if ((st = state_n(c, filter_state(cq->filter), &n_st)) != IK_OK)
		return st;
	/* a small state (suspended, revoked) is read whole; else the CN matches until the cap */
	if (cq->filter == RA_CERT_FILTER_ALL || cq->filter == RA_CERT_FILTER_VALID ||
	    cq->filter == RA_CERT_FILTER_EXPIRED || n_st > 4 * DRIVE_MAX)
		*out = pr->p_cn;
	return IK_OK;
}

/* Binds every parameter the statement has (?1..?14, see CERT_FILTER and path). */
static void bind_all(sq_conn *c, sqlite3_stmt *q, const ra_cert_query *cq, const terms *t)
{
	int np = sqlite3_bind_parameter_count(q);

	sq_bind_i64(c, q, 1, (int64_t)cq->filter);
	sq_bind_i64(c, q, 2, cq->now != 0 ? cq->now : sq_now());
	sq_bind_text(c, q, 3, t->like);
	sq_bind_opt_i64(c, q, 4, cq->issued_from);
	sq_bind_opt_i64(c, q, 5, cq->issued_to);
	sq_bind_opt_i64(c, q, 6, cq->device_id);
	sq_bind_opt_i64(c, q, 7, cq->user_id);
	if (np >= 11)
		sq_bind_text(c, q, 11, t->match);
	if (np >= 12)
		sq_bind_text(c, q, 12, filter_state(cq->filter));
	if (np >= 14) {
		sq_bind_text(c, q, 13, t->lo);
		sq_bind_text(c, q, 14, t->hi);
	}
}

/* ---- keyset cursors ---- */

static int sort_is_text(ra_cert_sort k)
{
	return k == RA_CERT_SORT_CN || k == RA_CERT_SORT_SERIAL;
}

/* A keyset cursor: "k<sort>.<0|1>.<id>.<hex of the key value>" (an integer key as its
 * decimal text).  Opaque to callers, safe in a URL. */
typedef struct cursor {
	int64_t id;
	int64_t ival;
	char sval[RA_CN_MAX + 1];
} cursor;

static void cursor_encode(ra_cert_sort k, int desc, int64_t id, int64_t ival,
    const char *sval, char out[RA_CURSOR_MAX])
{
	static const char hexd[] = "0123456789abcdef";
	char num[24];
	const char *v = sval;
	int w = snprintf(out, RA_CURSOR_MAX, "k%d.%d.%lld.", (int)k, desc ? 1 : 0,
	    (long long)id);
	size_t o = w > 0 ? (size_t)w : 0;

	if (!sort_is_text(k)) {
		snprintf(num, sizeof(num), "%lld", (long long)ival);
		v = num;
	}
	for (size_t i = 0; v[i] != '\0' && o + 2 < RA_CURSOR_MAX; i++) {
		out[o++] = hexd[(unsigned char)v[i] >> 4];
		out[o++] = hexd[(unsigned char)v[i] & 15];
	}
	out[o] = '\0';
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	return -1;
}

static ik_status cursor_decode(const char *text, ra_cert_sort k, int desc, cursor *cur)
{
	char *end;
	long long id;
	size_t n = 0;
	const char *p;

	memset(cur, 0, sizeof(*cur));
	if (strnlen(text, RA_CURSOR_MAX) >= RA_CURSOR_MAX || text[0] != 'k' ||
	    text[1] != (char)('0' + (int)k) || text[2] != '.' || text[3] != (desc ? '1' : '0') ||
	    text[4] != '.' || text[5] < '0' || text[5] > '9')
		return IK_ERR_ARG;
	errno = 0;
	id = strtoll(text + 5, &end, 10);
	if (errno != 0 || *end != '.' || id < 0)
		return IK_ERR_ARG;
	cur->id = (int64_t)id;
	for (p = end + 1; p[0] != '\0'; p += 2) {
		int hi = hexval(p[0]), lo = p[1] != '\0' ? hexval(p[1]) : -1;
		if (hi < 0 || lo < 0 || (hi == 0 && lo == 0) || n + 1 >= sizeof(cur->sval))
			return IK_ERR_ARG;
		cur->sval[n++] = (char)(hi << 4 | lo);
	}
	cur->sval[n] = '\0';
	if (!sort_is_text(k)) {
		if (n == 0)
			return IK_ERR_ARG;
		errno = 0;
		cur->ival = (int64_t)strtoll(cur->sval, &end, 10);
		if (errno != 0 || *end != '\0')
			return IK_ERR_ARG;
	}
	return IK_OK;
}

static int query_ok(const ra_cert_query *cq)
{
	return cq->filter >= RA_CERT_FILTER_ALL && cq->filter <= RA_CERT_FILTER_SUSPENDED &&
	    cq->sort >= RA_CERT_SORT_CREATED && cq->sort <= RA_CERT_SORT_SERIAL &&
	    cq->limit <= RA_PAGE_MAX &&
	    (cq->cn_contains == NULL || strnlen(cq->cn_contains, RA_CN_MAX + 1) <= RA_CN_MAX);
}

/* The page statement for q, prepared and bound (the cursor's key and id, and the limit). */
static ik_status page_stmt(sq_conn *c, const ra_cert_query *cq, const terms *t, probes *pr,
    const cursor *cur, size_t limit, sqlite3_stmt **q)
{
	int desc = cq->descending != 0, after = cur != NULL;
	path p;
	ik_status st;

	if ((st = choose(c, cq, t, 0, pr, &p)) != IK_OK ||
	    (st = sq_stmt(c, sql_page[p][cq->sort][desc][after], q)) != IK_OK)
		return st;
	bind_all(c, *q, cq, t);
	if (after) {
		if (sort_is_text(cq->sort))
			sq_bind_text(c, *q, 8, cur->sval);
		else
			sq_bind_i64(c, *q, 8, cur->ival);
		sq_bind_i64(c, *q, 9, cur->id);
	}
	sq_bind_i64(c, *q, 10, (int64_t)limit + 1); /* one more: is there a next page? */
	return IK_OK;
}

/* One page of q into rows (see ra_store_cert_list), its terms made and c open. */
static ik_status list_page(sq_conn *c, const ra_cert_query *cq, const terms *t, probes *pr,
    ra_cert *rows, size_t *n, char next[RA_CURSOR_MAX])
{
	size_t limit = cq->limit == 0 ? RA_PAGE_MAX : cq->limit;
	int desc = cq->descending != 0, row = 1, more = 0;
	int after = cq->cursor != NULL && cq->cursor[0] != '\0';
	int64_t last_i = 0;
	char last_s[RA_CN_MAX + 1] = "";
	cursor cur;
	sqlite3_stmt *q = NULL;
	ik_status st;

	if (after && (st = cursor_decode(cq->cursor, cq->sort, desc, &cur)) != IK_OK)
		return st;
	if ((st = page_stmt(c, cq, t, pr, after ? &cur : NULL, limit, &q)) != IK_OK)
		return st;
	while ((st = sq_step(c, q, &row)) == IK_OK && row) {
		if (*n == limit) {
			more = 1;
			break;
		}
		if ((st = sq_cert_row(q, &rows[*n])) != IK_OK)
			break;
		if (sort_is_text(cq->sort))
			st = sq_col_text(q, 15, last_s, sizeof(last_s));
		else
			last_i = sq_col_i64(q, 15);
		if (st != IK_OK)
			break;
		(*n)++;
	}
	sq_reset(q);
	if (st == IK_OK && more)
		cursor_encode(cq->sort, desc, rows[*n - 1].id, last_i, last_s, next);
	return st;
}

/* The statements made, the query checked, c open and the terms made: what every entry
 * point does first. */
static ik_status list_start(ra_store *s, const ra_cert_query *cq, sq_conn **c, terms *t)
{
	memset(t, 0, sizeof(*t));
	if (!query_ok(cq))
		return IK_ERR_ARG;
	if (pthread_once(&sql_once, make_sql) != 0 || !sql_ok)
		return IK_ERR_NOMEM;
	return terms_make(cq, t) == IK_OK ? sq_get_conn(s, c) : IK_ERR_NOMEM;
}

ik_status ra_store_cert_list(ra_store *s, const ra_cert_query *cq, ra_cert *rows,
    size_t *n, char next[RA_CURSOR_MAX])
{
	sq_conn *c;
	terms t;
	probes pr;
	ik_status st;

	*n = 0;
	next[0] = '\0';
	probes_init(&pr);
	if ((st = list_start(s, cq, &c, &t)) == IK_OK)
		st = list_page(c, cq, &t, &pr, rows, n, next);
	terms_free(&t);
	if (st != IK_OK)
		*n = 0;
	return st;
}

void ra_store_cert_cursor(const ra_cert *c, ra_cert_sort sort, int descending,
    char out[RA_CURSOR_MAX])
{
	int64_t ival = 0;
	const char *sval = "";

	switch (sort) {
	case RA_CERT_SORT_CN: sval = c->cn; break;
	case RA_CERT_SORT_SERIAL: sval = c->serial; break;
	case RA_CERT_SORT_NOT_BEFORE: ival = c->not_before; break;
	case RA_CERT_SORT_NOT_AFTER: ival = c->not_after; break;
	default: ival = c->created; break;
	}
	cursor_encode(sort, descending != 0, c->id, ival, sval, out);
}

/* Exact from the counters: every row, or the rows of one state; valid and expired move
 * the active rows already past not_after (the expiry job has not run yet) across. */
static ik_status count_kept(sq_conn *c, const ra_cert_query *cq, uint64_t *count)
{
	int64_t n = 0, past = 0, expired = 0;
	sqlite3_stmt *q;
	ik_status st;

	if ((st = state_n(c, filter_state(cq->filter), &n)) != IK_OK)
		return st;
	if (cq->filter == RA_CERT_FILTER_EXPIRED && (st = state_n(c, "expired", &expired)) != IK_OK)
		return st;
	if (cq->filter == RA_CERT_FILTER_VALID || cq->filter == RA_CERT_FILTER_EXPIRED) {
		if ((st = sq_stmt(c, SQL_ACTIVE_PAST, &q)) != IK_OK)
			return st;
		sq_bind_i64(c, q, 1, cq->now != 0 ? cq->now : sq_now());
		if ((st = probe_run(c, q, &past)) != IK_OK)
			return st;
	}
	if (cq->filter == RA_CERT_FILTER_VALID)
		n -= past;
	else if (cq->filter == RA_CERT_FILTER_EXPIRED)
		n = expired + past;
	*count = n > 0 ? (uint64_t)n : 0;
	return IK_OK;
}

static int ascii(const char *p)
{
	for (; *p != '\0'; p++)
		if ((unsigned char)*p >= 0x80)
			return 0;
	return 1;
}

/* The probe's own count when it is the whole filter (every state, no other term): the
 * trigram matches of an ASCII substring are exactly its LIKE matches (both fold ASCII case
 * only, for ASCII text), the lower(cn) range exactly the prefix's, the range of
 * IFNULL(not_before, 0) from a start > 0 exactly the dates'.  -1: not so. */
static ik_status count_probe(sq_conn *c, const ra_cert_query *cq, const terms *t,
    probes *pr, int64_t *n)
{
	int cn = t->like != NULL, dates = cq->issued_from > 0 || cq->issued_to > 0;
	ik_status st = IK_OK;

	*n = -1;
	if (cq->filter != RA_CERT_FILTER_ALL || cq->device_id != 0 || cq->user_id != 0 ||
	    cn == dates)
		return IK_OK;
	if (cn && (t->match == NULL || ascii(cq->cn_contains)) &&
	    (st = probe_cn_once(c, t, pr)) == IK_OK)
		*n = pr->cn;
	else if (!cn && cq->issued_from > 0 && (st = probe_nb_once(c, cq, t, pr)) == IK_OK)
		*n = pr->nb;
	return st;
}

/* A common CN in one small state (revoked, suspended): its (state, cn) index read until the
 * cap, no table row looked up.  -1 when q is another shape. */
static ik_status count_state_cn(sq_conn *c, const ra_cert_query *cq, const terms *t,
    probes *pr, int64_t *n)
{
	sqlite3_stmt *q;
	ik_status st;

	*n = -1;
	if ((cq->filter != RA_CERT_FILTER_REVOKED && cq->filter != RA_CERT_FILTER_SUSPENDED) ||
	    t->like == NULL || cq->issued_from > 0 || cq->issued_to > 0 || cq->device_id != 0 ||
	    cq->user_id != 0)
		return IK_OK;
	if ((st = probe_cn_once(c, t, pr)) != IK_OK || pr->cn <= DRIVE_MAX) /* matches drive */
		return st;
	if ((st = sq_stmt(c, SQL_COUNT_STATE_CN, &q)) != IK_OK)
		return st;
	sq_bind_text(c, q, 1, filter_state(cq->filter));
	sq_bind_text(c, q, 2, t->like);
	sq_bind_i64(c, q, 3, RA_CERT_COUNT_CAP + 1);
	return probe_run(c, q, n);
}

/* How many rows match (see ra_store_cert_count), the probes of the page reused. */
static ik_status count_terms(sq_conn *c, const ra_cert_query *cq, const terms *t,
    probes *pr, uint64_t *count)
{
	sqlite3_stmt *q;
	path p;
	int64_t n = -1;
	ik_status st;

	if ((cq->cn_contains == NULL || cq->cn_contains[0] == '\0') && cq->issued_from == 0 &&
	    cq->issued_to == 0 && cq->device_id == 0 && cq->user_id == 0)
		return count_kept(c, cq, count);
	if ((st = count_probe(c, cq, t, pr, &n)) != IK_OK ||
	    (n < 0 && (st = count_state_cn(c, cq, t, pr, &n)) != IK_OK))
		return st;
	if (n < 0) {
		if ((st = choose(c, cq, t, 1, pr, &p)) != IK_OK ||
		    (st = sq_stmt(c, sql_count[p], &q)) != IK_OK)
			return st;
		bind_all(c, q, cq, t);
		sq_bind_i64(c, q, 10, RA_CERT_COUNT_CAP + 1);
		if ((st = probe_run(c, q, &n)) != IK_OK) /* P_EXPIRED adds two capped counts */
			return st;
	}
	*count = n <= 0 ? 0 : n > RA_CERT_COUNT_CAP ? RA_CERT_COUNT_CAP + 1 : (uint64_t)n;
	return IK_OK;
}

ik_status ra_store_cert_count(ra_store *s, const ra_cert_query *cq, uint64_t *count)
{
	sq_conn *c;
	terms t;
	probes pr;
	ik_status st;

	*count = 0;
	probes_init(&pr);
	if ((st = list_start(s, cq, &c, &t)) == IK_OK)
		st = count_terms(c, cq, &t, &pr, count);
	terms_free(&t);
	return st;
}

ik_status ra_store_cert_page(ra_store *s, const ra_cert_query *cq, ra_cert *rows,
    size_t *n, char next[RA_CURSOR_MAX], uint64_t *total)
{
	int after = cq->cursor != NULL && cq->cursor[0] != '\0';
	sq_conn *c;
	terms t;
	probes pr;
	ik_status st;

	*n = 0;
	*total = 0;
	next[0] = '\0';
	probes_init(&pr);
	if ((st = list_start(s, cq, &c, &t)) == IK_OK &&
	    (st = list_page(c, cq, &t, &pr, rows, n, next)) == IK_OK) {
		if (!after && next[0] == '\0')
			*total = *n; /* the whole result is on this first page */
		else
			st = count_terms(c, cq, &t, &pr, total);
	}
	terms_free(&t);
	if (st != IK_OK) {
		*n = 0;
		next[0] = '\0';
	}
	return st;
}
