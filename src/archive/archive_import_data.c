/*
 * archive_import_data.c: the data of one database of an import (see
 * archive_import.c for the steps around it): every table file loaded on
 * the job runner's sessions, its rows hashed on the way and checked
 * against the manifest before COMMIT, each table read back as soon as it
 * is complete; then sequences and large objects, and their verification.
 */
#include "archive/archive_import_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "archive/archive_file.h"
#include "archive/archive_stream.h"
#include "cleanup.h"
#include "conn.h"
#include "core/catalog.h"
#include "core/job.h"
#include "core/stream.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/xalloc.h"

#define IMPORT_READ_CHUNK (256 * 1024)
#define IMPORT_BYTEA_OID 17

/* ------------------------------------------------------------ helpers */

static void
archive_import_fail(import_db *db, pgc_err *err)
{
	job_first_failure(&db->lock, &db->err, err);
}

static bool
archive_import_failed(import_db *db)
{
	return job_first_failed(&db->lock, &db->err);
}

void
archive_import__names(PGconn *conn, const manifest_table *t, char **qualified, char **columns)
{
	*qualified = conn_qualify(conn, t->schema, t->name);
	buf_t b = {0};
	for (int c = 0; c < t->ncolumns; c++)
	{
		char *q = conn_quote_ident(conn, t->columns[c]);
		buf_printf(&b, "%s%s", c ? ", " : "", q);
		free(q);
	}
	*columns = b.data ? buf_steal(&b) : xstrdup("");
}

/* A table of at most this many rows, in one file, is small. */
#define ARCHIVE_IMPORT_SMALL_ROWS 200

char *
archive_import__clear_sql(const manifest_table *t, const char *q, bool tree)
{
	return t->ext_config ? stream_delete_sql(q, t->condition) : stream_truncate_sql(q, tree);
}

/* Whether table t of the manifest is partitioned on the target: looked up
 * for every table at once when the tables were planned, else now. */
static bool
archive_import_tree(import_db *db, PGconn *conn, int t, const char *q)
{
	if (db->tree && db->tree[t] >= 0)
		return db->tree[t] == 1;
	return catalog_is_partitioned(conn, q);
}

/* The target table's rows and checksum, read whole (an extension's
 * configuration table: the rows matching its condition). */
static int
archive_import_table_hash(import_db *db, PGconn *conn, int table, rowhash *out, pgc_err *err)
{
	const manifest_table *t = &db->mdb->tables[table];
	char *q, *cols;
	archive_import__names(conn, t, &q, &cols);
	stream_range whole = stream_whole(archive_import_tree(db, conn, table, q));
	char *sql = stream_copy_out_sql(q, cols, &whole, t->condition, STREAM_TEXT);
	stream_result res;
	memset(&res, 0, sizeof res);
	int rc = stream_copy_out(conn, sql, STREAM_TEXT, NULL, NULL, NULL, &res, err);
	if (rc == 0)
		*out = res.hash;
	free(sql);
	free(q);
	free(cols);
	return rc;
}

static bool
archive_import_hash_matches(const rowhash *h, uint64_t rows, const char *checksum)
{
	char hex[ROWHASH_HEX_LEN + 1];
	rowhash_hex(h, hex);
	return h->rows == rows && strcmp(hex, checksum) == 0;
}

/* ---------------------------------------------------------- data load */

static void
archive_import_tick(void *arg, int64_t bytes, int64_t rows)
{
	import_db *db = arg;
	progress_add(db->prog, db->index, bytes, rows);
}

typedef struct import_source
{
	archive_file_reader *r;
	stream_hasher hasher;
	char	   *buf;
} import_source;

static ssize_t
archive_import_source(void *arg, const char **data, pgc_err *err)
{
	import_source *s = arg;
	ssize_t n = archive_file_reader_read(s->r, s->buf, IMPORT_READ_CHUNK, err);
	if (n > 0)
		stream_hasher_feed(&s->hasher, s->buf, (size_t) n);
	*data = s->buf;
	return n;
}

int
archive_import__copy(PGconn *conn, const char *q, const char *cols, bool freeze, archive_file_reader *r,
					 const stream_tick *tick, rowhash *got, pgc_err *err)
{
	import_source src = {.r = r};
	stream_hasher_init(&src.hasher, STREAM_TEXT);
	src.buf = xmalloc(IMPORT_READ_CHUNK);
	char *in_sql = stream_copy_in_sql(q, cols, STREAM_TEXT, freeze);
	int64_t bytes = 0;
	int rc = stream_copy_in(conn, in_sql, archive_import_source, &src, tick, &bytes, err);
	free(in_sql);
	if (rc == 0 && stream_hasher_finish(&src.hasher, got, err) != 0)
		rc = -1;
	stream_hasher_free(&src.hasher);
	free(src.buf);
	return rc;
}

/* Says that the file's rows h are not the manifest's part mp. */
static void
archive_import_part_differs(const manifest_part *mp, const rowhash *h, pgc_err *err)
{
	char hex[ROWHASH_HEX_LEN + 1];
	rowhash_hex(h, hex);
	err_set(err, "archive file \"%s\" does not match the manifest", mp->file);
	err_detail(err, "Expected %llu rows with checksum %s, found %llu rows with checksum %s.",
			   (unsigned long long) mp->rows, mp->checksum, (unsigned long long) h->rows, hex);
}

/* Loads one part inside the caller's transaction, hashing it against the
 * manifest.  Returns 0 with *rows set, or -1 with err set. */
static int
archive_import_load_part(import_db *db, PGconn *conn, const char *q, const char *cols,
						 const manifest_part *mp, bool freeze, uint64_t *rows, pgc_err *err)
{
	archive_file_reader *r = archive_file_reader_open(db->root, mp->file, db->compressed, err);
	if (!r)
		return -1;
	stream_tick tick = {archive_import_tick, db};
	rowhash h;
	int rc = -1;
	if (archive_import__copy(conn, q, cols, freeze, r, &tick, &h, err) != 0)
		err_prefix(err, "could not load archive file \"%s\": ", mp->file);
	else if (!archive_import_hash_matches(&h, mp->rows, mp->checksum))
		archive_import_part_differs(mp, &h, err);
	else
	{
		*rows = h.rows;
		rc = 0;
	}
	archive_file_reader_destroy(r);
	return rc;
}

/*
 * A table loaded as its files went by in a tar stream (archive_tarload.h):
 * the rows each file held, hashed as they went to the server, against the
 * manifest that came last.  Returns 0 with *rows set, or -1 with err set.
 */
static int
archive_import_streamed(import_db *db, const import_task *t, uint64_t *rows, pgc_err *err)
{
	const manifest_table *mt = &db->mdb->tables[t->table];
	*rows = 0;
	for (int p = t->part; p < t->part + t->nparts; p++)
	{
		const manifest_part *mp = &mt->parts[p];
		const archive_stream_file *sf = archive_stream_files_find(db->streamed, mp->file);
		if (!sf || !sf->hashed)
		{
			err_set(err, "archive file \"%s\" was not loaded from the tar stream", mp->file);
			if (sf && sf->problem)
				err_detail(err, "%s", sf->problem);
			return -1;
		}
		if (!archive_import_hash_matches(&sf->rows, mp->rows, mp->checksum))
		{
			archive_import_part_differs(mp, &sf->rows, err);
			return -1;
		}
		*rows += sf->rows.rows;
	}
	return 0;
}

/* The manifest's rows and checksum as a rowhash. */
static rowhash
archive_import_expected(uint64_t rows, const char *checksum)
{
	rowhash h;
	rowhash_init(&h);
	rowhash_parse_hex(&h, checksum);
	h.rows = rows;
	return h;
}

/* Counts an entry recorded in the shared report. */
void
archive_import__recorded(import_db *db)
{
	__atomic_fetch_add(db->nrecorded, 1, __ATOMIC_RELAXED);
}

/* "schema.name" for the report; owned by the caller. */
char *
archive_import__display(const char *schema, const char *name)
{
	return xasprintf("%s.%s", schema, name);
}

/* Records table t of the manifest in the report: expected from the
 * manifest, got as read from the target (NULL: not checked). */
void
archive_import__record_table(import_db *db, int t, const rowhash *got, const char *note)
{
	const manifest_table *mt = &db->mdb->tables[t];
	rowhash want = archive_import_expected(mt->rows, mt->checksum);
	char *disp = archive_import__display(mt->schema, mt->name);
	verify_report_table(db->report, db->name, disp, &want, got ? got : &want, note);
	archive_import__recorded(db);
	pthread_mutex_lock(&db->lock);
	db->recorded[t] = true;
	pthread_mutex_unlock(&db->lock);
	free(disp);
}

/* Loads what task t names in one transaction, then verifies the table when
 * it is complete.  *commit_sent tells whether the COMMIT went out (after
 * which the outcome of a lost connection is unknown).  Returns 0, or -1
 * with err set. */
static int
archive_import_load(import_db *db, import_task *t, int attempt, PGconn *conn, bool *commit_sent, pgc_err *err)
{
	*commit_sent = false;
	const manifest_table *mt = &db->mdb->tables[t->table];
	char *full = xasprintf("%s.%s", mt->schema, mt->name);
	log_set_table(full);
	progress_unit_begin(db->prog, db->index, full, 0);
	free(full);
	uint64_t total = 0;
	char *q = NULL, *cols = NULL;
	int rc = -1;
	if (db->streamed)
	{
		/* Loaded as it arrived: proven against the manifest now. */
		if (archive_import_streamed(db, t, &total, err) != 0)
			goto out;
		progress_add(db->prog, db->index, 0, (int64_t) total);
		goto loaded;
	}
	if (t->whole && db->resuming)
	{
		rowhash h;
		if (archive_import_table_hash(db, conn, t->table, &h, err) != 0)
			return -1;
		if (archive_import_hash_matches(&h, mt->rows, mt->checksum))
		{
			log_info("already loaded (%llu rows): kept", (unsigned long long) mt->rows);
			pthread_mutex_lock(&db->lock);
			db->skipped++;
			pthread_mutex_unlock(&db->lock);
			archive_import__record_table(db, t->table, &h, "loaded earlier");
			log_set_table(NULL);
			return 0;
		}
	}
	archive_import__names(conn, mt, &q, &cols);
	/* Partitions whose hash differs between clusters load through their
	 * root (catalog.h): no ONLY, no FREEZE. */
	bool tree = archive_import_tree(db, conn, t->table, q);
	/* A small table (a few rows, in one file) that this import's pre-data
	 * created loads with a plain COPY: TRUNCATE would give the table, its
	 * TOAST table and their indexes new files, and COPY FREEZE a
	 * visibility map, which for a few rows costs more than the load.  On
	 * the first attempt the table is empty and the COPY is its own
	 * transaction (one statement instead of four); a retry, which may
	 * follow a COPY whose outcome is unknown, empties it first with a
	 * DELETE in one transaction with the COPY. */
	bool small = t->whole && !tree && !mt->ext_config && !db->resuming && !db->o->data_only && mt->nparts == 1 &&
		mt->rows <= ARCHIVE_IMPORT_SMALL_ROWS;
	bool fresh = small && attempt == 0;
	if (!fresh && conn_exec(conn, "BEGIN", err) != 0)
		goto out;
	/* --data-only: into the user's tables, their foreign keys in place, as
	 * pg_restore --disable-triggers loads them; they were checked empty. */
	if ((mt->ext_config || db->o->data_only) && stream_config_load_begin(conn, err) != 0)
		goto rollback;
	if (t->whole && !db->o->data_only && !fresh)
	{
		char *sql = small ? stream_delete_sql(q, NULL) : archive_import__clear_sql(mt, q, tree);
		int r = conn_exec(conn, sql, err);
		free(sql);
		if (r != 0)
			goto rollback;
	}
	for (int p = t->part; p < t->part + t->nparts; p++)
	{
		uint64_t rows = 0;
		if (archive_import_load_part(db, conn, q, cols, &mt->parts[p],
									 t->whole && !tree && !mt->ext_config && !small && !db->o->data_only, &rows,
									 err) != 0)
			goto rollback;
		total += rows;
	}
	if (!fresh)
	{
		*commit_sent = true;
		if (conn_exec(conn, "COMMIT", err) != 0)
			goto out;
	}
	progress_add(db->prog, db->index, 0, (int64_t) total);
loaded:
	pthread_mutex_lock(&db->lock);
	db->rows += total;
	bool verify_now = t->whole;
	if (!t->whole)
		verify_now = --db->parts_left[t->table] == 0;
	pthread_mutex_unlock(&db->lock);
	log_info("loaded %llu rows", (unsigned long long) total);
	rc = 0;
	/* The table is complete: read it back now, while other tables load. */
	if (verify_now && db->verify != VERIFY_NONE)
		rc = archive_import__verify_table(db, t->table, conn, err);
	else if (verify_now)
		archive_import__record_table(db, t->table, NULL, NULL);
	goto out;

rollback:
	{
		pgc_err ignore = PGC_ERR_INIT;
		conn_exec(conn, "ROLLBACK", &ignore);
		err_clear(&ignore);
	}
out:
	free(q);
	free(cols);
	log_set_table(NULL);
	return rc;
}

/* Reads a loaded table back from the target and compares it with the
 * manifest (row count and checksum, or the row count alone); a difference
 * is logged and counted, not an error. */
int
archive_import__verify_table(import_db *db, int table, PGconn *conn, pgc_err *err)
{
	const manifest_table *mt = &db->mdb->tables[table];
	rowhash h;
	rowhash_init(&h);
	bool same;
	if (db->verify == VERIFY_COUNT)
	{
		char *q = conn_qualify(conn, mt->schema, mt->name);
		char *sql = xasprintf("SELECT count(*) FROM %s%s", archive_import_tree(db, conn, table, q) ? "" : "ONLY ", q);
		char *n = conn_query_value(conn, sql, 0, NULL, err);
		free(sql);
		free(q);
		if (!n)
		{
			err_prefix(err, "could not verify table %s.%s: ", mt->schema, mt->name);
			return -1;
		}
		h.rows = strtoull(n, NULL, 10);
		free(n);
		same = h.rows == mt->rows;
	}
	else
	{
		if (archive_import_table_hash(db, conn, table, &h, err) != 0)
		{
			err_prefix(err, "could not verify table %s.%s: ", mt->schema, mt->name);
			return -1;
		}
		same = archive_import_hash_matches(&h, mt->rows, mt->checksum);
	}
	if (!same)
	{
		char hex[ROWHASH_HEX_LEN + 1];
		rowhash_hex(&h, hex);
		char *msg = db->verify == VERIFY_COUNT
			? xasprintf("table %s.%s differs from the archive: expected %llu rows, found %llu",
						mt->schema, mt->name, (unsigned long long) mt->rows, (unsigned long long) h.rows)
			: xasprintf("table %s.%s differs from the archive: expected %llu rows (checksum %s), "
						"found %llu rows (checksum %s)", mt->schema, mt->name,
						(unsigned long long) mt->rows, mt->checksum, (unsigned long long) h.rows, hex);
		log_report(LOG_ERROR, msg, NULL, NULL);
		free(msg);
		pthread_mutex_lock(&db->lock);
		db->ndiff++;
		pthread_mutex_unlock(&db->lock);
	}
	archive_import__record_table(db, table, &h, NULL);
	return 0;
}

/* Runs a unit of the job runner (core/job.h) in the worker's target
 * session: a load that failed before its COMMIT went out is tried again
 * when the failure is connection-class. */
void
archive_import__run_task(job_worker *w, job_db *jd, void *unit)
{
	import_task *t = unit;
	import_db *db = job_db_ctx(jd);
	pgc_err err = PGC_ERR_INIT;
	if (archive_import_failed(db))
		return;
	for (int attempt = 0;; attempt++)
	{
		PGconn *conn = NULL;
		bool commit_sent = false;
		if (job_attach(w, jd, JOB_TARGET, false, &conn, &err) == 0
			&& archive_import_load(db, t, attempt, conn, &commit_sent, &err) == 0)
		{
			progress_unit_done(db->prog, db->index, 0);
			return;
		}
		if (commit_sent || !job_retry(w, &err, attempt, "loading the table"))
			break;
		err_clear(&err);
	}
	archive_import_fail(db, &err);
}

/* Whether the archive's table mt is missing on the target after a pre-data
 * that could not create every object: its rows are then not loaded. */
static bool
archive_import_not_created(PGconn *conn, const manifest_table *mt)
{
	pgc_err e = PGC_ERR_INIT;
	char *q = conn_qualify(conn, mt->schema, mt->name);
	const char *params[] = {q};
	char *v = conn_query_value(conn, "SELECT pg_catalog.to_regclass($1) IS NULL", 1, params, &e);
	bool missing = v && v[0] == 't';
	if (missing)
		log_error("table %s.%s could not be created on the target: its rows are not loaded", mt->schema,
				  mt->name);
	free(v);
	free(q);
	err_clear(&e);
	return missing;
}

/* Which of the archive's tables are partitioned on the target, in one
 * query (db->tree); left to be looked up table by table if it fails. */
static void
archive_import_look_up_trees(import_db *db, PGconn *coord)
{
	int n = db->mdb->ntables;
	db->tree = xmalloc((size_t) n + 1);
	memset(db->tree, -1, (size_t) n + 1);
	char **keys = NULL;
	int nkeys = 0;
	pgc_err e = PGC_ERR_INIT;
	if (catalog_partitioned_tables(coord, &keys, &nkeys, &e) == 0)
	{
		for (int i = 0; i < n; i++)
		{
			char *key = catalog_relation_key(db->mdb->tables[i].schema, db->mdb->tables[i].name);
			db->tree[i] = catalog_key_find(keys, nkeys, key) ? 1 : 0;
			free(key);
		}
	}
	for (int i = 0; i < nkeys; i++)
		free(keys[i]);
	free(keys);
	err_clear(&e);
}

void
archive_import__plan_tables(import_db *db, job_db *jd, PGconn *coord)
{
	bool split = db->mdb->ntables < db->jobs && !db->streamed;
	db->parts_left = xcalloc((size_t) db->mdb->ntables + 1, sizeof(int));
	archive_import_look_up_trees(db, coord);
	for (int i = 0; i < db->mdb->ntables && !archive_import_failed(db); i++)
	{
		const manifest_table *mt = &db->mdb->tables[i];
		if (db->schema_failures.n > 0 && archive_import_not_created(coord, mt))
			continue;
		if (!split || mt->nparts == 1)
		{
			import_task *t = xcalloc(1, sizeof *t);
			*t = (import_task) {.db = db, .table = i, .part = 0, .nparts = mt->nparts, .whole = true};
			job_push(jd, t, (int64_t) mt->rows);
			continue;
		}
		pgc_err e2 = PGC_ERR_INIT;
		bool keep = false;
		rowhash h;
		if (db->resuming)
		{
			if (archive_import_table_hash(db, coord, i, &h, &e2) != 0)
			{
				archive_import_fail(db, &e2);
				break;
			}
			keep = archive_import_hash_matches(&h, mt->rows, mt->checksum);
		}
		if (keep)
		{
			db->skipped++;
			archive_import__record_table(db, i, &h, "loaded earlier");
			continue;
		}
		char *qn, *cols;
		archive_import__names(coord, mt, &qn, &cols);
		char *sql = archive_import__clear_sql(mt, qn, archive_import_tree(db, coord, i, qn));
		if (conn_exec(coord, sql, &e2) != 0)
			archive_import_fail(db, &e2);
		free(sql);
		free(qn);
		free(cols);
		db->parts_left[i] = mt->nparts;
		for (int p = 0; p < mt->nparts; p++)
		{
			import_task *t = xcalloc(1, sizeof *t);
			*t = (import_task) {.db = db, .table = i, .part = p, .nparts = 1, .whole = false};
			job_push(jd, t, (int64_t) (mt->rows / (uint64_t) mt->nparts));
		}
	}
}

int
archive_import__loaded(import_db *db, pgc_err *err)
{
	pthread_mutex_lock(&db->lock);
	bool failed = db->err.set;
	if (failed)
		err_move(err, &db->err);
	pthread_mutex_unlock(&db->lock);
	if (failed)
		return -1;
	if (cleanup_interrupted())
	{
		err_set(err, "import interrupted");
		return -1;
	}
	return 0;
}

/* ------------------------------------------------- sequences, objects */

int
archive_import__sequences(import_db *db, PGconn *conn, pgc_err *err)
{
	for (int i = 0; i < db->mdb->nsequences; i++)
	{
		const manifest_sequence *s = &db->mdb->sequences[i];
		char *q = conn_qualify(conn, s->schema, s->name);
		const char *params[] = {q, s->last_value, s->is_called ? "true" : "false"};
		int rc = conn_exec_params(conn, "SELECT pg_catalog.setval($1::regclass, $2::bigint, $3::boolean)",
								  3, params, err);
		free(q);
		if (rc != 0)
		{
			err_prefix(err, "could not set sequence %s.%s: ", s->schema, s->name);
			return -1;
		}
	}
	return 0;
}

static int
archive_import_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Loads one "oid \t offset \t \\xHEX" row of large-objects.copy. */
static int
archive_import_lo_row(import_db *db, PGconn *conn, char *line, uint32_t *last_oid, buf_t *bin, pgc_err *err)
{
	char *t1 = strchr(line, '\t');
	char *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
	if (!t1 || !t2 || strncmp(t2 + 1, "\\\\x", 3) != 0)
	{
		err_set(err, "archive file \"%s\" holds a malformed row", db->mdb->lo_file);
		return -1;
	}
	*t1 = '\0';
	*t2 = '\0';
	const char *hex = t2 + 4;
	size_t hl = strlen(hex);
	buf_reset(bin);
	buf_reserve(bin, hl / 2 + 1);
	if (hl % 2 != 0)
	{
		err_set(err, "archive file \"%s\" holds a malformed row", db->mdb->lo_file);
		return -1;
	}
	for (size_t i = 0; i < hl; i += 2)
	{
		int a = archive_import_hexval(hex[i]), b = archive_import_hexval(hex[i + 1]);
		if (a < 0 || b < 0)
		{
			err_set(err, "archive file \"%s\" holds a malformed row", db->mdb->lo_file);
			return -1;
		}
		char c = (char) (a * 16 + b);
		buf_append(bin, &c, 1);
	}
	uint32_t oid = (uint32_t) strtoul(line, NULL, 10);
	if (oid != *last_oid)
	{
		const char *p1[] = {line};
		if (conn_exec_params(conn, "SELECT pg_catalog.lo_create($1::oid) WHERE NOT EXISTS "
							 "(SELECT 1 FROM pg_catalog.pg_largeobject_metadata WHERE oid = $1::oid)",
							 1, p1, err) != 0)
			return -1;
		*last_oid = oid;
	}
	const char *values[3] = {line, t1 + 1, bin->data ? bin->data : ""};
	int lengths[3] = {0, 0, (int) bin->len};
	int formats[3] = {0, 0, 1};
	Oid types[3] = {0, 0, IMPORT_BYTEA_OID};
	PGresult *res = PQexecParams(conn, "SELECT pg_catalog.lo_put($1::oid, $2::bigint, $3)", 3, types,
								 values, lengths, formats, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
	{
		conn_err_from_result(err, conn, res, NULL);
		err_prefix(err, "could not write large object %u: ", oid);
		PQclear(res);
		return -1;
	}
	PQclear(res);
	return 0;
}

int
archive_import__large_objects(import_db *db, PGconn *conn, pgc_err *err)
{
	if (!db->mdb->lo_file)
		return 0;
	log_set_table("large objects");
	archive_file_reader *r = archive_file_reader_open(db->root, db->mdb->lo_file, db->compressed, err);
	if (!r)
		return -1;
	char *chunk = xmalloc(IMPORT_READ_CHUNK);
	buf_t line = {0}, bin = {0};
	uint32_t last_oid = 0;
	int rc = conn_exec(conn, "BEGIN", err);
	while (rc == 0)
	{
		ssize_t n = archive_file_reader_read(r, chunk, IMPORT_READ_CHUNK, err);
		if (n < 0)
		{
			rc = -1;
			break;
		}
		if (n == 0)
			break;
		for (ssize_t i = 0; i < n && rc == 0; i++)
		{
			if (chunk[i] != '\n')
			{
				buf_putc(&line, chunk[i]);
				continue;
			}
			rc = archive_import_lo_row(db, conn, line.data ? line.data : (char *) "", &last_oid, &bin, err);
			buf_reset(&line);
		}
	}
	if (rc == 0 && line.len > 0)
	{
		err_set(err, "archive file \"%s\" ends in the middle of a row", db->mdb->lo_file);
		rc = -1;
	}
	if (rc == 0)
		rc = conn_exec(conn, "COMMIT", err);
	else
	{
		pgc_err ignore = PGC_ERR_INIT;
		conn_exec(conn, "ROLLBACK", &ignore);
		err_clear(&ignore);
	}
	archive_file_reader_destroy(r);
	free(chunk);
	buf_free(&line);
	buf_free(&bin);
	log_set_table(NULL);
	return rc;
}

static uint64_t
want_rows_lo(const manifest_db *mdb)
{
	return mdb->lo_file ? mdb->lo_count : 0;
}

/* Compares large objects and sequences with the manifest; counts
 * differences into db->ndiff. */
int
archive_import__verify_rest(import_db *db, PGconn *conn, pgc_err *err)
{
	const manifest_db *mdb = db->mdb;
	if (conn_exec(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ", err) != 0)
		return -1;
	stream_result res;
	memset(&res, 0, sizeof res);
	int rc = stream_large_objects_read(conn, 0, 0, NULL, NULL, NULL, &res, err);
	pgc_err ignore = PGC_ERR_INIT;
	conn_exec(conn, "COMMIT", &ignore);
	err_clear(&ignore);
	if (rc != 0)
		return -1;
	uint64_t want = mdb->lo_file ? mdb->lo_count : 0;
	char hex[ROWHASH_HEX_LEN + 1];
	rowhash_hex(&res.hash, hex);
	if (res.hash.rows != want ||
		(db->verify == VERIFY_FULL && mdb->lo_file && strcmp(hex, mdb->lo_checksum) != 0))
	{
		char *msg = xasprintf("large objects differ from the archive: expected %llu (checksum %s), "
							  "found %llu (checksum %s)", (unsigned long long) want,
							  mdb->lo_file ? mdb->lo_checksum : "-", (unsigned long long) res.hash.rows, hex);
		log_report(LOG_ERROR, msg, NULL, NULL);
		free(msg);
		db->ndiff++;
	}
	if (mdb->lo_file || res.hash.rows > 0)
	{
		rowhash want = archive_import_expected(want_rows_lo(mdb), mdb->lo_file ? mdb->lo_checksum : NULL);
		verify_report_large_objects(db->report, db->name, &want, &res.hash);
		archive_import__recorded(db);
	}
	for (int i = 0; i < mdb->nsequences; i++)
	{
		const manifest_sequence *s = &mdb->sequences[i];
		char *q = conn_qualify(conn, s->schema, s->name);
		char *sql = xasprintf("SELECT last_value::text, is_called FROM %s", q);
		PGresult *r = conn_query(conn, sql, 0, NULL, err);
		free(sql);
		free(q);
		if (!r)
			return -1;
		bool same = PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 0), s->last_value) == 0 &&
			(PQgetvalue(r, 0, 1)[0] == 't') == s->is_called;
		if (!same)
		{
			char *msg = xasprintf("sequence %s.%s differs from the archive: expected %s%s, found %s%s",
								  s->schema, s->name, s->last_value, s->is_called ? "" : " (not called)",
								  PQntuples(r) ? PQgetvalue(r, 0, 0) : "nothing",
								  PQntuples(r) && PQgetvalue(r, 0, 1)[0] != 't' ? " (not called)" : "");
			log_report(LOG_ERROR, msg, NULL, NULL);
			free(msg);
			db->ndiff++;
		}
		char *disp = archive_import__display(s->schema, s->name);
		verify_report_sequence(db->report, db->name, disp, s->last_value, s->is_called,
							   PQntuples(r) ? PQgetvalue(r, 0, 0) : NULL,
							   PQntuples(r) && PQgetvalue(r, 0, 1)[0] == 't');
		archive_import__recorded(db);
		free(disp);
		PQclear(r);
	}
	return 0;
}

