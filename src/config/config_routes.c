#include "config/config_routes.h"

#include <stdio.h>
#include <string.h>

#include "base/hex.h"
#include "config/config_headers.h"
#include "config/config_reader.h"
#include "config/config_value.h"
#include "parse/authority.h"
#include "parse/url.h"

/* RFC 3986 §3.3 pchar, less pct-encoded (checked by the caller). */
static bool is_pchar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c != '\0' && strchr("-._~!$&'()*+,;=:@", c) != NULL);
}

/* An absolute path as a route uses it (upstream base, rewrite prefixes): pchar and '/', with
 * well-formed percent-encoding, and no empty or dot segments, which an upstream would normalise
 * away so that a prefix no longer says what it matches (RFC 3986 §5.2.4). */
static bool check_path(struct slice p, const char **detail)
{
	size_t seg = 1;

	if (p.len == 0 || p.ptr[0] != '/') {
		*detail = "a path must start with '/'";
		return false;
	}
	if (p.len > ROUTE_PREFIX_MAX) {
		*detail = "the path is too long (at most 256 bytes)";
		return false;
	}
	for (size_t i = 0; i < p.len; i++) {
		if (p.ptr[i] == '%') {
			if (i + 2 >= p.len || hex_value(p.ptr[i + 1]) < 0 ||
			    hex_value(p.ptr[i + 2]) < 0) {
				*detail = "'%' must be followed by two hex digits";
				return false;
			}
			i += 2;
		} else if (p.ptr[i] != '/' && !is_pchar(p.ptr[i])) {
			*detail =
			    "the path holds a character that must be percent-encoded (RFC 3986 "
			    "section 3.3)";
			return false;
		}
	}
	for (size_t i = 1; i <= p.len; i++) {
		if (i < p.len && p.ptr[i] != '/')
			continue;
		struct slice s = slice_make(p.ptr + seg, i - seg);
		if (s.len == 0 && i < p.len) {
			*detail = "empty path segments (\"//\") are not allowed";
			return false;
		}
		if (slice_eq(s, SLICE_LIT(".")) || slice_eq(s, SLICE_LIT(".."))) {
			*detail = "dot segments (\".\", \"..\") are not allowed in the path";
			return false;
		}
		seg = i + 1;
	}
	return true;
}

/* "http://host[:port][/base]" or "https://...": RFC 3986 §3 narrowed to what a route needs. The
 * host is a name or a strictly written IP literal (IPv6 in brackets); no userinfo (credentials
 * go in headers.set, where the agent never sees them), no query, no fragment. */
static bool parse_upstream(struct slice s, struct route *rt, const char **detail)
{
	struct slice host, base;
	struct authority auth;
	struct ip_addr ip;
	struct url url;

	if (url_split(s, &url) != URL_OK) {
		*detail = "the URL must start with http:// or https://";
		return false;
	}
	rt->tls = url.scheme == URL_SCHEME_HTTPS;
	if (url.has_fragment) {
		*detail = "a fragment (#...) is not allowed";
		return false;
	}
	if (url.has_query) {
		*detail = "a query (?...) is not allowed";
		return false;
	}
	host = url.authority;
	base = url.path;
	if (host.len == 0) {
		*detail = "the host is missing";
		return false;
	}
	if (memchr(host.ptr, '@', host.len)) {
		*detail = "userinfo (user@) is not allowed; inject credentials with headers.set";
		return false;
	}
	if (authority_parse(host, rt->tls ? 443 : 80, &auth, detail) != 0)
		return false;
	if (auth.kind == HOST_IPV4) {
		const char *colon = memchr(host.ptr, ':', host.len);
		if (colon)
			host.len = (size_t)(colon - host.ptr);
		if (authority_parse_ip_strict(host, &ip) != 0) {
			*detail = "write an IPv4 address as a dotted quad without leading zeros";
			return false;
		}
	}
	if (base.len > 0 && !check_path(base, detail))
		return false;
	if (base.len > 0 && base.ptr[base.len - 1] == '/')
		base.len--; /* "http://h/" and "http://h" are the same upstream */
	auth.spelled_at = auth.spelled_len = 0;
	rt->upstream = auth;
	config_value_copy(rt->upstream_host, sizeof(rt->upstream_host),
			  slice_make(auth.name, auth.name_len));
	rt->upstream_port = auth.port;
	config_value_copy(rt->upstream_base, sizeof(rt->upstream_base), base);
	return true;
}

static void read_route_host(struct config_reader *r, const struct config_key *k, const char *path)
{
	struct config *cfg = r->cfg;
	unsigned self = cfg->n_routes - 1;
	struct authority auth;
	struct slice s;
	const char *detail = "refused";
	char q[QUOTE_MAX];

	r->it.has_host = true;
	if (!config_reader_scalar_value(r, path, "a host name like search.internal", &s))
		return;
	config_reader_quote(s, q);
	if (authority_parse_host(s, &auth, &detail) != 0) {
		config_reader_error(r, r->ev.start_mark, "%s: %s is not a valid host name: %s",
				    path, q, detail);
		return;
	}
	if (auth.kind != HOST_NAME) {
		config_reader_error(
		    r, r->ev.start_mark,
		    "%s: %s is an IP address; a route maps a name that agents use (e.g. "
		    "search.internal)",
		    path, q);
		return;
	}
	for (unsigned i = 0; i < self; i++)
		if (strcmp(cfg->routes[i].host, auth.name) == 0) {
			config_reader_error(r, r->ev.start_mark,
					    "%s: %s is already routed (at %d:%d)", path, q,
					    config_reader_pos(r->route_marks[i].line),
					    config_reader_pos(r->route_marks[i].column));
			return;
		}
	config_value_copy(r->route->host, sizeof(r->route->host),
			  slice_make(auth.name, auth.name_len));
	r->route_marks[self] = r->ev.start_mark;
}

static void read_upstream(struct config_reader *r, const struct config_key *k, const char *path)
{
	struct slice s;
	const char *detail = "refused";
	char q[QUOTE_MAX];

	r->it.has_upstream = true;
	if (!config_reader_scalar_value(r, path, "a URL like \"http://searxng:8080\"", &s))
		return;
	if (!parse_upstream(s, r->route, &detail)) {
		config_reader_quote(s, q);
		config_reader_error(r, r->ev.start_mark, "%s: %s is not a valid upstream URL: %s",
				    path, q, detail);
		return;
	}
	r->it.upstream_ok = true;
}

static void route_agent_item(struct config_reader *r, const char *path, void *ctx)
{
	struct route *rt = r->route;
	struct config_agent_ref *ref;
	struct slice s;
	char q[QUOTE_MAX];

	if (!config_reader_scalar_string(r, path, "an agent name", &s))
		return;
	if (!config_value_is_agent_name(s)) {
		config_reader_quote(s, q);
		config_reader_error(r, r->ev.start_mark, "%s: no agent is named %s", path, q);
		return;
	}
	for (unsigned i = 0; i < rt->n_agents; i++)
		if (slice_eq(s, slice_from_cstr(rt->agents[i])))
			return; /* listed twice: harmless */
	if (rt->n_agents == ROUTE_MAX_AGENTS) {
		config_reader_error(r, r->ev.start_mark, "%s: too many agents (at most %d)", path,
				    ROUTE_MAX_AGENTS);
		return;
	}
	if (!config_reader_reserve((void **)&r->refs, &r->refs_cap, r->n_refs + 1,
				   sizeof(*r->refs))) {
		config_reader_error(r, r->ev.start_mark, "%s: out of memory", path);
		return;
	}
	ref = &r->refs[r->n_refs++];
	ref->route = r->cfg->n_routes - 1;
	ref->index = rt->n_agents;
	ref->mark = r->ev.start_mark;
	snprintf(ref->path, sizeof(ref->path), "%s", path);
	config_value_copy(rt->agents[rt->n_agents++], sizeof(rt->agents[0]), s);
}

static const struct config_list route_agent_list = {
    .items = "agent names", .item = "an agent name", .read = route_agent_item};

static void read_route_agents(struct config_reader *r, const struct config_key *k, const char *path)
{
	yaml_mark_t start = r->ev.start_mark;

	r->route->n_agents = 0;
	if (config_reader_list(r, path, &route_agent_list, NULL) == 0)
		config_reader_error(
		    r, start,
		    "%s: the list is empty, so no agent could use the route (leave agents "
		    "out to let every agent use it)",
		    path);
}

static void read_prefix(struct config_reader *r, const char *path, char *out, size_t size)
{
	struct slice s;
	const char *detail;
	char q[QUOTE_MAX];

	if (!config_reader_scalar_value(r, path, "a path prefix like \"/api/\"", &s))
		return;
	if (!check_path(s, &detail)) {
		config_reader_quote(s, q);
		config_reader_error(r, r->ev.start_mark, "%s: %s is not a valid path prefix: %s",
				    path, q, detail);
		return;
	}
	config_value_copy(out, size, s);
}

static void read_rewrite_from(struct config_reader *r, const struct config_key *k, const char *path)
{
	read_prefix(r, path, r->route->rewrite_from, sizeof(r->route->rewrite_from));
}

static void read_rewrite_to(struct config_reader *r, const struct config_key *k, const char *path)
{
	read_prefix(r, path, r->route->rewrite_to, sizeof(r->route->rewrite_to));
}

static void read_rewrite(struct config_reader *r, const struct config_key *k, const char *path)
{
	const struct route *rt = r->route;
	yaml_mark_t start = r->ev.start_mark;
	unsigned before = config_reader_errors_total(r);

	config_reader_section(r, k, path);
	if (config_reader_errors_total(r) == before &&
	    (rt->rewrite_from[0] == '\0') != (rt->rewrite_to[0] == '\0'))
		config_reader_error(r, start, "%s: set both from and to", path);
}

static void read_ca_file(struct config_reader *r, const struct config_key *k, const char *path)
{
	struct slice s;
	const char *detail;
	char q[QUOTE_MAX];

	r->it.has_ca_file = true;
	r->it.ca_mark = r->ev.start_mark;
	if (!config_reader_scalar_value(r, path, "a file path", &s))
		return;
	if (!config_value_file_path_ok(s, AGENT_SOURCE_MAX - 1, &detail)) {
		config_reader_quote(s, q);
		config_reader_error(r, r->ev.start_mark, "%s: %s is not a valid file path: %s",
				    path, q, detail);
		return;
	}
	config_value_copy(r->route->ca_file, sizeof(r->route->ca_file), s);
	r->route->ca_line = config_reader_pos(r->ev.start_mark.line);
	r->route->ca_column = config_reader_pos(r->ev.start_mark.column);
}

static const struct config_key rewrite_keys[] = {
    {.name = "from", .read = read_rewrite_from},
    {.name = "to", .read = read_rewrite_to},
};

static const struct config_key route_keys[] = {
    {.name = "host", .read = read_route_host},
    {.name = "upstream", .read = read_upstream},
    {.name = "agents", .read = read_route_agents},
    {.name = "rewrite", .read = read_rewrite, .sub = rewrite_keys, .n_sub = 2},
    {.name = "headers", .read = config_reader_section, .sub = config_headers_keys, .n_sub = 2},
    {.name = "ca_file", .read = read_ca_file},
};

static void route_check(struct config_reader *r, const struct route *rt, const char *path)
{
	if (!r->it.has_host)
		config_reader_error(
		    r, r->it.start,
		    "%s: host is required (the name agents use, e.g. search.internal)", path);
	if (!r->it.has_upstream)
		config_reader_error(r, r->it.start,
				    "%s: upstream is required (e.g. \"http://searxng:8080\")",
				    path);
	else if (r->it.upstream_ok && r->it.has_ca_file && !rt->tls)
		config_reader_error(r, r->it.ca_mark,
				    "%s.ca_file: only an https:// upstream uses a CA file", path);
}

static void route_item(struct config_reader *r, const char *path, void *ctx)
{
	struct config *cfg = r->cfg;
	struct route *rt;

	if (cfg->n_routes == CONFIG_MAX_ROUTES) {
		config_reader_error(r, r->ev.start_mark, "%s: too many routes (at most %d)", path,
				    CONFIG_MAX_ROUTES);
		config_reader_skip(r);
		return;
	}
	if (!config_reader_reserve((void **)&cfg->routes, &r->routes_cap, cfg->n_routes + 1,
				   sizeof(*cfg->routes)) ||
	    !config_reader_reserve((void **)&r->route_marks, &r->route_marks_cap, cfg->n_routes + 1,
				   sizeof(*r->route_marks))) {
		config_reader_error(r, r->ev.start_mark, "%s: out of memory", path);
		config_reader_skip(r);
		return;
	}
	rt = &cfg->routes[cfg->n_routes++];
	memset(rt, 0, sizeof(*rt));
	rt->line = config_reader_pos(r->ev.start_mark.line);
	memset(&r->it, 0, sizeof(r->it));
	r->it.start = r->ev.start_mark;
	r->route = rt;
	config_reader_mapping(r, path, route_keys, ARRAY_SIZE(route_keys));
	r->route = NULL;
	route_check(r, rt, path);
}

static const struct config_list route_list = {.items = "routes",
					      .item = "a route (a mapping with host and upstream)",
					      .read = route_item,
					      .mappings = true};

void config_routes_read(struct config_reader *r, const struct config_key *k, const char *path)
{
	config_reader_list(r, path, &route_list, NULL);
}

void config_routes_finish(struct config_reader *r)
{
	const struct config *cfg = r->cfg;
	char q[QUOTE_MAX];

	for (unsigned i = 0; i < r->n_refs; i++) {
		const struct config_agent_ref *ref = &r->refs[i];
		const char *name = cfg->routes[ref->route].agents[ref->index];
		unsigned a = 0;
		while (a < cfg->n_agents && strcmp(cfg->agents[a].name, name) != 0)
			a++;
		if (a < cfg->n_agents)
			continue;
		config_reader_quote(slice_from_cstr(name), q);
		config_reader_error(r, ref->mark, "%s: no agent is named %s%s", ref->path, q,
				    r->agents_given ? ""
						    : " (without an agents list the only agent is "
						      "\"default\")");
	}
}
