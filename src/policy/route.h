/* route: an operator-named path from a host name agents use (e.g. search.internal) to one
 * upstream URL, the only way to reach an internal address: its upstream is allowed because the
 * operator named it, and nothing else in that range opens. Pure data and matching; the daemon
 * reads the environment variables and files that header values name. */
#ifndef SLUICE_POLICY_ROUTE_H
#define SLUICE_POLICY_ROUTE_H

#include <stdbool.h>
#include <stdint.h>

#include "base/slice.h"
#include "parse/authority.h"
#include "policy/agent.h"

#define ROUTE_HOST_MAX 253
#define ROUTE_PREFIX_MAX 256
#define ROUTE_MAX_AGENTS 32
#define ROUTE_MAX_HEADERS 16
#define ROUTE_HEADER_NAME_MAX 128
#define ROUTE_HEADER_VALUE_MAX 4096

enum route_value_kind {
	ROUTE_VALUE_LITERAL, /* the text in the config */
	ROUTE_VALUE_ENV,     /* {env: NAME} */
	ROUTE_VALUE_FILE,    /* {file: /path} (trailing newline dropped) */
};

struct route_header_set {
	char name[ROUTE_HEADER_NAME_MAX + 1]; /* a token, case preserved */
	enum route_value_kind kind;
	char source[ROUTE_HEADER_VALUE_MAX + 1]; /* literal value, variable name or path */
	char value[ROUTE_HEADER_VALUE_MAX + 1];	 /* resolved value (== source for literals) */
	bool ready;				 /* value resolved */
	int line, column;			 /* where an env/file source is named */
};

struct route {
	char host[ROUTE_HOST_MAX + 1]; /* normalised name agents use; unique among routes */
	int line;
	/* upstream, from "http://host[:port][/base]" or "https://..." */
	bool tls;
	/* The upstream host parsed once, at load: a name to resolve or an address, and the port.
	 * Each request to the route connects from this (spelled_at and spelled_len are 0: the URL
	 * text is not kept). */
	struct authority upstream;
	char upstream_host[ROUTE_HOST_MAX + 1]; /* upstream.name: normalised name or IP text */
	uint16_t upstream_port;			/* upstream.port: default 80 / 443 */
	char upstream_base[ROUTE_PREFIX_MAX +
			   1]; /* path of the upstream URL without trailing '/'; "" */
	/* path rewrite: a request path starting with rewrite_from has that prefix replaced by
	 * rewrite_to (then upstream_base is prepended); both "" when not set */
	char rewrite_from[ROUTE_PREFIX_MAX + 1];
	char rewrite_to[ROUTE_PREFIX_MAX + 1];
	char agents[ROUTE_MAX_AGENTS][AGENT_NAME_MAX + 1]; /* empty: every agent may use it */
	unsigned n_agents;
	struct route_header_set set_headers[ROUTE_MAX_HEADERS];
	unsigned n_set_headers;
	char remove_headers[ROUTE_MAX_HEADERS][ROUTE_HEADER_NAME_MAX + 1];
	unsigned n_remove_headers;
	char ca_file[AGENT_SOURCE_MAX]; /* https: extra trust anchors (PEM); "" = system store */
	int ca_line, ca_column;		/* where ca_file is named, for messages */
};

/* The route whose host is dest (a name; literals are never routes), or NULL. */
const struct route *route_find(const struct route *routes, unsigned n,
			       const struct authority *dest);
/* True when the named agent may use the route. */
bool route_allows_agent(const struct route *r, const char *agent_name);
/* Writes the upstream path for a request path (origin-form, starting with '/' or '?'):
 * rewrite, then upstream_base prefix. Returns the length, or -1 when out is too small. */
int route_rewrite_path(const struct route *r, struct slice path, char *out, size_t out_size);
/* True when a request header must not be forwarded on this route (named in remove, or set by the
 * route, which replaces whatever the agent sent). */
bool route_drops_header(const struct route *r, struct slice name);

#endif
