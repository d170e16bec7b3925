/* bench/dnsload.c - UDP DNS load generator for bench/dns.sh (127.0.0.1 only).
 *
 * Keeps CONC queries outstanding over SOCKS non-blocking UDP sockets for DUR seconds (or until
 * MAXQ queries were sent), one thread, poll(). A query unanswered after 1 s is counted lost and
 * its slot sends a new one. An answer counts as ok when its rcode is 0 and it holds at least one
 * A record. Names (all under bench.test):
 *   -m fixed  -n K : n0 .. n<K-1>, round robin (the cached case; warm them first)
 *   -m unique -t T : u<T>x<counter>, never repeated (the uncached case)
 *   -m seq    -n K -t T : s<T>x0 .. s<T>x<K-1>, each once (fills a cache; use with -q K)
 * Prints: RESULT qps=... ok=... lost=... bad=... sent=... p50_us=... p99_us=...
 *
 * usage: dnsload -p PORT [-c CONC] [-d SECS] [-m MODE] [-n K] [-t TAG] [-q MAXQ] [-s SOCKS]
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAXCONC 1024 /* slot index in the low 10 bits of the id, generation in the upper 6 */
#define MAXSOCKS 16
#define TIMEOUT_US 1000000ULL
#define HIST_MAX 1000000 /* 1 us buckets up to 1 s */

struct slot {
	uint64_t sent_us;
	unsigned gen;
	int active;
};

static uint64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000ULL + (uint64_t)ts.tv_nsec / 1000;
}

static int mode_fixed = 1, mode_seq = 0;
static unsigned long nnames = 100, counter = 0;
static const char *tag = "0";

/* build a query for the next name into buf; returns its length */
static size_t build(unsigned char *buf, uint16_t id)
{
	char name[96];
	if (mode_fixed)
		snprintf(name, sizeof name, "n%lu.bench.test", counter++ % nnames);
	else if (mode_seq)
		snprintf(name, sizeof name, "s%sx%lu.bench.test", tag, counter++);
	else
		snprintf(name, sizeof name, "u%sx%lu.bench.test", tag, counter++);
	size_t n = 0;
	buf[n++] = id >> 8;
	buf[n++] = id & 0xff;
	buf[n++] = 0x01; /* RD */
	buf[n++] = 0x00;
	buf[n++] = 0;
	buf[n++] = 1; /* QDCOUNT */
	memset(buf + n, 0, 6);
	n += 6;
	const char *p = name;
	while (*p) {
		const char *dot = strchr(p, '.');
		size_t l = dot ? (size_t)(dot - p) : strlen(p);
		buf[n++] = (unsigned char)l;
		memcpy(buf + n, p, l);
		n += l;
		p += l;
		if (*p == '.')
			p++;
	}
	buf[n++] = 0;
	buf[n++] = 0;
	buf[n++] = 1; /* A */
	buf[n++] = 0;
	buf[n++] = 1; /* IN */
	return n;
}

static int skip_name(const unsigned char *m, size_t len, size_t *off)
{
	while (*off < len) {
		unsigned c = m[*off];
		if (c == 0) {
			(*off)++;
			return 0;
		}
		if ((c & 0xc0) == 0xc0) {
			*off += 2;
			return *off <= len ? 0 : -1;
		}
		if (c & 0xc0)
			return -1;
		*off += 1 + c;
	}
	return -1;
}

/* 1 = rcode 0 with an A record, 0 = other answer, -1 = not parseable */
static int judge(const unsigned char *m, size_t len)
{
	if (len < 12 || !(m[2] & 0x80))
		return -1;
	if ((m[3] & 0x0f) != 0)
		return 0;
	unsigned qd = m[4] << 8 | m[5], an = m[6] << 8 | m[7];
	size_t off = 12;
	for (unsigned i = 0; i < qd; i++) {
		if (skip_name(m, len, &off))
			return -1;
		off += 4;
	}
	for (unsigned i = 0; i < an; i++) {
		if (skip_name(m, len, &off) || off + 10 > len)
			return -1;
		unsigned type = m[off] << 8 | m[off + 1], rdlen = m[off + 8] << 8 | m[off + 9];
		off += 10;
		if (off + rdlen > len)
			return -1;
		if (type == 1 && rdlen == 4)
			return 1;
		off += rdlen;
	}
	return 0;
}

int main(int argc, char **argv)
{
	int port = 0, conc = 64, nsocks = 2, opt;
	double dur = 5;
	unsigned long maxq = 0;
	while ((opt = getopt(argc, argv, "p:c:d:m:n:t:q:s:")) != -1) {
		switch (opt) {
		case 'p':
			port = atoi(optarg);
			break;
		case 'c':
			conc = atoi(optarg);
			break;
		case 'd':
			dur = atof(optarg);
			break;
		case 'm':
			mode_fixed = !strcmp(optarg, "fixed");
			mode_seq = !strcmp(optarg, "seq");
			if (!mode_fixed && !mode_seq && strcmp(optarg, "unique")) {
				fprintf(stderr, "bad -m\n");
				return 2;
			}
			break;
		case 'n':
			nnames = strtoul(optarg, NULL, 10);
			break;
		case 't':
			tag = optarg;
			break;
		case 'q':
			maxq = strtoul(optarg, NULL, 10);
			break;
		case 's':
			nsocks = atoi(optarg);
			break;
		default:
			fprintf(stderr, "usage: dnsload -p PORT [-c CONC] [-d SECS] [-m "
					"fixed|unique|seq] [-n K] [-t TAG] [-q MAXQ] [-s SOCKS]\n");
			return 2;
		}
	}
	if (port <= 0 || port > 65535 || conc < 1 || conc > MAXCONC || nsocks < 1 ||
	    nsocks > MAXSOCKS || dur <= 0 || dur > 600 || nnames < 1) {
		fprintf(stderr,
			"dnsload: bad arguments (127.0.0.1 only; conc <= %d, socks <= %d, secs <= "
			"600)\n",
			MAXCONC, MAXSOCKS);
		return 2;
	}
	if (nsocks > conc)
		nsocks = conc;
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int fds[MAXSOCKS];
	struct pollfd pfd[MAXSOCKS];
	for (int i = 0; i < nsocks; i++) {
		fds[i] = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
		int big = 4 << 20;
		setsockopt(fds[i], SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
		if (fds[i] < 0 || connect(fds[i], (struct sockaddr *)&sa, sizeof sa)) {
			perror("dnsload: socket");
			return 1;
		}
		pfd[i] = (struct pollfd){.fd = fds[i], .events = POLLIN};
	}
	static struct slot slots[MAXCONC];
	static uint32_t hist[HIST_MAX + 1];
	unsigned long sent = 0, ok = 0, lost = 0, bad = 0, answered = 0;
	unsigned char buf[1500];
	uint64_t last_answer = 0;
	uint64_t start = now_us(), end = start + (uint64_t)(dur * 1e6), last_sweep = start;

#define SEND(i)                                                                                    \
	do {                                                                                       \
		slots[i].gen = (slots[i].gen + 1) & 63;                                            \
		size_t qn = build(buf, (uint16_t)((slots[i].gen << 10) | (unsigned)(i)));          \
		slots[i].sent_us = now_us();                                                       \
		slots[i].active = 1;                                                               \
		if (send(fds[(i) % nsocks], buf, qn, 0) < 0 && errno != EAGAIN)                    \
			perror("send");                                                            \
		sent++;                                                                            \
	} while (0)
#define CAN_SEND() (now_us() < end && (!maxq || sent < maxq))

	for (int i = 0; i < conc && CAN_SEND(); i++)
		SEND(i);
	for (;;) {
		int active = 0;
		for (int i = 0; i < conc; i++)
			active += slots[i].active;
		if (!active)
			break;
		if (now_us() > end + 2 * TIMEOUT_US)
			break; /* hard bound */
		int r = poll(pfd, (nfds_t)nsocks, 50);
		if (r < 0 && errno != EINTR) {
			perror("poll");
			return 1;
		}
		for (int s = 0; s < nsocks && r > 0; s++) {
			if (!(pfd[s].revents & POLLIN))
				continue;
			for (int k = 0; k < 256; k++) {
				ssize_t n = recv(fds[s], buf, sizeof buf, 0);
				if (n < 0)
					break;
				if (n < 12) {
					bad++;
					continue;
				}
				unsigned id = buf[0] << 8 | buf[1], i = id & 1023, gen = id >> 10;
				if ((int)i >= conc || !slots[i].active || slots[i].gen != gen ||
				    (int)(i % nsocks) != s)
					continue; /* late answer to a query counted lost */
				uint64_t lat = now_us() - slots[i].sent_us;
				last_answer = now_us();
				slots[i].active = 0;
				answered++;
				int j = judge(buf, (size_t)n);
				if (j == 1) {
					ok++;
					hist[lat > HIST_MAX ? HIST_MAX : lat]++;
				} else
					bad++;
				if (CAN_SEND())
					SEND(i);
			}
		}
		uint64_t t = now_us();
		if (t - last_sweep >= 10000) {
			last_sweep = t;
			for (int i = 0; i < conc; i++) {
				if (slots[i].active && t - slots[i].sent_us >= TIMEOUT_US) {
					slots[i].active = 0;
					lost++;
					if (CAN_SEND())
						SEND(i);
				}
			}
		}
	}
	double secs = (double)((last_answer ? last_answer : now_us()) - start) / 1e6;
	uint64_t p50 = 0, p99 = 0, acc = 0;
	int got50 = 0;
	for (uint64_t l = 0; l <= HIST_MAX && ok; l++) {
		acc += hist[l];
		if (!got50 && acc * 2 >= ok) {
			p50 = l;
			got50 = 1;
		}
		if (acc * 100 >= ok * 99) {
			p99 = l;
			break;
		}
	}
	printf("RESULT qps=%.0f ok=%lu lost=%lu bad=%lu sent=%lu answered=%lu secs=%.2f "
	       "p50_us=%llu p99_us=%llu\n",
	       (double)ok / secs, ok, lost, bad, sent, answered, secs, (unsigned long long)p50,
	       (unsigned long long)p99);
	return 0;
}
