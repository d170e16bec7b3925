/* privs: user switch and no_new_privs; see privs.h. */
#include "daemon/privs.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "config/config.h"

/* The account named by user: (a name, or digits for a uid that need not have a passwd
 * entry: then it keeps no supplementary groups and its group is the same number). */
static int privs_lookup(const char *user, uid_t *uid, gid_t *gid, bool *named, char *err,
			size_t err_size)
{
	struct passwd *pw;

	errno = 0;
	pw = getpwnam(user);
	if (!pw && user[strspn(user, "0123456789")] == '\0') {
		unsigned long long v = strtoull(user, NULL, 10);
		pw = getpwuid((uid_t)v);
		if (!pw) {
			*uid = (uid_t)v;
			*gid = (gid_t)v;
			*named = false;
			return 0;
		}
	}
	if (!pw) {
		snprintf(err, err_size, "user: no such user '%s'%s%s", user, errno ? ": " : "",
			 errno ? strerror(errno) : "");
		return -1;
	}
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	*named = true;
	return 0;
}

/* Group first: once the uid is gone, setgid and setgroups are no longer allowed. */
static int privs_switch(const char *user, uid_t uid, gid_t gid, bool named, char *err,
			size_t err_size)
{
	int rc = named ? initgroups(user, gid) : setgroups(0, NULL);

	if (rc != 0) {
		snprintf(err, err_size, "user: cannot set the groups of '%s': %s", user,
			 strerror(errno));
		return -1;
	}
	if (setresgid(gid, gid, gid) != 0 || setresuid(uid, uid, uid) != 0) {
		snprintf(err, err_size, "user: cannot switch to '%s' (uid %lu, gid %lu): %s", user,
			 (unsigned long)uid, (unsigned long)gid, strerror(errno));
		return -1;
	}
	/* A drop that left a saved id behind would be undone by the next setuid(0). */
	if (uid != 0 && (setuid(0) == 0 || seteuid(0) == 0)) {
		snprintf(err, err_size, "user: switched to '%s' but root can still be regained",
			 user);
		return -1;
	}
	return 0;
}

static int privs_become(const char *user, char *err, size_t err_size)
{
	uid_t uid;
	gid_t gid;
	bool named;

	if (privs_lookup(user, &uid, &gid, &named, err, err_size) != 0)
		return -1;
	if (geteuid() != 0) {
		if (geteuid() == uid && getegid() == gid)
			return 0;
		snprintf(err, err_size,
			 "user: switching to '%s' needs sluice to start as root (running as uid "
			 "%lu); start it as root or remove user:",
			 user, (unsigned long)geteuid());
		return -1;
	}
	if (privs_switch(user, uid, gid, named, err, err_size) != 0)
		return -1;
	/* The kernel already clears it on a credential change; said here so that a core dump
	 * or a ptrace attach by the unprivileged user cannot read what root left in memory. */
	if (uid != 0)
		prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	return 0;
}

int privs_no_new_privs(char *err, size_t err_size)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
		snprintf(err, err_size, "cannot set no_new_privs: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int privs_drop(const struct config *cfg, char *err, size_t err_size)
{
	if (cfg->user[0] && privs_become(cfg->user, err, err_size) != 0)
		return -1;
	return privs_no_new_privs(err, err_size);
}
