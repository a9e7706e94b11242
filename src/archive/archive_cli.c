/*
 * archive_cli.c: the command lines of "pgcarry export" and "pgcarry import":
 * options, their combinations (each refusal pinned by a test), help, and
 * dispatch to archive_export_run, archive_import_run and archive_dump_import.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "archive/archive_dump.h"
#include "archive/archive_export.h"
#include "archive/archive_import.h"
#include "cli.h"
#include "core/progress.h"
#include "commands.h"
#include "conn.h"
#include "util/log.h"
#include "util/xalloc.h"

/* The options of export and import of their own; the others are in the
 * shared option table (cli.h). */
enum
{
	ARCHIVE_OPT_OUTPUT = CLI_OPT_FIRST_OWN,
	ARCHIVE_OPT_INPUT,
	ARCHIVE_OPT_COMPRESS,
	ARCHIVE_OPT_FORMAT,
	ARCHIVE_OPT_DB,
	ARCHIVE_OPT_NO_OWNER,
	ARCHIVE_OPT_EXIT_ON_ERROR,
	ARCHIVE_OPT_PART_SIZE,
	ARCHIVE_OPT_RENAME,
	ARCHIVE_OPT_SCHEMA_ONLY,
	ARCHIVE_OPT_DATA_ONLY
};

#define ARCHIVE_DEFAULT_LEVEL 1

static void
archive_cli_export_help(void)
{
	printf("pgcarry export writes databases into a checksummed archive.\n"
		   "\n"
		   "Usage:\n"
		   "  pgcarry export --source URI DB... --output PATH [OPTION]...\n"
		   "  pgcarry export --source URI --all --output PATH [OPTION]...\n"
		   "\n"
		   "Options:\n"
		   "      --source URI          the server to read (default: $PGCARRY_SOURCE)\n"
		   "      --all                 every database that allows connections\n"
		   "      --exclude-database PATTERN\n"
		   "                            with --all, not the databases matching PATTERN\n"
		   "%s"
		   "      --output PATH         the archive: a new or empty directory, a new tar\n"
		   "                            file with --format tar, or - for standard output\n"
		   "  -j, --jobs N              sessions reading in parallel (default 2)\n"
		   "      --roles               also the roles (pg_dumpall --roles-only)\n"
		   "      --compress METHOD     zstd, zstd:LEVEL (1..19) or none (default zstd:%d)\n"
		   "      --format dir|tar      a directory (default) or one tar stream\n"
		   "      --resume              finish an interrupted export into the same directory\n"
		   "      --dry-run             check everything and print what would be exported,\n"
		   "                            writing nothing (exit 0: would work, 1: would fail)\n"
		   "      --part-size MB        tables bigger than this are written in parts of\n"
		   "                            this size, read and loaded in parallel (default 128)\n"
		   "      --schema-only         the schema only (pg_dump --schema-only): no rows,\n"
		   "                            sequence values or large objects\n"
		   "      --data-only           an archive that import loads into tables that\n"
		   "                            exist (rows, sequence values, large objects)\n"
		   "      --progress MODE       auto (default), tty, log, json, or none\n"
		   "      --progress-file FILE  JSON progress lines into FILE, not stderr\n"
		   "\n"
		   "Each database is read from one snapshot.  The archive's format is described\n"
		   "in docs/archive-format.md; it can be restored without pgcarry.\n"
		   "\n%s", cli_filter_help, ARCHIVE_DEFAULT_LEVEL, cli_common_help);
}

static void
archive_cli_import_help(void)
{
	printf("pgcarry import loads an archive, or any pg_dump output, into a server.\n"
		   "\n"
		   "Usage:\n"
		   "  pgcarry import --target URI --input PATH [DB...] [OPTION]...\n"
		   "\n"
		   "Options:\n"
		   "      --target URI          the server to load (default: $PGCARRY_TARGET)\n"
		   "      --input PATH          a pgcarry archive (directory or tar; - reads a tar\n"
		   "                            from standard input), or a pg_dump custom,\n"
		   "                            directory or tar archive, or a plain SQL file\n"
		   "      DB...                 of a pgcarry archive, only these databases\n"
		   "      --exclude-database PATTERN\n"
		   "                            not the archive's databases matching PATTERN\n"
		   "%s"
		   "      --rename OLD=NEW      import database OLD of the archive as NEW (repeatable)\n"
		   "      --schema-only         the schema only, no rows\n"
		   "      --data-only           the rows only, into the tables of a database that\n"
		   "                            exists (each must exist and be empty)\n"
		   "      --db NAME             the target database's name (one database only)\n"
		   "  -j, --jobs N              sessions loading in parallel (default 2)\n"
		   "      --roles               also create the archive's roles\n"
		   "      --clean               replace target databases that already exist\n"
		   "      --resume              finish an interrupted import (pgcarry archives)\n"
		   "      --no-owner            do not restore object owners (pg_restore --no-owner)\n"
		   "      --exit-on-error       stop a database at its first schema object that cannot\n"
		   "                            be created (default: carry every other one, then fail)\n"
		   "      --verify MODE         full (default: row counts and checksums), count, none\n"
		   "      --dry-run             check everything and print what would be imported,\n"
		   "                            writing nothing (exit 0: would work, 1: would fail)\n"
		   "      --progress MODE       auto (default), tty, log, json, or none\n"
		   "      --progress-file FILE  JSON progress lines into FILE, not stderr\n"
		   "\n"
		   "A pgcarry archive is checked file by file before it is loaded, and the loaded\n"
		   "database is verified against the archive (row counts and checksums).  A\n"
		   "database that fails never stops the others; --resume finishes what an\n"
		   "interrupted import left.\n"
		   "Exit status 3 when the verification finds a difference.\n"
		   "With -n/-N/-t/-T (pgcarry archives), only the chosen tables are loaded and\n"
		   "verified, with the part of the schema pg_dump would have chosen with them.\n"
		   "\n%s", cli_filter_help, cli_common_help);
}

/* Parses --compress. Returns 0 or -1. */
static int
archive_cli_compress(const char *arg, int *level)
{
	if (strcmp(arg, "none") == 0)
	{
		*level = 0;
		return 0;
	}
	if (strcmp(arg, "zstd") == 0)
	{
		*level = ARCHIVE_DEFAULT_LEVEL;
		return 0;
	}
	if (strncmp(arg, "zstd:", 5) == 0)
	{
		char *end;
		long v = strtol(arg + 5, &end, 10);
		if (*end == '\0' && end != arg + 5 && v >= 1 && v <= 19)
		{
			*level = (int) v;
			return 0;
		}
	}
	return -1;
}

/* Ends a command that ran: reports err when rc is not EXIT_OK, clears it,
 * and returns rc. */
static int
archive_cli_done(int rc, pgc_err *err)
{
	if (rc != EXIT_OK)
		err_report(err);
	err_clear(err);
	return rc;
}

/* pgcarry export: its options into *o, the shared ones into o->cli (the
 * caller sets o's defaults and frees o->cli). */
static int
archive_cli_export(int argc, char **argv, archive_export_opts *o)
{
	static const struct option longopts[] = {
		CLI_SHARED_SOURCE,
		CLI_SHARED_ALL,
		{"output", required_argument, NULL, ARCHIVE_OPT_OUTPUT},
		CLI_SHARED_JOBS,
		CLI_SHARED_ROLES,
		{"compress", required_argument, NULL, ARCHIVE_OPT_COMPRESS},
		{"format", required_argument, NULL, ARCHIVE_OPT_FORMAT},
		CLI_SHARED_RESUME,
		CLI_SHARED_PROGRESS,
		{"part-size", required_argument, NULL, ARCHIVE_OPT_PART_SIZE},
		CLI_SHARED_FILTERS,
		CLI_SHARED_DRY_RUN,
		CLI_SHARED_EXCLUDE_DATABASE,
		{"schema-only", no_argument, NULL, ARCHIVE_OPT_SCHEMA_ONLY},
		{"data-only", no_argument, NULL, ARCHIVE_OPT_DATA_ONLY},
		CLI_COMMON_LONGOPTS,
		{NULL, 0, NULL, 0}
	};
	bool schema_only = false, data_only = false;
	cli_shared *sh = &o->cli;
	int opt;
	int rc;
	optind = 1;
	while ((opt = getopt_long(argc, argv, CLI_SHARED_FILTER_SHORTOPTS, longopts, NULL)) != -1)
	{
		switch (opt)
		{
			case ARCHIVE_OPT_OUTPUT:
				o->output = optarg;
				break;
			case ARCHIVE_OPT_COMPRESS:
				if (archive_cli_compress(optarg, &o->zstd_level) != 0)
					return cli_usage_error("export", "--compress must be zstd, zstd:LEVEL (1..19) or none, not \"%s\"", optarg);
				break;
			case ARCHIVE_OPT_FORMAT:
				if (strcmp(optarg, "tar") == 0)
					o->tar = true;
				else if (strcmp(optarg, "dir") == 0)
					o->tar = false;
				else
					return cli_usage_error("export", "--format must be dir or tar, not \"%s\"", optarg);
				break;
			case ARCHIVE_OPT_SCHEMA_ONLY:
				schema_only = true;
				break;
			case ARCHIVE_OPT_DATA_ONLY:
				data_only = true;
				break;
			case ARCHIVE_OPT_PART_SIZE:
			{
				long mb;
				if (cli_parse_int("export", "--part-size", optarg, 1, 1048576, &mb) != 0)
					return EXIT_USAGE;
				o->part_mb = (int) mb;
				break;
			}
			default:
				if ((rc = cli_shared_option("export", sh, opt, argv, archive_cli_export_help)) != 0)
					return rc < 0 ? EXIT_OK : rc;
				break;
		}
	}
	o->cli.dbs = (const char **) argv + optind;
	o->cli.ndbs = argc - optind;
	if (!o->output)
		return cli_usage_error("export", "give where to write the archive with --output");
	if (schema_only && data_only)
		return cli_usage_error("export", "--schema-only and --data-only cannot be used together");
	o->content = schema_only ? MANIFEST_SCHEMA_ONLY : data_only ? MANIFEST_DATA_ONLY : MANIFEST_WHOLE;
	if (o->cli.all && o->cli.ndbs > 0)
		return cli_usage_error("export", "give database names or --all, not both");
	if (!o->cli.all && o->cli.ndbs == 0)
		return cli_usage_error("export", "name the databases to export, or give --all");
	if (!o->cli.all && sh->nexclude_dbs > 0)
		return cli_usage_error("export", "--exclude-database works with --all only");
	if (strcmp(o->output, "-") == 0 && !o->tar)
		return cli_usage_error("export", "--output - writes a tar stream: add --format tar");
	if (o->cli.resume && o->tar)
		return cli_usage_error("export", "--resume works with --format dir only");
	if (strcmp(o->output, "-") == 0 && isatty(STDOUT_FILENO))
		return cli_usage_error("export", "standard output is a terminal: redirect --output - to a file or a pipe");
	if ((rc = cli_resolve_conn("export", "--source", sh->source_arg, "PGCARRY_SOURCE", true, &o->cli.source)) != 0)
		return rc;

	if (o->cli.dry_run && o->cli.resume)
		return cli_usage_error("export", "--dry-run cannot be used with --resume");
	pgc_err err = PGC_ERR_INIT;
	return archive_cli_done(o->cli.dry_run ? archive_export_dry_run(o, &err) : archive_export_run(o, &err), &err);
}

int
cmd_export(int argc, char **argv)
{
	archive_export_opts o = {.zstd_level = ARCHIVE_DEFAULT_LEVEL};
	cli_shared_init(&o.cli);
	int rc = archive_cli_export(argc, argv, &o);
	cli_shared_free(&o.cli);
	return rc;
}

/* pgcarry import: its options into *o, the shared ones into o->cli (the
 * caller frees o->cli and o->renames). */
static int
archive_cli_import(int argc, char **argv, archive_import_opts *o)
{
	static const struct option longopts[] = {
		CLI_SHARED_TARGET,
		{"input", required_argument, NULL, ARCHIVE_OPT_INPUT},
		CLI_SHARED_JOBS,
		CLI_SHARED_ROLES,
		CLI_SHARED_CLEAN,
		CLI_SHARED_RESUME,
		{"db", required_argument, NULL, ARCHIVE_OPT_DB},
		{"no-owner", no_argument, NULL, ARCHIVE_OPT_NO_OWNER},
		{"exit-on-error", no_argument, NULL, ARCHIVE_OPT_EXIT_ON_ERROR},
		CLI_SHARED_VERIFY,
		CLI_SHARED_PROGRESS,
		CLI_SHARED_FILTERS,
		CLI_SHARED_EXCLUDE_DATABASE,
		CLI_SHARED_DRY_RUN,
		{"rename", required_argument, NULL, ARCHIVE_OPT_RENAME},
		{"schema-only", no_argument, NULL, ARCHIVE_OPT_SCHEMA_ONLY},
		{"data-only", no_argument, NULL, ARCHIVE_OPT_DATA_ONLY},
		CLI_COMMON_LONGOPTS,
		{NULL, 0, NULL, 0}
	};
	cli_shared *sh = &o->cli;
	cli_renames *renames = &o->renames;
	int opt;
	int rc;
	optind = 1;
	while ((opt = getopt_long(argc, argv, CLI_SHARED_FILTER_SHORTOPTS, longopts, NULL)) != -1)
	{
		switch (opt)
		{
			case ARCHIVE_OPT_SCHEMA_ONLY:
				o->schema_only = true;
				break;
			case ARCHIVE_OPT_DATA_ONLY:
				o->data_only = true;
				break;
			case ARCHIVE_OPT_RENAME:
				if ((rc = cli_parse_rename("import", optarg, renames)) != 0)
					return rc;
				break;
			case ARCHIVE_OPT_INPUT:
				o->input = optarg;
				break;
			case ARCHIVE_OPT_DB:
				o->dbname = optarg;
				break;
			case ARCHIVE_OPT_NO_OWNER:
				o->no_owner = true;
				break;
			case ARCHIVE_OPT_EXIT_ON_ERROR:
				o->exit_on_error = true;
				break;
			default:
				if ((rc = cli_shared_option("import", sh, opt, argv, archive_cli_import_help)) != 0)
					return rc < 0 ? EXIT_OK : rc;
				break;
		}
	}
	o->cli.dbs = (const char **) argv + optind;
	o->cli.ndbs = argc - optind;
	if (!o->input)
		return cli_usage_error("import", "give the archive or dump to load with --input");
	if (o->cli.clean && o->cli.resume)
		return cli_usage_error("import", "--clean and --resume cannot be used together");
	if (o->dbname && !*o->dbname)
		return cli_usage_error("import", "--db needs a database name");
	if (o->schema_only && o->data_only)
		return cli_usage_error("import", "--schema-only and --data-only cannot be used together");
	if (o->data_only && (o->cli.clean || o->cli.resume))
		return cli_usage_error("import", "--data-only loads into tables that exist: it cannot be used with %s",
							   o->cli.clean ? "--clean" : "--resume");
	if (o->dbname && renames->n > 0)
		return cli_usage_error("import", "--db and --rename cannot be used together: --rename OLD=NEW names both");

	pgc_err err = PGC_ERR_INIT;
	archive_dump_kind kind;
	if (archive_dump_detect(o->input, &kind, &err) != 0)
		return archive_cli_done(EXIT_FAIL, &err);
	bool pgcarry = kind == ARCHIVE_DUMP_PGCARRY_DIR || kind == ARCHIVE_DUMP_PGCARRY_TAR;
	if (!pgcarry)
	{
		if (o->cli.ndbs > 0)
			return cli_usage_error("import", "a pg_dump file holds one database: name the target database with --db");
		if (o->cli.resume)
			return cli_usage_error("import", "--resume works with pgcarry archives only; load a pg_dump file again with --clean");
		if (o->cli.roles)
			return cli_usage_error("import", "--roles works with pgcarry archives only; pg_dump files hold no roles");
		if (renames->n > 0)
			return cli_usage_error("import", "a pg_dump file holds one database: name the target database with --db");
		if (o->cli.dry_run)
			return cli_usage_error("import", "--dry-run works with pgcarry archives only; pg_restore --list "
								   "shows what a pg_dump file holds");
		if (o->schema_only || o->data_only)
			return cli_usage_error("import", "--schema-only and --data-only work with pgcarry archives only; "
								   "pg_restore has its own for a pg_dump file");
		if (catalog_filter_active(&sh->filter) || o->cli.nexclude_dbs > 0)
			return cli_usage_error("import", "-n, -N, -t, -T and --exclude-database work with pgcarry archives "
								   "only; for a pg_dump file use pg_restore's own --list and --use-list");
	}
	if ((rc = cli_resolve_conn("import", "--target", sh->target_arg, "PGCARRY_TARGET", true, &o->cli.target)) != 0)
		return rc;
	if (o->cli.dry_run && kind == ARCHIVE_DUMP_PGCARRY_TAR)
		return cli_usage_error("import", "--dry-run reads an archive directory, not a tar (it would have to be "
							   "unpacked): check a tar with pgcarry verify-archive");
	if (pgcarry)
		rc = archive_import_run(o, kind == ARCHIVE_DUMP_PGCARRY_TAR, &err);
	else
	{
		archive_dump_opts d = {.target = o->cli.target, .dbname = o->dbname, .jobs = o->cli.jobs, .clean = o->cli.clean,
			.no_owner = o->no_owner, .exit_on_error = o->exit_on_error};
		rc = archive_dump_import(o->input, kind, &d, &err);
	}
	return archive_cli_done(rc, &err);
}

int
cmd_import(int argc, char **argv)
{
	archive_import_opts o = {0};
	cli_shared_init(&o.cli);
	int rc = archive_cli_import(argc, argv, &o);
	cli_shared_free(&o.cli);
	cli_renames_free(&o.renames);
	return rc;
}
