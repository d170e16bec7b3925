/* Tests src/parse/dns_msg.c: queries as dig, glibc and others send them (EDNS0, a COOKIE, AD),
 * name normalisation and the bytes no host name holds, the limits of labels and names, and every
 * refusal with the rcode and the section it is answered with; the TCP length prefix. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "parse/dns_msg.h"
#include "parse/dns_type.h"

/* ---- building messages ---- */

struct msg {
	uint8_t b[1024];
	size_t len;
};

static void put(struct msg *m, const void *p, size_t n)
{
	assert_true(m->len + n <= sizeof(m->b));
	if (n == 0)
		return;
	memcpy(m->b + m->len, p, n);
	m->len += n;
}

static void put8(struct msg *m, unsigned v)
{
	uint8_t b = (uint8_t)v;
	put(m, &b, 1);
}

static void put16(struct msg *m, unsigned v)
{
	put8(m, v >> 8);
	put8(m, v & 0xff);
}

/* Header with QDCOUNT..ARCOUNT; flags are bytes 2 and 3. */
static void header(struct msg *m, unsigned id, unsigned flags, unsigned qd, unsigned an,
		   unsigned ns, unsigned ar)
{
	m->len = 0;
	put16(m, id);
	put16(m, flags);
	put16(m, qd);
	put16(m, an);
	put16(m, ns);
	put16(m, ar);
}

/* A dotted name as wire labels; "" is the root. No checks: tests build bad names with it. */
static void name(struct msg *m, const char *dotted)
{
	const char *p = dotted;
	while (*p) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);
		put8(m, (unsigned)n);
		put(m, p, n);
		p += n + (dot ? 1 : 0);
	}
	put8(m, 0);
}

static void label(struct msg *m, const void *bytes, size_t n)
{
	put8(m, (unsigned)n);
	put(m, bytes, n);
}

static void question(struct msg *m, const char *dotted, unsigned qtype, unsigned qclass)
{
	name(m, dotted);
	put16(m, qtype);
	put16(m, qclass);
}

/* OPT: root owner, type 41, class = UDP size, TTL = ext rcode, version, flags; rdata. */
static void opt(struct msg *m, unsigned udp, unsigned version, unsigned flags, const void *rdata,
		size_t rdlen)
{
	put8(m, 0);
	put16(m, DNS_TYPE_OPT);
	put16(m, udp);
	put8(m, 0);
	put8(m, version);
	put16(m, flags);
	put16(m, (unsigned)rdlen);
	put(m, rdata, rdlen);
}

static void query(struct msg *m, const char *dotted, unsigned qtype)
{
	header(m, 0x4242, 0x0100, 1, 0, 0, 0);
	question(m, dotted, qtype, DNS_CLASS_IN);
}

static enum dns_msg_status parse(const struct msg *m, struct dns_query *q)
{
	return dns_msg_parse(slice_make((const char *)m->b, m->len), q);
}

static void assert_answerable(const struct msg *m, struct dns_query *q)
{
	enum dns_msg_status st = parse(m, q);
	if (st != DNS_MSG_QUESTION || q->rcode != DNS_RCODE_NOERROR)
		fail_msg("refused: status %d rcode %d (%s)", st, q->rcode,
			 dns_msg_error_name(q->error));
	assert_int_equal(q->error, DNS_MSG_ERR_NONE);
	assert_int_equal(q->name.len, strlen(q->name.text));
}

static void assert_refused(const struct msg *m, enum dns_msg_status st, int rcode,
			   enum dns_msg_error error)
{
	struct dns_query q;
	enum dns_msg_status got = parse(m, &q);
	if (got != st || q.rcode != rcode || q.error != error)
		fail_msg("want status %d rcode %d %s, got %d %d %s", st, rcode,
			 dns_msg_error_name(error), got, q.rcode, dns_msg_error_name(q.error));
	if (st == DNS_MSG_HEADER_ONLY) {
		assert_int_equal(q.question.len, 0);
		assert_int_equal(q.name.len, 0);
	}
}

/* ---- queries as clients send them ---- */

/* dig 9.18 `dig example.com`: RD and AD set, EDNS0 with 1232 bytes and a client COOKIE. */
/* clang-format off */
static const uint8_t dig_query[] = {
	0x1a, 0x2b, 0x01, 0x20, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, /* header */
	0x07, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0x03, 'c', 'o', 'm', 0x00,	 /* QNAME */
	0x00, 0x01, 0x00, 0x01,							 /* A IN */
	0x00, 0x00, 0x29, 0x04, 0xd0, 0x00, 0x00, 0x00, 0x00,	/* OPT: 1232 bytes, v0, no DO */
	0x00, 0x0c, 0x00, 0x0a, 0x00, 0x08,			/* RDLENGTH; COOKIE, 8 bytes */
	0x3d, 0x8f, 0x12, 0x9a, 0x55, 0x0e, 0xc1, 0x77,		/* client cookie */
};
/* clang-format on */

static void test_dig_query(void **state)
{
	struct msg m = {.len = sizeof(dig_query)};
	memcpy(m.b, dig_query, sizeof(dig_query));
	struct dns_query q;
	assert_answerable(&m, &q);
	assert_int_equal(q.id, 0x1a2b);
	assert_int_equal(q.opcode, 0);
	assert_true(q.rd);
	assert_true(q.ad);
	assert_false(q.cd);
	assert_string_equal(q.name.text, "example.com");
	assert_int_equal(q.name.labels, 2);
	assert_true(q.name.is_hostname);
	assert_int_equal(q.qtype, DNS_TYPE_A);
	assert_int_equal(q.qclass, DNS_CLASS_IN);
	assert_true(q.has_edns);
	assert_int_equal(q.edns_udp_size, 1232);
	assert_int_equal(q.edns_version, 0);
	assert_false(q.edns_do);
	assert_ptr_equal(q.question.ptr, (const char *)m.b + 12);
	assert_int_equal(q.question.len, 13 + 4);
}

/* dig +dnssec: DO set; +cdflag: CD set. */
static void test_dig_dnssec_cd(void **state)
{
	struct msg m;
	uint8_t cookie[] = {0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8};
	header(&m, 7, 0x0130, 1, 0, 0, 1);
	question(&m, "example.org", DNS_TYPE_AAAA, DNS_CLASS_IN);
	opt(&m, 1232, 0, 0x8000, cookie, sizeof(cookie));
	struct dns_query q;
	assert_answerable(&m, &q);
	assert_true(q.edns_do);
	assert_true(q.cd);
	assert_int_equal(q.qtype, DNS_TYPE_AAAA);
}

/* glibc's stub resolver: RD only, no EDNS. */
static void test_plain_query(void **state)
{
	struct msg m;
	query(&m, "api.github.com", DNS_TYPE_HTTPS);
	struct dns_query q;
	assert_answerable(&m, &q);
	assert_false(q.has_edns);
	assert_false(q.ad);
	assert_int_equal(q.qtype, DNS_TYPE_HTTPS);
	assert_string_equal(q.name.text, "api.github.com");
	assert_int_equal(q.name.labels, 3);
}

/* A server cookie as well (RFC 7873 §4: 8 + 8..32 bytes), and options sluice ignores. */
static void test_cookie_lengths_accepted(void **state)
{
	static const size_t ok[] = {8, 16, 24, 40};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		uint8_t rdata[4 + 40] = {0, 10, 0, (uint8_t)ok[i]};
		struct msg m;
		header(&m, 1, 0x0100, 1, 0, 0, 1);
		question(&m, "example.com", DNS_TYPE_A, DNS_CLASS_IN);
		opt(&m, 4096, 0, 0, rdata, 4 + ok[i]);
		struct dns_query q;
		assert_answerable(&m, &q);
	}
}

static void test_cookie_bad_lengths_refused(void **state)
{
	static const size_t bad[] = {0, 7, 9, 15, 41};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t rdata[4 + 41] = {0, 10, 0, (uint8_t)bad[i]};
		struct msg m;
		header(&m, 1, 0x0100, 1, 0, 0, 1);
		question(&m, "example.com", DNS_TYPE_A, DNS_CLASS_IN);
		opt(&m, 4096, 0, 0, rdata, 4 + bad[i]);
		assert_refused(&m, DNS_MSG_QUESTION, DNS_RCODE_FORMERR, DNS_MSG_ERR_OPT_OPTIONS);
	}
}

static void test_other_options_ignored(void **state)
{
	/* client subnet (8), padding (12), an unknown code with no value */
	uint8_t rdata[] = {0, 8,  0, 7, 0, 1, 24, 0,	192,  0, 2,
			   0, 12, 0, 3, 0, 0, 0,  0xfd, 0xe9, 0, 0};
	struct msg m;
	header(&m, 1, 0x0100, 1, 0, 0, 1);
	question(&m, "example.com", DNS_TYPE_A, DNS_CLASS_IN);
	opt(&m, 1232, 0, 0, rdata, sizeof(rdata));
	struct dns_query q;
	assert_answerable(&m, &q);
}

/* RFC 1035 §4.1.1 Z and RCODE, and EDNS Z flags, mean nothing in a query. */
static void test_reserved_bits_ignored(void **state)
{
	struct msg m;
	header(&m, 1, 0x014f, 1, 0, 0, 1);
	question(&m, "example.com", DNS_TYPE_A, DNS_CLASS_IN);
	opt(&m, 512, 0, 0x7fff, NULL, 0);
	struct dns_query q;
	assert_answerable(&m, &q);
	assert_false(q.edns_do);
}

static void test_small_udp_size_kept(void **state)
{
	struct msg m;
	header(&m, 1, 0x0100, 1, 0, 0, 1);
	question(&m, "example.com", DNS_TYPE_A, DNS_CLASS_IN);
	opt(&m, 0, 0, 0, NULL, 0);
	struct dns_query q;
	assert_answerable(&m, &q);
	assert_true(q.has_edns);
	assert_int_equal(q.edns_udp_size, 0);
}

/* ---- names ---- */

static void test_name_lower_cased(void **state)
{
	struct msg m;
	query(&m, "WwW.ExAmPlE.COM", DNS_TYPE_A);
	struct dns_query q;
	assert_answerable(&m, &q);
	assert_string_equal(q.name.text, "www.example.com");
	assert_true(q.name.is_hostname);
	/* The question is echoed as sent (RFC 5452 §9.1 case randomisation). */
	assert_memory_equal(q.question.ptr, "\x03WwW", 4);
}

static void test_name_underscore_and_hyphen(void **state)
{
	struct msg m;
	query(&m, "_dmarc.my-host.example", DNS_TYPE_TXT);
	struct dns_query q;
	assert_answerable(&m, &q);
	assert_string_equal(q.name.text, "_dmarc.my-host.example");
	assert_true(q.name.is_hostname);
}

static void test_root_name(void **state)
{
	struct msg m;
	query(&m, "", DNS_TYPE_NS);
	struct dns_query q;
	assert_answerable(&m, &q);
	assert_string_equal(q.name.text, "");
	assert_int_equal(q.name.labels, 0);
	assert_false(q.name.is_hostname);
	assert_int_equal(q.question.len, 5);
}

/* A label holding '.', NUL, a space or a high byte cannot be told apart from another name as
 * text: it is written with '?' and is no host name. */
static void test_label_with_dot_not_hostname(void **state)
{
	struct msg m;
	header(&m, 1, 0x0100, 1, 0, 0, 0);
	label(&m, "evil.com", 8);
	label(&m, "example", 7);
	label(&m, "com", 3);
	put8(&m, 0);
	put16(&m, DNS_TYPE_A);
	put16(&m, DNS_CLASS_IN);
	struct dns_query q;
	assert_answerable(&m, &q);
	assert_string_equal(q.name.text, "evil?com.example.com");
	assert_int_equal(q.name.labels, 3);
	assert_false(q.name.is_hostname);
}

static void test_label_odd_bytes_not_hostname(void **state)
{
	static const struct {
		const char *bytes;
		size_t len;
		const char *text;
	} cases[] = {
	    {"a\0b", 3, "a?b"},		 {"a b", 3, "a?b"}, {"\xff", 1, "?"},  {"a*", 2, "a?"},
	    {"caf\xc3\xa9", 5, "caf??"}, {"\\", 1, "?"},    {"a/b", 3, "a?b"}, {"\x7f", 1, "?"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct msg m;
		header(&m, 1, 0x0100, 1, 0, 0, 0);
		label(&m, cases[i].bytes, cases[i].len);
		label(&m, "com", 3);
		put8(&m, 0);
		put16(&m, DNS_TYPE_A);
		put16(&m, DNS_CLASS_IN);
		struct dns_query q;
		assert_answerable(&m, &q);
		char want[32];
		snprintf(want, sizeof(want), "%s.com", cases[i].text);
		assert_string_equal(q.name.text, want);
		assert_false(q.name.is_hostname);
	}
}

static void test_label_63_accepted(void **state)
{
	char l63[64];
	memset(l63, 'a', 63);
	l63[63] = '\0';
	char text[80];
	snprintf(text, sizeof(text), "%s.com", l63);
	struct msg m;
	query(&m, text, DNS_TYPE_A);
	struct dns_query q;
	assert_answerable(&m, &q);
	assert_string_equal(q.name.text, text);
}

/* 64 = 0x40: longer than 63, or read as the extended label type 01 (RFC 6891 §5). */
static void test_label_64_refused(void **state)
{
	char l64[65];
	memset(l64, 'a', 64);
	l64[64] = '\0';
	struct msg m;
	query(&m, l64, DNS_TYPE_A);
	assert_refused(&m, DNS_MSG_HEADER_ONLY, DNS_RCODE_FORMERR, DNS_MSG_ERR_LABEL_LENGTH);
}

static void test_extended_label_types_refused(void **state)
{
	static const uint8_t types[] = {0x41, 0x80, 0xbf};
	for (size_t i = 0; i < sizeof(types); i++) {
		struct msg m;
		header(&m, 1, 0x0100, 1, 0, 0, 0);
		put8(&m, types[i]);
		for (int k = 0; k < 200; k++)
			put8(&m, 'a');
		put8(&m, 0);
		put16(&m, 1);
		put16(&m, 1);
		assert_refused(&m, DNS_MSG_HEADER_ONLY, DNS_RCODE_FORMERR,
			       DNS_MSG_ERR_LABEL_LENGTH);
	}
}

/* A name of `wire` bytes: labels of 63, then one to make it up, then the root. */
static void long_name(char *text, size_t wire)
{
	size_t left = wire - 1, at = 0;
	while (left > 0) {
		size_t n = left - 1 > 63 ? 63 : left - 1;
		if (at > 0)
			text[at++] = '.';
		memset(text + at, 'x', n);
		at += n;
		left -= n + 1;
	}
	text[at] = '\0';
}

static void test_name_255_accepted(void **state)
{
	char text[300];
	long_name(text, 255);
	assert_int_equal(strlen(text), 253);
	struct msg m;
	query(&m, text, DNS_TYPE_A);
	struct dns_query q;
	assert_answerable(&m, &q);
	assert_int_equal(q.name.len, DNS_NAME_MAX);
	assert_string_equal(q.name.text, text);
	assert_int_equal(q.question.len, 255 + 4);
}

static void test_name_256_refused(void **state)
{
	char text[300];
	long_name(text, 256);
	assert_int_equal(strlen(text), 254);
	struct msg m;
	query(&m, text, DNS_TYPE_A);
	assert_refused(&m, DNS_MSG_HEADER_ONLY, DNS_RCODE_FORMERR, DNS_MSG_ERR_NAME_LENGTH);
}

/* 127 one-byte labels: 255 bytes of wire, the most labels a name can have. */
static void test_name_most_labels(void **state)
{
	char text[300];
	size_t at = 0;
	for (int i = 0; i < 127; i++) {
		if (i > 0)
			text[at++] = '.';
		text[at++] = 'a';
	}
	text[at] = '\0';
	struct msg m;
	query(&m, text, DNS_TYPE_A);
	struct dns_query q;
	assert_answerable(&m, &q);
	assert_int_equal(q.name.labels, 127);
	assert_int_equal(q.name.len, 253);
}

static void test_pointer_refused(void **state)
{
	struct msg m;
	/* the whole name a pointer to the header */
	header(&m, 1, 0x0100, 1, 0, 0, 0);
	put16(&m, 0xc00c);
	put16(&m, 1);
	put16(&m, 1);
	assert_refused(&m, DNS_MSG_HEADER_ONLY, DNS_RCODE_FORMERR, DNS_MSG_ERR_NAME_POINTER);
	/* a label, then a pointer back to it (a loop) */
	header(&m, 1, 0x0100, 1, 0, 0, 0);
	label(&m, "www", 3);
	put16(&m, 0xc00c);
	put16(&m, 1);
	put16(&m, 1);
	assert_refused(&m, DNS_MSG_HEADER_ONLY, DNS_RCODE_FORMERR, DNS_MSG_ERR_NAME_POINTER);
}

static void test_name_truncated(void **state)
{
	struct msg m;
	header(&m, 1, 0x0100, 1, 0, 0, 0);
	label(&m, "example", 7);
	assert_refused(&m, DNS_MSG_HEADER_ONLY, DNS_RCODE_FORMERR, DNS_MSG_ERR_NAME_TRUNCATED);
	header(&m, 1, 0x0100, 1, 0, 0, 0);
	put8(&m, 7);
	put(&m, "exa", 3);
	assert_refused(&m, DNS_MSG_HEADER_ONLY, DNS_RCODE_FORMERR, DNS_MSG_ERR_NAME_TRUNCATED);
	header(&m, 1, 0x0100, 1, 0, 0, 0);
	assert_refused(&m, DNS_MSG_HEADER_ONLY, DNS_RCODE_FORMERR, DNS_MSG_ERR_NAME_TRUNCATED);
}

static void test_question_truncated(void **state)
{
	struct msg m;
	header(&m, 1, 0x0100, 1, 0, 0, 0);
	name(&m, "example.com");
	put16(&m, 1);
	put8(&m, 0);
	assert_refused(&m, DNS_MSG_HEADER_ONLY, DNS_RCODE_FORMERR, DNS_MSG_ERR_QUESTION_TRUNCATED);
}

static void test_name_parse_alone(void **state)
{
	struct dns_name n;
	enum dns_msg_error error = DNS_MSG_ERR_NONE;
	assert_int_equal(dns_msg_name_parse(slice_make("\0junk", 5), &n, &error), 1);
	assert_int_equal(n.len, 0);
	assert_int_equal(dns_msg_name_parse(slice_make("\1A\2bC\0", 6), &n, &error), 6);
	assert_string_equal(n.text, "a.bc");
	assert_int_equal(n.labels, 2);
	assert_int_equal(dns_msg_name_parse(slice_make("", 0), &n, &error), -1);
	assert_int_equal(error, DNS_MSG_ERR_NAME_TRUNCATED);
}

/* ---- the header ---- */

static void test_short_header_dropped(void **state)
{
	struct msg m;
	query(&m, "example.com", DNS_TYPE_A);
	for (size_t len = 0; len < DNS_HEADER_LEN; len++) {
		struct dns_query q;
		assert_int_equal(dns_msg_parse(slice_make((const char *)m.b, len), &q),
				 DNS_MSG_DROP);
		assert_int_equal(q.error, DNS_MSG_ERR_SHORT);
	}
}

static void test_response_dropped(void **state)
{
	struct msg m;
	header(&m, 1, 0x8180, 1, 0, 0, 0);
	question(&m, "example.com", DNS_TYPE_A, DNS_CLASS_IN);
	assert_refused(&m, DNS_MSG_DROP, DNS_RCODE_FORMERR, DNS_MSG_ERR_RESPONSE);
}

/* Opcode 2 (STATUS), 4 (NOTIFY), 5 (UPDATE), 15: NOTIMP, whatever follows. */
static void test_opcode_notimp(void **state)
{
	static const unsigned opcodes[] = {1, 2, 4, 5, 15};
	for (size_t i = 0; i < sizeof(opcodes) / sizeof(opcodes[0]); i++) {
		struct msg m;
		header(&m, 9, 0x0100 | opcodes[i] << 11, 1, 0, 0, 0);
		question(&m, "example.com", DNS_TYPE_A, DNS_CLASS_IN);
		struct dns_query q;
		assert_refused(&m, DNS_MSG_HEADER_ONLY, DNS_RCODE_NOTIMP, DNS_MSG_ERR_OPCODE);
		parse(&m, &q);
		assert_int_equal(q.opcode, opcodes[i]);
		assert_int_equal(q.id, 9);
	}
}

static void test_tc_refused(void **state)
{
	struct msg m;
	header(&m, 1, 0x0300, 1, 0, 0, 0);
	question(&m, "example.com", DNS_TYPE_A, DNS_CLASS_IN);
	assert_refused(&m, DNS_MSG_HEADER_ONLY, DNS_RCODE_FORMERR, DNS_MSG_ERR_TRUNCATED_FLAG);
}

static void test_qdcount_0_refused(void **state)
{
	struct msg m;
	header(&m, 1, 0x0100, 0, 0, 0, 0);
	assert_refused(&m, DNS_MSG_HEADER_ONLY, DNS_RCODE_FORMERR, DNS_MSG_ERR_QDCOUNT);
}

static void test_qdcount_2_refused(void **state)
{
	struct msg m;
	header(&m, 1, 0x0100, 2, 0, 0, 0);
	question(&m, "allowed.example", DNS_TYPE_A, DNS_CLASS_IN);
	question(&m, "denied.example", DNS_TYPE_A, DNS_CLASS_IN);
	assert_refused(&m, DNS_MSG_HEADER_ONLY, DNS_RCODE_FORMERR, DNS_MSG_ERR_QDCOUNT);
}

static void test_answer_or_authority_refused(void **state)
{
	struct msg m;
	header(&m, 1, 0x0100, 1, 1, 0, 0);
	question(&m, "example.com", DNS_TYPE_A, DNS_CLASS_IN);
	assert_refused(&m, DNS_MSG_HEADER_ONLY, DNS_RCODE_FORMERR, DNS_MSG_ERR_ANCOUNT);
	header(&m, 1, 0x0100, 1, 0, 1, 0);
	question(&m, "example.com", DNS_TYPE_A, DNS_CLASS_IN);
	assert_refused(&m, DNS_MSG_HEADER_ONLY, DNS_RCODE_FORMERR, DNS_MSG_ERR_NSCOUNT);
}

/* RFC 6891 §6.1.1: more than one OPT is FORMERR. */
static void test_two_opt_refused(void **state)
{
	struct msg m;
	header(&m, 1, 0x0100, 1, 0, 0, 2);
	question(&m, "example.com", DNS_TYPE_A, DNS_CLASS_IN);
	opt(&m, 1232, 0, 0, NULL, 0);
	opt(&m, 1232, 0, 0, NULL, 0);
	assert_refused(&m, DNS_MSG_HEADER_ONLY, DNS_RCODE_FORMERR, DNS_MSG_ERR_ARCOUNT);
}

/* ---- after the question: FORMERR with the question echoed ---- */

static void test_trailing_bytes_refused(void **state)
{
	struct msg m;
	query(&m, "example.com", DNS_TYPE_A);
	put8(&m, 0);
	assert_refused(&m, DNS_MSG_QUESTION, DNS_RCODE_FORMERR, DNS_MSG_ERR_TRAILING);
	struct dns_query q;
	parse(&m, &q);
	assert_string_equal(q.name.text, "example.com");
	assert_int_equal(q.question.len, 17);
	/* after an OPT as well */
	header(&m, 1, 0x0100, 1, 0, 0, 1);
	question(&m, "example.com", DNS_TYPE_A, DNS_CLASS_IN);
	opt(&m, 1232, 0, 0, NULL, 0);
	put(&m, "junk", 4);
	assert_refused(&m, DNS_MSG_QUESTION, DNS_RCODE_FORMERR, DNS_MSG_ERR_TRAILING);
	parse(&m, &q);
	assert_true(q.has_edns);
}

/* ARCOUNT 1 but nothing there, or an OPT cut short. */
static void test_additional_missing_refused(void **state)
{
	struct msg m;
	header(&m, 1, 0x0100, 1, 0, 0, 1);
	question(&m, "example.com", DNS_TYPE_A, DNS_CLASS_IN);
	assert_refused(&m, DNS_MSG_QUESTION, DNS_RCODE_FORMERR, DNS_MSG_ERR_ADDITIONAL_MALFORMED);
	opt(&m, 1232, 0, 0, NULL, 0);
	m.len--;
	assert_refused(&m, DNS_MSG_QUESTION, DNS_RCODE_FORMERR, DNS_MSG_ERR_ADDITIONAL_MALFORMED);
}

static void test_additional_not_opt_refused(void **state)
{
	struct msg m;
	header(&m, 1, 0x0100, 1, 0, 0, 1);
	question(&m, "example.com", DNS_TYPE_A, DNS_CLASS_IN);
	/* an A record, its owner compressed to the question */
	put16(&m, 0xc00c);
	put16(&m, DNS_TYPE_A);
	put16(&m, DNS_CLASS_IN);
	put16(&m, 0);
	put16(&m, 60);
	put16(&m, 4);
	put(&m, "\x7f\0\0\1", 4);
	assert_refused(&m, DNS_MSG_QUESTION, DNS_RCODE_FORMERR, DNS_MSG_ERR_ADDITIONAL_NOT_OPT);
	struct dns_query q;
	parse(&m, &q);
	assert_false(q.has_edns);
}

/* RFC 6891 §6.1.2: OPT's owner is the root. The reply still carries an OPT (§7). */
static void test_opt_name_not_root_refused(void **state)
{
	struct msg m;
	header(&m, 1, 0x0100, 1, 0, 0, 1);
	question(&m, "example.com", DNS_TYPE_A, DNS_CLASS_IN);
	name(&m, "example.com");
	put16(&m, DNS_TYPE_OPT);
	put16(&m, 1232);
	put16(&m, 0);
	put16(&m, 0);
	put16(&m, 0);
	assert_refused(&m, DNS_MSG_QUESTION, DNS_RCODE_FORMERR, DNS_MSG_ERR_OPT_NAME);
	struct dns_query q;
	parse(&m, &q);
	assert_true(q.has_edns);
	/* a pointer as OPT's owner */
	header(&m, 1, 0x0100, 1, 0, 0, 1);
	question(&m, "example.com", DNS_TYPE_A, DNS_CLASS_IN);
	put16(&m, 0xc00c);
	put16(&m, DNS_TYPE_OPT);
	put16(&m, 1232);
	put16(&m, 0);
	put16(&m, 0);
	put16(&m, 0);
	assert_refused(&m, DNS_MSG_QUESTION, DNS_RCODE_FORMERR, DNS_MSG_ERR_OPT_NAME);
}

static void test_opt_options_malformed_refused(void **state)
{
	/* an option longer than the RDATA; three bytes left over */
	static const uint8_t over[] = {0, 10, 0, 9, 1, 2, 3, 4, 5, 6, 7, 8};
	static const uint8_t left[] = {0, 12, 0, 0, 0, 0, 0};
	struct msg m;
	header(&m, 1, 0x0100, 1, 0, 0, 1);
	question(&m, "example.com", DNS_TYPE_A, DNS_CLASS_IN);
	opt(&m, 1232, 0, 0, over, sizeof(over));
	assert_refused(&m, DNS_MSG_QUESTION, DNS_RCODE_FORMERR, DNS_MSG_ERR_OPT_OPTIONS);
	header(&m, 1, 0x0100, 1, 0, 0, 1);
	question(&m, "example.com", DNS_TYPE_A, DNS_CLASS_IN);
	opt(&m, 1232, 0, 0, left, sizeof(left));
	assert_refused(&m, DNS_MSG_QUESTION, DNS_RCODE_FORMERR, DNS_MSG_ERR_OPT_OPTIONS);
	/* RDLENGTH past the end of the message */
	header(&m, 1, 0x0100, 1, 0, 0, 1);
	question(&m, "example.com", DNS_TYPE_A, DNS_CLASS_IN);
	opt(&m, 1232, 0, 0, left, sizeof(left));
	m.len -= 2;
	assert_refused(&m, DNS_MSG_QUESTION, DNS_RCODE_FORMERR, DNS_MSG_ERR_ADDITIONAL_MALFORMED);
}

/* RFC 6891 §6.1.3: a version sluice does not implement is BADVERS. */
static void test_edns_version_1_badvers(void **state)
{
	struct msg m;
	header(&m, 1, 0x0100, 1, 0, 0, 1);
	question(&m, "example.com", DNS_TYPE_A, DNS_CLASS_IN);
	opt(&m, 1232, 1, 0x8000, NULL, 0);
	assert_refused(&m, DNS_MSG_QUESTION, DNS_RCODE_BADVERS, DNS_MSG_ERR_BADVERS);
	struct dns_query q;
	parse(&m, &q);
	assert_true(q.has_edns);
	assert_int_equal(q.edns_version, 1);
	assert_true(q.edns_do);
}

static void test_qclass_not_in_refused(void **state)
{
	static const unsigned classes[] = {
	    DNS_CLASS_CH, DNS_CLASS_HS, DNS_CLASS_NONE, DNS_CLASS_ANY, 0, 2};
	for (size_t i = 0; i < sizeof(classes) / sizeof(classes[0]); i++) {
		struct msg m;
		header(&m, 1, 0x0100, 1, 0, 0, 0);
		question(&m, "version.bind", DNS_TYPE_TXT, classes[i]);
		assert_refused(&m, DNS_MSG_QUESTION, DNS_RCODE_REFUSED, DNS_MSG_ERR_QCLASS);
	}
}

/* A malformed message is FORMERR before a version or a class is looked at. */
static void test_refusal_precedence(void **state)
{
	struct msg m;
	header(&m, 1, 0x0100, 1, 0, 0, 1);
	question(&m, "example.com", DNS_TYPE_A, DNS_CLASS_CH);
	opt(&m, 1232, 1, 0, NULL, 0);
	assert_refused(&m, DNS_MSG_QUESTION, DNS_RCODE_BADVERS, DNS_MSG_ERR_BADVERS);
	put8(&m, 0);
	assert_refused(&m, DNS_MSG_QUESTION, DNS_RCODE_FORMERR, DNS_MSG_ERR_TRAILING);
	/* opcode before everything the header says */
	header(&m, 1, 0x1300, 0, 1, 1, 5);
	assert_refused(&m, DNS_MSG_HEADER_ONLY, DNS_RCODE_NOTIMP, DNS_MSG_ERR_OPCODE);
	header(&m, 1, 0x9300, 0, 1, 1, 5);
	assert_refused(&m, DNS_MSG_DROP, DNS_RCODE_FORMERR, DNS_MSG_ERR_RESPONSE);
}

/* The type is for policy to judge: any number is read. */
static void test_any_qtype_read(void **state)
{
	static const unsigned types[] = {DNS_TYPE_ANY, DNS_TYPE_AXFR, 0, 65535, DNS_TYPE_OPT};
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		struct msg m;
		query(&m, "example.com", types[i]);
		struct dns_query q;
		assert_answerable(&m, &q);
		assert_int_equal(q.qtype, types[i]);
	}
}

/* ---- TCP framing ---- */

static void test_tcp_frame(void **state)
{
	struct slice msg;
	uint8_t in[] = {0, 3, 'a', 'b', 'c', 0, 0, 0, 1};
	const char *p = (const char *)in;
	assert_int_equal(dns_msg_tcp_frame(slice_make(p, 0), &msg), 0);
	assert_int_equal(dns_msg_tcp_frame(slice_make(p, 1), &msg), 0);
	assert_int_equal(dns_msg_tcp_frame(slice_make(p, 4), &msg), 0);
	assert_int_equal(dns_msg_tcp_frame(slice_make(p, sizeof(in)), &msg), 5);
	assert_ptr_equal(msg.ptr, p + 2);
	assert_int_equal(msg.len, 3);
	/* an empty message is a frame too: dns_msg_parse drops it */
	assert_int_equal(dns_msg_tcp_frame(slice_make(p + 5, 4), &msg), 2);
	assert_int_equal(msg.len, 0);
	assert_int_equal(dns_msg_tcp_frame(slice_make(p + 7, 2), &msg), 0);
}

static void test_error_names_distinct(void **state)
{
	const char *seen[DNS_MSG_ERR_QCLASS + 1];
	for (int e = 0; e <= DNS_MSG_ERR_QCLASS; e++) {
		seen[e] = dns_msg_error_name((enum dns_msg_error)e);
		assert_string_not_equal(seen[e], "unknown");
		for (int k = 0; k < e; k++)
			assert_string_not_equal(seen[e], seen[k]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_dig_query),
	    cmocka_unit_test(test_dig_dnssec_cd),
	    cmocka_unit_test(test_plain_query),
	    cmocka_unit_test(test_cookie_lengths_accepted),
	    cmocka_unit_test(test_cookie_bad_lengths_refused),
	    cmocka_unit_test(test_other_options_ignored),
	    cmocka_unit_test(test_reserved_bits_ignored),
	    cmocka_unit_test(test_small_udp_size_kept),
	    cmocka_unit_test(test_name_lower_cased),
	    cmocka_unit_test(test_name_underscore_and_hyphen),
	    cmocka_unit_test(test_root_name),
	    cmocka_unit_test(test_label_with_dot_not_hostname),
	    cmocka_unit_test(test_label_odd_bytes_not_hostname),
	    cmocka_unit_test(test_label_63_accepted),
	    cmocka_unit_test(test_label_64_refused),
	    cmocka_unit_test(test_extended_label_types_refused),
	    cmocka_unit_test(test_name_255_accepted),
	    cmocka_unit_test(test_name_256_refused),
	    cmocka_unit_test(test_name_most_labels),
	    cmocka_unit_test(test_pointer_refused),
	    cmocka_unit_test(test_name_truncated),
	    cmocka_unit_test(test_question_truncated),
	    cmocka_unit_test(test_name_parse_alone),
	    cmocka_unit_test(test_short_header_dropped),
	    cmocka_unit_test(test_response_dropped),
	    cmocka_unit_test(test_opcode_notimp),
	    cmocka_unit_test(test_tc_refused),
	    cmocka_unit_test(test_qdcount_0_refused),
	    cmocka_unit_test(test_qdcount_2_refused),
	    cmocka_unit_test(test_answer_or_authority_refused),
	    cmocka_unit_test(test_two_opt_refused),
	    cmocka_unit_test(test_trailing_bytes_refused),
	    cmocka_unit_test(test_additional_missing_refused),
	    cmocka_unit_test(test_additional_not_opt_refused),
	    cmocka_unit_test(test_opt_name_not_root_refused),
	    cmocka_unit_test(test_opt_options_malformed_refused),
	    cmocka_unit_test(test_edns_version_1_badvers),
	    cmocka_unit_test(test_qclass_not_in_refused),
	    cmocka_unit_test(test_refusal_precedence),
	    cmocka_unit_test(test_any_qtype_read),
	    cmocka_unit_test(test_tcp_frame),
	    cmocka_unit_test(test_error_names_distinct),
	};
	return cmocka_run_group_tests(tests, 0, 0);
}
