#include "config/config_dns.h"

#include <stdio.h>
#include <string.h>

#include "config/config_reader.h"
#include "config/config_value.h"
#include "parse/authority.h"
#include "parse/dns_type.h"
#include "policy/dns_policy.h"

#define DNS_MAX_RATE 1000000u
#define DNS_MAX_BURST 1000000u
#define DNS_MAX_TTL_S (24u * 60 * 60)

/* The dns: section being read: an agents[] item's, or the top level's (cfg->base). */
static struct agent_dns *reader_dns(struct config_reader *r)
{
	return r->agent ? &r->agent->dns : &r->cfg->base.dns;
}

static void read_answer(struct config_reader *r, const struct config_key *k, const char *path)
{
	static const char *const words[] = {"real", "proxy"};
	struct agent_dns *d = reader_dns(r);
	int i = config_reader_word(r, path, "an answer mode", words, ARRAY_SIZE(words));

	if (i < 0)
		return;
	d->answer = i == 1 ? AGENT_DNS_PROXY : AGENT_DNS_REAL;
	d->has_answer = true;
	if (d->answer == AGENT_DNS_PROXY && !r->dns_proxy_answer) {
		r->dns_proxy_answer = true;
		r->dns_proxy_answer_mark = r->ev.start_mark;
		snprintf(r->dns_proxy_answer_path, sizeof(r->dns_proxy_answer_path), "%s", path);
	}
}

static void read_denied(struct config_reader *r, const struct config_key *k, const char *path)
{
	static const char *const words[] = {"nxdomain", "refused"};
	struct agent_dns *d = reader_dns(r);
	int i = config_reader_word(r, path, "a denial answer", words, ARRAY_SIZE(words));

	if (i < 0)
		return;
	d->denied = i == 1 ? AGENT_DNS_REFUSED : AGENT_DNS_NXDOMAIN;
	d->has_denied = true;
}

/* A mnemonic (either case) or RFC 3597's TYPE<n>. The types every agent is answered need no
 * listing, and are not stored; ANY and the meta types can never be answered. */
static void type_item(struct config_reader *r, const char *path, void *ctx)
{
	struct agent_dns *d = ctx;
	struct slice s;
	char q[QUOTE_MAX];
	int type;

	if (!config_reader_scalar_string(r, path, "a DNS type like MX", &s))
		return;
	config_reader_quote(s, q);
	type = dns_type_from_name(s);
	if (type < 0) {
		config_reader_error(r, r->ev.start_mark,
				    "%s: %s is not a DNS type (write a name like MX, SRV or TXT, "
				    "or TYPE and a number, e.g. TYPE65)",
				    path, q);
		return;
	}
	if (type == DNS_TYPE_ANY) {
		config_reader_error(
		    r, r->ev.start_mark,
		    "%s: %s is never answered: a resolver may refuse ANY (RFC 8482), "
		    "and sluice does; list the types the agent needs",
		    path, q);
		return;
	}
	if (dns_policy_type_never((uint16_t)type)) {
		config_reader_error(
		    r, r->ev.start_mark,
		    "%s: %s is never answered: it is a meta or reserved type, not a "
		    "record type (RFC 6895)",
		    path, q);
		return;
	}
	if (dns_policy_type_always((uint16_t)type))
		return;
	for (unsigned i = 0; i < d->n_types; i++)
		if (d->types[i] == type)
			return; /* listed twice: harmless */
	if (d->n_types == AGENT_DNS_MAX_TYPES) {
		config_reader_error(r, r->ev.start_mark, "%s: too many types (at most %d)", path,
				    AGENT_DNS_MAX_TYPES);
		return;
	}
	d->types[d->n_types++] = (uint16_t)type;
}

static const struct config_list type_list = {
    .items = "DNS types", .item = "a DNS type", .read = type_item};

/* An explicit list replaces the inherited one; [] is a list of its own (no extra type). */
static void read_types(struct config_reader *r, const struct config_key *k, const char *path)
{
	struct agent_dns *d = reader_dns(r);

	d->n_types = 0;
	d->has_types = r->ev.type == YAML_SEQUENCE_START_EVENT;
	config_reader_list(r, path, &type_list, d);
}

/* A duration of whole seconds, 1s to 24h (a TTL is a number of seconds). */
static void read_max_ttl(struct config_reader *r, const struct config_key *k, const char *path)
{
	struct agent_dns *d = reader_dns(r);
	struct slice s;
	const char *detail;
	char q[QUOTE_MAX];
	unsigned ms;

	if (!config_reader_scalar_value(r, path, "a duration like 300s or 5m", &s))
		return;
	config_reader_quote(s, q);
	if (!config_value_parse_duration(s, &ms, &detail)) {
		config_reader_error(r, r->ev.start_mark, "%s: %s is not a valid duration: %s", path,
				    q, detail);
		return;
	}
	if (ms < 1000) {
		config_reader_error(r, r->ev.start_mark, "%s: %s is out of range (1s-24h)", path,
				    q);
		return;
	}
	if (ms % 1000 != 0) {
		config_reader_error(
		    r, r->ev.start_mark,
		    "%s: %s is not a whole number of seconds (a TTL counts seconds)", path, q);
		return;
	}
	d->max_ttl = ms / 1000;
	d->has_max_ttl = true;
}

/* A whole number from min to max; false after an error. */
static bool read_count(struct config_reader *r, const char *path, unsigned min, unsigned max,
		       uint32_t *out)
{
	struct slice s;
	unsigned long long v;
	const char *detail;
	char q[QUOTE_MAX];

	if (!config_reader_scalar_value(r, path, "a whole number", &s))
		return false;
	config_reader_quote(s, q);
	if (!config_value_parse_uint(s, &v, &detail)) {
		config_reader_error(r, r->ev.start_mark, "%s: %s is not valid: %s", path, q,
				    detail);
		return false;
	}
	if (v < min || v > max) {
		config_reader_error(r, r->ev.start_mark, "%s: %s is out of range (%u-%u)", path, q,
				    min, max);
		return false;
	}
	*out = (uint32_t)v;
	return true;
}

static void read_rate(struct config_reader *r, const struct config_key *k, const char *path)
{
	struct agent_dns *d = reader_dns(r);

	if (read_count(r, path, 0, DNS_MAX_RATE, &d->rate))
		d->has_rate = true;
}

static void read_burst(struct config_reader *r, const struct config_key *k, const char *path)
{
	struct agent_dns *d = reader_dns(r);

	if (read_count(r, path, 1, DNS_MAX_BURST, &d->burst))
		d->has_burst = true;
}

/* Literal addresses an agent can connect to: no name (the config never depends on DNS), no
 * brackets (no port goes with them), not the unspecified address. */
static void proxy_address_item(struct config_reader *r, const char *path, void *ctx)
{
	struct config *cfg = r->cfg;
	struct ip_addr a;
	struct slice s;
	char q[QUOTE_MAX];

	if (!config_reader_scalar_string(r, path, "an IP address like \"10.0.0.5\"", &s))
		return;
	config_reader_quote(s, q);
	if (authority_parse_ip_strict(s, &a) != 0) {
		config_reader_error(r, r->ev.start_mark,
				    "%s: %s is not an IP address (write e.g. \"10.0.0.5\" or "
				    "\"fd00::5\", without brackets or a port)",
				    path, q);
		return;
	}
	if (ip_addr_is_unspecified(&a)) {
		config_reader_error(r, r->ev.start_mark,
				    "%s: %s is the unspecified address, which no agent can connect "
				    "to; give the address agents reach sluice at",
				    path, q);
		return;
	}
	for (unsigned i = 0; i < cfg->n_dns_proxy_addrs; i++)
		if (ip_addr_eq(&cfg->dns_proxy_addrs[i], &a)) {
			config_reader_error(r, r->ev.start_mark,
					    "%s: %s is listed twice (first at %d:%d)", path, q,
					    config_reader_pos(r->dns_proxy_marks[i].line),
					    config_reader_pos(r->dns_proxy_marks[i].column));
			return;
		}
	if (cfg->n_dns_proxy_addrs == CONFIG_MAX_DNS_PROXY_ADDRS) {
		config_reader_error(r, r->ev.start_mark, "%s: too many addresses (at most %d)",
				    path, CONFIG_MAX_DNS_PROXY_ADDRS);
		return;
	}
	r->dns_proxy_marks[cfg->n_dns_proxy_addrs] = r->ev.start_mark;
	cfg->dns_proxy_addrs[cfg->n_dns_proxy_addrs++] = a;
}

static const struct config_list proxy_address_list = {
    .items = "IP addresses", .item = "an IP address", .read = proxy_address_item};

/* One address or a list; [] is the default (the address of the listener asked). */
static void read_proxy_addresses(struct config_reader *r, const struct config_key *k,
				 const char *path)
{
	r->cfg->n_dns_proxy_addrs = 0;
	if (r->ev.type == YAML_SCALAR_EVENT) {
		proxy_address_item(r, path, NULL);
		return;
	}
	config_reader_list(r, path, &proxy_address_list, NULL);
}

void config_dns_finish(struct config_reader *r)
{
	const struct config *cfg = r->cfg;

	if (!r->dns_proxy_answer || cfg->n_listen_transparent_http > 0 ||
	    cfg->n_listen_transparent_tls > 0)
		return;
	config_reader_error(r, r->dns_proxy_answer_mark,
			    "%s: proxy needs listen.transparent_http or listen.transparent_tls: "
			    "proxy answers point agents at sluice's own address, where only the "
			    "transparent listeners take the connections that follow",
			    r->dns_proxy_answer_path);
}

const struct config_key config_dns_keys[] = {
    {.name = "answer", .read = read_answer},
    {.name = "denied", .read = read_denied},
    {.name = "types", .read = read_types},
    {.name = "max_ttl", .read = read_max_ttl},
    {.name = "rate", .read = read_rate},
    {.name = "burst", .read = read_burst},
    {.name = "proxy_addresses", .read = read_proxy_addresses},
};

/* proxy_addresses is not among them: every agent is answered with the same addresses. */
const struct config_key config_dns_agent_keys[] = {
    {.name = "answer", .read = read_answer}, {.name = "denied", .read = read_denied},
    {.name = "types", .read = read_types},   {.name = "max_ttl", .read = read_max_ttl},
    {.name = "rate", .read = read_rate},     {.name = "burst", .read = read_burst},
};
