/*
 * ddl.h: schema through PostgreSQL's own programs.
 *
 * pgcarry never writes DDL of its own: pg_dump writes a database's schema
 * (pre-data: types, tables, functions, views...; post-data: indexes,
 * constraints, triggers, foreign keys, materialized view refreshes) into a
 * custom-format file, and pg_restore applies it; pg_dumpall writes roles and
 * psql applies them.  This module finds those programs, checks that they are
 * recent enough for the server, runs them and turns their failures into one
 * clear error.
 *
 * Programs come from PG_BINDIR when set, otherwise from the newest of
 * `pg_config --bindir` and /usr/lib/postgresql/N/bin.  Children get a
 * password-free connection string on their command line (ddl_conninfo);
 * a password pgcarry knows (typed at its prompt, or held in a connection
 * string from the environment) reaches them only through PGPASSWORD in
 * their environment.  Every child is tracked by the cleanup module (an
 * interrupt stops it), starts with no signal blocked, and has its stderr
 * captured (bounded) for messages.  Dump files live in the caller's
 * directory, normally cleanup_private_tmpdir().
 */
#ifndef PGCARRY_DDL_H
#define PGCARRY_DDL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <libpq-fe.h>

#include "util/buf.h"
#include "util/err.h"

/* ------------------------------------------------------------------------
 * Programs
 * ------------------------------------------------------------------------ */

typedef struct ddl_tools ddl_tools;

/*
 * Finds pg_dump, pg_restore, pg_dumpall and psql for a server of version
 * server_version (PQserverVersion form) on the given side.  Fails when the
 * newest pg_dump found is older than the server's major version: pg_dump
 * cannot dump a newer server; the message says which version to install.
 * Returns the handle (ddl_tools_free), or NULL with err set.
 */
ddl_tools *ddl_tools_find(int server_version, const char *side, pgc_err *err);
void ddl_tools_free(ddl_tools *t);

/* The directory the programs come from, and their major version (15...). */
const char *ddl_tools_bindir(const ddl_tools *t);
int ddl_tools_major(const ddl_tools *t);

/*
 * Full path of a program of that directory ("pg_dump"); owned by caller.
 * With t NULL (import, having no server version to match programs to),
 * pg_dump, pg_restore, pg_dumpall and psql come from the directory
 * ddl_tools_find chooses with no server to match (the newest found, found
 * once per process); other names, or when none is found, stay bare (looked
 * up on PATH).
 */
char *ddl_tools_path(const ddl_tools *t, const char *program);

/* ------------------------------------------------------------------------
 * Running a child
 * ------------------------------------------------------------------------ */

typedef struct ddl_child_io
{
	const char *stdin_path;		/* file for stdin; NULL: /dev/null */
	const char *stdout_path;	/* file (created 0600) for stdout; NULL: see out */
	buf_t	   *out;			/* stdout captured here when stdout_path is NULL
								 * (NULL: discarded) */
	buf_t	   *errout;			/* stderr captured here (first 256 kB); NULL: discarded */
	size_t		errout_max;		/* keep this much of stderr instead; 0: 256 kB */
	bool		errout_squeeze;	/* pg_restore --verbose: keep only what
								 * ddl__restore_failures reads
								 * (ddl_squeeze_feed) */
	const char *password;		/* PGPASSWORD for the child; NULL: the
								 * environment's own, if any */
} ddl_child_io;

/*
 * pg_restore --verbose names every entry it restores, a line each; of
 * those only where they stand matters to ddl__restore_failures (a line of
 * pg_restore's own ends the message of a failed entry).  ddl_squeeze_feed
 * appends chunk (len bytes; len 0: the end) to out with each run of such
 * lines made one "pg_restore:" line, so that a schema of 100,000 tables
 * does not keep megabytes of them.  Lines naming an entry that failed, an
 * error or a warning, and every line of the server's, are kept whole.
 */
typedef struct ddl_squeeze
{
	buf_t		partial;		/* the line not ended yet */
	bool		marked;			/* the last line kept is a squeezed run */
} ddl_squeeze;

void ddl_squeeze_feed(ddl_squeeze *s, buf_t *out, const char *chunk, size_t len);

/*
 * Runs argv[0] (a path, or a name looked up on PATH; a bare pg_dump,
 * pg_restore, pg_dumpall or psql is first resolved by ddl_tools_path, so no
 * PostgreSQL program is ever taken from PATH unchosen) with argv and waits.
 * The child dies with pgcarry (cleanup_spawn).
 * Returns the child's exit status (0..255, 128+N when killed by signal N),
 * or -1 with err set when it could not be started.
 */
int ddl_run(const char *const *argv, const ddl_child_io *io, pgc_err *err);

/*
 * A key=value connection string for a child: conninfo (a URI, key=value
 * string or bare database name) with the database replaced by dbname (when
 * not NULL) and any password removed.  The password conninfo held, or else
 * the one typed at pgcarry's prompt for side, goes to *password (owned by
 * the caller; NULL when none).  Returns the string (owned by the caller), or
 * NULL with err set.
 */
char *ddl_conninfo(const char *conninfo, const char *dbname, const char *side,
				   char **password, pgc_err *err);

/*
 * The lines of a child's stderr worth showing (errors, DETAIL, HINT,
 * "Command was", the TOC entry), at most max, joined by newlines; the whole
 * text when none matches.  Owned by the caller.
 */
char *ddl_error_lines(const char *errout, int max);

/* ------------------------------------------------------------------------
 * Database schema
 * ------------------------------------------------------------------------ */

typedef struct ddl_dump ddl_dump;

/*
 * Runs pg_dump -Fc --create --section=pre-data --section=post-data on
 * database dbname of the server conninfo, into a new file in dir.  With
 * snapshot_id (not NULL), pg_dump reads under that exported snapshot, so the
 * schema matches the data copied under it.  extra (NULL-terminated, may
 * be NULL) is added to pg_dump's arguments: the choice of schemas and
 * tables (catalog_filter_dump_args).  Large object metadata (OIDs, owners,
 * grants) is part of pre-data.  Returns the dump (ddl_dump_free removes
 * its file), or NULL with err set.
 */
ddl_dump *ddl_dump_schema(const ddl_tools *t, const char *conninfo, const char *side,
						  const char *dbname, const char *snapshot_id, const char *const *extra,
						  const char *dir, pgc_err *err);

/* The same dump into the file path (created for its owner only, or
 * emptied), which the caller keeps: export's archive.  Returns 0, or -1 with
 * err set; a failed dump may leave path behind. */
int			ddl_dump_schema_file(const ddl_tools *t, const char *conninfo, const char *side,
								 const char *dbname, const char *snapshot_id, const char *const *extra,
								 const char *path, pgc_err *err);

/*
 * Whether pg_dump may read the schema of conn's database with
 * --schema-only added.  pgcarry's schema dumps take the pre-data and
 * post-data sections, which keep large objects' metadata and materialized
 * views' REFRESH entries; that form also makes pg_dump run its query for
 * materialized views' dependencies, which on a catalog pg_restore has just
 * filled with tens of thousands of tables can be planned into most of a
 * minute (seen: 43 to 56 s at 100,000 tables).  A database holding neither
 * large objects nor materialized views has the same table of contents
 * either way (tests/t/49-import-schema-check.t holds pg_dump to this), so
 * then *yes is true.  Asked on conn in the snapshot the dump reads under.
 * Returns 0, or -1 with err set.
 */
int ddl_schema_only_same(PGconn *conn, bool *yes, pgc_err *err);

/* Wraps an existing custom-format dump file (not removed on free). */
ddl_dump *ddl_dump_open(const char *path);

const char *ddl_dump_path(const ddl_dump *d);

/* One entry of a dump's table of contents (pg_restore --list). */
typedef struct ddl_toc_entry
{
	int			id;				/* dump ID */
	uint32_t	classid;		/* catalog of the object: 1259 pg_class (tables,
								 * indexes), 2606 pg_constraint, 0 for entries
								 * such as comments and grants */
	uint32_t	objid;			/* the object's OID on the dumped server */
} ddl_toc_entry;

/*
 * Reads the dump's table of contents (once; later calls and the restores
 * that filter entries reuse it, so call this before sharing d between
 * threads).  *out (free()) receives its entries in order.  Returns 0, or -1
 * with err set.
 */
int ddl_dump_toc(const ddl_tools *t, ddl_dump *d, ddl_toc_entry **out, int *nout, pgc_err *err);

/* The text of d's table of contents as pg_restore --list printed it, once
 * ddl_dump_toc has read it (NULL before).  Owned by d. */
const char *ddl_dump_toc_text(const ddl_dump *d);

/*
 * Whether the dump holds properties of its database (settings, comment,
 * privileges, security label: what DDL_DATABASE_PROPERTIES applies); *has
 * receives the answer.  The listing read is kept in d for a later
 * DDL_DATABASE_PROPERTIES restore (call this before sharing d between
 * threads).  t may be NULL (programs from PATH).  Returns 0, or -1 with err
 * set.
 */
int ddl_dump_has_database_properties(const ddl_tools *t, ddl_dump *d, bool *has, pgc_err *err);
void ddl_dump_free(ddl_dump *d);

typedef enum ddl_part
{
	DDL_CREATE_DATABASE,		/* CREATE DATABASE (encoding, locale, owner)
								 * only: its properties come last, so that
								 * none of its settings (such as
								 * default_transaction_read_only) gets in
								 * the way of loading it */
	DDL_DATABASE_PROPERTIES,	/* the database's properties: comment,
								 * settings, connection limit, grants,
								 * without changing the owner, for a
								 * database that exists (the script
								 * pg_restore writes, run by psql) */
	DDL_PRE_DATA,
	DDL_POST_DATA,
	DDL_ENTRIES					/* only the entries o->only_ids, for
								 * example one table's indexes */
} ddl_part;

/* An object pg_restore could not create. */
typedef struct ddl_failure
{
	int			id;				/* its dump ID */
	uint32_t	classid;		/* catalog and OID of the object on the */
	uint32_t	objid;			/* dumped server (as ddl_toc_entry) */
	char	   *object;			/* what it is, as pg_restore names it: kind
								 * then name ("CAST CAST (integer AS
								 * public.ctt)", "TABLE cmdata") */
	char	   *message;		/* the server's whole message (ERROR, DETAIL,
								 * HINT lines), then "Command was: " and the
								 * whole statement */
} ddl_failure;

typedef struct ddl_failures
{
	ddl_failure *items;
	int			n;
} ddl_failures;

/* Frees what f holds and leaves it empty. */
void		ddl_failures_free(ddl_failures *f);

/*
 * Internal, for unit tests: reads the stderr of pg_restore --verbose and
 * appends each failed entry to fails (dump ID, OIDs, what it is, the
 * server's whole message and statement; dump ID 0 for a failed statement
 * pg_restore did not tie to an entry).  *whole (when not NULL): whether
 * every failed statement pg_restore printed was read on an error line of
 * its own after its entry's line (parallel workers' lines can run into each
 * other).  Returns false when an error is not a statement's (the run itself
 * failed).
 */
bool		ddl__restore_failures(const char *errout, ddl_failures *fails, bool *whole);

/*
 * Internal, for unit tests: writes to out the entry lines of toc (the
 * output of pg_restore --list) to restore: with only, those whose dump ID
 * is among the nonly of only; otherwise those not among the nskip of skip;
 * and, unless step is 0, of that post-data step only (ddl.c's steps).
 * Lines stay in toc's order.  Returns how many were written.  Costs one
 * sort of the IDs and a binary search per entry.
 */
int			ddl__select_entries(const char *toc, int step, const int *only, int nonly, const int *skip,
								int nskip, FILE *out);

typedef struct ddl_restore_opts
{
	int			jobs;			/* pg_restore -j (post-data only); 0 or 1: one */
	bool		no_owner;		/* --no-owner: objects belong to the target user */
	bool		no_privileges;	/* --no-privileges: no GRANT/REVOKE */
	bool		tolerate_existing;	/* an object that already exists is no
									 * error (resuming a half-done post-data) */
	const char *maintenance_db; /* where DDL_CREATE_DATABASE and
								 * DDL_DATABASE_PROPERTIES connect first;
								 * NULL: the database conninfo names, else
								 * postgres */
	const char *tmpdir;			/* where temporary files (entry lists,
								 * scripts) go; NULL: beside the dump file */
	const int  *only_ids;		/* DDL_ENTRIES: the dump IDs to restore */
	int			nonly;
	const int  *skip_ids;		/* DDL_PRE_DATA, DDL_POST_DATA: dump IDs to
								 * leave out (restored already) */
	int			nskip;
	bool		exit_on_error;	/* stop at the first object that cannot be
								 * created (pg_restore --exit-on-error) */
	ddl_failures *failures;		/* not NULL: objects that still cannot be
								 * created are appended here and are no
								 * error; NULL: they are (see ddl_restore) */
} ddl_restore_opts;

/*
 * Applies one part of the dump to database dbname on the server conninfo
 * (side names it in messages).  For DDL_CREATE_DATABASE and
 * DDL_DATABASE_PROPERTIES, pg_restore connects first to o->maintenance_db.
 * DDL_DATABASE_PROPERTIES applies what the dump says of the database it
 * was dumped from to dbname (the script names the database through a psql
 * variable, so dbname may be another name: copy --rename); it stops at the
 * first error.  t may be NULL (programs from PATH); o may be NULL
 * (defaults).
 *
 * DDL_PRE_DATA, DDL_POST_DATA and DDL_ENTRIES carry every object that can
 * be carried: an object that cannot be created does not stop the others.
 * Post-data (and DDL_ENTRIES) runs in steps that cannot race: indexes and
 * the constraints that own one (o->jobs at once), then partitions' index
 * attachments one at a time, then the rest (foreign keys, triggers...,
 * o->jobs at once).  The objects that failed are tried again one at a time
 * once the rest of the part exists, again while a round creates one of
 * them.  Those that still fail are appended to o->failures (each with the
 * server's whole message and statement) and the call returns 0; with
 * o->failures NULL, it returns -1 with err naming them all.  With
 * o->exit_on_error, the first object that fails ends the call (-1, err set,
 * nothing retried).  With o->tolerate_existing, an object that exists
 * already is no failure.  Returns -1 with err set when pg_restore itself
 * fails (no connection, an unreadable dump, interrupted).
 */
int ddl_restore(const ddl_tools *t, const ddl_dump *d, ddl_part part, const char *conninfo,
				const char *side, const char *dbname, const ddl_restore_opts *o, pgc_err *err);

/* ------------------------------------------------------------------------
 * Roles
 * ------------------------------------------------------------------------ */

/*
 * pg_dumpall --roles-only from the server conninfo into path (0600).
 * Without with_passwords, --no-role-passwords (what a non-superuser or a
 * managed service allows).  Returns 0 or -1 with err set.
 */
int ddl_dump_roles(const ddl_tools *t, const char *conninfo, const char *side,
				   bool with_passwords, const char *path, pgc_err *err);

/*
 * Rewrites the roles script in_path into out_path without what would change
 * a role that already exists (the nexisting names): its CREATE ROLE, ALTER
 * ROLE, COMMENT ON ROLE and SECURITY LABEL ... ON ROLE, and grants that
 * would make it a member of another role.  *nskipped (may be NULL) receives
 * the number of existing roles met.  Returns 0 or -1 with err set.
 */
int ddl_filter_roles(const char *in_path, const char *out_path, char *const *existing,
					 int nexisting, int *nskipped, pgc_err *err);

/*
 * Runs the SQL script path with psql on database dbname of conninfo,
 * statement after statement (a failing statement does not stop the rest).
 * Returns the number of statements that failed (their messages, bounded,
 * appended to errors when not NULL), or -1 with err set when psql could not
 * run at all.
 */
int ddl_run_script(const ddl_tools *t, const char *path, const char *conninfo, const char *side,
				   const char *dbname, buf_t *errors, pgc_err *err);

#endif
