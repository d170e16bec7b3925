/* cidr: parses CIDR text for configuration ("10.0.0.0/8", "fd00::/8", "192.0.2.1" = /32).
 * Does not accept lenient IPv4 spellings or host bits set beyond the prefix. */
#ifndef SLUICE_PARSE_CIDR_H
#define SLUICE_PARSE_CIDR_H

#include "base/ip_addr.h"
#include "base/slice.h"

/* Returns 0 and fills *addr, *prefix_len; or -1 with *detail set to a static message. */
int cidr_parse(struct slice text, struct ip_addr *addr, unsigned *prefix_len, const char **detail);

#endif
