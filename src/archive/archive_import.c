/*
 * archive_import.c: loading a pgcarry archive into a server
 * (archive_import.h).
 *
 * How it works, for each database:
 *   1. every file of the database (and roles.sql with --roles) is checked
 *      against the manifest (size, SHA-256) before the target is touched;
 *   2. the target database is created, or refused, and marked unfinished
 *      (archive_target.h);
 *   3. pre-data with pg_restore;
 *   4. data: one unit per file on the job runner (core/job.h), whose --jobs
 *      sessions every database of the import shares.  A table
 *      in one file is loaded in one transaction: TRUNCATE ONLY, then COPY
 *      ... FREEZE (a small one: DELETE, then COPY).  A table in several parts is truncated first, then its
 *      parts load in parallel.  Each file's rows are hashed as they go to
 *      the server and compared with the manifest before COMMIT;
 *   5. sequences (setval), large objects (lo_put in chunks);
 *   6. post-data with pg_restore -j;
 *   7. verification: every table read back from the target and checksummed
 *      (row count and content), large objects and sequences compared; any
 *      difference is named and gives exit status 3;
 *   8. the unfinished mark is removed.
 * With --resume, tables whose content already matches the manifest are not
 * loaded again.
 *
 * Step 1 is the coordinator's (the calling thread), for every database
 * before any is touched.  Then the databases run on one job runner: steps
 * 2 and 3 are a database's start, a unit run ahead of any table, which
 * queues its tables (archive_import_start); steps 5 to 8 are its finish
 * step, on a worker once its tables are over (archive_import_finish);
 * archive_import_end records how it ended.  A tar read as it arrived was loaded before, by
 * archive_tarload.c; its databases are then finished here like the others.
 */
#include "archive/archive_import.h"
#include "archive/archive_import_int.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/catalog.h"
#include "core/ddl.h"
#include "core/objects.h"
#include "archive/archive_choose.h"
#include "archive/archive_file.h"
#include "archive/archive_stream.h"
#include "archive/archive_target.h"
#include "archive/archive_tarload.h"
#include "archive/archive_verify.h"
#include "archive/manifest.h"
#include "archive/tarstream.h"
#include "cleanup.h"
#include "conn.h"
#include "core/job.h"
#include "core/stream.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/xalloc.h"
#include "core/verify.h"


/* ---------------------------------------------------------- pg_restore */

/*
 * One section of the archive's schema (ddl_restore: every object that can
 * be created is, those that cannot are kept in db->schema_failures, unless
 * --exit-on-error).  Returns 0, or -1 with err set.
 */
static int
archive_import_restore(import_db *db, ddl_part part, pgc_err *err)
{
	char *file = xasprintf("%s/%s", db->root, db->mdb->schema_file);
	ddl_dump *dump = ddl_dump_open(file);
	ddl_restore_opts ro = {.jobs = part == DDL_POST_DATA ? db->jobs : 1, .no_owner = db->o->no_owner,
		.tolerate_existing = db->resuming && part == DDL_POST_DATA, .tmpdir = db->scratch,
		.exit_on_error = db->o->exit_on_error, .failures = &db->schema_failures,
		.skip_ids = db->choice ? db->choice->skip_ids : NULL, .nskip = db->choice ? db->choice->nskip : 0};
	int rc = ddl_restore(NULL, dump, part, db->o->cli.target, "target", db->name, &ro, err);
	if (rc != 0)
	{
		const char *detail = err->detail ? err->detail : "";
		if (strstr(detail, "ERROR:  role \""))
			err_hint(err, "A role the archive's objects belong to is missing on the target: import "
					 "the roles too (--roles), or load without owners (--no-owner).  The database "
					 "stays marked unfinished; then run the same import with --resume.");
		else
			err_hint(err, "The database stays marked unfinished (pgcarry.import); fix the cause, then "
					 "run the same import with --resume.");
	}
	ddl_dump_free(dump);
	free(file);
	return rc;
}

/*
 * The schema itself: the table of contents of the archive's schema dump
 * against that of a pg_dump of the target (PostgreSQL's own reading of
 * both, entry by entry), and the target's indexes valid.  The pg_dump is
 * the one ddl_tools_find chooses for the target's major; where none is new
 * enough (pg_dump refuses a newer server), the table of contents is not
 * compared, with a warning that says so, and only the indexes are checked.
 * Each difference goes to the report and counts in db->ndiff.  Returns 0,
 * or -1 with err set when either could not be read.
 */
static int
archive_import_verify_schema(import_db *db, PGconn *conn, pgc_err *err)
{
	char *file = xasprintf("%s/%s", db->root, db->mdb->schema_file);
	ddl_dump *want = ddl_dump_open(file);
	ddl_dump *got = NULL;
	bool same = false;		/* ddl_schema_only_same */
	int rc = -1, n = 0;
	pgc_err e = PGC_ERR_INIT;
	ddl_tools *tools = ddl_tools_find(PQserverVersion(conn), "target", &e);
	if (!tools)
	{
		char *what = xasprintf("the schema of database \"%s\" on the target was not compared with the "
							   "archive's (only its indexes were checked)", db->name);
		log_report(LOG_WARNING, what, e.message, e.hint);
		free(what);
		err_clear(&e);
		verify_report_schema_unchecked(db->report, db->name);
	}
	else if (ddl_dump_toc(tools, want, NULL, NULL, err) != 0 || ddl_schema_only_same(conn, &same, err) != 0)
		goto done;
	else
	{
		const char **opts = catalog_filter_dump_args(NULL, false, same);
		got = ddl_dump_schema(tools, db->o->cli.target, "target", db->name, NULL, opts, db->scratch, err);
		free(opts);
		if (!got || ddl_dump_toc(tools, got, NULL, NULL, err) != 0)
			goto done;
		n = objects_toc_compare(db->choice ? db->choice->toc : ddl_dump_toc_text(want), ddl_dump_toc_text(got),
								db->o->no_owner, db->report, db->name);
	}
	int invalid = objects_invalid(conn, db->report, db->name, err);
	if (invalid < 0)
		goto done;
	n += invalid;
	pthread_mutex_lock(&db->lock);
	db->ndiff += n;
	pthread_mutex_unlock(&db->lock);
	__atomic_add_fetch(db->nrecorded, n, __ATOMIC_RELAXED);
	rc = 0;
done:
	ddl_dump_free(got);
	ddl_dump_free(want);
	ddl_tools_free(tools);
	free(file);
	return rc;
}

/* Names each object pg_restore could not create as a failure of the
 * database, with the server's whole message and statement.  Returns how
 * many. */
static int
archive_import_report_schema_failures(import_db *db)
{
	for (int i = 0; i < db->schema_failures.n; i++)
	{
		const ddl_failure *f = &db->schema_failures.items[i];
		char *what = xasprintf("could not create %s in database \"%s\" on the target", f->object, db->name);
		log_report(LOG_ERROR, what, f->message, NULL);
		free(what);
		char *why = xasprintf("could not be created: %s", f->message);
		verify_report_failed(db->report, db->name, "schema object", f->object, why);
		__atomic_add_fetch(db->nrecorded, 1, __ATOMIC_RELAXED);
		free(why);
	}
	return db->schema_failures.n;
}

/*
 * Database-level properties (ALTER DATABASE ... SET, COMMENT ON DATABASE,
 * GRANT ... ON DATABASE) are in schema.dump (pg_dump --create), and
 * pg_restore applies them only with --create: ddl_restore applies them to
 * the database import created, as copy does to a database that exists.
 * A database imported under another name (--rename, --db) gets them too:
 * ddl_restore names the database it applies them to, whatever the dump
 * calls it.  Returns 0, or -1 with err set.
 */
static int
archive_import_db_properties(import_db *db, pgc_err *err)
{
	char *file = xasprintf("%s/%s", db->root, db->mdb->schema_file);
	ddl_dump *dump = ddl_dump_open(file);
	/* Connects to the database itself; temporary files in the private
	 * directory, never in the archive. */
	ddl_restore_opts ro = {.maintenance_db = db->name, .tmpdir = db->scratch};
	pgc_err e = PGC_ERR_INIT;
	bool has = false;
	int rc = 0;
	if (ddl_dump_has_database_properties(NULL, dump, &has, &e) != 0)
	{
		err_set(err, "could not read the table of contents of \"%s\"", db->mdb->schema_file);
		rc = -1;
	}
	else if (has && ddl_restore(NULL, dump, DDL_DATABASE_PROPERTIES, db->o->cli.target, "target", db->name, &ro,
								&e) != 0)
	{
		err_set(err, "could not apply the properties of database \"%s\"", db->name);
		rc = -1;
	}
	if (rc != 0)
	{
		/* What pg_restore or psql printed (or why it could not run). */
		err_detail(err, "%s", e.detail ? e.detail : e.message ? e.message : "");
		if (e.hint)
			err_hint(err, "%s", e.hint);
	}
	err_clear(&e);
	ddl_dump_free(dump);
	free(file);
	return rc;
}

int
archive_import__schema_state(PGconn *conn, const manifest_db *mdb, const char *name, pgc_err *err)
{
	int found = 0;
	for (int i = 0; i < mdb->ntables; i++)
	{
		char *q = conn_qualify(conn, mdb->tables[i].schema, mdb->tables[i].name);
		const char *params[] = {q};
		char *v = conn_query_value(conn, "SELECT pg_catalog.to_regclass($1) IS NOT NULL", 1, params, err);
		free(q);
		if (!v && err->set)
			return -1;
		if (v && v[0] == 't')
			found++;
		free(v);
	}
	if (found == mdb->ntables)
		return 1;
	if (found == 0)
		return 0;
	err_set(err, "database \"%s\" on the target holds some of the archive's tables", name);
	err_detail(err, "%d of its %d tables exist.", found, mdb->ntables);
	err_hint(err, "Replace it with --clean, or import into another database.");
	return -1;
}

/* ----------------------------------------------------------- database */

/* How one database of an import ended, for the summary. */
typedef enum import_outcome
{
	IMPORT_NOT_STARTED = 0,		/* interrupted before its turn */
	IMPORT_DONE,				/* loaded (and verified, unless --verify none) */
	IMPORT_EARLIER,				/* finished by an earlier run, checked again */
	IMPORT_DIFFERENT,			/* loaded, and differs from the archive */
	IMPORT_FAILED				/* refused, or stopped by an error */
} import_outcome;

/* Statuses of a database's steps besides the exit statuses (err.h). */
#define IMPORT_LOAD_IT (-1)		/* --resume: none of its tables there yet */
#define IMPORT_QUEUED (-2)		/* its tables are on the runner */

/* What the databases of one import share, loaded one or several at a time. */
struct import_runner
{
	const archive_import_opts *o;
	const char *root;
	const manifest *m;
	const manifest_db **chosen;
	int			nchosen;
	const archive_choice *choices;	/* per database with -n/-N/-t/-T, else NULL */
	progress   *prog;
	const char *scratch;
	int			jobs_per_db;	/* sessions of a database's post-data */
	pthread_mutex_t lock;
	bool		prog_started;
	job_run    *jobs;			/* the one runner of every database */
	int			concurrent;		/* databases at work at once, at most */
	int			inflight;		/* databases started and not ended (lock) */
	pthread_cond_t over;		/* a database ended (lock) */
	import_db  *dbs;			/* per database */
	verify_report *report;
	archive_tarload *tl;		/* a tar read as it arrived, or NULL */
	int			nrecorded;		/* entries in report */
	import_outcome *outcome;	/* per database (written by the thread that
								 * ends it, read once the runner is over) */
	char	  **why;			/* per database: the failure, or NULL */
	pgc_err		err;			/* with one database: its failure */
};

/*
 * A database with no unfinished mark, met by --resume: an earlier run
 * finished it, or it is not the archive's at all.  When every table of the
 * archive is there, it is checked against the archive like a loaded one
 * (tables, sequences, large objects, schema objects) and kept; otherwise
 * it is refused.
 * Returns EXIT_OK, EXIT_DIFFERENT, or EXIT_FAIL with err set;
 * IMPORT_LOAD_IT when the database holds none of the archive's tables
 * (then it is loaded as usual).
 */
static int
archive_import_check_earlier(import_db *db, pgc_err *err)
{
	PGconn *conn = stream_conn_open(db->o->cli.target, db->name, "target", db->mdb->encoding, false, err);
	if (!conn)
		return EXIT_FAIL;
	int rc = EXIT_FAIL;
	int schema = archive_import__schema_state(conn, db->mdb, db->name, err);
	if (schema == 0)
		rc = IMPORT_LOAD_IT;
	else if (schema > 0)
	{
		log_notice("database \"%s\" on the target was imported by an earlier run: checking it against the archive",
				   db->name);
		rc = EXIT_OK;
		for (int t = 0; t < db->mdb->ntables && rc == EXIT_OK; t++)
		{
			if (db->verify == VERIFY_NONE)
				archive_import__record_table(db, t, NULL, "imported earlier");
			else if (archive_import__verify_table(db, t, conn, err) != 0)
				rc = EXIT_FAIL;
		}
		if (rc == EXIT_OK && db->verify != VERIFY_NONE && archive_import__verify_rest(db, conn, err) != 0)
			rc = EXIT_FAIL;
		if (rc == EXIT_OK && db->verify != VERIFY_NONE && archive_import_verify_schema(db, conn, err) != 0)
			rc = EXIT_FAIL;
		if (rc == EXIT_OK && db->ndiff > 0)
		{
			err_set(err, "database \"%s\" differs from the archive: %d difference%s", db->name, db->ndiff,
					db->ndiff == 1 ? "" : "s");
			err_detail(err, "It is not marked unfinished: it was imported earlier and changed since, or it "
					   "is not this archive's.");
			err_hint(err, "Replace it with --clean.");
			rc = EXIT_DIFFERENT;
		}
	}
	conn_close(conn);
	return rc;
}

int
archive_import__data_target(import_db *db, pgc_err *err)
{
	bool exists = false, marked = false;
	if (archive_target_state(db->o->cli.target, db->name, &exists, &marked, err) != 0)
		return -1;
	if (!exists)
	{
		err_set(err, "database \"%s\" does not exist on the target", db->name);
		err_detail(err, "--data-only loads rows into the tables of a database that exists.");
		err_hint(err, "Create its schema first (pgcarry import --schema-only), or import without --data-only.");
		return -1;
	}
	PGconn *conn = conn_open(db->o->cli.target, db->name, "target", err);
	if (!conn)
		return -1;
	int n = db->mdb->ntables;
	catalog_load_table *t = xcalloc((size_t) n + 1, sizeof *t);
	for (int i = 0; i < n; i++)
	{
		const manifest_table *mt = &db->mdb->tables[i];
		t[i] = (catalog_load_table) {conn_qualify(conn, mt->schema, mt->name),
			archive_import__display(mt->schema, mt->name), mt->ext_config};
	}
	int rc = catalog_data_only_ready(conn, db->name, t, n, "import", "the archive's tables", "loads", "loaded", err);
	for (int i = 0; i < n; i++)
	{
		free((char *) t[i].qualified);
		free((char *) t[i].display);
	}
	free(t);
	conn_close(conn);
	return rc;
}

/*
 * The start of database db (its first unit on the runner): with --resume,
 * one an earlier run finished is checked against the archive; otherwise
 * the target is created (or refused) and marked unfinished, pre-data
 * restored, and its tables queued on the runner (db->job), whose finish
 * step (archive_import_finish) ends it.  Returns
 * 1 when the tables were queued; otherwise the database's status for
 * archive_import_end: EXIT_OK (finished by an earlier run), EXIT_DIFFERENT,
 * or EXIT_FAIL with err set.
 */
static int
archive_import_start(import_runner *run, import_db *db, pgc_err *err)
{
	const archive_import_opts *o = run->o;
	const manifest_db *mdb = db->mdb;
	const char *name = db->name;
	progress *prog = run->prog;
	int index = db->index;
	PGconn *coord = NULL;
	int rc = EXIT_FAIL;

	if (o->cli.resume)
	{
		bool exists = false, marked = false;
		if (archive_target_state(o->cli.target, name, &exists, &marked, err) != 0)
			return EXIT_FAIL;
		if (exists && !marked)
		{
			rc = archive_import_check_earlier(db, err);
			if (rc != IMPORT_LOAD_IT)
			{
				if (rc == EXIT_OK)
				{
					run->outcome[index] = IMPORT_EARLIER;
					progress_phase(prog, index, "done");
					printf("database \"%s\" was imported by an earlier run; %s\n", name,
						   db->verify == VERIFY_NONE ? "not verified (--verify none)"
						   : "verified against the archive");
					fflush(stdout);
				}
				/* Its tables are in the report; a refusal before any was
				 * checked is not (as for any other refusal). */
				db->touched = rc != EXIT_FAIL;
				for (int t = 0; t < mdb->ntables && !db->touched; t++)
					db->touched = db->recorded[t];
				return rc;
			}
			rc = EXIT_FAIL;
		}
	}
	/* A database loaded as the tar went by is the stream's own unfinished
	 * import: it is finished here, never made again. */
	archive_target_opts topts = {.clean = o->cli.clean && !db->streamed, .resume = o->cli.resume || db->streamed,
		.encoding = mdb->encoding, .lc_collate = mdb->lc_collate, .lc_ctype = mdb->lc_ctype, .owner = mdb->owner};
	if (o->data_only ? archive_import__data_target(db, err) != 0
		: archive_target_prepare(o->cli.target, name, &topts, &db->resuming, err) != 0)
		return EXIT_FAIL;
	db->touched = true;
	if (db->resuming && !db->streamed)
		log_notice("resuming the import of database \"%s\"", name);
	/* Progress shows once there is something to load (not for a refusal). */
	pthread_mutex_lock(&run->lock);
	if (!run->prog_started)
	{
		progress_start(prog);
		run->prog_started = true;
	}
	pthread_mutex_unlock(&run->lock);
	coord = stream_conn_open(o->cli.target, name, "target", mdb->encoding, false, err);
	if (!coord)
		goto done;
	int schema = db->resuming ? archive_import__schema_state(coord, db->mdb, db->name, err) : 0;
	if (schema < 0 && db->resuming)
	{
		/* Our own mark is on it: the earlier run stopped inside pre-data.
		 * Nothing of it is worth keeping; the database starts again. */
		err_clear(err);
		log_notice("database \"%s\": the interrupted run left its schema half made; importing it again",
				   name);
		conn_close(coord);
		coord = NULL;
		topts.clean = true;
		topts.clean_why = "--resume: its own unfinished import";
		topts.resume = false;
		if (archive_target_prepare(o->cli.target, name, &topts, &db->resuming, err) != 0)
			goto done;
		coord = stream_conn_open(o->cli.target, name, "target", mdb->encoding, false, err);
		if (!coord)
			goto done;
		schema = 0;
	}
	if (schema < 0)
		goto done;
	int units = 0;
	for (int i = 0; i < mdb->ntables; i++)
	{
		units += mdb->tables[i].nparts;
		progress_expect_rows(prog, index, (int64_t) mdb->tables[i].rows);
	}
	progress_add_total(prog, index, units, 0);
	progress_phase(prog, index, "schema");
	if (schema == 0 && !o->data_only && archive_import_restore(db, DDL_PRE_DATA, err) != 0)
		goto done;
	db->pre_data_failures = db->schema_failures.n;
	progress_phase(prog, index, "data");
	/* From here its finish step ends it. */
	archive_import__plan_tables(db, db->job, coord);
	rc = IMPORT_QUEUED;

done:
	conn_close(coord);
	return rc;
}

/*
 * The rest of database db once its tables are loaded (on a worker, as
 * the finish step): sequences, large objects, post-data, verification,
 * database properties, the unfinished mark removed.  Returns EXIT_OK,
 * EXIT_DIFFERENT, or EXIT_FAIL with err set.
 */
static int
archive_import_complete(import_runner *run, import_db *db, pgc_err *err)
{
	const archive_import_opts *o = run->o;
	const manifest_db *mdb = db->mdb;
	const char *name = db->name;
	progress *prog = run->prog;
	int index = db->index;
	if (archive_import__loaded(db, err) != 0)
		return EXIT_FAIL;
	PGconn *coord = stream_conn_open(o->cli.target, name, "target", mdb->encoding, false, err);
	if (!coord)
		return EXIT_FAIL;
	int rc = EXIT_FAIL;
	progress_phase(prog, index, "sequences");
	log_info("setting sequences, loading large objects");
	if (archive_import__sequences(db, coord, err) != 0)
		goto done;
	if (archive_import__large_objects(db, coord, err) != 0)
		goto done;
	progress_phase(prog, index, "indexes");
	log_info("restoring indexes, constraints and triggers (post-data)");
	if (!o->data_only && archive_import_restore(db, DDL_POST_DATA, err) != 0)
		goto done;
	if (archive_import_report_schema_failures(db) > 0)
	{
		err_set(err, "could not restore the %s schema of database \"%s\": %d schema object%s could not be "
				"created", db->pre_data_failures > 0 ? "pre-data" : "post-data", name, db->schema_failures.n,
				db->schema_failures.n == 1 ? "" : "s");
		bool role = false;
		for (int i = 0; i < db->schema_failures.n && !role; i++)
			role = strstr(db->schema_failures.items[i].message, "ERROR:  role \"") != NULL;
		if (role)
			err_hint(err, "A role the archive's objects belong to is missing on the target: import "
					 "the roles too (--roles), or load without owners (--no-owner).  The database "
					 "stays marked unfinished; then run the same import with --resume.");
		else
			err_hint(err, "Each is named above with the server's message.  The database stays marked "
					 "unfinished (pgcarry.import); fix the cause and then run the same import with --resume.");
		goto done;
	}
	progress_phase(prog, index, "verifying");
	if (db->verify != VERIFY_NONE && archive_import__verify_rest(db, coord, err) != 0)
		goto done;
	if (db->verify != VERIFY_NONE && !o->data_only && archive_import_verify_schema(db, coord, err) != 0)
		goto done;
	/* Every table of the manifest was loaded and checked, or kept: one
	 * that was not is a difference, never a silent omission. */
	for (int t = 0; t < mdb->ntables; t++)
		if (!db->recorded[t])
		{
			char *disp = archive_import__display(mdb->tables[t].schema, mdb->tables[t].name);
			char *msg = xasprintf("table %s of the archive was not loaded into database \"%s\"", disp, name);
			log_report(LOG_ERROR, msg, NULL, NULL);
			verify_report_failed(run->report, name, "table", disp, "not loaded");
			archive_import__recorded(db);
			db->recorded[t] = true;
			db->ndiff++;
			free(msg);
			free(disp);
		}
	if (db->ndiff > 0)
	{
		err_set(err, "database \"%s\" differs from the archive: %d difference%s", name, db->ndiff,
				db->ndiff == 1 ? "" : "s");
		err_hint(err, "The database stays marked unfinished (pgcarry.import); each difference is listed above.");
		rc = EXIT_DIFFERENT;
		goto done;
	}
	if (!o->data_only && archive_import_db_properties(db, err) != 0)
		goto done;
	if (!o->data_only && archive_target_mark_done(o->cli.target, name, err) != 0)
		goto done;
	progress_phase(prog, index, "done");
	printf("imported database \"%s\": %d tables, %llu rows loaded%s, %d sequences, %llu large objects; "
		   "%s in %lld s\n", name, mdb->ntables, (unsigned long long) db->rows,
		   db->skipped ? " (some kept from an earlier run)" : "", mdb->nsequences,
		   (unsigned long long) (mdb->lo_file ? mdb->lo_count : 0),
		   db->verify == VERIFY_FULL ? "verified against the archive"
		   : db->verify == VERIFY_COUNT ? "row counts verified against the archive"
		   : "not verified (--verify none)", (long long) (time(NULL) - db->start));
	fflush(stdout);
	run->outcome[index] = IMPORT_DONE;
	rc = EXIT_OK;

done:
	conn_close(coord);
	return rc;
}

/* A database the coordinator let go of is over: another may start. */
static void
archive_import_over(import_runner *run)
{
	pthread_mutex_lock(&run->lock);
	run->inflight--;
	pthread_cond_signal(&run->over);
	pthread_mutex_unlock(&run->lock);
}

/*
 * Ends database db with status rc (err set unless EXIT_OK): its outcome
 * for the summary, a failure put in the report (every table of the
 * archive too, none left out), the error said now or, with one database,
 * kept as the command's own.  err is cleared.
 */
static void
archive_import_end(import_runner *run, import_db *db, int rc, pgc_err *err)
{
	const manifest_db *mdb = db->mdb;
	const char *name = db->name;
	int index = db->index;
	db->ended = true;
	archive_import_over(run);
	if (rc == EXIT_DIFFERENT)
		run->outcome[index] = IMPORT_DIFFERENT;
	else if (rc != EXIT_OK)
	{
		run->outcome[index] = IMPORT_FAILED;
		if (cleanup_interrupted())
		{
			/* Whatever the interrupt cancelled, it is the interrupt. */
			err_clear(err);
			err_set(err, "import interrupted");
			err_hint(err, "Run the same import with --resume to finish it.");
		}
		else if (!err->set)
			err_set(err, "import of database \"%s\" failed", name);
		run->why[index] = xstrdup(err->message);
		progress_phase(run->prog, index, "failed");
	}
	if (rc != EXIT_OK && db->touched)
	{
		/* Every table of the archive is in the report: one that did not
		 * load (or was not checked) is a problem, never left out. */
		for (int t = 0; t < mdb->ntables; t++)
			if (!db->recorded[t])
			{
				char *disp = archive_import__display(mdb->tables[t].schema, mdb->tables[t].name);
				verify_report_failed(run->report, name, "table", disp,
									 rc == EXIT_DIFFERENT ? "not checked" : "not loaded or not checked");
				archive_import__recorded(db);
				free(disp);
			}
		if (rc != EXIT_DIFFERENT)
		{
			char *why = xasprintf("import not finished: %s", err->message);
			verify_report_failed(run->report, name, "database", name, why);
			archive_import__recorded(db);
			free(why);
		}
	}
	pthread_mutex_lock(&run->lock);
	if (rc != EXIT_OK && run->nchosen == 1)
		err_move(&run->err, err);	/* the command's own error */
	else if (rc != EXIT_OK)
		err_report(err);		/* said now; the summary names it again */
	pthread_mutex_unlock(&run->lock);
	err_clear(err);
}

/* A unit of the runner: a database's start, or a table to load. */
static void
archive_import_run_unit(job_worker *w, job_db *jd, void *unit)
{
	import_task *t = unit;
	if (t->table != IMPORT_TASK_START)
	{
		archive_import__run_task(w, jd, unit);
		return;
	}
	import_db *db = t->db;
	pgc_err err = PGC_ERR_INIT;
	db->started = true;
	/* The database's own lines are tagged with it alone, as before the
	 * runner, whichever worker says them. */
	log_set_worker(-1);
	int rc = archive_import_start(db->run, db, &err);
	if (rc != IMPORT_QUEUED)
		archive_import_end(db->run, db, rc, &err);
	log_set_worker(w->id + 1);
}

/* The runner's finish step of a database whose tables are over (nothing
 * when its start ended it already). */
static void
archive_import_finish(job_worker *w, job_db *jd)
{
	import_db *db = job_db_ctx(jd);
	if (db->ended)
		return;
	pgc_err err = PGC_ERR_INIT;
	log_set_worker(-1);			/* as in archive_import_run_unit */
	int rc = archive_import_complete(db->run, db, &err);
	archive_import_end(db->run, db, rc, &err);
	log_set_worker(w->id + 1);
}

/* The run was stopped (an interrupt) before the database's finish step:
 * one whose start never ran stays "not started". */
static void
archive_import_abandon(job_db *jd)
{
	import_db *db = job_db_ctx(jd);
	if (!db->started)
		archive_import_over(db->run);
	if (db->ended || !db->started)
		return;
	pgc_err err = PGC_ERR_INIT;
	if (archive_import__loaded(db, &err) == 0)
		err_set(&err, "import interrupted");
	archive_import_end(db->run, db, EXIT_FAIL, &err);
}

/* Sets up database i of the import in db, before its turn. */
static void
archive_import_db_init(import_runner *run, int i, import_db *db)
{
	const archive_import_opts *o = run->o;
	const manifest_db *mdb = run->chosen[i];
	*db = (import_db) {.o = o, .root = run->root, .m = run->m, .mdb = mdb,
		.name = archive_import__target_name(o, mdb->name), .prog = run->prog, .index = i, .verify = o->cli.verify,
		.jobs = run->jobs_per_db, .scratch = run->scratch, .report = run->report, .nrecorded = &run->nrecorded,
		.choice = run->choices ? &run->choices[i] : NULL, .run = run, .start = time(NULL)};
	db->compressed = strcmp(run->m->compression, "zstd") == 0;
	if (archive_tarload_db_state(run->tl, mdb->dir, NULL) == ARCHIVE_TARLOAD_LOADED)
		db->streamed = archive_tarload_seen(run->tl);
	db->recorded = xcalloc((size_t) mdb->ntables + 1, sizeof(bool));
	pthread_mutex_init(&db->lock, NULL);
}

/* Frees what archive_import_db_init and the steps left in db (NULL and
 * a database never set up are allowed). */
static void
archive_import_db_free(import_db *db)
{
	if (!db || !db->recorded)
		return;
	job_db_destroy(db->job);
	ddl_failures_free(&db->schema_failures);
	free(db->recorded);
	free(db->parts_left);
	free(db->tree);
	err_clear(&db->err);
	pthread_mutex_destroy(&db->lock);
}

/*
 * The databases on one job runner of --jobs sessions: the coordinator (the
 * calling thread) adds each database with one unit, its start (create,
 * pre-data, its tables queued), which the workers run ahead of any table;
 * each database's finish step runs on a worker once its tables are over.
 * At most run->concurrent databases are at work at once (the coordinator
 * adds the next when one ends), so that one builds its indexes while
 * another loads its rows, and with --jobs 1 they go one after another.  A failed database never stops the others; an
 * interrupt does (a database whose start never ran is "not started").
 */
static void
archive_import_all(import_runner *run)
{
	job_ops ops = {.run = archive_import_run_unit, .finish = archive_import_finish, .finish_priority = INT64_MAX,
		.abandon = archive_import_abandon};
	const char *ends[2] = {NULL, run->o->cli.target};
	run->jobs = job_run_create(run->o->cli.jobs, &ops, ends, NULL, run->prog);
	for (int i = 0; i < run->nchosen && !cleanup_interrupted(); i++)
	{
		if (run->outcome[i] == IMPORT_FAILED)
			continue;			/* its files failed the check */
		/* At most run->concurrent databases at work at once, as many as
		 * --jobs allows: one at a time with --jobs 1. */
		pthread_mutex_lock(&run->lock);
		while (run->inflight >= run->concurrent && !cleanup_interrupted())
		{
			struct timespec until;
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_nsec += 100 * 1000 * 1000;
			if (until.tv_nsec >= 1000000000L)
			{
				until.tv_sec++;
				until.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&run->over, &run->lock, &until);
		}
		bool go = !cleanup_interrupted();
		if (go)
			run->inflight++;
		pthread_mutex_unlock(&run->lock);
		if (!go)
			break;
		import_db *db = &run->dbs[i];
		archive_import_db_init(run, i, db);
		db->job = job_db_create(run->jobs, i, db->name, db->mdb->encoding, db);
		import_task *t = xcalloc(1, sizeof *t);
		*t = (import_task) {.db = db, .table = IMPORT_TASK_START};
		/* Databases start in the archive's order, before any table. */
		job_push(db->job, t, INT64_MAX - 1 - i);
		job_db_planned(db->job);
	}
	job_run_destroy(run->jobs);
	run->jobs = NULL;
}

int
archive_import__roles(const archive_import_opts *o, const char *root, const char *roles_file, bool passwords,
					  const char *scratch, pgc_err *err)
{
	if (!roles_file)
	{
		log_warning("the archive holds no roles (it was exported without --roles)");
		return 0;
	}
	char *password = NULL;
	char *cc = ddl_conninfo(o->cli.target, "postgres", "target", &password, err);
	if (!cc)
		return -1;
	/* The importing role itself is left as it is: its password and rights
	 * on the target are not the source's business. */
	char *me = NULL;
	PGconn *conn = conn_open(o->cli.target, "postgres", "target", err);
	if (conn)
		me = conn_query_value(conn, "SELECT pg_catalog.quote_ident(current_user)", 0, NULL, err);
	conn_close(conn);
	const char *tmp = me ? scratch : NULL;
	if (!tmp)
	{
		free(me);
		free(cc);
		if (password)
			free(password);
		return -1;
	}
	char *src = xasprintf("%s/%s", root, roles_file);
	char *file = xasprintf("%s/roles.sql", tmp);
	char *create = xasprintf("CREATE ROLE %s;", me);
	char *alter = xasprintf("ALTER ROLE %s WITH ", me);
	FILE *in = fopen(src, "r"), *out = fopen(file, "w");
	char *line = NULL;
	size_t cap = 0;
	while (in && out && getline(&line, &cap, in) >= 0)
		if (strncmp(line, create, strlen(create)) != 0 && strncmp(line, alter, strlen(alter)) != 0)
			fputs(line, out);
	free(line);
	if (in)
		fclose(in);
	if (out)
		fclose(out);
	free(create);
	free(alter);
	free(src);
	free(me);
	const char *argv[] = {"psql", "-X", "-q", "-w", "-d", cc, "-f", file, NULL};
	buf_t errout = {0};
	ddl_child_io io = {.errout = &errout, .password = password};
	int rc = ddl_run(argv, &io, err) < 0 ? -1 : 0;
	int other = 0;
	for (const char *p = errout.data; rc == 0 && p && (p = strstr(p, "ERROR:")); p += 6)
	{
		const char *eol = strchr(p, '\n');
		char *l = xstrndup(p, eol ? (size_t) (eol - p) : strlen(p));
		if (!strstr(l, "already exists"))
		{
			log_warning("creating roles: %s", l);
			other++;
		}
		free(l);
	}
	if (rc == 0)
		log_notice("roles created from %s%s", roles_file,
				   passwords ? "" : " (without passwords: the export could not read them)");
	buf_free(&errout);
	if (password)
	{
		memset(password, 0, strlen(password));
		free(password);
	}
	free(cc);
	free(file);
	return rc;
}

/* The outcome of every database, on stdout after the report; returns the
 * exit status they add up to and sets err for a failure or difference. */
static int
archive_import_summary(import_runner *run, pgc_err *err)
{
	int failed = 0, different = 0, ok = 0;
	if (run->nchosen > 1)
		printf("\nImport of %d databases:\n", run->nchosen);
	for (int i = 0; i < run->nchosen; i++)
	{
		const char *name = archive_import__target_name(run->o, run->chosen[i]->name);
		const char *what = "";
		switch (run->outcome[i])
		{
			case IMPORT_DONE:
				what = run->o->cli.verify == VERIFY_NONE ? "imported, not verified (--verify none)"
					: "imported and verified";
				ok++;
				break;
			case IMPORT_EARLIER:
				what = run->o->cli.verify == VERIFY_NONE ? "imported by an earlier run, not verified"
					: "imported by an earlier run, verified";
				ok++;
				break;
			case IMPORT_DIFFERENT:
				what = "imported, differs from the archive (left marked unfinished)";
				different++;
				break;
			case IMPORT_FAILED:
				what = "failed";
				failed++;
				break;
			case IMPORT_NOT_STARTED:
				what = "not started";
				failed++;
				break;
		}
		if (run->nchosen > 1)
			printf("  %s: %s%s%s\n", name, what, run->why[i] ? ": " : "", run->why[i] ? run->why[i] : "");
	}
	fflush(stdout);
	if (run->err.set)
	{
		/* One database: its own error says it all. */
		err_move(err, &run->err);
		return different ? EXIT_DIFFERENT : EXIT_FAIL;
	}
	if (failed)
	{
		err_set(err, "import failed: %d of %d database%s not imported", failed, run->nchosen,
				run->nchosen == 1 ? "" : "s");
		if (different)
			err_detail(err, "%d database%s differ%s from the archive.", different, different == 1 ? "" : "s",
					   different == 1 ? "s" : "");
		err_hint(err, "Fix the causes above, then run the same import with --resume: databases and "
				 "tables finished already are kept.");
		return EXIT_FAIL;
	}
	if (different)
	{
		err_set(err, "the import found differences: see above");
		return EXIT_DIFFERENT;
	}
	return EXIT_OK;
}

/* Every table of mdb into the report as a failure of database dname
 * (why); returns how many entries. */
static int
archive_import_not_loaded(verify_report *report, const char *dname, const manifest_db *mdb, const char *why)
{
	for (int t = 0; t < mdb->ntables; t++)
	{
		char *disp = archive_import__display(mdb->tables[t].schema, mdb->tables[t].name);
		verify_report_failed(report, dname, "table", disp, why);
		free(disp);
	}
	return mdb->ntables;
}

const char *
archive_import__target_name(const archive_import_opts *o, const char *name)
{
	/* --db and --rename are never given together. */
	return o->dbname ? o->dbname : cli_rename_target(&o->renames, name);
}

/* --rename: each OLD is a database being imported, and no two databases
 * land in one.  Returns 0, or -1 with err set. */
static int
archive_import_check_renames(const archive_import_opts *o, const manifest *m, const manifest_db *const *chosen,
							 int n, pgc_err *err)
{
	for (int k = 0; k < o->renames.n; k++)
	{
		bool in_archive = false, chosen_one = false;
		for (int i = 0; i < m->ndbs; i++)
			in_archive = in_archive || strcmp(m->dbs[i].name, o->renames.from[k]) == 0;
		for (int i = 0; i < n; i++)
			chosen_one = chosen_one || strcmp(chosen[i]->name, o->renames.from[k]) == 0;
		if (!chosen_one)
		{
			err_set(err, "--rename %s=%s names a database that is not %s", o->renames.from[k], o->renames.to[k],
					in_archive ? "being imported" : "in the archive");
			err_hint(err, "Give --rename OLD=NEW with OLD the name of a database the archive holds "
					 "and the import loads.");
			return -1;
		}
	}
	for (int i = 0; i < n; i++)
		for (int j = i + 1; j < n; j++)
			if (strcmp(archive_import__target_name(o, chosen[i]->name),
					   archive_import__target_name(o, chosen[j]->name)) == 0)
			{
				err_set(err, "databases \"%s\" and \"%s\" would both be imported into \"%s\"", chosen[i]->name,
						chosen[j]->name, archive_import__target_name(o, chosen[i]->name));
				err_hint(err, "Give each database a name of its own with --rename OLD=NEW.");
				return -1;
			}
	return 0;
}

/* --exclude-database: drops from chosen (*n updated) the databases whose
 * name matches a pattern (the regexes run on the target).  Returns 0, or
 * -1 with err set. */
static int
archive_import_exclude(const archive_import_opts *o, const manifest_db **chosen, int *n, pgc_err *err)
{
	PGconn *conn = conn_open(o->cli.target, "postgres", "target", err);
	if (!conn)
		return -1;
	const char **names = xcalloc((size_t) *n + 1, sizeof *names);
	bool *keep = xcalloc((size_t) *n + 1, sizeof *keep);
	for (int i = 0; i < *n; i++)
		names[i] = chosen[i]->name;
	int rc = catalog_names_exclude(conn, o->cli.exclude_dbs, o->cli.nexclude_dbs, names, *n, keep, err);
	conn_close(conn);
	int m = 0;
	for (int i = 0; rc == 0 && i < *n; i++)
		if (keep[i])
			chosen[m++] = chosen[i];
		else
			log_info("database \"%s\" is excluded (--exclude-database)", chosen[i]->name);
	if (rc == 0)
		*n = m;
	free(names);
	free(keep);
	return rc;
}

/* -n/-N/-t/-T: what each chosen database keeps (archive_choose); chosen[i]
 * then points at choices[i].db, the archive's entry cut down to it.
 * Returns 0, or -1 with err set. */
static int
archive_import_choose(const archive_import_opts *o, const char *root, const manifest_db **chosen, int n,
					  archive_choice *choices, pgc_err *err)
{
	PGconn *conn = conn_open(o->cli.target, "postgres", "target", err);
	if (!conn)
		return -1;
	int rc = 0;
	for (int i = 0; i < n && rc == 0; i++)
	{
		if ((rc = archive_choose(conn, &o->cli.filter, o->schema_only, root, chosen[i], &choices[i], err)) != 0)
			break;
		if (o->schema_only)
		{
			/* The tables and sequences are made, nothing goes in. */
			choices[i].db.ntables = 0;
			choices[i].db.nsequences = 0;
		}
		log_info("database \"%s\": %d of %d tables chosen", chosen[i]->name, choices[i].db.ntables,
				 chosen[i]->ntables);
		chosen[i] = &choices[i].db;
	}
	conn_close(conn);
	return rc;
}

/*
 * What the archive holds decides how it loads: a schema-only archive is
 * imported as with --schema-only, a data-only one as with --data-only
 * (into tables that exist); asking for the other, or --clean or --resume
 * of a data-only archive, is refused.  A partial archive's tar has no
 * plans, so nothing of it was loaded as it went by: one that has them was
 * made up, and is refused as damaged.  Fills *eff (o with the archive's
 * content applied).  Returns 0, or EXIT_USAGE or EXIT_FAIL with err set.
 */
static int
archive_import_content(const archive_import_opts *o, const manifest *m, archive_tarload *tl,
					   archive_import_opts *eff, pgc_err *err)
{
	const char *input = strcmp(o->input, "-") == 0 ? "on standard input" : o->input;
	*eff = *o;
	if (m->content == MANIFEST_WHOLE)
		return 0;
	for (int i = 0; i < m->ndbs; i++)
		if (archive_tarload_db_state(tl, m->dbs[i].dir, NULL) != ARCHIVE_TARLOAD_NONE)
		{
			archive_tarload_abandon(tl, NULL, "the archive is damaged");
			err_set(err, "archive \"%s\" is %s, but its tar stream has a plan for database \"%s\"", input,
					manifest_content_name(m->content), m->dbs[i].name);
			err_detail(err, "A schema-only or data-only archive is written without plans: it was damaged or edited.");
			err_hint(err, "Copy the archive again from where it came from, or export again.");
			return EXIT_FAIL;
		}
	if (m->content == MANIFEST_SCHEMA_ONLY)
	{
		if (o->data_only)
		{
			err_set(err, "archive \"%s\" is schema-only: it holds no rows for --data-only", input);
			err_hint(err, "Import its schema without --data-only; load the rows from an archive made with "
					 "pgcarry export --data-only, or from a whole one.");
			return EXIT_USAGE;
		}
		eff->schema_only = true;
		return 0;
	}
	if (o->schema_only)
	{
		err_set(err, "archive \"%s\" is data-only: it cannot be imported with --schema-only", input);
		err_hint(err, "Make the tables from an archive made with pgcarry export --schema-only, or from a whole "
				 "one; then import this archive into them.");
		return EXIT_USAGE;
	}
	if (o->cli.clean || o->cli.resume)
	{
		err_set(err, "archive \"%s\" is data-only: it loads into tables that exist, and cannot be imported "
				"with %s", input, o->cli.clean ? "--clean" : "--resume");
		err_hint(err, "Import it without %s, into a database whose tables exist and are empty.",
				 o->cli.clean ? "--clean" : "--resume");
		return EXIT_USAGE;
	}
	eff->data_only = true;
	return 0;
}

int
archive_import_run(const archive_import_opts *o, bool tar, pgc_err *err)
{
	umask(077);
	const char *root = o->input;
	char *unpacked = NULL;		/* a tar's small files, in the private directory */
	archive_tarload *tl = NULL;	/* a tar, loaded as it arrived */
	if (tar)
	{
		const char *tmp = cleanup_private_tmpdir(err);
		if (!tmp)
			return EXIT_FAIL;
		/* Apart from the scratch files of the import: every file of the
		 * archive's tree is checked against the manifest. */
		if (archive_file_mkdirs(tmp, "archive", err) != 0)
			return EXIT_FAIL;
		unpacked = xasprintf("%s/archive", tmp);
		tl = archive_tarload_run(o, unpacked, tmp, err);
		if (!tl)
		{
			free(unpacked);
			return EXIT_FAIL;
		}
		root = unpacked;
	}
	manifest *m = manifest_read(root, err);
	if (!m)
	{
		bool gone = archive_tarload_abandon(tl, NULL, "the tar stream has no manifest");
		archive_tarload_destroy(tl);
		free(unpacked);
		if (tar && err->message && strstr(err->message, "has no " MANIFEST_NAME))
		{
			err_clear(err);
			err_set(err, "archive \"%s\" has no %s", strcmp(o->input, "-") == 0 ? "on standard input" : o->input,
					MANIFEST_NAME);
			err_detail(err, "The tar stream ends before its manifest: it was cut short, or the export did not finish.");
			err_hint(err, gone ? "Nothing was left on the target."
					 : "Nothing was verified; a database that was being resumed stays marked unfinished.");
		}
		return EXIT_FAIL;
	}
	archive_import_opts eff;
	int rc = archive_import_content(o, m, tl, &eff, err);
	if (rc != 0)
	{
		if (rc == EXIT_USAGE)
			archive_tarload_abandon(tl, NULL, "the archive's content does not allow what was asked");
		manifest_destroy(m);
		archive_tarload_destroy(tl);
		free(unpacked);
		return rc;
	}
	o = &eff;
	progress *prog = NULL;
	import_runner runner;
	archive_choice *choices = NULL;	/* with -n/-N/-t/-T, per database */
	bool runner_ready = false;
	const char *scratch = NULL;
	const manifest_db **chosen = xcalloc((size_t) m->ndbs + 1, sizeof *chosen);
	int nchosen = 0;
	import_outcome *outcome = xcalloc((size_t) m->ndbs + 1, sizeof *outcome);
	char **why = xcalloc((size_t) m->ndbs + 1, sizeof *why);
	verify_report *report = verify_report_create(o->cli.verify, "archive", "target");
	int nrecorded = 0;
	if (o->cli.ndbs == 0)
		for (int i = 0; i < m->ndbs; i++)
			chosen[nchosen++] = &m->dbs[i];
	for (int k = 0; k < o->cli.ndbs; k++)
	{
		const manifest_db *found = NULL;
		for (int i = 0; i < m->ndbs && !found; i++)
			if (strcmp(m->dbs[i].name, o->cli.dbs[k]) == 0)
				found = &m->dbs[i];
		if (!found)
		{
			buf_t names = {0};
			for (int i = 0; i < m->ndbs; i++)
				buf_printf(&names, "%s\"%s\"", i ? ", " : "", m->dbs[i].name);
			err_set(err, "database \"%s\" is not in the archive", o->cli.dbs[k]);
			err_detail(err, "The archive holds %s.", names.len ? names.data : "no database");
			buf_free(&names);
			rc = EXIT_FAIL;
			goto done;
		}
		chosen[nchosen++] = found;
	}
	if (o->cli.nexclude_dbs > 0 && archive_import_exclude(o, chosen, &nchosen, err) != 0)
	{
		rc = EXIT_FAIL;
		goto done;
	}
	if (nchosen == 0)
	{
		err_set(err, "no database of the archive is left to import");
		err_hint(err, "--exclude-database excluded every one of them.");
		rc = EXIT_FAIL;
		goto done;
	}
	if (o->dbname && nchosen != 1)
	{
		err_set(err, "--db names the target of one database, and %d are to be imported", nchosen);
		err_hint(err, "Name the one database of the archive to import, e.g. \"pgcarry import ... %s --db %s\".",
				 nchosen ? chosen[0]->name : "DB", o->dbname);
		archive_tarload_abandon(tl, NULL, "--db cannot apply");
		rc = EXIT_USAGE;
		goto done;
	}
	if (archive_import_check_renames(o, m, chosen, nchosen, err) != 0)
	{
		archive_tarload_abandon(tl, NULL, "--rename cannot apply");
		rc = EXIT_USAGE;
		goto done;
	}
	if (archive_import_check_renames(o, m, chosen, nchosen, err) != 0)
	{
		rc = EXIT_USAGE;
		goto done;
	}

	/* Every file, before anything touches the target. */
	for (int i = 0; i < nchosen; i++)
	{
		archive_verify_report rep = {0};
		if (archive_verify_run_seen(root, m, tl ? archive_tarload_seen(tl) : NULL, chosen[i]->name,
									o->cli.roles && i == 0, ARCHIVE_VERIFY_FIRST | ARCHIVE_VERIFY_SCHEMA, &rep, err) != 0)
		{
			rc = EXIT_FAIL;
			goto done;
		}
		pgc_err pe = PGC_ERR_INIT;
		if (rep.nproblems == 0 && archive_tarload_check_plan(tl, chosen[i], &pe) != 0)
		{
			archive_verify_report_free(&rep);
			rep = (archive_verify_report) {0};
			rep.problems = xcalloc(1, sizeof *rep.problems);
			rep.problems[0].file = xasprintf("%s/%s", chosen[i]->dir, MANIFEST_PLAN_NAME);
			/* One sentence: the detail without its period. */
			rep.problems[0].message = xasprintf("%s: %.*s", pe.message, (int) strlen(pe.detail) - 1, pe.detail);
			rep.nproblems = 1;
		}
		err_clear(&pe);
		if (rep.nproblems > 0)
		{
			/* Loaded as the tar went by, and damaged: not left behind. */
			archive_tarload_abandon(tl, chosen[i]->dir, "its files do not match the manifest");
			err_set(err, "%s", rep.problems[0].message);
			err_detail(err, "The archive was damaged after it was written: database \"%s\" cannot be loaded from it.",
					   chosen[i]->name);
			archive_verify_report_free(&rep);
			if (nchosen == 1)
			{
				err_hint(err, "Nothing was loaded into the target.  Copy the archive again from where it came "
						 "from (pgcarry verify-archive checks it), or export again.");
				rc = EXIT_FAIL;
				goto done;
			}
			/* That database is not loaded; the others are. */
			err_hint(err, "Database \"%s\" is not loaded; the others are.  Copy the archive again from where "
					 "it came from (pgcarry verify-archive checks it), or export again.", chosen[i]->name);
			err_report(err);
			outcome[i] = IMPORT_FAILED;
			why[i] = xasprintf("the archive is damaged: %s", err->message);
			nrecorded += archive_import_not_loaded(report, archive_import__target_name(o, chosen[i]->name), chosen[i],
												   "not loaded: the archive is damaged");
			err_clear(err);
			continue;
		}
		archive_verify_report_free(&rep);
		const pgc_err *sf = archive_tarload_db_err(tl, chosen[i]->dir);
		if (sf && sf->set)
		{
			/* Refused or stopped while the tar went by. */
			if (nchosen == 1)
			{
				err_set(err, "%s", sf->message);
				if (sf->detail)
					err_detail(err, "%s", sf->detail);
				if (sf->hint)
					err_hint(err, "%s", sf->hint);
				rc = EXIT_FAIL;
				goto done;
			}
			err_report(sf);
			outcome[i] = IMPORT_FAILED;
			why[i] = xstrdup(sf->message);
			nrecorded += archive_import_not_loaded(report, archive_import__target_name(o, chosen[i]->name), chosen[i],
												   "not loaded");
		}
	}
	if (catalog_filter_active(&o->cli.filter) || o->schema_only)
	{
		choices = xcalloc((size_t) nchosen, sizeof *choices);
		if (archive_import_choose(o, root, chosen, nchosen, choices, err) != 0)
		{
			rc = EXIT_FAIL;
			goto done;
		}
	}
	if (o->cli.dry_run)
	{
		rc = archive_import__plan(o, root, m, chosen, choices, nchosen);
		goto done;
	}
	scratch = cleanup_private_tmpdir(err);
	if (!scratch)
	{
		rc = EXIT_FAIL;
		goto done;
	}
	if (o->cli.roles && !(tl && archive_tarload_roles_done(tl)) &&
		archive_import__roles(o, root, m->roles_file, m->roles_passwords, scratch, err) != 0)
	{
		rc = EXIT_FAIL;
		goto done;
	}
	prog = progress_create(o->cli.progress, "import", nchosen);
	for (int i = 0; i < nchosen; i++)
		progress_db_name(prog, i, archive_import__target_name(o, chosen[i]->name));

	/* The sessions of one database's post-data (pg_restore -j) and of its
	 * table parts loaded in parallel: its share of --jobs when several
	 * databases can be at work at once. */
	int concurrent = nchosen < o->cli.jobs ? nchosen : o->cli.jobs;
	if (concurrent < 1)
		concurrent = 1;
	runner = (import_runner) {.o = o, .root = root, .m = m, .chosen = chosen, .nchosen = nchosen,
		.choices = choices,
		.prog = prog, .scratch = scratch, .jobs_per_db = o->cli.jobs / concurrent,
		.report = report, .tl = tl, .nrecorded = nrecorded, .outcome = outcome, .why = why,
		.concurrent = concurrent};
	pthread_mutex_init(&runner.lock, NULL);
	pthread_cond_init(&runner.over, NULL);
	runner_ready = true;
	runner.dbs = xcalloc((size_t) nchosen, sizeof *runner.dbs);
	archive_import_all(&runner);
	if (runner.prog_started)
		progress_stop(prog);
	if (__atomic_load_n(&runner.nrecorded, __ATOMIC_RELAXED) > 0)
	{
		/* The verification report, as copy prints it. */
		printf("\n");
		verify_report_print(runner.report, stdout, false);
		fflush(stdout);
	}
	rc = archive_import_summary(&runner, err);

done:
	if (prog)
	{
		if (runner_ready && runner.prog_started)
			progress_stop(prog);
		progress_free(prog);
	}
	if (runner_ready)
	{
		err_clear(&runner.err);
		for (int i = 0; runner.dbs && i < nchosen; i++)
			archive_import_db_free(&runner.dbs[i]);
		free(runner.dbs);
		pthread_cond_destroy(&runner.over);
		pthread_mutex_destroy(&runner.lock);
	}
	for (int i = 0; i < nchosen; i++)
		free(why[i]);
	free(why);
	free(outcome);
	verify_report_free(report);
	for (int i = 0; choices && i < nchosen; i++)
		archive_choice_free(&choices[i]);
	free(choices);
	free(chosen);
	manifest_destroy(m);
	archive_tarload_destroy(tl);
	free(unpacked);
	return rc;
}
