/*
 * copy_int.h: what the two halves of "pgcarry copy" share (not for other
 * modules): copy.c, the command and its coordinator (options, checks,
 * preparing each database, roles, --dry-run), and copy_data.c, the units of
 * work the job runner runs (tables, their verification, large objects) and
 * each database's finish step (sequences, post-data, ANALYZE, verdict).
 */
#ifndef PGCARRY_COPY_INT_H
#define PGCARRY_COPY_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "cli.h"
#include "core/catalog.h"
#include "core/common.h"
#include "core/ddl.h"
#include "core/job.h"
#include "core/objects.h"
#include "core/state.h"
#include "core/stream.h"
#include "core/verify.h"
#include "follow/follow.h"

/* The resume record's key of a database's large objects (a table's is
 * copy_table.unit). */
#define COPY_UNIT_LO "large objects"

/* Task priorities: finishing a database first, then big before small. */
#define COPY_PRIO_FINALIZE INT64_MAX
#define COPY_PRIO_VERIFY (INT64_MAX - 1)

typedef struct copy_opts
{
	cli_shared	cli;			/* the shared options (cli.h): servers,
								 * databases, --jobs, filters, --roles,
								 * --clean, --resume, --verify, --dry-run */
	const char *state_dir;
	bool		exit_on_error;	/* stop a database at its first schema
								 * object that cannot be created */
	bool		follow;			/* --follow: then the target follows the
								 * source (follow/follow.h) */
	bool		schema_only;	/* --schema-only: no rows, sequence values or
								 * large objects */
	bool		data_only;		/* --data-only: rows, sequences and large
								 * objects into the empty tables of a
								 * database that exists; no schema */
	cli_renames renames;		/* --rename OLD=NEW: source database OLD
								 * becomes NEW on the target */
} copy_opts;

/* What the coordinator decided to do with a database. */
typedef enum copy_action
{
	COPY_ACT_CREATE,			/* missing on the target: create it */
	COPY_ACT_INTO_EMPTY,		/* exists, holds nothing: fill it */
	COPY_ACT_RECREATE,			/* drop it first (--clean, or a resume
								 * before pre-data was done) */
	COPY_ACT_RESUME,			/* pre-data done earlier: go on */
	COPY_ACT_DONE,				/* verified by an earlier run */
	COPY_ACT_DATA_ONLY			/* --data-only: exists with its tables: fill them */
} copy_action;

typedef struct copy_run copy_run;
typedef struct copy_db copy_db;

typedef struct copy_table
{
	copy_db    *db;
	catalog_table *t;
	stream_format fmt;
	char	   *unit;			/* resume state key */
	int			nparts;
	job_parts	load;			/* its slices (the source's checksum) */
	job_parts	verify;			/* its verify slices (the target's) */
	int		   *early_ids;		/* dump IDs of its own indexes and
								 * constraints, built once its data is in */
	int			nearly;
	bool		early_done;		/* under db->lock */
} copy_table;

struct copy_db
{
	copy_run   *run;
	int			index;
	catalog_db *info;			/* the database on the source */
	const char *target;			/* its name on the target (--rename), else
								 * info->name; state and report use it */
	copy_action action;
	bool		refused;		/* copy_preflight refused it */
	state_phase phase_at_start;

	job_db	   *job;			/* its life on the job runner */
	PGconn	   *snap_conn;		/* the snapshot's session (owned by job) */
	follow_db  *follow;			/* --follow: the slot whose snapshot is read */
	const char *snap_id;		/* owned by job */
	ddl_dump   *dump;
	ddl_restore_opts ddl;
	ddl_failures schema_failures;	/* objects pg_restore could not create
									 * (pre-data, then post-data) */
	objects    *src_objects;	/* the source's schema inventory, read under
								 * the snapshot (NULL: --verify none) */

	catalog_table *tables;
	int			ntables;
	copy_table *ct;
	catalog_sequence *seqs;
	int			nseqs;

	/* Large objects. */
	int64_t		lo_count;
	job_parts	lo;				/* the batches */
	bool		lo_verify_failed;

	pthread_mutex_t lock;
	struct timespec started;
};

struct copy_run
{
	copy_opts  *o;
	int			source_version;
	int			target_version;
	ddl_tools  *tools;
	const char *tmpdir;
	state	   *st;
	verify_report *report;
	progress   *prog;
	job_run    *jobs;
	copy_db    *dbs;
	int			ndbs;
	char	   *target_maint;	/* maintenance database on the target */
};

typedef enum copy_task_kind
{
	COPY_TASK_TABLE,			/* a whole table */
	COPY_TASK_PART,				/* a slice of a table */
	COPY_TASK_VERIFY,			/* verify a table copied by an earlier run */
	COPY_TASK_VERIFY_PART,		/* verify a slice of a big table's target pages */
	COPY_TASK_LO,				/* a batch of large objects */
	COPY_TASK_FINALIZE			/* sequences, post-data, ANALYZE */
} copy_task_kind;

typedef struct copy_task
{
	copy_task_kind kind;
	copy_db    *db;
	copy_table *tbl;
	stream_range range;
	uint32_t	lo_first;
	uint32_t	lo_end;
	int64_t		lo_est;			/* estimated bytes of a large object batch */
	rowhash		done_hash;		/* COPY_TASK_VERIFY: the source's rows and
								 * checksum an earlier run recorded */
} copy_task;

/* A worker: the runner's, with its pair of sessions. */
typedef job_worker copy_worker;

/* Records that kind name of database d failed: logs err (tagged by the
 * caller's log_set_table) and puts it in the report (job_fail). */
void copy__fail(copy_db *d, const char *kind, const char *name, const pgc_err *err);

/* A new task of kind for database d (and table t, or NULL); the caller
 * queues it with copy__push, which takes it over. */
copy_task *copy__task_new(copy_task_kind kind, copy_db *d, copy_table *t);

/* Queues a data task of database d on the job runner. */
void copy__push(copy_db *d, copy_task *k, int64_t prio);

/* Releases d's snapshot and its session (the job runner's). */
void copy__release_snapshot(copy_db *d);

/* Whether the source's table of that OID is among the objects pre-data
 * could not create (its rows are then not copied). */
bool copy__table_not_created(const copy_db *d, uint32_t oid);

/* The job runner's view of copy (core/job.h): a unit, its name, the finish
 * step, and a database abandoned by a stopped run. */
void copy__task_run(job_worker *w, job_db *jd, void *unit);
const char *copy__task_name(const void *unit);
void copy__task_finish(job_worker *w, job_db *jd);
void copy__task_abandon(job_db *jd);

#endif
