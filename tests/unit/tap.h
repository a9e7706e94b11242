/*
 * tap.h: a tiny TAP test runner for pgcarry's unit tests.
 *
 * ASSERT-style macros print both values on failure and go on; main ends
 * with TAP_DONE(), which prints the plan and returns non-zero on failure.
 */
#ifndef PGCARRY_TAP_H
#define PGCARRY_TAP_H

#include <stdio.h>
#include <string.h>
#include <time.h>

/* CPU seconds of this process, for the tests that a cost grows no faster
 * than the work (ratios within one run, never absolute times). */
static inline double
tap_cpu_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static int tap_n = 0;
static int tap_failed = 0;

#define TAP_OK(cond, name) \
	do { \
		tap_n++; \
		if (cond) printf("ok %d - %s\n", tap_n, name); \
		else { tap_failed++; printf("not ok %d - %s\n# %s:%d: %s\n", tap_n, name, __FILE__, __LINE__, #cond); } \
	} while (0)

#define TAP_EQ_INT(got, want, name) \
	do { \
		long long g_ = (long long) (got), w_ = (long long) (want); \
		tap_n++; \
		if (g_ == w_) printf("ok %d - %s\n", tap_n, name); \
		else { tap_failed++; printf("not ok %d - %s\n# got %lld, expected %lld (%s:%d)\n", tap_n, name, g_, w_, __FILE__, __LINE__); } \
	} while (0)

#define TAP_EQ_STR(got, want, name) \
	do { \
		const char *g_ = (got), *w_ = (want); \
		tap_n++; \
		if (g_ && w_ && strcmp(g_, w_) == 0) printf("ok %d - %s\n", tap_n, name); \
		else { tap_failed++; printf("not ok %d - %s\n# got \"%s\", expected \"%s\" (%s:%d)\n", tap_n, name, g_ ? g_ : "(null)", w_ ? w_ : "(null)", __FILE__, __LINE__); } \
	} while (0)

#define TAP_CONTAINS(hay, needle, name) \
	do { \
		const char *h_ = (hay), *n_ = (needle); \
		tap_n++; \
		if (h_ && strstr(h_, n_)) printf("ok %d - %s\n", tap_n, name); \
		else { tap_failed++; printf("not ok %d - %s\n# \"%s\" does not contain \"%s\" (%s:%d)\n", tap_n, name, h_ ? h_ : "(null)", n_, __FILE__, __LINE__); } \
	} while (0)

#define TAP_NOT_CONTAINS(hay, needle, name) \
	do { \
		const char *h_ = (hay), *n_ = (needle); \
		tap_n++; \
		if (h_ && !strstr(h_, n_)) printf("ok %d - %s\n", tap_n, name); \
		else { tap_failed++; printf("not ok %d - %s\n# \"%s\" contains \"%s\" (%s:%d)\n", tap_n, name, h_ ? h_ : "(null)", n_, __FILE__, __LINE__); } \
	} while (0)

#define TAP_DONE() (printf("1..%d\n", tap_n), tap_failed ? 1 : 0)

#endif
