#include "io/pipe_pool.h"

#include <fcntl.h>
#include <unistd.h>

void pipe_pool_init(struct pipe_pool *pool)
{
	pool->count = 0;
	pool->created = pool->reused = 0;
}

void pipe_pool_fini(struct pipe_pool *pool)
{
	while (pool->count > 0) {
		pool->count--;
		close(pool->fds[pool->count][0]);
		close(pool->fds[pool->count][1]);
	}
}

bool pipe_pool_take(struct pipe_pool *pool, int fds[2])
{
	if (pool->count > 0) {
		pool->count--;
		fds[0] = pool->fds[pool->count][0];
		fds[1] = pool->fds[pool->count][1];
		pool->reused++;
		return true;
	}
	if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) {
		fds[0] = fds[1] = -1;
		return false;
	}
	pool->created++;
	return true;
}

void pipe_pool_put(struct pipe_pool *pool, int fds[2])
{
	if (fds[0] < 0)
		return;
	if (pool->count < PIPE_POOL_MAX) {
		pool->fds[pool->count][0] = fds[0];
		pool->fds[pool->count][1] = fds[1];
		pool->count++;
	} else {
		close(fds[0]);
		close(fds[1]);
	}
	fds[0] = fds[1] = -1;
}

void pipe_pool_discard(int fds[2])
{
	if (fds[0] < 0)
		return;
	close(fds[0]);
	close(fds[1]);
	fds[0] = fds[1] = -1;
}
