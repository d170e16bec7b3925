/* Tests src/parse/url.c: request targets and upstream URLs split into scheme, authority and
 * path, with the origin form, a missing scheme, https:// targets and fragments told apart. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "parse/url.h"

static struct url split_ok(const char *text)
{
	struct url u;
	if (url_split(slice_from_cstr(text), &u) != URL_OK)
		fail_msg("\"%s\" not split", text);
	return u;
}

static void assert_slice(struct slice s, const char *want)
{
	if (!slice_eq(s, slice_from_cstr(want)))
		fail_msg("got \"%.*s\", want \"%s\"", (int)s.len, s.ptr, want);
}

static void assert_split(const char *text, enum url_scheme scheme, const char *authority,
			 const char *path)
{
	struct url u = split_ok(text);
	assert_int_equal(u.scheme, scheme);
	assert_slice(u.authority, authority);
	assert_slice(u.path, path);
}

static void test_authority_and_path(void **state)
{
	assert_split("http://example.com/a/b", URL_SCHEME_HTTP, "example.com", "/a/b");
	assert_split("http://example.com:8080/", URL_SCHEME_HTTP, "example.com:8080", "/");
	assert_split("https://[fd00::5]:8443/wiki/v1", URL_SCHEME_HTTPS, "[fd00::5]:8443",
		     "/wiki/v1");
	assert_split("http://10.0.0.5:8080", URL_SCHEME_HTTP, "10.0.0.5:8080", "");
}

static void test_scheme_any_case(void **state)
{
	assert_split("HTTP://h/x", URL_SCHEME_HTTP, "h", "/x");
	assert_split("hTtPs://h", URL_SCHEME_HTTPS, "h", "");
}

/* RFC 3986 §3.2: a '?' ends the authority as a '/' does; the path keeps the query. */
static void test_query_ends_the_authority(void **state)
{
	struct url u = split_ok("http://h?q=1");
	assert_slice(u.authority, "h");
	assert_slice(u.path, "?q=1");
	assert_true(u.has_query);

	u = split_ok("http://h/search?q=x&format=json");
	assert_slice(u.path, "/search?q=x&format=json");
	assert_true(u.has_query);
	assert_false(u.has_fragment);

	u = split_ok("http://h/search");
	assert_false(u.has_query);
}

/* §3.5: the fragment starts at the first '#', in the authority, the path or the query. */
static void test_fragment_is_cut_and_reported(void **state)
{
	struct url u = split_ok("http://h/p?q#frag");
	assert_slice(u.path, "/p?q");
	assert_true(u.has_query);
	assert_true(u.has_fragment);

	u = split_ok("http://h#x/y?z");
	assert_slice(u.authority, "h");
	assert_slice(u.path, "");
	assert_false(u.has_query);
	assert_true(u.has_fragment);

	u = split_ok("http://h/p#a?b");
	assert_slice(u.path, "/p");
	assert_false(u.has_query);
}

/* The authority is handed on as written: userinfo, ports and brackets are parse/authority's. */
static void test_authority_not_judged(void **state)
{
	assert_split("http://user@h:0/", URL_SCHEME_HTTP, "user@h:0", "/");
	assert_split("http:///path", URL_SCHEME_HTTP, "", "/path");
	assert_split("http://", URL_SCHEME_HTTP, "", "");
}

static void test_not_a_url(void **state)
{
	struct url u;
	assert_int_equal(url_split(slice_from_cstr("/index.html"), &u), URL_ORIGIN_FORM);
	assert_int_equal(url_split(slice_from_cstr("/"), &u), URL_ORIGIN_FORM);
	assert_int_equal(url_split(slice_from_cstr(""), &u), URL_NO_SCHEME);
	assert_int_equal(url_split(slice_from_cstr("ftp://h/"), &u), URL_NO_SCHEME);
	assert_int_equal(url_split(slice_from_cstr("http:/h"), &u), URL_NO_SCHEME);
	assert_int_equal(url_split(slice_from_cstr("http:"), &u), URL_NO_SCHEME);
	assert_int_equal(url_split(slice_from_cstr("https:/"), &u), URL_NO_SCHEME);
	assert_int_equal(url_split(slice_from_cstr("example.com:80"), &u), URL_NO_SCHEME);
	assert_int_equal(url_split(slice_from_cstr(" http://h/"), &u), URL_NO_SCHEME);
	assert_int_equal(url_split(slice_make(NULL, 0), &u), URL_NO_SCHEME);
}

/* The text is not NUL-terminated: nothing past its length is read. */
static void test_bounded(void **state)
{
	static const char text[] = "http://host/path?q#f";
	struct url u;
	assert_int_equal(url_split(slice_make(text, 11), &u), URL_OK);
	assert_slice(u.authority, "host");
	assert_slice(u.path, "");
	assert_int_equal(url_split(slice_make(text, 6), &u), URL_NO_SCHEME);
	assert_int_equal(url_split(slice_make(text, 18), &u), URL_OK);
	assert_slice(u.path, "/path?q");
	assert_false(u.has_fragment);
}

/* RFC 9112 §3.2.2: a proxy gets http:// URLs; https:// ones come through CONNECT. */
static void test_target(void **state)
{
	struct url u;
	assert_int_equal(url_split_target(slice_from_cstr("http://h/x?y"), &u), URL_OK);
	assert_slice(u.authority, "h");
	assert_slice(u.path, "/x?y");
	assert_int_equal(url_split_target(slice_from_cstr("/x"), &u), URL_ORIGIN_FORM);
	assert_int_equal(url_split_target(slice_from_cstr("https://h/"), &u), URL_HTTPS_TARGET);
	assert_int_equal(url_split_target(slice_from_cstr("https://h/#f"), &u), URL_HTTPS_TARGET);
	assert_int_equal(url_split_target(slice_from_cstr("h:443"), &u), URL_NO_SCHEME);
	assert_int_equal(url_split_target(slice_from_cstr("http://h/#f"), &u), URL_FRAGMENT);
	assert_int_equal(url_split_target(slice_from_cstr("http://h#"), &u), URL_FRAGMENT);
}

/* The texts a client sees in the 400 (Proxy-Status details), unchanged from before the split. */
static void test_target_detail(void **state)
{
	assert_string_equal(url_target_detail(URL_OK), "");
	assert_string_equal(url_target_detail(URL_NO_SCHEME),
			    "the request target is not an http:// URL");
	assert_string_equal(url_target_detail(URL_HTTPS_TARGET),
			    "https:// URLs must be fetched through CONNECT (set HTTPS_PROXY)");
	assert_string_equal(url_target_detail(URL_FRAGMENT),
			    "a fragment is not allowed in a request target");
	assert_true(strlen(url_target_detail(URL_ORIGIN_FORM)) > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_authority_and_path),
	    cmocka_unit_test(test_scheme_any_case),
	    cmocka_unit_test(test_query_ends_the_authority),
	    cmocka_unit_test(test_fragment_is_cut_and_reported),
	    cmocka_unit_test(test_authority_not_judged),
	    cmocka_unit_test(test_not_a_url),
	    cmocka_unit_test(test_bounded),
	    cmocka_unit_test(test_target),
	    cmocka_unit_test(test_target_detail),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
