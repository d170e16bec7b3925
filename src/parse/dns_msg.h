/* dns_msg: strict parsing of a DNS query from an untrusted client (RFC 1035 §4.1, EDNS0 RFC
 * 6891): the header, exactly one question with its name as lower-case dotted text, at most one
 * OPT record; and the RFC 7766 §8 length prefix of DNS over TCP.
 * Does not parse responses (parse/dns_answer does), build replies (emit/dns_reply does) or
 * judge the name or type (policy does). */
#ifndef SLUICE_PARSE_DNS_MSG_H
#define SLUICE_PARSE_DNS_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/slice.h"
#include "parse/dns_rcode.h"

#define DNS_HEADER_LEN 12
#define DNS_LABEL_MAX 63
/* RFC 1035 §3.1: 255 bytes of wire name, the root's zero byte included; as dotted text without
 * the trailing dot, that is 253 characters. */
#define DNS_NAME_WIRE_MAX 255
#define DNS_NAME_MAX 253

/* Why a query was refused, one stable token each (dns_msg_error_name). */
enum dns_msg_error {
	DNS_MSG_ERR_NONE = 0,
	DNS_MSG_ERR_SHORT,	    /* fewer than 12 bytes: no header to answer */
	DNS_MSG_ERR_RESPONSE,	    /* QR=1 */
	DNS_MSG_ERR_OPCODE,	    /* opcode other than QUERY */
	DNS_MSG_ERR_TRUNCATED_FLAG, /* TC=1 in a query */
	DNS_MSG_ERR_QDCOUNT,	    /* QDCOUNT other than 1 */
	DNS_MSG_ERR_ANCOUNT,	    /* answers in a query */
	DNS_MSG_ERR_NSCOUNT,	    /* authority records in a query */
	DNS_MSG_ERR_ARCOUNT,	    /* more than one additional record */
	DNS_MSG_ERR_NAME_TRUNCATED, /* the message ends inside the name */
	DNS_MSG_ERR_NAME_POINTER,   /* compression pointer in the question */
	DNS_MSG_ERR_LABEL_LENGTH,   /* length byte 64..191: over 63, or an extended label type */
	DNS_MSG_ERR_NAME_LENGTH,    /* more than 255 bytes of wire name */
	DNS_MSG_ERR_QUESTION_TRUNCATED,	  /* no room for QTYPE and QCLASS */
	DNS_MSG_ERR_ADDITIONAL_MALFORMED, /* cut short, or a name over 255 bytes */
	DNS_MSG_ERR_ADDITIONAL_NOT_OPT,
	DNS_MSG_ERR_OPT_NAME,	 /* OPT owner other than the root */
	DNS_MSG_ERR_OPT_OPTIONS, /* options that do not fill RDATA exactly, or a bad COOKIE */
	DNS_MSG_ERR_TRAILING,	 /* bytes after the last record */
	DNS_MSG_ERR_BADVERS,	 /* EDNS version other than 0 */
	DNS_MSG_ERR_QCLASS,	 /* QCLASS other than IN */
};

/* What to answer a message with. */
enum dns_msg_status {
	DNS_MSG_DROP,	     /* nothing: no header, or not a query */
	DNS_MSG_HEADER_ONLY, /* q->rcode with the header alone (dns_reply_error) */
	DNS_MSG_QUESTION,    /* q is whole: q->rcode with the question echoed (dns_reply_init);
				NOERROR means the name and type are for policy to judge */
};

/* A wire name as text: labels joined by '.', no trailing dot, ASCII lower-cased (RFC 4343);
 * the root is "". Only the bytes [a-z0-9-_] are written as they are (after lower-casing): any
 * other byte, '.' and NUL included, is written as '?' and is_hostname is false, so that one text
 * never stands for two names and a name whose labels hold odd bytes cannot pass for a host
 * name. Policy must refuse a name that is not a hostname; replies echo the raw question. */
struct dns_name {
	char text[DNS_NAME_MAX + 1]; /* NUL-terminated */
	size_t len;
	unsigned labels;
	bool is_hostname; /* at least one label, every byte [A-Za-z0-9-_] */
};

struct dns_query {
	uint16_t id;
	uint8_t opcode;
	bool rd;   /* recursion desired: copied into the reply */
	bool cd;   /* checking disabled: copied into the reply (RFC 4035 §3.1.6) */
	bool ad;   /* AD asked for (RFC 6840 §5.7); sluice validates nothing and sets no AD */
	int rcode; /* enum dns_rcode to answer with */
	enum dns_msg_error error; /* DNS_MSG_ERR_NONE when rcode is NOERROR */
	/* Set with DNS_MSG_QUESTION: */
	struct slice question; /* QNAME QTYPE QCLASS as received, to echo (case and all) */
	struct dns_name name;
	uint16_t qtype, qclass;
	bool has_edns;		/* an OPT record was read: the reply carries one */
	uint16_t edns_udp_size; /* as sent; below 512 means 512 (RFC 6891 §6.2.5) */
	uint8_t edns_version;
	bool edns_do; /* DNSSEC OK: copied into the reply's OPT (RFC 3225 §3) */
};

/* Parses one whole message (a UDP datagram, or one RFC 7766 frame without its length prefix).
 * Refusals, in the order they are checked:
 *   - fewer than 12 bytes, or QR=1: DROP (RFC 1035 §4.1.1 gives a short message no id to answer;
 *     answering a response could make two servers answer each other for ever);
 *   - opcode other than QUERY: NOTIMP, header only; TC=1, QDCOUNT other than 1, ANCOUNT or
 *     NSCOUNT other than 0, ARCOUNT over 1 (so two OPT records, RFC 6891 §6.1.1): FORMERR,
 *     header only;
 *   - a bad question: FORMERR, header only. Labels of 1..63 bytes, 255 bytes of wire name at
 *     most, and no compression pointer: the question is the first name of the message, so a
 *     pointer could only aim at the header or back into the name itself; no client compresses
 *     it, and refusing pointers leaves no loop or hop limit to get wrong;
 *   - after the question, FORMERR with the question echoed: an additional record that is not
 *     OPT, an OPT whose owner is not the root, options that do not fill its RDATA exactly or a
 *     COOKIE of a length RFC 7873 §5.2.2 forbids (other options are ignored), bytes after the
 *     last record; then BADVERS for an EDNS version other than 0 (RFC 6891 §6.1.3), then
 *     REFUSED for a class other than IN (sluice serves IN alone, and says so as a refusal).
 * The header's Z bit and RCODE, and OPT's extended RCODE and Z flags, mean nothing in a query
 * and are ignored (RFC 6891 §6.1.4). The type is not judged. *q is filled as far as the
 * message was read; q->question points into msg. */
enum dns_msg_status dns_msg_parse(struct slice msg, struct dns_query *q);

/* Appends one label of len (1..63) bytes to name, written as struct dns_name says. The caller
 * has checked that the wire name stays within DNS_NAME_WIRE_MAX; start from a name zeroed with
 * is_hostname true, and set is_hostname false when it ends with no label (the root). */
void dns_name_add_label(struct dns_name *name, const uint8_t *label, size_t len);

/* Reads an uncompressed wire name at the start of wire (pointers and extended labels refused).
 * Returns the wire bytes it took (1 for the root), or -1 with *error set. */
int dns_msg_name_parse(struct slice wire, struct dns_name *out, enum dns_msg_error *error);

/* RFC 7766 §8: a message over TCP follows its two-byte length. Returns the bytes the frame
 * takes (2 + length) with *msg set to the message, or 0 when in does not hold the whole frame
 * yet. A message too short for a header is dns_msg_parse's to drop. */
size_t dns_msg_tcp_frame(struct slice in, struct slice *msg);

/* The stable token of an error ("qdcount", "name_pointer", ...). */
const char *dns_msg_error_name(enum dns_msg_error error);

#endif
