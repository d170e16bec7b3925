/* Fuzzes parse/authority: no input crashes or reads out of bounds, and every accepted host is a
 * fixed point of normalisation (parsing its own output gives the same host and address). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parse/authority.h"

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			abort();                                                                   \
	} while (0)

static void check_name_bytes(const struct authority *a)
{
	for (size_t i = 0; i < a->name_len; i++) {
		char c = a->name[i];
		CHECK((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
		      c == '.');
	}
}

/* The normalised host parses again to itself. */
static void check_fixed_point(const struct authority *a)
{
	char text[AUTHORITY_NAME_MAX + 3];
	size_t len = 0;
	if (a->kind == HOST_IPV6)
		text[len++] = '[';
	memcpy(text + len, a->name, a->name_len);
	len += a->name_len;
	if (a->kind == HOST_IPV6)
		text[len++] = ']';
	struct authority b;
	const char *detail = NULL;
	CHECK(authority_parse_host(slice_make(text, len), &b, &detail) == 0);
	CHECK(b.kind == a->kind);
	CHECK(b.name_len == a->name_len && memcmp(b.name, a->name, a->name_len) == 0);
	if (a->kind != HOST_NAME)
		CHECK(ip_addr_eq(&a->ip, &b.ip));
}

static void check_accepted(const struct authority *a)
{
	CHECK(a->name_len > 0 && a->name_len <= AUTHORITY_NAME_MAX);
	CHECK(strlen(a->name) == a->name_len);
	if (a->has_port)
		CHECK(a->port != 0);
	if (a->kind == HOST_NAME) {
		check_name_bytes(a);
	} else {
		char buf[IP_ADDR_TEXT_MAX];
		CHECK(a->ip.family == (a->kind == HOST_IPV4 ? IP_V4 : IP_V6));
		CHECK(ip_addr_format(&a->ip, buf) == a->name_len);
		CHECK(memcmp(buf, a->name, a->name_len) == 0);
	}
	check_fixed_point(a);
}

static void check_strict(struct slice s)
{
	struct ip_addr ip, again;
	if (authority_parse_ip_strict(s, &ip) != 0)
		return;
	char buf[IP_ADDR_TEXT_MAX];
	size_t len = ip_addr_format(&ip, buf);
	CHECK(authority_parse_ip_strict(slice_make(buf, len), &again) == 0);
	CHECK(ip_addr_eq(&ip, &again));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct slice s = slice_make((const char *)data, size);
	struct authority a;
	const char *detail = NULL;
	if (authority_parse(s, 80, &a, &detail) == 0) {
		check_accepted(&a);
	} else {
		CHECK(detail != NULL);
	}
	detail = NULL;
	if (authority_parse_host(s, &a, &detail) == 0) {
		CHECK(!a.has_port);
		check_accepted(&a);
	} else {
		CHECK(detail != NULL);
	}
	check_strict(s);
	return 0;
}
