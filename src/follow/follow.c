/*
 * follow.c: the publication, slot and subscription that keep a target
 * database in sync with its live source, created, checked and removed (see
 * follow.h for how it works).
 */
#include "follow/follow.h"

#include "core/catalog.h"
#include "cleanup.h"
#include "conn.h"
#include "core/common.h"
#include "core/progress.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/monotime.h"
#include "util/xalloc.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

/* How long a new subscription may take to start streaming, and a slot to
 * be released by its WAL sender, in seconds. */
#define FOLLOW_START_TIMEOUT_S 60
#define FOLLOW_DROP_TIMEOUT_S 20
/* copy --follow returns once every slot is this close to the source's WAL. */
#define FOLLOW_CAUGHT_UP_BYTES (1024 * 1024)

struct follow_db
{
	char	   *dbname;
	char	   *name;			/* publication, slot and subscription */
	char	   *lsn;			/* the slot's consistent point */
	char	   *snapshot;		/* exported by the slot; NULL once done */
	PGconn	   *repl;			/* replication connection holding it */
};

/* ------------------------------------------------------------------------
 * Catalog queries
 * ------------------------------------------------------------------------ */

/* Tables logical replication cannot UPDATE or DELETE on the target. */
static const char follow_no_identity_sql[] =
	"SELECT pg_catalog.format('%I.%I', n.nspname, c.relname) "
	"FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
	"WHERE c.relkind = 'r' AND c.relpersistence = 'p' "
	"  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_' "
	"  AND (c.relreplident = 'n' "
	"    OR (c.relreplident = 'd' AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_index i "
	"          WHERE i.indrelid = c.oid AND i.indisprimary)) "
	"    OR (c.relreplident = 'i' AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_index i "
	"          WHERE i.indrelid = c.oid AND i.indisreplident))) "
	"ORDER BY 1";

static const char follow_unlogged_sql[] =
	"SELECT pg_catalog.format('%I.%I', n.nspname, c.relname) "
	"FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
	"WHERE c.relkind IN ('r', 'p') AND c.relpersistence = 'u' "
	"  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_' "
	"ORDER BY 1";

static const char follow_existing_sql[] =
	"SELECT slot_name FROM pg_catalog.pg_replication_slots "
	"WHERE database = pg_catalog.current_database() AND slot_name LIKE 'pgcarry\\_%' "
	"UNION SELECT pubname FROM pg_catalog.pg_publication WHERE pubname LIKE 'pgcarry\\_%' "
	"ORDER BY 1";

static const char follow_slots_free_sql[] =
	"SELECT pg_catalog.current_setting('max_replication_slots')::int, "
	"  (SELECT count(*) FROM pg_catalog.pg_replication_slots)::int, "
	"  pg_catalog.current_setting('max_wal_senders')::int, "
	"  (SELECT count(*) FROM pg_catalog.pg_stat_activity WHERE backend_type = 'walsender')::int";

static const char follow_own_slots_sql[] =
	"SELECT count(*) FROM pg_catalog.pg_replication_slots "
	"WHERE database = pg_catalog.current_database() AND slot_name LIKE 'pgcarry\\_%'";

/* The target's apply workers: one per enabled subscription. */
static const char follow_workers_free_sql[] =
	"SELECT pg_catalog.current_setting('max_logical_replication_workers')::int, "
	"  (SELECT count(*) FROM pg_catalog.pg_subscription WHERE subenabled)::int, "
	"  pg_catalog.current_setting('max_worker_processes')::int";

static const char follow_rights_sql[] =
	"SELECT rolsuper, current_user FROM pg_catalog.pg_roles WHERE rolname = current_user";

static const char follow_lo_count_sql[] =
	"SELECT count(*) FROM pg_catalog.pg_largeobject_metadata";

static const char follow_dbs_sql[] =
	"SELECT DISTINCT database FROM pg_catalog.pg_replication_slots "
	"WHERE slot_name LIKE 'pgcarry\\_%' AND database IS NOT NULL ORDER BY 1";

/* ------------------------------------------------------------------------
 * Small helpers
 * ------------------------------------------------------------------------ */

PGconn *
follow__conn_open(const char *conninfo, const char *dbname, const char *side, pgc_err *err)
{
	PGconn	   *conn = conn_open(conninfo, dbname, side, err);
	if (!conn)
		return NULL;
	if (conn_exec(conn, "SET default_transaction_read_only = off", err) != 0)
	{
		conn_close(conn);
		return NULL;
	}
	return conn;
}

int
follow__db_exists(const char *conninfo, const char *side, const char *dbname, bool *exists, pgc_err *err)
{
	char	   *maint = copy_maintenance_db(conninfo, &dbname, 1);
	PGconn	   *m = conn_open(conninfo, maint, side, err);
	free(maint);
	if (!m)
		return -1;
	int			rc = catalog_db_exists(m, dbname, exists, err);
	conn_close(m);
	return rc;
}

/* Runs sql (one text column) and appends each row to b as a "  name" line;
 * returns the number of rows, or -1 with err set. */
static int
follow_list(PGconn *conn, const char *sql, buf_t *b, pgc_err *err)
{
	PGresult   *res = conn_query(conn, sql, 0, NULL, err);
	if (!res)
		return -1;
	int			n = PQntuples(res);
	for (int i = 0; i < n; i++)
		buf_printf(b, "%s%s", b->len ? "\n" : "", PQgetvalue(res, i, 0));
	PQclear(res);
	return n;
}

/* A name unique per database and run: "pgcarry_" and 16 hex digits. */
static char *
follow_new_name(const char *dbname)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	char		seed[512];
	int			len = snprintf(seed, sizeof seed, "%s|%lld|%ld|%d", dbname, (long long) ts.tv_sec, ts.tv_nsec,
							   (int) getpid());
	return xasprintf("pgcarry_%016" PRIx64, (uint64_t) XXH3_64bits(seed, (size_t) len));
}

/* Opens a replication connection (replication=database) to dbname. */
static PGconn *
follow_repl_open(const char *source, const char *dbname, pgc_err *err)
{
	const char *kw[7];
	const char *val[7];
	int			n = 0;
	kw[n] = "dbname";
	val[n++] = source ? source : "";
	kw[n] = "dbname";
	val[n++] = dbname;
	kw[n] = "replication";
	val[n++] = "database";
	kw[n] = "fallback_application_name";
	val[n++] = "pgcarry";
	const char *pw = conn_prompted_password("source");
	if (pw)
	{
		kw[n] = "password";
		val[n++] = pw;
	}
	kw[n] = NULL;
	val[n] = NULL;
	PGconn	   *conn = PQconnectdbParams(kw, val, 1);
	if (!conn || PQstatus(conn) != CONNECTION_OK)
	{
		char	   *desc = conn_describe(source);
		const char *m = conn ? PQerrorMessage(conn) : "out of memory";
		char	   *line = xstrndup(m, strcspn(m, "\n"));
		char	   *clean = conn_scrub(line, source);
		err_set(err, "could not open a replication connection to database \"%s\" on the source %s", dbname,
				desc);
		err_detail(err, "%s", clean);
		err_hint(err, "The source role needs the REPLICATION attribute, and pg_hba.conf must allow "
				 "it to connect to the database with replication=database.");
		free(clean);
		free(line);
		free(desc);
		PQfinish(conn);
		return NULL;
	}
	/* Ctrl-C cancels a slot creation waiting for transactions to end. */
	cleanup_track_conn(conn);
	return conn;
}

/* Drops slot name on conn, waiting for its WAL sender to let go. */
static int
follow_drop_slot(PGconn *conn, const char *name, pgc_err *err)
{
	const char *p[1] = {name};
	for (int waited = 0;; waited++)
	{
		pgc_err		e = PGC_ERR_INIT;
		if (conn_exec_params(conn,
							 "SELECT pg_catalog.pg_terminate_backend(active_pid) FROM pg_catalog.pg_replication_slots "
							 "WHERE slot_name = $1 AND active_pid IS NOT NULL", 1, p, &e) == 0
			&& conn_exec_params(conn, "SELECT pg_catalog.pg_drop_replication_slot($1)", 1, p, &e) == 0)
			return 0;
		/* 55006: still active (its WAL sender is ending). */
		if (strcmp(e.sqlstate, "55006") != 0 || waited >= FOLLOW_DROP_TIMEOUT_S * 10)
		{
			err_move(err, &e);
			return -1;
		}
		err_clear(&e);
		usleep(100 * 1000);
	}
}

/* Drops every object named by sql (one column) with fmt ("DROP ... %s"). */
static int
follow_drop_each(PGconn *conn, const char *sql, const char *const *fmts, int nfmts, int *removed,
				 pgc_err *err)
{
	PGresult   *res = conn_query(conn, sql, 0, NULL, err);
	if (!res)
		return -1;
	int			rc = 0;
	for (int i = 0; i < PQntuples(res) && rc == 0; i++)
	{
		char	   *id = conn_quote_ident(conn, PQgetvalue(res, i, 0));
		for (int j = 0; j < nfmts && rc == 0; j++)
		{
			char	   *stmt = xasprintf(fmts[j], id);
			rc = conn_exec(conn, stmt, err);
			free(stmt);
		}
		free(id);
		if (rc == 0 && removed)
			(*removed)++;
	}
	PQclear(res);
	return rc;
}

/* ------------------------------------------------------------------------
 * Preflight
 * ------------------------------------------------------------------------ */

/* Logs one preflight problem as an error and counts it. */
static void
follow_problem(int *problems, const char *message, const char *detail, const char *hint)
{
	log_report(LOG_ERROR, message, detail, hint);
	(*problems)++;
}

/* The checks of one source database. */
static int
follow_preflight_db(const char *source, const char *dbname, bool resume, int *problems, int *reused,
					pgc_err *err)
{
	PGconn	   *conn = conn_open(source, dbname, "source", err);
	if (!conn)
		return -1;
	buf_t		b = {0};
	int			rc = -1;
	char	   *msg = NULL;
	int			n = follow_list(conn, follow_no_identity_sql, &b, err);
	if (n < 0)
		goto done;
	if (n > 0)
	{
		msg = xasprintf("%d %s of database \"%s\" cannot replicate UPDATE and DELETE: no primary key and no "
						"replica identity", n, n == 1 ? "table" : "tables", dbname);
		follow_problem(problems, msg, b.data,
					   "Add a primary key to each, or run ALTER TABLE ... REPLICA IDENTITY FULL on it (every "
					   "UPDATE and DELETE then carries the whole old row), then run the same command again.");
		free(msg);
	}
	buf_free(&b);
	if ((n = follow_list(conn, follow_unlogged_sql, &b, err)) < 0)
		goto done;
	if (n > 0)
	{
		msg = xasprintf("database \"%s\" has %d unlogged %s, which logical replication does not carry", dbname,
						n, n == 1 ? "table" : "tables");
		follow_problem(problems, msg, b.data,
					   "Make them logged (ALTER TABLE ... SET LOGGED), or copy the database without --follow.");
		free(msg);
	}
	buf_free(&b);
	if ((n = follow_list(conn, follow_existing_sql, &b, err)) < 0)
		goto done;
	if (resume)
	{
		/* What an interrupted run left is taken over or removed (follow_db_resume). */
		char	   *slots = conn_query_value(conn, follow_own_slots_sql, 0, NULL, err);
		if (!slots)
			goto done;
		*reused += atoi(slots);
		free(slots);
	}
	else if (n > 0)
	{
		msg = xasprintf("database \"%s\" is already followed", dbname);
		char	   *detail = xasprintf("pgcarry objects on the source: %s", b.data);
		follow_problem(problems, msg, detail,
					   "Finish it with pgcarry cutover, or remove it with pgcarry follow stop.");
		free(detail);
		free(msg);
	}
	buf_free(&b);
	char	   *los = conn_query_value(conn, follow_lo_count_sql, 0, NULL, err);
	if (!los)
		goto done;
	if (strcmp(los, "0") != 0)
		log_notice("database \"%s\" has %s large objects: logical replication does not carry them, "
				   "so cutover copies them again while writes are fenced", dbname, los);
	free(los);
	rc = 0;
done:
	buf_free(&b);
	conn_close(conn);
	return rc;
}

int
follow_preflight(PGconn *src, PGconn *tgt, const char *source, const char *const *dbs, int ndbs, bool resume,
				 pgc_err *err)
{
	int			problems = 0;
	int			reused = 0;		/* slots of an interrupted run (resume) */
	for (int i = 0; i < ndbs && !cleanup_interrupted(); i++)
		if (follow_preflight_db(source, dbs[i], resume, &problems, &reused, err) != 0)
			return -1;
	char	   *wal = conn_query_value(src, "SELECT pg_catalog.current_setting('wal_level')", 0, NULL, err);
	if (!wal)
		return -1;
	if (strcmp(wal, "logical") != 0)
	{
		char	   *msg = xasprintf("wal_level on the source is \"%s\": following needs \"logical\"", wal);
		follow_problem(&problems, msg, NULL,
					   "Set wal_level = logical on the source and restart it.  On Amazon RDS and Aurora: "
					   "rds.logical_replication = 1 in the parameter group; on Google Cloud SQL: the flag "
					   "cloudsql.logical_decoding = on; on Azure Database for PostgreSQL: the server "
					   "parameter wal_level = logical.");
		free(msg);
	}
	free(wal);

	int			src_major = PQserverVersion(src) / 10000, tgt_major = PQserverVersion(tgt) / 10000;
	if (tgt_major < src_major)
	{
		char	   *msg = xasprintf("the target runs PostgreSQL %d, older than the source's %d: a follow moves to the "
									"same major version or a newer one", tgt_major, src_major);
		follow_problem(&problems, msg,
					   "The schema pg_dump writes for the source may not load into an older server, and an older "
					   "subscriber may not apply what the newer publisher sends.",
					   "Follow into a server of the source's major version or a newer one.");
		free(msg);
	}

	PGresult   *res = conn_query(src, follow_slots_free_sql, 0, NULL, err);
	if (!res)
		return -1;
	int			max_slots = atoi(PQgetvalue(res, 0, 0));
	int			used_slots = atoi(PQgetvalue(res, 0, 1)) - reused;
	int			max_senders = atoi(PQgetvalue(res, 0, 2));
	int			used_senders = atoi(PQgetvalue(res, 0, 3));
	PQclear(res);
	if (max_slots - used_slots < ndbs)
	{
		char	   *msg = xasprintf("the source has %d free replication %s, %d needed (one per database)",
									max_slots - used_slots, max_slots - used_slots == 1 ? "slot" : "slots", ndbs);
		char	   *detail = xasprintf("max_replication_slots = %d, %d in use", max_slots, used_slots);
		follow_problem(&problems, msg, detail,
					   "Raise max_replication_slots on the source (a restart is needed), or drop slots no "
					   "longer used (see pg_replication_slots).");
		free(detail);
		free(msg);
	}
	if (max_senders - used_senders < ndbs)
	{
		char	   *msg = xasprintf("the source has %d free WAL senders, %d needed (one per database)",
									max_senders - used_senders, ndbs);
		char	   *detail = xasprintf("max_wal_senders = %d, %d in use", max_senders, used_senders);
		follow_problem(&problems, msg, detail, "Raise max_wal_senders on the source (a restart is needed).");
		free(detail);
		free(msg);
	}

	if (!(res = conn_query(tgt, follow_workers_free_sql, 0, NULL, err)))
		return -1;
	int			max_workers = atoi(PQgetvalue(res, 0, 0));
	int			used_workers = atoi(PQgetvalue(res, 0, 1));
	int			max_processes = atoi(PQgetvalue(res, 0, 2));
	PQclear(res);
	if (max_workers - used_workers < ndbs)
	{
		char	   *msg = xasprintf("the target has %d free logical replication workers, %d needed (one per database)",
									max_workers - used_workers, ndbs);
		char	   *detail = xasprintf("max_logical_replication_workers = %d, %d subscriptions enabled; "
									   "max_worker_processes = %d", max_workers, used_workers, max_processes);
		follow_problem(&problems, msg, detail,
					   "Raise max_logical_replication_workers on the target, and max_worker_processes with it "
					   "(a restart is needed).");
		free(detail);
		free(msg);
	}

	PGconn	   *sides[2] = {src, tgt};
	const char *side_names[2] = {"source", "target"};
	const char *needs[2] = {"create a publication FOR ALL TABLES and a replication slot",
	"create a subscription"};
	for (int s = 0; s < 2; s++)
	{
		res = conn_query(sides[s], follow_rights_sql, 0, NULL, err);
		if (!res)
			return -1;
		if (PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") != 0)
		{
			char	   *msg = xasprintf("the %s role \"%s\" is not a superuser, so it cannot %s", side_names[s],
										PQgetvalue(res, 0, 1), needs[s]);
			follow_problem(&problems, msg, NULL,
						   "Connect as a superuser of that server (on a managed service, its administrator "
						   "role with logical replication enabled).");
			free(msg);
		}
		PQclear(res);
	}

	if (problems > 0)
	{
		err_set(err, "copy --follow cannot start: %d %s found, nothing was created", problems,
				problems == 1 ? "problem" : "problems");
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------------
 * Start: helper schema, publication, slot
 * ------------------------------------------------------------------------ */

static const char follow_helper_sql[] =
	"CREATE SCHEMA " FOLLOW_HELPER_SCHEMA "; "
	"CREATE TABLE " FOLLOW_HELPER_SCHEMA ".marker (name text PRIMARY KEY, "
	"  written timestamptz NOT NULL DEFAULT pg_catalog.now())";

follow_db *
follow_db_start(const char *source, const char *dbname, pgc_err *err)
{
	follow_db  *f = xcalloc(1, sizeof *f);
	f->dbname = xstrdup(dbname);
	f->name = follow_new_name(dbname);
	PGconn	   *conn = follow__conn_open(source, dbname, "source", err);
	if (!conn)
		goto fail;
	char	   *pub = conn_quote_ident(conn, f->name);
	char	   *sql = xasprintf("BEGIN; %s; CREATE PUBLICATION %s FOR ALL TABLES; COMMIT", follow_helper_sql, pub);
	int			rc = conn_exec(conn, sql, err);
	free(sql);
	free(pub);
	conn_close(conn);
	if (rc != 0)
	{
		err_prefix(err, "could not create the publication on the source: ");
		goto fail;
	}

	/* The slot, with the snapshot every reader of the copy will use. */
	f->repl = follow_repl_open(source, dbname, err);
	if (!f->repl)
		goto fail;
	char	   *slot = conn_quote_ident(f->repl, f->name);
	char	   *cmd = PQserverVersion(f->repl) >= 150000
		? xasprintf("CREATE_REPLICATION_SLOT %s LOGICAL pgoutput (SNAPSHOT 'export')", slot)
		: xasprintf("CREATE_REPLICATION_SLOT %s LOGICAL pgoutput EXPORT_SNAPSHOT", slot);
	free(slot);
	conn_log_sql(f->repl, cmd, 0);
	log_info("creating replication slot %s on database \"%s\" (waits for transactions in progress)", f->name,
			 dbname);
	PGresult   *res = PQexec(f->repl, cmd);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1 || PQnfields(res) < 3)
	{
		conn_err_from_result(err, f->repl, res, cmd);
		err_prefix(err, "could not create the replication slot on the source: ");
		PQclear(res);
		free(cmd);
		goto fail;
	}
	free(cmd);
	f->lsn = xstrdup(PQgetvalue(res, 0, 1));
	f->snapshot = xstrdup(PQgetvalue(res, 0, 2));
	PQclear(res);
	log_notice("database \"%s\": replication slot %s created at %s", dbname, f->name, f->lsn);
	return f;

fail:
	{
		pgc_err		ignore = PGC_ERR_INIT;
		follow_db_snapshot_done(f);
		if (follow_remove(source, NULL, dbname, NULL, &ignore) != 0)
			err_detail(err, "could not remove what was created: %s", ignore.message);
		err_clear(&ignore);
		follow_db_free(f);
		return NULL;
	}
}

/* The slot an interrupted run left, with its consistent point (a slot no
 * subscription applied from confirms nothing past it), if its publication
 * is there too. */
static const char follow_resume_sql[] =
	"SELECT s.slot_name, s.confirmed_flush_lsn FROM pg_catalog.pg_replication_slots s "
	"JOIN pg_catalog.pg_publication p ON p.pubname = s.slot_name "
	"WHERE s.database = pg_catalog.current_database() AND s.slot_name LIKE 'pgcarry\\_%' "
	"  AND s.confirmed_flush_lsn IS NOT NULL "
	"ORDER BY 1 LIMIT 1";

follow_db *
follow_db_resume(const char *source, const char *target, const char *dbname, bool copied, bool *restart,
				 pgc_err *err)
{
	*restart = false;
	if (copied)
	{
		PGconn	   *conn = conn_open(source, dbname, "source", err);
		if (!conn)
			return NULL;
		PGresult   *res = conn_query(conn, follow_resume_sql, 0, NULL, err);
		conn_close(conn);
		if (!res)
			return NULL;
		if (PQntuples(res) == 1)
		{
			follow_db  *f = xcalloc(1, sizeof *f);
			f->dbname = xstrdup(dbname);
			f->name = xstrdup(PQgetvalue(res, 0, 0));
			f->lsn = xstrdup(PQgetvalue(res, 0, 1));
			PQclear(res);
			log_notice("database \"%s\": the copy was verified by the interrupted run; its replication slot %s "
					   "holds every change made since, from %s", dbname, f->name, f->lsn);
			return f;
		}
		PQclear(res);
	}
	int			removed = 0;
	if (follow_remove(source, target, dbname, &removed, err) != 0)
		return NULL;
	*restart = true;
	char	   *msg = copied
		? xasprintf("database \"%s\": the slot of the interrupted run is gone, so it is copied again from a new "
					"replication slot", dbname)
		: xasprintf("database \"%s\": the interrupted initial copy cannot be resumed, so it is copied again from "
					"a new replication slot", dbname);
	log_report(LOG_NOTICE, msg, copied ? NULL
			   : "The snapshot it read was exported by the slot's replication connection and ended with the "
			   "interrupted run; a copy read under any other snapshot would not match the slot.", NULL);
	free(msg);
	if (removed > 0)
		log_info("database \"%s\": %d follow objects of the interrupted run removed", dbname, removed);
	return NULL;
}

const char *
follow_db_snapshot(const follow_db *f)
{
	return f->snapshot;
}

void
follow_db_snapshot_done(follow_db *f)
{
	if (!f)
		return;
	if (f->repl)
		cleanup_untrack_conn(f->repl);
	PQfinish(f->repl);
	f->repl = NULL;
	free(f->snapshot);
	f->snapshot = NULL;
}

void
follow_db_free(follow_db *f)
{
	if (!f)
		return;
	follow_db_snapshot_done(f);
	free(f->dbname);
	free(f->name);
	free(f->lsn);
	free(f);
}

/* ------------------------------------------------------------------------
 * Subscribe
 * ------------------------------------------------------------------------ */

/* Appends key='value' to b, quoted for a connection string. */
static void
follow_conninfo_add(buf_t *b, const char *key, const char *val)
{
	buf_printf(b, "%s%s='", b->len ? " " : "", key);
	for (const char *c = val; *c; c++)
	{
		if (*c == '\'' || *c == '\\')
			buf_printf(b, "\\");
		buf_printf(b, "%c", *c);
	}
	buf_printf(b, "'");
}

/*
 * The connection string the target server uses to reach the source: every
 * option the source connection src was opened with (host, port, user, TLS
 * settings, the password libpq found), as key='value' pairs.  Owned by the
 * caller; holds the password: never log it.
 */
static char *
follow_sub_conninfo(PGconn *src)
{
	PQconninfoOption *opts = PQconninfo(src);
	buf_t		b = {0};
	for (PQconninfoOption *o = opts; o && o->keyword; o++)
	{
		if (!o->val || !*o->val || (o->dispchar && o->dispchar[0] == 'D'))
			continue;
		if (strcmp(o->keyword, "password") == 0 || strcmp(o->keyword, "replication") == 0 || strcmp(o->keyword, "client_encoding") == 0
			|| strcmp(o->keyword, "fallback_application_name") == 0
			|| strcmp(o->keyword, "application_name") == 0 || strcmp(o->keyword, "passfile") == 0)
			continue;
		follow_conninfo_add(&b, o->keyword, o->val);
	}
	PQconninfoFree(opts);
	/* The password libpq used, wherever it found it (.pgpass included). */
	const char *pw = PQpass(src);
	if (pw && *pw)
		follow_conninfo_add(&b, "password", pw);
	return b.data ? b.data : xstrdup("");
}

/* Creates the subscription of f on the target, starts it at the slot's
 * consistent point and waits until it streams. */
static int
follow_subscribe(follow_db *f, const char *source, const char *target, pgc_err *err)
{
	int			rc = -1;
	PGconn	   *src = conn_open(source, f->dbname, "source", err);
	PGconn	   *tgt = src ? conn_open(target, f->dbname, "target", err) : NULL;
	char	   *ci = NULL, *sql = NULL, *id = NULL, *lit = NULL, *ci_lit = NULL, *subid = NULL;
	if (!tgt)
		goto done;
	id = conn_quote_ident(tgt, f->name);
	lit = conn_quote_literal(tgt, f->name);
	const char *p1[1] = {f->name};
	subid = conn_query_value(tgt, "SELECT oid FROM pg_catalog.pg_subscription WHERE subname = $1", 1, p1, err);
	if (err->set)
		goto done;
	if (subid)
	{
		/*
		 * Made by an interrupted run (copy --follow --resume): its origin is
		 * at the slot's consistent point, or never advanced, and then the
		 * slot starts at its own confirmed point, which is the same.
		 */
		log_notice("database \"%s\": the subscription %s made by the interrupted run is kept", f->dbname, f->name);
		goto enable;
	}
	/* pg_dump carried the publication over with the schema: not wanted there. */
	sql = xasprintf("DROP PUBLICATION IF EXISTS %s", id);
	if (conn_exec(tgt, sql, err) != 0)
		goto done;
	free(sql);

	/* Neither logged nor kept in err: the statement holds the password. */
	ci = follow_sub_conninfo(src);
	ci_lit = conn_quote_literal(tgt, ci);
	sql = xasprintf("CREATE SUBSCRIPTION %s CONNECTION %s PUBLICATION %s "
					"WITH (create_slot = false, copy_data = false, enabled = false, slot_name = %s)",
					id, ci_lit, id, lit);
	PGresult   *res = PQexec(tgt, sql);
	explicit_bzero(sql, strlen(sql));
	explicit_bzero(ci, strlen(ci));
	explicit_bzero(ci_lit, strlen(ci_lit));
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
	{
		conn_err_from_result(err, tgt, res, NULL);
		err_prefix(err, "could not create the subscription on the target: ");
		PQclear(res);
		goto done;
	}
	PQclear(res);
	free(sql);
	sql = NULL;
	subid = conn_query_value(tgt, "SELECT oid FROM pg_catalog.pg_subscription WHERE subname = $1", 1, p1, err);
	if (!subid)
		goto done;
	char	   *origin = xasprintf("pg_%s", subid);
	const char *p2[2] = {origin, f->lsn};
	rc = conn_exec_params(tgt, "SELECT pg_catalog.pg_replication_origin_advance($1, $2::pg_catalog.pg_lsn)", 2, p2,
						  err);
	free(origin);
	if (rc != 0)
		goto done;
enable:
	sql = xasprintf("ALTER SUBSCRIPTION %s ENABLE", id);
	if ((rc = conn_exec(tgt, sql, err)) != 0)
		goto done;
	rc = -1;
	for (int waited = 0; waited < FOLLOW_START_TIMEOUT_S * 10 && !cleanup_interrupted(); waited++)
	{
		char	   *active = conn_query_value(src, "SELECT active FROM pg_catalog.pg_replication_slots "
											  "WHERE slot_name = $1", 1, p1, err);
		if (!active && err->set)
			goto done;
		bool		on = active && strcmp(active, "t") == 0;
		free(active);
		if (on)
		{
			rc = 0;
			log_notice("database \"%s\" follows the source (subscription %s)", f->dbname, f->name);
			goto done;
		}
		usleep(100 * 1000);
	}
	err_set(err, "the subscription of database \"%s\" did not start streaming within %d s", f->dbname,
			FOLLOW_START_TIMEOUT_S);
	err_hint(err, "Check that the target server can reach the source with the connection given to --source, "
			 "and see the target server's log.");
done:
	free(sql);
	free(ci);
	free(ci_lit);
	free(id);
	free(lit);
	free(subid);
	conn_close(src);
	conn_close(tgt);
	return rc;
}

static const char follow_slot_lag_sql[] =
	"SELECT pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_lsn(), confirmed_flush_lsn)::bigint "
	"FROM pg_catalog.pg_replication_slots WHERE slot_name = $1";

/*
 * Waits until the target has caught up with every database of dbs[0..n)
 * (NULL entries skipped): the WAL its slot holds beyond what the target
 * confirmed is below FOLLOW_CAUGHT_UP_BYTES.  Shows that lag shrinking on
 * a progress display of its own (mode), polled twice a second.  An
 * interrupt ends the wait only: the subscriptions stay, PostgreSQL keeps
 * applying.  Returns 0, or -1 with err set when the lag cannot be read.
 */
static int
follow_catch_up(follow_db **dbs, int n, const char *source, progress_mode mode, pgc_err *err)
{
	int			first = 0;
	while (first < n && !dbs[first])
		first++;
	if (first == n)
		return 0;
	PGconn	   *src = conn_open(source, dbs[first]->dbname, "source", err);
	if (!src)
		return -1;
	progress   *p = progress_create(mode, "catch-up", n);
	int64_t    *total = xcalloc((size_t) n + 1, sizeof *total);
	int64_t    *done = xcalloc((size_t) n + 1, sizeof *done);
	bool	   *caught = xcalloc((size_t) n + 1, sizeof *caught);
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < n; i++)
	{
		progress_db_name(p, i, dbs[i] ? dbs[i]->dbname : "");
		caught[i] = !dbs[i];
		total[i] = -1;
	}
	progress_start(p);
	int			rc = 0, left = n;
	while (rc == 0 && !cleanup_interrupted())
	{
		left = 0;
		for (int i = 0; i < n && rc == 0; i++)
		{
			if (caught[i])
				continue;
			const char *prm[1] = {dbs[i]->name};
			char	   *v = conn_query_value(src, follow_slot_lag_sql, 1, prm, err);
			if (!v)
			{
				if (!err->set)
					err_set(err, "the replication slot %s of database \"%s\" is gone", dbs[i]->name,
							dbs[i]->dbname);
				err_prefix(err, "could not read how far the target is behind: ");
				rc = -1;
				break;
			}
			int64_t		lag = strtoll(v, NULL, 10);
			free(v);
			if (lag < 0)
				lag = 0;
			if (total[i] < 0)
			{
				/* The lag at the start is the whole of the work. */
				total[i] = lag;
				progress_add_total(p, i, 1, lag);
				progress_phase(p, i, "catching up");
			}
			else if (lag > total[i] - done[i])
			{
				progress_add_total(p, i, 0, lag - (total[i] - done[i]));
				total[i] = done[i] + lag;
			}
			else if (lag < total[i] - done[i])
			{
				progress_add(p, i, total[i] - done[i] - lag, 0);
				done[i] = total[i] - lag;
			}
			if (lag < FOLLOW_CAUGHT_UP_BYTES)
			{
				caught[i] = true;
				progress_unit_done(p, i, 0);
				progress_phase(p, i, "caught up");
				log_notice("database \"%s\" caught up with the source (%" PRId64 " bytes of WAL behind, %.1f s "
						   "after it began to follow)", dbs[i]->dbname, lag, monotime_since(&t0));
			}
			else
				left++;
		}
		if (left == 0)
			break;
		usleep(500 * 1000);
	}
	progress_stop(p);
	progress_free(p);
	if (rc == 0 && left > 0)
		log_notice("stopped waiting for the target to catch up: it follows the source all the same "
				   "(see pgcarry follow status)");
	free(total);
	free(done);
	free(caught);
	conn_close(src);
	return rc;
}

int
follow_finish_copy(follow_db **dbs, int n, bool copy_ok, const char *source, const char *target,
				   progress_mode mode, pgc_err *err)
{
	int			rc = copy_ok ? 0 : -1;
	for (int i = 0; i < n && rc == 0; i++)
		if (dbs[i] && follow_subscribe(dbs[i], source, target, err) != 0)
			rc = -1;
	if (rc == 0 && cleanup_interrupted())
		rc = -1;
	if (rc == 0)
	{
		/* Following: a failure to watch the lag is not one of the follow. */
		pgc_err		e = PGC_ERR_INIT;
		if (follow_catch_up(dbs, n, source, mode, &e) != 0)
		{
			err_hint(&e, "The target follows the source all the same: see pgcarry follow status.");
			err_report(&e);
		}
		err_clear(&e);
		return 0;
	}
	buf_t		remains = {0};
	for (int i = 0; i < n; i++)
	{
		if (!dbs[i])
			continue;
		follow_db_snapshot_done(dbs[i]);
		pgc_err		e = PGC_ERR_INIT;
		int			removed = 0;
		if (follow_remove(source, target, dbs[i]->dbname, &removed, &e) != 0)
			buf_printf(&remains, "%sdatabase \"%s\": %s", remains.len ? "\n" : "", dbs[i]->dbname, e.message);
		else
			log_info("database \"%s\": %d follow objects removed", dbs[i]->dbname, removed);
		err_clear(&e);
	}
	if (!err->set)
		err_set(err, "the target does not follow the source");
	if (remains.len)
	{
		err_detail(err, "Some follow objects could not be removed:\n%s", remains.data);
		err_hint(err, "Run pgcarry follow stop with the same --source and --target once the servers are back.");
	}
	else
		log_notice("no publication, slot or subscription was left behind");
	buf_free(&remains);
	return -1;
}

/* ------------------------------------------------------------------------
 * Removal
 * ------------------------------------------------------------------------ */

static const char *const follow_sub_drop[] = {
	"ALTER SUBSCRIPTION %s DISABLE",
	"ALTER SUBSCRIPTION %s SET (slot_name = NONE)",
	"DROP SUBSCRIPTION %s"
};
static const char *const follow_pub_drop[] = {"DROP PUBLICATION %s"};
static const char *const follow_schema_drop[] = {"DROP SCHEMA %s CASCADE"};

static const char follow_subs_sql[] =
	"SELECT s.subname FROM pg_catalog.pg_subscription s "
	"JOIN pg_catalog.pg_database d ON d.oid = s.subdbid "
	"WHERE d.datname = pg_catalog.current_database() AND s.subname LIKE 'pgcarry\\_%' ORDER BY 1";
static const char follow_pubs_sql[] =
	"SELECT pubname FROM pg_catalog.pg_publication WHERE pubname LIKE 'pgcarry\\_%' ORDER BY 1";
static const char follow_schema_sql[] =
	"SELECT nspname FROM pg_catalog.pg_namespace WHERE nspname = '" FOLLOW_HELPER_SCHEMA "'";
static const char follow_slots_sql[] =
	"SELECT slot_name FROM pg_catalog.pg_replication_slots "
	"WHERE database = pg_catalog.current_database() AND slot_name LIKE 'pgcarry\\_%' ORDER BY 1";

int
follow__remove_on(PGconn *conn, bool target, int *removed, pgc_err *err)
{
	int			rc;
	if (target)
		rc = follow_drop_each(conn, follow_subs_sql, follow_sub_drop, 3, removed, err);
	else
	{
		PGresult   *res = conn_query(conn, follow_slots_sql, 0, NULL, err);
		rc = res ? 0 : -1;
		for (int i = 0; res && i < PQntuples(res) && rc == 0; i++)
			if ((rc = follow_drop_slot(conn, PQgetvalue(res, i, 0), err)) == 0 && removed)
				(*removed)++;
		PQclear(res);
	}
	if (rc == 0)
		rc = follow_drop_each(conn, follow_pubs_sql, follow_pub_drop, 1, removed, err);
	if (rc == 0)
		rc = follow_drop_each(conn, follow_schema_sql, follow_schema_drop, 1, removed, err);
	return rc;
}

/* Removes the follow objects of one side's database (target: subscription
 * first).  A database that does not exist there is skipped. */
static int
follow_remove_side(const char *conninfo, const char *side, const char *dbname, bool target, int *removed,
				   pgc_err *err)
{
	bool		exists = false;
	int			rc = follow__db_exists(conninfo, side, dbname, &exists, err);
	if (rc != 0 || !exists)
		return rc;
	PGconn	   *conn = follow__conn_open(conninfo, dbname, side, err);
	if (!conn)
		return -1;
	rc = follow__remove_on(conn, target, removed, err);
	conn_close(conn);
	if (rc != 0)
		err_prefix(err, "on the %s, database \"%s\": ", side, dbname);
	return rc;
}

/* Appends to b the follow objects of conn's database that sql (one
 * column) finds, each as "KIND NAME on the SIDE". */
static int
follow_remains_add(PGconn *conn, const char *sql, const char *kind, const char *side, buf_t *b, pgc_err *err)
{
	PGresult   *res = conn_query(conn, sql, 0, NULL, err);
	if (!res)
		return -1;
	for (int i = 0; i < PQntuples(res); i++)
		buf_printf(b, "%s%s %s on the %s", b->len ? ", " : "", kind, PQgetvalue(res, i, 0), side);
	PQclear(res);
	return 0;
}

int
follow__remains(PGconn *src, PGconn *tgt, buf_t *b, pgc_err *err)
{
	if (src && (follow_remains_add(src, follow_slots_sql, "replication slot", "source", b, err) != 0
				|| follow_remains_add(src, follow_pubs_sql, "publication", "source", b, err) != 0
				|| follow_remains_add(src, follow_schema_sql, "schema", "source", b, err) != 0))
		return -1;
	if (tgt && (follow_remains_add(tgt, follow_subs_sql, "subscription", "target", b, err) != 0
				|| follow_remains_add(tgt, follow_pubs_sql, "publication", "target", b, err) != 0
				|| follow_remains_add(tgt, follow_schema_sql, "schema", "target", b, err) != 0))
		return -1;
	return 0;
}

int
follow_remove(const char *source, const char *target, const char *dbname, int *removed, pgc_err *err)
{
	if (target && follow_remove_side(target, "target", dbname, true, removed, err) != 0)
		return -1;
	return follow_remove_side(source, "source", dbname, false, removed, err);
}

/* The databases of the source holding a pgcarry slot, sorted. */
static int
follow_followed_dbs(PGconn *src, char ***out, int *nout, pgc_err *err)
{
	PGresult   *res = conn_query(src, follow_dbs_sql, 0, NULL, err);
	if (!res)
		return -1;
	int			n = PQntuples(res);
	char	  **names = xcalloc((size_t) n + 1, sizeof *names);
	for (int i = 0; i < n; i++)
		names[i] = xstrdup(PQgetvalue(res, i, 0));
	PQclear(res);
	*out = names;
	*nout = n;
	return 0;
}

void
follow_names_free(char **names, int n)
{
	for (int i = 0; names && i < n; i++)
		free(names[i]);
	free(names);
}

int
follow_resolve_dbs(const char *source, const char *const *dbs, int ndbs, char ***out, int *nout,
				   pgc_err *err)
{
	if (ndbs > 0)
	{
		char	  **names = xcalloc((size_t) ndbs + 1, sizeof *names);
		for (int i = 0; i < ndbs; i++)
			names[i] = xstrdup(dbs[i]);
		*out = names;
		*nout = ndbs;
		return 0;
	}
	char	   *maint = copy_maintenance_db(source, NULL, 0);
	PGconn	   *src = conn_open(source, maint, "source", err);
	free(maint);
	int			rc = src ? follow_followed_dbs(src, out, nout, err) : -1;
	conn_close(src);
	return rc;
}
