#include "io/h2_flow.h"

#include <event2/event.h>
#include <nghttp2/nghttp2.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/bug.h"
#include "emit/h2_translate.h"
#include "io/conn.h"
#include "io/h2_nghttp2.h"
#include "io/tls_session.h"
#include "io/worker.h"
#include "parse/authority.h"
#include "parse/http1.h"
#include "parse/http1_body.h"
#include "policy/agent.h"

/* What one stream may hold: request bytes the child has not read are bounded by the window
 * sluice advertises; response bytes the child wrote and the client has not taken, by
 * H2_OUT_MAX (the child waits beyond it), a head by the response head limit. */
#define H2_STREAM_WINDOW (256 * 1024)
#define H2_SESSION_WINDOW (1024 * 1024)
#define H2_OUT_MAX (64 * 1024)
#define H2_READ_MAX (64 * 1024)
/* Frames queued for the client before sluice stops making more. */
#define H2_COUT_MAX (256 * 1024)
/* Streams of one session whose requests run at once; the others wait, their heads (and the
 * first body bytes the window allows) kept, so that one client does not open a hundred
 * connections to one origin. */
#define H2_UPSTREAM_MAX 32
/* Requests a client may reset while they run: a burst, then so many a second. */
#define H2_RESET_BURST 64.0
#define H2_RESET_RATE 16.0
/* A chunked response's trailer section, kept for the trailing HEADERS (gRPC's status). */
#define H2_TRAILERS_MAX 8192
/* A request head is refused past twice the HTTP/1.1 limit: http_flow gives the 431 below it. */
#define H2_HEAD_SLACK 2

struct h2_session;

enum h2_resp {
	H2_RESP_HEAD, /* waiting for the child's response head */
	H2_RESP_BODY, /* HEADERS submitted; body bytes move to DATA */
	H2_RESP_DONE, /* every body byte is in `body` (or there is none) */
	H2_RESP_BROKEN,
};

struct h2_stream {
	struct h2_session *s;
	struct h2_stream *prev, *next;
	int32_t id;
	struct conn *child; /* NULL before the head is whole and once the request ended */
	/* the request: pseudo-header fields, then the HTTP/1.1 bytes for the child */
	struct h2_request_head head; /* while it arrives */
	struct buf in;		     /* head then body, for the child's reads */
	size_t unconsumed;	     /* DATA bytes in `in` still counted against the window */
	bool chunked_in;	     /* the body goes as chunks: no content-length was sent */
	bool in_ended;		     /* END_STREAM from the client */
	bool queued;		     /* head built, waiting for a free H2_UPSTREAM_MAX slot */
	bool is_head;
	/* the response */
	struct buf out;	 /* the child's HTTP/1.1 bytes not yet parsed */
	struct buf body; /* decoded body bytes for DATA frames */
	enum h2_resp resp;
	enum http1_framing framing;
	uint64_t remaining;
	struct http1_chunked chunked;
	char *trailers;	       /* H2_TRAILERS_MAX bytes while a chunked response runs, else NULL */
	bool deferred;	       /* the data source said "later": resume it when bytes come */
	bool child_ended;      /* the child closed: a CLOSE-framed body is complete */
	bool child_wants_read; /* mirrors the child's interest */
	bool child_wants_write;
	bool closed; /* nghttp2 closed the stream: touch nothing of it */
};

struct h2_session {
	struct conn *c;
	nghttp2_session *ng;
	const struct tunnel_check_exit *exit; /* how a stream's request starts */
	struct authority dest;		      /* the CONNECT's: every stream is bound to it */
	struct agent_credentials cred;
	bool has_cred;
	struct h2_stream *streams;
	unsigned n_children; /* streams whose request runs (H2_UPSTREAM_MAX at most) */
	double reset_tokens; /* h2_reset_budget's bucket */
	uint64_t reset_at_ms;
	bool goaway;  /* GOAWAY submitted */
	bool closing; /* the parent is ending: streams are torn down, nothing is sent */
};

static struct h2_session *h2_of(const struct conn *c)
{
	return c->proto;
}

/* The parent writes what nghttp2 has to say on its next turn, never from inside a callback. */
static void h2_schedule(struct h2_session *s)
{
	if (!s->closing && s->c->state != CONN_CLOSED)
		event_active(&s->c->c_wr, EV_WRITE, 0);
}

static size_t out_room(const struct h2_stream *st)
{
	const struct config *cfg = st->s->c->cfg;
	size_t cap = cfg->max_response_head + H2_OUT_MAX;
	size_t held = buf_len(&st->out) + buf_len(&st->body);
	return held < cap ? cap - held : 0;
}

static void stream_free(struct h2_stream *st)
{
	struct h2_session *s = st->s;

	if (st->prev)
		st->prev->next = st->next;
	else
		s->streams = st->next;
	if (st->next)
		st->next->prev = st->prev;
	h2_request_head_fini(&st->head);
	buf_release(&st->in);
	buf_release(&st->out);
	buf_release(&st->body);
	free(st->trailers);
	free(st);
}

static void stream_reset(struct h2_stream *st, uint32_t code)
{
	if (st->closed || st->s->closing)
		return;
	nghttp2_submit_rst_stream(st->s->ng, NGHTTP2_FLAG_NONE, st->id, code);
	st->resp = H2_RESP_BROKEN;
	h2_schedule(st->s);
}

/* Gives the client's window back once the child has read what arrived. */
static void stream_consume(struct h2_stream *st)
{
	if (st->unconsumed == 0 || st->closed || st->s->closing)
		return;
	nghttp2_session_consume(st->s->ng, st->id, st->unconsumed);
	st->unconsumed = 0;
	h2_schedule(st->s);
}

/* ---- the child's client I/O --------------------------------------------------------------- */

static ssize_t child_read(struct conn *c, struct buf *b, size_t max_cap)
{
	struct h2_stream *st = c->cio_arg;
	size_t n = buf_len(&st->in);

	/* No end of stream: the request's own framing says where it ends. */
	if (n == 0) {
		stream_consume(st);
		return -1;
	}
	n = buf_take(b, &st->in, max_cap);
	if (n == 0)
		return -1;
	if (buf_len(&st->in) == 0)
		stream_consume(st);
	conn_touch(st->s->c);
	return (ssize_t)n;
}

static void stream_pump(struct h2_stream *st);

static ssize_t child_write(struct conn *c, struct buf *b, size_t n)
{
	struct h2_stream *st = c->cio_arg;

	if (n > buf_len(b))
		n = buf_len(b);
	if (n == 0)
		return 0;
	if (st->resp == H2_RESP_BROKEN)
		return -2;
	size_t room = out_room(st);
	if (room == 0)
		return -1;
	if (n > room)
		n = room;
	if (!buf_append(&st->out, buf_head(b), n, buf_len(&st->out) + n))
		return -2;
	buf_consume(b, n);
	stream_pump(st);
	h2_schedule(st->s);
	conn_touch(st->s->c);
	return (ssize_t)n;
}

static void child_want_read(struct conn *c, bool on)
{
	struct h2_stream *st = c->cio_arg;
	st->child_wants_read = on;
	if (on && buf_len(&st->in) > 0)
		conn_client_read_again(c);
}

static void child_want_write(struct conn *c, bool on)
{
	struct h2_stream *st = c->cio_arg;
	st->child_wants_write = on;
	if (on && out_room(st) > 0)
		event_active(&c->c_wr, EV_WRITE, 0);
}

/* The child's request ended (answered, refused or cut). What it wrote is the response; what
 * the client still sends for it is dropped. */
static void child_closed(struct conn *c)
{
	struct h2_stream *st = c->cio_arg;

	st->child = NULL;
	st->child_ended = true;
	st->s->n_children--;
	if (st->closed || st->s->closing)
		return;
	if (st->unconsumed || buf_len(&st->in)) {
		buf_release(&st->in);
		stream_consume(st);
	}
	stream_pump(st);
	if (st->resp == H2_RESP_HEAD ||
	    (st->resp == H2_RESP_BODY && st->framing != HTTP1_BODY_CLOSE))
		stream_reset(st, NGHTTP2_INTERNAL_ERROR);
	else if (st->resp == H2_RESP_BODY)
		st->resp = H2_RESP_DONE;
	if (st->deferred) {
		st->deferred = false;
		nghttp2_session_resume_data(st->s->ng, st->id);
	}
	h2_schedule(st->s);
}

static const struct conn_client_io h2_child_io = {
    .read = child_read,
    .write = child_write,
    .want_read = child_want_read,
    .want_write = child_want_write,
    .closed = child_closed,
};

/* ---- responses: the child's HTTP/1.1 into HEADERS and DATA --------------------------------- */

/* The response's trailer section as trailing HEADERS, which end the stream. False when it had
 * none (or they cannot be sent): the last DATA ends it. */
static bool submit_trailers(struct h2_stream *st)
{
	static _Thread_local struct h2_field fields[HTTP1_CHUNKED_MAX_TRAILERS];
	static _Thread_local nghttp2_nv nva[HTTP1_CHUNKED_MAX_TRAILERS];
	static _Thread_local char lower[H2_TRAILERS_MAX];

	if (!st->trailers || st->chunked.trailers_len == 0)
		return false;
	size_t n =
	    h2_trailer_fields(slice_make(st->trailers, st->chunked.trailers_len), lower, fields);
	for (size_t i = 0; i < n; i++)
		nva[i] =
		    (nghttp2_nv){(uint8_t *)fields[i].name.ptr, (uint8_t *)fields[i].value.ptr,
				 fields[i].name.len, fields[i].value.len, NGHTTP2_NV_FLAG_NONE};
	return n > 0 && nghttp2_submit_trailer(st->s->ng, st->id, nva, n) == 0;
}

static ssize_t body_source(nghttp2_session *ng, int32_t id, uint8_t *dst, size_t length,
			   uint32_t *flags, nghttp2_data_source *source, void *user)
{
	struct h2_stream *st = source->ptr;
	size_t n = buf_len(&st->body);

	if (n > length)
		n = length;
	memcpy(dst, buf_head(&st->body), n);
	buf_consume(&st->body, n);
	if (buf_len(&st->body) == 0 && st->resp == H2_RESP_DONE) {
		*flags |= NGHTTP2_DATA_FLAG_EOF;
		if (submit_trailers(st))
			*flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
	} else if (n == 0) {
		st->deferred = true;
		return NGHTTP2_ERR_DEFERRED;
	}
	if (n > 0 && st->child && st->child_wants_write && out_room(st) > 0)
		event_active(&st->child->c_wr, EV_WRITE, 0);
	return (ssize_t)n;
}

static bool submit_head(struct h2_stream *st, const struct http1_response *resp)
{
	static _Thread_local struct h2_field fields[HTTP1_MAX_HEADERS_CAP + 1];
	static _Thread_local nghttp2_nv nva[HTTP1_MAX_HEADERS_CAP + 1];
	static _Thread_local char names[HTTP1_MAX_HEADERS_CAP][H2_TRANSLATE_NAME_MAX];
	char status[4];
	size_t n = h2_response_fields(resp, status, names, fields);

	for (size_t i = 0; i < n; i++)
		nva[i] =
		    (nghttp2_nv){(uint8_t *)fields[i].name.ptr, (uint8_t *)fields[i].value.ptr,
				 fields[i].name.len, fields[i].value.len, NGHTTP2_NV_FLAG_NONE};
	nghttp2_data_provider prd = {.source.ptr = st, .read_callback = body_source};
	/* No body: the HEADERS frame ends the stream (gRPC reads a status there as the whole
	 * answer, where HEADERS then an empty DATA would be a reply without trailers). */
	bool body = resp->framing != HTTP1_BODY_NONE &&
		    !(resp->framing == HTTP1_BODY_LENGTH && resp->content_length == 0);
	return nghttp2_submit_response(st->s->ng, st->id, nva, n, body ? &prd : NULL) == 0;
}

/* Moves what the child wrote on: the head once whole (interim 1xx dropped), then body bytes
 * by the head's framing. */
static void stream_pump(struct h2_stream *st)
{
	static _Thread_local struct http1_response resp;
	const struct config *cfg = st->s->c->cfg;

	while (st->resp == H2_RESP_HEAD && buf_len(&st->out) > 0) {
		int rc = http1_response_parse(buf_head(&st->out), buf_len(&st->out),
					      cfg->max_response_headers, st->is_head, false, &resp);
		if (rc == 0 && buf_len(&st->out) <= cfg->max_response_head)
			return;
		if (rc <= 0 || resp.status == 101) {
			stream_reset(st, NGHTTP2_INTERNAL_ERROR);
			return;
		}
		if (resp.status < 200) {
			buf_consume(&st->out, (size_t)rc);
			continue;
		}
		if (!submit_head(st, &resp)) {
			stream_reset(st, NGHTTP2_INTERNAL_ERROR);
			return;
		}
		buf_consume(&st->out, (size_t)rc);
		st->framing = resp.framing;
		st->remaining = resp.content_length;
		http1_chunked_init(&st->chunked);
		if (resp.framing == HTTP1_BODY_CHUNKED && !st->trailers &&
		    (st->trailers = malloc(H2_TRAILERS_MAX)))
			http1_chunked_keep_trailers(&st->chunked, st->trailers, H2_TRAILERS_MAX);
		st->resp = resp.framing == HTTP1_BODY_NONE ||
				   (resp.framing == HTTP1_BODY_LENGTH && resp.content_length == 0)
			       ? H2_RESP_DONE
			       : H2_RESP_BODY;
	}
	if (st->resp == H2_RESP_BODY && buf_len(&st->out) > 0) {
		size_t n = buf_len(&st->out), got = n;
		if (buf_reserve(&st->body, n, buf_len(&st->body) + n) < n) {
			stream_reset(st, NGHTTP2_INTERNAL_ERROR);
			return;
		}
		if (st->framing == HTTP1_BODY_CHUNKED) {
			bool done = false;
			ssize_t used = http1_chunked_decode(&st->chunked, buf_head(&st->out), n,
							    buf_tail(&st->body), &got, &done);
			if (used < 0) {
				stream_reset(st, NGHTTP2_INTERNAL_ERROR);
				return;
			}
			n = (size_t)used;
			if (done)
				st->resp = H2_RESP_DONE;
		} else {
			if (st->framing == HTTP1_BODY_LENGTH && n >= st->remaining) {
				n = got = (size_t)st->remaining;
				st->resp = H2_RESP_DONE;
			}
			memcpy(buf_tail(&st->body), buf_head(&st->out), got);
			st->remaining -= got;
		}
		buf_commit(&st->body, got);
		buf_consume(&st->out, n);
	}
	/* What follows a complete response is no part of it. */
	if (st->resp == H2_RESP_DONE)
		buf_release(&st->out);
	if (st->deferred && (buf_len(&st->body) > 0 || st->resp == H2_RESP_DONE)) {
		st->deferred = false;
		nghttp2_session_resume_data(st->s->ng, st->id);
	}
}

/* A token bucket of resets of running requests: H2_RESET_BURST at once, H2_RESET_RATE a
 * second. False once it is empty. */
static bool h2_reset_budget(struct h2_session *s)
{
	uint64_t now = conn_now_ms();
	double refill = (double)(now - s->reset_at_ms) * H2_RESET_RATE / 1000.0;

	s->reset_at_ms = now;
	s->reset_tokens =
	    s->reset_tokens + refill > H2_RESET_BURST ? H2_RESET_BURST : s->reset_tokens + refill;
	if (s->reset_tokens < 1.0)
		return false;
	s->reset_tokens -= 1.0;
	return true;
}

/* ---- requests: HEADERS into an HTTP/1.1 head for the child -------------------------------- */

static int on_header(nghttp2_session *ng, const nghttp2_frame *frame, const uint8_t *name,
		     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
		     void *user)
{
	struct h2_stream *st = nghttp2_session_get_stream_user_data(ng, frame->hd.stream_id);

	/* Trailers of a request body are dropped: no rule judges them, and HTTP/1.1 has no
	 * cheap way to say them after chunks the child already read. */
	if (!st || frame->headers.cat != NGHTTP2_HCAT_REQUEST || st->child || st->queued)
		return 0;
	if (h2_request_head_field(&st->head, slice_make((const char *)name, namelen),
				  slice_make((const char *)value, valuelen)) != H2_FIELD_OK)
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	return 0;
}

static int on_begin_headers(nghttp2_session *ng, const nghttp2_frame *frame, void *user)
{
	struct h2_session *s = user;

	if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
		return 0;
	struct h2_stream *st = calloc(1, sizeof(*st));
	if (!st)
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	st->s = s;
	st->id = frame->hd.stream_id;
	struct buf_cache *cache = &s->c->w->bufs;
	h2_request_head_init(&st->head, cache, (size_t)s->c->cfg->max_head_bytes * H2_HEAD_SLACK);
	buf_init(&st->in, cache);
	buf_init(&st->out, cache);
	buf_init(&st->body, cache);
	st->next = s->streams;
	if (s->streams)
		s->streams->prev = st;
	s->streams = st;
	nghttp2_session_set_stream_user_data(ng, st->id, st);
	return 0;
}

/* A queued stream's request starts: a new connection running http_flow takes its head (and
 * what of its body came already). */
static void stream_launch(struct h2_stream *st)
{
	struct h2_session *s = st->s;
	struct conn *c = s->c;

	st->queued = false;
	conn_refresh_snapshot(c);
	struct conn *child = conn_child_new(c, &h2_child_io, st, s->exit->stream_ops);
	if (!child) {
		stream_reset(st, NGHTTP2_INTERNAL_ERROR);
		return;
	}
	/* The head is the child's first read, as bytes off a socket would be. */
	buf_move(&child->cin, &st->in);
	stream_consume(st);
	st->child = child;
	s->n_children++;
	if (s->exit->start_stream(child, &s->dest, &s->cred, s->has_cred) != 0)
		conn_close(child, REASON_INTERNAL);
}

/* The oldest waiting stream (the lowest id: ids grow), or NULL. */
static struct h2_stream *stream_next_queued(struct h2_session *s)
{
	struct h2_stream *best = NULL;
	for (struct h2_stream *st = s->streams; st; st = st->next)
		if (st->queued && !st->closed && (!best || st->id < best->id))
			best = st;
	return best;
}

/* The head is whole: its HTTP/1.1 form goes to a new connection running http_flow, which
 * judges it as any request inside the tunnel (Host against the CONNECT's target, rules,
 * credentials of the CONNECT). One request per stream: Connection: close ends it there. */
static void stream_start(struct h2_stream *st, bool end_stream)
{
	struct h2_session *s = st->s;

	st->is_head = strcmp(st->head.method, "HEAD") == 0;
	st->in_ended = end_stream;
	bool ok = h2_request_head_write(&st->head, end_stream, &st->in, &st->chunked_in);
	h2_request_head_fini(&st->head);
	if (!ok) {
		stream_reset(st, NGHTTP2_PROTOCOL_ERROR);
		return;
	}
	/* Started by h2_send, after the rest of what was read: a stream the same bytes reset
	 * (CVE-2023-44487's pattern) never costs a request. */
	st->queued = true;
	h2_schedule(s);
}

static void stream_end_input(struct h2_stream *st)
{
	if (st->in_ended)
		return;
	st->in_ended = true;
	if (st->chunked_in && (st->child || st->queued) &&
	    !buf_append(&st->in, "0\r\n\r\n", 5, buf_len(&st->in) + 5)) {
		stream_reset(st, NGHTTP2_INTERNAL_ERROR);
		return;
	}
	if (st->child && st->child_wants_read)
		conn_client_read_again(st->child);
}

static int on_frame_recv(nghttp2_session *ng, const nghttp2_frame *frame, void *user)
{
	struct h2_stream *st = nghttp2_session_get_stream_user_data(ng, frame->hd.stream_id);
	bool end_stream = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;

	if (!st)
		return 0;
	if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST &&
	    !st->child && st->resp == H2_RESP_HEAD)
		stream_start(st, end_stream);
	else if ((frame->hd.type == NGHTTP2_DATA || frame->hd.type == NGHTTP2_HEADERS) &&
		 end_stream)
		stream_end_input(st);
	return 0;
}

static int on_data_chunk(nghttp2_session *ng, uint8_t flags, int32_t id, const uint8_t *data,
			 size_t len, void *user)
{
	struct h2_stream *st = nghttp2_session_get_stream_user_data(ng, id);

	/* Nobody reads it any more: the window is given back at once. */
	if (!st || (!st->child && !st->queued)) {
		nghttp2_session_consume(ng, id, len);
		return 0;
	}
	char size[24];
	int slen = st->chunked_in ? snprintf(size, sizeof(size), "%zx\r\n", len) : 0;
	size_t want = buf_len(&st->in) + (size_t)slen + len + 2;
	if ((slen && !buf_append(&st->in, size, (size_t)slen, want)) ||
	    !buf_append(&st->in, data, len, want) ||
	    (slen && !buf_append(&st->in, "\r\n", 2, want))) {
		nghttp2_session_consume(ng, id, len);
		stream_reset(st, NGHTTP2_INTERNAL_ERROR);
		return 0;
	}
	st->unconsumed += len;
	if (st->child && st->child_wants_read)
		conn_client_read_again(st->child);
	return 0;
}

/* The client reset the stream, or both sides are done with it. */
static int on_stream_close(nghttp2_session *ng, int32_t id, uint32_t code, void *user)
{
	struct h2_stream *st = nghttp2_session_get_stream_user_data(ng, id);

	if (!st)
		return 0;
	st->closed = true;
	nghttp2_session_set_stream_user_data(ng, id, NULL);
	if (st->child) {
		/* A client that keeps cutting its requests short makes sluice connect for
		 * nothing, again and again: past the budget the session ends. */
		if (code != NGHTTP2_NO_ERROR && !h2_reset_budget(st->s) && !st->s->goaway) {
			nghttp2_submit_goaway(ng, NGHTTP2_FLAG_NONE,
					      nghttp2_session_get_last_proc_stream_id(ng),
					      NGHTTP2_ENHANCE_YOUR_CALM, NULL, 0);
			st->s->goaway = true;
			metrics_count_h2_reset_flood(&st->s->c->w->metrics);
		}
		conn_close(st->child, REASON_CLIENT_CLOSED);
	}
	stream_free(st);
	return 0;
}

/* ---- the session -------------------------------------------------------------------------- */

static void h2_end(struct conn *c, enum reason why)
{
	conn_close(c, why);
}

/* Hands nghttp2's frames to the client while there is room, and ends a session that is done. */
static void h2_send(struct conn *c)
{
	struct h2_session *s = h2_of(c);
	struct h2_stream *next;

	while (s->n_children < H2_UPSTREAM_MAX && (next = stream_next_queued(s)))
		stream_launch(next);
	if (c->state == CONN_CLOSED)
		return;
	for (struct h2_stream *st = s->streams; st; st = st->next)
		if (st->resp == H2_RESP_HEAD || st->resp == H2_RESP_BODY)
			stream_pump(st);
	bool full = false;
	while (!(full = buf_len(&c->cout) >= H2_COUT_MAX)) {
		const uint8_t *data;
		ssize_t n = nghttp2_session_mem_send(s->ng, &data);
		if (n < 0) {
			h2_end(c, REASON_INTERNAL);
			return;
		}
		if (n == 0)
			break;
		if (!buf_append(&c->cout, data, (size_t)n, buf_len(&c->cout) + (size_t)n)) {
			h2_end(c, REASON_INTERNAL);
			return;
		}
	}
	int rc = conn_flush_client(c);
	if (rc < 0)
		return;
	if (rc > 0 && full)
		h2_schedule(s); /* more than H2_COUT_MAX was waiting */
	if (rc > 0 && !nghttp2_session_want_read(s->ng) && !nghttp2_session_want_write(s->ng))
		h2_end(c, REASON_ALLOWED);
}

static void h2_on_readable(struct conn *c)
{
	struct h2_session *s = h2_of(c);

	for (int rounds = 0; rounds < 4; rounds++) {
		ssize_t n = conn_client_read(c, &c->cin, H2_READ_MAX);
		if (n == -1)
			break;
		if (n == 0 || n == -2) {
			h2_end(c, REASON_CLIENT_CLOSED);
			return;
		}
		conn_touch(c);
		ssize_t used = nghttp2_session_mem_recv(s->ng, (const uint8_t *)buf_head(&c->cin),
							buf_len(&c->cin));
		if (c->state == CONN_CLOSED)
			return;
		/* A broken frame: nghttp2 queued GOAWAY; it goes out, then the session ends. */
		if (used < 0) {
			buf_release(&c->cin);
			conn_want_client_read(c, false);
			h2_send(c);
			if (c->state != CONN_CLOSED)
				h2_end(c, REASON_BAD_REQUEST);
			return;
		}
		buf_consume(&c->cin, buf_len(&c->cin));
	}
	if (c->w->draining)
		h2_flow_drain(c);
	h2_send(c);
	if (c->state != CONN_CLOSED && c->ctls && tls_session_pending(c->ctls))
		conn_client_read_again(c);
}

static void h2_on_writable(struct conn *c)
{
	conn_want_client_write(c, false);
	h2_send(c);
}

void h2_flow_drain(struct conn *c)
{
	struct h2_session *s = h2_of(c);

	if (c->ops != &h2_flow_ops || s->goaway)
		return;
	s->goaway = true;
	nghttp2_submit_goaway(s->ng, NGHTTP2_FLAG_NONE,
			      nghttp2_session_get_last_proc_stream_id(s->ng), NGHTTP2_NO_ERROR,
			      NULL, 0);
	h2_schedule(s);
}

/* The session carries no upstream of its own: its streams do. */
static void h2_no_upstream_event(struct conn *c)
{
	conn_want_upstream_read(c, false);
	conn_want_upstream_write(c, false);
}

static void h2_no_upstream(struct conn *c)
{
}

static void h2_upstream_failed(struct conn *c, enum reason why, const char *detail)
{
}

static void h2_refuse(struct conn *c, enum reason why, const char *detail)
{
	h2_end(c, why);
}

/* Streams end with their session: each child logs its request as cut by the client. */
static void h2_release(struct conn *c)
{
	struct h2_session *s = h2_of(c);

	if (!s)
		return;
	s->closing = true;
	while (s->streams) {
		struct h2_stream *st = s->streams;
		st->closed = true;
		if (st->child)
			conn_close(st->child, REASON_CLIENT_CLOSED);
		stream_free(st);
	}
	nghttp2_session_del(s->ng);
	OPENSSL_cleanse(&s->cred, sizeof(s->cred));
	free(s);
	c->proto = NULL;
}

const struct flow_ops h2_flow_ops = {
    .name = "h2",
    .on_client_readable = h2_on_readable,
    .on_client_writable = h2_on_writable,
    .on_upstream_readable = h2_no_upstream_event,
    .on_upstream_writable = h2_no_upstream_event,
    .on_upstream_ready = h2_no_upstream,
    .on_upstream_failed = h2_upstream_failed,
    .refuse = h2_refuse,
    .release = h2_release,
};

static nghttp2_session *h2_session_new(struct h2_session *s)
{
	static const struct h2_nghttp2_callbacks cb = {on_begin_headers, on_header, on_frame_recv,
						       on_data_chunk, on_stream_close};
	nghttp2_settings_entry iv[] = {
	    {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, H2_MAX_STREAMS},
	    {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, H2_STREAM_WINDOW},
	    {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, s->c->cfg->max_head_bytes * H2_HEAD_SLACK},
	};
	/* The window opens as the streams' requests read their bodies, not as bytes arrive. */
	return h2_nghttp2_session_new(true, &cb, s, iv, sizeof(iv) / sizeof(iv[0]),
				      H2_SESSION_WINDOW);
}

int h2_flow_carry(struct conn *c)
{
	struct h2_session *s = calloc(1, sizeof(*s));

	if (!s)
		return -1;
	s->c = c;
	s->exit = c->proto;
	s->reset_tokens = H2_RESET_BURST;
	s->reset_at_ms = conn_now_ms();
	s->dest = c->req.dest;
	s->cred = c->req.cred;
	s->has_cred = c->req.has_cred;
	s->ng = h2_session_new(s);
	if (!s->ng) {
		free(s);
		return -1;
	}
	conn_switch_ops(c, &h2_flow_ops);
	c->proto = s;
	conn_reset_request(c);
	conn_set_state(c, CONN_H2_SESSION);
	conn_set_timeout(c, c->cfg->idle_timeout_ms, REASON_CLIENT_IDLE);
	conn_want_client_read(c, true);
	h2_schedule(s); /* the server's SETTINGS */
	return 0;
}
