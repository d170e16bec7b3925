/* dns_type: DNS RR type numbers (IANA "Resource Record (RR) TYPEs") and classes, and the type
 * mnemonics both ways, for logs and the configuration's list of types. Does not judge which
 * types a query may ask for (policy does). */
#ifndef SLUICE_PARSE_DNS_TYPE_H
#define SLUICE_PARSE_DNS_TYPE_H

#include <stdint.h>

#include "base/slice.h"

enum dns_type {
	DNS_TYPE_A = 1,
	DNS_TYPE_NS = 2,
	DNS_TYPE_CNAME = 5,
	DNS_TYPE_SOA = 6,
	DNS_TYPE_PTR = 12,
	DNS_TYPE_HINFO = 13,
	DNS_TYPE_MX = 15,
	DNS_TYPE_TXT = 16,
	DNS_TYPE_AAAA = 28,
	DNS_TYPE_LOC = 29,
	DNS_TYPE_SRV = 33,
	DNS_TYPE_NAPTR = 35,
	DNS_TYPE_DNAME = 39,
	DNS_TYPE_OPT = 41,
	DNS_TYPE_DS = 43,
	DNS_TYPE_SSHFP = 44,
	DNS_TYPE_RRSIG = 46,
	DNS_TYPE_NSEC = 47,
	DNS_TYPE_DNSKEY = 48,
	DNS_TYPE_NSEC3 = 50,
	DNS_TYPE_NSEC3PARAM = 51,
	DNS_TYPE_TLSA = 52,
	DNS_TYPE_CDS = 59,
	DNS_TYPE_CDNSKEY = 60,
	DNS_TYPE_SVCB = 64,
	DNS_TYPE_HTTPS = 65,
	DNS_TYPE_SPF = 99,
	DNS_TYPE_TKEY = 249,
	DNS_TYPE_TSIG = 250,
	DNS_TYPE_IXFR = 251,
	DNS_TYPE_AXFR = 252,
	DNS_TYPE_ANY = 255,
	DNS_TYPE_URI = 256,
	DNS_TYPE_CAA = 257,
};

enum dns_class {
	DNS_CLASS_IN = 1,
	DNS_CLASS_CH = 3,
	DNS_CLASS_HS = 4,
	DNS_CLASS_NONE = 254,
	DNS_CLASS_ANY = 255,
};

/* The mnemonic of a type in the table above ("A", "AAAA", "HTTPS", ...); NULL for any other
 * number (a log then shows the number). */
const char *dns_type_name(uint16_t type);

/* The type a mnemonic names, ASCII case-insensitively ("aaaa" is AAAA), or the RFC 3597 §5
 * generic form "TYPE<n>" for n in 1..65535 without leading zeros ("TYPE65" is HTTPS): a value
 * of the configuration's list of types. Returns the type, or -1 for any other text. */
int dns_type_from_name(struct slice text);

#endif
