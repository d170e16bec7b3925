/* webhook: approvals.webhook — each new pending request POSTed as JSON to the operator's URL (a
 * chat hook, a pager, a script of their own), from a thread of its own, so that a slow or dead
 * receiver never delays a worker or the admin loop. One attempt each (the queue in /api/pending
 * is the record, the webhook only the nudge), a bounded backlog, failures said on stderr.
 * Does not hold or answer requests (io/hold, io/approval_store). */
#ifndef SLUICE_IO_WEBHOOK_H
#define SLUICE_IO_WEBHOOK_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "io/approval_store.h"

/* Requests waiting to be sent: past it, a new one is dropped (and said so). */
#define WEBHOOK_BACKLOG_MAX 64
/* Connecting, the TLS handshake, sending and reading the status line, each. */
#define WEBHOOK_TIMEOUT_MS 5000

struct webhook;

/* Starts the sending thread. NULL (having said why on stderr) when it cannot. */
struct webhook *webhook_new(void);
/* Stops the thread; what was not sent yet is dropped. */
void webhook_free(struct webhook *w);
/* The receiver (approvals.webhook; no host: none) and the value of webhook_secret_env (NULL or
 * "": the body is not signed), copied; at start and on every reload. */
void webhook_configure(struct webhook *w, const struct approvals_config *a, const char *secret);
/* approval_store_set_notify's callback (arg: the webhook): queues the entry's announcement. */
void webhook_notify(void *arg, uint64_t id, const struct pending_request *p, const char *line,
		    size_t len);

#endif
