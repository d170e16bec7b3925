/* Tests for config/config_routes: routes with host, upstream, agents, rewrite and ca_file, every
 * refusal with its line:column. */
#include "config_test.h"

/* ---- routes: valid ----------------------------------------------------------------------- */

static const char routes_yaml[] = "routes:\n"
				  "  - host: Search.Internal.\n"
				  "    upstream: \"http://searxng:8080\"\n"
				  "    agents: [research, research, default]\n"
				  "    rewrite: {from: \"/api/\", to: \"/\"}\n"
				  "    headers:\n"
				  "      set:\n"
				  "        Authorization: {env: SEARX_TOKEN}\n"
				  "        X-Forwarded-By: sluice\n"
				  "        X-Api-Key: {file: /run/secrets/key}\n"
				  "        X-Count: 5\n"
				  "      remove: [Cookie, X-Debug, cookie]\n"
				  "  - host: wiki.internal\n"
				  "    upstream: \"https://[fd00::5]:8443/wiki/v1/\"\n"
				  "    ca_file: /etc/ssl/internal-ca.pem\n"
				  "agents:\n"
				  "  - name: research\n"
				  "    match: {source: [\"10.1.0.0/24\"]}\n"
				  "  - name: default\n";

static void test_routes_every_field(void **state)
{
	struct config *cfg = parse_ok(routes_yaml);
	assert_int_equal(cfg->n_routes, 2);

	const struct route *rt = &cfg->routes[0];
	assert_string_equal(rt->host, "search.internal");
	assert_int_equal(rt->line, 2);
	assert_false(rt->tls);
	assert_string_equal(rt->upstream_host, "searxng");
	assert_int_equal(rt->upstream_port, 8080);
	assert_string_equal(rt->upstream_base, "");
	assert_string_equal(rt->rewrite_from, "/api/");
	assert_string_equal(rt->rewrite_to, "/");
	assert_int_equal(rt->n_agents, 2);
	assert_string_equal(rt->agents[0], "research");
	assert_string_equal(rt->agents[1], "default");
	assert_int_equal(rt->n_set_headers, 4);
	assert_string_equal(rt->set_headers[0].name, "Authorization");
	assert_int_equal(rt->set_headers[0].kind, ROUTE_VALUE_ENV);
	assert_string_equal(rt->set_headers[0].source, "SEARX_TOKEN");
	assert_false(rt->set_headers[0].ready);
	assert_string_equal(rt->set_headers[1].name, "X-Forwarded-By");
	assert_int_equal(rt->set_headers[1].kind, ROUTE_VALUE_LITERAL);
	assert_string_equal(rt->set_headers[1].source, "sluice");
	assert_string_equal(rt->set_headers[1].value, "sluice");
	assert_true(rt->set_headers[1].ready);
	assert_int_equal(rt->set_headers[2].kind, ROUTE_VALUE_FILE);
	assert_string_equal(rt->set_headers[2].source, "/run/secrets/key");
	assert_false(rt->set_headers[2].ready);
	assert_string_equal(rt->set_headers[3].value, "5");
	assert_int_equal(rt->n_remove_headers, 2);
	assert_string_equal(rt->remove_headers[0], "Cookie");
	assert_string_equal(rt->remove_headers[1], "X-Debug");
	assert_string_equal(rt->ca_file, "");

	rt = &cfg->routes[1];
	assert_string_equal(rt->host, "wiki.internal");
	assert_true(rt->tls);
	assert_string_equal(rt->upstream_host, "fd00::5");
	assert_int_equal(rt->upstream_port, 8443);
	assert_string_equal(rt->upstream_base, "/wiki/v1");
	assert_string_equal(rt->rewrite_from, "");
	assert_int_equal(rt->n_agents, 0);
	assert_int_equal(rt->n_set_headers, 0);
	assert_string_equal(rt->ca_file, "/etc/ssl/internal-ca.pem");
	config_free(cfg);
}

static void assert_upstream(const char *url, bool tls, const char *host, unsigned port,
			    const char *base)
{
	char yaml[256];
	snprintf(yaml, sizeof(yaml), "routes: [{host: r.internal, upstream: \"%s\"}]\n", url);
	struct config *cfg = parse_ok(yaml);
	assert_int_equal(cfg->routes[0].tls, tls);
	assert_string_equal(cfg->routes[0].upstream_host, host);
	assert_int_equal(cfg->routes[0].upstream_port, port);
	assert_string_equal(cfg->routes[0].upstream_base, base);
	config_free(cfg);
}

static void test_route_upstream_forms(void **state)
{
	assert_upstream("http://searxng", false, "searxng", 80, "");
	assert_upstream("https://searxng", true, "searxng", 443, "");
	assert_upstream("HTTP://SearXNG.Example:8080/", false, "searxng.example", 8080, "");
	assert_upstream("http://10.0.0.5:8080/searx", false, "10.0.0.5", 8080, "/searx");
	assert_upstream("https://[::1]", true, "::1", 443, "");
	assert_upstream("https://[fd00::1]:9443/a/b/", true, "fd00::1", 9443, "/a/b");
	assert_upstream("http://h/a%20b/~x", false, "h", 80, "/a%20b/~x");
}

/* The upstream host is parsed once, at load, into what a request connects to: a name to resolve
 * or an address, and the port. */
static void assert_upstream_parsed(const char *url, enum host_kind kind, const char *name,
				   unsigned port)
{
	char yaml[256], text[IP_ADDR_TEXT_MAX];
	snprintf(yaml, sizeof(yaml), "routes: [{host: r.internal, upstream: \"%s\"}]\n", url);
	struct config *cfg = parse_ok(yaml);
	const struct authority *up = &cfg->routes[0].upstream;
	assert_int_equal(up->kind, kind);
	assert_string_equal(up->name, name);
	assert_int_equal(up->name_len, strlen(name));
	assert_int_equal(up->port, port);
	if (kind != HOST_NAME) {
		ip_addr_format(&up->ip, text);
		assert_string_equal(text, name);
	}
	assert_string_equal(up->name, cfg->routes[0].upstream_host);
	assert_int_equal(up->port, cfg->routes[0].upstream_port);
	config_free(cfg);
}

static void test_route_upstream_parsed_once(void **state)
{
	assert_upstream_parsed("http://SearXNG.Example.:8080/x", HOST_NAME, "searxng.example",
			       8080);
	assert_upstream_parsed("https://searxng", HOST_NAME, "searxng", 443);
	assert_upstream_parsed("http://10.0.0.5", HOST_IPV4, "10.0.0.5", 80);
	/* An IPv6 upstream: its text ("fd00::5") is not an authority any more, so it must not
	 * have to be parsed again. */
	assert_upstream_parsed("https://[fd00::5]:8443/wiki", HOST_IPV6, "fd00::5", 8443);
	assert_upstream_parsed("http://[::1]", HOST_IPV6, "::1", 80);
}

static void test_route_to_implicit_default(void **state)
{
	struct config *cfg =
	    parse_ok("routes: [{host: s.internal, upstream: \"http://s\", agents: [default]}]\n");
	assert_int_equal(cfg->n_routes, 1);
	assert_implicit_default_agent_only(cfg);
	config_free(cfg);
}

static void test_routes_empty_list(void **state)
{
	struct config *cfg = parse_ok("routes: []\n");
	assert_int_equal(cfg->n_routes, 0);
	config_free(cfg);
}

/* ---- routes: refused --------------------------------------------------------------------- */

static void upstream_refused(const char *url, const char *detail)
{
	char yaml[512], message[256];
	snprintf(yaml, sizeof(yaml), "routes:\n  - host: r.internal\n    upstream: \"%s\"\n", url);
	snprintf(message, sizeof(message),
		 "routes[0].upstream: \"%s\" is not a valid upstream URL: %s", url, detail);
	refused(yaml, 3, 15, message);
}

static void test_route_upstream_refused(void **state)
{
	upstream_refused("ftp://files", "the URL must start with http:// or https://");
	upstream_refused("searxng:8080", "the URL must start with http:// or https://");
	upstream_refused("http://user:pw@searxng",
			 "userinfo (user@) is not allowed; inject credentials with headers.set");
	upstream_refused("http://searxng/search?format=json", "a query (?...) is not allowed");
	upstream_refused("http://searxng/#top", "a fragment (#...) is not allowed");
	upstream_refused("http://", "the host is missing");
	upstream_refused("https:///path", "the host is missing");
	upstream_refused("http://0177.0.0.1",
			 "write an IPv4 address as a dotted quad without leading zeros");
	upstream_refused("http://h/a/../b",
			 "dot segments (\".\", \"..\") are not allowed in the path");
	upstream_refused("http://h/a//b", "empty path segments (\"//\") are not allowed");
	upstream_refused("http://h/a%2", "'%' must be followed by two hex digits");
	upstream_refused("http://h/a b", "the path holds a character that must be percent-encoded "
					 "(RFC 3986 section 3.3)");
}

static void test_route_upstream_port_refused(void **state)
{
	refused_prefix("routes: [{host: r.internal, upstream: \"http://h:0\"}]\n", 1, 39,
		       "routes[0].upstream: \"http://h:0\" is not a valid upstream URL: ");
	refused_prefix("routes: [{host: r.internal, upstream: \"http://h:65536\"}]\n", 1, 39,
		       "routes[0].upstream: \"http://h:65536\" is not a valid upstream URL: ");
	refused_prefix("routes: [{host: r.internal, upstream: \"http://[::1\"}]\n", 1, 39,
		       "routes[0].upstream: \"http://[::1\" is not a valid upstream URL: ");
}

static void test_route_host_refused(void **state)
{
	refused(
	    "routes: [{host: 10.0.0.1, upstream: \"http://h\"}]\n", 1, 17,
	    "routes[0].host: \"10.0.0.1\" is an IP address; a route maps a name that agents use "
	    "(e.g. search.internal)");
	refused("routes: [{host: \"[::1]\", upstream: \"http://h\"}]\n", 1, 17,
		"routes[0].host: \"[::1]\" is an IP address; a route maps a name that agents use "
		"(e.g. search.internal)");
	refused_prefix("routes: [{host: \"s.internal:80\", upstream: \"http://h\"}]\n", 1, 17,
		       "routes[0].host: \"s.internal:80\" is not a valid host name: ");
	refused_prefix("routes: [{host: \"bad_host!\", upstream: \"http://h\"}]\n", 1, 17,
		       "routes[0].host: \"bad_host!\" is not a valid host name: ");
}

static void test_route_host_duplicate_refused(void **state)
{
	refused("routes:\n"
		"  - {host: s.internal, upstream: \"http://a\"}\n"
		"  - {host: S.Internal., upstream: \"http://b\"}\n",
		3, 12, "routes[1].host: \"S.Internal.\" is already routed (at 2:12)");
}

static void test_route_required_keys(void **state)
{
	refused("routes:\n  - upstream: \"http://h\"\n", 2, 5,
		"routes[0]: host is required (the name agents use, e.g. search.internal)");
	refused("routes:\n  - host: s.internal\n", 2, 5,
		"routes[0]: upstream is required (e.g. \"http://searxng:8080\")");
	refused("routes: [s.internal]\n", 1, 10,
		"routes[0]: expected a route (a mapping with host and upstream), got a string");
}

static void test_route_unknown_key_refused(void **state)
{
	route_refused("hosts: x", 5,
		      "unknown key \"hosts\" in routes[0] (valid: host, upstream, agents, rewrite, "
		      "headers, ca_file)");
	/* a misspelt required key: both facts are reported */
	assert_null(parse("routes:\n  - host: r.internal\n    upstrem: \"http://h\"\n"));
	assert_int_equal(errs.count, 2);
	assert_error(0, 2, 5, "routes[0]: upstream is required (e.g. \"http://searxng:8080\")");
	assert_error(
	    1, 3, 5,
	    "unknown key \"upstrem\" in routes[0] (valid: host, upstream, agents, rewrite, "
	    "headers, ca_file)");
}

static void test_route_unknown_agent_refused(void **state)
{
	refused("routes: [{host: s.internal, upstream: \"http://s\", agents: [research]}]\n", 1, 60,
		"routes[0].agents[0]: no agent is named \"research\" (without an agents list the "
		"only agent is \"default\")");
	refused("routes:\n"
		"  - host: s.internal\n"
		"    upstream: \"http://s\"\n"
		"    agents: [research, coder]\n"
		"agents:\n"
		"  - name: research\n"
		"    match: {source: [10.0.0.1]}\n",
		4, 24, "routes[0].agents[1]: no agent is named \"coder\"");
	refused("agents: [{name: a, match: {token_env: T}}]\n"
		"routes: [{host: s.internal, upstream: \"http://s\", agents: [default]}]\n",
		2, 60, "routes[0].agents[0]: no agent is named \"default\"");
	refused("routes: [{host: s.internal, upstream: \"http://s\", agents: [\"no such\"]}]\n", 1,
		60, "routes[0].agents[0]: no agent is named \"no such\"");
}

static void test_route_agents_empty_refused(void **state)
{
	route_refused("agents: []", 13,
		      "routes[0].agents: the list is empty, so no agent could use the route (leave "
		      "agents out to let every agent use it)");
}

static void test_route_ca_file_refused(void **state)
{
	refused("routes:\n"
		"  - host: s.internal\n"
		"    ca_file: /etc/ca.pem\n"
		"    upstream: \"http://s\"\n",
		3, 14, "routes[0].ca_file: only an https:// upstream uses a CA file");
	refused("routes:\n"
		"  - host: s.internal\n"
		"    upstream: \"https://s\"\n"
		"    ca_file: ca.pem\n",
		4, 14,
		"routes[0].ca_file: \"ca.pem\" is not a valid file path: must be an absolute path "
		"(starting with '/')");
}

static void test_route_rewrite_refused(void **state)
{
	route_refused("rewrite: {from: /api/}", 14, "routes[0].rewrite: set both from and to");
	route_refused(
	    "rewrite: {from: api, to: /}", 21,
	    "routes[0].rewrite.from: \"api\" is not a valid path prefix: a path must start "
	    "with '/'");
	route_refused("rewrite: {from: /a, to: \"/b?c\"}", 29,
		      "routes[0].rewrite.to: \"/b?c\" is not a valid path prefix: the path holds a "
		      "character that must be percent-encoded (RFC 3986 section 3.3)");
	route_refused("rewrite: /api/", 14,
		      "routes[0].rewrite: expected a mapping with keys from, to, got a string");
}

static void test_too_many_routes_refused(void **state)
{
	size_t size = (CONFIG_MAX_ROUTES + 2) * 64 + 64;
	char *yaml = malloc(size);
	size_t o = 0;
	assert_non_null(yaml);
	o += (size_t)snprintf(yaml + o, size - o, "routes:\n");
	for (int i = 0; i <= CONFIG_MAX_ROUTES; i++)
		o += (size_t)snprintf(yaml + o, size - o,
				      "- {host: r%d.internal, upstream: \"http://h\"}\n", i);
	refused(yaml, CONFIG_MAX_ROUTES + 2, 3, "routes[256]: too many routes (at most 256)");
	free(yaml);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_routes_every_field),
	    cmocka_unit_test(test_route_upstream_forms),
	    cmocka_unit_test(test_route_upstream_parsed_once),
	    cmocka_unit_test(test_route_to_implicit_default),
	    cmocka_unit_test(test_routes_empty_list),
	    cmocka_unit_test(test_route_upstream_refused),
	    cmocka_unit_test(test_route_upstream_port_refused),
	    cmocka_unit_test(test_route_host_refused),
	    cmocka_unit_test(test_route_host_duplicate_refused),
	    cmocka_unit_test(test_route_required_keys),
	    cmocka_unit_test(test_route_unknown_key_refused),
	    cmocka_unit_test(test_route_unknown_agent_refused),
	    cmocka_unit_test(test_route_agents_empty_refused),
	    cmocka_unit_test(test_route_ca_file_refused),
	    cmocka_unit_test(test_route_rewrite_refused),
	    cmocka_unit_test(test_too_many_routes_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
