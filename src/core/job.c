/*
 * job.c: the job runner (see job.h).
 */
#include "core/job.h"
#include "cleanup.h"
#include "conn.h"
#include "core/snapshot.h"
#include "core/workq.h"
#include "util/log.h"
#include "util/xalloc.h"

#include <assert.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

struct job_run
{
	job_ops		ops;
	const char *conninfo[2];
	verify_report *report;
	progress   *prog;
	workq	   *q;
};

struct job_db
{
	job_run    *run;
	int			index;
	const char *name;
	const char *tgt_name;		/* its name on the target */
	const char *encoding;
	void	   *ctx;
	PGconn	   *snap_conn[2];
	snapshot   *snap[2];
	char	   *snap_id[2];
	atomic_int	pending;		/* units not over, +1 while planning */
	atomic_bool failed;
	/* The resume record (job_db_set_state): */
	state	   *st;				/* NULL: none */
	bool		resume;			/* an earlier run's record is read */
	bool		verified;		/* a unit is finished once verified */
	atomic_bool done;			/* the finish step said d is finished */
};

/* A queued item: a unit of a database, or (unit NULL) its finish step. */
typedef struct job_item
{
	job_db	   *db;
	void	   *unit;
	bool		failed;			/* job_fail of its database while it ran */
} job_item;

/* The item the calling worker thread runs (NULL in the coordinator). */
static _Thread_local job_item *job_current;

/* ------------------------------------------------------------------------
 * Databases
 * ------------------------------------------------------------------------ */

job_db *
job_db_create(job_run *r, int index, const char *name, const char *encoding, void *ctx)
{
	job_db	   *d = xcalloc(1, sizeof *d);
	d->run = r;
	d->index = index;
	d->name = name;
	d->tgt_name = name;
	d->encoding = encoding;
	d->ctx = ctx;
	atomic_store(&d->pending, 1);
	return d;
}

void
job_db_destroy(job_db *d)
{
	if (!d)
		return;
	job_db_release(d);
	free(d);
}

void *
job_db_ctx(const job_db *d)
{
	return d->ctx;
}

const char *
job_db_name(const job_db *d)
{
	return d->name;
}

void
job_db_set_target_name(job_db *d, const char *name)
{
	d->tgt_name = name;
}

int
job_db_index(const job_db *d)
{
	return d->index;
}

job_run *
job_db_run(const job_db *d)
{
	return d->run;
}

progress *
job_db_progress(const job_db *d)
{
	return d->run->prog;
}

verify_report *
job_db_report(const job_db *d)
{
	return d->run->report;
}

bool
job_db_failed(const job_db *d)
{
	return atomic_load(&d->failed);
}

PGconn *
job_db_snapshot(job_db *d, job_side side, const char *adopt, pgc_err *err)
{
	static const char *const names[2] = {"source", "target"};
	const char *conninfo = d->run->conninfo[side];
	d->snap_conn[side] = stream_conn_open(conninfo, side == JOB_TARGET ? d->tgt_name : d->name, names[side], d->encoding, true, err);
	if (!d->snap_conn[side])
		return NULL;
	d->snap[side] = adopt ? snapshot_adopt(d->snap_conn[side], adopt, err) : snapshot_export(d->snap_conn[side], err);
	if (!d->snap[side])
		return NULL;
	d->snap_id[side] = xstrdup(snapshot_id(d->snap[side]));
	return d->snap_conn[side];
}

const char *
job_db_snapshot_id(const job_db *d, job_side side)
{
	return d->snap_id[side];
}

void
job_db_release(job_db *d)
{
	for (int s = 0; s < 2; s++)
	{
		snapshot_release(d->snap[s]);
		d->snap[s] = NULL;
		conn_close(d->snap_conn[s]);
		d->snap_conn[s] = NULL;
		free(d->snap_id[s]);
		d->snap_id[s] = NULL;
	}
}

/* ------------------------------------------------------------------------
 * Failures
 * ------------------------------------------------------------------------ */

void
job_fail(job_db *d, const char *kind, const char *name, const pgc_err *err)
{
	atomic_store(&d->failed, true);
	if (job_current && job_current->db == d)
		job_current->failed = true;
	if (d->run->report)
		copy_report_failure(d->run->report, d->tgt_name, kind, name, err);
	else
		err_report(err);
}

void
job_first_failure(pthread_mutex_t *lock, pgc_err *first, pgc_err *err)
{
	pthread_mutex_lock(lock);
	if (!first->set)
		err_move(first, err);
	pthread_mutex_unlock(lock);
	err_clear(err);
}

bool
job_first_failed(pthread_mutex_t *lock, const pgc_err *first)
{
	pthread_mutex_lock(lock);
	bool		failed = first->set;
	pthread_mutex_unlock(lock);
	return failed || cleanup_interrupted();
}

/* ------------------------------------------------------------------------
 * The resume record
 * ------------------------------------------------------------------------ */

void
job_db_set_state(job_db *d, state *st, bool resume, bool verified)
{
	d->st = st;
	d->resume = resume;
	d->verified = verified;
}

int
job_unit_kept(job_db *d, const char *key, state_unit *u, pgc_err *err)
{
	*u = (state_unit) {0};
	if (!d->st || !d->resume)
		return 0;
	if (state_unit_get(d->st, d->tgt_name, key, u, err) != 0)
		return -1;
	return u->done && (u->verified || !d->verified);
}

/* Whether the unit the calling thread runs is one of d's that failed. */
static bool
job_current_failed(const job_db *d)
{
	return job_current && job_current->db == d && job_current->failed;
}

/* Records d's unit key: done with hash (hash not NULL), or verified equal
 * or not; only with a record, and not for a unit that failed. */
static void
job_unit_record(job_db *d, const char *key, const rowhash *hash, bool equal)
{
	pgc_err		err = PGC_ERR_INIT;
	if (!d->st || job_current_failed(d))
		return;
	if ((hash ? state_unit_done(d->st, d->tgt_name, key, hash, &err)
		 : state_unit_verified(d->st, d->tgt_name, key, equal, &err)) != 0)
		err_report(&err);
	err_clear(&err);
}

void
job_unit_done(job_db *d, const char *key, const rowhash *hash)
{
	job_unit_record(d, key, hash, false);
}

void
job_unit_verified(job_db *d, const char *key, bool equal)
{
	job_unit_record(d, key, NULL, equal);
}

int
job_db_phase(job_db *d, state_phase phase, pgc_err *err)
{
	return d->st ? state_db_set(d->st, d->tgt_name, phase, err) : 0;
}

void
job_db_done(job_db *d)
{
	atomic_store(&d->done, true);
}

/* After d's finish step: records d finished when the step said so and
 * nothing of d failed. */
static void
job_db_record_finished(job_db *d)
{
	pgc_err		err = PGC_ERR_INIT;
	if (!atomic_load(&d->done) || job_db_failed(d) || !d->st)
		return;
	if (state_db_set(d->st, d->tgt_name, STATE_VERIFIED, &err) != 0)
		job_fail(d, "database", d->tgt_name, &err);
	err_clear(&err);
}

/* ------------------------------------------------------------------------
 * Progress, sessions, retries
 * ------------------------------------------------------------------------ */

static void
job_tick_fn(void *arg, int64_t bytes, int64_t rows)
{
	job_db	   *d = arg;
	progress_add(d->run->prog, d->index, bytes, rows);
}

stream_tick
job_db_tick(job_db *d)
{
	return (stream_tick) {job_tick_fn, d};
}

int
job_sessions(job_worker *w, job_db *d, bool tgt_read_only, pgc_err *err)
{
	job_run    *r = d->run;
	return copy_pair_open(&w->pair, d, r->conninfo[JOB_SOURCE], r->conninfo[JOB_TARGET], d->name, d->tgt_name,
						  d->encoding,
						  tgt_read_only, err);
}

int
job_attach(job_worker *w, job_db *d, job_side side, bool tgt_read_only, PGconn **conn, pgc_err *err)
{
	static const char *const names[2] = {"source", "target"};
	if (job_sessions(w, d, tgt_read_only, err) != 0)
		return -1;
	if (side == JOB_SOURCE)
		copy_pair_source_release(&w->pair);
	*conn = side == JOB_SOURCE ? w->pair.src : w->pair.tgt;
	if (d->snap_id[side] && snapshot_attach(*conn, d->snap_id[side], err) != 0)
	{
		err_prefix(err, "could not attach to the %s snapshot: ", names[side]);
		return -1;
	}
	return 0;
}

int
job_try(job_worker *w, job_db *d, job_side side, bool tgt_read_only,
		int (*fn) (PGconn *conn, void *arg, pgc_err *err), void *arg, const char *what, pgc_err *err)
{
	/* The source's reads stay in the snapshot transaction the worker is
	 * already in (copy_pair_source_snapshot), as copy's do: one statement
	 * a table instead of three. */
	bool		sticky = side == JOB_SOURCE && d->snap_id[JOB_SOURCE];
	for (int attempt = 0;; attempt++)
	{
		PGconn	   *conn = NULL;
		int			rc;
		if (sticky)
		{
			rc = job_sessions(w, d, tgt_read_only, err);
			if (rc == 0 && (rc = copy_pair_source_snapshot(&w->pair, d->snap_id[JOB_SOURCE], err)) != 0)
				err_prefix(err, "could not attach to the source snapshot: ");
			conn = w->pair.src;
		}
		else
			rc = job_attach(w, d, side, tgt_read_only, &conn, err);
		if (rc == 0 && fn(conn, arg, err) == 0)
		{
			if (d->snap_id[side] && !sticky)
				job_detach(conn);
			return 0;
		}
		if (!job_retry(w, err, attempt, what))
			return -1;
		err_clear(err);
	}
}

void
job_detach(PGconn *conn)
{
	pgc_err		e = PGC_ERR_INIT;
	(void) snapshot_detach(conn, &e);
	err_clear(&e);
}

bool
job_retry(job_worker *w, const pgc_err *err, int attempt, const char *what)
{
	copy_pair_recover(&w->pair);
	return copy_retry(err, attempt, what);
}

/* ------------------------------------------------------------------------
 * Parts of one thing
 * ------------------------------------------------------------------------ */

void
job_parts_init(job_parts *p, int n)
{
	assert(n >= 0);
	if (!p->ready)
		pthread_mutex_init(&p->lock, NULL);
	p->ready = true;
	p->left = n;
	p->failed = false;
	rowhash_init(&p->hash[0]);
	rowhash_init(&p->hash[1]);
}

void
job_parts_destroy(job_parts *p)
{
	if (p->ready)
		pthread_mutex_destroy(&p->lock);
	p->ready = false;
}

bool
job_parts_over(job_parts *p, const rowhash *src, const rowhash *tgt, bool failed, rowhash out[2],
			   bool *any_failed)
{
	assert(p->ready);
	pthread_mutex_lock(&p->lock);
	if (failed)
		p->failed = true;
	else
	{
		if (src)
			rowhash_merge(&p->hash[0], src);
		if (tgt)
			rowhash_merge(&p->hash[1], tgt);
	}
	assert(p->left > 0);
	bool		last = --p->left == 0;
	if (last && out)
	{
		out[0] = p->hash[0];
		out[1] = p->hash[1];
	}
	if (last && any_failed)
		*any_failed = p->failed;
	pthread_mutex_unlock(&p->lock);
	return last;
}

void
job_parts_sum(job_parts *p, rowhash out[2])
{
	pthread_mutex_lock(&p->lock);
	out[0] = p->hash[0];
	out[1] = p->hash[1];
	pthread_mutex_unlock(&p->lock);
}

/* ------------------------------------------------------------------------
 * Scheduling
 * ------------------------------------------------------------------------ */

static void
job_item_free(job_run *r, job_item *it)
{
	if (it->unit)
	{
		if (r->ops.unit_free)
			r->ops.unit_free(it->unit);
		else
			free(it->unit);
	}
	free(it);
}

/* A unit of d is over (or dropped): the last one queues the finish step,
 * or, when the run is stopped, abandons the database. */
static void
job_unit_over(job_db *d)
{
	job_run    *r = d->run;
	if (atomic_fetch_sub(&d->pending, 1) != 1)
		return;
	if (workq_stopped(r->q))
	{
		if (r->ops.abandon)
			r->ops.abandon(d);
		job_db_release(d);
		return;
	}
	job_item   *f = xcalloc(1, sizeof *f);
	f->db = d;
	workq_push(r->q, f, r->ops.finish_priority);
}

void
job_push(job_db *d, void *unit, int64_t priority)
{
	job_item   *it = xcalloc(1, sizeof *it);
	it->db = d;
	it->unit = unit;
	atomic_fetch_add(&d->pending, 1);
	workq_push(d->run->q, it, priority);
}

void
job_db_planned(job_db *d)
{
	job_unit_over(d);
}

static void *
job_worker_start(int worker, void *ctx)
{
	(void) ctx;
	job_worker *w = xcalloc(1, sizeof *w);
	w->id = worker;
	log_set_worker(worker + 1);
	return w;
}

static void
job_worker_end(int worker, void *state, void *ctx)
{
	(void) worker;
	(void) ctx;
	job_worker *w = state;
	copy_pair_close(&w->pair);
	free(w);
}

/*
 * A worker about to wait for work closes its sessions: it leaves no
 * transaction open, and no backend that has read thousands of tables sits
 * idle while the finish step's post-data builds their indexes (each such
 * backend takes in every catalog invalidation those statements send, at a
 * cost that grows with what it has cached: with 100,000 tables, most of the
 * servers' CPU).  The next unit opens fresh ones.
 */
static void
job_worker_idle(int worker, void *state, void *ctx)
{
	(void) worker;
	(void) ctx;
	job_worker *w = state;
	copy_pair_close(&w->pair);
}

static void
job_item_run(void *task, int worker, void *state, void *ctx)
{
	(void) worker;
	job_run    *r = ctx;
	job_item   *it = task;
	job_db	   *d = it->db;
	bool		unit = it->unit != NULL;
	log_set_database(d->name);
	log_set_table(unit && r->ops.unit_name ? r->ops.unit_name(it->unit) : NULL);
	job_current = it;
	if (cleanup_interrupted())
		workq_stop(r->q);
	else if (unit)
		r->ops.run(state, d, it->unit);
	else
	{
		/* The same for the sessions the worker read and loaded with: the
		 * finish step opens fresh ones if it needs them. */
		copy_pair_close(&((job_worker *) state)->pair);
		if (r->ops.finish)
			r->ops.finish(state, d);
		job_db_record_finished(d);
		job_db_release(d);
	}
	job_current = NULL;
	log_set_table(NULL);
	log_set_database(NULL);
	job_item_free(r, it);
	if (unit)
		job_unit_over(d);
	if (cleanup_interrupted())
		workq_stop(r->q);
}

static void
job_item_dropped(void *task, void *ctx)
{
	job_run    *r = ctx;
	job_item   *it = task;
	job_db	   *d = it->db;
	bool		unit = it->unit != NULL;
	job_item_free(r, it);
	if (unit)
		job_unit_over(d);
	else
	{
		/* A finish step dropped by a stop: the database is abandoned. */
		if (r->ops.abandon)
			r->ops.abandon(d);
		job_db_release(d);
	}
}

/* ------------------------------------------------------------------------
 * Runs
 * ------------------------------------------------------------------------ */

job_run *
job_run_create(int jobs, const job_ops *ops, const char *const conninfo[2], verify_report *report,
			   progress *prog)
{
	job_run    *r = xcalloc(1, sizeof *r);
	r->ops = *ops;
	r->conninfo[0] = conninfo[0];
	r->conninfo[1] = conninfo[1];
	r->report = report;
	r->prog = prog;
	workq_ops	q = {job_worker_start, job_item_run, job_worker_end, job_item_dropped, job_worker_idle};
	r->q = workq_create(jobs, &q, r);
	return r;
}

bool
job_run_wait(job_run *r)
{
	return workq_wait(r->q);
}

void
job_run_stop(job_run *r)
{
	workq_stop(r->q);
}

bool
job_run_stopped(job_run *r)
{
	return workq_stopped(r->q);
}

void
job_run_destroy(job_run *r)
{
	if (!r)
		return;
	workq_wait(r->q);
	workq_destroy(r->q);
	free(r);
}
