/* Tests src/parse/dns_answer.c: responses as resolvers send them (compressed owners, CNAME
 * chains, MX and SOA with compressed names), the chain followed from the question's name, RDATA
 * written out uncompressed, and every refusal: pointer loops and forward pointers, records past
 * the end, too many records, two CNAMEs for a name, chains too long. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "parse/dns_answer.h"
#include "parse/dns_type.h"

/* A response under construction. */
struct msg {
	uint8_t b[2048];
	size_t len;
};

static void put(struct msg *m, const void *p, size_t n)
{
	memcpy(m->b + m->len, p, n);
	m->len += n;
}

static void put16(struct msg *m, unsigned v)
{
	uint8_t p[2] = {(uint8_t)(v >> 8), (uint8_t)v};
	put(m, p, 2);
}

static void put32(struct msg *m, uint32_t v)
{
	put16(m, v >> 16);
	put16(m, v & 0xffff);
}

/* A dotted name as wire labels ("" is the root). */
static void put_name(struct msg *m, const char *dotted)
{
	while (*dotted) {
		const char *dot = strchr(dotted, '.');
		size_t n = dot ? (size_t)(dot - dotted) : strlen(dotted);
		m->b[m->len++] = (uint8_t)n;
		put(m, dotted, n);
		dotted += n + (dot ? 1 : 0);
	}
	m->b[m->len++] = 0;
}

static void put_ptr(struct msg *m, size_t at)
{
	put16(m, 0xc000 | (unsigned)at);
}

/* Header (id 0x1234, QR RD RA) and the question; the question's name starts at 12. */
static void begin(struct msg *m, unsigned rcode, unsigned ancount, const char *qname,
		  uint16_t qtype)
{
	m->len = 0;
	put16(m, 0x1234);
	put16(m, 0x8180 | rcode);
	put16(m, 1);
	put16(m, ancount);
	put16(m, 0);
	put16(m, 0);
	put_name(m, qname);
	put16(m, qtype);
	put16(m, DNS_CLASS_IN);
}

/* A record's type, class, TTL and RDATA length, after its owner name. */
static void put_rr_head(struct msg *m, uint16_t type, uint32_t ttl, unsigned rdlen)
{
	put16(m, type);
	put16(m, DNS_CLASS_IN);
	put32(m, ttl);
	put16(m, rdlen);
}

static const uint8_t A1[4] = {192, 0, 2, 1};
static const uint8_t A2[4] = {198, 51, 100, 7};

static struct dns_response r;
static struct dns_chain ch;
static const char *detail;

static int parse(const struct msg *m)
{
	detail = NULL;
	return dns_answer_parse(slice_make((const char *)m->b, m->len), &r, &detail);
}

static void test_a_with_compressed_owner(void **state)
{
	struct msg m;
	begin(&m, 0, 2, "Example.COM", DNS_TYPE_A);
	put_ptr(&m, 12);
	put_rr_head(&m, DNS_TYPE_A, 300, 4);
	put(&m, A1, 4);
	put_ptr(&m, 12);
	put_rr_head(&m, DNS_TYPE_A, 0x80000000u, 4); /* top bit: taken as 0 */
	put(&m, A2, 4);
	assert_int_equal(parse(&m), 0);
	assert_int_equal(r.id, 0x1234);
	assert_int_equal(r.rcode, 0);
	assert_false(r.truncated);
	assert_string_equal(r.qname.text, "example.com");
	assert_int_equal(r.qtype, DNS_TYPE_A);
	assert_int_equal(r.n_rr, 2);
	assert_string_equal(r.rr[0].owner.text, "example.com");
	assert_int_equal(r.rr[0].ttl, 300);
	assert_int_equal(r.rr[1].ttl, 0);
	assert_int_equal(r.rr[0].rdata_len, 4);
	assert_memory_equal(m.b + r.rr[1].rdata_at, A2, 4);

	assert_int_equal(dns_answer_chain(&r, &r.qname, DNS_TYPE_A, &ch, &detail), 0);
	assert_int_equal(ch.n_steps, 0);
	assert_ptr_equal(ch.end, &r.qname);
	assert_int_equal(ch.n_final, 2);
}

/* www.example.com CNAME cdn.example.net, cdn.example.net CNAME edge.ex.org, edge.ex.org A: each
 * owner a pointer to the target before it. */
static void test_cname_chain(void **state)
{
	struct msg m;
	begin(&m, 0, 4, "www.example.com", DNS_TYPE_A);
	put_ptr(&m, 12);
	put_rr_head(&m, DNS_TYPE_CNAME, 60, 17);
	size_t cdn = m.len;
	put_name(&m, "cdn.example.net");
	put_ptr(&m, cdn);
	put_rr_head(&m, DNS_TYPE_CNAME, 60, 13);
	size_t edge = m.len;
	put_name(&m, "edge.ex.org");
	put_ptr(&m, edge);
	put_rr_head(&m, DNS_TYPE_A, 30, 4);
	put(&m, A1, 4);
	/* A record for a name off the chain: left out. */
	put_name(&m, "other.example");
	put_rr_head(&m, DNS_TYPE_A, 30, 4);
	put(&m, A2, 4);
	assert_int_equal(parse(&m), 0);
	assert_int_equal(dns_answer_chain(&r, &r.qname, DNS_TYPE_A, &ch, &detail), 0);
	assert_int_equal(ch.n_steps, 2);
	assert_string_equal(ch.alias[0].text, "cdn.example.net");
	assert_string_equal(ch.alias[1].text, "edge.ex.org");
	assert_int_equal(ch.step[0], 0);
	assert_int_equal(ch.step[1], 1);
	assert_string_equal(ch.end->text, "edge.ex.org");
	assert_int_equal(ch.n_final, 1);
	assert_int_equal(ch.final[0], 2);

	/* A CNAME question is answered by the CNAME itself. */
	assert_int_equal(dns_answer_chain(&r, &r.qname, DNS_TYPE_CNAME, &ch, &detail), 0);
	assert_int_equal(ch.n_steps, 0);
	assert_int_equal(ch.n_final, 1);
	assert_int_equal(ch.final[0], 0);

	/* The CNAME's RDATA written out is the target uncompressed. */
	uint8_t out[300];
	assert_int_equal(dns_answer_rdata(&r, &r.rr[0], out, sizeof(out)), 17);
	assert_memory_equal(out, "\3cdn\7example\3net", 17);
}

/* A target compressed with a pointer into the question: written out in full. */
static void test_rdata_names_uncompressed(void **state)
{
	struct msg m;
	begin(&m, 0, 2, "example.com", DNS_TYPE_MX);
	put_ptr(&m, 12);
	put_rr_head(&m, DNS_TYPE_MX, 60, 2 + 5 + 2);
	put16(&m, 10);
	m.b[m.len++] = 4;
	put(&m, "mail", 4);
	put_ptr(&m, 12); /* mail.example.com */
	put_ptr(&m, 12);
	put_rr_head(&m, DNS_TYPE_SOA, 60, 2 + 2 + 20);
	put_ptr(&m, 12);
	put_ptr(&m, 12);
	for (int i = 0; i < 5; i++)
		put32(&m, (uint32_t)i);
	assert_int_equal(parse(&m), 0);

	uint8_t out[600];
	const uint8_t mx[] = "\0\12\4mail\7example\3com";
	assert_int_equal(dns_answer_rdata(&r, &r.rr[0], out, sizeof(out)), sizeof(mx));
	assert_memory_equal(out, mx, sizeof(mx));
	struct dns_name exchange;
	assert_int_equal(dns_answer_rdata_name(&r, &r.rr[0], 2, &exchange), 0);
	assert_string_equal(exchange.text, "mail.example.com");

	int n = dns_answer_rdata(&r, &r.rr[1], out, sizeof(out));
	assert_int_equal(n, 13 + 13 + 20);
	assert_memory_equal(out, "\7example\3com\0\7example\3com\0", 26);
	assert_int_equal(out[26 + 19], 4);
	/* Too small a buffer. */
	assert_int_equal(dns_answer_rdata(&r, &r.rr[1], out, 30), -1);
}

/* RDATA of a type with no names, such as TXT, goes as it came. */
static void test_rdata_opaque(void **state)
{
	struct msg m;
	begin(&m, 0, 1, "example.com", DNS_TYPE_TXT);
	put_ptr(&m, 12);
	put_rr_head(&m, DNS_TYPE_TXT, 60, 4);
	put(&m, "\3\xc0\x0c!", 4); /* bytes that look like a pointer are text here */
	assert_int_equal(parse(&m), 0);
	uint8_t out[8];
	assert_int_equal(dns_answer_rdata(&r, &r.rr[0], out, sizeof(out)), 4);
	assert_memory_equal(out, "\3\xc0\x0c!", 4);
}

static void test_nxdomain_and_nodata(void **state)
{
	struct msg m;
	begin(&m, 3, 0, "nope.example", DNS_TYPE_TXT);
	assert_int_equal(parse(&m), 0);
	assert_int_equal(r.rcode, 3);
	assert_int_equal(r.n_rr, 0);
	assert_int_equal(dns_answer_chain(&r, &r.qname, DNS_TYPE_TXT, &ch, &detail), 0);
	assert_int_equal(ch.n_final, 0);
}

static void test_refuse_pointer_forward_and_loop(void **state)
{
	struct msg m;
	begin(&m, 0, 1, "example.com", DNS_TYPE_A);
	size_t here = m.len;
	put_ptr(&m, here); /* to itself */
	put_rr_head(&m, DNS_TYPE_A, 1, 4);
	put(&m, A1, 4);
	assert_int_equal(parse(&m), -1);
	assert_string_equal(detail, "bad owner name");

	begin(&m, 0, 1, "example.com", DNS_TYPE_A);
	put_ptr(&m, m.len + 2); /* forwards */
	put_rr_head(&m, DNS_TYPE_A, 1, 4);
	put(&m, A1, 4);
	assert_int_equal(parse(&m), -1);

	/* A loop through labels: "a" then a pointer back to the "a". */
	begin(&m, 0, 1, "example.com", DNS_TYPE_A);
	size_t a = m.len;
	m.b[m.len++] = 1;
	m.b[m.len++] = 'a';
	put_ptr(&m, a);
	put_rr_head(&m, DNS_TYPE_A, 1, 4);
	put(&m, A1, 4);
	assert_int_equal(parse(&m), -1);
}

static void test_refuse_malformed(void **state)
{
	struct msg m;
	begin(&m, 0, 1, "example.com", DNS_TYPE_A);
	put_ptr(&m, 12);
	put_rr_head(&m, DNS_TYPE_A, 1, 4);
	put(&m, A1, 3); /* RDATA past the end */
	assert_int_equal(parse(&m), -1);
	assert_string_equal(detail, "RDATA past the end of the message");

	begin(&m, 0, 2, "example.com", DNS_TYPE_A); /* ANCOUNT says 2, one is there */
	put_ptr(&m, 12);
	put_rr_head(&m, DNS_TYPE_A, 1, 4);
	put(&m, A1, 4);
	assert_int_equal(parse(&m), -1);

	begin(&m, 0, DNS_ANSWER_RR_MAX + 1, "example.com", DNS_TYPE_A);
	assert_int_equal(parse(&m), -1);
	assert_string_equal(detail, "more answer records than sluice sends on");

	begin(&m, 0, 0, "example.com", DNS_TYPE_A);
	m.b[2] &= 0x7f; /* a query */
	assert_int_equal(parse(&m), -1);
	assert_int_equal(dns_answer_parse(slice_make((const char *)m.b, 11), &r, NULL), -1);

	begin(&m, 0, 0, "example.com", DNS_TYPE_A);
	m.len -= 2; /* question cut */
	assert_int_equal(parse(&m), -1);
}

static void test_refuse_bad_chains(void **state)
{
	struct msg m;
	/* Two CNAMEs for one name. */
	begin(&m, 0, 2, "example.com", DNS_TYPE_A);
	for (int i = 0; i < 2; i++) {
		put_ptr(&m, 12);
		put_rr_head(&m, DNS_TYPE_CNAME, 1, 5);
		put_name(&m, i ? "b.x" : "a.x");
	}
	assert_int_equal(parse(&m), 0);
	assert_int_equal(dns_answer_chain(&r, &r.qname, DNS_TYPE_A, &ch, &detail), -1);
	assert_string_equal(detail, "two CNAME records for one name");

	/* A loop: example.com -> a.x -> example.com. */
	begin(&m, 0, 2, "example.com", DNS_TYPE_A);
	put_ptr(&m, 12);
	put_rr_head(&m, DNS_TYPE_CNAME, 1, 5);
	size_t ax = m.len;
	put_name(&m, "a.x");
	put_ptr(&m, ax);
	put_rr_head(&m, DNS_TYPE_CNAME, 1, 2);
	put_ptr(&m, 12);
	assert_int_equal(parse(&m), 0);
	assert_int_equal(dns_answer_chain(&r, &r.qname, DNS_TYPE_A, &ch, &detail), -1);
	assert_string_equal(detail, "CNAME chain too long, or a loop");

	/* A CNAME whose RDATA holds more than the name. */
	begin(&m, 0, 1, "example.com", DNS_TYPE_A);
	put_ptr(&m, 12);
	put_rr_head(&m, DNS_TYPE_CNAME, 1, 6);
	put_name(&m, "a.x");
	m.b[m.len++] = 0;
	assert_int_equal(parse(&m), 0);
	assert_int_equal(dns_answer_chain(&r, &r.qname, DNS_TYPE_A, &ch, &detail), -1);
	assert_string_equal(detail, "CNAME RDATA is not one name");
	/* ... and a malformed compressible RDATA is refused when written out. */
	uint8_t out[64];
	assert_int_equal(dns_answer_rdata(&r, &r.rr[0], out, sizeof(out)), -1);
}

/* A chain of exactly DNS_ANSWER_CHAIN_MAX steps is followed. */
static void test_longest_chain(void **state)
{
	struct msg m;
	char name[8];
	begin(&m, 0, DNS_ANSWER_CHAIN_MAX, "example.com", DNS_TYPE_A);
	size_t owner = 12;
	for (int i = 0; i < DNS_ANSWER_CHAIN_MAX; i++) {
		put_ptr(&m, owner);
		put_rr_head(&m, DNS_TYPE_CNAME, 1, 5);
		owner = m.len;
		snprintf(name, sizeof(name), "%c.x", 'a' + i);
		put_name(&m, name);
	}
	assert_int_equal(parse(&m), 0);
	assert_int_equal(dns_answer_chain(&r, &r.qname, DNS_TYPE_A, &ch, &detail), 0);
	assert_int_equal(ch.n_steps, DNS_ANSWER_CHAIN_MAX);
	assert_string_equal(ch.end->text, "h.x");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_a_with_compressed_owner),
	    cmocka_unit_test(test_cname_chain),
	    cmocka_unit_test(test_rdata_names_uncompressed),
	    cmocka_unit_test(test_rdata_opaque),
	    cmocka_unit_test(test_nxdomain_and_nodata),
	    cmocka_unit_test(test_refuse_pointer_forward_and_loop),
	    cmocka_unit_test(test_refuse_malformed),
	    cmocka_unit_test(test_refuse_bad_chains),
	    cmocka_unit_test(test_longest_chain),
	};
	return cmocka_run_group_tests(tests, 0, 0);
}
