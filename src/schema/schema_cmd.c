/*
 * schema_cmd.c: "pgcarry schema VERB", versioned migrations on a live
 * database.
 *
 *   init     create the migration directory (and, with --target, the
 *            history tables)
 *   new      create VERSION_NAME.sql from the template
 *   status   applied, pending and drifted migrations (--json for pipelines)
 *   up       apply pending migrations (lint first; lock discipline)
 *   down     roll back the last migration, or down to --to
 *   plan     each pending statement with its lock, its effect and the size
 *            of its table (--json too)
 *   lint     dangerous statements on a live database, and the safe way
 *            (--json too)
 *   repair   accept edited files into the history
 *   start, complete, rollback   expand/contract migrations (src/expand/)
 *
 * Exit statuses: 0 done; 1 failure (including lint findings, drift that
 * stops up/down, a malformed migration file); 2 usage; 3 status found drift.
 */
#include "cli.h"
#include "commands.h"
#include "conn.h"
#include "expand/expand.h"
#include "schema/history.h"
#include "schema/lint.h"
#include "schema/migfile.h"
#include "schema/migrate.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/xalloc.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum
{
	SCHEMA_OPT_TARGET = CLI_OPT_FIRST_COMMAND_OPT,
	SCHEMA_OPT_DIR,
	SCHEMA_OPT_JSON,
	SCHEMA_OPT_TO,
	SCHEMA_OPT_FORCE,
	SCHEMA_OPT_LOCK_TIMEOUT,
	SCHEMA_OPT_STATEMENT_TIMEOUT,
	SCHEMA_OPT_RETRY_BUDGET,
	SCHEMA_OPT_LOCK_WAIT
};

typedef struct schema_args
{
	const char *verb;
	const char *target;
	const char *dir;
	const char *to;
	const char *name;			/* new NAME */
	bool		json;
	bool		force;
	migrate_opts mo;
} schema_args;

static void
schema_help(void)
{
	printf("pgcarry schema changes the schema of a live database: versioned migrations, and\n"
		   "expand/contract migrations.\n"
		   "\n"
		   "Usage:\n"
		   "  pgcarry schema init   [--dir DIR] [--target URI]\n"
		   "  pgcarry schema new NAME [--dir DIR]\n"
		   "  pgcarry schema status [--json] --target URI [--dir DIR]\n"
		   "  pgcarry schema up     [--to VERSION] [--force] --target URI [--dir DIR]\n"
		   "  pgcarry schema down   [--to VERSION] [--force] --target URI [--dir DIR]\n"
		   "  pgcarry schema plan   [--to VERSION] [--json] [--target URI] [--dir DIR]\n"
		   "  pgcarry schema lint   [--json] [--target URI] [--dir DIR]\n"
		   "  pgcarry schema repair --target URI [--dir DIR]\n"
		   "  pgcarry schema start | complete | rollback ...   (expand/contract; see their --help)\n"
		   "\n"
		   "Each verb has its own page: pgcarry schema VERB --help.\n"
		   "\n"
		   "Options:\n"
		   "      --target URI            the database to change (default: $PGCARRY_TARGET)\n"
		   "      --dir DIR               the migration files (default: ./migrations)\n"
		   "      --to VERSION            up: stop after VERSION; down: roll back to VERSION (0: all)\n"
		   "      --json                  status, plan, lint: one JSON document on stdout\n"
		   "      --force                 run despite lint findings that are not acknowledged\n"
		   "      --lock-timeout D        how long one statement may wait for its lock (default 2s)\n"
		   "      --statement-timeout D   how long one statement may run (default 0: no limit)\n"
		   "      --retry-budget D        how long to keep retrying a statement that timed out\n"
		   "                              waiting for its lock (default 60s)\n"
		   "      --lock-wait D           how long to wait for another pgcarry schema run (default 5s)\n"
		   "\n"
		   "Durations: a number with an optional unit ms, s or min (no unit: seconds).\n"
		   "Migration files are VERSION_NAME.sql with \"-- migrate:up\" and \"-- migrate:down\"\n"
		   "sections; see docs/schema-migrations.md.\n"
		   "\n"
		   "Exit status: 0 done, 1 failure (also lint findings and drift that stops up or down),\n"
		   "2 usage error, 3 status found drift between the files and the database.\n"
		   "\n%s", cli_common_help);
}

/* Option lines shared by the verb pages. */
#define SCHEMA_HELP_TARGET "      --target URI            the database (default: $PGCARRY_TARGET)\n"
#define SCHEMA_HELP_DIR    "      --dir DIR               the migration files (default: ./migrations)\n"
#define SCHEMA_HELP_RUN \
	"      --force                 run despite lint findings that are not acknowledged\n" \
	"      --lock-timeout D        how long one statement may wait for its lock (default 2s)\n" \
	"      --statement-timeout D   how long one statement may run (default 0: no limit)\n" \
	"      --retry-budget D        how long to keep retrying a statement that timed out\n" \
	"                              waiting for its lock (default 60s)\n" \
	"      --lock-wait D           how long to wait for another pgcarry schema run (default 5s)\n" \
	"\n" \
	"Durations: a number with an optional unit ms, s or min (no unit: seconds).\n"

/* Each versioned-migration verb's own page: what it does, how it is
 * called, its options, its exit statuses. */
static const struct
{
	const char *verb;
	const char *text;
} schema_verb_helps[] = {
	{"init",
	 "pgcarry schema init creates the migration directory and, with --target, the\n"
	 "history tables (schema pgcarry_schema) in the database.\n"
	 "\n"
	 "Usage:\n"
	 "  pgcarry schema init [--dir DIR] [--target URI]\n"
	 "\n"
	 "Options:\n" SCHEMA_HELP_DIR SCHEMA_HELP_TARGET
	 "\n"
	 "Exit status: 0 done, 1 failure, 2 usage error.\n"},
	{"new",
	 "pgcarry schema new creates an empty migration file VERSION_NAME.sql, VERSION\n"
	 "being the current UTC time, and prints its path.\n"
	 "\n"
	 "Usage:\n"
	 "  pgcarry schema new NAME [--dir DIR]\n"
	 "\n"
	 "NAME is letters, digits, '_' and '-', such as add_users_email.\n"
	 "\n"
	 "Options:\n" SCHEMA_HELP_DIR
	 "\n"
	 "Exit status: 0 done, 1 failure, 2 usage error.\n"},
	{"status",
	 "pgcarry schema status lists applied, pending and drifted migrations, lint\n"
	 "findings that would stop \"schema up\", and expand/contract migrations.\n"
	 "\n"
	 "Usage:\n"
	 "  pgcarry schema status [--json] --target URI [--dir DIR]\n"
	 "\n"
	 "Options:\n" SCHEMA_HELP_TARGET SCHEMA_HELP_DIR
	 "      --json                  one JSON object on stdout\n"
	 "\n"
	 "Exit status: 0 in sync, 1 failure, 2 usage error, 3 drift between the files\n"
	 "and the database.\n"},
	{"up",
	 "pgcarry schema up applies the pending migrations in version order, each in its\n"
	 "own transaction (statements that cannot run in one, such as CREATE INDEX\n"
	 "CONCURRENTLY, as steps of their own), with a lock timeout and retries.  Every\n"
	 "file is parsed and linted first; nothing runs if one has a syntax error or a\n"
	 "dangerous statement that is not acknowledged.\n"
	 "\n"
	 "Usage:\n"
	 "  pgcarry schema up [--to VERSION] [--force] --target URI [--dir DIR]\n"
	 "\n"
	 "Options:\n" SCHEMA_HELP_TARGET SCHEMA_HELP_DIR
	 "      --to VERSION            stop after VERSION\n" SCHEMA_HELP_RUN
	 "\n"
	 "Exit status: 0 done, 1 failure (also lint findings and drift), 2 usage error.\n"},
	{"down",
	 "pgcarry schema down rolls back the last applied migration (its \"-- migrate:down\"\n"
	 "section), or every migration after --to.\n"
	 "\n"
	 "Usage:\n"
	 "  pgcarry schema down [--to VERSION] [--force] --target URI [--dir DIR]\n"
	 "\n"
	 "Options:\n" SCHEMA_HELP_TARGET SCHEMA_HELP_DIR
	 "      --to VERSION            roll back to VERSION (0: every migration)\n" SCHEMA_HELP_RUN
	 "\n"
	 "Exit status: 0 done, 1 failure (also lint findings and drift), 2 usage error.\n"},
	{"plan",
	 "pgcarry schema plan shows each pending statement with the locks it takes (a\n"
	 "foreign key's on both tables), whether it scans or rewrites its table, whether\n"
	 "it runs in a transaction and, with --target, the size of the table.  A syntax\n"
	 "error is reported with its file, line and column.\n"
	 "\n"
	 "Usage:\n"
	 "  pgcarry schema plan [--to VERSION] [--json] [--target URI] [--dir DIR]\n"
	 "\n"
	 "Options:\n" SCHEMA_HELP_TARGET SCHEMA_HELP_DIR
	 "      --to VERSION            stop after VERSION\n"
	 "      --json                  one JSON document on stdout (a syntax error too)\n"
	 "\n"
	 "Exit status: 0 done, 1 failure (also a syntax error), 2 usage error.\n"},
	{"lint",
	 "pgcarry schema lint finds statements that are dangerous on a live database and\n"
	 "names the safe way; with --target it asks the database what is already safe\n"
	 "(a column already NOT NULL, a validated CHECK (col IS NOT NULL)).  A syntax\n"
	 "error is reported with its file, line and column.\n"
	 "\n"
	 "Usage:\n"
	 "  pgcarry schema lint [--json] [--target URI] [--dir DIR]\n"
	 "\n"
	 "Options:\n"
	 "      --target URI            the database to ask (lint reads no $PGCARRY_TARGET)\n"
	 SCHEMA_HELP_DIR
	 "      --json                  one JSON document on stdout (a syntax error too)\n"
	 "\n"
	 "Acknowledge a finding with a comment \"-- pgcarry:allow RULE reason\" before the\n"
	 "statement; the rules are listed in docs/schema-migrations.md.\n"
	 "\n"
	 "Exit status: 0 no finding, 1 findings or a failure, 2 usage error.\n"},
	{"repair",
	 "pgcarry schema repair accepts edited or renamed migration files into the history,\n"
	 "and forgets history rows whose file is gone.\n"
	 "\n"
	 "Usage:\n"
	 "  pgcarry schema repair --target URI [--dir DIR]\n"
	 "\n"
	 "Options:\n" SCHEMA_HELP_TARGET SCHEMA_HELP_DIR
	 "      --lock-wait D           how long to wait for another pgcarry schema run (default 5s)\n"
	 "\n"
	 "Exit status: 0 done, 1 failure, 2 usage error.\n"},
};

/* Prints verb's own help page (the general one for an unknown verb). */
static void
schema_verb_help(const char *verb)
{
	for (size_t i = 0; i < sizeof schema_verb_helps / sizeof schema_verb_helps[0]; i++)
		if (strcmp(schema_verb_helps[i].verb, verb) == 0)
		{
			printf("%s\nMigration files: docs/schema-migrations.md.\n\n%s", schema_verb_helps[i].text,
				   cli_common_help);
			return;
		}
	schema_help();
}

/* Parses a duration ("2s", "500ms", "1min", "3" = 3 s) into ms; returns 0
 * or EXIT_USAGE after printing a message. */
static int
schema_parse_duration(const char *option, const char *arg, int *out_ms)
{
	char *end = NULL;
	errno = 0;
	double v = strtod(arg, &end);
	double mult = 1000;
	if (end && *end)
	{
		if (strcmp(end, "ms") == 0)
			mult = 1;
		else if (strcmp(end, "s") == 0)
			mult = 1000;
		else if (strcmp(end, "min") == 0)
			mult = 60000;
		else
			mult = -1;
	}
	if (errno != 0 || end == arg || mult < 0 || v < 0 || v * mult > 86400000.0)
		return cli_usage_error("schema", "%s must be a duration such as 2s, 500ms or 1min, not \"%s\"",
							   option, arg);
	*out_ms = (int) (v * mult);
	return 0;
}

/* ------------------------------------------------------------------------
 * Errors and migration files
 * ------------------------------------------------------------------------ */

/*
 * Reports err (message, detail and hint on stderr), clears it, and returns
 * the exit status it carries: EXIT_FAIL unless the failing call chose
 * another (EXIT_USAGE for a bad migration name, for example).
 */
static int
schema_report(pgc_err *err)
{
	err_report(err);
	int rc = err->exit_status ? err->exit_status : EXIT_FAIL;
	err_clear(err);
	return rc;
}

/*
 * Loads the migration files of dir into *files, which the caller frees with
 * migfile_set_free.  Returns 0, or -1 after reporting why they could not be
 * loaded (the caller returns EXIT_FAIL; *files holds nothing to free).
 */
/*
 * err as the "error" member of a --json document: the message, detail and
 * hint, and the file, line and column it names ("migration file
 * NAME:LINE:COLUMN: ..." for a syntax error, "... on line N" or "(line N)"
 * otherwise); members it does not name are null.  New reference.
 */
static json_t *
schema_error_json(const pgc_err *err)
{
	const char *m = err->message ? err->message : "";
	char file[256] = "";
	int line = 0, column = 0;
	const char *rest = strncmp(m, "migration file ", 15) == 0 ? m + 15 : NULL;
	if (rest)
	{
		int n = 0;
		if (sscanf(rest, "%255[^: ]:%d:%d: %n", file, &line, &column, &n) < 3 || n == 0)
		{
			column = 0;
			line = 0;
			sscanf(rest, "%255[^: ]", file);
			for (const char *l = strstr(rest, "line "); l && line == 0; l = strstr(l + 5, "line "))
				if (isdigit((unsigned char) l[5]))
					line = atoi(l + 5);
		}
	}
	json_t *o = json_object();
	json_object_set_new(o, "file", file[0] ? json_string(file) : json_null());
	json_object_set_new(o, "line", line > 0 ? json_integer(line) : json_null());
	json_object_set_new(o, "column", column > 0 ? json_integer(column) : json_null());
	json_object_set_new(o, "message", json_string(m));
	json_object_set_new(o, "detail", err->detail ? json_string(err->detail) : json_null());
	json_object_set_new(o, "hint", err->hint ? json_string(err->hint) : json_null());
	return o;
}

/* Prints root (stolen) on stdout as one indented JSON document. */
static void
schema_print_json(json_t *root)
{
	char *s = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (s)
	{
		printf("%s\n", s);
		free(s);
	}
	json_decref(root);
}

/*
 * Loads the migration files of dir into *files, which the caller frees with
 * migfile_set_free.  Returns 0, or -1 after reporting why they could not be
 * loaded (the caller returns EXIT_FAIL; *files holds nothing to free).  With
 * json, a failure is also printed on stdout as
 * the document {"directory": dir, "error": {...}} (schema_error_json), so
 * that "plan --json" and "lint --json" always print one document.
 */
static int
schema_load_files(const char *dir, bool json, migfile_set *files)
{
	pgc_err err = PGC_ERR_INIT;
	if (migfile_load_dir(dir, files, &err) == 0)
		return 0;
	if (json)
	{
		json_t *root = json_object();
		json_object_set_new(root, "directory", json_string(dir));
		json_object_set_new(root, "error", schema_error_json(&err));
		schema_print_json(root);
	}
	err_report(&err);
	err_clear(&err);
	return -1;
}

/* ------------------------------------------------------------------------
 * init, new
 * ------------------------------------------------------------------------ */

static int
schema_init(const schema_args *a)
{
	struct stat st;
	if (stat(a->dir, &st) == 0)
	{
		if (!S_ISDIR(st.st_mode))
		{
			log_report(LOG_ERROR, "the migration directory path exists but is not a directory", NULL,
					   "Point --dir at a directory.");
			return EXIT_FAIL;
		}
		log_notice("migration directory %s already exists", a->dir);
	}
	else if (mkdir(a->dir, 0755) != 0)
	{
		char *m = xasprintf("could not create migration directory %s: %s", a->dir, strerror(errno));
		log_report(LOG_ERROR, m, NULL, "Check the path and the permissions of its parent directory.");
		free(m);
		return EXIT_FAIL;
	}
	else
		log_notice("created migration directory %s", a->dir);
	if (!a->target)
		return EXIT_OK;
	pgc_err err = PGC_ERR_INIT;
	PGconn *conn = conn_open(a->target, NULL, "target", &err);
	int rc = EXIT_OK;
	if (!conn || history_ensure(conn, &err) != 0)
		rc = schema_report(&err);
	else
		log_notice("history tables ready in schema %s", HISTORY_SCHEMA);
	conn_close(conn);
	return rc;
}

static int
schema_new(const schema_args *a)
{
	pgc_err err = PGC_ERR_INIT;
	char *path = NULL;
	if (migfile_create(a->dir, a->name, &path, &err) != 0)
		return schema_report(&err);
	printf("%s\n", path);
	free(path);
	return EXIT_OK;
}

/* ------------------------------------------------------------------------
 * status
 * ------------------------------------------------------------------------ */

/* The drift kind of version v, or NULL. */
static const char *
schema_drift_of(const history_drift_list *dl, const char *v)
{
	for (size_t i = 0; i < dl->n; i++)
		if (migfile_compare_versions(dl->items[i].version, v) == 0)
			return history_drift_name(dl->items[i].kind);
	return NULL;
}

/* Unacknowledged lint findings in f's up section (what "up" would refuse). */
static size_t
schema_pending_findings(PGconn *conn, const migfile *f)
{
	lint_state *st = lint_create();
	lint_begin_file(st);
	for (size_t k = 0; k < f->up.n; k++)
		lint_statement(st, &f->up.items[k]);
	size_t nf, bad = 0;
	const lint_finding *fs = lint_findings(st, &nf);
	for (size_t k = 0; k < nf; k++)
		if (!fs[k].acknowledged && !migrate_not_null_proven(conn, &fs[k]))
			bad++;
	lint_destroy(st);
	return bad;
}

static int
schema_status(const schema_args *a, PGconn *conn)
{
	pgc_err err = PGC_ERR_INIT;
	migfile_set files;
	if (schema_load_files(a->dir, false, &files) != 0)
		return EXIT_FAIL;
	history h;
	if (history_load(conn, &h, &err) != 0)
	{
		err_prefix(&err, "could not read the migration history: ");
		err_report(&err);
		err_clear(&err);
		migfile_set_free(&files);
		return EXIT_FAIL;
	}
	history_drift_list dl;
	history_check(&h, &files, &dl);

	/* Rows of the table: every file, plus history rows without a file. */
	size_t napplied = h.n, npending = 0;
	for (size_t i = 0; i < files.n; i++)
		if (!history_is_applied(&h, &files.items[i]))
			npending++;
	const char *version = NULL;
	for (size_t i = 0; i < h.n; i++)
		if (!version || migfile_compare_versions(h.rows[i].version, version) > 0)
			version = h.rows[i].version;
	char *desc = conn_describe_live(conn);

	json_t *root = a->json ? json_object() : NULL;
	json_t *list = a->json ? json_array() : NULL;
	if (!a->json)
	{
		printf("database %s, migrations in %s\n", desc, a->dir);
		printf("version %s (%zu applied, %zu pending)\n", version ? version : "none", napplied, npending);
		if (files.n || h.n)
			printf("\n  %-10s %-16s %-28s %-21s %-12s %s\n", "state", "version", "name", "applied at", "by",
				   "duration");
	}

	/* Merge files and rows in version order. */
	size_t fi = 0;
	size_t total_findings = 0;
	const history_row **rows = xcalloc(h.n + 1, sizeof *rows);
	for (size_t i = 0; i < h.n; i++)
		rows[i] = &h.rows[i];
	/* history rows without a file, sorted among the files by version */
	for (;;)
	{
		const migfile *f = fi < files.n ? &files.items[fi] : NULL;
		const history_row *orphan = NULL;
		for (size_t i = 0; i < h.n; i++)
			if (rows[i] && !migfile_find(&files, rows[i]->version)
				&& (!f || migfile_compare_versions(rows[i]->version, f->version) < 0)
				&& (!orphan || migfile_compare_versions(rows[i]->version, orphan->version) < 0))
				orphan = rows[i];
		const char *v, *name, *state;
		const history_row *row;
		size_t findings = 0;
		if (orphan)
		{
			row = orphan;
			for (size_t i = 0; i < h.n; i++)
				if (rows[i] == orphan)
					rows[i] = NULL;
			v = row->version;
			name = row->name;
			state = schema_drift_of(&dl, v);
			if (!state)
				state = "removed";
		}
		else if (f)
		{
			fi++;
			row = history_find(&h, f->version);
			v = f->version;
			name = f->name;
			state = schema_drift_of(&dl, v);
			if (!state)
				state = row ? "applied" : "pending";
			if (!row && h.step_version && migfile_compare_versions(h.step_version, v) == 0)
				state = "partial";
			if (!row)
			{
				findings = schema_pending_findings(conn, f);
				total_findings += findings;
			}
		}
		else
			break;
		if (a->json)
		{
			json_t *o = json_object();
			json_object_set_new(o, "version", json_string(v));
			json_object_set_new(o, "name", json_string(name));
			json_object_set_new(o, "state", json_string(state));
			if (f && !orphan)
				json_object_set_new(o, "checksum", json_string(f->checksum));
			if (f && !orphan && !row)
				json_object_set_new(o, "lint_findings", json_integer((json_int_t) findings));
			if (row)
			{
				json_object_set_new(o, "applied_at", json_string(row->applied_at));
				json_object_set_new(o, "applied_by", json_string(row->applied_by));
				json_object_set_new(o, "duration_ms", json_integer(row->duration_ms));
			}
			json_array_append_new(list, o);
		}
		else
		{
			char dur[32] = "";
			if (row)
				snprintf(dur, sizeof dur, "%lld ms", row->duration_ms);
			printf("  %-10s %-16s %-28s %-21s %-12s %s\n", state, v, name, row ? row->applied_at : "",
				   row ? row->applied_by : "", dur);
		}
	}
	free(rows);

	if (a->json)
	{
		json_object_set_new(root, "database", json_string(desc));
		json_object_set_new(root, "directory", json_string(a->dir));
		json_object_set_new(root, "version", version ? json_string(version) : json_null());
		json_object_set_new(root, "applied", json_integer((json_int_t) napplied));
		json_object_set_new(root, "pending", json_integer((json_int_t) npending));
		json_object_set_new(root, "migrations", list);
		json_object_set_new(root, "lint_findings", json_integer((json_int_t) total_findings));
		json_t *drift = json_array();
		for (size_t i = 0; i < dl.n; i++)
		{
			json_t *o = json_object();
			json_object_set_new(o, "kind", json_string(history_drift_name(dl.items[i].kind)));
			json_object_set_new(o, "version", json_string(dl.items[i].version));
			json_object_set_new(o, "message", json_string(dl.items[i].message));
			json_array_append_new(drift, o);
		}
		json_object_set_new(root, "drift", drift);
		if (h.step_version)
		{
			json_t *o = json_object();
			json_object_set_new(o, "version", json_string(h.step_version));
			json_object_set_new(o, "direction", json_string(h.step_direction));
			json_object_set_new(o, "steps_done", json_integer(h.steps_done));
			json_object_set_new(root, "in_progress", o);
		}
		else
			json_object_set_new(root, "in_progress", json_null());
	}
	else
	{
		if (h.step_version)
			printf("\nin progress: %s was interrupted while %s after %d step%s; run \"pgcarry schema %s\" "
				   "to finish it\n", h.step_version,
				   strcmp(h.step_direction, "up") == 0 ? "being applied" : "being rolled back", h.steps_done,
				   h.steps_done == 1 ? "" : "s", h.step_direction);
		if (total_findings)
			printf("\nlint: %zu dangerous statement%s in the pending migrations; \"pgcarry schema up\" refuses "
				   "them until they are made safe or acknowledged (see \"pgcarry schema lint\")\n",
				   total_findings, total_findings == 1 ? "" : "s");
		if (dl.n)
		{
			printf("\ndrift: the history does not match the files (%zu problem%s)\n", dl.n, dl.n == 1 ? "" : "s");
			for (size_t i = 0; i < dl.n; i++)
				printf("  %s: %s\n", history_drift_name(dl.items[i].kind), dl.items[i].message);
			printf("  \"pgcarry schema up\" refuses to run until the files match again; see "
				   "docs/schema-migrations.md\n");
		}
	}

	int rc = dl.n ? EXIT_DIFFERENT : EXIT_OK;
	if (expand_status_show(conn, root, &err) != 0)
	{
		err_prefix(&err, "could not read the state of expand/contract migrations: ");
		err_report(&err);
		rc = EXIT_FAIL;
	}
	if (a->json)
		schema_print_json(root);
	err_clear(&err);
	free(desc);
	history_drift_free(&dl);
	history_free(&h);
	migfile_set_free(&files);
	return rc;
}

/* ------------------------------------------------------------------------
 * plan, lint
 * ------------------------------------------------------------------------ */

/* sql on one line (runs of white space as one space), cut at max bytes
 * with "..."; owned by the caller. */
static char *
schema_one_line(const char *sql, size_t max)
{
	buf_t b = {0};
	bool space = false;
	for (const char *p = sql; *p; p++)
	{
		if (isspace((unsigned char) *p))
		{
			space = true;
			continue;
		}
		if (space && b.len)
			buf_putc(&b, ' ');
		space = false;
		if (b.len >= max && (unsigned char) *p < 0x80)	/* never inside a UTF-8 character */
		{
			buf_puts(&b, "...");
			break;
		}
		buf_putc(&b, *p);
	}
	return buf_steal(&b);
}

/* What plan shows of a table: its size, and the planner's row estimate. */
typedef struct schema_table_facts
{
	char	   *pretty;			/* pg_size_pretty of its total size; NULL when unknown */
	long long	bytes;			/* pg_total_relation_size; -1 when unknown */
	long long	rows;			/* pg_class.reltuples; -1 when never counted */
} schema_table_facts;

static const char schema_table_facts_sql[] =
	"SELECT pg_size_pretty(pg_total_relation_size(c.oid)), pg_total_relation_size(c.oid), "
	"CASE WHEN c.reltuples >= 0 THEN c.reltuples::bigint END "
	"FROM pg_catalog.pg_class c WHERE c.oid = to_regclass($1)";

/* Fills *out for table as written (nothing known without conn or when
 * the table does not exist yet); free out->pretty. */
static void
schema_table_facts_get(PGconn *conn, const char *table, schema_table_facts *out)
{
	*out = (schema_table_facts) {.bytes = -1, .rows = -1};
	if (!conn || !table)
		return;
	pgc_err err = PGC_ERR_INIT;
	const char *p[1] = {table};
	PGresult *res = conn_query(conn, schema_table_facts_sql, 1, p, &err);
	if (res && PQntuples(res) == 1)
	{
		if (!PQgetisnull(res, 0, 0))
			out->pretty = xstrdup(PQgetvalue(res, 0, 0));
		if (!PQgetisnull(res, 0, 1))
			out->bytes = atoll(PQgetvalue(res, 0, 1));
		if (!PQgetisnull(res, 0, 2))
			out->rows = atoll(PQgetvalue(res, 0, 2));
	}
	PQclear(res);
	err_clear(&err);
}

/* One entry of a statement's "locks" array. */
static json_t *
schema_lock_json(const char *table, const char *mode, bool referenced, const schema_table_facts *tf)
{
	json_t *o = json_object();
	json_object_set_new(o, "table", json_string(table));
	json_object_set_new(o, "mode", json_string(mode));
	json_object_set_new(o, "referenced", json_boolean(referenced));
	json_object_set_new(o, "size", tf->pretty ? json_string(tf->pretty) : json_null());
	json_object_set_new(o, "size_bytes", tf->bytes >= 0 ? json_integer(tf->bytes) : json_null());
	json_object_set_new(o, "rows_estimate", tf->rows >= 0 ? json_integer(tf->rows) : json_null());
	return o;
}

/* The machine name of an effect, for --json. */
static const char *
schema_effect_name(lint_effect e)
{
	switch (e)
	{
		case LINT_EFFECT_NONE:
			return "none";
		case LINT_EFFECT_CATALOG:
			return "catalog";
		case LINT_EFFECT_WRITES:
			return "writes";
		case LINT_EFFECT_SCANS:
			return "scans";
		case LINT_EFFECT_REWRITES:
			return "rewrites";
	}
	return "none";
}

/*
 * One finding for --json: where (file, section, line, column), the rule,
 * its severity, the message and the safe way, and whether it was allowed
 * ("directive": a pgcarry:allow comment; "catalog": --target's database
 * proves it safe, why naming the proof).
 */
static json_t *
schema_finding_json(const char *file, const char *section, const lint_finding *f, const char *why)
{
	json_t *o = json_object();
	if (file)
		json_object_set_new(o, "file", json_string(file));
	if (section)
		json_object_set_new(o, "section", json_string(section));
	json_object_set_new(o, "line", json_integer(f->line));
	json_object_set_new(o, "column", json_integer(f->col));
	json_object_set_new(o, "rule", json_string(f->rule));
	json_object_set_new(o, "severity", json_string(f->acknowledged || why ? "allowed" : "error"));
	json_object_set_new(o, "message", json_string(f->message));
	json_object_set_new(o, "advice", json_string(f->advice));
	json_object_set_new(o, "allowed", json_boolean(f->acknowledged || why));
	json_object_set_new(o, "allowed_by", f->acknowledged ? json_string("directive")
						: why ? json_string("catalog") : json_null());
	json_object_set_new(o, "safe_because", !f->acknowledged && why ? json_string(why) : json_null());
	return o;
}

static int
schema_plan(const schema_args *a, PGconn *conn)
{
	pgc_err err = PGC_ERR_INIT;
	migfile_set files;
	if (schema_load_files(a->dir, a->json, &files) != 0)
		return EXIT_FAIL;
	history h = {0};
	if (conn && history_load(conn, &h, &err) != 0)
	{
		err_report(&err);
		err_clear(&err);
		migfile_set_free(&files);
		return EXIT_FAIL;
	}
	json_t *jmigs = a->json ? json_array() : NULL;
	lint_state *st = lint_create();
	size_t shown = 0;
	for (size_t i = 0; i < files.n; i++)
	{
		const migfile *f = &files.items[i];
		if (history_is_applied(&h, f))
			continue;
		if (a->to && migfile_compare_versions(f->version, a->to) > 0)
			break;
		shown++;
		json_t *jstmts = NULL;
		if (a->json)
		{
			json_t *jm = json_object();
			json_object_set_new(jm, "version", json_string(f->version));
			json_object_set_new(jm, "name", json_string(f->name));
			json_object_set_new(jm, "file", json_string(f->file));
			json_object_set_new(jm, "statements", jstmts = json_array());
			json_array_append_new(jmigs, jm);
		}
		else
			printf("%s%s%s\n", shown > 1 ? "\n" : "", f->file, conn ? " (pending)" : "");
		lint_begin_file(st);
		for (size_t k = 0; k < f->up.n; k++)
		{
			const sqlparse_stmt *s = &f->up.items[k];
			lint_info info;
			lint_classify(s, &info);
			lint_clear_findings(st);
			lint_statement(st, s);
			schema_table_facts tf, rf = {.bytes = -1, .rows = -1};
			schema_table_facts_get(conn, info.table, &tf);
			if (info.ref_table)
				schema_table_facts_get(conn, info.ref_table, &rf);
			size_t nf;
			const lint_finding *fs = lint_findings(st, &nf);
			if (a->json)
			{
				json_t *js = json_object(), *locks = json_array(), *jf = json_array();
				json_object_set_new(js, "line", json_integer(s->line));
				json_object_set_new(js, "column", json_integer(s->col));
				json_object_set_new(js, "sql", json_string(s->sql));
				json_object_set_new(js, "kind", json_string(info.kind));
				json_object_set_new(js, "lock", json_string(info.lock));
				json_object_set_new(js, "table", info.table ? json_string(info.table) : json_null());
				if (info.table && strcmp(info.lock, "none") != 0)
					json_array_append_new(locks, schema_lock_json(info.table, info.lock, false, &tf));
				if (info.ref_table)
					json_array_append_new(locks, schema_lock_json(info.ref_table, info.ref_lock, true, &rf));
				json_object_set_new(js, "locks", locks);
				json_object_set_new(js, "effect", json_string(schema_effect_name(info.effect)));
				json_object_set_new(js, "effect_text", json_string(lint_effect_text(info.effect)));
				json_object_set_new(js, "in_transaction", json_boolean(!info.no_tx));
				for (size_t j = 0; j < nf; j++)
					json_array_append_new(jf, schema_finding_json(NULL, NULL, &fs[j], fs[j].acknowledged ? NULL
																  : migrate_not_null_proven(conn, &fs[j])));
				json_object_set_new(js, "findings", jf);
				json_array_append_new(jstmts, js);
			}
			else
			{
				char *one = schema_one_line(s->sql, 160);
				printf("  line %-4d %s\n", s->line, one);
				free(one);
				printf("            %s; lock %s; %s", info.kind, info.lock, lint_effect_text(info.effect));
				if (info.table)
					printf("; table %s%s%s%s", info.table, tf.pretty ? " (" : "", tf.pretty ? tf.pretty : "",
						   tf.pretty ? ")" : "");
				if (info.ref_table)
					printf("; lock %s on the referenced table %s%s%s%s", info.ref_lock, info.ref_table,
						   rf.pretty ? " (" : "", rf.pretty ? rf.pretty : "", rf.pretty ? ")" : "");
				printf("; %s\n", info.no_tx ? "outside a transaction" : "in the migration's transaction");
				for (size_t j = 0; j < nf; j++)
				{
					const char *why = fs[j].acknowledged ? NULL : migrate_not_null_proven(conn, &fs[j]);
					printf("            %s%s%s %s: %s\n", fs[j].acknowledged ? "acknowledged" : why ? "safe here (" : "DANGER",
						   why ? why : "", why ? ")" : "", fs[j].rule, fs[j].message);
				}
			}
			free(tf.pretty);
			free(rf.pretty);
			lint_info_free(&info);
		}
	}
	if (a->json)
	{
		json_t *root = json_object();
		char *desc = conn ? conn_describe_live(conn) : NULL;
		json_object_set_new(root, "database", desc ? json_string(desc) : json_null());
		json_object_set_new(root, "directory", json_string(a->dir));
		json_object_set_new(root, "migrations", jmigs);
		json_object_set_new(root, "error", json_null());
		schema_print_json(root);
		free(desc);
	}
	else if (shown == 0)
		printf("nothing to apply\n");
	lint_destroy(st);
	history_free(&h);
	migfile_set_free(&files);
	return EXIT_OK;
}

static int
schema_lint(const schema_args *a, PGconn *conn)
{
	migfile_set files;
	if (schema_load_files(a->dir, a->json, &files) != 0)
		return EXIT_FAIL;
	json_t *jf = a->json ? json_array() : NULL;
	lint_state *st = lint_create();
	size_t bad = 0, acked = 0;
	for (size_t i = 0; i < files.n; i++)
	{
		const migfile *f = &files.items[i];
		for (int down = 0; down < 2; down++)
		{
			const sqlparse_list *l = down ? &f->down : &f->up;
			lint_begin_file(st);
			lint_clear_findings(st);
			for (size_t k = 0; k < l->n; k++)
				lint_statement(st, &l->items[k]);
			size_t nf;
			const lint_finding *fs = lint_findings(st, &nf);
			for (size_t k = 0; k < nf; k++)
			{
				const char *why = fs[k].acknowledged ? NULL : migrate_not_null_proven(conn, &fs[k]);
				if (a->json)
					json_array_append_new(jf, schema_finding_json(f->file, down ? "down" : "up", &fs[k], why));
				if (fs[k].acknowledged || why)
				{
					acked++;
					if (!a->json && log_enabled(LOG_INFO))
						printf("%s:%d: %s (acknowledged): %s\n", f->file, fs[k].line, fs[k].rule, fs[k].message);
					continue;
				}
				bad++;
				if (!a->json)
					printf("%s:%d: %s: %s\n  instead: %s\n", f->file, fs[k].line, fs[k].rule, fs[k].message,
						   fs[k].advice);
			}
		}
	}
	if (a->json)
	{
		json_t *root = json_object();
		json_object_set_new(root, "directory", json_string(a->dir));
		json_object_set_new(root, "files", json_integer((json_int_t) files.n));
		json_object_set_new(root, "findings", jf);
		json_object_set_new(root, "to_fix", json_integer((json_int_t) bad));
		json_object_set_new(root, "allowed", json_integer((json_int_t) acked));
		json_object_set_new(root, "error", json_null());
		schema_print_json(root);
	}
	else
	{
		printf("%zu finding%s to fix or acknowledge, %zu acknowledged, in %zu file%s\n", bad, bad == 1 ? "" : "s",
			   acked, files.n, files.n == 1 ? "" : "s");
		if (bad)
			printf("acknowledge a finding with a comment \"-- pgcarry:allow RULE reason\" before the statement\n");
	}
	lint_destroy(st);
	migfile_set_free(&files);
	return bad ? EXIT_FAIL : EXIT_OK;
}

/* ------------------------------------------------------------------------
 * up, down, repair
 * ------------------------------------------------------------------------ */

static int
schema_run(const schema_args *a, PGconn *conn)
{
	pgc_err err = PGC_ERR_INIT;
	migfile_set files;
	if (schema_load_files(a->dir, false, &files) != 0)
		return EXIT_FAIL;
	migrate_opts mo = a->mo;
	mo.dir = a->dir;
	mo.force = a->force;
	mo.to = a->to;
	int r;
	if (strcmp(a->verb, "up") == 0)
		r = migrate_up(conn, &files, &mo, &err);
	else if (strcmp(a->verb, "down") == 0)
		r = migrate_down(conn, &files, &mo, &err);
	else
		r = migrate_repair(conn, &files, &mo, &err);
	int rc = r != 0 ? schema_report(&err) : EXIT_OK;
	migfile_set_free(&files);
	return rc;
}

/* Server notices (for example from a migration's DO block) as pgcarry log
 * lines, one whole line each. */
static void
schema_notice(void *arg, const PGresult *res)
{
	(void) arg;
	const char *sev = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
	const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	if (!msg)
		return;
	char *m = xasprintf("server %s: %s", sev ? sev : "NOTICE", msg);
	log_report(sev && strcmp(sev, "WARNING") == 0 ? LOG_WARNING : LOG_NOTICE, m,
			   PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL), PQresultErrorField(res, PG_DIAG_MESSAGE_HINT));
	free(m);
}

/* ------------------------------------------------------------------------
 * Dispatch
 * ------------------------------------------------------------------------ */

static bool
schema_verb_known(const char *v)
{
	static const char *const verbs[] = {
		"init", "new", "status", "up", "down", "plan", "lint", "repair", NULL
	};
	for (int i = 0; verbs[i]; i++)
		if (strcmp(verbs[i], v) == 0)
			return true;
	return false;
}

int
cmd_schema(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0
		|| strcmp(argv[1], "-?") == 0)
	{
		if (argc < 2)
		{
			return cli_usage_error("schema", "a verb is required: init, new, status, up, down, plan, lint, "
								   "repair, start, complete or rollback");
		}
		schema_help();
		return EXIT_OK;
	}
	const char *verb = argv[1];
	if (strcmp(verb, "start") == 0 || strcmp(verb, "complete") == 0 || strcmp(verb, "rollback") == 0)
		return expand_main(argc - 1, argv + 1);
	if (!schema_verb_known(verb))
		return cli_usage_error("schema", "unknown verb \"%s\"", verb);

	static const struct option longopts[] = {
		{"target", required_argument, NULL, SCHEMA_OPT_TARGET},
		{"dir", required_argument, NULL, SCHEMA_OPT_DIR},
		{"json", no_argument, NULL, SCHEMA_OPT_JSON},
		{"to", required_argument, NULL, SCHEMA_OPT_TO},
		{"force", no_argument, NULL, SCHEMA_OPT_FORCE},
		{"lock-timeout", required_argument, NULL, SCHEMA_OPT_LOCK_TIMEOUT},
		{"statement-timeout", required_argument, NULL, SCHEMA_OPT_STATEMENT_TIMEOUT},
		{"retry-budget", required_argument, NULL, SCHEMA_OPT_RETRY_BUDGET},
		{"lock-wait", required_argument, NULL, SCHEMA_OPT_LOCK_WAIT},
		CLI_COMMON_LONGOPTS,
		{NULL, 0, NULL, 0}
	};
	schema_args a = {.verb = verb, .dir = "migrations"};
	lockexec_defaults(&a.mo.lx);
	a.mo.lock_wait_ms = 5000;
	const char *target_arg = NULL;
	int opt, rc;
	int vargc = argc - 1;
	char **vargv = argv + 1;
	optind = 1;
	while ((opt = getopt_long(vargc, vargv, ":" CLI_COMMON_SHORTOPTS, longopts, NULL)) != -1)
	{
		switch (opt)
		{
			case SCHEMA_OPT_TARGET:
				target_arg = optarg;
				break;
			case SCHEMA_OPT_DIR:
				a.dir = optarg;
				break;
			case SCHEMA_OPT_JSON:
				a.json = true;
				break;
			case SCHEMA_OPT_TO:
				if (!*optarg || strspn(optarg, "0123456789") != strlen(optarg))
					return cli_usage_error("schema", "--to must be a version (digits), not \"%s\"", optarg);
				a.to = optarg;
				break;
			case SCHEMA_OPT_FORCE:
				a.force = true;
				break;
			case SCHEMA_OPT_LOCK_TIMEOUT:
				if ((rc = schema_parse_duration("--lock-timeout", optarg, &a.mo.lx.lock_timeout_ms)) != 0)
					return rc;
				if (a.mo.lx.lock_timeout_ms == 0)
					return cli_usage_error("schema", "--lock-timeout must be more than 0: without it the "
										   "application's queries could queue behind pgcarry without limit");
				break;
			case SCHEMA_OPT_STATEMENT_TIMEOUT:
				if ((rc = schema_parse_duration("--statement-timeout", optarg,
												&a.mo.lx.statement_timeout_ms)) != 0)
					return rc;
				break;
			case SCHEMA_OPT_RETRY_BUDGET:
				if ((rc = schema_parse_duration("--retry-budget", optarg, &a.mo.lx.budget_ms)) != 0)
					return rc;
				break;
			case SCHEMA_OPT_LOCK_WAIT:
				if ((rc = schema_parse_duration("--lock-wait", optarg, &a.mo.lock_wait_ms)) != 0)
					return rc;
				break;
			default:
			{
				int c = cli_other_option("schema", opt, vargv);
				if (c < 0)
				{
					schema_verb_help(verb);
					return EXIT_OK;
				}
				if (c != 0)
					return c;
			}
		}
	}
	if (strcmp(verb, "new") == 0)
	{
		if (optind >= vargc)
			return cli_usage_error("schema", "\"schema new\" needs a NAME, such as add_users_email");
		a.name = vargv[optind++];
	}
	if (optind < vargc)
		return cli_usage_error("schema", "unexpected argument \"%s\"", vargv[optind]);
	if (a.json && strcmp(verb, "status") != 0 && strcmp(verb, "plan") != 0 && strcmp(verb, "lint") != 0)
		return cli_usage_error("schema", "--json is only for \"schema status\", \"schema plan\" and "
							   "\"schema lint\"");

	if (strcmp(verb, "new") == 0)
		return schema_new(&a);
	bool needs_target = strcmp(verb, "init") != 0 && strcmp(verb, "plan") != 0 && strcmp(verb, "lint") != 0;
	/* lint works without a server; it asks one only when told to. */
	if ((strcmp(verb, "lint") != 0 || target_arg)
		&& (rc = cli_resolve_conn("schema", "--target", target_arg, "PGCARRY_TARGET", needs_target, &a.target)) != 0)
		return rc;
	if (strcmp(verb, "init") == 0)
		return schema_init(&a);

	PGconn *conn = NULL;
	if (a.target)
	{
		pgc_err err = PGC_ERR_INIT;
		conn = conn_open(a.target, NULL, "target", &err);
		if (!conn)
		{
			err_report(&err);
			err_clear(&err);
			return EXIT_FAIL;
		}
		PQsetNoticeReceiver(conn, schema_notice, NULL);
	}
	if (strcmp(verb, "status") == 0)
		rc = schema_status(&a, conn);
	else if (strcmp(verb, "plan") == 0)
		rc = schema_plan(&a, conn);
	else if (strcmp(verb, "lint") == 0)
		rc = schema_lint(&a, conn);
	else
		rc = schema_run(&a, conn);
	conn_close(conn);
	return rc;
}
