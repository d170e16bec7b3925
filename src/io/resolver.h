/* resolver: asynchronous DNS with c-ares on the worker's event loop, A and AAAA together,
 * through the process's one cache (io/addr_cache, TTLs honoured), so that every worker hands
 * out the same addresses for a name while its entry lives; concurrent lookups of one name on a
 * worker share one query. Returns every address so that policy can judge each one.
 * Does not decide anything and never connects. */
#ifndef SLUICE_IO_RESOLVER_H
#define SLUICE_IO_RESOLVER_H

#include <stddef.h>
#include <stdint.h>

#include "base/ip_addr.h"
#include "config/config.h"
#include "policy/reason.h"

#define RESOLVER_MAX_ADDRS 16

struct event_base;
struct addr_cache;
struct resolver;
struct resolver_query;

/* status is REASON_ALLOWED on success, else REASON_DNS_ERROR or REASON_DNS_TIMEOUT. */
typedef void (*resolver_on_done)(void *arg, enum reason status, const struct ip_addr *addrs,
				 unsigned n_addrs);

/* cache is the process's, shared with the other workers' resolvers; it must outlive r. */
struct resolver *resolver_new(struct event_base *base, const struct config *cfg,
			      struct addr_cache *cache);
void resolver_free(struct resolver *r);
/* Points the resolver at cfg's servers (or at /etc/resolv.conf's, as read at start, when cfg
 * names none). Lookups in flight are asked again at the new servers. Returns -1 when c-ares
 * refused them; the next lookup that finds the resolver idle tries again. */
int resolver_set_servers(struct resolver *r, const struct config *cfg);
/* Tells cfg's resolver.servers apart from another config's: what the cache's answers are from
 * (addr_cache_new, addr_cache_flush). */
uint64_t resolver_servers_key(const struct config *cfg);
/* The name servers a resolver asks when the config names none: those of /etc/resolv.conf as
 * c-ares reads them (127.0.0.1 when the file names none). Writes their addresses to text
 * ("10.0.0.2, [fd00::53]:5353", cut with "..." when it is too small). Needs ares_library_init.
 * Returns how many, or -1 when c-ares cannot say. */
int resolver_system_servers(char *text, size_t size);
/* Answers from the cache: returns the number of addresses copied, or -1 on a miss. */
int resolver_cache_get(struct resolver *r, const char *name, struct ip_addr *out, unsigned max);
/* The same, and the seconds the entry has left (rounded up) in *ttl_s: what a DNS answer from
 * this entry may say, so that an agent never caches a name longer than sluice does. */
int resolver_cache_get_ttl(struct resolver *r, const char *name, struct ip_addr *out, unsigned max,
			   unsigned *ttl_s);
/* Starts a lookup; on_done is called later from the event loop, never from within this call.
 * Returns NULL when the query could not be started. */
struct resolver_query *resolver_lookup(struct resolver *r, const char *name, resolver_on_done cb,
				       void *arg);
/* The upstream's whole response (msg, len) to a query of name and qtype, class IN, for the DNS
 * listener's records that are not addresses: not cached, and delivered as for resolver_lookup.
 * status is REASON_ALLOWED when a response came, whatever its rcode (msg is then a message of
 * at least a header, valid during the call only), else REASON_DNS_ERROR or REASON_DNS_TIMEOUT
 * with msg NULL. */
typedef void (*resolver_on_message)(void *arg, enum reason status, const uint8_t *msg, size_t len);
struct resolver_query *resolver_query_type(struct resolver *r, const char *name, uint16_t qtype,
					   resolver_on_message cb, void *arg);
/* The callback will not be called; the query is freed when c-ares lets go of it. */
void resolver_cancel(struct resolver_query *q);

#endif
