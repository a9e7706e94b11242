/*
 * archive_export.h: "pgcarry export", databases into an archive
 * (docs/archive-format.md).  The command line is parsed in archive_cli.c.
 */
#ifndef PGCARRY_ARCHIVE_EXPORT_H
#define PGCARRY_ARCHIVE_EXPORT_H

#include <stdbool.h>

#include "archive/manifest.h"
#include "cli.h"
#include "core/catalog.h"
#include "core/progress.h"
#include "util/err.h"

typedef struct archive_export_opts
{
	cli_shared	cli;			/* --source, the databases or --all with
								 * --exclude-database, -j/--jobs (worker
								 * sessions), --progress, -n/-N/-t/-T,
								 * --roles (pg_dumpall --roles-only into
								 * roles.sql), --resume (dir only),
								 * --dry-run; source is the checked
								 * connection string */
	const char *output;			/* directory, tar file, or "-" */
	int			zstd_level;		/* 0: no compression */
	bool		tar;			/* --format tar */
	int			part_mb;		/* tables bigger than this go in parts of this
								 * size (MB); 0: the default */
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
