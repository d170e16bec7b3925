#include "io/log_sink.h"

#include <errno.h>
#include <fcntl.h>
#include <event2/event.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"

/* Past this much pending output, new lines are dropped (the caller counts them) rather than
 * letting a stalled stdout consumer grow sluice's memory without bound. */
#define LOG_SINK_MAX_PENDING (4u << 20)

/* A busy turn's lines go out in writes of this much (the batch block holds one more line). */
#define LOG_SINK_FLUSH_AT (32u * 1024)
#define LOG_SINK_BLOCK (64u * 1024)

/* At exit, how long the consumer may take nothing before the rest of the log is lost. */
#define LOG_SINK_STUCK_MS 200

struct log_sink {
	int fd;
	struct buf pending;
	struct event *flush_ev;
	/* Armed when the output is full (a pipe or socket whose reader lags): the next flush
	 * runs when it drains, not on every loop turn. NULL for a regular file, which epoll
	 * cannot watch and which never fills. */
	struct event *writable_ev;
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

int log_sink_prepare_output(int fd)
{
	struct stat st;
	char path[32];
	int flags;

	if (fstat(fd, &st) != 0)
		return -1;
	if (S_ISREG(st.st_mode))
		return 0;
	/* A pipe or terminal reopened through /proc is a new open file description: making it
	 * non-blocking does not change the one a shell or a log collector shares with us. */
	if (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode)) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		int own = open(path, O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
		if (own >= 0) {
			int rc = dup2(own, fd);
			close(own);
			if (rc >= 0)
				return 0;
		}
	}
	/* A socket (journald's stdout stream) cannot be reopened; it is ours alone anyway. */
	flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0)
		return -1;
	return 0;
}

struct log_sink *log_sink_new(struct event_base *base, int fd, struct buf_cache *cache)
{
	struct log_sink *sink = calloc(1, sizeof(*sink));
	struct stat st;

	if (!sink)
		return NULL;
	sink->fd = fd;
	buf_init(&sink->pending, cache);
	sink->chunk_lines = fstat(fd, &st) == 0 && !S_ISREG(st.st_mode);
	sink->flush_ev = event_new(base, -1, 0, log_sink_on_flush, sink);
	if (sink->chunk_lines)
		sink->writable_ev = event_new(base, fd, EV_WRITE, log_sink_on_flush, sink);
	if (!sink->flush_ev || (sink->chunk_lines && !sink->writable_ev)) {
		if (sink->flush_ev)
			event_free(sink->flush_ev);
		free(sink);
		return NULL;
	}
	return sink;
}

/* The last flush: what is pending (at most LOG_SINK_MAX_PENDING) goes out as long as the
 * consumer takes it; a consumer that takes nothing for LOG_SINK_STUCK_MS loses the rest, so a
 * stuck log cannot hold up a stop (each worker's sink gives up on its own). */
static void log_sink_final_flush(struct log_sink *sink)
{
	size_t last = SIZE_MAX;

	for (;;) {
		log_sink_flush(sink);
		size_t left = buf_len(&sink->pending);
		/* Done, or nothing went out although the output said it was writable (a full
		 * disk, a closed pipe): stop either way. */
		if (left == 0 || left == last)
			return;
		last = left;
		struct pollfd p = {.fd = sink->fd, .events = POLLOUT};
		int rc = poll(&p, 1, LOG_SINK_STUCK_MS);
		if (rc == 0 || (rc < 0 && errno != EINTR))
			return;
	}
}

void log_sink_free(struct log_sink *sink)
{
	if (!sink)
		return;
	log_sink_final_flush(sink);
	if (sink->writable_ev)
		event_free(sink->writable_ev);
	event_free(sink->flush_ev);
	buf_release(&sink->pending);
	free(sink);
}

char *log_sink_line_begin(struct log_sink *sink, size_t max)
{
	/* An empty batch takes a 64 KiB block: with the flush at LOG_SINK_FLUSH_AT, a batch
	 * that keeps up never has to grow (and copy) within a turn. */
	size_t want = buf_len(&sink->pending) == 0 ? LOG_SINK_BLOCK : max;
	if (buf_len(&sink->pending) + max > LOG_SINK_MAX_PENDING ||
	    buf_reserve(&sink->pending, want, LOG_SINK_MAX_PENDING) < max)
		return NULL;
	return buf_tail(&sink->pending);
}

void log_sink_line_end(struct log_sink *sink, size_t len)
{
	buf_commit(&sink->pending, len);
	/* Activate once: the flush runs after the callbacks of this loop turn. While the output
	 * is full, the writable event does it instead. */
	bool output_full = sink->writable_ev && event_pending(sink->writable_ev, EV_WRITE, NULL);
	if (!sink->scheduled && !output_full) {
		sink->scheduled = true;
		event_active(sink->flush_ev, EV_TIMEOUT, 0);
	}
	if (buf_len(&sink->pending) >= LOG_SINK_FLUSH_AT && !output_full)
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
		/* The consumer lags (EAGAIN) or is gone: keep what is pending, bounded by
		 * LOG_SINK_MAX_PENDING, and try again when the output can take more. The event
		 * loop never waits for the log. */
		if (n < 0 && errno == EAGAIN && sink->writable_ev)
			event_add(sink->writable_ev, NULL);
		return;
	}
}
