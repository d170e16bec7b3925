/* authority: host normalisation and IP literal parsing for request targets and Host headers.
 * A host is either a name (lower-cased, trailing dot removed, LDH/underscore labels) or an IP
 * address in any spelling inet_aton or a URL parser would accept, judged as the address it
 * denotes. Does not resolve names or decide policy. */
#ifndef SLUICE_PARSE_AUTHORITY_H
#define SLUICE_PARSE_AUTHORITY_H

#include <stdbool.h>
#include <stdint.h>

#include "base/ip_addr.h"
#include "base/slice.h"

#define AUTHORITY_NAME_MAX 253

enum host_kind { HOST_NAME, HOST_IPV4, HOST_IPV6 };

struct authority {
	enum host_kind kind;
	/* Normalised name, or the canonical text of the IP address (IPv6 without brackets, RFC
	 * 5952); NUL-terminated. */
	char name[AUTHORITY_NAME_MAX + 1];
	size_t name_len;
	struct ip_addr ip; /* when kind != HOST_NAME */
	uint16_t port;	   /* explicit port, else the default passed in */
	bool has_port;
	/* Where the host lies in the parsed text, as the agent spelled it (inside the brackets of
	 * an IPv6 literal): the log shows it when it differs from name. Offsets, not a pointer,
	 * so that no dangling slice outlives the text. */
	size_t spelled_at, spelled_len;
};

/* Parses "host[:port]" where host is a reg-name, an IPv4 literal in any inet_aton spelling
 * ("2852039166", "0251.0376.0251.0376", "0xa9.0xfe.0xa9.0xfe", "169.254.43518", "127.1") or a
 * bracketed IPv6 literal ("[::ffff:a9fe:a9fe]", "[::169.254.169.254]"). Refuses (returns -1,
 * *detail set to a static reason) userinfo ('@'), backslashes, percent-encoding, brackets
 * around names, zone identifiers, empty hosts, port 0 or > 65535, non-ASCII bytes, labels
 * longer than 63 or names longer than 253, and names whose last label is numeric but are not
 * a valid IPv4 address (WHATWG URL "ends in a number"), and "0x" with no digits. One trailing
 * dot is dropped, from names and IPv4 literals alike ("127.0.0.1." is 127.0.0.1). Returns 0 on
 * success; on failure *out is zeroed. detail may be NULL. */
int authority_parse(struct slice text, uint16_t default_port, struct authority *out,
		    const char **detail);

/* The same for a bare host (no port allowed). */
int authority_parse_host(struct slice host, struct authority *out, const char **detail);

/* Strict IP text (for configuration): dotted-quad IPv4 without leading zeros, or IPv6 text
 * (RFC 4291 §2.2, optional trailing dotted quad), no brackets. Returns 0 or -1. */
int authority_parse_ip_strict(struct slice text, struct ip_addr *out);

#endif
