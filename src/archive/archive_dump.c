/*
 * archive_dump.c: recognising import input, and loading pg_dump's own
 * formats with pg_restore or psql (see archive_dump.h).
 */
#include "archive/archive_dump.h"

#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "core/ddl.h"
#include "archive/archive_target.h"
#include "archive/manifest.h"
#include "archive/tarstream.h"
#include "conn.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/xalloc.h"

/* What a database holds, for the report after a load. */
static const char archive_dump_report_sql[] =
	"SELECT count(*) FILTER (WHERE c.relkind IN ('r', 'p')), "
	"       count(*) FILTER (WHERE c.relkind IN ('v', 'm')), "
	"       count(*) FILTER (WHERE c.relkind = 'S'), "
	"       count(*) FILTER (WHERE c.relkind IN ('i', 'I')), "
	"       (SELECT count(*) FROM pg_largeobject_metadata), "
	"       (SELECT count(*) FROM pg_proc p JOIN pg_namespace pn ON pn.oid = p.pronamespace "
	"         WHERE pn.nspname NOT IN ('pg_catalog', 'information_schema')) "
	"FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
	"WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp)'";

const char *
archive_dump_kind_name(archive_dump_kind kind)
{
	switch (kind)
	{
		case ARCHIVE_DUMP_PGCARRY_DIR:
			return "pgcarry archive";
		case ARCHIVE_DUMP_PGCARRY_TAR:
			return "pgcarry tar archive";
		case ARCHIVE_DUMP_CUSTOM:
			return "pg_dump custom archive";
		case ARCHIVE_DUMP_DIRECTORY:
			return "pg_dump directory archive";
		case ARCHIVE_DUMP_TAR:
			return "pg_dump tar archive";
		case ARCHIVE_DUMP_SQL:
			return "plain SQL file";
	}
	return "input";
}

int
archive_dump_detect(const char *path, archive_dump_kind *kind, pgc_err *err)
{
	if (strcmp(path, "-") == 0)
	{
		*kind = ARCHIVE_DUMP_PGCARRY_TAR;
		return 0;
	}
	struct stat st;
	if (stat(path, &st) != 0)
	{
		err_set(err, "input \"%s\" does not exist", path);
		return -1;
	}
	if (S_ISDIR(st.st_mode))
	{
		char *m = xasprintf("%s/%s", path, MANIFEST_NAME);
		char *t = xasprintf("%s/toc.dat", path);
		struct stat s2;
		int rc = 0;
		if (stat(t, &s2) == 0)
			*kind = ARCHIVE_DUMP_DIRECTORY;
		else if (stat(m, &s2) == 0)
			*kind = ARCHIVE_DUMP_PGCARRY_DIR;
		else
		{
			err_set(err, "directory \"%s\" is neither a pgcarry archive nor a pg_dump directory archive", path);
			err_detail(err, "It holds no manifest.json and no toc.dat.");
			err_hint(err, "An interrupted export has no manifest: finish it with \"pgcarry export --resume\".");
			rc = -1;
		}
		free(m);
		free(t);
		return rc;
	}
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
	{
		err_set(err, "could not open \"%s\": %s", path, strerror(errno));
		return -1;
	}
	char head[512];
	ssize_t n = read(fd, head, sizeof head);
	close(fd);
	if (n <= 0)
	{
		err_set(err, "input \"%s\" is empty", path);
		return -1;
	}
	if (n >= 5 && memcmp(head, "PGDMP", 5) == 0)
	{
		*kind = ARCHIVE_DUMP_CUSTOM;
		return 0;
	}
	/* A tar has "ustar" at offset 257 of its first header. */
	if (n == 512 && memcmp(head + 257, "ustar", 5) == 0)
	{
		char *first = tarstream_first_entry(path);
		bool toc = first && (strcmp(first, "toc.dat") == 0 || strcmp(first, "./toc.dat") == 0);
		free(first);
		*kind = toc ? ARCHIVE_DUMP_TAR : ARCHIVE_DUMP_PGCARRY_TAR;
		return 0;
	}
	*kind = ARCHIVE_DUMP_SQL;
	return 0;
}

char *
archive_dump_name_from_path(const char *path)
{
	static const char *const exts[] = {".sql.tar", ".tar", ".sql", ".dump", ".backup", ".custom",
		".dir", ".pgdump", NULL};
	size_t len = strlen(path);
	while (len > 1 && path[len - 1] == '/')
		len--;
	const char *base = path;
	for (size_t i = 0; i < len; i++)
		if (path[i] == '/')
			base = path + i + 1;
	char *name = xstrndup(base, len - (size_t) (base - path));
	for (int i = 0; exts[i]; i++)
	{
		size_t n = strlen(name), e = strlen(exts[i]);
		if (n > e && strcasecmp(name + n - e, exts[i]) == 0)
		{
			name[n - e] = '\0';
			break;
		}
	}
	return name;
}

/* The database name written in a pg_dump archive's header, or NULL. */
static char *
archive_dump_header_dbname(const char *path)
{
	buf_t out = {0}, errout = {0};
	const char *argv[] = {"pg_restore", "-l", path, NULL};
	ddl_child_io io = {.out = &out, .errout = &errout};
	pgc_err err = PGC_ERR_INIT;
	char *name = NULL;
	if (ddl_run(argv, &io, &err) == 0 && out.data)
	{
		const char *p = strstr(out.data, ";     dbname: ");
		if (p)
		{
			p += strlen(";     dbname: ");
			name = xstrndup(p, strcspn(p, "\n"));
		}
	}
	err_clear(&err);
	buf_free(&out);
	buf_free(&errout);
	return name;
}

/* Whether a plain SQL file can run in one transaction: no statements
 * that refuse a transaction block, no \connect.  Sets *why. */
static bool
archive_dump_sql_transactional(const char *path, char **why)
{
	static const char *const words[] = {"CREATE DATABASE", "DROP DATABASE", "VACUUM", "CONCURRENTLY",
		"ALTER SYSTEM", "CREATE TABLESPACE", "DROP TABLESPACE", "COMMIT;", "BEGIN;", NULL};
	FILE *f = fopen(path, "r");
	if (!f)
		return true;
	char *line = NULL;
	size_t cap = 0;
	long lineno = 0;
	bool ok = true;
	while (ok && getline(&line, &cap, f) >= 0)
	{
		lineno++;
		const char *p = line + strspn(line, " \t");
		if (strncmp(p, "--", 2) == 0)
			continue;
		if (strncmp(p, "\\connect", 8) == 0 || strncmp(p, "\\c ", 3) == 0)
		{
			*why = xasprintf("line %ld switches databases (\\connect)", lineno);
			ok = false;
			break;
		}
		for (int i = 0; words[i]; i++)
			if (strncasecmp(p, words[i], strlen(words[i])) == 0 ||
				(strcmp(words[i], "CONCURRENTLY") == 0 && strcasestr(p, words[i])))
			{
				*why = xasprintf("line %ld runs %s", lineno, words[i]);
				ok = false;
				break;
			}
	}
	free(line);
	fclose(f);
	return ok;
}

/* Turns psql's "psql:FILE:LINE: ERROR:  text" into the error. */
static void
archive_dump_psql_error(pgc_err *err, const char *path, const char *errout, bool single)
{
	regex_t re;
	const char *text = errout ? errout : "";
	regcomp(&re, "psql:(.*):([0-9]+): (ERROR|FATAL|error):  ?([^\n]*)", REG_EXTENDED);
	regmatch_t mm[5];
	if (regexec(&re, text, 5, mm, 0) == 0)
	{
		char *line = xstrndup(text + mm[2].rm_so, (size_t) (mm[2].rm_eo - mm[2].rm_so));
		char *msg = xstrndup(text + mm[4].rm_so, (size_t) (mm[4].rm_eo - mm[4].rm_so));
		err_set(err, "plain SQL file \"%s\" failed at line %s: %s", path, line, msg);
		free(line);
		free(msg);
	}
	else
		err_set(err, "plain SQL file \"%s\" could not be loaded", path);
	regfree(&re);
	char *lines = ddl_error_lines(errout, 12);
	if (*lines)
		err_detail(err, "%s", lines);
	free(lines);
	err_hint(err, single ? "Nothing of the file was kept: it ran in one transaction.  The database stays "
			 "marked unfinished; fix the file and import again with --clean."
			 : "The file ran statement by statement and stopped at the error; the database stays "
			 "marked unfinished.  Fix the file and import again with --clean.");
}

static void
archive_dump_report(const char *path, archive_dump_kind kind, const char *target, const char *dbname)
{
	pgc_err err = PGC_ERR_INIT;
	PGconn *conn = conn_open(target, dbname, "target", &err);
	PGresult *res = conn ? conn_query(conn, archive_dump_report_sql, 0, NULL, &err) : NULL;
	if (res && PQntuples(res) == 1)
		printf("imported %s \"%s\" into database \"%s\": %s tables, %s views, %s sequences, "
			   "%s indexes, %s functions, %s large objects\n",
			   archive_dump_kind_name(kind), path, dbname, PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1),
			   PQgetvalue(res, 0, 2), PQgetvalue(res, 0, 3), PQgetvalue(res, 0, 5), PQgetvalue(res, 0, 4));
	else
		printf("imported %s \"%s\" into database \"%s\"\n", archive_dump_kind_name(kind), path, dbname);
	fflush(stdout);
	PQclear(res);
	conn_close(conn);
	err_clear(&err);
}

/*
 * Loads a pg_dump archive (custom, directory or tar) in three steps, as
 * copy loads a database: pre-data through ddl_restore (every object that
 * can be created is, failed ones are retried once the rest exists), the
 * data with pg_restore --section=data (-j where the format allows), then
 * post-data through ddl_restore (indexes, then partition index attachments
 * one at a time, then the rest: no race at any -j).  Objects that still
 * cannot be created are named, each with the server's message, and fail
 * the load (exit 1); with o->exit_on_error the first one stops it.
 * Returns 0, or -1 with err set.
 */
static int
archive_dump_restore(const char *path, archive_dump_kind kind, const archive_dump_opts *o, const char *child_conn,
					 const char *password, const char *dbname, pgc_err *err)
{
	const char *scratch = cleanup_private_tmpdir(err);
	if (!scratch)
		return -1;
	ddl_dump *dump = ddl_dump_open(path);
	ddl_failures fails = {0};
	ddl_restore_opts ro = {.jobs = kind == ARCHIVE_DUMP_TAR ? 1 : o->jobs, .no_owner = o->no_owner,
		.tmpdir = scratch, .exit_on_error = o->exit_on_error, .failures = &fails};
	buf_t errout = {0};
	int rc = -1;
	if (o->jobs > 1 && kind == ARCHIVE_DUMP_TAR)
		log_info("pg_dump's tar format is restored by one job: pg_restore allows no more");
	if (ddl_restore(NULL, dump, DDL_PRE_DATA, o->target, "target", dbname, &ro, err) != 0)
		goto done;
	char jobs[32];
	snprintf(jobs, sizeof jobs, "--jobs=%d", kind == ARCHIVE_DUMP_TAR ? 1 : o->jobs);
	char *prog = ddl_tools_path(NULL, "pg_restore");
	const char *argv[10];
	int n = 0;
	argv[n++] = prog;
	argv[n++] = "-w";
	argv[n++] = "--section=data";
	argv[n++] = "--exit-on-error";
	argv[n++] = jobs;
	if (o->no_owner)
		argv[n++] = "--no-owner";
	argv[n++] = "-d";
	argv[n++] = child_conn;
	argv[n++] = path;
	argv[n] = NULL;
	ddl_child_io io = {.errout = &errout, .password = password};
	int st = ddl_run(argv, &io, err);
	free(prog);
	if (st < 0)
		goto done;
	if (st != 0)
	{
		err_set(err, "could not load the data of %s \"%s\" into database \"%s\"", archive_dump_kind_name(kind),
				path, dbname);
		char *lines = ddl_error_lines(errout.data, 12);
		err_detail(err, "%s", lines);
		free(lines);
		goto done;
	}
	if (ddl_restore(NULL, dump, DDL_POST_DATA, o->target, "target", dbname, &ro, err) != 0)
		goto done;
	if (fails.n > 0)
	{
		bool role = false;
		for (int i = 0; i < fails.n; i++)
		{
			role = role || (strstr(fails.items[i].message, "role \"") &&
							strstr(fails.items[i].message, "does not exist"));
			char *what = xasprintf("could not create %s in database \"%s\" on the target", fails.items[i].object,
								   dbname);
			log_report(LOG_ERROR, what, fails.items[i].message, NULL);
			free(what);
		}
		err_set(err, "%d schema object%s of %s \"%s\" could not be created in database \"%s\"", fails.n,
				fails.n == 1 ? "" : "s", archive_dump_kind_name(kind), path, dbname);
		err_detail(err, "Every other object and all the data were loaded; each failed object is named above "
				   "with the server's message.");
		if (role)
			err_hint(err, "A role the dump's objects belong to is missing on the target: create it, or load "
					 "without owners (--no-owner).  The database stays marked unfinished; import again "
					 "with --clean.");
		goto done;
	}
	rc = 0;
done:
	if (rc != 0 && !err->hint)
		err_hint(err, "The database stays marked unfinished (pgcarry.import); fix the cause and "
				 "import again with --clean.");
	ddl_failures_free(&fails);
	ddl_dump_free(dump);
	buf_free(&errout);
	return rc;
}

int
archive_dump_import(const char *path, archive_dump_kind kind, const archive_dump_opts *o, pgc_err *err)
{
	char *dbname = o->dbname ? xstrdup(o->dbname) : NULL;
	if (!dbname && kind != ARCHIVE_DUMP_SQL)
		dbname = archive_dump_header_dbname(path);
	if (!dbname)
		dbname = archive_dump_name_from_path(path);
	log_set_database(dbname);

	int rc = EXIT_FAIL;
	char *password = NULL;
	char *child_conn = NULL;
	buf_t out = {0}, errout = {0};
	bool resuming;
	archive_target_opts topts = {.clean = o->clean};
	if (archive_target_prepare(o->target, dbname, &topts, &resuming, err) != 0)
		goto done;
	child_conn = ddl_conninfo(o->target, dbname, "target", &password, err);
	if (!child_conn)
		goto done;
	log_info("loading %s \"%s\" into database \"%s\"", archive_dump_kind_name(kind), path, dbname);

	if (kind == ARCHIVE_DUMP_SQL)
	{
		char *why = NULL;
		bool single = archive_dump_sql_transactional(path, &why);
		if (!single)
			log_warning("plain SQL file \"%s\" cannot run in one transaction (%s): a failure leaves "
						"what ran before it", path, why);
		const char *argv[] = {"psql", "-X", "-q", "-w", "-v", "ON_ERROR_STOP=1", "-d", child_conn,
			"-f", path, single ? "--single-transaction" : NULL, NULL};
		ddl_child_io io = {.errout = &errout, .password = password};
		int st = ddl_run(argv, &io, err);
		if (st < 0)
			goto done;
		if (st != 0)
		{
			archive_dump_psql_error(err, path, errout.data, single);
			free(why);
			goto done;
		}
		if (errout.len && strstr(errout.data, "ERROR"))
			log_warning("psql reported: %s", errout.data);
		free(why);
	}
	else if (archive_dump_restore(path, kind, o, child_conn, password, dbname, err) != 0)
		goto done;
	if (archive_target_mark_done(o->target, dbname, err) != 0)
		goto done;
	archive_dump_report(path, kind, o->target, dbname);
	rc = EXIT_OK;

done:
	log_set_database(NULL);
	if (password)
	{
		memset(password, 0, strlen(password));
		free(password);
	}
	free(child_conn);
	buf_free(&out);
	buf_free(&errout);
	free(dbname);
	return rc;
}
