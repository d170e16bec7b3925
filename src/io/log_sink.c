#include "io/log_sink.h"

#include <errno.h>
#include <event2/event.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"

/* Past this much pending output, new lines are dropped (and counted) rather than letting a
 * stalled stdout consumer grow sluice's memory without bound. */
#define LOG_SINK_MAX_PENDING (4u << 20)

struct log_sink {
	int fd;
	struct buf pending;
	struct event *flush_ev;
	unsigned long dropped;
	bool scheduled;
	/* Several workers share stdout. A write to a pipe is atomic only up to PIPE_BUF, so
	 * there each write carries whole lines of at most PIPE_BUF bytes; on a regular file one
	 * write() is never interleaved with another. */
	bool chunk_lines;
};

static void log_sink_on_flush(evutil_socket_t fd, short what, void *arg)
{
	struct log_sink *sink = arg;
	sink->scheduled = false;
	log_sink_flush(sink);
}

struct log_sink *log_sink_new(struct event_base *base, int fd)
{
	struct log_sink *sink = calloc(1, sizeof(*sink));
	if (!sink)
		return NULL;
	sink->fd = fd;
	struct stat st;
	sink->chunk_lines = fstat(fd, &st) == 0 && !S_ISREG(st.st_mode);
	sink->flush_ev = event_new(base, -1, 0, log_sink_on_flush, sink);
	if (!sink->flush_ev) {
		free(sink);
		return NULL;
	}
	return sink;
}

void log_sink_free(struct log_sink *sink)
{
	if (!sink)
		return;
	log_sink_flush(sink);
	event_free(sink->flush_ev);
	buf_release(&sink->pending);
	free(sink);
}

void log_sink_write(struct log_sink *sink, const char *line, size_t len)
{
	if (!buf_append(&sink->pending, line, len, LOG_SINK_MAX_PENDING)) {
		sink->dropped++;
		return;
	}
	/* Activate once: the flush runs after the callbacks of this loop turn. */
	if (!sink->scheduled) {
		sink->scheduled = true;
		event_active(sink->flush_ev, EV_TIMEOUT, 0);
	}
	if (buf_len(&sink->pending) >= 64 * 1024)
		log_sink_flush(sink);
}

/* How many pending bytes the next write() may carry without splitting a line. */
static size_t log_sink_next_write(const struct log_sink *sink)
{
	size_t len = buf_len(&sink->pending);
	const char *p = buf_head(&sink->pending);

	if (!sink->chunk_lines || len <= PIPE_BUF)
		return len;
	for (size_t i = PIPE_BUF; i > 0; i--)
		if (p[i - 1] == '\n')
			return i;
	/* One line longer than PIPE_BUF: write it whole. */
	const char *nl = memchr(p, '\n', len);
	return nl ? (size_t)(nl - p) + 1 : len;
}

void log_sink_flush(struct log_sink *sink)
{
	while (buf_len(&sink->pending) > 0) {
		size_t len = log_sink_next_write(sink);
		ssize_t n = write(sink->fd, buf_head(&sink->pending), len);
		if (n > 0) {
			buf_consume(&sink->pending, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			struct pollfd p = {.fd = sink->fd, .events = POLLOUT};
			if (poll(&p, 1, 100) > 0)
				continue;
		}
		/* stdout is gone or stuck: keep what is pending for the next turn. */
		return;
	}
}

unsigned long log_sink_dropped(const struct log_sink *sink)
{
	return sink->dropped;
}
