/* http1_proxy: what a forward proxy reads off a parsed request head beyond its syntax: whether
 * the request already went through this proxy (Via), and whether Host agrees with the target.
 * Does not decide what to do about either (policy and io do). */
#ifndef SLUICE_PARSE_HTTP1_PROXY_H
#define SLUICE_PARSE_HTTP1_PROXY_H

#include <stdbool.h>

#include "base/slice.h"
#include "parse/authority.h"
#include "parse/http1.h"

/* True when a Via field of req carries pseudonym (RFC 9110 §7.6.3): the request has looped
 * back to the proxy that calls itself so. An empty pseudonym matches nothing. */
bool http1_proxy_via_names(const struct http1_request *req, struct slice pseudonym);
/* RFC 9112 §3.2.2 lets a proxy ignore Host for absolute-form; two parsers reading two hosts is
 * the ambiguity sluice refuses instead (property 4). True when Host names the same host and
 * port as the target dest, or is absent from an HTTP/1.0 request. */
bool http1_proxy_host_agrees(const struct http1_request *req, const struct authority *dest);
/* A WebSocket opening handshake (RFC 6455 §4.1): GET in HTTP/1.1 without a body, Connection
 * listing "upgrade" and one Upgrade field that is exactly "websocket" (any case). Another
 * protocol to upgrade to (h2c, a list) is not one: its Upgrade is dropped as hop-by-hop. */
bool http1_proxy_websocket_request(const struct http1_request *req);
/* The upstream's answer accepts it (RFC 6455 §4.2.2): 101, Connection listing "upgrade" and
 * Upgrade "websocket". */
bool http1_proxy_websocket_accepted(const struct http1_response *resp);

#endif
