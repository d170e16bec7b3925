/*
 * tlsload - HTTPS load tool for the interception benchmark (bench/intercept.sh).
 * It measures what a client sees over TLS (through a CONNECT proxy or straight to a TLS
 * server); it does not measure the proxy's CPU or memory (intercept.sh does).
 *
 * One thread, one epoll set, non-blocking sockets, OpenSSL. Two modes:
 *
 *   keepalive   opens -c connections: TCP connect, "CONNECT host:port" through the proxy
 *               (-x) and its 2xx, a TLS handshake with SNI = host that must verify against
 *               -C for that name, then back-to-back keep-alive "GET path" on each. Once
 *               every connection has done its handshake, counts the responses for -d
 *               seconds. Prints requests/s and the p50/p99 of request latency.
 *
 *   handshakes  keeps -c exchanges in flight for -d seconds, each on a new connection:
 *               TCP connect, CONNECT, a full TLS handshake (no session is resumed), one
 *               GET, its whole response, close_notify, close. Prints handshakes/s (one per
 *               completed exchange) and the p50/p99 of the exchange.
 *
 * Without -x the client connects to -a and speaks TLS at once (direct, or a TLS
 * terminating reverse proxy). Responses must be 2xx with a Content-Length.
 *
 * Safety: every address it connects to must be in 127.0.0.0/8; anything else is refused.
 * Every phase is bounded by a time limit.
 *
 * Build: gcc -std=c11 -O2 -Wall -Wextra -o tlsload tlsload.c -lssl -lcrypto
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

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

enum {
	HEAD_MAX = 8192,    /* response heads larger than this count as malformed */
	CONC_MAX = 10000,   /* most connections in flight */
	LAT_MAX = 20000000, /* latency samples kept */
	SECS_MAX = 300,	    /* longest measurement */
	EVENTS = 512,
	HOST_MAX = 253,
};

enum phase {
	PH_FREE = 0,
	PH_CONNECTING,
	PH_SEND_CONNECT,
	PH_READ_CONNECT,
	PH_HANDSHAKE,
	PH_SEND_GET,
	PH_READ_RESPONSE,
};

/* Why an exchange failed: one counter each, printed in the RESULT line. */
enum fail {
	FAIL_CONNECT, /* socket()/connect() failed */
	FAIL_STATUS,  /* CONNECT or GET answered with a non-2xx status */
	FAIL_PROTO,   /* malformed/oversized head, no Content-Length, stray bytes */
	FAIL_TLS,     /* handshake or record error, certificate not verified */
	FAIL_EOF,     /* the far side closed before the exchange was complete */
	FAIL_IO,      /* send/recv error (ECONNRESET, ...) */
	FAIL_TIMEOUT, /* one step took longer than -T */
	FAIL_COUNT,
};

static const char *const fail_name[FAIL_COUNT] = {
    "fail_connect", "fail_status", "fail_proto", "fail_tls", "fail_eof", "fail_io", "fail_timeout",
};

struct conn {
	int fd;
	SSL *ssl;
	enum phase phase;
	uint32_t events;     /* what epoll waits for on fd */
	double t0;	     /* connect() (handshakes) or the request's first write (keepalive) */
	double t_step;	     /* when the current step started, for -T */
	size_t sent;	     /* bytes of the CONNECT request already written */
	size_t head_len;     /* bytes in head[] */
	long long body_left; /* body bytes still expected; -1 while the head is incomplete */
	int ready;	     /* keepalive: its handshake is done */
	char head[HEAD_MAX];
};

struct load {
	struct sockaddr_in to; /* the proxy (-x) or the TLS server (-a) */
	int via_proxy, handshakes;
	int conc;
	double secs, timeout_s, setup_s;
	char host[HOST_MAX + 1];
	char connect_req[512], get_req[512];
	size_t connect_len, get_len;
	SSL_CTX *ctx;
	struct conn *c;
	int ep;
	int measuring;
	long ok, tls_done, ready;
	long fails[FAIL_COUNT];
	char first_status[96]; /* first non-2xx status line seen, for the report */
	char first_error[160];
	char tls_version[48]; /* of the first handshake: protocol and cipher */
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
	fprintf(stderr, "tlsload: %s\n", msg);
	exit(2);
}

/* "A.B.C.D:PORT" with A.B.C.D in 127.0.0.0/8: the benchmark never leaves loopback. */
static int addr_parse(const char *s, struct sockaddr_in *sa)
{
	const char *colon = strrchr(s, ':');
	char ip[16], *end;
	long port;

	if (!colon || colon == s || (size_t)(colon - s) >= sizeof(ip))
		return -1;
	memcpy(ip, s, (size_t)(colon - s));
	ip[colon - s] = '\0';
	memset(sa, 0, sizeof(*sa));
	if (inet_pton(AF_INET, ip, &sa->sin_addr) != 1)
		return -1;
	if ((ntohl(sa->sin_addr.s_addr) >> 24) != 127)
		return -1;
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (errno || *end || end == colon + 1 || port < 1 || port > 65535)
		return -1;
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	return 0;
}

/* "name:port": a DNS name (letters, digits, '-', '.') and a port; host[] gets the name. */
static int authority_parse(const char *s, char host[HOST_MAX + 1])
{
	const char *colon = strrchr(s, ':');
	char *end;
	long port;

	if (!colon || colon == s || colon - s > HOST_MAX)
		return -1;
	for (const char *p = s; p < colon; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '-' || *p == '.'))
			return -1;
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (errno || *end || end == colon + 1 || port < 1 || port > 65535)
		return -1;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	return 0;
}

static void note_error(struct load *ld, const char *what, const char *detail)
{
	if (!ld->first_error[0])
		snprintf(ld->first_error, sizeof(ld->first_error), "%s: %s", what, detail);
}

static void conn_want(struct load *ld, struct conn *c, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = c};

	if (c->events == events)
		return;
	c->events = events;
	epoll_ctl(ld->ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static void conn_close(struct load *ld, struct conn *c)
{
	if (c->ssl) {
		/* one close_notify, as a browser or curl sends; no wait for the peer's */
		if (c->phase == PH_SEND_GET)
			SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	if (c->fd >= 0) {
		epoll_ctl(ld->ep, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
	}
	c->fd = -1;
	c->phase = PH_FREE;
	c->events = 0;
	if (c->ready) {
		c->ready = 0;
		ld->ready--;
	}
}

static void conn_fail(struct load *ld, struct conn *c, enum fail why, int err)
{
	ld->fails[why]++;
	if (err)
		note_error(ld, fail_name[why], strerror(err));
	conn_close(ld, c);
}

static void conn_start(struct load *ld, struct conn *c)
{
	struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};
	int one = 1;
	int fd;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		ld->fails[FAIL_CONNECT]++;
		note_error(ld, "socket", strerror(errno));
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->fd = fd;
	c->t0 = c->t_step = now();
	c->sent = 0;
	c->head_len = 0;
	c->body_left = -1;
	c->phase = PH_CONNECTING;
	c->events = EPOLLOUT;
	epoll_ctl(ld->ep, EPOLL_CTL_ADD, fd, &ev);
	if (connect(fd, (const struct sockaddr *)&ld->to, sizeof(ld->to)) < 0 &&
	    errno != EINPROGRESS)
		conn_fail(ld, c, FAIL_CONNECT, errno);
}

/* Length of the head (through CRLFCRLF) in head[], or 0 if it is not complete yet. */
static size_t head_end(const struct conn *c)
{
	const char *p = memmem(c->head, c->head_len, "\r\n\r\n", 4);

	return p ? (size_t)(p - c->head) + 4 : 0;
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

/* An SSL call did not complete: wait for what it wants (1), or fail the connection (-1). */
static int ssl_wait(struct load *ld, struct conn *c, int ret)
{
	int err = SSL_get_error(c->ssl, ret);
	char buf[128];
	unsigned long e;

	switch (err) {
	case SSL_ERROR_WANT_READ:
		conn_want(ld, c, EPOLLIN);
		return 1;
	case SSL_ERROR_WANT_WRITE:
		conn_want(ld, c, EPOLLOUT);
		return 1;
	case SSL_ERROR_ZERO_RETURN:
		conn_fail(ld, c, FAIL_EOF, 0);
		return -1;
	case SSL_ERROR_SYSCALL:
		if (errno == EINTR)
			return 1; /* the events already asked for come again */
		conn_fail(ld, c, errno ? FAIL_IO : FAIL_EOF, errno);
		return -1;
	default:
		e = ERR_get_error();
		if (SSL_get_verify_result(c->ssl) != X509_V_OK)
			note_error(ld, "verify",
				   X509_verify_cert_error_string(SSL_get_verify_result(c->ssl)));
		else if (e) {
			ERR_error_string_n(e, buf, sizeof(buf));
			note_error(ld, "tls", buf);
		}
		ERR_clear_error();
		conn_fail(ld, c, FAIL_TLS, 0);
		return -1;
	}
}

/* 1 = the socket is connected, -1 = failed (closed). */
static int on_connected(struct load *ld, struct conn *c)
{
	int err = 0;
	socklen_t len = sizeof(err);

	getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
	if (err) {
		conn_fail(ld, c, FAIL_CONNECT, err);
		return -1;
	}
	return 1;
}

/* Plain send of the CONNECT request: 1 = all written, 0 = wait, -1 = failed. */
static int send_connect(struct load *ld, struct conn *c)
{
	while (c->sent < ld->connect_len) {
		ssize_t n =
		    send(c->fd, ld->connect_req + c->sent, ld->connect_len - c->sent, MSG_NOSIGNAL);

		if (n > 0) {
			c->sent += (size_t)n;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			conn_want(ld, c, EPOLLOUT);
			return 0;
		} else {
			conn_fail(ld, c, FAIL_IO, errno);
			return -1;
		}
	}
	return 1;
}

/* Plain read of the CONNECT reply: 1 = a 2xx head and nothing after it, 0 = wait, -1 = failed.
 * Reading in large pieces takes nothing of TLS's: the server sends nothing before the
 * ClientHello, which goes out only after this reply. */
static int read_connect_reply(struct load *ld, struct conn *c)
{
	for (;;) {
		size_t end;
		ssize_t n;

		if (c->head_len == HEAD_MAX) {
			conn_fail(ld, c, FAIL_PROTO, 0);
			return -1;
		}
		n = recv(c->fd, c->head + c->head_len, HEAD_MAX - c->head_len, 0);
		if (n == 0) {
			conn_fail(ld, c, FAIL_EOF, 0);
			return -1;
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				conn_want(ld, c, EPOLLIN);
				return 0;
			}
			conn_fail(ld, c, FAIL_IO, errno);
			return -1;
		}
		c->head_len += (size_t)n;
		end = head_end(c);
		if (!end)
			continue;
		if (!head_is_2xx(c->head, c->head_len)) {
			note_status(ld, c->head, c->head_len);
			conn_fail(ld, c, FAIL_STATUS, 0);
			return -1;
		}
		/* the client speaks first in TLS: bytes after the reply head are a proxy bug */
		if (end != c->head_len) {
			conn_fail(ld, c, FAIL_PROTO, 0);
			return -1;
		}
		return 1;
	}
}

static int tls_begin(struct load *ld, struct conn *c)
{
	c->ssl = SSL_new(ld->ctx);
	if (!c->ssl || !SSL_set_fd(c->ssl, c->fd) || !SSL_set_tlsext_host_name(c->ssl, ld->host) ||
	    !SSL_set1_host(c->ssl, ld->host)) {
		note_error(ld, "tls", "SSL_new/SSL_set_* failed");
		conn_fail(ld, c, FAIL_TLS, 0);
		return -1;
	}
	SSL_set_connect_state(c->ssl);
	return 1;
}

static void on_handshake_done(struct load *ld, struct conn *c)
{
	if (!ld->tls_version[0])
		snprintf(ld->tls_version, sizeof(ld->tls_version), "%s/%s", SSL_get_version(c->ssl),
			 SSL_get_cipher_name(c->ssl));
	if (ld->measuring)
		ld->tls_done++;
	if (!ld->handshakes) {
		c->t0 = now(); /* keepalive latency: from the request's first write */
		if (!c->ready) {
			c->ready = 1;
			ld->ready++;
		}
	}
}

/* 1 = the request is written, 0 = wait, -1 = failed. */
static int send_get(struct load *ld, struct conn *c)
{
	int r = SSL_write(c->ssl, ld->get_req, (int)ld->get_len);
	if (r > 0)
		return 1;
	return ssl_wait(ld, c, r) > 0 ? 0 : -1;
}

static void on_response_done(struct load *ld, struct conn *c)
{
	if (ld->measuring) {
		if (ld->lat_n < LAT_MAX)
			ld->lat[ld->lat_n++] = (float)((now() - c->t0) * 1000.0);
		ld->ok++;
	}
	c->t0 = c->t_step = now();
	c->phase = PH_SEND_GET;
	if (ld->handshakes)
		conn_close(ld, c);
}

/* Reads the response; 1 = complete, 0 = wait, -1 = failed. */
static int read_response(struct load *ld, struct conn *c)
{
	char sink[16384];

	/* bounded: at most 64 reads per event, the rest comes with the next one */
	for (int i = 0; i < 64; i++) {
		int n;

		if (c->body_left < 0) {
			size_t end;
			long long cl;

			if (c->head_len == HEAD_MAX) {
				conn_fail(ld, c, FAIL_PROTO, 0);
				return -1;
			}
			n = SSL_read(c->ssl, c->head + c->head_len, (int)(HEAD_MAX - c->head_len));
			if (n <= 0)
				return ssl_wait(ld, c, n) > 0 ? 0 : -1;
			c->head_len += (size_t)n;
			end = head_end(c);
			if (!end)
				continue;
			if (!head_is_2xx(c->head, c->head_len)) {
				note_status(ld, c->head, c->head_len);
				conn_fail(ld, c, FAIL_STATUS, 0);
				return -1;
			}
			cl = head_content_length(c->head, end);
			if (cl < 0 || (long long)(c->head_len - end) > cl) {
				conn_fail(ld, c, FAIL_PROTO, 0);
				return -1;
			}
			c->body_left = cl - (long long)(c->head_len - end);
		} else {
			n = SSL_read(c->ssl, sink,
				     c->body_left < (long long)sizeof(sink) ? (int)c->body_left
									    : (int)sizeof(sink));
			if (n <= 0)
				return ssl_wait(ld, c, n) > 0 ? 0 : -1;
			c->body_left -= n;
		}
		if (c->body_left == 0)
			return 1;
	}
	return 0;
}

/* Drive one connection as far as it goes without blocking. */
static void conn_step(struct load *ld, struct conn *c)
{
	for (;;) {
		int r;

		switch (c->phase) {
		case PH_CONNECTING:
			if (on_connected(ld, c) < 0)
				return;
			c->phase = ld->via_proxy ? PH_SEND_CONNECT : PH_HANDSHAKE;
			if (c->phase == PH_HANDSHAKE && tls_begin(ld, c) < 0)
				return;
			break;
		case PH_SEND_CONNECT:
			if (send_connect(ld, c) <= 0)
				return;
			c->head_len = 0;
			c->phase = PH_READ_CONNECT;
			conn_want(ld, c, EPOLLIN);
			return;
		case PH_READ_CONNECT:
			if (read_connect_reply(ld, c) <= 0)
				return;
			if (tls_begin(ld, c) < 0)
				return;
			c->t_step = now();
			c->phase = PH_HANDSHAKE;
			break;
		case PH_HANDSHAKE:
			r = SSL_do_handshake(c->ssl);
			if (r != 1) {
				ssl_wait(ld, c, r);
				return;
			}
			on_handshake_done(ld, c);
			c->t_step = now();
			c->phase = PH_SEND_GET;
			break;
		case PH_SEND_GET:
			r = send_get(ld, c);
			if (r <= 0)
				return;
			c->head_len = 0;
			c->body_left = -1;
			c->t_step = now();
			c->phase = PH_READ_RESPONSE;
			break;
		case PH_READ_RESPONSE:
			r = read_response(ld, c);
			if (r <= 0)
				return;
			on_response_done(ld, c);
			if (c->phase == PH_FREE)
				return;
			break;
		case PH_FREE:
		default:
			return;
		}
	}
}

/* Fail connections whose current step is older than -T. */
static void conn_expire(struct load *ld, double t)
{
	for (int i = 0; i < ld->conc; i++) {
		struct conn *c = &ld->c[i];

		if (c->phase != PH_FREE && t - c->t_step > ld->timeout_s)
			conn_fail(ld, c, FAIL_TIMEOUT, 0);
	}
}

static void poll_once(struct load *ld, int ms)
{
	struct epoll_event ev[EVENTS];
	int n = epoll_wait(ld->ep, ev, EVENTS, ms);

	for (int i = 0; i < n; i++)
		conn_step(ld, ev[i].data.ptr);
}

/* Start a connection in every free slot. */
static void fill(struct load *ld)
{
	for (int i = 0; i < ld->conc && !stop; i++)
		if (ld->c[i].phase == PH_FREE)
			conn_start(ld, &ld->c[i]);
}

static long fails_total(const struct load *ld)
{
	long sum = 0;

	for (int i = 0; i < FAIL_COUNT; i++)
		sum += ld->fails[i];
	return sum;
}

static int cmp_float(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;

	return (x > y) - (x < y);
}

/* CPU seconds this process has used (user + system). */
static double cpu_used(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* secs: the measured time; cpu: this process's CPU seconds in it. A client_cpu near 1.00
 * means the one-thread client is itself the bottleneck: the rate is then a lower bound of
 * what the server can do. */
static void report(struct load *ld, double secs, double cpu)
{
	float p50 = 0, p99 = 0;

	if (ld->lat_n > 0) {
		qsort(ld->lat, (size_t)ld->lat_n, sizeof(float), cmp_float);
		p50 = ld->lat[(ld->lat_n - 1) / 2];
		p99 = ld->lat[(long)((double)(ld->lat_n - 1) * 0.99)];
	}
	printf("RESULT mode=%s conns=%d secs=%.3f", ld->handshakes ? "handshakes" : "keepalive",
	       ld->conc, secs);
	if (ld->handshakes)
		printf(" handshakes=%ld hps=%.1f", ld->ok, (double)ld->ok / secs);
	else
		printf(" requests=%ld rps=%.1f new_handshakes=%ld", ld->ok, (double)ld->ok / secs,
		       ld->tls_done);
	printf(" p50_ms=%.3f p99_ms=%.3f client_cpu=%.2f tls=%s fail=%ld", (double)p50, (double)p99,
	       cpu / secs, ld->tls_version[0] ? ld->tls_version : "-", fails_total(ld));
	for (int i = 0; i < FAIL_COUNT; i++)
		printf(" %s=%ld", fail_name[i], ld->fails[i]);
	printf(" first_status=\"%s\" first_error=\"%s\"\n", ld->first_status, ld->first_error);
}

/* Open every connection, wait for every handshake (at most -S), then measure for -d. */
static int run_keepalive(struct load *ld)
{
	double t = now(), t_setup_end = t + ld->setup_s, t_scan = t, t_start, t_end, cpu0;

	while (!stop && ld->ready < ld->conc) {
		fill(ld);
		poll_once(ld, 10);
		t = now();
		if (t > t_setup_end || fails_total(ld) > 4L * ld->conc) {
			fprintf(stderr,
				"tlsload: %ld of %d connections ready after %.1f s (%s%s%s)\n",
				ld->ready, ld->conc, t - (t_setup_end - ld->setup_s),
				ld->first_status, ld->first_status[0] ? "; " : "", ld->first_error);
			return 1;
		}
		if (t - t_scan > 0.1) {
			t_scan = t;
			conn_expire(ld, t);
		}
	}
	memset(ld->fails, 0, sizeof(ld->fails)); /* setup failures were reported above */
	ld->measuring = 1;
	t_start = now();
	cpu0 = cpu_used();
	t_end = t_start + ld->secs;
	while (!stop && (t = now()) < t_end) {
		fill(ld); /* a connection that failed is replaced (and counted in new_handshakes) */
		poll_once(ld, 10);
		if (t - t_scan > 0.1) {
			t_scan = t;
			conn_expire(ld, t);
		}
	}
	report(ld, now() - t_start, cpu_used() - cpu0);
	return 0;
}

static int run_handshakes(struct load *ld)
{
	double t_start = now(), t_end = t_start + ld->secs, t_scan = t_start, t;
	double cpu0 = cpu_used();

	ld->measuring = 1;
	while (!stop && (t = now()) < t_end) {
		fill(ld);
		poll_once(ld, 10);
		if (t - t_scan > 0.1) {
			t_scan = t;
			conn_expire(ld, t);
		}
	}
	/* exchanges still in flight at the deadline are neither counted nor failed */
	report(ld, now() - t_start, cpu_used() - cpu0);
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: tlsload -m keepalive|handshakes -t HOST:PORT -C CAFILE\n"
		"               (-x 127.x.x.x:PORT | -a 127.x.x.x:PORT) [options]\n"
		"  -m MODE  keepalive: keep-alive GETs on -c connections;\n"
		"           handshakes: a new TLS connection per GET, -c at a time\n"
		"  -t AUTH  HOST:PORT: the CONNECT target, Host header and SNI (HOST)\n"
		"  -C FILE  CA certificates (PEM) the server's certificate must verify against\n"
		"  -x ADDR  an HTTP proxy: CONNECT through it (127.0.0.0/8 only)\n"
		"  -a ADDR  no proxy: TLS straight to ADDR (127.0.0.0/8 only)\n"
		"  -P PATH  path requested (default /)\n"
		"  -c N     connections (default 50, max %d)\n"
		"  -d SECS  measured duration (default 5, max %d)\n"
		"  -S SECS  keepalive: most time to set every connection up (default 30)\n"
		"  -T SECS  most time one step may take (default 10)\n",
		CONC_MAX, SECS_MAX);
	exit(2);
}

static double arg_num(const char *s, double lo, double hi, const char *what)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || end == s || v < lo || v > hi) {
		fprintf(stderr, "tlsload: %s out of range (%g-%g)\n", what, lo, hi);
		exit(2);
	}
	return v;
}

static SSL_CTX *ctx_new(const char *cafile)
{
	static const unsigned char alpn[] = "\x08http/1.1";
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (!ctx)
		fatal("SSL_CTX_new failed");
	if (SSL_CTX_load_verify_locations(ctx, cafile, NULL) != 1)
		fatal("cannot load the -C CA file");
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	/* every connection does a full handshake: no session is kept to resume */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_alpn_protos(ctx, alpn, sizeof(alpn) - 1);
	return ctx;
}

int main(int argc, char **argv)
{
	struct load ld = {.conc = 50, .secs = 5, .timeout_s = 10, .setup_s = 30};
	const char *mode = "keepalive", *proxy = NULL, *addr = NULL, *target = NULL;
	const char *cafile = NULL, *path = "/";
	struct sigaction sa = {.sa_handler = on_signal};
	int opt, rc;

	while ((opt = getopt(argc, argv, "m:t:C:x:a:P:c:d:S:T:")) != -1) {
		switch (opt) {
		case 'm':
			mode = optarg;
			break;
		case 't':
			target = optarg;
			break;
		case 'C':
			cafile = optarg;
			break;
		case 'x':
			proxy = optarg;
			break;
		case 'a':
			addr = optarg;
			break;
		case 'P':
			path = optarg;
			break;
		case 'c':
			ld.conc = (int)arg_num(optarg, 1, CONC_MAX, "-c");
			break;
		case 'd':
			ld.secs = arg_num(optarg, 0.1, SECS_MAX, "-d");
			break;
		case 'S':
			ld.setup_s = arg_num(optarg, 1, SECS_MAX, "-S");
			break;
		case 'T':
			ld.timeout_s = arg_num(optarg, 0.1, SECS_MAX, "-T");
			break;
		default:
			usage();
		}
	}
	if (optind != argc || !target || !cafile || !proxy == !addr)
		usage();
	if (strcmp(mode, "handshakes") == 0)
		ld.handshakes = 1;
	else if (strcmp(mode, "keepalive") != 0)
		usage();
	ld.via_proxy = proxy != NULL;
	if (addr_parse(proxy ? proxy : addr, &ld.to) != 0)
		fatal("-x/-a must be an IPv4 address in 127.0.0.0/8 and a port (loopback only)");
	if (authority_parse(target, ld.host) != 0)
		fatal("-t must be HOST:PORT with a DNS name");
	if (strlen(path) > 256 || path[0] != '/' || strpbrk(path, " \r\n"))
		fatal("-P must be a short path starting with /");

	ld.connect_len =
	    (size_t)snprintf(ld.connect_req, sizeof(ld.connect_req),
			     "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", target, target);
	/* no Connection header: keep-alive, as curl and browsers ask, in both modes */
	ld.get_len = (size_t)snprintf(ld.get_req, sizeof(ld.get_req),
				      "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: tlsload\r\n"
				      "Accept: */*\r\n\r\n",
				      path, target);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	ld.ctx = ctx_new(cafile);
	ld.c = calloc((size_t)ld.conc, sizeof(*ld.c));
	ld.lat = malloc(sizeof(float) * LAT_MAX);
	if (!ld.c || !ld.lat)
		fatal("out of memory");
	for (int i = 0; i < ld.conc; i++)
		ld.c[i].fd = -1;
	ld.ep = epoll_create1(EPOLL_CLOEXEC);
	if (ld.ep < 0)
		fatal("epoll_create1 failed");
	rc = ld.handshakes ? run_handshakes(&ld) : run_keepalive(&ld);
	fflush(stdout);
	for (int i = 0; i < ld.conc; i++)
		conn_close(&ld, &ld.c[i]);
	close(ld.ep);
	SSL_CTX_free(ld.ctx);
	free(ld.lat);
	free(ld.c);
	return rc;
}
