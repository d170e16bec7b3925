/* webhook: a queue filled under the approval store's lock (so only a copy is made there) and
 * one thread that takes from it and sends with plain blocking sockets bounded by timeouts; the
 * receiver is read under the webhook's own lock, so a reload may change it between two sends. */
#include "io/webhook.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/ip_addr.h"
#include "emit/json_write.h"
#include "parse/authority.h"

#define WEBHOOK_BODY_MAX 8192
#define WEBHOOK_SECRET_MAX 256

struct webhook_item {
	struct webhook_item *next;
	uint64_t id;
	size_t len;
	char body[];
};

struct webhook_target {
	char where[300]; /* scheme://host:port, for messages: the path may be a credential */
	char host[256];
	uint16_t port;
	bool tls;
	char path[CONFIG_WEBHOOK_URL_MAX];
	char secret[WEBHOOK_SECRET_MAX];
};

struct webhook {
	pthread_mutex_t lock;
	pthread_cond_t more;
	pthread_t thread;
	bool stop;
	struct webhook_target target; /* host "" = none: new entries are not queued */
	struct webhook_item *head, **tail;
	unsigned n;
	unsigned dropped; /* since the last line said so */
	SSL_CTX *tls;	  /* made on the first https send (the thread's alone) */
};

/* ---- the announcement ------------------------------------------------------------------- */

/* What a chat receiver shows ("text" is what Slack, Mattermost and Rocket.Chat display). The
 * path is left out: it is the agent's to choose, and chat markup in it ("<https://...|click>")
 * would be shown to the operator as sluice's own words. The JSON's "path" has it. */
static void webhook_text(char *out, size_t size, uint64_t id, const struct pending_request *p)
{
	int n;
	if (p->kind == PENDING_DNS)
		n = snprintf(out, size, "sluice: %s asks for the name %.*s (DNS)", p->agent,
			     (int)p->host.len, p->host.ptr);
	else if (p->kind == PENDING_CONNECT)
		n = snprintf(out, size, "sluice: %s asks for %.*s:%u (CONNECT)", p->agent,
			     (int)p->host.len, p->host.ptr, (unsigned)p->port);
	else
		n = snprintf(out, size, "sluice: %s asks for %.*s:%u (%.*s)", p->agent,
			     (int)p->host.len, p->host.ptr, (unsigned)p->port, (int)p->method.len,
			     p->method.ptr);
	if (n < 0 || (size_t)n >= size)
		return;
	snprintf(out + n, size - (size_t)n,
		 "; held as p%llu for %us: answer on the console or with `sluice approve p%llu "
		 "once|agent|all|deny`",
		 (unsigned long long)id, p->timeout_ms / 1000, (unsigned long long)id);
}

void webhook_notify(void *arg, uint64_t id, const struct pending_request *p, const char *line,
		    size_t len)
{
	struct webhook *w = arg;
	char text[1024];
	struct buf b = {0};
	struct json_write j;

	if (len < 2 || line[0] != '{')
		return;
	pthread_mutex_lock(&w->lock);
	bool on = w->target.host[0] != '\0' && !w->stop;
	bool room = w->n < WEBHOOK_BACKLOG_MAX;
	if (on && !room)
		w->dropped++;
	pthread_mutex_unlock(&w->lock);
	if (!on || !room)
		return;
	/* {"text":"...", then the feed line's fields after its '{' */
	webhook_text(text, sizeof(text), id, p);
	json_write_init(&j, &b, WEBHOOK_BODY_MAX);
	json_write_object(&j);
	json_write_key(&j, "text");
	json_write_cstr(&j, text);
	json_write_end(&j);
	struct webhook_item *it =
	    json_write_ok(&j) ? malloc(sizeof(*it) + buf_len(&b) + len) : NULL;
	if (!it) {
		buf_release(&b);
		return;
	}
	it->next = NULL;
	it->id = id;
	memcpy(it->body, buf_head(&b), buf_len(&b) - 1);
	it->len = buf_len(&b) - 1;
	it->body[it->len++] = ',';
	memcpy(it->body + it->len, line + 1, len - 1);
	it->len += len - 1;
	buf_release(&b);
	pthread_mutex_lock(&w->lock);
	*w->tail = it;
	w->tail = &it->next;
	w->n++;
	pthread_cond_signal(&w->more);
	pthread_mutex_unlock(&w->lock);
}

/* ---- sending ---------------------------------------------------------------------------- */

static int webhook_connect_one(const struct addrinfo *ai)
{
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS)
		goto fail;
	struct pollfd pfd = {.fd = fd, .events = POLLOUT};
	int err = 0;
	socklen_t elen = sizeof(err);
	if (poll(&pfd, 1, WEBHOOK_TIMEOUT_MS) != 1 ||
	    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) != 0 || err != 0) {
		errno = err ? err : ETIMEDOUT;
		goto fail;
	}
	/* From here on blocking, each call bounded. */
	int fl = fcntl(fd, F_GETFL);
	struct timeval tv = {WEBHOOK_TIMEOUT_MS / 1000, (WEBHOOK_TIMEOUT_MS % 1000) * 1000};
	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0)
		goto fail;
	return fd;
fail:
	close(fd);
	return -1;
}

/* The receiver's address, tried in the order the resolver gives. Returns the socket or -1 with
 * why. The system resolver is the one asked: the receiver is the operator's, not an agent's. */
static int webhook_connect(const struct webhook_target *t, char *why, size_t why_size)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
	struct addrinfo *res = NULL;
	struct ip_addr ip;
	char port[8];
	int fd = -1;

	snprintf(port, sizeof(port), "%u", (unsigned)t->port);
	if (authority_parse_ip_strict(slice_from_cstr(t->host), &ip) == 0)
		hints.ai_flags |= AI_NUMERICHOST;
	int rc = getaddrinfo(t->host, port, &hints, &res);
	if (rc != 0) {
		snprintf(why, why_size, "cannot resolve %s: %s", t->host, gai_strerror(rc));
		return -1;
	}
	errno = 0;
	for (const struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next)
		fd = webhook_connect_one(ai);
	if (fd < 0)
		snprintf(why, why_size, "cannot connect to %s:%u: %s", t->host, (unsigned)t->port,
			 strerror(errno ? errno : ECONNREFUSED));
	freeaddrinfo(res);
	return fd;
}

static SSL_CTX *webhook_tls_ctx(struct webhook *w)
{
	if (w->tls)
		return w->tls;
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx)
		return NULL;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	/* The system's trust store (SSL_CERT_FILE and SSL_CERT_DIR move it, as for curl). */
	if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	w->tls = ctx;
	return ctx;
}

/* A TLS session on fd, the receiver's certificate checked against its host name (or IP). */
static SSL *webhook_tls(struct webhook *w, int fd, const struct webhook_target *t, char *why,
			size_t why_size)
{
	SSL_CTX *ctx = webhook_tls_ctx(w);
	SSL *ssl = ctx ? SSL_new(ctx) : NULL;
	struct ip_addr ip;
	bool literal = authority_parse_ip_strict(slice_from_cstr(t->host), &ip) == 0;

	if (!ssl) {
		snprintf(why, why_size, "cannot set up TLS (no trust store?)");
		return NULL;
	}
	X509_VERIFY_PARAM *param = SSL_get0_param(ssl);
	int ok =
	    SSL_set_fd(ssl, fd) == 1 && (literal ? X509_VERIFY_PARAM_set1_ip_asc(param, t->host)
						 : SSL_set_tlsext_host_name(ssl, t->host) == 1 &&
						       SSL_set1_host(ssl, t->host) == 1);
	if (ok && SSL_connect(ssl) == 1)
		return ssl;
	long v = SSL_get_verify_result(ssl);
	if (v != X509_V_OK)
		snprintf(why, why_size, "TLS with %s: %s", t->host,
			 X509_verify_cert_error_string(v));
	else
		snprintf(why, why_size, "TLS with %s failed", t->host);
	ERR_clear_error();
	SSL_free(ssl);
	return NULL;
}

static bool webhook_write(int fd, SSL *ssl, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t k = ssl ? SSL_write(ssl, p, (int)n) : send(fd, p, n, MSG_NOSIGNAL);
		if (k <= 0)
			return false;
		p += k;
		n -= (size_t)k;
	}
	return true;
}

/* The status code of the receiver's answer, or -1 when none came in time. */
static int webhook_read_status(int fd, SSL *ssl)
{
	char head[256];
	size_t got = 0;

	while (got < sizeof(head) - 1 && !memchr(head, '\n', got)) {
		ssize_t k = ssl ? SSL_read(ssl, head + got, (int)(sizeof(head) - 1 - got))
				: recv(fd, head + got, sizeof(head) - 1 - got, 0);
		if (k <= 0)
			break;
		got += (size_t)k;
	}
	head[got] = '\0';
	unsigned status;
	if (sscanf(head, "HTTP/1.%*[01] %3u", &status) != 1 || status < 100 || status > 599)
		return -1;
	return (int)status;
}

/* X-Sluice-Signature: sha256=<hex HMAC-SHA256 of the body under the secret> (GitHub's form). */
static void webhook_sign(const char *secret, const char *body, size_t len, char out[72])
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned mac_len = 0;

	out[0] = '\0';
	if (!HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)body, len, mac,
		  &mac_len))
		return;
	for (unsigned i = 0; i < mac_len && 2 * i + 2 < 72; i++)
		snprintf(out + 2 * i, 3, "%02x", mac[i]);
}

/* One POST; true when the receiver answered 2xx, else why. */
static bool webhook_send(struct webhook *w, const struct webhook_target *t,
			 const struct webhook_item *it, char *why, size_t why_size)
{
	char head[CONFIG_WEBHOOK_URL_MAX + 640], sig[72] = "", host[300];
	bool v6 = strchr(t->host, ':') != NULL;
	bool default_port = t->port == (t->tls ? 443 : 80);

	if (t->secret[0])
		webhook_sign(t->secret, it->body, it->len, sig);
	snprintf(host, sizeof(host), "%s%s%s", v6 ? "[" : "", t->host, v6 ? "]" : "");
	if (!default_port)
		snprintf(host + strlen(host), sizeof(host) - strlen(host), ":%u",
			 (unsigned)t->port);
	int n = snprintf(head, sizeof(head),
			 "POST %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: sluice\r\n"
			 "Content-Type: application/json\r\nContent-Length: %zu\r\n"
			 "%s%s%sConnection: close\r\n\r\n",
			 t->path, host, it->len, sig[0] ? "X-Sluice-Signature: sha256=" : "", sig,
			 sig[0] ? "\r\n" : "");
	if (n < 0 || (size_t)n >= sizeof(head)) {
		snprintf(why, why_size, "the request does not fit");
		return false;
	}
	int fd = webhook_connect(t, why, why_size);
	if (fd < 0)
		return false;
	SSL *ssl = t->tls ? webhook_tls(w, fd, t, why, why_size) : NULL;
	bool ok = false;
	if (!t->tls || ssl) {
		int status = -1;
		if (webhook_write(fd, ssl, head, (size_t)n) &&
		    webhook_write(fd, ssl, it->body, it->len))
			status = webhook_read_status(fd, ssl);
		ok = status >= 200 && status < 300;
		if (status < 0)
			snprintf(why, why_size, "no answer from %s:%u within %ums", t->host,
				 (unsigned)t->port, WEBHOOK_TIMEOUT_MS);
		else if (!ok)
			snprintf(why, why_size, "the receiver answered %d", status);
	}
	if (ssl) {
		SSL_shutdown(ssl);
		SSL_free(ssl);
	}
	ERR_clear_error();
	close(fd);
	return ok;
}

static void *webhook_thread(void *arg)
{
	struct webhook *w = arg;

	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (!w->head && !w->stop)
			pthread_cond_wait(&w->more, &w->lock);
		if (w->stop)
			break;
		struct webhook_item *it = w->head;
		w->head = it->next;
		if (!w->head)
			w->tail = &w->head;
		w->n--;
		unsigned dropped = w->dropped;
		w->dropped = 0;
		struct webhook_target t = w->target;
		pthread_mutex_unlock(&w->lock);
		char why[256];
		if (dropped)
			fprintf(stderr,
				"sluice: approvals.webhook: %u new pending request%s not sent: %u "
				"wait to be sent already\n",
				dropped, dropped == 1 ? "" : "s", WEBHOOK_BACKLOG_MAX);
		if (t.host[0] && !webhook_send(w, &t, it, why, sizeof(why)))
			fprintf(stderr,
				"sluice: approvals.webhook: p%llu not delivered to %s: %s\n",
				(unsigned long long)it->id, t.where, why);
		explicit_bzero(t.secret, sizeof(t.secret));
		free(it);
		pthread_mutex_lock(&w->lock);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

struct webhook *webhook_new(void)
{
	struct webhook *w = calloc(1, sizeof(*w));

	if (!w) {
		fprintf(stderr, "sluice: cannot start the webhook sender (out of memory)\n");
		return NULL;
	}
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->more, NULL);
	w->tail = &w->head;
	if (pthread_create(&w->thread, NULL, webhook_thread, w) != 0) {
		fprintf(stderr, "sluice: cannot start the webhook sender thread\n");
		pthread_cond_destroy(&w->more);
		pthread_mutex_destroy(&w->lock);
		free(w);
		return NULL;
	}
	return w;
}

void webhook_free(struct webhook *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->stop = true;
	pthread_cond_signal(&w->more);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	while (w->head) {
		struct webhook_item *it = w->head;
		w->head = it->next;
		free(it);
	}
	SSL_CTX_free(w->tls);
	explicit_bzero(w->target.secret, sizeof(w->target.secret));
	pthread_cond_destroy(&w->more);
	pthread_mutex_destroy(&w->lock);
	free(w);
}

void webhook_configure(struct webhook *w, const struct approvals_config *a, const char *secret)
{
	struct webhook_target t = {0};

	bool v6 = strchr(a->webhook.host, ':') != NULL;
	snprintf(t.where, sizeof(t.where), "%s://%s%s%s:%u", a->webhook.tls ? "https" : "http",
		 v6 ? "[" : "", a->webhook.host, v6 ? "]" : "", (unsigned)a->webhook.port);
	snprintf(t.host, sizeof(t.host), "%s", a->webhook.host);
	t.port = a->webhook.port;
	t.tls = a->webhook.tls;
	snprintf(t.path, sizeof(t.path), "%s", a->webhook.path);
	snprintf(t.secret, sizeof(t.secret), "%s", secret ? secret : "");
	pthread_mutex_lock(&w->lock);
	w->target = t;
	pthread_mutex_unlock(&w->lock);
	explicit_bzero(t.secret, sizeof(t.secret));
}
