#include "config/config_console.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "config/config.h"
#include "config/config_limits.h"
#include "config/config_value.h"
#include "parse/authority.h"
#include "parse/url.h"

/* Only the hash of the console's token is in the file: whoever reads the config must not be
 * able to approve anything. */
static void read_token_sha256(struct config_reader *r, const struct config_key *k, const char *path)
{
	struct console_config *c = &r->cfg->console;
	struct slice s;

	if (!config_reader_scalar_value(r, path, "64 hex digits (the SHA-256 of the token)", &s))
		return;
	char got[48];
	if (!config_value_parse_sha256(s, c->token_sha256, got, sizeof(got))) {
		config_reader_error(
		    r, r->ev.start_mark,
		    "%s: expected 64 hex digits (the SHA-256 of the token, e.g. from "
		    "`printf %%s TOKEN | sha256sum`), got %s",
		    path, got);
		return;
	}
	c->has_token = true;
}

#define CONSOLE_FIELD(member) .field = offsetof(struct config, console.member)
#define APPROVALS_FIELD(member) .field = offsetof(struct config, approvals.member)

static const struct config_key console_keys[] = {
    {.name = "decisions",
     .read = config_limits_read,
     CONSOLE_FIELD(decisions),
     .min = 1,
     .max = CONSOLE_DECISIONS_MAX},
    {.name = "token_sha256", .read = read_token_sha256},
};

void config_console_read(struct config_reader *r, const struct config_key *k, const char *path)
{
	struct config_key section = *k;
	section.sub = console_keys;
	section.n_sub = ARRAY_SIZE(console_keys);
	config_reader_section(r, &section, path);
}

static void read_file(struct config_reader *r, const struct config_key *k, const char *path)
{
	struct slice s;
	const char *detail;
	char q[QUOTE_MAX];

	if (!config_reader_scalar_value(r, path, "a file path", &s))
		return;
	if (!config_value_file_path_ok(s, CONFIG_APPROVALS_FILE_MAX - 1, &detail)) {
		config_reader_quote(s, q);
		config_reader_error(r, r->ev.start_mark, "%s: %s is not a valid file path: %s",
				    path, q, detail);
		return;
	}
	config_value_copy(r->cfg->approvals.file, sizeof(r->cfg->approvals.file), s);
}

/* "http://host[:port]/path?query" or "https://...": where a new pending request is announced.
 * No userinfo (a receiver's secret goes in its path, as Slack's does, or signs the body) and no
 * fragment. */
static void read_webhook(struct config_reader *r, const struct config_key *k, const char *path)
{
	struct approvals_config *a = &r->cfg->approvals;
	struct authority auth;
	struct url url;
	struct slice s;
	const char *detail = NULL;

	if (!config_reader_scalar_value(r, path, "an http:// or https:// URL", &s))
		return;
	if (s.len >= CONFIG_WEBHOOK_URL_MAX)
		detail = "too long (at most 1023 bytes)";
	else if (url_split(s, &url) != URL_OK)
		detail = "the URL must start with http:// or https://";
	else if (url.has_fragment)
		detail = "a fragment (#...) is not allowed";
	else if (url.authority.len == 0)
		detail = "the host is missing";
	else if (memchr(url.authority.ptr, '@', url.authority.len))
		detail = "userinfo (user@) is not allowed; sign the body with webhook_secret_env";
	else if (authority_parse(url.authority, url.scheme == URL_SCHEME_HTTPS ? 443 : 80, &auth,
				 &detail) != 0)
		;
	else {
		for (size_t i = 0; i < url.path.len && !detail; i++)
			if ((unsigned char)url.path.ptr[i] <= ' ' || url.path.ptr[i] == 0x7f)
				detail = "a space or control byte in the path";
	}
	if (detail) {
		char q[QUOTE_MAX];
		config_reader_quote(s, q);
		config_reader_error(r, r->ev.start_mark, "%s: %s is not a webhook URL: %s", path, q,
				    detail);
		return;
	}
	config_value_copy(a->webhook.host, sizeof(a->webhook.host),
			  slice_make(auth.name, auth.name_len));
	a->webhook.port = auth.port;
	a->webhook.tls = url.scheme == URL_SCHEME_HTTPS;
	if (url.path.len == 0 || url.path.ptr[0] != '/')
		snprintf(a->webhook.path, sizeof(a->webhook.path), "/%.*s", (int)url.path.len,
			 url.path.ptr);
	else
		config_value_copy(a->webhook.path, sizeof(a->webhook.path), url.path);
}

static void read_webhook_secret_env(struct config_reader *r, const struct config_key *k,
				    const char *path)
{
	struct approvals_config *a = &r->cfg->approvals;
	struct slice s;
	char q[QUOTE_MAX];

	if (!config_reader_scalar_value(r, path, "an environment variable name", &s))
		return;
	if (!config_value_is_env_name(s, sizeof(a->webhook.secret_env) - 1)) {
		config_reader_quote(s, q);
		config_reader_error(r, r->ev.start_mark,
				    "%s: %s is not an environment variable name (letters, digits "
				    "and '_', not starting with a digit)",
				    path, q);
		return;
	}
	config_value_copy(a->webhook.secret_env, sizeof(a->webhook.secret_env), s);
}

static const struct config_key approvals_keys[] = {
    {.name = "timeout",
     .read = config_limits_read_duration,
     APPROVALS_FIELD(timeout_ms),
     .max = APPROVALS_TIMEOUT_MAX_MS},
    {.name = "file", .read = read_file},
    {.name = "max_pending",
     .read = config_limits_read,
     APPROVALS_FIELD(max_pending),
     .min = 1,
     .max = APPROVALS_PENDING_MAX},
    {.name = "webhook", .read = read_webhook},
    {.name = "webhook_secret_env", .read = read_webhook_secret_env},
};

_Static_assert(sizeof(((struct config *)0)->approvals.max_pending) == sizeof(unsigned),
	       "config_limits_read stores an unsigned");

void config_approvals_read(struct config_reader *r, const struct config_key *k, const char *path)
{
	r->approvals_mark = r->ev.start_mark;
	struct config_key section = *k;
	section.sub = approvals_keys;
	section.n_sub = ARRAY_SIZE(approvals_keys);
	config_reader_section(r, &section, path);
	if (r->cfg->approvals.timeout_ms > APPROVALS_TIMEOUT_MAX_MS)
		config_reader_error(r, r->approvals_mark,
				    "approvals.timeout: at most 10m (a client waiting longer has "
				    "long given up)");
}

static bool agent_asks(const struct agent *a)
{
	return (a->has_mode && a->mode == AGENT_ASK) || a->ask;
}

void config_console_finish(struct config_reader *r)
{
	const struct config *cfg = r->cfg;
	bool asks = agent_asks(&cfg->base);
	const char *who = "the top level";

	if (cfg->approvals.webhook.secret_env[0] && !cfg->approvals.webhook.host[0])
		config_reader_error(r, r->approvals_mark,
				    "approvals.webhook_secret_env signs the webhook's body: set "
				    "approvals.webhook too");

	for (unsigned i = 0; i < cfg->n_agents && !asks; i++)
		if (agent_asks(&cfg->agents[i])) {
			asks = true;
			who = cfg->agents[i].name;
		}
	if (!asks)
		return;
	if (!cfg->has_admin)
		config_reader_add_error(r->errors, 0, 0,
					"%s%s asks for approvals (mode: ask or ask:), which are "
					"answered on the admin listener: set listen.admin (e.g. "
					"127.0.0.1:9090)",
					strcmp(who, "the top level") ? "agent " : "", who);
	else if (!config_console_open(cfg))
		config_reader_error(r, r->admin_mark,
				    "listen.admin: %s is not a loopback address, so its console "
				    "(where approvals are answered) needs console.token_sha256",
				    r->admin_text);
}

bool config_console_open(const struct config *cfg)
{
	return cfg->has_admin && (cfg->console.has_token || ip_addr_is_loopback(&cfg->admin.addr));
}
