/* dns_rcode: the DNS response codes sluice answers with (RFC 1035 §4.1.1, RFC 6891 §9) and
 * their names for logs. Does not choose the code for a query (dns_msg and policy do). */
#ifndef SLUICE_PARSE_DNS_RCODE_H
#define SLUICE_PARSE_DNS_RCODE_H

enum dns_rcode {
	DNS_RCODE_NOERROR = 0,
	DNS_RCODE_FORMERR = 1,
	DNS_RCODE_SERVFAIL = 2,
	DNS_RCODE_NXDOMAIN = 3,
	DNS_RCODE_NOTIMP = 4,
	DNS_RCODE_REFUSED = 5,
	/* Extended (12-bit) codes need an OPT record: the header holds the low 4 bits, the OPT
	 * the high 8 (RFC 6891 §6.1.3). */
	DNS_RCODE_BADVERS = 16,
};

/* "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "BADVERS" (the mnemonics
 * of the IANA registry, as dig prints them); NULL for any other value. */
const char *dns_rcode_name(int rcode);

#endif
