/*
 * follow_cmd.c: "pgcarry follow status" (per database: state, lag, WAL the
 * slot holds, apply errors; text or JSON) and "pgcarry follow stop"
 * (abandon a follow: subscription, slot, publication and helper schema
 * removed, the target kept as it is).
 */
#include "core/catalog.h"
#include "cli.h"
#include "commands.h"
#include "conn.h"
#include "core/common.h"
#include "follow/follow.h"
#include "util/log.h"
#include "util/xalloc.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum
{
	FOLLOW_OPT_JSON = CLI_OPT_FIRST_OWN,
	FOLLOW_OPT_MAX_SLOT_WAL
};

/* A slot holding more WAL than this is reported loudly (default 1 GB). */
#define FOLLOW_DEFAULT_MAX_SLOT_WAL (INT64_C(1) << 30)

typedef struct follow_opts
{
	cli_shared cli;
	bool		json;
	int64_t		max_slot_wal;
	bool		named;			/* databases named (else every followed one) */
} follow_opts;

static void
follow_help(void)
{
	printf("pgcarry follow reports on, or abandons, databases that copy --follow keeps\n"
		   "in sync through logical replication.\n"
		   "\n"
		   "Usage:\n"
		   "  pgcarry follow status --source URI --target URI [--json] [DBNAME...]\n"
		   "  pgcarry follow stop   --source URI --target URI [DBNAME...]\n"
		   "\n"
		   "status: per database its state, the lag in bytes and seconds, the WAL the\n"
		   "slot holds on the source, and apply errors.  stop: removes the subscription,\n"
		   "the slot, the publication and pgcarry's helper schema; the target keeps\n"
		   "what it holds.  Without names, every database pgcarry follows.\n"
		   "\n"
		   "Options:\n"
		   "      --source URI         the source server (default: $PGCARRY_SOURCE)\n"
		   "      --target URI         the target server (default: $PGCARRY_TARGET)\n"
		   "      --json               status as one JSON document\n"
		   "      --max-slot-wal MB    status: a slot holding more WAL is an error (default 1024)\n"
		   "\n"
		   "Exit status: 0 every database follows (status) or was removed (stop),\n"
		   "1 failure or a database not following, 2 usage error.\n"
		   "\n%s", cli_common_help);
}

static int
follow_parse(const char *cmd, int argc, char **argv, follow_opts *o)
{
	static const struct option longopts[] = {
		CLI_SHARED_LONGOPTS,
		{"json", no_argument, NULL, FOLLOW_OPT_JSON},
		{"max-slot-wal", required_argument, NULL, FOLLOW_OPT_MAX_SLOT_WAL},
		CLI_COMMON_LONGOPTS,
		{NULL, 0, NULL, 0}
	};
	memset(o, 0, sizeof *o);
	cli_shared_init(&o->cli);
	o->max_slot_wal = FOLLOW_DEFAULT_MAX_SLOT_WAL;
	int			opt, rc;
	long		mb;
	optind = 1;
	while ((opt = getopt_long(argc, argv, CLI_SHARED_SHORTOPTS, longopts, NULL)) != -1)
	{
		switch (opt)
		{
			case FOLLOW_OPT_JSON:
				o->json = true;
				break;
			case FOLLOW_OPT_MAX_SLOT_WAL:
				if ((rc = cli_parse_int(cmd, "--max-slot-wal", optarg, 1, 1L << 30, &mb)) != 0)
					return rc;
				o->max_slot_wal = (int64_t) mb * 1024 * 1024;
				break;
			default:
				if ((rc = cli_shared_option(cmd, &o->cli, opt, argv, follow_help)) != 0)
					return rc;
				break;
		}
	}
	o->named = optind < argc;
	if (!o->named)
		o->cli.all = true;
	return cli_shared_finish(cmd, &o->cli, argc, argv);
}

/* ------------------------------------------------------------------------
 * status
 * ------------------------------------------------------------------------ */

static const char follow_status_src_sql[] =
	"SELECT s.slot_name, s.active, "
	"  pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_lsn(), s.confirmed_flush_lsn)::bigint, "
	"  pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_lsn(), s.restart_lsn)::bigint, "
	"  (SELECT pg_catalog.round(extract(epoch FROM r.replay_lag)::numeric, 3) "
	"     FROM pg_catalog.pg_stat_replication r WHERE r.pid = s.active_pid) "
	"FROM pg_catalog.pg_replication_slots s "
	"WHERE s.database = pg_catalog.current_database() AND s.slot_name LIKE 'pgcarry\\_%' "
	"ORDER BY 1 LIMIT 1";

static const char follow_status_tgt_sql[] =
	"SELECT s.subenabled, "
	"  EXISTS (SELECT 1 FROM pg_catalog.pg_stat_subscription w WHERE w.subid = s.oid AND w.pid IS NOT NULL), "
	"  %s "
	"FROM pg_catalog.pg_subscription s WHERE s.subname = $1";
static const char follow_errors_15[] =
	"(SELECT x.apply_error_count + x.sync_error_count FROM pg_catalog.pg_stat_subscription_stats x "
	"  WHERE x.subid = s.oid)";

typedef struct follow_status
{
	char	   *db;
	char	   *slot;			/* NULL: not followed */
	const char *state;
	int64_t		lag_bytes;
	char	   *lag_seconds;	/* NULL: unknown */
	int64_t		slot_wal;
	int64_t		apply_errors;	/* -1: unknown (before 15) */
	bool		ok;
} follow_status;

/* Fills st for database db; returns 0 or -1 with err set. */
static int
follow_status_db(follow_opts *o, const char *db, follow_status *st, pgc_err *err)
{
	st->db = xstrdup(db);
	st->apply_errors = -1;
	st->state = "not followed";
	PGconn	   *src = conn_open(o->cli.source, db, "source", err);
	if (!src)
		return -1;
	PGresult   *res = conn_query(src, follow_status_src_sql, 0, NULL, err);
	conn_close(src);
	if (!res)
		return -1;
	if (PQntuples(res) == 0)
	{
		PQclear(res);
		return 0;
	}
	st->slot = xstrdup(PQgetvalue(res, 0, 0));
	bool		active = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
	st->lag_bytes = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
	st->slot_wal = strtoll(PQgetvalue(res, 0, 3), NULL, 10);
	if (!PQgetisnull(res, 0, 4))
		st->lag_seconds = xstrdup(PQgetvalue(res, 0, 4));
	else if (active)
		st->lag_seconds = xstrdup("0");
	PQclear(res);

	st->state = "no subscription";
	bool		exists = false;
	if (follow__db_exists(o->cli.target, "target", db, &exists, err) != 0)
		return -1;
	if (!exists)
		return 0;
	PGconn	   *tgt = conn_open(o->cli.target, db, "target", err);
	if (!tgt)
		return -1;
	char	   *sql = xasprintf(follow_status_tgt_sql, PQserverVersion(tgt) >= 150000 ? follow_errors_15 : "NULL");
	const char *p[1] = {st->slot};
	res = conn_query(tgt, sql, 1, p, err);
	free(sql);
	conn_close(tgt);
	if (!res)
		return -1;
	if (PQntuples(res) == 1)
	{
		bool		enabled = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
		bool		worker = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
		if (!PQgetisnull(res, 0, 2))
			st->apply_errors = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
		st->state = !enabled ? "disabled" : !worker || !active ? "not applying" : "following";
		st->ok = enabled && worker && active;
	}
	PQclear(res);
	return 0;
}

static void
follow_status_print(follow_opts *o, follow_status *sts, int n)
{
	if (o->json)
	{
		json_t	   *a = json_array();
		for (int i = 0; i < n; i++)
		{
			follow_status *s = &sts[i];
			json_t	   *j = json_object();
			json_object_set_new(j, "database", json_string(s->db));
			json_object_set_new(j, "state", json_string(s->state));
			json_object_set_new(j, "slot", s->slot ? json_string(s->slot) : json_null());
			json_object_set_new(j, "lag_bytes", s->slot ? json_integer(s->lag_bytes) : json_null());
			json_object_set_new(j, "lag_seconds", s->lag_seconds ? json_real(atof(s->lag_seconds)) : json_null());
			json_object_set_new(j, "slot_wal_bytes", s->slot ? json_integer(s->slot_wal) : json_null());
			json_object_set_new(j, "slot_wal_over_ceiling", json_boolean(s->slot && s->slot_wal > o->max_slot_wal));
			json_object_set_new(j, "apply_errors", s->apply_errors >= 0 ? json_integer(s->apply_errors) : json_null());
			json_array_append_new(a, j);
		}
		json_t	   *doc = json_pack("{s:o}", "databases", a);
		char	   *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		printf("%s\n", text);
		free(text);
		json_decref(doc);
		return;
	}
	printf("%-20s %-16s %14s %10s %14s %12s\n", "database", "state", "lag (bytes)", "lag (s)", "slot WAL",
		   "apply errors");
	for (int i = 0; i < n; i++)
	{
		follow_status *s = &sts[i];
		char		lag[32] = "-", wal[32] = "-", errs[32] = "-";
		if (s->slot)
		{
			snprintf(lag, sizeof lag, "%" PRId64, s->lag_bytes);
			snprintf(wal, sizeof wal, "%" PRId64, s->slot_wal);
		}
		if (s->apply_errors >= 0)
			snprintf(errs, sizeof errs, "%" PRId64, s->apply_errors);
		printf("%-20s %-16s %14s %10s %14s %12s\n", s->db, s->state, lag, s->lag_seconds ? s->lag_seconds : "-",
			   wal, errs);
	}
}

static int
follow_status_run(int argc, char **argv)
{
	follow_opts o;
	int			rc = follow_parse("follow status", argc, argv, &o);
	if (rc != 0)
		return rc < 0 ? EXIT_OK : rc;
	pgc_err		err = PGC_ERR_INIT;
	char	  **names = NULL;
	int			n = 0;
	follow_status *sts = NULL;
	rc = EXIT_FAIL;
	if (follow_resolve_dbs(o.cli.source, o.cli.dbs, o.cli.ndbs, &names, &n, &err) != 0)
		goto out;
	sts = xcalloc((size_t) n + 1, sizeof *sts);
	for (int i = 0; i < n; i++)
		if (follow_status_db(&o, names[i], &sts[i], &err) != 0)
			goto out;
	follow_status_print(&o, sts, n);
	rc = EXIT_OK;
	if (n == 0)
		log_notice("no database of the source is followed by pgcarry");
	for (int i = 0; i < n; i++)
	{
		if (!sts[i].ok)
		{
			log_msg(LOG_ERROR, "database \"%s\" is not following the source: %s", sts[i].db, sts[i].state);
			rc = EXIT_FAIL;
		}
		if (sts[i].slot && sts[i].slot_wal > o.max_slot_wal)
		{
			char	   *msg = xasprintf("replication slot %s of database \"%s\" holds %" PRId64 " MB of WAL "
										"on the source, more than the ceiling of %" PRId64 " MB",
										sts[i].slot, sts[i].db, sts[i].slot_wal >> 20, o.max_slot_wal >> 20);
			log_report(LOG_ERROR, msg, "A slot keeps every WAL segment its subscriber has not confirmed: "
					   "a forgotten one fills the source's disk.",
					   "Finish with pgcarry cutover, or remove it with pgcarry follow stop.");
			free(msg);
			rc = EXIT_FAIL;
		}
	}
out:
	if (err.set)
	{
		err_report(&err);
		rc = EXIT_FAIL;
	}
	err_clear(&err);
	for (int i = 0; sts && i < n; i++)
	{
		free(sts[i].db);
		free(sts[i].slot);
		free(sts[i].lag_seconds);
	}
	free(sts);
	follow_names_free(names, n);
	return rc;
}

/* ------------------------------------------------------------------------
 * stop
 * ------------------------------------------------------------------------ */

static int
follow_stop_run(int argc, char **argv)
{
	follow_opts o;
	int			rc = follow_parse("follow stop", argc, argv, &o);
	if (rc != 0)
		return rc < 0 ? EXIT_OK : rc;
	pgc_err		err = PGC_ERR_INIT;
	catalog_db *dbs = NULL;
	int			ndbs = 0;
	char	   *maint = copy_maintenance_db(o.cli.source, NULL, 0);
	PGconn	   *src = conn_open(o.cli.source, maint, "source", &err);
	free(maint);
	rc = EXIT_FAIL;
	if (!src || catalog_dbs(src, "source", o.cli.dbs, o.cli.ndbs, o.cli.all, &dbs, &ndbs, &err) != 0)
		goto out;
	rc = EXIT_OK;
	for (int i = 0; i < ndbs; i++)
	{
		int			removed = 0;
		pgc_err		e = PGC_ERR_INIT;
		if (follow_remove(o.cli.source, o.cli.target, dbs[i].name, &removed, &e) != 0)
		{
			err_report(&e);
			rc = EXIT_FAIL;
		}
		else if (removed > 0)
			log_notice("database \"%s\": no longer followed (%d objects removed)", dbs[i].name, removed);
		else if (o.named)
			log_notice("database \"%s\": nothing of a pgcarry follow was found", dbs[i].name);
		err_clear(&e);
	}
out:
	if (err.set)
	{
		err_report(&err);
		rc = EXIT_FAIL;
	}
	err_clear(&err);
	catalog_dbs_free(dbs, ndbs);
	conn_close(src);
	return rc;
}

int
cmd_follow(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
	{
		if (argc < 2)
			return cli_usage_error("follow", "name the action: status or stop");
		follow_help();
		return EXIT_OK;
	}
	if (strcmp(argv[1], "status") == 0)
		return follow_status_run(argc - 1, argv + 1);
	if (strcmp(argv[1], "stop") == 0)
		return follow_stop_run(argc - 1, argv + 1);
	return cli_usage_error("follow", "unknown action \"%s\": give status or stop", argv[1]);
}
