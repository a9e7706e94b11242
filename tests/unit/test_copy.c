/* test_copy.c: the pure logic under copy and compare: cutting tables into
 * slices, batches of large objects, the COPY statements, the COPY byte
 * stream hasher, the roles script filter, the work queue, pg_dump's name
 * patterns turned into regular expressions. */
#include "core/catalog.h"
#include "core/job.h"
#include "core/plan.h"
#include "core/ddl.h"
#include "core/progress.h"
#include "core/state.h"
#include "core/stream.h"
#include "tap.h"
#include "core/verify.h"
#include "core/workq.h"

#include <sys/stat.h>

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void
test_ranges(void)
{
	stream_range r[COPY_PLAN_MAX_PARTS];
	int			n = copy_plan_ranges(0, 100, 10, r);
	TAP_EQ_INT(n, 1, "an empty table is one slice");
	TAP_EQ_INT(r[0].first_page, -1, "the one slice is the whole table");
	n = copy_plan_ranges(199, 100, 10, r);
	TAP_EQ_INT(n, 1, "less than two slices' worth is not cut");
	n = copy_plan_ranges(1000, 100, 64, r);
	TAP_EQ_INT(n, 10, "1000 pages in slices of 100: 10 slices");
	TAP_EQ_INT(r[0].first_page, 0, "the first slice starts at page 0");
	TAP_EQ_INT(r[0].end_page, 100, "the first slice ends at page 100");
	TAP_EQ_INT(r[9].first_page, 900, "the last slice starts at page 900");
	TAP_EQ_INT(r[9].end_page, -1, "the last slice is open-ended");
	bool		contiguous = true;
	for (int i = 1; i < n; i++)
		if (r[i].first_page != r[i - 1].end_page)
			contiguous = false;
	TAP_OK(contiguous, "slices are contiguous");
	n = copy_plan_ranges(1050, 100, 64, r);
	TAP_EQ_INT(n, 11, "a remainder makes one more slice");
	n = copy_plan_ranges(100000, 10, 8, r);
	TAP_EQ_INT(n, 8, "at most max_parts slices");
	TAP_EQ_INT(r[1].first_page, 12500, "slices grow to respect max_parts");
	TAP_EQ_INT(r[7].end_page, -1, "the last of the capped slices is open-ended");
	n = copy_plan_ranges(1000, 100, 1, r);
	TAP_EQ_INT(n, 1, "max_parts 1 means whole");

	TAP_OK(!copy_plan_should_split(1LL << 40, 1 << 20, 1, 150000), "one job: never split");
	TAP_OK(!copy_plan_should_split(1LL << 40, 1 << 20, 4, 130000), "PostgreSQL 13: never split");
	TAP_OK(copy_plan_should_split(2 << 20, 1 << 20, 2, 140000), "twice the split size on 14 with 2 jobs: split");
	TAP_OK(!copy_plan_should_split((2 << 20) - 1, 1 << 20, 2, 140000), "just under twice: whole");
}

static void
test_lo_batches(void)
{
	uint32_t	b[] = {100, 600, 1100};
	uint32_t	f, e;
	copy_plan_lo_batch(b, 3, 0, &f, &e);
	TAP_OK(f == 0 && e == 600, "the first batch starts at OID 0");
	copy_plan_lo_batch(b, 3, 1, &f, &e);
	TAP_OK(f == 600 && e == 1100, "a middle batch spans two bounds");
	copy_plan_lo_batch(b, 3, 2, &f, &e);
	TAP_OK(f == 1100 && e == 0, "the last batch has no upper bound");
}

static void
test_sql(void)
{
	char	   *s = stream_copy_out_sql("\"s\".\"t\"", "a, \"B\"", NULL, NULL, STREAM_TEXT);
	TAP_EQ_STR(s, "COPY \"s\".\"t\" (a, \"B\") TO STDOUT", "whole table, text");
	free(s);
	s = stream_copy_out_sql("t", "", NULL, NULL, STREAM_BINARY);
	TAP_EQ_STR(s, "COPY t TO STDOUT (FORMAT binary)", "no columns, binary");
	free(s);
	stream_range r = {10, 20};
	s = stream_copy_out_sql("t", "a", &r, NULL, STREAM_BINARY);
	TAP_EQ_STR(s, "COPY (SELECT a FROM ONLY t WHERE ctid >= '(10,0)'::pg_catalog.tid AND "
			   "ctid < '(20,0)'::pg_catalog.tid) TO STDOUT (FORMAT binary)", "a slice");
	free(s);
	r.end_page = -1;
	s = stream_copy_out_sql("t", "a", &r, "a > 1", STREAM_TEXT);
	TAP_EQ_STR(s, "COPY (SELECT a FROM ONLY t WHERE ctid >= '(10,0)'::pg_catalog.tid AND (a > 1)) TO STDOUT",
			   "an open-ended slice with a filter");
	free(s);
	s = stream_copy_in_sql("t", "a", STREAM_BINARY, true);
	TAP_EQ_STR(s, "COPY t (a) FROM STDIN (FORMAT binary, FREEZE)", "binary load with FREEZE");
	free(s);
	s = stream_copy_in_sql("t", "", STREAM_TEXT, false);
	TAP_EQ_STR(s, "COPY t FROM STDIN", "plain text load");
	free(s);

	/* A partition root that rows load through: its whole tree. */
	stream_range tree = stream_whole(true);
	s = stream_copy_out_sql("\"s\".\"t\"", "a, \"B\"", &tree, NULL, STREAM_BINARY);
	TAP_EQ_STR(s, "COPY (SELECT a, \"B\" FROM \"s\".\"t\") TO STDOUT (FORMAT binary)",
			   "a partitioned table read whole, partitions included");
	free(s);
	s = stream_copy_out_sql("t", "a", &tree, "a > 1", STREAM_TEXT);
	TAP_EQ_STR(s, "COPY (SELECT a FROM t WHERE (a > 1)) TO STDOUT", "a whole tree with a filter");
	free(s);
	stream_range plain = stream_whole(false);
	TAP_EQ_INT((int) plain.first_page, -1, "a table's own rows: the whole-table range");
	s = stream_truncate_sql("t", true);
	TAP_EQ_STR(s, "TRUNCATE t", "a tree is truncated without ONLY");
	free(s);
	s = stream_truncate_sql("t", false);
	TAP_EQ_STR(s, "TRUNCATE ONLY t", "a table is truncated alone");
	free(s);
}

/* A binary COPY stream of rows (one int4 field each), fed in chunks of
 * chunk bytes; returns the hash. */
static int
hash_binary(const int *vals, int n, size_t chunk, rowhash *out, const char *tail, size_t tail_len)
{
	unsigned char buf[4096];
	size_t		len = 0;
	memcpy(buf, "PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0", 19);
	len = 19;
	for (int i = 0; i < n; i++)
	{
		unsigned char row[10] = {0, 1, 0, 0, 0, 4,
			(unsigned char) (vals[i] >> 24), (unsigned char) (vals[i] >> 16),
		(unsigned char) (vals[i] >> 8), (unsigned char) vals[i]};
		memcpy(buf + len, row, 10);
		len += 10;
	}
	memcpy(buf + len, tail, tail_len);
	len += tail_len;
	stream_hasher h;
	stream_hasher_init(&h, STREAM_BINARY);
	for (size_t off = 0; off < len; off += chunk)
		stream_hasher_feed(&h, buf + off, len - off < chunk ? len - off : chunk);
	pgc_err		err = PGC_ERR_INIT;
	int			rc = stream_hasher_finish(&h, out, &err);
	err_clear(&err);
	stream_hasher_free(&h);
	return rc;
}

static void
test_hasher(void)
{
	int			a[] = {1, 2, 3, 3};
	int			b[] = {3, 2, 3, 1};
	rowhash		h1, h2, h3;
	TAP_EQ_INT(hash_binary(a, 4, 1, &h1, "\377\377", 2), 0, "binary stream fed byte by byte");
	TAP_EQ_INT(hash_binary(b, 4, 7, &h2, "\377\377", 2), 0, "binary stream fed in 7-byte chunks");
	TAP_EQ_INT(h1.rows, 4, "four rows counted");
	TAP_OK(rowhash_equal(&h1, &h2), "row order and chunking do not change the checksum");
	int			c[] = {1, 2, 3, 4};
	hash_binary(c, 4, 4096, &h3, "\377\377", 2);
	TAP_OK(!rowhash_equal(&h1, &h3), "a different row changes the checksum");
	TAP_EQ_INT(hash_binary(a, 4, 5, &h3, "", 0), -1, "a binary stream without its trailer is refused");
	TAP_EQ_INT(hash_binary(a, 4, 5, &h3, "\0\1\0", 3), -1, "a binary stream cut inside a row is refused");

	/* The same rows hashed as CopyData messages would be, by hand. */
	rowhash		m;
	rowhash_init(&m);
	for (int i = 0; i < 4; i++)
	{
		unsigned char row[10] = {0, 1, 0, 0, 0, 4, 0, 0, 0, (unsigned char) a[i]};
		rowhash_add(&m, row, 10);
	}
	TAP_OK(rowhash_equal(&h1, &m), "the hasher gives a row the checksum of its CopyData message");

	stream_hasher t;
	stream_hasher_init(&t, STREAM_TEXT);
	stream_hasher_feed(&t, "1\ta\n2\t", 6);
	stream_hasher_feed(&t, "b\n", 2);
	rowhash		th, tm;
	pgc_err		err = PGC_ERR_INIT;
	TAP_EQ_INT(stream_hasher_finish(&t, &th, &err), 0, "text stream split inside a row");
	stream_hasher_free(&t);
	rowhash_init(&tm);
	rowhash_add(&tm, "2\tb\n", 4);
	rowhash_add(&tm, "1\ta\n", 4);
	TAP_OK(rowhash_equal(&th, &tm), "text rows hash like their messages");
	stream_hasher_init(&t, STREAM_TEXT);
	stream_hasher_feed(&t, "1\ta", 3);
	TAP_EQ_INT(stream_hasher_finish(&t, &th, &err), -1, "a text stream ending inside a row is refused");
	TAP_EQ_STR(err.message, "the COPY data ends in the middle of a row", "its message");
	err_clear(&err);
	stream_hasher_free(&t);
}

static char *
xasprintf_test(const char *a, const char *b)
{
	size_t		n = strlen(a) + strlen(b) + 1;
	char	   *s = malloc(n);
	snprintf(s, n, "%s%s", a, b);
	return s;
}

/* A state file in a new temporary directory dir (a mkdtemp template),
 * under its subdirectory sub; *where (may be NULL) receives that path (the
 * caller frees it).  NULL after a failed check named name. */
static state *
state_open_test(char *dir, const char *sub, const char *name, char **where)
{
	if (!mkdtemp(dir))
		return NULL;
	char	   *path = xasprintf_test(dir, sub);
	pgc_err		err = PGC_ERR_INIT;
	state	   *s = state_open(path, "copy", "127.0.0.1:5432", "127.0.0.1:5433", &err);
	TAP_OK(s != NULL, name);
	err_clear(&err);
	if (where)
		*where = path;
	else
		free(path);
	return s;
}

/* Removes the temporary directory dir and all it holds. */
static void
rm_rf_test(const char *dir)
{
	char		cmd[256];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
}

static char *
slurp(const char *path)
{
	FILE	   *f = fopen(path, "r");
	if (!f)
		return NULL;
	static char buf[8192];
	size_t		n = fread(buf, 1, sizeof buf - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void
test_roles_filter(void)
{
	char		dir[] = "/tmp/pgcarry-test-copy.XXXXXX";
	if (!mkdtemp(dir))
		return;
	char		in[256], out[256];
	snprintf(in, sizeof in, "%s/in.sql", dir);
	snprintf(out, sizeof out, "%s/out.sql", dir);
	FILE	   *f = fopen(in, "w");
	fputs("SET default_transaction_read_only = off;\n"
		  "CREATE ROLE alice;\n"
		  "ALTER ROLE alice WITH NOSUPERUSER INHERIT LOGIN PASSWORD 'SCRAM-SHA-256$x';\n"
		  "CREATE ROLE postgres;\n"
		  "ALTER ROLE postgres WITH SUPERUSER;\n"
		  "CREATE ROLE \"Odd \"\"One\"\"\";\n"
		  "ALTER ROLE \"Odd \"\"One\"\"\" WITH NOLOGIN;\n"
		  "COMMENT ON ROLE postgres IS 'the boss';\n"
		  "ALTER ROLE postgres SET search_path TO app;\n"
		  "GRANT readers TO alice GRANTED BY postgres;\n"
		  "GRANT readers TO postgres GRANTED BY postgres;\n", f);
	fclose(f);
	char	   *existing[] = {"postgres", "Odd \"One\"", "readers"};
	int			skipped = -1;
	pgc_err		err = PGC_ERR_INIT;
	TAP_EQ_INT(ddl_filter_roles(in, out, existing, 3, &skipped, &err), 0, "roles script filtered");
	TAP_EQ_INT(skipped, 2, "two existing roles met");
	TAP_EQ_STR(slurp(out),
			   "SET default_transaction_read_only = off;\n"
			   "CREATE ROLE alice;\n"
			   "ALTER ROLE alice WITH NOSUPERUSER INHERIT LOGIN PASSWORD 'SCRAM-SHA-256$x';\n"
			   "GRANT readers TO alice GRANTED BY postgres;\n",
			   "existing roles are left alone; new roles and their memberships kept");
	err_clear(&err);
	unlink(in);
	unlink(out);
	rmdir(dir);
}

static atomic_int wq_sum;
static atomic_int wq_started;
static workq *wq_self;

static void *
wq_start(int worker, void *ctx)
{
	(void) worker;
	(void) ctx;
	atomic_fetch_add(&wq_started, 1);
	return NULL;
}

static void
wq_run(void *task, int worker, void *state, void *ctx)
{
	(void) worker;
	(void) state;
	(void) ctx;
	intptr_t	v = (intptr_t) task;
	atomic_fetch_add(&wq_sum, (int) v);
	/* A task may push more: 100 pushes 1 three times. */
	if (v == 100)
		for (int i = 0; i < 3; i++)
			workq_push(wq_self, (void *) (intptr_t) 1, 0);
}

static void
test_workq(void)
{
	workq_ops	ops = {wq_start, wq_run, NULL, NULL, NULL};
	wq_self = workq_create(4, &ops, NULL);
	for (int i = 1; i <= 50; i++)
		workq_push(wq_self, (void *) (intptr_t) i, i);
	workq_push(wq_self, (void *) (intptr_t) 100, 0);
	TAP_OK(workq_wait(wq_self), "the queue drains, tasks pushed by tasks included");
	TAP_EQ_INT(atomic_load(&wq_sum), 1275 + 100 + 3, "every task ran exactly once");
	workq_stop(wq_self);
	TAP_OK(workq_stopped(wq_self), "a stopped queue says so");
	workq_push(wq_self, (void *) (intptr_t) 1000, 0);
	TAP_OK(workq_wait(wq_self) == false, "a push after stop is dropped");
	TAP_EQ_INT(atomic_load(&wq_sum), 1378, "the dropped task never ran");
	workq_destroy(wq_self);
	TAP_EQ_INT(atomic_load(&wq_started), 4, "every worker started");
}

/* The job runner without servers: units that push units, the finish step
 * after the last one, a stopped run abandoning its database. */
static atomic_int jr_ran;
static atomic_int jr_freed;
static atomic_int jr_finished;
static atomic_int jr_ran_at_finish;
static atomic_int jr_abandoned;

static void
jr_run(job_worker *w, job_db *d, void *unit)
{
	(void) w;
	int			n = *(int *) unit;
	atomic_fetch_add(&jr_ran, 1);
	if (n > 0)
	{
		int		   *more = malloc(sizeof *more);
		*more = n - 1;
		job_push(d, more, 0);
	}
}

static void
jr_free(void *unit)
{
	atomic_fetch_add(&jr_freed, 1);
	free(unit);
}

static void
jr_finish(job_worker *w, job_db *d)
{
	(void) w;
	(void) d;
	atomic_store(&jr_ran_at_finish, atomic_load(&jr_ran));
	atomic_fetch_add(&jr_finished, 1);
}

static void
jr_abandon(job_db *d)
{
	(void) d;
	atomic_fetch_add(&jr_abandoned, 1);
}

static void
test_job(void)
{
	job_ops		ops = {.run = jr_run, .unit_free = jr_free, .finish = jr_finish, .finish_priority = INT64_MAX,
	.abandon = jr_abandon};
	const char *ends[2] = {NULL, NULL};
	job_run    *r = job_run_create(3, &ops, ends, NULL, NULL);
	job_db	   *d = job_db_create(r, 0, "db", "UTF8", NULL);
	for (int i = 0; i < 10; i++)
	{
		int		   *u = malloc(sizeof *u);
		*u = 4;					/* each unit pushes four more, one by one */
		job_push(d, u, i);
	}
	TAP_EQ_INT(atomic_load(&jr_finished), 0, "no finish step while the coordinator plans");
	job_db_planned(d);
	TAP_OK(job_run_wait(r), "the run drains");
	TAP_EQ_INT(atomic_load(&jr_ran), 50, "every unit ran once, units pushed by units included");
	TAP_EQ_INT(atomic_load(&jr_freed), 50, "every unit was freed");
	TAP_EQ_INT(atomic_load(&jr_finished), 1, "the finish step ran once");
	TAP_EQ_INT(atomic_load(&jr_ran_at_finish), 50, "the finish step ran after the last unit");
	TAP_EQ_INT(atomic_load(&jr_abandoned), 0, "nothing abandoned");
	TAP_OK(!job_db_failed(d), "no failure recorded");
	job_db_destroy(d);

	/* A stopped run: units are dropped (and freed), the database abandoned. */
	job_db	   *d2 = job_db_create(r, 1, "db2", "UTF8", NULL);
	job_run_stop(r);
	int		   *u = malloc(sizeof *u);
	*u = 0;
	job_push(d2, u, 0);
	job_db_planned(d2);
	TAP_OK(!job_run_wait(r), "a stopped run says so");
	TAP_EQ_INT(atomic_load(&jr_ran), 50, "a unit pushed after the stop never runs");
	TAP_EQ_INT(atomic_load(&jr_freed), 51, "the dropped unit is freed");
	TAP_EQ_INT(atomic_load(&jr_finished), 1, "no finish step for an abandoned database");
	TAP_EQ_INT(atomic_load(&jr_abandoned), 1, "the database is abandoned once");
	pgc_err		err = PGC_ERR_INIT;
	err_set(&err, "lost");
	job_fail(d2, "table", "t", &err);
	err_clear(&err);
	TAP_OK(job_db_failed(d2), "a failure is recorded on its database");
	job_db_destroy(d2);
	job_run_destroy(r);

	/* The parts of one thing. */
	job_parts	p = {0};
	job_parts_init(&p, 3);
	rowhash		a, b, out[2];
	rowhash_init(&a);
	rowhash_init(&b);
	rowhash_add(&a, "x", 1);
	rowhash_add(&b, "y", 1);
	bool		failed = true;
	TAP_OK(!job_parts_over(&p, &a, NULL, false, out, &failed), "the first part is not the last");
	TAP_OK(!job_parts_over(&p, NULL, &b, false, out, &failed), "nor the second");
	TAP_OK(job_parts_over(&p, &b, &a, false, out, &failed), "the third concludes");
	TAP_OK(!failed, "no part failed");
	rowhash		both;
	rowhash_init(&both);
	rowhash_add(&both, "x", 1);
	rowhash_add(&both, "y", 1);
	TAP_OK(rowhash_equal(&out[0], &both) && rowhash_equal(&out[1], &both), "each side's parts add up");
	TAP_EQ_INT(out[0].rows, 2, "rows add up");
	job_parts_init(&p, 2);
	TAP_OK(!job_parts_over(&p, NULL, NULL, true, NULL, NULL), "a failed part");
	TAP_OK(job_parts_over(&p, &a, NULL, false, out, &failed) && failed, "fails the whole");
	job_parts_destroy(&p);
}

/* The runner's resume record: a unit over is recorded done, a failed one
 * is not, a unit done is kept on resume, a database is recorded finished
 * only after its finish step said so. */
typedef struct jrr_unit
{
	const char *key;
	bool		fail;
} jrr_unit;

static atomic_int jrr_ran;
static atomic_bool jrr_say_done;

static void
jrr_run(job_worker *w, job_db *d, void *unit)
{
	(void) w;
	const jrr_unit *u = unit;
	atomic_fetch_add(&jrr_ran, 1);
	rowhash		h;
	rowhash_init(&h);
	rowhash_add(&h, u->key, strlen(u->key));
	if (u->fail)
	{
		pgc_err		err = PGC_ERR_INIT;
		err_set(&err, "connection lost");
		job_fail(d, "table", u->key, &err);
		err_clear(&err);
	}
	job_unit_done(d, u->key, &h);	/* after a failure: not recorded */
}

static void
jrr_finish(job_worker *w, job_db *d)
{
	(void) w;
	if (atomic_load(&jrr_say_done))
		job_db_done(d);
}

/* Runs the units named in keys (the ones whose name starts with '!' fail)
 * for database name with the record st; resume as job_db_set_state.  Units
 * the record keeps are not queued; *kept counts them.  stop: the run is
 * stopped before the database is planned. */
static void
jrr_db(state *st, const char *name, bool resume, bool verified, const char *const *keys, int n, bool stop,
	   int *kept)
{
	job_ops		ops = {.run = jrr_run, .finish = jrr_finish, .finish_priority = INT64_MAX};
	const char *ends[2] = {NULL, NULL};
	job_run    *r = job_run_create(2, &ops, ends, NULL, NULL);
	job_db	   *d = job_db_create(r, 0, name, "UTF8", NULL);
	job_db_set_state(d, st, resume, verified);
	*kept = 0;
	if (stop)
		job_run_stop(r);
	for (int i = 0; i < n; i++)
	{
		jrr_unit   *u = malloc(sizeof *u);
		u->fail = keys[i][0] == '!';
		u->key = keys[i] + (u->fail ? 1 : 0);
		state_unit	rec;
		pgc_err		err = PGC_ERR_INIT;
		int			k = job_unit_kept(d, u->key, &rec, &err);
		err_clear(&err);
		if (k == 1)
		{
			(*kept)++;
			free(u);
			continue;
		}
		job_push(d, u, 0);
	}
	job_db_planned(d);
	job_run_wait(r);
	job_run_destroy(r);
	job_db_destroy(d);
}

static void
test_job_record(void)
{
	char		dir[] = "/tmp/pgcarry-test-jobrec.XXXXXX";
	state	   *st = state_open_test(dir, "", "the record opens", NULL);
	if (!st)
		return;
	pgc_err		err = PGC_ERR_INIT;
	state_unit	u;
	state_phase ph;
	int			kept;
	atomic_store(&jrr_say_done, true);

	/* A first run: b fails. */
	const char *const first[] = {"a", "!b", "c"};
	jrr_db(st, "db", false, false, first, 3, false, &kept);
	TAP_EQ_INT(atomic_load(&jrr_ran), 3, "every unit ran");
	state_unit_get(st, "db", "a", &u, &err);
	TAP_OK(u.done && u.hash.rows == 1, "a unit over is recorded done, with its checksum");
	state_unit_get(st, "db", "b", &u, &err);
	TAP_OK(!u.done, "a unit that failed is not recorded");
	state_db_get(st, "db", &ph, &err);
	TAP_OK(ph != STATE_VERIFIED, "a database with a failed unit is not recorded finished");

	/* Resumed: a and c are kept, b runs again. */
	const char *const again[] = {"a", "b", "c"};
	jrr_db(st, "db", true, false, again, 3, false, &kept);
	TAP_EQ_INT(kept, 2, "on resume, the units recorded done are kept");
	TAP_EQ_INT(atomic_load(&jrr_ran), 4, "and only the one not done runs again");
	state_db_get(st, "db", &ph, &err);
	TAP_EQ_INT(ph, STATE_VERIFIED, "the database is recorded finished after its finish step");

	/* Not resuming: every unit is new, whatever the record holds. */
	jrr_db(st, "db", false, false, again, 3, false, &kept);
	TAP_EQ_INT(kept, 0, "without --resume nothing is kept");
	TAP_EQ_INT(atomic_load(&jrr_ran), 7, "and every unit runs");

	/* With verification, a unit done but not verified is not kept. */
	job_run    *vr = job_run_create(1, &(job_ops) {.run = jrr_run}, (const char *[2]) {NULL, NULL}, NULL, NULL);
	job_db	   *vd = job_db_create(vr, 0, "db", "UTF8", NULL);
	job_db_set_state(vd, st, true, true);
	TAP_EQ_INT(job_unit_kept(vd, "a", &u, &err), 0, "a unit done but not verified is not kept when verifying");
	TAP_OK(u.done, "its record says done (to verify only)");
	job_unit_verified(vd, "a", true);
	TAP_EQ_INT(job_unit_kept(vd, "a", &u, &err), 1, "once verified, it is kept");
	TAP_EQ_INT(job_db_phase(vd, STATE_PRE_DATA, &err), 0, "a phase is recorded");
	state_db_get(st, "db", &ph, &err);
	TAP_EQ_INT(ph, STATE_PRE_DATA, "under the database's name");
	job_db_planned(vd);
	job_run_destroy(vr);
	job_db_destroy(vd);

	/* A stopped run: the finish step never runs. */
	const char *const one[] = {"x"};
	jrr_db(st, "db3", false, false, one, 1, true, &kept);
	state_db_get(st, "db3", &ph, &err);
	TAP_OK(ph != STATE_VERIFIED, "a database whose finish step did not run is not recorded finished");
	/* A finish step that does not say the database is finished. */
	atomic_store(&jrr_say_done, false);
	jrr_db(st, "db4", false, false, one, 1, false, &kept);
	state_db_get(st, "db4", &ph, &err);
	TAP_OK(ph != STATE_VERIFIED, "nor one whose finish step did not say it is finished");
	state_unit_get(st, "db4", "x", &u, &err);
	TAP_OK(u.done, "its units over are recorded all the same");
	TAP_OK(!err.set, "no error on the way");
	err_clear(&err);
	state_close(st);
	rm_rf_test(dir);
}

static void
test_state(void)
{
	char		dir[] = "/tmp/pgcarry-test-state.XXXXXX";
	char	   *sub = NULL;
	state	   *s = state_open_test(dir, "/a/b", "state opens, creating its directories", &sub);
	if (!s)
	{
		free(sub);
		return;
	}
	pgc_err		err = PGC_ERR_INIT;
	struct stat st;
	TAP_OK(stat(sub, &st) == 0 && (st.st_mode & 0777) == 0700, "state directory mode 0700");
	TAP_OK(stat(state_path(s), &st) == 0 && (st.st_mode & 0777) == 0600, "state file mode 0600");
	state	   *again = state_open(sub, "copy", "127.0.0.1:5432", "127.0.0.1:5433", &err);
	TAP_OK(again == NULL, "a second run on the same pair is refused");
	TAP_CONTAINS(err.message, "another pgcarry copy between the same servers is running", "refusal message");
	err_clear(&err);
	state	   *other = state_open(sub, "copy", "127.0.0.1:5432", "127.0.0.1:5999", &err);
	TAP_OK(other != NULL, "another pair has its own state");
	state_close(other);

	state_phase ph = STATE_VERIFIED;
	TAP_EQ_INT(state_db_get(s, "db", &ph, &err), 0, "phase of an unknown database");
	TAP_EQ_INT(ph, STATE_NONE, "is none");
	state_db_set(s, "db", STATE_PRE_DATA, &err);
	state_db_get(s, "db", &ph, &err);
	TAP_EQ_INT(ph, STATE_PRE_DATA, "a phase is kept");
	TAP_EQ_STR(state_phase_name(ph), "pre-data done", "phase names");

	rowhash		h;
	rowhash_init(&h);
	rowhash_add(&h, "1\n", 2);
	rowhash_add(&h, "2\n", 2);
	state_unit	u;
	state_unit_get(s, "db", "table \"t\"", &u, &err);
	TAP_OK(!u.done, "an unknown unit is not done");
	state_unit_done(s, "db", "table \"t\"", &h, &err);
	state_unit_get(s, "db", "table \"t\"", &u, &err);
	TAP_OK(u.done && !u.verified && rowhash_equal(&u.hash, &h), "a done unit keeps rows and checksum");
	state_unit_verified(s, "db", "table \"t\"", true, &err);
	state_unit_get(s, "db", "table \"t\"", &u, &err);
	TAP_OK(u.verified, "and whether it was verified");
	state_close(s);

	s = state_open(sub, "copy", "127.0.0.1:5432", "127.0.0.1:5433", &err);
	TAP_OK(s != NULL, "the state opens again once closed");
	state_unit_get(s, "db", "table \"t\"", &u, &err);
	TAP_OK(u.done && u.verified && u.hash.rows == 2, "and remembers");
	state_db_forget(s, "db", &err);
	state_unit_get(s, "db", "table \"t\"", &u, &err);
	state_db_get(s, "db", &ph, &err);
	TAP_OK(!u.done && ph == STATE_NONE, "forgetting a database forgets its units");
	TAP_OK(!err.set, "no error on the way");
	state_close(s);
	err_clear(&err);
	free(sub);
	rm_rf_test(dir);
}

static void
test_report(void)
{
	verify_mode m;
	TAP_EQ_INT(verify_parse_mode("count", &m), 0, "verify mode count");
	TAP_EQ_INT(verify_parse_mode("fast", &m), -1, "an unknown verify mode");
	progress_mode pm;
	TAP_EQ_INT(progress_parse_mode("json", &pm), 0, "progress mode json");
	TAP_EQ_INT(progress_parse_mode("fancy", &pm), -1, "an unknown progress mode");

	verify_report *r = verify_report_create(VERIFY_FULL, "source", "target");
	rowhash		a, b;
	rowhash_init(&a);
	rowhash_add(&a, "x\n", 2);
	b = a;
	verify_report_table(r, "db", "public.t", &a, &b, NULL);
	rowhash_add(&b, "y\n", 2);
	TAP_EQ_INT(verify_report_table(r, "db", "public.u", &a, &b, NULL), VERIFY_DIFFERENT, "a table with another row differs");
	verify_report_sequence(r, "db", "public.s", "5", true, "5", true);
	verify_report_schema(r, "db", "index", "public.i", "missing on the target");
	TAP_EQ_INT(verify_report_problems(r, "db"), 2, "two problems");
	TAP_EQ_INT(verify_report_problems(r, "other"), 0, "none in another database");
	char	   *text = NULL;
	size_t		len = 0;
	FILE	   *f = open_memstream(&text, &len);
	TAP_EQ_INT(verify_report_print(r, f, true), 2, "print returns the number of problems");
	fclose(f);
	TAP_CONTAINS(text, "Verification (row count and checksum), source against target:\n\n"
				 "DATABASE  OBJECT             SOURCE ROWS  TARGET ROWS  CHECKSUM  STATUS\n"
				 "db        index public.i               -            -  -         missing on target\n"
				 "db        table public.t               1            1  equal     ok\n"
				 "db        table public.u               1            2  differs   different\n"
				 "db        sequence public.s            5            5  -         ok\n",
				 "the report is a table, sorted by database, kind and name");
	TAP_CONTAINS(text, "db: 2 tables, 1 sequence: 2 problems\n"
				 "Verification found 2 problems in 1 of 1 database.\n", "summary and verdict");
	free(text);
	verify_report_free(r);

	r = verify_report_create(VERIFY_COUNT, "source", "target");
	rowhash		c = a;
	c.lo ^= 1;				/* same count, other checksum */
	TAP_EQ_INT(verify_report_table(r, "db", "t", &a, &c, NULL), VERIFY_OK, "count mode compares counts only");
	TAP_EQ_INT(verify_report_large_objects(r, "db", &a, &c), VERIFY_OK, "count mode: large objects by number");
	verify_report_free(r);
}

/* One pattern: its schema and name regexes ("-" for none), or its error. */
static void
check_pattern(const char *pattern, bool schema_only, const char *want_schema, const char *want_name,
			  const char *want_why)
{
	char	   *sre = NULL,
			   *nre = NULL;
	const char *why = NULL;
	int			rc = catalog_pattern_regex(pattern, schema_only, &sre, &nre, &why);
	if (want_why)
	{
		TAP_EQ_INT(rc, -1, pattern);
		TAP_EQ_STR(why ? why : "", want_why, pattern);
	}
	else
	{
		TAP_EQ_INT(rc, 0, pattern);
		TAP_EQ_STR(sre ? sre : "-", want_schema, pattern);
		TAP_EQ_STR(nre ? nre : "-", want_name, pattern);
	}
	free(sre);
	free(nre);
}

static void
test_patterns(void)
{
	check_pattern("users", false, "-", "^(users)$", NULL);
	check_pattern("Users", false, "-", "^(users)$", NULL);
	check_pattern("\"Users\"", false, "-", "^(Users)$", NULL);
	check_pattern("sales.q?", false, "^(sales)$", "^(q.)$", NULL);
	check_pattern("s*.archive_*", false, "^(s.*)$", "^(archive_.*)$", NULL);
	check_pattern("\"Odd.Schema\".t", false, "^(Odd\\.Schema)$", "^(t)$", NULL);
	check_pattern("\"a\"\"b\"", false, "-", "^(a\"b)$", NULL);
	check_pattern("\"x*\"", false, "-", "^(x\\*)$", NULL);
	check_pattern("cost$", false, "-", "^(cost\\$)$", NULL);
	check_pattern("t[0-9]", false, "-", "^(t[0-9])$", NULL);
	check_pattern("Sales", true, "^(sales)$", "-", NULL);
	check_pattern("a.b.c", false, NULL, NULL, "improper qualified name (too many dotted names)");
	check_pattern("a.b", true, NULL, NULL, "a dot outside double quotes is not allowed here");
	check_pattern("\"abc", false, NULL, NULL, "a double quote is not closed");
	check_pattern("", false, NULL, NULL, "the pattern is empty");
}

/* A schema dump's options: the filter's in the order given, then
 * --no-blobs, then --schema-only, NULL-terminated. */
static char *
joined_dump_args(const catalog_filter *f, bool no_blobs, bool schema_only)
{
	const char **a = catalog_filter_dump_args(f, no_blobs, schema_only);
	buf_t		b = {0};
	for (int i = 0; a[i]; i++)
		buf_printf(&b, "%s%s", i ? " " : "", a[i]);
	free(a);
	return buf_steal(&b);
}

static void
test_dump_args(void)
{
	catalog_filter f = {0};
	pgc_err		err = PGC_ERR_INIT;
	char	   *s = joined_dump_args(NULL, false, false);
	TAP_EQ_STR(s, "", "no filter, no option: no argument");
	free(s);
	s = joined_dump_args(NULL, false, true);
	TAP_EQ_STR(s, "--schema-only", "no filter: --schema-only alone");
	free(s);
	TAP_OK(catalog_filter_add(&f, CATALOG_FILTER_SCHEMA, "app", &err) == 0
		   && catalog_filter_add(&f, CATALOG_FILTER_EXCLUDE_TABLE, "app.big", &err) == 0, "a filter of two patterns");
	s = joined_dump_args(&f, true, true);
	TAP_EQ_STR(s, "--schema=app --exclude-table=app.big --no-blobs --schema-only",
			   "the filter's options in the order given, then --no-blobs, then --schema-only");
	free(s);
	s = joined_dump_args(&f, false, false);
	TAP_NOT_CONTAINS(s, "--schema-only", "without schema_only, no --schema-only");
	TAP_NOT_CONTAINS(s, "--no-blobs", "without no_blobs, no --no-blobs");
	free(s);
	catalog_filter_free(&f);
	err_clear(&err);
}

int
main(void)
{
	test_patterns();
	test_dump_args();
	test_ranges();
	test_lo_batches();
	test_sql();
	test_hasher();
	test_roles_filter();
	test_workq();
	test_job();
	test_job_record();
	test_state();
	test_report();
	return TAP_DONE();
}
