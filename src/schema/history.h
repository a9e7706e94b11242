/*
 * history.h: the record of applied migrations, kept in the database, and
 * the check that it still matches the files.
 *
 * Tables in pgcarry's own schema, pgcarry_schema:
 *   migrations(version, name, checksum, chain, applied_at, applied_by,
 *              duration_ms, seq)   one row per applied migration
 *   steps(version, direction, step, checksum, done_at)
 *              the finished steps of a migration still in progress
 * chain is a hash chain over the applied migrations in the order they were
 * applied: chain(n) = sha256(chain(n-1) || version || checksum), chain(0) =
 * "".  A file edited, removed or reordered after it was applied, or a
 * history row changed by hand, shows up as drift.
 */
#ifndef PGCARRY_HISTORY_H
#define PGCARRY_HISTORY_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#include "schema/migfile.h"
#include "util/err.h"

#define HISTORY_SCHEMA "pgcarry_schema"

typedef struct history_row
{
	char	   *version;
	char	   *name;
	char	   *checksum;
	char	   *chain;
	char	   *applied_at;		/* text, UTC */
	char	   *applied_by;
	long long	duration_ms;
	long long	seq;
} history_row;

typedef struct history
{
	bool		exists;			/* the tables exist on the database */
	history_row *rows;			/* ordered by seq (application order) */
	size_t		n;
	char	   *step_version;	/* a migration in progress, or NULL */
	char	   *step_direction;	/* "up" or "down" */
	int			steps_done;		/* its finished steps */
} history;

typedef enum history_drift_kind
{
	HISTORY_DRIFT_EDITED,		/* file changed after it was applied */
	HISTORY_DRIFT_RENAMED,		/* same content, other NAME */
	HISTORY_DRIFT_REMOVED,		/* applied, file gone */
	HISTORY_DRIFT_REORDERED,	/* applied content now under another version */
	HISTORY_DRIFT_OUT_OF_ORDER, /* unapplied file sorts before the last applied */
	HISTORY_DRIFT_CHAIN			/* a history row does not match its chain */
} history_drift_kind;

typedef struct history_drift
{
	history_drift_kind kind;
	char	   *version;
	char	   *message;		/* one line for humans */
} history_drift;

typedef struct history_drift_list
{
	history_drift *items;
	size_t		n;
} history_drift_list;

/* Creates the schema and tables when missing.  Returns 0 or -1 with err. */
int history_ensure(PGconn *conn, pgc_err *err);

/* Reads the history (h->exists false when the tables do not exist).
 * Returns 0 with *h filled (history_free), or -1 with err. */
int history_load(PGconn *conn, history *h, pgc_err *err);
void history_free(history *h);

/* chain(prev, version, checksum); owned by the caller.  prev may be "". */
char *history_chain_next(const char *prev, const char *version, const char *checksum);

/* The chain of the last applied migration, "" when none (static or h's). */
const char *history_last_chain(const history *h);

/* The row of version v, or NULL. */
const history_row *history_find(const history *h, const char *version);

/*
 * Compares the history with the files: fills *out (history_drift_free) with
 * every problem, in the order of the history.  Pure logic.
 */
void history_check(const history *h, const migfile_set *files, history_drift_list *out);
void history_drift_free(history_drift_list *l);

/* "edited", "removed", ... for a kind; static. */
const char *history_drift_name(history_drift_kind k);

/* True when file f is applied according to h. */
bool history_is_applied(const history *h, const migfile *f);

#endif
