/* Tests for config/config_log: log.file and log.query. */
#include "config_test.h"

/* ---- the decision log: log.file, log.query ---- */

static void test_log_file_and_query(void **state)
{
	struct config *cfg =
	    parse_ok("log:\n  file: /var/log/sluice/decisions.log\n  query: keep\n");
	assert_string_equal(cfg->log_file, "/var/log/sluice/decisions.log");
	assert_true(cfg->log_query);
	config_free(cfg);
	cfg = parse_ok("log:\n  query: drop\n");
	assert_string_equal(cfg->log_file, "");
	assert_false(cfg->log_query);
	config_free(cfg);
	cfg = parse_ok("log:\n");
	assert_string_equal(cfg->log_file, "");
	assert_false(cfg->log_query);
	config_free(cfg);
}

static void test_log_file_longest_path(void **state)
{
	char yaml[CONFIG_LOG_FILE_MAX + 32], path[CONFIG_LOG_FILE_MAX + 1];
	memset(path, 'a', sizeof(path));
	path[0] = '/';
	path[CONFIG_LOG_FILE_MAX - 1] = '\0';
	snprintf(yaml, sizeof(yaml), "log:\n  file: %s\n", path);
	struct config *cfg = parse_ok(yaml);
	assert_string_equal(cfg->log_file, path);
	config_free(cfg);
	path[CONFIG_LOG_FILE_MAX - 1] = 'a';
	path[CONFIG_LOG_FILE_MAX] = '\0';
	snprintf(yaml, sizeof(yaml), "log:\n  file: %s\n", path);
	refused_prefix(yaml, 2, 9, "log.file: \"/aaa");
	assert_non_null(strstr(errs.items[0].message, "is not a valid file path: too long"));
}

static void test_log_file_refused(void **state)
{
	refused("log:\n  file: sluice.log\n", 2, 9,
		"log.file: \"sluice.log\" is not a valid file path: must be an absolute path "
		"(starting with '/')");
	refused("log:\n  file: \"/var/log/a\\tb\"\n", 2, 9,
		"log.file: \"/var/log/a\\x09b\" is not a valid file path: control characters are "
		"not allowed");
	refused("log:\n  file: [/a]\n", 2, 9, "log.file: expected a file path, got a list");
	assert_null(parse("log:\n  file:\n"));
	assert_int_equal(errs.count, 1);
	assert_null(parse("log:\n  file: yes\n"));
	assert_int_equal(errs.count, 1);
}

static void test_log_query_refused(void **state)
{
	refused("log:\n  query: strip\n", 2, 10, "log.query: \"strip\" is not keep or drop");
	refused("log:\n  query: Keep\n", 2, 10, "log.query: \"Keep\" is not keep or drop");
	assert_null(parse("log:\n  query: true\n"));
	assert_int_equal(errs.count, 1);
}

static void test_log_section_refused(void **state)
{
	refused("log: /var/log/sluice.log\n", 1, 6,
		"log: expected a mapping with keys file, query, got a string");
	refused("log:\n  fille: /a\n", 2, 3, "unknown key \"fille\" in log (valid: file, query)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_log_file_and_query),
	    cmocka_unit_test(test_log_file_longest_path),
	    cmocka_unit_test(test_log_file_refused),
	    cmocka_unit_test(test_log_query_refused),
	    cmocka_unit_test(test_log_section_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
