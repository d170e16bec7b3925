/* approval_store: the process-wide side of approvals — the standing answers (loaded from
 * approvals.file at start and on every reload, added to by operators' answers and written back
 * to the file), the queue of held requests waiting for an answer, and the console's feed of
 * their changes. Shared by the workers (which hold requests and copy the standing answers when
 * they change) and the admin thread (which lists and answers); every call is thread-safe.
 * Does not decide (policy/approvals matches) nor hold connections (io/hold). */
#ifndef SLUICE_IO_APPROVAL_STORE_H
#define SLUICE_IO_APPROVAL_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "config/config.h"
#include "policy/approvals.h"
#include "policy/reason.h"

struct event;
struct approval_store;

enum pending_kind { PENDING_CONNECT, PENDING_HTTP, PENDING_DNS };

/* What an operator answered (or what became of a held request). */
enum approval_answer {
	APPROVAL_WAITING, /* no answer yet */
	APPROVAL_ONCE,	  /* the requests held now go on */
	APPROVAL_AGENT,	  /* a standing approval for this agent */
	APPROVAL_ALL,	  /* a standing approval for every agent */
	APPROVAL_DENY,
};

/* "once", "agent", "all", "deny" (and "waiting"); false when name is none of the four answers. */
const char *approval_answer_name(enum approval_answer a);
bool approval_answer_from_name(struct slice name, enum approval_answer *out);

/* A held request, as /api/pending shows it. */
struct pending_request {
	enum pending_kind kind;
	const char *agent;
	struct slice host;
	uint16_t port; /* 0 for a DNS question */
	struct slice method, path;
	enum reason reason;
	const char *rule;
	unsigned timeout_ms;
};

/* file: approvals.file ("" = in memory only), copied. NULL when out of memory. */
struct approval_store *approval_store_new(const char *file);
void approval_store_free(struct approval_store *s);
/* Start and reload (main thread): the file named becomes the store's file, and its approvals
 * (a missing file is none) the standing ones, replacing those in memory; answers given
 * since the last load are in the file already. Expired ones are dropped. Returns 0, or -1 with
 * why (the standing approvals then stay). */
int approval_store_load(struct approval_store *s, const char *file, char *why, size_t why_size);
/* Worker index's wake-up: activated (from any thread) when an answer concerns it. */
void approval_store_set_wake(struct approval_store *s, unsigned index, struct event *ev);

/* Told of each new entry (not of requests joining one), from the holding worker's thread with
 * the store's lock held: it must only queue. line is the feed's {"event":"pending",...}. */
typedef void approval_notify_fn(void *arg, uint64_t id, const struct pending_request *p,
				const char *line, size_t len);
void approval_store_set_notify(struct approval_store *s, approval_notify_fn *fn, void *arg);

/* Bumped on every change of the standing approvals: a worker copies them when it differs. */
uint64_t approval_store_generation(struct approval_store *s);
/* Copies the standing approvals into dst; sets *generation. Returns 0 or -1 (out of memory). */
int approval_store_copy(struct approval_store *s, struct approval_list *dst, uint64_t *generation);

/* Worker `index` holds a request: it joins the entry waiting for the same agent, host and
 * port, or starts one (announced on the console's feed). Returns the entry's id (> 0), or 0
 * when max_pending entries wait already. */
uint64_t approval_store_hold(struct approval_store *s, unsigned index,
			     const struct pending_request *p, unsigned max_pending);
/* The answer the entry got (APPROVAL_WAITING while none), and who gave it (by, may be NULL). */
enum approval_answer approval_store_answer_of(struct approval_store *s, uint64_t id, char *by,
					      size_t by_size);
/* One held request of the entry is gone (answered, timed out, or its client left); the last
 * one removes the entry. */
void approval_store_leave(struct approval_store *s, uint64_t id);

/* What approval_store_answer did. */
struct approval_result {
	int status;	   /* 200, 404 (no such entry waiting), 400 (expires on once/deny), 500 */
	unsigned released; /* requests held on the entry */
	bool persisted;	   /* a standing approval written to approvals.file */
	char error[160];   /* why, when status is not 200 */
};

/* An operator's answer to entry id: marks it (and, for agent or all, every waiting entry the
 * new approval covers), adds and writes the standing approval, wakes the workers holding them,
 * and announces it on the feed. expires_s: seconds from now, 0 = never. */
void approval_store_answer(struct approval_store *s, uint64_t id, enum approval_answer answer,
			   int64_t expires_s, const char *by, struct approval_result *out);
/* Removes a standing approval (agent "*" for every agent's). Returns 200 or 404; 500 when the
 * file could not be written. */
int approval_store_revoke(struct approval_store *s, const char *agent, struct slice host,
			  uint16_t port);

/* {"pending":[...]} and {"approvals":[...]}, appended to out (up to max bytes). False when
 * they did not fit. */
bool approval_store_pending_json(struct approval_store *s, struct buf *out, size_t max);
bool approval_store_approvals_json(struct approval_store *s, struct buf *out, size_t max);
/* The feed since *cursor: one JSON object per line, each `{"event":"pending",...}` or
 * `{"event":"answered",...}`, appended to out; advances *cursor. The feed keeps the last 256
 * changes. */
void approval_store_feed(struct approval_store *s, uint64_t *cursor, struct buf *out, size_t max);

/* The cursor just past the feed's newest line: a new subscriber starts here. */
uint64_t approval_store_feed_end(struct approval_store *s);

#endif
