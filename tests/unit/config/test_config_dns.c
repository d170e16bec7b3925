/* Tests for config/config_dns and the DNS keys of config/config_listen: listen.dns,
 * listen.transparent_http and listen.transparent_tls, the dns: section at the top level and in
 * agents[] (every key, its default, what an agent inherits), every refusal with its line:column,
 * and the checks across the file (overlapping listeners, proxy answers without a transparent
 * listener). */
#include "config_test.h"

#include "policy/dns_policy.h"

static struct policy_dns effective(const struct config *cfg, const struct agent *a)
{
	struct policy_scope scope = {.rules = &cfg->rules, .base = &cfg->base, .agent = a};
	struct policy_dns dns;

	memset(&dns, 0xa5, sizeof(dns));
	policy_scope_dns(&scope, &dns);
	return dns;
}

static bool listener(const struct config *cfg, const char *addr, uint16_t port)
{
	struct ip_addr a;
	assert_int_equal(authority_parse_ip_strict(slice_from_cstr(addr), &a), 0);
	for (unsigned i = 0; i < cfg->rules.n_listeners; i++)
		if (cfg->rules.listeners[i].port == port &&
		    ip_addr_eq(&cfg->rules.listeners[i].addr, &a))
			return true;
	return false;
}

/* ---- listen.dns, listen.transparent_* ------------------------------------------------------ */

static void test_listen_dns_defaults_to_none(void **state)
{
	struct config *cfg = parse_ok("");
	assert_int_equal(cfg->n_listen_dns, 0);
	assert_int_equal(cfg->n_listen_transparent_http, 0);
	assert_int_equal(cfg->n_listen_transparent_tls, 0);
	assert_int_equal(cfg->rules.n_listeners, 1);
	config_free(cfg);
}

static void test_listen_dns_and_transparent(void **state)
{
	struct config *cfg = parse_ok("listen:\n"
				      "  dns: 10.0.0.5:53\n"
				      "  transparent_http: [\"10.0.0.5:80\", \"[fd00::5]:80\"]\n"
				      "  transparent_tls: \"[fd00::5]:443\"\n"
				      "  admin: 127.0.0.1:9090\n");
	assert_int_equal(cfg->n_listen_dns, 1);
	assert_v4(&cfg->listen_dns[0].addr, 10, 0, 0, 5);
	assert_int_equal(cfg->listen_dns[0].port, 53);
	assert_int_equal(cfg->n_listen_transparent_http, 2);
	assert_v4(&cfg->listen_transparent_http[0].addr, 10, 0, 0, 5);
	assert_int_equal(cfg->listen_transparent_http[0].port, 80);
	assert_int_equal(cfg->listen_transparent_http[1].addr.family, IP_V6);
	assert_int_equal(cfg->n_listen_transparent_tls, 1);
	assert_int_equal(cfg->listen_transparent_tls[0].port, 443);
	/* The default http listener, admin, then the new ones: each is a loop target. */
	assert_int_equal(cfg->rules.n_listeners, 6);
	assert_true(listener(cfg, "127.0.0.1", 3128));
	assert_true(listener(cfg, "127.0.0.1", 9090));
	assert_true(listener(cfg, "10.0.0.5", 53));
	assert_true(listener(cfg, "10.0.0.5", 80));
	assert_true(listener(cfg, "fd00::5", 80));
	assert_true(listener(cfg, "fd00::5", 443));
	config_free(cfg);
}

/* listen.http resets the listeners as it is read: the others must survive coming first. */
static void test_listen_dns_before_http(void **state)
{
	struct config *cfg = parse_ok("listen:\n"
				      "  dns: [\"127.0.0.1:53\", \"[::1]:53\"]\n"
				      "  http: 127.0.0.1:8080\n");
	assert_int_equal(cfg->n_listen_dns, 2);
	assert_int_equal(cfg->rules.n_listeners, 3);
	assert_true(listener(cfg, "127.0.0.1", 8080));
	assert_true(listener(cfg, "127.0.0.1", 53));
	assert_true(listener(cfg, "::1", 53));
	assert_false(listener(cfg, "127.0.0.1", 3128));
	config_free(cfg);
}

/* Same port on another address, or the same address on another port, is no overlap; nor are the
 * two families' wildcards. */
static void test_listen_neighbours_do_not_overlap(void **state)
{
	struct config *cfg = parse_ok("listen:\n"
				      "  http: 0.0.0.0:3128\n"
				      "  dns: [\"0.0.0.0:53\", \"[::]:3128\"]\n"
				      "  transparent_http: 127.0.0.1:80\n"
				      "  transparent_tls: 127.0.0.2:80\n");
	assert_int_equal(cfg->n_listen_dns, 2);
	config_free(cfg);
}

static void test_listen_dns_port_required(void **state)
{
	refused("listen:\n  dns: 10.0.0.5\n", 2, 8,
		"listen.dns: \"10.0.0.5\" is not a valid listen address: a port is required, e.g. "
		"127.0.0.1:3128 or [::1]:3128");
}

/* sluice would ask itself: the same address, or a wildcard listener and its loopback. */
static void test_listen_dns_is_not_its_own_resolver(void **state)
{
	refused("listen:\n  dns: \"127.0.0.1:5300\"\nresolver:\n  servers: [\"127.0.0.1:5300\"]\n",
		2, 8,
		"listen.dns: resolver.servers[0] (127.0.0.1:5300) is this listener: sluice would "
		"ask itself; name the upstream DNS servers in resolver.servers");
	refused(
	    "listen:\n  dns: [\"10.0.0.5:53\", \"[::]:53\"]\nresolver:\n  servers: [\"10.0.0.2\", "
	    "\"[::1]\"]\n",
	    2, 24,
	    "listen.dns[1]: resolver.servers[1] ([::1]:53) is this listener: sluice would ask "
	    "itself; name the upstream DNS servers in resolver.servers");
	/* Another port, another address, or systemd-resolved's stub beside a wildcard: fine. */
	const char *ok[] = {
	    "listen:\n  dns: \"127.0.0.1:5300\"\nresolver:\n  servers: [\"127.0.0.1:5353\"]\n",
	    "listen:\n  dns: \"10.0.0.5:53\"\nresolver:\n  servers: [\"10.0.0.2\"]\n",
	    "listen:\n  dns: \"0.0.0.0:53\"\nresolver:\n  servers: [\"127.0.0.53\"]\n",
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		struct config *cfg = config_parse(ok[i], strlen(ok[i]), &errs);
		assert_non_null(cfg);
		config_free(cfg);
	}
}

static void test_listen_transparent_refusals(void **state)
{
	refused("listen:\n  transparent_tls: [\"10.0.0.5:443\", \"10.0.0.5:443\"]\n", 2, 37,
		"listen.transparent_tls[1]: \"10.0.0.5:443\" is listed twice (first at 2:21)");
	refused("listen:\n  transparent_http: []\n", 2, 21,
		"listen.transparent_http: the list is empty; give at least one address or leave "
		"it out");
	refused("listen:\n  dns: {a: 1}\n", 2, 8,
		"listen.dns: expected a list of addresses, got a mapping");
	refused("listen:\n  dns: [127.0.0.1:1, 127.0.0.1:2, 127.0.0.1:3, 127.0.0.1:4, "
		"127.0.0.1:5, 127.0.0.1:6, 127.0.0.1:7, 127.0.0.1:8, 127.0.0.1:9]\n",
		2, 113, "listen.dns[8]: too many listen addresses (at most 8)");
}

static void test_listen_dns_overlaps_http(void **state)
{
	refused("listen:\n"
		"  http: [\"127.0.0.1:3128\", \"10.0.0.5:53\"]\n"
		"  dns: [\"10.0.0.5:5353\", \"10.0.0.5:53\"]\n",
		3, 26,
		"listen.dns[1]: \"10.0.0.5:53\" overlaps the listen.http address at 2:28; each "
		"listener needs an address and port of its own");
	/* The default listen.http address has no position. */
	refused("listen:\n  dns: 127.0.0.1:3128\n", 2, 8,
		"listen.dns: \"127.0.0.1:3128\" overlaps the default listen.http address "
		"127.0.0.1:3128; each listener needs an address and port of its own");
	/* A wildcard of the same family overlaps every address on its port, either way round. */
	refused("listen:\n  dns: \"[::1]:3128\"\n  http: \"[::]:3128\"\n", 2, 8,
		"listen.dns: \"[::1]:3128\" overlaps the listen.http address at 3:9; each listener "
		"needs an address and port of its own");
}

static void test_listen_kinds_overlap_each_other(void **state)
{
	refused("listen:\n  admin: 127.0.0.1:9090\n  transparent_http: 0.0.0.0:9090\n", 3, 21,
		"listen.transparent_http: \"0.0.0.0:9090\" overlaps the listen.admin address at "
		"2:10; each listener needs an address and port of its own");
	refused("listen:\n  transparent_tls: 10.0.0.5:443\n  dns: 10.0.0.5:443\n", 2, 20,
		"listen.transparent_tls: \"10.0.0.5:443\" overlaps the listen.dns address at 3:8; "
		"each listener needs an address and port of its own");
	refused("listen:\n  transparent_http: [10.0.0.5:80]\n  transparent_tls: [10.0.0.5:80]\n", 3,
		21,
		"listen.transparent_tls[0]: \"10.0.0.5:80\" overlaps the listen.transparent_http "
		"address at 2:22; each listener needs an address and port of its own");
}

/* ---- dns: defaults and every key --------------------------------------------------------- */

static void test_dns_defaults(void **state)
{
	struct config *cfg = parse_ok("");
	struct policy_dns d = effective(cfg, &cfg->agents[0]);
	assert_false(cfg->base.dns.has_answer || cfg->base.dns.has_denied ||
		     cfg->base.dns.has_types || cfg->base.dns.has_max_ttl ||
		     cfg->base.dns.has_rate || cfg->base.dns.has_burst);
	assert_int_equal(d.answer, AGENT_DNS_REAL);
	assert_int_equal(d.denied, AGENT_DNS_NXDOMAIN);
	assert_int_equal(d.n_types, 0);
	assert_int_equal(d.max_ttl, 300);
	assert_int_equal(d.rate, 100);
	assert_int_equal(d.burst, 200);
	assert_int_equal(cfg->n_dns_proxy_addrs, 0);
	config_free(cfg);
	/* An empty section is the defaults too. */
	cfg = parse_ok("dns:\n");
	d = effective(cfg, NULL);
	assert_int_equal(d.max_ttl, 300);
	config_free(cfg);
}

static void test_dns_every_key(void **state)
{
	struct config *cfg = parse_ok("listen:\n"
				      "  transparent_tls: 10.0.0.5:443\n"
				      "dns:\n"
				      "  answer: proxy\n"
				      "  denied: refused\n"
				      "  types: [MX, srv, TYPE65, Txt, TYPE99, MX, caa]\n"
				      "  max_ttl: 90s\n"
				      "  rate: 50\n"
				      "  burst: 70\n"
				      "  proxy_addresses: [\"10.0.0.5\", \"fd00::5\"]\n");
	struct policy_dns d = effective(cfg, &cfg->agents[0]);
	assert_int_equal(d.answer, AGENT_DNS_PROXY);
	assert_int_equal(d.denied, AGENT_DNS_REFUSED);
	/* HTTPS (TYPE65) is always answered and not stored; MX listed twice counts once. */
	assert_int_equal(d.n_types, 5);
	assert_int_equal(d.types[0], DNS_TYPE_MX);
	assert_int_equal(d.types[1], DNS_TYPE_SRV);
	assert_int_equal(d.types[2], DNS_TYPE_TXT);
	assert_int_equal(d.types[3], 99);
	assert_int_equal(d.types[4], 257);
	assert_int_equal(d.max_ttl, 90);
	assert_int_equal(d.rate, 50);
	assert_int_equal(d.burst, 70);
	assert_int_equal(cfg->n_dns_proxy_addrs, 2);
	assert_v4(&cfg->dns_proxy_addrs[0], 10, 0, 0, 5);
	assert_int_equal(cfg->dns_proxy_addrs[1].family, IP_V6);
	config_free(cfg);
}

static void test_dns_scalar_forms(void **state)
{
	struct config *cfg = parse_ok("dns:\n"
				      "  max_ttl: 1\n"
				      "  rate: 0\n"
				      "  burst: 1\n"
				      "  proxy_addresses: \"fd00::5\"\n");
	struct policy_dns d = effective(cfg, NULL);
	assert_int_equal(d.max_ttl, 1);
	assert_int_equal(d.rate, 0); /* unlimited: no bucket */
	assert_int_equal(d.burst, 0);
	assert_int_equal(cfg->n_dns_proxy_addrs, 1);
	config_free(cfg);
	cfg = parse_ok("dns: {max_ttl: 24h, rate: 1000000, burst: 1000000, proxy_addresses: []}\n");
	d = effective(cfg, NULL);
	assert_int_equal(d.max_ttl, 86400);
	assert_int_equal(d.rate, 1000000);
	assert_int_equal(d.burst, 1000000);
	assert_int_equal(cfg->n_dns_proxy_addrs, 0);
	config_free(cfg);
}

/* ---- inheritance ------------------------------------------------------------------------- */

static const char inherit_yaml[] =
    "listen: {transparent_http: \"10.0.0.5:80\"}\n"
    "dns:\n"
    "  denied: refused\n"
    "  types: [MX]\n"
    "  max_ttl: 60s\n"
    "  rate: 10\n"
    "agents:\n"
    "  - name: quiet\n"
    "    match: {source: [\"10.1.0.0/24\"]}\n"
    "    dns:\n"
    "      answer: proxy\n"
    "      types: []\n"
    "      rate: 3\n"
    "  - name: loud\n"
    "    match: {source: [\"10.2.0.0/24\"]}\n"
    "    dns: {denied: nxdomain, types: [TXT, SRV], max_ttl: 2h, burst: 9}\n"
    "  - name: default\n";

static void test_dns_agents_inherit(void **state)
{
	struct config *cfg = parse_ok(inherit_yaml);
	struct policy_dns d;

	assert_int_equal(cfg->n_agents, 3);
	/* quiet: its own answer, types and rate; burst follows its own rate. */
	d = effective(cfg, &cfg->agents[0]);
	assert_int_equal(d.answer, AGENT_DNS_PROXY);
	assert_int_equal(d.denied, AGENT_DNS_REFUSED);
	assert_int_equal(d.n_types, 0);
	assert_int_equal(d.max_ttl, 60);
	assert_int_equal(d.rate, 3);
	assert_int_equal(d.burst, 6);
	/* loud: its own denied, types, max_ttl and burst; the inherited rate. */
	d = effective(cfg, &cfg->agents[1]);
	assert_int_equal(d.answer, AGENT_DNS_REAL);
	assert_int_equal(d.denied, AGENT_DNS_NXDOMAIN);
	assert_int_equal(d.n_types, 2);
	assert_int_equal(d.types[0], DNS_TYPE_TXT);
	assert_int_equal(d.types[1], DNS_TYPE_SRV);
	assert_int_equal(d.max_ttl, 7200);
	assert_int_equal(d.rate, 10);
	assert_int_equal(d.burst, 9);
	/* default: everything from the top level. */
	assert_false(cfg->agents[2].dns.has_answer || cfg->agents[2].dns.has_types ||
		     cfg->agents[2].dns.has_rate);
	d = effective(cfg, &cfg->agents[2]);
	assert_int_equal(d.answer, AGENT_DNS_REAL);
	assert_int_equal(d.denied, AGENT_DNS_REFUSED);
	assert_int_equal(d.n_types, 1);
	assert_int_equal(d.types[0], DNS_TYPE_MX);
	assert_int_equal(d.max_ttl, 60);
	assert_int_equal(d.rate, 10);
	assert_int_equal(d.burst, 20);
	config_free(cfg);
}

/* A burst set at the top level is inherited as it is, whatever rate the agent has. */
static void test_dns_top_level_burst_inherited(void **state)
{
	struct config *cfg = parse_ok("dns: {burst: 500}\n"
				      "agents:\n"
				      "  - name: default\n"
				      "    dns: {rate: 5}\n");
	struct policy_dns d = effective(cfg, &cfg->agents[0]);
	assert_int_equal(d.rate, 5);
	assert_int_equal(d.burst, 500);
	config_free(cfg);
}

/* ---- refusals ---------------------------------------------------------------------------- */

static void test_dns_answer_and_denied_refused(void **state)
{
	refused("dns:\n  answer: fake\n", 2, 11,
		"dns.answer: \"fake\" is not an answer mode (valid: real, proxy)");
	refused("dns:\n  answer: [real]\n", 2, 11,
		"dns.answer: expected an answer mode, got a list");
	refused("dns:\n  denied: NXDOMAIN\n", 2, 11,
		"dns.denied: \"NXDOMAIN\" is not a denial answer (valid: nxdomain, refused)");
	refused("agents:\n  - name: default\n    dns:\n      denied: servfail\n", 4, 15,
		"agents[0].dns.denied: \"servfail\" is not a denial answer (valid: nxdomain, "
		"refused)");
}

static void test_dns_types_refused(void **state)
{
	refused("dns:\n  types: MX\n", 2, 10,
		"dns.types: expected a list of DNS types, got a string; write [\"MX\"] for a list "
		"of one");
	refused(
	    "dns:\n  types: [MX, MAIL]\n", 2, 15,
	    "dns.types[1]: \"MAIL\" is not a DNS type (write a name like MX, SRV or TXT, or TYPE "
	    "and a number, e.g. TYPE65)");
	refused(
	    "dns:\n  types: [any]\n", 2, 11,
	    "dns.types[0]: \"any\" is never answered: a resolver may refuse ANY (RFC 8482), and "
	    "sluice does; list the types the agent needs");
	refused(
	    "dns:\n  types: [TYPE255]\n", 2, 11,
	    "dns.types[0]: \"TYPE255\" is never answered: a resolver may refuse ANY (RFC 8482), "
	    "and sluice does; list the types the agent needs");
	refused("dns:\n  types: [AXFR]\n", 2, 11,
		"dns.types[0]: \"AXFR\" is never answered: it is a meta or reserved type, not a "
		"record type (RFC 6895)");
	refused("dns:\n  types: [OPT]\n", 2, 11,
		"dns.types[0]: \"OPT\" is never answered: it is a meta or reserved type, not a "
		"record type (RFC 6895)");
	refused("dns:\n  types: [TYPE65535]\n", 2, 11,
		"dns.types[0]: \"TYPE65535\" is never answered: it is a meta or reserved type, not "
		"a record type (RFC 6895)");
	refused_prefix("dns:\n  types: [TYPE0]\n", 2, 11,
		       "dns.types[0]: \"TYPE0\" is not a DNS type");
	refused_prefix("dns:\n  types: [TYPE065]\n", 2, 11,
		       "dns.types[0]: \"TYPE065\" is not a DNS type");
	refused_prefix("dns:\n  types: [TYPE65536]\n", 2, 11,
		       "dns.types[0]: \"TYPE65536\" is not a DNS type");
	refused_prefix("dns:\n  types: [\"65\"]\n", 2, 11,
		       "dns.types[0]: \"65\" is not a DNS type");
	refused("dns:\n  types: [yes]\n", 2, 11,
		"dns.types[0]: expected a DNS type like MX, got the boolean yes (write \"yes\" to "
		"mean the text)");
}

static void test_dns_too_many_types_refused(void **state)
{
	refused("dns:\n  types: [TYPE1000, TYPE1001, TYPE1002, TYPE1003, TYPE1004, TYPE1005, "
		"TYPE1006, TYPE1007, TYPE1008, TYPE1009, TYPE1010, TYPE1011, TYPE1012, TYPE1013, "
		"TYPE1014, TYPE1015, TYPE1016]\n",
		2, 171, "dns.types[16]: too many types (at most 16)");
}

static void test_dns_max_ttl_refused(void **state)
{
	refused("dns:\n  max_ttl: 500ms\n", 2, 12,
		"dns.max_ttl: \"500ms\" is out of range (1s-24h)");
	refused("dns:\n  max_ttl: 1.5s\n", 2, 12,
		"dns.max_ttl: \"1.5s\" is not a whole number of seconds (a TTL counts seconds)");
	refused("dns:\n  max_ttl: 25h\n", 2, 12,
		"dns.max_ttl: \"25h\" is not a valid duration: too long (at most 24h)");
	refused("dns:\n  max_ttl: 0\n", 2, 12,
		"dns.max_ttl: \"0\" is not a valid duration: must be greater than 0");
	refused("dns:\n  max_ttl: [1s]\n", 2, 12,
		"dns.max_ttl: expected a duration like 300s or 5m, got a list");
}

static void test_dns_rate_and_burst_refused(void **state)
{
	refused("dns:\n  rate: 1000001\n", 2, 9,
		"dns.rate: \"1000001\" is out of range (0-1000000)");
	refused("dns:\n  rate: -1\n", 2, 9, "dns.rate: \"-1\" is not valid: not a whole number");
	refused("dns:\n  rate: 050\n", 2, 9,
		"dns.rate: \"050\" is not valid: leading zeros are not allowed");
	refused("dns:\n  burst: 0\n", 2, 10, "dns.burst: \"0\" is out of range (1-1000000)");
	refused("agents:\n  - name: default\n    dns: {burst: lots}\n", 3, 18,
		"agents[0].dns.burst: \"lots\" is not valid: not a whole number");
}

static void test_dns_proxy_addresses_refused(void **state)
{
	refused("dns:\n  proxy_addresses: [\"10.0.0.5\", sluice.internal]\n", 2, 33,
		"dns.proxy_addresses[1]: \"sluice.internal\" is not an IP address (write e.g. "
		"\"10.0.0.5\" or \"fd00::5\", without brackets or a port)");
	refused("dns:\n  proxy_addresses: \"[fd00::5]\"\n", 2, 20,
		"dns.proxy_addresses: \"[fd00::5]\" is not an IP address (write e.g. \"10.0.0.5\" "
		"or \"fd00::5\", without brackets or a port)");
	refused("dns:\n  proxy_addresses: [10.0.0.5:80]\n", 2, 21,
		"dns.proxy_addresses[0]: \"10.0.0.5:80\" is not an IP address (write e.g. "
		"\"10.0.0.5\" or \"fd00::5\", without brackets or a port)");
	refused("dns:\n  proxy_addresses: [\"fd00::5\", \"FD00:0::5\"]\n", 2, 32,
		"dns.proxy_addresses[1]: \"FD00:0::5\" is listed twice (first at 2:21)");
	refused("dns:\n  proxy_addresses: [\"::\"]\n", 2, 21,
		"dns.proxy_addresses[0]: \"::\" is the unspecified address, which no agent can "
		"connect to; give the address agents reach sluice at");
	refused("dns:\n  proxy_addresses: [10.0.0.1, 10.0.0.2, 10.0.0.3, 10.0.0.4, 10.0.0.5, "
		"10.0.0.6, 10.0.0.7, 10.0.0.8, 10.0.0.9]\n",
		2, 101, "dns.proxy_addresses[8]: too many addresses (at most 8)");
}

/* One set of proxy addresses for every agent: an agent's dns has no such key. */
static void test_dns_agent_proxy_addresses_refused(void **state)
{
	refused("agents:\n  - name: default\n    dns:\n      proxy_addresses: [\"10.0.0.5\"]\n", 4,
		7,
		"unknown key \"proxy_addresses\" in agents[0].dns (valid: answer, denied, types, "
		"max_ttl, rate, burst)");
}

static void test_dns_section_refused(void **state)
{
	refused("dns: [answer]\n", 1, 6,
		"dns: expected a mapping with keys answer, denied, types, max_ttl, rate, burst, "
		"proxy_addresses, got a list");
	refused(
	    "dns:\n  anwser: real\n", 2, 3,
	    "unknown key \"anwser\" in dns (valid: answer, denied, types, max_ttl, rate, burst, "
	    "proxy_addresses)");
}

/* ---- proxy answers need a transparent listener -------------------------------------------- */

static void test_dns_proxy_needs_transparent(void **state)
{
	refused("dns:\n  answer: proxy\n", 2, 11,
		"dns.answer: proxy needs listen.transparent_http or listen.transparent_tls: proxy "
		"answers point agents at sluice's own address, where only the transparent "
		"listeners take the connections that follow");
	/* An agent's: the first proxy answer in the file is named. */
	refused("listen: {dns: \"127.0.0.1:53\"}\n"
		"agents:\n"
		"  - name: default\n"
		"  - name: box\n"
		"    match: {source: [\"10.9.0.0/16\"]}\n"
		"    dns: {answer: proxy}\n"
		"  - name: box2\n"
		"    match: {source: [\"10.8.0.0/16\"]}\n"
		"    dns: {answer: proxy}\n",
		6, 19,
		"agents[1].dns.answer: proxy needs listen.transparent_http or "
		"listen.transparent_tls: proxy answers point agents at sluice's own address, where "
		"only the transparent listeners take the connections that follow");
}

static void test_dns_proxy_with_either_transparent_listener(void **state)
{
	struct config *cfg = parse_ok("listen: {transparent_tls: \"10.0.0.5:443\"}\n"
				      "dns: {answer: proxy}\n");
	assert_int_equal(effective(cfg, NULL).answer, AGENT_DNS_PROXY);
	config_free(cfg);
	cfg = parse_ok("dns: {answer: proxy}\nlisten: {transparent_http: \"10.0.0.5:80\"}\n");
	config_free(cfg);
	/* answer: real needs nothing, and dns: without listen.dns is fine (an external DNS may
	 * send agents to the transparent listeners). */
	cfg = parse_ok("dns: {answer: real, types: [MX]}\n");
	assert_int_equal(cfg->n_listen_dns, 0);
	config_free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_listen_dns_defaults_to_none),
	    cmocka_unit_test(test_listen_dns_and_transparent),
	    cmocka_unit_test(test_listen_dns_before_http),
	    cmocka_unit_test(test_listen_neighbours_do_not_overlap),
	    cmocka_unit_test(test_listen_dns_port_required),
	    cmocka_unit_test(test_listen_dns_is_not_its_own_resolver),
	    cmocka_unit_test(test_listen_transparent_refusals),
	    cmocka_unit_test(test_listen_dns_overlaps_http),
	    cmocka_unit_test(test_listen_kinds_overlap_each_other),
	    cmocka_unit_test(test_dns_defaults),
	    cmocka_unit_test(test_dns_every_key),
	    cmocka_unit_test(test_dns_scalar_forms),
	    cmocka_unit_test(test_dns_agents_inherit),
	    cmocka_unit_test(test_dns_top_level_burst_inherited),
	    cmocka_unit_test(test_dns_answer_and_denied_refused),
	    cmocka_unit_test(test_dns_types_refused),
	    cmocka_unit_test(test_dns_too_many_types_refused),
	    cmocka_unit_test(test_dns_max_ttl_refused),
	    cmocka_unit_test(test_dns_rate_and_burst_refused),
	    cmocka_unit_test(test_dns_proxy_addresses_refused),
	    cmocka_unit_test(test_dns_agent_proxy_addresses_refused),
	    cmocka_unit_test(test_dns_section_refused),
	    cmocka_unit_test(test_dns_proxy_needs_transparent),
	    cmocka_unit_test(test_dns_proxy_with_either_transparent_listener),
	};
	return cmocka_run_group_tests_name("config_dns", tests, NULL, NULL);
}
