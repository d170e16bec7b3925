#include "parse/proxy_auth.h"

static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Strict RFC 4648 decoding: length a multiple of 4, '=' only as final padding. */
static long b64_decode(struct slice in, char *out, size_t out_size)
{
	size_t n = 0;

	if (in.len == 0 || in.len % 4 != 0)
		return -1;
	for (size_t i = 0; i < in.len; i += 4) {
		int v[4], pad = 0;
		for (int k = 0; k < 4; k++) {
			unsigned char c = (unsigned char)in.ptr[i + k];
			if (c == '=' && i + 4 == in.len && k >= 2) {
				v[k] = 0;
				pad++;
				continue;
			}
			if (pad > 0 || (v[k] = b64_value(c)) < 0)
				return -1;
		}
		unsigned triple = (unsigned)v[0] << 18 | (unsigned)v[1] << 12 |
				  (unsigned)v[2] << 6 | (unsigned)v[3];
		size_t bytes = 3 - (size_t)pad;
		if (n + bytes > out_size)
			return -1;
		for (size_t k = 0; k < bytes; k++)
			out[n++] = (char)(triple >> (16 - 8 * k));
	}
	return (long)n;
}

int proxy_auth_parse_basic(struct slice value, char *out, size_t out_size, struct slice *user,
			   struct slice *password)
{
	static const char scheme[] = "basic";
	size_t i = sizeof(scheme) - 1;

	value = slice_trim_ows(value);
	/* RFC 9110 §11.1: the scheme is case-insensitive, followed by one or more spaces. */
	if (value.len <= i || !slice_eq_cstr_nocase(slice_make(value.ptr, i), scheme) ||
	    value.ptr[i] != ' ')
		return -1;
	while (i < value.len && value.ptr[i] == ' ')
		i++;
	long n = b64_decode(slice_make(value.ptr + i, value.len - i), out, out_size);
	if (n < 0)
		return -1;
	long colon = -1;
	for (long k = 0; k < n; k++) {
		unsigned char c = (unsigned char)out[k];
		if (c < 0x20 || c == 0x7f)
			return -1;
		if (c == ':' && colon < 0)
			colon = k;
	}
	if (colon < 0)
		return -1;
	*user = slice_make(out, (size_t)colon);
	*password = slice_make(out + colon + 1, (size_t)(n - colon - 1));
	return 0;
}
