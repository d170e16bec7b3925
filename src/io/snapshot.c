#include "io/snapshot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/tls_session.h"
#include "policy/agent.h"
#include "policy/route.h"
#include "policy/scan.h"

static void snapshot_free_tls(struct snapshot *s)
{
	for (unsigned i = 0; i < s->n_tls; i++)
		tls_context_free(s->tls[i].ctx);
	free(s->tls);
}

/* A verification context for ca_file ("" = the system store) unless one is loaded already.
 * what names the config key in an error. */
static int snapshot_add_tls(struct snapshot *s, const char *ca_file, const char *what, char *err,
			    size_t err_size)
{
	char why[768];

	if (snapshot_tls_context(s, ca_file))
		return 0;
	struct tls_context *ctx = tls_context_new(ca_file[0] ? ca_file : NULL, why, sizeof(why));
	if (!ctx) {
		snprintf(err, err_size, "%s: %s", what, why);
		return -1;
	}
	s->tls[s->n_tls].ca_file = ca_file;
	s->tls[s->n_tls++].ctx = ctx;
	return 0;
}

/* One context per distinct ca_file of the https routes, and tls.upstream_ca's when something is
 * intercepted. */
static int snapshot_load_tls(struct snapshot *s, char *err, size_t err_size)
{
	const struct config *cfg = s->cfg;

	if (cfg->n_routes == 0 && !cfg->intercepts)
		return 0;
	s->tls = calloc(cfg->n_routes + 1, sizeof(*s->tls));
	if (!s->tls) {
		snprintf(err, err_size, "out of memory");
		return -1;
	}
	for (unsigned i = 0; i < cfg->n_routes; i++) {
		const struct route *rt = &cfg->routes[i];
		char what[48];

		snprintf(what, sizeof(what), "routes[%u].ca_file", i);
		if (rt->tls && snapshot_add_tls(s, rt->ca_file, what, err, err_size) != 0)
			return -1;
	}
	if (cfg->intercepts &&
	    snapshot_add_tls(s, cfg->tls_upstream_ca, "tls.upstream_ca", err, err_size) != 0)
		return -1;
	return 0;
}

static void snapshot_free_scan(struct snapshot *s)
{
	for (unsigned i = 0; s->scan && i < s->cfg->n_agents; i++)
		scan_set_free(s->scan[i]);
	free(s->scan);
}

/* Each agent's set: its scan: (or the top level's), and its credentials' secrets, which are
 * looked for even without a scan: section: sluice knows them, and where they may go. */
static int snapshot_load_scan(struct snapshot *s, char *err, size_t err_size)
{
	const struct config *cfg = s->cfg;
	static const struct scan_config secrets_only = {.action = SCAN_BLOCK,
							.max_body = SCAN_MAX_BODY_DEFAULT,
							.decode_depth = SCAN_DECODE_DEPTH_DEFAULT};

	s->scan = calloc(cfg->n_agents ? cfg->n_agents : 1, sizeof(*s->scan));
	if (!s->scan) {
		snprintf(err, err_size, "out of memory");
		return -1;
	}
	for (unsigned i = 0; i < cfg->n_agents; i++) {
		const struct agent *a = &cfg->agents[i];
		const struct scan_config *sc = a->has_scan ? &a->scan : &cfg->base.scan;
		const struct credential_list *creds =
		    a->has_credentials ? &a->credentials : &cfg->base.credentials;
		if (!sc->enabled && creds->n == 0)
			continue;
		if (!sc->enabled)
			sc = &secrets_only;
		s->scan[i] = scan_set_new(sc, creds, err, err_size);
		if (!s->scan[i])
			return -1;
	}
	return 0;
}

const struct scan_set *snapshot_scan_set(const struct snapshot *s, const struct agent *agent)
{
	const struct config *cfg = s->cfg;
	if (!agent || agent < cfg->agents || agent >= cfg->agents + cfg->n_agents)
		return NULL;
	return s->scan[agent - cfg->agents];
}

struct snapshot *snapshot_new(struct config *cfg, uint64_t generation, char *err, size_t err_size)
{
	struct snapshot *s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, err_size, "out of memory");
		return NULL;
	}
	s->cfg = cfg;
	s->generation = generation;
	atomic_init(&s->refs, 1);
	if (snapshot_load_tls(s, err, err_size) != 0 || snapshot_load_scan(s, err, err_size) != 0) {
		snapshot_free_tls(s);
		snapshot_free_scan(s);
		free(s);
		return NULL;
	}
	return s;
}

void snapshot_ref(struct snapshot *s)
{
	atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
}

void snapshot_unref(struct snapshot *s)
{
	if (!s)
		return;
	if (atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1)
		return;
	snapshot_free_tls(s);
	snapshot_free_scan(s);
	config_free(s->cfg);
	free(s);
}

struct tls_context *snapshot_tls_context(const struct snapshot *s, const char *ca_file)
{
	for (unsigned i = 0; i < s->n_tls; i++)
		if (strcmp(s->tls[i].ca_file, ca_file) == 0)
			return s->tls[i].ctx;
	return NULL;
}
