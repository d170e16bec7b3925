#include "config/config_rules.h"

#include <string.h>

#include "config/config_reader.h"
#include "config/config_value.h"
#include "parse/cidr.h"
#include "policy/cidr_set.h"
#include "policy/domain_set.h"

/* "name:port" pins a pattern to one destination port. Only a single colon splits: anything with
 * more (an IPv6 address) goes to domain_set_add whole and is refused there. */
static int domain_add(struct domain_set *set, struct slice s, const char **detail)
{
	const char *colon = s.len ? memchr(s.ptr, ':', s.len) : NULL;
	struct slice name, port_text;
	unsigned port;

	if (!colon || memchr(colon + 1, ':', s.len - (size_t)(colon - s.ptr) - 1))
		return domain_set_add(set, s, detail);
	name = slice_make(s.ptr, (size_t)(colon - s.ptr));
	port_text = slice_make(colon + 1, s.len - name.len - 1);
	if (!config_value_parse_port(port_text, &port, detail)) {
		*detail = "the port must be a number from 1 to 65535 (\"api.example.com:8443\")";
		return -1;
	}
	return domain_set_add_port(set, name, (uint16_t)port, detail);
}

static void domain_item(struct config_reader *r, const char *path, void *ctx)
{
	struct slice s;
	const char *detail = NULL;
	char q[QUOTE_MAX];

	if (!config_reader_scalar_string(r, path, "a domain pattern", &s))
		return;
	if (domain_add(ctx, s, &detail) != 0) {
		config_reader_quote(s, q);
		config_reader_error(r, r->ev.start_mark, "%s: %s is not a valid domain pattern: %s",
				    path, q, detail ? detail : "refused");
	}
}

static const struct config_list domain_list = {
    .items = "domain patterns", .item = "a domain pattern", .read = domain_item};

static void host_item(struct config_reader *r, const char *path, void *ctx)
{
	struct slice s;
	const char *detail = NULL;
	char q[QUOTE_MAX];

	if (!config_reader_scalar_string(r, path, "a domain pattern", &s))
		return;
	if (domain_set_add(ctx, s, &detail) != 0) {
		config_reader_quote(s, q);
		config_reader_error(r, r->ev.start_mark, "%s: %s is not a valid domain pattern: %s",
				    path, q, detail ? detail : "refused");
	}
}

static const struct config_list host_list = {
    .items = "domain patterns", .item = "a domain pattern", .read = host_item};

void config_rules_read_hosts(struct config_reader *r, const char *path, struct domain_set *set)
{
	if (r->ev.type == YAML_SCALAR_EVENT)
		host_item(r, path, set);
	else
		config_reader_list(r, path, &host_list, set);
}

void config_rules_read_domain_set(struct config_reader *r, const char *path,
				  const struct config_list *items, struct domain_set **slot)
{
	struct domain_set *set = domain_set_new();

	if (!set) {
		config_reader_error(r, r->ev.start_mark, "%s: out of memory", path);
		config_reader_skip(r);
		return;
	}
	if (config_reader_list(r, path, items, set) < 0) {
		domain_set_free(set);
		return;
	}
	domain_set_free(*slot);
	*slot = set;
}

/* allow, deny: an explicit list replaces the default set (allow: [] denies every name). */
static void read_domains(struct config_reader *r, const char *path, struct domain_set **slot)
{
	config_rules_read_domain_set(r, path, &domain_list, slot);
}

void config_rules_read_allow(struct config_reader *r, const struct config_key *k, const char *path)
{
	read_domains(r, path, r->agent ? &r->agent->allow : &r->cfg->rules.allow);
}

void config_rules_read_deny(struct config_reader *r, const struct config_key *k, const char *path)
{
	read_domains(r, path, r->agent ? &r->agent->deny : &r->cfg->rules.deny);
}

void config_rules_read_ask(struct config_reader *r, const struct config_key *k, const char *path)
{
	read_domains(r, path, r->agent ? &r->agent->ask : &r->cfg->base.ask);
}

static void cidr_item(struct config_reader *r, const char *path, void *ctx)
{
	struct slice s;
	struct ip_addr addr;
	unsigned prefix_len;
	const char *detail = NULL;
	char q[QUOTE_MAX];

	if (!config_reader_scalar_string(r, path, "a CIDR", &s))
		return;
	config_reader_quote(s, q);
	if (cidr_parse(s, &addr, &prefix_len, &detail) != 0)
		config_reader_error(r, r->ev.start_mark, "%s: %s is not a valid CIDR: %s", path, q,
				    detail ? detail : "refused");
	else if (cidr_set_add(ctx, &addr, prefix_len) != 0)
		config_reader_error(r, r->ev.start_mark,
				    "%s: %s could not be added (out of memory)", path, q);
}

static const struct config_list cidr_list = {
    .items = "CIDRs", .item = "a CIDR like \"10.0.0.0/8\"", .read = cidr_item};

int config_rules_read_cidrs(struct config_reader *r, const char *path, struct cidr_set **slot)
{
	struct cidr_set *set = cidr_set_new();
	int n;

	if (!set) {
		config_reader_error(r, r->ev.start_mark, "%s: out of memory", path);
		config_reader_skip(r);
		return -1;
	}
	n = config_reader_list(r, path, &cidr_list, set);
	if (n < 0) {
		cidr_set_free(set);
		return -1;
	}
	cidr_set_free(*slot);
	*slot = set;
	return n;
}

static void read_ips_allow(struct config_reader *r, const struct config_key *k, const char *path)
{
	config_rules_read_cidrs(r, path, &r->cfg->rules.ips_allow);
}

static void read_ips_deny(struct config_reader *r, const struct config_key *k, const char *path)
{
	config_rules_read_cidrs(r, path, &r->cfg->rules.ips_deny);
}

static void ports_mark(uint8_t *bitmap, unsigned lo, unsigned hi)
{
	unsigned p = lo;
	while (p <= hi) {
		if (p % 8 == 0 && p + 7 <= hi) {
			bitmap[p / 8] = 0xff;
			p += 8;
		} else {
			bitmap[p / 8] |= (uint8_t)(1u << (p % 8));
			p++;
		}
	}
}

static void port_item(struct config_reader *r, const char *path, void *ctx)
{
	struct slice s;
	unsigned lo, hi;
	const char *detail;
	char q[QUOTE_MAX];

	if (!config_reader_scalar_string(r, path, "a port, a range \"low-high\" or \"*\"", &s))
		return;
	if (!config_value_parse_port_range(s, &lo, &hi, &detail)) {
		config_reader_quote(s, q);
		config_reader_error(r, r->ev.start_mark, "%s: %s is not a valid port: %s", path, q,
				    detail);
		return;
	}
	ports_mark(ctx, lo, hi);
}

static const struct config_list port_list = {
    .items = "ports", .item = "a port, a range \"low-high\" or \"*\"", .read = port_item};

int config_rules_read_port_bitmap(struct config_reader *r, const char *path, uint8_t *bitmap)
{
	return config_reader_list(r, path, &port_list, bitmap);
}

void config_rules_read_ports(struct config_reader *r, const struct config_key *k, const char *path)
{
	yaml_mark_t start = r->ev.start_mark;
	bool given = r->ev.type == YAML_SEQUENCE_START_EVENT;
	uint8_t *bitmap = r->ports;

	if (r->agent) {
		r->agent->has_ports = given;
		bitmap = r->agent->ports;
	} else {
		r->ports_given = given;
	}
	if (config_reader_list(r, path, &port_list, bitmap) == 0)
		config_reader_error(
		    r, start,
		    "%s: the list is empty, so no port would be allowed (write [\"*\"] "
		    "for any port)",
		    path);
}

void config_rules_finish(struct config_reader *r)
{
	if (!r->ports_given)
		return;
	for (unsigned p = 0; p <= 65535; p++)
		policy_rules_set_port(&r->cfg->rules, (uint16_t)p,
				      (r->ports[p / 8] >> (p % 8)) & 1);
}

const struct config_key config_rules_ips_keys[] = {
    {.name = "allow", .read = read_ips_allow},
    {.name = "deny", .read = read_ips_deny},
};
