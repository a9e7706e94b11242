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

/*
 * Checks the archive at root against m: every file the manifest lists is
 * there with its size and SHA-256, and every file a database refers to is
 * listed.  dbname, when not NULL, limits the check to that database's
 * files (plus the roles file when roles is true).  Problems are appended
 * to report; stop_at_first ends at the first one.  Returns 0 when the
 * check ran (look at report->nproblems), -1 with err set when it could not
 * run (I/O errors other than a missing file).
 */
int archive_verify_run(const char *root, const manifest *m, const char *dbname, bool roles,
					   bool stop_at_first, archive_verify_report *report, pgc_err *err);

/* Frees the report's contents. */
void archive_verify_report_free(archive_verify_report *report);

#endif
