/* Fuzzes parse/url: no input crashes or reads out of bounds; the authority and path are the
 * input's own bytes, in order, and hold what RFC 3986 §3 says they hold; and both splitters it
 * replaced agree with it on every input: io/http_flow.c's request-target splitter (kept below
 * as old_split_target) and the URL half of parse/config.c's upstream parser (old_split_upstream),
 * down to the text of each refusal. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parse/url.h"

#include "fuzz_check.h"

/* io/http_flow.c flow_split_target, as it was. */
static const char *old_split_target(struct slice target, struct slice *authority,
				    struct slice *path)
{
	static const char scheme[] = "http://";
	const size_t scheme_len = sizeof(scheme) - 1;

	if (target.len > 0 && target.ptr[0] == '/')
		return "origin-form";
	if (target.len >= 8 && slice_eq_cstr_nocase(slice_make(target.ptr, 8), "https://"))
		return "https:// URLs must be fetched through CONNECT (set HTTPS_PROXY)";
	if (target.len < scheme_len ||
	    !slice_eq_cstr_nocase(slice_make(target.ptr, scheme_len), scheme))
		return "the request target is not an http:// URL";
	if (memchr(target.ptr, '#', target.len))
		return "a fragment is not allowed in a request target";
	size_t i = scheme_len;
	while (i < target.len && target.ptr[i] != '/' && target.ptr[i] != '?')
		i++;
	*authority = slice_make(target.ptr + scheme_len, i - scheme_len);
	*path = slice_make(target.ptr + i, target.len - i);
	return NULL;
}

static bool has_prefix_nocase(struct slice s, struct slice prefix)
{
	return s.len >= prefix.len && slice_eq_nocase(slice_make(s.ptr, prefix.len), prefix);
}

enum old_upstream { OLD_OK, OLD_SCHEME, OLD_FRAGMENT, OLD_QUERY };

/* The first checks of parse/config.c parse_upstream, as they were: what it then gave
 * authority_parse (host) and its path check (base). */
static enum old_upstream old_split_upstream(struct slice s, bool *tls, struct slice *host,
					    struct slice *base)
{
	struct slice rest;

	*base = slice_make(NULL, 0);
	if (has_prefix_nocase(s, SLICE_LIT("http://"))) {
		*tls = false;
		rest = slice_make(s.ptr + 7, s.len - 7);
	} else if (has_prefix_nocase(s, SLICE_LIT("https://"))) {
		*tls = true;
		rest = slice_make(s.ptr + 8, s.len - 8);
	} else {
		return OLD_SCHEME;
	}
	if (rest.len && memchr(rest.ptr, '#', rest.len))
		return OLD_FRAGMENT;
	if (rest.len && memchr(rest.ptr, '?', rest.len))
		return OLD_QUERY;
	const char *slash = rest.len ? memchr(rest.ptr, '/', rest.len) : NULL;
	*host = slice_make(rest.ptr, slash ? (size_t)(slash - rest.ptr) : rest.len);
	if (slash)
		*base = slice_make(slash, rest.len - host->len);
	return OLD_OK;
}

static bool same(struct slice a, struct slice b)
{
	return a.len == b.len && (a.len == 0 || a.ptr == b.ptr);
}

/* What url_split says holds for any text it split. */
static void check_split(struct slice s, const struct url *u)
{
	size_t scheme_len = u->scheme == URL_SCHEME_HTTPS ? 8 : 7;

	CHECK(u->authority.ptr == s.ptr + scheme_len);
	CHECK(fuzz_slice_inside(u->authority, s.ptr, s.len));
	CHECK(fuzz_slice_inside(u->path, s.ptr, s.len));
	for (size_t i = 0; i < u->authority.len; i++)
		CHECK(u->authority.ptr[i] != '/' && u->authority.ptr[i] != '?' &&
		      u->authority.ptr[i] != '#');
	size_t end = scheme_len + u->authority.len;
	if (u->path.len > 0) {
		CHECK(u->path.ptr == s.ptr + end);
		CHECK(u->path.ptr[0] == '/' || u->path.ptr[0] == '?');
		CHECK(memchr(u->path.ptr, '#', u->path.len) == NULL);
		end += u->path.len;
	}
	CHECK(u->has_query == (u->path.len > 0 && memchr(u->path.ptr, '?', u->path.len) != NULL));
	/* Nothing is lost: what follows the path is the fragment, or nothing. */
	CHECK(u->has_fragment ? end < s.len && s.ptr[end] == '#' : end == s.len);
}

static void check_target(struct slice s)
{
	struct slice authority = {0}, path = {0};
	struct url u;
	enum url_result rc = url_split_target(s, &u);
	const char *old = old_split_target(s, &authority, &path);

	if (rc == URL_OK) {
		CHECK(old == NULL);
		CHECK(u.scheme == URL_SCHEME_HTTP && !u.has_fragment);
		CHECK(same(u.authority, authority) && same(u.path, path));
	} else if (rc == URL_ORIGIN_FORM) {
		CHECK(old != NULL && strcmp(old, "origin-form") == 0);
	} else {
		CHECK(old != NULL && strcmp(old, url_target_detail(rc)) == 0);
	}
}

static void check_upstream(struct slice s)
{
	struct slice host = {0}, base = {0};
	bool tls = false;
	struct url u;
	enum url_result rc = url_split(s, &u);
	enum old_upstream old = old_split_upstream(s, &tls, &host, &base);

	CHECK(rc == URL_OK || rc == URL_ORIGIN_FORM || rc == URL_NO_SCHEME);
	if (rc != URL_OK) {
		CHECK(old == OLD_SCHEME);
		return;
	}
	check_split(s, &u);
	CHECK((u.scheme == URL_SCHEME_HTTPS) == tls);
	if (u.has_fragment) {
		CHECK(old == OLD_FRAGMENT);
	} else if (u.has_query) {
		CHECK(old == OLD_QUERY);
	} else {
		CHECK(old == OLD_OK);
		CHECK(same(u.authority, host) && same(u.path, base));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* An exact-size copy, so that ASan sees a read one past the end. */
	char *text = malloc(size ? size : 1);
	CHECK(text != NULL);
	memcpy(text, data, size);
	struct slice s = slice_make(text, size);
	check_target(s);
	check_upstream(s);
	free(text);
	return 0;
}
