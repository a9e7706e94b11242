/*
 * archive_verify.c: checking an archive against its manifest
 * (archive_verify.h), and the "pgcarry verify-archive" command.
 */
#include "archive/archive_verify.h"

#include <dirent.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "archive/tarstream.h"
#include "cleanup.h"
#include "cli.h"
#include "commands.h"
#include "core/ddl.h"
#include "core/stream.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/xalloc.h"

static void
archive_verify_add(archive_verify_report *r, const char *file, char *message)
{
	r->problems = xrealloc(r->problems, sizeof *r->problems * (size_t) (r->nproblems + 1));
	r->problems[r->nproblems].file = xstrdup(file);
	r->problems[r->nproblems].message = message;
	r->nproblems++;
}

void
archive_verify_report_free(archive_verify_report *r)
{
	for (int i = 0; i < r->nproblems; i++)
	{
		free(r->problems[i].file);
		free(r->problems[i].message);
	}
	free(r->problems);
	memset(r, 0, sizeof *r);
}

/* Is path one of the files the check must look at? */
static bool
archive_verify_wanted(const manifest *m, const char *path, const char *dbname, bool roles)
{
	if (!dbname)
		return true;
	if (m->roles_file && strcmp(path, m->roles_file) == 0)
		return roles;
	for (int i = 0; i < m->ndbs; i++)
		if (strcmp(m->dbs[i].name, dbname) == 0)
		{
			size_t n = strlen(m->dbs[i].dir);
			return strncmp(path, m->dbs[i].dir, n) == 0 && path[n] == '/';
		}
	return false;
}

static void
archive_verify_listed(const manifest_paths *listed, const char *path, archive_verify_report *r)
{
	if (path && !manifest_paths_find(listed, path))
		archive_verify_add(r, path, xasprintf("archive file \"%s\" is not listed in the manifest", path));
}

/* The paths an entry of the manifest (a database's schema, sequences,
 * large objects, a table part, the roles) refers to, sorted. */
static void
archive_verify_referenced(const manifest *m, manifest_paths *out)
{
	manifest_paths_add(out, m->roles_file, NULL);
	for (int i = 0; i < m->ndbs; i++)
	{
		const manifest_db *db = &m->dbs[i];
		manifest_paths_add(out, db->schema_file, NULL);
		manifest_paths_add(out, db->sequences_file, NULL);
		manifest_paths_add(out, db->lo_file, NULL);
		for (int t = 0; t < db->ntables; t++)
			for (int p = 0; p < db->tables[t].nparts; p++)
				manifest_paths_add(out, db->tables[t].parts[p].file, NULL);
	}
	manifest_paths_sort(out);
}

/* Files on disk under root/rel (recursively) that the manifest does not
 * list: a file that nothing checks and nothing loads.  manifest.json and
 * the database.json (and a tar's plan.json) files are the manifest itself. */
static int
archive_verify_walk(const char *root, const char *rel, const manifest_paths *listed, archive_verify_report *r,
					pgc_err *err)
{
	char *dir = rel ? xasprintf("%s/%s", root, rel) : xstrdup(root);
	DIR *d = opendir(dir);
	if (!d)
	{
		int rc = 0;
		if (errno != ENOENT)
		{
			err_set(err, "could not read directory \"%s\": %s", dir, strerror(errno));
			rc = -1;
		}
		free(dir);
		return rc;
	}
	int rc = 0;
	struct dirent *e;
	while (rc == 0 && (e = readdir(d)))
	{
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		char *path = rel ? xasprintf("%s/%s", rel, e->d_name) : xstrdup(e->d_name);
		char *full = xasprintf("%s/%s", root, path);
		struct stat st;
		if (lstat(full, &st) != 0)
		{
			err_set(err, "could not read \"%s\": %s", full, strerror(errno));
			rc = -1;
		}
		else if (S_ISDIR(st.st_mode))
			rc = archive_verify_walk(root, path, listed, r, err);
		else if (!(rel == NULL && strcmp(e->d_name, MANIFEST_NAME) == 0) &&
				 !(rel != NULL && strcmp(e->d_name, MANIFEST_DB_NAME) == 0) &&
				 !(rel != NULL && strcmp(e->d_name, MANIFEST_PLAN_NAME) == 0))
			archive_verify_listed(listed, path, r);
		free(full);
		free(path);
	}
	closedir(d);
	free(dir);
	return rc;
}

/* A table's entry agrees with its parts: it has some, and its row count
 * and checksum are their sum. */
static void
archive_verify_table_sums(const manifest_db *db, const manifest_table *t, archive_verify_report *r)
{
	if (t->nparts == 0)
	{
		archive_verify_add(r, db->schema_file,
						   xasprintf("table %s.%s of database \"%s\" has no data file in the manifest",
									 t->schema, t->name, db->name));
		return;
	}
	rowhash sum;
	manifest_table_sum_parts(t, &sum);
	char hex[ROWHASH_HEX_LEN + 1];
	rowhash_hex(&sum, hex);
	if (sum.rows != t->rows || strcmp(hex, t->checksum) != 0)
		archive_verify_add(r, t->parts[0].file,
						   xasprintf("table %s.%s of database \"%s\" disagrees with its data files in the "
									 "manifest: %llu rows (checksum %s), its parts hold %llu rows "
									 "(checksum %s)", t->schema, t->name, db->name,
									 (unsigned long long) t->rows, t->checksum,
									 (unsigned long long) sum.rows, hex));
}

/* A schema-only archive's database holds what it promises and nothing
 * more: its tables listed without data files, rows or checksums, no
 * sequence values, no large objects.  (A whole or data-only archive's
 * tables must have data files: archive_verify_table_sums.) */
static void
archive_verify_schema_only(const manifest_db *db, archive_verify_report *r)
{
	static const char zero[ROWHASH_HEX_LEN + 1] = "00000000000000000000000000000000";
	for (int t = 0; t < db->ntables; t++)
	{
		const manifest_table *mt = &db->tables[t];
		if (mt->nparts > 0 || mt->rows > 0 || strcmp(mt->checksum, zero) != 0)
			archive_verify_add(r, mt->nparts > 0 ? mt->parts[0].file : db->schema_file,
							   xasprintf("table %s.%s of database \"%s\" has data in the manifest, but the "
										 "archive is schema-only", mt->schema, mt->name, db->name));
	}
	if (db->sequences_file || db->nsequences > 0)
		archive_verify_add(r, db->sequences_file ? db->sequences_file : db->schema_file,
						   xasprintf("database \"%s\" has sequence values in the manifest, but the archive is "
									 "schema-only", db->name));
	if (db->lo_file || db->lo_count > 0)
		archive_verify_add(r, db->lo_file ? db->lo_file : db->schema_file,
						   xasprintf("database \"%s\" has large objects in the manifest, but the archive is "
									 "schema-only", db->name));
}

/* ------------------------------------------------ the schema dump's list */

/* pg_restore writes names in its comments with line breaks made spaces. */
static char *
archive_verify_toc_name(const char *s)
{
	char *out = xstrdup(s && *s ? s : "-");
	for (char *p = out; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	return out;
}

typedef struct archive_verify_toc_table
{
	char	   *header;			/* "Name: N; Type: TABLE; Schema: S; Owner: " */
	bool		partitioned;	/* holds no rows of its own */
	bool		matched;
} archive_verify_toc_table;

/* "Name: N; Type: T; Schema: S; Owner: O" -> "S.N" (type is
 * "; Type: T; Schema: "); owned by the caller, NULL when it is not one. */
static char *
archive_verify_toc_qualified(const char *header, const char *type)
{
	const char *h = header + 6;
	const char *ty = strstr(h, type);
	if (strncmp(header, "Name: ", 6) != 0 || !ty)
		return NULL;
	const char *sc = ty + strlen(type);
	const char *ow = strstr(sc, "; Owner: ");
	return xasprintf("%.*s.%.*s", ow ? (int) (ow - sc) : (int) strlen(sc), sc, (int) (ty - h), h);
}

/* A qualified name as pg_dump writes it in SQL (each part in double quotes
 * when needed) -> "S.N" unquoted, like the headers; NULL if unreadable. */
static char *
archive_verify_sql_name(const char *s, size_t len)
{
	buf_t b = {0};
	const char *p = s, *end = s + len;
	for (int part = 0; part < 2; part++)
	{
		if (p < end && *p == '"')
		{
			for (p++; p < end; p++)
			{
				if (*p == '"' && !(p + 1 < end && p[1] == '"'))
					break;
				buf_putc(&b, *p);
				if (*p == '"')
					p++;
			}
			p++;
		}
		else
			while (p < end && *p != '.')
				buf_putc(&b, *p++);
		if (part == 0)
		{
			if (p >= end || *p != '.')
			{
				buf_free(&b);
				return NULL;
			}
			buf_putc(&b, *p++);
		}
	}
	return b.data ? buf_steal(&b) : NULL;
}

/* A partition and its parent, from a TABLE ATTACH entry, both "S.N". */
typedef struct archive_verify_attach
{
	char	   *child;
	char	   *parent;
} archive_verify_attach;

static int
archive_verify_attach_cmp(const void *a, const void *b)
{
	return strcmp(((const archive_verify_attach *) a)->child, ((const archive_verify_attach *) b)->child);
}

static int
archive_verify_str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

static int
archive_verify_toc_cmp(const void *a, const void *b)
{
	return strcmp(((const archive_verify_toc_table *) a)->header, ((const archive_verify_toc_table *) b)->header);
}

/* Whether table "S.N" lies below one of the roots (sorted, each "S.N")
 * through the attach list (sorted by child; partitions of partitions
 * included). */
static bool
archive_verify_below(const char *table, char *const *roots, int nroots, const archive_verify_attach *at, int nat)
{
	const char *cur = table;
	for (int depth = 0; depth < 64 && cur && nat > 0; depth++)
	{
		archive_verify_attach key = {.child = (char *) cur};
		const archive_verify_attach *up = bsearch(&key, at, (size_t) nat, sizeof *at, archive_verify_attach_cmp);
		if (!up)
			return false;
		if (nroots > 0 && bsearch(&up->parent, roots, (size_t) nroots, sizeof *roots, archive_verify_str_cmp))
			return true;
		cur = up->parent;
	}
	return false;
}

/* The first entry of toc (sorted by header) not yet matched whose header
 * begins with want, or NULL.  Entries sharing a prefix sit together. */
static archive_verify_toc_table *
archive_verify_toc_find(archive_verify_toc_table *toc, int ntoc, const char *want)
{
	size_t wl = strlen(want);
	int lo = 0, hi = ntoc;
	while (lo < hi)
	{
		int mid = lo + (hi - lo) / 2;
		if (strcmp(toc[mid].header, want) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (int k = lo; k < ntoc && strncmp(toc[k].header, want, wl) == 0; k++)
		if (!toc[k].matched)
			return &toc[k];
	return NULL;
}

/*
 * The tables the schema dump holds rows for, from pg_dump's own table of
 * contents: every TABLE entry of schema.dump (as pg_restore prints them),
 * except partitioned tables (their rows live in their partitions).  The
 * dump has no TABLE DATA entries (it is made without its data section), so
 * the TABLE entries stand for them.  Compares them with the database's
 * tables in the manifest, both ways.  A manifest table that is partitioned
 * in the dump is a tree whose rows load through its root (catalog.h:
 * their hash differs between clusters): it stands for every partition the
 * dump's TABLE ATTACH entries place below it.  Returns 0 (problems into r), or -1
 * with err set when pg_restore could not run.
 */
static int
archive_verify_toc(const char *root, const manifest_db *db, archive_verify_report *r, pgc_err *err)
{
	char *file = xasprintf("%s/%s", root, db->schema_file);
	char *prog = ddl_tools_path(NULL, "pg_restore");
	const char *argv[] = {prog, "--section=pre-data", "-f", "-", file, NULL};
	buf_t out = {0}, errout = {0};
	ddl_child_io io = {.out = &out, .errout = &errout};
	int st = ddl_run(argv, &io, err);
	int rc = 0;
	if (st < 0)
		rc = -1;
	else if (st != 0)
	{
		char *lines = ddl_error_lines(errout.data, 5);
		archive_verify_add(r, db->schema_file,
						   xasprintf("archive file \"%s\" is not a schema dump pg_restore can read: %s",
									 db->schema_file, lines));
		free(lines);
	}
	archive_verify_toc_table *toc = NULL;
	int ntoc = 0, toc_cap = 0;
	archive_verify_attach *at = NULL;
	int nat = 0, at_cap = 0;
	const char *text = out.data ? out.data : "";
	static const char head[] = "\n-- Name: ";
	static const char type[] = "; Type: TABLE; Schema: ";
	static const char attach_type[] = "; Type: TABLE ATTACH; Schema: ";
	static const char attach_sql[] = "ALTER TABLE ONLY ";
	static const char attach_kw[] = " ATTACH PARTITION ";
	for (const char *p = st == 0 ? strstr(text, head) : NULL; p;)
	{
		const char *line = p + 4;	/* "Name: ..." */
		const char *eol = strchr(line, '\n');
		const char *next = strstr(line, head);
		if (!eol)
			break;
		char *hdr = xstrndup(line, (size_t) (eol - line));
		/* The entry's text runs to the next header: a partitioned table's
		 * CREATE TABLE ends with ")\nPARTITION BY ...". */
		char *body = xstrndup(eol, next ? (size_t) (next - eol) : strlen(eol));
		const char *a = strstr(hdr, attach_type) ? strstr(body, attach_sql) : NULL;
		const char *k = a ? strstr(a, attach_kw) : NULL;
		if (strstr(hdr, type))
		{
			if (ntoc == toc_cap)
			{
				toc_cap = toc_cap ? 2 * toc_cap : 256;
				toc = xrealloc(toc, sizeof *toc * (size_t) toc_cap);
			}
			toc[ntoc].header = hdr;
			toc[ntoc].partitioned = strstr(body, "\n)\nPARTITION BY ") != NULL;
			toc[ntoc].matched = false;
			ntoc++;
		}
		else if (k)
		{
			char *child = archive_verify_toc_qualified(hdr, attach_type);
			char *parent = archive_verify_sql_name(a + strlen(attach_sql),
												   (size_t) (k - a - (ptrdiff_t) strlen(attach_sql)));
			if (child && parent)
			{
				if (nat == at_cap)
				{
					at_cap = at_cap ? 2 * at_cap : 64;
					at = xrealloc(at, sizeof *at * (size_t) at_cap);
				}
				at[nat].child = child;
				at[nat].parent = parent;
				nat++;
			}
			else
			{
				free(child);
				free(parent);
			}
			free(hdr);
		}
		else
			free(hdr);
		free(body);
		p = next;
	}
	/* Sorted, so that each table of the manifest is found by a binary
	 * search: a linear scan per table made this quadratic in the tables. */
	if (ntoc > 1)
		qsort(toc, (size_t) ntoc, sizeof *toc, archive_verify_toc_cmp);
	if (nat > 1)
		qsort(at, (size_t) nat, sizeof *at, archive_verify_attach_cmp);
	char	  **roots = NULL;
	int			nroots = 0, roots_cap = 0;
	for (int t = 0; st == 0 && t < db->ntables; t++)
	{
		const manifest_table *mt = &db->tables[t];
		/* An extension's configuration table: CREATE EXTENSION makes it. */
		if (mt->ext_config)
			continue;
		char *n = archive_verify_toc_name(mt->name), *s = archive_verify_toc_name(mt->schema);
		char *want = xasprintf("Name: %s%s%s; Owner: ", n, type, s);
		archive_verify_toc_table *found = archive_verify_toc_find(toc, ntoc, want);
		if (found)
		{
			found->matched = true;
			/* A partitioned table: its partitions' rows are in its file. */
			char *root = found->partitioned ? archive_verify_toc_qualified(found->header, type) : NULL;
			if (root)
			{
				if (nroots == roots_cap)
				{
					roots_cap = roots_cap ? 2 * roots_cap : 16;
					roots = xrealloc(roots, sizeof *roots * (size_t) roots_cap);
				}
				roots[nroots++] = root;
			}
		}
		else
			archive_verify_add(r, db->schema_file,
							   xasprintf("table %s.%s of the manifest is not in the schema dump of database \"%s\"",
										 mt->schema, mt->name, db->name));
		free(want);
		free(n);
		free(s);
	}
	if (nroots > 1)
		qsort(roots, (size_t) nroots, sizeof *roots, archive_verify_str_cmp);
	for (int k = 0; nroots > 0 && k < ntoc; k++)
		if (!toc[k].partitioned && !toc[k].matched)
		{
			char *q = archive_verify_toc_qualified(toc[k].header, type);
			if (q && archive_verify_below(q, roots, nroots, at, nat))
				toc[k].matched = true;
			free(q);
		}
	for (int k = 0; k < nroots; k++)
		free(roots[k]);
	free(roots);
	for (int k = 0; k < ntoc; k++)
	{
		if (!toc[k].matched && !toc[k].partitioned)
		{
			char *name = archive_verify_toc_qualified(toc[k].header, type);
			archive_verify_add(r, db->schema_file,
							   xasprintf("table %s is in the schema dump of database \"%s\" but not in the "
										 "manifest", name, db->name));
			free(name);
		}
		free(toc[k].header);
	}
	free(toc);
	for (int i = 0; i < nat; i++)
	{
		free(at[i].child);
		free(at[i].parent);
	}
	free(at);
	buf_free(&out);
	buf_free(&errout);
	free(prog);
	free(file);
	return rc;
}

/* ------------------------------------------------ the data, recomputed */

static bool
archive_verify_has_problem(const archive_verify_report *r, const char *file)
{
	for (int i = 0; file && i < r->nproblems; i++)
		if (strcmp(r->problems[i].file, file) == 0)
			return true;
	return false;
}


#define ARCHIVE_VERIFY_CHUNK (256 * 1024)

/* Reads a data file whole, decompressing it, and hashes its COPY rows as
 * import does.  Returns 0 with *h set, 1 with a problem recorded (the file
 * is damaged), or -1 with err set. */
static int
archive_verify_hash_file(const char *root, const archive_stream_files *seen, const char *rel, bool compressed,
						 rowhash *h, archive_verify_report *r, pgc_err *err)
{
	(void) err;
	const archive_stream_file *sf = archive_stream_files_find(seen, rel);
	if (sf && sf->hashed)
	{
		*h = sf->rows;			/* hashed as it went by */
		return 0;
	}
	if (sf)
	{
		archive_verify_add(r, rel, xasprintf("archive file \"%s\" cannot be read: %s", rel,
											 sf->problem ? sf->problem : "it was not read whole"));
		return 1;
	}
	pgc_err e = PGC_ERR_INIT;
	archive_file_reader *rd = archive_file_reader_open(root, rel, compressed, &e);
	stream_hasher hs;
	stream_hasher_init(&hs, STREAM_TEXT);
	char *buf = xmalloc(ARCHIVE_VERIFY_CHUNK);
	ssize_t n = rd ? 1 : -1;
	while (n > 0)
	{
		n = archive_file_reader_read(rd, buf, ARCHIVE_VERIFY_CHUNK, &e);
		if (n > 0)
			stream_hasher_feed(&hs, buf, (size_t) n);
	}
	int rc = 0;
	if (n < 0 || stream_hasher_finish(&hs, h, &e) != 0)
	{
		archive_verify_add(r, rel, xasprintf("archive file \"%s\" cannot be read: %s", rel,
											 e.message ? e.message : "unknown error"));
		rc = 1;
	}
	err_clear(&e);
	stream_hasher_free(&hs);
	archive_file_reader_destroy(rd);
	free(buf);
	return rc;
}

/* Every data file of db read and its rows counted and hashed against the
 * manifest's part; the large objects file's rows counted. */
static int
archive_verify_data(const char *root, const archive_stream_files *seen, const manifest *m, const manifest_db *db,
					archive_verify_report *r, pgc_err *err)
{
	bool compressed = m->compression && strcmp(m->compression, "zstd") == 0;
	for (int t = 0; t < db->ntables; t++)
		for (int p = 0; p < db->tables[t].nparts; p++)
		{
			const manifest_part *mp = &db->tables[t].parts[p];
			if (archive_verify_has_problem(r, mp->file))
				continue;		/* damaged or missing: said already */
			rowhash h;
			int rc = archive_verify_hash_file(root, seen, mp->file, compressed, &h, r, err);
			if (rc < 0)
				return -1;
			char hex[ROWHASH_HEX_LEN + 1];
			rowhash_hex(&h, hex);
			if (rc == 0 && (h.rows != mp->rows || strcmp(hex, mp->checksum) != 0))
				archive_verify_add(r, mp->file,
								   xasprintf("archive file \"%s\" does not match the manifest: expected %llu "
											 "rows (checksum %s), found %llu rows (checksum %s)", mp->file,
											 (unsigned long long) mp->rows, mp->checksum,
											 (unsigned long long) h.rows, hex));
		}
	if (db->lo_file && !archive_verify_has_problem(r, db->lo_file))
	{
		rowhash h;
		int rc = archive_verify_hash_file(root, seen, db->lo_file, compressed, &h, r, err);
		if (rc < 0)
			return -1;
		if (rc == 0 && h.rows != db->lo_rows)
			archive_verify_add(r, db->lo_file,
							   xasprintf("archive file \"%s\" does not match the manifest: expected %llu "
										 "rows of large object data, found %llu", db->lo_file,
										 (unsigned long long) db->lo_rows, (unsigned long long) h.rows));
	}
	return 0;
}

int
archive_verify_run(const char *root, const manifest *m, const char *dbname, bool roles,
				   unsigned flags, archive_verify_report *r, pgc_err *err)
{
	return archive_verify_run_seen(root, m, NULL, dbname, roles, flags, r, err);
}

int
archive_verify_run_seen(const char *root, const manifest *m, const archive_stream_files *seen,
						const char *dbname, bool roles, unsigned flags, archive_verify_report *r, pgc_err *err)
{
	bool stop_at_first = flags & ARCHIVE_VERIFY_FIRST;
	manifest_paths listed = {0}, referenced = {0};
	int			walk_rc = 0;
	bool		stopped = false;
#define ARCHIVE_VERIFY_STOP() do { if (stop_at_first && r->nproblems) { stopped = true; goto listed_done; } } while (0)
	manifest_paths_of_files(&listed, m->files, m->nfiles);
	/* Files a database refers to must be listed, or they are unchecked;
	 * a table must have its files, and add up to them. */
	for (int i = 0; i < m->ndbs; i++)
	{
		const manifest_db *db = &m->dbs[i];
		if (dbname && strcmp(db->name, dbname) != 0)
			continue;
		archive_verify_listed(&listed, db->schema_file, r);
		archive_verify_listed(&listed, db->sequences_file, r);
		archive_verify_listed(&listed, db->lo_file, r);
		for (int t = 0; t < db->ntables; t++)
		{
			for (int p = 0; p < db->tables[t].nparts; p++)
				archive_verify_listed(&listed, db->tables[t].parts[p].file, r);
			if (m->content != MANIFEST_SCHEMA_ONLY)
				archive_verify_table_sums(db, &db->tables[t], r);
		}
		if (m->content == MANIFEST_SCHEMA_ONLY)
			archive_verify_schema_only(db, r);
		ARCHIVE_VERIFY_STOP();
	}
	if (roles || !dbname)
		archive_verify_listed(&listed, m->roles_file, r);

	/* Every file listed belongs to an entry, and every file on disk is
	 * listed: a data file whose table left the manifest is found. */
	archive_verify_referenced(m, &referenced);
	for (int i = 0; i < m->nfiles; i++)
		if (archive_verify_wanted(m, m->files[i].path, dbname, roles) &&
			!manifest_paths_find(&referenced, m->files[i].path))
			archive_verify_add(r, m->files[i].path,
							   xasprintf("archive file \"%s\" belongs to no table or other entry of the manifest",
										 m->files[i].path));
	for (int i = 0; dbname && i < m->ndbs && walk_rc == 0; i++)
		if (strcmp(m->dbs[i].name, dbname) == 0 && archive_verify_walk(root, m->dbs[i].dir, &listed, r, err) != 0)
			walk_rc = -1;
	if (walk_rc == 0 && !dbname && archive_verify_walk(root, NULL, &listed, r, err) != 0)
		walk_rc = -1;
	/* The data files that went by in a tar stream, as if on disk. */
	for (int i = 0; seen && i < seen->n; i++)
		if (archive_verify_wanted(m, seen->items[i].path, dbname, roles))
			archive_verify_listed(&listed, seen->items[i].path, r);
listed_done:
	manifest_paths_free(&listed);
	manifest_paths_free(&referenced);
	if (walk_rc != 0)
		return -1;
	if (stopped)
		return 0;
#undef ARCHIVE_VERIFY_STOP
#define ARCHIVE_VERIFY_STOP() do { if (stop_at_first && r->nproblems) return 0; } while (0)
	ARCHIVE_VERIFY_STOP();

	for (int i = 0; i < m->nfiles; i++)
	{
		ARCHIVE_VERIFY_STOP();
		const manifest_file *f = &m->files[i];
		if (!archive_verify_wanted(m, f->path, dbname, roles))
			continue;
		archive_file_info got;
		const archive_stream_file *sf = archive_stream_files_find(seen, f->path);
		int rc = 0;
		if (sf)
			got = sf->info;
		else
		{
			char *path = xasprintf("%s/%s", root, f->path);
			rc = archive_file_checksum(path, &got, err);
			free(path);
		}
		if (rc < 0)
			return -1;
		r->nfiles++;
		if (rc == 1)
		{
			archive_verify_add(r, f->path, xasprintf("archive file \"%s\" is missing", f->path));
			continue;
		}
		r->bytes += got.size;
		if (sf && sf->problem)
			archive_verify_add(r, f->path, xasprintf("archive file \"%s\" cannot be read: %s", f->path,
													 sf->problem));
		else if (got.size != f->info.size)
			archive_verify_add(r, f->path,
							   xasprintf("archive file \"%s\" has the wrong size: expected %llu bytes, found %llu",
										 f->path, (unsigned long long) f->info.size,
										 (unsigned long long) got.size));
		else if (strcmp(got.sha256, f->info.sha256) != 0)
			archive_verify_add(r, f->path,
							   xasprintf("archive file \"%s\" has the wrong checksum: expected sha256 %s, found %s",
										 f->path, f->info.sha256, got.sha256));
	}
	ARCHIVE_VERIFY_STOP();

	/* Against what pgcarry did not write: pg_dump's table of contents; and
	 * with ARCHIVE_VERIFY_DATA, the rows themselves. */
	for (int i = 0; i < m->ndbs; i++)
	{
		const manifest_db *db = &m->dbs[i];
		if (dbname && strcmp(db->name, dbname) != 0)
			continue;
		if ((flags & ARCHIVE_VERIFY_SCHEMA) && !archive_verify_has_problem(r, db->schema_file) &&
			archive_verify_toc(root, db, r, err) != 0)
			return -1;
		ARCHIVE_VERIFY_STOP();
		if ((flags & ARCHIVE_VERIFY_DATA) && archive_verify_data(root, seen, m, db, r, err) != 0)
			return -1;
		ARCHIVE_VERIFY_STOP();
	}
#undef ARCHIVE_VERIFY_STOP
	return 0;
}

/* ---------------------------------------------------- verify-archive */

static void
archive_verify_help(void)
{
	printf("pgcarry verify-archive checks a pgcarry archive without a server.\n"
		   "\n"
		   "Usage:\n"
		   "  pgcarry verify-archive PATH\n"
		   "\n"
		   "PATH is an archive directory or a tar archive (\"-\" reads the tar from\n"
		   "standard input).  Checks that the manifest is well formed; that every\n"
		   "file it lists is there with the right size and SHA-256, and every file\n"
		   "there is listed; that each database's tables are the ones its schema dump\n"
		   "(pg_dump's table of contents) holds; and reads every data file again to\n"
		   "count and checksum its rows against the manifest.  A schema-only archive\n"
		   "must hold no data (no data files, sequence values or large objects); a\n"
		   "data-only one is checked as a whole one.\n"
		   "\n"
		   "Exit status: 0 the archive is whole, 3 problems were found (each named),\n"
		   "1 the check could not run, 2 usage error.\n"
		   "\n%s", cli_common_help);
}

int
cmd_verify_archive(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{NULL, 0, NULL, 0}
	};
	int opt;
	optind = 1;
	while ((opt = getopt_long(argc, argv, ":" CLI_COMMON_SHORTOPTS, longopts, NULL)) != -1)
	{
		switch (opt)
		{
			default:
			{
				int c = cli_other_option("verify-archive", opt, argv);
				if (c < 0)
				{
					archive_verify_help();
					return EXIT_OK;
				}
				if (c != 0)
					return c;
			}
		}
	}
	if (optind >= argc)
		return cli_usage_error("verify-archive", "give the archive to check");
	if (optind + 1 < argc)
		return cli_usage_error("verify-archive", "unexpected argument \"%s\"", argv[optind + 1]);
	const char *path = argv[optind];

	pgc_err err = PGC_ERR_INIT;
	const char *root = path;
	char *unpacked = NULL;		/* a tar's small files, in the private directory */
	archive_stream_files seen = {0};	/* a tar's data files, as they went by */
	struct stat st;
	if (strcmp(path, "-") != 0 && stat(path, &st) != 0)
	{
		err_set(&err, "archive \"%s\" does not exist", path);
		err_report(&err);
		err_clear(&err);
		return EXIT_FAIL;
	}
	if (strcmp(path, "-") == 0 || !S_ISDIR(st.st_mode))
	{
		const char *tmp = cleanup_private_tmpdir(&err);
		if (!tmp)
		{
			err_report(&err);
			err_clear(&err);
			return EXIT_FAIL;
		}
		/* Apart from any other file of the private directory: every file
		 * of the archive's tree is checked against the manifest. */
		unpacked = xasprintf("%s/archive", tmp);
		if (archive_file_mkdirs(tmp, "archive", &err) != 0)
		{
			err_report(&err);
			err_clear(&err);
			free(unpacked);
			return EXIT_FAIL;
		}
		/* Data files are checked as they go by, never kept. */
		if (archive_stream_read(path, unpacked, NULL, NULL, &seen, &err) != 0)
		{
			/* A damaged tar is a finding (3); no room to check it is not. */
			bool room = err.message && strstr(err.message, ARCHIVE_STREAM_SCRATCH_ENV);
			err_report(&err);
			err_clear(&err);
			archive_stream_files_free(&seen);
			free(unpacked);
			return room ? EXIT_FAIL : EXIT_DIFFERENT;
		}
		root = unpacked;
	}
	manifest *m = manifest_read(root, &err);
	if (!m)
	{
		if (root != path && err.message && strstr(err.message, "has no " MANIFEST_NAME))
		{
			/* Name the tar the user gave, not the temporary directory. */
			err_clear(&err);
			err_set(&err, "archive \"%s\" has no %s", path, MANIFEST_NAME);
			err_detail(&err, "The tar stream ends before its manifest: it was cut short, or the export did not finish.");
		}
		err_report(&err);
		err_clear(&err);
		archive_stream_files_free(&seen);
		free(unpacked);
		return EXIT_DIFFERENT;
	}
	archive_verify_report rep = {0};
	int rc;
	if (archive_verify_run_seen(root, m, &seen, NULL, true, ARCHIVE_VERIFY_DATA | ARCHIVE_VERIFY_SCHEMA, &rep,
								&err) != 0)
	{
		err_report(&err);
		rc = EXIT_FAIL;
	}
	else if (rep.nproblems > 0)
	{
		for (int i = 0; i < rep.nproblems; i++)
			log_report(LOG_ERROR, rep.problems[i].message, NULL, NULL);
		char *msg = xasprintf("archive \"%s\" failed verification: %d problem%s", path,
							  rep.nproblems, rep.nproblems == 1 ? "" : "s");
		log_report(LOG_ERROR, msg, NULL,
				   "Copy the archive again from where it came from, or export it again.");
		free(msg);
		rc = EXIT_DIFFERENT;
	}
	else
	{
		int ntables = 0;
		for (int i = 0; i < m->ndbs; i++)
			ntables += m->dbs[i].ntables;
		printf("archive %s is whole%s: %d database%s, %d table%s, %d files, %llu bytes checked\n",
			   path, m->content == MANIFEST_SCHEMA_ONLY ? " (schema only)"
			   : m->content == MANIFEST_DATA_ONLY ? " (data only)" : "",
			   m->ndbs, m->ndbs == 1 ? "" : "s", ntables, ntables == 1 ? "" : "s",
			   rep.nfiles, rep.bytes);
		rc = EXIT_OK;
	}
	archive_verify_report_free(&rep);
	manifest_destroy(m);
	err_clear(&err);
	archive_stream_files_free(&seen);
	free(unpacked);
	return rc;
}
