/*
 * cutover.c: "pgcarry cutover", the switch from a followed source to its
 * target: writes fenced on the source, the last of them applied on the
 * target, sequences, large objects and materialized views brought over,
 * every table and view verified, and every follow object removed.
 *
 * How it works.  Checks first, for every database, fencing nothing when
 * one fails: the database is followed (slot on the source, subscription
 * streaming on the target), its schema equals the target's (compare
 * --schema-only; see cut_schema_check for how a change made after that is
 * found behind the fence), a probe row written on the source arrives on
 * the target within --lag-max, and no prepared transaction waits (one
 * could commit after the fence).  Then the
 * fence: ALTER DATABASE ... SET default_transaction_read_only = on on every
 * database (every new session of every role is read only), then every
 * other client session of those databases is ended and waited for (its
 * open transaction rolls back), twice, to catch a session that connected
 * while the settings were being changed.  pgcarry's
 * own sessions turn the setting off for themselves.  After the fence a
 * marker row goes into pgcarry's helper table on the source; logical
 * replication applies transactions in commit order, so once the target
 * holds the marker it holds every write made before the fence.  Then, for
 * every database at once (cut_each: a thread per database, at most --jobs
 * for the heavy steps, each on the sessions opened for the checks), the
 * sequences are set from the source (last_value and is_called), large
 * objects copied again and materialized views refreshed on the target
 * (logical replication carries neither); the compare command (--verify
 * full) or a count on both servers at once (--verify count) proves every
 * table equal, and each materialized view is proven against its query on
 * the fenced source.  Then the target's subscription, publication and
 * helper schema are removed and the target is declared ready (a cutover
 * killed before then runs again from the start); only after that are the
 * source's slot, publication and helper schema removed, outside the fenced
 * time (a kill there leaves them, and the next run names them).  The
 * fence stays on the source in every case: the application moves to the
 * target, or (on a difference) back to the source once the fence is
 * lifted, as printed.
 */
#include "core/catalog.h"
#include "core/objects.h"
#include "cleanup.h"
#include "cli.h"
#include "commands.h"
#include "conn.h"
#include "core/common.h"
#include "core/progress.h"
#include "follow/follow.h"
#include "core/stream.h"
#include "core/workq.h"
#include "util/monotime.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/xalloc.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum
{
	CUT_OPT_VERIFY = CLI_OPT_FIRST_OWN,
	CUT_OPT_LAG_MAX,
	CUT_OPT_WAIT_MAX
};

typedef struct cut_opts
{
	cli_shared cli;
	double		lag_max;		/* seconds */
	double		wait_max;		/* seconds for the marker to arrive */
	bool		count_only;		/* --verify count */
} cut_opts;

typedef struct cut_db
{
	const char *name;
	PGconn	   *src;			/* writes allowed for itself */
	PGconn	   *tgt;
	char	   *slot;
	bool		fenced;			/* by this run */
	bool		was_fenced;		/* by an earlier run */
	char		marker[160];	/* the last marker written (cut_marker_write) */
	int			index;			/* in the progress display */
	/* The source's schema as it read when it was compared with the
	 * target's, before the fence (cut_schema_read): */
	catalog_object *objs;
	int			nobjs;
	objects    *inv;
	bool		schema_rechecked;	/* read again behind the fence */
	bool		drifted;		/* and found changed since */
	bool		applied;		/* the marker written after the fence arrived */
	/* Set by the steps after the fence (cut_each), one thread at a time: */
	int			differences;	/* rows or materialized views that differ */
	buf_t		out;			/* the report's lines, printed in order */
	pgc_err		err;			/* the failure of its last step */
} cut_db;

static const char cut_slot_sql[] =
	"SELECT s.slot_name, s.active, "
	"  pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_lsn(), s.confirmed_flush_lsn)::bigint "
	"FROM pg_catalog.pg_replication_slots s "
	"WHERE s.database = pg_catalog.current_database() AND s.slot_name LIKE 'pgcarry\\_%' ORDER BY 1 LIMIT 1";

/* A row when the current database's writes are fenced (cut_fence). */
static const char cut_fenced_sql[] =
	"SELECT 1 FROM pg_catalog.pg_db_role_setting s JOIN pg_catalog.pg_database d ON d.oid = s.setdatabase "
	"WHERE d.datname = pg_catalog.current_database() AND s.setrole = 0 "
	"  AND 'default_transaction_read_only=on' = ANY (s.setconfig)";

static const char cut_prepared_sql[] =
	"SELECT pg_catalog.string_agg(gid, ', ' ORDER BY gid) FROM pg_catalog.pg_prepared_xacts "
	"WHERE database = pg_catalog.current_database()";

/* Ends every other client session of the databases $1 but pgcarry's own
 * ($2), waiting up to 5 s for each to be gone (PostgreSQL 14+); per
 * database, how many. */
static const char cut_terminate_sql[] =
	"SELECT datname, count(*) FILTER (WHERE pg_catalog.pg_terminate_backend(pid, 5000)) "
	"FROM pg_catalog.pg_stat_activity "
	"WHERE datname = ANY ($1::text[]) AND backend_type = 'client backend' AND pid <> ALL ($2::int[]) "
	"  AND pid <> pg_catalog.pg_backend_pid() GROUP BY datname";
static const char cut_terminate_old_sql[] =
	"SELECT datname, count(*) FILTER (WHERE pg_catalog.pg_terminate_backend(pid)) "
	"FROM pg_catalog.pg_stat_activity "
	"WHERE datname = ANY ($1::text[]) AND backend_type = 'client backend' AND pid <> ALL ($2::int[]) "
	"  AND pid <> pg_catalog.pg_backend_pid() GROUP BY datname";

/* The phases a database goes through, for progress. */
#define CUT_PHASES 4

static void
cut_help(void)
{
	printf("pgcarry cutover switches followed databases to the target: it fences writes\n"
		   "on the source, waits until the target has applied the last of them, sets the\n"
		   "sequences, copies large objects, refreshes materialized views, verifies every\n"
		   "table and view, removes the subscription, declares the target ready, and then\n"
		   "removes the slot and publication from the source.  With every --verify mode\n"
		   "the schema is compared with the target's before the fence (logical replication\n"
		   "carries no DDL), and read again behind it.\n"
		   "\n"
		   "Usage:\n"
		   "  pgcarry cutover --source URI --target URI [OPTION]... DBNAME...\n"
		   "  pgcarry cutover --source URI --target URI [OPTION]... --all\n"
		   "\n"
		   "Options:\n"
		   "      --source URI         the followed source server (default: $PGCARRY_SOURCE)\n"
		   "      --target URI         the target server (default: $PGCARRY_TARGET)\n"
		   "      --all                every database pgcarry follows\n"
		   "      --verify MODE        full (rows and checksum, default) or count\n"
		   "      --lag-max SECONDS    refuse when the target is further behind (default 10)\n"
		   "      --wait-max SECONDS   how long to wait for the last writes to arrive (default 60)\n"
		   "  -j, --jobs N             databases worked on at once after the fence (default 2)\n"
		   "      --progress MODE      auto (default), tty, log, json, or none: the phases\n"
		   "                           fence, marker, sequences, verifying of each database\n"
		   "      --progress-file FILE JSON progress lines into FILE, not stderr\n"
		   "\n"
		   "The fence (default_transaction_read_only = on for the database, every other\n"
		   "session ended) stays on the source: the application moves to the target.\n"
		   "\n"
		   "Exit status: 0 switched and verified, 1 failure, 2 usage error,\n"
		   "3 verification found a difference (the source stays fenced; the way back is printed),\n"
		   "or the schema differs (nothing stays fenced; the follow goes on).\n"
		   "\n%s", cli_common_help);
}

static int
cut_parse_seconds(const char *option, const char *arg, double *out)
{
	char	   *end = NULL;
	double		v = strtod(arg, &end);
	if (end && strcmp(end, "s") == 0)
		end++;
	if (!end || end == arg || *end || !isfinite(v) || v < 0)
		return cli_usage_error("cutover", "%s must be a number of seconds, not \"%s\"", option, arg);
	*out = v;
	return 0;
}

static int
cut_parse(int argc, char **argv, cut_opts *o)
{
	static const struct option longopts[] = {
		CLI_SHARED_LONGOPTS,
		{"verify", required_argument, NULL, CUT_OPT_VERIFY},
		{"lag-max", required_argument, NULL, CUT_OPT_LAG_MAX},
		{"wait-max", required_argument, NULL, CUT_OPT_WAIT_MAX},
		CLI_COMMON_LONGOPTS,
		{NULL, 0, NULL, 0}
	};
	memset(o, 0, sizeof *o);
	cli_shared_init(&o->cli);
	o->lag_max = 10;
	o->wait_max = 60;
	int			opt, rc;
	optind = 1;
	while ((opt = getopt_long(argc, argv, CLI_SHARED_SHORTOPTS, longopts, NULL)) != -1)
	{
		switch (opt)
		{
			case CUT_OPT_VERIFY:
				if (strcmp(optarg, "full") == 0)
					o->count_only = false;
				else if (strcmp(optarg, "count") == 0)
					o->count_only = true;
				else
					return cli_usage_error("cutover", "--verify must be \"full\" or \"count\", not \"%s\"", optarg);
				break;
			case CUT_OPT_LAG_MAX:
				if ((rc = cut_parse_seconds("--lag-max", optarg, &o->lag_max)) != 0)
					return rc;
				break;
			case CUT_OPT_WAIT_MAX:
				if ((rc = cut_parse_seconds("--wait-max", optarg, &o->wait_max)) != 0)
					return rc;
				break;
			default:
				if ((rc = cli_shared_option("cutover", &o->cli, opt, argv, cut_help)) != 0)
					return rc;
				break;
		}
	}
	return cli_shared_finish("cutover", &o->cli, argc, argv);
}

/* ------------------------------------------------------------------------
 * Checks before the fence
 * ------------------------------------------------------------------------ */

static int	cut_marker(cut_db *d, const char *what, double max, double *took, pgc_err *err);
static int	cut_compare(cut_opts *o, const char *const *names, int n, bool schema_only);

/*
 * The schema drift check.  Logical replication carries no DDL: a change
 * made on the source during the follow (a column added, an index, a grant)
 * must be found before the target is declared ready.  Before the fence,
 * compare --schema-only proves the target's schema equal to the source's
 * (the catalog comparison of compare.c: catalog_objects and the inventory
 * of objects.h); the source's schema is read just before it, the same way,
 * and kept.  Behind the fence it is read again (on the source, while the
 * marker travels): equal, and the comparison still holds; changed, and the
 * comparison runs again behind the fence (the change may have been made on
 * both servers): a difference lifts the fence and exits 3, the follow kept.
 */

/* Reads the schema of d's source as compare reads it.  Returns 0 with
 * *objs, *nobjs and *inv set (the caller frees them, on failure too), or
 * -1 with err set. */
static int
cut_schema_read(cut_db *d, catalog_object **objs, int *nobjs, objects **inv, pgc_err *err)
{
	*inv = NULL;
	if (catalog_objects(d->src, objs, nobjs, err) != 0 || !(*inv = objects_read(d->src, err)))
	{
		err_prefix(err, "on the source, database \"%s\": ", d->name);
		return -1;
	}
	return 0;
}

/* Reads the source's schema again into *same: whether it still reads as
 * cut_schema_read read it before the fence.  Returns 0, or -1 with err set. */
static int
cut_schema_same(cut_db *d, bool *same, pgc_err *err)
{
	catalog_object *objs = NULL;
	int			nobjs = 0;
	objects    *inv = NULL;
	if (cut_schema_read(d, &objs, &nobjs, &inv, err) != 0)
	{
		catalog_objects_free(objs, nobjs);
		return -1;
	}
	*same = nobjs == d->nobjs;
	for (int i = 0; i < nobjs && *same; i++)
		*same = strcmp(objs[i].kind, d->objs[i].kind) == 0 && strcmp(objs[i].name, d->objs[i].name) == 0
			&& strcmp(objs[i].extra, d->objs[i].extra) == 0;
	if (*same)
	{
		verify_report *r = verify_report_create(VERIFY_FULL, "before the fence", "behind the fence");
		*same = objects_compare(d->inv, inv, NULL, r, d->name) == 0;
		verify_report_free(r);
	}
	catalog_objects_free(objs, nobjs);
	objects_free(inv);
	return 0;
}

/* Sets err for a schema that differs on database(s) names (exit 3); fence:
 * what became of the fence, or NULL before it. */
static void
cut_schema_differs(pgc_err *err, const char *names, const char *fence)
{
	if (fence)
		err_set(err, "the schema of database %s changed on the source after it was compared with the target's",
				names);
	else
		err_set(err, "the schema of database %s differs between the source and the target", names);
	err_detail(err, "Logical replication does not carry schema changes; the differences are listed above.");
	err_hint(err, "Make the same change on the target (or undo it on the source), check with pgcarry compare "
			 "--schema-only, then run cutover again.  %s; the target keeps following.",
			 fence ? fence : "Nothing was fenced");
	err->exit_status = EXIT_DIFFERENT;
}

/* Before the fence: d's source schema read (kept for cut_schema_same),
 * then compared with the target's.  Returns 0, or -1 with err set (exit 3
 * for a difference). */
static int
cut_schema_check(cut_opts *o, cut_db *d, pgc_err *err)
{
	if (cut_schema_read(d, &d->objs, &d->nobjs, &d->inv, err) != 0)
		return -1;
	const char *names[1] = {d->name};
	int			rc = cut_compare(o, names, 1, true);
	fflush(stdout);
	if (rc == EXIT_OK)
		return 0;
	if (rc == EXIT_DIFFERENT)
	{
		char	   *q = xasprintf("\"%s\"", d->name);
		cut_schema_differs(err, q, NULL);
		free(q);
		return -1;
	}
	if (cleanup_interrupted())
		err_set(err, "cutover interrupted while comparing the schema of database \"%s\"", d->name);
	else
	{
		err_set(err, "could not compare the schema of database \"%s\" on the source and the target", d->name);
		err_hint(err, "Run cutover again once the servers answer; nothing was fenced.");
	}
	return -1;
}

static int
cut_check(cut_opts *o, cut_db *d, pgc_err *err)
{
	if (!(d->src = follow__conn_open(o->cli.source, d->name, "source", err))
		|| !(d->tgt = conn_open(o->cli.target, d->name, "target", err)))
		return -1;
	char	   *fenced = conn_query_value(d->src, cut_fenced_sql, 0, NULL, err);
	if (err->set)
		return -1;
	d->was_fenced = fenced != NULL;
	free(fenced);
	PGresult   *res = conn_query(d->src, cut_slot_sql, 0, NULL, err);
	if (!res)
		return -1;
	bool		active = PQntuples(res) > 0 && strcmp(PQgetvalue(res, 0, 1), "t") == 0;
	if (d->was_fenced)
	{
		/* Fenced, and no subscription enabled: an earlier cutover ended
		 * while it removed the follow objects (its slot may still look
		 * active while the WAL sender ends). */
		char	   *enabled = conn_query_value(d->tgt, "SELECT 1 FROM pg_catalog.pg_subscription s "
											   "JOIN pg_catalog.pg_database d ON d.oid = s.subdbid "
											   "WHERE d.datname = pg_catalog.current_database() "
											   "AND s.subname LIKE 'pgcarry\\_%' AND s.subenabled", 0, NULL, err);
		buf_t		left = {0};
		if (err->set || (!enabled && follow__remains(d->src, d->tgt, &left, err) != 0))
		{
			PQclear(res);
			free(enabled);
			buf_free(&left);
			return -1;
		}
		if (!enabled && left.len)
		{
			PQclear(res);
			err_set(err, "database \"%s\" is fenced and no longer followed: an earlier cutover ended while it "
					"removed the follow objects", d->name);
			err_detail(err, "Left: %s.", left.data);
			err_hint(err, "Remove what remains with pgcarry follow stop, and check the target with pgcarry compare.");
			buf_free(&left);
			d->was_fenced = false;	/* no way back to print: nothing followed */
			return -1;
		}
		free(enabled);
		buf_free(&left);
	}
	if (PQntuples(res) == 0)
	{
		PQclear(res);
		err_set(err, "database \"%s\" is not followed by pgcarry", d->name);
		if (d->was_fenced)
			err_detail(err, "Its writes are fenced on the source by an earlier cutover.");
		err_hint(err, "Start with pgcarry copy --follow, and check with pgcarry follow status.");
		d->was_fenced = false;	/* no way back to print: nothing followed */
		return -1;
	}
	d->slot = xstrdup(PQgetvalue(res, 0, 0));
	char	   *bytes = xstrdup(PQgetvalue(res, 0, 2));
	PQclear(res);
	/* First the schema: a drift may well be what stops the apply. */
	if (cut_schema_check(o, d, err) != 0)
	{
		free(bytes);
		return -1;
	}
	if (!active)
	{
		err_set(err, "the target is not applying the changes of database \"%s\"", d->name);
		err_detail(err, "Nothing streams from replication slot %s.", d->slot);
		err_hint(err, "See pgcarry follow status and the target server's log.");
		free(bytes);
		return -1;
	}
	/* The lag, measured: how long a row written now takes to arrive. */
	double		took = 0;
	int			rc = cut_marker(d, "probe", o->lag_max, &took, err);
	if (rc == 0)
	{
		err_set(err, "the target is more than --lag-max %.1f s behind the source on database \"%s\"", o->lag_max,
				d->name);
		err_detail(err, "A row written on the source was not applied on the target within %.1f s; %s bytes of WAL "
				   "were not yet confirmed by the target.", o->lag_max, bytes);
		err_hint(err, "Wait until pgcarry follow status shows a smaller lag, then run cutover again; nothing was fenced.");
	}
	else if (rc == 1)
		log_info("database \"%s\": the target applies the source's writes within %.2f s", d->name, took);
	free(bytes);
	if (rc != 1)
		return -1;
	char	   *gids = conn_query_value(d->src, cut_prepared_sql, 0, NULL, err);
	if (err->set)
		return -1;
	if (gids)
	{
		err_set(err, "database \"%s\" has prepared transactions, which could commit after the fence", d->name);
		err_detail(err, "Prepared: %s", gids);
		err_hint(err, "Finish them with COMMIT PREPARED or ROLLBACK PREPARED, then run cutover again; nothing was "
				 "fenced.");
		free(gids);
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------------
 * The fence
 * ------------------------------------------------------------------------ */

/* Appends s to b as an element of an array literal ("..." quoted). */
static void
cut_array_add(buf_t *b, const char *s)
{
	buf_printf(b, "%s\"", b->len > 1 ? "," : "");
	for (const char *c = s; *c; c++)
		buf_printf(b, "%s%c", *c == '"' || *c == '\\' ? "\\" : "", *c);
	buf_printf(b, "\"");
}

/*
 * Fences every database of dbs[0..n): the setting first on all of them,
 * then two sweeps that end their other sessions (own: pgcarry's, n of
 * them), so that a session connecting while the settings changed is caught
 * too.  Returns 0, or -1 with err set (the databases fenced so far marked).
 */
static int
cut_fence_all(cut_db *dbs, int n, PGconn *maint, const int *own, pgc_err *err)
{
	for (int i = 0; i < n; i++)
	{
		char	   *id = conn_quote_ident(maint, dbs[i].name);
		char	   *sql = xasprintf("ALTER DATABASE %s SET default_transaction_read_only = on", id);
		int			rc = conn_exec(maint, sql, err);
		free(sql);
		free(id);
		if (rc != 0)
		{
			err_prefix(err, "could not fence writes on database \"%s\": ", dbs[i].name);
			return -1;
		}
		dbs[i].fenced = true;
	}
	buf_t		pids = {0}, names = {0};
	buf_printf(&pids, "{");
	buf_printf(&names, "{");
	for (int i = 0; i < n; i++)
	{
		buf_printf(&pids, "%s%d", i ? "," : "", own[i]);
		cut_array_add(&names, dbs[i].name);
	}
	buf_printf(&pids, "}");
	buf_printf(&names, "}");
	const char *p[2] = {names.data, pids.data};
	long	   *ended = xcalloc((size_t) n + 1, sizeof *ended);
	int			rc = 0;
	for (int sweep = 0; sweep < 2 && rc == 0; sweep++)
	{
		PGresult   *res = conn_query(maint, PQserverVersion(maint) >= 140000 ? cut_terminate_sql
									 : cut_terminate_old_sql, 2, p, err);
		if (!res)
			rc = -1;
		for (int r = 0; res && r < PQntuples(res); r++)
			for (int i = 0; i < n; i++)
				if (strcmp(PQgetvalue(res, r, 0), dbs[i].name) == 0)
					ended[i] += atol(PQgetvalue(res, r, 1));
		PQclear(res);
		if (sweep == 0)
			usleep(200 * 1000);
	}
	buf_free(&pids);
	buf_free(&names);
	if (rc != 0)
	{
		err_prefix(err, "could not end the sessions of the fenced databases: ");
		free(ended);
		return -1;
	}
	for (int i = 0; i < n && rc == 0; i++)
	{
		char	   *gids = conn_query_value(dbs[i].src, cut_prepared_sql, 0, NULL, err);
		if (err->set)
			rc = -1;
		else if (gids)
		{
			err_set(err, "a transaction of database \"%s\" was prepared while writes were being fenced",
					dbs[i].name);
			err_detail(err, "Prepared: %s", gids);
			rc = -1;
		}
		else
			log_notice("writes to database \"%s\" on the source are fenced (%ld %s ended)", dbs[i].name, ended[i],
					   ended[i] == 1 ? "session" : "sessions");
		free(gids);
	}
	free(ended);
	return rc;
}

/*
 * Writes a marker row (what: "cutover" or "probe") on the source and waits
 * up to max seconds until the target holds it: logical replication applies
 * in commit order, so the target then holds every write committed before.
 * Returns 1 (arrived; *took set), 0 (not within max), or -1 with err set
 * (interrupted included).
 */
static int
cut_marker_write(cut_db *d, const char *what, pgc_err *err)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	snprintf(d->marker, sizeof d->marker, "%s %s %lld.%09ld", what, d->slot, (long long) now.tv_sec, now.tv_nsec);
	const char *p[1] = {d->marker};
	if (conn_exec_params(d->src, "INSERT INTO " FOLLOW_HELPER_SCHEMA ".marker (name) VALUES ($1)", 1, p, err) != 0)
	{
		err_prefix(err, "could not write the %s marker on the source: ", what);
		return -1;
	}
	return 0;
}

/* The wait of cut_marker, for the marker cut_marker_write wrote last. */
static int
cut_marker_wait(cut_db *d, double max, double *took, pgc_err *err)
{
	const char *p[1] = {d->marker};
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* A lock held on the target's marker table must not stall the poll
	 * past max: each read waits for it 1 s at most. */
	if (conn_exec(d->tgt, "SET lock_timeout = '1s'", err) != 0)
		return -1;
	int			rc = 0;
	while (!cleanup_interrupted())
	{
		char	   *got = conn_query_value(d->tgt, "SELECT 1 FROM " FOLLOW_HELPER_SCHEMA ".marker WHERE name = $1", 1, p,
										   err);
		if (err->set && strcmp(err->sqlstate, "55P03") != 0 && !cleanup_interrupted())
			return -1;
		err_clear(err);
		free(got);
		*took = monotime_since(&t0);
		if (got)
		{
			rc = 1;
			break;
		}
		if (*took > max)
			break;
		usleep(50 * 1000);
	}
	if (cleanup_interrupted())
	{
		err_set(err, "cutover interrupted while waiting for the target to apply the last writes of database \"%s\"",
				d->name);
		return -1;
	}
	return conn_exec(d->tgt, "SET lock_timeout = 0", err) != 0 ? -1 : rc;
}

static int
cut_marker(cut_db *d, const char *what, double max, double *took, pgc_err *err)
{
	return cut_marker_write(d, what, err) != 0 ? -1 : cut_marker_wait(d, max, took, err);
}

/* Waits until the target holds the marker written after the fence
 * (cut_marker_write of every database first, so the waits overlap). */
static int
cut_wait_marker(cut_opts *o, cut_db *d, pgc_err *err)
{
	double		took = 0;
	int			rc = cut_marker_wait(d, o->wait_max, &took, err);
	if (rc < 0)
		return -1;
	if (rc == 1)
	{
		log_info("database \"%s\": the target applied every write made before the fence (%.2f s)", d->name, took);
		return 0;
	}
	err_set(err, "the target did not apply the last writes of database \"%s\" within %.0f s", d->name, o->wait_max);
	err_hint(err, "See pgcarry follow status and the target server's log; run cutover again once the target "
			 "follows, or give a larger --wait-max.");
	return -1;
}

/* ------------------------------------------------------------------------
 * Sequences and large objects
 * ------------------------------------------------------------------------ */

static int
cut_sequences(cut_db *d, pgc_err *err)
{
	catalog_sequence *s = NULL;
	int			n = 0;
	if (catalog_sequences(d->src, &s, &n, err) != 0)
		return -1;
	buf_t		sql = {0};
	for (int i = 0; i < n; i++)
	{
		if (!s[i].last_value)
			continue;
		char	   *name = conn_quote_literal(d->tgt, s[i].qualified);
		char	   *val = conn_quote_literal(d->tgt, s[i].last_value);
		buf_printf(&sql, "SELECT pg_catalog.setval(%s::pg_catalog.regclass, %s::bigint, %s);", name, val,
				   s[i].is_called ? "true" : "false");
		free(name);
		free(val);
	}
	int			rc = sql.len ? conn_exec(d->tgt, sql.data, err) : 0;
	buf_free(&sql);
	catalog_sequences_free(s, n);
	if (rc != 0)
		err_prefix(err, "could not set the sequences of database \"%s\" on the target: ", d->name);
	return rc;
}

/* The target's large objects with what pg_dump carries of each (owner,
 * comment, privileges), as JSON for the source's query below. */
static const char cut_lo_target_sql[] =
	"SELECT COALESCE(pg_catalog.json_agg(pg_catalog.json_build_object("
	"  'oid', m.oid, 'owner', pg_catalog.pg_get_userbyid(m.lomowner), "
	"  'comment', pg_catalog.obj_description(m.oid, 'pg_largeobject'), 'acl', m.lomacl::text)), '[]') "
	"FROM pg_catalog.pg_largeobject_metadata m";

/*
 * On the source, given the target's large objects ($1, as above): the
 * statements that make the target's set and properties the source's.  The
 * target's objects that the source no longer has are unlinked; the owner,
 * comment and privileges of every object whose differ are set (pg_dump's
 * entries gave the target those of the objects the initial copy found; an
 * object created or changed while following has only its contents carried
 * by stream_large_objects_copy).  Privileges are granted as the source
 * holds them, after PUBLIC's are revoked.
 */
static const char cut_lo_fix_sql[] =
	"WITH t AS (SELECT * FROM pg_catalog.json_to_recordset($1::json) "
	"             AS x(oid oid, owner text, comment text, acl text)), "
	"     s AS (SELECT m.oid, pg_catalog.pg_get_userbyid(m.lomowner) AS owner, "
	"                  pg_catalog.obj_description(m.oid, 'pg_largeobject') AS comment, m.lomacl "
	"             FROM pg_catalog.pg_largeobject_metadata m) "
	"SELECT COALESCE(pg_catalog.string_agg(q, ' '), '') FROM ("
	" SELECT pg_catalog.format('SELECT pg_catalog.lo_unlink(%s);', t.oid) AS q "
	"   FROM t WHERE NOT EXISTS (SELECT 1 FROM s WHERE s.oid = t.oid) "
	" UNION ALL "
	" SELECT pg_catalog.format('ALTER LARGE OBJECT %s OWNER TO %I; COMMENT ON LARGE OBJECT %s IS %L;', "
	"                          s.oid, s.owner, s.oid, s.comment) "
	"     || CASE WHEN s.lomacl IS NULL THEN '' ELSE "
	"          pg_catalog.format('REVOKE ALL ON LARGE OBJECT %s FROM PUBLIC;', s.oid) "
	"          || (SELECT COALESCE(pg_catalog.string_agg(pg_catalog.format('GRANT %s ON LARGE OBJECT %s TO %s%s;', "
	"                a.privilege_type, s.oid, "
	"                CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(a.grantee)) END, "
	"                CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END), ' '), '') "
	"                FROM pg_catalog.aclexplode(s.lomacl) a) END "
	"   FROM s LEFT JOIN t ON t.oid = s.oid "
	"  WHERE t.oid IS NULL OR t.owner IS DISTINCT FROM s.owner OR t.comment IS DISTINCT FROM s.comment "
	"     OR t.acl IS DISTINCT FROM s.lomacl::text) x";

/*
 * Large objects (logical replication does not carry them): the contents of
 * every one of the source's copied (stream_large_objects_copy creates the
 * missing ones), the ones the source no longer has unlinked, and the owner,
 * comment and privileges of each made the source's, in one transaction on
 * the target.
 */
static int
cut_large_objects(cut_db *d, pgc_err *err)
{
	int64_t		ns = 0, nt = 0, est = 0;
	if (catalog_large_objects(d->src, &ns, &est, err) != 0 || catalog_large_objects(d->tgt, &nt, &est, err) != 0)
		return -1;
	if (ns == 0 && nt == 0)
		return 0;
	stream_result res;
	memset(&res, 0, sizeof res);
	char	   *have = NULL, *fix = NULL;
	int			rc = conn_exec(d->tgt, "BEGIN", err);
	if (rc == 0)
		rc = conn_exec(d->src, "BEGIN ISOLATION LEVEL REPEATABLE READ", err);
	if (rc == 0 && !(have = conn_query_value(d->tgt, cut_lo_target_sql, 0, NULL, err)))
		rc = -1;
	const char *params[1] = {have};
	if (rc == 0 && !(fix = conn_query_value(d->src, cut_lo_fix_sql, 1, params, err)))
		rc = -1;
	if (rc == 0)
		rc = stream_large_objects_copy(d->src, d->tgt, 0, 0, NULL, &res, err);
	if (rc == 0 && *fix)
		rc = conn_exec(d->tgt, fix, err);
	free(have);
	free(fix);
	pgc_err		ignore = PGC_ERR_INIT;
	(void) conn_exec(d->src, "COMMIT", &ignore);
	err_clear(&ignore);
	if (rc == 0)
		rc = conn_exec(d->tgt, "COMMIT", err);
	else
		(void) conn_exec(d->tgt, "ROLLBACK", &ignore);
	err_clear(&ignore);
	if (rc != 0)
		err_prefix(err, "could not copy the large objects of database \"%s\": ", d->name);
	else
		log_info("database \"%s\": %lld large objects copied", d->name, (long long) ns);
	return rc;
}

/*
 * Runs src_sql on d's source and tgt_sql on its target at once (both
 * servers work while pgcarry waits); *a and *b get the first column of
 * each one's first row (NULL when none).  Returns 0, or -1 with err set
 * (*a and *b freed).
 */
static int
cut_query_both(cut_db *d, const char *src_sql, const char *tgt_sql, char **a, char **b, pgc_err *err)
{
	PGconn	   *c[2] = {d->src, d->tgt};
	const char *q[2] = {src_sql, tgt_sql};
	char	   *got[2] = {NULL, NULL};
	int			sent = 0, rc = 0;
	for (; sent < 2; sent++)
	{
		conn_log_sql(c[sent], q[sent], 0);
		if (!PQsendQuery(c[sent], q[sent]))
		{
			err_set(err, "%s", PQerrorMessage(c[sent]));
			rc = -1;
			break;
		}
	}
	for (int s = 0; s < sent; s++)
	{
		PGresult   *res;
		while ((res = PQgetResult(c[s])) != NULL)
		{
			if (PQresultStatus(res) != PGRES_TUPLES_OK)
			{
				if (rc == 0)
					conn_err_from_result(err, c[s], res, q[s]);
				rc = -1;
			}
			else if (!got[s] && PQntuples(res) > 0 && !PQgetisnull(res, 0, 0))
				got[s] = xstrdup(PQgetvalue(res, 0, 0));
			PQclear(res);
		}
	}
	if (rc != 0)
	{
		free(got[0]);
		free(got[1]);
		got[0] = got[1] = NULL;
	}
	*a = got[0];
	*b = got[1];
	return rc;
}

/* --verify count: every table's rows counted on both sides (at once). */
static int
cut_count(cut_db *d, pgc_err *err)
{
	catalog_table *t = NULL;
	int			n = 0;
	if (catalog_tables(d->src, &t, &n, err) != 0)
		return -1;
	int			rc = 0;
	for (int i = 0; i < n && rc == 0; i++)
	{
		char	   *sql = xasprintf("SELECT count(*) FROM ONLY %s", t[i].qualified);
		char	   *a = NULL, *b = NULL;
		rc = cut_query_both(d, sql, sql, &a, &b, err);
		free(sql);
		if (rc != 0)
			err_prefix(err, "could not count the rows of table %s of database \"%s\": ", t[i].display, d->name);
		else if (!a || !b || strcmp(a, b) != 0)
		{
			buf_printf(&d->out, "%s table %s: %s rows on the source, %s on the target\n", d->name, t[i].display,
					   a ? a : "no", b ? b : "no");
			d->differences++;
		}
		else
			buf_printf(&d->out, "%s table %s: %s rows on both\n", d->name, t[i].display, a);
		free(a);
		free(b);
	}
	catalog_tables_free(t, n);
	return rc;
}

/* ------------------------------------------------------------------------
 * Materialized views
 * ------------------------------------------------------------------------ */

/*
 * The materialized views of the current database that are populated, a
 * view read by another before it (by the length of its chain of
 * materialized views): the name quoted, as shown, the definition, that
 * length (0: it reads no other materialized view), its columns quoted, and
 * the same with float columns cast to float4 (the fingerprint's view of
 * them: a float sum or average depends on the order its rows are read).
 */
static const char cut_mviews_sql[] =
	"WITH RECURSIVE mv AS ("
	"  SELECT c.oid FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
	"  WHERE c.relkind = 'm' AND c.relispopulated AND n.nspname <> 'information_schema'"
	"    AND n.nspname !~ '^pg_'),"
	" dep AS (SELECT DISTINCT r.ev_class AS mv, d.refobjid AS uses FROM pg_catalog.pg_rewrite r"
	"  JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass AND d.objid = r.oid"
	"  WHERE r.ev_class IN (SELECT oid FROM mv) AND d.refobjid IN (SELECT oid FROM mv)"
	"    AND d.refobjid <> r.ev_class),"
	" lvl (oid, depth) AS (SELECT oid, 0 FROM mv"
	"  UNION ALL SELECT dep.mv, lvl.depth + 1 FROM dep JOIN lvl ON dep.uses = lvl.oid) "
	"SELECT pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname), "
	"       n.nspname || '.' || c.relname, pg_catalog.pg_get_viewdef(c.oid), l.depth, "
	"       (SELECT pg_catalog.string_agg(pg_catalog.quote_ident(a.attname), ', ' ORDER BY a.attnum)"
	"          FROM pg_catalog.pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), "
	"       (SELECT pg_catalog.string_agg(pg_catalog.quote_ident(a.attname)"
	"                 || CASE WHEN a.atttypid IN ('pg_catalog.float4'::pg_catalog.regtype,"
	"                                             'pg_catalog.float8'::pg_catalog.regtype)"
	"                         THEN '::pg_catalog.float4' ELSE '' END, ', ' ORDER BY a.attnum)"
	"          FROM pg_catalog.pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) "
	"FROM (SELECT oid, max(depth) AS depth FROM lvl GROUP BY oid) l "
	"JOIN pg_catalog.pg_class c ON c.oid = l.oid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
	"ORDER BY l.depth, 1";

/* The fingerprint of a relation's rows as one value: their count and the
 * sum of a hash of each row's text (order does not matter); %s: the
 * columns' expressions, the relation, its columns' names. */
#define CUT_ROWS_PRINT \
	"SELECT pg_catalog.count(*)::text || ' rows, hash ' " \
	"|| COALESCE(pg_catalog.sum(pg_catalog.hashtextextended(ROW(%s)::text, 0)::numeric), 0)::text " \
	"FROM %s AS t (%s)"

/* The source's populated materialized views (cut_mviews_sql), or NULL
 * with err set. */
static PGresult *
cut_mviews_list(cut_db *d, pgc_err *err)
{
	PGresult   *res = conn_query(d->src, cut_mviews_sql, 0, NULL, err);
	if (!res)
		err_prefix(err, "could not list the materialized views of database \"%s\": ", d->name);
	return res;
}

/*
 * Logical replication does not carry materialized views: each one the
 * source has populated is refreshed on the target once the last writes
 * arrived (as pg_restore does), those reading others after them.
 */
static int
cut_mviews_refresh(cut_db *d, pgc_err *err)
{
	PGresult   *res = cut_mviews_list(d, err);
	if (!res)
		return -1;
	int			rc = 0;
	for (int i = 0; i < PQntuples(res) && rc == 0; i++)
	{
		char	   *sql = xasprintf("REFRESH MATERIALIZED VIEW %s", PQgetvalue(res, i, 0));
		if ((rc = conn_exec(d->tgt, sql, err)) != 0)
			err_prefix(err, "could not refresh materialized view %s of database \"%s\" on the target: ",
					   PQgetvalue(res, i, 1), d->name);
		free(sql);
	}
	if (rc == 0 && PQntuples(res) > 0)
		log_info("database \"%s\": %d materialized views refreshed on the target", d->name, PQntuples(res));
	PQclear(res);
	return rc;
}

/*
 * The proof of the materialized views: the rows each one holds on the
 * target against what its own query gives on the fenced source (the
 * source's stored rows may be older than its tables: pg_restore would not
 * restore those either).  A view that reads other materialized views reads
 * the source's stored, maybe older, rows there: it is proven instead
 * against its query on the target, over the views proven before it (the
 * tables being proven equal by the verification).  Differences counted and
 * reported in d->out.
 */
static int
cut_mviews_verify(cut_db *d, pgc_err *err)
{
	PGresult   *res = cut_mviews_list(d, err);
	if (!res)
		return -1;
	int			rc = 0;
	for (int i = 0; i < PQntuples(res) && rc == 0; i++)
	{
		/* The definition without its closing semicolon, as a subquery. */
		char	   *def = xstrdup(PQgetvalue(res, i, 2));
		size_t		len = strlen(def);
		while (len > 0 && (def[len - 1] == ';' || def[len - 1] == ' ' || def[len - 1] == '\n'))
			def[--len] = '\0';
		char	   *from_src = xasprintf("(%s)", def);
		const char *cols = PQgetvalue(res, i, 4), *exprs = PQgetvalue(res, i, 5);
		char	   *src_sql = xasprintf(CUT_ROWS_PRINT, exprs, from_src, cols);
		char	   *tgt_sql = xasprintf(CUT_ROWS_PRINT, exprs, PQgetvalue(res, i, 0), cols);
		char	   *a = NULL, *b = NULL;
		bool		chained = strcmp(PQgetvalue(res, i, 3), "0") != 0;
		const char *where = chained ? "on the target, over the materialized views it reads" : "on the source";
		if (!chained)
			rc = cut_query_both(d, src_sql, tgt_sql, &a, &b, err);
		else if ((a = conn_query_value(d->tgt, src_sql, 0, NULL, err)) == NULL
				 || (b = conn_query_value(d->tgt, tgt_sql, 0, NULL, err)) == NULL)
			rc = -1;
		if (rc != 0)
			err_prefix(err, "could not verify materialized view %s of database \"%s\": ", PQgetvalue(res, i, 1),
					   d->name);
		else if (!a || !b || strcmp(a, b) != 0)
		{
			buf_printf(&d->out, "%s materialized view %s differs: %s on the target, %s from its query %s\n",
					   d->name, PQgetvalue(res, i, 1), b ? b : "none", a ? a : "none", where);
			d->differences++;
		}
		else
			buf_printf(&d->out, "%s materialized view %s: refreshed, %s, as its query gives %s\n", d->name,
					   PQgetvalue(res, i, 1), b, where);
		free(a);
		free(b);
		free(def);
		free(from_src);
		free(src_sql);
		free(tgt_sql);
	}
	PQclear(res);
	return rc;
}

/* ------------------------------------------------------------------------
 * The steps after the fence, for every database at once
 * ------------------------------------------------------------------------ */

typedef enum cut_step
{
	CUT_STEP_APPLIED,			/* the marker arrived */
	CUT_STEP_CARRY,				/* sequences, large objects, materialized views */
	CUT_STEP_COUNT,				/* --verify count */
	CUT_STEP_MVIEWS,			/* materialized views proven (--verify full) */
	CUT_STEP_UNSUBSCRIBE,		/* the target's follow objects removed */
	CUT_STEP_UNPUBLISH			/* the source's follow objects removed */
} cut_step;

typedef struct cut_pass
{
	cut_opts   *o;
	progress   *prog;
	cut_step	step;
} cut_pass;

/* One step of one database, in a worker thread: on its own sessions. */
static void
cut_step_run(void *task, int worker, void *worker_state, void *ctx)
{
	(void) worker;
	(void) worker_state;
	cut_pass   *p = ctx;
	cut_db	   *d = task;
	pgc_err    *err = &d->err;
	int			removed = 0;
	if (cleanup_interrupted())
	{
		err_set(err, "cutover interrupted");
		return;
	}
	switch (p->step)
	{
		case CUT_STEP_APPLIED:
			if (d->applied)
				break;
			progress_phase(p->prog, d->index, "marker");
			/* The schema read again while the marker travels; a drift
			 * may keep the marker from arriving, so it is not waited for. */
			if (!d->schema_rechecked)
			{
				bool		same = true;
				if (cut_schema_same(d, &same, err) != 0)
					break;
				d->schema_rechecked = true;
				if ((d->drifted = !same))
				{
					log_warning("database \"%s\": the schema of the source changed after it was compared "
								"with the target's", d->name);
					break;
				}
			}
			if (cut_wait_marker(p->o, d, err) == 0)
			{
				d->applied = true;
				progress_unit_done(p->prog, d->index, 0);
			}
			break;
		case CUT_STEP_CARRY:
			progress_phase(p->prog, d->index, "sequences");
			if (cut_sequences(d, err) == 0 && cut_large_objects(d, err) == 0 && cut_mviews_refresh(d, err) == 0)
				progress_unit_done(p->prog, d->index, 0);
			break;
		case CUT_STEP_COUNT:
			if (cut_count(d, err) == 0)
				(void) cut_mviews_verify(d, err);
			break;
		case CUT_STEP_MVIEWS:
			(void) cut_mviews_verify(d, err);
			break;
		case CUT_STEP_UNSUBSCRIBE:
		case CUT_STEP_UNPUBLISH:
			{
				bool		target = p->step == CUT_STEP_UNSUBSCRIBE;
				if (follow__remove_on(target ? d->tgt : d->src, target, &removed, err) != 0)
					err_prefix(err, "on the %s, database \"%s\": ", target ? "target" : "source", d->name);
				else
					log_info("database \"%s\": %s removed on the %s (%d objects)", d->name,
							 target ? "subscription, publication and helper schema"
							 : "replication slot, publication and helper schema",
							 target ? "target" : "source", removed);
				break;
			}
	}
}

/*
 * Runs step for every database of dbs[0..n) at once, on at most workers
 * threads, each database on its own sessions.  Returns 0, or -1 with err
 * set to the first database's failure (the others' reported).
 */
static int
cut_each(cut_opts *o, cut_db *dbs, int n, progress *prog, cut_step step, int workers, pgc_err *err)
{
	cut_pass	p = {.o = o, .prog = prog, .step = step};
	workq_ops	ops = {.run = cut_step_run};
	workq	   *q = workq_create(workers < 1 ? 1 : workers > n ? n : workers, &ops, &p);
	for (int i = 0; i < n; i++)
		workq_push(q, &dbs[i], 0);
	(void) workq_wait(q);
	workq_destroy(q);
	int			rc = 0;
	for (int i = 0; i < n; i++)
		if (dbs[i].err.set)
		{
			if (rc == 0)
				err_move(err, &dbs[i].err);
			else
			{
				err_report(&dbs[i].err);
				err_clear(&dbs[i].err);
			}
			rc = -1;
		}
	return rc;
}

/* ------------------------------------------------------------------------
 * The command
 * ------------------------------------------------------------------------ */

/* Runs the compare command on the databases names[0..n), materialized
 * views' rows left to cut_mviews_verify, with schema_only the schema
 * objects alone; returns its status. */
static int
cut_compare(cut_opts *o, const char *const *names, int n, bool schema_only)
{
	char	  **av = xcalloc((size_t) n + 13, sizeof *av);
	char		jobs[16];
	snprintf(jobs, sizeof jobs, "%d", o->cli.jobs);
	int			ac = 0;
	av[ac++] = "compare";
	av[ac++] = "--source";
	av[ac++] = (char *) o->cli.source;
	av[ac++] = "--target";
	av[ac++] = (char *) o->cli.target;
	av[ac++] = "--progress";
	av[ac++] = "none";
	av[ac++] = "--jobs";
	av[ac++] = jobs;
	if (schema_only)
		av[ac++] = "--schema-only";
	for (int i = 0; i < n; i++)
		av[ac++] = (char *) names[i];
	av[ac] = NULL;
	int			rc = compare_command(ac, av, false);
	free(av);
	return rc;
}

static void
cut_way_back(cut_db *dbs, int n)
{
	buf_t		b = {0};
	for (int i = 0; i < n; i++)
		if (dbs[i].fenced || dbs[i].was_fenced)
			buf_printf(&b, "%sALTER DATABASE \"%s\" RESET default_transaction_read_only;", b.len ? " " : "",
					   dbs[i].name);
	if (!b.len)
		return;
	char	   *hint = xasprintf("The source is unchanged and still fenced.  To go back to it, run on the source: %s "
								 "and keep the application there.", b.data);
	log_report(LOG_NOTICE, "the target is not declared ready", NULL, hint);
	free(hint);
	buf_free(&b);
}

/*
 * Behind the fence, once cut_each(CUT_STEP_APPLIED) ran: the databases
 * whose source schema changed since it was compared are compared again.
 * Equal (the change was made on both servers), their last writes are
 * waited for; different, the fence this run set is lifted (the follow
 * stays: the target can take the change and cutover run again).  Returns
 * 0, or -1 with err set (exit 3 for a difference).
 */
static int
cut_drift(cut_opts *o, cut_db *dbs, int n, progress *prog, pgc_err *err)
{
	const char **names = xcalloc((size_t) n + 1, sizeof *names);
	int			nd = 0;
	for (int i = 0; i < n; i++)
		if (dbs[i].drifted)
			names[nd++] = dbs[i].name;
	int			rc = nd ? cut_compare(o, names, nd, true) : EXIT_OK;
	fflush(stdout);
	free(names);
	if (rc == EXIT_OK)
	{
		for (int i = 0; i < n; i++)
			dbs[i].drifted = false;
		return nd ? cut_each(o, dbs, n, prog, CUT_STEP_APPLIED, n, err) : 0;
	}
	if (rc != EXIT_DIFFERENT)
	{
		err_set(err, "could not compare the schema of the fenced databases on the source and the target");
		err_hint(err, "Run the same cutover command again: the follow objects are kept, and it starts over.");
		return -1;
	}
	/* Back to where the run started: the writes this run fenced allowed
	 * again (one fenced by an earlier run stays, its way back printed). */
	for (int i = 0; i < n; i++)
	{
		if (!dbs[i].fenced || dbs[i].was_fenced)
			continue;
		pgc_err		e = PGC_ERR_INIT;
		char	   *id = conn_quote_ident(dbs[i].src, dbs[i].name);
		char	   *sql = xasprintf("ALTER DATABASE %s RESET default_transaction_read_only", id);
		if (conn_exec(dbs[i].src, sql, &e) == 0)
		{
			dbs[i].fenced = false;
			log_notice("writes to database \"%s\" on the source are no longer fenced", dbs[i].name);
		}
		else
		{
			err_prefix(&e, "could not lift the fence of database \"%s\": ", dbs[i].name);
			err_report(&e);
		}
		err_clear(&e);
		free(sql);
		free(id);
	}
	bool		still = false;
	buf_t		list = {0};
	for (int i = 0; i < n; i++)
	{
		still = still || dbs[i].fenced || dbs[i].was_fenced;
		if (dbs[i].drifted)
			buf_printf(&list, "%s\"%s\"", list.len ? ", " : "", dbs[i].name);
	}
	cut_schema_differs(err, list.data, still ? "The source stays fenced (below)" : "Writes on the source are no "
					   "longer fenced");
	buf_free(&list);
	return -1;
}

/*
 * After the fence, until the target is declared ready: the last writes
 * applied, what logical replication does not carry brought over, the proof,
 * the target's follow objects removed.  at[0..5) gets the seconds each
 * took.  Returns EXIT_OK, EXIT_DIFFERENT (the target's follow objects
 * kept), or EXIT_FAIL with err set.
 */
static int
cut_fenced_steps(cut_opts *o, cut_db *dbs, int n, progress *prog, struct timespec *fenced_at, double *at,
				 pgc_err *err)
{
	int			all = n;			/* light steps: every database at once */
	double		t = monotime_since(fenced_at);
	for (int i = 0; i < n; i++)
		if (cut_marker_write(&dbs[i], "cutover", err) != 0)
			return EXIT_FAIL;
	if (cut_each(o, dbs, n, prog, CUT_STEP_APPLIED, all, err) != 0 || cut_drift(o, dbs, n, prog, err) != 0)
		return EXIT_FAIL;
	at[1] = monotime_since(fenced_at) - t;
	t = monotime_since(fenced_at);
	if (cut_each(o, dbs, n, prog, CUT_STEP_CARRY, o->cli.jobs, err) != 0)
		return EXIT_FAIL;
	at[2] = monotime_since(fenced_at) - t;
	t = monotime_since(fenced_at);
	for (int i = 0; i < n; i++)
		progress_phase(prog, i, "verifying");

	/*
	 * The proof, against the fenced source.  The follow objects are still
	 * in place, so a cutover killed until here runs again from the start.
	 */
	int			rc = EXIT_OK;
	if (!o->count_only)
	{
		const char **names = xcalloc((size_t) n + 1, sizeof *names);
		for (int i = 0; i < n; i++)
			names[i] = dbs[i].name;
		rc = cut_compare(o, names, n, false);
		free(names);
	}
	if ((rc == EXIT_OK || rc == EXIT_DIFFERENT)
		&& cut_each(o, dbs, n, prog, o->count_only ? CUT_STEP_COUNT : CUT_STEP_MVIEWS, o->cli.jobs, err) != 0)
		return EXIT_FAIL;
	for (int i = 0; i < n; i++)
	{
		fputs(dbs[i].out.data ? dbs[i].out.data : "", stdout);
		if (dbs[i].differences)
			rc = EXIT_DIFFERENT;
	}
	fflush(stdout);
	if (rc != EXIT_OK && rc != EXIT_DIFFERENT)
	{
		err_set(err, "the verification of the cut over databases did not run to its end");
		err_hint(err, "Run the same cutover command again: the follow objects are kept, and it starts over.");
		return EXIT_FAIL;
	}
	for (int i = 0; i < n; i++)
		progress_unit_done(prog, i, 0);
	at[3] = monotime_since(fenced_at) - t;

	/* The target is ready once nothing applies there any more.  A target
	 * that differs is not declared ready, but is not followed either. */
	t = monotime_since(fenced_at);
	if (cut_each(o, dbs, n, prog, CUT_STEP_UNSUBSCRIBE, all, err) != 0)
	{
		err_hint(err, "The target was verified.  Run pgcarry follow stop with the same --source and --target to "
				 "remove the rest.");
		return EXIT_FAIL;
	}
	at[4] = monotime_since(fenced_at) - t;
	return rc;
}

int
cmd_cutover(int argc, char **argv)
{
	cut_opts	o;
	int			rc = cut_parse(argc, argv, &o);
	if (rc != 0)
		return rc < 0 ? EXIT_OK : rc;
	pgc_err		err = PGC_ERR_INIT;
	char	  **names = NULL;
	int			n = 0;
	cut_db	   *dbs = NULL;
	struct timespec fenced_at;
	bool		fenced = false;
	bool		ready = false;	/* declared ready (the way back not printed) */
	progress   *prog = NULL;	/* the phases of each database, once checked */
	char	   *maint_name = copy_maintenance_db(o.cli.source, o.cli.dbs, o.cli.ndbs);
	PGconn	   *maint = follow__conn_open(o.cli.source, maint_name, "source", &err);
	free(maint_name);
	rc = EXIT_FAIL;
	if (!maint)
		goto out;
	if (follow_resolve_dbs(o.cli.source, o.cli.dbs, o.cli.ndbs, &names, &n, &err) != 0)
		goto out;
	if (n == 0)
	{
		err_set(&err, "no database of the source is followed by pgcarry");
		err_hint(&err, "Start with pgcarry copy --follow.");
		goto out;
	}
	dbs = xcalloc((size_t) n + 1, sizeof *dbs);
	for (int i = 0; i < n; i++)
	{
		dbs[i].name = names[i];
		dbs[i].index = i;
	}

	/* Nothing is fenced until every database passed its checks. */
	for (int i = 0; i < n; i++)
		if (cut_check(&o, &dbs[i], &err) != 0)
			goto out;

	/* Progress by phases: fence, marker, sequences (and large objects),
	 * verifying; each done one is a quarter of a database. */
	prog = progress_create(o.cli.progress, "cutover", n);
	for (int i = 0; i < n; i++)
	{
		progress_db_name(prog, i, dbs[i].name);
		progress_add_total(prog, i, CUT_PHASES, 0);
	}
	progress_start(prog);
	int		   *own = xcalloc((size_t) n + 1, sizeof *own);
	for (int i = 0; i < n; i++)
		own[i] = PQbackendPID(dbs[i].src);
	clock_gettime(CLOCK_MONOTONIC, &fenced_at);
	fenced = true;
	for (int i = 0; i < n; i++)
		progress_phase(prog, i, "fence");
	int			frc = cut_fence_all(dbs, n, maint, own, &err);
	for (int i = 0; i < n && frc == 0; i++)
		progress_unit_done(prog, i, 0);
	free(own);
	if (frc != 0)
		goto out;
	/* Where the fenced time goes: fence, last writes, sequences, large
	 * objects and materialized views, verification, the target's removal. */
	double		at[5] = {monotime_since(&fenced_at), 0, 0, 0, 0};
	rc = cut_fenced_steps(&o, dbs, n, prog, &fenced_at, at, &err);
	for (int i = 0; i < n && (rc == EXIT_OK || rc == EXIT_DIFFERENT); i++)
		progress_phase(prog, i, rc == EXIT_OK ? "done" : "failed");
	if (rc != EXIT_OK && rc != EXIT_DIFFERENT)
		goto out;
	double		fenced_for = monotime_since(&fenced_at);
	log_info("writes fenced: %.2f s to fence, %.2f s until the last writes were applied, %.2f s for sequences, "
			 "large objects and materialized views, %.2f s to verify, %.2f s to unsubscribe the target", at[0],
			 at[1], at[2], at[3], at[4]);
	if (rc == EXIT_OK)
	{
		log_notice("cutover complete: the target is ready; writes on the source were fenced for %.1f s",
				   fenced_for);
		fenced = false;
		ready = true;
	}

	/*
	 * The source's slot, publication and helper schema: after "ready" (no
	 * write waits on them), and still on every path: a failure names what
	 * remains, a kill leaves them for follow stop (the next cutover says so).
	 */
	double		t = monotime_since(&fenced_at);
	if (cut_each(&o, dbs, n, prog, CUT_STEP_UNPUBLISH, n, &err) != 0)
	{
		if (rc == EXIT_OK)
			err_prefix(&err, "the target is ready, but the source's follow objects were not all removed: ");
		err_hint(&err, "Run pgcarry follow stop with the same --source and --target to remove the rest.");
		rc = EXIT_FAIL;
		goto out;
	}
	log_info("the source's follow objects removed in %.2f s, after the verification",
			 monotime_since(&fenced_at) - t);
	if (rc == EXIT_DIFFERENT)
	{
		log_msg(LOG_ERROR, "the target differs from the fenced source");
		goto out;
	}
	log_report(LOG_NOTICE, "the source stays fenced (read only)", NULL,
			   "Point the application at the target.  The source's databases keep "
			   "default_transaction_read_only = on until you reset it.");

out:
	if (prog)
	{
		for (int i = 0; i < n && rc != EXIT_OK && rc != EXIT_DIFFERENT; i++)
			progress_phase(prog, i, "failed");
		progress_stop(prog);
		progress_free(prog);
	}
	if (err.set)
	{
		err_report(&err);
		rc = err.exit_status ? err.exit_status : EXIT_FAIL;
	}
	err_clear(&err);
	if (fenced)
		log_notice("writes on the source were fenced for %.1f s", monotime_since(&fenced_at));
	if (rc != EXIT_OK && !ready)
		cut_way_back(dbs, n);
	for (int i = 0; dbs && i < n; i++)
	{
		conn_close(dbs[i].src);
		conn_close(dbs[i].tgt);
		free(dbs[i].slot);
		catalog_objects_free(dbs[i].objs, dbs[i].nobjs);
		objects_free(dbs[i].inv);
		buf_free(&dbs[i].out);
		err_clear(&dbs[i].err);
	}
	free(dbs);
	follow_names_free(names, n);
	conn_close(maint);
	return rc;
}
