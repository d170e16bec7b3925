/* Tests src/emit/dns_reply.c: replies decoded back by a small decoder of the test's own (names
 * with pointers, every section, the OPT), the header bits, the question echoed as sent, name
 * compression, TC and the size limits, BADVERS in the OPT, header-only errors, and host names as
 * text to wire. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "emit/dns_reply.h"
#include "parse/dns_type.h"

/* ---- a response decoder, independent of the code under test ---- */

struct rr {
	char owner[300];
	size_t owner_at, owner_wire; /* where the owner is, and its bytes there */
	uint16_t type, class;
	uint32_t ttl;
	const uint8_t *rdata;
	size_t rdata_at;
	uint16_t rdlen;
};

struct decoded {
	uint16_t id;
	uint8_t b2, b3;
	uint16_t qd, an, ns, ar;
	size_t question_len;
	char qname[300];
	struct rr rr[4200];
	unsigned n_rr;
	bool has_opt;
	uint16_t opt_size, opt_flags, opt_rdlen;
	uint8_t opt_ext, opt_version;
};

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* A name at m[at], pointers followed (each strictly backwards). Returns its bytes at m[at]. */
static size_t read_name(const uint8_t *m, size_t len, size_t at, char *text)
{
	size_t taken = 0, out = 0, limit = at;
	bool jumped = false;
	for (;;) {
		assert_true(at < len);
		uint8_t n = m[at];
		if ((n & 0xc0) == 0xc0) {
			assert_true(at + 1 < len);
			size_t to = (size_t)(n & 0x3f) << 8 | m[at + 1];
			assert_true(to < limit);
			if (!jumped)
				taken += 2;
			jumped = true;
			at = limit = to;
			continue;
		}
		assert_true(n <= 63);
		if (!jumped)
			taken += 1 + n;
		if (n == 0)
			break;
		assert_true(at + 1 + n <= len);
		if (out > 0)
			text[out++] = '.';
		memcpy(text + out, m + at + 1, n);
		out += n;
		at += 1 + n;
		assert_true(out < 256);
	}
	text[out] = '\0';
	return taken;
}

static void decode(const uint8_t *m, size_t len, struct decoded *d)
{
	memset(d, 0, sizeof(*d));
	assert_true(len >= 12);
	d->id = get16(m);
	d->b2 = m[2];
	d->b3 = m[3];
	d->qd = get16(m + 4);
	d->an = get16(m + 6);
	d->ns = get16(m + 8);
	d->ar = get16(m + 10);
	size_t at = 12;
	assert_true(d->qd <= 1);
	if (d->qd == 1) {
		at += read_name(m, len, at, d->qname);
		at += 4;
		d->question_len = at - 12;
	}
	for (unsigned i = 0; i < (unsigned)d->an + d->ns + d->ar; i++) {
		struct rr *r = &d->rr[d->n_rr++];
		r->owner_at = at;
		r->owner_wire = read_name(m, len, at, r->owner);
		at += r->owner_wire;
		assert_true(at + 10 <= len);
		r->type = get16(m + at);
		r->class = get16(m + at + 2);
		r->ttl = (uint32_t)get16(m + at + 4) << 16 | get16(m + at + 6);
		r->rdlen = get16(m + at + 8);
		at += 10;
		assert_true(at + r->rdlen <= len);
		r->rdata = m + at;
		r->rdata_at = at;
		at += r->rdlen;
		if (r->type == DNS_TYPE_OPT) {
			assert_false(d->has_opt);
			assert_true(i >= (unsigned)d->an + d->ns);
			assert_string_equal(r->owner, "");
			d->has_opt = true;
			d->opt_size = r->class;
			d->opt_ext = (uint8_t)(r->ttl >> 24);
			d->opt_version = (uint8_t)(r->ttl >> 16);
			d->opt_flags = (uint16_t)r->ttl;
			d->opt_rdlen = r->rdlen;
		}
	}
	assert_int_equal(at, len);
}

/* ---- queries ---- */

struct query {
	uint8_t b[600];
	size_t len;
	struct dns_query q;
};

/* A query for name (dotted, any case) and type; with EDNS when udp > 0. */
static void make_query(struct query *qm, const char *name, unsigned type, unsigned udp,
		       unsigned flags)
{
	uint8_t *b = qm->b;
	size_t at = 12;
	memset(b, 0, 12);
	b[0] = 0xbe;
	b[1] = 0xef;
	b[2] = (uint8_t)(flags >> 8);
	b[3] = (uint8_t)flags;
	b[5] = 1;
	b[11] = udp > 0;
	const char *p = name;
	while (*p) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);
		b[at++] = (uint8_t)n;
		memcpy(b + at, p, n);
		at += n;
		p += n + (dot ? 1 : 0);
	}
	b[at++] = 0;
	b[at++] = (uint8_t)(type >> 8);
	b[at++] = (uint8_t)type;
	b[at++] = 0;
	b[at++] = 1;
	if (udp > 0) {
		uint8_t o[11] = {0, 0, 41, (uint8_t)(udp >> 8), (uint8_t)udp, 0, 0, 0, 0, 0, 0};
		if (flags & 0x10000)
			o[6] = 1; /* version 1 */
		if (flags & 0x20000)
			o[7] = 0x80; /* DO */
		memcpy(b + at, o, sizeof(o));
		at += sizeof(o);
	}
	qm->len = at;
	enum dns_msg_status st = dns_msg_parse(slice_make((const char *)b, at), &qm->q);
	assert_int_equal(st, DNS_MSG_QUESTION);
}

static const uint8_t v4_a[4] = {192, 0, 2, 1};
static const uint8_t v4_b[4] = {198, 51, 100, 7};
static const uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};

static uint8_t out[DNS_REPLY_TCP_MAX];

/* ---- replies ---- */

static void test_a_round_trip(void **state)
{
	struct query qm;
	make_query(&qm, "example.com", DNS_TYPE_A, 1232, 0x0120 | 0x20000);
	struct dns_reply r;
	dns_reply_init(&r, out, sizeof(out), DNS_REPLY_EDNS_SIZE, &qm.q, DNS_RCODE_NOERROR);
	assert_true(dns_reply_add_a(&r, DNS_REPLY_QNAME, 300, v4_a));
	assert_true(dns_reply_add_a(&r, SLICE_LIT("example.com"), 300, v4_b));
	size_t len = dns_reply_finish(&r);

	static struct decoded d;
	decode(out, len, &d);
	assert_int_equal(d.id, 0xbeef);
	assert_int_equal(d.b2, 0x81); /* QR, opcode 0, AA 0, TC 0, RD */
	assert_int_equal(d.b3, 0x80); /* RA, Z 0, AD 0, CD 0, NOERROR */
	assert_int_equal(d.qd, 1);
	assert_int_equal(d.an, 2);
	assert_int_equal(d.ns, 0);
	assert_int_equal(d.ar, 1);
	assert_memory_equal(out + 12, qm.q.question.ptr, qm.q.question.len);
	for (int i = 0; i < 2; i++) {
		assert_string_equal(d.rr[i].owner, "example.com");
		/* both owners are a pointer to the question's name */
		assert_int_equal(d.rr[i].owner_wire, 2);
		assert_int_equal(get16(out + d.rr[i].owner_at), 0xc00c);
		assert_int_equal(d.rr[i].type, DNS_TYPE_A);
		assert_int_equal(d.rr[i].class, DNS_CLASS_IN);
		assert_int_equal(d.rr[i].ttl, 300);
		assert_int_equal(d.rr[i].rdlen, 4);
	}
	assert_memory_equal(d.rr[0].rdata, v4_a, 4);
	assert_memory_equal(d.rr[1].rdata, v4_b, 4);
	assert_true(d.has_opt);
	assert_int_equal(d.opt_size, DNS_REPLY_EDNS_SIZE);
	assert_int_equal(d.opt_version, 0);
	assert_int_equal(d.opt_ext, 0);
	assert_int_equal(d.opt_flags, 0x8000); /* DO copied (RFC 3225 §3) */
	assert_int_equal(d.opt_rdlen, 0);
}

static void test_no_opt_without_edns(void **state)
{
	struct query qm;
	make_query(&qm, "example.com", DNS_TYPE_AAAA, 0, 0x0000);
	struct dns_reply r;
	dns_reply_init(&r, out, sizeof(out), DNS_REPLY_UDP_MAX, &qm.q, DNS_RCODE_NOERROR);
	assert_true(dns_reply_add_aaaa(&r, DNS_REPLY_QNAME, 60, v6));
	size_t len = dns_reply_finish(&r);
	static struct decoded d;
	decode(out, len, &d);
	assert_int_equal(d.ar, 0);
	assert_false(d.has_opt);
	assert_int_equal(d.b2, 0x80); /* no RD asked, none copied */
	assert_int_equal(d.rr[0].type, DNS_TYPE_AAAA);
	assert_memory_equal(d.rr[0].rdata, v6, 16);
	assert_int_equal(len, 12 + 17 + 2 + 10 + 16);
}

/* The question goes back as the client spelled it (RFC 5452 §9.1); an owner spelled in another
 * case is still the question's name. */
static void test_question_echoed_as_sent(void **state)
{
	struct query qm;
	make_query(&qm, "WwW.eXaMpLe.CoM", DNS_TYPE_A, 0, 0x0100);
	struct dns_reply r;
	dns_reply_init(&r, out, sizeof(out), DNS_REPLY_UDP_MAX, &qm.q, DNS_RCODE_NOERROR);
	assert_true(dns_reply_add_a(&r, SLICE_LIT("www.example.com."), 1, v4_a));
	size_t len = dns_reply_finish(&r);
	static struct decoded d;
	decode(out, len, &d);
	assert_string_equal(d.qname, "WwW.eXaMpLe.CoM");
	assert_int_equal(get16(out + d.rr[0].owner_at), 0xc00c);
}

/* A CNAME chain: each name after its first appearance is a pointer. */
static void test_cname_chain_compressed(void **state)
{
	struct query qm;
	make_query(&qm, "www.example.com", DNS_TYPE_A, 1232, 0x0100);
	struct dns_reply r;
	dns_reply_init(&r, out, sizeof(out), 1232, &qm.q, DNS_RCODE_NOERROR);
	assert_true(dns_reply_add_cname(&r, DNS_REPLY_QNAME, 60, SLICE_LIT("edge.cdn.example")));
	assert_true(dns_reply_add_cname(&r, SLICE_LIT("edge.cdn.example"), 60,
					SLICE_LIT("Node7.CDN.example.")));
	assert_true(dns_reply_add_a(&r, SLICE_LIT("node7.cdn.example"), 20, v4_a));
	assert_true(dns_reply_add_aaaa(&r, SLICE_LIT("node7.cdn.example"), 20, v6));
	size_t len = dns_reply_finish(&r);
	static struct decoded d;
	decode(out, len, &d);
	assert_int_equal(d.an, 4);
	assert_string_equal(d.rr[0].owner, "www.example.com");
	assert_int_equal(d.rr[0].type, DNS_TYPE_CNAME);
	char target[300];
	read_name(out, len, d.rr[0].rdata_at, target);
	assert_string_equal(target, "edge.cdn.example");
	assert_int_equal(d.rr[0].rdlen, 18); /* written out: its first appearance */
	assert_string_equal(d.rr[1].owner, "edge.cdn.example");
	assert_int_equal(d.rr[1].owner_wire, 2);
	assert_int_equal(get16(out + d.rr[1].owner_at), 0xc000 | d.rr[0].rdata_at);
	read_name(out, len, d.rr[1].rdata_at, target);
	assert_string_equal(target, "node7.cdn.example"); /* lower-cased */
	for (int i = 2; i < 4; i++) {
		assert_string_equal(d.rr[i].owner, "node7.cdn.example");
		assert_int_equal(get16(out + d.rr[i].owner_at), 0xc000 | d.rr[1].rdata_at);
	}
}

/* A CNAME whose target is the question's name points at it in its RDATA. */
static void test_cname_target_compressed(void **state)
{
	struct query qm;
	make_query(&qm, "a.example", DNS_TYPE_A, 0, 0x0100);
	struct dns_reply r;
	dns_reply_init(&r, out, sizeof(out), 512, &qm.q, DNS_RCODE_NOERROR);
	assert_true(dns_reply_add_cname(&r, SLICE_LIT("b.example"), 5, SLICE_LIT("a.example")));
	assert_true(dns_reply_add_cname(&r, SLICE_LIT("c.example"), 5, SLICE_LIT("c.example")));
	size_t len = dns_reply_finish(&r);
	static struct decoded d;
	decode(out, len, &d);
	assert_int_equal(d.rr[0].rdlen, 2);
	assert_int_equal(get16(d.rr[0].rdata), 0xc00c);
	/* a loop, but well-formed: the target points at the owner just written */
	assert_int_equal(d.rr[1].rdlen, 2);
	assert_int_equal(get16(d.rr[1].rdata), 0xc000 | d.rr[1].owner_at);
}

static void test_https_rdata(void **state)
{
	/* RFC 9460 Appendix D.2: 1 . alpn=h2 */
	static const uint8_t rdata[] = {0, 1, 0, 0, 1, 0, 3, 2, 'h', '2'};
	struct query qm;
	make_query(&qm, "example.com", DNS_TYPE_HTTPS, 1232, 0x0100);
	struct dns_reply r;
	dns_reply_init(&r, out, sizeof(out), 1232, &qm.q, DNS_RCODE_NOERROR);
	assert_true(
	    dns_reply_add_rdata(&r, DNS_REPLY_QNAME, DNS_TYPE_HTTPS, 3600, rdata, sizeof(rdata)));
	assert_true(dns_reply_add_rdata(&r, DNS_REPLY_QNAME, 0xff00, 1, NULL, 0));
	size_t len = dns_reply_finish(&r);
	static struct decoded d;
	decode(out, len, &d);
	assert_int_equal(d.rr[0].type, DNS_TYPE_HTTPS);
	assert_int_equal(d.rr[0].rdlen, sizeof(rdata));
	assert_memory_equal(d.rr[0].rdata, rdata, sizeof(rdata));
	assert_int_equal(d.rr[1].type, 0xff00);
	assert_int_equal(d.rr[1].rdlen, 0);
}

/* RFC 2181 §8: TTLs are 31 bits. */
static void test_ttl_clamped(void **state)
{
	struct query qm;
	make_query(&qm, "example.com", DNS_TYPE_A, 0, 0);
	struct dns_reply r;
	dns_reply_init(&r, out, sizeof(out), 512, &qm.q, DNS_RCODE_NOERROR);
	assert_true(dns_reply_add_a(&r, DNS_REPLY_QNAME, 0xffffffffu, v4_a));
	assert_true(dns_reply_add_a(&r, DNS_REPLY_QNAME, 0x7fffffffu, v4_a));
	size_t len = dns_reply_finish(&r);
	static struct decoded d;
	decode(out, len, &d);
	assert_int_equal(d.rr[0].ttl, 0x7fffffffu);
	assert_int_equal(d.rr[1].ttl, 0x7fffffffu);
}

static void test_invalid_names_refused(void **state)
{
	struct query qm;
	make_query(&qm, "example.com", DNS_TYPE_A, 0, 0);
	struct dns_reply r;
	dns_reply_init(&r, out, sizeof(out), 512, &qm.q, DNS_RCODE_NOERROR);
	assert_false(dns_reply_add_a(&r, SLICE_LIT("bad name"), 1, v4_a));
	assert_false(dns_reply_add_cname(&r, DNS_REPLY_QNAME, 1, SLICE_LIT("a..b")));
	assert_false(dns_reply_add_cname(&r, DNS_REPLY_QNAME, 1, DNS_REPLY_QNAME));
	assert_false(dns_reply_add_rdata(&r, DNS_REPLY_QNAME, 1, 1, out, 65536));
	/* nothing was written, and the reply is not truncated */
	assert_false(r.truncated);
	assert_true(dns_reply_add_a(&r, DNS_REPLY_QNAME, 1, v4_a));
	size_t len = dns_reply_finish(&r);
	static struct decoded d;
	decode(out, len, &d);
	assert_int_equal(d.an, 1);
	assert_int_equal(d.b2 & 0x02, 0);
}

/* RFC 1035 §4.2.1 and RFC 2181 §9: over 512 bytes, TC and no answers. */
static void test_tc_over_512(void **state)
{
	struct query qm;
	make_query(&qm, "example.com", DNS_TYPE_A, 0, 0x0100);
	struct dns_reply r;
	dns_reply_init(&r, out, sizeof(out), dns_reply_udp_limit(&qm.q, 1232), &qm.q,
		       DNS_RCODE_NOERROR);
	/* 12 + 17 of header and question, 16 per record: 30 fit, the 31st does not */
	int added = 0;
	for (int i = 0; i < 40; i++)
		added += dns_reply_add_a(&r, DNS_REPLY_QNAME, 60, v4_a);
	assert_int_equal(added, 30);
	assert_true(r.truncated);
	size_t len = dns_reply_finish(&r);
	assert_int_equal(len, 12 + 17);
	static struct decoded d;
	decode(out, len, &d);
	assert_int_equal(d.b2, 0x83); /* QR, TC, RD */
	assert_int_equal(d.an, 0);
	assert_int_equal(d.qd, 1);
}

/* The same answers fit over TCP. */
static void test_tcp_limit(void **state)
{
	struct query qm;
	make_query(&qm, "example.com", DNS_TYPE_A, 0, 0x0100);
	struct dns_reply r;
	dns_reply_init(&r, out, sizeof(out), DNS_REPLY_TCP_MAX, &qm.q, DNS_RCODE_NOERROR);
	for (int i = 0; i < 4000; i++)
		assert_true(dns_reply_add_a(&r, DNS_REPLY_QNAME, 60, v4_a));
	size_t len = dns_reply_finish(&r);
	assert_int_equal(len, 12 + 17 + 4000 * 16);
	static struct decoded d;
	decode(out, len, &d);
	assert_int_equal(d.an, 4000);
	assert_int_equal(d.b2 & 0x02, 0);
}

/* A reply of exactly `limit` bytes is whole; one byte more is truncated. The OPT's 11 bytes
 * count, and are kept when the answers go. */
static void test_limit_exact_with_opt(void **state)
{
	struct query qm;
	make_query(&qm, "example.com", DNS_TYPE_HTTPS, 512, 0x0100);
	size_t limit = dns_reply_udp_limit(&qm.q, 1232);
	assert_int_equal(limit, 512);
	size_t fixed = 12 + 17 + 11 + 2 + 10;
	uint8_t rdata[512] = {0};
	struct dns_reply r;
	dns_reply_init(&r, out, sizeof(out), limit, &qm.q, DNS_RCODE_NOERROR);
	assert_true(
	    dns_reply_add_rdata(&r, DNS_REPLY_QNAME, DNS_TYPE_HTTPS, 1, rdata, limit - fixed));
	size_t len = dns_reply_finish(&r);
	assert_int_equal(len, limit);
	static struct decoded d;
	decode(out, len, &d);
	assert_int_equal(d.an, 1);
	assert_true(d.has_opt);

	dns_reply_init(&r, out, sizeof(out), limit, &qm.q, DNS_RCODE_NOERROR);
	assert_false(
	    dns_reply_add_rdata(&r, DNS_REPLY_QNAME, DNS_TYPE_HTTPS, 1, rdata, limit - fixed + 1));
	len = dns_reply_finish(&r);
	assert_int_equal(len, 12 + 17 + 11);
	decode(out, len, &d);
	assert_int_equal(d.an, 0);
	assert_int_equal(d.b2 & 0x02, 0x02);
	assert_true(d.has_opt);
	assert_int_equal(d.ar, 1);
}

/* After a truncation nothing more is added, even what would fit. */
static void test_truncated_takes_nothing_more(void **state)
{
	struct query qm;
	make_query(&qm, "example.com", DNS_TYPE_A, 0, 0);
	uint8_t big[600] = {0};
	struct dns_reply r;
	dns_reply_init(&r, out, sizeof(out), 512, &qm.q, DNS_RCODE_NOERROR);
	assert_true(dns_reply_add_cname(&r, DNS_REPLY_QNAME, 1, SLICE_LIT("x.example")));
	assert_false(dns_reply_add_rdata(&r, DNS_REPLY_QNAME, 99, 1, big, sizeof(big)));
	assert_false(dns_reply_add_a(&r, SLICE_LIT("x.example"), 1, v4_a));
	size_t len = dns_reply_finish(&r);
	assert_int_equal(len, 12 + 17);
	static struct decoded d;
	decode(out, len, &d);
	assert_int_equal(d.an, 0);
}

/* RFC 6891 §6.1.3: BADVERS is 16: 0 in the header, 1 in the OPT's extended rcode. */
static void test_badvers(void **state)
{
	struct query qm;
	make_query(&qm, "example.com", DNS_TYPE_A, 1232, 0x0100 | 0x10000);
	assert_int_equal(qm.q.rcode, DNS_RCODE_BADVERS);
	struct dns_reply r;
	dns_reply_init(&r, out, sizeof(out), 512, &qm.q, qm.q.rcode);
	size_t len = dns_reply_finish(&r);
	static struct decoded d;
	decode(out, len, &d);
	assert_int_equal(d.b3 & 0x0f, 0);
	assert_true(d.has_opt);
	assert_int_equal(d.opt_ext, 1);
	assert_int_equal(d.opt_version, 0);
	assert_int_equal(d.qd, 1);
}

static void test_nxdomain_refused_and_cd(void **state)
{
	struct query qm;
	make_query(&qm, "blocked.example", DNS_TYPE_A, 0, 0x0110);
	struct dns_reply r;
	dns_reply_init(&r, out, sizeof(out), 512, &qm.q, DNS_RCODE_NXDOMAIN);
	size_t len = dns_reply_finish(&r);
	static struct decoded d;
	decode(out, len, &d);
	assert_int_equal(d.b3, 0x80 | 0x10 | DNS_RCODE_NXDOMAIN); /* RA, CD copied */
	assert_int_equal(d.an, 0);
	assert_int_equal(len, 12 + qm.q.question.len);
	dns_reply_init(&r, out, sizeof(out), 512, &qm.q, DNS_RCODE_REFUSED);
	decode(out, dns_reply_finish(&r), &d);
	assert_int_equal(d.b3 & 0x0f, DNS_RCODE_REFUSED);
}

/* The reply to a question whose OPT was malformed carries an OPT (RFC 6891 §7). */
static void test_formerr_keeps_opt(void **state)
{
	static const uint8_t msg[] = {0, 1, 1, 0, 0,  1, 0, 0, 0, 0, 0, 1, 1, 'a', 0,  0, 1,
				      0, 1, 0, 0, 41, 4, 0, 0, 0, 0, 0, 0, 3, 0,   10, 0};
	struct dns_query q;
	assert_int_equal(dns_msg_parse(slice_make((const char *)msg, sizeof(msg)), &q),
			 DNS_MSG_QUESTION);
	assert_int_equal(q.rcode, DNS_RCODE_FORMERR);
	struct dns_reply r;
	dns_reply_init(&r, out, sizeof(out), dns_reply_udp_limit(&q, 1232), &q, q.rcode);
	size_t len = dns_reply_finish(&r);
	static struct decoded d;
	decode(out, len, &d);
	assert_int_equal(d.b3 & 0x0f, DNS_RCODE_FORMERR);
	assert_true(d.has_opt);
	assert_int_equal(d.opt_ext, 0);
}

/* ---- header-only errors ---- */

static void test_error_header_only(void **state)
{
	/* opcode 2 (STATUS), RD and CD set, whatever follows */
	static const uint8_t msg[] = {0x12, 0x34, 0x11, 0x10, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 0x0c};
	uint8_t b[12];
	struct dns_query q;
	assert_int_equal(dns_msg_parse(slice_make((const char *)msg, sizeof(msg)), &q),
			 DNS_MSG_HEADER_ONLY);
	assert_int_equal(q.rcode, DNS_RCODE_NOTIMP);
	assert_int_equal(
	    dns_reply_error(b, sizeof(b), slice_make((const char *)msg, sizeof(msg)), q.rcode), 12);
	static struct decoded d;
	decode(b, 12, &d);
	assert_int_equal(d.id, 0x1234);
	assert_int_equal(d.b2, 0x80 | 2 << 3 | 0x01);
	assert_int_equal(d.b3, 0x80 | 0x10 | DNS_RCODE_NOTIMP);
	assert_int_equal(d.qd + d.an + d.ns + d.ar, 0);
}

static void test_error_formerr_no_question(void **state)
{
	static const uint8_t msg[] = {0xab, 0xcd, 0x01, 0x00, 0, 2, 0, 0, 0, 0, 0, 0};
	uint8_t b[16];
	assert_int_equal(
	    dns_reply_error(b, sizeof(b), slice_make((const char *)msg, sizeof(msg)), 1), 12);
	static const uint8_t want[] = {0xab, 0xcd, 0x81, 0x81, 0, 0, 0, 0, 0, 0, 0, 0};
	assert_memory_equal(b, want, 12);
}

static void test_error_short_message(void **state)
{
	uint8_t b[12];
	assert_int_equal(dns_reply_error(b, sizeof(b), slice_make("\1\2\3", 3), 1), 0);
}

/* ---- limits and names ---- */

static void test_udp_limit(void **state)
{
	struct query qm;
	make_query(&qm, "example.com", DNS_TYPE_A, 0, 0);
	assert_int_equal(dns_reply_udp_limit(&qm.q, 1232), 512);
	make_query(&qm, "example.com", DNS_TYPE_A, 4096, 0);
	assert_int_equal(dns_reply_udp_limit(&qm.q, 1232), 1232);
	assert_int_equal(dns_reply_udp_limit(&qm.q, 8192), 4096);
	make_query(&qm, "example.com", DNS_TYPE_A, 1000, 0);
	assert_int_equal(dns_reply_udp_limit(&qm.q, 1232), 1000);
	make_query(&qm, "example.com", DNS_TYPE_A, 100, 0);
	assert_int_equal(dns_reply_udp_limit(&qm.q, 1232), 512); /* RFC 6891 §6.2.5 */
}

static void test_name_format(void **state)
{
	uint8_t w[DNS_NAME_WIRE_MAX];
	assert_int_equal(dns_reply_name_format(SLICE_LIT("Example.COM"), w), 13);
	assert_memory_equal(w, "\7example\3com\0", 13);
	assert_int_equal(dns_reply_name_format(SLICE_LIT("a."), w), 3);
	assert_int_equal(dns_reply_name_format(SLICE_LIT("_srv._tcp.x-y.example"), w), 23);

	char text[300];
	memset(text, 'a', sizeof(text));
	for (size_t i = 63; i < 253; i += 64)
		text[i] = '.';
	/* 253 characters: 255 bytes of wire */
	assert_int_equal(dns_reply_name_format(slice_make(text, 253), w), 255);
	assert_int_equal(dns_reply_name_format(slice_make(text, 254), w), -1);
	assert_int_equal(dns_reply_name_format(slice_make(text, 63), w), 65);
	assert_int_equal(dns_reply_name_format(slice_make(text + 64, 64), w), 65); /* "a...a." */
	memset(text, 'a', 64);
	assert_int_equal(dns_reply_name_format(slice_make(text, 64), w), -1);

	static const char *bad[] = {"",	   ".",	    "..",	   "a..b", ".a",
				    "a b", "a\\.b", "caf\xc3\xa9", "a..",  "*.example"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (dns_reply_name_format(slice_from_cstr(bad[i]), w) != -1)
			fail_msg("\"%s\" accepted", bad[i]);
	assert_int_equal(dns_reply_name_format(slice_make("a\0b", 3), w), -1);
}

/* The longest question and a long owner still leave room for the OPT in 512 bytes. */
static void test_longest_question(void **state)
{
	char text[300];
	memset(text, 'q', sizeof(text));
	for (size_t i = 63; i < 253; i += 64)
		text[i] = '.';
	text[253] = '\0';
	struct query qm;
	make_query(&qm, text, DNS_TYPE_A, 512, 0x0100);
	assert_int_equal(qm.q.question.len, 259);
	struct dns_reply r;
	dns_reply_init(&r, out, sizeof(out), 512, &qm.q, DNS_RCODE_NOERROR);
	text[0] = 'z';
	assert_true(dns_reply_add_cname(&r, DNS_REPLY_QNAME, 1, SLICE_LIT("z.example")));
	/* 271 + 23 so far, 11 kept for the OPT: an owner of 255 bytes does not fit */
	assert_false(dns_reply_add_a(&r, slice_from_cstr(text), 1, v4_a));
	size_t len = dns_reply_finish(&r);
	assert_true(len <= 512);
	static struct decoded d;
	decode(out, len, &d);
	assert_int_equal(d.b2 & 0x02, 0x02);
	assert_true(d.has_opt);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_a_round_trip),
	    cmocka_unit_test(test_no_opt_without_edns),
	    cmocka_unit_test(test_question_echoed_as_sent),
	    cmocka_unit_test(test_cname_chain_compressed),
	    cmocka_unit_test(test_cname_target_compressed),
	    cmocka_unit_test(test_https_rdata),
	    cmocka_unit_test(test_ttl_clamped),
	    cmocka_unit_test(test_invalid_names_refused),
	    cmocka_unit_test(test_tc_over_512),
	    cmocka_unit_test(test_tcp_limit),
	    cmocka_unit_test(test_limit_exact_with_opt),
	    cmocka_unit_test(test_truncated_takes_nothing_more),
	    cmocka_unit_test(test_badvers),
	    cmocka_unit_test(test_nxdomain_refused_and_cd),
	    cmocka_unit_test(test_formerr_keeps_opt),
	    cmocka_unit_test(test_error_header_only),
	    cmocka_unit_test(test_error_formerr_no_question),
	    cmocka_unit_test(test_error_short_message),
	    cmocka_unit_test(test_udp_limit),
	    cmocka_unit_test(test_name_format),
	    cmocka_unit_test(test_longest_question),
	};
	return cmocka_run_group_tests(tests, 0, 0);
}
