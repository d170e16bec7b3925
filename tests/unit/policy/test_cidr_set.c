/* Tests src/policy/cidr_set.c: longest-prefix match per family, against a brute-force oracle
 * and at scale. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "parse/cidr.h"
#include "policy/cidr_set.h"

static struct ip_addr ip(const char *text)
{
	struct ip_addr a;
	unsigned len;
	const char *detail;
	if (cidr_parse(slice_from_cstr(text), &a, &len, &detail) != 0)
		fail_msg("bad test address %s", text);
	return a;
}

static void add(struct cidr_set *s, const char *text)
{
	struct ip_addr a;
	unsigned len;
	const char *detail;
	if (cidr_parse(slice_from_cstr(text), &a, &len, &detail) != 0)
		fail_msg("bad test cidr %s", text);
	assert_int_equal(cidr_set_add(s, &a, len), 0);
}

/* The matched prefix length, or -1 when nothing covers the address. */
static int match_len(const struct cidr_set *s, const char *text)
{
	struct ip_addr a = ip(text);
	unsigned len = 999;
	return cidr_set_match(s, &a, &len) ? (int)len : -1;
}

static void test_empty_set_matches_nothing(void **state)
{
	struct cidr_set *s = cidr_set_new();
	assert_non_null(s);
	assert_int_equal(match_len(s, "10.0.0.1"), -1);
	assert_int_equal(match_len(s, "::1"), -1);
	assert_int_equal(cidr_set_count(s), 0);
	cidr_set_free(s);
}

static void test_free_null(void **state)
{
	cidr_set_free(NULL);
}

static void test_single_prefix(void **state)
{
	struct cidr_set *s = cidr_set_new();
	add(s, "10.0.0.0/8");
	assert_int_equal(match_len(s, "10.0.0.0"), 8);
	assert_int_equal(match_len(s, "10.255.255.255"), 8);
	assert_int_equal(match_len(s, "9.255.255.255"), -1);
	assert_int_equal(match_len(s, "11.0.0.0"), -1);
	cidr_set_free(s);
}

static void test_longest_prefix_wins_any_insert_order(void **state)
{
	static const char *order[2][3] = {{"10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24"},
					  {"10.1.2.0/24", "10.1.0.0/16", "10.0.0.0/8"}};
	for (int o = 0; o < 2; o++) {
		struct cidr_set *s = cidr_set_new();
		for (int i = 0; i < 3; i++)
			add(s, order[o][i]);
		assert_int_equal(match_len(s, "10.1.2.3"), 24);
		assert_int_equal(match_len(s, "10.1.3.3"), 16);
		assert_int_equal(match_len(s, "10.2.0.0"), 8);
		assert_int_equal(match_len(s, "11.1.2.3"), -1);
		assert_int_equal(cidr_set_count(s), 3);
		cidr_set_free(s);
	}
}

/* A split leaves a glue node (here 10.0.0.0/7) that must not match by itself. */
static void test_siblings_glue_node_does_not_match(void **state)
{
	struct cidr_set *s = cidr_set_new();
	add(s, "10.0.0.0/8");
	add(s, "11.0.0.0/8");
	assert_int_equal(match_len(s, "10.9.9.9"), 8);
	assert_int_equal(match_len(s, "11.9.9.9"), 8);
	assert_int_equal(match_len(s, "8.0.0.0"), -1);
	assert_int_equal(match_len(s, "12.0.0.0"), -1);
	add(s, "10.0.0.0/7"); /* now the glue becomes a real prefix */
	assert_int_equal(match_len(s, "11.9.9.9"), 8);
	assert_int_equal(cidr_set_count(s), 3);
	cidr_set_free(s);
}

static void test_default_route_per_family(void **state)
{
	struct cidr_set *s = cidr_set_new();
	add(s, "0.0.0.0/0");
	assert_int_equal(match_len(s, "1.2.3.4"), 0);
	assert_int_equal(match_len(s, "255.255.255.255"), 0);
	assert_int_equal(match_len(s, "::1"), -1);
	add(s, "::/0");
	assert_int_equal(match_len(s, "2001:db8::1"), 0);
	cidr_set_free(s);
}

static void test_host_routes(void **state)
{
	struct cidr_set *s = cidr_set_new();
	add(s, "169.254.169.254/32");
	add(s, "fd00:ec2::254/128");
	assert_int_equal(match_len(s, "169.254.169.254"), 32);
	assert_int_equal(match_len(s, "169.254.169.253"), -1);
	assert_int_equal(match_len(s, "169.254.169.255"), -1);
	assert_int_equal(match_len(s, "fd00:ec2::254"), 128);
	assert_int_equal(match_len(s, "fd00:ec2::255"), -1);
	cidr_set_free(s);
}

/* cidr_set compares families only; special_ranges looks inside IPv6 forms. */
static void test_families_are_separate(void **state)
{
	struct cidr_set *s = cidr_set_new();
	add(s, "10.0.0.0/8");
	assert_int_equal(match_len(s, "::ffff:10.0.0.1"), -1);
	assert_int_equal(match_len(s, "a00::"), -1);
	cidr_set_free(s);
}

static void test_duplicates_are_harmless(void **state)
{
	struct cidr_set *s = cidr_set_new();
	add(s, "192.168.0.0/16");
	add(s, "192.168.0.0/16");
	add(s, "fc00::/7");
	add(s, "fc00::/7");
	assert_int_equal(cidr_set_count(s), 2);
	assert_int_equal(match_len(s, "192.168.1.1"), 16);
	cidr_set_free(s);
}

static void test_host_bits_ignored_on_add(void **state)
{
	struct cidr_set *s = cidr_set_new();
	struct ip_addr a = ip("10.1.2.3");
	assert_int_equal(cidr_set_add(s, &a, 8), 0);
	assert_int_equal(match_len(s, "10.200.0.0"), 8);
	char buf[64];
	assert_true(cidr_set_match_text(s, &a, buf, sizeof(buf)));
	assert_string_equal(buf, "10.0.0.0/8");
	cidr_set_free(s);
}

static void test_refuse_prefix_too_long(void **state)
{
	struct cidr_set *s = cidr_set_new();
	struct ip_addr a = ip("10.0.0.0");
	assert_int_equal(cidr_set_add(s, &a, 33), -1);
	struct ip_addr b = ip("::");
	assert_int_equal(cidr_set_add(s, &b, 129), -1);
	assert_int_equal(cidr_set_count(s), 0);
	cidr_set_free(s);
}

static void test_match_text(void **state)
{
	struct cidr_set *s = cidr_set_new();
	add(s, "10.0.0.0/8");
	add(s, "10.1.0.0/16");
	add(s, "2001:db8::/32");
	add(s, "::ffff:0.0.0.0/96");
	add(s, "fd00:ec2::254/128");
	char buf[IP_ADDR_TEXT_MAX + 4];
	struct ip_addr a = ip("10.1.2.3");
	assert_true(cidr_set_match_text(s, &a, buf, sizeof(buf)));
	assert_string_equal(buf, "10.1.0.0/16");
	a = ip("2001:db8:1::1");
	assert_true(cidr_set_match_text(s, &a, buf, sizeof(buf)));
	assert_string_equal(buf, "2001:db8::/32");
	a = ip("::ffff:1.2.3.4");
	assert_true(cidr_set_match_text(s, &a, buf, sizeof(buf)));
	assert_string_equal(buf, "::ffff:0.0.0.0/96");
	a = ip("fd00:ec2::254");
	assert_true(cidr_set_match_text(s, &a, buf, sizeof(buf)));
	assert_string_equal(buf, "fd00:ec2::254/128");
	a = ip("11.0.0.0");
	assert_false(cidr_set_match_text(s, &a, buf, sizeof(buf)));
	cidr_set_free(s);
}

static void test_match_text_short_buffer_still_matches(void **state)
{
	struct cidr_set *s = cidr_set_new();
	add(s, "10.0.0.0/8");
	char buf[5];
	struct ip_addr a = ip("10.1.2.3");
	assert_true(cidr_set_match_text(s, &a, buf, sizeof(buf)));
	assert_string_equal(buf, "10.0");
	cidr_set_free(s);
}

static void test_null_prefix_len_pointer(void **state)
{
	struct cidr_set *s = cidr_set_new();
	add(s, "10.0.0.0/8");
	struct ip_addr a = ip("10.0.0.1");
	assert_true(cidr_set_match(s, &a, NULL));
	cidr_set_free(s);
}

/* ---- against a brute-force oracle ---- */

struct prefix {
	struct ip_addr addr;
	unsigned len;
};

static bool covers(const struct prefix *p, const struct ip_addr *a)
{
	if (p->addr.family != a->family)
		return false;
	for (unsigned i = 0; i < p->len; i++) {
		unsigned bit = 7 - i % 8;
		if (((p->addr.bytes[i / 8] >> bit) & 1) != ((a->bytes[i / 8] >> bit) & 1))
			return false;
	}
	return true;
}

static int oracle(const struct prefix *ps, size_t n, const struct ip_addr *a)
{
	int best = -1;
	for (size_t i = 0; i < n; i++)
		if (covers(&ps[i], a) && (int)ps[i].len > best)
			best = (int)ps[i].len;
	return best;
}

/* Random prefixes clustered under a few roots so that they nest and split often. */
static void random_prefix(struct prefix *p, unsigned *seed)
{
	bool v6 = rand_r(seed) % 2;
	memset(p, 0, sizeof(*p));
	p->addr.family = v6 ? IP_V6 : IP_V4;
	unsigned bits = v6 ? 128 : 32;
	p->addr.bytes[0] = (uint8_t)(rand_r(seed) % 4);
	for (unsigned i = 1; i < bits / 8; i++)
		p->addr.bytes[i] = (uint8_t)(rand_r(seed) % 3 == 0 ? rand_r(seed) : 0);
	p->len = (unsigned)rand_r(seed) % (bits + 1);
	for (unsigned i = p->len; i < bits; i++)
		p->addr.bytes[i / 8] &= (uint8_t) ~(0x80u >> (i % 8));
}

static void test_matches_oracle(void **state)
{
	enum { N = 3000, LOOKUPS = 3000 };
	struct prefix *ps = calloc(N, sizeof(*ps));
	struct cidr_set *s = cidr_set_new();
	unsigned seed = 12345;
	for (size_t i = 0; i < N; i++) {
		random_prefix(&ps[i], &seed);
		assert_int_equal(cidr_set_add(s, &ps[i].addr, ps[i].len), 0);
	}
	for (size_t i = 0; i < LOOKUPS; i++) {
		/* An address near an inserted prefix: its bits with a random tail. */
		struct ip_addr a = ps[(unsigned)rand_r(&seed) % N].addr;
		unsigned bits = ip_addr_bits(&a);
		unsigned from = (unsigned)rand_r(&seed) % (bits + 1);
		for (unsigned b = from; b < bits; b++)
			if (rand_r(&seed) % 2)
				a.bytes[b / 8] ^= (uint8_t)(0x80u >> (b % 8));
		unsigned got = 0;
		int want = oracle(ps, N, &a);
		bool hit = cidr_set_match(s, &a, &got);
		assert_int_equal(hit, want >= 0);
		if (hit)
			assert_int_equal((int)got, want);
	}
	cidr_set_free(s);
	free(ps);
}

/* 100,000 prefixes: every one is found at its own length or longer, quickly. */
static void test_scale_100k(void **state)
{
	enum { N = 100000 };
	struct prefix *ps = calloc(N, sizeof(*ps));
	struct cidr_set *s = cidr_set_new();
	unsigned seed = 777;
	clock_t t0 = clock();
	for (size_t i = 0; i < N; i++) {
		ps[i].addr.family = i % 2 ? IP_V6 : IP_V4;
		unsigned bits = ip_addr_bits(&ps[i].addr);
		for (unsigned b = 0; b < bits / 8; b++)
			ps[i].addr.bytes[b] = (uint8_t)rand_r(&seed);
		ps[i].len = bits * 3 / 4 + (unsigned)rand_r(&seed) % (bits / 4 + 1);
		assert_int_equal(cidr_set_add(s, &ps[i].addr, ps[i].len), 0);
	}
	for (size_t i = 0; i < N; i++) {
		unsigned got = 0;
		assert_true(cidr_set_match(s, &ps[i].addr, &got));
		assert_true(got >= ps[i].len);
	}
	double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
	assert_true(cidr_set_count(s) <= N);
	assert_true(cidr_set_count(s) > N - 100);
	assert_true(secs < 2.0);
	cidr_set_free(s);
	free(ps);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_empty_set_matches_nothing),
	    cmocka_unit_test(test_free_null),
	    cmocka_unit_test(test_single_prefix),
	    cmocka_unit_test(test_longest_prefix_wins_any_insert_order),
	    cmocka_unit_test(test_siblings_glue_node_does_not_match),
	    cmocka_unit_test(test_default_route_per_family),
	    cmocka_unit_test(test_host_routes),
	    cmocka_unit_test(test_families_are_separate),
	    cmocka_unit_test(test_duplicates_are_harmless),
	    cmocka_unit_test(test_host_bits_ignored_on_add),
	    cmocka_unit_test(test_refuse_prefix_too_long),
	    cmocka_unit_test(test_match_text),
	    cmocka_unit_test(test_match_text_short_buffer_still_matches),
	    cmocka_unit_test(test_null_prefix_len_pointer),
	    cmocka_unit_test(test_matches_oracle),
	    cmocka_unit_test(test_scale_100k),
	};
	return cmocka_run_group_tests(tests, 0, 0);
}
