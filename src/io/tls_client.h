/* tls_client: TLS (OpenSSL) originated by sluice over a connected non-blocking socket, with the
 * peer certificate and name verified; read/write follow conn_read_into/conn_write_from.
 * Does not connect, resolve, own the socket, wait for readiness, or cache sessions. */
#ifndef SLUICE_IO_TLS_CLIENT_H
#define SLUICE_IO_TLS_CLIENT_H

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

/* One TLS connection. The socket must ignore SIGPIPE (the daemon sets SIG_IGN): OpenSSL writes
 * with write(2), not send(MSG_NOSIGNAL). */
struct tls_client;

/* fd: a connected non-blocking TCP socket, not owned (the caller closes it after
 * tls_client_free). server_name: the host name (no brackets, no port) the certificate must be
 * valid for, also sent as SNI; an IPv4/IPv6 literal is checked against the certificate's IP
 * SANs instead and not sent as SNI (RFC 6066 §3). Returns NULL when out of memory or when
 * server_name is NULL or empty — a connection that verifies no name is never made. */
struct tls_client *tls_client_new(struct tls_context *ctx, int fd, const char *server_name);
/* Sends close_notify best-effort (once, without waiting) when the session is healthy, then
 * frees. Does not close the fd. */
void tls_client_free(struct tls_client *tc);

/* Drives the handshake. Returns 1 when done (also on later calls), 0 in progress — then wait
 * for writability when *want_write, else readability, and call again — or -1 failed, with
 * tls_client_error() saying why (e.g. "certificate verify failed: self-signed certificate"). */
int tls_client_handshake(struct tls_client *tc, bool *want_write);

/* Decrypts what is available into b (growing it up to max_cap), draining TLS's own buffer too.
 * Returns bytes read; 0 at a clean end (the peer's close_notify); -1 when it would block or b
 * is full; -2 on error, including a TCP close without close_notify ("truncated": a proxy must
 * not mistake a cut response for a whole one; see tls_client_truncated). A 0 or -2 that follows
 * bytes is reported on the next call. */
ssize_t tls_client_read_into(struct tls_client *tc, struct buf *b, size_t max_cap);
/* Encrypts and sends up to n bytes from the front of b, consuming what was sent. Returns bytes
 * written, 0 when n or b is empty, -1 when it would block with nothing written, -2 on error.
 * After -1 the bytes at the front of b are already committed to a TLS record: retry with the
 * same front (n may grow; it is raised to the committed length if it shrinks). */
ssize_t tls_client_write_from(struct tls_client *tc, struct buf *b, size_t n);

/* The readiness the last read_into or write_from needs before it can progress: true =
 * writability, false = readability. Usually false after a read and true after a write; the
 * other way round when TLS must first send (a TLS 1.3 KeyUpdate reply) or receive to go on. */
bool tls_client_wants_write(const struct tls_client *tc);
/* Bytes (or an end, 0 or -2, found while returning bytes) wait inside TLS, where socket
 * readiness will not announce them: after read_into returned bytes, or -1 on a full buffer,
 * call it again (once b has room) instead of waiting for a read event. */
bool tls_client_pending(const struct tls_client *tc);
/* The -2 was a TCP close without close_notify (RFC 8446 §6.1 truncation), not another error:
 * a response whose end is the close (RFC 9112 §6.3, item 8) may still be taken as complete. */
bool tls_client_truncated(const struct tls_client *tc);
/* Why the last -1 (handshake) or -2 (read/write) happened; "" when nothing failed. */
const char *tls_client_error(const struct tls_client *tc);

#endif
