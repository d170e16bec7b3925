#include "parse/tls_hello.h"

#include <string.h>

#include "base/bug.h"

#define RECORD_HEADER 5
#define HANDSHAKE_HEADER 4
#define CONTENT_HANDSHAKE 22
#define HANDSHAKE_CLIENT_HELLO 1
#define SNI_HOST_MAX 255

#define EXT_SERVER_NAME 0
#define EXT_ALPN 16
#define EXT_PRE_SHARED_KEY 41
#define EXT_EARLY_DATA 42
#define EXT_SUPPORTED_VERSIONS 43
#define EXT_ECH 0xfe0d

#define ECH_OUTER 0
#define ECH_INNER 1

/* ---- the record layer: where the handshake message lies in the input ---- */

/* The walk over the records so far. Each check runs as soon as the bytes it reads are there,
 * in input order, so a prefix of the input meets the same first failure as the whole. */
struct walk {
	const uint8_t *b;
	size_t len;
	size_t off;	  /* input offset of the record being read */
	size_t got;	  /* handshake bytes in the records before it */
	size_t msg_total; /* HANDSHAKE_HEADER + body length, once the header is in; else 0 */
	uint8_t header[HANDSHAKE_HEADER];
	unsigned records;
	const char *detail;
};

static size_t be16(const uint8_t *p)
{
	return (size_t)p[0] << 8 | p[1];
}

static size_t be24(const uint8_t *p)
{
	return (size_t)p[0] << 16 | (size_t)p[1] << 8 | p[2];
}

static enum tls_hello_status refuse(struct walk *w, enum tls_hello_status status,
				    const char *detail)
{
	w->detail = detail;
	return status;
}

/* The first bytes tell TLS from another protocol: only a handshake record of version 3.x is TLS.
 * Later records are TLS already, so the same faults there are malformed. */
static enum tls_hello_status check_record_start(struct walk *w)
{
	uint8_t type = w->b[w->off];
	/* RFC 5246 Appendix E.2: an SSLv2-format ClientHello. It has no extensions, so no SNI,
	 * and some servers still take it: refused as broken TLS, not passed on as other bytes. */
	if (w->off == 0 && (type & 0x80))
		return refuse(w, TLS_HELLO_MALFORMED, "SSLv2-format ClientHello");
	if (type != CONTENT_HANDSHAKE)
		return w->off == 0
			   ? refuse(w, TLS_HELLO_NOT_TLS, "first byte is not a TLS handshake")
			   : refuse(w, TLS_HELLO_MALFORMED,
				    "record other than handshake before the ClientHello ended");
	if (w->off + 1 < w->len && w->b[w->off + 1] != 3)
		return w->off == 0 ? refuse(w, TLS_HELLO_NOT_TLS, "record version is not 3.x")
				   : refuse(w, TLS_HELLO_MALFORMED, "record version is not 3.x");
	return TLS_HELLO_NEED_MORE;
}

/* The record header is in: its length. RFC 8446 §5.1: at most 2^14 bytes, and handshake
 * records are never empty. */
static enum tls_hello_status check_record_length(struct walk *w, size_t rlen)
{
	if (rlen == 0)
		return refuse(w, TLS_HELLO_MALFORMED, "empty handshake record (RFC 8446 §5.1)");
	if (rlen > TLS_RECORD_MAX)
		return refuse(w, TLS_HELLO_MALFORMED, "record longer than 2^14 bytes");
	if (w->off + RECORD_HEADER + rlen > TLS_HELLO_INPUT_MAX)
		return refuse(w, TLS_HELLO_TOO_LARGE, "records of the ClientHello exceed 32 KiB");
	if (w->msg_total != 0 && w->got + rlen > w->msg_total)
		return refuse(w, TLS_HELLO_MALFORMED, "bytes after the ClientHello in its record");
	return TLS_HELLO_NEED_MORE;
}

/* Takes the handshake header bytes of a record's payload as they arrive. The ClientHello must
 * be the first message and end where a record ends: it is alone in its flight (RFC 8446 §4.1.2),
 * so more handshake bytes in its last record are refused. */
static enum tls_hello_status take_header_bytes(struct walk *w, const uint8_t *payload, size_t avail,
					       size_t rlen)
{
	for (size_t i = 0; i < avail && w->got + i < HANDSHAKE_HEADER; i++) {
		size_t at = w->got + i;
		w->header[at] = payload[i];
		if (at == 0 && payload[i] != HANDSHAKE_CLIENT_HELLO)
			return refuse(w, TLS_HELLO_MALFORMED,
				      "handshake message is not a ClientHello");
		if (at != HANDSHAKE_HEADER - 1)
			continue;
		size_t body = be24(w->header + 1);
		if (body > TLS_HELLO_MAX)
			return refuse(w, TLS_HELLO_TOO_LARGE, "ClientHello longer than 16 KiB");
		w->msg_total = HANDSHAKE_HEADER + body;
		if (w->got + rlen > w->msg_total)
			return refuse(w, TLS_HELLO_MALFORMED,
				      "bytes after the ClientHello in its record");
	}
	return TLS_HELLO_NEED_MORE;
}

/* Handshake bytes still to come once `after` of them are in: the rest of the message, or of its
 * header while its length is unknown. */
static size_t remaining(const struct walk *w, size_t after)
{
	if (w->msg_total != 0)
		return w->msg_total - after;
	return after < HANDSHAKE_HEADER ? HANDSHAKE_HEADER - after : 0;
}

/* The least input with which the hello could be complete, when the input stops in the header of
 * the record at w->off (or just before it). */
static size_t need_from_header(const struct walk *w)
{
	return w->off + RECORD_HEADER + remaining(w, w->got);
}

/* The same when it stops in the payload of a record ending at end: that record, then, if the
 * message is longer than what it holds, one more record header and the rest. */
static size_t need_from_payload(const struct walk *w, size_t end, size_t rlen)
{
	size_t rest = remaining(w, w->got + rlen);
	return end + (rest != 0 ? RECORD_HEADER + rest : 0);
}

/* One record at w->off. Returns NEED_MORE with *need set when the input ends inside it, NEED_MORE
 * with *need still 0 when it is complete but the message goes on, a refusal, or OK when it ends
 * the message. */
static enum tls_hello_status walk_record(struct walk *w, size_t *need)
{
	enum tls_hello_status st = check_record_start(w);
	if (st != TLS_HELLO_NEED_MORE)
		return st;
	if (w->len - w->off < RECORD_HEADER) {
		*need = need_from_header(w);
		return TLS_HELLO_NEED_MORE;
	}
	size_t rlen = be16(w->b + w->off + 3);
	if ((st = check_record_length(w, rlen)) != TLS_HELLO_NEED_MORE)
		return st;
	size_t start = w->off + RECORD_HEADER, end = start + rlen;
	size_t avail = (w->len < end ? w->len : end) - start;
	if ((st = take_header_bytes(w, w->b + start, avail, rlen)) != TLS_HELLO_NEED_MORE)
		return st;
	w->records++;
	if (avail < rlen) {
		*need = need_from_payload(w, end, rlen);
		return TLS_HELLO_NEED_MORE;
	}
	w->got += rlen;
	w->off = end;
	return w->got == w->msg_total ? TLS_HELLO_OK : TLS_HELLO_NEED_MORE;
}

/* Walks record after record until the message is complete (OK), the input ends (NEED_MORE,
 * *need set) or a check fails. */
static enum tls_hello_status walk_records(struct walk *w, size_t *need)
{
	enum tls_hello_status st = TLS_HELLO_NEED_MORE;
	while (st == TLS_HELLO_NEED_MORE && *need == 0) {
		/* A record starting here would end past the cap: no need to wait for it. */
		if (w->off + RECORD_HEADER + 1 > TLS_HELLO_INPUT_MAX)
			return refuse(w, TLS_HELLO_TOO_LARGE,
				      "records of the ClientHello exceed 32 KiB");
		if (w->off == w->len) {
			*need = need_from_header(w);
			break;
		}
		st = walk_record(w, need);
	}
	return st;
}

/* Copies the payloads of the records walked (all complete and checked) into msg. */
static void reassemble(const uint8_t *b, size_t end, char *msg, size_t msg_total)
{
	size_t n = 0;
	for (size_t off = 0; off < end;) {
		size_t rlen = be16(b + off + 3);
		BUG_ON(n + rlen > msg_total);
		memcpy(msg + n, b + off + RECORD_HEADER, rlen);
		n += rlen;
		off += RECORD_HEADER + rlen;
	}
	BUG_ON(n != msg_total);
}

/* ---- the ClientHello body ---- */

/* A bounded reader over the reassembled message (BoringSSL's CBS, in small). */
struct reader {
	const uint8_t *p;
	size_t n;
};

static bool read_u8(struct reader *r, unsigned *v)
{
	if (r->n < 1)
		return false;
	*v = r->p[0];
	r->p++;
	r->n--;
	return true;
}

static bool read_u16(struct reader *r, unsigned *v)
{
	if (r->n < 2)
		return false;
	*v = (unsigned)be16(r->p);
	r->p += 2;
	r->n -= 2;
	return true;
}

static bool read_bytes(struct reader *r, size_t len, struct reader *out)
{
	if (r->n < len)
		return false;
	*out = (struct reader){r->p, len};
	r->p += len;
	r->n -= len;
	return true;
}

/* A vector with a 1- or 2-byte length prefix (RFC 8446 §3.4). */
static bool read_vec8(struct reader *r, struct reader *out)
{
	unsigned len;
	return read_u8(r, &len) && read_bytes(r, len, out);
}

static bool read_vec16(struct reader *r, struct reader *out)
{
	unsigned len;
	return read_u16(r, &len) && read_bytes(r, len, out);
}

static struct slice reader_slice(struct reader r)
{
	return slice_make((const char *)r.p, r.n);
}

/* RFC 6066 §3: a hostname in ASCII without a trailing dot; sluice takes the bytes a DNS name or
 * an IPv4 literal is made of, and nothing else. */
static const char *check_sni_bytes(struct slice h)
{
	if (h.len == 0)
		return "empty SNI host name";
	if (h.len > SNI_HOST_MAX)
		return "SNI host name longer than 255 bytes";
	for (size_t i = 0; i < h.len; i++) {
		char c = h.ptr[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.'))
			return "SNI host name has a byte other than a letter, digit, '.', '-' or "
			       "'_'";
	}
	if (h.ptr[h.len - 1] == '.')
		return "SNI host name ends in a dot (RFC 6066 §3)";
	return NULL;
}

/* RFC 6066 §3 server_name: a list of exactly one entry, of type host_name. A second entry, of
 * any type, is refused: a server picks one of them, a policy may judge the other (the
 * domain-fronting trick); OpenSSL refuses the same. */
static const char *parse_sni(struct reader data, struct tls_hello *out)
{
	struct reader list, name;
	unsigned type;
	if (!read_vec16(&data, &list) || data.n != 0)
		return "server_name list length does not match its extension";
	if (!read_u8(&list, &type) || !read_vec16(&list, &name))
		return "server_name list is empty or cut short";
	if (type != 0)
		return "server_name entry is not a host_name";
	if (list.n != 0)
		return "more than one server_name entry";
	struct slice host = reader_slice(name);
	const char *detail = check_sni_bytes(host);
	if (detail != NULL)
		return detail;
	if (authority_parse_host(host, &out->sni, &detail) != 0)
		return detail;
	out->has_sni = true;
	return NULL;
}

/* RFC 7301 §3.1: ProtocolName protocol_name_list<2..2^16-1>, each name <1..2^8-1>. */
static const char *parse_alpn(struct reader data, struct tls_hello *out)
{
	struct reader list;
	if (!read_vec16(&data, &list) || data.n != 0)
		return "ALPN list length does not match its extension";
	if (list.n == 0)
		return "empty ALPN list";
	out->has_alpn = true;
	out->alpn = reader_slice(list);
	while (list.n > 0) {
		struct reader name;
		if (!read_vec8(&list, &name) || name.n == 0)
			return "ALPN protocol name empty or cut short";
		struct slice s = reader_slice(name);
		out->alpn_h2 |= slice_eq(s, SLICE_LIT("h2"));
		out->alpn_http11 |= slice_eq(s, SLICE_LIT("http/1.1"));
	}
	return NULL;
}

/* RFC 8446 §4.2.1: ProtocolVersion versions<2..254> in a ClientHello. */
static const char *parse_supported_versions(struct reader data, struct tls_hello *out)
{
	struct reader list;
	if (!read_vec8(&data, &list) || data.n != 0)
		return "supported_versions length does not match its extension";
	if (list.n < 2 || list.n % 2 != 0)
		return "supported_versions list empty or of odd length";
	out->has_supported_versions = true;
	unsigned v;
	while (read_u16(&list, &v))
		out->tls13_offered |= v == 0x0304;
	return NULL;
}

/* draft-ietf-tls-esni §5: ECHClientHello, outer (cipher suite, config id, enc, payload) or inner
 * (nothing). */
static const char *parse_ech(struct reader data, struct tls_hello *out)
{
	unsigned type, kdf, aead, config_id;
	struct reader enc, payload;
	if (!read_u8(&data, &type))
		return "empty encrypted_client_hello";
	if (type == ECH_INNER) {
		if (data.n != 0)
			return "inner encrypted_client_hello is not empty";
	} else if (type == ECH_OUTER) {
		if (!read_u16(&data, &kdf) || !read_u16(&data, &aead) ||
		    !read_u8(&data, &config_id) || !read_vec16(&data, &enc) ||
		    !read_vec16(&data, &payload) || payload.n == 0 || data.n != 0)
			return "outer encrypted_client_hello is malformed";
	} else {
		return "encrypted_client_hello of unknown type";
	}
	out->has_ech = true;
	out->ech_outer = type == ECH_OUTER;
	return NULL;
}

/* One extension; last says whether it ends the list. */
static const char *parse_extension(unsigned type, struct reader data, bool last,
				   struct tls_hello *out)
{
	switch (type) {
	case EXT_SERVER_NAME:
		return parse_sni(data, out);
	case EXT_ALPN:
		return parse_alpn(data, out);
	case EXT_SUPPORTED_VERSIONS:
		return parse_supported_versions(data, out);
	case EXT_ECH:
		return parse_ech(data, out);
	case EXT_PRE_SHARED_KEY:
		/* RFC 8446 §4.2.11: servers refuse a pre_shared_key that is not the last. */
		if (!last)
			return "pre_shared_key is not the last extension";
		out->has_psk = true;
		return NULL;
	case EXT_EARLY_DATA:
		/* RFC 8446 §4.2.10: empty in a ClientHello. */
		if (data.n != 0)
			return "early_data extension is not empty";
		out->has_early_data = true;
		return NULL;
	default:
		return NULL;
	}
}

/* RFC 8446 §4.2: "There MUST NOT be more than one extension of the same type." */
static const char *parse_extensions(struct reader exts, struct tls_hello *out)
{
	uint8_t seen[65536 / 8];
	memset(seen, 0, sizeof(seen));
	while (exts.n > 0) {
		unsigned type;
		struct reader data;
		if (!read_u16(&exts, &type) || !read_vec16(&exts, &data))
			return "extension cut short";
		if (seen[type / 8] & (1u << (type % 8)))
			return "duplicate extension";
		seen[type / 8] |= (uint8_t)(1u << (type % 8));
		const char *detail = parse_extension(type, data, exts.n == 0, out);
		if (detail != NULL)
			return detail;
	}
	return NULL;
}

/* RFC 8446 §4.1.2 (and RFC 5246 §7.4.1.2, where the extensions may be absent). */
static const char *parse_body(struct reader r, struct tls_hello *out)
{
	unsigned version;
	struct reader random, session_id, suites, compression, exts;
	if (!read_u16(&r, &version) || !read_bytes(&r, 32, &random))
		return "ClientHello cut short";
	if (version >> 8 != 3)
		return "ClientHello version is not 3.x";
	out->legacy_version = (uint16_t)version;
	if (!read_vec8(&r, &session_id) || session_id.n > 32)
		return "session id cut short or longer than 32 bytes";
	if (!read_vec16(&r, &suites) || suites.n < 2 || suites.n % 2 != 0)
		return "cipher suites cut short, empty or of odd length";
	if (!read_vec8(&r, &compression) || compression.n == 0)
		return "compression methods cut short or empty";
	if (r.n == 0)
		return NULL;
	if (!read_vec16(&r, &exts) || r.n != 0)
		return "extensions length does not match the ClientHello";
	return parse_extensions(exts, out);
}

/* ---- the entry points ---- */

static void clear_result(struct tls_hello *out)
{
	memset(out, 0, offsetof(struct tls_hello, msg));
}

enum tls_hello_status tls_hello_parse(const char *buf, size_t len, struct tls_hello *out)
{
	struct walk w = {.b = (const uint8_t *)buf, .len = len};
	size_t need = 0;
	clear_result(out);
	enum tls_hello_status st = walk_records(&w, &need);
	if (st == TLS_HELLO_NEED_MORE) {
		/* Past the cap the answer is TOO_LARGE, never OK: no caller reads further. */
		out->need = need < TLS_HELLO_INPUT_MAX ? need : TLS_HELLO_INPUT_MAX;
		return st;
	}
	if (st != TLS_HELLO_OK) {
		out->detail = w.detail;
		return st;
	}
	reassemble(w.b, w.off, out->msg, w.msg_total);
	out->msg_len = w.msg_total;
	const char *detail =
	    parse_body((struct reader){(const uint8_t *)out->msg + HANDSHAKE_HEADER,
				       w.msg_total - HANDSHAKE_HEADER},
		       out);
	if (detail != NULL) {
		clear_result(out);
		out->detail = detail;
		return TLS_HELLO_MALFORMED;
	}
	out->consumed = w.off;
	out->records = w.records;
	return TLS_HELLO_OK;
}

bool tls_hello_alpn_next(struct slice *rest, struct slice *name)
{
	if (rest->len == 0)
		return false;
	size_t n = (uint8_t)rest->ptr[0];
	if (n == 0 || n > rest->len - 1)
		return false;
	*name = slice_make(rest->ptr + 1, n);
	*rest = slice_make(rest->ptr + 1 + n, rest->len - 1 - n);
	return true;
}

const char *tls_hello_status_name(enum tls_hello_status status)
{
	switch (status) {
	case TLS_HELLO_NEED_MORE:
		return "need_more";
	case TLS_HELLO_OK:
		return "ok";
	case TLS_HELLO_NOT_TLS:
		return "not_tls";
	case TLS_HELLO_MALFORMED:
		return "malformed";
	case TLS_HELLO_TOO_LARGE:
		return "too_large";
	}
	return "unknown";
}
