/*
 * slowloris - slow-header clients for the reliability programs (bench/reliability.sh).
 * It does not measure latency (wrk does) nor the proxy's memory (the script does).
 *
 * Opens -n connections to the proxy at -p (at most 200 connects in flight), then sends each one
 * byte of a request head every -i milliseconds (staggered across the interval so the bytes do
 * not arrive in one burst), never completing the head: once the request line and one header
 * are sent it keeps sending "X-a: b\r\n" header lines, one byte at a time. Runs for -d seconds,
 * then prints one RESULT line and closes everything:
 *
 *   RESULT opened=N open_at_end=N closed_by_peer=N replies=N status408=N
 *          close_p50_ms=N close_max_ms=N connect_failed=N
 *
 * close_*_ms: time from a connection's open to the peer closing it (only those closed).
 * replies: connections that got any bytes back; status408: those whose reply starts
 * "HTTP/1.1 408".
 *
 * Safety: the proxy address must be exactly 127.0.0.1 (the benchmark's hard rule); anything
 * else is refused. The run is bounded by -d (at most 600 s) and -n (at most 20000).
 *
 * Build: gcc -std=c11 -O2 -Wall -Wextra -o slowloris slowloris.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { MAX_CONNS = 20000, MAX_CONNECTING = 200 };

struct slow {
	int fd;
	bool connected;
	bool closed;
	bool replied;
	bool got408;
	size_t sent;	  /* bytes of the head script sent so far */
	double opened_ms; /* when connect() was issued */
	double closed_ms;
	double next_ms; /* when the next byte is due */
};

static const char HEAD[] = "GET http://127.0.0.1:18280/100b HTTP/1.1\r\nHost: 127.0.0.1:18280\r\n";
static const char MORE[] = "X-a: b\r\n";

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static char script_byte(size_t i)
{
	size_t n = sizeof(HEAD) - 1;
	if (i < n)
		return HEAD[i];
	return MORE[(i - n) % (sizeof(MORE) - 1)];
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static void usage(void)
{
	fprintf(stderr, "usage: slowloris -p 127.0.0.1:PORT -n COUNT -d SECONDS [-i MS]\n");
	exit(2);
}

static struct sockaddr_in parse_addr(const char *s)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	const char *colon = strrchr(s, ':');
	if (!colon || (size_t)(colon - s) != strlen("127.0.0.1") ||
	    strncmp(s, "127.0.0.1", strlen("127.0.0.1")) != 0) {
		fprintf(stderr, "slowloris: only 127.0.0.1 is allowed, got %s\n", s);
		exit(2);
	}
	long port = strtol(colon + 1, NULL, 10);
	if (port < 1 || port > 65535)
		usage();
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return sa;
}

static void mark_closed(struct slow *s, int ep, double t)
{
	epoll_ctl(ep, EPOLL_CTL_DEL, s->fd, NULL);
	close(s->fd);
	s->fd = -1;
	s->closed = true;
	s->closed_ms = t - s->opened_ms;
}

int main(int argc, char **argv)
{
	const char *proxy = NULL;
	long n = 0, secs = 0, interval = 1000;
	int opt;
	while ((opt = getopt(argc, argv, "p:n:d:i:")) != -1) {
		switch (opt) {
		case 'p':
			proxy = optarg;
			break;
		case 'n':
			n = strtol(optarg, NULL, 10);
			break;
		case 'd':
			secs = strtol(optarg, NULL, 10);
			break;
		case 'i':
			interval = strtol(optarg, NULL, 10);
			break;
		default:
			usage();
		}
	}
	if (!proxy || n < 1 || n > MAX_CONNS || secs < 1 || secs > 600 || interval < 10 ||
	    interval > 60000)
		usage();
	struct sockaddr_in sa = parse_addr(proxy);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);

	struct slow *c = calloc((size_t)n, sizeof(*c));
	int ep = epoll_create1(0);
	if (!c || ep < 0) {
		perror("slowloris: setup");
		return 1;
	}
	double t0 = now_ms(), end = t0 + (double)secs * 1e3;
	long started = 0, connecting = 0, connect_failed = 0;
	struct epoll_event evs[256];
	while (!stop && now_ms() < end) {
		/* Open more, at most MAX_CONNECTING in flight so the listen backlog copes. */
		while (started < n && connecting < MAX_CONNECTING) {
			struct slow *s = &c[started++];
			s->opened_ms = now_ms();
			s->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
			if (s->fd < 0) {
				connect_failed++;
				s->closed = true;
				s->closed_ms = -1;
				continue;
			}
			int r = connect(s->fd, (struct sockaddr *)&sa, sizeof(sa));
			if (r < 0 && errno != EINPROGRESS) {
				connect_failed++;
				close(s->fd);
				s->fd = -1;
				s->closed = true;
				s->closed_ms = -1;
				continue;
			}
			struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP,
						 .data.u64 = (uint64_t)(s - c)};
			epoll_ctl(ep, EPOLL_CTL_ADD, s->fd, &ev);
			connecting++;
		}
		int k = epoll_wait(ep, evs, 256, 5);
		double t = now_ms();
		for (int i = 0; i < k; i++) {
			struct slow *s = &c[evs[i].data.u64];
			if (s->closed)
				continue;
			if (!s->connected && (evs[i].events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
				int err = 0;
				socklen_t len = sizeof(err);
				getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len);
				connecting--;
				if (err) {
					connect_failed++;
					mark_closed(s, ep, t);
					s->closed_ms = -1;
					continue;
				}
				s->connected = true;
				/* Stagger: each connection's byte is due at its own offset. */
				s->next_ms =
				    t + (double)((s - c) % 1000) * (double)interval / 1000.0;
				struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP,
							 .data.u64 = evs[i].data.u64};
				epoll_ctl(ep, EPOLL_CTL_MOD, s->fd, &ev);
				continue;
			}
			if (evs[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
				char buf[512];
				ssize_t r = read(s->fd, buf, sizeof(buf));
				if (r > 0) {
					if (!s->replied && r >= 12 &&
					    memcmp(buf, "HTTP/1.1 408", 12) == 0)
						s->got408 = true;
					s->replied = true;
				}
				if (r == 0 || (r < 0 && errno != EAGAIN))
					mark_closed(s, ep, t);
			}
		}
		/* Trickle: one byte to every connection whose turn it is. */
		for (long i = 0; i < started; i++) {
			struct slow *s = &c[i];
			if (s->closed || !s->connected || t < s->next_ms)
				continue;
			char b = script_byte(s->sent);
			ssize_t w = write(s->fd, &b, 1);
			if (w == 1)
				s->sent++;
			else if (w < 0 && errno != EAGAIN)
				mark_closed(s, ep, t);
			s->next_ms += (double)interval;
		}
	}

	long open_at_end = 0, closed = 0, replies = 0, n408 = 0, nclose = 0;
	double *cl = calloc((size_t)n + 1, sizeof(double));
	for (long i = 0; i < started; i++) {
		struct slow *s = &c[i];
		if (s->replied)
			replies++;
		if (s->got408)
			n408++;
		if (s->closed && s->closed_ms >= 0) {
			closed++;
			cl[nclose++] = s->closed_ms;
		} else if (!s->closed && s->connected) {
			open_at_end++;
		}
		if (s->fd >= 0)
			close(s->fd);
	}
	qsort(cl, (size_t)nclose, sizeof(double), cmp_double);
	printf("RESULT opened=%ld open_at_end=%ld closed_by_peer=%ld replies=%ld status408=%ld "
	       "close_p50_ms=%.0f close_max_ms=%.0f connect_failed=%ld\n",
	       started - connect_failed, open_at_end, closed, replies, n408,
	       nclose ? cl[nclose / 2] : 0.0, nclose ? cl[nclose - 1] : 0.0, connect_failed);
	free(cl);
	free(c);
	close(ep);
	return 0;
}
