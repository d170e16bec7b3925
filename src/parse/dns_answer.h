/* dns_answer: strict reading of an upstream resolver's response to one of sluice's own queries
 * (RFC 1035 §4.1): its rcode and question, the answer section's records with their owner names
 * decompressed, the CNAME chain from the question's name to the records that answer it, and a
 * record's RDATA with its names written out uncompressed (RFC 3597 §4), so that it can be sent
 * on in a message of sluice's own, where the offsets it pointed at mean nothing.
 * Does not judge a name or an address (policy does), build replies (emit/dns_reply does) or
 * read the authority and additional sections (nothing of them is sent on). */
#ifndef SLUICE_PARSE_DNS_ANSWER_H
#define SLUICE_PARSE_DNS_ANSWER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/slice.h"
#include "parse/dns_msg.h"

/* The most answer records read: a response with more is refused, not cut (a partial RRset would
 * tell the client something the upstream did not say). */
#define DNS_ANSWER_RR_MAX 48
/* The most CNAME steps followed from the question's name (resolvers stop at 8 to 16). */
#define DNS_ANSWER_CHAIN_MAX 8

struct dns_rr {
	struct dns_name owner;
	uint16_t type, rclass;
	uint32_t ttl;
	size_t rdata_at; /* in the message */
	uint16_t rdata_len;
};

struct dns_response {
	struct slice msg;
	uint16_t id;
	int rcode; /* the header's four bits: no OPT is read */
	bool truncated;
	struct dns_name qname;
	uint16_t qtype;
	unsigned n_rr;
	struct dns_rr rr[DNS_ANSWER_RR_MAX];
};

/* What answers a question, found in the answer section by dns_answer_chain. */
struct dns_chain {
	unsigned n_steps;			     /* CNAME records followed */
	unsigned step[DNS_ANSWER_CHAIN_MAX];	     /* their indexes in rr */
	struct dns_name alias[DNS_ANSWER_CHAIN_MAX]; /* each one's target */
	const struct dns_name *end; /* the name answered: the last target or qname */
	unsigned n_final;
	unsigned final[DNS_ANSWER_RR_MAX]; /* indexes of the records of qtype owned by end */
};

/* rr's RDATA as it lies in the message. */
static inline struct slice dns_rr_rdata(const struct dns_response *r, const struct dns_rr *rr)
{
	return slice_make(r->msg.ptr + rr->rdata_at, rr->rdata_len);
}

/* Reads msg: a header with QR=1 and one question, then ANCOUNT records whose owner names may
 * be compressed (pointers only backwards, 255 bytes of wire name at most) and whose RDATA lies
 * within the message; the authority and additional sections are skipped unread. Returns 0, or
 * -1 with *detail set to a static reason (detail may be NULL). */
int dns_answer_parse(struct slice msg, struct dns_response *out, const char **detail);

/* The records that answer (qname, qtype) in r, in the order they came: from qname, the CNAME
 * owned by the name reached so far (one at most), until a name owns none or qtype is CNAME
 * (a CNAME question is answered by the CNAME itself, RFC 1034 §3.6.2); then the records of
 * qtype owned by that last name. Records off the chain (DNAME, and any a server added for
 * other names) are left out. Returns 0, or -1 with *detail set: a chain longer than
 * DNS_ANSWER_CHAIN_MAX or looping, two CNAMEs for one name, a CNAME whose RDATA is not one
 * name. */
int dns_answer_chain(const struct dns_response *r, const struct dns_name *qname, uint16_t qtype,
		     struct dns_chain *out, const char **detail);

/* rr's RDATA with every name in it uncompressed: for the types RFC 3597 §4 lets a server
 * compress (CNAME, NS, PTR, MB, MD, MF, MG, MR, MINFO, MX, SOA), the names read and written
 * out, the layout checked; the RDATA of any other type copied as it came. Returns its length,
 * or -1 when it is malformed or cap is too small. */
int dns_answer_rdata(const struct dns_response *r, const struct dns_rr *rr, uint8_t *out,
		     size_t cap);

/* The name at offset `skip` of rr's RDATA (the CNAME's target at 0, MX's exchange at 2), as
 * struct dns_name text. Returns 0, or -1 when there is no whole name there. */
int dns_answer_rdata_name(const struct dns_response *r, const struct dns_rr *rr, size_t skip,
			  struct dns_name *out);

#endif
