/* config: YAML text to a validated configuration. Reads libyaml events (not the document API) so
 * that aliases are seen and refused where they appear instead of being silently expanded, and so
 * that each value is checked against the schema as it streams by, with its own line:column. */
#include "config/config.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "base/bug.h"
#include "base/hex.h"
#include "parse/authority.h"
#include "parse/cidr.h"
#include "parse/http1.h"
#include "parse/url.h"
#include "policy/cidr_set.h"
#include "policy/domain_set.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* A message shows at most this many bytes of the offending value: enough to recognise it. */
#define QUOTE_SRC_MAX 40
#define QUOTE_MAX (QUOTE_SRC_MAX * 4 + 8)
#define PATH_MAX_LEN 96
#define KEYS_TEXT_MAX 192
#define SECTION_KEYS_MAX 24
#define DURATION_MAX_MS (24u * 60 * 60 * 1000)
#define DNS_DEFAULT_PORT 53

_Static_assert(CONFIG_MAX_LISTEN + 1 <= POLICY_MAX_LISTENERS,
	       "every listen address and the admin address is a listener");

/* What one agents[] or routes[] item has shown so far, for the checks at its end (keys may come
 * in any order). */
struct config_item_state {
	yaml_mark_t start;
	/* keys seen (valid or not: a key with a bad value has its own error already) */
	bool has_name, has_match, has_host, has_upstream, has_ca_file;
	bool recognised; /* match.source or a token key was given */
	bool match_bad;	 /* match has errors of its own (then "set match..." would only echo) */
	bool name_ok, upstream_ok;
	yaml_mark_t match_mark, token_mark, ca_mark;
	const char *token_key; /* the first match.token_* key given */
};

/* A name in routes[].agents, checked once every agent is known (agents may come later). */
struct config_agent_ref {
	unsigned route, index; /* routes[route].agents[index] */
	yaml_mark_t mark;
	char path[PATH_MAX_LEN];
};

struct config_reader {
	yaml_parser_t parser;
	yaml_event_t ev; /* the current event, valid while have_ev */
	bool have_ev;
	bool stop; /* libyaml failed: nothing more can be read */
	struct slice text;
	struct config *cfg;
	struct config_errors *errors;
	yaml_mark_t listen_marks[CONFIG_MAX_LISTEN];
	bool listen_given; /* listen.http was read: listen_marks hold its positions */
	yaml_mark_t admin_mark;
	char admin_text[QUOTE_MAX];
	bool ports_given;
	uint8_t ports[65536 / 8]; /* collected here, applied to the rules once at the end */
	/* agents and routes */
	struct agent *agent; /* the agents[] item being read; NULL at the top level (cfg->base) */
	struct route *route; /* the routes[] item being read */
	struct route_header_set *header; /* the headers.set value being read */
	unsigned header_sources;	 /* keys given in a {env: ..} / {file: ..} value */
	struct config_item_state it;
	bool agents_given;
	unsigned agents_cap, agent_marks_cap, routes_cap, route_marks_cap, refs_cap;
	yaml_mark_t *agent_marks; /* where each agent's name is, for "first at" */
	yaml_mark_t *route_marks; /* where each route's host is */
	struct config_agent_ref *refs;
	unsigned n_refs;
};

struct config_key;
typedef void config_key_fn(struct config_reader *r, const struct config_key *k, const char *path);

/* One key of a mapping: its handler, and what the handler needs (a field, bounds, sub-keys). */
struct config_key {
	const char *name;
	config_key_fn *read;
	size_t field; /* offsetof(struct config, ...) for timeouts and limits */
	unsigned min, max;
	const struct config_key *sub; /* keys of a section */
	size_t n_sub;
};

/* ---- errors ---------------------------------------------------------------------------- */

__attribute__((format(printf, 4, 0))) static void
errors_vadd(struct config_errors *errors, int line, int column, const char *fmt, va_list ap)
{
	if (errors->count >= CONFIG_MAX_ERRORS) {
		errors->dropped++;
		return;
	}
	struct config_error *e = &errors->items[errors->count++];
	e->line = line;
	e->column = column;
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
}

__attribute__((format(printf, 4, 5))) static void
config_reader_add_error(struct config_errors *errors, int line, int column, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	errors_vadd(errors, line, column, fmt, ap);
	va_end(ap);
}

/* yaml_mark_t is 0-based; messages are 1-based like every editor. */
static int config_reader_pos(size_t zero_based)
{
	return zero_based >= INT_MAX - 1 ? INT_MAX : (int)zero_based + 1;
}

__attribute__((format(printf, 3, 4))) static void
config_reader_error(struct config_reader *r, yaml_mark_t mark, const char *fmt, ...)
{
	va_list ap;
	if (r->stop)
		return; /* the syntax error stands alone (reader_yaml_error) */
	va_start(ap, fmt);
	errors_vadd(r->errors, config_reader_pos(mark.line), config_reader_pos(mark.column), fmt,
		    ap);
	va_end(ap);
}

/* The value as the user wrote it, quoted, with control and non-ASCII bytes escaped so that a
 * message is one printable line whatever the file holds. out has QUOTE_MAX bytes. */
static void config_reader_quote(struct slice v, char *out)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = v.len > QUOTE_SRC_MAX ? QUOTE_SRC_MAX : v.len, o = 0;

	out[o++] = '"';
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v.ptr[i];
		if (c == '"' || c == '\\') {
			out[o++] = '\\';
			out[o++] = (char)c;
		} else if (c >= 0x20 && c < 0x7f) {
			out[o++] = (char)c;
		} else {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o++] = '"';
	if (n < v.len)
		for (int i = 0; i < 3; i++)
			out[o++] = '.';
	out[o] = '\0';
	BUG_ON(o >= QUOTE_MAX);
}

static void config_reader_keys_text(const struct config_key *keys, size_t n, char *out, size_t size)
{
	size_t o = 0;
	out[0] = '\0';
	for (size_t i = 0; i < n && o < size; i++)
		o += (size_t)snprintf(out + o, size - o, "%s%s", i ? ", " : "", keys[i].name);
}

/* ---- events ---------------------------------------------------------------------------- */

/* True when line (0-based) of the text is indented with a tab: libyaml's message for that
 * ("found character that cannot start any token") does not say so. */
static bool line_indented_with_tab(struct slice text, size_t line)
{
	size_t i = 0;
	for (; i < text.len && line > 0; i++)
		if (text.ptr[i] == '\n')
			line--;
	for (; i < text.len && (text.ptr[i] == ' ' || text.ptr[i] == '\t'); i++)
		if (text.ptr[i] == '\t')
			return true;
	return false;
}

/* A file libyaml cannot read is reported by this error alone: what libyaml handed over before
 * failing may be a piece of the broken text (a plain scalar that ran into the next key, a
 * section cut short whose defaults then clash), so no error found so far can be trusted. */
static void reader_yaml_error(struct config_reader *r)
{
	const yaml_parser_t *p = &r->parser;
	const char *problem = p->problem ? p->problem : "malformed YAML";

	r->errors->count = 0;
	r->errors->dropped = 0;
	if (p->error == YAML_MEMORY_ERROR) {
		config_reader_add_error(r->errors, 0, 0, "out of memory while reading YAML");
	} else if (p->error == YAML_READER_ERROR) {
		/* Reader errors carry a byte offset, not a mark. */
		size_t end = p->problem_offset < r->text.len ? p->problem_offset : r->text.len;
		size_t line = 0, col = 0;
		for (size_t i = 0; i < end; i++, col++)
			if (r->text.ptr[i] == '\n') {
				line++;
				col = (size_t)-1;
			}
		config_reader_add_error(r->errors, config_reader_pos(line), config_reader_pos(col),
					"not UTF-8 YAML text: %s (0x%x)", problem,
					(unsigned)p->problem_value);
	} else {
		const char *hint = line_indented_with_tab(r->text, p->problem_mark.line)
				       ? "; indent with spaces, YAML does not allow tabs"
				       : "";
		char context[CONFIG_ERROR_MAX / 2] = "";
		if (p->context)
			snprintf(context, sizeof(context), " (%s at %d:%d)", p->context,
				 config_reader_pos(p->context_mark.line),
				 config_reader_pos(p->context_mark.column));
		config_reader_add_error(r->errors, config_reader_pos(p->problem_mark.line),
					config_reader_pos(p->problem_mark.column),
					"YAML syntax error: %s%s%s", problem, context, hint);
	}
}

/* Moves to the next event. False when libyaml failed (the error is recorded) or already had. */
static bool config_reader_next(struct config_reader *r)
{
	if (r->have_ev) {
		yaml_event_delete(&r->ev);
		r->have_ev = false;
	}
	if (r->stop)
		return false;
	if (!yaml_parser_parse(&r->parser, &r->ev)) {
		reader_yaml_error(r);
		r->stop = true;
		return false;
	}
	r->have_ev = true;
	return true;
}

/* Consumes the node whose first event is current, through its last event. Iterative: nesting
 * depth is bounded only by the input. */
static void config_reader_skip(struct config_reader *r)
{
	size_t depth = 0;
	do {
		switch (r->ev.type) {
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			depth++;
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			depth--;
			break;
		default:
			break;
		}
		if (depth == 0)
			return;
	} while (config_reader_next(r));
}

static bool config_reader_is_node(const yaml_event_t *ev)
{
	return ev->type == YAML_SCALAR_EVENT || ev->type == YAML_SEQUENCE_START_EVENT ||
	       ev->type == YAML_MAPPING_START_EVENT || ev->type == YAML_ALIAS_EVENT;
}

/* Anchors, aliases and explicit tags are refused: a config should read the same to a person as
 * to sluice, and aliases are the lever of "billion laughs" expansion. Returns false for an
 * alias (a one-event node the caller has nothing more to do with). */
static bool config_reader_node_begin(struct config_reader *r, const char *path)
{
	const yaml_event_t *ev = &r->ev;
	const yaml_char_t *anchor = NULL, *tag = NULL;
	char q[QUOTE_MAX];

	/* libyaml limits anchor names to [0-9A-Za-z_-]: safe to show as they are. */
	if (ev->type == YAML_ALIAS_EVENT) {
		config_reader_error(r, ev->start_mark,
				    "%s: aliases (*%.40s) are not allowed; write the value out",
				    path, (const char *)ev->data.alias.anchor);
		return false;
	}
	if (ev->type == YAML_SCALAR_EVENT) {
		anchor = ev->data.scalar.anchor;
		tag = ev->data.scalar.tag;
	} else if (ev->type == YAML_SEQUENCE_START_EVENT) {
		anchor = ev->data.sequence_start.anchor;
		tag = ev->data.sequence_start.tag;
	} else if (ev->type == YAML_MAPPING_START_EVENT) {
		anchor = ev->data.mapping_start.anchor;
		tag = ev->data.mapping_start.tag;
	}
	if (anchor)
		config_reader_error(r, ev->start_mark, "%s: anchors (&%.40s) are not allowed", path,
				    (const char *)anchor);
	if (tag) {
		config_reader_quote(slice_from_cstr((const char *)tag), q);
		config_reader_error(r, ev->start_mark, "%s: tags (%s) are not allowed", path, q);
	}
	return true;
}

/* ---- scalars --------------------------------------------------------------------------- */

enum config_scalar_kind {
	CONFIG_SCALAR_NULL,
	CONFIG_SCALAR_BOOL,
	CONFIG_SCALAR_NUMBER,
	CONFIG_SCALAR_STRING
};

static struct slice config_reader_scalar_text(const yaml_event_t *ev)
{
	return slice_make((const char *)ev->data.scalar.value, ev->data.scalar.length);
}

static bool slice_in(struct slice s, const char *const *words, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (slice_eq(s, slice_from_cstr(words[i])))
			return true;
	return false;
}

static bool looks_numeric(struct slice s)
{
	size_t i = (s.len > 0 && s.ptr[0] == '-') ? 1 : 0, dots = 0, digits = 0;
	for (; i < s.len; i++) {
		if (s.ptr[i] == '.')
			dots++;
		else if (s.ptr[i] >= '0' && s.ptr[i] <= '9')
			digits++;
		else
			return false;
	}
	return digits > 0 && dots <= 1;
}

/* YAML 1.1 resolution of plain scalars, as far as it matters here: a plain yes/on/true is a
 * boolean and an empty or ~ value is null, so neither silently becomes a name. Quoted scalars
 * are always strings. */
static enum config_scalar_kind config_reader_scalar_kind(const yaml_event_t *ev)
{
	static const char *const nulls[] = {"", "~", "null", "Null", "NULL"};
	static const char *const bools[] = {"yes",  "Yes",  "YES",  "no",    "No",    "NO",
					    "true", "True", "TRUE", "false", "False", "FALSE",
					    "on",   "On",   "ON",   "off",   "Off",   "OFF"};
	struct slice s = config_reader_scalar_text(ev);

	if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return CONFIG_SCALAR_STRING;
	if (slice_in(s, nulls, ARRAY_SIZE(nulls)))
		return CONFIG_SCALAR_NULL;
	if (slice_in(s, bools, ARRAY_SIZE(bools)))
		return CONFIG_SCALAR_BOOL;
	return looks_numeric(s) ? CONFIG_SCALAR_NUMBER : CONFIG_SCALAR_STRING;
}

/* The value of a plain boolean (config_reader_scalar_kind said CONFIG_SCALAR_BOOL): yes, on or
 * true. */
static bool config_reader_scalar_bool(const yaml_event_t *ev)
{
	static const char *const yes[] = {"yes",  "Yes", "YES", "true", "True",
					  "TRUE", "on",	 "On",	"ON"};
	return slice_in(config_reader_scalar_text(ev), yes, ARRAY_SIZE(yes));
}

static const char *config_reader_describe(const yaml_event_t *ev)
{
	switch (ev->type) {
	case YAML_SEQUENCE_START_EVENT:
		return "a list";
	case YAML_MAPPING_START_EVENT:
		return "a mapping";
	case YAML_ALIAS_EVENT:
		return "an alias";
	case YAML_SCALAR_EVENT:
		break;
	default:
		return "nothing";
	}
	switch (config_reader_scalar_kind(ev)) {
	case CONFIG_SCALAR_NULL:
		return "an empty value";
	case CONFIG_SCALAR_BOOL:
		return "a boolean";
	case CONFIG_SCALAR_NUMBER:
		return "a number";
	default:
		return "a string";
	}
}

/* The current scalar as text, unless it is a plain null or boolean (then an error). */
static bool config_reader_scalar_string(struct config_reader *r, const char *path, const char *what,
					struct slice *out)
{
	enum config_scalar_kind kind = config_reader_scalar_kind(&r->ev);
	char q[QUOTE_MAX];

	if (kind == CONFIG_SCALAR_NULL) {
		config_reader_error(r, r->ev.start_mark, "%s: expected %s, got an empty value",
				    path, what);
		return false;
	}
	if (kind == CONFIG_SCALAR_BOOL) {
		config_reader_quote(config_reader_scalar_text(&r->ev), q);
		config_reader_error(
		    r, r->ev.start_mark,
		    "%s: expected %s, got the boolean %.*s (write %s to mean the text)", path, what,
		    (int)r->ev.data.scalar.length, (const char *)r->ev.data.scalar.value, q);
		return false;
	}
	*out = config_reader_scalar_text(&r->ev);
	return true;
}

/* ---- value syntax ---------------------------------------------------------------------- */

/* Strict unsigned decimal: digits only, no sign, no leading zero (YAML 1.1 reads 0443 as octal;
 * refusing it avoids guessing which the user meant). */
static bool config_value_parse_uint(struct slice s, unsigned long long *out, const char **detail)
{
	if (!slice_parse_u64(s, out)) {
		size_t i = 0;
		while (i < s.len && s.ptr[i] >= '0' && s.ptr[i] <= '9')
			i++;
		*detail = (s.len > 0 && i == s.len) ? "too large" : "not a whole number";
		return false;
	}
	if (s.len > 1 && s.ptr[0] == '0') {
		*detail = "leading zeros are not allowed";
		return false;
	}
	return true;
}

static bool config_value_parse_port(struct slice s, unsigned *port, const char **detail)
{
	unsigned long long v;
	if (!config_value_parse_uint(s, &v, detail))
		return false;
	if (v == 0) {
		*detail = "port 0 is not allowed";
		return false;
	}
	if (v > 65535) {
		*detail = "out of range (1-65535)";
		return false;
	}
	*port = (unsigned)v;
	return true;
}

/* "80", "8000-8999" or "*" (1-65535). */
static bool config_value_parse_port_range(struct slice s, unsigned *lo, unsigned *hi,
					  const char **detail)
{
	if (slice_eq(s, SLICE_LIT("*"))) {
		*lo = 1;
		*hi = 65535;
		return true;
	}
	const char *dash = s.len ? memchr(s.ptr, '-', s.len) : NULL;
	if (!dash) {
		if (!config_value_parse_port(s, lo, detail))
			return false;
		*hi = *lo;
		return true;
	}
	struct slice a = slice_make(s.ptr, (size_t)(dash - s.ptr));
	struct slice b = slice_make(dash + 1, s.len - a.len - 1);
	if (!config_value_parse_port(a, lo, detail) || !config_value_parse_port(b, hi, detail))
		return false;
	if (*lo > *hi) {
		*detail = "the range is reversed (write low-high)";
		return false;
	}
	return true;
}

static unsigned long long duration_unit_ms(struct slice unit)
{
	if (unit.len == 0 || slice_eq(unit, SLICE_LIT("s")))
		return 1000;
	if (slice_eq(unit, SLICE_LIT("ms")))
		return 1;
	if (slice_eq(unit, SLICE_LIT("m")))
		return 60 * 1000;
	if (slice_eq(unit, SLICE_LIT("h")))
		return 60 * 60 * 1000;
	return 0;
}

/* "10", "0.5" (seconds), "500ms", "30s", "5m", "1h": a whole number of milliseconds in
 * 1ms..24h. Integer arithmetic only, so "0.1" is exactly 100ms. */
static bool config_value_parse_duration(struct slice s, unsigned *ms, const char **detail)
{
	unsigned long long whole = 0, frac = 0, scale = 1, unit, total;
	size_t i = 0, digits = 0;

	*detail = "not a duration (write e.g. 10s, 500ms, 5m or 0.5)";
	if (s.len > 0 && s.ptr[0] == '-') {
		*detail = "must be greater than 0";
		return false;
	}
	for (; i < s.len && s.ptr[i] >= '0' && s.ptr[i] <= '9'; i++, digits++)
		if (digits < 9)
			whole = whole * 10 + (unsigned long long)(s.ptr[i] - '0');
	if (digits == 0)
		return false;
	if (digits > 9) {
		*detail = "too long (at most 24h)";
		return false;
	}
	if (i < s.len && s.ptr[i] == '.') {
		for (digits = 0, i++; i < s.len && s.ptr[i] >= '0' && s.ptr[i] <= '9';
		     i++, digits++)
			if (digits < 9) {
				frac = frac * 10 + (unsigned long long)(s.ptr[i] - '0');
				scale *= 10;
			} else if (s.ptr[i] != '0') {
				*detail = "not a whole number of milliseconds";
				return false;
			}
		if (digits == 0)
			return false;
	}
	unit = duration_unit_ms(slice_make(s.ptr + i, s.len - i));
	if (unit == 0) {
		*detail = "unknown unit (use ms, s, m or h)";
		return false;
	}
	if (__builtin_mul_overflow(whole * scale + frac, unit, &total)) {
		*detail = "too long (at most 24h)";
		return false;
	}
	if (total % scale != 0) {
		*detail = "not a whole number of milliseconds";
		return false;
	}
	total /= scale;
	if (total == 0)
		*detail = "must be greater than 0";
	else if (total > DURATION_MAX_MS)
		*detail = "too long (at most 24h)";
	else
		*ms = (unsigned)total;
	return total > 0 && total <= DURATION_MAX_MS;
}

/* Splits "host:port", "[v6]:port", "[v6]", a bare IPv4 or (when no port is required) a bare
 * IPv6 address. Returns false with *detail when the shape itself is wrong. */
static bool split_endpoint(struct slice s, struct slice *host, struct slice *port, bool *bracketed,
			   const char **detail)
{
	*bracketed = s.len > 0 && s.ptr[0] == '[';
	*port = slice_make(NULL, 0);
	if (*bracketed) {
		const char *close = memchr(s.ptr, ']', s.len);
		if (!close) {
			*detail = "missing ']'";
			return false;
		}
		*host = slice_make(s.ptr + 1, (size_t)(close - s.ptr) - 1);
		struct slice rest = slice_make(close + 1, s.len - host->len - 2);
		if (rest.len > 0 && rest.ptr[0] != ':') {
			*detail = "unexpected text after ']'";
			return false;
		}
		if (rest.len > 0)
			*port = slice_make(rest.ptr + 1, rest.len - 1);
		return true;
	}
	const char *colon = s.len ? memchr(s.ptr, ':', s.len) : NULL;
	*host = s;
	if (colon && !memchr(colon + 1, ':', s.len - (size_t)(colon - s.ptr) - 1)) {
		*host = slice_make(s.ptr, (size_t)(colon - s.ptr));
		*port = slice_make(colon + 1, s.len - host->len - 1);
	}
	return true;
}

/* An IP literal endpoint (names are never resolved at load time: the config must not depend on
 * DNS). IPv6 always goes in brackets: "::1:53" could be an address or an address and a port.
 * default_port 0 means a port is required. */
static bool config_value_parse_endpoint(struct slice s, uint16_t default_port,
					struct config_endpoint *out, const char **detail)
{
	struct slice host, port;
	bool bracketed;
	unsigned p;

	if (!split_endpoint(s, &host, &port, &bracketed, detail))
		return false;
	bool has_port = port.ptr != NULL;
	if (!has_port && default_port == 0) {
		*detail = !bracketed && memchr(host.ptr, ':', host.len)
			      ? "IPv6 addresses need brackets and a port, e.g. [::1]:3128"
			      : "a port is required, e.g. 127.0.0.1:3128 or [::1]:3128";
		return false;
	}
	if (authority_parse_ip_strict(host, &out->addr) != 0) {
		*detail = "not an IP address (host names are not allowed here)";
		return false;
	}
	if (bracketed != (out->addr.family == IP_V6)) {
		*detail = bracketed ? "brackets are only for IPv6 addresses"
				    : "IPv6 addresses need brackets, e.g. [::1] or [::1]:53";
		return false;
	}
	if (has_port && !config_value_parse_port(port, &p, detail))
		return false;
	out->port = has_port ? (uint16_t)p : default_port;
	return true;
}

/* ---- lists ----------------------------------------------------------------------------- */

typedef void config_list_item_fn(struct config_reader *r, const char *path, void *ctx);

struct config_list {
	const char *items; /* "domain patterns", for "expected a list of ..." */
	const char *item;  /* "a domain pattern", for "expected ..." */
	config_list_item_fn *read;
	bool mappings; /* items are mappings (agents, routes), not scalars */
};

static void list_type_error(struct config_reader *r, const char *path,
			    const struct config_list *spec)
{
	char q[QUOTE_MAX];
	if (!spec->mappings && r->ev.type == YAML_SCALAR_EVENT &&
	    config_reader_scalar_kind(&r->ev) == CONFIG_SCALAR_STRING) {
		config_reader_quote(config_reader_scalar_text(&r->ev), q);
		config_reader_error(
		    r, r->ev.start_mark,
		    "%s: expected a list of %s, got a string; write [%s] for a list of one", path,
		    spec->items, q);
		return;
	}
	config_reader_error(r, r->ev.start_mark, "%s: expected a list of %s, got %s", path,
			    spec->items, config_reader_describe(&r->ev));
}

/* Reads a list of scalars (or of mappings) whose first event is current. Returns the number of
 * items, or -1 when the value is not a list or the YAML broke off (so callers do not add "empty
 * list"). */
static int config_reader_list(struct config_reader *r, const char *path,
			      const struct config_list *spec, void *ctx)
{
	char ipath[PATH_MAX_LEN];
	unsigned n = 0;

	if (r->ev.type != YAML_SEQUENCE_START_EVENT) {
		list_type_error(r, path, spec);
		config_reader_skip(r);
		return -1;
	}
	while (config_reader_next(r) && r->ev.type != YAML_SEQUENCE_END_EVENT) {
		snprintf(ipath, sizeof(ipath), "%s[%u]", path, n++);
		if (!config_reader_node_begin(r, ipath))
			continue;
		if (r->ev.type != (spec->mappings ? YAML_MAPPING_START_EVENT : YAML_SCALAR_EVENT)) {
			config_reader_error(r, r->ev.start_mark, "%s: expected %s, got %s", ipath,
					    spec->item, config_reader_describe(&r->ev));
			config_reader_skip(r);
			continue;
		}
		spec->read(r, ipath, ctx);
	}
	return r->stop ? -1 : (int)n;
}

/* ---- listen ---------------------------------------------------------------------------- */

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

static bool config_reader_scalar_value(struct config_reader *r, const char *path, const char *what,
				       struct slice *out);

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

/* The admin address must not be a proxy address; once accepted it is one of sluice's own
 * listeners, so a proxied request aimed at it is refused as a loop. */
static void config_listen_finish(struct config_reader *r)
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

/* ---- resolver -------------------------------------------------------------------------- */

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

/* ---- domain patterns and CIDRs --------------------------------------------------------- */

/* "name:port" pins a pattern to one destination port. Only a single colon splits: anything with
 * more (an IPv6 address) goes to domain_set_add whole and is refused there. */
static int domain_add(struct domain_set *set, struct slice s, const char **detail)
{
	const char *colon = s.len ? memchr(s.ptr, ':', s.len) : NULL;
	struct slice name, port_text;
	unsigned port;

	if (!colon || memchr(colon + 1, ':', s.len - (size_t)(colon - s.ptr) - 1))
		return domain_set_add(set, s, detail);
	name = slice_make(s.ptr, (size_t)(colon - s.ptr));
	port_text = slice_make(colon + 1, s.len - name.len - 1);
	if (!config_value_parse_port(port_text, &port, detail)) {
		*detail = "the port must be a number from 1 to 65535 (\"api.example.com:8443\")";
		return -1;
	}
	return domain_set_add_port(set, name, (uint16_t)port, detail);
}

static void domain_item(struct config_reader *r, const char *path, void *ctx)
{
	struct slice s;
	const char *detail = NULL;
	char q[QUOTE_MAX];

	if (!config_reader_scalar_string(r, path, "a domain pattern", &s))
		return;
	if (domain_add(ctx, s, &detail) != 0) {
		config_reader_quote(s, q);
		config_reader_error(r, r->ev.start_mark, "%s: %s is not a valid domain pattern: %s",
				    path, q, detail ? detail : "refused");
	}
}

static const struct config_list domain_list = {
    .items = "domain patterns", .item = "a domain pattern", .read = domain_item};

/* allow, deny: an explicit list replaces the default set (allow: [] denies every name). */
static void read_domains(struct config_reader *r, const char *path, struct domain_set **slot)
{
	struct domain_set *set = domain_set_new();

	if (!set) {
		config_reader_error(r, r->ev.start_mark, "%s: out of memory", path);
		config_reader_skip(r);
		return;
	}
	if (config_reader_list(r, path, &domain_list, set) < 0) {
		domain_set_free(set);
		return;
	}
	domain_set_free(*slot);
	*slot = set;
}

/* At the top level the rules of every agent; in an agents[] item that agent's own (a set, even
 * an empty one, replaces the inherited rule). */
static void config_rules_read_allow(struct config_reader *r, const struct config_key *k,
				    const char *path)
{
	read_domains(r, path, r->agent ? &r->agent->allow : &r->cfg->rules.allow);
}

static void config_rules_read_deny(struct config_reader *r, const struct config_key *k,
				   const char *path)
{
	read_domains(r, path, r->agent ? &r->agent->deny : &r->cfg->rules.deny);
}

static void cidr_item(struct config_reader *r, const char *path, void *ctx)
{
	struct slice s;
	struct ip_addr addr;
	unsigned prefix_len;
	const char *detail = NULL;
	char q[QUOTE_MAX];

	if (!config_reader_scalar_string(r, path, "a CIDR", &s))
		return;
	config_reader_quote(s, q);
	if (cidr_parse(s, &addr, &prefix_len, &detail) != 0)
		config_reader_error(r, r->ev.start_mark, "%s: %s is not a valid CIDR: %s", path, q,
				    detail ? detail : "refused");
	else if (cidr_set_add(ctx, &addr, prefix_len) != 0)
		config_reader_error(r, r->ev.start_mark,
				    "%s: %s could not be added (out of memory)", path, q);
}

static const struct config_list cidr_list = {
    .items = "CIDRs", .item = "a CIDR like \"10.0.0.0/8\"", .read = cidr_item};

/* Returns what config_reader_list returns (-1 also when out of memory). */
static int config_rules_read_cidrs(struct config_reader *r, const char *path,
				   struct cidr_set **slot)
{
	struct cidr_set *set = cidr_set_new();
	int n;

	if (!set) {
		config_reader_error(r, r->ev.start_mark, "%s: out of memory", path);
		config_reader_skip(r);
		return -1;
	}
	n = config_reader_list(r, path, &cidr_list, set);
	if (n < 0) {
		cidr_set_free(set);
		return -1;
	}
	cidr_set_free(*slot);
	*slot = set;
	return n;
}

static void read_ips_allow(struct config_reader *r, const struct config_key *k, const char *path)
{
	config_rules_read_cidrs(r, path, &r->cfg->rules.ips_allow);
}

static void read_ips_deny(struct config_reader *r, const struct config_key *k, const char *path)
{
	config_rules_read_cidrs(r, path, &r->cfg->rules.ips_deny);
}

/* ---- ports ----------------------------------------------------------------------------- */

static void ports_mark(uint8_t *bitmap, unsigned lo, unsigned hi)
{
	unsigned p = lo;
	while (p <= hi) {
		if (p % 8 == 0 && p + 7 <= hi) {
			bitmap[p / 8] = 0xff;
			p += 8;
		} else {
			bitmap[p / 8] |= (uint8_t)(1u << (p % 8));
			p++;
		}
	}
}

static void port_item(struct config_reader *r, const char *path, void *ctx)
{
	struct slice s;
	unsigned lo, hi;
	const char *detail;
	char q[QUOTE_MAX];

	if (!config_reader_scalar_string(r, path, "a port, a range \"low-high\" or \"*\"", &s))
		return;
	if (!config_value_parse_port_range(s, &lo, &hi, &detail)) {
		config_reader_quote(s, q);
		config_reader_error(r, r->ev.start_mark, "%s: %s is not a valid port: %s", path, q,
				    detail);
		return;
	}
	ports_mark(ctx, lo, hi);
}

static const struct config_list port_list = {
    .items = "ports", .item = "a port, a range \"low-high\" or \"*\"", .read = port_item};

/* At the top level collected into r->ports (applied to the rules at the end); in an agents[]
 * item straight into that agent's bitmap. */
static void config_rules_read_ports(struct config_reader *r, const struct config_key *k,
				    const char *path)
{
	yaml_mark_t start = r->ev.start_mark;
	bool given = r->ev.type == YAML_SEQUENCE_START_EVENT;
	uint8_t *bitmap = r->ports;

	if (r->agent) {
		r->agent->has_ports = given;
		bitmap = r->agent->ports;
	} else {
		r->ports_given = given;
	}
	if (config_reader_list(r, path, &port_list, bitmap) == 0)
		config_reader_error(
		    r, start,
		    "%s: the list is empty, so no port would be allowed (write [\"*\"] "
		    "for any port)",
		    path);
}

static void config_rules_finish(struct config_reader *r)
{
	if (!r->ports_given)
		return;
	for (unsigned p = 0; p <= 65535; p++)
		policy_rules_set_port(&r->cfg->rules, (uint16_t)p,
				      (r->ports[p / 8] >> (p % 8)) & 1);
}

/* ---- timeouts and limits --------------------------------------------------------------- */

static unsigned *config_field(struct config_reader *r, const struct config_key *k)
{
	return (unsigned *)(void *)((char *)r->cfg + k->field);
}

static void read_duration(struct config_reader *r, const struct config_key *k, const char *path)
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
static void read_duration_or_zero(struct config_reader *r, const struct config_key *k,
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
	read_duration(r, k, path);
}

static void config_limits_read(struct config_reader *r, const struct config_key *k,
			       const char *path)
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

/* ---- mappings -------------------------------------------------------------------------- */

/* Reads one key of a mapping (the current event). Returns its index in keys, or -1 after
 * reporting an unknown, duplicate or non-string key. */
static int read_key(struct config_reader *r, const char *section, const struct config_key *keys,
		    size_t n, yaml_mark_t *first, bool *seen)
{
	const char *where = section[0] ? section : "top level";
	char q[QUOTE_MAX], valid[KEYS_TEXT_MAX];

	if (!config_reader_node_begin(r, where))
		return -1;
	if (r->ev.type != YAML_SCALAR_EVENT) {
		config_reader_error(r, r->ev.start_mark, "%s: keys must be strings, got %s", where,
				    config_reader_describe(&r->ev));
		config_reader_skip(r);
		return -1;
	}
	struct slice name = config_reader_scalar_text(&r->ev);
	config_reader_quote(name, q);
	for (size_t i = 0; i < n; i++) {
		if (!slice_eq(name, slice_from_cstr(keys[i].name)))
			continue;
		if (seen[i]) {
			config_reader_error(
			    r, r->ev.start_mark, "duplicate key %s%s%s (first at %d:%d)", q,
			    section[0] ? " in " : "", section, config_reader_pos(first[i].line),
			    config_reader_pos(first[i].column));
			return -1;
		}
		seen[i] = true;
		first[i] = r->ev.start_mark;
		return (int)i;
	}
	config_reader_keys_text(keys, n, valid, sizeof(valid));
	config_reader_error(r, r->ev.start_mark, "unknown key %s%s%s (valid: %s)", q,
			    section[0] ? " in " : "", section, valid);
	return -1;
}

/* The current event starts a mapping: reads key/value pairs through its end. */
static void config_reader_mapping(struct config_reader *r, const char *section,
				  const struct config_key *keys, size_t n)
{
	yaml_mark_t first[SECTION_KEYS_MAX];
	bool seen[SECTION_KEYS_MAX] = {false};
	/* Room for the longest section (a header set's path) and a key: a cut path would name
	 * the wrong place in an error message. */
	char path[PATH_MAX_LEN + ROUTE_HEADER_NAME_MAX + 2 + PATH_MAX_LEN];

	BUG_ON(n > SECTION_KEYS_MAX);
	while (config_reader_next(r) && r->ev.type != YAML_MAPPING_END_EVENT) {
		int k = read_key(r, section, keys, n, first, seen);
		if (!config_reader_next(r))
			return;
		if (k < 0) {
			config_reader_skip(r);
			continue;
		}
		snprintf(path, sizeof(path), "%s%s%s", section, section[0] ? "." : "",
			 keys[k].name);
		if (config_reader_node_begin(r, path))
			keys[k].read(r, &keys[k], path);
	}
}

/* A section (listen, resolver, ips, timeouts, limits): a mapping, or empty (all defaults). */
static void config_reader_section(struct config_reader *r, const struct config_key *k,
				  const char *path)
{
	char valid[KEYS_TEXT_MAX];

	if (r->ev.type == YAML_MAPPING_START_EVENT) {
		config_reader_mapping(r, path, k->sub, k->n_sub);
		return;
	}
	if (r->ev.type == YAML_SCALAR_EVENT &&
	    config_reader_scalar_kind(&r->ev) == CONFIG_SCALAR_NULL)
		return;
	config_reader_keys_text(k->sub, k->n_sub, valid, sizeof(valid));
	config_reader_error(r, r->ev.start_mark, "%s: expected a mapping with keys %s, got %s",
			    path, valid, config_reader_describe(&r->ev));
	config_reader_skip(r);
}

/* ---- text checks ----------------------------------------------------------------------- */

/* RFC 9110 §5.6.2 tchar: the characters of a method or a header field name. */
static bool is_tchar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static bool config_value_is_token(struct slice s)
{
	if (s.len == 0)
		return false;
	for (size_t i = 0; i < s.len; i++)
		if (!is_tchar(s.ptr[i]))
			return false;
	return true;
}

/* Agent names: [A-Za-z0-9._-]{1,64}. They are the user part of Proxy-Authorization and appear
 * in every log line, so nothing that needs quoting or escaping. */
static bool config_value_is_agent_name(struct slice s)
{
	if (s.len == 0 || s.len > AGENT_NAME_MAX)
		return false;
	for (size_t i = 0; i < s.len; i++) {
		char c = s.ptr[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

/* POSIX portable environment variable names: [A-Za-z_][A-Za-z0-9_]*. */
static bool config_value_is_env_name(struct slice s, size_t max)
{
	if (s.len == 0 || s.len > max || (s.ptr[0] >= '0' && s.ptr[0] <= '9'))
		return false;
	for (size_t i = 0; i < s.len; i++) {
		char c = s.ptr[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_'))
			return false;
	}
	return true;
}

/* Files the daemon reads later: absolute (the daemon's working directory is nobody's business)
 * and free of control bytes, so a message can show the path as it is. */
static bool config_value_file_path_ok(struct slice s, size_t max, const char **detail)
{
	if (s.len == 0 || s.ptr[0] != '/') {
		*detail = "must be an absolute path (starting with '/')";
		return false;
	}
	if (s.len > max) {
		*detail = "too long";
		return false;
	}
	for (size_t i = 0; i < s.len; i++)
		if ((unsigned char)s.ptr[i] < 0x20 || s.ptr[i] == 0x7f) {
			*detail = "control characters are not allowed";
			return false;
		}
	return true;
}

/* Copies a slice whose length the caller has checked against the destination. */
static void config_value_copy(char *dst, size_t size, struct slice s)
{
	BUG_ON(s.len >= size);
	if (s.len > 0)
		memcpy(dst, s.ptr, s.len);
	dst[s.len] = '\0';
}

/* The current node must be a scalar: else an error, the node is skipped and false returned. */
static bool config_reader_scalar_value(struct config_reader *r, const char *path, const char *what,
				       struct slice *out)
{
	if (r->ev.type != YAML_SCALAR_EVENT) {
		config_reader_error(r, r->ev.start_mark, "%s: expected %s, got %s", path, what,
				    config_reader_describe(&r->ev));
		config_reader_skip(r);
		return false;
	}
	return config_reader_scalar_string(r, path, what, out);
}

static unsigned config_reader_errors_total(const struct config_reader *r)
{
	return r->errors->count + r->errors->dropped;
}

/* Grows an array to hold need elements (doubling); false when out of memory. */
static bool config_reader_reserve(void **arr, unsigned *cap, unsigned need, size_t size)
{
	unsigned n = *cap ? *cap : 4;
	void *p;

	if (need <= *cap)
		return true;
	while (n < need)
		n *= 2;
	p = realloc(*arr, (size_t)n * size);
	if (!p)
		return false;
	*arr = p;
	*cap = n;
	return true;
}

/* ---- rules of an agent (top level: what every agent inherits) -------------------------- */

/* The agent whose keys are being read: an agents[] item, or cfg->base at the top level. */
static struct agent *reader_agent(struct config_reader *r)
{
	return r->agent ? r->agent : &r->cfg->base;
}

static void config_agents_read_mode(struct config_reader *r, const struct config_key *k,
				    const char *path)
{
	static const char *const names[] = {"enforce", "report", "open"};
	static const enum agent_mode modes[] = {AGENT_ENFORCE, AGENT_REPORT, AGENT_OPEN};
	struct agent *a = reader_agent(r);
	struct slice s;
	char q[QUOTE_MAX];

	if (!config_reader_scalar_value(r, path, "a mode (enforce, report or open)", &s))
		return;
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (slice_eq(s, slice_from_cstr(names[i]))) {
			a->mode = modes[i];
			a->has_mode = true;
			return;
		}
	config_reader_quote(s, q);
	config_reader_error(r, r->ev.start_mark,
			    "%s: %s is not a mode (valid: enforce, report, open)", path, q);
}

/* RFC 9110 §9.1: a method is a token. Stored upper-case: every registered method is, and an
 * operator writing "get" means GET. CONNECT is refused here because methods only bound plain
 * HTTP requests; a tunnel is judged by allow, deny and ports. */
static void method_item(struct config_reader *r, const char *path, void *ctx)
{
	struct agent *a = ctx;
	char upper[AGENT_METHOD_MAX];
	struct slice s;
	char q[QUOTE_MAX];

	if (!config_reader_scalar_string(r, path, "an HTTP method", &s))
		return;
	config_reader_quote(s, q);
	if (!config_value_is_token(s) || s.len >= AGENT_METHOD_MAX) {
		config_reader_error(
		    r, r->ev.start_mark, "%s: %s is not an HTTP method: %s", path, q,
		    s.len >= AGENT_METHOD_MAX
			? "too long (at most 23 characters)"
			: "a method is one word of letters, digits or !#$%&'*+-.^_`|~");
		return;
	}
	for (size_t i = 0; i < s.len; i++)
		upper[i] =
		    (s.ptr[i] >= 'a' && s.ptr[i] <= 'z') ? (char)(s.ptr[i] - 'a' + 'A') : s.ptr[i];
	upper[s.len] = '\0';
	if (strcmp(upper, "CONNECT") == 0) {
		config_reader_error(
		    r, r->ev.start_mark,
		    "%s: CONNECT cannot be listed: methods bound plain HTTP requests only; "
		    "tunnels are governed by allow, deny and ports",
		    path);
		return;
	}
	for (unsigned i = 0; i < a->n_methods; i++)
		if (strcmp(a->methods[i], upper) == 0)
			return; /* listed twice: harmless */
	if (a->n_methods == AGENT_MAX_METHODS) {
		config_reader_error(r, r->ev.start_mark, "%s: too many methods (at most %d)", path,
				    AGENT_MAX_METHODS);
		return;
	}
	memcpy(a->methods[a->n_methods++], upper, s.len + 1);
}

static const struct config_list method_list = {
    .items = "HTTP methods", .item = "an HTTP method", .read = method_item};

static void config_agents_read_methods(struct config_reader *r, const struct config_key *k,
				       const char *path)
{
	struct agent *a = reader_agent(r);
	yaml_mark_t start = r->ev.start_mark;

	a->n_methods = 0;
	a->has_methods = r->ev.type == YAML_SEQUENCE_START_EVENT;
	if (config_reader_list(r, path, &method_list, a) == 0)
		config_reader_error(
		    r, start,
		    "%s: the list is empty, so no plain HTTP request would be allowed "
		    "(leave methods out to allow every method)",
		    path);
}

/* "1048576", "512KiB", "10MiB", "1GiB": a whole number of bytes. Binary units only, spelt the
 * IEC way, so that "10MB" (10^6 or 2^20?) is refused rather than guessed at. */
static bool config_value_parse_size(struct slice s, uint64_t *out, const char **detail)
{
	static const struct {
		const char *suffix;
		unsigned shift;
	} units[] = {{"KiB", 10}, {"MiB", 20}, {"GiB", 30}};
	size_t digits = 0;
	unsigned shift = 0;
	unsigned long long v;

	while (digits < s.len && s.ptr[digits] >= '0' && s.ptr[digits] <= '9')
		digits++;
	if (digits == 0) {
		*detail = "not a size (write a number of bytes, or e.g. 512KiB, 10MiB, 1GiB)";
		return false;
	}
	if (digits < s.len) {
		struct slice unit = slice_make(s.ptr + digits, s.len - digits);
		size_t i = 0;
		while (i < ARRAY_SIZE(units) && !slice_eq(unit, slice_from_cstr(units[i].suffix)))
			i++;
		if (i == ARRAY_SIZE(units)) {
			*detail = "unknown unit (use KiB, MiB or GiB, or a number of bytes)";
			return false;
		}
		shift = units[i].shift;
	}
	if (!config_value_parse_uint(slice_make(s.ptr, digits), &v, detail))
		return false;
	if (v > (UINT64_MAX >> shift)) {
		*detail = "too large";
		return false;
	}
	*out = (uint64_t)v << shift;
	return true;
}

static void config_agents_read_max_request_body(struct config_reader *r, const struct config_key *k,
						const char *path)
{
	struct agent *a = reader_agent(r);
	struct slice s;
	const char *detail;
	char q[QUOTE_MAX];

	if (!config_reader_scalar_value(r, path, "a size in bytes like 1048576 or 10MiB", &s))
		return;
	if (!config_value_parse_size(s, &a->max_request_body, &detail)) {
		config_reader_quote(s, q);
		config_reader_error(r, r->ev.start_mark, "%s: %s is not a valid size: %s", path, q,
				    detail);
		return;
	}
	a->has_max_request_body = true;
}

/* Guidance goes into denial bodies and the Proxy-Status details (an RFC 8941 sf-string, which
 * is printable ASCII only), so it is kept to printable ASCII and newlines. */
static void config_agents_read_guidance(struct config_reader *r, const struct config_key *k,
					const char *path)
{
	struct agent *a = reader_agent(r);
	struct slice s;

	if (!config_reader_scalar_value(r, path, "a text", &s))
		return;
	if (s.len >= AGENT_GUIDANCE_MAX) {
		config_reader_error(r, r->ev.start_mark, "%s: too long (%zu bytes; at most %d)",
				    path, s.len, AGENT_GUIDANCE_MAX - 1);
		return;
	}
	for (size_t i = 0; i < s.len; i++) {
		unsigned char c = (unsigned char)s.ptr[i];
		if ((c < 0x20 || c > 0x7e) && c != '\n') {
			config_reader_error(
			    r, r->ev.start_mark,
			    "%s: byte %zu (0x%02x) is not printable ASCII; write plain text "
			    "(newlines are fine)",
			    path, i + 1, c);
			return;
		}
	}
	config_value_copy(a->guidance, sizeof(a->guidance), s);
	a->has_guidance = true;
}

/* ---- agents ---------------------------------------------------------------------------- */

static void read_source(struct config_reader *r, const struct config_key *k, const char *path)
{
	yaml_mark_t start = r->ev.start_mark;

	r->it.recognised = true;
	if (config_rules_read_cidrs(r, path, &r->agent->sources) == 0)
		config_reader_error(
		    r, start, "%s: the list is empty; give the agent's CIDRs or leave source out",
		    path);
}

/* At most one of token_sha256, token_file, token_env: two would leave it open which one a
 * client must present. On refusal the value is skipped. */
static bool token_begin(struct config_reader *r, const struct config_key *k, const char *path)
{
	r->it.recognised = true;
	if (r->it.token_key) {
		config_reader_error(
		    r, r->ev.start_mark,
		    "%s: only one of token_sha256, token_file and token_env may be set "
		    "(%s at %d:%d)",
		    path, r->it.token_key, config_reader_pos(r->it.token_mark.line),
		    config_reader_pos(r->it.token_mark.column));
		config_reader_skip(r);
		return false;
	}
	r->it.token_key = k->name;
	r->it.token_mark = r->ev.start_mark;
	return true;
}

/* Only the hash of a token is kept in the file: the file may be read by more people than the
 * agent's secret should be. */
static void read_token_sha256(struct config_reader *r, const struct config_key *k, const char *path)
{
	struct agent *a = r->agent;
	struct slice s;
	size_t i = 0;

	if (!token_begin(r, k, path) ||
	    !config_reader_scalar_value(r, path, "64 hex digits (the SHA-256 of the token)", &s))
		return;
	while (i < s.len && hex_value(s.ptr[i]) >= 0)
		i++;
	if (s.len != 64 || i != s.len) {
		char got[48];
		if (i != s.len)
			snprintf(got, sizeof(got), "'%c' at position %zu", s.ptr[i], i + 1);
		else
			snprintf(got, sizeof(got), "%zu digits", s.len);
		if (i != s.len && (s.ptr[i] < 0x21 || s.ptr[i] > 0x7e))
			snprintf(got, sizeof(got), "a non-hex byte at position %zu", i + 1);
		config_reader_error(
		    r, r->ev.start_mark,
		    "%s: expected 64 hex digits (the SHA-256 of the token, e.g. from "
		    "`printf %%s TOKEN | sha256sum`), got %s",
		    path, got);
		return;
	}
	for (i = 0; i < 32; i++)
		a->token_sha256[i] =
		    (uint8_t)(hex_value(s.ptr[2 * i]) << 4 | hex_value(s.ptr[2 * i + 1]));
	a->token_kind = AGENT_TOKEN_SHA256;
	a->token_ready = true;
}

static void read_token_file(struct config_reader *r, const struct config_key *k, const char *path)
{
	struct agent *a = r->agent;
	struct slice s;
	const char *detail;
	char q[QUOTE_MAX];

	if (!token_begin(r, k, path) || !config_reader_scalar_value(r, path, "a file path", &s))
		return;
	if (!config_value_file_path_ok(s, AGENT_SOURCE_MAX - 1, &detail)) {
		config_reader_quote(s, q);
		config_reader_error(r, r->ev.start_mark, "%s: %s is not a valid file path: %s",
				    path, q, detail);
		return;
	}
	config_value_copy(a->token_source, sizeof(a->token_source), s);
	a->token_line = config_reader_pos(r->ev.start_mark.line);
	a->token_column = config_reader_pos(r->ev.start_mark.column);
	a->token_kind = AGENT_TOKEN_FILE;
	a->token_ready = false; /* the daemon reads the file */
}

static void read_token_env(struct config_reader *r, const struct config_key *k, const char *path)
{
	struct agent *a = r->agent;
	struct slice s;
	char q[QUOTE_MAX];

	if (!token_begin(r, k, path) ||
	    !config_reader_scalar_value(r, path, "an environment variable name", &s))
		return;
	if (!config_value_is_env_name(s, AGENT_SOURCE_MAX - 1)) {
		config_reader_quote(s, q);
		config_reader_error(
		    r, r->ev.start_mark,
		    "%s: %s is not an environment variable name (letters, digits and "
		    "'_', not starting with a digit)",
		    path, q);
		return;
	}
	config_value_copy(a->token_source, sizeof(a->token_source), s);
	a->token_line = config_reader_pos(r->ev.start_mark.line);
	a->token_column = config_reader_pos(r->ev.start_mark.column);
	a->token_kind = AGENT_TOKEN_ENV;
	a->token_ready = false; /* the daemon reads the variable */
}

static const struct config_key match_keys[] = {
    {.name = "source", .read = read_source},
    {.name = "token_sha256", .read = read_token_sha256},
    {.name = "token_file", .read = read_token_file},
    {.name = "token_env", .read = read_token_env},
};

static void read_match(struct config_reader *r, const struct config_key *k, const char *path)
{
	unsigned before = config_reader_errors_total(r);

	r->it.has_match = true;
	r->it.match_mark = r->ev.start_mark;
	config_reader_section(r, k, path);
	r->it.match_bad = config_reader_errors_total(r) != before;
}

static void read_agent_name(struct config_reader *r, const struct config_key *k, const char *path)
{
	struct config *cfg = r->cfg;
	unsigned self = cfg->n_agents - 1;
	struct slice s;
	char q[QUOTE_MAX];

	r->it.has_name = true;
	if (!config_reader_scalar_value(r, path, "an agent name", &s))
		return;
	config_reader_quote(s, q);
	if (!config_value_is_agent_name(s)) {
		config_reader_error(
		    r, r->ev.start_mark,
		    "%s: %s is not a valid agent name (1-64 letters, digits, '.', '_' or "
		    "'-')",
		    path, q);
		return;
	}
	for (unsigned i = 0; i < self; i++)
		if (slice_eq(s, slice_from_cstr(cfg->agents[i].name))) {
			config_reader_error(r, r->ev.start_mark,
					    "%s: an agent named %s is already defined (at %d:%d)",
					    path, q, config_reader_pos(r->agent_marks[i].line),
					    config_reader_pos(r->agent_marks[i].column));
			return;
		}
	config_value_copy(r->agent->name, sizeof(r->agent->name), s);
	r->agent_marks[self] = r->ev.start_mark;
	r->it.name_ok = true;
}

/* The checks that need the whole item. "default" is the fallback for clients no other agent
 * matches, so it has nothing to match; every other agent needs something to be recognised by,
 * or it could never be chosen. */
static void agent_check(struct config_reader *r, const struct agent *a, const char *path)
{
	char q[QUOTE_MAX];

	if (!r->it.has_name) {
		config_reader_error(r, r->it.start, "%s: name is required", path);
		return;
	}
	if (!r->it.name_ok)
		return;
	config_reader_quote(slice_from_cstr(a->name), q);
	if (strcmp(a->name, "default") == 0) {
		if (r->it.has_match)
			config_reader_error(
			    r, r->it.match_mark,
			    "%s.match: the agent \"default\" takes the clients no other "
			    "agent matches, so it has no match (remove it, or give this "
			    "agent another name)",
			    path);
		return;
	}
	if (!r->it.recognised && !r->it.match_bad)
		config_reader_error(
		    r, r->it.start,
		    "%s: agent %s: set match.source or a token (token_sha256, token_file "
		    "or token_env), or name it default",
		    path, q);
}

static const struct config_key agent_keys[] = {
    {.name = "name", .read = read_agent_name},
    {.name = "match", .read = read_match, .sub = match_keys, .n_sub = ARRAY_SIZE(match_keys)},
    {.name = "mode", .read = config_agents_read_mode},
    {.name = "allow", .read = config_rules_read_allow},
    {.name = "deny", .read = config_rules_read_deny},
    {.name = "ports", .read = config_rules_read_ports},
    {.name = "methods", .read = config_agents_read_methods},
    {.name = "max_request_body", .read = config_agents_read_max_request_body},
    {.name = "guidance", .read = config_agents_read_guidance},
};

static void agent_item(struct config_reader *r, const char *path, void *ctx)
{
	struct config *cfg = r->cfg;
	struct agent *a;

	if (cfg->n_agents == CONFIG_MAX_AGENTS) {
		config_reader_error(r, r->ev.start_mark, "%s: too many agents (at most %d)", path,
				    CONFIG_MAX_AGENTS);
		config_reader_skip(r);
		return;
	}
	if (!config_reader_reserve((void **)&cfg->agents, &r->agents_cap, cfg->n_agents + 1,
				   sizeof(*cfg->agents)) ||
	    !config_reader_reserve((void **)&r->agent_marks, &r->agent_marks_cap, cfg->n_agents + 1,
				   sizeof(*r->agent_marks))) {
		config_reader_error(r, r->ev.start_mark, "%s: out of memory", path);
		config_reader_skip(r);
		return;
	}
	a = &cfg->agents[cfg->n_agents++];
	agent_init(a);
	a->line = config_reader_pos(r->ev.start_mark.line);
	memset(&r->it, 0, sizeof(r->it));
	r->it.start = r->ev.start_mark;
	r->agent = a;
	config_reader_mapping(r, path, agent_keys, ARRAY_SIZE(agent_keys));
	r->agent = NULL;
	agent_check(r, a, path);
}

static const struct config_list agent_list = {.items = "agents",
					      .item = "an agent (a mapping with a name)",
					      .read = agent_item,
					      .mappings = true};

/* An explicit list replaces the implicit agent "default". */
static void config_agents_read(struct config_reader *r, const struct config_key *k,
			       const char *path)
{
	struct config *cfg = r->cfg;
	yaml_mark_t start = r->ev.start_mark;

	for (unsigned i = 0; i < cfg->n_agents; i++)
		agent_fini(&cfg->agents[i]);
	cfg->n_agents = 0;
	cfg->default_agent = -1;
	r->agents_given = true;
	if (config_reader_list(r, path, &agent_list, NULL) == 0)
		config_reader_error(
		    r, start,
		    "%s: the list is empty, so every client would be refused (leave agents "
		    "out for one implicit agent \"default\")",
		    path);
}

/* ---- routes ---------------------------------------------------------------------------- */

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

static bool has_prefix_nocase(struct slice s, struct slice prefix)
{
	return s.len >= prefix.len && slice_eq_nocase(slice_make(s.ptr, prefix.len), prefix);
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
	for (size_t i = 0; i < s.len; i++) {
		unsigned char c = (unsigned char)s.ptr[i];
		if ((c < 0x20 || c > 0x7e) && c != '\t') {
			config_reader_error(
			    r, r->ev.start_mark,
			    "%s: byte %zu (0x%02x) of the value is not allowed (printable "
			    "ASCII, spaces and tabs only; RFC 9110 section 5.5)",
			    path, i + 1, c);
			return;
		}
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

static void read_header_value(struct config_reader *r, struct route_header_set *h, const char *path)
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
			read_header_value(r, h, vpath);
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
static const struct config_key config_headers_keys[] = {
    {.name = "set", .read = read_header_set},
    {.name = "remove", .read = read_header_remove},
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

static void config_routes_read(struct config_reader *r, const struct config_key *k,
			       const char *path)
{
	config_reader_list(r, path, &route_list, NULL);
}

/* ---- checks across the file ------------------------------------------------------------ */

/* routes[].agents may name agents defined further down, so names are checked at the end. */
static void config_routes_finish(struct config_reader *r)
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

static void config_agents_finish(struct config_reader *r)
{
	struct config *cfg = r->cfg;

	if (!r->agents_given)
		return;
	cfg->default_agent = -1;
	for (unsigned i = 0; i < cfg->n_agents; i++)
		if (strcmp(cfg->agents[i].name, "default") == 0)
			cfg->default_agent = (int)i;
}

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

#define TIMEOUT(key, member)                                                                       \
	{                                                                                          \
		.name = key, .read = read_duration, .field = offsetof(struct config, member)       \
	}

static const struct config_key config_listen_keys[] = {
    {.name = "http", .read = read_listen_http},
    {.name = "admin", .read = read_listen_admin},
};
static const struct config_key config_resolver_keys[] = {
    {.name = "servers", .read = read_resolver_servers}};
static const struct config_key config_rules_ips_keys[] = {
    {.name = "allow", .read = read_ips_allow},
    {.name = "deny", .read = read_ips_deny},
};
static const struct config_key config_limits_timeout_keys[] = {
    TIMEOUT("request_head", head_timeout_ms),
    TIMEOUT("client_idle", idle_timeout_ms),
    TIMEOUT("connect", connect_timeout_ms),
    TIMEOUT("upstream_response", upstream_timeout_ms),
    TIMEOUT("tunnel_idle", tunnel_idle_ms),
    TIMEOUT("dns", dns_timeout_ms),
    {.name = "drain", .read = read_duration_or_zero, .field = offsetof(struct config, drain_ms)},
    {.name = "reload_revoke",
     .read = read_duration_or_zero,
     .field = offsetof(struct config, reload_revoke_ms)},
};
static const struct config_key config_limits_keys[] = {
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

/* ---- least privilege ------------------------------------------------------------------- */

/* A user name as useradd(8) accepts it ([A-Za-z0-9._-], not starting with '-'), or digits for
 * a numeric uid. Whether the account exists is the daemon's question: this loader reads no
 * other file. */
static bool user_syntax_ok(struct slice s, const char **detail)
{
	bool digits = true;

	if (s.len == 0 || s.len > CONFIG_USER_MAX) {
		*detail = "a user name has 1 to 32 characters";
		return false;
	}
	if (s.ptr[0] == '-') {
		*detail = "a user name does not start with '-'";
		return false;
	}
	for (size_t i = 0; i < s.len; i++) {
		char c = s.ptr[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-')) {
			*detail = "a user name has only letters, digits, '.', '_' and '-'";
			return false;
		}
		digits = digits && c >= '0' && c <= '9';
	}
	if (!digits)
		return true;
	unsigned long long uid;
	if (!config_value_parse_uint(s, &uid, detail))
		return false;
	/* (uid_t)-1 means "no change" to setuid(2); larger values do not fit a uid. */
	if (uid >= 4294967295ull) {
		*detail = "a numeric uid is below 4294967295";
		return false;
	}
	return true;
}

static void config_privileges_read_user(struct config_reader *r, const struct config_key *k,
					const char *path)
{
	struct slice s;
	const char *detail;
	char q[QUOTE_MAX];

	if (!config_reader_scalar_value(r, path, "a user name or a numeric uid", &s))
		return;
	if (!user_syntax_ok(s, &detail)) {
		config_reader_quote(s, q);
		config_reader_error(r, r->ev.start_mark, "%s: %s is not a valid user: %s", path, q,
				    detail);
		return;
	}
	config_value_copy(r->cfg->user, sizeof(r->cfg->user), s);
}

/* A plain YAML boolean; a quoted "true" is text, and refused like any other text. */
static void config_privileges_read_seccomp(struct config_reader *r, const struct config_key *k,
					   const char *path)
{
	if (r->ev.type != YAML_SCALAR_EVENT ||
	    config_reader_scalar_kind(&r->ev) != CONFIG_SCALAR_BOOL) {
		config_reader_error(r, r->ev.start_mark, "%s: expected true or false, got %s", path,
				    config_reader_describe(&r->ev));
		config_reader_skip(r);
		return;
	}
	r->cfg->seccomp = config_reader_scalar_bool(&r->ev);
}

/* ---- the decision log ------------------------------------------------------------------ */

static void read_log_file(struct config_reader *r, const struct config_key *k, const char *path)
{
	struct slice s;
	const char *detail;
	char q[QUOTE_MAX];

	if (!config_reader_scalar_value(r, path, "a file path", &s))
		return;
	if (!config_value_file_path_ok(s, CONFIG_LOG_FILE_MAX - 1, &detail)) {
		config_reader_quote(s, q);
		config_reader_error(r, r->ev.start_mark, "%s: %s is not a valid file path: %s",
				    path, q, detail);
		return;
	}
	config_value_copy(r->cfg->log_file, sizeof(r->cfg->log_file), s);
}

/* Query strings often carry what should not sit in a log (tokens, search terms): dropped unless
 * the operator asks for them. */
static void read_log_query(struct config_reader *r, const struct config_key *k, const char *path)
{
	struct slice s;
	char q[QUOTE_MAX];

	if (!config_reader_scalar_value(r, path, "keep or drop", &s))
		return;
	if (slice_eq(s, SLICE_LIT("keep")) || slice_eq(s, SLICE_LIT("drop"))) {
		r->cfg->log_query = slice_eq(s, SLICE_LIT("keep"));
		return;
	}
	config_reader_quote(s, q);
	config_reader_error(r, r->ev.start_mark, "%s: %s is not keep or drop", path, q);
}

static const struct config_key config_log_keys[] = {
    {.name = "file", .read = read_log_file},
    {.name = "query", .read = read_log_query},
};

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
    {.name = "agents", .read = config_agents_read},
    {.name = "routes", .read = config_routes_read},
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

/* stream-start (document-start root document-end)? stream-end; a second document is refused
 * (one file, one config: a stray "---" must not silently hide the rest). */
static void read_stream(struct config_reader *r)
{
	if (!config_reader_next(r) || !config_reader_next(r))
		return;
	if (r->ev.type != YAML_DOCUMENT_START_EVENT)
		return;
	if (!config_reader_next(r))
		return;
	if (config_reader_is_node(&r->ev))
		read_root(r);
	if (!config_reader_next(r) || !config_reader_next(r))
		return;
	if (r->ev.type == YAML_DOCUMENT_START_EVENT)
		config_reader_error(
		    r, r->ev.start_mark,
		    "a second YAML document starts here; a config file holds exactly one");
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
	free(cfg);
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
		read_stream(r);
		config_rules_finish(r);
		config_listen_finish(r);
		config_agents_finish(r);
		if (!r->stop) {
			config_routes_finish(r);
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
	return cfg;
}

void config_error_format(const struct config_error *e, char *out, size_t out_size)
{
	if (e->line > 0)
		snprintf(out, out_size, "%d:%d: %s", e->line, e->column, e->message);
	else
		snprintf(out, out_size, "%s", e->message);
}
