/* slice: a pointer + length view of bytes that sluice does not own.
 * Does not allocate, copy or assume NUL termination: network bytes are never C strings. */
#ifndef SLUICE_BASE_SLICE_H
#define SLUICE_BASE_SLICE_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

struct slice {
	const char *ptr;
	size_t len;
};

#define SLICE_LIT(s) ((struct slice){(s), sizeof(s) - 1})

static inline struct slice slice_make(const char *ptr, size_t len)
{
	return (struct slice){ptr, len};
}

static inline struct slice slice_from_cstr(const char *s)
{
	return (struct slice){s, strlen(s)};
}

static inline char slice_ascii_lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c + ('a' - 'A')) : c;
}

bool slice_eq(struct slice a, struct slice b);
/* ASCII case-insensitive comparison (header names, tokens). */
bool slice_eq_nocase(struct slice a, struct slice b);
bool slice_eq_cstr_nocase(struct slice a, const char *lit);
/* Strips leading and trailing SP and HTAB (RFC 9110 OWS). */
struct slice slice_trim_ows(struct slice s);
/* Parses a non-empty run of ASCII digits into *out; fails on anything else or on overflow. */
bool slice_parse_u64(struct slice s, unsigned long long *out);

#endif
