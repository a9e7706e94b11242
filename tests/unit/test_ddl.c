/*
 * test_ddl.c: unit tests of how pgcarry reads pg_restore's report of the
 * objects it could not create (ddl__restore_failures), on stderr text
 * pg_restore 15 printed: serial, parallel with workers' lines mixed, an
 * entry that fails twice, and a run that failed as a whole; and how it
 * picks the entries of a restore from a table of contents
 * (ddl__select_entries), with the cost of many entries against many IDs.
 */
#include "core/ddl.h"
#include "util/buf.h"
#include "tap.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* err as ddl_run keeps it when it squeezes pg_restore --verbose's lines,
 * read in chunks of step bytes (free()). */
static char *
squeezed(const char *err, size_t step)
{
	ddl_squeeze sq = {0};
	buf_t		out = {0};
	size_t		len = strlen(err);
	for (size_t i = 0; i < len; i += step)
		ddl_squeeze_feed(&sq, &out, err + i, len - i < step ? len - i : step);
	ddl_squeeze_feed(&sq, &out, NULL, 0);
	buf_free(&sq.partial);
	return out.data ? buf_steal(&out) : strdup("");
}

/* Whether a and b name the same failures, in the same order, with the
 * same messages. */
static bool
same_failures(const ddl_failures *a, const ddl_failures *b)
{
	if (a->n != b->n)
		return false;
	for (int i = 0; i < a->n; i++)
		if (a->items[i].id != b->items[i].id || strcmp(a->items[i].object, b->items[i].object) != 0
			|| strcmp(a->items[i].message, b->items[i].message) != 0)
			return false;
	return true;
}

/* Reads err into f; checks that every error was a statement's and that
 * want failures came out, and that squeezing the lines of --verbose, read
 * in chunks of any size, changes nothing of what is read.  Returns
 * whether they did. */
static int
read_failures(const char *err, ddl_failures *f, int want, bool want_whole, const char *what)
{
	char		name[128];
	bool		whole = !want_whole;
	snprintf(name, sizeof name, "%s: every error is a statement's", what);
	TAP_OK(ddl__restore_failures(err, f, &whole), name);
	snprintf(name, sizeof name, "%s: %s", what,
			 want_whole ? "every failed statement was read after its entry" : "not every failed statement was read after its entry");
	TAP_OK(whole == want_whole, name);
	snprintf(name, sizeof name, "%s: %d failures", what, want);
	TAP_EQ_INT(f->n, want, name);
	static const size_t steps[] = {1, 3, 64, 1 << 20};
	bool		all = true;
	for (size_t k = 0; k < sizeof steps / sizeof *steps; k++)
	{
		char	   *sq = squeezed(err, steps[k]);
		ddl_failures g = {0};
		bool		sq_whole = !want_whole;
		all = all && ddl__restore_failures(sq, &g, &sq_whole) && same_failures(f, &g) && sq_whole == want_whole
			&& strlen(sq) <= strlen(err);
		ddl_failures_free(&g);
		free(sq);
	}
	snprintf(name, sizeof name, "%s: the same failures read from the squeezed output", what);
	TAP_OK(all, name);
	return f->n == want;
}

static void
test_squeeze_many(void)
{
	/* 100,000 tables' lines, one failure among them. */
	buf_t		b = {0};
	for (int i = 0; i < 100000; i++)
	{
		buf_printf(&b, "pg_restore: creating TABLE \"public.t%d\"\n", i);
		if (i == 50000)
			buf_puts(&b, "pg_restore: from TOC entry 214; 1259 16397 TABLE blocker postgres\n"
					 "pg_restore: error: could not execute query: ERROR:  collation \"x\" does not exist\n"
					 "Command was: CREATE TABLE public.blocker (id integer);\n\n\n");
	}
	char	   *sq = squeezed(b.data, 16384);
	ddl_failures f = {0}, g = {0};
	TAP_OK(ddl__restore_failures(b.data, &f, NULL) && ddl__restore_failures(sq, &g, NULL) && f.n == 1 && same_failures(&f, &g),
		   "100,000 tables: the one failure is read from the squeezed output as from the whole");
	printf("# --verbose of 100,000 tables: %zu bytes, squeezed %zu\n", b.len, strlen(sq));
	TAP_OK(strlen(sq) < 1024, "100,000 tables' lines of --verbose are squeezed to under 1 kB");
	ddl_failures_free(&f);
	ddl_failures_free(&g);
	free(sq);
	buf_free(&b);
}

static void
test_serial(void)
{
	const char *err =
		"pg_restore: creating FUNCTION \"public.int4_text(integer)\"\n"
		"pg_restore: creating CAST \"CAST (integer AS public.ctt)\"\n"
		"pg_restore: while PROCESSING TOC:\n"
		"pg_restore: from TOC entry 3052; 2605 16391 CAST CAST (integer AS public.ctt) (no owner)\n"
		"pg_restore: error: could not execute query: ERROR:  return data type of cast function must match\n"
		"Command was: CREATE CAST (integer AS public.ctt) WITH FUNCTION public.int4_text(integer) AS IMPLICIT;\n"
		"\n"
		"\n"
		"pg_restore: creating TABLE \"public.blocker\"\n"
		"pg_restore: from TOC entry 214; 1259 16397 TABLE blocker postgres\n"
		"pg_restore: error: could not execute query: ERROR:  collation \"pg_catalog.only_here\" does not exist\n"
		"LINE 3:     note text COLLATE pg_catalog.only_here\n"
		"                      ^\n"
		"Command was: CREATE TABLE public.blocker (\n"
		"    id integer NOT NULL,\n"
		"    note text COLLATE pg_catalog.only_here\n"
		");\n"
		"\n"
		"\n"
		"pg_restore: error: could not execute query: ERROR:  relation \"public.blocker\" does not exist\n"
		"Command was: ALTER TABLE public.blocker OWNER TO postgres;\n"
		"\n"
		"\n"
		"pg_restore: creating TABLE \"public.t\"\n"
		"pg_restore: warning: errors ignored on restore: 3\n";
	ddl_failures f = {0};
	if (read_failures(err, &f, 2, true, "serial"))
	{
		TAP_EQ_INT(f.items[0].id, 3052, "the cast's dump ID");
		TAP_EQ_INT(f.items[0].classid, 2605, "its catalog");
		TAP_EQ_INT(f.items[0].objid, 16391, "its OID");
		TAP_EQ_STR(f.items[0].object, "CAST CAST (integer AS public.ctt)", "named without its owner");
		TAP_EQ_STR(f.items[0].message,
				   "ERROR:  return data type of cast function must match\n"
				   "Command was: CREATE CAST (integer AS public.ctt) WITH FUNCTION public.int4_text(integer) AS IMPLICIT;",
				   "the server's message and the statement");
		TAP_EQ_STR(f.items[1].object, "TABLE blocker", "the table, without its owner");
		TAP_CONTAINS(f.items[1].message, "    note text COLLATE pg_catalog.only_here\n);",
					 "the whole statement, not its first line");
		TAP_CONTAINS(f.items[1].message, "LINE 3:", "the server's LINE lines");
		TAP_CONTAINS(f.items[1].message, "Command was: ALTER TABLE public.blocker OWNER TO postgres;",
					 "the entry's second error too");
	}
	ddl_failures_free(&f);
	TAP_EQ_INT(f.n, 0, "ddl_failures_free empties");
}

static void
test_parallel(void)
{
	/* pg_restore -j 2: two workers' lines ran into each other. */
	const char *err =
		"pg_restore: launching item 3245 CONSTRAINT fast5 fast5_pkey\n"
		"pg_restore: error: could not execute query: ERROR:  deadlock detected\n"
		"Command was: ALTER INDEX public.x ATTACH PARTITION public.y;\n"
		"pg_restore: from TOC entry 3243; 2606 16424 CONSTRAINT fast4 fast4_pkey postgres\n"
		"pg_restore: finished item 3210 INDEX cm_b\n"
		"pg_restore: error: could not execute query: ERROR:  multiple primary keys for table \"fast4\" are not allowed\n"
		"Command was: ALTER TABLE ONLY public.fast4\n"
		"pg_restore:pg_restore: from TOC entry 3245; 2606 16431 CONSTRAINT fast5 fast5_pkey postgres\n"
		"pg_restore: error: could not execute query: ERROR:  multiple primary keys for table \"fast5\" are not allowed\n"
		"Command was: ALTER TABLE ONLY public.fast5\n"
		"    ADD CONSTRAINT fast5_pkey PRIMARY KEY (id);\n"
		"pg_restore: finished main parallel loop\n";
	ddl_failures f = {0};
	if (read_failures(err, &f, 3, false, "parallel"))
	{
		TAP_EQ_INT(f.items[0].id, 0, "a statement no entry claims has dump ID 0");
		TAP_CONTAINS(f.items[0].message, "deadlock detected", "and its message");
		TAP_EQ_INT(f.items[1].id, 3243, "a worker's line between an entry and its error is skipped");
		TAP_EQ_INT(f.items[2].id, 3245, "an entry line run into another worker's is read");
		TAP_CONTAINS(f.items[2].message, "ADD CONSTRAINT fast5_pkey PRIMARY KEY (id);", "with its whole statement");
	}
	ddl_failures_free(&f);
}

static void
test_parallel_unreadable(void)
{
	/* pg_restore -j 2 of a resumed post-data (pg_restore 15, as printed):
	 * t7_slow's entry line ran into another worker's error prefix, and its
	 * error lost its own; a third worker's message lost its "error: ". */
	const char *err =
		"pg_restore:pg_restore: from TOC entry 3696; 1259 16439 INDEX t6_v postgres\n"
		"pg_restore:  error: from TOC entry 3699; 1259 16447 INDEX t7_slow postgres\n"
		"could not execute query: ERROR:  relation \"t6_v\" already exists\n"
		"Command was: CREATE INDEX t6_v ON public.t6 USING btree (v);\n"
		"\n"
		"\n"
		"pg_restore:pg_restore: finished item 3696 INDEX t6_v\n"
		"pg_restore:\n"
		" pg_restore:error: could not execute query: ERROR:  relation \"t7_slow\" already exists\n"
		"Command was: CREATE UNIQUE INDEX t7_slow ON public.t7 USING btree (public.slow_key(id));\n"
		"pg_restore: from TOC entry 3701; 1259 16451 INDEX t8_v postgres\n"
		"pg_restore: error: could not execute query: ERROR:  relation \"t8_v\" already exists\n"
		"Command was: CREATE INDEX t8_v ON public.t8 USING btree (v);\n"
		"pg_restore: could not execute query: ERROR:  relation \"t9_v\" already exists\n"
		"Command was: CREATE INDEX t9_v ON public.t9 USING btree (v);\n"
		"pg_restore: warning: errors ignored on restore: 4\n";
	ddl_failures f = {0};
	if (read_failures(err, &f, 2, false, "lines run together"))
	{
		TAP_EQ_INT(f.items[0].id, 3696, "the entry whose error lost its line is still named");
		TAP_EQ_INT(f.items[1].id, 3701, "the entry read whole");
	}
	ddl_failures_free(&f);
	char	   *sq = squeezed(err, 5);
	TAP_CONTAINS(sq, "relation \"t9_v\" already exists", "squeezing keeps a failed statement that lost its \"error: \"");
	free(sq);
}

static void
test_run_failed(void)
{
	const char *err =
		"pg_restore: connecting to database for restore\n"
		"pg_restore: error: connection to server at \"127.0.0.1\", port 1 failed: Connection refused\n";
	ddl_failures f = {0};
	TAP_OK(!ddl__restore_failures(err, &f, NULL), "a connection failure is the run's, not an object's");
	ddl_failures_free(&f);
	char	   *sq = squeezed(err, 7);
	TAP_OK(!ddl__restore_failures(sq, &f, NULL), "squeezed, a connection failure is still the run's");
	TAP_CONTAINS(sq, "Connection refused", "squeezed, the run's error is kept whole");
	free(sq);
	ddl_failures_free(&f);
	TAP_OK(ddl__restore_failures("", &f, NULL) && f.n == 0, "nothing printed: nothing failed");
}

/* What ddl__select_entries writes for toc, as a string (free()). */
static char *
select_text(const char *toc, int step, const int *only, int nonly, const int *skip, int nskip, int *n)
{
	char	   *text = NULL;
	size_t		len = 0;
	FILE	   *out = open_memstream(&text, &len);
	*n = ddl__select_entries(toc, step, only, nonly, skip, nskip, out);
	fclose(out);
	return text;
}

static void
test_select(void)
{
	const char *toc =
		";\n"
		"; Archive created at 2026-12-02 14:00:00 UTC\n"
		";\n"
		"215; 1259 16390 TABLE public t1 postgres\n"
		"3590; 2606 16394 CONSTRAINT public t1 t1_pkey postgres\n"
		"3591; 1259 16400 INDEX public t1_v postgres\n"
		"3600; 2606 16402 FK CONSTRAINT public t2 t2_t1_fkey postgres\n"
		"217; 1259 16396 TABLE public t2 postgres\n";
	int			n;
	const int	skip[] = {3600, 215};
	char	   *got = select_text(toc, 0, NULL, 0, skip, 2, &n);
	TAP_EQ_INT(n, 3, "skip: the entries not skipped");
	TAP_EQ_STR(got, "3590; 2606 16394 CONSTRAINT public t1 t1_pkey postgres\n"
			   "3591; 1259 16400 INDEX public t1_v postgres\n"
			   "217; 1259 16396 TABLE public t2 postgres\n", "skip: in the order of the table of contents");
	free(got);
	const int	only[] = {3600, 3591, 9999};
	got = select_text(toc, 0, only, 3, skip, 2, &n);
	TAP_EQ_INT(n, 2, "only: those among only (skip is not looked at)");
	TAP_EQ_STR(got, "3591; 1259 16400 INDEX public t1_v postgres\n"
			   "3600; 2606 16402 FK CONSTRAINT public t2 t2_t1_fkey postgres\n", "only: in the order of the table of contents");
	free(got);
	got = select_text(toc, 1, NULL, 0, NULL, 0, &n);
	TAP_EQ_INT(n, 2, "the index step: indexes and constraints, not foreign keys or tables");
	free(got);
}

/* The CPU seconds of picking, from the table of contents of n tables (a
 * table and its primary key each), the entries of post-data with the
 * indexes of every other table built already (skipped), and of a restore
 * of the indexes of every other table (only); *kept receives how many
 * entries the first kept. */
static double
select_n_tables(int n, int *kept)
{
	buf_t		toc = {0};
	int		   *ids = calloc((size_t) n, sizeof *ids);
	for (int i = 0; i < n; i++)
	{
		buf_printf(&toc, "%d; 1259 %d TABLE public t%d postgres\n", 200000 + i, 16384 + 2 * i, i);
		buf_printf(&toc, "%d; 2606 %d CONSTRAINT public t%d t%d_pkey postgres\n", 100000 + i, 16385 + 2 * i, i, i);
	}
	int			nids = 0;
	for (int i = 0; i < n; i += 2)
		ids[nids++] = 100000 + i;
	FILE	   *devnull = fopen("/dev/null", "w");
	double		t0 = tap_cpu_seconds();
	*kept = ddl__select_entries(toc.data, 0, NULL, 0, ids, nids, devnull);
	int			only = ddl__select_entries(toc.data, 0, ids, nids, NULL, 0, devnull);
	double		t = tap_cpu_seconds() - t0;
	fclose(devnull);
	free(ids);
	buf_free(&toc);
	return only == nids ? t : -1;
}

static void
test_select_many(void)
{
	int			kept1, kept4;
	double		t1 = select_n_tables(20000, &kept1);
	double		t4 = select_n_tables(80000, &kept4);
	TAP_EQ_INT(kept1, 2 * 20000 - 10000, "20,000 tables: the entries not skipped");
	TAP_EQ_INT(kept4, 2 * 80000 - 40000, "80,000 tables: the entries not skipped");
	double		ratio = t1 > 0 ? t4 / t1 : 0;
	printf("# entries of 20,000 tables: %.3f s CPU, of 80,000: %.3f s CPU (%.1fx)\n", t1, t4, ratio);
	TAP_OK(t1 >= 0 && t4 >= 0 && ratio < 8.0, "4x the tables cost less than 8x the CPU in picking a restore's entries");
}

int
main(void)
{
	test_serial();
	test_parallel();
	test_parallel_unreadable();
	test_run_failed();
	test_squeeze_many();
	test_select();
	test_select_many();
	return TAP_DONE();
}
