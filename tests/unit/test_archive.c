/* test_archive.c: archive files (zstd, SHA-256, modes, atomic names), the
 * manifest (round trip, malformed input), tar streams, the archive check. */
#include "tap.h"
#include "archive/archive_choose.h"
#include "archive/archive_dump.h"
#include "archive/archive_file.h"
#include "archive/archive_verify.h"
#include "archive/manifest.h"
#include "archive/tarstream.h"
#include "cleanup.h"
#include "util/rowhash.h"
#include "util/xalloc.h"

#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char *root;

static int
mode_of(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (int) (st.st_mode & 0777) : -1;
}

static bool
exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

static void
write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
}

/* Writes relpath with content repeated n times; returns its info. */
static archive_file_info
make_file(const char *rel, int level, const char *content, int n)
{
	pgc_err err = PGC_ERR_INIT;
	archive_file_info info = {0};
	archive_file_writer *w = archive_file_writer_create(root, rel, level, &err);
	for (int i = 0; w && i < n; i++)
		archive_file_writer_write(w, content, strlen(content), &err);
	if (w)
		archive_file_writer_finish(w, &info, &err);
	archive_file_writer_destroy(w);
	err_clear(&err);
	return info;
}

/* Reads a whole file through a reader; returns the bytes (owned) or NULL
 * with err set. */
static char *
read_all(const char *rel, bool compressed, pgc_err *err, archive_file_info *info)
{
	archive_file_reader *r = archive_file_reader_open(root, rel, compressed, err);
	if (!r)
		return NULL;
	size_t cap = 1 << 20, len = 0;
	char *out = xmalloc(cap);
	for (;;)
	{
		if (len + 4096 > cap)
			out = xrealloc(out, cap *= 2);
		ssize_t n = archive_file_reader_read(r, out + len, 4096, err);
		if (n < 0)
		{
			free(out);
			archive_file_reader_destroy(r);
			return NULL;
		}
		if (n == 0)
			break;
		len += (size_t) n;
	}
	out[len] = '\0';
	if (info)
		archive_file_reader_info(r, info);
	archive_file_reader_destroy(r);
	return out;
}

static void
test_files(void)
{
	pgc_err err = PGC_ERR_INIT;
	archive_file_info w = make_file("db/01-x/data/t.copy.zst", 3, "1\thello\n", 10000);
	TAP_EQ_INT(strlen(w.sha256), 64, "writer reports a SHA-256");
	char *p = xasprintf("%s/db/01-x/data/t.copy.zst", root);
	char *d = xasprintf("%s/db/01-x", root);
	TAP_EQ_INT(mode_of(p), 0600, "archive file is mode 0600");
	TAP_EQ_INT(mode_of(d), 0700, "archive directory is mode 0700");
	archive_file_info on_disk;
	TAP_EQ_INT(archive_file_checksum(p, &on_disk, &err), 0, "checksum of a file");
	TAP_EQ_STR(on_disk.sha256, w.sha256, "SHA-256 while writing equals SHA-256 of the file");
	TAP_EQ_INT((long long) on_disk.size, (long long) w.size, "size while writing equals file size");
	TAP_OK(w.size < 90000, "zstd compresses");

	archive_file_info r;
	char *back = read_all("db/01-x/data/t.copy.zst", true, &err, &r);
	TAP_OK(back && strlen(back) == 80000, "zstd file reads back whole");
	TAP_OK(back && strncmp(back, "1\thello\n1\thello\n", 16) == 0, "content reads back");
	TAP_EQ_STR(r.sha256, w.sha256, "reader computes the same SHA-256");
	free(back);

	make_file("plain.copy", 0, "abc\n", 3);
	back = read_all("plain.copy", false, &err, NULL);
	TAP_EQ_STR(back, "abc\nabc\nabc\n", "uncompressed file round trip");
	free(back);

	/* An abandoned writer leaves nothing behind. */
	archive_file_writer *aw = archive_file_writer_create(root, "gone.copy.zst", 3, &err);
	archive_file_writer_write(aw, "x\n", 2, &err);
	char *partial = xasprintf("%s/.gone.copy.zst.partial", root);
	TAP_OK(exists(partial), "a file being written has a temporary name");
	archive_file_writer_destroy(aw);
	char *gone = xasprintf("%s/gone.copy.zst", root);
	TAP_OK(!exists(partial) && !exists(gone), "an unfinished file is removed");
	free(partial);
	free(gone);

	/* Truncated and corrupt zstd files. */
	TAP_EQ_INT(truncate(p, (off_t) (w.size / 2)), 0, "cut the file in half");
	back = read_all("db/01-x/data/t.copy.zst", true, &err, NULL);
	TAP_OK(back == NULL, "a truncated file fails to read");
	TAP_EQ_STR(err.message, "archive file \"db/01-x/data/t.copy.zst\" is truncated", "truncation named");
	err_clear(&err);
	free(back);

	make_file("c.copy.zst", 3, "2\tworld and more text\n", 5000);
	char *cp = xasprintf("%s/c.copy.zst", root);
	int fd = open(cp, O_RDWR);
	unsigned char byte;
	pread(fd, &byte, 1, 20);
	byte ^= 0xff;
	pwrite(fd, &byte, 1, 20);
	close(fd);
	back = read_all("c.copy.zst", true, &err, NULL);
	TAP_OK(back == NULL, "a corrupt file fails to read");
	TAP_EQ_STR(err.message, "archive file \"c.copy.zst\" is corrupt", "corruption named");
	err_clear(&err);
	free(back);
	free(cp);

	back = read_all("nope.copy.zst", true, &err, NULL);
	TAP_EQ_STR(err.message, "archive file \"nope.copy.zst\" is missing", "missing file named");
	err_clear(&err);
	free(p);
	free(d);

	TAP_OK(archive_file_path_safe("databases/01-a/data/x.copy.zst"), "relative path is safe");
	TAP_OK(!archive_file_path_safe("/etc/passwd"), "absolute path is not safe");
	TAP_OK(!archive_file_path_safe("a/../../etc"), "dot-dot is not safe");
	TAP_OK(!archive_file_path_safe("a//b"), "empty component is not safe");
	TAP_OK(!archive_file_path_safe(""), "empty path is not safe");
	char *s = archive_file_safe_name(".Ünïcode \"table\"/x", 40);
	TAP_EQ_STR(s, "___n__code__table__x", "odd names become safe file names");
	free(s);
}

static manifest *
sample_manifest(void)
{
	manifest *m = manifest_create();
	m->server_version = xstrdup("15.4");
	m->server_version_num = 150004;
	m->compression = xstrdup("zstd");
	m->compression_level = 3;
	manifest_db *db = manifest_add_db(m);
	db->name = xstrdup("accounts");
	db->dir = xstrdup("databases/01-accounts");
	db->encoding = xstrdup("UTF8");
	db->schema_file = xstrdup("databases/01-accounts/schema.dump");
	manifest_table *t = manifest_db_add_table(db);
	t->schema = xstrdup("public");
	t->name = xstrdup("odd \"name\"");
	t->columns = xcalloc(3, sizeof(char *));
	t->columns[t->ncolumns++] = xstrdup("id");
	t->columns[t->ncolumns++] = xstrdup("Data");
	t->rows = 42;
	strcpy(t->checksum, "000102030405060708090a0b0c0d0e0f");
	manifest_part *pt = manifest_table_add_part(t);
	pt->file = xstrdup("databases/01-accounts/data/00001-public.odd.000.copy.zst");
	pt->rows = 42;
	strcpy(pt->checksum, t->checksum);
	manifest_sequence *sq = manifest_db_add_sequence(db);
	sq->schema = xstrdup("public");
	sq->name = xstrdup("s");
	sq->last_value = xstrdup("9223372036854775807");
	sq->is_called = true;
	return m;
}

static void
test_manifest(void)
{
	pgc_err err = PGC_ERR_INIT;
	char *mroot = xasprintf("%s/m", root);
	manifest *m = sample_manifest();
	archive_file_info info = {7, "aa"};
	memset(info.sha256, 'a', 64);
	info.sha256[64] = '\0';
	manifest_add_file(&m->files, &m->nfiles, "databases/01-accounts/schema.dump", &info);
	TAP_EQ_INT(manifest_write(mroot, m, &err), 0, "manifest written");
	char *mp = xasprintf("%s/manifest.json", mroot);
	TAP_EQ_INT(mode_of(mp), 0600, "manifest is mode 0600");
	manifest *back = manifest_read(mroot, &err);
	TAP_OK(back != NULL, "manifest reads back");
	if (back)
	{
		TAP_EQ_INT(back->ndbs, 1, "one database");
		TAP_EQ_STR(back->dbs[0].tables[0].name, "odd \"name\"", "odd table name survives");
		TAP_EQ_STR(back->dbs[0].tables[0].columns[1], "Data", "column list survives");
		TAP_EQ_INT((long long) back->dbs[0].tables[0].rows, 42, "row count survives");
		TAP_EQ_STR(back->dbs[0].sequences[0].last_value, "9223372036854775807", "big sequence value survives");
		TAP_EQ_INT(back->nfiles, 1, "file list survives");
		TAP_EQ_INT((long long) back->files[0].info.size, 7, "file size survives");
		TAP_EQ_STR(back->created_at, m->created_at, "creation time written");
	}
	manifest_destroy(back);

	/* The database entry alone, for resume. */
	manifest_add_file(&m->dbs[0].files, &m->dbs[0].nfiles, "databases/01-accounts/schema.dump", &info);
	TAP_EQ_INT(manifest_db_write(mroot, &m->dbs[0], &err), 0, "database.json written");
	manifest_db dbb;
	TAP_EQ_INT(manifest_db_read(mroot, "databases/01-accounts", &dbb, &err), 0, "database.json read");
	TAP_EQ_INT(dbb.nfiles, 1, "database.json keeps its files");
	manifest_db_clear(&dbb);
	TAP_EQ_INT(manifest_db_read(mroot, "databases/02-none", &dbb, &err), 1, "missing database.json is not an error");

	/* Malformed manifests name the problem. */
	write_text(mp, "{\"format\": \"pgcarry-archive\", \"format_version\": 1,");
	back = manifest_read(mroot, &err);
	TAP_OK(back == NULL, "cut-short JSON refused");
	TAP_EQ_STR(err.message, "the archive's manifest.json is malformed", "malformed JSON message");
	err_clear(&err);
	write_text(mp, "{\"format\": \"pgcarry-archive\", \"format_version\": 3}");
	back = manifest_read(mroot, &err);
	TAP_EQ_STR(err.message, "archive format version 3 is not supported", "newer format refused");
	err_clear(&err);

	/* A partial archive: its kind and version 2; a schema-only table has
	 * no rows, checksum or parts, and reads back without them. */
	manifest_table *st = &m->dbs[0].tables[0];
	manifest_part *parts = st->parts;
	int nparts = st->nparts;
	uint64_t rows = st->rows;
	st->parts = NULL;
	st->nparts = 0;
	st->rows = 0;
	m->content = MANIFEST_SCHEMA_ONLY;
	TAP_EQ_INT(manifest_write(mroot, m, &err), 0, "schema-only manifest written");
	TAP_EQ_INT(m->format_version, 2, "as format version 2");
	back = manifest_read(mroot, &err);
	TAP_OK(back && back->content == MANIFEST_SCHEMA_ONLY, "schema-only reads back");
	TAP_OK(back && back->dbs[0].tables[0].nparts == 0 && back->dbs[0].tables[0].rows == 0,
		   "a table without data reads back without data");
	manifest_destroy(back);
	st->parts = parts;
	st->nparts = nparts;
	st->rows = rows;
	m->content = MANIFEST_DATA_ONLY;
	TAP_EQ_INT(manifest_write(mroot, m, &err), 0, "data-only manifest written");
	back = manifest_read(mroot, &err);
	TAP_OK(back && back->content == MANIFEST_DATA_ONLY && back->format_version == 2, "data-only reads back");
	manifest_destroy(back);
	m->content = MANIFEST_WHOLE;
	TAP_EQ_INT(manifest_write(mroot, m, &err), 0, "whole manifest written");
	TAP_EQ_INT(m->format_version, 1, "whole archives stay format version 1");
	write_text(mp, "{\"format\": \"pgcarry-archive\", \"format_version\": 1, \"pgcarry_version\": \"0\","
			   "\"created_at\": \"x\", \"source\": {}, \"compression\": {\"method\": \"zstd\"},"
			   "\"databases\": [{\"name\": \"a\", \"dir\": \"../etc\"}], \"files\": []}");
	back = manifest_read(mroot, &err);
	TAP_EQ_STR(err.detail, "$.databases[0].dir: not a safe relative path.", "unsafe path refused by JSON path");
	err_clear(&err);
	unlink(mp);
	back = manifest_read(mroot, &err);
	TAP_CONTAINS(err.message, "has no manifest.json", "missing manifest named");
	err_clear(&err);
	manifest_destroy(m);
	free(mp);
	free(mroot);
}

/* Names in any server encoding travel byte for byte: a LATIN1 "tëst", an
 * SQL_ASCII name that is not UTF-8, an EUC_JP one. */
/* Whether the file at path is byte for byte what jansson writes of the
 * document it holds (JSON_INDENT(2), keys in order): the manifest's lists
 * are written element by element, and must lay out as the whole would. */
static bool
laid_out_as_jansson(const char *path)
{
	json_error_t je;
	json_t *doc = json_load_file(path, JSON_PRESERVE_ORDER, &je);
	if (!doc)
		return false;
	char *want = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(doc);
	FILE *f = fopen(path, "r");
	char *got = NULL;
	size_t cap = 0;
	ssize_t n = f ? getdelim(&got, &cap, '\0', f) : -1;
	if (f)
		fclose(f);
	bool same = want && n > 0 && (size_t) n == strlen(want) + 1 && strncmp(got, want, strlen(want)) == 0
		&& got[n - 1] == '\n';
	free(want);
	free(got);
	return same;
}

static void
test_manifest_layout(void)
{
	pgc_err err = PGC_ERR_INIT;
	char *mroot = xasprintf("%s/layout", root);
	manifest *m = sample_manifest();
	/* More tables: one of two parts, one of a schema-only archive (no
	 * rows, no parts), one with a column that is not UTF-8; a database
	 * with none; files at the top and in a database. */
	manifest_db *db = &m->dbs[0];
	for (int i = 0; i < 3; i++)
	{
		manifest_table *t = manifest_db_add_table(db);
		t->schema = xstrdup("s");
		t->name = xasprintf("t%d", i);
		t->columns = xcalloc(2, sizeof(char *));
		t->columns[t->ncolumns++] = xstrdup(i == 2 ? "c\xff" : "id");
		if (i == 1)
			continue;
		t->rows = 7;
		strcpy(t->checksum, "00000000000000000000000000000007");
		for (int p = 0; p < (i == 0 ? 2 : 1); p++)
		{
			manifest_part *pt = manifest_table_add_part(t);
			pt->file = xasprintf("databases/01-accounts/data/t%d.%03d.copy.zst", i, p);
			pt->rows = 7;
			strcpy(pt->checksum, t->checksum);
		}
	}
	manifest_db *empty = manifest_add_db(m);
	empty->name = xstrdup("empty");
	empty->dir = xstrdup("databases/02-empty");
	empty->encoding = xstrdup("UTF8");
	empty->schema_file = xstrdup("databases/02-empty/schema.dump");
	db = &m->dbs[0];			/* manifest_add_db may have moved it */
	archive_file_info info = {7, "aa"};
	memset(info.sha256, 'b', 64);
	info.sha256[64] = '\0';
	for (int i = 0; i < 3; i++)
	{
		char *fp = xasprintf("databases/01-accounts/f%d", i);
		manifest_add_file(&m->files, &m->nfiles, fp, &info);
		manifest_add_file(&db->files, &db->nfiles, fp, &info);
		free(fp);
	}
	TAP_EQ_INT(manifest_write(mroot, m, &err), 0, "a manifest of two databases, one without tables, written");
	char *mp = xasprintf("%s/manifest.json", mroot);
	TAP_OK(laid_out_as_jansson(mp), "manifest.json, written list by list, is laid out as jansson lays out the whole");
	TAP_EQ_INT(manifest_db_write(mroot, db, &err), 0, "its database.json written");
	char *dp = xasprintf("%s/databases/01-accounts/database.json", mroot);
	TAP_OK(laid_out_as_jansson(dp), "database.json too");
	manifest *back = manifest_read(mroot, &err);
	if (!back)
		printf("# %s: %s\n", err.message ? err.message : "", err.detail ? err.detail : "");
	TAP_OK(back && back->ndbs == 2 && back->dbs[0].ntables == 4 && back->dbs[1].ntables == 0 && back->nfiles == 3
		   && back->dbs[0].tables[1].nparts == 2 && back->dbs[0].tables[3].ncolumns == 1
		   && strcmp(back->dbs[0].tables[3].columns[0], "c\xff") == 0,
		   "and it reads back whole: databases, tables, parts, files, a column in hex");
	manifest_destroy(back);
	manifest_destroy(m);
	err_clear(&err);
	free(dp);
	free(mp);
	free(mroot);
}

static void
test_manifest_encodings(void)
{
	pgc_err err = PGC_ERR_INIT;
	char *mroot = xasprintf("%s/enc", root);
	manifest *m = sample_manifest();
	manifest_db *db = &m->dbs[0];
	free(db->name);
	db->name = xstrdup("db\xe9");
	free(db->owner);
	db->owner = xstrdup("r\xf4le");
	manifest_table *t = &db->tables[0];
	free(t->name);
	t->name = xstrdup("t\xebst");
	free(t->schema);
	t->schema = xstrdup("\xa4\xa2\xa4\xa4");	/* EUC_JP */
	free(t->columns[1]);
	t->columns[1] = xstrdup("c\xff\xfe");
	free(db->sequences[0].name);
	db->sequences[0].name = xstrdup("s\x80\xc0");
	int rc = manifest_write(mroot, m, &err);
	TAP_EQ_INT(rc, 0, "a manifest with non-UTF-8 names is written");
	if (rc != 0)
		printf("# %s: %s\n", err.message ? err.message : "", err.detail ? err.detail : "");
	err_clear(&err);
	manifest *back = rc == 0 ? manifest_read(mroot, &err) : NULL;
	TAP_OK(back != NULL, "and reads back");
	if (back && back->ndbs == 1 && back->dbs[0].ntables == 1 && back->dbs[0].nsequences == 1)
	{
		manifest_db *b = &back->dbs[0];
		TAP_EQ_STR(b->name, "db\xe9", "a LATIN1 database name survives byte for byte");
		TAP_EQ_STR(b->owner, "r\xf4le", "a LATIN1 owner survives");
		TAP_EQ_STR(b->tables[0].name, "t\xebst", "a LATIN1 table name survives");
		TAP_EQ_STR(b->tables[0].schema, "\xa4\xa2\xa4\xa4", "an EUC_JP schema name survives");
		TAP_EQ_STR(b->tables[0].columns[0], "id", "a UTF-8 column beside it survives");
		TAP_EQ_STR(b->tables[0].columns[1], "c\xff\xfe", "an invalid UTF-8 column survives");
		TAP_EQ_STR(b->sequences[0].name, "s\x80\xc0", "an SQL_ASCII sequence name survives");
	}
	else
		TAP_OK(false, "the manifest holds its database, table and sequence");
	manifest_destroy(back);
	char *mp = xasprintf("%s/manifest.json", mroot);
	FILE *f = fopen(mp, "r");
	char text[8192] = "";
	if (f)
	{
		size_t n = fread(text, 1, sizeof text - 1, f);
		text[n] = '\0';
		fclose(f);
	}
	TAP_CONTAINS(text, "\"name_hex\": \"74eb7374\"", "the bytes are recorded in hex beside the name");
	TAP_CONTAINS(text, "\"name\": \"t\xef\xbf\xbdst\"", "and the readable name marks what is not UTF-8");

	/* A value the JSON library refuses (a path is never written in hex)
	 * fails the whole manifest: none is written, nothing is left out. */
	unlink(mp);
	free(db->dir);
	db->dir = xstrdup("databases/01-\xff");
	TAP_EQ_INT(manifest_write(mroot, m, &err), -1, "a value that cannot be recorded fails the manifest");
	TAP_EQ_STR(err.message, "could not record $.databases[0].dir in the archive's manifest.json",
			   "the value is named by its JSON path");
	TAP_OK(!exists(mp), "and no manifest is written");
	err_clear(&err);
	TAP_EQ_INT(manifest_db_write(mroot, db, &err), -1, "nor a database record");
	err_clear(&err);

	/* A hand-edited hex field is refused by its JSON path. */
	write_text(mp, "{\"format\": \"pgcarry-archive\", \"format_version\": 1, \"pgcarry_version\": \"0\","
			   "\"created_at\": \"x\", \"source\": {}, \"compression\": {\"method\": \"zstd\"},"
			   "\"databases\": [{\"name\": \"a\", \"name_hex\": \"6g\", \"dir\": \"d\"}], \"files\": []}");
	back = manifest_read(mroot, &err);
	TAP_OK(back == NULL, "a malformed name_hex is refused");
	TAP_EQ_STR(err.detail, "$.databases[0].name_hex: expected an even number of hex digits.",
			   "malformed name_hex named by its JSON path");
	err_clear(&err);
	manifest_destroy(back);
	manifest_destroy(m);
	free(mp);
	free(mroot);
}

/* Runs the archive check of aroot against m; returns the number of
 * problems, and the first one's message in first (empty when none). */
static int
check_archive(const char *aroot, const manifest *m, const char *dbname, unsigned flags,
			  char first[512])
{
	pgc_err err = PGC_ERR_INIT;
	archive_verify_report rep = {0};
	if (archive_verify_run(aroot, m, dbname, dbname == NULL, flags, &rep, &err) != 0)
		snprintf(first, 512, "check failed: %s", err.message ? err.message : "");
	else
		snprintf(first, 512, "%s", rep.nproblems ? rep.problems[0].message : "");
	int n = rep.nproblems;
	archive_verify_report_free(&rep);
	err_clear(&err);
	return n;
}

static void
test_tar_and_verify(void)
{
	pgc_err err = PGC_ERR_INIT;
	char *aroot = xasprintf("%s/a", root);
	char *saved = root;
	root = aroot;
	manifest *m = sample_manifest();
	archive_file_info i1 = make_file("databases/01-accounts/schema.dump", 0, "PGDMP fake", 1);
	archive_file_info i2 = make_file("databases/01-accounts/data/00001-public.odd.000.copy.zst", 3, "1\tx\n", 42);
	manifest_add_file(&m->files, &m->nfiles, "databases/01-accounts/schema.dump", &i1);
	manifest_add_file(&m->files, &m->nfiles, "databases/01-accounts/data/00001-public.odd.000.copy.zst", &i2);
	manifest_write(aroot, m, &err);
	root = saved;

	archive_verify_report rep = {0};
	char first[512];
	TAP_EQ_INT(check_archive(aroot, m, NULL, 0, first), 0, "a whole archive has no problems");

	/* A file on disk that the manifest does not list, a listed file that
	 * belongs to no entry, a table whose count is not its parts'. */
	root = aroot;
	make_file("databases/01-accounts/data/00009-stray.000.copy.zst", 3, "1\n", 1);
	root = saved;
	TAP_EQ_INT(check_archive(aroot, m, NULL, 0, first), 1, "a stray file is found");
	TAP_EQ_STR(first, "archive file \"databases/01-accounts/data/00009-stray.000.copy.zst\" is not listed in the manifest",
			   "a stray file is named");
	char *stray = xasprintf("%s/databases/01-accounts/data/00009-stray.000.copy.zst", aroot);
	unlink(stray);
	free(stray);
	manifest_add_file(&m->files, &m->nfiles, "databases/01-accounts/extra.sql", &i1);
	check_archive(aroot, m, NULL, 0, first);
	TAP_CONTAINS(first, "archive file \"databases/01-accounts/extra.sql\" belongs to no table or other entry of the manifest",
				 "a listed file nothing refers to is named");
	m->nfiles--;
	free(m->files[m->nfiles].path);
	m->dbs[0].tables[0].rows = 43;
	check_archive(aroot, m, NULL, 0, first);
	TAP_CONTAINS(first, "table public.odd \"name\" of database \"accounts\" disagrees with its data files in the manifest: "
				 "43 rows", "a table that is not the sum of its parts is named");
	m->dbs[0].tables[0].rows = 42;
	TAP_EQ_INT(check_archive(aroot, m, NULL, ARCHIVE_VERIFY_DATA, first), 1, "the data file is read again");
	TAP_CONTAINS(first, "does not match the manifest: expected 42 rows (checksum 000102030405060708090a0b0c0d0e0f), found 42 rows",
				 "its rows are counted and hashed against the manifest");

	/* Tar round trip. */
	char *tarp = xasprintf("%s/a.tar", root);
	tarstream_writer *tw = tarstream_writer_create(tarp, &err);
	const char *names[] = {"databases/01-accounts/schema.dump",
		"databases/01-accounts/data/00001-public.odd.000.copy.zst", "manifest.json"};
	for (int i = 0; i < 3; i++)
	{
		char *src = xasprintf("%s/%s", aroot, names[i]);
		tarstream_writer_add_file(tw, names[i], src, &err);
		free(src);
	}
	TAP_EQ_INT(tarstream_writer_finish(tw, &err), 0, "tar written");
	tarstream_writer_destroy(tw);
	TAP_EQ_INT(mode_of(tarp), 0600, "tar file is mode 0600");
	char *entry = tarstream_first_entry(tarp);
	TAP_EQ_STR(entry, "databases/", "first tar entry is the first directory");
	free(entry);
	char *x = xasprintf("%s/x", root);
	mkdir(x, 0700);
	TAP_EQ_INT(tarstream_extract(tarp, x, &err), 0, "tar unpacks");
	manifest *mx = manifest_read(x, &err);
	TAP_OK(mx != NULL, "unpacked manifest reads");
	if (mx)
	{
		TAP_EQ_INT(archive_verify_run(x, mx, NULL, true, 0, &rep, &err), 0, "check of unpacked tar runs");
		TAP_EQ_INT(rep.nproblems, 0, "unpacked tar is whole");
		archive_verify_report_free(&rep);
	}
	manifest_destroy(mx);
	struct stat st;
	stat(tarp, &st);
	TAP_EQ_INT(truncate(tarp, st.st_size - 1024 - 100), 0, "cut the tar inside its last entry");
	char *y = xasprintf("%s/y", root);
	mkdir(y, 0700);
	TAP_EQ_INT(tarstream_extract(tarp, y, &err), -1, "a cut tar fails to unpack");
	TAP_CONTAINS(err.message, "is truncated or damaged", "cut tar named");
	err_clear(&err);

	/* Flip, cut, remove: each problem named. */
	char *dp = xasprintf("%s/databases/01-accounts/data/00001-public.odd.000.copy.zst", aroot);
	int fd = open(dp, O_RDWR);
	char c;
	pread(fd, &c, 1, 5);
	c ^= 1;
	pwrite(fd, &c, 1, 5);
	close(fd);
	TAP_EQ_INT(check_archive(aroot, m, NULL, 0, first), 1, "flipped byte found");
	TAP_CONTAINS(first, "archive file \"databases/01-accounts/data/00001-public.odd.000.copy.zst\" has the wrong checksum: expected sha256 ",
				 "flipped byte named");
	truncate(dp, 3);
	check_archive(aroot, m, NULL, 0, first);
	TAP_CONTAINS(first, "has the wrong size: expected ", "cut file named");
	unlink(dp);
	check_archive(aroot, m, NULL, 0, first);
	TAP_CONTAINS(first, "is missing", "missing file named");
	TAP_EQ_INT(check_archive(aroot, m, "otherdb", 0, first), 0, "another database's files are not checked");

	manifest_destroy(m);
	free(dp);
	free(x);
	free(y);
	free(tarp);
	free(aroot);
}

static void
test_dump_detect(void)
{
	pgc_err err = PGC_ERR_INIT;
	char *n = archive_dump_name_from_path("/backups/accounts.sql.tar");
	TAP_EQ_STR(n, "accounts", "the guide's DB.sql.tar names its database");
	free(n);
	n = archive_dump_name_from_path("results201709.dump");
	TAP_EQ_STR(n, "results201709", ".dump is cut");
	free(n);
	n = archive_dump_name_from_path("dir/metrics.dir/");
	TAP_EQ_STR(n, "metrics", "a directory dump names its database");
	free(n);
	n = archive_dump_name_from_path("plain");
	TAP_EQ_STR(n, "plain", "a name without extension stays");
	free(n);

	char *d = xasprintf("%s/detect", root);
	mkdir(d, 0700);
	char *f = xasprintf("%s/c.bin", d);
	write_text(f, "PGDMP\001\016rest of a custom dump");
	archive_dump_kind k = ARCHIVE_DUMP_SQL;
	TAP_EQ_INT(archive_dump_detect(f, &k, &err), 0, "custom dump detected");
	TAP_EQ_INT(k, ARCHIVE_DUMP_CUSTOM, "PGDMP magic means custom format");
	write_text(f, "CREATE TABLE t (id int);\n");
	archive_dump_detect(f, &k, &err);
	TAP_EQ_INT(k, ARCHIVE_DUMP_SQL, "anything else is plain SQL");
	write_text(f, "");
	TAP_EQ_INT(archive_dump_detect(f, &k, &err), -1, "an empty file is refused");
	TAP_CONTAINS(err.message, "is empty", "an empty file is named");
	err_clear(&err);
	char *toc = xasprintf("%s/toc.dat", d);
	write_text(toc, "x");
	archive_dump_detect(d, &k, &err);
	TAP_EQ_INT(k, ARCHIVE_DUMP_DIRECTORY, "a directory with toc.dat is pg_dump's directory format");
	unlink(toc);
	TAP_EQ_INT(archive_dump_detect(d, &k, &err), -1, "a directory with neither manifest nor toc.dat is refused");
	TAP_CONTAINS(err.message, "neither a pgcarry archive nor a pg_dump directory archive", "and named");
	err_clear(&err);

	/* A tar whose first entry is toc.dat is pg_dump's tar format. */
	char *tarp = xasprintf("%s/t.tar", d);
	tarstream_writer *tw = tarstream_writer_create(tarp, &err);
	write_text(toc, "x");
	tarstream_writer_add_file(tw, "toc.dat", toc, &err);
	tarstream_writer_finish(tw, &err);
	tarstream_writer_destroy(tw);
	archive_dump_detect(tarp, &k, &err);
	TAP_EQ_INT(k, ARCHIVE_DUMP_TAR, "a tar starting with toc.dat is pg_dump's tar format");
	unlink(tarp);
	tw = tarstream_writer_create(tarp, &err);
	tarstream_writer_add_file(tw, "manifest.json", toc, &err);
	tarstream_writer_finish(tw, &err);
	tarstream_writer_destroy(tw);
	archive_dump_detect(tarp, &k, &err);
	TAP_EQ_INT(k, ARCHIVE_DUMP_PGCARRY_TAR, "another tar is a pgcarry archive");
	err_clear(&err);
	free(tarp);
	free(toc);
	free(f);
	free(d);
}

/* The check of an archive of n one-part tables (files empty, on disk):
 * its CPU seconds; problems found in *problems. */
static double
verify_n_tables(int n, int *problems)
{
	pgc_err err = PGC_ERR_INIT;
	char *dir = xasprintf("%s/many-%d", root, n);
	char *sub = xasprintf("%s/db", dir);
	mkdir(dir, 0700);
	mkdir(sub, 0700);
	manifest *m = manifest_create();
	m->compression = xstrdup("none");
	manifest_db *db = manifest_add_db(m);
	db->name = xstrdup("many");
	db->dir = xstrdup("db");
	rowhash h;
	rowhash_init(&h);
	char hex[ROWHASH_HEX_LEN + 1];
	rowhash_hex(&h, hex);
	archive_file_info empty = {0};
	for (int i = 0; i < n; i++)
	{
		manifest_table *t = manifest_db_add_table(db);
		t->schema = xstrdup("public");
		t->name = xasprintf("t%d", i);
		strcpy(t->checksum, hex);
		manifest_part *p = manifest_table_add_part(t);
		p->file = xasprintf("db/%05d-public.t%d.000.copy", i, i);
		strcpy(p->checksum, hex);
		char *full = xasprintf("%s/%s", dir, p->file);
		int fd = open(full, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		close(fd);
		if (i == 0 && archive_file_checksum(full, &empty, &err) != 0)
			err_clear(&err);
		free(full);
		manifest_add_file(&m->files, &m->nfiles, p->file, &empty);
	}
	/* The lesser of three runs: other work on the machine only adds. */
	double spent = 0;
	for (int run = 0; run < 3; run++)
	{
		archive_verify_report rep = {0};
		double t0 = tap_cpu_seconds();
		int rc = archive_verify_run(dir, m, NULL, true, 0, &rep, &err);
		double t = tap_cpu_seconds() - t0;
		spent = run == 0 || t < spent ? t : spent;
		*problems = rc == 0 ? (int) rep.nproblems : -1;
		archive_verify_report_free(&rep);
		err_clear(&err);
	}
	manifest_destroy(m);
	free(sub);
	free(dir);
	return spent;
}

/* The archive check looks files up by path: its cost grows with the
 * number of tables, not with its square (a linear search per file made
 * 4x the tables cost 16x; sorted lookups cost a little over 4x). */
static void
test_verify_scales(void)
{
	int p1 = 0, p4 = 0;
	double t1 = verify_n_tables(5000, &p1);
	double t4 = verify_n_tables(20000, &p4);
	TAP_EQ_INT(p1, 0, "archive of 5,000 tables checks clean");
	TAP_EQ_INT(p4, 0, "archive of 20,000 tables checks clean");
	double ratio = t4 / (t1 > 0.001 ? t1 : 0.001);
	printf("# check of 5,000 tables: %.3f s CPU, of 20,000: %.3f s CPU (%.1fx)\n", t1, t4, ratio);
	TAP_OK(ratio < 8.0, "4x the tables cost less than 8x the CPU in the archive check");
}

/* The reading of pg_restore --list lines for import's choice. */
static void
test_choose_split(void)
{
	static const char *const schemas[] = {"public", "sales", "Odd Schema", "Odd"};
	static const struct
	{
		const char *line, *kind, *schema, *name;
	}			cases[] = {
		{"TABLE public users postgres", "TABLE", "public", "users"},
		{"TABLE DATA public users postgres", "TABLE DATA", "public", "users"},
		{"SEQUENCE OWNED BY public users_id_seq postgres", "SEQUENCE OWNED BY", "public", "users_id_seq"},
		{"FK CONSTRAINT public orders orders_who_fkey app owner", "FK CONSTRAINT", "public", "orders orders_who_fkey app"},
		{"DEFAULT public users id postgres", "DEFAULT", "public", "users id"},
		{"SCHEMA - sales postgres", "SCHEMA", NULL, "sales"},
		{"TABLE Odd Schema t postgres", "TABLE", "Odd Schema", "t"},
		{"MATERIALIZED VIEW DATA sales mv postgres", "MATERIALIZED VIEW DATA", "sales", "mv"},
		{"INDEX ATTACH public p_1_idx postgres", "INDEX ATTACH", "public", "p_1_idx"},
		{"COMMENT public COLUMN users.name postgres", "COMMENT", "public", "COLUMN users.name"},
		{"EXTENSION - pg_trgm ", "EXTENSION", NULL, "pg_trgm"},
		{"TABLE elsewhere t postgres", "TABLE", "elsewhere", "t"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
	{
		char	   *kind, *schema, *name;
		archive_choose__split(cases[i].line, schemas, 4, &kind, &schema, &name);
		char	   *what = xasprintf("choose: \"%s\"", cases[i].line);
		TAP_EQ_STR(kind, cases[i].kind, what);
		TAP_OK(cases[i].schema ? schema && strcmp(schema, cases[i].schema) == 0 : schema == NULL, what);
		TAP_EQ_STR(name, cases[i].name, what);
		free(what);
		free(kind);
		free(schema);
		free(name);
	}
}

int
main(void)
{
	pgc_err err = PGC_ERR_INIT;
	const char *tmp = cleanup_private_tmpdir(&err);
	if (!tmp)
		return 1;
	root = xasprintf("%s/archive", tmp);
	test_files();
	test_manifest();
	test_manifest_layout();
	test_manifest_encodings();
	test_tar_and_verify();
	test_dump_detect();
	test_verify_scales();
	test_choose_split();
	free(root);
	cleanup_run();
	return TAP_DONE();
}
