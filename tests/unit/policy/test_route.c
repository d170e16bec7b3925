#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "policy/route.h"

static struct route route;

static int setup(void **state)
{
	memset(&route, 0, sizeof(route));
	strcpy(route.host, "search.internal");
	strcpy(route.upstream_host, "searxng");
	route.upstream_port = 8080;
	return 0;
}

static const char *rewrite(const char *path)
{
	static char out[512];
	int n = route_rewrite_path(&route, slice_from_cstr(path), out, sizeof(out));
	return n < 0 ? NULL : out;
}

static void test_path_kept_without_rewrite(void **state)
{
	assert_string_equal(rewrite("/search?q=x&format=json"), "/search?q=x&format=json");
	assert_string_equal(rewrite(""), "/");
	assert_string_equal(rewrite("?q=1"), "/?q=1");
}

static void test_upstream_base_is_prepended(void **state)
{
	strcpy(route.upstream_base, "/searx");
	assert_string_equal(rewrite("/search?q=x"), "/searx/search?q=x");
	assert_string_equal(rewrite(""), "/searx/");
}

static void test_prefix_rewrite(void **state)
{
	strcpy(route.rewrite_from, "/api/");
	strcpy(route.rewrite_to, "/");
	assert_string_equal(rewrite("/api/search"), "/search");
	assert_string_equal(rewrite("/apix"), "/apix"); /* not the prefix: unchanged */
	assert_string_equal(rewrite("/other"), "/other");
	strcpy(route.rewrite_from, "/v1");
	strcpy(route.rewrite_to, "/v2");
	assert_string_equal(rewrite("/v1/items"), "/v2/items");
}

static void test_output_bound(void **state)
{
	char small[4];
	assert_int_equal(route_rewrite_path(&route, SLICE_LIT("/search"), small, sizeof(small)),
			 -1);
}

static void test_agents_and_headers(void **state)
{
	assert_true(route_allows_agent(&route, "anyone"));
	strcpy(route.agents[0], "research");
	route.n_agents = 1;
	assert_true(route_allows_agent(&route, "research"));
	assert_false(route_allows_agent(&route, "coder"));
	assert_false(route_allows_agent(&route, ""));
	strcpy(route.remove_headers[0], "Cookie");
	route.n_remove_headers = 1;
	strcpy(route.set_headers[0].name, "Authorization");
	route.n_set_headers = 1;
	assert_true(route_drops_header(&route, SLICE_LIT("cookie")));
	assert_true(route_drops_header(&route, SLICE_LIT("AUTHORIZATION")));
	assert_false(route_drops_header(&route, SLICE_LIT("Accept")));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_path_kept_without_rewrite, setup),
	    cmocka_unit_test_setup(test_upstream_base_is_prepended, setup),
	    cmocka_unit_test_setup(test_prefix_rewrite, setup),
	    cmocka_unit_test_setup(test_output_bound, setup),
	    cmocka_unit_test_setup(test_agents_and_headers, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
