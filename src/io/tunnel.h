/* tunnel: the opaque two-way relay behind CONNECT — the 200, backpressure, half-close in each
 * direction, splice for bulk bytes, an idle timeout. Does not look at the bytes or decide
 * anything: http_flow judged the CONNECT and hands the connection over once its upstream is
 * ready. */
#ifndef SLUICE_IO_TUNNEL_H
#define SLUICE_IO_TUNNEL_H

#include "io/flow.h"

/* The CONNECT's answer once its upstream is connected. */
#define TUNNEL_ESTABLISHED "HTTP/1.1 200 Connection established\r\n\r\n"
#define TUNNEL_ESTABLISHED_LEN (sizeof(TUNNEL_ESTABLISHED) - 1)

/* Installed by conn_switch_ops; its on_upstream_ready sends the 200 and starts relaying. */
extern const struct flow_ops tunnel_ops;

#endif
