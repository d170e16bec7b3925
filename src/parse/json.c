#include "parse/json.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Longest number text read (digits and all): longer ones are not numbers anyone sends. */
#define JSON_NUMBER_MAX 64

struct json_reader {
	const char *p, *start, *end;
	struct arena *a;
	unsigned nodes;
	const char *why; /* set at the first error */
	const char *at;	 /* where */
};

static bool fail(struct json_reader *r, const char *why)
{
	if (!r->why) {
		r->why = why;
		r->at = r->p;
	}
	return false;
}

static void skip_space(struct json_reader *r)
{
	while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
		r->p++;
}

static struct json_value *new_value(struct json_reader *r, enum json_type type)
{
	if (r->nodes >= JSON_NODES_MAX) {
		fail(r, "too many values");
		return NULL;
	}
	/* The arena hands out bytes for strings: a node is aligned by hand. */
	size_t align = _Alignof(struct json_value);
	char *p = arena_alloc(r->a, sizeof(struct json_value) + align - 1);
	if (!p) {
		fail(r, "out of memory");
		return NULL;
	}
	struct json_value *v = (struct json_value *)(p + (align - (uintptr_t)p % align) % align);
	r->nodes++;
	memset(v, 0, sizeof(*v));
	v->type = type;
	return v;
}

/* The length of the UTF-8 sequence at p (1 to 4), or 0 when it is not one (overlong forms,
 * surrogates and code points past U+10FFFF are not). */
static size_t utf8_length(const unsigned char *p, const unsigned char *end)
{
	unsigned c = p[0];
	size_t n;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if ((size_t)(end - p) < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

static size_t utf8_put(char *out, uint32_t cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | cp >> 12);
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | cp >> 18);
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

static int hex4(const char *p)
{
	int v = 0;
	for (int i = 0; i < 4; i++) {
		char c = p[i];
		int d = c >= '0' && c <= '9'   ? c - '0'
			: c >= 'a' && c <= 'f' ? c - 'a' + 10
			: c >= 'A' && c <= 'F' ? c - 'A' + 10
					       : -1;
		if (d < 0)
			return -1;
		v = v * 16 + d;
	}
	return v;
}

/* A string whose opening quote is at r->p: checked, then decoded (into the arena only when it
 * has escapes). */
static bool read_string(struct json_reader *r, struct slice *out)
{
	const char *s = ++r->p;
	bool escaped = false;

	while (r->p < r->end && *r->p != '"') {
		unsigned char c = (unsigned char)*r->p;
		if (c < 0x20)
			return fail(r, "a control character in a string");
		if (c == '\\') {
			escaped = true;
			if (r->end - r->p < 2)
				return fail(r, "an unfinished escape");
			char e = r->p[1];
			if (e == 'u') {
				if (r->end - r->p < 6 || hex4(r->p + 2) < 0)
					return fail(r, "a \\u escape needs four hex digits");
				r->p += 6;
			} else if (strchr("\"\\/bfnrt", e) && e) {
				r->p += 2;
			} else {
				return fail(r, "an unknown escape");
			}
			continue;
		}
		size_t n = utf8_length((const unsigned char *)r->p, (const unsigned char *)r->end);
		if (n == 0)
			return fail(r, "not UTF-8");
		r->p += n;
	}
	if (r->p >= r->end)
		return fail(r, "an unterminated string");
	size_t len = (size_t)(r->p - s);
	r->p++;
	if (!escaped) {
		*out = slice_make(s, len);
		return true;
	}
	/* Decoding only shortens it. */
	char *d = len ? arena_alloc(r->a, len) : NULL;
	if (!d)
		return fail(r, len > ARENA_BLOCK ? "a string with escapes is too long"
						 : "out of memory");
	size_t o = 0;
	for (size_t i = 0; i < len;) {
		if (s[i] != '\\') {
			d[o++] = s[i++];
			continue;
		}
		char e = s[i + 1];
		if (e != 'u') {
			static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
			d[o++] = to[strchr(from, e) - from];
			i += 2;
			continue;
		}
		uint32_t cp = (uint32_t)hex4(s + i + 2);
		i += 6;
		if (cp >= 0xdc00 && cp <= 0xdfff) {
			r->p = s + i - 6;
			return fail(r, "a lone low surrogate");
		}
		if (cp >= 0xd800 && cp <= 0xdbff) {
			int lo =
			    i + 6 <= len && s[i] == '\\' && s[i + 1] == 'u' ? hex4(s + i + 2) : -1;
			if (lo < 0xdc00 || lo > 0xdfff) {
				r->p = s + i - 6;
				return fail(r, "a high surrogate without its low one");
			}
			cp = 0x10000 + ((cp - 0xd800) << 10) + ((uint32_t)lo - 0xdc00);
			i += 6;
		}
		o += utf8_put(d + o, cp);
	}
	*out = slice_make(d, o);
	return true;
}

static bool read_digits(struct json_reader *r)
{
	const char *s = r->p;
	while (r->p < r->end && *r->p >= '0' && *r->p <= '9')
		r->p++;
	return r->p > s;
}

static bool read_number(struct json_reader *r, struct json_value *v)
{
	const char *s = r->p;
	char text[JSON_NUMBER_MAX + 1];

	if (r->p < r->end && *r->p == '-')
		r->p++;
	if (r->p < r->end && *r->p == '0')
		r->p++;
	else if (!read_digits(r))
		return fail(r, "expected a value");
	if (r->p < r->end && *r->p == '.') {
		r->p++;
		if (!read_digits(r))
			return fail(r, "a fraction needs digits");
	}
	if (r->p < r->end && (*r->p == 'e' || *r->p == 'E')) {
		r->p++;
		if (r->p < r->end && (*r->p == '+' || *r->p == '-'))
			r->p++;
		if (!read_digits(r))
			return fail(r, "an exponent needs digits");
	}
	size_t n = (size_t)(r->p - s);
	if (n > JSON_NUMBER_MAX)
		return fail(r, "a number too long");
	memcpy(text, s, n);
	text[n] = '\0';
	v->string = slice_make(s, n);
	v->number = strtod(text, NULL);
	/* Past a double's range: no reader could use it, and no writer could give it back. */
	if (isinf(v->number))
		return fail(r, "a number out of range");
	return true;
}

static bool read_word(struct json_reader *r, const char *word)
{
	size_t n = strlen(word);
	if ((size_t)(r->end - r->p) < n || memcmp(r->p, word, n) != 0)
		return fail(r, "expected a value");
	r->p += n;
	return true;
}

static struct json_value *read_value(struct json_reader *r, unsigned depth);

/* The items of an array or object whose opening bracket is at r->p. */
static bool read_items(struct json_reader *r, struct json_value *v, unsigned depth)
{
	bool object = v->type == JSON_OBJECT;
	char close = object ? '}' : ']';
	struct json_value **tail = &v->first;

	if (depth >= JSON_DEPTH_MAX)
		return fail(r, "nested too deep");
	r->p++;
	skip_space(r);
	if (r->p < r->end && *r->p == close) {
		r->p++;
		return true;
	}
	for (;;) {
		struct slice key = {0};
		skip_space(r);
		if (object) {
			if (r->p >= r->end || *r->p != '"')
				return fail(r, "expected a member name");
			if (!read_string(r, &key))
				return false;
			skip_space(r);
			if (r->p >= r->end || *r->p != ':')
				return fail(r, "expected ':'");
			r->p++;
		}
		struct json_value *item = read_value(r, depth + 1);
		if (!item)
			return false;
		item->key = key;
		*tail = item;
		tail = &item->next;
		v->n++;
		skip_space(r);
		if (r->p < r->end && *r->p == ',') {
			r->p++;
			continue;
		}
		if (r->p < r->end && *r->p == close) {
			r->p++;
			return true;
		}
		return fail(r, object ? "expected ',' or '}'" : "expected ',' or ']'");
	}
}

static struct json_value *read_value(struct json_reader *r, unsigned depth)
{
	struct json_value *v;

	skip_space(r);
	if (r->p >= r->end) {
		fail(r, "expected a value");
		return NULL;
	}
	switch (*r->p) {
	case '{':
	case '[':
		if (!(v = new_value(r, *r->p == '{' ? JSON_OBJECT : JSON_ARRAY)) ||
		    !read_items(r, v, depth))
			return NULL;
		return v;
	case '"':
		if (!(v = new_value(r, JSON_STRING)) || !read_string(r, &v->string))
			return NULL;
		return v;
	case 't':
		return read_word(r, "true") ? new_value(r, JSON_TRUE) : NULL;
	case 'f':
		return read_word(r, "false") ? new_value(r, JSON_FALSE) : NULL;
	case 'n':
		return read_word(r, "null") ? new_value(r, JSON_NULL) : NULL;
	default:
		if (!(v = new_value(r, JSON_NUMBER)) || !read_number(r, v))
			return NULL;
		return v;
	}
}

const struct json_value *json_parse(const char *text, size_t n, struct arena *a, const char **err)
{
	static _Thread_local char message[96];
	struct json_reader r = {.p = text, .start = text, .end = text + n, .a = a};

	struct json_value *v = read_value(&r, 0);
	if (v) {
		skip_space(&r);
		if (r.p < r.end) {
			fail(&r, "text after the value");
			v = NULL;
		}
	}
	if (v)
		return v;
	unsigned line = 1, column = 1;
	for (const char *p = text; p < r.at; p++) {
		if (*p == '\n') {
			line++;
			column = 1;
		} else {
			column++;
		}
	}
	snprintf(message, sizeof(message), "line %u, column %u: %s", line, column, r.why);
	*err = message;
	return NULL;
}

const struct json_value *json_get(const struct json_value *v, const char *key)
{
	if (!v || v->type != JSON_OBJECT)
		return NULL;
	size_t n = strlen(key);
	for (const struct json_value *m = v->first; m; m = m->next)
		if (m->key.len == n && memcmp(m->key.ptr, key, n) == 0)
			return m;
	return NULL;
}

bool json_string(const struct json_value *v, struct slice *out)
{
	if (!v || v->type != JSON_STRING)
		return false;
	*out = v->string;
	return true;
}

bool json_number(const struct json_value *v, double *out)
{
	if (!v || v->type != JSON_NUMBER)
		return false;
	*out = v->number;
	return true;
}

bool json_bool(const struct json_value *v, bool *out)
{
	if (!v || (v->type != JSON_TRUE && v->type != JSON_FALSE))
		return false;
	*out = v->type == JSON_TRUE;
	return true;
}
