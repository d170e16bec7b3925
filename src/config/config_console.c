#include "config/config_console.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "config/config.h"
#include "config/config_limits.h"
#include "config/config_value.h"

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
