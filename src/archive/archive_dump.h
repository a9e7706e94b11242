/*
 * archive_dump.h: what "pgcarry import --input" was given, and loading the
 * dumps that pg_dump made (custom, directory, tar, plain SQL).
 *
 * The kind is read from the content, never from the name: a pgcarry
 * archive has manifest.json (a directory) or is a tar whose first entry is
 * not toc.dat; pg_dump's custom format starts with "PGDMP"; its directory
 * format holds toc.dat; its tar format starts with a toc.dat entry;
 * anything else is taken for plain SQL.
 */
#ifndef PGCARRY_ARCHIVE_DUMP_H
#define PGCARRY_ARCHIVE_DUMP_H

#include <stdbool.h>

#include "util/err.h"

typedef enum archive_dump_kind
{
	ARCHIVE_DUMP_PGCARRY_DIR,	/* a pgcarry archive directory */
	ARCHIVE_DUMP_PGCARRY_TAR,	/* a pgcarry archive as a tar (or stdin) */
	ARCHIVE_DUMP_CUSTOM,		/* pg_dump -Fc */
	ARCHIVE_DUMP_DIRECTORY,		/* pg_dump -Fd */
	ARCHIVE_DUMP_TAR,			/* pg_dump -Ft */
	ARCHIVE_DUMP_SQL			/* plain SQL */
} archive_dump_kind;

/* Recognises path ("-" is standard input: a pgcarry tar).  Returns 0 with
 * *kind set, or -1 with err set (missing, unreadable, empty). */
int archive_dump_detect(const char *path, archive_dump_kind *kind, pgc_err *err);

/* "pg_dump custom archive" etc., for messages; static storage. */
const char *archive_dump_kind_name(archive_dump_kind kind);

typedef struct archive_dump_opts
{
	const char *target;			/* target connection string */
	const char *dbname;			/* --db, or NULL: from the dump or file name */
	int			jobs;
	bool		clean;
	bool		no_owner;
	bool		exit_on_error;	/* stop at the first object that cannot be
								 * created */
} archive_dump_opts;

/*
 * Loads a dump made by pg_dump (kind CUSTOM, DIRECTORY, TAR or SQL) into
 * the target: the database is created or refused (archive_target), marked
 * unfinished, loaded with pg_restore (-j where the format allows) or psql
 * (ON_ERROR_STOP, one transaction where the file allows), reported on
 * stdout, and unmarked.  Returns an exit status (EXIT_OK, EXIT_FAIL); on
 * failure err names the object or the file and line, and the database
 * stays marked unfinished.
 */
int archive_dump_import(const char *path, archive_dump_kind kind, const archive_dump_opts *o, pgc_err *err);

/* The database name a file name suggests: its last component without
 * the extensions .sql.tar, .tar, .sql, .dump, .backup, .custom, .dir,
 * .pgdump; owned by the caller. */
char *archive_dump_name_from_path(const char *path);

#endif
