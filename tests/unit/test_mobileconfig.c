/* Unit tests for the iOS configuration profile writer (ra/mobileconfig.c): the reverse-DNS
 * prefix from public_url, refused inputs, XML escaping of the texts, fresh UUIDs, no
 * password key.  (tests/integration/test_download_pages.sh parses real profiles with
 * python3's plistlib.) */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "mobileconfig.h"

static const uint8_t P12[] = { 0x30, 0x82, 0x01, 0x02, 0xff, 0x00, 0x7f };
static const uint8_t ROOT[] = { 0x30, 0x03, 0x02, 0x01, 0x01 };

static void prefix(const char *url, const char *want)
{
	char out[RA_MOBILECONFIG_PREFIX_MAX + 1];

	ra_mobileconfig_prefix(url, out, sizeof(out));
	assert_string_equal(out, want);
}

static void test_prefix(void **state)
{
	(void)state;
	prefix("https://ra.example.co.jp:8443", "jp.co.example.ra");
	prefix("https://RA.Example.com/", "com.example.ra");
	prefix("https://example.com", "com.example");
	prefix("https://127.0.0.1:8443", "local.inkan");
	prefix("https://[::1]:8443", "local.inkan");
	prefix("https://localhost", "local.inkan");
	prefix("https://bad_host.example", "local.inkan");
	prefix("not a url", "local.inkan");
	prefix(NULL, "local.inkan");
}

static ra_mobileconfig_in input(void)
{
	return (ra_mobileconfig_in){ .p12 = P12, .p12_len = sizeof(P12), .root = ROOT,
	    .root_len = sizeof(ROOT), .p12_name = "a&b.p12", .prefix = "jp.example.ra",
	    .display_name = "Cert <script>\"x\"", .description = "line1\nline2",
	    .organization = "Inkan & Co", .p12_display = "p12", .root_display = "root" };
}

static char *build(const ra_mobileconfig_in *in)
{
	ik_buf b;
	char *s;

	ik_buf_init(&b, 0);
	assert_int_equal(ra_mobileconfig_build(in, &b), IK_OK);
	s = calloc(1, ik_buf_remaining(&b) + 1);
	assert_non_null(s);
	memcpy(s, ik_buf_ptr(&b), ik_buf_remaining(&b));
	ik_buf_cleanup(&b);
	return s;
}

static void test_build(void **state)
{
	ra_mobileconfig_in in = input();
	char *a, *b, *u;
	(void)state;

	a = build(&in);
	assert_non_null(strstr(a, "<string>com.apple.security.pkcs12</string>"));
	assert_non_null(strstr(a, "<string>com.apple.security.root</string>"));
	assert_non_null(strstr(a, "<string>Configuration</string>"));
	assert_non_null(strstr(a, "<string>Cert &lt;script&gt;&quot;x&quot;</string>"));
	assert_non_null(strstr(a, "<string>a&amp;b.p12</string>"));
	assert_non_null(strstr(a, "<string>Inkan &amp; Co</string>"));
	assert_non_null(strstr(a, "<string>line1 line2</string>"));   /* no control characters */
	assert_null(strstr(a, "<script>"));
	assert_null(strstr(a, "Password"));
	/* the P12 bytes in base64 */
	assert_non_null(strstr(a, "MIIBAv8Afw=="));
	assert_non_null(strstr(a, "<string>jp.example.ra.certificate."));
	/* a version-4 UUID, and another one for the next profile */
	u = strstr(a, "<key>PayloadUUID</key>\n\t<string>");
	assert_non_null(u);
	u += strlen("<key>PayloadUUID</key>\n\t<string>");
	assert_int_equal(u[8], '-');
	assert_int_equal(u[14], '4');
	b = build(&in);
	assert_string_not_equal(a, b);
	free(a);
	free(b);
}

static void test_refused(void **state)
{
	ra_mobileconfig_in in;
	ik_buf b;
	const char *bad[] = { "", "Jp.example", "jp..example", ".jp", "jp.", "jp example",
		"jp/example" };
	(void)state;

	ik_buf_init(&b, 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		in = input();
		in.prefix = bad[i];
		assert_int_equal(ra_mobileconfig_build(&in, &b), IK_ERR_ARG);
	}
	in = input();
	in.p12_len = 0;
	assert_int_equal(ra_mobileconfig_build(&in, &b), IK_ERR_ARG);
	in = input();
	in.root = NULL;
	assert_int_equal(ra_mobileconfig_build(&in, &b), IK_ERR_ARG);
	in = input();
	in.display_name = NULL;
	assert_int_equal(ra_mobileconfig_build(&in, &b), IK_ERR_ARG);
	assert_int_equal(ra_mobileconfig_build(NULL, &b), IK_ERR_ARG);
	assert_int_equal(ik_buf_remaining(&b), 0);
	ik_buf_cleanup(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prefix),
		cmocka_unit_test(test_build),
		cmocka_unit_test(test_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
