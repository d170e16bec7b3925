/* Tests src/policy/request_rules.c: path patterns ("*" in a segment, "**" for any number of
 * segments, none too), the pattern check, and the order rules are matched in: the first whose
 * host, method and path match decides; a named host no rule matches is NO_MATCH. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/domain_set.h"
#include "policy/request_rules.h"

#define GS "**"

static bool m(const char *pattern, const char *path)
{
	return request_rules_path_match(pattern, slice_from_cstr(path));
}

static void test_paths(void **state)
{
	assert_true(m("/user", "/user"));
	assert_false(m("/user", "/user/"));
	assert_false(m("/user", "/users"));
	assert_true(m("/repos/" GS, "/repos"));
	assert_true(m("/repos/" GS, "/repos/"));
	assert_true(m("/repos/" GS, "/repos/a/b/c"));
	assert_false(m("/repos/" GS, "/reposx/a"));
	assert_true(m("/repos/*/issues", "/repos/sluice/issues"));
	assert_false(m("/repos/*/issues", "/repos/a/b/issues"));
	assert_true(m("/repos/*/issues", "/repos//issues")); /* '*' matches an empty segment */
	assert_true(m("/a/" GS "/z", "/a/z"));
	assert_true(m("/a/" GS "/z", "/a/b/c/z"));
	assert_false(m("/a/" GS "/z", "/a/b/c/zz"));
	assert_true(m("/files/*.tar.gz", "/files/sluice-1.0.tar.gz"));
	assert_false(m("/files/*.tar.gz", "/files/sluice.zip"));
	assert_true(m("/" GS, "/"));
	assert_true(m("/" GS, "/anything/at/all"));
	assert_false(m("user", "/user"));
}

static void test_patterns_checked(void **state)
{
	const char *detail;
	assert_true(request_rules_pattern_ok(SLICE_LIT("/a/" GS "/b/" GS), &detail));
	assert_false(request_rules_pattern_ok(SLICE_LIT("a/b"), &detail));
	assert_false(request_rules_pattern_ok(SLICE_LIT("/a" GS), &detail));
	assert_false(request_rules_pattern_ok(SLICE_LIT("/a/" GS "*"), &detail));
	assert_false(request_rules_pattern_ok(SLICE_LIT("/" GS "/" GS "/" GS "/" GS), &detail));
}

static struct request_rules rules;

static struct request_rule *add(const char *host, bool deny)
{
	const char *detail;
	rules.items = realloc(rules.items, (rules.n + 1) * sizeof(*rules.items));
	struct request_rule *r = &rules.items[rules.n];
	memset(r, 0, sizeof(*r));
	snprintf(r->label, sizeof(r->label), "rules[%u]", rules.n);
	rules.n++;
	r->hosts = domain_set_new();
	assert_int_equal(domain_set_add(r->hosts, slice_from_cstr(host), &detail), 0);
	r->deny = deny;
	return r;
}

static enum request_rules_result ask(const char *host, const char *method, const char *path,
				     const char *header, const struct request_rule **which)
{
	struct slice h;
	struct slice names[1] = {slice_from_cstr(header ? header : "")};
	return request_rules_match(&rules, slice_from_cstr(host), slice_from_cstr(method),
				   slice_from_cstr(path), names, header ? 1 : 0, which, &h);
}

static void test_order_and_results(void **state)
{
	const struct request_rule *which;
	struct request_rule *r0 = add("api.example.com", false);
	strcpy(r0->methods[r0->n_methods++], "GET");
	strcpy(r0->paths[r0->n_paths++], "/repos/our-org/" GS);
	strcpy(r0->headers_deny[r0->n_headers_deny++], "x-http-method-override");
	struct request_rule *r1 = add("*.example.com", true);
	strcpy(r1->paths[r1->n_paths++], "/gists/" GS);

	assert_int_equal(ask("api.example.com", "GET", "/repos/our-org/x", NULL, &which),
			 REQUEST_RULES_ALLOW);
	assert_ptr_equal(which, &rules.items[0]);
	assert_int_equal(
	    ask("api.example.com", "GET", "/repos/our-org/x", "X-HTTP-Method-Override", &which),
	    REQUEST_RULES_HEADER);
	assert_int_equal(ask("api.example.com", "POST", "/gists/1", NULL, &which),
			 REQUEST_RULES_DENY);
	assert_ptr_equal(which, &rules.items[1]);
	assert_int_equal(ask("api.example.com", "POST", "/repos/our-org/x", NULL, &which),
			 REQUEST_RULES_NO_MATCH);
	assert_null(which);
	assert_int_equal(ask("other.test", "GET", "/", NULL, &which), REQUEST_RULES_NONE);
	assert_true(request_rules_cover(&rules, SLICE_LIT("www.example.com")));
	assert_false(request_rules_cover(&rules, SLICE_LIT("example.org")));
	request_rules_fini(&rules);
	assert_int_equal(rules.n, 0);
}

static enum request_rules_result ask_headers(const char *const *names, unsigned n,
					     struct slice *header)
{
	const struct request_rule *which;
	struct slice s[8];
	for (unsigned i = 0; i < n; i++)
		s[i] = slice_from_cstr(names[i]);
	return request_rules_match(&rules, SLICE_LIT("api.example.com"), SLICE_LIT("POST"),
				   SLICE_LIT("/v1/chat"), s, n, &which, header);
}

static void test_headers_allow(void **state)
{
	struct slice h;
	struct request_rule *r = add("api.example.com", false);
	strcpy(r->headers_allow[r->n_headers_allow++], "authorization");
	strcpy(r->headers_allow[r->n_headers_allow++], "content-type");
	r->has_headers_allow = true;
	strcpy(r->headers_deny[r->n_headers_deny++], "x-debug");

	const char *ok[] = {"Host",
			    "Authorization",
			    "Content-Type",
			    "Content-Length",
			    "Transfer-Encoding",
			    "Connection",
			    "Proxy-Authorization"};
	assert_int_equal(ask_headers(ok, 7, &h), REQUEST_RULES_ALLOW);
	const char *extra[] = {"Host", "Authorization", "X-Exfil", "Cookie"};
	assert_int_equal(ask_headers(extra, 4, &h), REQUEST_RULES_HEADER_NOT_ALLOWED);
	assert_true(slice_eq_cstr_nocase(h, "x-exfil"));
	/* headers_deny speaks first. */
	const char *both[] = {"X-Exfil", "X-Debug"};
	assert_int_equal(ask_headers(both, 2, &h), REQUEST_RULES_HEADER);
	assert_true(slice_eq_cstr_nocase(h, "x-debug"));
	/* An empty list: only what HTTP needs. */
	r->n_headers_allow = 0;
	const char *bare[] = {"host", "content-length"};
	assert_int_equal(ask_headers(bare, 2, &h), REQUEST_RULES_ALLOW);
	assert_int_equal(ask_headers(ok, 7, &h), REQUEST_RULES_HEADER_NOT_ALLOWED);
	assert_true(slice_eq_cstr_nocase(h, "authorization"));
	request_rules_fini(&rules);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_paths),
	    cmocka_unit_test(test_patterns_checked),
	    cmocka_unit_test(test_order_and_results),
	    cmocka_unit_test(test_headers_allow),
	};
	return cmocka_run_group_tests_name("request_rules", tests, NULL, NULL);
}
