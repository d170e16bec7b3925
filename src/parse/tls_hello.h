/* tls_hello: reads the TLS ClientHello (RFC 8446 §4.1.2, RFC 5246 §7.4.1.2) from the first bytes
 * a client sends, reassembled across TLS records, and reports its SNI, ALPN, versions and ECH.
 * Does not terminate TLS, read a socket, allocate, or decide whether the hello may pass. */
#ifndef SLUICE_PARSE_TLS_HELLO_H
#define SLUICE_PARSE_TLS_HELLO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "parse/authority.h"
#include "base/slice.h"

/* RFC 8446 §5.1: a record's payload is at most 2^14 bytes. */
#define TLS_RECORD_MAX 16384
/* The largest ClientHello body (the handshake message's 24-bit length) accepted. Real hellos are
 * 0.3 to 2 KB; post-quantum key shares (X25519MLKEM768, 1.2 KB each) and session tickets bring
 * them to a few KB. Larger is TLS_HELLO_TOO_LARGE. */
#define TLS_HELLO_MAX 16384
/* The most bytes of input the records holding a ClientHello may take, record headers included.
 * A hello of TLS_HELLO_MAX fits in two full records (16,398 bytes); the slack allows a client
 * that cuts its hello into small records, up to a point. A caller that buffers this many bytes
 * always gets an answer other than TLS_HELLO_NEED_MORE. */
#define TLS_HELLO_INPUT_MAX (2 * TLS_HELLO_MAX)

enum tls_hello_status {
	TLS_HELLO_NEED_MORE, /* every byte so far is consistent with a ClientHello: read more */
	TLS_HELLO_OK,	     /* a complete, well-formed ClientHello */
	TLS_HELLO_NOT_TLS,   /* the first bytes are no TLS record: not a handshake (22) or the
			      * record version's major byte is not 3 ("GET ", "CONNECT", "SSH-") */
	TLS_HELLO_MALFORMED, /* TLS records, but not one well-formed ClientHello */
	TLS_HELLO_TOO_LARGE, /* the hello, or the records holding it, exceed the caps above */
};

struct tls_hello {
	/* TLS_HELLO_NEED_MORE: the input must grow to at least this many bytes (in all, not more)
	 * before the answer can be TLS_HELLO_OK; with fewer it is NEED_MORE or a refusal. At most
	 * TLS_HELLO_INPUT_MAX. */
	size_t need;
	/* TLS_HELLO_OK: the bytes of the input that make up the records holding the ClientHello.
	 * Bytes after them (a ChangeCipherSpec, early data) are not read. */
	size_t consumed;
	/* Not TLS_HELLO_OK or TLS_HELLO_NEED_MORE: a static text saying why, for the log. */
	const char *detail;

	/* The rest is set on TLS_HELLO_OK only. */
	unsigned records;	 /* records the hello spans (1 unless the client split it) */
	uint16_t legacy_version; /* ClientHello.legacy_version: 0x0303 for TLS 1.2 and 1.3 */
	/* server_name (RFC 6066 §3): exactly one host_name, normalised by authority_parse_host
	 * (lower case). kind tells a name from an IP literal, which RFC 6066 forbids in SNI and
	 * the caller refuses with its own reason. */
	bool has_sni;
	struct authority sni;
	/* application_layer_protocol_negotiation (RFC 7301 §3.1): the protocol_name_list without
	 * its length, every name 1..255 bytes (tls_hello_alpn_next walks it); empty when absent. */
	bool has_alpn;
	struct slice alpn;
	bool alpn_h2, alpn_http11; /* "h2", "http/1.1" among the names */
	/* supported_versions (RFC 8446 §4.2.1); TLS 1.3 (0x0304) among them. */
	bool has_supported_versions;
	bool tls13_offered;
	/* encrypted_client_hello (0xfe0d, draft-ietf-tls-esni §5). An outer ECH means the real
	 * SNI and ALPN are encrypted and the ones above are the client-facing server's public
	 * name. GREASE ECH (§6.2), which browsers send when they have no ECH config, looks the
	 * same by design. */
	bool has_ech;
	bool ech_outer; /* type outer(0); else inner(1), which only a backend server should see */
	/* pre_shared_key (41, always the last extension) and early_data (42): 0-RTT application
	 * data may follow the hello, in records the parser does not read. */
	bool has_psk, has_early_data;
	/* The reassembled handshake message (type, 24-bit length, body), copied out of the
	 * records: the slices above point into it, not into the input, so they are valid while
	 * this struct lives, and a copy of the struct must not be read through them. It makes the
	 * struct about 16.8 KB. */
	size_t msg_len;
	char msg[4 + TLS_HELLO_MAX];
};

/* Reads buf[0..len), the bytes a client has sent so far, as TLS records holding a ClientHello
 * and nothing else. Records must be handshake records (22), non-empty, at most 2^14 bytes, with
 * a record version of 3.x; the handshake message in them must be one client_hello (1) ending
 * where a record ends. Every byte is judged as soon as it arrives, so a prefix of an input
 * never gets an answer (but NEED_MORE) that the whole input would not get: NOT_TLS after one
 * or two bytes, MALFORMED at the first bad field of the record layer. The hello's body is
 * judged once it is complete. Every ambiguity is refused (MALFORMED): a duplicate extension,
 * a second host_name, an SNI with a trailing dot or bytes outside [A-Za-z0-9._-], lengths
 * that do not add up exactly. A first byte with its high bit set (an SSLv2-format record,
 * RFC 5246 Appendix E.2) is MALFORMED rather than NOT_TLS: it is a TLS handshake some servers
 * still take, and it has no room for an SNI. A record version's minor byte is ignored, as
 * RFC 8446 §5.1 says. Fills *out (see struct tls_hello) and returns its status. Never reads
 * past len, allocates nothing; a call walks the records from the start (the caller may wait
 * until it has out->need bytes) and copies the hello once, when it is complete.
 * Only the first ClientHello is read: the second one that follows a HelloRetryRequest (RFC
 * 8446 §4.1.4) should repeat its SNI, but nothing here sees it. */
enum tls_hello_status tls_hello_parse(const char *buf, size_t len, struct tls_hello *out);

/* Walks a protocol_name_list from struct tls_hello.alpn: start with *rest = hello->alpn; each
 * call sets *name to the next protocol name and returns true, or returns false at the end (or
 * on bytes that are not a well-formed list). */
bool tls_hello_alpn_next(struct slice *rest, struct slice *name);

/* "need_more", "ok", "not_tls", "malformed", "too_large". */
const char *tls_hello_status_name(enum tls_hello_status status);

#endif
