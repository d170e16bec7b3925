/* Fuzzes parse/tls_hello: no input crashes or reads out of bounds; a prefix of an input gets
 * NEED_MORE or the answer the whole input gets, never another (so a hello cut across reads is
 * never judged early), and the need hint never runs past where the hello ends; an accepted
 * hello is the payloads of its records, its slices lie inside it, its SNI is a normalised host
 * that authority_parse_host reads as itself, and the same hello in other records reads the same. */
#include <stdint.h>
#include <string.h>

#include "parse/tls_hello.h"

#include "fuzz_check.h"

static struct tls_hello full, part, reframed;
static uint8_t wire[TLS_HELLO_INPUT_MAX + 16];

static unsigned be16(const uint8_t *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

static void check_sni(const struct tls_hello *h)
{
	if (!h->has_sni) {
		CHECK(h->sni.name_len == 0);
		return;
	}
	CHECK(h->sni.name_len > 0 && h->sni.name_len == strlen(h->sni.name));
	CHECK(h->sni.name[h->sni.name_len - 1] != '.');
	for (size_t i = 0; i < h->sni.name_len; i++)
		CHECK(!(h->sni.name[i] >= 'A' && h->sni.name[i] <= 'Z'));
	struct authority again;
	CHECK(authority_parse_host(slice_make(h->sni.name, h->sni.name_len), &again, NULL) == 0);
	CHECK(again.kind == h->sni.kind && again.name_len == h->sni.name_len);
	CHECK(memcmp(again.name, h->sni.name, again.name_len) == 0);
	CHECK(h->sni.kind != HOST_IPV6); /* no ':' gets this far */
}

static void check_alpn(const struct tls_hello *h)
{
	CHECK(fuzz_slice_inside(h->alpn, h->msg, h->msg_len));
	CHECK(h->has_alpn == (h->alpn.len > 0));
	struct slice rest = h->alpn, name;
	bool h2 = false, http11 = false;
	while (tls_hello_alpn_next(&rest, &name)) {
		CHECK(name.len > 0 && fuzz_slice_inside(name, h->alpn.ptr, h->alpn.len));
		h2 |= slice_eq(name, SLICE_LIT("h2"));
		http11 |= slice_eq(name, SLICE_LIT("http/1.1"));
	}
	CHECK(rest.len == 0);
	CHECK(h2 == h->alpn_h2 && http11 == h->alpn_http11);
}

/* The message is the records' payloads, end to end, and they end at consumed. */
static void check_records(const uint8_t *data, size_t size, const struct tls_hello *h)
{
	size_t off = 0, n = 0;
	unsigned records = 0;
	CHECK(h->consumed <= size && h->consumed <= TLS_HELLO_INPUT_MAX);
	while (off < h->consumed) {
		CHECK(h->consumed - off > 5 && data[off] == 22 && data[off + 1] == 3);
		size_t rlen = be16(data + off + 3);
		CHECK(rlen > 0 && rlen <= TLS_RECORD_MAX && n + rlen <= h->msg_len);
		CHECK(memcmp(h->msg + n, data + off + 5, rlen) == 0);
		n += rlen;
		off += 5 + rlen;
		records++;
	}
	CHECK(off == h->consumed && n == h->msg_len && records == h->records);
	CHECK(h->msg_len >= 4 && h->msg_len <= 4 + TLS_HELLO_MAX && h->msg[0] == 1);
}

static void check_same_hello(const struct tls_hello *a, const struct tls_hello *b)
{
	CHECK(a->msg_len == b->msg_len && memcmp(a->msg, b->msg, a->msg_len) == 0);
	CHECK(a->legacy_version == b->legacy_version && a->has_sni == b->has_sni);
	CHECK(a->sni.kind == b->sni.kind && strcmp(a->sni.name, b->sni.name) == 0);
	CHECK(a->alpn.len == b->alpn.len);
	if (a->alpn.len > 0)
		CHECK(a->alpn.ptr - a->msg == b->alpn.ptr - b->msg);
	CHECK(a->alpn_h2 == b->alpn_h2 && a->alpn_http11 == b->alpn_http11);
	CHECK(a->has_supported_versions == b->has_supported_versions);
	CHECK(a->tls13_offered == b->tls13_offered);
	CHECK(a->has_ech == b->has_ech && a->ech_outer == b->ech_outer);
	CHECK(a->has_psk == b->has_psk && a->has_early_data == b->has_early_data);
}

static void check_answer(size_t size, enum tls_hello_status st, const struct tls_hello *h)
{
	switch (st) {
	case TLS_HELLO_NEED_MORE:
		CHECK(size < TLS_HELLO_INPUT_MAX);
		CHECK(h->need > size && h->need <= TLS_HELLO_INPUT_MAX);
		break;
	case TLS_HELLO_OK:
		CHECK(h->detail == NULL);
		break;
	case TLS_HELLO_NOT_TLS:
	case TLS_HELLO_MALFORMED:
	case TLS_HELLO_TOO_LARGE:
		CHECK(h->detail != NULL && h->detail[0] != '\0');
		break;
	default:
		CHECK(0);
	}
}

/* A prefix gets NEED_MORE, or the whole input's answer for the same reason. */
static void check_prefix(const uint8_t *data, size_t p, enum tls_hello_status st)
{
	enum tls_hello_status pst = tls_hello_parse((const char *)data, p, &part);
	check_answer(p, pst, &part);
	if (pst == TLS_HELLO_NEED_MORE) {
		CHECK(st != TLS_HELLO_OK || part.need <= full.consumed);
		return;
	}
	CHECK(pst == st);
	if (st == TLS_HELLO_OK) {
		CHECK(part.consumed == full.consumed);
		check_same_hello(&part, &full);
	} else {
		CHECK(part.detail == full.detail);
	}
}

/* The same message in one record, or cut in two where `cut` says: the same hello. */
static void check_reframed(size_t cut)
{
	size_t n = full.msg_len, first = n;
	if (n > TLS_RECORD_MAX || cut % 3 == 0)
		first = 1 + cut % (n - 1 < TLS_RECORD_MAX ? n - 1 : TLS_RECORD_MAX);
	size_t len = 0;
	for (size_t off = 0; off < n;) {
		size_t r = off == 0 ? first : n - off;
		if (r > TLS_RECORD_MAX)
			return;
		wire[len] = 22;
		wire[len + 1] = 3;
		wire[len + 2] = 3;
		wire[len + 3] = (uint8_t)(r >> 8);
		wire[len + 4] = (uint8_t)r;
		memcpy(wire + len + 5, full.msg + off, r);
		len += 5 + r;
		off += r;
	}
	CHECK(tls_hello_parse((const char *)wire, len, &reframed) == TLS_HELLO_OK);
	CHECK(reframed.consumed == len);
	check_same_hello(&reframed, &full);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum tls_hello_status st = tls_hello_parse((const char *)data, size, &full);
	check_answer(size, st, &full);
	if (st == TLS_HELLO_OK) {
		check_records(data, size, &full);
		check_sni(&full);
		check_alpn(&full);
	}
	size_t cuts[] = {0,
			 1,
			 2,
			 5,
			 6,
			 9,
			 10,
			 size / 3,
			 size / 2,
			 size - 1,
			 full.consumed - 1,
			 full.consumed - 5,
			 size > 0 ? data[0] * 7u : 0};
	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++)
		if (cuts[i] < size)
			check_prefix(data, cuts[i], st);
	if (st == TLS_HELLO_OK && full.msg_len > 1)
		check_reframed(size > 4 ? be16(data + size - 2) : 0);
	return 0;
}
