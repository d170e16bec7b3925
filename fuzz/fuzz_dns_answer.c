/* Fuzzes parse/dns_answer: no response crashes or reads out of bounds; every record read lies
 * inside the message; the chain from the question's name ends at a name that owns the records
 * it lists; and every RDATA written out uncompressed has no pointer left in its names and is
 * refused, not cut, when the buffer is one byte short. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parse/dns_answer.h"
#include "parse/dns_type.h"

#include "fuzz_check.h"

static struct dns_response r;
static struct dns_chain chain;
static uint8_t out[65536];

static void check_name(const struct dns_name *n)
{
	CHECK(n->len <= DNS_NAME_MAX && strlen(n->text) == n->len);
	CHECK(!n->is_hostname || n->labels > 0);
}

/* The names of an uncompressed RDATA of a type with one name and nothing else: no pointer. */
static void check_uncompressed_name(const uint8_t *p, size_t len)
{
	size_t at = 0;
	while (at < len && p[at] != 0) {
		CHECK((p[at] & 0xc0) == 0);
		at += 1 + p[at];
	}
	CHECK(at + 1 == len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *detail = NULL;
	struct slice msg = slice_make((const char *)data, size);

	if (dns_answer_parse(msg, &r, &detail) != 0) {
		CHECK(detail != NULL);
		return 0;
	}
	check_name(&r.qname);
	CHECK(r.n_rr <= DNS_ANSWER_RR_MAX);
	for (unsigned i = 0; i < r.n_rr; i++) {
		const struct dns_rr *rr = &r.rr[i];
		check_name(&rr->owner);
		CHECK(rr->rdata_at <= size && rr->rdata_len <= size - rr->rdata_at);
		CHECK(rr->ttl <= 0x7fffffffu);
		int n = dns_answer_rdata(&r, rr, out, sizeof(out));
		if (n < 0)
			continue;
		/* 255 bytes per name at most, two names and 20 bytes (SOA) at the very most. */
		CHECK((size_t)n <= (size_t)rr->rdata_len + 2 * DNS_NAME_WIRE_MAX + 20);
		if (n > 0)
			CHECK(dns_answer_rdata(&r, rr, out, (size_t)n - 1) == -1);
		if (rr->type == DNS_TYPE_CNAME || rr->type == DNS_TYPE_NS ||
		    rr->type == DNS_TYPE_PTR)
			check_uncompressed_name(out, (size_t)n);
		struct dns_name name;
		if (dns_answer_rdata_name(&r, rr, 0, &name) == 0)
			check_name(&name);
	}
	if (dns_answer_chain(&r, &r.qname, r.qtype, &chain, &detail) != 0) {
		CHECK(detail != NULL);
		return 0;
	}
	CHECK(chain.n_steps <= DNS_ANSWER_CHAIN_MAX);
	CHECK(chain.end == (chain.n_steps ? &chain.alias[chain.n_steps - 1] : &r.qname));
	for (unsigned i = 0; i < chain.n_steps; i++) {
		CHECK(chain.step[i] < r.n_rr && r.rr[chain.step[i]].type == DNS_TYPE_CNAME);
		check_name(&chain.alias[i]);
	}
	for (unsigned i = 0; i < chain.n_final; i++) {
		const struct dns_rr *rr = &r.rr[chain.final[i]];
		CHECK(rr->type == r.qtype && rr->owner.len == chain.end->len);
		CHECK(memcmp(rr->owner.text, chain.end->text, rr->owner.len) == 0);
	}
	return 0;
}
