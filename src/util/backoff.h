/*
 * backoff.h: capped exponential backoff with jitter.
 *
 * Pure arithmetic, so it can be unit-tested: the caller supplies the random
 * number.  Used for connection retries and lock-timeout retries.
 */
#ifndef PGCARRY_BACKOFF_H
#define PGCARRY_BACKOFF_H

#include <stdint.h>

/*
 * Delay before retry number `attempt` (0 for the first retry): the ceiling is
 * base_ms * 2^attempt, capped at cap_ms; the result is "equal jitter", i.e.
 * ceiling/2 + (rnd % (ceiling/2 + 1)), so it lies in [ceiling/2, ceiling].
 */
int64_t backoff_delay_ms(int attempt, int64_t base_ms, int64_t cap_ms, uint64_t rnd);

/* A random 64-bit number from the OS (thread-safe), for backoff_delay_ms. */
uint64_t backoff_random(void);

/* Sleeps ms milliseconds (returns early on a signal). */
void backoff_sleep_ms(int64_t ms);

#endif
