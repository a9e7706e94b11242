/*
 * test_schema.c: unit tests of the schema-migration module.
 *
 *   test_schema            pure logic: the SQL splitter, the statement
 *                          classifier and lint rules, migration file names
 *                          and sections, the hash chain
 *   test_schema lockexec   lockexec against the real server named by
 *                          PGCARRY_TEST_URI (tests/t/50-schema-lockexec.t
 *                          starts one)
 */
#include "tap.h"

#include "conn.h"
#include "schema/lockexec.h"
#include "util/backoff.h"
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

	TAP_EQ_INT(lockexec_run(c, "DROP TABLE IF EXISTS t, marks; CREATE TABLE t (id int); "
							"CREATE TABLE marks (m text)", &o, &err), 0, "simple DDL runs");
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

	/* A plain SQL error is not retried. */
	t0 = test_now_ms();
	TAP_EQ_INT(lockexec_run(c, "ALTER TABLE nosuch ADD COLUMN z int", &o, &err), -1, "error fails");
	TAP_EQ_STR(err.sqlstate, "42P01", "server SQLSTATE kept");
	TAP_OK(test_now_ms() - t0 < 1000, "no retry on a non-lock error");
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
		test_lockexec(uri);
		return TAP_DONE();
	}
	return TAP_DONE();
}
