/* main: command line, configuration loading, signals, and the worker's life.
 * Proxies nothing itself. */
#include <ares.h>
#include <errno.h>
#include <fcntl.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "emit/metrics.h"
#include "io/addr_cache.h"
#include "config/config_console.h"
#include "io/admin.h"
#include "io/sockaddr.h"
#include "io/approval_store.h"
#include "io/webhook.h"
#include "io/census.h"
#include "io/console.h"
#include "io/event_ring.h"
#include "io/listener.h"
#include "io/log_sink.h"
#include "io/resolver.h"
#include "daemon/approve_cmd.h"
#include "daemon/ca_cmd.h"
#include "daemon/credentials_cmd.h"
#include "daemon/check_cmd.h"
#include "daemon/config_file.h"
#include "daemon/jail.h"
#include "daemon/privs.h"
#include "daemon/report_cmd.h"
#include "daemon/sandbox.h"
#include "daemon/tls_setup.h"
#include "io/snapshot.h"
#include "io/tls_ca.h"
#include "io/tls_mint.h"
#include "io/tls_session.h"
#include "io/worker_loop.h"
#include "config/config.h"

/* Reloads and the generation in force, for /metrics; only this thread writes them. */
static struct metrics_process main_metrics;

/* log.file in force ("" = stdout): opened at start, opened again on SIGUSR1. A reload does not
 * change it (the new path might not be openable once privileges are dropped). */
static char main_log_path[CONFIG_LOG_FILE_MAX];

static void main_usage(FILE *out)
{
	fputs(
	    "usage: sluice [-c FILE]            run the proxy (embedded default config without "
	    "-c)\n"
	    "       sluice check [--offline] -c FILE [FILE...]\n"
	    "                                   validate config files and exit 0 (all valid) or "
	    "1;\n"
	    "                                   --offline reads no secret or CA file\n"
	    "       sluice report [-c FILE] [--agent NAME] [--only-report] [FILE...]\n"
	    "                                   suggest an allow list per agent from a decision "
	    "log\n"
	    "       sluice approve [-c FILE | --admin HOST:PORT] [ID once|agent|all|deny]\n"
	    "                                   list or answer requests waiting for approval\n"
	    "       sluice ca export [-c FILE]  print the TLS interception CA certificate (PEM)\n"
	    "       sluice credentials [-c FILE] [--agent NAME]\n"
	    "                                   print each agent's credential placeholders\n"
	    "       sluice jail [-c FILE] [--log FILE] -- CMD [ARGS...]\n"
	    "                                   run CMD in a network namespace whose only way out\n"
	    "                                   is this proxy\n"
	    "       sluice --version | --help\n"
	    "\n"
	    "sluice is an egress proxy for sandboxed AI agents: HTTP forward proxy and CONNECT\n"
	    "tunnels with per-destination policy and a built-in block of internal addresses.\n"
	    "Decisions are logged as JSON lines on stdout (or log.file, reopened on SIGUSR1);\n"
	    "operational messages go to stderr.\n",
	    out);
}

static unsigned main_worker_count(const struct config *cfg)
{
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	if (cfg->workers > 0)
		return cfg->workers;
	if (cores < 1)
		return 1;
	return cores > CONFIG_MAX_WORKERS ? CONFIG_MAX_WORKERS : (unsigned)cores;
}

/* Opens the log file for appending and makes it stdout, where every worker's sink writes: dup3
 * swaps fd 1 in one step, so each write() of a batch goes wholly to the old file or wholly to
 * the new one, and no line is lost or split. Only a regular file is taken: a sink decides once
 * how it writes (a pipe wants PIPE_BUF chunks and a writable event), and O_NONBLOCK keeps a
 * FIFO from blocking the open. Returns 0, or -1 with the reason in why. */
static int main_log_open(const char *path, char *why, size_t why_size)
{
	struct stat st;
	int fd =
	    open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0640);

	if (fd < 0) {
		snprintf(why, why_size, "%s", strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(why, why_size, "not a regular file");
		close(fd);
		return -1;
	}
	if (dup3(fd, STDOUT_FILENO, 0) < 0) {
		snprintf(why, why_size, "%s", strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* At start, before the workers exist and before privileges are dropped. */
static int main_log_start(const struct config *cfg)
{
	char why[256];

	if (!cfg->log_file[0])
		return 0;
	if (main_log_open(cfg->log_file, why, sizeof(why)) != 0) {
		fprintf(stderr, "sluice: log.file: cannot open %s: %s\n", cfg->log_file, why);
		return -1;
	}
	snprintf(main_log_path, sizeof(main_log_path), "%s", cfg->log_file);
	return 0;
}

/* SIGUSR1 (logrotate's postrotate): the path again, as the user sluice runs as. A failure
 * keeps the file open now, so no line is lost. */
static void main_log_reopen(void)
{
	char why[256];

	if (!main_log_path[0]) {
		fprintf(stderr,
			"sluice: SIGUSR1: no log.file to reopen (the log goes to stdout)\n");
		return;
	}
	if (main_log_open(main_log_path, why, sizeof(why)) != 0) {
		fprintf(stderr,
			"sluice: SIGUSR1: cannot reopen %s: %s; the log stays on the file open "
			"now\n",
			main_log_path, why);
		return;
	}
	fprintf(stderr, "sluice: SIGUSR1: reopened %s\n", main_log_path);
}

/* Worker threads whose loop has ended: during a drain, main waits for all of them. */
static atomic_uint main_workers_done;

static void *main_worker_thread(void *arg)
{
	worker_loop_run(arg);
	atomic_fetch_add(&main_workers_done, 1);
	return NULL;
}

static uint64_t main_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Waits up to ms for a signal of set; returns it, or 0 when the time ran out. */
static int main_wait_signal(const sigset_t *set, unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
	int sig = sigtimedwait(set, NULL, &ts);
	return sig > 0 ? sig : 0;
}

/* How often main looks at the workers while they drain. */
#define MAIN_DRAIN_POLL_MS 10

/* Says how many connections the drain waits for, once every worker has counted its own. */
static bool main_drain_announce(struct worker *workers, unsigned n, unsigned drain_ms)
{
	int left = 0;

	for (unsigned i = 0; i < n; i++) {
		int k = worker_loop_drain_left(&workers[i]);
		if (k < 0)
			return false;
		left += k;
	}
	fprintf(stderr, "sluice: draining %d connection%s (deadline %gs)\n", left,
		left == 1 ? "" : "s", drain_ms / 1000.0);
	return true;
}

/* SIGTERM or SIGINT with timeouts.drain > 0: the workers stop accepting and finish what is in
 * flight; at the deadline, or on a second SIGTERM/SIGINT, main stops them and worker_loop_fini cuts
 * what is left (logged with reason "shutdown"). A SIGHUP meanwhile is ignored: nothing new
 * would run under the new policy. */
static void main_drain(struct worker *workers, unsigned n, unsigned drain_ms,
		       const sigset_t *wait_set)
{
	uint64_t deadline = main_now_ms() + drain_ms;
	bool announced = false, stopped = false, expired = false;
	int left = 0;

	for (unsigned i = 0; i < n; i++)
		worker_loop_drain(&workers[i]);
	for (;;) {
		if (!announced)
			announced = main_drain_announce(workers, n, drain_ms);
		if (atomic_load(&main_workers_done) == n) {
			if (!announced)
				main_drain_announce(workers, n, drain_ms);
			break;
		}
		uint64_t now = main_now_ms();
		if (now >= deadline) {
			expired = true;
			break;
		}
		unsigned wait = deadline - now < MAIN_DRAIN_POLL_MS ? (unsigned)(deadline - now)
								    : MAIN_DRAIN_POLL_MS;
		int sig = main_wait_signal(wait_set, wait);
		if (sig == SIGTERM || sig == SIGINT) {
			fprintf(stderr, "sluice: signal %d during the drain, stopping now\n", sig);
			stopped = true;
			break;
		}
		if (sig == SIGHUP)
			fprintf(stderr, "sluice: reload: ignored while draining\n");
		if (sig == SIGUSR1)
			main_log_reopen();
	}
	for (unsigned i = 0; i < n; i++)
		worker_loop_stop(&workers[i]);
	if (stopped)
		return;
	if (!expired) {
		fprintf(stderr, "sluice: drained\n");
		return;
	}
	/* The loops end at once; what they still hold is closed by worker_loop_fini. */
	while (atomic_load(&main_workers_done) != n)
		main_wait_signal(wait_set, 1);
	left = 0;
	for (unsigned i = 0; i < n; i++)
		left += (int)workers[i].n_conns; /* the loop has ended: no other thread writes it */
	fprintf(stderr, "sluice: drain deadline reached, closing %d connection%s\n", left,
		left == 1 ? "" : "s");
}

static bool main_same_list(const struct config_endpoint *a, unsigned na,
			   const struct config_endpoint *b, unsigned nb)
{
	if (na != nb)
		return false;
	for (unsigned i = 0; i < na; i++)
		if (a[i].port != b[i].port || !ip_addr_eq(&a[i].addr, &b[i].addr))
			return false;
	return true;
}

/* The listening sockets and threads a reload cannot change (they are set up at start). */
static bool main_same_endpoints(const struct config *a, const struct config *b)
{
	if (a->workers != b->workers || a->has_admin != b->has_admin)
		return false;
	if (a->has_admin &&
	    (a->admin.port != b->admin.port || !ip_addr_eq(&a->admin.addr, &b->admin.addr)))
		return false;
	return main_same_list(a->listen_http, a->n_listen_http, b->listen_http, b->n_listen_http) &&
	       main_same_list(a->listen_dns, a->n_listen_dns, b->listen_dns, b->n_listen_dns) &&
	       main_same_list(a->listen_transparent_http, a->n_listen_transparent_http,
			      b->listen_transparent_http, b->n_listen_transparent_http) &&
	       main_same_list(a->listen_transparent_tls, a->n_listen_transparent_tls,
			      b->listen_transparent_tls, b->n_listen_transparent_tls);
}

/* The CA is loaded at start only: a reload that first asks for it is refused. */
static bool main_tls_loaded;

/* With an admin listener: the approval store (approvals.file and the queue of held requests)
 * and each worker's event ring for the console; NULL otherwise. */
static struct approval_store *main_approvals;
static struct event_ring *main_rings[CONFIG_MAX_WORKERS];
static struct census *main_census;
static struct webhook *main_webhook;

/* approvals.webhook_secret_env's value: "" when none is named; NULL (having said why) when the
 * variable named is unset or empty, which a signed webhook must not be sent without. */
static const char *main_webhook_secret(const struct config *cfg, const char *when)
{
	const char *name = cfg->approvals.webhook.secret_env;
	if (!name[0])
		return "";
	const char *v = getenv(name);
	if (!v || !v[0]) {
		fprintf(stderr, "sluice: %sapprovals.webhook_secret_env: %s is not set\n", when,
			name);
		return NULL;
	}
	return v;
}

/* SIGHUP: a valid file replaces the policy for new requests on every worker; an invalid one
 * is refused with its errors and the running policy stays. */
static void main_reload(const char *config_path, struct snapshot **current, struct worker *workers,
			unsigned n, struct addr_cache *cache, struct admin *admin)
{
	if (!config_path) {
		fprintf(stderr, "sluice: reload: running the embedded default config, nothing to "
				"re-read\n");
		return;
	}
	struct config *cfg = config_file_load(config_path);
	if (!cfg) {
		fprintf(stderr,
			"sluice: reload: %s refused; the running policy (generation %llu) "
			"stays\n",
			config_path, (unsigned long long)(*current)->generation);
		metrics_process_reload(&main_metrics, false, (*current)->generation);
		return;
	}
	if (cfg->has_tls && !main_tls_loaded) {
		fprintf(stderr,
			"sluice: reload: %s asks for interception (tls: or intercept:), whose CA "
			"is loaded at start only: restart sluice; the running policy (generation "
			"%llu) stays\n",
			config_path, (unsigned long long)(*current)->generation);
		config_free(cfg);
		metrics_process_reload(&main_metrics, false, (*current)->generation);
		return;
	}
	if (!main_same_endpoints(cfg, (*current)->cfg))
		fprintf(stderr,
			"sluice: reload: listen addresses (http, admin, dns, transparent) and "
			"workers change only on restart; the running ones stay\n");
	if (strcmp(cfg->log_file, main_log_path) != 0)
		fprintf(stderr,
			"sluice: reload: log.file changes only on restart; the log stays on %s\n",
			main_log_path[0] ? main_log_path : "stdout");
	const char *secret = main_webhook_secret(cfg, "reload: ");
	if (!secret) {
		fprintf(stderr,
			"sluice: reload: %s refused; the running policy (generation %llu) stays\n",
			config_path, (unsigned long long)(*current)->generation);
		config_free(cfg);
		metrics_process_reload(&main_metrics, false, (*current)->generation);
		return;
	}
	listener_expand_wildcards(&cfg->rules);
	char why[1024];
	struct snapshot *next = snapshot_new(cfg, (*current)->generation + 1, why, sizeof(why));
	if (!next) {
		config_free(cfg);
		fprintf(stderr,
			"sluice: reload: %s: %s; refused; the running policy (generation %llu) "
			"stays\n",
			config_path, why, (unsigned long long)(*current)->generation);
		metrics_process_reload(&main_metrics, false, (*current)->generation);
		return;
	}
	/* Before the workers see the new servers: from here on the cache keeps only their
	 * answers, so a lookup still in flight at the old ones is not kept. */
	uint64_t servers = resolver_servers_key(cfg);
	if (servers != resolver_servers_key((*current)->cfg)) {
		addr_cache_flush(cache, servers);
		fprintf(stderr, "sluice: reload: resolver.servers changed; the DNS cache is "
				"emptied\n");
	}
	if (main_webhook)
		webhook_configure(main_webhook, &cfg->approvals, secret);
	/* Approvals made on another replica are in the shared file: read it again. */
	char approvals_why[256];
	if (main_approvals && approval_store_load(main_approvals, cfg->approvals.file,
						  approvals_why, sizeof(approvals_why)) != 0)
		fprintf(stderr,
			"sluice: reload: approvals.file: %s; the standing approvals in memory "
			"stay\n",
			approvals_why);
	for (unsigned i = 0; i < n; i++)
		worker_loop_post_snapshot(&workers[i], next);
	snapshot_unref(*current);
	*current = next;
	admin_set_policy(admin, cfg, next->generation);
	metrics_process_reload(&main_metrics, true, next->generation);
	fprintf(stderr, "sluice: reload: %s loaded (generation %llu, %u agent%s, %u route%s)\n",
		config_path, (unsigned long long)next->generation, cfg->n_agents,
		cfg->n_agents == 1 ? "" : "s", cfg->n_routes, cfg->n_routes == 1 ? "" : "s");
}

/* Workers run on their own threads; this thread only waits for signals, so no signal ever
 * interrupts a worker's loop. The admin listener (if any) turns ready once every worker runs,
 * and stops before them: it reads their counters. */
static int main_serve(struct worker *workers, unsigned n, const char *config_path,
		      struct snapshot **current, struct admin *admin, struct addr_cache *cache)
{
	pthread_t threads[CONFIG_MAX_WORKERS];
	sigset_t wait_set;
	unsigned started = 0;
	int sig = 0;

	for (; started < n; started++)
		if (pthread_create(&threads[started], NULL, main_worker_thread,
				   &workers[started]) != 0) {
			fprintf(stderr, "sluice: cannot start worker thread %u\n", started);
			break;
		}
	bool running = started == n && (!admin || admin_start(admin) == 0);
	if (running && admin)
		admin_set_ready(admin, true);
	sigemptyset(&wait_set);
	sigaddset(&wait_set, SIGTERM);
	sigaddset(&wait_set, SIGINT);
	sigaddset(&wait_set, SIGHUP);
	sigaddset(&wait_set, SIGUSR1);
	while (running) {
		sigwait(&wait_set, &sig);
		if (sig == SIGUSR1) {
			main_log_reopen();
			continue;
		}
		if (sig != SIGHUP)
			break;
		main_reload(config_path, current, workers, n, cache, admin);
	}
	if (running)
		fprintf(stderr, "sluice: signal %d, stopping\n", sig);
	if (admin)
		admin_set_ready(admin, false);
	if (running && (*current)->cfg->drain_ms > 0)
		main_drain(workers, n, (*current)->cfg->drain_ms, &wait_set);
	for (unsigned i = 0; i < started; i++)
		worker_loop_stop(&workers[i]);
	for (unsigned i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
	return running ? 0 : 1;
}

/* The console and approvals, on the admin listener: the store loaded from approvals.file, an
 * event ring per worker. Returns 0, or -1 after saying why. */
static int main_console_new(const struct snapshot *snap, struct worker *workers, unsigned n,
			    struct admin *admin)
{
	const struct config *cfg = snap->cfg;
	char why[256];

	main_approvals = approval_store_new("");
	main_census = census_new();
	if (!main_approvals || !main_census) {
		fprintf(stderr, "sluice: cannot set up the console (out of memory)\n");
		return -1;
	}
	if (approval_store_load(main_approvals, cfg->approvals.file, why, sizeof(why)) != 0) {
		fprintf(stderr, "sluice: approvals.file: %s\n", why);
		return -1;
	}
	/* Always there, so that a reload may name a receiver the start had none for. */
	const char *secret = main_webhook_secret(cfg, "");
	if (!secret || !(main_webhook = webhook_new()))
		return -1;
	webhook_configure(main_webhook, &cfg->approvals, secret);
	approval_store_set_notify(main_approvals, webhook_notify, main_webhook);
	for (unsigned i = 0; i < n; i++) {
		main_rings[i] = event_ring_new();
		if (!main_rings[i] || worker_loop_set_console(&workers[i], main_approvals,
							      main_rings[i], main_census) != 0) {
			fprintf(stderr, "sluice: cannot set up the console (out of memory)\n");
			return -1;
		}
	}
	struct console_sources src = {
	    .store = main_approvals, .rings = main_rings, .census = main_census};
	if (admin_set_console(admin, cfg, &src) != 0) {
		fprintf(stderr, "sluice: cannot set up the console (out of memory)\n");
		return -1;
	}
	admin_set_policy(admin, cfg, snap->generation);
	if (config_console_open(cfg)) {
		char at[SOCKADDR_TEXT_MAX];
		sockaddr_format(&cfg->admin.addr, cfg->admin.port, at);
		fprintf(stderr, "sluice: console on http://%s/\n", at);
	}
	return 0;
}

static struct admin *main_admin_new(const struct config *cfg, struct worker *workers, unsigned n,
				    const struct tls_setup *tls)
{
	struct metrics *counters[CONFIG_MAX_WORKERS];
	size_t len;

	if (!cfg->has_admin)
		return NULL;
	for (unsigned i = 0; i < n; i++)
		counters[i] = &workers[i].metrics;
	struct admin *a = admin_new(&cfg->admin, counters, n, &main_metrics);
	const char *pem = tls->ca ? tls_ca_pem(tls->ca, &len) : NULL;
	if (a && tls->mint)
		admin_set_mint(a, tls->mint);
	if (a && pem && admin_set_ca_pem(a, pem, len) != 0) {
		fprintf(stderr, "sluice: cannot set up the admin listener\n");
		admin_free(a);
		return NULL;
	}
	return a;
}

/* tls: in the config, or any intercept: list, asks for the CA, loaded or made now. A reload
 * keeps it: a new CA means new trust in every agent image, a restart's business. */
static int main_tls_new(const struct config *cfg, struct tls_setup *t)
{
	if (tls_setup_new(cfg, t, "sluice") != 0)
		return -1;
	if (t->ca) {
		main_tls_loaded = true;
		fprintf(stderr,
			"sluice: TLS interception CA loaded (sluice ca export prints it)\n");
	}
	return 0;
}

/* Every listener is bound and no thread runs yet: give up root and, unless seccomp: false,
 * allow only the system calls serving needs. Threads started after this inherit both. */
static int main_confine(const struct config *cfg)
{
	char err[256];
	int state;

	/* jail does not come here: user: does not apply to it (docs/jail.md). */
	if (geteuid() == 0 && !cfg->user[0])
		fprintf(stderr,
			"sluice: warning: running as root without user: every thread "
			"keeps root; set user: in the config file (e.g. user: sluice) to drop "
			"privileges once the listeners are bound\n");
	if (privs_drop(cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "sluice: %s\n", err);
		return -1;
	}
	state = sandbox_apply(cfg, err, sizeof(err));
	if (state < 0) {
		fprintf(stderr, "sluice: %s (set seccomp: false to run without the filter)\n", err);
		return -1;
	}
	if (state == SANDBOX_UNAVAILABLE)
		fprintf(stderr, "sluice: seccomp unavailable in this build (no libseccomp); "
				"running without the system call filter\n");
	return 0;
}

static int main_run(const char *config_path)
{
	struct config *cfg = config_file_load(config_path);
	static struct worker workers[CONFIG_MAX_WORKERS];
	unsigned n, ready = 0;
	sigset_t blocked;
	int rc = 1;

	if (!cfg)
		return 1;
	if (main_log_start(cfg) != 0) {
		config_free(cfg);
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	if (log_sink_prepare_output(STDOUT_FILENO) != 0)
		fprintf(stderr,
			"sluice: warning: cannot make stdout non-blocking (%s): a log "
			"consumer that stops reading will stall the proxy\n",
			strerror(errno));
	/* Block the stop, reload and reopen signals before any thread exists: every thread
	 * inherits the mask and only sigwait() in main_serve receives them. */
	sigemptyset(&blocked);
	sigaddset(&blocked, SIGTERM);
	sigaddset(&blocked, SIGINT);
	sigaddset(&blocked, SIGHUP);
	sigaddset(&blocked, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &blocked, NULL);
	if (evthread_use_pthreads() != 0 || ares_library_init(ARES_LIB_INIT_ALL) != ARES_SUCCESS) {
		fprintf(stderr, "sluice: cannot initialise libevent threads or c-ares\n");
		config_free(cfg);
		return 1;
	}
	listener_expand_wildcards(&cfg->rules);
	n = main_worker_count(cfg);
	char why[1024];
	struct snapshot *current = snapshot_new(cfg, 1, why, sizeof(why));
	if (!current) {
		fprintf(stderr, "sluice: %s: %s\n", config_path ? config_path : "config", why);
		config_free(cfg);
		return 1;
	}
	/* One cache for every worker, so that a name resolves alike on all of them. */
	struct addr_cache *cache =
	    addr_cache_new(ADDR_CACHE_DEFAULT_MAX, resolver_servers_key(current->cfg));
	if (!cache) {
		fprintf(stderr, "sluice: cannot allocate the DNS cache\n");
		snapshot_unref(current);
		return 1;
	}
	for (; ready < n; ready++)
		if (worker_loop_init(&workers[ready], current, cache, ready, n) != 0)
			break;
	metrics_process_set_generation(&main_metrics, current->generation);
	struct tls_setup tls = {0};
	if (ready == n && main_tls_new(current->cfg, &tls) == 0) {
		/* No worker thread runs yet. */
		for (unsigned i = 0; i < n; i++) {
			workers[i].mint = tls.mint;
			workers[i].tls_server = tls.server;
		}
		/* Reads the workers' counters: freed before them. */
		struct admin *admin = main_admin_new(current->cfg, workers, n, &tls);
		if ((!current->cfg->has_admin ||
		     (admin && main_console_new(current, workers, n, admin) == 0)) &&
		    main_confine(current->cfg) == 0) {
			fprintf(stderr, "sluice: %u worker%s running\n", n, n == 1 ? "" : "s");
			rc = main_serve(workers, n, config_path, &current, admin, cache);
		}
		admin_free(admin);
	}
	for (unsigned i = 0; i < ready; i++)
		worker_loop_fini(&workers[i]);
	tls_setup_free(&tls); /* after the workers: their sessions hold its leaves */
	for (unsigned i = 0; i < n; i++)
		event_ring_free(main_rings[i]);
	if (main_approvals)
		approval_store_set_notify(main_approvals, NULL, NULL);
	webhook_free(main_webhook);
	approval_store_free(main_approvals);
	census_free(main_census);
	addr_cache_free(cache);
	snapshot_unref(current);
	ares_library_cleanup();
	return rc;
}

int main(int argc, char **argv)
{
	const char *config_path = NULL;

	if (argc >= 2 && strcmp(argv[1], "check") == 0)
		return check_cmd_main(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "approve") == 0)
		return approve_cmd_main(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "report") == 0)
		return report_cmd_main(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "ca") == 0)
		return ca_cmd_main(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "credentials") == 0)
		return credentials_cmd_main(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "jail") == 0)
		return jail_main(argc - 1, argv + 1, config_file_load);
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--version") == 0) {
			printf("sluice %s\n", SLUICE_VERSION);
			return 0;
		}
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			main_usage(stdout);
			return 0;
		}
		if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) &&
		    i + 1 < argc) {
			if (config_path) {
				fprintf(stderr, "sluice: one -c FILE to run (sluice check takes "
						"several)\n");
				return 2;
			}
			config_path = argv[++i];
			continue;
		}
		fprintf(stderr, "sluice: unknown argument '%s'\n", argv[i]);
		main_usage(stderr);
		return 2;
	}
	return main_run(config_path);
}
