/* Unit tests for ra/bulk.c: good TSV and CSV files of each kind, every file-level refusal
 * (encoding, NUL, size, rows, empty, header only, malformed CSV) and every per-value
 * refusal, with the exact row, column and reason of each error; JSON and text output. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <stdio.h>
#include "bulk.h"
#include "i18n.h"

#define ISSUE_HDR "user,email,device,common_name\n"

static ra_bulk_result *parse_lim(ra_bulk_kind k, ra_bulk_format f, const void *s, size_t n,
    const ra_bulk_limits *lim)
{
	ra_bulk_result *r = NULL;

	assert_int_equal(ra_bulk_parse(k, f, s, n, lim, &r), IK_OK);
	assert_non_null(r);
	return r;
}

static ra_bulk_result *parse(ra_bulk_kind k, ra_bulk_format f, const char *s)
{
	return parse_lim(k, f, s, strlen(s), NULL);
}

static void expect_err(const ra_bulk_result *r, size_t i, size_t row, const char *column,
    const char *reason)
{
	assert_true(i < r->nerrors);
	assert_int_equal(r->errors[i].row, row);
	assert_string_equal(r->errors[i].column, column);
	assert_string_equal(r->errors[i].reason, reason);
}

/* A file refused as a whole: exactly one error, no rows. */
static void expect_fatal(const ra_bulk_result *r, size_t row, const char *column,
    const char *reason)
{
	assert_true(r->fatal);
	assert_int_equal(r->nrows, 0);
	assert_int_equal(r->nvalid, 0);
	assert_false(ra_bulk_clean(r));
	assert_int_equal(r->nerrors, 1);
	expect_err(r, 0, row, column, reason);
}

static void test_good_tsv_issue(void **state)
{
	const char *f =
	    "user\temail\tdevice\tcommon_name\tvalidity_days\tkey_type\tdisplay_name\tnote\n"
	    "alice\talice@example.co.jp\tPC\talice-pc\t365\tec-p256\t山田 花子\tnew hire\n"
	    "bob.k\tbob+vpn@mail.example.com\tiPhone 15\t佐藤の電話\t\t\t\t\n"
	    "c_3\tc@x.example\t会社PC\tc3-pc\t1095\tRSA-3072\t\t\n";
	ra_bulk_result *r;

	(void)state;
	r = parse(RA_BULK_ISSUE, RA_BULK_TSV, f);
	assert_true(ra_bulk_clean(r));
	assert_int_equal(r->format, RA_BULK_TSV);
	assert_int_equal(r->nrows, 3);
	assert_int_equal(r->nvalid, 3);
	assert_int_equal(r->rows[0].row, 2);
	assert_string_equal(r->rows[0].user, "alice");
	assert_string_equal(r->rows[0].email, "alice@example.co.jp");
	assert_string_equal(r->rows[0].device, "PC");
	assert_string_equal(r->rows[0].common_name, "alice-pc");
	assert_int_equal(r->rows[0].validity_days, 365);
	assert_int_equal(r->rows[0].key_type, RA_BULK_KEY_EC_P256);
	assert_string_equal(r->rows[0].display_name, "山田 花子");
	assert_string_equal(r->rows[0].note, "new hire");
	assert_int_equal(r->rows[1].row, 3);
	assert_string_equal(r->rows[1].common_name, "佐藤の電話");
	assert_int_equal(r->rows[1].validity_days, 0);
	assert_int_equal(r->rows[1].key_type, RA_BULK_KEY_DEFAULT);
	assert_null(r->rows[1].display_name);
	assert_null(r->rows[1].note);
	assert_int_equal(r->rows[1].serial_len, 0);
	assert_string_equal(r->rows[2].device, "会社PC");
	assert_int_equal(r->rows[2].validity_days, 1095);
	assert_int_equal(r->rows[2].key_type, RA_BULK_KEY_RSA_3072);
	ra_bulk_free(r);
}

/* Quoted CSV: commas, doubled quotes and a newline inside quotes; the record after the
 * two-line value is row 3 (spreadsheet rows, not text lines). */
static void test_good_csv_quoted(void **state)
{
	const char *f =
	    "user,email,device,common_name,display_name,note\n"
	    "alice,alice@example.jp,\"PC, desk 2\",\"alice \"\"A\"\" pc\",\"Yamada, Hanako\","
	    "\"line one\nline two\"\n"
	    "bob,bob@example,phone,bob-phone,,\n";
	ra_bulk_result *r;

	(void)state;
	r = parse(RA_BULK_ISSUE, RA_BULK_CSV, f);
	assert_int_equal(r->nrows, 2);
	assert_int_equal(r->nvalid, 1);
	assert_true(r->rows[0].ok);
	assert_string_equal(r->rows[0].device, "PC, desk 2");
	assert_string_equal(r->rows[0].common_name, "alice \"A\" pc");
	assert_string_equal(r->rows[0].display_name, "Yamada, Hanako");
	assert_string_equal(r->rows[0].note, "line one\nline two");
	assert_int_equal(r->rows[1].row, 3);
	assert_false(r->rows[1].ok);
	assert_int_equal(r->nerrors, 1);
	expect_err(r, 0, 3, "email", "needs a domain with a dot after the @ (e.g. example.co.jp)");
	ra_bulk_free(r);
}

static void test_bom_crlf(void **state)
{
	const char *tsv = "\xef\xbb\xbfuser\temail\tdevice\tcommon_name\r\n"
	    "alice\ta@example.jp\tPC\talice-pc\r\n"
	    "bob\tb@example.jp\tPC\tbob-pc\r\n";
	const char *csv = "\xef\xbb\xbf" "user,email,device,common_name\r\n"
	    "alice,a@example.jp,PC,\"alice\r\npc\"\r\n"
	    "bob,b@example.jp,PC,bob-pc\r\n\r\n";
	ra_bulk_result *r;

	(void)state;
	r = parse(RA_BULK_ISSUE, RA_BULK_TSV, tsv);
	assert_true(ra_bulk_clean(r));
	assert_int_equal(r->nrows, 2);
	assert_string_equal(r->rows[0].user, "alice"); /* the BOM is not part of the name */
	assert_string_equal(r->rows[1].common_name, "bob-pc"); /* no CR left */
	assert_int_equal(r->rows[1].row, 3);
	ra_bulk_free(r);

	/* A CR LF inside quotes stays in the value (and a CN may not have it). */
	r = parse(RA_BULK_ISSUE, RA_BULK_CSV, csv);
	assert_int_equal(r->nrows, 2);
	assert_int_equal(r->nerrors, 1);
	expect_err(r, 0, 2, "common_name", "has a control character (U+000D)");
	assert_int_equal(r->rows[1].row, 3);
	assert_true(r->rows[1].ok);
	ra_bulk_free(r);
}

/* Blank rows are skipped but counted (row numbers stay those of the spreadsheet); rows of
 * empty cells, as Excel writes them, are blank too; CR-only line ends work. */
static void test_blank_rows(void **state)
{
	ra_bulk_result *r;

	(void)state;
	r = parse(RA_BULK_ISSUE, RA_BULK_CSV, "\n" ISSUE_HDR "\n"
	    "alice,a@example.jp,PC,x\n,,,\n \n\nbob,b@example.jp,PC,\n\n\n\n");
	assert_int_equal(r->nrows, 2);
	assert_int_equal(r->rows[0].row, 4);
	assert_int_equal(r->rows[1].row, 8);
	assert_int_equal(r->nerrors, 1);
	expect_err(r, 0, 8, "common_name", "required value is empty");
	ra_bulk_free(r);

	r = parse(RA_BULK_ISSUE, RA_BULK_TSV, "user\temail\tdevice\tcommon_name\r"
	    "alice\ta@example.jp\tPC\tx\r\r\t\t\t\rbob\tb@example.jp\tPC\ty\r\r");
	assert_true(ra_bulk_clean(r));
	assert_int_equal(r->nrows, 2);
	assert_int_equal(r->rows[1].row, 5);
	ra_bulk_free(r);
}

static void test_trailing_blank_lines(void **state)
{
	static const char *const files[] = {
		ISSUE_HDR "alice,a@example.jp,PC,x\n\n\n",
		ISSUE_HDR "alice,a@example.jp,PC,x\r\n\r\n\r\n",
		ISSUE_HDR "alice,a@example.jp,PC,x\n,,,\n,,,\n",
		ISSUE_HDR "alice,a@example.jp,PC,x",
		ISSUE_HDR "alice,a@example.jp,PC,x\n   \n",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		ra_bulk_result *r = parse(RA_BULK_ISSUE, RA_BULK_AUTO, files[i]);

		assert_true(ra_bulk_clean(r));
		assert_int_equal(r->format, RA_BULK_CSV);
		assert_int_equal(r->nrows, 1);
		assert_string_equal(r->rows[0].common_name, "x");
		ra_bulk_free(r);
	}
}

static void test_shift_jis(void **state)
{
	/* "山田" in Shift_JIS as Excel's plain "CSV" save writes it on Japanese Windows. */
	const char f[] = ISSUE_HDR "\x8e\x52\x93\x63,a@example.jp,PC,x\n";
	/* The header itself in Shift_JIS: ユーザー */
	const char g[] = "\x83\x86\x81\x5b\x83\x55\x81\x5b,email\n";
	ra_bulk_result *r;

	(void)state;
	r = parse(RA_BULK_ISSUE, RA_BULK_CSV, f);
	expect_fatal(r, 0, "", "file is not UTF-8 (Shift_JIS? save as UTF-8): invalid byte 0x8E "
	    "on line 2");
	ra_bulk_free(r);
	r = parse(RA_BULK_ISSUE, RA_BULK_TSV, g);
	expect_fatal(r, 0, "", "file is not UTF-8 (Shift_JIS? save as UTF-8): invalid byte 0x83 "
	    "on line 1");
	ra_bulk_free(r);
	/* Overlong and surrogate encodings are not UTF-8 either. */
	r = parse(RA_BULK_ISSUE, RA_BULK_CSV, ISSUE_HDR "\xc0\xaf,a@example.jp,PC,x\n");
	expect_fatal(r, 0, "", "file is not UTF-8 (Shift_JIS? save as UTF-8): invalid byte 0xC0 "
	    "on line 2");
	ra_bulk_free(r);
	r = parse(RA_BULK_ISSUE, RA_BULK_CSV, ISSUE_HDR "\n\n\xed\xa0\x80,a@example.jp,PC,x\n");
	expect_fatal(r, 0, "", "file is not UTF-8 (Shift_JIS? save as UTF-8): invalid byte 0xED "
	    "on line 4");
	ra_bulk_free(r);
}

static void test_utf16_and_nul(void **state)
{
	const char u16[] = "\xff\xfeu\0s\0e\0r\0";
	const char nul[] = ISSUE_HDR "ali\0ce,a@example.jp,PC,x\n";
	ra_bulk_result *r;

	(void)state;
	r = parse_lim(RA_BULK_ISSUE, RA_BULK_CSV, u16, sizeof(u16) - 1, NULL);
	expect_fatal(r, 0, "", "file is UTF-16, not UTF-8: save it as UTF-8 (in Excel: CSV UTF-8)");
	ra_bulk_free(r);
	r = parse_lim(RA_BULK_ISSUE, RA_BULK_CSV, nul, sizeof(nul) - 1, NULL);
	expect_fatal(r, 0, "", "file contains a NUL byte on line 2 (UTF-16 or not a text file?): "
	    "save it as UTF-8 text");
	ra_bulk_free(r);
	/* UTF-16 without a BOM is caught by its NUL bytes. */
	r = parse_lim(RA_BULK_ISSUE, RA_BULK_CSV, "u\0s\0e\0r\0", 8, NULL);
	expect_fatal(r, 0, "", "file contains a NUL byte on line 1 (UTF-16 or not a text file?): "
	    "save it as UTF-8 text");
	ra_bulk_free(r);
}

static void test_empty_and_header_only(void **state)
{
	static const char *const empty[] = { "", "\xef\xbb\xbf", "\n\n\r\n", ",,,\n\n" };
	static const char *const header_only[] = { ISSUE_HDR, ISSUE_HDR "\n\n\n",
		"\xef\xbb\xbf" ISSUE_HDR ",,,\r\n" };
	ra_bulk_result *r;

	(void)state;
	for (size_t i = 0; i < sizeof(empty) / sizeof(empty[0]); i++) {
		r = parse(RA_BULK_ISSUE, RA_BULK_CSV, empty[i]);
		expect_fatal(r, 0, "", "file is empty: it needs a header row and at least one data row");
		ra_bulk_free(r);
	}
	r = parse_lim(RA_BULK_REVOKE, RA_BULK_TSV, NULL, 0, NULL);
	expect_fatal(r, 0, "", "file is empty: it needs a header row and at least one data row");
	ra_bulk_free(r);
	for (size_t i = 0; i < sizeof(header_only) / sizeof(header_only[0]); i++) {
		r = parse(RA_BULK_ISSUE, RA_BULK_CSV, header_only[i]);
		expect_fatal(r, 0, "", "file has a header row but no data rows");
		ra_bulk_free(r);
	}
}

static void test_missing_required_column(void **state)
{
	ra_bulk_result *r;

	(void)state;
	r = parse(RA_BULK_ISSUE, RA_BULK_CSV, "user,email,common_name\nalice,a@example.jp,x\n");
	expect_fatal(r, 1, "device", "required column is missing");
	ra_bulk_free(r);

	r = parse(RA_BULK_ISSUE, RA_BULK_CSV, "note\nhello\n");
	assert_true(r->fatal);
	assert_int_equal(r->nerrors, 4);
	expect_err(r, 0, 1, "user", "required column is missing");
	expect_err(r, 1, 1, "email", "required column is missing");
	expect_err(r, 2, 1, "device", "required column is missing");
	expect_err(r, 3, 1, "common_name", "required column is missing");
	ra_bulk_free(r);

	r = parse(RA_BULK_REVOKE, RA_BULK_CSV, "reason,note\nkeyCompromise,x\n");
	expect_fatal(r, 1, "serial", "required column is missing: a revoke file needs a serial "
	    "or a common_name column");
	ra_bulk_free(r);
}

static void test_unknown_and_duplicate_columns(void **state)
{
	ra_bulk_result *r;

	(void)state;
	/* No header at all: one error instead of one per cell. */
	r = parse(RA_BULK_ISSUE, RA_BULK_CSV, "\nalice,a@example.jp,PC,x\nbob,b@example.jp,PC,y\n");
	expect_fatal(r, 2, "", "this row should be the header, naming the columns, but it names "
	    "none; issue files have: user, email, device, common_name, display_name, "
	    "validity_days, key_type, note");
	ra_bulk_free(r);

	r = parse(RA_BULK_ISSUE, RA_BULK_CSV,
	    "user,email,department,device,common_name,reason\nalice,a@example.jp,IT,PC,x,\n");
	assert_true(r->fatal);
	assert_int_equal(r->nrows, 0);
	assert_int_equal(r->nerrors, 2);
	expect_err(r, 0, 1, "department", "unknown column for issue files; they have: user, "
	    "email, device, common_name, display_name, validity_days, key_type, note");
	expect_err(r, 1, 1, "reason", "unknown column for issue files; they have: user, "
	    "email, device, common_name, display_name, validity_days, key_type, note");
	ra_bulk_free(r);

	r = parse(RA_BULK_REVOKE, RA_BULK_CSV, "serial,user\n01,alice\n");
	expect_fatal(r, 1, "user", "unknown column for revoke files; they have: common_name, "
	    "note, serial, reason");
	ra_bulk_free(r);

	r = parse(RA_BULK_ISSUE, RA_BULK_CSV,
	    "user,email,device,common_name,Mail\nalice,a@example.jp,PC,x,b@example.jp\n");
	expect_fatal(r, 1, "email", "column appears twice (columns B and E)");
	ra_bulk_free(r);

	/* A quoted TSV header is a hint that it came from a CSV-minded tool. */
	r = parse(RA_BULK_ISSUE, RA_BULK_TSV,
	    "\"user\"\temail\tdevice\tcommon_name\nalice\ta@example.jp\tPC\tx\n");
	assert_true(r->fatal);
	expect_err(r, 0, 1, "\"user\"", "unknown column (TSV values are not quoted: remove the "
	    "double quotes, or upload the file as CSV)");
	ra_bulk_free(r);

	r = parse(RA_BULK_ISSUE, RA_BULK_CSV, "user,email,de\x07vice,common_name\na,b,c,d\n");
	assert_true(r->fatal);
	expect_err(r, 0, 1, "", "column 3 (C): the name has a control character (U+0007)");
	ra_bulk_free(r);
}

/* Japanese and spelled-out header names map to the canonical columns; errors name the
 * canonical column and carry the header as written. */
static void test_header_aliases(void **state)
{
	const char *f = "ユーザーID,メールアドレス,端末名,コモンネーム,有効日数,備考\n"
	    "alice,alice-at-example.jp,会社PC,alice-pc,30,メモ\n";
	ra_bulk_result *r;
	json_t *j;
	char *s;

	(void)state;
	r = parse(RA_BULK_ISSUE, RA_BULK_CSV, f);
	assert_false(r->fatal);
	assert_int_equal(r->nrows, 1);
	assert_string_equal(r->rows[0].device, "会社PC");
	assert_int_equal(r->rows[0].validity_days, 30);
	assert_int_equal(r->nerrors, 1);
	expect_err(r, 0, 2, "email", "must have exactly one @");
	assert_string_equal(r->errors[0].header, "メールアドレス");
	s = ra_bulk_errors_text(r);
	assert_string_equal(s, "row 2, column email (メールアドレス): must have exactly one @\n");
	free(s);
	j = ra_bulk_errors_json(r);
	s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(s, "[{\"args\":[],\"code\":\"email_at\",\"column\":\"email\","
	    "\"header\":\"メールアドレス\",\"reason\":\"must have exactly one @\",\"row\":2}]");
	free(s);
	json_decref(j);
	ra_bulk_free(r);

	r = parse(RA_BULK_ISSUE, RA_BULK_CSV,
	    "User, E-Mail ,Device,Common Name,Key Type\nalice,a@example.jp,PC,x,P-384\n");
	assert_true(ra_bulk_clean(r));
	assert_int_equal(r->rows[0].key_type, RA_BULK_KEY_EC_P384);
	ra_bulk_free(r);

	r = parse(RA_BULK_REVOKE, RA_BULK_TSV, "シリアル番号\t失効理由\n0a\t所属の変更\n");
	assert_true(ra_bulk_clean(r));
	assert_string_equal(r->rows[0].serial_hex, "0a");
	assert_int_equal(r->rows[0].reason, RA_BULK_REASON_AFFILIATION_CHANGED);
	ra_bulk_free(r);
}

static void test_duplicate_cn(void **state)
{
	const char *f = ISSUE_HDR
	    "alice,a@example.jp,PC,Alice-PC\n"
	    "bob,b@example.jp,PC,bob-pc\n"
	    "carol,c@example.jp,PC,alice-pc\n"
	    "dave,d@example.jp,PC,BOB-PC\n"
	    "erin,e@example.jp,PC,Alice-PC\n";
	ra_bulk_result *r;

	(void)state;
	r = parse(RA_BULK_ISSUE, RA_BULK_CSV, f);
	assert_int_equal(r->nrows, 5);
	assert_int_equal(r->nvalid, 2);
	assert_true(r->rows[0].ok && r->rows[1].ok);
	assert_false(r->rows[2].ok || r->rows[3].ok || r->rows[4].ok);
	assert_int_equal(r->nerrors, 3);
	expect_err(r, 0, 4, "common_name", "duplicate common_name \"alice-pc\": already in row 2");
	expect_err(r, 1, 5, "common_name", "duplicate common_name \"BOB-PC\": already in row 3");
	expect_err(r, 2, 6, "common_name", "duplicate common_name \"Alice-PC\": already in row 2");
	ra_bulk_free(r);

	/* One certificate per device: the same user and device twice is refused too. */
	r = parse(RA_BULK_ISSUE, RA_BULK_CSV, ISSUE_HDR
	    "alice,a@example.jp,PC,alice-1\nalice,a@example.jp,phone,alice-2\n"
	    "Alice,a@example.jp,pc,alice-3\n");
	assert_int_equal(r->nvalid, 2);
	assert_int_equal(r->nerrors, 1);
	expect_err(r, 0, 4, "device", "user \"Alice\" already has device \"pc\" in row 2");
	ra_bulk_free(r);
}

static void test_revoke(void **state)
{
	const char *f = "serial,reason,note\n"
	    "01,keyCompromise,lost laptop\n"
	    "4F:A2:01,SUPERSEDED,\n"
	    "0x00ff,,\n"
	    "80,鍵の危殆化,\n"
	    "05,badReason,\n"
	    "06,certificateHold,\n"
	    "07,cACompromise,\n"
	    "4fa201,unspecified,\n"
	    "08,removeFromCRL,\n"
	    "09,privilegeWithdrawn,\n";
	ra_bulk_result *r;

	(void)state;
	r = parse(RA_BULK_REVOKE, RA_BULK_CSV, f);
	assert_int_equal(r->nrows, 10);
	assert_int_equal(r->nvalid, 5);
	assert_int_equal(r->rows[0].reason, RA_BULK_REASON_KEY_COMPROMISE);
	assert_string_equal(r->rows[0].note, "lost laptop");
	assert_int_equal(r->rows[0].serial_len, 1);
	assert_int_equal(r->rows[0].serial[0], 1);
	assert_int_equal(r->rows[1].reason, RA_BULK_REASON_SUPERSEDED);
	assert_string_equal(r->rows[1].serial_hex, "4fa201");
	assert_int_equal(r->rows[2].reason, RA_BULK_REASON_UNSPECIFIED);
	assert_string_equal(r->rows[2].serial_hex, "00ff");
	assert_int_equal(r->rows[3].reason, RA_BULK_REASON_KEY_COMPROMISE);
	assert_string_equal(r->rows[3].serial_hex, "0080");
	assert_int_equal(r->rows[9].reason, RA_BULK_REASON_PRIVILEGE_WITHDRAWN);
	assert_int_equal(r->nerrors, 5);
	expect_err(r, 0, 6, "reason", "is not a revocation reason: use unspecified, "
	    "keyCompromise, affiliationChanged, superseded, cessationOfOperation or "
	    "privilegeWithdrawn");
	expect_err(r, 1, 7, "reason", "certificateHold is a suspension, not a revocation: "
	    "suspend the certificate instead");
	expect_err(r, 2, 8, "reason", "cACompromise is not a reason for an end-entity "
	    "certificate");
	expect_err(r, 3, 9, "serial", "duplicate serial \"4fa201\": already in row 3");
	expect_err(r, 4, 10, "reason", "removeFromCRL is not a revocation reason");
	ra_bulk_free(r);

	/* By common name only; a row with neither is refused. */
	r = parse(RA_BULK_REVOKE, RA_BULK_CSV, "common_name,reason\nalice-pc,\n,superseded\n");
	assert_int_equal(r->nvalid, 1);
	assert_string_equal(r->rows[0].common_name, "alice-pc");
	expect_err(r, 0, 3, "common_name", "required value is empty");
	ra_bulk_free(r);
}

static void test_serials(void **state)
{
	static const struct {
		const char *in, *hex, *reason;
	} cases[] = {
		{ "7f", "7f", NULL },
		{ "7F-01", "7f01", NULL },
		{ "00:00:01", "01", NULL },
		{ "ff", "00ff", NULL },
		{ "abc", "0abc", NULL },
		{ "0x4FA2", "4fa2", NULL },
		{ "4f a2 01", "4fa201", NULL },
		{ "7fffffffffffffffffffffffffffffffffffffff", "7fffffffffffffffffffffffffffffffffffffff",
		  NULL },
		{ "80000000000000000000000000000000000000", "0080000000000000000000000000000000000000",
		  NULL },
		{ "8000000000000000000000000000000000000000", NULL,
		  "is longer than 20 octets (RFC 5280)" },
		{ "010000000000000000000000000000000000000000", NULL,
		  "is longer than 20 octets (RFC 5280)" },
		{ "00", NULL, "is zero or empty: a serial is a positive number" },
		{ "0x", NULL, "is zero or empty: a serial is a positive number" },
		{ "4f::a2", NULL, "must be hexadecimal, e.g. 4f:a2:01 or 4FA201" },
		{ ":4f", NULL, "must be hexadecimal, e.g. 4f:a2:01 or 4FA201" },
		{ "4g", NULL, "must be hexadecimal, e.g. 4f:a2:01 or 4FA201" },
		{ "-1", NULL, "must be hexadecimal, e.g. 4f:a2:01 or 4FA201" },
		{ "1.23457E+15", NULL, "looks like a number a spreadsheet rewrote (format the "
		  "column as text); a serial is hexadecimal, e.g. 4f:a2:01 or 4FA201" },
	};
	char file[256];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ra_bulk_result *r;

		snprintf(file, sizeof(file), "serial\n%s\n", cases[i].in);
		r = parse(RA_BULK_REVOKE, RA_BULK_TSV, file);
		assert_int_equal(r->nrows, 1);
		if (cases[i].hex != NULL) {
			assert_true(ra_bulk_clean(r));
			assert_string_equal(r->rows[0].serial_hex, cases[i].hex);
			assert_int_equal(r->rows[0].serial_len, strlen(cases[i].hex) / 2);
		} else {
			assert_int_equal(r->nerrors, 1);
			expect_err(r, 0, 2, "serial", cases[i].reason);
			assert_false(r->rows[0].ok);
		}
		ra_bulk_free(r);
	}
}

static void test_renew(void **state)
{
	const char *f = "serial,common_name,validity_days,revoke_old,key_type\n"
	    "01,,397,yes,\n"
	    ",bob-pc,,いいえ,rsa-2048\n"
	    "02,carol-pc,,,ec-p384\n"
	    ",,30,no,\n"
	    "03,,,maybe,dsa\n";
	ra_bulk_result *r;

	(void)state;
	r = parse(RA_BULK_RENEW, RA_BULK_CSV, f);
	assert_int_equal(r->nrows, 5);
	assert_int_equal(r->nvalid, 3);
	assert_int_equal(r->rows[0].revoke_old, 1);
	assert_int_equal(r->rows[0].validity_days, 397);
	assert_int_equal(r->rows[1].revoke_old, 0);
	assert_int_equal(r->rows[1].key_type, RA_BULK_KEY_RSA_2048);
	assert_string_equal(r->rows[1].common_name, "bob-pc");
	assert_int_equal(r->rows[2].revoke_old, -1);
	assert_string_equal(r->rows[2].serial_hex, "02");
	assert_string_equal(r->rows[2].common_name, "carol-pc");
	assert_int_equal(r->nerrors, 3);
	expect_err(r, 0, 5, "serial", "give a serial or a common_name");
	expect_err(r, 1, 6, "revoke_old", "must be yes or no");
	expect_err(r, 2, 6, "key_type", "is not a known key type: use ec-p256, ec-p384, "
	    "rsa-2048, rsa-3072 or rsa-4096");
	ra_bulk_free(r);

	r = parse(RA_BULK_RENEW, RA_BULK_CSV, "validity_days\n30\n");
	expect_fatal(r, 1, "serial", "required column is missing: a renew file needs a serial "
	    "or a common_name column");
	ra_bulk_free(r);
}

static void test_row_limit(void **state)
{
	const char *f = ISSUE_HDR "a,a@example.jp,PC,a\nb,b@example.jp,PC,b\n\n"
	    "c,c@example.jp,PC,c\n";
	const char *g = ISSUE_HDR "a,a@example.jp,PC,a\nb,b@example.jp,PC,b\n\n"
	    "c,c@example.jp,PC,c\nd,bad,PC,d\ne,e@example.jp,PC,e\n";
	ra_bulk_limits lim;
	ra_bulk_result *r;

	(void)state;
	ra_bulk_limits_default(&lim);
	lim.max_rows = 3;
	r = parse_lim(RA_BULK_ISSUE, RA_BULK_CSV, f, strlen(f), &lim);
	assert_true(ra_bulk_clean(r)); /* exactly the limit; the blank row does not count */
	assert_int_equal(r->nrows, 3);
	ra_bulk_free(r);
	r = parse_lim(RA_BULK_ISSUE, RA_BULK_CSV, g, strlen(g), &lim);
	expect_fatal(r, 6, "", "more than 3 data rows: split the file");
	ra_bulk_free(r);

	lim.max_bytes = 40;
	r = parse_lim(RA_BULK_ISSUE, RA_BULK_CSV, f, strlen(f), &lim);
	expect_fatal(r, 0, "", "file is 91 bytes; the limit is 40");
	ra_bulk_free(r);
}

static void test_nul_inside_quotes(void **state)
{
	const char f[] = ISSUE_HDR "alice,a@example.jp,\"P\0C\",x\n";
	ra_bulk_result *r;

	(void)state;
	r = parse_lim(RA_BULK_ISSUE, RA_BULK_CSV, f, sizeof(f) - 1, NULL);
	expect_fatal(r, 0, "", "file contains a NUL byte on line 2 (UTF-16 or not a text file?): "
	    "save it as UTF-8 text");
	ra_bulk_free(r);
}

static void test_control_and_format_chars(void **state)
{
	const char *f = "user,email,device,common_name,note\n"
	    "a,a@example.jp,PC,bell\x07,ok\n"
	    "b,b@example.jp,\"P\tC\",b,\"tab\tand\nnewline are fine here\"\n"
	    "c,c@example.jp,PC,evil\xe2\x80\xae" "cod.exe,\n"
	    "d,d@example.jp,PC\xc2\x85,d,\n"
	    "e,e@example.jp,PC,e\x7f,\n"
	    "f,f@example.jp,PC,zero\xe2\x80\x8bwidth,\n";
	ra_bulk_result *r;

	(void)state;
	r = parse(RA_BULK_ISSUE, RA_BULK_CSV, f);
	assert_int_equal(r->nrows, 6);
	assert_int_equal(r->nvalid, 0);
	assert_int_equal(r->nerrors, 6);
	expect_err(r, 0, 2, "common_name", "has a control character (U+0007)");
	expect_err(r, 1, 3, "device", "has a control character (U+0009)");
	expect_err(r, 2, 4, "common_name", "has an invisible formatting character (U+202E)");
	expect_err(r, 3, 5, "device", "has a control character (U+0085)");
	expect_err(r, 4, 6, "common_name", "has a control character (U+007F)");
	expect_err(r, 5, 7, "common_name", "has an invisible formatting character (U+200B)");
	ra_bulk_free(r);
}

static void test_lengths(void **state)
{
	char cn64[65], cn65[66], ja43[43 * 3 + 1], file[512];
	ra_bulk_limits lim;
	ra_bulk_result *r;

	(void)state;
	memset(cn64, 'a', 64);
	cn64[64] = '\0';
	memset(cn65, 'b', 65);
	cn65[65] = '\0';
	for (size_t i = 0; i < 43; i++)
		memcpy(ja43 + 3 * i, "漢", 3);
	ja43[43 * 3] = '\0';
	snprintf(file, sizeof(file), ISSUE_HDR "a,a@example.jp,PC,%s\nb,b@example.jp,PC,%s\n"
	    "c,c@example.jp,PC,%s\n", cn64, cn65, ja43);
	r = parse(RA_BULK_ISSUE, RA_BULK_CSV, file);
	assert_int_equal(r->nvalid, 1);
	assert_string_equal(r->rows[0].common_name, cn64);
	assert_int_equal(r->nerrors, 2);
	expect_err(r, 0, 3, "common_name", "is longer than 64 characters (it has 65)");
	expect_err(r, 1, 4, "common_name", "is longer than 128 bytes of UTF-8 (it has 129)");
	ra_bulk_free(r);

	/* Over-long values against the per-value byte limit, in any column. */
	ra_bulk_limits_default(&lim);
	lim.max_field_bytes = 16;
	snprintf(file, sizeof(file), ISSUE_HDR "a,a@example.jp,PC-0123456789abcd,x\n"
	    "b,b@example.jp,PC,x2\n");
	r = parse_lim(RA_BULK_ISSUE, RA_BULK_CSV, file, strlen(file), &lim);
	assert_int_equal(r->nrows, 2);
	assert_int_equal(r->nvalid, 1);
	assert_int_equal(r->nerrors, 1);
	expect_err(r, 0, 2, "device", "is 17 bytes long; the limit is 16");
	ra_bulk_free(r);
}

static void test_emails(void **state)
{
	static const struct {
		const char *in, *reason;
	} cases[] = {
		{ "a.b+c@mail.example.co.jp", NULL },
		{ "o'hara@example.com", NULL },
		{ "x@example", "needs a domain with a dot after the @ (e.g. example.co.jp)" },
		{ "noat.example.jp", "must have exactly one @" },
		{ "a@b@example.jp", "must have exactly one @" },
		{ "@example.jp", "has nothing before the @" },
		{ "a@", "has nothing after the @" },
		{ ".a@example.jp", "has a dot at the start or end of the part before the @, or two "
		  "dots in a row" },
		{ "a..b@example.jp", "has a dot at the start or end of the part before the @, or "
		  "two dots in a row" },
		{ "a(b)@example.jp", "has a character that is not allowed before the @ ('(')" },
		{ "a@-example.jp", "has a malformed domain after the @" },
		{ "a@example..jp", "has a malformed domain after the @" },
		{ "a@192.168.1.1", "has a malformed domain after the @" },
		{ "a@exa_mple.jp", "has a character that is not allowed in the domain ('_')" },
		{ "taro＠example.jp", "must be ASCII (no full-width characters such as ＠)" },
		{ "taro@例え.jp", "must be ASCII (no full-width characters such as ＠)" },
		{ "a b@example.jp", "has a space or control character" },
	};
	char file[256];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ra_bulk_result *r;

		snprintf(file, sizeof(file), ISSUE_HDR "alice,%s,PC,x\n", cases[i].in);
		r = parse(RA_BULK_ISSUE, RA_BULK_CSV, file);
		if (cases[i].reason == NULL) {
			assert_true(ra_bulk_clean(r));
			assert_string_equal(r->rows[0].email, cases[i].in);
		} else {
			assert_int_equal(r->nerrors, 1);
			expect_err(r, 0, 2, "email", cases[i].reason);
		}
		ra_bulk_free(r);
	}
}

static void test_validity_and_user(void **state)
{
	const char *f = "user,email,device,common_name,validity_days\n"
	    "a,a@example.jp,PC,a,0\n"
	    "b,b@example.jp,PC,b,1096\n"
	    "c,c@example.jp,PC,c,３６５\n"
	    "d,d@example.jp,PC,d,+5\n"
	    "e,e@example.jp,PC,e,99999999999999999999\n"
	    "山田,f@example.jp,PC,f,1\n"
	    "g h,g@example.jp,PC,g,1095\n"
	    "　ｈ　,h@example.jp,PC,h,7\n"
	    "　i　,i@example.jp,　PC　,　i 2　,7\n";
	ra_bulk_result *r;

	(void)state;
	r = parse(RA_BULK_ISSUE, RA_BULK_CSV, f);
	assert_int_equal(r->nrows, 9);
	assert_int_equal(r->nvalid, 1);
	assert_int_equal(r->nerrors, 8);
	expect_err(r, 0, 2, "validity_days", "must be at least 1 day");
	expect_err(r, 1, 3, "validity_days", "is more than the maximum of 1095 days");
	expect_err(r, 2, 4, "validity_days", "must be a whole number of days from 1 to 1095 "
	    "(half-width digits only)");
	expect_err(r, 3, 5, "validity_days", "must be a whole number of days from 1 to 1095 "
	    "(half-width digits only)");
	expect_err(r, 4, 6, "validity_days", "is more than the maximum of 1095 days");
	expect_err(r, 5, 7, "user", "has a character that is not allowed (U+5C71): use ASCII "
	    "letters, digits and . _ - @ +");
	expect_err(r, 6, 8, "user", "has a character that is not allowed (U+0020): use ASCII "
	    "letters, digits and . _ - @ +");
	expect_err(r, 7, 9, "user", "has a character that is not allowed (U+FF48): use ASCII "
	    "letters, digits and . _ - @ +");
	/* Surrounding ASCII and ideographic spaces are trimmed, inner ones kept. */
	assert_true(r->rows[8].ok);
	assert_string_equal(r->rows[8].user, "i");
	assert_string_equal(r->rows[8].device, "PC");
	assert_string_equal(r->rows[8].common_name, "i 2");
	ra_bulk_free(r);
}

/* Every error of every row is collected; past the cap they are counted, and the rows are
 * still all validated. */
static void test_error_cap(void **state)
{
	const char *f = ISSUE_HDR "a,bad,PC,\nb,bad,PC,\nc,bad,PC,\nd,bad,PC,\ne,bad,PC,\n"
	    "f,f@example.jp,PC,f\n";
	ra_bulk_limits lim;
	ra_bulk_result *r;
	char *s;

	(void)state;
	r = parse(RA_BULK_ISSUE, RA_BULK_CSV, f);
	assert_int_equal(r->nerrors, 10);
	for (size_t i = 0; i < 5; i++) {
		expect_err(r, 2 * i, i + 2, "email", "must have exactly one @");
		expect_err(r, 2 * i + 1, i + 2, "common_name", "required value is empty");
	}
	ra_bulk_free(r);

	ra_bulk_limits_default(&lim);
	lim.max_errors = 3;
	r = parse_lim(RA_BULK_ISSUE, RA_BULK_CSV, f, strlen(f), &lim);
	assert_int_equal(r->nerrors, 3);
	assert_int_equal(r->errors_dropped, 7);
	assert_int_equal(r->nrows, 6);
	assert_int_equal(r->nvalid, 1);
	assert_true(r->rows[5].ok);
	assert_false(ra_bulk_clean(r));
	s = ra_bulk_errors_text(r);
	assert_string_equal(s,
	    "row 2, column email: must have exactly one @\n"
	    "row 2, column common_name: required value is empty\n"
	    "row 3, column email: must have exactly one @\n"
	    "7 more errors not listed\n");
	free(s);
	ra_bulk_free(r);

	/* The error that makes the whole file unusable is kept past the cap. */
	lim.max_rows = 5;
	r = parse_lim(RA_BULK_ISSUE, RA_BULK_CSV, f, strlen(f), &lim);
	assert_true(r->fatal);
	assert_int_equal(r->nrows, 0);
	assert_int_equal(r->nerrors, 4);
	assert_int_equal(r->errors_dropped, 7);
	expect_err(r, 3, 7, "", "more than 5 data rows: split the file");
	ra_bulk_free(r);
}

static void test_tsv_quotes_and_extra_values(void **state)
{
	ra_bulk_result *r;

	(void)state;
	r = parse(RA_BULK_ISSUE, RA_BULK_TSV, "user\temail\tdevice\tcommon_name\n"
	    "alice\ta@example.jp\t\"PC\"\tx\n"
	    "bob\tb@example.jp\tPC\ty\textra\n"
	    "carol\tc@example.jp\tPC\tz\t\t\n");
	assert_int_equal(r->nrows, 3);
	assert_int_equal(r->nvalid, 1);
	assert_int_equal(r->nerrors, 2);
	expect_err(r, 0, 2, "device", "TSV values are not quoted: remove the double quotes, or "
	    "upload the file as CSV");
	expect_err(r, 1, 3, "", "a value in column 5 (E), but the header has only 4 columns");
	ra_bulk_free(r);

	/* A column without a name is allowed as long as it stays empty. */
	r = parse(RA_BULK_ISSUE, RA_BULK_CSV, "user,,email,device,common_name\n"
	    "alice,,a@example.jp,PC,x\nbob,oops,b@example.jp,PC,y\n");
	assert_int_equal(r->nvalid, 1);
	assert_int_equal(r->nerrors, 1);
	expect_err(r, 0, 3, "", "a value in column 2 (B), which has no name in the header");
	ra_bulk_free(r);
}

static void test_malformed_csv(void **state)
{
	ra_bulk_result *r;

	(void)state;
	r = parse(RA_BULK_ISSUE, RA_BULK_CSV, ISSUE_HDR "alice,a@example.jp,PC,x\n"
	    "bob,b@exa\"mple.jp,PC,y\n");
	expect_fatal(r, 3, "", "malformed CSV: a double quote inside an unquoted value, or text "
	    "after a closing quote");
	ra_bulk_free(r);
	r = parse(RA_BULK_ISSUE, RA_BULK_CSV, ISSUE_HDR "alice,a@example.jp,\"PC\"x,x\n");
	expect_fatal(r, 2, "", "malformed CSV: a double quote inside an unquoted value, or text "
	    "after a closing quote");
	ra_bulk_free(r);
	r = parse(RA_BULK_ISSUE, RA_BULK_CSV, ISSUE_HDR "alice,a@example.jp,PC,x\n\n"
	    "bob,b@example.jp,\"PC,y\nc,c,c,c\n");
	expect_fatal(r, 4, "", "malformed CSV: a quoted value is not closed (a double quote is "
	    "missing)");
	ra_bulk_free(r);
}

static void test_auto_format(void **state)
{
	ra_bulk_result *r;

	(void)state;
	r = parse(RA_BULK_ISSUE, RA_BULK_AUTO, "\xef\xbb\xbfuser\temail\tdevice\tcommon_name\n"
	    "a,b\ta@example.jp\tPC\tx\n");
	assert_int_equal(r->format, RA_BULK_TSV);
	assert_int_equal(r->nerrors, 1);
	expect_err(r, 0, 2, "user", "has a character that is not allowed (U+002C): use ASCII "
	    "letters, digits and . _ - @ +");
	ra_bulk_free(r);
}

static void test_json_and_text(void **state)
{
	const char *f = "serial,reason\nzz,superseded\n01,keyCompromise\n";
	ra_bulk_result *r;
	json_t *j;
	char *s;

	(void)state;
	r = parse(RA_BULK_REVOKE, RA_BULK_CSV, f);
	j = ra_bulk_errors_json(r);
	assert_non_null(j);
	s = json_dumps(j, JSON_COMPACT);
	assert_string_equal(s, "[{\"row\":2,\"column\":\"serial\",\"reason\":\"must be "
	    "hexadecimal, e.g. 4f:a2:01 or 4FA201\",\"args\":[],\"code\":\"serial_hex\"}]");
	free(s);
	json_decref(j);
	s = ra_bulk_errors_text(r);
	assert_string_equal(s, "row 2, column serial: must be hexadecimal, e.g. 4f:a2:01 or "
	    "4FA201\n");
	free(s);
	ra_bulk_free(r);

	r = parse(RA_BULK_REVOKE, RA_BULK_CSV, "");
	s = ra_bulk_errors_text(r);
	assert_string_equal(s, "file is empty: it needs a header row and at least one data "
	    "row\n");
	free(s);
	j = ra_bulk_errors_json(r);
	s = json_dumps(j, JSON_COMPACT);
	assert_string_equal(s, "[{\"row\":0,\"column\":\"\",\"reason\":\"file is empty: it "
	    "needs a header row and at least one data row\",\"args\":[],\"code\":\"file_empty\"}]");
	free(s);
	json_decref(j);
	ra_bulk_free(r);

	r = parse(RA_BULK_REVOKE, RA_BULK_CSV, "serial\n01\n");
	s = ra_bulk_errors_text(r);
	assert_string_equal(s, "");
	free(s);
	j = ra_bulk_errors_json(r);
	assert_int_equal(json_array_size(j), 0);
	json_decref(j);
	ra_bulk_free(r);
}

/* Values echoed in reasons are escaped and shortened. */
static void test_quoted_echo(void **state)
{
	char file[512];
	ra_bulk_result *r;

	(void)state;
	snprintf(file, sizeof(file), "user\temail\tdevice\tcommon_name\n"
	    "a\ta@example.jp\tPC\t%s\nb\tb@example.jp\tPC2\t%s\n",
	    "a \\\"quoted\\\" name that is long enough to be cut short at forty",
	    "A \\\"QUOTED\\\" NAME THAT IS LONG ENOUGH TO BE CUT SHORT AT FORTY");
	r = parse(RA_BULK_ISSUE, RA_BULK_TSV, file);
	assert_int_equal(r->nerrors, 1);
	expect_err(r, 0, 3, "common_name", "duplicate common_name \"A \\\\\\\"QUOTED\\\\\\\" "
	    "NAME THAT IS LONG ENOUGH TO...\": already in row 2");
	ra_bulk_free(r);
}

/* Every error carries a stable code with its values as args, and the web pages' catalogs
 * word each code in both languages. */
static void test_error_codes(void **state)
{
	ra_i18n *cat = NULL;
	char why[256], key[96];
	ra_bulk_result *r[2];

	(void)state;
	assert_int_equal(ra_i18n_load(&cat, why, sizeof(why)), IK_OK);
	r[0] = parse(RA_BULK_ISSUE, RA_BULK_CSV, "user,email,device,common_name,validity_days,"
	    "key_type\nu1,not-an-email,pc,cn1,,\nu2,u2@example.jp,pc,cn2,5000,\n"
	    "u3,u3@example.jp,pc,cn1,,\nu4,u4@example.jp,pc,cn4,,dsa\n");
	assert_int_equal(r[0]->nerrors, 4);
	assert_string_equal(r[0]->errors[0].code, "email_at");
	assert_int_equal(r[0]->errors[0].nargs, 0);
	assert_string_equal(r[0]->errors[1].code, "days_max");
	assert_int_equal(r[0]->errors[1].nargs, 1);
	assert_string_equal(r[0]->errors[1].args[0], "1095");
	assert_string_equal(r[0]->errors[2].code, "duplicate");
	assert_int_equal(r[0]->errors[2].nargs, 3);
	assert_string_equal(r[0]->errors[2].args[0], "common_name");
	assert_string_equal(r[0]->errors[2].args[2], "2");
	assert_string_equal(r[0]->errors[3].code, "key_type");
	r[1] = parse(RA_BULK_REVOKE, RA_BULK_CSV, "serial,reason\nzz,keyCompromise\n"
	    "01,certificateHold\n02,cACompromise\n\"03\",\n\x80\n");
	assert_true(r[1]->fatal);
	assert_string_equal(r[1]->errors[0].code, "not_utf8");
	assert_int_equal(r[1]->errors[0].nargs, 2);
	assert_string_equal(r[1]->errors[0].args[0], "80");
	assert_string_equal(r[1]->errors[0].args[1], "6");
	ra_bulk_free(r[1]);
	r[1] = parse(RA_BULK_REVOKE, RA_BULK_CSV, "serial,reason\nzz,keyCompromise\n"
	    "01,certificateHold\n02,cACompromise\n03,x\n");
	assert_int_equal(r[1]->nerrors, 4);
	assert_string_equal(r[1]->errors[0].code, "serial_hex");
	assert_string_equal(r[1]->errors[1].code, "reason_hold");
	assert_string_equal(r[1]->errors[2].code, "reason_ca");
	assert_string_equal(r[1]->errors[3].code, "reason_unknown");
	for (size_t k = 0; k < 2; k++) {
		for (size_t i = 0; i < r[k]->nerrors; i++) {
			snprintf(key, sizeof(key), "bulkerr.%s", r[k]->errors[i].code);
			assert_true(ra_i18n_has(cat, key));
		}
		ra_bulk_free(r[k]);
	}
	ra_i18n_free(cat);
}

static void test_args_and_names(void **state)
{
	ra_bulk_limits lim;
	ra_bulk_result *r = NULL;

	(void)state;
	assert_int_equal(ra_bulk_parse((ra_bulk_kind)3, RA_BULK_CSV, "", 0, NULL, &r),
	    IK_ERR_ARG);
	assert_null(r);
	assert_int_equal(ra_bulk_parse(RA_BULK_ISSUE, (ra_bulk_format)7, "", 0, NULL, &r),
	    IK_ERR_ARG);
	assert_int_equal(ra_bulk_parse(RA_BULK_ISSUE, RA_BULK_CSV, NULL, 3, NULL, &r),
	    IK_ERR_ARG);
	assert_int_equal(ra_bulk_parse(RA_BULK_ISSUE, RA_BULK_CSV, "", 0, NULL, NULL),
	    IK_ERR_ARG);
	ra_bulk_limits_default(&lim);
	lim.max_rows = 0;
	assert_int_equal(ra_bulk_parse(RA_BULK_ISSUE, RA_BULK_CSV, "", 0, &lim, &r), IK_ERR_ARG);
	ra_bulk_free(NULL);

	assert_int_equal(ra_bulk_kind_from_name("issue"), RA_BULK_ISSUE);
	assert_int_equal(ra_bulk_kind_from_name("renew"), RA_BULK_RENEW);
	assert_int_equal(ra_bulk_kind_from_name("revoke"), RA_BULK_REVOKE);
	assert_int_equal(ra_bulk_kind_from_name("suspend"), -1);
	assert_int_equal(ra_bulk_format_from_name("tsv"), RA_BULK_TSV);
	assert_int_equal(ra_bulk_format_from_name("csv"), RA_BULK_CSV);
	assert_int_equal(ra_bulk_format_from_name("auto"), RA_BULK_AUTO);
	assert_int_equal(ra_bulk_format_from_name("xlsx"), -1);
	assert_string_equal(ra_bulk_kind_name(RA_BULK_RENEW), "renew");
	assert_string_equal(ra_bulk_key_name(RA_BULK_KEY_RSA_4096), "rsa-4096");
	assert_null(ra_bulk_key_name(RA_BULK_KEY_DEFAULT));
	assert_string_equal(ra_bulk_reason_name(RA_BULK_REASON_CESSATION), "cessationOfOperation");
	assert_string_equal(ra_bulk_reason_name(0), "unspecified");
	assert_null(ra_bulk_reason_name(6));
	assert_null(ra_bulk_reason_name(2));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_tsv_issue),
		cmocka_unit_test(test_good_csv_quoted),
		cmocka_unit_test(test_bom_crlf),
		cmocka_unit_test(test_blank_rows),
		cmocka_unit_test(test_trailing_blank_lines),
		cmocka_unit_test(test_shift_jis),
		cmocka_unit_test(test_utf16_and_nul),
		cmocka_unit_test(test_empty_and_header_only),
		cmocka_unit_test(test_missing_required_column),
		cmocka_unit_test(test_unknown_and_duplicate_columns),
		cmocka_unit_test(test_header_aliases),
		cmocka_unit_test(test_duplicate_cn),
		cmocka_unit_test(test_revoke),
		cmocka_unit_test(test_serials),
		cmocka_unit_test(test_renew),
		cmocka_unit_test(test_row_limit),
		cmocka_unit_test(test_nul_inside_quotes),
		cmocka_unit_test(test_control_and_format_chars),
		cmocka_unit_test(test_lengths),
		cmocka_unit_test(test_emails),
		cmocka_unit_test(test_validity_and_user),
		cmocka_unit_test(test_error_cap),
		cmocka_unit_test(test_tsv_quotes_and_extra_values),
		cmocka_unit_test(test_malformed_csv),
		cmocka_unit_test(test_auto_format),
		cmocka_unit_test(test_json_and_text),
		cmocka_unit_test(test_quoted_echo),
		cmocka_unit_test(test_error_codes),
		cmocka_unit_test(test_args_and_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
