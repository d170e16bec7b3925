/* hold: a request held for an operator's answer (mode ask, ask patterns) — registered in the
 * approval store, parked (state held, the approvals.timeout timer armed), and handed back to
 * its protocol once answered, timed out, or refused for lack of room in the queue. Does not
 * decide (policy/ marks a verdict as one to ask about) nor answer (io/admin does). */
#ifndef SLUICE_IO_HOLD_H
#define SLUICE_IO_HOLD_H

#include <stdbool.h>

#include "io/approval_store.h"

struct conn;
struct worker;

/* Holds the current request, described by p: returns true once it waits (the protocol then
 * does nothing more until resume(c) is called with c->req.hold_outcome set). False when the
 * queue is full: hold_outcome is then HOLD_BUSY and nothing was held. */
bool hold_begin(struct conn *c, const struct pending_request *p, void (*resume)(struct conn *c));
/* The worker's wake-up (approval_store_set_wake): resumes every held request that was answered. */
void hold_on_wake(struct worker *w);

#endif
