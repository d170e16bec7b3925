/* jail: `sluice jail [-c FILE] [--log FILE] -- CMD ARGS...` — runs CMD in a new network namespace
 * whose only reachable destination is a sluice listener served from outside it.
 * Does not proxy (the worker does) nor confine anything but the network (see docs/jail.md). */
#ifndef SLUICE_DAEMON_JAIL_H
#define SLUICE_DAEMON_JAIL_H

struct config;

/* Exit status of jail's own failures, as env(1) and timeout(1) use it: CMD never ran. */
#define JAIL_EXIT_FAILED 125

/* argv[0] is "jail". load_config reads FILE (NULL: the embedded default) and says on stderr why
 * it cannot. Returns CMD's exit status (128+N when signal N killed it), 126 when CMD could not
 * be executed, 127 when it was not found, JAIL_EXIT_FAILED when the jail could not be made. */
int jail_main(int argc, char **argv, struct config *(*load_config)(const char *path));

#endif
