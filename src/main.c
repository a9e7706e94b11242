/*
 * main.c: pgcarry's entry point.  Parses the global options, dispatches to
 * the command, and exits through the one cleanup path.
 */
#include "cleanup.h"
#include "cli.h"
#include "commands.h"
#include "util/err.h"
#include "util/log.h"
#include "version.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct main_command
{
	const char *name;
	int			(*run) (int argc, char **argv);
	const char *summary;
} main_command;

static const main_command main_commands[] = {
	{"ping", cmd_ping, "check a server: version, databases, sizes, and the rights pgcarry needs"},
	{"copy", cmd_copy, "copy databases from a source server into a target server, then verify"},
	{"compare", cmd_compare, "compare databases on two servers, table by table"},
	{"export", cmd_export, "write databases into a checksummed archive"},
	{"import", cmd_import, "load an archive or any pg_dump output into a server, then verify"},
	{"verify-archive", cmd_verify_archive, "check an archive's files and checksums without a server"},
	{"schema", cmd_schema, "versioned and expand/contract migrations on a live database"},
	{"follow", cmd_follow, "status of databases copy --follow keeps in sync, or stop following"},
	{"cutover", cmd_cutover, "fence the source, wait for the target, verify, and switch"},
	{NULL, NULL, NULL}
};

static void
main_usage(FILE *out)
{
	fprintf(out,
			"pgcarry moves and evolves PostgreSQL databases without losing a row.\n"
			"\n"
			"Usage:\n"
			"  pgcarry COMMAND [OPTION]...\n"
			"\n"
			"Commands:\n");
	for (const main_command *c = main_commands; c->name; c++)
		fprintf(out, "  %-16s %s\n", c->name, c->summary);
	fprintf(out,
			"\n"
			"Start here:\n"
			"  pgcarry ping --source postgresql://user@old-host/postgres\n"
			"  pgcarry copy --source postgresql://user@old-host --target postgresql://user@new-host --all --jobs 4\n"
			"\n"
			"Connections are URIs or key=value strings; --source and --target fall back to\n"
			"PGCARRY_SOURCE and PGCARRY_TARGET.  Passwords come from PGPASSWORD, ~/.pgpass,\n"
			"a service file or a prompt, never from the command line.\n"
			"\n"
			"Exit status: 0 success, 1 failure, 2 usage error, 3 verification found a difference.\n"
			"\n"
			"Run \"pgcarry COMMAND --help\" for a command's options.\n");
}

int
main(int argc, char **argv)
{
	cleanup_init();
	log_setup(LOG_NOTICE, LOG_FORMAT_TEXT);
	cli_early_options(argc, argv);

	if (argc < 2)
	{
		main_usage(stderr);
		return EXIT_USAGE;
	}
	const char *cmd = argv[1];
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "-?") == 0
		|| strcmp(cmd, "help") == 0)
	{
		if (strcmp(cmd, "help") == 0 && argc > 2)
		{
			for (const main_command *c = main_commands; c->name; c++)
				if (strcmp(c->name, argv[2]) == 0)
				{
					char *hargv[] = {argv[2], "--help", NULL};
					return c->run(2, hargv);
				}
			return cli_usage_error(NULL, "unknown command \"%s\"", argv[2]);
		}
		main_usage(stdout);
		return EXIT_OK;
	}
	if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0)
	{
		printf("pgcarry %s\n", PGCARRY_VERSION);
		return EXIT_OK;
	}
	if (cmd[0] == '-')
		return cli_usage_error(NULL, "unrecognized option \"%s\" before the command", cmd);

	for (const main_command *c = main_commands; c->name; c++)
		if (strcmp(c->name, cmd) == 0)
		{
			int rc = c->run(argc - 1, argv + 1);
			fflush(stdout);
			cleanup_run();
			return rc;
		}
	return cli_usage_error(NULL, "unknown command \"%s\"", cmd);
}
