/* loop_clock: the time as of this turn of a worker's event loop, read from the kernel at most
 * once per turn (nginx's ngx_time_update habit), so that the stamps a request takes (activity,
 * start, log line, pool ages) cost no clock read each. Off the workers' threads, or before a
 * worker's first turn, every call reads the clock.
 * Does not keep timers (libevent does). */
#ifndef SLUICE_IO_LOOP_CLOCK_H
#define SLUICE_IO_LOOP_CLOCK_H

#include <stdint.h>

/* Called by a worker before each turn of its loop: the next reading is a fresh one. */
void loop_clock_turn(void);
/* Monotonic milliseconds and microseconds, and wall-clock milliseconds since the epoch (kept
 * as an offset from the monotonic clock, re-taken once a second). */
uint64_t loop_clock_ms(void);
uint64_t loop_clock_us(void);
int64_t loop_clock_wall_ms(void);

#endif
