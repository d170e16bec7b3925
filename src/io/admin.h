/* admin: the listen.admin HTTP listener — /healthz, /readyz and /metrics (Prometheus text) —
 * on a thread and event loop of its own, so a scrape never delays proxy traffic and a busy
 * worker never delays a probe; /ca.pem when a TLS CA is loaded. Does not serve proxy traffic: any
 * other target is 404. */
#ifndef SLUICE_IO_ADMIN_H
#define SLUICE_IO_ADMIN_H

#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"
#include "emit/metrics.h"

struct admin;

/* Binds and listens on `at` (no SO_REUSEPORT: the address is this process's alone). workers
 * are the n per-worker counters and proc the process-wide ones; all must outlive the admin.
 * Returns NULL after saying why on stderr. */
struct admin *admin_new(const struct config_endpoint *at, struct metrics *const *workers,
			unsigned n, const struct metrics_process *proc);
/* /ca.pem serves pem (len bytes, copied) as application/x-pem-file; without it, 404. Call
 * before admin_start. Returns -1 when out of memory. */
int admin_set_ca_pem(struct admin *a, const char *pem, size_t len);
/* /metrics adds the interception leaf cache's counters (mint outlives the admin). Call before
 * admin_start. */
struct tls_mint;
void admin_set_mint(struct admin *a, struct tls_mint *mint);
/* The console (io/console) on this listener, showing src (its rings one per worker, as many
 * as admin_new's counters), all outliving the admin. Call before admin_start. Returns -1 when
 * out of memory. */
struct console_sources;
int admin_set_console(struct admin *a, const struct config *cfg, const struct console_sources *src);
/* Thread-safe: the policy the console's /api/policy shows (nothing without a console). */
void admin_set_policy(struct admin *a, const struct config *cfg, uint64_t generation);
/* Starts serving on the admin's own thread. Returns 0, or -1 after saying why on stderr. */
int admin_start(struct admin *a);
/* Thread-safe: /readyz answers 200 while ready, 503 otherwise (the initial state). */
void admin_set_ready(struct admin *a, bool ready);
/* Stops the thread (when started), closes every admin connection and the listener. */
void admin_free(struct admin *a);

#endif
