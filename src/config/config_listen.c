#include "config/config_listen.h"

#include <string.h>

#include "config/config_reader.h"
#include "config/config_value.h"

_Static_assert(CONFIG_MAX_LISTEN + 1 <= POLICY_MAX_LISTENERS,
	       "every listen address and the admin address is a listener");

static void listen_add(struct config_reader *r, const char *path, const struct config_endpoint *ep)
{
	struct config *cfg = r->cfg;
	char q[QUOTE_MAX];

	config_reader_quote(config_reader_scalar_text(&r->ev), q);
	for (unsigned i = 0; i < cfg->n_listen_http; i++) {
		const struct config_endpoint *old = &cfg->listen_http[i];
		if (old->port == ep->port && ip_addr_eq(&old->addr, &ep->addr)) {
			config_reader_error(r, r->ev.start_mark,
					    "%s: %s is listed twice (first at %d:%d)", path, q,
					    config_reader_pos(r->listen_marks[i].line),
					    config_reader_pos(r->listen_marks[i].column));
			return;
		}
	}
	if (cfg->n_listen_http == CONFIG_MAX_LISTEN) {
		config_reader_error(r, r->ev.start_mark,
				    "%s: too many listen addresses (at most %d)", path,
				    CONFIG_MAX_LISTEN);
		return;
	}
	r->listen_marks[cfg->n_listen_http] = r->ev.start_mark;
	cfg->listen_http[cfg->n_listen_http++] = *ep;
	cfg->rules.listeners[cfg->rules.n_listeners].addr = ep->addr;
	cfg->rules.listeners[cfg->rules.n_listeners++].port = ep->port;
}

static void listen_item(struct config_reader *r, const char *path, void *ctx)
{
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
	listen_add(r, path, &ep);
}

static const struct config_list listen_list = {
    .items = "addresses", .item = "an address", .read = listen_item};

/* listen.http: one address or a list; either replaces the default. */
static void read_listen_http(struct config_reader *r, const struct config_key *k, const char *path)
{
	yaml_mark_t start = r->ev.start_mark;

	r->cfg->n_listen_http = 0;
	r->cfg->rules.n_listeners = 0;
	r->listen_given = true;
	if (r->ev.type == YAML_SCALAR_EVENT) {
		listen_item(r, path, NULL);
		return;
	}
	if (config_reader_list(r, path, &listen_list, NULL) == 0)
		config_reader_error(r, start, "%s: the list is empty; give at least one address",
				    path);
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
	static const uint8_t zero[16];
	return memcmp(ep->addr.bytes, zero, sizeof(zero)) == 0;
}

/* Two sockets that would both receive the connections of one address:port (the http listeners
 * use SO_REUSEPORT; the admin listener must not share their port). */
static bool endpoint_overlaps(const struct config_endpoint *a, const struct config_endpoint *b)
{
	if (a->port != b->port || a->addr.family != b->addr.family)
		return false;
	return ip_addr_eq(&a->addr, &b->addr) || endpoint_is_wildcard(a) || endpoint_is_wildcard(b);
}

void config_listen_finish(struct config_reader *r)
{
	struct config *cfg = r->cfg;

	if (!cfg->has_admin)
		return;
	for (unsigned i = 0; i < cfg->n_listen_http; i++) {
		if (!endpoint_overlaps(&cfg->admin, &cfg->listen_http[i]))
			continue;
		if (r->listen_given)
			config_reader_error(
			    r, r->admin_mark,
			    "listen.admin: %s overlaps the listen.http address at %d:%d; the "
			    "admin listener needs an address and port of its own",
			    r->admin_text, config_reader_pos(r->listen_marks[i].line),
			    config_reader_pos(r->listen_marks[i].column));
		else
			config_reader_error(
			    r, r->admin_mark,
			    "listen.admin: %s overlaps the default listen.http address "
			    "127.0.0.1:3128; the admin listener needs an address and port of "
			    "its own",
			    r->admin_text);
		return;
	}
	cfg->rules.listeners[cfg->rules.n_listeners].addr = cfg->admin.addr;
	cfg->rules.listeners[cfg->rules.n_listeners++].port = cfg->admin.port;
}

const struct config_key config_listen_keys[] = {
    {.name = "http", .read = read_listen_http},
    {.name = "admin", .read = read_listen_admin},
};
