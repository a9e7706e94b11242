/*
 * archive_export.c: "pgcarry export", databases into a checksummed archive.
 *
 * export is a pipeline on the job runner (core/job.h): its ends are a
 * server and the archive writer (archive_file.h, tarstream.h).
 *
 * How it works: for each database, a coordinator session exports a snapshot
 * (snapshot.h) and reads the catalog in it (catalog.h).  The job runner's
 * --jobs workers then run three kinds of unit: the schema
 * (pg_dump -Fc --snapshot, sections pre-data and post-data), each table part
 * (COPY TO STDOUT in text, through stream_copy_out, each row hashed, into a
 * zstd archive file), and the large objects.  Every worker attaches its own
 * session to the database's snapshot, so every file of a database shows the
 * same moment.  When all tasks of a database are done, its entry is written
 * as database.json; when every database is done, manifest.json is written
 * last.  With --format tar, each finished file is appended to the tar stream
 * at once (and removed from the private work directory), and the manifest
 * is the last entry.
 *
 * Resume (--format dir only): a database whose database.json exists and
 * whose files match it is kept; any other is exported again, whole, from a
 * new snapshot (see docs/archive-format.md, "Resume").
 */
#include "archive/archive_export.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/ddl.h"
#include "archive/archive_file.h"
#include "archive/archive_stream.h"
#include "archive/manifest.h"
#include "archive/tarstream.h"
#include "core/catalog.h"
#include "core/job.h"
#include "cleanup.h"
#include "conn.h"
#include "core/snapshot.h"
#include "core/stream.h"
#include "util/log.h"
#include "util/xalloc.h"

/* Tables bigger than --part-size are exported in parts of that size (by
 * ranges of 8 kB pages), on servers with TID range scans (14 and later). */
#define EXPORT_PART_MB_DEFAULT 128
#define EXPORT_PART_MIN_VERSION 140000

/* Databases exported at the same time (each holds a snapshot session). */
#define EXPORT_BATCH 4

typedef struct export_run
{
	const archive_export_opts *o;
	const char *root;			/* where files are written */
	tarstream_writer *tar;		/* NULL for --format dir */
	pthread_mutex_t lock;		/* tar and manifest file lists */
	int			server_version;
	ddl_tools  *tools;			/* PostgreSQL's programs for the source (ddl.h) */
	char	   *pg_dumpall;
	progress   *prog;
	job_run    *jobs;			/* one run for every database of a batch */
} export_run;

typedef struct export_db
{
	export_run *run;
	const catalog_db *cdb;
	manifest_db *mdb;
	const char *snapshot_id;
	pthread_mutex_t lock;
	pgc_err		err;			/* the first failure of a task */
	uint64_t	rows;
	uint64_t	bytes;
	int			index;			/* for progress */
	job_db	   *job;			/* its life on the job runner (holds the
								 * snapshot) */
	/* Held from start to finish (coordinator side only): */
	PGconn	   *coord;			/* holds the snapshot (owned by job) */
	catalog_table *tables;
	int			ntables;
	catalog_sequence *seqs;
	int			nseqs;
	int64_t		lo_count;
	time_t		start;
	/* --format tar (under run->lock): data files wait for the schema */
	bool		schema_sent;
	bool		schema_only_same;	/* ddl_schema_only_same, in the snapshot */
	char	  **held;			/* finished data files not yet in the tar */
	int			nheld;
} export_db;

typedef enum export_kind
{
	EXPORT_SCHEMA,
	EXPORT_PART,
	EXPORT_LARGE_OBJECTS
} export_kind;

typedef struct export_task
{
	export_kind kind;
	export_db  *db;
	int			table;			/* index into db->mdb->tables */
	int			part;
	char	   *qualified;		/* quoted table name */
	char	   *columns;		/* quoted column list */
	stream_range range;
	int64_t		est_bytes;		/* its share of the size estimate */
} export_task;

/* ------------------------------------------------------------ helpers */

/* Splits a list made by quote_ident joined with ", " into names. */
static char **
archive_export_columns(const char *list, int *n)
{
	char **out = NULL;
	*n = 0;
	const char *p = list;
	while (*p)
	{
		buf_t b = {0};
		if (*p == '"')
		{
			p++;
			while (*p)
			{
				if (*p == '"' && p[1] == '"')
				{
					buf_putc(&b, '"');
					p += 2;
				}
				else if (*p == '"')
				{
					p++;
					break;
				}
				else
					buf_putc(&b, *p++);
			}
		}
		else
			while (*p && *p != ',')
				buf_putc(&b, *p++);
		out = xrealloc(out, sizeof(char *) * (size_t) (*n + 1));
		out[(*n)++] = buf_steal(&b);
		while (*p == ',' || *p == ' ')
			p++;
	}
	return out;
}

/* Records a task's failure on its database (first one wins). */
static void
archive_export_fail(export_db *db, pgc_err *err)
{
	job_first_failure(&db->lock, &db->err, err);
	/* The export fails as a whole: start nothing more. */
	if (db->run->jobs)
		job_run_stop(db->run->jobs);
}

static bool
archive_export_failed(export_db *db)
{
	return job_first_failed(&db->lock, &db->err);
}

/* Moves the finished file rel into the tar stream (run->lock held). */
static int
archive_export_tar_add(export_run *run, const char *rel, pgc_err *err)
{
	char *path = xasprintf("%s/%s", run->root, rel);
	int rc = tarstream_writer_add_file(run->tar, rel, path, err);
	unlink(path);
	free(path);
	return rc;
}

/* A file of this database is finished: list it, and with --format tar
 * move it into the tar stream (a data file after the schema). */
static int
archive_export_file_done(export_db *db, const char *rel, const archive_file_info *info, pgc_err *err)
{
	export_run *run = db->run;
	int rc = 0;
	pthread_mutex_lock(&run->lock);
	manifest_add_file(&db->mdb->files, &db->mdb->nfiles, rel, info);
	db->bytes += info->size;
	if (run->tar && archive_stream_is_data(rel) && !db->schema_sent)
	{
		/* A reader loads data as it arrives, into tables the schema
		 * makes: the schema goes first. */
		db->held = xrealloc(db->held, sizeof(char *) * (size_t) (db->nheld + 1));
		db->held[db->nheld++] = xstrdup(rel);
	}
	else if (run->tar)
	{
		rc = archive_export_tar_add(run, rel, err);
		if (strcmp(rel, db->mdb->schema_file) == 0)
		{
			db->schema_sent = true;
			for (int i = 0; i < db->nheld; i++)
			{
				if (rc == 0)
					rc = archive_export_tar_add(run, db->held[i], err);
				free(db->held[i]);
			}
			db->nheld = 0;
		}
	}
	pthread_mutex_unlock(&run->lock);
	return rc;
}

/*
 * --format tar: the database's plan (its manifest entry before any file:
 * names, columns, parts, file names; no rows or checksums yet) goes into
 * the tar ahead of its files, so that a reader can load each data file
 * as it arrives (docs/archive-format.md, "--format tar").  Returns 0, or
 * -1 with err set.
 */
static int
archive_export_plan(export_db *db, pgc_err *err)
{
	export_run *run = db->run;
	if (manifest_db_write_as(run->root, db->mdb, MANIFEST_PLAN_NAME, err) != 0)
		return -1;
	char *rel = xasprintf("%s/%s", db->mdb->dir, MANIFEST_PLAN_NAME);
	pthread_mutex_lock(&run->lock);
	int rc = archive_export_tar_add(run, rel, err);
	pthread_mutex_unlock(&run->lock);
	free(rel);
	return rc;
}

/* ------------------------------------------------------------- tasks */

static int
archive_export_schema(export_db *db, pgc_err *err)
{
	export_run *run = db->run;
	char *rel = xasprintf("%s/schema.dump", db->mdb->dir);
	char *tmp = xasprintf("%s/%s/.schema.dump.partial", run->root, db->mdb->dir);
	char *final = xasprintf("%s/%s", run->root, rel);
	/* A schema-only archive takes pg_dump --schema-only: the same sections
	 * without the large objects' definitions.  Otherwise the same entries
	 * with fewer queries (ddl_schema_only_same). */
	const char **extra = catalog_filter_dump_args(&run->o->cli.filter, false,
												  run->o->content == MANIFEST_SCHEMA_ONLY || db->schema_only_same);
	int rc = -1;
	if (ddl_dump_schema_file(run->tools, run->o->cli.source, "source", db->cdb->name, db->snapshot_id, extra, tmp,
							 err) == 0)
	{
		archive_file_info info;
		if (archive_file_checksum(tmp, &info, err) != 0)
			;
		else if (rename(tmp, final) != 0)
			err_set(err, "could not write \"%s\": %s", final, strerror(errno));
		else
			rc = archive_export_file_done(db, rel, &info, err);
	}
	if (rc != 0)
		unlink(tmp);
	free(extra);
	free(rel);
	free(tmp);
	free(final);
	return rc;
}

typedef struct export_sink
{
	archive_file_writer *w;
} export_sink;

static int
archive_export_sink(void *arg, const char *data, size_t len, pgc_err *err)
{
	export_sink *s = arg;
	return archive_file_writer_write(s->w, data, len, err);
}

static const char *
archive_export_ext(const export_run *run)
{
	return run->o->zstd_level > 0 ? ".copy.zst" : ".copy";
}

static int
archive_export_part(export_db *db, export_task *t, PGconn *conn, pgc_err *err)
{
	export_run *run = db->run;
	manifest_table *mt = &db->mdb->tables[t->table];
	manifest_part *mp = &mt->parts[t->part];
	char *full = xasprintf("%s.%s", mt->schema, mt->name);
	log_set_table(full);
	free(full);
	archive_file_writer *w = archive_file_writer_create(run->root, mp->file, run->o->zstd_level, err);
	if (!w)
		return -1;
	export_sink sink = {w};
	char *sql = stream_copy_out_sql(t->qualified, t->columns, &t->range, mt->condition, STREAM_TEXT);
	stream_result res;
	memset(&res, 0, sizeof res);
	stream_tick tick = job_db_tick(db->job);
	int rc = stream_copy_out(conn, sql, STREAM_TEXT, archive_export_sink, &sink, &tick, &res, err);
	archive_file_info info;
	if (rc == 0)
		rc = archive_file_writer_finish(w, &info, err);
	archive_file_writer_destroy(w);
	free(sql);
	if (rc == 0)
	{
		mp->rows = res.hash.rows;
		rowhash_hex(&res.hash, mp->checksum);
		rc = archive_export_file_done(db, mp->file, &info, err);
		pthread_mutex_lock(&db->lock);
		db->rows += res.hash.rows;
		pthread_mutex_unlock(&db->lock);
		log_info("exported %llu rows (%llu bytes compressed)", (unsigned long long) res.hash.rows,
				 (unsigned long long) info.size);
	}
	log_set_table(NULL);
	return rc;
}

typedef struct export_lo_sink
{
	archive_file_writer *w;
	uint32_t	oid;
	int64_t		offset;
	buf_t		row;
	uint64_t	rows;
} export_lo_sink;

static int
archive_export_lo_chunk(void *arg, uint32_t oid, const char *data, size_t len, pgc_err *err)
{
	static const char hx[] = "0123456789abcdef";
	export_lo_sink *s = arg;
	if (oid != s->oid)
	{
		s->oid = oid;
		s->offset = 0;
	}
	if (len == 0)
		return 0;
	buf_reset(&s->row);
	buf_printf(&s->row, "%u\t%lld\t\\\\x", oid, (long long) s->offset);
	buf_reserve(&s->row, len * 2 + 2);
	for (size_t i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) data[i];
		char two[2] = {hx[c >> 4], hx[c & 15]};
		buf_append(&s->row, two, 2);
	}
	buf_putc(&s->row, '\n');
	s->offset += (int64_t) len;
	s->rows++;
	return archive_file_writer_write(s->w, s->row.data, s->row.len, err);
}

static int
archive_export_large_objects(export_db *db, PGconn *conn, pgc_err *err)
{
	export_run *run = db->run;
	log_set_table("large objects");
	archive_file_writer *w = archive_file_writer_create(run->root, db->mdb->lo_file, run->o->zstd_level, err);
	if (!w)
		return -1;
	export_lo_sink sink = {.w = w, .oid = 0};
	stream_result res;
	memset(&res, 0, sizeof res);
	stream_tick tick = job_db_tick(db->job);
	int rc = stream_large_objects_read(conn, 0, 0, archive_export_lo_chunk, &sink, &tick, &res, err);
	archive_file_info info;
	if (rc == 0)
		rc = archive_file_writer_finish(w, &info, err);
	archive_file_writer_destroy(w);
	buf_free(&sink.row);
	if (rc == 0)
	{
		db->mdb->lo_count = res.hash.rows;
		db->mdb->lo_rows = sink.rows;
		rowhash_hex(&res.hash, db->mdb->lo_checksum);
		rc = archive_export_file_done(db, db->mdb->lo_file, &info, err);
		log_info("exported %llu large objects", (unsigned long long) res.hash.rows);
	}
	log_set_table(NULL);
	return rc;
}

static void
archive_export_task_free(void *unit)
{
	export_task *t = unit;
	free(t->qualified);
	free(t->columns);
	free(t);
}

static const char *
archive_export_task_name(const void *unit)
{
	const export_task *t = unit;
	return t->qualified;
}

/* One try of a data unit, in a session attached to the snapshot. */
static int
archive_export_data_once(PGconn *conn, void *arg, pgc_err *err)
{
	export_task *t = arg;
	return t->kind == EXPORT_PART ? archive_export_part(t->db, t, conn, err)
		: archive_export_large_objects(t->db, conn, err);
}

/* Runs a unit of the job runner (core/job.h): the schema, a table part
 * (retried on a connection-class failure, as every data unit is) or the
 * large objects.  The first failure ends the export. */
static void
archive_export_run_task(job_worker *w, job_db *jd, void *unit)
{
	export_task *t = unit;
	export_db *db = job_db_ctx(jd);
	pgc_err err = PGC_ERR_INIT;
	if (archive_export_failed(db))
		return;
	if (t->kind == EXPORT_PART)
		progress_unit_begin(db->run->prog, db->index, t->qualified, t->est_bytes);
	int rc;
	if (t->kind == EXPORT_SCHEMA)
		rc = archive_export_schema(db, &err);
	else
		rc = job_try(w, db->job, JOB_SOURCE, true, archive_export_data_once, t,
					 t->kind == EXPORT_PART ? "exporting the table" : "exporting large objects", &err);
	if (rc != 0)
		archive_export_fail(db, &err);
	else if (t->kind != EXPORT_SCHEMA)
		progress_unit_done(db->run->prog, db->index, t->est_bytes);
}

/* ----------------------------------------------------------- database */

/* Writes sequences.sql: one setval per sequence, for restoring by hand. */
static int
archive_export_sequences_file(export_db *db, PGconn *conn, const catalog_sequence *seqs, int n,
							  pgc_err *err)
{
	export_run *run = db->run;
	buf_t b = {0};
	buf_puts(&b, "-- pgcarry: sequence values, read in the export's snapshot\n");
	for (int i = 0; i < n; i++)
	{
		char *lit = conn_quote_literal(conn, seqs[i].qualified);
		buf_printf(&b, "SELECT pg_catalog.setval(%s, %s, %s);\n", lit, seqs[i].last_value,
				   seqs[i].is_called ? "true" : "false");
		free(lit);
	}
	archive_file_writer *w = archive_file_writer_create(run->root, db->mdb->sequences_file, 0, err);
	archive_file_info info;
	int rc = -1;
	if (w && archive_file_writer_write(w, b.data, b.len, err) == 0 &&
		archive_file_writer_finish(w, &info, err) == 0)
		rc = archive_export_file_done(db, db->mdb->sequences_file, &info, err);
	archive_file_writer_destroy(w);
	buf_free(&b);
	return rc;
}

/*
 * Starts the export of one database (mdb's name and dir are set): its
 * snapshot, its catalog read in that snapshot, its manifest entries, and
 * its units pushed on the job runner (run->jobs).  Returns 0, or -1 with err set.
 */
static int
archive_export_db_start(export_run *run, export_db *db, pgc_err *err)
{
	const archive_export_opts *o = run->o;
	const catalog_db *cdb = db->cdb;
	manifest_db *mdb = db->mdb;
	int64_t lo_bytes = 0;
	int64_t part_pages = (int64_t) (o->part_mb > 0 ? o->part_mb : EXPORT_PART_MB_DEFAULT) * 128;
	int rc = -1;

	db->start = time(NULL);
	log_set_database(cdb->name);
	mdb->encoding = xstrdup(cdb->encoding);
	mdb->lc_collate = xstrdup(cdb->collate);
	mdb->lc_ctype = xstrdup(cdb->ctype);
	mdb->owner = xstrdup(cdb->owner);
	mdb->schema_file = xasprintf("%s/schema.dump", mdb->dir);
	if (archive_file_mkdirs(run->root, mdb->dir, err) != 0)
		goto done;
	db->coord = job_db_snapshot(db->job, JOB_SOURCE, NULL, err);
	if (!db->coord)
		goto done;
	db->snapshot_id = job_db_snapshot_id(db->job, JOB_SOURCE);
	if (catalog_tables(db->coord, &db->tables, &db->ntables, err) != 0 ||
		catalog_sequences(db->coord, &db->seqs, &db->nseqs, err) != 0 ||
		catalog_filter_apply(db->coord, &o->cli.filter, db->tables, &db->ntables, db->seqs, &db->nseqs, err) != 0 ||
		/* pg_dump leaves large objects out of a dump of chosen tables, and
		 * out of a schema-only dump */
		(o->content != MANIFEST_SCHEMA_ONLY && catalog_filter_large_objects(&o->cli.filter) &&
		 catalog_large_objects(db->coord, &db->lo_count, &lo_bytes, err) != 0) ||
		ddl_schema_only_same(db->coord, &db->schema_only_same, err) != 0)
		goto done;

	/* The manifest entries first: tasks fill them in place. */
	const catalog_table *tables = db->tables;
	for (int i = 0; i < db->ntables; i++)
	{
		manifest_table *mt = manifest_db_add_table(mdb);
		mt->schema = xstrdup(tables[i].schema);
		mt->name = xstrdup(tables[i].name);
		mt->columns = archive_export_columns(tables[i].columns, &mt->ncolumns);
		mt->ext_config = tables[i].ext_config;
		mt->condition = tables[i].condition ? xstrdup(tables[i].condition) : NULL;
		/* A schema-only archive lists its tables (their names and
		 * columns, for the check against the schema dump), no data. */
		int nparts = o->content == MANIFEST_SCHEMA_ONLY ? 0 : 1;
		if (nparts > 0 && run->server_version >= EXPORT_PART_MIN_VERSION && tables[i].pages > part_pages)
			nparts = (int) ((tables[i].pages + part_pages - 1) / part_pages);
		char *safe = archive_file_safe_name(tables[i].display, 48);
		for (int p = 0; p < nparts; p++)
		{
			manifest_part *mp = manifest_table_add_part(mt);
			mp->file = xasprintf("%s/data/%05d-%s.%03d%s", mdb->dir, i + 1, safe, p, archive_export_ext(run));
		}
		free(safe);
	}
	if (db->lo_count > 0)
		mdb->lo_file = xasprintf("%s/large-objects%s", mdb->dir, archive_export_ext(run));
	if (o->content == MANIFEST_SCHEMA_ONLY)
	{
		/* pg_dump --schema-only carries no sequence values either. */
		catalog_sequences_free(db->seqs, db->nseqs);
		db->seqs = NULL;
		db->nseqs = 0;
	}
	if (db->nseqs > 0)
	{
		mdb->sequences_file = xasprintf("%s/sequences.sql", mdb->dir);
		for (int i = 0; i < db->nseqs; i++)
		{
			manifest_sequence *ms = manifest_db_add_sequence(mdb);
			ms->schema = xstrdup(db->seqs[i].schema);
			ms->name = xstrdup(db->seqs[i].name);
			ms->last_value = xstrdup(db->seqs[i].last_value);
			ms->is_called = db->seqs[i].is_called;
		}
	}
	for (int i = 0; i < mdb->ntables; i++)
		for (int p = 0; p < mdb->tables[i].nparts; p++)
			memset(mdb->tables[i].parts[p].checksum, '0', ROWHASH_HEX_LEN);
	for (int i = 0; i < mdb->ntables; i++)
		memset(mdb->tables[i].checksum, '0', ROWHASH_HEX_LEN);
	mdb->lo_count = (uint64_t) db->lo_count;
	memset(mdb->lo_checksum, '0', ROWHASH_HEX_LEN);
	/* A partial archive has no plans: a reader needs its manifest (what it
	 * holds) before it loads anything, so it keeps the tar whole. */
	if (run->tar && o->content == MANIFEST_WHOLE && archive_export_plan(db, err) != 0)
		goto done;
	if (db->nseqs > 0 && archive_export_sequences_file(db, db->coord, db->seqs, db->nseqs, err) != 0)
		goto done;

	int units = db->lo_count > 0 ? 1 : 0;
	int64_t est_total = lo_bytes;
	for (int i = 0; i < db->ntables; i++)
	{
		units += mdb->tables[i].nparts;
		est_total += tables[i].est_bytes;
	}
	progress_add_total(run->prog, db->index, units, est_total);
	progress_phase(run->prog, db->index, "data");
	export_task *st = xcalloc(1, sizeof *st);
	st->kind = EXPORT_SCHEMA;
	st->db = db;
	job_push(db->job, st, INT64_MAX);
	if (db->lo_count > 0)
	{
		export_task *lt = xcalloc(1, sizeof *lt);
		lt->kind = EXPORT_LARGE_OBJECTS;
		lt->db = db;
		lt->est_bytes = lo_bytes;
		job_push(db->job, lt, lo_bytes);
	}
	for (int i = 0; i < db->ntables; i++)
	{
		manifest_table *mt = &mdb->tables[i];
		for (int p = 0; p < mt->nparts; p++)
		{
			export_task *t = xcalloc(1, sizeof *t);
			t->kind = EXPORT_PART;
			t->db = db;
			t->table = i;
			t->part = p;
			t->qualified = xstrdup(tables[i].qualified);
			t->columns = xstrdup(tables[i].columns);
			if (mt->nparts == 1)
				t->range = stream_whole(tables[i].via_root);
			else
			{
				t->range.first_page = (int64_t) p * part_pages;
				t->range.end_page = p == mt->nparts - 1 ? -1 : (int64_t) (p + 1) * part_pages;
			}
			t->est_bytes = tables[i].est_bytes / mt->nparts;
			job_push(db->job, t, t->est_bytes);
		}
	}
	rc = 0;
done:
	if (rc != 0)
		progress_phase(run->prog, db->index, "failed");
	log_set_database(NULL);
	return rc;
}

/* Is rel a file of this database that was written whole and listed (in
 * files, mdb's files by path), and (directory archives) is it on disk with
 * the size listed? */
static bool
archive_export_file_written(export_run *run, const manifest_paths *files, const char *rel)
{
	const manifest_path *hit = manifest_paths_find(files, rel);
	if (!hit)
		return false;
	if (run->tar)
		return true;			/* moved into the tar stream */
	const manifest_file *f = hit->item;
	char *path = xasprintf("%s/%s", run->root, rel);
	struct stat st;
	bool ok = stat(path, &st) == 0 && (uint64_t) st.st_size == f->info.size;
	free(path);
	return ok;
}

/* The first file of the database that was not written (its task failed
 * or was never run), or NULL when every one is there. */
static const char *
archive_export_missing_file(export_run *run, const manifest_db *mdb)
{
	manifest_paths files = {0};
	const char *missing = NULL;
	manifest_paths_of_files(&files, mdb->files, mdb->nfiles);
	if (!archive_export_file_written(run, &files, mdb->schema_file))
		missing = mdb->schema_file;
	else if (mdb->sequences_file && !archive_export_file_written(run, &files, mdb->sequences_file))
		missing = mdb->sequences_file;
	else if (mdb->lo_file && !archive_export_file_written(run, &files, mdb->lo_file))
		missing = mdb->lo_file;
	for (int i = 0; i < mdb->ntables && !missing; i++)
		for (int p = 0; p < mdb->tables[i].nparts && !missing; p++)
			if (!archive_export_file_written(run, &files, mdb->tables[i].parts[p].file))
				missing = mdb->tables[i].parts[p].file;
	manifest_paths_free(&files);
	return missing;
}

/*
 * Ends the export of a database whose tasks all ran: table checksums,
 * database.json.  The record is written only when every file of the
 * database was written whole and is there: a database whose tasks failed
 * or were dropped (another database failed, an interrupt) gets none, and
 * is exported again by --resume.  Returns 0, or -1 with err set.
 */
static int
archive_export_db_finish(export_run *run, export_db *db, pgc_err *err)
{
	manifest_db *mdb = db->mdb;
	if (db->err.set)
	{
		err_move(err, &db->err);
		progress_phase(run->prog, db->index, "failed");
		return -1;
	}
	const char *missing = archive_export_missing_file(run, mdb);
	if (missing)
	{
		if (cleanup_interrupted())
		{
			err_set(err, "export interrupted");
			err_detail(err, "Archive file \"%s\" was not written.", missing);
		}
		else
		{
			err_set(err, "archive file \"%s\" was not written", missing);
			err_detail(err, "The export stopped before this database was complete.");
		}
		progress_phase(run->prog, db->index, "failed");
		return -1;
	}
	/* Table checksums: the sum of their parts. */
	for (int i = 0; i < mdb->ntables; i++)
	{
		manifest_table *mt = &mdb->tables[i];
		rowhash h;
		manifest_table_sum_parts(mt, &h);
		mt->rows = h.rows;
		rowhash_hex(&h, mt->checksum);
	}
	if (!run->tar && manifest_db_write(run->root, mdb, err) != 0)
		return -1;
	progress_phase(run->prog, db->index, "done");
	log_set_database(db->cdb->name);
	log_notice("exported database \"%s\": %d tables, %llu rows, %d sequences, %lld large objects, "
			   "%llu bytes in %lld s", db->cdb->name, db->ntables, (unsigned long long) db->rows, db->nseqs,
			   (long long) db->lo_count, (unsigned long long) db->bytes, (long long) (time(NULL) - db->start));
	log_set_database(NULL);
	return 0;
}

/* Releases what a database held (snapshot, sessions, catalog). */
static void
archive_export_db_free(export_db *db)
{
	job_db_destroy(db->job);
	catalog_tables_free(db->tables, db->ntables);
	catalog_sequences_free(db->seqs, db->nseqs);
	for (int i = 0; i < db->nheld; i++)
		free(db->held[i]);
	free(db->held);
	err_clear(&db->err);
	pthread_mutex_destroy(&db->lock);
	memset(db, 0, sizeof *db);
}

/* With --resume: keeps the database when database.json and its files
 * agree.  Returns 1 kept (mdb filled), 0 redo, -1 error. */
static int
archive_export_keep(export_run *run, const char *dir, const char *name, manifest_db *mdb, pgc_err *err)
{
	int r = manifest_db_read(run->root, dir, mdb, err);
	if (r != 0)
	{
		if (r < 0)
		{
			log_warning("%s/%s cannot be read: database \"%s\" is exported again", dir, MANIFEST_DB_NAME, name);
			err_clear(err);
		}
		return 0;
	}
	if (strcmp(mdb->name, name) != 0)
	{
		manifest_db_clear(mdb);
		return 0;
	}
	/* Written by an export of another content (schema only, or with
	 * data): not this archive's. */
	bool has_data = mdb->sequences_file || mdb->lo_file;
	bool all_data = true;
	for (int i = 0; i < mdb->ntables; i++)
	{
		has_data = has_data || mdb->tables[i].nparts > 0;
		all_data = all_data && mdb->tables[i].nparts > 0;
	}
	if (run->o->content == MANIFEST_SCHEMA_ONLY ? has_data : !all_data)
	{
		log_notice("database \"%s\" was exported before with%s its data; exporting it again", name,
				   has_data ? "" : "out");
		manifest_db_clear(mdb);
		return 0;
	}
	for (int i = 0; i < mdb->nfiles; i++)
	{
		char *path = xasprintf("%s/%s", run->root, mdb->files[i].path);
		archive_file_info info;
		int c = archive_file_checksum(path, &info, err);
		free(path);
		if (c < 0)
			return -1;
		if (c == 1 || info.size != mdb->files[i].info.size ||
			strcmp(info.sha256, mdb->files[i].info.sha256) != 0)
		{
			log_notice("database \"%s\": file \"%s\" is missing or changed; exporting the database again",
					   name, mdb->files[i].path);
			manifest_db_clear(mdb);
			return 0;
		}
	}
	log_notice("database \"%s\" was exported completely before; keeping its %d files", name, mdb->nfiles);
	return 1;
}

/* Exports the roles with pg_dumpall --roles-only into roles.sql. */
static int
archive_export_roles(export_run *run, manifest *m, PGconn *conn, pgc_err *err)
{
	bool super = false;
	if (catalog_is_superuser(conn, &super, err) != 0)
		return -1;
	char *password = NULL;
	char *cc = ddl_conninfo(run->o->cli.source, "postgres", "source", &password, err);
	if (!cc)
		return -1;
	char *tmp = xasprintf("%s/.roles.sql.partial", run->root);
	char *final = xasprintf("%s/roles.sql", run->root);
	const char *argv[] = {run->pg_dumpall, "-w", "--roles-only", "-d", cc, "-f", tmp,
		super ? NULL : "--no-role-passwords", NULL};
	buf_t errout = {0};
	ddl_child_io io = {.errout = &errout, .password = password};
	int rc = -1;
	int st = ddl_run(argv, &io, err);
	if (st > 0)
	{
		err_set(err, "could not dump the roles of the source server");
		char *lines = ddl_error_lines(errout.data, 10);
		err_detail(err, "%s", lines);
		free(lines);
	}
	else if (st == 0)
	{
		archive_file_info info;
		chmod(tmp, 0600);
		if (archive_file_checksum(tmp, &info, err) == 0 && rename(tmp, final) == 0)
		{
			m->roles_file = xstrdup("roles.sql");
			m->roles_passwords = super;
			manifest_add_file(&m->files, &m->nfiles, "roles.sql", &info);
			rc = 0;
			if (run->tar)
			{
				rc = tarstream_writer_add_file(run->tar, "roles.sql", final, err);
				unlink(final);
			}
			if (!super)
				log_warning("role passwords are not in the archive: role \"%s\" may not read them",
							PQuser(conn));
		}
	}
	unlink(tmp);
	buf_free(&errout);
	if (password)
	{
		memset(password, 0, strlen(password));
		free(password);
	}
	free(cc);
	free(tmp);
	free(final);
	return rc;
}

/* The databases to export: those named, or --all but those
 * --exclude-database excludes (*dbs owned by the caller).  Returns 0, or
 * -1 with err set (none is left, or the catalog could not be read). */
static int
archive_export_dbs(PGconn *conn, const archive_export_opts *o, catalog_db **dbs, int *ndbs, pgc_err *err)
{
	if (catalog_dbs(conn, "source", (const char *const *) o->cli.dbs, o->cli.ndbs, o->cli.all, dbs, ndbs, err) != 0 ||
		catalog_dbs_exclude(conn, o->cli.exclude_dbs, o->cli.nexclude_dbs, *dbs, ndbs, err) != 0)
		return -1;
	if (*ndbs == 0 && o->cli.nexclude_dbs > 0)
	{
		err_set(err, "no database of the source is left to export");
		err_hint(err, "--exclude-database excluded every one of them.");
		return -1;
	}
	return 0;
}

/* Refuses an output that is not new (or empty), unless resuming. */
static int
archive_export_check_output(const archive_export_opts *o, pgc_err *err)
{
	if (o->tar)
	{
		if (strcmp(o->output, "-") == 0)
			return 0;
		struct stat st;
		if (stat(o->output, &st) == 0)
		{
			err_set(err, "output file \"%s\" already exists", o->output);
			err_hint(err, "Choose a new file name, or remove the file.");
			return -1;
		}
		return 0;
	}
	DIR *d = opendir(o->output);
	if (!d)
	{
		if (errno == ENOENT)
			return 0;
		err_set(err, "output \"%s\" is not a directory that pgcarry can use: %s", o->output, strerror(errno));
		return -1;
	}
	bool empty = true;
	struct dirent *e;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			empty = false;
	closedir(d);
	if (!empty && !o->cli.resume)
	{
		err_set(err, "output directory \"%s\" is not empty", o->output);
		err_hint(err, "Choose a new directory, or finish an interrupted export into it with --resume.");
		return -1;
	}
	if (!o->cli.dry_run)
		chmod(o->output, 0700);
	return 0;
}

int
archive_export_run(const archive_export_opts *o, pgc_err *err)
{
	umask(077);
	if (archive_export_check_output(o, err) != 0)
		return EXIT_FAIL;
	export_run run = {.o = o};
	pthread_mutex_init(&run.lock, NULL);
	int rc = EXIT_FAIL;
	catalog_db *dbs = NULL;
	int ndbs = 0;
	manifest *m = NULL;
	PGconn *conn = NULL;
	export_db *edbs = NULL;

	if (o->cli.resume && !o->tar)
	{
		char *mp = xasprintf("%s/%s", o->output, MANIFEST_NAME);
		struct stat st;
		bool done = stat(mp, &st) == 0;
		free(mp);
		if (done)
		{
			/* Complete, but of the kind asked for? */
			manifest *had = manifest_read(o->output, err);
			manifest_content kind = had ? had->content : MANIFEST_WHOLE;
			manifest_destroy(had);
			pthread_mutex_destroy(&run.lock);
			if (!had)
				return EXIT_FAIL;
			if (kind != o->content)
			{
				err_set(err, "archive \"%s\" is complete, and %s: it is not the %s archive asked for", o->output,
						manifest_content_name(kind), manifest_content_name(o->content));
				err_hint(err, "Export into a new directory, or resume with the options of the export that "
						 "wrote it.");
				return EXIT_FAIL;
			}
			log_notice("archive \"%s\" is already complete: nothing to resume", o->output);
			return EXIT_OK;
		}
	}
	if (o->tar)
	{
		const char *tmp = cleanup_private_tmpdir(err);
		if (!tmp)
			goto done;
		run.root = tmp;
		run.tar = tarstream_writer_create(o->output, err);
		if (!run.tar)
			goto done;
	}
	else
	{
		run.root = o->output;
		if (archive_file_mkdirs(o->output, NULL, err) != 0)
			goto done;
	}

	conn = conn_open(o->cli.source, NULL, "source", err);
	if (!conn)
		goto done;
	run.server_version = PQserverVersion(conn);
	run.tools = ddl_tools_find(run.server_version, "source", err);
	if (!run.tools)
		goto done;
	run.pg_dumpall = ddl_tools_path(run.tools, "pg_dumpall");
	if (archive_export_dbs(conn, o, &dbs, &ndbs, err) != 0)
		goto done;
	m = manifest_create();
	m->server_version = conn_version_string(run.server_version);
	m->server_version_num = run.server_version;
	m->content = o->content;
	m->compression = xstrdup(o->zstd_level > 0 ? "zstd" : "none");
	m->compression_level = o->zstd_level;
	if (o->cli.roles && archive_export_roles(&run, m, conn, err) != 0)
		goto done;
	run.prog = progress_create(o->cli.progress, "export", ndbs);
	for (int i = 0; i < ndbs; i++)
		progress_db_name(run.prog, i, dbs[i].name);
	progress_start(run.prog);

	/* Every database's manifest entry first: tasks point into them. */
	for (int i = 0; i < ndbs; i++)
		manifest_add_db(m);
	edbs = xcalloc((size_t) ndbs + 1, sizeof *edbs);
	job_ops ops = {
		.run = archive_export_run_task,
		.unit_name = archive_export_task_name,
		.unit_free = archive_export_task_free,
	};
	const char *ends[2] = {o->cli.source, NULL};
	/* Databases go in batches that share one queue of --jobs sessions, so
	 * small databases do not leave sessions idle; each holds its snapshot
	 * (one session) until its batch is done. */
	for (int first = 0; first < ndbs; first += EXPORT_BATCH)
	{
		int last = first + EXPORT_BATCH < ndbs ? first + EXPORT_BATCH : ndbs;
		run.jobs = job_run_create(o->cli.jobs, &ops, ends, NULL, run.prog);
		int failed = 0;
		for (int i = first; i < last && !failed; i++)
		{
			char *safe = archive_file_safe_name(dbs[i].name, 40);
			char *dir = xasprintf("databases/%02d-%s", i + 1, safe);
			free(safe);
			manifest_db *mdb = &m->dbs[i];
			int kept = 0;
			if (o->cli.resume && !o->tar)
			{
				kept = archive_export_keep(&run, dir, dbs[i].name, mdb, err);
				if (kept < 0)
					failed = 1;
				else if (!kept)
				{
					char *path = xasprintf("%s/%s", run.root, dir);
					cleanup_remove_tree(path);
					free(path);
				}
			}
			if (kept > 0)
				progress_phase(run.prog, i, "done");
			else if (kept == 0)
			{
				mdb->name = xstrdup(dbs[i].name);
				mdb->dir = xstrdup(dir);
				edbs[i] = (export_db) {.run = &run, .cdb = &dbs[i], .mdb = mdb, .index = i};
				pthread_mutex_init(&edbs[i].lock, NULL);
				edbs[i].run = &run;
				edbs[i].job = job_db_create(run.jobs, i, dbs[i].name, dbs[i].encoding, &edbs[i]);
				if (archive_export_db_start(&run, &edbs[i], err) != 0)
				{
					err_prefix(err, "database \"%s\": ", dbs[i].name);
					failed = 1;
				}
				job_db_planned(edbs[i].job);
			}
			free(dir);
		}
		if (failed)
			job_run_stop(run.jobs);
		job_run_destroy(run.jobs);
		run.jobs = NULL;
		/* The first database that failed is the cause; the others of the
		 * batch get their record when they are complete (kept by --resume)
		 * and none when their tasks were dropped. */
		for (int i = first; i < last && !failed; i++)
			if (edbs[i].run && edbs[i].err.set)
			{
				err_move(err, &edbs[i].err);
				err_prefix(err, "database \"%s\": ", dbs[i].name);
				progress_phase(run.prog, i, "failed");
				failed = 1;
			}
		for (int i = first; i < last; i++)
		{
			if (edbs[i].run && !edbs[i].err.set)
			{
				pgc_err e = PGC_ERR_INIT;
				if (archive_export_db_finish(&run, &edbs[i], failed ? &e : err) != 0 && !failed)
				{
					err_prefix(err, "database \"%s\": ", dbs[i].name);
					failed = 1;
				}
				err_clear(&e);
			}
			if (edbs[i].run)
				archive_export_db_free(&edbs[i]);
		}
		if (!failed && cleanup_interrupted())
		{
			err_set(err, "export interrupted");
			failed = 1;
		}
		if (failed)
			goto done;
	}
	for (int i = 0; i < ndbs; i++)
		for (int f = 0; f < m->dbs[i].nfiles; f++)
			manifest_add_file(&m->files, &m->nfiles, m->dbs[i].files[f].path, &m->dbs[i].files[f].info);

	progress_stop(run.prog);
	/* The manifest last: only now does the archive look complete. */
	if (manifest_write(run.root, m, err) != 0)
		goto done;
	if (run.tar)
	{
		char *mp = xasprintf("%s/%s", run.root, MANIFEST_NAME);
		int r = tarstream_writer_add_file(run.tar, MANIFEST_NAME, mp, err);
		free(mp);
		if (r != 0 || tarstream_writer_finish(run.tar, err) != 0)
			goto done;
	}
	uint64_t bytes = 0;
	for (int i = 0; i < m->nfiles; i++)
		bytes += m->files[i].info.size;
	log_notice("archive \"%s\" is complete: %d database%s, %d files, %llu bytes",
			   strcmp(o->output, "-") == 0 ? "standard output" : o->output, m->ndbs,
			   m->ndbs == 1 ? "" : "s", m->nfiles, (unsigned long long) bytes);
	rc = EXIT_OK;

done:
	if (rc != EXIT_OK && !o->tar && err->set && !err->hint)
		err_hint(err, "Files already written are kept; finish the export with --resume.");
	if (run.prog)
	{
		progress_stop(run.prog);
		progress_free(run.prog);
	}
	for (int i = 0; edbs && i < ndbs; i++)
		if (edbs[i].run)
			archive_export_db_free(&edbs[i]);
	free(edbs);
	tarstream_writer_destroy(run.tar);
	manifest_destroy(m);
	catalog_dbs_free(dbs, ndbs);
	conn_close(conn);
	ddl_tools_free(run.tools);
	free(run.pg_dumpall);
	pthread_mutex_destroy(&run.lock);
	return rc;
}

int
archive_export_dry_run(const archive_export_opts *o, pgc_err *err)
{
	if (archive_export_check_output(o, err) != 0)
		return EXIT_FAIL;
	PGconn *conn = conn_open(o->cli.source, NULL, "source", err);
	if (!conn)
		return EXIT_FAIL;
	int rc = EXIT_FAIL;
	catalog_db *dbs = NULL;
	int ndbs = 0;
	ddl_tools *tools = ddl_tools_find(PQserverVersion(conn), "source", err);
	if (!tools || archive_export_dbs(conn, o, &dbs, &ndbs, err) != 0)
		goto done;
	printf("Plan (dry run: nothing was written)\n");
	printf("pg_dump from %s (version %d)\n", ddl_tools_bindir(tools), ddl_tools_major(tools));
	printf("archive \"%s\" would be written\n", o->output);
	for (int i = 0; i < ndbs; i++)
	{
		PGconn *c = conn_open(o->cli.source, dbs[i].name, "source", err);
		if (!c)
			goto done;
		catalog_table *t = NULL;
		catalog_sequence *sq = NULL;
		int nt = 0, nsq = 0;
		int ok = catalog_tables(c, &t, &nt, err) == 0 && catalog_sequences(c, &sq, &nsq, err) == 0
			&& catalog_filter_apply(c, &o->cli.filter, t, &nt, sq, &nsq, err) == 0;
		if (ok)
		{
			printf("database \"%s\": would be exported%s\n", dbs[i].name,
				   o->content == MANIFEST_SCHEMA_ONLY ? " (schema only: no rows)"
				   : o->content == MANIFEST_DATA_ONLY ? " (data only)" : "");
			catalog_plan_print(stdout, t, nt, nsq);
		}
		catalog_tables_free(t, nt);
		catalog_sequences_free(sq, nsq);
		conn_close(c);
		if (!ok)
			goto done;
	}
	printf("The export would work.\n");
	rc = EXIT_OK;
done:
	catalog_dbs_free(dbs, ndbs);
	ddl_tools_free(tools);
	conn_close(conn);
	return rc;
}
