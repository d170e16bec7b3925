/* jail_resolv: the jailed command's own mount namespace, private, in which /etc/resolv.conf (or
 * the file its symlink leads to) names sluice's DNS listener inside the jail, 127.0.0.1.
 * Does not make the network namespace nor answer DNS (daemon/jail and the worker do). */
#ifndef SLUICE_DAEMON_JAIL_RESOLV_H
#define SLUICE_DAEMON_JAIL_RESOLV_H

/* For the jail's child, once it is in the jail's network namespace (and, as an ordinary user, in
 * the user namespace that owns it, whose capabilities allow mounting). Returns 0, or -1 after
 * saying on stderr why the command sees the host's resolv.conf instead. Nothing outside the new
 * mount namespace is changed, whichever it returns. */
int jail_resolv_init(void);

#endif
