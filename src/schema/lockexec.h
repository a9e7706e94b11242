/*
 * lockexec.h: running DDL on a live database under lock discipline.
 *
 * Every statement pgcarry runs against a live application's tables goes
 * through here: in its own short transaction with SET LOCAL lock_timeout and
 * statement_timeout (SET LOCAL, so it also works behind a transaction-mode
 * pooler), so the application's own queries never queue behind pgcarry for
 * longer than the lock timeout.  On a lock timeout (SQLSTATE 55P03) the
 * transaction is rolled back, the sessions that blocked it are reported
 * (pg_blocking_pids: pid, application, state, query), and the statement is
 * retried after a capped, jittered backoff until the budget is spent.  A
 * statement found waiting in a lock cycle (it waits, through other waiting
 * sessions, for itself) is cancelled by pgcarry and retried the same way,
 * so that the application's transaction is never the one the server
 * cancels to break it.
 */
#ifndef PGCARRY_LOCKEXEC_H
#define PGCARRY_LOCKEXEC_H

#include <libpq-fe.h>

#include "util/err.h"

/*
 * A table lock to take before the statements, e.g. {"\"public\".\"cats\"",
 * "SHARE ROW EXCLUSIVE"}: table is already quoted, mode is a LOCK TABLE mode.
 */
typedef struct lockexec_lock
{
	const char *table;
	const char *mode;
} lockexec_lock;

typedef struct lockexec_opts
{
	int			lock_timeout_ms;		/* per attempt; default 2000 */
	int			statement_timeout_ms;	/* per attempt; 0 = none; default 0 */
	int			budget_ms;				/* total retry time on 55P03; default 60000 */
	int			backoff_base_ms;		/* default 200 */
	int			backoff_cap_ms;			/* default 5000 */
	/*
	 * Tables whose locks the statements need, taken first in this order by
	 * the transactional runs (lockexec_run*, not autocommit) so that pgcarry
	 * is never part of a deadlock with the application: it queues for the
	 * first lock while holding nothing, and waits for each further lock
	 * for less than half the server's deadlock_timeout, so that if an
	 * application session queues behind a lock pgcarry holds while pgcarry
	 * waits for one that session holds, pgcarry's wait ends (55P03, rolled
	 * back and retried) before the server's deadlock check would cancel the
	 * application's transaction.  All the waits of one attempt together stay
	 * within lock_timeout_ms.  Default none.
	 */
	const lockexec_lock *locks;
	size_t		nlocks;
} lockexec_opts;

/* Fills o with the defaults above. */
void lockexec_defaults(lockexec_opts *o);

/*
 * Runs sql (one or more statements, no parameters) in one transaction with
 * the lock discipline above.  Returns 0 once committed; -1 with err set when
 * it failed for another reason or the budget ran out (err names the
 * blocking sessions and the way out).
 */
int lockexec_run(PGconn *conn, const char *sql, const lockexec_opts *o, pgc_err *err);

/*
 * Runs one statement that cannot run inside a transaction block (CREATE
 * INDEX CONCURRENTLY, ALTER TYPE ... ADD VALUE on old servers, VACUUM) with
 * session-level lock_timeout/statement_timeout, reset afterwards, retried the
 * same way on 55P03.  Returns 0 or -1 with err set.
 */
int lockexec_run_autocommit(PGconn *conn, const char *sql, const lockexec_opts *o, pgc_err *err);

/*
 * Called by lockexec_run_tx inside the transaction, after sql succeeded and
 * before COMMIT (for example to write a history row with parameters).
 * Returns 0, or -1 with err set; a 55P03 error it returns is retried like
 * one from sql.
 */
typedef int (*lockexec_tx_fn) (PGconn *conn, void *ctx, pgc_err *err);

/*
 * All of these expect conn outside a transaction block (they fail with an
 * internal error otherwise).
 *
 * Like lockexec_run, and calls fn(conn, ctx, err) in the same transaction
 * after sql, so both commit or neither does.  fn may be called once per
 * attempt.  Returns 0 once committed, or -1 with err set.
 */
int lockexec_run_tx(PGconn *conn, const char *sql, const lockexec_opts *o,
					lockexec_tx_fn fn, void *ctx, pgc_err *err);

/*
 * Like lockexec_run_tx for n statements sent one at a time in the same
 * transaction (fn may be NULL), so a failure is pinned to one statement:
 * *failed (when not NULL) receives the index of the statement that failed,
 * or n when none did (success, or fn or COMMIT failed).  n == 0 runs only
 * fn.  Returns 0 once committed, or -1 with err set.
 */
int lockexec_run_tx_list(PGconn *conn, const char *const *stmts, size_t n, const lockexec_opts *o,
						 lockexec_tx_fn fn, void *ctx, size_t *failed, pgc_err *err);

typedef enum lockexec_index_state
{
	LOCKEXEC_INDEX_NOT_NAMED = 0,	/* not a CREATE INDEX CONCURRENTLY naming its index */
	LOCKEXEC_INDEX_ABSENT,			/* no such index yet */
	LOCKEXEC_INDEX_VALID,			/* exists and is valid */
	LOCKEXEC_INDEX_INVALID,			/* left INVALID by a failed build */
	LOCKEXEC_INDEX_BUILDING			/* being built right now by some session */
} lockexec_index_state;

/*
 * For sql = CREATE [UNIQUE] INDEX CONCURRENTLY name ON table ...: the state
 * of the index it names on that table.  Returns 0 with *state set, or -1
 * with err set.  lockexec_run_autocommit uses it before every attempt to
 * drop (concurrently, under the same discipline) an INVALID index that a
 * failed build left, so a retry or a rerun builds it afresh.
 */
int lockexec_index_check(PGconn *conn, const char *sql, lockexec_index_state *state, pgc_err *err);

#endif
