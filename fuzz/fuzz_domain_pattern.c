/* Fuzzes policy/domain_set: the input's lines are added as patterns and then looked up as names.
 * No input crashes, and every match is one a pattern allows: "*", the name itself, or a wildcard
 * whose suffix ends the name at a label boundary. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/slice.h"
#include "policy/domain_set.h"

#include "fuzz_check.h"

#define MAX_LINES 64

static void check_match(const char *m, struct slice name)
{
	if (name.len > 0 && name.ptr[name.len - 1] == '.')
		name.len--;
	if (strcmp(m, "*") == 0)
		return;
	size_t mlen = strlen(m);
	if (m[0] != '*') {
		CHECK(slice_eq_nocase(slice_make(m, mlen), name));
		return;
	}
	CHECK(mlen >= 3 && m[1] == '.');
	struct slice suffix = slice_make(m + 1, mlen - 1); /* ".example.com" */
	CHECK(name.len > suffix.len);
	CHECK(slice_eq_nocase(slice_make(name.ptr + name.len - suffix.len, suffix.len), suffix));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct slice lines[MAX_LINES];
	unsigned n = 0;
	const char *p = (const char *)data, *end = p + size;
	while (p < end && n < MAX_LINES) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		lines[n++] = slice_make(p, len);
		p += len + (nl != NULL);
	}
	struct domain_set *set = domain_set_new();
	if (set == NULL)
		return 0;
	unsigned added = 0;
	for (unsigned i = 0; i < n; i++) {
		const char *detail = NULL;
		if (domain_set_add(set, lines[i], &detail) == 0)
			added++;
		else
			CHECK(detail != NULL);
	}
	CHECK(domain_set_count(set) <= added);
	for (unsigned i = 0; i < n; i++) {
		const char *m = domain_set_match(set, lines[i]);
		if (m != NULL)
			check_match(m, lines[i]);
	}
	domain_set_free(set);
	return 0;
}
