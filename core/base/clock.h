/*
 * Milliseconds on the monotonic clock: for deadlines, timeouts and
 * durations (never for timestamps people read).
 */
#ifndef MK_BASE_CLOCK_H
#define MK_BASE_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline int64_t mk_monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#endif
