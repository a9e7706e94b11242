/*
 * common.h: what the data path's pipelines share below the job runner: the
 * pair of data sessions a worker holds, retry policy, failures into the
 * report, the schema comparison under filters, and checks on the two
 * servers.  (The options the commands share are cli.h's.)
 */
#ifndef PGCARRY_CORE_COMMON_H
#define PGCARRY_CORE_COMMON_H

#include <libpq-fe.h>
#include <stdbool.h>

#include "core/catalog.h"
#include "core/ddl.h"
#include "core/progress.h"
#include "util/err.h"
#include "core/verify.h"

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
 * src_conn and tgt_conn are sessions on each side (in those snapshots when
 * given), asked which form of dump reads the same entries with fewer
 * queries (ddl_schema_only_same); src_conn may be NULL when src_dump is
 * given.  Dumps go to tmpdir.  Each difference goes to report; *nentries receives
 * the number of entries of the source's table of contents, *ndiff that of
 * differences.  Returns 0, or -1 with err set.
 */
int copy_filter_schema_compare(const catalog_filter *f, const char *source, const char *target, const char *db,
							   PGconn *src_conn, PGconn *tgt_conn,
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
	const char *src_snap;		/* the snapshot src's open transaction is
								 * attached to (copy_pair_source_snapshot),
								 * or NULL */
	int			src_snap_uses;	/* tables read in that transaction */
} copy_pair;

/*
 * Makes p hold open sessions to dbname on the source and tgt_dbname on the
 * target (reusing them when key matches and both are alive), each prepared
 * by stream_conn_open with client_encoding encoding; the target ones read only when tgt_read_only.
 * target NULL: a source session only (p->tgt stays NULL); source NULL: a
 * target session only.
 * Returns 0, or -1 with err set.
 */
int copy_pair_open(copy_pair *p, const void *key, const char *source, const char *target,
				   const char *dbname, const char *tgt_dbname, const char *encoding, bool tgt_read_only,
				   pgc_err *err);

/* Closes both sessions. */
void copy_pair_close(copy_pair *p);

/*
 * Puts p->src in a transaction attached to snapshot snap_id, reusing the
 * one it is already in for that snapshot (one round trip per table saved
 * twice over, which with many small tables is most of a table's cost).  A
 * transaction is reused for at most COPY_SNAPSHOT_REUSE tables, so the
 * locks it holds stay few.  Returns 0, or -1 with err set.
 */
int copy_pair_source_snapshot(copy_pair *p, const char *snap_id, pgc_err *err);

/* Ends the transaction copy_pair_source_snapshot left open, if any: before
 * p->src is used for anything else, and before the worker waits, so that
 * no session sits idle in a transaction. */
void copy_pair_source_release(copy_pair *p);

#define COPY_SNAPSHOT_REUSE 64

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
