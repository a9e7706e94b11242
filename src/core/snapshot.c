/*
 * snapshot.c: exported snapshots and the sessions that attach to them
 * (see snapshot.h).
 */
#include "core/snapshot.h"
#include "conn.h"
#include "util/xalloc.h"

#include <stdlib.h>

#define snapshot_begin_sql "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY"
static const char snapshot_export_sql[] = "SELECT pg_catalog.pg_export_snapshot()";
#define snapshot_import_sql_fmt "SET TRANSACTION SNAPSHOT %s"

struct snapshot
{
	PGconn	   *conn;			/* not owned */
	char	   *id;
};

/* Exports the snapshot of the transaction conn is in; rolls it back on
 * failure. */
static snapshot *
snapshot_export_current(PGconn *conn, pgc_err *err)
{
	char	   *id = conn_query_value(conn, snapshot_export_sql, 0, NULL, err);
	if (!id)
	{
		err_set(err, "could not export a snapshot");
		pgc_err		ignore = PGC_ERR_INIT;
		(void) conn_exec(conn, "ROLLBACK", &ignore);
		err_clear(&ignore);
		return NULL;
	}
	snapshot   *s = xcalloc(1, sizeof *s);
	s->conn = conn;
	s->id = id;
	return s;
}

snapshot *
snapshot_export(PGconn *conn, pgc_err *err)
{
	if (conn_exec(conn, snapshot_begin_sql, err) != 0)
		return NULL;
	return snapshot_export_current(conn, err);
}

snapshot *
snapshot_adopt(PGconn *conn, const char *external_id, pgc_err *err)
{
	if (snapshot_attach(conn, external_id, err) != 0)
		return NULL;
	return snapshot_export_current(conn, err);
}

const char *
snapshot_id(const snapshot *s)
{
	return s->id;
}

PGconn *
snapshot_conn(const snapshot *s)
{
	return s->conn;
}

void
snapshot_release(snapshot *s)
{
	if (!s)
		return;
	pgc_err		ignore = PGC_ERR_INIT;
	if (PQstatus(s->conn) == CONNECTION_OK)
		(void) conn_exec(s->conn, "COMMIT", &ignore);
	err_clear(&ignore);
	free(s->id);
	free(s);
}

int
snapshot_attach(PGconn *conn, const char *id, pgc_err *err)
{
	/* One round trip: attaching is done once per table or batch, and with
	 * many small tables each statement's trip counts. */
	char	   *lit = conn_quote_literal(conn, id);
	char	   *sql = xasprintf("%s; " snapshot_import_sql_fmt, snapshot_begin_sql, lit);
	int			rc = conn_exec(conn, sql, err);
	free(sql);
	free(lit);
	if (rc != 0 && PQtransactionStatus(conn) != PQTRANS_IDLE)
	{
		pgc_err		ignore = PGC_ERR_INIT;
		(void) conn_exec(conn, "ROLLBACK", &ignore);
		err_clear(&ignore);
	}
	return rc;
}

int
snapshot_detach(PGconn *conn, pgc_err *err)
{
	return conn_exec(conn, "COMMIT", err);
}
