/* listener: a listening socket on the worker's loop that accepts clients and hands them to
 * conn with the protocol they speak there; pauses accepting when out of descriptors and resumes
 * by itself. Does not read from clients. */
#ifndef SLUICE_IO_LISTENER_H
#define SLUICE_IO_LISTENER_H

#include "config/config.h"

struct worker;
struct listener;
struct flow_ops;

/* Binds and listens; every client accepted speaks `ops` (http_flow_ops on a listen.http address).
 * Returns NULL after saying why on stderr. */
struct listener *listener_new(struct worker *w, const struct config_endpoint *at,
			      const struct flow_ops *ops);
/* Serves fd, a socket already bound and listening (made elsewhere, e.g. inside another network
 * namespace by `sluice jail`); takes it, closing it on failure. Returns NULL after saying why. */
struct listener *listener_adopt(struct worker *w, int fd, const struct flow_ops *ops);
void listener_free(struct listener *l);
/* A wildcard listener (0.0.0.0 or ::) is reachable at every local address: adds each interface
 * address with the listener's port to rules->listeners, so that proxy-loop detection sees them
 * (docs/security.md guarantee 7: a request aimed at sluice itself is refused). */
void listener_expand_wildcards(struct policy_rules *rules);
void listener_resume(struct listener *l);

#endif
