/* url: splits http:// and https:// URLs (a request's absolute-form target, a route's upstream) into
 * scheme, authority and path. Does not parse the authority, decode %XX or allocate. */
#ifndef SLUICE_PARSE_URL_H
#define SLUICE_PARSE_URL_H

#include <stdbool.h>

#include "base/slice.h"

enum url_scheme { URL_SCHEME_HTTP, URL_SCHEME_HTTPS };

enum url_result {
	URL_OK,
	URL_ORIGIN_FORM,  /* starts with '/': a request for a server, not for a proxy */
	URL_NO_SCHEME,	  /* does not start with http:// or https:// (any case) */
	URL_HTTPS_TARGET, /* url_split_target: an https:// target (the client must CONNECT) */
	URL_FRAGMENT,	  /* url_split_target: a '#' (an absolute-URI has none, RFC 3986 §4.3) */
};

/* Slices into the text that was split. */
struct url {
	enum url_scheme scheme;
	struct slice authority; /* after "//", up to the first '/', '?' or '#'; may be empty */
	struct slice path;	/* from there up to a '#': "/a/b?q", "/", "?q" or "" */
	bool has_query;		/* path holds a '?' */
	bool has_fragment;	/* a '#' ends the path (the fragment itself is not kept) */
};

/* Splits "scheme://authority[/path][?query][#fragment]" with scheme http or https. Returns
 * URL_OK with *out filled in, URL_ORIGIN_FORM or URL_NO_SCHEME. What may follow (a query, a
 * fragment) is the caller's to refuse. */
enum url_result url_split(struct slice text, struct url *out);

/* A request target in absolute form (RFC 9112 §3.2.2): url_split, and then URL_HTTPS_TARGET for an
 * https:// target and URL_FRAGMENT for a target with a '#'; on URL_OK the scheme is http. */
enum url_result url_split_target(struct slice target, struct url *out);

/* The text a refused request target is answered with (the detail of a 400): "" for URL_OK. */
const char *url_target_detail(enum url_result rc);

#endif
