#include "config/config_limits.h"

#include <stddef.h>

#include "config/config_reader.h"
#include "config/config_value.h"
#include "parse/http1.h"

static unsigned *config_field(struct config_reader *r, const struct config_key *k)
{
	return (unsigned *)(void *)((char *)r->cfg + k->field);
}

void config_limits_read_duration(struct config_reader *r, const struct config_key *k,
				 const char *path)
{
	struct slice s;
	const char *detail;
	char q[QUOTE_MAX];
	static const char what[] = "a duration like 10s, 500ms, 5m or 0.5";

	if (r->ev.type != YAML_SCALAR_EVENT) {
		config_reader_error(r, r->ev.start_mark, "%s: expected %s, got %s", path, what,
				    config_reader_describe(&r->ev));
		config_reader_skip(r);
		return;
	}
	if (!config_reader_scalar_string(r, path, what, &s))
		return;
	if (!config_value_parse_duration(s, config_field(r, k), &detail)) {
		config_reader_quote(s, q);
		config_reader_error(r, r->ev.start_mark, "%s: %s is not a valid duration: %s", path,
				    q, detail);
	}
}

/* timeouts.drain and timeouts.reload_revoke: a duration, or 0 ("stop at once on SIGTERM";
 * "tunnels open before a reload are never cut"). */
void config_limits_read_duration_or_zero(struct config_reader *r, const struct config_key *k,
					 const char *path)
{
	if (r->ev.type == YAML_SCALAR_EVENT &&
	    config_reader_scalar_kind(&r->ev) != CONFIG_SCALAR_BOOL) {
		struct slice s = config_reader_scalar_text(&r->ev);
		if (slice_eq_cstr_nocase(s, "0") || slice_eq_cstr_nocase(s, "0s") ||
		    slice_eq_cstr_nocase(s, "0ms")) {
			*config_field(r, k) = 0;
			return;
		}
	}
	config_limits_read_duration(r, k, path);
}

void config_limits_read(struct config_reader *r, const struct config_key *k, const char *path)
{
	struct slice s;
	unsigned long long v;
	const char *detail;
	char q[QUOTE_MAX];

	if (r->ev.type != YAML_SCALAR_EVENT) {
		config_reader_error(r, r->ev.start_mark, "%s: expected a whole number, got %s",
				    path, config_reader_describe(&r->ev));
		config_reader_skip(r);
		return;
	}
	if (!config_reader_scalar_string(r, path, "a whole number", &s))
		return;
	config_reader_quote(s, q);
	if (!config_value_parse_uint(s, &v, &detail))
		config_reader_error(r, r->ev.start_mark, "%s: %s is not valid: %s", path, q,
				    detail);
	else if (v < k->min || v > k->max)
		config_reader_error(r, r->ev.start_mark, "%s: %s is out of range (%u-%u)", path, q,
				    k->min, k->max);
	else
		*config_field(r, k) = (unsigned)v;
}

#define TIMEOUT(key, member)                                                                       \
	{                                                                                          \
		.name = key, .read = config_limits_read_duration,                                  \
		.field = offsetof(struct config, member)                                           \
	}

const struct config_key config_limits_timeout_keys[] = {
    TIMEOUT("request_head", head_timeout_ms),
    TIMEOUT("client_idle", idle_timeout_ms),
    TIMEOUT("connect", connect_timeout_ms),
    TIMEOUT("upstream_response", upstream_timeout_ms),
    TIMEOUT("tunnel_idle", tunnel_idle_ms),
    TIMEOUT("dns", dns_timeout_ms),
    TIMEOUT("tls_handshake", tls_handshake_ms),
    {.name = "drain",
     .read = config_limits_read_duration_or_zero,
     .field = offsetof(struct config, drain_ms)},
    {.name = "reload_revoke",
     .read = config_limits_read_duration_or_zero,
     .field = offsetof(struct config, reload_revoke_ms)},
};

const struct config_key config_limits_keys[] = {
    {.name = "max_request_head",
     .read = config_limits_read,
     .field = offsetof(struct config, max_head_bytes),
     .min = 1024,
     .max = 1048576},
    {.name = "max_request_headers",
     .read = config_limits_read,
     .field = offsetof(struct config, max_request_headers),
     .min = 1,
     .max = HTTP1_MAX_HEADERS_CAP},
    {.name = "max_response_head",
     .read = config_limits_read,
     .field = offsetof(struct config, max_response_head),
     .min = 1024,
     .max = 1048576},
    {.name = "max_response_headers",
     .read = config_limits_read,
     .field = offsetof(struct config, max_response_headers),
     .min = 1,
     .max = HTTP1_MAX_HEADERS_CAP},
    {.name = "max_connections",
     .read = config_limits_read,
     .field = offsetof(struct config, max_connections),
     .min = 1,
     .max = 1000000},
    {.name = "max_pending_dns",
     .read = config_limits_read,
     .field = offsetof(struct config, max_pending_dns),
     .min = 0,
     .max = 1000000},
    {.name = "max_connections_per_agent",
     .read = config_limits_read,
     .field = offsetof(struct config, max_connections_per_agent),
     .min = 0,
     .max = 1000000},
};
