#include "parse/authority.h"

#include <string.h>

#include "base/hex.h"

#define LABEL_MAX 63

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_hex_prefix(struct slice s)
{
	return s.len >= 2 && s.ptr[0] == '0' && (s.ptr[1] == 'x' || s.ptr[1] == 'X');
}

/* ---- strict dotted quad and IPv6 text (RFC 4291 §2.2) ---- */

/* Exactly four decimal parts 0..255, no leading zeros: "010" would be octal to inet_aton and
 * decimal to others, so strict text refuses it. */
static bool parse_dotted_strict(struct slice s, uint8_t out[4])
{
	size_t i = 0;
	for (int part = 0; part < 4; part++) {
		if (part > 0) {
			if (i >= s.len || s.ptr[i] != '.')
				return false;
			i++;
		}
		size_t start = i;
		unsigned v = 0;
		while (i < s.len && is_digit(s.ptr[i]) && i - start < 3)
			v = v * 10 + (unsigned)(s.ptr[i++] - '0');
		if (i == start || v > 255 || (s.ptr[start] == '0' && i - start > 1))
			return false;
		out[part] = (uint8_t)v;
	}
	return i == s.len;
}

/* Counts the run of hex digits at s[i..]. */
static size_t hex_run(struct slice s, size_t i)
{
	size_t n = 0;
	while (i + n < s.len && hex_value(s.ptr[i + n]) >= 0)
		n++;
	return n;
}

/* Parses the groups of IPv6 text into g[], *gap = index of "::" or -1. Returns the group count
 * or -1. A trailing dotted quad counts as two groups (RFC 4291 §2.2 form 3). */
static int parse_v6_groups(struct slice s, uint16_t g[8], int *gap)
{
	size_t i = 0;
	int n = 0;
	*gap = -1;
	if (s.len >= 2 && s.ptr[0] == ':' && s.ptr[1] == ':') {
		*gap = 0;
		i = 2;
	} else if (s.len == 0 || s.ptr[0] == ':') {
		return -1;
	}
	while (i < s.len) {
		size_t run = hex_run(s, i);
		if (i + run < s.len && s.ptr[i + run] == '.') {
			uint8_t q[4];
			if (n > 6 || !parse_dotted_strict(slice_make(s.ptr + i, s.len - i), q))
				return -1;
			g[n++] = (uint16_t)(q[0] << 8 | q[1]);
			g[n++] = (uint16_t)(q[2] << 8 | q[3]);
			return n;
		}
		if (run == 0 || run > 4 || n == 8)
			return -1;
		unsigned v = 0;
		for (size_t k = 0; k < run; k++)
			v = v << 4 | (unsigned)hex_value(s.ptr[i + k]);
		g[n++] = (uint16_t)v;
		i += run;
		if (i == s.len)
			break;
		if (s.ptr[i] != ':' || ++i == s.len)
			return -1; /* junk, or a single trailing colon */
		if (s.ptr[i] == ':') {
			if (*gap >= 0)
				return -1; /* RFC 4291 §2.2: "::" may appear only once */
			*gap = n;
			i++;
		}
	}
	return n;
}

static bool parse_v6(struct slice s, uint8_t out[16])
{
	uint16_t g[8];
	int gap;
	int n = parse_v6_groups(s, g, &gap);
	if (n < 0 || (gap < 0 && n != 8) || (gap >= 0 && n > 7))
		return false;
	uint16_t full[8] = {0};
	int tail = gap < 0 ? 0 : n - gap;
	for (int k = 0; k < n - tail; k++)
		full[k] = g[k];
	for (int k = 0; k < tail; k++)
		full[8 - tail + k] = g[n - tail + k];
	for (int k = 0; k < 8; k++) {
		out[2 * k] = (uint8_t)(full[k] >> 8);
		out[2 * k + 1] = (uint8_t)full[k];
	}
	return true;
}

int authority_parse_ip_strict(struct slice text, struct ip_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (text.len == 0)
		return -1;
	if (memchr(text.ptr, ':', text.len) != NULL) {
		out->family = IP_V6;
		return parse_v6(text, out->bytes) ? 0 : -1;
	}
	out->family = IP_V4;
	return parse_dotted_strict(text, out->bytes) ? 0 : -1;
}

/* ---- lenient IPv4 (inet_aton / WHATWG URL IPv4 parser) ---- */

/* One part: "0x"+hex, "0"+octal, or decimal. Values above 2^32-1 fail as soon as they appear, so
 * nothing overflows. "0x" with no digits is refused although WHATWG reads it as 0: a spelling
 * nobody needs is not worth an ambiguity. */
static bool parse_v4_part(struct slice p, uint64_t *out)
{
	unsigned base = 10;
	size_t i = 0;
	if (is_hex_prefix(p)) {
		base = 16;
		i = 2;
	} else if (p.len > 1 && p.ptr[0] == '0') {
		base = 8;
		i = 1;
	}
	if (i == p.len)
		return false;
	uint64_t v = 0;
	for (; i < p.len; i++) {
		int d = hex_value(p.ptr[i]);
		if (d < 0 || (unsigned)d >= base)
			return false;
		v = v * base + (unsigned)d;
		if (v > 0xffffffffu)
			return false;
	}
	*out = v;
	return true;
}

/* 1 to 4 parts; every part but the last is one byte, the last fills the remaining bytes
 * ("169.254.43518" = 169.254.169.254, "2852039166" likewise). */
static bool parse_v4_lenient(struct slice s, uint32_t *out)
{
	uint64_t parts[4];
	int n = 0;
	size_t start = 0;
	for (size_t i = 0; i <= s.len; i++) {
		if (i < s.len && s.ptr[i] != '.')
			continue;
		if (n == 4 || !parse_v4_part(slice_make(s.ptr + start, i - start), &parts[n]))
			return false;
		n++;
		start = i + 1;
	}
	uint64_t v = 0;
	for (int k = 0; k < n - 1; k++) {
		if (parts[k] > 255)
			return false;
		v |= parts[k] << (8 * (3 - k));
	}
	unsigned last_bits = 8 * (unsigned)(5 - n);
	if (last_bits < 32 && parts[n - 1] >> last_bits != 0)
		return false;
	*out = (uint32_t)(v | parts[n - 1]);
	return true;
}

/* WHATWG URL "ends in a number": the last label is all digits or "0x" + hex digits. Such a host
 * is an IPv4 address or nothing, so that no resolver ever sees "0x7f.1" as a name. */
static bool ends_in_number(struct slice s)
{
	size_t i = s.len;
	while (i > 0 && s.ptr[i - 1] != '.')
		i--;
	struct slice last = slice_make(s.ptr + i, s.len - i);
	if (last.len == 0)
		return false;
	size_t k = 0;
	if (is_hex_prefix(last)) {
		for (k = 2; k < last.len; k++)
			if (hex_value(last.ptr[k]) < 0)
				return false;
		return true;
	}
	for (; k < last.len; k++)
		if (!is_digit(last.ptr[k]))
			return false;
	return true;
}

/* ---- names ---- */

static bool is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '-' ||
	       c == '_';
}

static int check_labels(struct slice s, const char **detail)
{
	size_t label = 0;
	for (size_t i = 0; i < s.len; i++) {
		if (s.ptr[i] == '.') {
			if (label == 0) {
				*detail = "empty label in host name";
				return -1;
			}
			label = 0;
			continue;
		}
		if (!is_name_char(s.ptr[i])) {
			*detail = "invalid character in host name";
			return -1;
		}
		if (++label > LABEL_MAX) {
			*detail = "host name label longer than 63 characters";
			return -1;
		}
	}
	if (label == 0) {
		*detail = "empty label in host name";
		return -1;
	}
	return 0;
}

static void set_ip(struct authority *out, enum host_kind kind)
{
	out->kind = kind;
	out->name_len = ip_addr_format(&out->ip, out->name);
}

/* An unbracketed host: a name, or an IPv4 literal when the last label is numeric. One trailing
 * dot (the DNS root) is dropped first, for names and IPv4 literals alike (WHATWG does too). */
static int parse_plain_host(struct slice h, struct authority *out, const char **detail)
{
	if (h.len > 0 && h.ptr[h.len - 1] == '.')
		h.len--;
	if (h.len == 0) {
		*detail = "empty host";
		return -1;
	}
	if (ends_in_number(h)) {
		uint32_t v;
		if (!parse_v4_lenient(h, &v)) {
			*detail = "host ends in a number but is not a valid IPv4 address";
			return -1;
		}
		ip_addr_v4(&out->ip, v);
		set_ip(out, HOST_IPV4);
		return 0;
	}
	if (check_labels(h, detail) != 0)
		return -1;
	if (h.len > AUTHORITY_NAME_MAX) {
		*detail = "host name longer than 253 characters";
		return -1;
	}
	for (size_t i = 0; i < h.len; i++)
		out->name[i] = slice_ascii_lower(h.ptr[i]);
	out->name[h.len] = '\0';
	out->name_len = h.len;
	out->kind = HOST_NAME;
	return 0;
}

/* RFC 3986 §3.2.2 IP-literal, minus IPvFuture; RFC 6874 zone ids are refused (the '%' never
 * gets here). */
static int parse_bracketed(struct slice inside, struct authority *out, const char **detail)
{
	memset(&out->ip, 0, sizeof(out->ip));
	out->ip.family = IP_V6;
	if (!parse_v6(inside, out->ip.bytes)) {
		*detail = "bracketed host is not an IPv6 address";
		return -1;
	}
	set_ip(out, HOST_IPV6);
	return 0;
}

/* Bytes no host or port may hold, refused up front with a reason an operator can act on. */
static int check_bytes(struct slice s, const char **detail)
{
	for (size_t i = 0; i < s.len; i++) {
		unsigned char c = (unsigned char)s.ptr[i];
		if (c >= 0x80) {
			*detail = "non-ASCII byte in host";
			return -1;
		}
		if (c <= 0x20 || c == 0x7f) {
			*detail = "space or control character in host";
			return -1;
		}
		if (c == '@') {
			*detail = "userinfo in authority is not allowed";
			return -1;
		}
		if (c == '\\') {
			*detail = "backslash in host";
			return -1;
		}
		if (c == '%') {
			*detail = "percent-encoding or zone identifier in host";
			return -1;
		}
	}
	return 0;
}

/* RFC 3986 §3.2.3 port = *DIGIT, narrowed to 1*5DIGIT in 1..65535. */
static int parse_port(struct slice p, uint16_t *port, const char **detail)
{
	if (p.len == 0) {
		*detail = "empty port";
		return -1;
	}
	unsigned v = 0;
	for (size_t i = 0; i < p.len; i++) {
		if (!is_digit(p.ptr[i]) || i >= 5) {
			*detail = "port is not a number from 1 to 65535";
			return -1;
		}
		v = v * 10 + (unsigned)(p.ptr[i] - '0');
	}
	if (v == 0 || v > 65535) {
		*detail = "port is not a number from 1 to 65535";
		return -1;
	}
	*port = (uint16_t)v;
	return 0;
}

/* Splits text into host and the part after it (":port" or empty). For "[...]" the host is the
 * inside of the brackets. */
static int split_host(struct slice text, struct slice *host, struct slice *rest, bool *bracketed,
		      const char **detail)
{
	*bracketed = text.len > 0 && text.ptr[0] == '[';
	if (*bracketed) {
		const char *close = memchr(text.ptr, ']', text.len);
		if (close == NULL) {
			*detail = "unterminated '[' in host";
			return -1;
		}
		*host = slice_make(text.ptr + 1, (size_t)(close - text.ptr) - 1);
		*rest = slice_make(close + 1, text.len - (size_t)(close + 1 - text.ptr));
		if (rest->len > 0 && rest->ptr[0] != ':') {
			*detail = "junk after ']' in host";
			return -1;
		}
		return 0;
	}
	const char *colon = memchr(text.ptr, ':', text.len);
	size_t hlen = colon ? (size_t)(colon - text.ptr) : text.len;
	*host = slice_make(text.ptr, hlen);
	*rest = slice_make(text.ptr + hlen, text.len - hlen);
	if (memchr(text.ptr, '[', text.len) || memchr(text.ptr, ']', text.len)) {
		*detail = "bracket inside host";
		return -1;
	}
	if (rest->len > 0 && memchr(rest->ptr + 1, ':', rest->len - 1)) {
		*detail = "IPv6 literal without brackets, or more than one ':'";
		return -1;
	}
	return 0;
}

static int parse_common(struct slice text, bool port_allowed, struct authority *out,
			const char **detail)
{
	struct slice host, rest;
	bool bracketed;
	if (text.len == 0) {
		*detail = "empty host";
		return -1;
	}
	if (check_bytes(text, detail) != 0 ||
	    split_host(text, &host, &rest, &bracketed, detail) != 0)
		return -1;
	out->spelled_at = (size_t)(host.ptr - text.ptr);
	out->spelled_len = host.len;
	if (rest.len > 0) {
		if (!port_allowed) {
			*detail = "port not allowed here";
			return -1;
		}
		if (parse_port(slice_make(rest.ptr + 1, rest.len - 1), &out->port, detail) != 0)
			return -1;
		out->has_port = true;
	}
	if (bracketed)
		return parse_bracketed(host, out, detail);
	return parse_plain_host(host, out, detail);
}

int authority_parse(struct slice text, uint16_t default_port, struct authority *out,
		    const char **detail)
{
	const char *unused;
	if (detail == NULL)
		detail = &unused;
	memset(out, 0, sizeof(*out));
	out->port = default_port;
	int rc = parse_common(text, true, out, detail);
	if (rc != 0)
		memset(out, 0, sizeof(*out));
	return rc;
}

int authority_parse_host(struct slice host, struct authority *out, const char **detail)
{
	const char *unused;
	if (detail == NULL)
		detail = &unused;
	memset(out, 0, sizeof(*out));
	int rc = parse_common(host, false, out, detail);
	if (rc != 0)
		memset(out, 0, sizeof(*out));
	return rc;
}
