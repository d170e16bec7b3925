#include "config/config_listen.h"

#include <stdio.h>
#include <string.h>

#include "config/config_reader.h"
#include "config/config_value.h"

_Static_assert(CONFIG_LISTEN_KINDS *CONFIG_MAX_LISTEN + 1 <= POLICY_MAX_LISTENERS,
	       "every listen address and the admin address is a listener");

static const char *const kind_key[CONFIG_LISTEN_KINDS] = {
    [CONFIG_LISTEN_HTTP] = "listen.http",
    [CONFIG_LISTEN_DNS] = "listen.dns",
    [CONFIG_LISTEN_TRANSPARENT_HTTP] = "listen.transparent_http",
    [CONFIG_LISTEN_TRANSPARENT_TLS] = "listen.transparent_tls",
};

/* The addresses of one kind in cfg, and their count. */
static struct config_endpoint *kind_endpoints(struct config *cfg, enum config_listen_kind kind,
					      unsigned **n)
{
	switch (kind) {
	case CONFIG_LISTEN_DNS:
		*n = &cfg->n_listen_dns;
		return cfg->listen_dns;
	case CONFIG_LISTEN_TRANSPARENT_HTTP:
		*n = &cfg->n_listen_transparent_http;
		return cfg->listen_transparent_http;
	case CONFIG_LISTEN_TRANSPARENT_TLS:
		*n = &cfg->n_listen_transparent_tls;
		return cfg->listen_transparent_tls;
	case CONFIG_LISTEN_HTTP:
	case CONFIG_LISTEN_KINDS:
		break;
	}
	*n = &cfg->n_listen_http;
	return cfg->listen_http;
}

static void listen_add(struct config_reader *r, enum config_listen_kind kind, const char *path,
		       const struct config_endpoint *ep)
{
	struct config *cfg = r->cfg;
	unsigned *n;
	struct config_endpoint *eps = kind_endpoints(cfg, kind, &n);
	yaml_mark_t *marks = r->listen_marks[kind];
	char q[QUOTE_MAX];

	config_reader_quote(config_reader_scalar_text(&r->ev), q);
	for (unsigned i = 0; i < *n; i++) {
		if (eps[i].port == ep->port && ip_addr_eq(&eps[i].addr, &ep->addr)) {
			config_reader_error(
			    r, r->ev.start_mark, "%s: %s is listed twice (first at %d:%d)", path, q,
			    config_reader_pos(marks[i].line), config_reader_pos(marks[i].column));
			return;
		}
	}
	if (*n == CONFIG_MAX_LISTEN) {
		config_reader_error(r, r->ev.start_mark,
				    "%s: too many listen addresses (at most %d)", path,
				    CONFIG_MAX_LISTEN);
		return;
	}
	marks[*n] = r->ev.start_mark;
	eps[(*n)++] = *ep;
	/* The other kinds join the listeners at the end, once they are known not to overlap. */
	if (kind == CONFIG_LISTEN_HTTP) {
		cfg->rules.listeners[cfg->rules.n_listeners].addr = ep->addr;
		cfg->rules.listeners[cfg->rules.n_listeners++].port = ep->port;
	}
}

static void listen_item(struct config_reader *r, const char *path, void *ctx)
{
	const enum config_listen_kind *kind = ctx;
	struct config_endpoint ep = {0};
	struct slice s;
	const char *detail;
	char q[QUOTE_MAX];

	if (!config_reader_scalar_string(r, path, "an address like \"127.0.0.1:3128\"", &s))
		return;
	if (!config_value_parse_endpoint(s, 0, &ep, &detail)) {
		config_reader_quote(s, q);
		config_reader_error(r, r->ev.start_mark, "%s: %s is not a valid listen address: %s",
				    path, q, detail);
		return;
	}
	listen_add(r, *kind, path, &ep);
}

static const struct config_list listen_list = {
    .items = "addresses", .item = "an address", .read = listen_item};

/* One address or a list; either replaces the default (listen.http's; the others have none). */
static void read_listen_kind(struct config_reader *r, enum config_listen_kind kind,
			     const char *path)
{
	yaml_mark_t start = r->ev.start_mark;
	unsigned *n;

	kind_endpoints(r->cfg, kind, &n);
	*n = 0;
	if (r->ev.type == YAML_SCALAR_EVENT) {
		listen_item(r, path, &kind);
		return;
	}
	r->listen_list[kind] = true;
	if (config_reader_list(r, path, &listen_list, &kind) != 0)
		return;
	if (kind == CONFIG_LISTEN_HTTP)
		config_reader_error(r, start, "%s: the list is empty; give at least one address",
				    path);
	else
		config_reader_error(
		    r, start, "%s: the list is empty; give at least one address or leave it out",
		    path);
}

static void read_listen_http(struct config_reader *r, const struct config_key *k, const char *path)
{
	r->cfg->rules.n_listeners = 0;
	r->listen_given = true;
	read_listen_kind(r, CONFIG_LISTEN_HTTP, path);
}

static void read_listen_dns(struct config_reader *r, const struct config_key *k, const char *path)
{
	read_listen_kind(r, CONFIG_LISTEN_DNS, path);
}

static void read_listen_transparent_http(struct config_reader *r, const struct config_key *k,
					 const char *path)
{
	read_listen_kind(r, CONFIG_LISTEN_TRANSPARENT_HTTP, path);
}

static void read_listen_transparent_tls(struct config_reader *r, const struct config_key *k,
					const char *path)
{
	read_listen_kind(r, CONFIG_LISTEN_TRANSPARENT_TLS, path);
}

/* listen.admin: one address, no default (no admin listener unless asked for). Checked against
 * listen.http at the end of the file, since either key may come first. */
static void read_listen_admin(struct config_reader *r, const struct config_key *k, const char *path)
{
	struct config_endpoint ep = {0};
	struct slice s;
	const char *detail;
	char q[QUOTE_MAX];

	if (!config_reader_scalar_value(r, path, "an address like \"127.0.0.1:9090\"", &s))
		return;
	config_reader_quote(s, q);
	if (!config_value_parse_endpoint(s, 0, &ep, &detail)) {
		config_reader_error(r, r->ev.start_mark, "%s: %s is not a valid listen address: %s",
				    path, q, detail);
		return;
	}
	r->cfg->has_admin = true;
	r->cfg->admin = ep;
	r->admin_mark = r->ev.start_mark;
	memcpy(r->admin_text, q, sizeof(q));
}

static bool endpoint_is_wildcard(const struct config_endpoint *ep)
{
	return ip_addr_is_unspecified(&ep->addr);
}

/* Two sockets that would both receive the connections of one address:port (the http listeners
 * use SO_REUSEPORT; no other listener may share their port, nor one another's). */
static bool endpoint_overlaps(const struct config_endpoint *a, const struct config_endpoint *b)
{
	if (a->port != b->port || a->addr.family != b->addr.family)
		return false;
	return ip_addr_eq(&a->addr, &b->addr) || endpoint_is_wildcard(a) || endpoint_is_wildcard(b);
}

static void listen_admin_finish(struct config_reader *r)
{
	struct config *cfg = r->cfg;

	for (unsigned i = 0; i < cfg->n_listen_http; i++) {
		if (!endpoint_overlaps(&cfg->admin, &cfg->listen_http[i]))
			continue;
		if (r->listen_given)
			config_reader_error(
			    r, r->admin_mark,
			    "listen.admin: %s overlaps the listen.http address at %d:%d; the "
			    "admin listener needs an address and port of its own",
			    r->admin_text,
			    config_reader_pos(r->listen_marks[CONFIG_LISTEN_HTTP][i].line),
			    config_reader_pos(r->listen_marks[CONFIG_LISTEN_HTTP][i].column));
		else
			config_reader_error(
			    r, r->admin_mark,
			    "listen.admin: %s overlaps the default listen.http address "
			    "127.0.0.1:3128; the admin listener needs an address and port of "
			    "its own",
			    r->admin_text);
		return;
	}
}

/* "listen.dns[1]" for an item of a list, "listen.dns" for a single address. */
static void kind_path(const struct config_reader *r, enum config_listen_kind kind, unsigned i,
		      char *out, size_t size)
{
	if (r->listen_list[kind])
		snprintf(out, size, "%s[%u]", kind_key[kind], i);
	else
		snprintf(out, size, "%s", kind_key[kind]);
}

/* Where an address already taken is: "the listen.http address at 3:9", "the listen.admin
 * address at 4:10", "the default listen.http address 127.0.0.1:3128". */
static bool overlap_other(const struct config_reader *r, enum config_listen_kind kind,
			  const struct config_endpoint *ep, char *out, size_t size)
{
	const struct config *cfg = r->cfg;

	for (int k = 0; k < (int)kind; k++) {
		unsigned *n;
		const struct config_endpoint *eps = kind_endpoints(r->cfg, k, &n);
		for (unsigned i = 0; i < *n; i++) {
			if (!endpoint_overlaps(ep, &eps[i]))
				continue;
			if (k == CONFIG_LISTEN_HTTP && !r->listen_given)
				snprintf(out, size,
					 "the default listen.http address 127.0.0.1:3128");
			else
				snprintf(out, size, "the %s address at %d:%d", kind_key[k],
					 config_reader_pos(r->listen_marks[k][i].line),
					 config_reader_pos(r->listen_marks[k][i].column));
			return true;
		}
		if (k == CONFIG_LISTEN_HTTP && cfg->has_admin &&
		    endpoint_overlaps(ep, &cfg->admin)) {
			snprintf(out, size, "the listen.admin address at %d:%d",
				 config_reader_pos(r->admin_mark.line),
				 config_reader_pos(r->admin_mark.column));
			return true;
		}
	}
	return false;
}

/* listen.dns and the transparent listeners: no address of theirs may be one that an earlier
 * key (in the order http, admin, dns, transparent_http, transparent_tls) listens on. */
static void listen_kind_finish(struct config_reader *r, enum config_listen_kind kind)
{
	unsigned *n;
	const struct config_endpoint *eps = kind_endpoints(r->cfg, kind, &n);
	char path[PATH_MAX_LEN], other[96], text[IP_ADDR_TEXT_MAX];

	for (unsigned i = 0; i < *n; i++) {
		if (!overlap_other(r, kind, &eps[i], other, sizeof(other)))
			continue;
		kind_path(r, kind, i, path, sizeof(path));
		ip_addr_format(&eps[i].addr, text);
		config_reader_error(r, r->listen_marks[kind][i],
				    "%s: \"%s%s%s:%u\" overlaps %s; each listener needs an address "
				    "and port of its own",
				    path, eps[i].addr.family == IP_V6 ? "[" : "", text,
				    eps[i].addr.family == IP_V6 ? "]" : "", (unsigned)eps[i].port,
				    other);
	}
}

/* 127.0.0.1 or ::1: where a wildcard listener surely answers. Other loopback addresses
 * (127.0.0.53, systemd-resolved's stub) may be another server's own socket. */
static bool addr_is_loopback(const struct ip_addr *a)
{
	static const uint8_t v4[4] = {127, 0, 0, 1}, v6[16] = {[15] = 1};
	return a->family == IP_V4 ? memcmp(a->bytes, v4, 4) == 0 : memcmp(a->bytes, v6, 16) == 0;
}

/* A resolver that is one of sluice's own DNS listeners: every lookup would come back to sluice
 * as a query, until limits.max_pending_dns or timeouts.dns ended it. */
static void listen_dns_not_a_resolver(struct config_reader *r)
{
	const struct config *cfg = r->cfg;
	char path[PATH_MAX_LEN], text[IP_ADDR_TEXT_MAX];

	for (unsigned i = 0; i < cfg->n_listen_dns; i++) {
		const struct config_endpoint *dns = &cfg->listen_dns[i];
		for (unsigned j = 0; j < cfg->n_resolvers; j++) {
			const struct config_endpoint *res = &cfg->resolvers[j];
			if (res->port != dns->port || res->addr.family != dns->addr.family)
				continue;
			/* A wildcard listener answers on every local address, loopback included. */
			if (!ip_addr_eq(&res->addr, &dns->addr) &&
			    !(endpoint_is_wildcard(dns) &&
			      (endpoint_is_wildcard(res) || addr_is_loopback(&res->addr))))
				continue;
			kind_path(r, CONFIG_LISTEN_DNS, i, path, sizeof(path));
			ip_addr_format(&res->addr, text);
			config_reader_error(
			    r, r->listen_marks[CONFIG_LISTEN_DNS][i],
			    "%s: resolver.servers[%u] (%s%s%s:%u) is this listener: "
			    "sluice would ask itself; name the upstream DNS servers "
			    "in resolver.servers",
			    path, j, res->addr.family == IP_V6 ? "[" : "", text,
			    res->addr.family == IP_V6 ? "]" : "", (unsigned)res->port);
			break;
		}
	}
}

static void listeners_add(struct policy_rules *rules, const struct config_endpoint *eps, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		rules->listeners[rules->n_listeners].addr = eps[i].addr;
		rules->listeners[rules->n_listeners++].port = eps[i].port;
	}
}

void config_listen_finish(struct config_reader *r)
{
	struct config *cfg = r->cfg;

	if (cfg->has_admin)
		listen_admin_finish(r);
	for (int k = CONFIG_LISTEN_DNS; k < CONFIG_LISTEN_KINDS; k++)
		listen_kind_finish(r, k);
	listen_dns_not_a_resolver(r);
	if (cfg->has_admin)
		listeners_add(&cfg->rules, &cfg->admin, 1);
	listeners_add(&cfg->rules, cfg->listen_dns, cfg->n_listen_dns);
	listeners_add(&cfg->rules, cfg->listen_transparent_http, cfg->n_listen_transparent_http);
	listeners_add(&cfg->rules, cfg->listen_transparent_tls, cfg->n_listen_transparent_tls);
}

const struct config_key config_listen_keys[] = {
    {.name = "http", .read = read_listen_http},
    {.name = "admin", .read = read_listen_admin},
    {.name = "dns", .read = read_listen_dns},
    {.name = "transparent_http", .read = read_listen_transparent_http},
    {.name = "transparent_tls", .read = read_listen_transparent_tls},
};
