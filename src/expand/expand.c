/*
 * expand.c: "pgcarry schema start | complete | rollback" for expand/contract
 * migrations, and their part of "pgcarry schema status".
 *
 * How it works: one row per migration in pgcarry_expand.migrations holds
 * the plan (all SQL, generated once at the first start: expand_plan.h) and
 * where the migration stands.  The phases:
 *
 *   start:    expand -> backfill -> validate -> verify -> ready
 *   complete: ready -> (verify again) -> contract -> complete
 *   rollback: any phase before contract -> rollback -> rolled back
 *
 *   expand, validate, contract, rollback: lists of steps.  A step that can
 *     run in a transaction runs through lockexec (SET LOCAL lock_timeout,
 *     retried on lock timeouts) and records "step = i + 1" in the same
 *     transaction, so a crash leaves it either done and recorded or not
 *     done.  A step that cannot (CREATE INDEX CONCURRENTLY) first asks
 *     whether it is already done (a valid index), else drops what a failed
 *     attempt left behind, runs, and is recorded afterwards.
 *   backfill: per item, batches of batch_size keys that still need work:
 *     one short transaction that sets lock_timeout, turns the sync triggers
 *     off for itself, picks the batch (locking its rows FOR NO KEY UPDATE
 *     when the copy needs it, so concurrent writers of those rows wait for
 *     at most one batch), copies it, and records the last key; a crash
 *     resumes after the last committed batch.  A batch that cannot get its
 *     locks within lock_timeout is retried with backoff within the budget.
 *     The end key is the table's largest key when the item began: later
 *     rows are written by the sync triggers.
 *   verify: per item, counts (one statement, one snapshot) plus a
 *     row-by-row comparison of the old shape with the new in batches of
 *     keys; the result is stored.  start stops at a difference (exit 3);
 *     complete refuses to contract (exit 3).
 *   sync changes: the sync triggers' audit (expand_plan.h) records every
 *     row they delete or overwrite in pgcarry_expand.sync_changes with its
 *     cause; status shows the counts and first keys, complete shows them
 *     before it contracts and refuses (exit 3) when rows of the new shape
 *     were removed with no explicit old-version change as cause, unless
 *     --force.
 *
 * One runner per migration: a session advisory lock, polled for a while (a
 * killed runner's session takes a moment to go away).
 */
#include "expand/expand.h"

#include "cleanup.h"
#include "cli.h"
#include "conn.h"
#include "expand/expand_plan.h"
#include "expand/expand_spec.h"
#include "schema/lockexec.h"
#include "util/monotime.h"
#include "util/backoff.h"
#include "util/buf.h"
#include "util/fault.h"
#include "util/log.h"
#include "util/xalloc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum
{
	EXPAND_OPT_TARGET = CLI_OPT_FIRST_COMMAND_OPT,
	EXPAND_OPT_BATCH_SIZE,
	EXPAND_OPT_PAUSE,
	EXPAND_OPT_LOCK_TIMEOUT,
	EXPAND_OPT_STATEMENT_TIMEOUT,
	EXPAND_OPT_RETRY_BUDGET,
	EXPAND_OPT_FORCE
};

/* How many differing rows a report shows. */
#define EXPAND_SAMPLES 10

typedef struct expand_run
{
	const char *verb;
	PGconn	   *conn;
	char	   *name;
	json_t	   *plan;
	lockexec_opts lock;
	long		batch_size;
	long		pause_ms;
	int			force;
	const char *phase_step;		/* the phase whose step counter is being advanced */
	int			step_next;
} expand_run;

static const char expand_state_ddl[] =
	"CREATE SCHEMA IF NOT EXISTS " EXPAND_PLAN_SCHEMA ";\n"
	"CREATE TABLE IF NOT EXISTS " EXPAND_PLAN_SCHEMA ".migrations (\n"
	"  name text PRIMARY KEY,\n"
	"  checksum text NOT NULL,\n"
	"  file text,\n"
	"  plan text NOT NULL,\n"
	"  phase text NOT NULL,\n"
	"  step int NOT NULL DEFAULT 0,\n"
	"  backfill_item int NOT NULL DEFAULT 0,\n"
	"  last_key text,\n"
	"  end_key text,\n"
	"  rows_total bigint NOT NULL DEFAULT 0,\n"
	"  rows_done bigint NOT NULL DEFAULT 0,\n"
	"  started_at timestamptz NOT NULL DEFAULT now(),\n"
	"  started_by text NOT NULL DEFAULT current_user,\n"
	"  updated_at timestamptz NOT NULL DEFAULT now(),\n"
	"  finished_at timestamptz,\n"
	"  verified_at timestamptz,\n"
	"  verify_ok boolean,\n"
	"  verify_rows bigint,\n"
	"  verify_diffs bigint,\n"
	"  verify_report text\n"
	");\n"
	/* every row the sync triggers deleted or overwrote (expand_plan.h) */
	"CREATE TABLE IF NOT EXISTS " EXPAND_PLAN_SCHEMA ".sync_changes (\n"
	"  id bigserial PRIMARY KEY,\n"
	"  migration text NOT NULL,\n"
	"  shape text NOT NULL,\n"
	"  action text NOT NULL,\n"
	"  relation text NOT NULL,\n"
	"  key text,\n"
	"  cause text,\n"
	"  at timestamptz NOT NULL DEFAULT now()\n"
	");\n"
	"CREATE INDEX IF NOT EXISTS sync_changes_migration_idx ON " EXPAND_PLAN_SCHEMA ".sync_changes (migration, id)";

static void
expand_help(const char *verb)
{
	printf("pgcarry schema %s runs an expand/contract migration on a live database.\n"
		   "\n"
		   "Usage:\n"
		   "  pgcarry schema start FILE --target URI [--batch-size N] [--pause D]\n"
		   "  pgcarry schema complete NAME|FILE --target URI [--force]\n"
		   "  pgcarry schema rollback NAME|FILE --target URI [--force]\n"
		   "\n"
		   "start adds the new shape beside the old one, installs sync triggers, backfills\n"
		   "existing rows in small batches (resumable: run start again after a crash) and\n"
		   "verifies.  complete verifies again, shows what the sync triggers deleted or\n"
		   "overwrote, refuses if any row differs or the sync removed data of the new shape\n"
		   "that no old-version change explains (exit 3), then drops the old shape.\n"
		   "rollback removes what start added.\n"
		   "\n"
		   "Options:\n"
		   "      --target URI             the database (default: $PGCARRY_TARGET)\n"
		   "      --batch-size N           rows per backfill transaction (default 1000)\n"
		   "      --pause D                pause between backfill batches (default 0)\n"
		   "      --lock-timeout D         how long one statement may wait for its lock (default 2s)\n"
		   "      --statement-timeout D    how long one DDL step or backfill statement may run\n"
		   "                               (default: no limit for DDL, half the lock timeout\n"
		   "                               for a backfill statement)\n"
		   "      --retry-budget D         how long to keep retrying after lock timeouts (default 1min)\n"
		   "      --force                  complete even when the sync removed data of the new\n"
		   "                               shape that no old-version change explains; rollback\n"
		   "                               even when rows exist only in the new shape\n"
		   "\n"
		   "Durations: 2s, 500ms, 1min; a bare number is seconds.\n"
		   "The file format is described in docs/expand-contract.md.\n"
		   "\n%s", verb, cli_common_help);
}

/* ------------------------------------------------------------- state */

static int
expand_set_phase(expand_run *r, const char *phase, pgc_err *err)
{
	char *sql = xasprintf("UPDATE " EXPAND_PLAN_SCHEMA ".migrations SET phase = $2, step = 0, "
						  "updated_at = now()%s WHERE name = $1",
						  strcmp(phase, "complete") == 0 || strcmp(phase, "rolled back") == 0
						  ? ", finished_at = now()" : "");
	const char *params[2] = {r->name, phase};
	int rc = conn_exec_params(r->conn, sql, 2, params, err);
	free(sql);
	return rc;
}

/* Reads the migration's row: phase, step, plan, checksum; NULL if none. */
static PGresult *
expand_read(PGconn *conn, const char *name, pgc_err *err)
{
	const char *params[1] = {name};
	return conn_query(conn,
					  "SELECT phase, step, plan, checksum, backfill_item, last_key, end_key, "
					  "rows_total, rows_done FROM " EXPAND_PLAN_SCHEMA ".migrations WHERE name = $1",
					  1, params, err);
}

static int
expand_lock(expand_run *r, pgc_err *err)
{
	const char *params[1] = {r->name};
	for (int i = 0; i < 60; i++)
	{
		char *got = conn_query_value(r->conn,
									 "SELECT pg_try_advisory_lock(hashtext('pgcarry_expand'), hashtext($1))",
									 1, params, err);
		if (!got)
			return -1;
		int ok = got[0] == 't';
		free(got);
		if (ok)
			return 0;
		if (cleanup_interrupted())
			break;
		backoff_sleep_ms(250);
	}
	char *who = conn_query_value(r->conn,
								 "SELECT string_agg(format('pid %s (%s)', l.pid, a.application_name), ', ') "
								 "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
								 "WHERE l.locktype = 'advisory' AND l.granted "
								 "AND l.classid = hashtext('pgcarry_expand')::oid "
								 "AND l.objid = hashtext($1)::oid", 1, params, err);
	err_clear(err);
	err_set(err, "another pgcarry is running expand/contract migration \"%s\"", r->name);
	if (who)
		err_detail(err, "It is held by %s.", who);
	err_hint(err, "Wait for it to finish, or stop it; its work is kept and resumes on the next run.");
	free(who);
	return -1;
}

/* ------------------------------------------------------------- steps */

static int
expand_record_step(PGconn *conn, void *ctx, pgc_err *err)
{
	expand_run *r = ctx;
	char n[16];
	snprintf(n, sizeof n, "%d", r->step_next);
	const char *params[2] = {r->name, n};
	return conn_exec_params(conn, "UPDATE " EXPAND_PLAN_SCHEMA ".migrations SET step = $2::int, "
							"updated_at = now() WHERE name = $1", 2, params, err);
}

/* Runs steps[from..] of a phase; each is recorded as it completes. */
static int
expand_steps(expand_run *r, const char *phase, int from, pgc_err *err)
{
	json_t *steps = json_object_get(r->plan, phase);
	int total = (int) json_array_size(steps);
	for (int i = from; i < total; i++)
	{
		if (cleanup_interrupted())
		{
			err_set(err, "interrupted during %s step %d of %d", phase, i + 1, total);
			err_hint(err, "Run the same command again to continue.");
			return -1;
		}
		json_t *s = json_array_get(steps, (size_t) i);
		const char *what = expand_spec_str(s, "what", "");
		const char *sql = expand_spec_str(s, "sql", "");
		log_notice("%s %d/%d: %s", phase, i + 1, total, what);
		log_debug("%s", sql);
		r->step_next = i + 1;
		if (expand_spec_bool(s, "autocommit", 0))
		{
			const char *done = expand_spec_str(s, "done_sql", NULL);
			const char *undo = expand_spec_str(s, "undo_sql", NULL);
			int skip = 0;
			if (done)
			{
				PGresult *res = conn_query(r->conn, done, 0, NULL, err);
				if (!res)
					return -1;
				skip = PQntuples(res) > 0;
				PQclear(res);
			}
			if (!skip && undo && lockexec_run_autocommit(r->conn, undo, &r->lock, err) != 0)
				goto fail;
			if (!skip && lockexec_run_autocommit(r->conn, sql, &r->lock, err) != 0)
				goto fail;
			if (expand_record_step(r->conn, r, err) != 0)
				return -1;
		}
		else
		{
			/* Steps that lock both sides of a sync take those locks first,
			 * deadlock-free (lockexec.h). */
			lockexec_opts o = r->lock;
			lockexec_lock locks[2];
			json_t *names = json_object_get(s, "locks");
			for (size_t k = 0; k < json_array_size(names) && k < 2; k++)
			{
				locks[k].table = json_string_value(json_array_get(names, k));
				locks[k].mode = expand_spec_str(s, "lock_mode", "ACCESS EXCLUSIVE");
				o.nlocks = k + 1;
			}
			o.locks = o.nlocks ? locks : NULL;
			if (lockexec_run_tx(r->conn, sql, &o, expand_record_step, r, err) != 0)
				goto fail;
		}
		continue;
fail:
		err_prefix(err, "%s step %d (%s) failed: ", phase, i + 1, what);
		if (!err->hint)
			err_hint(err, "Nothing of this step was kept; fix the cause and run the same command again, "
					 "or undo the migration with \"pgcarry schema rollback %s\".", r->name);
		return -1;
	}
	return 0;
}

/* ----------------------------------------------------------- backfill */

/*
 * One batch of at most size keys in one transaction; *n_out = rows in it
 * (0 when finished).  Each statement may run for at most limit_ms
 * (statement_timeout) and wait for a lock for half that (lock_timeout, so a
 * lock wait ends as 55P03 before the statement's own time runs out), so an
 * application statement that waits for a row the batch holds waits about
 * one lock timeout at most.  Returns 0, or -1 with err set (55P03: a lock
 * was not granted; 57014: a statement ran out of time).
 */
static int
expand_batch(expand_run *r, json_t *item, long size, int limit_ms, const char *lo, const char *end,
			 char **hi_out, long long *n_out, pgc_err *err)
{
	*hi_out = NULL;
	*n_out = 0;
	/*
	 * Join choices off: a batch is a few thousand rows probing the new
	 * shape by index; the new table's statistics lag behind its growth, and
	 * a hash join would read all of it once per batch.
	 */
	char *begin = xasprintf("BEGIN; SET LOCAL lock_timeout = %d; SET LOCAL statement_timeout = %d; "
							"SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off; "
							"SELECT set_config('" EXPAND_PLAN_GUARD "', 'off', true)",
							limit_ms > 1 ? limit_ms / 2 : limit_ms, limit_ms);
	int rc = conn_exec(r->conn, begin, err);
	free(begin);
	if (rc != 0)
		return -1;
	char bs[24];
	snprintf(bs, sizeof bs, "%ld", size);
	const char *kp[3] = {lo, bs, end};
	PGresult *keys = conn_query(r->conn, expand_spec_str(item, "keys_sql", ""), 3, kp, err);
	if (!keys)
		goto rollback;
	long long n = atoll(PQgetvalue(keys, 0, 1));
	if (n > 0)
	{
		char *hi = xstrdup(PQgetvalue(keys, 0, 0));
		PQclear(keys);
		const char *bp[2] = {lo, hi};
		if (conn_exec_params(r->conn, expand_spec_str(item, "batch_sql", ""), 2, bp, err) != 0)
		{
			free(hi);
			goto rollback;
		}
		/* record the batch and commit in one round trip */
		char *qname = conn_quote_literal(r->conn, r->name);
		char *qhi = conn_quote_literal(r->conn, hi);
		char *fin = xasprintf("UPDATE " EXPAND_PLAN_SCHEMA ".migrations SET last_key = %s, "
							  "rows_done = rows_done + %lld, updated_at = now() WHERE name = %s; COMMIT",
							  qhi, n, qname);
		free(qname);
		free(qhi);
		rc = conn_exec(r->conn, fin, err);
		free(fin);
		if (rc != 0)
		{
			free(hi);
			goto rollback;
		}
		*hi_out = hi;
	}
	else
	{
		PQclear(keys);
		if (conn_exec(r->conn, "COMMIT", err) != 0)
			return -1;
	}
	*n_out = n;
	return 0;
rollback:
	{
		pgc_err e2 = PGC_ERR_INIT;
		conn_exec(r->conn, "ROLLBACK", &e2);
		err_clear(&e2);
	}
	return -1;
}

static int
expand_backfill(expand_run *r, PGresult *row, pgc_err *err)
{
	json_t *items = json_object_get(r->plan, "backfill");
	int item_no = atoi(PQgetvalue(row, 0, 4));
	char *last = PQgetisnull(row, 0, 5) ? NULL : xstrdup(PQgetvalue(row, 0, 5));
	char *end = PQgetisnull(row, 0, 6) ? NULL : xstrdup(PQgetvalue(row, 0, 6));
	long long total = atoll(PQgetvalue(row, 0, 7));
	long long done = atoll(PQgetvalue(row, 0, 8));
	int rc = 0;
	/*
	 * A batch's rows stay locked until it commits, and an application
	 * statement that writes one of them waits that long: each of a batch's
	 * statements gets half the lock timeout (or --statement-timeout when
	 * given), and a batch that runs out of time is retried with half as
	 * many rows.  0: no limit (--lock-timeout 0 and no --statement-timeout).
	 */
	int limit_ms = r->lock.statement_timeout_ms > 0 ? r->lock.statement_timeout_ms
		: r->lock.lock_timeout_ms > 0 ? r->lock.lock_timeout_ms / 2 : 0;
	for (; item_no < (int) json_array_size(items); item_no++)
	{
		json_t *item = json_array_get(items, (size_t) item_no);
		const char *label = expand_spec_str(item, "label", "");
		if (!end)
		{
			end = conn_query_value(r->conn, expand_spec_str(item, "end_sql", ""), 0, NULL, err);
			if (err->set)
				goto out;
			total = 0;
			done = 0;
			if (end)
			{
				const char *cp[1] = {end};
				char *cnt = conn_query_value(r->conn, expand_spec_str(item, "count_sql", ""), 1, cp, err);
				if (err->set)
					goto out;
				total = cnt ? atoll(cnt) : 0;
				free(cnt);
			}
			char ts[24];
			snprintf(ts, sizeof ts, "%lld", total);
			const char *sp[3] = {r->name, end, ts};
			if (conn_exec_params(r->conn, "UPDATE " EXPAND_PLAN_SCHEMA ".migrations SET end_key = $2, "
								 "last_key = NULL, rows_total = $3::bigint, rows_done = 0, "
								 "updated_at = now() WHERE name = $1", 3, sp, err) != 0)
				goto out;
			free(last);
			last = NULL;
			log_notice("backfill %s: %lld rows up to key %s", label, total, end ? end : "(none)");
		}
		else
			log_notice("backfill %s: resuming after key %s (%lld of %lld rows done)", label,
					   last ? last : "(start)", done, total);
		FAULT_IF("expand-resume-too-far", last && end) { const char *fp[3] = {last, "1000", end}; PGresult *fk = conn_query(r->conn, expand_spec_str(item, "keys_sql", ""), 3, fp, err); if (fk) { free(last); last = xstrdup(PQgetvalue(fk, 0, 0)); PQclear(fk); } }
		double t0 = monotime_now(), tlast = t0;
		long long done0 = done;
		int attempt = 0;
		double lock_wait_start = 0;
		long size = r->batch_size;
		while (end)
		{
			if (cleanup_interrupted())
			{
				err_set(err, "backfill interrupted after key %s", last ? last : "(start)");
				err_hint(err, "Run \"pgcarry schema start\" with the same file again to continue.");
				goto out;
			}
			char *hi = NULL;
			long long n = 0;
			double tb = monotime_now();
			if (expand_batch(r, item, size, limit_ms, last, end, &hi, &n, err) != 0)
			{
				bool slow = strcmp(err->sqlstate, "57014") == 0 && !cleanup_interrupted();
				if (slow || strcmp(err->sqlstate, "55P03") == 0 || strcmp(err->sqlstate, "40P01") == 0)
				{
					if (attempt == 0)
						lock_wait_start = monotime_now();
					if ((monotime_now() - lock_wait_start) * 1000 > r->lock.budget_ms)
					{
						err_prefix(err, "backfill %s gave up after key %s: ", label, last ? last : "(start)");
						err_hint(err, "A session holds locks on these rows for longer than the lock budget; "
								 "run start again later, or raise --retry-budget.");
						goto out;
					}
					if (slow && size > 1)
					{
						/* fewer rows, so the batch holds them for less time */
						size = (size + 1) / 2;
						log_info("backfill batch after key %s ran longer than %d ms; retrying with %ld rows",
								 last ? last : "(start)", limit_ms, size);
						attempt++;
					}
					else
					{
						log_info("backfill batch after key %s could not lock its rows, retrying",
								 last ? last : "(start)");
						backoff_sleep_ms(backoff_delay_ms(attempt++, r->lock.backoff_base_ms,
														  r->lock.backoff_cap_ms, backoff_random()));
					}
					err_clear(err);
					continue;
				}
				err_prefix(err, "backfill %s failed after key %s: ", label, last ? last : "(start)");
				err_hint(err, "Committed batches are kept; fix the cause and run start again to resume.");
				goto out;
			}
			attempt = 0;
			if (n == 0)
				break;
			/* back towards --batch-size while batches stay well inside the limit */
			if (size < r->batch_size && (monotime_now() - tb) * 1000 < limit_ms / 4)
				size = size * 2 < r->batch_size ? size * 2 : r->batch_size;
			free(last);
			last = hi;
			done += n;
			double now = monotime_now();
			if (now - tlast >= 2.0)
			{
				tlast = now;
				log_notice("backfill %s: %lld/%lld rows (%.0f%%), %.0f rows/s", label, done, total,
						   total ? 100.0 * (double) done / (double) total : 100.0,
						   (double) (done - done0) / (now - t0));
			}
			if (r->pause_ms > 0)
				backoff_sleep_ms(r->pause_ms);
		}
		double secs = monotime_now() - t0;
		log_notice("backfill %s: done, %lld rows in %.1f s (%.0f rows/s)", label, done - done0, secs,
				   secs > 0 ? (double) (done - done0) / secs : 0.0);
		char nx[16];
		snprintf(nx, sizeof nx, "%d", item_no + 1);
		const char *sp[2] = {r->name, nx};
		if (conn_exec_params(r->conn, "UPDATE " EXPAND_PLAN_SCHEMA ".migrations SET backfill_item = $2::int, "
							 "end_key = NULL, last_key = NULL, updated_at = now() WHERE name = $1",
							 2, sp, err) != 0)
			goto out;
		free(end);
		end = NULL;
		free(last);
		last = NULL;
	}
	goto done;
out:
	rc = -1;
done:
	free(last);
	free(end);
	return rc;
}

/* ------------------------------------------------------------- verify */

typedef struct expand_verdict
{
	long long	rows;
	long long	diffs;
	buf_t		report;		/* samples and counts, one per line */
	int			shown;
} expand_verdict;

static void
expand_diff_rows(expand_verdict *v, const char *label, PGresult *res)
{
	for (int i = 0; i < PQntuples(res); i++)
	{
		v->diffs++;
		if (v->shown < EXPAND_SAMPLES)
		{
			v->shown++;
			buf_printf(&v->report, "%s: key %s %s\n", label, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1));
		}
	}
}

static int
expand_verify(expand_run *r, expand_verdict *v, pgc_err *err)
{
	memset(v, 0, sizeof *v);
	json_t *items = json_object_get(r->plan, "verify");
	size_t k;
	json_t *item;
	char bs[24];
	long vb = r->batch_size * 10 < 5000 ? 5000 : r->batch_size * 10;
	snprintf(bs, sizeof bs, "%ld", vb);
	double t0 = monotime_now();
	json_array_foreach(items, k, item)
	{
		const char *label = expand_spec_str(item, "label", "");
		const char *counts = expand_spec_str(item, "counts_sql", NULL);
		const char *keys = expand_spec_str(item, "keys_sql", NULL);
		const char *batch = expand_spec_str(item, "batch_sql", NULL);
		const char *once = expand_spec_str(item, "once_sql", NULL);
		if (counts)
		{
			PGresult *res = conn_query(r->conn, counts, 0, NULL, err);
			if (!res)
				return -1;
			for (int i = 0; i < PQntuples(res); i++)
			{
				int same = strcmp(PQgetvalue(res, i, 1), PQgetvalue(res, i, 2)) == 0;
				buf_printf(&v->report, "%s: %s: %s / %s%s\n", label, PQgetvalue(res, i, 0),
						   PQgetvalue(res, i, 1), PQgetvalue(res, i, 2), same ? "" : " (different)");
				if (!same)
				{
					v->diffs++;
					v->shown++;
				}
			}
			PQclear(res);
		}
		if (keys && batch)
		{
			char *last = NULL;
			for (;;)
			{
				if (cleanup_interrupted())
				{
					free(last);
					err_set(err, "verification interrupted");
					err_hint(err, "Run the same command again.");
					return -1;
				}
				const char *kp[3] = {last, bs, NULL};
				PGresult *kr = conn_query(r->conn, keys, 3, kp, err);
				if (!kr)
				{
					free(last);
					return -1;
				}
				long long n = atoll(PQgetvalue(kr, 0, 1));
				char *hi = n > 0 ? xstrdup(PQgetvalue(kr, 0, 0)) : NULL;
				PQclear(kr);
				if (n == 0)
					break;
				const char *bp[2] = {last, hi};
				PGresult *res = conn_query(r->conn, batch, 2, bp, err);
				if (!res)
				{
					free(hi);
					free(last);
					return -1;
				}
				expand_diff_rows(v, label, res);
				PQclear(res);
				v->rows += n;
				free(last);
				last = hi;
			}
			free(last);
		}
		if (once)
		{
			PGresult *res = conn_query(r->conn, once, 0, NULL, err);
			if (!res)
				return -1;
			expand_diff_rows(v, label, res);
			PQclear(res);
		}
	}
	double secs = monotime_now() - t0;
	printf("verified %s: %lld rows compared row by row, %lld difference%s (%.1f s)\n", r->name, v->rows,
		   v->diffs, v->diffs == 1 ? "" : "s", secs);
	fflush(stdout);
	char rows[24], diffs[24];
	snprintf(rows, sizeof rows, "%lld", v->rows);
	snprintf(diffs, sizeof diffs, "%lld", v->diffs);
	const char *sp[4] = {r->name, rows, diffs, v->report.data ? v->report.data : ""};
	return conn_exec_params(r->conn, "UPDATE " EXPAND_PLAN_SCHEMA ".migrations SET verified_at = now(), "
							"verify_ok = $3::bigint = 0, verify_rows = $2::bigint, verify_diffs = $3::bigint, "
							"verify_report = $4, updated_at = now() WHERE name = $1", 4, sp, err);
}

/* Sets err to the refusal for a verification that found differences. */
static void
expand_verify_refuse(expand_run *r, expand_verdict *v, const char *what, pgc_err *err)
{
	err_set(err, "%s: verification of \"%s\" found %lld difference%s", what, r->name, v->diffs,
			v->diffs == 1 ? "" : "s");
	char *rep = xstrdup(v->report.data ? v->report.data : "");
	size_t n = strlen(rep);
	if (n && rep[n - 1] == '\n')
		rep[n - 1] = '\0';
	err_detail(err, "%s%s", rep, v->diffs > v->shown ? "\n(only the first rows are shown)" : "");
	free(rep);
	err_hint(err, "The old shape is untouched.  Fix the rows and run the command again, or undo the "
			 "migration with \"pgcarry schema rollback %s\".", r->name);
	err->exit_status = EXIT_DIFFERENT;
}

/* ------------------------------------------------------- sync changes */

/*
 * What the sync triggers deleted or overwrote (pgcarry_expand.sync_changes),
 * per shape, table and action: rows, rows no explicit change explains, and
 * the first keys of each.
 */
static const char expand_changes_sql[] =
	"SELECT g.shape, g.relation, g.action, g.n, g.unexplained, "
	"       (SELECT string_agg(k.key, ', ' ORDER BY k.id) FROM (SELECT s.key, s.id FROM "
	EXPAND_PLAN_SCHEMA ".sync_changes AS s WHERE s.migration = $1 AND s.shape = g.shape "
	"         AND s.relation = g.relation AND s.action = g.action ORDER BY s.id LIMIT 5) AS k), "
	"       (SELECT string_agg(k.key, ', ' ORDER BY k.id) FROM (SELECT s.key, s.id FROM "
	EXPAND_PLAN_SCHEMA ".sync_changes AS s WHERE s.migration = $1 AND s.shape = g.shape "
	"         AND s.relation = g.relation AND s.action = g.action AND s.cause IS NULL "
	"         ORDER BY s.id LIMIT 10) AS k) "
	"FROM (SELECT shape, relation, action, count(*) AS n, count(*) FILTER (WHERE cause IS NULL) AS unexplained "
	"      FROM " EXPAND_PLAN_SCHEMA ".sync_changes WHERE migration = $1 GROUP BY 1, 2, 3) AS g "
	"ORDER BY g.shape DESC, g.relation, g.action";

/*
 * Reads what the sync of migration name deleted or overwrote: a result of
 * (shape, relation, action, rows, unexplained, first keys, first
 * unexplained keys) rows (PQclear it; no rows on a database whose state
 * predates the bookkeeping), or NULL with err set.
 */
static PGresult *
expand_changes_read(PGconn *conn, const char *name, pgc_err *err)
{
	char *exists = conn_query_value(conn, "SELECT to_regclass('" EXPAND_PLAN_SCHEMA ".sync_changes')::text",
									0, NULL, err);
	if (err->set)
		return NULL;
	const char *p[1] = {name};
	PGresult *res = conn_query(conn, exists ? expand_changes_sql : "SELECT WHERE false", exists ? 1 : 0,
							   exists ? p : NULL, err);
	free(exists);
	return res;
}

/* One line per row of expand_changes_read, indented by indent. */
static void
expand_changes_print(PGresult *res, const char *indent)
{
	for (int i = 0; i < PQntuples(res); i++)
	{
		long long n = atoll(PQgetvalue(res, i, 3)), u = atoll(PQgetvalue(res, i, 4));
		printf("%s%s shape %s: %lld row%s %s, %lld without an explicit old-version change (first keys: %s)\n",
			   indent, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1), n, n == 1 ? "" : "s",
			   PQgetvalue(res, i, 2), u, PQgetvalue(res, i, 5));
	}
}

/*
 * Before contract: shows what the sync deleted or overwrote, and refuses
 * (exit 3, naming the first keys) when it removed data of the new shape that
 * no explicit old-version change explains, unless --force.  Returns 0 to go
 * on, or -1 with err set.
 */
static int
expand_changes_check(expand_run *r, pgc_err *err)
{
	PGresult *res = expand_changes_read(r->conn, r->name, err);
	if (!res)
		return -1;
	if (PQntuples(res) == 0)
		printf("sync changes of %s: none recorded (the sync deleted or overwrote no row of either shape)\n", r->name);
	else
	{
		printf("sync changes of %s:\n", r->name);
		expand_changes_print(res, "  ");
	}
	fflush(stdout);
	buf_t d = {0};
	long long lost = 0;
	for (int i = 0; i < PQntuples(res); i++)
	{
		long long u = atoll(PQgetvalue(res, i, 4));
		if (strcmp(PQgetvalue(res, i, 0), "new") != 0 || u == 0)
			continue;
		lost += u;
		buf_printf(&d, "%s%s: %lld row%s %s, first keys: %s", d.len ? "\n" : "", PQgetvalue(res, i, 1), u,
				   u == 1 ? "" : "s", PQgetvalue(res, i, 2), PQgetvalue(res, i, 6));
	}
	PQclear(res);
	int rc = 0;
	if (lost > 0 && !r->force)
	{
		err_set(err, "refusing to contract: the sync triggers of \"%s\" removed data of the new shape "
				"that no old-version change explains", r->name);
		err_detail(err, "%s", d.data);
		err_hint(err, "Compare those rows with the application's own records; run complete with --force "
				 "to contract anyway.");
		err->exit_status = EXIT_DIFFERENT;
		rc = -1;
	}
	else if (lost > 0)
		log_warning("contracting with --force although the sync removed %lld row%s of the new shape "
					"that no old-version change explains", lost, lost == 1 ? "" : "s");
	buf_free(&d);
	return rc;
}

/* ------------------------------------------------------------- verbs */

static int
expand_start(expand_run *r, const char *file, json_t *spec, const char *checksum, pgc_err *err)
{
	int rc = -1;
	PGresult *row = NULL;
	r->name = xstrdup(expand_spec_str(spec, "name", ""));
	log_set_table(r->name);
	if (lockexec_run(r->conn, expand_state_ddl, &r->lock, err) != 0)
	{
		/* two first runs at once: the other one created it */
		if (strcmp(err->sqlstate, "23505") != 0)
			goto out;
		err_clear(err);
	}
	if (expand_lock(r, err) != 0)
		goto out;
	row = expand_read(r->conn, r->name, err);
	if (!row)
		goto out;
	const char *phase = PQntuples(row) ? PQgetvalue(row, 0, 0) : NULL;
	if (phase && strcmp(phase, "complete") == 0)
	{
		printf("expand/contract migration %s is already complete\n", r->name);
		rc = 0;
		goto out;
	}
	if (phase && (strcmp(phase, "contract") == 0 || strcmp(phase, "rollback") == 0))
	{
		err_set(err, "expand/contract migration \"%s\" is in phase %s", r->name, phase);
		err_hint(err, "Finish it with \"pgcarry schema %s %s\".",
				 strcmp(phase, "contract") == 0 ? "complete" : "rollback", r->name);
		goto out;
	}
	if (phase && strcmp(phase, "rolled back") != 0 && strcmp(PQgetvalue(row, 0, 3), checksum) != 0)
	{
		err_set(err, "migration file \"%s\" changed since \"%s\" was started", file, r->name);
		err_detail(err, "The plan stored at start is what runs; the file no longer matches it.");
		err_hint(err, "Restore the file, or roll the migration back with \"pgcarry schema rollback %s\" "
				 "and start again.", r->name);
		goto out;
	}
	if (!phase || strcmp(phase, "rolled back") == 0)
	{
		json_t *plan = expand_plan_build(r->conn, spec, err);
		if (!plan)
		{
			err_prefix(err, "migration file \"%s\": ", file);
			goto out;
		}
		char *plan_text = json_dumps(plan, JSON_COMPACT);
		json_decref(plan);
		const char *ip[4] = {r->name, checksum, file, plan_text};
		int irc = conn_exec_params(r->conn,
								   "INSERT INTO " EXPAND_PLAN_SCHEMA ".migrations (name, checksum, file, plan, phase) "
								   "VALUES ($1, $2, $3, $4, 'expand') ON CONFLICT (name) DO UPDATE SET "
								   "checksum = $2, file = $3, plan = $4, phase = 'expand', step = 0, "
								   "backfill_item = 0, last_key = NULL, end_key = NULL, rows_total = 0, "
								   "rows_done = 0, started_at = now(), started_by = current_user, "
								   "updated_at = now(), finished_at = NULL, verified_at = NULL, "
								   "verify_ok = NULL, verify_rows = NULL, verify_diffs = NULL, verify_report = NULL",
								   4, ip, err);
		free(plan_text);
		/* a migration started afresh counts the sync's changes afresh */
		const char *dp[1] = {r->name};
		if (irc != 0 || conn_exec_params(r->conn, "DELETE FROM " EXPAND_PLAN_SCHEMA ".sync_changes WHERE migration = $1",
										 1, dp, err) != 0)
			goto out;
		PQclear(row);
		row = expand_read(r->conn, r->name, err);
		if (!row)
			goto out;
		log_notice("starting expand/contract migration %s", r->name);
	}
	else
		log_notice("resuming expand/contract migration %s in phase %s", r->name, phase);
	json_error_t jerr;
	r->plan = json_loads(PQgetvalue(row, 0, 2), 0, &jerr);
	if (!r->plan)
	{
		err_set(err, "the stored plan of \"%s\" is unreadable", r->name);
		goto out;
	}
	char *ph = xstrdup(PQgetvalue(row, 0, 0));
	int step = atoi(PQgetvalue(row, 0, 1));
	int ok = 0;
	if (strcmp(ph, "expand") == 0)
	{
		if (expand_steps(r, "expand", step, err) != 0 || expand_set_phase(r, "backfill", err) != 0)
			goto phase_out;
		free(ph);
		ph = xstrdup("backfill");
		step = 0;
		PQclear(row);
		if (!(row = expand_read(r->conn, r->name, err)))
			goto phase_out;
	}
	if (strcmp(ph, "backfill") == 0)
	{
		if (expand_backfill(r, row, err) != 0 || expand_set_phase(r, "validate", err) != 0)
			goto phase_out;
		free(ph);
		ph = xstrdup("validate");
		step = 0;
	}
	if (strcmp(ph, "validate") == 0)
	{
		if (expand_steps(r, "validate", step, err) != 0 || expand_set_phase(r, "verify", err) != 0)
			goto phase_out;
		free(ph);
		ph = xstrdup("verify");
	}
	if (strcmp(ph, "verify") == 0 || strcmp(ph, "ready") == 0)
	{
		expand_verdict v;
		if (expand_verify(r, &v, err) != 0)
		{
			buf_free(&v.report);
			goto phase_out;
		}
		if (v.diffs > 0)
		{
			expand_set_phase(r, "verify", err);
			expand_verify_refuse(r, &v, "not ready", err);
			buf_free(&v.report);
			goto phase_out;
		}
		buf_free(&v.report);
		if (expand_set_phase(r, "ready", err) != 0)
			goto phase_out;
	}
	printf("expand/contract migration %s is ready: both shapes are in sync and verified\n"
		   "retire the old application version, then run: pgcarry schema complete %s\n", r->name, r->name);
	ok = 1;
phase_out:
	free(ph);
	rc = ok ? 0 : -1;
out:
	PQclear(row);
	return rc;
}

/* Loads the stored plan for complete/rollback; the argument is a name or a file. */
static PGresult *
expand_load_existing(expand_run *r, const char *arg, pgc_err *err)
{
	if (access(arg, F_OK) == 0)
	{
		char *checksum = NULL;
		json_t *spec = expand_spec_load(arg, &checksum, err);
		if (!spec)
			return NULL;
		r->name = xstrdup(expand_spec_str(spec, "name", ""));
		json_decref(spec);
		free(checksum);
	}
	else
		r->name = xstrdup(arg);
	log_set_table(r->name);
	char *exists = conn_query_value(r->conn, "SELECT to_regclass('" EXPAND_PLAN_SCHEMA ".migrations')::text",
									0, NULL, err);
	if (err->set)
		return NULL;
	PGresult *row = NULL;
	if (exists)
	{
		free(exists);
		if (expand_lock(r, err) != 0)
			return NULL;
		row = expand_read(r->conn, r->name, err);
		if (!row)
			return NULL;
	}
	if (!row || PQntuples(row) == 0)
	{
		PQclear(row);
		err_set(err, "no expand/contract migration named \"%s\" was started on this database", r->name);
		err_hint(err, "Start it with \"pgcarry schema start FILE\"; \"pgcarry schema status\" lists them.");
		return NULL;
	}
	json_error_t jerr;
	r->plan = json_loads(PQgetvalue(row, 0, 2), 0, &jerr);
	if (!r->plan)
	{
		PQclear(row);
		err_set(err, "the stored plan of \"%s\" is unreadable", r->name);
		return NULL;
	}
	return row;
}

/*
 * Runs the steps of phase to its end and records the phase final.  current
 * is the recorded phase: when it is phase already (an interrupted run), the
 * steps continue from step; otherwise phase is recorded first and its steps
 * run from the first.  Returns 0, or -1 with err set (each finished step is
 * recorded, so running the command again continues).
 */
static int
expand_run_phase(expand_run *r, const char *current, const char *phase, int step, const char *final,
				 pgc_err *err)
{
	if (strcmp(current, phase) != 0)
	{
		if (expand_set_phase(r, phase, err) != 0)
			return -1;
		step = 0;
	}
	if (expand_steps(r, phase, step, err) != 0)
		return -1;
	return expand_set_phase(r, final, err);
}

/*
 * Before complete's contract: only a migration that was verified (ready),
 * failed a verification (verify) or stopped in contract may go on; unless it
 * is continuing its contract, it is verified again, and any difference
 * refuses the contract (listing the rows).  Returns 0 to go on, or -1 with
 * err set.
 */
static int
expand_before_contract(expand_run *r, const char *phase, pgc_err *err)
{
	if (strcmp(phase, "ready") != 0 && strcmp(phase, "verify") != 0 && strcmp(phase, "contract") != 0)
	{
		err_set(err, "expand/contract migration \"%s\" is not ready to complete: it is in phase %s",
				r->name, phase);
		if (strcmp(phase, "rollback") == 0 || strcmp(phase, "rolled back") == 0)
			err_hint(err, "It was rolled back; start it again with \"pgcarry schema start FILE\".");
		else
			err_hint(err, "Finish the expand phase first: run \"pgcarry schema start FILE\" again.");
		return -1;
	}
	if (strcmp(phase, "contract") == 0)
		return 0;
	expand_verdict v;
	int rc = expand_verify(r, &v, err);
	if (rc == 0 && v.diffs == 0)
		rc = expand_changes_check(r, err);
	if (rc == 0 && v.diffs > 0)
	{
		pgc_err e2 = PGC_ERR_INIT;
		expand_set_phase(r, "verify", &e2);
		err_clear(&e2);
		expand_verify_refuse(r, &v, "refusing to contract", err);
		rc = -1;
	}
	buf_free(&v.report);
	return rc;
}

/*
 * Before rollback: refused once contract began; unless it is continuing a
 * rollback (or --force is given), refused when rows exist only in the new
 * shape, which the old one cannot hold.  Returns 0 to go on, or -1 with err
 * set.
 */
static int
expand_before_rollback(expand_run *r, const char *phase, pgc_err *err)
{
	if (strcmp(phase, "contract") == 0 || strcmp(phase, "complete") == 0)
	{
		err_set(err, "cannot roll back expand/contract migration \"%s\": it is in phase %s", r->name, phase);
		err_detail(err, "Contract drops the old shape; what it dropped cannot be brought back by pgcarry.");
		err_hint(err, "%s", strcmp(phase, "contract") == 0
				 ? "Finish it with \"pgcarry schema complete\"."
				 : "Write a new migration for the change you want.");
		return -1;
	}
	const char *loss = expand_spec_str(r->plan, "loss_sql", NULL);
	if (strcmp(phase, "rollback") == 0 || !loss || r->force)
		return 0;
	char *n = conn_query_value(r->conn, loss, 0, NULL, err);
	int rc = 0;
	if (err->set)
		err_clear(err);		/* the new table may not exist yet: nothing to lose */
	else if (n && strcmp(n, "0") != 0)
	{
		int one = strcmp(n, "1") == 0;
		err_set(err, "rollback of \"%s\" would lose %s row%s that exist%s only in the new shape",
				r->name, n, one ? "" : "s", one ? "s" : "");
		err_detail(err, "The new application version wrote them; the old shape cannot hold them.");
		err_hint(err, "Run rollback with --force to drop them anyway.");
		rc = -1;
	}
	free(n);
	return rc;
}

/* How complete and rollback end a migration: the phase whose steps they
 * run, the phase recorded at the end, the check made before, and what they
 * print. */
typedef struct expand_ending
{
	const char *phase;
	const char *final;
	int			(*before) (expand_run *r, const char *phase, pgc_err *err);
	const char *done;			/* printf format, with the migration's name */
} expand_ending;

static const expand_ending expand_complete_ending = {
	"contract", "complete", expand_before_contract,
	"expand/contract migration %s is complete: the old shape is gone and its data verified in the new\n"
};

static const expand_ending expand_rollback_ending = {
	"rollback", "rolled back", expand_before_rollback,
	"expand/contract migration %s is rolled back: what start added is gone, the old shape was never touched\n"
};

/*
 * complete or rollback (as e says) of the migration named by arg (a name or
 * its file): harmless when it already ended that way; otherwise e->before
 * decides, then the steps run (continuing an interrupted run).  Returns 0,
 * or -1 with err set.
 */
static int
expand_end(expand_run *r, const char *arg, const expand_ending *e, pgc_err *err)
{
	PGresult *row = expand_load_existing(r, arg, err);
	if (!row)
		return -1;
	int rc = -1;
	const char *phase = PQgetvalue(row, 0, 0);
	int step = atoi(PQgetvalue(row, 0, 1));
	if (strcmp(phase, e->final) == 0)
	{
		printf("expand/contract migration %s is already %s\n", r->name, e->final);
		rc = 0;
	}
	else if (e->before(r, phase, err) == 0 && expand_run_phase(r, phase, e->phase, step, e->final, err) == 0)
	{
		printf(e->done, r->name);
		rc = 0;
	}
	PQclear(row);
	return rc;
}

/* Parses a duration as "pgcarry schema" does ("2s", "500ms", "1min", "3" =
 * 3 s) into ms; returns 0 or EXIT_USAGE after printing a message. */
static int
expand_parse_duration(const char *cmd, const char *option, const char *arg, int *out_ms)
{
	char *end = NULL;
	errno = 0;
	double v = strtod(arg, &end);
	double mult = 1000;
	if (end && *end)
		mult = strcmp(end, "ms") == 0 ? 1 : strcmp(end, "s") == 0 ? 1000 : strcmp(end, "min") == 0 ? 60000 : -1;
	if (errno != 0 || end == arg || mult < 0 || v < 0 || v * mult > 86400000.0)
		return cli_usage_error(cmd, "%s must be a duration such as 2s, 500ms or 1min, not \"%s\"", option, arg);
	*out_ms = (int) (v * mult);
	return 0;
}

/* Server notices ("... does not exist, skipping") are for --verbose only. */
static void
expand_notice(void *arg, const char *message)
{
	(void) arg;
	size_t n = strlen(message);
	while (n > 0 && message[n - 1] == '\n')
		n--;
	log_info("server: %.*s", (int) n, message);
}

int
expand_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"target", required_argument, NULL, EXPAND_OPT_TARGET},
		{"batch-size", required_argument, NULL, EXPAND_OPT_BATCH_SIZE},
		{"pause", required_argument, NULL, EXPAND_OPT_PAUSE},
		{"lock-timeout", required_argument, NULL, EXPAND_OPT_LOCK_TIMEOUT},
		{"statement-timeout", required_argument, NULL, EXPAND_OPT_STATEMENT_TIMEOUT},
		{"retry-budget", required_argument, NULL, EXPAND_OPT_RETRY_BUDGET},
		{"force", no_argument, NULL, EXPAND_OPT_FORCE},
		CLI_COMMON_LONGOPTS,
		{NULL, 0, NULL, 0}
	};
	const char *verb = argv[0];
	char cmd[64];
	snprintf(cmd, sizeof cmd, "schema %s", verb);
	expand_run r;
	memset(&r, 0, sizeof r);
	r.verb = verb;
	r.batch_size = 1000;
	lockexec_defaults(&r.lock);
	const char *target_arg = NULL;
	int iv;
	int opt;
	optind = 1;
	while ((opt = getopt_long(argc, argv, ":" CLI_COMMON_SHORTOPTS, longopts, NULL)) != -1)
	{
		switch (opt)
		{
			case EXPAND_OPT_TARGET:
				target_arg = optarg;
				break;
			case EXPAND_OPT_BATCH_SIZE:
				if (cli_parse_int(cmd, "--batch-size", optarg, 1, 1000000, &r.batch_size) != 0)
					return EXIT_USAGE;
				break;
			case EXPAND_OPT_PAUSE:
				if (expand_parse_duration(cmd, "--pause", optarg, &iv) != 0)
					return EXIT_USAGE;
				r.pause_ms = iv;
				break;
			case EXPAND_OPT_LOCK_TIMEOUT:
				if (expand_parse_duration(cmd, "--lock-timeout", optarg, &r.lock.lock_timeout_ms) != 0)
					return EXIT_USAGE;
				if (r.lock.lock_timeout_ms == 0)
					return cli_usage_error(cmd, "--lock-timeout must be more than 0: without it the "
										   "application's queries could queue behind pgcarry without limit");
				break;
			case EXPAND_OPT_STATEMENT_TIMEOUT:
				if (expand_parse_duration(cmd, "--statement-timeout", optarg, &r.lock.statement_timeout_ms) != 0)
					return EXIT_USAGE;
				break;
			case EXPAND_OPT_RETRY_BUDGET:
				if (expand_parse_duration(cmd, "--retry-budget", optarg, &r.lock.budget_ms) != 0)
					return EXIT_USAGE;
				break;
			case EXPAND_OPT_FORCE:
				r.force = 1;
				break;
			default:
			{
				int c = cli_other_option(cmd, opt, argv);
				if (c < 0)
				{
					expand_help(verb);
					return EXIT_OK;
				}
				if (c != 0)
					return c;
			}
		}
	}
	int is_start = strcmp(verb, "start") == 0;
	if (optind >= argc)
		return cli_usage_error(cmd, is_start ? "give the migration file" : "give the migration's name or file");
	if (optind + 1 < argc)
		return cli_usage_error(cmd, "unexpected argument \"%s\"", argv[optind + 1]);
	if (r.force && is_start)
		return cli_usage_error(cmd, "--force applies to complete and rollback only");
	const char *target = NULL;
	int rc = cli_resolve_conn(cmd, "--target", target_arg, "PGCARRY_TARGET", true, &target);
	if (rc != 0)
		return rc;

	pgc_err err = PGC_ERR_INIT;
	/* A malformed file is refused before any connection is made. */
	char *checksum = NULL;
	json_t *spec = is_start ? expand_spec_load(argv[optind], &checksum, &err) : NULL;
	r.conn = is_start && !spec ? NULL : conn_open(target, NULL, "target", &err);
	if (r.conn)
	{
		PQsetNoticeProcessor(r.conn, expand_notice, NULL);
		/* Batches are short, index-driven statements: JIT compiling them
		 * costs more than it saves.  This session only. */
		pgc_err jerr = PGC_ERR_INIT;
		if (conn_exec(r.conn, "SET jit = off", &jerr) != 0)
			err_clear(&jerr);
		int frc;
		if (is_start)
			frc = expand_start(&r, argv[optind], spec, checksum, &err);
		else if (strcmp(verb, "complete") == 0)
			frc = expand_end(&r, argv[optind], &expand_complete_ending, &err);
		else
			frc = expand_end(&r, argv[optind], &expand_rollback_ending, &err);
		rc = frc == 0 ? EXIT_OK : EXIT_FAIL;
	}
	else
		rc = EXIT_FAIL;
	if (err.set)
	{
		err_report(&err);
		if (err.exit_status)
			rc = err.exit_status;
	}
	log_set_table(NULL);
	err_clear(&err);
	json_decref(spec);
	free(checksum);
	conn_close(r.conn);
	json_decref(r.plan);
	free(r.name);
	return rc;
}

/* ------------------------------------------------------------- status */

int
expand_status_show(PGconn *conn, json_t *json_out, pgc_err *err)
{
	char *exists = conn_query_value(conn, "SELECT to_regclass('" EXPAND_PLAN_SCHEMA ".migrations')::text",
									0, NULL, err);
	if (err->set)
		return -1;
	if (!exists)
	{
		if (json_out)
			json_object_set_new(json_out, "expand", json_array());
		return 0;
	}
	free(exists);
	PGresult *res = conn_query(conn,
							   "SELECT name, phase, rows_done, rows_total, backfill_item, "
							   "json_array_length((plan::json)->'backfill'), "
							   "to_char(started_at, 'YYYY-MM-DD HH24:MI:SS TZ'), started_by, "
							   "to_char(verified_at, 'YYYY-MM-DD HH24:MI:SS TZ'), verify_ok, verify_rows, "
							   "verify_diffs, coalesce(verify_report, ''), "
							   "to_char(finished_at, 'YYYY-MM-DD HH24:MI:SS TZ'), last_key "
							   "FROM " EXPAND_PLAN_SCHEMA ".migrations ORDER BY started_at, name",
							   0, NULL, err);
	if (!res)
		return -1;
	json_t *arr = json_out ? json_array() : NULL;
	if (!json_out && PQntuples(res) > 0)
		printf("\nexpand/contract migrations:\n");
	for (int i = 0; i < PQntuples(res); i++)
	{
		const char *name = PQgetvalue(res, i, 0), *phase = PQgetvalue(res, i, 1);
		long long done = atoll(PQgetvalue(res, i, 2)), total = atoll(PQgetvalue(res, i, 3));
		int item = atoi(PQgetvalue(res, i, 4)), items = atoi(PQgetvalue(res, i, 5));
		int verified = !PQgetisnull(res, i, 8);
		PGresult *ch = expand_changes_read(conn, name, err);
		if (!ch)
		{
			PQclear(res);
			json_decref(arr);
			return -1;
		}
		if (arr)
		{
			json_t *o = json_object();
			json_object_set_new(o, "name", json_string(name));
			json_object_set_new(o, "phase", json_string(phase));
			json_object_set_new(o, "started_at", json_string(PQgetvalue(res, i, 6)));
			json_object_set_new(o, "started_by", json_string(PQgetvalue(res, i, 7)));
			json_t *bf = json_object();
			json_object_set_new(bf, "item", json_integer(item));
			json_object_set_new(bf, "items", json_integer(items));
			json_object_set_new(bf, "rows_done", json_integer(done));
			json_object_set_new(bf, "rows_total", json_integer(total));
			json_object_set_new(bf, "last_key", PQgetisnull(res, i, 14) ? json_null()
								: json_string(PQgetvalue(res, i, 14)));
			json_object_set_new(o, "backfill", bf);
			if (verified)
			{
				json_t *vj = json_object();
				json_object_set_new(vj, "at", json_string(PQgetvalue(res, i, 8)));
				json_object_set_new(vj, "ok", json_boolean(PQgetvalue(res, i, 9)[0] == 't'));
				json_object_set_new(vj, "rows", json_integer(atoll(PQgetvalue(res, i, 10))));
				json_object_set_new(vj, "differences", json_integer(atoll(PQgetvalue(res, i, 11))));
				json_object_set_new(vj, "report", json_string(PQgetvalue(res, i, 12)));
				json_object_set_new(o, "verification", vj);
			}
			else
				json_object_set_new(o, "verification", json_null());
			json_t *cj = json_array();
			for (int c = 0; c < PQntuples(ch); c++)
			{
				json_t *x = json_object();
				json_object_set_new(x, "shape", json_string(PQgetvalue(ch, c, 0)));
				json_object_set_new(x, "relation", json_string(PQgetvalue(ch, c, 1)));
				json_object_set_new(x, "action", json_string(PQgetvalue(ch, c, 2)));
				json_object_set_new(x, "rows", json_integer(atoll(PQgetvalue(ch, c, 3))));
				json_object_set_new(x, "unexplained", json_integer(atoll(PQgetvalue(ch, c, 4))));
				json_object_set_new(x, "first_keys", json_string(PQgetvalue(ch, c, 5)));
				json_array_append_new(cj, x);
			}
			json_object_set_new(o, "sync_changes", cj);
			PQclear(ch);
			json_array_append_new(arr, o);
			continue;
		}
		printf("  %-30s phase %s", name, phase);
		if (!PQgetisnull(res, i, 13))
			printf(" (since %s)", PQgetvalue(res, i, 13));
		printf("\n    started %s by %s\n", PQgetvalue(res, i, 6), PQgetvalue(res, i, 7));
		if (strcmp(phase, "backfill") == 0)
			printf("    backfill item %d of %d: %lld/%lld rows (%.0f%%)\n", item + 1, items, done, total,
				   total ? 100.0 * (double) done / (double) total : 0.0);
		else if (items > 0)
			printf("    backfill %s\n", item >= items ? "done" : "not started");
		if (verified)
			printf("    last verification %s: %s rows compared, %s difference(s)%s\n", PQgetvalue(res, i, 8),
				   PQgetvalue(res, i, 10), PQgetvalue(res, i, 11),
				   PQgetvalue(res, i, 9)[0] == 't' ? "" : " - not ready");
		else
			printf("    not verified yet\n");
		if (PQntuples(ch) == 0)
			printf("    sync changes: none\n");
		else
		{
			printf("    sync changes:\n");
			expand_changes_print(ch, "      ");
		}
		PQclear(ch);
	}
	PQclear(res);
	if (arr)
		json_object_set_new(json_out, "expand", arr);
	return 0;
}
