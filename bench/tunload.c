/*
 * tunload - CONNECT tunnel load tool for the loopback benchmark (bench/run.sh).
 * It does not measure plain-HTTP keep-alive traffic (wrk does) nor the proxy's memory (run.sh
 * does).
 *
 * One thread, one epoll set, non-blocking sockets. Two modes:
 *
 *   rate  keeps -c tunnels in flight for -d seconds. One tunnel = TCP connect to the
 *         proxy, "CONNECT origin HTTP/1.1", a 2xx reply, "GET path" with
 *         "Connection: close" through the tunnel, the whole response (Content-Length),
 *         close. Prints one RESULT line: tunnels/s, failures by class, latency p50/p99.
 *
 *   hold  opens -n tunnels (at most -c being set up at a time); each one does a
 *         keep-alive GET through the tunnel (so the proxy has certainly connected
 *         upstream and relayed bytes both ways), then stays idle. Prints READY, holds
 *         them for -H seconds or until SIGTERM/SIGINT/SIGUSR1, prints DONE with the
 *         number the far side closed meanwhile, and closes everything.
 *
 * -D (rate only): no proxy, the same exchange straight with the origin (the baseline).
 * -R: connect to -p but send no CONNECT: for a TCP relay (HAProxy mode tcp) in front
 *     of the origin.
 *
 * Safety: both addresses must be exactly 127.0.0.1 (the benchmark's hard rule);
 * anything else is refused. Every phase is bounded by a time limit.
 *
 * Build: gcc -std=c11 -O2 -Wall -Wextra -o tunload tunload.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum {
	HEAD_MAX = 4096,      /* response heads larger than this count as malformed */
	HOLD_MAX = 100000,    /* most tunnels hold mode will open */
	CONC_MAX = 20000,     /* most tunnels in flight in rate mode */
	LAT_MAX = 20000000,   /* latency samples kept (rate mode) */
	RATE_SECS_MAX = 300,  /* longest rate run */
	HOLD_SECS_MAX = 1800, /* longest hold */
	EVENTS = 512,
};

enum phase {
	PH_FREE = 0,
	PH_CONNECTING,
	PH_SEND_CONNECT,
	PH_READ_CONNECT,
	PH_SEND_GET,
	PH_READ_RESPONSE,
	PH_IDLE,
};

/* Why a tunnel failed: one counter each, printed in the RESULT/READY line. */
enum fail {
	FAIL_CONNECT, /* socket()/connect() to the proxy failed */
	FAIL_STATUS,  /* CONNECT or GET answered with a non-2xx status */
	FAIL_PROTO,   /* malformed/oversized head, no Content-Length, stray bytes */
	FAIL_EOF,     /* the far side closed before the exchange was complete */
	FAIL_IO,      /* send/recv error (ECONNRESET, ...) */
	FAIL_TIMEOUT, /* the exchange took longer than -T */
	FAIL_COUNT,
};

static const char *const fail_name[FAIL_COUNT] = {
    "fail_connect", "fail_status", "fail_proto", "fail_eof", "fail_io", "fail_timeout",
};

struct tunnel {
	int fd;
	enum phase phase;
	double t0;	     /* when connect() was called */
	size_t sent;	     /* bytes of the current request already written */
	size_t head_len;     /* bytes in head[] */
	long long body_left; /* body bytes still expected; -1 while the head is incomplete */
	char head[HEAD_MAX];
};

struct load {
	struct sockaddr_in proxy, origin;
	int direct, relay, hold;
	int conc;
	double secs, hold_secs, timeout_s, setup_s;
	long count;
	char connect_req[256], get_req[256];
	size_t connect_len, get_len;
	struct tunnel *t;
	long nt;
	int ep;
	long started, ok, dropped;
	long fails[FAIL_COUNT];
	char first_status[96]; /* first non-2xx status line seen, for the report */
	char first_errno[64];
	float *lat;
	long lat_n;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void fatal(const char *msg)
{
	fprintf(stderr, "tunload: %s\n", msg);
	exit(2);
}

/* "127.0.0.1:PORT" and nothing else: the benchmark never leaves loopback. */
static int addr_parse(const char *s, struct sockaddr_in *sa)
{
	static const char prefix[] = "127.0.0.1:";
	char *end;
	long port;

	if (strncmp(s, prefix, sizeof(prefix) - 1) != 0)
		return -1;
	errno = 0;
	port = strtol(s + sizeof(prefix) - 1, &end, 10);
	if (errno || *end || port < 1 || port > 65535)
		return -1;
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return 0;
}

static void tunnel_close(struct load *ld, struct tunnel *tn)
{
	if (tn->fd >= 0) {
		epoll_ctl(ld->ep, EPOLL_CTL_DEL, tn->fd, NULL);
		close(tn->fd);
	}
	tn->fd = -1;
	tn->phase = PH_FREE;
}

static void tunnel_fail(struct load *ld, struct tunnel *tn, enum fail why, int err)
{
	ld->fails[why]++;
	if (err && !ld->first_errno[0])
		snprintf(ld->first_errno, sizeof(ld->first_errno), "%s", strerror(err));
	tunnel_close(ld, tn);
}

static void tunnel_want(struct load *ld, struct tunnel *tn, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = tn};

	epoll_ctl(ld->ep, EPOLL_CTL_MOD, tn->fd, &ev);
}

static void tunnel_start(struct load *ld, struct tunnel *tn)
{
	const struct sockaddr_in *to = ld->direct ? &ld->origin : &ld->proxy;
	struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = tn};
	int one = 1;
	int fd;

	ld->started++;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		ld->fails[FAIL_CONNECT]++;
		if (!ld->first_errno[0])
			snprintf(ld->first_errno, sizeof(ld->first_errno), "socket: %s",
				 strerror(errno));
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	tn->fd = fd;
	tn->t0 = now();
	tn->sent = 0;
	tn->head_len = 0;
	tn->body_left = -1;
	if (connect(fd, (const struct sockaddr *)to, sizeof(*to)) < 0 && errno != EINPROGRESS) {
		tunnel_fail(ld, tn, FAIL_CONNECT, errno);
		return;
	}
	tn->phase = PH_CONNECTING;
	epoll_ctl(ld->ep, EPOLL_CTL_ADD, fd, &ev);
}

/* 1 = all of req written, 0 = the socket is full, -1 = error (errno set). */
static int tunnel_send(struct tunnel *tn, const char *req, size_t len)
{
	while (tn->sent < len) {
		ssize_t n = send(tn->fd, req + tn->sent, len - tn->sent, MSG_NOSIGNAL);

		if (n > 0)
			tn->sent += (size_t)n;
		else if (n < 0 && errno == EINTR)
			continue;
		else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		else
			return -1;
	}
	return 1;
}

/* Length of the head (through CRLFCRLF) in head[], or 0 if it is not complete yet. */
static size_t head_end(const struct tunnel *tn)
{
	const char *p = memmem(tn->head, tn->head_len, "\r\n\r\n", 4);

	return p ? (size_t)(p - tn->head) + 4 : 0;
}

static int head_is_2xx(const char *h, size_t n)
{
	return n >= 12 && memcmp(h, "HTTP/1.", 7) == 0 && h[8] == ' ' && h[9] == '2';
}

static void note_status(struct load *ld, const char *h, size_t n)
{
	size_t len = 0;

	if (ld->first_status[0])
		return;
	while (len < n && len < sizeof(ld->first_status) - 1 && h[len] != '\r' && h[len] >= ' ' &&
	       h[len] < 127)
		len++;
	memcpy(ld->first_status, h, len);
	ld->first_status[len] = '\0';
}

/* Content-Length of a response head, -1 if absent or not a plain number. */
static long long head_content_length(const char *h, size_t n)
{
	const char *p = h, *end = h + n;

	while (p < end) {
		const char *eol = memmem(p, (size_t)(end - p), "\r\n", 2);

		if (!eol)
			break;
		if (eol - p > 15 && strncasecmp(p, "content-length:", 15) == 0) {
			const char *v = p + 15;
			long long cl = 0;

			while (v < eol && (*v == ' ' || *v == '\t'))
				v++;
			if (v == eol)
				return -1;
			for (; v < eol && *v >= '0' && *v <= '9'; v++)
				cl = cl * 10 + (*v - '0');
			while (v < eol && (*v == ' ' || *v == '\t'))
				v++;
			return v == eol && cl < (1LL << 40) ? cl : -1;
		}
		p = eol + 2;
	}
	return -1;
}

/* Read into head[]; 1 = head complete, 0 = wait, -1 = tunnel failed (and closed). */
static int tunnel_read_head(struct load *ld, struct tunnel *tn)
{
	for (;;) {
		ssize_t n;

		if (tn->head_len == HEAD_MAX) {
			tunnel_fail(ld, tn, FAIL_PROTO, 0);
			return -1;
		}
		n = recv(tn->fd, tn->head + tn->head_len, HEAD_MAX - tn->head_len, 0);
		if (n == 0) {
			tunnel_fail(ld, tn, FAIL_EOF, 0);
			return -1;
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			tunnel_fail(ld, tn, FAIL_IO, errno);
			return -1;
		}
		tn->head_len += (size_t)n;
		if (head_end(tn))
			return 1;
	}
}

static void tunnel_done(struct load *ld, struct tunnel *tn)
{
	if (ld->hold) {
		/* idle from here on: any event now means the far side spoke or closed */
		tn->phase = PH_IDLE;
		ld->ok++;
		tunnel_want(ld, tn, EPOLLIN | EPOLLRDHUP);
		return;
	}
	if (ld->lat_n < LAT_MAX)
		ld->lat[ld->lat_n++] = (float)((now() - tn->t0) * 1000.0);
	ld->ok++;
	tunnel_close(ld, tn);
}

static void on_connected(struct load *ld, struct tunnel *tn)
{
	int err = 0;
	socklen_t len = sizeof(err);

	getsockopt(tn->fd, SOL_SOCKET, SO_ERROR, &err, &len);
	if (err) {
		tunnel_fail(ld, tn, FAIL_CONNECT, err);
		return;
	}
	tn->sent = 0;
	tn->phase = ld->direct || ld->relay ? PH_SEND_GET : PH_SEND_CONNECT;
}

static void on_connect_reply(struct load *ld, struct tunnel *tn)
{
	size_t end;

	if (tunnel_read_head(ld, tn) <= 0)
		return;
	end = head_end(tn);
	if (!head_is_2xx(tn->head, tn->head_len)) {
		note_status(ld, tn->head, tn->head_len);
		tunnel_fail(ld, tn, FAIL_STATUS, 0);
		return;
	}
	/* the origin never speaks first: bytes after the reply head are a proxy bug */
	if (end != tn->head_len) {
		tunnel_fail(ld, tn, FAIL_PROTO, 0);
		return;
	}
	tn->sent = 0;
	tn->phase = PH_SEND_GET;
}

/* Returns 1 when the response is complete (the tunnel was handed to tunnel_done). */
static int on_response(struct load *ld, struct tunnel *tn)
{
	char sink[65536];

	if (tn->body_left < 0) {
		size_t end;
		long long cl;

		if (tunnel_read_head(ld, tn) <= 0)
			return 0;
		end = head_end(tn);
		if (!head_is_2xx(tn->head, tn->head_len)) {
			note_status(ld, tn->head, tn->head_len);
			tunnel_fail(ld, tn, FAIL_STATUS, 0);
			return 0;
		}
		cl = head_content_length(tn->head, end);
		if (cl < 0 || (long long)(tn->head_len - end) > cl) {
			tunnel_fail(ld, tn, FAIL_PROTO, 0);
			return 0;
		}
		tn->body_left = cl - (long long)(tn->head_len - end);
	}
	/* bounded: at most 64 reads per event, the rest comes with the next one */
	for (int i = 0; i < 64 && tn->body_left > 0; i++) {
		ssize_t n = recv(tn->fd, sink, sizeof(sink), 0);

		if (n == 0) {
			tunnel_fail(ld, tn, FAIL_EOF, 0);
			return 0;
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			tunnel_fail(ld, tn, FAIL_IO, errno);
			return 0;
		}
		if (n > tn->body_left) {
			tunnel_fail(ld, tn, FAIL_PROTO, 0);
			return 0;
		}
		tn->body_left -= n;
	}
	if (tn->body_left > 0)
		return 0;
	tunnel_done(ld, tn);
	return 1;
}

static void on_idle_event(struct load *ld, struct tunnel *tn)
{
	char b[256];
	ssize_t n = recv(tn->fd, b, sizeof(b), 0);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	/* closed (n == 0), reset (n < 0) or unexpected bytes: the tunnel is lost */
	ld->dropped++;
	ld->ok--;
	tunnel_close(ld, tn);
}

/* Drive one tunnel as far as it goes without blocking. */
static void tunnel_step(struct load *ld, struct tunnel *tn)
{
	for (;;) {
		int r;

		switch (tn->phase) {
		case PH_CONNECTING:
			on_connected(ld, tn);
			break;
		case PH_SEND_CONNECT:
			r = tunnel_send(tn, ld->connect_req, ld->connect_len);
			if (r < 0) {
				tunnel_fail(ld, tn, FAIL_IO, errno);
				return;
			}
			if (r == 0) {
				tunnel_want(ld, tn, EPOLLOUT);
				return;
			}
			tn->head_len = 0;
			tn->phase = PH_READ_CONNECT;
			tunnel_want(ld, tn, EPOLLIN);
			return;
		case PH_READ_CONNECT:
			on_connect_reply(ld, tn);
			if (tn->phase != PH_SEND_GET)
				return;
			break;
		case PH_SEND_GET:
			r = tunnel_send(tn, ld->get_req, ld->get_len);
			if (r < 0) {
				tunnel_fail(ld, tn, FAIL_IO, errno);
				return;
			}
			if (r == 0) {
				tunnel_want(ld, tn, EPOLLOUT);
				return;
			}
			tn->head_len = 0;
			tn->body_left = -1;
			tn->phase = PH_READ_RESPONSE;
			tunnel_want(ld, tn, EPOLLIN);
			return;
		case PH_READ_RESPONSE:
			on_response(ld, tn);
			return;
		case PH_IDLE:
			on_idle_event(ld, tn);
			return;
		case PH_FREE:
		default:
			return;
		}
	}
}

/* Close tunnels still being set up after -T; returns how many are still being set up. */
static long tunnel_expire(struct load *ld, double t)
{
	long busy = 0;

	for (long i = 0; i < ld->nt; i++) {
		struct tunnel *tn = &ld->t[i];

		if (tn->phase == PH_FREE || tn->phase == PH_IDLE)
			continue;
		if (t - tn->t0 > ld->timeout_s)
			tunnel_fail(ld, tn, FAIL_TIMEOUT, 0);
		else
			busy++;
	}
	return busy;
}

static void poll_once(struct load *ld, int ms)
{
	struct epoll_event ev[EVENTS];
	int n = epoll_wait(ld->ep, ev, EVENTS, ms);

	for (int i = 0; i < n; i++)
		tunnel_step(ld, ev[i].data.ptr);
}

static long fails_total(const struct load *ld)
{
	long sum = 0;

	for (int i = 0; i < FAIL_COUNT; i++)
		sum += ld->fails[i];
	return sum;
}

static void print_fails(const struct load *ld)
{
	for (int i = 0; i < FAIL_COUNT; i++)
		printf(" %s=%ld", fail_name[i], ld->fails[i]);
	printf(" first_status=\"%s\" first_error=\"%s\"", ld->first_status, ld->first_errno);
}

static int cmp_float(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;

	return (x > y) - (x < y);
}

static void run_rate(struct load *ld)
{
	double t_start = now(), t_end = t_start + ld->secs, t_scan = t_start, secs;
	float p50 = 0, p99 = 0;

	while (!stop && now() < t_end && ld->started < ld->count) {
		for (long i = 0; i < ld->nt && ld->started < ld->count; i++)
			if (ld->t[i].phase == PH_FREE)
				tunnel_start(ld, &ld->t[i]);
		poll_once(ld, 10);
		if (now() - t_scan > 0.1) {
			t_scan = now();
			tunnel_expire(ld, t_scan);
		}
	}
	/* tunnels still in flight at the deadline are neither counted nor failed */
	secs = now() - t_start;
	for (long i = 0; i < ld->nt; i++)
		tunnel_close(ld, &ld->t[i]);
	if (ld->lat_n > 0) {
		qsort(ld->lat, (size_t)ld->lat_n, sizeof(float), cmp_float);
		p50 = ld->lat[(ld->lat_n - 1) / 2];
		p99 = ld->lat[(long)((double)(ld->lat_n - 1) * 0.99)];
	}
	printf("RESULT mode=rate ok=%ld fail=%ld", ld->ok, fails_total(ld));
	print_fails(ld);
	printf(" secs=%.3f rate=%.1f p50_ms=%.3f p99_ms=%.3f\n", secs, (double)ld->ok / secs,
	       (double)p50, (double)p99);
}

static void run_hold(struct load *ld)
{
	double t_start = now(), t_setup_end = t_start + ld->setup_s, t_scan = t_start, t_hold_end;
	long next = 0, busy = 0;

	while (!stop && now() < t_setup_end) {
		while (next < ld->nt && busy < ld->conc) {
			tunnel_start(ld, &ld->t[next++]);
			busy++;
		}
		poll_once(ld, 10);
		if (now() - t_scan > 0.05 || busy >= ld->conc || next == ld->nt) {
			t_scan = now();
			busy = tunnel_expire(ld, t_scan);
		}
		if (next == ld->nt && busy == 0)
			break;
	}
	/* whatever is still half set up at the setup deadline counts as timed out */
	for (long i = 0; i < ld->nt; i++) {
		struct tunnel *tn = &ld->t[i];

		if (tn->phase != PH_FREE && tn->phase != PH_IDLE)
			tunnel_fail(ld, tn, FAIL_TIMEOUT, 0);
	}
	printf("READY ok=%ld fail=%ld", ld->ok, fails_total(ld));
	print_fails(ld);
	printf(" secs=%.3f\n", now() - t_start);
	fflush(stdout);
	t_hold_end = now() + ld->hold_secs;
	while (!stop && now() < t_hold_end)
		poll_once(ld, 100);
	printf("DONE ok=%ld dropped=%ld\n", ld->ok, ld->dropped);
	fflush(stdout);
	for (long i = 0; i < ld->nt; i++)
		tunnel_close(ld, &ld->t[i]);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: tunload -m rate|hold -p 127.0.0.1:PORT -o 127.0.0.1:PORT [options]\n"
		"  -m MODE  rate: tunnels per second; hold: open -n tunnels and keep them idle\n"
		"  -p ADDR  the proxy (127.0.0.1 only)\n"
		"  -o ADDR  the origin, CONNECT target (127.0.0.1 only)\n"
		"  -D       rate: no proxy, the same exchange with the origin directly\n"
		"  -R       connect to -p but send no CONNECT (a TCP relay to the origin)\n"
		"  -u PATH  path requested through each tunnel (default /100b)\n"
		"  -c N     rate: tunnels in flight; hold: tunnels being set up at once (50)\n"
		"  -d SECS  rate: duration (default 4, max %d)\n"
		"  -n N     rate: most tunnels in total; hold: tunnels to open (max %d)\n"
		"  -H SECS  hold: how long to keep them (default 60, max %d)\n"
		"  -S SECS  hold: most time to set them all up (default 60)\n"
		"  -T MS    one tunnel's setup limit (default 5000)\n",
		RATE_SECS_MAX, HOLD_MAX, HOLD_SECS_MAX);
	exit(2);
}

static double arg_num(const char *s, double lo, double hi, const char *what)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || end == s || v < lo || v > hi) {
		fprintf(stderr, "tunload: %s out of range (%g-%g)\n", what, lo, hi);
		exit(2);
	}
	return v;
}

static void raise_nofile(long need)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= (rlim_t)need)
		return;
	rl.rlim_cur = rl.rlim_max < (rlim_t)need ? rl.rlim_max : (rlim_t)need;
	setrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_cur < (rlim_t)need)
		fprintf(stderr, "tunload: warning: open-file limit %lu < %ld needed\n",
			(unsigned long)rl.rlim_cur, need);
}

int main(int argc, char **argv)
{
	struct load ld = {.conc = 50, .secs = 4, .hold_secs = 60, .timeout_s = 5, .setup_s = 60};
	const char *mode = "rate", *proxy = NULL, *origin = NULL, *path = "/100b";
	struct sigaction sa = {.sa_handler = on_signal};
	long n = -1;
	int opt;

	while ((opt = getopt(argc, argv, "m:p:o:DRu:c:d:n:H:S:T:")) != -1) {
		switch (opt) {
		case 'm':
			mode = optarg;
			break;
		case 'p':
			proxy = optarg;
			break;
		case 'o':
			origin = optarg;
			break;
		case 'D':
			ld.direct = 1;
			break;
		case 'R':
			ld.relay = 1;
			break;
		case 'u':
			path = optarg;
			break;
		case 'c':
			ld.conc = (int)arg_num(optarg, 1, CONC_MAX, "-c");
			break;
		case 'd':
			ld.secs = arg_num(optarg, 0.1, RATE_SECS_MAX, "-d");
			break;
		case 'n':
			n = (long)arg_num(optarg, 1, LAT_MAX, "-n");
			break;
		case 'H':
			ld.hold_secs = arg_num(optarg, 0, HOLD_SECS_MAX, "-H");
			break;
		case 'S':
			ld.setup_s = arg_num(optarg, 1, HOLD_SECS_MAX, "-S");
			break;
		case 'T':
			ld.timeout_s = arg_num(optarg, 10, 600000, "-T") / 1000.0;
			break;
		default:
			usage();
		}
	}
	if (optind != argc || !origin || (!proxy && !ld.direct))
		usage();
	if (strcmp(mode, "hold") == 0)
		ld.hold = 1;
	else if (strcmp(mode, "rate") != 0)
		usage();
	if (ld.direct && (ld.hold || ld.relay))
		fatal("-D is for rate mode without -R");
	if (addr_parse(origin, &ld.origin) != 0 || (proxy && addr_parse(proxy, &ld.proxy) != 0))
		fatal("addresses must be 127.0.0.1:PORT (loopback only)");
	if (strlen(path) > 128 || path[0] != '/' || strpbrk(path, " \r\n"))
		fatal("-u must be a short path starting with /");
	if (ld.hold && (n < 1 || n > HOLD_MAX))
		fatal("hold mode needs -n 1..100000");

	ld.count = ld.hold ? n : (n > 0 ? n : LAT_MAX);
	ld.nt = ld.hold ? n : ld.conc;
	ld.connect_len =
	    (size_t)snprintf(ld.connect_req, sizeof(ld.connect_req),
			     "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", origin, origin);
	ld.get_len = (size_t)snprintf(ld.get_req, sizeof(ld.get_req),
				      "GET %s HTTP/1.1\r\nHost: %s\r\n%s\r\n", path, origin,
				      ld.hold ? "" : "Connection: close\r\n");
	raise_nofile(ld.nt + 32);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	ld.t = calloc((size_t)ld.nt, sizeof(*ld.t));
	if (!ld.hold)
		ld.lat = malloc(sizeof(float) * (size_t)(ld.count < LAT_MAX ? ld.count : LAT_MAX));
	if (!ld.t || (!ld.hold && !ld.lat))
		fatal("out of memory");
	for (long i = 0; i < ld.nt; i++)
		ld.t[i].fd = -1;
	ld.ep = epoll_create1(EPOLL_CLOEXEC);
	if (ld.ep < 0)
		fatal("epoll_create1 failed");
	if (ld.hold)
		run_hold(&ld);
	else
		run_rate(&ld);
	fflush(stdout);
	close(ld.ep);
	free(ld.lat);
	free(ld.t);
	return 0;
}
