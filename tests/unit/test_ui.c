/* Unit tests for the web pages' building blocks: the escaping HTML writer (ra/html.c), the
 * message catalogs and the choice of language (ra/i18n.c), the strict form decoder
 * (ra/form.c) and the redirect / date checks of ra/ui.c. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>
#include "form.h"
#include "html.h"
#include "i18n.h"
#include "ui.h"

static char *html_str(ra_html *h)
{
	size_t n = ik_buf_remaining(&h->b);
	char *s = malloc(n + 1);

	assert_non_null(s);
	memcpy(s, ik_buf_ptr(&h->b), n);
	s[n] = '\0';
	return s;
}

static ra_i18n *catalogs(const char *ja, const char *en, ik_status want, const char *why_has)
{
	const char *texts[RA_LANG_COUNT] = { ja, en };
	size_t lens[RA_LANG_COUNT] = { strlen(ja), strlen(en) };
	const char *names[RA_LANG_COUNT] = { "ja.txt", "en.txt" };
	ra_i18n *c = NULL;
	char why[256] = "";

	assert_int_equal(ra_i18n_from_text(texts, lens, names, &c, why, sizeof(why)), want);
	if (why_has != NULL)
		assert_non_null(strstr(why, why_has));
	return c;
}

static void test_escape(void **state)
{
	ra_html h;
	char *s;

	(void)state;
	ra_html_init(&h, NULL, RA_LANG_EN);
	ra_html_lit(&h, "<td title=\"");
	ra_html_text(&h, "a\"b'c");
	ra_html_lit(&h, "\">");
	ra_html_text(&h, "<script>alert(1)</script> & more");
	ra_html_lit(&h, "</td>");
	ra_html_int(&h, -42);
	assert_int_equal(h.st, IK_OK);
	s = html_str(&h);
	assert_string_equal(s, "<td title=\"a&quot;b&#39;c\">&lt;script&gt;alert(1)&lt;/script&gt;"
	    " &amp; more</td>-42");
	free(s);
	ra_html_cleanup(&h);
}

static void test_url_and_msgv(void **state)
{
	ra_i18n *c = catalogs("greet = こんにちは {1} さん ({2})\nplain = {x} {10}\n",
	    "greet = Hello {1} ({2})\nplain = {x} {10}\n", IK_OK, NULL);
	const char *args[2] = { "<b>Taro</b>", "a&b" };
	ra_html h;
	char *s;

	(void)state;
	ra_html_init(&h, c, RA_LANG_JA);
	ra_html_url(&h, "a b&c=d/é");
	ra_html_lit(&h, "|");
	ra_html_msgv(&h, "greet", args, 2);
	ra_html_lit(&h, "|");
	ra_html_msgv(&h, "plain", args, 0);
	ra_html_lit(&h, "|");
	ra_html_msg(&h, "missing.key");
	s = html_str(&h);
	assert_string_equal(s, "a%20b%26c%3Dd%2F%C3%A9|こんにちは &lt;b&gt;Taro&lt;/b&gt; さん "
	    "(a&amp;b)|{x} {10}|missing.key");
	free(s);
	ra_html_cleanup(&h);
	ra_i18n_free(c);
}

static void test_time_formats(void **state)
{
	ra_html h;
	char *s;

	(void)state;
	setenv("TZ", "JST-9", 1);  /* POSIX form: no tzdata needed */
	tzset();
	ra_html_init(&h, NULL, RA_LANG_JA);
	ra_html_time(&h, 1795597200, 1); /* 2026-11-25T09:00:00Z */
	ra_html_lit(&h, "|");
	ra_html_time(&h, 0, 1);
	h.lang = RA_LANG_EN;
	ra_html_lit(&h, "|");
	ra_html_time(&h, 1795597200, 0);
	ra_html_lit(&h, "|");
	ra_html_date_value(&h, 1795597200);
	s = html_str(&h);
	assert_string_equal(s, "2026/11/25 18:00|-|25 Nov 2026|2026-11-25");
	free(s);
	ra_html_cleanup(&h);
	assert_int_equal(ra_ui_parse_date("2026-11-25", 0), 1795597200 - 18 * 3600);
	assert_int_equal(ra_ui_parse_date("2026-11-25", 1), 1795597200 - 18 * 3600 + 86400);
	assert_int_equal(ra_ui_parse_date("", 0), 0);
	assert_int_equal(ra_ui_parse_date("2026-13-01", 0), -1);
	assert_int_equal(ra_ui_parse_date("2026/11/25", 0), -1);
	assert_int_equal(ra_ui_parse_date("26-11-25", 0), -1);
}

static void test_catalog_errors(void **state)
{
	(void)state;
	assert_null(catalogs("a = A\nb = B\n", "a = A\n", IK_ERR_CONFIG, "en.txt: the key b is missing"));
	assert_null(catalogs("a = A\n", "a = A\nc = C\n", IK_ERR_CONFIG, "ja.txt: the key c is missing"));
	assert_null(catalogs("a = A\na = B\n", "a = A\n", IK_ERR_CONFIG, "the key a appears twice"));
	assert_null(catalogs("a A\n", "a = A\n", IK_ERR_CONFIG, "ja.txt:1:"));
	assert_null(catalogs("# c\n\n a = A\nbad key = x\n", "a = A\n", IK_ERR_CONFIG, "ja.txt:4:"));
	assert_null(catalogs("a =   \n", "a = A\n", IK_ERR_CONFIG, "a message of 1.."));
}

static void test_embedded_catalogs(void **state)
{
	ra_i18n *c = NULL;
	char why[256] = "";

	(void)state;
	assert_int_equal(ra_i18n_load(&c, why, sizeof(why)), IK_OK);
	assert_string_equal(ra_i18n_get(c, RA_LANG_JA, "nav.certs"), "証明書");
	assert_string_equal(ra_i18n_get(c, RA_LANG_EN, "nav.certs"), "Certificates");
	assert_true(ra_i18n_has(c, "reason.keyCompromise"));
	assert_false(ra_i18n_has(c, "no.such.key"));
	ra_i18n_free(c);
}

static void test_negotiate(void **state)
{
	(void)state;
	assert_int_equal(ra_lang_negotiate("en", "ja"), RA_LANG_EN);
	assert_int_equal(ra_lang_negotiate("ja", "en"), RA_LANG_JA);
	assert_int_equal(ra_lang_negotiate("fr", "en-US,en;q=0.9"), RA_LANG_EN);
	assert_int_equal(ra_lang_negotiate(NULL, "ja-JP,ja;q=0.9,en;q=0.8"), RA_LANG_JA);
	assert_int_equal(ra_lang_negotiate(NULL, "fr-FR, en;q=0.5, ja;q=0.4"), RA_LANG_EN);
	assert_int_equal(ra_lang_negotiate(NULL, "en;q=0, ja"), RA_LANG_JA);
	assert_int_equal(ra_lang_negotiate(NULL, "de"), RA_LANG_JA);
	assert_int_equal(ra_lang_negotiate(NULL, NULL), RA_LANG_JA);
	assert_int_equal(ra_lang_negotiate(NULL, "EN"), RA_LANG_EN);
}

static ra_form *parse(const char *s, ik_status want)
{
	ra_form *f = NULL;

	assert_int_equal(ra_form_parse_urlencoded((const uint8_t *)s, strlen(s), &f), want);
	return f;
}

static void test_form_decode(void **state)
{
	ra_form *f = parse("csrf=abc-_1&id=3&id=17&&name=%E5%B1%B1%E7%94%B0+%3Cb%3E&empty=&flag",
	    IK_OK);
	size_t n = 0;

	(void)state;
	assert_string_equal(ra_form_str(f, "csrf"), "abc-_1");
	assert_int_equal(ra_form_count(f, "id"), 2);
	assert_string_equal(ra_form_str_at(f, "id", 1), "17");
	assert_string_equal(ra_form_str(f, "name"), "山田 <b>");
	assert_string_equal(ra_form_str(f, "empty"), "");
	assert_string_equal(ra_form_str(f, "flag"), "");
	assert_null(ra_form_str(f, "absent"));
	assert_null(ra_form_str_at(f, "id", 2));
	assert_non_null(ra_form_bytes(f, "name", &n));
	assert_int_equal(n, 10);
	ra_form_free(f);

	f = parse("a=x%00y&b=line%0Abreak&c=tab%09ok", IK_OK);
	assert_null(ra_form_str(f, "a"));                 /* a NUL inside */
	assert_non_null(ra_form_bytes(f, "a", &n));
	assert_int_equal(n, 3);
	assert_non_null(ra_form_str(f, "b"));
	assert_null(ra_form_line(f, "b", 100));           /* not one line */
	assert_string_equal(ra_form_line(f, "c", 100), "tab\tok");
	assert_null(ra_form_line(f, "c", 3));             /* too long */
	ra_form_free(f);

	assert_null(parse("a=%zz", IK_ERR_ARG));
	assert_null(parse("a=%4", IK_ERR_ARG));
	assert_null(parse("a=%", IK_ERR_ARG));
	assert_null(parse("a%3Db=1", IK_ERR_ARG));       /* '=' decoded into a name */
	assert_null(parse("=1", IK_ERR_ARG));
	assert_null(parse("na me=1", IK_ERR_ARG));
	assert_null(parse("n%00=1", IK_ERR_ARG));
	{	/* names over RA_FORM_NAME_MAX, plain or encoded (found by fuzz_form) */
		char big[3 * RA_FORM_NAME_MAX + 8];
		memset(big, 'n', sizeof(big));
		memcpy(big + 3 * RA_FORM_NAME_MAX, "=1", 3);
		assert_null(parse(big, IK_ERR_ARG));
		memcpy(big + RA_FORM_NAME_MAX + 1, "=1", 3);
		assert_null(parse(big, IK_ERR_ARG));
		memcpy(big + RA_FORM_NAME_MAX, "=1", 3);
		f = parse(big, IK_OK);
		assert_int_equal(ra_form_count(f, "x"), 0);
		ra_form_free(f);
	}
}

static void test_form_limits(void **state)
{
	size_t n = RA_FORM_MAX_FIELDS + 1;
	char *s = malloc(n * 4 + 1), *p = s;
	ra_form *f;

	(void)state;
	assert_non_null(s);
	for (size_t i = 0; i < n; i++) {
		memcpy(p, "a=1&", 4);
		p += 4;
	}
	*p = '\0';
	assert_null(parse(s, IK_ERR_ARG));
	s[(n - 1) * 4] = '\0';
	f = parse(s, IK_OK);
	assert_int_equal(ra_form_count(f, "a"), RA_FORM_MAX_FIELDS);
	ra_form_free(f);
	free(s);
}

static void test_local_path(void **state)
{
	(void)state;
	assert_true(ra_ui_local_path("/ui/certs?filter=valid&cn=a%20b"));
	assert_true(ra_ui_local_path("/"));
	assert_false(ra_ui_local_path("//evil.example/"));
	assert_false(ra_ui_local_path("https://evil.example/"));
	assert_false(ra_ui_local_path("/\\evil.example"));
	assert_false(ra_ui_local_path("/ui\r\nSet-Cookie: x=y"));
	assert_false(ra_ui_local_path("/a b"));
	assert_false(ra_ui_local_path(""));
	assert_false(ra_ui_local_path(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_url_and_msgv),
		cmocka_unit_test(test_time_formats),
		cmocka_unit_test(test_catalog_errors),
		cmocka_unit_test(test_embedded_catalogs),
		cmocka_unit_test(test_negotiate),
		cmocka_unit_test(test_form_decode),
		cmocka_unit_test(test_form_limits),
		cmocka_unit_test(test_local_path),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
