/* tls_alert: the one fatal TLS alert record sluice sends when it refuses a client that speaks
 * TLS to it (the transparent TLS listener, a CONNECT tunnel whose ClientHello is refused), with
 * the alert description a reason maps to (docs/logs.md). Does not write to sockets. */
#ifndef SLUICE_EMIT_TLS_ALERT_H
#define SLUICE_EMIT_TLS_ALERT_H

#include "policy/reason.h"

#define TLS_ALERT_RECORD_LEN 7

/* RFC 8446 §6.2 alert descriptions sluice refuses with. */
enum tls_alert {
	TLS_ALERT_ACCESS_DENIED = 49,	  /* the policy refused the destination or the agent */
	TLS_ALERT_DECODE_ERROR = 50,	  /* not TLS, or no ClientHello sluice can read */
	TLS_ALERT_INTERNAL_ERROR = 80,	  /* a timeout, DNS, the upstream, sluice itself */
	TLS_ALERT_UNRECOGNIZED_NAME = 112 /* no SNI, or an IP literal as SNI */
};

enum tls_alert tls_alert_for(enum reason why);

/* The alert for why as one record: level fatal (RFC 8446 §6), a TLS 1.2 record version, which
 * every version accepts. The alert says no more than its description; the log has the reason. */
void tls_alert_record(enum reason why, unsigned char out[TLS_ALERT_RECORD_LEN]);

#endif
