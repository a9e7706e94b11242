/*
 * follow.h: the target kept in sync with a live source through PostgreSQL's
 * own logical replication ("copy --follow", "follow status", "follow stop",
 * "cutover").
 *
 * How it works.  For each database, copy --follow first checks the servers
 * (follow_preflight) and creates nothing when a check fails.  Then
 * follow_db_start creates on the source a helper schema (pgcarry_follow,
 * holding the marker table cutover writes to), a publication FOR ALL
 * TABLES and, through a replication connection, a logical replication slot
 * (pgoutput) that exports its snapshot.  The copy reads everything (catalog,
 * pg_dump, every worker) under that snapshot (snapshot_adopt), and the
 * replication connection stays open, idle, until the copy has adopted it.
 * Once the copy is verified, follow_finish_copy creates on the target a
 * subscription without its own slot and without copying data, disabled,
 * on the slot; advances its replication origin to the slot's consistent
 * point, enables it, and waits until its apply worker streams.
 *
 * Every object pgcarry creates carries the prefix "pgcarry_" (publication,
 * slot and subscription share one name per database and run), so the
 * servers themselves say what exists: follow_remove finds and removes them
 * after a crash, a kill -9 or an abandoned follow without any state file.
 */
#ifndef PGCARRY_FOLLOW_H
#define PGCARRY_FOLLOW_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/progress.h"
#include "util/buf.h"
#include "util/err.h"

/* The schema holding pgcarry's helper table on both servers. */
#define FOLLOW_HELPER_SCHEMA "pgcarry_follow"

typedef struct follow_db follow_db;

/*
 * Checks, before anything is created, that the databases dbs[0..ndbs) can
 * be followed: wal_level, free replication slots and WAL senders, the
 * rights on both servers (src and tgt are connections to each server's
 * maintenance database), and per database (connecting to each through
 * source): tables that cannot replicate UPDATE and DELETE, unlogged
 * tables, a follow already in place (when resume: what an interrupted
 * run left is not a problem, and its slots count as free).  Large objects
 * only get a notice.  Returns 0, or -1 with err set (every problem found
 * logged, and counted in err).
 */
int follow_preflight(PGconn *src, PGconn *tgt, const char *source, const char *const *dbs, int ndbs,
					 bool resume, pgc_err *err);

/*
 * Creates the helper schema, the publication and the slot of database
 * dbname on the source (conninfo source).  On success returns the handle,
 * whose replication connection holds the slot's exported snapshot
 * (follow_db_snapshot) until follow_db_snapshot_done; free with
 * follow_db_free.  On failure removes whatever it created and returns NULL
 * with err set.
 */
follow_db *follow_db_start(const char *source, const char *dbname, pgc_err *err);

/*
 * copy --follow --resume, for database dbname: what an interrupted run left.
 * When that run's copy was verified (copied) and its slot and publication
 * are still on the source, the slot never moved past the copy's snapshot
 * unless its subscription applied from it: returns a handle on them (no
 * snapshot) that follow_finish_copy subscribes with, or whose subscription
 * it enables.  Otherwise the exported snapshot that run read died with it,
 * so no copy can continue consistent with its slot: removes every follow
 * object of dbname from both servers, says so, and returns NULL with
 * *restart set (the copy starts again from a new slot).  Returns NULL with
 * err set on failure.
 */
follow_db  *follow_db_resume(const char *source, const char *target, const char *dbname, bool copied,
							 bool *restart, pgc_err *err);

/* The slot's exported snapshot, valid until follow_db_snapshot_done. */
const char *follow_db_snapshot(const follow_db *f);

/* Closes the replication connection: call once the snapshot was adopted. */
void follow_db_snapshot_done(follow_db *f);

/* Frees f (NULL allowed); removes nothing on the servers. */
void follow_db_free(follow_db *f);

/*
 * Ends copy --follow: when copy_ok, subscribes the target to every started
 * database of dbs[0..n) (NULL entries skipped), waits until each one
 * streams, then until the target has caught up with each (its slot less
 * than 1 MB of WAL behind the source; the lag shown on a progress display
 * in mode; an interrupt ends that wait only); otherwise (or when
 * subscribing fails) removes every pgcarry object of those databases from
 * both servers.  Returns 0 when the target follows, -1 with err set when
 * it does not (nothing left behind, or the remains named in err).
 */
int follow_finish_copy(follow_db **dbs, int n, bool copy_ok, const char *source, const char *target,
					   progress_mode mode, pgc_err *err);

/*
 * Removes every pgcarry follow object of database dbname: the subscription
 * (disabled, detached from its slot, dropped), publication and helper
 * schema on the target, then the slot, publication and helper schema on
 * the source.  Connects through source and target; a target database that
 * does not exist is skipped.  *removed (may be NULL) counts the objects
 * dropped.  Returns 0, or -1 with err set naming what remains.
 */
int follow_remove(const char *source, const char *target, const char *dbname, int *removed,
				  pgc_err *err);

/*
 * The databases a follow command works on: the ndbs names given, or, when
 * none is given, every database of the source (reached through source)
 * that holds a pgcarry slot, sorted.  Returns 0 with *out, a NULL-terminated array (free
 * with follow_names_free), or -1 with err set.
 */
int follow_resolve_dbs(const char *source, const char *const *dbs, int ndbs, char ***out, int *nout,
					   pgc_err *err);
void follow_names_free(char **names, int n);

/* Whether database dbname exists on the server conninfo reaches (side
 * names it in messages).  Returns 0 with *exists set, or -1 with err set. */
int follow__db_exists(const char *conninfo, const char *side, const char *dbname, bool *exists,
					  pgc_err *err);

/*
 * Opens a connection to dbname through conninfo and makes it write even
 * when the database's default_transaction_read_only is on (the cutover's
 * fence).  Returns the connection or NULL with err set.
 */
PGconn *follow__conn_open(const char *conninfo, const char *dbname, const char *side, pgc_err *err);

/*
 * Removes the follow objects of conn's database on one server: on the
 * target (target true) the subscription (disabled, detached from its slot,
 * dropped), on the source the slot (its WAL sender ended first); then the
 * publication and the helper schema.  *removed (may be NULL) counts the
 * objects dropped.  Returns 0, or -1 with err set.
 */
int follow__remove_on(PGconn *conn, bool target, int *removed, pgc_err *err);

/*
 * Appends to b (", " between) every follow object left in the database of
 * src (slot, publication, helper schema) and of tgt (subscription,
 * publication, helper schema), each named with its server; either
 * connection may be NULL.  Returns 0, or -1 with err set.
 */
int follow__remains(PGconn *src, PGconn *tgt, buf_t *b, pgc_err *err);

#endif
