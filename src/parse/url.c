#include "parse/url.h"

#include <string.h>

static bool has_prefix_nocase(struct slice s, const char *prefix)
{
	size_t n = strlen(prefix);
	return s.len >= n && slice_eq_cstr_nocase(slice_make(s.ptr, n), prefix);
}

enum url_result url_split(struct slice text, struct url *out)
{
	size_t start, i;

	memset(out, 0, sizeof(*out));
	if (text.len > 0 && text.ptr[0] == '/')
		return URL_ORIGIN_FORM;
	if (has_prefix_nocase(text, "http://")) {
		out->scheme = URL_SCHEME_HTTP;
		start = 7;
	} else if (has_prefix_nocase(text, "https://")) {
		out->scheme = URL_SCHEME_HTTPS;
		start = 8;
	} else {
		return URL_NO_SCHEME;
	}
	/* RFC 3986 §3.2: the authority ends at the first '/', '?' or '#'. */
	for (i = start; i < text.len; i++)
		if (text.ptr[i] == '/' || text.ptr[i] == '?' || text.ptr[i] == '#')
			break;
	out->authority = slice_make(text.ptr + start, i - start);
	/* §3.5: the fragment starts at the first '#', wherever it is. */
	const char *hash = memchr(text.ptr + i, '#', text.len - i);
	size_t end = hash ? (size_t)(hash - text.ptr) : text.len;
	out->path = slice_make(text.ptr + i, end - i);
	out->has_query = out->path.len > 0 && memchr(out->path.ptr, '?', out->path.len) != NULL;
	out->has_fragment = hash != NULL;
	return URL_OK;
}

enum url_result url_split_target(struct slice target, struct url *out)
{
	enum url_result rc = url_split(target, out);

	if (rc != URL_OK)
		return rc;
	if (out->scheme == URL_SCHEME_HTTPS)
		return URL_HTTPS_TARGET;
	if (out->has_fragment)
		return URL_FRAGMENT;
	return URL_OK;
}

const char *url_target_detail(enum url_result rc)
{
	switch (rc) {
	case URL_OK:
		break;
	case URL_ORIGIN_FORM:
		return "the request target is a path, not an http:// URL";
	case URL_NO_SCHEME:
		return "the request target is not an http:// URL";
	case URL_HTTPS_TARGET:
		return "https:// URLs must be fetched through CONNECT (set HTTPS_PROXY)";
	case URL_FRAGMENT:
		return "a fragment is not allowed in a request target";
	}
	return "";
}
