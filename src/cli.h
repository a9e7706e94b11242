/*
 * cli.h: what every command's option parsing shares.
 *
 * Each command parses its own options with getopt_long, adding
 * CLI_COMMON_LONGOPTS to its table and passing unknown option codes to
 * cli_common_option.  Errors in the command line print one line plus a
 * "Try ... --help" line and return EXIT_USAGE; only main exits.
 */
#ifndef PGCARRY_CLI_H
#define PGCARRY_CLI_H

#include <getopt.h>
#include <stdbool.h>

#include "core/catalog.h"
#include "core/progress.h"
#include "core/verify.h"
#include "util/err.h"

/* Option codes shared by every command (outside the char range). */
enum
{
	CLI_OPT_QUIET = 'q',
	CLI_OPT_VERBOSE = 'v',
	CLI_OPT_HELP = 'h',
	CLI_OPT_DEBUG = 1000,
	CLI_OPT_LOG_FORMAT,
	CLI_OPT_CONNECT_TIMEOUT,
	CLI_OPT_PROGRESS_FILE,		/* commands with progress add it to their table */
	CLI_OPT_FIRST_COMMAND_OPT = 1100		/* commands number their own from here */
};

#define CLI_COMMON_LONGOPTS \
	{"help", no_argument, NULL, CLI_OPT_HELP}, \
	{"quiet", no_argument, NULL, CLI_OPT_QUIET}, \
	{"verbose", no_argument, NULL, CLI_OPT_VERBOSE}, \
	{"debug", no_argument, NULL, CLI_OPT_DEBUG}, \
	{"log-format", required_argument, NULL, CLI_OPT_LOG_FORMAT}, \
	{"connect-timeout", required_argument, NULL, CLI_OPT_CONNECT_TIMEOUT}

/* The short options every command accepts, for getopt_long's optstring. */
#define CLI_COMMON_SHORTOPTS "hqv"

/* Help text for the shared options, for each command's --help. */
extern const char cli_common_help[];

/*
 * Handles one shared option.  Returns 1 if opt was a shared option and was
 * applied, 0 if it is not one of them, or -1 after printing a usage error
 * (the caller returns EXIT_USAGE).  For CLI_OPT_HELP, prints nothing and
 * returns 2: the caller prints its help and returns EXIT_OK.
 */
int cli_common_option(const char *cmd, int opt, const char *arg);

/*
 * Reports the option getopt_long could not take (unknown option, missing
 * value) as one line plus a pointer to --help.  Call it when getopt_long
 * returns '?' or ':'; returns EXIT_USAGE.  optstring must start with ':'.
 */
int cli_bad_option(const char *cmd, int opt, char **argv);

/*
 * For a command's option loop, once its own options are handled: getopt's
 * '?' and ':' (cli_bad_option; "-?" itself means help), then the shared
 * options (cli_common_option, with optarg).  Returns 0 when opt was
 * applied, -1 for --help or -? (the caller prints its help and exits
 * EXIT_OK), or EXIT_USAGE after printing one message.
 */
int cli_other_option(const char *cmd, int opt, char **argv);

/*
 * --jobs and --progress, as copy, compare, export and import take them:
 * *jobs gets a whole number from 1 to 64, *mode a progress mode
 * (progress.h).  Return 0, or EXIT_USAGE after printing one message.
 */
int cli_parse_jobs(const char *cmd, const char *arg, int *jobs);

/* The help lines of -n/-N/-t/-T, for the commands that take them. */
extern const char cli_filter_help[];

/*
 * A -n/-N/-t/-T pattern (catalog.h) of command cmd, added to f.  Returns
 * 0, or EXIT_USAGE after printing one message naming the pattern.
 */
int cli_parse_pattern(const char *cmd, catalog_filter *f, catalog_filter_kind kind, const char *pattern);

/*
 * An --exclude-database pattern (pg_dumpall's rules) of command cmd, as a
 * regex appended to *regexes (*n of them; the caller frees each and the
 * array).  Returns 0, or EXIT_USAGE after printing one message.
 */
int cli_parse_db_pattern(const char *cmd, const char *pattern, char ***regexes, int *n);
/* --rename OLD=NEW, as copy and import take it: the pairs given. */
typedef struct cli_renames
{
	char	  **from;
	char	  **to;
	int			n;
} cli_renames;

/*
 * One --rename of command cmd: arg is OLD=NEW (split at the first "=";
 * neither empty, OLD given once), appended to r.  Returns 0, or
 * EXIT_USAGE after printing one message.
 */
int cli_parse_rename(const char *cmd, const char *arg, cli_renames *r);

/* The name database name gets under r: its NEW, or name itself.  Not a
 * copy: owned by r or the caller. */
const char *cli_rename_target(const cli_renames *r, const char *name);

/* Frees what r holds. */
void cli_renames_free(cli_renames *r);

int cli_parse_progress(const char *cmd, const char *arg, progress_mode *mode);

/*
 * Prints "pgcarry: error: <message>" and the --help pointer; returns
 * EXIT_USAGE.  With --log-format json, one JSON object whose hint is the
 * pointer.
 */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Applies --log-format from anywhere on the command line before options are
 * parsed one by one, so that an error in an option before it is already
 * reported in the chosen format.  Invalid values are left for the command's
 * own parsing to report.
 */
void cli_early_options(int argc, char **argv);

/*
 * The connection string for --source/--target: the option's value, or the
 * environment variable env_name when the option was not given.  Checks it
 * with conn_check_arg (a password on argv is refused).  Returns 0 with *out
 * set (NULL when neither is given and !required), or EXIT_USAGE after
 * printing one clear message.
 */
int cli_resolve_conn(const char *cmd, const char *option, const char *arg, const char *env_name,
					 bool required, const char **out);

/* Parses a whole number in [min, max]; returns 0, or EXIT_USAGE after
 * printing which option was wrong. */
int cli_parse_int(const char *cmd, const char *option, const char *arg, long min, long max, long *out);

/* ------------------------------------------------------------------------
 * The shared option table: the options the data-path commands (copy,
 * compare, export, import, follow, cutover) have in common, each parsed in
 * one place into a cli_shared.  A command puts the entries it takes in its
 * getopt_long table (CLI_SHARED_* below), numbers its own option codes
 * from CLI_OPT_FIRST_OWN, passes every code it does not handle itself to
 * cli_shared_option, and (copy, compare, follow, cutover) ends with
 * cli_shared_finish.
 * ------------------------------------------------------------------------ */
enum
{
	CLI_OPT_SOURCE = CLI_OPT_FIRST_COMMAND_OPT,
	CLI_OPT_TARGET,
	CLI_OPT_ALL,
	CLI_OPT_JOBS,
	CLI_OPT_PROGRESS,
	CLI_OPT_SCHEMA,
	CLI_OPT_EXCLUDE_SCHEMA,
	CLI_OPT_TABLE,
	CLI_OPT_EXCLUDE_TABLE,
	CLI_OPT_EXCLUDE_DATABASE,
	CLI_OPT_RESUME,
	CLI_OPT_DRY_RUN,
	CLI_OPT_VERIFY,
	CLI_OPT_ROLES,
	CLI_OPT_CLEAN,
	CLI_OPT_FIRST_OWN = CLI_OPT_FIRST_COMMAND_OPT + 50	/* commands number
														 * their own from here */
};

/* One entry each, for a command's getopt_long table. */
#define CLI_SHARED_SOURCE {"source", required_argument, NULL, CLI_OPT_SOURCE}
#define CLI_SHARED_TARGET {"target", required_argument, NULL, CLI_OPT_TARGET}
#define CLI_SHARED_ALL {"all", no_argument, NULL, CLI_OPT_ALL}
#define CLI_SHARED_JOBS {"jobs", required_argument, NULL, CLI_OPT_JOBS}
#define CLI_SHARED_PROGRESS \
	{"progress", required_argument, NULL, CLI_OPT_PROGRESS}, \
	{"progress-file", required_argument, NULL, CLI_OPT_PROGRESS_FILE}
#define CLI_SHARED_RESUME {"resume", no_argument, NULL, CLI_OPT_RESUME}
#define CLI_SHARED_DRY_RUN {"dry-run", no_argument, NULL, CLI_OPT_DRY_RUN}
#define CLI_SHARED_VERIFY {"verify", required_argument, NULL, CLI_OPT_VERIFY}
#define CLI_SHARED_ROLES {"roles", no_argument, NULL, CLI_OPT_ROLES}
#define CLI_SHARED_CLEAN {"clean", no_argument, NULL, CLI_OPT_CLEAN}
/* -n/-N/-t/-T (catalog.h), each repeatable. */
#define CLI_SHARED_FILTERS \
	{"schema", required_argument, NULL, CLI_OPT_SCHEMA}, \
	{"exclude-schema", required_argument, NULL, CLI_OPT_EXCLUDE_SCHEMA}, \
	{"table", required_argument, NULL, CLI_OPT_TABLE}, \
	{"exclude-table", required_argument, NULL, CLI_OPT_EXCLUDE_TABLE}
#define CLI_SHARED_EXCLUDE_DATABASE {"exclude-database", required_argument, NULL, CLI_OPT_EXCLUDE_DATABASE}

/* Two servers, databases by name or --all, --jobs and --progress: the
 * entries copy, compare, follow and cutover take. */
#define CLI_SHARED_LONGOPTS \
	CLI_SHARED_SOURCE, CLI_SHARED_TARGET, CLI_SHARED_ALL, CLI_SHARED_JOBS, CLI_SHARED_PROGRESS

/* getopt_long's optstring (":" first: see cli_bad_option); with -n/-N/-t/-T. */
#define CLI_SHARED_SHORTOPTS ":j:" CLI_COMMON_SHORTOPTS
#define CLI_SHARED_FILTER_SHORTOPTS CLI_SHARED_SHORTOPTS "n:N:t:T:"

typedef struct cli_shared
{
	const char *source;			/* checked connection strings, set by */
	const char *target;			/* cli_shared_finish */
	const char **dbs;			/* the database names given (in argv) */
	int			ndbs;
	bool		all;			/* --all */
	int			jobs;			/* -j/--jobs, default 2 */
	progress_mode progress;		/* --progress, default auto */
	catalog_filter filter;		/* -n/-N/-t/-T (cli_shared_free frees it) */
	char	  **exclude_dbs;	/* --exclude-database, as regexes (with --all) */
	int			nexclude_dbs;
	bool		resume;			/* --resume */
	bool		dry_run;		/* --dry-run */
	verify_mode verify;			/* --verify, default full */
	bool		roles;			/* --roles */
	bool		clean;			/* --clean */
	/* --source and --target as given (read only) */
	const char *source_arg;
	const char *target_arg;
} cli_shared;

/* Sets o to the defaults, before the options are parsed. */
void cli_shared_init(cli_shared *o);

/* Frees what the parsing put in o (the filter, the database patterns). */
void cli_shared_free(cli_shared *o);

/*
 * Handles an option code of command cmd that the command does not handle
 * itself: a shared one goes into o, --help calls help, the common output
 * options are applied (cli_common_option), and getopt_long's '?' and ':'
 * are reported (cli_bad_option).  Returns 0 when the option was applied,
 * -1 after help printed (the command exits with EXIT_OK), or EXIT_USAGE
 * after printing a usage error.
 */
int cli_shared_option(const char *cmd, cli_shared *o, int opt, char **argv, void (*help) (void));

/*
 * Ends the parsing of cmd's command line once getopt_long returned -1:
 * takes the rest of argv as the database names, requires either names or
 * --all (not both), refuses an empty name, then resolves and checks
 * --source and --target ($PGCARRY_SOURCE, $PGCARRY_TARGET).  Returns 0, or
 * EXIT_USAGE after printing one message.
 */
int cli_shared_finish(const char *cmd, cli_shared *o, int argc, char **argv);

#endif
