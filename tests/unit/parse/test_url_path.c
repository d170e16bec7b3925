/* Tests src/parse/url_path.c: the normal form (unreserved escapes decoded, others upper-cased,
 * dot segments removed, the query kept as sent) and every refusal that would let a path rule be
 * talked around: encoded slashes and backslashes, NUL, double encoding, malformed escapes, a
 * climb above the root. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "parse/url_path.h"

static struct url_path p;
static const char *detail;

static void normal(const char *in, const char *want, size_t want_path_len)
{
	detail = NULL;
	if (url_path_normalize(slice_from_cstr(in), &p, &detail) != 0)
		fail_msg("%s refused: %s", in, detail);
	assert_string_equal(p.text, want);
	assert_int_equal(p.len, strlen(want));
	assert_int_equal(p.path_len, want_path_len);
}

static void refused(const char *in, const char *why)
{
	detail = NULL;
	assert_int_equal(url_path_normalize(slice_from_cstr(in), &p, &detail), -1);
	assert_string_equal(detail, why);
}

static void test_already_normal(void **state)
{
	normal("/", "/", 1);
	normal("/repos/our-org/sluice", "/repos/our-org/sluice", 21);
	normal("/a/b/", "/a/b/", 5);
	normal("/a//b", "/a//b", 5); /* empty segments are kept: rules see them */
	normal("*", "*", 1);
}

static void test_escapes(void **state)
{
	normal("/%7euser/%41b", "/~user/Ab", 9);
	normal("/a%2db%5F", "/a-b_", 5);
	normal("/caf%c3%a9", "/caf%C3%A9", 10);
	normal("/a%20b", "/a%20b", 6);
	normal("/a%3f", "/a%3F", 5);
}

static void test_dot_segments(void **state)
{
	normal("/a/./b", "/a/b", 4);
	normal("/a/b/../c", "/a/c", 4);
	normal("/a/b/..", "/a/", 3);
	normal("/a/.", "/a/", 3);
	normal("/a/b/%2e%2e/c", "/a/c", 4); /* decoded first, then removed */
	normal("/a/%2E/b", "/a/b", 4);
	normal("/a/.b/..c", "/a/.b/..c", 9); /* not dot segments */
}

static void test_query_kept(void **state)
{
	normal("/a/../b?x=/../y&%2f", "/b?x=/../y&%2f", 2);
	normal("/?", "/?", 1);
}

static void test_refusals(void **state)
{
	refused("/a%2fb", "an encoded slash in the path");
	refused("/a%2Fb", "an encoded slash in the path");
	refused("/a%5cb", "an encoded slash in the path");
	refused("/a\\b", "a backslash in the path");
	refused("/a%00b", "an encoded NUL in the path");
	refused("/%252e%252e/secret", "a double-encoded byte in the path");
	refused("/%25%35a", "a double-encoded byte in the path"); /* "%255a" once decoded */
	refused("/%25%32%65", "a double-encoded byte in the path");
	refused("/a%2", "a malformed %-escape in the path");
	refused("/a%zz", "a malformed %-escape in the path");
	refused("/a%", "a malformed %-escape in the path");
	refused("/..", "a dot segment above the root");
	refused("/a/../../b", "a dot segment above the root");
	refused("/%2e%2e/etc/passwd", "a dot segment above the root");
	refused("a/b", "the path does not start with '/'");
	refused("", "the path does not start with '/'");
}

static void test_too_long(void **state)
{
	static char big[URL_PATH_MAX + 2];
	memset(big, 'a', sizeof(big) - 1);
	big[0] = '/';
	big[sizeof(big) - 1] = '\0';
	refused(big, "the path is too long");
	big[URL_PATH_MAX] = '\0';
	normal(big, big, URL_PATH_MAX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_already_normal), cmocka_unit_test(test_escapes),
	    cmocka_unit_test(test_dot_segments),   cmocka_unit_test(test_query_kept),
	    cmocka_unit_test(test_refusals),	   cmocka_unit_test(test_too_long),
	};
	return cmocka_run_group_tests_name("url_path", tests, NULL, NULL);
}
