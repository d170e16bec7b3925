/* Tests src/base/ip_addr.c: canonical text (RFC 5952 for IPv6), equality, construction. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "base/ip_addr.h"

static struct ip_addr v6(uint16_t g0, uint16_t g1, uint16_t g2, uint16_t g3, uint16_t g4,
			 uint16_t g5, uint16_t g6, uint16_t g7)
{
	uint16_t g[8] = {g0, g1, g2, g3, g4, g5, g6, g7};
	struct ip_addr a = {.family = IP_V6};
	for (int i = 0; i < 8; i++) {
		a.bytes[2 * i] = (uint8_t)(g[i] >> 8);
		a.bytes[2 * i + 1] = (uint8_t)g[i];
	}
	return a;
}

static void assert_text(struct ip_addr a, const char *want)
{
	char buf[IP_ADDR_TEXT_MAX];
	size_t len = ip_addr_format(&a, buf);
	assert_string_equal(buf, want);
	assert_int_equal(len, strlen(want));
}

static void test_v4_bytes_are_network_order(void **state)
{
	struct ip_addr a;
	ip_addr_v4(&a, 0xa9fea9fe);
	assert_int_equal(a.family, IP_V4);
	assert_int_equal(a.bytes[0], 169);
	assert_int_equal(a.bytes[1], 254);
	assert_int_equal(a.bytes[2], 169);
	assert_int_equal(a.bytes[3], 254);
	assert_int_equal(ip_addr_bits(&a), 32);
}

static void test_v4_format(void **state)
{
	struct ip_addr a;
	ip_addr_v4(&a, 0);
	assert_text(a, "0.0.0.0");
	ip_addr_v4(&a, 0xffffffff);
	assert_text(a, "255.255.255.255");
	ip_addr_v4(&a, 0xc0000201);
	assert_text(a, "192.0.2.1");
	ip_addr_v4(&a, 0x0a000001);
	assert_text(a, "10.0.0.1");
}

static void test_v6_unspecified_and_loopback(void **state)
{
	assert_text(v6(0, 0, 0, 0, 0, 0, 0, 0), "::");
	assert_text(v6(0, 0, 0, 0, 0, 0, 0, 1), "::1");
	assert_int_equal(ip_addr_bits(&(struct ip_addr){.family = IP_V6}), 128);
}

/* RFC 5952 §4.1: no leading zeros; §4.3: lowercase. */
static void test_v6_lowercase_no_leading_zeros(void **state)
{
	assert_text(v6(0x2001, 0x0db8, 0x0abc, 0x00de, 0x000f, 0xABCD, 0x1, 0x10),
		    "2001:db8:abc:de:f:abcd:1:10");
}

/* RFC 5952 §4.2.1: "::" shortens as much as possible. */
static void test_v6_compress_longest_run(void **state)
{
	assert_text(v6(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1), "2001:db8::1");
	assert_text(v6(0x2001, 0, 0, 1, 0, 0, 0, 1), "2001:0:0:1::1");
	assert_text(v6(0xfe80, 0, 0, 0, 0, 0, 0, 0), "fe80::");
	assert_text(v6(0, 0, 0, 0, 0, 0, 0, 0x100), "::100");
}

/* RFC 5952 §4.2.2: a single zero group is not compressed. */
static void test_v6_single_zero_group_not_compressed(void **state)
{
	assert_text(v6(0x2001, 0xdb8, 0, 1, 1, 1, 1, 1), "2001:db8:0:1:1:1:1:1");
	assert_text(v6(1, 2, 3, 4, 5, 6, 7, 0), "1:2:3:4:5:6:7:0");
}

/* RFC 5952 §4.2.3: on a tie the first run is compressed. */
static void test_v6_tie_compresses_first(void **state)
{
	assert_text(v6(0x2001, 0xdb8, 0, 0, 1, 0, 0, 1), "2001:db8::1:0:0:1");
	assert_text(v6(0, 0, 0, 1, 0, 0, 0, 1), "::1:0:0:0:1");
}

static void test_v6_full_width(void **state)
{
	assert_text(v6(0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff),
		    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
}

/* RFC 5952 §5: IPv4-mapped addresses keep the dotted quad. */
static void test_v6_mapped_dotted(void **state)
{
	assert_text(v6(0, 0, 0, 0, 0, 0xffff, 0xa9fe, 0xa9fe), "::ffff:169.254.169.254");
	assert_text(v6(0, 0, 0, 0, 0, 0xffff, 0, 0), "::ffff:0.0.0.0");
	assert_text(v6(0, 0, 0, 0, 0, 0xffff, 0xffff, 0xffff), "::ffff:255.255.255.255");
}

/* Only ::ffff:0:0/96 gets dotted text; the deprecated compatible form stays hex. */
static void test_v6_compatible_stays_hex(void **state)
{
	assert_text(v6(0, 0, 0, 0, 0, 0, 0xa9fe, 0xa9fe), "::a9fe:a9fe");
	assert_text(v6(0, 0x64, 0xff9b, 0, 0, 0, 0x0808, 0x0808), "0:64:ff9b::808:808");
}

static void test_eq(void **state)
{
	struct ip_addr a, b;
	ip_addr_v4(&a, 0x7f000001);
	ip_addr_v4(&b, 0x7f000001);
	b.bytes[10] = 0x55; /* bytes past the family's width do not count */
	assert_true(ip_addr_eq(&a, &b));
	ip_addr_v4(&b, 0x7f000002);
	assert_false(ip_addr_eq(&a, &b));
	struct ip_addr x = v6(0, 0, 0, 0, 0, 0, 0x7f00, 1);
	struct ip_addr y = v6(0, 0, 0, 0, 0, 0, 0x7f00, 1);
	assert_true(ip_addr_eq(&x, &y));
	y.bytes[0] = 1;
	assert_false(ip_addr_eq(&x, &y));
	/* Same first four bytes, different family. */
	struct ip_addr z = {.family = IP_V6, .bytes = {127, 0, 0, 1}};
	assert_false(ip_addr_eq(&a, &z));
}

static void test_unspecified(void **state)
{
	struct ip_addr a;
	ip_addr_v4(&a, 0);
	assert_true(ip_addr_is_unspecified(&a));
	ip_addr_v4(&a, 0x7f000001);
	assert_false(ip_addr_is_unspecified(&a));
	a = v6(0, 0, 0, 0, 0, 0, 0, 0);
	assert_true(ip_addr_is_unspecified(&a));
	a = v6(0, 0, 0, 0, 0, 0, 0, 1);
	assert_false(ip_addr_is_unspecified(&a));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_v4_bytes_are_network_order),
	    cmocka_unit_test(test_v4_format),
	    cmocka_unit_test(test_v6_unspecified_and_loopback),
	    cmocka_unit_test(test_unspecified),
	    cmocka_unit_test(test_v6_lowercase_no_leading_zeros),
	    cmocka_unit_test(test_v6_compress_longest_run),
	    cmocka_unit_test(test_v6_single_zero_group_not_compressed),
	    cmocka_unit_test(test_v6_tie_compresses_first),
	    cmocka_unit_test(test_v6_full_width),
	    cmocka_unit_test(test_v6_mapped_dotted),
	    cmocka_unit_test(test_v6_compatible_stays_hex),
	    cmocka_unit_test(test_eq),
	};
	return cmocka_run_group_tests(tests, 0, 0);
}
