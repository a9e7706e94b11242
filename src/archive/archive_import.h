/*
 * archive_import.h: "pgcarry import" of a pgcarry archive (a directory, a
 * tar file, or a tar on standard input).  The command line is parsed in
 * archive_cli.c; dumps made by pg_dump go to archive_dump.h instead.
 */
#ifndef PGCARRY_ARCHIVE_IMPORT_H
#define PGCARRY_ARCHIVE_IMPORT_H

#include <stdbool.h>

#include "cli.h"
#include "core/catalog.h"
#include "core/progress.h"
#include "core/verify.h"
#include "util/err.h"

typedef struct archive_import_opts
{
	cli_shared	cli;			/* --target (target: the checked connection
								 * string), the databases of the archive to
								 * load (none: all), -j/--jobs, --roles,
								 * --clean, --resume, --verify (full, count,
								 * none), --progress, --dry-run (check and
								 * print the plan, write nothing),
								 * -n/-N/-t/-T (empty: everything),
								 * --exclude-database (as regexes) */
	const char *input;			/* archive directory, tar file, or "-" */
	const char *dbname;			/* --db: the target name of the one database */
	cli_renames renames;		/* --rename OLD=NEW: the archive's names and
								 * those they get on the target */
	bool		no_owner;
	bool		exit_on_error;	/* stop a database at its first schema object
								 * that cannot be created */
	bool		schema_only;	/* the schema, no rows */
	bool		data_only;		/* rows only, into the tables of a database
								 * that exists */
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
