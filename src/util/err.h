/*
 * err.h: the error object every fallible pgcarry function fills.
 *
 * A function that can fail returns a status (0 ok, -1 failed, or NULL) and
 * fills a caller-provided pgc_err.  The error carries what a user needs to
 * act on it (primary message, detail, hint), what a developer needs to find
 * it (SQLSTATE, the query), and whether the coordinator may retry.
 *
 * The first error set on an object sticks: later err_set calls on an error
 * that is already set are ignored, so the root cause is what gets reported.
 * Knows nothing of libpq: conn.h turns server errors into pgc_err.
 */
#ifndef PGCARRY_ERR_H
#define PGCARRY_ERR_H

#include <stdbool.h>

/* Exit statuses, as documented in README.md and docs/exit-status.md. */
enum
{
	EXIT_OK = 0,
	EXIT_FAIL = 1,
	EXIT_USAGE = 2,
	EXIT_DIFFERENT = 3
};

typedef struct pgc_err
{
	bool		set;			/* read-only: an error is recorded */
	char		sqlstate[6];	/* "" when not from a server */
	char	   *message;		/* primary message, lower case, no period */
	char	   *detail;			/* may be NULL */
	char	   *hint;			/* may be NULL */
	char	   *query;			/* may be NULL: the statement that failed */
	int			position;		/* 1-based character in query the server points at; 0 if none */
	bool		retryable;		/* connection-class or lock-timeout failure */
	int			exit_status;	/* EXIT_FAIL unless set otherwise */
} pgc_err;

#define PGC_ERR_INIT {0}

/* Records a primary message; ignored if err is already set (sticky). */
void err_set(pgc_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Add detail / hint / query to the recorded error (replacing earlier ones). */
void err_detail(pgc_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void err_hint(pgc_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void err_query(pgc_err *err, const char *query);
/* Prefixes the primary message with context, e.g. "table public.t: ". */
void err_prefix(pgc_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Frees the contents and makes err empty again. */
void err_clear(pgc_err *err);
/* Moves src into dst (dst cleared first); src becomes empty. */
void err_move(pgc_err *dst, pgc_err *src);
/* Writes the error through the log module (error, detail, hint in one write). */
void err_report(const pgc_err *err);

#endif
