/*
 * copy_data.c: the data half of "pgcarry copy" (see copy.c for how the
 * whole works, copy_int.h for what the halves share): the units of work
 * the job runner runs for a database (a table or a slice of one, streamed
 * source -> target under the snapshot and verified; a batch of large
 * objects; a table copied by an earlier run, verified), and the database's
 * finish step once they are over (sequences, post-data, ANALYZE, verdict).
 */
#include "copy/copy_int.h"
#include "cleanup.h"
#include "conn.h"
#include "core/plan.h"
#include "core/progress.h"
#include "core/snapshot.h"
#include "util/buf.h"
#include "util/fault.h"
#include "util/log.h"
#include "util/monotime.h"
#include "util/xalloc.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Sequences set per statement batch. */
#define COPY_SEQ_BATCH 200

/* ------------------------------------------------------------------------
 * Small helpers
 * ------------------------------------------------------------------------ */

/* Records that something of database d failed: logs err (tagged by the
 * caller's log_set_table) and puts it in the report. */
void
copy__fail(copy_db *d, const char *kind, const char *name, const pgc_err *err)
{
	job_fail(d->job, kind, name, err);
}

copy_task *
copy__task_new(copy_task_kind kind, copy_db *d, copy_table *t)
{
	copy_task  *k = xcalloc(1, sizeof *k);
	k->kind = kind;
	k->db = d;
	k->tbl = t;
	k->range = stream_whole(t && t->t->via_root);
	return k;
}

/* Queues a data task of database d on the job runner. */
void
copy__push(copy_db *d, copy_task *k, int64_t prio)
{
	job_push(d->job, k, prio);
}

/* ------------------------------------------------------------------------
 * Tables
 * ------------------------------------------------------------------------ */

/* Counts every row of a partitioned table (all of its partitions) into
 * *rows.  Returns 0, or -1 with err set. */
static int
copy_count_tree(PGconn *conn, const char *qualified, int64_t *rows, pgc_err *err)
{
	char	   *sql = xasprintf("SELECT pg_catalog.count(*) FROM %s", qualified);
	char	   *v = conn_query_value(conn, sql, 0, NULL, err);
	free(sql);
	if (!v)
		return -1;
	*rows = strtoll(v, NULL, 10);
	free(v);
	return 0;
}

/*
 * Reads the target's copy of a table (or one slice of its pages) and
 * checksums it (--verify full) or counts its rows (--verify count) into
 * *tgt, retrying lost connections.  Returns 0, or -1 after reporting the
 * failure.
 */
/* One reading of the target's copy of a table (copy_verify_read). */
typedef struct copy_vread
{
	copy_table *ct;
	const stream_range *range;
	rowhash		tgt;
} copy_vread;

static int
copy_verify_read_once(PGconn *tgt, void *arg, pgc_err *err)
{
	copy_vread *v = arg;
	copy_table *ct = v->ct;
	rowhash_init(&v->tgt);
	if (ct->db->run->o->cli.verify == VERIFY_FULL)
	{
		stream_result res;
		stream_range whole = stream_whole(ct->t->via_root);
		if (verify_table_checksum(tgt, ct->t->qualified, ct->t->columns, v->range ? v->range : &whole,
								  ct->t->condition, ct->fmt, NULL, &res, err) != 0)
			return -1;
		v->tgt = res.hash;
		return 0;
	}
	int64_t		rows = 0;
	if ((ct->t->via_root ? copy_count_tree(tgt, ct->t->qualified, &rows, err)
		 : verify_table_count(tgt, ct->t->qualified, ct->t->condition, &rows, err)) != 0)
		return -1;
	v->tgt.rows = (uint64_t) rows;
	return 0;
}

static int
copy_verify_read(copy_worker *w, copy_table *ct, const stream_range *range, rowhash *tgt)
{
	copy_db    *d = ct->db;
	pgc_err		err = PGC_ERR_INIT;
	copy_vread	v = {.ct = ct, .range = range};
	rowhash_init(tgt);
	if (job_try(w, d->job, JOB_TARGET, false, copy_verify_read_once, &v, "verifying the table", &err) != 0)
	{
		err_prefix(&err, "could not verify the table on the target: ");
		copy__fail(d, "table", ct->t->display, &err);
		err_clear(&err);
		return -1;
	}
	*tgt = v.tgt;
	return 0;
}

/* Records the verdict on a table, source against target, in the report and
 * the state. */
static void
copy_verify_conclude(copy_table *ct, const rowhash *src, const rowhash *tgt, const char *note)
{
	copy_db    *d = ct->db;
	copy_run   *r = d->run;
	verify_status vs = verify_report_table(r->report, d->target, ct->t->display, src,
										   r->o->cli.verify == VERIFY_NONE ? src : tgt, note);
	if (vs != VERIFY_OK && vs != VERIFY_UNCHECKED)
		log_error("the table differs on the target: %" PRIu64 " rows on the source, %" PRIu64
				  " on the target%s", src->rows, tgt->rows,
				  src->rows == tgt->rows ? ", checksums differ" : "");
	if (r->o->cli.verify != VERIFY_NONE)
		job_unit_verified(d->job, ct->unit, vs == VERIFY_OK);
}

/* Verifies a whole table against the source's rows and checksum src. */
static void
copy_verify_table(copy_worker *w, copy_table *ct, const rowhash *src, const char *note)
{
	rowhash		tgt;
	rowhash_init(&tgt);
	if (ct->db->run->o->cli.verify != VERIFY_NONE && copy_verify_read(w, ct, NULL, &tgt) != 0)
		return;
	copy_verify_conclude(ct, src, &tgt, note);
}

/* A table of at most this many bytes on the source (main fork and TOAST)
 * is small. */
#define COPY_SMALL_BYTES (64 * 1024)

/*
 * Whether a table loads without TRUNCATE and FREEZE: a small one that this
 * run's pre-data created.  DELETE empties it (of nothing, or of what a
 * retry after an unknown COMMIT left) by reading a few pages, where
 * TRUNCATE gives the table, its TOAST table and their indexes new files,
 * and COPY FREEZE a visibility map; freezing a few pages saves nothing
 * later.  With many small tables that is most of the load's cost.
 */
static bool
copy_small(const copy_table *ct)
{
	return !ct->t->ext_config && !ct->t->via_root && ct->t->est_bytes <= COPY_SMALL_BYTES &&
		(ct->db->action == COPY_ACT_CREATE || ct->db->action == COPY_ACT_RECREATE);
}

/*
 * One attempt at streaming a table (whole: TRUNCATE + COPY FREEZE in one
 * transaction; a small table: DELETE + COPY) or a slice (plain COPY).  *commit_sent tells whether the
 * COMMIT went out (after which the outcome of a lost connection is unknown).
 */
static int
copy_load_once(copy_worker *w, copy_table *ct, const stream_range *range, bool whole, int attempt,
			   stream_result *res, bool *commit_sent, pgc_err *err)
{
	copy_db    *d = ct->db;
	bool		data_only = d->run->o->data_only;
	*commit_sent = false;
	if (job_sessions(w, d->job, false, err) != 0)
		return -1;
	if (copy_pair_source_snapshot(&w->pair, d->snap_id, err) != 0)
	{
		err_prefix(err, "could not attach to the source snapshot: ");
		err_hint(err, "The source session holding the snapshot may have been lost: "
				 "run the same command with --resume.");
		return -1;
	}
	/* A small table this run created, on its first attempt, is empty: its
	 * COPY is its own transaction (one statement instead of BEGIN, DELETE,
	 * COPY and COMMIT).  A retry empties it first, in one transaction. */
	bool		fresh = whole && attempt == 0 && copy_small(ct) && !data_only;
	if (!fresh && conn_exec(w->pair.tgt, "BEGIN", err) != 0)
		return -1;
	if (whole && !fresh)
	{
		/* An extension's configuration table keeps the rows the extension
		 * put there: only those matching its condition are replaced. */
		if ((ct->t->ext_config || data_only) && stream_config_load_begin(w->pair.tgt, err) != 0)
		{
			err_prefix(err, "writing to the target: ");
			return -1;
		}
		/* --data-only: the user's tables, found empty, foreign keys in
		 * place (neither truncated nor frozen). */
		char	   *trunc = data_only ? NULL
			: ct->t->ext_config ? stream_delete_sql(ct->t->qualified, ct->t->condition)
			: copy_small(ct) ? stream_delete_sql(ct->t->qualified, NULL)
			: stream_truncate_sql(ct->t->qualified, ct->t->via_root);
		int			rc = trunc ? conn_exec(w->pair.tgt, trunc, err) : 0;
		free(trunc);
		if (rc != 0)
		{
			err_prefix(err, "writing to the target: ");
			return -1;
		}
	}
	else if (data_only && stream_config_load_begin(w->pair.tgt, err) != 0)
	{
		err_prefix(err, "writing to the target: ");
		return -1;
	}
	char	   *out = stream_copy_out_sql(ct->t->qualified, ct->t->columns, range, ct->t->condition, ct->fmt);
	/* COPY FREEZE is refused for a partitioned table (rows routed through
	 * the root load without it) and needs a TRUNCATE in the transaction. */
	char	   *in = stream_copy_in_sql(ct->t->qualified, ct->t->columns, ct->fmt,
										whole && !ct->t->via_root && !ct->t->ext_config && !copy_small(ct)
										&& !data_only);
	stream_tick tick = job_db_tick(d->job);
	int			rc = stream_copy(w->pair.src, out, w->pair.tgt, in, ct->fmt, &tick, res, err);
	free(out);
	free(in);
	if (rc != 0)
		return -1;
	*commit_sent = true;
	if (!fresh && conn_exec(w->pair.tgt, "COMMIT", err) != 0)
	{
		err_prefix(err, "writing to the target: ");
		return -1;
	}
	/* The source transaction stays open for the worker's next table of
	 * this snapshot (copy_pair_source_snapshot). */
	return 0;
}

/* Builds the table's own indexes and constraints (pg_restore of their
 * entries) right after its data is in, while other tables still copy.  On
 * failure they are left to the database's post-data pass. */
static void
copy_early_indexes(copy_table *ct)
{
	copy_db    *d = ct->db;
	copy_run   *r = d->run;
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ddl_restore_opts ro = d->ddl;
	/* Several indexes of one table build at once (pg_restore keeps apart
	 * the entries that lock the table exclusively). */
	ro.jobs = ct->nearly < r->o->cli.jobs ? ct->nearly : r->o->cli.jobs;
	ro.only_ids = ct->early_ids;
	ro.nonly = ct->nearly;
	ro.tolerate_existing = d->action == COPY_ACT_RESUME;
	ro.failures = NULL;			/* what fails is left to post-data */
	pgc_err		err = PGC_ERR_INIT;
	if (ddl_restore(r->tools, d->dump, DDL_ENTRIES, r->o->cli.target, "target", d->target, &ro, &err) != 0)
	{
		log_report(LOG_WARNING, err.message, err.detail,
				   "They are built again with the rest of the database's indexes.");
		err_clear(&err);
		return;
	}
	pthread_mutex_lock(&d->lock);
	ct->early_done = true;
	pthread_mutex_unlock(&d->lock);
	log_info("%d %s built in %.1f s", ct->nearly, ct->nearly == 1 ? "index or constraint" : "indexes and constraints",
			 monotime_since(&t0));
}


/* Whether the table of that OID on the source is among the objects
 * pre-data could not create. */
bool
copy__table_not_created(const copy_db *d, uint32_t oid)
{
	for (int i = 0; i < d->schema_failures.n; i++)
		if (d->schema_failures.items[i].classid == 1259 && d->schema_failures.items[i].objid == oid)
			return true;
	return false;
}

/*
 * With -n/-N/-t/-T the target holds only part of the source's schema: the
 * part pg_dump chose.  PostgreSQL's own account of both is then compared:
 * the table of contents of the source's schema dump (taken with those
 * options) against a pg_dump of the target with the same options.
 */
static int
copy_verify_chosen_objects(copy_worker *w, copy_db *d, pgc_err *err)
{
	copy_run   *r = d->run;
	int			entries = 0,
				n = 0;
	if (copy_filter_schema_compare(&r->o->cli.filter, r->o->cli.source, r->o->cli.target, d->target, NULL,
								   w->pair.tgt, NULL, NULL, d->dump, d->ddl.no_owner, r->tmpdir, r->report, &entries, &n, err) != 0)
		return -1;
	log_info("schema verified: %d entries of pg_dump's choice, %d %s", entries, n,
			 n == 1 ? "difference" : "differences");
	return 0;
}

/* Compares the target's schema inventory with the source's (read under
 * the snapshot); differences go to the report.  Returns 0, or -1 with err
 * set when the target's could not be read. */
static int
copy_verify_objects(copy_worker *w, copy_db *d, pgc_err *err)
{
	progress_phase(d->run->prog, d->index, "verifying schema");
	if (catalog_filter_active(&d->run->o->cli.filter))
		return copy_verify_chosen_objects(w, d, err);
	objects    *tgt = objects_read(w->pair.tgt, err);
	if (!tgt)
	{
		err_prefix(err, "on the target: ");
		return -1;
	}
	objects_compare_opts o = {.no_owner = d->ddl.no_owner, .no_privileges = d->ddl.no_privileges};
	int			ndiff = objects_compare(d->src_objects, tgt, &o, d->run->report, d->target);
	char	   *kinds = objects_summary(d->src_objects);
	log_info("schema verified: %d objects on the source (%s), %d on the target, %d %s", objects_count(d->src_objects),
			 kinds, objects_count(tgt), ndiff, ndiff == 1 ? "difference" : "differences");
	free(kinds);
	objects_free(tgt);
	return 0;
}

/* Names each object pg_restore could not create, with the server's whole
 * message and statement, as a failure of the database: it is not reported
 * verified, and the run exits 1. */
static void
copy_report_schema_failures(copy_db *d)
{
	for (int i = 0; i < d->schema_failures.n; i++)
	{
		const ddl_failure *f = &d->schema_failures.items[i];
		pgc_err		err = PGC_ERR_INIT;
		err_set(&err, "could not create %s in database \"%s\" on the target", f->object, d->target);
		err_detail(&err, "%s", f->message);
		copy__fail(d, "schema object", f->object, &err);
		err_clear(&err);
	}
}

static const char copy_target_pages_sql[] =
	"SELECT pg_catalog.pg_relation_size($1::pg_catalog.regclass) / 8192";

/*
 * A table copied in slices is verified in slices too, of the target's own
 * pages, so the check of one big table keeps every job busy as well.
 * Returns true when the slices were queued (the last one concludes).
 */
static bool
copy_verify_in_slices(copy_worker *w, copy_table *ct)
{
	copy_db    *d = ct->db;
	copy_run   *r = d->run;
	if (r->o->cli.verify != VERIFY_FULL || ct->nparts <= 1)
		return false;
	pgc_err		err = PGC_ERR_INIT;
	const char *params[1] = {ct->t->qualified};
	char	   *v = job_sessions(w, d->job, false, &err) == 0
		? conn_query_value(w->pair.tgt, copy_target_pages_sql, 1, params, &err) : NULL;
	err_clear(&err);			/* then it is verified whole */
	if (!v)
		return false;
	int64_t		pages = strtoll(v, NULL, 10);
	free(v);
	int64_t		split = copy_plan_split_bytes();
	stream_range *ranges = xcalloc(COPY_PLAN_MAX_PARTS, sizeof *ranges);
	int			n = copy_plan_ranges(pages, split / 8192, COPY_PLAN_MAX_PARTS, ranges);
	if (n <= 1)
	{
		free(ranges);
		return false;
	}
	log_info("verifying the target in %d slices", n);
	job_parts_init(&ct->verify, n);
	for (int i = 0; i < n; i++)
	{
		copy_task  *k = copy__task_new(COPY_TASK_VERIFY_PART, d, ct);
		k->range = ranges[i];
		copy__push(d, k, COPY_PRIO_VERIFY);
	}
	free(ranges);
	return true;
}

/* ANALYZE of one table, right after its load while its pages are in cache
 * (spread over the jobs instead of one ANALYZE of the database at the end).
 * A failure is only a warning: statistics are not data. */
static void
copy_analyze_table(copy_worker *w, copy_table *ct)
{
	copy_db    *d = ct->db;
	pgc_err		err = PGC_ERR_INIT;
	char	   *sql = xasprintf("ANALYZE %s", ct->t->qualified);
	if (job_sessions(w, d->job, false, &err) != 0 || conn_exec(w->pair.tgt, sql, &err) != 0)
	{
		log_warning("could not ANALYZE the table on the target: %s", err.message);
		copy_pair_recover(&w->pair);
	}
	err_clear(&err);
	free(sql);
}

/* The table is verified (whole or in slices): build its indexes, gather
 * its statistics. */
static void
copy_table_verified(copy_worker *w, copy_table *ct)
{
	if (cleanup_interrupted())
		return;
	if (ct->nearly > 0)
		copy_early_indexes(ct);
	copy_analyze_table(w, ct);
}

/* The table's data is all in: record it, verify it, build its indexes. */
static void
copy_table_complete(copy_worker *w, copy_table *ct, const rowhash *src)
{
	copy_db    *d = ct->db;
	copy_run   *r = d->run;
	job_unit_done(d->job, ct->unit, src);
	progress_unit_done(r->prog, d->index, 0);
	if (copy_verify_in_slices(w, ct))
		return;
	copy_verify_table(w, ct, src, NULL);
	copy_table_verified(w, ct);
}

/* One slice of a big table's target pages; the last one concludes. */
static void
copy_do_verify_part(copy_worker *w, copy_task *k)
{
	copy_table *ct = k->tbl;
	rowhash		part;
	bool		ok = copy_verify_read(w, ct, &k->range, &part) == 0;
	rowhash		tgt[2],
				src[2];
	bool		failed;
	if (!job_parts_over(&ct->verify, NULL, ok ? &part : NULL, !ok, tgt, &failed) || failed)
		return;
	job_parts_sum(&ct->load, src);
	copy_verify_conclude(ct, &src[0], &tgt[1], NULL);
	copy_table_verified(w, ct);
}

static void
copy_do_table(copy_worker *w, copy_task *k)
{
	copy_table *ct = k->tbl;
	copy_db    *d = k->db;
	bool		whole = k->kind == COPY_TASK_TABLE;
	int64_t		est = whole ? ct->t->est_bytes : ct->t->est_bytes / (ct->nparts ? ct->nparts : 1);
	progress_unit_begin(d->run->prog, d->index, ct->t->display, est);
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pgc_err		err = PGC_ERR_INIT;
	stream_result res;
	for (int attempt = 0;; attempt++)
	{
		bool		commit_sent = false;
		if (copy_load_once(w, ct, &k->range, whole, attempt, &res, &commit_sent, &err) == 0)
			break;
		copy_pair_recover(&w->pair);
		/* A slice whose COMMIT may have gone through cannot be loaded again
		 * (its rows would be there twice): the table is redone whole by
		 * --resume instead. */
		bool		unsure = !whole && commit_sent;
		if (unsure || !copy_retry(&err, attempt, "copying the table"))
		{
			if (unsure)
				err_hint(&err, "Run the same command with --resume: the table will be copied again.");
			copy__fail(d, "table", ct->t->display, &err);
			err_clear(&err);
			if (!whole)
				(void) job_parts_over(&ct->load, NULL, NULL, true, NULL, NULL);
			return;
		}
		err_clear(&err);
	}
	progress_credit(d->run->prog, d->index, est);
	if (whole)
	{
		log_info("copied %" PRIu64 " rows (%" PRId64 " bytes, %s) in %.1f s", res.hash.rows, res.bytes,
				 stream_format_name(ct->fmt), monotime_since(&t0));
		copy_table_complete(w, ct, &res.hash);
		return;
	}
	/* A slice: merge it; the last slice in completes the table. */
	log_info("copied slice of pages %" PRId64 "..%s: %" PRIu64 " rows in %.1f s", k->range.first_page,
			 k->range.end_page < 0 ? "end" : "", res.hash.rows, monotime_since(&t0));
	rowhash		src[2];
	bool		failed;
	if (job_parts_over(&ct->load, &res.hash, NULL, false, src, &failed) && !failed)
		copy_table_complete(w, ct, &src[0]);
}

/* ------------------------------------------------------------------------
 * Large objects
 * ------------------------------------------------------------------------ */

static const char copy_lo_count_sql[] =
	"SELECT pg_catalog.count(*) FROM pg_catalog.pg_largeobject_metadata "
	"WHERE oid >= $1::oid AND ($2::oid = 0 OR oid < $2::oid)";

/* One batch of large objects, and what it moved. */
typedef struct copy_lo_batch
{
	copy_worker *w;
	copy_task  *k;
	stream_result src;
	rowhash		tgt;
} copy_lo_batch;

/* One attempt at a batch, from the source session from (attached to the
 * snapshot) into the worker's target session, then verified there. */
static int
copy_lo_once(PGconn *from, void *arg, pgc_err *err)
{
	copy_lo_batch *lb = arg;
	copy_worker *w = lb->w;
	copy_task  *k = lb->k;
	stream_result *src = &lb->src;
	rowhash    *tgt = &lb->tgt;
	copy_db    *d = k->db;
	copy_run   *r = d->run;
	if (conn_exec(w->pair.tgt, "BEGIN", err) != 0)
		return -1;
	stream_tick tick = job_db_tick(d->job);
	if (stream_large_objects_copy(from, w->pair.tgt, k->lo_first, k->lo_end, &tick, src, err) != 0)
		return -1;
	if (conn_exec(w->pair.tgt, "COMMIT", err) != 0)
		return -1;

	rowhash_init(tgt);
	if (r->o->cli.verify == VERIFY_FULL)
	{
		stream_result res;
		if (conn_exec(w->pair.tgt, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY", err) != 0
			|| verify_large_objects(w->pair.tgt, k->lo_first, k->lo_end, NULL, &res, err) != 0
			|| conn_exec(w->pair.tgt, "COMMIT", err) != 0)
		{
			err_prefix(err, "verifying on the target: ");
			return -1;
		}
		*tgt = res.hash;
	}
	else if (r->o->cli.verify == VERIFY_COUNT)
	{
		char		a[16], b[16];
		snprintf(a, sizeof a, "%u", k->lo_first);
		snprintf(b, sizeof b, "%u", k->lo_end);
		const char *params[2] = {a, b};
		char	   *v = conn_query_value(w->pair.tgt, copy_lo_count_sql, 2, params, err);
		if (!v)
			return -1;
		tgt->rows = strtoull(v, NULL, 10);
		free(v);
	}
	return 0;
}

static void
copy_do_lo(copy_worker *w, copy_task *k)
{
	copy_db    *d = k->db;
	copy_run   *r = d->run;
	log_set_table("large objects");
	pgc_err		err = PGC_ERR_INIT;
	copy_lo_batch lb = {.w = w, .k = k};
	if (job_try(w, d->job, JOB_SOURCE, false, copy_lo_once, &lb, "copying large objects", &err) != 0)
	{
		copy__fail(d, "large objects", "large objects", &err);
		err_clear(&err);
		(void) job_parts_over(&d->lo, NULL, NULL, true, NULL, NULL);
		return;
	}
	stream_result src = lb.src;
	rowhash		tgt = lb.tgt;
	log_info("copied %" PRIu64 " large objects (%" PRId64 " bytes)", src.hash.rows, src.bytes);
	progress_credit(r->prog, d->index, k->lo_est);
	rowhash		all[2];
	bool		failed;
	if (job_parts_over(&d->lo, &src.hash, &tgt, false, all, &failed) && !failed)
	{
		rowhash		all_src = all[0],
					all_tgt = all[1];
		/* The last batch: record and report the large objects as a whole. */
		verify_status vs = r->o->cli.verify == VERIFY_NONE
			? verify_report_large_objects(r->report, d->target, &all_src, &all_src)
			: verify_report_large_objects(r->report, d->target, &all_src, &all_tgt);
		job_unit_done(d->job, COPY_UNIT_LO, &all_src);
		job_unit_verified(d->job, COPY_UNIT_LO, vs == VERIFY_OK);
		progress_unit_done(r->prog, d->index, 0);
		if (vs != VERIFY_OK && vs != VERIFY_UNCHECKED)
			log_error("the large objects differ on the target");
	}
}

/* ------------------------------------------------------------------------
 * Finishing a database
 * ------------------------------------------------------------------------ */

/* Orders sequences by their qualified name (bytes), for bsearch. */
static int
copy_sequence_cmp(const void *a, const void *b)
{
	return strcmp(((const catalog_sequence *) a)->qualified, ((const catalog_sequence *) b)->qualified);
}

/* Sets every sequence on the target to its value at the snapshot, then
 * reads them back into the report. */
static int
copy_sequences(copy_worker *w, copy_db *d, pgc_err *err)
{
	copy_run   *r = d->run;
	if (d->nseqs == 0)
		return 0;
	PGconn	   *tgt = w->pair.tgt;
	for (int first = 0; first < d->nseqs; first += COPY_SEQ_BATCH)
	{
		buf_t		sql = {0};
		for (int i = first; i < d->nseqs && i < first + COPY_SEQ_BATCH; i++)
		{
			catalog_sequence *s = &d->seqs[i];
			if (!s->last_value)
				continue;
			FAULT_ONCE("copy-skip-setval", true) continue;
			char	   *name = conn_quote_literal(tgt, s->qualified);
			char	   *val = conn_quote_literal(tgt, s->last_value);
			buf_printf(&sql, "SELECT pg_catalog.setval(%s::pg_catalog.regclass, %s::bigint, %s);", name,
					   val, s->is_called ? "true" : "false");
			free(name);
			free(val);
		}
		int			rc = sql.len ? conn_exec(tgt, sql.data, err) : 0;
		buf_free(&sql);
		if (rc != 0)
		{
			err_prefix(err, "could not set the sequences on the target: ");
			return -1;
		}
	}
	catalog_sequence *ts = NULL;
	int			nts = 0;
	if (catalog_sequences(tgt, &ts, &nts, err) != 0)
		return -1;
	/* The target's sequences by name, sorted once: a search per sequence,
	 * not a scan (a database of many tables has as many sequences). */
	if (nts > 1)
		qsort(ts, (size_t) nts, sizeof *ts, copy_sequence_cmp);
	for (int i = 0; i < d->nseqs; i++)
	{
		catalog_sequence *s = &d->seqs[i];
		catalog_sequence *t = nts > 0 ? bsearch(s, ts, (size_t) nts, sizeof *ts, copy_sequence_cmp) : NULL;
		verify_report_sequence(r->report, d->target, s->display, s->last_value, s->is_called,
							   t ? t->last_value : NULL, t ? t->is_called : false);
	}
	catalog_sequences_free(ts, nts);
	return 0;
}

/* The relations of a database the per-table ANALYZE did not cover, as one
 * comma-separated list (NULL when none). */
static const char copy_analyze_rest_sql[] =
	"SELECT pg_catalog.string_agg(pg_catalog.format('%I.%I', n.nspname, c.relname), ', ') "
	"FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
	"WHERE (c.relkind = 'p' OR (c.relkind = 'm' AND c.relispopulated)) "
	"  AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
	"  AND n.nspname !~ '^pg_(toast|temp_|toast_temp_)'";

void
copy__release_snapshot(copy_db *d)
{
	if (d->job)
		job_db_release(d->job);
	d->snap_conn = NULL;
	d->snap_id = NULL;
}

static void
copy_do_finalize(copy_worker *w, copy_task *k)
{
	copy_db    *d = k->db;
	copy_run   *r = d->run;
	pgc_err		err = PGC_ERR_INIT;
	copy__release_snapshot(d);
	if (job_db_failed(d->job) || cleanup_interrupted())
	{
		progress_phase(r->prog, d->index, "failed");
		log_error("database \"%s\" was not copied completely%s", d->target,
				  cleanup_interrupted() ? " (interrupted)" : "");
		return;
	}
	progress_phase(r->prog, d->index, "sequences");
	for (int attempt = 0;; attempt++)
	{
		if (job_sessions(w, d->job, false, &err) == 0
			&& copy_sequences(w, d, &err) == 0)
			break;
		if (!job_retry(w, &err, attempt, "setting the sequences"))
		{
			copy__fail(d, "sequences", "sequences", &err);
			err_clear(&err);
			progress_phase(r->prog, d->index, "failed");
			return;
		}
		err_clear(&err);
	}
	if (job_db_phase(d->job, STATE_DATA, &err) != 0)
		goto fail;

	/* Post-data: indexes, constraints, triggers, matview refreshes. */
	if (d->phase_at_start < STATE_POST_DATA && d->action != COPY_ACT_DATA_ONLY)
	{
		progress_phase(r->prog, d->index, "indexes");
		struct timespec t0;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		ddl_restore_opts ro = d->ddl;
		ro.jobs = r->o->cli.jobs;
		/* A resumed database may hold indexes built by the earlier run. */
		ro.tolerate_existing = d->action == COPY_ACT_RESUME;
		int		   *skip = NULL;
		int			nskip = 0;
		for (int i = 0; i < d->ntables; i++)
			if (d->ct && d->ct[i].early_done)
			{
				skip = xrealloc(skip, (size_t) (nskip + d->ct[i].nearly) * sizeof *skip);
				memcpy(skip + nskip, d->ct[i].early_ids, (size_t) d->ct[i].nearly * sizeof *skip);
				nskip += d->ct[i].nearly;
			}
		ro.skip_ids = skip;
		ro.nskip = nskip;
		int			rc = ddl_restore(r->tools, d->dump, DDL_POST_DATA, r->o->cli.target, "target", d->target,
									 &ro, &err);
		free(skip);
		if (rc != 0)
			goto fail;
		log_info("post-data schema applied in %.1f s", monotime_since(&t0));
		/* With objects missing, a --resume runs post-data again. */
		if (d->schema_failures.n == 0 && job_db_phase(d->job, STATE_POST_DATA, &err) != 0)
			goto fail;
	}
	copy_report_schema_failures(d);
	/* Tables were analyzed one by one as they came in; what is left are
	 * partitioned tables (statistics over their partitions) and the
	 * materialized views post-data refreshed. */
	progress_phase(r->prog, d->index, "analyze");
	if (job_sessions(w, d->job, false, &err) != 0)
		goto fail;
	char	   *rels = conn_query_value(w->pair.tgt, copy_analyze_rest_sql, 0, NULL, &err);
	if (err.set)
	{
		err_prefix(&err, "could not ANALYZE the target database: ");
		goto fail;
	}
	if (rels)
	{
		char	   *sql = xasprintf("ANALYZE %s", rels);
		int			arc = conn_exec(w->pair.tgt, sql, &err);
		free(sql);
		free(rels);
		if (arc != 0)
		{
			err_prefix(&err, "could not ANALYZE the target database: ");
			goto fail;
		}
	}
	/* The schema itself, object by object, against the source's. */
	if (d->src_objects && d->action != COPY_ACT_DATA_ONLY && copy_verify_objects(w, d, &err) != 0)
		goto fail;
	/*
	 * The database's own properties last, once nothing more is written:
	 * settings such as default_transaction_read_only or statement_timeout
	 * would otherwise apply to the sessions that load it.  Applying them
	 * again (a resumed database) changes nothing.
	 */
	progress_phase(r->prog, d->index, "properties");
	if (d->action != COPY_ACT_DATA_ONLY
		&& ddl_restore(r->tools, d->dump, DDL_DATABASE_PROPERTIES, r->o->cli.target, "target", d->target,
					   &d->ddl, &err) != 0)
		goto fail;
	if (verify_report_problems(r->report, d->target) == 0 && r->o->cli.verify != VERIFY_NONE)
	{
		job_db_done(d->job);	/* the runner records it once this step is over */
		log_notice("database \"%s\" copied and verified in %.1f s", d->target,
				   monotime_since(&d->started));
	}
	else if (r->o->cli.verify == VERIFY_NONE)
		log_notice("database \"%s\" copied (not verified) in %.1f s", d->target,
				   monotime_since(&d->started));
	else if (d->schema_failures.n > 0)
		log_error("database \"%s\" is incomplete: %d schema object%s could not be created (named above); "
				  "once the cause is fixed, copy it again with --clean", d->target, d->schema_failures.n,
				  d->schema_failures.n == 1 ? "" : "s");
	else
		log_error("database \"%s\" copied, but verification found %d %s", d->target,
				  verify_report_problems(r->report, d->target),
				  verify_report_problems(r->report, d->target) == 1 ? "difference" : "differences");
	progress_phase(r->prog, d->index, "done");
	return;

fail:
	copy__fail(d, "database", d->target, &err);
	err_clear(&err);
	progress_phase(r->prog, d->index, "failed");
}

/* ------------------------------------------------------------------------
 * Workers
 * ------------------------------------------------------------------------ */

/* Runs a data task of the job runner (core/job.h). */
void
copy__task_run(job_worker *w, job_db *jd, void *unit)
{
	copy_task  *k = unit;
	copy_db    *d = job_db_ctx(jd);
	copy_run   *r = d->run;
	if (k->kind != COPY_TASK_TABLE && k->kind != COPY_TASK_PART)
		copy_pair_source_release(&w->pair);
	switch (k->kind)
	{
		case COPY_TASK_TABLE:
		case COPY_TASK_PART:
			copy_do_table(w, k);
			break;
		case COPY_TASK_VERIFY:
			copy_verify_table(w, k->tbl, &k->done_hash, "copied by an earlier run");
			copy_analyze_table(w, k->tbl);
			progress_unit_done(r->prog, d->index, 0);
			break;
		case COPY_TASK_VERIFY_PART:
			copy_do_verify_part(w, k);
			break;
		case COPY_TASK_LO:
			copy_do_lo(w, k);
			break;
		case COPY_TASK_FINALIZE:
			break;				/* the finish step, never queued as a unit */
	}
}

const char *
copy__task_name(const void *unit)
{
	const copy_task *k = unit;
	return k->tbl ? k->tbl->t->display : NULL;
}

/* The finish step of a database, once its data tasks are over. */
void
copy__task_finish(job_worker *w, job_db *jd)
{
	copy_task	k = {.kind = COPY_TASK_FINALIZE, .db = job_db_ctx(jd)};
	copy_do_finalize(w, &k);
}

/* The run stopped before the database's data tasks were over. */
void
copy__task_abandon(job_db *jd)
{
	copy_db    *d = job_db_ctx(jd);
	copy__release_snapshot(d);
	progress_phase(d->run->prog, d->index, "failed");
}

