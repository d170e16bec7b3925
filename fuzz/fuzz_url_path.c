/* Fuzzes parse/url_path: no target crashes or reads out of bounds; an accepted one is in normal
 * form — normalising it again changes nothing, no segment of its path is "." or "..", no escape
 * in it decodes to an unreserved byte or hides a slash — and its query is the input's. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parse/url_path.h"

#include "fuzz_check.h"

static struct url_path a, b;

static int hexv(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *detail = NULL;
	struct slice in = slice_make((const char *)data, size);

	if (url_path_normalize(in, &a, &detail) != 0) {
		CHECK(detail != NULL);
		return 0;
	}
	CHECK(a.len <= URL_PATH_MAX && a.path_len <= a.len && strlen(a.text) <= a.len);
	CHECK(url_path_normalize(slice_make(a.text, a.len), &b, &detail) == 0);
	CHECK(b.len == a.len && b.path_len == a.path_len && memcmp(a.text, b.text, a.len) == 0);
	const char *q = memchr(in.ptr, '?', in.len);
	size_t query = q ? in.len - (size_t)(q - in.ptr) : 0;
	CHECK(a.len - a.path_len == query);
	if (query)
		CHECK(memcmp(a.text + a.path_len, q, query) == 0);
	if (a.path_len == 1 && a.text[0] == '*')
		return 0;
	CHECK(a.text[0] == '/');
	for (size_t i = 0; i < a.path_len; i++) {
		if (a.text[i] == '/') {
			size_t j = i + 1;
			while (j < a.path_len && a.text[j] != '/')
				j++;
			size_t seg = j - i - 1;
			CHECK(!(seg == 1 && a.text[i + 1] == '.'));
			CHECK(!(seg == 2 && a.text[i + 1] == '.' && a.text[i + 2] == '.'));
		}
		if (a.text[i] == '%') {
			CHECK(i + 2 < a.path_len);
			int hi = hexv(a.text[i + 1]), lo = hexv(a.text[i + 2]);
			CHECK(hi >= 0 && lo >= 0);
			int v = hi << 4 | lo;
			CHECK(v != '/' && v != '\\' && v != 0);
			CHECK(!((v >= 'a' && v <= 'z') || (v >= 'A' && v <= 'Z') ||
				(v >= '0' && v <= '9') || v == '-' || v == '.' || v == '_' ||
				v == '~'));
		}
		CHECK(a.text[i] != '\\');
	}
	return 0;
}
