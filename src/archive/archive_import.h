/*
 * archive_import.h: "pgcarry import" of a pgcarry archive (a directory, a
 * tar file, or a tar on standard input).  The command line is parsed in
 * archive_cli.c; dumps made by pg_dump go to archive_dump.h instead.
 */
#ifndef PGCARRY_ARCHIVE_IMPORT_H
#define PGCARRY_ARCHIVE_IMPORT_H

#include <stdbool.h>

#include "core/catalog.h"
#include "core/progress.h"
#include "core/verify.h"
#include "util/err.h"

typedef struct archive_import_opts
{
	const char *target;			/* target connection string */
	const char *input;			/* archive directory, tar file, or "-" */
	char	  **dbs;			/* databases of the archive to load (none: all) */
	int			ndbs;
	const char *dbname;			/* --db: the target name of the one database */
	char	  **rename_from;	/* --rename OLD=NEW: the archive's names... */
	char	  **rename_to;		/* ...and those they get on the target */
	int			nrenames;
	int			jobs;
	bool		roles;
	bool		clean;
	bool		resume;
	bool		no_owner;
	bool		exit_on_error;	/* stop a database at its first schema object
								 * that cannot be created */
	progress_mode progress;		/* --progress */
	verify_mode verify;			/* --verify: full (default), count, none */
	bool		dry_run;		/* check and print the plan, write nothing */
	bool		schema_only;	/* the schema, no rows */
	bool		data_only;		/* rows only, into the tables of a database
								 * that exists */
	const catalog_filter *filter;	/* -n/-N/-t/-T; NULL or empty: everything */
	char	  **exclude_dbs;	/* --exclude-database, as regexes */
	int			nexclude_dbs;
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

#endif
