#include "emit/log_json.h"
#include "base/utc_time.h"

#include <inttypes.h>
#include <stdio.h>
#include <time.h>

struct out_buf {
	char *p;
	size_t len, cap;
};

static void out_raw(struct out_buf *o, const char *s, size_t n)
{
	if (n > o->cap - o->len)
		n = o->cap - o->len;
	memcpy(o->p + o->len, s, n);
	o->len += n;
}

static void out_cstr(struct out_buf *o, const char *s)
{
	out_raw(o, s, strlen(s));
}

/* Escapes into JSON; bytes >= 0x80 are written as \u00XX so that the line is valid JSON (and
 * valid UTF-8) whatever the client sent. Fields are capped to keep one line bounded. */
static bool json_plain(unsigned char c)
{
	return c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
}

/* A run of bytes that need no escape goes out in one copy: most fields are all plain, and
 * this runs a dozen times for every request. */
static void out_json_chars(struct out_buf *o, struct slice s)
{
	static const char hex[] = "0123456789abcdef";
	char esc[6] = {'\\', 'u', '0', '0', 0, 0};

	for (size_t i = 0; i < s.len;) {
		size_t run = i;
		while (run < s.len && json_plain((unsigned char)s.ptr[run]))
			run++;
		out_raw(o, s.ptr + i, run - i);
		if (run == s.len)
			return;
		unsigned char c = (unsigned char)s.ptr[run];
		if (c == '"' || c == '\\') {
			char two[2] = {'\\', (char)c};
			out_raw(o, two, 2);
		} else {
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			out_raw(o, esc, 6);
		}
		i = run + 1;
	}
}

static void out_json_string(struct out_buf *o, struct slice s, size_t max)
{
	out_raw(o, "\"", 1);
	if (s.len > max)
		s.len = max;
	out_json_chars(o, s);
	out_raw(o, "\"", 1);
}

static void out_field_str(struct out_buf *o, const char *name, struct slice value, size_t max)
{
	out_cstr(o, ",\"");
	out_cstr(o, name);
	out_cstr(o, "\":");
	out_json_string(o, value, max);
}

static void out_field_u64(struct out_buf *o, const char *name, uint64_t value)
{
	char digits[20]; /* UINT64_MAX has 20 */
	size_t n = sizeof(digits);

	do {
		digits[--n] = (char)('0' + value % 10);
		value /= 10;
	} while (value > 0);
	out_cstr(o, ",\"");
	out_cstr(o, name);
	out_cstr(o, "\":");
	out_raw(o, digits + n, sizeof(digits) - n);
}

/* 9999-12-31T23:59:59.999Z, the last instant RFC 3339 §5.6 can write. */
#define LOG_JSON_TS_MAX_MS INT64_C(253402300799999)

static char *put_digits(char *p, unsigned value, int width)
{
	for (int i = width - 1; i >= 0; i--) {
		p[i] = (char)('0' + value % 10);
		value /= 10;
	}
	return p + width;
}

/* Written by hand: snprintf and gmtime_r took a tenth of a request's instructions. */
static void out_timestamp(struct out_buf *o, int64_t ts_ms)
{
	char ts[40], *p = ts;
	unsigned year, month, day;

	/* RFC 3339 §5.6: a four-digit year and no sign. A clock outside 1970..9999 is clamped so
	 * that the line stays valid. */
	if (ts_ms < 0)
		ts_ms = 0;
	else if (ts_ms > LOG_JSON_TS_MAX_MS)
		ts_ms = LOG_JSON_TS_MAX_MS;
	int64_t secs = ts_ms / 1000;
	unsigned sod = (unsigned)(secs % 86400);
	utc_civil_from_days(secs / 86400, &year, &month, &day);
	memcpy(p, "{\"ts\":\"", 7);
	p = put_digits(p + 7, year, 4);
	*p++ = '-';
	p = put_digits(p, month, 2);
	*p++ = '-';
	p = put_digits(p, day, 2);
	*p++ = 'T';
	p = put_digits(p, sod / 3600, 2);
	*p++ = ':';
	p = put_digits(p, sod / 60 % 60, 2);
	*p++ = ':';
	p = put_digits(p, sod % 60, 2);
	*p++ = '.';
	p = put_digits(p, (unsigned)(ts_ms % 1000), 3);
	memcpy(p, "Z\"", 2);
	out_raw(o, ts, (size_t)(p + 2 - ts));
}

/* Caps of the other string fields. */
#define LOG_JSON_CLIENT_MAX 64
#define LOG_JSON_AGENT_MAX 64
#define LOG_JSON_METHOD_MAX 32
#define LOG_JSON_DECISION_MAX 16
#define LOG_JSON_REASON_MAX 40
#define LOG_JSON_RULE_MAX 300
#define LOG_JSON_IP_MAX 48
#define LOG_JSON_ENDED_MAX 32 /* "upstream/forwarding": a token, '/', a state name */

/* Every capped byte escaped six-fold (\u00XX), plus 1 KiB for the names, quotes, commas, the
 * timestamp, six 20-digit numbers and "open": the line always fits, so it is never cut inside a
 * string. */
#define LOG_JSON_CAPS_SUM                                                                          \
	(LOG_JSON_CLIENT_MAX + LOG_JSON_AGENT_MAX + LOG_JSON_METHOD_MAX + LOG_JSON_HOST_MAX +      \
	 LOG_JSON_DECISION_MAX + LOG_JSON_REASON_MAX + LOG_JSON_RULE_MAX + LOG_JSON_IP_MAX +       \
	 LOG_JSON_PATH_MAX + LOG_JSON_HOST_MAX + LOG_JSON_USER_MAX + LOG_JSON_ENDED_MAX +          \
	 LOG_JSON_HOST_MAX + LOG_JSON_ALPN_MAX + LOG_JSON_TLS_ERROR_MAX + 16 +                     \
	 LOG_JSON_QUERY_MAX + 64)
_Static_assert(6 * LOG_JSON_CAPS_SUM + 1024 <= LOG_JSON_LINE_MAX,
	       "a log line at its caps does not fit LOG_JSON_LINE_MAX");

static void out_optional_str(struct out_buf *o, const char *name, struct slice value, size_t max)
{
	if (value.len > 0)
		out_field_str(o, name, value, max);
}

size_t log_json_format(const struct log_record *rec, char out[LOG_JSON_LINE_MAX])
{
	/* Reserve room for the closing "}\n" so that truncation never breaks the JSON. */
	struct out_buf o = {out, 0, LOG_JSON_LINE_MAX - 2};

	out_timestamp(&o, rec->ts_ms);
	out_field_str(&o, "client", slice_from_cstr(rec->client), LOG_JSON_CLIENT_MAX);
	out_field_str(&o, "agent", slice_from_cstr(rec->agent ? rec->agent : ""),
		      LOG_JSON_AGENT_MAX);
	out_field_str(&o, "method", rec->method, LOG_JSON_METHOD_MAX);
	out_field_str(&o, "host", rec->host, LOG_JSON_HOST_MAX);
	out_field_u64(&o, "port", rec->port);
	out_field_str(&o, "decision", slice_from_cstr(rec->decision), LOG_JSON_DECISION_MAX);
	out_field_str(&o, "reason", slice_from_cstr(rec->reason), LOG_JSON_REASON_MAX);
	out_field_str(&o, "rule", slice_from_cstr(rec->rule), LOG_JSON_RULE_MAX);
	out_field_str(&o, "ip", slice_from_cstr(rec->ip), LOG_JSON_IP_MAX);
	out_field_u64(&o, "status", (uint64_t)(rec->status > 0 ? rec->status : 0));
	out_field_u64(&o, "bytes_up", rec->bytes_up);
	out_field_u64(&o, "bytes_down", rec->bytes_down);
	out_field_u64(&o, "duration_ms", rec->duration_ms);
	/* After the fourteen original fields: readers of the old order keep working. */
	out_field_u64(&o, "id", rec->id);
	out_cstr(&o, rec->event == LOG_EVENT_OPEN ? ",\"event\":\"open\"" : ",\"event\":\"end\"");
	/* End lines: who ended the request, and in which state, as one field. */
	if (rec->ended_by && rec->ended_in) {
		struct slice by = slice_from_cstr(rec->ended_by),
			     in = slice_from_cstr(rec->ended_in);
		/* Capped like any field, the two parts and the '/' together. */
		if (by.len > LOG_JSON_ENDED_MAX - 1)
			by.len = LOG_JSON_ENDED_MAX - 1;
		if (in.len > LOG_JSON_ENDED_MAX - 1 - by.len)
			in.len = LOG_JSON_ENDED_MAX - 1 - by.len;
		out_cstr(&o, ",\"ended\":\"");
		out_json_chars(&o, by);
		out_raw(&o, "/", 1);
		out_json_chars(&o, in);
		out_raw(&o, "\"", 1);
	}
	out_optional_str(&o, "path", rec->path, LOG_JSON_PATH_MAX);
	out_optional_str(&o, "host_raw", rec->host_raw, LOG_JSON_HOST_MAX);
	out_optional_str(&o, "user", rec->user, LOG_JSON_USER_MAX);
	out_optional_str(&o, "sni", rec->sni, LOG_JSON_HOST_MAX);
	out_optional_str(&o, "alpn", rec->alpn, LOG_JSON_ALPN_MAX);
	if (rec->intercept)
		out_cstr(&o, ",\"intercept\":true");
	if (rec->upstream_cert && rec->upstream_cert[0])
		out_field_str(&o, "upstream_cert", slice_from_cstr(rec->upstream_cert), 16);
	if (rec->upstream_h2)
		out_cstr(&o, ",\"upstream_alpn\":\"h2\"");
	out_optional_str(&o, "tls_error", rec->tls_error, LOG_JSON_TLS_ERROR_MAX);
	if (rec->search_api) {
		out_field_str(&o, "search_api", slice_from_cstr(rec->search_api), 16);
		out_optional_str(&o, "query", rec->search_query, LOG_JSON_QUERY_MAX);
		if (rec->search_results >= 0)
			out_field_u64(&o, "results", (uint64_t)rec->search_results);
		if (rec->searxng_ms >= 0)
			out_field_u64(&o, "searxng_ms", (uint64_t)rec->searxng_ms);
		if (rec->search_cached)
			out_cstr(&o, ",\"cached\":true");
	}
	if (rec->approval) {
		out_field_str(&o, "approval", slice_from_cstr(rec->approval), 16);
		out_field_u64(&o, "held_ms", rec->held_ms);
	}
	o.cap += 2;
	out_raw(&o, "}\n", 2);
	return o.len;
}

#define LOG_JSON_TYPE_MAX 16 /* "TYPE65535" */
#define LOG_JSON_RCODE_MAX 16

/* Every DNS field fully escaped (6 bytes a byte), and 256 bytes of names and punctuation. */
_Static_assert(6 * (LOG_JSON_CLIENT_MAX + LOG_JSON_AGENT_MAX + LOG_JSON_HOST_MAX +
		    LOG_JSON_TYPE_MAX + 2 * LOG_JSON_DECISION_MAX + LOG_JSON_REASON_MAX +
		    LOG_JSON_RULE_MAX + LOG_JSON_RCODE_MAX + 16 /* approval */ +
		    LOG_JSON_DNS_ANSWERS_MAX * LOG_JSON_IP_MAX) +
		       256 + LOG_JSON_DNS_ANSWERS_MAX * 3 <
		   LOG_JSON_LINE_MAX,
	       "a DNS line may not fit LOG_JSON_LINE_MAX");

size_t log_json_format_dns(const struct log_dns_record *rec, char out[LOG_JSON_LINE_MAX])
{
	struct out_buf o = {out, 0, LOG_JSON_LINE_MAX - 2};

	out_timestamp(&o, rec->ts_ms);
	out_field_str(&o, "client", slice_from_cstr(rec->client), LOG_JSON_CLIENT_MAX);
	out_field_str(&o, "agent", slice_from_cstr(rec->agent ? rec->agent : ""),
		      LOG_JSON_AGENT_MAX);
	out_cstr(&o, ",\"kind\":\"dns\"");
	out_field_str(&o, "name", rec->name, LOG_JSON_HOST_MAX);
	out_field_str(&o, "type", slice_from_cstr(rec->type), LOG_JSON_TYPE_MAX);
	out_field_str(&o, "decision", slice_from_cstr(rec->decision), LOG_JSON_DECISION_MAX);
	out_field_str(&o, "reason", slice_from_cstr(rec->reason), LOG_JSON_REASON_MAX);
	out_field_str(&o, "rule", slice_from_cstr(rec->rule), LOG_JSON_RULE_MAX);
	out_field_str(&o, "rcode", slice_from_cstr(rec->rcode), LOG_JSON_RCODE_MAX);
	out_cstr(&o, ",\"answers\":[");
	for (unsigned i = 0; i < rec->n_answers && i < LOG_JSON_DNS_ANSWERS_MAX; i++) {
		if (i > 0)
			out_raw(&o, ",", 1);
		out_json_string(&o, slice_from_cstr(rec->answers[i]), LOG_JSON_IP_MAX);
	}
	out_raw(&o, "]", 1);
	if (rec->truncated)
		out_cstr(&o, ",\"truncated\":true");
	out_field_str(&o, "transport", slice_from_cstr(rec->transport), LOG_JSON_DECISION_MAX);
	if (rec->approval) {
		out_field_str(&o, "approval", slice_from_cstr(rec->approval), 16);
		out_field_u64(&o, "held_ms", rec->held_ms);
	}
	out_field_u64(&o, "duration_ms", rec->duration_ms);
	out_field_u64(&o, "id", rec->id);
	o.cap += 2;
	out_raw(&o, "}\n", 2);
	return o.len;
}
