/* reason: the closed set of reasons a request is allowed, refused or fails, each with one
 * stable token used in the log line, the metric label and the Proxy-Status header (RFC 9209).
 * Does not format replies (emit/http_reply does). */
#ifndef SLUICE_POLICY_REASON_H
#define SLUICE_POLICY_REASON_H

enum reason {
	REASON_ALLOWED = 0,
	/* policy */
	REASON_DOMAIN_DENIED,
	REASON_DOMAIN_NOT_ALLOWED,
	REASON_PORT_NOT_ALLOWED,
	REASON_METHOD_NOT_ALLOWED,
	REASON_BODY_TOO_LARGE,
	REASON_ROUTE_NOT_ALLOWED,
	REASON_ROUTE_CONNECT,
	REASON_UNKNOWN_AGENT,
	REASON_AUTH_REQUIRED,
	REASON_CONNECTION_LIMIT,
	REASON_IP_NON_GLOBAL,
	REASON_IP_METADATA,
	REASON_IP_DENIED,
	REASON_PROXY_LOOP,
	REASON_LOOPBACK_NAME, /* localhost and *.localhost (RFC 6761 §6.3), never resolved */
	/* client protocol */
	REASON_BAD_REQUEST,
	REASON_SMUGGLING,
	REASON_BAD_AUTHORITY,
	REASON_HEAD_TOO_LARGE,
	REASON_HEAD_TIMEOUT,
	REASON_VERSION,
	REASON_TE_UNSUPPORTED,
	REASON_NOT_A_PROXY_REQUEST,
	REASON_CLIENT_CLOSED,
	REASON_CLIENT_BODY_MALFORMED,
	REASON_CLIENT_IDLE,
	/* the transparent TLS listener (listen.transparent_tls): what its ClientHello lacked */
	REASON_NOT_TLS,		/* the first bytes are not a TLS record ("GET / HTTP/1.1") */
	REASON_TLS_MALFORMED,	/* TLS records, but no well-formed ClientHello */
	REASON_TLS_TOO_LARGE,	/* the ClientHello exceeds TLS_HELLO_MAX / TLS_HELLO_INPUT_MAX */
	REASON_TLS_NO_SNI,	/* no server_name: nothing names the destination */
	REASON_TLS_SNI_LITERAL, /* an IP address as SNI (RFC 6066 §3 forbids it) */
	/* what a CONNECT tunnel carries (tunnel:, policy/tunnel_policy) */
	REASON_SNI_MISMATCH,	     /* the SNI names another host, one the agent may not reach */
	REASON_TLS_ECH,		     /* an encrypted ClientHello, and tunnel.ech is deny */
	REASON_TUNNEL_NOT_TLS,	     /* neither TLS nor HTTP, to a port not in opaque_ports */
	REASON_TUNNEL_HOST_MISMATCH, /* HTTP inside the tunnel names another host than it */
	/* rules: (policy/request_rules) */
	REASON_REQUEST_DENIED,	     /* a rule with action deny matched, or a header it denies */
	REASON_REQUEST_NOT_ALLOWED,  /* rules name the host, none allows this method and path */
	REASON_REQUEST_RULES_TUNNEL, /* CONNECT to a host whose requests rules judge */
	/* credentials: (policy/credentials) */
	REASON_CREDENTIAL_MISUSE,   /* a placeholder sent to a host it does not belong to */
	REASON_CREDENTIAL_REQUIRED, /* require: true, and the placeholder is not where it goes */
	REASON_CREDENTIAL_TUNNEL,   /* CONNECT, not intercepted, to a host credentials go to */
	/* scan: (policy/scan) */
	REASON_SECRET_DETECTED,	 /* a pattern of scan: found something that may not go there */
	REASON_ENCODED_HOSTNAME, /* scan.hostnames: a label of the name looks like encoded data */
	/* approvals (mode ask, ask patterns): a held request's end other than going on */
	REASON_APPROVAL_DENIED,	 /* an operator answered deny */
	REASON_APPROVAL_TIMEOUT, /* no answer within approvals.timeout */
	REASON_APPROVAL_BUSY,	 /* approvals.max_pending requests wait already */
	/* search: (io/search_flow): a search API's request answered from SearXNG */
	REASON_SEARCH_BAD_REQUEST,   /* the API's request cannot be read (its 400) */
	REASON_SEARCH_RATE_LIMITED,  /* the agent's search.rate is spent */
	REASON_SEARXNG_REFUSED,	     /* SearXNG answered 403: its JSON format is not enabled */
	REASON_SEARXNG_RATE_LIMITED, /* SearXNG's limiter answered 429 */
	REASON_SEARXNG_UNRESPONSIVE, /* no results, and engines that did not answer */
	REASON_SEARXNG_ERROR,	     /* another status, or an answer that is not its JSON */
	REASON_SEARXNG_TIMEOUT,	     /* no answer within search.timeout */
	/* upstream */
	REASON_DNS_ERROR,
	REASON_DNS_TIMEOUT,
	REASON_DNS_BUSY,
	REASON_CONNECT_REFUSED,
	REASON_CONNECT_TIMEOUT,
	REASON_CONNECT_UNREACHABLE,
	REASON_UPSTREAM_BAD_RESPONSE,
	REASON_UPSTREAM_HEAD_TOO_LARGE, /* limits.max_response_head / max_response_headers */
	REASON_UPSTREAM_CLOSED,
	REASON_UPSTREAM_TIMEOUT,
	REASON_UPSTREAM_TLS,
	/* interception (tls_accept and the intercepted requests' upstreams) */
	REASON_TLS_CERTIFICATE_ERROR, /* an intercepted upstream's certificate did not verify */
	REASON_TLS_PROTOCOL_ERROR,    /* TLS to an intercepted upstream failed otherwise */
	REASON_TLS_CLIENT_UNTRUSTED,  /* the client refused the minted leaf: it lacks the CA */
	REASON_TLS_CLIENT_FAILED,     /* the client's handshake with sluice failed otherwise */
	REASON_TLS_HANDSHAKE_TIMEOUT, /* timeouts.tls_handshake ran out */
	REASON_TUNNEL_IDLE,
	REASON_INTERNAL,
	/* the DNS listener (listen.dns) */
	REASON_DNS_BAD_NAME,	    /* the question's name is no host name (odd bytes, a literal) */
	REASON_DNS_TYPE,	    /* a query type the agent may not ask (dns.types, ANY, meta) */
	REASON_DNS_RATE_LIMITED,    /* the agent's dns.rate token bucket is empty */
	REASON_DNS_INTERNAL_ANSWER, /* an answer address is internal or denied (rebinding) */
	REASON_DNS_UPSTREAM_FAILED, /* the upstream servers failed or timed out: SERVFAIL */
	REASON_DNS_MALFORMED,	    /* the query is not a DNS query sluice can read: FORMERR */
	/* lifecycle */
	REASON_SHUTDOWN, /* still open at the end of a drain (SIGTERM) */
	REASON__COUNT
};

/* Who or what a request that ends for a reason was ended by: the first half of the log's "ended"
 * field (docs/logs.md). */
enum reason_by {
	REASON_BY_DONE,	  /* nobody: it completed (a whole exchange; a tunnel both sides closed) */
	REASON_BY_CLIENT, /* the client: it went away, or sent what cannot be served */
	REASON_BY_UPSTREAM, /* the upstream: its name did not resolve, it refused, failed or broke
			     */
	REASON_BY_TIMEOUT,  /* one of the timeouts ran out */
	REASON_BY_POLICY,   /* the policy refused it (also a reload's, for an open tunnel) */
	REASON_BY_SHUTDOWN, /* sluice stopped */
	REASON_BY_SLUICE,   /* sluice itself: a limit of its own, an internal failure */
	REASON_BY__COUNT
};

/* What a DNS query that ends for a reason is answered with: the io layer turns it into the RFC
 * 1035 §4.1.1 code (dns_policy_rcode does it for a verdict). Reasons no query can end with carry
 * SERVFAIL, the answer that promises nothing. */
enum reason_rcode {
	REASON_RCODE_SERVFAIL, /* 2: sluice could not answer */
	REASON_RCODE_NOERROR,  /* 0: the answer (it may hold no record: NODATA) */
	REASON_RCODE_DENIED,   /* the agent's dns.denied: NXDOMAIN (3, default) or REFUSED (5) */
	REASON_RCODE_REFUSED,  /* 5: refused whatever dns.denied says */
	REASON_RCODE_FORMERR,  /* 1: the query could not be read */
};

struct reason_info {
	const char *token;	  /* log "reason" field, metric label */
	int status;		  /* HTTP status sent to the client when refused */
	const char *proxy_status; /* RFC 9209 error type */
	const char *summary;	  /* one sentence for the reply body */
	enum reason_by by;	  /* who a request ending for this reason was ended by */
	enum reason_rcode rcode;  /* the DNS answer for a query refused or failed so */
};

const struct reason_info *reason_info(enum reason r);
const char *reason_token(enum reason r);
/* "done", "client", "upstream", "timeout", "policy", "shutdown", "sluice". */
const char *reason_by_token(enum reason_by by);

#endif
