/* log_sink: collects decision log lines and writes them to stdout in batches, one write per
 * loop turn, so a line is never split and logging never blocks the event loop.
 * Does not format lines (emit/log_json does). */
#ifndef SLUICE_IO_LOG_SINK_H
#define SLUICE_IO_LOG_SINK_H

#include <stdbool.h>
#include <stddef.h>

struct buf_cache;
struct event_base;
struct log_sink;

/* Once per process, before the workers start: makes writes to fd (stdout) non-blocking, so a
 * log consumer that stops reading costs dropped lines, never a stalled event loop. A pipe or
 * terminal is reopened as a new open file description, so the caller's shell or collector keeps
 * its blocking one; a regular file is left alone. Returns 0, or -1 (fd unchanged). */
int log_sink_prepare_output(int fd);
/* The batch's memory comes from cache (the worker's: a batch written out every loop turn then
 * costs no malloc), which must outlive the sink. */
struct log_sink *log_sink_new(struct event_base *base, int fd, struct buf_cache *cache);
/* Flushes what is pending while the output takes it (giving up after 200 ms of no progress, so
 * a stuck reader cannot hold up a stop) and frees. */
void log_sink_free(struct log_sink *sink);
/* Room for one line of at most max bytes at the end of the batch, for the caller to format in
 * place (no copy). NULL when the line is to be dropped because the output has not kept up (over
 * 4 MiB already pending): the caller counts it (sluice_log_lines_dropped_total). */
char *log_sink_line_begin(struct log_sink *sink, size_t max);
/* Queues the len bytes formatted where log_sink_line_begin said. */
void log_sink_line_end(struct log_sink *sink, size_t len);
void log_sink_flush(struct log_sink *sink);

#endif
