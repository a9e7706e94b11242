/*
 * manifest.c: reading, validating and writing manifest.json (manifest.h).
 *
 * The JSON shape is documented in docs/archive-format.md.  Reading goes
 * through small typed getters that name the JSON path of the first field
 * that is missing or of the wrong type, so a hand-edited or damaged
 * manifest gets one precise error.
 */
#include "archive/manifest.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/fault.h"
#include "util/rowhash.h"
#include "util/xalloc.h"
#include "version.h"

/* ------------------------------------------------------------ records */

const char *
manifest_content_name(manifest_content c)
{
	switch (c)
	{
		case MANIFEST_SCHEMA_ONLY:
			return "schema-only";
		case MANIFEST_DATA_ONLY:
			return "data-only";
		case MANIFEST_WHOLE:
			break;
	}
	return "whole";
}

manifest *
manifest_create(void)
{
	manifest *m = xcalloc(1, sizeof *m);
	m->format_version = MANIFEST_FORMAT_VERSION;
	m->pgcarry_version = xstrdup(PGCARRY_VERSION);
	return m;
}

/* Grows the array at each power of two (0, 1, 2, 4, ...): appending n
 * entries copies O(n) of them, not O(n^2). */
#define MANIFEST_APPEND(arr, n) \
	(((n) & ((n) - 1)) == 0 ? ((arr) = xrealloc((arr), sizeof *(arr) * (size_t) ((n) ? 2 * (n) : 1))) : (arr), \
	 memset(&(arr)[(n)], 0, sizeof *(arr)), &(arr)[(n)++])

manifest_db *
manifest_add_db(manifest *m)
{
	return MANIFEST_APPEND(m->dbs, m->ndbs);
}

manifest_table *
manifest_db_add_table(manifest_db *db)
{
	return MANIFEST_APPEND(db->tables, db->ntables);
}

manifest_part *
manifest_table_add_part(manifest_table *t)
{
	return MANIFEST_APPEND(t->parts, t->nparts);
}

manifest_sequence *
manifest_db_add_sequence(manifest_db *db)
{
	return MANIFEST_APPEND(db->sequences, db->nsequences);
}

manifest_file *
manifest_add_file(manifest_file **files, int *nfiles, const char *path, const archive_file_info *info)
{
	manifest_file *f = MANIFEST_APPEND(*files, *nfiles);
	f->path = xstrdup(path);
	if (info)
		f->info = *info;
	return f;
}

static void
manifest_files_free(manifest_file *files, int n)
{
	for (int i = 0; i < n; i++)
		free(files[i].path);
	free(files);
}

void
manifest_db_clear(manifest_db *db)
{
	free(db->name);
	free(db->dir);
	free(db->encoding);
	free(db->lc_collate);
	free(db->lc_ctype);
	free(db->owner);
	free(db->schema_file);
	free(db->sequences_file);
	for (int i = 0; i < db->ntables; i++)
	{
		manifest_table *t = &db->tables[i];
		free(t->schema);
		free(t->name);
		free(t->condition);
		for (int c = 0; c < t->ncolumns; c++)
			free(t->columns[c]);
		free(t->columns);
		for (int p = 0; p < t->nparts; p++)
			free(t->parts[p].file);
		free(t->parts);
	}
	free(db->tables);
	for (int i = 0; i < db->nsequences; i++)
	{
		free(db->sequences[i].schema);
		free(db->sequences[i].name);
		free(db->sequences[i].last_value);
	}
	free(db->sequences);
	free(db->lo_file);
	manifest_files_free(db->files, db->nfiles);
	memset(db, 0, sizeof *db);
}

void
manifest_destroy(manifest *m)
{
	if (!m)
		return;
	free(m->pgcarry_version);
	free(m->created_at);
	free(m->server_version);
	free(m->compression);
	free(m->roles_file);
	for (int i = 0; i < m->ndbs; i++)
		manifest_db_clear(&m->dbs[i]);
	free(m->dbs);
	manifest_files_free(m->files, m->nfiles);
	free(m);
}

void
manifest_table_sum_parts(const manifest_table *t, rowhash *sum)
{
	rowhash_init(sum);
	for (int p = 0; p < t->nparts; p++)
	{
		rowhash ph;
		rowhash_init(&ph);
		rowhash_parse_hex(&ph, t->parts[p].checksum);
		ph.rows = t->parts[p].rows;
		rowhash_merge(sum, &ph);
	}
}

void
manifest_paths_add(manifest_paths *s, const char *path, const void *item)
{
	if (!path)
		return;
	if (s->n == s->cap)
	{
		s->cap = s->cap ? 2 * s->cap : 64;
		s->v = xrealloc(s->v, sizeof *s->v * (size_t) s->cap);
	}
	s->v[s->n++] = (manifest_path) {path, item};
}

void
manifest_paths_of_files(manifest_paths *s, const manifest_file *files, int nfiles)
{
	for (int i = 0; i < nfiles; i++)
		manifest_paths_add(s, files[i].path, &files[i]);
	manifest_paths_sort(s);
}

static int
manifest_path_cmp(const void *a, const void *b)
{
	return strcmp(((const manifest_path *) a)->path, ((const manifest_path *) b)->path);
}

void
manifest_paths_sort(manifest_paths *s)
{
	if (s->n > 1)
		qsort(s->v, (size_t) s->n, sizeof *s->v, manifest_path_cmp);
}

const manifest_path *
manifest_paths_find(const manifest_paths *s, const char *path)
{
	if (!path || s->n == 0)
		return NULL;
	manifest_path key = {path, NULL};
	return bsearch(&key, s->v, (size_t) s->n, sizeof *s->v, manifest_path_cmp);
}

void
manifest_paths_free(manifest_paths *s)
{
	free(s->v);
	memset(s, 0, sizeof *s);
}

/* ------------------------------------------------------------- to JSON */

/*
 * Building a document: every jansson call can fail (a string that is not
 * UTF-8, memory), and one failure must not leave an entry out silently.
 * The builder keeps the first failure (sticky): later calls do nothing, and
 * the document is never written.
 */
/*
 * A long array of a document (a database's tables, a list of files): in the
 * tree only a placeholder string stands for it, and manifest_write_json
 * writes its elements one by one where the placeholder is, so that a
 * manifest of 100,000 tables is never held whole as JSON.
 */
typedef struct manifest_list
{
	const manifest_db *db;		/* its tables; NULL: files */
	const manifest_file *files;
	int			nfiles;
	char	   *path;			/* in the document, for messages */
} manifest_list;

typedef struct manifest_builder
{
	const char *doc;			/* "manifest.json", for messages */
	pgc_err    *err;
	bool		failed;
	manifest_list *lists;		/* placeholders made, by number */
	int			nlists;
} manifest_builder;

/* The placeholder of list number i, as it is in the tree and, quoted and
 * escaped by jansson, in the text: a control character, a random key of
 * the process (so that no name in the document can pass for one), the
 * number. */
#define MANIFEST_LIST_MARK "\x01list-%016llx-"
#define MANIFEST_LIST_MARK_TEXT "\"\\u0001list-%016llx-"

static unsigned long long manifest_list_key_value;
static pthread_once_t manifest_list_key_once = PTHREAD_ONCE_INIT;

static void
manifest_list_key_init(void)
{
	unsigned long long k = 0;
	if (getrandom(&k, sizeof k, 0) != (ssize_t) sizeof k)
		k = (unsigned long long) time(NULL) * 6364136223846793005ULL ^ (unsigned long long) getpid();
	manifest_list_key_value = k;
}

static unsigned long long
manifest_list_key(void)
{
	pthread_once(&manifest_list_key_once, manifest_list_key_init);
	return manifest_list_key_value;
}

static void
manifest_build_fail(manifest_builder *b, const char *path)
{
	if (b->failed)
		return;
	b->failed = true;
	err_set(b->err, "could not record %s in the archive's %s", path, b->doc);
	err_detail(b->err, "The JSON library refused the value.");
	err_hint(b->err, "Nothing was written for it; the export does not finish without it.");
}

/* Takes v (may be NULL: a failed jansson call) into object o under key. */
static void
manifest_build_set(manifest_builder *b, json_t *o, const char *key, json_t *v, const char *path)
{
	if (b->failed || !o)
		json_decref(v);
	/* json_object_set_new takes v even when it fails. */
	if (!b->failed && (!o || !v || json_object_set_new(o, key, v) != 0))
	{
		char *p = xasprintf("%s.%s", path, key);
		manifest_build_fail(b, p);
		free(p);
	}
}

/* Takes v (may be NULL) onto array a. */
static void
manifest_build_append(manifest_builder *b, json_t *a, json_t *v, const char *path)
{
	if (b->failed || !a)
		json_decref(v);
	if (!b->failed && (!a || !v || json_array_append_new(a, v) != 0))
		manifest_build_fail(b, path);
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when there is none. */
static size_t
manifest_utf8_len(const unsigned char *s)
{
	unsigned char c = s[0];
	if (c < 0x80)
		return 1;
	size_t n;
	uint32_t cp;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, cp = c & 0x07;
	else
		return 0;
	for (size_t i = 1; i < n; i++)
	{
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return n;
}

static bool
manifest_utf8_valid(const char *s)
{
	for (const unsigned char *p = (const unsigned char *) s; *p;)
	{
		size_t n = manifest_utf8_len(p);
		if (n == 0)
			return false;
		p += n;
	}
	return true;
}

/* The readable form of a name that is not UTF-8: each byte that is not
 * part of a valid sequence becomes U+FFFD.  Owned by the caller. */
static char *
manifest_readable(const char *s)
{
	buf_t b = {0};
	for (const unsigned char *p = (const unsigned char *) s; *p;)
	{
		size_t n = manifest_utf8_len(p);
		if (n == 0)
		{
			buf_puts(&b, "\xef\xbf\xbd");
			p++;
		}
		else
		{
			buf_append(&b, p, n);
			p += n;
		}
	}
	return b.data ? buf_steal(&b) : xstrdup("");
}

static char *
manifest_hex(const char *s)
{
	static const char hx[] = "0123456789abcdef";
	size_t n = strlen(s);
	char *out = xmalloc(n * 2 + 1);
	for (size_t i = 0; i < n; i++)
	{
		out[2 * i] = hx[(unsigned char) s[i] >> 4];
		out[2 * i + 1] = hx[(unsigned char) s[i] & 15];
	}
	out[2 * n] = '\0';
	return out;
}

/* A string as JSON, or null for NULL; NULL when jansson refuses it. */
static json_t *
manifest_str(const char *s)
{
	return s ? json_string(s) : json_null();
}

/*
 * A name from the server, in the database's encoding: as it is when it is
 * UTF-8, otherwise a readable form under key and the exact bytes in hex
 * under key_hex (docs/archive-format.md, "Names in any encoding").
 */
static void
manifest_build_name(manifest_builder *b, json_t *o, const char *key, const char *name, const char *path)
{
	if (!name || manifest_utf8_valid(name))
	{
		manifest_build_set(b, o, key, manifest_str(name), path);
		return;
	}
	char *readable = manifest_readable(name);
	char *hex = manifest_hex(name);
	char *hkey = xasprintf("%s_hex", key);
	manifest_build_set(b, o, key, json_string(readable), path);
	manifest_build_set(b, o, hkey, json_string(hex), path);
	free(hkey);
	free(hex);
	free(readable);
}

/* A placeholder for a list (manifest_list): the tables of db, or files. */
static json_t *
manifest_list_mark(manifest_builder *b, const manifest_db *db, const manifest_file *files, int nfiles,
				   const char *path)
{
	b->lists = xrealloc(b->lists, (size_t) (b->nlists + 1) * sizeof *b->lists);
	b->lists[b->nlists] = (manifest_list) {db, files, nfiles, xstrdup(path)};
	char *mark = xasprintf(MANIFEST_LIST_MARK "%d", manifest_list_key(), b->nlists++);
	json_t *v = json_string(mark);
	free(mark);
	return v;
}

static void
manifest_builder_free(manifest_builder *b)
{
	for (int i = 0; i < b->nlists; i++)
		free(b->lists[i].path);
	free(b->lists);
}

static json_t *
manifest_file_json(const manifest_file *f)
{
	return json_pack("{s:s, s:I, s:s}", "path", f->path, "size", (json_int_t) f->info.size,
					 "sha256", f->info.sha256);
}

static json_t *
manifest_table_json(manifest_builder *b, const manifest_table *t, const char *tp)
{
	json_t *o = json_object();
	manifest_build_name(b, o, "schema", t->schema, tp);
	manifest_build_name(b, o, "name", t->name, tp);
	json_t *cols = json_array();
	json_t *cols_hex = NULL;
	for (int c = 0; c < t->ncolumns && !b->failed; c++)
	{
		char *cp = xasprintf("%s.columns[%d]", tp, c);
		if (manifest_utf8_valid(t->columns[c]))
			manifest_build_append(b, cols, json_string(t->columns[c]), cp);
		else
		{
			/* The bytes go into columns_hex, at the same index (null for
			 * the columns that are UTF-8). */
			if (!cols_hex)
			{
				cols_hex = json_array();
				for (int k = 0; k < c; k++)
					manifest_build_append(b, cols_hex, json_null(), cp);
			}
			char *readable = manifest_readable(t->columns[c]);
			char *hex = manifest_hex(t->columns[c]);
			manifest_build_append(b, cols, json_string(readable), cp);
			manifest_build_append(b, cols_hex, json_string(hex), cp);
			free(readable);
			free(hex);
		}
		if (cols_hex && json_array_size(cols_hex) < json_array_size(cols))
			manifest_build_append(b, cols_hex, json_null(), cp);
		free(cp);
	}
	manifest_build_set(b, o, "columns", cols, tp);
	if (cols_hex)
		manifest_build_set(b, o, "columns_hex", cols_hex, tp);
	if (t->ext_config)
		manifest_build_set(b, o, "extension_condition", json_string(t->condition ? t->condition : ""), tp);
	if (t->nparts == 0 && t->rows == 0)
		return o;				/* a schema-only archive's table: no rows,
								 * no checksum, no data files */
	manifest_build_set(b, o, "rows", json_integer((json_int_t) t->rows), tp);
	manifest_build_set(b, o, "checksum", json_string(t->checksum), tp);
	json_t *parts = json_array();
	for (int p = 0; p < t->nparts && !b->failed; p++)
	{
		char *pp = xasprintf("%s.parts[%d]", tp, p);
		manifest_build_append(b, parts, json_pack("{s:s, s:I, s:s}", "file", t->parts[p].file,
												  "rows", (json_int_t) t->parts[p].rows,
												  "checksum", t->parts[p].checksum), pp);
		free(pp);
	}
	manifest_build_set(b, o, "parts", parts, tp);
	return o;
}

static json_t *
manifest_db_json(manifest_builder *b, const manifest_db *db, bool with_files, const char *path)
{
	json_t *o = json_object();
	manifest_build_name(b, o, "name", db->name, path);
	manifest_build_set(b, o, "dir", manifest_str(db->dir), path);
	manifest_build_name(b, o, "encoding", db->encoding, path);
	manifest_build_name(b, o, "lc_collate", db->lc_collate, path);
	manifest_build_name(b, o, "lc_ctype", db->lc_ctype, path);
	manifest_build_name(b, o, "owner", db->owner, path);
	manifest_build_set(b, o, "schema", manifest_str(db->schema_file), path);
	manifest_build_set(b, o, "sequences_file", manifest_str(db->sequences_file), path);
	manifest_build_set(b, o, "tables", manifest_list_mark(b, db, NULL, 0, path), path);
	json_t *seqs = json_array();
	for (int i = 0; i < db->nsequences && !b->failed; i++)
	{
		const manifest_sequence *s = &db->sequences[i];
		char *sp = xasprintf("%s.sequences[%d]", path, i);
		json_t *so = json_object();
		manifest_build_name(b, so, "schema", s->schema, sp);
		manifest_build_name(b, so, "name", s->name, sp);
		manifest_build_set(b, so, "last_value", json_string(s->last_value), sp);
		manifest_build_set(b, so, "is_called", json_boolean(s->is_called), sp);
		manifest_build_append(b, seqs, so, sp);
		free(sp);
	}
	manifest_build_set(b, o, "sequences", seqs, path);
	json_t *lo = json_null();
	if (db->lo_file)
		lo = json_pack("{s:I, s:s, s:I, s:s}", "count", (json_int_t) db->lo_count,
					   "file", db->lo_file, "rows", (json_int_t) db->lo_rows,
					   "checksum", db->lo_checksum);
	manifest_build_set(b, o, "large_objects", lo, path);
	if (with_files)
		manifest_build_set(b, o, "files", manifest_list_mark(b, NULL, db->files, db->nfiles, path), path);
	return o;
}

/* Element i of list l as JSON (NULL: left out; b->failed: could not be
 * made). */
static json_t *
manifest_list_element(manifest_builder *b, const manifest_list *l, int i)
{
	if (!l->db)
		return manifest_file_json(&l->files[i]);
	FAULT_IF("manifest-drop-table", i == l->db->ntables - 1) return NULL;
	char *tp = xasprintf("%s.tables[%d]", l->path, i);
	json_t *v = manifest_table_json(b, &l->db->tables[i], tp);
	free(tp);
	return v;
}

/* Writes list l's elements as jansson writes an array of them at
 * JSON_INDENT(2) with its opening line indented by indent spaces: each
 * element is dumped alone and its lines shifted (a JSON string holds no
 * raw newline, so every newline of the text is a line of the layout). */
static int
manifest_write_list(manifest_builder *b, archive_file_writer *w, const manifest_list *l, int indent,
					pgc_err *err)
{
	int n = l->db ? l->db->ntables : l->nfiles;
	buf_t out = {0};
	int rc = 0, written = 0;
	buf_puts(&out, "[");
	for (int i = 0; i < n && rc == 0; i++)
	{
		json_t *v = manifest_list_element(b, l, i);
		if (b->failed || (!v && l->db == NULL))
		{
			json_decref(v);
			char *p = xasprintf("%s.%s[%d]", l->path, l->db ? "tables" : "files", i);
			manifest_build_fail(b, p);
			free(p);
			rc = -1;
			break;
		}
		if (!v)
			continue;
		char *text = json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		json_decref(v);
		if (!text)
		{
			err_set(err, "could not format \"%s\"", b->doc);
			rc = -1;
			break;
		}
		buf_printf(&out, "%s\n%*s", written++ ? "," : "", indent + 2, "");
		for (const char *t = text; *t; t++)
		{
			buf_append(&out, t, 1);
			if (*t == '\n')
				buf_printf(&out, "%*s", indent + 2, "");
		}
		free(text);
		if (out.len >= 1 << 16)
		{
			rc = archive_file_writer_write(w, out.data, out.len, err);
			out.len = 0;
		}
	}
	if (rc == 0)
	{
		if (written)
			buf_printf(&out, "\n%*s", indent, "");
		buf_puts(&out, "]");
		rc = archive_file_writer_write(w, out.data, out.len, err);
	}
	buf_free(&out);
	return rc;
}

/* Writes a JSON document atomically to root/relpath: the tree doc, with
 * each of b's lists written in place of its placeholder. */
static int
manifest_write_json(manifest_builder *b, const char *root, const char *relpath, json_t *doc, pgc_err *err)
{
	char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (!text)
	{
		err_set(err, "could not format \"%s\"", relpath);
		return -1;
	}
	archive_file_writer *w = archive_file_writer_create(root, relpath, 0, err);
	int rc = w ? 0 : -1;
	const char *p = text;
	char prefix[64];
	snprintf(prefix, sizeof prefix, MANIFEST_LIST_MARK_TEXT, manifest_list_key());
	while (rc == 0)
	{
		const char *mark = strstr(p, prefix);
		if (!mark)
			break;
		const char *line = mark;
		while (line > text && line[-1] != '\n')
			line--;
		int indent = (int) strspn(line, " ");
		char *end = NULL;
		long i = strtol(mark + strlen(prefix), &end, 10);
		if (i < 0 || i >= b->nlists || !end || *end != '"')
		{
			err_set(err, "could not format \"%s\"", relpath);
			rc = -1;
			break;
		}
		rc = archive_file_writer_write(w, p, (size_t) (mark - p), err);
		if (rc == 0)
			rc = manifest_write_list(b, w, &b->lists[i], indent, err);
		p = end + 1;
	}
	if (rc == 0 && archive_file_writer_write(w, p, strlen(p), err) == 0 &&
		archive_file_writer_write(w, "\n", 1, err) == 0 &&
		archive_file_writer_finish(w, NULL, err) == 0)
		rc = 0;
	else
		rc = -1;
	archive_file_writer_destroy(w);
	free(text);
	return rc;
}

int
manifest_write(const char *root, manifest *m, pgc_err *err)
{
	if (!m->created_at)
	{
		char ts[32];
		time_t now = time(NULL);
		struct tm tm;
		gmtime_r(&now, &tm);
		strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
		m->created_at = xstrdup(ts);
	}
	manifest_builder b = {MANIFEST_NAME, err, false, NULL, 0};
	json_t *doc = json_object();
	manifest_build_set(&b, doc, "format", json_string(MANIFEST_FORMAT), "$");
	m->format_version = m->content == MANIFEST_WHOLE ? MANIFEST_FORMAT_VERSION : MANIFEST_FORMAT_VERSION_PARTIAL;
	manifest_build_set(&b, doc, "format_version", json_integer(m->format_version), "$");
	if (m->content != MANIFEST_WHOLE)
		manifest_build_set(&b, doc, "content", json_string(manifest_content_name(m->content)), "$");
	manifest_build_set(&b, doc, "pgcarry_version", manifest_str(m->pgcarry_version), "$");
	manifest_build_set(&b, doc, "created_at", manifest_str(m->created_at), "$");
	manifest_build_set(&b, doc, "source", json_pack("{s:s?, s:i}", "server_version", m->server_version,
													"server_version_num", m->server_version_num), "$");
	manifest_build_set(&b, doc, "compression", json_pack("{s:s, s:i}", "method",
														 m->compression ? m->compression : "none",
														 "level", m->compression_level), "$");
	json_t *roles = json_null();
	if (m->roles_file)
		roles = json_pack("{s:s, s:b}", "file", m->roles_file, "passwords", m->roles_passwords);
	manifest_build_set(&b, doc, "roles", roles, "$");
	json_t *dbs = json_array();
	for (int i = 0; i < m->ndbs && !b.failed; i++)
	{
		char *dp = xasprintf("$.databases[%d]", i);
		manifest_build_append(&b, dbs, manifest_db_json(&b, &m->dbs[i], false, dp), dp);
		free(dp);
	}
	manifest_build_set(&b, doc, "databases", dbs, "$");
	manifest_build_set(&b, doc, "files", manifest_list_mark(&b, NULL, m->files, m->nfiles, "$"), "$");
	int rc = b.failed ? -1 : manifest_write_json(&b, root, MANIFEST_NAME, doc, err);
	json_decref(doc);
	manifest_builder_free(&b);
	return rc;
}

int
manifest_db_write(const char *root, const manifest_db *db, pgc_err *err)
{
	return manifest_db_write_as(root, db, MANIFEST_DB_NAME, err);
}

int
manifest_db_write_as(const char *root, const manifest_db *db, const char *name, pgc_err *err)
{
	char *rel = xasprintf("%s/%s", db->dir, name);
	manifest_builder b = {rel, err, false, NULL, 0};
	json_t *doc = manifest_db_json(&b, db, true, "$");
	int rc = b.failed ? -1 : manifest_write_json(&b, root, rel, doc, err);
	free(rel);
	json_decref(doc);
	manifest_builder_free(&b);
	return rc;
}

/* ----------------------------------------------------------- from JSON */

/* The reading context: which document, for messages. */
typedef struct manifest_reader
{
	const char *doc;
	pgc_err    *err;
} manifest_reader;

static bool
manifest_bad(manifest_reader *r, const char *path, const char *what)
{
	err_set(r->err, "the archive's %s is malformed", r->doc);
	err_detail(r->err, "%s: %s.", path, what);
	err_hint(r->err, "The archive was damaged or edited; export it again.");
	return false;
}

static bool
manifest_get_str(manifest_reader *r, json_t *o, const char *key, const char *path, bool nullable,
				 char **out)
{
	json_t *v = json_object_get(o, key);
	char *p = xasprintf("%s.%s", path, key);
	bool ok = true;
	if ((!v || json_is_null(v)) && nullable)
		*out = NULL;
	else if (!json_is_string(v))
		ok = manifest_bad(r, p, v ? "expected a string" : "missing");
	else
		*out = xstrdup(json_string_value(v));
	free(p);
	return ok;
}

/* Decodes an even number of hex digits holding no NUL byte; NULL when
 * malformed.  Owned by the caller. */
static char *
manifest_unhex(const char *hex)
{
	size_t n = strlen(hex);
	if (n % 2 != 0)
		return NULL;
	char *out = xmalloc(n / 2 + 1);
	for (size_t i = 0; i < n; i += 2)
	{
		int v = 0;
		for (int k = 0; k < 2; k++)
		{
			char c = hex[i + (size_t) k];
			int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
			if (d < 0)
			{
				free(out);
				return NULL;
			}
			v = v * 16 + d;
		}
		if (v == 0)
		{
			free(out);
			return NULL;
		}
		out[i / 2] = (char) v;
	}
	out[n / 2] = '\0';
	return out;
}

/* The hex form of a name (key_hex, or one element of columns_hex) into
 * *out, replacing what is there.  path names it in messages. */
static bool
manifest_hex_value(manifest_reader *r, json_t *v, const char *path, char **out)
{
	char *bytes = json_is_string(v) ? manifest_unhex(json_string_value(v)) : NULL;
	if (!bytes)
		return manifest_bad(r, path, "expected an even number of hex digits");
	free(*out);
	*out = bytes;
	return true;
}

/* A name: key as a string, or its exact bytes from key_hex when present
 * (a name that is not UTF-8, see manifest_build_name). */
static bool
manifest_get_name(manifest_reader *r, json_t *o, const char *key, const char *path, bool nullable,
				  char **out)
{
	if (!manifest_get_str(r, o, key, path, nullable, out))
		return false;
	char *hkey = xasprintf("%s_hex", key);
	json_t *hv = json_object_get(o, hkey);
	bool ok = true;
	if (hv && *out)
	{
		char *p = xasprintf("%s.%s", path, hkey);
		ok = manifest_hex_value(r, hv, p, out);
		free(p);
	}
	free(hkey);
	return ok;
}

static bool
manifest_get_u64(manifest_reader *r, json_t *o, const char *key, const char *path, uint64_t *out)
{
	json_t *v = json_object_get(o, key);
	if (!json_is_integer(v) || json_integer_value(v) < 0)
	{
		char *p = xasprintf("%s.%s", path, key);
		manifest_bad(r, p, v ? "expected a whole number" : "missing");
		free(p);
		return false;
	}
	*out = (uint64_t) json_integer_value(v);
	return true;
}

static bool
manifest_get_hex(manifest_reader *r, json_t *o, const char *key, const char *path, size_t len,
				 char *out)
{
	json_t *v = json_object_get(o, key);
	const char *s = json_string_value(v);
	bool ok = s && strlen(s) == len;
	for (size_t i = 0; ok && i < len; i++)
		ok = (s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f');
	if (!ok)
	{
		char *p = xasprintf("%s.%s", path, key);
		char *what = xasprintf("expected %zu lower-case hex digits", len);
		manifest_bad(r, p, v ? what : "missing");
		free(what);
		free(p);
		return false;
	}
	memcpy(out, s, len + 1);
	return true;
}

static bool
manifest_get_array(manifest_reader *r, json_t *o, const char *key, const char *path, json_t **out)
{
	json_t *v = json_object_get(o, key);
	if (!json_is_array(v))
	{
		char *p = xasprintf("%s.%s", path, key);
		manifest_bad(r, p, v ? "expected an array" : "missing");
		free(p);
		return false;
	}
	*out = v;
	return true;
}

static bool
manifest_get_path(manifest_reader *r, json_t *o, const char *key, const char *path, bool nullable,
				  char **out)
{
	if (!manifest_get_str(r, o, key, path, nullable, out))
		return false;
	if (*out && !archive_file_path_safe(*out))
	{
		char *p = xasprintf("%s.%s", path, key);
		manifest_bad(r, p, "not a safe relative path");
		free(p);
		return false;
	}
	return true;
}

static bool
manifest_read_files(manifest_reader *r, json_t *o, const char *path, manifest_file **files, int *n)
{
	json_t *arr;
	if (!manifest_get_array(r, o, "files", path, &arr))
		return false;
	size_t i;
	json_t *f;
	json_array_foreach(arr, i, f)
	{
		char *p = xasprintf("%s.files[%zu]", path, i);
		char *fp = NULL;
		archive_file_info info = {0};
		bool ok = json_is_object(f) ? true : manifest_bad(r, p, "expected an object");
		ok = ok && manifest_get_path(r, f, "path", p, false, &fp) &&
			manifest_get_u64(r, f, "size", p, &info.size) &&
			manifest_get_hex(r, f, "sha256", p, ARCHIVE_FILE_SHA256_HEX, info.sha256);
		if (ok)
			manifest_add_file(files, n, fp, &info);
		free(fp);
		free(p);
		if (!ok)
			return false;
	}
	return true;
}

static bool
manifest_read_db(manifest_reader *r, json_t *o, const char *path, manifest_db *db, bool with_files)
{
	if (!json_is_object(o))
		return manifest_bad(r, path, "expected an object");
	json_t *tables, *seqs;
	if (!manifest_get_name(r, o, "name", path, false, &db->name) ||
		!manifest_get_path(r, o, "dir", path, false, &db->dir) ||
		!manifest_get_name(r, o, "encoding", path, false, &db->encoding) ||
		!manifest_get_name(r, o, "lc_collate", path, true, &db->lc_collate) ||
		!manifest_get_name(r, o, "lc_ctype", path, true, &db->lc_ctype) ||
		!manifest_get_name(r, o, "owner", path, true, &db->owner) ||
		!manifest_get_path(r, o, "schema", path, false, &db->schema_file) ||
		!manifest_get_path(r, o, "sequences_file", path, true, &db->sequences_file) ||
		!manifest_get_array(r, o, "tables", path, &tables) ||
		!manifest_get_array(r, o, "sequences", path, &seqs))
		return false;
	size_t i;
	json_t *tj;
	json_array_foreach(tables, i, tj)
	{
		char *tp = xasprintf("%s.tables[%zu]", path, i);
		manifest_table *t = manifest_db_add_table(db);
		json_t *cols = NULL, *parts = NULL;
		bool ok = json_is_object(tj) ? true : manifest_bad(r, tp, "expected an object");
		ok = ok && manifest_get_name(r, tj, "schema", tp, false, &t->schema) &&
			manifest_get_name(r, tj, "name", tp, false, &t->name) &&
			manifest_get_array(r, tj, "columns", tp, &cols);
		/* A table without "parts" (a schema-only archive's) has no rows
		 * or checksum either; whether it may lack them is for the check
		 * of the archive's content (archive_verify.c). */
		if (ok && !json_object_get(tj, "parts") && !json_object_get(tj, "rows") &&
			!json_object_get(tj, "checksum"))
			memset(t->checksum, '0', ROWHASH_HEX_LEN);
		else
			ok = ok && manifest_get_u64(r, tj, "rows", tp, &t->rows) &&
				manifest_get_hex(r, tj, "checksum", tp, ROWHASH_HEX_LEN, t->checksum) &&
				manifest_get_array(r, tj, "parts", tp, &parts);
		if (ok && json_object_get(tj, "extension_condition"))
		{
			t->ext_config = true;
			ok = manifest_get_str(r, tj, "extension_condition", tp, false, &t->condition);
			if (ok && !*t->condition)
			{
				free(t->condition);
				t->condition = NULL;
			}
		}
		if (ok)
		{
			t->columns = xcalloc(json_array_size(cols) + 1, sizeof(char *));
			size_t c;
			json_t *cj;
			json_array_foreach(cols, c, cj)
			{
				if (!json_is_string(cj))
				{
					char *cp = xasprintf("%s.columns[%zu]", tp, c);
					ok = manifest_bad(r, cp, "expected a string");
					free(cp);
					break;
				}
				t->columns[t->ncolumns++] = xstrdup(json_string_value(cj));
			}
			json_t *hex = json_object_get(tj, "columns_hex");
			if (ok && hex)
			{
				char *hp = xasprintf("%s.columns_hex", tp);
				if (!json_is_array(hex) || json_array_size(hex) != json_array_size(cols))
					ok = manifest_bad(r, hp, "expected an array as long as columns");
				json_array_foreach(hex, c, cj)
				{
					if (!ok)
						break;
					if (json_is_null(cj))
						continue;
					char *cp = xasprintf("%s[%zu]", hp, c);
					ok = manifest_hex_value(r, cj, cp, &t->columns[c]);
					free(cp);
				}
				free(hp);
			}
		}
		size_t p;
		json_t *pj;
		if (ok)
			json_array_foreach(parts, p, pj)
		{
			char *pp = xasprintf("%s.parts[%zu]", tp, p);
			manifest_part *part = manifest_table_add_part(t);
			ok = json_is_object(pj) ? true : manifest_bad(r, pp, "expected an object");
			ok = ok && manifest_get_path(r, pj, "file", pp, false, &part->file) &&
				manifest_get_u64(r, pj, "rows", pp, &part->rows) &&
				manifest_get_hex(r, pj, "checksum", pp, ROWHASH_HEX_LEN, part->checksum);
			free(pp);
			if (!ok)
				break;
		}
		free(tp);
		if (!ok)
			return false;
	}
	json_t *sj;
	json_array_foreach(seqs, i, sj)
	{
		char *sp = xasprintf("%s.sequences[%zu]", path, i);
		manifest_sequence *s = manifest_db_add_sequence(db);
		bool ok = json_is_object(sj) ? true : manifest_bad(r, sp, "expected an object");
		ok = ok && manifest_get_name(r, sj, "schema", sp, false, &s->schema) &&
			manifest_get_name(r, sj, "name", sp, false, &s->name) &&
			manifest_get_str(r, sj, "last_value", sp, false, &s->last_value);
		if (ok && !json_is_boolean(json_object_get(sj, "is_called")))
		{
			char *kp = xasprintf("%s.is_called", sp);
			ok = manifest_bad(r, kp, "expected true or false");
			free(kp);
		}
		if (ok)
			s->is_called = json_is_true(json_object_get(sj, "is_called"));
		free(sp);
		if (!ok)
			return false;
	}
	json_t *lo = json_object_get(o, "large_objects");
	if (lo && !json_is_null(lo))
	{
		char *lp = xasprintf("%s.large_objects", path);
		bool ok = json_is_object(lo) ? true : manifest_bad(r, lp, "expected an object or null");
		ok = ok && manifest_get_u64(r, lo, "count", lp, &db->lo_count) &&
			manifest_get_path(r, lo, "file", lp, false, &db->lo_file) &&
			manifest_get_u64(r, lo, "rows", lp, &db->lo_rows) &&
			manifest_get_hex(r, lo, "checksum", lp, ROWHASH_HEX_LEN, db->lo_checksum);
		free(lp);
		if (!ok)
			return false;
	}
	if (with_files && !manifest_read_files(r, o, path, &db->files, &db->nfiles))
		return false;
	return true;
}

static json_t *
manifest_load(const char *root, const char *relpath, manifest_reader *r, int *missing)
{
	char *path = xasprintf("%s/%s", root, relpath);
	json_error_t jerr;
	FILE *f = fopen(path, "r");
	free(path);
	*missing = 0;
	if (!f)
	{
		if (errno == ENOENT)
		{
			*missing = 1;
			return NULL;
		}
		err_set(r->err, "could not read the archive's %s: %s", r->doc, strerror(errno));
		return NULL;
	}
	json_t *doc = json_loadf(f, JSON_REJECT_DUPLICATES, &jerr);
	fclose(f);
	if (!doc)
	{
		err_set(r->err, "the archive's %s is malformed", r->doc);
		err_detail(r->err, "line %d: %s.", jerr.line, jerr.text);
		err_hint(r->err, "The archive was damaged or edited; export it again.");
		return NULL;
	}
	if (!json_is_object(doc))
	{
		manifest_bad(r, "$", "expected an object");
		json_decref(doc);
		return NULL;
	}
	return doc;
}

manifest *
manifest_read(const char *root, pgc_err *err)
{
	manifest_reader r = {MANIFEST_NAME, err};
	int missing;
	json_t *doc = manifest_load(root, MANIFEST_NAME, &r, &missing);
	if (missing)
	{
		err_set(err, "archive \"%s\" has no %s", root, MANIFEST_NAME);
		err_detail(err, "An archive gets its manifest last: this export did not finish, or this is not a pgcarry archive.");
		err_hint(err, "Finish the export with \"pgcarry export --resume\", or export again.");
	}
	if (!doc)
		return NULL;
	manifest *m = xcalloc(1, sizeof *m);
	json_t *fmt = json_object_get(doc, "format");
	json_t *ver = json_object_get(doc, "format_version");
	json_t *src = json_object_get(doc, "source");
	json_t *comp = json_object_get(doc, "compression");
	json_t *roles = json_object_get(doc, "roles");
	json_t *dbs;
	bool ok = true;
	if (!json_is_string(fmt) || strcmp(json_string_value(fmt), MANIFEST_FORMAT) != 0)
		ok = manifest_bad(&r, "$.format", "expected \"" MANIFEST_FORMAT "\"");
	else if (!json_is_integer(ver))
		ok = manifest_bad(&r, "$.format_version", "expected a whole number");
	else if (json_integer_value(ver) != MANIFEST_FORMAT_VERSION &&
			 json_integer_value(ver) != MANIFEST_FORMAT_VERSION_PARTIAL)
	{
		err_set(err, "archive format version %lld is not supported", (long long) json_integer_value(ver));
		err_detail(err, "This pgcarry reads format versions %d and %d.", MANIFEST_FORMAT_VERSION,
				   MANIFEST_FORMAT_VERSION_PARTIAL);
		err_hint(err, "Use the pgcarry that wrote the archive, or a newer one.");
		ok = false;
	}
	if (ok)
	{
		m->format_version = (int) json_integer_value(ver);
		json_t *content = json_object_get(doc, "content");
		const char *cs = json_string_value(content);
		if (content && !cs)
			ok = manifest_bad(&r, "$.content", "expected a string");
		else if (cs && strcmp(cs, "schema-only") == 0)
			m->content = MANIFEST_SCHEMA_ONLY;
		else if (cs && strcmp(cs, "data-only") == 0)
			m->content = MANIFEST_DATA_ONLY;
		else if (cs && strcmp(cs, "whole") != 0)
			ok = manifest_bad(&r, "$.content", "expected \"whole\", \"schema-only\" or \"data-only\"");
		/* The version says whether the archive is partial: a reader from
		 * before partial archives refuses it rather than misread it. */
		if (ok && (m->content != MANIFEST_WHOLE) != (m->format_version == MANIFEST_FORMAT_VERSION_PARTIAL))
			ok = manifest_bad(&r, "$.format_version", m->content == MANIFEST_WHOLE
							  ? "a whole archive has format version 1"
							  : "a schema-only or data-only archive has format version 2");
		ok = ok && manifest_get_str(&r, doc, "pgcarry_version", "$", false, &m->pgcarry_version) &&
			manifest_get_str(&r, doc, "created_at", "$", false, &m->created_at);
	}
	if (ok && !json_is_object(src))
		ok = manifest_bad(&r, "$.source", "expected an object");
	if (ok)
	{
		ok = manifest_get_str(&r, src, "server_version", "$.source", true, &m->server_version);
		m->server_version_num = (int) json_integer_value(json_object_get(src, "server_version_num"));
	}
	if (ok && !json_is_object(comp))
		ok = manifest_bad(&r, "$.compression", "expected an object");
	if (ok)
	{
		ok = manifest_get_str(&r, comp, "method", "$.compression", false, &m->compression);
		if (ok && strcmp(m->compression, "zstd") != 0 && strcmp(m->compression, "none") != 0)
			ok = manifest_bad(&r, "$.compression.method", "expected \"zstd\" or \"none\"");
		m->compression_level = (int) json_integer_value(json_object_get(comp, "level"));
	}
	if (ok && roles && !json_is_null(roles))
	{
		if (!json_is_object(roles))
			ok = manifest_bad(&r, "$.roles", "expected an object or null");
		else
		{
			ok = manifest_get_path(&r, roles, "file", "$.roles", false, &m->roles_file);
			m->roles_passwords = json_is_true(json_object_get(roles, "passwords"));
		}
	}
	if (ok)
		ok = manifest_get_array(&r, doc, "databases", "$", &dbs);
	if (ok)
	{
		size_t i;
		json_t *dj;
		json_array_foreach(dbs, i, dj)
		{
			char *dp = xasprintf("$.databases[%zu]", i);
			ok = manifest_read_db(&r, dj, dp, manifest_add_db(m), false);
			free(dp);
			if (!ok)
				break;
		}
	}
	if (ok)
		ok = manifest_read_files(&r, doc, "$", &m->files, &m->nfiles);
	json_decref(doc);
	if (!ok)
	{
		manifest_destroy(m);
		return NULL;
	}
	return m;
}

int
manifest_db_read(const char *root, const char *dir, manifest_db *db, pgc_err *err)
{
	return manifest_db_read_as(root, dir, MANIFEST_DB_NAME, db, err);
}

int
manifest_db_read_as(const char *root, const char *dir, const char *name, manifest_db *db, pgc_err *err)
{
	char *rel = xasprintf("%s/%s", dir, name);
	manifest_reader r = {rel, err};
	int missing;
	memset(db, 0, sizeof *db);
	json_t *doc = manifest_load(root, rel, &r, &missing);
	int rc = 0;
	if (missing)
		rc = 1;
	else if (!doc)
		rc = -1;
	else if (!manifest_read_db(&r, doc, "$", db, true))
	{
		manifest_db_clear(db);
		rc = -1;
	}
	json_decref(doc);
	free(rel);
	return rc;
}
