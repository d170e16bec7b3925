/* Fuzzes parse/authority: no input crashes or reads out of bounds, every accepted host is a
 * fixed point of normalisation (parsing its own output gives the same host and address), and
 * sluice never reads as a name what the C library would read as an IP address (the resolver
 * and a downstream client would connect to that address without asking sluice's policy); the
 * host as spelled lies inside the input and reads as the same host. */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parse/authority.h"

#include "fuzz_check.h"

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

/* The spelled host lies inside the text, and parses (bracketed again for IPv6) to the same host:
 * the log's host_raw is what the judged host was read from. */
static void check_spelled(struct slice text, const struct authority *a)
{
	struct authority b;
	char buf[512];

	CHECK(a->spelled_at <= text.len && a->spelled_len <= text.len - a->spelled_at);
	if (a->spelled_len + 2 > sizeof(buf))
		return;
	size_t len = 0;
	if (a->kind == HOST_IPV6) {
		CHECK(a->spelled_at > 0 && text.ptr[a->spelled_at - 1] == '[');
		buf[len++] = '[';
	}
	memcpy(buf + len, text.ptr + a->spelled_at, a->spelled_len);
	len += a->spelled_len;
	if (a->kind == HOST_IPV6)
		buf[len++] = ']';
	CHECK(authority_parse_host(slice_make(buf, len), &b, NULL) == 0);
	CHECK(b.kind == a->kind && b.name_len == a->name_len &&
	      memcmp(b.name, a->name, a->name_len) == 0);
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

/* Differential check against glibc's inet_aton, the most permissive IPv4 reader there is
 * (decimal, octal and hex parts, 1 to 4 of them): what it takes as an address, sluice refuses
 * or takes as the same address; what sluice takes as a name, neither inet_aton nor
 * inet_pton(AF_INET6) takes as an address. */
static void check_against_libc(struct slice s)
{
	char text[AUTHORITY_NAME_MAX + 8];
	struct in_addr v4;
	struct in6_addr v6;
	struct authority a;
	const char *detail = NULL;

	if (s.len >= sizeof(text))
		return;
	for (size_t i = 0; i < s.len; i++)
		/* inet_aton stops at the first space and ignores the rest: not comparable. */
		if (s.ptr[i] == '\0' || isspace((unsigned char)s.ptr[i]))
			return;
	memcpy(text, s.ptr, s.len);
	text[s.len] = '\0';
	bool libc_v4 = inet_aton(text, &v4) != 0;
	if (authority_parse_host(s, &a, &detail) != 0)
		return;
	if (a.kind == HOST_NAME) {
		CHECK(!libc_v4);
		CHECK(inet_aton(a.name, &v4) == 0);
		CHECK(inet_pton(AF_INET6, a.name, &v6) != 1);
	} else if (a.kind == HOST_IPV4 && libc_v4) {
		CHECK(memcmp(a.ip.bytes, &v4.s_addr, 4) == 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct slice s = slice_make((const char *)data, size);
	struct authority a;
	const char *detail = NULL;
	if (authority_parse(s, 80, &a, &detail) == 0) {
		check_accepted(&a);
		check_spelled(s, &a);
	} else {
		CHECK(detail != NULL);
	}
	detail = NULL;
	if (authority_parse_host(s, &a, &detail) == 0) {
		CHECK(!a.has_port);
		check_accepted(&a);
		check_spelled(s, &a);
	} else {
		CHECK(detail != NULL);
	}
	check_strict(s);
	check_against_libc(s);
	return 0;
}
