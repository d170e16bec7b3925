/* console: the console's resources on the admin listener (docs/console.md) — the page, the live
 * stream of decisions (/api/events, Server-Sent Events), the last decisions, per-agent
 * counters, the approval queue and its answers, the standing approvals — and who may use them
 * (loopback, or a bearer token; actions only by a same-origin POST). Runs on the admin thread:
 * drains the workers' event rings on a timer of its own, so no worker ever waits for it. Does
 * not accept connections or parse heads (io/admin does) nor hold requests (io/hold). */
#ifndef SLUICE_IO_CONSOLE_H
#define SLUICE_IO_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"
#include "base/slice.h"
#include "config/config.h"
#include "emit/metrics.h"

struct console;
struct event_base;
struct event_ring;
struct approval_store;
struct http1_request;

/* What the console shows, shared with the workers and outliving the console. */
struct census;
struct console_sources {
	struct approval_store *store;	 /* approvals and the queue of held requests */
	struct event_ring *const *rings; /* each worker's log lines, one per worker */
	struct census *census;		 /* the workers' open connections (/api/connections) */
};

/* cfg's console: and listen.admin settings are copied. src's parts and the workers' counters
 * (n of them) must outlive the console. NULL when out of memory. */
struct console *console_new(struct event_base *base, const struct config *cfg,
			    const struct console_sources *src, struct metrics *const *workers,
			    unsigned n);
void console_free(struct console *c);
/* Thread-safe: the policy /api/policy shows from now on (cfg->policy_text is copied). */
void console_set_policy(struct console *c, const struct config *cfg, uint64_t generation);

enum console_outcome {
	CONSOLE_NOT_MINE, /* not a console resource: the admin answers it */
	CONSOLE_REPLIED,  /* the whole reply is in out */
	CONSOLE_STREAM,	  /* the reply's head is in out; hand the socket to console_stream */
};

/* One request: req parsed from a head whose body (content-length bytes) is body; peer is the
 * client's address text, for "by". */
enum console_outcome console_handle(struct console *c, const struct http1_request *req,
				    struct slice body, const char *peer, struct buf *out);
/* After CONSOLE_STREAM: the console owns fd from now on and writes out first. */
void console_stream(struct console *c, int fd, struct buf *out);

#endif
