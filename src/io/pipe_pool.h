/* pipe_pool: a worker's spare kernel pipes for splice(2). A tunnel direction takes a pipe while
 * bytes flow and gives it back, empty, when it goes idle, so idle tunnels hold no pipe.
 * Does not move data. */
#ifndef SLUICE_IO_PIPE_POOL_H
#define SLUICE_IO_PIPE_POOL_H

#include <stdbool.h>

#define PIPE_POOL_MAX 64

struct pipe_pool {
	int fds[PIPE_POOL_MAX][2];
	unsigned count;
	unsigned long created, reused;
};

void pipe_pool_init(struct pipe_pool *pool);
void pipe_pool_fini(struct pipe_pool *pool);
/* Fills fds with a pipe (from the pool or new). False when none can be had (EMFILE...). */
bool pipe_pool_take(struct pipe_pool *pool, int fds[2]);
/* Returns an EMPTY pipe to the pool (or closes it when the pool is full); sets fds to -1. */
void pipe_pool_put(struct pipe_pool *pool, int fds[2]);
/* Closes a pipe that may still hold data; sets fds to -1. */
void pipe_pool_discard(int fds[2]);

#endif
