#include "io/tls_client.h"

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

/* Reads ask the buffer for this much room at a time, as conn_read_into does. */
#define TLS_CLIENT_READ_CHUNK 16384

struct tls_context {
	SSL_CTX *ssl_ctx;
};

/* An end of the stream seen while bytes were being returned, reported on the next call. */
enum tls_client_end {
	TLS_END_NONE,
	TLS_END_CLEAN, /* close_notify received */
	TLS_END_ERROR, /* fatal: the session may not be used any more */
};

struct tls_client {
	SSL *ssl;
	enum tls_client_end end;
	bool truncated;	     /* the error was a TCP close without close_notify */
	bool established;    /* the handshake finished once (post-handshake messages re-enter it) */
	bool end_unreported; /* end was set while returning bytes */
	bool want_write;     /* the readiness the last -1 waits for */
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

static bool tls_client_is_ip_literal(const char *name)
{
	unsigned char addr[16];
	return inet_pton(AF_INET, name, addr) == 1 || inet_pton(AF_INET6, name, addr) == 1;
}

/* Sets what the certificate must be valid for. RFC 6066 §3: SNI carries host names only, never
 * address literals; RFC 6125 §6.4: names are matched against the subjectAltName. */
static bool tls_client_set_peer_name(SSL *ssl, const char *name)
{
	if (tls_client_is_ip_literal(name))
		return X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name) == 1;
	if (SSL_set_tlsext_host_name(ssl, name) != 1)
		return false;
	/* "*" matches one whole left-most label only (RFC 6125 §6.4.3), never "f*.example". */
	SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	return SSL_set1_host(ssl, name) == 1;
}

struct tls_client *tls_client_new(struct tls_context *ctx, int fd, const char *server_name)
{
	if (!server_name || !server_name[0])
		return NULL;
	struct tls_client *tc = calloc(1, sizeof(*tc));
	if (!tc)
		return NULL;
	ERR_clear_error();
	tc->ssl = SSL_new(ctx->ssl_ctx);
	if (!tc->ssl || SSL_set_fd(tc->ssl, fd) != 1 ||
	    !tls_client_set_peer_name(tc->ssl, server_name)) {
		ERR_clear_error();
		SSL_free(tc->ssl);
		free(tc);
		return NULL;
	}
	SSL_set_connect_state(tc->ssl);
	return tc;
}

void tls_client_free(struct tls_client *tc)
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

/* Turns a failed SSL call into the session's end and a short reason. */
static void tls_client_fail(struct tls_client *tc, int ssl_err, int saved_errno)
{
	unsigned long code = ERR_peek_error();
	int reason = ERR_GET_LIB(code) == ERR_LIB_SSL ? ERR_GET_REASON(code) : 0;
	tc->end = TLS_END_ERROR;
	if (reason == SSL_R_CERTIFICATE_VERIFY_FAILED) {
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

int tls_client_handshake(struct tls_client *tc, bool *want_write)
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
	tls_client_fail(tc, e, saved_errno);
	return -1;
}

/* One SSL_read into b's free space. Returns true when bytes came and another may follow. */
static bool tls_client_read_once(struct tls_client *tc, struct buf *b, size_t room, size_t *total)
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
		tls_client_fail(tc, e, saved_errno);
		return false;
	}
	ERR_clear_error();
	return false;
}

ssize_t tls_client_read_into(struct tls_client *tc, struct buf *b, size_t max_cap)
{
	size_t total = 0;

	tc->want_write = false;
	tc->end_unreported = false;
	if (tc->end == TLS_END_NONE) {
		/* Drain: bytes left inside TLS would not make the socket readable again. */
		for (;;) {
			size_t room = buf_reserve(b, TLS_CLIENT_READ_CHUNK, max_cap);
			if (room == 0 || !tls_client_read_once(tc, b, room, &total))
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

ssize_t tls_client_write_from(struct tls_client *tc, struct buf *b, size_t n)
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
	tls_client_fail(tc, e, saved_errno);
	return -2;
}

bool tls_client_wants_write(const struct tls_client *tc)
{
	return tc->want_write;
}

bool tls_client_pending(const struct tls_client *tc)
{
	return tc->end_unreported || SSL_has_pending(tc->ssl) == 1;
}

bool tls_client_truncated(const struct tls_client *tc)
{
	return tc->truncated;
}

const char *tls_client_error(const struct tls_client *tc)
{
	return tc->err;
}
