/* Tests src/parse/log_line.c: sluice's own log lines read back field for field, JSON escapes
 * decoded, unknown fields skipped, every refusal (each a separate assertion), cut lines reported
 * as "need more", and no read past the line (every input is an exact-size heap copy). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emit/log_json.h"
#include "parse/log_line.h"

#define BASE_FIELDS                                                                                \
	"\"host\":\"pypi.org\",\"port\":443,\"decision\":\"allow\",\"reason\":\"allowed\""

static struct log_line parsed;

/* Parses an exact-size heap copy, so that ASan catches any read past the line. */
static int parse_n(const char *text, size_t len, const char **detail)
{
	char *copy = malloc(len ? len : 1);
	assert_non_null(copy);
	memcpy(copy, text, len);
	int rc = log_line_parse(slice_make(copy, len), &parsed, detail);
	free(copy);
	return rc;
}

static int parse(const char *text)
{
	return parse_n(text, strlen(text), NULL);
}

static void assert_text(const struct log_line_text *t, const char *want)
{
	assert_int_equal(t->len, strlen(want));
	assert_memory_equal(t->bytes, want, t->len);
	assert_int_equal(t->bytes[t->len], '\0');
}

static void assert_malformed(const char *text)
{
	const char *detail = NULL;
	if (parse_n(text, strlen(text), &detail) != -1)
		fail_msg("accepted: %s", text);
	assert_non_null(detail);
	assert_int_equal(parsed.port, 0); /* *out is zeroed on failure */
	assert_int_equal(parsed.host.len, 0);
}

static void assert_need_more(const char *text)
{
	if (parse(text) != 0)
		fail_msg("not reported as cut: %s", text);
}

/* A line written by emit/log_json (the real format) reads back field for field. */
static void test_reads_log_json_output(void **state)
{
	char line[LOG_JSON_LINE_MAX];
	struct log_record rec = {
	    .ts_ms = 1732570000123,
	    .client = "127.0.0.1:51544",
	    .agent = "coder",
	    .method = SLICE_LIT("CONNECT"),
	    .host = SLICE_LIT("github.com"),
	    .port = 443,
	    .decision = "allow",
	    .reason = "tunnel_idle",
	    .rule = "allow: github.com",
	    .ip = "140.82.121.4",
	    .status = 200,
	    .bytes_up = 5120,
	    .bytes_down = 88211,
	    .duration_ms = 300412,
	};
	size_t len = log_json_format(&rec, line);

	assert_int_equal(parse_n(line, len, NULL), (int)len);
	assert_true(parsed.has_agent);
	assert_text(&parsed.agent, "coder");
	assert_text(&parsed.method, "CONNECT");
	assert_text(&parsed.host, "github.com");
	assert_int_equal(parsed.port, 443);
	assert_text(&parsed.decision, "allow");
	assert_text(&parsed.reason, "tunnel_idle");
	assert_text(&parsed.rule, "allow: github.com");
	assert_int_equal(parsed.status, 200);
}

/* "rule" tells a route's line from the others (emit/report). sluice writes rules of up to 300
 * bytes: a longer one than LOG_LINE_VALUE_MAX is kept cut, never refused. */
static void test_rule_is_kept_cut(void **state)
{
	char line[1200], value[LOG_LINE_VALUE_MAX + 200];

	assert_true(parse("{" BASE_FIELDS "}") > 0);
	assert_text(&parsed.rule, "");
	memcpy(value, "route: ", 7);
	memset(value + 7, 'a', sizeof(value) - 8);
	value[sizeof(value) - 1] = '\0';
	snprintf(line, sizeof(line), "{\"rule\":\"%s\"," BASE_FIELDS "}", value);
	assert_int_equal(parse(line), (int)strlen(line));
	assert_int_equal(parsed.rule.len, LOG_LINE_VALUE_MAX);
	assert_memory_equal(parsed.rule.bytes, value, LOG_LINE_VALUE_MAX);
	assert_int_equal(parsed.rule.bytes[LOG_LINE_VALUE_MAX], '\0');
	assert_text(&parsed.host, "pypi.org");
	/* What is kept is a prefix: a short piece after a long one that did not fit is not
	 * appended. */
	memset(value, 'b', LOG_LINE_VALUE_MAX - 1);
	value[LOG_LINE_VALUE_MAX - 1] = '\0';
	snprintf(line, sizeof(line), "{\"rule\":\"%s\\u00e9x\"," BASE_FIELDS "}", value);
	assert_true(parse(line) > 0);
	assert_int_equal(parsed.rule.len, LOG_LINE_VALUE_MAX - 1);
	/* The cut value is still validated whole. */
	snprintf(line, sizeof(line), "{\"rule\":\"%s\\q\"," BASE_FIELDS "}", value);
	assert_malformed(line);
	assert_malformed("{\"rule\":\"a\",\"rule\":\"b\"," BASE_FIELDS "}");
	assert_malformed("{\"rule\":1," BASE_FIELDS "}");
	assert_malformed("{\"rule\":null," BASE_FIELDS "}");
}

/* Issue 10 adds "id" and "event" after the fourteen fields, and a tunnel's open line. */
static void test_reads_event(void **state)
{
	char line[LOG_JSON_LINE_MAX];
	struct log_record rec = {
	    .client = "127.0.0.1:1",
	    .method = SLICE_LIT("CONNECT"),
	    .host = SLICE_LIT("github.com"),
	    .port = 443,
	    .decision = "allow",
	    .reason = "allowed",
	    .rule = "",
	    .ip = "",
	    .status = 200,
	    .id = 7,
	    .event = LOG_EVENT_OPEN,
	};
	size_t len = log_json_format(&rec, line);
	assert_int_equal(parse_n(line, len, NULL), (int)len);
	assert_text(&parsed.event, "open");
	rec.event = LOG_EVENT_END;
	rec.path = SLICE_LIT("/a/b");
	rec.host_raw = SLICE_LIT("GitHub.com");
	rec.user = SLICE_LIT("coder");
	len = log_json_format(&rec, line);
	assert_int_equal(parse_n(line, len, NULL), (int)len);
	assert_text(&parsed.event, "end");
	assert_text(&parsed.host, "github.com");
	/* Older logs have none. */
	assert_true(parse("{" BASE_FIELDS "}") > 0);
	assert_text(&parsed.event, "");
	assert_malformed("{\"event\":1," BASE_FIELDS "}");
	assert_malformed("{\"event\":\"open\",\"event\":\"end\"," BASE_FIELDS "}");
}

/* A path longer than a kept field may be is skipped like any unknown field. */
static void test_long_path_is_skipped(void **state)
{
	char line[LOG_JSON_LINE_MAX];
	static char path[LOG_JSON_PATH_MAX];
	memset(path, 'p', sizeof(path));
	struct log_record rec = {
	    .client = "127.0.0.1:1",
	    .method = SLICE_LIT("GET"),
	    .host = SLICE_LIT("pypi.org"),
	    .port = 80,
	    .decision = "allow",
	    .reason = "allowed",
	    .rule = "",
	    .ip = "",
	    .path = slice_make(path, sizeof(path)),
	};
	size_t len = log_json_format(&rec, line);
	assert_int_equal(parse_n(line, len, NULL), (int)len);
	assert_text(&parsed.host, "pypi.org");
}

/* Issue 4 adds "agent" after "client" and the "report" decision. */
static void test_reads_agent_and_report(void **state)
{
	const char *line =
	    "{\"ts\":\"2024-11-25T21:26:40.123Z\",\"client\":\"10.0.0.5:1\",\"agent\":\"coder\","
	    "\"method\":\"GET\",\"host\":\"files.pypi.org\",\"port\":80,\"decision\":\"report\","
	    "\"reason\":\"domain_not_allowed\",\"rule\":\"allow: no pattern "
	    "matches\",\"ip\":\"1.2.3.4\","
	    "\"status\":200,\"bytes_up\":0,\"bytes_down\":10,\"duration_ms\":2}\n";

	assert_int_equal(parse(line), (int)strlen(line));
	assert_true(parsed.has_agent);
	assert_text(&parsed.agent, "coder");
	assert_text(&parsed.host, "files.pypi.org");
	assert_int_equal(parsed.port, 80);
	assert_text(&parsed.decision, "report");
	assert_text(&parsed.reason, "domain_not_allowed");
}

/* Logs written before issue 4 have no "agent" field. */
static void test_agent_is_optional(void **state)
{
	assert_true(parse("{" BASE_FIELDS "}") > 0);
	assert_false(parsed.has_agent);
	assert_text(&parsed.agent, "");
	assert_true(parse("{\"agent\":\"\"," BASE_FIELDS "}") > 0);
	assert_true(parsed.has_agent);
	assert_text(&parsed.agent, "");
}

static void test_field_order_and_whitespace_are_free(void **state)
{
	const char *line =
	    " \t{ \"reason\" : \"allowed\" ,\"port\":\r\n8080, \"decision\":\"allow\","
	    "\"host\":\"x.example\" }\r\n";
	assert_int_equal(parse(line), (int)strlen(line));
	assert_int_equal(parsed.port, 8080);
	assert_text(&parsed.host, "x.example");
	assert_int_equal(parsed.status, 0); /* absent: 0 */
	assert_text(&parsed.method, "");
}

static void test_unknown_fields_are_skipped(void **state)
{
	const char *line = "{\"future\":true,\"other\":false,\"gone\":null,\"n\":123456789012,"
			   "\"s\":\"\\u00e9\\n\",\"dup\":1,\"dup\":2," BASE_FIELDS "}";
	assert_int_equal(parse(line), (int)strlen(line));
	assert_text(&parsed.host, "pypi.org");
}

static void test_escapes_are_decoded(void **state)
{
	assert_true(parse("{\"host\":\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\",\"port\":1,"
			  "\"decision\":\"x\",\"reason\":\"y\"}") > 0);
	assert_text(&parsed.host, "a\"b\\c/d\b\f\n\r\t");
	/* \u escapes are code points, written as UTF-8 (RFC 8259 §7, §8.1). */
	assert_true(parse("{\"host\":\"\\u0041\\u00e9\\u20ac\\ud83d\\ude00\",\"port\":1,"
			  "\"decision\":\"x\",\"reason\":\"y\"}") > 0);
	assert_text(&parsed.host, "A\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
}

static void test_escaped_nul_is_kept_in_the_length(void **state)
{
	assert_true(
	    parse("{\"host\":\"a\\u0000b\",\"port\":1,\"decision\":\"x\",\"reason\":\"y\"}") > 0);
	assert_int_equal(parsed.host.len, 3);
	assert_memory_equal(parsed.host.bytes, "a\0b", 3);
}

static void test_escaped_key_names_a_field(void **state)
{
	assert_true(parse("{\"\\u0068ost\":\"h.example\",\"port\":1,\"decision\":\"x\","
			  "\"reason\":\"y\"}") > 0);
	assert_text(&parsed.host, "h.example");
}

static void test_raw_utf8_is_kept(void **state)
{
	assert_true(parse("{\"agent\":\"caf\xc3\xa9\"," BASE_FIELDS "}") > 0);
	assert_text(&parsed.agent, "caf\xc3\xa9");
}

static void test_limits_are_inclusive(void **state)
{
	char line[600];
	char value[LOG_LINE_VALUE_MAX + 1];

	memset(value, 'a', LOG_LINE_VALUE_MAX);
	value[LOG_LINE_VALUE_MAX] = '\0';
	snprintf(
	    line, sizeof(line),
	    "{\"host\":\"%s\",\"port\":65535,\"status\":999,\"decision\":\"d\",\"reason\":\"r\"}",
	    value);
	assert_true(parse(line) > 0);
	assert_int_equal(parsed.host.len, LOG_LINE_VALUE_MAX);
	assert_int_equal(parsed.port, 65535);
	assert_int_equal(parsed.status, 999);
	assert_true(parse("{\"host\":\"\",\"port\":0,\"decision\":\"\",\"reason\":\"\"}") > 0);
}

static void test_refuses_what_is_not_one_flat_object(void **state)
{
	assert_malformed("[1]");
	assert_malformed("\"host\"");
	assert_malformed("x{" BASE_FIELDS "}");
	assert_malformed("{" BASE_FIELDS "}{}");
	assert_malformed("{" BASE_FIELDS "} x");
	assert_malformed("{" BASE_FIELDS ",}");
	assert_malformed("{," BASE_FIELDS "}");
	assert_malformed("{" BASE_FIELDS ",,\"a\":1}");
	assert_malformed("{" BASE_FIELDS " \"a\":1}");
	assert_malformed("{host:\"x\"," BASE_FIELDS "}");
	assert_malformed("{'host':'x'}");
	assert_malformed("{\"a\" 1," BASE_FIELDS "}");
	assert_malformed("{\"a\":{}," BASE_FIELDS "}");
	assert_malformed("{\"a\":[[]]," BASE_FIELDS "}");
	assert_malformed("{\"a\":[{}]," BASE_FIELDS "}");
	assert_malformed("{\"a\":[1,]," BASE_FIELDS "}");
	assert_malformed("{\"a\":[1 2]," BASE_FIELDS "}");
	assert_malformed("{\"a\":[," BASE_FIELDS "}");
	assert_malformed("{\"a\":tru," BASE_FIELDS "}");
	assert_malformed("{\"a\":True," BASE_FIELDS "}");
	assert_malformed("{\"a\":nulls," BASE_FIELDS "}");
	assert_malformed("{\"a\":," BASE_FIELDS "}");
	assert_malformed("{}");
}

/* A DNS listener's line: its name is the host, on no port; its answers array is skipped. */
static void test_reads_a_dns_line_as_its_name(void **state)
{
	static const char line[] =
	    "{\"ts\":\"2026-12-02T14:30:01.234Z\",\"client\":\"10.1.0.7:53211\",\"agent\":"
	    "\"research\",\"kind\":\"dns\",\"name\":\"pypi.org\",\"type\":\"A\",\"decision\":"
	    "\"allow\",\"reason\":\"allowed\",\"rule\":\"allow: pypi.org\",\"rcode\":\"NOERROR\","
	    "\"answers\":[\"151.101.0.223\",\"151.101.64.223\"],\"transport\":\"udp\","
	    "\"duration_ms\":0,\"id\":1842}";
	const char *detail = NULL;

	assert_int_equal(parse_n(line, strlen(line), &detail), (int)strlen(line));
	assert_true(log_line_is_dns(&parsed));
	assert_text(&parsed.host, "pypi.org");
	assert_text(&parsed.agent, "research");
	assert_text(&parsed.decision, "allow");
	assert_int_equal(parsed.port, 0);
	/* Without its name, a DNS line is not one of ours; nor is a request line without host. */
	static const char no_name[] = "{\"kind\":\"dns\",\"decision\":\"deny\",\"reason\":\"x\"}";
	assert_malformed(no_name);
	static const char empty_answers[] =
	    "{\"kind\":\"dns\",\"name\":\"a.test\",\"decision\":\"deny\",\"reason\":\"x\","
	    "\"answers\":[]}";
	assert_int_equal(parse_n(empty_answers, strlen(empty_answers), &detail),
			 (int)strlen(empty_answers));
	assert_text(&parsed.host, "a.test");
}

static void test_refuses_numbers_other_than_non_negative_integers(void **state)
{
	assert_malformed("{\"a\":-1," BASE_FIELDS "}");
	assert_malformed("{\"a\":1.5," BASE_FIELDS "}");
	assert_malformed("{\"a\":1e3," BASE_FIELDS "}");
	assert_malformed("{\"a\":1E3," BASE_FIELDS "}");
	assert_malformed("{\"a\":01," BASE_FIELDS "}");
	assert_malformed("{\"a\":+1," BASE_FIELDS "}");
	assert_malformed("{\"a\":18446744073709551616," BASE_FIELDS "}");
	assert_malformed("{\"a\":0x10," BASE_FIELDS "}");
}

static void test_refuses_out_of_range_port_and_status(void **state)
{
	assert_malformed("{\"host\":\"h\",\"port\":65536,\"decision\":\"d\",\"reason\":\"r\"}");
	assert_malformed("{\"status\":1000," BASE_FIELDS "}");
}

static void test_refuses_kept_fields_of_the_wrong_type(void **state)
{
	assert_malformed("{\"host\":\"h\",\"port\":\"443\",\"decision\":\"d\",\"reason\":\"r\"}");
	assert_malformed("{\"host\":1,\"port\":1,\"decision\":\"d\",\"reason\":\"r\"}");
	assert_malformed("{\"agent\":null," BASE_FIELDS "}");
	assert_malformed("{\"status\":\"200\"," BASE_FIELDS "}");
	assert_malformed("{\"decision\":true,\"host\":\"h\",\"port\":1,\"reason\":\"r\"}");
}

/* Two readers could take either copy of a duplicated field: refused, not guessed. */
static void test_refuses_a_kept_field_twice(void **state)
{
	assert_malformed("{\"host\":\"evil.example\"," BASE_FIELDS "}");
	assert_malformed("{\"agent\":\"a\",\"agent\":\"b\"," BASE_FIELDS "}");
	assert_malformed("{\"port\":80," BASE_FIELDS "}");
	assert_malformed("{\"\\u0068ost\":\"x\"," BASE_FIELDS "}");
}

static void test_refuses_missing_required_fields(void **state)
{
	assert_malformed("{\"port\":1,\"decision\":\"d\",\"reason\":\"r\"}");
	assert_malformed("{\"host\":\"h\",\"decision\":\"d\",\"reason\":\"r\"}");
	assert_malformed("{\"host\":\"h\",\"port\":1,\"reason\":\"r\"}");
	assert_malformed("{\"host\":\"h\",\"port\":1,\"decision\":\"d\"}");
}

static void test_refuses_a_value_too_long(void **state)
{
	char line[600];
	char value[LOG_LINE_VALUE_MAX + 2];

	memset(value, 'a', LOG_LINE_VALUE_MAX + 1);
	value[LOG_LINE_VALUE_MAX + 1] = '\0';
	snprintf(line, sizeof(line), "{\"agent\":\"%s\"," BASE_FIELDS "}", value);
	assert_malformed(line);
}

static void test_refuses_bad_strings(void **state)
{
	assert_malformed("{\"a\":\"x\ny\"," BASE_FIELDS "}");
	assert_malformed("{\"a\":\"x\ty\"," BASE_FIELDS "}");
	assert_malformed("{\"a\":\"\\x41\"," BASE_FIELDS "}");
	assert_malformed("{\"a\":\"\\'\"," BASE_FIELDS "}");
	assert_malformed("{\"a\":\"\\u12g4\"," BASE_FIELDS "}");
	assert_malformed("{\"a\":\"\\U0041\"," BASE_FIELDS "}");
}

static void test_refuses_lone_surrogates(void **state)
{
	assert_malformed("{\"a\":\"\\ud800\"," BASE_FIELDS "}");
	assert_malformed("{\"a\":\"\\ud800x\"," BASE_FIELDS "}");
	assert_malformed("{\"a\":\"\\ud800\\u0041\"," BASE_FIELDS "}");
	assert_malformed("{\"a\":\"\\udc00\"," BASE_FIELDS "}");
}

/* RFC 8259 §8.1 and RFC 3629 §4. */
static void test_refuses_invalid_utf8(void **state)
{
	assert_malformed("{\"a\":\"\x80\"," BASE_FIELDS "}");
	assert_malformed("{\"a\":\"\xc0\x80\"," BASE_FIELDS "}");
	assert_malformed("{\"a\":\"\xe0\x80\x80\"," BASE_FIELDS "}");
	assert_malformed("{\"a\":\"\xf0\x80\x80\x80\"," BASE_FIELDS "}");
	assert_malformed("{\"a\":\"\xed\xa0\x80\"," BASE_FIELDS "}");
	assert_malformed("{\"a\":\"\xf4\x90\x80\x80\"," BASE_FIELDS "}");
	assert_malformed("{\"a\":\"\xf5\x80\x80\x80\"," BASE_FIELDS "}");
	assert_malformed("{\"a\":\"\xc3x\"," BASE_FIELDS "}");
	assert_malformed("{\"a\":\"\xff\"," BASE_FIELDS "}");
}

static void test_refuses_a_line_longer_than_the_cap(void **state)
{
	size_t len = LOG_LINE_MAX + 1;
	char *line = malloc(len);
	const char *detail = NULL;
	const char *head = "{" BASE_FIELDS ",\"pad\":\"";

	assert_non_null(line);
	memset(line, 'a', len);
	memcpy(line, head, strlen(head));
	memcpy(line + len - 2, "\"}", 2);
	assert_int_equal(log_line_parse(slice_make(line, len), &parsed, &detail), -1);
	/* One byte shorter fits. */
	memcpy(line + len - 3, "\"}", 2);
	assert_int_equal(log_line_parse(slice_make(line, len - 1), &parsed, &detail), (int)len - 1);
	free(line);
}

static void test_cut_lines_need_more(void **state)
{
	const char *full = "{\"agent\":\"a\\u00e9\xc3\xa9\",\"future\":true,\"host\":\"h\","
			   "\"port\":443,\"decision\":\"d\",\"reason\":\"r\"}";
	size_t len = strlen(full);

	assert_need_more("");
	assert_need_more("  \r\n");
	/* Every proper prefix is a cut line, never malformed, never a success. */
	for (size_t i = 0; i < len; i++)
		if (parse_n(full, i, NULL) != 0)
			fail_msg("prefix of %zu bytes not reported as cut", i);
	assert_int_equal(parse_n(full, len, NULL), (int)len);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_reads_log_json_output),
	    cmocka_unit_test(test_rule_is_kept_cut),
	    cmocka_unit_test(test_reads_agent_and_report),
	    cmocka_unit_test(test_reads_event),
	    cmocka_unit_test(test_long_path_is_skipped),
	    cmocka_unit_test(test_agent_is_optional),
	    cmocka_unit_test(test_field_order_and_whitespace_are_free),
	    cmocka_unit_test(test_unknown_fields_are_skipped),
	    cmocka_unit_test(test_escapes_are_decoded),
	    cmocka_unit_test(test_escaped_nul_is_kept_in_the_length),
	    cmocka_unit_test(test_escaped_key_names_a_field),
	    cmocka_unit_test(test_raw_utf8_is_kept),
	    cmocka_unit_test(test_limits_are_inclusive),
	    cmocka_unit_test(test_refuses_what_is_not_one_flat_object),
	    cmocka_unit_test(test_reads_a_dns_line_as_its_name),
	    cmocka_unit_test(test_refuses_numbers_other_than_non_negative_integers),
	    cmocka_unit_test(test_refuses_out_of_range_port_and_status),
	    cmocka_unit_test(test_refuses_kept_fields_of_the_wrong_type),
	    cmocka_unit_test(test_refuses_a_kept_field_twice),
	    cmocka_unit_test(test_refuses_missing_required_fields),
	    cmocka_unit_test(test_refuses_a_value_too_long),
	    cmocka_unit_test(test_refuses_bad_strings),
	    cmocka_unit_test(test_refuses_lone_surrogates),
	    cmocka_unit_test(test_refuses_invalid_utf8),
	    cmocka_unit_test(test_refuses_a_line_longer_than_the_cap),
	    cmocka_unit_test(test_cut_lines_need_more),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
