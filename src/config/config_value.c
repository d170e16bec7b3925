#include "config/config_value.h"

#include <stdio.h>
#include <string.h>

#include "base/bug.h"
#include "base/hex.h"
#include "parse/authority.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define DURATION_MAX_MS (24u * 60 * 60 * 1000)

bool config_value_parse_uint(struct slice s, unsigned long long *out, const char **detail)
{
	if (!slice_parse_u64(s, out)) {
		size_t i = 0;
		while (i < s.len && s.ptr[i] >= '0' && s.ptr[i] <= '9')
			i++;
		*detail = (s.len > 0 && i == s.len) ? "too large" : "not a whole number";
		return false;
	}
	if (s.len > 1 && s.ptr[0] == '0') {
		*detail = "leading zeros are not allowed";
		return false;
	}
	return true;
}

bool config_value_parse_port(struct slice s, unsigned *port, const char **detail)
{
	unsigned long long v;
	if (!config_value_parse_uint(s, &v, detail))
		return false;
	if (v == 0) {
		*detail = "port 0 is not allowed";
		return false;
	}
	if (v > 65535) {
		*detail = "out of range (1-65535)";
		return false;
	}
	*port = (unsigned)v;
	return true;
}

bool config_value_parse_port_range(struct slice s, unsigned *lo, unsigned *hi, const char **detail)
{
	if (slice_eq(s, SLICE_LIT("*"))) {
		*lo = 1;
		*hi = 65535;
		return true;
	}
	const char *dash = s.len ? memchr(s.ptr, '-', s.len) : NULL;
	if (!dash) {
		if (!config_value_parse_port(s, lo, detail))
			return false;
		*hi = *lo;
		return true;
	}
	struct slice a = slice_make(s.ptr, (size_t)(dash - s.ptr));
	struct slice b = slice_make(dash + 1, s.len - a.len - 1);
	if (!config_value_parse_port(a, lo, detail) || !config_value_parse_port(b, hi, detail))
		return false;
	if (*lo > *hi) {
		*detail = "the range is reversed (write low-high)";
		return false;
	}
	return true;
}

static unsigned long long duration_unit_ms(struct slice unit)
{
	if (unit.len == 0 || slice_eq(unit, SLICE_LIT("s")))
		return 1000;
	if (slice_eq(unit, SLICE_LIT("ms")))
		return 1;
	if (slice_eq(unit, SLICE_LIT("m")))
		return 60 * 1000;
	if (slice_eq(unit, SLICE_LIT("h")))
		return 60 * 60 * 1000;
	return 0;
}

bool config_value_parse_duration(struct slice s, unsigned *ms, const char **detail)
{
	unsigned long long whole = 0, frac = 0, scale = 1, unit, total;
	size_t i = 0, digits = 0;

	*detail = "not a duration (write e.g. 10s, 500ms, 5m or 0.5)";
	if (s.len > 0 && s.ptr[0] == '-') {
		*detail = "must be greater than 0";
		return false;
	}
	for (; i < s.len && s.ptr[i] >= '0' && s.ptr[i] <= '9'; i++, digits++)
		if (digits < 9)
			whole = whole * 10 + (unsigned long long)(s.ptr[i] - '0');
	if (digits == 0)
		return false;
	if (digits > 9) {
		*detail = "too long (at most 24h)";
		return false;
	}
	if (i < s.len && s.ptr[i] == '.') {
		for (digits = 0, i++; i < s.len && s.ptr[i] >= '0' && s.ptr[i] <= '9';
		     i++, digits++)
			if (digits < 9) {
				frac = frac * 10 + (unsigned long long)(s.ptr[i] - '0');
				scale *= 10;
			} else if (s.ptr[i] != '0') {
				*detail = "not a whole number of milliseconds";
				return false;
			}
		if (digits == 0)
			return false;
	}
	unit = duration_unit_ms(slice_make(s.ptr + i, s.len - i));
	if (unit == 0) {
		*detail = "unknown unit (use ms, s, m or h)";
		return false;
	}
	if (__builtin_mul_overflow(whole * scale + frac, unit, &total)) {
		*detail = "too long (at most 24h)";
		return false;
	}
	if (total % scale != 0) {
		*detail = "not a whole number of milliseconds";
		return false;
	}
	total /= scale;
	if (total == 0)
		*detail = "must be greater than 0";
	else if (total > DURATION_MAX_MS)
		*detail = "too long (at most 24h)";
	else
		*ms = (unsigned)total;
	return total > 0 && total <= DURATION_MAX_MS;
}

bool config_value_parse_size(struct slice s, uint64_t *out, const char **detail)
{
	static const struct {
		const char *suffix;
		unsigned shift;
	} units[] = {{"KiB", 10}, {"MiB", 20}, {"GiB", 30}};
	size_t digits = 0;
	unsigned shift = 0;
	unsigned long long v;

	while (digits < s.len && s.ptr[digits] >= '0' && s.ptr[digits] <= '9')
		digits++;
	if (digits == 0) {
		*detail = "not a size (write a number of bytes, or e.g. 512KiB, 10MiB, 1GiB)";
		return false;
	}
	if (digits < s.len) {
		struct slice unit = slice_make(s.ptr + digits, s.len - digits);
		size_t i = 0;
		while (i < ARRAY_SIZE(units) && !slice_eq(unit, slice_from_cstr(units[i].suffix)))
			i++;
		if (i == ARRAY_SIZE(units)) {
			*detail = "unknown unit (use KiB, MiB or GiB, or a number of bytes)";
			return false;
		}
		shift = units[i].shift;
	}
	if (!config_value_parse_uint(slice_make(s.ptr, digits), &v, detail))
		return false;
	if (v > (UINT64_MAX >> shift)) {
		*detail = "too large";
		return false;
	}
	*out = (uint64_t)v << shift;
	return true;
}

/* Splits "host:port", "[v6]:port", "[v6]", a bare IPv4 or (when no port is required) a bare
 * IPv6 address. Returns false with *detail when the shape itself is wrong. */
static bool split_endpoint(struct slice s, struct slice *host, struct slice *port, bool *bracketed,
			   const char **detail)
{
	*bracketed = s.len > 0 && s.ptr[0] == '[';
	*port = slice_make(NULL, 0);
	if (*bracketed) {
		const char *close = memchr(s.ptr, ']', s.len);
		if (!close) {
			*detail = "missing ']'";
			return false;
		}
		*host = slice_make(s.ptr + 1, (size_t)(close - s.ptr) - 1);
		struct slice rest = slice_make(close + 1, s.len - host->len - 2);
		if (rest.len > 0 && rest.ptr[0] != ':') {
			*detail = "unexpected text after ']'";
			return false;
		}
		if (rest.len > 0)
			*port = slice_make(rest.ptr + 1, rest.len - 1);
		return true;
	}
	const char *colon = s.len ? memchr(s.ptr, ':', s.len) : NULL;
	*host = s;
	if (colon && !memchr(colon + 1, ':', s.len - (size_t)(colon - s.ptr) - 1)) {
		*host = slice_make(s.ptr, (size_t)(colon - s.ptr));
		*port = slice_make(colon + 1, s.len - host->len - 1);
	}
	return true;
}

bool config_value_parse_endpoint(struct slice s, uint16_t default_port, struct config_endpoint *out,
				 const char **detail)
{
	struct slice host, port;
	bool bracketed;
	unsigned p;

	if (!split_endpoint(s, &host, &port, &bracketed, detail))
		return false;
	bool has_port = port.ptr != NULL;
	if (!has_port && default_port == 0) {
		*detail = !bracketed && memchr(host.ptr, ':', host.len)
			      ? "IPv6 addresses need brackets and a port, e.g. [::1]:3128"
			      : "a port is required, e.g. 127.0.0.1:3128 or [::1]:3128";
		return false;
	}
	if (authority_parse_ip_strict(host, &out->addr) != 0) {
		*detail = "not an IP address (host names are not allowed here)";
		return false;
	}
	if (bracketed != (out->addr.family == IP_V6)) {
		*detail = bracketed ? "brackets are only for IPv6 addresses"
				    : "IPv6 addresses need brackets, e.g. [::1] or [::1]:53";
		return false;
	}
	if (has_port && !config_value_parse_port(port, &p, detail))
		return false;
	out->port = has_port ? (uint16_t)p : default_port;
	return true;
}

/* RFC 9110 §5.6.2 tchar: the characters of a method or a header field name. */
static bool is_tchar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

bool config_value_is_token(struct slice s)
{
	if (s.len == 0)
		return false;
	for (size_t i = 0; i < s.len; i++)
		if (!is_tchar(s.ptr[i]))
			return false;
	return true;
}

bool config_value_is_agent_name(struct slice s)
{
	if (s.len == 0 || s.len > AGENT_NAME_MAX)
		return false;
	for (size_t i = 0; i < s.len; i++) {
		char c = s.ptr[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

bool config_value_is_env_name(struct slice s, size_t max)
{
	if (s.len == 0 || s.len > max || (s.ptr[0] >= '0' && s.ptr[0] <= '9'))
		return false;
	for (size_t i = 0; i < s.len; i++) {
		char c = s.ptr[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_'))
			return false;
	}
	return true;
}

bool config_value_file_path_ok(struct slice s, size_t max, const char **detail)
{
	if (s.len == 0 || s.ptr[0] != '/') {
		*detail = "must be an absolute path (starting with '/')";
		return false;
	}
	if (s.len > max) {
		*detail = "too long";
		return false;
	}
	for (size_t i = 0; i < s.len; i++)
		if ((unsigned char)s.ptr[i] < 0x20 || s.ptr[i] == 0x7f) {
			*detail = "control characters are not allowed";
			return false;
		}
	return true;
}

size_t config_value_unprintable(struct slice s, char also)
{
	for (size_t i = 0; i < s.len; i++) {
		unsigned char c = (unsigned char)s.ptr[i];
		if ((c < 0x20 || c > 0x7e) && c != (unsigned char)also)
			return i;
	}
	return s.len;
}

void config_value_copy(char *dst, size_t size, struct slice s)
{
	BUG_ON(s.len >= size);
	if (s.len > 0)
		memcpy(dst, s.ptr, s.len);
	dst[s.len] = '\0';
}

bool config_value_parse_sha256(struct slice s, uint8_t out[32], char *got, size_t got_size)
{
	size_t i = 0;

	while (i < s.len && hex_value(s.ptr[i]) >= 0)
		i++;
	if (i != s.len) {
		if (s.ptr[i] < 0x21 || s.ptr[i] > 0x7e)
			snprintf(got, got_size, "a non-hex byte at position %zu", i + 1);
		else
			snprintf(got, got_size, "'%c' at position %zu", s.ptr[i], i + 1);
		return false;
	}
	if (s.len != 64) {
		snprintf(got, got_size, "%zu digits", s.len);
		return false;
	}
	for (i = 0; i < 32; i++)
		out[i] = (uint8_t)(hex_value(s.ptr[2 * i]) << 4 | hex_value(s.ptr[2 * i + 1]));
	return true;
}
