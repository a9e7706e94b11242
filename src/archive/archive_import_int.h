/*
 * archive_import_int.h: what the parts of "pgcarry import" share (not for
 * other modules): archive_import.c, each database's steps around its data
 * (the coordinator's, and the finish step on the job runner), and
 * archive_import_data.c, the data: tables loaded on the job runner and
 * verified, sequences, large objects.
 */
#ifndef PGCARRY_ARCHIVE_IMPORT_INT_H
#define PGCARRY_ARCHIVE_IMPORT_INT_H

#include <libpq-fe.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "archive/archive_file.h"
#include "archive/archive_import.h"
#include "archive/archive_stream.h"
#include "archive/manifest.h"
#include "core/ddl.h"
#include "core/job.h"
#include "core/progress.h"
#include "core/stream.h"
#include "core/verify.h"
#include "util/err.h"
#include "util/rowhash.h"

/* What the databases of one import share (archive_import.c). */
typedef struct import_runner import_runner;

typedef struct import_db
{
	const archive_import_opts *o;
	const char *root;
	const manifest *m;
	const manifest_db *mdb;
	const char *name;			/* target database */
	bool		compressed;
	bool		resuming;
	pthread_mutex_t lock;
	pgc_err		err;			/* first failure */
	const archive_stream_files *streamed;	/* loaded as a tar went by, or NULL */
	int			ndiff;			/* verification differences */
	uint64_t	rows;
	int			skipped;		/* tables kept on resume */
	progress   *prog;
	int			index;			/* for progress */
	verify_mode verify;
	int			jobs;			/* sessions for this database */
	const char *scratch;		/* private directory for temporary files */
	verify_report *report;		/* shared by every database of the import */
	int		   *nrecorded;		/* entries recorded in report (atomic) */
	int		   *parts_left;		/* per table loaded in parallel parts */
	signed char *tree;			/* per table: 1 partitioned on the target
								 * (loaded through its root), 0 not, -1 not
								 * looked up yet */
	bool	   *recorded;		/* per table: its entry is in the report */
	const struct archive_choice *choice;	/* -n/-N/-t/-T: what is chosen;
											 * NULL: everything */
	ddl_failures schema_failures;	/* objects pg_restore could not create */
	int			pre_data_failures;	/* how many of them in pre-data */
	import_runner *run;			/* the import it belongs to */
	job_db	   *job;			/* on the runner, once its tables are queued */
	time_t		start;			/* when its turn came */
	bool		touched;		/* the target database was created or marked */
	bool		started;		/* its start unit ran */
	bool		ended;			/* archive_import_end ran */
} import_db;

/* A unit of the job runner: load one table, or parts of it; or (table
 * IMPORT_TASK_START) the database's start, before its tables. */
#define IMPORT_TASK_START (-1)
typedef struct import_task
{
	import_db  *db;
	int			table;
	int			part;			/* first part loaded by this task */
	int			nparts;			/* parts loaded, one after another, in one
								 * transaction */
	bool		whole;			/* every part of the table: TRUNCATE ONLY
								 * first, COPY ... FREEZE */
} import_task;

/* Counts an entry recorded in the shared report. */
void archive_import__recorded(import_db *db);

/* "schema.name" for the report; owned by the caller. */
char *archive_import__display(const char *schema, const char *name);

/* Records table t of the manifest in the report: expected from the
 * manifest, got as read from the target (NULL: not checked). */
void archive_import__record_table(import_db *db, int t, const rowhash *got, const char *note);

/* Reads a loaded table back from the target and compares it with the
 * manifest (row count and checksum, or the row count alone); a difference
 * is logged and counted, not an error. */
int archive_import__verify_table(import_db *db, int table, PGconn *conn, pgc_err *err);

/*
 * Queues every table of db on its job_db jd (the runner of the import,
 * whose units are archive_import__run_task): a table is one unit (its
 * parts one after another, in one transaction, TRUNCATE ONLY then COPY
 * FREEZE), except when there are fewer tables than db->jobs: then the parts
 * of a big table are units of their own, loaded in parallel into the table
 * emptied first (by coord, the coordinator's session).  Each table is
 * verified as soon as it is complete.  A failure while planning is kept in
 * db->err, as a unit's is (archive_import__loaded).
 */
void archive_import__plan_tables(import_db *db, job_db *jd, PGconn *coord);

/* Runs one unit of the import's job runner (job_ops.run): loads a table or
 * part of it; the first failure is kept in db->err and the database's other
 * units then do nothing. */
void archive_import__run_task(job_worker *w, job_db *jd, void *unit);

/* Once db's units are over: 0 when every table loaded, or -1 with err set
 * to the first failure (moved out of db->err), or "import interrupted". */
int archive_import__loaded(import_db *db, pgc_err *err);

/* Sets every sequence of the manifest (setval).  Returns 0, or -1 with err
 * set. */
int archive_import__sequences(import_db *db, PGconn *conn, pgc_err *err);

/* Loads the archive's large objects (lo_put in chunks).  Returns 0, or -1
 * with err set. */
int archive_import__large_objects(import_db *db, PGconn *conn, pgc_err *err);

/* Compares large objects and sequences with the manifest; counts
 * differences into db->ndiff. */
int archive_import__verify_rest(import_db *db, PGconn *conn, pgc_err *err);

/*
 * --data-only: the rows go into the tables of a database that exists, as
 * pg_restore --data-only loads them.  Refused, naming what is wrong and
 * touching nothing, when database db->name is missing on the target, lacks
 * any of db->mdb's tables, or holds rows in one (they would be replaced).
 * Reads only.  Returns 0, or -1 with err set.
 */
int archive_import__data_target(import_db *db, pgc_err *err);

/* ---- shared with the tar stream loader (archive_tarload.c) */

/* Quoted qualified name and column list of a manifest table (owned by the
 * caller). */
void archive_import__names(PGconn *conn, const manifest_table *t, char **qualified, char **columns);

/* The statement that empties the target table t (quoted q) before its rows
 * load: TRUNCATE (tree: the partitions too), or for an extension's
 * configuration table a DELETE of the rows matching its condition, leaving
 * the extension's own (catalog.h).  Owned by the caller. */
char *archive_import__clear_sql(const manifest_table *t, const char *q, bool tree);

/* COPY of the rows r reads into table q (columns cols), inside the
 * caller's transaction, each row hashed on its way: *got.  tick may be
 * NULL.  Returns 0, or -1 with err set. */
int archive_import__copy(PGconn *conn, const char *q, const char *cols, bool freeze, archive_file_reader *r,
						 const stream_tick *tick, rowhash *got, pgc_err *err);

/* On resume: 1 when every table of mdb exists in the target database
 * name (conn), 0 when none does, -1 (err set) when some do: the schema is
 * half made. */
int archive_import__schema_state(PGconn *conn, const manifest_db *mdb, const char *name, pgc_err *err);

/* Creates the roles of root/roles_file on the target (errors for roles that
 * exist are expected; the importing role is left alone); passwords says
 * whether the export could read them.  Returns 0, or -1 with err set. */
int archive_import__roles(const archive_import_opts *o, const char *root, const char *roles_file, bool passwords,
						  const char *scratch, pgc_err *err);

/* The name database name of the archive gets on the target (--db). */
const char *archive_import__target_name(const archive_import_opts *o, const char *name);

/*
 * --dry-run (archive_import_plan.c): the checks an import makes before it
 * writes, for the nchosen databases chosen (cut down to what -n/-N/-t/-T
 * choose: choices, NULL without them), the archive's files checked
 * already; prints the plan on stdout.
 * Reads the target only.  Returns EXIT_OK when the import would work,
 * EXIT_FAIL (each problem reported) when not.
 */
int archive_import__plan(const archive_import_opts *o, const char *root, const manifest *m,
						 const manifest_db *const *chosen, const struct archive_choice *choices, int nchosen);

#endif
