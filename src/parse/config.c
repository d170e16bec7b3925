/* config: YAML text to a validated configuration. Reads libyaml events (not the document API) so
 * that aliases are seen and refused where they appear instead of being silently expanded, and so
 * that each value is checked against the schema as it streams by, with its own line:column. */
#include "parse/config.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "base/bug.h"
#include "parse/authority.h"
#include "parse/cidr.h"
#include "policy/cidr_set.h"
#include "policy/domain_set.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* A message shows at most this many bytes of the offending value: enough to recognise it. */
#define QUOTE_SRC_MAX 40
#define QUOTE_MAX (QUOTE_SRC_MAX * 4 + 8)
#define PATH_MAX_LEN 48
#define KEYS_TEXT_MAX 128
#define SECTION_KEYS_MAX 16
#define DURATION_MAX_MS (24u * 60 * 60 * 1000)
#define DNS_DEFAULT_PORT 53

_Static_assert(CONFIG_MAX_LISTEN <= POLICY_MAX_LISTENERS, "every listen address is a listener");

struct reader {
	yaml_parser_t parser;
	yaml_event_t ev; /* the current event, valid while have_ev */
	bool have_ev;
	bool stop; /* libyaml failed: nothing more can be read */
	struct slice text;
	struct config *cfg;
	struct config_errors *errors;
	yaml_mark_t listen_marks[CONFIG_MAX_LISTEN];
	bool ports_given;
	uint8_t ports[65536 / 8]; /* collected here, applied to the rules once at the end */
};

struct key_spec;
typedef void key_fn(struct reader *r, const struct key_spec *k, const char *path);

/* One key of a mapping: its handler, and what the handler needs (a field, bounds, sub-keys). */
struct key_spec {
	const char *name;
	key_fn *read;
	size_t field; /* offsetof(struct config, ...) for timeouts and limits */
	unsigned min, max;
	const struct key_spec *sub; /* keys of a section */
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

__attribute__((format(printf, 4, 5))) static void errors_add(struct config_errors *errors, int line,
							     int column, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	errors_vadd(errors, line, column, fmt, ap);
	va_end(ap);
}

/* yaml_mark_t is 0-based; messages are 1-based like every editor. */
static int mark_pos(size_t zero_based)
{
	return zero_based >= INT_MAX - 1 ? INT_MAX : (int)zero_based + 1;
}

__attribute__((format(printf, 3, 4))) static void reader_error(struct reader *r, yaml_mark_t mark,
							       const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	errors_vadd(r->errors, mark_pos(mark.line), mark_pos(mark.column), fmt, ap);
	va_end(ap);
}

/* The value as the user wrote it, quoted, with control and non-ASCII bytes escaped so that a
 * message is one printable line whatever the file holds. out has QUOTE_MAX bytes. */
static void quote(struct slice v, char *out)
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

static void keys_text(const struct key_spec *keys, size_t n, char *out, size_t size)
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

static void reader_yaml_error(struct reader *r)
{
	const yaml_parser_t *p = &r->parser;
	const char *problem = p->problem ? p->problem : "malformed YAML";

	if (p->error == YAML_MEMORY_ERROR) {
		errors_add(r->errors, 0, 0, "out of memory while reading YAML");
	} else if (p->error == YAML_READER_ERROR) {
		/* Reader errors carry a byte offset, not a mark. */
		size_t end = p->problem_offset < r->text.len ? p->problem_offset : r->text.len;
		size_t line = 0, col = 0;
		for (size_t i = 0; i < end; i++, col++)
			if (r->text.ptr[i] == '\n') {
				line++;
				col = (size_t)-1;
			}
		errors_add(r->errors, mark_pos(line), mark_pos(col),
			   "not UTF-8 YAML text: %s (0x%x)", problem, (unsigned)p->problem_value);
	} else {
		const char *hint = line_indented_with_tab(r->text, p->problem_mark.line)
				       ? "; indent with spaces, YAML does not allow tabs"
				       : "";
		char context[CONFIG_ERROR_MAX / 2] = "";
		if (p->context)
			snprintf(context, sizeof(context), " (%s at %d:%d)", p->context,
				 mark_pos(p->context_mark.line), mark_pos(p->context_mark.column));
		errors_add(r->errors, mark_pos(p->problem_mark.line),
			   mark_pos(p->problem_mark.column), "YAML syntax error: %s%s%s", problem,
			   context, hint);
	}
}

/* Moves to the next event. False when libyaml failed (the error is recorded) or already had. */
static bool reader_next(struct reader *r)
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
static void skip_node(struct reader *r)
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
	} while (reader_next(r));
}

static bool event_is_node(const yaml_event_t *ev)
{
	return ev->type == YAML_SCALAR_EVENT || ev->type == YAML_SEQUENCE_START_EVENT ||
	       ev->type == YAML_MAPPING_START_EVENT || ev->type == YAML_ALIAS_EVENT;
}

/* Anchors, aliases and explicit tags are refused: a config should read the same to a person as
 * to sluice, and aliases are the lever of "billion laughs" expansion. Returns false for an
 * alias (a one-event node the caller has nothing more to do with). */
static bool node_begin(struct reader *r, const char *path)
{
	const yaml_event_t *ev = &r->ev;
	const yaml_char_t *anchor = NULL, *tag = NULL;
	char q[QUOTE_MAX];

	/* libyaml limits anchor names to [0-9A-Za-z_-]: safe to show as they are. */
	if (ev->type == YAML_ALIAS_EVENT) {
		reader_error(r, ev->start_mark,
			     "%s: aliases (*%.40s) are not allowed; write the value out", path,
			     (const char *)ev->data.alias.anchor);
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
		reader_error(r, ev->start_mark, "%s: anchors (&%.40s) are not allowed", path,
			     (const char *)anchor);
	if (tag) {
		quote(slice_from_cstr((const char *)tag), q);
		reader_error(r, ev->start_mark, "%s: tags (%s) are not allowed", path, q);
	}
	return true;
}

/* ---- scalars --------------------------------------------------------------------------- */

enum scalar_kind { SCALAR_NULL, SCALAR_BOOL, SCALAR_NUMBER, SCALAR_STRING };

static struct slice scalar_text(const yaml_event_t *ev)
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
static enum scalar_kind scalar_kind(const yaml_event_t *ev)
{
	static const char *const nulls[] = {"", "~", "null", "Null", "NULL"};
	static const char *const bools[] = {"yes",  "Yes",  "YES",  "no",    "No",    "NO",
					    "true", "True", "TRUE", "false", "False", "FALSE",
					    "on",   "On",   "ON",   "off",   "Off",   "OFF"};
	struct slice s = scalar_text(ev);

	if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return SCALAR_STRING;
	if (slice_in(s, nulls, ARRAY_SIZE(nulls)))
		return SCALAR_NULL;
	if (slice_in(s, bools, ARRAY_SIZE(bools)))
		return SCALAR_BOOL;
	return looks_numeric(s) ? SCALAR_NUMBER : SCALAR_STRING;
}

static const char *describe(const yaml_event_t *ev)
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
	switch (scalar_kind(ev)) {
	case SCALAR_NULL:
		return "an empty value";
	case SCALAR_BOOL:
		return "a boolean";
	case SCALAR_NUMBER:
		return "a number";
	default:
		return "a string";
	}
}

/* The current scalar as text, unless it is a plain null or boolean (then an error). */
static bool scalar_string(struct reader *r, const char *path, const char *what, struct slice *out)
{
	enum scalar_kind kind = scalar_kind(&r->ev);
	char q[QUOTE_MAX];

	if (kind == SCALAR_NULL) {
		reader_error(r, r->ev.start_mark, "%s: expected %s, got an empty value", path,
			     what);
		return false;
	}
	if (kind == SCALAR_BOOL) {
		quote(scalar_text(&r->ev), q);
		reader_error(r, r->ev.start_mark,
			     "%s: expected %s, got the boolean %.*s (write %s to mean the text)",
			     path, what, (int)r->ev.data.scalar.length,
			     (const char *)r->ev.data.scalar.value, q);
		return false;
	}
	*out = scalar_text(&r->ev);
	return true;
}

/* ---- value syntax ---------------------------------------------------------------------- */

/* Strict unsigned decimal: digits only, no sign, no leading zero (YAML 1.1 reads 0443 as octal;
 * refusing it avoids guessing which the user meant). */
static bool parse_uint(struct slice s, unsigned long long *out, const char **detail)
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

static bool parse_port(struct slice s, unsigned *port, const char **detail)
{
	unsigned long long v;
	if (!parse_uint(s, &v, detail))
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
static bool parse_port_range(struct slice s, unsigned *lo, unsigned *hi, const char **detail)
{
	if (slice_eq(s, SLICE_LIT("*"))) {
		*lo = 1;
		*hi = 65535;
		return true;
	}
	const char *dash = s.len ? memchr(s.ptr, '-', s.len) : NULL;
	if (!dash) {
		if (!parse_port(s, lo, detail))
			return false;
		*hi = *lo;
		return true;
	}
	struct slice a = slice_make(s.ptr, (size_t)(dash - s.ptr));
	struct slice b = slice_make(dash + 1, s.len - a.len - 1);
	if (!parse_port(a, lo, detail) || !parse_port(b, hi, detail))
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
static bool parse_duration(struct slice s, unsigned *ms, const char **detail)
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
static bool parse_endpoint(struct slice s, uint16_t default_port, struct config_endpoint *out,
			   const char **detail)
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
	if (has_port && !parse_port(port, &p, detail))
		return false;
	out->port = has_port ? (uint16_t)p : default_port;
	return true;
}

/* ---- lists ----------------------------------------------------------------------------- */

typedef void item_fn(struct reader *r, const char *path, void *ctx);

struct list_spec {
	const char *items; /* "domain patterns", for "expected a list of ..." */
	const char *item;  /* "a domain pattern", for "expected ..." */
	item_fn *read;
};

static void list_type_error(struct reader *r, const char *path, const struct list_spec *spec)
{
	char q[QUOTE_MAX];
	if (r->ev.type == YAML_SCALAR_EVENT && scalar_kind(&r->ev) == SCALAR_STRING) {
		quote(scalar_text(&r->ev), q);
		reader_error(
		    r, r->ev.start_mark,
		    "%s: expected a list of %s, got a string; write [%s] for a list of one", path,
		    spec->items, q);
		return;
	}
	reader_error(r, r->ev.start_mark, "%s: expected a list of %s, got %s", path, spec->items,
		     describe(&r->ev));
}

/* Reads a list of scalars whose first event is current. Returns the number of items, or -1
 * when the value is not a list or the YAML broke off (so callers do not add "empty list"). */
static int read_list(struct reader *r, const char *path, const struct list_spec *spec, void *ctx)
{
	char ipath[PATH_MAX_LEN];
	unsigned n = 0;

	if (r->ev.type != YAML_SEQUENCE_START_EVENT) {
		list_type_error(r, path, spec);
		skip_node(r);
		return -1;
	}
	while (reader_next(r) && r->ev.type != YAML_SEQUENCE_END_EVENT) {
		snprintf(ipath, sizeof(ipath), "%s[%u]", path, n++);
		if (!node_begin(r, ipath))
			continue;
		if (r->ev.type != YAML_SCALAR_EVENT) {
			reader_error(r, r->ev.start_mark, "%s: expected %s, got %s", ipath,
				     spec->item, describe(&r->ev));
			skip_node(r);
			continue;
		}
		spec->read(r, ipath, ctx);
	}
	return r->stop ? -1 : (int)n;
}

/* ---- listen ---------------------------------------------------------------------------- */

static void listen_add(struct reader *r, const char *path, const struct config_endpoint *ep)
{
	struct config *cfg = r->cfg;
	char q[QUOTE_MAX];

	quote(scalar_text(&r->ev), q);
	for (unsigned i = 0; i < cfg->n_listen_http; i++) {
		const struct config_endpoint *old = &cfg->listen_http[i];
		if (old->port == ep->port && ip_addr_eq(&old->addr, &ep->addr)) {
			reader_error(r, r->ev.start_mark, "%s: %s is listed twice (first at %d:%d)",
				     path, q, mark_pos(r->listen_marks[i].line),
				     mark_pos(r->listen_marks[i].column));
			return;
		}
	}
	if (cfg->n_listen_http == CONFIG_MAX_LISTEN) {
		reader_error(r, r->ev.start_mark, "%s: too many listen addresses (at most %d)",
			     path, CONFIG_MAX_LISTEN);
		return;
	}
	r->listen_marks[cfg->n_listen_http] = r->ev.start_mark;
	cfg->listen_http[cfg->n_listen_http++] = *ep;
	cfg->rules.listeners[cfg->rules.n_listeners].addr = ep->addr;
	cfg->rules.listeners[cfg->rules.n_listeners++].port = ep->port;
}

static void listen_item(struct reader *r, const char *path, void *ctx)
{
	struct config_endpoint ep = {0};
	struct slice s;
	const char *detail;
	char q[QUOTE_MAX];

	if (!scalar_string(r, path, "an address like \"127.0.0.1:3128\"", &s))
		return;
	if (!parse_endpoint(s, 0, &ep, &detail)) {
		quote(s, q);
		reader_error(r, r->ev.start_mark, "%s: %s is not a valid listen address: %s", path,
			     q, detail);
		return;
	}
	listen_add(r, path, &ep);
}

static const struct list_spec listen_list = {"addresses", "an address", listen_item};

/* listen.http: one address or a list; either replaces the default. */
static void read_listen_http(struct reader *r, const struct key_spec *k, const char *path)
{
	yaml_mark_t start = r->ev.start_mark;

	r->cfg->n_listen_http = 0;
	r->cfg->rules.n_listeners = 0;
	if (r->ev.type == YAML_SCALAR_EVENT) {
		listen_item(r, path, NULL);
		return;
	}
	if (read_list(r, path, &listen_list, NULL) == 0)
		reader_error(r, start, "%s: the list is empty; give at least one address", path);
}

/* ---- resolver -------------------------------------------------------------------------- */

static void server_item(struct reader *r, const char *path, void *ctx)
{
	struct config *cfg = r->cfg;
	struct config_endpoint ep = {0};
	struct slice s;
	const char *detail;
	char q[QUOTE_MAX];

	if (!scalar_string(r, path, "an IP address", &s))
		return;
	if (!parse_endpoint(s, DNS_DEFAULT_PORT, &ep, &detail)) {
		quote(s, q);
		reader_error(r, r->ev.start_mark, "%s: %s is not a valid DNS server: %s", path, q,
			     detail);
		return;
	}
	if (cfg->n_resolvers == CONFIG_MAX_RESOLVERS) {
		reader_error(r, r->ev.start_mark, "%s: too many DNS servers (at most %d)", path,
			     CONFIG_MAX_RESOLVERS);
		return;
	}
	cfg->resolvers[cfg->n_resolvers++] = ep;
}

static const struct list_spec server_list = {"IP addresses", "an IP address", server_item};

static void read_resolver_servers(struct reader *r, const struct key_spec *k, const char *path)
{
	r->cfg->n_resolvers = 0;
	read_list(r, path, &server_list, NULL);
}

/* ---- domain patterns and CIDRs --------------------------------------------------------- */

static void domain_item(struct reader *r, const char *path, void *ctx)
{
	struct slice s;
	const char *detail = NULL;
	char q[QUOTE_MAX];

	if (!scalar_string(r, path, "a domain pattern", &s))
		return;
	if (domain_set_add(ctx, s, &detail) != 0) {
		quote(s, q);
		reader_error(r, r->ev.start_mark, "%s: %s is not a valid domain pattern: %s", path,
			     q, detail ? detail : "refused");
	}
}

static const struct list_spec domain_list = {"domain patterns", "a domain pattern", domain_item};

/* allow, deny: an explicit list replaces the default set (allow: [] denies every name). */
static void read_domains(struct reader *r, const char *path, struct domain_set **slot)
{
	struct domain_set *set = domain_set_new();

	if (!set) {
		reader_error(r, r->ev.start_mark, "%s: out of memory", path);
		skip_node(r);
		return;
	}
	if (read_list(r, path, &domain_list, set) < 0) {
		domain_set_free(set);
		return;
	}
	domain_set_free(*slot);
	*slot = set;
}

static void read_allow(struct reader *r, const struct key_spec *k, const char *path)
{
	read_domains(r, path, &r->cfg->rules.allow);
}

static void read_deny(struct reader *r, const struct key_spec *k, const char *path)
{
	read_domains(r, path, &r->cfg->rules.deny);
}

static void cidr_item(struct reader *r, const char *path, void *ctx)
{
	struct slice s;
	struct ip_addr addr;
	unsigned prefix_len;
	const char *detail = NULL;
	char q[QUOTE_MAX];

	if (!scalar_string(r, path, "a CIDR", &s))
		return;
	quote(s, q);
	if (cidr_parse(s, &addr, &prefix_len, &detail) != 0)
		reader_error(r, r->ev.start_mark, "%s: %s is not a valid CIDR: %s", path, q,
			     detail ? detail : "refused");
	else if (cidr_set_add(ctx, &addr, prefix_len) != 0)
		reader_error(r, r->ev.start_mark, "%s: %s could not be added (out of memory)", path,
			     q);
}

static const struct list_spec cidr_list = {"CIDRs", "a CIDR like \"10.0.0.0/8\"", cidr_item};

static void read_cidrs(struct reader *r, const char *path, struct cidr_set **slot)
{
	struct cidr_set *set = cidr_set_new();

	if (!set) {
		reader_error(r, r->ev.start_mark, "%s: out of memory", path);
		skip_node(r);
		return;
	}
	if (read_list(r, path, &cidr_list, set) < 0) {
		cidr_set_free(set);
		return;
	}
	cidr_set_free(*slot);
	*slot = set;
}

static void read_ips_allow(struct reader *r, const struct key_spec *k, const char *path)
{
	read_cidrs(r, path, &r->cfg->rules.ips_allow);
}

static void read_ips_deny(struct reader *r, const struct key_spec *k, const char *path)
{
	read_cidrs(r, path, &r->cfg->rules.ips_deny);
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

static void port_item(struct reader *r, const char *path, void *ctx)
{
	struct slice s;
	unsigned lo, hi;
	const char *detail;
	char q[QUOTE_MAX];

	if (!scalar_string(r, path, "a port, a range \"low-high\" or \"*\"", &s))
		return;
	if (!parse_port_range(s, &lo, &hi, &detail)) {
		quote(s, q);
		reader_error(r, r->ev.start_mark, "%s: %s is not a valid port: %s", path, q,
			     detail);
		return;
	}
	ports_mark(r->ports, lo, hi);
}

static const struct list_spec port_list = {"ports", "a port, a range \"low-high\" or \"*\"",
					   port_item};

static void read_ports(struct reader *r, const struct key_spec *k, const char *path)
{
	yaml_mark_t start = r->ev.start_mark;

	r->ports_given = r->ev.type == YAML_SEQUENCE_START_EVENT;
	if (read_list(r, path, &port_list, NULL) == 0)
		reader_error(r, start,
			     "%s: the list is empty, so no port would be allowed (write [\"*\"] "
			     "for any port)",
			     path);
}

static void ports_apply(struct reader *r)
{
	if (!r->ports_given)
		return;
	for (unsigned p = 0; p <= 65535; p++)
		policy_rules_set_port(&r->cfg->rules, (uint16_t)p,
				      (r->ports[p / 8] >> (p % 8)) & 1);
}

/* ---- timeouts and limits --------------------------------------------------------------- */

static unsigned *config_field(struct reader *r, const struct key_spec *k)
{
	return (unsigned *)(void *)((char *)r->cfg + k->field);
}

static void read_duration(struct reader *r, const struct key_spec *k, const char *path)
{
	struct slice s;
	const char *detail;
	char q[QUOTE_MAX];
	static const char what[] = "a duration like 10s, 500ms, 5m or 0.5";

	if (r->ev.type != YAML_SCALAR_EVENT) {
		reader_error(r, r->ev.start_mark, "%s: expected %s, got %s", path, what,
			     describe(&r->ev));
		skip_node(r);
		return;
	}
	if (!scalar_string(r, path, what, &s))
		return;
	if (!parse_duration(s, config_field(r, k), &detail)) {
		quote(s, q);
		reader_error(r, r->ev.start_mark, "%s: %s is not a valid duration: %s", path, q,
			     detail);
	}
}

static void read_limit(struct reader *r, const struct key_spec *k, const char *path)
{
	struct slice s;
	unsigned long long v;
	const char *detail;
	char q[QUOTE_MAX];

	if (r->ev.type != YAML_SCALAR_EVENT) {
		reader_error(r, r->ev.start_mark, "%s: expected a whole number, got %s", path,
			     describe(&r->ev));
		skip_node(r);
		return;
	}
	if (!scalar_string(r, path, "a whole number", &s))
		return;
	quote(s, q);
	if (!parse_uint(s, &v, &detail))
		reader_error(r, r->ev.start_mark, "%s: %s is not valid: %s", path, q, detail);
	else if (v < k->min || v > k->max)
		reader_error(r, r->ev.start_mark, "%s: %s is out of range (%u-%u)", path, q, k->min,
			     k->max);
	else
		*config_field(r, k) = (unsigned)v;
}

/* ---- mappings -------------------------------------------------------------------------- */

/* Reads one key of a mapping (the current event). Returns its index in keys, or -1 after
 * reporting an unknown, duplicate or non-string key. */
static int read_key(struct reader *r, const char *section, const struct key_spec *keys, size_t n,
		    yaml_mark_t *first, bool *seen)
{
	const char *where = section[0] ? section : "top level";
	char q[QUOTE_MAX], valid[KEYS_TEXT_MAX];

	if (!node_begin(r, where))
		return -1;
	if (r->ev.type != YAML_SCALAR_EVENT) {
		reader_error(r, r->ev.start_mark, "%s: keys must be strings, got %s", where,
			     describe(&r->ev));
		skip_node(r);
		return -1;
	}
	struct slice name = scalar_text(&r->ev);
	quote(name, q);
	for (size_t i = 0; i < n; i++) {
		if (!slice_eq(name, slice_from_cstr(keys[i].name)))
			continue;
		if (seen[i]) {
			reader_error(r, r->ev.start_mark, "duplicate key %s%s%s (first at %d:%d)",
				     q, section[0] ? " in " : "", section, mark_pos(first[i].line),
				     mark_pos(first[i].column));
			return -1;
		}
		seen[i] = true;
		first[i] = r->ev.start_mark;
		return (int)i;
	}
	keys_text(keys, n, valid, sizeof(valid));
	reader_error(r, r->ev.start_mark, "unknown key %s%s%s (valid: %s)", q,
		     section[0] ? " in " : "", section, valid);
	return -1;
}

/* The current event starts a mapping: reads key/value pairs through its end. */
static void read_mapping(struct reader *r, const char *section, const struct key_spec *keys,
			 size_t n)
{
	yaml_mark_t first[SECTION_KEYS_MAX];
	bool seen[SECTION_KEYS_MAX] = {false};
	char path[PATH_MAX_LEN];

	BUG_ON(n > SECTION_KEYS_MAX);
	while (reader_next(r) && r->ev.type != YAML_MAPPING_END_EVENT) {
		int k = read_key(r, section, keys, n, first, seen);
		if (!reader_next(r))
			return;
		if (k < 0) {
			skip_node(r);
			continue;
		}
		snprintf(path, sizeof(path), "%s%s%s", section, section[0] ? "." : "",
			 keys[k].name);
		if (node_begin(r, path))
			keys[k].read(r, &keys[k], path);
	}
}

/* A section (listen, resolver, ips, timeouts, limits): a mapping, or empty (all defaults). */
static void read_section(struct reader *r, const struct key_spec *k, const char *path)
{
	char valid[KEYS_TEXT_MAX];

	if (r->ev.type == YAML_MAPPING_START_EVENT) {
		read_mapping(r, path, k->sub, k->n_sub);
		return;
	}
	if (r->ev.type == YAML_SCALAR_EVENT && scalar_kind(&r->ev) == SCALAR_NULL)
		return;
	keys_text(k->sub, k->n_sub, valid, sizeof(valid));
	reader_error(r, r->ev.start_mark, "%s: expected a mapping with keys %s, got %s", path,
		     valid, describe(&r->ev));
	skip_node(r);
}

#define TIMEOUT(key, member)                                                                       \
	{                                                                                          \
		.name = key, .read = read_duration, .field = offsetof(struct config, member)       \
	}

static const struct key_spec listen_keys[] = {{.name = "http", .read = read_listen_http}};
static const struct key_spec resolver_keys[] = {{.name = "servers", .read = read_resolver_servers}};
static const struct key_spec ips_keys[] = {
    {.name = "allow", .read = read_ips_allow},
    {.name = "deny", .read = read_ips_deny},
};
static const struct key_spec timeout_keys[] = {
    TIMEOUT("request_head", head_timeout_ms), TIMEOUT("client_idle", idle_timeout_ms),
    TIMEOUT("connect", connect_timeout_ms),   TIMEOUT("upstream_response", upstream_timeout_ms),
    TIMEOUT("tunnel_idle", tunnel_idle_ms),   TIMEOUT("dns", dns_timeout_ms),
};
static const struct key_spec limit_keys[] = {
    {.name = "max_request_head",
     .read = read_limit,
     .field = offsetof(struct config, max_head_bytes),
     .min = 1024,
     .max = 1048576},
    {.name = "max_connections",
     .read = read_limit,
     .field = offsetof(struct config, max_connections),
     .min = 1,
     .max = 1000000},
};

#define SECTION(key, keys)                                                                         \
	{                                                                                          \
		.name = key, .read = read_section, .sub = keys, .n_sub = ARRAY_SIZE(keys)          \
	}

static const struct key_spec top_keys[] = {
    SECTION("listen", listen_keys),
    SECTION("resolver", resolver_keys),
    SECTION("ips", ips_keys),
    {.name = "allow", .read = read_allow},
    {.name = "deny", .read = read_deny},
    {.name = "ports", .read = read_ports},
    SECTION("timeouts", timeout_keys),
    SECTION("limits", limit_keys),
    {.name = "workers",
     .read = read_limit,
     .field = offsetof(struct config, workers),
     .min = 0,
     .max = CONFIG_MAX_WORKERS},
};

/* ---- documents ------------------------------------------------------------------------- */

static void read_root(struct reader *r)
{
	char valid[KEYS_TEXT_MAX];

	if (!node_begin(r, "top level"))
		return;
	if (r->ev.type == YAML_MAPPING_START_EVENT) {
		read_mapping(r, "", top_keys, ARRAY_SIZE(top_keys));
		return;
	}
	if (r->ev.type == YAML_SCALAR_EVENT && scalar_kind(&r->ev) == SCALAR_NULL)
		return;
	keys_text(top_keys, ARRAY_SIZE(top_keys), valid, sizeof(valid));
	reader_error(r, r->ev.start_mark, "the top level must be a mapping with keys %s, got %s",
		     valid, describe(&r->ev));
	skip_node(r);
}

/* stream-start (document-start root document-end)? stream-end; a second document is refused
 * (one file, one config: a stray "---" must not silently hide the rest). */
static void read_stream(struct reader *r)
{
	if (!reader_next(r) || !reader_next(r))
		return;
	if (r->ev.type != YAML_DOCUMENT_START_EVENT)
		return;
	if (!reader_next(r))
		return;
	if (event_is_node(&r->ev))
		read_root(r);
	if (!reader_next(r) || !reader_next(r))
		return;
	if (r->ev.type == YAML_DOCUMENT_START_EVENT)
		reader_error(r, r->ev.start_mark,
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
	cfg->max_head_bytes = 65536;
	cfg->max_connections = 10000;
}

struct config *config_default(void)
{
	struct config *cfg = calloc(1, sizeof(*cfg));

	if (!cfg)
		return NULL;
	if (policy_rules_init(&cfg->rules) != 0) {
		free(cfg);
		return NULL;
	}
	config_set_defaults(cfg);
	return cfg;
}

void config_free(struct config *cfg)
{
	if (!cfg)
		return;
	policy_rules_fini(&cfg->rules);
	free(cfg);
}

struct config *config_parse(const char *text, size_t len, struct config_errors *errors)
{
	struct config_errors discard;
	struct reader *r;

	if (!errors)
		errors = &discard;
	memset(errors, 0, sizeof(*errors));
	r = calloc(1, sizeof(*r));
	if (!r || !yaml_parser_initialize(&r->parser)) {
		errors_add(errors, 0, 0, "out of memory");
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
		ports_apply(r);
	} else {
		errors_add(errors, 0, 0, "out of memory");
	}
	if (r->have_ev)
		yaml_event_delete(&r->ev);
	yaml_parser_delete(&r->parser);
	struct config *cfg = r->cfg;
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
