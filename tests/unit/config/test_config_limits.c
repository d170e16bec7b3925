/* Tests for config/config_limits: durations of timeouts.*, limits.* and workers, every refusal
 * with its line:column. */
#include "config_test.h"

/* ---- durations -------------------------------------------------------------------------- */

static unsigned connect_ms(const char *value)
{
	char yaml[128];
	snprintf(yaml, sizeof(yaml), "timeouts:\n  connect: %s\n", value);
	struct config *cfg = parse_ok(yaml);
	unsigned ms = cfg->connect_timeout_ms;
	config_free(cfg);
	return ms;
}

static void test_durations(void **state)
{
	assert_int_equal(connect_ms("10"), 10000);
	assert_int_equal(connect_ms("0.5"), 500);
	assert_int_equal(connect_ms("0.001"), 1);
	assert_int_equal(connect_ms("1.25s"), 1250);
	assert_int_equal(connect_ms("500ms"), 500);
	assert_int_equal(connect_ms("30s"), 30000);
	assert_int_equal(connect_ms("5m"), 300000);
	assert_int_equal(connect_ms("0.5m"), 30000);
	assert_int_equal(connect_ms("24h"), 86400000);
	assert_int_equal(connect_ms("\"30s\""), 30000);
	assert_int_equal(connect_ms("1.000000000000"), 1000);
}

static void duration_refused(const char *value, const char *detail)
{
	char yaml[128], message[256];
	snprintf(yaml, sizeof(yaml), "timeouts:\n  connect: %s\n", value);
	snprintf(message, sizeof(message), "timeouts.connect: \"%s\" is not a valid duration: %s",
		 value, detail);
	refused(yaml, 2, 12, message);
}

static void test_duration_zero_refused(void **state)
{
	duration_refused("0", "must be greater than 0");
	duration_refused("0ms", "must be greater than 0");
}

static void test_duration_negative_refused(void **state)
{
	duration_refused("-1", "must be greater than 0");
}

static void test_duration_over_a_day_refused(void **state)
{
	duration_refused("25h", "too long (at most 24h)");
	duration_refused("86400.001", "too long (at most 24h)");
	duration_refused("99999999999999999999", "too long (at most 24h)");
	duration_refused("999999999h", "too long (at most 24h)");
}

static void test_duration_trailing_garbage_refused(void **state)
{
	duration_refused("12abc", "unknown unit (use ms, s, m or h)");
	duration_refused("10 s", "unknown unit (use ms, s, m or h)");
	duration_refused("1e3", "unknown unit (use ms, s, m or h)");
}

static void test_duration_malformed_number_refused(void **state)
{
	duration_refused(".5", "not a duration (write e.g. 10s, 500ms, 5m or 0.5)");
	duration_refused("5.", "not a duration (write e.g. 10s, 500ms, 5m or 0.5)");
	duration_refused("s", "not a duration (write e.g. 10s, 500ms, 5m or 0.5)");
}

static void test_duration_below_a_millisecond_refused(void **state)
{
	duration_refused("1.5ms", "not a whole number of milliseconds");
	duration_refused("0.0005", "not a whole number of milliseconds");
}

static void test_duration_wrong_type_refused(void **state)
{
	refused("timeouts:\n  dns: [5]\n", 2, 8,
		"timeouts.dns: expected a duration like 10s, 500ms, 5m or 0.5, got a list");
	refused("timeouts:\n  dns: yes\n", 2, 8,
		"timeouts.dns: expected a duration like 10s, 500ms, 5m or 0.5, got the boolean yes "
		"(write \"yes\" to mean the text)");
	refused("timeouts:\n  dns:\n", 2, 7,
		"timeouts.dns: expected a duration like 10s, 500ms, 5m or 0.5, got an empty value");
}

/* ---- limits ----------------------------------------------------------------------------- */

static void test_limits_bounds(void **state)
{
	struct config *cfg =
	    parse_ok("limits:\n  max_request_head: 1048576\n  max_connections: 1\n");
	assert_int_equal(cfg->max_head_bytes, 1048576);
	assert_int_equal(cfg->max_connections, 1);
	config_free(cfg);
	refused("limits:\n  max_request_head: 1023\n", 2, 21,
		"limits.max_request_head: \"1023\" is out of range (1024-1048576)");
	refused("limits:\n  max_request_head: 1048577\n", 2, 21,
		"limits.max_request_head: \"1048577\" is out of range (1024-1048576)");
	refused("limits:\n  max_connections: 0\n", 2, 20,
		"limits.max_connections: \"0\" is out of range (1-1000000)");
}

static void test_limits_header_counts(void **state)
{
	struct config *cfg = parse_ok("limits:\n  max_request_headers: 1000\n"
				      "  max_response_head: 1048576\n  max_response_headers: 1\n");
	assert_int_equal(cfg->max_request_headers, 1000);
	assert_int_equal(cfg->max_response_head, 1048576);
	assert_int_equal(cfg->max_response_headers, 1);
	config_free(cfg);
	refused("limits:\n  max_request_headers: 0\n", 2, 24,
		"limits.max_request_headers: \"0\" is out of range (1-1000)");
	refused("limits:\n  max_request_headers: 1001\n", 2, 24,
		"limits.max_request_headers: \"1001\" is out of range (1-1000)");
	refused("limits:\n  max_response_headers: 1001\n", 2, 25,
		"limits.max_response_headers: \"1001\" is out of range (1-1000)");
	refused("limits:\n  max_response_head: 1000\n", 2, 22,
		"limits.max_response_head: \"1000\" is out of range (1024-1048576)");
}

static void test_limits_strict_numbers(void **state)
{
	refused("limits:\n  max_connections: 12abc\n", 2, 20,
		"limits.max_connections: \"12abc\" is not valid: not a whole number");
	refused("limits:\n  max_connections: 1.5\n", 2, 20,
		"limits.max_connections: \"1.5\" is not valid: not a whole number");
	refused("limits:\n  max_connections: 99999999999999999999999\n", 2, 20,
		"limits.max_connections: \"99999999999999999999999\" is not valid: too large");
	refused("limits:\n  max_connections: {a: 1}\n", 2, 20,
		"limits.max_connections: expected a whole number, got a mapping");
}

static void test_max_connections_per_agent(void **state)
{
	struct config *cfg = parse_ok("");
	assert_int_equal(cfg->max_connections_per_agent, 0); /* no per-agent limit */
	assert_int_equal(cfg->max_pending_dns, 1000);
	config_free(cfg);
	cfg = parse_ok("limits:\n  max_pending_dns: 0\n");
	assert_int_equal(cfg->max_pending_dns, 0);
	config_free(cfg);
	cfg = parse_ok("limits:\n  max_connections_per_agent: 50\n");
	assert_int_equal(cfg->max_connections_per_agent, 50);
	config_free(cfg);
	refused("limits:\n  max_connections_per_agent: -1\n", 2, 30,
		"limits.max_connections_per_agent: \"-1\" is not valid: not a whole number");
}

static void test_workers(void **state)
{
	struct config *cfg = parse_ok("");
	assert_int_equal(cfg->workers, 0); /* one per core */
	config_free(cfg);
	cfg = parse_ok("workers: 4\n");
	assert_int_equal(cfg->workers, 4);
	config_free(cfg);
	refused("workers: 65\n", 1, 10, "workers: \"65\" is out of range (0-64)");
	refused("workers: two\n", 1, 10, "workers: \"two\" is not valid: not a whole number");
}

/* ---- timeouts.drain and timeouts.reload_revoke ----------------------------------------- */

/* timeouts.drain: how long SIGTERM waits for requests in flight; 0 means stop at once, which
 * no other timeout accepts. */
static unsigned drain_ms(const char *value)
{
	char yaml[128];
	snprintf(yaml, sizeof(yaml), "timeouts:\n  drain: %s\n", value);
	struct config *cfg = parse_ok(yaml);
	unsigned ms = cfg->drain_ms;
	config_free(cfg);
	return ms;
}

static void test_drain(void **state)
{
	struct config *cfg = parse_ok("workers: 1\n");
	assert_int_equal(cfg->drain_ms, 30000);
	config_free(cfg);
	assert_int_equal(drain_ms("5s"), 5000);
	assert_int_equal(drain_ms("1.5"), 1500);
	assert_int_equal(drain_ms("0"), 0);
	assert_int_equal(drain_ms("0s"), 0);
	assert_int_equal(drain_ms("0ms"), 0);
	refused("timeouts:\n  drain: -1s\n", 2, 10,
		"timeouts.drain: \"-1s\" is not a valid duration: must be greater than 0");
	refused("timeouts:\n  drain: 25h\n", 2, 10,
		"timeouts.drain: \"25h\" is not a valid duration: too long (at most 24h)");
	refused_prefix("timeouts:\n  drain: false\n", 2, 10, "timeouts.drain: expected");
}

/* timeouts.reload_revoke: how long a tunnel the reloaded policy denies stays open; 0 keeps
 * tunnels under the policy they were opened with. */
static void test_reload_revoke(void **state)
{
	struct config *cfg = parse_ok("workers: 1\n");
	assert_int_equal(cfg->reload_revoke_ms, 3000);
	config_free(cfg);
	cfg = parse_ok("timeouts:\n  reload_revoke: 250ms\n");
	assert_int_equal(cfg->reload_revoke_ms, 250);
	config_free(cfg);
	cfg = parse_ok("timeouts:\n  reload_revoke: 0\n");
	assert_int_equal(cfg->reload_revoke_ms, 0);
	config_free(cfg);
	refused("timeouts:\n  reload_revoke: soon\n", 2, 18,
		"timeouts.reload_revoke: \"soon\" is not a valid duration: not a duration (write "
		"e.g. 10s, 500ms, 5m or 0.5)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_durations),
	    cmocka_unit_test(test_duration_zero_refused),
	    cmocka_unit_test(test_duration_negative_refused),
	    cmocka_unit_test(test_duration_over_a_day_refused),
	    cmocka_unit_test(test_duration_trailing_garbage_refused),
	    cmocka_unit_test(test_duration_malformed_number_refused),
	    cmocka_unit_test(test_duration_below_a_millisecond_refused),
	    cmocka_unit_test(test_duration_wrong_type_refused),
	    cmocka_unit_test(test_limits_bounds),
	    cmocka_unit_test(test_limits_header_counts),
	    cmocka_unit_test(test_limits_strict_numbers),
	    cmocka_unit_test(test_workers),
	    cmocka_unit_test(test_max_connections_per_agent),
	    cmocka_unit_test(test_drain),
	    cmocka_unit_test(test_reload_revoke),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
