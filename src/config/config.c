/* config: config_parse reads one YAML document through config_reader and the section files, then
 * runs the checks that need the whole file; config_default and config_free. */
#include "config/config.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config_agents.h"
#include "config/config_dns.h"
#include "config/config_intercept.h"
#include "config/config_credentials.h"
#include "config/config_request_rules.h"
#include "config/config_scan.h"
#include "config/config_console.h"
#include "config/config_search.h"
#include "config/config_tls.h"
#include "config/config_tunnel.h"
#include "config/config_limits.h"
#include "config/config_listen.h"
#include "config/config_log.h"
#include "config/config_privileges.h"
#include "config/config_reader.h"
#include "config/config_redact.h"
#include "config/config_resolver.h"
#include "config/config_routes.h"
#include "config/config_rules.h"
#include "parse/http1.h"

/* a comes strictly before b: by line, then column; errors without a position go last. */
static bool error_before(const struct config_error *a, const struct config_error *b)
{
	if (a->line == 0 || b->line == 0)
		return a->line != 0 && b->line == 0;
	return a->line != b->line ? a->line < b->line : a->column < b->column;
}

/* Checks at the end of an item or of the file add errors out of document order; a stable sort
 * by position puts them back. Only done when libyaml did not fail: its error stays last. */
static void errors_sort(struct config_errors *errors)
{
	for (unsigned i = 1; i < errors->count; i++) {
		struct config_error e = errors->items[i];
		unsigned j = i;
		for (; j > 0 && error_before(&e, &errors->items[j - 1]); j--)
			errors->items[j] = errors->items[j - 1];
		errors->items[j] = e;
	}
}

#define SECTION(key, keys)                                                                         \
	{                                                                                          \
		.name = key, .read = config_reader_section, .sub = keys, .n_sub = ARRAY_SIZE(keys) \
	}

static const struct config_key top_keys[] = {
    SECTION("listen", config_listen_keys),
    SECTION("resolver", config_resolver_keys),
    SECTION("ips", config_rules_ips_keys),
    {.name = "allow", .read = config_rules_read_allow},
    {.name = "deny", .read = config_rules_read_deny},
    {.name = "ask", .read = config_rules_read_ask},
    {.name = "ports", .read = config_rules_read_ports},
    SECTION("timeouts", config_limits_timeout_keys),
    SECTION("limits", config_limits_keys),
    SECTION("log", config_log_keys),
    {.name = "workers",
     .read = config_limits_read,
     .field = offsetof(struct config, workers),
     .min = 0,
     .max = CONFIG_MAX_WORKERS},
    {.name = "user", .read = config_privileges_read_user},
    {.name = "seccomp", .read = config_privileges_read_seccomp},
    {.name = "mode", .read = config_agents_read_mode},
    {.name = "methods", .read = config_agents_read_methods},
    {.name = "max_request_body", .read = config_agents_read_max_request_body},
    {.name = "guidance", .read = config_agents_read_guidance},
    SECTION("dns", config_dns_keys),
    SECTION("tunnel", config_tunnel_keys),
    {.name = "tls",
     .read = config_tls_read,
     .sub = config_tls_keys,
     .n_sub = ARRAY_SIZE(config_tls_keys)},
    {.name = "intercept", .read = config_intercept_read},
    {.name = "rules", .read = config_request_rules_read},
    {.name = "credentials", .read = config_credentials_read},
    {.name = "scan", .read = config_scan_read},
    {.name = "agents", .read = config_agents_read},
    {.name = "routes", .read = config_routes_read},
    {.name = "search", .read = config_search_read},
    {.name = "console", .read = config_console_read},
    {.name = "approvals", .read = config_approvals_read},
};

/* ---- documents ------------------------------------------------------------------------- */

static void read_root(struct config_reader *r)
{
	char valid[KEYS_TEXT_MAX];

	if (!config_reader_node_begin(r, "top level"))
		return;
	if (r->ev.type == YAML_MAPPING_START_EVENT) {
		config_reader_mapping(r, "", top_keys, ARRAY_SIZE(top_keys));
		return;
	}
	if (r->ev.type == YAML_SCALAR_EVENT &&
	    config_reader_scalar_kind(&r->ev) == CONFIG_SCALAR_NULL)
		return;
	config_reader_keys_text(top_keys, ARRAY_SIZE(top_keys), valid, sizeof(valid));
	config_reader_error(r, r->ev.start_mark,
			    "the top level must be a mapping with keys %s, got %s", valid,
			    config_reader_describe(&r->ev));
	config_reader_skip(r);
}

/* ---- public ---------------------------------------------------------------------------- */

static void config_set_defaults(struct config *cfg)
{
	struct config_endpoint ep = {.addr = {.family = IP_V4, .bytes = {127, 0, 0, 1}},
				     .port = 3128};

	cfg->listen_http[0] = ep;
	cfg->n_listen_http = 1;
	cfg->rules.listeners[0].addr = ep.addr;
	cfg->rules.listeners[0].port = ep.port;
	cfg->rules.n_listeners = 1;
	cfg->n_resolvers = 0;
	cfg->head_timeout_ms = 10 * 1000;
	cfg->idle_timeout_ms = 60 * 1000;
	cfg->connect_timeout_ms = 10 * 1000;
	cfg->upstream_timeout_ms = 60 * 1000;
	cfg->tunnel_idle_ms = 300 * 1000;
	cfg->dns_timeout_ms = 5 * 1000;
	cfg->drain_ms = 30 * 1000;
	cfg->reload_revoke_ms = 3 * 1000;
	cfg->max_head_bytes = 65536;
	cfg->max_request_headers = HTTP1_DEFAULT_MAX_HEADERS;
	cfg->max_response_head = 65536;
	cfg->max_response_headers = HTTP1_DEFAULT_MAX_HEADERS;
	cfg->max_connections = 10000;
	cfg->max_connections_per_agent = 0;
	cfg->max_pending_dns = 1000;
	cfg->seccomp = true;
	memcpy(cfg->tls_state_dir, CONFIG_TLS_STATE_DIR_DEFAULT,
	       sizeof(CONFIG_TLS_STATE_DIR_DEFAULT));
	cfg->tls_cert_cache = 1024;
	cfg->tls_upstream_http2 = true;
	cfg->tls_handshake_ms = 10 * 1000;
	cfg->console.decisions = CONSOLE_DECISIONS_DEFAULT;
	cfg->approvals.timeout_ms = APPROVALS_TIMEOUT_DEFAULT_MS;
	cfg->approvals.max_pending = APPROVALS_PENDING_DEFAULT;
}

struct config *config_default(void)
{
	struct config *cfg = calloc(1, sizeof(*cfg));

	if (!cfg)
		return NULL;
	cfg->agents = calloc(1, sizeof(*cfg->agents));
	if (!cfg->agents || policy_rules_init(&cfg->rules) != 0) {
		free(cfg->agents);
		free(cfg);
		return NULL;
	}
	config_set_defaults(cfg);
	agent_init(&cfg->base);
	/* No agents list: one implicit agent that every client falls to, inheriting everything. */
	agent_init(&cfg->agents[0]);
	memcpy(cfg->agents[0].name, "default", sizeof("default"));
	cfg->n_agents = 1;
	cfg->default_agent = 0;
	return cfg;
}

void config_free(struct config *cfg)
{
	if (!cfg)
		return;
	policy_rules_fini(&cfg->rules);
	agent_fini(&cfg->base);
	for (unsigned i = 0; i < cfg->n_agents; i++)
		agent_fini(&cfg->agents[i]);
	free(cfg->agents);
	/* Literal header values are often credentials. */
	if (cfg->routes)
		explicit_bzero(cfg->routes, cfg->n_routes * sizeof(*cfg->routes));
	free(cfg->routes);
	free(cfg->policy_text);
	free(cfg);
}

/* Redacted once, at load: the console serves the same text until the next reload. */
static void config_keep_policy_text(struct config *cfg, const char *text, size_t len)
{
	struct buf out = {0};

	/* Re-emitted, a scalar may come out escaped several times its size. */
	size_t max = 8 * len + 4096;
	if (config_redact(text, len, &out, max) && buf_append(&out, "", 1, max + 1)) {
		cfg->policy_text = malloc(buf_len(&out));
		if (cfg->policy_text)
			memcpy(cfg->policy_text, buf_head(&out), buf_len(&out));
	}
	buf_release(&out);
}

struct config *config_parse(const char *text, size_t len, struct config_errors *errors)
{
	struct config_errors discard;
	struct config_reader *r;

	if (!errors)
		errors = &discard;
	memset(errors, 0, sizeof(*errors));
	r = calloc(1, sizeof(*r));
	if (!r || !yaml_parser_initialize(&r->parser)) {
		config_reader_add_error(errors, 0, 0, "out of memory");
		free(r);
		return NULL;
	}
	r->errors = errors;
	r->text = slice_make(text ? text : "", text ? len : 0);
	r->cfg = config_default();
	if (r->cfg) {
		yaml_parser_set_input_string(&r->parser, (const unsigned char *)r->text.ptr,
					     r->text.len);
		/* Config files are UTF-8; positions from byte offsets then mean what they say. */
		yaml_parser_set_encoding(&r->parser, YAML_UTF8_ENCODING);
		config_reader_document(r, read_root);
		config_rules_finish(r);
		config_listen_finish(r);
		config_dns_finish(r);
		config_agents_finish(r);
		config_intercept_finish(r);
		if (!r->stop) {
			config_routes_finish(r);
			config_search_finish(r);
			config_console_finish(r);
			errors_sort(errors);
		}
	} else {
		config_reader_add_error(errors, 0, 0, "out of memory");
	}
	if (r->have_ev)
		yaml_event_delete(&r->ev);
	yaml_parser_delete(&r->parser);
	struct config *cfg = r->cfg;
	free(r->agent_marks);
	free(r->route_marks);
	free(r->refs);
	free(r);
	if (errors->count > 0 || errors->dropped > 0) {
		config_free(cfg);
		return NULL;
	}
	config_keep_policy_text(cfg, text ? text : "", text ? len : 0);
	return cfg;
}

void config_error_format(const struct config_error *e, char *out, size_t out_size)
{
	if (e->line > 0)
		snprintf(out, out_size, "%d:%d: %s", e->line, e->column, e->message);
	else
		snprintf(out, out_size, "%s", e->message);
}
