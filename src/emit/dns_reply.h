/* dns_reply: builds the responses of sluice's DNS listener in a caller's buffer: the header, the
 * question echoed, answers (A, AAAA, CNAME, and any RDATA such as HTTPS or SVCB), an OPT record
 * for an EDNS query, TC when the answers do not fit the size limit; and header-only errors.
 * Does not choose the answers or the rcode, resolve, or write to sockets. */
#ifndef SLUICE_EMIT_DNS_REPLY_H
#define SLUICE_EMIT_DNS_REPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/slice.h"
#include "parse/dns_msg.h"

#define DNS_REPLY_UDP_MAX 512 /* RFC 1035 §4.2.1: UDP without EDNS */
/* The UDP payload size sluice advertises in its OPT, and the default most it answers over UDP:
 * DNS Flag Day 2020's 1232 bytes, which fit an IPv6 packet in a 1280-byte MTU unfragmented. */
#define DNS_REPLY_EDNS_SIZE 1232
#define DNS_REPLY_TCP_MAX 65535 /* RFC 7766 §8: the two-byte length prefix */
#define DNS_REPLY_NAMES 8	/* names remembered to compress against, the question's first */

/* The owner name of a record that is the question's name (written as a pointer to it). */
#define DNS_REPLY_QNAME ((struct slice){NULL, 0})

/* A reply being built, set up by dns_reply_init. A caller may read `truncated` (for its log
 * line) and changes nothing. */
struct dns_reply {
	uint8_t *buf;
	size_t limit;	   /* the whole message, OPT included, stays within this */
	size_t len;	   /* bytes written so far, without the OPT (written last) */
	size_t answers_at; /* where the answer section begins: the end of the question */
	size_t opt_len;	   /* the room kept for the OPT: 11 bytes, or 0 without EDNS */
	uint16_t ancount;
	int rcode;
	bool truncated; /* an answer did not fit: TC=1, no answers, and no more are taken */
	bool edns_do;
	bool finished;
	unsigned n_names;
	uint16_t names[DNS_REPLY_NAMES]; /* offsets of whole names written out, not compressed */
};

/* Starts a reply to q (which dns_msg_parse returned as DNS_MSG_QUESTION) with rcode (enum
 * dns_rcode; an extended one such as BADVERS only when q has EDNS): the same id, QR=1, opcode
 * QUERY, AA=0, RD and CD copied, RA=1, the question as the client sent it. limit is the largest
 * message the transport takes (dns_reply_udp_limit, or DNS_REPLY_TCP_MAX), 512 at least; buf
 * holds cap >= limit bytes (for TCP, give buf + 2 and write the length prefix in front). */
void dns_reply_init(struct dns_reply *r, uint8_t *buf, size_t cap, size_t limit,
		    const struct dns_query *q, int rcode);

/* Answers, class IN, in the order added. owner is a name as text ("www.example.com", a trailing
 * dot allowed) or DNS_REPLY_QNAME; a name already in the message (the question's, an earlier
 * owner or CNAME target) is written as a pointer to it (RFC 1035 §4.1.4). A TTL over 2^31-1 is
 * sent as 2^31-1 (RFC 2181 §8). Each returns true when the record is in the message; false when
 * a name is not a host name (dns_reply_name_format) or the rdata is longer than 65535 (nothing
 * is written), or when the record did not fit: then the reply is truncated, every answer is
 * dropped and every later one refused (RFC 2181 §9: the client asks again over TCP). */
bool dns_reply_add_a(struct dns_reply *r, struct slice owner, uint32_t ttl, const uint8_t addr[4]);
bool dns_reply_add_aaaa(struct dns_reply *r, struct slice owner, uint32_t ttl,
			const uint8_t addr[16]);
bool dns_reply_add_cname(struct dns_reply *r, struct slice owner, uint32_t ttl,
			 struct slice target);
/* Any type with its RDATA as given, not compressed: HTTPS (65), SVCB (64), ... (for those, the
 * RDATA as dns_svcb_strip_hints leaves it). */
bool dns_reply_add_rdata(struct dns_reply *r, struct slice owner, uint16_t type, uint32_t ttl,
			 const uint8_t *rdata, size_t rdata_len);

/* Writes the counts, TC and the rcode, then the OPT when the query had one (UDP size
 * DNS_REPLY_EDNS_SIZE, version 0, the rcode's high bits, DO copied, no options). Returns the
 * message's length, at most limit. Nothing may be added after. */
size_t dns_reply_finish(struct dns_reply *r);

/* A header-only reply to msg, a message dns_msg_parse returned as DNS_MSG_HEADER_ONLY: its id
 * and opcode, QR=1, RD and CD copied, RA=1, rcode (0..15), every count 0. buf holds cap >= 12
 * bytes. Returns 12, or 0 when msg is shorter than a header (there is nothing to answer). */
size_t dns_reply_error(uint8_t *buf, size_t cap, struct slice msg, int rcode);

/* The largest UDP reply to q: 512 without EDNS; with EDNS the client's payload size (512 when it
 * says less, RFC 6891 §6.2.5), but no more than max (DNS_REPLY_EDNS_SIZE, or configured; at
 * least 512). */
size_t dns_reply_udp_limit(const struct dns_query *q, size_t max);

/* A host name as text ("example.com", one trailing dot allowed) as a lower-cased wire name:
 * labels of 1..63 bytes of [A-Za-z0-9-_], 255 bytes of wire at most. Returns the wire length,
 * or -1 for any other text (the root included). */
int dns_reply_name_format(struct slice text, uint8_t out[DNS_NAME_WIRE_MAX]);

#endif
