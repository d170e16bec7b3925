/* conn_census: a worker's live connections for the census; see conn_census.h. */
#include "io/conn_census.h"

#include <stdbool.h>

#include "base/buf.h"
#include "emit/json_write.h"
#include "io/census.h"
#include "io/conn.h"
#include "io/worker.h"

/* A line is well under this (the host is at most 253 bytes, escaped at most 6 times over). */
#define CONN_CENSUS_LINE_MAX 2048
#define CONN_CENSUS_BYTES_MAX ((size_t)CONN_CENSUS_MAX * CONN_CENSUS_LINE_MAX)

/* One connection's line, written into line (emptied first). False when it did not fit. */
static bool census_line(const struct conn *c, uint64_t now_ms, struct buf *line)
{
	const struct conn_request *r = &c->req;
	struct json_write j;

	buf_release(line);
	json_write_init(&j, line, CONN_CENSUS_LINE_MAX);
	json_write_object(&j);
	if (r->log_id) {
		json_write_key(&j, "id");
		json_write_int(&j, (int64_t)r->log_id);
	}
	json_write_key(&j, "worker");
	json_write_int(&j, c->w->index);
	json_write_key(&j, "state");
	json_write_cstr(&j, conn_state_name(c->state));
	json_write_key(&j, "client");
	json_write_cstr(&j, c->client_text);
	json_write_key(&j, "agent");
	json_write_cstr(&j, r->agent ? r->agent->name : "default");
	if (r->method[0]) {
		json_write_key(&j, "method");
		json_write_cstr(&j, r->method);
	}
	/* A name that carried a secret is not shown here either (the log withholds it too). */
	if (r->dest.name_len && !r->host_withheld) {
		json_write_key(&j, "host");
		json_write_string(&j, slice_make(r->dest.name, r->dest.name_len));
		json_write_key(&j, "port");
		json_write_int(&j, r->dest.port);
	}
	if (c->parent) {
		json_write_key(&j, "stream_of");
		json_write_int(&j, (int64_t)c->parent->req.log_id);
	}
	if (r->started_ms) {
		json_write_key(&j, "age_ms");
		json_write_int(&j, (int64_t)(now_ms > r->started_ms ? now_ms - r->started_ms : 0));
	}
	json_write_key(&j, "idle_ms");
	json_write_int(&j,
		       (int64_t)(now_ms > c->last_activity_ms ? now_ms - c->last_activity_ms : 0));
	json_write_key(&j, "bytes_up");
	json_write_int(&j, (int64_t)r->bytes_up);
	json_write_key(&j, "bytes_down");
	json_write_int(&j, (int64_t)r->bytes_down);
	if (r->intercept) {
		json_write_key(&j, "intercepted");
		json_write_bool(&j, true);
	}
	json_write_end(&j);
	return json_write_ok(&j) && buf_append(line, "\n", 1, CONN_CENSUS_LINE_MAX);
}

void conn_census_answer(struct worker *w)
{
	struct buf out = {0}, line = {0}; /* no cache: out's memory goes to the admin thread */
	uint64_t now_ms = conn_now_ms();
	unsigned listed = 0, more = 0;

	for (const struct conn *c = w->conns; c; c = c->next) {
		if (c->state == CONN_CLOSED)
			continue;
		if (listed < CONN_CENSUS_MAX && census_line(c, now_ms, &line) &&
		    buf_append(&out, buf_head(&line), buf_len(&line), CONN_CENSUS_BYTES_MAX))
			listed++;
		else
			more++;
	}
	buf_release(&line);
	if (more) {
		struct json_write j;
		json_write_init(&j, &out, CONN_CENSUS_BYTES_MAX + 64);
		json_write_object(&j);
		json_write_key(&j, "worker");
		json_write_int(&j, w->index);
		json_write_key(&j, "more");
		json_write_int(&j, more);
		json_write_end(&j);
		buf_append(&out, "\n", 1, CONN_CENSUS_BYTES_MAX + 64);
	}
	census_answer(w->census, w->index, &out);
}
