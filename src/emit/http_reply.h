/* http_reply: formats the responses sluice itself sends — refusals and errors with an RFC 9209
 * Proxy-Status header and a plain-text body an AI agent can act on, and the CONNECT 200.
 * Does not decide which reply to send or write to sockets. */
#ifndef SLUICE_EMIT_HTTP_REPLY_H
#define SLUICE_EMIT_HTTP_REPLY_H

#include <stdbool.h>
#include <stddef.h>

#include "policy/reason.h"

#define HTTP_REPLY_MAX 8192

struct http_reply_facts {
	enum reason reason;
	const char *method; /* may be NULL when the request could not be parsed */
	const char *host;   /* may be NULL */
	unsigned port;
	const char *rule;     /* the rule that decided, may be NULL or "" */
	const char *detail;   /* parser detail, may be NULL */
	bool close;	      /* send Connection: close */
	bool auth_challenge;  /* 407: add Proxy-Authenticate: Basic */
	const char *guidance; /* operator text for the agent, appended to the body; may be NULL */
};

/* Writes a complete response (head and body) and returns its length. */
size_t http_reply_format(const struct http_reply_facts *f, char out[HTTP_REPLY_MAX]);
const char *http_reply_status_text(int status);

#endif
