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
#include "io/loop_clock.h"
#include "parse/authority.h"

#define RESOLVER_CACHE_BUCKETS 1024
#define RESOLVER_CACHE_MAX 8192
#define RESOLVER_TTL_MAX_S 3600
#define RESOLVER_MAX_SOCKS 16

struct cache_entry {
	struct cache_entry *next;
	uint64_t expires_ms;
	unsigned n_addrs;
	struct ip_addr addrs[RESOLVER_MAX_ADDRS];
	char name[];
};

struct resolver_sock {
	ares_socket_t fd;
	struct event *ev;
};

struct resolver {
	struct event_base *base;
	ares_channel channel;
	struct event *timer;
	struct resolver_sock socks[RESOLVER_MAX_SOCKS];
	struct cache_entry *buckets[RESOLVER_CACHE_BUCKETS];
	unsigned cache_size;
};

struct resolver_query {
	struct resolver *r;
	resolver_on_done cb; /* NULL once cancelled; resolver_query_type's have on_msg instead */
	resolver_on_message on_msg;
	void *arg;
	uint8_t *msg; /* an answer parked by resolver_query_type, with msg_len */
	size_t msg_len;
	/* c-ares may answer from within ares_getaddrinfo; such an answer is parked here and
	 * delivered from the loop, so that callers never see a callback before the lookup call
	 * has returned. */
	bool starting, answered;
	enum reason result;
	unsigned n_addrs;
	struct ip_addr addrs[RESOLVER_MAX_ADDRS];
	char name[];
};

static uint64_t now_ms(void)
{
	return loop_clock_ms();
}

static unsigned name_hash(const char *name)
{
	return hash_fnv_str(HASH_FNV_BASIS, name) % RESOLVER_CACHE_BUCKETS;
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

int resolver_set_servers(struct resolver *r, const struct config *cfg)
{
	char csv[CONFIG_MAX_RESOLVERS * (IP_ADDR_TEXT_MAX + 10)];
	size_t len = 0;

	if (cfg->n_resolvers == 0)
		return 0;
	csv[0] = '\0';
	for (unsigned i = 0; i < cfg->n_resolvers; i++) {
		char text[IP_ADDR_TEXT_MAX];
		const struct config_endpoint *e = &cfg->resolvers[i];
		ip_addr_format(&e->addr, text);
		len += (size_t)snprintf(csv + len, sizeof(csv) - len,
					e->addr.family == IP_V6 ? "%s[%s]:%u" : "%s%s:%u",
					i ? "," : "", text, (unsigned)e->port);
	}
	return ares_set_servers_ports_csv(r->channel, csv) == ARES_SUCCESS ? 0 : -1;
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

struct resolver *resolver_new(struct event_base *base, const struct config *cfg)
{
	struct resolver *r = calloc(1, sizeof(*r));
	struct ares_options opts;
	int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_LOOKUPS |
		   ARES_OPT_FLAGS;

	if (!r)
		return NULL;
	r->base = base;
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
	if (!r->timer || ares_init_options(&r->channel, &opts, mask) != ARES_SUCCESS) {
		if (r->timer)
			event_free(r->timer);
		free(r);
		return NULL;
	}
	if (resolver_set_servers(r, cfg) != 0) {
		fprintf(stderr, "sluice: resolver: could not set the configured servers\n");
		resolver_free(r);
		return NULL;
	}
	return r;
}

void resolver_free(struct resolver *r)
{
	if (!r)
		return;
	/* Calls every pending callback with ARES_EDESTRUCTION; cancelled queries just free. */
	ares_destroy(r->channel);
	for (unsigned i = 0; i < RESOLVER_MAX_SOCKS; i++)
		if (r->socks[i].ev)
			event_free(r->socks[i].ev);
	for (unsigned b = 0; b < RESOLVER_CACHE_BUCKETS; b++) {
		struct cache_entry *e = r->buckets[b], *next;
		for (; e; e = next) {
			next = e->next;
			free(e);
		}
	}
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
	struct cache_entry **link = &r->buckets[name_hash(name)];
	uint64_t now = now_ms();

	while (*link) {
		struct cache_entry *e = *link;
		if (e->expires_ms <= now) {
			*link = e->next;
			free(e);
			r->cache_size--;
			continue;
		}
		if (strcmp(e->name, name) == 0) {
			unsigned n = e->n_addrs < max ? e->n_addrs : max;
			memcpy(out, e->addrs, n * sizeof(*out));
			if (ttl_s)
				*ttl_s = (unsigned)((e->expires_ms - now + 999) / 1000);
			return (int)n;
		}
		link = &e->next;
	}
	return -1;
}

static void resolver_cache_put(struct resolver *r, const char *name, const struct ip_addr *addrs,
			       unsigned n, unsigned ttl_s)
{
	unsigned b = name_hash(name);
	size_t name_len = strlen(name);

	/* TTL 0 means "do not cache" (RFC 1035 §3.2.1); that is what defeats rebinding by
	 * short TTLs on our side too. */
	if (ttl_s == 0 || n == 0)
		return;
	if (r->cache_size >= RESOLVER_CACHE_MAX) {
		/* Crude but bounded: drop one bucket's chain. */
		struct cache_entry *e = r->buckets[b], *next;
		for (; e; e = next) {
			next = e->next;
			free(e);
			r->cache_size--;
		}
		r->buckets[b] = NULL;
	}
	struct cache_entry *e = malloc(sizeof(*e) + name_len + 1);
	if (!e)
		return;
	e->expires_ms =
	    now_ms() + (uint64_t)(ttl_s > RESOLVER_TTL_MAX_S ? RESOLVER_TTL_MAX_S : ttl_s) * 1000;
	e->n_addrs = n;
	memcpy(e->addrs, addrs, n * sizeof(*addrs));
	memcpy(e->name, name, name_len + 1);
	e->next = r->buckets[b];
	r->buckets[b] = e;
	r->cache_size++;
}

static unsigned addrinfo_collect(const struct ares_addrinfo *ai, struct ip_addr *addrs,
				 unsigned *ttl_s)
{
	unsigned n = 0;
	int ttl = RESOLVER_TTL_MAX_S;

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

static void resolver_on_answer(void *arg, int status, int timeouts, struct ares_addrinfo *ai)
{
	struct resolver_query *q = arg;
	struct ip_addr addrs[RESOLVER_MAX_ADDRS];
	unsigned n = 0, ttl_s = 0;
	enum reason result = REASON_DNS_ERROR;

	if (status == ARES_SUCCESS && ai) {
		n = addrinfo_collect(ai, addrs, &ttl_s);
		if (n > 0) {
			result = REASON_ALLOWED;
			resolver_cache_put(q->r, q->name, addrs, n, ttl_s);
		}
	} else if (status == ARES_ETIMEOUT) {
		result = REASON_DNS_TIMEOUT;
	}
	if (ai)
		ares_freeaddrinfo(ai);
	if (q->starting && status != ARES_EDESTRUCTION) {
		q->answered = true;
		q->result = result;
		q->n_addrs = n;
		memcpy(q->addrs, addrs, n * sizeof(*addrs));
		return;
	}
	if (q->cb && status != ARES_EDESTRUCTION)
		q->cb(q->arg, result, addrs, n);
	free(q);
}

static void resolver_on_parked(evutil_socket_t fd, short what, void *arg)
{
	struct resolver_query *q = arg;
	if (q->cb)
		q->cb(q->arg, q->result, q->addrs, q->n_addrs);
	else if (q->on_msg)
		q->on_msg(q->arg, q->result, q->msg, q->msg_len);
	free(q->msg);
	free(q);
}

/* Delivers a query's result from the loop, never from within the call that started it. */
static int resolver_park(struct resolver *r, struct resolver_query *q)
{
	struct timeval now = {0, 0};
	return event_base_once(r->base, -1, EV_TIMEOUT, resolver_on_parked, q, &now);
}

struct resolver_query *resolver_lookup(struct resolver *r, const char *name, resolver_on_done cb,
				       void *arg)
{
	size_t len = strlen(name);
	struct resolver_query *q = malloc(sizeof(*q) + len + 1);
	struct ares_addrinfo_hints hints;

	if (!q)
		return NULL;
	q->r = r;
	q->cb = cb;
	q->on_msg = NULL;
	q->arg = arg;
	q->msg = NULL;
	q->msg_len = 0;
	memcpy(q->name, name, len + 1);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_flags = ARES_AI_NOSORT;
	q->starting = true;
	q->answered = false;
	ares_getaddrinfo(r->channel, q->name, NULL, &hints, resolver_on_answer, q);
	q->starting = false;
	if (q->answered && resolver_park(r, q) != 0) {
		free(q);
		return NULL;
	}
	resolver_arm_timer(r);
	return q;
}

static void resolver_on_message_answer(void *arg, int status, int timeouts, unsigned char *abuf,
				       int alen)
{
	struct resolver_query *q = arg;
	/* An answer with any rcode is the caller's to read: NXDOMAIN and NODATA are answers. */
	bool answered = abuf && alen >= 12 && status != ARES_ETIMEOUT;
	enum reason result = answered		       ? REASON_ALLOWED
			     : status == ARES_ETIMEOUT ? REASON_DNS_TIMEOUT
						       : REASON_DNS_ERROR;
	size_t len = answered ? (size_t)alen : 0;

	if (status == ARES_EDESTRUCTION) {
		free(q);
		return;
	}
	if (q->starting) {
		q->answered = true;
		q->result = result;
		q->msg = len ? malloc(len) : NULL;
		if (q->msg)
			memcpy(q->msg, abuf, len);
		else if (len)
			q->result = REASON_DNS_ERROR;
		q->msg_len = q->msg ? len : 0;
		return;
	}
	if (q->on_msg)
		q->on_msg(q->arg, result, answered ? abuf : NULL, len);
	free(q);
}

struct resolver_query *resolver_query_type(struct resolver *r, const char *name, uint16_t qtype,
					   resolver_on_message cb, void *arg)
{
	size_t len = strlen(name);
	struct resolver_query *q = calloc(1, sizeof(*q) + len + 1);

	if (!q)
		return NULL;
	q->r = r;
	q->on_msg = cb;
	q->arg = arg;
	memcpy(q->name, name, len + 1);
	q->starting = true;
	ares_query(r->channel, q->name, 1 /* class IN */, qtype, resolver_on_message_answer, q);
	q->starting = false;
	if (q->answered && resolver_park(r, q) != 0) {
		free(q->msg);
		free(q);
		return NULL;
	}
	resolver_arm_timer(r);
	return q;
}

void resolver_cancel(struct resolver_query *q)
{
	q->cb = NULL;
	q->on_msg = NULL;
}
