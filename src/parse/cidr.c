#include "parse/cidr.h"

#include <string.h>

#include "parse/authority.h"

/* Only what CIDR text can hold; anything else (spaces, brackets, signs) is refused outright. */
static bool is_cidr_char(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
	       c == ':' || c == '.' || c == '/';
}

/* Decimal 0..max without leading zeros ("08" is refused rather than guessed at). */
static int parse_prefix_len(struct slice s, unsigned max, unsigned *out, const char **detail)
{
	if (s.len == 0) {
		*detail = "empty prefix length after '/'";
		return -1;
	}
	if (s.len > 3 || (s.len > 1 && s.ptr[0] == '0')) {
		*detail = "prefix length must be a decimal number without leading zeros";
		return -1;
	}
	unsigned v = 0;
	for (size_t i = 0; i < s.len; i++) {
		if (s.ptr[i] < '0' || s.ptr[i] > '9') {
			*detail = "prefix length must be a decimal number without leading zeros";
			return -1;
		}
		v = v * 10 + (unsigned)(s.ptr[i] - '0');
	}
	if (v > max) {
		*detail = max == 32 ? "prefix length longer than 32 for IPv4"
				    : "prefix length longer than 128 for IPv6";
		return -1;
	}
	*out = v;
	return 0;
}

static bool host_bits_set(const struct ip_addr *a, unsigned prefix_len)
{
	unsigned nbytes = ip_addr_bits(a) / 8;
	for (unsigned i = prefix_len / 8; i < nbytes; i++) {
		unsigned keep = i == prefix_len / 8 ? prefix_len % 8 : 0;
		uint8_t host_mask = (uint8_t)(0xffu >> keep);
		if (a->bytes[i] & host_mask)
			return true;
	}
	return false;
}

static int check_chars(struct slice text, const char **detail)
{
	if (text.len == 0) {
		*detail = "empty CIDR";
		return -1;
	}
	for (size_t i = 0; i < text.len; i++) {
		if (!is_cidr_char(text.ptr[i])) {
			*detail = "invalid character in CIDR (expected address/prefix-length)";
			return -1;
		}
	}
	return 0;
}

int cidr_parse(struct slice text, struct ip_addr *addr, unsigned *prefix_len, const char **detail)
{
	const char *unused;
	if (detail == NULL)
		detail = &unused;
	if (check_chars(text, detail) != 0)
		return -1;
	const char *slash = memchr(text.ptr, '/', text.len);
	size_t alen = slash ? (size_t)(slash - text.ptr) : text.len;
	if (alen == 0) {
		*detail = "empty address in CIDR";
		return -1;
	}
	if (authority_parse_ip_strict(slice_make(text.ptr, alen), addr) != 0) {
		*detail =
		    "not an IP address (IPv4 must be a plain dotted quad without leading zeros)";
		return -1;
	}
	unsigned max = ip_addr_bits(addr);
	*prefix_len = max;
	if (slash != NULL) {
		struct slice p = slice_make(slash + 1, text.len - alen - 1);
		if (parse_prefix_len(p, max, prefix_len, detail) != 0)
			return -1;
	}
	if (host_bits_set(addr, *prefix_len)) {
		*detail = "host bits set beyond the prefix length (write the network address, e.g. "
			  "10.0.0.0/8 rather than 10.0.0.1/8)";
		return -1;
	}
	return 0;
}
