#include "io/udp_batch.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

union pktinfo_space {
	char v4[CMSG_SPACE(sizeof(struct in_pktinfo))];
	char v6[CMSG_SPACE(sizeof(struct in6_pktinfo))];
};

struct udp_batch {
	/* reading */
	struct mmsghdr in[UDP_BATCH_MAX];
	struct iovec in_iov[UDP_BATCH_MAX];
	struct sockaddr_storage in_peer[UDP_BATCH_MAX];
	char in_control[UDP_BATCH_MAX][256];
	unsigned char in_buf[UDP_BATCH_MAX][UDP_BATCH_IN_MAX];
	/* writing */
	unsigned n_out;
	struct mmsghdr out[UDP_BATCH_MAX];
	struct iovec out_iov[UDP_BATCH_MAX];
	struct sockaddr_storage out_peer[UDP_BATCH_MAX];
	union pktinfo_space out_control[UDP_BATCH_MAX];
	unsigned char out_buf[UDP_BATCH_MAX][UDP_BATCH_OUT_MAX];
};

struct udp_batch *udp_batch_new(void)
{
	return calloc(1, sizeof(struct udp_batch));
}

void udp_batch_free(struct udp_batch *b)
{
	free(b);
}

unsigned udp_batch_recv(struct udp_batch *b, int fd)
{
	for (unsigned i = 0; i < UDP_BATCH_MAX; i++) {
		b->in_iov[i] = (struct iovec){b->in_buf[i], sizeof(b->in_buf[i])};
		b->in[i].msg_hdr = (struct msghdr){.msg_name = &b->in_peer[i],
						   .msg_namelen = sizeof(b->in_peer[i]),
						   .msg_iov = &b->in_iov[i],
						   .msg_iovlen = 1,
						   .msg_control = b->in_control[i],
						   .msg_controllen = sizeof(b->in_control[i])};
		b->in[i].msg_len = 0;
	}
	for (;;) {
		int n = recvmmsg(fd, b->in, UDP_BATCH_MAX, MSG_DONTWAIT, NULL);
		if (n < 0 && errno == EINTR)
			continue;
		return n < 0 ? 0 : (unsigned)n;
	}
}

static void local_from_cmsg(struct msghdr *msg, struct ip_addr *local)
{
	memset(local, 0, sizeof(*local));
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(msg); cm; cm = CMSG_NXTHDR(msg, cm)) {
		if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;
			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			local->family = IP_V4;
			memcpy(local->bytes, &pi.ipi_addr, 4);
		} else if (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo pi;
			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			local->family = IP_V6;
			memcpy(local->bytes, &pi.ipi6_addr, 16);
		}
	}
}

void udp_batch_get(const struct udp_batch *b, unsigned i, struct udp_datagram *out)
{
	struct msghdr *msg = (struct msghdr *)&b->in[i].msg_hdr;
	out->data = b->in_buf[i];
	out->truncated = (msg->msg_flags & MSG_TRUNC) != 0;
	out->len = out->truncated ? 0 : b->in[i].msg_len;
	out->peer = &b->in_peer[i];
	out->peer_len = msg->msg_namelen;
	local_from_cmsg(msg, &out->local);
}

/* msg's control holds the source address for a wildcard socket's reply. */
static void set_source(struct msghdr *msg, union pktinfo_space *control,
		       const struct ip_addr *local)
{
	struct cmsghdr *cm;

	memset(control, 0, sizeof(*control));
	msg->msg_control = control;
	if (local->family == IP_V4) {
		struct in_pktinfo pi;
		memset(&pi, 0, sizeof(pi));
		memcpy(&pi.ipi_spec_dst, local->bytes, 4);
		msg->msg_controllen = CMSG_SPACE(sizeof(pi));
		cm = CMSG_FIRSTHDR(msg);
		cm->cmsg_level = IPPROTO_IP;
		cm->cmsg_type = IP_PKTINFO;
		cm->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
	} else {
		struct in6_pktinfo pi;
		memset(&pi, 0, sizeof(pi));
		memcpy(&pi.ipi6_addr, local->bytes, 16);
		msg->msg_controllen = CMSG_SPACE(sizeof(pi));
		cm = CMSG_FIRSTHDR(msg);
		cm->cmsg_level = IPPROTO_IPV6;
		cm->cmsg_type = IPV6_PKTINFO;
		cm->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
	}
}

bool udp_batch_queue(struct udp_batch *b, const void *buf, size_t len,
		     const struct sockaddr_storage *peer, socklen_t peer_len,
		     const struct ip_addr *local)
{
	if (b->n_out == UDP_BATCH_MAX || len > UDP_BATCH_OUT_MAX)
		return false;
	unsigned i = b->n_out++;
	memcpy(b->out_buf[i], buf, len);
	memcpy(&b->out_peer[i], peer, peer_len);
	b->out_iov[i] = (struct iovec){b->out_buf[i], len};
	b->out[i].msg_hdr = (struct msghdr){.msg_name = &b->out_peer[i],
					    .msg_namelen = peer_len,
					    .msg_iov = &b->out_iov[i],
					    .msg_iovlen = 1};
	if (local)
		set_source(&b->out[i].msg_hdr, &b->out_control[i], local);
	return true;
}

void udp_batch_flush(struct udp_batch *b, int fd)
{
	unsigned sent = 0;

	while (sent < b->n_out) {
		int n = sendmmsg(fd, b->out + sent, b->n_out - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break; /* the rest is lost, as datagrams may be */
		sent += (unsigned)n;
	}
	b->n_out = 0;
}

void udp_send_one(int fd, const void *buf, size_t len, const struct sockaddr_storage *peer,
		  socklen_t peer_len, const struct ip_addr *local)
{
	struct iovec iov = {(void *)buf, len};
	struct msghdr msg = {
	    .msg_name = (void *)peer, .msg_namelen = peer_len, .msg_iov = &iov, .msg_iovlen = 1};
	union pktinfo_space control;

	if (local)
		set_source(&msg, &control, local);
	ssize_t ignored = sendmsg(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
	(void)ignored;
}
