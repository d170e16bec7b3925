/* Tests src/policy/special_ranges.c: every built-in range at its first and last address and just
 * outside both ends, every IPv6 form that embeds IPv4, and the metadata endpoints. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "parse/authority.h"
#include "parse/cidr.h"
#include "policy/special_ranges.h"

static struct ip_addr ip(const char *text)
{
	struct ip_addr a;
	if (authority_parse_ip_strict(slice_from_cstr(text), &a) != 0)
		fail_msg("bad test address %s", text);
	return a;
}

/* want == NULL: globally reachable. */
static void assert_range(const char *addr, const char *want)
{
	struct ip_addr a = ip(addr);
	const struct special_range *r = special_ranges_match(&a);
	if (want == NULL && r != NULL)
		fail_msg("%s: want global, got %s (%s)", addr, r->name, r->cidr);
	if (want != NULL && r == NULL)
		fail_msg("%s: want %s, got global", addr, want);
	if (want != NULL && strcmp(r->name, want) != 0)
		fail_msg("%s: want %s, got %s (%s)", addr, want, r->name, r->cidr);
}

struct probe {
	const char *addr;
	const char *want; /* NULL = global */
};

struct range_case {
	const char *cidr; /* the table row under test */
	const char *name;
	struct probe probes[8]; /* first, last, just before, just after, ...; ends at addr NULL */
};

#define GLOBAL NULL

static const struct range_case cases[] = {
    /* IPv4 */
    {"0.0.0.0/8",
     "this-network",
     {{"0.0.0.0", "this-network"}, {"0.255.255.255", "this-network"}, {"1.0.0.0", GLOBAL}}},
    {"10.0.0.0/8",
     "private-use",
     {{"10.0.0.0", "private-use"},
      {"10.255.255.255", "private-use"},
      {"9.255.255.255", GLOBAL},
      {"11.0.0.0", GLOBAL}}},
    {"100.64.0.0/10",
     "shared-address-space",
     {{"100.64.0.0", "shared-address-space"},
      {"100.127.255.255", "shared-address-space"},
      {"100.63.255.255", GLOBAL},
      {"100.128.0.0", GLOBAL},
      {"100.100.100.200", "shared-address-space"}}},
    {"127.0.0.0/8",
     "loopback",
     {{"127.0.0.0", "loopback"},
      {"127.255.255.255", "loopback"},
      {"126.255.255.255", GLOBAL},
      {"128.0.0.0", GLOBAL}}},
    {"169.254.0.0/16",
     "link-local",
     {{"169.254.0.0", "link-local"},
      {"169.254.255.255", "link-local"},
      {"169.253.255.255", GLOBAL},
      {"169.255.0.0", GLOBAL},
      {"169.254.169.254", "link-local"}}},
    {"172.16.0.0/12",
     "private-use",
     {{"172.16.0.0", "private-use"},
      {"172.31.255.255", "private-use"},
      {"172.15.255.255", GLOBAL},
      {"172.32.0.0", GLOBAL}}},
    {"192.0.0.0/24",
     "ietf-protocol-assignments",
     {{"192.0.0.0", "ietf-protocol-assignments"},
      {"192.0.0.255", "ietf-protocol-assignments"},
      {"191.255.255.255", GLOBAL},
      {"192.0.1.0", GLOBAL}}},
    {"192.0.2.0/24",
     "documentation",
     {{"192.0.2.0", "documentation"},
      {"192.0.2.255", "documentation"},
      {"192.0.1.255", GLOBAL},
      {"192.0.3.0", GLOBAL}}},
    {"192.88.99.0/24",
     "6to4-relay-anycast",
     {{"192.88.99.0", "6to4-relay-anycast"},
      {"192.88.99.255", "6to4-relay-anycast"},
      {"192.88.98.255", GLOBAL},
      {"192.88.100.0", GLOBAL}}},
    {"192.168.0.0/16",
     "private-use",
     {{"192.168.0.0", "private-use"},
      {"192.168.255.255", "private-use"},
      {"192.167.255.255", GLOBAL},
      {"192.169.0.0", GLOBAL}}},
    {"198.18.0.0/15",
     "benchmarking",
     {{"198.18.0.0", "benchmarking"},
      {"198.19.255.255", "benchmarking"},
      {"198.17.255.255", GLOBAL},
      {"198.20.0.0", GLOBAL}}},
    {"198.51.100.0/24",
     "documentation",
     {{"198.51.100.0", "documentation"},
      {"198.51.100.255", "documentation"},
      {"198.51.99.255", GLOBAL},
      {"198.51.101.0", GLOBAL}}},
    {"203.0.113.0/24",
     "documentation",
     {{"203.0.113.0", "documentation"},
      {"203.0.113.255", "documentation"},
      {"203.0.112.255", GLOBAL},
      {"203.0.114.0", GLOBAL}}},
    {"224.0.0.0/4",
     "multicast",
     {{"224.0.0.0", "multicast"},
      {"239.255.255.255", "multicast"},
      {"223.255.255.255", GLOBAL},
      {"240.0.0.0", "reserved"}}},
    {"240.0.0.0/4",
     "reserved",
     {{"240.0.0.0", "reserved"},
      {"255.255.255.254", "reserved"}, /* the last, 255.255.255.255, has its own row */
      {"239.255.255.255", "multicast"}}},
    {"255.255.255.255/32",
     "limited-broadcast",
     {{"255.255.255.255", "limited-broadcast"}, {"255.255.255.254", "reserved"}}},
    {"168.63.129.16/32",
     "cloud-metadata",
     {{"168.63.129.16", "cloud-metadata"}, {"168.63.129.15", GLOBAL}, {"168.63.129.17", GLOBAL}}},
    /* IPv6 */
    {"::/128", "unspecified", {{"::", "unspecified"}, {"::1", "loopback"}}},
    {"::1/128",
     "loopback",
     {{"::1", "loopback"}, {"::", "unspecified"}, {"::2", "this-network" /* ::0.0.0.2 */}}},
    {"::/96",
     "ipv4-compatible",
     {{"::8.8.8.8", "ipv4-compatible"},
      {"::ffff:ffff", "limited-broadcast"}, /* last: embeds 255.255.255.255 */
      {"::1:0:0", GLOBAL},		    /* just after */
      {"::1.1.1.1", "ipv4-compatible"}}},
    {"64:ff9b:1::/48",
     "nat64-local-use",
     {{"64:ff9b:1::", "this-network"}, /* first: embeds 0.0.0.0 */
      {"64:ff9b:1:ffff:ffff:ffff:ffff:ffff", "limited-broadcast"},
      {"64:ff9b:0:ffff:ffff:ffff:ffff:ffff", GLOBAL},
      {"64:ff9b:2::", GLOBAL},
      {"64:ff9b:1::808:808", "nat64-local-use"},
      {"64:ff9b:1:ffff:ffff:ffff:808:808", "nat64-local-use"}}},
    {"100::/64",
     "discard-only",
     {{"100::", "discard-only"},
      {"100::ffff:ffff:ffff:ffff", "discard-only"},
      {"ff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", GLOBAL},
      {"100:0:0:1::", GLOBAL}}},
    {"2001::/23",
     "ietf-protocol-assignments",
     {{"2001::", "limited-broadcast"}, /* first is Teredo: client ::ffff:ffff ^ ~0 */
      {"2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff", "ietf-protocol-assignments"},
      {"2000:ffff:ffff:ffff:ffff:ffff:ffff:ffff", GLOBAL},
      {"2001:200::", GLOBAL},
      {"2001::ffff:ffff", "this-network"}, /* Teredo, client 0.0.0.0 */
      {"2001:1::1", "ietf-protocol-assignments"}}},
    {"2001:db8::/32",
     "documentation",
     {{"2001:db8::", "documentation"},
      {"2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", "documentation"},
      {"2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", GLOBAL},
      {"2001:db9::", GLOBAL}}},
    {"3fff::/20",
     "documentation",
     {{"3fff::", "documentation"},
      {"3fff:fff:ffff:ffff:ffff:ffff:ffff:ffff", "documentation"},
      {"3ffe:ffff:ffff:ffff:ffff:ffff:ffff:ffff", GLOBAL},
      {"3fff:1000::", GLOBAL}}},
    {"fc00::/7",
     "unique-local",
     {{"fc00::", "unique-local"},
      {"fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "unique-local"},
      {"fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", GLOBAL},
      {"fe00::", GLOBAL},
      {"fd00:ec2::254", "unique-local"}}},
    {"fe80::/10",
     "link-local",
     {{"fe80::", "link-local"},
      {"febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "link-local"},
      {"fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff", GLOBAL},
      {"fec0::", "site-local"}}},
    {"fec0::/10",
     "site-local",
     {{"fec0::", "site-local"},
      {"feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "site-local"},
      {"febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "link-local"},
      {"ff00::", "multicast"}}},
    {"ff00::/8",
     "multicast",
     {{"ff00::", "multicast"},
      {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "multicast"},
      {"feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "site-local"},
      {"ff02::1", "multicast"}}},
};

#define N_CASES (sizeof(cases) / sizeof(cases[0]))

/* The table row named by the case exists with that name, and its stored bytes agree with its
 * own text; then every probe lands where the case says. */
static void test_range(void **state)
{
	const struct range_case *c = *state;
	struct ip_addr want_addr;
	unsigned want_len;
	const char *detail;
	assert_int_equal(cidr_parse(slice_from_cstr(c->cidr), &want_addr, &want_len, &detail), 0);
	const struct special_range *r = special_ranges_match(&want_addr);
	/* The network address of some rows is named by a longer row or an embedded IPv4 address;
	 * search the probes for one that names the row itself. */
	bool row_seen = false;
	for (const struct probe *p = c->probes; p->addr != NULL; p++) {
		assert_range(p->addr, p->want);
		struct ip_addr a = ip(p->addr);
		r = special_ranges_match(&a);
		if (r != NULL && strcmp(r->cidr, c->cidr) == 0) {
			assert_string_equal(r->name, c->name);
			assert_int_equal(r->prefix_len, want_len);
			assert_true(ip_addr_eq(&r->addr, &want_addr));
			row_seen = true;
		}
	}
	assert_true(row_seen);
}

static void test_global_addresses(void **state)
{
	assert_range("8.8.8.8", GLOBAL);
	assert_range("1.1.1.1", GLOBAL);
	assert_range("93.184.216.34", GLOBAL);
	assert_range("2606:4700:4700::1111", GLOBAL);
	assert_range("2001:4860:4860::8888", GLOBAL);
	assert_range("2a00:1450:4001::1", GLOBAL);
}

/* ---- embedded IPv4: each form with a link-local, private, loopback and global address ---- */

static void test_embedded_mapped(void **state)
{
	assert_range("::ffff:169.254.169.254", "link-local");
	assert_range("::ffff:10.0.0.1", "private-use");
	assert_range("::ffff:127.0.0.1", "loopback");
	assert_range("::ffff:8.8.8.8", GLOBAL);
}

/* ::/96 is denied whole; a non-global embedded address still names itself. */
static void test_embedded_compatible(void **state)
{
	assert_range("::169.254.169.254", "link-local");
	assert_range("::10.0.0.1", "private-use");
	assert_range("::127.0.0.1", "loopback");
	assert_range("::8.8.8.8", "ipv4-compatible");
}

static void test_embedded_nat64(void **state)
{
	assert_range("64:ff9b::169.254.169.254", "link-local");
	assert_range("64:ff9b::10.0.0.1", "private-use");
	assert_range("64:ff9b::127.0.0.1", "loopback");
	assert_range("64:ff9b::8.8.8.8", GLOBAL);
}

/* 64:ff9b:1::/48 is denied whole (RFC 8215 local use). */
static void test_embedded_nat64_local(void **state)
{
	assert_range("64:ff9b:1::169.254.169.254", "link-local");
	assert_range("64:ff9b:1::10.0.0.1", "private-use");
	assert_range("64:ff9b:1::127.0.0.1", "loopback");
	assert_range("64:ff9b:1::8.8.8.8", "nat64-local-use");
}

static void test_embedded_6to4(void **state)
{
	assert_range("2002:a9fe:a9fe::", "link-local");
	assert_range("2002:a9fe:a9fe:1234:5678:9abc:def0:1", "link-local");
	assert_range("2002:a00:1::", "private-use");
	assert_range("2002:7f00:1::", "loopback");
	assert_range("2002:808:808::", GLOBAL);
	assert_range("2002:808:808:ffff::1", GLOBAL);
}

/* RFC 4380 §4: 2001:0:SERVER:flags:port:~CLIENT. The client is obfuscated by XOR with ones.
 * 2001::/32 sits inside 2001::/23, denied whole, so a global pair still names that row. */
static void test_embedded_teredo_client(void **state)
{
	assert_range("2001:0:808:808:0:0:5601:5601", "link-local");  /* ~169.254.169.254 */
	assert_range("2001:0:808:808:0:0:f5ff:fffe", "private-use"); /* ~10.0.0.1 */
	assert_range("2001:0:808:808:0:0:80ff:fffe", "loopback");    /* ~127.0.0.1 */
	assert_range("2001:0:808:808:0:0:f7f7:f7f7", "ietf-protocol-assignments"); /* ~8.8.8.8 */
}

static void test_embedded_teredo_server(void **state)
{
	assert_range("2001:0:a9fe:a9fe:0:0:f7f7:f7f7", "link-local");
	assert_range("2001:0:a00:1:0:0:f7f7:f7f7", "private-use");
	assert_range("2001:0:7f00:1:0:0:f7f7:f7f7", "loopback");
	assert_range("2001:0:808:808:8000:1234:f7f7:f7f7", "ietf-protocol-assignments");
}

/* ---- special_ranges_embedded_v4 ---- */

static void assert_embedded(const char *v6, const char *want_v4)
{
	struct ip_addr a = ip(v6), v4;
	char buf[IP_ADDR_TEXT_MAX];
	if (!special_ranges_embedded_v4(&a, &v4))
		fail_msg("%s: no embedded IPv4 found", v6);
	assert_int_equal(v4.family, IP_V4);
	ip_addr_format(&v4, buf);
	assert_string_equal(buf, want_v4);
}

static void assert_no_embedded(const char *text)
{
	struct ip_addr a = ip(text), v4;
	assert_false(special_ranges_embedded_v4(&a, &v4));
}

static void test_embedded_v4_extraction(void **state)
{
	assert_embedded("::ffff:169.254.169.254", "169.254.169.254");
	assert_embedded("::169.254.169.254", "169.254.169.254");
	assert_embedded("64:ff9b::a9fe:a9fe", "169.254.169.254");
	assert_embedded("64:ff9b:1::a9fe:a9fe", "169.254.169.254");
	assert_embedded("2002:a9fe:a9fe::1", "169.254.169.254");
	assert_embedded("2001:0:808:808:0:0:5601:5601", "169.254.169.254"); /* Teredo: client */
}

static void test_no_embedded_v4(void **state)
{
	assert_no_embedded("2001:db8::1");
	assert_no_embedded("::1"); /* loopback, not IPv4-compatible 0.0.0.1 */
	assert_no_embedded("::");  /* unspecified, not 0.0.0.0 */
	assert_no_embedded("fe80::a9fe:a9fe");
	assert_no_embedded("2001:1::a9fe:a9fe"); /* inside 2001::/23 but not Teredo */
	assert_no_embedded("169.254.169.254");	 /* IPv4 itself embeds nothing */
}

/* ---- metadata ---- */

static void assert_metadata(const char *text, bool want)
{
	struct ip_addr a = ip(text);
	if (special_ranges_is_metadata(&a) != want)
		fail_msg("%s: metadata should be %s", text, want ? "true" : "false");
}

static void test_metadata_plain(void **state)
{
	assert_metadata("169.254.169.254", true);
	assert_metadata("169.254.170.2", true);
	assert_metadata("169.254.170.23", true);
	assert_metadata("100.100.100.200", true);
	assert_metadata("168.63.129.16", true);
	assert_metadata("fd00:ec2::254", true);
	assert_metadata("fd00:ec2::23", true);
}

static void test_metadata_neighbours_are_not(void **state)
{
	assert_metadata("169.254.169.253", false);
	assert_metadata("169.254.169.255", false);
	assert_metadata("168.63.129.17", false);
	assert_metadata("fd00:ec2::255", false);
	assert_metadata("8.8.8.8", false);
	assert_metadata("::ffff:8.8.8.8", false);
	assert_metadata("::1", false);
}

static void test_metadata_embedded(void **state)
{
	assert_metadata("::ffff:169.254.169.254", true);
	assert_metadata("::169.254.169.254", true);
	assert_metadata("64:ff9b::169.254.169.254", true);
	assert_metadata("64:ff9b:1::169.254.169.254", true);
	assert_metadata("2002:a9fe:a9fe::", true);
	assert_metadata("2001:0:808:808:0:0:5601:5601", true);	 /* Teredo client */
	assert_metadata("2001:0:a9fe:a9fe:0:0:f7f7:f7f7", true); /* Teredo server */
	assert_metadata("::ffff:168.63.129.16", true);
	assert_metadata("64:ff9b::100.100.100.200", true);
}

/* Azure's wire server is public address space: only the metadata row denies it, also when
 * wrapped in IPv6. */
static void test_public_metadata_named(void **state)
{
	assert_range("::ffff:168.63.129.16", "cloud-metadata");
	assert_range("64:ff9b::a83f:8110", "cloud-metadata");
	assert_range("2002:a83f:8110::", "cloud-metadata");
}

int main(void)
{
	struct CMUnitTest tests[N_CASES + 17];
	size_t n = 0;
	for (size_t i = 0; i < N_CASES; i++) {
		tests[n] =
		    (struct CMUnitTest)cmocka_unit_test_prestate(test_range, (void *)&cases[i]);
		tests[n++].name = cases[i].cidr;
	}
	const struct CMUnitTest fixed[] = {
	    cmocka_unit_test(test_global_addresses),
	    cmocka_unit_test(test_embedded_mapped),
	    cmocka_unit_test(test_embedded_compatible),
	    cmocka_unit_test(test_embedded_nat64),
	    cmocka_unit_test(test_embedded_nat64_local),
	    cmocka_unit_test(test_embedded_6to4),
	    cmocka_unit_test(test_embedded_teredo_client),
	    cmocka_unit_test(test_embedded_teredo_server),
	    cmocka_unit_test(test_embedded_v4_extraction),
	    cmocka_unit_test(test_no_embedded_v4),
	    cmocka_unit_test(test_metadata_plain),
	    cmocka_unit_test(test_metadata_neighbours_are_not),
	    cmocka_unit_test(test_metadata_embedded),
	    cmocka_unit_test(test_public_metadata_named),
	};
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		tests[n++] = fixed[i];
	return _cmocka_run_group_tests("special_ranges", tests, n, NULL, NULL);
}
