#include "parse/dns_answer.h"

#include <string.h>

#include "parse/dns_type.h"

/* The obsolete RFC 1035 types whose RDATA is names a server may compress (RFC 3597 §4). */
enum { TYPE_MD = 3, TYPE_MF = 4, TYPE_MB = 7, TYPE_MG = 8, TYPE_MR = 9, TYPE_MINFO = 14 };

#define SOA_NUMBERS_LEN 20 /* SERIAL REFRESH RETRY EXPIRE MINIMUM */

static const uint8_t *bytes(struct slice s)
{
	return (const uint8_t *)s.ptr;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int fail(const char **detail, const char *why)
{
	if (detail)
		*detail = why;
	return -1;
}

/* Reads the possibly compressed name at `at` of m (len bytes), whose own bytes end by `end`:
 * its text into name, its uncompressed wire form into wire (NULL: not wanted) with its length
 * in *wire_len, and in *next the offset just after its bytes at `at`. A pointer must aim before
 * the label it stands in, so a chain of pointers alone always ends; labels between pointers
 * are bounded by the 255 bytes of wire name, so a loop through labels ends too. */
static int name_read(const uint8_t *m, size_t len, size_t at, size_t end, struct dns_name *name,
		     uint8_t *wire, size_t *wire_len, size_t *next)
{
	size_t pos = at, wlen = 0, limit = end;
	bool jumped = false;

	memset(name, 0, sizeof(*name));
	name->is_hostname = true;
	for (;;) {
		if (pos >= limit)
			return -1;
		uint8_t n = m[pos];
		if (n == 0) {
			if (!jumped)
				*next = pos + 1;
			break;
		}
		if ((n & 0xc0) == 0xc0) {
			if (pos + 1 >= limit)
				return -1;
			size_t target = (size_t)(n & 0x3f) << 8 | m[pos + 1];
			if (target >= pos)
				return -1;
			if (!jumped)
				*next = pos + 2;
			jumped = true;
			limit = len;
			pos = target;
			continue;
		}
		/* 01 and 10 are the extended label types of RFC 6891 §5, or a length over 63. */
		if (n > DNS_LABEL_MAX || wlen + 1 + n + 1 > DNS_NAME_WIRE_MAX ||
		    limit - pos - 1 < n)
			return -1;
		if (wire)
			memcpy(wire + wlen, m + pos, 1 + (size_t)n);
		wlen += 1 + (size_t)n;
		dns_name_add_label(name, m + pos + 1, n);
		pos += 1 + (size_t)n;
	}
	if (wire)
		wire[wlen] = 0;
	*wire_len = wlen + 1;
	if (name->labels == 0)
		name->is_hostname = false;
	return 0;
}

int dns_answer_parse(struct slice msg, struct dns_response *out, const char **detail)
{
	const uint8_t *m = bytes(msg);
	size_t len = msg.len, at, wlen;

	memset(out, 0, sizeof(*out));
	out->msg = msg;
	if (len < DNS_HEADER_LEN)
		return fail(detail, "shorter than a header");
	if (!(m[2] & 0x80))
		return fail(detail, "not a response");
	out->id = get16(m);
	out->truncated = (m[2] & 0x02) != 0;
	out->rcode = m[3] & 0x0f;
	if (get16(m + 4) != 1)
		return fail(detail, "question count other than 1");
	unsigned ancount = get16(m + 6);
	if (ancount > DNS_ANSWER_RR_MAX)
		return fail(detail, "more answer records than sluice sends on");
	if (name_read(m, len, DNS_HEADER_LEN, len, &out->qname, NULL, &wlen, &at) != 0)
		return fail(detail, "bad question name");
	if (len - at < 4)
		return fail(detail, "question cut short");
	out->qtype = get16(m + at);
	at += 4;
	for (unsigned i = 0; i < ancount; i++) {
		struct dns_rr *rr = &out->rr[i];
		if (name_read(m, len, at, len, &rr->owner, NULL, &wlen, &at) != 0)
			return fail(detail, "bad owner name");
		if (len - at < 10)
			return fail(detail, "record cut short");
		rr->type = get16(m + at);
		rr->rclass = get16(m + at + 2);
		uint32_t ttl = get32(m + at + 4);
		/* RFC 2181 §8: a TTL with the top bit set is to be taken as zero. */
		rr->ttl = ttl > 0x7fffffffu ? 0 : ttl;
		rr->rdata_len = get16(m + at + 8);
		rr->rdata_at = at + 10;
		if (len - rr->rdata_at < rr->rdata_len)
			return fail(detail, "RDATA past the end of the message");
		at = rr->rdata_at + rr->rdata_len;
		out->n_rr++;
	}
	return 0;
}

/* The name at offset skip of rr's RDATA; *end_at is the offset in the RDATA just after it. */
static int rdata_name_at(const struct dns_response *r, const struct dns_rr *rr, size_t skip,
			 struct dns_name *name, uint8_t *wire, size_t *wire_len, size_t *end_at)
{
	size_t next, wlen;
	if (skip >= rr->rdata_len)
		return -1;
	if (name_read(bytes(r->msg), r->msg.len, rr->rdata_at + skip, rr->rdata_at + rr->rdata_len,
		      name, wire, &wlen, &next) != 0)
		return -1;
	if (wire_len)
		*wire_len = wlen;
	*end_at = next - rr->rdata_at;
	return 0;
}

int dns_answer_rdata_name(const struct dns_response *r, const struct dns_rr *rr, size_t skip,
			  struct dns_name *out)
{
	size_t end_at;
	return rdata_name_at(r, rr, skip, out, NULL, NULL, &end_at);
}

static bool same_name(const struct dns_name *a, const struct dns_name *b)
{
	return a->is_hostname == b->is_hostname && a->len == b->len &&
	       memcmp(a->text, b->text, a->len) == 0;
}

static bool answers(const struct dns_rr *rr, uint16_t type, const struct dns_name *owner)
{
	return rr->type == type && rr->rclass == DNS_CLASS_IN && same_name(&rr->owner, owner);
}

int dns_answer_chain(const struct dns_response *r, const struct dns_name *qname, uint16_t qtype,
		     struct dns_chain *out, const char **detail)
{
	const struct dns_name *at = qname;

	out->n_steps = 0;
	out->n_final = 0;
	while (qtype != DNS_TYPE_CNAME) {
		int found = -1;
		for (unsigned i = 0; i < r->n_rr; i++) {
			if (!answers(&r->rr[i], DNS_TYPE_CNAME, at))
				continue;
			if (found >= 0)
				return fail(detail, "two CNAME records for one name");
			found = (int)i;
		}
		if (found < 0)
			break;
		if (out->n_steps == DNS_ANSWER_CHAIN_MAX)
			return fail(detail, "CNAME chain too long, or a loop");
		const struct dns_rr *rr = &r->rr[found];
		size_t end_at;
		if (rdata_name_at(r, rr, 0, &out->alias[out->n_steps], NULL, NULL, &end_at) != 0 ||
		    end_at != rr->rdata_len)
			return fail(detail, "CNAME RDATA is not one name");
		out->step[out->n_steps] = (unsigned)found;
		at = &out->alias[out->n_steps++];
	}
	out->end = at;
	for (unsigned i = 0; i < r->n_rr; i++)
		if (answers(&r->rr[i], qtype, at))
			out->final[out->n_final++] = i;
	return 0;
}

/* The layout of the RDATA of a type whose names may be compressed: fixed bytes before the
 * names, how many names, fixed bytes after. False for every other type. */
static bool compressed_layout(uint16_t type, size_t *before, unsigned *names, size_t *after)
{
	*before = 0;
	*names = 1;
	*after = 0;
	switch (type) {
	case DNS_TYPE_NS:
	case DNS_TYPE_CNAME:
	case DNS_TYPE_PTR:
	case TYPE_MD:
	case TYPE_MF:
	case TYPE_MB:
	case TYPE_MG:
	case TYPE_MR:
		return true;
	case TYPE_MINFO:
		*names = 2;
		return true;
	case DNS_TYPE_MX:
		*before = 2;
		return true;
	case DNS_TYPE_SOA:
		*names = 2;
		*after = SOA_NUMBERS_LEN;
		return true;
	default:
		return false;
	}
}

int dns_answer_rdata(const struct dns_response *r, const struct dns_rr *rr, uint8_t *out,
		     size_t cap)
{
	const uint8_t *rdata = bytes(r->msg) + rr->rdata_at;
	size_t before, after, len = 0, at;
	unsigned names;

	if (!compressed_layout(rr->type, &before, &names, &after)) {
		if (cap < rr->rdata_len)
			return -1;
		memcpy(out, rdata, rr->rdata_len);
		return rr->rdata_len;
	}
	if (rr->rdata_len < before || cap < before)
		return -1;
	memcpy(out, rdata, before);
	len = at = before;
	for (unsigned i = 0; i < names; i++) {
		uint8_t wire[DNS_NAME_WIRE_MAX];
		struct dns_name name;
		size_t wlen;
		if (rdata_name_at(r, rr, at, &name, wire, &wlen, &at) != 0 || cap - len < wlen)
			return -1;
		memcpy(out + len, wire, wlen);
		len += wlen;
	}
	if (rr->rdata_len - at != after || cap - len < after)
		return -1;
	memcpy(out + len, rdata + at, after);
	return (int)(len + after);
}
