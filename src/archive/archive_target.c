/*
 * archive_target.c: creating, refusing, marking the target database of an
 * import (see archive_target.h for how the mark works).
 */
#include "archive/archive_target.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/catalog.h"
#include "conn.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/xalloc.h"

/* The maintenance database pgcarry connects to for CREATE/DROP DATABASE. */
#define ARCHIVE_TARGET_MAINTENANCE_DB "postgres"

static const char archive_target_state_sql[] =
	"SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1), "
	"       EXISTS (SELECT 1 FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase "
	"               WHERE d.datname = $1 AND s.setrole = 0 "
	"                 AND 'pgcarry.import=unfinished' = ANY (s.setconfig))";

int
archive_target_state(const char *target, const char *dbname, bool *exists, bool *marked, pgc_err *err)
{
	PGconn *conn = conn_open(target, ARCHIVE_TARGET_MAINTENANCE_DB, "target", err);
	if (!conn)
		return -1;
	const char *params[] = {dbname};
	/* catalog_db_exists first: it waits for a CREATE DATABASE of it that a
	 * killed earlier import left running. */
	PGresult *res = catalog_db_exists(conn, dbname, exists, err) != 0 ? NULL
		: conn_query(conn, archive_target_state_sql, 1, params, err);
	if (res)
	{
		*exists = PQgetvalue(res, 0, 0)[0] == 't';
		*marked = PQgetvalue(res, 0, 1)[0] == 't';
	}
	PQclear(res);
	conn_close(conn);
	return res ? 0 : -1;
}

static int
archive_target_create(PGconn *conn, const char *dbname, const archive_target_opts *o, pgc_err *err)
{
	char *qdb = conn_quote_ident(conn, dbname);
	buf_t sql = {0};
	buf_printf(&sql, "CREATE DATABASE %s TEMPLATE template0", qdb);
	if (o->encoding)
	{
		char *v = conn_quote_literal(conn, o->encoding);
		buf_printf(&sql, " ENCODING %s", v);
		free(v);
	}
	if (o->lc_collate)
	{
		char *v = conn_quote_literal(conn, o->lc_collate);
		buf_printf(&sql, " LC_COLLATE %s", v);
		free(v);
	}
	if (o->lc_ctype)
	{
		char *v = conn_quote_literal(conn, o->lc_ctype);
		buf_printf(&sql, " LC_CTYPE %s", v);
		free(v);
	}
	int rc = conn_exec(conn, sql.data, err);
	if (rc != 0)
		err_prefix(err, "could not create database \"%s\" on the target: ", dbname);
	if (rc == 0 && o->owner)
	{
		const char *params[] = {o->owner};
		char *has = conn_query_value(conn, "SELECT count(*) FROM pg_roles WHERE rolname = $1", 1, params, err);
		if (has && strcmp(has, "1") == 0)
		{
			char *qo = conn_quote_ident(conn, o->owner);
			buf_reset(&sql);
			buf_printf(&sql, "ALTER DATABASE %s OWNER TO %s", qdb, qo);
			rc = conn_exec(conn, sql.data, err);
			free(qo);
		}
		else if (has)
			log_warning("role \"%s\", owner of database \"%s\" on the source, does not exist on the target; "
						"the database belongs to the importing role", o->owner, dbname);
		free(has);
	}
	free(qdb);
	buf_free(&sql);
	return rc;
}

static int
archive_target_set_mark(PGconn *conn, const char *dbname, bool set, pgc_err *err)
{
	char *qdb = conn_quote_ident(conn, dbname);
	char *sql = set ? xasprintf("ALTER DATABASE %s SET " ARCHIVE_TARGET_GUC " = 'unfinished'", qdb)
		: xasprintf("ALTER DATABASE %s RESET " ARCHIVE_TARGET_GUC, qdb);
	int rc = conn_exec(conn, sql, err);
	free(sql);
	free(qdb);
	return rc;
}

/* DROP DATABASE dbname on the maintenance session conn, saying why. */
static int
archive_target_drop_on(PGconn *conn, const char *dbname, const char *why, pgc_err *err)
{
	char *qdb = conn_quote_ident(conn, dbname);
	char *sql = xasprintf(PQserverVersion(conn) >= 130000 ? "DROP DATABASE %s WITH (FORCE)"
						  : "DROP DATABASE %s", qdb);
	int rc = conn_exec(conn, sql, err);
	if (rc != 0)
		err_prefix(err, "could not drop database \"%s\" on the target: ", dbname);
	else
		log_notice("dropped database \"%s\" on the target (%s)", dbname, why);
	free(sql);
	free(qdb);
	return rc;
}

int
archive_target_drop(const char *target, const char *dbname, const char *why, pgc_err *err)
{
	PGconn *conn = conn_open(target, ARCHIVE_TARGET_MAINTENANCE_DB, "target", err);
	if (!conn)
		return -1;
	int rc = archive_target_drop_on(conn, dbname, why, err);
	conn_close(conn);
	return rc;
}

int
archive_target_check(const char *target, const char *dbname, const archive_target_opts *o,
					 archive_target_action *action, pgc_err *err)
{
	*action = ARCHIVE_TARGET_ERROR;
	bool exists, marked;
	if (archive_target_state(target, dbname, &exists, &marked, err) != 0)
		return -1;
	if (!exists)
		*action = ARCHIVE_TARGET_CREATE;
	else if (o->clean)
		*action = ARCHIVE_TARGET_RECREATE;
	else if (marked && o->resume)
		*action = ARCHIVE_TARGET_RESUME;
	else if (marked)
	{
		*action = ARCHIVE_TARGET_REFUSE;
		err_set(err, "database \"%s\" on the target holds an unfinished import", dbname);
		err_detail(err, "An earlier import into it stopped before it was verified.");
		err_hint(err, "Finish it with --resume, or replace it with --clean.");
		return -1;
	}
	else
	{
		PGconn *dbc = conn_open(target, dbname, "target", err);
		bool has = false;
		char *what = NULL;
		int rc = 0;
		if (!dbc || catalog_db_has_user_objects(dbc, &has, &what, err) != 0)
			rc = -1;
		else if (has)
		{
			*action = ARCHIVE_TARGET_REFUSE;
			err_set(err, "database \"%s\" on the target already holds objects", dbname);
			err_detail(err, "pgcarry does not load into a database that holds objects of its own, such as %s.",
					   what ? what : "this one");
			err_hint(err, "Replace it with --clean, or import into another database.");
			rc = -1;
		}
		else
			*action = ARCHIVE_TARGET_FILL;
		free(what);
		conn_close(dbc);
		return rc;
	}
	return 0;
}

int
archive_target_prepare(const char *target, const char *dbname, const archive_target_opts *o,
					   bool *resuming, pgc_err *err)
{
	*resuming = false;
	archive_target_action action;
	if (archive_target_check(target, dbname, o, &action, err) != 0)
		return -1;
	PGconn *conn = conn_open(target, ARCHIVE_TARGET_MAINTENANCE_DB, "target", err);
	if (!conn)
		return -1;
	int rc = 0;
	if (action == ARCHIVE_TARGET_RECREATE)
	{
		rc = archive_target_drop_on(conn, dbname, o->clean_why ? o->clean_why : "--clean", err);
	}
	else if (action == ARCHIVE_TARGET_RESUME)
		*resuming = true;
	if (rc == 0 && (action == ARCHIVE_TARGET_CREATE || action == ARCHIVE_TARGET_RECREATE))
		rc = archive_target_create(conn, dbname, o, err);
	if (rc == 0)
		rc = archive_target_set_mark(conn, dbname, true, err);
	conn_close(conn);
	return rc;
}

int
archive_target_mark_done(const char *target, const char *dbname, pgc_err *err)
{
	PGconn *conn = conn_open(target, ARCHIVE_TARGET_MAINTENANCE_DB, "target", err);
	if (!conn)
		return -1;
	int rc = archive_target_set_mark(conn, dbname, false, err);
	conn_close(conn);
	return rc;
}
