/* tls_session: one TLS (OpenSSL) session over a non-blocking socket — originated by sluice toward
 * an upstream, with the peer certificate and name verified, or accepted from an intercepted
 * client with a minted leaf; read/write follow conn_read_into/conn_write_from.
 * Does not connect, resolve, own the socket, wait for readiness, mint, or cache sessions. */
#ifndef SLUICE_IO_TLS_SESSION_H
#define SLUICE_IO_TLS_SESSION_H

#include <openssl/types.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "base/buf.h"

/* Shared, read-only after creation: one per process (or per worker) serves every thread, since
 * OpenSSL creates SSL objects from one SSL_CTX concurrently. Verification always on, TLS >= 1.2,
 * trust = the system store plus ca_file (PEM, may hold several certificates) when not NULL.
 * Returns NULL with a reason in err when the store or ca_file cannot be loaded. */
struct tls_context;
struct tls_context *tls_context_new(const char *ca_file, char *err, size_t err_size);
void tls_context_free(struct tls_context *ctx);

/* The server side of interception, one per process: TLS >= 1.2, no renegotiation, record buffers
 * released while idle, and ALPN "http/1.1" chosen when the client offers it (no protocol is
 * chosen otherwise, which a client offering only h2 takes as HTTP/1.1 or refuses). Holds no
 * certificate: each session presents the leaf minted for its name. NULL with a reason in err. */
struct tls_server_context;
struct tls_server_context *tls_server_context_new(char *err, size_t err_size);
void tls_server_context_free(struct tls_server_context *ctx);

/* One TLS connection. The socket must ignore SIGPIPE (the daemon sets SIG_IGN): OpenSSL writes
 * with write(2), not send(MSG_NOSIGNAL). */
struct tls_session;

/* fd: a connected non-blocking TCP socket, not owned (the caller closes it after
 * tls_session_free). server_name: the host name (no brackets, no port) the certificate must be
 * valid for, also sent as SNI; an IPv4/IPv6 literal is checked against the certificate's IP
 * SANs instead and not sent as SNI (RFC 6066 §3). Returns NULL when out of memory or when
 * server_name is NULL or empty — a connection that verifies no name is never made. */
struct tls_session *tls_session_connect(struct tls_context *ctx, int fd, const char *server_name);
/* Offers these protocols in the ClientHello's ALPN (RFC 7301 wire form: each a length byte
 * then its name), before the first handshake step. False when out of memory. */
bool tls_session_offer_alpn(struct tls_session *tc, const unsigned char *protos, size_t len);
/* A session sluice accepts on fd (not owned), presenting leaf with key (both borrowed: OpenSSL
 * takes its own references). prefix holds the client's first bytes, already read from the socket
 * (the ClientHello tunnel_check judged): TLS reads them (a copy) before the socket's. NULL when
 * out of memory or the leaf and key do not match. */
struct tls_session *tls_session_accept(struct tls_server_context *ctx, int fd, X509 *leaf,
				       EVP_PKEY *key, const void *prefix, size_t prefix_len);
/* Sends close_notify best-effort (once, without waiting) when the session is healthy, then
 * frees. Does not close the fd. */
void tls_session_free(struct tls_session *tc);

/* Drives the handshake. Returns 1 when done (also on later calls), 0 in progress — then wait
 * for writability when *want_write, else readability, and call again — or -1 failed, with
 * tls_session_error() saying why (e.g. "certificate verify failed: self-signed certificate"). */
int tls_session_handshake(struct tls_session *tc, bool *want_write);

/* Decrypts what is available into b (growing it up to max_cap), draining TLS's own buffer too.
 * Returns bytes read; 0 at a clean end (the peer's close_notify); -1 when it would block or b
 * is full; -2 on error, including a TCP close without close_notify ("truncated": a proxy must
 * not mistake a cut response for a whole one; see tls_session_truncated). A 0 or -2 that follows
 * bytes is reported on the next call. */
ssize_t tls_session_read_into(struct tls_session *tc, struct buf *b, size_t max_cap);
/* Encrypts and sends up to n bytes from the front of b, consuming what was sent. Returns bytes
 * written, 0 when n or b is empty, -1 when it would block with nothing written, -2 on error.
 * After -1 the bytes at the front of b are already committed to a TLS record: retry with the
 * same front (n may grow; it is raised to the committed length if it shrinks). */
ssize_t tls_session_write_from(struct tls_session *tc, struct buf *b, size_t n);

/* The readiness the last read_into or write_from needs before it can progress: true =
 * writability, false = readability. Usually false after a read and true after a write; the
 * other way round when TLS must first send (a TLS 1.3 KeyUpdate reply) or receive to go on. */
bool tls_session_wants_write(const struct tls_session *tc);
/* Bytes (or an end, 0 or -2, found while returning bytes) wait inside TLS, where socket
 * readiness will not announce them: after read_into returned bytes, or -1 on a full buffer,
 * call it again (once b has room) instead of waiting for a read event. */
bool tls_session_pending(const struct tls_session *tc);
/* The -2 was a TCP close without close_notify (RFC 8446 §6.1 truncation), not another error:
 * a response whose end is the close (RFC 9112 §6.3, item 8) may still be taken as complete. */
bool tls_session_truncated(const struct tls_session *tc);
/* What failed, when something did: the peer's certificate did not verify (sluice's side of the
 * check), or the peer refused sluice's (its alert said unknown_ca, bad_certificate,
 * certificate_unknown and the like: a client that does not trust the interception CA). */
bool tls_session_cert_failed(const struct tls_session *ts);
bool tls_session_peer_rejected_cert(const struct tls_session *ts);
/* The protocol ALPN chose, "" when none (NUL-terminated, at most 32 bytes). */
const char *tls_session_alpn(const struct tls_session *ts);
/* The server name the client sent (SNI), "" when none; valid while ts lives. */
const char *tls_session_server_name(const struct tls_session *ts);
/* Sends close_notify now, once (a relay's half-close: the peer learns no more bytes come), best
 * effort and without waiting; reads go on. */
void tls_session_shutdown(struct tls_session *ts);
/* Why the last -1 (handshake) or -2 (read/write) happened; "" when nothing failed. */
const char *tls_session_error(const struct tls_session *tc);

#endif
