/* proxy_auth: parses a Proxy-Authorization header of the Basic scheme (RFC 7617) into user and
 * password, decoding base64 strictly into a caller's buffer. Does not check credentials. */
#ifndef SLUICE_PARSE_PROXY_AUTH_H
#define SLUICE_PARSE_PROXY_AUTH_H

#include <stddef.h>

#include "base/slice.h"

#define PROXY_AUTH_MAX 1024

/* Returns 0 and sets *user and *password as slices into out (decoded "user:password"), or -1
 * when the scheme is not Basic, the base64 is malformed (RFC 4648 §4, padding required), the
 * decoded text has no ':' or holds control bytes, or it does not fit in out_size. */
int proxy_auth_parse_basic(struct slice header_value, char *out, size_t out_size,
			   struct slice *user, struct slice *password);

#endif
