/* url_path: a request target's path in one normal form, for path rules to match and for the
 * request to carry upstream, so that what sluice judged is what the origin is sent (RFC 3986
 * §6.2.2): percent-encoded unreserved characters decoded, other escapes' hex digits upper-cased,
 * dot segments removed (§5.2.4). Refused, because they let one path mean one thing to sluice and
 * another to an origin: an encoded '/' or '\', an encoded NUL, a raw '\', a double-encoded byte
 * (%25 and two hex digits), a malformed escape, a dot segment that climbs above the root.
 * Does not match rules (policy/path_rules does) or judge the query, which is kept as sent. */
#ifndef SLUICE_PARSE_URL_PATH_H
#define SLUICE_PARSE_URL_PATH_H

#include <stddef.h>

#include "base/slice.h"

/* The longest target normalised (a longer one is refused). */
#define URL_PATH_MAX 8192

struct url_path {
	char text[URL_PATH_MAX + 1]; /* the path, then the query ("?..."), NUL-terminated */
	size_t len;		     /* all of text */
	size_t path_len;	     /* the path alone: text[0..path_len) */
};

/* Normalises target, an origin-form request target ("/a/%7Eb/../c?q=1", or "*"). Returns 0 with
 * *out filled in, or -1 with *detail set to a static reason. */
int url_path_normalize(struct slice target, struct url_path *out, const char **detail);

#endif
