/* bulk: TSV and CSV bulk files for issue / renew / revoke.  Checks the encoding, splits
 * the bytes into records (libcsv for CSV), reads the header, and validates every row into
 * an ra_bulk_row, collecting (row, column, reason) errors.  docs/BULK.md is the user's view. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <csv.h>

#include "buf.h"
#include "bulk.h"
#include "bulk_field.h"

#define MAX_COLS 32           /* header cells */
#define MAX_HEADER_BYTES 128  /* one header cell */

enum col_id {
	COL_USER, COL_EMAIL, COL_DEVICE, COL_CN, COL_DISPLAY_NAME, COL_VALIDITY_DAYS,
	COL_KEY_TYPE, COL_NOTE, COL_SERIAL, COL_REASON, COL_REVOKE_OLD, COL_N
};

enum { NO = 0, OPT = 1, REQ = 2, ONE = 3 }; /* ONE: serial or common_name, one at least */

/* Aliases are in normalised form (norm_header: ASCII lower case, '_' for ' ' and '-'). */
static const struct coldef {
	const char *name;
	uint8_t use[3]; /* issue, renew, revoke */
	const char *alias[10];
} cols[COL_N] = {
	[COL_USER] = { "user", { REQ, NO, NO }, { "user_id", "username", "login", "ユーザー",
	    "ユーザ", "ユーザーid", "ユーザid", "ログインid", "ログイン名", NULL } },
	[COL_EMAIL] = { "email", { REQ, NO, NO }, { "e_mail", "mail", "email_address",
	    "メールアドレス", "メール", NULL } },
	[COL_DEVICE] = { "device", { REQ, NO, NO }, { "device_name", "デバイス", "デバイス名",
	    "端末", "端末名", NULL } },
	[COL_CN] = { "common_name", { REQ, ONE, ONE }, { "cn", "commonname", "コモンネーム",
	    "共通名", NULL } },
	[COL_DISPLAY_NAME] = { "display_name", { OPT, NO, NO }, { "name", "full_name", "氏名",
	    "表示名", "名前", NULL } },
	[COL_VALIDITY_DAYS] = { "validity_days", { OPT, OPT, NO }, { "validity", "days",
	    "有効日数", "有効期間(日)", "有効期間（日）", NULL } },
	[COL_KEY_TYPE] = { "key_type", { OPT, OPT, NO }, { "key", "鍵種別", "鍵の種類", NULL } },
	[COL_NOTE] = { "note", { OPT, OPT, OPT }, { "memo", "comment", "備考", "メモ", NULL } },
	[COL_SERIAL] = { "serial", { NO, ONE, ONE }, { "serial_number", "serialnumber",
	    "シリアル番号", "シリアル", NULL } },
	[COL_REASON] = { "reason", { NO, NO, OPT }, { "revocation_reason", "失効理由", "理由",
	    NULL } },
	[COL_REVOKE_OLD] = { "revoke_old", { NO, OPT, NO }, { "旧証明書を失効",
	    "旧証明書の失効", NULL } },
};

#define F_TOOLONG 1u /* longer than the limit: not kept */
#define F_QUOTED 2u  /* TSV value starting with a double quote */

typedef struct fld {
	size_t off, len; /* in ctx->rec */
	unsigned flags;
} fld;

typedef struct dupset {
	struct dupent {
		char *key;
		size_t row;
	} *e;
	size_t cap, n;
} dupset;

typedef struct bulk_ctx {
	ra_bulk_result *res;
	ra_bulk_limits lim;
	int stop;                /* a fatal error: ignore the rest of the input */
	int nomem;
	size_t errors_seen;      /* kept + dropped */
	size_t record;           /* records ended so far = row number of the last one */
	int last_cr;             /* the last record ended with CR: a LF right after is its tail */
	ik_buf rec;              /* the current record's kept values, each NUL-terminated */
	fld f[MAX_COLS];
	size_t nf;               /* values seen in the current record (kept or not) */
	size_t extra_col;        /* 1-based column of the first non-empty value past the cap */
	int have_header;
	size_t ncols;
	int colmap[MAX_COLS];    /* enum col_id, or -1 for a column without a name */
	char *colname[MAX_COLS]; /* header cells as written */
	size_t present[COL_N];   /* 1-based column of each known column, 0 if absent */
	size_t ndata;
	size_t rows_cap, errors_cap;
	dupset cn, serial, userdev;
} bulk_ctx;

void ra_bulk_limits_default(ra_bulk_limits *l)
{
	l->max_bytes = 8u * 1024u * 1024u;
	l->max_rows = 10000;
	l->max_field_bytes = 1024;
	l->max_errors = 1000;
	l->max_validity_days = 1095;
}

/* ---- errors ---- */

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
	size_t ncap = *cap == 0 ? 16 : *cap, bytes;
	void *np;

	if (need <= *cap)
		return 0;
	while (ncap < need)
		if (ik_size_mul(ncap, 2, &ncap) != 0)
			return -1;
	if (ik_size_mul(ncap, elem, &bytes) != 0 || (np = realloc(*p, bytes)) == NULL)
		return -1;
	*p = np;
	*cap = ncap;
	return 0;
}

/* Keeps the error unless the cap is reached; force (the error that makes the file
 * unusable) is kept past the cap, so the officer always learns why. */
static void keep_error(bulk_ctx *c, int force, size_t row, const char *column,
    const char *header, const ra_bulkf_why *w)
{
	ra_bulk_result *r = c->res;
	ra_bulk_error *e;
	int bad = 0;

	c->errors_seen++;
	if (r->nerrors >= c->lim.max_errors && !force) {
		r->errors_dropped++;
		return;
	}
	if (grow((void **)&r->errors, &c->errors_cap, r->nerrors + 1, sizeof(*e)) != 0) {
		c->nomem = c->stop = 1;
		return;
	}
	e = &r->errors[r->nerrors];
	memset(e, 0, sizeof(*e));
	e->row = row;
	e->column = strdup(column);
	e->header = header != NULL && strcmp(header, column) != 0 ? strdup(header) : NULL;
	e->reason = strdup(w->text);
	e->code = w->code;
	for (size_t i = 0; i < w->nargs && i < RA_BULK_ARGS; i++)
		if ((e->args[e->nargs++] = strdup(w->args[i])) == NULL)
			bad = 1;
	if (bad || e->column == NULL || e->reason == NULL || (header != NULL &&
	    e->header == NULL && strcmp(header, column) != 0)) {
		free(e->column);
		free(e->header);
		free(e->reason);
		for (size_t i = 0; i < e->nargs; i++)
			free(e->args[i]);
		c->nomem = c->stop = 1;
		return;
	}
	r->nerrors++;
}

__attribute__((format(printf, 7, 0)))
static void verror(bulk_ctx *c, int force, size_t row, const char *column,
    const char *header, const char *code, const char *fmt, va_list ap)
{
	ra_bulkf_why w;

	ra_bulkf_vset(&w, code, fmt, ap);
	keep_error(c, force, row, column, header, &w);
}

__attribute__((format(printf, 5, 6)))
static void add_error(bulk_ctx *c, size_t row, const char *column, const char *code,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verror(c, 0, row, column, NULL, code, fmt, ap);
	va_end(ap);
}

/* An error on the i-th column of the current data row: named canonically, with the
 * header as written when an alias was used. */
__attribute__((format(printf, 4, 5)))
static void col_error(bulk_ctx *c, size_t i, const char *code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verror(c, 0, c->record, cols[c->colmap[i]].name, c->colname[i], code, fmt, ap);
	va_end(ap);
}

/* The same with a value check's reason. */
static void col_why(bulk_ctx *c, size_t i, const ra_bulkf_why *w)
{
	keep_error(c, 0, c->record, cols[c->colmap[i]].name, c->colname[i], w);
}

__attribute__((format(printf, 4, 5)))
static void fatal(bulk_ctx *c, size_t row, const char *code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verror(c, 1, row, "", NULL, code, fmt, ap);
	va_end(ap);
	c->res->fatal = 1;
	c->stop = 1;
}

/* "C" for column 3, "AF" for column 32. */
static const char *letters(size_t col, char out[4])
{
	if (col <= 26) {
		out[0] = (char)('A' + col - 1);
		out[1] = '\0';
	} else {
		out[0] = (char)('A' + (col - 1) / 26 - 1);
		out[1] = (char)('A' + (col - 1) % 26);
		out[2] = '\0';
	}
	return out;
}

/* ---- duplicate detection: folded key -> first row ---- */

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 0xcbf29ce484222325u;

	for (; *s != '\0'; s++)
		h = (h ^ (uint8_t)*s) * 0x100000001b3u;
	return h;
}

static struct dupent *dup_slot(struct dupent *e, size_t cap, const char *key)
{
	size_t i = (size_t)(fnv1a(key) & (cap - 1));

	while (e[i].key != NULL && strcmp(e[i].key, key) != 0)
		i = (i + 1) & (cap - 1);
	return &e[i];
}

/* 1 and *first if key was seen, 0 after adding it, -1 on allocation failure. */
static int dup_check(dupset *s, const char *key, size_t row, size_t *first)
{
	struct dupent *slot;

	if ((s->n + 1) * 2 > s->cap) {
		size_t ncap = s->cap == 0 ? 64 : s->cap * 2;
		struct dupent *ne = calloc(ncap, sizeof(*ne));

		if (ne == NULL)
			return -1;
		for (size_t i = 0; i < s->cap; i++)
			if (s->e[i].key != NULL)
				*dup_slot(ne, ncap, s->e[i].key) = s->e[i];
		free(s->e);
		s->e = ne;
		s->cap = ncap;
	}
	slot = dup_slot(s->e, s->cap, key);
	if (slot->key != NULL) {
		*first = slot->row;
		return 1;
	}
	if ((slot->key = strdup(key)) == NULL)
		return -1;
	slot->row = row;
	s->n++;
	return 0;
}

static void dup_free(dupset *s)
{
	for (size_t i = 0; i < s->cap; i++)
		free(s->e[i].key);
	free(s->e);
}

/* ASCII-lower-cased copy of a and, if b, "\x1f" b. */
static char *fold(const char *a, const char *b)
{
	size_t na = strlen(a), nb = b != NULL ? strlen(b) + 1 : 0;
	char *k = malloc(na + nb + 1);

	if (k == NULL)
		return NULL;
	memcpy(k, a, na);
	if (b != NULL) {
		k[na] = '\x1f';
		memcpy(k + na + 1, b, nb - 1);
	}
	k[na + nb] = '\0';
	for (char *p = k; *p != '\0'; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return k;
}

static void check_dup(bulk_ctx *c, dupset *s, const char *a, const char *b, size_t i,
    const char *what, const char *shown)
{
	char q[160], q2[160];
	char *key = fold(a, b);
	size_t first = 0;
	int r;

	if (key == NULL || (r = dup_check(s, key, c->record, &first)) < 0) {
		free(key);
		c->nomem = c->stop = 1;
		return;
	}
	free(key);
	if (r == 0)
		return;
	ra_bulkf_quote(q, sizeof(q), shown);
	if (b == NULL) {
		col_error(c, i, "duplicate", "duplicate %s %s: already in row %zu", what, q, first);
	} else {
		ra_bulkf_quote(q2, sizeof(q2), a);
		col_error(c, i, "duplicate_device", "user %s already has device %s in row %zu", q2, q, first);
	}
}

/* ---- the header row ---- */

static void norm_header(const char *in, char *out, size_t outsz)
{
	size_t o = 0;

	for (; *in != '\0' && o + 1 < outsz; in++) {
		char ch = *in;

		if (ch >= 'A' && ch <= 'Z')
			ch = (char)(ch - 'A' + 'a');
		else if (ch == ' ' || ch == '-')
			ch = '_';
		out[o++] = ch;
	}
	out[o] = '\0';
}

static int lookup_column(const char *name)
{
	char norm[MAX_HEADER_BYTES + 1];

	norm_header(name, norm, sizeof(norm));
	for (int id = 0; id < COL_N; id++) {
		if (strcmp(norm, cols[id].name) == 0)
			return id;
		for (size_t a = 0; cols[id].alias[a] != NULL; a++)
			if (strcmp(norm, cols[id].alias[a]) == 0)
				return id;
	}
	return -1;
}

/* "user, email, ..." : the columns a kind accepts. */
static void column_list(ra_bulk_kind kind, char *out, size_t outsz)
{
	size_t o = 0;
	int k;

	out[0] = '\0';
	for (int id = 0; id < COL_N; id++) {
		if (cols[id].use[kind] == NO)
			continue;
		k = snprintf(out + o, outsz - o, "%s%s", o > 0 ? ", " : "", cols[id].name);

		if (k < 0 || (size_t)k >= outsz - o)
			return;
		o += (size_t)k;
	}
}

static const char *cell(const bulk_ctx *c, size_t i)
{
	return (const char *)c->rec.data + c->f[i].off;
}

/* One header cell; 0 if it is usable. */
static int header_cell(bulk_ctx *c, ra_bulk_kind kind, size_t i)
{
	ra_bulkf_why why;
	char list[256], col[4];
	const char *name;
	int id;

	c->colmap[i] = -1;
	if (c->f[i].flags & F_TOOLONG) {
		add_error(c, c->record, "", "header_long", "column %zu (%s): the name is longer than %d bytes",
		    i + 1, letters(i + 1, col), MAX_HEADER_BYTES);
		return -1;
	}
	name = cell(c, i);
	if ((c->colname[i] = strdup(name)) == NULL) {
		c->nomem = c->stop = 1;
		return -1;
	}
	if (name[0] == '\0')
		return 0; /* a column without a name: its values must stay empty */
	if (ra_bulkf_text(name, MAX_HEADER_BYTES, MAX_HEADER_BYTES, 0, &why) != 0) {
		add_error(c, c->record, "", "header_text", "column %zu (%s): the name %s", i + 1,
		    letters(i + 1, col), why.text);
		return -1;
	}
	column_list(kind, list, sizeof(list));
	id = lookup_column(name);
	if (id < 0 && (c->f[i].flags & F_QUOTED)) {
		add_error(c, c->record, name, "unknown_column_quoted", "unknown column (TSV "
		    "values are not quoted: remove the double quotes, or upload the file as CSV)");
		return -1;
	}
	if (id < 0 || cols[id].use[kind] == NO) {
		add_error(c, c->record, name, "unknown_column", "unknown column for %s files; they have: %s",
		    ra_bulk_kind_name(kind), list);
		return -1;
	}
	if (c->present[id] != 0) {
		char col2[4];

		add_error(c, c->record, cols[id].name, "column_twice", "column appears twice (columns %s and %s)",
		    letters(c->present[id], col2), letters(i + 1, col));
		return -1;
	}
	c->present[id] = i + 1;
	c->colmap[i] = id;
	return 0;
}

/* 1 if no cell of the current record names a column of any kind: a data row where the
 * header should be. */
static int no_known_column(const bulk_ctx *c, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!(c->f[i].flags & F_TOOLONG) && lookup_column(cell(c, i)) >= 0)
			return 0;
	return 1;
}

static void header_row(bulk_ctx *c, ra_bulk_kind kind)
{
	size_t n = c->nf < MAX_COLS ? c->nf : MAX_COLS;
	char list[256];
	int bad = 0;

	if (no_known_column(c, n)) {
		column_list(kind, list, sizeof(list));
		fatal(c, c->record, "no_header", "this row should be the header, naming the columns, but it "
		    "names none; %s files have: %s", ra_bulk_kind_name(kind), list);
		return;
	}
	if (c->nf > MAX_COLS) {
		add_error(c, c->record, "", "too_many_columns",
		    "the header has %zu columns; at most %d are allowed", c->nf, MAX_COLS);
		bad = 1;
	}
	for (size_t i = 0; i < n && !c->nomem; i++)
		bad |= header_cell(c, kind, i) != 0;
	c->ncols = n;
	for (int id = 0; id < COL_N; id++) {
		if (cols[id].use[kind] == REQ && c->present[id] == 0) {
			add_error(c, c->record, cols[id].name, "column_missing", "required column is missing");
			bad = 1;
		}
	}
	if (kind != RA_BULK_ISSUE && c->present[COL_SERIAL] == 0 && c->present[COL_CN] == 0) {
		add_error(c, c->record, "serial", "column_serial_or_cn", "required column is "
		    "missing: a %s file needs a serial or a common_name column",
		    ra_bulk_kind_name(kind));
		bad = 1;
	}
	if (bad) {
		c->res->fatal = 1;
		c->stop = 1;
	}
	c->have_header = 1;
}

/* ---- data rows ---- */

/* Check value v of known column id and store it in the row; 0 if it is good. */
static int store_value(bulk_ctx *c, ra_bulk_row *row, int id, const char *v,
    ra_bulkf_why *why)
{
	char **dst = NULL;
	int r = 0;

	switch (id) {
	case COL_USER: r = ra_bulkf_user(v, why); dst = &row->user; break;
	case COL_EMAIL: r = ra_bulkf_email(v, why); dst = &row->email; break;
	case COL_DEVICE: r = ra_bulkf_text(v, 64, 256, 0, why); dst = &row->device; break;
	case COL_CN: r = ra_bulkf_common_name(v, why); dst = &row->common_name; break;
	case COL_DISPLAY_NAME:
		r = ra_bulkf_text(v, 128, 512, 0, why);
		dst = &row->display_name;
		break;
	case COL_NOTE: r = ra_bulkf_text(v, 512, 2048, 1, why); dst = &row->note; break;
	case COL_VALIDITY_DAYS:
		return ra_bulkf_days(v, c->lim.max_validity_days, &row->validity_days, why);
	case COL_KEY_TYPE: return ra_bulkf_key(v, &row->key_type, why);
	case COL_REASON: return ra_bulkf_reason(v, &row->reason, why);
	case COL_REVOKE_OLD: return ra_bulkf_bool(v, &row->revoke_old, why);
	case COL_SERIAL:
		if ((r = ra_bulkf_serial(v, row->serial, &row->serial_len, why)) != 0)
			return r;
		for (size_t k = 0; k < row->serial_len; k++)
			snprintf(row->serial_hex + 2 * k, 3, "%02x", row->serial[k]);
		return 0;
	default: return -1;
	}
	if (r != 0)
		return r;
	if ((*dst = strdup(v)) == NULL)
		c->nomem = c->stop = 1;
	return c->nomem ? -1 : 0;
}

/* Column i of the current data row; good[id] becomes 1 for a valid value, -1 for a
 * present but bad one, and stays 0 for an empty one. */
static void check_cell(bulk_ctx *c, ra_bulk_kind kind, ra_bulk_row *row, size_t i,
    int good[COL_N])
{
	const fld *f = i < c->nf ? &c->f[i] : NULL;
	ra_bulkf_why why;
	char col[4];
	int id = c->colmap[i];
	const char *v;

	if (id < 0) {
		if (f != NULL && (f->len > 0 || f->flags != 0))
			add_error(c, c->record, "", "value_no_column", "a value in column %zu (%s), which has no name "
			    "in the header", i + 1, letters(i + 1, col));
		return;
	}
	if (f != NULL && (f->len > 0 || f->flags != 0))
		good[id] = -1;
	if (f != NULL && (f->flags & F_TOOLONG)) {
		col_error(c, i, "value_long", "is %zu bytes long; the limit is %zu", f->len,
		    c->lim.max_field_bytes);
		return;
	}
	if (f != NULL && (f->flags & F_QUOTED)) {
		col_error(c, i, "value_quoted", "TSV values are not quoted: remove the double quotes, or upload "
		    "the file as CSV");
		return;
	}
	v = f != NULL && f->len > 0 ? cell(c, i) : NULL;
	if (v == NULL) {
		if (cols[id].use[kind] == REQ)
			col_error(c, i, "value_empty", "required value is empty");
		return;
	}
	if (id != COL_NOTE && ra_bulkf_text(v, SIZE_MAX, SIZE_MAX, 0, &why) != 0) {
		col_why(c, i, &why);
		return;
	}
	if (store_value(c, row, id, v, &why) != 0) {
		if (!c->nomem)
			col_why(c, i, &why);
		return;
	}
	good[id] = 1;
}

/* Duplicates within the file: the later row gets the error, naming the earlier one. */
static void check_row_dups(bulk_ctx *c, ra_bulk_kind kind, const ra_bulk_row *row,
    const int good[COL_N])
{
	if (good[COL_CN] == 1)
		check_dup(c, &c->cn, row->common_name, NULL, c->present[COL_CN] - 1, "common_name",
		    row->common_name);
	if (kind == RA_BULK_ISSUE && good[COL_USER] == 1 && good[COL_DEVICE] == 1)
		check_dup(c, &c->userdev, row->user, row->device, c->present[COL_DEVICE] - 1,
		    "device", row->device);
	if (good[COL_SERIAL] == 1)
		check_dup(c, &c->serial, row->serial_hex, NULL, c->present[COL_SERIAL] - 1,
		    "serial", row->serial_hex);
}

static void data_row(bulk_ctx *c, ra_bulk_kind kind)
{
	ra_bulk_result *r = c->res;
	int good[COL_N] = { 0 };
	ra_bulk_row *row;
	size_t before = c->errors_seen;
	char col[4];

	if (c->ndata >= c->lim.max_rows) {
		fatal(c, c->record, "too_many_rows", "more than %zu data rows: split the file", c->lim.max_rows);
		return;
	}
	if (grow((void **)&r->rows, &c->rows_cap, r->nrows + 1, sizeof(*row)) != 0) {
		c->nomem = c->stop = 1;
		return;
	}
	row = &r->rows[r->nrows++];
	memset(row, 0, sizeof(*row));
	row->row = c->record;
	row->revoke_old = -1;
	c->ndata++;
	if (c->extra_col != 0)
		add_error(c, c->record, "", "value_past_header", "a value in column %zu (%s), but "
		    "the header has only %zu columns", c->extra_col, letters(c->extra_col, col),
		    c->ncols);
	for (size_t i = 0; i < c->ncols && !c->nomem; i++)
		check_cell(c, kind, row, i, good);
	if (kind != RA_BULK_ISSUE && good[COL_SERIAL] == 0 && good[COL_CN] == 0) {
		if (c->present[COL_SERIAL] != 0)
			col_error(c, c->present[COL_SERIAL] - 1, "serial_or_cn", "give a serial or a common_name");
		else
			col_error(c, c->present[COL_CN] - 1, "value_empty", "required value is empty");
	}
	if (!c->nomem)
		check_row_dups(c, kind, row, good);
	row->ok = c->errors_seen == before;
	if (row->ok)
		r->nvalid++;
}

/* ---- records: both splitters feed on_field / on_eol ---- */

/* Drop ASCII spaces and U+3000 IDEOGRAPHIC SPACE at both ends. */
static void trim(const uint8_t **pp, size_t *np)
{
	const uint8_t *p = *pp;
	size_t n = *np;

	for (;;) {
		if (n >= 1 && p[0] == ' ') {
			p++;
			n--;
		} else if (n >= 3 && p[0] == 0xe3 && p[1] == 0x80 && p[2] == 0x80) {
			p += 3;
			n -= 3;
		} else {
			break;
		}
	}
	for (;;) {
		if (n >= 1 && p[n - 1] == ' ')
			n--;
		else if (n >= 3 && p[n - 3] == 0xe3 && p[n - 2] == 0x80 && p[n - 1] == 0x80)
			n -= 3;
		else
			break;
	}
	*pp = p;
	*np = n;
}

static void on_field(bulk_ctx *c, const uint8_t *p, size_t n)
{
	size_t cap = c->have_header ? c->ncols : MAX_COLS;
	size_t limit = c->have_header ? c->lim.max_field_bytes : MAX_HEADER_BYTES;
	size_t idx;
	fld *f;

	if (c->stop)
		return;
	idx = c->nf++;
	trim(&p, &n);
	if (idx >= cap) {
		if (n > 0 && c->extra_col == 0)
			c->extra_col = idx + 1;
		return;
	}
	f = &c->f[idx];
	f->flags = 0;
	f->off = 0;
	f->len = n;
	if (n > limit) {
		f->flags = F_TOOLONG;
		return;
	}
	if (c->res->format == RA_BULK_TSV && n > 0 && p[0] == '"')
		f->flags |= F_QUOTED;
	f->off = c->rec.len;
	if ((n > 0 && ik_buf_put(&c->rec, p, n) != IK_OK) || ik_buf_put_u8(&c->rec, 0) != IK_OK)
		c->nomem = c->stop = 1;
}

static int is_blank(const bulk_ctx *c)
{
	size_t cap = c->have_header ? c->ncols : MAX_COLS;
	size_t n = c->nf < cap ? c->nf : cap;

	if (c->extra_col != 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (c->f[i].len > 0 || c->f[i].flags != 0)
			return 0;
	return 1;
}

static void on_eol(bulk_ctx *c, int ch)
{
	if (ch == '\n' && c->last_cr && c->nf == 0) {
		c->last_cr = 0; /* the LF of a CRLF */
		return;
	}
	c->last_cr = ch == '\r';
	c->record++;
	if (!c->stop && !is_blank(c)) {
		if (c->have_header)
			data_row(c, c->res->kind);
		else
			header_row(c, c->res->kind);
	}
	c->nf = 0;
	c->extra_col = 0;
	ik_buf_reset(&c->rec);
}

static int csv_space(unsigned char ch)
{
	return ch == ' ';
}

static void csv_field_cb(void *s, size_t n, void *data)
{
	on_field(data, s, n);
}

static void csv_eol_cb(int ch, void *data)
{
	on_eol(data, ch);
}

/* RFC 4180 through libcsv in strict mode; CSV_REPALL_NL reports every line end, so blank
 * lines count as rows (row numbers match the spreadsheet) and CRLF is folded in on_eol. */
static void split_csv(bulk_ctx *c, const uint8_t *p, size_t n)
{
	struct csv_parser cp;
	int err = CSV_SUCCESS, at_end = 0;

	if (csv_init(&cp, CSV_STRICT | CSV_STRICT_FINI | CSV_REPALL_NL) != 0) {
		c->nomem = c->stop = 1;
		return;
	}
	csv_set_space_func(&cp, csv_space);
	if (csv_parse(&cp, p, n, csv_field_cb, csv_eol_cb, c) != n) {
		err = csv_error(&cp);
	} else if (csv_fini(&cp, csv_field_cb, csv_eol_cb, c) != 0) {
		err = csv_error(&cp);
		at_end = 1;
	}
	csv_free(&cp);
	if (err == CSV_EPARSE && !c->stop)
		fatal(c, c->record + 1, at_end ? "csv_unclosed" : "csv_quote", at_end ?
		    "malformed CSV: a quoted value is not closed (a double quote is missing)" :
		    "malformed CSV: a double quote inside an unquoted value, or text after a "
		    "closing quote");
	else if (err != CSV_SUCCESS && err != CSV_EPARSE)
		c->nomem = c->stop = 1;
}

/* Tab-separated, no quoting; lines end with LF, CRLF or CR. */
static void split_tsv(bulk_ctx *c, const uint8_t *p, size_t n)
{
	size_t start = 0;

	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\t') {
			on_field(c, p + start, i - start);
			start = i + 1;
		} else if (p[i] == '\r' || p[i] == '\n') {
			if (i > start || c->nf > 0)
				on_field(c, p + start, i - start);
			on_eol(c, p[i]);
			start = i + 1;
		}
	}
	if (start < n || c->nf > 0) {
		on_field(c, p + start, n - start);
		on_eol(c, -1);
	}
}

/* ---- the file ---- */

static size_t line_of(const uint8_t *p, size_t off)
{
	size_t line = 1;

	for (size_t i = 0; i < off; i++)
		line += p[i] == '\n';
	return line;
}

/* 0 if the bytes are UTF-8 without NUL, else a fatal error. */
static int check_encoding(bulk_ctx *c, const uint8_t *p, size_t n)
{
	const uint8_t *z;

	if (n >= 2 && ((p[0] == 0xff && p[1] == 0xfe) || (p[0] == 0xfe && p[1] == 0xff))) {
		fatal(c, 0, "utf16", "file is UTF-16, not UTF-8: save it as UTF-8 (in Excel: CSV UTF-8)");
		return -1;
	}
	if ((z = memchr(p, 0, n)) != NULL) {
		fatal(c, 0, "nul_byte", "file contains a NUL byte on line %zu (UTF-16 or not a text file?): "
		    "save it as UTF-8 text", line_of(p, (size_t)(z - p)));
		return -1;
	}
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		size_t k = p[i] < 0x80 ? 1 : ra_bulkf_utf8(p + i, n - i, &cp);

		if (k == 0) {
			fatal(c, 0, "not_utf8", "file is not UTF-8 (Shift_JIS? save as UTF-8): invalid byte "
			    "0x%02X on line %zu", p[i], line_of(p, i));
			return -1;
		}
		i += k;
	}
	return 0;
}

static void run(bulk_ctx *c, ra_bulk_format format, const uint8_t *p, size_t n)
{
	if (n > c->lim.max_bytes) {
		fatal(c, 0, "file_large", "file is %zu bytes; the limit is %zu", n, c->lim.max_bytes);
		return;
	}
	if (n > 0 && check_encoding(c, p, n) != 0)
		return;
	if (n >= 3 && p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf) {
		p += 3;
		n -= 3;
	}
	if (format == RA_BULK_AUTO) {
		const uint8_t *nl = n > 0 ? memchr(p, '\n', n) : NULL;
		size_t first = nl != NULL ? (size_t)(nl - p) : n;

		format = first > 0 && memchr(p, '\t', first) != NULL ? RA_BULK_TSV : RA_BULK_CSV;
	}
	c->res->format = format;
	if (n > 0) {
		if (format == RA_BULK_TSV)
			split_tsv(c, p, n);
		else
			split_csv(c, p, n);
	}
	if (c->stop)
		return;
	if (!c->have_header)
		fatal(c, 0, "file_empty", "file is empty: it needs a header row and at least one data row");
	else if (c->ndata == 0)
		fatal(c, 0, "no_data", "file has a header row but no data rows");
}

ik_status ra_bulk_parse(ra_bulk_kind kind, ra_bulk_format format, const void *data,
    size_t len, const ra_bulk_limits *limits, ra_bulk_result **out)
{
	bulk_ctx c;

	if (out == NULL)
		return IK_ERR_ARG;
	*out = NULL;
	if ((unsigned)kind > RA_BULK_REVOKE || (unsigned)format > RA_BULK_CSV ||
	    (data == NULL && len > 0))
		return IK_ERR_ARG;
	memset(&c, 0, sizeof(c));
	if (limits != NULL)
		c.lim = *limits;
	else
		ra_bulk_limits_default(&c.lim);
	if (c.lim.max_rows == 0 || c.lim.max_field_bytes == 0 || c.lim.max_validity_days == 0)
		return IK_ERR_ARG;
	if ((c.res = calloc(1, sizeof(*c.res))) == NULL)
		return IK_ERR_NOMEM;
	c.res->kind = kind;
	c.res->format = format;
	ik_buf_init(&c.rec, 0);
	run(&c, format, data, len);
	ik_buf_cleanup(&c.rec);
	for (size_t i = 0; i < MAX_COLS; i++)
		free(c.colname[i]);
	dup_free(&c.cn);
	dup_free(&c.serial);
	dup_free(&c.userdev);
	if (c.nomem) {
		ra_bulk_free(c.res);
		return IK_ERR_NOMEM;
	}
	if (c.res->fatal)
		ra_bulk_free_rows(c.res);
	*out = c.res;
	return IK_OK;
}
