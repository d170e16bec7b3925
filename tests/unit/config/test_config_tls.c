/* Tests for config/config_tls and config/config_intercept: the tls section and the intercept
 * lists, syntax only. */
#include "config_test.h"

static void test_tls_absent_by_default(void **state)
{
	struct config *cfg = parse_ok("workers: 1\n");
	assert_false(cfg->has_tls);
	assert_string_equal(cfg->tls_state_dir, "/var/lib/sluice");
	assert_string_equal(cfg->tls_ca_cert, "");
	assert_string_equal(cfg->tls_ca_key, "");
	assert_int_equal(cfg->tls_cert_cache, 1024);
	config_free(cfg);
	cfg = config_default();
	assert_false(cfg->has_tls);
	assert_string_equal(cfg->tls_state_dir, "/var/lib/sluice");
	config_free(cfg);
}

static void test_tls_empty_section_asks_for_the_ca(void **state)
{
	struct config *cfg = parse_ok("tls:\n");
	assert_true(cfg->has_tls);
	assert_string_equal(cfg->tls_state_dir, "/var/lib/sluice");
	assert_int_equal(cfg->tls_cert_cache, 1024);
	config_free(cfg);
	cfg = parse_ok("tls: {}\n");
	assert_true(cfg->has_tls);
	config_free(cfg);
}

static void test_tls_state_dir_and_cache(void **state)
{
	struct config *cfg = parse_ok("tls:\n  state_dir: /srv/sluice/state\n  cert_cache: 16\n");
	assert_true(cfg->has_tls);
	assert_string_equal(cfg->tls_state_dir, "/srv/sluice/state");
	assert_int_equal(cfg->tls_cert_cache, 16);
	config_free(cfg);
}

static void test_tls_operator_ca(void **state)
{
	struct config *cfg = parse_ok("tls:\n  ca_cert: /etc/sluice/ca.pem\n"
				      "  ca_key: /etc/sluice/ca.key\n");
	assert_string_equal(cfg->tls_ca_cert, "/etc/sluice/ca.pem");
	assert_string_equal(cfg->tls_ca_key, "/etc/sluice/ca.key");
	config_free(cfg);
}

static void test_tls_relative_path_refused(void **state)
{
	refused("tls:\n  state_dir: state\n", 2, 14,
		"tls.state_dir: \"state\" is not a valid path: must be an absolute path (starting "
		"with '/')");
	refused("tls:\n  ca_cert: ca.pem\n  ca_key: /k\n", 2, 12,
		"tls.ca_cert: \"ca.pem\" is not a valid path: must be an absolute path (starting "
		"with '/')");
}

static void test_tls_cert_without_key_refused(void **state)
{
	refused("tls:\n  ca_cert: /etc/sluice/ca.pem\n", 2, 3,
		"tls: set both ca_cert and ca_key, or neither");
	refused("tls:\n  ca_key: /etc/sluice/ca.key\n", 2, 3,
		"tls: set both ca_cert and ca_key, or neither");
}

static void test_tls_state_dir_with_files_refused(void **state)
{
	refused("tls:\n  state_dir: /s\n  ca_cert: /c\n  ca_key: /k\n", 2, 3,
		"tls: state_dir is for a generated CA, ca_cert and ca_key for your own: set one or "
		"the other");
}

static void test_tls_cert_cache_range(void **state)
{
	refused("tls:\n  cert_cache: 0\n", 2, 15,
		"tls.cert_cache: \"0\" is out of range (1-1048576)");
	refused("tls:\n  cert_cache: 1048577\n", 2, 15,
		"tls.cert_cache: \"1048577\" is out of range (1-1048576)");
}

static void test_tls_unknown_key_and_scalar_refused(void **state)
{
	assert_null(parse("tls:\n  intercepts: [x]\n"));
	assert_int_equal(errs.count, 1);
	assert_null(parse("tls: yes\n"));
	assert_int_equal(errs.count, 1);
}

static void test_tls_upstream_ca_and_handshake_timeout(void **state)
{
	struct config *cfg = parse_ok("workers: 1\n");
	assert_string_equal(cfg->tls_upstream_ca, "");
	assert_int_equal(cfg->tls_handshake_ms, 10000);
	assert_false(cfg->intercepts);
	config_free(cfg);
	cfg = parse_ok("tls:\n  upstream_ca: /etc/ssl/corp.pem\ntimeouts:\n  tls_handshake: 3s\n");
	assert_string_equal(cfg->tls_upstream_ca, "/etc/ssl/corp.pem");
	assert_int_equal(cfg->tls_handshake_ms, 3000);
	config_free(cfg);
	refused("tls:\n  upstream_ca: corp.pem\n", 2, 16,
		"tls.upstream_ca: \"corp.pem\" is not a valid path: must be an absolute path "
		"(starting with '/')");
}

/* HTTP/2 toward origins is on unless turned off; the key takes a boolean only. */
static void test_tls_upstream_http2(void **state)
{
	struct config *cfg = parse_ok("workers: 1\n");
	assert_true(cfg->tls_upstream_http2);
	config_free(cfg);
	cfg = parse_ok("tls:\n  upstream_http2: false\n");
	assert_false(cfg->tls_upstream_http2);
	config_free(cfg);
	assert_null(parse("tls:\n  upstream_http2: sometimes\n"));
	assert_int_equal(errs.count, 1);
}

/* Where interception is asked for, the CA is too (no tls: section needed). */
static void test_intercept_lists(void **state)
{
	struct config *cfg =
	    parse_ok("intercept: [\"*.example.com\", api.github.com]\n"
		     "tls:\n  never_intercept: [pinned.example.com]\n"
		     "agents:\n  - name: default\n  - name: coder\n    match: {source: "
		     "[10.0.0.0/8]}\n    intercept: []\n");
	assert_true(cfg->has_tls);
	assert_true(cfg->intercepts);
	assert_int_equal(domain_set_count(cfg->rules.intercept), 2);
	assert_string_equal(domain_set_match(cfg->rules.intercept, SLICE_LIT("a.example.com")),
			    "*.example.com");
	assert_int_equal(domain_set_count(cfg->rules.never_intercept), 1);
	assert_null(cfg->agents[0].intercept); /* inherits */
	assert_non_null(cfg->agents[1].intercept);
	assert_int_equal(domain_set_count(cfg->agents[1].intercept), 0);
	config_free(cfg);

	cfg = parse_ok("agents:\n  - name: default\n    intercept: [api.github.com]\n");
	assert_true(cfg->has_tls);
	assert_true(cfg->intercepts);
	assert_null(cfg->rules.intercept);
	config_free(cfg);

	/* An empty list asks for nothing. */
	cfg = parse_ok("intercept: []\n");
	assert_false(cfg->has_tls);
	assert_false(cfg->intercepts);
	config_free(cfg);
}

static void test_intercept_patterns_checked(void **state)
{
	refused("intercept: [\"api.example.com:443\"]\n", 1, 13,
		"intercept[0]: \"api.example.com:443\" is not a valid domain pattern: interception "
		"is by name, on every port (write the name without \":port\")");
	refused("intercept: [\"10.0.0.1\"]\n", 1, 13,
		"intercept[0]: \"10.0.0.1\" is not a valid domain pattern: an IP address is never "
		"intercepted (a leaf certificate is minted for a name)");
	refused("agents:\n  - name: default\n    intercept: [\"::1\"]\n", 3, 17,
		"agents[0].intercept[0]: \"::1\" is not a valid domain pattern: an IP address is "
		"never intercepted (a leaf certificate is minted for a name)");
	refused("tls:\n  never_intercept: [\"a.*.com\"]\n", 2, 21,
		"tls.never_intercept[0]: \"a.*.com\" is not a valid domain pattern: '*' must be "
		"the whole first label (\"*.example.com\") or the whole pattern");
	refused("intercept: api.example.com\n", 1, 12,
		"intercept: expected a list of domain patterns, got a string; write "
		"[\"api.example.com\"] for a list of one");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_tls_absent_by_default),
	    cmocka_unit_test(test_tls_empty_section_asks_for_the_ca),
	    cmocka_unit_test(test_tls_state_dir_and_cache),
	    cmocka_unit_test(test_tls_operator_ca),
	    cmocka_unit_test(test_tls_relative_path_refused),
	    cmocka_unit_test(test_tls_cert_without_key_refused),
	    cmocka_unit_test(test_tls_state_dir_with_files_refused),
	    cmocka_unit_test(test_tls_cert_cache_range),
	    cmocka_unit_test(test_tls_unknown_key_and_scalar_refused),
	    cmocka_unit_test(test_tls_upstream_ca_and_handshake_timeout),
	    cmocka_unit_test(test_tls_upstream_http2),
	    cmocka_unit_test(test_intercept_lists),
	    cmocka_unit_test(test_intercept_patterns_checked),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
