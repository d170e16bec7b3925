/* Drives src/io/tls_session.c against tests/tls/tls_server.py over loopback, with a poll() loop
 * standing in for the worker's event loop. Run by tests/tls/run.sh:
 *   tls_session_test CA_PEM GOOD_PORT SELF_PORT PLAIN_PORT */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <fcntl.h>

#include "base/buf.h"
#include "io/tls_session.h"

#define WAIT_MS 4000
#define BIG_LEN (1u << 20)
#define UPLOAD_LEN (4u << 20)

static const char *ca_file;
static int good_port, self_port, plain_port;
static int failures, checks;
static unsigned stat_blocked, stat_pending; /* how often the rare paths ran, for the summary */

#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		checks++;                                                                          \
		if (!(cond)) {                                                                     \
			failures++;                                                                \
			fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);            \
			fprintf(stderr, __VA_ARGS__);                                              \
			fputc('\n', stderr);                                                       \
		}                                                                                  \
	} while (0)

/* The event loop's part: wait for one readiness, false on timeout. */
static bool wait_ready(int fd, bool want_write)
{
	struct pollfd p = {.fd = fd, .events = want_write ? POLLOUT : POLLIN};
	int n;
	do
		n = poll(&p, 1, WAIT_MS);
	while (n < 0 && errno == EINTR);
	return n == 1;
}

static int connect_local(int port, int sndbuf)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (sndbuf > 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 && errno != EINPROGRESS)
		goto fail;
	int err = 0;
	socklen_t len = sizeof(err);
	if (!wait_ready(fd, true) || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err)
		goto fail;
	return fd;
fail:
	close(fd);
	return -1;
}

struct session {
	int fd;
	struct tls_session *tc;
};

/* Connects and handshakes; returns the handshake result (1 ok, -1 failed, 0 timed out). */
static int session_open(struct session *s, struct tls_context *ctx, int port, const char *name,
			int sndbuf)
{
	s->tc = NULL;
	s->fd = connect_local(port, sndbuf);
	if (s->fd < 0)
		return 0;
	s->tc = tls_session_connect(ctx, s->fd, name);
	if (!s->tc)
		return 0;
	for (;;) {
		bool want_write = false;
		int r = tls_session_handshake(s->tc, &want_write);
		if (r != 0)
			return r;
		if (!wait_ready(s->fd, want_write))
			return 0;
	}
}

static void session_close(struct session *s)
{
	tls_session_free(s->tc);
	if (s->fd >= 0)
		close(s->fd);
}

static const char *session_error(const struct session *s)
{
	return s->tc ? tls_session_error(s->tc) : "no connection";
}

/* For the cases that must connect: false (and a failure counted) when they cannot. */
static bool session_open_ok(struct session *s, struct tls_context *ctx, int port, const char *name,
			    int sndbuf)
{
	int r = session_open(s, ctx, port, name, sndbuf);
	CHECK(r == 1, "%s: handshake gave %d: %s", name, r, session_error(s));
	if (r != 1)
		session_close(s);
	return r == 1;
}

/* Writes all of b (refilled by `fill` while it drains). Counts would-blocks. After each
 * would-block it first retries with n = 1, which the wrapper must raise to what it committed. */
static bool session_send(struct session *s, struct buf *b, void (*fill)(struct buf *),
			 unsigned *blocked)
{
	bool shrink = false;
	for (;;) {
		if (fill)
			fill(b);
		if (buf_len(b) == 0)
			return true;
		ssize_t n = tls_session_write_from(s->tc, b, shrink ? 1 : buf_len(b));
		shrink = false;
		if (n > 0)
			continue;
		if (n != -1)
			return false;
		(*blocked)++;
		shrink = true;
		if (!wait_ready(s->fd, tls_session_wants_write(s->tc)))
			return false;
	}
}

/* Reads until the end into out as the flow does: a staging buf of stage_cap bytes is emptied
 * (sent to the client) after each read, then the socket's readiness is awaited again — unless
 * the wrapper says bytes wait inside TLS, which readiness would not announce. Returns the final
 * read_into result: 0 clean end, -2 error, or -3 on timeout. */
static ssize_t session_recv_all(struct session *s, struct buf *out, size_t stage_cap,
				unsigned *pending_seen)
{
	struct buf stage = {0};
	ssize_t n;
	for (;;) {
		n = tls_session_read_into(s->tc, &stage, stage_cap);
		if (n > 0) {
			if (!buf_append(out, buf_head(&stage), buf_len(&stage), 64u << 20))
				break;
			buf_consume(&stage, buf_len(&stage));
		} else if (n != -1) {
			break;
		}
		if (tls_session_pending(s->tc)) {
			(*pending_seen)++;
			continue;
		}
		if (!wait_ready(s->fd, tls_session_wants_write(s->tc))) {
			n = -3;
			break;
		}
	}
	buf_release(&stage);
	return n;
}

static bool send_text(struct session *s, const char *text)
{
	struct buf b = {0};
	unsigned blocked = 0;
	bool ok =
	    buf_append(&b, text, strlen(text), 1u << 16) && session_send(s, &b, NULL, &blocked);
	buf_release(&b);
	return ok;
}

/* Returns the body of a 200 response in out, or NULL. */
static const char *http_body(const struct buf *out, size_t *len)
{
	const char *p = buf_head(out);
	size_t n = buf_len(out);
	const char *end = memmem(p, n, "\r\n\r\n", 4);
	if (!end || n < 12 || memcmp(p, "HTTP/1.1 200", 12) != 0)
		return NULL;
	*len = n - (size_t)(end + 4 - p);
	return end + 4;
}

static void test_get_hello(struct tls_context *ctx, const char *name)
{
	struct session s;
	struct buf out = {0};
	unsigned pending = 0;
	if (!session_open_ok(&s, ctx, good_port, name, 0))
		return;
	CHECK(send_text(&s, "GET /hello HTTP/1.1\r\nHost: localhost\r\n\r\n"), "send");
	ssize_t end = session_recv_all(&s, &out, 1u << 16, &pending);
	CHECK(end == 0, "a close_notify is a clean end, got %zd (%s)", end, tls_session_error(s.tc));
	CHECK(tls_session_read_into(s.tc, &out, 1u << 16) == 0, "the end stays reported");
	size_t len = 0;
	const char *body = http_body(&out, &len);
	CHECK(body && len == 18 && memcmp(body, "hello through tls\n", 18) == 0, "body");
	CHECK(!tls_session_truncated(s.tc), "a clean end is no truncation");
	CHECK(tls_session_error(s.tc)[0] == '\0', "no error text: %s", tls_session_error(s.tc));
	buf_release(&out);
	session_close(&s);
}

static void test_get_big_small_buffer(struct tls_context *ctx)
{
	struct session s;
	struct buf out = {0};
	unsigned pending = 0;
	if (!session_open_ok(&s, ctx, good_port, "localhost", 0))
		return;
	CHECK(send_text(&s, "GET /big HTTP/1.1\r\nHost: localhost\r\n\r\n"), "send");
	/* A 4 KiB buffer is smaller than a TLS record: the rest waits inside TLS. */
	ssize_t end = session_recv_all(&s, &out, 4096, &pending);
	CHECK(end == 0, "clean end, got %zd (%s)", end, tls_session_error(s.tc));
	CHECK(pending > 0, "bytes were reported pending inside TLS");
	stat_pending = pending;
	size_t len = 0;
	const unsigned char *body = (const unsigned char *)http_body(&out, &len);
	CHECK(body && len == BIG_LEN, "body length %zu", len);
	bool same = body != NULL;
	for (size_t i = 0; same && i < len; i++)
		same = body[i] == i % 251;
	CHECK(same, "body bytes intact");
	buf_release(&out);
	session_close(&s);
}

static uint32_t upload_sum;
static size_t upload_made;

/* Streams the upload in 64 KiB steps, so the buf compacts and moves under a pending write. */
static void upload_fill(struct buf *b)
{
	char chunk[8192];
	while (upload_made < UPLOAD_LEN && buf_len(b) < (64u << 10)) {
		size_t n = sizeof(chunk);
		if (n > UPLOAD_LEN - upload_made)
			n = UPLOAD_LEN - upload_made;
		for (size_t i = 0; i < n; i++) {
			chunk[i] = (char)((upload_made + i) * 7 % 256);
			upload_sum += (unsigned char)chunk[i];
		}
		if (!buf_append(b, chunk, n, 128u << 10))
			return;
		upload_made += n;
	}
}

static void test_upload_would_block(struct tls_context *ctx)
{
	struct session s;
	struct buf b = {0}, out = {0};
	unsigned blocked = 0, pending = 0;
	char head[128], want[64];
	if (!session_open_ok(&s, ctx, good_port, "localhost", 8192))
		return;
	snprintf(head, sizeof(head),
		 "POST /upload HTTP/1.1\r\nHost: localhost\r\n"
		 "Content-Length: %u\r\n\r\n",
		 UPLOAD_LEN);
	CHECK(buf_append(&b, head, strlen(head), 128u << 10), "head");
	CHECK(session_send(&s, &b, upload_fill, &blocked), "send: %s", tls_session_error(s.tc));
	CHECK(blocked > 0, "writes would block (%u times) and were retried", blocked);
	stat_blocked = blocked;
	ssize_t end = session_recv_all(&s, &out, 1u << 16, &pending);
	CHECK(end == 0, "clean end, got %zd (%s)", end, tls_session_error(s.tc));
	size_t len = 0;
	const char *body = http_body(&out, &len);
	snprintf(want, sizeof(want), "len=%u sum=%u", UPLOAD_LEN, upload_sum);
	CHECK(body && len == strlen(want) && memcmp(body, want, len) == 0,
	      "server saw %.*s, want %s", body ? (int)len : 0, body ? body : "", want);
	buf_release(&b);
	buf_release(&out);
	session_close(&s);
}

static void test_truncated(struct tls_context *ctx)
{
	struct session s;
	struct buf out = {0};
	unsigned pending = 0;
	if (!session_open_ok(&s, ctx, good_port, "localhost", 0))
		return;
	CHECK(send_text(&s, "GET /truncate HTTP/1.1\r\nHost: localhost\r\n\r\n"), "send");
	ssize_t end = session_recv_all(&s, &out, 1u << 16, &pending);
	CHECK(end == -2, "a FIN without close_notify is an error, got %zd", end);
	CHECK(tls_session_truncated(s.tc), "the error is a truncation");
	CHECK(strstr(tls_session_error(s.tc), "truncated") != NULL, "reason: %s",
	      tls_session_error(s.tc));
	size_t len = 0;
	CHECK(http_body(&out, &len) && len == 5000, "bytes before the cut are delivered: %zu", len);
	CHECK(tls_session_read_into(s.tc, &out, 1u << 16) == -2, "the error stays reported");
	struct buf more = {0};
	CHECK(buf_append(&more, "x", 1, 16) && tls_session_write_from(s.tc, &more, 1) == -2,
	      "no writes after a fatal error");
	buf_release(&more);
	buf_release(&out);
	session_close(&s);
}

/* The handshake must fail, naming why. */
static void expect_refused(struct tls_context *ctx, int port, const char *name, const char *why)
{
	struct session s;
	int r = session_open(&s, ctx, port, name, 0);
	const char *err = session_error(&s);
	printf("refused %s on port %d: %s\n", name, port, err);
	CHECK(r == -1, "%s: handshake gave %d", name, r);
	CHECK(strstr(err, "certificate verify failed") && strstr(err, why), "%s: reason \"%s\"",
	      name, err);
	bool want_write = false;
	CHECK(!s.tc || tls_session_handshake(s.tc, &want_write) == -1, "the failure stays reported");
	session_close(&s);
}

/* An https upstream that speaks cleartext: a protocol error, not a hang or a crash. */
static void test_not_tls(struct tls_context *ctx)
{
	struct session s;
	int r = session_open(&s, ctx, plain_port, "localhost", 0);
	printf("refused a cleartext server: %s\n", session_error(&s));
	CHECK(s.tc && !tls_session_truncated(s.tc), "a protocol error is no truncation");
	CHECK(r == -1, "handshake gave %d", r);
	CHECK(strncmp(session_error(&s), "tls: ", 5) == 0, "reason \"%s\"", session_error(&s));
	session_close(&s);
}

static void test_context_errors(struct tls_context *ctx)
{
	char err[200] = "";
	struct tls_context *bad = tls_context_new("/nonexistent/ca.pem", err, sizeof(err));
	CHECK(bad == NULL, "a missing CA file is refused");
	CHECK(strstr(err, "cannot read CA file /nonexistent/ca.pem: No such file or directory") !=
		  NULL,
	      "reason: %s", err);
	CHECK(tls_session_connect(ctx, 0, "") == NULL, "an empty name is refused");
	CHECK(tls_session_connect(ctx, 0, NULL) == NULL, "no name is refused");
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: %s CA_PEM GOOD_PORT SELF_PORT PLAIN_PORT\n", argv[0]);
		return 2;
	}
	ca_file = argv[1];
	good_port = atoi(argv[2]);
	self_port = atoi(argv[3]);
	plain_port = atoi(argv[4]);
	signal(SIGPIPE, SIG_IGN); /* as the daemon does: OpenSSL writes with write(2) */

	char err[200];
	struct tls_context *ctx = tls_context_new(ca_file, err, sizeof(err));
	struct tls_context *system_only = tls_context_new(NULL, err, sizeof(err));
	if (!ctx || !system_only) {
		fprintf(stderr, "FAIL tls_context_new: %s\n", err);
		return 1;
	}
	test_get_hello(ctx, "localhost");
	test_get_hello(ctx, "127.0.0.1"); /* an IP literal is matched against IP SANs */
	test_get_big_small_buffer(ctx);
	test_upload_would_block(ctx);
	test_truncated(ctx);
	expect_refused(ctx, good_port, "wrong.example", "hostname mismatch");
	expect_refused(ctx, good_port, "127.0.0.2", "IP address mismatch");
	expect_refused(ctx, self_port, "localhost", "self-signed certificate");
	expect_refused(system_only, good_port, "localhost", "unable to get local issuer");
	test_not_tls(ctx);
	test_context_errors(ctx);
	tls_context_free(system_only);
	tls_context_free(ctx);
	printf("tls_session_test: %d checks, %d failed (writes blocked %u times, reads found bytes "
	       "pending in TLS %u times)\n",
	       checks, failures, stat_blocked, stat_pending);
	return failures ? 1 : 0;
}
