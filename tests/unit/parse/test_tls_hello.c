/* Tests src/parse/tls_hello.c: real OpenSSL ClientHellos, the same cut at every byte and split
 * into records at every byte, and every refusal: other protocols, the record layer, the hello's
 * fields and extensions, the SNI, and the size caps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "parse/tls_hello.h"

#include "tls_hello_samples.h"

/* ---- a ClientHello builder ---- */

struct bytes {
	uint8_t b[3 * TLS_HELLO_INPUT_MAX];
	size_t n;
};

static struct bytes msg;  /* the handshake message */
static struct bytes wire; /* the records holding it */

static void put8(struct bytes *o, unsigned v)
{
	o->b[o->n++] = (uint8_t)v;
}

static void put16(struct bytes *o, unsigned v)
{
	put8(o, v >> 8);
	put8(o, v);
}

static void put(struct bytes *o, const void *p, size_t len)
{
	memcpy(o->b + o->n, p, len);
	o->n += len;
}

static void put_str(struct bytes *o, const char *s)
{
	put(o, s, strlen(s));
}

/* A 16-bit length to fill in later: open16 leaves room, close16 writes what came since. */
static size_t open16(struct bytes *o)
{
	put16(o, 0);
	return o->n;
}

static void close16(struct bytes *o, size_t at)
{
	size_t len = o->n - at;
	o->b[at - 2] = (uint8_t)(len >> 8);
	o->b[at - 1] = (uint8_t)len;
}

/* The fields before the extensions, in a message of type `type`. */
static void hello_fields(unsigned type)
{
	msg.n = 0;
	put8(&msg, type);
	put8(&msg, 0);
	put16(&msg, 0); /* 24-bit length, set by hello_close */
	put16(&msg, 0x0303);
	for (unsigned i = 0; i < 32; i++)
		put8(&msg, i); /* random */
	put8(&msg, 32);
	for (unsigned i = 0; i < 32; i++)
		put8(&msg, 0xa0 + i); /* legacy_session_id */
	put16(&msg, 6);
	put16(&msg, 0x1301);
	put16(&msg, 0x1302);
	put16(&msg, 0xc02f);
	put8(&msg, 1);
	put8(&msg, 0); /* null compression */
}

static void hello_close(void)
{
	size_t len = msg.n - 4;
	msg.b[1] = (uint8_t)(len >> 16);
	msg.b[2] = (uint8_t)(len >> 8);
	msg.b[3] = (uint8_t)len;
}

/* Starts a ClientHello; the extensions follow until hello_end. */
static size_t hello_begin(void)
{
	hello_fields(1);
	return open16(&msg);
}

static void hello_end(size_t exts)
{
	close16(&msg, exts);
	hello_close();
}

static void ext_raw(unsigned type, const void *data, size_t len)
{
	put16(&msg, type);
	put16(&msg, (unsigned)len);
	put(&msg, data, len);
}

/* server_name with the given host_name entries (RFC 6066 §3). */
static void ext_sni_n(const char *const *names, size_t n)
{
	put16(&msg, 0);
	size_t ext = open16(&msg), list = open16(&msg);
	for (size_t i = 0; i < n; i++) {
		put8(&msg, 0);
		size_t host = open16(&msg);
		put_str(&msg, names[i]);
		close16(&msg, host);
	}
	close16(&msg, list);
	close16(&msg, ext);
}

static void ext_sni(const char *name)
{
	ext_sni_n(&name, 1);
}

static void ext_alpn(const char *const *names, size_t n)
{
	put16(&msg, 16);
	size_t ext = open16(&msg), list = open16(&msg);
	for (size_t i = 0; i < n; i++) {
		put8(&msg, (unsigned)strlen(names[i]));
		put_str(&msg, names[i]);
	}
	close16(&msg, list);
	close16(&msg, ext);
}

static void ext_versions_13(void)
{
	static const uint8_t v[] = {4, 0x03, 0x04, 0x03, 0x03};
	ext_raw(43, v, sizeof(v));
}

/* A hello with one SNI entry and TLS 1.3 offered. */
static void hello_with_sni(const char *name)
{
	size_t exts = hello_begin();
	ext_sni(name);
	ext_versions_13();
	hello_end(exts);
}

static void record_header(unsigned type, size_t len)
{
	put8(&wire, type);
	put16(&wire, 0x0301);
	put16(&wire, (unsigned)len);
}

/* The message in records of at most `size` bytes of payload. */
static void wrap_by(size_t size)
{
	wire.n = 0;
	for (size_t off = 0; off < msg.n; off += size) {
		size_t n = msg.n - off < size ? msg.n - off : size;
		record_header(22, n);
		put(&wire, msg.b + off, n);
	}
}

static void wrap(void)
{
	wrap_by(TLS_RECORD_MAX);
}

/* The message in two records, the first holding `first` bytes. */
static void wrap_split(size_t first)
{
	wire.n = 0;
	record_header(22, first);
	put(&wire, msg.b, first);
	record_header(22, msg.n - first);
	put(&wire, msg.b + first, msg.n - first);
}

/* ---- checks ---- */

static struct tls_hello hello, again;

static enum tls_hello_status parse(const void *b, size_t len, struct tls_hello *h)
{
	return tls_hello_parse((const char *)b, len, h);
}

static void assert_status(const void *b, size_t len, enum tls_hello_status want)
{
	enum tls_hello_status st = parse(b, len, &hello);
	if (st != want)
		fail_msg("got %s (%s), want %s", tls_hello_status_name(st),
			 hello.detail ? hello.detail : "-", tls_hello_status_name(want));
	if (want != TLS_HELLO_OK && want != TLS_HELLO_NEED_MORE)
		assert_true(hello.detail != NULL && strlen(hello.detail) > 0);
}

static void assert_wire(enum tls_hello_status want)
{
	assert_status(wire.b, wire.n, want);
}

static void assert_wire_detail(enum tls_hello_status want, const char *detail_part)
{
	assert_wire(want);
	if (strstr(hello.detail, detail_part) == NULL)
		fail_msg("detail \"%s\" does not name \"%s\"", hello.detail, detail_part);
}

static void assert_slice_eq(struct slice a, struct slice b)
{
	assert_int_equal(a.len, b.len);
	assert_memory_equal(a.ptr, b.ptr, a.len);
}

/* Same hello, whatever the records it came in. */
static void assert_same_hello(const struct tls_hello *a, const struct tls_hello *b)
{
	assert_int_equal(a->legacy_version, b->legacy_version);
	assert_int_equal(a->has_sni, b->has_sni);
	assert_int_equal(a->sni.kind, b->sni.kind);
	assert_string_equal(a->sni.name, b->sni.name);
	assert_int_equal(a->has_alpn, b->has_alpn);
	assert_slice_eq(a->alpn, b->alpn);
	assert_int_equal(a->alpn_h2, b->alpn_h2);
	assert_int_equal(a->alpn_http11, b->alpn_http11);
	assert_int_equal(a->has_supported_versions, b->has_supported_versions);
	assert_int_equal(a->tls13_offered, b->tls13_offered);
	assert_int_equal(a->has_ech, b->has_ech);
	assert_int_equal(a->ech_outer, b->ech_outer);
	assert_int_equal(a->has_psk, b->has_psk);
	assert_int_equal(a->has_early_data, b->has_early_data);
	assert_int_equal(a->msg_len, b->msg_len);
	assert_memory_equal(a->msg, b->msg, a->msg_len);
}

/* Every strict prefix of the records is NEED_MORE, with a hint no further than the end, and the
 * whole is OK with the hello `want`. */
static void assert_every_prefix(const uint8_t *b, size_t consumed, const struct tls_hello *want)
{
	for (size_t p = 0; p < consumed; p++) {
		enum tls_hello_status st = parse(b, p, &again);
		if (st != TLS_HELLO_NEED_MORE)
			fail_msg("prefix %zu of %zu: %s (%s)", p, consumed,
				 tls_hello_status_name(st), again.detail);
		if (again.need <= p || again.need > consumed)
			fail_msg("prefix %zu of %zu: need %zu", p, consumed, again.need);
	}
	assert_int_equal(parse(b, consumed, &again), TLS_HELLO_OK);
	assert_int_equal(again.consumed, consumed);
	assert_same_hello(&again, want);
}

/* The ALPN names, joined by ',' (tls_hello_alpn_next). */
static const char *alpn_names(const struct tls_hello *h)
{
	static char out[512];
	struct slice rest = h->alpn, name;
	size_t n = 0;
	while (tls_hello_alpn_next(&rest, &name)) {
		if (n > 0)
			out[n++] = ',';
		memcpy(out + n, name.ptr, name.len);
		n += name.len;
	}
	assert_int_equal(rest.len, 0);
	out[n] = '\0';
	return out;
}

/* ---- real hellos ---- */

static void test_real_sni_alpn(void **state)
{
	assert_status(sample_sni_alpn, sizeof(sample_sni_alpn), TLS_HELLO_OK);
	assert_int_equal(hello.consumed, sizeof(sample_sni_alpn));
	assert_int_equal(hello.records, 1);
	assert_int_equal(hello.legacy_version, 0x0303);
	assert_true(hello.has_sni);
	assert_int_equal(hello.sni.kind, HOST_NAME);
	assert_string_equal(hello.sni.name, "example.com");
	assert_true(hello.has_alpn);
	assert_string_equal(alpn_names(&hello), "h2,http/1.1");
	assert_true(hello.alpn_h2);
	assert_true(hello.alpn_http11);
	assert_true(hello.has_supported_versions);
	assert_true(hello.tls13_offered);
	assert_false(hello.has_ech);
	assert_false(hello.has_psk);
	assert_false(hello.has_early_data);
	assert_int_equal(hello.msg_len, sizeof(sample_sni_alpn) - 5);
	assert_memory_equal(hello.msg, sample_sni_alpn + 5, hello.msg_len);
}

static void test_real_every_prefix(void **state)
{
	assert_status(sample_sni_alpn, sizeof(sample_sni_alpn), TLS_HELLO_OK);
	assert_every_prefix(sample_sni_alpn, sizeof(sample_sni_alpn), &hello);
}

/* The first bytes of a record: the least input with which the hello could be complete. */
static void test_real_need_hint(void **state)
{
	assert_status(sample_sni_alpn, 0, TLS_HELLO_NEED_MORE);
	assert_int_equal(hello.need, 5 + 4);
	assert_status(sample_sni_alpn, 4, TLS_HELLO_NEED_MORE);
	assert_int_equal(hello.need, 5 + 4);
	assert_status(sample_sni_alpn, 5, TLS_HELLO_NEED_MORE);
	assert_int_equal(hello.need, sizeof(sample_sni_alpn));
}

/* Bytes after the hello's records (here none of TLS) are not read. */
static void test_real_trailing_bytes_not_read(void **state)
{
	uint8_t buf[sizeof(sample_sni_alpn) + 3];
	memcpy(buf, sample_sni_alpn, sizeof(sample_sni_alpn));
	memcpy(buf + sizeof(sample_sni_alpn), "\xff\x00\x00", 3);
	assert_status(buf, sizeof(buf), TLS_HELLO_OK);
	assert_int_equal(hello.consumed, sizeof(sample_sni_alpn));
}

static void test_real_split_every_byte(void **state)
{
	assert_status(sample_sni_alpn, sizeof(sample_sni_alpn), TLS_HELLO_OK);
	struct tls_hello *want = &hello;
	msg.n = 0;
	put(&msg, sample_sni_alpn + 5, sizeof(sample_sni_alpn) - 5);
	static struct tls_hello split;
	for (size_t first = 1; first < msg.n; first++) {
		wrap_split(first);
		if (parse(wire.b, wire.n, &split) != TLS_HELLO_OK)
			fail_msg("split at %zu: %s", first, split.detail);
		assert_int_equal(split.records, 2);
		assert_int_equal(split.consumed, wire.n);
		assert_same_hello(&split, want);
		assert_every_prefix(wire.b, wire.n, &split);
	}
}

static void test_real_one_byte_records(void **state)
{
	static struct tls_hello want;
	assert_int_equal(parse(sample_sni_alpn, sizeof(sample_sni_alpn), &want), TLS_HELLO_OK);
	msg.n = 0;
	put(&msg, sample_sni_alpn + 5, sizeof(sample_sni_alpn) - 5);
	wrap_by(1);
	assert_wire(TLS_HELLO_OK);
	assert_int_equal(hello.records, msg.n);
	assert_int_equal(hello.consumed, 6 * msg.n);
	assert_same_hello(&hello, &want);
	assert_every_prefix(wire.b, wire.n, &hello);
}

static void test_real_no_sni(void **state)
{
	assert_status(sample_no_sni, sizeof(sample_no_sni), TLS_HELLO_OK);
	assert_false(hello.has_sni);
	assert_int_equal(hello.sni.name_len, 0);
	assert_false(hello.has_alpn);
	assert_int_equal(hello.alpn.len, 0);
	assert_false(hello.alpn_h2);
	assert_true(hello.tls13_offered);
}

static void test_real_tls12(void **state)
{
	assert_status(sample_tls12, sizeof(sample_tls12), TLS_HELLO_OK);
	assert_string_equal(hello.sni.name, "example.com");
	assert_false(hello.has_supported_versions);
	assert_false(hello.tls13_offered);
	assert_int_equal(hello.legacy_version, 0x0303);
}

/* A resumption with 0-RTT: pre_shared_key last, early_data, and after the hello's record a
 * ChangeCipherSpec and an application data record that are not the parser's to read. */
static void test_real_psk_early_data(void **state)
{
	assert_status(sample_psk, sizeof(sample_psk), TLS_HELLO_OK);
	assert_true(hello.has_psk);
	assert_true(hello.has_early_data);
	assert_string_equal(hello.sni.name, "example.com");
	assert_int_equal(hello.consumed, 416);
	assert_int_equal(sample_psk[416], 20); /* change_cipher_spec */
	assert_every_prefix(sample_psk, hello.consumed, &hello);
}

/* ---- other protocols ---- */

static void test_not_tls_http(void **state)
{
	static const char get[] = "GET / HTTP/1.1\r\n";
	assert_status(get, 1, TLS_HELLO_NOT_TLS);
	assert_status(get, sizeof(get) - 1, TLS_HELLO_NOT_TLS);
	assert_status("CONNECT example.com:443 HTTP/1.1\r\n", 1, TLS_HELLO_NOT_TLS);
	assert_status("POST", 4, TLS_HELLO_NOT_TLS);
}

static void test_not_tls_ssh(void **state)
{
	static const char ssh[] = "SSH-2.0-OpenSSH_9.2\r\n";
	assert_status(ssh, 1, TLS_HELLO_NOT_TLS);
	assert_status(ssh, sizeof(ssh) - 1, TLS_HELLO_NOT_TLS);
}

static void test_not_tls_record_version(void **state)
{
	assert_status("\x16", 1, TLS_HELLO_NEED_MORE);
	assert_status("\x16\x02", 2, TLS_HELLO_NOT_TLS);
	assert_status("\x16\x04\x01", 3, TLS_HELLO_NOT_TLS);
	assert_status("\x16\x03", 2, TLS_HELLO_NEED_MORE);
	assert_status("", 0, TLS_HELLO_NEED_MORE);
}

/* RFC 5246 Appendix E.2: 2-byte header with the high bit set, msg_type 1, version 3.1. Malformed
 * (TLS, but no room for an SNI), decided on the first byte. */
static void test_sslv2_hello(void **state)
{
	static const uint8_t v2[] = {0x80, 0x2e, 0x01, 0x03, 0x01, 0x00, 0x15, 0x00, 0x00};
	assert_status(v2, 1, TLS_HELLO_MALFORMED);
	assert_status(v2, sizeof(v2), TLS_HELLO_MALFORMED);
	assert_non_null(strstr(hello.detail, "SSLv2"));
}

/* A connection that opens with anything but a handshake record is no TLS any server takes. */
static void test_application_data_first_not_tls(void **state)
{
	hello_with_sni("example.com");
	wire.n = 0;
	record_header(23, 2);
	put(&wire, "hi", 2);
	record_header(22, msg.n);
	put(&wire, msg.b, msg.n);
	assert_wire(TLS_HELLO_NOT_TLS);
	assert_status(wire.b, 1, TLS_HELLO_NOT_TLS);
}

/* ---- the record layer ---- */

static void test_record_type_23_inside_hello(void **state)
{
	hello_with_sni("example.com");
	wire.n = 0;
	record_header(22, 10);
	put(&wire, msg.b, 10);
	size_t bad = wire.n;
	record_header(23, 3);
	put(&wire, "xyz", 3);
	record_header(22, msg.n - 10);
	put(&wire, msg.b + 10, msg.n - 10);
	assert_wire_detail(TLS_HELLO_MALFORMED, "other than handshake");
	assert_status(wire.b, bad, TLS_HELLO_NEED_MORE);
	assert_status(wire.b, bad + 1, TLS_HELLO_MALFORMED);
}

static void test_record_alert_inside_hello(void **state)
{
	hello_with_sni("example.com");
	wrap_split(20);
	wire.b[5 + 20] = 21;
	assert_wire(TLS_HELLO_MALFORMED);
}

static void test_record_version_inside_hello(void **state)
{
	hello_with_sni("example.com");
	wrap_split(20);
	wire.b[5 + 20 + 1] = 2;
	assert_wire_detail(TLS_HELLO_MALFORMED, "version");
	/* the minor byte is ignored (RFC 8446 §5.1: legacy_record_version) */
	wrap_split(20);
	wire.b[2] = 0x03;
	wire.b[5 + 20 + 2] = 0x00;
	assert_wire(TLS_HELLO_OK);
}

static void test_record_too_long(void **state)
{
	static const uint8_t rec[] = {22, 3, 1, 0x40, 0x01, 1, 0, 0x40, 0};
	assert_status(rec, 5, TLS_HELLO_MALFORMED);
	assert_status(rec, sizeof(rec), TLS_HELLO_MALFORMED);
	assert_non_null(strstr(hello.detail, "2^14"));
	assert_status(rec, 4, TLS_HELLO_NEED_MORE);
}

static void test_record_empty(void **state)
{
	hello_with_sni("example.com");
	wire.n = 0;
	record_header(22, 0);
	record_header(22, msg.n);
	put(&wire, msg.b, msg.n);
	assert_wire_detail(TLS_HELLO_MALFORMED, "empty");
	/* an empty record in the middle too */
	wire.n = 0;
	record_header(22, 7);
	put(&wire, msg.b, 7);
	record_header(22, 0);
	record_header(22, msg.n - 7);
	put(&wire, msg.b + 7, msg.n - 7);
	assert_wire_detail(TLS_HELLO_MALFORMED, "empty");
}

static void test_handshake_type_server_hello(void **state)
{
	hello_fields(2);
	hello_close();
	wrap();
	assert_wire_detail(TLS_HELLO_MALFORMED, "not a ClientHello");
	assert_status(wire.b, 6, TLS_HELLO_MALFORMED);
	assert_status(wire.b, 5, TLS_HELLO_NEED_MORE);
}

/* RFC 8446 §4.1.2: the ClientHello is alone in its flight; bytes after it in its last record
 * (a second handshake message, padding) are refused. */
static void test_bytes_after_hello_in_record(void **state)
{
	hello_with_sni("example.com");
	put8(&msg, 1); /* one byte more than the message says */
	wrap();
	assert_wire_detail(TLS_HELLO_MALFORMED, "after the ClientHello");
	/* refused at the record header: its length already says so */
	assert_status(wire.b, 9, TLS_HELLO_MALFORMED);
	/* the same when the header completes in a later record */
	wire.n = 0;
	record_header(22, 2);
	put(&wire, msg.b, 2);
	record_header(22, msg.n - 2);
	put(&wire, msg.b + 2, msg.n - 2);
	assert_wire_detail(TLS_HELLO_MALFORMED, "after the ClientHello");
	/* and when the excess is a record of its own */
	msg.n--;
	wrap();
	record_header(22, 1);
	put8(&wire, 1);
	assert_wire(TLS_HELLO_OK);
	assert_int_equal(hello.consumed, wire.n - 6);
}

/* ---- sizes ---- */

/* A hello whose body is `body` bytes, padded with extension 21 (RFC 7685). */
static void hello_of_size(size_t body)
{
	size_t exts = hello_begin();
	ext_sni("example.com");
	size_t pad = body - (msg.n - 4) - 4;
	static const uint8_t zeros[TLS_HELLO_MAX];
	ext_raw(21, zeros, pad);
	hello_end(exts);
	assert_int_equal(msg.n - 4, body);
}

static void test_hello_at_cap(void **state)
{
	hello_of_size(TLS_HELLO_MAX);
	wrap();
	assert_wire(TLS_HELLO_OK);
	assert_int_equal(hello.records, 2);
	assert_int_equal(hello.consumed, 4 + TLS_HELLO_MAX + 10);
	assert_string_equal(hello.sni.name, "example.com");
}

static void test_hello_over_cap(void **state)
{
	hello_of_size(TLS_HELLO_MAX + 1);
	wrap();
	assert_wire(TLS_HELLO_TOO_LARGE);
	/* decided as soon as the handshake header is in */
	assert_status(wire.b, 9, TLS_HELLO_TOO_LARGE);
	assert_status(wire.b, 8, TLS_HELLO_NEED_MORE);
}

/* Tiny records cost 5 bytes each: the records of a hello may not run past 32 KiB. */
static void test_records_over_input_cap(void **state)
{
	hello_of_size(6000);
	wrap_by(1);
	assert_true(wire.n > TLS_HELLO_INPUT_MAX);
	assert_wire(TLS_HELLO_TOO_LARGE);
	assert_status(wire.b, TLS_HELLO_INPUT_MAX, TLS_HELLO_TOO_LARGE);
	assert_status(wire.b, TLS_HELLO_INPUT_MAX - 6, TLS_HELLO_NEED_MORE);
	assert_true(hello.need <= TLS_HELLO_INPUT_MAX);
	/* the same hello in 8-byte records fits */
	wrap_by(8);
	assert_true(wire.n <= TLS_HELLO_INPUT_MAX);
	assert_wire(TLS_HELLO_OK);
}

/* ---- the ClientHello body ---- */

static void test_no_extensions(void **state)
{
	hello_fields(1);
	hello_close();
	wrap();
	assert_wire(TLS_HELLO_OK);
	assert_false(hello.has_sni);
	assert_false(hello.has_supported_versions);
}

static void test_empty_extensions(void **state)
{
	hello_end(hello_begin());
	wrap();
	assert_wire(TLS_HELLO_OK);
	assert_false(hello.has_sni);
}

static void test_body_truncated(void **state)
{
	hello_fields(1);
	msg.n -= 1; /* drop the compression method */
	hello_close();
	wrap();
	assert_wire(TLS_HELLO_MALFORMED);
	for (size_t n = 0; n < 40; n++) {
		msg.n = 4 + n;
		hello_close();
		wrap();
		assert_wire(TLS_HELLO_MALFORMED);
	}
}

static void test_legacy_version_not_3(void **state)
{
	hello_with_sni("example.com");
	msg.b[4] = 2;
	wrap();
	assert_wire_detail(TLS_HELLO_MALFORMED, "version");
}

static void test_session_id_too_long(void **state)
{
	msg.n = 0;
	put8(&msg, 1);
	put8(&msg, 0);
	put16(&msg, 0);
	put16(&msg, 0x0303);
	for (unsigned i = 0; i < 32; i++)
		put8(&msg, 0);
	put8(&msg, 33);
	for (unsigned i = 0; i < 33; i++)
		put8(&msg, 0);
	put16(&msg, 2);
	put16(&msg, 0x1301);
	put8(&msg, 1);
	put8(&msg, 0);
	hello_close();
	wrap();
	assert_wire_detail(TLS_HELLO_MALFORMED, "session id");
}

static void test_cipher_suites_odd_or_empty(void **state)
{
	hello_with_sni("example.com");
	size_t suites = 4 + 2 + 32 + 1 + 32;
	msg.b[suites + 1] = 5; /* 6 -> 5: odd, and the rest shifts by one */
	wrap();
	assert_wire(TLS_HELLO_MALFORMED);
	hello_fields(1);
	msg.b[suites + 1] = 0; /* empty list: the suites' bytes read as what follows */
	hello_close();
	wrap();
	assert_wire(TLS_HELLO_MALFORMED);
}

static void test_compression_empty(void **state)
{
	hello_fields(1);
	msg.b[msg.n - 2] = 0;
	msg.n--;
	hello_close();
	wrap();
	assert_wire_detail(TLS_HELLO_MALFORMED, "compression");
}

static void test_extensions_length_mismatch(void **state)
{
	size_t exts = hello_begin();
	ext_sni("example.com");
	hello_end(exts);
	msg.b[exts - 1]++; /* says one byte more than there is */
	wrap();
	assert_wire(TLS_HELLO_MALFORMED);
	msg.b[exts - 1] -= 2; /* one byte less: a byte after the extensions */
	wrap();
	assert_wire(TLS_HELLO_MALFORMED);
}

static void test_extension_overruns(void **state)
{
	size_t exts = hello_begin();
	ext_raw(0x1234, "abcd", 4);
	hello_end(exts);
	msg.b[exts + 3] = 5; /* the extension claims 5 bytes, the list holds 4 */
	wrap();
	assert_wire_detail(TLS_HELLO_MALFORMED, "cut short");
	msg.b[exts + 2] = 0xff;
	wrap();
	assert_wire(TLS_HELLO_MALFORMED);
}

static void test_duplicate_extension(void **state)
{
	static const char *const h2[] = {"h2"};
	size_t exts = hello_begin();
	ext_sni("example.com");
	ext_alpn(h2, 1);
	ext_alpn(h2, 1);
	hello_end(exts);
	wrap();
	assert_wire_detail(TLS_HELLO_MALFORMED, "duplicate");
	/* unknown types too, and GREASE */
	exts = hello_begin();
	ext_raw(0x0a0a, "", 0);
	ext_raw(0x0a0a, "", 0);
	hello_end(exts);
	wrap();
	assert_wire_detail(TLS_HELLO_MALFORMED, "duplicate");
	/* two server_name extensions: the fronting trick by another road */
	exts = hello_begin();
	ext_sni("allowed.example");
	ext_sni("other.example");
	hello_end(exts);
	wrap();
	assert_wire_detail(TLS_HELLO_MALFORMED, "duplicate");
}

/* RFC 8446 §4.2.11 */
static void test_psk_not_last(void **state)
{
	size_t exts = hello_begin();
	ext_raw(41, "\x00\x00", 2);
	ext_sni("example.com");
	hello_end(exts);
	wrap();
	assert_wire_detail(TLS_HELLO_MALFORMED, "pre_shared_key");
	exts = hello_begin();
	ext_sni("example.com");
	ext_raw(42, "", 0);
	ext_raw(41, "\x00\x00", 2);
	hello_end(exts);
	wrap();
	assert_wire(TLS_HELLO_OK);
	assert_true(hello.has_psk);
	assert_true(hello.has_early_data);
}

static void test_early_data_not_empty(void **state)
{
	size_t exts = hello_begin();
	ext_raw(42, "x", 1);
	hello_end(exts);
	wrap();
	assert_wire_detail(TLS_HELLO_MALFORMED, "early_data");
}

static void test_supported_versions(void **state)
{
	size_t exts = hello_begin();
	static const uint8_t only12[] = {2, 0x03, 0x03};
	ext_raw(43, only12, sizeof(only12));
	hello_end(exts);
	wrap();
	assert_wire(TLS_HELLO_OK);
	assert_true(hello.has_supported_versions);
	assert_false(hello.tls13_offered);
	exts = hello_begin();
	static const uint8_t odd[] = {3, 0x03, 0x04, 0x03};
	ext_raw(43, odd, sizeof(odd));
	hello_end(exts);
	wrap();
	assert_wire(TLS_HELLO_MALFORMED);
	exts = hello_begin();
	static const uint8_t longer[] = {2, 0x03, 0x04, 0x03};
	ext_raw(43, longer, sizeof(longer));
	hello_end(exts);
	wrap();
	assert_wire(TLS_HELLO_MALFORMED);
}

/* ---- ALPN ---- */

static void test_alpn(void **state)
{
	static const char *const names[] = {"http/1.1", "spdy/3", "h2c"};
	size_t exts = hello_begin();
	ext_alpn(names, 3);
	hello_end(exts);
	wrap();
	assert_wire(TLS_HELLO_OK);
	assert_string_equal(alpn_names(&hello), "http/1.1,spdy/3,h2c");
	assert_true(hello.alpn_http11);
	assert_false(hello.alpn_h2); /* "h2c" is not "h2" */
}

static void test_alpn_malformed(void **state)
{
	static const char *const empty_name[] = {"h2", ""};
	size_t exts = hello_begin();
	ext_alpn(empty_name, 2);
	hello_end(exts);
	wrap();
	assert_wire_detail(TLS_HELLO_MALFORMED, "ALPN");
	exts = hello_begin();
	ext_alpn(NULL, 0);
	hello_end(exts);
	wrap();
	assert_wire_detail(TLS_HELLO_MALFORMED, "ALPN");
	static const uint8_t overrun[] = {0, 3, 5, 'h', '2'};
	exts = hello_begin();
	ext_raw(16, overrun, sizeof(overrun));
	hello_end(exts);
	wrap();
	assert_wire_detail(TLS_HELLO_MALFORMED, "ALPN");
}

static void test_alpn_next_stops_on_bad_list(void **state)
{
	struct slice rest = SLICE_LIT("\x02h2\x05h"), name;
	assert_true(tls_hello_alpn_next(&rest, &name));
	assert_true(slice_eq(name, SLICE_LIT("h2")));
	assert_false(tls_hello_alpn_next(&rest, &name));
	rest = SLICE_LIT("\x00");
	assert_false(tls_hello_alpn_next(&rest, &name));
	rest = slice_make(NULL, 0);
	assert_false(tls_hello_alpn_next(&rest, &name));
}

/* ---- the SNI ---- */

static void test_sni_upper_case(void **state)
{
	hello_with_sni("API.Example.COM");
	wrap();
	assert_wire(TLS_HELLO_OK);
	assert_int_equal(hello.sni.kind, HOST_NAME);
	assert_string_equal(hello.sni.name, "api.example.com");
}

static void test_sni_ipv4_literal(void **state)
{
	hello_with_sni("127.0.0.1");
	wrap();
	assert_wire(TLS_HELLO_OK);
	assert_int_equal(hello.sni.kind, HOST_IPV4);
	assert_string_equal(hello.sni.name, "127.0.0.1");
	/* every spelling of an address is the address */
	hello_with_sni("2852039166");
	wrap();
	assert_wire(TLS_HELLO_OK);
	assert_int_equal(hello.sni.kind, HOST_IPV4);
	assert_string_equal(hello.sni.name, "169.254.169.254");
	hello_with_sni("0x7f.1");
	wrap();
	assert_wire(TLS_HELLO_OK);
	assert_string_equal(hello.sni.name, "127.0.0.1");
}

static void test_sni_ipv6_literal(void **state)
{
	hello_with_sni("::1");
	wrap();
	assert_wire(TLS_HELLO_MALFORMED);
	hello_with_sni("[::1]");
	wrap();
	assert_wire(TLS_HELLO_MALFORMED);
}

static void test_sni_two_host_names(void **state)
{
	static const char *const two[] = {"allowed.example", "evil.example"};
	size_t exts = hello_begin();
	ext_sni_n(two, 2);
	hello_end(exts);
	wrap();
	assert_wire_detail(TLS_HELLO_MALFORMED, "more than one");
	static const char *const same[] = {"example.com", "example.com"};
	exts = hello_begin();
	ext_sni_n(same, 2);
	hello_end(exts);
	wrap();
	assert_wire_detail(TLS_HELLO_MALFORMED, "more than one");
}

static void test_sni_other_name_type(void **state)
{
	hello_with_sni("example.com");
	size_t type_at = 4 + 2 + 32 + 1 + 32 + 2 + 6 + 1 + 1 + 2 + 2 + 2 + 2;
	assert_int_equal(msg.b[type_at], 0);
	msg.b[type_at] = 1;
	wrap();
	assert_wire_detail(TLS_HELLO_MALFORMED, "host_name");
}

static void test_sni_list_lengths(void **state)
{
	hello_with_sni("example.com");
	size_t list_at = 4 + 2 + 32 + 1 + 32 + 2 + 6 + 1 + 1 + 2 + 2 + 2;
	msg.b[list_at + 1]--;
	wrap();
	assert_wire(TLS_HELLO_MALFORMED);
	msg.b[list_at + 1] += 2;
	wrap();
	assert_wire(TLS_HELLO_MALFORMED);
	/* an empty server_name extension (what a server sends back) */
	size_t exts = hello_begin();
	ext_raw(0, "", 0);
	hello_end(exts);
	wrap();
	assert_wire(TLS_HELLO_MALFORMED);
	/* an empty list */
	exts = hello_begin();
	ext_raw(0, "\x00\x00", 2);
	hello_end(exts);
	wrap();
	assert_wire(TLS_HELLO_MALFORMED);
	/* host_name length past the list */
	exts = hello_begin();
	ext_raw(0,
		"\x00\x05\x00\x00\x09"
		"abc",
		8);
	hello_end(exts);
	wrap();
	assert_wire(TLS_HELLO_MALFORMED);
}

/* RFC 6066 §3: "without a trailing dot". Refused rather than dropped: the upstream would see a
 * name that differs from the one judged. */
static void test_sni_trailing_dot(void **state)
{
	hello_with_sni("example.com.");
	wrap();
	assert_wire_detail(TLS_HELLO_MALFORMED, "dot");
	hello_with_sni(".");
	wrap();
	assert_wire(TLS_HELLO_MALFORMED);
}

static void test_sni_bad_bytes(void **state)
{
	static const char *const bad[] = {
	    "exa mple.com",   "example.com:443", "user@example.com",
	    "exa%41mple.com", "ex\\ample.com",	 "exämple.com",
	    "example..com",   ".example.com",	 "example.com/",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		hello_with_sni(bad[i]);
		wrap();
		if (parse(wire.b, wire.n, &hello) != TLS_HELLO_MALFORMED)
			fail_msg("\"%s\" not refused", bad[i]);
	}
	/* an embedded NUL: the C-string reading would see "example.com" */
	size_t exts = hello_begin();
	ext_raw(0,
		"\x00\x10\x00\x00\x0d"
		"example.com\0x",
		18);
	hello_end(exts);
	wrap();
	assert_wire_detail(TLS_HELLO_MALFORMED, "byte other than");
}

static void test_sni_lengths(void **state)
{
	hello_with_sni("");
	wrap();
	assert_wire_detail(TLS_HELLO_MALFORMED, "empty");
	char name[300];
	/* 63-byte labels up to 253 bytes: the longest DNS name */
	memset(name, 'a', 253);
	for (size_t i = 63; i < 253; i += 64)
		name[i] = '.';
	name[253] = '\0';
	hello_with_sni(name);
	wrap();
	assert_wire(TLS_HELLO_OK);
	assert_int_equal(hello.sni.name_len, 253);
	/* 64-byte label */
	memset(name, 'a', 64);
	memcpy(name + 64, ".com", 5);
	hello_with_sni(name);
	wrap();
	assert_wire(TLS_HELLO_MALFORMED);
	/* 256 bytes */
	memset(name, 'a', 256);
	for (size_t i = 63; i < 256; i += 64)
		name[i] = '.';
	name[256] = '\0';
	hello_with_sni(name);
	wrap();
	assert_wire_detail(TLS_HELLO_MALFORMED, "255");
}

static void test_sni_in_split_hello(void **state)
{
	hello_with_sni("Split.Example.org");
	for (size_t first = 1; first < msg.n; first++) {
		wrap_split(first);
		assert_wire(TLS_HELLO_OK);
		assert_string_equal(hello.sni.name, "split.example.org");
	}
}

/* ---- ECH ---- */

static void test_ech_outer(void **state)
{
	static const uint8_t outer[] = {0,    0x00, 0x01, 0x00, 0x01, 0x2a, 0x00, 0x02,
					0xee, 0xee, 0x00, 0x03, 0x01, 0x02, 0x03};
	size_t exts = hello_begin();
	ext_sni("public.example");
	ext_raw(0xfe0d, outer, sizeof(outer));
	hello_end(exts);
	wrap();
	assert_wire(TLS_HELLO_OK);
	assert_true(hello.has_ech);
	assert_true(hello.ech_outer);
	assert_string_equal(hello.sni.name, "public.example");
}

static void test_ech_inner(void **state)
{
	size_t exts = hello_begin();
	ext_raw(0xfe0d, "\x01", 1);
	hello_end(exts);
	wrap();
	assert_wire(TLS_HELLO_OK);
	assert_true(hello.has_ech);
	assert_false(hello.ech_outer);
}

static void test_ech_malformed(void **state)
{
	static const uint8_t empty_payload[] = {0, 0, 1, 0, 1, 0x2a, 0, 0, 0, 0};
	static const uint8_t *const bad[] = {(const uint8_t *)"", (const uint8_t *)"\x02",
					     (const uint8_t *)"\x01\x00", empty_payload};
	static const size_t len[] = {0, 1, 2, sizeof(empty_payload)};
	for (size_t i = 0; i < 4; i++) {
		size_t exts = hello_begin();
		ext_raw(0xfe0d, bad[i], len[i]);
		hello_end(exts);
		wrap();
		assert_wire_detail(TLS_HELLO_MALFORMED, "encrypted_client_hello");
	}
}

/* ---- names ---- */

static void test_status_names(void **state)
{
	assert_string_equal(tls_hello_status_name(TLS_HELLO_NEED_MORE), "need_more");
	assert_string_equal(tls_hello_status_name(TLS_HELLO_OK), "ok");
	assert_string_equal(tls_hello_status_name(TLS_HELLO_NOT_TLS), "not_tls");
	assert_string_equal(tls_hello_status_name(TLS_HELLO_MALFORMED), "malformed");
	assert_string_equal(tls_hello_status_name(TLS_HELLO_TOO_LARGE), "too_large");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_real_sni_alpn),
	    cmocka_unit_test(test_real_every_prefix),
	    cmocka_unit_test(test_real_need_hint),
	    cmocka_unit_test(test_real_trailing_bytes_not_read),
	    cmocka_unit_test(test_real_split_every_byte),
	    cmocka_unit_test(test_real_one_byte_records),
	    cmocka_unit_test(test_real_no_sni),
	    cmocka_unit_test(test_real_tls12),
	    cmocka_unit_test(test_real_psk_early_data),
	    cmocka_unit_test(test_not_tls_http),
	    cmocka_unit_test(test_not_tls_ssh),
	    cmocka_unit_test(test_not_tls_record_version),
	    cmocka_unit_test(test_sslv2_hello),
	    cmocka_unit_test(test_application_data_first_not_tls),
	    cmocka_unit_test(test_record_type_23_inside_hello),
	    cmocka_unit_test(test_record_alert_inside_hello),
	    cmocka_unit_test(test_record_version_inside_hello),
	    cmocka_unit_test(test_record_too_long),
	    cmocka_unit_test(test_record_empty),
	    cmocka_unit_test(test_handshake_type_server_hello),
	    cmocka_unit_test(test_bytes_after_hello_in_record),
	    cmocka_unit_test(test_hello_at_cap),
	    cmocka_unit_test(test_hello_over_cap),
	    cmocka_unit_test(test_records_over_input_cap),
	    cmocka_unit_test(test_no_extensions),
	    cmocka_unit_test(test_empty_extensions),
	    cmocka_unit_test(test_body_truncated),
	    cmocka_unit_test(test_legacy_version_not_3),
	    cmocka_unit_test(test_session_id_too_long),
	    cmocka_unit_test(test_cipher_suites_odd_or_empty),
	    cmocka_unit_test(test_compression_empty),
	    cmocka_unit_test(test_extensions_length_mismatch),
	    cmocka_unit_test(test_extension_overruns),
	    cmocka_unit_test(test_duplicate_extension),
	    cmocka_unit_test(test_psk_not_last),
	    cmocka_unit_test(test_early_data_not_empty),
	    cmocka_unit_test(test_supported_versions),
	    cmocka_unit_test(test_alpn),
	    cmocka_unit_test(test_alpn_malformed),
	    cmocka_unit_test(test_alpn_next_stops_on_bad_list),
	    cmocka_unit_test(test_sni_upper_case),
	    cmocka_unit_test(test_sni_ipv4_literal),
	    cmocka_unit_test(test_sni_ipv6_literal),
	    cmocka_unit_test(test_sni_two_host_names),
	    cmocka_unit_test(test_sni_other_name_type),
	    cmocka_unit_test(test_sni_list_lengths),
	    cmocka_unit_test(test_sni_trailing_dot),
	    cmocka_unit_test(test_sni_bad_bytes),
	    cmocka_unit_test(test_sni_lengths),
	    cmocka_unit_test(test_sni_in_split_hello),
	    cmocka_unit_test(test_ech_outer),
	    cmocka_unit_test(test_ech_inner),
	    cmocka_unit_test(test_ech_malformed),
	    cmocka_unit_test(test_status_names),
	};
	return cmocka_run_group_tests(tests, 0, 0);
}
