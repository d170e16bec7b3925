/* Fuzz target for route_rewrite_path, which turns the path an agent sent into the path an
 * operator route's upstream sees: never a write or read out of bounds (exact-size buffers),
 * and the result is what the rule says, byte for byte, or -1 when it does not fit:
 *   base + "/" + path                when the path is empty or a bare query;
 *   base + to + rest                 when the path starts with `from` (rest: the path after
 *                                    `from`, one '/' less when base + to already ends in one);
 *   base + path                      otherwise;
 * and -1 when that is not origin-form (does not start with '/').
 * The first input byte picks a route, the second the output size, the rest is the path. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy/route.h"

#include "fuzz_check.h"

struct rule {
	const char *base, *from, *to;
};

/* Routes as the config loader accepts them: base "" or an absolute path without a trailing
 * '/'; from and to both absolute paths, or both unset. */
static const struct rule rules[] = {
    {"", "", ""},     {"/searx", "", ""},      {"", "/api/", "/"}, {"/b", "/v1", "/v2"},
    {"", "/", "/x/"}, {"/up", "/search", "/"}, {"", "/a", "/b"},   {"/base", "/", "/"},
};

static size_t append(char *dst, size_t len, const char *src, size_t n)
{
	memcpy(dst + len, src, n);
	return len + n;
}

/* The rule above, written out without any of the implementation's shortcuts. */
static size_t expected(const struct rule *r, const char *path, size_t n, char *dst)
{
	size_t len = append(dst, 0, r->base, strlen(r->base)), from = strlen(r->from);

	if (n == 0 || path[0] == '?') {
		len = append(dst, len, "/", 1);
	} else if (from > 0 && n >= from && memcmp(path, r->from, from) == 0) {
		len = append(dst, len, r->to, strlen(r->to));
		path += from;
		n -= from;
		if (len > 0 && dst[len - 1] == '/' && n > 0 && path[0] == '/') {
			path++;
			n--;
		}
	}
	return append(dst, len, path, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct route route;
	static char want[3 * ROUTE_PREFIX_MAX + 70000];

	if (size < 2 || size > 65536)
		return 0;
	const struct rule *r = &rules[data[0] % (sizeof(rules) / sizeof(rules[0]))];
	size_t out_size = data[1] < 200 ? data[1] : 8192;
	memset(&route, 0, sizeof(route));
	strcpy(route.upstream_base, r->base);
	strcpy(route.rewrite_from, r->from);
	strcpy(route.rewrite_to, r->to);

	size_t n = size - 2;
	char *path = malloc(n ? n : 1);
	char *out = malloc(out_size ? out_size : 1);
	CHECK(path != NULL && out != NULL);
	memcpy(path, data + 2, n);
	int rc = route_rewrite_path(&route, slice_make(path, n), out, out_size);

	size_t want_len = expected(r, path, n, want);
	bool origin_form = want_len > 0 && want[0] == '/';
	if (want_len < out_size && origin_form)
		CHECK(rc == (int)want_len && memcmp(out, want, want_len) == 0 && out[rc] == '\0');
	else
		CHECK(rc == -1);
	free(path);
	free(out);
	return 0;
}
