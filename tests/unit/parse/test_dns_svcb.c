/* Tests src/parse/dns_svcb.c: SVCB/HTTPS RDATA from RFC 9460 Appendix D and more, the hint
 * addresses in order, the RDATA rebuilt without hints (and without them in mandatory), and every
 * refusal RFC 9460 §2.2 and §8 call for. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "parse/dns_svcb.h"

static struct slice S(const uint8_t *p, size_t n) {
	return slice_make((const char *)p, n);
}

#define RDATA(...) ((const uint8_t[]){__VA_ARGS__})
#define LEN(...) sizeof((const uint8_t[]){__VA_ARGS__})
#define PARSE(out, ...) dns_svcb_parse(S(RDATA(__VA_ARGS__), LEN(__VA_ARGS__)), out, &detail)

#define FOO_EXAMPLE_COM 3, 'f', 'o', 'o', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0
#define FOO_EXAMPLE_ORG 3, 'f', 'o', 'o', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'o', 'r', 'g', 0

static const char *detail;

static void assert_refused_rdata(const uint8_t *p, size_t n)
{
	struct dns_svcb s;
	detail = NULL;
	assert_int_equal(dns_svcb_parse(S(p, n), &s, &detail), -1);
	assert_non_null(detail);
	assert_int_equal(s.n_params, 0);
}
#define REFUSED(...) assert_refused_rdata(RDATA(__VA_ARGS__), LEN(__VA_ARGS__))

/* ech stripped (and from mandatory); mandatory_lists tells that it was mandatory. */
static void test_strip_ech(void **state)
{
	struct dns_svcb s;
	uint8_t out[64];
	assert_int_equal(PARSE(&s, 0, 1, 0, 0, 0, 0, 4, 0, 1, 0, 5, 0, 1, 0, 3, 2, 'h', '2', 0, 5,
			       0, 3, 'e', 'c', 'h'),
			 0);
	assert_true(s.has_ech);
	assert_true(dns_svcb_mandatory_lists(&s, DNS_SVCB_ECH));
	assert_true(dns_svcb_mandatory_lists(&s, DNS_SVCB_ALPN));
	assert_false(dns_svcb_mandatory_lists(&s, DNS_SVCB_PORT));
	int n = dns_svcb_strip(&s, DNS_SVCB_KEY_BIT(DNS_SVCB_ECH), out, sizeof(out));
	const uint8_t want[] = {0, 1, 0, 0, 0, 0, 2, 0, 1, 0, 1, 0, 3, 2, 'h', '2'};
	assert_int_equal(n, sizeof(want));
	assert_memory_equal(out, want, sizeof(want));
	struct dns_svcb t;
	assert_int_equal(dns_svcb_parse(slice_make((const char *)out, (size_t)n), &t, &detail), 0);
	assert_false(t.has_ech);

	assert_int_equal(PARSE(&s, 0, 1, 0, 0, 1, 0, 3, 2, 'h', '2'), 0);
	assert_false(s.has_ech);
	assert_false(dns_svcb_mandatory_lists(&s, DNS_SVCB_ECH));
}

/* ---- accepted ---- */

/* D.1: example.com. HTTPS 0 foo.example.com. */
static void test_alias_mode(void **state)
{
	struct dns_svcb s;
	assert_int_equal(PARSE(&s, 0, 0, FOO_EXAMPLE_COM), 0);
	assert_int_equal(s.priority, 0);
	assert_string_equal(s.target.text, "foo.example.com");
	assert_true(s.target.is_hostname);
	assert_int_equal(s.n_params, 0);
	assert_int_equal(s.params_at, 19);
}

/* D.2: 1 . — the root target. */
static void test_root_target(void **state)
{
	struct dns_svcb s;
	assert_int_equal(PARSE(&s, 0, 1, 0), 0);
	assert_int_equal(s.priority, 1);
	assert_string_equal(s.target.text, "");
	assert_int_equal(s.n_params, 0);
}

/* D.2: 16 foo.example.com. port=53 */
static void test_port(void **state)
{
	struct dns_svcb s;
	assert_int_equal(PARSE(&s, 0, 16, FOO_EXAMPLE_COM, 0, 3, 0, 2, 0, 53), 0);
	assert_int_equal(s.priority, 16);
	assert_int_equal(s.n_params, 1);
	assert_int_equal(s.ipv4hint.len, 0);
}

/* D.2: an unknown key (667) with an opaque value, and one with none. */
static void test_unknown_keys_opaque(void **state)
{
	struct dns_svcb s;
	assert_int_equal(PARSE(&s, 0, 1, FOO_EXAMPLE_COM, 0x02, 0x9b, 0, 5, 'h', 'e', 'l', 'l', 'o',
			       0xfe, 0x00, 0, 0),
			 0);
	assert_int_equal(s.n_params, 2);
	/* ech, dohpath: opaque */
	assert_int_equal(PARSE(&s, 0, 1, 0, 0, 5, 0, 3, 1, 2, 3, 0, 7, 0, 1, '/'), 0);
}

static void test_hints_in_order(void **state)
{
	/* 1 . alpn=h2,h3 ipv4hint=192.0.2.1,192.0.2.2 ipv6hint=2001:db8::1,2001:db8::53:1 */
	struct dns_svcb s;
	assert_int_equal(PARSE(&s, 0, 1, 0, 0, 1, 0, 6, 2, 'h', '2', 2, 'h', '3', 0, 4, 0, 8, 192,
			       0, 2, 1, 192, 0, 2, 2, 0, 6, 0, 32, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0,
			       0, 0, 0, 0, 0, 0, 0, 0, 1, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0,
			       0, 0, 0, 0x53, 0, 1),
			 0);
	assert_int_equal(s.n_params, 3);
	struct ip_addr a;
	char text[IP_ADDR_TEXT_MAX];
	size_t pos = 0;
	static const char *want[] = {"192.0.2.1", "192.0.2.2", "2001:db8::1", "2001:db8::53:1"};
	for (int i = 0; i < 4; i++) {
		assert_true(dns_svcb_hint_next(&s, &pos, &a));
		ip_addr_format(&a, text);
		assert_string_equal(text, want[i]);
	}
	assert_false(dns_svcb_hint_next(&s, &pos, &a));
	assert_false(dns_svcb_hint_next(&s, &pos, &a));
}

static void test_no_hints(void **state)
{
	struct dns_svcb s;
	struct ip_addr a;
	size_t pos = 0;
	assert_int_equal(PARSE(&s, 0, 1, 0, 0, 3, 0, 2, 1, 187), 0);
	assert_false(dns_svcb_hint_next(&s, &pos, &a));
}

/* D.2 Figure 9: 16 foo.example.org. alpn=h2,h3-19 mandatory=ipv4hint,alpn ipv4hint=192.0.2.1 */
/* clang-format off */
static const uint8_t figure9[] = {
	0, 16,						/* SvcPriority */
	FOO_EXAMPLE_ORG,				/* TargetName */
	0, 0, 0, 4, 0, 1, 0, 4,				/* mandatory=alpn,ipv4hint */
	0, 1, 0, 9, 2, 'h', '2', 5, 'h', '3', '-', '1', '9', /* alpn=h2,h3-19 */
	0, 4, 0, 4, 192, 0, 2, 1,			/* ipv4hint=192.0.2.1 */
};
/* clang-format on */

static void test_mandatory_vector(void **state)
{
	struct dns_svcb s;
	assert_int_equal(dns_svcb_parse(S(figure9, sizeof(figure9)), &s, &detail), 0);
	assert_int_equal(s.n_params, 3);
	assert_int_equal(s.ipv4hint.len, 4);
	assert_string_equal(s.target.text, "foo.example.org");
}

/* ---- stripped ---- */

static void test_strip_mandatory_vector(void **state)
{
	struct dns_svcb s, again;
	uint8_t out[64];
	assert_int_equal(dns_svcb_parse(S(figure9, sizeof(figure9)), &s, &detail), 0);
	int n = dns_svcb_strip_hints(&s, out, sizeof(out));
	static const uint8_t want[] = {
	    0,	 16,  FOO_EXAMPLE_ORG, 0, 0, 0, 2, 0, 1, 0, 1, 0, 9, 2, 'h', '2', 5, 'h', '3', '-',
	    '1', '9',
	};
	assert_int_equal(n, sizeof(want));
	assert_memory_equal(out, want, sizeof(want));
	assert_int_equal(dns_svcb_parse(S(out, (size_t)n), &again, &detail), 0);
	assert_int_equal(again.n_params, 2);
}

/* mandatory=ipv4hint,ipv6hint goes away with them. */
static void test_strip_drops_empty_mandatory(void **state)
{
	struct dns_svcb s;
	uint8_t out[64];
	assert_int_equal(PARSE(&s, 0, 1, 0, 0, 0, 0, 4, 0, 4, 0, 6, 0, 3, 0, 2, 1, 187, 0, 4, 0, 4,
			       10, 0, 0, 1, 0, 6, 0, 16, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
			       0, 0, 1),
			 0);
	int n = dns_svcb_strip_hints(&s, out, sizeof(out));
	static const uint8_t want[] = {0, 1, 0, 0, 3, 0, 2, 1, 187};
	assert_int_equal(n, sizeof(want));
	assert_memory_equal(out, want, sizeof(want));
}

static void test_strip_without_hints_is_identity(void **state)
{
	static const uint8_t in[] = {
	    0,	  1,   FOO_EXAMPLE_COM, 0, 1, 0, 3, 2, 'h', '2', 0, 3, 0, 2, 1, 187, 0, 5, 0, 2,
	    0xaa, 0xbb};
	struct dns_svcb s;
	uint8_t out[64];
	assert_int_equal(dns_svcb_parse(S(in, sizeof(in)), &s, &detail), 0);
	assert_int_equal(dns_svcb_strip_hints(&s, out, sizeof(out)), sizeof(in));
	assert_memory_equal(out, in, sizeof(in));
}

static void test_strip_alias_mode(void **state)
{
	struct dns_svcb s;
	uint8_t out[64];
	assert_int_equal(PARSE(&s, 0, 0, FOO_EXAMPLE_COM), 0);
	assert_int_equal(dns_svcb_strip_hints(&s, out, sizeof(out)), 19);
	/* AliasMode with a hint (ignored by clients, RFC 9460 §2.4.2): stripped all the same */
	assert_int_equal(PARSE(&s, 0, 0, 0, 0, 4, 0, 4, 127, 0, 0, 1), 0);
	assert_int_equal(dns_svcb_strip_hints(&s, out, sizeof(out)), 3);
	assert_memory_equal(out, "\0\0\0", 3);
}

static void test_strip_cap_too_small(void **state)
{
	struct dns_svcb s;
	uint8_t out[64];
	assert_int_equal(dns_svcb_parse(S(figure9, sizeof(figure9)), &s, &detail), 0);
	for (size_t cap = 0; cap < 38; cap++)
		assert_int_equal(dns_svcb_strip_hints(&s, out, cap), -1);
	assert_int_equal(dns_svcb_strip_hints(&s, out, 38), 38);
}

/* ---- refused ---- */

static void test_refuse_short(void **state)
{
	REFUSED(0);
	REFUSED(0, 1);
	assert_refused_rdata(NULL, 0);
}

static void test_refuse_target(void **state)
{
	REFUSED(0, 1, 3, 'f', 'o', 'o'); /* runs out */
	REFUSED(0, 1, 0xc0, 0x0c);	 /* compressed (RFC 9460 §2.2) */
	REFUSED(0, 1, 3, 'f', 'o', 'o', 0xc0, 0x0c);
	REFUSED(0, 1, 0x40, 'a'); /* extended label type */
}

static void test_refuse_params_truncated(void **state)
{
	REFUSED(0, 1, 0, 0);		 /* half a key */
	REFUSED(0, 1, 0, 0, 3, 0);	 /* no length */
	REFUSED(0, 1, 0, 0, 3, 0, 2, 1); /* value cut */
}

static void test_refuse_keys_not_increasing(void **state)
{
	REFUSED(0, 1, 0, 0, 3, 0, 2, 1, 187, 0, 1, 0, 3, 2, 'h', '2');
	REFUSED(0, 1, 0, 0, 3, 0, 2, 1, 187, 0, 3, 0, 2, 1, 187); /* twice */
}

static void test_refuse_value_formats(void **state)
{
	REFUSED(0, 1, 0, 0, 3, 0, 1, 1);	     /* port of 1 byte */
	REFUSED(0, 1, 0, 0, 3, 0, 3, 1, 2, 3);	     /* port of 3 */
	REFUSED(0, 1, 0, 0, 4, 0, 0);		     /* empty ipv4hint */
	REFUSED(0, 1, 0, 0, 4, 0, 5, 1, 2, 3, 4, 5); /* 5 bytes */
	REFUSED(0, 1, 0, 0, 6, 0, 4, 1, 2, 3, 4);    /* ipv6hint of 4 bytes */
	REFUSED(0, 1, 0, 0, 6, 0, 0);		     /* empty ipv6hint */
	REFUSED(0, 1, 0, 0, 2, 0, 1, 0);	     /* no-default-alpn with a value */
	REFUSED(0, 1, 0, 0, 8, 0, 1, 0);	     /* ohttp with a value */
	REFUSED(0, 1, 0, 0, 1, 0, 0);		     /* empty alpn */
	REFUSED(0, 1, 0, 0, 1, 0, 1, 0);	     /* empty alpn-id */
	REFUSED(0, 1, 0, 0, 1, 0, 3, 3, 'h', '2');   /* alpn-id past the value */
	REFUSED(0, 1, 0, 0xff, 0xff, 0, 0);	     /* key 65535 */
}

static void test_refuse_mandatory(void **state)
{
	REFUSED(0, 1, 0, 0, 0, 0, 0);				   /* empty */
	REFUSED(0, 1, 0, 0, 0, 0, 3, 0, 3, 0, 0, 3, 0, 2, 1, 187); /* odd length */
	REFUSED(0, 1, 0, 0, 0, 0, 2, 0, 0);			   /* lists itself */
	REFUSED(0, 1, 0, 0, 0, 0, 2, 0, 3);			   /* port missing */
	/* not ascending, twice */
	REFUSED(0, 1, 0, 0, 0, 0, 4, 0, 3, 0, 1, 0, 1, 0, 3, 2, 'h', '2', 0, 3, 0, 2, 1, 187);
	REFUSED(0, 1, 0, 0, 0, 0, 4, 0, 3, 0, 3, 0, 3, 0, 2, 1, 187);
	/* lists a key after the last one present */
	REFUSED(0, 1, 0, 0, 0, 0, 4, 0, 3, 0, 9, 0, 3, 0, 2, 1, 187);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_alias_mode),
	    cmocka_unit_test(test_strip_ech),
	    cmocka_unit_test(test_root_target),
	    cmocka_unit_test(test_port),
	    cmocka_unit_test(test_unknown_keys_opaque),
	    cmocka_unit_test(test_hints_in_order),
	    cmocka_unit_test(test_no_hints),
	    cmocka_unit_test(test_mandatory_vector),
	    cmocka_unit_test(test_strip_mandatory_vector),
	    cmocka_unit_test(test_strip_drops_empty_mandatory),
	    cmocka_unit_test(test_strip_without_hints_is_identity),
	    cmocka_unit_test(test_strip_alias_mode),
	    cmocka_unit_test(test_strip_cap_too_small),
	    cmocka_unit_test(test_refuse_short),
	    cmocka_unit_test(test_refuse_target),
	    cmocka_unit_test(test_refuse_params_truncated),
	    cmocka_unit_test(test_refuse_keys_not_increasing),
	    cmocka_unit_test(test_refuse_value_formats),
	    cmocka_unit_test(test_refuse_mandatory),
	};
	return cmocka_run_group_tests(tests, 0, 0);
}
