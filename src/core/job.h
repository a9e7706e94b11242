/*
 * job.h: the job runner, the one scheduler of the data path.  copy,
 * compare, export and import are pipelines on it: each names its two ends
 * (a server, an archive writer, an archive reader, a checksum-only sink)
 * and what a unit of work does; the runner owns a database's life around
 * that.
 *
 * How it works.  A run (job_run_create) starts --jobs worker threads
 * (workq.h); each worker owns a pair of sessions (copy_pair, common.h) that
 * follows the database of the unit it runs.  The coordinator adds each
 * database it works on (job_db_create), opens its snapshot sessions
 * (job_db_snapshot: one per side, read by every worker through
 * job_attach), reads its catalog, pushes its units of work (job_push) and
 * then lets go of it (job_db_planned).  A unit runs once, on one worker
 * (ops->run), tagged in the log with its database and its name; a unit
 * retries its connection-class failures with job_retry, and records the
 * failures it gives up on with job_fail, into the run's report (the only
 * tally) and the progress display.  When the last unit of a database is
 * over, its finish step (ops->finish) is queued ahead of every other unit
 * and runs on a worker; the snapshot sessions are released after it.
 * When the run was stopped (an interrupt, a failure that ends the run)
 * the finish step is not run: ops->abandon is called, and the snapshot
 * sessions are released.
 *
 * The resume record.  A database may be given a resume record (state.h,
 * job_db_set_state): then the runner keeps it.  A unit over without a
 * failure is recorded done under its key (job_unit_done), and verified
 * (job_unit_verified); on resume, a unit recorded finished by an earlier
 * run is kept (job_unit_kept: the coordinator does not queue it again);
 * the phases a database reaches are recorded (job_db_phase), and it is
 * recorded finished only after its finish step ran to the end and said so
 * (job_db_done), never when the step failed, was dropped or abandoned.
 *
 * Thread safety: job_push, job_fail, job_db_tick and the job_db accessors
 * may be called from any thread; job_db_snapshot, job_db_planned and the
 * create/destroy pairs belong to the coordinator.
 */
#ifndef PGCARRY_CORE_JOB_H
#define PGCARRY_CORE_JOB_H

#include <libpq-fe.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/common.h"
#include "core/progress.h"
#include "core/state.h"
#include "core/stream.h"
#include "core/verify.h"
#include "util/err.h"
#include "util/rowhash.h"

typedef struct job_run job_run;
typedef struct job_db job_db;

/* The two ends of a database's path, for its sessions and snapshots. */
typedef enum job_side
{
	JOB_SOURCE = 0,
	JOB_TARGET = 1
} job_side;

/* A worker thread's own state, given to every unit it runs. */
typedef struct job_worker
{
	int			id;				/* read only: 0 .. jobs-1 */
	copy_pair	pair;			/* its sessions, closed when it leaves */
} job_worker;

typedef struct job_ops
{
	/* Runs one unit of database d on worker w.  Never exits the process;
	 * records failures with job_fail.  Required. */
	void		(*run) (job_worker *w, job_db *d, void *unit);
	/* The name the unit's log lines are tagged with (a table), or NULL. */
	const char *(*unit_name) (const void *unit);
	/* Frees a unit after it ran or was dropped; NULL: free(). */
	void		(*unit_free) (void *unit);
	/* The finish step of d, once all its units are over; NULL: none. */
	void		(*finish) (job_worker *w, job_db *d);
	/* Priority of the finish step (units run highest first). */
	int64_t		finish_priority;
	/* Called instead of finish when the run was stopped; NULL: none. */
	void		(*abandon) (job_db *d);
} job_ops;

/*
 * Starts a run of jobs (>= 1) workers.  ops is copied.  report (may be NULL:
 * then job_fail only logs) and prog (may be NULL) stay the caller's and must
 * outlive the run.  conninfo names the servers: conninfo[JOB_SOURCE] and
 * conninfo[JOB_TARGET] (NULL for an end that is not a server: export has
 * no target, import no source), which the workers' sessions and the
 * snapshots connect to.  Never NULL.
 */
job_run *job_run_create(int jobs, const job_ops *ops, const char *const conninfo[2], verify_report *report,
						progress *prog);

/* Blocks until every unit and finish step queued so far is over.  Returns
 * false when the run was stopped. */
bool job_run_wait(job_run *r);

/* Drops every unit not yet started (their databases are abandoned). */
void job_run_stop(job_run *r);

/* True once the run was stopped. */
bool job_run_stopped(job_run *r);

/* Waits for the run, stops the workers and frees it.  NULL is allowed. */
void job_run_destroy(job_run *r);

/*
 * A database of run r: index is its place in the progress display, name its
 * name (not copied: must outlive it), encoding the client_encoding of its
 * sessions (not copied), ctx the command's own record of it.  The
 * coordinator holds it open until job_db_planned.  Never NULL.
 */
job_db *job_db_create(job_run *r, int index, const char *name, const char *encoding, void *ctx);

/* Frees d (and releases its snapshots, if still held).  NULL is allowed.
 * Only once the run no longer uses it (after job_run_wait). */
void job_db_destroy(job_db *d);

/* Names d's database on the target (not copied: must outlive d), when it
 * is not its name on the source (copy --rename): the target's sessions,
 * snapshot and failures then use it.  By default, the two are one name. */
void job_db_set_target_name(job_db *d, const char *name);

/* Accessors. */
void *job_db_ctx(const job_db *d);
const char *job_db_name(const job_db *d);
int			job_db_index(const job_db *d);
job_run    *job_db_run(const job_db *d);
progress   *job_db_progress(const job_db *d);
verify_report *job_db_report(const job_db *d);

/* Whether any unit of d failed (job_fail). */
bool job_db_failed(const job_db *d);

/*
 * Opens side's snapshot session of d: a session (stream_conn_open, read
 * only) and a snapshot exported in it, or, when adopt is not NULL, the
 * snapshot of that id adopted (snapshot.h).  Returns the session (owned by
 * d, for the coordinator's catalog reads), or NULL with err set.
 */
PGconn *job_db_snapshot(job_db *d, job_side side, const char *adopt, pgc_err *err);

/* The id of side's snapshot of d (NULL before job_db_snapshot). */
const char *job_db_snapshot_id(const job_db *d, job_side side);

/* Releases d's snapshots and their sessions (done by the runner after the
 * finish step or the abandon; a finish step may call it earlier). */
void job_db_release(job_db *d);

/* Queues a unit of d (counted until it is over or dropped). */
void job_push(job_db *d, void *unit, int64_t priority);

/* The coordinator is done planning d: once its units are over (at once when
 * it has none), its finish step is queued. */
void job_db_planned(job_db *d);

/*
 * Records that kind name of d failed: logs err (tagged with the unit),
 * marks d failed and puts err in the report as the cause (its message
 * followed by its detail in parentheses).
 */
void job_fail(job_db *d, const char *kind, const char *name, const pgc_err *err);

/*
 * Gives d a resume record: st (NULL: none; the caller's, must outlive d),
 * which holds d under its name on the target.  resume: d goes on from an
 * earlier run, whose record job_unit_kept reads (otherwise every unit is
 * new).  verified: a unit counts finished only once recorded verified
 * (--verify); otherwise once recorded done.
 */
void job_db_set_state(job_db *d, state *st, bool resume, bool verified);

/*
 * On resume, whether an earlier run finished d's unit key (done, and
 * verified when d's record asks for it): 1, the coordinator does not queue
 * it again; 0, it is to be done (or, recorded done but not verified, only
 * verified).  *u receives the record (done false when d does not resume or
 * has no record).  Returns -1 with err set when the record cannot be read.
 */
int job_unit_kept(job_db *d, const char *key, state_unit *u, pgc_err *err);

/*
 * Records d's unit key done, with the source's rows and checksum hash (not NULL):
 * called when its data committed (by the unit that completes it).  Not
 * recorded when the unit calling it failed (job_fail).  A record that
 * cannot be written is logged.  Nothing without a resume record.
 */
void job_unit_done(job_db *d, const char *key, const rowhash *hash);

/* Records whether d's unit key was verified equal (as job_unit_done). */
void job_unit_verified(job_db *d, const char *key, bool equal);

/* Records the phase d reached (state.h).  Returns 0 (also without a
 * record), or -1 with err set. */
int job_db_phase(job_db *d, state_phase phase, pgc_err *err);

/* Called by d's finish step: d is finished.  Once the step is over, and
 * no unit or step of d failed, the runner records it (STATE_VERIFIED);
 * a record that cannot be written fails d. */
void job_db_done(job_db *d);

/*
 * The first failure of a database, for pipelines that give a database up
 * at its first failure and report it once (export, import): moves err into
 * *first under lock unless *first already holds one; err is cleared.
 */
void job_first_failure(pthread_mutex_t *lock, pgc_err *first, pgc_err *err);

/* Whether *first holds a failure (read under lock), or pgcarry was
 * interrupted: then nothing more is started. */
bool job_first_failed(pthread_mutex_t *lock, const pgc_err *first);

/* A progress tick of d, for the stream functions. */
stream_tick job_db_tick(job_db *d);

/*
 * Makes w's sessions point at d: open sessions to both ends that are
 * servers (reused when they already are d's and alive; the target's read
 * only when tgt_read_only), in w->pair.  Returns 0, or -1 with err set.
 */
int job_sessions(job_worker *w, job_db *d, bool tgt_read_only, pgc_err *err);

/*
 * Makes w's sessions point at d (job_sessions: the ends of the run that are servers;
 * the target's read only when tgt_read_only) and, when
 * d holds side's snapshot, attaches the session of that side to it.
 * *conn receives that session.  Returns 0, or -1 with err set.
 */
int job_attach(job_worker *w, job_db *d, job_side side, bool tgt_read_only, PGconn **conn, pgc_err *err);

/*
 * One unit's read or write with its retries: runs fn(conn, arg, err) in w's
 * session of side, attached to d's snapshot (job_attach), and tries again
 * while job_retry says so (what names the work in the log).  On the source
 * the session stays in its snapshot transaction after fn, for the worker's
 * next reads (copy_pair_source_snapshot; ended before the worker waits and
 * before a finish step).  Returns 0, or -1 with err set by the last attempt.
 */
int job_try(job_worker *w, job_db *d, job_side side, bool tgt_read_only,
			int (*fn) (PGconn *conn, void *arg, pgc_err *err), void *arg, const char *what, pgc_err *err);

/* Leaves the snapshot a session was attached to by job_attach. */
void job_detach(PGconn *conn);

/*
 * After a failed attempt of a unit: recovers w's sessions, then says
 * whether to try again (copy_retry: a connection-class error, attempts
 * left, no interrupt; it logs and sleeps a backoff first).  attempt counts
 * from 0.
 */
bool job_retry(job_worker *w, const pgc_err *err, int attempt, const char *what);

/*
 * The parts of one thing whose checksums add up: a table loaded or read in
 * slices, the large objects in batches, a relation read on both sides.
 * Each part over merges its checksums (one per side) into the whole, a
 * failed part fails the whole, and the last part over concludes.  The
 * fields are private (under lock).
 */
typedef struct job_parts
{
	pthread_mutex_t lock;
	bool		ready;			/* job_parts_init ran */
	int			left;
	bool		failed;
	rowhash		hash[2];
} job_parts;

/* Sets p for n parts (>= 0), none over yet, both checksums empty. */
void job_parts_init(job_parts *p, int n);

/* Frees what job_parts_init set up (nothing when it never ran). */
void job_parts_destroy(job_parts *p);

/*
 * One part of p is over: failed, it fails the whole; otherwise src and tgt
 * (either may be NULL) are merged into the sides' checksums.  Returns true
 * when this was the last part; then out (may be NULL) receives both sides'
 * checksums and *any_failed (may be NULL) whether any part failed.
 */
bool job_parts_over(job_parts *p, const rowhash *src, const rowhash *tgt, bool failed, rowhash out[2],
					bool *any_failed);

/* Both sides' checksums merged so far, into out. */
void job_parts_sum(job_parts *p, rowhash out[2]);

#endif
