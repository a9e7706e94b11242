/*
 * test_ddl.c: unit tests of how pgcarry reads pg_restore's report of the
 * objects it could not create (ddl__restore_failures), on stderr text
 * pg_restore 15 printed: serial, parallel with workers' lines mixed, an
 * entry that fails twice, and a run that failed as a whole.
 */
#include "core/ddl.h"
#include "tap.h"

/* Reads err into f; checks that every error was a statement's and that
 * want failures came out.  Returns whether they did. */
static int
read_failures(const char *err, ddl_failures *f, int want, const char *what)
{
	char		name[128];
	snprintf(name, sizeof name, "%s: every error is a statement's", what);
	TAP_OK(ddl__restore_failures(err, f), name);
	snprintf(name, sizeof name, "%s: %d failures", what, want);
	TAP_EQ_INT(f->n, want, name);
	return f->n == want;
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
	if (read_failures(err, &f, 2, "serial"))
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
	if (read_failures(err, &f, 3, "parallel"))
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
test_run_failed(void)
{
	const char *err =
		"pg_restore: connecting to database for restore\n"
		"pg_restore: error: connection to server at \"127.0.0.1\", port 1 failed: Connection refused\n";
	ddl_failures f = {0};
	TAP_OK(!ddl__restore_failures(err, &f), "a connection failure is the run's, not an object's");
	ddl_failures_free(&f);
	TAP_OK(ddl__restore_failures("", &f) && f.n == 0, "nothing printed: nothing failed");
}

int
main(void)
{
	test_serial();
	test_parallel();
	test_run_failed();
	return TAP_DONE();
}
