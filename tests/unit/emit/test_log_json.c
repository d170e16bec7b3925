/* Tests src/emit/log_json.c: one line of valid JSON with the documented fields in order, whatever
 * bytes the client sent; RFC 3339 UTC timestamps with milliseconds; capped fields; the agent's
 * name right after the client, "" when none was identified; id and event after the fourteen
 * original fields; ended on end lines; path, host_raw and user only when set. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/hex.h"
#include "emit/log_json.h"

static const char *const field_names[] = {
    "ts",    "client", "agent",	   "method",   "host",	     "port",	    "decision", "reason",
    "rule",  "ip",     "status",   "bytes_up", "bytes_down", "duration_ms", "id",	"event",
    "ended", "path",   "host_raw", "user",     "sni",	     "alpn",
};
#define N_FIELDS (sizeof(field_names) / sizeof(field_names[0]))
/* Every line has the first N_ALWAYS fields; the rest only when set, in this order. */
#define N_ALWAYS 16

/* One parsed line: each value as raw JSON text, strings decoded. */
struct parsed {
	char value[N_FIELDS][2048];
	size_t value_len[N_FIELDS];
	bool is_string[N_FIELDS];
	bool present[N_FIELDS];
};

struct cursor {
	const char *p, *end;
};

static int peek(const struct cursor *c)
{
	return c->p < c->end ? (unsigned char)*c->p : -1;
}

/* RFC 8259 §7 string; decodes \u00XX to one byte (the formatter only emits those). */
static bool parse_string(struct cursor *c, char *out, size_t cap, size_t *out_len)
{
	size_t n = 0;
	if (peek(c) != '"')
		return false;
	c->p++;
	for (;;) {
		int ch = peek(c);
		if (ch < 0x20 || ch >= 0x7f) /* raw control or non-ASCII byte (or end) */
			return false;
		c->p++;
		if (ch == '"')
			break;
		if (ch == '\\') {
			ch = peek(c);
			c->p++;
			if (ch == 'u') {
				if (c->end - c->p < 4)
					return false;
				int v = 0;
				for (int i = 0; i < 4; i++) {
					int h = hex_value((unsigned char)c->p[i]);
					if (h < 0)
						return false;
					v = v * 16 + h;
				}
				c->p += 4;
				if (v > 0xff)
					return false;
				ch = v;
			} else if (ch == '"' || ch == '\\' || ch == '/') {
			} else if (ch == 'n' || ch == 'r' || ch == 't' || ch == 'b' || ch == 'f') {
				ch = ch == 'n'	 ? '\n'
				     : ch == 'r' ? '\r'
				     : ch == 't' ? '\t'
				     : ch == 'b' ? '\b'
						 : '\f';
			} else {
				return false;
			}
		}
		if (n + 1 >= cap)
			return false;
		out[n++] = (char)ch;
	}
	out[n] = '\0';
	*out_len = n;
	return true;
}

static bool parse_uint(struct cursor *c, char *out, size_t cap, size_t *out_len)
{
	size_t n = 0;
	if (peek(c) < '0' || peek(c) > '9')
		return false;
	if (peek(c) == '0' && c->end - c->p > 1 && c->p[1] >= '0' && c->p[1] <= '9')
		return false; /* RFC 8259 §6: no leading zeros */
	while (peek(c) >= '0' && peek(c) <= '9') {
		if (n + 1 >= cap)
			return false;
		out[n++] = *c->p++;
	}
	out[n] = '\0';
	*out_len = n;
	return true;
}

static void parse_value(struct cursor *c, const char *line, size_t i, struct parsed *out)
{
	assert_int_equal(peek(c), ':');
	c->p++;
	out->present[i] = true;
	out->is_string[i] = peek(c) == '"';
	bool ok = out->is_string[i]
		      ? parse_string(c, out->value[i], sizeof(out->value[i]), &out->value_len[i])
		      : parse_uint(c, out->value[i], sizeof(out->value[i]), &out->value_len[i]);
	if (!ok)
		fail_msg("field %s: bad JSON value at offset %td", field_names[i], c->p - line);
}

/* The whole line must be {"ts":...,...,"event":"..."[,optional fields in order]}\n, nothing
 * else. */
static void parse_line(const char *line, size_t len, struct parsed *out)
{
	struct cursor c = {line, line + len};
	char name[64];
	size_t name_len, next = N_ALWAYS;

	memset(out->present, 0, sizeof(out->present));
	assert_true(len >= 2);
	assert_int_equal(line[len - 1], '\n');
	assert_null(memchr(line, '\n', len - 1));
	c.end--;
	assert_int_equal(peek(&c), '{');
	c.p++;
	for (size_t i = 0; i < N_ALWAYS; i++) {
		if (i > 0) {
			assert_int_equal(peek(&c), ',');
			c.p++;
		}
		assert_true(parse_string(&c, name, sizeof(name), &name_len));
		assert_string_equal(name, field_names[i]);
		parse_value(&c, line, i, out);
	}
	while (peek(&c) == ',') {
		c.p++;
		assert_true(parse_string(&c, name, sizeof(name), &name_len));
		while (next < N_FIELDS && strcmp(name, field_names[next]) != 0)
			next++;
		if (next == N_FIELDS)
			fail_msg("unexpected or out-of-order field %s", name);
		parse_value(&c, line, next++, out);
	}
	assert_int_equal(peek(&c), '}');
	c.p++;
	assert_ptr_equal(c.p, c.end);
}

enum {
	F_TS,
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
	F_ID,
	F_EVENT,
	F_ENDED,
	F_PATH,
	F_HOST_RAW,
	F_USER,
	F_SNI,
	F_ALPN,
};

static struct log_record sample(void)
{
	return (struct log_record){
	    .ts_ms = 1700000000123,
	    .client = "127.0.0.1:51234",
	    .agent = "ci-runner",
	    .method = SLICE_LIT("CONNECT"),
	    .host = SLICE_LIT("example.com"),
	    .port = 443,
	    .decision = "allow",
	    .reason = "allowed",
	    .rule = "allow: *.example.com",
	    .ip = "93.184.215.14",
	    .status = 200,
	    .bytes_up = 517,
	    .bytes_down = 4242,
	    .duration_ms = 87,
	    .id = 42,
	};
}

static size_t format(const struct log_record *rec, char *line, struct parsed *p)
{
	size_t len = log_json_format(rec, line);
	assert_true(len > 0 && len <= LOG_JSON_LINE_MAX);
	parse_line(line, len, p);
	return len;
}

static char line[LOG_JSON_LINE_MAX];
static struct parsed parsed;

static void test_exact_line(void **state)
{
	struct log_record rec = sample();
	size_t len = log_json_format(&rec, line);
	const char *want =
	    "{\"ts\":\"2023-11-14T22:13:20.123Z\",\"client\":\"127.0.0.1:51234\","
	    "\"agent\":\"ci-runner\",\"method\":\"CONNECT\",\"host\":\"example.com\","
	    "\"port\":443,\"decision\":\"allow\","
	    "\"reason\":\"allowed\",\"rule\":\"allow: *.example.com\",\"ip\":\"93.184.215.14\","
	    "\"status\":200,\"bytes_up\":517,\"bytes_down\":4242,\"duration_ms\":87,"
	    "\"id\":42,\"event\":\"end\"}\n";
	assert_int_equal(len, strlen(want));
	assert_memory_equal(line, want, len);
}

/* A DNS line, and a held query's approval and held_ms after its transport. */
static void test_dns_line(void **state)
{
	struct log_dns_record rec = {
	    .ts_ms = 1700000000123,
	    .client = "10.1.0.7:53211",
	    .agent = "research",
	    .name = SLICE_LIT("pypi.org"),
	    .type = "A",
	    .decision = "allow",
	    .reason = "allowed",
	    .rule = "approved once: pypi.org by alice",
	    .rcode = "NOERROR",
	    .transport = "udp",
	    .answers = {"192.0.2.1"},
	    .n_answers = 1,
	    .duration_ms = 1500,
	    .id = 7,
	};
	const char *head = "{\"ts\":\"2023-11-14T22:13:20.123Z\",\"client\":\"10.1.0.7:53211\","
			   "\"agent\":\"research\",\"kind\":\"dns\",\"name\":\"pypi.org\","
			   "\"type\":\"A\",\"decision\":\"allow\",\"reason\":\"allowed\","
			   "\"rule\":\"approved once: pypi.org by alice\",\"rcode\":\"NOERROR\","
			   "\"answers\":[\"192.0.2.1\"],\"transport\":\"udp\",";
	char want[512];

	size_t len = log_json_format_dns(&rec, line);
	snprintf(want, sizeof(want), "%s\"duration_ms\":1500,\"id\":7}\n", head);
	assert_int_equal(len, strlen(want));
	assert_memory_equal(line, want, len);
	rec.approval = "once";
	rec.held_ms = 1498;
	len = log_json_format_dns(&rec, line);
	snprintf(want, sizeof(want),
		 "%s\"approval\":\"once\",\"held_ms\":1498,\"duration_ms\":1500,\"id\":7}\n", head);
	assert_int_equal(len, strlen(want));
	assert_memory_equal(line, want, len);
}

/* A tunnel's open line differs from its end line in event only (the caller fills the rest). */
static void test_open_line(void **state)
{
	struct log_record rec = sample();
	rec.event = LOG_EVENT_OPEN;
	size_t len = log_json_format(&rec, line);
	static const char tail[] = ",\"id\":42,\"event\":\"open\"}\n";
	assert_true(len > sizeof(tail));
	assert_memory_equal(line + len - (sizeof(tail) - 1), tail, sizeof(tail) - 1);
}

static void test_optional_fields_in_order(void **state)
{
	struct log_record rec = sample();
	rec.method = SLICE_LIT("GET");
	rec.host = SLICE_LIT("169.254.169.254");
	rec.path = SLICE_LIT("/latest/meta-data/");
	rec.host_raw = SLICE_LIT("2852039166");
	rec.user = SLICE_LIT("coder");
	size_t len = log_json_format(&rec, line);
	static const char tail[] = ",\"id\":42,\"event\":\"end\",\"path\":\"/latest/meta-data/\","
				   "\"host_raw\":\"2852039166\",\"user\":\"coder\"}\n";
	assert_true(len > sizeof(tail));
	assert_memory_equal(line + len - (sizeof(tail) - 1), tail, sizeof(tail) - 1);
	format(&rec, line, &parsed);
	assert_true(parsed.present[F_PATH] && parsed.present[F_HOST_RAW] && parsed.present[F_USER]);
}

/* A tunnel's line carries its ClientHello's SNI and ALPN, last. */
static void test_sni_and_alpn_last(void **state)
{
	struct log_record rec = sample();
	rec.sni = SLICE_LIT("api.example.com");
	rec.alpn = SLICE_LIT("h2,http/1.1");
	size_t len = log_json_format(&rec, line);
	static const char tail[] = ",\"sni\":\"api.example.com\",\"alpn\":\"h2,http/1.1\"}\n";
	assert_true(len > sizeof(tail));
	assert_memory_equal(line + len - (sizeof(tail) - 1), tail, sizeof(tail) - 1);
	format(&rec, line, &parsed);
	assert_true(parsed.present[F_SNI] && parsed.present[F_ALPN]);
	assert_string_equal(parsed.value[F_SNI], "api.example.com");
}

/* An intercepted line: intercept, the origin's certificate and protocol, then tls_error. */
static void test_intercepted_tail(void **state)
{
	struct log_record rec = sample();
	rec.alpn = SLICE_LIT("h2");
	rec.intercept = true;
	rec.upstream_cert = "verified";
	rec.upstream_h2 = true;
	size_t len = log_json_format(&rec, line);
	static const char tail[] =
	    ",\"alpn\":\"h2\",\"intercept\":true,\"upstream_cert\":\"verified\","
	    "\"upstream_alpn\":\"h2\"}\n";
	assert_true(len > sizeof(tail));
	assert_memory_equal(line + len - (sizeof(tail) - 1), tail, sizeof(tail) - 1);
	rec.upstream_h2 = false;
	len = log_json_format(&rec, line);
	line[len] = '\0';
	assert_null(strstr(line, "upstream_alpn"));
}

/* An end line says who ended the request and in which state, as one field after event. */
static void test_ended_on_end_lines(void **state)
{
	struct log_record rec = sample();
	rec.ended_by = "upstream";
	rec.ended_in = "forwarding";
	rec.path = SLICE_LIT("/");
	size_t len = log_json_format(&rec, line);
	static const char tail[] =
	    ",\"id\":42,\"event\":\"end\",\"ended\":\"upstream/forwarding\",\"path\":\"/\"}\n";
	assert_true(len > sizeof(tail));
	assert_memory_equal(line + len - (sizeof(tail) - 1), tail, sizeof(tail) - 1);
	format(&rec, line, &parsed);
	assert_string_equal(parsed.value[F_ENDED], "upstream/forwarding");
	/* The longest pair the tokens make fits whole. */
	rec.ended_by = "shutdown";
	rec.ended_in = "connecting";
	format(&rec, line, &parsed);
	assert_string_equal(parsed.value[F_ENDED], "shutdown/connecting");
	/* Without both halves (an open line), no field. */
	rec.ended_in = NULL;
	format(&rec, line, &parsed);
	assert_false(parsed.present[F_ENDED]);
}

static void test_optional_fields_absent_when_empty(void **state)
{
	struct log_record rec = sample();
	rec.path = slice_make("/", 0);
	format(&rec, line, &parsed);
	assert_false(parsed.present[F_PATH]);
	assert_false(parsed.present[F_HOST_RAW]);
	assert_false(parsed.present[F_USER]);
	rec.host_raw = SLICE_LIT("Example.COM");
	format(&rec, line, &parsed);
	assert_false(parsed.present[F_PATH]);
	assert_true(parsed.present[F_HOST_RAW]);
	assert_string_equal(parsed.value[F_HOST_RAW], "Example.COM");
}

/* A user name is the agent's own bytes: escaped like every string, and cut at 64. */
static void test_user_escaped_and_cut(void **state)
{
	static char big[200];
	struct log_record rec = sample();
	rec.user = SLICE_LIT("a\"b\\c\x01\xff");
	size_t len = format(&rec, line, &parsed);
	assert_int_equal(parsed.value_len[F_USER], 7);
	assert_memory_equal(parsed.value[F_USER], "a\"b\\c\x01\xff", 7);
	static const char want[] = "\"user\":\"a\\\"b\\\\c\\u0001\\u00ff\"";
	assert_non_null(memmem(line, len, want, sizeof(want) - 1));
	memset(big, 'u', sizeof(big));
	rec.user = slice_make(big, sizeof(big));
	format(&rec, line, &parsed);
	assert_int_equal(parsed.value_len[F_USER], LOG_JSON_USER_MAX);
}

static void test_path_cut_at_cap(void **state)
{
	static char big[3000];
	struct log_record rec = sample();
	memset(big, 'p', sizeof(big));
	big[0] = '/';
	rec.path = slice_make(big, sizeof(big));
	format(&rec, line, &parsed);
	assert_int_equal(parsed.value_len[F_PATH], LOG_JSON_PATH_MAX);
	assert_memory_equal(parsed.value[F_PATH], big, LOG_JSON_PATH_MAX);
}

static void test_largest_id(void **state)
{
	struct log_record rec = sample();
	rec.id = UINT64_MAX;
	format(&rec, line, &parsed);
	assert_string_equal(parsed.value[F_ID], "18446744073709551615");
	assert_string_equal(parsed.value[F_EVENT], "end");
}

static void test_field_order_and_types(void **state)
{
	struct log_record rec = sample();
	static const bool want_string[N_FIELDS] = {
	    [F_TS] = true,	 [F_CLIENT] = true,   [F_AGENT] = true,	 [F_METHOD] = true,
	    [F_HOST] = true,	 [F_DECISION] = true, [F_REASON] = true, [F_RULE] = true,
	    [F_IP] = true,	 [F_EVENT] = true,    [F_ENDED] = true,	 [F_PATH] = true,
	    [F_HOST_RAW] = true, [F_USER] = true,     [F_SNI] = true,	 [F_ALPN] = true};
	rec.ended_by = "done";
	rec.ended_in = "forwarding";
	rec.path = SLICE_LIT("/p");
	rec.host_raw = SLICE_LIT("Example.com");
	rec.user = SLICE_LIT("u");
	rec.sni = SLICE_LIT("example.com");
	rec.alpn = SLICE_LIT("h2");
	format(&rec, line, &parsed);
	for (size_t i = 0; i < N_FIELDS; i++) {
		assert_true(parsed.present[i]);
		assert_int_equal(parsed.is_string[i], want_string[i]);
	}
}

static void assert_ts(int64_t ts_ms, const char *want)
{
	struct log_record rec = sample();
	rec.ts_ms = ts_ms;
	format(&rec, line, &parsed);
	assert_string_equal(parsed.value[F_TS], want);
}

static void test_ts_rfc3339_utc_millis(void **state)
{
	assert_ts(0, "1970-01-01T00:00:00.000Z");
	assert_ts(1, "1970-01-01T00:00:00.001Z");
	assert_ts(999, "1970-01-01T00:00:00.999Z");
	assert_ts(951782400999, "2000-02-29T00:00:00.999Z");
	assert_ts(1704067199000, "2023-12-31T23:59:59.000Z");
	assert_ts(4102444800000, "2100-01-01T00:00:00.000Z");
}

/* The hand-written date agrees with gmtime_r across the whole range: every day boundary of the
 * years around each leap rule (1970-1973, 1999-2001, 2099-2101, 2399-2401, 9996-9999), and a
 * spread of instants between. */
static void test_ts_agrees_with_gmtime(void **state)
{
	static const int years[][2] = {
	    {1970, 1974}, {1999, 2002}, {2099, 2102}, {2399, 2402}, {9996, 9999}};
	char want[32];
	uint64_t x = 88172645463325252ull;

	for (size_t r = 0; r < sizeof(years) / sizeof(years[0]); r++) {
		struct tm start = {.tm_year = years[r][0] - 1900, .tm_mday = 1};
		int64_t day0 = (int64_t)timegm(&start) / 86400;
		struct tm end = {.tm_year = years[r][1] - 1900, .tm_mday = 1};
		int64_t day1 = (int64_t)timegm(&end) / 86400;
		for (int64_t d = day0; d <= day1 && d * 86400000 <= 253402300799999; d++) {
			int64_t ms = d * 86400000 + 86399999; /* the last millisecond of the day */
			time_t secs = (time_t)(ms / 1000);
			struct tm tm;
			gmtime_r(&secs, &tm);
			strftime(want, sizeof(want), "%Y-%m-%dT%H:%M:%S.999Z", &tm);
			assert_ts(ms, want);
		}
	}
	for (int i = 0; i < 20000; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		int64_t ms = (int64_t)(x % 253402300800000ull);
		time_t secs = (time_t)(ms / 1000);
		struct tm tm;
		gmtime_r(&secs, &tm);
		size_t n = strftime(want, sizeof(want), "%Y-%m-%dT%H:%M:%S", &tm);
		snprintf(want + n, sizeof(want) - n, ".%03dZ", (int)(ms % 1000));
		assert_ts(ms, want);
	}
}

/* A clock outside RFC 3339's years (RFC 3339 §5.6: four-digit year, no sign) still gives a
 * valid, parseable timestamp rather than garbage. */
static void test_ts_out_of_range_clock(void **state)
{
	static const int64_t bad[] = {-1, -1000, INT64_MIN, INT64_MAX, 253402300800000};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct log_record rec = sample();
		rec.ts_ms = bad[i];
		format(&rec, line, &parsed);
		const char *ts = parsed.value[F_TS];
		assert_int_equal(parsed.value_len[F_TS], 24);
		assert_true(ts[4] == '-' && ts[10] == 'T' && ts[19] == '.' && ts[23] == 'Z');
		for (int k = 0; k < 4; k++)
			assert_true(ts[k] >= '0' && ts[k] <= '9');
		for (int k = 20; k < 23; k++)
			assert_true(ts[k] >= '0' && ts[k] <= '9');
	}
	assert_ts(-1, "1970-01-01T00:00:00.000Z");
	assert_ts(INT64_MAX, "9999-12-31T23:59:59.999Z");
}

static void assert_host_round_trips(const char *bytes, size_t n, const char *want_json)
{
	struct log_record rec = sample();
	rec.host = slice_make(bytes, n);
	size_t len = format(&rec, line, &parsed);
	assert_int_equal(parsed.value_len[F_HOST], n);
	assert_memory_equal(parsed.value[F_HOST], bytes, n);
	if (want_json != NULL) {
		const char *at = strstr(line, "\"host\":");
		assert_non_null(at);
		assert_true((size_t)(at - line) < len);
		assert_memory_equal(at + 7, want_json, strlen(want_json));
	}
}

static void test_escapes_quote_and_backslash(void **state)
{
	assert_host_round_trips("a\"b\\c", 5, "\"a\\\"b\\\\c\"");
	assert_host_round_trips("\"\",\"x\":\"", 8, NULL);
}

static void test_escapes_control_bytes(void **state)
{
	assert_host_round_trips("a\nb", 3, "\"a\\u000ab\"");
	assert_host_round_trips("\r\n\t", 3, NULL);
	assert_host_round_trips("x\0y", 3, "\"x\\u0000y\"");
	assert_host_round_trips("\x1f\x7f", 2, NULL);
	char all[32];
	for (int i = 0; i < 32; i++)
		all[i] = (char)i;
	assert_host_round_trips(all, sizeof(all), NULL);
}

static void test_escapes_high_bytes(void **state)
{
	assert_host_round_trips("\xff", 1, "\"\\u00ff\"");
	assert_host_round_trips("caf\xc3\xa9", 5, NULL);      /* valid UTF-8 */
	assert_host_round_trips("\xc3\x28\xa0\xa1", 4, NULL); /* invalid UTF-8 */
	char all[128];
	for (int i = 0; i < 128; i++)
		all[i] = (char)(0x80 + i);
	assert_host_round_trips(all, sizeof(all), NULL);
}

static void test_hostile_method_and_c_string_fields(void **state)
{
	struct log_record rec = sample();
	rec.method = SLICE_LIT("G\"E\nT\x80");
	rec.client = "\"}\n{\"x\":1";
	rec.agent = "\",\"agent\":\"root";
	rec.rule = "deny: \\\"\x01";
	rec.ip = "\xfe\xff";
	rec.decision = "\n";
	rec.reason = "\"";
	format(&rec, line, &parsed);
	assert_string_equal(parsed.value[F_METHOD], "G\"E\nT\x80");
	assert_string_equal(parsed.value[F_CLIENT], "\"}\n{\"x\":1");
	assert_string_equal(parsed.value[F_AGENT], "\",\"agent\":\"root");
	assert_string_equal(parsed.value[F_RULE], "deny: \\\"\x01");
	assert_string_equal(parsed.value[F_IP], "\xfe\xff");
	assert_string_equal(parsed.value[F_DECISION], "\n");
	assert_string_equal(parsed.value[F_REASON], "\"");
}

/* The JSON text written for the agent field, from its opening quote to the closing one. */
static void assert_agent_json(const char *agent, const char *want_json)
{
	struct log_record rec = sample();
	rec.agent = agent;
	size_t len = format(&rec, line, &parsed);
	const char *prefix = ",\"client\":\"127.0.0.1:51234\",\"agent\":";
	const char *at = strstr(line, prefix);
	assert_non_null(at);
	at += strlen(prefix);
	size_t n = strlen(want_json);
	assert_true((size_t)(at - line) + n < len);
	assert_memory_equal(at, want_json, n);
	assert_memory_equal(at + n, ",\"method\":", 10);
}

/* No identified agent (NULL) is written as "", exactly like an empty name, and the field is
 * still there: consumers rely on every line having every field in the same place. */
static void test_agent_null_is_empty_string(void **state)
{
	assert_agent_json(NULL, "\"\"");
	assert_int_equal(parsed.value_len[F_AGENT], 0);
	assert_true(parsed.is_string[F_AGENT]);
	assert_agent_json("", "\"\"");
	assert_int_equal(parsed.value_len[F_AGENT], 0);
}

/* The agent name comes from configuration or proxy credentials, so a hostile one must not be
 * able to forge fields or lines (RFC 8259 §7). */
static void test_agent_hostile_name_is_escaped(void **state)
{
	assert_agent_json("\"}\n{\"decision\":\"allow\"",
			  "\"\\\"}\\u000a{\\\"decision\\\":\\\"allow\\\"\"");
	assert_string_equal(parsed.value[F_AGENT], "\"}\n{\"decision\":\"allow\"");
	assert_string_equal(parsed.value[F_DECISION], "allow");
	assert_agent_json("a\\b", "\"a\\\\b\"");
	assert_agent_json("\x1b[31mred\r", "\"\\u001b[31mred\\u000d\"");
	assert_agent_json("\x7f\xff\xe2\x80\xa8", "\"\\u007f\\u00ff\\u00e2\\u0080\\u00a8\"");
	assert_string_equal(parsed.value[F_AGENT], "\x7f\xff\xe2\x80\xa8");
}

/* The agent name is cut at 64 input bytes, like client: a prefix, never more. */
static void test_agent_cut_at_64(void **state)
{
	static const size_t lens[] = {63, 64, 65, 1000};
	char name[1001];
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		for (size_t k = 0; k < lens[i]; k++)
			name[k] = (char)('a' + k % 26);
		name[lens[i]] = '\0';
		struct log_record rec = sample();
		rec.agent = name;
		format(&rec, line, &parsed);
		size_t want = lens[i] < 64 ? lens[i] : 64;
		assert_int_equal(parsed.value_len[F_AGENT], want);
		assert_memory_equal(parsed.value[F_AGENT], name, want);
	}
}

/* The cap counts the name's bytes, not the escaped text: 100 bytes that each escape to six
 * characters still give exactly 64 bytes back. */
static void test_agent_cut_counts_bytes_not_escapes(void **state)
{
	char name[101];
	memset(name, 0x80, 100);
	name[100] = '\0';
	struct log_record rec = sample();
	rec.agent = name;
	format(&rec, line, &parsed);
	assert_int_equal(parsed.value_len[F_AGENT], 64);
	assert_memory_equal(parsed.value[F_AGENT], name, 64);
	memset(name, '"', 100);
	format(&rec, line, &parsed);
	assert_int_equal(parsed.value_len[F_AGENT], 64);
	assert_memory_equal(parsed.value[F_AGENT], name, 64);
}

static void test_empty_fields(void **state)
{
	struct log_record rec = sample();
	rec.method = slice_make(NULL, 0);
	rec.host = slice_make(NULL, 0);
	rec.client = "";
	rec.agent = "";
	rec.rule = "";
	rec.ip = "";
	rec.port = 0;
	rec.status = 0;
	format(&rec, line, &parsed);
	assert_int_equal(parsed.value_len[F_CLIENT], 0);
	assert_int_equal(parsed.value_len[F_AGENT], 0);
	assert_int_equal(parsed.value_len[F_METHOD], 0);
	assert_int_equal(parsed.value_len[F_HOST], 0);
	assert_int_equal(parsed.value_len[F_RULE], 0);
	assert_string_equal(parsed.value[F_PORT], "0");
	assert_string_equal(parsed.value[F_STATUS], "0");
}

static void test_negative_status_is_zero(void **state)
{
	struct log_record rec = sample();
	rec.status = -1;
	format(&rec, line, &parsed);
	assert_string_equal(parsed.value[F_STATUS], "0");
}

static void test_largest_numbers(void **state)
{
	struct log_record rec = sample();
	rec.port = 65535;
	rec.bytes_up = UINT64_MAX;
	rec.bytes_down = UINT64_MAX;
	rec.duration_ms = UINT64_MAX;
	format(&rec, line, &parsed);
	assert_string_equal(parsed.value[F_PORT], "65535");
	assert_string_equal(parsed.value[F_BYTES_UP], "18446744073709551615");
	assert_string_equal(parsed.value[F_BYTES_DOWN], "18446744073709551615");
	assert_string_equal(parsed.value[F_DURATION], "18446744073709551615");
}

/* Over-long fields are cut at their cap (a prefix of the input), never the line. */
static void test_over_long_fields_are_cut(void **state)
{
	static char big[6000], big_c[6000];
	struct log_record rec = sample();
	memset(big, 'a', sizeof(big));
	memset(big_c, 'r', sizeof(big_c) - 1);
	big_c[sizeof(big_c) - 1] = '\0';
	rec.host = slice_make(big, sizeof(big));
	rec.method = slice_make(big, sizeof(big));
	rec.rule = big_c;
	rec.client = big_c;
	rec.agent = big_c;
	rec.ip = big_c;
	format(&rec, line, &parsed);
	assert_int_equal(parsed.value_len[F_AGENT], 64);
	assert_memory_equal(parsed.value[F_AGENT], big_c, 64);
	assert_int_equal(parsed.value_len[F_HOST], 253);
	assert_true(parsed.value_len[F_METHOD] > 0 && parsed.value_len[F_METHOD] < 100);
	assert_true(parsed.value_len[F_RULE] >= 299 && parsed.value_len[F_RULE] < 1000);
	assert_true(parsed.value_len[F_CLIENT] >= 47 && parsed.value_len[F_CLIENT] < 1000);
	assert_true(parsed.value_len[F_IP] >= 47 && parsed.value_len[F_IP] < 1000);
	assert_memory_equal(parsed.value[F_HOST], big, 253);
}

/* Worst case: every field at its cap and every byte escaped six-fold. */
static void test_worst_case_fits(void **state)
{
	static char big[6000], big_c[6000];
	struct log_record rec = sample();
	memset(big, 0x01, sizeof(big));
	memset(big_c, 0xff, sizeof(big_c) - 1);
	big_c[sizeof(big_c) - 1] = '\0';
	rec.ts_ms = INT64_MAX;
	rec.host = slice_make(big, sizeof(big));
	rec.method = slice_make(big, sizeof(big));
	rec.client = rec.agent = rec.decision = rec.reason = rec.rule = rec.ip = big_c;
	rec.path = rec.host_raw = rec.user = slice_make(big, sizeof(big));
	rec.ended_by = rec.ended_in = big_c;
	rec.port = UINT32_MAX;
	rec.status = INT32_MAX;
	rec.bytes_up = rec.bytes_down = rec.duration_ms = rec.id = UINT64_MAX;
	rec.event = LOG_EVENT_OPEN;
	format(&rec, line, &parsed);
	assert_int_equal(parsed.value_len[F_HOST], 253);
	assert_int_equal(parsed.value_len[F_AGENT], 64);
	assert_int_equal(parsed.value_len[F_PATH], LOG_JSON_PATH_MAX);
	assert_int_equal(parsed.value_len[F_HOST_RAW], LOG_JSON_HOST_MAX);
	assert_int_equal(parsed.value_len[F_USER], LOG_JSON_USER_MAX);
	assert_true(parsed.value_len[F_ENDED] > 0 && parsed.value_len[F_ENDED] <= 32);
	assert_string_equal(parsed.value[F_EVENT], "open");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_exact_line),
	    cmocka_unit_test(test_intercepted_tail),
	    cmocka_unit_test(test_field_order_and_types),
	    cmocka_unit_test(test_ts_rfc3339_utc_millis),
	    cmocka_unit_test(test_ts_agrees_with_gmtime),
	    cmocka_unit_test(test_ts_out_of_range_clock),
	    cmocka_unit_test(test_escapes_quote_and_backslash),
	    cmocka_unit_test(test_escapes_control_bytes),
	    cmocka_unit_test(test_escapes_high_bytes),
	    cmocka_unit_test(test_hostile_method_and_c_string_fields),
	    cmocka_unit_test(test_agent_null_is_empty_string),
	    cmocka_unit_test(test_agent_hostile_name_is_escaped),
	    cmocka_unit_test(test_agent_cut_at_64),
	    cmocka_unit_test(test_agent_cut_counts_bytes_not_escapes),
	    cmocka_unit_test(test_empty_fields),
	    cmocka_unit_test(test_negative_status_is_zero),
	    cmocka_unit_test(test_largest_numbers),
	    cmocka_unit_test(test_over_long_fields_are_cut),
	    cmocka_unit_test(test_worst_case_fits),
	    cmocka_unit_test(test_open_line),
	    cmocka_unit_test(test_optional_fields_in_order),
	    cmocka_unit_test(test_sni_and_alpn_last),
	    cmocka_unit_test(test_ended_on_end_lines),
	    cmocka_unit_test(test_optional_fields_absent_when_empty),
	    cmocka_unit_test(test_user_escaped_and_cut),
	    cmocka_unit_test(test_path_cut_at_cap),
	    cmocka_unit_test(test_largest_id),
	    cmocka_unit_test(test_dns_line),
	};
	return cmocka_run_group_tests_name("log_json", tests, NULL, NULL);
}
