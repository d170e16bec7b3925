#include "config/config_headers.h"

#include <stdio.h>
#include <string.h>

#include "config/config_reader.h"
#include "config/config_value.h"
#include "parse/http1.h"

static bool has_prefix_nocase(struct slice s, struct slice prefix)
{
	return s.len >= prefix.len && slice_eq_nocase(slice_make(s.ptr, prefix.len), prefix);
}

/* Why a header may not be set or removed by a route, or NULL. sluice writes these itself, per
 * hop: letting a route touch them would let a config break the framing it relies on. The
 * hop-by-hop fields are the ones the HTTP parser drops when it forwards (http1.c). */
static const char *header_reserved(struct slice name)
{
	static const char framing[] =
	    "it frames the message (RFC 9112 section 6); sluice writes it";
	static const struct {
		const char *name, *why;
	} reserved[] = {
	    {"Host", "sluice sets Host from the upstream URL"},
	    {"Content-Length", framing},
	    {"Transfer-Encoding", framing},
	    {"Trailer", framing},
	};

	for (size_t i = 0; i < ARRAY_SIZE(reserved); i++)
		if (slice_eq_nocase(name, slice_from_cstr(reserved[i].name)))
			return reserved[i].why;
	if (has_prefix_nocase(name, SLICE_LIT("Proxy-")))
		return "Proxy-* fields belong to the hop between the agent and sluice and are "
		       "never "
		       "forwarded";
	if (http1_header_is_hop_by_hop(name, NULL, 0))
		return "it is hop-by-hop (RFC 9110 section 7.6.1); sluice manages it on each "
		       "connection";
	return NULL;
}

static bool header_name_ok(struct config_reader *r, const char *path, struct slice name)
{
	const char *why;
	char q[QUOTE_MAX];

	config_reader_quote(name, q);
	if (!config_value_is_token(name)) {
		config_reader_error(
		    r, r->ev.start_mark,
		    "%s: %s is not a header name (letters, digits and !#$%%&'*+-.^_`|~; "
		    "RFC 9110 section 5.1)",
		    path, q);
		return false;
	}
	if (name.len > ROUTE_HEADER_NAME_MAX) {
		config_reader_error(r, r->ev.start_mark,
				    "%s: %s is too long for a header name (at most %d "
				    "bytes)",
				    path, q, ROUTE_HEADER_NAME_MAX);
		return false;
	}
	why = header_reserved(name);
	if (why) {
		config_reader_error(r, r->ev.start_mark, "%s: %s cannot be set or removed: %s",
				    path, q, why);
		return false;
	}
	return true;
}

static bool header_in(struct slice name, const char (*names)[ROUTE_HEADER_NAME_MAX + 1],
		      size_t stride, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		const char *other = (const char *)names + i * stride;
		if (slice_eq_nocase(name, slice_from_cstr(other)))
			return true;
	}
	return false;
}

static void read_value_env(struct config_reader *r, const struct config_key *k, const char *path)
{
	struct route_header_set *h = r->header;
	struct slice s;
	char q[QUOTE_MAX];

	r->header_sources++;
	if (!config_reader_scalar_value(r, path, "an environment variable name", &s))
		return;
	if (!config_value_is_env_name(s, ROUTE_HEADER_VALUE_MAX)) {
		config_reader_quote(s, q);
		config_reader_error(
		    r, r->ev.start_mark,
		    "%s: %s is not an environment variable name (letters, digits and "
		    "'_', not starting with a digit)",
		    path, q);
		return;
	}
	h->kind = ROUTE_VALUE_ENV;
	h->line = config_reader_pos(r->ev.start_mark.line);
	h->column = config_reader_pos(r->ev.start_mark.column);
	config_value_copy(h->source, sizeof(h->source), s);
	h->ready = false; /* the daemon reads the variable */
}

static void read_value_file(struct config_reader *r, const struct config_key *k, const char *path)
{
	struct route_header_set *h = r->header;
	struct slice s;
	const char *detail;
	char q[QUOTE_MAX];

	r->header_sources++;
	if (!config_reader_scalar_value(r, path, "a file path", &s))
		return;
	if (!config_value_file_path_ok(s, ROUTE_HEADER_VALUE_MAX, &detail)) {
		config_reader_quote(s, q);
		config_reader_error(r, r->ev.start_mark, "%s: %s is not a valid file path: %s",
				    path, q, detail);
		return;
	}
	h->kind = ROUTE_VALUE_FILE;
	h->line = config_reader_pos(r->ev.start_mark.line);
	h->column = config_reader_pos(r->ev.start_mark.column);
	config_value_copy(h->source, sizeof(h->source), s);
	h->ready = false; /* the daemon reads the file */
}

static const struct config_key value_keys[] = {
    {.name = "env", .read = read_value_env},
    {.name = "file", .read = read_value_file},
};

/* A literal value is sent as written: RFC 9110 §5.5 field-vchar and inner SP/HTAB, kept to ASCII;
 * never CR or LF (that would be header injection). The value may be a secret, so messages never
 * config_reader_quote it. */
static void read_literal_value(struct config_reader *r, struct route_header_set *h,
			       const char *path)
{
	struct slice s;

	if (!config_reader_scalar_string(r, path, "a header value", &s))
		return;
	if (s.len > ROUTE_HEADER_VALUE_MAX) {
		config_reader_error(r, r->ev.start_mark,
				    "%s: the value is too long (at most %d bytes)", path,
				    ROUTE_HEADER_VALUE_MAX);
		return;
	}
	size_t bad = config_value_unprintable(s, '\t');
	if (bad < s.len) {
		config_reader_error(r, r->ev.start_mark,
				    "%s: byte %zu (0x%02x) of the value is not allowed (printable "
				    "ASCII, spaces and tabs only; RFC 9110 section 5.5)",
				    path, bad + 1, (unsigned char)s.ptr[bad]);
		return;
	}
	if (s.len > 0 && (s.ptr[0] == ' ' || s.ptr[0] == '\t' || s.ptr[s.len - 1] == ' ' ||
			  s.ptr[s.len - 1] == '\t')) {
		config_reader_error(
		    r, r->ev.start_mark,
		    "%s: the value begins or ends with a space or tab, which would be "
		    "stripped (RFC 9110 section 5.5)",
		    path);
		return;
	}
	h->kind = ROUTE_VALUE_LITERAL;
	config_value_copy(h->source, sizeof(h->source), s);
	config_value_copy(h->value, sizeof(h->value), s);
	h->ready = true;
}

void config_headers_read_value(struct config_reader *r, struct route_header_set *h,
			       const char *path)
{
	static const char what[] = "a header value (text, {env: NAME} or {file: /path})";
	yaml_mark_t start = r->ev.start_mark;
	unsigned before = config_reader_errors_total(r);

	if (r->ev.type == YAML_SCALAR_EVENT) {
		if (config_reader_scalar_kind(&r->ev) == CONFIG_SCALAR_NULL)
			config_reader_error(r, start, "%s: expected %s, got an empty value", path,
					    what);
		else
			read_literal_value(r, h, path);
		return;
	}
	if (r->ev.type != YAML_MAPPING_START_EVENT) {
		config_reader_error(r, start, "%s: expected %s, got %s", path, what,
				    config_reader_describe(&r->ev));
		config_reader_skip(r);
		return;
	}
	r->header = h;
	r->header_sources = 0;
	config_reader_mapping(r, path, value_keys, ARRAY_SIZE(value_keys));
	r->header = NULL;
	if (r->header_sources == 0 && config_reader_errors_total(r) == before)
		config_reader_error(r, start,
				    "%s: expected {env: NAME} or {file: /path}, got an empty "
				    "mapping",
				    path);
	else if (r->header_sources > 1)
		config_reader_error(r, start, "%s: give one of env and file, not both", path);
}

/* One key of headers.set: the header it names, added to the route, or NULL after an error
 * (the key is consumed either way; the value is still current for the caller). */
static struct route_header_set *header_set_key(struct config_reader *r, const char *path)
{
	struct route *rt = r->route;
	struct route_header_set *h;
	struct slice name;
	char q[QUOTE_MAX];

	if (!config_reader_node_begin(r, path))
		return NULL;
	if (r->ev.type != YAML_SCALAR_EVENT) {
		config_reader_error(r, r->ev.start_mark, "%s: keys must be strings, got %s", path,
				    config_reader_describe(&r->ev));
		config_reader_skip(r);
		return NULL;
	}
	name = config_reader_scalar_text(&r->ev);
	if (!header_name_ok(r, path, name))
		return NULL;
	config_reader_quote(name, q);
	if (header_in(name, &rt->set_headers[0].name, sizeof(rt->set_headers[0]),
		      rt->n_set_headers)) {
		config_reader_error(r, r->ev.start_mark,
				    "%s: %s is set twice (header names are case-insensitive)", path,
				    q);
		return NULL;
	}
	if (header_in(name, rt->remove_headers, sizeof(rt->remove_headers[0]),
		      rt->n_remove_headers)) {
		config_reader_error(
		    r, r->ev.start_mark,
		    "%s: %s is also in remove; a header the route sets already replaces "
		    "what the agent sent",
		    path, q);
		return NULL;
	}
	if (rt->n_set_headers == ROUTE_MAX_HEADERS) {
		config_reader_error(r, r->ev.start_mark, "%s: too many headers (at most %d)", path,
				    ROUTE_MAX_HEADERS);
		return NULL;
	}
	h = &rt->set_headers[rt->n_set_headers++];
	memset(h, 0, sizeof(*h));
	config_value_copy(h->name, sizeof(h->name), name);
	return h;
}

/* headers.set: a mapping whose keys are header names, so not a key_spec table. */
static void read_header_set(struct config_reader *r, const struct config_key *k, const char *path)
{
	char vpath[PATH_MAX_LEN + ROUTE_HEADER_NAME_MAX + 2];

	if (r->ev.type != YAML_MAPPING_START_EVENT) {
		if (r->ev.type == YAML_SCALAR_EVENT &&
		    config_reader_scalar_kind(&r->ev) == CONFIG_SCALAR_NULL)
			return;
		config_reader_error(r, r->ev.start_mark,
				    "%s: expected a mapping of header names to values, got %s",
				    path, config_reader_describe(&r->ev));
		config_reader_skip(r);
		return;
	}
	while (config_reader_next(r) && r->ev.type != YAML_MAPPING_END_EVENT) {
		struct route_header_set *h = header_set_key(r, path);
		if (!config_reader_next(r))
			return;
		if (!h) {
			config_reader_skip(r);
			continue;
		}
		snprintf(vpath, sizeof(vpath), "%s.%s", path, h->name);
		if (config_reader_node_begin(r, vpath))
			config_headers_read_value(r, h, vpath);
	}
}

static void remove_item(struct config_reader *r, const char *path, void *ctx)
{
	struct route *rt = r->route;
	struct slice s;
	char q[QUOTE_MAX];

	if (!config_reader_scalar_string(r, path, "a header name", &s) ||
	    !header_name_ok(r, path, s))
		return;
	if (header_in(s, &rt->set_headers[0].name, sizeof(rt->set_headers[0]), rt->n_set_headers)) {
		config_reader_quote(s, q);
		config_reader_error(
		    r, r->ev.start_mark,
		    "%s: %s is also in set; a header the route sets already replaces what "
		    "the agent sent",
		    path, q);
		return;
	}
	if (header_in(s, rt->remove_headers, sizeof(rt->remove_headers[0]), rt->n_remove_headers))
		return; /* listed twice: harmless */
	if (rt->n_remove_headers == ROUTE_MAX_HEADERS) {
		config_reader_error(r, r->ev.start_mark, "%s: too many headers (at most %d)", path,
				    ROUTE_MAX_HEADERS);
		return;
	}
	config_value_copy(rt->remove_headers[rt->n_remove_headers++], sizeof(rt->remove_headers[0]),
			  s);
}

static const struct config_list remove_list = {
    .items = "header names", .item = "a header name", .read = remove_item};

static void read_header_remove(struct config_reader *r, const struct config_key *k,
			       const char *path)
{
	config_reader_list(r, path, &remove_list, NULL);
}

const struct config_key config_headers_keys[] = {
    {.name = "set", .read = read_header_set},
    {.name = "remove", .read = read_header_remove},
};
