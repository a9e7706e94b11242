/*
 * migfile.c: reading, checking and creating migration files (see
 * migfile.h).
 *
 * How it works: the directory's *.sql files are read whole; each name is
 * split into VERSION and NAME; the text is scanned once by PostgreSQL's
 * lexer (so section lines inside a string or a dollar-quoted body do not
 * count) and cut at the "-- migrate:up" / "-- migrate:down" comment lines;
 * each section is parsed into statements by PostgreSQL's parser, so a
 * syntax error stops the load with its line and column.  The set is sorted by version and checked for
 * duplicates.  The first problem found stops the load: a half-read
 * directory is never used to change a database.
 */
#include "schema/migfile.h"

#include "schema/lint.h"
#include "util/buf.h"
#include "util/xalloc.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char migfile_template[] =
	"-- migrate:up\n"
	"\n"
	"\n"
	"-- migrate:down\n"
	"\n";

/* ------------------------------------------------------------------------
 * Names and versions
 * ------------------------------------------------------------------------ */

bool
migfile_name_ok(const char *name)
{
	if (!name || !*name || strlen(name) > 200)
		return false;
	for (const char *p = name; *p; p++)
		if (!isalnum((unsigned char) *p) && *p != '_' && *p != '-')
			return false;
	return true;
}

int
migfile_parse_name(const char *file, char **version, char **name)
{
	size_t n = strlen(file);
	if (n < 7 || strcmp(file + n - 4, ".sql") != 0)
		return -1;
	size_t v = 0;
	while (v < n && isdigit((unsigned char) file[v]))
		v++;
	if (v == 0 || v > 40 || file[v] != '_')
		return -1;
	char *nm = xstrndup(file + v + 1, n - 4 - v - 1);
	if (!migfile_name_ok(nm))
	{
		free(nm);
		return -1;
	}
	*version = xstrndup(file, v);
	*name = nm;
	return 0;
}

int
migfile_compare_versions(const char *a, const char *b)
{
	while (*a == '0' && a[1])
		a++;
	while (*b == '0' && b[1])
		b++;
	size_t la = strlen(a), lb = strlen(b);
	if (la != lb)
		return la < lb ? -1 : 1;
	return strcmp(a, b);
}

char *
migfile_sha256_hex(const void *data, size_t len)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	if (!EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL))
		abort();				/* only on out of memory inside OpenSSL */
	char *hex = xmalloc(mdlen * 2 + 1);
	for (unsigned int i = 0; i < mdlen; i++)
		snprintf(hex + i * 2, 3, "%02x", md[i]);
	return hex;
}

const migfile *
migfile_find(const migfile_set *s, const char *version)
{
	for (size_t i = 0; i < s->n; i++)
		if (migfile_compare_versions(s->items[i].version, version) == 0)
			return &s->items[i];
	return NULL;
}

/* ------------------------------------------------------------------------
 * Sections
 * ------------------------------------------------------------------------ */

/* 1 for "-- migrate:up", 2 for "-- migrate:down", 0 otherwise. */
static int
migfile_marker(const char *text, const sqlparse_token *t)
{
	if (!t->line_comment)
		return 0;
	const char *p = text + t->off + 2, *end = text + t->off + t->len;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	static const char up[] = "migrate:up", down[] = "migrate:down";
	int which = 0;
	size_t n = 0;
	if ((size_t) (end - p) >= sizeof up - 1 && strncmp(p, up, sizeof up - 1) == 0)
		which = 1, n = sizeof up - 1;
	else if ((size_t) (end - p) >= sizeof down - 1 && strncmp(p, down, sizeof down - 1) == 0)
		which = 2, n = sizeof down - 1;
	if (!which)
		return 0;
	p += n;
	if (p < end && !isspace((unsigned char) *p))
		return 0;
	/* Only at the start of a line. */
	for (size_t i = t->off; i > 0; i--)
	{
		char c = text[i - 1];
		if (c == '\n')
			break;
		if (c != ' ' && c != '\t')
			return 0;
	}
	return which;
}

static int
migfile_check_section(const char *file, const char *section, sqlparse_list *l, pgc_err *err)
{
	for (size_t i = 0; i < l->n; i++)
	{
		const sqlparse_stmt *st = &l->items[i];
		lint_info info;
		lint_classify(st, &info);
		bool txc = info.tx_control;
		bool copy_stdio = info.copy_stdio;
		lint_info_free(&info);
		if (copy_stdio)
		{
			err_set(err, "migration file %s has COPY ... FROM STDIN on line %d", file, st->line);
			err_detail(err, "Migration files are SQL only; pgcarry sends no COPY data.");
			err_hint(err, "Load the rows with INSERT statements in the file, or COPY them from a file on the "
					 "server.");
			return -1;
		}
		if (txc)
		{
			err_set(err, "migration file %s has a transaction statement (%.*s) on line %d", file,
					(int) strcspn(st->sql, " \t\r\n;"), st->sql, st->line);
			err_detail(err, "pgcarry runs each migration's %s section in its own transaction, and statements "
					   "that cannot run in one (such as CREATE INDEX CONCURRENTLY) on their own.", section);
			err_hint(err, "Remove BEGIN, COMMIT and similar statements from the file.");
			return -1;
		}
	}
	return 0;
}

int
migfile_parse_text(const char *file, const char *text, size_t len, migfile *f, pgc_err *err)
{
	sqlparse_token *toks = NULL;
	size_t n = 0;
	/* A UTF-8 byte order mark, as some editors write, is not SQL. */
	if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
	{
		text += 3;
		len -= 3;
	}
	if (sqlparse_tokens(text, len, 1, file, &toks, &n, err) != 0)
	{
		err_prefix(err, "migration file ");
		return -1;
	}
	ssize_t up = -1, down = -1;
	int rc = -1;
	for (size_t i = 0; i < n; i++)
	{
		int m = migfile_marker(text, &toks[i]);
		if (m == 0)
		{
			if (up < 0 && down < 0 && !toks[i].comment)
			{
				err_set(err, "migration file %s has SQL before its \"-- migrate:up\" line (line %d)", file,
						toks[i].line);
				err_hint(err, "Put the statements that apply the change after a line \"-- migrate:up\", and "
						 "those that undo it after a line \"-- migrate:down\".");
				goto done;
			}
			continue;
		}
		if ((m == 1 && up >= 0) || (m == 2 && down >= 0))
		{
			err_set(err, "migration file %s has more than one \"-- migrate:%s\" line (line %d)", file,
					m == 1 ? "up" : "down", toks[i].line);
			err_hint(err, "Keep one up section and at most one down section per file; put further changes "
					 "in a new migration.");
			goto done;
		}
		if (m == 1)
			up = (ssize_t) i;
		else
			down = (ssize_t) i;
	}
	if (up < 0)
	{
		err_set(err, "migration file %s has no \"-- migrate:up\" section", file);
		err_hint(err, "Put the statements that apply the change after a line \"-- migrate:up\", and those "
				 "that undo it after a line \"-- migrate:down\".");
		goto done;
	}
	for (int s = 0; s < 2; s++)
	{
		ssize_t at = s == 0 ? up : down;
		if (at < 0)
			continue;
		ssize_t other = s == 0 ? down : up;
		size_t from = toks[at].off + toks[at].len;
		size_t to = (other > at) ? toks[other].off : len;
		sqlparse_list *l = s == 0 ? &f->up : &f->down;
		if (sqlparse_split(text + from, to - from, toks[at].line, file, l, err) != 0)
		{
			/* Rows after a COPY FROM STDIN are not SQL: say that instead. */
			pgc_err cerr = PGC_ERR_INIT;
			if (migfile_check_section(file, s == 0 ? "up" : "down", l, &cerr) != 0)
				err_move(err, &cerr);
			else
				err_prefix(err, "migration file ");
			err_clear(&cerr);
			goto done;
		}
		if (migfile_check_section(file, s == 0 ? "up" : "down", l, err) != 0)
			goto done;
	}
	f->has_down = down >= 0;
	if (f->up.n == 0)
	{
		err_set(err, "migration file %s has an empty \"-- migrate:up\" section", file);
		err_hint(err, "Write the statements that apply the change after \"-- migrate:up\", or delete the file.");
		goto done;
	}
	rc = 0;
done:
	if (rc != 0)
	{
		sqlparse_list_free(&f->up);
		sqlparse_list_free(&f->down);
	}
	free(toks);
	return rc;
}

/* ------------------------------------------------------------------------
 * Directory
 * ------------------------------------------------------------------------ */

static void
migfile_free_one(migfile *f)
{
	free(f->version);
	free(f->name);
	free(f->file);
	free(f->path);
	free(f->checksum);
	sqlparse_list_free(&f->up);
	sqlparse_list_free(&f->down);
}

void
migfile_set_free(migfile_set *s)
{
	for (size_t i = 0; i < s->n; i++)
		migfile_free_one(&s->items[i]);
	free(s->items);
	s->items = NULL;
	s->n = 0;
}

static int
migfile_cmp(const void *a, const void *b)
{
	return migfile_compare_versions(((const migfile *) a)->version, ((const migfile *) b)->version);
}

/* Reads a whole file; returns its bytes (NUL-terminated, owned) or NULL. */
static char *
migfile_read(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	if (!fp)
		return NULL;
	buf_t b = {0};
	char chunk[8192];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0)
		buf_append(&b, chunk, n);
	bool bad = ferror(fp);
	fclose(fp);
	if (bad)
	{
		buf_free(&b);
		return NULL;
	}
	*len = b.len;
	return buf_steal(&b);
}

int
migfile_load_dir(const char *dir, migfile_set *out, pgc_err *err)
{
	out->items = NULL;
	out->n = 0;
	DIR *d = opendir(dir);
	if (!d)
	{
		if (errno == ENOENT)
		{
			err_set(err, "migration directory \"%s\" does not exist", dir);
			err_hint(err, "Create it with \"pgcarry schema init\", or point --dir at it.");
		}
		else
		{
			err_set(err, "could not open migration directory \"%s\": %s", dir, strerror(errno));
			err_hint(err, "Check the path given with --dir and its permissions.");
		}
		return -1;
	}
	struct dirent *de;
	int rc = 0;
	while ((de = readdir(d)) != NULL)
	{
		const char *fn = de->d_name;
		size_t fl = strlen(fn);
		if (fn[0] == '.' || fl < 4 || strcmp(fn + fl - 4, ".sql") != 0)
			continue;
		char *path = xasprintf("%s/%s", dir, fn);
		struct stat stbuf;
		if (stat(path, &stbuf) != 0 || !S_ISREG(stbuf.st_mode))
		{
			free(path);
			continue;
		}
		migfile f = {0};
		if (migfile_parse_name(fn, &f.version, &f.name) != 0)
		{
			err_set(err, "migration file name \"%s\" is not VERSION_NAME.sql", fn);
			err_detail(err, "VERSION is digits that sort in the order to apply (for example 20261122093000), "
					   "NAME is letters, digits, '_' or '-'.");
			err_hint(err, "Rename the file, for example to 20261122093000_%s; \"pgcarry schema new NAME\" "
					 "creates files with the right name.", "add_users.sql");
			free(path);
			rc = -1;
			break;
		}
		f.file = xstrdup(fn);
		f.path = path;
		size_t len = 0;
		char *text = migfile_read(path, &len);
		if (!text)
		{
			err_set(err, "could not read migration file %s: %s", path, strerror(errno));
			migfile_free_one(&f);
			rc = -1;
			break;
		}
		f.checksum = migfile_sha256_hex(text, len);
		int prc = migfile_parse_text(fn, text, len, &f, err);
		free(text);
		if (prc != 0)
		{
			migfile_free_one(&f);
			rc = -1;
			break;
		}
		out->items = xrealloc(out->items, (out->n + 1) * sizeof *out->items);
		out->items[out->n++] = f;
	}
	closedir(d);
	if (rc == 0 && out->n > 1)
	{
		qsort(out->items, out->n, sizeof *out->items, migfile_cmp);
		for (size_t i = 1; i < out->n; i++)
			if (migfile_compare_versions(out->items[i - 1].version, out->items[i].version) == 0)
			{
				err_set(err, "migration files %s and %s have the same version", out->items[i - 1].file,
						out->items[i].file);
				err_hint(err, "Give one of them a new version (\"pgcarry schema new NAME\" picks the current "
						 "time); versions decide the order migrations run in.");
				rc = -1;
				break;
			}
	}
	if (rc != 0)
		migfile_set_free(out);
	return rc;
}

/* ------------------------------------------------------------------------
 * Creating
 * ------------------------------------------------------------------------ */

/* The decimal string v plus one; owned by the caller. */
static char *
migfile_increment(const char *v)
{
	size_t n = strlen(v);
	char *s = xmalloc(n + 2);
	memcpy(s + 1, v, n + 1);
	s[0] = '0';
	for (size_t i = n; i > 0; i--)
	{
		if (s[i] < '9')
		{
			s[i]++;
			break;
		}
		s[i] = '0';
		if (i == 1)
			s[0] = '1';
	}
	if (s[0] == '0')
		memmove(s, s + 1, n + 1);
	return s;
}

int
migfile_create(const char *dir, const char *name, char **path_out, pgc_err *err)
{
	*path_out = NULL;
	if (!migfile_name_ok(name))
	{
		err_set(err, "migration name \"%s\" may only hold letters, digits, '_' and '-'", name);
		err_hint(err, "Use a short name such as add_users_email.");
		err->exit_status = EXIT_USAGE;
		return -1;
	}
	migfile_set set;
	if (migfile_load_dir(dir, &set, err) != 0)
		return -1;
	char version[32];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(version, sizeof version, "%Y%m%d%H%M%S", &tm);
	char *v = xstrdup(version);
	if (set.n > 0 && migfile_compare_versions(set.items[set.n - 1].version, v) >= 0)
	{
		free(v);
		v = migfile_increment(set.items[set.n - 1].version);
	}
	migfile_set_free(&set);
	char *path = xasprintf("%s/%s_%s.sql", dir, v, name);
	free(v);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
	if (fd < 0)
	{
		err_set(err, "could not create migration file %s: %s", path, strerror(errno));
		err_hint(err, "Check that the directory is writable.");
		free(path);
		return -1;
	}
	(void) fchmod(fd, 0644);
	ssize_t w = write(fd, migfile_template, sizeof migfile_template - 1);
	int crc = close(fd);
	if (w != (ssize_t) (sizeof migfile_template - 1) || crc != 0)
	{
		err_set(err, "could not write migration file %s: %s", path, strerror(errno));
		unlink(path);
		free(path);
		return -1;
	}
	*path_out = path;
	return 0;
}
