/* sandbox: a seccomp allow-list of the system calls sluice makes once it serves, and a clear
 * message (then exit 70) when anything else is attempted. Does not change credentials (privs
 * does) and does not know why each call is needed beyond the comments in sandbox.c. */
#ifndef SLUICE_DAEMON_SANDBOX_H
#define SLUICE_DAEMON_SANDBOX_H

#include <stddef.h>

struct config;

enum sandbox_state {
	SANDBOX_ON,	     /* the filter is loaded for this process and every later thread */
	SANDBOX_OFF,	     /* seccomp: false */
	SANDBOX_UNAVAILABLE, /* built without libseccomp: nothing filtered */
};

/* Exit status after a blocked call (EX_SOFTWARE: a call outside the list is a bug in sluice). */
#define SANDBOX_EXIT_BLOCKED 70

/* Loads the filter when cfg->seccomp is set. Call it after the listeners are bound, privileges
 * dropped and files read, before the worker threads start, so they inherit it. Returns the
 * state, or -1 with a one-line message in err (the caller must not serve then). */
int sandbox_apply(const struct config *cfg, char *err, size_t err_size);

#endif
