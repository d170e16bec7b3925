/* h2_nghttp2: the one way sluice makes an nghttp2 session, server (io/h2_flow) or client
 * (io/h2_upstream): the five callbacks both sides need, no automatic WINDOW_UPDATE (a window
 * opens as the other side of sluice takes the bytes, so held data stays bounded), at most 1000
 * unanswered SETTINGS and PING frames, then the side's SETTINGS and connection window
 * submitted. Does not read, write or own a socket. */
#ifndef SLUICE_IO_H2_NGHTTP2_H
#define SLUICE_IO_H2_NGHTTP2_H

#include <nghttp2/nghttp2.h>
#include <stdbool.h>
#include <stddef.h>

struct h2_nghttp2_callbacks {
	nghttp2_on_begin_headers_callback begin_headers;
	nghttp2_on_header_callback header;
	nghttp2_on_frame_recv_callback frame_recv;
	nghttp2_on_data_chunk_recv_callback data_chunk;
	nghttp2_on_stream_close_callback stream_close;
};

/* A new session (server or client) calling cb with user, its SETTINGS iv[0..n) and a
 * connection window of window bytes queued. NULL when out of memory. */
nghttp2_session *h2_nghttp2_session_new(bool server, const struct h2_nghttp2_callbacks *cb,
					void *user, const nghttp2_settings_entry *iv, size_t n,
					int32_t window);

#endif
