/*
 * archive_export.h: "pgcarry export", databases into an archive
 * (docs/archive-format.md).  The command line is parsed in archive_cli.c.
 */
#ifndef PGCARRY_ARCHIVE_EXPORT_H
#define PGCARRY_ARCHIVE_EXPORT_H

#include <stdbool.h>

#include "archive/manifest.h"
#include "core/catalog.h"
#include "core/progress.h"
#include "util/err.h"

typedef struct archive_export_opts
{
	const char *source;			/* source connection string */
	char	  **dbs;			/* databases named on the command line */
	int			ndbs;
	bool		all;			/* every database that allows connections */
	char	   *const *exclude_dbs;	/* --exclude-database (with all), as
									 * regexes */
	int			nexclude_dbs;
	const char *output;			/* directory, tar file, or "-" */
	int			jobs;			/* worker sessions per database */
	bool		roles;			/* pg_dumpall --roles-only into roles.sql */
	int			zstd_level;		/* 0: no compression */
	bool		tar;			/* --format tar */
	bool		resume;			/* finish an interrupted export (dir only) */
	progress_mode progress;		/* --progress */
	int			part_mb;		/* tables bigger than this go in parts of this
								 * size (MB); 0: the default */
	const catalog_filter *filter;	/* -n/-N/-t/-T; NULL: everything */
	bool		dry_run;		/* --dry-run: check and print the plan only */
	manifest_content content;	/* --schema-only, --data-only, or whole */
} archive_export_opts;

/*
 * Exports the databases into the archive.  Returns EXIT_OK, or EXIT_FAIL
 * with err set (an existing non-empty output, a source error, a pg_dump
 * failure, an interrupt).  The manifest is written only when everything
 * else is, so a failed export never looks complete.
 */
int archive_export_run(const archive_export_opts *o, pgc_err *err);

/*
 * --dry-run: the checks an export makes before it writes (the output is
 * new or empty, the source and its databases reachable, a pg_dump new
 * enough), then the plan on stdout: each database and its chosen tables
 * with their sizes.  Writes nothing.  Returns EXIT_OK, or EXIT_FAIL with
 * err set.
 */
int archive_export_dry_run(const archive_export_opts *o, pgc_err *err);

#endif
