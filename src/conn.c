/*
 * conn.c: opening connections, running statements, quoting (see conn.h).
 */
#include "conn.h"
#include "cleanup.h"
#include "util/backoff.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/xalloc.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

static int conn_timeout_s = 10;
static int conn_retries = 3;
static const int64_t conn_backoff_base_ms = 250;
static const int64_t conn_backoff_cap_ms = 4000;

static const char conn_session_settings[] =
	"SET DateStyle = ISO; SET IntervalStyle = postgres; "
	"SET extra_float_digits = 3; SET TimeZone = 'UTC'; SET bytea_output = hex; "
	"SET statement_timeout = 0; SET lock_timeout = 0; SET idle_in_transaction_session_timeout = 0";

/* Passwords typed at a prompt, per side; guarded by conn_pw_lock. */
static pthread_mutex_t conn_pw_lock = PTHREAD_MUTEX_INITIALIZER;
static struct
{
	char		side[16];
	char	   *password;
} conn_pw[4];

/* ------------------------------------------------------------------------
 * Connection strings
 * ------------------------------------------------------------------------ */

void
conn_configure(int connect_timeout_s, int retries)
{
	if (connect_timeout_s > 0)
		conn_timeout_s = connect_timeout_s;
	if (retries >= 0)
		conn_retries = retries;
}

static bool
conn_is_conninfo(const char *s)
{
	return strchr(s, '=') != NULL
		|| strncmp(s, "postgresql://", 13) == 0
		|| strncmp(s, "postgres://", 11) == 0;
}

/* How deep connection strings nested in dbname are looked into. */
#define CONN_NEST_MAX 4

/*
 * Appends to *list (grown, NULL-terminated) every password value that
 * conninfo holds, and those of the connection strings nested in its dbname
 * (libpq takes a dbname that is itself a connection string, with a password
 * in it, as the name of a database, and
 * the programs it is passed to may read it again).  *nested, when not
 * NULL, is set when a dbname is itself a valid connection string.
 */
static void
conn_collect_passwords(const char *conninfo, int depth, char ***list, int *n, bool *nested)
{
	if (!conninfo || !conn_is_conninfo(conninfo) || depth > CONN_NEST_MAX)
		return;
	PQconninfoOption *opts = PQconninfoParse(conninfo, NULL);
	if (!opts)
		return;
	if (depth > 0 && nested)
		*nested = true;
	for (PQconninfoOption *o = opts; o->keyword; o++)
	{
		if (!o->val || !*o->val)
			continue;
		if (strcmp(o->keyword, "password") == 0)
		{
			*list = xrealloc(*list, ((size_t) *n + 2) * sizeof(char *));
			(*list)[(*n)++] = xstrdup(o->val);
			(*list)[*n] = NULL;
		}
		else if (strcmp(o->keyword, "dbname") == 0)
			conn_collect_passwords(o->val, depth + 1, list, n, nested);
	}
	PQconninfoFree(opts);
}

/* Frees a list from conn_collect_passwords, wiping the passwords. */
static void
conn_free_passwords(char **list, int n)
{
	for (int i = 0; i < n; i++)
	{
		memset(list[i], 0, strlen(list[i]));
		free(list[i]);
	}
	free(list);
}

char *
conn_scrub(const char *text, const char *conninfo)
{
	if (!text)
		return NULL;
	char	  **pw = NULL;
	int			npw = 0;
	conn_collect_passwords(conninfo, 0, &pw, &npw, NULL);
	char	   *out = xstrdup(text);
	for (int i = 0; i < npw; i++)
	{
		size_t		len = strlen(pw[i]);
		buf_t		b = {0};
		const char *p = out, *hit;
		while ((hit = strstr(p, pw[i])) != NULL)
		{
			buf_append(&b, p, (size_t) (hit - p));
			buf_append(&b, "********", 8);
			p = hit + len;
		}
		buf_append(&b, p, strlen(p));
		free(out);
		out = buf_steal(&b);
	}
	conn_free_passwords(pw, npw);
	return out;
}

int
conn_check_arg(const char *conninfo, const char *option, bool from_argv, pgc_err *err)
{
	if (!conninfo || !*conninfo)
	{
		err_set(err, "%s is empty", option);
		err_hint(err, "Give a URI such as postgresql://user@host:5432/dbname or a key=value string.");
		err->exit_status = EXIT_USAGE;
		return -1;
	}
	if (!conn_is_conninfo(conninfo))
		return 0;				/* a bare database name */
	char *errmsg = NULL;
	PQconninfoOption *opts = PQconninfoParse(conninfo, &errmsg);
	if (!opts)
	{
		/* libpq's message may quote parts of the string: keep it out. */
		PQfreemem(errmsg);
		err_set(err, "%s is not a valid connection URI or key=value string", option);
		err_hint(err, "Use postgresql://user@host:5432/dbname or \"host=H port=P dbname=D user=U\".");
		err->exit_status = EXIT_USAGE;
		return -1;
	}
	PQconninfoFree(opts);
	bool		nested = false;
	char	  **pw = NULL;
	int			npw = 0;
	conn_collect_passwords(conninfo, 0, &pw, &npw, &nested);
	conn_free_passwords(pw, npw);
	bool		has_password = npw > 0;
	if (has_password && from_argv)
	{
		err_set(err, "%s holds a password, and passwords are not accepted on the command line", option);
		err_detail(err, "%sEvery user of this machine can read a program's command line.",
				   nested ? "The password is in a connection string nested in dbname.  " : "");
		err_hint(err, "Remove the password from %s and put it in PGPASSWORD, ~/.pgpass or a service file (PGSERVICE).",
				 option);
		err->exit_status = EXIT_USAGE;
		return -1;
	}
	if (nested)
	{
		err_set(err, "%s names a database that is itself a connection string", option);
		err_detail(err, "A dbname holding key=value pairs or a URI is taken as the name of a database, "
				   "not as connection parameters.");
		err_hint(err, "Give the parameters in %s itself, such as postgresql://user@host:5432/dbname "
				 "or \"host=H port=P dbname=D user=U\".", option);
		err->exit_status = EXIT_USAGE;
		return -1;
	}
	return 0;
}

static char *conn_mask_depth(const char *conninfo, int depth);

char *
conn_mask(const char *conninfo)
{
	return conn_mask_depth(conninfo, 0);
}

static char *
conn_mask_depth(const char *conninfo, int depth)
{
	if (!conninfo)
		return xstrdup("");
	if (depth > CONN_NEST_MAX)
		return xstrdup("(unreadable connection string)");
	if (!conn_is_conninfo(conninfo))
		return xasprintf("dbname=%s", conninfo);
	PQconninfoOption *opts = PQconninfoParse(conninfo, NULL);
	if (!opts)
		return xstrdup("(unreadable connection string)");
	buf_t b = {0};
	for (PQconninfoOption *o = opts; o->keyword; o++)
	{
		if (!o->val || !*o->val)
			continue;
		const char *v = strcmp(o->keyword, "password") == 0 ? "********" : o->val;
		char	   *inner = NULL;
		if (strcmp(o->keyword, "dbname") == 0 && conn_is_conninfo(o->val))
			v = inner = conn_mask_depth(o->val, depth + 1);
		buf_printf(&b, "%s%s=", b.len ? " " : "", o->keyword);
		bool quote = strpbrk(v, " '\\") != NULL || !*v;
		if (quote)
			buf_putc(&b, '\'');
		for (const char *p = v; *p; p++)
		{
			if (*p == '\'' || *p == '\\')
				buf_putc(&b, '\\');
			buf_putc(&b, *p);
		}
		if (quote)
			buf_putc(&b, '\'');
		free(inner);
	}
	PQconninfoFree(opts);
	return buf_steal(&b);
}

char *
conn_describe(const char *conninfo)
{
	const char *host = NULL, *port = NULL, *db = NULL;
	PQconninfoOption *opts = NULL;
	if (conninfo && conn_is_conninfo(conninfo))
		opts = PQconninfoParse(conninfo, NULL);
	if (opts)
		for (PQconninfoOption *o = opts; o->keyword; o++)
		{
			if (!o->val || !*o->val)
				continue;
			if (strcmp(o->keyword, "host") == 0 || (strcmp(o->keyword, "hostaddr") == 0 && !host))
				host = o->val;
			else if (strcmp(o->keyword, "port") == 0)
				port = o->val;
			else if (strcmp(o->keyword, "dbname") == 0)
				db = o->val;
		}
	if (!host)
		host = getenv("PGHOST");
	if (!port)
		port = getenv("PGPORT");
	if (!db && conninfo && !conn_is_conninfo(conninfo))
		db = conninfo;
	char	   *dbm = db && conn_is_conninfo(db) ? conn_mask(db) : NULL;
	char *s = xasprintf("%s:%s%s%s", host && *host ? host : "localhost",
						port && *port ? port : "5432", db ? "/" : "", dbm ? dbm : db ? db : "");
	free(dbm);
	PQconninfoFree(opts);
	return s;
}

char *
conn_describe_live(PGconn *conn)
{
	const char *host = conn ? PQhost(conn) : NULL;
	if (!host || !*host)
		return NULL;
	const char *port = PQport(conn);
	const char *db = PQdb(conn);
	if (!port || !*port)
		port = "5432";
	if (host[0] == '/' || host[0] == '@')
		return db && *db ? xasprintf("on socket \"%s/.s.PGSQL.%s\" (database %s)", host, port, db)
			: xasprintf("on socket \"%s/.s.PGSQL.%s\"", host, port);
	return xasprintf("%s:%s%s%s", host, port, db && *db ? "/" : "", db && *db ? db : "");
}

/* ------------------------------------------------------------------------
 * Opening connections
 * ------------------------------------------------------------------------ */

static bool
conn_param_given(const char *conninfo, const char *keyword)
{
	if (!conn_is_conninfo(conninfo))
		return false;
	PQconninfoOption *opts = PQconninfoParse(conninfo, NULL);
	bool given = false;
	if (opts)
		for (PQconninfoOption *o = opts; o->keyword; o++)
			if (strcmp(o->keyword, keyword) == 0 && o->val && *o->val)
				given = true;
	PQconninfoFree(opts);
	return given;
}

const char *
conn_prompted_password(const char *side)
{
	const char *pw = NULL;
	pthread_mutex_lock(&conn_pw_lock);
	for (size_t i = 0; i < sizeof conn_pw / sizeof conn_pw[0]; i++)
		if (conn_pw[i].password && strcmp(conn_pw[i].side, side) == 0)
			pw = conn_pw[i].password;
	pthread_mutex_unlock(&conn_pw_lock);
	return pw;
}

/* Asks for a password on the terminal, without echo.  Only when stdin is a
 * terminal; returns 0 with the password stored for side, -1 otherwise. */
static int
conn_prompt_password(const char *side, const char *desc)
{
	if (!isatty(STDIN_FILENO))
		return -1;
	FILE *tty = fopen("/dev/tty", "r+");
	if (!tty)
		return -1;
	fprintf(tty, "Password for the %s server (%s): ", side, desc);
	fflush(tty);
	struct termios old, noecho;
	bool restored = tcgetattr(fileno(tty), &old) != 0;
	if (!restored)
	{
		noecho = old;
		noecho.c_lflag &= ~(tcflag_t) ECHO;
		tcsetattr(fileno(tty), TCSAFLUSH, &noecho);
	}
	char line[1024];
	char *ok = fgets(line, sizeof line, tty);
	if (!restored)
		tcsetattr(fileno(tty), TCSAFLUSH, &old);
	fputc('\n', tty);
	fclose(tty);
	if (!ok)
		return -1;
	line[strcspn(line, "\r\n")] = '\0';
	pthread_mutex_lock(&conn_pw_lock);
	for (size_t i = 0; i < sizeof conn_pw / sizeof conn_pw[0]; i++)
		if (!conn_pw[i].password || strcmp(conn_pw[i].side, side) == 0)
		{
			free(conn_pw[i].password);
			snprintf(conn_pw[i].side, sizeof conn_pw[i].side, "%s", side);
			conn_pw[i].password = xstrdup(line);
			break;
		}
	pthread_mutex_unlock(&conn_pw_lock);
	memset(line, 0, sizeof line);
	return 0;
}

/* The reason libpq gives, reduced to one line: the text after the last
 * "FATAL:" (or after "failed: "), without trailing newlines. */
static char *
conn_failure_reason(const char *msg)
{
	const char *p = NULL, *q;
	for (q = msg; (q = strstr(q, "FATAL:")) != NULL; q++)
		p = q + 6;
	if (!p)
	{
		for (q = msg; (q = strstr(q, "failed: ")) != NULL; q++)
			p = q + 8;
	}
	if (!p)
		p = msg;
	while (*p == ' ')
		p++;
	size_t n = strcspn(p, "\n");
	return xstrndup(p, n);
}

static bool
conn_failure_retryable(const char *msg)
{
	static const char *const transient[] = {
		"Connection refused", "timeout expired", "the database system is starting up",
		"the database system is in recovery mode", "too many clients",
		"server closed the connection unexpectedly", "Connection reset",
		"No route to host", "Network is unreachable", "the database system is shutting down",
		NULL
	};
	for (int i = 0; transient[i]; i++)
		if (strstr(msg, transient[i]))
			return true;
	return false;
}

static void
conn_failure_error(pgc_err *err, PGconn *conn, const char *side, const char *desc,
				   const char *conninfo, const char *dbname)
{
	const char *msg = conn ? PQerrorMessage(conn) : "out of memory";
	char	   *raw = conn_failure_reason(msg);
	/* libpq may quote what it was given: no password it held gets out. */
	char	   *reason = conn_scrub(raw, conninfo);
	free(raw);
	if (strstr(msg, "password authentication failed") || strstr(msg, "no password supplied")
		|| strstr(msg, "fe_sendauth"))
	{
		err_set(err, "could not connect to the %s server %s: %s", side, desc, reason);
		strcpy(err->sqlstate, "28P01");
		err_hint(err, "Check the password in PGPASSWORD, ~/.pgpass or the service file; "
				 "passwords are never read from the command line.");
	}
	else if (strstr(msg, "does not exist") && strstr(msg, "database"))
	{
		const char *db = dbname ? dbname : (conn ? PQdb(conn) : NULL);
		char	   *dbm = db && conn_is_conninfo(db) ? conn_mask(db) : NULL;
		err_set(err, "database \"%s\" does not exist on the %s server %s", dbm ? dbm : db ? db : "?",
				side, desc);
		free(dbm);
		strcpy(err->sqlstate, "3D000");
		err_hint(err, "Check the name; \"pgcarry ping\" lists the databases of a server.");
	}
	else if (strstr(msg, "role") && strstr(msg, "does not exist"))
	{
		err_set(err, "could not connect to the %s server %s: %s", side, desc, reason);
		strcpy(err->sqlstate, "28000");
		err_hint(err, "Set the user in the connection string (user=NAME) or in PGUSER.");
	}
	else
	{
		err_set(err, "could not connect to the %s server %s: %s", side, desc, reason);
		strcpy(err->sqlstate, "08006");
		err->retryable = conn_failure_retryable(msg);
		err_hint(err, "Check that the server is running and that the host, port and "
				 "pg_hba.conf allow this connection.");
	}
	free(reason);
}

int
conn_check_version(int version, const char *side, const char *desc, pgc_err *err)
{
	if (version >= CONN_MIN_VERSION)
		return 0;
	char *vs = conn_version_string(version);
	err_set(err, "the %s server %s runs PostgreSQL %s, older than 12, the oldest version pgcarry supports",
			side, desc, vs);
	err_hint(err, "Upgrade the server first, or move this database with pg_dump and pg_restore.");
	free(vs);
	return -1;
}

/*
 * Server notices and warnings (an event trigger's RAISE WARNING, a
 * function's RAISE NOTICE) as pgcarry log lines, one whole line each, in
 * the log format asked for; libpq's default processor prints them raw on
 * stderr.  libpq hands over the formatted text: "SEVERITY:  message",
 * maybe followed by "DETAIL:  " and "HINT:  " lines.  Modules that want
 * notices otherwise set their own receiver or processor.
 */
static void
conn_notice(void *arg, const char *text)
{
	(void) arg;
	char *copy = xstrdup(text), *detail = NULL, *hint = NULL;
	for (char *nl = strchr(copy, '\n'); nl; nl = strchr(nl, '\n'))
	{
		*nl++ = '\0';
		if (strncmp(nl, "DETAIL:  ", 9) == 0)
			detail = nl + 9;
		else if (strncmp(nl, "HINT:  ", 7) == 0)
			hint = nl + 7;
	}
	const char *msg = strstr(copy, ":  ");
	size_t sevlen = msg ? (size_t) (msg - copy) : 0;
	char *line = msg ? xasprintf("server %.*s: %s", (int) sevlen, copy, msg + 3) : xasprintf("server: %s", copy);
	log_report(strncmp(copy, "WARNING:", 8) == 0 ? LOG_WARNING : LOG_NOTICE, line, detail, hint);
	free(line);
	free(copy);
}

PGconn *
conn_open(const char *conninfo, const char *dbname, const char *side, pgc_err *err)
{
	static int env_read;
	if (!env_read)
	{
		/* PGCARRY_CONNECT_RETRIES overrides the retry budget (tests use 0 or 1). */
		const char *r = getenv("PGCARRY_CONNECT_RETRIES");
		if (r && *r >= '0' && *r <= '9')
			conn_retries = atoi(r);
		env_read = 1;
	}
	const char *keywords[8];
	const char *values[8];
	char timeout[16];
	int n = 0;
	char *desc = conn_describe(conninfo);
	const char *base = conninfo && *conninfo ? conninfo : "";

	keywords[n] = "dbname";
	values[n++] = base;
	if (!conn_param_given(base, "application_name"))
	{
		keywords[n] = "application_name";
		values[n++] = "pgcarry";
	}
	if (!conn_param_given(base, "connect_timeout") && !getenv("PGCONNECT_TIMEOUT"))
	{
		snprintf(timeout, sizeof timeout, "%d", conn_timeout_s);
		keywords[n] = "connect_timeout";
		values[n++] = timeout;
	}
	keywords[n] = "client_encoding";
	values[n++] = "UTF8";
	int pw_slot = n++;
	keywords[pw_slot] = NULL;		/* filled when a prompted password exists */
	values[pw_slot] = NULL;
	if (dbname)
	{
		keywords[n] = "dbname";
		values[n++] = dbname;
	}
	keywords[n] = NULL;
	values[n] = NULL;

	PGconn *conn = NULL;
	bool prompted = false;
	for (int attempt = 0;; attempt++)
	{
		const char *pw = conn_prompted_password(side);
		if (pw)
		{
			keywords[pw_slot] = "password";
			values[pw_slot] = pw;
		}
		else
		{
			/* Skip the slot: shift the dbname override down. */
			keywords[pw_slot] = dbname ? "dbname" : NULL;
			values[pw_slot] = dbname;
		}
		conn = PQconnectdbParams(keywords, values, 1);
		if (conn && PQstatus(conn) == CONNECTION_OK)
			break;

		char *live = conn_describe_live(conn);
		if (live)
		{
			free(desc);
			desc = live;
		}
		if (conn && PQconnectionNeedsPassword(conn) && !pw && !prompted
			&& conn_prompt_password(side, desc) == 0)
		{
			prompted = true;
			PQfinish(conn);
			attempt--;
			continue;
		}
		pgc_err e = PGC_ERR_INIT;
		conn_failure_error(&e, conn, side, desc, base, dbname);
		PQfinish(conn);
		conn = NULL;
		if (!e.retryable || attempt >= conn_retries || cleanup_interrupted())
		{
			err_move(err, &e);
			break;
		}
		int64_t ms = backoff_delay_ms(attempt, conn_backoff_base_ms, conn_backoff_cap_ms,
									  backoff_random());
		log_info("%s; retrying in %lld ms", e.message, (long long) ms);
		err_clear(&e);
		backoff_sleep_ms(ms);
	}
	if (!conn)
	{
		free(desc);
		return NULL;
	}

	char *live = conn_describe_live(conn);
	if (live)
	{
		free(desc);
		desc = live;
	}
	if (conn_check_version(PQserverVersion(conn), side, desc, err) != 0)
	{
		PQfinish(conn);
		free(desc);
		return NULL;
	}
	free(desc);

	PQsetNoticeProcessor(conn, conn_notice, NULL);
	conn_log_sql(conn, conn_session_settings, 0);
	PGresult *res = PQexec(conn, conn_session_settings);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
	{
		conn_err_from_result(err, conn, res, conn_session_settings);
		PQclear(res);
		PQfinish(conn);
		return NULL;
	}
	PQclear(res);
	cleanup_track_conn(conn);
	return conn;
}

void
conn_close(PGconn *conn)
{
	if (!conn)
		return;
	cleanup_untrack_conn(conn);
	PQfinish(conn);
}

/* ------------------------------------------------------------------------
 * Statements
 * ------------------------------------------------------------------------ */

void
conn_log_sql(PGconn *conn, const char *sql, int nparams)
{
	if (!sql || !log_enabled(LOG_DEBUG))
		return;
	/* Statements name the server and database, never a password: values
	 * travel as parameters and are not shown. */
	const char *db = conn ? PQdb(conn) : NULL;
	char	   *dbm = db && conn_is_conninfo(db) ? conn_mask(db) : NULL;
	if (nparams > 0)
		log_debug("sql (%s:%s/%s, %d parameter%s): %s", conn ? PQhost(conn) : "?", conn ? PQport(conn) : "?",
				  dbm ? dbm : db ? db : "?", nparams, nparams == 1 ? "" : "s", sql);
	else
		log_debug("sql (%s:%s/%s): %s", conn ? PQhost(conn) : "?", conn ? PQport(conn) : "?",
				  dbm ? dbm : db ? db : "?", sql);
	free(dbm);
}

bool
conn_sqlstate_retryable(const char *sqlstate)
{
	if (!sqlstate)
		return false;
	return strncmp(sqlstate, "08", 2) == 0
		|| strcmp(sqlstate, "57P01") == 0
		|| strcmp(sqlstate, "57P02") == 0
		|| strcmp(sqlstate, "57P03") == 0;
}

void
conn_err_from_result(pgc_err *err, PGconn *conn, const PGresult *res, const char *query)
{
	if (!err || err->set)
		return;
	const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	const char *sqlstate = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	if (primary)
		err_set(err, "%s", primary);
	else
	{
		const char *m = conn ? PQerrorMessage(conn) : "";
		if (!m || !*m)
			m = "the server returned an unexpected result";
		char *line = xstrndup(m, strcspn(m, "\n"));
		err_set(err, "%s", line);
		free(line);
	}
	if (sqlstate)
		snprintf(err->sqlstate, sizeof err->sqlstate, "%s", sqlstate);
	else if (conn && PQstatus(conn) == CONNECTION_BAD)
		strcpy(err->sqlstate, "08006");
	const char *detail = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL) : NULL;
	const char *hint = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_HINT) : NULL;
	if (detail)
		err_detail(err, "%s", detail);
	if (hint)
		err_hint(err, "%s", hint);
	if (query)
		err_query(err, query);
	const char *pos = res ? PQresultErrorField(res, PG_DIAG_STATEMENT_POSITION) : NULL;
	err->position = pos ? atoi(pos) : 0;
	err->retryable = conn_sqlstate_retryable(err->sqlstate);
}

int
conn_exec_params(PGconn *conn, const char *sql, int nparams,
				 const char *const *values, pgc_err *err)
{
	conn_log_sql(conn, sql, nparams);
	PGresult *res = nparams > 0
		? PQexecParams(conn, sql, nparams, NULL, values, NULL, NULL, 0)
		: PQexec(conn, sql);
	ExecStatusType st = PQresultStatus(res);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
	{
		conn_err_from_result(err, conn, res, sql);
		PQclear(res);
		return -1;
	}
	PQclear(res);
	return 0;
}

int
conn_exec(PGconn *conn, const char *sql, pgc_err *err)
{
	return conn_exec_params(conn, sql, 0, NULL, err);
}

PGresult *
conn_query(PGconn *conn, const char *sql, int nparams, const char *const *values, pgc_err *err)
{
	conn_log_sql(conn, sql, nparams);
	PGresult *res = PQexecParams(conn, sql, nparams, NULL, values, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
	{
		conn_err_from_result(err, conn, res, sql);
		PQclear(res);
		return NULL;
	}
	return res;
}

char *
conn_query_value(PGconn *conn, const char *sql, int nparams, const char *const *values,
				 pgc_err *err)
{
	PGresult *res = conn_query(conn, sql, nparams, values, err);
	if (!res)
		return NULL;
	char *v = NULL;
	if (PQntuples(res) > 0 && PQnfields(res) > 0 && !PQgetisnull(res, 0, 0))
		v = xstrdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	return v;
}

/* ------------------------------------------------------------------------
 * Quoting
 * ------------------------------------------------------------------------ */

/* A string libpq allocated (q, not NULL) as one of ours, q freed. */
static char *
conn_from_libpq(char *q)
{
	char *s = xstrdup(q);
	PQfreemem(q);
	return s;
}

char *
conn_quote_ident(PGconn *conn, const char *ident)
{
	char *q = PQescapeIdentifier(conn, ident, strlen(ident));
	if (!q)
	{
		/* Only on out-of-memory or an encoding error libpq already reported;
		 * fall back to the SQL rule: double every quote, wrap in quotes. */
		buf_t b = {0};
		buf_putc(&b, '"');
		for (const char *p = ident; *p; p++)
		{
			if (*p == '"')
				buf_putc(&b, '"');
			buf_putc(&b, *p);
		}
		buf_putc(&b, '"');
		return buf_steal(&b);
	}
	return conn_from_libpq(q);
}

char *
conn_quote_literal(PGconn *conn, const char *lit)
{
	char *q = PQescapeLiteral(conn, lit, strlen(lit));
	if (!q)
		abort();				/* out of memory inside libpq */
	return conn_from_libpq(q);
}

char *
conn_qualify(PGconn *conn, const char *schema, const char *name)
{
	char *s = conn_quote_ident(conn, schema);
	char *n = conn_quote_ident(conn, name);
	char *q = xasprintf("%s.%s", s, n);
	free(s);
	free(n);
	return q;
}

char *
conn_version_string(int version)
{
	if (version >= 100000)
		return xasprintf("%d.%d", version / 10000, version % 10000);
	return xasprintf("%d.%d.%d", version / 10000, (version / 100) % 100, version % 100);
}
