/* udp_batch: datagrams read with one recvmmsg and replies sent with one sendmmsg, each with the
 * local address it came to or leaves from (IP_PKTINFO / IPV6_PKTINFO, for a socket bound to
 * every address): a DNS listener under load spends its time in these calls, and batching them
 * halves them. Does not parse or answer anything (dns_server does). */
#ifndef SLUICE_IO_UDP_BATCH_H
#define SLUICE_IO_UDP_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "base/ip_addr.h"

/* Datagrams read per call: a flood on one socket cannot starve the connections. */
#define UDP_BATCH_MAX 32
/* The largest datagram read whole: a longer one is reported truncated. */
#define UDP_BATCH_IN_MAX 1536
/* The largest reply queued (DNS over UDP with EDNS: 1232); a longer one is sent alone. */
#define UDP_BATCH_OUT_MAX 1232

struct udp_batch;

struct udp_datagram {
	const unsigned char *data;
	size_t len;
	bool truncated; /* longer than UDP_BATCH_IN_MAX: data holds its start only */
	const struct sockaddr_storage *peer;
	socklen_t peer_len;
	struct ip_addr local; /* from the packet info; unspecified when there was none */
};

/* NULL when out of memory. */
struct udp_batch *udp_batch_new(void);
void udp_batch_free(struct udp_batch *b);

/* Reads what fd has, up to UDP_BATCH_MAX datagrams; returns how many (0 when none, or on an
 * error such as an ICMP report of an earlier reply). udp_batch_get gives each, valid until the
 * next read. */
unsigned udp_batch_recv(struct udp_batch *b, int fd);
void udp_batch_get(const struct udp_batch *b, unsigned i, struct udp_datagram *out);

/* Queues a reply to peer, from local when it is not NULL (a wildcard socket's: the address the
 * query came to); false when it does not fit (full, or over UDP_BATCH_OUT_MAX): send it with
 * udp_send_one. */
bool udp_batch_queue(struct udp_batch *b, const void *buf, size_t len,
		     const struct sockaddr_storage *peer, socklen_t peer_len,
		     const struct ip_addr *local);
/* Sends what is queued on fd and empties the queue. A full socket buffer drops the rest, as a
 * lost datagram would be: the client asks again. */
void udp_batch_flush(struct udp_batch *b, int fd);

/* One datagram, at once (the same rules). */
void udp_send_one(int fd, const void *buf, size_t len, const struct sockaddr_storage *peer,
		  socklen_t peer_len, const struct ip_addr *local);

#endif
