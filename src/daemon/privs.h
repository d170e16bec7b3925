/* privs: gives up what the daemon no longer needs once its listeners are bound: root (for the
 * configured user) and the ability ever to gain privileges again. Does not filter system calls
 * (sandbox does that). */
#ifndef SLUICE_DAEMON_PRIVS_H
#define SLUICE_DAEMON_PRIVS_H

#include <stddef.h>

struct config;

/* Runs as cfg->user (its uid, primary group and supplementary groups) when one is set, checks
 * that root cannot be regained, and sets no_new_privs in every case. Call it after every
 * listener is bound and before any thread starts (credentials are per thread in the kernel;
 * glibc syncs them, but a drop before the threads exist leaves nothing to sync). Returns 0, or
 * -1 with a one-line message in err. */
int privs_drop(const struct config *cfg, char *err, size_t err_size);

/* Only no_new_privs: for a process that must keep its credentials (jail's parent). */
int privs_no_new_privs(char *err, size_t err_size);

#endif
