/* bulk: parse and validate a TSV or CSV bulk file (issue / renew / revoke) into plain C
 * rows and a list of (row, column, reason) errors.  Nothing here touches the store: the
 * caller decides between "abort the whole file" and "register only the valid rows".
 * Column names, aliases and rules are documented in docs/BULK.md. */
#ifndef RA_BULK_H
#define RA_BULK_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "proto.h"
#include "status.h"

typedef enum ra_bulk_kind {
	RA_BULK_ISSUE = 0,
	RA_BULK_RENEW = 1,
	RA_BULK_REVOKE = 2,
} ra_bulk_kind;

typedef enum ra_bulk_format {
	RA_BULK_AUTO = 0, /* TSV if the first line has a tab, else CSV */
	RA_BULK_TSV = 1,  /* tab-separated, no quoting */
	RA_BULK_CSV = 2,  /* RFC 4180 (libcsv, strict): quotes, commas and newlines in quotes */
} ra_bulk_format;

/* Key type asked for in an issue or renew row (the signer's profile has the last word). */
typedef enum ra_bulk_key {
	RA_BULK_KEY_DEFAULT = 0, /* column absent or empty: the RA's default */
	RA_BULK_KEY_EC_P256,
	RA_BULK_KEY_EC_P384,
	RA_BULK_KEY_RSA_2048,
	RA_BULK_KEY_RSA_3072,
	RA_BULK_KEY_RSA_4096,
} ra_bulk_key;

/* RFC 5280 CRLReason codes a revoke row may carry. */
#define RA_BULK_REASON_UNSPECIFIED 0
#define RA_BULK_REASON_KEY_COMPROMISE 1
#define RA_BULK_REASON_AFFILIATION_CHANGED 3
#define RA_BULK_REASON_SUPERSEDED 4
#define RA_BULK_REASON_CESSATION 5
#define RA_BULK_REASON_PRIVILEGE_WITHDRAWN 9

typedef struct ra_bulk_limits {
	size_t max_bytes;           /* the whole file */
	size_t max_rows;            /* data rows (header and blank rows not counted) */
	size_t max_field_bytes;     /* one value, in bytes */
	size_t max_errors;          /* errors kept; more are only counted (but the one
	                             * that makes the file unusable is always kept) */
	uint32_t max_validity_days; /* validity_days must be 1..this */
} ra_bulk_limits;

/* 8 MiB, 10 000 rows, 1 024 bytes per value, 1 000 errors, 1 095 days. */
void ra_bulk_limits_default(ra_bulk_limits *l);

/* One data row.  Which fields a kind fills (others stay NULL / 0):
 *   issue:  user, email, device, common_name; display_name, validity_days, key_type, note
 *   renew:  serial and/or common_name; validity_days, key_type, revoke_old, note
 *   revoke: serial and/or common_name; reason, note
 * Strings are UTF-8, NUL-terminated, trimmed of surrounding spaces; an empty optional
 * value is NULL.  A row with errors (ok == 0) may be partly filled: do not use it. */
typedef struct ra_bulk_row {
	size_t row;                 /* row number in the file, the header being row 1 */
	int ok;                     /* 1: no error on this row */
	char *user;
	char *email;
	char *device;
	char *common_name;
	char *display_name;
	char *note;
	uint32_t validity_days;     /* 0: not given (the profile's default) */
	ra_bulk_key key_type;
	uint8_t serial[PROTO_MAX_SERIAL]; /* minimal positive INTEGER content octets */
	size_t serial_len;          /* 0: no serial given */
	char serial_hex[2 * PROTO_MAX_SERIAL + 1]; /* the same, lowercase hex ("" if none) */
	int revoke_old;             /* renew: -1 not given, 0 no (on confirmation), 1 at once */
	uint8_t reason;             /* revoke: RA_BULK_REASON_*, unspecified if not given */
} ra_bulk_row;

#define RA_BULK_ARGS 4
#define RA_BULK_ARG_MAX 256

typedef struct ra_bulk_error {
	size_t row;     /* row number in the file (header = 1); 0 = the file as a whole */
	char *column;   /* canonical column name; an unknown column as written; "" if none */
	char *header;   /* the column's name as written in the file if it differs, else NULL */
	char *reason;   /* English sentence */
	const char *code;  /* stable, static: "email_no_at", ... (the web pages show the
	                    * catalog message "bulkerr.<code>" with args as {1}..{4}) */
	char *args[RA_BULK_ARGS];  /* the values the reason names, as strings; NULL past nargs */
	size_t nargs;
} ra_bulk_error;

typedef struct ra_bulk_result {
	ra_bulk_kind kind;
	ra_bulk_format format;      /* the format used (AUTO only if refused for its size) */
	int fatal;                  /* the file as a whole is unusable: nrows is 0 */
	ra_bulk_row *rows;          /* every non-blank data row, in file order */
	size_t nrows;
	size_t nvalid;              /* rows with ok == 1 */
	ra_bulk_error *errors;      /* in the order found (file order) */
	size_t nerrors;
	size_t errors_dropped;      /* errors past limits.max_errors (counted, not kept) */
} ra_bulk_result;

/* Parse and validate data[0..len).  limits NULL means ra_bulk_limits_default().
 * Returns IK_OK whenever a result was produced, however bad the file: look at
 * ra_bulk_clean(), fatal and errors.  IK_ERR_ARG for a bad kind/format/limits,
 * IK_ERR_NOMEM on allocation failure (then *out is NULL). */
ik_status ra_bulk_parse(ra_bulk_kind kind, ra_bulk_format format, const void *data,
    size_t len, const ra_bulk_limits *limits, ra_bulk_result **out);
void ra_bulk_free(ra_bulk_result *r); /* accepts NULL */

/* 1 if the file has no error at all (abort mode may go ahead), else 0. */
int ra_bulk_clean(const ra_bulk_result *r);

/* [{"row":3,"column":"email","reason":"...","code":"...","args":[...]}, ...] plus
 * "header" when an alias was used.
 * A new reference, or NULL on allocation failure. */
json_t *ra_bulk_errors_json(const ra_bulk_result *r);
/* "row 3, column email: ...\n" per error ("row 3: ..." without a column, the bare reason
 * for row 0); a final line says how many were dropped.  Malloc'd and NUL-terminated
 * ("" for no errors); NULL on allocation failure. */
char *ra_bulk_errors_text(const ra_bulk_result *r);

/* Names used on the API: "issue"/"renew"/"revoke", "tsv"/"csv"/"auto".  -1 if unknown. */
int ra_bulk_kind_from_name(const char *name);
int ra_bulk_format_from_name(const char *name);
const char *ra_bulk_kind_name(ra_bulk_kind k);
const char *ra_bulk_key_name(ra_bulk_key k);       /* "ec-p256", ...; NULL for DEFAULT */
const char *ra_bulk_reason_name(uint8_t reason);   /* "keyCompromise", ...; NULL if not allowed */

#endif
