/*
 * migrate.h: applying and rolling back versioned migrations on a live
 * database, one runner at a time.
 *
 * The runner holds a session-level advisory lock for its whole run (taken
 * with pg_try_advisory_lock and polled, never waited for inside a
 * transaction), refuses to run when the history does not match the files
 * (drift) or when lint finds unacknowledged dangers (unless forced), and
 * runs every statement through lockexec.  Each migration runs in one
 * transaction with its history row; a migration holding statements that
 * cannot run in a transaction is cut into steps (runs of transactional
 * statements, and each such statement alone) recorded one by one in
 * pgcarry_schema.steps, so an interrupted run continues where it stopped.
 */
#ifndef PGCARRY_MIGRATE_H
#define PGCARRY_MIGRATE_H

#include <libpq-fe.h>
#include <stdbool.h>

#include "schema/history.h"
#include "schema/lint.h"
#include "schema/lockexec.h"
#include "schema/migfile.h"
#include "util/err.h"

typedef struct migrate_opts
{
	const char *dir;			/* for messages */
	lockexec_opts lx;			/* lock discipline of every statement */
	int			lock_wait_ms;	/* how long to wait for another runner */
	bool		force;			/* run despite unacknowledged lint findings */
	const char *to;				/* up: last version to apply; down: version to
								 * go back to ("0" = all); NULL = default */
} migrate_opts;

/*
 * Takes the runner lock, polling pg_try_advisory_lock for up to wait_ms.
 * Returns 0 (hold it until migrate_unlock or the session ends), or -1 with
 * err naming the session that holds it (pid, application, since when).
 */
int migrate_lock(PGconn *conn, int wait_ms, pgc_err *err);

/* Releases the runner lock (errors are ignored: closing the session
 * releases it too). */
void migrate_unlock(PGconn *conn);

/*
 * Checks the pending migrations' (or, for down, the migrations to roll
 * back) statements with lint and prints each finding through the log.
 * With conn, a set-not-null finding that migrate_not_null_proven shows
 * to be safe is not counted.  Returns
 * the number of unacknowledged findings.
 */
size_t migrate_lint_report(PGconn *conn, const migfile *const *files, size_t n, bool down);

/*
 * When finding f is a set-not-null that the server behind conn shows to
 * be safe, why (static text): the column is already NOT NULL (nothing to
 * do), or it has a validated CHECK (col IS NOT NULL) constraint
 * (PostgreSQL 12 and later then skip the scan).  NULL otherwise, also on
 * errors or when conn is NULL.
 */
const char *migrate_not_null_proven(PGconn *conn, const lint_finding *f);

/*
 * Applies the pending migrations up to o->to (all when NULL).  Takes and
 * releases the runner lock.  Returns 0, or -1 with err set (nothing more
 * is applied after the first failure; what committed stays committed and
 * recorded).
 */
int migrate_up(PGconn *conn, const migfile_set *files, const migrate_opts *o, pgc_err *err);

/*
 * Rolls back applied migrations newer than o->to (only the last one when
 * NULL) by running their down sections, newest first.  Returns 0 or -1
 * with err set.
 */
int migrate_down(PGconn *conn, const migfile_set *files, const migrate_opts *o, pgc_err *err);

/*
 * Accepts the files as they are: the history rows of edited or renamed
 * files take the files' checksums and names, rows whose file is gone are
 * removed, and the hash chain is recomputed.  Takes the runner lock.
 * Returns 0 or -1 with err set.
 */
int migrate_repair(PGconn *conn, const migfile_set *files, const migrate_opts *o, pgc_err *err);

#endif
