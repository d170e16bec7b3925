/* reload_revoke: a reload takes permissions away at once. Open CONNECT tunnels still running
 * under an older policy snapshot are judged again under the current one, and those it denies
 * are closed. Does not decide by itself (policy/ does) and does not time anything (the worker
 * arms the sweep timeouts.reload_revoke after a reload). */
#ifndef SLUICE_IO_RELOAD_REVOKE_H
#define SLUICE_IO_RELOAD_REVOKE_H

#include <stdbool.h>

struct conn;
struct worker;

/* A tunnel about to open (its CONNECT was judged before a reload): true when it may, and it
 * then runs under the current snapshot; otherwise the client got the new policy's refusal. */
bool reload_revoke_admit(struct conn *c);
/* Closes every open tunnel on an older snapshot that the current one denies; moves the others
 * to the current snapshot. */
void reload_revoke_sweep(struct worker *w);

#endif
