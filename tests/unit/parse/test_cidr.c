/* Tests src/parse/cidr.c: CIDR text for configuration, strict addresses, no host bits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "parse/cidr.h"

static void assert_cidr(const char *text, const char *want_addr, unsigned want_len)
{
	struct ip_addr a;
	unsigned len = 999;
	const char *detail = NULL;
	if (cidr_parse(slice_from_cstr(text), &a, &len, &detail) != 0)
		fail_msg("\"%s\" refused: %s", text, detail);
	char buf[IP_ADDR_TEXT_MAX];
	ip_addr_format(&a, buf);
	assert_string_equal(buf, want_addr);
	assert_int_equal(len, want_len);
}

static const char *refused(const char *text)
{
	struct ip_addr a;
	unsigned len;
	const char *detail = NULL;
	if (cidr_parse(slice_from_cstr(text), &a, &len, &detail) != -1)
		fail_msg("\"%s\" accepted", text);
	assert_non_null(detail);
	return detail;
}

static void test_v4_prefixes(void **state)
{
	assert_cidr("10.0.0.0/8", "10.0.0.0", 8);
	assert_cidr("100.64.0.0/10", "100.64.0.0", 10);
	assert_cidr("0.0.0.0/0", "0.0.0.0", 0);
	assert_cidr("198.18.0.0/15", "198.18.0.0", 15);
	assert_cidr("192.0.2.1/32", "192.0.2.1", 32);
}

static void test_v4_bare_is_host_route(void **state)
{
	assert_cidr("192.0.2.1", "192.0.2.1", 32);
}

static void test_v6_prefixes(void **state)
{
	assert_cidr("fd00::/8", "fd00::", 8);
	assert_cidr("2001:db8::/32", "2001:db8::", 32);
	assert_cidr("::/0", "::", 0);
	assert_cidr("fe80::/10", "fe80::", 10);
	assert_cidr("2001:DB8::1/128", "2001:db8::1", 128);
	assert_cidr("::ffff:10.0.0.0/104", "::ffff:10.0.0.0", 104);
}

static void test_v6_bare_is_host_route(void **state)
{
	assert_cidr("fd00:ec2::254", "fd00:ec2::254", 128);
}

static void test_refuse_v4_host_bits(void **state)
{
	const char *d = refused("10.0.0.1/8");
	assert_non_null(strstr(d, "host bits"));
}

static void test_refuse_v4_host_bits_partial_byte(void **state)
{
	refused("100.96.0.0/10");
}

static void test_refuse_v4_host_bits_zero_prefix(void **state)
{
	refused("1.0.0.0/0");
}

static void test_refuse_v6_host_bits(void **state)
{
	refused("fe80::1/10");
}

static void test_refuse_v6_host_bits_partial_byte(void **state)
{
	refused("fec0::/9");
}

static void test_refuse_v4_prefix_too_long(void **state)
{
	const char *d = refused("10.0.0.0/33");
	assert_non_null(strstr(d, "32"));
}

static void test_refuse_v6_prefix_too_long(void **state)
{
	const char *d = refused("::/129");
	assert_non_null(strstr(d, "128"));
}

static void test_refuse_empty(void **state)
{
	refused("");
}

static void test_refuse_empty_prefix(void **state)
{
	refused("10.0.0.0/");
}

static void test_refuse_empty_address(void **state)
{
	refused("/8");
}

static void test_refuse_leading_space(void **state)
{
	refused(" 10.0.0.0/8");
}

static void test_refuse_inner_space(void **state)
{
	refused("10.0.0.0 /8");
}

static void test_refuse_trailing_space(void **state)
{
	refused("10.0.0.0/8 ");
}

static void test_refuse_two_slashes(void **state)
{
	refused("10.0.0.0/8/8");
}

static void test_refuse_prefix_sign(void **state)
{
	refused("10.0.0.0/+8");
}

static void test_refuse_prefix_leading_zero(void **state)
{
	refused("10.0.0.0/08");
}

static void test_refuse_prefix_huge(void **state)
{
	refused("10.0.0.0/4294967304");
}

static void test_refuse_lenient_v4_short(void **state)
{
	refused("10.1/16");
}

static void test_refuse_lenient_v4_octal(void **state)
{
	refused("010.0.0.0/8");
}

static void test_refuse_lenient_v4_hex(void **state)
{
	refused("0xa.0.0.0/8");
}

static void test_refuse_v4_octet_overflow(void **state)
{
	refused("256.0.0.0/8");
}

static void test_refuse_brackets(void **state)
{
	refused("[::1]/128");
}

static void test_refuse_name(void **state)
{
	refused("example.com/24");
}

static void test_refuse_zone(void **state)
{
	refused("fe80::%eth0/64");
}

static void test_refuse_bad_v6(void **state)
{
	refused("1::2::3/64");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_v4_prefixes),
	    cmocka_unit_test(test_v4_bare_is_host_route),
	    cmocka_unit_test(test_v6_prefixes),
	    cmocka_unit_test(test_v6_bare_is_host_route),
	    cmocka_unit_test(test_refuse_v4_host_bits),
	    cmocka_unit_test(test_refuse_v4_host_bits_partial_byte),
	    cmocka_unit_test(test_refuse_v4_host_bits_zero_prefix),
	    cmocka_unit_test(test_refuse_v6_host_bits),
	    cmocka_unit_test(test_refuse_v6_host_bits_partial_byte),
	    cmocka_unit_test(test_refuse_v4_prefix_too_long),
	    cmocka_unit_test(test_refuse_v6_prefix_too_long),
	    cmocka_unit_test(test_refuse_empty),
	    cmocka_unit_test(test_refuse_empty_prefix),
	    cmocka_unit_test(test_refuse_empty_address),
	    cmocka_unit_test(test_refuse_leading_space),
	    cmocka_unit_test(test_refuse_inner_space),
	    cmocka_unit_test(test_refuse_trailing_space),
	    cmocka_unit_test(test_refuse_two_slashes),
	    cmocka_unit_test(test_refuse_prefix_sign),
	    cmocka_unit_test(test_refuse_prefix_leading_zero),
	    cmocka_unit_test(test_refuse_prefix_huge),
	    cmocka_unit_test(test_refuse_lenient_v4_short),
	    cmocka_unit_test(test_refuse_lenient_v4_octal),
	    cmocka_unit_test(test_refuse_lenient_v4_hex),
	    cmocka_unit_test(test_refuse_v4_octet_overflow),
	    cmocka_unit_test(test_refuse_brackets),
	    cmocka_unit_test(test_refuse_name),
	    cmocka_unit_test(test_refuse_zone),
	    cmocka_unit_test(test_refuse_bad_v6),
	};
	return cmocka_run_group_tests(tests, 0, 0);
}
