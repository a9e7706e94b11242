/*
 * snapshot.h: one consistent view of a database, shared by many sessions.
 *
 * How it works: the coordinator opens a connection to the database and
 * calls snapshot_export, which starts a REPEATABLE READ READ ONLY
 * transaction and exports its snapshot (pg_export_snapshot).  That
 * connection must stay open, idle in its transaction, for as long as other
 * sessions may still attach: each worker connection calls snapshot_attach
 * (BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET TRANSACTION SNAPSHOT)
 * and then sees exactly the rows the exporting transaction sees, however
 * late it starts.  pg_dump --snapshot=ID attaches the same way.
 *
 * The module never opens or closes connections; the caller owns them.
 */
#ifndef PGCARRY_SNAPSHOT_H
#define PGCARRY_SNAPSHOT_H

#include <libpq-fe.h>

#include "util/err.h"

typedef struct snapshot snapshot;

/*
 * Starts the exporting transaction on conn (which must be idle, outside a
 * transaction) and exports its snapshot.  conn stays owned by the caller and
 * may run further read-only queries inside the transaction (they see the
 * snapshot).  Returns the handle (free it with snapshot_release), or NULL
 * with err set.
 */
snapshot *snapshot_export(PGconn *conn, pgc_err *err);

/*
 * Like snapshot_export, but the transaction started on conn first imports
 * the snapshot external_id, exported elsewhere (a logical replication
 * slot's, which lives only as long as its replication connection stays
 * idle), then exports it again: sessions attach to the returned handle's
 * snapshot, which shows exactly what external_id shows and lasts until
 * snapshot_release.  Returns the handle, or NULL with err set.
 */
snapshot   *snapshot_adopt(PGconn *conn, const char *external_id, pgc_err *err);

/* The exported snapshot's identifier, valid until snapshot_release. */
const char *snapshot_id(const snapshot *s);

/* The connection holding the snapshot (owned by the caller of
 * snapshot_export). */
PGconn *snapshot_conn(const snapshot *s);

/*
 * Ends the exporting transaction and frees s (NULL allowed).  Sessions
 * already attached keep their view; no new session can attach afterwards.
 * The connection stays open.  A failure (the connection is gone) is not
 * reported: nothing was written in that transaction.
 */
void snapshot_release(snapshot *s);

/*
 * Makes conn (idle, outside a transaction) see the snapshot id: starts a
 * REPEATABLE READ READ ONLY transaction and imports the snapshot.  Returns 0,
 * or -1 with err set (for example when the exporting transaction ended).
 */
int snapshot_attach(PGconn *conn, const char *id, pgc_err *err);

/* Ends the transaction snapshot_attach started
 * (a read-only COMMIT).  Returns 0, or -1 with err set. */
int snapshot_detach(PGconn *conn, pgc_err *err);

#endif
