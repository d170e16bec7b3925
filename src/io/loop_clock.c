#include "io/loop_clock.h"

#include <stdbool.h>
#include <time.h>

#define LOOP_CLOCK_WALL_SYNC_US 1000000

struct loop_clock {
	bool in_event; /* inside loop_clock_enter/leave: readings may be reused */
	bool fresh;    /* now_us was read during this event */
	uint64_t now_us;
	uint64_t wall_synced_us; /* when wall_offset_ms was last taken (0: never) */
	int64_t wall_offset_ms;	 /* wall clock minus monotonic clock */
};

static _Thread_local struct loop_clock clk;

static uint64_t loop_clock_read_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

void loop_clock_enter(void)
{
	clk.in_event = true;
	clk.fresh = false;
}

void loop_clock_leave(void)
{
	clk.in_event = false;
}

uint64_t loop_clock_us(void)
{
	if (clk.in_event && clk.fresh)
		return clk.now_us;
	clk.now_us = loop_clock_read_us();
	clk.fresh = clk.in_event;
	return clk.now_us;
}

uint64_t loop_clock_ms(void)
{
	return loop_clock_us() / 1000;
}

int64_t loop_clock_wall_ms(void)
{
	uint64_t mono_us = loop_clock_us();

	/* A wall clock stepped by NTP shows in the log within a second; durations never see it,
	 * since they are taken from the monotonic clock. */
	if (clk.wall_synced_us == 0 || mono_us - clk.wall_synced_us >= LOOP_CLOCK_WALL_SYNC_US ||
	    !clk.in_event) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		int64_t wall_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
		clk.wall_offset_ms = wall_ms - (int64_t)(mono_us / 1000);
		clk.wall_synced_us = mono_us;
	}
	return (int64_t)(mono_us / 1000) + clk.wall_offset_ms;
}
