/* Tests src/parse/authority.c: host normalisation, every IPv4 spelling a resolver or URL parser
 * would accept (judged as the address it denotes), IPv6 literals, ports, and every refusal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "parse/authority.h"

static struct authority parse_ok(const char *text, uint16_t default_port)
{
	struct authority a;
	const char *detail = NULL;
	int rc = authority_parse(slice_from_cstr(text), default_port, &a, &detail);
	if (rc != 0)
		fail_msg("\"%s\" refused: %s", text, detail);
	assert_int_equal(a.name_len, strlen(a.name));
	return a;
}

static void assert_v4(const char *text, const char *want)
{
	struct authority a = parse_ok(text, 80);
	assert_int_equal(a.kind, HOST_IPV4);
	assert_int_equal(a.ip.family, IP_V4);
	assert_string_equal(a.name, want);
}

static void assert_v6(const char *text, const char *want)
{
	struct authority a = parse_ok(text, 80);
	assert_int_equal(a.kind, HOST_IPV6);
	assert_int_equal(a.ip.family, IP_V6);
	assert_string_equal(a.name, want);
}

static void assert_name(const char *text, const char *want)
{
	struct authority a = parse_ok(text, 80);
	assert_int_equal(a.kind, HOST_NAME);
	assert_string_equal(a.name, want);
}

static void assert_refused(const char *text)
{
	struct authority a;
	const char *detail = NULL;
	if (authority_parse(slice_from_cstr(text), 80, &a, &detail) != -1)
		fail_msg("\"%s\" accepted as \"%s\"", text, a.name);
	assert_non_null(detail);
	assert_true(strlen(detail) > 0);
}

/* ---- the metadata endpoint in every spelling ---- */

static void test_metadata_decimal_32bit(void **state)
{
	assert_v4("2852039166", "169.254.169.254");
}

static void test_metadata_octal_parts(void **state)
{
	assert_v4("0251.0376.0251.0376", "169.254.169.254");
}

static void test_metadata_hex_parts(void **state)
{
	assert_v4("0xa9.0xfe.0xa9.0xfe", "169.254.169.254");
	assert_v4("0XA9.0XFE.0XA9.0XFE", "169.254.169.254");
}

static void test_metadata_three_parts(void **state)
{
	assert_v4("169.254.43518", "169.254.169.254");
}

static void test_metadata_hex_32bit(void **state)
{
	assert_v4("0xA9FEA9FE", "169.254.169.254");
}

static void test_metadata_two_parts(void **state)
{
	assert_v4("169.16689662", "169.254.169.254");
}

static void test_metadata_mixed_radix(void **state)
{
	assert_v4("0xa9.254.0251.0xfe", "169.254.169.254");
}

static void test_metadata_with_port(void **state)
{
	struct authority a = parse_ok("2852039166:8080", 80);
	assert_int_equal(a.kind, HOST_IPV4);
	assert_string_equal(a.name, "169.254.169.254");
	assert_int_equal(a.port, 8080);
	assert_true(a.has_port);
}

/* ---- loopback spellings ---- */

static void test_loopback_short(void **state)
{
	assert_v4("127.1", "127.0.0.1");
}

static void test_loopback_octal_short(void **state)
{
	assert_v4("0177.1", "127.0.0.1");
}

static void test_loopback_hex_short(void **state)
{
	assert_v4("0x7f.1", "127.0.0.1");
}

static void test_loopback_trailing_dot(void **state)
{
	assert_v4("127.0.0.1.", "127.0.0.1");
}

static void test_loopback_decimal(void **state)
{
	assert_v4("2130706433", "127.0.0.1");
}

static void test_zero_address_spellings(void **state)
{
	assert_v4("0", "0.0.0.0");
	assert_v4("0.0.0.0", "0.0.0.0");
	assert_v4("00", "0.0.0.0");
	assert_v4("0x0", "0.0.0.0");
}

static void test_v4_boundaries(void **state)
{
	assert_v4("255.255.255.255", "255.255.255.255");
	assert_v4("4294967295", "255.255.255.255");
	assert_v4("0xffffffff", "255.255.255.255");
	assert_v4("1.16777215", "1.255.255.255");
	assert_v4("1.2.65535", "1.2.255.255");
	assert_v4("037777777777", "255.255.255.255");
}

/* ---- IPv6 literals ---- */

static void test_v6_mapped_hex(void **state)
{
	struct authority a = parse_ok("[::ffff:a9fe:a9fe]", 80);
	assert_int_equal(a.kind, HOST_IPV6);
	assert_string_equal(a.name, "::ffff:169.254.169.254");
	assert_int_equal(a.ip.bytes[10], 0xff);
	assert_int_equal(a.ip.bytes[12], 169);
	assert_int_equal(a.ip.bytes[15], 254);
}

static void test_v6_mapped_dotted(void **state)
{
	assert_v6("[::ffff:169.254.169.254]", "::ffff:169.254.169.254");
}

static void test_v6_compatible_dotted(void **state)
{
	assert_v6("[::169.254.169.254]", "::a9fe:a9fe");
}

static void test_v6_mapped_uncompressed(void **state)
{
	assert_v6("[0:0:0:0:0:ffff:a9fe:a9fe]", "::ffff:169.254.169.254");
}

static void test_v6_canonicalised(void **state)
{
	assert_v6("[::1]", "::1");
	assert_v6("[0000:0000:0000:0000:0000:0000:0000:0001]", "::1");
	assert_v6("[2001:DB8::A]", "2001:db8::a");
	assert_v6("[fe80::]", "fe80::");
	assert_v6("[::]", "::");
	assert_v6("[1:2:3:4:5:6:7:8]", "1:2:3:4:5:6:7:8");
	assert_v6("[1:2:3:4:5:6:1.2.3.4]", "1:2:3:4:5:6:102:304");
	assert_v6("[1::]", "1::");
	assert_v6("[1::8]", "1::8");
	assert_v6("[64:ff9b::a9fe:a9fe]", "64:ff9b::a9fe:a9fe");
}

static void test_v6_with_port(void **state)
{
	struct authority a = parse_ok("[::1]:3128", 80);
	assert_int_equal(a.kind, HOST_IPV6);
	assert_string_equal(a.name, "::1");
	assert_int_equal(a.port, 3128);
	assert_true(a.has_port);
}

/* ---- names ---- */

static void test_name_lowercased_trailing_dot(void **state)
{
	assert_name("EXAMPLE.COM.", "example.com");
}

static void test_name_plain(void **state)
{
	assert_name("example.com", "example.com");
	assert_name("localhost", "localhost");
	assert_name("a-b_c.Example.ORG", "a-b_c.example.org");
}

static void test_name_numeric_inner_labels(void **state)
{
	assert_name("1.2.3.example", "1.2.3.example");
	assert_name("123.example.com", "123.example.com");
	assert_name("example.0a", "example.0a"); /* not a number: hex needs 0x */
}

static void test_name_label_63(void **state)
{
	char buf[80];
	memset(buf, 'a', 63);
	memcpy(buf + 63, ".com", 5);
	assert_name(buf, buf);
}

static void test_name_253(void **state)
{
	char buf[260];
	/* 4 labels of 63 plus a dot each, minus one = 255; trim to exactly 253. */
	memset(buf, 'a', 253);
	for (int i = 63; i < 253; i += 64)
		buf[i] = '.';
	buf[253] = '\0';
	assert_name(buf, buf);
	buf[253] = '.'; /* one trailing dot does not count */
	buf[254] = '\0';
	struct authority a = parse_ok(buf, 80);
	assert_int_equal(a.name_len, 253);
}

static void test_port_default_and_explicit(void **state)
{
	struct authority a = parse_ok("example.com", 443);
	assert_int_equal(a.port, 443);
	assert_false(a.has_port);
	a = parse_ok("example.com:1", 443);
	assert_int_equal(a.port, 1);
	assert_true(a.has_port);
	a = parse_ok("example.com:65535", 443);
	assert_int_equal(a.port, 65535);
	a = parse_ok("example.com:00080", 443);
	assert_int_equal(a.port, 80);
}

/* ---- refusals: IPv4 that is not an address is never a name ---- */

static void test_refuse_octet_overflow(void **state)
{
	assert_refused("256.1.1.1");
}

static void test_refuse_five_parts(void **state)
{
	assert_refused("1.2.3.4.5");
}

static void test_refuse_hex_overflow(void **state)
{
	assert_refused("0x100000000");
}

static void test_refuse_decimal_overflow(void **state)
{
	assert_refused("4294967296");
}

static void test_refuse_huge_number(void **state)
{
	assert_refused("99999999999999999999999999999999");
}

static void test_refuse_bad_octal(void **state)
{
	assert_refused("08.1.1.1");
}

static void test_refuse_bad_octal_last(void **state)
{
	assert_refused("1.1.1.09");
}

static void test_refuse_last_part_overflow(void **state)
{
	assert_refused("1.2.65536");
	assert_refused("1.16777216");
	assert_refused("1.2.3.256");
}

static void test_refuse_empty_part(void **state)
{
	assert_refused("1..2.3");
}

static void test_refuse_two_trailing_dots(void **state)
{
	assert_refused("127.0.0.1..");
}

static void test_refuse_leading_dot(void **state)
{
	assert_refused(".127.0.0.1");
}

static void test_refuse_bare_0x(void **state)
{
	assert_refused("0x");
}

static void test_refuse_name_ending_in_0x(void **state)
{
	assert_refused("foo.0x");
}

static void test_refuse_name_ending_in_number(void **state)
{
	assert_refused("example.123");
}

static void test_refuse_name_ending_in_hex_number(void **state)
{
	assert_refused("example.0x1f");
}

/* ---- refusals: IPv6 ---- */

static void test_refuse_bracketed_name(void **state)
{
	assert_refused("[example.com]");
}

static void test_refuse_zone_id(void **state)
{
	assert_refused("[::1%25lo]");
}

static void test_refuse_raw_zone_id(void **state)
{
	assert_refused("[fe80::1%eth0]");
}

static void test_refuse_unbracketed_v6(void **state)
{
	assert_refused("::1");
}

static void test_refuse_bracketed_v4(void **state)
{
	assert_refused("[127.0.0.1]");
}

static void test_refuse_ipvfuture(void **state)
{
	assert_refused("[v1.fe80::1]");
}

static void test_refuse_v6_malformed(void **state)
{
	assert_refused("[]");
	assert_refused("[:::]");
	assert_refused("[1::2::3]");
	assert_refused("[1:2:3:4:5:6:7]");
	assert_refused("[1:2:3:4:5:6:7:8:9]");
	assert_refused("[::1:2:3:4:5:6:7:8]");
	assert_refused("[12345::]");
	assert_refused("[1:]");
	assert_refused("[:1]");
	assert_refused("[1:2:3:4:5:6:7:1.2.3.4]");
	assert_refused("[::1.2.3]");
	assert_refused("[::01.2.3.4]");
	assert_refused("[::1.2.3.4:5]");
	assert_refused("[::ffff:0xa9.0xfe.0xa9.0xfe]");
	assert_refused("[::g]");
}

static void test_refuse_unterminated_bracket(void **state)
{
	assert_refused("[::1");
}

static void test_refuse_junk_after_bracket(void **state)
{
	assert_refused("[::1]x");
}

static void test_refuse_stray_bracket(void **state)
{
	assert_refused("exa]mple.com");
}

/* ---- refusals: userinfo and bytes no host holds ---- */

static void test_refuse_userinfo(void **state)
{
	assert_refused("user@example.com");
}

static void test_refuse_empty_userinfo(void **state)
{
	assert_refused("@example.com");
}

static void test_refuse_userinfo_with_password(void **state)
{
	assert_refused("user:pass@example.com");
}

static void test_refuse_backslash(void **state)
{
	assert_refused("a\\b.com");
}

static void test_refuse_space(void **state)
{
	assert_refused("exa mple.com");
}

static void test_refuse_tab(void **state)
{
	assert_refused("example.com\t");
}

static void test_refuse_control(void **state)
{
	assert_refused("example\x01.com");
}

static void test_refuse_del(void **state)
{
	assert_refused("example\x7f.com");
}

static void test_refuse_nul(void **state)
{
	struct authority a;
	const char *detail;
	assert_int_equal(authority_parse(slice_make("a\0b.com", 7), 80, &a, &detail), -1);
}

static void test_refuse_non_ascii(void **state)
{
	assert_refused("ex\xc3\xa4mple.com");
}

static void test_refuse_percent(void **state)
{
	assert_refused("%41.com");
}

static void test_refuse_bad_name_char(void **state)
{
	assert_refused("exa!mple.com");
	assert_refused("example.com/");
	assert_refused("*.example.com");
}

/* ---- refusals: ports ---- */

static void test_refuse_port_zero(void **state)
{
	assert_refused("host:0");
}

static void test_refuse_port_too_big(void **state)
{
	assert_refused("host:65536");
}

static void test_refuse_port_six_digits(void **state)
{
	assert_refused("host:000080");
}

static void test_refuse_port_sign(void **state)
{
	assert_refused("host:+80");
}

static void test_refuse_port_negative(void **state)
{
	assert_refused("host:-1");
}

static void test_refuse_port_empty(void **state)
{
	assert_refused("host:");
}

static void test_refuse_port_hex(void **state)
{
	assert_refused("host:0x50");
}

static void test_refuse_two_ports(void **state)
{
	assert_refused("host:80:81");
}

static void test_refuse_port_without_host(void **state)
{
	assert_refused(":80");
}

/* ---- refusals: lengths and empties ---- */

static void test_refuse_empty(void **state)
{
	assert_refused("");
}

static void test_refuse_lone_dot(void **state)
{
	assert_refused(".");
}

static void test_refuse_empty_label(void **state)
{
	assert_refused("example..com");
}

static void test_refuse_label_64(void **state)
{
	char buf[80];
	memset(buf, 'a', 64);
	memcpy(buf + 64, ".com", 5);
	assert_refused(buf);
}

static void test_refuse_name_254(void **state)
{
	char buf[260];
	memset(buf, 'a', 254);
	for (int i = 63; i < 254; i += 64)
		buf[i] = '.';
	buf[254] = '\0';
	assert_refused(buf);
}

/* ---- authority_parse_host ---- */

static void test_host_only_accepts(void **state)
{
	struct authority a;
	const char *detail;
	assert_int_equal(authority_parse_host(SLICE_LIT("Example.COM"), &a, &detail), 0);
	assert_string_equal(a.name, "example.com");
	assert_false(a.has_port);
	assert_int_equal(authority_parse_host(SLICE_LIT("[::1]"), &a, &detail), 0);
	assert_int_equal(a.kind, HOST_IPV6);
	assert_int_equal(authority_parse_host(SLICE_LIT("0x7f.1"), &a, &detail), 0);
	assert_string_equal(a.name, "127.0.0.1");
}

static void test_host_only_refuses_port(void **state)
{
	struct authority a;
	const char *detail;
	assert_int_equal(authority_parse_host(SLICE_LIT("example.com:80"), &a, &detail), -1);
}

static void test_host_only_refuses_v6_port(void **state)
{
	struct authority a;
	const char *detail;
	assert_int_equal(authority_parse_host(SLICE_LIT("[::1]:80"), &a, &detail), -1);
}

/* ---- the host as spelled (the log's host_raw) ---- */

static void assert_spelled(const char *text, const char *want)
{
	struct authority a = parse_ok(text, 80);
	assert_true(a.spelled_at + a.spelled_len <= strlen(text));
	assert_int_equal(a.spelled_len, strlen(want));
	assert_memory_equal(text + a.spelled_at, want, a.spelled_len);
}

static void test_spelled_host(void **state)
{
	assert_spelled("2852039166", "2852039166");
	assert_spelled("2852039166:8080", "2852039166");
	assert_spelled("Example.COM.:443", "Example.COM.");
	assert_spelled("example.com", "example.com");
	assert_spelled("[::ffff:a9fe:a9fe]:80", "::ffff:a9fe:a9fe");
	assert_spelled("[::1]", "::1");
	assert_spelled("0x7f.1", "0x7f.1");
}

static void test_spelled_host_zeroed_on_refusal(void **state)
{
	struct authority a;
	assert_int_equal(authority_parse(SLICE_LIT("bad host:80"), 80, &a, NULL), -1);
	assert_int_equal(a.spelled_at, 0);
	assert_int_equal(a.spelled_len, 0);
}

/* ---- authority_parse_ip_strict ---- */

static void assert_strict(const char *text, const char *want)
{
	struct ip_addr ip;
	char buf[IP_ADDR_TEXT_MAX];
	if (authority_parse_ip_strict(slice_from_cstr(text), &ip) != 0)
		fail_msg("strict \"%s\" refused", text);
	ip_addr_format(&ip, buf);
	assert_string_equal(buf, want);
}

static void assert_strict_refused(const char *text)
{
	struct ip_addr ip;
	if (authority_parse_ip_strict(slice_from_cstr(text), &ip) != -1)
		fail_msg("strict \"%s\" accepted", text);
}

static void test_strict_accepts(void **state)
{
	assert_strict("10.0.0.1", "10.0.0.1");
	assert_strict("0.0.0.0", "0.0.0.0");
	assert_strict("255.255.255.255", "255.255.255.255");
	assert_strict("fd00:ec2::254", "fd00:ec2::254");
	assert_strict("::ffff:10.0.0.1", "::ffff:10.0.0.1");
	assert_strict("::", "::");
}

static void test_strict_refuses_leading_zero(void **state)
{
	assert_strict_refused("010.0.0.1");
}

static void test_strict_refuses_short_forms(void **state)
{
	assert_strict_refused("127.1");
}

static void test_strict_refuses_decimal(void **state)
{
	assert_strict_refused("2852039166");
}

static void test_strict_refuses_hex(void **state)
{
	assert_strict_refused("0x7f.0.0.1");
}

static void test_strict_refuses_octet_overflow(void **state)
{
	assert_strict_refused("256.0.0.1");
}

static void test_strict_refuses_brackets(void **state)
{
	assert_strict_refused("[::1]");
}

static void test_strict_refuses_trailing_dot(void **state)
{
	assert_strict_refused("10.0.0.1.");
}

static void test_strict_refuses_empty(void **state)
{
	assert_strict_refused("");
}

static void test_strict_refuses_name(void **state)
{
	assert_strict_refused("example.com");
}

static void test_strict_refuses_zone(void **state)
{
	assert_strict_refused("fe80::1%eth0");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_metadata_decimal_32bit),
	    cmocka_unit_test(test_metadata_octal_parts),
	    cmocka_unit_test(test_metadata_hex_parts),
	    cmocka_unit_test(test_metadata_three_parts),
	    cmocka_unit_test(test_metadata_hex_32bit),
	    cmocka_unit_test(test_metadata_two_parts),
	    cmocka_unit_test(test_metadata_mixed_radix),
	    cmocka_unit_test(test_metadata_with_port),
	    cmocka_unit_test(test_loopback_short),
	    cmocka_unit_test(test_loopback_octal_short),
	    cmocka_unit_test(test_loopback_hex_short),
	    cmocka_unit_test(test_loopback_trailing_dot),
	    cmocka_unit_test(test_loopback_decimal),
	    cmocka_unit_test(test_zero_address_spellings),
	    cmocka_unit_test(test_v4_boundaries),
	    cmocka_unit_test(test_v6_mapped_hex),
	    cmocka_unit_test(test_v6_mapped_dotted),
	    cmocka_unit_test(test_v6_compatible_dotted),
	    cmocka_unit_test(test_v6_mapped_uncompressed),
	    cmocka_unit_test(test_v6_canonicalised),
	    cmocka_unit_test(test_v6_with_port),
	    cmocka_unit_test(test_name_lowercased_trailing_dot),
	    cmocka_unit_test(test_name_plain),
	    cmocka_unit_test(test_name_numeric_inner_labels),
	    cmocka_unit_test(test_name_label_63),
	    cmocka_unit_test(test_name_253),
	    cmocka_unit_test(test_port_default_and_explicit),
	    cmocka_unit_test(test_refuse_octet_overflow),
	    cmocka_unit_test(test_refuse_five_parts),
	    cmocka_unit_test(test_refuse_hex_overflow),
	    cmocka_unit_test(test_refuse_decimal_overflow),
	    cmocka_unit_test(test_refuse_huge_number),
	    cmocka_unit_test(test_refuse_bad_octal),
	    cmocka_unit_test(test_refuse_bad_octal_last),
	    cmocka_unit_test(test_refuse_last_part_overflow),
	    cmocka_unit_test(test_refuse_empty_part),
	    cmocka_unit_test(test_refuse_two_trailing_dots),
	    cmocka_unit_test(test_refuse_leading_dot),
	    cmocka_unit_test(test_refuse_bare_0x),
	    cmocka_unit_test(test_refuse_name_ending_in_0x),
	    cmocka_unit_test(test_refuse_name_ending_in_number),
	    cmocka_unit_test(test_refuse_name_ending_in_hex_number),
	    cmocka_unit_test(test_refuse_bracketed_name),
	    cmocka_unit_test(test_refuse_zone_id),
	    cmocka_unit_test(test_refuse_raw_zone_id),
	    cmocka_unit_test(test_refuse_unbracketed_v6),
	    cmocka_unit_test(test_refuse_bracketed_v4),
	    cmocka_unit_test(test_refuse_ipvfuture),
	    cmocka_unit_test(test_refuse_v6_malformed),
	    cmocka_unit_test(test_refuse_unterminated_bracket),
	    cmocka_unit_test(test_refuse_junk_after_bracket),
	    cmocka_unit_test(test_refuse_stray_bracket),
	    cmocka_unit_test(test_refuse_userinfo),
	    cmocka_unit_test(test_refuse_empty_userinfo),
	    cmocka_unit_test(test_refuse_userinfo_with_password),
	    cmocka_unit_test(test_refuse_backslash),
	    cmocka_unit_test(test_refuse_space),
	    cmocka_unit_test(test_refuse_tab),
	    cmocka_unit_test(test_refuse_control),
	    cmocka_unit_test(test_refuse_del),
	    cmocka_unit_test(test_refuse_nul),
	    cmocka_unit_test(test_refuse_non_ascii),
	    cmocka_unit_test(test_refuse_percent),
	    cmocka_unit_test(test_refuse_bad_name_char),
	    cmocka_unit_test(test_refuse_port_zero),
	    cmocka_unit_test(test_refuse_port_too_big),
	    cmocka_unit_test(test_refuse_port_six_digits),
	    cmocka_unit_test(test_refuse_port_sign),
	    cmocka_unit_test(test_refuse_port_negative),
	    cmocka_unit_test(test_refuse_port_empty),
	    cmocka_unit_test(test_refuse_port_hex),
	    cmocka_unit_test(test_refuse_two_ports),
	    cmocka_unit_test(test_refuse_port_without_host),
	    cmocka_unit_test(test_refuse_empty),
	    cmocka_unit_test(test_refuse_lone_dot),
	    cmocka_unit_test(test_refuse_empty_label),
	    cmocka_unit_test(test_refuse_label_64),
	    cmocka_unit_test(test_refuse_name_254),
	    cmocka_unit_test(test_host_only_accepts),
	    cmocka_unit_test(test_host_only_refuses_port),
	    cmocka_unit_test(test_host_only_refuses_v6_port),
	    cmocka_unit_test(test_strict_accepts),
	    cmocka_unit_test(test_strict_refuses_leading_zero),
	    cmocka_unit_test(test_strict_refuses_short_forms),
	    cmocka_unit_test(test_strict_refuses_decimal),
	    cmocka_unit_test(test_strict_refuses_hex),
	    cmocka_unit_test(test_strict_refuses_octet_overflow),
	    cmocka_unit_test(test_strict_refuses_brackets),
	    cmocka_unit_test(test_strict_refuses_trailing_dot),
	    cmocka_unit_test(test_strict_refuses_empty),
	    cmocka_unit_test(test_strict_refuses_name),
	    cmocka_unit_test(test_strict_refuses_zone),
	    cmocka_unit_test(test_spelled_host),
	    cmocka_unit_test(test_spelled_host_zeroed_on_refusal),
	};
	return cmocka_run_group_tests(tests, 0, 0);
}
