/*
 * lockexec.c: running DDL on a live database under lock discipline (see
 * lockexec.h for the contract).
 *
 * How it works:
 *   attempt := 0; start := now
 *   loop:
 *     BEGIN; SET LOCAL lock_timeout, statement_timeout       (lockexec_run)
 *       or SET lock_timeout, statement_timeout for the session (autocommit)
 *     send the statement asynchronously and poll its socket; once it has
 *     run longer than a short threshold, ask a second ("monitor")
 *     connection, opened lazily with the same parameters, whether our
 *     backend waits on a lock and which sessions block it
 *     (pg_blocking_pids); name them once per attempt.  Every 100 ms of a
 *     wait, the monitor also looks for a lock cycle through our backend; in
 *     one, pgcarry cancels its own statement (so the server's deadlock check
 *     cannot pick an application transaction) and retries as after 40P01
 *     success  -> (callback inside the transaction) COMMIT; return 0
 *     55P03 / 40P01 -> ROLLBACK; if the budget allows another attempt after
 *                  a capped, jittered backoff, sleep and loop; else fail
 *                  naming the blockers and the way out
 *     other    -> ROLLBACK; fail with the server's error
 *   session settings changed by the autocommit path are restored at the end.
 *   When the caller names the tables it will lock (opts.locks), each attempt
 *   takes those locks first, in order, with LOCK TABLE: the first with most
 *   of lock_timeout, the others each with a short wait below half the
 *   server's deadlock_timeout (lockexec_take_locks), so pgcarry gives way
 *   before the server would pick an application transaction as a deadlock
 *   victim.
 *   Before each autocommit attempt of a CREATE INDEX CONCURRENTLY, an
 *   INVALID index of the same name (left by a failed or cancelled build) is
 *   dropped concurrently, so the build starts afresh instead of failing
 *   with "already exists" (or, with IF NOT EXISTS, keeping a useless index).
 *
 * Because every attempt holds (or queues for) its lock for at most
 * lock_timeout, an application query queued behind pgcarry waits at most
 * that long too.
 */
#include "schema/lockexec.h"

#include "cleanup.h"
#include "conn.h"
#include "schema/lint.h"
#include "schema/sqlparse.h"
#include "util/monotime.h"
#include "util/backoff.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/xalloc.h"

#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* How long a statement runs before the monitor looks for blockers. */
#define LOCKEXEC_REPORT_AFTER_MS 300

static const char lockexec_blockers_sql[] =
	"SELECT a.pid, coalesce(nullif(a.application_name, ''), 'unnamed'), "
	"       coalesce(a.state, 'unknown'), "
	"       coalesce(extract(epoch FROM now() - a.xact_start)::bigint, 0), "
	"       left(regexp_replace(coalesce(a.query, ''), '\\s+', ' ', 'g'), 160) "
	"FROM pg_stat_activity a "
	"WHERE a.pid = ANY (pg_blocking_pids($1::int)) "
	"ORDER BY a.pid";

/*
 * Whether the backend $1 waits, directly or through other waiting sessions,
 * for itself: a lock cycle that the server's deadlock check will break by
 * cancelling one of its members, possibly the application's.
 */
static const char lockexec_cycle_sql[] =
	"WITH RECURSIVE w(pid) AS ("
	"  SELECT unnest(pg_blocking_pids($1::int)) "
	"  UNION SELECT unnest(pg_blocking_pids(w.pid)) FROM w) "
	"SELECT EXISTS (SELECT 1 FROM w WHERE pid = $1::int)";

/* How often a statement waiting on a lock looks for a lock cycle. */
#define LOCKEXEC_CYCLE_EVERY_MS 100

void
lockexec_defaults(lockexec_opts *o)
{
	o->lock_timeout_ms = 2000;
	o->statement_timeout_ms = 0;
	o->budget_ms = 60000;
	o->backoff_base_ms = 200;
	o->backoff_cap_ms = 5000;
	o->locks = NULL;
	o->nlocks = 0;
}

/* ------------------------------------------------------------------------
 * The monitor connection: who blocks us
 * ------------------------------------------------------------------------ */

typedef struct lockexec_state
{
	PGconn	   *conn;			/* the connection running the DDL */
	PGconn	   *monitor;		/* opened lazily; NULL until needed */
	bool		monitor_failed; /* do not try again */
	char	   *blockers;		/* last description of blockers, or NULL */
	int			first_blocker;	/* pid, for the hint; 0 when unknown */
	char	   *lock_sql;		/* the last LOCK TABLE sent by lockexec_take_locks */
	bool		gave_way;		/* this attempt cancelled its statement to end a
								 * lock cycle (the cancel may land on a later
								 * statement of the attempt) */
} lockexec_state;

/* Opens a second connection with the parameters of st->conn (password
 * included, never printed).  Returns it, or NULL. */
static PGconn *
lockexec_open_monitor(PGconn *conn)
{
	PQconninfoOption *opts = PQconninfo(conn);
	if (!opts)
		return NULL;
	int n = 0;
	for (PQconninfoOption *o = opts; o->keyword; o++)
		n++;
	const char **kw = xcalloc((size_t) n + 2, sizeof *kw);
	const char **val = xcalloc((size_t) n + 2, sizeof *val);
	int k = 0;
	for (PQconninfoOption *o = opts; o->keyword; o++)
	{
		if (!o->val || !*o->val || strcmp(o->keyword, "application_name") == 0)
			continue;
		kw[k] = o->keyword;
		val[k++] = o->val;
	}
	kw[k] = "application_name";
	val[k++] = "pgcarry-monitor";
	kw[k] = NULL;
	val[k] = NULL;
	PGconn *m = PQconnectdbParams(kw, val, 0);
	free(kw);
	free(val);
	PQconninfoFree(opts);
	if (!m || PQstatus(m) != CONNECTION_OK)
	{
		PQfinish(m);
		return NULL;
	}
	cleanup_track_conn(m);
	return m;
}

/*
 * Runs sql, whose one parameter is the backend pid of st->conn, on the
 * monitor connection (opened at the first call).  Returns the result; NULL
 * with err set when the query failed, or NULL with err unset when there is
 * no monitor connection (said once, at --verbose).
 */
static PGresult *
lockexec_monitor_query(lockexec_state *st, const char *sql, pgc_err *err)
{
	if (!st->monitor && !st->monitor_failed)
	{
		st->monitor = lockexec_open_monitor(st->conn);
		if (!st->monitor)
		{
			st->monitor_failed = true;
			log_info("could not open a second connection to see which sessions block pgcarry");
		}
	}
	if (!st->monitor)
		return NULL;
	char pid[16];
	snprintf(pid, sizeof pid, "%d", PQbackendPID(st->conn));
	const char *params[1] = {pid};
	return conn_query(st->monitor, sql, 1, params, err);
}

/* Describes the sessions that block st->conn right now, into st->blockers
 * (replacing the previous description).  Returns true when our backend waits
 * on a lock held by at least one session. */
static bool
lockexec_find_blockers(lockexec_state *st)
{
	pgc_err e = PGC_ERR_INIT;
	PGresult *res = lockexec_monitor_query(st, lockexec_blockers_sql, &e);
	if (!res)
	{
		if (e.set)
			log_info("could not list the sessions that block pgcarry: %s", e.message);
		err_clear(&e);
		return false;
	}
	bool found = false;
	if (PQntuples(res) > 0)
	{
		buf_t b = {0};
		for (int i = 0; i < PQntuples(res); i++)
		{
			buf_printf(&b, "%spid %s (application \"%s\", %s, transaction open for %s s",
					   i ? "; " : "", PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
					   PQgetvalue(res, i, 2), PQgetvalue(res, i, 3));
			if (*PQgetvalue(res, i, 4))
				buf_printf(&b, ", last query: %s", PQgetvalue(res, i, 4));
			buf_putc(&b, ')');
		}
		free(st->blockers);
		st->blockers = buf_steal(&b);
		st->first_blocker = atoi(PQgetvalue(res, 0, 0));
		found = true;
	}
	PQclear(res);
	return found;
}

/* Whether st->conn's backend is part of a lock cycle right now (false when
 * the monitor connection is not available). */
static bool
lockexec_in_cycle(lockexec_state *st)
{
	pgc_err e = PGC_ERR_INIT;
	PGresult *res = lockexec_monitor_query(st, lockexec_cycle_sql, &e);
	err_clear(&e);
	bool cycle = res && PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	return cycle;
}

static void
lockexec_state_free(lockexec_state *st)
{
	if (st->monitor)
	{
		cleanup_untrack_conn(st->monitor);
		PQfinish(st->monitor);
	}
	free(st->blockers);
	free(st->lock_sql);
}

/* ------------------------------------------------------------------------
 * One attempt
 * ------------------------------------------------------------------------ */

/*
 * Sends sql and waits for all its results, naming blockers once while it
 * waits on a lock.  Returns 0, or -1 with err filled from the first failed
 * result.
 */
static int
lockexec_send_wait(lockexec_state *st, const char *sql, int lock_timeout_ms, pgc_err *err)
{
	PGconn *conn = st->conn;
	if (!PQsendQuery(conn, sql))
	{
		conn_err_from_result(err, conn, NULL, sql);
		return -1;
	}
	int64_t started = monotime_now_ms();
	bool reported = false;
	int64_t first = LOCKEXEC_REPORT_AFTER_MS;
	if (lock_timeout_ms > 0 && lock_timeout_ms / 2 < first)
		first = lock_timeout_ms / 2;
	int64_t next_check = started + first;
	int64_t interval = 250;		/* grows while a long statement runs unblocked */
	int64_t next_cycle = started + LOCKEXEC_CYCLE_EVERY_MS;
	bool cancelled = false;
	for (;;)
	{
		if (!PQconsumeInput(conn))
		{
			conn_err_from_result(err, conn, NULL, sql);
			break;
		}
		if (!PQisBusy(conn))
			break;
		struct pollfd pfd = {.fd = PQsocket(conn), .events = POLLIN};
		(void) poll(&pfd, 1, 25);
		int64_t now = monotime_now_ms();
		/*
		 * A lock cycle that includes us: the server breaks it only after
		 * deadlock_timeout, and by cancelling whichever member checks first,
		 * which may be an application transaction.  pgcarry gives way at
		 * once instead: it cancels its own statement, and the caller rolls
		 * back and retries (as after 40P01).
		 */
		if (!cancelled && now >= next_cycle)
		{
			next_cycle = now + LOCKEXEC_CYCLE_EVERY_MS;
			if (lockexec_in_cycle(st))
			{
				PGcancel *c = PQgetCancel(conn);
				char errbuf[256];
				if (c && PQcancel(c, errbuf, sizeof errbuf))
				{
					cancelled = true;
					st->gave_way = true;
					log_info("pgcarry's statement is in a lock cycle with the application: giving way");
				}
				PQfreeCancel(c);
			}
		}
		if (!reported && now >= next_check)
		{
			if (lockexec_find_blockers(st))
			{
				log_notice("waiting for a lock (up to lock_timeout); blocked by %s", st->blockers);
				reported = true;
			}
			next_check = now + interval;
			if (interval < 5000)
				interval *= 2;
		}
	}
	PGresult *res;
	int rc = err->set ? -1 : 0;
	while ((res = PQgetResult(conn)) != NULL)
	{
		ExecStatusType s = PQresultStatus(res);
		if (s == PGRES_COPY_IN || s == PGRES_COPY_BOTH)
		{
			/* No COPY data comes with a statement: end the COPY with an error. */
			PQclear(res);
			(void) PQputCopyEnd(conn, "pgcarry runs no COPY ... FROM STDIN: there is no data to send");
			continue;
		}
		if (s == PGRES_COPY_OUT)
		{
			char *row;
			while (PQgetCopyData(conn, &row, 0) > 0)
				PQfreemem(row);
			PQclear(res);
			continue;
		}
		if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK && s != PGRES_EMPTY_QUERY)
		{
			conn_err_from_result(err, conn, res, sql);
			rc = -1;
		}
		PQclear(res);
	}
	return rc;
}


/* The error of a run stopped by Ctrl-C (or SIGTERM) between or at the end
 * of attempts: nothing of the statement was applied. */
static void
lockexec_interrupted_error(pgc_err *err)
{
	err_set(err, "interrupted while waiting to retry a statement");
	err_hint(err, "Run the same command again; nothing of this statement was applied.");
}

static bool
lockexec_is_lock_failure(const pgc_err *e)
{
	return strcmp(e->sqlstate, "55P03") == 0 || strcmp(e->sqlstate, "40P01") == 0;
}

static void
lockexec_rollback(PGconn *conn)
{
	if (PQtransactionStatus(conn) == PQTRANS_IDLE)
		return;
	PGresult *r = PQexec(conn, "ROLLBACK");
	PQclear(r);
}

/* Builds the error for a spent budget. */
static void
lockexec_budget_error(lockexec_state *st, const lockexec_opts *o, int attempts,
					  int64_t elapsed, const char *sql, pgc_err *last, pgc_err *err)
{
	err_set(err, "gave up waiting for a lock after %d attempt%s in %lld s (retry budget %d s)",
			attempts, attempts == 1 ? "" : "s", (long long) (elapsed / 1000), o->budget_ms / 1000);
	if (st->blockers)
		err_detail(err, "Each attempt waited at most %d ms so the application's queries never "
				   "queued longer; blocked by %s.", o->lock_timeout_ms, st->blockers);
	else
		err_detail(err, "Each attempt waited at most %d ms so the application's queries never "
				   "queued longer; last error: %s.", o->lock_timeout_ms,
				   last->message ? last->message : "lock timeout");
	if (st->first_blocker > 0)
		err_hint(err, "Let the blocking transaction finish, or end it with SELECT "
				 "pg_terminate_backend(%d), then run again; --retry-budget and --lock-timeout "
				 "set how long pgcarry keeps trying.", st->first_blocker);
	else
		err_hint(err, "Let the blocking transactions finish, then run again; --retry-budget "
				 "and --lock-timeout set how long pgcarry keeps trying.");
	err_query(err, sql);
	strcpy(err->sqlstate, "55P03");
	err->retryable = true;
}

/* The session value of a setting, owned by the caller; NULL on failure. */
static char *
lockexec_show(PGconn *conn, const char *name, pgc_err *err)
{
	const char *p[1] = {name};
	return conn_query_value(conn, "SELECT current_setting($1)", 1, p, err);
}

static int
lockexec_set(PGconn *conn, const char *name, const char *value, bool local, pgc_err *err)
{
	const char *p[3] = {name, value, local ? "true" : "false"};
	PGresult *r = conn_query(conn, "SELECT set_config($1, $2, $3::boolean)", 3, p, err);
	if (!r)
		return -1;
	PQclear(r);
	return 0;
}

static int
lockexec_set_ms(PGconn *conn, const char *name, int ms, bool local, pgc_err *err)
{
	char v[32];
	snprintf(v, sizeof v, "%dms", ms < 0 ? 0 : ms);
	return lockexec_set(conn, name, v, local, err);
}


/* ------------------------------------------------------------------------
 * Leftovers of CREATE INDEX CONCURRENTLY
 * ------------------------------------------------------------------------ */

static const char lockexec_index_sql[] =
	"SELECT i.indisvalid, "
	"       EXISTS (SELECT 1 FROM pg_stat_progress_create_index p WHERE p.index_relid = c.oid), "
	"       n.nspname, c.relname "
	"FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
	"     JOIN pg_namespace n ON n.oid = c.relnamespace "
	"WHERE i.indrelid = to_regclass($1) AND c.relname = $2";

/* The identifier as PostgreSQL stores it: unquoted folded to lower case. */
static char *
lockexec_ident(const char *name)
{
	buf_t b = {0};
	if (name[0] == '"')
	{
		for (const char *p = name + 1; *p; p++)
		{
			if (*p == '"' && p[1] == '"')
				buf_putc(&b, *p++);
			else if (*p != '"')
				buf_putc(&b, *p);
		}
	}
	else
		for (const char *p = name; *p; p++)
			buf_putc(&b, (*p >= 'A' && *p <= 'Z') ? (char) (*p - 'A' + 'a') : *p);
	return buf_steal(&b);
}

/* Like lockexec_index_check; *qualified (when not NULL) receives the
 * quoted schema.name of an existing index. */
static int
lockexec_index_lookup(PGconn *conn, const char *sql, lockexec_index_state *state, char **qualified,
					  pgc_err *err)
{
	*state = LOCKEXEC_INDEX_NOT_NAMED;
	if (qualified)
		*qualified = NULL;
	sqlparse_list l;
	pgc_err e = PGC_ERR_INIT;
	if (sqlparse_split(sql, strlen(sql), 1, NULL, &l, &e) != 0)
	{
		err_clear(&e);
		return 0;
	}
	int rc = 0;
	if (l.n == 1)
	{
		lint_info info;
		lint_classify(&l.items[0], &info);
		if (strcmp(info.kind, "CREATE INDEX CONCURRENTLY") == 0 && info.index && info.table)
		{
			char *name = lockexec_ident(info.index);
			const char *p[2] = {info.table, name};
			PGresult *r = conn_query(conn, lockexec_index_sql, 2, p, err);
			if (!r)
				rc = -1;
			else
			{
				if (PQntuples(r) == 0)
					*state = LOCKEXEC_INDEX_ABSENT;
				else if (PQgetvalue(r, 0, 1)[0] == 't')
					*state = LOCKEXEC_INDEX_BUILDING;
				else
					*state = PQgetvalue(r, 0, 0)[0] == 't' ? LOCKEXEC_INDEX_VALID : LOCKEXEC_INDEX_INVALID;
				if (PQntuples(r) > 0 && qualified)
					*qualified = conn_qualify(conn, PQgetvalue(r, 0, 2), PQgetvalue(r, 0, 3));
				PQclear(r);
			}
			free(name);
		}
		lint_info_free(&info);
	}
	sqlparse_list_free(&l);
	return rc;
}

int
lockexec_index_check(PGconn *conn, const char *sql, lockexec_index_state *state, pgc_err *err)
{
	return lockexec_index_lookup(conn, sql, state, NULL, err);
}

/*
 * Takes o->locks in order inside the open transaction (see lockexec.h).
 * deadlock_ms is the server's deadlock_timeout.  Leaves lock_timeout at
 * o->lock_timeout_ms for the statements that follow.  Returns 0, or -1 with
 * err set (55P03 when a lock was not granted in time).
 */
static int
lockexec_take_locks(lockexec_state *st, const lockexec_opts *o, int deadlock_ms, pgc_err *err)
{
	int total = o->lock_timeout_ms > 0 ? o->lock_timeout_ms : 60000;
	int rest = deadlock_ms / 2;
	if (rest > total / 4)
		rest = total / 4;
	if (rest < 1)
		rest = 1;
	int first = total - (int) (o->nlocks - 1) * rest;
	if (first < rest)
		first = rest;
	for (size_t i = 0; i < o->nlocks; i++)
	{
		int ms = i == 0 ? first : rest;
		if (lockexec_set_ms(st->conn, "lock_timeout", ms, true, err) != 0)
			return -1;
		free(st->lock_sql);
		st->lock_sql = xasprintf("LOCK TABLE %s IN %s MODE", o->locks[i].table, o->locks[i].mode);
		log_debug("taking lock %zu of %zu (wait up to %d ms): %s", i + 1, o->nlocks, ms, st->lock_sql);
		if (lockexec_send_wait(st, st->lock_sql, ms, err) != 0)
			return -1;
	}
	return lockexec_set_ms(st->conn, "lock_timeout", o->lock_timeout_ms, true, err);
}

/* The server's deadlock_timeout in milliseconds (1000 when unreadable). */
static int
lockexec_deadlock_ms(PGconn *conn)
{
	pgc_err e = PGC_ERR_INIT;
	char *v = conn_query_value(conn, "SELECT setting FROM pg_settings WHERE name = 'deadlock_timeout'",
							   0, NULL, &e);
	err_clear(&e);
	int ms = v ? atoi(v) : 0;
	free(v);
	return ms > 0 ? ms : 1000;
}

static int lockexec_loop(PGconn *conn, const char *const *stmts, size_t n, const lockexec_opts *opts,
						 bool in_tx, lockexec_tx_fn fn, void *ctx, size_t *failed, pgc_err *err);

/* Drops an INVALID index left by an earlier build of sql.  Returns 0 (also
 * when there is nothing to drop) or -1 with err set. */
static int
lockexec_drop_invalid_index(PGconn *conn, const char *sql, const lockexec_opts *o, pgc_err *err)
{
	lockexec_index_state state;
	char *qualified = NULL;
	if (lockexec_index_lookup(conn, sql, &state, &qualified, err) != 0)
		return -1;
	int rc = 0;
	if (state == LOCKEXEC_INDEX_BUILDING)
	{
		err_set(err, "index %s is being built right now by another session", qualified);
		err_hint(err, "Wait for that build to finish (see pg_stat_progress_create_index), then run again.");
		rc = -1;
	}
	else if (state == LOCKEXEC_INDEX_INVALID)
	{
		log_notice("dropping invalid index %s left by an earlier failed CREATE INDEX CONCURRENTLY; "
				   "building it again", qualified);
		char *drop = xasprintf("DROP INDEX CONCURRENTLY IF EXISTS %s", qualified);
		const char *one[1] = {drop};
		rc = lockexec_loop(conn, one, 1, o, false, NULL, NULL, NULL, err);
		free(drop);
	}
	free(qualified);
	return rc;
}

/* ------------------------------------------------------------------------
 * The retry loop shared by both entry points
 * ------------------------------------------------------------------------ */

static int
lockexec_loop(PGconn *conn, const char *const *stmts, size_t n, const lockexec_opts *opts, bool in_tx,
			  lockexec_tx_fn fn, void *ctx, size_t *failed, pgc_err *err)
{
	const char *sql = stmts[0];	/* for messages until a statement fails */
	if (failed)
		*failed = n;
	lockexec_opts o;
	if (opts)
		o = *opts;
	else
		lockexec_defaults(&o);
	lockexec_state st = {.conn = conn};
	int64_t start = monotime_now_ms();
	int rc = -1;
	char *saved_lt = NULL, *saved_st = NULL;

	if (PQtransactionStatus(conn) != PQTRANS_IDLE)
	{
		/* Our BEGIN would be ignored and our COMMIT would end the caller's
		 * transaction: a programming error, reported rather than risked. */
		err_set(err, "internal error: a statement was given to lockexec inside an open transaction");
		err_query(err, sql);
		return -1;
	}

	int deadlock_ms = in_tx && o.nlocks > 0 ? lockexec_deadlock_ms(conn) : 0;
	if (!in_tx)
	{
		saved_lt = lockexec_show(conn, "lock_timeout", err);
		saved_st = saved_lt ? lockexec_show(conn, "statement_timeout", err) : NULL;
		if (!saved_st)
			goto done;
	}

	for (int attempt = 0;; attempt++)
	{
		pgc_err e = PGC_ERR_INIT;
		int r;
		st.gave_way = false;
		if (in_tx)
		{
			r = conn_exec(conn, "BEGIN", &e);
			if (r == 0)
				r = lockexec_set_ms(conn, "lock_timeout", o.lock_timeout_ms, true, &e);
			if (r == 0)
				r = lockexec_set_ms(conn, "statement_timeout", o.statement_timeout_ms, true, &e);
			if (r == 0 && o.nlocks > 0)
			{
				r = lockexec_take_locks(&st, &o, deadlock_ms, &e);
				if (r != 0)
					sql = st.lock_sql;
			}
		}
		else
		{
			r = lockexec_drop_invalid_index(conn, sql, &o, &e);
			if (r == 0)
				r = lockexec_set_ms(conn, "lock_timeout", o.lock_timeout_ms, false, &e);
			if (r == 0)
				r = lockexec_set_ms(conn, "statement_timeout", o.statement_timeout_ms, false, &e);
		}
		for (size_t i = 0; r == 0 && i < n; i++)
		{
			log_debug("running (attempt %d): %s", attempt + 1, stmts[i]);
			r = lockexec_send_wait(&st, stmts[i], o.lock_timeout_ms, &e);
			if (r != 0)
			{
				sql = stmts[i];
				if (failed)
					*failed = i;
			}
		}
		if (r == 0 && fn)
		{
			r = fn(conn, ctx, &e);
			if (r != 0 && failed)
				*failed = n;	/* not one of the statements */
		}
		if (r == 0 && in_tx)
			r = conn_exec(conn, "COMMIT", &e);
		if (r == 0)
		{
			rc = 0;
			break;
		}
		if (in_tx)
			lockexec_rollback(conn);
		if (st.gave_way && strcmp(e.sqlstate, "57014") == 0 && !cleanup_interrupted())
		{
			/* our own cancel, wherever it landed: retried as a deadlock */
			snprintf(e.sqlstate, sizeof e.sqlstate, "40P01");
		}
		if (lockexec_is_lock_failure(&e) && cleanup_interrupted())
		{
			/* The signal landed as the lock timeout fired: it is an
			 * interruption, reported as one, not a lock failure. */
			err_clear(&e);
			lockexec_interrupted_error(err);
			break;
		}
		if (!lockexec_is_lock_failure(&e) || cleanup_interrupted())
		{
			err_move(err, &e);
			break;
		}
		int64_t elapsed = monotime_now_ms() - start;
		int64_t delay = backoff_delay_ms(attempt, o.backoff_base_ms, o.backoff_cap_ms,
										 backoff_random());
		if (elapsed + delay + o.lock_timeout_ms > o.budget_ms)
		{
			lockexec_budget_error(&st, &o, attempt + 1, elapsed, sql, &e, err);
			err_clear(&e);
			break;
		}
		log_notice("%s; retrying in %lld ms (attempt %d, %lld s of %d s budget used)",
				   st.gave_way ? "lock cycle with the application, pgcarry gave way"
				   : strcmp(e.sqlstate, "40P01") == 0 ? "deadlock detected, pgcarry's statement was cancelled"
				   : "lock not granted within lock_timeout",
				   (long long) delay, attempt + 2, (long long) (elapsed / 1000), o.budget_ms / 1000);
		err_clear(&e);
		backoff_sleep_ms(delay);
		if (cleanup_interrupted())
		{
			lockexec_interrupted_error(err);
			break;
		}
	}

done:
	if (!in_tx && saved_lt && saved_st && PQstatus(conn) == CONNECTION_OK
		&& PQtransactionStatus(conn) == PQTRANS_IDLE)
	{
		pgc_err e = PGC_ERR_INIT;
		(void) lockexec_set(conn, "lock_timeout", saved_lt, false, &e);
		(void) lockexec_set(conn, "statement_timeout", saved_st, false, &e);
		err_clear(&e);
	}
	free(saved_lt);
	free(saved_st);
	lockexec_state_free(&st);
	return rc;
}

int
lockexec_run(PGconn *conn, const char *sql, const lockexec_opts *o, pgc_err *err)
{
	const char *one[1] = {sql};
	return lockexec_loop(conn, one, 1, o, true, NULL, NULL, NULL, err);
}

int
lockexec_run_tx(PGconn *conn, const char *sql, const lockexec_opts *o,
				lockexec_tx_fn fn, void *ctx, pgc_err *err)
{
	const char *one[1] = {sql};
	return lockexec_loop(conn, one, 1, o, true, fn, ctx, NULL, err);
}

int
lockexec_run_tx_list(PGconn *conn, const char *const *stmts, size_t n, const lockexec_opts *o,
					 lockexec_tx_fn fn, void *ctx, size_t *failed, pgc_err *err)
{
	if (n == 0)
	{
		static const char *const none[1] = {"SELECT 1"};
		return lockexec_loop(conn, none, 1, o, true, fn, ctx, NULL, err);
	}
	return lockexec_loop(conn, stmts, n, o, true, fn, ctx, failed, err);
}

int
lockexec_run_autocommit(PGconn *conn, const char *sql, const lockexec_opts *o, pgc_err *err)
{
	const char *one[1] = {sql};
	return lockexec_loop(conn, one, 1, o, false, NULL, NULL, NULL, err);
}
