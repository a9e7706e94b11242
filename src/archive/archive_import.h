/*
 * archive_import.h: "pgcarry import" of a pgcarry archive (a directory, a
 * tar file, or a tar on standard input).  The command line is parsed in
 * archive_cli.c; dumps made by pg_dump go to archive_dump.h instead.
 */
#ifndef PGCARRY_ARCHIVE_IMPORT_H
#define PGCARRY_ARCHIVE_IMPORT_H

#include <stdbool.h>

#include <libpq-fe.h>

#include "archive/archive_file.h"
#include "archive/manifest.h"
#include "progress.h"
#include "stream.h"
#include "verify.h"
#include "util/err.h"

typedef struct archive_import_opts
{
	const char *target;			/* target connection string */
	const char *input;			/* archive directory, tar file, or "-" */
	char	  **dbs;			/* databases of the archive to load (none: all) */
	int			ndbs;
	const char *dbname;			/* --db: the target name of the one database */
	int			jobs;
	bool		roles;
	bool		clean;
	bool		resume;
	bool		no_owner;
	bool		exit_on_error;	/* stop a database at its first schema object
								 * that cannot be created */
	progress_mode progress;		/* --progress */
	verify_mode verify;			/* --verify: full (default), count, none */
} archive_import_opts;

/*
 * Loads the archive: checks every file of the chosen databases against the
 * manifest before touching the target, then for each database creates it
 * (marked unfinished), restores pre-data, loads the data in parallel,
 * sequences and large objects, restores post-data, verifies every table
 * against the manifest and removes the mark.  tar says the input is a tar
 * stream (unpacked into a private directory first).  Returns EXIT_OK,
 * EXIT_DIFFERENT when the verification found differences (each logged),
 * EXIT_USAGE for a --db that cannot apply, or EXIT_FAIL with err set.
 */
int archive_import_run(const archive_import_opts *o, bool tar, pgc_err *err);

/* ---- internal: shared with the tar stream loader (archive_tarload.c) */

/* Quoted qualified name and column list of a manifest table (owned by the
 * caller). */
void archive_import__names(PGconn *conn, const manifest_table *t, char **qualified, char **columns);

/* The statement that empties the target table t (quoted q) before its rows
 * load: TRUNCATE (tree: the partitions too), or for an extension's
 * configuration table a DELETE of the rows matching its condition, leaving
 * the extension's own (catalog.h).  Owned by the caller. */
char *archive_import__clear_sql(const manifest_table *t, const char *q, bool tree);

/* COPY of the rows r reads into table q (columns cols), inside the
 * caller's transaction, each row hashed on its way: *got.  tick may be
 * NULL.  Returns 0, or -1 with err set. */
int archive_import__copy(PGconn *conn, const char *q, const char *cols, bool freeze, archive_file_reader *r,
						 const stream_tick *tick, rowhash *got, pgc_err *err);

/* On resume: 1 when every table of mdb exists in the target database
 * name (conn), 0 when none does, -1 (err set) when some do: the schema is
 * half made. */
int archive_import__schema_state(PGconn *conn, const manifest_db *mdb, const char *name, pgc_err *err);

/* Creates the roles of root/roles_file on the target (errors for roles that
 * exist are expected; the importing role is left alone); passwords says
 * whether the export could read them.  Returns 0, or -1 with err set. */
int archive_import__roles(const archive_import_opts *o, const char *root, const char *roles_file, bool passwords,
						  const char *scratch, pgc_err *err);

#endif
