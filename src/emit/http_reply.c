#include "emit/http_reply.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *http_reply_status_text(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 407:
		return "Proxy Authentication Required";
	case 408:
		return "Request Timeout";
	case 413:
		return "Content Too Large";
	case 415:
		return "Unsupported Media Type";
	case 429:
		return "Too Many Requests";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 501:
		return "Not Implemented";
	case 502:
		return "Bad Gateway";
	case 503:
		return "Service Unavailable";
	case 504:
		return "Gateway Timeout";
	case 505:
		return "HTTP Version Not Supported";
	default:
		return "Error";
	}
}

static bool reason_is_policy(enum reason r)
{
	return reason_info(r)->by == REASON_BY_POLICY;
}

static bool reason_is_upstream(enum reason r)
{
	return r >= REASON_DNS_ERROR && r <= REASON_UPSTREAM_TIMEOUT;
}

/* RFC 8941 sf-string: only printable ASCII, with '"' and '\' escaped. */
static size_t sf_string(char *out, size_t cap, const char *s)
{
	size_t n = 0;
	for (; *s && n + 2 < cap; s++) {
		unsigned char c = (unsigned char)*s;
		if (c < 0x20)
			c = ' ';
		else if (c > 0x7e)
			c = '?';
		if (c == '"' || c == '\\')
			out[n++] = '\\';
		out[n++] = (char)c;
	}
	out[n] = '\0';
	return n;
}

/* Appends like snprintf, but a fact longer than the room left cuts the body instead of moving
 * past its end. Returns the new length, always below cap. */
__attribute__((format(printf, 4, 5))) static size_t body_add(char *body, size_t cap, size_t n,
							     const char *fmt, ...)
{
	va_list ap;
	int w;

	if (n + 1 >= cap)
		return n;
	va_start(ap, fmt);
	w = vsnprintf(body + n, cap - n, fmt, ap);
	va_end(ap);
	if (w < 0)
		return n;
	return (size_t)w < cap - n ? n + (size_t)w : cap - 1;
}

static size_t reply_body(const struct http_reply_facts *f, const struct reason_info *info,
			 char *body, size_t cap)
{
	const char *what = f->method && strcmp(f->method, "CONNECT") == 0 ? "tunnel" : "request";
	const char *host = f->host && *f->host ? f->host : NULL;
	const char *rule = f->rule && *f->rule ? f->rule : NULL;
	const char *advice;
	size_t n = 0;

	if (reason_is_policy(f->reason))
		advice = "This is a policy decision of the egress proxy, not a network fault: "
			 "retrying, or reaching the same destination by another name, address or "
			 "route, will not succeed. If this access is needed, ask the operator to "
			 "change the egress policy.";
	else if (reason_is_upstream(f->reason))
		advice = "This is a network or upstream failure, not a policy decision: the "
			 "request was allowed, and retrying later may succeed.";
	else
		advice = "The request was not understood by the egress proxy; fix the request "
			 "rather than retrying it unchanged.";
	if (host) {
		/* RFC 3986 §3.2.2: an IPv6 literal is bracketed, or its last group reads as the
		 * port. */
		bool v6 = strchr(host, ':') != NULL;
		n = body_add(body, cap, n, "sluice egress proxy: %s %s to %s%s%s:%u.\n",
			     reason_is_policy(f->reason) ? "blocked" : "could not complete", what,
			     v6 ? "[" : "", host, v6 ? "]" : "", f->port);
	} else {
		n = body_add(body, cap, n, "sluice egress proxy: refused the request.\n");
	}
	n = body_add(body, cap, n, "Reason: %s (%s)\n", info->summary, info->token);
	if (rule)
		n = body_add(body, cap, n, "Rule: %s\n", rule);
	if (f->detail && *f->detail)
		n = body_add(body, cap, n, "Detail: %s\n", f->detail);
	n = body_add(body, cap, n, "%s\n", advice);
	if (f->guidance && *f->guidance)
		n = body_add(body, cap, n, "%s\n", f->guidance);
	return n;
}

size_t http_reply_format(const struct http_reply_facts *f, char out[HTTP_REPLY_MAX])
{
	const struct reason_info *info = reason_info(f->reason);
	char body[3584], details[1600], detail_src[1600];
	size_t body_len = reply_body(f, info, body, sizeof(body));
	int n;

	/* The details repeat the body's facts for clients that only read headers. */
	bool policy = reason_is_policy(f->reason);
	snprintf(detail_src, sizeof(detail_src), "%s%s%s%s%s%s%s%s", info->token,
		 f->rule && *f->rule ? "; rule " : "", f->rule ? f->rule : "",
		 f->detail && *f->detail ? "; " : "", f->detail ? f->detail : "",
		 policy ? "; policy decision, not a network fault: retrying will not help" : "",
		 policy && f->guidance && *f->guidance ? "; " : "",
		 policy && f->guidance ? f->guidance : "");
	sf_string(details, sizeof(details), detail_src);
	n = snprintf(out, HTTP_REPLY_MAX,
		     "HTTP/1.1 %d %s\r\n"
		     "Proxy-Status: sluice; error=%s; details=\"%s\"\r\n"
		     "Content-Type: text/plain; charset=utf-8\r\n"
		     "Content-Length: %zu\r\n"
		     "Cache-Control: no-store\r\n"
		     "%s%s"
		     "\r\n",
		     info->status, http_reply_status_text(info->status), info->proxy_status,
		     details, body_len,
		     f->auth_challenge ? "Proxy-Authenticate: Basic realm=\"sluice\"\r\n" : "",
		     f->close ? "Connection: close\r\n" : "");
	if (n < 0 || (size_t)n + body_len >= HTTP_REPLY_MAX)
		return 0;
	memcpy(out + n, body, body_len);
	return (size_t)n + body_len;
}
