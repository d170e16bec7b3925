/* dns_svcb: strict reading of SVCB and HTTPS RDATA (RFC 9460 §2.2), the addresses of its
 * ipv4hint and ipv6hint for policy to judge, and the same RDATA rebuilt without them.
 * Does not judge the addresses or the target name (policy does), or read presentation text. */
#ifndef SLUICE_PARSE_DNS_SVCB_H
#define SLUICE_PARSE_DNS_SVCB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/ip_addr.h"
#include "base/slice.h"
#include "parse/dns_msg.h"

/* SvcParamKeys (RFC 9460 §14.3.2; dohpath RFC 9461, ohttp RFC 9540). */
enum dns_svcb_key {
	DNS_SVCB_MANDATORY = 0,
	DNS_SVCB_ALPN = 1,
	DNS_SVCB_NO_DEFAULT_ALPN = 2,
	DNS_SVCB_PORT = 3,
	DNS_SVCB_IPV4HINT = 4,
	DNS_SVCB_ECH = 5,
	DNS_SVCB_IPV6HINT = 6,
	DNS_SVCB_DOHPATH = 7,
	DNS_SVCB_OHTTP = 8,
	DNS_SVCB_INVALID_KEY = 65535,
};

struct dns_svcb {
	struct slice rdata;	/* as given */
	uint16_t priority;	/* 0: AliasMode (RFC 9460 §2.4.2) */
	struct dns_name target; /* "" is the root: the owner itself in ServiceMode */
	size_t params_at;	/* where the SvcParams begin in rdata */
	unsigned n_params;
	struct slice ipv4hint;	/* the value: 4 bytes an address; empty when absent */
	struct slice ipv6hint;	/* 16 bytes an address */
	struct slice mandatory; /* its value: two bytes a key; empty when absent */
	bool has_ech;		/* an ech key (RFC 9460 §7.3, the ECHConfigList) */
};

/* Key sets for dns_svcb_strip: bit k stands for key k (keys 0..31). */
#define DNS_SVCB_KEY_BIT(k) (1u << (k))
#define DNS_SVCB_HINT_KEYS                                                                         \
	(DNS_SVCB_KEY_BIT(DNS_SVCB_IPV4HINT) | DNS_SVCB_KEY_BIT(DNS_SVCB_IPV6HINT))

/* Reads SvcPriority, an uncompressed TargetName and the SvcParams. Refuses (returns -1, *detail
 * set to a static reason; detail may be NULL) what RFC 9460 §2.2 calls malformed: RDATA ending
 * inside a field, keys not strictly increasing, and values not in their key's format (checked
 * for the keys above: mandatory, a non-empty list of keys in ascending order without itself,
 * each present in the RR (§8); alpn, non-empty length-prefixed ids filling it; no-default-alpn
 * and ohttp, empty; port, 2 bytes; ipv4hint and ipv6hint, one address or more); and key 65535.
 * The values of other keys (ech, dohpath and the unknown) are opaque. Returns 0. */
int dns_svcb_parse(struct slice rdata, struct dns_svcb *out, const char **detail);

/* The next hint address, the ipv4hint ones first: *pos starts at 0. False when there is none
 * left. */
bool dns_svcb_hint_next(const struct dns_svcb *s, size_t *pos, struct ip_addr *out);

/* Writes s's RDATA (s from dns_svcb_parse, which returned 0) without ipv4hint and ipv6hint, and
 * without those keys in mandatory (and without mandatory when they were all it listed), so that the
 * client learns no address but the judged A and AAAA answers. Everything else is copied as it was.
 * The result is never longer than s->rdata and parses again. Returns its length, or -1 when cap is
 * too small. */
int dns_svcb_strip_hints(const struct dns_svcb *s, uint8_t *out, size_t cap);
/* The same for any set of keys below 32 (DNS_SVCB_KEY_BIT), mandatory rewritten alike: sluice
 * strips ech so that a client never hides the name it connects to (an encrypted ClientHello's
 * outer SNI names another host). */
int dns_svcb_strip(const struct dns_svcb *s, uint32_t keys, uint8_t *out, size_t cap);
/* Whether s's mandatory lists key: such a record stripped of key would be one its owner told
 * clients not to use without it. */
bool dns_svcb_mandatory_lists(const struct dns_svcb *s, uint16_t key);

#endif
