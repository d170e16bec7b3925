#include "base/ip_addr.h"

#include <string.h>

void ip_addr_v4(struct ip_addr *a, uint32_t host_order)
{
	memset(a, 0, sizeof(*a));
	a->family = IP_V4;
	a->bytes[0] = (uint8_t)(host_order >> 24);
	a->bytes[1] = (uint8_t)(host_order >> 16);
	a->bytes[2] = (uint8_t)(host_order >> 8);
	a->bytes[3] = (uint8_t)host_order;
}

unsigned ip_addr_bits(const struct ip_addr *a)
{
	return a->family == IP_V4 ? 32 : 128;
}

/* Only the bytes of the family count: IPv4 addresses built by hand may carry junk in
 * bytes[4..15]. */
bool ip_addr_eq(const struct ip_addr *a, const struct ip_addr *b)
{
	return a->family == b->family && memcmp(a->bytes, b->bytes, ip_addr_bits(a) / 8) == 0;
}

bool ip_addr_is_unspecified(const struct ip_addr *a)
{
	static const uint8_t zero[16];
	return memcmp(a->bytes, zero, ip_addr_bits(a) / 8) == 0;
}

bool ip_addr_is_loopback(const struct ip_addr *a)
{
	static const uint8_t one[16] = {[15] = 1};
	if (a->family == IP_V4)
		return a->bytes[0] == 127;
	return memcmp(a->bytes, one, sizeof(one)) == 0;
}

static size_t put_dec(char *out, unsigned v)
{
	char tmp[10];
	size_t n = 0, len = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	while (n > 0)
		out[len++] = tmp[--n];
	return len;
}

static size_t put_hex16(char *out, unsigned v)
{
	static const char digits[] = "0123456789abcdef";
	size_t len = 0;
	bool started = false;
	for (int shift = 12; shift >= 0; shift -= 4) {
		unsigned d = (v >> shift) & 0xf;
		if (d != 0 || started || shift == 0) {
			out[len++] = digits[d];
			started = true;
		}
	}
	return len;
}

static size_t format_dotted(const uint8_t b[4], char *out)
{
	size_t len = 0;
	for (int i = 0; i < 4; i++) {
		if (i > 0)
			out[len++] = '.';
		len += put_dec(out + len, b[i]);
	}
	return len;
}

/* RFC 5952 §4.2.2–4.2.3: the longest run of two or more zero groups; the first one on a tie. */
static void longest_zero_run(const uint16_t g[8], int *start, int *len)
{
	*start = -1;
	*len = 0;
	for (int i = 0; i < 8;) {
		if (g[i] != 0) {
			i++;
			continue;
		}
		int j = i;
		while (j < 8 && g[j] == 0)
			j++;
		if (j - i >= 2 && j - i > *len) {
			*start = i;
			*len = j - i;
		}
		i = j;
	}
}

/* RFC 5952 §5: an IPv4-mapped address (::ffff:0:0/96) keeps its dotted quad. */
static bool is_v4_mapped(const uint8_t b[16])
{
	static const uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	return memcmp(b, prefix, sizeof(prefix)) == 0;
}

static size_t format_v6(const uint8_t b[16], char *out)
{
	if (is_v4_mapped(b)) {
		memcpy(out, "::ffff:", 7);
		return 7 + format_dotted(b + 12, out + 7);
	}
	uint16_t g[8];
	for (int i = 0; i < 8; i++)
		g[i] = (uint16_t)(b[2 * i] << 8 | b[2 * i + 1]);
	int zs, zl;
	longest_zero_run(g, &zs, &zl);
	size_t len = 0;
	for (int i = 0; i < 8; i++) {
		if (i == zs) {
			out[len++] = ':';
			out[len++] = ':';
			i += zl - 1;
			continue;
		}
		if (i > 0 && i != zs + zl)
			out[len++] = ':';
		len += put_hex16(out + len, g[i]);
	}
	return len;
}

size_t ip_addr_format(const struct ip_addr *a, char out[IP_ADDR_TEXT_MAX])
{
	size_t len = a->family == IP_V4 ? format_dotted(a->bytes, out) : format_v6(a->bytes, out);
	out[len] = '\0';
	return len;
}
