/* dns_tcp: DNS over TCP (RFC 7766) on the connection core: the listen.dns TCP listener's
 * protocol. Frames queries by their two-byte length, hands each to io/dns_server one at a time
 * in order, and writes the answers back framed; an idle connection is closed.
 * Does not judge or answer queries (dns_server does). */
#ifndef SLUICE_IO_DNS_TCP_H
#define SLUICE_IO_DNS_TCP_H

#include "io/flow.h"

extern const struct flow_ops dns_tcp_ops;

#endif
