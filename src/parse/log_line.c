#include "parse/log_line.h"

#include <string.h>

#include "base/hex.h"

/* Every helper returns PARSED, NEED_MORE (the text ended inside the object) or MALFORMED, and
 * reads only through struct cursor, which stops at the end of the line. */
enum { PARSED = 1, NEED_MORE = 0, MALFORMED = -1 };

struct cursor {
	const unsigned char *p, *end;
	const char *detail;
};

/* Where a decoded string goes: a kept field, a key being matched, or nowhere (out == NULL). */
struct sink {
	char *out;
	size_t cap, len;
	bool overflow;
};

enum field {
	F_AGENT,
	F_METHOD,
	F_HOST,
	F_DECISION,
	F_REASON,
	F_RULE,
	F_EVENT,
	F_PORT,
	F_STATUS,
	F_KIND,
	F_NAME,
	F__COUNT
};

static const char *const field_names[F__COUNT] = {
    [F_AGENT] = "agent",   [F_METHOD] = "method", [F_HOST] = "host",   [F_DECISION] = "decision",
    [F_REASON] = "reason", [F_RULE] = "rule",	  [F_EVENT] = "event", [F_PORT] = "port",
    [F_STATUS] = "status", [F_KIND] = "kind",	  [F_NAME] = "name",
};

#define REQUIRED ((1u << F_HOST) | (1u << F_PORT) | (1u << F_DECISION) | (1u << F_REASON))
/* A DNS line ("kind":"dns") names its question instead of a host and port. */
#define REQUIRED_DNS ((1u << F_NAME) | (1u << F_DECISION) | (1u << F_REASON))

static int malformed(struct cursor *c, const char *why)
{
	c->detail = why;
	return MALFORMED;
}

static int peek(const struct cursor *c)
{
	return c->p < c->end ? *c->p : -1;
}

/* RFC 8259 §2: insignificant whitespace is SP, HTAB, LF and CR. */
static void skip_ws(struct cursor *c)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
		c->p++;
}

static void sink_put(struct sink *s, const void *bytes, size_t n)
{
	/* Once full, nothing more is kept: what is kept stays a prefix of the value. */
	if (s->out == NULL || s->overflow)
		return;
	if (n > s->cap - s->len) {
		s->overflow = true;
		return;
	}
	memcpy(s->out + s->len, bytes, n);
	s->len += n;
}

static void sink_put_code_point(struct sink *s, unsigned cp)
{
	unsigned char u[4];
	size_t n;

	if (cp < 0x80) {
		u[0] = (unsigned char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (unsigned char)(0xc0 | cp >> 6);
		u[1] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (unsigned char)(0xe0 | cp >> 12);
		u[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		u[0] = (unsigned char)(0xf0 | cp >> 18);
		u[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		u[3] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	sink_put(s, u, n);
}

/* RFC 8259 §8.1: JSON text is UTF-8. Checks one raw multi-byte sequence (RFC 3629 §4: no
 * overlong forms, no surrogates, nothing above U+10FFFF) and copies it. */
static int raw_utf8(struct cursor *c, struct sink *s)
{
	unsigned lead = *c->p, cp, n;

	if (lead >= 0xc2 && lead <= 0xdf) {
		n = 1;
		cp = lead & 0x1f;
	} else if (lead >= 0xe0 && lead <= 0xef) {
		n = 2;
		cp = lead & 0x0f;
	} else if (lead >= 0xf0 && lead <= 0xf4) {
		n = 3;
		cp = lead & 0x07;
	} else {
		return malformed(c, "invalid UTF-8 in a string");
	}
	for (unsigned i = 1; i <= n; i++) {
		if (c->end - c->p <= (ptrdiff_t)i)
			return NEED_MORE;
		if ((c->p[i] & 0xc0) != 0x80)
			return malformed(c, "invalid UTF-8 in a string");
		cp = cp << 6 | (c->p[i] & 0x3f);
	}
	if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return malformed(c, "invalid UTF-8 in a string");
	sink_put(s, c->p, n + 1);
	c->p += n + 1;
	return PARSED;
}

static int hex4(struct cursor *c, unsigned *out)
{
	unsigned v = 0;

	for (int i = 0; i < 4; i++) {
		int ch = peek(c);
		if (ch < 0)
			return NEED_MORE;
		int d = hex_value(ch);
		if (d < 0)
			return malformed(c, "bad \\u escape");
		v = v * 16 + (unsigned)d;
		c->p++;
	}
	*out = v;
	return PARSED;
}

/* RFC 8259 §7: \uXXXX, with a UTF-16 surrogate pair for code points above U+FFFF. A lone
 * surrogate names no character: refused rather than guessed. */
static int unicode_escape(struct cursor *c, struct sink *s)
{
	unsigned hi, lo;
	int rc = hex4(c, &hi);

	if (rc != PARSED)
		return rc;
	if (hi >= 0xdc00 && hi <= 0xdfff)
		return malformed(c, "lone low surrogate in a \\u escape");
	if (hi < 0xd800 || hi > 0xdbff) {
		sink_put_code_point(s, hi);
		return PARSED;
	}
	if (c->end - c->p < 2)
		return NEED_MORE;
	if (c->p[0] != '\\' || c->p[1] != 'u')
		return malformed(c, "lone high surrogate in a \\u escape");
	c->p += 2;
	rc = hex4(c, &lo);
	if (rc != PARSED)
		return rc;
	if (lo < 0xdc00 || lo > 0xdfff)
		return malformed(c, "lone high surrogate in a \\u escape");
	sink_put_code_point(s, 0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00));
	return PARSED;
}

static int escape(struct cursor *c, struct sink *s)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	int e = peek(c);

	if (e < 0)
		return NEED_MORE;
	c->p++;
	if (e == 'u')
		return unicode_escape(c, s);
	const char *hit = e ? strchr(from, e) : NULL;
	if (hit == NULL)
		return malformed(c, "unknown escape in a string");
	sink_put(s, &to[hit - from], 1);
	return PARSED;
}

/* A string, the cursor on its opening quote. */
static int string(struct cursor *c, struct sink *s)
{
	c->p++;
	for (;;) {
		int ch = peek(c), rc = PARSED;
		if (ch < 0)
			return NEED_MORE;
		if (ch == '"') {
			c->p++;
			return PARSED;
		}
		if (ch < 0x20)
			return malformed(c, "raw control byte in a string");
		if (ch == '\\') {
			c->p++;
			rc = escape(c, s);
		} else if (ch >= 0x80) {
			rc = raw_utf8(c, s);
		} else {
			sink_put(s, c->p, 1);
			c->p++;
		}
		if (rc != PARSED)
			return rc;
	}
}

static bool is_digit(int ch)
{
	return ch >= '0' && ch <= '9';
}

/* RFC 8259 §6, restricted to non-negative integers: no sign, fraction or exponent, and no
 * leading zero (JSON has none). */
static int number(struct cursor *c, unsigned long long *out)
{
	unsigned long long v = 0;

	if (peek(c) == '-')
		return malformed(c, "a negative number");
	if (peek(c) == '0' && c->end - c->p > 1 && is_digit(c->p[1]))
		return malformed(c, "a number with a leading zero");
	while (is_digit(peek(c))) {
		unsigned d = (unsigned)(*c->p++ - '0');
		if (v > (~0ULL - d) / 10)
			return malformed(c, "a number too large");
		v = v * 10 + d;
	}
	if (peek(c) == '.' || peek(c) == 'e' || peek(c) == 'E')
		return malformed(c, "a number that is not an integer");
	*out = v;
	return PARSED;
}

/* true, false, null: accepted for fields that are not kept, so that a field added to the log
 * later does not make old reports fail. */
static int literal(struct cursor *c)
{
	static const char *const words[] = {"true", "false", "null"};

	for (size_t i = 0; i < 3; i++) {
		size_t n = strlen(words[i]), have = (size_t)(c->end - c->p);
		if (memcmp(c->p, words[i], have < n ? have : n) != 0)
			continue;
		if (have < n)
			return NEED_MORE;
		c->p += n;
		return PARSED;
	}
	return malformed(c, "a value that is not a string, integer, true, false or null");
}

/* An array of strings, numbers and literals (a DNS line's "answers"), skipped; an array
 * holding an object or another array is not a line of ours. */
static int scalar_array(struct cursor *c)
{
	struct sink discard = {0};
	unsigned long long unused;

	c->p++;
	skip_ws(c);
	if (peek(c) == ']') {
		c->p++;
		return PARSED;
	}
	for (;;) {
		int ch = peek(c), rc;
		if (ch < 0)
			return NEED_MORE;
		if (ch == '"')
			rc = string(c, &discard);
		else if (ch == '-' || is_digit(ch))
			rc = number(c, &unused);
		else if (ch == '{' || ch == '[')
			return malformed(c, "a nested object or array");
		else
			rc = literal(c);
		if (rc != PARSED)
			return rc;
		skip_ws(c);
		ch = peek(c);
		if (ch < 0)
			return NEED_MORE;
		c->p++;
		if (ch == ']')
			return PARSED;
		if (ch != ',')
			return malformed(c, "no ',' or ']' after an array element");
		skip_ws(c);
	}
}

static int unknown_value(struct cursor *c)
{
	struct sink discard = {0};
	unsigned long long unused;
	int ch = peek(c);

	if (ch == '"')
		return string(c, &discard);
	if (ch == '-' || is_digit(ch))
		return number(c, &unused);
	if (ch == '[')
		return scalar_array(c);
	if (ch == '{')
		return malformed(c, "a nested object");
	return literal(c);
}

/* A string field; a longer value than LOG_LINE_VALUE_MAX is refused, or kept cut when cut_ok. */
static int text_value(struct cursor *c, struct log_line_text *t, bool cut_ok)
{
	struct sink s = {t->bytes, LOG_LINE_VALUE_MAX, 0, false};

	if (peek(c) != '"')
		return malformed(c, "a string field holds no string");
	int rc = string(c, &s);
	if (rc != PARSED)
		return rc;
	if (s.overflow && !cut_ok)
		return malformed(c, "a string field is longer than 255 bytes");
	t->len = s.len;
	t->bytes[s.len] = '\0';
	return PARSED;
}

static int number_value(struct cursor *c, unsigned *out, unsigned max)
{
	unsigned long long v;

	if (!is_digit(peek(c)) && peek(c) != '-')
		return malformed(c, "a number field holds no number");
	int rc = number(c, &v);
	if (rc != PARSED)
		return rc;
	if (v > max)
		return malformed(c, max == 65535 ? "port above 65535" : "status above 999");
	*out = (unsigned)v;
	return PARSED;
}

static int field_value(struct cursor *c, enum field f, struct log_line *out)
{
	switch (f) {
	case F_AGENT:
		out->has_agent = true;
		return text_value(c, &out->agent, false);
	case F_METHOD:
		return text_value(c, &out->method, false);
	case F_HOST:
		return text_value(c, &out->host, false);
	case F_DECISION:
		return text_value(c, &out->decision, false);
	case F_REASON:
		return text_value(c, &out->reason, false);
	case F_RULE:
		return text_value(c, &out->rule, true);
	case F_EVENT:
		return text_value(c, &out->event, false);
	case F_PORT:
		return number_value(c, &out->port, 65535);
	case F_STATUS:
		return number_value(c, &out->status, 999);
	case F_KIND:
		return text_value(c, &out->kind, false);
	case F_NAME:
		return text_value(c, &out->name, false);
	default:
		return unknown_value(c);
	}
}

/* Matches the decoded key against the kept fields; F__COUNT for any other key. */
static enum field field_of(const struct sink *key)
{
	if (key->overflow)
		return F__COUNT;
	for (int f = 0; f < F__COUNT; f++)
		if (strlen(field_names[f]) == key->len &&
		    memcmp(field_names[f], key->out, key->len) == 0)
			return (enum field)f;
	return F__COUNT;
}

/* One "key": value pair, the cursor on the key's quote. A kept field given twice would let two
 * readers of the same line disagree, so it is refused. */
static int member(struct cursor *c, struct log_line *out, unsigned *seen)
{
	char key_text[16];
	struct sink key = {key_text, sizeof(key_text), 0, false};
	int rc = string(c, &key);

	if (rc != PARSED)
		return rc;
	skip_ws(c);
	if (peek(c) < 0)
		return NEED_MORE;
	if (peek(c) != ':')
		return malformed(c, "no ':' after a key");
	c->p++;
	skip_ws(c);
	if (peek(c) < 0)
		return NEED_MORE;
	enum field f = field_of(&key);
	if (f != F__COUNT) {
		if (*seen & (1u << f))
			return malformed(c, "a field given twice");
		*seen |= 1u << f;
	}
	return field_value(c, f, out);
}

static int object(struct cursor *c, struct log_line *out, unsigned *seen)
{
	skip_ws(c);
	if (peek(c) < 0)
		return NEED_MORE;
	if (peek(c) != '{')
		return malformed(c, "not a JSON object");
	c->p++;
	skip_ws(c);
	if (peek(c) == '}') {
		c->p++;
		return PARSED;
	}
	for (;;) {
		if (peek(c) < 0)
			return NEED_MORE;
		if (peek(c) != '"')
			return malformed(c, "a key is not a string");
		int rc = member(c, out, seen);
		if (rc != PARSED)
			return rc;
		skip_ws(c);
		int ch = peek(c);
		if (ch < 0)
			return NEED_MORE;
		c->p++;
		if (ch == '}')
			return PARSED;
		if (ch != ',')
			return malformed(c, "no ',' or '}' after a value");
		skip_ws(c);
	}
}

int log_line_parse(struct slice line, struct log_line *out, const char **detail)
{
	const char *unused;
	struct cursor c = {(const unsigned char *)line.ptr,
			   (const unsigned char *)line.ptr + line.len, NULL};
	unsigned seen = 0;
	int rc;

	if (detail == NULL)
		detail = &unused;
	memset(out, 0, sizeof(*out));
	if (line.len > LOG_LINE_MAX) {
		*detail = "line longer than 64 KiB";
		return -1;
	}
	rc = object(&c, out, &seen);
	if (rc == PARSED) {
		skip_ws(&c);
		if (c.p != c.end)
			rc = malformed(&c, "text after the object");
		else if (log_line_is_dns(out) && (seen & REQUIRED_DNS) != REQUIRED_DNS)
			rc =
			    malformed(&c, "a required field of a DNS line (name, decision, reason) "
					  "is missing");
		else if (!log_line_is_dns(out) && (seen & REQUIRED) != REQUIRED)
			rc = malformed(
			    &c, "a required field (host, port, decision, reason) is missing");
	}
	if (rc != PARSED) {
		memset(out, 0, sizeof(*out));
		*detail = rc == NEED_MORE ? "the line ends inside the object" : c.detail;
		return rc;
	}
	/* A DNS question is about the name alone: read as a line for that host, on no port. */
	if (log_line_is_dns(out)) {
		out->host = out->name;
		out->port = 0;
	}
	*detail = NULL;
	return (int)line.len;
}
