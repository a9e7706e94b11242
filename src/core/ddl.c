/*
 * ddl.c: the schema through PostgreSQL's programs (see ddl.h): pg_dump of
 * a database's schema, its table of contents, pg_restore by sections and by
 * entries (with the objects it could not create), roles, scripts.  The
 * programs themselves run through ddl_tools.c.
 */
#include "core/ddl.h"
#include "core/ddl_int.h"
#include "cleanup.h"
#include "conn.h"
#include "util/log.h"
#include "util/xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct ddl_dump
{
	char	   *path;
	bool		owned;			/* remove the file on free */
	char	   *toc;			/* "pg_restore --list" output, once read */
	char	   *create_toc;		/* "pg_restore --list --create" output, once
								 * read by ddl_dump_has_database_properties */
};

static atomic_int ddl_file_seq;

/* ------------------------------------------------------------------------
 * Database schema
 * ------------------------------------------------------------------------ */

int
ddl_dump_schema_file(const ddl_tools *t, const char *conninfo, const char *side, const char *dbname,
					 const char *snapshot_id, const char *const *extra, const char *path, pgc_err *err)
{
	char	   *password = NULL;
	char	   *ci = ddl_conninfo(conninfo, dbname, side, &password, err);
	if (!ci)
		return -1;
	char	   *prog = ddl_tools_path(t, "pg_dump");
	char	   *snap = snapshot_id ? xasprintf("--snapshot=%s", snapshot_id) : NULL;
	char	   *what = xasprintf("pg_dump could not read the schema of database \"%s\" on the %s server",
							   dbname, side);
	int			nextra = 0;
	while (extra && extra[nextra])
		nextra++;
	/* the fixed arguments, the snapshot, extra, --file, --dbname, NULL */
	const char **argv = xcalloc((size_t) nextra + 13, sizeof *argv);
	int			n = 0;
	argv[n++] = prog;
	argv[n++] = "--format=custom";
	argv[n++] = "--create";
	argv[n++] = "--section=pre-data";
	argv[n++] = "--section=post-data";
	argv[n++] = "--no-sync";
	argv[n++] = "--no-password";
	if (snap)
		argv[n++] = snap;
	for (int i = 0; i < nextra; i++)
		argv[n++] = extra[i];
	argv[n++] = "--file";
	argv[n++] = path;
	argv[n++] = "--dbname";
	argv[n++] = ci;
	argv[n] = NULL;
	int			rc = ddl__create_private_file(path, err) == 0
		&& ddl__run_checked(argv, password, NULL, NULL, what, err) == 0 ? 0 : -1;
	free(argv);
	free(what);
	free(snap);
	free(prog);
	free(ci);
	ddl__password_free(password);
	return rc;
}

ddl_dump *
ddl_dump_schema(const ddl_tools *t, const char *conninfo, const char *side, const char *dbname,
				const char *snapshot_id, const char *const *extra, const char *dir, pgc_err *err)
{
	char	   *path = xasprintf("%s/schema-%d.dump", dir, atomic_fetch_add(&ddl_file_seq, 1));
	if (ddl_dump_schema_file(t, conninfo, side, dbname, snapshot_id, extra, path, err) != 0)
	{
		unlink(path);
		free(path);
		return NULL;
	}
	ddl_dump   *d = xcalloc(1, sizeof *d);
	d->path = path;
	d->owned = true;
	return d;
}

int
ddl_schema_only_same(PGconn *conn, bool *yes, pgc_err *err)
{
	PGresult   *res = conn_query(conn, "SELECT NOT EXISTS (SELECT FROM pg_catalog.pg_largeobject_metadata) "
								 "AND NOT EXISTS (SELECT FROM pg_catalog.pg_class WHERE relkind = 'm')", 0, NULL,
								 err);
	if (!res)
	{
		err_prefix(err, "could not look for large objects and materialized views: ");
		if (strcmp(err->sqlstate, "42501") == 0)	/* insufficient_privilege */
			err_hint(err, "Connect as a role that may read the system catalogs (pg_dump reads them too), "
					 "or have a superuser grant this role SELECT on the catalog named.");
		return -1;
	}
	*yes = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	return 0;
}

ddl_dump *
ddl_dump_open(const char *path)
{
	ddl_dump   *d = xcalloc(1, sizeof *d);
	d->path = xstrdup(path);
	return d;
}

const char *
ddl_dump_path(const ddl_dump *d)
{
	return d->path;
}

void
ddl_dump_free(ddl_dump *d)
{
	if (!d)
		return;
	if (d->owned)
		unlink(d->path);
	free(d->path);
	free(d->toc);
	free(d->create_toc);
	free(d);
}

/* Parses "<id>; <classid> <objid> ..." */
static bool
ddl_toc_parse(const char *line, ddl_toc_entry *e)
{
	char	   *end;
	if (line[0] == ';' || line[0] < '0' || line[0] > '9')
		return false;
	long		id = strtol(line, &end, 10);
	if (*end != ';')
		return false;
	unsigned long c = strtoul(end + 1, &end, 10);
	unsigned long o = strtoul(end, &end, 10);
	e->id = (int) id;
	e->classid = (uint32_t) c;
	e->objid = (uint32_t) o;
	return true;
}

int
ddl_dump_toc(const ddl_tools *t, ddl_dump *d, ddl_toc_entry **out, int *nout, pgc_err *err)
{
	if (out)
		*out = NULL;
	if (nout)
		*nout = 0;
	if (!d->toc)
	{
		char	   *prog = ddl_tools_path(t, "pg_restore");
		const char *argv[] = {prog, "--list", d->path, NULL};
		buf_t		b = {0};
		int			rc = ddl__run_checked(argv, NULL, NULL, &b, "pg_restore could not read the schema dump", err);
		free(prog);
		if (rc != 0)
		{
			buf_free(&b);
			return -1;
		}
		d->toc = buf_steal(&b);
	}
	if (!out)
		return 0;
	int			cap = 64, n = 0;
	ddl_toc_entry *e = xcalloc((size_t) cap, sizeof *e);
	for (const char *p = d->toc; *p;)
	{
		size_t		len = strcspn(p, "\n");
		if (n == cap)
		{
			cap *= 2;
			e = xrealloc(e, (size_t) cap * sizeof *e);
		}
		if (ddl_toc_parse(p, &e[n]))
			n++;
		p += len;
		if (*p == '\n')
			p++;
	}
	*out = e;
	*nout = n;
	return 0;
}

const char *
ddl_dump_toc_text(const ddl_dump *d)
{
	return d->toc;
}

static int
ddl_cmp_int(const void *a, const void *b)
{
	int			x = *(const int *) a,
				y = *(const int *) b;
	return x < y ? -1 : x > y;
}

/* A sorted copy of the n ids (free()), or NULL when n is 0. */
static int *
ddl_ids_sorted(const int *ids, int n)
{
	if (n <= 0)
		return NULL;
	int		   *s = xcalloc((size_t) n, sizeof *s);
	memcpy(s, ids, (size_t) n * sizeof *s);
	qsort(s, (size_t) n, sizeof *s, ddl_cmp_int);
	return s;
}

/* Whether id is among the n sorted ids. */
static bool
ddl_id_in(int id, const int *sorted, int n)
{
	return n > 0 && bsearch(&id, sorted, (size_t) n, sizeof *sorted, ddl_cmp_int) != NULL;
}

/* The kind of a "pg_restore --list" entry line ("INDEX ATTACH", ...), as
 * a pointer into line: what follows "<id>; <classid> <objid> ". */
static const char *
ddl_entry_desc(const char *line)
{
	const char *p = strchr(line, ';');
	if (!p)
		return "";
	p++;
	for (int field = 0; field < 2; field++)
	{
		while (*p == ' ')
			p++;
		while (*p && *p != ' ')
			p++;
	}
	while (*p == ' ')
		p++;
	return p;
}

/* Whether a line of "pg_restore -l" names a database-level entry: when
 * create, the database itself (CREATE DATABASE and its owner); otherwise its
 * properties: settings, comment, grants or label. */
static bool
ddl_is_database_entry(const char *line, bool create)
{
	if (line[0] == ';')
		return false;
	/* "<id>; <tableoid> <oid> <desc> <schema> <tag> <owner>" */
	const char *p = ddl_entry_desc(line);
	if (strncmp(p, "DATABASE PROPERTIES ", 20) == 0)
		return !create;
	if (strncmp(p, "DATABASE ", 9) == 0)
		return create;
	return !create && (strncmp(p, "COMMENT - DATABASE ", 19) == 0
					   || strncmp(p, "ACL - DATABASE ", 15) == 0
					   || strncmp(p, "SECURITY LABEL - DATABASE ", 26) == 0);
}

/* The table of contents pg_restore --list --create gives for dump d (the
 * one that names the database's own entries), owned by the caller: d's
 * copy when read already.  NULL with err set when pg_restore fails. */
static char *
ddl_create_toc(const ddl_tools *t, const ddl_dump *d, pgc_err *err)
{
	if (d->create_toc)
		return xstrdup(d->create_toc);
	char	   *prog = ddl_tools_path(t, "pg_restore");
	const char *argv[] = {prog, "--list", "--create", d->path, NULL};
	buf_t		out = {0};
	int			rc = ddl__run_checked(argv, NULL, NULL, &out, "pg_restore could not read the schema dump",
									 err);
	free(prog);
	if (rc != 0)
	{
		buf_free(&out);
		return NULL;
	}
	return buf_steal(&out);
}

/* Writes the list of database-level entries of dump d into list_path: the
 * database itself when create, else its properties. */
static int
ddl_database_list(const ddl_tools *t, const ddl_dump *d, bool create, const char *list_path,
				  pgc_err *err)
{
	char	   *toc = ddl_create_toc(t, d, err);
	if (!toc)
		return -1;
	FILE	   *f = fopen(list_path, "w");
	if (!f)
	{
		err_set(err, "could not create \"%s\": %s", list_path, strerror(errno));
		free(toc);
		return -1;
	}
	char	   *save = NULL;
	for (char *line = strtok_r(toc, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (ddl_is_database_entry(line, create))
			fprintf(f, "%s\n", line);
	free(toc);
	if (fclose(f) != 0)
	{
		err_set(err, "could not write \"%s\": %s", list_path, strerror(errno));
		return -1;
	}
	return 0;
}

int
ddl_dump_has_database_properties(const ddl_tools *t, ddl_dump *d, bool *has, pgc_err *err)
{
	*has = false;
	char	   *toc = ddl_create_toc(t, d, err);
	if (!toc)
		return -1;
	char	   *save = NULL;
	char	   *copy = xstrdup(toc);
	for (char *line = strtok_r(copy, "\n", &save); line && !*has; line = strtok_r(NULL, "\n", &save))
		*has = ddl_is_database_entry(line, false);
	free(copy);
	free(d->create_toc);
	d->create_toc = toc;
	return 0;
}

/* The stem of d's temporary files: d's own path (they go beside it), or a
 * name in o->tmpdir.  Owned by the caller. */
static char *
ddl_temp_stem(const ddl_dump *d, const ddl_restore_opts *o)
{
	return o->tmpdir ? xasprintf("%s/schema", o->tmpdir) : xstrdup(d->path);
}

/*
 * Whether a line of the script pg_restore --create writes for a database's
 * entries belongs to the part asked for: when create, only CREATE DATABASE
 * and the change of owner; otherwise everything else but the \connect
 * lines (the properties: settings, comment, connection limit, grants).
 */
static bool
ddl_database_script_line(const char *line, bool create)
{
	bool		created = strncmp(line, "CREATE DATABASE ", 16) == 0
		|| (strncmp(line, "ALTER DATABASE ", 15) == 0 && strstr(line, " OWNER TO ") && !strstr(line, " SET "));
	if (create)
		return created || strncmp(line, "SET client_encoding ", 20) == 0;
	return !created && strncmp(line, "\\connect", 8) != 0;
}

static char *ddl_parse_ident(const char **p);

/*
 * The psql variable that holds the database's name in the script's client
 * encoding.  pg_dump writes the name it read in the database's own
 * encoding: a name stored in another one (a UTF-8 name of an EUC_JP
 * database, as CREATE DATABASE from a UTF-8 session stores it) comes out
 * altered, so the script names the database through this variable instead.
 */
#define DDL_DBNAME_VAR "pgcarry_dbname"

/*
 * Writes to out the psql line that sets DDL_DBNAME_VAR to dbname (UTF-8,
 * as pgcarry's sessions read it): the server converts it into the
 * session's client encoding, and back when the script uses it, so the
 * name arrives byte for byte whatever encoding the script is in.
 */
static void
ddl_database_name_line(FILE *out, const char *dbname)
{
	fputs("SELECT pg_catalog.convert_from(pg_catalog.decode('", out);
	for (const unsigned char *c = (const unsigned char *) dbname; *c; c++)
		fprintf(out, "%02x", *c);
	fputs("', 'hex'), 'UTF8') AS " DDL_DBNAME_VAR " \\gset\n", out);
}

/*
 * Writes line to out, the database's name in it (after "CREATE DATABASE",
 * "ALTER DATABASE", "COMMENT ON DATABASE" or "... ON DATABASE" of a grant,
 * revoke or security label) replaced by DDL_DBNAME_VAR.
 */
static void
ddl_database_write_line(FILE *out, const char *line, size_t len)
{
	const char *at = NULL;
	if (strncmp(line, "CREATE DATABASE ", 16) == 0 || strncmp(line, "ALTER DATABASE ", 15) == 0)
		at = strstr(line, "DATABASE ") + 9;
	else if (strncmp(line, "COMMENT ON DATABASE ", 20) == 0)
		at = line + 20;
	else if (strncmp(line, "GRANT ", 6) == 0 || strncmp(line, "REVOKE ", 7) == 0
			 || strncmp(line, "SECURITY LABEL ", 15) == 0)
	{
		at = strstr(line, " ON DATABASE ");
		if (at)
			at += 13;
	}
	const char *end = at;
	char	   *name = at ? ddl_parse_ident(&end) : NULL;
	if (!name)
	{
		fwrite(line, 1, len, out);
		return;
	}
	free(name);
	fwrite(line, 1, (size_t) (at - line), out);
	fputs(":\"" DDL_DBNAME_VAR "\"", out);
	fwrite(end, 1, len - (size_t) (end - line), out);
}

/*
 * One part of a database's own entries, run by psql on ci (the maintenance
 * database): create the database (create), or set its properties on a
 * database that exists.  pg_restore --create writes both parts whatever the
 * entry list says, so its script goes to a private file and only the lines
 * of the part asked for are run.  Returns 0, or -1 with err set.
 */
static int
ddl_database_part(const ddl_tools *t, const ddl_dump *d, const char *ci, const char *password,
				  const char *side, const char *dbname, const ddl_restore_opts *o, bool create, pgc_err *err)
{
	int			seq = atomic_fetch_add(&ddl_file_seq, 1);
	char	   *stem = ddl_temp_stem(d, o);
	char	   *list = xasprintf("%s.dblist-%d", stem, seq);
	char	   *raw = xasprintf("%s.dbprops-%d.raw", stem, seq);
	char	   *script = xasprintf("%s.dbprops-%d.sql", stem, seq);
	char	   *restore = ddl_tools_path(t, "pg_restore");
	char	   *psql = ddl_tools_path(t, "psql");
	char	   *what = xasprintf("pg_restore could not read the %s of database \"%s\"",
								 create ? "creation" : "properties", dbname);
	int			rc = -1;
	FILE	   *in = NULL, *out = NULL;
	if (ddl_database_list(t, d, create, list, err) != 0)
		goto done;
	const char *rargv[12];
	int			n = 0;
	rargv[n++] = restore;
	rargv[n++] = "--create";
	rargv[n++] = "--use-list";
	rargv[n++] = list;
	if (o->no_owner)
		rargv[n++] = "--no-owner";
	if (o->no_privileges)
		rargv[n++] = "--no-privileges";
	rargv[n++] = "--file";
	rargv[n++] = raw;
	rargv[n++] = d->path;
	rargv[n] = NULL;
	if (ddl__create_private_file(raw, err) != 0
		|| ddl__run_checked(rargv, NULL, NULL, NULL, what, err) != 0)
		goto done;
	in = fopen(raw, "r");
	int			fd = open(script, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	out = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!in || !out)
	{
		err_set(err, "could not write \"%s\": %s", script, strerror(errno));
		if (fd >= 0 && !out)
			close(fd);
		goto done;
	}
	char	   *line = NULL;
	size_t		cap = 0;
	ssize_t		len;
	/* The name is set first, in the client encoding the whole script
	 * sets (the dump's), before any \\restrict of pg_restore's that would
	 * refuse \\gset. */
	while ((len = getline(&line, &cap, in)) >= 0)
		if (strncmp(line, "SET client_encoding ", 20) == 0)
		{
			fwrite(line, 1, (size_t) len, out);
			break;
		}
	ddl_database_name_line(out, dbname);
	rewind(in);
	while ((len = getline(&line, &cap, in)) >= 0)
		if (ddl_database_script_line(line, create))
			ddl_database_write_line(out, line, (size_t) len);
	free(line);
	if (fclose(out) != 0)
	{
		out = NULL;
		err_set(err, "could not write \"%s\": %s", script, strerror(errno));
		goto done;
	}
	out = NULL;
	const char *pargv[] = {psql, "--no-psqlrc", "--quiet", "--no-password", "--set", "ON_ERROR_STOP=1",
	"--file", script, "--dbname", ci, NULL};
	free(what);
	what = create ? xasprintf("psql could not create database \"%s\" on the %s server", dbname, side)
		: xasprintf("psql could not set the properties of database \"%s\" on the %s server", dbname, side);
	rc = ddl__run_checked(pargv, password, NULL, NULL, what, err);

done:
	if (in)
		fclose(in);
	if (out)
		fclose(out);
	unlink(list);
	unlink(raw);
	unlink(script);
	free(stem);
	free(list);
	free(raw);
	free(script);
	free(restore);
	free(psql);
	free(what);
	return rc;
}

/* ------------------------------------------------------------------------
 * Restoring a section entry by entry
 *
 * How it works.  pg_restore runs with --verbose and without
 * --exit-on-error: it tries every entry of its list, and for each one that
 * fails prints "from TOC entry N; ..." followed by the server's error, its
 * DETAIL and HINT lines and "Command was: " with the whole statement, up to
 * its next line of its own.  ddl__restore_failures reads those blocks back,
 * entry by entry; an error outside any block (a lost connection, a file it
 * cannot read) is not an object's failure but the whole run's.
 *
 * A part runs in steps (ddl_restore_step): post-data first builds indexes
 * and the constraints that own one (primary keys, unique, exclusion,
 * checks), with -j; then attaches partitions' indexes to their parents' one
 * at a time (two ALTER INDEX ... ATTACH PARTITION at once can each miss the
 * other's work and leave a partitioned index invalid for good); then the
 * rest with -j (foreign keys, which need their key valid, triggers, rules,
 * policies, refreshes...).  Failed entries are tried again one at a time
 * once the whole part has run, round after round while a round creates at
 * least one of them: an object pg_dump ordered before one it needs (a cast
 * before the cast its function needs) is created on the second round.
 * ------------------------------------------------------------------------ */

/* The steps of a part, by the kind of entry (ddl_entry_step). */
enum
{
	DDL_STEP_ALL,				/* the pre-data section: one step */
	DDL_STEP_INDEXES,			/* post-data: indexes, constraints but foreign keys */
	DDL_STEP_ATTACH,			/* post-data: INDEX ATTACH, one at a time */
	DDL_STEP_REST,				/* post-data: everything else */
	DDL_NSTEPS
};

void
ddl_failures_free(ddl_failures *f)
{
	if (!f)
		return;
	for (int i = 0; i < f->n; i++)
	{
		free(f->items[i].object);
		free(f->items[i].message);
	}
	free(f->items);
	f->items = NULL;
	f->n = 0;
}

/* Appends a failure; object and message move into f. */
static void
ddl_failures_add(ddl_failures *f, const ddl_failure *one)
{
	f->items = xrealloc(f->items, (size_t) (f->n + 1) * sizeof *f->items);
	f->items[f->n++] = *one;
}

/* The step of a post-data entry. */
static int
ddl_entry_step(const char *line)
{
	const char *desc = ddl_entry_desc(line);
	if (strncmp(desc, "INDEX ATTACH ", 13) == 0)
		return DDL_STEP_ATTACH;
	if (strncmp(desc, "INDEX ", 6) == 0 || strncmp(desc, "CONSTRAINT ", 11) == 0)
		return DDL_STEP_INDEXES;
	return DDL_STEP_REST;
}

/* Where prefix starts in the line at p (len bytes), or NULL.  Under
 * pg_restore -j, workers' lines may run into each other
 * ("pg_restore:pg_restore: from TOC entry ..."), so it is looked for
 * anywhere in the line. */
static const char *
ddl_line_find(const char *p, size_t len, const char *prefix)
{
	size_t		pl = strlen(prefix);
	for (const char *q = p; q + pl <= p + len; q++)
		if (*q == *prefix && strncmp(q, prefix, pl) == 0)
			return q;
	return NULL;
}

/* The next line after the one at p. */
static const char *
ddl_next_line(const char *p)
{
	p += strcspn(p, "\n");
	return *p == '\n' ? p + 1 : p;
}

/* How many times s holds what. */
static int
ddl_count(const char *s, const char *what)
{
	int			n = 0;
	for (const char *q = s ? strstr(s, what) : NULL; q; q = strstr(q + 1, what))
		n++;
	return n;
}

/*
 * Reads pg_restore --verbose's stderr: each failed entry goes to *fails
 * (its dump ID, what it is, the server's whole message and statement).  A
 * failed statement pg_restore did not tie to an entry (lines of parallel
 * workers mixed beyond reading) goes with dump ID 0.  *whole (when not
 * NULL) tells whether every failed statement pg_restore printed was read
 * on an error line of its own, after its entry's line.  Returns false when
 * an error is not a statement's (the run itself failed).
 */
bool
ddl__restore_failures(const char *errout, ddl_failures *fails, bool *whole)
{
	static const char entry_prefix[] = "pg_restore: from TOC entry ";
	static const char error_prefix[] = "pg_restore: error: ";
	static const char query_prefix[] = "could not execute query: ";
	bool		only_entries = true;
	int			read = 0;
	const char *p = errout ? errout : "";
	while (*p)
	{
		size_t		len = strcspn(p, "\n");
		const char *hit = ddl_line_find(p, len, entry_prefix);
		const char *err_hit = hit ? NULL : ddl_line_find(p, len, error_prefix);
		if (!hit && err_hit && strncmp(err_hit + sizeof error_prefix - 1, query_prefix, sizeof query_prefix - 1) != 0)
			only_entries = false;
		if (!hit && !err_hit)
		{
			p = ddl_next_line(p);
			continue;
		}
		ddl_toc_entry e = {0};
		char	   *object;
		if (hit)
		{
			/* "from TOC entry N; classid objid DESC TAG OWNER" */
			const char *q = hit + sizeof entry_prefix - 1;
			(void) ddl_toc_parse(q, &e);
			const char *what = ddl_entry_desc(q);
			const char *eol = p + len;
			const char *owner = eol;
			static const char no_owner[] = " (no owner)";
			if ((size_t) (eol - what) >= sizeof no_owner - 1
				&& strncmp(eol - (sizeof no_owner - 1), no_owner, sizeof no_owner - 1) == 0)
				owner = eol - (sizeof no_owner - 1) + 1;
			else
				while (owner > what && owner[-1] != ' ')
					owner--;
			size_t		wlen = owner > what ? (size_t) (owner - what - 1) : (size_t) (eol - what);
			object = xstrndup(what, wlen);
			p = ddl_next_line(p);
			/* Lines of other workers may come between the entry's line
			 * and its error: skip them. */
			for (int k = 0; k < 8 && *p; k++)
			{
				size_t		l = strcspn(p, "\n");
				if (ddl_line_find(p, l, error_prefix) || ddl_line_find(p, l, entry_prefix)
					|| strncmp(p, "pg_restore:", 11) != 0)
					break;
				p = ddl_next_line(p);
			}
		}
		else
			object = xstrdup("an object pg_restore did not name");
		/* Its errors (an entry may fail more than once: its CREATE, then
		 * its ALTER ... OWNER), each with the lines that follow it, up to
		 * pg_restore's next line of its own. */
		buf_t		msg = {0};
		bool		first = true;
		while (*p)
		{
			size_t		l = strcspn(p, "\n");
			const char *eh = ddl_line_find(p, l, error_prefix);
			if ((first && !eh) || ddl_line_find(p, l, entry_prefix)
				|| (!eh && strncmp(p, "pg_restore:", 11) == 0))
				break;
			const char *text = p;
			if (eh)
			{
				text = eh + sizeof error_prefix - 1;
				if (strncmp(text, query_prefix, sizeof query_prefix - 1) == 0)
				{
					text += sizeof query_prefix - 1;
					read += e.id > 0;
				}
			}
			if (l > 0)
				buf_printf(&msg, "%s%.*s", first ? "" : "\n", (int) (l - (size_t) (text - p)), text);
			first = false;
			p = ddl_next_line(p);
		}
		while (msg.len > 0 && (msg.data[msg.len - 1] == '\n' || msg.data[msg.len - 1] == ' '))
			msg.data[--msg.len] = '\0';
		if (msg.len == 0)
			buf_puts(&msg, "pg_restore gave no reason");
		ddl_failure one = {.id = e.id, .classid = e.classid, .objid = e.objid, .object = object,
		.message = buf_steal(&msg)};
		ddl_failures_add(fails, &one);
	}
	if (whole)
		*whole = read == ddl_count(errout, query_prefix);
	return only_entries;
}

/* Whether an object's failure says it exists already (what a resumed
 * post-data meets). */
static bool
ddl_failure_is_existing(const ddl_failure *f)
{
	const char *eol = strchr(f->message, '\n');
	size_t		len = eol ? (size_t) (eol - f->message) : strlen(f->message);
	char	   *first = xstrndup(f->message, len);
	bool		existing = strstr(first, "already exists") || strstr(first, "multiple primary keys");
	free(first);
	return existing;
}

/* With o->tolerate_existing, drops from f the objects that exist already
 * (no failure when resuming).  Returns how many. */
static int
ddl_failures_drop_existing(const ddl_restore_opts *o, ddl_failures *f)
{
	int			dropped = 0;
	for (int i = 0; o->tolerate_existing && i < f->n; i++)
		if (ddl_failure_is_existing(&f->items[i]))
		{
			free(f->items[i].object);
			free(f->items[i].message);
			f->items[i--] = f->items[--f->n];
			dropped++;
		}
	return dropped;
}

/* What a ddl_restore of the pg_restore parts shares, step after step. */
typedef struct ddl_restore_run
{
	const ddl_tools *t;
	const ddl_dump *d;
	const ddl_restore_opts *o;
	const char *ci;
	const char *password;
	const char *side;
	const char *dbname;
	const char *what_part;
	char	   *stem;
	const char *toc;
} ddl_restore_run;

int
ddl__select_entries(const char *toc, int step, const int *only, int nonly, const int *skip, int nskip,
					FILE *out)
{
	/* Looked up once per entry: sorted, so that a list of many entries
	 * against many IDs does not cost their product. */
	int		   *only_sorted = only ? ddl_ids_sorted(only, nonly) : NULL;
	int		   *skip_sorted = only ? NULL : ddl_ids_sorted(skip, nskip);
	int			n = 0;
	for (const char *p = toc; *p;)
	{
		size_t		len = strcspn(p, "\n");
		ddl_toc_entry e;
		bool		want = ddl_toc_parse(p, &e);
		if (want && only)
			want = ddl_id_in(e.id, only_sorted, nonly);
		else if (want)
			want = !ddl_id_in(e.id, skip_sorted, nskip);
		if (want && step != DDL_STEP_ALL)
		{
			char	   *line = xstrndup(p, len);
			want = ddl_entry_step(line) == step;
			free(line);
		}
		if (want)
		{
			fprintf(out, "%.*s\n", (int) len, p);
			n++;
		}
		p += len;
		if (*p == '\n')
			p++;
	}
	free(only_sorted);
	free(skip_sorted);
	return n;
}

/* The entries (lines of run->toc) for the step: those not skipped (or,
 * with only, among only), of the step, written as a list file at path.
 * *n receives how many. */
static int
ddl_restore_list(const ddl_restore_run *run, int step, const int *only, int nonly,
				 const char *path, int *n, pgc_err *err)
{
	FILE	   *f = fopen(path, "w");
	*n = 0;
	if (!f)
	{
		err_set(err, "could not create \"%s\": %s", path, strerror(errno));
		return -1;
	}
	*n = ddl__select_entries(run->toc, step, only, nonly, run->o->skip_ids, run->o->nskip, f);
	if (fclose(f) != 0)
	{
		err_set(err, "could not write \"%s\": %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * One pg_restore: the entries of step (with only: those of only), with
 * jobs, each failure appended to fails.  Returns 0, or -1 with err set when
 * pg_restore itself failed (could not connect, was interrupted...).
 */
static int
ddl_restore_step(const ddl_restore_run *run, int step, const int *only, int nonly, int jobs,
				 ddl_failures *fails, pgc_err *err)
{
	const ddl_restore_opts *o = run->o;
	char	   *prog = ddl_tools_path(run->t, "pg_restore");
	char	   *list = xasprintf("%s.list-%d", run->stem, atomic_fetch_add(&ddl_file_seq, 1));
	char	   *jobs_arg = NULL;
	int			n = 0, nentries = 0, rc = -1;
	buf_t		errout = {0};
	if (ddl_restore_list(run, step, only, nonly, list, &nentries, err) != 0)
		goto done;
	rc = 0;
	if (nentries == 0)
		goto done;
	const char *argv[20];
	argv[n++] = prog;
	argv[n++] = "--verbose";
	if (jobs > 1 && nentries > 1)
	{
		jobs_arg = xasprintf("--jobs=%d", jobs);
		argv[n++] = jobs_arg;
	}
	/* Resuming, an object that exists already must not stop the rest. */
	if (o->exit_on_error && !o->tolerate_existing)
		argv[n++] = "--exit-on-error";
	if (o->no_owner)
		argv[n++] = "--no-owner";
	if (o->no_privileges)
		argv[n++] = "--no-privileges";
	argv[n++] = "--use-list";
	argv[n++] = list;
	argv[n++] = "--dbname";
	argv[n++] = run->ci;
	argv[n++] = run->d->path;
	argv[n] = NULL;
	/* --verbose names every entry: those lines are squeezed, the rest
	 * kept (a whole schema's failures, each with its statement). */
	ddl_child_io io = {.errout = &errout, .errout_max = 64 * 1024 * 1024, .errout_squeeze = true,
	.password = run->password};
	int			st = ddl_run(argv, &io, err);
	if (st < 0)
		rc = -1;
	else if (st != 0)
	{
		int			before = fails->n;
		bool		whole = false;
		bool		only_entries = ddl__restore_failures(errout.data, fails, &whole);
		/*
		 * Resuming, the objects an earlier run made fail with "already
		 * exists", and pg_restore's workers print those at the same
		 * moment: their lines may run into each other beyond reading.
		 * The entries are then applied again one at a time, whose report
		 * is read whole.
		 */
		if (o->tolerate_existing && jobs > 1 && nentries > 1 && !(only_entries && whole && fails->n > before)
			&& !cleanup_interrupted())
		{
			while (fails->n > before)
			{
				fails->n--;
				free(fails->items[fails->n].object);
				free(fails->items[fails->n].message);
			}
			log_info("pg_restore's workers' reports in database \"%s\" ran into each other; "
					 "applying those %d entries again one at a time", run->dbname, nentries);
			rc = ddl_restore_step(run, step, only, nonly, 1, fails, err);
			goto done;
		}
		if (!only_entries || fails->n == before || cleanup_interrupted())
		{
			char	   *lines = ddl_error_lines(errout.data, 12);
			err_set(err, "pg_restore could not %s \"%s\" on the %s server%s", run->what_part, run->dbname,
					run->side, cleanup_interrupted() ? ": interrupted" : "");
			if (*lines)
				err_detail(err, "%s", lines);
			free(lines);
			rc = -1;
		}
	}

done:
	buf_free(&errout);
	unlink(list);
	free(list);
	free(jobs_arg);
	free(prog);
	return rc;
}

/* Sets err to name the objects of f that could not be created, with the
 * server's whole message and statement for each. */
static void
ddl_failures_to_err(const ddl_restore_run *run, const ddl_failures *f, pgc_err *err)
{
	buf_t		b = {0};
	for (int i = 0; i < f->n; i++)
		buf_printf(&b, "%s%s: %s", i ? "\n" : "", f->items[i].object, f->items[i].message);
	err_set(err, "pg_restore could not %s \"%s\" on the %s server: %d object%s could not be created",
			run->what_part, run->dbname, run->side, f->n, f->n == 1 ? "" : "s");
	err_detail(err, "%s", b.data ? b.data : "");
	buf_free(&b);
}

/* The pg_restore parts: pre-data, post-data, or o->only_ids. */
static int
ddl_restore_entries(ddl_restore_run *run, ddl_part part, pgc_err *err)
{
	const ddl_restore_opts *o = run->o;
	const int  *only = part == DDL_ENTRIES ? o->only_ids : NULL;
	int			nonly = part == DDL_ENTRIES ? o->nonly : 0;
	int			jobs = o->jobs > 1 ? o->jobs : 1;
	ddl_failures fails = {0};
	int			rc = 0;
	int			existing = 0;
	int			first = part == DDL_PRE_DATA ? DDL_STEP_ALL : DDL_STEP_INDEXES;
	int			last = part == DDL_PRE_DATA ? DDL_STEP_ALL : DDL_NSTEPS - 1;
	for (int step = first; step <= last && rc == 0; step++)
	{
		rc = ddl_restore_step(run, step, only, nonly, step == DDL_STEP_ATTACH ? 1 : jobs, &fails, err);
		existing += ddl_failures_drop_existing(o, &fails);
		if (o->exit_on_error && fails.n > 0)
			break;
	}
	/* Rounds of the failed entries, one at a time, while one succeeds. */
	while (rc == 0 && !o->exit_on_error && fails.n > 0 && !cleanup_interrupted())
	{
		int		   *ids = xcalloc((size_t) fails.n, sizeof *ids);
		int			nids = 0;
		ddl_failures again = {0};
		/* A failure pg_restore did not tie to an entry cannot be run
		 * again: it stays as it is. */
		for (int i = 0; i < fails.n; i++)
			if (fails.items[i].id > 0)
				ids[nids++] = fails.items[i].id;
			else
			{
				ddl_failures_add(&again, &fails.items[i]);
				fails.items[i].object = fails.items[i].message = NULL;
			}
		int			kept = again.n;
		if (nids == 0)
		{
			free(ids);
			ddl_failures_free(&fails);
			fails = again;
			break;
		}
		log_info("trying again %d object%s that could not be created in database \"%s\"", nids,
				 nids == 1 ? "" : "s", run->dbname);
		rc = ddl_restore_step(run, DDL_STEP_ALL, ids, nids, 1, &again, err);
		free(ids);
		existing += ddl_failures_drop_existing(o, &again);
		bool		progress = again.n - kept < nids;
		/* An object that fails again keeps its first message: the retry
		 * may only meet what its first attempt left (a table created
		 * before its ALTER ... OWNER failed "already exists"). */
		for (int i = 0; i < again.n; i++)
			for (int k = 0; k < fails.n; k++)
				if (fails.items[k].id == again.items[i].id && fails.items[k].message)
				{
					free(again.items[i].message);
					again.items[i].message = fails.items[k].message;
					fails.items[k].message = NULL;
					break;
				}
		ddl_failures_free(&fails);
		fails = again;
		if (!progress)
			break;
	}
	if (existing > 0)
		log_info("pg_restore met objects that already exist in database \"%s\" (left as they are)",
				 run->dbname);
	if (rc == 0 && fails.n > 0)
	{
		if (o->failures && !o->exit_on_error)
		{
			for (int i = 0; i < fails.n; i++)
				ddl_failures_add(o->failures, &fails.items[i]);
			free(fails.items);
			fails = (ddl_failures) {0};
		}
		else
		{
			ddl_failures_to_err(run, &fails, err);
			rc = -1;
		}
	}
	ddl_failures_free(&fails);
	return rc;
}

int
ddl_restore(const ddl_tools *t, const ddl_dump *d, ddl_part part, const char *conninfo,
			const char *side, const char *dbname, const ddl_restore_opts *o, pgc_err *err)
{
	ddl_restore_opts defaults = {0};
	if (!o)
		o = &defaults;
	bool		db_level = part == DDL_CREATE_DATABASE || part == DDL_DATABASE_PROPERTIES;
	char	   *maint = NULL;
	if (db_level)
	{
		maint = o->maintenance_db ? xstrdup(o->maintenance_db) : ddl__conninfo_dbname(conninfo);
		if (!maint)
			maint = xstrdup("postgres");
	}
	char	   *password = NULL;
	char	   *ci = ddl_conninfo(conninfo, db_level ? maint : dbname, side, &password, err);
	if (!ci)
	{
		free(maint);
		return -1;
	}
	if (db_level)
	{
		int			rc = ddl_database_part(t, d, ci, password, side, dbname, o, part == DDL_CREATE_DATABASE, err);
		free(ci);
		ddl__password_free(password);
		free(maint);
		return rc;
	}
	/*
	 * The entries to run, in the dump's order.  For a section, pg_restore
	 * lists them itself (--list --section): an entry without a section of
	 * its own (a comment, a grant) belongs to the section of the entry
	 * before it in the whole dump, which an entry list of our own would
	 * change; the restores then run without --section.
	 */
	const char *section = part == DDL_PRE_DATA ? "--section=pre-data"
		: part == DDL_POST_DATA ? "--section=post-data" : NULL;
	char	   *toc = NULL;
	if (section || !d->toc)
	{
		char	   *prog = ddl_tools_path(t, "pg_restore");
		const char *argv[] = {prog, "--list", section ? section : d->path, section ? d->path : NULL, NULL};
		buf_t		b = {0};
		int			lrc = ddl__run_checked(argv, NULL, NULL, &b, "pg_restore could not read the schema dump", err);
		free(prog);
		if (lrc != 0)
		{
			buf_free(&b);
			free(ci);
			ddl__password_free(password);
			return -1;
		}
		toc = buf_steal(&b);
	}
	ddl_restore_run run = {.t = t, .d = d, .o = o, .ci = ci, .password = password, .side = side,
		.dbname = dbname, .stem = ddl_temp_stem(d, o), .toc = toc ? toc : d->toc};
	switch (part)
	{
		case DDL_PRE_DATA:
			run.what_part = "apply the pre-data schema (types, tables, functions) to database";
			break;
		case DDL_POST_DATA:
			run.what_part = "apply the post-data schema (indexes, constraints, triggers) to database";
			break;
		case DDL_ENTRIES:
		default:
			run.what_part = "build indexes and constraints in database";
			break;
	}
	int			rc = ddl_restore_entries(&run, part, err);
	free(run.stem);
	free(toc);
	free(ci);
	ddl__password_free(password);
	free(maint);
	return rc;
}

/* ------------------------------------------------------------------------
 * Roles
 * ------------------------------------------------------------------------ */

int
ddl_dump_roles(const ddl_tools *t, const char *conninfo, const char *side, bool with_passwords,
			   const char *path, pgc_err *err)
{
	char	   *password = NULL;
	char	   *ci = ddl_conninfo(conninfo, NULL, side, &password, err);
	if (!ci)
		return -1;
	char	   *prog = ddl_tools_path(t, "pg_dumpall");
	const char *argv[10];
	int			n = 0;
	argv[n++] = prog;
	argv[n++] = "--roles-only";
	if (!with_passwords)
		argv[n++] = "--no-role-passwords";
	argv[n++] = "--file";
	argv[n++] = path;
	argv[n++] = "--dbname";
	argv[n++] = ci;
	argv[n] = NULL;
	char	   *what = xasprintf("pg_dumpall could not read the roles of the %s server", side);
	int			rc = ddl__create_private_file(path, err);
	if (rc == 0)
		rc = ddl__run_checked(argv, password, NULL, NULL, what, err);
	free(what);
	free(prog);
	free(ci);
	ddl__password_free(password);
	return rc;
}

/* Parses the SQL identifier at *p (quoted or not) into a new string and
 * moves *p past it; NULL when there is none. */
static char *
ddl_parse_ident(const char **p)
{
	const char *s = *p;
	buf_t		b = {0};
	if (*s == '"')
	{
		s++;
		while (*s)
		{
			if (*s == '"')
			{
				if (s[1] == '"')
				{
					buf_putc(&b, '"');
					s += 2;
					continue;
				}
				s++;
				break;
			}
			buf_putc(&b, *s++);
		}
	}
	else
	{
		while (*s && *s != ' ' && *s != ';' && *s != '\n' && *s != ',')
			buf_putc(&b, *s++);
	}
	*p = s;
	if (b.len == 0)
	{
		buf_free(&b);
		return NULL;
	}
	return buf_steal(&b);
}

static bool
ddl_in_list(const char *name, char *const *list, int n)
{
	for (int i = 0; name && i < n; i++)
		if (strcmp(list[i], name) == 0)
			return true;
	return false;
}

/* Whether the role named right after prefix in line exists. */
static bool
ddl_line_names_existing(const char *line, const char *prefix, char *const *existing, int n,
						char **name_out)
{
	size_t		pl = strlen(prefix);
	if (strncmp(line, prefix, pl) != 0)
		return false;
	const char *p = line + pl;
	char	   *name = ddl_parse_ident(&p);
	bool		hit = ddl_in_list(name, existing, n);
	if (name_out && hit)
		*name_out = name;
	else
		free(name);
	return hit;
}

int
ddl_filter_roles(const char *in_path, const char *out_path, char *const *existing,
				 int nexisting, int *nskipped, pgc_err *err)
{
	FILE	   *in = fopen(in_path, "r");
	if (!in)
	{
		err_set(err, "could not read \"%s\": %s", in_path, strerror(errno));
		return -1;
	}
	int			fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	FILE	   *out = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!out)
	{
		err_set(err, "could not create \"%s\": %s", out_path, strerror(errno));
		if (fd >= 0)
			close(fd);
		fclose(in);
		return -1;
	}
	char	  **met = NULL;
	int			nmet = 0;
	char	   *line = NULL;
	size_t		cap = 0;
	ssize_t		len;
	while ((len = getline(&line, &cap, in)) >= 0)
	{
		char	   *name = NULL;
		bool		skip = ddl_line_names_existing(line, "CREATE ROLE ", existing, nexisting, &name)
			|| ddl_line_names_existing(line, "ALTER ROLE ", existing, nexisting, &name)
			|| ddl_line_names_existing(line, "COMMENT ON ROLE ", existing, nexisting, &name);
		if (!skip && strncmp(line, "SECURITY LABEL ", 15) == 0)
		{
			const char *on = strstr(line, " ON ROLE ");
			if (on)
				skip = ddl_line_names_existing(on, " ON ROLE ", existing, nexisting, &name);
		}
		if (!skip && strncmp(line, "GRANT ", 6) == 0)
		{
			/* GRANT role TO member [WITH ADMIN OPTION] [GRANTED BY x]; */
			const char *to = strstr(line, " TO ");
			if (to)
				skip = ddl_line_names_existing(to, " TO ", existing, nexisting, &name);
		}
		if (name)
		{
			if (!ddl_in_list(name, met, nmet))
			{
				met = xrealloc(met, (size_t) (nmet + 1) * sizeof *met);
				met[nmet++] = name;
			}
			else
				free(name);
		}
		if (!skip)
			fwrite(line, 1, (size_t) len, out);
	}
	free(line);
	for (int i = 0; i < nmet; i++)
		free(met[i]);
	free(met);
	fclose(in);
	if (fclose(out) != 0)
	{
		err_set(err, "could not write \"%s\": %s", out_path, strerror(errno));
		return -1;
	}
	if (nskipped)
		*nskipped = nmet;
	return 0;
}

int
ddl_run_script(const ddl_tools *t, const char *path, const char *conninfo, const char *side,
			   const char *dbname, buf_t *errors, pgc_err *err)
{
	char	   *password = NULL;
	char	   *ci = ddl_conninfo(conninfo, dbname, side, &password, err);
	if (!ci)
		return -1;
	char	   *prog = ddl_tools_path(t, "psql");
	const char *argv[] = {prog, "--no-psqlrc", "--quiet", "--set", "ON_ERROR_STOP=0",
	"--file", path, "--dbname", ci, NULL};
	buf_t		errout = {0};
	ddl_child_io io = {.errout = &errout, .password = password};
	int			rc = ddl_run(argv, &io, err);
	int			failed = 0;
	if (rc >= 0)
	{
		for (const char *p = errout.data ? errout.data : ""; (p = strstr(p, "ERROR:")) != NULL; p++)
			failed++;
		if (rc != 0 && failed == 0)
		{
			char	   *lines = ddl_error_lines(errout.data, 6);
			err_set(err, "psql could not run the roles script on the %s server", side);
			if (*lines)
				err_detail(err, "%s", lines);
			free(lines);
			failed = -1;
		}
		else if (failed > 0 && errors)
		{
			char	   *lines = ddl_error_lines(errout.data, 12);
			buf_puts(errors, lines);
			free(lines);
		}
	}
	else
		failed = -1;
	buf_free(&errout);
	free(prog);
	free(ci);
	ddl__password_free(password);
	return failed;
}
