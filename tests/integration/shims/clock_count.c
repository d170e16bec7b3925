/* LD_PRELOAD shim for test_keepalive_syscalls: counts clock_gettime calls per clock id (slots
 * 0-14) and epoll_wait calls, that is loop turns (slot 15), into a shared mapping of the file
 * $CLOCK_COUNT_FILE, which the test reads while sluice runs. The vDSO's clock reads make no
 * system call, so strace cannot count them. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define SLOT_EPOLL_WAIT 15

static uint64_t *counts;
static int (*real_clock_gettime)(clockid_t, struct timespec *);
static int (*real_epoll_wait)(int, struct epoll_event *, int, int);

__attribute__((constructor)) static void shim_init(void)
{
	const char *path = getenv("CLOCK_COUNT_FILE");
	real_clock_gettime =
	    (int (*)(clockid_t, struct timespec *))dlsym(RTLD_NEXT, "clock_gettime");
	real_epoll_wait =
	    (int (*)(int, struct epoll_event *, int, int))dlsym(RTLD_NEXT, "epoll_wait");
	if (!path)
		return;
	int fd = open(path, O_RDWR | O_CREAT, 0600);
	if (fd < 0 || ftruncate(fd, 4096) != 0)
		return;
	counts = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (counts == MAP_FAILED)
		counts = NULL;
}

int clock_gettime(clockid_t id, struct timespec *ts)
{
	if (counts && id >= 0 && id < SLOT_EPOLL_WAIT)
		__atomic_fetch_add(&counts[id], 1, __ATOMIC_RELAXED);
	return real_clock_gettime(id, ts);
}

int epoll_wait(int epfd, struct epoll_event *events, int maxevents, int timeout)
{
	if (counts)
		__atomic_fetch_add(&counts[SLOT_EPOLL_WAIT], 1, __ATOMIC_RELAXED);
	return real_epoll_wait(epfd, events, maxevents, timeout);
}
