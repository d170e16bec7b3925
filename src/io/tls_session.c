#include "io/tls_session.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <pthread.h>

/* Reads ask the buffer for this much room at a time, as conn_read_into does. */
#define TLS_SESSION_READ_CHUNK 16384
#define TLS_SESSION_ALPN_MAX 32

struct tls_context {
	SSL_CTX *ssl_ctx;
};

struct tls_server_context {
	SSL_CTX *ssl_ctx;
};

/* An end of the stream seen while bytes were being returned, reported on the next call. */
enum tls_session_end {
	TLS_END_NONE,
	TLS_END_CLEAN, /* close_notify received */
	TLS_END_ERROR, /* fatal: the session may not be used any more */
};

struct tls_session {
	SSL *ssl;
	enum tls_session_end end;
	bool truncated;	     /* the error was a TCP close without close_notify */
	bool established;    /* the handshake finished once (post-handshake messages re-enter it) */
	bool end_unreported; /* end was set while returning bytes */
	bool want_write;     /* the readiness the last -1 waits for */
	bool cert_failed;    /* the peer's certificate did not verify */
	bool peer_rejected;  /* the peer's alert refused ours */
	bool shut;	     /* close_notify sent */
	size_t write_committed; /* length of the SSL_write that would block, to retry with */
	char err[160];
};

static void tls_context_reason(char *err, size_t err_size, const char *what)
{
	unsigned long code = ERR_get_error();
	const char *why = code ? ERR_reason_error_string(code) : NULL;
	if (err && err_size)
		snprintf(err, err_size, "%s: %s", what, why ? why : "unknown error");
	ERR_clear_error();
}

struct tls_context *tls_context_new(const char *ca_file, char *err, size_t err_size)
{
	struct tls_context *ctx = calloc(1, sizeof(*ctx));
	if (!ctx) {
		if (err && err_size)
			snprintf(err, err_size, "out of memory");
		return NULL;
	}
	ERR_clear_error();
	SSL_CTX *sc = SSL_CTX_new(TLS_client_method());
	if (!sc) {
		tls_context_reason(err, err_size, "cannot create TLS context");
		free(ctx);
		return NULL;
	}
	ctx->ssl_ctx = sc;
	/* RFC 8996: TLS 1.0 and 1.1 are deprecated. */
	SSL_CTX_set_min_proto_version(sc, TLS1_2_VERSION);
	SSL_CTX_set_verify(sc, SSL_VERIFY_PEER, NULL);
	/* Partial writes match conn_write_from (bytes written, the rest stays in the buf); the
	 * buf may move between a would-block and its retry (buf_reserve compacts). Record buffers
	 * are given back while a connection is idle: parked upstream connections keep none. */
	SSL_CTX_set_mode(sc, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
				 SSL_MODE_RELEASE_BUFFERS);
	/* A server-initiated renegotiation is refused: nothing sluice talks to needs one, and it
	 * has been a source of attacks (RFC 5746). SSL_OP_IGNORE_UNEXPECTED_EOF stays off so a
	 * cut connection is reported as truncated, not as a clean end. */
	SSL_CTX_set_options(sc, SSL_OP_NO_RENEGOTIATION);
	if (SSL_CTX_set_default_verify_paths(sc) != 1) {
		tls_context_reason(err, err_size, "cannot load the system trust store");
		tls_context_free(ctx);
		return NULL;
	}
	if (ca_file && SSL_CTX_load_verify_locations(sc, ca_file, NULL) != 1) {
		char what[640]; /* the whole path: a cut one would not say which file */
		/* OpenSSL gives no reason for a file it cannot open: say why in errno's words
		 * (open, not access: the seccomp allow-list has the calls sluice already makes). */
		int probe = open(ca_file, O_RDONLY | O_CLOEXEC);
		if (probe < 0) {
			if (err && err_size)
				snprintf(err, err_size, "cannot read CA file %.600s: %s", ca_file,
					 strerror(errno));
			ERR_clear_error();
		} else {
			close(probe);
			snprintf(what, sizeof(what), "cannot load CA file %.600s", ca_file);
			tls_context_reason(err, err_size, what);
		}
		tls_context_free(ctx);
		return NULL;
	}
	return ctx;
}

void tls_context_free(struct tls_context *ctx)
{
	if (!ctx)
		return;
	/* Reference-counted: SSL objects still alive keep their SSL_CTX. */
	SSL_CTX_free(ctx->ssl_ctx);
	free(ctx);
}

static bool tls_session_is_ip_literal(const char *name)
{
	unsigned char addr[16];
	return inet_pton(AF_INET, name, addr) == 1 || inet_pton(AF_INET6, name, addr) == 1;
}

/* Sets what the certificate must be valid for. RFC 6066 §3: SNI carries host names only, never
 * address literals; RFC 6125 §6.4: names are matched against the subjectAltName. */
static bool tls_session_set_peer_name(SSL *ssl, const char *name)
{
	if (tls_session_is_ip_literal(name))
		return X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name) == 1;
	if (SSL_set_tlsext_host_name(ssl, name) != 1)
		return false;
	/* "*" matches one whole left-most label only (RFC 6125 §6.4.3), never "f*.example". */
	SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	return SSL_set1_host(ssl, name) == 1;
}

struct tls_session *tls_session_connect(struct tls_context *ctx, int fd, const char *server_name)
{
	if (!server_name || !server_name[0])
		return NULL;
	struct tls_session *tc = calloc(1, sizeof(*tc));
	if (!tc)
		return NULL;
	ERR_clear_error();
	tc->ssl = SSL_new(ctx->ssl_ctx);
	if (!tc->ssl || SSL_set_fd(tc->ssl, fd) != 1 ||
	    !tls_session_set_peer_name(tc->ssl, server_name)) {
		ERR_clear_error();
		SSL_free(tc->ssl);
		free(tc);
		return NULL;
	}
	SSL_set_connect_state(tc->ssl);
	return tc;
}

bool tls_session_offer_alpn(struct tls_session *tc, const unsigned char *protos, size_t len)
{
	/* OpenSSL's one inverted return: 0 is success. */
	return SSL_set_alpn_protos(tc->ssl, protos, (unsigned)len) == 0;
}

void tls_session_free(struct tls_session *tc)
{
	if (!tc)
		return;
	/* RFC 8446 §6.1: close_notify tells the server the end is deliberate. One non-blocking
	 * attempt; after a fatal error OpenSSL forbids it, and the peer's reply is not awaited. */
	if (tc->end != TLS_END_ERROR && tc->established) {
		ERR_clear_error();
		SSL_shutdown(tc->ssl);
		ERR_clear_error();
	}
	SSL_free(tc->ssl);
	free(tc);
}

/* The alerts a client sends when it does not accept the certificate it was shown (RFC 8446
 * §6.2): for an intercepted client, almost always a CA it was not told to trust. */
static bool tls_session_alert_rejects_cert(int reason)
{
	switch (reason) {
	case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
	case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
	case SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN:
	case SSL_R_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE:
	case SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED:
	case SSL_R_SSLV3_ALERT_CERTIFICATE_REVOKED:
		return true;
	default:
		return false;
	}
}

/* Turns a failed SSL call into the session's end and a short reason. */
static void tls_session_fail(struct tls_session *tc, int ssl_err, int saved_errno)
{
	unsigned long code = ERR_peek_error();
	int reason = ERR_GET_LIB(code) == ERR_LIB_SSL ? ERR_GET_REASON(code) : 0;
	tc->end = TLS_END_ERROR;
	tc->peer_rejected = tls_session_alert_rejects_cert(reason);
	if (reason == SSL_R_CERTIFICATE_VERIFY_FAILED) {
		tc->cert_failed = true;
		long v = SSL_get_verify_result(tc->ssl);
		snprintf(tc->err, sizeof(tc->err), "certificate verify failed: %s",
			 X509_verify_cert_error_string(v));
	} else if (reason == SSL_R_UNEXPECTED_EOF_WHILE_READING ||
		   (ssl_err == SSL_ERROR_SYSCALL && saved_errno == 0)) {
		tc->truncated = tc->established;
		snprintf(tc->err, sizeof(tc->err), "%s",
			 tc->established ? "truncated: peer closed without close_notify"
					 : "peer closed during TLS handshake");
	} else if (ssl_err == SSL_ERROR_SYSCALL) {
		char text[96];
		snprintf(tc->err, sizeof(tc->err), "tls: %s",
			 strerror_r(saved_errno, text, sizeof(text)));
	} else {
		const char *why = code ? ERR_reason_error_string(code) : NULL;
		snprintf(tc->err, sizeof(tc->err), "tls: %s", why ? why : "protocol error");
	}
	ERR_clear_error();
}

int tls_session_handshake(struct tls_session *tc, bool *want_write)
{
	if (tc->end == TLS_END_ERROR)
		return -1;
	if (tc->established)
		return 1;
	ERR_clear_error();
	int r = SSL_do_handshake(tc->ssl);
	int saved_errno = errno;
	if (r == 1) {
		tc->established = true;
		return 1;
	}
	int e = SSL_get_error(tc->ssl, r);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		*want_write = e == SSL_ERROR_WANT_WRITE;
		ERR_clear_error();
		return 0;
	}
	tls_session_fail(tc, e, saved_errno);
	return -1;
}

/* One SSL_read into b's free space. Returns true when bytes came and another may follow. */
static bool tls_session_read_once(struct tls_session *tc, struct buf *b, size_t room, size_t *total)
{
	size_t got = 0;
	ERR_clear_error();
	int r = SSL_read_ex(tc->ssl, buf_tail(b), room, &got);
	int saved_errno = errno;
	if (r == 1) {
		tc->established = true;
		buf_commit(b, got);
		*total += got;
		return true;
	}
	int e = SSL_get_error(tc->ssl, r);
	switch (e) {
	case SSL_ERROR_WANT_READ:
		break;
	case SSL_ERROR_WANT_WRITE: /* e.g. a TLS 1.3 KeyUpdate reply (RFC 8446 §4.6.3) */
		tc->want_write = true;
		break;
	case SSL_ERROR_ZERO_RETURN:
		tc->end = TLS_END_CLEAN;
		break;
	default:
		tls_session_fail(tc, e, saved_errno);
		return false;
	}
	ERR_clear_error();
	return false;
}

ssize_t tls_session_read_into(struct tls_session *tc, struct buf *b, size_t max_cap)
{
	size_t total = 0;

	tc->want_write = false;
	tc->end_unreported = false;
	if (tc->end == TLS_END_NONE) {
		/* Drain: bytes left inside TLS would not make the socket readable again. */
		for (;;) {
			size_t room = buf_reserve(b, TLS_SESSION_READ_CHUNK, max_cap);
			if (room == 0 || !tls_session_read_once(tc, b, room, &total))
				break;
		}
	}
	if (total > 0) {
		tc->end_unreported = tc->end != TLS_END_NONE;
		return (ssize_t)total;
	}
	if (buf_len(b) == 0)
		buf_release(b);
	if (tc->end == TLS_END_CLEAN)
		return 0;
	return tc->end == TLS_END_ERROR ? -2 : -1;
}

ssize_t tls_session_write_from(struct tls_session *tc, struct buf *b, size_t n)
{
	tc->want_write = true;
	if (tc->end == TLS_END_ERROR)
		return -2;
	if (n > buf_len(b))
		n = buf_len(b);
	/* OpenSSL requires a retry after would-block to offer at least the bytes it has already
	 * sealed into a record; the caller cannot un-send them. */
	if (n < tc->write_committed) {
		if (buf_len(b) < tc->write_committed) {
			tc->end = TLS_END_ERROR;
			snprintf(tc->err, sizeof(tc->err), "tls: write retried without its bytes");
			return -2;
		}
		n = tc->write_committed;
	}
	if (n == 0)
		return 0;
	size_t put = 0;
	ERR_clear_error();
	int r = SSL_write_ex(tc->ssl, buf_head(b), n, &put);
	int saved_errno = errno;
	if (r == 1) {
		tc->established = true;
		tc->write_committed = 0;
		buf_consume(b, put);
		return (ssize_t)put;
	}
	int e = SSL_get_error(tc->ssl, r);
	if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) {
		tc->want_write = e == SSL_ERROR_WANT_WRITE;
		tc->write_committed = n;
		ERR_clear_error();
		return -1;
	}
	tls_session_fail(tc, e, saved_errno);
	return -2;
}

bool tls_session_wants_write(const struct tls_session *tc)
{
	return tc->want_write;
}

bool tls_session_pending(const struct tls_session *tc)
{
	return tc->end_unreported || SSL_has_pending(tc->ssl) == 1;
}

bool tls_session_truncated(const struct tls_session *tc)
{
	return tc->truncated;
}

const char *tls_session_error(const struct tls_session *tc)
{
	return tc->err;
}

bool tls_session_cert_failed(const struct tls_session *tc)
{
	return tc->cert_failed;
}

bool tls_session_peer_rejected_cert(const struct tls_session *tc)
{
	return tc->peer_rejected;
}

const char *tls_session_alpn(const struct tls_session *tc)
{
	static _Thread_local char text[TLS_SESSION_ALPN_MAX + 1];
	const unsigned char *p = NULL;
	unsigned len = 0;

	SSL_get0_alpn_selected(tc->ssl, &p, &len);
	if (len > TLS_SESSION_ALPN_MAX)
		len = TLS_SESSION_ALPN_MAX;
	if (len)
		memcpy(text, p, len);
	text[len] = '\0';
	return text;
}

void tls_session_shutdown(struct tls_session *tc)
{
	if (tc->shut || tc->end == TLS_END_ERROR || !tc->established)
		return;
	tc->shut = true;
	ERR_clear_error();
	SSL_shutdown(tc->ssl);
	ERR_clear_error();
}

/* The offered protocol named want (length-prefixed list in[0..inlen)), or false. */
static bool tls_alpn_offered(const unsigned char *in, unsigned inlen, const char *want,
			     const unsigned char **out, unsigned char *outlen)
{
	size_t want_len = strlen(want);
	for (unsigned i = 0; i < inlen;) {
		unsigned len = in[i];
		if (i + 1 + len > inlen)
			break;
		if (len == want_len && memcmp(in + i + 1, want, len) == 0) {
			*out = in + i + 1;
			*outlen = (unsigned char)len;
			return true;
		}
		i += 1 + len;
	}
	return false;
}

/* ALPN (RFC 7301): HTTP/2 when offered (sluice's preference: one connection for all of a
 * client's requests), else HTTP/1.1; nothing chosen otherwise, so that the handshake goes on and
 * the client decides (every HTTP client falls back to HTTP/1.1 without ALPN). */
static int tls_server_select_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen,
				  const unsigned char *in, unsigned inlen, void *arg)
{
	(void)ssl;
	(void)arg;
	if (tls_alpn_offered(in, inlen, "h2", out, outlen) ||
	    tls_alpn_offered(in, inlen, "http/1.1", out, outlen))
		return SSL_TLSEXT_ERR_OK;
	return SSL_TLSEXT_ERR_NOACK;
}

struct tls_server_context *tls_server_context_new(char *err, size_t err_size)
{
	struct tls_server_context *ctx = calloc(1, sizeof(*ctx));
	if (!ctx) {
		if (err && err_size)
			snprintf(err, err_size, "out of memory");
		return NULL;
	}
	ERR_clear_error();
	SSL_CTX *sc = SSL_CTX_new(TLS_server_method());
	if (!sc) {
		tls_context_reason(err, err_size, "cannot create the interception TLS context");
		free(ctx);
		return NULL;
	}
	ctx->ssl_ctx = sc;
	SSL_CTX_set_min_proto_version(sc, TLS1_2_VERSION);
	SSL_CTX_set_mode(sc, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
				 SSL_MODE_RELEASE_BUFFERS);
	/* Client-initiated renegotiation is a denial-of-service lever (CVE-2011-1473). */
	SSL_CTX_set_options(sc, SSL_OP_NO_RENEGOTIATION);
	/* One TLS 1.3 ticket, not OpenSSL's two: clients resume with one, and each costs an
	 * encryption on every handshake. */
	SSL_CTX_set_num_tickets(sc, 1);
	SSL_CTX_set_alpn_select_cb(sc, tls_server_select_alpn, NULL);
	return ctx;
}

void tls_server_context_free(struct tls_server_context *ctx)
{
	if (!ctx)
		return;
	SSL_CTX_free(ctx->ssl_ctx);
	free(ctx);
}

/* The read side of an accepted session: the bytes tunnel_check already took from the socket
 * (the ClientHello), then the socket. A BIO of its own, because OpenSSL cannot be handed bytes
 * it did not read itself any other way short of running every record through memory BIOs. */
struct tls_prefix {
	int fd;
	size_t len, off;
	unsigned char *data; /* freed once read */
};

static int tls_prefix_read(BIO *b, char *out, int outl)
{
	struct tls_prefix *p = BIO_get_data(b);

	BIO_clear_retry_flags(b);
	if (outl <= 0)
		return 0;
	if (p->data) {
		size_t n = p->len - p->off < (size_t)outl ? p->len - p->off : (size_t)outl;
		memcpy(out, p->data + p->off, n);
		p->off += n;
		if (p->off == p->len) {
			free(p->data);
			p->data = NULL;
		}
		return (int)n;
	}
	ssize_t n = read(p->fd, out, (size_t)outl);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		BIO_set_retry_read(b);
	return (int)n;
}

static long tls_prefix_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	(void)b;
	(void)num;
	(void)ptr;
	return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static int tls_prefix_create(BIO *b)
{
	BIO_set_init(b, 1);
	return 1;
}

static int tls_prefix_destroy(BIO *b)
{
	struct tls_prefix *p = BIO_get_data(b);
	if (p) {
		free(p->data);
		free(p);
	}
	BIO_set_data(b, NULL);
	return 1;
}

static BIO_METHOD *tls_prefix_method;

static void tls_prefix_method_make(void)
{
	BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "sluice prefix");
	if (m &&
	    (!BIO_meth_set_read(m, tls_prefix_read) || !BIO_meth_set_ctrl(m, tls_prefix_ctrl) ||
	     !BIO_meth_set_create(m, tls_prefix_create) ||
	     !BIO_meth_set_destroy(m, tls_prefix_destroy))) {
		BIO_meth_free(m);
		m = NULL;
	}
	tls_prefix_method = m;
}

static BIO *tls_prefix_bio(int fd, const void *prefix, size_t len)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, tls_prefix_method_make);
	if (!tls_prefix_method)
		return NULL;
	struct tls_prefix *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->fd = fd;
	if (len > 0) {
		p->data = malloc(len);
		if (!p->data) {
			free(p);
			return NULL;
		}
		memcpy(p->data, prefix, len);
		p->len = len;
	}
	BIO *b = BIO_new(tls_prefix_method);
	if (!b) {
		free(p->data);
		free(p);
		return NULL;
	}
	BIO_set_data(b, p);
	return b;
}

struct tls_session *tls_session_accept(struct tls_server_context *ctx, int fd, X509 *leaf,
				       EVP_PKEY *key, const void *prefix, size_t prefix_len)
{
	struct tls_session *tc = calloc(1, sizeof(*tc));
	if (!tc)
		return NULL;
	ERR_clear_error();
	BIO *rbio = tls_prefix_bio(fd, prefix, prefix_len);
	BIO *wbio = BIO_new_socket(fd, BIO_NOCLOSE);
	tc->ssl = SSL_new(ctx->ssl_ctx);
	if (!rbio || !wbio || !tc->ssl || SSL_use_certificate(tc->ssl, leaf) != 1 ||
	    SSL_use_PrivateKey(tc->ssl, key) != 1) {
		ERR_clear_error();
		BIO_free(rbio);
		BIO_free(wbio);
		SSL_free(tc->ssl);
		free(tc);
		return NULL;
	}
	SSL_set_bio(tc->ssl, rbio, wbio);
	SSL_set_accept_state(tc->ssl);
	return tc;
}

const char *tls_session_server_name(const struct tls_session *tc)
{
	const char *name = SSL_get_servername(tc->ssl, TLSEXT_NAMETYPE_host_name);
	return name ? name : "";
}
