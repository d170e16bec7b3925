/* Fuzzes parse/cidr with policy/cidr_set and policy/special_ranges behind it: no input crashes,
 * an accepted CIDR round-trips through its canonical text, and a set holding it matches it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parse/cidr.h"
#include "policy/cidr_set.h"
#include "policy/special_ranges.h"

#include "fuzz_check.h"

static size_t format_cidr(const struct ip_addr *a, unsigned len, char *out)
{
	size_t n = ip_addr_format(a, out);
	out[n++] = '/';
	if (len >= 100)
		out[n++] = (char)('0' + len / 100);
	if (len >= 10)
		out[n++] = (char)('0' + len / 10 % 10);
	out[n++] = (char)('0' + len % 10);
	out[n] = '\0';
	return n;
}

static void check_set(const struct ip_addr *a, unsigned len, const char *text)
{
	struct cidr_set *set = cidr_set_new();
	if (set == NULL)
		return;
	CHECK(cidr_set_add(set, a, len) == 0);
	unsigned got = 999;
	CHECK(cidr_set_match(set, a, &got) && got == len);
	char buf[IP_ADDR_TEXT_MAX + 4];
	CHECK(cidr_set_match_text(set, a, buf, sizeof(buf)));
	CHECK(strcmp(buf, text) == 0);
	cidr_set_free(set);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ip_addr a, b;
	unsigned len, len2;
	const char *detail = NULL;
	if (cidr_parse(slice_make((const char *)data, size), &a, &len, &detail) != 0) {
		CHECK(detail != NULL);
		return 0;
	}
	CHECK(len <= ip_addr_bits(&a));
	char text[IP_ADDR_TEXT_MAX + 4];
	size_t n = format_cidr(&a, len, text);
	CHECK(cidr_parse(slice_make(text, n), &b, &len2, &detail) == 0);
	CHECK(ip_addr_eq(&a, &b) && len == len2);
	check_set(&a, len, text);

	struct ip_addr v4;
	const struct special_range *r = special_ranges_match(&a);
	if (r != NULL)
		CHECK(r->name != NULL && r->cidr != NULL);
	if (special_ranges_embedded_v4(&a, &v4))
		CHECK(a.family == IP_V6 && v4.family == IP_V4);
	(void)special_ranges_is_metadata(&a);
	return 0;
}
