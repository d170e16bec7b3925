/* snapshot: one loaded configuration shared read-only by every worker, reference-counted
 * across threads so a reload can replace it while requests in flight finish under the old one,
 * with the TLS contexts its https routes and intercepted destinations verify upstreams with
 * (one per distinct ca_file and tls.upstream_ca, read when the snapshot is made: a CA file
 * that cannot be loaded refuses the configuration, and a reload re-reads every CA file). Workers
 * count their own connections on it without atomics (worker.c); only the per-worker holds touch
 * this counter. Does not parse or validate. */
#ifndef SLUICE_IO_SNAPSHOT_H
#define SLUICE_IO_SNAPSHOT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"

struct tls_context;
struct scan_set;
struct agent;

struct snapshot_tls {
	const char *ca_file; /* points into cfg (a route, tls.upstream_ca); "" = system store */
	struct tls_context *ctx;
};

struct snapshot {
	struct config *cfg;
	uint64_t generation; /* 1 for the first load, +1 per successful reload */
	atomic_uint refs;
	struct snapshot_tls *tls;
	unsigned n_tls;
	/* The scan sets (policy/scan), one per agent of cfg->agents (NULL: nothing to scan for),
	 * compiled with its scan: patterns and its credentials' secrets. */
	struct scan_set **scan;
};

/* Takes ownership of cfg on success (the caller holds the first reference). Returns NULL when
 * out of memory or when a CA file (an https route's, tls.upstream_ca) cannot be loaded, with the
 * reason in err (e.g. "routes[1].ca_file: cannot load CA file /etc/x.pem: no certificate or crl
 * found"); cfg is then still the caller's. */
struct snapshot *snapshot_new(struct config *cfg, uint64_t generation, char *err, size_t err_size);
void snapshot_ref(struct snapshot *s);
/* Drops a reference; the last one frees the configuration and the TLS contexts (OpenSSL keeps
 * a context alive while a connection made from it is). */
void snapshot_unref(struct snapshot *s);
/* The context made for ca_file ("" = system store), or NULL when no https route uses it and
 * it is not the tls.upstream_ca of a config that intercepts. */
struct tls_context *snapshot_tls_context(const struct snapshot *s, const char *ca_file);
/* What a request of agent (NULL: the top level's) is scanned with; NULL when nothing. */
const struct scan_set *snapshot_scan_set(const struct snapshot *s, const struct agent *agent);

#endif
