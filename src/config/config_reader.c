/* config_reader: reads libyaml events (not the document API) so that aliases are seen and refused
 * where they appear instead of being silently expanded, and so that each value is checked against
 * the schema as it streams by, with its own line:column. */
#include "config/config_reader.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/bug.h"

#define SECTION_KEYS_MAX 32

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

__attribute__((format(printf, 4, 5))) void
config_reader_add_error(struct config_errors *errors, int line, int column, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	errors_vadd(errors, line, column, fmt, ap);
	va_end(ap);
}

int config_reader_pos(size_t zero_based)
{
	return zero_based >= INT_MAX - 1 ? INT_MAX : (int)zero_based + 1;
}

__attribute__((format(printf, 3, 4))) void
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

unsigned config_reader_errors_total(const struct config_reader *r)
{
	return r->errors->count + r->errors->dropped;
}

void config_reader_quote(struct slice v, char *out)
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

void config_reader_keys_text(const struct config_key *keys, size_t n, char *out, size_t size)
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

bool config_reader_next(struct config_reader *r)
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

void config_reader_skip(struct config_reader *r)
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

bool config_reader_is_node(const yaml_event_t *ev)
{
	return ev->type == YAML_SCALAR_EVENT || ev->type == YAML_SEQUENCE_START_EVENT ||
	       ev->type == YAML_MAPPING_START_EVENT || ev->type == YAML_ALIAS_EVENT;
}

bool config_reader_node_begin(struct config_reader *r, const char *path)
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

struct slice config_reader_scalar_text(const yaml_event_t *ev)
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

enum config_scalar_kind config_reader_scalar_kind(const yaml_event_t *ev)
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

bool config_reader_scalar_bool(const yaml_event_t *ev)
{
	static const char *const yes[] = {"yes",  "Yes", "YES", "true", "True",
					  "TRUE", "on",	 "On",	"ON"};
	return slice_in(config_reader_scalar_text(ev), yes, ARRAY_SIZE(yes));
}

const char *config_reader_describe(const yaml_event_t *ev)
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

bool config_reader_scalar_string(struct config_reader *r, const char *path, const char *what,
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

bool config_reader_scalar_value(struct config_reader *r, const char *path, const char *what,
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

/* ---- lists and mappings ---------------------------------------------------------------- */

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

int config_reader_list(struct config_reader *r, const char *path, const struct config_list *spec,
		       void *ctx)
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

bool config_reader_reserve(void **arr, unsigned *cap, unsigned need, size_t size)
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

void config_reader_mapping(struct config_reader *r, const char *section,
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

void config_reader_section(struct config_reader *r, const struct config_key *k, const char *path)
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

/* One word of a closed set (lower case, as written): its index, or -1 after an error naming
 * the valid words. */
int config_reader_word(struct config_reader *r, const char *path, const char *what,
		       const char *const *words, size_t n)
{
	struct slice s;
	char q[QUOTE_MAX], valid[64];
	size_t o = 0;

	if (!config_reader_scalar_value(r, path, what, &s))
		return -1;
	for (size_t i = 0; i < n; i++)
		if (slice_eq(s, slice_from_cstr(words[i])))
			return (int)i;
	for (size_t i = 0; i < n && o < sizeof(valid); i++)
		o +=
		    (size_t)snprintf(valid + o, sizeof(valid) - o, "%s%s", i ? ", " : "", words[i]);
	config_reader_quote(s, q);
	config_reader_error(r, r->ev.start_mark, "%s: %s is not %s (valid: %s)", path, q, what,
			    valid);
	return -1;
}

bool config_reader_read_bool(struct config_reader *r, const char *path, bool *out)
{
	if (r->ev.type != YAML_SCALAR_EVENT ||
	    config_reader_scalar_kind(&r->ev) != CONFIG_SCALAR_BOOL) {
		config_reader_error(r, r->ev.start_mark, "%s: expected true or false, got %s", path,
				    config_reader_describe(&r->ev));
		config_reader_skip(r);
		return false;
	}
	*out = config_reader_scalar_bool(&r->ev);
	return true;
}

/* stream-start (document-start root document-end)? stream-end; a second document is refused
 * (one file, one config: a stray "---" must not silently hide the rest). */
void config_reader_document(struct config_reader *r, void (*root)(struct config_reader *r))
{
	if (!config_reader_next(r) || !config_reader_next(r))
		return;
	if (r->ev.type != YAML_DOCUMENT_START_EVENT)
		return;
	if (!config_reader_next(r))
		return;
	if (config_reader_is_node(&r->ev))
		root(r);
	if (!config_reader_next(r) || !config_reader_next(r))
		return;
	if (r->ev.type == YAML_DOCUMENT_START_EVENT)
		config_reader_error(
		    r, r->ev.start_mark,
		    "a second YAML document starts here; a config file holds exactly one");
}
