/* log_sink: collects decision log lines and writes them to stdout in batches, one write per
 * loop turn, so a line is never split and logging never blocks the event loop for long.
 * Does not format lines (emit/log_json does). */
#ifndef SLUICE_IO_LOG_SINK_H
#define SLUICE_IO_LOG_SINK_H

#include <stddef.h>

struct event_base;
struct log_sink;

struct log_sink *log_sink_new(struct event_base *base, int fd);
/* Flushes what is pending (blocking briefly if need be) and frees. */
void log_sink_free(struct log_sink *sink);
void log_sink_write(struct log_sink *sink, const char *line, size_t len);
void log_sink_flush(struct log_sink *sink);
/* Lines dropped because the output could not keep up. */
unsigned long log_sink_dropped(const struct log_sink *sink);

#endif
