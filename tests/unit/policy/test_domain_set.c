/* Tests src/policy/domain_set.c: exact, wildcard and "*" patterns, the most specific match, pattern
 * validation (every refusal), and 100,000 patterns. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "policy/domain_set.h"

static void add(struct domain_set *s, const char *pattern)
{
	const char *detail = NULL;
	if (domain_set_add(s, slice_from_cstr(pattern), &detail) != 0)
		fail_msg("pattern \"%s\" refused: %s", pattern, detail);
}

static const char *match(const struct domain_set *s, const char *name)
{
	return domain_set_match(s, slice_from_cstr(name));
}

static void assert_match(const struct domain_set *s, const char *name, const char *want)
{
	const char *got = match(s, name);
	if (want == NULL && got != NULL)
		fail_msg("%s: want no match, got %s", name, got);
	if (want != NULL && (got == NULL || strcmp(got, want) != 0))
		fail_msg("%s: want %s, got %s", name, want, got ? got : "(none)");
}

static void assert_refused(const char *pattern)
{
	struct domain_set *s = domain_set_new();
	const char *detail = NULL;
	if (domain_set_add(s, slice_from_cstr(pattern), &detail) != -1)
		fail_msg("pattern \"%s\" accepted", pattern);
	assert_non_null(detail);
	assert_int_equal(domain_set_count(s), 0);
	domain_set_free(s);
}

static void test_empty_set(void **state)
{
	struct domain_set *s = domain_set_new();
	assert_non_null(s);
	assert_match(s, "example.com", NULL);
	assert_int_equal(domain_set_count(s), 0);
	domain_set_free(s);
}

static void test_free_null(void **state)
{
	domain_set_free(NULL);
}

static void test_exact(void **state)
{
	struct domain_set *s = domain_set_new();
	add(s, "example.com");
	assert_match(s, "example.com", "example.com");
	assert_match(s, "www.example.com", NULL);
	assert_match(s, "example.org", NULL);
	assert_match(s, "xexample.com", NULL);
	assert_match(s, "com", NULL);
	domain_set_free(s);
}

static void test_wildcard_matches_below_only(void **state)
{
	struct domain_set *s = domain_set_new();
	add(s, "*.example.com");
	assert_match(s, "a.example.com", "*.example.com");
	assert_match(s, "a.b.example.com", "*.example.com");
	assert_match(s, "example.com", NULL);
	domain_set_free(s);
}

/* The suffix must start at a label boundary: "*.example.com" is not "*example.com". */
static void test_wildcard_label_boundary(void **state)
{
	struct domain_set *s = domain_set_new();
	add(s, "*.example.com");
	assert_match(s, "badexample.com", NULL);
	assert_match(s, "a.badexample.com", NULL);
	assert_match(s, "example.com.evil.net", NULL);
	assert_match(s, "a.example.co", NULL);
	domain_set_free(s);
}

static void test_star_matches_everything(void **state)
{
	struct domain_set *s = domain_set_new();
	add(s, "*");
	assert_match(s, "example.com", "*");
	assert_match(s, "localhost", "*");
	assert_match(s, "169.254.169.254", "*");
	assert_match(s, "::1", "*");
	assert_int_equal(domain_set_count(s), 1);
	domain_set_free(s);
}

static void test_most_specific_wins(void **state)
{
	struct domain_set *s = domain_set_new();
	add(s, "*");
	add(s, "*.example.com");
	add(s, "*.b.example.com");
	add(s, "a.b.example.com");
	assert_match(s, "a.b.example.com", "a.b.example.com");
	assert_match(s, "c.b.example.com", "*.b.example.com");
	assert_match(s, "x.c.b.example.com", "*.b.example.com");
	assert_match(s, "b.example.com", "*.example.com");
	assert_match(s, "c.example.com", "*.example.com");
	assert_match(s, "example.com", "*");
	assert_match(s, "other.org", "*");
	domain_set_free(s);
}

/* The same patterns added in the other order give the same answers. */
static void test_most_specific_any_order(void **state)
{
	struct domain_set *s = domain_set_new();
	add(s, "a.b.example.com");
	add(s, "*.b.example.com");
	add(s, "*.example.com");
	add(s, "*");
	assert_match(s, "a.b.example.com", "a.b.example.com");
	assert_match(s, "c.b.example.com", "*.b.example.com");
	assert_match(s, "c.example.com", "*.example.com");
	assert_match(s, "other.org", "*");
	domain_set_free(s);
}

static void test_exact_and_wildcard_same_suffix(void **state)
{
	struct domain_set *s = domain_set_new();
	add(s, "example.com");
	add(s, "*.example.com");
	assert_match(s, "example.com", "example.com");
	assert_match(s, "www.example.com", "*.example.com");
	assert_int_equal(domain_set_count(s), 2);
	domain_set_free(s);
}

static void test_pattern_normalised(void **state)
{
	struct domain_set *s = domain_set_new();
	add(s, "*.EXAMPLE.Com.");
	add(s, "API.Example.ORG");
	assert_match(s, "www.example.com", "*.example.com");
	assert_match(s, "api.example.org", "api.example.org");
	domain_set_free(s);
}

static void test_lookup_tolerates_case_and_trailing_dot(void **state)
{
	struct domain_set *s = domain_set_new();
	add(s, "*.example.com");
	add(s, "exact.org");
	assert_match(s, "WWW.Example.COM", "*.example.com");
	assert_match(s, "exact.org.", "exact.org");
	domain_set_free(s);
}

static void test_duplicates_counted_once(void **state)
{
	struct domain_set *s = domain_set_new();
	add(s, "example.com");
	add(s, "EXAMPLE.com.");
	add(s, "*.example.com");
	add(s, "*.example.com");
	add(s, "*");
	add(s, "*");
	assert_int_equal(domain_set_count(s), 3);
	domain_set_free(s);
}

static void test_underscore_and_hyphen(void **state)
{
	struct domain_set *s = domain_set_new();
	add(s, "_acme-challenge.example.com");
	add(s, "*.my-host.example");
	assert_match(s, "_acme-challenge.example.com", "_acme-challenge.example.com");
	assert_match(s, "x.my-host.example", "*.my-host.example");
	domain_set_free(s);
}

/* ---- refusals ---- */

static void test_refuse_empty(void **state)
{
	assert_refused("");
}

static void test_refuse_star_dot_only(void **state)
{
	assert_refused("*.");
}

static void test_refuse_double_star(void **state)
{
	assert_refused("**");
}

static void test_refuse_double_star_label(void **state)
{
	assert_refused("**.example.com");
}

static void test_refuse_inner_star(void **state)
{
	assert_refused("a.*.b");
}

static void test_refuse_partial_star_label(void **state)
{
	assert_refused("*example.com");
}

static void test_refuse_star_in_label(void **state)
{
	assert_refused("www*.example.com");
}

static void test_refuse_trailing_star(void **state)
{
	assert_refused("example.*");
}

static void test_refuse_two_star_labels(void **state)
{
	assert_refused("*.*.example.com");
}

static void test_refuse_leading_space(void **state)
{
	assert_refused(" example.com");
}

static void test_refuse_trailing_space(void **state)
{
	assert_refused("example.com ");
}

static void test_refuse_inner_space(void **state)
{
	assert_refused("exa mple.com");
}

static void test_refuse_port(void **state)
{
	assert_refused("example.com:443");
}

static void test_refuse_wildcard_port(void **state)
{
	assert_refused("*.example.com:443");
}

static void test_refuse_ipv4(void **state)
{
	assert_refused("169.254.169.254");
}

static void test_refuse_ipv4_short(void **state)
{
	assert_refused("127.1");
}

static void test_refuse_wildcard_numeric(void **state)
{
	assert_refused("*.1.2.3");
}

static void test_refuse_ipv6(void **state)
{
	assert_refused("[::1]");
}

static void test_refuse_ipv6_bare(void **state)
{
	assert_refused("::1");
}

static void test_refuse_numeric_tld(void **state)
{
	assert_refused("example.123");
}

static void test_refuse_empty_label(void **state)
{
	assert_refused("example..com");
}

static void test_refuse_two_trailing_dots(void **state)
{
	assert_refused("example.com..");
}

static void test_refuse_label_64(void **state)
{
	char buf[80];
	memset(buf, 'a', 64);
	memcpy(buf + 64, ".com", 5);
	assert_refused(buf);
}

static void test_refuse_name_254(void **state)
{
	char buf[260];
	memset(buf, 'a', 254);
	for (int i = 63; i < 254; i += 64)
		buf[i] = '.';
	buf[254] = '\0';
	assert_refused(buf);
}

static void test_refuse_userinfo(void **state)
{
	assert_refused("user@example.com");
}

static void test_refuse_percent(void **state)
{
	assert_refused("%41.com");
}

static void test_refuse_non_ascii(void **state)
{
	assert_refused("b\xc3\xbc"
		       "cher.de");
}

static void test_refuse_slash(void **state)
{
	assert_refused("example.com/path");
}

static void test_refuse_scheme(void **state)
{
	assert_refused("https://example.com");
}

/* ---- stability and scale ---- */

static void test_returned_text_survives_growth(void **state)
{
	struct domain_set *s = domain_set_new();
	add(s, "*.first.example");
	const char *early = match(s, "a.first.example");
	assert_non_null(early);
	char name[64];
	for (int i = 0; i < 20000; i++) {
		snprintf(name, sizeof(name), "h%d.example.net", i);
		add(s, name);
	}
	assert_string_equal(early, "*.first.example");
	assert_ptr_equal(early, match(s, "a.first.example"));
	domain_set_free(s);
}

/* docs/internals/layers.md, policy/: domain sets are hash lookups, not scans. 100,000 patterns in
 * well under a second, half exact and half wildcards, every one found, near misses not found. */
static void test_scale_100k(void **state)
{
	enum { N = 100000 };
	struct domain_set *s = domain_set_new();
	char name[128], want[128];
	clock_t t0 = clock();
	for (int i = 0; i < N; i++) {
		if (i % 2)
			snprintf(name, sizeof(name), "*.zone%d.example.org", i);
		else
			snprintf(name, sizeof(name), "host%d.example.com", i);
		add(s, name);
	}
	assert_int_equal(domain_set_count(s), N);
	for (int i = 0; i < N; i++) {
		if (i % 2) {
			snprintf(name, sizeof(name), "a.b.zone%d.example.org", i);
			snprintf(want, sizeof(want), "*.zone%d.example.org", i);
			assert_string_equal(match(s, name), want);
			snprintf(name, sizeof(name), "zone%d.example.org", i);
			assert_null(match(s, name));
		} else {
			snprintf(name, sizeof(name), "host%d.example.com", i);
			assert_string_equal(match(s, name), name);
			snprintf(name, sizeof(name), "www.host%d.example.com", i);
			assert_null(match(s, name));
		}
	}
	double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
	if (secs > 1.5) /* generous for sanitizer builds; a plain build takes ~0.1 s */
		fail_msg("100k patterns took %.2f s", secs);
	domain_set_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_empty_set),
	    cmocka_unit_test(test_free_null),
	    cmocka_unit_test(test_exact),
	    cmocka_unit_test(test_wildcard_matches_below_only),
	    cmocka_unit_test(test_wildcard_label_boundary),
	    cmocka_unit_test(test_star_matches_everything),
	    cmocka_unit_test(test_most_specific_wins),
	    cmocka_unit_test(test_most_specific_any_order),
	    cmocka_unit_test(test_exact_and_wildcard_same_suffix),
	    cmocka_unit_test(test_pattern_normalised),
	    cmocka_unit_test(test_lookup_tolerates_case_and_trailing_dot),
	    cmocka_unit_test(test_duplicates_counted_once),
	    cmocka_unit_test(test_underscore_and_hyphen),
	    cmocka_unit_test(test_refuse_empty),
	    cmocka_unit_test(test_refuse_star_dot_only),
	    cmocka_unit_test(test_refuse_double_star),
	    cmocka_unit_test(test_refuse_double_star_label),
	    cmocka_unit_test(test_refuse_inner_star),
	    cmocka_unit_test(test_refuse_partial_star_label),
	    cmocka_unit_test(test_refuse_star_in_label),
	    cmocka_unit_test(test_refuse_trailing_star),
	    cmocka_unit_test(test_refuse_two_star_labels),
	    cmocka_unit_test(test_refuse_leading_space),
	    cmocka_unit_test(test_refuse_trailing_space),
	    cmocka_unit_test(test_refuse_inner_space),
	    cmocka_unit_test(test_refuse_port),
	    cmocka_unit_test(test_refuse_wildcard_port),
	    cmocka_unit_test(test_refuse_ipv4),
	    cmocka_unit_test(test_refuse_ipv4_short),
	    cmocka_unit_test(test_refuse_wildcard_numeric),
	    cmocka_unit_test(test_refuse_ipv6),
	    cmocka_unit_test(test_refuse_ipv6_bare),
	    cmocka_unit_test(test_refuse_numeric_tld),
	    cmocka_unit_test(test_refuse_empty_label),
	    cmocka_unit_test(test_refuse_two_trailing_dots),
	    cmocka_unit_test(test_refuse_label_64),
	    cmocka_unit_test(test_refuse_name_254),
	    cmocka_unit_test(test_refuse_userinfo),
	    cmocka_unit_test(test_refuse_percent),
	    cmocka_unit_test(test_refuse_non_ascii),
	    cmocka_unit_test(test_refuse_slash),
	    cmocka_unit_test(test_refuse_scheme),
	    cmocka_unit_test(test_returned_text_survives_growth),
	    cmocka_unit_test(test_scale_100k),
	};
	return cmocka_run_group_tests(tests, 0, 0);
}
