#include "io/h2_nghttp2.h"

nghttp2_session *h2_nghttp2_session_new(bool server, const struct h2_nghttp2_callbacks *cb,
					void *user, const nghttp2_settings_entry *iv, size_t n,
					int32_t window)
{
	nghttp2_session_callbacks *cbs;
	nghttp2_option *opt;
	nghttp2_session *ng = NULL;

	if (nghttp2_session_callbacks_new(&cbs) != 0)
		return NULL;
	if (nghttp2_option_new(&opt) != 0) {
		nghttp2_session_callbacks_del(cbs);
		return NULL;
	}
	nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, cb->begin_headers);
	nghttp2_session_callbacks_set_on_header_callback(cbs, cb->header);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, cb->frame_recv);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, cb->data_chunk);
	nghttp2_session_callbacks_set_on_stream_close_callback(cbs, cb->stream_close);
	nghttp2_option_set_no_auto_window_update(opt, 1);
	nghttp2_option_set_max_outbound_ack(opt, 1000);
	int rc = server ? nghttp2_session_server_new2(&ng, cbs, user, opt)
			: nghttp2_session_client_new2(&ng, cbs, user, opt);
	nghttp2_option_del(opt);
	nghttp2_session_callbacks_del(cbs);
	if (rc != 0)
		return NULL;
	if (nghttp2_submit_settings(ng, NGHTTP2_FLAG_NONE, iv, n) != 0 ||
	    nghttp2_session_set_local_window_size(ng, NGHTTP2_FLAG_NONE, 0, window) != 0) {
		nghttp2_session_del(ng);
		return NULL;
	}
	return ng;
}
