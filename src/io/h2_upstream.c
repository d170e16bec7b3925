#include "io/h2_upstream.h"

#include <nghttp2/nghttp2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emit/h2_translate.h"
#include "io/h2_nghttp2.h"
#include "io/tls_session.h"
#include "parse/http1.h"
#include "parse/http1_body.h"

/* What the response may hold before its reader takes it: the window sluice advertises, as
 * for a client's stream (h2_flow). */
#define H2U_WINDOW (256 * 1024)
/* Request body bytes taken from http_flow and not yet in DATA frames. */
#define H2U_BODY_MAX (64 * 1024)
/* Frames made and not yet taken by TLS: past it, sluice makes no more. */
#define H2U_OUT_MAX (64 * 1024)
#define H2U_READ_MAX (64 * 1024)
/* A response's trailer section, as HTTP/1.1 lines. */
#define H2U_TRAILERS_MAX 8192
/* The request head http_flow wrote: it comes whole, within the request head limits. */
#define H2U_REQUEST_HEAD_MAX (256 * 1024)

struct h2_upstream {
	nghttp2_session *ng;
	struct tls_session *tls;
	struct buf_cache *cache;
	size_t max_head;
	struct buf raw_in, raw_out;
	bool dead;   /* no byte more: closed, broken or refused */
	bool closed; /* the upstream closed the connection (a read's 0) */
	bool goaway; /* no new stream may start on it */
	bool flow_blocked;
	/* A response ended before its request's body did: the rest of that body is dropped, and
	 * the connection is not used again (as HTTP/1.1 would close it). */
	bool swallow;
	/* The request in progress: from its first head byte until its response is all read. */
	bool active;
	int32_t id; /* its stream, 0 until the head is submitted */
	struct buf head;
	bool head_sent, is_head_method;
	enum http1_framing framing;
	uint64_t remaining;
	struct http1_chunked chunked;
	struct buf body;
	bool body_ended, deferred;
	/* Its response. */
	struct h2_response_head resp_head;
	bool resp_head_done, resp_chunked, in_trailers, resp_ended, resp_broken;
	struct buf resp, trailers;
	size_t unconsumed; /* DATA bytes in resp still counted against the window */
};

static void request_reset(struct h2_upstream *h)
{
	if (!h->body_ended) {
		h->swallow = true;
		h->goaway = true;
	}
	h->active = false;
	h->id = 0;
	h->head_sent = h->is_head_method = false;
	h->body_ended = h->deferred = false;
	h->resp_head_done = h->resp_chunked = h->in_trailers = false;
	h->resp_ended = h->resp_broken = false;
	h->flow_blocked = false;
	h->unconsumed = 0;
	buf_release(&h->head);
	buf_release(&h->body);
	buf_release(&h->resp);
	buf_release(&h->trailers);
	h2_response_head_fini(&h->resp_head);
	h2_response_head_init(&h->resp_head, h->cache, h->max_head);
}

/* ---- frames out --------------------------------------------------------------------------- */

/* Makes what nghttp2 has to say and hands it to TLS while it takes it. -2 on an error. */
static int send_frames(struct h2_upstream *h)
{
	for (;;) {
		while (buf_len(&h->raw_out) > 0) {
			ssize_t n =
			    tls_session_write_from(h->tls, &h->raw_out, buf_len(&h->raw_out));
			if (n == -1)
				return 0;
			if (n < 0) {
				h->dead = true;
				return -2;
			}
		}
		const uint8_t *data;
		ssize_t n = nghttp2_session_mem_send(h->ng, &data);
		if (n < 0) {
			h->dead = true;
			return -2;
		}
		if (n == 0)
			return 0;
		if (!buf_append(&h->raw_out, data, (size_t)n, H2U_OUT_MAX + (size_t)n)) {
			h->dead = true;
			return -2;
		}
	}
}

static ssize_t body_source(nghttp2_session *ng, int32_t id, uint8_t *dst, size_t length,
			   uint32_t *flags, nghttp2_data_source *source, void *user)
{
	struct h2_upstream *h = user;
	size_t n = buf_len(&h->body);

	if (n > length)
		n = length;
	memcpy(dst, buf_head(&h->body), n);
	buf_consume(&h->body, n);
	if (buf_len(&h->body) == 0 && h->body_ended)
		*flags |= NGHTTP2_DATA_FLAG_EOF;
	else if (n == 0) {
		h->deferred = true;
		return NGHTTP2_ERR_DEFERRED;
	}
	if (n > 0)
		h->flow_blocked = false;
	return (ssize_t)n;
}

/* The head is whole: its fields become the stream's HEADERS. */
static int submit_head(struct h2_upstream *h, const struct http1_request *req)
{
	static _Thread_local struct h2_field
	    fields[HTTP1_MAX_HEADERS_CAP + H2_UPSTREAM_EXTRA_FIELDS];
	static _Thread_local nghttp2_nv nva[HTTP1_MAX_HEADERS_CAP + H2_UPSTREAM_EXTRA_FIELDS];
	char *lower = malloc(buf_len(&h->head) + 1);

	if (!lower)
		return -2;
	size_t n = h2_upstream_request_fields(req, lower, fields);
	if (n == 0) {
		free(lower);
		return -2;
	}
	for (size_t i = 0; i < n; i++)
		nva[i] =
		    (nghttp2_nv){(uint8_t *)fields[i].name.ptr, (uint8_t *)fields[i].value.ptr,
				 fields[i].name.len, fields[i].value.len, NGHTTP2_NV_FLAG_NONE};
	h->framing = req->framing;
	h->remaining = req->content_length;
	if (h->framing == HTTP1_BODY_LENGTH && h->remaining == 0)
		h->framing = HTTP1_BODY_NONE;
	http1_chunked_init(&h->chunked);
	h->body_ended = h->framing == HTTP1_BODY_NONE;
	h->is_head_method = slice_eq(req->method, SLICE_LIT("HEAD"));
	nghttp2_data_provider prd = {.read_callback = body_source};
	int32_t id = nghttp2_submit_request(h->ng, NULL, nva, n,
					    h->framing == HTTP1_BODY_NONE ? NULL : &prd, NULL);
	/* nghttp2 copied the fields. */
	free(lower);
	if (id < 0)
		return -2;
	h->id = id;
	h->head_sent = true;
	return 0;
}

/* Head bytes until the head is whole. Returns how many of p it took, -2 on a bad head. */
static ssize_t take_head(struct h2_upstream *h, const char *p, size_t len)
{
	static _Thread_local struct http1_request req;
	size_t before = buf_len(&h->head);

	if (!buf_append(&h->head, p, len, H2U_REQUEST_HEAD_MAX + len))
		return -2;
	int rc =
	    http1_request_parse(buf_head(&h->head), buf_len(&h->head), HTTP1_MAX_HEADERS_CAP, &req);
	if (rc < 0 || (rc == 0 && buf_len(&h->head) > H2U_REQUEST_HEAD_MAX))
		return -2;
	if (rc == 0)
		return (ssize_t)len;
	if (submit_head(h, &req) < 0)
		return -2;
	size_t used = (size_t)rc - before;
	buf_release(&h->head);
	return (ssize_t)used;
}

/* Body bytes by the head's framing, into `body` while it has room. */
static size_t take_body(struct h2_upstream *h, const char *p, size_t len)
{
	size_t room = buf_len(&h->body) < H2U_BODY_MAX ? H2U_BODY_MAX - buf_len(&h->body) : 0;
	size_t n = len < room ? len : room;

	if (n == 0 || h->body_ended)
		return h->body_ended ? len : 0; /* after the body: nothing of this request */
	if (buf_reserve(&h->body, n, H2U_BODY_MAX) < n)
		return 0;
	if (h->framing == HTTP1_BODY_CHUNKED) {
		size_t got = 0;
		bool done = false;
		ssize_t used =
		    http1_chunked_decode(&h->chunked, p, n, buf_tail(&h->body), &got, &done);
		if (used < 0)
			return (size_t)-1;
		buf_commit(&h->body, got);
		h->body_ended = done;
		n = (size_t)used;
	} else {
		if (n > h->remaining)
			n = (size_t)h->remaining;
		memcpy(buf_tail(&h->body), p, n);
		buf_commit(&h->body, n);
		h->remaining -= n;
		h->body_ended = h->remaining == 0;
	}
	if (h->deferred) {
		h->deferred = false;
		nghttp2_session_resume_data(h->ng, h->id);
	}
	return n;
}

ssize_t h2_upstream_write(struct h2_upstream *h, struct buf *b, size_t n)
{
	size_t took = 0;

	if (n > buf_len(b))
		n = buf_len(b);
	if (h->swallow) {
		buf_consume(b, n);
		return (ssize_t)n;
	}
	if (h->dead || h->resp_broken)
		return -2;
	if (send_frames(h) < 0)
		return -2;
	/* The socket is full: nothing more is taken until it drains. */
	if (buf_len(&h->raw_out) > 0) {
		h->flow_blocked = false;
		return n ? -1 : 0;
	}
	if (n > 0 && !h->active) {
		if (h->goaway)
			return -2;
		h->active = true;
	}
	while (took < n) {
		const char *p = buf_head(b) + took;
		size_t len = n - took;
		if (!h->head_sent) {
			ssize_t used = take_head(h, p, len);
			if (used < 0) {
				h->resp_broken = true;
				return -2;
			}
			took += (size_t)used;
			continue;
		}
		size_t used = take_body(h, p, len);
		if (used == (size_t)-1) {
			h->resp_broken = true;
			return -2;
		}
		if (used == 0)
			break;
		took += used;
	}
	h->flow_blocked = took < n;
	buf_consume(b, took);
	if (send_frames(h) < 0)
		return -2;
	if (took == 0 && n > 0)
		return -1;
	return (ssize_t)took;
}

/* ---- frames in ---------------------------------------------------------------------------- */

static int on_header(nghttp2_session *ng, const nghttp2_frame *frame, const uint8_t *name,
		     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
		     void *user)
{
	struct h2_upstream *h = user;
	struct slice n = slice_make((const char *)name, namelen);
	struct slice v = slice_make((const char *)value, valuelen);

	if (frame->hd.stream_id != h->id || frame->hd.type != NGHTTP2_HEADERS)
		return 0;
	if (h->in_trailers) {
		/* A trailer HTTP/1.1 cannot say is dropped; a chunked body carries the rest. */
		if (h->resp_chunked &&
		    buf_len(&h->trailers) + namelen + valuelen + 4 <= H2U_TRAILERS_MAX)
			h2_trailer_line(n, v, &h->trailers, H2U_TRAILERS_MAX);
		return 0;
	}
	if (h2_response_head_field(&h->resp_head, n, v) != H2_FIELD_OK)
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	return 0;
}

static int on_begin_headers(nghttp2_session *ng, const nghttp2_frame *frame, void *user)
{
	struct h2_upstream *h = user;

	if (frame->hd.stream_id == h->id && h->resp_head_done)
		h->in_trailers = true;
	return 0;
}

/* A whole response head: written for the reader, or dropped when interim (1xx). */
static int head_done(struct h2_upstream *h, bool ended)
{
	if (h->resp_head.status >= 100 && h->resp_head.status < 200 && !h->resp_head.bad) {
		h2_response_head_fini(&h->resp_head);
		h2_response_head_init(&h->resp_head, h->cache, h->max_head);
		return 0;
	}
	if (!h2_response_head_write(&h->resp_head, h->is_head_method, ended, &h->resp,
				    &h->resp_chunked))
		return -1;
	h->resp_head_done = true;
	return 0;
}

static int on_frame_recv(nghttp2_session *ng, const nghttp2_frame *frame, void *user)
{
	struct h2_upstream *h = user;

	if (frame->hd.type == NGHTTP2_GOAWAY) {
		h->goaway = true;
		return 0;
	}
	if (frame->hd.stream_id != h->id || h->id == 0)
		return 0;
	if (frame->hd.type == NGHTTP2_HEADERS && !h->resp_head_done && !h->in_trailers &&
	    head_done(h, (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0) < 0) {
		nghttp2_submit_rst_stream(ng, NGHTTP2_FLAG_NONE, h->id, NGHTTP2_PROTOCOL_ERROR);
		h->resp_broken = true;
	}
	return 0;
}

static int on_data_chunk(nghttp2_session *ng, uint8_t flags, int32_t id, const uint8_t *data,
			 size_t len, void *user)
{
	struct h2_upstream *h = user;
	char size[24];

	if (id != h->id || !h->resp_head_done || h->resp_broken) {
		nghttp2_session_consume(ng, id, len);
		return 0;
	}
	int slen = h->resp_chunked ? snprintf(size, sizeof(size), "%zx\r\n", len) : 0;
	size_t want = buf_len(&h->resp) + (size_t)slen + len + 2;
	if ((slen && !buf_append(&h->resp, size, (size_t)slen, want)) ||
	    !buf_append(&h->resp, data, len, want) ||
	    (slen && !buf_append(&h->resp, "\r\n", 2, want))) {
		nghttp2_session_consume(ng, id, len);
		nghttp2_submit_rst_stream(ng, NGHTTP2_FLAG_NONE, id, NGHTTP2_INTERNAL_ERROR);
		h->resp_broken = true;
		return 0;
	}
	h->unconsumed += len;
	return 0;
}

static int on_stream_close(nghttp2_session *ng, int32_t id, uint32_t code, void *user)
{
	struct h2_upstream *h = user;

	if (id != h->id || h->resp_ended || h->resp_broken)
		return 0;
	if (code != NGHTTP2_NO_ERROR || !h->resp_head_done) {
		h->resp_broken = true;
		return 0;
	}
	h->resp_ended = true;
	if (h->resp_chunked) {
		size_t want = buf_len(&h->resp) + buf_len(&h->trailers) + 5;
		if (!buf_append(&h->resp, "0\r\n", 3, want) ||
		    !buf_append(&h->resp, buf_head(&h->trailers), buf_len(&h->trailers), want) ||
		    !buf_append(&h->resp, "\r\n", 2, want))
			h->resp_broken = true;
	}
	buf_release(&h->trailers);
	return 0;
}

/* Reads what TLS has and feeds it to nghttp2, while the response has room. */
static void recv_frames(struct h2_upstream *h)
{
	for (int rounds = 0; rounds < 8 && !h->dead; rounds++) {
		if (buf_len(&h->resp) >= H2U_WINDOW)
			return;
		ssize_t n = tls_session_read_into(h->tls, &h->raw_in, H2U_READ_MAX);
		if (n == -1)
			return;
		if (n == 0 || n == -2) {
			h->closed = n == 0 || tls_session_truncated(h->tls);
			h->dead = true;
			return;
		}
		ssize_t used = nghttp2_session_mem_recv(
		    h->ng, (const uint8_t *)buf_head(&h->raw_in), buf_len(&h->raw_in));
		buf_consume(&h->raw_in, buf_len(&h->raw_in));
		if (used < 0) {
			h->dead = true;
			return;
		}
	}
}

ssize_t h2_upstream_read(struct h2_upstream *h, struct buf *b, size_t max_cap)
{
	recv_frames(h);
	if (!h->dead)
		send_frames(h);
	size_t n = buf_len(&h->resp);
	if (n == 0) {
		if (h->resp_broken || (h->dead && !h->closed))
			return -2;
		if (h->dead)
			return 0;
		return -1;
	}
	n = buf_take(b, &h->resp, max_cap);
	if (n == 0)
		return -1;
	/* Framing bytes are few: the window opens by what was handed on, at most what came. */
	size_t give = n < h->unconsumed ? n : h->unconsumed;
	if (give > 0 && !h->dead) {
		nghttp2_session_consume(h->ng, h->id, give);
		h->unconsumed -= give;
		send_frames(h);
	}
	if (buf_len(&h->resp) == 0 && h->resp_ended)
		request_reset(h);
	return (ssize_t)n;
}

bool h2_upstream_pending(const struct h2_upstream *h)
{
	return buf_len(&h->resp) > 0 || tls_session_pending(h->tls);
}

bool h2_upstream_write_blocked(const struct h2_upstream *h)
{
	return h->flow_blocked && buf_len(&h->raw_out) == 0;
}

bool h2_upstream_reusable(const struct h2_upstream *h)
{
	return !h->active && !h->dead && !h->goaway && buf_len(&h->raw_out) == 0 &&
	       buf_len(&h->raw_in) == 0 && nghttp2_session_want_read(h->ng) &&
	       nghttp2_session_check_request_allowed(h->ng);
}

bool h2_upstream_idle_read(struct h2_upstream *h)
{
	recv_frames(h);
	if (!h->dead)
		send_frames(h);
	return h2_upstream_reusable(h) && !tls_session_pending(h->tls);
}

struct h2_upstream *h2_upstream_new(struct tls_session *tls, struct buf_cache *cache,
				    size_t max_head)
{
	struct h2_upstream *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->tls = tls;
	h->cache = cache;
	h->max_head = max_head;
	buf_init(&h->raw_in, cache);
	buf_init(&h->raw_out, cache);
	buf_init(&h->head, cache);
	buf_init(&h->body, cache);
	buf_init(&h->resp, cache);
	buf_init(&h->trailers, cache);
	h2_response_head_init(&h->resp_head, cache, max_head);
	static const struct h2_nghttp2_callbacks cb = {on_begin_headers, on_header, on_frame_recv,
						       on_data_chunk, on_stream_close};
	nghttp2_settings_entry iv[] = {
	    {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
	    {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, H2U_WINDOW},
	    {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, (uint32_t)max_head * 2},
	};
	/* The window opens as http_flow reads the response, not as bytes arrive. */
	h->ng = h2_nghttp2_session_new(false, &cb, h, iv, sizeof(iv) / sizeof(iv[0]), H2U_WINDOW);
	if (!h->ng) {
		h2_upstream_free(h);
		return NULL;
	}
	return h;
}

void h2_upstream_free(struct h2_upstream *h)
{
	if (!h)
		return;
	nghttp2_session_del(h->ng);
	buf_release(&h->raw_in);
	buf_release(&h->raw_out);
	buf_release(&h->head);
	buf_release(&h->body);
	buf_release(&h->resp);
	buf_release(&h->trailers);
	h2_response_head_fini(&h->resp_head);
	free(h);
}
