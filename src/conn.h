/*
 * conn.h: connections to PostgreSQL servers.
 *
 * Every connection pgcarry opens goes through conn_open: it accepts URIs,
 * key=value strings and bare database names, plus everything libpq reads by
 * itself (PG* variables, ~/.pgpass, service files).  It sets
 * application_name=pgcarry and a connect timeout unless the user set them,
 * retries connection-class failures with capped exponential backoff and
 * jitter, makes the session's text output stable (DateStyle ISO,
 * IntervalStyle postgres, extra_float_digits 3, TimeZone UTC, client_encoding
 * UTF8, bytea_output hex), lifts the database's or role's statement,
 * lock and idle-in-transaction timeouts (pgcarry's long reads and loads
 * must not be cut off; lockexec sets its own per transaction), and refuses
 * servers older than CONN_MIN_VERSION.
 *
 * Passwords: a connection string given on the command line must not hold
 * one, nested in dbname or not (conn_check_arg refuses it); any connection
 * string that reaches a message goes through conn_mask or conn_describe
 * first, and libpq's own messages through conn_scrub.
 */
#ifndef PGCARRY_CONN_H
#define PGCARRY_CONN_H

#include <libpq-fe.h>
#include <stdbool.h>

#include "util/err.h"

/* The oldest server version pgcarry supports (PQserverVersion form). */
#define CONN_MIN_VERSION 120000

/* Connect timeout (seconds) and retry budget for every later conn_open. */
void conn_configure(int connect_timeout_s, int retries);

/*
 * Checks a connection string that came from the command line (from_argv)
 * or from the environment: it must parse, its dbname must not be a
 * connection string itself (libpq would take it as a database's name),
 * and when from_argv it must not hold a password, nested ones included.
 * option names the option for messages ("--source").
 * Returns 0, or -1 with err set (exit status EXIT_USAGE).
 */
int conn_check_arg(const char *conninfo, const char *option, bool from_argv, pgc_err *err);

/* The connection string with any password replaced by "********"; never
 * NULL; owned by the caller.  Unparseable input yields a fixed placeholder. */
char *conn_mask(const char *conninfo);

/* A copy of text (a message) with every password that conninfo holds,
 * nested connection strings included, replaced by "********"; owned by
 * the caller; NULL when text is NULL. */
char *conn_scrub(const char *text, const char *conninfo);

/* A short, password-free description such as "127.0.0.1:5432" for messages;
 * owned by the caller. */
char *conn_describe(const char *conninfo);

/*
 * The server as libpq actually reached it (or last tried to reach it), after
 * PQconnectdb*: PQhost, PQport and PQdb, so what a service file, PG*
 * variables or defaults chose is shown, not what the connection string
 * said.  "127.0.0.1:5432/db" for TCP, "on socket \"/dir/.s.PGSQL.5432\"
 * (database db)" for a Unix socket.  NULL when conn is NULL or names no
 * host; otherwise owned by the caller.
 */
char *conn_describe_live(PGconn *conn);

/*
 * Opens a connection.  dbname, when not NULL, replaces the database named in
 * conninfo.  side ("source", "target", "server") names the server in
 * messages.  Returns the connection (close with conn_close), or NULL with
 * err set to one clear sentence, a detail and a hint.
 */
PGconn *conn_open(const char *conninfo, const char *dbname, const char *side, pgc_err *err);

/* Closes a connection opened with conn_open; NULL is allowed. */
void conn_close(PGconn *conn);

/*
 * With --debug, logs a statement about to be sent on conn (tagged with the
 * server and database; parameter values are counted, never shown).  Every
 * statement pgcarry sends goes through here: conn_exec, conn_query and
 * the COPY statements of stream.h call it.
 */
void conn_log_sql(PGconn *conn, const char *sql, int nparams);

/* Runs a statement that returns no rows.  Returns 0, or -1 with err set. */
int conn_exec(PGconn *conn, const char *sql, pgc_err *err);

/* Runs a parameterised statement that returns no rows (values as text). */
int conn_exec_params(PGconn *conn, const char *sql, int nparams,
					 const char *const *values, pgc_err *err);

/*
 * Runs a query that returns rows, parameters passed as text values.  Returns
 * the result (PQclear it), or NULL with err set.
 */
PGresult *conn_query(PGconn *conn, const char *sql, int nparams,
					 const char *const *values, pgc_err *err);

/*
 * Runs a query and returns the first column of the first row as a string
 * owned by the caller; NULL when the query failed (err set) or when the
 * value is NULL or there is no row (err not set).
 */
char *conn_query_value(PGconn *conn, const char *sql, int nparams,
					   const char *const *values, pgc_err *err);

/* Fills err from a failed result (or the connection when res is NULL):
 * message, SQLSTATE, detail, hint, the query, and whether it is retryable. */
void conn_err_from_result(pgc_err *err, PGconn *conn, const PGresult *res, const char *query);

/* True for SQLSTATEs worth retrying after reconnecting: class 08, and
 * admin shutdown / crash recovery (57P01..57P03). */
bool conn_sqlstate_retryable(const char *sqlstate);

/* Identifier / literal quoting with libpq's escaping; owned by the caller. */
char *conn_quote_ident(PGconn *conn, const char *ident);
char *conn_quote_literal(PGconn *conn, const char *lit);
/* "schema"."name", quoted; owned by the caller. */
char *conn_qualify(PGconn *conn, const char *schema, const char *name);

/* Refuses server versions older than CONN_MIN_VERSION: returns 0, or -1
 * with err naming the server (desc) and the way out. */
int conn_check_version(int version, const char *side, const char *desc, pgc_err *err);

/* "15.4" style text for a PQserverVersion number; owned by the caller. */
char *conn_version_string(int version);

/*
 * The password the user typed at a prompt for this side, if any (NULL when
 * passwords come from the environment, ~/.pgpass or a service file).  Child
 * processes get it through PGPASSWORD in their environment, never on argv.
 */
const char *conn_prompted_password(const char *side);

#endif
