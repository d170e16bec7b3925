/* json: strict RFC 8259 JSON into a tree, for the bodies sluice reads rather than relays (a
 * search API's request, SearXNG's answer). UTF-8 is checked, escapes are decoded (\u pairs
 * into UTF-8; a lone surrogate is an error), duplicate keys are kept (json_get takes the
 * first), numbers are checked to the grammar and read as doubles. Bounded: nesting depth and
 * node count, so a hostile body cannot make it work or allocate without end. The tree lives in
 * the caller's arena (strings without escapes point into the input, which must outlive it).
 * Does no I/O and writes no JSON (emit/json_write does). */
#ifndef SLUICE_PARSE_JSON_H
#define SLUICE_PARSE_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include "base/arena.h"
#include "base/slice.h"

#define JSON_DEPTH_MAX 32
#define JSON_NODES_MAX 100000

enum json_type {
	JSON_NULL,
	JSON_FALSE,
	JSON_TRUE,
	JSON_NUMBER,
	JSON_STRING,
	JSON_ARRAY,
	JSON_OBJECT,
};

struct json_value {
	enum json_type type;
	struct slice key;	  /* a member's name (in an object), decoded */
	struct slice string;	  /* JSON_STRING: decoded; JSON_NUMBER: its text */
	double number;		  /* JSON_NUMBER */
	unsigned n;		  /* JSON_ARRAY, JSON_OBJECT: how many items */
	struct json_value *first; /* JSON_ARRAY, JSON_OBJECT: the first item */
	struct json_value *next;  /* the next item of the array or object this is in */
};

/* The document in text[0..n) (one value, whitespace around it), or NULL with *err saying why
 * ("line 1, column 7: expected a value"; static storage until the next call on this thread). */
const struct json_value *json_parse(const char *text, size_t n, struct arena *a, const char **err);

/* An object's first member called key, or NULL (also when v is not an object). */
const struct json_value *json_get(const struct json_value *v, const char *key);
/* The string, when v is one. */
bool json_string(const struct json_value *v, struct slice *out);
/* The number, when v is one. */
bool json_number(const struct json_value *v, double *out);
/* true or false, when v is one. */
bool json_bool(const struct json_value *v, bool *out);

#endif
