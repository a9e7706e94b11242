/*
 * compare.c: "pgcarry compare", two servers' databases compared, saying
 * exactly what differs.
 *
 * How it works.  For each database, the coordinator exports a snapshot on
 * both servers (so each side is read as one consistent view, however many
 * sessions read it), and compares the schema objects of both sides (tables
 * and their columns, views, materialized views and whether they are
 * populated, sequences, indexes, constraints, functions, types, triggers,
 * policies, extensions; catalog.h).  Then workers checksum every table
 * present on both sides with the same columns, and every populated
 * materialized view, one side per task (big relations in slices of each
 * side's own pages: checksums add up), and the large objects in batches of
 * OIDs; the coordinator compares the sequences.  The report goes to stdout
 * (with --json as one JSON document, where a table that differs and has a
 * primary key lists the keys of its rows that differ: compare_keys.h);
 * exit 3 when anything differs, 1 when something could not be read.
 * --schema-only compares the schema objects alone (no table, sequence or
 * large object read), --data-only the rows, sequences and large objects
 * alone; the report says which part was compared.
 *
 * compare is a pipeline on the job runner (core/job.h): its two ends are
 * two servers read under their snapshots, its sink a checksum only.
 */
#include "core/catalog.h"
#include "core/objects.h"
#include "cleanup.h"
#include "cli.h"
#include "commands.h"
#include "conn.h"
#include "core/common.h"
#include "core/job.h"
#include "copy/compare_keys.h"
#include "core/plan.h"
#include "core/progress.h"
#include "core/snapshot.h"
#include "core/stream.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/xalloc.h"
#include "core/verify.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CMP_LO_BATCH 500

typedef struct cmp_run cmp_run;
typedef struct cmp_db cmp_db;

typedef enum cmp_side
{
	CMP_SOURCE = 0,
	CMP_TARGET = 1
} cmp_side;

typedef struct cmp_rel
{
	cmp_db	   *db;
	catalog_table *t[2];		/* per side */
	const char *kind;			/* "table", "materialized view" */
	stream_format fmt;
	job_parts	parts;			/* the slices of both sides */
} cmp_rel;

struct cmp_db
{
	cmp_run    *run;
	int			index;
	char	   *name;
	char	   *encoding;
	bool		on_target;
	job_db	   *job;
	catalog_table *tables[2];
	int			ntables[2];
	catalog_table *mviews[2];
	int			nmviews[2];
	cmp_rel    *rels;
	int			nrels;
	job_parts	lo;				/* the batches of large objects */
};

struct cmp_run
{
	cli_shared *o;
	bool		json;			/* --json */
	bool		schema;			/* the schema objects compared (not --data-only) */
	bool		data;			/* the data compared (not --schema-only) */
	bool		same_major;
	bool		mview_rows;		/* materialized views' rows compared too */
	int			versions[2];
	verify_report *report;
	progress   *prog;
	job_run    *jobs;
	cmp_db	   *dbs;
	int			ndbs;
};

typedef enum cmp_task_kind
{
	CMP_TASK_REL,
	CMP_TASK_LO
} cmp_task_kind;

typedef struct cmp_task
{
	cmp_task_kind kind;
	cmp_db	   *db;
	cmp_rel    *rel;
	cmp_side	side;
	stream_range range;
	uint32_t	lo_first;
	uint32_t	lo_end;
} cmp_task;

static const char *const cmp_side_names[2] = {"source", "target"};

/* ------------------------------------------------------------------------
 * Options
 * ------------------------------------------------------------------------ */

static void
cmp_help(void)
{
	printf("pgcarry compare checks that databases on two servers hold the same schema\n"
		   "objects and the same data: every table's rows and checksum, populated\n"
		   "materialized views, sequences and large objects, each side read under one\n"
		   "snapshot.\n"
		   "\n"
		   "Usage:\n"
		   "  pgcarry compare --source URI --target URI [OPTION]... DBNAME...\n"
		   "  pgcarry compare --source URI --target URI [OPTION]... --all\n"
		   "\n"
		   "Options:\n"
		   "      --source URI         one server (default: $PGCARRY_SOURCE)\n"
		   "      --target URI         the other server (default: $PGCARRY_TARGET)\n"
		   "      --all                every database of either server but templates\n"
		   "      --exclude-database PATTERN\n"
		   "                           with --all, not the databases matching PATTERN\n"
		   "%s"
		   "  -j, --jobs N             tables read at once (default 2)\n"
		   "      --progress MODE      auto (default), tty, log, json, or none\n"
		   "      --progress-file FILE JSON progress lines into FILE, not stderr\n"
		   "      --schema-only        the schema objects only: no rows, sequence values or\n"
		   "                           large objects read\n"
		   "      --data-only          the rows, sequence values and large objects only, not\n"
		   "                           the schema objects\n"
		   "      --json               the report as one JSON document on stdout, with the\n"
		   "                           keys of the rows that differ (tables with a primary key)\n"
		   "\n"
		   "Both servers are only read.  The report goes to stdout.\n"
		   "\n"
		   "Exit status: 0 equal, 1 failure, 2 usage error, 3 a difference was found.\n"
		   "\n%s", cli_filter_help, cli_common_help);
}

/* Parses the command line into o and r's own options (json, schema,
 * data); returns 0, -1 after --help (the command exits with EXIT_OK), or
 * an exit status.  compare's own options are --json, --schema-only and
 * --data-only: the others are those it shares with copy. */
static int
cmp_parse(int argc, char **argv, cli_shared *o, cmp_run *r)
{
	enum
	{
		CMP_OPT_JSON = CLI_OPT_FIRST_OWN,
		CMP_OPT_SCHEMA_ONLY,
		CMP_OPT_DATA_ONLY
	};
	static const struct option longopts[] = {
		CLI_SHARED_LONGOPTS,
		CLI_SHARED_FILTERS, CLI_SHARED_EXCLUDE_DATABASE,
		{"json", no_argument, NULL, CMP_OPT_JSON},
		{"schema-only", no_argument, NULL, CMP_OPT_SCHEMA_ONLY},
		{"data-only", no_argument, NULL, CMP_OPT_DATA_ONLY},
		CLI_COMMON_LONGOPTS,
		{NULL, 0, NULL, 0}
	};
	cli_shared_init(o);
	bool		schema_only = false,
				data_only = false;
	int			opt;
	int			rc;
	optind = 1;
	while ((opt = getopt_long(argc, argv, CLI_SHARED_FILTER_SHORTOPTS, longopts, NULL)) != -1)
		if (opt == CMP_OPT_JSON)
			r->json = true;
		else if (opt == CMP_OPT_SCHEMA_ONLY)
			schema_only = true;
		else if (opt == CMP_OPT_DATA_ONLY)
			data_only = true;
		else if ((rc = cli_shared_option("compare", o, opt, argv, cmp_help)) != 0)
			return rc;
	if (schema_only && data_only)
		return cli_usage_error("compare", "--schema-only and --data-only cannot be used together");
	r->schema = !data_only;
	r->data = !schema_only;
	return cli_shared_finish("compare", o, argc, argv);
}

/* ------------------------------------------------------------------------
 * Tasks
 * ------------------------------------------------------------------------ */

static void
cmp_fail(cmp_db *d, const char *kind, const char *name, const pgc_err *err)
{
	job_fail(d->job, kind, name, err);
}

/* For --json: the keys of the rows of rel that differ, read under both
 * snapshots, added to the report.  A failure is a warning: the report
 * already says the table differs. */
static void
cmp_keys(job_worker *w, cmp_db *d, cmp_rel *rel)
{
	PGconn	   *c[2] = {NULL, NULL};
	json_t	   *keys = NULL;
	pgc_err		err = PGC_ERR_INIT;
	if (job_attach(w, d->job, JOB_SOURCE, true, &c[0], &err) == 0
		&& job_attach(w, d->job, JOB_TARGET, true, &c[1], &err) == 0
		&& compare_keys_diff(c[0], c[1], rel->t[CMP_SOURCE]->qualified, rel->t[CMP_SOURCE]->columns, &keys,
							 &err) == 0)
		verify_report_keys(d->run->report, d->name, rel->t[CMP_SOURCE]->display, keys);
	else
	{
		err_prefix(&err, "could not list the rows that differ in %s: ", rel->t[CMP_SOURCE]->display);
		log_report(LOG_WARNING, err.message, err.detail, err.hint);
		copy_pair_recover(&w->pair);
		c[0] = c[1] = NULL;
	}
	for (int s = 0; s < 2; s++)
		if (c[s])
			job_detach(c[s]);
	err_clear(&err);
}

/* What one side's read of a unit reads (a relation's range, or a batch of
 * large objects), and what it found. */
typedef struct cmp_read
{
	const char *qualified;
	const char *columns;
	const stream_range *range;
	const char *filter;
	stream_format fmt;
	uint32_t	lo_first;
	uint32_t	lo_end;
	stream_tick tick;
	stream_result res;
} cmp_read;

static int
cmp_read_rel(PGconn *conn, void *arg, pgc_err *err)
{
	cmp_read   *rd = arg;
	return verify_table_checksum(conn, rd->qualified, rd->columns, rd->range, rd->filter, rd->fmt, &rd->tick,
								 &rd->res, err);
}

static int
cmp_read_lo(PGconn *conn, void *arg, pgc_err *err)
{
	cmp_read   *rd = arg;
	return verify_large_objects(conn, rd->lo_first, rd->lo_end, &rd->tick, &rd->res, err);
}

static void
cmp_do_rel(job_worker *w, cmp_task *k)
{
	cmp_rel    *rel = k->rel;
	cmp_db	   *d = k->db;
	catalog_table *t = rel->t[k->side];
	/* Columns: the source's list, which compare checked equals the target's. */
	const char *columns = rel->t[CMP_SOURCE]->columns;
	/* An extension's configuration table: the source's condition, read on
	 * both sides (catalog.h). */
	const char *filter = strcmp(rel->kind, "table") == 0 ? rel->t[CMP_SOURCE]->condition : "true";
	cmp_read	rd = {.qualified = t->qualified, .columns = columns, .range = &k->range, .filter = filter,
	.fmt = rel->fmt, .tick = job_db_tick(d->job)};
	pgc_err		err = PGC_ERR_INIT;
	progress_unit_begin(d->run->prog, d->index, t->display, 0);
	if (job_try(w, d->job, (job_side) k->side, true, cmp_read_rel, &rd, "reading the table", &err) != 0)
	{
		err_prefix(&err, "reading from the %s: ", cmp_side_names[k->side]);
		cmp_fail(d, rel->kind, t->display, &err);
		err_clear(&err);
		(void) job_parts_over(&rel->parts, NULL, NULL, true, NULL, NULL);
		return;
	}
	progress_unit_end(d->run->prog);
	rowhash		h[2];
	bool		failed;
	if (!job_parts_over(&rel->parts, k->side == CMP_SOURCE ? &rd.res.hash : NULL,
						k->side == CMP_TARGET ? &rd.res.hash : NULL, false, h, &failed))
		return;
	rowhash		a = h[CMP_SOURCE], b = h[CMP_TARGET];
	progress_unit_done(d->run->prog, d->index, rel->t[CMP_SOURCE]->est_bytes);
	if (failed)
		return;
	const char *name = rel->t[CMP_SOURCE]->display;
	verify_status st = verify_report_relation(d->run->report, d->name, rel->kind, name, &a, &b, NULL);
	if (st != VERIFY_OK)
		log_error("%s %s differs: %" PRIu64 " rows on the source, %" PRIu64 " on the target%s", rel->kind,
				  name, a.rows, b.rows, a.rows == b.rows ? ", checksums differ" : "");
	if (st == VERIFY_DIFFERENT && d->run->json && strcmp(rel->kind, "table") == 0)
		cmp_keys(w, d, rel);
}

static void
cmp_do_lo(job_worker *w, cmp_task *k)
{
	cmp_db	   *d = k->db;
	cmp_read	rd[2];
	pgc_err		err = PGC_ERR_INIT;
	log_set_table("large objects");
	for (int side = 0; side < 2; side++)
	{
		rd[side] = (cmp_read) {.lo_first = k->lo_first, .lo_end = k->lo_end, .tick = job_db_tick(d->job)};
		if (job_try(w, d->job, (job_side) side, true, cmp_read_lo, &rd[side], "reading large objects", &err) != 0)
		{
			err_prefix(&err, "reading from the %s: ", cmp_side_names[side]);
			cmp_fail(d, "large objects", "large objects", &err);
			err_clear(&err);
			(void) job_parts_over(&d->lo, NULL, NULL, true, NULL, NULL);
			return;
		}
	}
	rowhash		h[2];
	bool		failed;
	if (job_parts_over(&d->lo, &rd[0].res.hash, &rd[1].res.hash, false, h, &failed) && !failed)
	{
		rowhash		a = h[0], b = h[1];
		progress_unit_done(d->run->prog, d->index, 0);
		if (verify_report_large_objects(d->run->report, d->name, &a, &b) != VERIFY_OK)
			log_error("the large objects differ: %" PRIu64 " on the source, %" PRIu64 " on the target",
					  a.rows, b.rows);
	}
}

/* The job runner's view of compare (core/job.h): a unit is a cmp_task. */
static void
cmp_unit_run(job_worker *w, job_db *jd, void *unit)
{
	cmp_task   *k = unit;
	(void) jd;
	if (k->kind == CMP_TASK_REL)
		cmp_do_rel(w, k);
	else
		cmp_do_lo(w, k);
}

static const char *
cmp_unit_name(const void *unit)
{
	const cmp_task *k = unit;
	return k->rel ? k->rel->t[CMP_SOURCE]->display : NULL;
}

static void
cmp_finish(job_worker *w, job_db *jd)
{
	(void) w;
	cmp_db	   *d = job_db_ctx(jd);
	job_db_release(jd);
	progress_phase(d->run->prog, d->index, "done");
}

static void
cmp_push(cmp_db *d, cmp_task *k, int64_t prio)
{
	job_push(d->job, k, prio);
}

/* ------------------------------------------------------------------------
 * The coordinator
 * ------------------------------------------------------------------------ */

/* Compares the two sorted object lists; each difference goes to the report. */
static void
cmp_objects(cmp_db *d, catalog_object *a, int na, catalog_object *b, int nb)
{
	int			i = 0, j = 0;
	while (i < na || j < nb)
	{
		int			c;
		if (i >= na)
			c = 1;
		else if (j >= nb)
			c = -1;
		else
		{
			c = strcmp(a[i].kind, b[j].kind);
			if (c == 0)
				c = strcmp(a[i].name, b[j].name);
		}
		if (c < 0)
		{
			verify_report_schema(d->run->report, d->name, a[i].kind, a[i].name, "missing on the target");
			i++;
		}
		else if (c > 0)
		{
			verify_report_schema(d->run->report, d->name, b[j].kind, b[j].name, "missing on the source");
			j++;
		}
		else
		{
			if (strcmp(a[i].extra, b[j].extra) != 0)
			{
				char	   *what = xasprintf("definition differs: source \"%s\", target \"%s\"", a[i].extra,
											 b[j].extra);
				verify_report_schema(d->run->report, d->name, a[i].kind, a[i].name, what);
				free(what);
			}
			i++;
			j++;
		}
	}
}

/* A relation or sequence found on one side only (what: "missing on the
 * target" or "on the source").  The object comparison reports it; with
 * --data-only, which skips that comparison, it is reported here, so that
 * its data is never passed over in silence. */
static void
cmp_unpaired(cmp_db *d, const char *kind, const char *name, const char *what)
{
	if (!d->run->schema)
		verify_report_schema(d->run->report, d->name, kind, name, what);
}

static void
cmp_sequences(cmp_db *d, catalog_sequence *a, int na, catalog_sequence *b, int nb)
{
	for (int i = 0; i < na; i++)
	{
		catalog_sequence *t = NULL;
		for (int j = 0; j < nb && !t; j++)
			if (strcmp(a[i].qualified, b[j].qualified) == 0)
				t = &b[j];
		if (!t)
		{
			cmp_unpaired(d, "sequence", a[i].display, "missing on the target");
			continue;
		}
		if (verify_report_sequence(d->run->report, d->name, a[i].display, a[i].last_value, a[i].is_called,
								   t->last_value, t->is_called) != VERIFY_OK)
			log_error("sequence %s differs: %s%s on the source, %s%s on the target", a[i].display,
					  a[i].last_value, a[i].is_called ? "" : " (not called)", t->last_value,
					  t->is_called ? "" : " (not called)");
	}
	for (int j = 0; j < nb && !d->run->schema; j++)
	{
		bool		found = false;
		for (int i = 0; i < na && !found; i++)
			found = strcmp(a[i].qualified, b[j].qualified) == 0;
		if (!found)
			cmp_unpaired(d, "sequence", b[j].display, "missing on the source");
	}
}

/* Pairs the relations of both sides and queues their reads. */
static void
cmp_plan_rels(cmp_db *d, catalog_table *src, int nsrc, catalog_table *tgt, int ntgt, const char *kind)
{
	cmp_run    *r = d->run;
	int64_t		split = copy_plan_split_bytes();
	stream_range *ranges = xcalloc(COPY_PLAN_MAX_PARTS, sizeof *ranges);
	for (int i = 0; i < nsrc; i++)
	{
		catalog_table *t = NULL;
		for (int j = 0; j < ntgt && !t; j++)
			if (strcmp(src[i].qualified, tgt[j].qualified) == 0)
				t = &tgt[j];
		if (!t)
		{
			cmp_unpaired(d, kind, src[i].display, "missing on the target");
			continue;
		}
		if (strcmp(src[i].columns, t->columns) != 0)
		{
			/* Different columns: the object comparison reports how; the
			 * rows cannot be compared. */
			log_warning("%s %s has other columns on the target: its rows are not compared", kind,
						src[i].display);
			cmp_unpaired(d, kind, src[i].display, "other columns on the target: rows not compared");
			continue;
		}
		cmp_rel    *rel = &d->rels[d->nrels++];
		rel->db = d;
		rel->kind = kind;
		rel->t[CMP_SOURCE] = &src[i];
		rel->t[CMP_TARGET] = t;
		rel->fmt = r->same_major && src[i].binary_ok && t->binary_ok ? STREAM_BINARY : STREAM_TEXT;
		int			n[2];
		stream_range *sides[2] = {NULL, NULL};
		for (int s = 0; s < 2; s++)
		{
			catalog_table *x = rel->t[s];
			n[s] = 1;
			if (strcmp(kind, "table") == 0
				&& copy_plan_should_split(x->pages * 8192, split, r->o->jobs, r->versions[s]))
				n[s] = copy_plan_ranges(x->pages, split / 8192, COPY_PLAN_MAX_PARTS, ranges);
			sides[s] = xcalloc((size_t) n[s], sizeof(stream_range));
			if (n[s] == 1)
				sides[s][0] = stream_whole(x->via_root);
			else
				memcpy(sides[s], ranges, (size_t) n[s] * sizeof(stream_range));
		}
		job_parts_init(&rel->parts, n[0] + n[1]);
		progress_add_total(r->prog, d->index, 1, src[i].est_bytes);
		for (int s = 0; s < 2; s++)
		{
			for (int p = 0; p < n[s]; p++)
			{
				cmp_task   *k = xcalloc(1, sizeof *k);
				k->kind = CMP_TASK_REL;
				k->db = d;
				k->rel = rel;
				k->side = (cmp_side) s;
				k->range = sides[s][p];
				cmp_push(d, k, rel->t[s]->est_bytes / n[s]);
			}
			free(sides[s]);
		}
	}
	free(ranges);
	for (int j = 0; j < ntgt && !d->run->schema; j++)
	{
		bool		found = false;
		for (int i = 0; i < nsrc && !found; i++)
			found = strcmp(src[i].qualified, tgt[j].qualified) == 0;
		if (!found)
			cmp_unpaired(d, kind, tgt[j].display, "missing on the source");
	}
}

static int
cmp_prepare(cmp_run *r, cmp_db *d, pgc_err *err)
{
	progress_phase(r->prog, d->index, "schema");
	static const char *const sides[2] = {"source", "target"};
	PGconn	   *conn[2] = {NULL, NULL};
	catalog_object *objs[2] = {NULL, NULL};
	int			nobjs[2] = {0, 0};
	catalog_sequence *seqs[2] = {NULL, NULL};
	int			nseqs[2] = {0, 0};
	objects    *inv[2] = {NULL, NULL};
	bool		filtered = catalog_filter_active(&r->o->filter);
	int			rc = -1;
	for (int s = 0; s < 2; s++)
	{
		conn[s] = job_db_snapshot(d->job, (job_side) s, NULL, err);
		if (!conn[s])
			goto done;
		if ((r->schema && !filtered
			 && (catalog_objects(conn[s], &objs[s], &nobjs[s], err) != 0
				 || !(inv[s] = objects_read(conn[s], err))))
			|| (r->data
				&& (catalog_tables(conn[s], &d->tables[s], &d->ntables[s], err) != 0
					|| catalog_matviews(conn[s], &d->mviews[s], &d->nmviews[s], err) != 0
					|| catalog_sequences(conn[s], &seqs[s], &nseqs[s], err) != 0
					|| catalog_filter_apply(conn[s], &r->o->filter, d->tables[s], &d->ntables[s], seqs[s],
											&nseqs[s], err) != 0
					|| catalog_filter_apply(conn[s], &r->o->filter, d->mviews[s], &d->nmviews[s], NULL, NULL,
											err) != 0)))
		{
			err_prefix(err, "on the %s: ", sides[s]);
			goto done;
		}
	}
	if (!r->schema)
		verify_report_schema_unchecked(r->report, d->name);	/* --data-only */
	else if (filtered)
	{
		/* Only the part of the schema pg_dump chooses, on both sides. */
		int			entries = 0,
					n = 0;
		const char *tmpdir = cleanup_private_tmpdir(err);
		if (!tmpdir
			|| copy_filter_schema_compare(&r->o->filter, r->o->source, r->o->target, d->name, conn[0], conn[1],
										  job_db_snapshot_id(d->job, JOB_SOURCE),
										  job_db_snapshot_id(d->job, JOB_TARGET), NULL, false, tmpdir, r->report, &entries, &n,
										  err) != 0)
			goto done;
		verify_report_objects_checked(r->report, d->name, entries);
	}
	else
	{
		cmp_objects(d, objs[0], nobjs[0], objs[1], nobjs[1]);
		/* Validity, owners, privileges, comments, and the kinds above does
		 * not list (casts, operators, rules, publications...). */
		objects_compare_opts oo = {.known_kinds_elsewhere = true};
		objects_compare(inv[0], inv[1], &oo, r->report, d->name);
		verify_report_objects_checked(r->report, d->name, nobjs[0]);
	}
	if (!r->data)
	{
		rc = 0;					/* --schema-only: no row read */
		goto done;
	}
	cmp_sequences(d, seqs[0], nseqs[0], seqs[1], nseqs[1]);

	progress_phase(r->prog, d->index, "data");
	d->rels = xcalloc((size_t) (d->ntables[0] + d->nmviews[0]) + 1, sizeof *d->rels);
	cmp_plan_rels(d, d->tables[0], d->ntables[0], d->tables[1], d->ntables[1], "table");
	if (r->mview_rows)
		cmp_plan_rels(d, d->mviews[0], d->nmviews[0], d->mviews[1], d->nmviews[1], "materialized view");

	/* Large objects: batches by the source's OIDs, read on both sides. */
	int64_t		count[2] = {0, 0}, bytes = 0;
	for (int s = 0; s < 2; s++)
		if (catalog_filter_large_objects(&r->o->filter)
			&& catalog_large_objects(conn[s], &count[s], &bytes, err) != 0)
			goto done;
	if (count[0] > 0 || count[1] > 0)
	{
		uint32_t   *bounds = NULL;
		int			nb = 0;
		if (catalog_large_object_batches(conn[count[0] > 0 ? 0 : 1], CMP_LO_BATCH, &bounds, &nb, err) != 0)
			goto done;
		job_parts_init(&d->lo, nb);
		progress_add_total(r->prog, d->index, 1, bytes);
		for (int b = 0; b < nb; b++)
		{
			cmp_task   *k = xcalloc(1, sizeof *k);
			k->kind = CMP_TASK_LO;
			k->db = d;
			copy_plan_lo_batch(bounds, nb, b, &k->lo_first, &k->lo_end);
			cmp_push(d, k, 0);
		}
		free(bounds);
	}
	rc = 0;
done:
	for (int s = 0; s < 2; s++)
	{
		catalog_objects_free(objs[s], nobjs[s]);
		catalog_sequences_free(seqs[s], nseqs[s]);
		objects_free(inv[s]);
	}
	return rc;
}

/* The databases to compare: the names given, or with --all every one on
 * either server.  Databases missing on the target are reported. */
static int
cmp_databases(cmp_run *r, PGconn *src, PGconn *tgt, catalog_db **sdb, int *nsdb, pgc_err *err)
{
	if (catalog_dbs(src, "source", r->o->dbs, r->o->ndbs, r->o->all, sdb, nsdb, err) != 0
		|| catalog_dbs_exclude(src, r->o->exclude_dbs, r->o->nexclude_dbs, *sdb, nsdb, err) != 0)
		return -1;
	catalog_db *tdb = NULL;
	int			ntdb = 0;
	if (r->o->all && (catalog_dbs(tgt, "target", NULL, 0, true, &tdb, &ntdb, err) != 0
					  || catalog_dbs_exclude(tgt, r->o->exclude_dbs, r->o->nexclude_dbs, tdb, &ntdb, err) != 0))
	{
		catalog_dbs_free(tdb, ntdb);
		return -1;
	}
	r->report = verify_report_create(VERIFY_FULL, "source", "target");
	verify_report_parts(r->report, r->schema, r->data);
	for (int j = 0; j < ntdb; j++)
	{
		bool		found = false;
		for (int i = 0; i < *nsdb && !found; i++)
			found = strcmp((*sdb)[i].name, tdb[j].name) == 0;
		if (!found)
			verify_report_schema(r->report, tdb[j].name, "database", tdb[j].name, "missing on the source");
	}
	catalog_dbs_free(tdb, ntdb);
	r->ndbs = *nsdb;
	r->dbs = xcalloc((size_t) *nsdb + 1, sizeof *r->dbs);
	for (int i = 0; i < *nsdb; i++)
	{
		cmp_db	   *d = &r->dbs[i];
		d->run = r;
		d->index = i;
		d->name = (*sdb)[i].name;
		d->encoding = (*sdb)[i].encoding;
		if (catalog_db_exists(tgt, d->name, &d->on_target, err) != 0)
			return -1;
		if (!d->on_target)
			verify_report_schema(r->report, d->name, "database", d->name, "missing on the target");
	}
	return 0;
}

int
cmd_compare(int argc, char **argv)
{
	return compare_command(argc, argv, true);
}

int
compare_command(int argc, char **argv, bool mview_rows)
{
	cli_shared o;
	cmp_run		r;
	memset(&r, 0, sizeof r);
	r.mview_rows = mview_rows;
	int			rc = cmp_parse(argc, argv, &o, &r);
	if (rc != 0)
	{
		cli_shared_free(&o);
		return rc < 0 ? EXIT_OK : rc;
	}
	r.o = &o;
	bool		json = r.json;
	pgc_err		err = PGC_ERR_INIT;
	catalog_db *dbs = NULL;
	int			ndbs = 0;
	char	   *smaint = copy_maintenance_db(o.source, NULL, 0);
	char	   *tmaint = copy_maintenance_db(o.target, NULL, 0);
	PGconn	   *src = conn_open(o.source, smaint, "source", &err);
	PGconn	   *tgt = src ? conn_open(o.target, tmaint, "target", &err) : NULL;
	rc = EXIT_FAIL;
	if (!src || !tgt)
		goto out;
	r.versions[0] = PQserverVersion(src);
	r.versions[1] = PQserverVersion(tgt);
	r.same_major = r.versions[0] / 10000 == r.versions[1] / 10000;
	if (cmp_databases(&r, src, tgt, &dbs, &ndbs, &err) != 0)
		goto out;

	r.prog = progress_create(o.progress, "compare", r.ndbs);
	for (int i = 0; i < r.ndbs; i++)
		progress_db_name(r.prog, i, r.dbs[i].name);
	job_ops		ops = {.run = cmp_unit_run, .unit_name = cmp_unit_name, .finish = cmp_finish,
	.finish_priority = INT64_MAX};
	const char *ends[2] = {o.source, o.target};
	r.jobs = job_run_create(o.jobs, &ops, ends, r.report, r.prog);
	progress_start(r.prog);
	for (int i = 0; i < r.ndbs && !cleanup_interrupted(); i++)
	{
		cmp_db	   *d = &r.dbs[i];
		if (!d->on_target)
		{
			progress_phase(r.prog, i, "done");
			continue;
		}
		log_set_database(d->name);
		d->job = job_db_create(r.jobs, i, d->name, d->encoding, d);
		if (cmp_prepare(&r, d, &err) != 0)
		{
			cmp_fail(d, "database", d->name, &err);
			err_clear(&err);
			progress_phase(r.prog, i, "failed");
		}
		log_set_database(NULL);
		job_db_planned(d->job);
	}
	job_run_destroy(r.jobs);
	r.jobs = NULL;
	progress_stop(r.prog);
	if (cleanup_interrupted())
	{
		log_error("compare interrupted");
		goto out;
	}
	int			problems = json ? verify_report_print_json(r.report, stdout)
		: verify_report_print(r.report, stdout, log_enabled(LOG_NOTICE));
	if (verify_report_failures(r.report) > 0)
		rc = EXIT_FAIL;
	else
		rc = problems > 0 ? EXIT_DIFFERENT : EXIT_OK;

out:
	if (err.set)
	{
		err_report(&err);
		rc = EXIT_FAIL;
	}
	err_clear(&err);
	for (int i = 0; i < r.ndbs; i++)
	{
		cmp_db	   *d = &r.dbs[i];
		job_db_destroy(d->job);
		for (int s = 0; s < 2; s++)
		{
			catalog_tables_free(d->tables[s], d->ntables[s]);
			catalog_tables_free(d->mviews[s], d->nmviews[s]);
		}
		for (int j = 0; j < d->nrels; j++)
			job_parts_destroy(&d->rels[j].parts);
		free(d->rels);
		job_parts_destroy(&d->lo);
	}
	free(r.dbs);
	verify_report_free(r.report);
	progress_free(r.prog);
	catalog_dbs_free(dbs, ndbs);
	conn_close(src);
	conn_close(tgt);
	free(smaint);
	free(tmaint);
	cli_shared_free(&o);
	return rc;
}
