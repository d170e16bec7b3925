#include "io/resolver.h"

#include <ares.h>
#include <arpa/inet.h>
#include <event2/event.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hash.h"
#include "io/addr_cache.h"
#include "io/loop_clock.h"

#define RESOLVER_MAX_SOCKS 16
/* Names being resolved on one worker: a few, up to limits.max_pending_dns. */
#define RESOLVER_INFLIGHT_BUCKETS 256

_Static_assert(RESOLVER_MAX_ADDRS == ADDR_CACHE_MAX_ADDRS, "one bound for the addresses of a name");

struct resolver_sock {
	ares_socket_t fd;
	struct event *ev;
};

struct resolver_lookup;

/* What c-ares holds for one question asked. Apart from the lookup because c-ares may hold it
 * after the lookup let go of it (a reload asks again at the new servers): then l is NULL. */
struct resolver_ask {
	struct resolver_lookup *l;
};

/* One name being resolved on this resolver, and every caller waiting for it: concurrent
 * lookups of a name on a worker share one upstream query. */
struct resolver_lookup {
	struct resolver_lookup *next; /* in its in-flight bucket, then in the parked list */
	struct resolver *r;
	struct resolver_ask *ask; /* NULL once answered */
	struct resolver_query *waiters, **waiters_tail;
	uint64_t source;   /* resolver_servers_key of the servers asked */
	uint64_t asked_ms; /* when they were asked */
	uint32_t hash;
	/* c-ares may answer from within ares_getaddrinfo; such an answer is parked and
	 * delivered from the loop, so that callers never see a callback before the lookup call
	 * has returned. */
	bool starting, answered;
	enum reason result;
	unsigned n_addrs;
	struct ip_addr addrs[RESOLVER_MAX_ADDRS];
	char name[];
};

struct resolver_query {
	struct resolver_query *next; /* the lookup's waiters, in the order they came */
	resolver_on_done cb;	     /* NULL once cancelled */
	resolver_on_message on_msg;  /* resolver_query_type's, instead of cb */
	void *arg;
	uint64_t joined_ms; /* when it started waiting for its lookup */
};

/* A query of resolver_query_type: asked as it comes, never shared or cached. */
struct resolver_typed {
	struct resolver_typed *next; /* in the parked or the re-ask list */
	struct resolver *r;
	struct resolver_query q; /* the caller's handle */
	uint16_t qtype;
	bool starting, answered; /* as for a lookup */
	enum reason result;
	uint8_t *msg; /* a parked answer's copy, msg_len bytes */
	size_t msg_len;
	char name[];
};

struct resolver {
	struct event_base *base;
	ares_channel channel;
	struct event *timer;
	struct event *parked_ev;
	struct resolver_sock socks[RESOLVER_MAX_SOCKS];
	struct addr_cache *cache; /* the process's; not ours to free */
	/* The servers asked (servers_key) and those a reload asked for (want_*); they differ
	 * while c-ares could not take the new ones yet. */
	uint64_t servers_key, want_key;
	bool servers_set, want_system;
	char want_csv[CONFIG_MAX_RESOLVERS * (IP_ADDR_TEXT_MAX + 10)];
	struct ares_addr_port_node *system_servers; /* /etc/resolv.conf's, read at start */
	struct resolver_lookup *inflight[RESOLVER_INFLIGHT_BUCKETS];
	unsigned n_inflight;
	struct resolver_lookup *parked;
	struct resolver_typed *parked_typed;
	/* Inside resolver_apply_servers' ares_cancel: the typed queries it ends are kept here,
	 * to be asked again at the new servers. */
	bool cancelling;
	struct resolver_typed *reask;
};

static uint64_t now_ms(void)
{
	return loop_clock_ms();
}

static uint32_t name_hash(const char *name)
{
	return hash_mix(hash_fnv_str(HASH_FNV_BASIS, name));
}

static void resolver_arm_timer(struct resolver *r)
{
	struct timeval tv, *tvp = ares_timeout(r->channel, NULL, &tv);
	if (tvp)
		event_add(r->timer, tvp);
	else
		event_del(r->timer);
}

static void resolver_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct resolver *r = arg;
	ares_process_fd(r->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	resolver_arm_timer(r);
}

static void resolver_on_sock(evutil_socket_t fd, short what, void *arg)
{
	struct resolver *r = arg;
	ares_process_fd(r->channel, (what & EV_READ) ? fd : ARES_SOCKET_BAD,
			(what & EV_WRITE) ? fd : ARES_SOCKET_BAD);
	resolver_arm_timer(r);
}

/* c-ares tells us which sockets it wants watched; mirror that with libevent events. */
static void resolver_on_sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
	struct resolver *r = data;
	struct resolver_sock *slot = NULL, *free_slot = NULL;

	for (unsigned i = 0; i < RESOLVER_MAX_SOCKS; i++) {
		if (r->socks[i].ev && r->socks[i].fd == fd)
			slot = &r->socks[i];
		else if (!r->socks[i].ev && !free_slot)
			free_slot = &r->socks[i];
	}
	if (slot) {
		event_free(slot->ev);
		slot->ev = NULL;
	}
	if (!readable && !writable)
		return;
	if (!slot)
		slot = free_slot;
	if (!slot)
		return; /* more sockets than slots: c-ares falls back to its timeouts */
	short what = EV_PERSIST | (readable ? EV_READ : 0) | (writable ? EV_WRITE : 0);
	slot->fd = fd;
	slot->ev = event_new(r->base, fd, what, resolver_on_sock, r);
	if (slot->ev)
		event_add(slot->ev, NULL);
}

/* 64-bit FNV-1a over the servers in order (a reordered list is another list: c-ares asks them
 * in order). Two lists that hash alike are taken for one: at worst, answers cached from the
 * one are kept for the other. */
uint64_t resolver_servers_key(const struct config *cfg)
{
	uint64_t h = 14695981039346656037ull;

	for (unsigned i = 0; i < cfg->n_resolvers; i++) {
		const struct config_endpoint *e = &cfg->resolvers[i];
		uint8_t bytes[1 + 16 + 2];
		size_t len = 1 + ip_addr_bits(&e->addr) / 8;
		bytes[0] = e->addr.family;
		memcpy(bytes + 1, e->addr.bytes, len - 1);
		bytes[len++] = (uint8_t)(e->port >> 8);
		bytes[len++] = (uint8_t)e->port;
		for (size_t k = 0; k < len; k++)
			h = (h ^ bytes[k]) * 1099511628211ull;
	}
	return h;
}

static void resolver_format_csv(const struct config *cfg, char *csv, size_t size)
{
	size_t len = 0;

	csv[0] = '\0';
	for (unsigned i = 0; i < cfg->n_resolvers && len < size; i++) {
		char text[IP_ADDR_TEXT_MAX];
		const struct config_endpoint *e = &cfg->resolvers[i];
		ip_addr_format(&e->addr, text);
		len += (size_t)snprintf(csv + len, size - len,
					e->addr.family == IP_V6 ? "%s[%s]:%u" : "%s%s:%u",
					i ? "," : "", text, (unsigned)e->port);
	}
}

static bool lookup_ask(struct resolver_lookup *l);
static void typed_ask(struct resolver_typed *t);
static void lookup_finish(struct resolver_lookup *l, enum reason result,
			  const struct ip_addr *addrs, unsigned n);

/* Gives c-ares the wanted servers. c-ares (before 1.22) refuses new servers while a query is
 * pending, and a busy worker always has one: the lookups and typed queries in flight are let
 * go at the old servers and asked again at the new ones, so their callers only wait a little
 * longer. What they would have got from the old servers is never cached (addr_cache_flush). */
static int resolver_apply_servers(struct resolver *r)
{
	int rc;

	for (unsigned b = 0; b < RESOLVER_INFLIGHT_BUCKETS; b++)
		for (struct resolver_lookup *l = r->inflight[b]; l; l = l->next)
			if (l->ask) {
				l->ask->l = NULL;
				l->ask = NULL;
			}
	r->cancelling = true;
	ares_cancel(r->channel);
	r->cancelling = false;
	if (r->want_system)
		rc = ares_set_servers_ports(r->channel, r->system_servers);
	else
		rc = ares_set_servers_ports_csv(r->channel, r->want_csv);
	if (rc == ARES_SUCCESS) {
		r->servers_key = r->want_key;
		r->servers_set = true;
	}
	for (unsigned b = 0; b < RESOLVER_INFLIGHT_BUCKETS; b++) {
		struct resolver_lookup *l = r->inflight[b], *next;
		for (; l; l = next) {
			next = l->next; /* a lookup that cannot be asked again leaves the list */
			if (!l->ask && !lookup_ask(l))
				lookup_finish(l, REASON_DNS_ERROR, NULL, 0);
		}
	}
	struct resolver_typed *t = r->reask, *tnext;
	r->reask = NULL;
	for (; t; t = tnext) {
		tnext = t->next;
		t->next = NULL;
		if (t->q.on_msg)
			typed_ask(t);
		else
			free(t);
	}
	resolver_arm_timer(r);
	return rc == ARES_SUCCESS ? 0 : -1;
}

int resolver_set_servers(struct resolver *r, const struct config *cfg)
{
	uint64_t key = resolver_servers_key(cfg);

	if (r->servers_set && key == r->servers_key && key == r->want_key)
		return 0;
	r->want_key = key;
	r->want_system = cfg->n_resolvers == 0;
	resolver_format_csv(cfg, r->want_csv, sizeof(r->want_csv));
	return resolver_apply_servers(r);
}

#define RESOLVER_DNS_PORT 53

/* "10.0.0.2" or "[fd00::53]:5353": the port only when it is not 53. */
static void resolver_format_server(const struct ares_addr_port_node *s, char *out, size_t size)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	bool v6 = s->family == AF_INET6;

	inet_ntop(s->family, v6 ? (const void *)&s->addr.addr6 : (const void *)&s->addr.addr4, ip,
		  sizeof(ip));
	if (s->udp_port == 0 || s->udp_port == RESOLVER_DNS_PORT)
		snprintf(out, size, "%s", ip);
	else
		snprintf(out, size, v6 ? "[%s]:%d" : "%s:%d", ip, s->udp_port);
}

int resolver_system_servers(char *text, size_t size)
{
	ares_channel channel;
	struct ares_addr_port_node *servers = NULL;
	size_t len = 0;
	bool cut = false;
	int n = 0;

	text[0] = '\0';
	if (ares_init(&channel) != ARES_SUCCESS)
		return -1;
	if (ares_get_servers_ports(channel, &servers) != ARES_SUCCESS)
		n = -1;
	for (const struct ares_addr_port_node *s = servers; s && n >= 0; s = s->next) {
		char one[INET6_ADDRSTRLEN + 16];
		const char *sep = n++ ? ", " : "";
		if (cut)
			continue;
		resolver_format_server(s, one, sizeof(one));
		/* Room for this address, and for ", ..." after it. */
		cut = len + strlen(sep) + strlen(one) + sizeof(", ...") > size;
		len += (size_t)snprintf(text + len, size - len, "%s%s", sep, cut ? "..." : one);
	}
	ares_free_data(servers);
	ares_destroy(channel);
	return n;
}

static void resolver_on_parked(evutil_socket_t fd, short what, void *arg);

struct resolver *resolver_new(struct event_base *base, const struct config *cfg,
			      struct addr_cache *cache)
{
	struct resolver *r = calloc(1, sizeof(*r));
	struct ares_options opts;
	int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_LOOKUPS |
		   ARES_OPT_FLAGS;

	if (!r)
		return NULL;
	r->base = base;
	r->cache = cache;
	memset(&opts, 0, sizeof(opts));
	opts.sock_state_cb = resolver_on_sock_state;
	opts.sock_state_cb_data = r;
	/* Two tries within the configured budget; the caller's own timer enforces the total. */
	opts.timeout = (int)(cfg->dns_timeout_ms / 2 ? cfg->dns_timeout_ms / 2 : 1);
	opts.tries = 2;
	/* DNS only: one source of truth, and no /etc/hosts short-cut around the checks. */
	opts.lookups = (char *)"b";
	/* Names are fully qualified: never try search-list suffixes. */
	opts.flags = ARES_FLAG_NOSEARCH;
	r->timer = event_new(base, -1, 0, resolver_on_timer, r);
	r->parked_ev = event_new(base, -1, 0, resolver_on_parked, r);
	if (!r->timer || !r->parked_ev ||
	    ares_init_options(&r->channel, &opts, mask) != ARES_SUCCESS) {
		if (r->timer)
			event_free(r->timer);
		if (r->parked_ev)
			event_free(r->parked_ev);
		free(r);
		return NULL;
	}
	/* Kept for a reload that drops resolver.servers: the file is not read again then (the
	 * process may no longer be allowed to). */
	if (ares_get_servers_ports(r->channel, &r->system_servers) != ARES_SUCCESS ||
	    resolver_set_servers(r, cfg) != 0) {
		fprintf(stderr, "sluice: resolver: could not set the configured servers\n");
		resolver_free(r);
		return NULL;
	}
	return r;
}

static void lookup_free(struct resolver_lookup *l)
{
	struct resolver_query *q = l->waiters, *next;

	for (; q; q = next) {
		next = q->next;
		free(q);
	}
	free(l);
}

/* Lookups nobody will answer now (parked ones, and any c-ares did not end): their waiters are
 * not called. */
static void resolver_free_list(struct resolver_lookup *l)
{
	struct resolver_lookup *next;

	for (; l; l = next) {
		next = l->next;
		if (l->ask)
			l->ask->l = NULL;
		lookup_free(l);
	}
}

void resolver_free(struct resolver *r)
{
	if (!r)
		return;
	/* Answers every question with ARES_EDESTRUCTION: each lookup is freed without calling
	 * its waiters. */
	ares_destroy(r->channel);
	for (unsigned b = 0; b < RESOLVER_INFLIGHT_BUCKETS; b++)
		resolver_free_list(r->inflight[b]);
	resolver_free_list(r->parked);
	for (struct resolver_typed *t = r->parked_typed, *next; t; t = next) {
		next = t->next;
		free(t->msg);
		free(t);
	}
	for (unsigned i = 0; i < RESOLVER_MAX_SOCKS; i++)
		if (r->socks[i].ev)
			event_free(r->socks[i].ev);
	ares_free_data(r->system_servers);
	event_free(r->parked_ev);
	event_free(r->timer);
	free(r);
}

int resolver_cache_get(struct resolver *r, const char *name, struct ip_addr *out, unsigned max)
{
	return resolver_cache_get_ttl(r, name, out, max, NULL);
}

int resolver_cache_get_ttl(struct resolver *r, const char *name, struct ip_addr *out, unsigned max,
			   unsigned *ttl_s)
{
	return addr_cache_get(r->cache, name, now_ms(), out, max, ttl_s);
}

static unsigned addrinfo_collect(const struct ares_addrinfo *ai, struct ip_addr *addrs,
				 unsigned *ttl_s)
{
	unsigned n = 0;
	int ttl = ADDR_CACHE_TTL_MAX_S;

	for (const struct ares_addrinfo_cname *c = ai->cnames; c; c = c->next)
		if (c->ttl < ttl)
			ttl = c->ttl;
	for (const struct ares_addrinfo_node *node = ai->nodes; node; node = node->ai_next) {
		struct ip_addr ip;
		if (node->ai_ttl < ttl)
			ttl = node->ai_ttl;
		if (n == RESOLVER_MAX_ADDRS)
			continue;
		if (node->ai_family == AF_INET) {
			const struct sockaddr_in *sin = (const struct sockaddr_in *)node->ai_addr;
			memset(&ip, 0, sizeof(ip));
			ip.family = IP_V4;
			memcpy(ip.bytes, &sin->sin_addr, 4);
		} else if (node->ai_family == AF_INET6) {
			const struct sockaddr_in6 *sin6 =
			    (const struct sockaddr_in6 *)node->ai_addr;
			memset(&ip, 0, sizeof(ip));
			ip.family = IP_V6;
			memcpy(ip.bytes, &sin6->sin6_addr, 16);
		} else {
			continue;
		}
		addrs[n++] = ip;
	}
	*ttl_s = ttl < 0 ? 0 : (unsigned)ttl;
	return n;
}

static struct resolver_lookup **inflight_bucket(struct resolver *r, uint32_t h)
{
	return &r->inflight[h % RESOLVER_INFLIGHT_BUCKETS];
}

static struct resolver_lookup *inflight_find(struct resolver *r, const char *name, uint32_t h)
{
	for (struct resolver_lookup *l = *inflight_bucket(r, h); l; l = l->next)
		if (l->hash == h && strcmp(l->name, name) == 0)
			return l;
	return NULL;
}

static void inflight_remove(struct resolver_lookup *l)
{
	struct resolver_lookup **link = inflight_bucket(l->r, l->hash);

	while (*link != l)
		link = &(*link)->next;
	*link = l->next;
	l->next = NULL;
	l->r->n_inflight--;
}

/* Calls every waiter still waiting, then frees the lookup. A callback may cancel another
 * waiter (its cb turns NULL before its turn) or start a lookup of the same name (a new one:
 * this one has left the in-flight table). */
static void lookup_deliver(struct resolver_lookup *l)
{
	for (struct resolver_query *q = l->waiters; q; q = q->next)
		if (q->cb)
			q->cb(q->arg, l->result, l->addrs, l->n_addrs);
	lookup_free(l);
}

static void lookup_finish(struct resolver_lookup *l, enum reason result,
			  const struct ip_addr *addrs, unsigned n)
{
	inflight_remove(l);
	l->result = result;
	l->n_addrs = n;
	memmove(l->addrs, addrs, n * sizeof(*addrs));
	if (l->starting) {
		l->answered = true;
		return;
	}
	lookup_deliver(l);
}

static void typed_deliver(struct resolver_typed *t, const uint8_t *msg, size_t len)
{
	if (t->q.on_msg)
		t->q.on_msg(t->q.arg, t->result, msg, len);
	free(t->msg);
	free(t);
}

static void resolver_on_parked(evutil_socket_t fd, short what, void *arg)
{
	struct resolver *r = arg;
	struct resolver_lookup *l = r->parked, *next;
	struct resolver_typed *t = r->parked_typed, *tnext;

	/* Taken whole: a callback that parks another query re-arms the event for it. */
	r->parked = NULL;
	r->parked_typed = NULL;
	for (; l; l = next) {
		next = l->next;
		lookup_deliver(l);
	}
	for (; t; t = tnext) {
		tnext = t->next;
		typed_deliver(t, t->msg, t->msg_len);
	}
}

/* The consistency rule (docs/dns.md): within an entry's lifetime every user of the name gets
 * the entry's addresses, whichever worker asks and whatever a later answer says. So a fresh
 * answer loses to an entry another worker made meanwhile, and a failed lookup takes such an
 * entry when there is one. */
static unsigned lookup_settle(struct resolver_lookup *l, int status, struct ares_addrinfo *ai,
			      struct ip_addr *out, enum reason *result)
{
	struct addr_cache *cache = l->r->cache;
	struct ip_addr addrs[RESOLVER_MAX_ADDRS];
	unsigned n = 0, ttl_s = 0;

	*result = status == ARES_ETIMEOUT ? REASON_DNS_TIMEOUT : REASON_DNS_ERROR;
	if (status == ARES_SUCCESS && ai)
		n = addrinfo_collect(ai, addrs, &ttl_s);
	if (n > 0) {
		*result = REASON_ALLOWED;
		return addr_cache_put(cache, l->name, addrs, n, ttl_s, l->source, now_ms(), out,
				      RESOLVER_MAX_ADDRS);
	}
	int cached = addr_cache_get(cache, l->name, now_ms(), out, RESOLVER_MAX_ADDRS, NULL);
	if (cached <= 0)
		return 0;
	*result = REASON_ALLOWED;
	return (unsigned)cached;
}

static struct resolver_lookup *lookup_new(struct resolver *r, const char *name, uint32_t h);

/* A timeout belongs to the waiters that were there when the question was asked: one that
 * joined later has waited less than timeouts.dns, so its share of the lookup is asked again,
 * once (it is there from the start of the new question). The HTTP side's own timer still ends
 * its wait at its deadline; the DNS listener has no other. */
static void lookup_ask_late_again(struct resolver_lookup *l)
{
	struct resolver_query **link = &l->waiters, *late = NULL, **late_tail = &late;
	struct resolver_lookup *again;

	while (*link) {
		struct resolver_query *q = *link;
		if (q->cb && q->joined_ms > l->asked_ms) {
			*link = q->next;
			q->next = NULL;
			*late_tail = q;
			late_tail = &q->next;
		} else {
			link = &q->next;
		}
	}
	l->waiters_tail = link;
	if (!late)
		return;
	again = lookup_new(l->r, l->name, l->hash);
	if (again) {
		again->waiters = late;
		again->waiters_tail = late_tail;
		if (lookup_ask(again))
			return;
		inflight_remove(again);
		free(again);
	}
	/* Out of memory: they share the timeout after all. */
	*l->waiters_tail = late;
	l->waiters_tail = late_tail;
}

static void resolver_on_answer(void *arg, int status, int timeouts, struct ares_addrinfo *ai)
{
	struct resolver_ask *a = arg;
	struct resolver_lookup *l = a->l;
	struct ip_addr addrs[RESOLVER_MAX_ADDRS];
	enum reason result;

	free(a);
	if (l)
		l->ask = NULL;
	if (l && status == ARES_EDESTRUCTION) {
		inflight_remove(l);
		lookup_free(l);
	} else if (l) {
		unsigned n = lookup_settle(l, status, ai, addrs, &result);
		if (result == REASON_DNS_TIMEOUT)
			lookup_ask_late_again(l);
		lookup_finish(l, result, addrs, n);
	}
	if (ai)
		ares_freeaddrinfo(ai);
}

/* Asks c-ares for l's name at the servers set now. False when out of memory. */
static bool lookup_ask(struct resolver_lookup *l)
{
	struct resolver *r = l->r;
	struct resolver_ask *a = malloc(sizeof(*a));
	struct ares_addrinfo_hints hints;

	if (!a)
		return false;
	a->l = l;
	l->ask = a;
	l->source = r->servers_key;
	l->asked_ms = now_ms();
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_flags = ARES_AI_NOSORT;
	l->starting = true;
	ares_getaddrinfo(r->channel, l->name, NULL, &hints, resolver_on_answer, a);
	l->starting = false;
	if (l->answered) {
		l->next = r->parked;
		r->parked = l;
		event_active(r->parked_ev, EV_TIMEOUT, 0);
	}
	return true;
}

static struct resolver_lookup *lookup_new(struct resolver *r, const char *name, uint32_t h)
{
	size_t len = strlen(name);
	struct resolver_lookup *l = calloc(1, sizeof(*l) + len + 1);

	if (!l)
		return NULL;
	l->r = r;
	l->hash = h;
	l->waiters_tail = &l->waiters;
	memcpy(l->name, name, len + 1);
	struct resolver_lookup **bucket = inflight_bucket(r, h);
	l->next = *bucket;
	*bucket = l;
	r->n_inflight++;
	return l;
}

struct resolver_query *resolver_lookup(struct resolver *r, const char *name, resolver_on_done cb,
				       void *arg)
{
	uint32_t h = name_hash(name);
	struct resolver_query *q = malloc(sizeof(*q));
	struct resolver_lookup *l;

	if (!q)
		return NULL;
	q->next = NULL;
	q->cb = cb;
	q->on_msg = NULL;
	q->arg = arg;
	q->joined_ms = now_ms();
	/* New servers that c-ares could not take yet: an idle channel takes them. */
	if (r->servers_key != r->want_key && r->n_inflight == 0)
		resolver_apply_servers(r);
	l = inflight_find(r, name, h);
	if (!l) {
		l = lookup_new(r, name, h);
		if (!l) {
			free(q);
			return NULL;
		}
		if (!lookup_ask(l)) {
			inflight_remove(l);
			free(l);
			free(q);
			return NULL;
		}
	}
	*l->waiters_tail = q;
	l->waiters_tail = &q->next;
	resolver_arm_timer(r);
	return q;
}

static void resolver_on_message_answer(void *arg, int status, int timeouts, unsigned char *abuf,
				       int alen)
{
	struct resolver_typed *t = arg;
	/* An answer with any rcode is the caller's to read: NXDOMAIN and NODATA are answers. */
	bool answered = abuf && alen >= 12 && status != ARES_ETIMEOUT;
	size_t len = answered ? (size_t)alen : 0;

	if (status == ARES_EDESTRUCTION) {
		free(t);
		return;
	}
	if (status == ARES_ECANCELLED && t->r->cancelling) {
		t->next = t->r->reask;
		t->r->reask = t;
		return;
	}
	t->result = answered		      ? REASON_ALLOWED
		    : status == ARES_ETIMEOUT ? REASON_DNS_TIMEOUT
					      : REASON_DNS_ERROR;
	if (!t->starting) {
		typed_deliver(t, answered ? abuf : NULL, len);
		return;
	}
	/* Parked: the answer outlives c-ares's buffer. */
	t->answered = true;
	t->msg = len ? malloc(len) : NULL;
	if (t->msg)
		memcpy(t->msg, abuf, len);
	else if (len)
		t->result = REASON_DNS_ERROR;
	t->msg_len = t->msg ? len : 0;
}

static void typed_ask(struct resolver_typed *t)
{
	struct resolver *r = t->r;

	t->starting = true;
	ares_query(r->channel, t->name, 1 /* class IN */, t->qtype, resolver_on_message_answer, t);
	t->starting = false;
	if (t->answered) {
		t->next = r->parked_typed;
		r->parked_typed = t;
		event_active(r->parked_ev, EV_TIMEOUT, 0);
	}
}

struct resolver_query *resolver_query_type(struct resolver *r, const char *name, uint16_t qtype,
					   resolver_on_message cb, void *arg)
{
	size_t len = strlen(name);
	struct resolver_typed *t = calloc(1, sizeof(*t) + len + 1);

	if (!t)
		return NULL;
	t->r = r;
	t->q.on_msg = cb;
	t->q.arg = arg;
	t->qtype = qtype;
	memcpy(t->name, name, len + 1);
	typed_ask(t);
	resolver_arm_timer(r);
	return &t->q;
}

void resolver_cancel(struct resolver_query *q)
{
	q->cb = NULL;
	q->on_msg = NULL;
}
