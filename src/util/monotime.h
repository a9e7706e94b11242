/*
 * monotime.h: the monotonic clock, for measuring how long something took
 * (never the time of day).  Knows nothing of PostgreSQL or of pgcarry.
 */
#ifndef PGCARRY_UTIL_MONOTIME_H
#define PGCARRY_UTIL_MONOTIME_H

#include <stdint.h>
#include <time.h>

/* Seconds on the monotonic clock, as a double. */
double		monotime_now(void);

/* Milliseconds on the monotonic clock. */
int64_t		monotime_now_ms(void);

/* Seconds elapsed since t0, a reading of clock_gettime(CLOCK_MONOTONIC). */
double		monotime_since(const struct timespec *t0);

#endif
