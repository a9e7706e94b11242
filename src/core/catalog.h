/*
 * catalog.h: what a server holds, read from its system catalogs.
 *
 * Databases and their properties; the tables whose rows are carried (with
 * the column list every COPY uses); sequences with their state; large
 * objects; materialized views; and a list of schema objects for comparing
 * two databases.  Every function takes an open connection and runs plain
 * catalog queries (constants in catalog.c, and in catalog_filter.c for
 * -n/-N/-t/-T); when the connection is inside a snapshot (snapshot.h), the
 * answers describe that snapshot.  Names come back in the connection's
 * client_encoding; quoted forms use libpq's escaping.
 *
 * Which tables carry rows: ordinary tables ('r'), including partitions and
 * inheritance children, in every schema but pg_catalog, information_schema,
 * pg_toast and temporary schemas; not partitioned parents (their leaves hold
 * the rows), not views, foreign tables or materialized views (refreshed on
 * the target instead), not tables that belong to an extension unless the
 * extension marked them as configuration tables (pg_extension_config_dump,
 * pg_extension.extconfig).  COPY of an
 * inheritance parent reads only its own rows, so every row is carried once.
 * Generated columns are left out of the column list: the target computes
 * them.
 *
 * Extension configuration tables, as pg_dump treats them: only the rows
 * matching the table's extcondition (empty: every row) are data; the rest
 * belong to the extension, which the schema restore creates on the target
 * with rows of its own.  So such a table is never truncated on the target:
 * the rows matching the condition are deleted instead, in the transaction
 * that loads the source's (a rerun after an interruption deletes what the
 * first run loaded, so rows are never doubled, and the extension's own rows
 * stay).  Both sides are verified with the same condition.  Configuration
 * sequences are listed with the other sequences.
 *
 * Partitions that load through their root: where a table is partitioned
 * by hash on a key whose hash is not the same on every cluster (an enum's
 * hash is the hash of its label's OID, which pg_restore assigns anew; the
 * same for arrays, ranges, composites and domains of user types, reg*
 * values, extension types and operator classes, expression keys, and
 * nondeterministic collations, whose sort keys depend on the ICU library),
 * a row may belong to another partition on the target.  Such leaves are
 * not listed: their highest such ancestor is listed instead (via_root),
 * read as a whole tree (STREAM_WHOLE_TREE), loaded by COPY into the root
 * (PostgreSQL routes each row) and verified as one table.  Not a tree that
 * holds a foreign table: routing would write rows to another server.
 */
#ifndef PGCARRY_CATALOG_H
#define PGCARRY_CATALOG_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "util/err.h"

/* ------------------------------------------------------------------------
 * Databases
 * ------------------------------------------------------------------------ */

typedef struct catalog_db
{
	char	   *name;
	uint32_t	oid;
	char	   *encoding;		/* "UTF8", "LATIN1", "SQL_ASCII", ... */
	char	   *collate;
	char	   *ctype;
	char	   *owner;
	char	   *comment;		/* NULL when none */
	int			conn_limit;		/* -1: no limit */
	char	   *acl;			/* datacl as text; NULL: default privileges */
	char	  **settings;		/* ALTER DATABASE SET, "name=value" each */
	int			nsettings;
	int64_t		size_bytes;		/* pg_database_size, -1 without CONNECT right */
} catalog_db;

/*
 * The databases to work on.  With all, every database that is not a
 * template and allows connections (names must then be empty); otherwise
 * the nnames given, in that order.  side ("source") names the server in
 * messages.  Returns 0 with *out (free with catalog_dbs_free) and *nout set;
 * -1 with err set, for example when a named database does not exist or is
 * a template that refuses connections.
 */
int catalog_dbs(PGconn *conn, const char *side, const char *const *names, int nnames,
				bool all, catalog_db **out, int *nout, pgc_err *err);
void catalog_dbs_free(catalog_db *dbs, int n);

/*
 * Drops from the n databases in dbs (in place; *n updated, the dropped
 * ones freed) those whose name matches one of the npatterns regexes
 * (catalog_pattern_regex of a --exclude-database pattern, as pg_dumpall
 * reads it), matched by conn's server.  Returns 0, or -1 with err set.
 */
int catalog_dbs_exclude(PGconn *conn, char *const *regexes, int nregexes, catalog_db *dbs, int *n, pgc_err *err);

/* The same for n plain names: keep[i] receives whether names[i] matches
 * none of the regexes.  Returns 0, or -1 with err set. */
int catalog_names_exclude(PGconn *conn, char *const *regexes, int nregexes, const char *const *names, int n,
						  bool *keep, pgc_err *err);

/* SQL: whether a session other than this one is running a CREATE DATABASE
 * that names the database of parameter p (a killed client's CREATE goes on
 * in its server session until it commits). */
#define CATALOG_DB_CREATING(p) \
	"EXISTS (SELECT 1 FROM pg_catalog.pg_stat_activity " \
	"         WHERE pid <> pg_catalog.pg_backend_pid() AND state = 'active' " \
	"           AND query ~* '^\\s*CREATE\\s+DATABASE\\s' AND pg_catalog.strpos(query, " p ") > 0)"

/* Whether database name exists on the server of conn, once a CREATE
 * DATABASE of it that another session is running has ended (waited for up
 * to a minute).  Returns 0 with *exists set, -1 with err set. */
int catalog_db_exists(PGconn *conn, const char *name, bool *exists, pgc_err *err);

/*
 * Whether the database conn is connected to holds user objects: any
 * relation, type, function, extension (other than plpgsql), schema (other
 * than public) or large object that a fresh database does not have.
 * Returns 0 with *has set (and *what, owned by the caller, naming one such
 * object, e.g. "table public.users"), or -1 with err set.
 */
int catalog_db_has_user_objects(PGconn *conn, bool *has, char **what, pgc_err *err);

/* ------------------------------------------------------------------------
 * Tables
 * ------------------------------------------------------------------------ */

typedef struct catalog_table
{
	uint32_t	oid;
	char	   *schema;
	char	   *name;
	char	   *qualified;		/* "schema"."name", quoted */
	char	   *display;		/* schema.name, unquoted, for messages */
	char		persistence;	/* 'p' permanent, 'u' unlogged */
	bool		is_partition;
	int64_t		pages;			/* main fork size in 8 kB pages, now */
	int64_t		est_bytes;		/* main fork + TOAST, bytes, now */
	double		est_rows;		/* pg_class.reltuples, -1 when unknown */
	char	   *columns;		/* quoted COPY column list, "" for none */
	int			ncolumns;
	bool		binary_ok;		/* every column can travel in binary COPY
								 * between servers of the same major version */
	bool		via_root;		/* a partitioned table standing for the
								 * leaves below it (see the top of this
								 * file); pages is then 0: never sliced */
	bool		ext_config;		/* an extension's configuration table (see
								 * the top of this file); pages is then 0 */
	char	   *condition;		/* for a configuration table, the rows that
								 * are data: its extcondition without the
								 * leading WHERE (a filter for
								 * stream_copy_out_sql); NULL: every row */
} catalog_table;

/*
 * Every table that carries rows (see the top of this file), biggest first.
 * Returns 0 with *out (free with catalog_tables_free) and *nout set, or -1
 * with err set.
 */
int catalog_tables(PGconn *conn, catalog_table **out, int *nout, pgc_err *err);
void catalog_tables_free(catalog_table *t, int n);

/*
 * Whether the relation qualified (a quoted name) on conn is a partitioned
 * table, which then stands for its partitions (catalog_table.via_root):
 * it is read as a whole tree, truncated without ONLY and loaded without
 * FREEZE.  An archive names such a root where its leaves load through it.
 * Returns true or false; false when the relation cannot be looked up (the
 * statements that follow then report the problem).
 */
bool catalog_is_partitioned(PGconn *conn, const char *qualified);

/*
 * Every partitioned table of conn's database, as keys from
 * catalog_relation_key, sorted by strcmp (look one up with
 * catalog_key_find): one query where catalog_is_partitioned would take one
 * per table.  Returns 0, or -1 with err set.
 */
int catalog_partitioned_tables(PGconn *conn, char ***keys, int *nkeys, pgc_err *err);

/* "schema" and "name" as one key (a unit separator between them). */
char *catalog_relation_key(const char *schema, const char *name);

/* Whether key is among keys[0..n), sorted by strcmp. */
bool catalog_key_find(char *const *keys, int n, const char *key);

/*
 * The populated materialized views, described like tables (read them with
 * a filter, e.g. "true": COPY cannot read a materialized view by name).
 * Their contents are computed, not carried: compare reads them, copy
 * refreshes them.  Free with catalog_tables_free.
 */
int catalog_matviews(PGconn *conn, catalog_table **out, int *nout, pgc_err *err);

/*
 * The objects whose post-data entries belong to one ordinary table alone:
 * its indexes (classid 1259) and its primary key, unique and exclusion
 * constraints (classid 2606), with the table's OID; foreign keys are left
 * out (they need two tables).  *out (free()) receives triples
 * {classid, objid, table oid}.  Returns 0, or -1 with err set.
 */
typedef struct catalog_table_object
{
	uint32_t	classid;
	uint32_t	objid;
	uint32_t	table;
} catalog_table_object;

int catalog_table_objects(PGconn *conn, catalog_table_object **out, int *nout, pgc_err *err);

/* ------------------------------------------------------------------------
 * Sequences
 * ------------------------------------------------------------------------ */

typedef struct catalog_sequence
{
	char	   *schema;
	char	   *name;
	char	   *qualified;		/* quoted */
	char	   *display;		/* unquoted, for messages */
	char	   *last_value;		/* as text, exactly as the server gave it */
	bool		is_called;
} catalog_sequence;

/*
 * Every sequence outside the system schemas, with its last_value and
 * is_called (sequences are not transactional: the value read is the current
 * one, which for a session inside a snapshot is at least as large as any
 * value used by rows that snapshot sees).  Sorted by schema and name.
 * Returns 0 with *out (free with catalog_sequences_free), -1 with err set.
 */
int catalog_sequences(PGconn *conn, catalog_sequence **out, int *nout, pgc_err *err);
void catalog_sequences_free(catalog_sequence *s, int n);

/* ------------------------------------------------------------------------
 * Large objects
 * ------------------------------------------------------------------------ */

/* Number of large objects and an estimate of their total size in bytes.
 * Returns 0 or -1 with err set. */
int catalog_large_objects(PGconn *conn, int64_t *count, int64_t *est_bytes, pgc_err *err);

/*
 * Splits the large objects into batches of about per_batch objects:
 * *bounds receives the first OID of every batch, ascending (batch i holds
 * the OIDs from bounds[i] up to, not including, bounds[i+1]; the last batch
 * is open-ended).  Returns 0 with *bounds (free()) and *nbounds set (0 when
 * there are no large objects), or -1 with err set.
 */
int catalog_large_object_batches(PGconn *conn, int per_batch, uint32_t **bounds,
								 int *nbounds, pgc_err *err);

/* ------------------------------------------------------------------------
 * Schema objects, for comparing two databases
 * ------------------------------------------------------------------------ */

typedef struct catalog_object
{
	char	   *kind;			/* "table", "index", "function", ... */
	char	   *name;			/* identity, e.g. "public.users" or
								 * "public.f(integer)" */
	char	   *extra;			/* a short fingerprint that must match
								 * (e.g. "populated" for a matview), or "" */
} catalog_object;

/*
 * The database's schema objects (schemas, tables, partitioned tables,
 * views, materialized views, sequences, indexes, constraints, functions,
 * types, triggers, policies, extensions), sorted by kind then name.
 * Returns 0 with *out (free with catalog_objects_free), -1 with err set.
 */
int catalog_objects(PGconn *conn, catalog_object **out, int *nout, pgc_err *err);
void catalog_objects_free(catalog_object *o, int n);

/* ------------------------------------------------------------------------
 * Choosing what moves: pg_dump's -n/-N/-t/-T
 * ------------------------------------------------------------------------ */

/*
 * The schemas and tables a command works on, given as pg_dump's patterns
 * and chosen by pg_dump's rules, so that the tables whose rows move are the
 * tables pg_dump would dump with the same options:
 *   - a pattern is a name where * matches any text, ? one character, and
 *     other regular expression characters keep their meaning; letters fold
 *     to lower case; within double quotes everything is taken literally
 *     ("" is one quote); a dot outside quotes separates schema from table;
 *   - a table pattern without a schema matches the tables visible on the
 *     database's default search_path;
 *   - with table patterns (-t), a table moves when one of them matches it,
 *     whatever the schema patterns; otherwise a table moves when its schema
 *     matches a schema pattern (-n; every schema when none), unless an
 *     exclusion (-N) matches the schema;
 *   - an excluding table pattern (-T) always wins;
 *   - a sequence moves when it is chosen so, or when it belongs to a
 *     table that moves (serial and identity columns).
 * Each pattern is kept as given (for pg_dump's own options) and as an
 * anchored regular expression per part (for the catalog).
 */
typedef enum catalog_filter_kind
{
	CATALOG_FILTER_SCHEMA,		/* -n */
	CATALOG_FILTER_EXCLUDE_SCHEMA,	/* -N */
	CATALOG_FILTER_TABLE,		/* -t */
	CATALOG_FILTER_EXCLUDE_TABLE	/* -T */
} catalog_filter_kind;

typedef struct catalog_filter_pattern
{
	catalog_filter_kind kind;
	char	   *given;			/* as the user wrote it */
	char	   *arg;			/* the same for pg_dump: "--table=given" */
	char	   *schema_re;		/* anchored regex; NULL: no schema part */
	char	   *name_re;		/* anchored regex; NULL for schema patterns */
} catalog_filter_pattern;

typedef struct catalog_filter
{
	catalog_filter_pattern *items;
	int			n;
} catalog_filter;

/*
 * Turns one pg_dump pattern into anchored regular expressions: *schema_re
 * and *name_re (owned by the caller; *schema_re NULL when the pattern has
 * no schema part, *name_re NULL when schema_only).  A schema pattern
 * (schema_only) has one part, a table pattern at most two.  Returns 0, or
 * -1 with *why (a static string) saying what is wrong.  Pure: unit-tested.
 */
int catalog_pattern_regex(const char *pattern, bool schema_only, char **schema_re, char **name_re,
						  const char **why);

/*
 * Adds pattern of kind to f.  Returns 0, or -1 with err set (the message
 * names the pattern) when it is not a valid pattern.
 */
int catalog_filter_add(catalog_filter *f, catalog_filter_kind kind, const char *pattern, pgc_err *err);

/* Whether f chooses anything less than everything (any pattern given). */
bool catalog_filter_active(const catalog_filter *f);

/* Whether large objects move under f: as with pg_dump, unless a schema or
 * table is chosen by name (-n or -t); exclusions alone keep them.  f may be
 * NULL. */
bool catalog_filter_large_objects(const catalog_filter *f);

/*
 * The options of a schema dump (ddl_dump_schema) that reads what f
 * chooses: "--schema=P", "--exclude-schema=P", "--table=P",
 * "--exclude-table=P" in the order given, then "--no-blobs" when no_blobs
 * (large objects are data), then "--schema-only" when schema_only (a
 * schema-only run, or ddl_schema_only_same found that the database reads
 * the same with it).  NULL-terminated; free the array only, the strings
 * belong to f.  f may be NULL.
 */
const char **catalog_filter_dump_args(const catalog_filter *f, bool no_blobs, bool schema_only);

/* Frees what f holds and leaves it empty. */
void catalog_filter_free(catalog_filter *f);

/*
 * Keeps, of the ntables tables in *tables, those f chooses (in order;
 * the others are freed) and, of the nseqs sequences in *seqs (may be NULL),
 * those f chooses; *ntables and *nseqs are updated.  Runs on conn (the
 * database they were read from; its search_path is set to the database's
 * default for the query, then put back).  Returns 0, or -1 with err set.
 */
int catalog_filter_apply(PGconn *conn, const catalog_filter *f, catalog_table *tables, int *ntables,
						 catalog_sequence *seqs, int *nseqs, pgc_err *err);

/*
 * The same choice for names that are not in a server's catalog (an
 * archive's): for each of the n entries, schemas[i] and rels[i] (a table,
 * view or sequence; NULL when the entry is a schema), *schema_chosen[i]
 * receives whether the schema is chosen as a whole (-n/-N, no -t given:
 * its objects move) and rel_chosen[i] whether the relation is (false for a
 * schema).  An unqualified table pattern matches relations in public (the
 * default search_path).  The regexes run on conn's server.  With no
 * pattern, everything is chosen.  Returns 0, or -1 with err set.
 */
int catalog_filter_names(PGconn *conn, const catalog_filter *f, const char *const *schemas,
						 const char *const *rels, int n, bool *schema_chosen, bool *rel_chosen, pgc_err *err);

/*
 * For a dry run's plan: prints to out, indented, the number of tables and
 * sequences and the tables' estimated size, then each table with its size.
 */
void catalog_plan_print(FILE *out, const catalog_table *t, int nt, int nseqs);

/* ------------------------------------------------------------------------
 * Roles
 * ------------------------------------------------------------------------ */

/*
 * The roles the current database depends on: owners of its objects and of
 * the database itself, roles named in its grants and policies, and the
 * bootstrap superuser (which owns what initdb made).  Sorted.  Returns 0
 * with *out (free each and the array) and *nout, -1 with err set.
 */
int catalog_db_roles(PGconn *conn, char ***out, int *nout, pgc_err *err);

/* Of the nroles names, those that do not exist on conn's server (an array
 * of borrowed pointers into roles; free the array only).  Returns 0 or -1. */
int catalog_missing_roles(PGconn *conn, char *const *roles, int nroles,
						  const char ***missing, int *nmissing, pgc_err *err);

/*
 * What the current database needs of the server it is carried to, by kind:
 * CATALOG_NEED_TABLESPACE, the tablespaces its relations and the database
 * itself live in (pg_default and pg_global left out);
 * CATALOG_NEED_EXTENSION, its extensions (plpgsql left out).  Sorted.
 * Returns 0 with *out (free each and the array) and *nout, -1 with err set.
 */
typedef enum catalog_need
{
	CATALOG_NEED_TABLESPACE,
	CATALOG_NEED_EXTENSION
} catalog_need;

int catalog_db_needs(PGconn *conn, catalog_need kind, char ***out, int *nout, pgc_err *err);

/* Of the n names of kind, those conn's server lacks: a tablespace that does
 * not exist, an extension that is not available to install.  As
 * catalog_missing_roles: *missing borrows from names (free the array
 * only).  Returns 0 or -1 with err set. */
int catalog_missing(PGconn *conn, catalog_need kind, char *const *names, int n, const char ***missing,
					int *nmissing, pgc_err *err);

/* Reports, as one error with hint, the n names of kind (e.g. "extensions")
 * that database db needs and the target lacks: a dry run's refusal. */
void catalog_report_missing(const char *db, const char *kind, const char *const *missing, int n,
							const char *hint);

/* A table a --data-only load fills: its quoted name, its name for
 * messages, and whether it is an extension's configuration table (which
 * may hold the extension's own rows: not checked empty). */
typedef struct catalog_load_table
{
	const char *qualified;
	const char *display;
	bool		ext_config;
} catalog_load_table;

/*
 * --data-only: whether each of the n tables t exists in conn's database db
 * (the target) and holds no rows (they are not replaced).  cmd is the
 * command ("copy"), what names the tables in messages ("the tables to
 * copy"), verb and done what the command does to rows ("copies",
 * "copied").  Returns 0, or -1 with err naming the tables missing or not
 * empty and the way out.
 */
int catalog_data_only_ready(PGconn *conn, const char *db, const catalog_load_table *t, int n, const char *cmd,
							const char *what, const char *verb, const char *done, pgc_err *err);

/* Frees n names and their array (as catalog_db_needs and
 * catalog_db_roles return them). */
void catalog_names_free(char **names, int n);

/* Whether the current user may create databases (CREATEDB or superuser).
 * Returns 0 with *can set, -1 with err set. */
int catalog_can_create_db(PGconn *conn, bool *can, pgc_err *err);

/* Whether the current user is a superuser (which may read role passwords). */
int catalog_is_superuser(PGconn *conn, bool *super, pgc_err *err);

#endif
