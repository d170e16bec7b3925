/* tls_setup: interception's process-wide parts — the CA, the leaves it mints, the server TLS
 * context every worker answers intercepted clients with — made once at start for the daemon
 * and for sluice jail, and freed after the workers that use them. */
#ifndef SLUICE_DAEMON_TLS_SETUP_H
#define SLUICE_DAEMON_TLS_SETUP_H

#include "config/config.h"

struct tls_setup {
	struct tls_ca *ca;
	struct tls_mint *mint;
	struct tls_server_context *server;
};

/* Loads (or creates) the CA when cfg asks for it (tls:, or an intercept pattern); leaves t
 * empty otherwise. Before privileges drop: the CA's files are root's when sluice starts as
 * root. -1 with the reason on stderr, prefixed by who ("sluice", "sluice jail"). */
int tls_setup_new(const struct config *cfg, struct tls_setup *t, const char *who);
void tls_setup_free(struct tls_setup *t);

#endif
