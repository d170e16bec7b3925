/* Tests for config/config_tls: the tls section, syntax only. */
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
	assert_null(parse("tls:\n  intercept: [x]\n"));
	assert_int_equal(errs.count, 1);
	assert_null(parse("tls: yes\n"));
	assert_int_equal(errs.count, 1);
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
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
