#include "io/snapshot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/tls_session.h"
#include "policy/route.h"

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
	if (snapshot_load_tls(s, err, err_size) != 0) {
		snapshot_free_tls(s);
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
