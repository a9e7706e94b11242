/*
 * migrate.c: the versioned-migration runner (see migrate.h).
 *
 * How it works (up; down is the mirror image):
 *   take the advisory lock (poll pg_try_advisory_lock until --lock-wait)
 *   create the history tables if missing; read the history
 *   refuse on drift, and on a migration left half done in the other direction
 *   pick the pending files (up to --to); lint them all; refuse on findings
 *   for each file:
 *     cut its statements into steps: a run of statements that can share a
 *       transaction is one step; a statement that cannot (CREATE INDEX
 *       CONCURRENTLY, VACUUM, ...) is a step of its own
 *     skip the steps pgcarry_schema.steps records as done (checksums must
 *       match: the file may not change under a half-done migration)
 *     transactional step: lockexec_run_tx, which writes the step row (or,
 *       for the last step, the history row and the removal of the step rows)
 *       in the same transaction
 *     other step: lockexec_run_autocommit, then its step row; a rerun finds
 *       a CREATE INDEX CONCURRENTLY's index valid (done) or invalid (dropped
 *       and rebuilt by lockexec), a DROP INDEX CONCURRENTLY's index gone
 *   release the lock.
 * A crash anywhere leaves either a committed step or nothing of it, and the
 * next run continues from the steps table: there is no "dirty" flag.
 */
#include "schema/migrate.h"

#include "cleanup.h"
#include "conn.h"
#include "schema/lint.h"
#include "schema/sqlparse.h"
#include "util/monotime.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/xalloc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The runner lock: pg_try_advisory_lock(MIGRATE_LOCK_K1, MIGRATE_LOCK_K2). */
#define MIGRATE_LOCK_K1 1885823859	/* "pgcs" */
#define MIGRATE_LOCK_K2 1

static const char migrate_try_lock_sql[] = "SELECT pg_try_advisory_lock($1::int, $2::int)";
static const char migrate_unlock_sql[] = "SELECT pg_advisory_unlock($1::int, $2::int)";

static const char migrate_holder_sql[] =
	"SELECT a.pid, coalesce(nullif(a.application_name, ''), 'unnamed'), "
	"       coalesce(a.usename::text, '?'), "
	"       to_char(a.backend_start AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS\"Z\"'), "
	"       coalesce(a.state, 'unknown'), "
	"       left(regexp_replace(coalesce(a.query, ''), '\\s+', ' ', 'g'), 120) "
	"FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
	"WHERE l.locktype = 'advisory' AND l.granted "
	"  AND l.classid = $1::int::oid AND l.objid = $2::int::oid AND l.objsubid = 2 "
	"  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())";

/* ------------------------------------------------------------------------
 * One runner at a time
 * ------------------------------------------------------------------------ */

int
migrate_lock(PGconn *conn, int wait_ms, pgc_err *err)
{
	char k1[16], k2[16];
	snprintf(k1, sizeof k1, "%d", MIGRATE_LOCK_K1);
	snprintf(k2, sizeof k2, "%d", MIGRATE_LOCK_K2);
	const char *p[2] = {k1, k2};
	int64_t deadline = monotime_now_ms() + wait_ms;
	bool said = false;
	for (;;)
	{
		char *got = conn_query_value(conn, migrate_try_lock_sql, 2, p, err);
		if (!got)
		{
			err_prefix(err, "could not take the migration lock: ");
			return -1;
		}
		bool ok = got[0] == 't';
		free(got);
		if (ok)
		{
			/* Say who we are and since when, for a second runner's message. */
			time_t now = time(NULL);
			struct tm tm;
			char app[64], ts[32];
			gmtime_r(&now, &tm);
			strftime(ts, sizeof ts, "%Y-%m-%d %H:%M:%SZ", &tm);
			snprintf(app, sizeof app, "pgcarry schema (lock since %s)", ts);
			const char *ap[1] = {app};
			PGresult *r = conn_query(conn, "SELECT set_config('application_name', $1, false)", 1, ap, err);
			PQclear(r);
			err_clear(err);
			return 0;
		}
		if (cleanup_interrupted() || monotime_now_ms() >= deadline)
			break;
		if (!said)
		{
			log_notice("another pgcarry schema run holds the migration lock; waiting up to %d s",
					   wait_ms / 1000);
			said = true;
		}
		struct timespec ts = {.tv_sec = 0, .tv_nsec = 250 * 1000000L};
		nanosleep(&ts, NULL);
	}
	PGresult *r = conn_query(conn, migrate_holder_sql, 2, p, err);
	err_set(err, "another pgcarry schema run holds the migration lock on this database");
	if (r && PQntuples(r) > 0)
		err_detail(err, "Held by pid %s (application \"%s\", user %s, connected since %s, %s: %s).",
				   PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1), PQgetvalue(r, 0, 2), PQgetvalue(r, 0, 3),
				   PQgetvalue(r, 0, 4), PQgetvalue(r, 0, 5));
	err_hint(err, "Wait for that run to finish, or give --lock-wait more seconds; if that process is gone, "
			 "the lock goes with its session (SELECT pg_terminate_backend(pid) ends it).");
	PQclear(r);
	return -1;
}

void
migrate_unlock(PGconn *conn)
{
	char k1[16], k2[16];
	snprintf(k1, sizeof k1, "%d", MIGRATE_LOCK_K1);
	snprintf(k2, sizeof k2, "%d", MIGRATE_LOCK_K2);
	const char *p[2] = {k1, k2};
	pgc_err e = PGC_ERR_INIT;
	PGresult *r = conn_query(conn, migrate_unlock_sql, 2, p, &e);
	PQclear(r);
	err_clear(&e);
}

/* ------------------------------------------------------------------------
 * Lint before running
 * ------------------------------------------------------------------------ */

static const char migrate_not_null_check_sql[] =
	"SELECT c.conname FROM pg_constraint c "
	"WHERE c.conrelid = to_regclass($1) AND c.contype = 'c' AND c.convalidated "
	"  AND cardinality(c.conkey) = 1 "
	"  AND c.conkey[1] = (SELECT a.attnum FROM pg_attribute a "
	"                     WHERE a.attrelid = c.conrelid AND a.attname = $2 AND NOT a.attisdropped) "
	"  AND pg_get_constraintdef(c.oid) ~ '^CHECK \\(\\(?[^()]* IS NOT NULL\\)?\\)$' "
	"  AND pg_get_constraintdef(c.oid) !~* '( OR | AND )' "
	"LIMIT 1";

static const char migrate_already_not_null_sql[] =
	"SELECT a.attnotnull FROM pg_attribute a "
	"WHERE a.attrelid = to_regclass($1) AND a.attname = $2 AND NOT a.attisdropped";

const char *
migrate_not_null_proven(PGconn *conn, const lint_finding *f)
{
	if (!conn || strcmp(f->rule, "set-not-null") != 0 || !f->table || !f->column)
		return NULL;
	char *col = lint_ident_norm(f->column);
	const char *p[2] = {f->table, col};
	pgc_err e = PGC_ERR_INIT;
	const char *why = NULL;
	char *already = conn_query_value(conn, migrate_already_not_null_sql, 2, p, &e);
	err_clear(&e);
	if (already && already[0] == 't')
	{
		why = "the column is already NOT NULL";
		log_info("SET NOT NULL on %s.%s changes nothing: the column is already NOT NULL", f->table, f->column);
	}
	free(already);
	char *name = why ? NULL : conn_query_value(conn, migrate_not_null_check_sql, 2, p, &e);
	err_clear(&e);
	free(col);
	if (name)
	{
		why = "a validated CHECK (col IS NOT NULL) exists";
		log_info("SET NOT NULL on %s.%s uses the validated constraint %s, so it does not scan the table",
				 f->table, f->column, name);
	}
	free(name);
	return why;
}

size_t
migrate_lint_report(PGconn *conn, const migfile *const *files, size_t n, bool down)
{
	lint_state *st = lint_create();
	size_t bad = 0;
	for (size_t i = 0; i < n; i++)
	{
		const migfile *f = files[i];
		const sqlparse_list *l = down ? &f->down : &f->up;
		lint_begin_file(st);
		lint_clear_findings(st);
		for (size_t k = 0; k < l->n; k++)
			lint_statement(st, &l->items[k]);
		size_t nf;
		const lint_finding *fs = lint_findings(st, &nf);
		for (size_t k = 0; k < nf; k++)
		{
			if (!fs[k].acknowledged && migrate_not_null_proven(conn, &fs[k]))
				continue;
			char *m = xasprintf("%s:%d: %s: %s%s", f->file, fs[k].line, fs[k].rule, fs[k].message,
								fs[k].acknowledged ? " (acknowledged)" : "");
			char *h = xasprintf("Instead, %s; or acknowledge it with a comment \"-- pgcarry:allow %s reason\" "
								"before the statement.", fs[k].advice, fs[k].rule);
			log_report(fs[k].acknowledged ? LOG_INFO : LOG_WARNING, m, NULL, fs[k].acknowledged ? NULL : h);
			free(m);
			free(h);
			if (!fs[k].acknowledged)
				bad++;
		}
	}
	lint_destroy(st);
	return bad;
}

/* ------------------------------------------------------------------------
 * Steps
 * ------------------------------------------------------------------------ */

typedef struct migrate_step
{
	bool		no_tx;
	char	   *sql;			/* statements joined with ";\n" */
	char	   *checksum;
	const char *kind;			/* for no_tx steps: the statement kind */
	bool		weak_lock;		/* no_tx step that only takes SHARE UPDATE EXCLUSIVE */
	const char **stmts;			/* its statements (owned by the migfile) */
	int		   *lines;			/* and their lines in the file */
	size_t		nstmts;
} migrate_step;

typedef struct migrate_steps
{
	migrate_step *items;
	size_t		n;
} migrate_steps;

static void
migrate_steps_free(migrate_steps *s)
{
	for (size_t i = 0; i < s->n; i++)
	{
		free(s->items[i].sql);
		free(s->items[i].checksum);
		free(s->items[i].stmts);
		free(s->items[i].lines);
	}
	free(s->items);
	s->items = NULL;
	s->n = 0;
}

static void
migrate_build_steps(const sqlparse_list *l, migrate_steps *out)
{
	out->items = NULL;
	out->n = 0;
	buf_t cur = {0};
	size_t first = 0;			/* first statement of the current transactional run */
	for (size_t i = 0; i <= l->n; i++)
	{
		lint_info info = {0};
		bool no_tx = false;
		if (i < l->n)
		{
			lint_classify(&l->items[i], &info);
			no_tx = info.no_tx;
		}
		if ((i == l->n || no_tx) && cur.len > 0)
		{
			out->items = xrealloc(out->items, (out->n + 1) * sizeof *out->items);
			migrate_step st = {
				.no_tx = false, .sql = xstrdup(cur.data),
				.checksum = migfile_sha256_hex(cur.data, cur.len), .kind = "transaction"
			};
			st.nstmts = i - first;
			st.stmts = xcalloc(st.nstmts, sizeof *st.stmts);
			st.lines = xcalloc(st.nstmts, sizeof *st.lines);
			for (size_t k = 0; k < st.nstmts; k++)
			{
				st.stmts[k] = l->items[first + k].sql;
				st.lines[k] = l->items[first + k].line;
			}
			out->items[out->n++] = st;
			buf_reset(&cur);
		}
		if (i < l->n)
		{
			if (no_tx)
			{
				const char *sql = l->items[i].sql;
				out->items = xrealloc(out->items, (out->n + 1) * sizeof *out->items);
				migrate_step st = {
					.no_tx = true, .sql = xstrdup(sql),
					.checksum = migfile_sha256_hex(sql, strlen(sql)), .kind = info.kind,
					.weak_lock = strcmp(info.lock, "SHARE UPDATE EXCLUSIVE") == 0
				};
				st.nstmts = 1;
				st.stmts = xcalloc(1, sizeof *st.stmts);
				st.lines = xcalloc(1, sizeof *st.lines);
				st.stmts[0] = sql;
				st.lines[0] = l->items[i].line;
				out->items[out->n++] = st;
				first = i + 1;
			}
			else
			{
				if (cur.len == 0)
					first = i;
				buf_printf(&cur, "%s%s", cur.len ? ";\n" : "", l->items[i].sql);
			}
		}
		lint_info_free(&info);
	}
	buf_free(&cur);
}

/* What the transaction callback writes. */
typedef struct migrate_tx
{
	const migfile *f;
	bool		up;
	int			step;			/* 1-based number of this step */
	const char *step_checksum;
	bool		record_step;	/* write a steps row for this step */
	bool		finish;			/* last step: history row, steps removed */
	const char *chain;			/* up: the new chain */
	long long	seq;			/* up: the new seq */
	int64_t		started;
} migrate_tx;

static int
migrate_tx_write(PGconn *conn, void *ctx, pgc_err *err)
{
	migrate_tx *t = ctx;
	const char *dir = t->up ? "up" : "down";
	if (t->record_step && !t->finish)
	{
		char step[16];
		snprintf(step, sizeof step, "%d", t->step);
		const char *p[4] = {t->f->version, dir, step, t->step_checksum};
		if (conn_exec_params(conn, "INSERT INTO " HISTORY_SCHEMA ".steps (version, direction, step, checksum) "
							 "VALUES ($1, $2, $3::int, $4)", 4, p, err) != 0)
			return -1;
	}
	if (!t->finish)
		return 0;
	const char *pv[1] = {t->f->version};
	if (conn_exec_params(conn, "DELETE FROM " HISTORY_SCHEMA ".steps WHERE version = $1", 1, pv, err) != 0)
		return -1;
	if (!t->up)
		return conn_exec_params(conn, "DELETE FROM " HISTORY_SCHEMA ".migrations WHERE version = $1", 1, pv, err);
	char dur[32], seq[32];
	snprintf(dur, sizeof dur, "%lld", (long long) (monotime_now_ms() - t->started));
	snprintf(seq, sizeof seq, "%lld", t->seq);
	const char *p[6] = {t->f->version, t->f->name, t->f->checksum, t->chain, dur, seq};
	return conn_exec_params(conn, "INSERT INTO " HISTORY_SCHEMA ".migrations "
							"(version, name, checksum, chain, duration_ms, seq) "
							"VALUES ($1, $2, $3, $4, $5::bigint, $6::bigint)", 6, p, err);
}

/* The checksums of the steps already done for f in this direction:
 * fills done[] (index step-1) with strdup'ed checksums; returns the count
 * of rows, -1 on error. */
static int
migrate_done_steps(PGconn *conn, const migfile *f, bool up, char ***done, size_t *ndone, pgc_err *err)
{
	const char *p[2] = {f->version, up ? "up" : "down"};
	PGresult *r = conn_query(conn, "SELECT step, checksum FROM " HISTORY_SCHEMA ".steps "
							 "WHERE version = $1 AND direction = $2 ORDER BY step", 2, p, err);
	*done = NULL;
	*ndone = 0;
	if (!r)
		return -1;
	int n = PQntuples(r);
	for (int i = 0; i < n; i++)
	{
		int step = atoi(PQgetvalue(r, i, 0));
		if (step < 1 || step > 100000)
			continue;
		if ((size_t) step > *ndone)
		{
			*done = xrealloc(*done, (size_t) step * sizeof **done);
			for (size_t k = *ndone; k < (size_t) step; k++)
				(*done)[k] = NULL;
			*ndone = (size_t) step;
		}
		(*done)[step - 1] = xstrdup(PQgetvalue(r, i, 1));
	}
	PQclear(r);
	return n;
}

/* For a step outside a transaction that a crashed run may have finished
 * without recording: true when its effect is already there. */
static bool
migrate_step_already_done(PGconn *conn, const migrate_step *s, pgc_err *err)
{
	if (strcmp(s->kind, "CREATE INDEX CONCURRENTLY") == 0)
	{
		lockexec_index_state st;
		if (lockexec_index_check(conn, s->sql, &st, err) != 0)
			return false;
		if (st == LOCKEXEC_INDEX_VALID)
		{
			log_notice("the index of \"%s\" already exists and is valid (an interrupted run built it); "
					   "step counted as done", s->sql);
			return true;
		}
	}
	return false;
}

/*
 * Completes err for a statement of step s that failed (stmt: its index in
 * the step, SIZE_MAX when the failure was not a statement's): the SQLSTATE
 * in the message; in the detail, the statement's line with a caret under
 * the place the server points at (or under its start), and what was rolled
 * back.
 */
static void
migrate_explain_failure(pgc_err *err, const migfile *f, bool up, const migrate_step *s, size_t stmt,
						bool multi)
{
	if (!err->set || stmt >= s->nstmts)
		return;
	if (err->sqlstate[0])
	{
		char *m = xasprintf("%s (SQLSTATE %s)", err->message, err->sqlstate);
		free(err->message);
		err->message = m;
	}
	const char *sql = s->stmts[stmt];
	size_t len = strlen(sql);
	size_t pos = err->position > 0 ? sqlparse_char_offset(sql, len, err->position) : 0;
	char *caret = sqlparse_caret(sql, len, pos, s->lines[stmt]);
	const char *what;
	if (s->no_tx)
		what = "It runs outside a transaction, so nothing of it could be rolled back; the next run starts again "
			"from this statement.";
	else if (multi)
		what = "The transaction of this step was rolled back; the steps before it stay committed and recorded.";
	else
		what = NULL;
	char *d = xasprintf("%s%s%s:\n%s\n%s%s%s", err->detail ? err->detail : "", err->detail ? "\n" : "",
						err->position > 0 ? "Where the server points" : "The statement", caret,
						what ? what : "The migration's transaction was rolled back: nothing of ",
						what ? "" : f->file, what ? "" : (up ? " was applied." : " was undone."));
	err_detail(err, "%s", d);
	free(d);
	free(caret);
}

/* Runs f's up or down section.  chain/seq: for up, the history row. */
static int
migrate_run_file(PGconn *conn, const migfile *f, bool up, const migrate_opts *o, const char *chain,
				 long long seq, pgc_err *err)
{
	migrate_steps steps;
	migrate_build_steps(up ? &f->up : &f->down, &steps);
	char **done = NULL;
	size_t ndone = 0;
	int rc = -1;
	if (migrate_done_steps(conn, f, up, &done, &ndone, err) < 0)
		goto out;
	for (size_t i = 0; i < ndone; i++)
		if (done[i] && (i >= steps.n || strcmp(done[i], steps.items[i].checksum) != 0))
		{
			err_set(err, "migration %s was interrupted after step %zu of %s, and its file has changed since",
					f->file, i + 1, up ? "up" : "down");
			err_detail(err, "Steps that already ran are recorded in " HISTORY_SCHEMA ".steps; running the "
					   "changed file could apply a statement twice or skip one.");
			err_hint(err, "Restore the file as it was when the run stopped (for example with git) and run "
					 "again; pgcarry continues from the next step.");
			goto out;
		}
	int64_t started = monotime_now_ms();
	bool multi = steps.n > 1;
	int fail_line = 0;			/* line of the statement that failed, when known */
	size_t fail_step = 0;		/* the step that failed */
	size_t fail_stmt = SIZE_MAX;	/* its statement that failed, when known */
	log_notice("%s %s (%zu statement%s%s)", up ? "applying" : "rolling back", f->file,
			   up ? f->up.n : f->down.n, (up ? f->up.n : f->down.n) == 1 ? "" : "s",
			   multi ? ", in steps: some statements cannot run in a transaction" : "");
	for (size_t i = 0; i < steps.n; i++)
	{
		migrate_step *s = &steps.items[i];
		bool last = i + 1 == steps.n;
		fail_step = i;
		migrate_tx t = {
			.f = f, .up = up, .step = (int) i + 1, .step_checksum = s->checksum,
			.record_step = multi, .finish = last, .chain = chain, .seq = seq, .started = started
		};
		if (i < ndone && done[i])
		{
			log_notice("step %zu of %zu already done by an interrupted run; skipping it", i + 1, steps.n);
			if (last && lockexec_run_tx_list(conn, NULL, 0, &o->lx, migrate_tx_write, &t, NULL, err) != 0)
				goto out;
			continue;
		}
		if (cleanup_interrupted())
		{
			err_set(err, "interrupted before step %zu of %s", i + 1, f->file);
			err_hint(err, "Run the same command again; it continues from this step.");
			goto out;
		}
		if (!s->no_tx)
		{
			size_t failed = s->nstmts;
			if (lockexec_run_tx_list(conn, s->stmts, s->nstmts, &o->lx, migrate_tx_write, &t, &failed, err) != 0)
			{
				if (failed < s->nstmts)
				{
					fail_line = s->lines[failed];
					fail_stmt = failed;
				}
				goto fail;
			}
			continue;
		}
		fail_line = s->lines[0];
		log_notice("step %zu of %zu runs outside a transaction: %s", i + 1, steps.n, s->kind);
		bool skip = migrate_step_already_done(conn, s, err);
		if (err->set)
			goto fail;
		/*
		 * A statement that only takes SHARE UPDATE EXCLUSIVE (CREATE INDEX
		 * CONCURRENTLY, VACUUM ...) never makes the application's reads and
		 * writes queue behind it, but CREATE INDEX CONCURRENTLY waits (as a
		 * lock wait) for every older transaction: give it the whole budget
		 * in one attempt rather than failing and rebuilding every few seconds.
		 */
		lockexec_opts lx = o->lx;
		if (s->weak_lock && lx.budget_ms > lx.lock_timeout_ms)
		{
			lx.lock_timeout_ms = lx.budget_ms;
			log_info("it takes only SHARE UPDATE EXCLUSIVE, which the application's reads and writes do not "
					 "wait for: it may wait up to the retry budget (%d s) for older transactions",
					 lx.budget_ms / 1000);
		}
		fail_stmt = 0;
		if (!skip && lockexec_run_autocommit(conn, s->sql, &lx, err) != 0)
			goto fail;
		fail_line = 0;
		fail_stmt = SIZE_MAX;
		if (last)
		{
			if (lockexec_run_tx_list(conn, NULL, 0, &o->lx, migrate_tx_write, &t, NULL, err) != 0)
				goto fail;
		}
		else if (migrate_tx_write(conn, &t, err) != 0)
			goto fail;
	}
	log_notice("%s %s in %lld ms", up ? "applied" : "rolled back", f->file,
			   (long long) (monotime_now_ms() - started));
	rc = 0;
	goto out;
fail:
	if (fail_step < steps.n)
		migrate_explain_failure(err, f, up, &steps.items[fail_step], fail_stmt, multi);
	if (fail_line > 0)
		err_prefix(err, "%s %s, line %d: ", up ? "applying" : "rolling back", f->file, fail_line);
	else
		err_prefix(err, "%s %s: ", up ? "applying" : "rolling back", f->file);
	if (multi && !err->hint)
		err_hint(err, "Fix the cause and run again; steps that finished are recorded and will not run twice.");
out:
	for (size_t i = 0; i < ndone; i++)
		free(done[i]);
	free(done);
	migrate_steps_free(&steps);
	return rc;
}

/* ------------------------------------------------------------------------
 * Checks shared by up, down and repair
 * ------------------------------------------------------------------------ */

/* Fills err with the drift found, if any.  Returns -1 when there is drift. */
static int
migrate_refuse_drift(const history *h, const migfile_set *files, const char *dir, pgc_err *err)
{
	history_drift_list dl;
	history_check(h, files, &dl);
	if (dl.n == 0)
		return 0;
	buf_t b = {0};
	bool only_fixable = true;
	for (size_t i = 0; i < dl.n; i++)
	{
		buf_printf(&b, "%s%s: %s", i ? "; " : "", history_drift_name(dl.items[i].kind), dl.items[i].message);
		if (dl.items[i].kind == HISTORY_DRIFT_OUT_OF_ORDER || dl.items[i].kind == HISTORY_DRIFT_REORDERED)
			only_fixable = false;
	}
	err_set(err, "the migration history of this database does not match the files in %s", dir);
	err_detail(err, "%s.", b.data);
	if (only_fixable)
		err_hint(err, "Restore the applied files as they were (for example with git) and put new changes in new "
				 "migrations; if the change is intended, \"pgcarry schema repair\" accepts the files as they are.");
	else
		err_hint(err, "Give applied migrations back their versions, and give a new migration a version after "
				 "the last applied one (\"pgcarry schema new NAME\" does); then run again.");
	err->exit_status = EXIT_FAIL;
	buf_free(&b);
	history_drift_free(&dl);
	return -1;
}

static int
migrate_refuse_half_done(const history *h, bool up, pgc_err *err)
{
	if (!h->step_version)
		return 0;
	bool other = (strcmp(h->step_direction, "up") == 0) != up;
	if (!other)
		return 0;
	err_set(err, "migration %s was interrupted while %s (%d step%s done)", h->step_version,
			up ? "being rolled back" : "being applied", h->steps_done, h->steps_done == 1 ? "" : "s");
	err_hint(err, "Run \"pgcarry schema %s\" again to finish it first.", up ? "down" : "up");
	return -1;
}

/* Lock, tables, history.  Returns 0 with *h loaded (and the lock held). */
static int
migrate_begin(PGconn *conn, const migrate_opts *o, history *h, pgc_err *err)
{
	if (migrate_lock(conn, o->lock_wait_ms, err) != 0)
		return -1;
	if (history_ensure(conn, err) != 0 || history_load(conn, h, err) != 0)
	{
		migrate_unlock(conn);
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------------
 * up, down, repair
 * ------------------------------------------------------------------------ */

int
migrate_up(PGconn *conn, const migfile_set *files, const migrate_opts *o, pgc_err *err)
{
	if (o->to && !migfile_find(files, o->to))
	{
		err_set(err, "no migration file has version %s", o->to);
		err_hint(err, "\"pgcarry schema status\" lists the versions in %s.", o->dir);
		err->exit_status = EXIT_USAGE;
		return -1;
	}
	history h;
	if (migrate_begin(conn, o, &h, err) != 0)
		return -1;
	int rc = -1;
	const migfile **pending = xcalloc(files->n + 1, sizeof *pending);
	size_t np = 0;
	if (migrate_refuse_drift(&h, files, o->dir, err) != 0 || migrate_refuse_half_done(&h, true, err) != 0)
		goto out;
	for (size_t i = 0; i < files->n; i++)
	{
		const migfile *f = &files->items[i];
		if (history_is_applied(&h, f))
			continue;
		if (o->to && migfile_compare_versions(f->version, o->to) > 0)
			break;
		pending[np++] = f;
	}
	if (np == 0)
	{
		log_notice("nothing to apply: the database is at version %s",
				   h.n ? h.rows[h.n - 1].version : "0 (no migration applied)");
		rc = 0;
		goto out;
	}
	size_t bad = migrate_lint_report(conn, pending, np, false);
	if (bad > 0 && !o->force)
	{
		err_set(err, "%zu dangerous statement%s in the pending migrations; nothing was applied", bad,
				bad == 1 ? "" : "s");
		err_hint(err, "Make each one safe as its warning says, acknowledge it with a comment "
				 "\"-- pgcarry:allow RULE reason\" before the statement, or run with --force.");
		goto out;
	}
	char *chain = xstrdup(history_last_chain(&h));
	long long seq = h.n ? h.rows[h.n - 1].seq : 0;
	size_t applied = 0;
	for (size_t i = 0; i < np; i++)
	{
		char *next = history_chain_next(chain, pending[i]->version, pending[i]->checksum);
		free(chain);
		chain = next;
		seq++;
		if (migrate_run_file(conn, pending[i], true, o, chain, seq, err) != 0)
			break;
		applied++;
	}
	free(chain);
	if (applied == np)
	{
		log_notice("%zu migration%s applied; the database is at version %s", applied, applied == 1 ? "" : "s",
				   pending[np - 1]->version);
		rc = 0;
	}
	else if (applied > 0)
	{
		char *prev = err->detail ? xstrdup(err->detail) : NULL;
		err_detail(err, "%s%s%zu migration%s before it %s applied and recorded.", prev ? prev : "",
				   prev ? " " : "", applied, applied == 1 ? "" : "s", applied == 1 ? "was" : "were");
		free(prev);
	}
out:
	free(pending);
	history_free(&h);
	migrate_unlock(conn);
	return rc;
}

int
migrate_down(PGconn *conn, const migfile_set *files, const migrate_opts *o, pgc_err *err)
{
	history h;
	if (migrate_begin(conn, o, &h, err) != 0)
		return -1;
	int rc = -1;
	const migfile **targets = xcalloc(h.n + 1, sizeof *targets);
	size_t nt = 0;
	if (migrate_refuse_drift(&h, files, o->dir, err) != 0 || migrate_refuse_half_done(&h, false, err) != 0)
		goto out;
	if (o->to && strspn(o->to, "0") != strlen(o->to) && !history_find(&h, o->to))
	{
		err_set(err, "version %s is not applied on this database", o->to);
		err_hint(err, "Give an applied version (see \"pgcarry schema status\"), or 0 to roll back every migration.");
		err->exit_status = EXIT_USAGE;
		goto out;
	}
	/* Newest first; an interrupted rollback always concerns the newest. */
	for (size_t i = h.n; i > 0; i--)
	{
		const history_row *row = &h.rows[i - 1];
		if (o->to ? migfile_compare_versions(row->version, o->to) <= 0 : nt == 1)
			break;
		targets[nt++] = migfile_find(files, row->version);
	}
	if (nt == 0)
	{
		log_notice("nothing to roll back: the database is at version %s",
				   h.n ? h.rows[h.n - 1].version : "0 (no migration applied)");
		rc = 0;
		goto out;
	}
	for (size_t i = 0; i < nt; i++)
		if (!targets[i]->has_down || targets[i]->down.n == 0)
		{
			err_set(err, "migration %s has %s \"-- migrate:down\" section, so it cannot be rolled back",
					targets[i]->file, targets[i]->has_down ? "an empty" : "no");
			err_hint(err, "Undo the change with a new migration; a down section added now would change an "
					 "applied file (see \"pgcarry schema repair\").");
			goto out;
		}
	size_t bad = migrate_lint_report(conn, targets, nt, true);
	if (bad > 0 && !o->force)
	{
		err_set(err, "%zu dangerous statement%s in the down sections to run; nothing was rolled back", bad,
				bad == 1 ? "" : "s");
		err_hint(err, "Make each one safe as its warning says, acknowledge it with a comment "
				 "\"-- pgcarry:allow RULE reason\" before the statement, or run with --force.");
		goto out;
	}
	size_t done = 0;
	for (size_t i = 0; i < nt; i++)
	{
		if (migrate_run_file(conn, targets[i], false, o, NULL, 0, err) != 0)
			break;
		done++;
	}
	if (done == nt)
	{
		const char *now_at = "0 (no migration applied)";
		if (h.n > nt)
			now_at = h.rows[h.n - nt - 1].version;
		log_notice("%zu migration%s rolled back; the database is at version %s", done, done == 1 ? "" : "s",
				   now_at);
		rc = 0;
	}
out:
	free(targets);
	history_free(&h);
	migrate_unlock(conn);
	return rc;
}

int
migrate_repair(PGconn *conn, const migfile_set *files, const migrate_opts *o, pgc_err *err)
{
	history h;
	if (migrate_begin(conn, o, &h, err) != 0)
		return -1;
	int rc = -1;
	history_drift_list dl;
	history_check(&h, files, &dl);
	for (size_t i = 0; i < dl.n; i++)
		if (dl.items[i].kind == HISTORY_DRIFT_REORDERED || dl.items[i].kind == HISTORY_DRIFT_OUT_OF_ORDER)
		{
			err_set(err, "repair cannot fix renumbered or out-of-order migrations: %s", dl.items[i].message);
			err_hint(err, "Give applied migrations back their versions, and give a new migration a version after "
					 "the last applied one; then run again.");
			goto out;
		}
	if (dl.n == 0)
	{
		log_notice("nothing to repair: the history matches the files in %s", o->dir);
		rc = 0;
		goto out;
	}
	if (conn_exec(conn, "BEGIN", err) != 0)
		goto out;
	const char *chain = "";
	char *cur = NULL;
	for (size_t i = 0; i < h.n; i++)
	{
		history_row *row = &h.rows[i];
		const migfile *f = migfile_find(files, row->version);
		const char *pv[1] = {row->version};
		if (!f)
		{
			log_warning("forgetting %s_%s: its file is gone (what it changed stays in the database)",
						row->version, row->name);
			if (conn_exec_params(conn, "DELETE FROM " HISTORY_SCHEMA ".migrations WHERE version = $1",
								 1, pv, err) != 0)
				break;
			continue;
		}
		if (strcmp(f->checksum, row->checksum) != 0 || strcmp(f->name, row->name) != 0)
			log_notice("accepting %s as it is now", f->file);
		char *next = history_chain_next(chain, row->version, f->checksum);
		const char *p[4] = {row->version, f->name, f->checksum, next};
		int r = conn_exec_params(conn, "UPDATE " HISTORY_SCHEMA ".migrations SET name = $2, checksum = $3, "
								 "chain = $4 WHERE version = $1", 4, p, err);
		free(cur);
		cur = next;
		chain = cur;
		if (r != 0)
			break;
	}
	free(cur);
	if (err->set || conn_exec(conn, "COMMIT", err) != 0)
	{
		PQclear(PQexec(conn, "ROLLBACK"));
		goto out;
	}
	log_notice("history repaired: %zu problem%s fixed", dl.n, dl.n == 1 ? "" : "s");
	rc = 0;
out:
	history_drift_free(&dl);
	history_free(&h);
	migrate_unlock(conn);
	return rc;
}
