#include "emit/dns_reply.h"

#include <string.h>

#include "base/bug.h"
#include "parse/dns_type.h"

#define OPT_LEN 11	    /* root name, type, class, TTL, RDLENGTH 0 */
#define RR_FIXED 10	    /* type, class, TTL, RDLENGTH */
#define POINTER_MAX 0x3fff  /* RFC 1035 §4.1.4: 14 bits of offset */
#define TTL_MAX 0x7fffffffu /* RFC 2181 §8 */
#define FLAG_QR 0x80	    /* in byte 2 */
#define FLAG_TC 0x02	    /* in byte 2 */
#define FLAG_RD 0x01	    /* in byte 2 */
#define FLAG_RA 0x80	    /* in byte 3 */
#define FLAG_CD 0x10	    /* in byte 3 */

static void put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v & 0xffff);
}

static bool is_host_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_';
}

int dns_reply_name_format(struct slice text, uint8_t out[DNS_NAME_WIRE_MAX])
{
	if (text.len > 0 && text.ptr[text.len - 1] == '.')
		text.len--;
	/* Each label costs its length byte; the root's zero byte ends it: text + 2 bytes. */
	if (text.len == 0 || text.len + 2 > DNS_NAME_WIRE_MAX)
		return -1;
	size_t at = 0, label = 0;
	for (size_t i = 0; i <= text.len; i++) {
		if (i == text.len || text.ptr[i] == '.') {
			size_t n = i - label;
			if (n == 0 || n > DNS_LABEL_MAX)
				return -1;
			out[at++] = (uint8_t)n;
			for (size_t k = label; k < i; k++)
				out[at++] = (uint8_t)slice_ascii_lower(text.ptr[k]);
			label = i + 1;
		} else if (!is_host_char(text.ptr[i])) {
			return -1;
		}
	}
	out[at++] = 0;
	return (int)at;
}

/* The length of an uncompressed name sluice wrote, or echoed from a parsed question. */
static size_t wire_len(const uint8_t *p)
{
	size_t at = 0;
	while (p[at] != 0)
		at += 1 + (size_t)p[at];
	return at + 1;
}

/* Wire names compare ASCII case-insensitively (RFC 4343); length bytes are below 64, where
 * lower-casing changes nothing, so the whole name can be compared byte by byte. */
static bool wire_eq_nocase(const uint8_t *a, const uint8_t *b, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (slice_ascii_lower((char)a[i]) != slice_ascii_lower((char)b[i]))
			return false;
	return true;
}

/* The offset of a name already in the message equal to wire, or 0. */
static size_t find_name(const struct dns_reply *r, const uint8_t *wire, size_t len)
{
	for (unsigned i = 0; i < r->n_names; i++) {
		const uint8_t *at = r->buf + r->names[i];
		if (wire_len(at) == len && wire_eq_nocase(at, wire, len))
			return r->names[i];
	}
	return 0;
}

/* A name to write: a pointer to a copy already in the message, or the wire bytes. */
struct name_out {
	uint8_t wire[DNS_NAME_WIRE_MAX];
	size_t len;    /* wire bytes, when not a pointer */
	size_t target; /* offset to point at, or 0 */
};

static bool name_prepare(const struct dns_reply *r, struct slice text, struct name_out *n)
{
	if (text.ptr == NULL) {
		n->target = DNS_HEADER_LEN;
		return true;
	}
	int len = dns_reply_name_format(text, n->wire);
	if (len < 0)
		return false;
	n->len = (size_t)len;
	n->target = find_name(r, n->wire, n->len);
	return true;
}

static size_t name_size(const struct name_out *n)
{
	return n->target ? 2 : n->len;
}

static void name_write(struct dns_reply *r, const struct name_out *n)
{
	if (n->target) {
		put16(r->buf + r->len, 0xc000 | (unsigned)n->target);
		r->len += 2;
		return;
	}
	if (r->len <= POINTER_MAX && r->n_names < DNS_REPLY_NAMES)
		r->names[r->n_names++] = (uint16_t)r->len;
	memcpy(r->buf + r->len, n->wire, n->len);
	r->len += n->len;
}

/* RFC 2181 §9: a reply that cannot hold the whole answer says so with TC and holds none of
 * it; the client asks again over TCP (RFC 7766 §5). */
static void truncate_answers(struct dns_reply *r)
{
	r->truncated = true;
	r->len = r->answers_at;
	r->ancount = 0;
	r->n_names = 1;
}

/* Makes room for a record of `size` bytes; false (and truncated) when it does not fit. */
static bool reserve(struct dns_reply *r, size_t size)
{
	BUG_ON(r->finished);
	if (r->truncated)
		return false;
	if (size > r->limit - r->opt_len - r->len || r->ancount == UINT16_MAX) {
		truncate_answers(r);
		return false;
	}
	return true;
}

static void rr_fixed(struct dns_reply *r, uint16_t type, uint32_t ttl, size_t rdlen)
{
	uint8_t *p = r->buf + r->len;
	put16(p, type);
	put16(p + 2, DNS_CLASS_IN);
	put32(p + 4, ttl > TTL_MAX ? TTL_MAX : ttl);
	put16(p + 8, (unsigned)rdlen);
	r->len += RR_FIXED;
	r->ancount++;
}

bool dns_reply_add_rdata(struct dns_reply *r, struct slice owner, uint16_t type, uint32_t ttl,
			 const uint8_t *rdata, size_t rdata_len)
{
	struct name_out o;
	if (rdata_len > UINT16_MAX || !name_prepare(r, owner, &o))
		return false;
	if (!reserve(r, name_size(&o) + RR_FIXED + rdata_len))
		return false;
	name_write(r, &o);
	rr_fixed(r, type, ttl, rdata_len);
	if (rdata_len > 0)
		memcpy(r->buf + r->len, rdata, rdata_len);
	r->len += rdata_len;
	return true;
}

bool dns_reply_add_a(struct dns_reply *r, struct slice owner, uint32_t ttl, const uint8_t addr[4])
{
	return dns_reply_add_rdata(r, owner, DNS_TYPE_A, ttl, addr, 4);
}

bool dns_reply_add_aaaa(struct dns_reply *r, struct slice owner, uint32_t ttl,
			const uint8_t addr[16])
{
	return dns_reply_add_rdata(r, owner, DNS_TYPE_AAAA, ttl, addr, 16);
}

/* RFC 1035 §3.3.1: CNAME's RDATA is a name, which may be compressed (RFC 3597 §4 keeps that
 * to the types of RFC 1035; CNAME is one). */
bool dns_reply_add_cname(struct dns_reply *r, struct slice owner, uint32_t ttl, struct slice target)
{
	struct name_out o, t;
	if (target.ptr == NULL || !name_prepare(r, owner, &o) || !name_prepare(r, target, &t))
		return false;
	if (!reserve(r, name_size(&o) + RR_FIXED + name_size(&t)))
		return false;
	name_write(r, &o);
	/* The owner written just now may be the target's twin: point at it. */
	if (!t.target)
		t.target = find_name(r, t.wire, t.len);
	rr_fixed(r, DNS_TYPE_CNAME, ttl, name_size(&t));
	name_write(r, &t);
	return true;
}

static void header_write(uint8_t *h, uint16_t id, unsigned opcode, bool rd, bool cd, int rcode)
{
	memset(h, 0, DNS_HEADER_LEN);
	put16(h, id);
	h[2] = (uint8_t)(FLAG_QR | (opcode & 0x0f) << 3 | (rd ? FLAG_RD : 0));
	h[3] = (uint8_t)(FLAG_RA | (cd ? FLAG_CD : 0) | (rcode & 0x0f));
}

void dns_reply_init(struct dns_reply *r, uint8_t *buf, size_t cap, size_t limit,
		    const struct dns_query *q, int rcode)
{
	if (limit > DNS_REPLY_TCP_MAX)
		limit = DNS_REPLY_TCP_MAX;
	BUG_ON(limit < DNS_REPLY_UDP_MAX || cap < limit);
	/* The question is compared against as a whole, uncompressed name: dns_msg_parse's. */
	struct dns_name name;
	enum dns_msg_error error;
	BUG_ON(q->question.len < 5 ||
	       dns_msg_name_parse(q->question, &name, &error) != (int)q->question.len - 4);
	BUG_ON(rcode < 0 || rcode > 0xfff || (rcode > 0x0f && !q->has_edns));
	memset(r, 0, sizeof(*r));
	r->buf = buf;
	r->limit = limit;
	r->rcode = rcode;
	r->opt_len = q->has_edns ? OPT_LEN : 0;
	r->edns_do = q->edns_do;
	header_write(buf, q->id, 0, q->rd, q->cd, rcode);
	put16(buf + 4, 1);
	memcpy(buf + DNS_HEADER_LEN, q->question.ptr, q->question.len);
	r->len = r->answers_at = DNS_HEADER_LEN + q->question.len;
	r->names[0] = DNS_HEADER_LEN;
	r->n_names = 1;
}

/* RFC 6891 §6.1.2-3: OPT with the root as owner, the UDP payload size as class, and in the TTL
 * the rcode's high 8 bits, version 0 and the flags (DO). */
static void opt_write(struct dns_reply *r)
{
	uint8_t *p = r->buf + r->len;
	p[0] = 0;
	put16(p + 1, DNS_TYPE_OPT);
	put16(p + 3, DNS_REPLY_EDNS_SIZE);
	p[5] = (uint8_t)(r->rcode >> 4);
	p[6] = 0;
	put16(p + 7, r->edns_do ? 0x8000 : 0);
	put16(p + 9, 0);
	r->len += OPT_LEN;
}

size_t dns_reply_finish(struct dns_reply *r)
{
	BUG_ON(r->finished);
	r->finished = true;
	put16(r->buf + 6, r->ancount);
	if (r->truncated)
		r->buf[2] |= FLAG_TC;
	if (r->opt_len) {
		put16(r->buf + 10, 1);
		opt_write(r);
	}
	BUG_ON(r->len > r->limit);
	return r->len;
}

size_t dns_reply_error(uint8_t *buf, size_t cap, struct slice msg, int rcode)
{
	BUG_ON(cap < DNS_HEADER_LEN || rcode < 0 || rcode > 0x0f);
	if (msg.len < DNS_HEADER_LEN)
		return 0;
	const uint8_t *h = (const uint8_t *)msg.ptr;
	header_write(buf, (uint16_t)(h[0] << 8 | h[1]), h[2] >> 3 & 0x0f, h[2] & FLAG_RD,
		     h[3] & FLAG_CD, rcode);
	return DNS_HEADER_LEN;
}

size_t dns_reply_udp_limit(const struct dns_query *q, size_t max)
{
	BUG_ON(max < DNS_REPLY_UDP_MAX);
	if (!q->has_edns || q->edns_udp_size <= DNS_REPLY_UDP_MAX)
		return DNS_REPLY_UDP_MAX;
	return q->edns_udp_size < max ? q->edns_udp_size : max;
}
