#include "config/config_approvals.h"

#include <stdlib.h>
#include <string.h>

#include "base/utc_time.h"
#include "config/config_reader.h"
#include "config/config_value.h"
#include "parse/authority.h"

enum { KEY_AGENT = 1, KEY_HOST = 2, KEY_PORT = 4 };

static void read_agent(struct config_reader *r, const struct config_key *k, const char *path)
{
	struct slice v;
	char q[QUOTE_MAX];

	if (!config_reader_scalar_string(r, path, "an agent name or \"*\"", &v))
		return;
	if (!slice_eq(v, SLICE_LIT(APPROVAL_ANY_AGENT)) && !config_value_is_agent_name(v)) {
		config_reader_quote(v, q);
		config_reader_error(r, r->ev.start_mark,
				    "%s: %s is not an agent name (or \"*\" for every agent)", path,
				    q);
		return;
	}
	config_value_copy(r->item.agent, sizeof(r->item.agent), v);
	r->item_keys |= KEY_AGENT;
}

static void read_host(struct config_reader *r, const struct config_key *k, const char *path)
{
	struct slice v;
	struct authority a;
	const char *detail = NULL;
	char q[QUOTE_MAX];

	if (!config_reader_scalar_string(r, path, "a host name or IP address", &v))
		return;
	/* An IPv6 address is written bare (as the log shows it), not bracketed as in a URL. */
	struct ip_addr ip;
	if (memchr(v.ptr, ':', v.len) && authority_parse_ip_strict(v, &ip) == 0) {
		ip_addr_format(&ip, r->item.host);
		r->item_keys |= KEY_HOST;
		return;
	}
	if (authority_parse_host(v, &a, &detail) != 0 || a.name_len > APPROVAL_HOST_MAX) {
		config_reader_quote(v, q);
		config_reader_error(r, r->ev.start_mark, "%s: %s is not a host: %s", path, q,
				    detail ? detail : "too long");
		return;
	}
	memcpy(r->item.host, a.name, a.name_len + 1);
	r->item_keys |= KEY_HOST;
}

static void read_port(struct config_reader *r, const struct config_key *k, const char *path)
{
	struct slice v;
	unsigned long long n;
	const char *detail = NULL;

	if (!config_reader_scalar_value(r, path, "a port (0 for the name on every listed port)",
					&v))
		return;
	if (!config_value_parse_uint(v, &n, &detail) || n > 65535) {
		config_reader_error(r, r->ev.start_mark,
				    "%s: expected a port from 0 to 65535 (0: the name alone)",
				    path);
		return;
	}
	r->item.port = (uint16_t)n;
	r->item_keys |= KEY_PORT;
}

static void read_time(struct config_reader *r, const char *path, int64_t *out)
{
	struct slice v;

	if (!config_reader_scalar_string(r, path, "a time like 2026-12-05T10:00:00Z", &v))
		return;
	if (!utc_time_parse(v, out))
		config_reader_error(r, r->ev.start_mark,
				    "%s: expected a UTC time like 2026-12-05T10:00:00Z", path);
}

static void read_expires(struct config_reader *r, const struct config_key *k, const char *path)
{
	read_time(r, path, &r->item.expires);
}

static void read_at(struct config_reader *r, const struct config_key *k, const char *path)
{
	read_time(r, path, &r->item.at);
}

static void read_by(struct config_reader *r, const struct config_key *k, const char *path)
{
	struct slice v;

	if (!config_reader_scalar_string(r, path, "who gave the approval", &v))
		return;
	for (size_t i = 0; i < v.len; i++)
		if ((unsigned char)v.ptr[i] < 0x20 || v.ptr[i] == 0x7f) {
			config_reader_error(r, r->ev.start_mark, "%s: control characters", path);
			return;
		}
	config_value_copy(r->item.by, sizeof(r->item.by), v);
}

static const struct config_key item_keys[] = {
    {.name = "agent", .read = read_agent}, {.name = "host", .read = read_host},
    {.name = "port", .read = read_port},   {.name = "expires", .read = read_expires},
    {.name = "by", .read = read_by},	   {.name = "at", .read = read_at},
};

static void approval_item(struct config_reader *r, const char *path, void *ctx)
{
	yaml_mark_t start = r->ev.start_mark;

	memset(&r->item, 0, sizeof(r->item));
	r->item_keys = 0;
	config_reader_mapping(r, path, item_keys, ARRAY_SIZE(item_keys));
	if ((r->item_keys & (KEY_AGENT | KEY_HOST | KEY_PORT)) !=
	    (KEY_AGENT | KEY_HOST | KEY_PORT)) {
		config_reader_error(r, start, "%s: agent, host and port are required", path);
		return;
	}
	if (!r->item.by[0])
		memcpy(r->item.by, "file", sizeof("file"));
	if (approval_list_put(r->overlay, &r->item) != 0)
		config_reader_error(r, start, "%s: too many approvals (at most %d)", path,
				    APPROVALS_MAX);
}

static const struct config_list approval_items = {.items = "approvals",
						  .item = "an approval (agent, host, port)",
						  .read = approval_item,
						  .mappings = true};

static void read_list(struct config_reader *r, const struct config_key *k, const char *path)
{
	config_reader_list(r, path, &approval_items, NULL);
}

static const struct config_key root_keys[] = {
    {.name = "approvals", .read = read_list},
};

static void read_root(struct config_reader *r)
{
	static const struct config_key root = {
	    .name = "", .sub = root_keys, .n_sub = ARRAY_SIZE(root_keys)};
	config_reader_section(r, &root, "");
}

int config_approvals_parse(const char *text, size_t len, struct approval_list *out,
			   struct config_errors *errors)
{
	struct approval_list list;
	struct config_reader *r = calloc(1, sizeof(*r));

	memset(errors, 0, sizeof(*errors));
	approval_list_init(&list);
	if (!r || !yaml_parser_initialize(&r->parser)) {
		config_reader_add_error(errors, 0, 0, "out of memory");
		free(r);
		return -1;
	}
	r->errors = errors;
	r->text = slice_make(text ? text : "", text ? len : 0);
	r->overlay = &list;
	yaml_parser_set_input_string(&r->parser, (const unsigned char *)r->text.ptr, r->text.len);
	yaml_parser_set_encoding(&r->parser, YAML_UTF8_ENCODING);
	config_reader_document(r, read_root);
	if (r->have_ev)
		yaml_event_delete(&r->ev);
	yaml_parser_delete(&r->parser);
	free(r);
	if (errors->count > 0 || errors->dropped > 0 || approval_list_copy(out, &list) != 0) {
		if (errors->count == 0)
			config_reader_add_error(errors, 0, 0, "out of memory");
		approval_list_fini(&list);
		return -1;
	}
	approval_list_fini(&list);
	return 0;
}
