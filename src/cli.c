/*
 * cli.c: shared command-line handling (see cli.h).
 */
#include "cli.h"
#include "conn.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char cli_common_help[] =
	"Output options:\n"
	"  -q, --quiet              only warnings and errors\n"
	"  -v, --verbose            more detail about each step\n"
	"      --debug              everything, including each SQL statement\n"
	"      --log-format FORMAT  text (default) or json, one object per line\n"
	"      --connect-timeout S  seconds to wait for a server (default 10)\n"
	"  -h, -?, --help           show this help, then exit\n";

int
cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *m = xvasprintf(fmt, ap);
	va_end(ap);
	char *try = cmd ? xasprintf("Try \"pgcarry %s --help\" for more information.", cmd)
		: xstrdup("Try \"pgcarry --help\" for more information.");
	if (log_get_format() == LOG_FORMAT_JSON)
		log_report(LOG_ERROR, m, NULL, try);	/* one JSON object, the pointer as its hint */
	else
	{
		log_report(LOG_ERROR, m, NULL, NULL);
		buf_t		b = {0};
		buf_printf(&b, "%s\n", try);
		log_write_stderr(b.data, b.len);
		buf_free(&b);
	}
	free(try);
	free(m);
	return EXIT_USAGE;
}

void
cli_early_options(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
	{
		const char *a = argv[i];
		const char *v = NULL;
		if (strcmp(a, "--") == 0)
			break;
		if (strcmp(a, "--log-format") == 0 && i + 1 < argc)
			v = argv[i + 1];
		else if (strncmp(a, "--log-format=", 13) == 0)
			v = a + 13;
		log_format fmt;
		if (v && log_parse_format(v, &fmt) == 0)
			log_setup(log_threshold(), fmt);
	}
}

int
cli_bad_option(const char *cmd, int opt, char **argv)
{
	const char *word = argv[optind - 1];
	if (opt == ':')
		return cli_usage_error(cmd, "option %s needs a value", word);
	if (optopt && !(word[0] == '-' && word[1] == '-'))
		return cli_usage_error(cmd, "unrecognized option \"-%c\"", optopt);
	return cli_usage_error(cmd, "unrecognized option \"%s\"", word);
}

int
cli_common_option(const char *cmd, int opt, const char *arg)
{
	log_level lvl = log_threshold();
	log_format fmt = log_get_format();
	switch (opt)
	{
		case CLI_OPT_HELP:
			return 2;
		case CLI_OPT_QUIET:
			log_setup(LOG_WARNING, fmt);
			return 1;
		case CLI_OPT_VERBOSE:
			log_setup(lvl < LOG_INFO ? LOG_INFO : lvl, fmt);
			return 1;
		case CLI_OPT_DEBUG:
			log_setup(LOG_DEBUG, fmt);
			return 1;
		case CLI_OPT_LOG_FORMAT:
			if (log_parse_format(arg, &fmt) != 0)
			{
				cli_usage_error(cmd, "--log-format must be \"text\" or \"json\", not \"%s\"", arg);
				return -1;
			}
			log_setup(lvl, fmt);
			return 1;
		case CLI_OPT_PROGRESS_FILE:
		{
			int			fd = open(arg, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
			if (fd < 0)
			{
				cli_usage_error(cmd, "could not open the --progress-file \"%s\": %s", arg, strerror(errno));
				return -1;
			}
			progress_set_file(fd);
			return 1;
		}
		case CLI_OPT_CONNECT_TIMEOUT:
		{
			long v;
			if (cli_parse_int(cmd, "--connect-timeout", arg, 1, 3600, &v) != 0)
				return -1;
			conn_configure((int) v, -1);
			return 1;
		}
		default:
			return 0;
	}
}

int
cli_resolve_conn(const char *cmd, const char *option, const char *arg, const char *env_name,
				 bool required, const char **out)
{
	bool from_argv = arg != NULL;
	const char *val = arg ? arg : getenv(env_name);
	*out = NULL;
	if (!val || !*val)
	{
		if (!required)
			return 0;
		return cli_usage_error(cmd, "%s is required (or set %s)", option, env_name);
	}
	pgc_err err = PGC_ERR_INIT;
	const char *what = from_argv ? option : env_name;
	if (conn_check_arg(val, what, from_argv, &err) != 0)
	{
		err_report(&err);
		err_clear(&err);
		return EXIT_USAGE;
	}
	*out = val;
	return 0;
}

int
cli_parse_int(const char *cmd, const char *option, const char *arg, long min, long max, long *out)
{
	char *end = NULL;
	errno = 0;
	long v = strtol(arg, &end, 10);
	if (errno != 0 || end == arg || *end != '\0' || v < min || v > max)
		return cli_usage_error(cmd, "%s must be a whole number from %ld to %ld, not \"%s\"",
							   option, min, max, arg);
	*out = v;
	return 0;
}

int
cli_other_option(const char *cmd, int opt, char **argv)
{
	if (opt == '?' && optopt == '?')
		return -1;				/* -? is help, as in PostgreSQL's programs */
	if (opt == '?' || opt == ':')
		return cli_bad_option(cmd, opt, argv);
	int			c = cli_common_option(cmd, opt, optarg);
	return c == 2 ? -1 : c == 1 ? 0 : EXIT_USAGE;
}

int
cli_parse_jobs(const char *cmd, const char *arg, int *jobs)
{
	long		v;
	if (cli_parse_int(cmd, "--jobs", arg, 1, 64, &v) != 0)
		return EXIT_USAGE;
	*jobs = (int) v;
	return 0;
}

int
cli_parse_progress(const char *cmd, const char *arg, progress_mode *mode)
{
	if (progress_parse_mode(arg, mode) != 0)
		return cli_usage_error(cmd, "--progress must be \"auto\", \"tty\", \"log\", \"json\" "
							   "or \"none\", not \"%s\"", arg);
	return 0;
}

int
cli_parse_pattern(const char *cmd, catalog_filter *f, catalog_filter_kind kind, const char *pattern)
{
	pgc_err		err = PGC_ERR_INIT;
	if (catalog_filter_add(f, kind, pattern, &err) == 0)
		return 0;
	int			rc = cli_usage_error(cmd, "%s", err.message);
	err_clear(&err);
	return rc;
}

int
cli_parse_db_pattern(const char *cmd, const char *pattern, char ***regexes, int *n)
{
	char	   *re = NULL,
			   *unused = NULL;
	const char *why = NULL;
	if (catalog_pattern_regex(pattern, true, &re, &unused, &why) != 0)
		return cli_usage_error(cmd, "invalid database pattern \"%s\": %s", pattern, why);
	*regexes = xrealloc(*regexes, (size_t) (*n + 1) * sizeof **regexes);
	(*regexes)[(*n)++] = re;
	return 0;
}

int
cli_parse_rename(const char *cmd, const char *arg, cli_renames *r)
{
	const char *eq = strchr(arg, '=');
	if (!eq || eq == arg || !eq[1])
		return cli_usage_error(cmd, "--rename needs OLD=NEW (a database and its new name), not \"%s\"", arg);
	char	   *from = xstrndup(arg, (size_t) (eq - arg));
	for (int i = 0; i < r->n; i++)
		if (strcmp(r->from[i], from) == 0)
		{
			free(from);
			return cli_usage_error(cmd, "--rename gives database \"%s\" two new names", r->from[i]);
		}
	r->from = xrealloc(r->from, (size_t) (r->n + 1) * sizeof *r->from);
	r->to = xrealloc(r->to, (size_t) (r->n + 1) * sizeof *r->to);
	r->from[r->n] = from;
	r->to[r->n++] = xstrdup(eq + 1);
	return 0;
}

const char *
cli_rename_target(const cli_renames *r, const char *name)
{
	for (int i = 0; i < r->n; i++)
		if (strcmp(r->from[i], name) == 0)
			return r->to[i];
	return name;
}

void
cli_renames_free(cli_renames *r)
{
	for (int i = 0; i < r->n; i++)
	{
		free(r->from[i]);
		free(r->to[i]);
	}
	free(r->from);
	free(r->to);
	memset(r, 0, sizeof *r);
}

const char	cli_filter_help[] =
	"  -n, --schema PATTERN     only the tables of schemas matching PATTERN\n"
	"  -N, --exclude-schema PATTERN\n"
	"                           not the tables of schemas matching PATTERN\n"
	"  -t, --table PATTERN      only the tables matching PATTERN (-n, -N then ignored)\n"
	"  -T, --exclude-table PATTERN\n"
	"                           not the tables matching PATTERN\n"
	"                           (pg_dump's patterns and rules; each repeatable)\n";

/* ------------------------------------------------------------------------
 * The shared option table
 * ------------------------------------------------------------------------ */

void
cli_shared_init(cli_shared *o)
{
	memset(o, 0, sizeof *o);
	o->jobs = 2;
	o->progress = PROGRESS_AUTO;
	o->verify = VERIFY_FULL;
}

void
cli_shared_free(cli_shared *o)
{
	catalog_filter_free(&o->filter);
	for (int i = 0; i < o->nexclude_dbs; i++)
		free(o->exclude_dbs[i]);
	free(o->exclude_dbs);
	o->exclude_dbs = NULL;
	o->nexclude_dbs = 0;
}

int
cli_shared_option(const char *cmd, cli_shared *o, int opt, char **argv, void (*help) (void))
{
	switch (opt)
	{
		case CLI_OPT_SOURCE:
			o->source_arg = optarg;
			return 0;
		case CLI_OPT_TARGET:
			o->target_arg = optarg;
			return 0;
		case CLI_OPT_ALL:
			o->all = true;
			return 0;
		case 'j':
		case CLI_OPT_JOBS:
			return cli_parse_jobs(cmd, optarg, &o->jobs);
		case CLI_OPT_PROGRESS:
			return cli_parse_progress(cmd, optarg, &o->progress);
		case 'n':
		case CLI_OPT_SCHEMA:
			return cli_parse_pattern(cmd, &o->filter, CATALOG_FILTER_SCHEMA, optarg);
		case 'N':
		case CLI_OPT_EXCLUDE_SCHEMA:
			return cli_parse_pattern(cmd, &o->filter, CATALOG_FILTER_EXCLUDE_SCHEMA, optarg);
		case 't':
		case CLI_OPT_TABLE:
			return cli_parse_pattern(cmd, &o->filter, CATALOG_FILTER_TABLE, optarg);
		case 'T':
		case CLI_OPT_EXCLUDE_TABLE:
			return cli_parse_pattern(cmd, &o->filter, CATALOG_FILTER_EXCLUDE_TABLE, optarg);
		case CLI_OPT_EXCLUDE_DATABASE:
			return cli_parse_db_pattern(cmd, optarg, &o->exclude_dbs, &o->nexclude_dbs);
		case CLI_OPT_RESUME:
			o->resume = true;
			return 0;
		case CLI_OPT_DRY_RUN:
			o->dry_run = true;
			return 0;
		case CLI_OPT_VERIFY:
			if (verify_parse_mode(optarg, &o->verify) != 0)
				return cli_usage_error(cmd, "--verify must be \"full\", \"count\" or \"none\", not \"%s\"", optarg);
			return 0;
		case CLI_OPT_ROLES:
			o->roles = true;
			return 0;
		case CLI_OPT_CLEAN:
			o->clean = true;
			return 0;
		default:
		{
			int			c = cli_other_option(cmd, opt, argv);
			if (c < 0)
				help();
			return c;
		}
	}
}

int
cli_shared_finish(const char *cmd, cli_shared *o, int argc, char **argv)
{
	o->dbs = (const char **) argv + optind;
	o->ndbs = argc - optind;
	if (o->all && o->ndbs > 0)
		return cli_usage_error(cmd, "give database names or --all, not both");
	if (!o->all && o->ndbs == 0)
		return cli_usage_error(cmd, "name the databases to %s, or give --all", cmd);
	if (!o->all && o->nexclude_dbs > 0)
		return cli_usage_error(cmd, "--exclude-database works with --all only");
	for (int i = 0; i < o->ndbs; i++)
		if (!*o->dbs[i])
			return cli_usage_error(cmd, "a database name is empty");
	int			rc;
	if ((rc = cli_resolve_conn(cmd, "--source", o->source_arg, "PGCARRY_SOURCE", true, &o->source)) != 0)
		return rc;
	return cli_resolve_conn(cmd, "--target", o->target_arg, "PGCARRY_TARGET", true, &o->target);
}
