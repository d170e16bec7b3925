/* console: a 100 ms tick moves what the workers logged into the decisions ring and out to every
 * stream's buffer (filtered per stream), each event framed once and copied to every stream that
 * wants it; a stream's buffer is allocated once, and sent from as it fills, so a reader that
 * keeps up costs a copy and a send per 64 KiB; one that does not is told what it missed, and
 * is closed once its buffer stays full, so a slow reader costs its own connection, never the
 * proxy's time. */
#include "io/console.h"

#include <errno.h>
#include <event2/event.h>
#include <event2/event_struct.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/arena.h"
#include "base/hex.h"
#include "base/utc_time.h"
#include "config/config_console.h"
#include "emit/http_reply.h"
#include "emit/json_write.h"
#include "emit/report.h"
#include "io/approval_store.h"
#include "io/census.h"
#include "io/console_assets.h"
#include "io/event_ring.h"
#include "parse/http1.h"
#include "parse/json.h"
#include "parse/log_line.h"
#include "policy/route.h"

#define CONSOLE_TICK_MS 100
#define CONSOLE_KEEPALIVE_MS 15000
#define CONSOLE_STREAM_MAX (1u << 20)	 /* what may wait for one stream before it is dropped */
#define CONSOLE_STREAM_SEND (64u * 1024) /* sent as soon as this much waits */
#define CONSOLE_STREAMS_MAX 32
#define CONSOLE_REPLY_MAX (64u << 20)
#define CONSOLE_FILTER_MAX 254
#define CONSOLE_OPEN_TUNNELS 4096 /* open tunnels tracked for /api/agents */

/* The page may load nothing from elsewhere and be framed by nobody. */
#define CONSOLE_CSP                                                                                \
	"default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "            \
	"img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

struct console_filter {
	char agent[CONSOLE_FILTER_MAX + 1];
	char decision[16];
	char host[CONSOLE_FILTER_MAX + 1];
};

struct console_stream {
	struct console *c;
	struct console_stream *next;
	int fd;
	struct event wr;
	/* what waits to be sent: out[start, end) of CONSOLE_STREAM_MAX bytes, kept for the
	 * stream's life (no allocation per tick) */
	char *out;
	size_t start, end;
	uint64_t skipped; /* decisions not sent (no room, or the ring overrun): said as "dropped" */
	bool overflowed;  /* a decision found no room since the last tick */
	struct console_filter filter;
	uint64_t feed_cursor;
	uint64_t last_write_ms;
};

struct open_tunnel {
	uint64_t id;
	char agent[AGENT_NAME_MAX + 1];
};

struct console {
	struct event_base *base;
	struct event *tick;
	struct approval_store *store;
	struct census *census;
	/* /api/policy: the policy in force, set by the main thread at start and on each reload */
	pthread_mutex_t policy_lock;
	char *policy_text;			 /* redacted (config_redact); NULL: none to show */
	char (*route_hosts)[ROUTE_HOST_MAX + 1]; /* the policy's routes, for /api/suggestions */
	unsigned n_route_hosts;
	uint64_t policy_generation;
	int64_t policy_loaded; /* UTC seconds */
	struct event_ring *rings[CONFIG_MAX_WORKERS];
	struct event_ring_cursor cursors[CONFIG_MAX_WORKERS];
	struct metrics *workers[CONFIG_MAX_WORKERS];
	unsigned n;
	bool open; /* config_console_open */
	bool has_token;
	uint8_t token_sha256[32];
	char *scratch;	  /* EVENT_RING_BYTES, for event_ring_read */
	struct buf frame; /* the SSE event being sent to the streams */
	/* /api/decisions: the last `cap` lines, each malloc'd, oldest at (head - count) */
	char **lines;
	unsigned cap, head, count;
	uint64_t dropped, seq;
	struct console_stream *streams;
	unsigned n_streams;
	struct console_filter next_filter; /* console_handle's, for console_stream */
	uint64_t now_ms;
	struct open_tunnel open_tunnels[CONSOLE_OPEN_TUNNELS];
	unsigned n_open;
};

static uint64_t console_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- lines and filters ----------------------------------------------------------------- */

/* The raw (still escaped) text of a string field of one of our own log lines: every '"' in a
 * value is escaped, so `"key":"` can only be the field itself. */
static struct slice line_field(const char *line, size_t len, const char *key)
{
	char pat[40];
	int n = snprintf(pat, sizeof(pat), "\"%s\":\"", key);
	const char *p = memmem(line, len, pat, (size_t)n);
	if (!p)
		return slice_make("", 0);
	p += n;
	const char *end = line + len, *q = p;
	while (q < end && *q != '"')
		q += *q == '\\' ? 2 : 1;
	return slice_make(p, q <= end ? (size_t)(q - p) : 0);
}

static uint64_t line_id(const char *line, size_t len)
{
	const char *p = memmem(line, len, "\"id\":", 5);
	uint64_t v = 0;
	if (!p)
		return 0;
	for (p += 5; p < line + len && *p >= '0' && *p <= '9'; p++)
		v = v * 10 + (uint64_t)(*p - '0');
	return v;
}

/* host matches the filter's name or any name below it. */
static bool host_matches(struct slice host, const char *want)
{
	size_t n = strlen(want);
	if (host.len == n)
		return memcmp(host.ptr, want, n) == 0;
	return host.len > n && host.ptr[host.len - n - 1] == '.' &&
	       memcmp(host.ptr + host.len - n, want, n) == 0;
}

static bool line_passes(const struct console_filter *f, const char *line, size_t len)
{
	if (f->agent[0] && !slice_eq(line_field(line, len, "agent"), slice_from_cstr(f->agent)))
		return false;
	if (f->decision[0] &&
	    !slice_eq(line_field(line, len, "decision"), slice_from_cstr(f->decision)))
		return false;
	if (f->host[0]) {
		struct slice h = line_field(line, len, "host");
		if (h.len == 0)
			h = line_field(line, len, "name"); /* a DNS line */
		if (!host_matches(h, f->host))
			return false;
	}
	return true;
}

/* "%2e" and "+" in a query value: what a browser's URLSearchParams writes. */
static void query_value(struct slice target, const char *key, char *out, size_t size)
{
	const char *q = memchr(target.ptr, '?', target.len);
	size_t klen = strlen(key);

	out[0] = '\0';
	if (!q)
		return;
	const char *p = q + 1, *end = target.ptr + target.len;
	while (p < end) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		const char *stop = amp ? amp : end;
		if ((size_t)(stop - p) > klen && memcmp(p, key, klen) == 0 && p[klen] == '=') {
			size_t n = 0;
			for (const char *v = p + klen + 1; v < stop && n + 1 < size; v++) {
				int hi, lo;
				if (*v == '%' && stop - v >= 3 && (hi = hex_value(v[1])) >= 0 &&
				    (lo = hex_value(v[2])) >= 0) {
					out[n++] = (char)(hi << 4 | lo);
					v += 2;
				} else {
					out[n++] = *v == '+' ? ' ' : *v;
				}
			}
			out[n] = '\0';
			return;
		}
		p = stop + 1;
	}
}

static void filter_from(struct slice target, struct console_filter *f)
{
	query_value(target, "agent", f->agent, sizeof(f->agent));
	query_value(target, "decision", f->decision, sizeof(f->decision));
	query_value(target, "host", f->host, sizeof(f->host));
	for (char *p = f->host; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
}

/* ---- the tick -------------------------------------------------------------------------- */

static void stream_close(struct console_stream *s)
{
	struct console *c = s->c;
	struct console_stream **pp = &c->streams;

	while (*pp && *pp != s)
		pp = &(*pp)->next;
	if (*pp)
		*pp = s->next;
	c->n_streams--;
	event_del(&s->wr);
	close(s->fd);
	free(s->out);
	free(s);
}

static size_t stream_pending(const struct console_stream *s)
{
	return s->end - s->start;
}

/* Sends what the socket takes now; -1 when the stream is gone (closed by its reader), else 0.
 * Never closes: the tick does (a stream may be sent to from inside a loop over the streams). */
static int stream_send(struct console_stream *s)
{
	while (s->end > s->start) {
		ssize_t n = send(s->fd, s->out + s->start, s->end - s->start, MSG_NOSIGNAL);
		if (n > 0) {
			s->start += (size_t)n;
			s->last_write_ms = s->c->now_ms;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -1;
	}
	s->start = s->end = 0;
	return 0;
}

/* Room for n more bytes at the end: moves what waits to the front, or sends first. */
static bool stream_room(struct console_stream *s, size_t n)
{
	if (CONSOLE_STREAM_MAX - s->end >= n)
		return true;
	if (stream_pending(s) >= CONSOLE_STREAM_SEND)
		stream_send(s);
	if (s->start > 0) {
		memmove(s->out, s->out + s->start, stream_pending(s));
		s->end -= s->start;
		s->start = 0;
	}
	return CONSOLE_STREAM_MAX - s->end >= n;
}

static void stream_put(struct console_stream *s, const char *p, size_t n)
{
	memcpy(s->out + s->end, p, n);
	s->end += n;
}

/* Writes what waits; false when the stream was closed (gone, or too slow: its buffer full and
 * the reader taking nothing). */
static bool stream_flush(struct console_stream *s)
{
	if (stream_send(s) != 0 || (s->overflowed && stream_pending(s) > 0)) {
		stream_close(s);
		return false;
	}
	s->overflowed = false;
	if (stream_pending(s) > 0)
		event_add(&s->wr, NULL);
	return true;
}

static void stream_on_write(evutil_socket_t fd, short what, void *arg)
{
	stream_flush(arg);
}

/* Empties the frame but keeps its memory: it is made again for every decision. */
static void frame_clear(struct buf *frame)
{
	buf_consume_keep(frame, buf_len(frame));
}

/* One SSE event ("event: NAME\nid: N\ndata: ...\n\n") into frame, for every stream alike. */
static void sse_frame(struct buf *frame, const char *name, uint64_t id, const char *data,
		      size_t len)
{
	char head[64];
	int n = id ? snprintf(head, sizeof(head), "event: %s\nid: %llu\ndata: ", name,
			      (unsigned long long)id)
		   : snprintf(head, sizeof(head), "event: %s\ndata: ", name);
	frame_clear(frame);
	if (!buf_append(frame, head, (size_t)n, CONSOLE_STREAM_MAX) ||
	    !buf_append(frame, data, len, CONSOLE_STREAM_MAX) ||
	    !buf_append(frame, "\n\n", 2, CONSOLE_STREAM_MAX))
		frame_clear(frame);
}

/* Queues a framed event; a decision that finds no room is counted, and the next event that
 * fits is preceded by "dropped" with how many (the stream's reader fills the gap from
 * /api/decisions, as the page does). */
static void stream_event(struct console_stream *s, const struct buf *frame, bool decision)
{
	if (s->skipped) {
		char note[80];
		int n = snprintf(note, sizeof(note), "event: dropped\ndata: {\"count\":%llu}\n\n",
				 (unsigned long long)s->skipped);
		if (!stream_room(s, (size_t)n + buf_len(frame)))
			goto full;
		stream_put(s, note, (size_t)n);
		s->skipped = 0;
	}
	if (buf_len(frame) == 0)
		return;
	if (!stream_room(s, buf_len(frame)))
		goto full;
	stream_put(s, buf_head(frame), buf_len(frame));
	if (stream_pending(s) >= CONSOLE_STREAM_SEND)
		stream_send(s);
	return;
full:
	s->skipped += decision;
	s->overflowed |= decision;
}

static void console_track_tunnel(struct console *c, const char *line, size_t len)
{
	struct slice event = line_field(line, len, "event");
	if (!slice_eq(line_field(line, len, "method"), SLICE_LIT("CONNECT")))
		return;
	uint64_t id = line_id(line, len);
	if (slice_eq(event, SLICE_LIT("open"))) {
		if (c->n_open == CONSOLE_OPEN_TUNNELS)
			return;
		struct open_tunnel *t = &c->open_tunnels[c->n_open++];
		struct slice agent = line_field(line, len, "agent");
		size_t n = agent.len < AGENT_NAME_MAX ? agent.len : AGENT_NAME_MAX;
		t->id = id;
		memcpy(t->agent, agent.ptr, n);
		t->agent[n] = '\0';
		return;
	}
	for (unsigned i = 0; i < c->n_open; i++)
		if (c->open_tunnels[i].id == id) {
			c->open_tunnels[i] = c->open_tunnels[--c->n_open];
			return;
		}
}

static void console_take_line(void *arg, const char *line, size_t len)
{
	struct console *c = arg;

	if (len > 0 && line[len - 1] == '\n')
		len--;
	char *copy = malloc(len + 1);
	if (copy) {
		memcpy(copy, line, len);
		copy[len] = '\0';
		if (c->count == c->cap)
			free(c->lines[c->head]);
		else
			c->count++;
		c->lines[c->head] = copy;
		c->head = (c->head + 1) % c->cap;
	}
	c->seq++;
	console_track_tunnel(c, line, len);
	bool framed = false;
	for (struct console_stream *s = c->streams; s; s = s->next)
		if (line_passes(&s->filter, line, len)) {
			if (!framed)
				sse_frame(&c->frame, "decision", c->seq, line, len);
			framed = true;
			stream_event(s, &c->frame, true);
		}
}

/* The store's feed lines ({"event":"pending",...}) as SSE events named by their "event". */
static void stream_feed(struct console *c, struct console_stream *s)
{
	struct buf feed = {0};
	approval_store_feed(c->store, &s->feed_cursor, &feed, 1u << 20);
	const char *p = buf_head(&feed), *end = p + buf_len(&feed);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		struct slice ev = line_field(p, len, "event");
		char name[16];
		snprintf(name, sizeof(name), "%.*s", (int)ev.len, ev.ptr);
		if (!s->filter.agent[0] ||
		    slice_eq(line_field(p, len, "agent"), slice_from_cstr(s->filter.agent))) {
			sse_frame(&c->frame, name, 0, p, len);
			stream_event(s, &c->frame, false);
		}
		p += len + 1;
	}
	buf_release(&feed);
}

static void console_on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct console *c = arg;

	c->now_ms = console_now_ms();
	for (unsigned i = 0; i < c->n; i++) {
		if (!c->rings[i])
			continue;
		uint64_t missed = event_ring_read(c->rings[i], &c->cursors[i], c->scratch,
						  EVENT_RING_BYTES, console_take_line, c);
		if (missed) {
			/* Told to every stream as its next "dropped" event. */
			c->dropped += missed;
			for (struct console_stream *s = c->streams; s; s = s->next)
				s->skipped += missed;
		}
	}
	struct console_stream *next;
	for (struct console_stream *s = c->streams; s; s = next) {
		next = s->next;
		if (c->store)
			stream_feed(c, s);
		if (s->skipped) { /* say it now: no decision may come to carry it */
			frame_clear(&c->frame);
			stream_event(s, &c->frame, false);
		}
		if (stream_pending(s) == 0 && c->now_ms - s->last_write_ms >= CONSOLE_KEEPALIVE_MS)
			stream_put(s, ": keep-alive\n\n", 14);
		stream_flush(s);
	}
}

/* ---- replies --------------------------------------------------------------------------- */

static enum console_outcome reply(struct buf *out, int status, const char *type, const char *extra,
				  const char *body, size_t len)
{
	char head[1024];
	int n = snprintf(head, sizeof(head),
			 "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
			 "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n"
			 "%sConnection: close\r\n\r\n",
			 status, http_reply_status_text(status), type, len, extra ? extra : "");
	buf_release(out);
	if (n > 0 && (size_t)n < sizeof(head) &&
	    buf_append(out, head, (size_t)n, (size_t)n + len + 1) &&
	    (len == 0 || buf_append(out, body, len, (size_t)n + len + 1)))
		return CONSOLE_REPLIED;
	buf_release(out);
	return CONSOLE_NOT_MINE;
}

static enum console_outcome reply_json(struct buf *out, int status, struct buf *body)
{
	enum console_outcome o =
	    reply(out, status, "application/json", NULL, buf_head(body), buf_len(body));
	buf_release(body);
	return o;
}

static enum console_outcome reply_error(struct buf *out, int status, const char *message)
{
	struct buf body = {0};
	struct json_write j;
	json_write_init(&j, &body, 4096);
	json_write_object(&j);
	json_write_key(&j, "error");
	json_write_cstr(&j, message);
	json_write_end(&j);
	return reply_json(out, status, &body);
}

/* ---- resources ------------------------------------------------------------------------- */

static enum console_outcome api_decisions(struct console *c, struct slice target, struct buf *out)
{
	struct console_filter f;
	char limit_text[16];
	unsigned long limit = c->cap;
	struct buf body = {0};

	filter_from(target, &f);
	query_value(target, "limit", limit_text, sizeof(limit_text));
	if (limit_text[0]) {
		char *end;
		limit = strtoul(limit_text, &end, 10);
		if (*end || limit == 0)
			return reply_error(out, 400, "limit: a positive whole number");
	}
	/* The newest `limit` lines that pass, then written oldest first. */
	unsigned *pick = malloc((c->count ? c->count : 1) * sizeof(*pick));
	unsigned n = 0;
	if (!pick)
		return reply_error(out, 500, "out of memory");
	for (unsigned k = 0; k < c->count && n < limit; k++) {
		unsigned i = (c->head + c->cap - 1 - k) % c->cap;
		if (line_passes(&f, c->lines[i], strlen(c->lines[i])))
			pick[n++] = i;
	}
	bool ok = buf_append(&body, "{\"decisions\":[", 14, CONSOLE_REPLY_MAX);
	for (unsigned k = n; ok && k > 0; k--) {
		const char *line = c->lines[pick[k - 1]];
		ok = (k == n || buf_append(&body, ",", 1, CONSOLE_REPLY_MAX)) &&
		     buf_append(&body, line, strlen(line), CONSOLE_REPLY_MAX);
	}
	free(pick);
	char tail[48];
	int tn =
	    snprintf(tail, sizeof(tail), "],\"dropped\":%llu}", (unsigned long long)c->dropped);
	ok = ok && buf_append(&body, tail, (size_t)tn, CONSOLE_REPLY_MAX);
	if (!ok) {
		buf_release(&body);
		return reply_error(out, 500, "out of memory");
	}
	return reply_json(out, 200, &body);
}

static enum console_outcome api_agents(struct console *c, struct buf *out)
{
	struct metrics_agent *agents = NULL;
	long n = metrics_agents(c->workers, c->n, &agents);
	struct buf body = {0};
	struct json_write j;

	if (n < 0)
		return reply_error(out, 500, "out of memory");
	json_write_init(&j, &body, CONSOLE_REPLY_MAX);
	json_write_object(&j);
	json_write_key(&j, "agents");
	json_write_array(&j);
	for (long i = 0; i < n; i++) {
		unsigned open = 0;
		for (unsigned t = 0; t < c->n_open; t++)
			open += strcmp(c->open_tunnels[t].agent, agents[i].name) == 0;
		json_write_object(&j);
		json_write_key(&j, "name");
		json_write_cstr(&j, agents[i].name);
		json_write_key(&j, "requests");
		json_write_int(&j, (int64_t)agents[i].requests);
		json_write_key(&j, "denied");
		json_write_int(&j, (int64_t)agents[i].denied);
		json_write_key(&j, "bytes_up");
		json_write_int(&j, (int64_t)agents[i].bytes_up);
		json_write_key(&j, "bytes_down");
		json_write_int(&j, (int64_t)agents[i].bytes_down);
		json_write_key(&j, "open_tunnels");
		json_write_int(&j, open);
		json_write_end(&j);
	}
	json_write_end(&j);
	json_write_end(&j);
	free(agents);
	if (!json_write_ok(&j)) {
		buf_release(&body);
		return reply_error(out, 500, "out of memory");
	}
	return reply_json(out, 200, &body);
}

static enum console_outcome api_list(struct buf *out, bool ok, struct buf *body)
{
	if (!ok) {
		buf_release(body);
		return reply_error(out, 500, "out of memory");
	}
	return reply_json(out, 200, body);
}

/* The policy in force: its generation, when it was loaded, and the file with its secrets
 * redacted; the standing approvals are /api/approvals. */
static enum console_outcome api_policy(struct console *c, struct buf *out)
{
	struct buf body = {0};
	struct json_write j;
	char loaded[UTC_TIME_TEXT_MAX];

	json_write_init(&j, &body, CONSOLE_REPLY_MAX);
	json_write_object(&j);
	pthread_mutex_lock(&c->policy_lock);
	json_write_key(&j, "generation");
	json_write_int(&j, (int64_t)c->policy_generation);
	utc_time_format(c->policy_loaded, loaded);
	json_write_key(&j, "loaded");
	json_write_cstr(&j, loaded);
	json_write_key(&j, "config");
	if (c->policy_text)
		json_write_cstr(&j, c->policy_text);
	else
		json_write_null(&j);
	pthread_mutex_unlock(&c->policy_lock);
	json_write_key(&j, "redacted");
	json_write_cstr(
	    &j, "token_sha256, credentials' secrets, headers.set values, approvals.webhook; no "
		"comments");
	json_write_end(&j);
	return api_list(out, json_write_ok(&j), &body);
}

/* What `sluice report` would suggest (emit/report) from the decisions in the ring: ?agent=
 * one agent's, ?only_report=1 from report-mode lines alone. */
static enum console_outcome api_suggestions(struct console *c, struct slice target, struct buf *out)
{
	char agent[CONSOLE_FILTER_MAX + 1], only[8];
	struct buf yaml = {0}, body = {0};
	unsigned used = 0;

	query_value(target, "agent", agent, sizeof(agent));
	query_value(target, "only_report", only, sizeof(only));
	struct report_options opt = {.only_report =
					 strcmp(only, "1") == 0 || strcmp(only, "true") == 0,
				     .agent = slice_from_cstr(agent)};
	struct report *rep = report_new(&opt);
	if (!rep)
		return reply_error(out, 400, "agent: not an agent name");
	pthread_mutex_lock(&c->policy_lock);
	for (unsigned i = 0; i < c->n_route_hosts; i++)
		report_add_route_host(rep, slice_from_cstr(c->route_hosts[i]));
	pthread_mutex_unlock(&c->policy_lock);
	bool ok = true;
	for (unsigned k = 0; ok && k < c->count; k++) {
		const char *line = c->lines[(c->head + c->cap - c->count + k) % c->cap];
		struct log_line parsed;
		const char *detail;
		if (log_line_parse(slice_from_cstr(line), &parsed, &detail) <= 0)
			continue;
		enum report_use use = report_add(rep, &parsed);
		ok = use != REPORT_NO_MEMORY;
		used += use == REPORT_SUGGESTED;
	}
	ok = ok && report_format(rep, &yaml, CONSOLE_REPLY_MAX / 2) &&
	     buf_append(&yaml, "", 1, CONSOLE_REPLY_MAX / 2 + 1);
	struct json_write j;
	json_write_init(&j, &body, CONSOLE_REPLY_MAX);
	json_write_object(&j);
	json_write_key(&j, "decisions");
	json_write_int(&j, c->count);
	json_write_key(&j, "suggested_from");
	json_write_int(&j, used);
	json_write_key(&j, "agents");
	json_write_int(&j, (int64_t)report_agent_count(rep));
	json_write_key(&j, "yaml");
	json_write_cstr(&j, ok ? buf_head(&yaml) : "");
	json_write_end(&j);
	report_free(rep);
	buf_release(&yaml);
	if (!ok) {
		buf_release(&body);
		return reply_error(out, 500, "out of memory");
	}
	return api_list(out, json_write_ok(&j), &body);
}

/* Workers that do not answer the census in this time are left out ("missing" says how many):
 * the admin thread waits no longer, however busy a worker is. */
#define CONSOLE_CENSUS_WAIT_MS 250
#define CONSOLE_CENSUS_MAX (32u << 20)

/* Open connections now, from the census (io/census), with the agent and host filters. */
static enum console_outcome api_connections(struct console *c, struct slice target, struct buf *out)
{
	struct console_filter f;
	struct buf lines = {0}, body = {0};

	if (!c->census)
		return reply_error(out, 404, "no census on this listener");
	filter_from(target, &f);
	f.decision[0] = '\0'; /* a connection has no decision yet */
	unsigned missing =
	    census_collect(c->census, &lines, CONSOLE_CENSUS_MAX, CONSOLE_CENSUS_WAIT_MS);
	bool ok = buf_append(&body, "{\"connections\":[", 16, CONSOLE_REPLY_MAX);
	const char *p = buf_head(&lines), *end = p + buf_len(&lines);
	unsigned n = 0;
	while (ok && p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		if (len && line_passes(&f, p, len))
			ok = (n++ == 0 || buf_append(&body, ",", 1, CONSOLE_REPLY_MAX)) &&
			     buf_append(&body, p, len, CONSOLE_REPLY_MAX);
		p += len + 1;
	}
	buf_release(&lines);
	char tail[48];
	int tn = snprintf(tail, sizeof(tail), "],\"missing_workers\":%u}", missing);
	return api_list(out, ok && buf_append(&body, tail, (size_t)tn, CONSOLE_REPLY_MAX), &body);
}

static bool header_value(const struct http1_request *req, const char *name, struct slice *out)
{
	for (unsigned i = 0; i < req->n_headers && i < HTTP1_MAX_HEADERS_CAP; i++)
		if (slice_eq_cstr_nocase(req->headers[i].name, name)) {
			*out = req->headers[i].value;
			return true;
		}
	return false;
}

/* "who" of an answer: what the body says ("by"), then where it came from. */
static void answer_by(const struct json_value *doc, const char *peer, char *by, size_t size)
{
	struct slice who = {0};
	char clean[48];
	size_t n = 0;

	if (json_string(json_get(doc, "by"), &who))
		for (size_t i = 0; i < who.len && n + 1 < sizeof(clean); i++)
			if ((unsigned char)who.ptr[i] >= 0x20 && who.ptr[i] != 0x7f &&
			    who.ptr[i] != '"' && who.ptr[i] != '\\')
				clean[n++] = who.ptr[i];
	clean[n] = '\0';
	snprintf(by, size, "%s%sconsole %s", clean, n ? " via " : "", peer);
}

static enum console_outcome api_answer(struct console *c, struct slice id_text, struct slice body,
				       const char *peer, struct buf *out)
{
	struct arena arena;
	const char *err = NULL;
	struct slice answer_text, expires_text;
	enum approval_answer answer;
	int64_t expires = 0;
	unsigned long long id = 0;

	if (id_text.len < 2 || id_text.ptr[0] != 'p')
		return reply_error(out, 404, "no such request waiting");
	for (size_t i = 1; i < id_text.len; i++) {
		if (id_text.ptr[i] < '0' || id_text.ptr[i] > '9' || i > 18)
			return reply_error(out, 404, "no such request waiting");
		id = id * 10 + (unsigned)(id_text.ptr[i] - '0');
	}
	arena_init(&arena);
	const struct json_value *doc = json_parse(body.ptr, body.len, &arena, &err);
	if (!doc || !json_string(json_get(doc, "answer"), &answer_text) ||
	    !approval_answer_from_name(answer_text, &answer)) {
		arena_fini(&arena);
		return reply_error(out, 400,
				   "the body is {\"answer\": \"once\" | \"agent\" | \"all\" | "
				   "\"deny\"}, with \"expires\": \"8h\" allowed on agent and all");
	}
	const struct json_value *ev = json_get(doc, "expires");
	if (ev &&
	    (!json_string(ev, &expires_text) || !approval_parse_expiry(expires_text, &expires))) {
		arena_fini(&arena);
		return reply_error(out, 400,
				   "expires: a duration like 30m, 8h or 7d (at most 366d)");
	}
	char by[APPROVAL_BY_MAX + 1], for_text[32] = "";
	answer_by(doc, peer, by, sizeof(by));
	if (expires)
		snprintf(for_text, sizeof(for_text), " for %.*s", (int)expires_text.len,
			 expires_text.ptr);
	arena_fini(&arena);
	struct approval_result res;
	approval_store_answer(c->store, id, answer, expires, by, &res);
	if (res.status != 200)
		return reply_error(out, res.status, res.error);
	fprintf(stderr, "sluice: approvals: p%llu answered %s%s by %s (%u request%s)\n", id,
		approval_answer_name(answer), for_text, by, res.released,
		res.released == 1 ? "" : "s");
	struct buf b = {0};
	struct json_write j;
	char idbuf[24];
	snprintf(idbuf, sizeof(idbuf), "p%llu", id);
	json_write_init(&j, &b, 4096);
	json_write_object(&j);
	json_write_key(&j, "id");
	json_write_cstr(&j, idbuf);
	json_write_key(&j, "answer");
	json_write_cstr(&j, approval_answer_name(answer));
	json_write_key(&j, "released");
	json_write_int(&j, res.released);
	json_write_key(&j, "persisted");
	json_write_bool(&j, res.persisted);
	if (res.error[0]) {
		json_write_key(&j, "warning");
		json_write_cstr(&j, res.error);
	}
	json_write_end(&j);
	return reply_json(out, 200, &b);
}

/* Authorization: Bearer <token>, compared by its SHA-256 in constant time. */
static bool authorized(const struct console *c, const struct http1_request *req)
{
	struct slice v;
	uint8_t digest[32];

	if (!c->has_token)
		return true;
	if (!header_value(req, "Authorization", &v) || v.len < 8 ||
	    !slice_eq_cstr_nocase(slice_make(v.ptr, 7), "Bearer "))
		return false;
	SHA256((const unsigned char *)v.ptr + 7, v.len - 7, digest);
	return CRYPTO_memcmp(digest, c->token_sha256, sizeof(digest)) == 0;
}

/* An action: JSON only (a form post cannot send it without a preflight), and from the console's
 * own origin when the browser says where from. */
static const char *action_refused(const struct http1_request *req)
{
	struct slice type, origin, host;

	if (!header_value(req, "Content-Type", &type) || type.len < 16 ||
	    !slice_eq_cstr_nocase(slice_make(type.ptr, 16), "application/json"))
		return "an action's body is Content-Type: application/json";
	if (header_value(req, "Origin", &origin)) {
		if (!header_value(req, "Host", &host) ||
		    !(origin.len == host.len + 7 && memcmp(origin.ptr, "http://", 7) == 0 &&
		      memcmp(origin.ptr + 7, host.ptr, host.len) == 0))
			return "the request comes from another origin than the console's";
	}
	return NULL;
}

enum console_outcome console_handle(struct console *c, const struct http1_request *req,
				    struct slice body, const char *peer, struct buf *out)
{
	struct slice target = req->target;
	const char *q = memchr(target.ptr, '?', target.len);
	struct slice path = slice_make(target.ptr, q ? (size_t)(q - target.ptr) : target.len);
	bool get = slice_eq(req->method, SLICE_LIT("GET"));
	bool post = slice_eq(req->method, SLICE_LIT("POST"));
	bool api = path.len >= 5 && memcmp(path.ptr, "/api/", 5) == 0;
	const struct console_asset *asset = console_asset_find(path.ptr, path.len);

	if (!api && !asset)
		return CONSOLE_NOT_MINE;
	if (!c->open)
		return reply_error(out, 403,
				   "the console is off: listen.admin is not a loopback address "
				   "and console.token_sha256 is not set");
	if (asset) {
		if (!get)
			return reply_error(out, 405, "use GET");
		return reply(out, 200, asset->content_type,
			     "Content-Security-Policy: " CONSOLE_CSP "\r\n"
			     "X-Frame-Options: DENY\r\nReferrer-Policy: no-referrer\r\n",
			     (const char *)asset->data, asset->len);
	}
	if (!authorized(c, req))
		return reply(out, 401, "application/json",
			     "WWW-Authenticate: Bearer realm=\"sluice console\"\r\n",
			     "{\"error\":\"a bearer token is required\"}", 38);
	if (post) {
		const char *why = action_refused(req);
		if (why)
			return reply_error(out, 403, why);
		if (path.len > 13 && memcmp(path.ptr, "/api/pending/", 13) == 0)
			return api_answer(c, slice_make(path.ptr + 13, path.len - 13), body, peer,
					  out);
		return reply_error(out, 405, "POST answers /api/pending/<id>");
	}
	if (!get)
		return reply_error(out, 405, "use GET (or POST for an answer)");
	struct buf b = {0};
	if (slice_eq(path, SLICE_LIT("/api/events"))) {
		filter_from(target, &c->next_filter);
		if (c->n_streams >= CONSOLE_STREAMS_MAX)
			return reply_error(out, 503, "too many streams open");
		static const char head[] = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
					   "Cache-Control: no-store\r\nX-Accel-Buffering: no\r\n"
					   "Connection: close\r\n\r\n: sluice decisions\n\n";
		buf_release(out);
		buf_append(out, head, sizeof(head) - 1, sizeof(head));
		return CONSOLE_STREAM;
	}
	if (slice_eq(path, SLICE_LIT("/api/decisions")))
		return api_decisions(c, target, out);
	if (slice_eq(path, SLICE_LIT("/api/agents")))
		return api_agents(c, out);
	if (slice_eq(path, SLICE_LIT("/api/connections")))
		return api_connections(c, target, out);
	if (slice_eq(path, SLICE_LIT("/api/policy")))
		return api_policy(c, out);
	if (slice_eq(path, SLICE_LIT("/api/suggestions")))
		return api_suggestions(c, target, out);
	if (slice_eq(path, SLICE_LIT("/api/pending")))
		return api_list(out, approval_store_pending_json(c->store, &b, CONSOLE_REPLY_MAX),
				&b);
	if (slice_eq(path, SLICE_LIT("/api/approvals")))
		return api_list(out, approval_store_approvals_json(c->store, &b, CONSOLE_REPLY_MAX),
				&b);
	return reply_error(out, 404,
			   "not found: /api/events, /api/decisions, /api/agents, /api/connections, "
			   "/api/policy, /api/suggestions, /api/pending, /api/approvals");
}

void console_stream(struct console *c, int fd, struct buf *out)
{
	struct console_stream *s = calloc(1, sizeof(*s));

	if (!s) {
		close(fd);
		buf_release(out);
		return;
	}
	s->out = malloc(CONSOLE_STREAM_MAX);
	if (!s->out || buf_len(out) > CONSOLE_STREAM_MAX) {
		free(s->out);
		free(s);
		close(fd);
		buf_release(out);
		return;
	}
	s->c = c;
	s->fd = fd;
	s->filter = c->next_filter;
	s->last_write_ms = console_now_ms();
	/* Only what happens from now on: the queue as it stands is /api/pending. */
	s->feed_cursor = approval_store_feed_end(c->store);
	memcpy(s->out, buf_head(out), buf_len(out));
	s->end = buf_len(out);
	buf_release(out);
	event_assign(&s->wr, c->base, fd, EV_WRITE, stream_on_write, s);
	s->next = c->streams;
	c->streams = s;
	c->n_streams++;
	stream_flush(s);
}

struct console *console_new(struct event_base *base, const struct config *cfg,
			    const struct console_sources *src, struct metrics *const *workers,
			    unsigned n)
{
	struct console *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	if (pthread_mutex_init(&c->policy_lock, NULL) != 0) {
		free(c);
		return NULL;
	}
	c->base = base;
	c->store = src->store;
	c->census = src->census;
	c->n = n;
	for (unsigned i = 0; i < n; i++) {
		c->rings[i] = src->rings[i];
		c->workers[i] = workers[i];
	}
	c->open = config_console_open(cfg);
	c->has_token = cfg->console.has_token;
	memcpy(c->token_sha256, cfg->console.token_sha256, sizeof(c->token_sha256));
	c->cap = cfg->console.decisions;
	c->lines = calloc(c->cap, sizeof(*c->lines));
	c->scratch = malloc(EVENT_RING_BYTES);
	c->tick = event_new(base, -1, EV_PERSIST, console_on_tick, c);
	struct timeval tv = {0, CONSOLE_TICK_MS * 1000};
	if (!c->lines || !c->scratch || !c->tick || event_add(c->tick, &tv) != 0) {
		console_free(c);
		return NULL;
	}
	return c;
}

void console_free(struct console *c)
{
	if (!c)
		return;
	while (c->streams)
		stream_close(c->streams);
	if (c->tick)
		event_free(c->tick);
	for (unsigned i = 0; c->lines && i < c->cap; i++)
		free(c->lines[i]);
	free(c->lines);
	free(c->scratch);
	buf_release(&c->frame);
	free(c->policy_text);
	free(c->route_hosts);
	pthread_mutex_destroy(&c->policy_lock);
	free(c);
}

void console_set_policy(struct console *c, const struct config *cfg, uint64_t generation)
{
	char *copy = cfg->policy_text ? strdup(cfg->policy_text) : NULL;
	char(*hosts)[ROUTE_HOST_MAX + 1] =
	    cfg->n_routes ? calloc(cfg->n_routes, sizeof(*hosts)) : NULL;

	for (unsigned i = 0; hosts && i < cfg->n_routes; i++)
		memcpy(hosts[i], cfg->routes[i].host, sizeof(hosts[i]));
	pthread_mutex_lock(&c->policy_lock);
	free(c->policy_text);
	c->policy_text = copy;
	free(c->route_hosts);
	c->route_hosts = hosts;
	c->n_route_hosts = hosts ? cfg->n_routes : 0;
	c->policy_generation = generation;
	c->policy_loaded = (int64_t)time(NULL);
	pthread_mutex_unlock(&c->policy_lock);
}
