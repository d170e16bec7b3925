/* Fuzzes emit/log_json: the input is split on '|' into the fields of a log record
 * (client|agent|method|host|port|decision|reason|rule|ip|status|bytes_up|bytes_down|duration_ms|
 * ts_ms|id|event|path|host_raw|user; an input without an agent field gives agent NULL, i.e. no
 * identified agent; a non-empty event field means the open line); whatever the bytes, the output
 * is one line of valid JSON (RFC 8259) holding exactly the documented fields in order (path,
 * host_raw and user only when not empty), each string decoding back to its input (cut at its
 * cap; NULL agent as "") and each number to its value. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/hex.h"

#include "emit/log_json.h"

#include "fuzz_check.h"

enum {
	F_CLIENT,
	F_AGENT,
	F_METHOD,
	F_HOST,
	F_PORT,
	F_DECISION,
	F_REASON,
	F_RULE,
	F_IP,
	F_STATUS,
	F_BYTES_UP,
	F_BYTES_DOWN,
	F_DURATION,
	F_TS,
	F_ID,
	F_EVENT,
	F_PATH,
	F_HOST_RAW,
	F_USER,
	N_INPUT
};

/* One expected field of the line, in output order. */
struct want {
	const char *name;
	bool is_string;
	const char *bytes; /* strings: the input, cut at cap below */
	size_t len;
	uint64_t number;
};

struct cursor {
	const char *p, *end;
};

static int peek(const struct cursor *c)
{
	return c->p < c->end ? (unsigned char)*c->p : -1;
}

/* RFC 8259 §7: a string of printable ASCII and escapes; decoded into out (NULL: skip). Escapes
 * above \u00ff are refused: the formatter writes bytes, never code points. */
static size_t parse_string(struct cursor *c, char *out, size_t cap)
{
	size_t n = 0;
	CHECK(peek(c) == '"');
	c->p++;
	for (;;) {
		int ch = peek(c);
		CHECK(ch >= 0x20 && ch < 0x7f);
		c->p++;
		if (ch == '"')
			return n;
		if (ch == '\\') {
			int e = peek(c);
			c->p++;
			if (e == 'u') {
				CHECK(c->end - c->p >= 4);
				ch = 0;
				for (int i = 0; i < 4; i++) {
					int h = hex_value((unsigned char)c->p[i]);
					CHECK(h >= 0);
					ch = ch * 16 + h;
				}
				c->p += 4;
				CHECK(ch <= 0xff);
			} else if (e == 'n' || e == 'r' || e == 't' || e == 'b' || e == 'f') {
				ch = e == 'n'	? '\n'
				     : e == 'r' ? '\r'
				     : e == 't' ? '\t'
				     : e == 'b' ? '\b'
						: '\f';
			} else {
				CHECK(e == '"' || e == '\\' || e == '/');
				ch = e;
			}
		}
		CHECK(n < cap);
		out[n++] = (char)ch;
	}
}

/* RFC 8259 §6, restricted to what the formatter writes: an unsigned integer. */
static uint64_t parse_uint(struct cursor *c)
{
	uint64_t v = 0;
	int digits = 0;
	CHECK(peek(c) >= '0' && peek(c) <= '9');
	CHECK(!(peek(c) == '0' && c->end - c->p > 1 && c->p[1] >= '0' && c->p[1] <= '9'));
	while (peek(c) >= '0' && peek(c) <= '9') {
		CHECK(++digits <= 20);
		v = v * 10 + (uint64_t)(*c->p++ - '0');
	}
	return v;
}

static bool is_digits(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] < '0' || p[i] > '9')
			return false;
	return true;
}

/* RFC 3339 §5.6 date-time in UTC with milliseconds: YYYY-MM-DDTHH:MM:SS.mmmZ. */
static void check_ts(const char *ts, size_t n)
{
	CHECK(n == 24);
	CHECK(is_digits(ts, 4) && ts[4] == '-' && is_digits(ts + 5, 2) && ts[7] == '-' &&
	      is_digits(ts + 8, 2) && ts[10] == 'T' && is_digits(ts + 11, 2) && ts[13] == ':' &&
	      is_digits(ts + 14, 2) && ts[16] == ':' && is_digits(ts + 17, 2) && ts[19] == '.' &&
	      is_digits(ts + 20, 3) && ts[23] == 'Z');
}

static void check_line(const char *line, size_t len, const struct want *want, size_t n_want)
{
	static char value[LOG_JSON_LINE_MAX];
	struct cursor c = {line, line + len - 1};

	CHECK(len >= 2 && len <= LOG_JSON_LINE_MAX);
	CHECK(line[len - 1] == '\n' && memchr(line, '\n', len - 1) == NULL);
	CHECK(peek(&c) == '{');
	c.p++;
	CHECK(parse_string(&c, value, sizeof(value)) == 2 && memcmp(value, "ts", 2) == 0);
	CHECK(peek(&c) == ':');
	c.p++;
	check_ts(value, parse_string(&c, value, sizeof(value)));
	for (size_t i = 0; i < n_want; i++) {
		const struct want *w = &want[i];
		CHECK(peek(&c) == ',');
		c.p++;
		size_t n = parse_string(&c, value, sizeof(value));
		CHECK(n == strlen(w->name) && memcmp(value, w->name, n) == 0);
		CHECK(peek(&c) == ':');
		c.p++;
		if (w->is_string) {
			n = parse_string(&c, value, sizeof(value));
			CHECK(n == w->len && (n == 0 || memcmp(value, w->bytes, n) == 0));
		} else {
			CHECK(parse_uint(&c) == w->number);
		}
	}
	CHECK(peek(&c) == '}');
	c.p++;
	CHECK(c.p == c.end);
}

/* Wrapping decimal with an optional '-': any bytes give some number. */
static int64_t to_number(const char *p, size_t n)
{
	uint64_t v = 0;
	bool neg = n > 0 && p[0] == '-';
	for (size_t i = neg; i < n; i++)
		v = v * 10 + (uint64_t)(unsigned char)(p[i] - '0') % 10;
	return (int64_t)(neg ? 0 - v : v);
}

static struct want want_str(const char *name, const char *bytes, size_t len, size_t cap)
{
	return (struct want){name, true, bytes, len < cap ? len : cap, 0};
}

static struct want want_num(const char *name, uint64_t v)
{
	return (struct want){name, false, NULL, 0, v};
}

/* Formats a record from the n_in split fields (copy[i] holds in[i] plus a NUL) and checks the
 * line. */
static void format_and_check(const struct slice *in, char *const *copy, size_t n_in)
{
	static char line[LOG_JSON_LINE_MAX];
	struct slice method = slice_make(copy[F_METHOD], in[F_METHOD].len);
	struct slice host = slice_make(copy[F_HOST], in[F_HOST].len);
	struct log_record rec = {
	    .ts_ms = to_number(in[F_TS].ptr, in[F_TS].len),
	    .client = copy[F_CLIENT],
	    .agent = n_in > F_AGENT ? copy[F_AGENT] : NULL,
	    .method = method,
	    .host = host,
	    .port = (unsigned)to_number(in[F_PORT].ptr, in[F_PORT].len),
	    .decision = copy[F_DECISION],
	    .reason = copy[F_REASON],
	    .rule = copy[F_RULE],
	    .ip = copy[F_IP],
	    .status = (int)(int32_t)to_number(in[F_STATUS].ptr, in[F_STATUS].len),
	    .bytes_up = (uint64_t)to_number(in[F_BYTES_UP].ptr, in[F_BYTES_UP].len),
	    .bytes_down = (uint64_t)to_number(in[F_BYTES_DOWN].ptr, in[F_BYTES_DOWN].len),
	    .duration_ms = (uint64_t)to_number(in[F_DURATION].ptr, in[F_DURATION].len),
	    .id = (uint64_t)to_number(in[F_ID].ptr, in[F_ID].len),
	    .event = in[F_EVENT].len > 0 ? LOG_EVENT_OPEN : LOG_EVENT_END,
	    .path = slice_make(copy[F_PATH], in[F_PATH].len),
	    .host_raw = slice_make(copy[F_HOST_RAW], in[F_HOST_RAW].len),
	    .user = slice_make(copy[F_USER], in[F_USER].len),
	};
	struct want want[19] = {
	    want_str("client", rec.client, strlen(rec.client), 64),
	    rec.agent ? want_str("agent", rec.agent, strlen(rec.agent), 64)
		      : want_str("agent", "", 0, 64),
	    want_str("method", method.ptr, method.len, 32),
	    want_str("host", host.ptr, host.len, 253),
	    want_num("port", rec.port),
	    want_str("decision", rec.decision, strlen(rec.decision), 16),
	    want_str("reason", rec.reason, strlen(rec.reason), 40),
	    want_str("rule", rec.rule, strlen(rec.rule), 300),
	    want_str("ip", rec.ip, strlen(rec.ip), 48),
	    want_num("status", rec.status > 0 ? (uint64_t)rec.status : 0),
	    want_num("bytes_up", rec.bytes_up),
	    want_num("bytes_down", rec.bytes_down),
	    want_num("duration_ms", rec.duration_ms),
	    want_num("id", rec.id),
	    rec.event == LOG_EVENT_OPEN ? want_str("event", "open", 4, 16)
					: want_str("event", "end", 3, 16),
	};
	size_t n_want = 15;
	if (rec.path.len > 0)
		want[n_want++] = want_str("path", rec.path.ptr, rec.path.len, LOG_JSON_PATH_MAX);
	if (rec.host_raw.len > 0)
		want[n_want++] =
		    want_str("host_raw", rec.host_raw.ptr, rec.host_raw.len, LOG_JSON_HOST_MAX);
	if (rec.user.len > 0)
		want[n_want++] = want_str("user", rec.user.ptr, rec.user.len, LOG_JSON_USER_MAX);
	size_t len = log_json_format(&rec, line);
	check_line(line, len, want, n_want);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct slice in[N_INPUT] = {{0}};
	char *copy[N_INPUT] = {0};
	size_t start = 0, k = 0;
	bool ok = true;

	for (size_t i = 0; i <= size && k < N_INPUT; i++) {
		if (i == size || data[i] == '|') {
			in[k++] = slice_make((const char *)data + start, i - start);
			start = i + 1;
		}
	}
	/* Exact-size heap copies, so that reading one byte past a field is caught; C-string fields
	 * get their NUL (an embedded NUL ends them early, as it would in sluice). */
	for (size_t i = 0; i < N_INPUT && ok; i++) {
		copy[i] = malloc(in[i].len + 1);
		ok = copy[i] != NULL;
		if (ok && in[i].len)
			memcpy(copy[i], in[i].ptr, in[i].len);
		if (ok)
			copy[i][in[i].len] = '\0';
	}
	if (ok)
		format_and_check(in, copy, k);
	for (size_t i = 0; i < N_INPUT; i++)
		free(copy[i]);
	return 0;
}
