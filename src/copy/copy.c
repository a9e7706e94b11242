/*
 * copy.c: "pgcarry copy", databases from a source server straight into a
 * target server, in parallel, then proven equal.
 *
 * How it works.  The coordinator (the main thread) checks the whole job
 * before touching anything: every database exists on the source, no target
 * database holds user objects unless --clean or --resume says what to do
 * with it.  It then starts the workers and prepares one database after the
 * other: it exports a snapshot of the source database, reads its catalog
 * under that snapshot, has pg_dump write its schema under the same
 * snapshot, creates the target database (pg_restore of the database-level
 * entries: encoding, locale, owner, comment, settings, grants) and applies
 * the pre-data schema.  Then it queues one task per table (big tables cut
 * into slices of pages), and per batch of large objects, and goes on with
 * the next database while the workers copy.
 *
 * A worker attaches its source session to the database's snapshot and
 * streams a table with COPY TO STDOUT -> COPY FROM STDIN (stream.h),
 * hashing each row as it passes.  A whole table loads in one transaction:
 * TRUNCATE, COPY ... FREEZE, COMMIT; a slice loads with a plain COPY.  Once
 * a table's data committed it is recorded in the resume state with its row
 * count and checksum, then (--verify full) the target table is read back
 * and its checksum compared with the stream's, or (--verify count) its rows
 * counted.  A lost connection is retried with backoff.
 *
 * When the last data task of a database ends, a finalize task sets the
 * sequences (values read at the snapshot), releases the snapshot, applies
 * the post-data schema with pg_restore -j N (indexes, constraints,
 * triggers, foreign keys, materialized view refreshes), runs ANALYZE of
 * what the per-table ANALYZE after each load did not cover, and
 * records the database as verified when nothing differs.
 *
 * copy is a pipeline on the job runner (core/job.h): its two ends are two
 * servers; the runner owns the snapshot, the workers' sessions, the units'
 * retries, the report and the finish step.
 *
 * Resume.  Each database's phase and each finished table live in a SQLite
 * file per pair of servers (state.h).  With --resume a database whose
 * pre-data was not finished is dropped and started again; otherwise the
 * tables recorded done are kept (and verified if they were not yet), the
 * others are truncated and copied again, and post-data is run again,
 * leaving alone what already exists.
 */
#include "copy/copy_int.h"
#include "core/catalog.h"
#include "cleanup.h"
#include "cli.h"
#include "commands.h"
#include "conn.h"
#include "core/common.h"
#include "core/job.h"
#include "core/plan.h"
#include "core/ddl.h"
#include "follow/follow.h"
#include "core/objects.h"
#include "core/progress.h"
#include "core/snapshot.h"
#include "core/state.h"
#include "core/stream.h"
#include "util/monotime.h"
#include "util/buf.h"
#include "util/fault.h"
#include "util/log.h"
#include "util/xalloc.h"
#include "core/verify.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum
{
	COPY_OPT_STATE_DIR = CLI_OPT_FIRST_OWN,
	COPY_OPT_EXIT_ON_ERROR,
	COPY_OPT_FOLLOW,
	COPY_OPT_SCHEMA_ONLY,
	COPY_OPT_DATA_ONLY,
	COPY_OPT_RENAME
};

/* Large objects per batch (one task). */
#define COPY_LO_BATCH 500


/* ------------------------------------------------------------------------
 * Options
 * ------------------------------------------------------------------------ */

static void
copy_help(void)
{
	printf("pgcarry copy copies databases from a source server into a target server:\n"
		   "schema (by pg_dump/pg_restore), data (streamed, in parallel), sequences,\n"
		   "large objects, and roles on request; then it proves every table equal.\n"
		   "\n"
		   "Usage:\n"
		   "  pgcarry copy --source URI --target URI [OPTION]... DBNAME...\n"
		   "  pgcarry copy --source URI --target URI [OPTION]... --all\n"
		   "\n"
		   "Options:\n"
		   "      --source URI         the server to read from (default: $PGCARRY_SOURCE)\n"
		   "      --target URI         the server to write to (default: $PGCARRY_TARGET)\n"
		   "      --all                every database of the source but templates\n"
		   "      --exclude-database PATTERN\n"
		   "                           with --all, not the databases matching PATTERN\n"
		   "      --rename OLD=NEW     copy database OLD into target database NEW (repeatable)\n"
		   "%s"
		   "  -j, --jobs N             tables copied at once, and pg_restore jobs (default 2)\n"
		   "      --roles              copy roles and memberships first (pg_dumpall --roles-only)\n"
		   "      --clean              drop and recreate target databases that already exist\n"
		   "      --resume             finish an interrupted copy, keeping finished tables\n"
		   "      --verify MODE        full (rows and checksum, default), count, or none\n"
		   "      --progress MODE      auto (default), tty, log, json, or none\n"
		   "      --progress-file FILE JSON progress lines into FILE, not stderr\n"
		   "      --state-dir DIR      where resume state is kept\n"
		   "                           (default: $XDG_STATE_HOME/pgcarry or ~/.local/state/pgcarry)\n"
		   "      --exit-on-error      stop a database at its first schema object that cannot\n"
		   "                           be created (default: carry every other one, then fail)\n"
		   "      --schema-only        the schema only: no rows, sequence values or large objects\n"
		   "      --data-only          the rows, sequences and large objects only, into the\n"
		   "                           tables of a database that exists (each must be empty)\n"
		   "      --dry-run            check everything and print what would be done, writing\n"
		   "                           nothing anywhere (exit 0: would work, 1: would fail)\n"
		   "      --follow             then keep the target in sync through logical replication,\n"
		   "                           until pgcarry cutover or follow stop (see docs/follow.md);\n"
		   "                           returns once the target has caught up;\n"
		   "                           with --resume, an interrupted one goes on or starts again\n"
		   "\n"
		   "The source is only read.  A target database that already holds objects is\n"
		   "refused unless --clean or --resume is given.  The verification report goes to\n"
		   "stdout, progress and messages to stderr.\n"
		   "\n"
		   "Exit status: 0 copied and verified, 1 failure (run again with --resume),\n"
		   "2 usage error, 3 verification found a difference.\n"
		   "\n%s", cli_filter_help, cli_common_help);
}

/* Parses the command line into o; returns 0, -1 after --help (the command
 * exits with EXIT_OK), or an exit status. */
static int
copy_parse(int argc, char **argv, copy_opts *o)
{
	static const struct option longopts[] = {
		CLI_SHARED_LONGOPTS,
		CLI_SHARED_FILTERS, CLI_SHARED_EXCLUDE_DATABASE,
		CLI_SHARED_ROLES,
		CLI_SHARED_CLEAN,
		CLI_SHARED_RESUME,
		CLI_SHARED_VERIFY,
		{"state-dir", required_argument, NULL, COPY_OPT_STATE_DIR},
		{"exit-on-error", no_argument, NULL, COPY_OPT_EXIT_ON_ERROR},
		{"follow", no_argument, NULL, COPY_OPT_FOLLOW},
		CLI_SHARED_DRY_RUN,
		{"schema-only", no_argument, NULL, COPY_OPT_SCHEMA_ONLY},
		{"data-only", no_argument, NULL, COPY_OPT_DATA_ONLY},
		{"rename", required_argument, NULL, COPY_OPT_RENAME},
		CLI_COMMON_LONGOPTS,
		{NULL, 0, NULL, 0}
	};
	memset(o, 0, sizeof *o);
	cli_shared_init(&o->cli);
	int			opt;
	int			rc;
	optind = 1;
	while ((opt = getopt_long(argc, argv, CLI_SHARED_FILTER_SHORTOPTS, longopts, NULL)) != -1)
	{
		switch (opt)
		{
			case COPY_OPT_EXIT_ON_ERROR:
				o->exit_on_error = true;
				break;
			case COPY_OPT_FOLLOW:
				o->follow = true;
				break;
			case COPY_OPT_SCHEMA_ONLY:
				o->schema_only = true;
				break;
			case COPY_OPT_DATA_ONLY:
				o->data_only = true;
				break;
			case COPY_OPT_RENAME:
				if ((rc = cli_parse_rename("copy", optarg, &o->renames)) != 0)
					return rc;
				break;
			case COPY_OPT_STATE_DIR:
				if (!*optarg)
					return cli_usage_error("copy", "--state-dir is empty");
				o->state_dir = optarg;
				break;
			default:
				if ((rc = cli_shared_option("copy", &o->cli, opt, argv, copy_help)) != 0)
					return rc;
				break;
		}
	}
	if (o->cli.clean && o->cli.resume)
		return cli_usage_error("copy", "--clean and --resume cannot be used together");
	if (o->schema_only && o->follow)
		return cli_usage_error("copy", "--schema-only and --follow cannot be used together");
	if (o->schema_only && o->data_only)
		return cli_usage_error("copy", "--schema-only and --data-only cannot be used together");
	if (o->data_only && (o->follow || o->cli.clean || o->cli.resume || o->cli.dry_run))
		return cli_usage_error("copy", "--data-only cannot be used with %s yet",
							   o->follow ? "--follow" : o->cli.clean ? "--clean"
							   : o->cli.resume ? "--resume" : "--dry-run");
	if (o->cli.dry_run && (o->cli.resume || o->follow))
		return cli_usage_error("copy", "--dry-run cannot be used with %s yet", o->cli.resume ? "--resume" : "--follow");
	if (o->follow && o->renames.n > 0)
		return cli_usage_error("copy", "--rename cannot be used with --follow yet");
	if (o->follow && catalog_filter_active(&o->cli.filter))
		return cli_usage_error("copy", "--follow cannot be used with -n, -N, -t or -T yet");
	return cli_shared_finish("copy", &o->cli, argc, argv);
}

/* ------------------------------------------------------------------------
 * Before anything: what to do with each database
 * ------------------------------------------------------------------------ */

/* Whether the target database d holds user objects; *what names one. */
static int
copy_target_has_objects(copy_run *r, copy_db *d, bool *has, char **what, pgc_err *err)
{
	PGconn	   *c = conn_open(r->o->cli.target, d->target, "target", err);
	if (!c)
		return -1;
	int			rc = catalog_db_has_user_objects(c, has, what, err);
	conn_close(c);
	return rc;
}

/*
 * Decides the action for every database.  Returns 0, or EXIT_FAIL after
 * reporting every database that must be refused.
 */
static int
copy_preflight(copy_run *r, PGconn *tgt_maint)
{
	int			refused = 0;
	for (int i = 0; i < r->ndbs; i++)
	{
		copy_db    *d = &r->dbs[i];
		pgc_err		err = PGC_ERR_INIT;
		bool		exists = false;
		state_phase phase = STATE_NONE;
		if (catalog_db_exists(tgt_maint, d->target, &exists, &err) != 0
			|| (r->st && state_db_get(r->st, d->target, &phase, &err) != 0))
		{
			err_report(&err);
			err_clear(&err);
			return EXIT_FAIL;
		}
		d->phase_at_start = phase;
		if (r->o->data_only)
		{
			if (exists)
			{
				d->action = COPY_ACT_DATA_ONLY;
				d->phase_at_start = STATE_NONE;
				continue;
			}
			refused++;
			d->refused = true;
			err_set(&err, "database \"%s\" does not exist on the target", d->target);
			err_detail(&err, "--data-only copies rows into the tables of a database that exists.");
			err_hint(&err, "Create its schema first (pgcarry copy --schema-only), or copy without --data-only.");
			err_report(&err);
			err_clear(&err);
			continue;
		}
		if (!exists)
		{
			d->action = COPY_ACT_CREATE;
			d->phase_at_start = STATE_NONE;
			continue;
		}
		if (r->o->cli.clean)
		{
			d->action = COPY_ACT_RECREATE;
			d->phase_at_start = STATE_NONE;
			continue;
		}
		if (r->o->cli.resume && phase == STATE_VERIFIED)
		{
			d->action = COPY_ACT_DONE;
			continue;
		}
		if (r->o->cli.resume && phase >= STATE_PRE_DATA)
		{
			d->action = COPY_ACT_RESUME;
			continue;
		}
		if (r->o->cli.resume && phase >= STATE_CREATING)
		{
			/* Created by an earlier run, its schema half applied: start over. */
			d->action = COPY_ACT_RECREATE;
			d->phase_at_start = STATE_NONE;
			continue;
		}
		bool		has = false;
		char	   *what = NULL;
		if (copy_target_has_objects(r, d, &has, &what, &err) != 0)
		{
			err_report(&err);
			err_clear(&err);
			return EXIT_FAIL;
		}
		if (!has)
		{
			d->action = COPY_ACT_INTO_EMPTY;
			d->phase_at_start = STATE_NONE;
			free(what);
			continue;
		}
		refused++;
		d->refused = true;
		err_set(&err, "database \"%s\" already exists on the target and holds objects (%s)",
				d->target, what);
		if (r->o->cli.resume)
		{
			err_detail(&err, "There is no record of an earlier copy of it to resume (state file \"%s\").",
					   state_path(r->st));
			err_hint(&err, "Use --clean to drop and recreate it.");
		}
		else
			err_hint(&err, "Use --clean to drop and recreate it, or --resume to finish an interrupted copy.");
		err_report(&err);
		err_clear(&err);
		free(what);
	}
	return refused ? EXIT_FAIL : 0;
}

/* ------------------------------------------------------------------------
 * Preparing a database
 * ------------------------------------------------------------------------ */

static int
copy_drop_target_db(copy_run *r, PGconn *tgt_maint, copy_db *d, pgc_err *err)
{
	char	   *q = conn_quote_ident(tgt_maint, d->target);
	char	   *sql = xasprintf("DROP DATABASE IF EXISTS %s", q);
	int			rc = conn_exec(tgt_maint, sql, err);
	free(sql);
	free(q);
	if (rc != 0)
	{
		bool		in_use = strcmp(err->sqlstate, "55006") == 0;
		/* 55006 is also a subscription that uses the database: then the
		 * server's own reason is the message. */
		bool		sessions = in_use && err->message && strstr(err->message, "other users");
		char	   *reason = err->message ? xstrdup(err->message) : NULL;
		char	   *detail = err->detail ? xstrdup(err->detail) : NULL;
		err_clear(err);
		if (in_use && !sessions && reason)
		{
			err_set(err, "could not drop database \"%s\" on the target: %s", d->target, reason);
			if (detail)
				err_detail(err, "%s", detail);
			err_hint(err, "Remove what uses it on the target (for a subscription: DROP SUBSCRIPTION) "
					 "and run the command again.");
		}
		else if (in_use)
		{
			err_set(err, "could not drop database \"%s\" on the target: other sessions are connected to it",
					d->target);
			if (detail)
				err_detail(err, "%s", detail);
			err_hint(err, "pgcarry does not end other sessions: close them (or end them with "
					 "pg_terminate_backend) and run the command again.");
		}
		else
			err_set(err, "could not drop database \"%s\" on the target", d->target);
		free(reason);
		free(detail);
		return -1;
	}
	return state_db_forget(r->st, d->target, err);
}

/* Checks that the roles the database depends on exist on the target; if
 * not, warns and restores without ownership and grants. */
static int
copy_check_roles(copy_db *d, PGconn *tgt_maint, pgc_err *err)
{
	char	  **roles = NULL;
	int			nroles = 0;
	const char **missing = NULL;
	int			nmissing = 0;
	if (catalog_db_roles(d->snap_conn, &roles, &nroles, err) != 0
		|| catalog_missing_roles(tgt_maint, roles, nroles, &missing, &nmissing, err) != 0)
	{
		for (int i = 0; i < nroles; i++)
			free(roles[i]);
		free(roles);
		return -1;
	}
	if (nmissing > 0)
	{
		buf_t		b = {0};
		for (int i = 0; i < nmissing; i++)
			buf_printf(&b, "%s\"%s\"", i ? ", " : "", missing[i]);
		char	   *msg = xasprintf("%s %s of database \"%s\" %s not exist on the target: its objects will "
									"belong to the target's user, and grants are not copied",
									nmissing == 1 ? "role" : "roles", b.data, d->target,
									nmissing == 1 ? "does" : "do");
		log_report(LOG_WARNING, msg, NULL, "Create the roles first, or copy them with --roles.");
		free(msg);
		buf_free(&b);
		d->ddl.no_owner = true;
		d->ddl.no_privileges = true;
	}
	free(missing);
	for (int i = 0; i < nroles; i++)
		free(roles[i]);
	free(roles);
	return 0;
}

static int
copy_cmp_object(const void *a, const void *b)
{
	const catalog_table_object *x = a, *y = b;
	if (x->classid != y->classid)
		return x->classid < y->classid ? -1 : 1;
	return x->objid < y->objid ? -1 : x->objid > y->objid ? 1 : 0;
}

static int
copy_cmp_table_oid(const void *a, const void *b)
{
	const copy_table *const *x = a, *const *y = b;
	return (*x)->t->oid < (*y)->t->oid ? -1 : (*x)->t->oid > (*y)->t->oid ? 1 : 0;
}

/* Tables at least this big get their indexes built as soon as their data is
 * in (PGCARRY_EARLY_INDEX_BYTES overrides); smaller ones wait for the
 * database's post-data pass, where pg_restore -j builds them together. */
#define COPY_EARLY_INDEX_BYTES (8LL * 1024 * 1024)

/* Finds, for each big table of d, the dump entries of its own indexes and
 * constraints. */
static int
copy_plan_early_indexes(copy_run *r, copy_db *d, pgc_err *err)
{
	int64_t		min_bytes = COPY_EARLY_INDEX_BYTES;
	const char *e = getenv("PGCARRY_EARLY_INDEX_BYTES");
	if (e && *e)
		min_bytes = strtoll(e, NULL, 10);
	ddl_toc_entry *toc = NULL;
	int			ntoc = 0;
	catalog_table_object *objs = NULL;
	int			nobjs = 0;
	if (ddl_dump_toc(r->tools, d->dump, &toc, &ntoc, err) != 0
		|| catalog_table_objects(d->snap_conn, &objs, &nobjs, err) != 0)
	{
		free(toc);
		return -1;
	}
	if (nobjs > 1)
		qsort(objs, (size_t) nobjs, sizeof *objs, copy_cmp_object);
	copy_table **by_oid = xcalloc((size_t) d->ntables + 1, sizeof *by_oid);
	for (int i = 0; i < d->ntables; i++)
		by_oid[i] = &d->ct[i];
	qsort(by_oid, (size_t) d->ntables, sizeof *by_oid, copy_cmp_table_oid);
	for (int i = 0; i < ntoc; i++)
	{
		if (toc[i].classid != 1259 && toc[i].classid != 2606)
			continue;
		catalog_table_object key = {toc[i].classid, toc[i].objid, 0};
		catalog_table_object *o = bsearch(&key, objs, (size_t) nobjs, sizeof *objs, copy_cmp_object);
		if (!o)
			continue;
		catalog_table tkey = {.oid = o->table};
		copy_table	ckey = {.t = &tkey};
		copy_table *ckp = &ckey;
		copy_table **hit = bsearch(&ckp, by_oid, (size_t) d->ntables, sizeof *by_oid, copy_cmp_table_oid);
		if (!hit || (*hit)->t->est_bytes < min_bytes)
			continue;
		copy_table *ct = *hit;
		ct->early_ids = xrealloc(ct->early_ids, (size_t) (ct->nearly + 1) * sizeof *ct->early_ids);
		ct->early_ids[ct->nearly++] = toc[i].id;
	}
	free(by_oid);
	free(objs);
	free(toc);
	return 0;
}

/* Queues the tasks of database d: tables not done yet, large objects. */
static int
copy_plan(copy_run *r, copy_db *d, pgc_err *err)
{
	bool		same_major = r->source_version / 10000 == r->target_version / 10000;
	int64_t		split = copy_plan_split_bytes();
	int64_t		est_total = 0;
	int			units = 0;
	PGconn	   *tgt = NULL;			/* to truncate tables redone in slices */
	stream_range *ranges = xcalloc(COPY_PLAN_MAX_PARTS, sizeof *ranges);

	d->ct = xcalloc((size_t) d->ntables + 1, sizeof *d->ct);
	for (int i = 0; i < d->ntables; i++)
	{
		copy_table *ct = &d->ct[i];
		ct->db = d;
		ct->t = &d->tables[i];
		ct->fmt = same_major && ct->t->binary_ok ? STREAM_BINARY : STREAM_TEXT;
		ct->unit = xasprintf("table %s", ct->t->qualified);
	}
	if (!r->o->data_only && copy_plan_early_indexes(r, d, err) != 0)
		goto fail;
	for (int i = 0; i < d->ntables; i++)
	{
		copy_table *ct = &d->ct[i];
		units++;
		if (copy__table_not_created(d, ct->t->oid))
		{
			log_error("table %s could not be created on the target: its rows are not copied",
					  ct->t->display);
			progress_unit_done(r->prog, d->index, 0);
			continue;
		}
		state_unit	u;
		int			kept = job_unit_kept(d->job, ct->unit, &u, err);
		if (kept < 0)
			goto fail;
		if (kept)
		{
			verify_report_table(r->report, d->target, ct->t->display, &u.hash, &u.hash,
								"copied by an earlier run");
			progress_unit_done(r->prog, d->index, 0);
			continue;
		}
		if (u.done)
		{
			copy_task  *k = copy__task_new(COPY_TASK_VERIFY, d, ct);
			k->done_hash = u.hash;
			copy__push(d, k, COPY_PRIO_VERIFY);
			continue;
		}
		est_total += ct->t->est_bytes;
		int			n = 1;
		if (copy_plan_should_split(ct->t->pages * 8192, split, r->o->cli.jobs, r->source_version))
			n = copy_plan_ranges(ct->t->pages, split / 8192, COPY_PLAN_MAX_PARTS, ranges);
		if (n <= 1)
		{
			copy__push(d, copy__task_new(COPY_TASK_TABLE, d, ct), ct->t->est_bytes);
			continue;
		}
		/* Slices load without TRUNCATE: empty the table first (it may hold
		 * part of an interrupted run); --data-only found it empty. */
		if (!r->o->data_only)
		{
			if (!tgt && !(tgt = stream_conn_open(r->o->cli.target, d->target, "target", d->info->encoding,
												 false, err)))
				goto fail;
			char	   *trunc = stream_truncate_sql(ct->t->qualified, ct->t->via_root);
			int			rc = conn_exec(tgt, trunc, err);
			free(trunc);
			if (rc != 0)
			{
				err_prefix(err, "could not empty table %s on the target: ", ct->t->display);
				goto fail;
			}
		}
		ct->nparts = n;
		job_parts_init(&ct->load, n);
		log_info("table %s (%" PRId64 " MB) is copied in %d slices", ct->t->display,
				 ct->t->est_bytes >> 20, n);
		for (int p = 0; p < n; p++)
		{
			copy_task  *k = copy__task_new(COPY_TASK_PART, d, ct);
			k->range = ranges[p];
			copy__push(d, k, ct->t->est_bytes / n);
		}
	}

	/* Large objects (not with -n or -t: pg_dump then leaves them out). */
	int64_t		lo_bytes = 0;
	if (!r->o->schema_only && catalog_filter_large_objects(&r->o->cli.filter)
		&& catalog_large_objects(d->snap_conn, &d->lo_count, &lo_bytes, err) != 0)
		goto fail;
	if (d->lo_count > 0)
	{
		state_unit	u;
		units++;
		int			kept = job_unit_kept(d->job, COPY_UNIT_LO, &u, err);
		if (kept < 0)
			goto fail;
		/* Kept only once verified: with --verify none, a resumed run
		 * copies them again (lo_create skips those already there). */
		if (kept && u.verified)
		{
			verify_report_large_objects(r->report, d->target, &u.hash, &u.hash);
			progress_unit_done(r->prog, d->index, 0);
		}
		else
		{
			uint32_t   *bounds = NULL;
			int			nb = 0;
			if (catalog_large_object_batches(d->snap_conn, COPY_LO_BATCH, &bounds, &nb, err) != 0)
				goto fail;
			job_parts_init(&d->lo, nb);
			est_total += lo_bytes;
			for (int b = 0; b < nb; b++)
			{
				copy_task  *k = copy__task_new(COPY_TASK_LO, d, NULL);
				copy_plan_lo_batch(bounds, nb, b, &k->lo_first, &k->lo_end);
				k->lo_est = lo_bytes / nb;
				copy__push(d, k, k->lo_est);
			}
			free(bounds);
		}
	}
	progress_add_total(r->prog, d->index, units, est_total);
	conn_close(tgt);
	free(ranges);
	return 0;

fail:
	conn_close(tgt);
	free(ranges);
	return -1;
}

/*
 * Everything the coordinator does for one database before the workers take
 * over: snapshot, catalog, schema dump, database creation, pre-data, tasks.
 */
static int copy_data_only_target(copy_run *r, copy_db *d, pgc_err *err);

static int
copy_prepare(copy_run *r, copy_db *d, PGconn *tgt_maint, pgc_err *err)
{
	const char *name = d->target;	/* on the target; d->info->name on the source */
	clock_gettime(CLOCK_MONOTONIC, &d->started);
	progress_phase(r->prog, d->index, "schema");

	if (d->action == COPY_ACT_RECREATE)
	{
		log_notice("dropping database \"%s\" on the target to copy it again", name);
		if (copy_drop_target_db(r, tgt_maint, d, err) != 0)
			return -1;
	}
	if (d->action != COPY_ACT_RESUME && state_db_forget(r->st, name, err) != 0)
		return -1;

	/* One snapshot for the catalog, pg_dump and every worker. */
	if (r->o->follow)
	{
		/* The slot's snapshot: the target then applies every later change. */
		if (!(d->follow = follow_db_start(r->o->cli.source, d->info->name, err)))
			return -1;
		d->snap_conn = job_db_snapshot(d->job, JOB_SOURCE, follow_db_snapshot(d->follow), err);
		follow_db_snapshot_done(d->follow);
	}
	else
		d->snap_conn = job_db_snapshot(d->job, JOB_SOURCE, NULL, err);
	if (!d->snap_conn)
		return -1;
	d->snap_id = job_db_snapshot_id(d->job, JOB_SOURCE);
	if (catalog_tables(d->snap_conn, &d->tables, &d->ntables, err) != 0
		|| catalog_sequences(d->snap_conn, &d->seqs, &d->nseqs, err) != 0
		|| catalog_filter_apply(d->snap_conn, &r->o->cli.filter, d->tables, &d->ntables, d->seqs, &d->nseqs,
								err) != 0)
		return -1;
	if (r->o->schema_only)
	{
		/* No data task: the schema alone is carried and verified. */
		catalog_tables_free(d->tables, d->ntables);
		catalog_sequences_free(d->seqs, d->nseqs);
		d->tables = NULL;
		d->seqs = NULL;
		d->ntables = d->nseqs = 0;
	}
	if (r->o->cli.verify != VERIFY_NONE && !(d->src_objects = objects_read(d->snap_conn, err)))
	{
		err_prefix(err, "on the source: ");
		return -1;
	}
	if (copy_check_roles(d, tgt_maint, err) != 0)
		return -1;

	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	bool		same = false;
	if (ddl_schema_only_same(d->snap_conn, &same, err) != 0)
	{
		err_prefix(err, "on the source: ");
		return -1;
	}
	/* --schema-only copies no large objects: not even their definitions. */
	const char **filter_args = catalog_filter_dump_args(&r->o->cli.filter, r->o->schema_only, same);
	d->dump = ddl_dump_schema(r->tools, r->o->cli.source, "source", d->info->name, d->snap_id, filter_args, r->tmpdir,
							  err);
	free(filter_args);
	if (!d->dump)
		return -1;
	log_info("schema of \"%s\" dumped in %.1f s", d->info->name, monotime_since(&t0));

	d->ddl.maintenance_db = r->target_maint;
	d->ddl.exit_on_error = r->o->exit_on_error;
	d->ddl.failures = &d->schema_failures;
	if (d->action == COPY_ACT_CREATE || d->action == COPY_ACT_RECREATE)
	{
		if (job_db_phase(d->job, STATE_CREATING, err) != 0
			|| ddl_restore(r->tools, d->dump, DDL_CREATE_DATABASE, r->o->cli.target, "target", name,
						   &d->ddl, err) != 0
			|| job_db_phase(d->job, STATE_CREATED, err) != 0)
			return -1;
	}
	else if (d->action == COPY_ACT_INTO_EMPTY)
	{
		if (job_db_phase(d->job, STATE_CREATED, err) != 0)
			return -1;
	}
	if (d->action == COPY_ACT_DATA_ONLY)
	{
		if (copy_data_only_target(r, d, err) != 0)
			return -1;
	}
	else if (d->phase_at_start < STATE_PRE_DATA)
	{
		clock_gettime(CLOCK_MONOTONIC, &t0);
		if (ddl_restore(r->tools, d->dump, DDL_PRE_DATA, r->o->cli.target, "target", name, &d->ddl, err) != 0
			|| job_db_phase(d->job, STATE_PRE_DATA, err) != 0)
			return -1;
		log_info("pre-data schema of \"%s\" applied in %.1f s", name, monotime_since(&t0));
	}
	else
		log_notice("resuming database \"%s\" (%s)", name, state_phase_name(d->phase_at_start));

	progress_phase(r->prog, d->index, "data");
	return copy_plan(r, d, err);
}

/*
 * --data-only: every chosen table exists on the target and is empty (the
 * rows are not replaced).  Returns 0, or -1 with err naming the tables,
 * nothing loaded.
 */
static int
copy_data_only_target(copy_run *r, copy_db *d, pgc_err *err)
{
	PGconn	   *c = conn_open(r->o->cli.target, d->target, "target", err);
	if (!c)
		return -1;
	catalog_load_table *t = xcalloc((size_t) d->ntables + 1, sizeof *t);
	for (int i = 0; i < d->ntables; i++)
		t[i] = (catalog_load_table) {d->tables[i].qualified, d->tables[i].display, d->tables[i].ext_config};
	int			rc = catalog_data_only_ready(c, d->target, t, d->ntables, "copy", "the tables to copy", "copies",
											 "copied", err);
	free(t);
	conn_close(c);
	return rc;
}

/* Reports the tables of a database verified by an earlier run. */
static int
copy_report_done_unit(void *arg, const char *unit, const state_unit *u)
{
	copy_db    *d = arg;
	if (strncmp(unit, "table ", 6) == 0)
		verify_report_table(d->run->report, d->target, unit + 6, &u->hash, &u->hash,
							"copied by an earlier run");
	else if (strcmp(unit, COPY_UNIT_LO) == 0)
		verify_report_large_objects(d->run->report, d->target, &u->hash, &u->hash);
	return 0;
}

/* ------------------------------------------------------------------------
 * Roles
 * ------------------------------------------------------------------------ */

static const char copy_target_roles_sql[] = "SELECT rolname FROM pg_catalog.pg_roles ORDER BY 1";

static int
copy_roles(copy_run *r, PGconn *src_maint, PGconn *tgt_maint, pgc_err *err)
{
	bool		super = false;
	if (catalog_is_superuser(src_maint, &super, err) != 0)
		return -1;
	if (!super)
		log_report(LOG_WARNING, "the source role is not a superuser, so role passwords cannot be read: "
				   "roles are created on the target without passwords",
				   "Managed services never let passwords be read.",
				   "Set the passwords on the target afterwards (ALTER ROLE ... PASSWORD).");
	char	   *dump = xasprintf("%s/roles.sql", r->tmpdir);
	char	   *filtered = xasprintf("%s/roles-filtered.sql", r->tmpdir);
	PGresult   *res = NULL;
	char	  **existing = NULL;
	int			rc = -1;
	if (ddl_dump_roles(r->tools, r->o->cli.source, "source", super, dump, err) != 0)
		goto done;
	res = conn_query(tgt_maint, copy_target_roles_sql, 0, NULL, err);
	if (!res)
		goto done;
	int			n = PQntuples(res);
	existing = xcalloc((size_t) n + 1, sizeof *existing);
	for (int i = 0; i < n; i++)
		existing[i] = PQgetvalue(res, i, 0);
	int			skipped = 0;
	if (ddl_filter_roles(dump, filtered, existing, n, &skipped, err) != 0)
		goto done;
	buf_t		errors = {0};
	int			failed = ddl_run_script(r->tools, filtered, r->o->cli.target, "target", r->target_maint,
										&errors, err);
	if (failed < 0)
	{
		buf_free(&errors);
		goto done;
	}
	if (failed > 0)
		log_report(LOG_WARNING, "some roles could not be created or altered on the target",
				   errors.data, "Check the target role's rights (CREATEROLE, or superuser for "
				   "SUPERUSER and REPLICATION roles).");
	buf_free(&errors);
	log_notice("roles copied (%d already existed on the target and were left as they are)", skipped);
	rc = 0;
done:
	free(existing);
	PQclear(res);
	unlink(dump);
	unlink(filtered);
	free(dump);
	free(filtered);
	return rc;
}

/* ------------------------------------------------------------------------
 * The command
 * ------------------------------------------------------------------------ */

static int copy_run_all(copy_run *r, PGconn *src_maint, PGconn *tgt_maint);

/* --follow --resume: each database takes over what the interrupted run
 * left (follow_db_resume), or is copied again from the start. */
static int
copy_follow_resume(copy_run *r, pgc_err *err)
{
	for (int i = 0; i < r->ndbs; i++)
	{
		copy_db    *d = &r->dbs[i];
		bool		restart = false;
		d->follow = follow_db_resume(r->o->cli.source, r->o->cli.target, d->info->name,
									 d->action == COPY_ACT_DONE, &restart, err);
		if (!d->follow && !restart)
			return -1;
		if (restart && d->action != COPY_ACT_CREATE)
		{
			d->action = COPY_ACT_RECREATE;
			d->phase_at_start = STATE_NONE;
		}
	}
	return 0;
}

/* copy_run_all, then with --follow the subscriptions (or, when the copy
 * did not succeed, the removal of every follow object it created). */
static int
copy_run_follow(copy_run *r, PGconn *src_maint, PGconn *tgt_maint)
{
	int			rc = copy_run_all(r, src_maint, tgt_maint);
	if (!r->o->follow)
		return rc;
	follow_db **fs = xcalloc((size_t) r->ndbs + 1, sizeof *fs);
	for (int i = 0; i < r->ndbs; i++)
		fs[i] = r->dbs[i].follow;
	pgc_err		err = PGC_ERR_INIT;
	if (follow_finish_copy(fs, r->ndbs, rc == EXIT_OK, r->o->cli.source, r->o->cli.target, r->o->cli.progress,
						   &err) != 0)
	{
		err_report(&err);
		if (rc == EXIT_OK)
			rc = EXIT_FAIL;
	}
	err_clear(&err);
	free(fs);
	return rc;
}

static int
copy_run_all(copy_run *r, PGconn *src_maint, PGconn *tgt_maint)
{
	pgc_err		err = PGC_ERR_INIT;
	int			rc = copy_preflight(r, tgt_maint);
	if (rc != 0)
		return rc;
	if (r->o->follow)
	{
		const char **names = xcalloc((size_t) r->ndbs + 1, sizeof *names);
		for (int i = 0; i < r->ndbs; i++)
			names[i] = r->dbs[i].info->name;
		rc = follow_preflight(src_maint, tgt_maint, r->o->cli.source, names, r->ndbs, r->o->cli.resume, &err);
		free(names);
		if (rc == 0 && r->o->cli.resume)
			rc = copy_follow_resume(r, &err);
		if (rc != 0)
		{
			err_report(&err);
			err_clear(&err);
			return EXIT_FAIL;
		}
	}

	if (r->o->cli.roles && copy_roles(r, src_maint, tgt_maint, &err) != 0)
	{
		err_report(&err);
		err_clear(&err);
		return EXIT_FAIL;
	}

	r->report = verify_report_create(r->o->cli.verify, "source", "target");
	r->prog = progress_create(r->o->cli.progress, "copy", r->ndbs);
	for (int i = 0; i < r->ndbs; i++)
		progress_db_name(r->prog, i, r->dbs[i].target);
	job_ops		ops = {.run = copy__task_run, .unit_name = copy__task_name, .finish = copy__task_finish,
	.finish_priority = COPY_PRIO_FINALIZE, .abandon = copy__task_abandon};
	const char *ends[2] = {r->o->cli.source, r->o->cli.target};
	r->jobs = job_run_create(r->o->cli.jobs, &ops, ends, r->report, r->prog);
	progress_start(r->prog);

	for (int i = 0; i < r->ndbs && !cleanup_interrupted(); i++)
	{
		copy_db    *d = &r->dbs[i];
		log_set_database(d->target);
		if (d->action == COPY_ACT_DONE)
		{
			log_notice("database \"%s\" was copied and verified by an earlier run", d->target);
			if (state_unit_each(r->st, d->target, copy_report_done_unit, d, &err) != 0)
			{
				err_report(&err);
				err_clear(&err);
			}
			progress_phase(r->prog, d->index, "done");
			continue;
		}
		d->job = job_db_create(r->jobs, d->index, d->info->name, d->info->encoding, d);
		job_db_set_target_name(d->job, d->target);
		job_db_set_state(d->job, r->st, d->action == COPY_ACT_RESUME, r->o->cli.verify != VERIFY_NONE);
		if (copy_prepare(r, d, tgt_maint, &err) != 0)
		{
			copy__fail(d, "database", d->target, &err);
			err_clear(&err);
			progress_phase(r->prog, d->index, "failed");
		}
		log_set_database(NULL);
		job_db_planned(d->job);	/* the planning hold */
	}
	job_run_destroy(r->jobs);
	r->jobs = NULL;
	progress_stop(r->prog);

	for (int i = 0; i < r->ndbs; i++)
		copy__release_snapshot(&r->dbs[i]);

	if (cleanup_interrupted())
	{
		log_report(LOG_ERROR, "copy interrupted", NULL,
				   "Run the same command with --resume to finish: finished tables are kept.");
		return EXIT_FAIL;
	}
	int			problems = verify_report_print(r->report, stdout, log_enabled(LOG_NOTICE));
	if (verify_report_failures(r->report) > 0)
	{
		log_report(LOG_ERROR, "copy failed", NULL,
				   "Fix the cause above, then run the same command with --resume: finished tables are kept.");
		return EXIT_FAIL;
	}
	return problems > 0 ? EXIT_DIFFERENT : EXIT_OK;
}

/* ------------------------------------------------------------------------
 * --dry-run: every check, and the plan, writing nothing
 * ------------------------------------------------------------------------ */



/* What database d needs of the target (tablespaces, extensions, roles), each
 * one missing reported; prints its tables.  Returns the number of problems
 * (missing roles are not one: the copy goes on without owners), or -1 with
 * err set. */
static int
copy_dry_db(copy_run *r, copy_db *d, PGconn *tgt_maint, pgc_err *err)
{
	const char *name = d->target;
	PGconn	   *c = conn_open(r->o->cli.source, d->info->name, "source", err);
	if (!c)
		return -1;
	int			problems = 0;
	catalog_table *t = NULL;
	catalog_sequence *sq = NULL;
	int			nt = 0, nsq = 0;
	char	  **needs[2] = {NULL, NULL}, **roles = NULL;
	int			nneeds[2] = {0, 0}, nroles = 0;
	const char **missing = NULL;
	int			nmissing = 0;
	int			rc = -1;
	if (catalog_tables(c, &t, &nt, err) != 0 || catalog_sequences(c, &sq, &nsq, err) != 0
		|| catalog_filter_apply(c, &r->o->cli.filter, t, &nt, sq, &nsq, err) != 0)
		goto done;
	static const char *const kinds[2] = {"tablespaces", "extensions"};
	static const char *const hints[2] = {
		"Create the tablespaces on the target first (CREATE TABLESPACE).",
		"Install the extensions' packages on the target server first."
	};
	for (int k = 0; k < 2; k++)
	{
		if (catalog_db_needs(c, (catalog_need) k, &needs[k], &nneeds[k], err) != 0
			|| catalog_missing(tgt_maint, (catalog_need) k, needs[k], nneeds[k], &missing, &nmissing, err) != 0)
			goto done;
		if (nmissing > 0)
		{
			catalog_report_missing(name, kinds[k], missing, nmissing, hints[k]);
			problems++;
		}
		free(missing);
		missing = NULL;
	}
	if (!r->o->cli.roles)
	{
		if (catalog_db_roles(c, &roles, &nroles, err) != 0
			|| catalog_missing_roles(tgt_maint, roles, nroles, &missing, &nmissing, err) != 0)
			goto done;
		for (int i = 0; i < nmissing; i++)
			printf("  role \"%s\" is missing on the target: objects would belong to the target's user\n", missing[i]);
	}
	catalog_plan_print(stdout, t, nt, nsq);
	rc = problems;
done:
	free(missing);
	for (int k = 0; k < 2; k++)
		catalog_names_free(needs[k], nneeds[k]);
	catalog_names_free(roles, nroles);
	catalog_tables_free(t, nt);
	catalog_sequences_free(sq, nsq);
	conn_close(c);
	return rc;
}

/*
 * --dry-run: the checks a copy makes before it writes (databases that
 * would be refused, the right to create databases, tablespaces and
 * extensions missing on the target, roles missing, pg_dump suitable:
 * ddl_tools_find has run), and the plan on stdout.  Only reads both
 * servers; no state file, no temporary file.  Returns EXIT_OK when the
 * copy would work, EXIT_FAIL when it would not.
 */
static int
copy_dry_run(copy_run *r, PGconn *src_maint, PGconn *tgt_maint)
{
	(void) src_maint;
	int			problems = copy_preflight(r, tgt_maint) != 0 ? 1 : 0;
	pgc_err		err = PGC_ERR_INIT;
	bool		can_create = false;
	if (catalog_can_create_db(tgt_maint, &can_create, &err) != 0)
	{
		err_report(&err);
		err_clear(&err);
		return EXIT_FAIL;
	}
	printf("Plan (dry run: nothing was written)\n");
	printf("pg_dump and pg_restore from %s (version %d)\n", ddl_tools_bindir(r->tools), ddl_tools_major(r->tools));
	for (int i = 0; i < r->ndbs; i++)
	{
		copy_db    *d = &r->dbs[i];
		const char *what = d->refused ? "refused: it exists on the target and holds objects"
			: d->action == COPY_ACT_CREATE ? "would be created"
			: d->action == COPY_ACT_RECREATE ? "would be dropped and created again (--clean)"
			: "exists on the target, empty: would be filled";
		if (strcmp(d->target, d->info->name) != 0)
			printf("database \"%s\" (\"%s\" on the source): %s\n", d->target, d->info->name, what);
		else
			printf("database \"%s\": %s\n", d->target, what);
		if (!d->refused && !can_create && (d->action == COPY_ACT_CREATE || d->action == COPY_ACT_RECREATE))
		{
			err_set(&err, "the target's user may not create database \"%s\"", d->target);
			err_hint(&err, "Connect to the target as a role with CREATEDB, or create the database first.");
			err_report(&err);
			err_clear(&err);
			problems++;
		}
		log_set_database(d->target);
		int			n = copy_dry_db(r, d, tgt_maint, &err);
		log_set_database(NULL);
		if (n < 0)
		{
			err_report(&err);
			err_clear(&err);
			return EXIT_FAIL;
		}
		problems += n;
	}
	if (problems)
		printf("The copy would fail: %d %s (see above).\n", problems, problems == 1 ? "problem" : "problems");
	else
		printf("The copy would work.\n");
	return problems ? EXIT_FAIL : EXIT_OK;
}

/*
 * --rename: each OLD is a database being copied (src, the source's
 * maintenance session, tells one it lacks from one not chosen), and no two
 * databases land in one.  Returns 0, or -1 with err set (a usage error).
 */
static int
copy_check_renames(const copy_opts *o, PGconn *src, const catalog_db *dbs, int n, pgc_err *err)
{
	for (int k = 0; k < o->renames.n; k++)
	{
		bool		chosen = false,
					exists = false;
		for (int i = 0; i < n; i++)
			chosen = chosen || strcmp(dbs[i].name, o->renames.from[k]) == 0;
		if (chosen)
			continue;
		if (catalog_db_exists(src, o->renames.from[k], &exists, err) != 0)
			return -1;
		err_set(err, "--rename %s=%s names a database that is not %s", o->renames.from[k], o->renames.to[k],
				exists ? "being copied" : "on the source");
		err_hint(err, "Give --rename OLD=NEW with OLD the name of a database the source holds and the copy copies.");
		err->exit_status = EXIT_USAGE;
		return -1;
	}
	for (int i = 0; i < n; i++)
		for (int j = i + 1; j < n; j++)
		{
			const char *to = cli_rename_target(&o->renames, dbs[i].name);
			if (strcmp(to, cli_rename_target(&o->renames, dbs[j].name)) == 0)
			{
				err_set(err, "databases \"%s\" and \"%s\" would both be copied into \"%s\"", dbs[i].name,
						dbs[j].name, to);
				err_hint(err, "Give each database a name of its own with --rename OLD=NEW.");
				err->exit_status = EXIT_USAGE;
				return -1;
			}
		}
	return 0;
}

int
cmd_copy(int argc, char **argv)
{
	copy_opts	o;
	int			rc = copy_parse(argc, argv, &o);
	if (rc != 0)
	{
		cli_shared_free(&o.cli);
		cli_renames_free(&o.renames);
		return rc < 0 ? EXIT_OK : rc;
	}

	copy_run	r;
	memset(&r, 0, sizeof r);
	r.o = &o;
	pgc_err		err = PGC_ERR_INIT;
	PGconn	   *src = NULL, *tgt = NULL;
	catalog_db *dbs = NULL;
	int			ndbs = 0;
	char	   *src_key = NULL, *tgt_key = NULL, *state_dir = NULL, *src_maint = NULL;
	rc = EXIT_FAIL;

	src_maint = copy_maintenance_db(o.cli.source, NULL, 0);
	src = conn_open(o.cli.source, src_maint, "source", &err);
	if (!src)
		goto out;
	if (catalog_dbs(src, "source", o.cli.dbs, o.cli.ndbs, o.cli.all, &dbs, &ndbs, &err) != 0
		|| catalog_dbs_exclude(src, o.cli.exclude_dbs, o.cli.nexclude_dbs, dbs, &ndbs, &err) != 0
		|| copy_check_renames(&o, src, dbs, ndbs, &err) != 0)
		goto out;
	{
		const char **names = xcalloc((size_t) ndbs + 1, sizeof *names);
		for (int i = 0; i < ndbs; i++)
			names[i] = cli_rename_target(&o.renames, dbs[i].name);
		r.target_maint = copy_maintenance_db(o.cli.target, names, ndbs);
		free(names);
	}
	tgt = conn_open(o.cli.target, r.target_maint, "target", &err);
	if (!tgt)
		goto out;
	bool		same = false;
	if (copy_same_server(src, tgt, &same, &err) != 0)
		goto out;
	if (same)
	{
		err_set(&err, "the source and the target are the same server");
		err_hint(&err, "Give a different server for --target.");
		err.exit_status = EXIT_USAGE;
		goto out;
	}
	if (ndbs == 0)
	{
		log_notice("the source has no database to copy");
		rc = EXIT_OK;
		goto out;
	}
	r.source_version = PQserverVersion(src);
	r.target_version = PQserverVersion(tgt);
	r.tools = ddl_tools_find(r.source_version, "source", &err);
	if (!r.tools)
		goto out;
	src_key = copy_server_key(src);
	tgt_key = copy_server_key(tgt);
	if (!o.cli.dry_run)
	{
		state_dir = o.state_dir ? xstrdup(o.state_dir) : state_default_dir();
		r.st = state_open(state_dir, "copy", src_key, tgt_key, &err);
		if (!r.st)
			goto out;
		r.tmpdir = cleanup_private_tmpdir(&err);
		if (!r.tmpdir)
			goto out;
	}

	r.ndbs = ndbs;
	r.dbs = xcalloc((size_t) ndbs + 1, sizeof *r.dbs);
	for (int i = 0; i < ndbs; i++)
	{
		r.dbs[i].run = &r;
		r.dbs[i].index = i;
		r.dbs[i].info = &dbs[i];
		r.dbs[i].target = cli_rename_target(&o.renames, dbs[i].name);
		pthread_mutex_init(&r.dbs[i].lock, NULL);
	}
	rc = o.cli.dry_run ? copy_dry_run(&r, src, tgt) : copy_run_follow(&r, src, tgt);

out:
	if (err.set)
	{
		err_report(&err);
		rc = err.exit_status ? err.exit_status : EXIT_FAIL;
	}
	err_clear(&err);
	for (int i = 0; i < r.ndbs; i++)
	{
		copy_db    *d = &r.dbs[i];
		copy__release_snapshot(d);
		job_db_destroy(d->job);
		follow_db_free(d->follow);
		ddl_dump_free(d->dump);
		ddl_failures_free(&d->schema_failures);
		objects_free(d->src_objects);
		catalog_tables_free(d->tables, d->ntables);
		catalog_sequences_free(d->seqs, d->nseqs);
		for (int j = 0; d->ct && j < d->ntables; j++)
		{
			free(d->ct[j].unit);
			free(d->ct[j].early_ids);
			job_parts_destroy(&d->ct[j].load);
			job_parts_destroy(&d->ct[j].verify);
		}
		free(d->ct);
		job_parts_destroy(&d->lo);
		pthread_mutex_destroy(&d->lock);
	}
	free(r.dbs);
	verify_report_free(r.report);
	progress_free(r.prog);
	state_close(r.st);
	ddl_tools_free(r.tools);
	catalog_dbs_free(dbs, ndbs);
	conn_close(src);
	conn_close(tgt);
	free(src_key);
	free(tgt_key);
	free(state_dir);
	free(src_maint);
	free(r.target_maint);
	cli_shared_free(&o.cli);
	cli_renames_free(&o.renames);
	return rc;
}
