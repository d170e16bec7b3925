/* Fuzzes parse/dns_msg and emit/dns_reply: no input crashes or reads out of bounds; every
 * status, rcode and error is one of the enumerated ones and they agree; an accepted name is
 * normalised text that, for a host name, formats back to the question's wire name but for case;
 * and the reply built to any query (header-only, or the question with a few A records and a
 * CNAME) stays within its limit and decodes back to what was asked. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "emit/dns_reply.h"
#include "parse/dns_msg.h"
#include "parse/dns_type.h"

#include "fuzz_check.h"

static uint8_t out[DNS_REPLY_TCP_MAX];

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint8_t lower(uint8_t c)
{
	return (uint8_t)slice_ascii_lower((char)c);
}

static void check_name(const struct dns_name *n, struct slice wire)
{
	CHECK(n->len <= DNS_NAME_MAX && strlen(n->text) == n->len);
	unsigned dots = 0;
	bool odd = false;
	for (size_t i = 0; i < n->len; i++) {
		char c = n->text[i];
		CHECK((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
		      c == '.' || c == '?');
		dots += c == '.';
		odd |= c == '?';
	}
	CHECK(n->labels == (n->len == 0 ? 0 : dots + 1));
	CHECK(n->is_hostname == (n->labels > 0 && !odd));
	if (!n->is_hostname)
		return;
	/* The text formats back to the same wire name, but for case. */
	uint8_t w[DNS_NAME_WIRE_MAX];
	int len = dns_reply_name_format(slice_make(n->text, n->len), w);
	CHECK(len > 0 && (size_t)len <= wire.len);
	for (int i = 0; i < len; i++)
		CHECK(w[i] == lower((uint8_t)wire.ptr[i]));
}

static void check_name_parse(struct slice s)
{
	struct dns_name n;
	enum dns_msg_error error = DNS_MSG_ERR_NONE;
	int len = dns_msg_name_parse(s, &n, &error);
	if (len < 0) {
		CHECK(error != DNS_MSG_ERR_NONE);
		return;
	}
	CHECK(len >= 1 && (size_t)len <= s.len && len <= DNS_NAME_WIRE_MAX);
	CHECK(s.ptr[len - 1] == 0);
	check_name(&n, s);
}

/* ---- a response decoder, independent of dns_reply ---- */

/* Skips a name at m[at], following pointers strictly backwards; false when malformed. */
static bool skip_name(const uint8_t *m, size_t len, size_t *at)
{
	size_t p = *at, limit = *at;
	bool jumped = false;
	for (;;) {
		if (p >= len)
			return false;
		uint8_t n = m[p];
		if ((n & 0xc0) == 0xc0) {
			if (p + 1 >= len)
				return false;
			size_t to = (size_t)(n & 0x3f) << 8 | m[p + 1];
			if (to >= limit)
				return false;
			if (!jumped)
				*at = p + 2;
			jumped = true;
			p = limit = to;
			continue;
		}
		if (n > 63)
			return false;
		if (n == 0) {
			if (!jumped)
				*at = p + 1;
			return true;
		}
		p += 1 + n;
	}
}

struct decoded {
	uint16_t an, ar;
	bool has_opt;
	uint8_t opt_ext;
};

static void decode_reply(const uint8_t *m, size_t len, const struct dns_query *q, int rcode,
			 struct decoded *d)
{
	CHECK(len >= DNS_HEADER_LEN);
	CHECK(get16(m) == q->id);
	CHECK((m[2] & 0xfd) == (0x80 | (q->rd ? 1 : 0)));	     /* QR, opcode 0, AA 0, RD */
	CHECK(m[3] == (0x80 | (q->cd ? 0x10 : 0) | (rcode & 0x0f))); /* RA, CD, rcode */
	CHECK(get16(m + 4) == 1 && get16(m + 8) == 0);
	d->an = get16(m + 6);
	d->ar = get16(m + 10);
	CHECK(len >= DNS_HEADER_LEN + q->question.len);
	CHECK(memcmp(m + DNS_HEADER_LEN, q->question.ptr, q->question.len) == 0);
	size_t at = DNS_HEADER_LEN + q->question.len;
	for (unsigned i = 0; i < (unsigned)d->an + d->ar; i++) {
		size_t owner = at;
		CHECK(skip_name(m, len, &at));
		CHECK(len - at >= 10);
		uint16_t type = get16(m + at), rdlen = get16(m + at + 8);
		CHECK(len - at - 10 >= rdlen);
		if (type == DNS_TYPE_OPT) {
			CHECK(i == d->an && m[owner] == 0 && !d->has_opt);
			CHECK(get16(m + at + 2) == DNS_REPLY_EDNS_SIZE && m[at + 5] == 0);
			CHECK(get16(m + at + 6) == (q->edns_do ? 0x8000 : 0) && rdlen == 0);
			d->has_opt = true;
			d->opt_ext = m[at + 4];
		} else {
			CHECK(i < d->an && get16(m + at + 2) == DNS_CLASS_IN);
			CHECK(type != DNS_TYPE_A || rdlen == 4);
			if (type == DNS_TYPE_CNAME) {
				size_t t = at + 10;
				CHECK(skip_name(m, len, &t) && t == at + 10 + rdlen);
			}
		}
		at += 10 + (size_t)rdlen;
	}
	CHECK(at == len);
}

/* The question's reply with n A records (and a CNAME first when c is odd). */
static void check_reply(const struct dns_query *q, unsigned n, bool tcp, bool cname)
{
	size_t limit = tcp ? DNS_REPLY_TCP_MAX : dns_reply_udp_limit(q, DNS_REPLY_EDNS_SIZE);
	static const uint8_t addr[4] = {192, 0, 2, 1};
	struct dns_reply r;
	dns_reply_init(&r, out, sizeof(out), limit, q, q->rcode);
	unsigned added = 0;
	struct slice owner = DNS_REPLY_QNAME;
	if (cname) {
		added += dns_reply_add_cname(&r, DNS_REPLY_QNAME, 60, SLICE_LIT("target.example"));
		owner = SLICE_LIT("target.example");
	}
	for (unsigned i = 0; i < n; i++)
		added += dns_reply_add_a(&r, owner, 60, addr);
	if (q->name.is_hostname)
		added += dns_reply_add_a(&r, slice_make(q->name.text, q->name.len), 1, addr);
	bool truncated = r.truncated;
	size_t len = dns_reply_finish(&r);
	CHECK(len <= limit);

	struct decoded d = {0};
	decode_reply(out, len, q, q->rcode, &d);
	CHECK(((out[2] & 0x02) != 0) == truncated);
	CHECK(d.an == (truncated ? 0 : added));
	CHECK(d.has_opt == q->has_edns && d.ar == (q->has_edns ? 1 : 0));
	if (d.has_opt)
		CHECK(d.opt_ext == q->rcode >> 4);
	/* Without a truncation every record was taken. */
	if (!truncated)
		CHECK(added == n + cname + q->name.is_hostname);
}

static void check_header_only(struct slice msg, const struct dns_query *q)
{
	uint8_t b[DNS_HEADER_LEN];
	CHECK(q->question.len == 0 && q->name.len == 0);
	CHECK(q->rcode == DNS_RCODE_FORMERR || q->rcode == DNS_RCODE_NOTIMP);
	CHECK(dns_reply_error(b, sizeof(b), msg, q->rcode) == DNS_HEADER_LEN);
	const uint8_t *m = (const uint8_t *)msg.ptr;
	CHECK(b[0] == m[0] && b[1] == m[1]);
	CHECK(b[2] == (0x80 | (m[2] & 0x79)));
	CHECK(b[3] == (0x80 | (m[3] & 0x10) | q->rcode));
	for (int i = 4; i < DNS_HEADER_LEN; i++)
		CHECK(b[i] == 0);
}

static void check_question(struct slice msg, const struct dns_query *q, uint8_t knob)
{
	CHECK(q->question.ptr == msg.ptr + DNS_HEADER_LEN);
	CHECK(q->question.len >= 5 && q->question.len <= DNS_NAME_WIRE_MAX + 4);
	CHECK(fuzz_slice_inside(q->question, msg.ptr, msg.len));
	const uint8_t *qe = (const uint8_t *)q->question.ptr + q->question.len;
	CHECK(q->qtype == get16(qe - 4) && q->qclass == get16(qe - 2));
	check_name(&q->name, q->question);
	CHECK(q->opcode == 0);
	if (q->rcode == DNS_RCODE_BADVERS)
		CHECK(q->has_edns && q->edns_version != 0);
	if (q->rcode == DNS_RCODE_REFUSED)
		CHECK(q->qclass != DNS_CLASS_IN);
	if (q->rcode == DNS_RCODE_NOERROR)
		CHECK(q->qclass == DNS_CLASS_IN && (!q->has_edns || q->edns_version == 0));
	check_reply(q, knob % 48, knob & 0x80, knob & 0x40);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct slice s = slice_make((const char *)data, size);
	struct dns_query q;
	enum dns_msg_status st = dns_msg_parse(s, &q);

	CHECK(dns_rcode_name(q.rcode) != NULL);
	CHECK(strcmp(dns_msg_error_name(q.error), "unknown") != 0);
	CHECK((q.rcode == DNS_RCODE_NOERROR) == (q.error == DNS_MSG_ERR_NONE));
	bool drop = size < DNS_HEADER_LEN || (data[2] & 0x80);
	CHECK((st == DNS_MSG_DROP) == drop);
	switch (st) {
	case DNS_MSG_DROP:
		CHECK(q.rcode != DNS_RCODE_NOERROR && q.question.len == 0);
		break;
	case DNS_MSG_HEADER_ONLY:
		check_header_only(s, &q);
		break;
	case DNS_MSG_QUESTION:
		check_question(s, &q, size > 0 ? data[size - 1] : 0);
		break;
	default:
		CHECK(0);
	}

	struct slice frame;
	size_t used = dns_msg_tcp_frame(s, &frame);
	CHECK(used <= size);
	if (used > 0)
		CHECK(used == frame.len + 2 && frame.ptr == s.ptr + 2);
	check_name_parse(s);
	return 0;
}
