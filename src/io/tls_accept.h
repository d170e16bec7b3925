/* tls_accept: sluice's side of an intercepted tunnel's TLS — after tunnel_check judged the
 * ClientHello of a CONNECT the policy intercepts, a leaf for the tunnel's host (io/tls_mint) and
 * the handshake with the client; done, the connection carries HTTP inside that session
 * (tunnel_check_exit.carry_https). Does not judge (policy), mint (tls_mint) or speak HTTP. */
#ifndef SLUICE_IO_TLS_ACCEPT_H
#define SLUICE_IO_TLS_ACCEPT_H

#include "io/flow.h"

/* Installed by tunnel_check (conn_switch_ops; c->proto stays the exit it was given); its
 * on_upstream_ready starts the handshake with the ClientHello still in cin. */
extern const struct flow_ops tls_accept_ops;

#endif
