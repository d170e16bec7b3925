/* log_json: formats one decision record as one JSON object on one line (docs/logs.md).
 * Does not write anywhere (io/log_sink does) and does not decide anything. */
#ifndef SLUICE_EMIT_LOG_JSON_H
#define SLUICE_EMIT_LOG_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/slice.h"

/* Which line of a request: the one line every request gets when it ends, or the line a CONNECT
 * tunnel gets when it opens (its 200 is sent); both carry the request's id. */
enum log_event { LOG_EVENT_END, LOG_EVENT_OPEN };

/* Caps of the fields a caller copies from the request (io/conn keeps buffers of these sizes). */
#define LOG_JSON_PATH_MAX 1024
#define LOG_JSON_HOST_MAX 253	   /* AUTHORITY_NAME_MAX */
#define LOG_JSON_ALPN_MAX 128	   /* the protocols a ClientHello offers, joined by ',' */
#define LOG_JSON_TLS_ERROR_MAX 200 /* "client: " or "upstream: " and OpenSSL's reason */
#define LOG_JSON_USER_MAX 64	   /* AGENT_NAME_MAX: a longer user names no agent */
#define LOG_JSON_QUERY_MAX 512	   /* a search's text: SEARCH_QUERY_MAX / 2 */

struct log_record {
	int64_t ts_ms;	      /* wall clock, Unix epoch milliseconds */
	const char *client;   /* "addr:port" */
	const char *agent;    /* the identified agent's name; "" (or NULL) when none */
	struct slice method;  /* "GET", "CONNECT", ...; may be empty when unparsable */
	struct slice host;    /* normalised host; may be empty */
	unsigned port;	      /* 0 when unknown */
	const char *decision; /* "allow", "deny", "error" */
	const char *reason;   /* reason token */
	const char *rule;     /* may be "" */
	const char *ip;	      /* address connected to; may be "" */
	int status;	      /* status sent to the client; 0 when none */
	uint64_t bytes_up;    /* client → upstream body/tunnel bytes */
	uint64_t bytes_down;  /* upstream → client */
	uint64_t duration_ms;
	uint64_t id; /* unique per process; the open and end lines of a tunnel share it */
	enum log_event event;
	/* End lines: who ended the request (reason_by_token) and in which connection state
	 * (conn_state_name), written as one field "ended":"<by>/<state>"; NULL: no field. */
	const char *ended_by, *ended_in;
	/* Written only when not empty. */
	struct slice path;     /* plain HTTP: the target's path (query kept or not by the caller) */
	struct slice host_raw; /* the host as the agent spelled it, when that differs from host */
	struct slice user;     /* refused at identification: the user name the credentials tried */
	struct slice sni;      /* a tunnel's ClientHello: its server name (when it sent one) */
	struct slice alpn;     /* and the protocols it offered ("h2,http/1.1"); intercepted: the
				  one chosen */
	/* Intercepted (sluice terminated the client's TLS): "intercept":true, and the upstream's
	 * certificate: "verified", or nothing when no upstream was reached. */
	bool intercept;
	const char *upstream_cert;
	bool upstream_h2;	/* the origin spoke HTTP/2: "upstream_alpn":"h2" */
	struct slice tls_error; /* why a TLS handshake failed, on either side */
	/* A search answered from SearXNG (io/search_flow): "search_api", "query" (unless
	 * search.log_query is off: empty), "results", "searxng_ms" (-1: SearXNG was not asked, as
	 * for an answer from the cache: "cached":true). search_api NULL: none of these. */
	const char *search_api;
	struct slice search_query;
	int search_results;
	int64_t searxng_ms;
	bool search_cached;
	/* A request held for an operator's answer (io/hold): "approval" (once, approved, denied,
	 * timeout, busy) and "held_ms", how long it waited. NULL: not held. */
	const char *approval;
	uint64_t held_ms;
};

/* Longest line log_json_format writes: every field is capped, and even fully escaped the caps
 * add up to less than this, so a line is never cut (log_json.c checks it at compile time). */
#define LOG_JSON_LINE_MAX 24576

/* Writes the record and a trailing '\n' into out; returns the length. Strings are escaped per
 * RFC 8259 (control bytes and every byte from 0x7f up as \u00XX, so the line is ASCII); over-long
 * fields are cut. */
size_t log_json_format(const struct log_record *rec, char out[LOG_JSON_LINE_MAX]);

/* One DNS query (docs/logs.md, "DNS lines"), written by io/dns_server: kind "dns", and the
 * fields a request line has where they mean the same (client, agent, decision, reason, rule,
 * duration_ms, id). */
#define LOG_JSON_DNS_ANSWERS_MAX 16 /* RESOLVER_MAX_ADDRS */
struct log_dns_record {
	int64_t ts_ms;
	const char *client, *agent; /* agent "" (or NULL) when none */
	struct slice name;	    /* the question's name as text; may be empty */
	const char *type;	    /* "A", "TYPE99"; "" when no question was read */
	const char *decision, *reason, *rule;
	const char *rcode;     /* "NOERROR", "NXDOMAIN", ...; "" when nothing was answered */
	const char *transport; /* "udp" or "tcp" */
	const char *answers[LOG_JSON_DNS_ANSWERS_MAX]; /* the addresses answered, as text */
	unsigned n_answers;
	bool truncated; /* TC was set: the answers did not fit */
	uint64_t duration_ms, id;
	/* A query held for an operator's answer: as log_record's approval and held_ms. */
	const char *approval;
	uint64_t held_ms;
};

/* As log_json_format, for a DNS query. */
size_t log_json_format_dns(const struct log_dns_record *rec, char out[LOG_JSON_LINE_MAX]);

#endif
