/* upstream_sock: one upstream connection — its socket, TLS session, read and write events — for its
 * whole life, across the requests it serves and the spells it is parked in the pool between them;
 * its events go to whoever holds it now. Does not connect, read, write or decide where it goes. */
#ifndef SLUICE_IO_UPSTREAM_SOCK_H
#define SLUICE_IO_UPSTREAM_SOCK_H

#include <event2/event_struct.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/ip_addr.h"

struct event_base;
struct tls_session;
struct h2_upstream;

/* The read event is registered once and stays so while reading is wanted by anyone: handing the
 * socket from a client connection to the pool and back changes no epoll interest (issue 12).
 * Turning reading off is lazy (upstream_sock_want_read). */
struct upstream_sock {
	int fd;
	struct tls_session *tls; /* NULL for plain TCP; its holder sets it up */
	/* HTTP/2 over tls, when its ALPN chose h2 (io/h2_upstream); NULL otherwise. */
	struct h2_upstream *h2;
	/* Its handshake offered h2 (whatever the upstream chose): the pool gives it to requests
	 * that would offer h2, and to others only if it speaks HTTP/1.1. */
	bool offered_h2;
	/* What it was opened for, fixed for its life and the pool's key: the address and port
	 * connected to, and the route upstream and configuration (io/upstream's route id; "" when
	 * judged by address alone). */
	struct ip_addr ip;
	uint16_t port;
	/* The pool's, while parked: its bucket, its place in the idle order (oldest first), and
	 * when it was parked (CLOCK_MONOTONIC_COARSE, ms). */
	struct upstream_sock *prev, *next, *idle_prev, *idle_next;
	uint64_t parked_ms;
	/* Private: the events and who gets them. */
	struct event rd, wr;
	bool want_read;
	void (*on_event)(struct upstream_sock *s, short what, void *arg);
	void *arg;
	char route_id[];
};

/* Takes ownership of fd (a socket, connected or connecting): NULL when out of memory (fd is then
 * closed). No interest is registered yet and its events go nowhere until upstream_sock_hand. */
struct upstream_sock *upstream_sock_new(struct event_base *base, int fd, const char *route_id,
					const struct ip_addr *ip, uint16_t port);
/* Removes its events, ends its HTTP/2 and TLS sessions (close_notify, best effort), closes the
 * socket. */
void upstream_sock_free(struct upstream_sock *s);
/* Its events (EV_READ, EV_WRITE) go to on_event(s, what, arg) from now on; interest is not
 * changed. */
void upstream_sock_hand(struct upstream_sock *s,
			void (*on_event)(struct upstream_sock *s, short what, void *arg),
			void *arg);
/* Read interest. Turning it on registers the event if it is not; turning it off only marks it
 * unwanted, and the event is removed the first time the socket is readable while unwanted — so a
 * read switched off and on again within a request costs no epoll_ctl. */
void upstream_sock_want_read(struct upstream_sock *s, bool on);
/* Write interest: registered only while a write would block. */
void upstream_sock_want_write(struct upstream_sock *s, bool on);
/* The read callback runs once more on the next loop turn (TLS holds decrypted bytes that no socket
 * event will announce); nothing when reading is not wanted. */
void upstream_sock_read_again(struct upstream_sock *s);

#endif
