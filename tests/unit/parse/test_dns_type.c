/* Tests src/parse/dns_type.c: type mnemonics both ways, case-insensitively, the RFC 3597 generic
 * TYPE<n> form, and the texts refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "parse/dns_type.h"

static void test_names(void **state)
{
	assert_string_equal(dns_type_name(DNS_TYPE_A), "A");
	assert_string_equal(dns_type_name(DNS_TYPE_NS), "NS");
	assert_string_equal(dns_type_name(DNS_TYPE_CNAME), "CNAME");
	assert_string_equal(dns_type_name(DNS_TYPE_SOA), "SOA");
	assert_string_equal(dns_type_name(DNS_TYPE_PTR), "PTR");
	assert_string_equal(dns_type_name(DNS_TYPE_MX), "MX");
	assert_string_equal(dns_type_name(DNS_TYPE_TXT), "TXT");
	assert_string_equal(dns_type_name(DNS_TYPE_AAAA), "AAAA");
	assert_string_equal(dns_type_name(DNS_TYPE_SRV), "SRV");
	assert_string_equal(dns_type_name(DNS_TYPE_SVCB), "SVCB");
	assert_string_equal(dns_type_name(DNS_TYPE_HTTPS), "HTTPS");
	assert_string_equal(dns_type_name(DNS_TYPE_ANY), "ANY");
	assert_string_equal(dns_type_name(DNS_TYPE_CAA), "CAA");
	assert_int_equal(DNS_TYPE_AAAA, 28);
	assert_int_equal(DNS_TYPE_SVCB, 64);
	assert_int_equal(DNS_TYPE_HTTPS, 65);
}

static void test_unknown_number_has_no_name(void **state)
{
	assert_null(dns_type_name(0));
	assert_null(dns_type_name(3));
	assert_null(dns_type_name(65535));
}

/* Every name reads back as its number. */
static void test_round_trip(void **state)
{
	unsigned named = 0;
	for (unsigned t = 0; t <= 65535; t++) {
		const char *n = dns_type_name((uint16_t)t);
		if (n == NULL)
			continue;
		named++;
		assert_int_equal(dns_type_from_name(slice_from_cstr(n)), t);
	}
	assert_true(named >= 30);
}

static void test_from_name_case_insensitive(void **state)
{
	assert_int_equal(dns_type_from_name(SLICE_LIT("aaaa")), DNS_TYPE_AAAA);
	assert_int_equal(dns_type_from_name(SLICE_LIT("Https")), DNS_TYPE_HTTPS);
	assert_int_equal(dns_type_from_name(SLICE_LIT("mx")), DNS_TYPE_MX);
}

static void test_generic_form(void **state)
{
	assert_int_equal(dns_type_from_name(SLICE_LIT("TYPE65")), DNS_TYPE_HTTPS);
	assert_int_equal(dns_type_from_name(SLICE_LIT("type1")), DNS_TYPE_A);
	assert_int_equal(dns_type_from_name(SLICE_LIT("TYPE65535")), 65535);
	assert_int_equal(dns_type_from_name(SLICE_LIT("TYPE300")), 300);
}

static void test_refused(void **state)
{
	static const char *bad[] = {
	    "",		 "A ",	   " A",     "AA",	   "TYPE",   "TYPE0",  "TYPE065",
	    "TYPE65536", "TYPE-1", "TYPE1x", "TYPE999999", "TYPE 1", "CLASS1", "1",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (dns_type_from_name(slice_from_cstr(bad[i])) != -1)
			fail_msg("\"%s\" accepted", bad[i]);
	/* not a C string: a NUL inside does not end the text */
	assert_int_equal(dns_type_from_name(slice_make("A\0AAA", 5)), -1);
	assert_int_equal(dns_type_from_name(slice_make("AAAAx", 4)), DNS_TYPE_AAAA);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_names),	 cmocka_unit_test(test_unknown_number_has_no_name),
	    cmocka_unit_test(test_round_trip),	 cmocka_unit_test(test_from_name_case_insensitive),
	    cmocka_unit_test(test_generic_form), cmocka_unit_test(test_refused),
	};
	return cmocka_run_group_tests(tests, 0, 0);
}
