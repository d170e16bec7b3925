/* json_write: JSON text into a growing buffer, for the bodies sluice writes itself (a search
 * API's answer). Strings are escaped as RFC 8259 requires and otherwise kept as they are:
 * valid UTF-8 passes through (titles in any script), invalid bytes become U+FFFD, so the
 * output is always valid JSON in UTF-8. Commas between items are the writer's. Bounded by
 * max_cap; past it, the writer stops and json_write_ok says so. Does not parse (parse/json). */
#ifndef SLUICE_EMIT_JSON_WRITE_H
#define SLUICE_EMIT_JSON_WRITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/slice.h"

#define JSON_WRITE_DEPTH_MAX 16

struct json_write {
	struct buf *out;
	size_t max_cap;
	unsigned depth;
	bool first[JSON_WRITE_DEPTH_MAX]; /* no item yet at this depth: no comma before the next */
	char close[JSON_WRITE_DEPTH_MAX]; /* what ends each open level: '}' or ']' */
	bool after_key;			  /* a member name was written: its value needs no comma */
	bool failed;			  /* out of room, or too deep */
};

void json_write_init(struct json_write *w, struct buf *out, size_t max_cap);
/* Objects and arrays; a member's name comes first (json_write_key), then its value. */
void json_write_object(struct json_write *w);
void json_write_array(struct json_write *w);
void json_write_end(struct json_write *w); /* closes the innermost */
void json_write_key(struct json_write *w, const char *key);
void json_write_key_slice(struct json_write *w, struct slice key);
void json_write_string(struct json_write *w, struct slice s);
void json_write_cstr(struct json_write *w, const char *s);
void json_write_int(struct json_write *w, int64_t v);
/* A finite number, shortest form that reads back the same; NaN and infinities as null. */
void json_write_double(struct json_write *w, double v);
void json_write_bool(struct json_write *w, bool v);
void json_write_null(struct json_write *w);
/* Everything fit, and every object and array was closed. */
bool json_write_ok(const struct json_write *w);

#endif
