#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "parse/proxy_auth.h"

static int parse(const char *value, struct slice *user, struct slice *pass)
{
	static char buf[PROXY_AUTH_MAX];
	return proxy_auth_parse_basic(slice_from_cstr(value), buf, sizeof(buf), user, pass);
}

static void assert_slice(struct slice s, const char *want)
{
	assert_int_equal(s.len, strlen(want));
	assert_memory_equal(s.ptr, want, s.len);
}

static void test_basic_user_and_token(void **state)
{
	struct slice u, p;
	/* base64("research:s3cret") */
	assert_int_equal(parse("Basic cmVzZWFyY2g6czNjcmV0", &u, &p), 0);
	assert_slice(u, "research");
	assert_slice(p, "s3cret");
}

static void test_scheme_is_case_insensitive_and_ows_trimmed(void **state)
{
	struct slice u, p;
	assert_int_equal(parse("  bAsIc   cmVzZWFyY2g6czNjcmV0 ", &u, &p), 0);
	assert_slice(u, "research");
}

static void test_password_may_hold_colons_and_be_empty(void **state)
{
	struct slice u, p;
	assert_int_equal(parse("Basic YTpiOmM=", &u, &p), 0); /* "a:b:c" */
	assert_slice(u, "a");
	assert_slice(p, "b:c");
	assert_int_equal(parse("Basic YTo=", &u, &p), 0); /* "a:" */
	assert_slice(p, "");
}

static void test_refusals(void **state)
{
	struct slice u, p;
	assert_int_equal(parse("Bearer abc", &u, &p), -1);
	assert_int_equal(parse("Basic", &u, &p), -1);
	assert_int_equal(parse("Basic ", &u, &p), -1);
	assert_int_equal(parse("Basicabc=", &u, &p), -1);
	assert_int_equal(parse("Basic YWJj", &u, &p), -1);     /* "abc": no colon */
	assert_int_equal(parse("Basic YTpi=", &u, &p), -1);    /* bad length */
	assert_int_equal(parse("Basic YT=pi", &u, &p), -1);    /* padding inside */
	assert_int_equal(parse("Basic YTpi*A==", &u, &p), -1); /* bad character */
	assert_int_equal(parse("Basic YTpiCg==", &u, &p), -1); /* "a:b\n": control */
	assert_int_equal(parse("Basic YTo=YTo=", &u, &p), -1); /* padding not final */
}

static void test_output_bound(void **state)
{
	char small[4];
	struct slice u, p;
	assert_int_equal(proxy_auth_parse_basic(slice_from_cstr("Basic YWJjZDplZmdo"), small,
						sizeof(small), &u, &p),
			 -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_basic_user_and_token),
	    cmocka_unit_test(test_scheme_is_case_insensitive_and_ows_trimmed),
	    cmocka_unit_test(test_password_may_hold_colons_and_be_empty),
	    cmocka_unit_test(test_refusals),
	    cmocka_unit_test(test_output_bound),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
