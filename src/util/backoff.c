/*
 * backoff.c: capped exponential backoff with jitter (see backoff.h).
 */
#include "backoff.h"

#include <sys/random.h>
#include <time.h>

int64_t
backoff_delay_ms(int attempt, int64_t base_ms, int64_t cap_ms, uint64_t rnd)
{
	if (base_ms <= 0 || cap_ms <= 0)
		return 0;
	if (attempt < 0)
		attempt = 0;
	int64_t ceiling = base_ms;
	for (int i = 0; i < attempt && ceiling < cap_ms; i++)
		ceiling *= 2;
	if (ceiling > cap_ms)
		ceiling = cap_ms;
	int64_t half = ceiling / 2;
	return half + (int64_t) (rnd % (uint64_t) (ceiling - half + 1));
}

uint64_t
backoff_random(void)
{
	uint64_t r = 0;
	if (getrandom(&r, sizeof r, 0) != (ssize_t) sizeof r)
	{
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		r = (uint64_t) ts.tv_nsec * 6364136223846793005ULL + (uint64_t) ts.tv_sec;
	}
	return r;
}

void
backoff_sleep_ms(int64_t ms)
{
	if (ms <= 0)
		return;
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}
