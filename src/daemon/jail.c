#include "daemon/jail.h"

#include <ares.h>
#include <errno.h>
#include <event2/thread.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/bug.h"
#include "config/config.h"
#include "daemon/jail_resolv.h"
#include "daemon/jail_trust.h"
#include "daemon/privs.h"
#include "daemon/tls_setup.h"
#include "io/addr_cache.h"
#include "io/log_sink.h"
#include "io/resolver.h"
#include "io/snapshot.h"
#include "io/tls_ca.h"
#include "io/worker_loop.h"
#include "policy/policy.h"

/* Where CMD finds sluice, inside its own namespace. */
#define JAIL_PROXY_PORT 3128
#define JAIL_PROXY_URL "http://127.0.0.1:3128"
#define JAIL_DNS_PORT 53
#define JAIL_TRANSPARENT_HTTP_PORT 80
#define JAIL_TRANSPARENT_TLS_PORT 443
/* The byte the parent sends once its worker serves the listeners. */
#define JAIL_READY 'R'

struct jail_opts {
	const char *config_path;
	const char *log_path;
	char **cmd;
};

/* The sockets made inside the jail, in this order: the proxy and the DNS listener always, the
 * transparent listeners when the policy answers 127.0.0.1 by proxy (dns.answer: proxy), so that
 * a client that ignores the proxy variables reaches sluice at the address its DNS gave. The
 * IPv6 ones only where the namespace has IPv6, for clients that resolve "localhost" to ::1;
 * proxy answers are 127.0.0.1 only, so the transparent listeners need no [::1]. */
static const struct jail_socket {
	int family, type;
	uint16_t port;
	enum worker_loop_serves serves;
	bool by_proxy; /* only when the policy answers by proxy */
} jail_sockets[] = {
    {AF_INET, SOCK_STREAM, JAIL_PROXY_PORT, WORKER_LOOP_HTTP, false},
    {AF_INET, SOCK_DGRAM, JAIL_DNS_PORT, WORKER_LOOP_DNS_UDP, false},
    {AF_INET, SOCK_STREAM, JAIL_DNS_PORT, WORKER_LOOP_DNS_TCP, false},
    {AF_INET, SOCK_STREAM, JAIL_TRANSPARENT_HTTP_PORT, WORKER_LOOP_TRANSPARENT_HTTP, true},
    {AF_INET, SOCK_STREAM, JAIL_TRANSPARENT_TLS_PORT, WORKER_LOOP_TRANSPARENT_TLS, true},
    {AF_INET6, SOCK_STREAM, JAIL_PROXY_PORT, WORKER_LOOP_HTTP, false},
    {AF_INET6, SOCK_DGRAM, JAIL_DNS_PORT, WORKER_LOOP_DNS_UDP, false},
    {AF_INET6, SOCK_STREAM, JAIL_DNS_PORT, WORKER_LOOP_DNS_TCP, false},
};
#define JAIL_MAX_FDS (sizeof(jail_sockets) / sizeof(jail_sockets[0]))

static void jail_usage(FILE *out)
{
	fputs("usage: sluice jail [-c FILE] [--log FILE] -- CMD [ARGS...]\n"
	      "Runs CMD in a new network namespace whose only way out is sluice, reachable there "
	      "at\n" JAIL_PROXY_URL " (HTTP_PROXY and HTTPS_PROXY are set) and as its resolver at\n"
	      "127.0.0.1:53 (/etc/resolv.conf shows it). Decision lines go to stderr, or to\n"
	      "--log FILE. The exit status is CMD's (128+N if signal N killed it), or 125 if the\n"
	      "jail could not be set up.\n",
	      out);
}

/* Returns 0 with o filled in, 1 after printing the help, -1 after a usage error. */
static int jail_parse_args(int argc, char **argv, struct jail_opts *o)
{
	int i = 1;

	memset(o, 0, sizeof(*o));
	for (; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--") == 0) {
			i++;
			break;
		}
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			jail_usage(stdout);
			return 1;
		}
		if ((strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) && i + 1 < argc) {
			o->config_path = argv[++i];
			continue;
		}
		if (strcmp(a, "--log") == 0 && i + 1 < argc) {
			o->log_path = argv[++i];
			continue;
		}
		if (a[0] == '-') {
			fprintf(stderr, "sluice jail: unknown argument '%s'\n", a);
			jail_usage(stderr);
			return -1;
		}
		break;
	}
	if (i >= argc) {
		fprintf(stderr, "sluice jail: no command to run\n");
		jail_usage(stderr);
		return -1;
	}
	o->cmd = argv + i;
	return 0;
}

/* ---- the child: makes the namespace, then becomes CMD ------------------------------------ */

static long jail_read_sysctl(const char *path)
{
	FILE *f = fopen(path, "r");
	long v = -1;

	if (!f)
		return -1;
	if (fscanf(f, "%ld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

/* Why no namespace could be made, naming the setting that forbids it. root_err is root's
 * failure to make a bare network namespace (0 for an ordinary user); err is the failure to make
 * a user namespace owning one. */
static void jail_explain_unshare(int root_err, int err)
{
	const char *why = NULL;

	if (jail_read_sysctl("/proc/sys/user/max_net_namespaces") == 0)
		why = "network namespaces are disabled (sysctl user.max_net_namespaces=0)";
	else if (!root_err && jail_read_sysctl("/proc/sys/kernel/unprivileged_userns_clone") == 0)
		why = "unprivileged user namespaces are disabled (sysctl "
		      "kernel.unprivileged_userns_clone=0)";
	else if (!root_err && jail_read_sysctl("/proc/sys/user/max_user_namespaces") == 0)
		why = "user namespaces are disabled (sysctl user.max_user_namespaces=0)";
	else if (err == ENOSPC || root_err == ENOSPC)
		why = "the limit on user or network namespaces is reached (sysctl "
		      "user.max_user_namespaces / user.max_net_namespaces)";
	else if (root_err == EPERM)
		why = "no CAP_SYS_ADMIN, and no user namespace allowed either (in a container, its "
		      "seccomp profile or missing capability forbids unshare)";
	else if (err == EINVAL)
		why = "this kernel has no user namespaces (CONFIG_USER_NS)";
	else if (err == EPERM)
		why = "unprivileged user namespaces are not allowed here (sysctl "
		      "kernel.unprivileged_userns_clone / user.max_user_namespaces, or a seccomp "
		      "policy such as a container runtime's)";
	if (!why)
		fprintf(stderr, "sluice jail: cannot make a network namespace: %s\n",
			strerror(root_err ? root_err : err));
	else if (root_err)
		fprintf(stderr, "sluice jail: cannot make a network namespace as root: %s\n", why);
	else
		fprintf(stderr,
			"sluice jail: cannot make a network namespace as an ordinary user: %s; run "
			"sluice jail as root, or enable them\n",
			why);
}

static int jail_write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	size_t len = strlen(text);
	int ok;

	if (fd < 0)
		return -1;
	ok = write(fd, text, len) == (ssize_t)len;
	close(fd);
	return ok ? 0 : -1;
}

/* CMD keeps its own uid and gid (mapped to themselves), so it holds no capability in the new
 * user namespace once it is executed: it cannot undo the network set-up. */
static int jail_map_ids(uid_t uid, gid_t gid)
{
	char line[64];

	/* user_namespaces(7): gid_map is writable without CAP_SETGID only after setgroups is
	 * denied. */
	if (jail_write_file("/proc/self/setgroups", "deny") != 0 && errno != ENOENT)
		return -1;
	snprintf(line, sizeof(line), "%u %u 1\n", (unsigned)uid, (unsigned)uid);
	if (jail_write_file("/proc/self/uid_map", line) != 0)
		return -1;
	snprintf(line, sizeof(line), "%u %u 1\n", (unsigned)gid, (unsigned)gid);
	return jail_write_file("/proc/self/gid_map", line);
}

/* Root gets a bare network namespace; anyone else (or root without CAP_SYS_ADMIN, as in a
 * container) needs a user namespace to own it. */
static int jail_unshare(void)
{
	uid_t uid = geteuid();
	gid_t gid = getegid();

	int root_err = 0;

	if (uid == 0) {
		if (unshare(CLONE_NEWNET) == 0)
			return 0;
		root_err = errno;
	}
	if (unshare(CLONE_NEWUSER | CLONE_NEWNET) != 0) {
		jail_explain_unshare(root_err, errno);
		return -1;
	}
	if (jail_map_ids(uid, gid) != 0) {
		fprintf(stderr, "sluice jail: cannot map uid %u into the user namespace: %s\n",
			(unsigned)uid, strerror(errno));
		return -1;
	}
	return 0;
}

/* A new network namespace has only lo, and it is down. */
static int jail_lo_up(void)
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int rc = -1;

	if (fd < 0)
		goto out;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) != 0)
		goto out;
	ifr.ifr_flags |= IFF_UP;
	rc = ioctl(fd, SIOCSIFFLAGS, &ifr);
out:
	if (rc != 0) {
		fprintf(stderr, "sluice jail: cannot bring lo up in the namespace: %s%s\n",
			strerror(errno),
			jail_read_sysctl("/proc/sys/kernel/apparmor_restrict_unprivileged_userns") >
				0
			    ? " (AppArmor restricts unprivileged user namespaces: sysctl "
			      "kernel.apparmor_restrict_unprivileged_userns=1)"
			    : "");
	}
	if (fd >= 0)
		close(fd);
	return rc;
}

/* One of jail_sockets, bound (and listening, for TCP) on loopback inside the jail; -1 with errno
 * set when it cannot be (the family is missing, say). */
static int jail_listen(const struct jail_socket *js)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int one = 1;
	int fd;

	memset(&ss, 0, sizeof(ss));
	if (js->family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;
		in->sin_family = AF_INET;
		in->sin_port = htons(js->port);
		in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof(*in);
	} else {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(js->port);
		in6->sin6_addr = in6addr_loopback;
		len = sizeof(*in6);
	}
	fd = socket(js->family, js->type | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (js->family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) != 0 ||
	    (js->type == SOCK_STREAM && listen(fd, 1024) != 0)) {
		int err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

/* One message: a byte with the count, one byte per socket saying what it serves (an enum
 * worker_loop_serves), and the sockets themselves. */
static int jail_send_fds(int sock, const struct worker_loop_fd *socks, unsigned n)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * JAIL_MAX_FDS)];
		struct cmsghdr align;
	} ctl;
	unsigned char head[1 + JAIL_MAX_FDS];
	int fds[JAIL_MAX_FDS];
	struct iovec iov = {.iov_base = head, .iov_len = 1 + n};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
	struct cmsghdr *c;

	BUG_ON(n == 0 || n > JAIL_MAX_FDS);
	head[0] = (unsigned char)n;
	for (unsigned i = 0; i < n; i++) {
		head[1 + i] = (unsigned char)socks[i].serves;
		fds[i] = socks[i].fd;
	}
	memset(&ctl, 0, sizeof(ctl));
	msg.msg_control = ctl.buf;
	msg.msg_controllen = CMSG_SPACE(sizeof(int) * n);
	c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int) * n);
	memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
	return sendmsg(sock, &msg, MSG_NOSIGNAL) == (ssize_t)(1 + n) ? 0 : -1;
}

static void jail_say_socket(const struct jail_socket *js)
{
	fprintf(stderr, "sluice jail: cannot listen on %s:%u (%s) in the namespace: %s\n",
		js->family == AF_INET ? "127.0.0.1" : "[::1]", (unsigned)js->port,
		js->type == SOCK_DGRAM ? "udp" : "tcp", strerror(errno));
}

/* Makes the namespace and its listeners, points resolv.conf at sluice, hands the listeners to
 * the parent. Returns 0 or -1. */
static int jail_child_setup(int sock, bool by_proxy)
{
	struct worker_loop_fd fds[JAIL_MAX_FDS];
	unsigned n = 0;
	int rc = -1;

	if (jail_unshare() != 0 || jail_lo_up() != 0)
		return -1;
	for (size_t i = 0; i < JAIL_MAX_FDS; i++) {
		const struct jail_socket *js = &jail_sockets[i];
		if (js->by_proxy && !by_proxy)
			continue;
		int fd = jail_listen(js);
		if (fd < 0 && js->family == AF_INET6)
			continue; /* no IPv6 in the namespace: IPv4 is enough */
		if (fd < 0) {
			jail_say_socket(js);
			goto out;
		}
		fds[n++] = (struct worker_loop_fd){fd, js->serves};
	}
	/* Whether or not it works, CMD is confined: DNS is served at 127.0.0.1:53 either way. */
	(void)jail_resolv_init();
	rc = jail_send_fds(sock, fds, n);
	if (rc != 0)
		fprintf(stderr, "sluice jail: cannot pass the listeners on: %s\n", strerror(errno));
out:
	for (unsigned i = 0; i < n; i++)
		close(fds[i].fd);
	return rc;
}

static void jail_set_env(void)
{
	static const char *const proxy_vars[] = {"HTTP_PROXY", "HTTPS_PROXY", "http_proxy",
						 "https_proxy"};
	static const char *const unset_vars[] = {"ALL_PROXY", "all_proxy"};

	for (size_t i = 0; i < sizeof(proxy_vars) / sizeof(proxy_vars[0]); i++)
		setenv(proxy_vars[i], JAIL_PROXY_URL, 1);
	for (size_t i = 0; i < sizeof(unset_vars) / sizeof(unset_vars[0]); i++)
		unsetenv(unset_vars[i]);
	/* Loopback inside the jail is the jail's own: CMD's local servers and sluice's listener,
	 * nothing of the host. Sent through the proxy, "localhost" would be resolved outside and
	 * refused as internal, so an agent could not reach a dev server it started itself; sent
	 * directly it reaches only the jail, which leaks nothing. The outer NO_PROXY is replaced:
	 * its other exceptions would only turn into connection failures in here. */
	setenv("NO_PROXY", "localhost,127.0.0.1,::1", 1);
	setenv("no_proxy", "localhost,127.0.0.1,::1", 1);
}

static void __attribute__((noreturn))
jail_child(pid_t parent, int sock, bool by_proxy, char **cmd, const sigset_t *old_mask,
	   const struct jail_trust *trust)
{
	char ready = 0;

	/* CMD loses its only way out when the parent dies; end it rather than leave it hanging. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
		_exit(JAIL_EXIT_FAILED);
	if (jail_child_setup(sock, by_proxy) != 0)
		_exit(JAIL_EXIT_FAILED);
	/* End of file: the parent could not start the proxy and has said why. */
	if (read(sock, &ready, 1) != 1 || ready != JAIL_READY)
		_exit(JAIL_EXIT_FAILED);
	close(sock);
	jail_set_env();
	jail_trust_env(trust);
	signal(SIGPIPE, SIG_DFL);
	sigprocmask(SIG_SETMASK, old_mask, NULL);
	execvp(cmd[0], cmd);
	int err = errno;
	fprintf(stderr, "sluice jail: cannot run %s: %s\n", cmd[0], strerror(err));
	_exit(err == ENOENT ? 127 : 126);
}

/* ---- the parent: serves the jail's listeners from outside ------------------------------- */

/* Returns how many sockets arrived (stored in fds, with what each serves), 0 when the child sent
 * none or a message jail_send_fds does not make (every descriptor in it closed). */
static unsigned jail_recv_fds(int sock, struct worker_loop_fd *fds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * JAIL_MAX_FDS)];
		struct cmsghdr align;
	} ctl;
	unsigned char head[1 + JAIL_MAX_FDS];
	struct iovec iov = {.iov_base = head, .iov_len = sizeof(head)};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
	int got_fds[JAIL_MAX_FDS];
	unsigned n = 0;
	bool bad;
	ssize_t got;

	msg.msg_control = ctl.buf;
	msg.msg_controllen = sizeof(ctl.buf);
	do
		got = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	while (got < 0 && errno == EINTR);
	if (got < 1)
		return 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k; i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (n < JAIL_MAX_FDS)
				got_fds[n++] = fd;
			else
				close(fd);
		}
	}
	bad = (msg.msg_flags & MSG_CTRUNC) || got != (ssize_t)(1 + n) || head[0] != n;
	for (unsigned i = 0; !bad && i < n; i++) {
		bad = head[1 + i] >= WORKER_LOOP_N_SERVES;
		fds[i] = (struct worker_loop_fd){got_fds[i], (enum worker_loop_serves)head[1 + i]};
	}
	if (!bad)
		return n;
	for (unsigned i = 0; i < n; i++)
		close(got_fds[i]);
	return 0;
}

static int jail_exit_status(int wstatus)
{
	if (WIFEXITED(wstatus))
		return WEXITSTATUS(wstatus);
	if (WIFSIGNALED(wstatus))
		return 128 + WTERMSIG(wstatus);
	return JAIL_EXIT_FAILED;
}

static void *jail_worker_thread(void *arg)
{
	worker_loop_run(arg);
	return NULL;
}

/* Waits for the child while the worker serves it; forwards stop signals. */
static int jail_wait(pid_t child, const sigset_t *waited)
{
	int wstatus = 0;

	for (;;) {
		siginfo_t info;
		int sig = sigwaitinfo(waited, &info);
		if (sig < 0)
			continue;
		if (sig == SIGCHLD) {
			pid_t got = waitpid(child, &wstatus, WNOHANG);
			if (got == child)
				return jail_exit_status(wstatus);
			continue;
		}
		/* A signal from the terminal (SI_KERNEL) already reached the child, which is in
		 * the same foreground process group: forwarding it would deliver it twice. */
		if (info.si_code != SI_KERNEL)
			kill(child, sig);
	}
}

/* The decision log goes where the operator looks (stderr), to --log FILE or to the config's
 * log.file (--log wins); CMD's stdout is its own. The worker writes the log to fd 1, so fd 1 of
 * this process is pointed there. */
static int jail_open_log(const char *path)
{
	int fd;

	if (!path)
		return fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0)
		fprintf(stderr, "sluice jail: cannot open %s: %s\n", path, strerror(errno));
	return fd;
}

/* Serves fds until the child exits; returns jail's exit status. */
static int jail_serve(pid_t child, int sock, const struct worker_loop_fd *fds, unsigned n,
		      struct snapshot *snap, struct addr_cache *cache, const struct tls_setup *tls,
		      const sigset_t *waited)
{
	static struct worker worker;
	pthread_t thread;
	char ready = JAIL_READY;
	int status;

	if (worker_loop_init_adopt(&worker, snap, cache, fds, n) != 0)
		return -1;
	worker.mint = tls->mint;
	worker.tls_server = tls->server;
	/* no_new_privs only: this process keeps its credentials (the child's user namespace
	 * maps them) and needs waitpid and kill on the child, which the daemon's seccomp
	 * allow-list refuses; the jail's own namespace is its boundary. */
	char err[256];
	if (privs_no_new_privs(err, sizeof(err)) != 0) {
		fprintf(stderr, "sluice jail: %s\n", err);
		worker_loop_fini(&worker);
		return -1;
	}
	if (pthread_create(&thread, NULL, jail_worker_thread, &worker) != 0) {
		fprintf(stderr, "sluice jail: cannot start the worker thread\n");
		worker_loop_fini(&worker);
		return -1;
	}
	if (write(sock, &ready, 1) != 1)
		fprintf(stderr, "sluice jail: cannot tell the jail to start: %s\n",
			strerror(errno));
	close(sock);
	status = jail_wait(child, waited);
	worker_loop_stop(&worker);
	pthread_join(thread, NULL);
	worker_loop_fini(&worker);
	return status;
}

/* After the fork: everything the proxy needs, in this (outside) namespace. */
static int jail_parent(pid_t child, int sock, int log_fd, struct config *cfg,
		       const sigset_t *waited, const struct jail_trust *trust)
{
	struct tls_setup tls = {0};
	struct worker_loop_fd fds[JAIL_MAX_FDS];
	unsigned n = jail_recv_fds(sock, fds);
	struct snapshot *snap = NULL;
	struct addr_cache *cache;
	int status = -1;

	if (n == 0 || dup2(log_fd, STDOUT_FILENO) < 0)
		goto fail;
	signal(SIGPIPE, SIG_IGN);
	/* The log is the jail's stderr by default: a pager that stops reading must not stall
	 * the proxy the jailed command depends on. Best effort, as in daemon/main. */
	(void)log_sink_prepare_output(STDOUT_FILENO);
	if (evthread_use_pthreads() != 0 || ares_library_init(ARES_LIB_INIT_ALL) != ARES_SUCCESS) {
		fprintf(stderr, "sluice jail: cannot initialise libevent threads or c-ares\n");
		goto fail;
	}
	char why[1024];
	snap = snapshot_new(cfg, 1, why, sizeof(why));
	if (!snap) {
		fprintf(stderr, "sluice jail: %s\n", why);
		goto fail;
	}
	cfg = NULL;
	/* Interception in the jail as in the daemon: the command trusts the CA through the
	 * bundle the variables name. */
	size_t pem_len = 0;
	const char *pem = NULL;
	if (tls_setup_new(snap->cfg, &tls, "sluice jail") == 0 && tls.ca)
		pem = tls_ca_pem(tls.ca, &pem_len);
	if ((snap->cfg->has_tls && !pem) || (pem && jail_trust_write(trust, pem, pem_len) != 0)) {
		tls_setup_free(&tls);
		snapshot_unref(snap);
		goto fail;
	}
	cache = addr_cache_new(ADDR_CACHE_DEFAULT_MAX, resolver_servers_key(snap->cfg));
	if (!cache) {
		fprintf(stderr, "sluice jail: cannot allocate the DNS cache\n");
		tls_setup_free(&tls);
		snapshot_unref(snap);
		goto fail;
	}
	status = jail_serve(child, sock, fds, n, snap, cache, &tls, waited);
	n = 0; /* worker_loop_init_adopt took them */
	addr_cache_free(cache);
	tls_setup_free(&tls); /* after the worker: its sessions hold the leaves */
	snapshot_unref(snap);
	ares_library_cleanup();
	if (status >= 0)
		return status;
fail:
	for (unsigned i = 0; i < n; i++)
		close(fds[i].fd);
	config_free(cfg);
	/* Closing our end tells a child still waiting for "ready" to give up. */
	close(sock);
	int wstatus;
	while (waitpid(child, &wstatus, 0) < 0 && errno == EINTR)
		;
	return JAIL_EXIT_FAILED;
}

/* Whether queries from the jail (source 127.0.0.1) are answered by proxy: the dns.answer in
 * force for the agent 127.0.0.1 is (its own, else the top level's). */
static bool jail_answers_by_proxy(const struct config *cfg)
{
	struct ip_addr loopback;
	const struct agent *agent = NULL;
	struct policy_dns dns;

	ip_addr_v4(&loopback, INADDR_LOOPBACK);
	if (policy_identify(cfg->agents, cfg->n_agents, cfg->default_agent, &loopback, NULL,
			    &agent) != POLICY_IDENTITY_OK)
		agent = NULL;
	struct policy_scope scope = {.rules = &cfg->rules, .base = &cfg->base, .agent = agent};
	policy_scope_dns(&scope, &dns);
	return dns.answer == AGENT_DNS_PROXY;
}

/* Inside the jail sluice's one address is 127.0.0.1, whatever dns.proxy_addresses names for
 * the policy's own network: proxy answers, and a route's host, point there. */
static void jail_proxy_addresses(struct config *cfg)
{
	ip_addr_v4(&cfg->dns_proxy_addrs[0], INADDR_LOOPBACK);
	cfg->n_dns_proxy_addrs = 1;
}

int jail_main(int argc, char **argv, struct config *(*load_config)(const char *path))
{
	struct jail_opts o;
	sigset_t waited, old_mask;
	int pair[2], log_fd;
	struct config *cfg;
	pid_t child;

	int parsed = jail_parse_args(argc, argv, &o);
	if (parsed != 0)
		return parsed > 0 ? 0 : JAIL_EXIT_FAILED;
	cfg = load_config(o.config_path);
	if (!cfg)
		return JAIL_EXIT_FAILED;
	bool by_proxy = jail_answers_by_proxy(cfg);
	jail_proxy_addresses(cfg);
	struct jail_trust trust = {0};
	if (cfg->has_tls && jail_trust_prepare(&trust) != 0) {
		config_free(cfg);
		return JAIL_EXIT_FAILED;
	}
	log_fd = jail_open_log(o.log_path ? o.log_path : cfg->log_file[0] ? cfg->log_file : NULL);
	if (log_fd < 0 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
		if (log_fd >= 0)
			fprintf(stderr, "sluice jail: socketpair: %s\n", strerror(errno));
		config_free(cfg);
		jail_trust_remove(&trust);
		return JAIL_EXIT_FAILED;
	}
	/* Blocked before any thread exists, so only sigwaitinfo in jail_wait receives them. */
	sigemptyset(&waited);
	sigaddset(&waited, SIGCHLD);
	sigaddset(&waited, SIGTERM);
	sigaddset(&waited, SIGINT);
	sigaddset(&waited, SIGHUP);
	sigaddset(&waited, SIGQUIT);
	pthread_sigmask(SIG_BLOCK, &waited, &old_mask);
	fflush(NULL);
	pid_t parent = getpid();
	child = fork();
	if (child < 0) {
		fprintf(stderr, "sluice jail: fork: %s\n", strerror(errno));
		config_free(cfg);
		jail_trust_remove(&trust);
		return JAIL_EXIT_FAILED;
	}
	if (child == 0) {
		close(pair[0]);
		close(log_fd);
		jail_child(parent, pair[1], by_proxy, o.cmd, &old_mask, &trust);
	}
	close(pair[1]);
	/* Nothing in the jail may trace this process and use its sockets from outside. */
	prctl(PR_SET_DUMPABLE, 0);
	int status = jail_parent(child, pair[0], log_fd, cfg, &waited, &trust);
	close(log_fd);
	jail_trust_remove(&trust);
	return status;
}
