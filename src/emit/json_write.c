#include "emit/json_write.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void json_write_init(struct json_write *w, struct buf *out, size_t max_cap)
{
	memset(w, 0, sizeof(*w));
	w->out = out;
	w->max_cap = max_cap;
	w->first[0] = true;
}

static void put(struct json_write *w, const char *p, size_t n)
{
	if (!w->failed && !buf_append(w->out, p, n, w->max_cap))
		w->failed = true;
}

/* The comma before an item, unless it is the first at its depth or a member's value. */
static void item(struct json_write *w)
{
	if (w->after_key) {
		w->after_key = false;
		return;
	}
	if (!w->first[w->depth])
		put(w, ",", 1);
	w->first[w->depth] = false;
}

static void open(struct json_write *w, char c)
{
	item(w);
	put(w, &c, 1);
	if (w->depth + 1 >= JSON_WRITE_DEPTH_MAX) {
		w->failed = true;
		return;
	}
	w->first[++w->depth] = true;
	w->close[w->depth] = c == '{' ? '}' : ']';
}

void json_write_object(struct json_write *w)
{
	open(w, '{');
}

void json_write_array(struct json_write *w)
{
	open(w, '[');
}

void json_write_end(struct json_write *w)
{
	if (w->depth == 0) {
		w->failed = true;
		return;
	}
	put(w, &w->close[w->depth], 1);
	w->depth--;
}

void json_write_key_slice(struct json_write *w, struct slice key)
{
	json_write_string(w, key);
	put(w, ":", 1);
	w->after_key = true;
}

void json_write_key(struct json_write *w, const char *key)
{
	json_write_key_slice(w, slice_from_cstr(key));
}

void json_write_string(struct json_write *w, struct slice s)
{
	static const char hex[] = "0123456789abcdef";
	item(w);
	put(w, "\"", 1);
	size_t run = 0;
	for (size_t i = 0; i < s.len;) {
		unsigned char c = (unsigned char)s.ptr[i];
		size_t n = 1;
		bool plain = c >= 0x20 && c != '"' && c != '\\' && c < 0x80;
		if (c >= 0x80) {
			/* A valid sequence is kept; anything else is U+FFFD. */
			unsigned need = c >= 0xf0 && c <= 0xf4 ? 4
					: c >= 0xe0	       ? 3
					: c >= 0xc2	       ? 2
							       : 0;
			bool ok = need && i + need <= s.len && c < 0xf5;
			for (unsigned k = 1; ok && k < need; k++)
				ok = ((unsigned char)s.ptr[i + k] & 0xc0) == 0x80;
			if (ok && need == 3) {
				unsigned c1 = (unsigned char)s.ptr[i + 1];
				ok = !(c == 0xe0 && c1 < 0xa0) && !(c == 0xed && c1 >= 0xa0);
			} else if (ok && need == 4) {
				unsigned c1 = (unsigned char)s.ptr[i + 1];
				ok = !(c == 0xf0 && c1 < 0x90) && !(c == 0xf4 && c1 >= 0x90);
			}
			if (ok) {
				i += need;
				run += need;
				continue;
			}
		}
		if (plain) {
			i++;
			run++;
			continue;
		}
		put(w, s.ptr + i - run, run);
		run = 0;
		char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
		if (c >= 0x80)
			put(w, "\xef\xbf\xbd", 3);
		else if (c == '"' || c == '\\')
			put(w, (char[]){'\\', (char)c}, 2);
		else if (c == '\n')
			put(w, "\\n", 2);
		else if (c == '\t')
			put(w, "\\t", 2);
		else if (c == '\r')
			put(w, "\\r", 2);
		else
			put(w, esc, 6);
		i += n;
	}
	if (run) /* an empty slice may have no pointer */
		put(w, s.ptr + s.len - run, run);
	put(w, "\"", 1);
}

void json_write_cstr(struct json_write *w, const char *s)
{
	json_write_string(w, slice_from_cstr(s));
}

void json_write_int(struct json_write *w, int64_t v)
{
	char text[24];
	int n = snprintf(text, sizeof(text), "%lld", (long long)v);
	item(w);
	put(w, text, (size_t)n);
}

void json_write_double(struct json_write *w, double v)
{
	char text[32];
	if (!isfinite(v)) {
		json_write_null(w);
		return;
	}
	/* The shortest of %.15g..%.17g that reads back as v. */
	int n = 0;
	for (int prec = 15; prec <= 17; prec++) {
		n = snprintf(text, sizeof(text), "%.*g", prec, v);
		if (strtod(text, NULL) == v)
			break;
	}
	item(w);
	put(w, text, (size_t)n);
}

void json_write_bool(struct json_write *w, bool v)
{
	item(w);
	put(w, v ? "true" : "false", v ? 4 : 5);
}

void json_write_null(struct json_write *w)
{
	item(w);
	put(w, "null", 4);
}

bool json_write_ok(const struct json_write *w)
{
	return !w->failed && w->depth == 0;
}
