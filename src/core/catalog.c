/*
 * catalog.c: catalog queries (see catalog.h).  Every query is a named
 * constant below; values travel as parameters, lists as JSON arrays.
 * Choosing what moves by -n/-N/-t/-T is in catalog_filter.c.
 */
#include "core/catalog.h"
#include "core/catalog_int.h"
#include "conn.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/monotime.h"
#include "util/xalloc.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Schemas that never hold user objects. */
#define CATALOG_USER_NAMESPACE(alias) \
	"(" alias ".nspname NOT IN ('pg_catalog', 'information_schema') " \
	"AND " alias ".nspname !~ '^pg_(toast|temp_|toast_temp_)')"

/* A relation an extension marked as a configuration table or sequence
 * (pg_extension_config_dump): its rows, or value, are data pg_dump dumps. */
#define CATALOG_EXTENSION_CONFIG(oid) \
	oid " IN (SELECT pg_catalog.unnest(e.extconfig) FROM pg_catalog.pg_extension e)"

/* An object that belongs to an extension (created by CREATE EXTENSION). */
#define CATALOG_NOT_EXTENSION_MEMBER(classid, objid) \
	"NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend dep WHERE dep.classid = " classid \
	" AND dep.objid = " objid " AND dep.deptype = 'e')"

/* ------------------------------------------------------------------------
 * Queries
 * ------------------------------------------------------------------------ */

/* $1: every database (bool), $2: JSON array of names. */
static const char catalog_dbs_sql[] =
	"SELECT d.datname, d.oid, pg_catalog.pg_encoding_to_char(d.encoding), d.datcollate, d.datctype, "
	"       pg_catalog.pg_get_userbyid(d.datdba), "
	"       pg_catalog.shobj_description(d.oid, 'pg_database'), d.datconnlimit, d.datacl::text, "
	"       (SELECT pg_catalog.json_agg(x) FROM pg_catalog.pg_db_role_setting s, "
	"               pg_catalog.unnest(s.setconfig) x "
	"         WHERE s.setdatabase = d.oid AND s.setrole = 0), "
	"       CASE WHEN pg_catalog.has_database_privilege(d.oid, 'CONNECT') "
	"            THEN pg_catalog.pg_database_size(d.oid) ELSE -1 END, "
	"       d.datistemplate, d.datallowconn "
	"FROM pg_catalog.pg_database d "
	"WHERE ($1::bool AND NOT d.datistemplate AND d.datallowconn) "
	"   OR d.datname IN (SELECT pg_catalog.json_array_elements_text($2::json)) "
	"ORDER BY d.datname";

/* Whether database $1 exists, and whether a CREATE DATABASE naming it is
 * still running in another session (one whose client was killed goes on
 * until it commits: see catalog_db_exists). */
static const char catalog_db_exists_sql[] =
	"SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_database WHERE datname = $1), "
	"       " CATALOG_DB_CREATING("$1");

/* One example of a user object, or no row: the first by name of the first
 * kind found, so that the message naming it is the same on every run. */
static const char catalog_user_object_sql[] =
	"SELECT w FROM ("
	" (SELECT 1 AS k, 'relation ' || n.nspname || '.' || c.relname AS w"
	"    FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
	"   WHERE " CATALOG_USER_NAMESPACE("n") " ORDER BY n.nspname, c.relname LIMIT 1)"
	" UNION ALL"
	" (SELECT 2, 'schema ' || n.nspname FROM pg_catalog.pg_namespace n"
	"   WHERE " CATALOG_USER_NAMESPACE("n") " AND n.nspname <> 'public' ORDER BY n.nspname LIMIT 1)"
	" UNION ALL"
	" (SELECT 3, 'function ' || n.nspname || '.' || p.proname"
	"    FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace"
	"   WHERE " CATALOG_USER_NAMESPACE("n") " ORDER BY n.nspname, p.proname LIMIT 1)"
	" UNION ALL"
	" (SELECT 4, 'type ' || n.nspname || '.' || t.typname"
	"    FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace"
	"   WHERE " CATALOG_USER_NAMESPACE("n") " ORDER BY n.nspname, t.typname LIMIT 1)"
	" UNION ALL"
	" (SELECT 5, 'extension ' || extname FROM pg_catalog.pg_extension"
	"   WHERE extname <> 'plpgsql' ORDER BY extname LIMIT 1)"
	" UNION ALL"
	" (SELECT 6, 'large object ' || oid FROM pg_catalog.pg_largeobject_metadata ORDER BY oid LIMIT 1)"
	") s ORDER BY k LIMIT 1";

/*
 * Whether a column of type t (with base type b for a domain, range r) can
 * travel in binary COPY between two servers of the same major version.  It
 * cannot when the type has no binary send/receive functions, or when its
 * binary form names OIDs that differ between servers: reg* types (OIDs of
 * objects), and arrays or composites of user-defined types (array_recv and
 * record_recv check element type OIDs).  User-defined base types stay in
 * text too: their binary form may differ between extension versions.
 */
#define CATALOG_BINARY_OK \
	"(t.typsend <> 0 AND t.typreceive <> 0" \
	" AND NOT (tn.nspname = 'pg_catalog' AND t.typname ~ '^_?reg')" \
	" AND (t.oid < 16384" \
	"      OR t.typtype = 'e'" \
	"      OR (t.typtype = 'd' AND b.oid < 16384 AND b.typsend <> 0 AND b.typreceive <> 0" \
	"          AND b.typname !~ '^_?reg')" \
	"      OR (t.typtype = 'r' AND r.rngsubtype < 16384)))"

/*
 * The partition roots that rows must be loaded through: for every leaf
 * partition (relkind 'r'), its highest ancestor partitioned by a hash key
 * whose hash is not the same on every cluster (see catalog.h).  A key is
 * taken as unstable when it is an expression, uses an operator class or a
 * type (after unwrapping domains) that is not built in (enums, arrays,
 * ranges and composites of user types, extension types), a reg* type (its
 * value is an OID), or a nondeterministic collation.  A tree holding a
 * foreign table is never loaded through its root: rows routed there would
 * be written to another server.  Columns: leaf, root.
 */
#define CATALOG_LOAD_ROOTS_CTE \
	"WITH RECURSIVE keytype AS (" \
	"  SELECT pt.partrelid, a.atttypid AS typ" \
	"    FROM pg_catalog.pg_partitioned_table pt" \
	"    CROSS JOIN LATERAL pg_catalog.unnest(pt.partattrs::pg_catalog.int2[]) AS k(attnum)" \
	"    JOIN pg_catalog.pg_attribute a ON a.attrelid = pt.partrelid AND a.attnum = k.attnum" \
	"   WHERE pt.partstrat = 'h'" \
	"  UNION ALL" \
	"  SELECT kt.partrelid, ty.typbasetype FROM keytype kt" \
	"    JOIN pg_catalog.pg_type ty ON ty.oid = kt.typ WHERE ty.typtype = 'd'" \
	"), unstable AS (" \
	"  SELECT pt.partrelid FROM pg_catalog.pg_partitioned_table pt" \
	"   WHERE pt.partstrat = 'h'" \
	"     AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_partition_tree(pt.partrelid) pd" \
	"                      JOIN pg_catalog.pg_class f ON f.oid = pd.relid WHERE f.relkind = 'f')" \
	"     AND (" \
	"         0 = ANY (pt.partattrs::pg_catalog.int2[])" \
	"      OR EXISTS (SELECT 1 FROM pg_catalog.unnest(pt.partclass::pg_catalog.oid[]) pc(oid)" \
	"                  WHERE pc.oid >= 16384)" \
	"      OR EXISTS (SELECT 1 FROM pg_catalog.unnest(pt.partcollation::pg_catalog.oid[]) pl(oid)" \
	"                   JOIN pg_catalog.pg_collation co ON co.oid = pl.oid" \
	"                  WHERE NOT co.collisdeterministic)" \
	"      OR EXISTS (SELECT 1 FROM keytype kt JOIN pg_catalog.pg_type ty ON ty.oid = kt.typ" \
	"                   JOIN pg_catalog.pg_namespace tn ON tn.oid = ty.typnamespace" \
	"                  WHERE kt.partrelid = pt.partrelid AND ty.typtype <> 'd'" \
	"                    AND (ty.oid >= 16384" \
	"                         OR (tn.nspname = 'pg_catalog' AND ty.typname ~ '^_?reg'))))" \
	"), load_root AS (" \
	"  SELECT l.oid AS leaf," \
	"         (SELECT anc.relid FROM pg_catalog.pg_partition_ancestors(l.oid) WITH ORDINALITY anc(relid, ord)" \
	"           WHERE anc.relid IN (SELECT partrelid FROM unstable) ORDER BY anc.ord DESC LIMIT 1) AS root" \
	"    FROM pg_catalog.pg_class l WHERE l.relkind = 'r' AND l.relispartition" \
	") "

/*
 * $1: relkind.  With 'r', every table that carries rows, where the leaves
 * that load through a partition root are replaced by that root (its sizes
 * the sum of its leaves'; column via_root true).
 */
static const char catalog_tables_sql[] =
	CATALOG_LOAD_ROOTS_CTE
	"SELECT c.oid, n.nspname, c.relname, c.relpersistence, c.relispartition, "
	"       CASE WHEN c.relkind = 'p' THEN 0 ELSE pg_catalog.pg_relation_size(c.oid) END AS main_bytes, "
	"       CASE WHEN c.relkind = 'p' THEN (SELECT COALESCE(pg_catalog.sum(pg_catalog.pg_relation_size(lr.leaf) "
	"              + COALESCE(pg_catalog.pg_relation_size(NULLIF(lc.reltoastrelid, 0)), 0)), 0)"
	"              FROM load_root lr JOIN pg_catalog.pg_class lc ON lc.oid = lr.leaf WHERE lr.root = c.oid)"
	"            ELSE pg_catalog.pg_relation_size(c.oid) "
	"         + COALESCE(pg_catalog.pg_relation_size(NULLIF(c.reltoastrelid, 0)), 0) END AS est_bytes, "
	"       CASE WHEN c.relkind = 'p' THEN (SELECT pg_catalog.sum(GREATEST(lc.reltuples, 0))"
	"              FROM load_root lr JOIN pg_catalog.pg_class lc ON lc.oid = lr.leaf WHERE lr.root = c.oid)"
	"            ELSE c.reltuples END, "
	"       cols.list, cols.n, NOT cols.unsafe, c.relkind = 'p' AS via_root, "
	"       xc.oid IS NOT NULL AS ext_config, "
	"       NULLIF(pg_catalog.regexp_replace(xc.cond, '^\\s*WHERE\\s+', '', 'i'), '') AS condition "
	"FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
	"LEFT JOIN LATERAL ("
	"  SELECT x.oid, x.cond FROM pg_catalog.pg_extension e,"
	"         ROWS FROM (pg_catalog.unnest(e.extconfig), pg_catalog.unnest(e.extcondition)) AS x(oid, cond)"
	"   WHERE x.oid = c.oid LIMIT 1"
	") xc ON true "
	"CROSS JOIN LATERAL ("
	"  SELECT COALESCE(pg_catalog.string_agg(pg_catalog.quote_ident(a.attname), ', ' ORDER BY a.attnum), '') AS list,"
	"         pg_catalog.count(*) AS n,"
	"         COALESCE(pg_catalog.bool_or(NOT " CATALOG_BINARY_OK "), false) AS unsafe"
	"    FROM pg_catalog.pg_attribute a"
	"    JOIN pg_catalog.pg_type t ON t.oid = a.atttypid"
	"    JOIN pg_catalog.pg_namespace tn ON tn.oid = t.typnamespace"
	"    LEFT JOIN pg_catalog.pg_type b ON b.oid = t.typbasetype"
	"    LEFT JOIN pg_catalog.pg_range r ON r.rngtypid = t.oid"
	"   WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''"
	") cols "
	"WHERE ((c.relkind = $1::\"char\" AND c.oid NOT IN (SELECT leaf FROM load_root WHERE root IS NOT NULL))"
	"       OR ($1::\"char\" = 'r' AND c.oid IN (SELECT root FROM load_root))) "
	"  AND c.relpersistence IN ('p', 'u') "
	"  AND (c.relkind <> 'm' OR c.relispopulated) "
	"  AND " CATALOG_USER_NAMESPACE("n") " "
	"  AND (xc.oid IS NOT NULL OR "
	CATALOG_NOT_EXTENSION_MEMBER("'pg_catalog.pg_class'::pg_catalog.regclass", "c.oid") ") "
	"ORDER BY est_bytes DESC, n.nspname, c.relname";

static const char catalog_table_objects_sql[] =
	"SELECT 1259, i.indexrelid, i.indrelid FROM pg_catalog.pg_index i "
	"  JOIN pg_catalog.pg_class t ON t.oid = i.indrelid WHERE t.relkind = 'r' "
	"UNION ALL "
	"SELECT 2606, c.oid, c.conrelid FROM pg_catalog.pg_constraint c "
	"  JOIN pg_catalog.pg_class t ON t.oid = c.conrelid "
	" WHERE t.relkind = 'r' AND c.contype IN ('p', 'u', 'x')";

static const char catalog_sequences_sql[] =
	"SELECT n.nspname, c.relname "
	"FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
	"WHERE c.relkind = 'S' AND " CATALOG_USER_NAMESPACE("n") " "
	"  AND (" CATALOG_EXTENSION_CONFIG("c.oid") " OR "
	CATALOG_NOT_EXTENSION_MEMBER("'pg_catalog.pg_class'::pg_catalog.regclass", "c.oid") ") "
	"ORDER BY n.nspname, c.relname";

/* Sequence values are read this many sequences per query. */
#define CATALOG_SEQUENCE_BATCH 100

static const char catalog_large_objects_sql[] =
	"SELECT pg_catalog.count(*), pg_catalog.pg_relation_size('pg_catalog.pg_largeobject') "
	"FROM pg_catalog.pg_largeobject_metadata";

static const char catalog_large_object_batches_sql[] =
	"SELECT oid FROM (SELECT oid, pg_catalog.row_number() OVER (ORDER BY oid) AS rn "
	"                   FROM pg_catalog.pg_largeobject_metadata) s "
	"WHERE (rn - 1) % $1::int = 0 ORDER BY oid";

/*
 * Schema objects: kind, identity, fingerprint.  Identities are
 * schema-qualified whatever the search_path; fingerprints are server-made
 * definitions, so two servers of different versions may word them
 * differently only where PostgreSQL itself changed.
 */
static const char catalog_objects_sql[] =
	"SELECT kind, name, extra FROM ("
	" SELECT 'schema' AS kind, pg_catalog.quote_ident(n.nspname) AS name, '' AS extra"
	"   FROM pg_catalog.pg_namespace n WHERE " CATALOG_USER_NAMESPACE("n")
	" UNION ALL"
	" SELECT CASE c.relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'partitioned table'"
	"          WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view'"
	"          WHEN 'S' THEN 'sequence' WHEN 'f' THEN 'foreign table' END,"
	"        pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname),"
	"        CASE WHEN c.relkind = 'm' THEN CASE WHEN c.relispopulated THEN 'populated' ELSE 'not populated' END"
	"             ELSE '' END"
	"        || CASE WHEN c.relpersistence = 'u' THEN 'unlogged ' ELSE '' END"
	"        || COALESCE((SELECT pg_catalog.string_agg(pg_catalog.quote_ident(a.attname) || ' '"
	"                      || pg_catalog.format_type(a.atttypid, a.atttypmod)"
	"                      || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END"
	"                      || COALESCE(' default ' || pg_catalog.pg_get_expr(ad.adbin, ad.adrelid), ''),"
	"                      ', ' ORDER BY a.attname)"
	"                       FROM pg_catalog.pg_attribute a"
	"                       LEFT JOIN pg_catalog.pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum"
	"                      WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped"
	"                        AND c.relkind <> 'S'), '')"
	"   FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
	"  WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND " CATALOG_USER_NAMESPACE("n")
	" UNION ALL"
	" SELECT 'index', pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname),"
	"        pg_catalog.pg_get_indexdef(c.oid)"
	"   FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
	"  WHERE c.relkind IN ('i', 'I') AND " CATALOG_USER_NAMESPACE("n")
	" UNION ALL"
	" SELECT 'constraint', COALESCE(pg_catalog.quote_ident(tn.nspname) || '.' || pg_catalog.quote_ident(t.relname),"
	"                               pg_catalog.format_type(co.contypid, NULL))"
	"        || ' ' || pg_catalog.quote_ident(co.conname),"
	"        pg_catalog.pg_get_constraintdef(co.oid)"
	"   FROM pg_catalog.pg_constraint co JOIN pg_catalog.pg_namespace n ON n.oid = co.connamespace"
	"   LEFT JOIN pg_catalog.pg_class t ON t.oid = co.conrelid"
	"   LEFT JOIN pg_catalog.pg_namespace tn ON tn.oid = t.relnamespace"
	"  WHERE " CATALOG_USER_NAMESPACE("n")
	" UNION ALL"
	" SELECT CASE p.prokind WHEN 'p' THEN 'procedure' WHEN 'a' THEN 'aggregate' ELSE 'function' END,"
	"        p.oid::pg_catalog.regprocedure::text, pg_catalog.md5(COALESCE(p.prosrc, ''))"
	"   FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace"
	"  WHERE " CATALOG_USER_NAMESPACE("n")
	"    AND " CATALOG_NOT_EXTENSION_MEMBER("'pg_catalog.pg_proc'::pg_catalog.regclass", "p.oid")
	" UNION ALL"
	" SELECT 'type', pg_catalog.format_type(t.oid, NULL),"
	"        t.typtype::text || CASE WHEN t.typtype = 'e' THEN ' ' || COALESCE((SELECT pg_catalog.string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder)"
	"                                      FROM pg_catalog.pg_enum e WHERE e.enumtypid = t.oid), '') ELSE '' END"
	"   FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace"
	"  WHERE " CATALOG_USER_NAMESPACE("n")
	/* Not 'm': a multirange type (14+) comes with its range type. */
	"    AND t.typtype IN ('e', 'd', 'r', 'b') AND t.typelem = 0"
	"    AND " CATALOG_NOT_EXTENSION_MEMBER("'pg_catalog.pg_type'::pg_catalog.regclass", "t.oid")
	" UNION ALL"
	" SELECT 'type', pg_catalog.format_type(t.oid, NULL), 'c'"
	"   FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace"
	"   JOIN pg_catalog.pg_class c ON c.oid = t.typrelid AND c.relkind = 'c'"
	"  WHERE " CATALOG_USER_NAMESPACE("n")
	" UNION ALL"
	" SELECT 'trigger', pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname)"
	"        || ' ' || pg_catalog.quote_ident(tg.tgname), pg_catalog.pg_get_triggerdef(tg.oid)"
	"   FROM pg_catalog.pg_trigger tg JOIN pg_catalog.pg_class c ON c.oid = tg.tgrelid"
	"   JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
	"  WHERE NOT tg.tgisinternal AND " CATALOG_USER_NAMESPACE("n")
	" UNION ALL"
	" SELECT 'policy', pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname)"
	"        || ' ' || pg_catalog.quote_ident(po.polname),"
	"        po.polcmd::text || ' ' || COALESCE(pg_catalog.pg_get_expr(po.polqual, po.polrelid), '')"
	"   FROM pg_catalog.pg_policy po JOIN pg_catalog.pg_class c ON c.oid = po.polrelid"
	"   JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
	" UNION ALL"
	" SELECT 'extension', pg_catalog.quote_ident(extname), extversion FROM pg_catalog.pg_extension"
	") o ORDER BY kind COLLATE \"C\", name COLLATE \"C\"";

static const char catalog_db_roles_sql[] =
	"SELECT r.rolname FROM pg_catalog.pg_shdepend d JOIN pg_catalog.pg_roles r ON r.oid = d.refobjid "
	"WHERE d.refclassid = 'pg_catalog.pg_authid'::pg_catalog.regclass "
	"  AND (d.dbid = (SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database()) "
	"       OR (d.classid = 'pg_catalog.pg_database'::pg_catalog.regclass "
	"           AND d.objid = (SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database()))) "
	"UNION "
	"SELECT pg_catalog.pg_get_userbyid(datdba) FROM pg_catalog.pg_database "
	" WHERE datname = pg_catalog.current_database() "
	"UNION "
	"SELECT rolname FROM pg_catalog.pg_roles WHERE oid = 10 "
	"ORDER BY 1";

static const char catalog_missing_roles_sql[] =
	"SELECT x FROM pg_catalog.json_array_elements_text($1::json) x "
	"WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = x)";

static const char *const catalog_needs_sql[] = {
	"SELECT DISTINCT t.spcname FROM pg_catalog.pg_tablespace t "
	"WHERE t.spcname NOT IN ('pg_default', 'pg_global') AND (t.oid IN (SELECT c.reltablespace FROM pg_catalog.pg_class c) "
	"  OR t.oid = (SELECT d.dattablespace FROM pg_catalog.pg_database d "
	"              WHERE d.datname = pg_catalog.current_database())) ORDER BY 1",
	"SELECT e.extname FROM pg_catalog.pg_extension e WHERE e.extname <> 'plpgsql' ORDER BY 1",
};

/* $1: JSON array of names. */
static const char *const catalog_missing_sql[] = {
	"SELECT x FROM pg_catalog.json_array_elements_text($1::pg_catalog.json) x "
	"WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_tablespace WHERE spcname = x)",
	"SELECT x FROM pg_catalog.json_array_elements_text($1::pg_catalog.json) x "
	"WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_available_extensions WHERE name = x)",
};

static const char catalog_can_create_db_sql[] =
	"SELECT rolcreatedb OR rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user";

static const char catalog_is_superuser_sql[] =
	"SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user";

/* ------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------ */

static char *
catalog_value(PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? NULL : xstrdup(PQgetvalue(res, row, col));
}

static int64_t
catalog_int64(PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? 0 : strtoll(PQgetvalue(res, row, col), NULL, 10);
}

static bool
catalog_bool(PGresult *res, int row, int col)
{
	return !PQgetisnull(res, row, col) && PQgetvalue(res, row, col)[0] == 't';
}

/* A JSON array of the strings, for passing lists as one parameter. */
char *
catalog__json_array(const char *const *items, int n)
{
	json_t	   *a = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(a, json_string(items[i]));
	char	   *s = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	if (!s)
		s = strdup("[]");		/* a name that is not valid UTF-8 */
	char	   *r = xstrdup(s);
	free(s);
	return r;
}

/* ------------------------------------------------------------------------
 * Databases
 * ------------------------------------------------------------------------ */

static void
catalog_db_fill(catalog_db *d, PGresult *res, int row)
{
	d->name = catalog_value(res, row, 0);
	d->oid = (uint32_t) strtoul(PQgetvalue(res, row, 1), NULL, 10);
	d->encoding = catalog_value(res, row, 2);
	d->collate = catalog_value(res, row, 3);
	d->ctype = catalog_value(res, row, 4);
	d->owner = catalog_value(res, row, 5);
	d->comment = catalog_value(res, row, 6);
	d->conn_limit = (int) catalog_int64(res, row, 7);
	d->acl = catalog_value(res, row, 8);
	if (!PQgetisnull(res, row, 9))
	{
		json_t	   *a = json_loads(PQgetvalue(res, row, 9), 0, NULL);
		if (json_is_array(a))
		{
			d->nsettings = (int) json_array_size(a);
			d->settings = xcalloc((size_t) d->nsettings + 1, sizeof(char *));
			for (int i = 0; i < d->nsettings; i++)
			{
				const char *s = json_string_value(json_array_get(a, (size_t) i));
				d->settings[i] = xstrdup(s ? s : "");
			}
		}
		json_decref(a);
	}
	d->size_bytes = catalog_int64(res, row, 10);
}

int
catalog_dbs(PGconn *conn, const char *side, const char *const *names, int nnames,
			bool all, catalog_db **out, int *nout, pgc_err *err)
{
	*out = NULL;
	*nout = 0;
	char	   *json = catalog__json_array(names, nnames);
	const char *params[2] = {all ? "true" : "false", json};
	PGresult   *res = conn_query(conn, catalog_dbs_sql, 2, params, err);
	free(json);
	if (!res)
	{
		err_prefix(err, "could not list the databases of the %s server: ", side);
		return -1;
	}
	int			nrows = PQntuples(res);
	catalog_db *dbs = NULL;
	int			n = 0;
	if (all)
	{
		dbs = xcalloc((size_t) nrows + 1, sizeof *dbs);
		for (int i = 0; i < nrows; i++)
			if (!catalog_bool(res, i, 11) && catalog_bool(res, i, 12))
				catalog_db_fill(&dbs[n++], res, i);
	}
	else
	{
		dbs = xcalloc((size_t) nnames + 1, sizeof *dbs);
		for (int k = 0; k < nnames; k++)
		{
			int			found = -1;
			for (int i = 0; i < nrows; i++)
				if (strcmp(PQgetvalue(res, i, 0), names[k]) == 0)
					found = i;
			if (found < 0)
			{
				/* A name that is a connection string shows no password. */
				char	   *shown = conn_scrub(names[k], names[k]);
				err_set(err, "database \"%s\" does not exist on the %s server %s:%s", shown, side,
						PQhost(conn), PQport(conn));
				free(shown);
				err_hint(err, "Check the name; \"pgcarry ping --%s URI\" lists the databases of a server.",
						 side);
				goto fail;
			}
			if (!catalog_bool(res, found, 12))
			{
				err_set(err, "database \"%s\" on the %s server does not allow connections", names[k], side);
				err_hint(err, "Template databases such as template0 are not copied.");
				goto fail;
			}
			bool		dup = false;
			for (int j = 0; j < n; j++)
				if (strcmp(dbs[j].name, names[k]) == 0)
					dup = true;
			if (!dup)
				catalog_db_fill(&dbs[n++], res, found);
		}
	}
	PQclear(res);
	*out = dbs;
	*nout = n;
	return 0;

fail:
	PQclear(res);
	catalog_dbs_free(dbs, n);
	return -1;
}

/* $1: JSON array of names, $2: of regexes.  The 1-based positions of the
 * names that match none. */
static const char catalog_dbs_exclude_sql[] =
	"SELECT u.k FROM pg_catalog.json_array_elements_text($1::pg_catalog.json) WITH ORDINALITY u(name, k) "
	"WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.json_array_elements_text($2::pg_catalog.json) r "
	"                  WHERE u.name OPERATOR(pg_catalog.~) r) ORDER BY 1";

static void catalog_db_clear(catalog_db *d);

int
catalog_names_exclude(PGconn *conn, char *const *regexes, int nregexes, const char *const *names, int n,
					  bool *keep, pgc_err *err)
{
	for (int i = 0; i < n; i++)
		keep[i] = nregexes == 0;
	if (nregexes == 0 || n == 0)
		return 0;
	char	   *params[2] = {catalog__json_array(names, n), catalog__json_array((const char *const *) regexes, nregexes)};
	PGresult   *res = conn_query(conn, catalog_dbs_exclude_sql, 2, (const char *const *) params, err);
	free(params[0]);
	free(params[1]);
	if (!res)
	{
		err_prefix(err, "could not apply --exclude-database: ");
		return -1;
	}
	for (int r = 0; r < PQntuples(res); r++)
	{
		long		k = strtol(PQgetvalue(res, r, 0), NULL, 10);
		if (k >= 1 && k <= n)
			keep[k - 1] = true;
	}
	PQclear(res);
	return 0;
}

int
catalog_dbs_exclude(PGconn *conn, char *const *regexes, int nregexes, catalog_db *dbs, int *n, pgc_err *err)
{
	if (nregexes == 0 || *n == 0)
		return 0;
	const char **names = xcalloc((size_t) *n + 1, sizeof *names);
	for (int i = 0; i < *n; i++)
		names[i] = dbs[i].name;
	bool	   *keep = xcalloc((size_t) *n + 1, sizeof *keep);
	int			rc = catalog_names_exclude(conn, regexes, nregexes, names, *n, keep, err);
	free(names);
	if (rc != 0)
	{
		free(keep);
		return -1;
	}
	int			m = 0;
	for (int i = 0; i < *n; i++)
	{
		if (keep[i])
			dbs[m++] = dbs[i];
		else
			catalog_db_clear(&dbs[i]);
	}
	*n = m;
	free(keep);
	return 0;
}

void
catalog_dbs_free(catalog_db *dbs, int n)
{
	if (!dbs)
		return;
	for (int i = 0; i < n; i++)
		catalog_db_clear(&dbs[i]);
	free(dbs);
}

static void
catalog_db_clear(catalog_db *d)
{
	free(d->name);
	free(d->encoding);
	free(d->collate);
	free(d->ctype);
	free(d->owner);
	free(d->comment);
	free(d->acl);
	for (int j = 0; j < d->nsettings; j++)
		free(d->settings[j]);
	free(d->settings);
}

/*
 * A CREATE DATABASE whose client was killed (an interrupted copy or import)
 * goes on in its server session and commits later; a run that checked the
 * name in between would find no database, create it and fail with "already
 * exists".  So a database that is being created is waited for, at most
 * CATALOG_DB_CREATING_WAIT_S seconds, before its existence is told.
 */
#define CATALOG_DB_CREATING_WAIT_S 60

int
catalog_db_exists(PGconn *conn, const char *name, bool *exists, pgc_err *err)
{
	const char *params[1] = {name};
	int64_t		t0 = monotime_now_ms();
	bool		told = false;
	for (;;)
	{
		PGresult   *res = conn_query(conn, catalog_db_exists_sql, 1, params, err);
		if (!res)
			return -1;
		*exists = PQgetvalue(res, 0, 0)[0] == 't';
		bool		creating = PQgetvalue(res, 0, 1)[0] == 't';
		PQclear(res);
		if (*exists || !creating || monotime_now_ms() - t0 > CATALOG_DB_CREATING_WAIT_S * 1000)
			return 0;
		if (!told)
			log_notice("waiting for the CREATE DATABASE of \"%s\" that another session is running to end", name);
		told = true;
		struct timespec pause = {0, 200 * 1000 * 1000};
		nanosleep(&pause, NULL);
	}
}

int
catalog_db_has_user_objects(PGconn *conn, bool *has, char **what, pgc_err *err)
{
	*has = false;
	if (what)
		*what = NULL;
	PGresult   *res = conn_query(conn, catalog_user_object_sql, 0, NULL, err);
	if (!res)
		return -1;
	if (PQntuples(res) > 0)
	{
		*has = true;
		if (what)
			*what = xstrdup(PQgetvalue(res, 0, 0));
	}
	PQclear(res);
	return 0;
}

/* ------------------------------------------------------------------------
 * Tables
 * ------------------------------------------------------------------------ */

static int
catalog_relations(PGconn *conn, const char *relkind, catalog_table **out, int *nout, pgc_err *err)
{
	*out = NULL;
	*nout = 0;
	const char *params[1] = {relkind};
	PGresult   *res = conn_query(conn, catalog_tables_sql, 1, params, err);
	if (!res)
	{
		err_prefix(err, relkind[0] == 'm' ? "could not list the materialized views: "
				   : "could not list the tables: ");
		return -1;
	}
	int			n = PQntuples(res);
	catalog_table *t = xcalloc((size_t) n + 1, sizeof *t);
	for (int i = 0; i < n; i++)
	{
		t[i].oid = (uint32_t) strtoul(PQgetvalue(res, i, 0), NULL, 10);
		t[i].schema = catalog_value(res, i, 1);
		t[i].name = catalog_value(res, i, 2);
		t[i].qualified = conn_qualify(conn, t[i].schema, t[i].name);
		t[i].display = xasprintf("%s.%s", t[i].schema, t[i].name);
		t[i].persistence = PQgetvalue(res, i, 3)[0];
		t[i].is_partition = catalog_bool(res, i, 4);
		t[i].pages = catalog_int64(res, i, 5) / 8192;
		t[i].est_bytes = catalog_int64(res, i, 6);
		t[i].est_rows = PQgetisnull(res, i, 7) ? -1 : strtod(PQgetvalue(res, i, 7), NULL);
		t[i].columns = catalog_value(res, i, 8);
		t[i].ncolumns = (int) catalog_int64(res, i, 9);
		t[i].binary_ok = catalog_bool(res, i, 10);
		t[i].via_root = catalog_bool(res, i, 11);
		t[i].ext_config = catalog_bool(res, i, 12);
		t[i].condition = PQgetisnull(res, i, 13) ? NULL : catalog_value(res, i, 13);
		/* A configuration table is small and loads after a DELETE, not a
		 * TRUNCATE: never sliced (see catalog.h). */
		if (t[i].ext_config)
			t[i].pages = 0;
	}
	PQclear(res);
	*out = t;
	*nout = n;
	return 0;
}

int
catalog_tables(PGconn *conn, catalog_table **out, int *nout, pgc_err *err)
{
	return catalog_relations(conn, "r", out, nout, err);
}

static const char catalog_is_partitioned_sql[] =
	"SELECT c.relkind = 'p' FROM pg_catalog.pg_class c WHERE c.oid = $1::pg_catalog.regclass";

bool
catalog_is_partitioned(PGconn *conn, const char *qualified)
{
	pgc_err		err = PGC_ERR_INIT;
	const char *params[1] = {qualified};
	char	   *v = conn_query_value(conn, catalog_is_partitioned_sql, 1, params, &err);
	err_clear(&err);
	bool		yes = v && strcmp(v, "t") == 0;
	free(v);
	return yes;
}

static const char catalog_partitioned_sql[] =
	"SELECT n.nspname, c.relname FROM pg_catalog.pg_class c "
	"JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'p'";

char *
catalog_relation_key(const char *schema, const char *name)
{
	return xasprintf("%s\x1f%s", schema, name);
}

static int
catalog_key_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

bool
catalog_key_find(char *const *keys, int n, const char *key)
{
	return n > 0 && bsearch(&key, keys, (size_t) n, sizeof *keys, catalog_key_cmp) != NULL;
}

int
catalog_partitioned_tables(PGconn *conn, char ***keys, int *nkeys, pgc_err *err)
{
	*keys = NULL;
	*nkeys = 0;
	PGresult   *res = conn_query(conn, catalog_partitioned_sql, 0, NULL, err);
	if (!res)
		return -1;
	int			n = PQntuples(res);
	char	  **k = xcalloc((size_t) n + 1, sizeof *k);
	for (int i = 0; i < n; i++)
		k[i] = catalog_relation_key(PQgetvalue(res, i, 0), PQgetvalue(res, i, 1));
	PQclear(res);
	qsort(k, (size_t) n, sizeof *k, catalog_key_cmp);
	*keys = k;
	*nkeys = n;
	return 0;
}

int
catalog_matviews(PGconn *conn, catalog_table **out, int *nout, pgc_err *err)
{
	return catalog_relations(conn, "m", out, nout, err);
}

void
catalog__table_clear(catalog_table *t)
{
	free(t->schema);
	free(t->name);
	free(t->qualified);
	free(t->display);
	free(t->columns);
	free(t->condition);
}

void
catalog_tables_free(catalog_table *t, int n)
{
	if (!t)
		return;
	for (int i = 0; i < n; i++)
		catalog__table_clear(&t[i]);
	free(t);
}

int
catalog_table_objects(PGconn *conn, catalog_table_object **out, int *nout, pgc_err *err)
{
	*out = NULL;
	*nout = 0;
	PGresult   *res = conn_query(conn, catalog_table_objects_sql, 0, NULL, err);
	if (!res)
	{
		err_prefix(err, "could not list the indexes and constraints: ");
		return -1;
	}
	int			n = PQntuples(res);
	catalog_table_object *o = xcalloc((size_t) n + 1, sizeof *o);
	for (int i = 0; i < n; i++)
	{
		o[i].classid = (uint32_t) strtoul(PQgetvalue(res, i, 0), NULL, 10);
		o[i].objid = (uint32_t) strtoul(PQgetvalue(res, i, 1), NULL, 10);
		o[i].table = (uint32_t) strtoul(PQgetvalue(res, i, 2), NULL, 10);
	}
	PQclear(res);
	*out = o;
	*nout = n;
	return 0;
}

/* ------------------------------------------------------------------------
 * Sequences
 * ------------------------------------------------------------------------ */

int
catalog_sequences(PGconn *conn, catalog_sequence **out, int *nout, pgc_err *err)
{
	*out = NULL;
	*nout = 0;
	PGresult   *res = conn_query(conn, catalog_sequences_sql, 0, NULL, err);
	if (!res)
	{
		err_prefix(err, "could not list the sequences: ");
		return -1;
	}
	int			n = PQntuples(res);
	catalog_sequence *s = xcalloc((size_t) n + 1, sizeof *s);
	for (int i = 0; i < n; i++)
	{
		s[i].schema = catalog_value(res, i, 0);
		s[i].name = catalog_value(res, i, 1);
		s[i].qualified = conn_qualify(conn, s[i].schema, s[i].name);
		s[i].display = xasprintf("%s.%s", s[i].schema, s[i].name);
	}
	PQclear(res);

	/* The values, a batch of sequences per query. */
	for (int first = 0; first < n; first += CATALOG_SEQUENCE_BATCH)
	{
		int			last = first + CATALOG_SEQUENCE_BATCH < n ? first + CATALOG_SEQUENCE_BATCH : n;
		buf_t		q = {0};
		for (int i = first; i < last; i++)
			buf_printf(&q, "%sSELECT %d, last_value::text, is_called FROM %s",
					   i > first ? " UNION ALL " : "", i, s[i].qualified);
		PGresult   *vr = conn_query(conn, q.data, 0, NULL, err);
		buf_free(&q);
		if (!vr)
		{
			err_prefix(err, "could not read the sequences: ");
			catalog_sequences_free(s, n);
			return -1;
		}
		for (int r = 0; r < PQntuples(vr); r++)
		{
			int			i = atoi(PQgetvalue(vr, r, 0));
			if (i < first || i >= last)
				continue;
			free(s[i].last_value);
			s[i].last_value = catalog_value(vr, r, 1);
			s[i].is_called = catalog_bool(vr, r, 2);
		}
		PQclear(vr);
	}
	*out = s;
	*nout = n;
	return 0;
}

void
catalog__sequence_clear(catalog_sequence *s)
{
	free(s->schema);
	free(s->name);
	free(s->qualified);
	free(s->display);
	free(s->last_value);
}

void
catalog_sequences_free(catalog_sequence *s, int n)
{
	if (!s)
		return;
	for (int i = 0; i < n; i++)
		catalog__sequence_clear(&s[i]);
	free(s);
}

/* ------------------------------------------------------------------------
 * Large objects
 * ------------------------------------------------------------------------ */

int
catalog_large_objects(PGconn *conn, int64_t *count, int64_t *est_bytes, pgc_err *err)
{
	PGresult   *res = conn_query(conn, catalog_large_objects_sql, 0, NULL, err);
	if (!res)
	{
		err_prefix(err, "could not count the large objects: ");
		return -1;
	}
	*count = catalog_int64(res, 0, 0);
	*est_bytes = catalog_int64(res, 0, 1);
	PQclear(res);
	return 0;
}

int
catalog_large_object_batches(PGconn *conn, int per_batch, uint32_t **bounds, int *nbounds,
							 pgc_err *err)
{
	*bounds = NULL;
	*nbounds = 0;
	char		pb[16];
	snprintf(pb, sizeof pb, "%d", per_batch > 0 ? per_batch : 1);
	const char *params[1] = {pb};
	PGresult   *res = conn_query(conn, catalog_large_object_batches_sql, 1, params, err);
	if (!res)
	{
		err_prefix(err, "could not list the large objects: ");
		return -1;
	}
	int			n = PQntuples(res);
	uint32_t   *b = xcalloc((size_t) n + 1, sizeof *b);
	for (int i = 0; i < n; i++)
		b[i] = (uint32_t) strtoul(PQgetvalue(res, i, 0), NULL, 10);
	PQclear(res);
	*bounds = b;
	*nbounds = n;
	return 0;
}

/* ------------------------------------------------------------------------
 * Schema objects
 * ------------------------------------------------------------------------ */

int
catalog_objects(PGconn *conn, catalog_object **out, int *nout, pgc_err *err)
{
	*out = NULL;
	*nout = 0;
	PGresult   *res = conn_query(conn, catalog_objects_sql, 0, NULL, err);
	if (!res)
	{
		err_prefix(err, "could not list the schema objects: ");
		return -1;
	}
	int			n = PQntuples(res);
	catalog_object *o = xcalloc((size_t) n + 1, sizeof *o);
	for (int i = 0; i < n; i++)
	{
		o[i].kind = catalog_value(res, i, 0);
		o[i].name = catalog_value(res, i, 1);
		o[i].extra = catalog_value(res, i, 2);
		if (!o[i].extra)
			o[i].extra = xstrdup("");
		if (!o[i].name)
			o[i].name = xstrdup("?");
	}
	PQclear(res);
	*out = o;
	*nout = n;
	return 0;
}

void
catalog_objects_free(catalog_object *o, int n)
{
	if (!o)
		return;
	for (int i = 0; i < n; i++)
	{
		free(o[i].kind);
		free(o[i].name);
		free(o[i].extra);
	}
	free(o);
}

/* ------------------------------------------------------------------------
 * Roles
 * ------------------------------------------------------------------------ */

/* The first column of every row query returns, as a NULL-terminated array
 * of copies (*out, *nout); what names the list in the error. */
static int
catalog_names(PGconn *conn, const char *query, const char *what, char ***out, int *nout, pgc_err *err)
{
	*out = NULL;
	*nout = 0;
	PGresult   *res = conn_query(conn, query, 0, NULL, err);
	if (!res)
	{
		err_prefix(err, "could not list %s: ", what);
		return -1;
	}
	int			n = PQntuples(res);
	char	  **r = xcalloc((size_t) n + 1, sizeof *r);
	for (int i = 0; i < n; i++)
		r[i] = xstrdup(PQgetvalue(res, i, 0));
	PQclear(res);
	*out = r;
	*nout = n;
	return 0;
}

int
catalog_db_roles(PGconn *conn, char ***out, int *nout, pgc_err *err)
{
	return catalog_names(conn, catalog_db_roles_sql, "the roles the database depends on", out, nout, err);
}

/* The names of roles (nroles) that query ($1: their JSON array) returns,
 * borrowed from roles, into *missing. */
static int
catalog_missing_query(PGconn *conn, const char *query, const char *what, char *const *roles, int nroles,
					  const char ***missing, int *nmissing, pgc_err *err)
{
	*missing = NULL;
	*nmissing = 0;
	char	   *json = catalog__json_array((const char *const *) roles, nroles);
	const char *params[1] = {json};
	PGresult   *res = conn_query(conn, query, 1, params, err);
	free(json);
	if (!res)
	{
		err_prefix(err, "could not check the %s of the target server: ", what);
		return -1;
	}
	const char **m = xcalloc((size_t) PQntuples(res) + 1, sizeof *m);
	int			n = 0;
	for (int i = 0; i < PQntuples(res); i++)
		for (int k = 0; k < nroles; k++)
			if (strcmp(roles[k], PQgetvalue(res, i, 0)) == 0)
			{
				m[n++] = roles[k];
				break;
			}
	PQclear(res);
	*missing = m;
	*nmissing = n;
	return 0;
}

int
catalog_missing_roles(PGconn *conn, char *const *roles, int nroles, const char ***missing,
					  int *nmissing, pgc_err *err)
{
	return catalog_missing_query(conn, catalog_missing_roles_sql, "roles", roles, nroles, missing, nmissing, err);
}

int
catalog_missing(PGconn *conn, catalog_need kind, char *const *names, int n, const char ***missing,
				int *nmissing, pgc_err *err)
{
	return catalog_missing_query(conn, catalog_missing_sql[kind],
								 kind == CATALOG_NEED_TABLESPACE ? "tablespaces" : "extensions", names, n, missing,
								 nmissing, err);
}

int
catalog_db_needs(PGconn *conn, catalog_need kind, char ***out, int *nout, pgc_err *err)
{
	return catalog_names(conn, catalog_needs_sql[kind],
						 kind == CATALOG_NEED_TABLESPACE ? "the tablespaces of the database"
						 : "the extensions of the database", out, nout, err);
}

int
catalog_is_superuser(PGconn *conn, bool *super, pgc_err *err)
{
	char	   *v = conn_query_value(conn, catalog_is_superuser_sql, 0, NULL, err);
	if (err->set)
		return -1;
	*super = v && v[0] == 't';
	free(v);
	return 0;
}

int
catalog_data_only_ready(PGconn *conn, const char *db, const catalog_load_table *t, int n, const char *cmd,
						const char *what, const char *verb, const char *done, pgc_err *err)
{
	buf_t		missing = {0},
				full = {0};
	int			nmissing = 0,
				nfull = 0,
				rc = 0;
	for (int i = 0; i < n && rc == 0; i++)
	{
		const char *params[] = {t[i].qualified};
		char	   *v = conn_query_value(conn, "SELECT pg_catalog.to_regclass($1) IS NOT NULL", 1, params, err);
		if (!v)
			rc = -1;
		else if (v[0] != 't')
			buf_printf(&missing, "%s%s", nmissing++ ? ", " : "", t[i].display);
		else if (!t[i].ext_config)
		{
			char	   *sql = xasprintf("SELECT EXISTS (SELECT FROM %s)", t[i].qualified);
			char	   *any = conn_query_value(conn, sql, 0, NULL, err);
			if (!any)
				rc = -1;
			else if (any[0] == 't')
				buf_printf(&full, "%s%s", nfull++ ? ", " : "", t[i].display);
			free(any);
			free(sql);
		}
		free(v);
	}
	if (rc == 0 && nmissing > 0)
	{
		err_set(err, "database \"%s\" on the target lacks %d of %s: %s", db, nmissing, what, missing.data);
		err_detail(err, "--data-only %s rows into tables that exist; nothing was %s.", verb, done);
		err_hint(err, "Create the schema first (pgcarry %s --schema-only), or %s without --data-only.", cmd, cmd);
		rc = -1;
	}
	else if (rc == 0 && nfull > 0)
	{
		err_set(err, "database \"%s\" on the target already holds rows in %d of %s: %s", db, nfull, what,
				full.data);
		err_detail(err, "--data-only does not replace rows; nothing was %s.", done);
		err_hint(err, "Empty those tables first (TRUNCATE), or %s into an empty database.", cmd);
		rc = -1;
	}
	buf_free(&missing);
	buf_free(&full);
	return rc;
}

void
catalog_report_missing(const char *db, const char *kind, const char *const *missing, int n, const char *hint)
{
	buf_t		b = {0};
	for (int i = 0; i < n; i++)
		buf_printf(&b, "%s\"%s\"", i ? ", " : "", missing[i]);
	pgc_err		err = PGC_ERR_INIT;
	err_set(&err, "database \"%s\" needs %s %s, which the target does not have", db, kind, b.data);
	err_hint(&err, "%s", hint);
	err_report(&err);
	err_clear(&err);
	buf_free(&b);
}

void
catalog_names_free(char **names, int n)
{
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

int
catalog_can_create_db(PGconn *conn, bool *can, pgc_err *err)
{
	char	   *v = conn_query_value(conn, catalog_can_create_db_sql, 0, NULL, err);
	*can = v && strcmp(v, "t") == 0;
	free(v);
	return err->set ? -1 : 0;
}

/* ------------------------------------------------------------------------
 * A dry run's plan
 * ------------------------------------------------------------------------ */

void
catalog_plan_print(FILE *out, const catalog_table *t, int nt, int nseqs)
{
	int64_t		bytes = 0;
	for (int i = 0; i < nt; i++)
		bytes += t[i].est_bytes;
	fprintf(out, "  %d %s, %d %s, %lld bytes\n", nt, nt == 1 ? "table" : "tables", nseqs,
			nseqs == 1 ? "sequence" : "sequences", (long long) bytes);
	for (int i = 0; i < nt; i++)
		fprintf(out, "  table %s  %lld bytes\n", t[i].display, (long long) t[i].est_bytes);
}
