/*
 * ping.c: "pgcarry ping", the first thing a user runs.
 *
 * Connects to the source and/or target server, prints the server version,
 * the databases with their sizes, and whether the role holds the rights that
 * copy, export and import need.  Exit 0 when every server answered.  With
 * --json, the same as one JSON document on stdout (shape: docs/connections.md).
 */
#include "cli.h"
#include "commands.h"
#include "conn.h"
#include "util/log.h"
#include "util/xalloc.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum
{
	PING_OPT_SOURCE = CLI_OPT_FIRST_COMMAND_OPT,
	PING_OPT_TARGET,
	PING_OPT_JSON
};

static const char ping_catalog_sql[] =
	"SELECT d.datname, "
	"       CASE WHEN has_database_privilege(d.oid, 'CONNECT') "
	"            THEN pg_size_pretty(pg_database_size(d.oid)) ELSE 'no access' END, "
	"       pg_encoding_to_char(d.encoding), "
	"       pg_get_userbyid(d.datdba), "
	"       CASE WHEN has_database_privilege(d.oid, 'CONNECT') "
	"            THEN pg_database_size(d.oid) END "
	"FROM pg_database d "
	"WHERE NOT d.datistemplate AND d.datallowconn "
	"ORDER BY d.datname";

static const char ping_role_sql[] =
	"SELECT r.rolname, r.rolsuper, r.rolcreatedb, r.rolcreaterole, r.rolreplication, "
	"       r.rolsuper OR (to_regrole('pg_read_all_data') IS NOT NULL AND "
	"                      pg_has_role(r.oid, 'pg_read_all_data', 'USAGE')) "
	"FROM pg_roles r WHERE r.rolname = current_user";

static void
ping_help(void)
{
	printf("pgcarry ping checks that pgcarry can reach a server and may do its work there.\n"
		   "\n"
		   "Usage:\n"
		   "  pgcarry ping --source URI\n"
		   "  pgcarry ping --target URI\n"
		   "\n"
		   "Options:\n"
		   "      --source URI   the server to read from (default: $PGCARRY_SOURCE)\n"
		   "      --target URI   the server to write to (default: $PGCARRY_TARGET)\n"
		   "      --json         the same as one JSON document on stdout\n"
		   "\n"
		   "It prints the server version, the databases and their sizes, and which of\n"
		   "the rights copy, export and import need the role holds.\n"
		   "\n%s", cli_common_help);
}

static const char *
ping_yes(const char *v)
{
	return v && v[0] == 't' ? "yes" : "no";
}

/* The --json object of one server that answered. */
static json_t *
ping_json(const char *side, PGconn *conn, const char *desc, const char *version, const PGresult *role,
		  const PGresult *dbs)
{
	json_t *o = json_object();
	json_object_set_new(o, "side", json_string(side));
	json_object_set_new(o, "ok", json_true());
	json_object_set_new(o, "server", json_string(desc));
	json_object_set_new(o, "host", json_string(PQhost(conn)));
	json_object_set_new(o, "port", json_string(PQport(conn)));
	json_object_set_new(o, "database", json_string(PQdb(conn)));
	json_object_set_new(o, "version", json_string(version));
	json_object_set_new(o, "version_num", json_integer(PQserverVersion(conn)));
	if (PQntuples(role) == 1)
	{
		bool super = PQgetvalue(role, 0, 1)[0] == 't';
		json_object_set_new(o, "role", json_string(PQgetvalue(role, 0, 0)));
		json_object_set_new(o, "superuser", json_boolean(super));
		json_t *r = json_object();
		json_object_set_new(r, "read_every_table", json_boolean(PQgetvalue(role, 0, 5)[0] == 't'));
		json_object_set_new(r, "create_databases", json_boolean(PQgetvalue(role, 0, 2)[0] == 't'));
		json_object_set_new(r, "create_roles", json_boolean(PQgetvalue(role, 0, 3)[0] == 't'));
		json_object_set_new(r, "read_role_passwords", json_boolean(super));
		json_object_set_new(o, "rights", r);
	}
	json_t *list = json_array();
	for (int i = 0; i < PQntuples(dbs); i++)
	{
		json_t *d = json_object();
		json_object_set_new(d, "name", json_string(PQgetvalue(dbs, i, 0)));
		json_object_set_new(d, "size_bytes", PQgetisnull(dbs, i, 4) ? json_null()
							: json_integer(strtoll(PQgetvalue(dbs, i, 4), NULL, 10)));
		json_object_set_new(d, "size", json_string(PQgetvalue(dbs, i, 1)));
		json_object_set_new(d, "encoding", json_string(PQgetvalue(dbs, i, 2)));
		json_object_set_new(d, "owner", json_string(PQgetvalue(dbs, i, 3)));
		json_array_append_new(list, d);
	}
	json_object_set_new(o, "databases", list);
	return o;
}

/* The --json object of a server that could not be pinged. */
static json_t *
ping_json_failed(const char *side, const pgc_err *err)
{
	json_t *o = json_object();
	json_object_set_new(o, "side", json_string(side));
	json_object_set_new(o, "ok", json_false());
	json_object_set_new(o, "error", json_string(err->message ? err->message : ""));
	if (err->sqlstate[0])
		json_object_set_new(o, "sqlstate", json_string(err->sqlstate));
	return o;
}

/* Pings one server; returns EXIT_OK or EXIT_FAIL.  With out (--json), the
 * server's object is appended to it instead of printing text. */
static int
ping_one(const char *side, const char *conninfo, json_t *out)
{
	pgc_err err = PGC_ERR_INIT;
	PGconn *conn = conn_open(conninfo, NULL, side, &err);
	if (!conn)
	{
		if (out)
			json_array_append_new(out, ping_json_failed(side, &err));
		err_report(&err);
		err_clear(&err);
		return EXIT_FAIL;
	}
	char *desc = conn_describe_live(conn);
	char *version = conn_version_string(PQserverVersion(conn));
	PGresult *role = conn_query(conn, ping_role_sql, 0, NULL, &err);
	PGresult *dbs = role ? conn_query(conn, ping_catalog_sql, 0, NULL, &err) : NULL;
	int rc = EXIT_OK;
	if (!dbs)
	{
		err_prefix(&err, "could not read the catalog of the %s server: ", side);
		if (out)
			json_array_append_new(out, ping_json_failed(side, &err));
		err_report(&err);
		rc = EXIT_FAIL;
		goto done;
	}
	if (out)
		json_array_append_new(out, ping_json(side, conn, desc, version, role, dbs));

	if (!out)
	{
		printf("%s server %s\n", side, desc);
		printf("  version     PostgreSQL %s\n", version);
	}
	if (PQntuples(role) == 1)
	{
		bool super = PQgetvalue(role, 0, 1)[0] == 't';
		if (!out)
		{
			printf("  role        %s%s\n", PQgetvalue(role, 0, 0), super ? " (superuser)" : "");
			printf("  rights      read every table: %s; create databases: %s; create roles: %s; "
				   "read role passwords: %s\n",
				   ping_yes(PQgetvalue(role, 0, 5)), ping_yes(PQgetvalue(role, 0, 2)),
				   ping_yes(PQgetvalue(role, 0, 3)), super ? "yes" : "no");
		}
		if (strcmp(side, "source") == 0 && PQgetvalue(role, 0, 5)[0] != 't')
			log_warning("role \"%s\" may not be able to read every table of the source; "
						"copy and export need superuser or membership in pg_read_all_data",
						PQgetvalue(role, 0, 0));
		if (strcmp(side, "target") == 0 && !super && PQgetvalue(role, 0, 2)[0] != 't')
			log_warning("role \"%s\" cannot create databases on the target; "
						"copy and import need superuser or CREATEDB", PQgetvalue(role, 0, 0));
	}
	if (out)
		goto done;
	printf("  databases   %d\n", PQntuples(dbs));
	for (int i = 0; i < PQntuples(dbs); i++)
		printf("    %-32s %12s  %-10s owner %s\n", PQgetvalue(dbs, i, 0), PQgetvalue(dbs, i, 1),
			   PQgetvalue(dbs, i, 2), PQgetvalue(dbs, i, 3));

done:
	PQclear(role);
	PQclear(dbs);
	free(desc);
	free(version);
	err_clear(&err);
	conn_close(conn);
	return rc;
}

int
cmd_ping(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"source", required_argument, NULL, PING_OPT_SOURCE},
		{"target", required_argument, NULL, PING_OPT_TARGET},
		{"json", no_argument, NULL, PING_OPT_JSON},
		CLI_COMMON_LONGOPTS,
		{NULL, 0, NULL, 0}
	};
	const char *source_arg = NULL, *target_arg = NULL;
	bool json = false;
	int opt;
	optind = 1;
	while ((opt = getopt_long(argc, argv, ":" CLI_COMMON_SHORTOPTS, longopts, NULL)) != -1)
	{
		switch (opt)
		{
			case PING_OPT_SOURCE:
				source_arg = optarg;
				break;
			case PING_OPT_TARGET:
				target_arg = optarg;
				break;
			case PING_OPT_JSON:
				json = true;
				break;
			default:
			{
				int c = cli_other_option("ping", opt, argv);
				if (c < 0)
				{
					ping_help();
					return EXIT_OK;
				}
				if (c != 0)
					return c;
			}
		}
	}
	if (optind < argc)
		return cli_usage_error("ping", "unexpected argument \"%s\"", argv[optind]);

	const char *source = NULL, *target = NULL;
	int rc;
	if ((rc = cli_resolve_conn("ping", "--source", source_arg, "PGCARRY_SOURCE", false, &source)) != 0)
		return rc;
	if ((rc = cli_resolve_conn("ping", "--target", target_arg, "PGCARRY_TARGET", false, &target)) != 0)
		return rc;
	if (!source && !target)
		return cli_usage_error("ping", "give --source or --target (or set PGCARRY_SOURCE or PGCARRY_TARGET)");

	rc = EXIT_OK;
	json_t *servers = json ? json_array() : NULL;
	if (source && ping_one("source", source, servers) != EXIT_OK)
		rc = EXIT_FAIL;
	if (target && ping_one("target", target, servers) != EXIT_OK)
		rc = EXIT_FAIL;
	if (servers)
	{
		json_t *doc = json_object();
		json_object_set_new(doc, "ok", json_boolean(rc == EXIT_OK));
		json_object_set_new(doc, "servers", servers);
		char *s = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		if (s)
			printf("%s\n", s);
		free(s);
		json_decref(doc);
	}
	return rc;
}
