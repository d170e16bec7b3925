#include "parse/dns_msg.h"

#include <string.h>

#include "parse/dns_type.h"

/* RFC 7873 §4: the COOKIE option; §5.2.2 gives the lengths a server must refuse. */
#define EDNS_OPTION_COOKIE 10

static const uint8_t *bytes(struct slice s)
{
	return (const uint8_t *)s.ptr;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static bool is_hostname_byte(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_';
}

/* One label's bytes as text; returns whether all of them are host name bytes. */
static bool label_text(const uint8_t *label, size_t len, char *out)
{
	bool host = true;
	for (size_t i = 0; i < len; i++) {
		if (is_hostname_byte(label[i])) {
			out[i] = slice_ascii_lower((char)label[i]);
		} else {
			out[i] = '?';
			host = false;
		}
	}
	return host;
}

void dns_name_add_label(struct dns_name *name, const uint8_t *label, size_t len)
{
	if (name->labels > 0)
		name->text[name->len++] = '.';
	if (!label_text(label, len, name->text + name->len))
		name->is_hostname = false;
	name->len += len;
	name->labels++;
	name->text[name->len] = '\0';
}

int dns_msg_name_parse(struct slice wire, struct dns_name *out, enum dns_msg_error *error)
{
	const uint8_t *p = bytes(wire);
	size_t at = 0;
	memset(out, 0, sizeof(*out));
	out->is_hostname = true;
	for (;;) {
		if (at >= wire.len) {
			*error = DNS_MSG_ERR_NAME_TRUNCATED;
			return -1;
		}
		uint8_t n = p[at];
		if (n == 0)
			break;
		/* RFC 1035 §4.1.4: 11xxxxxx is a pointer; 01 and 10 are the extended label types
		 * of RFC 6891 §5 (binary labels, deprecated), or a length over 63. */
		if ((n & 0xc0) == 0xc0) {
			*error = DNS_MSG_ERR_NAME_POINTER;
			return -1;
		}
		if (n > DNS_LABEL_MAX) {
			*error = DNS_MSG_ERR_LABEL_LENGTH;
			return -1;
		}
		/* The label, its length byte and the root's byte after it must fit in 255. */
		if (at + 1 + n + 1 > DNS_NAME_WIRE_MAX) {
			*error = DNS_MSG_ERR_NAME_LENGTH;
			return -1;
		}
		if (wire.len - at - 1 < n) {
			*error = DNS_MSG_ERR_NAME_TRUNCATED;
			return -1;
		}
		dns_name_add_label(out, p + at + 1, n);
		at += 1 + (size_t)n;
	}
	out->text[out->len] = '\0';
	if (out->labels == 0)
		out->is_hostname = false;
	return (int)(at + 1);
}

/* Header: RFC 1035 §4.1.1. Returns the status the header alone decides, or QUESTION to go on. */
static enum dns_msg_status parse_header(const uint8_t *h, struct dns_query *q)
{
	q->id = get16(h);
	q->opcode = (uint8_t)(h[2] >> 3 & 0x0f);
	q->rd = h[2] & 0x01;
	q->ad = h[3] & 0x20;
	q->cd = h[3] & 0x10;
	q->rcode = DNS_RCODE_FORMERR;
	if (h[2] & 0x80) {
		q->error = DNS_MSG_ERR_RESPONSE;
		return DNS_MSG_DROP;
	}
	if (q->opcode != 0) {
		q->rcode = DNS_RCODE_NOTIMP;
		q->error = DNS_MSG_ERR_OPCODE;
	} else if (h[2] & 0x02) {
		q->error = DNS_MSG_ERR_TRUNCATED_FLAG;
	} else if (get16(h + 4) != 1) {
		q->error = DNS_MSG_ERR_QDCOUNT;
	} else if (get16(h + 6) != 0) {
		q->error = DNS_MSG_ERR_ANCOUNT;
	} else if (get16(h + 8) != 0) {
		q->error = DNS_MSG_ERR_NSCOUNT;
	} else if (get16(h + 10) > 1) {
		q->error = DNS_MSG_ERR_ARCOUNT;
	} else {
		q->rcode = DNS_RCODE_NOERROR;
		return DNS_MSG_QUESTION;
	}
	return DNS_MSG_HEADER_ONLY;
}

/* Skips a name without reading it: labels, ending in the root or in a pointer (not followed).
 * Returns its wire length, or 0 when it runs past the end or is longer than 255 bytes. */
static size_t skip_name(struct slice s)
{
	const uint8_t *p = bytes(s);
	size_t at = 0;
	while (at < s.len && at < DNS_NAME_WIRE_MAX) {
		uint8_t n = p[at];
		if (n == 0)
			return at + 1;
		if ((n & 0xc0) == 0xc0)
			return at + 2 <= s.len ? at + 2 : 0;
		if (n > DNS_LABEL_MAX)
			return 0;
		at += 1 + (size_t)n;
	}
	return 0;
}

/* The options of OPT's RDATA (RFC 6891 §6.1.2): code, length, value, filling it exactly. Only
 * COOKIE is checked (RFC 7873 §5.2.2: 8 bytes of client cookie, or 16 to 40 with a server
 * cookie); the others mean nothing to sluice and are ignored. */
static bool options_ok(const uint8_t *p, size_t len)
{
	size_t at = 0;
	while (at < len) {
		if (len - at < 4)
			return false;
		uint16_t code = get16(p + at);
		uint16_t olen = get16(p + at + 2);
		if (len - at - 4 < olen)
			return false;
		if (code == EDNS_OPTION_COOKIE && olen != 8 && (olen < 16 || olen > 40))
			return false;
		at += 4 + (size_t)olen;
	}
	return true;
}

/* The one additional record, which must be OPT (RFC 6891 §6.1.2). Returns the bytes it takes, or
 * 0 with q->error set. q->has_edns is set once the fixed part of an OPT was read, so that a
 * FORMERR for its owner or options still carries an OPT (RFC 6891 §7). */
static size_t parse_opt(struct slice rest, struct dns_query *q)
{
	const uint8_t *p = bytes(rest);
	size_t name = skip_name(rest);
	if (name == 0 || rest.len - name < 10) {
		q->error = DNS_MSG_ERR_ADDITIONAL_MALFORMED;
		return 0;
	}
	const uint8_t *rr = p + name;
	if (get16(rr) != DNS_TYPE_OPT) {
		q->error = DNS_MSG_ERR_ADDITIONAL_NOT_OPT;
		return 0;
	}
	q->has_edns = true;
	q->edns_udp_size = get16(rr + 2);
	q->edns_version = rr[5];
	q->edns_do = rr[6] & 0x80;
	uint16_t rdlen = get16(rr + 8);
	if (name != 1) {
		q->error = DNS_MSG_ERR_OPT_NAME;
		return 0;
	}
	if (rest.len - name - 10 < rdlen) {
		q->error = DNS_MSG_ERR_ADDITIONAL_MALFORMED;
		return 0;
	}
	if (!options_ok(rr + 10, rdlen)) {
		q->error = DNS_MSG_ERR_OPT_OPTIONS;
		return 0;
	}
	return name + 10 + rdlen;
}

/* Everything after the question: the OPT, if ARCOUNT says there is one, and nothing else. */
static void parse_after_question(struct slice rest, unsigned arcount, struct dns_query *q)
{
	if (arcount == 1) {
		size_t n = parse_opt(rest, q);
		if (n == 0) {
			q->rcode = DNS_RCODE_FORMERR;
			return;
		}
		rest = slice_make(rest.ptr + n, rest.len - n);
	}
	if (rest.len > 0) {
		q->rcode = DNS_RCODE_FORMERR;
		q->error = DNS_MSG_ERR_TRAILING;
	} else if (q->has_edns && q->edns_version != 0) {
		q->rcode = DNS_RCODE_BADVERS;
		q->error = DNS_MSG_ERR_BADVERS;
	} else if (q->qclass != DNS_CLASS_IN) {
		q->rcode = DNS_RCODE_REFUSED;
		q->error = DNS_MSG_ERR_QCLASS;
	}
}

enum dns_msg_status dns_msg_parse(struct slice msg, struct dns_query *q)
{
	memset(q, 0, sizeof(*q));
	if (msg.len < DNS_HEADER_LEN) {
		q->rcode = DNS_RCODE_FORMERR;
		q->error = DNS_MSG_ERR_SHORT;
		return DNS_MSG_DROP;
	}
	enum dns_msg_status st = parse_header(bytes(msg), q);
	if (st != DNS_MSG_QUESTION)
		return st;
	struct slice rest = slice_make(msg.ptr + DNS_HEADER_LEN, msg.len - DNS_HEADER_LEN);
	int n = dns_msg_name_parse(rest, &q->name, &q->error);
	if (n > 0 && rest.len - (size_t)n < 4) {
		q->error = DNS_MSG_ERR_QUESTION_TRUNCATED;
		n = -1;
	}
	if (n < 0) {
		memset(&q->name, 0, sizeof(q->name));
		q->rcode = DNS_RCODE_FORMERR;
		return DNS_MSG_HEADER_ONLY;
	}
	const uint8_t *qp = bytes(rest) + n;
	q->qtype = get16(qp);
	q->qclass = get16(qp + 2);
	q->question = slice_make(rest.ptr, (size_t)n + 4);
	rest = slice_make(rest.ptr + n + 4, rest.len - (size_t)n - 4);
	parse_after_question(rest, get16(bytes(msg) + 10), q);
	return DNS_MSG_QUESTION;
}

size_t dns_msg_tcp_frame(struct slice in, struct slice *msg)
{
	if (in.len < 2)
		return 0;
	size_t len = get16(bytes(in));
	if (in.len - 2 < len)
		return 0;
	*msg = slice_make(in.ptr + 2, len);
	return 2 + len;
}

const char *dns_msg_error_name(enum dns_msg_error error)
{
	switch (error) {
	case DNS_MSG_ERR_NONE:
		return "none";
	case DNS_MSG_ERR_SHORT:
		return "short_header";
	case DNS_MSG_ERR_RESPONSE:
		return "not_a_query";
	case DNS_MSG_ERR_OPCODE:
		return "opcode";
	case DNS_MSG_ERR_TRUNCATED_FLAG:
		return "tc_in_query";
	case DNS_MSG_ERR_QDCOUNT:
		return "qdcount";
	case DNS_MSG_ERR_ANCOUNT:
		return "ancount";
	case DNS_MSG_ERR_NSCOUNT:
		return "nscount";
	case DNS_MSG_ERR_ARCOUNT:
		return "arcount";
	case DNS_MSG_ERR_NAME_TRUNCATED:
		return "name_truncated";
	case DNS_MSG_ERR_NAME_POINTER:
		return "name_pointer";
	case DNS_MSG_ERR_LABEL_LENGTH:
		return "label_length";
	case DNS_MSG_ERR_NAME_LENGTH:
		return "name_length";
	case DNS_MSG_ERR_QUESTION_TRUNCATED:
		return "question_truncated";
	case DNS_MSG_ERR_ADDITIONAL_MALFORMED:
		return "additional_malformed";
	case DNS_MSG_ERR_ADDITIONAL_NOT_OPT:
		return "additional_not_opt";
	case DNS_MSG_ERR_OPT_NAME:
		return "opt_name";
	case DNS_MSG_ERR_OPT_OPTIONS:
		return "opt_options";
	case DNS_MSG_ERR_TRAILING:
		return "trailing_bytes";
	case DNS_MSG_ERR_BADVERS:
		return "edns_version";
	case DNS_MSG_ERR_QCLASS:
		return "qclass";
	}
	return "unknown";
}
