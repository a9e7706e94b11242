/*
 * common.h: what the copy and compare commands share: the command-line
 * options both take, the pair of data sessions a worker holds, retry
 * policy, and checks on the two servers.
 */
#ifndef PGCARRY_CORE_COMMON_H
#define PGCARRY_CORE_COMMON_H

#include <libpq-fe.h>
#include <stdbool.h>

#include "core/catalog.h"
#include "cli.h"
#include "core/ddl.h"
#include "core/progress.h"
#include "util/err.h"
#include "core/verify.h"

/*
 * The options copy and compare share: --source, --target, --all,
 * -j/--jobs, --progress, and the database names.  A command adds
 * COPY_CLI_LONGOPTS (before CLI_COMMON_LONGOPTS) to its getopt_long table,
 * parses with COPY_CLI_SHORTOPTS, numbers its own option codes from
 * COPY_CLI_OPT_FIRST_OWN, passes every option code it does not handle itself
 * to copy_cli_option, and ends with copy_cli_finish.
 */
enum
{
	COPY_CLI_OPT_SOURCE = CLI_OPT_FIRST_COMMAND_OPT,
	COPY_CLI_OPT_TARGET,
	COPY_CLI_OPT_ALL,
	COPY_CLI_OPT_JOBS,
	COPY_CLI_OPT_PROGRESS,
	COPY_CLI_OPT_SCHEMA,
	COPY_CLI_OPT_EXCLUDE_SCHEMA,
	COPY_CLI_OPT_TABLE,
	COPY_CLI_OPT_EXCLUDE_TABLE,
	COPY_CLI_OPT_EXCLUDE_DATABASE,
	COPY_CLI_OPT_FIRST_OWN		/* commands number their own from here */
};

#define COPY_CLI_LONGOPTS \
	{"source", required_argument, NULL, COPY_CLI_OPT_SOURCE}, \
	{"target", required_argument, NULL, COPY_CLI_OPT_TARGET}, \
	{"all", no_argument, NULL, COPY_CLI_OPT_ALL}, \
	{"jobs", required_argument, NULL, COPY_CLI_OPT_JOBS}, \
	{"progress", required_argument, NULL, COPY_CLI_OPT_PROGRESS}, \
	{"progress-file", required_argument, NULL, CLI_OPT_PROGRESS_FILE}

/* getopt_long's optstring for copy and compare (":" first: see cli.h). */
#define COPY_CLI_SHORTOPTS ":j:" CLI_COMMON_SHORTOPTS

/*
 * Choosing what moves, pg_dump's way (catalog.h): -n/--schema,
 * -N/--exclude-schema, -t/--table, -T/--exclude-table, each repeatable.
 * Commands that take them (copy, compare) add COPY_CLI_FILTER_LONGOPTS and
 * parse with COPY_CLI_FILTER_SHORTOPTS; copy_cli_option fills o->filter.
 */
#define COPY_CLI_FILTER_LONGOPTS \
	{"schema", required_argument, NULL, COPY_CLI_OPT_SCHEMA}, \
	{"exclude-schema", required_argument, NULL, COPY_CLI_OPT_EXCLUDE_SCHEMA}, \
	{"table", required_argument, NULL, COPY_CLI_OPT_TABLE}, \
	{"exclude-table", required_argument, NULL, COPY_CLI_OPT_EXCLUDE_TABLE}, \
	{"exclude-database", required_argument, NULL, COPY_CLI_OPT_EXCLUDE_DATABASE}

#define COPY_CLI_FILTER_SHORTOPTS COPY_CLI_SHORTOPTS "n:N:t:T:"

typedef struct copy_cli_opts
{
	const char *source;			/* checked connection strings, set by */
	const char *target;			/* copy_cli_finish */
	const char **dbs;			/* the database names given (in argv) */
	int			ndbs;
	bool		all;			/* --all */
	int			jobs;			/* -j/--jobs, default 2 */
	progress_mode progress;		/* --progress, default auto */
	catalog_filter filter;		/* -n/-N/-t/-T (copy_cli_free frees it) */
	char	  **exclude_dbs;	/* --exclude-database, as regexes (with --all) */
	int			nexclude_dbs;
	/* private: --source and --target as given */
	const char *source_arg;
	const char *target_arg;
} copy_cli_opts;

/* Sets o to the defaults, before the options are parsed. */
void copy_cli_init(copy_cli_opts *o);

/* Frees what the parsing put in o (the filter). */
void copy_cli_free(copy_cli_opts *o);

/*
 * Handles an option code of command cmd ("copy", "compare") that the
 * command does not handle itself: a shared one goes into o, --help calls
 * help, the common output options are applied (cli_common_option), and
 * getopt_long's '?' and ':' are reported (cli_bad_option).  Returns 0 when
 * the option was applied, -1 after help printed (the command exits with
 * EXIT_OK), or EXIT_USAGE after printing a usage error.
 */
int copy_cli_option(const char *cmd, copy_cli_opts *o, int opt, char **argv, void (*help) (void));

/*
 * Ends the parsing of cmd's command line once getopt_long returned -1:
 * takes the rest of argv as the database names, requires either names or
 * --all (not both), refuses an empty name, then
 * resolves and checks --source and --target ($PGCARRY_SOURCE,
 * $PGCARRY_TARGET).  Returns 0, or EXIT_USAGE after printing one message.
 */
int copy_cli_finish(const char *cmd, copy_cli_opts *o, int argc, char **argv);

/*
 * Records that kind name of database db failed: logs err (tagged by the
 * caller's log_set_table) and puts it in report as the cause, its message
 * followed by its detail in parentheses.
 */
void copy_report_failure(verify_report *report, const char *db, const char *kind, const char *name,
						 const pgc_err *err);

/*
 * With -n/-N/-t/-T the databases hold, and are compared on, only the part
 * of the schema pg_dump chooses with the same options: compares the table
 * of contents of a pg_dump of database db on source (under snapshot
 * src_snap when not NULL; or src_dump, when given, a dump already taken
 * with those options) with that of a pg_dump of db on target (under
 * tgt_snap), entry by entry (objects_toc_compare, owners unless no_owner).
 * Dumps go to tmpdir.  Each difference goes to report; *nentries receives
 * the number of entries of the source's table of contents, *ndiff that of
 * differences.  Returns 0, or -1 with err set.
 */
int copy_filter_schema_compare(const catalog_filter *f, const char *source, const char *target, const char *db,
							   const char *src_snap, const char *tgt_snap, ddl_dump *src_dump, bool no_owner,
							   const char *tmpdir, verify_report *report, int *nentries, int *ndiff, pgc_err *err);

/* Attempts per task when a connection drops (the first included). */
#define COPY_TASK_ATTEMPTS 3

/*
 * A worker's two data sessions to one database: src on the source (read
 * only), tgt on the target.  key tells which database they belong to; asking
 * for another key closes and reopens them.
 */
typedef struct copy_pair
{
	const void *key;
	PGconn	   *src;
	PGconn	   *tgt;
} copy_pair;

/*
 * Makes p hold open sessions to dbname on both servers (reusing them when
 * key matches and both are alive), each prepared by stream_conn_open with
 * client_encoding encoding; the target ones read only when tgt_read_only.
 * target NULL: a source session only (p->tgt stays NULL); source NULL: a
 * target session only.
 * Returns 0, or -1 with err set.
 */
int copy_pair_open(copy_pair *p, const void *key, const char *source, const char *target,
				   const char *dbname, const char *encoding, bool tgt_read_only, pgc_err *err);

/* Closes both sessions. */
void copy_pair_close(copy_pair *p);

/* After a failed task: rolls back whatever transaction a session is in, and
 * closes sessions that are broken (the next copy_pair_open reopens them). */
void copy_pair_recover(copy_pair *p);

/*
 * Whether a failed attempt should be tried again: the error is
 * connection-class, attempts are left, and no interrupt came.  When so, logs
 * the reason and sleeps a jittered backoff first.  attempt counts from 0.
 */
bool copy_retry(const pgc_err *err, int attempt, const char *what);

/* A password-free "host:port" for a connection, to key resume state. */
char *copy_server_key(PGconn *conn);

/*
 * Whether two connections reach the same server instance (same system
 * identifier and the same postmaster start).  Returns 0 with *same set, or
 * -1 with err set.
 */
int copy_same_server(PGconn *a, PGconn *b, bool *same, pgc_err *err);

/*
 * The database for server-level work (listing databases, CREATE and DROP
 * DATABASE) on the server conninfo: the one conninfo names, unless it names
 * none or one of the navoid databases being worked on; then "postgres",
 * or "template1" when "postgres" is one of them.
 * Owned by the caller.
 */
char *copy_maintenance_db(const char *conninfo, const char *const *avoid, int navoid);

#endif
