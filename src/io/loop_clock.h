/* loop_clock: the time as of the event being handled, read from the kernel at most once per
 * event on the hot paths (nginx's ngx_time_update habit), so that the stamps a request takes
 * (activity, start, log line, pool ages) cost no clock read each. Outside an event bracketed by
 * loop_clock_enter and loop_clock_leave (off the workers' threads, in the timers) every call
 * reads the clock: a reading is never older than the event it is used in.
 * Does not keep timers (libevent does). */
#ifndef SLUICE_IO_LOOP_CLOCK_H
#define SLUICE_IO_LOOP_CLOCK_H

#include <stdint.h>

/* Bracket one event callback: readings within it share the first one. */
void loop_clock_enter(void);
void loop_clock_leave(void);
/* Monotonic milliseconds and microseconds, and wall-clock milliseconds since the epoch (kept
 * as an offset from the monotonic clock, re-taken once a second). */
uint64_t loop_clock_ms(void);
uint64_t loop_clock_us(void);
int64_t loop_clock_wall_ms(void);

#endif
