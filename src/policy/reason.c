#include "policy/reason.h"

#include "base/bug.h"

/* One table for every reason: the token is stable (logs, metrics and Proxy-Status details all
 * use it), the error type is from the RFC 9209 §2.3 registry, `by` is who a request that
 * ends for this reason was ended by (the log's "ended"), and `rcode` what a DNS query that ends
 * for it is answered with (SERVFAIL for the reasons no query can end with). */
static const struct reason_info reason_table[REASON__COUNT] = {
    [REASON_ALLOWED] = {"allowed", 200, "", "The request was allowed.", REASON_BY_DONE,
			REASON_RCODE_NOERROR},
    [REASON_DOMAIN_DENIED] = {"domain_denied", 403, "http_request_denied",
			      "The destination host matches a deny rule of the egress policy.",
			      REASON_BY_POLICY, REASON_RCODE_DENIED},
    [REASON_DOMAIN_NOT_ALLOWED] = {"domain_not_allowed", 403, "http_request_denied",
				   "The destination host is not on the allow list of the "
				   "egress policy.",
				   REASON_BY_POLICY, REASON_RCODE_DENIED},
    [REASON_PORT_NOT_ALLOWED] = {"port_not_allowed", 403, "http_request_denied",
				 "The destination port is not allowed by the egress policy.",
				 REASON_BY_POLICY, REASON_RCODE_REFUSED},
    [REASON_METHOD_NOT_ALLOWED] = {"method_not_allowed", 403, "http_request_denied",
				   "The request method is not allowed by the egress policy.",
				   REASON_BY_POLICY, REASON_RCODE_REFUSED},
    [REASON_BODY_TOO_LARGE] = {"body_too_large", 413, "http_request_denied",
			       "The request body is larger than the egress policy allows.",
			       REASON_BY_POLICY, REASON_RCODE_REFUSED},
    [REASON_ROUTE_NOT_ALLOWED] = {"route_not_allowed", 403, "http_request_denied",
				  "This agent may not use this route.", REASON_BY_POLICY,
				  REASON_RCODE_DENIED},
    [REASON_ROUTE_CONNECT] = {"route_needs_http", 403, "http_request_denied",
			      "This host is an operator route, served over plain HTTP only: "
			      "request http://host/... through the proxy instead of CONNECT.",
			      REASON_BY_POLICY, REASON_RCODE_REFUSED},
    [REASON_UNKNOWN_AGENT] = {"unknown_agent", 403, "http_request_denied",
			      "This client is not a known agent and there is no default agent.",
			      REASON_BY_POLICY, REASON_RCODE_REFUSED},
    [REASON_AUTH_REQUIRED] = {"auth_required", 407, "http_request_denied",
			      "Proxy credentials are required or were not accepted: send "
			      "Proxy-Authorization: Basic with the agent name and its token.",
			      REASON_BY_POLICY, REASON_RCODE_REFUSED},
    [REASON_CONNECTION_LIMIT] = {"connection_limit", 429, "connection_limit_reached",
				 "This agent already holds as many connections as the egress "
				 "policy allows; close some or wait.",
				 REASON_BY_POLICY, REASON_RCODE_REFUSED},
    [REASON_IP_NON_GLOBAL] = {"ip_non_global", 403, "destination_ip_prohibited",
			      "The destination address is internal (not globally reachable); "
			      "sluice never connects to internal addresses unless an operator "
			      "re-allows them.",
			      REASON_BY_POLICY, REASON_RCODE_REFUSED},
    [REASON_IP_METADATA] = {"ip_metadata", 403, "destination_ip_prohibited",
			    "The destination address is a cloud metadata endpoint, which is "
			    "always blocked.",
			    REASON_BY_POLICY, REASON_RCODE_REFUSED},
    [REASON_IP_DENIED] = {"ip_denied", 403, "destination_ip_prohibited",
			  "The destination address is in a range denied by the egress policy.",
			  REASON_BY_POLICY, REASON_RCODE_REFUSED},
    [REASON_PROXY_LOOP] = {"proxy_loop", 403, "proxy_loop_detected",
			   "The destination is this proxy itself.", REASON_BY_POLICY,
			   REASON_RCODE_REFUSED},
    [REASON_LOOPBACK_NAME] = {"loopback_name", 403, "destination_ip_prohibited",
			      "The destination is a loopback name (localhost): it always means "
			      "the machine it is resolved on, and sluice never connects to "
			      "loopback, so it is refused without a DNS lookup.",
			      REASON_BY_POLICY, REASON_RCODE_DENIED},
    [REASON_BAD_REQUEST] = {"bad_request", 400, "http_request_error", "The request is malformed.",
			    REASON_BY_CLIENT, REASON_RCODE_FORMERR},
    [REASON_SMUGGLING] = {"request_smuggling", 400, "http_request_error",
			  "The request framing is ambiguous (a request smuggling shape) and "
			  "was refused.",
			  REASON_BY_CLIENT, REASON_RCODE_SERVFAIL},
    [REASON_BAD_AUTHORITY] = {"bad_authority", 400, "http_request_error",
			      "The destination host or port is malformed.", REASON_BY_CLIENT,
			      REASON_RCODE_FORMERR},
    [REASON_HEAD_TOO_LARGE] = {"head_too_large", 431, "http_request_error",
			       "The request head is larger than this proxy accepts.",
			       REASON_BY_CLIENT, REASON_RCODE_SERVFAIL},
    [REASON_HEAD_TIMEOUT] = {"head_timeout", 408, "http_request_error",
			     "The request head was not received in time.", REASON_BY_TIMEOUT,
			     REASON_RCODE_SERVFAIL},
    [REASON_VERSION] = {"http_version", 505, "http_request_error",
			"Only HTTP/1.0 and HTTP/1.1 are supported.", REASON_BY_CLIENT,
			REASON_RCODE_SERVFAIL},
    [REASON_TE_UNSUPPORTED] = {"te_unsupported", 501, "http_request_error",
			       "Only the chunked transfer coding is supported.", REASON_BY_CLIENT,
			       REASON_RCODE_SERVFAIL},
    [REASON_NOT_A_PROXY_REQUEST] = {"not_a_proxy_request", 400, "http_request_error",
				    "This is a forward proxy: send absolute-form requests "
				    "(http://host/path) or CONNECT host:port.",
				    REASON_BY_CLIENT, REASON_RCODE_SERVFAIL},
    [REASON_CLIENT_CLOSED] = {"client_closed", 0, "", "The client closed the connection.",
			      REASON_BY_CLIENT, REASON_RCODE_SERVFAIL},
    [REASON_CLIENT_BODY_MALFORMED] = {"client_body_malformed", 400, "http_request_error",
				      "The request body framing is malformed.", REASON_BY_CLIENT,
				      REASON_RCODE_SERVFAIL},
    [REASON_CLIENT_IDLE] = {"client_idle", 0, "", "The client connection was idle too long.",
			    REASON_BY_TIMEOUT, REASON_RCODE_SERVFAIL},
    [REASON_NOT_TLS] = {"not_tls", 400, "tls_protocol_error",
			"This is a transparent TLS listener: the connection must open with a TLS "
			"ClientHello.",
			REASON_BY_CLIENT, REASON_RCODE_SERVFAIL},
    [REASON_TLS_MALFORMED] = {"tls_malformed", 400, "tls_protocol_error",
			      "The TLS ClientHello is malformed.", REASON_BY_CLIENT,
			      REASON_RCODE_SERVFAIL},
    [REASON_TLS_TOO_LARGE] = {"tls_hello_too_large", 400, "tls_protocol_error",
			      "The TLS ClientHello is larger than this proxy accepts.",
			      REASON_BY_CLIENT, REASON_RCODE_SERVFAIL},
    [REASON_TLS_NO_SNI] = {"tls_no_sni", 400, "tls_protocol_error",
			   "The TLS ClientHello names no server (SNI): the destination is unknown.",
			   REASON_BY_CLIENT, REASON_RCODE_SERVFAIL},
    [REASON_TLS_SNI_LITERAL] = {"tls_sni_literal", 400, "tls_protocol_error",
				"The TLS ClientHello's SNI is an IP address, which SNI may not be "
				"(RFC 6066 section 3).",
				REASON_BY_CLIENT, REASON_RCODE_SERVFAIL},
    [REASON_SNI_MISMATCH] = {"sni_mismatch", 403, "http_request_denied",
			     "The TLS ClientHello names another server than the tunnel's, one this "
			     "agent may not reach.",
			     REASON_BY_POLICY, REASON_RCODE_SERVFAIL},
    [REASON_TLS_ECH] = {"tls_ech", 403, "http_request_denied",
			"The TLS ClientHello is encrypted (ECH), and the policy refuses tunnels "
			"whose server name is hidden.",
			REASON_BY_POLICY, REASON_RCODE_SERVFAIL},
    [REASON_TUNNEL_NOT_TLS] = {"tunnel_not_tls", 403, "http_request_denied",
			       "The tunnel carries neither TLS nor HTTP, and the policy lets no "
			       "other protocol through to this port.",
			       REASON_BY_POLICY, REASON_RCODE_SERVFAIL},
    [REASON_TUNNEL_HOST_MISMATCH] = {"tunnel_host_mismatch", 403, "http_request_denied",
				     "A request inside the tunnel names another host than the "
				     "tunnel's.",
				     REASON_BY_POLICY, REASON_RCODE_SERVFAIL},
    [REASON_REQUEST_DENIED] = {"request_denied", 403, "http_request_denied",
			       "A rule of the egress policy refuses this request.",
			       REASON_BY_POLICY, REASON_RCODE_SERVFAIL},
    [REASON_REQUEST_NOT_ALLOWED] = {"request_not_allowed", 403, "http_request_denied",
				    "No rule of the egress policy allows this method and path on "
				    "this host.",
				    REASON_BY_POLICY, REASON_RCODE_SERVFAIL},
    [REASON_REQUEST_RULES_TUNNEL] = {"request_rules_tunnel", 403, "http_request_denied",
				     "The egress policy judges this host's requests one by one, "
				     "which a tunnel would hide; use http:// for it.",
				     REASON_BY_POLICY, REASON_RCODE_SERVFAIL},
    [REASON_CREDENTIAL_MISUSE] = {"credential_misuse", 403, "http_request_denied",
				  "The request carries a credential placeholder to a host the "
				  "credential does not belong to.",
				  REASON_BY_POLICY, REASON_RCODE_SERVFAIL},
    [REASON_CREDENTIAL_REQUIRED] = {"credential_required", 403, "http_request_denied",
				    "Requests to this host must carry their credential "
				    "placeholder where the egress policy puts the secret.",
				    REASON_BY_POLICY, REASON_RCODE_SERVFAIL},
    [REASON_CREDENTIAL_TUNNEL] = {"credential_tunnel", 403, "http_request_denied",
				  "The proxy puts this host's credentials into its requests, "
				  "which a tunnel would hide; it must be intercepted.",
				  REASON_BY_POLICY, REASON_RCODE_SERVFAIL},
    [REASON_SECRET_DETECTED] = {"secret_detected", 403, "http_request_denied",
				"The request carries what looks like a secret (a credential "
				"format the egress policy scans for) to a host it does not belong "
				"to.",
				REASON_BY_POLICY, REASON_RCODE_DENIED},
    [REASON_ENCODED_HOSTNAME] = {"encoded_hostname", 403, "http_request_denied",
				 "The host name has a label that looks like encoded data, which "
				 "is how data is carried out in names; the egress policy refuses "
				 "such names.",
				 REASON_BY_POLICY, REASON_RCODE_DENIED},
    [REASON_SEARCH_BAD_REQUEST] = {"search_bad_request", 400, "http_request_error",
				   "The search request cannot be read in its API's terms.",
				   REASON_BY_CLIENT, REASON_RCODE_SERVFAIL},
    [REASON_APPROVAL_DENIED] = {"approval_denied", 403, "http_request_denied",
				"An operator denied this destination when asked for approval.",
				REASON_BY_POLICY, REASON_RCODE_DENIED},
    [REASON_APPROVAL_TIMEOUT] = {"approval_timeout", 403, "http_request_denied",
				 "The destination is not on the allow list; the request waited "
				 "for an operator's approval (the console or sluice approve) and "
				 "none came within approvals.timeout: retry once it is approved.",
				 REASON_BY_TIMEOUT, REASON_RCODE_SERVFAIL},
    [REASON_APPROVAL_BUSY] = {"approval_busy", 403, "http_request_denied",
			      "The destination is not on the allow list, and too many requests "
			      "await an operator's approval already (approvals.max_pending).",
			      REASON_BY_SLUICE, REASON_RCODE_SERVFAIL},
    [REASON_SEARCH_RATE_LIMITED] = {"search_rate_limited", 429, "http_request_denied",
				    "The agent's search rate (search.rate) is spent; retry "
				    "shortly.",
				    REASON_BY_POLICY, REASON_RCODE_SERVFAIL},
    [REASON_SEARXNG_REFUSED] = {"searxng_refused", 502, "proxy_configuration_error",
				"SearXNG refused the search (403): its JSON format is not "
				"enabled (search.formats in its settings.yml).",
				REASON_BY_UPSTREAM, REASON_RCODE_SERVFAIL},
    [REASON_SEARXNG_RATE_LIMITED] = {"searxng_rate_limited", 429, "destination_unavailable",
				     "SearXNG's limiter refused the search (429); turn it off "
				     "or trust sluice's network.",
				     REASON_BY_UPSTREAM, REASON_RCODE_SERVFAIL},
    [REASON_SEARXNG_UNRESPONSIVE] = {"searxng_unresponsive", 502, "destination_unavailable",
				     "SearXNG found nothing: its engines did not answer.",
				     REASON_BY_UPSTREAM, REASON_RCODE_SERVFAIL},
    [REASON_SEARXNG_ERROR] = {"searxng_error", 502, "http_protocol_error",
			      "SearXNG did not answer the search with its JSON.",
			      REASON_BY_UPSTREAM, REASON_RCODE_SERVFAIL},
    [REASON_SEARXNG_TIMEOUT] = {"searxng_timeout", 504, "http_response_timeout",
				"SearXNG did not answer the search in time (search.timeout).",
				REASON_BY_TIMEOUT, REASON_RCODE_SERVFAIL},
    [REASON_DNS_ERROR] = {"dns_error", 502, "dns_error",
			  "The destination host name could not be resolved.", REASON_BY_UPSTREAM,
			  REASON_RCODE_SERVFAIL},
    [REASON_DNS_TIMEOUT] = {"dns_timeout", 504, "dns_timeout",
			    "Resolving the destination host name timed out.", REASON_BY_TIMEOUT,
			    REASON_RCODE_SERVFAIL},
    [REASON_DNS_BUSY] = {"dns_busy", 503, "dns_error",
			 "Too many DNS lookups are pending in the proxy right now; retry later.",
			 REASON_BY_SLUICE, REASON_RCODE_SERVFAIL},
    [REASON_CONNECT_REFUSED] = {"connect_refused", 502, "connection_refused",
				"The destination refused the connection.", REASON_BY_UPSTREAM,
				REASON_RCODE_SERVFAIL},
    [REASON_CONNECT_TIMEOUT] = {"connect_timeout", 504, "connection_timeout",
				"Connecting to the destination timed out.", REASON_BY_TIMEOUT,
				REASON_RCODE_SERVFAIL},
    [REASON_CONNECT_UNREACHABLE] = {"connect_unreachable", 502, "destination_ip_unroutable",
				    "The destination address is unreachable.", REASON_BY_UPSTREAM,
				    REASON_RCODE_SERVFAIL},
    [REASON_UPSTREAM_BAD_RESPONSE] = {"upstream_bad_response", 502, "http_protocol_error",
				      "The destination sent a malformed response.",
				      REASON_BY_UPSTREAM, REASON_RCODE_SERVFAIL},
    [REASON_UPSTREAM_HEAD_TOO_LARGE] = {"upstream_head_too_large", 502,
					"http_response_header_section_size",
					"The destination's response head is larger, or has more "
					"header fields, than this proxy accepts.",
					REASON_BY_UPSTREAM, REASON_RCODE_SERVFAIL},
    [REASON_UPSTREAM_CLOSED] = {"upstream_closed", 502, "http_response_incomplete",
				"The destination closed the connection before a complete "
				"response.",
				REASON_BY_UPSTREAM, REASON_RCODE_SERVFAIL},
    [REASON_UPSTREAM_TIMEOUT] = {"upstream_timeout", 504, "http_response_timeout",
				 "The destination did not answer in time.", REASON_BY_TIMEOUT,
				 REASON_RCODE_SERVFAIL},
    [REASON_UPSTREAM_TLS] = {"upstream_tls", 502, "tls_certificate_error",
			     "TLS to the route's upstream failed (certificate or protocol).",
			     REASON_BY_UPSTREAM, REASON_RCODE_SERVFAIL},
    [REASON_TLS_CERTIFICATE_ERROR] = {"tls_certificate_error", 502, "tls_certificate_error",
				      "The destination's TLS certificate did not verify (untrusted "
				      "issuer, wrong name or expired), so sluice did not send the "
				      "request.",
				      REASON_BY_UPSTREAM, REASON_RCODE_SERVFAIL},
    [REASON_TLS_PROTOCOL_ERROR] = {"tls_protocol_error", 502, "tls_protocol_error",
				   "TLS to the destination failed (no common protocol version or "
				   "cipher, or a broken handshake).",
				   REASON_BY_UPSTREAM, REASON_RCODE_SERVFAIL},
    [REASON_TLS_CLIENT_UNTRUSTED] = {"tls_client_untrusted", 0, "",
				     "The client refused the certificate sluice presented: it "
				     "does not trust the interception CA (sluice ca export).",
				     REASON_BY_CLIENT, REASON_RCODE_SERVFAIL},
    [REASON_TLS_CLIENT_FAILED] = {"tls_client_failed", 0, "",
				  "The client's TLS handshake with sluice failed.",
				  REASON_BY_CLIENT, REASON_RCODE_SERVFAIL},
    [REASON_TLS_HANDSHAKE_TIMEOUT] = {"tls_handshake_timeout", 0, "",
				      "The client did not finish its TLS handshake in time.",
				      REASON_BY_TIMEOUT, REASON_RCODE_SERVFAIL},
    [REASON_TUNNEL_IDLE] = {"tunnel_idle", 0, "", "The tunnel was idle too long.",
			    REASON_BY_TIMEOUT, REASON_RCODE_SERVFAIL},
    [REASON_INTERNAL] = {"internal", 500, "proxy_internal_error", "The proxy failed internally.",
			 REASON_BY_SLUICE, REASON_RCODE_SERVFAIL},
    [REASON_DNS_BAD_NAME] = {"dns_bad_name", 400, "http_request_error",
			     "The queried name is not a host name (a byte other than a letter, "
			     "digit, '-' or '_' in a label, or an IP address written as a name); "
			     "sluice answers host names only.",
			     REASON_BY_CLIENT, REASON_RCODE_DENIED},
    [REASON_DNS_TYPE] = {"dns_type", 403, "http_request_denied",
			 "The query type is not answered for this agent: A, AAAA, CNAME, HTTPS "
			 "and SVCB are, and the types its dns.types lists; ANY and the meta "
			 "types never are.",
			 REASON_BY_POLICY, REASON_RCODE_REFUSED},
    [REASON_DNS_RATE_LIMITED] = {"dns_rate_limited", 429, "connection_limit_reached",
				 "This agent sent more DNS queries than its dns.rate allows; "
				 "slow down.",
				 REASON_BY_POLICY, REASON_RCODE_REFUSED},
    [REASON_DNS_INTERNAL_ANSWER] = {"dns_internal_answer", 403, "destination_ip_prohibited",
				    "The name resolves to an internal or denied address (alone, "
				    "or among global ones: a DNS rebinding shape), so it is not "
				    "answered.",
				    REASON_BY_POLICY, REASON_RCODE_REFUSED},
    [REASON_DNS_UPSTREAM_FAILED] = {"dns_upstream_failed", 502, "dns_error",
				    "The upstream DNS servers failed or did not answer in time.",
				    REASON_BY_UPSTREAM, REASON_RCODE_SERVFAIL},
    [REASON_DNS_MALFORMED] =
	{"dns_malformed", 400, "http_request_error",
	 "The DNS query is malformed (RFC 1035 section 4.1) and cannot be answered.",
	 REASON_BY_CLIENT, REASON_RCODE_FORMERR},
    [REASON_SHUTDOWN] = {"shutdown", 0, "",
			 "The proxy shut down and closed the connection at its drain deadline.",
			 REASON_BY_SHUTDOWN, REASON_RCODE_SERVFAIL},
};

const struct reason_info *reason_info(enum reason r)
{
	BUG_ON((unsigned)r >= REASON__COUNT);
	return &reason_table[r];
}

const char *reason_token(enum reason r)
{
	return reason_info(r)->token;
}

const char *reason_by_token(enum reason_by by)
{
	static const char *const tokens[REASON_BY__COUNT] = {
	    [REASON_BY_DONE] = "done",	       [REASON_BY_CLIENT] = "client",
	    [REASON_BY_UPSTREAM] = "upstream", [REASON_BY_TIMEOUT] = "timeout",
	    [REASON_BY_POLICY] = "policy",     [REASON_BY_SHUTDOWN] = "shutdown",
	    [REASON_BY_SLUICE] = "sluice",
	};
	BUG_ON((unsigned)by >= REASON_BY__COUNT);
	return tokens[by];
}
