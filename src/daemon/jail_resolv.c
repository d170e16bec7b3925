#include "daemon/jail_resolv.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#define JAIL_RESOLV_PATH "/etc/resolv.conf"
/* Where the generated file is made: a tmpfs mounted there in the new namespace only, and
 * unmounted again once the file is bind-mounted (the bind mount keeps it), so that the command
 * finds the /tmp it had. A file made on the host's file system would outlive a crash. */
#define JAIL_RESOLV_STAGE "/tmp"
#define JAIL_RESOLV_STAGED JAIL_RESOLV_STAGE "/resolv.conf"

/* No search domains and no other server: every name goes to sluice as it is asked. */
static const char jail_resolv_text[] = "# sluice jail: names are resolved by sluice, under its "
				       "policy (docs/jail.md)\n"
				       "nameserver 127.0.0.1\n";

/* Why the command keeps the host's file, and that the jail works on. */
static void __attribute__((format(printf, 1, 2))) jail_resolv_warn(const char *fmt, ...)
{
	va_list ap;

	fputs("sluice jail: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("; the command sees the host's " JAIL_RESOLV_PATH
	      " (sluice still answers DNS at 127.0.0.1:53 in the jail)\n",
	      stderr);
}

static int jail_resolv_write(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	size_t len = sizeof(jail_resolv_text) - 1;
	bool ok;

	if (fd < 0)
		return -1;
	ok = write(fd, jail_resolv_text, len) == (ssize_t)len;
	if (close(fd) != 0)
		ok = false;
	return ok ? 0 : -1;
}

/* Bind-mounts the generated file over target, by way of a tmpfs on the stage. */
static int jail_resolv_mount(const char *target)
{
	int rc = -1;

	if (mount("sluice-jail", JAIL_RESOLV_STAGE, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  "size=16k,mode=0755") != 0) {
		jail_resolv_warn("cannot mount a tmpfs on %s for the generated file: %s",
				 JAIL_RESOLV_STAGE, strerror(errno));
		return -1;
	}
	if (jail_resolv_write(JAIL_RESOLV_STAGED) != 0)
		jail_resolv_warn("cannot write %s: %s", JAIL_RESOLV_STAGED, strerror(errno));
	else if (mount(JAIL_RESOLV_STAGED, target, NULL, MS_BIND, NULL) != 0)
		jail_resolv_warn("cannot bind-mount over %s: %s", target, strerror(errno));
	else
		rc = 0;
	if (umount2(JAIL_RESOLV_STAGE, MNT_DETACH) != 0)
		fprintf(stderr,
			"sluice jail: cannot unmount the tmpfs on %s: %s; the command sees an "
			"empty %s\n",
			JAIL_RESOLV_STAGE, strerror(errno), JAIL_RESOLV_STAGE);
	return rc;
}

int jail_resolv_init(void)
{
	char target[PATH_MAX];

	/* The file itself, not the link: a bind mount over a symlink would follow it anyway,
	 * and systemd-resolved's /etc/resolv.conf is a link into /run. */
	if (!realpath(JAIL_RESOLV_PATH, target)) {
		if (errno == ENOENT) {
			fprintf(stderr,
				"sluice jail: no " JAIL_RESOLV_PATH " (or a link to nothing) to "
				"point at sluice; resolvers without one ask 127.0.0.1, where "
				"sluice answers DNS in the jail\n");
			return -1;
		}
		jail_resolv_warn("cannot follow %s: %s", JAIL_RESOLV_PATH, strerror(errno));
		return -1;
	}
	if (strncmp(target, JAIL_RESOLV_STAGE "/", sizeof(JAIL_RESOLV_STAGE)) == 0) {
		jail_resolv_warn("%s is %s, under %s, where the generated file is made",
				 JAIL_RESOLV_PATH, target, JAIL_RESOLV_STAGE);
		return -1;
	}
	if (unshare(CLONE_NEWNS) != 0) {
		jail_resolv_warn("cannot make a mount namespace: %s", strerror(errno));
		return -1;
	}
	/* A copy of the host's mounts that shares their propagation would carry the mounts below
	 * back to the host: none may. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) {
		jail_resolv_warn("cannot make the mount namespace private: %s", strerror(errno));
		return -1;
	}
	return jail_resolv_mount(target);
}
