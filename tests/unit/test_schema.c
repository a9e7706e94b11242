/*
 * test_schema.c: unit tests of the schema-migration module.
 *
 *   test_schema            pure logic: the SQL parser's split and errors, the statement
 *                          classifier and lint rules, migration file names
 *                          and sections, the hash chain
 *   test_schema lockexec   lockexec against the real server named by
 *                          PGCARRY_TEST_URI (tests/t/50-schema-lockexec.t
 *                          starts one)
 */
#include "tap.h"

#include "conn.h"
#include "schema/history.h"
#include "schema/lint.h"
#include "schema/migfile.h"
#include "schema/lockexec.h"
#include "schema/sqlparse.h"
#include "util/backoff.h"
#include "util/log.h"
#include "util/xalloc.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ------------------------------------------------------------------------
 * lockexec against a real server
 * ------------------------------------------------------------------------ */

static PGconn *
test_connect(const char *uri)
{
	pgc_err err = PGC_ERR_INIT;
	PGconn *c = conn_open(uri, NULL, "target", &err);
	if (!c)
	{
		printf("Bail out! cannot connect: %s\n", err.message);
		exit(255);
	}
	return c;
}

static char *
test_value(PGconn *c, const char *sql)
{
	pgc_err err = PGC_ERR_INIT;
	char *v = conn_query_value(c, sql, 0, NULL, &err);
	err_clear(&err);
	return v ? v : xstrdup("(null)");
}

typedef struct test_release
{
	PGconn	   *conn;
	int			after_ms;
} test_release;

static void *
test_release_later(void *arg)
{
	test_release *r = arg;
	backoff_sleep_ms(r->after_ms);
	PGresult *res = PQexec(r->conn, "COMMIT");
	PQclear(res);
	return NULL;
}

static int
test_insert_marker(PGconn *conn, void *ctx, pgc_err *err)
{
	const char *p[1] = {ctx};
	return conn_exec_params(conn, "INSERT INTO marks VALUES ($1)", 1, p, err);
}

static int
test_fail_cb(PGconn *conn, void *ctx, pgc_err *err)
{
	(void) conn;
	(void) ctx;
	err_set(err, "callback refused");
	return -1;
}

static int64_t
test_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
test_lockexec(const char *uri)
{
	PGconn *c = test_connect(uri);
	PGconn *app = test_connect(uri);
	pgc_err err = PGC_ERR_INIT;
	lockexec_opts o;
	lockexec_defaults(&o);
	TAP_EQ_INT(o.lock_timeout_ms, 2000, "default lock_timeout 2 s");
	TAP_EQ_INT(o.budget_ms, 60000, "default budget 60 s");

	TAP_EQ_INT(lockexec_run(c, "CREATE TABLE t (id int); CREATE TABLE marks (m text)", &o, &err), 0,
			   "simple DDL runs");
	err_clear(&err);
	char *v = test_value(c, "SELECT count(*) FROM pg_class WHERE relname = 't'");
	TAP_EQ_STR(v, "1", "table created");
	free(v);
	v = test_value(c, "SHOW lock_timeout");
	TAP_EQ_STR(v, "0", "SET LOCAL does not leak into the session");
	free(v);

	/* The application holds a lock; the budget runs out. */
	PQclear(PQexec(app, "BEGIN"));
	PQclear(PQexec(app, "SELECT * FROM t"));
	o.lock_timeout_ms = 200;
	o.budget_ms = 1500;
	o.backoff_base_ms = 100;
	o.backoff_cap_ms = 300;
	int64_t t0 = test_now_ms();
	TAP_EQ_INT(lockexec_run(c, "ALTER TABLE t ADD COLUMN x int", &o, &err), -1,
			   "budget runs out while the application holds the lock");
	int64_t took = test_now_ms() - t0;
	TAP_OK(took >= 700 && took < 6000, "it retried within the budget");
	TAP_EQ_STR(err.sqlstate, "55P03", "lock failure keeps SQLSTATE 55P03");
	TAP_CONTAINS(err.message, "gave up waiting for a lock after", "budget message");
	char pidtext[32];
	snprintf(pidtext, sizeof pidtext, "pid %d", PQbackendPID(app));
	TAP_CONTAINS(err.detail, pidtext, "detail names the blocking session");
	TAP_CONTAINS(err.detail, "idle in transaction", "detail says what the blocker does");
	TAP_CONTAINS(err.hint, "pg_terminate_backend", "hint names the way out");
	err_clear(&err);
	v = test_value(c, "SELECT count(*) FROM pg_attribute WHERE attrelid = 't'::regclass AND attname = 'x'");
	TAP_EQ_STR(v, "0", "nothing applied");
	free(v);

	/* The application releases the lock after a second: the retry succeeds. */
	o.budget_ms = 20000;
	test_release rel = {.conn = app, .after_ms = 1000};
	pthread_t th;
	pthread_create(&th, NULL, test_release_later, &rel);
	TAP_EQ_INT(lockexec_run_tx(c, "ALTER TABLE t ADD COLUMN x int", &o, test_insert_marker,
							   "added x", &err), 0, "retry succeeds once the lock is released");
	pthread_join(th, NULL);
	err_clear(&err);
	v = test_value(c, "SELECT string_agg(m, ',') FROM marks");
	TAP_EQ_STR(v, "added x", "callback row committed with the statement");
	free(v);

	/* A failing callback rolls the statement back. */
	TAP_EQ_INT(lockexec_run_tx(c, "ALTER TABLE t ADD COLUMN y int", &o, test_fail_cb, NULL, &err),
			   -1, "failing callback fails the run");
	TAP_EQ_STR(err.message, "callback refused", "callback error kept");
	err_clear(&err);
	v = test_value(c, "SELECT count(*) FROM pg_attribute WHERE attrelid = 't'::regclass AND attname = 'y'");
	TAP_EQ_STR(v, "0", "statement rolled back with the callback");
	free(v);

	/* Statements one at a time in one transaction: the failing one is named. */
	const char *list[3] = {"CREATE TABLE l1 (id int)", "SELECT nosuchcol FROM t", "CREATE TABLE l2 (id int)"};
	size_t failed = 99;
	TAP_EQ_INT(lockexec_run_tx_list(c, list, 3, &o, NULL, NULL, &failed, &err), -1, "list with a bad statement fails");
	TAP_EQ_INT(failed, 1, "the failing statement's index is returned");
	TAP_EQ_STR(err.query, "SELECT nosuchcol FROM t", "the error carries the failing statement");
	err_clear(&err);
	v = test_value(c, "SELECT count(*) FROM pg_class WHERE relname IN ('l1', 'l2')");
	TAP_EQ_STR(v, "0", "the whole transaction rolled back");
	free(v);
	TAP_EQ_INT(lockexec_run_tx_list(c, list, 1, &o, test_insert_marker, "list", &failed, &err), 0, "list succeeds");
	TAP_EQ_INT(failed, 1, "no statement failed: index is n");
	TAP_EQ_INT(lockexec_run_tx_list(c, NULL, 0, &o, test_insert_marker, "only the callback", NULL, &err), 0,
			   "an empty list runs only the callback");
	err_clear(&err);
	v = test_value(c, "SELECT string_agg(m, ',' ORDER BY m) FROM marks");
	TAP_EQ_STR(v, "added x,list,only the callback", "callback rows committed");
	free(v);

	/* A plain SQL error is not retried. */
	t0 = test_now_ms();
	TAP_EQ_INT(lockexec_run(c, "ALTER TABLE nosuch ADD COLUMN z int", &o, &err), -1, "error fails");
	TAP_EQ_STR(err.sqlstate, "42P01", "server SQLSTATE kept");
	TAP_OK(test_now_ms() - t0 < 1000, "no retry on a non-lock error");
	err_clear(&err);

	/* COPY with no data to send fails cleanly; COPY TO STDOUT is drained. */
	TAP_EQ_INT(lockexec_run(c, "COPY t (id) FROM STDIN", &o, &err), -1, "COPY FROM STDIN fails instead of hanging");
	TAP_CONTAINS(err.message, "pgcarry runs no COPY ... FROM STDIN", "COPY FROM STDIN message");
	err_clear(&err);
	TAP_EQ_INT(lockexec_run(c, "COPY t TO STDOUT", &o, &err), 0, "COPY TO STDOUT is drained");
	err_clear(&err);

	/* Outside a transaction. */
	PQclear(PQexec(c, "SET lock_timeout = '7s'"));
	TAP_EQ_INT(lockexec_run_autocommit(c, "CREATE INDEX CONCURRENTLY t_id ON t (id)", &o, &err), 0,
			   "CREATE INDEX CONCURRENTLY runs outside a transaction");
	err_clear(&err);
	v = test_value(c, "SHOW lock_timeout");
	TAP_EQ_STR(v, "7s", "session lock_timeout restored afterwards");
	free(v);
	TAP_EQ_INT(lockexec_run(c, "CREATE INDEX CONCURRENTLY t_id2 ON t (id)", &o, &err), -1,
			   "CREATE INDEX CONCURRENTLY refused inside a transaction");
	TAP_EQ_STR(err.sqlstate, "25001", "active transaction error");
	err_clear(&err);

	conn_close(app);
	conn_close(c);
}


/*
 * The application of the deadlock test.  Its transaction has written p
 * already (RowExclusiveLock on p, held); this thread waits until pgcarry's
 * backend waits on a lock, then join_after_ms longer (past the server's
 * deadlock_timeout, so pgcarry's own deadlock check has passed), then writes
 * ch and commits.  sqlstate receives the error of its transaction, or ""
 * when it committed.
 */
typedef struct test_deadlock_app
{
	PGconn	   *app;			/* inside BEGIN, p written */
	PGconn	   *watch;
	int			pgcarry_pid;
	int			join_after_ms;
	char		sqlstate[8];
} test_deadlock_app;

static void *
test_deadlock_app_run(void *arg)
{
	test_deadlock_app *a = arg;
	char pid[16];
	snprintf(pid, sizeof pid, "%d", a->pgcarry_pid);
	const char *params[1] = {pid};
	for (int i = 0; i < 1000; i++)
	{
		PGresult *r = PQexecParams(a->watch, "SELECT 1 FROM pg_locks WHERE pid = $1::int AND NOT granted",
								   1, NULL, params, NULL, NULL, 0);
		int waiting = PQntuples(r) > 0;
		PQclear(r);
		if (waiting)
			break;
		backoff_sleep_ms(10);
	}
	backoff_sleep_ms(a->join_after_ms);
	PGresult *r = PQexec(a->app, "INSERT INTO ch VALUES (1)");
	const char *st = PQresultStatus(r) == PGRES_COMMAND_OK ? "" : PQresultErrorField(r, PG_DIAG_SQLSTATE);
	snprintf(a->sqlstate, sizeof a->sqlstate, "%s", st ? st : "?");
	PQclear(r);
	PQclear(PQexec(a->app, *a->sqlstate ? "ROLLBACK" : "COMMIT"));
	return NULL;
}

/*
 * Runs the foreign key DDL (which locks ch, then p) while the application
 * writes p, then ch: plainly with a 3 s lock_timeout when plain is true
 * (what a migration tool without pgcarry's discipline does), else through
 * lockexec with locks (or none).  Returns 0 when the DDL committed; the
 * application's outcome is in a->sqlstate.
 */
static int
test_deadlock_round(PGconn *c, test_deadlock_app *a, bool plain, const lockexec_lock *locks, size_t nlocks,
					pgc_err *err)
{
	static const char ddl[] = "ALTER TABLE ch ADD CONSTRAINT ch_fk FOREIGN KEY (pid) REFERENCES p (id) NOT VALID";
	lockexec_opts o;
	lockexec_defaults(&o);
	o.lock_timeout_ms = 3000;
	o.budget_ms = 20000;
	o.backoff_base_ms = 50;
	o.backoff_cap_ms = 100;
	o.locks = locks;
	o.nlocks = nlocks;
	PQclear(PQexec(a->app, "BEGIN"));
	PQclear(PQexec(a->app, "UPDATE p SET v = v + 1 WHERE id = 1"));
	a->pgcarry_pid = PQbackendPID(c);
	a->sqlstate[0] = 0;
	pthread_t th;
	pthread_create(&th, NULL, test_deadlock_app_run, a);
	int rc;
	if (plain)
	{
		PQclear(PQexec(c, "SET lock_timeout = 3000"));
		PGresult *r = PQexec(c, ddl);
		rc = PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : -1;
		PQclear(r);
		PQclear(PQexec(c, "RESET lock_timeout"));
	}
	else
		rc = lockexec_run(c, ddl, &o, err);
	pthread_join(th, NULL);
	PQclear(PQexec(c, "ALTER TABLE ch DROP CONSTRAINT IF EXISTS ch_fk"));
	return rc;
}

/*
 * An application that writes p then ch, and a statement that locks ch then
 * p.  Run plainly, the server cancels the application's transaction as the
 * deadlock victim.  Through lockexec the application commits: with the locks
 * declared, pgcarry queues for p first, holding nothing; without them,
 * pgcarry sees the lock cycle and cancels its own statement first.
 */
static void
test_lockexec_deadlock(const char *uri)
{
	PGconn *c = test_connect(uri);
	test_deadlock_app a = {.app = test_connect(uri), .watch = test_connect(uri), .join_after_ms = 1300};
	pgc_err err = PGC_ERR_INIT;
	PQclear(PQexec(c, "CREATE TABLE p (id int PRIMARY KEY, v int); INSERT INTO p VALUES (1, 0); "
				   "CREATE TABLE ch (pid int)"));

	int rc = test_deadlock_round(c, &a, true, NULL, 0, &err);
	TAP_EQ_STR(a.sqlstate, "40P01", "run plainly, the DDL makes the application the deadlock victim");
	TAP_EQ_INT(rc, 0, "(and the DDL then runs)");

	rc = test_deadlock_round(c, &a, false, NULL, 0, &err);
	TAP_EQ_STR(a.sqlstate, "", "through lockexec the application commits: pgcarry gives way in the cycle");
	TAP_EQ_INT(rc, 0, "and pgcarry's statement runs after a retry");
	err_clear(&err);

	const lockexec_lock locks[2] = {{"p", "SHARE ROW EXCLUSIVE"}, {"ch", "SHARE ROW EXCLUSIVE"}};
	rc = test_deadlock_round(c, &a, false, locks, 2, &err);
	TAP_EQ_STR(a.sqlstate, "", "with the locks declared the application commits");
	TAP_EQ_INT(rc, 0, "and pgcarry's statement runs after it");
	err_clear(&err);
	char *v = test_value(c, "SELECT count(*) FROM ch");
	TAP_EQ_STR(v, "2", "the application's rows are there");
	free(v);
	v = test_value(c, "SHOW lock_timeout");
	TAP_EQ_STR(v, "0", "the lock waits leave no setting behind");
	free(v);

	/* The application locks ch first this time: pgcarry, holding p, gives
	 * way (55P03 on ch within half of deadlock_timeout) and retries. */
	PQclear(PQexec(a.app, "BEGIN"));
	PQclear(PQexec(a.app, "INSERT INTO ch VALUES (1)"));
	test_release rel = {.conn = a.app, .after_ms = 1500};
	pthread_t th;
	pthread_create(&th, NULL, test_release_later, &rel);
	lockexec_opts o;
	lockexec_defaults(&o);
	o.locks = locks;
	o.nlocks = 2;
	o.backoff_base_ms = 50;
	o.backoff_cap_ms = 100;
	TAP_EQ_INT(lockexec_run(c, "ALTER TABLE ch ADD CONSTRAINT ch_fk FOREIGN KEY (pid) REFERENCES p (id) NOT VALID",
							&o, &err), 0, "a lock held on the second table is waited out by retries");
	pthread_join(th, NULL);
	err_clear(&err);
	v = test_value(c, "SELECT count(*) || ' ' || (SELECT count(*) FROM pg_constraint WHERE conname = 'ch_fk') FROM ch");
	TAP_EQ_STR(v, "3 1", "the application's row and the constraint are both there");
	free(v);

	conn_close(a.app);
	conn_close(a.watch);
	conn_close(c);
}

/* ------------------------------------------------------------------------
 * The splitter
 * ------------------------------------------------------------------------ */

static sqlparse_list
test_split(const char *sql)
{
	sqlparse_list l;
	pgc_err err = PGC_ERR_INIT;
	if (sqlparse_split(sql, strlen(sql), 1, NULL, &l, &err) != 0)
	{
		printf("# split failed: %s\n", err.message);
		l.items = NULL;
		l.n = 0;
	}
	err_clear(&err);
	return l;
}

static void
test_splitter(void)
{
	sqlparse_list l = test_split("CREATE TABLE a (x int);\nINSERT INTO a VALUES (1)  ;  ;\n SELECT 1");
	TAP_EQ_INT(l.n, 3, "three statements, empty ones dropped");
	TAP_EQ_STR(l.items[0].sql, "CREATE TABLE a (x int)", "first statement without its semicolon");
	TAP_EQ_STR(l.items[1].sql, "INSERT INTO a VALUES (1)", "second statement trimmed");
	TAP_EQ_INT(l.items[1].line, 2, "line of the second statement");
	TAP_EQ_STR(l.items[2].sql, "SELECT 1", "last statement without a semicolon");
	TAP_EQ_INT(l.items[2].line, 3, "line of the third statement");
	sqlparse_list_free(&l);

	l = test_split("SELECT 'a;b', 'it''s;'; SELECT E'x\\';y'; SELECT \"we;ird\"\"id\" FROM t");
	TAP_EQ_INT(l.n, 3, "semicolons inside strings, E'' strings and quoted identifiers do not split");
	TAP_EQ_STR(l.items[1].sql, "SELECT E'x\\';y'", "E'' string with an escaped quote kept whole");
	TAP_EQ_STR(l.items[2].sql, "SELECT \"we;ird\"\"id\" FROM t", "quoted identifier with a doubled quote");
	sqlparse_list_free(&l);

	l = test_split("CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql;\n"
				   "CREATE FUNCTION g() RETURNS int AS $body$ BEGIN RETURN $$;$$::int; END $body$ LANGUAGE plpgsql;"
				   "SELECT $1, a$b FROM t");
	TAP_EQ_INT(l.n, 3, "dollar quoting, nested tags, $1 and a$b");
	TAP_CONTAINS(l.items[1].sql, "END $body$ LANGUAGE plpgsql", "tagged dollar quote kept whole");
	sqlparse_list_free(&l);

	l = test_split("SELECT 1 -- a comment; not a split\n; /* block ; /* nested ; */ still ; */ SELECT 2;");
	TAP_EQ_INT(l.n, 2, "comments, nested block comments do not split");
	TAP_EQ_STR(l.items[1].sql, "SELECT 2", "statement after a nested comment");
	sqlparse_list_free(&l);

	l = test_split("CREATE FUNCTION h(a int) RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT CASE WHEN a > 0 THEN 1 ELSE 2 END; "
				   "SELECT 3; END; SELECT 4");
	TAP_EQ_INT(l.n, 2, "BEGIN ATOMIC body with CASE ... END stays one statement");
	sqlparse_list_free(&l);

	l = test_split("CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO a VALUES (1); INSERT INTO b VALUES (2)); "
				   "SELECT 5");
	TAP_EQ_INT(l.n, 2, "semicolons inside parentheses (a rule's actions) do not split");
	sqlparse_list_free(&l);

	l = test_split("-- pgcarry:allow drop-column the app stopped using it in v41\n"
				   "ALTER TABLE t DROP COLUMN c;\nALTER TABLE t DROP COLUMN d /* pgcarry:allow rename,drop-column why */");
	TAP_EQ_INT(l.n, 2, "two statements with acknowledgements");
	TAP_OK(l.n == 2 && sqlparse_allows(&l.items[0], "drop-column"), "comment before a statement acknowledges a rule");
	TAP_OK(l.n == 2 && !sqlparse_allows(&l.items[0], "rename"), "only the rules named");
	TAP_OK(l.n == 2 && sqlparse_allows(&l.items[1], "rename") && sqlparse_allows(&l.items[1], "drop-column"),
		   "a list of rules inside a statement");
	sqlparse_list_free(&l);

	sqlparse_list bad;
	pgc_err err = PGC_ERR_INIT;
	TAP_EQ_INT(sqlparse_split("SELECT 1;\nSELECT 'oops", 19, 1, NULL, &bad, &err), -1, "unterminated string fails");
	TAP_EQ_STR(err.message, "unterminated string starting on line 2", "unterminated string message");
	err_clear(&err);
	const char *d = "SELECT $x$ never closed";
	TAP_EQ_INT(sqlparse_split(d, strlen(d), 1, NULL, &bad, &err), -1, "unterminated dollar quote fails");
	TAP_EQ_STR(err.message, "unterminated dollar-quoted string starting on line 1", "dollar message");
	err_clear(&err);
	d = "SELECT 1 /* /* */";
	TAP_EQ_INT(sqlparse_split(d, strlen(d), 1, NULL, &bad, &err), -1, "unclosed nested comment fails");
	err_clear(&err);
	d = "SELECT \"abc";
	TAP_EQ_INT(sqlparse_split(d, strlen(d), 1, NULL, &bad, &err), -1, "unterminated identifier fails");
	TAP_CONTAINS(err.message, "unterminated quoted identifier", "identifier message");
	err_clear(&err);
}

/* Syntax errors as PostgreSQL's parser reports them, with line, column
 * (in characters) and a caret that keeps tabs; the statements before the
 * failing one are kept. */
static void
test_parser_errors(void)
{
	sqlparse_list l;
	pgc_err err = PGC_ERR_INIT;
	const char *t = "SELECT 1;\nSELECT '\xc3\xa9',\tx FROM WHERE";
	TAP_EQ_INT(sqlparse_split(t, strlen(t), 1, NULL, &l, &err), -1, "a syntax error fails the split");
	TAP_EQ_STR(err.message, "line 2:20: syntax error at or near \"WHERE\"",
			   "line and column in characters, PostgreSQL's message");
	TAP_EQ_STR(err.detail, "Where PostgreSQL's parser stopped:\n  2 | SELECT '\xc3\xa9',\tx FROM WHERE\n"
			   "    |            \t       ^", "the line, and a caret under the place (tabs kept)");
	TAP_EQ_INT(l.n, 1, "the statement before the failing one is kept");
	sqlparse_list_free(&l);
	err_clear(&err);

	t = "-- migrate:up\nCREATE TABL x (id int);";
	TAP_EQ_INT(sqlparse_split(t, strlen(t), 10, "9_x.sql", &l, &err), -1, "a named text fails the same way");
	TAP_EQ_STR(err.message, "9_x.sql:11:8: syntax error at or near \"TABL\"", "NAME:LINE:COLUMN from first_line");
	sqlparse_list_free(&l);
	err_clear(&err);

	const char *u = "a\xc3\xa9" "b";
	TAP_EQ_INT(sqlparse_char_offset(u, strlen(u), 3), 3, "character 3 after a two-byte character is byte 3");
	TAP_EQ_INT(sqlparse_char_offset(u, strlen(u), 9), strlen(u), "past the end: the end");

	l = test_split("SELECT 1; SELECT 2 /* pgcarry:allow rename why */;\n-- after\n");
	TAP_OK(l.n == 2 && !sqlparse_allows(&l.items[0], "rename") && sqlparse_allows(&l.items[1], "rename"),
		   "a comment before a statement's semicolon is that statement's");
	TAP_OK(l.n == 2 && json_object_get(l.items[1].tree, "SelectStmt") != NULL, "each statement has its parse tree");
	sqlparse_list_free(&l);
}

/* ------------------------------------------------------------------------
 * Classifier and lint rules
 * ------------------------------------------------------------------------ */

/* Lints sql as one file; returns the rules of the unacknowledged findings,
 * comma-separated (static buffer). */
static const char *
test_lint(const char *sql)
{
	static char out[512];
	out[0] = '\0';
	sqlparse_list l = test_split(sql);
	lint_state *st = lint_create();
	lint_begin_file(st);
	for (size_t i = 0; i < l.n; i++)
		lint_statement(st, &l.items[i]);
	size_t n;
	const lint_finding *f = lint_findings(st, &n);
	for (size_t i = 0; i < n; i++)
		if (!f[i].acknowledged)
		{
			if (out[0])
				strcat(out, ",");
			strncat(out, f[i].rule, sizeof out - strlen(out) - 2);
		}
	lint_destroy(st);
	sqlparse_list_free(&l);
	return out;
}

static void
test_lint_rules(void)
{
	static const struct
	{
		const char *sql;
		const char *want;
		const char *name;
	} cases[] = {
		{"CREATE INDEX i ON users (email)", "index-not-concurrent", "index without CONCURRENTLY"},
		{"CREATE INDEX CONCURRENTLY i ON users (email)", "", "index made concurrently"},
		{"CREATE TABLE n (id int); CREATE INDEX ON n (id)", "", "index on a table made in the same file"},
		{"ALTER TABLE users ADD COLUMN token uuid DEFAULT gen_random_uuid()", "add-column-volatile-default",
		 "volatile default"},
		{"ALTER TABLE users ADD COLUMN id2 bigserial", "add-column-volatile-default", "serial column"},
		{"ALTER TABLE users ADD COLUMN created timestamptz DEFAULT now()", "", "stable default"},
		{"ALTER TABLE users ADD COLUMN n numeric DEFAULT '0'::numeric(10,2) NOT NULL", "", "constant default"},
		{"ALTER TABLE users ALTER COLUMN email SET NOT NULL", "set-not-null", "SET NOT NULL"},
		{"ALTER TABLE users ALTER COLUMN email DROP NOT NULL", "", "DROP NOT NULL"},
		{"ALTER TABLE users ADD CONSTRAINT fk FOREIGN KEY (org) REFERENCES orgs (id)", "constraint-not-valid",
		 "foreign key without NOT VALID"},
		{"ALTER TABLE users ADD CONSTRAINT fk FOREIGN KEY (org) REFERENCES orgs (id) NOT VALID", "",
		 "foreign key NOT VALID"},
		{"ALTER TABLE users ADD CHECK (age > 0)", "constraint-not-valid", "check without NOT VALID"},
		{"ALTER TABLE users ADD COLUMN org int REFERENCES orgs (id)", "constraint-not-valid",
		 "inline REFERENCES on a new column"},
		{"ALTER TABLE users ADD COLUMN org int; ALTER TABLE users ADD CONSTRAINT f FOREIGN KEY (org) REFERENCES orgs (id) NOT VALID",
		 "", "the column, then the foreign key NOT VALID"},
		{"ALTER TABLE users ADD CONSTRAINT c CHECK (age > 0) NOT VALID; ALTER TABLE users VALIDATE CONSTRAINT c",
		 "", "check NOT VALID then VALIDATE"},
		{"ALTER TABLE users ALTER COLUMN age TYPE bigint", "type-change", "type change"},
		{"ALTER TABLE users ALTER COLUMN name TYPE varchar(200)", "", "widening to varchar"},
		{"ALTER TABLE users ALTER COLUMN name SET DATA TYPE text USING upper(name)", "type-change",
		 "text with USING rewrites"},
		{"ALTER TABLE users ADD CONSTRAINT u UNIQUE (email)", "unique-not-using-index", "unique constraint"},
		{"ALTER TABLE users ADD PRIMARY KEY (id)", "unique-not-using-index", "primary key"},
		{"ALTER TABLE users ADD CONSTRAINT u UNIQUE USING INDEX users_email", "", "unique USING INDEX"},
		{"ALTER TABLE users DROP COLUMN legacy", "drop-column", "drop column"},
		{"ALTER TABLE users DROP CONSTRAINT legacy_check", "", "drop constraint"},
		{"DROP TABLE users", "drop-table", "drop table"},
		{"CREATE TABLE tmp (id int); DROP TABLE tmp", "", "drop of a table made in the same file"},
		{"ALTER TABLE users RENAME COLUMN name TO full_name", "rename", "rename column"},
		{"ALTER TABLE users RENAME TO members", "rename", "rename table"},
		{"ALTER TABLE users RENAME CONSTRAINT a TO b", "", "rename constraint"},
		{"VACUUM FULL users", "vacuum-full", "VACUUM FULL"},
		{"VACUUM (FULL, VERBOSE) users", "vacuum-full", "VACUUM (FULL)"},
		{"VACUUM ANALYZE users", "", "plain VACUUM"},
		{"CLUSTER users USING users_pkey", "cluster", "CLUSTER"},
		{"ALTER TABLE users CLUSTER ON users_pkey", "", "choosing a cluster index does not rewrite"},
		{"LOCK TABLE users IN SHARE MODE", "lock-table", "LOCK TABLE"},
		{"SELECT 'LOCK TABLE users' /* LOCK TABLE users */", "", "LOCK TABLE in a string or comment"},
		{"SET lock_timeout = 0", "timeout-override", "SET lock_timeout"},
		{"SET LOCAL statement_timeout = '1h'", "timeout-override", "SET LOCAL statement_timeout"},
		{"SET search_path = app", "", "other SET"},
		{"-- pgcarry:allow drop-column shipped in v41\nALTER TABLE users DROP COLUMN legacy", "",
		 "acknowledged finding"},
		{"-- pgcarry:allow rename wrong rule\nALTER TABLE users DROP COLUMN legacy", "drop-column",
		 "acknowledging another rule does not help"},
		{"ALTER TABLE users ADD COLUMN a int, DROP COLUMN b, ALTER COLUMN c SET NOT NULL", "drop-column,set-not-null",
		 "every action of one ALTER TABLE"},
		{"INSERT INTO users (name) VALUES ('DROP TABLE x; CREATE INDEX y ON z (a)')", "",
		 "SQL inside a string is not a statement"},
		{"ALTER TABLE users ADD CONSTRAINT nn CHECK (email IS NOT NULL) NOT VALID;\n"
		 "ALTER TABLE users VALIDATE CONSTRAINT nn;\n"
		 "ALTER TABLE users ALTER COLUMN email SET NOT NULL;\n"
		 "ALTER TABLE users DROP CONSTRAINT nn", "", "SET NOT NULL after a validated CHECK (col IS NOT NULL)"},
		{"ALTER TABLE users ADD CONSTRAINT nn CHECK (email IS NOT NULL) NOT VALID;\n"
		 "ALTER TABLE users ALTER COLUMN email SET NOT NULL", "set-not-null", "SET NOT NULL with the check not validated"},
		{"ALTER TABLE users ADD CONSTRAINT nn CHECK (name IS NOT NULL) NOT VALID;\n"
		 "ALTER TABLE users VALIDATE CONSTRAINT nn;\n"
		 "ALTER TABLE users ALTER COLUMN email SET NOT NULL", "set-not-null", "a check on another column does not count"},
		{"-- pgcarry:allow drop-colum typo\nALTER TABLE users DROP COLUMN x", "drop-column,unknown-rule",
		 "a misspelt rule acknowledges nothing and is flagged"},
		{"CREATE TABLE t2 (id int); ALTER TABLE t2 ADD CONSTRAINT c CHECK (id > 0); ALTER TABLE t2 DROP COLUMN id",
		 "", "no findings on a table made in the same file"},
	};
	char name[256];
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
	{
		snprintf(name, sizeof name, "lint: %s", cases[i].name);
		TAP_EQ_STR(test_lint(cases[i].sql), cases[i].want, name);
	}
	TAP_OK(lint_rule_exists("set-not-null") && !lint_rule_exists("no-such-rule"), "rule names known");
}

static void
test_classify_one(const char *sql, const char *kind, const char *lock, lint_effect effect, bool no_tx,
				  const char *table)
{
	sqlparse_list l = test_split(sql);
	lint_info info;
	lint_classify(&l.items[0], &info);
	char name[300];
	snprintf(name, sizeof name, "classify kind: %s", sql);
	TAP_EQ_STR(info.kind, kind, name);
	snprintf(name, sizeof name, "classify lock: %s", sql);
	TAP_EQ_STR(info.lock, lock, name);
	snprintf(name, sizeof name, "classify effect and transaction: %s", sql);
	TAP_OK(info.effect == effect && info.no_tx == no_tx, name);
	snprintf(name, sizeof name, "classify table: %s", sql);
	TAP_EQ_STR(info.table ? info.table : "", table, name);
	lint_info_free(&info);
	sqlparse_list_free(&l);
}

static void
test_classify(void)
{
	test_classify_one("CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS ix ON ONLY app.\"Users\" (id)",
					  "CREATE INDEX CONCURRENTLY", "SHARE UPDATE EXCLUSIVE", LINT_EFFECT_SCANS, true, "app.\"Users\"");
	test_classify_one("create index ix on t (a)", "CREATE INDEX", "SHARE", LINT_EFFECT_SCANS, false, "t");
	test_classify_one("DROP INDEX CONCURRENTLY ix", "DROP INDEX CONCURRENTLY", "SHARE UPDATE EXCLUSIVE",
					  LINT_EFFECT_CATALOG, true, "");
	test_classify_one("ALTER TABLE t ADD COLUMN a int", "ALTER TABLE", "ACCESS EXCLUSIVE", LINT_EFFECT_CATALOG,
					  false, "t");
	test_classify_one("ALTER TABLE t ADD CONSTRAINT f FOREIGN KEY (a) REFERENCES u (id)", "ALTER TABLE",
					  "SHARE ROW EXCLUSIVE", LINT_EFFECT_SCANS, false, "t");
	test_classify_one("ALTER TABLE t VALIDATE CONSTRAINT f", "ALTER TABLE", "SHARE UPDATE EXCLUSIVE",
					  LINT_EFFECT_SCANS, false, "t");
	test_classify_one("ALTER TABLE t ALTER COLUMN a TYPE bigint", "ALTER TABLE", "ACCESS EXCLUSIVE",
					  LINT_EFFECT_REWRITES, false, "t");
	test_classify_one("VACUUM t", "VACUUM", "SHARE UPDATE EXCLUSIVE", LINT_EFFECT_SCANS, true, "");
	test_classify_one("ALTER SYSTEM SET work_mem = '8MB'", "ALTER SYSTEM", "none", LINT_EFFECT_NONE, true, "");
	test_classify_one("CREATE DATABASE x", "CREATE DATABASE", "none", LINT_EFFECT_NONE, true, "");
	test_classify_one("REINDEX INDEX CONCURRENTLY ix", "REINDEX CONCURRENTLY", "SHARE UPDATE EXCLUSIVE",
					  LINT_EFFECT_SCANS, true, "");
	test_classify_one("ALTER TYPE mood ADD VALUE 'meh'", "ALTER TYPE ADD VALUE", "none", LINT_EFFECT_CATALOG,
					  false, "");
	test_classify_one("UPDATE t SET a = 1 WHERE id < 10", "UPDATE", "ROW EXCLUSIVE", LINT_EFFECT_WRITES, false, "t");
	test_classify_one("LOCK TABLE t IN SHARE ROW EXCLUSIVE MODE", "LOCK TABLE", "SHARE ROW EXCLUSIVE",
					  LINT_EFFECT_NONE, false, "t");
	test_classify_one("ALTER TYPE mood RENAME VALUE 'a' TO 'b'", "ALTER TYPE", "ACCESS EXCLUSIVE", LINT_EFFECT_CATALOG,
					  false, "");
	test_classify_one("WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x", "INSERT", "ROW EXCLUSIVE",
					  LINT_EFFECT_WRITES, false, "t");
	test_classify_one("CREATE INDEX ON \"Order\" (id)", "CREATE INDEX", "SHARE", LINT_EFFECT_SCANS, false, "\"Order\"");
	test_classify_one("CREATE VIEW v AS SELECT 1", "CREATE (other object)", "none", LINT_EFFECT_CATALOG, false, "");

	/* A foreign key also locks the table it references. */
	static const char *const fks[] = {
		"ALTER TABLE t ADD CONSTRAINT f FOREIGN KEY (a) REFERENCES app.u (id) NOT VALID",
		"ALTER TABLE t ADD COLUMN a int REFERENCES app.u",
	};
	for (size_t i = 0; i < 2; i++)
	{
		sqlparse_list fl = test_split(fks[i]);
		lint_info fi;
		lint_classify(&fl.items[0], &fi);
		TAP_EQ_STR(fi.ref_table ? fi.ref_table : "", "app.u", "foreign key: the referenced table");
		TAP_EQ_STR(fi.ref_lock ? fi.ref_lock : "", "SHARE ROW EXCLUSIVE", "foreign key: its lock there");
		lint_info_free(&fi);
		sqlparse_list_free(&fl);
	}

	sqlparse_list l = test_split("COMMIT");
	lint_info info;
	lint_classify(&l.items[0], &info);
	TAP_OK(info.tx_control, "COMMIT is transaction control");
	lint_info_free(&info);
	sqlparse_list_free(&l);
}

/* ------------------------------------------------------------------------
 * Migration files and the history check
 * ------------------------------------------------------------------------ */

static void
test_migfile(void)
{
	char *v = NULL, *n = NULL;
	TAP_EQ_INT(migfile_parse_name("20261122093000_add_users.sql", &v, &n), 0, "VERSION_NAME.sql parses");
	TAP_EQ_STR(v, "20261122093000", "version part");
	TAP_EQ_STR(n, "add_users", "name part");
	free(v);
	free(n);
	TAP_EQ_INT(migfile_parse_name("1_a-b_c.sql", &v, &n), 0, "short version, dashes and underscores");
	free(v);
	free(n);
	TAP_EQ_INT(migfile_parse_name("add_users.sql", &v, &n), -1, "no version refused");
	TAP_EQ_INT(migfile_parse_name("12_.sql", &v, &n), -1, "empty name refused");
	TAP_EQ_INT(migfile_parse_name("12_a b.sql", &v, &n), -1, "space in name refused");
	TAP_EQ_INT(migfile_parse_name("12_ab.sql.bak", &v, &n), -1, "other extension refused");
	TAP_OK(migfile_compare_versions("9", "10") < 0, "versions compare as numbers");
	TAP_OK(migfile_compare_versions("007", "7") == 0, "leading zeros ignored");
	TAP_OK(migfile_compare_versions("20261122093000", "20261122093001") < 0, "timestamps order");
	char *h = migfile_sha256_hex("abc", 3);
	TAP_EQ_STR(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "SHA-256 of abc");
	free(h);

	migfile f = {0};
	pgc_err err = PGC_ERR_INIT;
	const char *text = "-- header comment\n-- migrate:up\nCREATE TABLE a (x int);\nSELECT '-- migrate:down';\n"
		"-- migrate:down\nDROP TABLE a;\n";
	TAP_EQ_INT(migfile_parse_text("1_a.sql", text, strlen(text), &f, &err), 0, "sections parse");
	TAP_EQ_INT(f.up.n, 2, "up section has two statements (a marker in a string is not a marker)");
	TAP_EQ_INT(f.up.items[0].line, 3, "statement lines count from the top of the file");
	TAP_EQ_INT(f.down.n, 1, "down section has one statement");
	TAP_OK(f.has_down, "down section found");
	sqlparse_list_free(&f.up);
	sqlparse_list_free(&f.down);
	const char *dbmate = "-- migrate:up transaction:false\nCREATE INDEX CONCURRENTLY i ON t (a);\n";
	TAP_EQ_INT(migfile_parse_text("5_dbmate.sql", dbmate, strlen(dbmate), &f, &err), 0,
			   "dbmate's transaction:false after the marker is accepted");
	TAP_EQ_INT(f.up.n, 1, "dbmate file's statement found");
	sqlparse_list_free(&f.up);
	sqlparse_list_free(&f.down);
	const char *notmarker = "-- migrate:upgrade\nSELECT 1;\n";
	TAP_EQ_INT(migfile_parse_text("6_x.sql", notmarker, strlen(notmarker), &f, &err), -1,
			   "-- migrate:upgrade is not a marker");
	err_clear(&err);
	const char *bom = "\xEF\xBB\xBF-- migrate:up\r\nSELECT 1;\r\n-- migrate:down\r\nSELECT 2;\r\n";
	TAP_EQ_INT(migfile_parse_text("4_bom.sql", bom, strlen(bom), &f, &err), 0,
			   "a byte order mark and CRLF line ends are accepted");
	TAP_OK(f.up.n == 1 && f.down.n == 1 && strcmp(f.up.items[0].sql, "SELECT 1") == 0, "CRLF sections split");
	sqlparse_list_free(&f.up);
	sqlparse_list_free(&f.down);
	err_clear(&err);
	const char *noup = "-- migrate:down\nDROP TABLE a;\n";
	TAP_EQ_INT(migfile_parse_text("2_b.sql", noup, strlen(noup), &f, &err), -1, "no up section refused");
	TAP_EQ_STR(err.message, "migration file 2_b.sql has no \"-- migrate:up\" section", "no up section message");
	err_clear(&err);
	const char *indented = "  -- migrate:up\nSELECT 1; -- migrate:down\n";
	TAP_EQ_INT(migfile_parse_text("3_c.sql", indented, strlen(indented), &f, &err), 0,
			   "indented marker counts; one after SQL on a line does not");
	TAP_OK(!f.has_down && f.up.n == 1, "trailing comment is not a down section");
	sqlparse_list_free(&f.up);
	sqlparse_list_free(&f.down);
}

static history_row
test_row(const char *version, const char *name, const char *checksum, const char *prev_chain, long long seq)
{
	history_row r = {0};
	r.version = xstrdup(version);
	r.name = xstrdup(name);
	r.checksum = xstrdup(checksum);
	r.chain = history_chain_next(prev_chain, version, checksum);
	r.applied_at = xstrdup("2026-11-22T00:00:00Z");
	r.applied_by = xstrdup("postgres");
	r.seq = seq;
	return r;
}

static migfile
test_file(const char *version, const char *name, const char *checksum)
{
	migfile f = {0};
	f.version = xstrdup(version);
	f.name = xstrdup(name);
	f.file = xasprintf("%s_%s.sql", version, name);
	f.checksum = xstrdup(checksum);
	return f;
}

/* Runs history_check and returns the drift kinds, comma-separated. */
static const char *
test_drift(history *h, migfile_set *fs)
{
	static char out[256];
	out[0] = '\0';
	history_drift_list dl;
	history_check(h, fs, &dl);
	for (size_t i = 0; i < dl.n; i++)
	{
		if (out[0])
			strcat(out, ",");
		strcat(out, history_drift_name(dl.items[i].kind));
	}
	history_drift_free(&dl);
	return out;
}

static void
test_history(void)
{
	char *c1 = history_chain_next("", "1", "aa");
	char *c2 = history_chain_next(c1, "2", "bb");
	char *c2b = history_chain_next(c1, "2", "bc");
	TAP_OK(strlen(c1) == 64 && strcmp(c2, c2b) != 0, "the chain depends on every checksum");
	free(c2b);

	history h = {0};
	h.exists = true;
	h.n = 2;
	h.rows = xcalloc(3, sizeof *h.rows);
	h.rows[0] = test_row("1", "a", "aa", "", 1);
	h.rows[1] = test_row("2", "b", "bb", h.rows[0].chain, 2);
	migfile_set fs = {0};
	fs.items = xcalloc(4, sizeof *fs.items);
	fs.items[0] = test_file("1", "a", "aa");
	fs.items[1] = test_file("2", "b", "bb");
	fs.items[2] = test_file("3", "c", "cc");
	fs.n = 3;
	TAP_EQ_STR(test_drift(&h, &fs), "", "in sync: no drift, a pending file is fine");
	free(fs.items[1].checksum);
	fs.items[1].checksum = xstrdup("XX");
	TAP_EQ_STR(test_drift(&h, &fs), "edited", "edited file");
	free(fs.items[1].checksum);
	fs.items[1].checksum = xstrdup("bb");
	free(fs.items[1].name);
	fs.items[1].name = xstrdup("bee");
	TAP_EQ_STR(test_drift(&h, &fs), "renamed", "renamed file");
	free(fs.items[1].name);
	fs.items[1].name = xstrdup("b");
	/* swap the contents of 1 and 2 */
	free(fs.items[0].checksum);
	free(fs.items[1].checksum);
	fs.items[0].checksum = xstrdup("bb");
	fs.items[1].checksum = xstrdup("aa");
	TAP_EQ_STR(test_drift(&h, &fs), "reordered,reordered", "swapped versions");
	free(fs.items[0].checksum);
	free(fs.items[1].checksum);
	fs.items[0].checksum = xstrdup("aa");
	fs.items[1].checksum = xstrdup("bb");
	/* remove 2: move 3 down */
	migfile two = fs.items[1];
	fs.items[1] = fs.items[2];
	fs.n = 2;
	TAP_EQ_STR(test_drift(&h, &fs), "removed", "removed file");
	fs.items[2] = fs.items[1];
	fs.items[1] = two;
	fs.n = 3;
	fs.items[3] = test_file("0", "early", "ee");
	fs.n = 4;
	TAP_EQ_STR(test_drift(&h, &fs), "out-of-order", "unapplied file before the last applied one");
	fs.n = 3;
	free(h.rows[0].checksum);
	h.rows[0].checksum = xstrdup("ZZ");
	TAP_EQ_STR(test_drift(&h, &fs), "history-changed,edited", "history row edited by hand breaks the chain");

	free(c1);
	free(c2);
	for (size_t i = 0; i < 4; i++)
	{
		free(fs.items[i].version);
		free(fs.items[i].name);
		free(fs.items[i].file);
		free(fs.items[i].checksum);
	}
	free(fs.items);
	history_free(&h);
}

int
main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "lockexec") == 0)
	{
		const char *uri = getenv("PGCARRY_TEST_URI");
		if (!uri)
		{
			printf("1..0 # SKIP PGCARRY_TEST_URI not set\n");
			return 0;
		}
		log_setup(LOG_WARNING, LOG_FORMAT_TEXT);	/* the retries' notices are expected */
		test_lockexec(uri);
		test_lockexec_deadlock(uri);
		return TAP_DONE();
	}
	test_splitter();
	test_parser_errors();
	test_lint_rules();
	test_classify();
	test_migfile();
	test_history();
	return TAP_DONE();
}
