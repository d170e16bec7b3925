#include "io/sockaddr.h"

#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

socklen_t sockaddr_from_ip(struct sockaddr_storage *ss, const struct ip_addr *ip, uint16_t port)
{
	memset(ss, 0, sizeof(*ss));
	if (ip->family == IP_V4) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		memcpy(&sin->sin_addr, ip->bytes, 4);
		return sizeof(*sin);
	}
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(port);
	memcpy(&sin6->sin6_addr, ip->bytes, 16);
	return sizeof(*sin6);
}

int sockaddr_to_ip(const struct sockaddr *sa, struct ip_addr *ip, uint16_t *port)
{
	memset(ip, 0, sizeof(*ip));
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
		ip->family = IP_V4;
		memcpy(ip->bytes, &sin->sin_addr, 4);
		*port = ntohs(sin->sin_port);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
		ip->family = IP_V6;
		memcpy(ip->bytes, &sin6->sin6_addr, 16);
		*port = ntohs(sin6->sin6_port);
		return 0;
	}
	return -1;
}

void sockaddr_format(const struct ip_addr *ip, uint16_t port, char out[SOCKADDR_TEXT_MAX])
{
	char text[IP_ADDR_TEXT_MAX];
	ip_addr_format(ip, text);
	if (ip->family == IP_V6)
		snprintf(out, SOCKADDR_TEXT_MAX, "[%s]:%u", text, (unsigned)port);
	else
		snprintf(out, SOCKADDR_TEXT_MAX, "%s:%u", text, (unsigned)port);
}
