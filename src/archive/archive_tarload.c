/*
 * archive_tarload.c: loading a tar stream's data files as they arrive
 * (see archive_tarload.h).
 */
#include "archive/archive_tarload.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "archive/archive_import_int.h"
#include "archive/archive_target.h"
#include "archive/manifest.h"
#include "core/catalog.h"
#include "cleanup.h"
#include "conn.h"
#include "core/ddl.h"
#include "core/stream.h"
#include "util/log.h"
#include "util/xalloc.h"

/* One database of the archive met in the stream (by its plan). */
typedef struct tarload_db
{
	manifest_db plan;
	char	   *name;			/* the target database; NULL: not chosen */
	archive_tarload_state state;
	bool		unpack;			/* chosen, and not loaded as it arrives */
	bool		schema_done;	/* pre-data restored, or kept on resume */
	bool		created;		/* this run created it: dropped if the
								 * stream fails */
	pgc_err		err;			/* why it failed */
	PGconn	   *conn;
	bool	   *cleared;		/* per table: emptied by this run */
} tarload_db;

struct archive_tarload
{
	const archive_import_opts *o;
	const char *spool;
	const char *scratch;
	tarload_db **dbs;
	int			ndbs;
	int			nchosen;
	bool		stream;			/* load as it arrives (else keep every file) */
	bool		roles_done;
	archive_stream_files seen;
};

/* The database whose directory holds path (or is dir itself), or NULL. */
static tarload_db *
archive_tarload_find(const archive_tarload *t, const char *path)
{
	for (int i = 0; i < t->ndbs; i++)
	{
		size_t n = strlen(t->dbs[i]->plan.dir);
		if (strncmp(path, t->dbs[i]->plan.dir, n) == 0 && (path[n] == '/' || path[n] == '\0'))
			return t->dbs[i];
	}
	return NULL;
}

/* The database failed: said now, kept for the summary; its later files
 * only go by. */
static void
archive_tarload_fail(tarload_db *d, pgc_err *e)
{
	if (!d->err.set)
		err_move(&d->err, e);
	err_clear(e);
	d->state = ARCHIVE_TARLOAD_FAILED;
	conn_close(d->conn);
	d->conn = NULL;
}

/* Target database ready to load, as archive_import_database makes it:
 * created (or --clean, or --resume of a marked one) and marked unfinished;
 * a half-made schema left by an interrupted run is made again. */
static void
archive_tarload_prepare(archive_tarload *t, tarload_db *d)
{
	const archive_import_opts *o = t->o;
	pgc_err e = PGC_ERR_INIT;
	bool exists = false, marked = false, resuming = false;
	if (archive_target_state(o->cli.target, d->name, &exists, &marked, &e) != 0)
		goto fail;
	if (o->cli.resume && exists && !marked)
	{
		d->state = ARCHIVE_TARLOAD_EARLIER;
		return;
	}
	archive_target_opts topts = {.clean = o->cli.clean, .resume = o->cli.resume, .encoding = d->plan.encoding,
		.lc_collate = d->plan.lc_collate, .lc_ctype = d->plan.lc_ctype, .owner = d->plan.owner};
	if (archive_target_prepare(o->cli.target, d->name, &topts, &resuming, &e) != 0)
		goto fail;
	d->created = !exists || o->cli.clean;
	d->conn = stream_conn_open(o->cli.target, d->name, "target", d->plan.encoding, false, &e);
	if (!d->conn)
		goto fail;
	if (resuming)
	{
		int schema = archive_import__schema_state(d->conn, &d->plan, d->name, &e);
		if (schema > 0)
			d->schema_done = true;	/* kept: the tables load again */
		else if (schema < 0)
		{
			err_clear(&e);
			log_notice("database \"%s\": the interrupted run left its schema half made; importing it again",
					   d->name);
			conn_close(d->conn);
			topts.clean = true;
			topts.clean_why = "--resume: its own unfinished import";
			topts.resume = false;
			d->created = true;
			d->conn = NULL;
			if (archive_target_prepare(o->cli.target, d->name, &topts, &resuming, &e) != 0 ||
				!(d->conn = stream_conn_open(o->cli.target, d->name, "target", d->plan.encoding, false, &e)))
				goto fail;
		}
	}
	d->cleared = xcalloc((size_t) d->plan.ntables + 1, sizeof(bool));
	d->state = ARCHIVE_TARLOAD_LOADED;
	log_info("loading database \"%s\" as the tar stream arrives", d->name);
	return;
fail:
	archive_tarload_fail(d, &e);
}

/* A database's plan arrived: it is chosen, or goes by. */
static int
archive_tarload_plan(archive_tarload *t, const char *path, size_t dirlen, pgc_err *err)
{
	char *dir = xstrndup(path, dirlen);
	tarload_db *d = xcalloc(1, sizeof *d);
	int r = manifest_db_read_as(t->spool, dir, MANIFEST_PLAN_NAME, &d->plan, err);
	if (r == 0 && (!d->plan.dir || strcmp(d->plan.dir, dir) != 0 || archive_tarload_find(t, dir)))
	{
		err_set(err, "the tar stream's entry \"%s\" does not belong where it is", path);
		r = -1;
	}
	free(dir);
	if (r != 0)
	{
		manifest_db_clear(&d->plan);
		free(d);
		return -1;
	}
	t->dbs = xrealloc(t->dbs, sizeof *t->dbs * (size_t) (t->ndbs + 1));
	t->dbs[t->ndbs++] = d;
	const archive_import_opts *o = t->o;
	bool chosen = o->cli.ndbs == 0;
	for (int k = 0; k < o->cli.ndbs && !chosen; k++)
		chosen = strcmp(o->cli.dbs[k], d->plan.name) == 0;
	/* --db names one target: a second database is never loaded into it
	 * (import then says that --db cannot apply). */
	if (!chosen || (o->dbname && t->nchosen > 0))
		return 0;
	t->nchosen++;
	if (!t->stream)
	{
		d->unpack = true;		/* its files are kept, imported as before */
		return 0;
	}
	d->name = xstrdup(archive_import__target_name(o, d->plan.name));
	log_set_database(d->name);
	archive_tarload_prepare(t, d);
	log_set_database(NULL);
	return 0;
}

/* The database's schema dump arrived: its pre-data, as import restores it;
 * an object that cannot be created stops the database (its tables could
 * not take their rows as they go by). */
static void
archive_tarload_pre_data(archive_tarload *t, tarload_db *d)
{
	const archive_import_opts *o = t->o;
	char *file = xasprintf("%s/%s", t->spool, d->plan.schema_file);
	ddl_dump *dump = ddl_dump_open(file);
	ddl_failures f = {0};
	ddl_restore_opts ro = {.jobs = 1, .no_owner = o->no_owner, .tmpdir = t->scratch,
		.exit_on_error = o->exit_on_error, .failures = &f};
	pgc_err e = PGC_ERR_INIT;
	log_set_database(d->name);
	log_info("restoring the schema of database \"%s\" (pre-data)", d->name);
	bool role = false;
	if (ddl_restore(NULL, dump, DDL_PRE_DATA, o->cli.target, "target", d->name, &ro, &e) != 0)
		role = e.detail && strstr(e.detail, "ERROR:  role \"");
	else if (f.n > 0)
	{
		for (int i = 0; i < f.n; i++)
		{
			char *what = xasprintf("could not create %s in database \"%s\" on the target", f.items[i].object,
								   d->name);
			log_report(LOG_ERROR, what, f.items[i].message, NULL);
			free(what);
			role = role || strstr(f.items[i].message, "ERROR:  role \"");
		}
		err_set(&e, "could not restore the pre-data schema of database \"%s\": %d schema object%s could not be "
				"created", d->name, f.n, f.n == 1 ? "" : "s");
	}
	if (e.set)
	{
		if (role)
			err_hint(&e, "A role the archive's objects belong to is missing on the target: import the roles "
					 "too (--roles), or load without owners (--no-owner).  The database stays marked "
					 "unfinished; then run the same import with --resume.");
		else
			err_hint(&e, "The database stays marked unfinished (pgcarry.import); fix the cause, then run the "
					 "same import with --resume.");
		archive_tarload_fail(d, &e);
	}
	else
		d->schema_done = true;
	log_set_database(NULL);
	ddl_failures_free(&f);
	ddl_dump_free(dump);
	free(file);
}

static int
archive_tarload_spooled(void *ctx, const char *path, pgc_err *err)
{
	archive_tarload *t = ctx;
	const char *slash = strrchr(path, '/');
	if (!slash && strcmp(path, "roles.sql") == 0)
	{
		/* Before any database: their objects may belong to these roles. */
		if (t->o->cli.roles && !t->roles_done && t->stream)
		{
			if (archive_import__roles(t->o, t->spool, path, true, t->scratch, err) != 0)
				return -1;
			t->roles_done = true;
		}
		return 0;
	}
	if (slash && strcmp(slash + 1, MANIFEST_PLAN_NAME) == 0)
		return archive_tarload_plan(t, path, (size_t) (slash - path), err);
	tarload_db *d = archive_tarload_find(t, path);
	if (d && d->state == ARCHIVE_TARLOAD_LOADED && !d->schema_done && d->plan.schema_file &&
		strcmp(path, d->plan.schema_file) == 0)
		archive_tarload_pre_data(t, d);
	return 0;
}

/* One data file into its table, in its own transaction; the table's first
 * file empties it (TRUNCATE, then COPY FREEZE). */
static void
archive_tarload_load(tarload_db *d, int ti, const char *path, archive_file_reader *r, rowhash *got)
{
	const manifest_table *mt = &d->plan.tables[ti];
	char *q, *cols;
	archive_import__names(d->conn, mt, &q, &cols);
	char *disp = xasprintf("%s.%s", mt->schema, mt->name);
	log_set_database(d->name);
	log_set_table(disp);
	bool tree = catalog_is_partitioned(d->conn, q);
	bool clear = !d->cleared[ti];
	pgc_err e = PGC_ERR_INIT;
	int rc = conn_exec(d->conn, "BEGIN", &e);
	if (rc == 0 && mt->ext_config)
		rc = stream_config_load_begin(d->conn, &e);
	if (rc == 0 && clear)
	{
		char *sql = archive_import__clear_sql(mt, q, tree);
		rc = conn_exec(d->conn, sql, &e);
		free(sql);
	}
	if (rc == 0)
		rc = archive_import__copy(d->conn, q, cols, clear && !tree && !mt->ext_config, r, NULL, got, &e);
	if (rc == 0)
		rc = conn_exec(d->conn, "COMMIT", &e);
	if (rc != 0)
	{
		pgc_err ignore = PGC_ERR_INIT;
		conn_exec(d->conn, "ROLLBACK", &ignore);
		err_clear(&ignore);
		err_prefix(&e, "could not load archive file \"%s\": ", path);
		archive_tarload_fail(d, &e);
	}
	else
	{
		d->cleared[ti] = true;
		log_info("loaded %llu rows from %s", (unsigned long long) got->rows, path);
	}
	log_set_table(NULL);
	log_set_database(NULL);
	free(disp);
	free(q);
	free(cols);
}

static int
archive_tarload_data(void *ctx, const char *path, archive_file_reader *r, rowhash *got, pgc_err *err)
{
	archive_tarload *t = ctx;
	if (cleanup_interrupted())
	{
		err_set(err, "import interrupted");
		return -1;
	}
	tarload_db *d = archive_tarload_find(t, path);
	if (!d || d->unpack)
		return 2;				/* kept, imported the usual way */
	if (d->state != ARCHIVE_TARLOAD_LOADED)
		return 0;
	for (int ti = 0; ti < d->plan.ntables; ti++)
		for (int p = 0; p < d->plan.tables[ti].nparts; p++)
			if (strcmp(d->plan.tables[ti].parts[p].file, path) == 0)
			{
				if (!d->schema_done)
				{
					pgc_err e = PGC_ERR_INIT;
					err_set(&e, "archive file \"%s\" arrives before the schema of database \"%s\"", path,
							d->plan.name);
					err_detail(&e, "The tar stream was not written by pgcarry export, or was reordered.");
					archive_tarload_fail(d, &e);
					return 0;
				}
				rowhash_init(got);
				archive_tarload_load(d, ti, path, r, got);
				return 1;
			}
	return 0;					/* no table's: import names it */
}

/* Drops database d when this run created it.  Returns true when nothing
 * of it is left on the target. */
static bool
archive_tarload_drop(const archive_tarload *t, tarload_db *d, const char *why)
{
	conn_close(d->conn);
	d->conn = NULL;
	if (!d->created)
		return !d->name || d->state == ARCHIVE_TARLOAD_EARLIER;
	pgc_err e = PGC_ERR_INIT;
	bool ok = archive_target_drop(t->o->cli.target, d->name, why, &e) == 0;
	if (!ok)
		err_report(&e);
	err_clear(&e);
	d->created = false;
	return ok;
}

archive_tarload *
archive_tarload_run(const archive_import_opts *o, const char *spool, const char *scratch, pgc_err *err)
{
	archive_tarload *t = xcalloc(1, sizeof *t);
	t->o = o;
	t->spool = spool;
	t->scratch = scratch;
	/* What chooses tables or databases on the target (-n/-N/-t/-T,
	 * --exclude-database), --data-only and --schema-only (which load
	 * otherwise), and --dry-run (which writes nothing) need the manifest
	 * before anything is loaded: the tar is then kept whole. */
	t->stream = !o->cli.dry_run && !o->data_only && !o->schema_only && !catalog_filter_active(&o->cli.filter) &&
		o->cli.nexclude_dbs == 0;
	if (!t->stream)
		log_info("the tar is kept whole in the private directory (-n/-N/-t/-T, --exclude-database, "
				 "--data-only, --schema-only or --dry-run)");
	archive_stream_ops ops = {.spooled = archive_tarload_spooled, .data = archive_tarload_data};
	log_info("reading %s as it arrives", strcmp(o->input, "-") == 0 ? "standard input" : o->input);
	int rc = archive_stream_read(o->input, spool, &ops, t, &t->seen, err);
	if (rc == 0 && cleanup_interrupted())
	{
		err_set(err, "import interrupted");
		rc = -1;
	}
	bool left = false;
	for (int i = 0; i < t->ndbs; i++)
		if (rc != 0)
			left = !archive_tarload_drop(t, t->dbs[i], "the tar stream was not read whole") || left;
		else
		{
			conn_close(t->dbs[i]->conn);
			t->dbs[i]->conn = NULL;
		}
	if (rc == 0)
		return t;
	if (!err->hint)
		err_hint(err, left ? "Nothing was verified; a database that was being resumed stays marked unfinished."
				 : "Nothing was left on the target.");
	archive_tarload_destroy(t);
	return NULL;
}

const archive_stream_files *
archive_tarload_seen(const archive_tarload *t)
{
	return &t->seen;
}

archive_tarload_state
archive_tarload_db_state(const archive_tarload *t, const char *dir, const char **why)
{
	for (int i = 0; t && i < t->ndbs; i++)
		if (strcmp(t->dbs[i]->plan.dir, dir) == 0 && t->dbs[i]->name)
		{
			if (why)
				*why = t->dbs[i]->err.message;
			return t->dbs[i]->state;
		}
	return ARCHIVE_TARLOAD_NONE;
}

const pgc_err *
archive_tarload_db_err(const archive_tarload *t, const char *dir)
{
	for (int i = 0; t && i < t->ndbs; i++)
		if (strcmp(t->dbs[i]->plan.dir, dir) == 0 && t->dbs[i]->name)
			return &t->dbs[i]->err;
	return NULL;
}

/* Names the first way in which a and b differ (table identity, columns,
 * part files), or NULL when they agree; owned by the caller. */
static char *
archive_tarload_plan_differs(const manifest_db *a, const manifest_db *b)
{
	if (strcmp(a->name, b->name) != 0)
		return xasprintf("it plans database \"%s\"", a->name);
	if (a->ntables != b->ntables)
		return xasprintf("it plans %d tables, the manifest lists %d", a->ntables, b->ntables);
	for (int i = 0; i < a->ntables; i++)
	{
		const manifest_table *x = &a->tables[i], *y = &b->tables[i];
		bool same = strcmp(x->schema, y->schema) == 0 && strcmp(x->name, y->name) == 0 &&
			x->ncolumns == y->ncolumns && x->nparts == y->nparts && x->ext_config == y->ext_config;
		for (int c = 0; same && c < x->ncolumns; c++)
			same = strcmp(x->columns[c], y->columns[c]) == 0;
		for (int p = 0; same && p < x->nparts; p++)
			same = strcmp(x->parts[p].file, y->parts[p].file) == 0;
		if (!same)
			return xasprintf("table %s.%s is planned otherwise than the manifest lists it", x->schema, x->name);
	}
	return NULL;
}

int
archive_tarload_check_plan(const archive_tarload *t, const manifest_db *mdb, pgc_err *err)
{
	for (int i = 0; t && i < t->ndbs; i++)
		if (strcmp(t->dbs[i]->plan.dir, mdb->dir) == 0 && t->dbs[i]->state == ARCHIVE_TARLOAD_LOADED)
		{
			char *why = archive_tarload_plan_differs(&t->dbs[i]->plan, mdb);
			if (!why)
				return 0;
			err_set(err, "the plan of database \"%s\" in the tar stream does not match the manifest", mdb->name);
			err_detail(err, "%s/%s: %s.", mdb->dir, MANIFEST_PLAN_NAME, why);
			free(why);
			return -1;
		}
	return 0;
}

bool
archive_tarload_roles_done(const archive_tarload *t)
{
	return t && t->roles_done;
}

bool
archive_tarload_abandon(archive_tarload *t, const char *dir, const char *why)
{
	bool gone = true;
	for (int i = 0; t && i < t->ndbs; i++)
		if (!dir || strcmp(t->dbs[i]->plan.dir, dir) == 0)
			gone = archive_tarload_drop(t, t->dbs[i], why) && gone;
	return gone;
}

void
archive_tarload_destroy(archive_tarload *t)
{
	if (!t)
		return;
	for (int i = 0; i < t->ndbs; i++)
	{
		tarload_db *d = t->dbs[i];
		conn_close(d->conn);
		manifest_db_clear(&d->plan);
		free(d->name);
		free(d->cleared);
		err_clear(&d->err);
		free(d);
	}
	free(t->dbs);
	archive_stream_files_free(&t->seen);
	free(t);
}
