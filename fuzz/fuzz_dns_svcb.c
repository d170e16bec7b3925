/* Fuzzes parse/dns_svcb: no input crashes or reads out of bounds; an accepted RDATA's hints
 * iterate to as many addresses as their bytes hold; stripped, it is no longer, parses again
 * with the same priority and target, holds no ipv4hint or ipv6hint (nor names them in
 * mandatory), keeps every other key, and strips to itself. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parse/dns_svcb.h"

#include "fuzz_check.h"

static uint8_t stripped[65536], again[65536];

static uint16_t get16(const char *p)
{
	return (uint16_t)((uint8_t)p[0] << 8 | (uint8_t)p[1]);
}

static void check_hints(const struct dns_svcb *s)
{
	CHECK(s->ipv4hint.len % 4 == 0 && s->ipv6hint.len % 16 == 0);
	CHECK(fuzz_slice_inside(s->ipv4hint, s->rdata.ptr, s->rdata.len));
	CHECK(fuzz_slice_inside(s->ipv6hint, s->rdata.ptr, s->rdata.len));
	size_t pos = 0, v4 = 0, v6 = 0;
	struct ip_addr a;
	while (dns_svcb_hint_next(s, &pos, &a)) {
		CHECK(a.family == (v6 == 0 && v4 < s->ipv4hint.len / 4 ? IP_V4 : IP_V6));
		if (a.family == IP_V4)
			v4++;
		else
			v6++;
	}
	CHECK(v4 == s->ipv4hint.len / 4 && v6 == s->ipv6hint.len / 16);
}

/* The keys of the stripped RDATA: none a hint, none listing one; returns how many. */
static unsigned check_no_hint_keys(const struct dns_svcb *s)
{
	size_t at = s->params_at;
	unsigned n = 0;
	while (at < s->rdata.len) {
		uint16_t key = get16(s->rdata.ptr + at);
		size_t len = get16(s->rdata.ptr + at + 2);
		CHECK(key != DNS_SVCB_IPV4HINT && key != DNS_SVCB_IPV6HINT);
		if (key == DNS_SVCB_MANDATORY)
			for (size_t i = 0; i < len; i += 2) {
				uint16_t m = get16(s->rdata.ptr + at + 4 + i);
				CHECK(m != DNS_SVCB_IPV4HINT && m != DNS_SVCB_IPV6HINT);
			}
		at += 4 + len;
		n++;
	}
	CHECK(at == s->rdata.len);
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct slice in = slice_make((const char *)data, size);
	struct dns_svcb s, t;
	const char *detail = NULL;
	if (dns_svcb_parse(in, &s, &detail) != 0) {
		CHECK(detail != NULL);
		return 0;
	}
	CHECK(s.params_at >= 3 && s.params_at <= size);
	CHECK(strlen(s.target.text) == s.target.len);
	check_hints(&s);

	int n = dns_svcb_strip_hints(&s, stripped, sizeof(stripped));
	CHECK(n >= 0 && (size_t)n <= size);
	if (n > 0)
		CHECK(dns_svcb_strip_hints(&s, stripped, (size_t)n - 1) == -1);
	CHECK(dns_svcb_parse(slice_make((const char *)stripped, (size_t)n), &t, &detail) == 0);
	CHECK(t.priority == s.priority && t.params_at == s.params_at);
	CHECK(memcmp(stripped, data, s.params_at) == 0);
	CHECK(t.ipv4hint.len == 0 && t.ipv6hint.len == 0);
	unsigned kept = check_no_hint_keys(&t);
	CHECK(kept == t.n_params);
	unsigned hints = (s.ipv4hint.len > 0) + (s.ipv6hint.len > 0);
	/* Only the hints go, and mandatory when it listed nothing else. */
	CHECK(kept == s.n_params - hints || kept == s.n_params - hints - 1);
	if (hints == 0)
		CHECK((size_t)n == size && memcmp(stripped, data, size) == 0);

	int m = dns_svcb_strip_hints(&t, again, sizeof(again));
	CHECK(m == n && memcmp(again, stripped, (size_t)n) == 0);
	return 0;
}
