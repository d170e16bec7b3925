/* conn: one client connection and, while a request is in flight, its upstream connection —
 * sockets, events, buffers, the timer, the agent identity, the per-request record, and the
 * single place where it ends. Does not know any protocol: it dispatches its events through the
 * connection's protocol table (io/flow.h), which http_flow and tunnel provide. */
#ifndef SLUICE_IO_CONN_H
#define SLUICE_IO_CONN_H

#include <event2/event_struct.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "emit/log_json.h"
#include "io/flow.h"
#include "io/resolver.h"
#include "io/sockaddr.h"
#include "io/upstream_sock.h"
#include "parse/authority.h"
#include "parse/http1_body.h"
#include "policy/conn_state.h"
#include "policy/approvals.h"
#include "policy/policy.h"

struct worker;
struct resolver_query;
struct snapshot;
struct config;
struct tls_session;
struct worker_agent_slot;
struct conn_setup_ops;

/* One direction of a CONNECT tunnel in splice mode. */
struct tunnel_dir {
	int pipe[2];	  /* held only while bytes flow; -1 otherwise */
	uint32_t in_pipe; /* bytes spliced in and not yet out */
	bool splicing;	  /* bulk transfer: move bytes through the pipe, not user space */
};

/* Per-request facts, reset between keep-alive requests. */
struct conn_request {
	char method[24];
	const struct agent *agent; /* identified agent (points into cfg) */
	/* The proxy credentials the request came with, to identify an open tunnel's agent again
	 * after a reload; valid when has_cred. */
	struct agent_credentials cred;
	bool has_cred;
	const struct route *route; /* operator route serving this request, if any */
	/* search: (io/search_flow): the API it is answered as (search_api + 1; 0: not a search),
	 * and the log's facts; the query text is in the log text. search is the flow's own state
	 * while the answer is being made (owned: freed with the request). */
	uint8_t search_api;
	bool search_tunnel; /* a CONNECT to a search API's host: intercepted, never connected */
	bool search_cached;
	int search_results; /* -1: none */
	int64_t searxng_ms; /* -1: not asked */
	struct search_state *search;
	void (*search_free)(struct search_state *st);
	bool auth_challenge;	   /* a 407 carries Proxy-Authenticate */
	uint64_t max_body;	   /* the request's body limit; 0 = none */
	const char *max_body_rule; /* the rule it is from ("rules[2]"), NULL for the agent's */
	uint64_t body_seen;	   /* chunked request body bytes seen so far */
	bool is_connect, is_head;
	/* A tunnel from the transparent TLS listener: opened without a 200, the client's
	 * ClientHello (kept in cin) relayed upstream first. */
	bool tunnel_silent;
	bool websocket; /* a WebSocket handshake went upstream: a 101 turns it into a tunnel */
	/* The policy intercepts the destination: the CONNECT's, and each request's inside, upstream
	 * is TLS to dest's name, verified (tls.upstream_ca and the system store). */
	bool intercept;
	bool upstream_verified; /* that upstream's certificate verified (at its handshake) */
	bool upstream_h2;	/* that upstream speaks HTTP/2 (io/h2_upstream) */
	/* The credentials whose secrets the request carries upstream (points into cfg): their
	 * secrets are taken out of the response head again. */
	const struct credential *creds_used[CREDENTIAL_USES_MAX];
	uint8_t n_creds_used;
	/* The request body's secret scan (policy/scan), while its bytes go on; owned. */
	struct scan_stream *body_scan;
	struct authority dest;	 /* what the agent asked for */
	struct authority target; /* what sluice connects to: dest, or a route's upstream */
	struct verdict verdict;
	enum reason result; /* what ended the request; REASON_ALLOWED = success */
	int status;	    /* status sent to the client */
	struct ip_addr addrs[RESOLVER_MAX_ADDRS];
	unsigned n_addrs, next_addr;
	struct ip_addr connected; /* the address tried or judged last; valid when has_connected */
	bool has_connected;
	bool host_withheld; /* scan: found a secret in the name: the log line does not show it */
	bool logged;
	uint64_t bytes_up, bytes_down;
	uint64_t started_ms;
	uint64_t phase_start_us; /* DNS lookup or TCP connect start, for the latency metrics */
	/* request body framing (client → upstream) */
	int req_framing;
	uint64_t req_remaining;
	struct http1_chunked req_chunked;
	uint32_t req_approved; /* bytes at the front of cin cleared to forward */
	bool req_done;
	bool client_keep_alive;
	int client_minor;
	/* response (upstream → client) */
	bool resp_head_done;
	int resp_framing;
	uint64_t resp_remaining;
	struct http1_chunked resp_chunked;
	uint32_t resp_approved;
	bool resp_done;
	bool upstream_keep_alive;
	bool upstream_reused;  /* the upstream connection came from the keep-alive pool */
	bool replayable;       /* idempotent and bodiless: may be sent again (RFC 9112 §9.3.1) */
	bool upstream_retried; /* sent again on a new connection after a stale pooled one */
	bool close_after_reply;
	/* The log (issue 10): the request's id, given at its first line and repeated by every
	 * later one; whether a tunnel's open line is out. */
	uint64_t log_id;
	bool open_logged;
	/* Held for an operator's answer (io/hold): the approval store's entry while waiting (0
	 * otherwise), who to resume, what became of it and who answered. */
	uint64_t hold_id;
	void (*hold_resume)(struct conn *c);
	uint8_t hold_outcome; /* enum hold_outcome */
	char hold_by[APPROVAL_BY_MAX + 1];
	uint64_t held_ms; /* how long it waited */
};

/* What the log line says of a request and the verdict does not keep: the path, the host as
 * spelled (when it differs from dest.name), the user name of credentials refused at
 * identification. Allocated for a connection at its first request that has any (a plain HTTP
 * request, a rare CONNECT), reused by its later requests and emptied between them, so an idle
 * tunnel does not carry 1.3 KiB of text it never has, and no request pays an allocation. */
struct conn_log_text {
	uint16_t path_len, host_raw_len, user_len, sni_len, alpn_len, tls_error_len;
	char path[LOG_JSON_PATH_MAX];
	char host_raw[LOG_JSON_HOST_MAX];
	char user[LOG_JSON_USER_MAX];
	char sni[LOG_JSON_HOST_MAX];
	char alpn[LOG_JSON_ALPN_MAX];
	char tls_error[LOG_JSON_TLS_ERROR_MAX];
	uint16_t search_query_len;
	char search_query[LOG_JSON_QUERY_MAX];
};

/* Client I/O of a connection without a socket of its own: an HTTP/2 stream's request, which
 * HTTP/1.1's flow drives as it drives any client (io/h2_flow). Same returns as
 * conn_client_read and conn_client_write; want_* replace socket interest (the owner activates
 * c_rd and c_wr itself); closed tells the owner the connection ended (conn_close). */
struct conn_client_io {
	ssize_t (*read)(struct conn *c, struct buf *b, size_t max_cap);
	ssize_t (*write)(struct conn *c, struct buf *b, size_t n);
	void (*want_read)(struct conn *c, bool on);
	void (*want_write)(struct conn *c, bool on);
	void (*closed)(struct conn *c);
};

struct conn {
	struct worker *w;
	struct conn *prev, *next; /* worker's list of live connections */
	struct snapshot *snap;	  /* the configuration this connection's request runs under */
	const struct config *cfg; /* snap->cfg */
	int cfd;
	/* The client's TLS session once sluice terminates it (an intercepted tunnel); NULL
	 * otherwise. Every client read and write goes through it (conn_client_read...). */
	struct tls_session *ctls;
	/* A stream's connection (conn_child_new): its client I/O, the owner's state for it, and
	 * the connection it came in on (open for as long as this one is). NULL otherwise. */
	const struct conn_client_io *cio;
	void *cio_arg;
	struct conn *parent;
	/* The upstream connection while a request is in flight (or a tunnel open), with its TLS
	 * session for an https route; NULL otherwise. */
	struct upstream_sock *us;
	struct worker_agent_slot *agent_slot; /* the agent this connection is counted for */
	const struct flow_ops *ops;	      /* the protocol its events go to */
	uint8_t ops_switches;		      /* conn_switch_ops calls (at most four) */
	/* While the upstream is being set up (state connecting), its events and the connect timer
	 * go here instead; installed with the upstream socket (conn_upstream_attach). */
	const struct conn_setup_ops *setup;
	enum conn_state state; /* written by conn_set_state alone */
	struct event c_rd, c_wr, timer;
	bool c_want_read; /* c_rd stays registered while set (see conn_want_client_read) */
	/* A TLS read could not send what it had to (a TLS 1.3 KeyUpdate answer, RFC 8446 §4.6.3)
	 * with the socket full: the read is tried again once it is writable. */
	bool c_read_wants_write;
	struct buf cin, cout, uin, uout;
	/* A copy of the request head of a replayable request sent on a pooled connection that may
	 * turn out stale (closed by the upstream just as it was reused), kept until the first byte
	 * of answer; empty otherwise. Non-empty is what allows upstream_retry_stale. HTTP's: its
	 * release frees it. */
	struct buf replay;
	struct resolver_query *dns;
	void *proto; /* the protocol's own state, its release frees it (dns_tcp: the lookup) */
	uint64_t last_activity_ms;
	unsigned timeout_ms;
	enum reason timeout_reason;
	bool c_eof, u_eof, c_shut_wr, u_shut_wr;
	uint16_t client_port;
	struct ip_addr client_ip;
	char client_text[SOCKADDR_TEXT_MAX];
	struct tunnel_dir up, down;	/* the tunnel's: client → upstream, upstream → client */
	struct conn_log_text *log_text; /* NULL until a request has some (conn_log_text) */
	struct conn_request req;
};

/* Who drives the upstream socket while it is being set up (io/upstream: the TCP handshake, then
 * TLS). The protocol hears of it once it is ready or has failed (flow_ops). */
struct conn_setup_ops {
	void (*on_readable)(struct conn *c);
	void (*on_writable)(struct conn *c);
	/* The connect timer ran out: true when another attempt took over, false to let conn
	 * reply with the timeout. */
	bool (*on_timeout)(struct conn *c);
};

/* A new client connection, speaking the protocol `ops` (its listener's). */
void conn_accept(struct worker *w, int fd, const struct sockaddr *peer, const struct flow_ops *ops);
/* A connection for one request that arrived on parent (an HTTP/2 stream), doing its client I/O
 * through io and speaking ops: the parent's client and snapshot, no socket, counted among the
 * worker's connections (not in the connection metrics or per-agent limits: parent is). NULL
 * when out of memory. Its end calls io->closed; the parent must close it before itself. */
struct conn *conn_child_new(struct conn *parent, const struct conn_client_io *io, void *io_arg,
			    const struct flow_ops *ops);
/* Moves the connection to `next`: the only writer of c->state. A move conn_state_allows refuses
 * is a bug (BUG_ON). */
void conn_set_state(struct conn *c, enum conn_state next);
/* Hands the connection to another protocol, at most four times (HTTP to the tunnel after a
 * CONNECT or a WebSocket 101; to tunnel_check and from it to the tunnel, to HTTP inside it, or,
 * intercepted, to tls_accept and then HTTP inside sluice's TLS, which a 101 hands to the tunnel
 * again): the old one releases what it holds, the new one gets every later event. */
void conn_switch_ops(struct conn *c, const struct flow_ops *ops);
/* Ends the connection: logs the request in flight (if any), closes both sockets, frees.
 * The single exit of every connection (docs/internals/connections.md, "Who ends a connection"). */
void conn_close(struct conn *c, enum reason why);

/* Event interest. Read interest stays registered for as long as it is wanted and is dropped
 * lazily — the event is removed only once the socket turns readable while unwanted — so that
 * reading switched off and on again costs no epoll_ctl; write interest is registered only while
 * a write would block. */
void conn_want_client_read(struct conn *c, bool on);
void conn_want_client_write(struct conn *c, bool on);
void conn_want_upstream_read(struct conn *c, bool on);
void conn_want_upstream_write(struct conn *c, bool on);
/* Arms the connection's one timer: `ms` of inactivity (see conn_touch) ends it with `why`. */
void conn_set_timeout(struct conn *c, unsigned ms, enum reason why);
void conn_touch(struct conn *c);
uint64_t conn_now_ms(void);
/* A fine monotonic clock, for latency measurements. */
uint64_t conn_now_us(void);

/* Reads what the socket has into b (up to max_cap). Returns bytes read, 0 on EOF,
 * -1 when it would block, -2 on error. */
ssize_t conn_read_into(int fd, struct buf *b, size_t max_cap);
/* Writes from the front of b up to n bytes; consumes what was written. Returns bytes written,
 * -1 when it would block with nothing written, -2 on error. */
ssize_t conn_write_from(int fd, struct buf *b, size_t n);

/* Client I/O, through TLS once sluice terminates the client's (c->ctls); the same returns as
 * conn_read_into, conn_write_from and conn_write2 (through TLS, conn_client_write2 joins as
 * conn_upstream_write2 does).
 * A TLS client that closes without close_notify reads as an end of stream. */
ssize_t conn_client_read(struct conn *c, struct buf *b, size_t max_cap);
ssize_t conn_client_write(struct conn *c, struct buf *b, size_t n);
ssize_t conn_client_write2(struct conn *c, struct buf *a, struct buf *b, size_t b_n,
			   size_t *b_written);
/* The client read callback runs once more on the next loop turn, if reading is wanted: TLS holds
 * decrypted bytes that no socket event will announce. */
void conn_client_read_again(struct conn *c);

/* limits.max_connections_per_agent: the connection counts for the agent of its latest request
 * (credentials may name another agent on the next one); each worker enforces its share. Over
 * the limit the request is refused in the protocol's bytes (ops->refuse): returns false. */
bool conn_count_agent(struct conn *c);

/* Writes what cout holds to the client. Returns 1 once cout is empty, 0 when the socket is full
 * (write interest is then registered), -1 when the connection was closed (write error). */
int conn_flush_client(struct conn *c);

/* Writes all of a then up to b_n bytes of b in one sendmsg; consumes what was written and
 * sets *b_written. Returns the total written, -1 when it would block with nothing written,
 * -2 on error. */
ssize_t conn_write2(int fd, struct buf *a, struct buf *b, size_t b_n, size_t *b_written);
/* The upstream's TLS session, NULL for plain TCP or no upstream. */
static inline struct tls_session *conn_upstream_tls(const struct conn *c)
{
	return c->us ? c->us->tls : NULL;
}
/* Bytes wait inside the upstream's TLS or HTTP/2 session that no socket event will announce:
 * read again instead of waiting. */
bool conn_upstream_pending(const struct conn *c);
/* The upstream read callback runs once more on the next loop turn, if reading is wanted: TLS
 * holds decrypted bytes that no socket event will announce. */
void conn_upstream_read_again(struct conn *c);
/* Upstream I/O, through TLS when the upstream speaks it; same returns as above. A TLS read
 * that ends without close_notify counts as an end of stream: HTTP framing decides whether the
 * response was complete. */
ssize_t conn_upstream_read(struct conn *c, struct buf *b, size_t max_cap);
ssize_t conn_upstream_write(struct conn *c, struct buf *b, size_t n);
/* conn_write2 toward the upstream: a and the first b_n bytes of b in one sendmsg. Through TLS a
 * small pair (16 KiB together) is joined into a and sealed as one record, its b bytes counted
 * in *b_written; a larger one writes a alone (*b_written 0). */
ssize_t conn_upstream_write2(struct conn *c, struct buf *a, struct buf *b, size_t b_n,
			     size_t *b_written);
struct tls_hello;
/* A ClientHello's SNI and offered ALPN protocols, for the request's log line. */
void conn_log_hello(struct conn *c, const struct tls_hello *hello);
/* Writes the decision log line of the current request (once): its end line, which says who
 * ended it — `why` did: REASON_ALLOWED when it completed — and in which state it was. */
void conn_log_request(struct conn *c, enum reason why);
/* Writes a tunnel's open line, once its 200 is out; its end line repeats the id. */
void conn_log_open(struct conn *c);
/* Sends sluice's own reply for `why` (with Proxy-Status) and logs the request; when close is
 * set, the connection ends once the reply is written. */
void conn_reply_error(struct conn *c, enum reason why, const char *detail, bool close);
/* A reply of sluice's own is in cout (the request logged): sends it, then the protocol goes on
 * to the next request or closes (req.close_after_reply), as after conn_reply_error. */
void conn_send_reply(struct conn *c);
/* A held request (io/hold) is answered, timed out or refused: it leaves the queue and its
 * protocol reads it again (hold_resume) knowing the outcome. */
void conn_resume_held(struct conn *c, enum hold_outcome outcome);
void conn_reset_request(struct conn *c);
/* The connection's log text, allocated on first use; NULL when out of memory (the line then
 * goes without it). */
struct conn_log_text *conn_log_text(struct conn *c);
/* The address and port the client connected to (getsockname). -1 when it cannot be read. */
int conn_local_addr(const struct conn *c, struct ip_addr *ip, uint16_t *port);
/* The port the client connected to (getsockname on its socket), 0 when it cannot be had: the
 * destination port of a transparent listener's request that names none. */
uint16_t conn_local_port(const struct conn *c);
/* Between requests: move to the worker's current configuration (after a reload). */
void conn_refresh_snapshot(struct conn *c);
void conn_close_upstream(struct conn *c);
/* Takes ownership of a connected (or connecting) upstream connection, new or from the pool, and
 * takes its events; while the connection is in state connecting they go to `setup`. Its interest
 * is left as it is (a pooled one is still registered for reading). */
void conn_upstream_attach(struct conn *c, struct upstream_sock *us,
			  const struct conn_setup_ops *setup);
/* Gives the upstream connection up without closing it (to the pool), interest unchanged, and
 * releases the upstream buffers. */
struct upstream_sock *conn_upstream_detach(struct conn *c);

#endif
