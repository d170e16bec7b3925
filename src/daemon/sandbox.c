/* sandbox: libseccomp allow-list and the SIGSYS report; see sandbox.h. */
#include "daemon/sandbox.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "config/config.h"

#ifdef SLUICE_HAVE_SECCOMP
#include <sched.h>
#include <seccomp.h>
#include <linux/netlink.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>

/* What sluice does after start, by whom: event loops (epoll, eventfd wake-ups), proxying
 * (sockets, splice through pipes), c-ares (UDP/TCP to the resolvers, /etc/hosts on each
 * lookup), reload (re-reads the config and secret files), OpenSSL (CA files and the system
 * certificate directory, listed with getdents64, on first use; getrandom), threads (clone, futex),
 * malloc (mmap, brk), the main thread's sigwait and its reopen of log.file on SIGUSR1 (openat with
 * O_CREAT, fstat, dup3 onto stdout), the admin thread's writes of approvals.file (a temporary
 * file, fsync, renamed over it). No exec, no fork, no listen, no ptrace, no file writes other
 * than to open descriptors, that log file and the approvals file. bind is there for getifaddrs(3)
 * (a reload expands wildcard listeners): it binds a netlink socket. */
static const char *const sandbox_allowed[] = {
    /* descriptors and files */
    "read",
    "write",
    "readv",
    "writev",
    "pread64",
    "pwrite64",
    "close",
    "openat",
    "fstat",
    "newfstatat",
    "statx",
    "lseek",
    "fcntl",
    "pipe2",
    "splice",
    "dup",
    "dup3",
    "getdents64",
    "fsync",
#ifdef SYS_rename
    "rename",
#endif
    "renameat",
    "renameat2",
    /* sockets */
    "connect",
    "accept",
    "accept4",
    "getsockopt",
    "setsockopt",
    "getsockname",
    "getpeername",
    "shutdown",
    "bind",
    "sendto",
    "recvfrom",
    "sendmsg",
    "recvmsg",
    "sendmmsg",
    "recvmmsg",
    /* event loops */
    "epoll_create1",
    "epoll_ctl",
    "epoll_wait",
    "epoll_pwait",
    "epoll_pwait2",
    "poll",
    "ppoll",
    "select",
    "pselect6",
    "eventfd2",
    "timerfd_create",
    "timerfd_settime",
    /* memory */
    "mmap",
    "munmap",
    "mremap",
    "mprotect",
    "brk",
    "madvise",
    /* threads, signals, exit */
    "futex",
    "set_robust_list",
    "rseq",
    "sched_yield",
    "sched_getaffinity",
    "gettid",
    "getpid",
    "exit",
    "exit_group",
    "rt_sigreturn",
    "rt_sigprocmask",
    "rt_sigaction",
    "rt_sigtimedwait",
    "sigaltstack",
    "restart_syscall",
    /* time, randomness, identity */
    "clock_gettime",
    "clock_getres",
    "gettimeofday",
    "time",
    "nanosleep",
    "clock_nanosleep",
    "getrandom",
    "uname",
    "sysinfo",
    "getuid",
    "geteuid",
    "getgid",
    "getegid",
    "prlimit64",
    "getrlimit",
};

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANDBOX_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SANDBOX_SANITIZER 1
#endif
#endif

#ifdef SANDBOX_SANITIZER
/* LeakSanitizer stops the world at exit from a cloned tracer that ptraces every thread and
 * reads /proc/self; a sanitizer build allows that, a release build never does. */
static const char *const sandbox_sanitizer_allowed[] = {
    "clone",
    "ptrace",
    "getdents",
    "wait4",
    "waitid",
    "prctl",
    "getppid",
    "readlink",
    "readlinkat",
    "getdents64",
    "open",
    "kill",
    "tgkill",
    "mincore",
    "sched_getaffinity",
    "process_vm_readv",
    /* The symbolizer and the report writer stat and probe files when a report or the exit
     * check runs (seen: stat after a drain deadline under ASan). */
    "stat",
    "lstat",
    "access",
    "faccessat",
    /* ...and may fork a helper for the exit check. */
    "fork",
    "vfork",
    "execve",
    "pipe",
    "dup2",
};
#endif

/* Names for the message of the calls a compromise would try first; others print as numbers
 * (`ausyscall N` or /usr/include/asm/unistd_64.h maps them). */
static const struct {
	long nr;
	const char *name;
} sandbox_names[] = {
#ifdef SYS_execve
    {SYS_execve, "execve"},
#endif
#ifdef SYS_execveat
    {SYS_execveat, "execveat"},
#endif
#ifdef SYS_fork
    {SYS_fork, "fork"},
#endif
#ifdef SYS_vfork
    {SYS_vfork, "vfork"},
#endif
    {SYS_clone, "clone"},	{SYS_ptrace, "ptrace"},		{SYS_personality, "personality"},
    {SYS_socket, "socket"},	{SYS_listen, "listen"},		{SYS_kill, "kill"},
    {SYS_mount, "mount"},	{SYS_setuid, "setuid"},		{SYS_unlinkat, "unlinkat"},
    {SYS_prctl, "prctl"},	{SYS_socketpair, "socketpair"},
#ifdef SYS_open
    {SYS_open, "open"},
#endif
#ifdef SYS_stat
    {SYS_stat, "stat"},
#endif
};

static size_t sandbox_put(char *buf, size_t at, const char *s)
{
	while (*s && at < 127)
		buf[at++] = *s++;
	return at;
}

static size_t sandbox_put_num(char *buf, size_t at, long v)
{
	char digits[24];
	size_t n = 0;
	unsigned long u = v < 0 ? 0ul - (unsigned long)v : (unsigned long)v;

	if (v < 0)
		at = sandbox_put(buf, at, "-");
	do
		digits[n++] = (char)('0' + u % 10);
	while ((u /= 10) && n < sizeof(digits));
	while (n > 0 && at < 127)
		buf[at++] = digits[--n];
	return at;
}

/* Runs on the thread that made the call. Async-signal-safe: no stdio, no malloc. */
static void sandbox_on_sigsys(int sig, siginfo_t *info, void *uctx)
{
	char buf[128];
	size_t at = sandbox_put(buf, 0, "sluice: blocked system call ");
	long nr = info->si_syscall;

	at = sandbox_put_num(buf, at, nr);
	for (size_t i = 0; i < sizeof(sandbox_names) / sizeof(sandbox_names[0]); i++)
		if (sandbox_names[i].nr == nr) {
			at = sandbox_put(buf, at, " (");
			at = sandbox_put(buf, at, sandbox_names[i].name);
			at = sandbox_put(buf, at, ")");
		}
	at = sandbox_put(buf, at, "; this is a bug, please report it\n");
	ssize_t ignored = write(STDERR_FILENO, buf, at);
	(void)ignored;
	_exit(SANDBOX_EXIT_BLOCKED);
}

static int sandbox_allow_names(scmp_filter_ctx ctx, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int nr = seccomp_syscall_resolve_name(names[i]);
		/* Absent on this architecture (e.g. "time" on arm64): nothing to allow. */
		if (nr < 0)
			continue;
		if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0) != 0)
			return -1;
	}
	return 0;
}

/* Calls allowed only with some arguments: threads but no processes, signals only to this
 * process, three ioctls (FIONREAD in libevent, FIONBIO, TCGETS from stdio's isatty), sockets
 * of the Internet families and route netlink (getifaddrs) only (a Unix one fails with
 * EACCES). glibc
 * tries clone3 first and falls back to clone on ENOSYS; clone3's flags sit behind a pointer
 * that seccomp cannot read, so it gets ENOSYS. */
/* Argument n equal to v (a compound literal of libseccomp's SCMP_A* would leave datum_b to an
 * implicit zero, which clang's -Wmissing-field-initializers refuses). */
static struct scmp_arg_cmp sandbox_arg(unsigned n, enum scmp_compare op, scmp_datum_t a,
				       scmp_datum_t b)
{
	struct scmp_arg_cmp c = {.arg = n, .op = op, .datum_a = a, .datum_b = b};
	return c;
}

static int sandbox_allow_if(scmp_filter_ctx ctx, int nr, unsigned n, scmp_datum_t v)
{
	return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1, sandbox_arg(n, SCMP_CMP_EQ, v, 0));
}

static int sandbox_allow_args(scmp_filter_ctx ctx)
{
	int rc = 0;

	rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
			       sandbox_arg(0, SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD));
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	rc |= sandbox_allow_if(ctx, SCMP_SYS(socket), 0, AF_INET);
	rc |= sandbox_allow_if(ctx, SCMP_SYS(socket), 0, AF_INET6);
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 2,
			       sandbox_arg(0, SCMP_CMP_EQ, AF_NETLINK, 0),
			       sandbox_arg(2, SCMP_CMP_EQ, NETLINK_ROUTE, 0));
	/* getaddrinfo (the approvals webhook's receiver) asks nscd over a Unix socket first, and
	 * goes on to /etc/hosts and DNS when it cannot: refused, not trapped. */
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(socket), 1,
			       sandbox_arg(0, SCMP_CMP_EQ, AF_UNIX, 0));
	rc |= sandbox_allow_if(ctx, SCMP_SYS(tgkill), 0, (scmp_datum_t)getpid());
	rc |= sandbox_allow_if(ctx, SCMP_SYS(ioctl), 1, FIONREAD);
	rc |= sandbox_allow_if(ctx, SCMP_SYS(ioctl), 1, FIONBIO);
	rc |= sandbox_allow_if(ctx, SCMP_SYS(ioctl), 1, TCGETS);
	return rc == 0 ? 0 : -1;
}

static int sandbox_load(char *err, size_t err_size)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_TRAP);
	int rc = -1;

	if (!ctx) {
		snprintf(err, err_size, "seccomp: cannot create the filter");
		return -1;
	}
	if (sandbox_allow_names(ctx, sandbox_allowed,
				sizeof(sandbox_allowed) / sizeof(sandbox_allowed[0])) != 0 ||
	    sandbox_allow_args(ctx) != 0)
		snprintf(err, err_size, "seccomp: cannot build the allow-list");
#ifdef SANDBOX_SANITIZER
	else if (sandbox_allow_names(ctx, sandbox_sanitizer_allowed,
				     sizeof(sandbox_sanitizer_allowed) /
					 sizeof(sandbox_sanitizer_allowed[0])) != 0)
		snprintf(err, err_size, "seccomp: cannot build the allow-list");
#endif
	/* TSYNC: should a library have started a thread already, it is filtered too. */
	else if (seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1) != 0 ||
		 (rc = seccomp_load(ctx)) != 0) {
		snprintf(err, err_size, "seccomp: cannot load the filter: %s", strerror(-rc));
		rc = -1;
	}
	seccomp_release(ctx);
	return rc;
}

int sandbox_apply(const struct config *cfg, char *err, size_t err_size)
{
	struct sigaction sa;

	if (!cfg->seccomp)
		return SANDBOX_OFF;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = sandbox_on_sigsys;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) != 0) {
		snprintf(err, err_size, "seccomp: cannot catch SIGSYS: %s", strerror(errno));
		return -1;
	}
	if (sandbox_load(err, err_size) != 0)
		return -1;
	/* Test hook: proves the message and the exit status (tests/integration/test_privs.py). */
	if (getenv("SLUICE_TEST_BLOCKED_SYSCALL"))
		syscall(SYS_personality, 0xffffffffUL);
	return SANDBOX_ON;
}

#else /* !SLUICE_HAVE_SECCOMP */

int sandbox_apply(const struct config *cfg, char *err, size_t err_size)
{
	return cfg->seccomp ? SANDBOX_UNAVAILABLE : SANDBOX_OFF;
}

#endif
