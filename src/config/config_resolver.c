#include "config/config_resolver.h"

#include "config/config_reader.h"
#include "config/config_value.h"

#define DNS_DEFAULT_PORT 53

static void server_item(struct config_reader *r, const char *path, void *ctx)
{
	struct config *cfg = r->cfg;
	struct config_endpoint ep = {0};
	struct slice s;
	const char *detail;
	char q[QUOTE_MAX];

	if (!config_reader_scalar_string(r, path, "an IP address", &s))
		return;
	if (!config_value_parse_endpoint(s, DNS_DEFAULT_PORT, &ep, &detail)) {
		config_reader_quote(s, q);
		config_reader_error(r, r->ev.start_mark, "%s: %s is not a valid DNS server: %s",
				    path, q, detail);
		return;
	}
	if (cfg->n_resolvers == CONFIG_MAX_RESOLVERS) {
		config_reader_error(r, r->ev.start_mark, "%s: too many DNS servers (at most %d)",
				    path, CONFIG_MAX_RESOLVERS);
		return;
	}
	cfg->resolvers[cfg->n_resolvers++] = ep;
}

static const struct config_list server_list = {
    .items = "IP addresses", .item = "an IP address", .read = server_item};

static void read_resolver_servers(struct config_reader *r, const struct config_key *k,
				  const char *path)
{
	r->cfg->n_resolvers = 0;
	config_reader_list(r, path, &server_list, NULL);
}

const struct config_key config_resolver_keys[] = {
    {.name = "servers", .read = read_resolver_servers}};
