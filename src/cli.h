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

#endif
