/* config_reader: libyaml events to the values a section reads (scalars, lists, mappings against a
 * table of keys), every error with its line:column. Knows no key's meaning and builds nothing. */
#ifndef SLUICE_CONFIG_CONFIG_READER_H
#define SLUICE_CONFIG_CONFIG_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yaml.h>

#include "policy/approvals.h"

#include "base/slice.h"
#include "config/config.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
/* A message shows at most this many bytes of the offending value: enough to recognise it. */
#define QUOTE_SRC_MAX 40
#define QUOTE_MAX (QUOTE_SRC_MAX * 4 + 8)
#define PATH_MAX_LEN 96
#define KEYS_TEXT_MAX 256

/* The listen keys that take one address or a list (listen.admin takes one). */
enum config_listen_kind {
	CONFIG_LISTEN_HTTP,
	CONFIG_LISTEN_DNS,
	CONFIG_LISTEN_TRANSPARENT_HTTP,
	CONFIG_LISTEN_TRANSPARENT_TLS,
	CONFIG_LISTEN_KINDS
};

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

/* One reading of one text: libyaml's state, the config being built, and what the sections keep
 * for the checks that need more than one key (each group is used by the file named). */
struct config_reader {
	yaml_parser_t parser;
	yaml_event_t ev; /* the current event, valid while have_ev */
	bool have_ev;
	bool stop; /* libyaml failed: nothing more can be read */
	struct slice text;
	struct config *cfg;
	struct config_errors *errors;
	/* config_listen */
	yaml_mark_t listen_marks[CONFIG_LISTEN_KINDS][CONFIG_MAX_LISTEN];
	bool listen_list[CONFIG_LISTEN_KINDS]; /* given as a list: its paths have [i] */
	bool listen_given; /* listen.http was read: listen_marks hold its positions */
	yaml_mark_t admin_mark;
	char admin_text[QUOTE_MAX];
	/* config_dns */
	yaml_mark_t dns_proxy_marks[CONFIG_MAX_DNS_PROXY_ADDRS];
	bool dns_proxy_answer; /* some dns.answer is proxy: the first is here */
	yaml_mark_t dns_proxy_answer_mark;
	char dns_proxy_answer_path[PATH_MAX_LEN];
	/* config_tls */
	bool tls_state_dir_given;
	/* config_rules */
	bool ports_given;
	uint8_t ports[65536 / 8]; /* collected here, applied to the rules once at the end */
	/* config_agents, config_routes, config_headers */
	struct agent *agent; /* the agents[] item being read; NULL at the top level (cfg->base) */
	struct route *route; /* the routes[] item being read */
	struct route_header_set *header; /* the headers.set value being read */
	unsigned header_sources;	 /* keys given in a {env: ..} / {file: ..} value */
	struct config_item_state it;
	bool agents_given;
	unsigned agents_cap, agent_marks_cap, routes_cap, route_marks_cap, refs_cap;
	yaml_mark_t *agent_marks;   /* where each agent's name is, for "first at" */
	yaml_mark_t *route_marks;   /* where each route's host is */
	yaml_mark_t search_mark;    /* config_search: where search: (or its route) is */
	yaml_mark_t approvals_mark; /* config_console: where approvals: is */
	/* config_approvals: the overlay file's list, and the item being read */
	struct approval_list *overlay;
	struct approval item;
	unsigned item_keys;				   /* bit per key given */
	yaml_mark_t search_agent_marks[SEARCH_AGENTS_MAX]; /* and each of search.agents */
	struct config_agent_ref *refs;
	unsigned n_refs;
};

struct config_key;

/* Reads the value of key k, whose first event is current, through its last event. */
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

typedef void config_list_item_fn(struct config_reader *r, const char *path, void *ctx);

struct config_list {
	const char *items; /* "domain patterns", for "expected a list of ..." */
	const char *item;  /* "a domain pattern", for "expected ..." */
	config_list_item_fn *read;
	bool mappings; /* items are mappings (agents, routes), not scalars */
};

/* ---- errors ---------------------------------------------------------------------------- */

/* Adds one error (line and column 1-based, 0 for none); past CONFIG_MAX_ERRORS only counts. */
__attribute__((format(printf, 4, 5))) void
config_reader_add_error(struct config_errors *errors, int line, int column, const char *fmt, ...);
/* yaml_mark_t is 0-based; messages are 1-based like every editor. */
int config_reader_pos(size_t zero_based);
/* An error at mark; none once libyaml failed (its syntax error stands alone). */
__attribute__((format(printf, 3, 4))) void
config_reader_error(struct config_reader *r, yaml_mark_t mark, const char *fmt, ...);
/* Errors recorded so far, dropped ones included: a handler compares it before and after. */
unsigned config_reader_errors_total(const struct config_reader *r);
/* The value as the user wrote it, quoted, with control and non-ASCII bytes escaped so that a
 * message is one printable line whatever the file holds. out has QUOTE_MAX bytes. */
void config_reader_quote(struct slice v, char *out);
/* "a, b, c": the names of keys, for "valid: ..." in a message. */
void config_reader_keys_text(const struct config_key *keys, size_t n, char *out, size_t size);

/* ---- events ---------------------------------------------------------------------------- */

/* Moves to the next event. False when libyaml failed (the error is recorded) or already had. */
bool config_reader_next(struct config_reader *r);
/* Consumes the node whose first event is current, through its last event. Iterative: nesting
 * depth is bounded only by the input. */
void config_reader_skip(struct config_reader *r);
/* True for the first event of a node: a scalar, an alias or the start of a list or mapping. */
bool config_reader_is_node(const yaml_event_t *ev);
/* Anchors, aliases and explicit tags are refused: a config should read the same to a person as
 * to sluice, and aliases are the lever of "billion laughs" expansion. Returns false for an
 * alias (a one-event node the caller has nothing more to do with). */
bool config_reader_node_begin(struct config_reader *r, const char *path);

/* ---- scalars --------------------------------------------------------------------------- */

enum config_scalar_kind {
	CONFIG_SCALAR_NULL,
	CONFIG_SCALAR_BOOL,
	CONFIG_SCALAR_NUMBER,
	CONFIG_SCALAR_STRING
};

struct slice config_reader_scalar_text(const yaml_event_t *ev);
/* YAML 1.1 resolution of plain scalars, as far as it matters here: a plain yes/on/true is a
 * boolean and an empty or ~ value is null, so neither silently becomes a name. Quoted scalars
 * are always strings. */
enum config_scalar_kind config_reader_scalar_kind(const yaml_event_t *ev);
/* The value of a plain boolean (config_reader_scalar_kind said CONFIG_SCALAR_BOOL): yes, on or
 * true. */
bool config_reader_scalar_bool(const yaml_event_t *ev);
/* What the node is, for "got ...": "a list", "a mapping", "an empty value", "a number", ... */
const char *config_reader_describe(const yaml_event_t *ev);
/* The current scalar as text, unless it is a plain null or boolean (then an error). */
bool config_reader_scalar_string(struct config_reader *r, const char *path, const char *what,
				 struct slice *out);
/* The current node must be a scalar: else an error, the node is skipped and false returned. */
bool config_reader_scalar_value(struct config_reader *r, const char *path, const char *what,
				struct slice *out);

/* ---- lists and mappings ---------------------------------------------------------------- */

/* Reads a list of scalars (or of mappings) whose first event is current. Returns the number of
 * items, or -1 when the value is not a list or the YAML broke off (so callers do not add "empty
 * list"). */
int config_reader_list(struct config_reader *r, const char *path, const struct config_list *spec,
		       void *ctx);
/* Grows an array to hold need elements (doubling); false when out of memory. */
bool config_reader_reserve(void **arr, unsigned *cap, unsigned need, size_t size);
/* The current event starts a mapping: reads key/value pairs through its end. */
void config_reader_mapping(struct config_reader *r, const char *section,
			   const struct config_key *keys, size_t n);
/* A section (listen, resolver, ips, timeouts, limits): a mapping, or empty (all defaults). */
void config_reader_section(struct config_reader *r, const struct config_key *k, const char *path);
/* Reads the one YAML document of the text, its root node through root. */
void config_reader_document(struct config_reader *r, void (*root)(struct config_reader *r));

/* A true or false scalar at path into *out; false (after an error) for anything else. */
bool config_reader_read_bool(struct config_reader *r, const char *path, bool *out);

/* One word of a closed set (lower case, as written): its index, or -1 after an error naming
 * the valid words. */
int config_reader_word(struct config_reader *r, const char *path, const char *what,
		       const char *const *words, size_t n);

#endif
