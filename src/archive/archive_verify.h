/*
 * archive_verify.h: checking an archive's files against its manifest,
 * without a server.
 *
 * Used by "pgcarry verify-archive" (every problem, exit 3) and by import
 * (the first problem of a database, before the database is touched).
 */
#ifndef PGCARRY_ARCHIVE_VERIFY_H
#define PGCARRY_ARCHIVE_VERIFY_H

#include <stdbool.h>

#include "archive/archive_stream.h"
#include "archive/manifest.h"
#include "util/err.h"

/* One problem found, as one sentence naming the file. */
typedef struct archive_verify_problem
{
	char	   *file;			/* relative path */
	char	   *message;		/* "archive file \"...\" is missing" etc. */
} archive_verify_problem;

typedef struct archive_verify_report
{
	archive_verify_problem *problems;
	int			nproblems;
	int			nfiles;			/* files checked */
	unsigned long long bytes;	/* bytes checked */
} archive_verify_report;

/* Flags of archive_verify_run. */
#define ARCHIVE_VERIFY_FIRST 1u		/* stop at the first problem */
#define ARCHIVE_VERIFY_DATA 2u		/* read every data file again: rows and
									 * checksums against the manifest */
#define ARCHIVE_VERIFY_SCHEMA 4u	/* compare the tables with the schema
									 * dump's table of contents */

/*
 * Checks the archive at root against m: every file the manifest lists is
 * there with its size and SHA-256; every file a database refers to is
 * listed, every listed file belongs to an entry, and every file on disk is
 * listed; every table has data files and its row count and checksum are
 * their sum (in a schema-only archive: no table has data files, rows or a
 * checksum, and there are no sequence values or large objects); with ARCHIVE_VERIFY_SCHEMA, each database's tables are the
 * tables its schema dump holds rows for (pg_restore's listing of
 * schema.dump: pg_dump's own table of contents; pg_restore as ddl.h
 * chooses it); with ARCHIVE_VERIFY_DATA, each data file's rows are
 * counted and hashed again.  dbname, when not NULL, limits the check to
 * that database (plus the roles file when roles is true).  Problems are
 * appended to report.  Returns 0 when the check ran (look at
 * report->nproblems), -1 with err set when it could not run (I/O errors
 * other than a missing file, pg_restore not found).
 */
int archive_verify_run(const char *root, const manifest *m, const char *dbname, bool roles,
					   unsigned flags, archive_verify_report *report, pgc_err *err);

/* The same for an archive read as a tar stream: the data files in seen
 * went by without being kept (their size, SHA-256 and rows were taken as
 * they passed), the others are under root. */
int archive_verify_run_seen(const char *root, const manifest *m, const archive_stream_files *seen,
							const char *dbname, bool roles, unsigned flags, archive_verify_report *r,
							pgc_err *err);

/* Frees the report's contents. */
void archive_verify_report_free(archive_verify_report *report);

#endif
