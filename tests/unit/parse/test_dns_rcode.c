/* Tests src/parse/dns_rcode.c: the names of the response codes as logs show them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "parse/dns_rcode.h"

static void test_names(void **state)
{
	assert_string_equal(dns_rcode_name(DNS_RCODE_NOERROR), "NOERROR");
	assert_string_equal(dns_rcode_name(DNS_RCODE_FORMERR), "FORMERR");
	assert_string_equal(dns_rcode_name(DNS_RCODE_SERVFAIL), "SERVFAIL");
	assert_string_equal(dns_rcode_name(DNS_RCODE_NXDOMAIN), "NXDOMAIN");
	assert_string_equal(dns_rcode_name(DNS_RCODE_NOTIMP), "NOTIMP");
	assert_string_equal(dns_rcode_name(DNS_RCODE_REFUSED), "REFUSED");
	assert_string_equal(dns_rcode_name(DNS_RCODE_BADVERS), "BADVERS");
}

/* The wire values (RFC 1035 §4.1.1, RFC 6891 §9). */
static void test_values(void **state)
{
	assert_int_equal(DNS_RCODE_FORMERR, 1);
	assert_int_equal(DNS_RCODE_NXDOMAIN, 3);
	assert_int_equal(DNS_RCODE_REFUSED, 5);
	assert_int_equal(DNS_RCODE_BADVERS, 16);
}

static void test_unknown(void **state)
{
	assert_null(dns_rcode_name(6));
	assert_null(dns_rcode_name(15));
	assert_null(dns_rcode_name(-1));
	assert_null(dns_rcode_name(4096));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_names),
	    cmocka_unit_test(test_values),
	    cmocka_unit_test(test_unknown),
	};
	return cmocka_run_group_tests(tests, 0, 0);
}
