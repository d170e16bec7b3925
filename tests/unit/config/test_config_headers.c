/* Tests for config/config_headers: routes[].headers set and remove, the fields sluice keeps for
 * itself, values that must not be quoted back. */
#include "config_test.h"

/* ---- routes[].headers ------------------------------------------------------------------ */

static void header_refused(const char *headers, int column, const char *message)
{
	char fields[256];
	snprintf(fields, sizeof(fields), "headers: %s", headers);
	route_refused(fields, column, message);
}

static void test_route_reserved_headers_refused(void **state)
{
	static const char framing[] =
	    "it frames the message (RFC 9112 section 6); sluice writes it";
	static const char hop[] =
	    "it is hop-by-hop (RFC 9110 section 7.6.1); sluice manages it on each connection";
	static const char proxy[] = "Proxy-* fields belong to the hop between the agent and sluice "
				    "and are never forwarded";
	static const struct {
		const char *name, *why;
	} cases[] = {
	    {"Host", "sluice sets Host from the upstream URL"},
	    {"host", "sluice sets Host from the upstream URL"},
	    {"Content-Length", framing},
	    {"Transfer-Encoding", framing},
	    {"Trailer", framing},
	    {"Connection", hop},
	    {"Keep-Alive", hop},
	    {"TE", hop},
	    {"Upgrade", hop},
	    {"Proxy-Authorization", proxy},
	    {"proxy-connection", proxy},
	};
	char headers[128], message[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(headers, sizeof(headers), "{set: {%s: x}}", cases[i].name);
		snprintf(message, sizeof(message),
			 "routes[0].headers.set: \"%s\" cannot be set or removed: %s",
			 cases[i].name, cases[i].why);
		header_refused(headers, 21, message);
		snprintf(headers, sizeof(headers), "{remove: [%s]}", cases[i].name);
		snprintf(message, sizeof(message),
			 "routes[0].headers.remove[0]: \"%s\" cannot be set or removed: %s",
			 cases[i].name, cases[i].why);
		header_refused(headers, 24, message);
	}
}

static void test_route_header_name_refused(void **state)
{
	header_refused("{set: {\"X Bad\": x}}", 21,
		       "routes[0].headers.set: \"X Bad\" is not a header name (letters, digits and "
		       "!#$%&'*+-.^_`|~; RFC 9110 section 5.1)");
	header_refused(
	    "{remove: [\"X:Bad\"]}", 24,
	    "routes[0].headers.remove[0]: \"X:Bad\" is not a header name (letters, digits "
	    "and !#$%&'*+-.^_`|~; RFC 9110 section 5.1)");
	header_refused("{set: {[a]: x}}", 21,
		       "routes[0].headers.set: keys must be strings, got a list");
}

static void test_route_header_twice_refused(void **state)
{
	header_refused("{set: {X-A: a, x-a: b}}", 29,
		       "routes[0].headers.set: \"x-a\" is set twice (header names are "
		       "case-insensitive)");
	header_refused(
	    "{set: {X-A: a}, remove: [x-A]}", 39,
	    "routes[0].headers.remove[0]: \"x-A\" is also in set; a header the route sets "
	    "already replaces what the agent sent");
	header_refused("{remove: [x-A], set: {X-A: a}}", 36,
		       "routes[0].headers.set: \"X-A\" is also in remove; a header the route sets "
		       "already replaces what the agent sent");
}

static void test_route_header_value_refused(void **state)
{
	header_refused("{set: {X-A: \"a\\r\\nX-B: b\"}}", 26,
		       "routes[0].headers.set.X-A: byte 2 (0x0d) of the value is not allowed "
		       "(printable ASCII, spaces and tabs only; RFC 9110 section 5.5)");
	header_refused("{set: {X-A: \"a\\nb\"}}", 26,
		       "routes[0].headers.set.X-A: byte 2 (0x0a) of the value is not allowed "
		       "(printable ASCII, spaces and tabs only; RFC 9110 section 5.5)");
	header_refused("{set: {X-A: \" a\"}}", 26,
		       "routes[0].headers.set.X-A: the value begins or ends with a space or tab, "
		       "which would be stripped (RFC 9110 section 5.5)");
	header_refused("{set: {X-A: }}", 26,
		       "routes[0].headers.set.X-A: expected a header value (text, {env: NAME} or "
		       "{file: /path}), got an empty value");
	header_refused("{set: {X-A: [a]}}", 26,
		       "routes[0].headers.set.X-A: expected a header value (text, {env: NAME} or "
		       "{file: /path}), got a list");
	header_refused("{set: {X-A: {}}}", 26,
		       "routes[0].headers.set.X-A: expected {env: NAME} or {file: /path}, got an "
		       "empty mapping");
	header_refused("{set: {X-A: {env: A, file: /a}}}", 26,
		       "routes[0].headers.set.X-A: give one of env and file, not both");
	header_refused("{set: {X-A: {env: \"A B\"}}}", 32,
		       "routes[0].headers.set.X-A.env: \"A B\" is not an environment variable name "
		       "(letters, digits and '_', not starting with a digit)");
	header_refused("{set: {X-A: {file: a}}}", 33,
		       "routes[0].headers.set.X-A.file: \"a\" is not a valid file path: must be an "
		       "absolute path (starting with '/')");
	header_refused("{set: {X-A: {vault: a}}}", 27,
		       "unknown key \"vault\" in routes[0].headers.set.X-A (valid: env, file)");
}

static void test_route_header_value_secret_not_quoted(void **state)
{
	assert_null(parse("routes: [{host: r.internal, upstream: \"http://h\", headers: {set: "
			  "{Authorization: \"Bearer s3cret\\u0001\"}}}]\n"));
	assert_int_equal(errs.count, 1);
	assert_null(strstr(errs.items[0].message, "s3cret"));
}

static void test_route_too_many_headers_refused(void **state)
{
	char headers[512] = "{set: {";
	for (int i = 0; i <= ROUTE_MAX_HEADERS; i++)
		snprintf(headers + strlen(headers), sizeof(headers) - strlen(headers),
			 "%sX-%02d: v", i ? ", " : "", i);
	strcat(headers, "}}");
	header_refused(headers, 21 + 9 * ROUTE_MAX_HEADERS,
		       "routes[0].headers.set: too many headers (at most 16)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_route_reserved_headers_refused),
	    cmocka_unit_test(test_route_header_name_refused),
	    cmocka_unit_test(test_route_header_twice_refused),
	    cmocka_unit_test(test_route_header_value_refused),
	    cmocka_unit_test(test_route_header_value_secret_not_quoted),
	    cmocka_unit_test(test_route_too_many_headers_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
