#include "parse/url_path.h"

#include <stdbool.h>
#include <string.h>

static int fail(const char **detail, const char *why)
{
	*detail = why;
	return -1;
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* RFC 3986 §2.3. */
static bool is_unreserved(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~';
}

/* Pass one: escapes decoded or normalised into out (at most cap bytes). */
static int decode(struct slice path, char *out, size_t cap, size_t *len, const char **detail)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = 0;

	for (size_t i = 0; i < path.len; i++) {
		unsigned char c = (unsigned char)path.ptr[i];
		if (c == '\\')
			return fail(detail, "a backslash in the path");
		if (c != '%') {
			if (n == cap)
				return fail(detail, "the path is too long");
			out[n++] = (char)c;
			continue;
		}
		if (path.len - i < 3)
			return fail(detail, "a malformed %-escape in the path");
		int hi = hex_value(path.ptr[i + 1]), lo = hex_value(path.ptr[i + 2]);
		if (hi < 0 || lo < 0)
			return fail(detail, "a malformed %-escape in the path");
		unsigned char v = (unsigned char)(hi << 4 | lo);
		if (v == '/' || v == '\\')
			return fail(detail, "an encoded slash in the path");
		if (v == 0)
			return fail(detail, "an encoded NUL in the path");
		if (v == '%' && i + 4 < path.len && hex_value(path.ptr[i + 3]) >= 0 &&
		    hex_value(path.ptr[i + 4]) >= 0)
			return fail(detail, "a double-encoded byte in the path");
		if (is_unreserved(v)) {
			if (n == cap)
				return fail(detail, "the path is too long");
			out[n++] = (char)v;
		} else {
			if (cap - n < 3)
				return fail(detail, "the path is too long");
			out[n++] = '%';
			out[n++] = hex[v >> 4];
			out[n++] = hex[v & 15];
		}
		i += 2;
	}
	/* An escaped '%' must not be followed by two hex digits once the rest is decoded
	 * either ("%25%35a" is "%255a"): an origin that decodes twice would read another byte. */
	for (size_t i = 0; i + 4 < n; i++)
		if (out[i] == '%' && out[i + 1] == '2' && out[i + 2] == '5' &&
		    hex_value(out[i + 3]) >= 0 && hex_value(out[i + 4]) >= 0)
			return fail(detail, "a double-encoded byte in the path");
	*len = n;
	return 0;
}

/* Pass two: RFC 3986 §5.2.4 on in[0..len) (which starts with '/'), into out; a ".." with no
 * segment left to remove is refused rather than clamped at the root. */
static int remove_dots(const char *in, size_t len, char *out, size_t *out_len, const char **detail)
{
	size_t n = 0, at = 1;

	for (;;) {
		const char *slash = memchr(in + at, '/', len - at);
		size_t end = slash ? (size_t)(slash - in) : len;
		size_t seg = end - at;
		bool last = slash == NULL;
		if (seg == 1 && in[at] == '.') {
			/* nothing */
		} else if (seg == 2 && in[at] == '.' && in[at + 1] == '.') {
			if (n == 0)
				return fail(detail, "a dot segment above the root");
			while (n > 0 && out[n - 1] != '/')
				n--;
			n--; /* the '/' before the segment removed */
		} else {
			out[n++] = '/';
			memcpy(out + n, in + at, seg);
			n += seg;
			if (last)
				break;
			at = end + 1;
			continue;
		}
		if (last) {
			out[n++] = '/'; /* "/a/." and "/a/b/.." end with the directory's slash */
			break;
		}
		at = end + 1;
	}
	*out_len = n;
	return 0;
}

int url_path_normalize(struct slice target, struct url_path *out, const char **detail)
{
	char decoded[URL_PATH_MAX];
	const char *q = memchr(target.ptr, '?', target.len);
	struct slice path = slice_make(target.ptr, q ? (size_t)(q - target.ptr) : target.len);
	size_t query_len = target.len - path.len, n;

	out->len = out->path_len = 0;
	out->text[0] = '\0';
	if (target.len > URL_PATH_MAX)
		return fail(detail, "the path is too long");
	if (path.len == 1 && path.ptr[0] == '*' && query_len == 0) {
		out->text[0] = '*';
		out->text[1] = '\0';
		out->len = out->path_len = 1;
		return 0;
	}
	if (path.len == 0 || path.ptr[0] != '/')
		return fail(detail, "the path does not start with '/'");
	if (decode(path, decoded, sizeof(decoded), &n, detail) != 0)
		return -1;
	/* Removing dots never lengthens the path but by the one '/' a trailing dot segment
	 * leaves, and it took two bytes ("/."). */
	if (remove_dots(decoded, n, out->text, &out->path_len, detail) != 0)
		return -1;
	if (out->path_len + query_len > URL_PATH_MAX)
		return fail(detail, "the path is too long");
	memcpy(out->text + out->path_len, target.ptr + path.len, query_len);
	out->len = out->path_len + query_len;
	out->text[out->len] = '\0';
	return 0;
}
