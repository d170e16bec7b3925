/* sockaddr: conversions between struct ip_addr + port and the kernel's socket addresses.
 * Does not resolve names or open sockets. */
#ifndef SLUICE_IO_SOCKADDR_H
#define SLUICE_IO_SOCKADDR_H

#include <stdint.h>
#include <sys/socket.h>

#include "base/ip_addr.h"

#define SOCKADDR_TEXT_MAX (IP_ADDR_TEXT_MAX + 8)

socklen_t sockaddr_from_ip(struct sockaddr_storage *ss, const struct ip_addr *ip, uint16_t port);
/* Returns 0, or -1 for a family other than AF_INET/AF_INET6. */
int sockaddr_to_ip(const struct sockaddr *sa, struct ip_addr *ip, uint16_t *port);
/* "192.0.2.1:80" or "[2001:db8::1]:80". */
void sockaddr_format(const struct ip_addr *ip, uint16_t port, char out[SOCKADDR_TEXT_MAX]);

#endif
